//! A program in any format azq reads, recognised by file extension or content, and the
//! labels of its classical outcomes.

use std::path::Path;

use crate::circuit::Circuit;
use crate::error::ProgramError;
use crate::formats::qir::Record;
use crate::formats::{ionq, qir, quil};
use crate::qasm;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenQasm2,
    IonqJson,
    Quil,
    QirText,
}

impl Format {
    /// The format named by a file's extension, or else recognised from its text.
    pub fn detect(path: Option<&Path>, text: &str) -> Option<Format> {
        let by_ext = path
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str())
            .and_then(|e| {
                Some(match e.to_ascii_lowercase().as_str() {
                    "qasm" => Format::OpenQasm2,
                    "json" => Format::IonqJson,
                    "quil" => Format::Quil,
                    "ll" => Format::QirText,
                    _ => return None,
                })
            });
        by_ext.or_else(|| {
            let t = text.trim_start();
            if t.starts_with("OPENQASM") || t.starts_with("//") && t.contains("OPENQASM") {
                Some(Format::OpenQasm2)
            } else if t.starts_with('{') {
                Some(Format::IonqJson)
            } else if t.contains("@__quantum__") {
                Some(Format::QirText)
            } else if t.contains("DECLARE") || t.contains("MEASURE") {
                Some(Format::Quil)
            } else {
                None
            }
        })
    }

    /// Reads a program of this format.
    pub fn read(self, text: &str) -> Result<Program, ProgramError> {
        Ok(match self {
            Format::OpenQasm2 => Program::plain(qasm::load(text)?),
            Format::IonqJson => Program::plain(ionq::read(text)?),
            Format::Quil => Program::plain(quil::read(text)?),
            Format::QirText => {
                let p = qir::read(text)?;
                Program {
                    circuit: p.circuit,
                    records: Some(p.records),
                }
            }
        })
    }
}

/// A circuit, and for QIR how its results are recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub circuit: Circuit,
    pub records: Option<Vec<Record>>,
}

impl Program {
    fn plain(circuit: Circuit) -> Self {
        Program {
            circuit,
            records: None,
        }
    }
}

/// The label of one classical outcome, as Qiskit writes it: registers last to first,
/// separated by spaces, each most significant bit first.
pub fn label(c: &Circuit, bits: &[bool]) -> String {
    c.cregs
        .iter()
        .rev()
        .map(|r| {
            bits[r.offset..r.offset + r.len]
                .iter()
                .rev()
                .map(|b| if *b { '1' } else { '0' })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
