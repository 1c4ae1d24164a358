//! The state-vector simulator: gates fused into blocks of a few qubits (`fuse`), each block
//! applied in one vectorised, multi-threaded pass (`kernel`), in double or single precision.
//! Shots are sampled from one final state when the circuit allows it, and simulated one by
//! one from the first measurement, reset or condition otherwise. Seeded: the same seed gives
//! the same shots.

pub mod fuse;
pub mod kernel;
mod local;
mod memory;
pub mod reference;

use std::collections::BTreeMap;

use num_complex::{Complex, Complex64 as C};
use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::circuit::{Circuit, Gate, Op};
use crate::error::ProgramError;
use fuse::Step;
use kernel::{Exec, Prepared, Real};
pub use memory::{available_bytes, show as show_bytes, state_bytes};
pub use reference::{M2, matrix};

/// The default largest circuit the simulator runs; larger ones need `max_qubits` raised.
/// Up to this size, whether a state fits is decided by the memory the machine has.
pub const DEFAULT_MAX_QUBITS: usize = 30;
/// The hard limit (16 GiB of amplitudes in double precision).
pub const HARD_MAX_QUBITS: usize = 30;
/// The largest fused block, in qubits, unless asked otherwise (chosen by measurement: see
/// bench/README.md).
pub const DEFAULT_FUSION: usize = 5;

/// The floating-point type amplitudes are held in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// 64-bit parts, 16 bytes per amplitude: agrees with exact results to about 1e-12.
    #[default]
    Double,
    /// 32-bit parts, 8 bytes per amplitude: half the memory and bandwidth, about 1e-6.
    Single,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::Double => "double",
            Precision::Single => "single",
        }
    }

    /// Bytes per amplitude.
    pub fn bytes(self) -> u64 {
        match self {
            Precision::Double => 16,
            Precision::Single => 8,
        }
    }
}

/// A dense state of `n` qubits in double precision; qubit `k` is bit `k` of the basis index
/// (little-endian).
#[derive(Clone)]
pub struct State {
    pub n: usize,
    pub amps: Vec<C>,
}

impl State {
    pub fn zero(n: usize) -> State {
        let mut amps = vec![C::new(0.0, 0.0); 1 << n];
        amps[0] = C::new(1.0, 0.0);
        State { n, amps }
    }

    /// Applies a gate directly (no fusion): the reference path.
    pub fn apply(&mut self, g: &Gate) {
        reference::apply(&mut self.amps, g);
    }

    /// Probability that qubit `q` reads 1.
    pub fn prob_one(&self, q: usize) -> f64 {
        prob_one(&self.amps, q)
    }

    pub fn probabilities(&self) -> Vec<f64> {
        self.amps.iter().map(|a| a.norm_sqr()).collect()
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

/// How to simulate: the size limit, the threads, the precision and the fusion width.
#[derive(Debug, Clone)]
pub struct Simulator {
    pub max_qubits: usize,
    /// Worker threads for each pass; 0 takes every core.
    pub threads: usize,
    pub precision: Precision,
    /// The largest fused block in qubits (0 applies every gate on its own).
    pub fusion: usize,
}

impl Default for Simulator {
    fn default() -> Self {
        Simulator {
            max_qubits: DEFAULT_MAX_QUBITS,
            threads: 0,
            precision: Precision::Double,
            fusion: DEFAULT_FUSION,
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

/// A plan's step with its block ready for one precision.
type Ready<F> = Step<Prepared<F>>;

fn ready<F: Real>(steps: Vec<Step>) -> Vec<Ready<F>> {
    steps.into_iter().map(ready_one).collect()
}

fn ready_one<F: Real>(step: Step) -> Ready<F> {
    match step {
        Step::Block(b) => Step::Block(Prepared::new(&b.qubits, &b.controls, &b.matrix)),
        Step::Gate(g) => Step::Gate(g),
        Step::Measure { qubit, clbit } => Step::Measure { qubit, clbit },
        Step::Reset { qubit } => Step::Reset { qubit },
        Step::If { creg, value, then } => Step::If {
            creg,
            value,
            then: Box::new(ready_one(*then)),
        },
    }
}

/// Probability that qubit `q` reads 1.
fn prob_one<F: Real>(amps: &[Complex<F>], q: usize) -> f64 {
    let step = 1usize << q;
    amps.chunks_exact(2 * step)
        .map(|c| c[step..].iter().map(|a| a.norm_sqr().wide()).sum::<f64>())
        .sum()
}

/// Projects qubit `q` onto `value` and renormalises (`p` is that outcome's probability).
fn collapse<F: Real>(amps: &mut [Complex<F>], q: usize, value: bool, p: f64) {
    let step = 1usize << q;
    let scale = F::of(1.0 / p.sqrt());
    for chunk in amps.chunks_exact_mut(2 * step) {
        let (lo, hi) = chunk.split_at_mut(step);
        let (keep, drop) = if value { (hi, lo) } else { (lo, hi) };
        keep.iter_mut().for_each(|a| *a = *a * scale);
        drop.iter_mut().for_each(|a| *a = Complex::default());
    }
}

/// Flips qubit `q` (an X gate).
fn flip<F: Real>(amps: &mut [Complex<F>], q: usize) {
    let step = 1usize << q;
    for chunk in amps.chunks_exact_mut(2 * step) {
        let (lo, hi) = chunk.split_at_mut(step);
        lo.swap_with_slice(hi);
    }
}

/// The op to run given the classical bits so far: a condition unwraps or disappears.
fn resolve<'a, F>(step: &'a Ready<F>, bits: &[bool], c: &Circuit) -> Option<&'a Ready<F>> {
    match step {
        Step::If { creg, value, then } => {
            let r = &c.cregs[*creg];
            let v = (0..r.len)
                .filter(|i| *i < 64 && bits[r.offset + i])
                .fold(0u64, |v, i| v | 1 << i);
            if v == *value {
                resolve(then, bits, c)
            } else {
                None
            }
        }
        other => Some(other),
    }
}

impl Simulator {
    fn check(&self, c: &Circuit, copies: u64) -> Result<(), ProgramError> {
        let n = c.num_qubits();
        let limit = self.max_qubits.min(HARD_MAX_QUBITS);
        if n > limit {
            return Err(ProgramError::too_large(format!(
                "the circuit has {n} qubits; the simulator runs at most {limit} (a {n}-qubit state takes {} in {} precision)",
                memory::show(state_bytes(n, self.precision)),
                self.precision.name(),
            )));
        }
        memory::check(n, self.precision, copies)
    }

    fn exec(&self) -> Exec {
        let threads = match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Exec::new(threads)
    }

    fn plan(&self, ops: &[Op]) -> Vec<Step> {
        fuse::plan(ops, self.fusion)
    }

    /// The final state of a circuit's gates (measurements, resets and conditions refused),
    /// in double precision whatever the precision it was computed in.
    pub fn statevector(&self, c: &Circuit) -> Result<State, ProgramError> {
        self.check(c, 1)?;
        if c.ops
            .iter()
            .any(|op| !matches!(op, Op::Gate(_) | Op::Barrier { .. } | Op::Measure { .. }))
        {
            return Err(ProgramError::unsupported(
                "a state vector needs a circuit without reset or conditions",
                None,
            ));
        }
        let gates: Vec<Op> = c
            .ops
            .iter()
            .filter(|op| matches!(op, Op::Gate(_)))
            .cloned()
            .collect();
        let steps = self.plan(&gates);
        let exec = self.exec();
        let n = c.num_qubits();
        let amps = match self.precision {
            Precision::Double => final_state::<f64>(n, steps, &exec)?,
            Precision::Single => final_state::<f32>(n, steps, &exec)?
                .into_iter()
                .map(|a| C::new(a.re.wide(), a.im.wide()))
                .collect(),
        };
        Ok(State { n, amps })
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
        let midcircuit = c.has_midcircuit_ops();
        self.check(c, if midcircuit { 2 } else { 1 })?;
        let nclbits = c.num_clbits();
        let kept = shots.saturating_mul(nclbits.max(1) as u64);
        if kept > MAX_SHOT_BITS {
            return Err(ProgramError::too_large(format!(
                "{shots} shots of {nclbits} classical bits are {kept} bits to keep; the simulator keeps at most {MAX_SHOT_BITS}: ask for fewer shots or measure into fewer classical bits"
            )));
        }
        match self.precision {
            Precision::Double => self.sample_in::<f64>(c, shots, seed, keep),
            Precision::Single => self.sample_in::<f32>(c, shots, seed, keep),
        }
    }

    fn sample_in<F: Real>(
        &self,
        c: &Circuit,
        shots: u64,
        seed: u64,
        keep: bool,
    ) -> Result<Shots, ProgramError> {
        let nclbits = c.num_clbits();
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut out = Shots::default();
        let first = c
            .ops
            .iter()
            .position(Op::is_nonunitary)
            .unwrap_or(c.ops.len());
        let exec = self.exec();
        let state = final_state::<F>(c.num_qubits(), self.plan(&c.ops[..first]), &exec)?;

        if !c.has_midcircuit_ops() {
            // Every remaining op is a measurement or barrier: sample once from the final state.
            let measures: Vec<(usize, usize)> = c.ops[first..]
                .iter()
                .filter_map(|op| match op {
                    Op::Measure { qubit, clbit } => Some((*qubit, *clbit)),
                    _ => None,
                })
                .collect();
            let picks = draw(&state, shots, &mut rng, &exec);
            for basis in picks {
                let mut bits = vec![false; nclbits];
                for &(q, b) in &measures {
                    bits[b] = basis >> q & 1 == 1;
                }
                out.record(bits, keep);
            }
            return Ok(out);
        }

        let rest = ready::<F>(self.plan(&c.ops[first..]));
        let mut s = memory::copy_of(&state, self.precision)?;
        for _ in 0..shots {
            s.copy_from_slice(&state);
            let mut bits = vec![false; nclbits];
            for step in &rest {
                run_step(&mut s, step, &mut bits, c, &mut rng, &exec);
            }
            out.record(bits, keep);
        }
        Ok(out)
    }

    /// The exact probability of each classical outcome, by following both branches of every
    /// measurement. Gates go through the same fused plan as shots, so the oracle tests check
    /// what users run. Meant for small circuits and tests.
    pub fn exact(&self, c: &Circuit) -> Result<BTreeMap<Vec<bool>, f64>, ProgramError> {
        self.check(c, 2)?;
        match self.precision {
            Precision::Double => self.exact_in::<f64>(c),
            Precision::Single => self.exact_in::<f32>(c),
        }
    }

    fn exact_in<F: Real>(&self, c: &Circuit) -> Result<BTreeMap<Vec<bool>, f64>, ProgramError> {
        const MAX_BRANCHES: usize = 1 << 12;
        let exec = self.exec();
        let steps = ready::<F>(self.plan(&c.ops));
        let mut branches = vec![(
            memory::allocate::<F>(c.num_qubits(), self.precision)?,
            vec![false; c.num_clbits()],
            1.0f64,
        )];
        for step in &steps {
            let mut next = Vec::with_capacity(branches.len());
            for (mut s, bits, p) in branches {
                match resolve(step, &bits, c) {
                    None => next.push((s, bits, p)),
                    Some(Step::Block(b)) => {
                        b.apply(&mut s, &exec);
                        next.push((s, bits, p));
                    }
                    Some(Step::Gate(g)) => {
                        reference::apply(&mut s, g);
                        next.push((s, bits, p));
                    }
                    Some(op @ (Step::Measure { qubit, .. } | Step::Reset { qubit })) => {
                        let p1 = prob_one(&s, *qubit).clamp(0.0, 1.0);
                        for (value, pv) in [(false, 1.0 - p1), (true, p1)] {
                            if pv < 1e-14 {
                                continue;
                            }
                            let mut s2 = s.clone();
                            let mut b2 = bits.clone();
                            collapse(&mut s2, *qubit, value, pv);
                            match op {
                                Step::Measure { clbit, .. } => b2[*clbit] = value,
                                _ if value => flip(&mut s2, *qubit),
                                _ => {}
                            }
                            next.push((s2, b2, p * pv));
                        }
                    }
                    Some(Step::If { .. }) => unreachable!("resolve unwraps conditions"),
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
        for (_, bits, p) in branches {
            *dist.entry(bits).or_insert(0.0) += p;
        }
        Ok(dist)
    }
}

/// Amplitudes per chunk when sampling: fixed, so the same seed draws the same shots whatever
/// the thread count.
const SAMPLE_CHUNK: usize = 1 << 16;

/// `shots` basis indices drawn from `|amplitude|²`: each chunk's probability is summed (in
/// parallel), the sorted uniform draws are scaled by the total and located among the
/// chunks, and each chunk holding draws is walked once against its running sum.
fn draw<F: Real>(state: &[Complex<F>], shots: u64, rng: &mut Pcg64Mcg, exec: &Exec) -> Vec<usize> {
    let chunks: Vec<&[Complex<F>]> = state.chunks(SAMPLE_CHUNK).collect();
    let sums = exec.map(chunks.len(), |c| probability(chunks[c]));
    let total: f64 = sums.iter().sum();
    let mut draws: Vec<(f64, usize)> = (0..shots as usize)
        .map(|i| (uniform(rng) * total, i))
        .collect();
    draws.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The draws falling in each chunk: [start, end) of `draws`, and the chunk's offset in
    // the running sum.
    let mut spans = Vec::new();
    let (mut start, mut before) = (0, 0.0);
    for (c, &p) in sums.iter().enumerate() {
        let end = start + draws[start..].partition_point(|d| d.0 < before + p);
        if end > start {
            spans.push((c, start, end, before));
        }
        (start, before) = (end, before + p);
    }
    // Rounding can leave the last draws past the final sum: the last chunk that has any
    // probability takes them.
    if start < draws.len() {
        let last = sums.iter().rposition(|&p| p > 0.0).unwrap_or(0);
        match spans.last_mut() {
            Some(s) if s.0 == last => s.2 = draws.len(),
            _ => spans.push((last, start, draws.len(), before - sums[last])),
        }
    }
    let found = exec.map(spans.len(), |s| {
        let (c, start, end, before) = spans[s];
        let chunk = chunks[c];
        let last = chunk
            .iter()
            .rposition(|a| a.norm_sqr() != F::zero())
            .unwrap_or(0);
        let mut out = Vec::with_capacity(end - start);
        let (mut acc, mut k) = (before, start);
        for (j, a) in chunk.iter().enumerate() {
            acc += a.norm_sqr().wide();
            while k < end && (draws[k].0 < acc || j == last) {
                out.push((draws[k].1, c * SAMPLE_CHUNK + j));
                k += 1;
            }
            if k == end {
                break;
            }
        }
        out
    });
    let mut picks = vec![0; draws.len()];
    for (i, basis) in found.into_iter().flatten() {
        picks[i] = basis;
    }
    picks
}

/// The sum of `|a|²` over `amps`, in four lanes (the order is fixed, so the result is too).
fn probability<F: Real>(amps: &[Complex<F>]) -> f64 {
    let mut lanes = [0.0f64; 4];
    let mut quads = amps.chunks_exact(4);
    for q in &mut quads {
        for (l, a) in lanes.iter_mut().zip(q) {
            *l += a.norm_sqr().wide();
        }
    }
    let rest: f64 = quads.remainder().iter().map(|a| a.norm_sqr().wide()).sum();
    lanes.iter().sum::<f64>() + rest
}

/// |0…0⟩ of `n` qubits after `steps` (gates only).
fn final_state<F: Real>(
    n: usize,
    steps: Vec<Step>,
    exec: &Exec,
) -> Result<Vec<Complex<F>>, ProgramError> {
    let mut amps = memory::allocate::<F>(n, F::PRECISION)?;
    local::apply(&local::parts::<F>(n, steps), &mut amps, exec);
    Ok(amps)
}

fn run_step<F: Real>(
    s: &mut [Complex<F>],
    step: &Ready<F>,
    bits: &mut [bool],
    c: &Circuit,
    rng: &mut Pcg64Mcg,
    exec: &Exec,
) {
    match resolve(step, bits, c) {
        None => {}
        Some(Step::Block(b)) => b.apply(s, exec),
        Some(Step::Gate(g)) => reference::apply(s, g),
        Some(Step::Measure { qubit, clbit }) => {
            let p1 = prob_one(s, *qubit).clamp(0.0, 1.0);
            let one = uniform(rng) < p1;
            collapse(s, *qubit, one, if one { p1 } else { 1.0 - p1 });
            bits[*clbit] = one;
        }
        Some(Step::Reset { qubit }) => {
            let p1 = prob_one(s, *qubit).clamp(0.0, 1.0);
            let one = uniform(rng) < p1;
            collapse(s, *qubit, one, if one { p1 } else { 1.0 - p1 });
            if one {
                flip(s, *qubit);
            }
        }
        Some(Step::If { .. }) => unreachable!("resolve unwraps conditions"),
    }
}

#[cfg(test)]
mod tests;
