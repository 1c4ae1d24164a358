//! What a job will cost before it is sent: the providers' published rates (with the date they
//! were checked), the operations of a program as submitted, and the estimate per target
//! (IonQ gate-shots in USD, Quantinuum HQC or emulator EHQC, time-billed QPUs said to be
//! unknowable, simulators free). Every figure is an estimate: providers bill what they compile.

use azq_circuits::circuit::{Circuit, Op};
use azq_circuits::formats::ionq;
use serde_json::{Map, Value, json};

use super::errors::JobError;
use super::rates_file::RatesFile;
use super::render::text_table;
use super::translate::Input;
use crate::bundle::{Bundle, escape_html};
use crate::spec::prose_html;

/// When the rates below were checked, and where.
pub const RATES_CHECKED: &str = "2026-12-03";
pub const RATES_SOURCE: &str = "learn.microsoft.com/azure/quantum/pricing";

/// The operations providers bill: one-qubit gates, two-qubit gates (a gate on n ≥ 3 qubits,
/// controls included, counts as 6 (n − 2) of them), and state preparations and measurements
/// (each qubit's initial preparation, every measurement and reset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub one: u64,
    pub two: u64,
    pub prep_measure: u64,
}

/// Counts the billed operations of `c`; a conditional operation counts as the operation.
pub fn counts(c: &Circuit) -> Counts {
    fn add(op: &Op, n: &mut Counts) {
        match op {
            Op::Gate(g) => {
                let qubits = (g.controls.len() + g.targets.len()) as u64;
                if qubits <= 1 {
                    n.one += 1;
                } else if qubits == 2 {
                    n.two += 1;
                } else {
                    n.two += 6 * (qubits - 2);
                }
            }
            Op::Measure { .. } | Op::Reset { .. } => n.prep_measure += 1,
            Op::Barrier { .. } => {}
            Op::If { op, .. } => add(op, n),
        }
    }
    let mut n = Counts {
        prep_measure: c.num_qubits() as u64,
        ..Counts::default()
    };
    for op in &c.ops {
        add(op, &mut n);
    }
    n
}

/// IonQ's rates per gate-shot and per program, in USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateShotRates {
    pub one: f64,
    pub two: f64,
    pub minimum: f64,
    /// Whether error mitigation is on (it sets Aria's minimum).
    pub mitigation: bool,
}

/// How a target bills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Billing {
    /// Nothing to pay (simulators, test targets); the reason.
    Free(&'static str),
    /// IonQ QPUs: gate-shots in USD with a minimum per program.
    GateShots(GateShotRates),
    /// Quantinuum: H-System Quantum Credits (`HQC`), or emulator credits (`EHQC`).
    Credits(&'static str),
    /// Quantinuum's syntax checkers: 0 HQC.
    Checker,
    /// Billed by QPU time (Rigetti, Pasqal): not known before the run.
    Time,
    /// A provider whose billing azq does not know.
    Unknown,
}

/// Whether `target` is a simulator or test target (never asks for confirmation).
pub fn is_simulator(target: &str) -> bool {
    let t = target.to_ascii_lowercase();
    t.contains(".sim.")
        || t.contains("simulator")
        || t.starts_with("echo")
        || t.ends_with("sc")
        || t == "microsoft.estimator"
}

/// Whether IonQ's error mitigation is on for these input parameters (on unless
/// `"error-mitigation": false` or `{"debias": false}`).
fn mitigation(params: &Map<String, Value>) -> bool {
    match params.get("error-mitigation") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Object(o)) => o.get("debias").and_then(Value::as_bool) != Some(false),
        _ => true,
    }
}

/// How `target` of `provider` bills a job with these input parameters.
pub fn billing(provider: &str, target: &str, params: &Map<String, Value>) -> Billing {
    let p = provider.to_ascii_lowercase();
    let t = target.to_ascii_lowercase();
    match p.as_str() {
        "ionq" if is_simulator(&t) => Billing::Free("IonQ's simulator is free"),
        "ionq" => {
            let mitigation = mitigation(params);
            Billing::GateShots(if t.contains("forte") {
                GateShotRates {
                    one: 0.0001645,
                    two: 0.001121,
                    minimum: 168.195,
                    mitigation,
                }
            } else {
                // Aria (and the unversioned `ionq.qpu`, billed at Aria's rates).
                GateShotRates {
                    one: 0.000220,
                    two: 0.000975,
                    minimum: if mitigation { 97.5 } else { 12.4167 },
                    mitigation,
                }
            })
        }
        "quantinuum" if t.ends_with("sc") => Billing::Checker,
        "quantinuum" if t.contains(".sim.") || t.ends_with('e') => Billing::Credits("EHQC"),
        "quantinuum" => Billing::Credits("HQC"),
        _ if is_simulator(&t) => Billing::Free("simulators and test targets are free"),
        "rigetti" | "pasqal" => Billing::Time,
        _ => Billing::Unknown,
    }
}

/// One line about how `target` bills, for its row.
pub fn summary(provider: &str, target: &str) -> String {
    match billing(provider, target, &Map::new()) {
        Billing::Free(why) => format!("free ({why})"),
        Billing::GateShots(r) => format!(
            "USD {} per 1-qubit and {} per 2-qubit gate-shot, minimum {} per program \
             (estimates; rates checked {RATES_CHECKED})",
            r.one, r.two, r.minimum
        ),
        Billing::Credits(c) => format!(
            "{c} = 5 + shots × (N1q + 10 N2q + 5 Nm) / 5000 (an estimate; formula checked \
             {RATES_CHECKED})"
        ),
        Billing::Checker => "free (syntax checker: 0 HQC)".to_owned(),
        Billing::Time => format!(
            "billed by QPU time; cannot be estimated before the run (checked {RATES_CHECKED})"
        ),
        Billing::Unknown => {
            "not known to azq; see the provider's pricing in the Azure portal".to_owned()
        }
    }
}

/// The shots a job runs when none are given (IonQ's API default; Quantinuum and the rest
/// run once).
fn default_shots(provider: &str) -> u64 {
    if provider.eq_ignore_ascii_case("ionq") {
        100
    } else {
        1
    }
}

/// Rounds to `places` decimals, as the providers report amounts.
fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// A job's estimated cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub program: String,
    pub target: String,
    pub billing: Billing,
    pub shots: u64,
    /// Whether `shots` is the target's default (none were given).
    pub default_shots: bool,
    /// The operations of the program as submitted (for targets that bill by them).
    pub counts: Option<Counts>,
    /// The total in `currency`, where it can be known.
    pub total: Option<f64>,
    /// The workspace's rates file the rates came from (`AZQ_PRICING_FILE`), and its date.
    pub rates_from: Option<(String, Option<String>)>,
}

impl Estimate {
    pub fn currency(&self) -> Option<&'static str> {
        match self.billing {
            Billing::GateShots(_) => Some("USD"),
            Billing::Credits(c) => Some(c),
            Billing::Checker => Some("HQC"),
            Billing::Free(_) | Billing::Time | Billing::Unknown => None,
        }
    }

    /// Whether submitting asks first: every target that is not a simulator.
    pub fn asks(&self) -> bool {
        !is_simulator(&self.target) && !matches!(self.billing, Billing::Free(_))
    }

    /// The question a submission asks.
    pub fn question(&self) -> String {
        let cost = match (self.total, self.currency()) {
            (Some(t), Some(c)) => format!("an estimated {t:.2} {c}"),
            _ => "a cost that cannot be estimated before the run".to_owned(),
        };
        format!(
            "Submit `{}` to {} for {cost}? [y/N] ",
            self.program, self.target
        )
    }

    /// The first line: what the estimate is of.
    fn heading(&self) -> String {
        let shots = if self.default_shots {
            format!("{} shots (the target's default; give shots=N)", self.shots)
        } else {
            format!("{} shots", self.shots)
        };
        match self.billing {
            Billing::Free(why) => format!(
                "`{}` on {}: free ({why}); nothing is billed.",
                self.program, self.target
            ),
            Billing::Time => format!(
                "`{}` on {}, {shots}: {} bills by QPU time, so the cost cannot be estimated \
                 before the run.",
                self.program, self.target, self.target
            ),
            Billing::Unknown => format!(
                "`{}` on {}, {shots}: azq does not know how {} bills, so the cost cannot be \
                 estimated; see the provider's pricing in the Azure portal.",
                self.program, self.target, self.target
            ),
            _ => format!(
                "Estimated cost of `{}` on {}, {shots} (an estimate: providers bill the circuit \
                 they compile):",
                self.program, self.target
            ),
        }
    }

    fn note(&self) -> String {
        let extra = match self.billing {
            Billing::GateShots(r) if r.mitigation => {
                " Error mitigation is on (the default); `jobParams={\"error-mitigation\": \
                 {\"debias\": false}}` turns it off."
            }
            Billing::GateShots(_) => " Error mitigation is off.",
            Billing::Credits(_) | Billing::Checker => {
                " Dollar rates depend on the subscription's plan."
            }
            _ => "",
        };
        match &self.rates_from {
            Some((path, checked)) => format!(
                "Rates from AZQ_PRICING_FILE ({path}){}.{extra}",
                checked
                    .as_ref()
                    .map_or(String::new(), |c| format!(", checked {c}"))
            ),
            None => {
                format!("Rates as published on {RATES_SOURCE}, checked {RATES_CHECKED}.{extra}")
            }
        }
    }

    /// The table's rows: item, quantity, unit price, amount.
    fn rows(&self) -> Vec<[String; 4]> {
        let n = self.counts.unwrap_or_default();
        let total = self.total.unwrap_or(0.0);
        let dash = || "-".to_owned();
        match self.billing {
            Billing::GateShots(r) => {
                let (g1, g2) = (self.shots * n.one, self.shots * n.two);
                vec![
                    [
                        format!(
                            "1-qubit gate-shots ({} gates × {} shots)",
                            n.one, self.shots
                        ),
                        g1.to_string(),
                        format!("{}", r.one),
                        format!("{:.2}", g1 as f64 * r.one),
                    ],
                    [
                        format!(
                            "2-qubit gate-shots ({} gates × {} shots)",
                            n.two, self.shots
                        ),
                        g2.to_string(),
                        format!("{}", r.two),
                        format!("{:.2}", g2 as f64 * r.two),
                    ],
                    [
                        "Minimum per program".to_owned(),
                        dash(),
                        dash(),
                        format!("{:.2}", r.minimum),
                    ],
                    [
                        "Estimated total (USD)".to_owned(),
                        dash(),
                        dash(),
                        format!("{total:.2}"),
                    ],
                ]
            }
            Billing::Credits(_) | Billing::Checker => {
                let c = self.currency().unwrap_or("HQC");
                vec![
                    [
                        "1-qubit operations (N1q)".into(),
                        n.one.to_string(),
                        dash(),
                        dash(),
                    ],
                    [
                        "2-qubit operations (N2q)".into(),
                        n.two.to_string(),
                        dash(),
                        dash(),
                    ],
                    [
                        "Preparations and measurements (Nm)".into(),
                        n.prep_measure.to_string(),
                        dash(),
                        dash(),
                    ],
                    [
                        format!("Estimated total ({c} = 5 + shots × (N1q + 10 N2q + 5 Nm) / 5000)"),
                        dash(),
                        dash(),
                        format!("{total:.2}"),
                    ],
                ]
            }
            Billing::Free(_) | Billing::Time | Billing::Unknown => Vec::new(),
        }
    }

    /// The estimate as text, HTML and data.
    pub fn bundle(&self) -> Bundle {
        let heading = self.heading();
        let note = self.note();
        let rows = self.rows();
        let heads = ["Item", "Quantity", "Unit price", "Amount"];
        let plain = if rows.is_empty() {
            format!("{heading}\n{note}")
        } else {
            format!("{heading}\n{}\n{note}", text_table(heads, &rows))
        };
        let table = if rows.is_empty() {
            String::new()
        } else {
            let body: String = rows
                .iter()
                .map(|r| {
                    format!(
                        "<tr><td style=\"text-align:start\">{}</td><td style=\"text-align:end\">{}</td>\
                         <td style=\"text-align:end\">{}</td><td style=\"text-align:end\">{}</td></tr>",
                        escape_html(&r[0]),
                        escape_html(&r[1]),
                        escape_html(&r[2]),
                        escape_html(&r[3])
                    )
                })
                .collect();
            format!(
                "<table><thead><tr>{}</tr></thead><tbody>{body}</tbody></table>",
                heads
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        let side = if i == 0 { "start" } else { "end" };
                        format!("<th style=\"text-align:{side}\">{h}</th>")
                    })
                    .collect::<String>()
            )
        };
        let html = format!(
            "<div class=\"azq-estimate\"><p>{}</p>{table}<p><small>{}</small></p></div>",
            prose_html(&heading),
            prose_html(&note)
        );
        let n = self.counts;
        let data = json!({
            "program": self.program,
            "target": self.target,
            "shots": self.shots,
            "billing": match self.billing {
                Billing::Free(_) => "free",
                Billing::GateShots(_) => "gate-shots",
                Billing::Credits(_) | Billing::Checker => "credits",
                Billing::Time => "time",
                Billing::Unknown => "unknown",
            },
            "counts": n.map(|n| json!({"one_qubit": n.one, "two_qubit": n.two, "prep_measure": n.prep_measure})),
            "unit_prices": match self.billing {
                Billing::GateShots(r) => json!({"one_qubit": r.one, "two_qubit": r.two}),
                _ => Value::Null,
            },
            "minimum": match self.billing {
                Billing::GateShots(r) => json!(r.minimum),
                _ => Value::Null,
            },
            "total": self.total,
            "currency": self.currency(),
            "rates_checked": RATES_CHECKED,
        });
        Bundle::text(plain)
            .with_html(html)
            .with_data("estimate", data)
    }
}

/// The estimated cost of running `input` (the program `program` translated for `target`), at
/// the published rates or those of the workspace's rates file.
pub fn estimate(
    provider: &str,
    target: &str,
    program: &str,
    input: &Input,
    file: Option<&RatesFile>,
) -> Result<Estimate, JobError> {
    let mut billing = billing(provider, target, &input.input_params);
    let mut rates_from = None;
    if let (Billing::GateShots(r), Some(f)) = (&mut billing, file)
        && let Some(own) = f.rates(target)
    {
        (r.one, r.two, r.minimum) = (own.one, own.two, own.minimum);
        rates_from = Some((f.path.clone(), f.checked.clone()));
    }
    let given = input
        .input_params
        .get("shots")
        .or_else(|| input.input_params.get("count"))
        .and_then(Value::as_u64);
    let shots = given.unwrap_or_else(|| default_shots(provider));
    let unreadable = |e: azq_circuits::ProgramError| JobError::InvalidProgram {
        message: format!("`{program}` as translated for {target} cannot be counted: {e}"),
        span: None,
    };
    let text = std::str::from_utf8(&input.bytes).map_err(|_| JobError::InvalidProgram {
        message: format!("`{program}` as translated for {target} is not UTF-8"),
        span: None,
    })?;
    // Count the program as it will be submitted: the translated text, read back.
    let counts = match billing {
        Billing::GateShots(_) => Some(counts(&ionq::read(text).map_err(unreadable)?)),
        Billing::Credits(_) | Billing::Checker => {
            Some(counts(&azq_circuits::qasm::load(text).map_err(unreadable)?))
        }
        Billing::Free(_) | Billing::Time | Billing::Unknown => None,
    };
    let total = counts.and_then(|n| match billing {
        Billing::GateShots(r) => Some(gate_shot_cost(r, n, shots)),
        Billing::Credits(_) => Some(hqc(n, shots)),
        Billing::Checker => Some(0.0),
        _ => None,
    });
    Ok(Estimate {
        program: program.to_owned(),
        target: target.to_owned(),
        billing,
        shots,
        default_shots: given.is_none(),
        counts,
        total,
        rates_from,
    })
}

/// IonQ: max(minimum, shots × (N1q × p1 + N2q × p2)), in USD, to the cent.
pub fn gate_shot_cost(r: GateShotRates, n: Counts, shots: u64) -> f64 {
    let gates = shots as f64 * (n.one as f64 * r.one + n.two as f64 * r.two);
    round(gates.max(r.minimum), 2)
}

/// Quantinuum: 5 + shots × (N1q + 10 N2q + 5 Nm) / 5000, to two decimals.
pub fn hqc(n: Counts, shots: u64) -> f64 {
    let ops = n.one as f64 + 10.0 * n.two as f64 + 5.0 * n.prep_measure as f64;
    round(5.0 + shots as f64 * ops / 5000.0, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circuit(body: &str) -> Circuit {
        azq_circuits::qasm::load(&format!("OPENQASM 2.0; include \"qelib1.inc\"; {body}")).unwrap()
    }

    #[test]
    fn a_ccx_counts_six_two_qubit_gates_and_preparations_count_every_qubit() {
        let c = circuit(
            "qreg q[3]; creg c[3]; h q[0]; cx q[0], q[1]; ccx q[0], q[1], q[2]; barrier q; \
             reset q[2]; measure q -> c; if (c == 1) x q[0];",
        );
        // h and the conditional x; cx + 6 for the ccx; 3 preparations, 1 reset, 3 measurements.
        assert_eq!(
            counts(&c),
            Counts {
                one: 2,
                two: 7,
                prep_measure: 7
            }
        );
        // A gate on 4 qubits counts 6 × 2.
        let c = circuit("qreg q[4]; c3x q[0], q[1], q[2], q[3];");
        assert_eq!(counts(&c).two, 12);
    }

    #[test]
    fn aria_has_two_minima_and_forte_its_own() {
        let none = Map::new();
        let off: Map<String, Value> =
            serde_json::from_str(r#"{"error-mitigation": {"debias": false}}"#).unwrap();
        let off_bool: Map<String, Value> =
            serde_json::from_str(r#"{"error-mitigation": false}"#).unwrap();
        let Billing::GateShots(on) = billing("ionq", "ionq.qpu.aria-1", &none) else {
            panic!()
        };
        assert_eq!(on.minimum, 97.5);
        let Billing::GateShots(r) = billing("ionq", "ionq.qpu.aria-1", &off) else {
            panic!()
        };
        assert_eq!(r.minimum, 12.4167);
        assert_eq!(
            billing("ionq", "ionq.qpu.aria-1", &off_bool),
            billing("ionq", "ionq.qpu.aria-1", &off)
        );
        let Billing::GateShots(f) = billing("IonQ", "ionq.qpu.forte-1", &none) else {
            panic!()
        };
        assert_eq!((f.one, f.two, f.minimum), (0.0001645, 0.001121, 168.195));
        // A Bell pair (1 one-qubit, 1 two-qubit gate), 100 shots: 100 × (0.00022 + 0.000975)
        // = $0.1195, under both minima.
        let bell = Counts {
            one: 1,
            two: 1,
            prep_measure: 4,
        };
        assert_eq!(gate_shot_cost(on, bell, 100), 97.5);
        assert_eq!(gate_shot_cost(r, bell, 100), 12.42);
        // 10 one-qubit and 20 two-qubit gates, 10,000 shots: 10,000 × (0.0022 + 0.0195) = $217.
        let big = Counts {
            one: 10,
            two: 20,
            prep_measure: 0,
        };
        assert_eq!(gate_shot_cost(on, big, 10_000), 217.0);
        // Forte: 10,000 × (0.001645 + 0.02242) = $240.65.
        assert_eq!(gate_shot_cost(f, big, 10_000), 240.65);
    }

    #[test]
    fn quantinuum_credits_count_measurements_and_preparations() {
        // Bell on 2 qubits with 2 measurements: N1q 1, N2q 1, Nm 2 + 2 = 4; 1000 shots:
        // 5 + 1000 × (1 + 10 + 20) / 5000 = 5 + 6.2 = 11.2.
        let c = circuit("qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;");
        let n = counts(&c);
        assert_eq!(n.prep_measure, 4);
        assert_eq!(hqc(n, 1000), 11.2);
        assert_eq!(
            billing("quantinuum", "quantinuum.qpu.h2-1", &Map::new()),
            Billing::Credits("HQC")
        );
        assert_eq!(
            billing("quantinuum", "quantinuum.sim.h2-1e", &Map::new()),
            Billing::Credits("EHQC")
        );
        assert_eq!(
            billing("quantinuum", "quantinuum.sim.h2-1sc", &Map::new()),
            Billing::Checker
        );
    }

    fn input(provider: &str, target: &str, shots: Option<u64>) -> Input {
        let stored = super::super::programs::from_cell(
            "bell",
            "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;",
            0,
        )
        .unwrap();
        super::super::translate::translate(provider, target, &stored, shots, None).unwrap()
    }

    #[test]
    fn estimates_per_provider_from_the_translated_program() {
        let e = estimate(
            "ionq",
            "ionq.qpu.aria-1",
            "bell",
            &input("ionq", "ionq.qpu.aria-1", Some(100)),
            None,
        )
        .unwrap();
        assert_eq!(e.counts.map(|n| (n.one, n.two)), Some((1, 1)));
        assert_eq!(e.total, Some(97.5));
        assert!(e.asks());
        let e = estimate(
            "quantinuum",
            "quantinuum.sim.h2-1e",
            "bell",
            &input("quantinuum", "quantinuum.sim.h2-1e", Some(1000)),
            None,
        )
        .unwrap();
        assert_eq!((e.total, e.currency()), (Some(11.2), Some("EHQC")));
        assert!(!e.asks());
        let e = estimate(
            "quantinuum",
            "quantinuum.sim.h2-1sc",
            "bell",
            &input("quantinuum", "quantinuum.sim.h2-1sc", Some(1000)),
            None,
        )
        .unwrap();
        assert_eq!(e.total, Some(0.0));
        let e = estimate(
            "rigetti",
            "rigetti.qpu.ankaa-3",
            "bell",
            &input("rigetti", "rigetti.qpu.ankaa-3", None),
            None,
        )
        .unwrap();
        assert_eq!((e.billing, e.total), (Billing::Time, None));
        assert!(e.asks());
        assert!(e.bundle().plain().contains("cannot be estimated"));
        let e = estimate(
            "ionq",
            "ionq.simulator",
            "bell",
            &input("ionq", "ionq.simulator", None),
            None,
        )
        .unwrap();
        assert!(!e.asks() && e.total.is_none());
        assert!(e.bundle().plain().contains("free"));
        // A provider azq has no rates for: said so, and a QPU still asks.
        assert_eq!(
            billing("qci", "qci.machine1", &Map::new()),
            Billing::Unknown
        );
        assert!(matches!(
            billing("qci", "qci.simulator", &Map::new()),
            Billing::Free(_)
        ));
        let e = estimate(
            "qci",
            "qci.machine1",
            "bell",
            &input("qci", "qci.machine1", None),
            None,
        )
        .unwrap();
        assert!(e.asks() && e.bundle().plain().contains("cannot be estimated"));
    }

    #[test]
    fn a_rates_file_replaces_the_published_ionq_rates() {
        let file = super::super::rates_file::parse(
            "own.json",
            r#"{"checked": "2027-01-15", "targets": {"ionq.qpu.aria-1": {"one_qubit": 0.001, "two_qubit": 0.01, "minimum": 1}}}"#,
        )
        .unwrap();
        let bell = input("ionq", "ionq.qpu.aria-1", Some(1000));
        // 1000 × (1 × 0.001 + 1 × 0.01) = 11.00, over the file's minimum of 1.
        let e = estimate("ionq", "ionq.qpu.aria-1", "bell", &bell, Some(&file)).unwrap();
        assert_eq!(e.total, Some(11.0));
        let shown = e.bundle();
        assert!(
            shown
                .plain()
                .contains("AZQ_PRICING_FILE (own.json), checked 2027-01-15")
        );
        // Targets the file does not name keep the published rates.
        let forte = input("ionq", "ionq.qpu.forte-1", Some(1000));
        let e = estimate("ionq", "ionq.qpu.forte-1", "bell", &forte, Some(&file)).unwrap();
        assert_eq!((e.total, e.rates_from), (Some(168.2), None));
    }
}
