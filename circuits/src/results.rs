//! Job results in each provider's own format, exactly as the service returns them, and the
//! reverse: any of those formats read into one [`Histogram`] for display.
//!
//! Bit strings are written most significant first: for a register `c`, `c[n-1]…c[0]`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::ProgramError;
use crate::formats::qir::Record;
use crate::sim::Shots;

/// Outcome label → probability (or observed frequency), and the shot count if known.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub outcomes: BTreeMap<String, f64>,
    pub shots: Option<usize>,
}

fn bits_msb_first(bits: &[bool]) -> String {
    bits.iter()
        .rev()
        .map(|b| if *b { '1' } else { '0' })
        .collect()
}

/// `ionq.quantum-results.v1` from exact probabilities over every qubit (what IonQ's
/// simulator returns): keys are the little-endian integer of the measured register.
pub fn ionq_exact(probabilities: &[f64]) -> Value {
    let mut h = Map::new();
    for (k, p) in probabilities.iter().enumerate() {
        if *p > 1e-12 {
            h.insert(k.to_string(), json!(p));
        }
    }
    json!({ "histogram": h })
}

/// `ionq.quantum-results.v1` from shots (what a QPU returns): observed frequencies.
/// `shots` must have one bit per qubit (IonQ measures them all).
pub fn ionq_from_shots(shots: &Shots) -> Value {
    let total = shots.total().max(1) as f64;
    let mut h = Map::new();
    for (bits, n) in &shots.counts {
        let k = bits
            .iter()
            .enumerate()
            .fold(0u128, |k, (i, b)| k | (u128::from(*b) << i));
        h.insert(k.to_string(), json!(*n as f64 / total));
    }
    json!({ "histogram": h })
}

/// `honeywell.quantum-results.v1`: per classical register, one bit string per shot.
pub fn quantinuum(shots: &Shots, cregs: &[crate::Register]) -> Value {
    let mut m = Map::new();
    for r in cregs {
        let list: Vec<Value> = shots
            .shots
            .iter()
            .map(|s| Value::String(bits_msb_first(&s[r.offset..r.offset + r.len])))
            .collect();
        m.insert(r.name.clone(), Value::Array(list));
    }
    Value::Object(m)
}

/// `rigetti.quil-results.v1`: per region, one list of 0/1 per shot in index order.
pub fn rigetti(shots: &Shots, cregs: &[crate::Register]) -> Value {
    let mut m = Map::new();
    for r in cregs {
        let list: Vec<Value> = shots
            .shots
            .iter()
            .map(|s| {
                json!(
                    s[r.offset..r.offset + r.len]
                        .iter()
                        .map(|b| u8::from(*b))
                        .collect::<Vec<_>>()
                )
            })
            .collect();
        m.insert(r.name.clone(), Value::Array(list));
    }
    Value::Object(m)
}

/// One shot's recorded output as a value and its display text, following the records.
fn recorded(bits: &[bool], records: &[Record]) -> (Value, String) {
    fn take(bits: &[bool], records: &[Record], at: &mut usize) -> (Value, String) {
        let Some(record) = records.get(*at) else {
            return (Value::Null, String::new());
        };
        *at += 1;
        match record {
            Record::Result(i) => {
                let b = u8::from(bits.get(*i).copied().unwrap_or(false));
                (json!(b), b.to_string())
            }
            Record::Array(n) | Record::Tuple(n) => {
                let items: Vec<(Value, String)> =
                    (0..*n).map(|_| take(bits, records, at)).collect();
                let text = items
                    .iter()
                    .map(|(_, t)| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                if matches!(record, Record::Array(_)) {
                    (
                        Value::Array(items.into_iter().map(|(v, _)| v).collect()),
                        format!("[{text}]"),
                    )
                } else {
                    let obj: Map<String, Value> = items
                        .into_iter()
                        .enumerate()
                        .map(|(i, (v, _))| (format!("Item{}", i + 1), v))
                        .collect();
                    (Value::Object(obj), format!("({text})"))
                }
            }
        }
    }
    if records.is_empty() {
        return (json!([]), "[]".to_owned());
    }
    let mut at = 0;
    let mut parts = Vec::new();
    while at < records.len() {
        parts.push(take(bits, records, &mut at));
    }
    if parts.len() == 1 {
        parts.pop().expect("one part")
    } else {
        let text = parts
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let obj: Map<String, Value> = parts
            .into_iter()
            .enumerate()
            .map(|(i, (v, _))| (format!("Item{}", i + 1), v))
            .collect();
        (Value::Object(obj), format!("({text})"))
    }
}

/// `microsoft.quantum-results.v2` for a QIR job.
pub fn microsoft_v2(shots: &Shots, records: &[Record]) -> Value {
    let mut histogram: Vec<(String, Value, u64)> = Vec::new();
    let mut per_shot = Vec::with_capacity(shots.shots.len());
    for s in &shots.shots {
        let (value, display) = recorded(s, records);
        match histogram.iter_mut().find(|(d, _, _)| *d == display) {
            Some(entry) => entry.2 += 1,
            None => histogram.push((display, value.clone(), 1)),
        }
        per_shot.push(value);
    }
    let histogram: Vec<Value> = histogram
        .into_iter()
        .map(|(display, outcome, count)| json!({ "Outcome": outcome, "Display": display, "Count": count }))
        .collect();
    json!({
        "DataFormat": "microsoft.quantum-results.v2",
        "Results": [{ "Histogram": histogram, "Shots": per_shot }],
    })
}

/// `microsoft.quantum-results.v1`: a flat list alternating display text and probability.
pub fn microsoft_v1(shots: &Shots, records: &[Record]) -> Value {
    let total = shots.total().max(1) as f64;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (bits, n) in &shots.counts {
        *counts.entry(recorded(bits, records).1).or_default() += n;
    }
    let flat: Vec<Value> = counts
        .into_iter()
        .flat_map(|(d, n)| [json!(d), json!(n as f64 / total)])
        .collect();
    json!({ "Histogram": flat })
}

fn bad(format: &str, why: &str) -> ProgramError {
    ProgramError::invalid(format!("not a valid {format} result: {why}"), None)
}

/// Reads a result in the named output format into a histogram. `num_qubits` is needed for
/// IonQ's integer keys.
pub fn histogram(
    format: &str,
    value: &Value,
    num_qubits: usize,
) -> Result<Histogram, ProgramError> {
    match format {
        "ionq.quantum-results.v1" => {
            let h = value
                .get("histogram")
                .and_then(Value::as_object)
                .ok_or_else(|| bad(format, "no `histogram` object"))?;
            let mut out = Histogram::default();
            for (k, p) in h {
                let k: u128 = k
                    .parse()
                    .map_err(|_| bad(format, "keys must be integers"))?;
                let p = p
                    .as_f64()
                    .ok_or_else(|| bad(format, "values must be numbers"))?;
                let label: String = (0..num_qubits.max(1))
                    .rev()
                    .map(|i| if k >> i & 1 == 1 { '1' } else { '0' })
                    .collect();
                *out.outcomes.entry(label).or_default() += p;
            }
            Ok(out)
        }
        "honeywell.quantum-results.v1" | "quantinuum.quantum-results.v1" => {
            let m = value
                .as_object()
                .ok_or_else(|| bad(format, "not an object"))?;
            let regs: Vec<&Vec<Value>> = m
                .iter()
                .filter(|(k, _)| k.as_str() != "access_token")
                .map(|(_, v)| {
                    v.as_array()
                        .ok_or_else(|| bad(format, "each register must be a list"))
                })
                .collect::<Result<_, _>>()?;
            let shots = regs.first().map_or(0, |r| r.len());
            if regs.iter().any(|r| r.len() != shots) {
                return Err(bad(format, "registers have different shot counts"));
            }
            counts_to_histogram(
                (0..shots).map(|i| {
                    regs.iter()
                        .map(|r| r[i].as_str().unwrap_or("?"))
                        .collect::<String>()
                }),
                shots,
            )
        }
        "rigetti.quil-results.v1" => {
            let m = value
                .as_object()
                .ok_or_else(|| bad(format, "not an object"))?;
            let ro = m
                .get("ro")
                .or_else(|| m.values().next())
                .and_then(Value::as_array)
                .ok_or_else(|| bad(format, "no readout region"))?;
            let labels = ro.iter().map(|shot| {
                shot.as_array()
                    .map(|v| v.iter().rev().map(|b| b.to_string()).collect::<String>())
                    .unwrap_or_default()
            });
            counts_to_histogram(labels, ro.len())
        }
        "microsoft.quantum-results.v2" => {
            let result = value
                .get("Results")
                .and_then(Value::as_array)
                .and_then(|r| r.first())
                .ok_or_else(|| bad(format, "no `Results`"))?;
            let shots = result
                .get("Shots")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let h = result
                .get("Histogram")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(format, "no `Histogram`"))?;
            let mut out = Histogram {
                shots: Some(shots),
                ..Histogram::default()
            };
            for e in h {
                let d = e
                    .get("Display")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(format, "an entry has no `Display`"))?;
                let n = e
                    .get("Count")
                    .and_then(Value::as_f64)
                    .ok_or_else(|| bad(format, "an entry has no `Count`"))?;
                *out.outcomes.entry(d.to_owned()).or_default() += n / shots.max(1) as f64;
            }
            Ok(out)
        }
        "microsoft.quantum-results.v1" => {
            let flat = value
                .get("Histogram")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(format, "no `Histogram`"))?;
            let mut out = Histogram::default();
            for pair in flat.chunks(2) {
                let (Some(d), Some(p)) = (pair[0].as_str(), pair.get(1).and_then(Value::as_f64))
                else {
                    return Err(bad(
                        format,
                        "`Histogram` must alternate text and probability",
                    ));
                };
                *out.outcomes.entry(d.to_owned()).or_default() += p;
            }
            Ok(out)
        }
        other => Err(ProgramError::unsupported(
            format!("output format `{other}` is not known"),
            None,
        )),
    }
}

fn counts_to_histogram(
    labels: impl Iterator<Item = String>,
    shots: usize,
) -> Result<Histogram, ProgramError> {
    let mut out = Histogram {
        shots: Some(shots),
        ..Histogram::default()
    };
    for l in labels {
        *out.outcomes.entry(l).or_default() += 1.0 / shots.max(1) as f64;
    }
    Ok(out)
}
