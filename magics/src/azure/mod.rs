//! The `%azure.*` magics and `%%qasm`, and the Azure state a notebook session keeps between
//! them.

mod cancel;
mod connect;
mod errors;
mod estimate;
mod execute;
mod jobs;
mod jobview;
mod lookup;
mod outcome;
mod output;
mod pacing;
mod pricing;
mod programs;
mod qasm;
mod quotas;
mod rates_file;
mod render;
mod session;
mod sessions;
mod status;
mod submission;
mod submit;
mod target;
mod translate;
mod watch;
mod watcher;

pub use cancel::Cancel;
pub use connect::Connect;
pub use estimate::Estimate;
pub use execute::Execute;
pub use jobs::Jobs;
pub use output::OutputMagic;
pub use qasm::{QasmCell, QasmLine};
pub use quotas::Quotas;
pub use session::AzureSession;
pub(crate) use session::{availability, candidates};
pub use sessions::SessionMagic;
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
