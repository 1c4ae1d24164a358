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
    /// Keep state in this directory across restarts: nothing acknowledged is lost, even to
    /// a kill. Without it, state lives in memory.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The workspace API key to accept (default: a random one, printed in the connection string).
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,
    /// The service principal the emulator's Entra ID accepts (default: a random id).
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// That principal's secret (default: random and never shown; also AZQ_EMULATOR_CLIENT_SECRET).
    #[arg(
        long,
        value_name = "SECRET",
        env = "AZQ_EMULATOR_CLIENT_SECRET",
        hide_env_values = true
    )]
    client_secret: Option<String>,
    /// Serve https with certificates from a CA written to `<data dir>/ca.pem` (a temporary
    /// directory without --data-dir), and act as an HTTPS proxy for the real Azure host names.
    #[arg(long)]
    tls: bool,
    /// Inject a fault: `METHOD PATTERN EFFECT [PROBABILITY]`, e.g. `GET **/jobs/* 429:2 0.5`,
    /// `* **/providerStatus 503`, `GET **/jobs latency:200`, `PUT **/jobs/* drop`. Repeatable.
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<String>,
    /// The seed the faults' dice roll from.
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
    /// Approve device-code sign-ins at once instead of waiting for `POST /_emulator/devicelogin`.
    #[arg(long)]
    auto_approve: bool,
    /// How long a job waits before it runs, and runs before it finishes, in milliseconds.
    #[arg(long, default_value_t = 500)]
    job_delay_ms: u64,
    /// How often device-code clients are told to poll, in seconds.
    #[arg(long, default_value_t = 5)]
    device_code_interval: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.host.is_loopback() {
        bail!(
            "--host must be a loopback address (127.0.0.1 or ::1): the emulator never listens beyond this machine"
        );
    }
    let mut config = Config {
        job_delay: Duration::from_millis(args.job_delay_ms),
        device_code_interval: Duration::from_secs(args.device_code_interval.max(1)),
        auto_approve: args.auto_approve,
        faults: args
            .faults
            .iter()
            .map(|f| azq_emulator::faults::parse(f))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("--fault {e}"))?,
        fault_seed: args.fault_seed,
        ..Config::default()
    };
    if let Some(key) = args.api_key {
        if key.len() < 8 || !key.chars().all(|c| c.is_ascii_graphic() && c != ';') {
            bail!("--api-key must be at least 8 printable characters without `;`");
        }
        config.credentials.api_key = azq_emulator::Secret::new(key);
    }
    if let Some(id) = args.client_id {
        config.credentials.client_id = id;
    }
    if let Some(secret) = args.client_secret {
        if secret.len() < 8 {
            bail!("--client-secret must be at least 8 characters");
        }
        config.credentials.client_secret = azq_emulator::Secret::new(secret);
    }
    let authority = if args.tls {
        let dir = args.data_dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("azq-emulator-{}", std::process::id()))
        });
        Some(std::sync::Arc::new(
            azq_emulator::tls::Authority::open(&dir).map_err(anyhow::Error::msg)?,
        ))
    } else {
        None
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.host, args.port))
                .await
                .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
            let addr = listener.local_addr()?;
            let host = match addr.ip() {
                IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
                IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
            };
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let (tenant, client) = (config.tenant.clone(), config.credentials.client_id.clone());
            let served = match authority {
                None => {
                    let url = format!("http://{host}");
                    let emulator =
                        keep(Emulator::new(config, url.clone()), args.data_dir.as_deref())?;
                    println!("listening on {url}");
                    println!(
                        "AZURE_QUANTUM_CONNECTION_STRING={}",
                        emulator.connection_string()
                    );
                    println!("AZURE_TENANT_ID={tenant}\nAZURE_CLIENT_ID={client}");
                    print_identity(&host, &emulator);
                    azq_emulator::serve(listener, emulator, shutdown).await
                }
                Some(authority) => {
                    let emulator = keep(Emulator::as_azure(config), args.data_dir.as_deref())?;
                    println!("listening on https://{host}");
                    println!(
                        "AZURE_QUANTUM_CONNECTION_STRING={}",
                        emulator.connection_string()
                    );
                    println!("HTTPS_PROXY=http://{host}");
                    println!("SSL_CERT_FILE={}", authority.ca_path.display());
                    println!("AZURE_TENANT_ID={tenant}\nAZURE_CLIENT_ID={client}");
                    print_identity(&host, &emulator);
                    azq_emulator::serve_tls(listener, emulator, authority, shutdown).await
                }
            };
            served.context("the emulator stopped")
        })
}

/// Loads and keeps state in the data dir, if one was given.
fn keep(
    emulator: std::sync::Arc<Emulator>,
    dir: Option<&std::path::Path>,
) -> anyhow::Result<std::sync::Arc<Emulator>> {
    match dir {
        Some(dir) => emulator.persist_in(dir).map_err(anyhow::Error::msg),
        None => Ok(emulator),
    }
}

/// Where managed-identity clients find the emulator (App Service and VM forms).
fn print_identity(host: &str, emulator: &Emulator) {
    // Workload identity: a federated token file for the emulator's service principal.
    let token = azq_emulator::auth_federated_token(emulator);
    let dir = std::env::temp_dir().join(format!("azq-emulator-{}", std::process::id()));
    let path = dir.join("federated-token");
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(token.as_bytes())
    });
    if written.is_ok() {
        println!("AZURE_FEDERATED_TOKEN_FILE={}", path.display());
    }
    println!(
        "AZURE_STORAGE_CONNECTION_STRING={}",
        azq_emulator::storage_connection_string(emulator)
    );
    println!("IDENTITY_ENDPOINT=http://{host}/msi/token");
    println!(
        "IDENTITY_HEADER={}",
        emulator.config.identity_header.expose()
    );
    println!("AZURE_POD_IDENTITY_AUTHORITY_HOST=http://{host}");
}
