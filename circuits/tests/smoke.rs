//! Quick end-to-end checks of the OpenQASM reader and the simulator on small programs.

use azq_circuits::qasm::{load, to_qasm};
use azq_circuits::sim::Simulator;

const BELL: &str = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n";

#[test]
fn bell_state_samples_only_00_and_11() {
    let c = load(BELL).unwrap();
    let shots = Simulator::default().run(&c, 1000, 7).unwrap();
    assert_eq!(shots.shots.len(), 1000);
    let keys: Vec<_> = shots.counts.keys().cloned().collect();
    assert_eq!(keys, [vec![false, false], vec![true, true]]);
    let exact = Simulator::default().exact(&c).unwrap();
    assert!((exact[&vec![true, true]] - 0.5).abs() < 1e-12);
    let again = Simulator::default().run(&c, 1000, 7).unwrap();
    assert_eq!(shots, again, "same seed, same shots");
}

#[test]
fn teleportation_with_if_delivers_the_state() {
    let src = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[3]; creg a[1]; creg b[1]; creg r[1];
        ry(1.1) q[0]; h q[1]; cx q[1], q[2]; cx q[0], q[1]; h q[0];
        measure q[0] -> a[0]; measure q[1] -> b[0];
        if (b == 1) x q[2]; if (a == 1) z q[2];
        measure q[2] -> r[0];";
    let c = load(src).unwrap();
    let exact = Simulator::default().exact(&c).unwrap();
    let p1: f64 = exact.iter().filter(|(k, _)| k[2]).map(|(_, p)| p).sum();
    assert!((p1 - (1.1f64 / 2.0).sin().powi(2)).abs() < 1e-12, "{p1}");
    let shots = Simulator::default().run(&c, 4000, 1).unwrap();
    let ones = shots.shots.iter().filter(|s| s[2]).count() as f64 / 4000.0;
    assert!((ones - p1).abs() < 0.05);
}

#[test]
fn written_qasm_reads_back_the_same() {
    let c = load(BELL).unwrap();
    let text = to_qasm(&c).unwrap();
    assert_eq!(load(&text).unwrap(), c);
}

#[test]
fn counts_alone_match_the_full_run_and_kept_bits_are_bounded() {
    let c = load(BELL).unwrap();
    let full = Simulator::default().run(&c, 1000, 7).unwrap();
    let counts = Simulator::default().run_counts(&c, 1000, 7).unwrap();
    assert_eq!((counts.counts, counts.shots.len()), (full.counts, 0));
    // The review's case: 1,000,000 shots of 65,535 classical bits (65 GB of results).
    let wide = load("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[1]; creg c[65535]; h q[0]; measure q[0] -> c[0];").unwrap();
    for run in [Simulator::run, Simulator::run_counts] {
        let e = run(&Simulator::default(), &wide, 1_000_000, 1).unwrap_err();
        assert_eq!(e.name(), "ProgramTooLarge", "{e}");
        assert!(
            e.to_string()
                .contains("fewer shots or measure into fewer classical bits"),
            "{e}"
        );
    }
}
