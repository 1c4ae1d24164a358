//! The `azq` command: runs the kernel, installs or removes its kernelspec.

use std::path::PathBuf;

use anyhow::Context;
use azq_kernel::install::{self, Location};
use clap::{Args, Parser, Subcommand};

mod emulator;
mod simulate;

#[derive(Parser)]
#[command(
    name = "azq",
    version,
    about = "Azure Quantum in Jupyter: a kernel with %azure.* magics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kernel (Jupyter starts it through the kernelspec).
    Kernel {
        /// The connection file Jupyter wrote.
        #[arg(short = 'f', long = "connection-file", value_name = "FILE")]
        connection_file: PathBuf,
    },
    /// Install the `azq` kernelspec so Jupyter, JupyterLab and VS Code list it.
    Install(Where),
    /// Remove the `azq` kernelspec.
    Uninstall(Where),
    /// Run a program (OpenQASM 2, IonQ JSON, Quil or QIR text) on the local simulator and
    /// print its histogram.
    Simulate(simulate::Args),
    /// Serve the local Azure Quantum emulator on a loopback port.
    Emulator(emulator::Args),
}

#[derive(Args)]
#[group(multiple = false)]
struct Where {
    /// The user's Jupyter data directory (the default).
    #[arg(long)]
    user: bool,
    /// The active Python environment (VIRTUAL_ENV or CONDA_PREFIX).
    #[arg(long)]
    sys_prefix: bool,
    /// `<DIR>/share/jupyter`.
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
}

impl Where {
    fn location(self) -> Location {
        match (self.sys_prefix, self.prefix) {
            (true, _) => Location::SysPrefix,
            (false, Some(p)) => Location::Prefix(p),
            (false, None) => Location::User,
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Kernel { connection_file } => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("AZQ_LOG")
                        .unwrap_or_else(|_| "warn".into()),
                )
                .init();
            let text = std::fs::read_to_string(&connection_file)
                .with_context(|| format!("cannot read {}", connection_file.display()))?;
            let info = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a Jupyter connection file",
                    connection_file.display()
                )
            })?;
            keep_large_buffers_out_of_the_heap();
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?
                .block_on(azq_kernel::run(info))
        }
        Command::Install(w) => {
            let dir = install::install(&w.location())?;
            println!("installed kernelspec azq in {}", dir.display());
            Ok(())
        }
        Command::Simulate(args) => simulate::run(args),
        Command::Emulator(args) => emulator::run(args),
        Command::Uninstall(w) => {
            match install::uninstall(&w.location())? {
                Some(dir) => println!("removed kernelspec azq from {}", dir.display()),
                None => println!("kernelspec azq is not installed there"),
            }
            Ok(())
        }
    }
}

/// Buffers of 128 KiB and more (a peer may send messages of up to 64 MiB) are mapped on their
/// own and given back to the system when freed. glibc's default raises that threshold each
/// time such a buffer is freed, after which big messages land in its arenas, fragment them,
/// and the kernel's RSS climbs with every burst of large messages (60 MiB over 10,000 hostile
/// messages in tests/test_hostile_traffic.py) instead of staying flat.
fn keep_large_buffers_out_of_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
