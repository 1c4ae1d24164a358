//! Splits a cell into its parts: line magics, one cell magic, and runs of Rust code, each
//! with its byte offset in the cell so errors can point into it.

use std::ops::Range;

/// Whether a magic was written `%name` or `%%name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Line,
    Cell,
}

impl Form {
    pub fn prefix(self) -> &'static str {
        match self {
            Form::Line => "%",
            Form::Cell => "%%",
        }
    }
}

/// One magic call as written in the cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<'a> {
    pub form: Form,
    /// The name without `%` and without a trailing `?`.
    pub name: &'a str,
    pub name_span: Range<usize>,
    /// `%name?`: show help instead of running.
    pub help: bool,
    /// The argument text: the rest of the line, plus continuation lines.
    pub args: &'a str,
    pub args_start: usize,
    /// A cell magic's body (every line after the first); empty for line magics.
    pub body: &'a str,
    pub body_start: usize,
}

/// A part of a cell, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part<'a> {
    Magic(Call<'a>),
    Code {
        text: &'a str,
        start: usize,
    },
    /// A `%%name` line after the first: cell magics must start the cell.
    MisplacedCellMagic {
        name: &'a str,
        span: Range<usize>,
    },
}

/// Lines of `text` with the offset each starts at; the text excludes the line break.
fn lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        let line = piece.strip_suffix('\n').unwrap_or(piece);
        let line = line.strip_suffix('\r').unwrap_or(line);
        out.push((start, line));
        start += piece.len();
    }
    out
}

/// Reads `%name?rest` (or `%%name…`) at `offset`; `line` starts at the first `%`.
fn call_head(line: &str, offset: usize, form: Form) -> (&str, Range<usize>, bool, usize) {
    let after = form.prefix().len();
    let token_len = line[after..]
        .find(char::is_whitespace)
        .unwrap_or(line.len() - after);
    let token = &line[after..after + token_len];
    let name = token.trim_end_matches('?');
    let help = name.len() != token.len();
    let name_start = offset + after;
    (
        name,
        name_start..name_start + name.len(),
        help,
        offset + after + token_len,
    )
}

/// Splits a cell. Never fails: unknown names and bad arguments are found later.
pub fn split(cell: &str) -> Vec<Part<'_>> {
    let all = lines(cell);
    let Some(first) = all.iter().position(|(_, l)| !l.trim().is_empty()) else {
        return Vec::new();
    };
    let (off, line) = all[first];
    let indent = line.len() - line.trim_start().len();
    if line.trim_start().starts_with("%%") {
        let (name, name_span, help, args_start) =
            call_head(&line[indent..], off + indent, Form::Cell);
        let line_end = off + line.len();
        let body_start = all.get(first + 1).map_or(cell.len(), |(o, _)| *o);
        return vec![Part::Magic(Call {
            form: Form::Cell,
            name,
            name_span,
            help,
            args: &cell[args_start..line_end],
            args_start,
            body: &cell[body_start..],
            body_start,
        })];
    }

    let mut parts = Vec::new();
    let mut code: Option<Range<usize>> = None;
    let mut i = first;
    while i < all.len() {
        let (off, line) = all[i];
        let trimmed = line.trim_start();
        if !trimmed.starts_with('%') {
            if !trimmed.is_empty() {
                let end = off + line.len();
                code = Some(code.map_or(off..end, |c| c.start..end));
            }
            i += 1;
            continue;
        }
        if let Some(c) = code.take() {
            parts.push(Part::Code {
                text: &cell[c.clone()],
                start: c.start,
            });
        }
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with("%%") {
            let (name, name_span, _, _) = call_head(trimmed, off + indent, Form::Cell);
            parts.push(Part::MisplacedCellMagic {
                name,
                span: off + indent..name_span.end,
            });
            i += 1;
            continue;
        }
        let (name, name_span, help, args_start) = call_head(trimmed, off + indent, Form::Line);
        // Arguments go on over lines that end in `\` and over indented lines that follow.
        let mut end = off + line.len();
        let mut last = line;
        while let Some(&(next_off, next)) = all.get(i + 1) {
            let continued = last.trim_end().ends_with('\\');
            let indented = next.starts_with([' ', '\t'])
                && !next.trim().is_empty()
                && !next.trim_start().starts_with('%');
            if !(continued || indented) {
                break;
            }
            end = next_off + next.len();
            last = next;
            i += 1;
        }
        parts.push(Part::Magic(Call {
            form: Form::Line,
            name,
            name_span,
            help,
            args: &cell[args_start..end],
            args_start,
            body: "",
            body_start: end,
        }));
        i += 1;
    }
    if let Some(c) = code {
        parts.push(Part::Code {
            text: &cell[c.clone()],
            start: c.start,
        });
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn magic<'a>(p: &'a Part<'a>) -> &'a Call<'a> {
        match p {
            Part::Magic(c) => c,
            _ => panic!("expected a magic, got {p:?}"),
        }
    }

    #[test]
    fn line_magics_and_code_keep_their_order_and_offsets() {
        let cell = "%env A=1\nlet x = 1;\nx + 1\n%lsmagic";
        let parts = split(cell);
        assert_eq!(parts.len(), 3);
        let env = magic(&parts[0]);
        assert_eq!((env.name, env.args, env.args_start), ("env", " A=1", 4));
        assert_eq!(
            parts[1],
            Part::Code {
                text: "let x = 1;\nx + 1",
                start: 9
            }
        );
        assert_eq!(magic(&parts[2]).name_span, 27..34);
    }

    #[test]
    fn cell_magic_takes_the_whole_cell() {
        let cell = "\n%%bash -x\necho hi\n%env\n";
        let parts = split(cell);
        let c = magic(&parts[0]);
        assert_eq!((c.form, c.name, c.args), (Form::Cell, "bash", " -x"));
        assert_eq!((c.body, c.body_start), ("echo hi\n%env\n", 11));
    }

    #[test]
    fn help_suffix_is_split_off() {
        let parts = split("%env?");
        let c = magic(&parts[0]);
        assert!(c.help);
        assert_eq!((c.name, c.name_span.clone()), ("env", 1..4));
        assert!(magic(&split("%%bash??")[0]).help);
    }

    #[test]
    fn arguments_continue_over_indented_lines_and_backslashes() {
        let cell = "%azure.connect subscription=\"S\"\n    workspace=\"W\"\n%env a=1 \\\nb\nrust()";
        let parts = split(cell);
        assert_eq!(parts.len(), 3);
        assert_eq!(
            magic(&parts[0]).args,
            " subscription=\"S\"\n    workspace=\"W\""
        );
        assert_eq!(magic(&parts[1]).args, " a=1 \\\nb");
        assert!(matches!(parts[2], Part::Code { text: "rust()", .. }));
    }

    #[test]
    fn blank_cells_have_no_parts() {
        assert!(split("").is_empty());
        assert!(split("  \n\n\t").is_empty());
    }

    #[test]
    fn crlf_lines_are_understood() {
        let parts = split("%env A=1\r\n%lsmagic\r\n");
        assert_eq!(magic(&parts[0]).args, " A=1");
        assert_eq!(magic(&parts[1]).name, "lsmagic");
    }
}
