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
    pub(crate) async fn lock(&self) -> Result<Locked<'_>, ClientError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        private_dir(dir).map_err(|e| self.error(e))?;
        let lock_path = self.path.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| self.error(format!("the lock file cannot be opened ({e})")))?;
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
        Ok(Locked {
            cache: self,
            _lock: lock,
        })
    }
}

impl Locked<'_> {
    /// The contents; a missing or unreadable file is an empty cache (it holds nothing that a
    /// new sign-in cannot replace).
    pub fn read(&self) -> CacheFile {
        let path = &self.cache.path;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.uid() != unsafe_uid() {
                return CacheFile::default();
            }
            if meta.mode() & 0o077 != 0 {
                let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
            }
        }
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<CacheFile>(&b).ok())
            .filter(|f| f.version == 1)
            .unwrap_or_default()
    }

    /// Writes the whole cache: a 0600 temporary file beside it, synced, renamed over it.
    pub fn write(&self, file: &CacheFile) -> Result<(), ClientError> {
        let path = &self.cache.path;
        let body = serde_json::to_vec_pretty(&CacheFile {
            version: 1,
            accounts: file.accounts.clone(),
        })
        .map_err(|e| self.cache.error(e.to_string()))?;
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            if let Some(dir) = path.parent() {
                File::open(dir)?.sync_all()?;
            }
            Ok::<(), std::io::Error>(())
        })();
        written.map_err(|e| {
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

/// Creates `dir` (and parents) with mode 0700. An existing one must be the user's and private
/// already, except `~/.azure-quantum`, which is tightened: azq does not change the mode of a
/// folder the user chose (it may be their home or a project).
fn private_dir(dir: &Path) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(meta) => {
            if !meta.is_dir() {
                return Err(format!("{} is not a directory", dir.display()));
            }
            if meta.uid() != unsafe_uid() {
                return Err(format!(
                    "{} belongs to another user; set AZURE_QUANTUM_TOKEN_CACHE to a path of yours",
                    dir.display()
                ));
            }
            if meta.mode() & 0o077 != 0 && dir.file_name() != Some(OWN_DIR.as_ref()) {
                return Err(format!(
                    "{} is open to other users; give AZURE_QUANTUM_TOKEN_CACHE a folder of its \
                     own (ending in /), which azq creates private, or run chmod 700 on it",
                    dir.display()
                ));
            }
            if meta.mode() & 0o077 != 0 {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| format!("cannot make {} private ({e})", dir.display()))?;
            }
            Ok(())
        }
        Err(_) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {} ({e})", dir.display())),
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
        assert!(cache.lock().await.unwrap().read().accounts.is_empty());
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
