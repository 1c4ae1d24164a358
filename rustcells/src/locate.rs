//! Finding what Rust cells need: the `azq-rust` companion, and cargo with rustc. Kernels are
//! often started without the login shell's PATH (VS Code, JupyterHub), so both are also looked
//! for where rustup and `cargo install` put them, and an error says every place looked.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The companion's file name.
pub const COMPANION: &str = "azq-rust";

/// What the search reads from the process: given explicitly so tests can vary it.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// `AZQ_RUST`: the companion's path, when set.
    pub explicit: Option<PathBuf>,
    /// The folder of the running `azq`.
    pub beside: Option<PathBuf>,
    pub path: Option<OsString>,
    pub home: Option<PathBuf>,
    pub cargo_home: Option<PathBuf>,
    pub rustup_home: Option<PathBuf>,
}

impl Places {
    pub fn of_this_process() -> Places {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Places {
            explicit: var("AZQ_RUST").map(PathBuf::from),
            beside: std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(Path::to_path_buf)),
            path: var("PATH"),
            home: var("HOME").map(PathBuf::from),
            cargo_home: var("CARGO_HOME").map(PathBuf::from),
            rustup_home: var("RUSTUP_HOME").map(PathBuf::from),
        }
    }

    fn path_dirs(&self) -> Vec<PathBuf> {
        self.path
            .as_ref()
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default()
    }

    fn cargo_bin(&self) -> Option<PathBuf> {
        self.cargo_home
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".cargo")))
            .map(|c| c.join("bin"))
    }

    fn rustup_toolchains(&self) -> Option<PathBuf> {
        self.rustup_home
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".rustup")))
            .map(|r| r.join("toolchains"))
    }
}

/// How to start the companion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub companion: PathBuf,
    /// PATH for the companion: the kernel's, with the toolchain's folder first when it was
    /// found elsewhere.
    pub path: OsString,
    pub toolchain: PathBuf,
}

/// What is missing, said the way a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Companion { looked: Vec<String> },
    Toolchain { looked: Vec<String> },
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::Companion { looked } => write!(
                f,
                "Rust cells run in azq's companion program `{COMPANION}`, which is not \
                 installed. Looked: {}. Build it once (about 15 minutes) in azq's source \
                 folder with `make rust`, or `cargo install --locked --path rust`; or set \
                 AZQ_RUST to its path.",
                looked.join("; ")
            ),
            Missing::Toolchain { looked } => write!(
                f,
                "Rust cells need cargo and rustc, and they were not found. Looked: {}. \
                 Install Rust with rustup (https://rustup.rs) and run the cell again; if it is \
                 installed elsewhere, add its bin folder to PATH in the kernelspec's `env`.",
                looked.join("; ")
            ),
        }
    }
}

fn is_executable(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn show(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "(empty)".to_owned();
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// Finds the companion and a toolchain, or says what is missing and where it looked.
pub fn locate(places: &Places) -> Result<Found, Missing> {
    let companion = find_companion(places)?;
    let (toolchain, on_path) = find_toolchain(places)?;
    let mut dirs = places.path_dirs();
    if !on_path {
        dirs.insert(0, toolchain.clone());
    }
    let path = std::env::join_paths(dirs).unwrap_or_else(|_| toolchain.clone().into());
    Ok(Found {
        companion,
        path,
        toolchain,
    })
}

fn find_companion(places: &Places) -> Result<PathBuf, Missing> {
    let mut looked = Vec::new();
    if let Some(explicit) = &places.explicit {
        if is_executable(explicit) {
            return Ok(explicit.clone());
        }
        return Err(Missing::Companion {
            looked: vec![format!(
                "AZQ_RUST={} (not an executable file)",
                explicit.display()
            )],
        });
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(beside) = &places.beside {
        candidates.push(beside.clone());
        looked.push(format!("beside azq in {}", beside.display()));
    }
    let path = places.path_dirs();
    looked.push(format!("PATH ({})", show(&path)));
    candidates.extend(path);
    if let Some(bin) = places.cargo_bin() {
        looked.push(bin.display().to_string());
        candidates.push(bin);
    }
    candidates
        .into_iter()
        .map(|dir| dir.join(COMPANION))
        .find(|file| is_executable(file))
        .ok_or(Missing::Companion { looked })
}

/// The first folder holding both cargo and rustc, and whether it is on PATH.
fn find_toolchain(places: &Places) -> Result<(PathBuf, bool), Missing> {
    let has_both =
        |dir: &Path| is_executable(&dir.join("cargo")) && is_executable(&dir.join("rustc"));
    let path = places.path_dirs();
    if let Some(dir) = path.iter().find(|d| has_both(d)) {
        return Ok((dir.clone(), true));
    }
    let mut looked = vec![format!("PATH ({})", show(&path))];
    let mut others: Vec<PathBuf> = Vec::new();
    if let Some(bin) = places.cargo_bin() {
        looked.push(bin.display().to_string());
        others.push(bin);
    }
    if let Some(toolchains) = places.rustup_toolchains() {
        looked.push(format!("{}/*/bin", toolchains.display()));
        let mut found: Vec<PathBuf> = std::fs::read_dir(&toolchains)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path().join("bin"))
                    .collect()
            })
            .unwrap_or_default();
        // The stable toolchain first, then by name, so the choice does not depend on the
        // order the file system lists them in.
        found.sort_by_key(|dir| {
            let name = dir
                .parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned());
            (
                !name.as_deref().is_some_and(|n| n.starts_with("stable")),
                name,
            )
        });
        others.extend(found);
    }
    let docker = PathBuf::from("/usr/local/cargo/bin");
    looked.push(docker.display().to_string());
    others.push(docker);
    others
        .into_iter()
        .find(|d| has_both(d))
        .map(|dir| (dir, false))
        .ok_or(Missing::Toolchain { looked })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tool(dir: &Path, name: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let file = dir.join(name);
        std::fs::write(&file, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("azq-locate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_toolchain_outside_path_is_found_and_put_first_on_the_companions_path() {
        let root = scratch("outside");
        tool(&root.join("kernel"), COMPANION);
        tool(&root.join("home/.cargo/bin"), "cargo");
        tool(&root.join("home/.cargo/bin"), "rustc");
        let places = Places {
            beside: Some(root.join("kernel")),
            path: Some("/nonexistent/bin".into()),
            home: Some(root.join("home")),
            ..Places::default()
        };
        let found = locate(&places).unwrap();
        assert_eq!(found.companion, root.join("kernel").join(COMPANION));
        assert_eq!(found.toolchain, root.join("home/.cargo/bin"));
        let dirs: Vec<PathBuf> = std::env::split_paths(&found.path).collect();
        assert_eq!(
            dirs,
            [
                root.join("home/.cargo/bin"),
                PathBuf::from("/nonexistent/bin")
            ]
        );
    }

    #[test]
    fn rustups_stable_toolchain_is_preferred() {
        let root = scratch("rustup");
        tool(&root.join("k"), COMPANION);
        for name in ["nightly-x86_64", "stable-x86_64"] {
            tool(
                &root.join(format!("home/.rustup/toolchains/{name}/bin")),
                "cargo",
            );
            tool(
                &root.join(format!("home/.rustup/toolchains/{name}/bin")),
                "rustc",
            );
        }
        let places = Places {
            beside: Some(root.join("k")),
            home: Some(root.join("home")),
            ..Places::default()
        };
        let found = locate(&places).unwrap();
        assert!(found.toolchain.ends_with("stable-x86_64/bin"), "{found:?}");
    }

    #[test]
    fn missing_pieces_say_where_they_were_looked_for() {
        let root = scratch("missing");
        let places = Places {
            beside: Some(root.join("k")),
            path: Some("/nowhere".into()),
            home: Some(root.join("home")),
            ..Places::default()
        };
        let message = locate(&places).unwrap_err().to_string();
        assert!(message.contains("`azq-rust`"), "{message}");
        assert!(message.contains("make rust"), "{message}");
        assert!(message.contains("/nowhere"), "{message}");
        assert!(message.contains(".cargo/bin"), "{message}");

        tool(&root.join("k"), COMPANION);
        tool(&root.join("home/.cargo/bin"), "cargo"); // cargo without rustc is not enough
        let message = locate(&places).unwrap_err().to_string();
        assert!(
            message.starts_with("Rust cells need cargo and rustc"),
            "{message}"
        );
        assert!(message.contains(".rustup/toolchains/*/bin"), "{message}");
        assert!(message.contains("https://rustup.rs"), "{message}");

        let explicit = Places {
            explicit: Some(root.join("no-such-file")),
            ..places
        };
        let message = locate(&explicit).unwrap_err().to_string();
        assert!(message.contains("AZQ_RUST="), "{message}");
    }
}
