//! Cache blocking: consecutive blocks whose qubits together are few enough are applied
//! together, one cache-sized sub-state at a time, so the state streams through memory once
//! for the whole run instead of once per block.
//!
//! A run's qubits `S` (with the lowest three always in, so sub-states are made of whole runs
//! of 8 amplitudes, one or two cache lines) split every index into its bits at `S` and the
//! rest. For each value of the rest, the 2^|S| amplitudes sharing it form a sub-state on
//! which the run's blocks act exactly as on the whole state, their qubits renumbered to
//! their places in `S`. When `S` is the lowest qubits, a sub-state is a contiguous chunk and
//! is worked on in place; otherwise it is gathered into a buffer and scattered back.

use num_complex::Complex;

use super::fuse::{Block, Matrix, Step};
use super::kernel::{Exec, Prepared, Ptr, Real, as_floats, is_zero};
use super::{Ready, reference};

/// The bytes of amplitudes a sub-state holds: half a core's L2 cache on the machine measured
/// (an AMD EPYC with 1 MiB per core), leaving room for the blocks' tables.
const LOCAL_BYTES: usize = 1 << 19;

/// Qubits always in a run's set: a sub-state is made of runs of 2^3 amplitudes.
const LOW: usize = 3;

/// A step of a plan, or a run of blocks applied together.
pub enum Part<F> {
    Step(Box<Ready<F>>),
    Local(Local<F>),
}

/// Blocks applied together on sub-states over `qubits`.
pub struct Local<F> {
    /// Ascending.
    qubits: Vec<usize>,
    /// The blocks, their qubits renumbered to places in `qubits`.
    blocks: Vec<Prepared<F>>,
}

/// How many qubits a sub-state spans in precision `F`.
fn span<F: Real>() -> usize {
    (LOCAL_BYTES / F::PRECISION.bytes() as usize).trailing_zeros() as usize
}

fn mask_of(b: &Block) -> u64 {
    b.qubits
        .iter()
        .chain(&b.controls)
        .fold(0, |m, q| m | 1 << q)
}

/// Whether a block's pass is bound by memory rather than arithmetic, so that applying it
/// on a sub-state already in the cache saves most of its time: permutations, phases and
/// dense blocks of up to 3 qubits (`examples/blocks.rs`: from 4 qubits a dense pass takes
/// longer than streaming the state).
fn light(b: &Block) -> bool {
    !matches!(b.matrix, Matrix::Dense(_)) || b.qubits.len() <= 3
}

/// Groups a plan of gates on `n` qubits into parts. A run becomes one `Local` where either
/// every block is on the lowest qubits a sub-state spans (worked on in place; two blocks or
/// more), or every block is light and their qubits with the lowest three fit in a sub-state
/// (gathered; three or more); the longer of the two is taken.
pub fn parts<F: Real>(n: usize, steps: Vec<Step>) -> Vec<Part<F>> {
    let span = span::<F>();
    if n <= span {
        // The whole state fits in the cache already.
        return steps
            .into_iter()
            .map(|s| Part::Step(Box::new(super::ready_one(s))))
            .collect();
    }
    let lowest = (1u64 << span) - 1;
    let blocks: Vec<Option<(u64, bool)>> = steps
        .iter()
        .map(|s| match s {
            Step::Block(b) => Some((mask_of(b), light(b))),
            _ => None,
        })
        .collect();
    let mut steps = steps.into_iter();
    let mut out = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        let in_place = blocks[i..]
            .iter()
            .take_while(|b| matches!(b, Some((m, _)) if m & !lowest == 0))
            .count();
        let mut set = (1u64 << LOW) - 1;
        let gathered = blocks[i..]
            .iter()
            .take_while(|b| match b {
                Some((m, true)) if (set | m).count_ones() as usize <= span => {
                    set |= m;
                    true
                }
                _ => false,
            })
            .count();
        // Gathering and scattering back cost about one pass of their own, so a gathered run
        // needs three blocks to save two passes; a run in place costs nothing extra.
        let (len, set) = if in_place >= gathered || gathered < 3 {
            (in_place, lowest)
        } else {
            (gathered, set)
        };
        if len < 2 {
            let step = steps.next().expect("one step per entry");
            out.push(Part::Step(Box::new(super::ready_one(step))));
            i += 1;
            continue;
        }
        let run: Vec<Block> = steps
            .by_ref()
            .take(len)
            .map(|s| match s {
                Step::Block(b) => b,
                _ => unreachable!("a run holds blocks only"),
            })
            .collect();
        out.push(Part::Local(Local::new(set, &run)));
        i += len;
    }
    out
}

impl<F: Real> Local<F> {
    fn new(set: u64, run: &[Block]) -> Local<F> {
        let qubits = super::fuse::qubits_of(set);
        let place = |q: &usize| qubits.binary_search(q).expect("the set holds the block");
        let blocks = run
            .iter()
            .map(|b| {
                let q: Vec<usize> = b.qubits.iter().map(place).collect();
                let c: Vec<usize> = b.controls.iter().map(place).collect();
                Prepared::new(&q, &c, &b.matrix)
            })
            .collect();
        Local { qubits, blocks }
    }

    /// Whether sub-states are gathered (the run's qubits are not the lowest ones).
    pub fn gathered(&self) -> bool {
        !self.qubits.iter().enumerate().all(|(i, &q)| i == q)
    }

    /// Applies the run's blocks to a state of `amps.len()` amplitudes (more than a sub-state).
    pub fn apply(&self, amps: &mut [Complex<F>], exec: &Exec) {
        let total = amps.len();
        let size = 1usize << self.qubits.len();
        assert!(
            total > size && self.qubits.last().is_some_and(|&q| 1 << q < total),
            "a run past the state"
        );
        let serial = exec.serial();
        if !self.gathered() {
            exec.chunks(amps, size, |chunk| {
                if !is_zero(as_floats(chunk)) {
                    self.blocks.iter().for_each(|b| b.apply(chunk, &serial));
                }
            });
            return;
        }
        // Runs of contiguous amplitudes: the set's lowest qubits 0, 1, … in a row.
        let run_bits = self
            .qubits
            .iter()
            .enumerate()
            .take_while(|(i, q)| i == *q)
            .count();
        let run = 1usize << run_bits;
        let runs: Vec<usize> = (0..size >> run_bits)
            .map(|j| {
                self.qubits[run_bits..]
                    .iter()
                    .enumerate()
                    .fold(0, |o, (b, &q)| o | (j >> b & 1) << q)
            })
            .collect();
        let others = total / size;
        let ptr = Ptr(amps.as_mut_ptr());
        exec.split(others, total, |range| {
            let mut buf = vec![Complex::<F>::default(); size];
            for rest in range {
                let base = self.base(rest);
                for (piece, &o) in buf.chunks_exact_mut(run).zip(&runs) {
                    // SAFETY: `base + o + run` is within the state (the assertion above: every
                    // qubit in the set and every bit of `rest`'s deposit is below the state's
                    // width), and no other worker reads or writes this sub-state.
                    copy(piece, unsafe { ptr.slice(base + o, run) });
                }
                if is_zero(as_floats(&buf)) {
                    continue; // zero in, zero out
                }
                self.blocks.iter().for_each(|b| b.apply(&mut buf, &serial));
                for (piece, &o) in buf.chunks_exact(run).zip(&runs) {
                    // SAFETY: as above.
                    copy(unsafe { ptr.slice(base + o, run) }, piece);
                }
            }
        });
    }

    /// The index of sub-state `rest`'s first amplitude: `rest` with a zero inserted at each
    /// qubit of the set.
    fn base(&self, mut rest: usize) -> usize {
        for &q in &self.qubits {
            rest = ((rest >> q) << (q + 1)) | (rest & ((1 << q) - 1));
        }
        rest
    }
}

/// Copies whole runs of `2^LOW` amplitudes (a fixed size the compiler copies inline; a
/// `memcpy` call per run would cost more than the run's memory traffic).
#[inline(always)]
fn copy<F: Real>(to: &mut [Complex<F>], from: &[Complex<F>]) {
    for (t, f) in to
        .chunks_exact_mut(1 << LOW)
        .zip(from.chunks_exact(1 << LOW))
    {
        let t: &mut [Complex<F>; 1 << LOW] = t.try_into().expect("a whole run");
        *t = f.try_into().expect("a whole run");
    }
}

/// Applies `parts` to `amps`.
pub fn apply<F: Real>(parts: &[Part<F>], amps: &mut [Complex<F>], exec: &Exec) {
    for part in parts {
        match part {
            Part::Local(l) => l.apply(amps, exec),
            Part::Step(step) => match step.as_ref() {
                Step::Block(b) => b.apply(amps, exec),
                Step::Gate(g) => reference::apply(amps, g),
                _ => unreachable!("a plan of gates holds only gates"),
            },
        }
    }
}
