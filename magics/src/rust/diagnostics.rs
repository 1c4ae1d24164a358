//! Compiler messages as a reader wants them: rustc's headline, then the user's own line of the
//! cell with carets under the span and the label beside them; never evcxr's generated code.

use azq_rustcells::protocol::{Diagnostic, Label};

/// At most this many messages are shown; the rest are counted.
const MAX_SHOWN: usize = 10;

/// The traceback of a cell whose Rust part (starting on cell line `first_line`) did not compile.
pub fn compile_traceback(diagnostics: &[Diagnostic], first_line: usize, cell: &str) -> Vec<String> {
    // The cell's lines are echoed: every secret in them is starred out, one `*` a character,
    // so the carets still line up; rustc's words may quote the code, so they are checked too.
    let masked = mask_secrets(cell);
    let lines: Vec<&str> = masked.lines().collect();
    let secrets: Vec<&str> = crate::engine::secret_spans(cell)
        .into_iter()
        .filter_map(|span| cell.get(span))
        .filter(|secret| !secret.is_empty())
        .collect();
    let hide = |text: &str| {
        let mut text = crate::secrets::hide_fields(&crate::engine::redact_secrets(text));
        for secret in &secrets {
            text = text.replace(secret, "<hidden>");
        }
        text
    };
    let mut out = Vec::new();
    for d in diagnostics.iter().take(MAX_SHOWN) {
        let code = d
            .code
            .as_deref()
            .map(|c| format!("[{c}]"))
            .unwrap_or_default();
        let colour = if d.level == "error" { "31" } else { "33" };
        out.push(format!(
            "\x1b[1;{colour}m{}{code}\x1b[0m: {}",
            d.level,
            hide(&d.message)
        ));
        let mut labels: Vec<&Label> = d.labels.iter().collect();
        labels.sort_by_key(|l| (l.line, l.column));
        let gutter = labels
            .iter()
            .map(|l| ((first_line + l.line).saturating_sub(1)).to_string().len())
            .max()
            .unwrap_or(1);
        if let Some(primary) = labels.iter().find(|l| l.primary).or(labels.first()) {
            out.push(format!(
                "{} --> line {}, column {}",
                " ".repeat(gutter),
                (first_line + primary.line).saturating_sub(1),
                primary.column
            ));
        }
        // Each line once, then a marker row per label on it, left to right.
        let mut at = 0;
        while at < labels.len() {
            let line_no = (first_line + labels[at].line).saturating_sub(1);
            let same = labels[at..]
                .iter()
                .take_while(|l| l.line == labels[at].line)
                .count();
            if let Some(text) = line_no.checked_sub(1).and_then(|i| lines.get(i)) {
                out.push(format!("{line_no:>gutter$} | {text}"));
                for label in &labels[at..at + same] {
                    out.push(hide(&marker_row(label, text, gutter)));
                }
            }
            at += same;
        }
        for help in &d.help {
            out.push(hide(&format!("help: {help}")));
        }
    }
    if diagnostics.len() > MAX_SHOWN {
        out.push(format!("… and {} more", diagnostics.len() - MAX_SHOWN));
    }
    out
}

/// `cell` with each secret the magics recognise replaced by as many `*`s as it has characters.
fn mask_secrets(cell: &str) -> String {
    let mut shown = String::with_capacity(cell.len());
    let mut at = 0;
    for span in crate::engine::secret_spans(cell) {
        let (a, b) = (span.start.max(at), span.end.min(cell.len()));
        if a >= b || !cell.is_char_boundary(a) || !cell.is_char_boundary(b) {
            continue;
        }
        shown.push_str(&cell[at..a]);
        shown.push_str(&"*".repeat(cell[a..b].chars().count()));
        at = b;
    }
    shown.push_str(&cell[at..]);
    shown
}

/// Carets (primary) or dashes under a label's span, and its text.
fn marker_row(label: &Label, text: &str, gutter: usize) -> String {
    let start = label.column.saturating_sub(1).min(text.chars().count());
    let end = if label.end_line == label.line {
        label.end_column.saturating_sub(1)
    } else {
        text.chars().count()
    };
    let width = end.saturating_sub(start).max(1);
    let mark = if label.primary { "^" } else { "-" };
    format!(
        "{} | {}{} {}",
        " ".repeat(gutter),
        " ".repeat(start),
        mark.repeat(width),
        label.text
    )
    .trim_end()
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mismatch(line: usize) -> Diagnostic {
        Diagnostic {
            level: "error".into(),
            code: Some("E0308".into()),
            message: "mismatched types".into(),
            labels: vec![
                Label {
                    line,
                    column: 14,
                    end_line: line,
                    end_column: 17,
                    text: "expected `i32`, found `&str`".into(),
                    primary: true,
                },
                Label {
                    line,
                    column: 8,
                    end_line: line,
                    end_column: 11,
                    text: "expected due to this".into(),
                    primary: false,
                },
            ],
            help: vec![],
        }
    }

    #[test]
    fn the_users_line_is_shown_with_carets_at_its_place_in_the_cell() {
        let cell = "%env A=1\nlet ok = 1;\nlet y: i32 = \"a\";";
        // The Rust part starts on cell line 2; rustc's line 2 of it is cell line 3.
        let shown = compile_traceback(&[mismatch(2)], 2, cell);
        assert_eq!(shown[0], "\x1b[1;31merror[E0308]\x1b[0m: mismatched types");
        assert_eq!(shown[1], "  --> line 3, column 14");
        assert_eq!(shown[2], "3 | let y: i32 = \"a\";");
        assert_eq!(shown[3], "  |        --- expected due to this");
        assert_eq!(
            shown[4],
            "  |              ^^^ expected `i32`, found `&str`"
        );
        assert_eq!(shown.len(), 5, "the line is shown once: {shown:?}");
        assert!(!shown.iter().any(|l| l.contains("evcxr")));
    }

    #[test]
    fn secrets_on_the_shown_line_are_starred_and_the_carets_still_line_up() {
        let cell = "my key: ApiKey=sentinel-7f3a;";
        let mut error = mismatch(1);
        error.labels.truncate(1);
        error.labels[0].column = 4;
        error.labels[0].end_column = 7;
        error.message = "expected `;`, found `ApiKey=sentinel-7f3a`".into();
        let shown = compile_traceback(&[error], 1, cell).join("\n");
        assert!(!shown.contains("sentinel-7f3a"), "{shown}");
        assert!(
            shown.contains("1 | my key: ApiKey=*************;"),
            "{shown}"
        );
        assert!(shown.contains("  |    ^^^ "), "{shown}");
    }

    #[test]
    fn labels_outside_the_cell_and_floods_are_bounded() {
        let shown = compile_traceback(&[mismatch(99)], 1, "x");
        assert_eq!(shown.len(), 2, "{shown:?}");
        // A label on line 0 (no such line) is skipped, not a panic.
        let shown = compile_traceback(&[mismatch(0)], 1, "x");
        assert_eq!(shown.len(), 2, "{shown:?}");
        let many = vec![mismatch(1); 25];
        let shown = compile_traceback(&many, 1, "let y: i32 = \"a\";");
        assert_eq!(shown.last().unwrap(), "… and 15 more");
    }
}
