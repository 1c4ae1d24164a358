//! The passes over a state vector: a fused block's matrix applied to every group of
//! amplitudes it mixes, in one sweep, generic over precision, compiled three times (plain,
//! AVX2 + FMA, AVX-512) and chosen at run time, and split over a thread pool.
//!
//! Two shapes of loop, both written so that the compiler vectorises them:
//! - **runs**: when the block's lowest qubit is at least 2 (so amplitudes come in contiguous
//!   runs of 4, 8 or 16 that the block mixes alike), each matrix entry multiplies a whole run;
//! - **rows**: otherwise the D amplitudes of a group are gathered and each one multiplies a
//!   whole column of the matrix (stored column-major), D rows at once.
//!
//! Diagonal blocks take a third, memory-bound path: one complex multiply per amplitude.

use std::ops::Range;

use num_complex::{Complex, Complex64};
use rayon::prelude::*;

use super::fuse::Matrix;

/// A floating-point type the simulator runs in.
pub trait Real: num_traits::Float + Default + Send + Sync + std::fmt::Debug + 'static {
    /// The longest run the runs kernel takes at once: 8 amplitudes, two AVX-512 registers
    /// of floats (longer runs leave too few registers for the accumulators).
    const RUN: usize;
    /// The precision this type is.
    const PRECISION: super::Precision;
    fn of(x: f64) -> Self;
    fn wide(self) -> f64;
}

impl Real for f64 {
    const RUN: usize = 8;
    const PRECISION: super::Precision = super::Precision::Double;
    fn of(x: f64) -> Self {
        x
    }
    fn wide(self) -> f64 {
        self
    }
}

impl Real for f32 {
    const RUN: usize = 8;
    const PRECISION: super::Precision = super::Precision::Single;
    fn of(x: f64) -> Self {
        x as f32
    }
    fn wide(self) -> f64 {
        f64::from(self)
    }
}

/// The instruction set the kernels were compiled for, picked once per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Plain,
    Avx2,
    Avx512,
}

impl Isa {
    /// The best this CPU runs.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Plain
    }
}

/// Where the passes run: the instruction set and, for more than one thread, the pool.
pub struct Exec {
    pub isa: Isa,
    pool: Option<rayon::ThreadPool>,
}

/// Below this many amplitudes a pass runs on the calling thread: splitting costs more.
const PARALLEL_MIN: usize = 1 << 14;

impl Exec {
    /// `threads` workers (1 runs everything on the calling thread).
    pub fn new(threads: usize) -> Exec {
        let pool = (threads > 1)
            .then(|| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("azq-sim-{i}"))
                    .build()
                    .ok()
            })
            .flatten();
        Exec {
            isa: Isa::detect(),
            pool,
        }
    }

    pub fn threads(&self) -> usize {
        self.pool.as_ref().map_or(1, |p| p.current_num_threads())
    }

    /// The same instruction set on the calling thread alone.
    pub fn serial(&self) -> Exec {
        Exec {
            isa: self.isa,
            pool: None,
        }
    }

    /// Calls `f` on each `size`-long chunk of `amps`, on the workers.
    pub fn chunks<T: Send>(&self, amps: &mut [T], size: usize, f: impl Fn(&mut [T]) + Sync) {
        match &self.pool {
            Some(pool) => pool.install(|| amps.par_chunks_mut(size).for_each(&f)),
            None => amps.chunks_mut(size).for_each(f),
        }
    }

    /// `f` of each of `0..n`, in order, computed on the workers.
    pub fn map<T: Send>(&self, n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
        match &self.pool {
            Some(pool) if n > 1 => pool.install(|| (0..n).into_par_iter().map(&f).collect()),
            _ => (0..n).map(f).collect(),
        }
    }

    /// Calls `f` on disjoint sub-ranges covering `0..groups`, in parallel when the pass
    /// touches at least `PARALLEL_MIN` amplitudes.
    pub(super) fn split(&self, groups: usize, amps: usize, f: impl Fn(Range<usize>) + Sync) {
        match &self.pool {
            Some(pool) if amps >= PARALLEL_MIN && groups > 1 => {
                let chunks = (pool.current_num_threads() * 4).min(groups);
                pool.install(|| {
                    (0..chunks)
                        .into_par_iter()
                        .for_each(|i| f(i * groups / chunks..(i + 1) * groups / chunks))
                });
            }
            _ => f(0..groups),
        }
    }
}

/// A fused block ready for the kernels in one precision.
#[derive(Clone)]
pub struct Prepared<F> {
    /// The block's qubits, ascending; bit j of a block index is qubit `qubits[j]`.
    qubits: Vec<usize>,
    /// The block's qubits and its controls, ascending: the bits a group's base leaves out.
    fixed: Vec<usize>,
    /// The controls' bits: set in every base, so only amplitudes with every control at 1
    /// are visited.
    ctrl: usize,
    /// The amplitude offset of each block index from its group's base.
    offsets: Vec<usize>,
    /// Row-major real and imaginary parts (the runs kernel), or the diagonal's.
    row_re: Vec<F>,
    row_im: Vec<F>,
    /// Per column, each row's `[re, im]` and `[-im, re]` (the rows kernel).
    col_p: Vec<F>,
    col_q: Vec<F>,
    /// Only the diagonal is non-zero: `row_re`/`row_im` hold it.
    diagonal: bool,
    /// A permutation with phases: only the amplitudes it moves or rephases.
    moves: Option<Moves<F>>,
}

/// A permutation with phases as the moves of a pass: the amplitude at offset `from[i]` (from
/// a group's base) goes to `to[i]`, times `phase[i]`. Block indices it leaves in place with
/// phase 1 are not listed: their amplitudes are neither read nor written.
#[derive(Clone)]
struct Moves<F> {
    from: Vec<usize>,
    to: Vec<usize>,
    /// The move whose `from` is this move's `to` (the moved block indices are closed under
    /// the permutation): where the amplitude being overwritten was held.
    replaces: Vec<usize>,
    phase: Vec<Complex<F>>,
    /// Every phase is 1: amplitudes are copied, not multiplied.
    unit: bool,
}

/// The largest dense block the kernels take (32 × 32).
pub const MAX_BLOCK_QUBITS: usize = 5;
/// The largest diagonal or permutation block: its pass costs the same at any width, and its
/// tables (2^k entries, and a 2^k-amplitude group held per worker) stay in the caches.
pub const MAX_MONO_QUBITS: usize = 10;

impl<F: Real> Prepared<F> {
    /// `matrix` is on `qubits` (ascending, at most `MAX_BLOCK_QUBITS` when dense, at most
    /// `MAX_MONO_QUBITS` otherwise), applied where every qubit in `controls` (disjoint from
    /// `qubits`) is 1.
    pub fn new(qubits: &[usize], controls: &[usize], matrix: &Matrix) -> Prepared<F> {
        let d = 1usize << qubits.len();
        let mut fixed: Vec<usize> = qubits.iter().chain(controls).copied().collect();
        fixed.sort_unstable();
        debug_assert!(qubits.windows(2).all(|w| w[0] < w[1]));
        let offsets: Vec<usize> = (0..d)
            .map(|i| {
                qubits
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| i >> j & 1 == 1)
                    .fold(0, |o, (_, q)| o | 1 << q)
            })
            .collect();
        let mut prep = Prepared {
            qubits: qubits.to_vec(),
            fixed,
            ctrl: controls.iter().fold(0, |m, q| m | 1 << q),
            offsets,
            row_re: vec![],
            row_im: vec![],
            col_p: vec![],
            col_q: vec![],
            diagonal: false,
            moves: None,
        };
        let one = Complex64::new(1.0, 0.0);
        match matrix {
            Matrix::Diagonal(phases) => {
                debug_assert!(qubits.len() <= MAX_MONO_QUBITS && phases.len() == d);
                prep.diagonal = true;
                prep.row_re = phases.iter().map(|m| F::of(m.re)).collect();
                prep.row_im = phases.iter().map(|m| F::of(m.im)).collect();
            }
            Matrix::Permutation { perm, phase } => {
                debug_assert!(qubits.len() <= MAX_MONO_QUBITS && perm.len() == d);
                let moved: Vec<usize> = (0..d)
                    .filter(|&c| perm[c] != c || phase[c] != one)
                    .collect();
                let slot = |c: usize| moved.binary_search(&c).expect("closed under perm");
                prep.moves = Some(Moves {
                    replaces: moved.iter().map(|&c| slot(perm[c])).collect(),
                    from: moved.iter().map(|&c| prep.offsets[c]).collect(),
                    to: moved.iter().map(|&c| prep.offsets[perm[c]]).collect(),
                    phase: moved
                        .iter()
                        .map(|&c| Complex::new(F::of(phase[c].re), F::of(phase[c].im)))
                        .collect(),
                    unit: moved.iter().all(|&c| phase[c] == one),
                });
            }
            Matrix::Dense(matrix) => {
                debug_assert!(qubits.len() <= MAX_BLOCK_QUBITS && matrix.len() == d * d);
                prep.row_re = matrix.iter().map(|m| F::of(m.re)).collect();
                prep.row_im = matrix.iter().map(|m| F::of(m.im)).collect();
                prep.col_p = Vec::with_capacity(2 * d * d);
                prep.col_q = Vec::with_capacity(2 * d * d);
                for c in 0..d {
                    for r in 0..d {
                        let m = matrix[r * d + c];
                        prep.col_p.extend([F::of(m.re), F::of(m.im)]);
                        prep.col_q.extend([F::of(-m.im), F::of(m.re)]);
                    }
                }
            }
        }
        prep
    }

    /// Applies the block to a state of `amps.len()` amplitudes.
    pub fn apply(&self, amps: &mut [Complex<F>], exec: &Exec) {
        let total = amps.len();
        let Some(&lowest) = self.fixed.first() else {
            return; // no qubits: nothing to do
        };
        // Every index a pass computes lies in the state: checked once per pass, not per group.
        assert!(
            self.fixed.last().is_some_and(|&q| 1 << q < total),
            "a block past the state"
        );
        // Amplitudes of a group sit in runs as long as the lowest qubit the block fixes.
        let run = (1usize << lowest).min(F::RUN);
        let bases = total >> self.fixed.len();
        let ptr = Ptr(amps.as_mut_ptr());
        if self.diagonal && (run >= 4 || self.ctrl != 0) {
            let groups = bases / run;
            exec.split(groups, total, |r| unsafe { diagonal(ptr, self, r, run) });
        } else if self.diagonal {
            // Low qubits in the block: walk the state in order, each amplitude's phase
            // found from a table for its low bits and one lookup for the rest.
            let low_bits = total.trailing_zeros().min(10) as usize;
            let table: Vec<usize> = (0..1usize << low_bits).map(|j| self.index_of(j)).collect();
            let chunks = total >> low_bits;
            exec.split(chunks, total, |r| unsafe {
                diagonal_in_order(ptr, self, r, low_bits, &table)
            });
        } else if let Some(moves) = &self.moves {
            if moves.from.is_empty() {
                return; // the identity
            }
            let groups = bases / run;
            exec.split(groups, total, |r| unsafe {
                permute(ptr, self, moves, r, run)
            });
        } else if run >= 4 {
            let groups = bases / run;
            exec.split(groups, total, |r| unsafe {
                dispatch_runs(exec.isa, ptr, self, r, run)
            });
        } else {
            let groups = bases;
            exec.split(groups, total, |r| unsafe {
                dispatch_rows(exec.isa, ptr, self, r)
            });
        }
    }

    /// The highest qubit the block reads (its own or a control); 0 for none.
    pub fn highest(&self) -> usize {
        self.fixed.last().copied().unwrap_or(0)
    }

    /// The block index of amplitude `i`: its bits at the block's qubits.
    fn index_of(&self, i: usize) -> usize {
        self.qubits
            .iter()
            .enumerate()
            .fold(0, |k, (j, &q)| k | (i >> q & 1) << j)
    }

    /// The index of group `g`'s first amplitude: `g` with a zero inserted at each block
    /// qubit and control, then the controls set.
    #[inline(always)]
    fn base(&self, mut g: usize) -> usize {
        for &q in &self.fixed {
            g = ((g >> q) << (q + 1)) | (g & ((1 << q) - 1));
        }
        g | self.ctrl
    }
}

/// The state's first amplitude, shared by the workers of one pass. Each worker touches only
/// the amplitudes of its own groups, and distinct groups share no amplitude (a group is its
/// base plus the block's offsets, and the base has zeros at every block qubit and the same
/// fixed bits at every control).
#[derive(Clone, Copy)]
pub(super) struct Ptr<F>(pub(super) *mut Complex<F>);
// SAFETY: see the type's comment: concurrent workers write disjoint amplitudes.
unsafe impl<F> Send for Ptr<F> {}
unsafe impl<F> Sync for Ptr<F> {}

impl<F> Ptr<F> {
    /// Safety: `start..start + len` lies in the state, and no other worker touches it while
    /// the slice lives.
    pub(super) unsafe fn slice<'a>(self, start: usize, len: usize) -> &'a mut [Complex<F>] {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

/// Whether every value is zero, without branching per value (so it vectorises). Passes skip
/// the writes of a group that is zero in and so zero out: a state that is mostly zero (the
/// first layers of any circuit, ancillas, GHZ) then leaves most of its pages untouched, still
/// mapped to the kernel's zero page, which costs neither a fault nor memory bandwidth.
#[inline(always)]
pub(super) fn is_zero<F: Real>(values: &[F]) -> bool {
    !values.iter().fold(false, |any, &v| any | (v != F::zero()))
}

/// Amplitudes as their interleaved parts.
#[inline(always)]
pub(super) fn as_floats<F: Real>(amps: &[Complex<F>]) -> &[F] {
    // SAFETY: Complex<F> is `repr(C)` of two Fs.
    unsafe { std::slice::from_raw_parts(amps.as_ptr().cast::<F>(), 2 * amps.len()) }
}

/// `a·b + c`, fused where the caller was compiled with FMA.
#[inline(always)]
fn madd<F: Real, const FMA: bool>(a: F, b: F, c: F) -> F {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Safety: every index `prep.base(g·run) + offset + v` for `g` in `groups`, `v < run` lies
/// in the state behind `p`, and no other thread touches those groups.
///
/// Works on the interleaved parts directly (`W` = 2 × run floats): with `m = a + ib`,
/// `m·x = a·[re, im] + b·[-im, re]`, and since swapping the parts is linear, a row's sum is
/// `Σ a·x` plus the swapped `Σ b·x` with signs: two FMAs per matrix entry and run, one swap
/// per row.
#[inline(always)]
unsafe fn runs<F: Real, const D: usize, const W: usize, const FMA: bool>(
    p: Ptr<F>,
    prep: &Prepared<F>,
    groups: Range<usize>,
) {
    let (mre, mim) = (&prep.row_re[..D * D], &prep.row_im[..D * D]);
    let off: &[usize; D] = prep.offsets[..D].try_into().expect("block size");
    let f = p.0.cast::<F>();
    let zero = F::zero();
    // Four rows at a time: independent accumulators keep the FMA units busy (one row's sum
    // alone is a chain of dependent FMAs, bound by their latency).
    let r_rows: usize = if D < 4 { D } else { 4 };
    for g in groups {
        let base = prep.base(g * (W / 2));
        let mut x = [[zero; W]; D];
        for c in 0..D {
            // SAFETY: in the state (see the function's contract); Complex<F> is two Fs.
            x[c] = unsafe { *f.add(2 * (base + off[c])).cast::<[F; W]>() };
        }
        if is_zero(x.as_flattened()) {
            continue; // zero in, zero out: the pages stay untouched
        }
        for r0 in (0..D).step_by(r_rows) {
            let mut re_part = [[zero; W]; 4];
            let mut im_part = [[zero; W]; 4];
            for c in 0..D {
                for k in 0..r_rows {
                    let (a, b) = (mre[(r0 + k) * D + c], mim[(r0 + k) * D + c]);
                    for j in 0..W {
                        re_part[k][j] = madd::<F, FMA>(a, x[c][j], re_part[k][j]);
                        im_part[k][j] = madd::<F, FMA>(b, x[c][j], im_part[k][j]);
                    }
                }
            }
            for k in 0..r_rows {
                let out: [F; W] = std::array::from_fn(|j| {
                    let swapped = im_part[k][j ^ 1];
                    re_part[k][j] + if j % 2 == 0 { -swapped } else { swapped }
                });
                // SAFETY: as above; this group's runs are written by this thread only.
                unsafe { *f.add(2 * (base + off[r0 + k])).cast::<[F; W]>() = out };
            }
        }
    }
}

/// Safety: as for `runs`, with runs of one amplitude. `DD` = 2 × the block's rows: the
/// accumulators hold the output interleaved, and column `c` of the matrix is kept as
/// `[re, im]` and `[-im, re]` per row, so `out += x.re·P[c] + x.im·Q[c]`. Two groups go
/// through at once, so each column loaded serves both (the loads, not the FMAs, bound it).
#[inline(always)]
unsafe fn rows<F: Real, const DD: usize, const FMA: bool>(
    p: Ptr<F>,
    prep: &Prepared<F>,
    groups: Range<usize>,
) {
    let (cp, cq) = (&prep.col_p[..DD * DD / 2], &prep.col_q[..DD * DD / 2]);
    let off = &prep.offsets[..DD / 2];
    let zero = F::zero();
    let mut g = groups.start;
    while g < groups.end {
        let pair = g + 1 < groups.end;
        let bases = [
            prep.base(g),
            if pair { prep.base(g + 1) } else { prep.base(g) },
        ];
        let mut acc = [[zero; DD]; 2];
        let mut inputs = [false; 2];
        for (c, &o) in off.iter().enumerate() {
            // SAFETY: in the state, this thread's groups.
            let x = bases.map(|b| unsafe { *p.0.add(b + o) });
            for h in 0..2 {
                inputs[h] |= (x[h].re != zero) | (x[h].im != zero);
            }
            let pc: &[F; DD] = cp[c * DD..(c + 1) * DD].try_into().expect("column");
            let qc: &[F; DD] = cq[c * DD..(c + 1) * DD].try_into().expect("column");
            for j in 0..DD {
                for h in 0..2 {
                    acc[h][j] =
                        madd::<F, FMA>(x[h].re, pc[j], madd::<F, FMA>(x[h].im, qc[j], acc[h][j]));
                }
            }
        }
        for h in 0..if pair { 2 } else { 1 } {
            if !inputs[h] {
                continue; // zero in, zero out
            }
            for (r, &o) in off.iter().enumerate() {
                // SAFETY: as above.
                unsafe { *p.0.add(bases[h] + o) = Complex::new(acc[h][2 * r], acc[h][2 * r + 1]) };
            }
        }
        g += 2;
    }
}

/// Safety: as for `runs`; `run` is 1, 2, 4, 8 or 16.
unsafe fn diagonal<F: Real>(p: Ptr<F>, prep: &Prepared<F>, groups: Range<usize>, run: usize) {
    match run {
        16 => unsafe { diagonal_runs::<F, 32>(p, prep, groups) },
        8 => unsafe { diagonal_runs::<F, 16>(p, prep, groups) },
        4 => unsafe { diagonal_runs::<F, 8>(p, prep, groups) },
        2 => unsafe { diagonal_runs::<F, 4>(p, prep, groups) },
        _ => unsafe { diagonal_runs::<F, 2>(p, prep, groups) },
    }
}

/// Safety: as for `runs` (`W` = 2 × the run). Each phase `a + ib` times a run is
/// `a·[re, im] + b·[-im, re]` over the interleaved parts, as in `runs`.
#[inline(always)]
unsafe fn diagonal_runs<F: Real, const W: usize>(
    p: Ptr<F>,
    prep: &Prepared<F>,
    groups: Range<usize>,
) {
    let f = p.0.cast::<F>();
    for g in groups {
        let base = prep.base(g * (W / 2));
        for (c, &o) in prep.offsets.iter().enumerate() {
            let (a, b) = (prep.row_re[c], prep.row_im[c]);
            // SAFETY: in the state, this thread's group; Complex<F> is two Fs.
            let dst: &mut [F; W] = unsafe { &mut *f.add(2 * (base + o)).cast::<[F; W]>() };
            let x = *dst;
            if is_zero(&x) {
                continue;
            }
            *dst = std::array::from_fn(|j| {
                let swapped = b * x[j ^ 1];
                a * x[j] + if j % 2 == 0 { -swapped } else { swapped }
            });
        }
    }
}

/// Safety: as for `runs`; `run` is 1, 2, 4 or 8.
unsafe fn permute<F: Real>(
    p: Ptr<F>,
    prep: &Prepared<F>,
    moves: &Moves<F>,
    groups: Range<usize>,
    run: usize,
) {
    match run {
        8 => unsafe { permute_runs::<F, 8>(p, prep, moves, groups) },
        4 => unsafe { permute_runs::<F, 4>(p, prep, moves, groups) },
        2 => unsafe { permute_runs::<F, 2>(p, prep, moves, groups) },
        _ => unsafe { permute_runs::<F, 1>(p, prep, moves, groups) },
    }
}

/// Safety: as for `runs`. Each group's moved runs are read first and written after, so a
/// cycle of the permutation needs no order. A run that is zero and replaces a zero run is
/// not written, so a sparse state (GHZ) leaves its untouched pages alone.
#[inline(always)]
unsafe fn permute_runs<F: Real, const R: usize>(
    p: Ptr<F>,
    prep: &Prepared<F>,
    moves: &Moves<F>,
    groups: Range<usize>,
) {
    let mut held = vec![[Complex::<F>::default(); R]; moves.from.len()];
    let mut zero = vec![false; moves.from.len()];
    for g in groups {
        let base = prep.base(g * R);
        let mut any = false;
        for ((h, z), &o) in held.iter_mut().zip(&mut zero).zip(&moves.from) {
            // SAFETY: in the state, this thread's group; a run is R amplitudes in a row.
            *h = unsafe { *p.0.add(base + o).cast::<[Complex<F>; R]>() };
            *z = is_zero(as_floats(h));
            any |= !*z;
        }
        if !any {
            continue; // a permutation of zeros
        }
        for (i, &o) in moves.to.iter().enumerate() {
            if zero[i] && zero[moves.replaces[i]] {
                continue;
            }
            // SAFETY: as above.
            let dst = unsafe { &mut *p.0.add(base + o).cast::<[Complex<F>; R]>() };
            *dst = if moves.unit {
                held[i]
            } else {
                let m = moves.phase[i];
                std::array::from_fn(|v| held[i][v] * m)
            };
        }
    }
}

/// Safety: chunks of `2^low_bits` amplitudes in `chunks` lie in the state behind `p` and no
/// other thread touches them; `table` is `index_of` for every value of the low bits.
unsafe fn diagonal_in_order<F: Real>(
    p: Ptr<F>,
    prep: &Prepared<F>,
    chunks: Range<usize>,
    low_bits: usize,
    table: &[usize],
) {
    let phases: Vec<Complex<F>> = prep
        .row_re
        .iter()
        .zip(&prep.row_im)
        .map(|(&re, &im)| Complex::new(re, im))
        .collect();
    for k in chunks {
        let start = k << low_bits;
        let high = prep.index_of(start);
        // SAFETY: this thread's chunk, inside the state.
        let dst = unsafe { std::slice::from_raw_parts_mut(p.0.add(start), table.len()) };
        if is_zero(as_floats(dst)) {
            continue;
        }
        for (a, &low) in dst.iter_mut().zip(table) {
            *a = *a * phases[high | low];
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn runs_avx2<F: Real, const D: usize, const V: usize>(
    p: Ptr<F>,
    prep: &Prepared<F>,
    g: Range<usize>,
) {
    unsafe { runs::<F, D, V, true>(p, prep, g) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn runs_avx512<F: Real, const D: usize, const V: usize>(
    p: Ptr<F>,
    prep: &Prepared<F>,
    g: Range<usize>,
) {
    unsafe { runs::<F, D, V, true>(p, prep, g) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2<F: Real, const DD: usize>(p: Ptr<F>, prep: &Prepared<F>, g: Range<usize>) {
    unsafe { rows::<F, DD, true>(p, prep, g) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn rows_avx512<F: Real, const DD: usize>(p: Ptr<F>, prep: &Prepared<F>, g: Range<usize>) {
    unsafe { rows::<F, DD, true>(p, prep, g) }
}

/// Safety: as for `runs`; `isa` is what `Isa::detect` found on this CPU.
unsafe fn dispatch_runs<F: Real>(
    isa: Isa,
    p: Ptr<F>,
    prep: &Prepared<F>,
    g: Range<usize>,
    run: usize,
) {
    macro_rules! go {
        ($d:literal, $v:literal) => {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { runs_avx512::<F, $d, $v>(p, prep, g) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { runs_avx2::<F, $d, $v>(p, prep, g) },
                _ => unsafe { runs::<F, $d, $v, false>(p, prep, g) },
            }
        };
    }
    match (prep.offsets.len(), run) {
        (2, 4) => go!(2, 8),
        (2, 8) => go!(2, 16),
        (2, 16) => go!(2, 32),
        (4, 4) => go!(4, 8),
        (4, 8) => go!(4, 16),
        (4, 16) => go!(4, 32),
        (8, 4) => go!(8, 8),
        (8, 8) => go!(8, 16),
        (8, 16) => go!(8, 32),
        (16, 4) => go!(16, 8),
        (16, 8) => go!(16, 16),
        (16, 16) => go!(16, 32),
        (32, 4) => go!(32, 8),
        (32, 8) => go!(32, 16),
        (32, 16) => go!(32, 32),
        (d, v) => unreachable!("no runs kernel for a {d}-row block in runs of {v}"),
    }
}

/// Safety: as for `rows`; `isa` is what `Isa::detect` found on this CPU.
unsafe fn dispatch_rows<F: Real>(isa: Isa, p: Ptr<F>, prep: &Prepared<F>, g: Range<usize>) {
    macro_rules! go {
        ($d:literal) => {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { rows_avx512::<F, $d>(p, prep, g) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { rows_avx2::<F, $d>(p, prep, g) },
                _ => unsafe { rows::<F, $d, false>(p, prep, g) },
            }
        };
    }
    match prep.offsets.len() {
        2 => go!(4),
        4 => go!(8),
        8 => go!(16),
        16 => go!(32),
        32 => go!(64),
        d => unreachable!("no rows kernel for a {d}-row block"),
    }
}
