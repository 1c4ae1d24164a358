//! The standard gate library `qelib1.inc`, built in, with the extended set Qiskit emits.
//! Most gates map straight onto the circuit model; the two relative-phase Toffolis are
//! written out in OpenQASM from their definitions.

use std::f64::consts::PI;

use crate::circuit::{Gate, GateKind};

/// (name, parameters, qubits) of every gate `include "qelib1.inc";` defines.
pub const SIGNATURES: &[(&str, usize, usize)] = &[
    ("u3", 3, 1),
    ("u2", 2, 1),
    ("u1", 1, 1),
    ("cx", 0, 2),
    ("id", 0, 1),
    ("u0", 1, 1),
    ("u", 3, 1),
    ("p", 1, 1),
    ("x", 0, 1),
    ("y", 0, 1),
    ("z", 0, 1),
    ("h", 0, 1),
    ("s", 0, 1),
    ("sdg", 0, 1),
    ("sx", 0, 1),
    ("sxdg", 0, 1),
    ("t", 0, 1),
    ("tdg", 0, 1),
    ("rx", 1, 1),
    ("ry", 1, 1),
    ("rz", 1, 1),
    ("swap", 0, 2),
    ("cswap", 0, 3),
    ("crx", 1, 2),
    ("cry", 1, 2),
    ("crz", 1, 2),
    ("cu1", 1, 2),
    ("cu3", 3, 2),
    ("csx", 0, 2),
    ("cu", 4, 2),
    ("rxx", 1, 2),
    ("rzz", 1, 2),
    ("rccx", 0, 3),
    ("rc3x", 0, 4),
    ("c3x", 0, 4),
    ("c3sqrtx", 0, 4),
    ("c4x", 0, 5),
    ("ccx", 0, 3),
    ("ch", 0, 2),
    ("cp", 1, 2),
    ("cy", 0, 2),
    ("cz", 0, 2),
];

/// Gates written out as OpenQASM bodies rather than mapped onto the model.
pub const DEFINED: &str = "
gate rccx a, b, c {
  u2(0, pi) c; u1(pi/4) c; cx b, c; u1(-pi/4) c; cx a, c; u1(pi/4) c; cx b, c; u1(-pi/4) c; u2(0, pi) c;
}
gate rc3x a, b, c, d {
  u2(0, pi) d; u1(pi/4) d; cx c, d; u1(-pi/4) d; u2(0, pi) d; cx a, d; u1(pi/4) d; cx b, d;
  u1(-pi/4) d; cx a, d; u1(pi/4) d; cx b, d; u1(-pi/4) d; u2(0, pi) d; u1(pi/4) d; cx c, d;
  u1(-pi/4) d; u2(0, pi) d;
}
";

fn gate(kind: GateKind, params: &[f64], controls: &[usize], targets: &[usize]) -> Gate {
    Gate {
        kind,
        params: params.to_vec(),
        controls: controls.to_vec(),
        targets: targets.to_vec(),
    }
}

/// The model gates for a library gate, or `None` if it is one of [`DEFINED`]'s.
/// `p` and `q` have the lengths [`SIGNATURES`] gives.
pub fn lower(name: &str, p: &[f64], q: &[usize]) -> Option<Vec<Gate>> {
    use GateKind::*;
    let one = |k: GateKind| vec![gate(k, p, &[], q)];
    let ctl = |k: GateKind, n: usize, params: &[f64]| vec![gate(k, params, &q[..n], &q[n..])];
    Some(match name {
        "id" | "u0" => vec![gate(Id, &[], &[], q)],
        "x" => one(X),
        "y" => one(Y),
        "z" => one(Z),
        "h" => one(H),
        "s" => one(S),
        "sdg" => one(Sdg),
        "t" => one(T),
        "tdg" => one(Tdg),
        "sx" => one(Sx),
        "sxdg" => one(Sxdg),
        "rx" => one(Rx),
        "ry" => one(Ry),
        "rz" => one(Rz),
        "p" | "u1" => one(P),
        "u2" => vec![gate(U, &[PI / 2.0, p[0], p[1]], &[], q)],
        "u3" | "u" | "U" => one(U),
        "swap" => one(Swap),
        "rxx" => one(Rxx),
        "rzz" => one(Rzz),
        "cx" | "CX" => ctl(X, 1, &[]),
        "cy" => ctl(Y, 1, &[]),
        "cz" => ctl(Z, 1, &[]),
        "ch" => ctl(H, 1, &[]),
        "csx" => ctl(Sx, 1, &[]),
        "crx" => ctl(Rx, 1, p),
        "cry" => ctl(Ry, 1, p),
        "crz" => ctl(Rz, 1, p),
        "cp" | "cu1" => ctl(P, 1, p),
        "cu3" => ctl(U, 1, p),
        // cu(θ, φ, λ, γ): the controlled U with a global phase γ, which on the control is p(γ).
        "cu" => vec![
            gate(P, &[p[3]], &[], &q[..1]),
            gate(U, &p[..3], &q[..1], &q[1..]),
        ],
        "cswap" => ctl(Swap, 1, &[]),
        "ccx" => ctl(X, 2, &[]),
        "c3x" => ctl(X, 3, &[]),
        "c4x" => ctl(X, 4, &[]),
        "c3sqrtx" => ctl(Sx, 3, &[]),
        _ => return None,
    })
}
