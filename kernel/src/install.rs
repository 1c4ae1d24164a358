//! `azq install` / `azq uninstall`: writes or removes the kernelspec named `azq` where
//! Jupyter, JupyterLab and VS Code look for kernels.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

const KERNEL_JSON: &str = include_str!("../../kernelspec/kernel.json");
const FILES: &[(&str, &[u8])] = &[
    (
        "logo-32x32.png",
        include_bytes!("../../kernelspec/logo-32x32.png"),
    ),
    (
        "logo-64x64.png",
        include_bytes!("../../kernelspec/logo-64x64.png"),
    ),
    (
        "logo-svg.svg",
        include_bytes!("../../kernelspec/logo-svg.svg"),
    ),
];
/// The kernelspec's directory name.
pub const NAME: &str = "azq";
/// How the wheel's kernel.json (kernel/wheel/, see pyproject.toml) names the binary: relative to
/// its own folder, `<prefix>/share/jupyter/kernels/azq`, so that it is the `<prefix>/bin/azq`
/// pip installed beside it, whatever PATH says. Jupyter (jupyter_client) and VS Code's Jupyter
/// extension (since 2025.2) substitute `{resource_dir}`.
pub const WHEEL_BINARY: &str = "{resource_dir}/../../../../bin/azq";

/// Where the kernelspec goes.
#[derive(Debug, Clone)]
pub enum Location {
    /// The user's Jupyter data directory (the default).
    User,
    /// The active Python environment (VIRTUAL_ENV or CONDA_PREFIX).
    SysPrefix,
    /// `<prefix>/share/jupyter`.
    Prefix(PathBuf),
}

impl Location {
    /// The `kernels/azq` directory for this location.
    pub fn kernel_dir(&self) -> anyhow::Result<PathBuf> {
        let data = match self {
            Location::User => user_data_dir()?,
            Location::SysPrefix => {
                let prefix = std::env::var_os("VIRTUAL_ENV")
                    .or_else(|| std::env::var_os("CONDA_PREFIX"))
                    .context("--sys-prefix needs an active Python environment (VIRTUAL_ENV or CONDA_PREFIX); use --prefix DIR instead")?;
                PathBuf::from(prefix).join("share").join("jupyter")
            }
            Location::Prefix(p) => std::path::absolute(p)
                .with_context(|| format!("cannot resolve {}", p.display()))?
                .join("share")
                .join("jupyter"),
        };
        Ok(data.join("kernels").join(NAME))
    }
}

fn user_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if cfg!(target_os = "macos") {
        return Ok(home
            .context("HOME is not set")?
            .join("Library")
            .join("Jupyter"));
    }
    if cfg!(windows) {
        let appdata = std::env::var_os("APPDATA").context("APPDATA is not set")?;
        return Ok(PathBuf::from(appdata).join("jupyter"));
    }
    let xdg = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    match (xdg, home) {
        (Some(x), _) => Ok(x.join("jupyter")),
        (None, Some(h)) => Ok(h.join(".local").join("share").join("jupyter")),
        (None, None) => bail!("HOME is not set; use --prefix DIR"),
    }
}

/// The kernel.json text for a given binary.
pub fn kernel_json(binary: &Path) -> anyhow::Result<String> {
    let path = binary
        .to_str()
        .context("the azq binary's path is not valid UTF-8")?;
    let quoted = serde_json::to_string(path)?;
    Ok(KERNEL_JSON.replace("\"{azq}\"", &quoted))
}

/// Writes the kernelspec, each file whole (written aside, then renamed into place).
pub fn install(location: &Location) -> anyhow::Result<PathBuf> {
    let dir = location.kernel_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let binary = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("cannot find the azq binary's own path")?;
    write_whole(&dir.join("kernel.json"), kernel_json(&binary)?.as_bytes())?;
    for (name, bytes) in FILES {
        write_whole(&dir.join(name), bytes)?;
    }
    Ok(dir)
}

pub fn uninstall(location: &Location) -> anyhow::Result<Option<PathBuf>> {
    let dir = location.kernel_dir()?;
    if !dir.exists() {
        return Ok(None);
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    Ok(Some(dir))
}

fn write_whole(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let aside = path.with_extension("azq-partial");
    std::fs::write(&aside, bytes).with_context(|| format!("cannot write {}", aside.display()))?;
    std::fs::rename(&aside, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_json_names_the_binary_and_message_interrupts() {
        let json: serde_json::Value =
            serde_json::from_str(&kernel_json(Path::new("/opt/a \"b\"/azq")).unwrap()).unwrap();
        assert_eq!(json["argv"][0], "/opt/a \"b\"/azq");
        assert_eq!(json["argv"][3], "{connection_file}");
        assert_eq!(json["interrupt_mode"], "message");
        assert_eq!(json["language"], "rust");
    }

    #[test]
    fn the_wheels_kernelspec_is_this_one_with_the_binary_beside_it() {
        // At run time: a test binary cargo reuses may have been built from a clone elsewhere.
        let root = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        let dir = Path::new(&root).join("wheel/data/share/jupyter/kernels/azq");
        let wheel: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("kernel.json")).unwrap())
                .unwrap();
        let ours: serde_json::Value =
            serde_json::from_str(&kernel_json(Path::new(WHEEL_BINARY)).unwrap()).unwrap();
        assert_eq!(wheel, ours);
        for (name, bytes) in FILES {
            assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), FILES.len() + 1);
    }

    #[test]
    fn install_and_uninstall_under_a_prefix() {
        let tmp = std::env::temp_dir().join(format!("azq-install-{}", std::process::id()));
        let location = Location::Prefix(tmp.clone());
        let dir = install(&location).unwrap();
        assert!(dir.ends_with("share/jupyter/kernels/azq"));
        for f in [
            "kernel.json",
            "logo-32x32.png",
            "logo-64x64.png",
            "logo-svg.svg",
        ] {
            assert!(dir.join(f).is_file(), "{f}");
        }
        assert!(std::fs::read_dir(&dir).unwrap().all(|e| {
            !e.unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with("azq-partial")
        }));
        assert_eq!(uninstall(&location).unwrap(), Some(dir.clone()));
        assert!(!dir.exists());
        assert_eq!(uninstall(&location).unwrap(), None);
        std::fs::remove_dir_all(tmp).unwrap();
    }
}
