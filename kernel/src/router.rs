//! A writer task per ROUTER socket, so several tasks can reply on one socket in order.

use tokio::sync::mpsc;
use zeromq::{RouterSendHalf, SocketSend, ZmqMessage};

#[derive(Clone)]
pub struct Replies {
    tx: mpsc::UnboundedSender<ZmqMessage>,
}

impl Replies {
    pub fn send(&self, message: ZmqMessage) {
        let _ = self.tx.send(message);
    }
}

pub fn spawn_writer(mut half: RouterSendHalf, name: &'static str) -> Replies {
    let (tx, mut rx) = mpsc::unbounded_channel::<ZmqMessage>();
    tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if let Err(e) = half.send(message).await {
                tracing::warn!("{name} send failed: {e}");
            }
        }
    });
    Replies { tx }
}
