//! azq-rust: the companion that runs azq's Rust cells. It reads requests from stdin and writes
//! events to stdout, one JSON object per line (`azq_rustcells::protocol`), and evaluates code
//! with evcxr. Anything else that writes to fd 1 (evcxr, cargo) is sent to stderr, which the
//! kernel keeps in its log, so the protocol stream stays clean.

mod outcome;
mod worker;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use azq_rustcells::protocol::{self, Event, Request};

/// Where events go: the original stdout, shared by the worker and the output forwarders.
#[derive(Clone)]
pub struct Events(Arc<Mutex<File>>);

impl Events {
    pub fn send(&self, event: &Event) {
        let line = protocol::encode(event);
        let mut out = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // The kernel gone means nothing is left to do; the reader sees stdin close and exits.
        let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    }
}

/// The running evaluation's process, so that an interrupt can kill it from the reader thread.
#[derive(Clone, Default)]
pub struct Interrupter {
    child: Arc<Mutex<Option<Arc<Mutex<std::process::Child>>>>>,
    running: Arc<AtomicBool>,
    requested: Arc<AtomicBool>,
}

impl Interrupter {
    fn interrupt(&self) {
        if !self.running.load(Ordering::SeqCst) {
            return;
        }
        self.requested.store(true, Ordering::SeqCst);
        self.kill();
    }

    /// Kills the evaluation process. A handle evcxr holds is one it is already waiting on,
    /// for a process that has ended: nothing to kill then.
    fn kill(&self) {
        let Ok(slot) = self.child.try_lock() else {
            return;
        };
        if let Some(child) = slot.as_ref()
            && let Ok(mut child) = child.try_lock()
        {
            let _ = child.kill();
        }
    }
}

fn main() {
    // evcxr runs this same program as its evaluation process and as a rustc wrapper; the hook
    // takes over in those roles and must come before anything else.
    evcxr::runtime_hook();
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("azq-rust {} (evcxr 0.22)", env!("CARGO_PKG_VERSION"));
        return;
    }
    let events = Events(Arc::new(Mutex::new(protocol_stdout())));
    let interrupter = Interrupter::default();
    let (requests, work) = mpsc::channel::<Request>();
    {
        let interrupter = interrupter.clone();
        std::thread::spawn(move || read_requests(requests, &interrupter));
    }
    worker::run(&events, &interrupter, &work);
}

/// Moves the protocol to a private copy of fd 1 and points fd 1 at stderr.
fn protocol_stdout() -> File {
    // SAFETY: dup and dup2 on the process's own standard descriptors, before any other thread
    // of ours writes to them; the new descriptor is owned by the returned File alone.
    unsafe {
        let copy = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
        if copy < 0 {
            eprintln!("azq-rust: cannot duplicate stdout");
            std::process::exit(70);
        }
        libc::dup2(2, 1);
        File::from_raw_fd(copy)
    }
}

/// Reads stdin until it closes. Interrupts act at once; everything else queues for the worker.
fn read_requests(work: mpsc::Sender<Request>, interrupter: &Interrupter) {
    let mut input = BufReader::new(std::io::stdin().lock());
    let mut line = Vec::new();
    loop {
        line.clear();
        let limit = (protocol::MAX_LINE + 1) as u64;
        match input.by_ref().take(limit).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line.len() > protocol::MAX_LINE => {
                eprintln!(
                    "azq-rust: a request over {} bytes; stopping",
                    protocol::MAX_LINE
                );
                break;
            }
            Ok(_) => {}
        }
        match serde_json::from_slice::<Request>(&line) {
            Ok(Request::Interrupt) => interrupter.interrupt(),
            Ok(Request::Shutdown) => break,
            Ok(request) => {
                if work.send(request).is_err() {
                    break;
                }
            }
            Err(why) => eprintln!("azq-rust: ignoring a request that does not parse: {why}"),
        }
    }
    // The kernel is gone or asked us to go: stop the evaluation process with us, and remove
    // the build folder the kernel made for us (it cannot, if it was killed).
    interrupter.kill();
    if std::env::var_os("AZQ_RUST_OWNS_TMPDIR").is_some()
        && let Some(dir) = std::env::var_os("EVCXR_TMPDIR")
    {
        // The evaluation process may hold files open for a moment after its kill.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let _ = std::fs::remove_dir_all(dir);
    }
    std::process::exit(0);
}
