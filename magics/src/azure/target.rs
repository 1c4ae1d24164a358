//! `%azure.target [ID]`: shows the active target, or sets it to one of the workspace's
//! targets and shows that target's row.

use std::ops::Range;

use async_trait::async_trait;

use super::errors::JobError;
use super::render;
use super::session::Connection;
use crate::MagicError;
use crate::args::{Bound, closest};
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec, Param, ValueKind};

pub struct TargetMagic;

static SPEC: MagicSpec = MagicSpec {
    name: "azure.target",
    form: Form::Line,
    summary: "Shows the active target, or sets it.",
    usage: "%azure.target [ID]",
    description: "With an ID, makes that target of the connected workspace the one \
        `%azure.submit` and `%azure.execute` use, and shows its availability; ids compare \
        without case. Without one, shows the active target. `%azure.connect` lists the \
        workspace's targets, and completion offers them.",
    params: &[Param::positional("ID", "a target of the workspace, e.g. ionq.simulator")
        .of(ValueKind::TargetId)],
    rules: &[],
    extra: false,
    examples: &[
        Example {
            code: "%azure.target ionq.simulator",
            says: "Sets IonQ's simulator as the active target and shows its row.",
        },
        Example {
            code: "%azure.target",
            says: "Shows the active target.",
        },
    ],
    errors: &["NotConnected", "NoTarget", "InvalidTarget", "InvalidArgument"],
};

/// "not a target of this workspace", with the nearest one.
pub fn not_in_workspace(c: &Connection, wanted: &str, span: Option<Range<usize>>) -> JobError {
    let near = closest(wanted, c.target_ids().map(str::to_owned));
    let hint = match near {
        Some(n) => format!("did you mean `{n}`?"),
        None => "`%azure.connect` lists them".to_owned(),
    };
    JobError::InvalidTarget {
        message: format!(
            "`{wanted}` is not a target of workspace {}; {hint}",
            c.workspace.workspace.name
        ),
        span,
    }
}

#[async_trait]
impl Magic for TargetMagic {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&SPEC, call)?;
        let connection = ctx.azure.connected()?;
        let chosen = match bound.positional(0) {
            Some((wanted, span)) => match connection.find_target(wanted) {
                Some((_, id)) => id.to_owned(),
                None => return Err(not_in_workspace(connection, wanted, Some(span)).into()),
            },
            None => match &ctx.azure.target {
                Some(t) => t.clone(),
                None => return Err(JobError::NoTarget.into()),
            },
        };
        let line = if bound.positional(0).is_some() {
            format!("Active target is now {chosen}.")
        } else {
            format!("Active target is {chosen}.")
        };
        // The active target may have left the list (a refreshed list, another workspace).
        let shown = render::target_row(connection, &chosen, &line)
            .ok_or_else(|| not_in_workspace(connection, &chosen, None))?;
        ctx.azure.target = Some(chosen);
        Ok(Some(shown))
    }
}
