//! Fuzz target: any bytes given to every program reader (OpenQASM 2, IonQ JSON, Quil, QIR)
//! must give a program or an error, never a panic, a hang or an overflow; programs that load
//! and are small are also written back out and simulated.
#![no_main]

use azq_circuits::formats::{ionq, qir, quil};
use azq_circuits::qasm::{load, to_qasm};
use azq_circuits::sim::Simulator;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = load(text)
        && c.num_qubits() <= 8
        && c.ops.len() <= 2000
    {
        let _ = Simulator {
            max_qubits: 8,
            threads: 1,
            ..Simulator::default()
        }
        .run(&c, 4, 1);
        let _ = to_qasm(&c);
        let _ = ionq::write(&c);
        let _ = quil::write(&c);
        let _ = qir::write(&c);
    }
    let _ = ionq::read(text);
    let _ = quil::read(text);
    let _ = qir::read(text);
});
