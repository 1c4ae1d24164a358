//! What a finished job used, as its provider reports it: shots run, `usage` (standard
//! minutes plus the provider's billing unit) and `costEstimate` events in the recorded shapes
//! (IonQ gate-shots, Quantinuum HQC or emulator EHQC, Rigetti QPU time in 10 ms units, Pasqal
//! compute hours), and the workspace quotas summed from those jobs per provider, dimension
//! and period. Rates are research/pricing.md's; simulators cost nothing but still count.

use azq_circuits::circuit::{Circuit, Op};
use serde_json::{Value, json};

use crate::catalog::{Kind, Target};
use crate::store::{Item, Jobs};

/// The gates of a program as providers bill them: a gate on n ≥ 3 qubits (controls
/// included) counts as 6 (n − 2) two-qubit gates; preparations and measurements are every
/// qubit's initial preparation, each measurement and each reset.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub one: u64,
    pub two: u64,
    pub prep_measure: u64,
}

pub fn counts(c: &Circuit) -> Counts {
    fn op(o: &Op, n: &mut Counts) {
        match o {
            Op::Gate(g) => match g.controls.len() + g.targets.len() {
                0 | 1 => n.one += 1,
                2 => n.two += 1,
                k => n.two += 6 * (k as u64 - 2),
            },
            Op::Measure { .. } | Op::Reset { .. } => n.prep_measure += 1,
            Op::Barrier { .. } => {}
            Op::If { op: inner, .. } => op(inner, n),
        }
    }
    let mut n = Counts {
        prep_measure: c.num_qubits() as u64,
        ..Counts::default()
    };
    for o in &c.ops {
        op(o, &mut n);
    }
    n
}

/// What a run used, filled in as the runner learns it.
#[derive(Debug, Clone, Default)]
pub struct Used {
    pub shots: u64,
    pub counts: Option<Counts>,
    /// The output was translated (QIR results), so every shot was.
    pub translated: bool,
    /// The job's input parameters (IonQ's `error-mitigation` sets Aria's minimum).
    pub params: Value,
}

/// One `costEstimate` event: (dimensionId, dimensionName, measureUnit, consumed, billed, unitPrice).
type Event = (&'static str, &'static str, &'static str, f64, f64, f64);

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// IonQ's published rates: (1q, 2q, minimum per program). Error mitigation is on unless the
/// job says `"error-mitigation": false` or `{"debias": false}`; without it Aria's minimum is
/// lower (Forte's published minimum is the one with it on).
fn ionq_rates(target: &str, params: &Value) -> (f64, f64, f64) {
    let mitigation = match params.get("error-mitigation") {
        Some(Value::Bool(b)) => *b,
        Some(m) => m.get("debias").and_then(Value::as_bool) != Some(false),
        None => true,
    };
    if target.contains("forte") {
        (0.0001645, 0.001121, 168.195)
    } else if mitigation {
        (0.000220, 0.000975, 97.5)
    } else {
        (0.000220, 0.000975, 12.4167)
    }
}

/// The cost events of a finished run and the estimated total; `None` where the service
/// leaves `costEstimate` null (Microsoft's test targets, resource estimation).
fn events(target: &Target, used: &Used, seconds: f64) -> Option<(Vec<Event>, f64)> {
    let shots = used.shots as f64;
    let n = used.counts.unwrap_or_default();
    Some(match target.kind {
        Kind::IonqSimulator | Kind::IonqQpu => {
            let (g1, g2) = (shots * n.one as f64, shots * n.two as f64);
            let (p1, p2, min) = if target.kind == Kind::IonqQpu {
                ionq_rates(target.id, &used.params)
            } else {
                (0.0, 0.0, 0.0)
            };
            let billed = |g: f64| if target.kind == Kind::IonqQpu { g } else { 0.0 };
            let total = if target.kind == Kind::IonqQpu {
                (g1 * p1 + g2 * p2).max(min)
            } else {
                0.0
            };
            (
                vec![
                    ("gs1q", "1Q Gate Shot", "1q gate shot", g1, billed(g1), p1),
                    ("gs2q", "2Q Gate Shot", "2q gate shot", g2, billed(g2), p2),
                ],
                total,
            )
        }
        Kind::QuantinuumChecker => (vec![("hqc", "HQC", "hqc", 0.0, 0.0, 0.0)], 0.0),
        Kind::Quantinuum => {
            let hqc = round(
                5.0 + shots * (n.one as f64 + 10.0 * n.two as f64 + 5.0 * n.prep_measure as f64)
                    / 5000.0,
                2,
            );
            // Emulators (names ending in `e`) are billed in emulator credits.
            let event = if target.id.contains(".sim.") {
                ("ehqc", "EHQC", "hqc", hqc, hqc, 0.0)
            } else {
                ("hqc", "HQC", "hqc", hqc, hqc, 0.0)
            };
            (vec![event], 0.0)
        }
        Kind::Rigetti => {
            let centis = (seconds * 100.0).ceil().max(1.0);
            let billed = if target.id.contains(".sim.") {
                0.0
            } else {
                centis
            };
            (
                vec![(
                    "qpu_time_centiseconds",
                    "QPU Execution Time",
                    "10ms (rounded up)",
                    centis,
                    billed,
                    0.0,
                )],
                0.0,
            )
        }
        Kind::Pasqal => {
            let hours = round(seconds / 3600.0, 6);
            let (emu, qpu) = if target.id.contains(".sim.") {
                (hours, 0.0)
            } else {
                (0.0, hours)
            };
            (
                vec![
                    (
                        "compute-time-emu",
                        "Compute Time on HPC-based Emulators",
                        "per hour",
                        emu,
                        emu,
                        0.0,
                    ),
                    (
                        "compute-time-qpu",
                        "Compute Time on QPU",
                        "per hour",
                        qpu,
                        qpu,
                        0.0,
                    ),
                ],
                0.0,
            )
        }
        Kind::Estimator | Kind::Echo => return None,
    })
}

/// Records on a job that just succeeded what it used: shots, usage and cost.
pub fn finish(job: &mut Item, target: &Target, used: &Used, seconds: f64) {
    if job.get("shots").is_none_or(Value::is_null) {
        job.insert("shots".into(), json!(used.shots));
    }
    job.insert("shotsSucceeded".into(), json!(used.shots));
    job.insert("shotsFailed".into(), json!(0));
    job.insert(
        "shotsTranslated".into(),
        json!(if used.translated { used.shots } else { 0 }),
    );
    let mut usage = serde_json::Map::new();
    usage.insert("standardMinutes".into(), json!(round(seconds / 60.0, 6)));
    if let Some((events, total)) = events(target, used, seconds) {
        for e in &events {
            usage.insert(e.0.into(), json!(e.3));
        }
        let events: Vec<Value> = events
            .iter()
            .map(|(id, name, unit, consumed, billed, price)| {
                json!({ "dimensionId": id, "dimensionName": name, "measureUnit": unit,
                    "amountBilled": billed, "amountConsumed": consumed, "unitPrice": price })
            })
            .collect();
        job.insert(
            "costEstimate".into(),
            json!({ "currencyCode": "USD", "events": events, "estimatedTotal": total }),
        );
    }
    job.insert("usage".into(), Value::Object(usage));
}

/// A quota row: (provider, dimension, scope, period, limit, the usage keys it sums, scale).
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    &'static [&'static str],
    f64,
);

const ROWS: &[Row] = &[
    (
        "ionq",
        "qgs",
        "Workspace",
        "Monthly",
        1_000_000.0,
        &["gs1q", "gs2q"],
        1.0,
    ),
    (
        "quantinuum",
        "hqc",
        "Subscription",
        "Monthly",
        40.0,
        &["hqc"],
        1.0,
    ),
    (
        "quantinuum",
        "ehqc",
        "Subscription",
        "Monthly",
        1000.0,
        &["ehqc"],
        1.0,
    ),
    // Rigetti's minutes: QPU time in 10 ms units, 6000 to a minute; over the workspace's life.
    (
        "rigetti",
        "minutes",
        "Workspace",
        "None",
        60.0,
        &["qpu_time_centiseconds"],
        1.0 / 6000.0,
    ),
    (
        "pasqal",
        "hours",
        "Workspace",
        "Monthly",
        10.0,
        &["compute-time-emu", "compute-time-qpu"],
        1.0,
    ),
];

/// The workspace's quotas, each row's utilization summed from the usage of the jobs that
/// ended in its period (`Monthly`: this calendar month, UTC; `None`: ever).
pub fn quotas(jobs: &Jobs, now: &str) -> Vec<Value> {
    let month = now.get(..7).unwrap_or("");
    let mut sums = vec![0.0f64; ROWS.len()];
    for job in jobs.values() {
        let Some(Value::Object(usage)) = job.get("usage") else {
            continue;
        };
        let provider = job.get("providerId").and_then(Value::as_str).unwrap_or("");
        let ended = job
            .get("endExecutionTime")
            .and_then(Value::as_str)
            .unwrap_or("");
        for (sum, (p, _, _, period, _, keys, scale)) in sums.iter_mut().zip(ROWS) {
            if !provider.eq_ignore_ascii_case(p)
                || (*period == "Monthly" && !ended.starts_with(month))
            {
                continue;
            }
            *sum += keys
                .iter()
                .filter_map(|k| usage.get(*k).and_then(Value::as_f64))
                .sum::<f64>()
                * scale;
        }
    }
    ROWS.iter()
        .zip(sums)
        .map(|((p, dim, scope, period, limit, _, _), used)| {
            json!({ "dimension": dim, "scope": scope, "providerId": p,
                "utilization": round(used, 6), "holds": 0.0, "limit": limit, "period": period })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_are_counted_as_providers_bill_them() {
        let c = azq_circuits::qasm::load(
            "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[3]; creg c[3]; h q[0]; cx q[0], q[1]; ccx q[0], q[1], q[2]; barrier q; reset q[2]; measure q -> c; if (c == 1) x q[0];",
        )
        .unwrap();
        assert_eq!(
            counts(&c),
            Counts {
                one: 2,
                two: 1 + 6,
                prep_measure: 3 + 1 + 3
            }
        );
    }

    fn total(target: &str, used: &Used) -> f64 {
        let mut job = Item::new();
        finish(&mut job, crate::catalog::target(target).unwrap(), used, 1.0);
        job["costEstimate"]["estimatedTotal"].as_f64().unwrap()
    }

    #[test]
    fn aria_bills_a_lower_minimum_without_error_mitigation() {
        let bell = Counts {
            one: 1,
            two: 1,
            prep_measure: 4,
        };
        let mut used = Used {
            shots: 100,
            counts: Some(bell),
            ..Used::default()
        };
        assert_eq!(total("ionq.qpu.aria-1", &used), 97.5);
        used.params = serde_json::json!({"error-mitigation": {"debias": false}});
        assert_eq!(total("ionq.qpu.aria-1", &used), 12.4167);
        // Above the minimum the gates decide: 20,000 × (0.00022 + 0.000975) = 23.90.
        used.shots = 20_000;
        assert!((total("ionq.qpu.aria-1", &used) - 23.9).abs() < 1e-9);
    }
}
