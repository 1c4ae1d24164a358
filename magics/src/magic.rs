//! The `Magic` trait every magic implements, and the context a running magic gets.

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::cell::Call;
use crate::output::Output;
use crate::spec::MagicSpec;
use crate::vars::Vars;
use crate::{Bundle, MagicError};

/// What a magic may use while it runs.
pub struct Ctx<'a> {
    pub out: &'a mut dyn Output,
    /// Cancelled when the user interrupts the kernel.
    pub cancel: &'a CancellationToken,
    /// Whether the front end accepts `input_request`s for this cell.
    pub allow_stdin: bool,
    /// The session's environment variables.
    pub vars: &'a mut Vars,
    /// The session's Azure connection.
    pub azure: &'a mut crate::azure::AzureSession,
    /// The session's Rust context.
    pub rust: &'a crate::rust::RustCells,
}

/// One magic: its declaration and what it does.
#[async_trait]
pub trait Magic: Send + Sync {
    fn spec(&self) -> &'static MagicSpec;

    /// Runs the magic; `Some(bundle)` is the cell's value when the magic is last.
    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError>;

    /// Byte ranges of `call`'s text that hold secrets, to be hidden wherever the cell's text
    /// is kept (history).
    fn secret_spans(&self, _call: &Call<'_>) -> Vec<std::ops::Range<usize>> {
        Vec::new()
    }

    /// Completions for a bare word in the arguments beyond the declared `key=`s and flags.
    fn complete_value(&self, _word: &str) -> Vec<String> {
        Vec::new()
    }
}
