//! What the machine allows a second thread to gain on passes bound by memory rather than
//! arithmetic: the time to first touch a fresh state (the kernel zeroing its pages) and to
//! stream over it (read and write every amplitude), with 1 and 2 threads.
//!
//!     cargo run --release -p azq-circuits --example ceiling [QUBITS]

use std::time::Instant;

use rayon::prelude::*;

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
}

/// Milliseconds to first touch, then to stream over, 2^n double-precision amplitudes.
fn measure(n: usize, threads: usize) -> (f64, f64) {
    let pool = pool(threads);
    // Two f64 per amplitude, allocated zeroed: pages are mapped on first touch.
    let mut state = vec![0f64; 2 << n];
    let chunk = state.len() / (threads * 8);
    let start = Instant::now();
    pool.install(|| {
        state
            .par_chunks_mut(chunk)
            .for_each(|c| c.iter_mut().step_by(512).for_each(|x| *x = 1.0))
    });
    let touch = start.elapsed().as_secs_f64() * 1e3;
    let reps = 5;
    let start = Instant::now();
    for _ in 0..reps {
        pool.install(|| {
            state
                .par_chunks_mut(chunk)
                .for_each(|c| c.iter_mut().for_each(|x| *x = *x * 0.999 + 1e-9))
        });
    }
    let stream = start.elapsed().as_secs_f64() * 1e3 / reps as f64;
    std::hint::black_box(&state);
    (touch, stream)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(26, |a| a.parse().expect("qubits"));
    let one = measure(n, 1);
    let two = measure(n, 2);
    println!("{n} qubits, double precision ({} MiB)", 16usize << n >> 20);
    println!("                 1 thread   2 threads   ratio");
    println!(
        "first touch  {:>9.1} ms {:>9.1} ms   {:.2}x",
        one.0,
        two.0,
        one.0 / two.0
    );
    println!(
        "one pass     {:>9.1} ms {:>9.1} ms   {:.2}x",
        one.1,
        two.1,
        one.1 / two.1
    );
}
