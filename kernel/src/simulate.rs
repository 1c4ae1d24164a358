//! `azq simulate FILE`: runs a program on the local simulator, the same code path the
//! emulator uses, and prints its histogram (or JSON with `--json`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use azq_circuits::program::{Format, label};
use azq_circuits::sim::{
    DEFAULT_FUSION, DEFAULT_MAX_QUBITS, HARD_MAX_QUBITS, Precision, Simulator, show_bytes,
    state_bytes,
};

/// The most qubits `--statevector` prints (2^20 amplitudes is about 50 MB of JSON).
const STATEVECTOR_MAX_QUBITS: usize = 20;

#[derive(clap::Args)]
pub struct Args {
    /// The program: .qasm (OpenQASM 2), .json (IonQ), .quil, .ll (QIR text); `-` reads stdin.
    file: PathBuf,
    /// How many shots to sample.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    shots: u64,
    /// The sampling seed; the same seed gives the same shots.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print JSON: counts, and with --exact, probabilities.
    #[arg(long)]
    json: bool,
    /// Print the exact probability of each outcome instead of sampling.
    #[arg(long)]
    exact: bool,
    /// Print the final state vector (JSON: `amplitudes` as [re, im] pairs, little-endian
    /// basis order) of a circuit with no reset or condition; measurements are left out.
    #[arg(long, conflicts_with = "exact")]
    statevector: bool,
    /// The largest circuit to simulate.
    #[arg(long, default_value_t = DEFAULT_MAX_QUBITS as u64, value_parser = clap::value_parser!(u64).range(1..=HARD_MAX_QUBITS as u64))]
    max_qubits: u64,
    /// Worker threads (default: every core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// Amplitudes in double (16 bytes each) or single precision (8 bytes: half the memory,
    /// results to about 1e-6).
    #[arg(long, value_enum, default_value_t = PrecisionArg::Double)]
    precision: PrecisionArg,
    /// The largest dense block of gates fused into one pass, in qubits (0 turns fusion off);
    /// permutations and phases fuse up to 10 qubits from 2.
    #[arg(long, default_value_t = DEFAULT_FUSION as u64, value_parser = clap::value_parser!(u64).range(0..=5))]
    fusion: u64,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PrecisionArg {
    Double,
    Single,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let text = if args.file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the program from stdin")?;
        s
    } else {
        let bytes = std::fs::read(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        String::from_utf8(bytes).map_err(|_| {
            anyhow::anyhow!(
                "{} is not UTF-8 text (QIR bitcode is not supported; use .ll text)",
                args.file.display()
            )
        })?
    };
    let path = (args.file.as_os_str() != "-").then_some(args.file.as_path());
    let Some(format) = Format::detect(path, &text) else {
        bail!(
            "cannot tell the program's format; name the file .qasm, .json (IonQ), .quil or .ll (QIR)"
        );
    };
    let program = format
        .read(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.name()))?;
    let c = &program.circuit;
    let sim = Simulator {
        max_qubits: args.max_qubits as usize,
        threads: args.threads.unwrap_or(0) as usize,
        precision: match args.precision {
            PrecisionArg::Double => Precision::Double,
            PrecisionArg::Single => Precision::Single,
        },
        fusion: args.fusion as usize,
    };
    // Say what a large run will take before it starts.
    if !args.json && c.num_qubits() >= 24 {
        eprintln!(
            "{} qubits: the state takes {} in {} precision",
            c.num_qubits(),
            show_bytes(state_bytes(c.num_qubits(), sim.precision)),
            sim.precision.name()
        );
    }
    let started = Instant::now();
    if args.statevector {
        if c.num_qubits() > STATEVECTOR_MAX_QUBITS {
            bail!(
                "--statevector prints 2^n amplitudes: at most {STATEVECTOR_MAX_QUBITS} qubits; \
                 this circuit has {}; use --exact or shots instead",
                c.num_qubits()
            );
        }
        let state = sim
            .statevector(c)
            .map_err(|e| anyhow::anyhow!("{}: {e}", e.name()))?;
        let amplitudes: Vec<[f64; 2]> = state.amps.iter().map(|a| [a.re, a.im]).collect();
        println!(
            "{}",
            serde_json::json!({ "qubits": c.num_qubits(), "amplitudes": amplitudes })
        );
        return Ok(());
    }
    if args.exact {
        let dist = sim
            .exact(c)
            .map_err(|e| anyhow::anyhow!("{}: {e}", e.name()))?;
        let mut probabilities: BTreeMap<String, f64> = BTreeMap::new();
        for (bits, p) in dist {
            *probabilities.entry(label(c, &bits)).or_default() += p;
        }
        if args.json {
            println!(
                "{}",
                serde_json::json!({ "qubits": c.num_qubits(), "probabilities": probabilities })
            );
        } else {
            print_table(
                &probabilities
                    .iter()
                    .map(|(k, p)| (k.clone(), *p, None))
                    .collect::<Vec<_>>(),
            );
        }
        return Ok(());
    }
    let shots = sim
        .run_counts(c, args.shots, args.seed)
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.name()))?;
    let elapsed = started.elapsed();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (bits, n) in &shots.counts {
        *counts.entry(label(c, bits)).or_default() += n;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "qubits": c.num_qubits(),
                "shots": args.shots,
                "seed": args.seed,
                "counts": counts,
                "elapsed_ms": elapsed.as_secs_f64() * 1000.0,
            })
        );
    } else {
        let total = args.shots as f64;
        print_table(
            &counts
                .iter()
                .map(|(k, n)| (k.clone(), *n as f64 / total, Some(*n)))
                .collect::<Vec<_>>(),
        );
        println!(
            "{} shots, {} qubits, seed {}, {:.1} ms",
            args.shots,
            c.num_qubits(),
            args.seed,
            elapsed.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

fn print_table(rows: &[(String, f64, Option<u64>)]) {
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(7).max(7);
    println!(
        "{:<width$}  {:>11}  {:>8}",
        "outcome", "probability", "count"
    );
    for (label, p, n) in rows {
        let bar = "█".repeat((p * 40.0).round() as usize);
        let n = n.map_or(String::new(), |n| n.to_string());
        println!("{label:<width$}  {p:>11.6}  {n:>8}  {bar}");
    }
}
