//! IonQ circuit JSON (`ionq.circuit.v1`, the `qis` gate set): writing a circuit for IonQ
//! targets, and reading what any client sends.

use serde_json::{Value, json};

use crate::circuit::{Circuit, Gate, GateKind, Op};
use crate::decompose::{euler, single_control};
use crate::error::ProgramError;

/// A circuit in IonQ's JSON, and which qubit each classical bit reads (IonQ measures
/// every qubit at the end; `meas_map[clbit] = qubit`).
#[derive(Debug, Clone, PartialEq)]
pub struct IonqProgram {
    pub json: Value,
    pub meas_map: Vec<Option<usize>>,
}

fn unsupported(what: &str) -> ProgramError {
    ProgramError::unsupported(
        format!("{what} cannot be written for IonQ (ionq.circuit.v1)"),
        None,
    )
}

fn one_or_many(key: &str, qs: &[usize]) -> (String, Value) {
    if qs.len() == 1 {
        (key.to_owned(), json!(qs[0]))
    } else {
        (format!("{key}s"), json!(qs))
    }
}

fn entry(name: &str, g: &Gate, rotation: Option<f64>) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("gate".into(), json!(name));
    if !g.controls.is_empty() {
        let (k, v) = one_or_many("control", &g.controls);
        m.insert(k, v);
    }
    let (k, v) = one_or_many("target", &g.targets);
    m.insert(k, v);
    if let Some(r) = rotation {
        m.insert("rotation".into(), json!(r));
    }
    Value::Object(m)
}

fn write_gate(g: &Gate, out: &mut Vec<Value>) -> Result<(), ProgramError> {
    use GateKind::*;
    let simple = match g.kind {
        X if g.controls.len() == 1 => Some("cnot"),
        X => Some("x"),
        Y => Some("y"),
        Z => Some("z"),
        H => Some("h"),
        S => Some("s"),
        Sdg => Some("si"),
        T => Some("t"),
        Tdg => Some("ti"),
        Sx => Some("v"),
        Sxdg => Some("vi"),
        _ => None,
    };
    if let Some(name) = simple {
        out.push(entry(name, g, None));
        return Ok(());
    }
    let rotation = match g.kind {
        Rx => Some("rx"),
        Ry => Some("ry"),
        Rz => Some("rz"),
        Rxx => Some("xx"),
        Ryy => Some("yy"),
        Rzz => Some("zz"),
        _ => None,
    };
    if let Some(name) = rotation {
        out.push(entry(name, g, Some(g.params[0])));
        return Ok(());
    }
    match (g.kind, g.controls.len()) {
        (Id, _) => Ok(()),
        (Swap, 0) => {
            out.push(entry("swap", g, None));
            Ok(())
        }
        (P, 0) => write_gate(
            &Gate {
                kind: Rz,
                ..g.clone()
            },
            out,
        ),
        (U, 0) => euler(g).iter().try_for_each(|e| write_gate(e, out)),
        (P | U | Swap, 1) => single_control(g)
            .ok_or_else(|| unsupported("this controlled gate"))?
            .iter()
            .try_for_each(|e| write_gate(e, out)),
        (kind, n) => Err(unsupported(&format!("`{kind}` with {n} control(s)"))),
    }
}

/// Writes a circuit. Measurements must come last (IonQ measures every qubit at the end);
/// resets and conditions have no IonQ form.
pub fn write(c: &Circuit) -> Result<IonqProgram, ProgramError> {
    if c.has_midcircuit_ops() {
        return Err(unsupported(
            "a circuit with mid-circuit measurement, reset or conditions",
        ));
    }
    let mut circuit = Vec::new();
    let mut meas_map = vec![None; c.num_clbits()];
    for op in &c.ops {
        match op {
            Op::Gate(g) => write_gate(g, &mut circuit)?,
            Op::Measure { qubit, clbit } => meas_map[*clbit] = Some(*qubit),
            Op::Barrier { .. } => {}
            Op::Reset { .. } | Op::If { .. } => return Err(unsupported("reset or a condition")),
        }
    }
    Ok(IonqProgram {
        json: json!({ "qubits": c.num_qubits(), "circuit": circuit }),
        meas_map,
    })
}

fn bad(at: usize, message: String) -> ProgramError {
    ProgramError::invalid(format!("circuit[{at}]: {message}"), None)
}

fn qubit_list(v: &Value, n: usize, at: usize, key: &str) -> Result<Vec<usize>, ProgramError> {
    let list: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    list.into_iter()
        .map(|q| {
            q.as_u64()
                .filter(|q| (*q as usize) < n)
                .map(|q| q as usize)
                .ok_or_else(|| {
                    bad(
                        at,
                        format!("`{key}` must be qubit numbers below {n}, not {q}"),
                    )
                })
        })
        .collect()
}

/// Reads IonQ circuit JSON (the `qis` gate set) into a circuit that measures every qubit.
pub fn read(text: &str) -> Result<Circuit, ProgramError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| ProgramError::syntax(format!("JSON ({e})"), 0))?;
    let n = v.get("qubits").and_then(Value::as_u64).ok_or_else(|| {
        ProgramError::invalid("IonQ JSON needs `qubits`: the number of qubits", None)
    })?;
    if n == 0 || n > crate::qasm::MAX_REGISTER_BITS / 2 {
        return Err(ProgramError::invalid(
            format!(
                "`qubits` must be between 1 and {}, not {n}",
                crate::qasm::MAX_REGISTER_BITS / 2
            ),
            None,
        ));
    }
    let n = n as usize;
    if let Some(set) = v
        .get("gateset")
        .and_then(Value::as_str)
        .filter(|s| *s != "qis")
    {
        return Err(ProgramError::unsupported(
            format!("gate set `{set}` is not supported; use the `qis` gate set"),
            None,
        ));
    }
    let gates = v
        .get("circuit")
        .and_then(Value::as_array)
        .ok_or_else(|| ProgramError::invalid("IonQ JSON needs `circuit`: a list of gates", None))?;
    let mut c = Circuit::default();
    c.add_qreg("q", n);
    c.add_creg("c", n);
    for (at, item) in gates.iter().enumerate() {
        let name = item
            .get("gate")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(at, "needs a `gate` name".into()))?;
        let targets = match item.get("targets").or_else(|| item.get("target")) {
            Some(t) => qubit_list(t, n, at, "targets")?,
            None => return Err(bad(at, "needs `target` or `targets`".into())),
        };
        let controls = match item.get("controls").or_else(|| item.get("control")) {
            Some(t) => qubit_list(t, n, at, "controls")?,
            None => Vec::new(),
        };
        let all: Vec<usize> = controls.iter().chain(&targets).copied().collect();
        if (1..all.len()).any(|i| all[..i].contains(&all[i])) {
            return Err(bad(at, "a qubit appears twice in one gate".into()));
        }
        if controls.len() > 7 {
            return Err(bad(at, "at most 7 controls".into()));
        }
        use GateKind::*;
        let (kind, arity, rotated) = match name {
            "x" | "not" | "cnot" => (X, 1, false),
            "y" => (Y, 1, false),
            "z" => (Z, 1, false),
            "h" => (H, 1, false),
            "s" => (S, 1, false),
            "si" => (Sdg, 1, false),
            "t" => (T, 1, false),
            "ti" => (Tdg, 1, false),
            "v" => (Sx, 1, false),
            "vi" => (Sxdg, 1, false),
            "rx" => (Rx, 1, true),
            "ry" => (Ry, 1, true),
            "rz" => (Rz, 1, true),
            "swap" => (Swap, 2, false),
            "xx" => (Rxx, 2, true),
            "yy" => (Ryy, 2, true),
            "zz" => (Rzz, 2, true),
            other => {
                return Err(bad(
                    at,
                    format!("unknown gate `{other}` in the qis gate set"),
                ));
            }
        };
        if targets.len() != arity {
            return Err(bad(
                at,
                format!("`{name}` takes {arity} target(s), not {}", targets.len()),
            ));
        }
        if name == "cnot" && controls.is_empty() {
            return Err(bad(at, "`cnot` needs a `control`".into()));
        }
        let params = if rotated {
            let r = item
                .get("rotation")
                .and_then(Value::as_f64)
                .filter(|r| r.is_finite())
                .ok_or_else(|| bad(at, format!("`{name}` needs a finite `rotation` in radians")))?;
            vec![r]
        } else {
            Vec::new()
        };
        c.ops.push(Op::Gate(Gate {
            kind,
            params,
            controls,
            targets,
        }));
    }
    for q in 0..n {
        c.ops.push(Op::Measure { qubit: q, clbit: q });
    }
    Ok(c)
}
