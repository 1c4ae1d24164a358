//! The kernel's side of the companion: starts `azq-rust` when first needed, routes its events
//! to the request that asked, logs its stderr, and stops it (with its evaluation process) on
//! reset, on interrupt timeouts and when the kernel goes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use crate::locate::{Missing, Places, locate};
use crate::protocol::{self, Candidate, Event, Request};

/// Why a request could not be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompanionError {
    /// The companion or the toolchain is not there.
    Missing(Missing),
    /// The companion is there and did not start, or stopped: what it said, or how it exited.
    Stopped(String),
}

impl std::fmt::Display for CompanionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompanionError::Missing(missing) => missing.fmt(f),
            CompanionError::Stopped(why) => f.write_str(why),
        }
    }
}

/// A handle on the companion, shared by the cell engine and the completion path. Nothing
/// runs until the first request or `warm_up`.
#[derive(Clone)]
pub struct Companion {
    inner: Arc<Inner>,
}

struct Inner {
    places: Places,
    process: Mutex<Option<Arc<Process>>>,
    next_id: AtomicU64,
}

struct Process {
    stdin: tokio::sync::Mutex<ChildStdin>,
    routes: Mutex<Routes>,
    child: Mutex<Child>,
    /// The process group: the companion and the evaluation process it starts.
    group: Option<i32>,
    /// evcxr's build folder, made here and removed here once the companion has ended: a
    /// killed companion cannot remove it itself.
    build_dir: Option<std::path::PathBuf>,
}

#[derive(Default)]
struct Routes {
    waiting: HashMap<u64, mpsc::UnboundedSender<Event>>,
    /// Set once the companion has said it failed, or its stdout has closed.
    ended: Option<String>,
}

/// The events of one request, in order; `None` once the companion is gone.
pub struct Answer {
    events: mpsc::UnboundedReceiver<Event>,
    process: Arc<Process>,
}

impl Answer {
    pub async fn next(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Why the companion ended, once `next` has returned `None`.
    pub fn why_ended(&self) -> String {
        let routes = self
            .process
            .routes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        routes
            .ended
            .clone()
            .unwrap_or_else(|| "the Rust companion stopped".to_owned())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(process) = self
            .process
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            process.kill();
            process.remove_build_dir();
        }
    }
}

/// A new private folder for evcxr's builds under the system's temporary folder (TMPDIR),
/// created exclusively (0700, a name nobody can guess), or `None` when the user chose one
/// with `EVCXR_TMPDIR` or it cannot be made (evcxr then makes its own).
fn new_build_dir() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    if std::env::var_os("EVCXR_TMPDIR").is_some() {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("azq-rust-{}", uuid::Uuid::new_v4().simple()));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => Some(dir),
        Err(why) => {
            tracing::warn!(
                "no build folder for the Rust companion in {}: {why}",
                dir.display()
            );
            None
        }
    }
}

impl Companion {
    pub fn new(places: Places) -> Companion {
        Companion {
            inner: Arc::new(Inner {
                places,
                process: Mutex::new(None),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// Starts the companion if it is not running, without waiting for it to be ready.
    pub fn warm_up(&self) -> Result<(), CompanionError> {
        self.process().map(|_| ())
    }

    /// Whether a companion process is running (or starting).
    pub fn is_running(&self) -> bool {
        self.current().is_some()
    }

    fn current(&self) -> Option<Arc<Process>> {
        let mut slot = self.inner.process.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|p| p.has_ended()) {
            *slot = None;
        }
        slot.clone()
    }

    fn process(&self) -> Result<Arc<Process>, CompanionError> {
        let mut slot = self.inner.process.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(process) = slot.as_ref().filter(|p| !p.has_ended()) {
            return Ok(Arc::clone(process));
        }
        let process = Process::spawn(&self.inner.places)?;
        *slot = Some(Arc::clone(&process));
        Ok(process)
    }

    /// Sends `request` (built with a fresh id) and returns its events.
    async fn ask(&self, request: impl FnOnce(u64) -> Request) -> Result<Answer, CompanionError> {
        let process = self.process()?;
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut routes = process.routes.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(why) = &routes.ended {
                return Err(CompanionError::Stopped(why.clone()));
            }
            routes.waiting.insert(id, tx);
        }
        let line = protocol::encode(&request(id));
        if line.len() > protocol::MAX_LINE {
            process.forget(id);
            return Err(CompanionError::Stopped(format!(
                "the cell is too large for the Rust companion (over {} MiB)",
                protocol::MAX_LINE >> 20
            )));
        }
        if process.write(&line).await.is_err() {
            process.forget(id);
        }
        Ok(Answer {
            events: rx,
            process,
        })
    }

    pub async fn execute(&self, code: &str) -> Result<Answer, CompanionError> {
        self.ask(|id| Request::Execute {
            id,
            code: code.to_owned(),
        })
        .await
    }

    /// Sends a request and waits for the event `pick` takes from its answer.
    async fn answer<T>(
        &self,
        request: impl FnOnce(u64) -> Request,
        pick: impl Fn(Event) -> Option<T>,
    ) -> Result<T, CompanionError> {
        let mut answer = self.ask(request).await?;
        while let Some(event) = answer.next().await {
            if let Some(found) = pick(event) {
                return Ok(found);
            }
        }
        Err(CompanionError::Stopped(answer.why_ended()))
    }

    /// Completions at byte offset `cursor`: candidates and the byte range they replace.
    pub async fn complete(
        &self,
        code: &str,
        cursor: usize,
    ) -> Result<(Vec<Candidate>, usize, usize), CompanionError> {
        let request = |id| Request::Complete {
            id,
            code: code.to_owned(),
            cursor,
        };
        self.answer(request, |event| match event {
            Event::Completed {
                matches,
                start,
                end,
                ..
            } => Some((matches, start, end)),
            _ => None,
        })
        .await
    }

    /// What rust-analyzer knows about the code at byte offset `cursor` (MIME type to text).
    pub async fn inspect(
        &self,
        code: &str,
        cursor: usize,
    ) -> Result<std::collections::BTreeMap<String, String>, CompanionError> {
        let request = |id| Request::Inspect {
            id,
            code: code.to_owned(),
            cursor,
        };
        self.answer(request, |event| match event {
            Event::Inspected { data, .. } => Some(data),
            _ => None,
        })
        .await
    }

    /// Asks the running cell to stop (its evaluation process is killed).
    pub async fn interrupt(&self) {
        if let Some(process) = self.current() {
            let _ = process.write(&protocol::encode(&Request::Interrupt)).await;
        }
    }

    /// Stops the companion and its evaluation process at once; the next request starts a
    /// fresh one. Waiting requests see their answer end.
    pub fn stop(&self, why: &str) {
        let process = self
            .inner
            .process
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(process) = process {
            process.end(why);
            process.kill();
        }
    }
}

impl Process {
    fn spawn(places: &Places) -> Result<Arc<Process>, CompanionError> {
        let found = locate(places).map_err(CompanionError::Missing)?;
        let build_dir = new_build_dir();
        let mut command = Command::new(&found.companion);
        if let Some(dir) = &build_dir {
            // The companion removes it when the kernel goes (stdin closes); the kernel, when
            // the companion goes.
            command
                .env("EVCXR_TMPDIR", dir)
                .env("AZQ_RUST_OWNS_TMPDIR", "1");
        }
        command
            .env("PATH", &found.path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            // Its own process group: a terminal's Ctrl-C meant for the kernel does not reach
            // it, and stopping the group also stops evcxr's evaluation process.
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|why| {
            if let Some(dir) = &build_dir {
                let _ = std::fs::remove_dir_all(dir);
            }
            CompanionError::Stopped(format!(
                "`{}` could not be started: {why}",
                found.companion.display()
            ))
        })?;
        let group = child.id().and_then(|id| i32::try_from(id).ok());
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let process = Arc::new(Process {
            stdin: tokio::sync::Mutex::new(stdin),
            routes: Mutex::new(Routes::default()),
            child: Mutex::new(child),
            group,
            build_dir,
        });
        tracing::info!(
            "started the Rust companion {} (pid {group:?}, toolchain in {})",
            found.companion.display(),
            found.toolchain.display()
        );
        tokio::spawn(log_lines(stderr));
        tokio::spawn(Arc::clone(&process).route(stdout));
        Ok(process)
    }

    fn has_ended(&self) -> bool {
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ended
            .is_some()
    }

    fn forget(&self, id: u64) {
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .waiting
            .remove(&id);
    }

    async fn write(&self, line: &str) -> std::io::Result<()> {
        let mut stdin = self.stdin.lock().await;
        stdin.write_all(line.as_bytes()).await?;
        stdin.flush().await
    }

    /// Records why it ended (the first reason wins) and ends every waiting answer.
    fn end(&self, why: &str) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        routes.ended.get_or_insert_with(|| why.to_owned());
        routes.waiting.clear();
    }

    fn remove_build_dir(&self) {
        if let Some(dir) = &self.build_dir
            && let Err(why) = std::fs::remove_dir_all(dir)
            && why.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(
                "the Rust build folder {} was not removed: {why}",
                dir.display()
            );
        }
    }

    fn kill(&self) {
        if let Some(group) = self.group {
            // SAFETY: kill(2) with a negative pid signals that process group; the group is
            // the one the companion was started as the leader of.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        let _ = self
            .child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .start_kill();
    }

    /// Reads events until stdout closes, handing each to the request it answers.
    async fn route(self: Arc<Self>, stdout: impl AsyncRead + Unpin) {
        let mut lines = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut lines)
                .take(protocol::MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line)
                .await;
            match read {
                Ok(0) | Err(_) => break,
                Ok(_) if line.len() > protocol::MAX_LINE => {
                    tracing::warn!(
                        "the Rust companion sent a line over {} bytes",
                        protocol::MAX_LINE
                    );
                    break;
                }
                Ok(_) => {}
            }
            let event = match serde_json::from_slice::<Event>(&line) {
                Ok(event) => event,
                Err(why) => {
                    tracing::warn!("the Rust companion sent a line that does not parse: {why}");
                    continue;
                }
            };
            match event {
                Event::Ready { evcxr } => {
                    tracing::info!("the Rust companion is ready (evcxr {evcxr})")
                }
                Event::Failed { message } => {
                    self.end(&format!(
                        "the Rust companion could not start evcxr: {message}"
                    ));
                }
                event => {
                    let id = event.id().unwrap_or_default();
                    let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
                    let done = event.is_final();
                    match routes.waiting.get(&id) {
                        Some(tx) => {
                            let _ = tx.send(event);
                        }
                        None => {
                            tracing::debug!("Rust companion output for a finished request {id}")
                        }
                    }
                    if done {
                        routes.waiting.remove(&id);
                    }
                }
            }
        }
        // Its stdout has closed: it has exited or is about to.
        let mut status = None;
        for _ in 0..50 {
            if let Ok(Some(s)) = self
                .child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_wait()
            {
                status = Some(s);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let why = match status {
            Some(s) => format!("the Rust companion stopped ({s})"),
            None => "the Rust companion closed its output".to_owned(),
        };
        // Its evaluation process may outlive it by a moment (it exits when its stdin closes):
        // stop the group before the folder goes.
        if let Some(group) = self.group {
            // SAFETY: as in `kill`.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        self.remove_build_dir();
        if self.has_ended() {
            // Stopped on purpose (`%rust.reset`, an interrupt that did not stop in time).
            tracing::info!("{why}");
        } else {
            tracing::warn!("{why}");
        }
        self.end(&why);
    }
}

/// The companion's stderr, line by line, into the kernel's log; never into a cell.
async fn log_lines(stderr: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut lines)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if text.is_empty() {
            continue;
        }
        // evcxr's own chatter is information; a panic or error report is worth a warning.
        let lower = text.to_ascii_lowercase();
        if lower.contains("panic") || lower.contains("error") {
            tracing::warn!(target: "azq_rust", "{text}");
        } else {
            tracing::info!(target: "azq_rust", "{text}");
        }
    }
}
