//! Finding the job a magic is about: the id given, else the last job of this session.

use std::ops::Range;

use azq_client::JobDetails;

use super::connect::CellPrompt;
use super::errors::JobError;
use crate::MagicError;
use crate::args::Bound;
use crate::magic::Ctx;
use crate::spec::{Param, ValueKind};

/// The `ID` parameter of `%azure.status`, `%azure.output` and `%azure.cancel`.
pub const JOB_ID: Param = Param::positional(
    "ID",
    "the job's id (a GUID); completion offers this session's jobs",
)
.of(ValueKind::JobId);

/// The id a magic names (positional `ID`), else the session's last job.
pub fn job_id(ctx: &Ctx<'_>, bound: &Bound) -> Result<(String, Option<Range<usize>>), MagicError> {
    match bound.positional(0) {
        Some((id, span)) => Ok((id.to_owned(), Some(span))),
        None => Ok((ctx.azure.last_job()?.to_owned(), None)),
    }
}

/// A client error about one job, with the caret on the id when the user wrote it.
pub fn job_error(e: azq_client::ClientError, id: &str, span: Option<Range<usize>>) -> MagicError {
    if e.name() == "JobNotFound" {
        return JobError::JobNotFound {
            message: format!(
                "there is no job {id} in this workspace; `%azure.jobs` lists the workspace's jobs"
            ),
            span,
        }
        .into();
    }
    super::client_error(e)
}

/// Fetches the job a magic names, interruptible.
pub async fn job(ctx: &mut Ctx<'_>, bound: &Bound) -> Result<JobDetails, MagicError> {
    let (id, span) = job_id(ctx, bound)?;
    let workspace = ctx.azure.connected()?.workspace.clone();
    let mut prompt = CellPrompt::new(&mut *ctx.out);
    tokio::select! {
        r = workspace.get_job(&id, &mut prompt) => r.map_err(|e| job_error(e, &id, span)),
        () = ctx.cancel.cancelled() => Err(MagicError::Interrupted),
    }
}
