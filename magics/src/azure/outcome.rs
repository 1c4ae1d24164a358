//! A finished job's output, in whichever provider format it came, read into one histogram
//! (IonQ's qubit-wide keys mapped back to the program's classical bits).

use azq_circuits::results::{self, Histogram};
use azq_client::JobDetails;
use serde_json::Value;

use super::errors::JobError;
use super::jobview;
use crate::bundle::{Bundle, escape_html};
use crate::spec::prose_html;

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
        if format.is_empty() {
            "an unnamed format"
        } else {
            format
        },
        if cut { " (the first 64 KiB)" } else { "" }
    );
    Bundle::text(format!("{head}\n{text}")).with_html(format!(
        "<p>{}</p><pre>{}</pre>",
        prose_html(&head),
        escape_html(&text)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ionq_job(meta: &[(&str, &str)]) -> JobDetails {
        JobDetails {
            id: "j".into(),
            target: "ionq.simulator".into(),
            output_data_format: Some("ionq.quantum-results.v1".into()),
            metadata: Some(
                meta.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..JobDetails::default()
        }
    }

    #[test]
    fn ionq_keys_are_read_back_through_the_measurement_map() {
        // Three qubits; the program measures qubit 2 into c[0] and qubit 0 into c[1].
        let job = ionq_job(&[("num_qubits", "3"), ("meas_map", "[2, 0]")]);
        // Key 1 = qubit 0 set; key 4 = qubit 2 set; key 6 = qubits 1 and 2 set.
        let value = json!({"histogram": {"1": 0.5, "4": 0.25, "6": 0.25}});
        let h = decode(&job, "ionq.quantum-results.v1", &value).unwrap();
        let got: Vec<(&str, f64)> = h.outcomes.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        // c = c[1] c[0]: qubit 0 set → "10"; qubit 2 set → "01" (twice: 0.25 + 0.25).
        assert_eq!(got, [("01", 0.5), ("10", 0.5)]);
    }

    #[test]
    fn ionq_without_metadata_spans_the_widest_key_and_bad_output_is_named() {
        let job = ionq_job(&[]);
        let value = json!({"histogram": {"0": 0.5, "3": 0.5}});
        let h = decode(&job, "ionq.quantum-results.v1", &value).unwrap();
        assert_eq!(h.outcomes.keys().collect::<Vec<_>>(), ["00", "11"]);
        // A measurement map that names a qubit the circuit lacks is ignored, not indexed.
        let job = ionq_job(&[("num_qubits", "2"), ("meas_map", "[7]")]);
        assert_eq!(decode(&job, "ionq.quantum-results.v1", &value).unwrap(), h);
        let err = show(&job, b"not json").unwrap_err();
        assert_eq!(err.name(), "JobOutputDownloadFailed");
    }
}
