//! The azq Jupyter kernel: the only crate that knows ZeroMQ, message signing and Jupyter
//! message shapes. It binds the channels, turns requests into engine calls, and turns the
//! engine's bundles and errors into messages (`to_proto`).

mod execute;
pub mod history;
pub mod install;
mod iopub;
mod publisher;
mod requests;
mod router;
pub mod server;
mod stdin;
pub mod to_proto;
pub mod wire;

pub use server::run;
