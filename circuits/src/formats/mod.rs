//! The job formats of Azure Quantum providers: IonQ JSON, Quil, QIR text (OpenQASM lives in
//! `qasm`). Each has a writer from the circuit model and a reader back into it.

pub mod ionq;
pub mod qir;
pub mod quil;
