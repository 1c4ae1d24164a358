//! Times one pass of a fused block of each width over a state, per precision and lowest
//! qubit, on one thread: the figures the fusion cost model (`sim::fuse::COST`) comes from.
//!
//!     cargo run --release -p azq-circuits --example blocks [QUBITS]

use std::time::Instant;

use azq_circuits::sim::fuse::Matrix;
use azq_circuits::sim::kernel::{Exec, Prepared, Real};
use num_complex::{Complex, Complex64};

/// The kinds of block timed: dense, diagonal, and a permutation (index reversed) with phases.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Dense,
    Diagonal,
    Permutation,
}

fn time<F: Real>(n: usize, qubits: &[usize], kind: Kind, exec: &Exec) -> f64 {
    let d = 1 << qubits.len();
    let matrix: Vec<Complex64> = (0..d * d)
        .map(|i| {
            let (r, c) = (i / d, i % d);
            let zero = match kind {
                Kind::Dense => false,
                Kind::Diagonal => r != c,
                Kind::Permutation => r != d - 1 - c,
            };
            if zero {
                Complex64::new(0.0, 0.0)
            } else {
                Complex64::from_polar(0.3, i as f64)
            }
        })
        .collect();
    let prep = Prepared::<F>::new(qubits, &[], &Matrix::of_dense(matrix));
    let mut amps = vec![Complex::new(F::of(0.001), F::zero()); 1 << n];
    prep.apply(&mut amps, exec);
    let reps = 10;
    let start = Instant::now();
    for _ in 0..reps {
        prep.apply(&mut amps, exec);
    }
    start.elapsed().as_secs_f64() * 1000.0 / reps as f64
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(20, |a| a.parse().expect("qubits"));
    let threads: usize = std::env::args()
        .nth(2)
        .map_or(1, |a| a.parse().expect("threads"));
    let exec = Exec::new(threads);
    println!(
        "{n} qubits, {threads} thread(s), {:?}; ms per pass",
        exec.isa
    );
    println!("width  low  f64 dense  f32 dense  f64 diag  f32 diag  f64 perm  f32 perm");
    for width in 1..=5 {
        for low in [0, 1, 2, 3, 4, 8] {
            let qubits: Vec<usize> = (0..width).map(|j| low + 3 * j).collect();
            println!(
                "{width:>5}  {low:>3}  {:>9.2}  {:>9.2}  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.2}",
                time::<f64>(n, &qubits, Kind::Dense, &exec),
                time::<f32>(n, &qubits, Kind::Dense, &exec),
                time::<f64>(n, &qubits, Kind::Diagonal, &exec),
                time::<f32>(n, &qubits, Kind::Diagonal, &exec),
                time::<f64>(n, &qubits, Kind::Permutation, &exec),
                time::<f32>(n, &qubits, Kind::Permutation, &exec),
            );
        }
    }
}
