//! `%%bash`: runs the cell body with bash, streaming its output as it comes; an interrupt
//! kills the whole process group.

use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::MagicError;
use crate::args::Bound;
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::output::Stream;
use crate::spec::{Example, MagicSpec};

pub struct Bash;

static SPEC: MagicSpec = MagicSpec {
    name: "bash",
    form: Form::Cell,
    summary: "Runs the cell's body as a bash script.",
    usage: "%%bash",
    description: "Output is shown while the script runs. The script sees the variables set with \
                  %env and starts in the kernel's working directory (%cd). Interrupting the \
                  kernel stops the script and everything it started.",
    params: &[],
    examples: &[
        Example {
            code: "%%bash\naz account show --query tenantId",
            says: "runs the Azure CLI",
        },
        Example {
            code: "%%bash\necho oops >&2",
            says: "writes to stderr",
        },
    ],
    errors: &["CommandNotStarted", "CommandFailed", "Interrupted"],
    rules: &[],
    extra: false,
};

#[async_trait]
impl Magic for Bash {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        Bound::bind(&SPEC, call)?;
        let mut command = tokio::process::Command::new("bash");
        command
            .arg("-c")
            .arg(call.body)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        ctx.vars.apply(&mut command);
        let mut child = command.spawn().map_err(|e| MagicError::CommandNotStarted {
            program: "bash".to_owned(),
            reason: e.to_string(),
        })?;
        let _group = GroupGuard(child.id());
        let mut stdout = Pipe::new(child.stdout.take());
        let mut stderr = Pipe::new(child.stderr.take());
        while !(stdout.done && stderr.done) {
            tokio::select! {
                chunk = stdout.next(), if !stdout.done => if let Some(t) = chunk { ctx.out.stream(Stream::Stdout, &t) },
                chunk = stderr.next(), if !stderr.done => if let Some(t) = chunk { ctx.out.stream(Stream::Stderr, &t) },
            }
            // A script printing without end waits for IOPub instead of filling the kernel's memory.
            ctx.out.room().await;
        }
        let status = child
            .wait()
            .await
            .map_err(|e| MagicError::CommandNotStarted {
                program: "bash".to_owned(),
                reason: e.to_string(),
            })?;
        if status.success() {
            Ok(None)
        } else {
            Err(MagicError::CommandFailed {
                program: "bash".to_owned(),
                status: describe(status),
            })
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// Kills the script's process group when the cell ends or is interrupted, so nothing it
/// started lives on.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals a process group; it has no memory effects.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// One output pipe of the script, read in chunks and decoded as UTF-8 even when a
/// character is split between two reads.
struct Pipe<R> {
    reader: Option<R>,
    pending: Vec<u8>,
    done: bool,
}

impl<R: AsyncRead + Unpin> Pipe<R> {
    fn new(reader: Option<R>) -> Self {
        let done = reader.is_none();
        Pipe {
            reader,
            pending: Vec::new(),
            done,
        }
    }

    async fn next(&mut self) -> Option<String> {
        let reader = self.reader.as_mut()?;
        let mut buf = [0u8; 8192];
        let n = reader.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            self.done = true;
            let rest = String::from_utf8_lossy(&self.pending).into_owned();
            self.pending.clear();
            return (!rest.is_empty()).then_some(rest);
        }
        self.pending.extend_from_slice(&buf[..n]);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        let text = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
        self.pending.drain(..valid);
        (!text.is_empty()).then_some(text)
    }
}
