//! The token cache on disk: only device-code logins' refresh tokens and account names, in
//! `$AZURE_QUANTUM_TOKEN_CACHE` (a file, or a directory) or `~/.azure-quantum/`, the directory
//! 0700 and the file 0600, written whole to a temporary file and renamed, with a lock file
//! held around read → refresh → write so several kernels can share it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::env::Env;
use crate::error::ClientError;

const FILE_NAME: &str = "azq-token-cache.json";
/// Longer than a sign-in request may take (`http::DEADLINE`), which a holder may spend.
const LOCK_WAIT: Duration = Duration::from_secs(45);

/// Where the cache lives for this environment.
pub fn cache_path(env: &Env) -> Result<PathBuf, ClientError> {
    if let Some(v) = env.get("AZURE_QUANTUM_TOKEN_CACHE") {
        let p = PathBuf::from(v);
        return Ok(if v.ends_with('/') || p.is_dir() {
            p.join(FILE_NAME)
        } else {
            p
        });
    }
    let home = env
        .get("HOME")
        .ok_or_else(|| ClientError::TokenCacheError {
            path: "~/.azure-quantum".into(),
            detail: "HOME is not set; set AZURE_QUANTUM_TOKEN_CACHE to a file path".into(),
        })?;
    Ok(Path::new(home).join(".azure-quantum").join(FILE_NAME))
}

#[derive(Debug, Clone)]
pub struct TokenCache {
    path: PathBuf,
}

/// The cache's contents (the one type in azq that serialises a secret, to this file only).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct CacheFile {
    pub version: u32,
    pub accounts: Vec<CachedAccount>,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct CachedAccount {
    pub authority: String,
    pub tenant: String,
    pub client_id: String,
    pub username: String,
    pub refresh_token: String,
    pub obtained_at: u64,
}

/// Everything but the refresh token.
impl std::fmt::Debug for CachedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedAccount")
            .field("authority", &self.authority)
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("obtained_at", &self.obtained_at)
            .finish_non_exhaustive()
    }
}

impl CacheFile {
    pub fn find(&self, authority: &str, tenant: &str, client_id: &str) -> Option<&CachedAccount> {
        self.accounts
            .iter()
            .find(|a| a.authority == authority && a.tenant == tenant && a.client_id == client_id)
    }

    /// Replaces (or adds) the account with the same authority, tenant and client.
    pub fn put(&mut self, account: CachedAccount) {
        self.accounts.retain(|a| {
            !(a.authority == account.authority
                && a.tenant == account.tenant
                && a.client_id == account.client_id)
        });
        self.accounts.push(account);
    }

    pub fn remove(&mut self, authority: &str, tenant: &str, client_id: &str) {
        self.accounts.retain(|a| {
            !(a.authority == authority && a.tenant == tenant && a.client_id == client_id)
        });
    }
}

/// The cache with its lock held; dropping it releases the lock.
pub(crate) struct Locked<'a> {
    cache: &'a TokenCache,
    _lock: File,
    /// What the person should be told: a repair made, a file that could not be read.
    notes: std::sync::Mutex<Vec<String>>,
}

impl TokenCache {
    pub fn new(path: PathBuf) -> TokenCache {
        TokenCache { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, detail: impl Into<String>) -> ClientError {
        ClientError::TokenCacheError {
            path: self.path.display().to_string(),
            detail: detail.into(),
        }
    }

    /// Takes the lock (waiting up to 45 s for another kernel), creating the directory first.
    /// The folder, the cache and the lock file are checked first: a folder that other users
    /// can write or that holds their files, and a cache or lock that is a link or another
    /// user's, are refused (each could make azq write a refresh token where they can read it,
    /// or through a link over another file of the user's).
    pub(crate) async fn lock(&self) -> Result<Locked<'_>, ClientError> {
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tightened = private_dir(dir).map_err(|e| self.error(e))?;
        own_file_or_none(&self.path).map_err(|e| self.error(e))?;
        let lock_path = self.path.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&lock_path)
            .map_err(|e| self.error(open_error(&lock_path, &e)))?;
        let meta = lock
            .metadata()
            .map_err(|e| self.error(format!("the lock file cannot be read ({e})")))?;
        check_own_file(&lock_path, &meta).map_err(|e| self.error(e))?;
        if meta.mode() & 0o077 != 0 {
            lock.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| self.error(format!("the lock file cannot be made private ({e})")))?;
        }
        let started = Instant::now();
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(self.error(
                        "another kernel has been signing in for 45 s and still holds the cache; run the cell again when it is done",
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(self.error(format!("the lock cannot be taken ({e})")));
                }
            }
        }
        remove_stale_temporaries(dir, &self.path);
        Ok(Locked {
            cache: self,
            _lock: lock,
            notes: std::sync::Mutex::new(tightened.into_iter().collect()),
        })
    }
}

/// What a cache's temporary files add to its name, before 32 hex digits.
const TEMPORARY: &str = ".tmp.";

/// Removes what writers killed between creating their temporary file and renaming it left
/// beside the cache (`<name>.tmp.<32 hex digits>`, each holding a refresh token). Called with
/// the lock held: every writer holds it, so none of these is in use. Unlinking never follows
/// a link.
fn remove_stale_temporaries(dir: &Path, path: &Path) {
    let Some(name) = path.file_name() else {
        return;
    };
    let prefix = format!("{}{TEMPORARY}", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name();
        let entry_name = entry_name.to_string_lossy();
        let stale = entry_name
            .strip_prefix(&prefix)
            .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The largest cache file read; a real one holds a few accounts of a few KiB each.
const MAX_CACHE_BYTES: u64 = 4 << 20;

impl Locked<'_> {
    /// The contents; a missing or unreadable file is an empty cache (it holds nothing that a
    /// new sign-in cannot replace). The file is opened without following a link, and one
    /// that is not a regular file of the user's is not read.
    pub fn read(&self) -> CacheFile {
        let Ok(f) = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&self.cache.path)
        else {
            return CacheFile::default();
        };
        let shown = self.cache.path.display();
        let unreadable = |why: &str| {
            self.note(format!(
                "The token cache {shown} could not be read ({why}), so it is ignored; signing in again replaces it."
            ));
            CacheFile::default()
        };
        let Ok(meta) = f.metadata() else {
            return CacheFile::default();
        };
        if !meta.is_file() || meta.uid() != unsafe_uid() {
            return CacheFile::default();
        }
        if meta.mode() & 0o077 != 0 {
            let note = match f.set_permissions(std::fs::Permissions::from_mode(0o600)) {
                Ok(()) => format!(
                    "The token cache {shown} was readable by other users (mode {:o}); azq made it private (600).",
                    meta.mode() & 0o777
                ),
                Err(e) => format!(
                    "The token cache {shown} is readable by other users (mode {:o}) and azq could not make it private ({e}); run chmod 600 {shown}.",
                    meta.mode() & 0o777
                ),
            };
            self.note(note);
        }
        let mut body = Vec::new();
        if std::io::Read::read_to_end(&mut std::io::Read::take(&f, MAX_CACHE_BYTES + 1), &mut body)
            .is_err()
        {
            return unreadable("a read failed");
        }
        if body.len() as u64 > MAX_CACHE_BYTES {
            return unreadable("it is larger than 4 MiB");
        }
        if body.is_empty() {
            return unreadable("it is empty");
        }
        match serde_json::from_slice::<CacheFile>(&body) {
            Ok(f) if f.version == 1 => f,
            Ok(f) => unreadable(&format!("it is of version {}, not 1", f.version)),
            Err(_) => {
                unreadable("it is not a whole JSON cache; it may have been cut short or damaged")
            }
        }
    }

    fn note(&self, text: String) {
        let mut notes = self.notes.lock().expect("notes lock");
        if !notes.contains(&text) {
            notes.push(text);
        }
    }

    /// What the person should be told since the lock was taken.
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().expect("notes lock"))
    }

    /// Writes the whole cache: a new 0600 file beside it with a random name (created, never
    /// opened if something is already there, never through a link), synced, renamed over it.
    pub fn write(&self, file: &CacheFile) -> Result<(), ClientError> {
        let path = &self.cache.path;
        let body = serde_json::to_vec_pretty(&CacheFile {
            version: 1,
            accounts: file.accounts.clone(),
        })
        .map_err(|e| self.cache.error(e.to_string()))?;
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!("{TEMPORARY}{}", uuid::Uuid::new_v4().simple()));
        let tmp = path.with_file_name(name);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
            .map_err(|e| self.cache.error(format!("cannot be written ({e})")))?;
        let written = (|| {
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)?.sync_all()?;
            }
            Ok::<(), std::io::Error>(())
        })();
        written.map_err(|e| {
            // The file is ours (created just now), so it may be removed.
            let _ = std::fs::remove_file(&tmp);
            self.cache.error(format!("cannot be written ({e})"))
        })
    }
}

fn unsafe_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The folder the default cache lives in, kept to Azure Quantum's tools: azq may tighten it.
const OWN_DIR: &str = ".azure-quantum";

/// What to do instead, said in every refusal of a folder.
const ELSEWHERE: &str =
    "or set AZURE_QUANTUM_TOKEN_CACHE to a new folder (ending in /), which azq creates private";

/// Creates `dir` (and parents) with mode 0700 if it is missing, then checks what is there,
/// whoever made it: checking after creating leaves no gap for another user to make it first.
/// It must be the user's folder, that no one else can write and that holds nothing of
/// another user's (something planted while it was open). A folder that others can only
/// read is refused, except `~/.azure-quantum`, which is tightened: azq does not change the
/// mode of a folder the user chose (it may be their home or a project).
/// Returns what it repaired, to be said.
fn private_dir(dir: &Path) -> Result<Option<String>, String> {
    let created = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    let shown = dir.display();
    // O_DIRECTORY: something else there (a FIFO would block an open) is not opened.
    let handle = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(dir)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
            return Err(format!("{shown} is not a directory; {ELSEWHERE}"));
        }
        Err(e) => {
            return Err(match created {
                Err(c) => format!("cannot create {shown} ({c})"),
                Ok(()) => format!("cannot open {shown} ({e})"),
            });
        }
    };
    let meta = handle
        .metadata()
        .map_err(|e| format!("cannot read {shown} ({e})"))?;
    if !meta.is_dir() {
        return Err(format!("{shown} is not a directory; {ELSEWHERE}"));
    }
    if meta.uid() != unsafe_uid() {
        return Err(format!(
            "{shown} belongs to another user; set AZURE_QUANTUM_TOKEN_CACHE to a path of yours"
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "other users can write to {shown}, and could plant files there to catch your sign-in; \
             remove anything in it you did not put there and run chmod 700 {shown}, {ELSEWHERE}"
        ));
    }
    let me = unsafe_uid();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("cannot list {shown} ({e})"))? {
        let entry = entry.map_err(|e| format!("cannot list {shown} ({e})"))?;
        // `DirEntry::metadata` does not follow links: a link's own owner counts.
        let owner = entry
            .metadata()
            .map_err(|e| format!("cannot read {} ({e})", entry.path().display()))?
            .uid();
        if owner != me {
            return Err(format!(
                "{shown} holds {}, which belongs to another user and may have been planted to \
                 catch your sign-in; remove it, {ELSEWHERE}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    if meta.mode() & 0o077 != 0 {
        if dir.file_name() != Some(OWN_DIR.as_ref()) {
            return Err(format!(
                "{shown} is open to other users; run chmod 700 {shown}, {ELSEWHERE}"
            ));
        }
        handle
            .set_permissions(std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make {shown} private ({e})"))?;
        return Ok(Some(format!(
            "The folder {shown} was open to other users (mode {:o}); azq made it private (700).",
            meta.mode() & 0o777
        )));
    }
    Ok(None)
}

/// Checks the entry at `path` without following a link: nothing there, or a regular file of
/// the user's.
fn own_file_or_none(path: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => check_own_file(path, &meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot read {} ({e})", path.display())),
    }
}

fn check_own_file(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    let shown = path.display();
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{shown} is a symbolic link, which azq does not follow in its cache; remove it"
        ));
    }
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file; remove it"));
    }
    if meta.uid() != unsafe_uid() {
        return Err(format!("{shown} belongs to another user; remove it"));
    }
    Ok(())
}

/// Why a file of the cache could not be opened, with a link named as such.
fn open_error(path: &Path, e: &std::io::Error) -> String {
    if e.raw_os_error() == Some(libc::ELOOP) {
        format!(
            "{} is a symbolic link, which azq does not follow in its cache; remove it",
            path.display()
        )
    } else {
        format!("{} cannot be opened ({e})", path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(rt: &str) -> CachedAccount {
        CachedAccount {
            authority: "https://login.example/".into(),
            tenant: "t".into(),
            client_id: "c".into(),
            username: "me".into(),
            refresh_token: rt.into(),
            obtained_at: 1,
        }
    }

    #[tokio::test]
    async fn writes_privately_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("azq-cache-test-{}", uuid::Uuid::new_v4()));
        let cache = TokenCache::new(dir.join("sub").join("c.json"));
        {
            let locked = cache.lock().await.unwrap();
            let mut f = locked.read();
            assert!(f.accounts.is_empty());
            f.put(account("one"));
            f.put(account("two"));
            locked.write(&f).unwrap();
        }
        assert!(!format!("{:?}", account("rt-value")).contains("rt-value"));
        let meta = std::fs::metadata(cache.path()).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        let dmeta = std::fs::metadata(dir.join("sub")).unwrap();
        assert_eq!(dmeta.mode() & 0o777, 0o700);
        let locked = cache.lock().await.unwrap();
        let f = locked.read();
        assert_eq!(f.accounts.len(), 1);
        assert_eq!(
            f.find("https://login.example/", "t", "c")
                .unwrap()
                .refresh_token,
            "two"
        );
        drop(locked);
        std::fs::write(cache.path(), "not json").unwrap();
        let locked = cache.lock().await.unwrap();
        assert!(locked.read().accounts.is_empty());
        let notes = locked.take_notes();
        assert!(
            notes.len() == 1 && notes[0].contains("could not be read"),
            "{notes:?}"
        );
        drop(locked);
        // A temporary file a killed writer left is gone once the lock is taken again.
        let stale = dir
            .join("sub")
            .join(format!("c.json.tmp.{}", "a".repeat(32)));
        std::fs::write(&stale, "{}").unwrap();
        drop(cache.lock().await.unwrap());
        assert!(!stale.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_open_folder_is_refused_unless_it_is_azqs_own() {
        let dir = std::env::temp_dir().join(format!("azq-cache-test-{}", uuid::Uuid::new_v4()));
        let own = dir.join(OWN_DIR);
        std::fs::create_dir_all(&own).unwrap();
        for d in [&dir, &own] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let err = TokenCache::new(dir.join("c.json"))
            .lock()
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("is open to other users"), "{err}");
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o755);
        drop(TokenCache::new(own.join("c.json")).lock().await.unwrap());
        assert_eq!(std::fs::metadata(&own).unwrap().mode() & 0o777, 0o700);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A folder for one test that a second user may enter (its parents are /tmp and 0755).
    fn shared_root() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("azq-cache-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    /// Runs `script` as the attacker: another user (nobody), as on a shared host.
    fn as_attacker(script: &str) {
        let status = std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sh",
                "-c",
            ])
            .arg(script)
            .status()
            .expect("setpriv runs (the tests run as root, like CI)");
        assert!(status.success(), "the attacker's script failed: {script}");
    }

    /// A file of the victim's that the attacker wants overwritten.
    fn victim_file(root: &Path) -> PathBuf {
        let victim = root.join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
        victim
    }

    /// `root/private`, 0700: a cache folder only its owner can write.
    fn private_folder(root: &Path) -> PathBuf {
        let dir = root.join("private");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    #[tokio::test]
    async fn a_symlink_planted_in_an_open_folder_is_not_written_through() {
        let root = shared_root();
        let victim = victim_file(&root);
        let own = root.join(OWN_DIR);
        std::fs::create_dir(&own).unwrap();
        std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o777)).unwrap();
        let cache = TokenCache::new(own.join(FILE_NAME));
        // The temporary names the cache used to write: `<stem>.tmp.<pid>`.
        let pid = std::process::id();
        as_attacker(&format!(
            "ln -s {v} {o}/azq-token-cache.tmp.{pid} && ln -s {v} {o}/{FILE_NAME}.tmp.{pid}",
            v = victim.display(),
            o = own.display()
        ));
        let outcome = match cache.lock().await {
            Ok(locked) => {
                let mut f = locked.read();
                f.put(account("the-refresh-token"));
                locked.write(&f).map(|()| "written".to_owned())
            }
            Err(e) => Err(e),
        };
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let err = outcome.expect_err("an open folder holding another user's files is refused");
        let text = err.to_string();
        assert!(
            text.contains("other users can write") && text.contains("chmod 700"),
            "{text}"
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn entries_of_another_user_are_refused_even_once_the_folder_is_closed() {
        let root = shared_root();
        let own = root.join(OWN_DIR);
        std::fs::create_dir(&own).unwrap();
        std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o777)).unwrap();
        as_attacker(&format!("mkdir -m 777 {o}/planted", o = own.display()));
        std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = TokenCache::new(own.join(FILE_NAME))
            .lock()
            .await
            .err()
            .expect("a folder holding another user's entry is refused");
        let text = err.to_string();
        assert!(
            text.contains("planted") && text.contains("another user") && text.contains("remove"),
            "{text}"
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn a_stale_temporary_name_is_never_followed() {
        let root = shared_root();
        let victim = victim_file(&root);
        let dir = private_folder(&root);
        let path = dir.join("c.json");
        let pid = std::process::id();
        for name in [format!("c.tmp.{pid}"), format!("c.json.tmp.{pid}")] {
            std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
        }
        let cache = TokenCache::new(path.clone());
        let locked = cache.lock().await.unwrap();
        let mut f = locked.read();
        f.put(account("the-refresh-token"));
        locked.write(&f).unwrap();
        drop(locked);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("the-refresh-token")
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn symlinks_at_the_cache_or_lock_names_are_refused() {
        let root = shared_root();
        let victim = victim_file(&root);
        let dir = private_folder(&root);
        let path = dir.join("c.json");
        // The cache file: reading it used to follow the link (and chmod its target).
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let cache = TokenCache::new(path.clone());
        let outcome = cache
            .lock()
            .await
            .map(|locked| locked.read().accounts.len());
        assert_eq!(
            std::fs::metadata(&victim).unwrap().mode() & 0o777,
            0o644,
            "the link's target was chmod-ed"
        );
        let text = outcome
            .expect_err("a symlink as the cache is refused")
            .to_string();
        assert!(
            text.contains("symbolic link") && text.contains("remove"),
            "{text}"
        );
        std::fs::remove_file(&path).unwrap();
        // The lock file: opening it used to create the link's target.
        let target = root.join("created-through-the-lock");
        std::os::unix::fs::symlink(&target, path.with_extension("lock")).unwrap();
        let outcome = cache.lock().await.map(|_| ());
        assert!(!target.exists(), "the lock created a file through a link");
        let text = outcome
            .expect_err("a symlink as the lock is refused")
            .to_string();
        assert!(text.contains("symbolic link"), "{text}");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn the_variable_may_name_a_file_or_a_directory() {
        let env = Env::default().with("AZURE_QUANTUM_TOKEN_CACHE", "/tmp/x/");
        assert_eq!(
            cache_path(&env).unwrap(),
            PathBuf::from("/tmp/x/azq-token-cache.json")
        );
        let env = Env::default().with("AZURE_QUANTUM_TOKEN_CACHE", "/tmp/x/mine.json");
        assert_eq!(cache_path(&env).unwrap(), PathBuf::from("/tmp/x/mine.json"));
        let env = Env::default().with("HOME", "/home/u");
        assert_eq!(
            cache_path(&env).unwrap(),
            PathBuf::from("/home/u/.azure-quantum/azq-token-cache.json")
        );
    }
}
