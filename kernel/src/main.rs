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
