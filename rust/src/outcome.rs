//! Turning what evcxr reports into protocol outcomes: compiler messages placed in the user's
//! code, and panics recognised in the evaluation process's stderr.

use azq_rustcells::protocol::{Diagnostic, Label};
use evcxr::CompilationError;

/// rustc's messages, with evcxr's spans (already mapped back to the user's code). Messages
/// about code evcxr generated keep their text and lose their place.
pub fn diagnostics(errors: &[CompilationError]) -> Vec<Diagnostic> {
    errors
        .iter()
        .map(|error| {
            let mut help = error.help();
            if let Some(hint) = error.evcxr_extra_hint() {
                help.push(hint.to_owned());
            }
            Diagnostic {
                level: error.level().to_owned(),
                code: error.code().map(str::to_owned),
                message: without_cargo_progress(&error.message()),
                labels: error
                    .spanned_messages()
                    .iter()
                    .filter_map(|m| {
                        let span = m.span?;
                        Some(Label {
                            line: span.start_line,
                            column: span.start_column,
                            end_line: span.end_line,
                            end_column: span.end_column,
                            text: m.label.clone(),
                            primary: m.is_primary,
                        })
                    })
                    .collect(),
                help,
            }
        })
        .collect()
}

/// A failed `:dep` carries cargo's output: its progress lines ("Updating crates.io index")
/// are dropped, and so is the `error: ` that repeats the level.
fn without_cargo_progress(message: &str) -> String {
    let message = message.trim();
    let Some(at) = message.find("error: ") else {
        return message.to_owned();
    };
    if !message[..at].is_empty() && !message[..at].ends_with('\n') {
        return message.to_owned();
    }
    message[at + "error: ".len()..].trim().to_owned()
}

/// A panic as the evaluation process prints it to stderr: a blank line,
/// `thread 'main' panicked at src/lib.rs:40:5:`, the message, then a note about backtraces.
/// Once the first line is seen, the rest of the cell's stderr belongs to the report. Blank
/// lines are held back until it is known whether a panic follows them.
#[derive(Debug, Default)]
pub struct PanicReport {
    lines: Option<Vec<String>>,
    held_blanks: usize,
}

/// Bounds the report: a panic message is short; a flood after it is not part of it.
const MAX_REPORT_LINES: usize = 200;

impl PanicReport {
    /// What of a stderr line to show now: `None` when it is held back or part of a panic.
    pub fn filter(&mut self, line: &str) -> Option<String> {
        if let Some(lines) = &mut self.lines {
            if lines.len() < MAX_REPORT_LINES {
                lines.push(line.to_owned());
            }
            return None;
        }
        if is_panic_header(line) {
            self.lines = Some(Vec::new());
            self.held_blanks = 0;
            return None;
        }
        if line.trim().is_empty() {
            self.held_blanks += 1;
            return None;
        }
        let mut text = "\n".repeat(std::mem::take(&mut self.held_blanks));
        text.push_str(line);
        text.push('\n');
        Some(text)
    }

    /// Blank lines still held at the end of a cell that did not panic.
    pub fn flush(&mut self) -> Option<String> {
        let held = std::mem::take(&mut self.held_blanks);
        (self.lines.is_none() && held > 0).then(|| "\n".repeat(held))
    }

    /// The panic's own message, without the place in generated code or the backtrace note.
    pub fn message(&self) -> Option<String> {
        let lines = self.lines.as_ref()?;
        // The backtrace and the note about it are about evcxr's generated code.
        let kept: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .take_while(|l| *l != "stack backtrace:" && !l.starts_with("note: "))
            .collect();
        let message = kept.join("\n").trim().to_owned();
        Some(if message.is_empty() {
            "the cell panicked".to_owned()
        } else {
            message
        })
    }
}

/// `thread 'main' panicked at …`, or with the thread's id: `thread '<unnamed>' (15847) panicked at …`.
fn is_panic_header(line: &str) -> bool {
    line.starts_with("thread '") && line.contains(" panicked at ")
}

pub fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_report_is_taken_whole_and_trimmed_to_its_message() {
        let mut report = PanicReport::default();
        assert_eq!(
            report.filter("plain output").as_deref(),
            Some("plain output\n")
        );
        assert_eq!(report.filter(""), None, "a blank line waits");
        assert_eq!(report.filter("more").as_deref(), Some("\nmore\n"));
        assert_eq!(report.message(), None);
        assert_eq!(report.filter(""), None);
        assert_eq!(
            report.filter("thread '<unnamed>' (15847) panicked at src/lib.rs:41:5:"),
            None
        );
        assert_eq!(report.filter("boom: 7"), None);
        assert_eq!(report.filter("second line"), None);
        assert_eq!(
            report.filter(
                "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"
            ),
            None
        );
        assert_eq!(
            report.flush(),
            None,
            "the blank line before the panic is dropped"
        );
        assert_eq!(report.message().as_deref(), Some("boom: 7\nsecond line"));
        let mut traced = PanicReport::default();
        for line in [
            "thread 'main' panicked at src/lib.rs:1:1:",
            "deep",
            "stack backtrace:",
            "   0: __rustc::rust_begin_unwind",
        ] {
            traced.filter(line);
        }
        assert_eq!(traced.message().as_deref(), Some("deep"));
    }

    #[test]
    fn a_flood_after_a_panic_is_bounded() {
        let mut report = PanicReport::default();
        report.filter("thread 'main' panicked at src/lib.rs:1:1:");
        for i in 0..10_000 {
            report.filter(&format!("line {i}"));
        }
        assert_eq!(report.message().unwrap().lines().count(), MAX_REPORT_LINES);
    }

    #[test]
    fn cargo_progress_is_dropped_from_dep_failures() {
        assert_eq!(
            without_cargo_progress(
                "    Updating crates.io index\nerror: no matching package named `nope` found"
            ),
            "no matching package named `nope` found"
        );
        assert_eq!(
            without_cargo_progress("mismatched types"),
            "mismatched types"
        );
        assert_eq!(
            without_cargo_progress("expected `;`, found `error: x`"),
            "expected `;`, found `error: x`"
        );
    }

    #[test]
    fn blank_lines_at_the_end_of_a_cell_are_kept() {
        let mut report = PanicReport::default();
        assert_eq!(report.filter("   "), None);
        assert_eq!(report.filter(""), None);
        assert_eq!(report.flush().as_deref(), Some("\n\n"));
        assert_eq!(report.flush(), None);
    }

    #[test]
    fn offsets_inside_a_character_move_back_to_its_start() {
        assert_eq!(floor_char_boundary("aé", 2), 1);
        assert_eq!(floor_char_boundary("aé", 99), 3);
    }
}
