//! The `%azure.*` magics and `%%qasm`, and the Azure state a notebook session keeps between
//! them.

mod cancel;
mod connect;
mod errors;
mod execute;
mod jobs;
mod jobview;
mod lookup;
mod outcome;
mod output;
mod pacing;
mod programs;
mod qasm;
mod render;
mod session;
mod status;
mod submission;
mod submit;
mod target;
mod translate;
mod watch;
mod watcher;

pub use cancel::Cancel;
pub use connect::Connect;
pub use execute::Execute;
pub use jobs::Jobs;
pub use output::OutputMagic;
pub use qasm::{QasmCell, QasmLine};
pub use session::AzureSession;
pub(crate) use session::candidates;
pub use status::Status;
pub use submit::Submit;
pub use target::TargetMagic;
pub use watch::WatchMagic;

use azq_client::ClientError;

use crate::MagicError;

/// A client error as the cell's error, under the client's stable name.
pub(crate) fn client_error(e: ClientError) -> MagicError {
    MagicError::Azure {
        name: e.name(),
        message: e.to_string(),
        span: None,
    }
}
