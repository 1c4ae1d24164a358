//! `%pwd`: the kernel's working directory.

use async_trait::async_trait;

use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec};

pub struct Pwd;

static SPEC: MagicSpec = MagicSpec {
    name: "pwd",
    form: Form::Line,
    summary: "Shows the kernel's working directory.",
    usage: "%pwd",
    description: "Relative paths in magics (program files, %cd) start here.",
    params: &[],
    examples: &[Example {
        code: "%pwd",
        says: "/home/me/notebooks",
    }],
    errors: &["UnknownArgument", "InvalidArgument"],
    rules: &[],
    extra: false,
};

#[async_trait]
impl Magic for Pwd {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, _ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        Bound::bind(&SPEC, call)?;
        let dir = std::env::current_dir().map_err(|e| MagicError::InvalidArgument {
            magic: SPEC.name.to_owned(),
            message: format!("the working directory cannot be read: {e}"),
            span: None,
        })?;
        Ok(Some(Bundle::text(dir.display().to_string())))
    }
}
