//! The messages between the kernel and `azq-rust`: one JSON object per line, requests on the
//! companion's stdin, events on its stdout. Offsets are bytes of UTF-8, both ways.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The longest line either side reads; anything longer is refused (a cell of 4 MiB is not a
/// notebook any more, and an unbounded line would let one message take all memory).
pub const MAX_LINE: usize = 16 << 20;

/// What the kernel asks. Requests with an `id` get exactly one final event with that id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Run Rust code (with evcxr's `:` commands); streams, then `Executed`.
    Execute { id: u64, code: String },
    /// Completions at byte offset `cursor`.
    Complete {
        id: u64,
        code: String,
        cursor: usize,
    },
    /// What is under byte offset `cursor` (rust-analyzer's hover).
    Inspect {
        id: u64,
        code: String,
        cursor: usize,
    },
    /// Stop the running execution: its evaluation process is killed.
    Interrupt,
    /// Exit at once.
    Shutdown,
}

/// What the companion says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The evaluation context is up; requests sent before this were queued, not lost.
    Ready { evcxr: String },
    /// The context could not start (no cargo, a broken toolchain): every request gets this
    /// message, and the companion exits.
    Failed { message: String },
    /// Output of the running cell, as it comes.
    Stream {
        id: u64,
        name: StreamName,
        text: String,
    },
    /// The cell ended.
    Executed { id: u64, outcome: Outcome },
    Completed {
        id: u64,
        matches: Vec<Candidate>,
        start: usize,
        end: usize,
    },
    Inspected {
        id: u64,
        /// MIME type to content; empty when nothing is known there.
        data: BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamName {
    Stdout,
    Stderr,
}

/// One completion: the text that replaces the range, and what it is (`function`, `local`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub text: String,
    pub kind: String,
}

/// How a cell ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// It ran. `data` is MIME type to content: just `text/plain` for a value shown with
    /// `Debug`, richer types from `evcxr_display`; empty when the cell has no value.
    Ok { data: BTreeMap<String, String> },
    /// rustc refused it; positions are in the code that was sent.
    CompileErrors { errors: Vec<Diagnostic> },
    /// The code panicked; variables it defined are gone, older ones kept.
    Panicked { message: String },
    /// Stopped by an interrupt; the evaluation process died with every variable in it.
    Interrupted { lost: Vec<String> },
    /// The evaluation process died on its own (abort, stack overflow, `exit`).
    ProcessDied { message: String, lost: Vec<String> },
    /// Anything else evcxr refused (a bad `:dep`, an unknown `:` command).
    Failed { message: String },
}

/// One compiler message, placed in the code that was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// `error` or `warning`.
    pub level: String,
    /// `E0308`, when rustc gave one.
    pub code: Option<String>,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Vec<String>,
}

/// A span of the sent code with what rustc says about it. Lines and columns count from 1;
/// columns in characters, `end_column` exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub text: String,
    pub primary: bool,
}

impl Request {
    pub fn id(&self) -> Option<u64> {
        match self {
            Request::Execute { id, .. }
            | Request::Complete { id, .. }
            | Request::Inspect { id, .. } => Some(*id),
            Request::Interrupt | Request::Shutdown => None,
        }
    }
}

impl Event {
    /// The request this event belongs to; `None` for `Ready` and `Failed`.
    pub fn id(&self) -> Option<u64> {
        match self {
            Event::Stream { id, .. }
            | Event::Executed { id, .. }
            | Event::Completed { id, .. }
            | Event::Inspected { id, .. } => Some(*id),
            Event::Ready { .. } | Event::Failed { .. } => None,
        }
    }

    /// Whether this is the last event for its request.
    pub fn is_final(&self) -> bool {
        !matches!(self, Event::Stream { .. })
    }
}

/// One message as a line (with its `\n`).
pub fn encode<T: Serialize>(message: &T) -> String {
    let mut line = serde_json::to_string(message).expect("protocol types always serialise");
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_events_survive_a_line() {
        let request = Request::Complete {
            id: 3,
            code: "let s = \"é\\n\";\ns.".into(),
            cursor: 17,
        };
        let line = encode(&request);
        assert_eq!(line.matches('\n').count(), 1, "one message, one line");
        assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), request);
        let event = Event::Executed {
            id: 3,
            outcome: Outcome::CompileErrors {
                errors: vec![Diagnostic {
                    level: "error".into(),
                    code: Some("E0308".into()),
                    message: "mismatched types".into(),
                    labels: vec![Label {
                        line: 2,
                        column: 14,
                        end_line: 2,
                        end_column: 17,
                        text: "expected `i32`".into(),
                        primary: true,
                    }],
                    help: vec![],
                }],
            },
        };
        assert_eq!(
            serde_json::from_str::<Event>(&encode(&event)).unwrap(),
            event
        );
        assert!(event.is_final());
    }

    #[test]
    fn unknown_and_malformed_messages_are_refused() {
        for bad in [
            r#"{"op":"format_disk"}"#,
            r#"{"op":"execute"}"#,
            r#"{"op":"execute","id":-1,"code":""}"#,
            "[]",
            "",
        ] {
            assert!(serde_json::from_str::<Request>(bad).is_err(), "{bad}");
        }
    }
}
