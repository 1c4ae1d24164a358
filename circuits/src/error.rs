//! Errors about programs: where in the source (line, column, caret excerpt) and what was
//! expected. Every reader and the simulator report through these.

use std::fmt;
use std::ops::Range;

/// What went wrong with a program, with a stable name for each kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProgramErrorKind {
    #[error("syntax error: expected {0}")]
    Syntax(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    TooLarge(String),
}

impl ProgramErrorKind {
    pub fn name(&self) -> &'static str {
        match self {
            ProgramErrorKind::Syntax(_) => "ProgramSyntaxError",
            ProgramErrorKind::Invalid(_) => "InvalidProgram",
            ProgramErrorKind::Unsupported(_) => "UnsupportedProgram",
            ProgramErrorKind::TooLarge(_) => "ProgramTooLarge",
        }
    }
}

/// An error with the byte span of the source it is about (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramError {
    pub kind: ProgramErrorKind,
    pub span: Option<Range<usize>>,
    /// Line, column and excerpt, filled in by [`ProgramError::locate`].
    pub location: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
    pub excerpt: String,
}

impl ProgramError {
    pub fn new(kind: ProgramErrorKind, span: Option<Range<usize>>) -> Self {
        ProgramError {
            kind,
            span,
            location: None,
        }
    }

    pub fn syntax(expected: impl Into<String>, at: usize) -> Self {
        Self::new(ProgramErrorKind::Syntax(expected.into()), Some(at..at))
    }

    pub fn invalid(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Self::new(ProgramErrorKind::Invalid(message.into()), span)
    }

    pub fn unsupported(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Self::new(ProgramErrorKind::Unsupported(message.into()), span)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ProgramErrorKind::TooLarge(message.into()), None)
    }

    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// Adds line, column and a caret excerpt from the source the span points into.
    pub fn locate(mut self, source: &str) -> Self {
        if let Some(span) = &self.span {
            let start = floor(source, span.start.min(source.len()));
            let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = source[start..]
                .find('\n')
                .map_or(source.len(), |i| start + i);
            let line = source[line_start..line_end].trim_end_matches('\r');
            let column = source[line_start..start].chars().count() + 1;
            let end = floor(source, span.end.clamp(start, line_end));
            let width = source[start..end].chars().count().max(1);
            let number = source[..line_start].matches('\n').count() + 1;
            let gutter = format!("{number} | ");
            self.location = Some(Location {
                line: number,
                column,
                excerpt: format!(
                    "{gutter}{line}\n{}{}",
                    " ".repeat(gutter.len() + column - 1),
                    "^".repeat(width)
                ),
            });
        }
        self
    }
}

fn floor(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for ProgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(l) => write!(
                f,
                "line {}, column {}: {}\n{}",
                l.line, l.column, self.kind, l.excerpt
            ),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for ProgramError {}
