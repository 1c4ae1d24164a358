//! A finished job's output, in whichever provider format it came, read into one histogram
//! (IonQ's qubit-wide keys mapped back to the program's classical bits).

use azq_circuits::results::{self, Histogram};
use azq_client::JobDetails;
use serde_json::Value;

use super::errors::JobError;
use super::jobview;
use crate::bundle::{Bundle, escape_html};

/// Raw output shown when its format is not one azq reads, at most this many bytes.
const RAW_SHOWN: usize = 64 * 1024;

fn failed(job: &JobDetails, why: impl std::fmt::Display) -> JobError {
    JobError::JobOutputDownloadFailed {
        message: format!("the output of job {} could not be read: {why}", job.id),
    }
}

/// Reads the output of `job` into what a notebook shows.
pub fn show(job: &JobDetails, bytes: &[u8]) -> Result<Bundle, JobError> {
    let format = job.output_data_format.as_deref().unwrap_or("");
    let readable = matches!(
        format,
        "ionq.quantum-results.v1"
            | "honeywell.quantum-results.v1"
            | "quantinuum.quantum-results.v1"
            | "rigetti.quil-results.v1"
            | "microsoft.quantum-results.v2"
            | "microsoft.quantum-results.v1"
    );
    if !readable {
        return Ok(raw(job, format, bytes));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| failed(job, e))?;
    let histogram = decode(job, format, &value)?;
    let title = format!(
        "Results of job {} ({}) on {}",
        job.name.as_deref().unwrap_or(&job.id),
        job.id,
        job.target
    );
    Ok(jobview::histogram(&histogram, &title))
}

/// The histogram of an output in one of the formats azq reads.
pub fn decode(job: &JobDetails, format: &str, value: &Value) -> Result<Histogram, JobError> {
    if format != "ionq.quantum-results.v1" {
        return results::histogram(format, value, 0).map_err(|e| failed(job, e.kind));
    }
    let meta = |k: &str| job.metadata.as_ref().and_then(|m| m.get(k));
    let widest = value
        .get("histogram")
        .and_then(Value::as_object)
        .map(|h| {
            h.keys()
                .filter_map(|k| k.parse::<u128>().ok())
                .map(|k| (128 - k.leading_zeros()) as usize)
                .max()
                .unwrap_or(1)
        })
        .unwrap_or(1);
    let qubits = meta("num_qubits")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| (1..=128).contains(n))
        .unwrap_or(widest)
        .max(widest);
    let mut h = results::histogram(format, value, qubits).map_err(|e| failed(job, e.kind))?;
    // IonQ reports every qubit; the program's classical bits read the qubits in `meas_map`.
    let map: Option<Vec<Option<usize>>> = meta("meas_map")
        .and_then(|m| serde_json::from_str(m).ok())
        .filter(|m: &Vec<Option<usize>>| m.iter().flatten().all(|q| *q < qubits));
    if let Some(map) = map.filter(|m| !m.is_empty()) {
        let mut relabelled = std::collections::BTreeMap::new();
        for (label, p) in &h.outcomes {
            let bits: Vec<char> = label.chars().collect();
            let clbits: String = map
                .iter()
                .rev()
                .map(|q| match q {
                    Some(q) => bits[qubits - 1 - q],
                    None => '0',
                })
                .collect();
            *relabelled.entry(clbits).or_insert(0.0) += p;
        }
        h.outcomes = relabelled;
    }
    if h.shots.is_none() {
        h.shots = job
            .input_params
            .as_ref()
            .and_then(|p| p.get("shots"))
            .and_then(Value::as_u64)
            .map(|s| s as usize);
    }
    Ok(h)
}

fn raw(job: &JobDetails, format: &str, bytes: &[u8]) -> Bundle {
    let cut = bytes.len() > RAW_SHOWN;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(RAW_SHOWN)]).into_owned();
    let head = format!(
        "Output of job {} ({}), in {}, shown as it came{}:",
        job.id,
        job.target,
        if format.is_empty() { "an unnamed format" } else { format },
        if cut { " (the first 64 KiB)" } else { "" }
    );
    Bundle::text(format!("{head}\n{text}"))
        .with_html(format!(
            "<p>{}</p><pre>{}</pre>",
            escape_html(&head),
            escape_html(&text)
        ))
}
