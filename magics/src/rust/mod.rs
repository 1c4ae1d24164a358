//! Rust cells: the code parts of a cell run in the `azq-rust` companion (evcxr). This module
//! sends them, shows their output as it comes, turns their outcome into a value or an error,
//! and stops them on interrupt.

mod diagnostics;
mod reset;

use std::time::Duration;

use azq_rustcells::client::{Companion, CompanionError};
use azq_rustcells::locate::{Missing, Places};
use azq_rustcells::protocol::{Event, Outcome, StreamName};
use tokio_util::sync::CancellationToken;

use crate::assist::Completion;
use crate::cell::{Part, split};
use crate::output::{Output, Stream};
use crate::{Bundle, MagicError};

pub(crate) use diagnostics::compile_traceback;
pub use reset::Reset;

/// How long the companion has to stop an interrupted cell before it is stopped itself.
/// Killing evcxr's evaluation process takes milliseconds; a cell still compiling does not
/// notice until rustc ends, which may be much later.
const INTERRUPT_GRACE: Duration = Duration::from_millis(700);

/// The session's Rust context: a handle on the companion, started by the first Rust code.
#[derive(Clone)]
pub struct RustCells {
    companion: Companion,
}

impl Default for RustCells {
    fn default() -> Self {
        RustCells::new(Places::of_this_process())
    }
}

impl std::fmt::Debug for RustCells {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustCells")
            .field("running", &self.companion.is_running())
            .finish()
    }
}

impl RustCells {
    pub fn new(places: Places) -> RustCells {
        RustCells {
            companion: Companion::new(places),
        }
    }

    /// Runs `code`, which starts at byte `start` of `cell`.
    pub(crate) async fn run(
        &self,
        code: &str,
        start: usize,
        cell: &str,
        out: &mut dyn Output,
        cancel: &CancellationToken,
    ) -> Result<Option<Bundle>, MagicError> {
        let first_line = cell[..start].matches('\n').count() + 1;
        let mut answer = self.companion.execute(code).await.map_err(start_error)?;
        let mut deadline = None;
        let outcome = loop {
            let event = tokio::select! {
                event = answer.next() => event,
                () = cancel.cancelled(), if deadline.is_none() => {
                    self.companion.interrupt().await;
                    deadline = Some(tokio::time::Instant::now() + INTERRUPT_GRACE);
                    continue;
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.companion.stop("stopped after an interrupt");
                    return Err(MagicError::RustInterrupted { lost: Vec::new(), restarted: true });
                }
            };
            match event {
                Some(Event::Stream { name, text, .. }) => out.stream(
                    match name {
                        StreamName::Stdout => Stream::Stdout,
                        StreamName::Stderr => Stream::Stderr,
                    },
                    &text,
                ),
                Some(Event::Executed { outcome, .. }) => break outcome,
                Some(_) => {}
                None => {
                    let why = answer.why_ended();
                    let next = if why.contains("could not start") {
                        "the next Rust cell tries again"
                    } else {
                        "its variables are gone, and the next Rust cell starts a fresh one"
                    };
                    return Err(MagicError::RustCompanionStopped {
                        message: format!("{why}; {next}"),
                    });
                }
            }
        };
        match outcome {
            Outcome::Ok { data } => Ok(show(data, out)),
            Outcome::CompileErrors { errors } => Err(MagicError::RustCompile {
                diagnostics: errors,
                first_line,
            }),
            Outcome::Panicked { message } => Err(MagicError::RustPanic { message }),
            Outcome::Interrupted { lost } => Err(MagicError::RustInterrupted {
                lost,
                restarted: false,
            }),
            Outcome::ProcessDied { message, lost } => {
                Err(MagicError::RustProcessDied { message, lost })
            }
            Outcome::Failed { message } => Err(MagicError::RustFailed { message }),
        }
    }

    /// Starts the companion in the background if it is not running, so that the first Rust
    /// cell does not wait for it; a missing companion is reported by that cell, not here.
    pub fn warm_up(&self) {
        if let Err(why) = self.companion.warm_up() {
            tracing::debug!("Rust companion not started: {why}");
        }
    }

    /// Completion of the Rust code in `cell` at byte `cursor`, from rust-analyzer; offsets in
    /// `cell`'s bytes. Only candidates that start with what is typed are kept.
    pub async fn complete(&self, cell: &str, cursor: usize) -> Option<Completion> {
        let (start, code) = code_at(cell, cursor)?;
        let (candidates, from, to) = self.companion.complete(code, cursor - start).await.ok()?;
        let (from, to) = (
            crate::assist::floor(code, from.min(cursor - start)),
            crate::assist::floor(code, to.clamp(cursor - start, code.len())),
        );
        let typed = &code[from..cursor - start];
        let mut completion = Completion {
            start: start + from,
            end: start + to,
            ..Completion::default()
        };
        for c in candidates {
            if c.text.starts_with(typed) && !completion.matches.contains(&c.text) {
                completion.matches.push(c.text);
                completion.types.push(c.kind);
            }
        }
        Some(completion)
    }

    /// What rust-analyzer says about the Rust code under byte `cursor` of `cell`.
    pub async fn inspect(&self, cell: &str, cursor: usize) -> Option<Bundle> {
        let (start, code) = code_at(cell, cursor)?;
        let mut data = self.companion.inspect(code, cursor - start).await.ok()?;
        let plain = data.remove("text/plain")?;
        let mut bundle = Bundle::text(plain);
        for (mime, content) in data {
            bundle = bundle.with_media(&mime, content);
        }
        Some(bundle)
    }

    /// Stops the companion; the next Rust code starts a fresh one.
    pub(crate) fn reset(&self) -> bool {
        let was_running = self.companion.is_running();
        self.companion.stop("reset by %rust.reset");
        was_running
    }
}

/// Whether `cell` holds Rust code (any line that is not a magic).
pub fn has_code(cell: &str) -> bool {
    split(cell).iter().any(|p| matches!(p, Part::Code { .. }))
}

/// The Rust part of `cell` that byte `cursor` is in (or at the end of): its start and text.
pub fn code_at(cell: &str, cursor: usize) -> Option<(usize, &str)> {
    split(cell).into_iter().find_map(|part| match part {
        Part::Code { text, start } if (start..=start + text.len()).contains(&cursor) => {
            Some((start, text))
        }
        _ => None,
    })
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn start_error(error: CompanionError) -> MagicError {
    match error {
        CompanionError::Missing(missing @ Missing::Companion { .. }) => {
            MagicError::RustCompanionMissing {
                message: missing.to_string(),
            }
        }
        CompanionError::Missing(missing @ Missing::Toolchain { .. }) => {
            MagicError::RustToolchainMissing {
                message: missing.to_string(),
            }
        }
        CompanionError::Stopped(message) => MagicError::RustCompanionStopped { message },
    }
}

/// A value with only `text/plain` is the cell's value (execute_result); one with richer forms
/// (from `evcxr_display`) is shown as display_data, which is what a display is.
fn show(data: std::collections::BTreeMap<String, String>, out: &mut dyn Output) -> Option<Bundle> {
    if data.is_empty() {
        return None;
    }
    let rich: Vec<&String> = data.keys().filter(|m| *m != "text/plain").collect();
    let plain = data.get("text/plain").cloned().unwrap_or_else(|| {
        format!(
            "<a Rust value shown as {}>",
            rich.iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    if rich.is_empty() {
        // A statement's `()` is no value worth showing, as IPython shows no `None`.
        return (plain != "()").then(|| Bundle::text(plain));
    }
    let mut bundle = Bundle::text(plain);
    for (mime, content) in data.into_iter().filter(|(m, _)| m != "text/plain") {
        bundle = bundle.with_media(&mime, content);
    }
    out.display(bundle);
    None
}
