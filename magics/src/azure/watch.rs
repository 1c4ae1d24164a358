//! `%azure.watch [ID]` and `%azure.watch off [ID|all]`: lists the jobs whose rows update
//! themselves, watches one more in a row shown here, or stops watches.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::errors::JobError;
use super::render::text_table;
use super::{jobview, lookup};
use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec, Param, prose_html};

pub struct WatchMagic;

static PARAMS: [Param; 3] = [
    Param::word(
        "off",
        "stop watching: the job given, or every watched job when none is",
    ),
    Param::word("all", "with `off`: every watched job"),
    lookup::JOB_ID,
];

static SPEC: MagicSpec = MagicSpec {
    name: "azure.watch",
    form: Form::Line,
    summary: "Lists, starts or stops the watches that keep job rows up to date.",
    usage: "%azure.watch [ID] | %azure.watch off [ID|all]",
    description: "A watched job's row updates itself after its cell has ended (status, queue \
        position, time watched) until the job ends; then it shows the results when they are \
        small, else how to get them. `%azure.submit` watches the jobs it submits. Without \
        arguments, lists the watches: job, name, target, status, how long watched, when next \
        checked. With a job id, shows the job's row here and watches it (a job that has \
        already ended gets its row, not a watch). `off ID` stops one watch, `off` or `off \
        all` every one; a stopped row says so. All watches together send at most one request \
        a second; each job is checked often at first, then less often (seconds for \
        simulators, minutes for QPUs).",
    params: &PARAMS,
    rules: &[],
    extra: false,
    examples: &[
        Example {
            code: "%azure.watch",
            says: "Lists the watched jobs.",
        },
        Example {
            code: "%azure.watch off all",
            says: "Stops every watch; the rows keep their last state.",
        },
    ],
    errors: &[
        "NotConnected",
        "JobNotFound",
        "NotWatched",
        "TooManyWatches",
        "InvalidArgument",
        "ConflictingArguments",
    ],
};

const HEADS: [&str; 6] = [
    "Job ID",
    "Job Name",
    "Target",
    "Job Status",
    "Watched For",
    "Next Check",
];

fn secs(d: std::time::Duration) -> String {
    format!("{} s", d.as_secs())
}

/// The watches as a table (text, HTML, JSON).
fn listing(ctx: &Ctx<'_>) -> Bundle {
    let all = ctx.azure.watcher.list();
    if all.is_empty() {
        let text = "No jobs are watched. `%azure.submit` watches the jobs it submits; \
                    `%azure.watch ID` watches another.";
        return Bundle::text(text)
            .with_html(format!("<p>{}</p>", prose_html(text)))
            .with_data("watches", json!([]));
    }
    let rows: Vec<[String; 6]> = all
        .iter()
        .map(|w| {
            [
                w.id.clone(),
                w.name.clone(),
                w.target.clone(),
                w.status.clone(),
                secs(w.watched_for),
                w.next_check.map_or_else(|| "now".to_owned(), secs),
            ]
        })
        .collect();
    let plain = text_table(HEADS, &rows);
    let html = super::render::html_table("azq-watches", HEADS, &rows);
    let data: Vec<Value> = all
        .iter()
        .map(|w| {
            json!({
                "id": w.id,
                "name": w.name,
                "target": w.target,
                "status": w.status,
                "watchedSeconds": w.watched_for.as_secs(),
                "nextCheckSeconds": w.next_check.map(|d| d.as_secs()),
            })
        })
        .collect();
    Bundle::text(plain)
        .with_html(html)
        .with_data("watches", Value::Array(data))
}

fn said(text: String) -> Bundle {
    Bundle::text(text.clone()).with_html(format!("<p>{}</p>", prose_html(&text)))
}

/// `off [ID|all]`.
fn off(ctx: &Ctx<'_>, bound: &Bound) -> Result<Bundle, MagicError> {
    let why = "stopped by `%azure.watch off`";
    match (bound.positional(0), bound.flag("all")) {
        (Some((_, span)), true) => Err(MagicError::ConflictingArguments {
            magic: SPEC.name.to_owned(),
            message: "give a job id or `all`, not both".into(),
            span,
        }),
        (Some((id, span)), false) => {
            if ctx.azure.watcher.stop(id, why) {
                Ok(said(format!("Stopped watching job {id}.")))
            } else {
                Err(JobError::NotWatched {
                    message: format!(
                        "job {id} is not watched (it may have ended); `%azure.watch` lists the \
                         watched jobs"
                    ),
                    span: Some(span),
                }
                .into())
            }
        }
        (None, _) => {
            let n = ctx.azure.watcher.stop_where(|_| false, why);
            Ok(said(match n {
                0 => "No jobs were watched.".to_owned(),
                1 => "Stopped watching 1 job.".to_owned(),
                n => format!("Stopped watching {n} jobs."),
            }))
        }
    }
}

#[async_trait]
impl Magic for WatchMagic {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&SPEC, call)?;
        if bound.flag("off") {
            return off(ctx, &bound).map(Some);
        }
        if let Some(span) = bound.word_span("all") {
            return Err(MagicError::InvalidArgument {
                magic: SPEC.name.to_owned(),
                message: "`all` goes with `off`: `%azure.watch off all` stops every watch".into(),
                span: Some(span),
            });
        }
        if bound.positional(0).is_none() {
            return Ok(Some(listing(ctx)));
        }
        let job = lookup::job(ctx, &bound).await?;
        let connection = ctx.azure.connected()?;
        let workspace = connection.workspace.clone();
        let queue_time = super::watcher::queue_time(connection, &job.target);
        let ws = workspace.workspace.clone();
        if job.status.is_terminal() {
            let note = format!(
                "Job {id} has already ended ({status}), so there is nothing to watch.{more}",
                id = job.id,
                status = job.status.as_str(),
                more = if job.status == azq_client::JobStatus::Succeeded {
                    format!(" `%azure.output {}` shows its results.", job.id)
                } else {
                    String::new()
                }
            );
            return Ok(Some(jobview::job_table(&ws, &job, Some(&note))));
        }
        let Some(sink) = ctx.out.sink() else {
            let note = format!(
                "This front end cannot take later updates; `%azure.status {}` follows the job.",
                job.id
            );
            return Ok(Some(jobview::job_table(&ws, &job, Some(&note))));
        };
        let note = format!(
            "Watching job {id}: this row updates itself until the job ends \
             (`%azure.watch off {id}` stops that).",
            id = job.id
        );
        let display = ctx
            .out
            .display_updatable(jobview::job_table(&ws, &job, Some(&note)));
        if let Err(e) =
            ctx.azure
                .watcher
                .watch(workspace, job.clone(), display.clone(), sink, queue_time)
        {
            let note = format!("Not watched: {e}");
            ctx.out
                .update(&display, jobview::job_table(&ws, &job, Some(&note)));
            return Err(e.into());
        }
        Ok(None)
    }
}
