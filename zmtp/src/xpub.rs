//! XPUB: many subscribers, each with its own topic prefixes and a bounded queue (a message
//! for a full queue is dropped for that subscriber, as libzmq's PUB does). Every subscribe
//! and cancel, whether a ZMTP 3.1 command or a 3.0 message (0x01/0x00 + topic), is recorded
//! first and then handed to the application as 0x01/0x00 + topic (libzmq's XPUB_VERBOSE).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::mpsc;

use crate::codec::{self, Command, Incoming};
use crate::conn::{Conn, Kind, Out, spawn_accept, write_loop};
use crate::endpoint::{Endpoint, Listener};
use crate::{ConnError, Error, Limits, Message};

const KIND: Kind = Kind {
    name: "XPUB",
    peers: &["SUB", "XSUB"],
};
/// Subscription events read ahead of the application.
const EVENTS: usize = 64;
/// The most a subscriber's topics may hold (each charged 32 bytes beyond its length).
const MAX_SUBSCRIPTIONS: usize = 64 * 1024;

struct Subscriber {
    id: u64,
    topics: Vec<Bytes>,
    bytes: usize,
    tx: mpsc::Sender<Out>,
}

type Subscribers = Arc<Mutex<Vec<Subscriber>>>;

/// A bound XPUB socket.
pub struct XPub {
    events: mpsc::Receiver<Bytes>,
    subscribers: Subscribers,
}

impl XPub {
    /// Binds and starts accepting.
    pub async fn bind(endpoint: &Endpoint, limits: &Limits) -> Result<XPub, Error> {
        let listener = Listener::bind(endpoint).await?;
        Ok(XPub::start(listener, limits))
    }

    fn start(listener: Listener, limits: &Limits) -> XPub {
        let (tx, events) = mpsc::channel(EVENTS);
        let subscribers = Subscribers::default();
        let next_id = Arc::new(AtomicU64::new(0));
        let (s, l) = (subscribers.clone(), limits.clone());
        spawn_accept(listener, KIND, limits.clone(), move |conn| {
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            serve(conn, id, tx.clone(), s.clone(), l.clone())
        });
        XPub {
            events,
            subscribers,
        }
    }

    /// The next subscription event: 0x01 + topic (subscribe) or 0x00 + topic (cancel).
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.events.recv().await
    }

    /// Queues a message for every subscriber whose topic prefixes its first frame; returns
    /// how many it was queued for.
    pub fn send(&self, message: Message) -> usize {
        let first = message.first().cloned().unwrap_or_default();
        let subscribers = self.subscribers.lock().expect("xpub subscribers");
        let mut sent = 0;
        for s in subscribers.iter() {
            if s.topics.iter().any(|t| first.starts_with(t)) {
                match s.tx.try_send(Out::Message(message.clone())) {
                    Ok(()) => sent += 1,
                    Err(_) => tracing::debug!("XPUB subscriber {} is slow: message dropped", s.id),
                }
            }
        }
        sent
    }
}

fn event(flag: u8, topic: &[u8]) -> Bytes {
    let mut e = BytesMut::with_capacity(1 + topic.len());
    e.put_u8(flag);
    e.put_slice(topic);
    e.freeze()
}

/// Records a subscribe (`true`) or cancel for subscriber `id`.
fn record(subscribers: &Subscribers, id: u64, on: bool, topic: &Bytes) -> Result<(), ConnError> {
    let mut all = subscribers.lock().expect("xpub subscribers");
    let Some(s) = all.iter_mut().find(|s| s.id == id) else {
        return Ok(());
    };
    if on {
        s.bytes += topic.len() + codec::FRAME_OVERHEAD;
        if s.bytes > MAX_SUBSCRIPTIONS {
            return Err(ConnError::TooManySubscriptions {
                limit: MAX_SUBSCRIPTIONS,
            });
        }
        s.topics.push(topic.clone());
    } else if let Some(i) = s.topics.iter().position(|t| t == topic) {
        s.topics.swap_remove(i);
        s.bytes -= topic.len() + codec::FRAME_OVERHEAD;
    }
    Ok(())
}

async fn serve(
    conn: Conn,
    id: u64,
    events: mpsc::Sender<Bytes>,
    subscribers: Subscribers,
    limits: Limits,
) -> Result<(), ConnError> {
    let Conn {
        mut reader,
        mut writer,
        ..
    } = conn;
    let (out, mut queue) = mpsc::channel(limits.queue.max(1));
    subscribers
        .lock()
        .expect("xpub subscribers")
        .push(Subscriber {
            id,
            topics: Vec::new(),
            bytes: 0,
            tx: out.clone(),
        });
    let read = async {
        loop {
            let (on, topic) = match codec::read_incoming(&mut reader, limits.max_message).await? {
                Incoming::Command(Command::Subscribe(topic)) => (true, topic),
                Incoming::Command(Command::Cancel(topic)) => (false, topic),
                Incoming::Command(Command::Ping(context)) => {
                    let _ = out.try_send(Out::Pong(context));
                    continue;
                }
                Incoming::Command(Command::Error(reason)) => {
                    return Err(ConnError::PeerError(reason));
                }
                Incoming::Command(_) => continue,
                Incoming::Message(frames) => match frames[0].first() {
                    Some(&flag @ (0 | 1)) => (flag == 1, frames[0].slice(1..)),
                    _ => continue,
                },
            };
            record(&subscribers, id, on, &topic)?;
            if events.send(event(u8::from(on), &topic)).await.is_err() {
                return Ok(());
            }
        }
    };
    let result = tokio::select! {
        r = read => r,
        w = write_loop(&mut writer, &mut queue) => w,
    };
    subscribers
        .lock()
        .expect("xpub subscribers")
        .retain(|s| s.id != id);
    result
}

#[cfg(test)]
pub(crate) fn start_for_test(listener: Listener, limits: &Limits) -> XPub {
    XPub::start(listener, limits)
}
