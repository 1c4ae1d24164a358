//! The IOPub task: the one owner of the XPUB socket. It welcomes subscribers (JEP 65),
//! holds messages until the first one subscribes, and batches stream text.

use std::sync::Arc;
use std::time::Duration;

use azq_zmtp::XPub;
use bytes::Bytes;
use jupyter_protocol::{
    ExecutionState, IoPubWelcome, JupyterMessageContent, Status, Stdio, StreamContent,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::wire::{Parent, Signer};

/// Stream text is held at most this long before it is sent.
const STREAM_BATCH: Duration = Duration::from_millis(50);
/// Stream text beyond this many bytes is sent at once.
const STREAM_BATCH_BYTES: usize = 64 * 1024;
/// Messages held for the first subscriber; beyond this the oldest go.
const EARLY_BUFFER: usize = 1024;

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
        let _ = self.tx.send(Event::Stream {
            parent: parent.clone(),
            name,
            text: text.to_owned(),
        });
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
    tokio::spawn(run(
        Publisher {
            socket,
            signer,
            early: Some(Vec::new()),
        },
        rx,
    ));
    Iopub { tx }
}

async fn run(mut p: Publisher, mut rx: mpsc::UnboundedReceiver<Event>) {
    let mut pending: Option<Pending> = None;
    loop {
        let due = pending.as_ref().map(|p| p.due);
        tokio::select! {
            event = rx.recv() => match event {
                None => break,
                Some(Event::Stream { parent, name, text }) => {
                    let same = pending.as_ref().is_some_and(|q| {
                        Arc::ptr_eq(&q.parent, &parent) && matches!((&q.name, &name), (Stdio::Stdout, Stdio::Stdout) | (Stdio::Stderr, Stdio::Stderr))
                    });
                    if !same {
                        p.flush_stream(&mut pending).await;
                    }
                    match &mut pending {
                        Some(q) => q.text.push_str(&text),
                        None => pending = Some(Pending { parent, name, text, due: Instant::now() + STREAM_BATCH }),
                    }
                    if pending.as_ref().is_some_and(|q| q.text.len() >= STREAM_BATCH_BYTES) {
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
