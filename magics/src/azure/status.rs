//! `%azure.status [ID]`: a job's row, by default the last job this session submitted; a
//! failed job shows what the provider said.

use async_trait::async_trait;

use super::{jobview, lookup};
use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec};

pub struct Status;

static SPEC: MagicSpec = MagicSpec {
    name: "azure.status",
    form: Form::Line,
    summary: "Shows a job's status (by default the last job submitted).",
    usage: "%azure.status [ID]",
    description: "Fetches the job and shows its row: name, id (linked to the portal), status, \
        target, times and cost estimate. A failed job also shows the error the provider \
        reported. Without an ID, the last job `%azure.submit` or `%azure.execute` sent in this \
        session.",
    params: &[lookup::JOB_ID],
    rules: &[],
    extra: false,
    examples: &[Example {
        code: "%azure.status",
        says: "The last submitted job's row.",
    }],
    errors: &["NotConnected", "NoJob", "JobNotFound", "InvalidArgument"],
};

#[async_trait]
impl Magic for Status {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&SPEC, call)?;
        let job = lookup::job(ctx, &bound).await?;
        let ws = &ctx.azure.connected()?.workspace.workspace;
        let note = job
            .error_data
            .as_ref()
            .map(|e| format!("{}: {}", e.code, e.message));
        Ok(Some(jobview::job_table(ws, &job, note.as_deref())))
    }
}
