//! REP that echoes (a Jupyter heartbeat): each request goes back to its sender as it came,
//! envelope and all. Each connection echoes on its own task, so one stalled peer (which stops
//! reading its echoes) holds only its own connection.

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;

use crate::codec::{self, Command, Incoming};
use crate::conn::{Conn, Kind, Out, put, spawn_accept};
use crate::endpoint::{Endpoint, Listener};
use crate::{ConnError, Error, Limits};

const KIND: Kind = Kind {
    name: "REP",
    peers: &["REQ", "DEALER"],
};

/// Binds a REP socket that echoes every request; it serves until the runtime stops.
pub async fn echo(endpoint: &Endpoint, limits: &Limits) -> Result<(), Error> {
    let listener = Listener::bind(endpoint).await?;
    start(listener, limits);
    Ok(())
}

fn start(listener: Listener, limits: &Limits) {
    let l = limits.clone();
    spawn_accept(listener, KIND, limits.clone(), move |conn| {
        serve(conn, l.clone())
    });
}

async fn serve(conn: Conn, limits: Limits) -> Result<(), ConnError> {
    let Conn {
        mut reader,
        mut writer,
        ..
    } = conn;
    let mut buf = BytesMut::new();
    loop {
        let out = match codec::read_incoming(&mut reader, limits.max_message).await? {
            Incoming::Message(frames) => Out::Message(frames),
            Incoming::Command(Command::Ping(context)) => Out::Pong(context),
            Incoming::Command(Command::Error(reason)) => return Err(ConnError::PeerError(reason)),
            Incoming::Command(_) => continue,
        };
        put(&mut writer, &mut buf, out).await?;
        writer.write_all(&buf).await?;
        buf.clear();
    }
}

#[cfg(test)]
pub(crate) fn start_for_test(listener: Listener, limits: &Limits) {
    start(listener, limits)
}
