//! Rewrites of gates that a target format cannot write directly into ones it can, exact
//! up to a global phase of the whole circuit.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};

use crate::circuit::{Gate, GateKind};

fn g(kind: GateKind, params: &[f64], controls: &[usize], targets: &[usize]) -> Gate {
    Gate {
        kind,
        params: params.to_vec(),
        controls: controls.to_vec(),
        targets: targets.to_vec(),
    }
}

/// `U(θ, φ, λ)` as `rz(λ) · ry(θ) · rz(φ)`, which differs by a global phase of (φ+λ)/2.
pub fn euler(u: &Gate) -> Vec<Gate> {
    let (t, phi, lam) = (u.params[0], u.params[1], u.params[2]);
    let q = &u.targets;
    vec![
        g(GateKind::Rz, &[lam], &[], q),
        g(GateKind::Ry, &[t], &[], q),
        g(GateKind::Rz, &[phi], &[], q),
    ]
}

/// A one-control gate as uncontrolled gates and CNOTs (or CZ), exact up to global phase.
/// `None` when no rewrite is known (more controls, or a two-qubit kind).
pub fn single_control(gate: &Gate) -> Option<Vec<Gate>> {
    use GateKind::*;
    if gate.controls.len() != 1 {
        return None;
    }
    let (c, t) = (gate.controls[0], gate.targets[0]);
    let cx = || g(X, &[], &[c], &[t]);
    let one = |k: GateKind, a: f64, q: usize| g(k, &[a], &[], &[q]);
    Some(match gate.kind {
        P => {
            let l = gate.params[0];
            vec![
                one(Rz, l / 2.0, c),
                one(Rz, l / 2.0, t),
                cx(),
                one(Rz, -l / 2.0, t),
                cx(),
            ]
        }
        Rz => {
            let a = gate.params[0];
            vec![one(Rz, a / 2.0, t), cx(), one(Rz, -a / 2.0, t), cx()]
        }
        Ry => {
            let a = gate.params[0];
            vec![one(Ry, a / 2.0, t), cx(), one(Ry, -a / 2.0, t), cx()]
        }
        Rx => {
            let mut v = vec![g(H, &[], &[], &[t])];
            v.extend(single_control(&g(Rz, &gate.params, &[c], &[t]))?);
            v.push(g(H, &[], &[], &[t]));
            v
        }
        S | Sdg | T | Tdg => {
            let a = match gate.kind {
                S => FRAC_PI_2,
                Sdg => -FRAC_PI_2,
                T => FRAC_PI_4,
                _ => -FRAC_PI_4,
            };
            single_control(&g(P, &[a], &[c], &[t]))?
        }
        Sx | Sxdg => {
            let a = if gate.kind == Sx {
                FRAC_PI_2
            } else {
                -FRAC_PI_2
            };
            let mut v = vec![g(H, &[], &[], &[t])];
            v.extend(single_control(&g(P, &[a], &[c], &[t]))?);
            v.push(g(H, &[], &[], &[t]));
            v
        }
        H => vec![
            one(Ry, -FRAC_PI_4, t),
            g(Z, &[], &[c], &[t]),
            one(Ry, FRAC_PI_4, t),
        ],
        Y => vec![g(Sdg, &[], &[], &[t]), cx(), g(S, &[], &[], &[t])],
        Z => vec![g(H, &[], &[], &[t]), cx(), g(H, &[], &[], &[t])],
        U => {
            let (th, phi, lam) = (gate.params[0], gate.params[1], gate.params[2]);
            let mut v = vec![one(Rz, (phi + lam) / 2.0, c)];
            v.extend(single_control(&g(Rz, &[lam], &[c], &[t]))?);
            v.extend(single_control(&g(Ry, &[th], &[c], &[t]))?);
            v.extend(single_control(&g(Rz, &[phi], &[c], &[t]))?);
            v
        }
        Swap => {
            let (a, b) = (gate.targets[0], gate.targets[1]);
            vec![
                g(X, &[], &[b], &[a]),
                g(X, &[], &[c, a], &[b]),
                g(X, &[], &[b], &[a]),
            ]
        }
        X | Id | Rxx | Ryy | Rzz => return None,
    })
}

/// `rxx`, `ryy`, `rzz` as CNOTs and one-qubit rotations.
pub fn two_qubit_rotation(gate: &Gate) -> Option<Vec<Gate>> {
    use GateKind::*;
    if !gate.controls.is_empty() || !matches!(gate.kind, Rxx | Ryy | Rzz) {
        return None;
    }
    let (a, b) = (gate.targets[0], gate.targets[1]);
    let zz = vec![
        g(X, &[], &[a], &[b]),
        g(Rz, &gate.params, &[], &[b]),
        g(X, &[], &[a], &[b]),
    ];
    let both = |k: GateKind, angle: &[f64]| vec![g(k, angle, &[], &[a]), g(k, angle, &[], &[b])];
    Some(match gate.kind {
        Rzz => zz,
        Rxx => [both(H, &[]), zz, both(H, &[])].concat(),
        Ryy => [both(Rx, &[FRAC_PI_2]), zz, both(Rx, &[-FRAC_PI_2])].concat(),
        _ => return None,
    })
}

type M2 = [[num_complex::Complex64; 2]; 2];

/// `m = e^{iγ}·U(θ, φ, λ)`: returns (γ, θ, φ, λ) for any 2×2 unitary.
pub fn zyz(m: &M2) -> (f64, f64, f64, f64) {
    let (a, b, c, d) = (m[0][0], m[0][1], m[1][0], m[1][1]);
    let theta = 2.0 * c.norm().atan2(a.norm());
    if a.norm() > 1e-12 {
        let gamma = a.arg();
        let (phi, lam) = if c.norm() > 1e-12 {
            (c.arg() - gamma, (-b).arg() - gamma)
        } else {
            (d.arg() - gamma, 0.0)
        };
        (gamma, theta, phi, lam)
    } else {
        let gamma = c.arg();
        (gamma, theta, 0.0, (-b).arg() - gamma)
    }
}

/// A square root of a 2×2 unitary (`r·r = m`).
pub fn sqrt2(m: &M2) -> M2 {
    let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    let mut s = det.sqrt();
    let mut t = (m[0][0] + m[1][1] + 2.0 * s).sqrt();
    if t.norm() < 1e-9 {
        s = -s;
        t = (m[0][0] + m[1][1] + 2.0 * s).sqrt();
    }
    [
        [(m[0][0] + s) / t, m[0][1] / t],
        [m[1][0] / t, (m[1][1] + s) / t],
    ]
}

fn adjoint(m: &M2) -> M2 {
    [
        [m[0][0].conj(), m[1][0].conj()],
        [m[0][1].conj(), m[1][1].conj()],
    ]
}

/// A one-qubit unitary under one control, exactly (its global phase becomes a phase on
/// the control), as uncontrolled gates and CNOTs.
fn controlled_unitary(m: &M2, c: usize, t: usize) -> Vec<Gate> {
    let (gamma, theta, phi, lam) = zyz(m);
    let mut v = vec![g(GateKind::P, &[gamma], &[], &[c])];
    v.extend(
        single_control(&g(GateKind::U, &[theta, phi, lam], &[c], &[t]))
            .expect("controlled U rewrites"),
    );
    v
}

fn mcx(controls: &[usize], t: usize) -> Vec<Gate> {
    match controls.len() {
        1 | 2 => vec![g(GateKind::X, &[], controls, &[t])],
        _ => multi_control(
            &crate::sim::matrix(GateKind::X, &[]).expect("x"),
            controls,
            t,
        ),
    }
}

/// A one-qubit unitary under any number of controls, as one- and two-control gates
/// (Barenco et al.'s construction with a square root per level), exact.
pub fn multi_control(m: &M2, controls: &[usize], t: usize) -> Vec<Gate> {
    let Some((&last, rest)) = controls.split_last() else {
        // No controls left: the phase is global, so U alone will do.
        let (_, theta, phi, lam) = zyz(m);
        return vec![g(GateKind::U, &[theta, phi, lam], &[], &[t])];
    };
    if rest.is_empty() {
        return controlled_unitary(m, last, t);
    }
    let v = sqrt2(m);
    let mut out = controlled_unitary(&v, last, t);
    out.extend(mcx(rest, last));
    out.extend(controlled_unitary(&adjoint(&v), last, t));
    out.extend(mcx(rest, last));
    out.extend(multi_control(&v, rest, t));
    out
}
