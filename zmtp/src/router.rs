//! ROUTER: messages from every peer arrive prefixed with the peer's identity (from its READY,
//! or generated as libzmq does: a zero byte and a counter); a message sent goes to the peer
//! its first frame names, or is dropped when that peer is gone or its queue is full.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::mpsc;

use crate::codec::{self, Command, Incoming};
use crate::conn::{Conn, Kind, Out, spawn_accept, write_loop};
use crate::endpoint::{Endpoint, Listener};
use crate::{ConnError, Error, Limits, Message};

const KIND: Kind = Kind {
    name: "ROUTER",
    peers: &["DEALER", "REQ", "ROUTER"],
};
/// Messages read ahead of the application per socket; readers wait beyond this (each
/// connection then holds at most the one message it is reading).
const INBOUND: usize = 8;

type Peers = Arc<Mutex<HashMap<Bytes, (u64, mpsc::Sender<Out>)>>>;

/// A bound ROUTER socket.
pub struct Router {
    inbound: mpsc::Receiver<Message>,
    peers: Peers,
}

/// Sends on a [`Router`]; cheap to clone.
#[derive(Clone)]
pub struct RouterSender {
    peers: Peers,
}

/// Why a message was not queued.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the message has no identity frame")]
    NoIdentity,
    #[error("no peer with that identity is connected")]
    UnknownPeer,
    #[error("the peer's queue is full")]
    QueueFull,
}

impl Router {
    /// Binds and starts accepting.
    pub async fn bind(endpoint: &Endpoint, limits: &Limits) -> Result<Router, Error> {
        let listener = Listener::bind(endpoint).await?;
        Ok(Router::start(listener, limits))
    }

    fn start(listener: Listener, limits: &Limits) -> Router {
        let (tx, inbound) = mpsc::channel(INBOUND);
        let peers = Peers::default();
        let next_id = Arc::new(AtomicU64::new(0));
        let (p, l) = (peers.clone(), limits.clone());
        spawn_accept(listener, KIND, limits.clone(), move |conn| {
            serve(conn, tx.clone(), p.clone(), l.clone(), next_id.clone())
        });
        Router { inbound, peers }
    }

    /// The next message, its first frame the sender's identity; `None` never comes while
    /// the socket is bound.
    pub async fn recv(&mut self) -> Option<Message> {
        self.inbound.recv().await
    }

    /// A message already received, if there is one; never waits.
    pub fn try_recv(&mut self) -> Option<Message> {
        self.inbound.try_recv().ok()
    }

    pub fn sender(&self) -> RouterSender {
        RouterSender {
            peers: self.peers.clone(),
        }
    }
}

impl RouterSender {
    /// Queues a message for the peer named by its first frame.
    pub fn send(&self, mut message: Message) -> Result<(), SendError> {
        if message.is_empty() {
            return Err(SendError::NoIdentity);
        }
        let id = message.remove(0);
        let tx = {
            let peers = self.peers.lock().expect("router peers");
            peers.get(&id).map(|(_, tx)| tx.clone())
        };
        let tx = tx.ok_or(SendError::UnknownPeer)?;
        tx.try_send(Out::Message(message)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => SendError::UnknownPeer,
        })
    }
}

async fn serve(
    conn: Conn,
    inbound: mpsc::Sender<Message>,
    peers: Peers,
    limits: Limits,
    next_id: Arc<AtomicU64>,
) -> Result<(), ConnError> {
    let Conn {
        mut reader,
        mut writer,
        peer,
        ..
    } = conn;
    let (out, mut queue) = mpsc::channel(limits.queue.max(1));
    let conn_id = next_id.fetch_add(1, Ordering::Relaxed);
    let identity = {
        let mut map = peers.lock().expect("router peers");
        let identity = match peer.identity {
            // libzmq without ROUTER_HANDOVER keeps the first connection with an identity.
            Some(id) if map.contains_key(&id) => return Err(ConnError::IdentityInUse),
            Some(id) => id,
            None => loop {
                let mut id = BytesMut::with_capacity(5);
                id.put_u8(0);
                id.put_u32(next_id.fetch_add(1, Ordering::Relaxed) as u32);
                let id = id.freeze();
                if !map.contains_key(&id) {
                    break id;
                }
            },
        };
        map.insert(identity.clone(), (conn_id, out.clone()));
        identity
    };
    let read = async {
        loop {
            match codec::read_incoming(&mut reader, limits.max_message).await? {
                Incoming::Message(mut frames) => {
                    frames.insert(0, identity.clone());
                    if inbound.send(frames).await.is_err() {
                        return Ok(());
                    }
                }
                Incoming::Command(Command::Ping(context)) => {
                    let _ = out.try_send(Out::Pong(context));
                }
                Incoming::Command(Command::Error(reason)) => {
                    return Err(ConnError::PeerError(reason));
                }
                Incoming::Command(_) => {}
            }
        }
    };
    let result = tokio::select! {
        r = read => r,
        w = write_loop(&mut writer, &mut queue) => w,
    };
    let mut map = peers.lock().expect("router peers");
    if map.get(&identity).is_some_and(|(id, _)| *id == conn_id) {
        map.remove(&identity);
    }
    result
}

#[cfg(test)]
pub(crate) fn start_for_test(listener: Listener, limits: &Limits) -> Router {
    Router::start(listener, limits)
}
