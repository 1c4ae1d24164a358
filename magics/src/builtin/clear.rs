//! `%clear`: clears the cell's output so far, like IPython's `clear_output()`.

use async_trait::async_trait;

use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec, Param};

pub struct Clear;

static SPEC: MagicSpec = MagicSpec {
    name: "clear",
    form: Form::Line,
    summary: "Clears the output this cell has shown so far.",
    usage: "%clear [--wait]",
    description: "Useful between steps of a long cell. With --wait the old output stays until \
                  new output arrives, which avoids flicker.",
    params: &[Param::flag(
        "wait",
        Some('w'),
        "clear only when the next output arrives",
    )],
    examples: &[Example {
        code: "%%bash\necho step 1",
        says: "then `%clear` in a later line of a cell removes what came before it.",
    }],
    errors: &["UnknownArgument"],
    rules: &[],
    extra: false,
};

#[async_trait]
impl Magic for Clear {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let args = Bound::bind(&SPEC, call)?;
        ctx.out.clear(args.flag("wait"));
        Ok(None)
    }
}
