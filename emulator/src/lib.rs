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
//! Not emulated (yet): device-code and managed-identity sign-in, persistence
//! (`--data-dir`), fault injection, billing.

// Handlers return `Result<_, Reply>` so a refusal is the response itself; a response is
// built once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod auth;
mod blob;
pub mod catalog;
mod http;
mod listing;
mod net;
mod runner;
mod service;
mod store;
pub mod tls;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

pub use auth::{Credentials, Secret};
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
        Arc::new(Emulator {
            config,
            base_url,
            blob_base,
            store: Mutex::new(Store::default()),
        })
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

/// The emulator as a router, for serving or for calling in-process in tests.
pub fn app(emulator: Arc<Emulator>) -> Router {
    Router::new().fallback(service::handle).with_state(emulator)
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
