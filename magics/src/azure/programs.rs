//! The session's stored programs: `%%qasm NAME` cells and files read with `file=PATH`, each
//! checked when stored, so that a submission never finds a broken program.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use azq_circuits::program::{Format, Program};
use azq_circuits::{Circuit, Op, ProgramError};

use super::errors::JobError;

/// At most this many programs are kept in a session.
pub const MAX_PROGRAMS: usize = 1000;
/// A program's text may be at most this long (a file is refused before it is read past it).
pub const MAX_SOURCE_BYTES: usize = 8 * 1024 * 1024;
/// Names are identifiers of at most this many characters.
const MAX_NAME: usize = 64;

/// One stored program.
#[derive(Debug, Clone)]
pub struct Stored {
    pub name: String,
    pub source: String,
    pub format: Format,
    pub program: Program,
    /// The file it was read from, if any.
    pub file: Option<PathBuf>,
}

impl Stored {
    pub fn circuit(&self) -> &Circuit {
        &self.program.circuit
    }

    pub fn qubits(&self) -> usize {
        self.program.circuit.num_qubits()
    }

    /// Gates, counted as written (measurements, resets and barriers are not gates).
    pub fn gates(&self) -> usize {
        fn count(op: &Op) -> usize {
            match op {
                Op::Gate(_) => 1,
                Op::If { op, .. } => count(op),
                _ => 0,
            }
        }
        self.program.circuit.ops.iter().map(count).sum()
    }

    pub fn measurements(&self) -> usize {
        self.program
            .circuit
            .ops
            .iter()
            .filter(|o| matches!(o, Op::Measure { .. }))
            .count()
    }
}

/// The format's name as users know it.
pub fn format_name(f: Format) -> &'static str {
    match f {
        Format::OpenQasm2 => "OpenQASM 2",
        Format::IonqJson => "IonQ JSON",
        Format::Quil => "Quil",
        Format::QirText => "QIR text",
    }
}

#[derive(Debug, Default)]
pub struct Programs {
    map: BTreeMap<String, Stored>,
}

impl Programs {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    pub fn all(&self) -> impl Iterator<Item = &Stored> {
        self.map.values()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Stores (or replaces) a program.
    pub fn insert(&mut self, stored: Stored, span: Option<Range<usize>>) -> Result<(), JobError> {
        if !self.map.contains_key(&stored.name) && self.map.len() >= MAX_PROGRAMS {
            return Err(JobError::ProgramTooLarge {
                message: format!(
                    "this session already holds {MAX_PROGRAMS} programs; reuse a name to replace one"
                ),
                span,
            });
        }
        self.map.insert(stored.name.clone(), stored);
        Ok(())
    }

    /// The stored program called `name`, or an error that names the nearest one.
    pub fn find(&self, name: &str, span: Option<Range<usize>>) -> Result<&Stored, JobError> {
        self.map.get(name).ok_or_else(|| {
            let near = crate::args::closest(name, self.map.keys().cloned());
            let hint = match near {
                Some(n) => format!("; did you mean `{n}`?"),
                None if self.map.is_empty() => {
                    "; store one first with a `%%qasm NAME` cell, or give `file=PATH`".to_owned()
                }
                None => format!(
                    "; stored: {} (`%qasm` lists them)",
                    self.map.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            };
            JobError::UnknownProgram {
                message: format!("there is no program named `{name}`{hint}"),
                span,
            }
        })
    }
}

/// Checks a program name: letters, digits, `_`, `-` and `.`, starting with a letter or `_`.
pub fn check_name(name: &str, span: Option<Range<usize>>) -> Result<(), JobError> {
    let ok = name.len() <= MAX_NAME
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(JobError::InvalidProgram {
            message: format!(
                "`{name}` is not a program name; use letters, digits, `_`, `-` and `.` (at most \
                 {MAX_NAME}), starting with a letter, like `bell`"
            ),
            span,
        })
    }
}

/// Parses OpenQASM 2 written in a cell whose body starts at `body_start`: an error's span is
/// moved into the cell, so its caret lands under the bad text.
pub fn from_cell(name: &str, body: &str, body_start: usize) -> Result<Stored, JobError> {
    if body.len() > MAX_SOURCE_BYTES {
        return Err(too_long(None));
    }
    if body.trim().is_empty() {
        return Err(JobError::InvalidProgram {
            message: format!(
                "the cell holds no program; write OpenQASM 2 below `%%qasm {name}`, starting with \
                 `OPENQASM 2.0;`"
            ),
            span: None,
        });
    }
    let format = match Format::detect(None, body) {
        Some(f) => f,
        None => Format::OpenQasm2,
    };
    let program = format
        .read(body)
        .map_err(|e| program_error(e, body, Some(body_start), None))?;
    Ok(Stored {
        name: name.to_owned(),
        source: body.to_owned(),
        format,
        program,
        file: None,
    })
}

/// Reads a program file (OpenQASM, QIR text, IonQ JSON or Quil; recognised by extension or
/// content). `span` is where the path is written, for errors that are about the file itself.
pub fn from_file(
    name: &str,
    path: &Path,
    span: Option<Range<usize>>,
) -> Result<Stored, JobError> {
    use std::io::Read;
    let unreadable = |why: String| JobError::InvalidProgram {
        message: format!("cannot read `{}`: {why}", path.display()),
        span: span.clone(),
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(unreadable("it is a folder; name a program file".into()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SOURCE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(e.to_string()))?;
    if bytes.len() > MAX_SOURCE_BYTES {
        return Err(too_long(span));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        unreadable("it is not UTF-8 text (QIR bitcode is not supported: give the .ll text)".into())
    })?;
    let format = Format::detect(Some(path), &text).ok_or_else(|| {
        unreadable(
            "its format is not recognised; use .qasm (OpenQASM 2), .ll (QIR text), .json (IonQ) \
             or .quil"
                .into(),
        )
    })?;
    let program = format
        .read(&text)
        .map_err(|e| program_error(e, &text, None, Some(path)))?;
    Ok(Stored {
        name: name.to_owned(),
        source: text,
        format,
        program,
        file: Some(path.to_owned()),
    })
}

fn too_long(span: Option<Range<usize>>) -> JobError {
    JobError::ProgramTooLarge {
        message: format!(
            "the program is longer than {} MiB; azq keeps programs up to that size",
            MAX_SOURCE_BYTES / (1024 * 1024)
        ),
        span,
    }
}

/// A program error as a job error: in a cell, the span is moved into the cell (the caret is
/// drawn there); in a file, the message carries the file's line, column and excerpt.
fn program_error(
    e: ProgramError,
    source: &str,
    body_start: Option<usize>,
    file: Option<&Path>,
) -> JobError {
    let too_large = matches!(e.kind, azq_circuits::ProgramErrorKind::TooLarge(_));
    let located = e.clone().locate(source);
    let message = match (file, &located.location) {
        (Some(path), Some(l)) => format!(
            "{}:{}:{}: {}\n{}",
            path.display(),
            l.line,
            l.column,
            e.kind,
            l.excerpt
        ),
        (Some(path), None) => format!("{}: {}", path.display(), e.kind),
        (None, _) => e.kind.to_string(),
    };
    let span = body_start.and_then(|start| {
        e.span
            .clone()
            .map(|s| start + s.start..start + s.end.max(s.start + 1))
    });
    if too_large {
        JobError::ProgramTooLarge { message, span }
    } else {
        JobError::InvalidProgram { message, span }
    }
}
