//! `%%markdown`: shows the cell body as Markdown.

use async_trait::async_trait;

use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec};

pub struct Markdown;

static SPEC: MagicSpec = MagicSpec {
    name: "markdown",
    form: Form::Cell,
    summary: "Shows the cell's body as Markdown.",
    usage: "%%markdown",
    description: "Handy for text that a cell builds, next to its results.",
    params: &[],
    examples: &[Example {
        code: "%%markdown\n# Results",
        says: "shows a heading",
    }],
    errors: &["UnknownArgument"],
    rules: &[],
    extra: false,
};

#[async_trait]
impl Magic for Markdown {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        Bound::bind(&SPEC, call)?;
        ctx.out
            .display(Bundle::text(call.body).with_markdown(call.body));
        Ok(None)
    }
}
