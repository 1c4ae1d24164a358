//! Gate fusion: a circuit's operations become a plan of steps, where runs of gates become
//! blocks of at most `k` qubits, each one matrix (dense, diagonal or a permutation with
//! phases) applied in one pass; permutation blocks then merge up to `MAX_MONO_QUBITS`.
//!
//! A gate may join an open block at or after the last block that touches any of its qubits
//! (so no gate moves past another on a shared qubit) whose qubits together with the gate's
//! stay within `k`. It joins the one where that saves the most time by the cost model (a
//! pass over a wider block costs more: a dense 4-qubit block is 16 complex multiply-adds
//! per amplitude), or starts a block of its own when joining saves nothing; then earlier
//! blocks on its qubits are pulled into its block where that saves a pass. Measurements,
//! resets and conditions close every open block (they depend on the shot); barriers change
//! nothing.

use num_complex::Complex64 as C;

use super::kernel::{MAX_BLOCK_QUBITS, MAX_MONO_QUBITS};
use super::reference;
use crate::circuit::{Gate, Op};

/// One step of a plan; `B` is the block, as planned (`Block`) or ready for the kernels.
#[derive(Debug, Clone)]
pub enum Step<B = Block> {
    /// Fused gates: a matrix on a few qubits.
    Block(B),
    /// A gate on more qubits than any block holds (a many-controlled X, say), applied alone.
    Gate(Gate),
    Measure {
        qubit: usize,
        clbit: usize,
    },
    Reset {
        qubit: usize,
    },
    /// `then` runs when classical register `creg` reads `value`.
    If {
        creg: usize,
        value: u64,
        then: Box<Step<B>>,
    },
}

/// A unitary on `qubits` (ascending); bit j of a block index is qubit `qubits[j]`.
#[derive(Debug, Clone)]
pub struct Block {
    pub qubits: Vec<usize>,
    /// The matrix applies where all of these are 1 (a controlled gate kept sparse).
    pub controls: Vec<usize>,
    pub matrix: Matrix,
    /// How many gates it holds.
    pub gates: usize,
}

/// A block's matrix, `2^k × 2^k` for `k` qubits, in the form its pass needs.
#[derive(Debug, Clone)]
pub enum Matrix {
    /// Row-major, every entry (at most `MAX_BLOCK_QUBITS` qubits).
    Dense(Vec<C>),
    /// Only the diagonal is non-zero (phases: rz, p, cz, rzz and their products).
    Diagonal(Vec<C>),
    /// One non-zero per column (x, cx, ccx, swap and phases): column `c` goes to row
    /// `perm[c]` times `phase[c]`.
    Permutation { perm: Vec<usize>, phase: Vec<C> },
}

impl Matrix {
    /// The cheapest form of a dense row-major matrix.
    pub fn of_dense(matrix: Vec<C>) -> Matrix {
        let d = matrix.len().isqrt();
        debug_assert_eq!(d * d, matrix.len());
        let zero = C::new(0.0, 0.0);
        if (0..d * d).all(|i| i / d == i % d || matrix[i] == zero) {
            return Matrix::Diagonal((0..d).map(|i| matrix[i * d + i]).collect());
        }
        let mut perm = Vec::with_capacity(d);
        for c in 0..d {
            let mut rows = (0..d).filter(|&r| matrix[r * d + c] != zero);
            match (rows.next(), rows.next()) {
                (Some(r), None) => perm.push(r),
                _ => return Matrix::Dense(matrix),
            }
        }
        let phase = perm
            .iter()
            .enumerate()
            .map(|(c, &r)| matrix[r * d + c])
            .collect();
        Matrix::Permutation { perm, phase }
    }
}

/// How far back a gate looks for a block to join (keeps planning linear).
const WINDOW: usize = 64;

struct Open {
    mask: u64,
    gates: Vec<Gate>,
    /// A gate too wide to fuse: nothing joins it.
    alone: bool,
    /// The block's matrix while it has one non-zero per column (phases and permutations:
    /// rz, cx, x, swap, ccx…); `None` once it is dense.
    mono: Option<Mono>,
    /// One controlled gate kept sparse: its matrix on its targets, visited only where the
    /// controls are 1. A gate that joins it makes it dense.
    sparse: bool,
}

impl Open {
    fn cost(&self) -> f64 {
        match (self.sparse, self.gates.first()) {
            (true, Some(g)) => sparse_cost(g),
            _ => cost(self.mask, self.mono.as_ref()),
        }
    }
}

/// A controlled gate's pass when kept sparse: its targets' pass over the share of the state
/// where every control is 1 (a Toffoli visits a quarter), but still reading much of the
/// memory around it (a cache line holds 4 or 8 amplitudes), so never below 40% of a pass.
fn sparse_cost(g: &Gate) -> f64 {
    let lowest = mask(g).trailing_zeros();
    let width = g.targets.len();
    let base = if is_diagonal(g) {
        DIAGONAL_COST
    } else if lowest >= 2 {
        RUNS_COST[width]
    } else {
        ROWS_COST[width]
    };
    base * (0.4 + 0.6 / f64::from(1u32 << g.controls.len().min(16)))
}

/// The time of one pass over a block of each width, relative to a one-qubit pass, where
/// amplitudes come in runs (lowest qubit 2 or more) and where they do not (lowest qubit 0
/// or 1), and of the diagonal and permutation passes; measured with `examples/blocks.rs`
/// (20 and 24 qubits, AVX-512, both precisions), rounded.
const RUNS_COST: [f64; 6] = [0.0, 1.0, 1.3, 2.5, 3.9, 6.8];
const ROWS_COST: [f64; 6] = [0.0, 1.6, 2.1, 4.0, 5.5, 7.7];
const DIAGONAL_COST: f64 = 1.1;
const PERMUTATION_COST: f64 = 1.5;

/// A block's pass: by its width and kind (`mono`: its matrix when it has one non-zero per
/// column).
fn cost(mask: u64, mono: Option<&Mono>) -> f64 {
    let width = (mask.count_ones() as usize).min(5);
    match mono {
        Some(m) if m.is_diagonal() => DIAGONAL_COST,
        Some(_) => PERMUTATION_COST,
        None if mask.trailing_zeros() >= 2 => RUNS_COST[width],
        None => ROWS_COST[width],
    }
}

fn is_diagonal(g: &Gate) -> bool {
    use crate::circuit::GateKind::*;
    matches!(g.kind, Id | Z | S | Sdg | T | Tdg | Rz | P | Rzz)
}

/// A matrix with one non-zero per column, `|i⟩ → phase[i]·|perm[i]⟩`, on the qubits of
/// `mask` (bit j of an index is the j-th lowest of them). Products of such gates stay such,
/// so a run of CX and RZ that multiplies out to phases (a controlled phase) is seen to be
/// diagonal before its block is closed.
#[derive(Clone)]
struct Mono {
    mask: u64,
    perm: Vec<usize>,
    phase: Vec<C>,
}

impl Mono {
    fn of(g: &Gate) -> Option<Mono> {
        let m = mask(g);
        let (perm, phase) = match Matrix::of_dense(dense(m, std::slice::from_ref(g))) {
            Matrix::Dense(_) => return None,
            Matrix::Diagonal(phase) => ((0..phase.len()).collect(), phase),
            Matrix::Permutation { perm, phase } => (perm, phase),
        };
        Some(Mono {
            mask: m,
            perm,
            phase,
        })
    }

    fn is_diagonal(&self) -> bool {
        self.perm.iter().enumerate().all(|(i, &p)| i == p)
    }

    /// The same matrix on the qubits of `wider` (a superset), the others left alone.
    fn widen(&self, wider: u64) -> Mono {
        if wider == self.mask {
            return self.clone();
        }
        // Where each of this matrix's index bits sits in the wider index.
        let places: Vec<usize> = (0..64)
            .filter(|q| wider >> q & 1 == 1)
            .enumerate()
            .filter(|(_, q)| self.mask >> q & 1 == 1)
            .map(|(j, _)| j)
            .collect();
        let d = 1usize << wider.count_ones();
        let ours = places.iter().fold(0usize, |m, &j| m | 1 << j);
        let take = |i: usize| {
            places
                .iter()
                .enumerate()
                .fold(0, |k, (b, &j)| k | (i >> j & 1) << b)
        };
        let put = |k: usize| {
            places
                .iter()
                .enumerate()
                .fold(0, |i, (b, &j)| i | (k >> b & 1) << j)
        };
        let (mut perm, mut phase) = (vec![0; d], vec![C::new(0.0, 0.0); d]);
        for i in 0..d {
            let k = take(i);
            perm[i] = put(self.perm[k]) | (i & !ours);
            phase[i] = self.phase[k];
        }
        Mono {
            mask: wider,
            perm,
            phase,
        }
    }

    fn into_matrix(self) -> Matrix {
        if self.is_diagonal() {
            Matrix::Diagonal(self.phase)
        } else {
            Matrix::Permutation {
                perm: self.perm,
                phase: self.phase,
            }
        }
    }

    /// `next` applied after this.
    fn then(&self, next: &Mono) -> Mono {
        let both = self.mask | next.mask;
        let (a, b) = (self.widen(both), next.widen(both));
        let perm = a.perm.iter().map(|&p| b.perm[p]).collect();
        let phase = a
            .perm
            .iter()
            .zip(&a.phase)
            .map(|(&p, &ph)| ph * b.phase[p])
            .collect();
        Mono {
            mask: both,
            perm,
            phase,
        }
    }
}

/// The qubits of a mask, ascending.
pub(super) fn qubits_of(mask: u64) -> Vec<usize> {
    (0..64).filter(|q| mask >> q & 1 == 1).collect()
}

fn mask(g: &Gate) -> u64 {
    g.controls
        .iter()
        .chain(&g.targets)
        .fold(0, |m, q| m | 1 << q)
}

/// Plans `ops` with blocks of at most `k` qubits (`k` = 0: every gate alone).
/// Qubit indices must be below 64 (the simulator's limit is far lower).
pub fn plan(ops: &[Op], k: usize) -> Vec<Step> {
    let k = k.min(MAX_BLOCK_QUBITS);
    let mut steps = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    for op in ops {
        match op {
            Op::Gate(g) => add(&mut open, g, k),
            Op::Barrier { .. } => {}
            other => {
                close(&mut open, &mut steps, k);
                steps.push(single(other));
            }
        }
    }
    close(&mut open, &mut steps, k);
    steps
}

fn add(open: &mut Vec<Open>, g: &Gate, k: usize) {
    let m = mask(g);
    let controlled = !g.controls.is_empty();
    let mono = if m.count_ones() as usize <= k {
        Mono::of(g)
    } else {
        None
    };
    let new = |alone: bool, sparse: bool, mono: Option<Mono>| Open {
        mask: m,
        gates: vec![g.clone()],
        alone,
        mono,
        sparse,
    };
    if m.count_ones() as usize > k.max(1) || k == 0 {
        open.push(new(true, controlled, None));
        return;
    }
    let last = open.iter().rposition(|b| b.mask & m != 0);
    let from = last.unwrap_or(0).max(open.len().saturating_sub(WINDOW));
    let alone = if controlled {
        sparse_cost(g)
    } else {
        cost(m, mono.as_ref())
    };
    // What joining block i saves: its pass and the gate's, less the pass of the two together.
    let joined = |b: &Open| match (&b.mono, &mono) {
        (Some(x), Some(y)) => Some(x.then(y)),
        _ => None,
    };
    let best = (from..open.len())
        .filter(|&i| !open[i].alone && (open[i].mask | m).count_ones() as usize <= k)
        .map(|i| {
            let b = &open[i];
            let product = joined(b);
            let together = cost(b.mask | m, product.as_ref());
            (b.cost() + alone - together, i, product)
        })
        .filter(|(s, _, _)| *s > 0.0)
        .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let i = match best {
        Some((_, i, product)) => {
            let b = &mut open[i];
            b.mask |= m;
            b.mono = product;
            b.sparse = false;
            b.gates.push(g.clone());
            i
        }
        None => {
            open.push(new(false, controlled, mono));
            open.len() - 1
        }
    };
    absorb(open, i, m, k);
}

/// Pulls earlier blocks on the gate's qubits into block `i`, the one the gate went to, where
/// that saves a pass: a CX between two qubits whose one-qubit gates wait in blocks of their
/// own makes one block of all three. A block moves only past blocks on other qubits.
fn absorb(open: &mut Vec<Open>, mut i: usize, m: u64, k: usize) {
    let from = i.saturating_sub(WINDOW);
    let mut j = i;
    while j > from {
        j -= 1;
        let (a, b) = (&open[j], &open[i]);
        if a.alone || b.alone || a.mask & m == 0 || (a.mask | b.mask).count_ones() as usize > k {
            continue;
        }
        if open[j + 1..i].iter().any(|c| c.mask & a.mask != 0) {
            continue;
        }
        let mono = match (&a.mono, &b.mono) {
            (Some(x), Some(y)) => Some(x.then(y)),
            _ => None,
        };
        let together = cost(a.mask | b.mask, mono.as_ref());
        if a.cost() + b.cost() - together <= 0.0 {
            continue;
        }
        let a = open.remove(j);
        i -= 1;
        let b = &mut open[i];
        b.mask |= a.mask;
        b.mono = mono;
        b.sparse = false;
        b.gates.splice(0..0, a.gates);
    }
}

/// Emits the open blocks in order, first multiplying each permutation block into an earlier
/// one where the two together stay within `MAX_MONO_QUBITS` qubits and nothing between them
/// touches its qubits: a permutation pass costs the same at any width, so a CX ladder
/// becomes one pass per ten qubits rather than per five.
fn close(open: &mut Vec<Open>, steps: &mut Vec<Step>, k: usize) {
    let mut blocks: Vec<Open> = Vec::with_capacity(open.len());
    for b in open.drain(..) {
        match (k >= 2).then(|| merge_target(&blocks, &b)).flatten() {
            Some(j) => {
                let a = &mut blocks[j];
                a.mono = a.mono.as_ref().zip(b.mono.as_ref()).map(|(x, y)| x.then(y));
                a.mask |= b.mask;
                a.sparse = false;
                a.gates.extend(b.gates);
            }
            None => blocks.push(b),
        }
    }
    for b in blocks {
        steps.push(match b.mono {
            _ if b.sparse => sparse(&b.gates[0]),
            // A product known to be a permutation needs no dense matrix (and may be too wide
            // for one).
            Some(mono) if b.gates.len() > 1 => Step::Block(Block {
                qubits: qubits_of(b.mask),
                controls: vec![],
                matrix: mono.into_matrix(),
                gates: b.gates.len(),
            }),
            _ => block(b.mask, &b.gates),
        });
    }
}

/// The latest of `blocks` that permutation block `b` can be multiplied into.
fn merge_target(blocks: &[Open], b: &Open) -> Option<usize> {
    if b.alone || b.mono.is_none() {
        return None;
    }
    for j in (blocks.len().saturating_sub(WINDOW)..blocks.len()).rev() {
        let a = &blocks[j];
        if !a.alone
            && a.mono.is_some()
            && (a.mask | b.mask).count_ones() as usize <= MAX_MONO_QUBITS
        {
            return Some(j);
        }
        if a.mask & b.mask != 0 {
            return None; // b cannot move past it
        }
    }
    None
}

/// A controlled gate as its targets' matrix under its controls, or the gate alone when its
/// targets are too many for the kernels.
fn sparse(g: &Gate) -> Step {
    let uncontrolled = Gate {
        kind: g.kind,
        params: g.params.clone(),
        controls: vec![],
        targets: g.targets.clone(),
    };
    match block(mask(&uncontrolled), std::slice::from_ref(&uncontrolled)) {
        Step::Block(mut b) => {
            b.controls = g.controls.clone();
            b.controls.sort_unstable();
            Step::Block(b)
        }
        _ => Step::Gate(g.clone()),
    }
}

/// A step for one operation on its own (inside a condition, or a measurement or reset).
fn single(op: &Op) -> Step {
    match op {
        Op::Gate(g) if !g.controls.is_empty() => sparse(g),
        Op::Gate(g) => block(mask(g), std::slice::from_ref(g)),
        Op::Measure { qubit, clbit } => Step::Measure {
            qubit: *qubit,
            clbit: *clbit,
        },
        Op::Reset { qubit } => Step::Reset { qubit: *qubit },
        Op::If { creg, value, op } => Step::If {
            creg: *creg,
            value: *value,
            then: Box::new(single(op)),
        },
        // A barrier under a condition does nothing either way.
        Op::Barrier { .. } => Step::Block(Block {
            qubits: vec![],
            controls: vec![],
            matrix: Matrix::Diagonal(vec![C::new(1.0, 0.0)]),
            gates: 0,
        }),
    }
}

/// The block of `gates` (in order) on the qubits of `mask`, or the gate alone when it is too
/// wide for the kernels.
fn block(mask: u64, gates: &[Gate]) -> Step {
    let qubits = qubits_of(mask);
    if qubits.len() > MAX_BLOCK_QUBITS {
        debug_assert_eq!(gates.len(), 1);
        return Step::Gate(gates[0].clone());
    }
    Step::Block(Block {
        qubits,
        controls: vec![],
        matrix: Matrix::of_dense(dense(mask, gates)),
        gates: gates.len(),
    })
}

/// The matrix of `gates` (in order) on the qubits of `mask`, row-major, bit j of an index
/// being the j-th lowest qubit: each basis column run through the reference path.
fn dense(mask: u64, gates: &[Gate]) -> Vec<C> {
    let qubits = qubits_of(mask);
    let local = |q: &usize| {
        qubits
            .binary_search(q)
            .expect("the block holds the gate's qubits")
    };
    let local_gates: Vec<Gate> = gates
        .iter()
        .map(|g| Gate {
            kind: g.kind,
            params: g.params.clone(),
            controls: g.controls.iter().map(local).collect(),
            targets: g.targets.iter().map(local).collect(),
        })
        .collect();
    let d = 1usize << qubits.len();
    let mut matrix = vec![C::new(0.0, 0.0); d * d];
    let mut column = vec![C::new(0.0, 0.0); d];
    for col in 0..d {
        column.iter_mut().for_each(|a| *a = C::new(0.0, 0.0));
        column[col] = C::new(1.0, 0.0);
        for g in &local_gates {
            reference::apply(&mut column, g);
        }
        for (row, a) in column.iter().enumerate() {
            matrix[row * d + col] = *a;
        }
    }
    matrix
}
