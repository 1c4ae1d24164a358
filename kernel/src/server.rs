//! Binds the five channels from a connection file, starts their tasks, and runs until a
//! shutdown request or SIGTERM. Heartbeat and control run on tasks of their own, so a long
//! cell never blocks liveness, interrupts or shutdown. Every channel bounds what a peer may
//! send (`AZQ_MAX_MESSAGE_BYTES`, 64 MiB by default) before anything is allocated.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use azq_magics::Engine;
use azq_zmtp::{Endpoint, Limits, Router, XPub};
use jupyter_protocol::{ConnectionInfo, ExecutionState, Transport};
use tokio_util::sync::CancellationToken;

use crate::execute::Executor;
use crate::history::History;
use crate::requests::{Channel, Shared, decode, dispatch};
use crate::router::replies;
use crate::wire::Signer;
use crate::{iopub, stdin};

/// The environment variable that sets the largest message a peer may send.
pub const MAX_MESSAGE_ENV: &str = "AZQ_MAX_MESSAGE_BYTES";
const MIN_MESSAGE: usize = 4096;
const MAX_MESSAGE: usize = 1 << 40;

/// Why the kernel refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("signature scheme {0:?} is not supported; use hmac-sha256")]
    UnsupportedScheme(String),
    #[error(
        "the connection file's key is empty, which turns off message signing, and its ip {0:?} \
         is not loopback: anyone who can reach these ports could run code. Give the connection \
         file a key (jupyter_client writes one), or bind to 127.0.0.1 or use ipc"
    )]
    UnsignedOffLoopback(String),
    #[error(
        "{MAX_MESSAGE_ENV} must be a whole number of bytes from {MIN_MESSAGE} to {MAX_MESSAGE} \
         (the default is {default}), not {0:?}",
        default = azq_zmtp::DEFAULT_MAX_MESSAGE
    )]
    BadMessageLimit(String),
    #[error("cannot bind the {channel} channel: {source}")]
    Bind {
        channel: &'static str,
        source: azq_zmtp::Error,
    },
}

/// The message limit from `AZQ_MAX_MESSAGE_BYTES` (unset: 64 MiB).
pub fn message_limit(value: Option<&std::ffi::OsStr>) -> Result<usize, StartError> {
    let Some(value) = value else {
        return Ok(azq_zmtp::DEFAULT_MAX_MESSAGE);
    };
    let text = value.to_string_lossy();
    text.parse::<usize>()
        .ok()
        .filter(|n| (MIN_MESSAGE..=MAX_MESSAGE).contains(n))
        .ok_or_else(|| StartError::BadMessageLimit(text.into_owned()))
}

/// Whether every channel is reachable only from this machine: ipc, or a loopback address.
fn local_only(info: &ConnectionInfo) -> bool {
    match info.transport {
        Transport::IPC => true,
        Transport::TCP => {
            let ip = info.ip.trim_start_matches('[').trim_end_matches(']');
            ip.eq_ignore_ascii_case("localhost")
                || ip
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_loopback())
        }
    }
}

/// Checks the connection file's signing settings; `Ok(true)` means unsigned on loopback.
pub fn check_signing(info: &ConnectionInfo) -> Result<bool, StartError> {
    if info.key.is_empty() {
        if !local_only(info) {
            return Err(StartError::UnsignedOffLoopback(info.ip.clone()));
        }
        return Ok(true);
    }
    if info.signature_scheme != "hmac-sha256" {
        return Err(StartError::UnsupportedScheme(info.signature_scheme.clone()));
    }
    Ok(false)
}

/// Runs the kernel until it is asked to stop.
pub async fn run(info: ConnectionInfo) -> anyhow::Result<()> {
    let unsigned = check_signing(&info)?;
    let limits = Limits {
        max_message: message_limit(std::env::var_os(MAX_MESSAGE_ENV).as_deref())?,
        ..Limits::default()
    };
    if unsigned {
        tracing::warn!(
            "the connection file's key is empty: messages are unsigned and not checked \
             (allowed only because every channel is on loopback or ipc)"
        );
    }
    let signer = Signer::new(&info.key, uuid::Uuid::new_v4().to_string());

    let iopub_socket = XPub::bind(&endpoint(&info.iopub_url(), "iopub")?, &limits)
        .await
        .map_err(|source| bind_error("iopub", source))?;
    let mut shell = Router::bind(&endpoint(&info.shell_url(), "shell")?, &limits)
        .await
        .map_err(|source| bind_error("shell", source))?;
    // Control has a runtime (one thread) of its own, like the heartbeat: its socket is read and
    // its requests answered there, so a cell's work on the main workers never delays them.
    let control_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("azq-control")
        .enable_all()
        .build()
        .map(|runtime| ClosesInBackground(Some(runtime)))
        .map_err(|source| {
            bind_error(
                "control",
                azq_zmtp::Error::Bind {
                    endpoint: info.control_url(),
                    source,
                },
            )
        })?;
    let on_control = control_runtime.handle();
    let control_endpoint = endpoint(&info.control_url(), "control")?;
    let control_limits = limits.clone();
    let mut control = on_control
        .spawn(async move { Router::bind(&control_endpoint, &control_limits).await })
        .await
        .expect("the control runtime runs until the kernel exits")
        .map_err(|source| bind_error("control", source))?;
    let stdin_socket = Router::bind(&endpoint(&info.stdin_url(), "stdin")?, &limits)
        .await
        .map_err(|source| bind_error("stdin", source))?;
    heartbeat(endpoint(&info.hb_url(), "heartbeat")?, limits.clone())
        .await
        .map_err(|source| bind_error("heartbeat", source))?;

    let iopub = iopub::spawn(iopub_socket, signer.clone());
    iopub.status(None, ExecutionState::Starting);
    let stdin = stdin::spawn(stdin_socket, signer.clone());

    let shell_replies = replies(&shell, "shell");
    let control_replies = replies(&control, "control");

    let history = Arc::new(Mutex::new(History::default()));
    let current = Arc::new(Mutex::new(CancellationToken::new()));
    let engine = Engine::new();
    // Completion reads the session's values (targets, programs, jobs) as of the last cell, so
    // it answers while a cell runs.
    let completer = engine.completer();
    let rust = engine.rust();
    let jobs = Executor {
        engine,
        history: history.clone(),
        iopub: iopub.clone(),
        replies: shell_replies.clone(),
        signer: signer.clone(),
        stdin,
        current: current.clone(),
    }
    .spawn();
    let shared = Shared {
        signer,
        iopub: iopub.clone(),
        history,
        jobs,
        current,
        completer,
        rust,
        shutdown: CancellationToken::new(),
    };

    let s = shared.clone();
    tokio::spawn(async move {
        while let Some(message) = shell.recv().await {
            if let Some(request) = decode(&s.signer, message, Channel::Shell) {
                dispatch(&s, &shell_replies, request, Channel::Shell);
            }
        }
    });
    let s = shared.clone();
    on_control.spawn(async move {
        while let Some(message) = control.recv().await {
            if let Some(request) = decode(&s.signer, message, Channel::Control) {
                dispatch(&s, &control_replies, request, Channel::Control);
            }
        }
    });
    tokio::spawn(signals(shared.clone()));

    shared.shutdown.cancelled().await;
    // Let the last replies and IOPub messages (shutdown_reply, idle) go out.
    let _ = tokio::time::timeout(Duration::from_secs(1), iopub.flush()).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(control_runtime);
    Ok(())
}

/// A runtime owned by async code: dropping a runtime there blocks and panics, so this one is
/// shut down in the background when dropped, on every path out of `run` (errors included).
struct ClosesInBackground(Option<tokio::runtime::Runtime>);

impl ClosesInBackground {
    fn handle(&self) -> tokio::runtime::Handle {
        self.0
            .as_ref()
            .expect("present until dropped")
            .handle()
            .clone()
    }
}

impl Drop for ClosesInBackground {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Serves the heartbeat from a thread of its own, so that a cell's work (decoding a large
/// request, encoding a large display) on the kernel's worker threads never delays its echo.
async fn heartbeat(endpoint: Endpoint, limits: Limits) -> Result<(), azq_zmtp::Error> {
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("azq-heartbeat".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(source) => {
                    let _ = bound_tx.send(Err(azq_zmtp::Error::Bind {
                        endpoint: endpoint.to_string(),
                        source,
                    }));
                    return;
                }
            };
            runtime.block_on(async move {
                let bound = azq_zmtp::echo(&endpoint, &limits).await;
                let ok = bound.is_ok();
                let _ = bound_tx.send(bound);
                if ok {
                    std::future::pending::<()>().await;
                }
            });
        });
    if let Err(source) = spawned {
        return Err(azq_zmtp::Error::Bind {
            endpoint: "the heartbeat thread".to_owned(),
            source,
        });
    }
    bound_rx.await.unwrap_or_else(|_| {
        Err(azq_zmtp::Error::Bind {
            endpoint: "the heartbeat thread".to_owned(),
            source: std::io::Error::other("the heartbeat thread stopped"),
        })
    })
}

fn bind_error(channel: &'static str, source: azq_zmtp::Error) -> StartError {
    StartError::Bind { channel, source }
}

fn endpoint(url: &str, channel: &'static str) -> Result<Endpoint, StartError> {
    Endpoint::parse(url).map_err(|source| bind_error(channel, source))
}

/// SIGINT interrupts the running cell (for front ends that signal); SIGTERM stops the kernel.
async fn signals(shared: Shared) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    loop {
        tokio::select! {
            _ = int.recv() => shared.current.lock().expect("interrupt slot").cancel(),
            _ = term.recv() => {
                shared.current.lock().expect("interrupt slot").cancel();
                shared.shutdown.cancel();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(ip: &str, transport: &str, key: &str, scheme: &str) -> ConnectionInfo {
        serde_json::from_value(serde_json::json!({
            "ip": ip, "transport": transport, "key": key, "signature_scheme": scheme,
            "shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5,
        }))
        .unwrap()
    }

    #[test]
    fn an_empty_key_is_allowed_only_on_loopback_or_ipc() {
        let table = [
            ("127.0.0.1", "tcp", "k", "hmac-sha256", Some(false)),
            ("0.0.0.0", "tcp", "k", "hmac-sha256", Some(false)),
            ("127.0.0.1", "tcp", "", "hmac-sha256", Some(true)),
            ("127.5.6.7", "tcp", "", "", Some(true)),
            ("::1", "tcp", "", "hmac-sha256", Some(true)),
            ("[::1]", "tcp", "", "hmac-sha256", Some(true)),
            ("localhost", "tcp", "", "hmac-sha256", Some(true)),
            ("/tmp/kernel", "ipc", "", "hmac-sha256", Some(true)),
            ("0.0.0.0", "tcp", "", "hmac-sha256", None),
            ("*", "tcp", "", "hmac-sha256", None),
            ("::", "tcp", "", "hmac-sha256", None),
            ("192.168.1.5", "tcp", "", "hmac-sha256", None),
            ("10.0.0.1", "tcp", "", "", None),
            ("my-host", "tcp", "", "hmac-sha256", None),
            ("127.0.0.1", "tcp", "k", "hmac-md5", None),
        ];
        for (ip, transport, key, scheme, want) in table {
            let got = check_signing(&info(ip, transport, key, scheme));
            assert_eq!(
                got.as_ref().ok().copied(),
                want,
                "{ip} {transport} {key:?}: {got:?}"
            );
        }
        let e = check_signing(&info("0.0.0.0", "tcp", "", "hmac-sha256")).unwrap_err();
        assert!(matches!(e, StartError::UnsignedOffLoopback(_)));
        assert!(e.to_string().contains("\"0.0.0.0\" is not loopback"), "{e}");
    }

    #[test]
    fn the_message_limit_is_validated() {
        use std::ffi::OsStr;
        assert_eq!(message_limit(None).unwrap(), 64 << 20);
        assert_eq!(message_limit(Some(OsStr::new("4096"))).unwrap(), 4096);
        assert_eq!(
            message_limit(Some(OsStr::new("1099511627776"))).unwrap(),
            1 << 40
        );
        for bad in [
            "",
            "abc",
            "0",
            "4095",
            "-5",
            "1k",
            " 5000",
            "1099511627777",
            "99999999999999999999999",
        ] {
            let e = message_limit(Some(OsStr::new(bad))).unwrap_err();
            assert!(matches!(e, StartError::BadMessageLimit(_)), "{bad}");
            assert!(e.to_string().contains(MAX_MESSAGE_ENV), "{e}");
        }
    }
}
