//! azq's cell engine: splits a cell into magics and code, parses and binds magic arguments,
//! runs magics, and returns MIME bundles and typed errors. It knows nothing of Jupyter
//! messages or ZeroMQ, so any front end can drive it.

pub mod args;
pub mod assist;
mod azure;
mod builtin;
pub mod bundle;
pub mod cell;
mod engine;
pub mod error;
pub mod grammar;
pub mod magic;
pub mod output;
pub mod registry;
pub mod rust;
mod secrets;
pub mod spec;
pub mod vars;

pub use bundle::Bundle;
pub use engine::{CellOptions, Engine, redact_secrets};
pub use error::MagicError;
pub use output::{DisplayId, DisplaySink, Output, Stream};
