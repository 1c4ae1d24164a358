//! Gates applied one at a time, straight from their definitions: the reference the fused
//! plans are tested against, the way fusion builds its block matrices, and the path for a
//! gate too wide to fuse. Generic over precision; one thread.

use std::f64::consts::FRAC_1_SQRT_2;

use num_complex::Complex;

use super::kernel::Real;
use crate::circuit::{Gate, GateKind};

type C = num_complex::Complex64;
/// A 2×2 matrix, row-major.
pub type M2 = [[C; 2]; 2];

const ZERO: C = C::new(0.0, 0.0);
const ONE: C = C::new(1.0, 0.0);
const I: C = C::new(0.0, 1.0);

fn cis(a: f64) -> C {
    C::from_polar(1.0, a)
}

/// The 2×2 matrix of a one-qubit gate (`None` for the two-qubit kinds).
pub fn matrix(kind: GateKind, p: &[f64]) -> Option<M2> {
    use GateKind::*;
    let h = FRAC_1_SQRT_2;
    Some(match kind {
        Id => [[ONE, ZERO], [ZERO, ONE]],
        X => [[ZERO, ONE], [ONE, ZERO]],
        Y => [[ZERO, -I], [I, ZERO]],
        Z => [[ONE, ZERO], [ZERO, -ONE]],
        H => [
            [C::new(h, 0.0), C::new(h, 0.0)],
            [C::new(h, 0.0), C::new(-h, 0.0)],
        ],
        S => [[ONE, ZERO], [ZERO, I]],
        Sdg => [[ONE, ZERO], [ZERO, -I]],
        T => [[ONE, ZERO], [ZERO, cis(std::f64::consts::FRAC_PI_4)]],
        Tdg => [[ONE, ZERO], [ZERO, cis(-std::f64::consts::FRAC_PI_4)]],
        Sx => [
            [C::new(0.5, 0.5), C::new(0.5, -0.5)],
            [C::new(0.5, -0.5), C::new(0.5, 0.5)],
        ],
        Sxdg => [
            [C::new(0.5, -0.5), C::new(0.5, 0.5)],
            [C::new(0.5, 0.5), C::new(0.5, -0.5)],
        ],
        Rx => {
            let (c, s) = ((p[0] / 2.0).cos(), (p[0] / 2.0).sin());
            [
                [C::new(c, 0.0), C::new(0.0, -s)],
                [C::new(0.0, -s), C::new(c, 0.0)],
            ]
        }
        Ry => {
            let (c, s) = ((p[0] / 2.0).cos(), (p[0] / 2.0).sin());
            [
                [C::new(c, 0.0), C::new(-s, 0.0)],
                [C::new(s, 0.0), C::new(c, 0.0)],
            ]
        }
        Rz => [[cis(-p[0] / 2.0), ZERO], [ZERO, cis(p[0] / 2.0)]],
        P => [[ONE, ZERO], [ZERO, cis(p[0])]],
        U => {
            let (t, phi, lam) = (p[0], p[1], p[2]);
            let (c, s) = ((t / 2.0).cos(), (t / 2.0).sin());
            [
                [C::new(c, 0.0), -cis(lam) * s],
                [cis(phi) * s, cis(phi + lam) * c],
            ]
        }
        Swap | Rxx | Ryy | Rzz => return None,
    })
}

/// The 4×4 matrix of a two-qubit kind on (a, b); index = bit_a + 2·bit_b.
fn matrix4(kind: GateKind, p: &[f64]) -> [[C; 4]; 4] {
    let (c, s) = match p.first() {
        Some(t) => ((t / 2.0).cos(), (t / 2.0).sin()),
        None => (1.0, 0.0),
    };
    let (cc, is) = (C::new(c, 0.0), C::new(0.0, -s));
    match kind {
        GateKind::Swap => [
            [ONE, ZERO, ZERO, ZERO],
            [ZERO, ZERO, ONE, ZERO],
            [ZERO, ONE, ZERO, ZERO],
            [ZERO, ZERO, ZERO, ONE],
        ],
        GateKind::Rxx => [
            [cc, ZERO, ZERO, is],
            [ZERO, cc, is, ZERO],
            [ZERO, is, cc, ZERO],
            [is, ZERO, ZERO, cc],
        ],
        GateKind::Ryy => [
            [cc, ZERO, ZERO, -is],
            [ZERO, cc, is, ZERO],
            [ZERO, is, cc, ZERO],
            [-is, ZERO, ZERO, cc],
        ],
        GateKind::Rzz => {
            let (m, p) = (C::new(c, -s), C::new(c, s));
            [
                [m, ZERO, ZERO, ZERO],
                [ZERO, p, ZERO, ZERO],
                [ZERO, ZERO, p, ZERO],
                [ZERO, ZERO, ZERO, m],
            ]
        }
        _ => unreachable!("one-qubit kinds have 2×2 matrices"),
    }
}

fn narrow<F: Real>(c: C) -> Complex<F> {
    Complex::new(F::of(c.re), F::of(c.im))
}

/// `i` with a 0 bit inserted at position `bit` (higher bits move up one): counting over the
/// other bits visits each amplitude pair or quad once.
pub fn insert_zero(i: usize, bit: usize) -> usize {
    ((i >> bit) << (bit + 1)) | (i & ((1 << bit) - 1))
}

/// Applies `g` to `amps` (qubit k is bit k of the index), active where every control is 1.
pub fn apply<F: Real>(amps: &mut [Complex<F>], g: &Gate) {
    let ctrl = g.controls.iter().fold(0usize, |m, c| m | (1 << c));
    let mut fixed: Vec<usize> = g.controls.iter().chain(&g.targets).copied().collect();
    fixed.sort_unstable();
    let count = amps.len() >> fixed.len();
    let base = |k: usize| fixed.iter().fold(k, |i, &f| insert_zero(i, f)) | ctrl;
    if let Some(m) = matrix(g.kind, &g.params) {
        let m = m.map(|row| row.map(narrow::<F>));
        let t = 1usize << g.targets[0];
        for k in 0..count {
            let i0 = base(k);
            let (x, y) = (amps[i0], amps[i0 | t]);
            amps[i0] = m[0][0] * x + m[0][1] * y;
            amps[i0 | t] = m[1][0] * x + m[1][1] * y;
        }
        return;
    }
    let m = matrix4(g.kind, &g.params).map(|row| row.map(narrow::<F>));
    let (a, b) = (1usize << g.targets[0], 1usize << g.targets[1]);
    for k in 0..count {
        let i = base(k);
        let idx = [i, i | a, i | b, i | a | b];
        let v = idx.map(|j| amps[j]);
        for (r, &j) in idx.iter().enumerate() {
            amps[j] = m[r][0] * v[0] + m[r][1] * v[1] + m[r][2] * v[2] + m[r][3] * v[3];
        }
    }
}
