//! Malformed programs: each gives an error with the right name and a position (line and
//! column) where there is one, and none panics: not the table, not any truncation of the
//! corpus, not hostile sizes or nesting.

use std::path::PathBuf;

use azq_circuits::formats::{ionq, qir, quil};
use azq_circuits::qasm::load;
use azq_circuits::sim::Simulator;

/// (program, error name, line and column, words the message must hold)
type Case = (String, &'static str, Option<(usize, usize)>, &'static str);

const H: &str = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n";

fn check(src: &str, name: &str, line_col: Option<(usize, usize)>, words: &str) {
    let err = load(src).expect_err(src);
    assert_eq!(err.name(), name, "{src:?}: {err}");
    if let Some((line, column)) = line_col {
        let l = err
            .location
            .as_ref()
            .unwrap_or_else(|| panic!("{src:?} has no location: {err}"));
        assert_eq!((l.line, l.column), (line, column), "{src:?}: {err}");
        assert!(l.excerpt.contains('^'));
    }
    assert!(err.to_string().contains(words), "{src:?}: {err}");
}

#[test]
fn openqasm_table() {
    let deep = format!(
        "{H}qreg q[1];\nrz({}1{}) q[0];\n",
        "(".repeat(200),
        ")".repeat(200)
    );
    let negs = format!("{H}qreg q[1];\nrz({}1) q[0];\n", "-".repeat(500));
    let cases: Vec<Case> = vec![
        ("".into(), "ProgramSyntaxError", Some((1, 1)), "OPENQASM"),
        (
            "qreg q[1];".into(),
            "ProgramSyntaxError",
            Some((1, 1)),
            "OPENQASM",
        ),
        (
            "OPENQASM".into(),
            "ProgramSyntaxError",
            Some((1, 9)),
            "version",
        ),
        (
            "OPENQASM 3.0;".into(),
            "UnsupportedProgram",
            Some((1, 10)),
            "OpenQASM 3.0",
        ),
        (
            "OPENQASM 2.0".into(),
            "ProgramSyntaxError",
            Some((1, 13)),
            "`;`",
        ),
        (
            format!("{H}qreg q[2]"),
            "ProgramSyntaxError",
            Some((3, 10)),
            "`;`",
        ),
        (
            format!("{H}qreg q[];"),
            "ProgramSyntaxError",
            Some((3, 8)),
            "register size",
        ),
        (
            format!("{H}qreg q[0];"),
            "InvalidProgram",
            Some((3, 1)),
            "at least one",
        ),
        (
            format!("{H}qreg q[99999999999];"),
            "ProgramTooLarge",
            Some((3, 1)),
            "bits",
        ),
        (
            format!("{H}qreg q[999999999999999999999999];"),
            "InvalidProgram",
            Some((3, 8)),
            "too large",
        ),
        (
            format!("{H}qreg q[2];\nqreg q[3];"),
            "InvalidProgram",
            Some((4, 6)),
            "declared twice",
        ),
        (
            format!("{H}qreg q[2];\ncreg q[3];"),
            "InvalidProgram",
            Some((4, 6)),
            "declared twice",
        ),
        (
            format!("{H}qreg q[2];\nfoo q[0];"),
            "InvalidProgram",
            Some((4, 1)),
            "unknown gate `foo`",
        ),
        (
            format!("{H}qreg q[2];\nhh q[0];"),
            "InvalidProgram",
            Some((4, 1)),
            "did you mean",
        ),
        (
            "OPENQASM 2.0;\nqreg q[1];\nh q[0];".into(),
            "InvalidProgram",
            Some((3, 1)),
            "qelib1.inc",
        ),
        (
            format!("{H}qreg q[2];\nh q[0], q[1];"),
            "InvalidProgram",
            Some((4, 1)),
            "acts on 1 qubit",
        ),
        (
            format!("{H}qreg q[2];\ncx q[0];"),
            "InvalidProgram",
            Some((4, 1)),
            "acts on 2 qubit",
        ),
        (
            format!("{H}qreg q[2];\nrz q[0];"),
            "InvalidProgram",
            Some((4, 1)),
            "takes 1 parameter",
        ),
        (
            format!("{H}qreg q[2];\nh(0.1) q[0];"),
            "InvalidProgram",
            Some((4, 1)),
            "takes 0 parameter",
        ),
        (
            format!("{H}qreg q[2];\nh r[0];"),
            "InvalidProgram",
            Some((4, 3)),
            "not declared",
        ),
        (
            format!("{H}qreg q[2];\nh q[2];"),
            "InvalidProgram",
            Some((4, 3)),
            "out of range",
        ),
        (
            format!("{H}qreg q[2];\ncx q[1], q[1];"),
            "InvalidProgram",
            Some((4, 1)),
            "same qubit twice",
        ),
        (
            format!("{H}qreg q[2];\nqreg r[3];\ncx q, r;"),
            "InvalidProgram",
            Some((5, 4)),
            "same size",
        ),
        (
            format!("{H}qreg q[2];\ncreg c[1];\nmeasure q -> c;"),
            "InvalidProgram",
            Some((5, 1)),
            "sizes must match",
        ),
        (
            format!("{H}qreg q[2];\ncreg c[2];\nmeasure c -> q;"),
            "InvalidProgram",
            Some((5, 9)),
            "not a quantum register",
        ),
        (
            format!("{H}qreg q[2];\nmeasure q[0] q[1];"),
            "ProgramSyntaxError",
            Some((4, 14)),
            "`->`",
        ),
        (
            format!("{H}qreg q[2];\ncreg c[2];\nif (c = 1) x q[0];"),
            "ProgramSyntaxError",
            Some((5, 7)),
            "`==`",
        ),
        (
            format!("{H}qreg q[2];\ncreg c[2];\nif (c == 4) x q[0];"),
            "InvalidProgram",
            Some((5, 1)),
            "never equals 4",
        ),
        (
            format!("{H}qreg q[2];\nif (q == 1) x q[0];"),
            "InvalidProgram",
            Some((4, 5)),
            "not a classical register",
        ),
        (
            format!("{H}qreg q[2];\nrz(0.1 q[0];"),
            "ProgramSyntaxError",
            Some((4, 8)),
            "`)`",
        ),
        (
            format!("{H}qreg q[2];\nrz(*) q[0];"),
            "ProgramSyntaxError",
            Some((4, 4)),
            "a number",
        ),
        (
            format!("{H}qreg q[2];\nrz(1/0) q[0];"),
            "InvalidProgram",
            None,
            "infinity",
        ),
        (
            format!("{H}qreg q[2];\nrz(ln(0)) q[0];"),
            "InvalidProgram",
            None,
            "infinity",
        ),
        (
            format!("{H}qreg q[2];\nrz(theta) q[0];"),
            "InvalidProgram",
            Some((4, 4)),
            "not defined here",
        ),
        (
            format!("{H}qreg q[2];\nrz(sin 1) q[0];"),
            "ProgramSyntaxError",
            Some((4, 8)),
            "`(`",
        ),
        (deep, "ProgramTooLarge", None, "nested"),
        (negs, "ProgramTooLarge", None, "nested"),
        (
            format!("{H}gate g a {{ h b; }}"),
            "InvalidProgram",
            Some((3, 14)),
            "not one of this gate's qubits",
        ),
        (
            format!("{H}gate g(t) a {{ rz(s) a; }}"),
            "InvalidProgram",
            Some((3, 18)),
            "not a parameter",
        ),
        (
            format!("{H}gate g a {{ h a[0]; }}"),
            "InvalidProgram",
            Some((3, 14)),
            "without an index",
        ),
        (
            format!("{H}gate g a {{ h a; "),
            "ProgramSyntaxError",
            None,
            "`}`",
        ),
        (
            format!("{H}gate g a, a {{ h a; }}"),
            "InvalidProgram",
            Some((3, 11)),
            "named twice",
        ),
        (
            format!("{H}gate g(t, t) a {{ h a; }}"),
            "InvalidProgram",
            Some((3, 11)),
            "named twice",
        ),
        (
            format!("{H}gate h a {{ x a; }}"),
            "InvalidProgram",
            Some((3, 6)),
            "qelib1.inc",
        ),
        (
            format!("{H}gate g a {{ g a; }}"),
            "InvalidProgram",
            Some((3, 12)),
            "unknown gate `g`",
        ),
        (
            format!("{H}gate g a {{ nope a; }}"),
            "InvalidProgram",
            Some((3, 12)),
            "unknown gate",
        ),
        (
            format!("{H}opaque magic a;\nqreg q[1];\nmagic q[0];"),
            "UnsupportedProgram",
            None,
            "opaque gate `magic`",
        ),
        (
            format!("{H}include \"other.inc\";"),
            "UnsupportedProgram",
            Some((3, 1)),
            "other.inc",
        ),
        (
            format!("{H}include other.inc;"),
            "ProgramSyntaxError",
            Some((3, 9)),
            "quoted file name",
        ),
        (
            format!("{H}include \"qelib1.inc"),
            "ProgramSyntaxError",
            None,
            "closing",
        ),
        (
            format!("{H}qreg q[1];\n/* never closed"),
            "ProgramSyntaxError",
            None,
            "`*/`",
        ),
        (
            format!("{H}qreg q[1];\n@ q[0];"),
            "ProgramSyntaxError",
            Some((4, 1)),
            "a statement",
        ),
        (
            format!("{H}qreg q[1];\nh q[0]"),
            "ProgramSyntaxError",
            Some((4, 7)),
            "`;`",
        ),
        (
            format!("{H}qreg q[1];\nh q[x];"),
            "ProgramSyntaxError",
            Some((4, 5)),
            "an index",
        ),
        (
            format!("{H}qreg q[1];\nreset;"),
            "ProgramSyntaxError",
            Some((4, 6)),
            "register or qubit",
        ),
        (
            format!("{H}qreg q[1];\nbarrier ;"),
            "ProgramSyntaxError",
            Some((4, 9)),
            "register or qubit",
        ),
        (
            format!("{H}qreg q[1];\nrz(1e999) q[0];"),
            "InvalidProgram",
            Some((4, 4)),
            "not a usable number",
        ),
        (
            format!("{H}qreg q[1];\nU(1, 2) q[0];"),
            "InvalidProgram",
            Some((4, 1)),
            "takes 3 parameter",
        ),
        (
            format!("{H}qreg q[2];\nCX q[0], q[0];"),
            "InvalidProgram",
            Some((4, 1)),
            "same qubit twice",
        ),
        (
            format!("{H}qreg é[1];"),
            "ProgramSyntaxError",
            Some((3, 6)),
            "a register name",
        ),
    ];
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(src, name, at, words)| {
            std::panic::catch_unwind(|| check(src, name, *at, words))
                .err()
                .map(|_| format!("{src:?}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} cases failed: {failures:#?}",
        failures.len()
    );
}

#[test]
fn expansion_and_simulation_limits_are_errors() {
    let mut src = format!("{H}gate g0 a {{ x a; }}\n");
    for i in 1..40 {
        src.push_str(&format!("gate g{i} a {{ g{p} a; g{p} a; }}\n", p = i - 1));
    }
    src.push_str("qreg q[1];\ng39 q[0];\n");
    assert_eq!(load(&src).unwrap_err().name(), "ProgramTooLarge");
    let big = load(&format!("{H}qreg q[40];\nh q;")).unwrap();
    let err = Simulator::default().run(&big, 1, 0).unwrap_err();
    assert_eq!(err.name(), "ProgramTooLarge");
    assert!(err.to_string().contains("at most 30"));
}

#[test]
fn no_truncation_of_the_corpus_panics() {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("tests/corpus");
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (cut, _) in text.char_indices() {
            let _ = load(&text[..cut]);
            let _ = quil::read(&text[..cut]);
            let _ = qir::read(&text[..cut]);
        }
    }
}

#[test]
fn other_formats_reject_bad_input_clearly() {
    let cases: &[(&str, &str)] = &[
        ("{", "ProgramSyntaxError"),
        ("{}", "InvalidProgram"),
        (r#"{"qubits": 0, "circuit": []}"#, "InvalidProgram"),
        (
            r#"{"qubits": 2, "circuit": [{"gate": "h"}]}"#,
            "InvalidProgram",
        ),
        (
            r#"{"qubits": 2, "circuit": [{"gate": "h", "target": 2}]}"#,
            "InvalidProgram",
        ),
        (
            r#"{"qubits": 2, "circuit": [{"gate": "warp", "target": 0}]}"#,
            "InvalidProgram",
        ),
        (
            r#"{"qubits": 2, "circuit": [{"gate": "rx", "target": 0}]}"#,
            "InvalidProgram",
        ),
        (
            r#"{"qubits": 2, "circuit": [{"gate": "cnot", "control": 1, "target": 1}]}"#,
            "InvalidProgram",
        ),
        (
            r#"{"qubits": 2, "gateset": "native", "circuit": []}"#,
            "UnsupportedProgram",
        ),
    ];
    for (text, name) in cases {
        assert_eq!(ionq::read(text).unwrap_err().name(), *name, "{text}");
    }
    for (text, name) in [
        ("DECLARE ro BIT[1]\nFOO 0", "UnsupportedProgram"),
        ("DECLARE ro REAL[1]", "UnsupportedProgram"),
        ("DECLARE ro BIT[1]\nMEASURE 0 ro[5]", "InvalidProgram"),
        ("RX(pi/) 0", "InvalidProgram"),
        ("CNOT 0 0", "InvalidProgram"),
        ("H x", "InvalidProgram"),
    ] {
        assert_eq!(quil::read(text).unwrap_err().name(), name, "{text}");
    }
    for (text, name) in [
        ("BC\u{c0}\u{de}", "InvalidProgram"),
        (
            "define void @main() {\n  br label %x\n}",
            "UnsupportedProgram",
        ),
        (
            "define void @main() {\n  call void @__quantum__qis__h__body(%Qubit* %q)\n}",
            "InvalidProgram",
        ),
        ("nothing here", "InvalidProgram"),
        // Found by the fuzzer: a `)` before the call's `(`.
        ("define void @main() {\n  call @f) x (\n}", "InvalidProgram"),
    ] {
        assert_eq!(qir::read(text).unwrap_err().name(), name, "{text}");
    }
}
