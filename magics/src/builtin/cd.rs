//! `%cd`: changes the kernel's working directory.

use async_trait::async_trait;

use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::output::Stream;
use crate::spec::{Example, MagicSpec, Param, ValueKind};

pub struct Cd;

static SPEC: MagicSpec = MagicSpec {
    name: "cd",
    form: Form::Line,
    summary: "Changes the kernel's working directory.",
    usage: "%cd [DIR]",
    description: "Without DIR, goes to the home directory. `~` at the start of DIR means home.",
    params: &[Param::positional("DIR", "the directory to go to").of(ValueKind::Path)],
    examples: &[Example {
        code: "%cd notebooks",
        says: "prints the new working directory",
    }],
    errors: &["InvalidArgument", "EnvVarNotSet"],
    rules: &[],
    extra: false,
};

#[async_trait]
impl Magic for Cd {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let args = Bound::bind(&SPEC, call)?;
        let home = || {
            ctx.vars.get("HOME").ok_or(MagicError::EnvVarNotSet {
                name: "HOME".into(),
            })
        };
        let (target, span) = match args.positional(0) {
            None => (home()?, None),
            Some((dir, span)) => match dir.strip_prefix('~') {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                    (format!("{}{rest}", home()?), Some(span))
                }
                _ => (dir.to_owned(), Some(span)),
            },
        };
        std::env::set_current_dir(&target).map_err(|e| MagicError::InvalidArgument {
            magic: SPEC.name.to_owned(),
            message: format!("cannot change to `{target}`: {e}"),
            span,
        })?;
        let now = std::env::current_dir().map_or(target, |d| d.display().to_string());
        ctx.out.stream(Stream::Stdout, &format!("{now}\n"));
        Ok(None)
    }
}
