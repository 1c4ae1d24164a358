//! Writes a circuit as OpenQASM 2.0 with `qelib1.inc` (Quantinuum's `honeywell.openqasm.v1`).

use std::fmt::Write;

use crate::circuit::{Circuit, Gate, GateKind, Op};
use crate::error::ProgramError;

/// `ryy` is not in qelib1; it is written as a gate of its own when used.
const RYY: &str = "gate ryy(theta) a, b { rx(pi/2) a; rx(pi/2) b; cx a, b; rz(theta) b; cx a, b; rx(-pi/2) a; rx(-pi/2) b; }\n";

pub fn to_qasm(c: &Circuit) -> Result<String, ProgramError> {
    let mut out = String::from("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n");
    if c.ops.iter().any(|op| {
        matches!(
            inner(op),
            Op::Gate(Gate {
                kind: GateKind::Ryy,
                ..
            })
        )
    }) {
        out.push_str(RYY);
    }
    for r in &c.qregs {
        let _ = writeln!(out, "qreg {}[{}];", r.name, r.len);
    }
    for r in &c.cregs {
        let _ = writeln!(out, "creg {}[{}];", r.name, r.len);
    }
    for op in &c.ops {
        out.push_str(&op_line(c, op)?);
        out.push('\n');
    }
    Ok(out)
}

fn inner(op: &Op) -> &Op {
    match op {
        Op::If { op, .. } => inner(op),
        other => other,
    }
}

fn qubit(c: &Circuit, q: usize) -> String {
    let r = c
        .qregs
        .iter()
        .find(|r| q >= r.offset && q < r.offset + r.len)
        .expect("qubit in a register");
    format!("{}[{}]", r.name, q - r.offset)
}

fn clbit(c: &Circuit, b: usize) -> String {
    let r = c
        .cregs
        .iter()
        .find(|r| b >= r.offset && b < r.offset + r.len)
        .expect("bit in a register");
    format!("{}[{}]", r.name, b - r.offset)
}

fn op_line(c: &Circuit, op: &Op) -> Result<String, ProgramError> {
    Ok(match op {
        Op::Gate(g) => gate_line(c, g)?,
        Op::Measure { qubit: q, clbit: b } => {
            format!("measure {} -> {};", qubit(c, q.to_owned()), clbit(c, *b))
        }
        Op::Reset { qubit: q } => format!("reset {};", qubit(c, *q)),
        Op::Barrier { qubits } => {
            let qs: Vec<String> = qubits.iter().map(|q| qubit(c, *q)).collect();
            if qs.is_empty() {
                return Ok(String::new());
            }
            format!("barrier {};", qs.join(", "))
        }
        Op::If { creg, value, op } => format!(
            "if ({} == {value}) {}",
            c.cregs[*creg].name,
            op_line(c, op)?
        ),
    })
}

fn gate_line(c: &Circuit, g: &Gate) -> Result<String, ProgramError> {
    use GateKind::*;
    let name = match (g.kind, g.controls.len()) {
        (Id, 0) => "id",
        (X, 0) => "x",
        (Y, 0) => "y",
        (Z, 0) => "z",
        (H, 0) => "h",
        (S, 0) => "s",
        (Sdg, 0) => "sdg",
        (T, 0) => "t",
        (Tdg, 0) => "tdg",
        (Sx, 0) => "sx",
        (Sxdg, 0) => "sxdg",
        (Rx, 0) => "rx",
        (Ry, 0) => "ry",
        (Rz, 0) => "rz",
        (P, 0) => "u1",
        (U, 0) => "u3",
        (Swap, 0) => "swap",
        (Rxx, 0) => "rxx",
        (Ryy, 0) => "ryy",
        (Rzz, 0) => "rzz",
        (X, 1) => "cx",
        (Y, 1) => "cy",
        (Z, 1) => "cz",
        (H, 1) => "ch",
        (Sx, 1) => "csx",
        (Rx, 1) => "crx",
        (Ry, 1) => "cry",
        (Rz, 1) => "crz",
        (P, 1) => "cu1",
        (U, 1) => "cu3",
        (Swap, 1) => "cswap",
        (X, 2) => "ccx",
        (X, 3) => "c3x",
        (Sx, 3) => "c3sqrtx",
        (X, 4) => "c4x",
        (S | T | Sdg | Tdg, 1) => {
            let angle = match g.kind {
                S => "pi/2",
                T => "pi/4",
                Sdg => "-pi/2",
                _ => "-pi/4",
            };
            return Ok(format!(
                "cu1({angle}) {}, {};",
                qubit(c, g.controls[0]),
                qubit(c, g.targets[0])
            ));
        }
        (kind, n) => {
            return Err(ProgramError::unsupported(
                format!("`{kind}` with {n} control(s) has no OpenQASM 2 form in qelib1"),
                None,
            ));
        }
    };
    let params: Vec<String> = g.params.iter().map(|p| format!("{p:?}")).collect();
    let qubits: Vec<String> = g
        .controls
        .iter()
        .chain(&g.targets)
        .map(|q| qubit(c, *q))
        .collect();
    Ok(if params.is_empty() {
        format!("{name} {};", qubits.join(", "))
    } else {
        format!("{name}({}) {};", params.join(", "), qubits.join(", "))
    })
}
