//! `%azure.jobs [FILTER] [count=N] [status=…] [target=…] [since=…]`: the workspace's jobs,
//! newest first, filtered on the service where its grammar allows, read page by page and
//! stopped as soon as `count` rows are found.

use async_trait::async_trait;
use azq_client::{JobDetails, JobFilter, JobStatus};

use super::connect::CellPrompt;
use super::jobview::{self, JobRow};
use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec, Param, ValueKind};

pub struct Jobs;

/// Rows shown when `count` is not given (as the portal shows).
const DEFAULT_COUNT: u64 = 30;
const MAX_COUNT: u64 = 100_000;
const STATUSES: &[&str] = &[
    "Waiting",
    "Executing",
    "Finishing",
    "Succeeded",
    "Failed",
    "Cancelled",
];

static SPEC: MagicSpec = MagicSpec {
    name: "azure.jobs",
    form: Form::Line,
    summary: "Lists the workspace's jobs, newest first.",
    usage: "%azure.jobs [FILTER] [count=N] [status=STATUS] [target=ID] [since=DATE]",
    description: "Shows at most `count` jobs (30 by default), newest first, and says when more \
        exist. `status`, `target` and `since` (a date or an RFC 3339 time, UTC) are applied by \
        the service; FILTER keeps the jobs whose id, name or target contains it (any case).",
    params: &[
        Param::positional("FILTER", "text the job's id, name or target must contain")
            .of(ValueKind::Text),
        Param::named("count", "the most rows to show (default 30)").of(ValueKind::Int {
            min: 1,
            max: MAX_COUNT,
        }),
        Param::named(
            "status",
            "only jobs in this state: Waiting, Executing, Succeeded, Failed or Cancelled",
        )
        .of(ValueKind::OneOf(STATUSES)),
        Param::named("target", "only jobs on this target").of(ValueKind::TargetId),
        Param::named(
            "since",
            "only jobs created at or after this date or time (UTC)",
        )
        .of(ValueKind::Timestamp),
    ],
    rules: &[],
    extra: false,
    examples: &[
        Example {
            code: "%azure.jobs",
            says: "The 30 newest jobs.",
        },
        Example {
            code: "%azure.jobs bell status=Succeeded count=5",
            says: "The 5 newest succeeded jobs whose id, name or target contains `bell`.",
        },
    ],
    errors: &[
        "NotConnected",
        "InvalidArgument",
        "ServiceError",
        "NetworkError",
    ],
};

fn matches(job: &JobDetails, needle: &str) -> bool {
    needle.is_empty()
        || [
            Some(job.id.as_str()),
            job.name.as_deref(),
            Some(job.target.as_str()),
        ]
        .into_iter()
        .flatten()
        .any(|s| s.to_lowercase().contains(needle))
}

/// `2026-12-01` becomes the start of that day; a time is passed on as written.
fn since(value: &str) -> String {
    if value.len() == 10 {
        format!("{value}T00:00:00Z")
    } else {
        value.to_owned()
    }
}

#[async_trait]
impl Magic for Jobs {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&SPEC, call)?;
        let count = bound.int("count").unwrap_or(DEFAULT_COUNT) as usize;
        let needle = bound
            .positional(0)
            .map(|(f, _)| f.to_lowercase())
            .unwrap_or_default();
        let connection = ctx.azure.connected()?;
        let target = bound.text("target").map(|t| {
            connection
                .find_target(t)
                .map_or_else(|| t.to_owned(), |(_, id)| id.to_owned())
        });
        let status = bound.text("status").map(|s| {
            let canonical = STATUSES
                .iter()
                .find(|c| c.eq_ignore_ascii_case(s))
                .copied()
                .unwrap_or(s);
            serde_json::from_value::<JobStatus>(serde_json::Value::String(canonical.to_owned()))
                .unwrap_or(JobStatus::Unknown(canonical.to_owned()))
        });
        let filter = JobFilter {
            status: status.into_iter().collect(),
            target,
            created_after: bound.text("since").map(since),
            page_size: Some(if needle.is_empty() {
                (count + 1).min(1000) as u32
            } else {
                1000
            }),
            ..JobFilter::default()
        };
        let workspace = connection.workspace.clone();
        let ws = connection.workspace.workspace.clone();
        let mut prompt = CellPrompt::new(&mut *ctx.out);
        let mut pages = workspace.list_jobs(&filter);
        let mut shown: Vec<JobRow> = Vec::with_capacity(count.min(1000));
        let mut more = false;
        'pages: loop {
            let page = tokio::select! {
                p = pages.next_page(&mut prompt) => p,
                () = ctx.cancel.cancelled() => return Err(MagicError::Interrupted),
            };
            let Some(page) = page else { break };
            for job in page.map_err(super::client_error)? {
                if !matches(&job, &needle) {
                    continue;
                }
                if shown.len() == count {
                    more = true;
                    break 'pages;
                }
                shown.push(JobRow::of(&job));
            }
        }
        let note = if shown.is_empty() {
            Some(
                if needle.is_empty() && bound.named_spans().next().is_none() {
                    "No jobs in this workspace yet; `%azure.submit` sends one.".to_owned()
                } else {
                    "No jobs match.".to_owned()
                },
            )
        } else if more {
            Some(format!(
                "Showing the newest {count} matching jobs; more exist (give count=N for more)."
            ))
        } else {
            None
        };
        Ok(Some(jobview::jobs_table(&ws, &shown, note.as_deref())))
    }
}
