//! The `%azure.*` magics and the Azure state a notebook session keeps between them.

mod connect;
mod render;
mod session;

pub use connect::Connect;
pub use session::AzureSession;
pub(crate) use session::candidates;

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
