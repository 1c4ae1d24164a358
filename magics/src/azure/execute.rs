//! `%azure.execute`: submits like `%azure.submit`, then follows the job in one display updated
//! in place until it ends, and shows its results. An interrupt or the timeout stops the
//! waiting, never the job, and says how to follow or cancel it.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use azq_client::JobDetails;

use super::connect::CellPrompt;
use super::{jobview, output, submission};
use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec, Param, ValueKind, prose_html};

pub struct Execute;

/// How long `%azure.execute` waits when `timeout=` is not given.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest pause between polls when `poll=` is not given.
const DEFAULT_POLL: Duration = Duration::from_secs(5);
/// The first pause: short, then growing by half each time up to `poll`.
const FIRST_POLL: Duration = Duration::from_millis(20);

static PARAMS: [Param; 9] = [
    submission::PARAMS[0],
    submission::PARAMS[1],
    submission::PARAMS[2],
    submission::PARAMS[3],
    submission::PARAMS[4],
    submission::PARAMS[5],
    submission::PARAMS[6],
    Param::named(
        "timeout",
        "how long to wait for the job, in seconds (default 300); the job goes on after",
    )
    .of(ValueKind::Seconds {
        min: 1,
        max: 7 * 86_400,
    }),
    Param::named(
        "poll",
        "the longest pause between status checks, in seconds (default 5)",
    )
    .of(ValueKind::Seconds { min: 0, max: 3_600 }),
];

static SPEC: MagicSpec = MagicSpec {
    name: "azure.execute",
    form: Form::Line,
    summary: "Submits a program, waits for the job, and shows its results.",
    usage: "%azure.execute PROGRAM|file=PATH [target=ID] [shots=N] [jobName=NAME] [jobParams={…}] [confirm=false] [timeout=SECONDS] [poll=SECONDS] [key=value …]",
    description: "Submits like `%azure.submit` (asking first on a paid QPU target), then shows the job's status and the time waited \
        in one line updated in place, checking often at first and less often later (at most \
        every `poll` seconds). When the job succeeds its results are shown as with \
        `%azure.output`; a failed or cancelled job ends the cell with its error. After \
        `timeout` seconds, or on an interrupt, azq stops waiting (the job goes on) and says how \
        to follow or cancel it.",
    params: &PARAMS,
    rules: &[],
    extra: true,
    examples: &[
        Example {
            code: "%azure.execute bell shots=100",
            says: "Runs the stored program `bell` on the active target and shows its histogram.",
        },
        Example {
            code: "%azure.execute bell target=quantinuum.sim.h2-1e timeout=600",
            says: "The same on Quantinuum's emulator, waiting up to ten minutes.",
        },
    ],
    errors: &[
        "NotConnected",
        "NoTarget",
        "InvalidTarget",
        "UnknownProgram",
        "InvalidProgram",
        "ProgramTooLarge",
        "InvalidJobParams",
        "JobSubmissionFailed",
        "SessionEnded",
        "SubmissionDeclined",
        "ConfirmationUnavailable",
        "InvalidCostSetting",
        "InvalidPricingFile",
        "JobFailed",
        "JobCancelled",
        "JobOutputDownloadFailed",
        "Interrupted",
        "InvalidArgument",
        "ConflictingArguments",
        "UnknownArgument",
        "SyntaxError",
    ],
};

/// What to type to follow, fetch or cancel a job that is still running.
fn follow_up(job: &JobDetails, why: &str) -> Bundle {
    let text = format!(
        "{why}: job {id} on {target} is {status} and goes on. Follow it with \
         `%azure.status {id}`, get its results with `%azure.output {id}` once it succeeds, or \
         stop it with `%azure.cancel {id}`.",
        id = job.id,
        target = job.target,
        status = job.status.as_str()
    );
    Bundle::text(text.clone()).with_html(format!("<p>{}</p>", prose_html(&text)))
}

#[async_trait]
impl Magic for Execute {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&SPEC, call)?;
        let timeout = bound.seconds("timeout").unwrap_or(DEFAULT_TIMEOUT);
        let max_poll = bound.seconds("poll").unwrap_or(DEFAULT_POLL);
        let started = Instant::now();
        let mut job = submission::submit(ctx, &bound, "azure.execute").await?;
        let workspace = ctx.azure.connected()?.workspace.clone();
        let first = jobview::waiting(&job, started.elapsed(), None);
        let mut last = first.plain().to_owned();
        let display = ctx.out.display_updatable(first);
        let mut pause = FIRST_POLL.min(max_poll);
        while !job.status.is_terminal() {
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                let why = format!("Stopped waiting after {} s", timeout.as_secs_f64());
                let shown = follow_up(&job, &why);
                ctx.out.update(&display, shown.clone());
                let ws = &ctx.azure.connected()?.workspace.workspace;
                return Ok(Some(jobview::job_table(ws, &job, Some(shown.plain()))));
            }
            tokio::select! {
                () = tokio::time::sleep(pause.min(left)) => {}
                () = ctx.cancel.cancelled() => {
                    ctx.out.update(&display, follow_up(&job, "Interrupted"));
                    return Err(MagicError::Interrupted);
                }
            }
            pause = (pause * 3 / 2).min(max_poll).max(FIRST_POLL.min(max_poll));
            let mut prompt = CellPrompt::new(&mut *ctx.out);
            let fetched = tokio::select! {
                r = workspace.get_job(&job.id, &mut prompt) => r,
                () = ctx.cancel.cancelled() => {
                    ctx.out.update(&display, follow_up(&job, "Interrupted"));
                    return Err(MagicError::Interrupted);
                }
            };
            job = fetched.map_err(|e| match super::lookup::job_error(e, &job.id, None) {
                // The job goes on whatever stopped the waiting: say how to follow it.
                MagicError::Azure {
                    name,
                    message,
                    span,
                } => MagicError::Azure {
                    name,
                    message: format!(
                        "{message}; job {id} was submitted and goes on: `%azure.status {id}` \
                         follows it",
                        id = job.id
                    ),
                    span,
                },
                other => other,
            })?;
            // Only when the line would read differently: polls come faster at first than the
            // tenths of a second it shows.
            let now = jobview::waiting(&job, started.elapsed(), None);
            if now.plain() != last.as_str() {
                last = now.plain().to_owned();
                ctx.out.update(&display, now);
            }
        }
        if let Some(e) = output::unfinished(&job) {
            return Err(e.into());
        }
        Ok(Some(output::fetch(ctx, &job).await?))
    }
}
