//! Every rewrite in `decompose` is exact up to a global phase: checked on a state where
//! every amplitude matters.

use azq_circuits::decompose::{euler, multi_control, single_control, two_qubit_rotation};
use azq_circuits::sim::State;
use azq_circuits::{Gate, GateKind};

fn prepared() -> State {
    let mut s = State::zero(3);
    for (q, a) in [(0, 0.3), (1, 1.1), (2, 2.0)] {
        s.apply(&Gate {
            kind: GateKind::U,
            params: vec![a, a * 0.7, a * 1.3],
            controls: vec![],
            targets: vec![q],
        });
    }
    s
}

/// |⟨a|b⟩| = 1 means equal up to a global phase.
fn same_up_to_phase(a: &State, b: &State) -> bool {
    let inner: num_complex::Complex64 = a.amps.iter().zip(&b.amps).map(|(x, y)| x.conj() * y).sum();
    (inner.norm() - 1.0).abs() < 1e-12
}

#[test]
fn single_control_rewrites_are_exact() {
    use GateKind::*;
    for kind in [P, Rz, Ry, Rx, S, Sdg, T, Tdg, Sx, Sxdg, H, Y, Z, U, Swap] {
        let (np, nt) = kind.shape();
        let params: Vec<f64> = (0..np).map(|i| 0.4 + i as f64 * 0.9).collect();
        let targets: Vec<usize> = (1..=nt).collect();
        let g = Gate {
            kind,
            params,
            controls: vec![0],
            targets,
        };
        let mut direct = prepared();
        direct.apply(&g);
        let mut rewritten = prepared();
        for step in single_control(&g).unwrap_or_else(|| panic!("no rewrite for controlled {kind}"))
        {
            rewritten.apply(&step);
        }
        assert!(same_up_to_phase(&direct, &rewritten), "controlled {kind}");
    }
}

#[test]
fn two_qubit_rotations_and_euler_angles_are_exact() {
    for kind in [GateKind::Rxx, GateKind::Ryy, GateKind::Rzz] {
        let g = Gate {
            kind,
            params: vec![0.77],
            controls: vec![],
            targets: vec![2, 0],
        };
        let (mut direct, mut rewritten) = (prepared(), prepared());
        direct.apply(&g);
        two_qubit_rotation(&g)
            .unwrap()
            .iter()
            .for_each(|s| rewritten.apply(s));
        assert!(same_up_to_phase(&direct, &rewritten), "{kind}");
    }
    let u = Gate {
        kind: GateKind::U,
        params: vec![0.5, 1.5, -0.25],
        controls: vec![],
        targets: vec![1],
    };
    let (mut direct, mut rewritten) = (prepared(), prepared());
    direct.apply(&u);
    euler(&u).iter().for_each(|s| rewritten.apply(s));
    assert!(same_up_to_phase(&direct, &rewritten));
}

#[test]
fn multi_controlled_gates_are_exact_including_their_phase() {
    use GateKind::*;
    // Four qubits: up to three controls; the state makes every amplitude count.
    let prepared4 = || {
        let mut s = State::zero(4);
        for (q, a) in [(0, 0.3), (1, 1.1), (2, 2.0), (3, 0.7)] {
            s.apply(&Gate {
                kind: GateKind::U,
                params: vec![a, a * 0.7, a * 1.3],
                controls: vec![],
                targets: vec![q],
            });
        }
        s
    };
    for (kind, params) in [
        (X, vec![]),
        (Sx, vec![]),
        (H, vec![]),
        (Rz, vec![0.9]),
        (U, vec![0.4, 1.3, -0.6]),
        (T, vec![]),
    ] {
        for controls in [vec![0, 1], vec![2, 0, 1]] {
            let g = Gate {
                kind,
                params: params.clone(),
                controls: controls.clone(),
                targets: vec![3],
            };
            let mut direct = prepared4();
            direct.apply(&g);
            let mut rewritten = prepared4();
            let m = azq_circuits::sim::matrix(kind, &params).unwrap();
            let steps = multi_control(&m, &controls, 3);
            assert!(steps.iter().all(|s| s.controls.len() <= 2));
            steps.iter().for_each(|s| rewritten.apply(s));
            // Exact up to a phase of the whole state only.
            assert!(
                same_up_to_phase(&direct, &rewritten),
                "{kind} with controls {controls:?}"
            );
        }
    }
}
