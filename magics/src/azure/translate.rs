//! A stored program in the format its target takes (decision 7): IonQ JSON for IonQ,
//! OpenQASM 2 for Quantinuum, Quil for Rigetti, QIR text otherwise; with the job's input
//! parameters and what the target can hold.

use std::collections::BTreeMap;
use std::ops::Range;

use azq_circuits::formats::{ionq, qir, quil};
use azq_circuits::program::Format;
use serde_json::{Map, Value, json};

use super::errors::JobError;
use super::programs::Stored;

/// The most shots azq submits in one job (the service's own limits are lower for hardware).
pub const MAX_SHOTS: u64 = 10_000_000;

/// A job's input, ready to upload.
#[derive(Debug, Clone)]
pub struct Input {
    pub bytes: Vec<u8>,
    pub input_data_format: &'static str,
    pub content_type: &'static str,
    pub output_data_format: &'static str,
    pub input_params: Map<String, Value>,
    /// What the output reader needs to know (IonQ's measurement map, the qubit count).
    pub metadata: BTreeMap<String, String>,
}

/// The qubits of targets whose size is published; others are not checked before submission.
fn qubit_limit(target: &str) -> Option<usize> {
    let t = target.to_ascii_lowercase();
    Some(match t.as_str() {
        "ionq.simulator" => 29,
        "ionq.qpu" => 11,
        "ionq.qpu.aria-1" | "ionq.qpu.aria-2" => 25,
        "ionq.qpu.forte-1" | "ionq.qpu.forte-enterprise-1" => 36,
        "rigetti.sim.qvm" => 30,
        "rigetti.qpu.ankaa-3" => 84,
        _ if t.starts_with("quantinuum.") && t.contains("h2-") => 56,
        _ => return None,
    })
}

/// The qubits `target` has, where published.
pub fn qubits(target: &str) -> Option<usize> {
    qubit_limit(target)
}

/// The input formats a target of `provider` accepts, the one azq sends first.
pub fn input_formats(provider: &str) -> &'static [&'static str] {
    match provider.to_ascii_lowercase().as_str() {
        "ionq" => &["ionq.circuit.v1", "qir.v1"],
        "quantinuum" => &["honeywell.openqasm.v1", "qir.v1"],
        "rigetti" => &["rigetti.quil.v1", "qir.v1"],
        "pasqal" => &["pasqal.pulser.v1"],
        _ => &["qir.v1"],
    }
}

/// Translates `program` for `target` of `provider`. `shots` is already checked.
pub fn translate(
    provider: &str,
    target: &str,
    program: &Stored,
    shots: Option<u64>,
    span: Option<Range<usize>>,
) -> Result<Input, JobError> {
    let circuit = program.circuit();
    if let Some(limit) = qubit_limit(target)
        && circuit.num_qubits() > limit
    {
        return Err(JobError::ProgramTooLarge {
            message: format!(
                "`{}` uses {} qubits and {target} has {limit}; choose a larger target \
                 (`%azure.connect` lists them) or a smaller program",
                program.name,
                circuit.num_qubits()
            ),
            span,
        });
    }
    let untranslatable = |e: azq_circuits::ProgramError| JobError::InvalidProgram {
        message: format!("`{}` cannot be sent to {target}: {}", program.name, e.kind),
        span: span.clone(),
    };
    let mut params = Map::new();
    let mut metadata = BTreeMap::new();
    metadata.insert("azq.program".to_owned(), program.name.clone());
    let p = provider.to_ascii_lowercase();
    let input = match p.as_str() {
        "ionq" => {
            let written = ionq::write(circuit).map_err(untranslatable)?;
            if let Some(s) = shots {
                params.insert("shots".into(), json!(s));
            }
            let map: Vec<Value> = written
                .meas_map
                .iter()
                .map(|q| q.map_or(Value::Null, |q| json!(q)))
                .collect();
            metadata.insert("meas_map".into(), Value::Array(map).to_string());
            metadata.insert("num_qubits".into(), circuit.num_qubits().to_string());
            Input {
                bytes: serde_json::to_vec(&written.json).expect("JSON values serialise"),
                input_data_format: "ionq.circuit.v1",
                content_type: "application/json",
                output_data_format: "ionq.quantum-results.v1",
                input_params: params,
                metadata,
            }
        }
        "quantinuum" => {
            // OpenQASM goes as written (comments, custom gates); other formats are written out.
            let text = match program.format {
                Format::OpenQasm2 => program.source.clone(),
                _ => azq_circuits::qasm::to_qasm(circuit).map_err(untranslatable)?,
            };
            if let Some(s) = shots {
                params.insert("shots".into(), json!(s));
            }
            Input {
                bytes: text.into_bytes(),
                input_data_format: "honeywell.openqasm.v1",
                content_type: "application/qasm",
                output_data_format: "honeywell.quantum-results.v1",
                input_params: params,
                metadata,
            }
        }
        "rigetti" => {
            let text = match program.format {
                Format::Quil => program.source.clone(),
                _ => quil::write(circuit).map_err(untranslatable)?,
            };
            if let Some(s) = shots {
                params.insert("shots".into(), json!(s));
            }
            Input {
                bytes: text.into_bytes(),
                input_data_format: "rigetti.quil.v1",
                content_type: "text/plain",
                output_data_format: "rigetti.quil-results.v1",
                input_params: params,
                metadata,
            }
        }
        "pasqal" => {
            return Err(JobError::InvalidTarget {
                message: format!(
                    "{target} runs Pulser pulse sequences, which azq cannot translate gate \
                     programs into; choose a gate-based target (`%azure.connect` lists them)"
                ),
                span,
            });
        }
        _ => {
            let text = match program.format {
                Format::QirText => program.source.clone(),
                _ => qir::write(circuit).map_err(untranslatable)?,
            };
            params.insert("entryPoint".into(), json!("ENTRYPOINT__main"));
            params.insert("arguments".into(), json!([]));
            let estimator =
                p == "microsoft-qc" || target.eq_ignore_ascii_case("microsoft.estimator");
            if !estimator && let Some(s) = shots {
                params.insert("shots".into(), json!(s));
            }
            Input {
                bytes: text.into_bytes(),
                input_data_format: "qir.v1",
                content_type: "qir.v1",
                output_data_format: if estimator {
                    "microsoft.resource-estimates.v1"
                } else {
                    "microsoft.quantum-results.v2"
                },
                input_params: params,
                metadata,
            }
        }
    };
    Ok(input)
}
