//! Files on a shared machine: a fresh private folder (made new, 0700, ours), and files
//! written whole (a new aside file opened exclusively without following symlinks, synced,
//! then renamed into place), so nothing another user prepared can receive a secret.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Writes a file only its owner can read (0600), whole.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_whole(path, bytes, 0o600)
}

/// Writes a file anyone may read (0644: a certificate), whole.
pub fn write_public(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_whole(path, bytes, 0o644)
}

/// Aside under a name nobody can have prepared (created exclusively, never through a
/// symlink), synced, then renamed over `path` (a rename replaces a symlink there, it does
/// not follow it).
fn write_whole(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("a file path needs a file name"))?
        .to_string_lossy();
    let aside = path.with_file_name(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&aside)?;
        // The umask may have taken bits away; a certificate is meant to be readable.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&aside, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&aside);
    }
    written
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// A new folder `<temp dir>/<prefix><random>`, 0700, made by this process (mkdtemp's way:
/// `mkdir` fails on anything already there, a symlink included).
pub fn private_temp_dir(prefix: &str) -> Result<PathBuf, String> {
    for _ in 0..8 {
        let dir = std::env::temp_dir().join(format!("{prefix}{}", uuid::Uuid::new_v4().simple()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                check_private_dir(&dir, "the temporary folder")?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
    Err(format!(
        "cannot create a new folder in {}",
        std::env::temp_dir().display()
    ))
}

/// Makes `dir` (0700) if it is missing, then checks it is a folder of ours that no one
/// else can write in (where another user could plant files or symlinks for us to follow).
/// `what` names it in the error (`--data-dir`).
pub fn private_dir(dir: &Path, what: &str) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {what} {}: {e}", dir.display()))?;
    check_private_dir(dir, what)?;
    remove_stale_asides(dir);
    Ok(())
}

/// Aside files a killed run left behind (`.NAME.<random>.partial`): never renamed into place,
/// so nothing acknowledged is in them. The folder is private, so they are ours.
fn remove_stale_asides(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let regular = entry
            .metadata()
            .is_ok_and(|m| m.is_file() && m.uid() == euid());
        if regular && name.starts_with('.') && name.ends_with(".partial") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn check_private_dir(dir: &Path, what: &str) -> Result<(), String> {
    let meta =
        std::fs::metadata(dir).map_err(|e| format!("cannot read {what} {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{what} {} is not a folder", dir.display()));
    }
    if meta.uid() != euid() {
        return Err(format!(
            "{what} {} belongs to another user; choose a folder of your own",
            dir.display()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{what} {} is writable by others (mode {:o}); make it private (chmod 700) or choose another",
            dir.display(),
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asides_left_by_a_killed_run_are_cleared_and_nothing_else() {
        let dir = private_temp_dir("azq-files-test-").unwrap();
        std::fs::write(dir.join(".state.json.0123abcd.partial"), b"half").unwrap();
        std::fs::write(dir.join("state.json"), b"{}").unwrap();
        std::fs::write(dir.join("notes.partial"), b"kept").unwrap();
        private_dir(&dir, "--data-dir").unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["notes.partial", "state.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_go_around_planted_names_and_replace_symlinks() {
        let dir = private_temp_dir("azq-files-test-").unwrap();
        let outside = dir.join("outside");
        std::fs::write(&outside, "").unwrap();
        let target = dir.join("secret.json");
        std::os::unix::fs::symlink(&outside, &target).unwrap();
        write_private(&target, b"key").unwrap();
        assert_eq!(std::fs::read(&outside).unwrap(), b"");
        let meta = std::fs::symlink_metadata(&target).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            2,
            "no aside file is left"
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let refused = private_dir(&dir, "--data-dir").unwrap_err();
        assert!(refused.contains("writable by others"), "{refused}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
