//! `%azure.submit PROGRAM|file=PATH [target=…] [shots=N] [jobName=…] [jobParams={…}] [key=value …]`:
//! translates a program for the target, uploads it and creates the job, then shows its row,
//! which the session's watcher keeps updating until the job ends (unless `watch=false`).

use async_trait::async_trait;

use super::{jobview, submission};
use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec};

pub struct Submit;

pub(crate) const ERRORS: &[&str] = &[
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
    "InvalidArgument",
    "ConflictingArguments",
    "UnknownArgument",
    "SyntaxError",
];

static SPEC: MagicSpec = MagicSpec {
    name: "azure.submit",
    form: Form::Line,
    summary: "Submits a program to the active target and shows the job.",
    usage: "%azure.submit PROGRAM|file=PATH [target=ID] [shots=N] [jobName=NAME] [jobParams={…}] [confirm=false] [watch=false] [key=value …]",
    description: "Translates the program into the target's own format (IonQ JSON, OpenQASM for \
        Quantinuum, Quil for Rigetti, QIR otherwise), uploads it to the workspace's storage and \
        creates the job; returns at once with the job's row, which keeps updating itself (status, \
        queue position, time) until the job ends, then shows its results when they are small \
        (`watch=false` leaves it as it was; `%azure.watch` lists the watches). On a paid QPU \
        target it first shows the estimated cost (as `%azure.estimate` does) and asks `[y/N]`; \
        only y or yes submits (`confirm=false`, or `%env AZQ_CONFIRM_COST=0` for the session, \
        submits without asking; simulators never ask). Other `key=value` pairs become the \
        job's input parameters, as do the keys of `jobParams`. `%azure.status` follows the job, \
        `%azure.output` shows its results, `%azure.execute` submits and waits.",
    params: &submission::PARAMS,
    rules: &[],
    extra: true,
    examples: &[
        Example {
            code: "%azure.submit bell shots=500",
            says: "Submits the stored program `bell` to the active target with 500 shots.",
        },
        Example {
            code: "%azure.submit file=teleport.qasm target=rigetti.sim.qvm jobName=teleport-1",
            says: "Submits a file to Rigetti's simulator (translated to Quil) under a name.",
        },
    ],
    errors: ERRORS,
};

#[async_trait]
impl Magic for Submit {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&SPEC, call)?;
        let job = submission::submit(ctx, &bound, "azure.submit").await?;
        let connection = ctx.azure.connected()?;
        let workspace = connection.workspace.clone();
        let queue_time = super::watcher::queue_time(connection, &job.target);
        let watch = bound.text("watch") != Some("false") && !job.status.is_terminal();
        let Some(sink) = watch.then(|| ctx.out.sink()).flatten() else {
            let note = format!(
                "Submitted job {} to {}. `%azure.status` follows it; `%azure.output` shows its \
                 results.",
                job.id, job.target
            );
            return Ok(Some(jobview::job_table(
                &workspace.workspace,
                &job,
                Some(&note),
            )));
        };
        // The row is a display of its own, so the watcher can update it after the cell.
        let note = format!(
            "Submitted job {id} to {target}; this row updates itself until the job ends \
             (`%azure.watch off {id}` stops that).",
            id = job.id,
            target = job.target
        );
        let row = jobview::job_table(&workspace.workspace, &job, Some(&note));
        let display = ctx.out.display_updatable(row);
        let ws = workspace.workspace.clone();
        if let Err(e) =
            ctx.azure
                .watcher
                .watch(workspace, job.clone(), display.clone(), sink, queue_time)
        {
            // The job was submitted all the same: the row says why it is not watched.
            let note = format!("Submitted job {}; not watched: {e}", job.id);
            ctx.out
                .update(&display, jobview::job_table(&ws, &job, Some(&note)));
        }
        Ok(None)
    }
}
