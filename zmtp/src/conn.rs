//! One connection's life: the accept loop, the greeting and READY exchange under a deadline,
//! and the writer that drains a bounded queue onto the socket.

use std::future::Future;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::codec::{self, Command, Frame};
use crate::endpoint::{Listener, Reader, Writer};
use crate::{ConnError, Limits};

/// What a connection's writer sends.
#[derive(Debug)]
pub(crate) enum Out {
    Message(Vec<Bytes>),
    Pong(Bytes),
}

/// The peer, as its READY describes it.
#[derive(Debug)]
pub(crate) struct Peer {
    pub identity: Option<Bytes>,
}

/// A connection whose handshake is done.
pub(crate) struct Conn {
    pub reader: Reader,
    pub writer: Writer,
    pub peer: Peer,
}

/// A socket type and the peer types it talks to.
#[derive(Clone, Copy)]
pub(crate) struct Kind {
    pub name: &'static str,
    pub peers: &'static [&'static str],
}

/// Accepts connections forever, handshakes each on its own task, and hands it to `serve`.
pub(crate) fn spawn_accept<F, Fut>(listener: Listener, kind: Kind, limits: Limits, serve: F)
where
    F: Fn(Conn) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ConnError>> + Send + 'static,
{
    let serve = std::sync::Arc::new(serve);
    tokio::spawn(async move {
        loop {
            let (mut reader, mut writer, label) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors, for one: back off instead of spinning.
                    tracing::warn!("{} accept failed: {e}", kind.name);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let serve = serve.clone();
            let limits = limits.clone();
            tokio::spawn(async move {
                let shake = handshake(&mut reader, &mut writer, kind);
                let result = match tokio::time::timeout(limits.handshake_timeout, shake).await {
                    Err(_) => Err(ConnError::HandshakeTimeout),
                    Ok(Err(e)) => Err(e),
                    Ok(Ok(peer)) => {
                        serve(Conn {
                            reader,
                            writer,
                            peer,
                        })
                        .await
                    }
                };
                log_end(kind.name, &label, result);
            });
        }
    });
}

fn log_end(socket: &str, label: &str, result: Result<(), ConnError>) {
    match result {
        Ok(()) | Err(ConnError::Io(_)) => {}
        Err(e @ (ConnError::FrameTooLarge { .. } | ConnError::MessageTooLarge { .. })) => {
            tracing::warn!("{socket} connection from {label} closed: {e}");
        }
        Err(e) => tracing::debug!("{socket} connection from {label} closed: {e}"),
    }
}

/// Greeting both ways (ours first: libzmq sends the rest of its greeting only after it has
/// seen our signature), then READY both ways.
pub(crate) async fn handshake(
    reader: &mut Reader,
    writer: &mut Writer,
    kind: Kind,
) -> Result<Peer, ConnError> {
    writer.write_all(&codec::greeting()).await?;
    codec::read_greeting(reader).await?;
    writer.write_all(&codec::ready(kind.name)).await?;
    let body = match codec::read_frame(reader, 0).await? {
        Frame::Command(body) => body,
        Frame::Data { .. } => return Err(ConnError::BadFrame("a message before READY")),
    };
    let props = match codec::parse_command(&body)? {
        Command::Ready(props) => props,
        Command::Error(reason) => return Err(ConnError::PeerError(reason)),
        _ => return Err(ConnError::BadFrame("a command other than READY first")),
    };
    let mut socket_type = None;
    let mut identity = None;
    for (name, value) in props {
        if name.eq_ignore_ascii_case("Socket-Type") {
            socket_type = Some(value);
        } else if name.eq_ignore_ascii_case("Identity") {
            identity = Some(value);
        }
    }
    let socket_type = socket_type.unwrap_or_default();
    if !kind.peers.iter().any(|p| p.as_bytes() == socket_type) {
        return Err(ConnError::IncompatiblePeer(
            String::from_utf8_lossy(&socket_type).into_owned(),
        ));
    }
    if identity.as_ref().is_some_and(|i| i.len() > 255) {
        return Err(ConnError::BadFrame("an identity over 255 bytes"));
    }
    Ok(Peer {
        identity: identity.filter(|i| !i.is_empty()),
    })
}

/// Batches this much before writing.
const WRITE_BATCH: usize = 256 * 1024;

/// Appends one item to `buf`; frames too big to copy are written out directly.
pub(crate) async fn put<W: AsyncWrite + Unpin>(
    w: &mut W,
    buf: &mut BytesMut,
    out: Out,
) -> std::io::Result<()> {
    match out {
        Out::Pong(context) => codec::put_command(buf, "PONG", &context),
        Out::Message(frames) => {
            let n = frames.len();
            for (i, f) in frames.into_iter().enumerate() {
                codec::put_frame_header(buf, f.len(), i + 1 == n);
                if f.len() > codec::COPY_LIMIT {
                    w.write_all(buf).await?;
                    buf.clear();
                    w.write_all(&f).await?;
                } else {
                    buf.put_slice(&f);
                }
            }
        }
    }
    Ok(())
}

/// Drains the queue onto the socket, writing what is queued together.
pub(crate) async fn write_loop<W: AsyncWrite + Unpin>(
    w: &mut W,
    rx: &mut mpsc::Receiver<Out>,
) -> Result<(), ConnError> {
    let mut buf = BytesMut::new();
    while let Some(first) = rx.recv().await {
        put(w, &mut buf, first).await?;
        while buf.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(next) => put(w, &mut buf, next).await?,
                Err(_) => break,
            }
        }
        w.write_all(&buf).await?;
        buf.clear();
    }
    Ok(())
}
