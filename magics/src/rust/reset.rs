//! `%rust.reset`: drops the Rust context (variables, items, `:dep`s) and the memory it holds.

use async_trait::async_trait;

use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec};

pub struct Reset;

static SPEC: MagicSpec = MagicSpec {
    name: "rust.reset",
    form: Form::Line,
    summary: "Starts the Rust context afresh: every variable, function, type and :dep is dropped.",
    usage: "%rust.reset",
    description: "Rust cells run in a companion process (evcxr and rust-analyzer, several hundred \
                  MB). This stops it and frees its memory; the next Rust cell starts a new one, \
                  which takes a few seconds. Magics and the Azure connection are not touched.",
    params: &[],
    examples: &[Example {
        code: "%rust.reset",
        says: "\"The Rust context was reset\", and `x` from an earlier cell is gone.",
    }],
    errors: &["UnknownArgument"],
    rules: &[],
    extra: false,
};

#[async_trait]
impl Magic for Reset {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        Bound::bind(&SPEC, call)?;
        let said = if ctx.rust.reset() {
            "The Rust context was reset: its variables, items and :deps are gone, and its memory \
             is freed. The next Rust cell starts a fresh one."
        } else {
            "No Rust context was running; the next Rust cell starts a fresh one."
        };
        Ok(Some(Bundle::text(said)))
    }
}
