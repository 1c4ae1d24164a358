//! Binds the five channels from a connection file, starts their tasks, and runs until a
//! shutdown request or SIGTERM. Heartbeat and control run on tasks of their own, so a long
//! cell never blocks liveness, interrupts or shutdown.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use azq_magics::Engine;
use jupyter_protocol::{ConnectionInfo, ExecutionState};
use tokio_util::sync::CancellationToken;
use zeromq::{RepSocket, RouterSocket, Socket, SocketRecv, SocketSend, XPubSocket};

use crate::execute::Executor;
use crate::history::History;
use crate::requests::{Channel, Shared, decode, dispatch};
use crate::router::spawn_writer;
use crate::wire::Signer;
use crate::{iopub, stdin};

/// Runs the kernel until it is asked to stop.
pub async fn run(info: ConnectionInfo) -> anyhow::Result<()> {
    if info.signature_scheme != "hmac-sha256" && !info.key.is_empty() {
        anyhow::bail!(
            "signature scheme {:?} is not supported; use hmac-sha256",
            info.signature_scheme
        );
    }
    let signer = Signer::new(&info.key, uuid::Uuid::new_v4().to_string());

    let mut iopub_socket = XPubSocket::new();
    bind(&mut iopub_socket, &info.iopub_url(), "iopub").await?;
    let mut shell = RouterSocket::new();
    bind(&mut shell, &info.shell_url(), "shell").await?;
    let mut control = RouterSocket::new();
    bind(&mut control, &info.control_url(), "control").await?;
    let mut stdin_socket = RouterSocket::new();
    bind(&mut stdin_socket, &info.stdin_url(), "stdin").await?;
    let mut heartbeat = RepSocket::new();
    bind(&mut heartbeat, &info.hb_url(), "heartbeat").await?;

    let iopub = iopub::spawn(iopub_socket, signer.clone());
    iopub.status(None, ExecutionState::Starting);
    let stdin = stdin::spawn(stdin_socket, signer.clone());

    tokio::spawn(async move {
        while let Ok(ping) = heartbeat.recv().await {
            if heartbeat.send(ping).await.is_err() {
                break;
            }
        }
    });

    let (shell_out, mut shell_in) = shell.split();
    let shell_replies = spawn_writer(shell_out, "shell");
    let (control_out, mut control_in) = control.split();
    let control_replies = spawn_writer(control_out, "control");

    let history = Arc::new(Mutex::new(History::default()));
    let current = Arc::new(Mutex::new(CancellationToken::new()));
    let jobs = Executor {
        engine: Engine::new(),
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
        shutdown: CancellationToken::new(),
    };

    let s = shared.clone();
    tokio::spawn(async move {
        while let Ok(message) = shell_in.recv().await {
            if let Some(request) = decode(&s.signer, message, Channel::Shell) {
                dispatch(&s, &shell_replies, request, Channel::Shell);
            }
        }
    });
    let s = shared.clone();
    tokio::spawn(async move {
        while let Ok(message) = control_in.recv().await {
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
    Ok(())
}

async fn bind<S: Socket>(socket: &mut S, url: &str, name: &str) -> anyhow::Result<()> {
    socket
        .bind(url)
        .await
        .with_context(|| format!("cannot bind the {name} channel to {url}"))?;
    Ok(())
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
