//! `%%html`: shows the cell body as HTML.

use async_trait::async_trait;

use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec};

pub struct Html;

static SPEC: MagicSpec = MagicSpec {
    name: "html",
    form: Form::Cell,
    summary: "Shows the cell's body as HTML.",
    usage: "%%html",
    description: "The body is shown as it is; front ends sanitise it in untrusted notebooks.",
    params: &[],
    examples: &[Example {
        code: "%%html\n<b>bold</b>",
        says: "shows **bold**",
    }],
    errors: &["UnknownArgument"],
    rules: &[],
    extra: false,
};

#[async_trait]
impl Magic for Html {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        Bound::bind(&SPEC, call)?;
        let plain = format!("<HTML, {} bytes>", call.body.len());
        ctx.out.display(Bundle::text(plain).with_html(call.body));
        Ok(None)
    }
}
