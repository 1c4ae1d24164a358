//! A local emulator of the Azure Quantum service on one loopback port: the data plane
//! (providers, jobs, sessions, quotas, storage SAS), path-style blob storage, the ARM
//! workspace lookup, and token issuing for service principals. Jobs really run: programs
//! are read and simulated by `azq-circuits`, and results are written in each provider's
//! format.
//!
//! With TLS it also acts as an HTTPS proxy for the real Azure host names (CONNECT, TLS
//! terminated with certificates from its own CA) so unmodified clients reach it and nothing
//! else.
//!
//! With a data dir, every change is written (a snapshot, synced and renamed into place)
//! before it is acknowledged, so a killed emulator loses nothing it answered for.
//!
//! Sign-in covers service principals (secret or federated assertion), the device-code
//! flow with refresh tokens, and managed identity (IMDS and App Service). Faults can be
//! injected per route, and a redacted request log is kept.
//!
//! Not emulated: resource estimation (such jobs fail and say so), Pulser simulation (Pasqal
//! jobs return a labelled synthetic counter), billing.

// Handlers return `Result<_, Reply>` so a refusal is the response itself; a response is
// built once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod auth;
mod blob;
pub mod catalog;
pub mod faults;
pub mod files;
mod http;
mod identity;
mod jobs;
mod listing;
mod net;
mod runner;
mod service;
mod sessions;
mod store;
pub mod tls;
mod usage;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use futures::FutureExt;
use tokio::net::TcpListener;

pub use auth::{Credentials, Secret};

/// The storage account's connection string (it holds the account key: a secret).
pub fn storage_connection_string(em: &Emulator) -> String {
    blob::connection_string(em)
}

/// A federated token (valid a day) for the emulator's service principal, for
/// `AZURE_FEDERATED_TOKEN_FILE`.
pub fn auth_federated_token(em: &Emulator) -> String {
    auth::issue_federated(&em.config.credentials, &em.config.tenant, 86_400)
}
pub use store::Store;

/// The one workspace the emulator serves, and how it behaves.
#[derive(Debug, Clone)]
pub struct Config {
    pub subscription: String,
    pub resource_group: String,
    pub workspace: String,
    pub location: String,
    pub tenant: String,
    /// The storage account name in blob URLs.
    pub storage_account: String,
    pub credentials: Credentials,
    /// How long a job waits, then executes.
    pub job_delay: Duration,
    /// At most this many jobs execute at once; the rest stay Waiting until one finishes.
    pub max_running_jobs: usize,
    /// Simulator threads each executing job may use: its share of the machine, so one big
    /// job cannot starve the others (0: the cores divided among `max_running_jobs`).
    pub job_threads: usize,
    /// How often device-code clients may poll, and how long a code lives.
    pub device_code_interval: Duration,
    pub device_code_lifetime: Duration,
    /// Approve device-code sign-ins without waiting for the admin endpoint.
    pub auto_approve: bool,
    /// The managed identity: its object id, and the App Service `X-IDENTITY-HEADER` secret.
    pub identity_object_id: String,
    pub identity_header: Secret,
    /// Answer the VM identity endpoint (IMDS) at its bare path to anyone who sends
    /// `Metadata: true`, as a VM does. Off: it answers only under `/identity/{secret}/`,
    /// the address printed as AZURE_POD_IDENTITY_AUTHORITY_HOST (the secret is
    /// `identity_header`), because any local process can send that header.
    pub open_imds: bool,
    /// Injected faults, and the seed their dice roll from.
    pub faults: Vec<faults::Fault>,
    pub fault_seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            subscription: "00000000-0000-0000-0000-0000000000a1".into(),
            resource_group: "azq-demo".into(),
            workspace: "azq-demo-workspace".into(),
            location: "westus".into(),
            tenant: "00000000-0000-0000-0000-0000000000e1".into(),
            storage_account: "azqdemostorage".into(),
            credentials: Credentials::generate(),
            job_delay: Duration::from_millis(100),
            max_running_jobs: 2,
            job_threads: 0,
            device_code_interval: Duration::from_secs(5),
            device_code_lifetime: Duration::from_secs(900),
            auto_approve: false,
            identity_object_id: "00000000-0000-0000-0000-0000000000c1".into(),
            identity_header: Secret::new(uuid::Uuid::new_v4().simple().to_string()),
            open_imds: false,
            faults: Vec::new(),
            fault_seed: 1,
        }
    }
}

/// Shared state behind every request.
pub struct Emulator {
    pub config: Config,
    /// The base URL of the data plane as clients see it (`http://127.0.0.1:PORT`, or
    /// `https://westus.quantum.azure.com` in proxy mode).
    pub base_url: String,
    /// The base URL of blob storage (`{base_url}/blob/{account}` path-style, or
    /// `https://{account}.blob.core.windows.net` in proxy mode).
    pub blob_base: String,
    pub store: Mutex<Store>,
    /// Device codes and refresh tokens in flight (in memory: a restart signs everyone out).
    grants: Mutex<identity::Grants>,
    faults: Mutex<faults::Faults>,
    log: Mutex<faults::RequestLog>,
    /// Where state is kept across restarts (`--data-dir`), if anywhere.
    data_dir: Option<std::path::PathBuf>,
    /// Serialises snapshot writes, so a later state never lands before an earlier one.
    writing: Mutex<()>,
    /// Turns to execute (`max_running_jobs`): a job holds one from Executing to its end.
    running: tokio::sync::Semaphore,
    /// What the emulator has done since it started, for tests (`GET /_emulator/stats`).
    stats: Stats,
}

/// Counts since start (not kept in the data dir).
#[derive(Default)]
struct Stats {
    /// Jobs a PUT created (not seeded ones).
    jobs_created: AtomicU64,
    /// `PUT jobs/{id}` requests the data plane handled (refused ones included, injected
    /// faults not: those never reach it).
    job_puts: AtomicU64,
    /// PUTs that found the same job already stored (a retry), answered with it.
    job_puts_repeated: AtomicU64,
    jobs_seeded: AtomicU64,
    sessions_created: AtomicU64,
    /// Requests answered (or dropped) by an injected fault.
    faults_injected: AtomicU64,
    /// `GET jobs/{id}` requests the data plane answered (found or not).
    job_gets: AtomicU64,
}

impl Stats {
    fn count(&self, counter: &AtomicU64) {
        self.add(counter, 1);
    }

    fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn to_json(&self) -> serde_json::Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "jobsCreated": get(&self.jobs_created),
            "jobPuts": get(&self.job_puts),
            "jobPutsRepeated": get(&self.job_puts_repeated),
            "jobsSeeded": get(&self.jobs_seeded),
            "sessionsCreated": get(&self.sessions_created),
            "faultsInjected": get(&self.faults_injected),
            "jobGets": get(&self.job_gets),
        })
    }
}

impl Emulator {
    /// An emulator reached directly at `base_url`, storage path-style under it.
    pub fn new(config: Config, base_url: String) -> Arc<Emulator> {
        let blob_base = format!("{base_url}/blob/{}", config.storage_account);
        Self::with_urls(config, base_url, blob_base)
    }

    /// An emulator standing in for the real Azure host names (proxy mode).
    pub fn as_azure(config: Config) -> Arc<Emulator> {
        let base = format!("https://{}.quantum.azure.com", config.location);
        let blob = format!("https://{}.blob.core.windows.net", config.storage_account);
        Self::with_urls(config, base, blob)
    }

    pub fn with_urls(config: Config, base_url: String, blob_base: String) -> Arc<Emulator> {
        let faults = faults::Faults::new(config.faults.clone(), config.fault_seed);
        let running = tokio::sync::Semaphore::new(config.max_running_jobs.max(1));
        Arc::new(Emulator {
            running,
            config,
            base_url,
            blob_base,
            store: Mutex::new(Store::default()),
            grants: Mutex::new(identity::Grants::default()),
            faults: Mutex::new(faults),
            log: Mutex::new(faults::RequestLog::default()),
            data_dir: None,
            writing: Mutex::new(()),
            stats: Stats::default(),
        })
    }

    /// Keeps state in `dir`: loads the snapshot there if one exists, restarts the jobs it
    /// left unfinished, and from now on writes every change before acknowledging it.
    pub fn persist_in(self: Arc<Self>, dir: &std::path::Path) -> Result<Arc<Self>, String> {
        let mut em =
            Arc::try_unwrap(self).map_err(|_| "the emulator is already shared".to_owned())?;
        files::private_dir(dir, "the data dir")?;
        let path = dir.join("state.json");
        match std::fs::read(&path) {
            Ok(bytes) => {
                let value = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("{} is damaged: {e}", path.display()))?;
                em.store = Mutex::new(
                    Store::from_json(&value).map_err(|e| format!("{}: {e}", path.display()))?,
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
        em.config.credentials =
            auth::keep_credentials(&dir.join("credentials.json"), &em.config.credentials)?;
        em.data_dir = Some(dir.to_owned());
        let em = Arc::new(em);
        let unfinished: Vec<String> = {
            let store = em.store.locked();
            store
                .jobs
                .values()
                .filter(|j| {
                    matches!(
                        j.get("status").and_then(serde_json::Value::as_str),
                        Some("Waiting" | "Executing")
                    )
                })
                .filter_map(|j| {
                    j.get("id")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        };
        for id in unfinished {
            runner::resume_after_restart(em.clone(), id);
        }
        Ok(em)
    }

    /// Writes the current state to the data dir (atomically: aside, synced, renamed).
    /// A no-op without a data dir.
    pub fn persist(&self) -> std::io::Result<()> {
        let Some(dir) = &self.data_dir else {
            return Ok(());
        };
        let _order = self.writing.locked();
        let bytes = serde_json::to_vec(&self.store.locked().to_json())?;
        Self::write_snapshot(dir, &bytes)
    }

    /// With a data dir, the turn to change state: held from a request's change until
    /// [`Emulator::persist_held`] has written it, so no reader is shown it unwritten.
    pub fn write_turn(&self) -> Option<MutexGuard<'_, ()>> {
        self.data_dir.as_ref().map(|_| self.writing.locked())
    }

    /// Writes the current state, for the holder of the turn to write (the turn ends here).
    pub fn persist_held(&self, turn: MutexGuard<'_, ()>) -> std::io::Result<()> {
        let Some(dir) = &self.data_dir else {
            return Ok(());
        };
        let bytes = serde_json::to_vec(&self.store.locked().to_json())?;
        let written = Self::write_snapshot(dir, &bytes);
        drop(turn);
        written
    }

    /// With a data dir, waits out a write in flight: what a reader was just shown is then
    /// on disk.
    pub fn settled(&self) {
        if self.data_dir.is_some() {
            drop(self.writing.locked());
        }
    }

    /// Makes a change the emulator makes on its own (a job starting or ending) and writes
    /// it to the data dir before anyone can see it: the store stays locked until the
    /// snapshot is in place, so a state a client read is never lost to a kill. `change`
    /// answers `None` when it changed nothing (nothing is written then).
    pub fn commit<R>(
        &self,
        change: impl FnOnce(&mut Store) -> Option<R>,
    ) -> (Option<R>, std::io::Result<()>) {
        let _order = self.data_dir.as_ref().map(|_| self.writing.locked());
        let mut store = self.store.locked();
        let out = change(&mut store);
        let (Some(dir), Some(_)) = (&self.data_dir, &out) else {
            return (out, Ok(()));
        };
        let written = serde_json::to_vec(&store.to_json())
            .map_err(std::io::Error::from)
            .and_then(|bytes| Self::write_snapshot(dir, &bytes));
        (out, written)
    }

    fn write_snapshot(dir: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
        // The snapshot holds job inputs and results: readable by the user only.
        files::write_private(&dir.join("state.json"), bytes)?;
        std::fs::File::open(dir)?.sync_all()
    }

    /// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Quantum/workspaces/{ws}`
    pub fn workspace_path(&self) -> String {
        let c = &self.config;
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Quantum/workspaces/{}",
            c.subscription, c.resource_group, c.workspace
        )
    }

    /// A connection string for the workspace with its API key (a secret: print it only
    /// where the user asked for it).
    pub fn connection_string(&self) -> String {
        format!(
            "SubscriptionId={};ResourceGroupName={};WorkspaceName={};ApiKey={};QuantumEndpoint={}/;",
            self.config.subscription,
            self.config.resource_group,
            self.config.workspace,
            self.config.credentials.api_key.expose(),
            self.base_url
        )
    }
}

/// A lock that a panic elsewhere does not disable: a poisoned mutex is taken as it is.
/// Every section under these locks leaves the state whole between statements, so a panic
/// (a bug) costs its own request, never every later one.
pub(crate) trait Locked<T> {
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T> Locked<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The emulator as a router, for serving or for calling in-process in tests.
pub fn app(emulator: Arc<Emulator>) -> Router {
    Router::new().fallback(guarded).with_state(emulator)
}

/// Every request, with a panic in its handler answered as a 500 instead of a dropped
/// connection (the emulator goes on serving the next one).
async fn guarded(state: State<Arc<Emulator>>, request: Request) -> http::Reply {
    std::panic::AssertUnwindSafe(service::handle(state, request))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            http::error(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "the emulator failed on this request (a bug: please report it); it goes on serving others",
            )
        })
}

/// Serves plain http on a bound listener until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    emulator: Arc<Emulator>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    net::run(listener, app(emulator), None, shutdown).await
}

/// Serves https (certificates from `authority`) and the proxy role on one listener.
pub async fn serve_tls(
    listener: TcpListener,
    emulator: Arc<Emulator>,
    authority: Arc<tls::Authority>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    net::run(listener, app(emulator), Some(authority), shutdown).await
}
