//! What a session remembers of Azure: the connection (workspace, credential, the target list
//! and its age), one HTTP client kept warm across cells, and the embedded emulator once started.

use std::time::{Duration, Instant};

use azq_client::{Env, Http, ProviderStatus, Secret, Workspace};

use super::errors::JobError;
use super::programs::Programs;
use crate::MagicError;
use crate::spec::ValueKind;

/// The target list is fetched again when older than this (`AZQ_TARGETS_MAX_AGE` seconds).
pub const TARGETS_MAX_AGE: Duration = Duration::from_secs(300);

/// How old the target list may get: `AZQ_TARGETS_MAX_AGE` (whole seconds, 0 to 86,400) from
/// the session's environment, else five minutes.
pub fn targets_max_age(value: Option<&str>) -> Result<Duration, MagicError> {
    match value.map(str::trim) {
        None => Ok(TARGETS_MAX_AGE),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|s| *s <= 86_400)
            .map(Duration::from_secs)
            .ok_or_else(|| MagicError::InvalidArgument {
                magic: "azure.connect".into(),
                message: format!(
                    "AZQ_TARGETS_MAX_AGE is `{text}`; give a whole number of seconds from 0 to \
                     86400 (0 fetches the targets on every bare `%azure.connect`), or unset it"
                ),
                span: None,
            }),
    }
}

#[derive(Default)]
pub struct AzureSession {
    pub(crate) connection: Option<Connection>,
    pub(crate) embedded: Option<Embedded>,
    http: Option<(String, Http)>,
    /// The active target (`%azure.target`), kept across reconnections to the same workspace.
    pub(crate) target: Option<String>,
    /// Programs stored by `%%qasm` and `%qasm file=`.
    pub(crate) programs: Programs,
    /// Jobs this session submitted, oldest first (the last is the default of `%azure.status`).
    pub(crate) jobs: Vec<String>,
    /// The Azure Quantum session jobs are submitted into (`%azure.session open`), and the
    /// ones opened before it in this workspace.
    pub(crate) quantum: super::sessions::Opened,
    /// The background poller that keeps watched jobs' rows up to date.
    pub(crate) watcher: super::watcher::Watcher,
}

/// At most this many job ids are remembered for completion and defaults.
const MAX_REMEMBERED_JOBS: usize = 1000;

impl std::fmt::Debug for AzureSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureSession")
            .field("connected", &self.connection.is_some())
            .field("embedded", &self.embedded.as_ref().map(|e| &e.url))
            .finish()
    }
}

pub(crate) struct Connection {
    pub workspace: Workspace,
    pub providers: Vec<ProviderStatus>,
    pub fetched: Instant,
    /// The storage connection string, for workspaces without linked storage.
    pub storage: Option<Secret>,
    /// The embedded emulator's URL, when connected to it.
    pub emulator: Option<String>,
}

impl Connection {
    /// The provider that offers `target` (ids compare without case), with the target's id
    /// as the workspace spells it.
    pub fn find_target(&self, target: &str) -> Option<(&str, &str)> {
        self.providers.iter().find_map(|p| {
            p.targets
                .iter()
                .find(|t| t.id.eq_ignore_ascii_case(target))
                .map(|t| (p.id.as_str(), t.id.as_str()))
        })
    }

    /// Every target id of the workspace.
    pub fn target_ids(&self) -> impl Iterator<Item = &str> {
        self.providers
            .iter()
            .flat_map(|p| p.targets.iter().map(|t| t.id.as_str()))
    }
}

/// The in-process emulator `%azure.connect emulator` starts; it stops with the kernel.
pub(crate) struct Embedded {
    pub url: String,
    pub location: String,
    pub connection_string: Secret,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl AzureSession {
    /// The connection, or `NotConnected`.
    pub(crate) fn connected(&self) -> Result<&Connection, MagicError> {
        self.connection.as_ref().ok_or(MagicError::NotConnected)
    }

    /// Remembers a job this session submitted.
    pub(crate) fn remember_job(&mut self, id: &str) {
        self.jobs.retain(|j| j != id);
        if self.jobs.len() >= MAX_REMEMBERED_JOBS {
            self.jobs.remove(0);
        }
        self.jobs.push(id.to_owned());
    }

    /// The job a magic without an id is about: the last one this session submitted.
    pub(crate) fn last_job(&self) -> Result<&str, JobError> {
        self.jobs.last().map(String::as_str).ok_or(JobError::NoJob)
    }

    /// The session's HTTP client, made again only when the TLS or proxy settings changed.
    pub(crate) fn http(&mut self, env: &Env) -> Result<Http, MagicError> {
        let key: String = [
            "SSL_CERT_FILE",
            "HTTPS_PROXY",
            "https_proxy",
            "NO_PROXY",
            "no_proxy",
        ]
        .iter()
        .map(|n| env.get(n).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
        if let Some((k, http)) = &self.http
            && *k == key
        {
            return Ok(http.clone());
        }
        let http = Http::new(env).map_err(super::client_error)?;
        self.http = Some((key, http.clone()));
        Ok(http)
    }

    /// Starts the embedded emulator on a free loopback port (once per session).
    pub(crate) async fn embedded(&mut self) -> Result<&Embedded, MagicError> {
        if self.embedded.is_none() {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| MagicError::Azure {
                    name: "EmulatorNotStarted",
                    message: format!("the embedded emulator could not listen on 127.0.0.1: {e}"),
                    span: None,
                })?;
            let addr = listener.local_addr().map_err(|e| MagicError::Internal {
                message: e.to_string(),
            })?;
            let url = format!("http://{addr}");
            let config = azq_emulator::Config {
                auto_approve: true,
                job_delay: Duration::from_millis(200),
                device_code_interval: Duration::from_secs(1),
                ..azq_emulator::Config::default()
            };
            let location = config.location.clone();
            let emulator = azq_emulator::Emulator::new(config, url.clone());
            let connection_string = Secret::new(emulator.connection_string());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(azq_emulator::serve(listener, emulator, async move {
                let _ = stopped.await;
            }));
            self.embedded = Some(Embedded {
                url,
                location,
                connection_string,
                _stop: stop,
            });
        }
        Ok(self.embedded.as_ref().expect("started above"))
    }
}

/// Completion candidates from the session for a value of `kind`: the connected workspace's
/// target ids for `TargetId`, stored programs for `ProgramName`, this session's jobs for
/// `JobId`; nothing for other kinds.
pub(crate) fn candidates(session: &AzureSession, kind: ValueKind) -> Vec<String> {
    match kind {
        ValueKind::TargetId => session
            .connection
            .iter()
            .flat_map(|c| &c.providers)
            .flat_map(|p| &p.targets)
            .map(|t| t.id.clone())
            .collect(),
        ValueKind::ProgramName => session.programs.names().map(str::to_owned).collect(),
        // Newest first: the job just submitted is the one most likely wanted.
        ValueKind::JobId => session.jobs.iter().rev().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Each of the connected workspace's target ids with its availability, for completion.
pub(crate) fn availability(session: &AzureSession) -> Vec<(String, String)> {
    session
        .connection
        .iter()
        .flat_map(|c| &c.providers)
        .flat_map(|p| &p.targets)
        .map(|t| (t.id.clone(), t.current_availability.clone()))
        .collect()
}
