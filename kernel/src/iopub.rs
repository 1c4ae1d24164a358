//! The IOPub task: the one owner of the XPUB socket. It welcomes subscribers (JEP 65),
//! holds messages until the first one subscribes, and batches stream text. A cell's stream
//! text is shown up to [`CELL_STREAM_CAP`], then one note says the rest is not; and a producer
//! that waits on [`Iopub::room`] never has more than [`STREAM_QUEUE_BYTES`] waiting here.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use azq_zmtp::XPub;
use bytes::Bytes;
use jupyter_protocol::{
    ExecutionState, IoPubWelcome, JupyterMessageContent, Status, Stdio, StreamContent,
};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

use crate::wire::{Parent, Signer};

/// Stream text is held at most this long before it is sent.
const STREAM_BATCH: Duration = Duration::from_millis(50);
/// Stream text beyond this many bytes is sent at once.
const STREAM_BATCH_BYTES: usize = 64 * 1024;
/// Messages held for the first subscriber; beyond this the oldest go.
const EARLY_BUFFER: usize = 1024;
/// A cell's stream text (stdout and stderr together) is shown up to this many bytes; the rest
/// is dropped after one note on stderr. At 64 KiB a message this is 512 messages, within what
/// IOPub queues for one subscriber (1000), so a client that reads late still gets all of it.
pub const CELL_STREAM_CAP: usize = 32 * 1024 * 1024;
/// Stream text handed over but not yet taken by the IOPub task; [`Iopub::room`] waits while
/// more than this is queued.
pub const STREAM_QUEUE_BYTES: usize = 1024 * 1024;

enum Event {
    Message {
        parent: Option<Arc<Parent>>,
        content: JupyterMessageContent,
    },
    Stream {
        parent: Arc<Parent>,
        name: Stdio,
        text: String,
    },
    Flush(oneshot::Sender<()>),
}

/// A handle for publishing on IOPub; cheap to clone.
#[derive(Clone)]
pub struct Iopub {
    tx: mpsc::UnboundedSender<Event>,
    queue: Arc<StreamQueue>,
}

/// How much stream text waits in the channel, and a wake-up for producers waiting on it.
#[derive(Default)]
struct StreamQueue {
    bytes: AtomicUsize,
    drained: Notify,
}

impl StreamQueue {
    fn taken(&self, n: usize) {
        self.bytes.fetch_sub(n, Ordering::AcqRel);
        self.drained.notify_waiters();
    }
}

impl Iopub {
    pub fn send(&self, parent: Option<&Arc<Parent>>, content: impl Into<JupyterMessageContent>) {
        let _ = self.tx.send(Event::Message {
            parent: parent.cloned(),
            content: content.into(),
        });
    }

    pub fn status(&self, parent: Option<&Arc<Parent>>, state: ExecutionState) {
        self.send(
            parent,
            Status {
                execution_state: state,
            },
        );
    }

    pub fn stream(&self, parent: &Arc<Parent>, name: Stdio, text: &str) {
        self.queue.bytes.fetch_add(text.len(), Ordering::AcqRel);
        let sent = self.tx.send(Event::Stream {
            parent: parent.clone(),
            name,
            text: text.to_owned(),
        });
        if sent.is_err() {
            self.queue.taken(text.len());
        }
    }

    /// Waits while more than [`STREAM_QUEUE_BYTES`] of stream text waits to be published, so a
    /// fast producer (a script printing in a loop) cannot pile up memory in the kernel.
    pub async fn room(&self) {
        loop {
            let drained = self.queue.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.queue.bytes.load(Ordering::Acquire) <= STREAM_QUEUE_BYTES || self.tx.is_closed()
            {
                return;
            }
            drained.await;
        }
    }

    /// Waits until everything sent before this call has gone out.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Event::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

struct Pending {
    parent: Arc<Parent>,
    name: Stdio,
    text: String,
    due: Instant,
}

struct Publisher {
    socket: XPub,
    signer: Signer,
    early: Option<Vec<Vec<Bytes>>>,
}

impl Publisher {
    async fn publish(&mut self, parent: Option<&Parent>, content: &JupyterMessageContent) {
        let topic = Bytes::from(format!(
            "kernel.{}.{}",
            self.signer.session,
            content.message_type()
        ));
        let message = self.signer.encode(&[topic], parent, content);
        match &mut self.early {
            Some(held) => {
                if held.len() == EARLY_BUFFER {
                    held.remove(0);
                }
                held.push(message);
            }
            None => {
                self.socket.send(message);
            }
        }
    }

    async fn flush_stream(&mut self, pending: &mut Option<Pending>) {
        if let Some(p) = pending.take() {
            let content = JupyterMessageContent::StreamContent(StreamContent {
                name: p.name,
                text: p.text,
            });
            self.publish(Some(&p.parent), &content).await;
        }
    }

    async fn subscribed(&mut self, frame: &[u8]) {
        // XPUB hands us subscriptions as 0x01 + topic (0x00 + topic to unsubscribe).
        let Some((&1, topic)) = frame.split_first() else {
            return;
        };
        let welcome = JupyterMessageContent::IoPubWelcome(IoPubWelcome::new(
            String::from_utf8_lossy(topic).into_owned(),
        ));
        let held = self.early.take();
        self.publish(None, &welcome).await;
        for message in held.into_iter().flatten() {
            self.socket.send(message);
        }
    }
}

/// Starts the IOPub task on a bound socket.
pub fn spawn(socket: XPub, signer: Signer) -> Iopub {
    let (tx, rx) = mpsc::unbounded_channel();
    let queue = Arc::new(StreamQueue::default());
    tokio::spawn(run(
        Publisher {
            socket,
            signer,
            early: Some(Vec::new()),
        },
        rx,
        queue.clone(),
    ));
    Iopub { tx, queue }
}

/// How much of the current cell's stream text has been shown, and whether it was told the rest
/// is not.
struct Shown {
    parent: Arc<Parent>,
    bytes: usize,
    noted: bool,
}

impl Shown {
    /// The part of `text` still to be shown (cut at a character boundary), and whether the note
    /// that the rest is not shown is due now (once a cell).
    fn admit<'t>(slot: &mut Option<Shown>, parent: &Arc<Parent>, text: &'t str) -> (&'t str, bool) {
        let same = slot
            .as_ref()
            .is_some_and(|s| s.parent.header.msg_id == parent.header.msg_id);
        if !same {
            *slot = Some(Shown {
                parent: parent.clone(),
                bytes: 0,
                noted: false,
            });
        }
        let shown = slot.as_mut().expect("set above");
        let room = CELL_STREAM_CAP.saturating_sub(shown.bytes);
        if text.len() <= room {
            shown.bytes += text.len();
            return (text, false);
        }
        let mut keep = room;
        while !text.is_char_boundary(keep) {
            keep -= 1;
        }
        shown.bytes = CELL_STREAM_CAP;
        let note = !shown.noted;
        shown.noted = true;
        (&text[..keep], note)
    }
}

fn truncated_note() -> String {
    format!(
        "\n[azq: output truncated: this cell has shown {} MiB of output; the rest is not shown \
         (the cell keeps running)]\n",
        CELL_STREAM_CAP >> 20
    )
}

async fn run(mut p: Publisher, mut rx: mpsc::UnboundedReceiver<Event>, queue: Arc<StreamQueue>) {
    let mut pending: Option<Pending> = None;
    let mut shown: Option<Shown> = None;
    loop {
        let due = pending.as_ref().map(|p| p.due);
        tokio::select! {
            event = rx.recv() => match event {
                None => break,
                Some(Event::Stream { parent, name, text }) => {
                    queue.taken(text.len());
                    let (text, cut) = Shown::admit(&mut shown, &parent, &text);
                    if text.is_empty() && !cut {
                        continue;
                    }
                    let same = pending.as_ref().is_some_and(|q| {
                        Arc::ptr_eq(&q.parent, &parent) && matches!((&q.name, &name), (Stdio::Stdout, Stdio::Stdout) | (Stdio::Stderr, Stdio::Stderr))
                    });
                    if !same {
                        p.flush_stream(&mut pending).await;
                    }
                    match &mut pending {
                        Some(q) => q.text.push_str(text),
                        None => pending = Some(Pending { parent: parent.clone(), name, text: text.to_owned(), due: Instant::now() + STREAM_BATCH }),
                    }
                    if cut {
                        p.flush_stream(&mut pending).await;
                        let note = JupyterMessageContent::StreamContent(StreamContent {
                            name: Stdio::Stderr,
                            text: truncated_note(),
                        });
                        p.publish(Some(&parent), &note).await;
                    } else if pending.as_ref().is_some_and(|q| q.text.len() >= STREAM_BATCH_BYTES) {
                        p.flush_stream(&mut pending).await;
                    }
                }
                Some(Event::Message { parent, content }) => {
                    p.flush_stream(&mut pending).await;
                    p.publish(parent.as_deref(), &content).await;
                }
                Some(Event::Flush(done)) => {
                    p.flush_stream(&mut pending).await;
                    let _ = done.send(());
                }
            },
            () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                p.flush_stream(&mut pending).await;
            }
            Some(frame) = p.socket.recv() => p.subscribed(&frame).await,
        }
    }
    p.flush_stream(&mut pending).await;
}
