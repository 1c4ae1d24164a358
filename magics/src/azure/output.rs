//! `%azure.output [ID]`: a finished job's results as one histogram, whatever the provider's
//! format; a failed job shows its error, an unfinished one says how to wait.

use async_trait::async_trait;
use azq_client::{JobDetails, JobStatus};

use super::connect::CellPrompt;
use super::errors::JobError;
use super::{lookup, outcome};
use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec};

pub struct OutputMagic;

static SPEC: MagicSpec = MagicSpec {
    name: "azure.output",
    form: Form::Line,
    summary: "Shows a finished job's results as a histogram (by default the last job).",
    usage: "%azure.output [ID]",
    description: "Downloads the job's output and reads it, in any provider's format, into one \
        histogram: a table with bars in HTML, aligned bars in text, and the data under \
        application/x-azq.histogram+json. Outcomes are the program's classical bits, most \
        significant first. A job that failed or was cancelled ends with its error; one that \
        has not finished says so.",
    params: &[lookup::JOB_ID],
    rules: &[],
    extra: false,
    examples: &[Example {
        code: "%azure.output",
        says: "The last submitted job's histogram.",
    }],
    errors: &[
        "NotConnected",
        "NoJob",
        "JobNotFound",
        "JobNotCompleted",
        "JobFailed",
        "JobCancelled",
        "JobOutputDownloadFailed",
        "InvalidArgument",
    ],
};

/// The error for a job that has no output to show, if it has none.
pub fn unfinished(job: &JobDetails) -> Option<JobError> {
    match &job.status {
        JobStatus::Succeeded => None,
        JobStatus::Failed => Some(JobError::JobFailed {
            message: format!(
                "job {} failed{}",
                job.id,
                job.error_data
                    .as_ref()
                    .map(|e| format!(": {}: {}", e.code, e.message))
                    .unwrap_or_default()
            ),
        }),
        JobStatus::Cancelled => Some(JobError::JobCancelled {
            message: format!("job {} was cancelled, so it has no results", job.id),
        }),
        other => Some(JobError::JobNotCompleted {
            message: format!(
                "job {} is {} and has no results yet; `%azure.status {}` shows where it is, \
                 `%azure.execute` waits for a job it submits",
                job.id,
                other.as_str(),
                job.id
            ),
        }),
    }
}

/// Downloads and shows a succeeded job's output.
pub async fn fetch(ctx: &mut Ctx<'_>, job: &JobDetails) -> Result<Bundle, MagicError> {
    let workspace = ctx.azure.connected()?.workspace.clone();
    let mut prompt = CellPrompt::new(&mut *ctx.out);
    let downloaded = tokio::select! {
        r = workspace.job_output(job, &mut prompt) => r,
        () = ctx.cancel.cancelled() => return Err(MagicError::Interrupted),
    };
    let (bytes, _content_type) = downloaded.map_err(|e| JobError::JobOutputDownloadFailed {
        message: format!(
            "the output of job {} could not be downloaded: {}",
            job.id,
            super::client_error(e).message()
        ),
    })?;
    Ok(outcome::show(job, &bytes)?)
}

#[async_trait]
impl Magic for OutputMagic {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&SPEC, call)?;
        let job = lookup::job(ctx, &bound).await?;
        if let Some(e) = unfinished(&job) {
            return Err(e.into());
        }
        Ok(Some(fetch(ctx, &job).await?))
    }
}
