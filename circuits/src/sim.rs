//! The state-vector simulator: one thread, consecutive one-qubit gates fused into a single
//! pass, diagonal and X gates on fast paths. Shots are sampled from one final state when the
//! circuit allows it, and simulated one by one from the first measurement, reset or
//! condition otherwise. Seeded: the same seed gives the same shots.

use std::collections::BTreeMap;
use std::f64::consts::FRAC_1_SQRT_2;

use num_complex::Complex64 as C;
use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::circuit::{Circuit, Gate, GateKind, Op};
use crate::error::ProgramError;

/// The default largest circuit the simulator runs (2^26 amplitudes take 1 GiB).
pub const DEFAULT_MAX_QUBITS: usize = 26;
/// The hard limit (16 GiB of amplitudes).
pub const HARD_MAX_QUBITS: usize = 30;

type M2 = [[C; 2]; 2];

const ZERO: C = C::new(0.0, 0.0);
const ONE: C = C::new(1.0, 0.0);
const I: C = C::new(0.0, 1.0);

fn cis(a: f64) -> C {
    C::from_polar(1.0, a)
}

/// The 2×2 matrix of a one-qubit gate.
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

fn mul(a: &M2, b: &M2) -> M2 {
    let mut r = [[ZERO; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            r[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j];
        }
    }
    r
}

/// `i` with a 0 bit inserted at position `bit` (higher bits move up one): counting over the
/// other bits visits each amplitude pair or quad once.
fn insert_zero(i: usize, bit: usize) -> usize {
    ((i >> bit) << (bit + 1)) | (i & ((1 << bit) - 1))
}

/// A dense state of `n` qubits; qubit `k` is bit `k` of the basis index (little-endian).
#[derive(Clone)]
pub struct State {
    pub n: usize,
    pub amps: Vec<C>,
}

impl State {
    pub fn zero(n: usize) -> State {
        let mut amps = vec![ZERO; 1 << n];
        amps[0] = ONE;
        State { n, amps }
    }

    fn apply_m2(&mut self, t: usize, m: &M2, ctrl: usize) {
        if ctrl != 0 {
            return self.apply_controlled_m2(t, m, ctrl);
        }
        let step = 1usize << t;
        let diagonal = m[0][1] == ZERO && m[1][0] == ZERO;
        for chunk in self.amps.chunks_exact_mut(2 * step) {
            let (lo, hi) = chunk.split_at_mut(step);
            {
                if diagonal {
                    if m[0][0] != ONE {
                        lo.iter_mut().for_each(|a| *a *= m[0][0]);
                    }
                    hi.iter_mut().for_each(|b| *b *= m[1][1]);
                } else if m[0][0] == ZERO && m[1][1] == ZERO && m[0][1] == ONE && m[1][0] == ONE {
                    lo.swap_with_slice(hi);
                } else {
                    for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
                        let (x, y) = (*a, *b);
                        *a = m[0][0] * x + m[0][1] * y;
                        *b = m[1][0] * x + m[1][1] * y;
                    }
                }
            }
        }
    }

    /// A one-qubit matrix under controls: only the pairs whose control bits are all set are
    /// visited, by inserting the fixed bits into a counter (no per-amplitude test).
    fn apply_controlled_m2(&mut self, t: usize, m: &M2, ctrl: usize) {
        let mut fixed: Vec<usize> = (0..self.n).filter(|q| ctrl >> q & 1 == 1).collect();
        fixed.push(t);
        fixed.sort_unstable();
        let is_x = m[0][0] == ZERO && m[1][1] == ZERO && m[0][1] == ONE && m[1][0] == ONE;
        let count = self.amps.len() >> fixed.len();
        for k in 0..count {
            let mut i = k;
            for &f in &fixed {
                i = insert_zero(i, f);
            }
            let i0 = i | ctrl;
            let i1 = i0 | (1 << t);
            if is_x {
                self.amps.swap(i0, i1);
            } else {
                let (x, y) = (self.amps[i0], self.amps[i1]);
                self.amps[i0] = m[0][0] * x + m[0][1] * y;
                self.amps[i1] = m[1][0] * x + m[1][1] * y;
            }
        }
    }

    /// A 4×4 matrix on qubits (a, b); row/column index = bit_a + 2·bit_b.
    fn apply_m4(&mut self, a: usize, b: usize, m: &[[C; 4]; 4], ctrl: usize) {
        let (lo, hi) = (a.min(b), a.max(b));
        let quarter = self.amps.len() >> 2;
        for k in 0..quarter {
            let i = insert_zero(insert_zero(k, lo), hi);
            if i & ctrl != ctrl {
                continue;
            }
            let idx = [i, i | (1 << a), i | (1 << b), i | (1 << a) | (1 << b)];
            let v = idx.map(|j| self.amps[j]);
            for (r, &j) in idx.iter().enumerate() {
                self.amps[j] = m[r][0] * v[0] + m[r][1] * v[1] + m[r][2] * v[2] + m[r][3] * v[3];
            }
        }
    }

    fn apply_swap(&mut self, a: usize, b: usize, ctrl: usize) {
        let (lo, hi) = (a.min(b), a.max(b));
        let quarter = self.amps.len() >> 2;
        for k in 0..quarter {
            let i = insert_zero(insert_zero(k, lo), hi);
            if i & ctrl == ctrl {
                self.amps.swap(i | (1 << lo), i | (1 << hi));
            }
        }
    }

    /// Applies a gate directly (no fusion).
    pub fn apply(&mut self, g: &Gate) {
        let ctrl = g.controls.iter().fold(0usize, |m, c| m | (1 << c));
        if let Some(m) = matrix(g.kind, &g.params) {
            self.apply_m2(g.targets[0], &m, ctrl);
            return;
        }
        let (a, b) = (g.targets[0], g.targets[1]);
        let (c, s) = match g.params.first() {
            Some(t) => ((t / 2.0).cos(), (t / 2.0).sin()),
            None => (1.0, 0.0),
        };
        let (cc, is) = (C::new(c, 0.0), C::new(0.0, -s));
        match g.kind {
            GateKind::Swap => self.apply_swap(a, b, ctrl),
            GateKind::Rxx => self.apply_m4(
                a,
                b,
                &[
                    [cc, ZERO, ZERO, is],
                    [ZERO, cc, is, ZERO],
                    [ZERO, is, cc, ZERO],
                    [is, ZERO, ZERO, cc],
                ],
                ctrl,
            ),
            GateKind::Ryy => self.apply_m4(
                a,
                b,
                &[
                    [cc, ZERO, ZERO, -is],
                    [ZERO, cc, is, ZERO],
                    [ZERO, is, cc, ZERO],
                    [-is, ZERO, ZERO, cc],
                ],
                ctrl,
            ),
            GateKind::Rzz => {
                let (m, p) = (C::new(c, -s), C::new(c, s));
                self.apply_m4(
                    a,
                    b,
                    &[
                        [m, ZERO, ZERO, ZERO],
                        [ZERO, p, ZERO, ZERO],
                        [ZERO, ZERO, p, ZERO],
                        [ZERO, ZERO, ZERO, m],
                    ],
                    ctrl,
                )
            }
            _ => unreachable!("one-qubit kinds have matrices"),
        }
    }

    /// Probability that qubit `q` reads 1.
    pub fn prob_one(&self, q: usize) -> f64 {
        let step = 1usize << q;
        self.amps
            .chunks_exact(2 * step)
            .map(|c| c[step..].iter().map(|a| a.norm_sqr()).sum::<f64>())
            .sum()
    }

    /// Projects qubit `q` onto `value` and renormalises (`p` is that outcome's probability).
    pub fn collapse(&mut self, q: usize, value: bool, p: f64) {
        let step = 1usize << q;
        let scale = 1.0 / p.sqrt();
        for chunk in self.amps.chunks_exact_mut(2 * step) {
            let (lo, hi) = chunk.split_at_mut(step);
            let (keep, drop) = if value { (hi, lo) } else { (lo, hi) };
            keep.iter_mut().for_each(|a| *a *= scale);
            drop.iter_mut().for_each(|a| *a = ZERO);
        }
    }

    pub fn probabilities(&self) -> Vec<f64> {
        self.amps.iter().map(|a| a.norm_sqr()).collect()
    }
}

/// Applies gates with one-qubit gates fused per qubit until something else touches it.
#[derive(Clone)]
struct Fuser {
    pending: Vec<Option<M2>>,
}

impl Fuser {
    fn new(n: usize) -> Self {
        Fuser {
            pending: vec![None; n],
        }
    }

    fn flush(&mut self, s: &mut State, q: usize) {
        if let Some(m) = self.pending[q].take() {
            s.apply_m2(q, &m, 0);
        }
    }

    fn flush_all(&mut self, s: &mut State) {
        for q in 0..self.pending.len() {
            self.flush(s, q);
        }
    }

    fn gate(&mut self, s: &mut State, g: &Gate) {
        if g.controls.is_empty()
            && g.targets.len() == 1
            && let Some(m) = matrix(g.kind, &g.params)
        {
            let t = g.targets[0];
            self.pending[t] = Some(match &self.pending[t] {
                Some(prev) => mul(&m, prev),
                None => m,
            });
            return;
        }
        if let Some((m, a, b)) = two_qubit_matrix(g) {
            // Absorb what is pending on both qubits: one pass instead of three.
            let pa = self.pending[a].take().unwrap_or(IDENTITY);
            let pb = self.pending[b].take().unwrap_or(IDENTITY);
            let mut total = [[ZERO; 4]; 4];
            for (r, row) in total.iter_mut().enumerate() {
                for (col, cell) in row.iter_mut().enumerate() {
                    *cell = (0..4)
                        .map(|k| m[r][k] * pa[k & 1][col & 1] * pb[k >> 1][col >> 1])
                        .sum();
                }
            }
            s.apply_m4(a, b, &total, 0);
            return;
        }
        for &q in g.controls.iter().chain(&g.targets) {
            self.flush(s, q);
        }
        s.apply(g);
    }
}

const IDENTITY: M2 = [[ONE, ZERO], [ZERO, ONE]];

/// The 4×4 matrix of a gate on exactly two qubits (a, b), index = bit_a + 2·bit_b.
fn two_qubit_matrix(g: &Gate) -> Option<([[C; 4]; 4], usize, usize)> {
    match (g.controls.as_slice(), g.targets.as_slice()) {
        ([c], [t]) => {
            let u = matrix(g.kind, &g.params)?;
            let mut m = [[ZERO; 4]; 4];
            m[0][0] = ONE;
            m[2][2] = ONE;
            for (r, row) in [1usize, 3].iter().enumerate() {
                for (k, col) in [1usize, 3].iter().enumerate() {
                    m[*row][*col] = u[r][k];
                }
            }
            Some((m, *c, *t))
        }
        ([], [a, b]) => {
            let mut m = [[ZERO; 4]; 4];
            for col in 0..4 {
                let mut probe = State {
                    n: 2,
                    amps: vec![ZERO; 4],
                };
                probe.amps[col] = ONE;
                probe.apply(&Gate {
                    kind: g.kind,
                    params: g.params.clone(),
                    controls: vec![],
                    targets: vec![0, 1],
                });
                for (r, row) in m.iter_mut().enumerate() {
                    row[col] = probe.amps[r];
                }
            }
            Some((m, *a, *b))
        }
        _ => None,
    }
}

/// The most classical bits a run keeps, shots × classical bits: the per-shot results hold
/// them all (1,000,000 shots of 128 bits), and counts hold up to as many.
pub const MAX_SHOT_BITS: u64 = 1 << 27;

/// The outcome of a run: counts of each classical result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shots {
    /// Classical bits of each distinct outcome (clbit order) → how many shots gave it.
    pub counts: BTreeMap<Vec<bool>, u64>,
    /// Each shot's classical bits, in shot order (empty from `run_counts`).
    pub shots: Vec<Vec<bool>>,
}

impl Shots {
    /// How many shots were run.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    fn record(&mut self, bits: Vec<bool>, keep: bool) {
        if keep {
            self.shots.push(bits.clone());
        }
        *self.counts.entry(bits).or_default() += 1;
    }
}

pub struct Simulator {
    pub max_qubits: usize,
}

impl Default for Simulator {
    fn default() -> Self {
        Simulator {
            max_qubits: DEFAULT_MAX_QUBITS,
        }
    }
}

/// Turns a seed text (a job id, say) into a seed: FNV-1a, stable across versions.
pub fn seed_from(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn uniform(rng: &mut Pcg64Mcg) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl Simulator {
    fn check(&self, c: &Circuit) -> Result<(), ProgramError> {
        let n = c.num_qubits();
        if n > self.max_qubits.min(HARD_MAX_QUBITS) {
            return Err(ProgramError::too_large(format!(
                "the circuit has {n} qubits; the simulator runs at most {} (2^{n} amplitudes would need {} GiB)",
                self.max_qubits.min(HARD_MAX_QUBITS),
                (16u128 << n) >> 30
            )));
        }
        Ok(())
    }

    /// The final state of a circuit's gates (measurements, resets and conditions refused).
    pub fn statevector(&self, c: &Circuit) -> Result<State, ProgramError> {
        self.check(c)?;
        let mut s = State::zero(c.num_qubits());
        let mut f = Fuser::new(s.n);
        for op in &c.ops {
            match op {
                Op::Gate(g) => f.gate(&mut s, g),
                Op::Barrier { .. } | Op::Measure { .. } => {}
                _ => {
                    return Err(ProgramError::unsupported(
                        "a state vector needs a circuit without reset or conditions",
                        None,
                    ));
                }
            }
        }
        f.flush_all(&mut s);
        Ok(s)
    }

    /// Runs `shots` shots with a seed, keeping each shot's bits and their counts.
    pub fn run(&self, c: &Circuit, shots: u64, seed: u64) -> Result<Shots, ProgramError> {
        self.sample(c, shots, seed, true)
    }

    /// Runs `shots` shots with a seed, keeping only the counts of each outcome (for result
    /// formats that report frequencies). The same seed gives the same counts as `run`.
    pub fn run_counts(&self, c: &Circuit, shots: u64, seed: u64) -> Result<Shots, ProgramError> {
        self.sample(c, shots, seed, false)
    }

    fn sample(
        &self,
        c: &Circuit,
        shots: u64,
        seed: u64,
        keep: bool,
    ) -> Result<Shots, ProgramError> {
        self.check(c)?;
        let nclbits = c.num_clbits();
        let kept = shots.saturating_mul(nclbits.max(1) as u64);
        if kept > MAX_SHOT_BITS {
            return Err(ProgramError::too_large(format!(
                "{shots} shots of {nclbits} classical bits are {kept} bits to keep; the simulator keeps at most {MAX_SHOT_BITS}: ask for fewer shots or measure into fewer classical bits"
            )));
        }
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut out = Shots::default();
        let first = c
            .ops
            .iter()
            .position(Op::is_nonunitary)
            .unwrap_or(c.ops.len());
        let mut state = State::zero(c.num_qubits());
        let mut f = Fuser::new(state.n);
        for op in &c.ops[..first] {
            if let Op::Gate(g) = op {
                f.gate(&mut state, g);
            }
        }
        f.flush_all(&mut state);

        if !c.has_midcircuit_ops() {
            // Every remaining op is a measurement or barrier: sample once from the final state.
            let measures: Vec<(usize, usize)> = c.ops[first..]
                .iter()
                .filter_map(|op| match op {
                    Op::Measure { qubit, clbit } => Some((*qubit, *clbit)),
                    _ => None,
                })
                .collect();
            // Sorted uniform draws, walked once against the running sum of probabilities.
            let draws: Vec<f64> = (0..shots).map(|_| uniform(&mut rng)).collect();
            let mut order: Vec<usize> = (0..draws.len()).collect();
            order.sort_by(|&a, &b| draws[a].total_cmp(&draws[b]));
            let mut picks = vec![0usize; draws.len()];
            let last_nonzero = state
                .amps
                .iter()
                .rposition(|a| a.norm_sqr() > 0.0)
                .unwrap_or(0);
            let (mut acc, mut k) = (0.0, 0);
            for (basis, amp) in state.amps.iter().enumerate() {
                acc += amp.norm_sqr();
                // Rounding can leave the sum just under 1: the last possible state takes the rest.
                while k < order.len() && (draws[order[k]] < acc || basis == last_nonzero) {
                    picks[order[k]] = basis;
                    k += 1;
                }
            }
            for basis in picks {
                let mut bits = vec![false; nclbits];
                for &(q, b) in &measures {
                    bits[b] = basis >> q & 1 == 1;
                }
                out.record(bits, keep);
            }
            return Ok(out);
        }

        for _ in 0..shots {
            let mut s = state.clone();
            let mut bits = vec![false; nclbits];
            let mut f = Fuser::new(s.n);
            for op in &c.ops[first..] {
                step(&mut s, &mut f, op, &mut bits, c, &mut rng);
            }
            out.record(bits, keep);
        }
        Ok(out)
    }

    /// The exact probability of each classical outcome, by following both branches of every
    /// measurement. Gates go through the same fused path as shots, so the oracle tests check
    /// what users run. Meant for small circuits and tests.
    pub fn exact(&self, c: &Circuit) -> Result<BTreeMap<Vec<bool>, f64>, ProgramError> {
        self.check(c)?;
        const MAX_BRANCHES: usize = 1 << 12;
        let n = c.num_qubits();
        let mut branches = vec![(
            State::zero(n),
            Fuser::new(n),
            vec![false; c.num_clbits()],
            1.0f64,
        )];
        for op in &c.ops {
            let mut next = Vec::with_capacity(branches.len());
            for (mut s, mut f, bits, p) in branches {
                match resolve(op, &bits, c) {
                    None | Some(Op::Barrier { .. }) => next.push((s, f, bits, p)),
                    Some(Op::Gate(g)) => {
                        f.gate(&mut s, g);
                        next.push((s, f, bits, p));
                    }
                    Some(op @ (Op::Measure { qubit, .. } | Op::Reset { qubit })) => {
                        f.flush(&mut s, *qubit);
                        let p1 = s.prob_one(*qubit).clamp(0.0, 1.0);
                        for (value, pv) in [(false, 1.0 - p1), (true, p1)] {
                            if pv < 1e-14 {
                                continue;
                            }
                            let mut s2 = s.clone();
                            let mut b2 = bits.clone();
                            s2.collapse(*qubit, value, pv);
                            match op {
                                Op::Measure { clbit, .. } => b2[*clbit] = value,
                                _ if value => {
                                    s2.apply_m2(*qubit, &matrix(GateKind::X, &[]).expect("x"), 0)
                                }
                                _ => {}
                            }
                            next.push((s2, f.clone(), b2, p * pv));
                        }
                    }
                    Some(Op::If { .. }) => unreachable!("resolve unwraps conditions"),
                }
            }
            if next.len() > MAX_BRANCHES {
                return Err(ProgramError::too_large(
                    "too many measurement branches for an exact distribution",
                ));
            }
            branches = next;
        }
        let mut dist = BTreeMap::new();
        for (_, _, bits, p) in branches {
            *dist.entry(bits).or_insert(0.0) += p;
        }
        Ok(dist)
    }
}

/// The op to run given the classical bits so far: a condition unwraps or disappears.
fn resolve<'a>(op: &'a Op, bits: &[bool], c: &Circuit) -> Option<&'a Op> {
    match op {
        Op::If { creg, value, op } => {
            let r = &c.cregs[*creg];
            let v = (0..r.len)
                .filter(|i| *i < 64 && bits[r.offset + i])
                .fold(0u64, |v, i| v | 1 << i);
            if v == *value {
                resolve(op, bits, c)
            } else {
                None
            }
        }
        other => Some(other),
    }
}

fn step(s: &mut State, f: &mut Fuser, op: &Op, bits: &mut [bool], c: &Circuit, rng: &mut Pcg64Mcg) {
    match resolve(op, bits, c) {
        None | Some(Op::Barrier { .. }) => {}
        Some(Op::Gate(g)) => f.gate(s, g),
        Some(Op::Measure { qubit, clbit }) => {
            f.flush(s, *qubit);
            let p1 = s.prob_one(*qubit).clamp(0.0, 1.0);
            let one = uniform(rng) < p1;
            s.collapse(*qubit, one, if one { p1 } else { 1.0 - p1 });
            bits[*clbit] = one;
        }
        Some(Op::Reset { qubit }) => {
            f.flush(s, *qubit);
            let p1 = s.prob_one(*qubit).clamp(0.0, 1.0);
            let one = uniform(rng) < p1;
            s.collapse(*qubit, one, if one { p1 } else { 1.0 - p1 });
            if one {
                s.apply_m2(*qubit, &matrix(GateKind::X, &[]).expect("x"), 0);
            }
        }
        Some(Op::If { .. }) => unreachable!("resolve unwraps conditions"),
    }
}
