//! The errors a cell can end with: each has a stable name (the Jupyter `ename`), a message
//! that says what to change, and where there is one, the span of the offending text.

use std::ops::Range;

/// Everything that can stop a cell. Names are append-only: tests and users match on them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MagicError {
    #[error("there is no magic named `{prefix}{name}`{}", suggest(suggestion.as_deref()))]
    UnknownMagic {
        prefix: &'static str,
        name: String,
        span: Range<usize>,
        suggestion: Option<String>,
    },
    #[error("`%{magic}`: expected {expected}")]
    Syntax {
        magic: String,
        expected: String,
        span: Range<usize>,
    },
    #[error("`%{magic}` has no argument `{arg}`{}", suggest(suggestion.as_deref()))]
    UnknownArgument {
        magic: String,
        arg: String,
        span: Range<usize>,
        suggestion: Option<String>,
    },
    #[error("`%{magic}`: {message}")]
    InvalidArgument {
        magic: String,
        message: String,
        span: Option<Range<usize>>,
    },
    #[error("`%{magic}` is a line magic: write it with one `%`, not `%%`")]
    NotACellMagic { magic: String, span: Range<usize> },
    #[error("`%%{magic}` is a cell magic: write it with `%%` on the first line of the cell")]
    NotALineMagic { magic: String, span: Range<usize> },
    #[error("`%%{magic}` must start the cell: move it to the first line, or start a new cell")]
    MisplacedCellMagic { magic: String, span: Range<usize> },
    #[error("environment variable `{name}` is not set")]
    EnvVarNotSet { name: String },
    #[error(
        "this front end does not accept input (allow_stdin is false); set the value another way"
    )]
    StdinNotAllowed,
    #[error("`{program}` could not be started: {reason}")]
    CommandNotStarted { program: String, reason: String },
    #[error("`{program}` exited with {status}")]
    CommandFailed { program: String, status: String },
    #[error("interrupted")]
    Interrupted,
    /// The `azq-rust` companion is not installed (the message says where it was looked for).
    #[error("{message}")]
    RustCompanionMissing { message: String },
    /// cargo or rustc is missing (the message says where they were looked for).
    #[error("{message}")]
    RustToolchainMissing { message: String },
    /// The companion could not start, or stopped while the cell ran.
    #[error("{message}")]
    RustCompanionStopped { message: String },
    /// rustc refused the cell; `first_line` is the cell line the Rust code starts on.
    #[error("{}", compile_summary(diagnostics, *first_line))]
    RustCompile {
        diagnostics: Vec<azq_rustcells::protocol::Diagnostic>,
        first_line: usize,
    },
    #[error("the cell panicked: {message}")]
    RustPanic { message: String },
    #[error("{}", interrupted_rust(lost, *restarted))]
    RustInterrupted { lost: Vec<String>, restarted: bool },
    #[error("the Rust evaluation process ended ({message}){}", lost_note(lost))]
    RustProcessDied { message: String, lost: Vec<String> },
    #[error("{message}")]
    RustFailed { message: String },
    #[error("internal error: {message}")]
    Internal { message: String },
    #[error(
        "not connected to any Azure Quantum workspace; connect with `%azure.connect resourceId=…`, \
         `%azure.connect connectionString=…`, or try `%azure.connect emulator`"
    )]
    NotConnected,
    #[error("`%{magic}`: {message}")]
    ConflictingArguments {
        magic: String,
        message: String,
        span: Range<usize>,
    },
    /// An error from Azure (or about reaching it), under the client's stable name.
    #[error("{message}")]
    Azure {
        name: &'static str,
        message: String,
        span: Option<Range<usize>>,
    },
}

fn compile_summary(
    diagnostics: &[azq_rustcells::protocol::Diagnostic],
    first_line: usize,
) -> String {
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.level == "error").collect();
    let Some(first) = errors.first().copied().or(diagnostics.first()) else {
        return "the Rust code did not compile".to_owned();
    };
    let place = first
        .labels
        .iter()
        .find(|l| l.primary)
        .or(first.labels.first())
        .map(|l| {
            format!(
                " (line {}, column {})",
                (first_line + l.line).saturating_sub(1),
                l.column
            )
        })
        .unwrap_or_default();
    let more = match errors.len() {
        0 | 1 => String::new(),
        2 => "; and 1 more error".to_owned(),
        n => format!("; and {} more errors", n - 1),
    };
    format!("{}{place}{more}", first.message)
}

fn interrupted_rust(lost: &[String], restarted: bool) -> String {
    if restarted {
        "interrupted: the Rust companion did not stop in time and was restarted, so every \
         variable, item and :dep is gone"
            .to_owned()
    } else if lost.is_empty() {
        "interrupted: the Rust evaluation process was stopped (no variables were lost)".to_owned()
    } else {
        format!(
            "interrupted: the Rust evaluation process was stopped, and these variables with it: \
             {} (functions, types and :deps are kept)",
            lost.join(", ")
        )
    }
}

fn lost_note(lost: &[String]) -> String {
    if lost.is_empty() {
        String::new()
    } else {
        format!("; these variables are gone: {}", lost.join(", "))
    }
}

fn suggest(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

impl MagicError {
    /// The stable name shown as the Jupyter `ename`.
    pub fn name(&self) -> &'static str {
        match self {
            MagicError::UnknownMagic { .. } => "UnknownMagic",
            MagicError::Syntax { .. } => "SyntaxError",
            MagicError::UnknownArgument { .. } => "UnknownArgument",
            MagicError::InvalidArgument { .. } => "InvalidArgument",
            MagicError::NotACellMagic { .. } => "NotACellMagic",
            MagicError::NotALineMagic { .. } => "NotALineMagic",
            MagicError::MisplacedCellMagic { .. } => "MisplacedCellMagic",
            MagicError::EnvVarNotSet { .. } => "EnvVarNotSet",
            MagicError::StdinNotAllowed => "StdinNotAllowed",
            MagicError::CommandNotStarted { .. } => "CommandNotStarted",
            MagicError::CommandFailed { .. } => "CommandFailed",
            MagicError::Interrupted => "Interrupted",
            MagicError::RustCompanionMissing { .. } => "RustCompanionMissing",
            MagicError::RustToolchainMissing { .. } => "RustToolchainMissing",
            MagicError::RustCompanionStopped { .. } => "RustCompanionStopped",
            MagicError::RustCompile { .. } => "CompileError",
            MagicError::RustPanic { .. } => "Panic",
            MagicError::RustInterrupted { .. } => "Interrupted",
            MagicError::RustProcessDied { .. } => "RustProcessDied",
            MagicError::RustFailed { .. } => "RustError",
            MagicError::Internal { .. } => "InternalError",
            MagicError::NotConnected => "NotConnected",
            MagicError::ConflictingArguments { .. } => "ConflictingArguments",
            MagicError::Azure { name, .. } => name,
        }
    }

    /// What the user reads: the message with any secret field it quotes hidden. Front ends
    /// show this, never `to_string()`.
    pub fn message(&self) -> String {
        crate::secrets::hide_fields(&self.to_string())
    }

    /// The byte range of the cell text the error is about, if any.
    pub fn span(&self) -> Option<Range<usize>> {
        match self {
            MagicError::UnknownMagic { span, .. }
            | MagicError::Syntax { span, .. }
            | MagicError::UnknownArgument { span, .. }
            | MagicError::NotACellMagic { span, .. }
            | MagicError::NotALineMagic { span, .. }
            | MagicError::MisplacedCellMagic { span, .. }
            | MagicError::ConflictingArguments { span, .. } => Some(span.clone()),
            MagicError::InvalidArgument { span, .. } | MagicError::Azure { span, .. } => {
                span.clone()
            }
            _ => None,
        }
    }

    /// The traceback lines a front end shows: the message, then the offending line of the
    /// cell with a caret under the bad text.
    pub fn traceback(&self, cell: &str) -> Vec<String> {
        if let MagicError::RustCompile {
            diagnostics,
            first_line,
        } = self
        {
            return crate::rust::compile_traceback(diagnostics, *first_line, cell);
        }
        let mut lines = vec![format!("{}: {}", self.name(), self.message())];
        if let Some(span) = self.span() {
            let mut excerpt = caret_excerpt(cell, span.clone());
            // The excerpt echoes the line: hide any secret on it, one `*` per character so
            // that the caret still lines up.
            let start = floor_char_boundary(cell, span.start.min(cell.len()));
            let line_start = cell[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = cell[line_start..]
                .find('\n')
                .map_or(cell.len(), |i| line_start + i);
            let mut shown = String::new();
            let mut at = line_start;
            for s in crate::engine::secret_spans(cell) {
                let (a, b) = (s.start.max(at), s.end.min(line_end));
                if a >= b || !cell.is_char_boundary(a) || !cell.is_char_boundary(b) {
                    continue;
                }
                shown.push_str(&cell[at..a]);
                shown.push_str(&"*".repeat(cell[a..b].chars().count()));
                at = b;
            }
            shown.push_str(&cell[at..line_end]);
            let gutter_len = excerpt[0].len() - cell[line_start..line_end].len();
            excerpt[0] = format!("{}{shown}", &excerpt[0][..gutter_len]);
            lines.extend(excerpt);
        }
        lines
    }
}

/// The line of `text` holding `span.start`, numbered, with carets under the span.
pub fn caret_excerpt(text: &str, span: Range<usize>) -> Vec<String> {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[line_start..line_end];
    let line_no = text[..line_start].matches('\n').count() + 1;
    let end = floor_char_boundary(text, span.end.clamp(start, line_end));
    let col = text[line_start..start].chars().count();
    let width = text[start..end].chars().count().max(1);
    let gutter = format!("{line_no} | ");
    vec![
        format!("{gutter}{line}"),
        format!(
            "{}{}{}",
            " ".repeat(gutter.len()),
            " ".repeat(col),
            "^".repeat(width)
        ),
    ]
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_points_at_the_span_on_its_line() {
        let cell = "%env X=1\n%lsmagik now";
        let err = MagicError::UnknownMagic {
            prefix: "%",
            name: "lsmagik".into(),
            span: 10..17,
            suggestion: Some("%lsmagic".into()),
        };
        assert_eq!(
            err.traceback(cell),
            [
                "UnknownMagic: there is no magic named `%lsmagik`; did you mean `%lsmagic`?",
                "2 | %lsmagik now",
                "     ^^^^^^^",
            ]
        );
    }

    #[test]
    fn caret_survives_spans_past_the_end_and_inside_characters() {
        assert_eq!(caret_excerpt("é", 1..9), ["1 | é", "    ^"]);
        assert_eq!(caret_excerpt("", 3..4), ["1 | ", "    ^"]);
        // The whole traceback, secrets masked, with a span starting inside `é`.
        let err = MagicError::Azure {
            name: "InvalidResourceId",
            message: "bad".into(),
            span: Some(2..4),
        };
        assert_eq!(err.traceback("xé\ny")[1..], ["1 | xé", "     ^"]);
    }
}
