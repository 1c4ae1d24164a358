//! Fused plans against the reference path on random circuits of every gate kind, with
//! controls, wide gates and mid-circuit measurement, reset and conditions; every fusion width,
//! both precisions, one and several threads.

use std::collections::BTreeMap;

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::*;
use crate::circuit::{GateKind, Register};

const KINDS: [GateKind; 20] = {
    use GateKind::*;
    [
        Id, X, Y, Z, H, S, Sdg, T, Tdg, Sx, Sxdg, Rx, Ry, Rz, P, U, Swap, Rxx, Ryy, Rzz,
    ]
};

fn below(rng: &mut Pcg64Mcg, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

fn random_gate(rng: &mut Pcg64Mcg, n: usize, max_controls: usize) -> Gate {
    let kind = loop {
        let k = KINDS[below(rng, KINDS.len())];
        if k.shape().1 <= n {
            break k;
        }
    };
    let (params, targets) = kind.shape();
    let controls = below(rng, max_controls + 1).min(n - targets);
    let mut qubits: Vec<usize> = (0..n).collect();
    for i in 0..targets + controls {
        let j = i + below(rng, n - i);
        qubits.swap(i, j);
    }
    Gate {
        kind,
        params: (0..params)
            .map(|_| (rng.next_u64() % 10_000) as f64 * 1e-3 - 5.0)
            .collect(),
        targets: qubits[..targets].to_vec(),
        controls: qubits[targets..targets + controls].to_vec(),
    }
}

fn circuit(n: usize, ops: Vec<Op>, clbits: usize) -> Circuit {
    Circuit {
        qregs: vec![Register {
            name: "q".into(),
            offset: 0,
            len: n,
        }],
        cregs: vec![Register {
            name: "c".into(),
            offset: 0,
            len: clbits,
        }],
        ops,
    }
}

fn reference_state(n: usize, gates: &[Gate]) -> Vec<C> {
    let mut s = State::zero(n);
    gates.iter().for_each(|g| s.apply(g));
    s.amps
}

fn max_diff(a: &[C], b: &[C]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).norm())
        .fold(0.0, f64::max)
}

fn sim(fusion: usize, precision: Precision, threads: usize) -> Simulator {
    Simulator {
        fusion,
        precision,
        threads,
        ..Simulator::default()
    }
}

/// The circuit's final state in both precisions against `want` (to 1e-12 and 1e-5).
fn assert_matches(c: &Circuit, want: &[C], fusion: usize, threads: usize, what: &str) {
    for (precision, tolerance) in [(Precision::Double, 1e-12), (Precision::Single, 1e-5)] {
        let got = sim(fusion, precision, threads).statevector(c).unwrap();
        let d = max_diff(&got.amps, want);
        assert!(
            d < tolerance,
            "{what}, {precision:?}, fusion {fusion}, {threads} threads: {d}"
        );
    }
}

#[test]
fn fused_states_match_the_reference_in_both_precisions() {
    let mut rng = Pcg64Mcg::seed_from_u64(7);
    for round in 0..60 {
        let n = 1 + below(&mut rng, 9);
        let gates: Vec<Gate> = (0..below(&mut rng, 80))
            .map(|_| random_gate(&mut rng, n, 4))
            .collect();
        let c = circuit(n, gates.iter().cloned().map(Op::Gate).collect(), 0);
        let want = reference_state(n, &gates);
        for fusion in 0..=5 {
            assert_matches(&c, &want, fusion, 1, &format!("round {round}, {n} qubits"));
        }
    }
}

#[test]
fn every_lowest_qubit_takes_the_right_kernel() {
    // Blocks whose lowest qubit is 0..4 go through the rows kernel or runs of 4, 8 and 16,
    // and diagonal blocks through their own pass: each against the reference.
    let mut rng = Pcg64Mcg::seed_from_u64(11);
    let n = 10;
    for low in 0..6 {
        for width in 1..=5usize {
            let qubits: Vec<usize> = (low..n).take(width).collect();
            let mut gates = Vec::new();
            for _ in 0..12 {
                let mut g = random_gate(&mut rng, width, 2);
                g.targets
                    .iter_mut()
                    .chain(&mut g.controls)
                    .for_each(|q| *q = qubits[*q]);
                gates.push(g);
            }
            let diag: Vec<Gate> = qubits
                .iter()
                .map(|&q| Gate {
                    kind: GateKind::Rz,
                    params: vec![0.3 + q as f64],
                    controls: vec![],
                    targets: vec![q],
                })
                .collect();
            for gs in [gates, diag] {
                let mut all = reference_gates_h(n);
                all.extend(gs);
                let c = circuit(n, all.iter().cloned().map(Op::Gate).collect(), 0);
                let want = reference_state(n, &all);
                for precision in [Precision::Double, Precision::Single] {
                    let got = sim(5, precision, 1).statevector(&c).unwrap();
                    let tol = if precision == Precision::Double {
                        1e-12
                    } else {
                        1e-5
                    };
                    assert!(max_diff(&got.amps, &want) < tol, "low {low}, width {width}");
                }
            }
        }
    }
}

fn reference_gates_h(n: usize) -> Vec<Gate> {
    (0..n)
        .map(|q| Gate {
            kind: if q % 2 == 0 {
                GateKind::H
            } else {
                GateKind::Sx
            },
            params: vec![],
            controls: vec![],
            targets: vec![q],
        })
        .collect()
}

#[test]
fn threads_change_nothing() {
    let mut rng = Pcg64Mcg::seed_from_u64(3);
    let n = 16;
    let mut gates = reference_gates_h(n);
    gates.extend((0..120).map(|_| random_gate(&mut rng, n, 2)));
    let c = circuit(n, gates.iter().cloned().map(Op::Gate).collect(), 0);
    let want = reference_state(n, &gates);
    for threads in [1, 2, 3, 8] {
        assert_matches(&c, &want, 4, threads, "threads");
    }
}

/// Exact outcome probabilities by brute force on the reference path.
fn reference_exact(c: &Circuit) -> BTreeMap<Vec<bool>, f64> {
    let mut branches = vec![(
        State::zero(c.num_qubits()),
        vec![false; c.num_clbits()],
        1.0,
    )];
    fn run(op: &Op, s: &mut State, bits: &[bool], c: &Circuit) -> Option<(usize, Option<usize>)> {
        match op {
            Op::Gate(g) => {
                s.apply(g);
                None
            }
            Op::Measure { qubit, clbit } => Some((*qubit, Some(*clbit))),
            Op::Reset { qubit } => Some((*qubit, None)),
            Op::Barrier { .. } => None,
            Op::If { creg, value, op } => {
                let r = &c.cregs[*creg];
                let v = (0..r.len)
                    .filter(|i| bits[r.offset + i])
                    .fold(0u64, |v, i| v | 1 << i);
                if v == *value {
                    run(op, s, bits, c)
                } else {
                    None
                }
            }
        }
    }
    for op in &c.ops {
        let mut next = Vec::new();
        for (mut s, bits, p) in branches {
            match run(op, &mut s, &bits, c) {
                None => next.push((s, bits, p)),
                Some((q, clbit)) => {
                    let p1 = s.prob_one(q).clamp(0.0, 1.0);
                    for (value, pv) in [(false, 1.0 - p1), (true, p1)] {
                        if pv < 1e-14 {
                            continue;
                        }
                        let mut s2 = s.clone();
                        collapse(&mut s2.amps, q, value, pv);
                        let mut b2 = bits.clone();
                        match clbit {
                            Some(b) => b2[b] = value,
                            None if value => flip(&mut s2.amps, q),
                            None => {}
                        }
                        next.push((s2, b2, p * pv));
                    }
                }
            }
        }
        branches = next;
    }
    let mut dist = BTreeMap::new();
    for (_, bits, p) in branches {
        *dist.entry(bits).or_insert(0.0) += p;
    }
    dist
}

#[test]
fn midcircuit_measurement_reset_and_conditions_break_blocks_correctly() {
    let mut rng = Pcg64Mcg::seed_from_u64(5);
    for round in 0..40 {
        let n = 2 + below(&mut rng, 5);
        let clbits = 3;
        let mut ops = Vec::new();
        for _ in 0..30 {
            let r = below(&mut rng, 10);
            ops.push(match r {
                0 => Op::Measure {
                    qubit: below(&mut rng, n),
                    clbit: below(&mut rng, clbits),
                },
                1 => Op::Reset {
                    qubit: below(&mut rng, n),
                },
                2 => Op::If {
                    creg: 0,
                    value: below(&mut rng, 1 << clbits) as u64,
                    op: Box::new(Op::Gate(random_gate(&mut rng, n, 1))),
                },
                3 => Op::Barrier { qubits: vec![0] },
                _ => Op::Gate(random_gate(&mut rng, n, 2)),
            });
        }
        let c = circuit(n, ops, clbits);
        let want = reference_exact(&c);
        for fusion in [0, 2, 4, 5] {
            for precision in [Precision::Double, Precision::Single] {
                let got = sim(fusion, precision, 1).exact(&c).unwrap();
                let tol = if precision == Precision::Double {
                    1e-9
                } else {
                    1e-5
                };
                for (bits, p) in want.iter().chain(&got) {
                    let (a, b) = (
                        want.get(bits).unwrap_or(&0.0),
                        got.get(bits).unwrap_or(&0.0),
                    );
                    assert!(
                        (a - b).abs() < tol,
                        "round {round}, fusion {fusion}, {p}: {a} vs {b}"
                    );
                }
            }
        }
        // Shots follow the same plan: every outcome they give is possible.
        let shots = sim(4, Precision::Double, 1).run(&c, 200, round).unwrap();
        assert_eq!(shots.total(), 200);
        for bits in shots.counts.keys() {
            assert!(
                want.get(bits).is_some_and(|p| *p > 1e-12),
                "round {round}: {bits:?}"
            );
        }
    }
}

#[test]
fn fusion_packs_gates_into_few_blocks() {
    // A layer of CX on pairs then one-qubit gates everywhere: a pass for about each pair
    // (its CX and its two rotations), not one per gate.
    let n = 16;
    let mut ops = Vec::new();
    for q in (0..n).step_by(2) {
        ops.push(Op::Gate(Gate {
            kind: GateKind::X,
            params: vec![],
            controls: vec![q],
            targets: vec![q + 1],
        }));
    }
    for q in 0..n {
        ops.push(Op::Gate(Gate {
            kind: GateKind::Rx,
            params: vec![0.1],
            controls: vec![],
            targets: vec![q],
        }));
    }
    let steps = fuse::plan(&ops, 4);
    assert!(steps.len() <= 9, "{} passes", steps.len());
    let mut gates = 0;
    for s in &steps {
        match s {
            fuse::Step::Block(b) => {
                assert!(b.qubits.len() <= 4);
                gates += b.gates;
            }
            _ => panic!("only blocks"),
        }
    }
    assert_eq!(gates, 24);
    // Without fusion, one step per gate.
    assert_eq!(fuse::plan(&ops, 0).len(), 24);
}

#[test]
fn a_state_that_cannot_fit_is_refused_before_allocating() {
    let n = 30;
    let c = circuit(
        n,
        (0..n)
            .map(|q| {
                Op::Gate(Gate {
                    kind: GateKind::H,
                    params: vec![],
                    controls: vec![],
                    targets: vec![q],
                })
            })
            .collect(),
        0,
    );
    let need = state_bytes(n, Precision::Double);
    match available_bytes() {
        Some(free) if free < need => {
            let e = Simulator::default().statevector(&c).err().expect("refused");
            let text = e.to_string();
            assert!(
                text.contains("16.0 GiB") && text.contains("single precision"),
                "{text}"
            );
        }
        // A machine with 16 GiB free would run it; nothing to check there.
        _ => {}
    }
    let e = Simulator {
        max_qubits: 20,
        ..Simulator::default()
    }
    .statevector(&c)
    .err()
    .expect("over the limit");
    assert!(e.to_string().contains("at most 20"), "{e}");
}

/// A random gate that permutes basis states or only changes their phases (with up to two
/// controls).
fn random_permutation_gate(rng: &mut Pcg64Mcg, n: usize) -> Gate {
    use GateKind::*;
    loop {
        let g = random_gate(rng, n, 2);
        if matches!(g.kind, X | Z | S | T | Tdg | Rz | P | Swap | Rzz) {
            return g;
        }
    }
}

#[test]
fn wide_permutation_blocks_match_the_reference() {
    // Runs of X, CX, CCX, SWAP and phases fuse past the dense width (up to 10 qubits); a few
    // dense gates between them, and a state that is zero over most of its groups (only some
    // qubits in superposition), so the passes' zero skipping is exercised too.
    let mut rng = Pcg64Mcg::seed_from_u64(19);
    let mut widest = 0;
    for round in 0..30 {
        let n = 6 + below(&mut rng, 9);
        let mut gates: Vec<Gate> = (0..below(&mut rng, 4))
            .map(|_| Gate {
                kind: GateKind::H,
                params: vec![],
                controls: vec![],
                targets: vec![below(&mut rng, n)],
            })
            .collect();
        for _ in 0..10 + below(&mut rng, 90) {
            gates.push(if below(&mut rng, 15) == 0 {
                random_gate(&mut rng, n, 1)
            } else {
                random_permutation_gate(&mut rng, n)
            });
        }
        let c = circuit(n, gates.iter().cloned().map(Op::Gate).collect(), 0);
        for s in fuse::plan(&c.ops, 5) {
            if let fuse::Step::Block(b) = s {
                assert!(b.qubits.len() <= 5 || !matches!(b.matrix, fuse::Matrix::Dense(_)));
                assert!(b.qubits.len() <= kernel::MAX_MONO_QUBITS);
                widest = widest.max(b.qubits.len());
            }
        }
        let want = reference_state(n, &gates);
        for threads in [1, 3] {
            assert_matches(&c, &want, 5, threads, &format!("round {round}, {n} qubits"));
        }
    }
    assert!(widest > 5, "no block wider than the dense width: {widest}");
}

#[test]
fn a_cx_ladder_takes_one_pass_per_ten_qubits() {
    let n = 26;
    let mut ops = vec![Op::Gate(Gate {
        kind: GateKind::H,
        params: vec![],
        controls: vec![],
        targets: vec![0],
    })];
    ops.extend((0..n - 1).map(|q| {
        Op::Gate(Gate {
            kind: GateKind::X,
            params: vec![],
            controls: vec![q],
            targets: vec![q + 1],
        })
    }));
    let steps = fuse::plan(&ops, 5);
    assert!(steps.len() <= 4, "{} passes", steps.len());
    // Fusion 0 still means one step per gate.
    assert_eq!(fuse::plan(&ops, 0).len(), n);
}

#[test]
fn sampling_is_exact_across_chunks_and_threads() {
    // 18 qubits are four sampling chunks; amplitudes spread over all of them, one chunk empty.
    let n = 18;
    let mut gates = vec![];
    for q in [0, 3, 16] {
        gates.push(Gate {
            kind: GateKind::Ry,
            params: vec![0.4 + q as f64 * 0.1],
            controls: vec![],
            targets: vec![q],
        });
    }
    let mut ops: Vec<Op> = gates.iter().cloned().map(Op::Gate).collect();
    ops.extend((0..n).map(|q| Op::Measure { qubit: q, clbit: q }));
    let c = circuit(n, ops, n);
    let want = reference_state(n, &gates);
    let shots = 40_000;
    let runs: Vec<Shots> = [1, 2, 5]
        .iter()
        .map(|&t| {
            sim(5, Precision::Double, t)
                .run_counts(&c, shots, 42)
                .unwrap()
        })
        .collect();
    assert!(
        runs.windows(2).all(|w| w[0] == w[1]),
        "threads changed the shots"
    );
    let counts = &runs[0].counts;
    assert_eq!(runs[0].total(), shots);
    for (bits, &k) in counts {
        let index = bits.iter().rev().fold(0, |i, &b| i << 1 | usize::from(b));
        let p = want[index].norm_sqr();
        assert!(p > 0.0, "an impossible outcome: {index}");
        // Within 5 standard deviations of the expected count.
        let (mean, sd) = (p * shots as f64, (p * (1.0 - p) * shots as f64).sqrt());
        assert!(
            (k as f64 - mean).abs() < 5.0 * sd + 1.0,
            "{index}: {k} vs {mean:.0}"
        );
    }
    assert_eq!(counts.len(), 8);
    // All the probability at the very last amplitude: every shot finds it.
    let all_ones: Vec<Op> = (0..n)
        .map(|q| {
            Op::Gate(Gate {
                kind: GateKind::X,
                params: vec![],
                controls: vec![],
                targets: vec![q],
            })
        })
        .chain((0..n).map(|q| Op::Measure { qubit: q, clbit: q }))
        .collect();
    let got = sim(5, Precision::Single, 2)
        .run_counts(&circuit(n, all_ones, n), 1000, 1)
        .unwrap();
    assert_eq!(got.counts.get(&vec![true; n]), Some(&1000));
}

#[test]
fn runs_of_blocks_on_few_qubits_applied_by_sub_state_match_the_reference() {
    // 19 qubits is more than a sub-state holds in either precision (15 and 16 qubits). Layers
    // of light gates (one and two qubits, permutations) on a scattered set of qubits (gathered
    // and scattered back), on the lowest ones (worked on in place, chunk by chunk), and the
    // odd gate outside both, which ends a run.
    let mut rng = Pcg64Mcg::seed_from_u64(23);
    let n = 19;
    let scattered = [0, 2, 5, 6, 9, 11, 13, 16, 18];
    let mut gates = reference_gates_h(n);
    for layer in 0..8 {
        let on: &[usize] = if layer % 2 == 0 {
            &scattered
        } else {
            &[0, 1, 2, 3, 4, 5, 6, 7, 8]
        };
        for _ in 0..30 {
            let mut g = random_gate(&mut rng, 2, 0);
            if below(&mut rng, 3) == 0 {
                g = random_permutation_gate(&mut rng, on.len());
            }
            let shift = below(&mut rng, on.len() - 1);
            g.targets
                .iter_mut()
                .chain(&mut g.controls)
                .for_each(|q| *q = on[(*q + shift) % on.len()]);
            gates.push(g);
        }
        gates.push(random_gate(&mut rng, n, 1));
    }
    let c = circuit(n, gates.iter().cloned().map(Op::Gate).collect(), 0);
    fn locals<F: kernel::Real>(n: usize, plan: Vec<fuse::Step>) -> (usize, usize) {
        let parts = local::parts::<F>(n, plan);
        let runs = parts.iter().filter(|p| matches!(p, local::Part::Local(_)));
        (
            runs.clone().count(),
            runs.filter(|p| matches!(p, local::Part::Local(l) if l.gathered()))
                .count(),
        )
    }
    let plan = sim(5, Precision::Double, 1).plan(&c.ops);
    for (runs, gathered) in [locals::<f64>(n, plan.clone()), locals::<f32>(n, plan)] {
        assert!(
            runs >= 2 && gathered >= 1,
            "{runs} runs, {gathered} gathered"
        );
    }
    let want = reference_state(n, &gates);
    for threads in [1, 3] {
        assert_matches(&c, &want, 5, threads, "sub-states");
    }
}

#[test]
fn runs_of_low_blocks_applied_chunk_by_chunk_match_the_reference() {
    // 18 qubits is more than a cache chunk holds in either precision (15 and 16 qubits), so
    // runs of blocks below qubit 15 go through the state chunk by chunk; the odd gate on a
    // high qubit ends a run.
    let mut rng = Pcg64Mcg::seed_from_u64(23);
    let n = 18;
    let mut gates = reference_gates_h(n);
    for _ in 0..150 {
        let mut g = random_gate(&mut rng, 14, 2);
        if below(&mut rng, 12) == 0 {
            let high = 15 + below(&mut rng, n - 15);
            if !g.controls.contains(&high) && !g.targets.contains(&high) {
                g.targets[0] = high;
            }
        }
        gates.push(g);
    }
    let c = circuit(n, gates.iter().cloned().map(Op::Gate).collect(), 0);
    let want = reference_state(n, &gates);
    for threads in [1, 3] {
        assert_matches(&c, &want, 5, threads, "low chunks");
    }
}
