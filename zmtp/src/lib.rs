//! Server-side ZMTP 3.x sockets on tokio with bounded frames: ROUTER, XPUB and an echoing
//! REP, NULL security, bound on tcp or ipc, for libzmq peers (ZMTP 3.0 and 3.1).
//!
//! Written here because the one pure-Rust ZeroMQ crate (zeromq 0.7) allocates whatever
//! length a peer declares before the handshake, and libzmq through the `zmq` crate would need
//! a C build and a thread bridge to tokio. Only what a Jupyter kernel binds is implemented.
//!
//! Every length a peer sends is checked before anything is allocated: a frame or message over
//! [`Limits::max_message`], a command over 64 KiB, or a greeting that is not ZMTP 3 with the
//! NULL mechanism closes that one connection. A handshake must finish within
//! [`Limits::handshake_timeout`]. Outbound queues hold at most [`Limits::queue`] messages per
//! connection; beyond that ROUTER and XPUB drop, as libzmq does at its high-water mark.

mod codec;
mod conn;
mod endpoint;
mod rep;
mod router;
#[cfg(test)]
mod tests;
mod xpub;

use std::time::Duration;

pub use endpoint::Endpoint;
pub use rep::echo;
pub use router::{Router, RouterSender, SendError};
pub use xpub::XPub;

/// A multipart message: its frames in order.
pub type Message = Vec<bytes::Bytes>;

/// What a peer may make a socket hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest message accepted: each frame, and the sum of a message's frames (each
    /// charged 32 bytes beyond its length).
    pub max_message: usize,
    /// How long a new connection has to complete its greeting and READY.
    pub handshake_timeout: Duration,
    /// Messages queued per connection for sending; more are dropped.
    pub queue: usize,
}

/// The default message limit: 64 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 64 << 20;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message: DEFAULT_MAX_MESSAGE,
            handshake_timeout: Duration::from_secs(10),
            queue: 1000,
        }
    }
}

/// Why a socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0:?} is not a ZeroMQ endpoint; use tcp://HOST:PORT or ipc://PATH")]
    BadEndpoint(String),
    #[error("cannot bind {endpoint}: {source}")]
    Bind {
        endpoint: String,
        source: std::io::Error,
    },
}

/// Why one connection was closed (logged, never returned to the application).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConnError {
    #[error("{0}")]
    Io(std::io::ErrorKind),
    #[error("bad greeting: {0}")]
    BadGreeting(&'static str),
    #[error("bad frame: {0}")]
    BadFrame(&'static str),
    #[error("a frame of {declared} bytes is over the limit of {limit} bytes")]
    FrameTooLarge { declared: u64, limit: usize },
    #[error("a message of {total} bytes or more is over the limit of {limit} bytes")]
    MessageTooLarge { total: u64, limit: usize },
    #[error("the peer's socket type {0:?} cannot talk to this socket")]
    IncompatiblePeer(String),
    #[error("the peer's identity is already connected")]
    IdentityInUse,
    #[error("the handshake did not finish in time")]
    HandshakeTimeout,
    #[error("the peer sent ERROR: {0}")]
    PeerError(String),
    #[error("the peer's subscriptions are over {limit} bytes")]
    TooManySubscriptions { limit: usize },
}

impl From<std::io::Error> for ConnError {
    fn from(e: std::io::Error) -> ConnError {
        ConnError::Io(e.kind())
    }
}
