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
    /// Inject a fault: `METHOD PATTERN EFFECT [PROBABILITY] [times=N]`, e.g. `GET **/jobs/* 429:2 0.5`,
    /// `* **/providerStatus 503`, `GET **/jobs latency:200`, `PUT **/jobs/* drop`, or
    /// `PUT **/jobs/* drop-after times=1` (applied, then the answer lost). Repeatable.
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
    /// Answer the VM identity endpoint (IMDS) at its real path to any local process that
    /// sends `Metadata: true`, as a VM does (also through the proxy, for 169.254.169.254).
    /// Without it, that endpoint answers only under the secret address printed as
    /// AZURE_POD_IDENTITY_AUTHORITY_HOST.
    #[arg(long)]
    open_imds: bool,
    /// How many jobs execute at once; the others stay Waiting until one finishes.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    max_running_jobs: u64,
    /// Simulator threads for each executing job (default: the cores shared equally among
    /// --max-running-jobs), so one large job cannot take the machine from the others.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    job_threads: Option<u64>,
}

pub fn run(mut args: Args) -> anyhow::Result<()> {
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
        open_imds: args.open_imds,
        max_running_jobs: args.max_running_jobs as usize,
        job_threads: args.job_threads.unwrap_or(0) as usize,
        ..Config::default()
    };
    if let Some(key) = args.api_key.take() {
        if key.len() < 8 || !key.chars().all(|c| c.is_ascii_graphic() && c != ';') {
            bail!("--api-key must be at least 8 printable characters without `;`");
        }
        config.credentials.api_key = azq_emulator::Secret::new(key);
    }
    if let Some(id) = args.client_id.take() {
        config.credentials.client_id = id;
    }
    if let Some(secret) = args.client_secret.take() {
        if secret.len() < 8 {
            bail!("--client-secret must be at least 8 characters");
        }
        config.credentials.client_secret = azq_emulator::Secret::new(secret);
    }
    if let Some(dir) = &args.data_dir {
        azq_emulator::files::private_dir(dir, "--data-dir").map_err(anyhow::Error::msg)?;
    }
    // This run's own files (the CA without a data dir, the federated token): a new folder
    // that only this user can enter, never a name another user could have made first.
    let scratch =
        azq_emulator::files::private_temp_dir("azq-emulator-").map_err(anyhow::Error::msg)?;
    let served = serve(args, config, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    served
}

fn serve(args: Args, config: Config, scratch: &std::path::Path) -> anyhow::Result<()> {
    let authority = if args.tls {
        let dir = args.data_dir.as_deref().unwrap_or(scratch);
        Some(std::sync::Arc::new(
            azq_emulator::tls::Authority::open(dir).map_err(anyhow::Error::msg)?,
        ))
    } else {
        None
    };
    let scratch = scratch.to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.host, args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
        let addr = listener.local_addr()?;
        let host = match addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
            IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
        };
        // Ctrl-C or SIGTERM: stop serving, then remove this run's files.
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let shutdown = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        };
        let (tenant, client) = (config.tenant.clone(), config.credentials.client_id.clone());
        let served = match authority {
            None => {
                let url = format!("http://{host}");
                let emulator = keep(Emulator::new(config, url.clone()), args.data_dir.as_deref())?;
                println!("listening on {url}");
                println!(
                    "AZURE_QUANTUM_CONNECTION_STRING={}",
                    emulator.connection_string()
                );
                println!("AZURE_TENANT_ID={tenant}\nAZURE_CLIENT_ID={client}");
                print_identity(&host, &emulator, &scratch);
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
                print_identity(&host, &emulator, &scratch);
                azq_emulator::serve_tls(listener, emulator, authority, shutdown).await
            }
        };
        served.context("the emulator stopped")
    });
    // Jobs still simulating are not waited for.
    runtime.shutdown_background();
    served
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

/// Where managed-identity clients find the emulator (App Service and VM forms), and the
/// federated token file for workload identity (written in this run's private folder).
fn print_identity(host: &str, emulator: &Emulator, scratch: &std::path::Path) {
    let token = azq_emulator::auth_federated_token(emulator);
    let path = scratch.join("federated-token");
    if azq_emulator::files::write_private(&path, token.as_bytes()).is_ok() {
        println!("AZURE_FEDERATED_TOKEN_FILE={}", path.display());
    }
    println!(
        "AZURE_STORAGE_CONNECTION_STRING={}",
        azq_emulator::storage_connection_string(emulator)
    );
    let secret = emulator.config.identity_header.expose();
    println!("IDENTITY_ENDPOINT=http://{host}/msi/token");
    println!("IDENTITY_HEADER={secret}");
    // The VM form carries the same secret in its path: clients append the IMDS path to it.
    println!("AZURE_POD_IDENTITY_AUTHORITY_HOST=http://{host}/identity/{secret}/");
}
