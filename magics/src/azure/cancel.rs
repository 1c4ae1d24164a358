//! `%azure.cancel [ID]`: cancels a job (by default the last one submitted) and shows its row;
//! a finished job says it cannot be cancelled.

use async_trait::async_trait;

use super::connect::CellPrompt;
use super::errors::JobError;
use super::{jobview, lookup};
use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec};

pub struct Cancel;

static SPEC: MagicSpec = MagicSpec {
    name: "azure.cancel",
    form: Form::Line,
    summary: "Cancels a job (by default the last job submitted).",
    usage: "%azure.cancel [ID]",
    description: "Asks the service to cancel a job that is waiting or running and shows its \
        row. A job that has already finished cannot be cancelled; the error says how it ended.",
    params: &[lookup::JOB_ID],
    rules: &[],
    extra: false,
    examples: &[Example {
        code: "%azure.cancel",
        says: "Cancels the last submitted job.",
    }],
    errors: &[
        "NotConnected",
        "NoJob",
        "JobNotFound",
        "JobNotCancellable",
        "InvalidArgument",
    ],
};

#[async_trait]
impl Magic for Cancel {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&SPEC, call)?;
        let job = lookup::job(ctx, &bound).await?;
        if job.status.is_terminal() {
            return Err(JobError::JobNotCancellable {
                message: format!(
                    "job {} has already ended ({}), so it cannot be cancelled",
                    job.id,
                    job.status.as_str()
                ),
            }
            .into());
        }
        let workspace = ctx.azure.connected()?.workspace.clone();
        let mut prompt = CellPrompt::new(&mut *ctx.out);
        let cancelled = tokio::select! {
            r = workspace.cancel_job(&job.id, &mut prompt) => r,
            () = ctx.cancel.cancelled() => return Err(MagicError::Interrupted),
        };
        let job = cancelled.map_err(|e| lookup::job_error(e, &job.id, None))?;
        let ws = &ctx.azure.connected()?.workspace.workspace;
        let note = format!(
            "Cancellation of job {} requested: it is {} now.",
            job.id,
            job.status.as_str()
        );
        Ok(Some(jobview::job_table(ws, &job, Some(&note))))
    }
}
