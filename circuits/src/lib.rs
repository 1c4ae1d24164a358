//! Quantum programs for azq: OpenQASM 2 in and out, a circuit model, a state-vector
//! simulator, and the job and result formats of each Azure Quantum provider.

pub mod circuit;
pub mod decompose;
pub mod draw;
pub mod error;
pub mod formats;
pub mod program;
pub mod qasm;
pub mod results;
pub mod sim;

pub use circuit::{Circuit, Gate, GateKind, Op, Register};
pub use error::{ProgramError, ProgramErrorKind};
