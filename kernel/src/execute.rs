//! The execution task: the only owner of the engine. It runs execute requests one at a
//! time in arrival order, numbers them, records history, and aborts the requests queued
//! behind a failed one when the front end asked for `stop_on_error`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use azq_magics::{CellOptions, Engine};
use jupyter_protocol::{
    ExecuteInput, ExecuteReply, ExecuteRequest, ExecuteResult, ExecutionCount, ExecutionState,
    ExpressionResult, JupyterMessageContent, Payload, ReplyStatus, Transient, UnknownMessage,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A cell that ran this long may have built large results (a listing of thousands of jobs);
/// afterwards the memory it freed is handed back to the system, so the kernel's resident size
/// returns to what it holds. Quick cells skip it: their round trip stays untouched.
const TRIM_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// Returns freed heap pages to the system (glibc keeps them otherwise).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
use tokio_util::sync::CancellationToken;

use crate::history::History;
use crate::iopub::Iopub;
use crate::publisher::{CellOutput, Discard};
use crate::router::Replies;
use crate::stdin::Stdin;
use crate::to_proto::{error_output, media, reply_error};
use crate::wire::{Parent, Signer};

/// A cell that is only `exit` or `quit` (with or without `()`): terminal front ends such as
/// `jupyter console` promise that these leave, which they do when the reply carries an
/// `ask_exit` payload, as ipykernel sends. Notebooks ignore the payload. None of these is a
/// Rust statement that could mean anything else alone in a cell.
fn asks_to_leave(code: &str) -> bool {
    matches!(code.trim(), "exit" | "quit" | "exit()" | "quit()")
}

pub struct Job {
    pub parent: Arc<Parent>,
    pub request: ExecuteRequest,
    /// When the shell loop read it off the socket: the kernel's own clock, never the front
    /// end's (a remote front end's clock may be hours off).
    pub received: Instant,
}

pub struct Executor {
    pub engine: Engine,
    pub history: Arc<Mutex<History>>,
    pub iopub: Iopub,
    pub replies: Replies,
    pub signer: Signer,
    pub stdin: Stdin,
    /// The running cell's interrupt token, replaced for each cell.
    pub current: Arc<Mutex<CancellationToken>>,
}

impl Executor {
    pub fn spawn(self) -> mpsc::UnboundedSender<Job> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            let mut state = State {
                ex: self,
                count: 0,
                abort_received_before: None,
            };
            while let Some(job) = rx.recv().await {
                state.handle(job).await;
            }
        });
        tx
    }
}

struct State {
    ex: Executor,
    count: usize,
    /// After a failed cell with `stop_on_error`: requests received before its idle went out
    /// were queued behind it (the front end could not have seen the failure), as ipykernel
    /// aborts what it has received.
    abort_received_before: Option<Instant>,
}

impl State {
    fn reply(&self, parent: &Arc<Parent>, content: ExecuteReply) {
        let content = JupyterMessageContent::ExecuteReply(content);
        self.ex
            .replies
            .send(self.ex.signer.encode(&parent.ids, Some(parent), &content));
    }

    fn queued_behind_failure(&mut self, received: Instant) -> bool {
        match self.abort_received_before {
            Some(cut) if received < cut => true,
            _ => {
                self.abort_received_before = None;
                false
            }
        }
    }

    async fn handle(&mut self, job: Job) {
        let Job {
            parent,
            request,
            received,
        } = job;
        let iopub = self.ex.iopub.clone();
        iopub.status(Some(&parent), ExecutionState::Busy);
        if self.queued_behind_failure(received) {
            // `{"status": "aborted"}` alone, as ipykernel sends: with an execution count,
            // JupyterLab shows the failed cell's number on every skipped cell.
            let content = JupyterMessageContent::UnknownMessage(UnknownMessage {
                msg_type: "execute_reply".to_owned(),
                content: serde_json::json!({ "status": "aborted" }),
            });
            self.ex
                .replies
                .send(self.ex.signer.encode(&parent.ids, Some(&parent), &content));
            iopub.status(Some(&parent), ExecutionState::Idle);
            return;
        }

        let counted = request.store_history && !request.silent;
        if counted {
            self.count += 1;
        }
        let count = ExecutionCount::new(self.count);
        if !request.silent {
            iopub.send(
                Some(&parent),
                ExecuteInput {
                    // Front ends that did not send the cell see it with secrets hidden.
                    code: azq_magics::redact_secrets(&request.code),
                    execution_count: count,
                },
            );
        }

        let token = CancellationToken::new();
        *self.ex.current.lock().expect("interrupt slot") = token.clone();
        let mut out = CellOutput {
            iopub: &self.ex.iopub,
            stdin: &self.ex.stdin,
            parent: &parent,
            allow_stdin: request.allow_stdin,
            pages: Vec::new(),
        };
        let options = CellOptions {
            allow_stdin: request.allow_stdin,
        };
        let started = Instant::now();
        let leave = asks_to_leave(&request.code);
        let result = if leave {
            Ok(None)
        } else {
            self.ex
                .engine
                .run_cell(&request.code, options, &mut out, &token)
                .await
        };
        let pages = std::mem::take(&mut out.pages);

        let mut reply = ExecuteReply {
            execution_count: count,
            payload: pages
                .iter()
                .map(|b| Payload::Page {
                    data: media(b),
                    start: 0,
                })
                .collect(),
            user_expressions: Some(HashMap::new()),
            ..ExecuteReply::default()
        };
        if leave {
            reply.payload.push(Payload::AskExit { keepkernel: false });
        }
        let mut shown = String::new();
        let failed = result.is_err();
        match result {
            Ok(value) => {
                if let Some(bundle) = value.filter(|_| !request.silent) {
                    shown = bundle.plain().to_owned();
                    iopub.send(
                        Some(&parent),
                        ExecuteResult {
                            execution_count: count,
                            data: media(&bundle),
                            metadata: Default::default(),
                            transient: Some(Transient::default()),
                        },
                    );
                }
                reply.user_expressions = Some(self.user_expressions(&request, &token).await);
            }
            Err(err) => {
                let output = error_output(&err, &request.code);
                iopub.send(Some(&parent), output.clone());
                reply.status = ReplyStatus::Error;
                reply.error = Some(reply_error(&output));
            }
        }
        if counted {
            self.ex.history.lock().expect("history lock").push(
                self.count,
                &azq_magics::redact_secrets(&request.code),
                &shown,
            );
        }
        self.reply(&parent, reply);
        if failed && request.stop_on_error {
            // What the kernel received before this idle goes out was sent before the front end
            // could see the failure: it was queued behind it. The cut-off is taken with the
            // outputs out and idle not yet sent, so a cell sent in answer to idle is received
            // after it and runs.
            iopub.flush().await;
            self.abort_received_before = Some(Instant::now());
        }
        iopub.status(Some(&parent), ExecutionState::Idle);
        if started.elapsed() >= TRIM_AFTER {
            release_free_memory();
        }
    }

    /// Evaluates each user expression as a cell of its own and keeps its value.
    async fn user_expressions(
        &mut self,
        request: &ExecuteRequest,
        token: &CancellationToken,
    ) -> HashMap<String, ExpressionResult> {
        let mut results = HashMap::new();
        for (name, code) in request.user_expressions.iter().flatten() {
            let outcome = self
                .ex
                .engine
                .run_cell(code, CellOptions::default(), &mut Discard, token)
                .await;
            let result = match outcome {
                Ok(value) => ExpressionResult::Ok {
                    data: media(&value.unwrap_or_else(|| azq_magics::Bundle::text(""))),
                    metadata: Default::default(),
                },
                Err(err) => {
                    let e = error_output(&err, code);
                    ExpressionResult::Error {
                        ename: e.ename,
                        evalue: e.evalue,
                        traceback: e.traceback,
                    }
                }
            };
            results.insert(name.clone(), result);
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::asks_to_leave;

    #[test]
    fn only_a_cell_of_exit_or_quit_asks_to_leave() {
        for code in ["exit", "quit", " exit()\n", "quit()", "\nexit\n"] {
            assert!(asks_to_leave(code), "{code:?}");
        }
        for code in [
            "exit(0)",
            "std::process::exit(0)",
            "let exit = 1;",
            "exit;",
            "%exit",
            "exit\nquit",
            "Exit",
        ] {
            assert!(!asks_to_leave(code), "{code:?}");
        }
    }
}
