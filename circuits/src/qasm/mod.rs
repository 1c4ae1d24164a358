//! OpenQASM 2.0: parsing, the built-in `qelib1.inc`, lowering to the circuit model, and
//! writing a circuit back out.

pub mod ast;
mod emit;
mod lower;
mod parse;
mod qelib1;

pub use emit::to_qasm;
pub use lower::{MAX_OPS, MAX_REGISTER_BITS, library_gate, load};
pub use parse::parse;
