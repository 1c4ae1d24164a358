//! Answers to every request but execution, shared by the shell and control loops; each
//! answer is wrapped in busy/idle on IOPub.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use azq_magics::assist;
use jupyter_protocol::{
    CodeMirrorMode, CommClose, CommInfoReply, ExecutionState, HelpLink, HistoryReply, InspectReply,
    InterruptReply, JupyterMessageContent, KernelInfoReply, LanguageInfo, Media, ReplyStatus,
    ShutdownReply, UnknownMessage,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::execute::Job;
use crate::history::History;
use crate::iopub::Iopub;
use crate::router::Replies;
use crate::to_proto::{byte_offset, complete_reply, is_complete_reply, media};
use crate::wire::{PROTOCOL_VERSION, Request, Signer};

/// What the request loops share.
#[derive(Clone)]
pub struct Shared {
    pub signer: Signer,
    pub iopub: Iopub,
    pub history: Arc<Mutex<History>>,
    pub jobs: mpsc::UnboundedSender<Job>,
    /// The running cell's interrupt token.
    pub current: Arc<Mutex<CancellationToken>>,
    /// Cancelled to stop the kernel; the bool in `restart` says whether a restart was asked.
    pub shutdown: CancellationToken,
    /// Completion with the session's values (target ids, programs, this session's jobs).
    pub completer: azq_magics::assist::Completer,
    /// The Rust context: completion and inspection of Rust code come from it.
    pub rust: azq_magics::rust::RustCells,
}

/// The longest a completion or inspection of Rust code waits for the companion (its first
/// start takes a few seconds); after it the answer is empty.
const RUST_ASSIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

pub fn kernel_info() -> KernelInfoReply {
    KernelInfoReply {
        status: ReplyStatus::Ok,
        protocol_version: PROTOCOL_VERSION.to_owned(),
        implementation: "azq".to_owned(),
        implementation_version: env!("CARGO_PKG_VERSION").to_owned(),
        language_info: LanguageInfo {
            name: "rust".to_owned(),
            version: env!("CARGO_PKG_RUST_VERSION").to_owned(),
            mimetype: Some("text/rust".to_owned()),
            file_extension: Some(".rs".to_owned()),
            pygments_lexer: Some("rust".to_owned()),
            codemirror_mode: Some(CodeMirrorMode::Simple("rust".to_owned())),
            nbconvert_exporter: None,
        },
        banner: format!(
            "azq {}: Azure Quantum in Jupyter. `%lsmagic` lists the magics; add `?` to one for its help.",
            env!("CARGO_PKG_VERSION")
        ),
        help_links: vec![HelpLink {
            text: "Azure Quantum documentation".to_owned(),
            url: "https://learn.microsoft.com/azure/quantum/".to_owned(),
        }],
        debugger: false,
        error: None,
    }
}

/// Which loop a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Shell,
    Control,
}

/// Handles one request. Execute requests go to the execution task, which publishes their
/// busy/idle itself; everything else is answered here.
pub fn dispatch(shared: &Shared, replies: &Replies, request: Request, channel: Channel) {
    let parent = request.parent;
    let content = match request.content {
        Ok(JupyterMessageContent::ExecuteRequest(req)) if channel == Channel::Shell => {
            // Rust code anywhere starts the companion now, so its start-up overlaps whatever
            // runs before the code's turn comes.
            if azq_magics::rust::has_code(&req.code) {
                shared.rust.warm_up();
            }
            let _ = shared.jobs.send(Job {
                parent,
                request: req,
                received: tokio::time::Instant::now(),
            });
            return;
        }
        Ok(JupyterMessageContent::UnknownMessage(m)) => {
            tracing::warn!("ignoring a message of unknown type {:?}", m.msg_type);
            return;
        }
        Err(problem) if !parent.header.msg_type.ends_with("_request") => {
            // Only requests have replies to carry an error; anything else is dropped.
            tracing::warn!(
                "dropping {:?} with content that does not parse: {problem}",
                parent.header.msg_type
            );
            return;
        }
        other => other,
    };
    let iopub = &shared.iopub;
    iopub.status(Some(&parent), ExecutionState::Busy);
    let reply = |content: JupyterMessageContent| {
        replies.send(shared.signer.encode(&parent.ids, Some(&parent), &content));
    };
    match content {
        Err(problem) => {
            tracing::warn!(
                "{:?} with content that does not parse: {problem}",
                parent.header.msg_type
            );
            let msg_type = parent.header.msg_type.replace("_request", "_reply");
            reply(JupyterMessageContent::UnknownMessage(UnknownMessage {
                msg_type,
                content: serde_json::json!({
                    "status": "error",
                    "ename": "BadRequest",
                    "evalue": problem,
                    "traceback": [],
                }),
            }));
        }
        Ok(JupyterMessageContent::KernelInfoRequest(_)) => reply(kernel_info().into()),
        Ok(JupyterMessageContent::CompleteRequest(req)) => {
            let at = byte_offset(&req.code, req.cursor_pos);
            let completion = shared.completer.complete(&req.code, at);
            if completion.matches.is_empty() && azq_magics::rust::code_at(&req.code, at).is_some() {
                // Rust code: rust-analyzer answers, in its own time, off the shell loop.
                let rust = shared.rust.clone();
                reply_later(shared, replies, parent, async move {
                    let found =
                        tokio::time::timeout(RUST_ASSIST_TIMEOUT, rust.complete(&req.code, at));
                    let completion = found.await.ok().flatten().unwrap_or(completion);
                    complete_reply(&req.code, completion).into()
                });
                return;
            }
            reply(complete_reply(&req.code, completion).into());
        }
        Ok(JupyterMessageContent::InspectRequest(req)) => {
            let at = byte_offset(&req.code, req.cursor_pos);
            let found = assist::inspect(&req.code, at);
            if found.is_none() && azq_magics::rust::code_at(&req.code, at).is_some() {
                let rust = shared.rust.clone();
                reply_later(shared, replies, parent, async move {
                    let found =
                        tokio::time::timeout(RUST_ASSIST_TIMEOUT, rust.inspect(&req.code, at));
                    inspect_reply(found.await.ok().flatten().as_ref()).into()
                });
                return;
            }
            reply(inspect_reply(found.as_ref()).into());
        }
        Ok(JupyterMessageContent::IsCompleteRequest(req)) => {
            if azq_magics::rust::has_code(&req.code) {
                shared.rust.warm_up();
            }
            reply(is_complete_reply(assist::is_complete(&req.code)).into());
        }
        Ok(JupyterMessageContent::HistoryRequest(req)) => {
            let history = shared.history.lock().expect("history lock").answer(&req);
            reply(HistoryReply::new(history).into());
        }
        Ok(JupyterMessageContent::CommInfoRequest(_)) => reply(
            CommInfoReply {
                status: ReplyStatus::Ok,
                comms: HashMap::new(),
                error: None,
            }
            .into(),
        ),
        Ok(JupyterMessageContent::CommOpen(open)) => {
            // No comm targets exist yet: close it at once, as ipykernel does for unknown targets.
            tracing::info!("closing comm for unknown target {:?}", open.target_name);
            iopub.send(
                Some(&parent),
                CommClose {
                    comm_id: open.comm_id,
                    data: Default::default(),
                },
            );
        }
        Ok(JupyterMessageContent::InterruptRequest(_)) => {
            shared.current.lock().expect("interrupt slot").cancel();
            reply(InterruptReply::new().into());
        }
        Ok(JupyterMessageContent::ShutdownRequest(req)) => {
            let content: JupyterMessageContent = ShutdownReply {
                restart: req.restart,
                status: ReplyStatus::Ok,
                error: None,
            }
            .into();
            reply(content.clone());
            // Protocol 5.4 also broadcasts the reply, so every front end learns of it.
            iopub.send(Some(&parent), content);
            shared.current.lock().expect("interrupt slot").cancel();
            shared.shutdown.cancel();
        }
        Ok(other) => {
            tracing::warn!("ignoring {} on {channel:?}", other.message_type());
        }
    }
    iopub.status(Some(&parent), ExecutionState::Idle);
}

/// Answers a request from a task of its own (rust-analyzer takes its time), then closes its
/// busy with idle, so the shell loop goes on meanwhile.
fn reply_later(
    shared: &Shared,
    replies: &Replies,
    parent: std::sync::Arc<crate::wire::Parent>,
    answer: impl std::future::Future<Output = JupyterMessageContent> + Send + 'static,
) {
    let (shared, replies) = (shared.clone(), replies.clone());
    tokio::spawn(async move {
        let content = answer.await;
        replies.send(shared.signer.encode(&parent.ids, Some(&parent), &content));
        shared.iopub.status(Some(&parent), ExecutionState::Idle);
    });
}

fn inspect_reply(found: Option<&azq_magics::Bundle>) -> InspectReply {
    InspectReply {
        found: found.is_some(),
        data: found.map_or_else(|| Media::new(Vec::new()), media),
        ..InspectReply::default()
    }
}

/// Drops messages that cannot be trusted and logs why; returns the good ones.
pub fn decode(signer: &Signer, message: Vec<bytes::Bytes>, channel: Channel) -> Option<Request> {
    match signer.decode(message) {
        Ok(request) => Some(request),
        Err(why) => {
            tracing::warn!("{channel:?} message dropped: {why}");
            None
        }
    }
}
