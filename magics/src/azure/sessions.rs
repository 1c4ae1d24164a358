//! `%azure.session [open [NAME] [policy=abort|continue] [target=ID] | close [ID] | show [ID]]`:
//! an Azure Quantum session that the jobs submitted while it is open belong to; its row and
//! jobs, how it ended and why.

use async_trait::async_trait;
use azq_client::{
    ClientError, JobFilter, JobStatus, NewJob, NewSession, SessionDetails, SessionJobFailurePolicy,
    SessionStatus, Workspace,
};
use serde_json::{Value, json};

use super::connect::CellPrompt;
use super::errors::JobError;
use super::jobview::{self, JobRow};
use crate::MagicError;
use crate::args::{Bound, closest};
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec, Param, Rule, ValueKind, prose_html};

pub struct SessionMagic;

/// A session this notebook opened.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    pub id: String,
    pub name: String,
}

/// The session jobs go into, and the sessions opened before it (in this workspace).
#[derive(Debug, Default)]
pub(crate) struct Opened {
    pub current: Option<Known>,
    /// Oldest first, at most [`MAX_KNOWN`].
    pub known: Vec<Known>,
}

const MAX_KNOWN: usize = 100;
/// Jobs `show` lists at most.
const MAX_SHOWN: usize = 1000;

impl Opened {
    fn remember(&mut self, s: Known) {
        self.known.retain(|k| k.id != s.id);
        if self.known.len() >= MAX_KNOWN {
            self.known.remove(0);
        }
        self.known.push(s);
    }

    /// Forgets every session (another workspace was connected).
    pub(crate) fn forget(&mut self) {
        *self = Opened::default();
    }
}

/// The longest session name taken (the service's own limit is not published).
const MAX_NAME: usize = 200;

fn check_name(v: &str) -> Result<(), String> {
    if v.chars().count() > MAX_NAME {
        Err(format!(
            "a session's name or id is at most {MAX_NAME} characters; give a shorter one"
        ))
    } else if v.chars().any(char::is_control) {
        Err("a session's name cannot hold control characters".to_owned())
    } else {
        Ok(())
    }
}

static SPEC: MagicSpec = MagicSpec {
    name: "azure.session",
    form: Form::Line,
    summary: "Opens, closes or shows an Azure Quantum session; jobs submitted while one is open \
        belong to it.",
    usage: "%azure.session [open [NAME] [policy=abort|continue] [target=ID] | close [ID] | show [ID]]",
    description: "`open` starts a session on the target (by default the active one): every job \
        `%azure.submit` or `%azure.execute` sends until `close` belongs to it. Under \
        `policy=abort` (the default) a failed job ends the session and later submissions are \
        refused; under `policy=continue` it stays open. `show` (also the bare magic) gives the \
        session's row and its jobs: by default the open session, else the last one opened; an \
        ID may be a session's id or the name it was opened with.",
    params: &[
        Param::word(
            "open",
            "open a session (jobs submitted from now on belong to it)",
        ),
        Param::word(
            "close",
            "close the open session (or session ID); later jobs go outside it",
        ),
        Param::word("show", "show a session and its jobs (the default action)"),
        Param::positional(
            "NAME_OR_ID",
            "after `open`, the new session's name; after `show` or `close`, a session's id or name",
        )
        .of(ValueKind::Custom(check_name)),
        Param::named(
            "policy",
            "what a failed job does: `abort` ends the session (default), `continue` keeps it open",
        )
        .of(ValueKind::OneOf(&["abort", "continue"])),
        Param::named(
            "target",
            "the target the session runs on (default: the one `%azure.target` set)",
        )
        .of(ValueKind::TargetId),
    ],
    rules: &[
        Rule::OneOf {
            names: &["open", "close", "show"],
            why: "a session is opened, closed or shown, one at a time",
        },
        Rule::Requires {
            a: "policy",
            needs: "open",
            why: "`policy` is chosen when a session is opened",
        },
        Rule::Requires {
            a: "target",
            needs: "open",
            why: "`target` is chosen when a session is opened",
        },
    ],
    extra: false,
    examples: &[
        Example {
            code: "%azure.session open calibration policy=continue",
            says: "Opens session `calibration` on the active target; a failed job does not end it.",
        },
        Example {
            code: "%azure.session",
            says: "The open session's row and its jobs.",
        },
        Example {
            code: "%azure.session close",
            says: "Closes the open session; later jobs are submitted outside it.",
        },
    ],
    errors: &[
        "NotConnected",
        "NoTarget",
        "InvalidTarget",
        "NoSession",
        "UnknownSession",
        "SessionAlreadyOpen",
        "InvalidArgument",
        "ConflictingArguments",
        "ServiceError",
        "NetworkError",
    ],
};

#[async_trait]
impl Magic for SessionMagic {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&SPEC, call)?;
        if bound.flag("open") {
            open(ctx, &bound).await
        } else if bound.flag("close") {
            close(ctx, &bound).await
        } else {
            show(ctx, &bound).await
        }
        .map(Some)
    }
}

/// Runs a client call under the cell's interrupt.
macro_rules! call {
    ($ctx:expr, |$ws:ident, $prompt:ident| $body:expr) => {{
        let $ws = $ctx.azure.connected()?.workspace.clone();
        let mut prompt = CellPrompt::new(&mut *$ctx.out);
        let $prompt = &mut prompt;
        tokio::select! {
            r = $body => r,
            () = $ctx.cancel.cancelled() => return Err(MagicError::Interrupted),
        }
    }};
}

fn policy_name(s: &SessionDetails) -> &str {
    s.job_failure_policy
        .as_ref()
        .map_or("Abort", SessionJobFailurePolicy::as_str)
}

fn status_name(s: &SessionDetails) -> &str {
    s.status.as_ref().map_or("-", SessionStatus::as_str)
}

fn ended(s: &SessionDetails) -> bool {
    s.status.as_ref().is_some_and(SessionStatus::is_terminal)
}

fn unknown(wanted: &str, known: &[Known], span: Option<std::ops::Range<usize>>) -> JobError {
    // A misspelt action (`opne`) reads as a session's name: suggest the action too.
    let near = closest(
        wanted,
        known
            .iter()
            .flat_map(|k| [k.id.clone(), k.name.clone()])
            .chain(["open", "close", "show"].map(str::to_owned))
            .collect::<Vec<_>>(),
    );
    let hint = match near {
        Some(n) => format!("did you mean `{n}`?"),
        None if known.is_empty() => "no session has been opened in this notebook; \
            `%azure.session open` opens one"
            .to_owned(),
        None => format!(
            "the sessions opened here are {}",
            known
                .iter()
                .map(|k| format!("`{}` ({})", k.name, k.id))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    JobError::UnknownSession {
        message: format!("there is no session `{wanted}` in this workspace; {hint}"),
        span,
    }
}

/// The session id a `show` or `close` is about: the one named (an id or a name opened here),
/// else the open session, else (for `show`) the last one opened.
fn which(ctx: &Ctx<'_>, bound: &Bound, last: bool) -> Result<Option<String>, JobError> {
    let opened = &ctx.azure.quantum;
    match bound.positional(0) {
        Some((given, span)) => {
            if let Some(k) = opened
                .known
                .iter()
                .rev()
                .find(|k| k.id.eq_ignore_ascii_case(given) || k.name == given)
            {
                return Ok(Some(k.id.clone()));
            }
            match uuid::Uuid::parse_str(given) {
                Ok(u) if given.len() == 36 => Ok(Some(u.hyphenated().to_string())),
                _ => Err(unknown(given, &opened.known, Some(span))),
            }
        }
        None => Ok(opened
            .current
            .as_ref()
            .or(if last { opened.known.last() } else { None })
            .map(|k| k.id.clone())),
    }
}

/// A session error from the client: one that does not exist is `UnknownSession`.
fn session_error(e: ClientError, id: &str, known: &[Known], bound: &Bound) -> MagicError {
    match e {
        ClientError::SessionNotFound { .. } => {
            unknown(id, known, bound.positional(0).map(|(_, s)| s)).into()
        }
        e => super::client_error(e),
    }
}

async fn open(ctx: &mut Ctx<'_>, bound: &Bound) -> Result<Bundle, MagicError> {
    let (target, provider) = super::submission::target(ctx, bound)?;
    if let Some(current) = ctx.azure.quantum.current.clone() {
        let id = current.id.clone();
        let now = call!(ctx, |ws, prompt| ws.get_session(&id, prompt));
        match now {
            Ok(s) if !ended(&s) => {
                return Err(JobError::SessionAlreadyOpen {
                    message: format!(
                        "session `{}` ({}) is still open on {}; close it first with \
                         `%azure.session close`, then open another",
                        current.name, current.id, s.target
                    ),
                }
                .into());
            }
            // Ended (or gone): a new one replaces it.
            Ok(_) | Err(ClientError::SessionNotFound { .. }) => {}
            Err(e) => return Err(super::client_error(e)),
        }
    }
    let policy = match bound.text("policy") {
        Some("continue") => SessionJobFailurePolicy::Continue,
        _ => SessionJobFailurePolicy::Abort,
    };
    let new = NewSession {
        id: NewJob::new_id(),
        name: bound.positional(0).map(|(n, _)| n.to_owned()),
        provider_id: provider,
        target,
        job_failure_policy: policy,
    };
    let opened =
        call!(ctx, |ws, prompt| ws.open_session(&new, prompt)).map_err(super::client_error)?;
    let known = Known {
        id: opened.id.clone(),
        name: opened
            .name
            .clone()
            .unwrap_or_else(|| format!("session-{}", opened.id)),
    };
    ctx.azure.quantum.remember(known.clone());
    ctx.azure.quantum.current = Some(known);
    let note = format!(
        "Session `{}` is open on {} (policy {}): jobs submitted now belong to it; \
         `%azure.session close` ends it.",
        opened.name.as_deref().unwrap_or(&opened.id),
        opened.target,
        policy_name(&opened)
    );
    Ok(session_table(&opened, &[], &note, None))
}

async fn close(ctx: &mut Ctx<'_>, bound: &Bound) -> Result<Bundle, MagicError> {
    let Some(id) = which(ctx, bound, false)? else {
        return Err(JobError::NoSession.into());
    };
    let closed = call!(ctx, |ws, prompt| ws.close_session(&id, prompt));
    let closed = closed.map_err(|e| session_error(e, &id, &ctx.azure.quantum.known, bound))?;
    if ctx
        .azure
        .quantum
        .current
        .as_ref()
        .is_some_and(|c| c.id == closed.id)
    {
        ctx.azure.quantum.current = None;
    }
    let name = closed.name.as_deref().unwrap_or(&closed.id);
    let note = if ended(&closed) {
        format!(
            "Session `{name}` is closed ({}): jobs submitted from now on are outside it.",
            status_name(&closed)
        )
    } else {
        format!(
            "Session `{name}` is closing: the jobs it still runs finish first ({}); jobs \
             submitted from now on are outside it.",
            status_name(&closed)
        )
    };
    Ok(session_table(&closed, &[], &note, None))
}

async fn show(ctx: &mut Ctx<'_>, bound: &Bound) -> Result<Bundle, MagicError> {
    let Some(id) = which(ctx, bound, true)? else {
        return Ok(Bundle::text(
            "No session has been opened in this notebook; `%azure.session open` opens one.",
        ));
    };
    let got = call!(ctx, |ws, prompt| ws.get_session(&id, prompt));
    let session = got.map_err(|e| session_error(e, &id, &ctx.azure.quantum.known, bound))?;
    let filter = JobFilter {
        session_id: Some(session.id.clone()),
        page_size: Some(100),
        ..JobFilter::default()
    };
    let workspace = ctx.azure.connected()?.workspace.clone();
    let mut prompt = CellPrompt::new(&mut *ctx.out);
    let mut pages = workspace.list_jobs(&filter);
    let mut rows = Vec::new();
    let mut failed = None;
    let mut more = false;
    'pages: loop {
        let page = tokio::select! {
            p = pages.next_page(&mut prompt) => p,
            () = ctx.cancel.cancelled() => return Err(MagicError::Interrupted),
        };
        let Some(page) = page else { break };
        for job in page.map_err(super::client_error)? {
            if rows.len() == MAX_SHOWN {
                more = true;
                break 'pages;
            }
            if job.status == JobStatus::Failed && failed.is_none() {
                failed = Some(failure(&job));
            }
            rows.push(JobRow::of(&job));
        }
    }
    drop(prompt);
    let open = ctx
        .azure
        .quantum
        .current
        .as_ref()
        .is_some_and(|c| c.id == session.id);
    let mut note = how_it_stands(&session, failed.as_deref(), open);
    if more {
        note.push_str(&format!(" Showing its first {MAX_SHOWN} jobs."));
    }
    let ws = ctx.azure.connected()?.workspace.workspace.clone();
    Ok(session_table(&session, &rows, &note, Some(&ws)))
}

/// A failed job in a sentence.
fn failure(job: &azq_client::JobDetails) -> String {
    let name = job.name.as_deref().unwrap_or(&job.id);
    match &job.error_data {
        Some(e) => format!(
            "job `{name}` ({}) failed ({}: {})",
            job.id, e.code, e.message
        ),
        None => format!("job `{name}` ({}) failed", job.id),
    }
}

/// Where the session stands and why, in a sentence or two.
fn how_it_stands(s: &SessionDetails, failed: Option<&str>, open: bool) -> String {
    let abort = policy_name(s) != "Continue";
    match s.status.as_ref() {
        Some(SessionStatus::Failed) if abort && failed.is_some() => format!(
            "The session has ended: {}, and under the Abort policy a failed job ends the \
             session. It takes no more jobs; `%azure.session open` opens a new one.",
            failed.unwrap_or_default()
        ),
        Some(SessionStatus::Failed) => {
            "The session has ended (Failed): some of its jobs failed. It takes no more jobs."
                .to_owned()
        }
        Some(SessionStatus::Succeeded) => {
            "The session was closed; it takes no more jobs.".to_owned()
        }
        Some(SessionStatus::TimedOut) => {
            "The session timed out; it takes no more jobs; `%azure.session open` opens a new one."
                .to_owned()
        }
        Some(SessionStatus::Failures) => format!(
            "{} failed; under the Continue policy the session stays open{}.",
            failed.unwrap_or("a job"),
            if open {
                " and jobs submitted now belong to it"
            } else {
                ""
            }
        ),
        _ if open => {
            "The session is open: jobs submitted now belong to it; `%azure.session close` ends it."
                .to_owned()
        }
        _ => "The session is open, but it is not this notebook's open session.".to_owned(),
    }
}

const HEADS: [&str; 6] = [
    "Session Name",
    "Session ID",
    "Status",
    "Policy",
    "Target",
    "Creation Time",
];

/// A service time shortened for a table: `2026-12-03 18:52:14` (UTC), or `-`.
fn when(t: Option<&str>) -> String {
    match t {
        Some(t) if t.len() >= 19 => format!("{} {}", &t[..10], &t[11..19]),
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => "-".to_owned(),
    }
}

/// The session's row, a note, and (for `show`) its jobs.
fn session_table(
    s: &SessionDetails,
    jobs: &[JobRow],
    note: &str,
    ws: Option<&azq_client::WorkspaceRef>,
) -> Bundle {
    let cells = [
        s.name.clone().unwrap_or_else(|| s.id.clone()),
        s.id.clone(),
        status_name(s).to_owned(),
        policy_name(s).to_owned(),
        s.target.clone(),
        when(s.creation_time.as_deref()),
    ];
    let mut plain = super::render::text_table(HEADS, std::slice::from_ref(&cells));
    plain.push('\n');
    plain.push_str(note);
    let mut html = format!(
        "{}<p>{}</p>",
        super::render::html_table("azq-session", HEADS, std::slice::from_ref(&cells)),
        prose_html(note)
    );
    let data = json!({
        "id": s.id,
        "name": s.name,
        "status": status_name(s),
        "policy": policy_name(s),
        "target": s.target,
        "provider": s.provider_id,
        "creation_time": s.creation_time,
        "end_execution_time": s.end_execution_time,
        "note": note,
    });
    let mut bundle_data = vec![("session", data)];
    if let Some(ws) = ws {
        let listed = if jobs.is_empty() {
            None
        } else {
            Some(jobview::jobs_table(ws, jobs, None))
        };
        match &listed {
            Some(t) => {
                plain.push_str("\n\nJobs in this session:\n");
                plain.push_str(t.plain());
                html.push_str("<p>Jobs in this session:</p>");
                html.push_str(t.get("text/html").and_then(Value::as_str).unwrap_or(""));
            }
            None => {
                plain.push_str("\nNo jobs in this session yet.");
                html.push_str("<p>No jobs in this session yet.</p>");
            }
        }
        let rows = listed
            .as_ref()
            .and_then(|t| t.get("application/x-azq.jobs+json").cloned())
            .unwrap_or(Value::Array(Vec::new()));
        bundle_data.push(("jobs", rows));
    }
    let mut bundle = Bundle::text(plain).with_html(html);
    for (kind, value) in bundle_data {
        bundle = bundle.with_data(kind, value);
    }
    bundle
}

/// The open session's id for a job about to be submitted, or `None` outside a session.
/// A session that has ended is `SessionEnded`, saying why, before anything is sent.
pub(crate) async fn for_job(ctx: &mut Ctx<'_>) -> Result<Option<String>, MagicError> {
    let Some(current) = ctx.azure.quantum.current.clone() else {
        return Ok(None);
    };
    let workspace = ctx.azure.connected()?.workspace.clone();
    let mut prompt = CellPrompt::new(&mut *ctx.out);
    let session = tokio::select! {
        r = workspace.get_session(&current.id, &mut prompt) => r,
        () = ctx.cancel.cancelled() => return Err(MagicError::Interrupted),
    };
    let session = match session {
        Ok(s) => s,
        Err(ClientError::SessionNotFound { .. }) => {
            return Err(JobError::SessionEnded {
                message: format!(
                    "session `{}` ({}) no longer exists, so nothing was submitted; \
                     `%azure.session open` opens a new one, or `%azure.session close` \
                     submits outside a session",
                    current.name, current.id
                ),
            }
            .into());
        }
        Err(e) => return Err(super::client_error(e)),
    };
    if !ended(&session) {
        return Ok(Some(session.id));
    }
    let why = match session.status.as_ref() {
        Some(SessionStatus::Failed) if policy_name(&session) != "Continue" => {
            match failed_job(&workspace, &session.id, &mut prompt).await {
                Some(f) => format!(": {f}, and under the Abort policy that ends the session"),
                None => ": a job failed under the Abort policy".to_owned(),
            }
        }
        Some(SessionStatus::TimedOut) => ": it timed out".to_owned(),
        _ => ": it was closed".to_owned(),
    };
    Err(JobError::SessionEnded {
        message: format!(
            "session `{}` ({}) has ended ({}){why}, so nothing was submitted; \
             `%azure.session open` opens a new one, or `%azure.session close` submits outside \
             a session",
            current.name,
            current.id,
            status_name(&session)
        ),
    }
    .into())
}

/// The first failed job of a session, in a sentence (best effort: `None` on any error).
async fn failed_job(ws: &Workspace, session: &str, prompt: &mut CellPrompt<'_>) -> Option<String> {
    let filter = JobFilter {
        session_id: Some(session.to_owned()),
        status: vec![JobStatus::Failed],
        page_size: Some(10),
        ..JobFilter::default()
    };
    let mut pages = ws.list_jobs(&filter);
    let page = pages.next_page(prompt).await?.ok()?;
    page.first().map(failure)
}
