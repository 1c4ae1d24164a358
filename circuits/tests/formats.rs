//! Every writer round-trips through its reader to the same probabilities, on the corpus;
//! the IonQ and Quil writers reproduce the request bodies recorded from the real service;
//! results come back in each provider's format and read into the same histogram.

use std::collections::BTreeMap;
use std::path::PathBuf;

use azq_circuits::Circuit;
use azq_circuits::formats::{ionq, qir, quil};
use azq_circuits::program::label;
use azq_circuits::qasm::{load, to_qasm};
use azq_circuits::results;
use azq_circuits::sim::Simulator;

fn corpus() -> Vec<(String, Circuit)> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("tests/corpus");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let c = load(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), c)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn exact(c: &Circuit) -> BTreeMap<String, f64> {
    let mut d = BTreeMap::new();
    for (bits, p) in Simulator::default().exact(c).unwrap() {
        *d.entry(label(c, &bits)).or_insert(0.0) += p;
    }
    d
}

fn qubit_probabilities(c: &Circuit) -> Vec<f64> {
    Simulator::default().statevector(c).unwrap().probabilities()
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
}

fn same_distribution(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> bool {
    a.keys()
        .chain(b.keys())
        .all(|k| (a.get(k).unwrap_or(&0.0) - b.get(k).unwrap_or(&0.0)).abs() < 1e-9)
}

#[test]
fn openqasm_round_trips() {
    for (name, c) in corpus() {
        let back = load(&to_qasm(&c).unwrap()).unwrap();
        assert!(same_distribution(&exact(&c), &exact(&back)), "{name}");
    }
}

#[test]
fn ionq_quil_and_qir_round_trip_where_the_format_can_hold_the_circuit() {
    let mut written = 0;
    for (name, c) in corpus() {
        if c.has_midcircuit_ops() {
            assert!(
                ionq::write(&c).is_err(),
                "{name}: IonQ has no mid-circuit measurement"
            );
            assert!(
                qir::write(&c).is_err(),
                "{name}: base-profile QIR has no mid-circuit measurement"
            );
            continue;
        }
        let want = qubit_probabilities(&c);
        let j = ionq::write(&c).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = ionq::read(&j.json.to_string()).unwrap();
        assert!(
            close(&want, &qubit_probabilities(&back)),
            "{name} via IonQ JSON"
        );
        let text = quil::write(&c).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = quil::read(&text).unwrap();
        assert!(
            close(&want, &qubit_probabilities(&back)),
            "{name} via Quil:\n{text}"
        );
        assert!(
            same_distribution(&exact(&c), &exact(&back)),
            "{name} via Quil: measured bits"
        );
        let text = qir::write(&c).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = qir::read(&text).unwrap();
        assert!(
            close(&want, &qubit_probabilities(&back.circuit)),
            "{name} via QIR"
        );
        written += 1;
    }
    assert!(written >= 6);
}

const GHZ: &str = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3];\ncreg c[3];\nh q[0];\ncx q[0], q[1];\ncx q[0], q[2];\nmeasure q -> c;\n";

#[test]
fn ionq_json_matches_the_recorded_request_and_result() {
    // tests/fixtures/azure-quantum-api/recordings/v3.6.0/test_job_submit_ionq.yaml: input blob and output blob.
    let recorded_input: serde_json::Value = serde_json::from_str(
        r#"{"qubits": 3, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}, {"gate": "cnot", "control": 0, "target": 2}]}"#,
    )
    .unwrap();
    let c = load(GHZ).unwrap();
    assert_eq!(ionq::write(&c).unwrap().json, recorded_input);
    let read = ionq::read(&recorded_input.to_string()).unwrap();
    let result = results::ionq_exact(&qubit_probabilities(&read));
    let recorded_output: serde_json::Value =
        serde_json::from_str(r#"{"histogram": {"0": 0.5, "7": 0.5}}"#).unwrap();
    let h = |v: &serde_json::Value| {
        results::histogram("ionq.quantum-results.v1", v, 3)
            .unwrap()
            .outcomes
    };
    let (got, want) = (h(&result), h(&recorded_output));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert!(got.iter().all(|(k, p)| (p - want[k]).abs() < 1e-12));
}

#[test]
fn quil_matches_the_recorded_request_and_result_shape() {
    // …/test_job_submit_rigetti_default_input_params.yaml
    let recorded = "\nDECLARE ro BIT[2]\n\nH 0\nCNOT 0 1\n\nMEASURE 0 ro[0]\nMEASURE 1 ro[1]\n";
    let c = load("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg ro[2]; h q[0]; cx q[0], q[1]; measure q[0] -> ro[0]; measure q[1] -> ro[1];").unwrap();
    let lines = |t: &str| {
        t.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(lines(&quil::write(&c).unwrap()), lines(recorded));
    let read = quil::read(recorded).unwrap();
    let shots = Simulator::default().run(&read, 1, 0).unwrap();
    let out = results::rigetti(&shots, &read.cregs);
    let one = &out["ro"][0];
    assert!(
        *one == serde_json::json!([0, 0]) || *one == serde_json::json!([1, 1]),
        "{out}"
    );
}

#[test]
fn every_result_format_reads_back_into_the_same_histogram() {
    let c = load(GHZ).unwrap();
    let shots = Simulator::default().run(&c, 400, 11).unwrap();
    let p11 = shots.shots.iter().filter(|s| s[0]).count() as f64 / 400.0;
    let q = results::histogram(
        "honeywell.quantum-results.v1",
        &results::quantinuum(&shots, &c.cregs),
        3,
    )
    .unwrap();
    assert!((q.outcomes["111"] - p11).abs() < 1e-12);
    let r = results::histogram(
        "rigetti.quil-results.v1",
        &results::rigetti(&shots, &c.cregs),
        3,
    )
    .unwrap();
    assert!((r.outcomes["111"] - p11).abs() < 1e-12);
    let i = results::histogram(
        "ionq.quantum-results.v1",
        &results::ionq_from_shots(&shots),
        3,
    )
    .unwrap();
    assert!((i.outcomes["111"] - p11).abs() < 1e-12);
    let program = qir::read(&qir::write(&c).unwrap()).unwrap();
    let qshots = Simulator::default().run(&program.circuit, 400, 11).unwrap();
    let v2 = results::microsoft_v2(&qshots, &program.records);
    assert_eq!(v2["Results"][0]["Shots"].as_array().unwrap().len(), 400);
    let h = results::histogram("microsoft.quantum-results.v2", &v2, 3).unwrap();
    assert!((h.outcomes["[1, 1, 1]"] - p11).abs() < 1e-12);
    let h1 = results::histogram(
        "microsoft.quantum-results.v1",
        &results::microsoft_v1(&qshots, &program.records),
        3,
    )
    .unwrap();
    assert_eq!(h1.outcomes, h.outcomes.into_iter().collect());
}

#[test]
fn quantinuum_multi_register_results_match_the_recording_layout() {
    // …/test_job_submit_quantinuum_with_shots.yaml: one key per register, a string per shot.
    let src = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[3]; creg c0[1]; creg c1[1]; creg c2[1];
        h q[0]; cx q[0], q[1]; x q[2]; h q[2]; cx q[2], q[0]; h q[2]; measure q[0] -> c0[0];
        if (c0==1) x q[1]; measure q[2] -> c1[0]; if (c1==1) z q[1]; h q[1]; measure q[1] -> c2[0];";
    let c = load(src).unwrap();
    let shots = Simulator::default().run(&c, 50, 5).unwrap();
    let out = results::quantinuum(&shots, &c.cregs);
    for reg in ["c0", "c1", "c2"] {
        let list = out[reg].as_array().unwrap();
        assert_eq!(list.len(), 50);
        assert!(list.iter().all(|s| s == "0" || s == "1"));
    }
}
