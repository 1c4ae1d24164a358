//! Replies on a ROUTER socket from any task; each peer's replies keep their order (one
//! bounded queue per peer in `azq_zmtp`).

use bytes::Bytes;

#[derive(Clone)]
pub struct Replies {
    sender: azq_zmtp::RouterSender,
    name: &'static str,
}

impl Replies {
    pub fn send(&self, message: Vec<Bytes>) {
        if let Err(e) = self.sender.send(message) {
            tracing::warn!("{} reply dropped: {e}", self.name);
        }
    }
}

pub fn replies(router: &azq_zmtp::Router, name: &'static str) -> Replies {
    Replies {
        sender: router.sender(),
        name,
    }
}
