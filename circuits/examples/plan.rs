//! Prints how a program's gates fuse: how many passes of each width and kind.
//!
//!     cargo run --release -p azq-circuits --example plan FILE.qasm [FUSION]

use std::collections::BTreeMap;

use azq_circuits::sim::fuse::{Matrix, Step, plan};

fn main() {
    let path = std::env::args().nth(1).expect("a .qasm file");
    let k: usize = std::env::args()
        .nth(2)
        .map_or(4, |a| a.parse().expect("fusion"));
    let text = std::fs::read_to_string(path).expect("readable");
    let c = azq_circuits::qasm::load(&text).expect("a program");
    let steps = plan(&c.ops, k);
    let mut kinds: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for s in &steps {
        let key = match s {
            Step::Block(b) => format!(
                "{} qubits{}{}{}",
                b.qubits.len(),
                match b.matrix {
                    Matrix::Dense(_) => "",
                    Matrix::Diagonal(_) => ", diagonal",
                    Matrix::Permutation { .. } => ", permutation",
                },
                if b.controls.is_empty() {
                    String::new()
                } else {
                    format!(", {} controls", b.controls.len())
                },
                if b.qubits.first().is_some_and(|&q| q < 2) {
                    ", low"
                } else {
                    ""
                },
            ),
            Step::Gate(_) => "wide gate".into(),
            _ => "measure/reset/if".into(),
        };
        let e = kinds.entry(key).or_default();
        e.0 += 1;
        e.1 += match s {
            Step::Block(b) => b.gates,
            _ => 1,
        };
    }
    println!("{} ops → {} steps", c.ops.len(), steps.len());
    for (k, (n, g)) in kinds {
        println!("{n:>5} × {k} ({g} gates)");
    }
}
