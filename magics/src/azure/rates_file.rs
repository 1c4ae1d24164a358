//! A workspace's own IonQ rates for cost estimates: `AZQ_PRICING_FILE` names a JSON file
//! `{"checked": "2027-01-15", "targets": {"ionq.qpu.aria-1": {"one_qubit": 0.0002,
//! "two_qubit": 0.001, "minimum": 90}}}`, read (bounded) and checked whenever an estimate is made.

use std::io::Read;

use serde_json::Value;

use super::errors::JobError;
use crate::vars::Vars;

/// The largest rates file read.
pub const MAX_BYTES: u64 = 64 * 1024;
/// The most targets one file may price.
const MAX_TARGETS: usize = 1000;

/// One target's gate-shot rates in USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub one: f64,
    pub two: f64,
    pub minimum: f64,
}

/// The rates a file sets, where it is and the date it says they were checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RatesFile {
    pub path: String,
    pub checked: Option<String>,
    targets: Vec<(String, Rates)>,
}

impl RatesFile {
    /// The rates this file sets for `target` (ids compare without case).
    pub fn rates(&self, target: &str) -> Option<Rates> {
        self.targets
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(target))
            .map(|(_, r)| *r)
    }
}

fn invalid(path: &str, why: impl std::fmt::Display) -> JobError {
    JobError::InvalidPricingFile {
        message: format!(
            "AZQ_PRICING_FILE ({path}) {why}; fix the file, or unset it with \
             `%env -u AZQ_PRICING_FILE` to use the published rates; nothing was submitted"
        ),
    }
}

/// The session's rates file, when `AZQ_PRICING_FILE` is set.
pub fn load(vars: &Vars) -> Result<Option<RatesFile>, JobError> {
    let Some(path) = vars.get("AZQ_PRICING_FILE").filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let file =
        std::fs::File::open(&path).map_err(|e| invalid(&path, format!("cannot be read: {e}")))?;
    let mut text = String::new();
    file.take(MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| invalid(&path, format!("cannot be read as UTF-8 text: {e}")))?;
    if text.len() as u64 > MAX_BYTES {
        return Err(invalid(&path, format!("is over {MAX_BYTES} bytes")));
    }
    parse(&path, &text).map(Some)
}

/// Checks and reads a rates file's text.
pub fn parse(path: &str, text: &str) -> Result<RatesFile, JobError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        invalid(
            path,
            format!("is not JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    let Value::Object(top) = value else {
        return Err(invalid(path, "must be a JSON object with `targets`"));
    };
    if let Some(k) = top.keys().find(|k| *k != "checked" && *k != "targets") {
        return Err(invalid(
            path,
            format!("has `{}`; only `checked` and `targets` are read", short(k)),
        ));
    }
    let checked = match top.get("checked") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= 40 => Some(s.clone()),
        Some(_) => {
            return Err(invalid(
                path,
                "`checked` must be a short date, e.g. \"2027-01-15\"",
            ));
        }
    };
    let Some(Value::Object(targets)) = top.get("targets") else {
        return Err(invalid(
            path,
            "must have `targets`, an object of target ids",
        ));
    };
    if targets.len() > MAX_TARGETS {
        return Err(invalid(
            path,
            format!("prices more than {MAX_TARGETS} targets"),
        ));
    }
    let mut out = Vec::with_capacity(targets.len());
    for (id, rates) in targets {
        let shown = short(id);
        if !id.to_ascii_lowercase().starts_with("ionq.") || super::pricing::is_simulator(id) {
            return Err(invalid(
                path,
                format!("prices `{shown}`; only IonQ QPU targets (gate-shot rates) can be set"),
            ));
        }
        let Value::Object(fields) = rates else {
            return Err(invalid(
                path,
                format!("`{shown}` must be an object of rates"),
            ));
        };
        if let Some(k) = fields
            .keys()
            .find(|k| !["one_qubit", "two_qubit", "minimum"].contains(&k.as_str()))
        {
            return Err(invalid(
                path,
                format!(
                    "`{shown}` has `{}`; the rates are one_qubit, two_qubit and minimum",
                    short(k)
                ),
            ));
        }
        let number = |name: &str| match fields.get(name).and_then(Value::as_f64) {
            Some(n) if n.is_finite() && (0.0..=1e9).contains(&n) => Ok(n),
            _ => Err(invalid(
                path,
                format!("`{shown}` needs `{name}`, a number of US dollars from 0 to 1e9"),
            )),
        };
        out.push((
            id.clone(),
            Rates {
                one: number("one_qubit")?,
                two: number("two_qubit")?,
                minimum: number("minimum")?,
            },
        ));
    }
    Ok(RatesFile {
        path: path.to_owned(),
        checked,
        targets: out,
    })
}

/// A name from the file, cut short for a message.
fn short(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ionq_rates_and_refuses_what_it_cannot_use() {
        let f = parse(
            "r.json",
            r#"{"checked": "2027-01-15", "targets": {"ionq.qpu.aria-1": {"one_qubit": 0.0003, "two_qubit": 0.002, "minimum": 50}}}"#,
        )
        .unwrap();
        assert_eq!(f.checked.as_deref(), Some("2027-01-15"));
        assert_eq!(
            f.rates("IonQ.QPU.Aria-1"),
            Some(Rates {
                one: 0.0003,
                two: 0.002,
                minimum: 50.0
            })
        );
        assert_eq!(f.rates("ionq.qpu.forte-1"), None);
        for (bad, says) in [
            ("[", "is not JSON"),
            ("[]", "JSON object"),
            (r#"{"targets": 1}"#, "must have `targets`"),
            (r#"{"rates": {}}"#, "only `checked` and `targets`"),
            (r#"{"checked": 5, "targets": {}}"#, "short date"),
            (
                r#"{"targets": {"quantinuum.qpu.h2-1": {}}}"#,
                "only IonQ QPU",
            ),
            (r#"{"targets": {"ionq.simulator": {}}}"#, "only IonQ QPU"),
            (
                r#"{"targets": {"ionq.qpu": {"one_qubit": 1, "two_qubit": 1}}}"#,
                "needs `minimum`",
            ),
            (
                r#"{"targets": {"ionq.qpu": {"one_qubit": -1, "two_qubit": 1, "minimum": 1}}}"#,
                "needs `one_qubit`",
            ),
            (
                r#"{"targets": {"ionq.qpu": {"one_qubit": 1, "two_qubit": 1, "minimum": 1, "max": 2}}}"#,
                "has `max`",
            ),
        ] {
            let e = parse("r.json", bad).unwrap_err();
            assert_eq!(e.name(), "InvalidPricingFile");
            assert!(e.to_string().contains(says), "{bad}: {e}");
            assert!(e.to_string().contains("r.json"), "{e}");
        }
    }
}
