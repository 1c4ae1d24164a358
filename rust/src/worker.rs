//! The evaluation side of azq-rust: owns evcxr's context, answers one request at a time, and
//! forwards a cell's output while it runs.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azq_rustcells::protocol::{Candidate, Event, Outcome, Request, StreamName};
use evcxr::{CommandContext, Error};

use crate::outcome::{PanicReport, diagnostics, floor_char_boundary};
use crate::{Events, Interrupter};

/// Which request the output forwarders are working for.
#[derive(Default)]
struct Current {
    /// The execution running now, or the last one (late output from a thread the user
    /// spawned is sent with the id of the cell that last ran; the kernel logs and drops it).
    id: u64,
    running: bool,
    panic: PanicReport,
    /// Lines taken off evcxr's channels and not yet sent.
    in_flight: usize,
}

pub fn run(events: &Events, interrupter: &Interrupter, work: &Receiver<Request>) {
    let (mut ctx, outputs) = match CommandContext::new() {
        Ok(started) => started,
        Err(why) => {
            events.send(&Event::Failed {
                message: format!("{}{}", why.to_string().trim(), toolchain_report()),
            });
            std::process::exit(3);
        }
    };
    // The user's evcxr configuration (~/.config/evcxr: init.evcxr, prelude.rs, deps), as
    // evcxr's own kernel loads it; what it prints goes to stderr, the kernel's log.
    if let Err(why) = ctx.execute(":load_config") {
        eprintln!("azq-rust: the evcxr configuration was not loaded: {why}");
    }
    *interrupter.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(ctx.process_handle());
    events.send(&Event::Ready {
        evcxr: "0.22.0".to_owned(),
    });

    let current = Arc::new(Mutex::new(Current::default()));
    let pending = (outputs.stdout.clone(), outputs.stderr.clone());
    for (lines, name) in [
        (outputs.stdout, StreamName::Stdout),
        (outputs.stderr, StreamName::Stderr),
    ] {
        let (events, current) = (events.clone(), Arc::clone(&current));
        std::thread::spawn(move || {
            for line in lines {
                let (id, text) = {
                    let mut now = current.lock().unwrap_or_else(|e| e.into_inner());
                    let text = if name == StreamName::Stderr && now.running {
                        match now.panic.filter(&line) {
                            Some(text) => text,
                            None => continue,
                        }
                    } else {
                        format!("{line}\n")
                    };
                    now.in_flight += 1;
                    (now.id, text)
                };
                events.send(&Event::Stream { id, name, text });
                current.lock().unwrap_or_else(|e| e.into_inner()).in_flight -= 1;
            }
        });
    }
    // Output is sent before the cell's end: wait until nothing the process wrote is still in
    // its pipes (evcxr's reader threads can be behind it, far behind on a loaded machine),
    // both channels are empty and nothing taken off them is still on its way, at two checks
    // 1 ms apart, for at most 200 ms.
    let settle = |pipes: &[i32]| {
        let deadline = Instant::now() + Duration::from_millis(200);
        let idle = || {
            unread(pipes) == 0
                && pending.0.is_empty()
                && pending.1.is_empty()
                && current.lock().unwrap_or_else(|e| e.into_inner()).in_flight == 0
        };
        let mut quiet_checks = 0;
        while quiet_checks < 2 && Instant::now() < deadline {
            if quiet_checks > 0 || !idle() {
                std::thread::sleep(Duration::from_millis(1));
            }
            quiet_checks = if idle() { quiet_checks + 1 } else { 0 };
        }
    };

    for request in work {
        let event = match request {
            Request::Execute { id, code } => {
                {
                    let mut now = current.lock().unwrap_or_else(|e| e.into_inner());
                    now.id = id;
                    now.running = true;
                    now.panic = PanicReport::default();
                }
                let before: Vec<String> = ctx
                    .variables_and_types()
                    .map(|(name, _)| name.to_owned())
                    .collect();
                interrupter.requested.store(false, Ordering::SeqCst);
                interrupter.running.store(true, Ordering::SeqCst);
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| ctx.execute(&code)));
                interrupter.running.store(false, Ordering::SeqCst);
                // After the run: an interrupt may have replaced the process.
                let child = ctx.process_handle().lock().map(|c| c.id()).ok();
                settle(&child.map(output_pipes).unwrap_or_default());
                let mut panic = {
                    let mut now = current.lock().unwrap_or_else(|e| e.into_inner());
                    now.running = false;
                    std::mem::take(&mut now.panic)
                };
                if let Some(text) = panic.flush() {
                    events.send(&Event::Stream {
                        id,
                        name: StreamName::Stderr,
                        text,
                    });
                }
                let interrupted = interrupter.requested.swap(false, Ordering::SeqCst);
                Event::Executed {
                    id,
                    outcome: outcome(result, panic, interrupted, before),
                }
            }
            Request::Complete { id, code, cursor } => {
                let cursor = floor_char_boundary(&code, cursor);
                let found =
                    std::panic::catch_unwind(AssertUnwindSafe(|| ctx.completions(&code, cursor)));
                match found {
                    Ok(Ok(found)) => Event::Completed {
                        id,
                        matches: found
                            .completions
                            .into_iter()
                            .map(|c| Candidate {
                                text: c.code,
                                kind: c.kind.to_owned(),
                            })
                            .collect(),
                        start: found.start_offset.min(cursor),
                        end: found.end_offset.clamp(cursor, code.len()),
                    },
                    _ => Event::Completed {
                        id,
                        matches: Vec::new(),
                        start: cursor,
                        end: cursor,
                    },
                }
            }
            Request::Inspect { id, code, cursor } => {
                let cursor = floor_char_boundary(&code, cursor);
                let mut data = BTreeMap::new();
                if let Ok(Ok((plain, html))) =
                    std::panic::catch_unwind(AssertUnwindSafe(|| ctx.hover_at(&code, cursor)))
                    && !plain.trim().is_empty()
                    && plain.trim() != "No documentation found"
                {
                    data.insert("text/plain".to_owned(), plain);
                    data.insert("text/html".to_owned(), html);
                } else if let Some((name, ty)) = ctx
                    .variables_and_types()
                    .find(|(name, _)| *name == word_at(&code, cursor))
                {
                    // rust-analyzer knows nothing here (std without rust-src, say); evcxr
                    // still knows the type of a variable from an earlier cell.
                    data.insert("text/plain".to_owned(), format!("{name}: {ty}"));
                    data.insert(
                        "text/html".to_owned(),
                        format!("<code>{}: {}</code>", escape(name), escape(ty)),
                    );
                }
                Event::Inspected { id, data }
            }
            Request::Interrupt | Request::Shutdown => continue,
        };
        events.send(&event);
    }
}

/// What cargo and rustc say when asked their versions, when either fails: evcxr's own error
/// ("No such file or directory") does not say which program, nor why (a rustup without a
/// default toolchain, a HOME without rustup's folders).
fn toolchain_report() -> String {
    let mut report = String::new();
    for program in ["cargo", "rustc"] {
        let problem = match std::process::Command::new(program)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => continue,
            Ok(out) => String::from_utf8_lossy(&out.stderr)
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("it failed")
                .trim()
                .chars()
                .take(300)
                .collect(),
            Err(why) => why.to_string(),
        };
        report.push_str(&format!("; `{program} --version`: {problem}"));
    }
    report
}

/// The identifier around byte `at` of `code`.
fn word_at(code: &str, at: usize) -> &str {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let start = code[..at]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(at, |(i, _)| i);
    let end = code[at..]
        .find(|c: char| !is_word(c))
        .map_or(code.len(), |i| at + i);
    &code[start..end]
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn outcome(
    result: std::thread::Result<Result<evcxr::EvalOutputs, Error>>,
    panic: PanicReport,
    interrupted: bool,
    before: Vec<String>,
) -> Outcome {
    let result = match result {
        Ok(result) => result,
        Err(_) => {
            return Outcome::Failed {
                message: "evcxr failed inside on this cell, and its state may be damaged: \
                          `%rust.reset` starts a fresh context"
                    .to_owned(),
            };
        }
    };
    match result {
        Ok(outputs) => match panic.message() {
            Some(message) => Outcome::Panicked { message },
            None => Outcome::Ok {
                data: outputs.content_by_mime_type.into_iter().collect(),
            },
        },
        Err(Error::CompilationErrors(errors)) => Outcome::CompileErrors {
            errors: diagnostics(&errors),
        },
        Err(Error::SubprocessTerminated(_)) if interrupted => Outcome::Interrupted { lost: before },
        Err(Error::SubprocessTerminated(message)) => Outcome::ProcessDied {
            message: message.trim().to_owned(),
            lost: before,
        },
        Err(Error::TypeRedefinedVariablesLost(names)) => Outcome::Failed {
            message: format!(
                "a type was redefined, so the variables holding the old type were dropped: {}",
                names.join(", ")
            ),
        },
        Err(other) => Outcome::Failed {
            message: other.to_string().trim().to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::word_at;

    #[test]
    fn the_word_under_the_cursor() {
        assert_eq!(word_at("x + total_é", 12), "total_é");
        assert_eq!(word_at("x + total", 6), "total");
        assert_eq!(word_at("a.b", 1), "a");
        assert_eq!(word_at("", 0), "");
    }
}

/// Our read ends of the pipes that evcxr's evaluation process writes its stdout and stderr to
/// (the descriptors of this process that name the same pipes as the child's 1 and 2).
#[cfg(target_os = "linux")]
fn output_pipes(child: u32) -> Vec<i32> {
    let theirs: Vec<std::path::PathBuf> = [1, 2]
        .iter()
        .filter_map(|fd| std::fs::read_link(format!("/proc/{child}/fd/{fd}")).ok())
        .collect();
    let Ok(ours) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    ours.flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| theirs.contains(&t)))
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn output_pipes(_child: u32) -> Vec<i32> {
    Vec::new()
}

/// Bytes waiting in those pipes, not yet read by evcxr.
fn unread(pipes: &[i32]) -> usize {
    pipes
        .iter()
        .map(|&fd| {
            let mut bytes: libc::c_int = 0;
            // SAFETY: FIONREAD stores one int through the pointer, which outlives the call; on
            // a descriptor closed meanwhile the call fails and the pipe counts as empty.
            let ok = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut bytes) } == 0;
            if ok {
                usize::try_from(bytes).unwrap_or(0)
            } else {
                0
            }
        })
        .sum()
}

#[cfg(all(test, target_os = "linux"))]
mod pipe_tests {
    use super::{output_pipes, unread};
    use std::process::{Command, Stdio};

    #[test]
    fn output_left_in_a_childs_pipes_is_counted_until_read() {
        let mut child = Command::new("sh")
            .args(["-c", "echo twelve bytes; echo more >&2; sleep 5"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pipes = output_pipes(child.id());
        assert_eq!(pipes.len(), 2, "{pipes:?}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while unread(&pipes) < 18 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(unread(&pipes), 18);
        let mut out = [0u8; 13];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut out).unwrap();
        assert_eq!(unread(&pipes), 5);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
