//! Runs a cell: each part in order, a panic or an interrupt turned into an error, the last
//! part's value as the cell's value.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::cell::{Call, Part, split};
use crate::magic::Ctx;
use crate::output::Output;
use crate::vars::Vars;
use crate::{Bundle, MagicError, registry};

/// How the front end asked for the cell to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct CellOptions {
    /// The front end accepts `input_request`s.
    pub allow_stdin: bool,
}

/// Runs cells and owns the session they share (for now, its environment variables).
#[derive(Debug, Default)]
pub struct Engine {
    vars: Vars,
    pub(crate) azure: crate::azure::AzureSession,
    completer: crate::assist::Completer,
    rust: crate::rust::RustCells,
}

impl Engine {
    pub fn new() -> Self {
        Engine::default()
    }

    /// An engine whose Rust cells use `rust` (a companion found elsewhere, in tests).
    pub fn with_rust(rust: crate::rust::RustCells) -> Self {
        Engine {
            rust,
            ..Engine::default()
        }
    }

    /// Completion as `assist::complete`, with candidates from this session (the
    /// workspace's targets, …) for the values that name them.
    pub fn complete(&self, code: &str, cursor: usize) -> crate::assist::Completion {
        let values = crate::assist::SessionValues::of(&self.azure);
        crate::assist::complete_in(code, cursor, Some(&values))
    }

    /// The session's Rust context, for completion and inspection of Rust code outside cells.
    pub fn rust(&self) -> crate::rust::RustCells {
        self.rust.clone()
    }

    /// A completer that a front end may keep and call while cells run; it sees this
    /// session's values as they were after the last cell.
    pub fn completer(&self) -> crate::assist::Completer {
        self.completer.clone()
    }

    /// Runs every part of `cell`; stops at the first error. The value is the last part's.
    pub async fn run_cell(
        &mut self,
        cell: &str,
        options: CellOptions,
        out: &mut dyn Output,
        cancel: &CancellationToken,
    ) -> Result<Option<Bundle>, MagicError> {
        let result = self.run_parts(cell, options, out, cancel).await;
        self.completer.refresh(&self.azure);
        result
    }

    async fn run_parts(
        &mut self,
        cell: &str,
        options: CellOptions,
        out: &mut dyn Output,
        cancel: &CancellationToken,
    ) -> Result<Option<Bundle>, MagicError> {
        let mut value = None;
        for part in split(cell) {
            if cancel.is_cancelled() {
                return Err(MagicError::Interrupted);
            }
            value = match part {
                Part::MisplacedCellMagic { name, span } => {
                    return Err(MagicError::MisplacedCellMagic {
                        magic: name.to_owned(),
                        span,
                    });
                }
                Part::Code { text, start } => self.rust.run(text, start, cell, out, cancel).await?,
                Part::Magic(call) => {
                    let mut ctx = Ctx {
                        out: &mut *out,
                        cancel,
                        allow_stdin: options.allow_stdin,
                        vars: &mut self.vars,
                        azure: &mut self.azure,
                        rust: &self.rust,
                    };
                    let run = AssertUnwindSafe(run_call(&mut ctx, &call)).catch_unwind();
                    tokio::select! {
                        result = run => result.unwrap_or_else(|panic| Err(MagicError::Internal {
                            message: panic_message(panic.as_ref()),
                        }))?,
                        () = cancel.cancelled() => return Err(MagicError::Interrupted),
                    }
                }
            };
        }
        Ok(value)
    }
}

async fn run_call(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
    let Some(magic) = registry::lookup(call.name, call.form) else {
        if let Some(other) = registry::lookup_other_form(call.name, call.form) {
            let name = other.spec().name.to_owned();
            let span = call.name_span.start - call.form.prefix().len()..call.name_span.end;
            return Err(match call.form {
                crate::cell::Form::Cell => MagicError::NotACellMagic { magic: name, span },
                crate::cell::Form::Line => MagicError::NotALineMagic { magic: name, span },
            });
        }
        return Err(MagicError::UnknownMagic {
            prefix: call.form.prefix(),
            name: call.name.to_owned(),
            span: call.name_span.start - call.form.prefix().len()..call.name_span.end,
            suggestion: registry::suggest(call.name, call.form),
        });
    };
    if call.help {
        ctx.out.page(magic.spec().help());
        return Ok(None);
    }
    magic.run(ctx, call).await
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a magic panicked".to_owned());
    format!("{text} (the kernel is still running; please report this)")
}

/// The cell's text with every secret a magic can recognise replaced by `<hidden>`: what
/// history keeps.
pub fn redact_secrets(cell: &str) -> String {
    crate::secrets::hide(cell, &secret_spans(cell))
}

/// The byte ranges of `cell` that hold secrets, in order: those its magics recognise, and
/// every secret's shape anywhere in the text, whatever the magic (a misspelt or miscased
/// name is no magic, and plain text is none either).
pub fn secret_spans(cell: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans: Vec<std::ops::Range<usize>> = split(cell)
        .iter()
        .filter_map(|part| match part {
            Part::Magic(call) => {
                registry::lookup(call.name, call.form).map(|m| m.secret_spans(call))
            }
            _ => None,
        })
        .flatten()
        .collect();
    spans.extend(crate::secrets::spans(cell, 0, crate::secrets::CELL_KEYS));
    crate::secrets::merge(&spans)
}

#[cfg(test)]
mod tests {
    use super::redact_secrets;

    #[test]
    fn secrets_are_hidden_from_kept_text() {
        assert_eq!(
            redact_secrets("%env AZURE_CLIENT_SECRET=abc def\n%env A=1\n%env API_KEY xyz"),
            "%env AZURE_CLIENT_SECRET=<hidden>\n%env A=1\n%env API_KEY <hidden>"
        );
        assert_eq!(redact_secrets("%env TOKEN="), "%env TOKEN=");
        assert_eq!(redact_secrets("%%bash\necho hi"), "%%bash\necho hi");
    }
}
