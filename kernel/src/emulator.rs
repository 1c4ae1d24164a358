//! `azq emulator`: serves the local Azure Quantum emulator on one loopback port and prints
//! where, with a ready-to-use connection string.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use azq_emulator::{Config, Emulator};

#[derive(clap::Args)]
pub struct Args {
    /// The port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The address to listen on; only loopback addresses are allowed.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Keep state in this directory across restarts (not available yet).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The workspace API key to accept (default: a random one, printed in the connection string).
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,
    /// Serve https with a certificate from a CA written to the data dir (not available yet).
    #[arg(long)]
    tls: bool,
    /// How long a job waits before it runs, and runs before it finishes, in milliseconds.
    #[arg(long, default_value_t = 500)]
    job_delay_ms: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.host.is_loopback() {
        bail!(
            "--host must be a loopback address (127.0.0.1 or ::1): the emulator never listens beyond this machine"
        );
    }
    if args.data_dir.is_some() {
        bail!("--data-dir is not available yet: this emulator keeps its state in memory");
    }
    if args.tls {
        bail!("--tls is not available yet: this emulator serves plain http on loopback");
    }
    let mut config = Config {
        job_delay: Duration::from_millis(args.job_delay_ms),
        ..Config::default()
    };
    if let Some(key) = args.api_key {
        if key.len() < 8 || !key.chars().all(|c| c.is_ascii_graphic() && c != ';') {
            bail!("--api-key must be at least 8 printable characters without `;`");
        }
        config.credentials.api_key = azq_emulator::Secret::new(key);
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.host, args.port))
                .await
                .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
            let addr = listener.local_addr()?;
            let url = match addr.ip() {
                IpAddr::V6(ip) => format!("http://[{ip}]:{}", addr.port()),
                IpAddr::V4(ip) => format!("http://{ip}:{}", addr.port()),
            };
            let emulator = Emulator::new(config, url.clone());
            println!("listening on {url}");
            println!(
                "AZURE_QUANTUM_CONNECTION_STRING={}",
                emulator.connection_string()
            );
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            azq_emulator::serve(listener, emulator, shutdown)
                .await
                .context("the emulator stopped")
        })
}
