//! The one background poller that keeps watched jobs' rows up to date after their cells have
//! ended: at most one request a second in all, each job backing off on its own, until the job
//! ends, the watch is stopped, the session connects elsewhere or goes away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use azq_client::{ClientError, JobDetails, JobStatus, NoPrompt, Workspace};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::errors::JobError;
use super::pacing::{FAR, Kind, Schedule, first_pause};
use super::{jobview, outcome};
use crate::bundle::Bundle;
use crate::output::{DisplayId, DisplaySink};

/// At most this many jobs are watched at once.
pub const MAX_WATCHES: usize = 1000;
/// A request that has not answered in this long counts as a failed check.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Results up to this size are shown in the row's display when the job succeeds.
const SMALL_OUTPUT: usize = 64 * 1024;

/// The target's average queue time, as the connection's target list gives it.
pub(crate) fn queue_time(c: &super::session::Connection, target: &str) -> Option<Duration> {
    c.providers
        .iter()
        .flat_map(|p| &p.targets)
        .find(|t| t.id.eq_ignore_ascii_case(target))
        .and_then(|t| t.average_queue_time)
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
}

/// One watched job: where its row is and what was last seen of it.
struct Entry {
    display: DisplayId,
    sink: Arc<dyn DisplaySink>,
    workspace: Workspace,
    started: Instant,
    job: JobDetails,
    /// The job succeeded: the next request fetches its results.
    fetching: bool,
    /// Tells this watch from an earlier one of the same job (a check in flight for a stopped
    /// watch is dropped).
    generation: u64,
}

impl Entry {
    fn show(&self, note: &str, watching: bool, stopped: Option<&str>) -> Bundle {
        shown(self, note, watching, stopped)
    }
}

struct State {
    schedule: Schedule,
    entries: HashMap<String, Entry>,
    generations: u64,
    running: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Notify,
    stop: CancellationToken,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Ends the poller when the last handle (the session) goes.
struct Owner(Arc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.stop.cancel();
    }
}

/// The session's watcher: cheap to clone; the poller task starts with the first watch and
/// ends when the session is dropped.
#[derive(Clone)]
pub struct Watcher {
    owner: Arc<Owner>,
}

impl Default for Watcher {
    fn default() -> Watcher {
        Watcher {
            owner: Arc::new(Owner(Arc::new(Shared {
                state: Mutex::new(State {
                    schedule: Schedule::new(Instant::now()),
                    entries: HashMap::new(),
                    generations: 0,
                    running: false,
                }),
                wake: Notify::new(),
                stop: CancellationToken::new(),
            }))),
        }
    }
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("watching", &self.shared().lock().entries.len())
            .finish()
    }
}

/// A watch as `%azure.watch` lists it.
#[derive(Debug, Clone)]
pub struct Watched {
    pub id: String,
    pub name: String,
    pub target: String,
    pub status: String,
    pub watched_for: Duration,
    /// `None` while a request for it is under way.
    pub next_check: Option<Duration>,
}

impl Watcher {
    fn shared(&self) -> &Arc<Shared> {
        &self.owner.0
    }

    /// Watches `job`, whose row is the display `display` of the cell `sink` updates. A job
    /// watched already moves to this display (the earlier one is told). Must be called on
    /// the runtime (it starts the poller the first time).
    pub fn watch(
        &self,
        workspace: Workspace,
        job: JobDetails,
        display: DisplayId,
        sink: Arc<dyn DisplaySink>,
        queue_time: Option<Duration>,
    ) -> Result<(), JobError> {
        let shared = self.shared();
        let now = Instant::now();
        let mut guard = shared.lock();
        if !guard.entries.contains_key(&job.id) && guard.entries.len() >= MAX_WATCHES {
            return Err(JobError::TooManyWatches {
                message: format!(
                    "{MAX_WATCHES} jobs are watched already; stop some with `%azure.watch off \
                     ID` or `%azure.watch off all` (`%azure.watch` lists them), or follow this \
                     one with `%azure.status {}`",
                    job.id
                ),
            });
        }
        let st = &mut *guard;
        if let Some(old) = st.entries.remove(&job.id) {
            old.sink.update(
                &old.display,
                old.show("Watched from a later cell now.", false, Some("moved")),
            );
        }
        st.generations += 1;
        let kind = Kind::of(&job.target);
        st.schedule
            .add(&job.id, kind, first_pause(kind, queue_time), now);
        let entry = Entry {
            display,
            sink,
            workspace,
            started: now,
            job,
            fetching: false,
            generation: st.generations,
        };
        let id = entry.job.id.clone();
        st.entries.insert(id, entry);
        if !st.running {
            st.running = true;
            tokio::spawn(run(shared.clone()));
        }
        drop(guard);
        shared.wake.notify_one();
        Ok(())
    }

    /// Stops watching `id`; its row says so and why. False when it was not watched.
    pub fn stop(&self, id: &str, why: &str) -> bool {
        let shared = self.shared();
        let stopped = stop_one(&mut shared.lock(), id, why);
        shared.wake.notify_one();
        stopped
    }

    /// Stops every watch whose workspace `keep` refuses; how many stopped.
    pub fn stop_where(&self, keep: impl Fn(&Workspace) -> bool, why: &str) -> usize {
        let shared = self.shared();
        let mut st = shared.lock();
        let ids: Vec<String> = st
            .entries
            .iter()
            .filter(|(_, e)| !keep(&e.workspace))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            stop_one(&mut st, id, why);
        }
        drop(st);
        shared.wake.notify_one();
        ids.len()
    }

    /// The watches, longest watched first.
    pub fn list(&self) -> Vec<Watched> {
        let now = Instant::now();
        let st = self.shared().lock();
        let mut all: Vec<Watched> = st
            .entries
            .iter()
            .map(|(id, e)| Watched {
                id: id.clone(),
                name: e.job.name.clone().unwrap_or_else(|| id.clone()),
                target: e.job.target.clone(),
                status: e.job.status.as_str().to_owned(),
                watched_for: now.duration_since(e.started),
                next_check: st
                    .schedule
                    .due(id)
                    .filter(|due| due.duration_since(now) < FAR / 2)
                    .map(|due| due.duration_since(now)),
            })
            .collect();
        all.sort_by(|a, b| b.watched_for.cmp(&a.watched_for).then(a.id.cmp(&b.id)));
        all
    }
}

fn stop_one(st: &mut State, id: &str, why: &str) -> bool {
    st.schedule.remove(id);
    match st.entries.remove(id) {
        Some(e) => {
            let note = format!("Not watched any more: {why}.");
            e.sink.update(&e.display, e.show(&note, false, Some(why)));
            true
        }
        None => false,
    }
}

/// Whole seconds, or minutes and seconds.
fn span(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// The row of a watched job with a line under it, and what a program reads of the watch.
fn shown(e: &Entry, note: &str, watching: bool, stopped: Option<&str>) -> Bundle {
    let elapsed = Instant::now().duration_since(e.started);
    jobview::job_table(&e.workspace.workspace, &e.job, Some(note)).with_data(
        "watch",
        json!({
            "id": e.job.id,
            "status": e.job.status.as_str(),
            "watching": watching,
            "seconds": elapsed.as_secs(),
            "queuePosition": e.job.queue_position,
            "stopped": stopped,
        }),
    )
}

/// How long ago the service created the job, by its `creationTime` (None when it has none,
/// or when this machine's clock is behind the service's).
fn job_age(job: &JobDetails) -> Option<Duration> {
    let created = chrono::DateTime::parse_from_rfc3339(job.creation_time.as_deref()?).ok()?;
    (chrono::Utc::now() - created.with_timezone(&chrono::Utc))
        .to_std()
        .ok()
}

/// The line under a row while its job runs.
fn running_note(e: &Entry, trouble: Option<&str>) -> String {
    let elapsed = match job_age(&e.job) {
        Some(age) => format!("{} since it was submitted", span(age)),
        None => format!(
            "{} since the watch began",
            span(Instant::now().duration_since(e.started))
        ),
    };
    let queue = match e.job.queue_position {
        Some(q) if q > 0 => format!(", {q} ahead in the queue"),
        _ => String::new(),
    };
    let trouble = trouble
        .map(|t| format!(" The last check failed ({t}); trying again."))
        .unwrap_or_default();
    format!(
        "{} for {elapsed}{queue}; this row updates itself.{trouble} \
         `%azure.watch off {}` stops watching.",
        e.job.status.as_str(),
        e.job.id
    )
}

/// The line under the row of a job that has ended.
fn ended_note(e: &Entry) -> String {
    let after = span(Instant::now().duration_since(e.started));
    let id = &e.job.id;
    match &e.job.status {
        JobStatus::Succeeded => {
            format!("Succeeded ({after} watched). `%azure.output {id}` shows its results.")
        }
        JobStatus::Failed => format!(
            "Failed ({after} watched){}.",
            e.job
                .error_data
                .as_ref()
                .map(|d| format!(": {}: {}", d.code, d.message))
                .unwrap_or_default()
        ),
        other => format!("{} ({after} watched).", other.as_str()),
    }
}

/// Two bundles shown as one: texts and HTML one after the other, both data parts kept.
fn stacked(first: Bundle, second: &Bundle) -> Bundle {
    let html = |b: &Bundle| {
        b.get("text/html")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("<pre>{}</pre>", crate::bundle::escape_html(b.plain())))
    };
    let mut out = Bundle::text(format!("{}\n\n{}", first.plain(), second.plain()))
        .with_html(format!("{}{}", html(&first), html(second)));
    for b in [&first, second] {
        for (mime, value) in b.entries() {
            if let Some(kind) = mime
                .strip_prefix("application/x-azq.")
                .and_then(|k| k.strip_suffix("+json"))
            {
                out = out.with_data(kind, value.clone());
            }
        }
    }
    out
}

/// Errors that need the user at the notebook: the watch cannot go on by itself.
fn needs_sign_in(e: &ClientError) -> bool {
    matches!(
        e.name(),
        "AuthenticationFailed" | "AccessDenied" | "TokenCacheError"
    )
}

type Checked = Result<Result<JobDetails, ClientError>, tokio::time::error::Elapsed>;
type Fetched = Result<Result<(Vec<u8>, Option<String>), ClientError>, tokio::time::error::Elapsed>;

impl State {
    /// The entry a finished request was for, if it is still that watch.
    fn current(&mut self, id: &str, generation: u64) -> Option<&mut Entry> {
        self.entries
            .get_mut(id)
            .filter(|e| e.generation == generation)
    }

    fn end(&mut self, id: &str, bundle: impl FnOnce(&Entry) -> Bundle) {
        self.schedule.remove(id);
        if let Some(e) = self.entries.remove(id) {
            e.sink.update(&e.display, bundle(&e));
        }
    }

    /// What a status check found.
    fn checked(&mut self, id: &str, generation: u64, got: Checked, now: Instant) {
        enum Next {
            Fetch,
            Again(bool, Option<i64>),
            End(Bundle),
        }
        let Some(e) = self.current(id, generation) else {
            return;
        };
        let next = match got {
            Ok(Ok(job)) => {
                let changed =
                    job.status != e.job.status || job.queue_position != e.job.queue_position;
                let queue = job.queue_position;
                e.job = job;
                if e.job.status == JobStatus::Succeeded
                    && e.job
                        .output_data_uri
                        .as_deref()
                        .is_some_and(|u| !u.is_empty())
                {
                    e.fetching = true;
                    e.sink.update(
                        &e.display,
                        e.show("Succeeded; fetching its results…", true, None),
                    );
                    Next::Fetch
                } else if e.job.status.is_terminal() {
                    Next::End(e.show(&ended_note(e), false, Some("ended")))
                } else {
                    e.sink
                        .update(&e.display, e.show(&running_note(e, None), true, None));
                    Next::Again(changed, queue)
                }
            }
            Ok(Err(err)) if err.name() == "JobNotFound" => Next::End(e.show(
                "Not watched any more: the job is no longer in the workspace.",
                false,
                Some("not found"),
            )),
            Ok(Err(err)) if needs_sign_in(&err) => {
                let note = format!(
                    "Not watched any more: signing in is needed ({}); run `%azure.connect` \
                     again, then `%azure.watch {id}`.",
                    err.name()
                );
                Next::End(e.show(&note, false, Some("sign-in needed")))
            }
            other => {
                let why = match other {
                    Ok(Err(err)) => err.name().to_owned(),
                    _ => "no answer".to_owned(),
                };
                e.sink
                    .update(&e.display, e.show(&running_note(e, Some(&why)), true, None));
                Next::Again(false, None)
            }
        };
        match next {
            Next::Fetch => self.schedule.asap(id, now),
            Next::Again(changed, queue) => self.schedule.checked(id, changed, queue, now),
            Next::End(bundle) => self.end(id, |_| bundle),
        }
    }

    /// What the download of a succeeded job's results gave: the final row, with the
    /// histogram itself when the results are small.
    fn fetched(&mut self, id: &str, generation: u64, got: Fetched) {
        if self.current(id, generation).is_none() {
            return;
        }
        self.end(id, |e| {
            let row = e.show(&ended_note(e), false, Some("ended"));
            match got {
                Ok(Ok((bytes, _))) if bytes.len() <= SMALL_OUTPUT => {
                    match outcome::show(&e.job, &bytes) {
                        Ok(h) => stacked(row, &h),
                        Err(_) => row,
                    }
                }
                _ => row,
            }
        });
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The poller: one request at a time, never two within [`super::pacing::PACE`].
async fn run(shared: Arc<Shared>) {
    loop {
        let wake = shared.lock().schedule.wake_at();
        tokio::select! {
            () = shared.stop.cancelled() => return,
            () = shared.wake.notified() => continue,
            () = until(wake) => {}
        }
        let now = Instant::now();
        let work = {
            let mut st = shared.lock();
            let st = &mut *st;
            st.schedule.take(now).and_then(|id| {
                let e = st.entries.get(&id)?;
                let fetch = e.fetching.then(|| e.job.clone());
                Some((id, e.generation, e.workspace.clone(), fetch))
            })
        };
        let Some((id, generation, workspace, fetch)) = work else {
            continue;
        };
        // Never asks anyone to sign in: a watch that needs it stops and says so.
        let mut prompt = NoPrompt;
        match fetch {
            None => {
                let got = tokio::select! {
                    () = shared.stop.cancelled() => return,
                    r = tokio::time::timeout(REQUEST_TIMEOUT, workspace.get_job(&id, &mut prompt)) => r,
                };
                shared.lock().checked(&id, generation, got, Instant::now());
            }
            Some(job) => {
                let got = tokio::select! {
                    () = shared.stop.cancelled() => return,
                    r = tokio::time::timeout(REQUEST_TIMEOUT, workspace.job_output(&job, &mut prompt)) => r,
                };
                shared.lock().fetched(&id, generation, got);
            }
        }
    }
}
