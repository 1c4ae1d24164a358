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
use super::{jobview, outcome};
use crate::bundle::Bundle;
use crate::output::{DisplayId, DisplaySink};

/// At most this many jobs are watched at once.
pub const MAX_WATCHES: usize = 1000;
/// The least time between two requests of the watcher, whatever they are for.
pub const PACE: Duration = Duration::from_secs(1);
/// A request that has not answered in this long counts as a failed check.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Results up to this size are shown in the row's display when the job succeeds.
const SMALL_OUTPUT: usize = 64 * 1024;
/// "Not before this far ahead": a check in flight is never picked again.
const FAR: Duration = Duration::from_secs(365 * 86_400);

/// How a target's jobs are paced: simulators answer in seconds, QPU queues take minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Simulator,
    Hardware,
}

impl Kind {
    /// Simulators by their ids' conventions (`.sim`, `simulator`, `echo-`); the rest are QPUs.
    pub fn of(target: &str) -> Kind {
        let t = target.to_ascii_lowercase();
        if t.contains(".sim") || t.contains("simulator") || t.contains("echo-") {
            Kind::Simulator
        } else {
            Kind::Hardware
        }
    }

    /// The pause before the first check, and after a change.
    pub fn first(self) -> Duration {
        match self {
            Kind::Simulator => Duration::from_secs(1),
            Kind::Hardware => Duration::from_secs(10),
        }
    }

    /// The longest pause between two checks.
    pub fn longest(self) -> Duration {
        match self {
            Kind::Simulator => Duration::from_secs(30),
            Kind::Hardware => Duration::from_secs(300),
        }
    }
}

/// The pause before the first check: the kind's, or a tenth of the target's average queue
/// time when the workspace says it (within the kind's bounds).
pub fn first_pause(kind: Kind, queue_time: Option<Duration>) -> Duration {
    queue_time
        .map(|q| q / 10)
        .unwrap_or_default()
        .clamp(kind.first(), kind.longest())
}

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

/// The pause after a check: back to the first when something changed, else half as long
/// again, up to the kind's longest; a job with `queue` jobs ahead waits at least that many
/// first pauses (up to the longest).
pub fn next_pause(kind: Kind, pause: Duration, changed: bool, queue: Option<i64>) -> Duration {
    let mut next = if changed {
        kind.first()
    } else {
        (pause * 3 / 2).clamp(kind.first(), kind.longest())
    };
    if let Some(ahead) = queue.filter(|q| *q > 0) {
        let ahead = u32::try_from(ahead.min(10_000)).unwrap_or(10_000);
        next = next.max(kind.first().saturating_mul(ahead).min(kind.longest()));
    }
    next
}

#[derive(Debug)]
struct Slot {
    due: Instant,
    pause: Duration,
    kind: Kind,
}

/// When each watched job is next checked, and the one gate all checks pass through.
#[derive(Debug)]
pub struct Schedule {
    slots: HashMap<String, Slot>,
    /// No request starts before this.
    gate: Instant,
}

impl Schedule {
    pub fn new(now: Instant) -> Schedule {
        Schedule {
            slots: HashMap::new(),
            gate: now,
        }
    }

    /// Plans the first check of `id` one pause (`first`) from `now`.
    pub fn add(&mut self, id: &str, kind: Kind, first: Duration, now: Instant) {
        let pause = first;
        self.slots.insert(
            id.to_owned(),
            Slot {
                due: now + pause,
                pause,
                kind,
            },
        );
    }

    pub fn remove(&mut self, id: &str) {
        self.slots.remove(id);
    }

    /// When `id` is next checked (far ahead while a check is in flight).
    pub fn due(&self, id: &str) -> Option<Instant> {
        self.slots.get(id).map(|s| s.due)
    }

    /// When the poller has something to do: the earliest check, not before the gate.
    pub fn wake_at(&self) -> Option<Instant> {
        self.slots
            .values()
            .map(|s| s.due)
            .min()
            .map(|due| due.max(self.gate))
    }

    /// The most overdue check, if one is due and the gate is open; the gate then closes for
    /// [`PACE`] and the job is not picked again until [`Schedule::checked`] or
    /// [`Schedule::asap`].
    pub fn take(&mut self, now: Instant) -> Option<String> {
        if now < self.gate {
            return None;
        }
        let (id, slot) = self
            .slots
            .iter_mut()
            .filter(|(_, s)| s.due <= now)
            .min_by(|a, b| a.1.due.cmp(&b.1.due).then_with(|| a.0.cmp(b.0)))?;
        slot.due = now + FAR;
        self.gate = now + PACE;
        Some(id.clone())
    }

    /// After a check of `id`: the next one after its new pause.
    pub fn checked(&mut self, id: &str, changed: bool, queue: Option<i64>, now: Instant) {
        if let Some(slot) = self.slots.get_mut(id) {
            slot.pause = next_pause(slot.kind, slot.pause, changed, queue);
            slot.due = now + slot.pause;
        }
    }

    /// The next request for `id` (its results) goes as soon as the gate allows.
    pub fn asap(&mut self, id: &str, now: Instant) {
        if let Some(slot) = self.slots.get_mut(id) {
            slot.due = now;
        }
    }
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

/// The line under a row while its job runs.
fn running_note(e: &Entry, trouble: Option<&str>) -> String {
    let elapsed = Instant::now().duration_since(e.started);
    let queue = match e.job.queue_position {
        Some(q) if q > 0 => format!(", {q} ahead in the queue"),
        _ => String::new(),
    };
    let trouble = trouble
        .map(|t| format!(" The last check failed ({t}); trying again."))
        .unwrap_or_default();
    format!(
        "{} for {} since the watch began{queue}; this row updates itself.{trouble} \
         `%azure.watch off {}` stops watching.",
        e.job.status.as_str(),
        span(elapsed),
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

/// The poller: one request at a time, never two within [`PACE`].
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_paced_by_kind() {
        for sim in [
            "ionq.simulator",
            "quantinuum.sim.h2-1e",
            "rigetti.sim.qvm",
            "microsoft.echo-output",
        ] {
            assert_eq!(Kind::of(sim), Kind::Simulator, "{sim}");
        }
        for qpu in [
            "ionq.qpu.aria-1",
            "quantinuum.qpu.h2-1",
            "rigetti.qpu.ankaa-3",
        ] {
            assert_eq!(Kind::of(qpu), Kind::Hardware, "{qpu}");
        }
    }

    #[test]
    fn pauses_grow_by_half_reset_on_change_and_respect_the_queue() {
        let s = Kind::Simulator;
        let mut p = s.first();
        let mut seen = vec![p];
        for _ in 0..12 {
            p = next_pause(s, p, false, None);
            seen.push(p);
        }
        assert_eq!(seen[1], Duration::from_millis(1500));
        assert_eq!(seen[2], Duration::from_millis(2250));
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(*seen.last().unwrap(), Duration::from_secs(30));
        // A change brings the first pause back.
        assert_eq!(next_pause(s, p, true, None), Duration::from_secs(1));
        // A QPU starts at 10 s and never waits more than five minutes.
        let h = Kind::Hardware;
        assert_eq!(
            next_pause(h, h.first(), true, None),
            Duration::from_secs(10)
        );
        assert_eq!(
            next_pause(h, Duration::from_secs(290), false, None),
            Duration::from_secs(300)
        );
        // Seven jobs ahead: at least seven first pauses; a huge queue is capped.
        assert_eq!(
            next_pause(h, h.first(), true, Some(7)),
            Duration::from_secs(70)
        );
        assert_eq!(
            next_pause(h, h.first(), true, Some(i64::MAX)),
            Duration::from_secs(300)
        );
        assert_eq!(next_pause(s, s.first(), true, Some(-3)), s.first());
        // A QPU whose queue takes an hour on average is first checked after six minutes'
        // worth, capped at five; one with no queue time at ten seconds.
        let hour = Some(Duration::from_secs(3600));
        assert_eq!(first_pause(h, hour), Duration::from_secs(300));
        assert_eq!(
            first_pause(h, Some(Duration::from_secs(1200))),
            Duration::from_secs(120)
        );
        assert_eq!(first_pause(h, None), Duration::from_secs(10));
        assert_eq!(first_pause(s, Some(Duration::ZERO)), Duration::from_secs(1));
    }

    /// Runs the schedule as the poller does for `run_for`, every check answering at once
    /// with "no change"; returns the times requests started.
    async fn drive(schedule: &mut Schedule, run_for: Duration) -> Vec<Instant> {
        let start = Instant::now();
        let mut starts = Vec::new();
        while let Some(at) = schedule.wake_at() {
            if at > start + run_for {
                break;
            }
            tokio::time::sleep_until(at).await;
            let now = Instant::now();
            if let Some(id) = schedule.take(now) {
                starts.push(now);
                schedule.checked(&id, false, None, now);
            }
        }
        starts
    }

    #[tokio::test(start_paused = true)]
    async fn fifty_jobs_share_one_request_a_second() {
        let now = Instant::now();
        let mut schedule = Schedule::new(now);
        for i in 0..50 {
            schedule.add(
                &format!("job-{i:02}"),
                Kind::Simulator,
                Kind::Simulator.first(),
                now,
            );
        }
        let starts = drive(&mut schedule, Duration::from_secs(120)).await;
        // Never two requests within a second, so any window of T seconds holds at most T + 1.
        assert!(starts.windows(2).all(|w| w[1] - w[0] >= PACE));
        for (i, a) in starts.iter().enumerate() {
            let in_10s = starts[i..]
                .iter()
                .take_while(|b| **b - *a <= Duration::from_secs(10))
                .count();
            assert!(in_10s <= 11, "{in_10s} requests in 10 s");
        }
        // The gate is used, not wasted: about one a second over two minutes.
        assert!(starts.len() >= 115, "{}", starts.len());
    }

    #[tokio::test(start_paused = true)]
    async fn every_job_gets_its_turn_most_overdue_first() {
        let now = Instant::now();
        let mut schedule = Schedule::new(now);
        for i in 0..5 {
            schedule.add(
                &format!("job-{i}"),
                Kind::Simulator,
                Kind::Simulator.first(),
                now,
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut order = Vec::new();
        for _ in 0..5 {
            let at = schedule.wake_at().unwrap();
            tokio::time::sleep_until(at).await;
            let id = schedule.take(Instant::now()).unwrap();
            // Not taken again while its request is under way.
            assert!(schedule.due(&id).unwrap() > Instant::now() + Duration::from_secs(3600));
            order.push(id);
        }
        assert_eq!(order, ["job-0", "job-1", "job-2", "job-3", "job-4"]);
        // Nothing is due now: every check is in flight.
        assert_eq!(schedule.take(Instant::now() + PACE), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_job_backs_off_and_a_fetch_goes_at_the_next_free_second() {
        let now = Instant::now();
        let mut schedule = Schedule::new(now);
        schedule.add("qpu", Kind::Hardware, Kind::Hardware.first(), now);
        assert_eq!(schedule.take(now), None, "not due before its first pause");
        let starts = drive(&mut schedule, Duration::from_secs(1200)).await;
        let gaps: Vec<u64> = starts.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
        assert_eq!(starts[0] - now, Duration::from_secs(10));
        assert_eq!(&gaps[..4], [15, 22, 33, 50]);
        assert!(gaps.iter().all(|g| *g <= 300));
        assert_eq!(*gaps.last().unwrap(), 300);
        // The results are asked for as soon as the gate allows, not after a pause.
        let t = Instant::now();
        let id = schedule.take(t + Duration::from_secs(400)).unwrap();
        schedule.asap(&id, t + Duration::from_secs(400));
        assert_eq!(schedule.take(t + Duration::from_secs(400)), None, "gate");
        assert_eq!(
            schedule.take(t + Duration::from_secs(401)).as_deref(),
            Some("qpu")
        );
        schedule.remove("qpu");
        assert_eq!(schedule.wake_at(), None);
    }
}
