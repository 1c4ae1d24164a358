//! The stdin task: sends `input_request`s to the front end that ran the cell and waits
//! for the matching `input_reply`.

use std::sync::Arc;

use azq_magics::MagicError;
use azq_zmtp::Router;
use jupyter_protocol::{InputRequest, JupyterMessageContent};
use tokio::sync::{mpsc, oneshot};

use crate::wire::{Parent, Signer};

struct Ask {
    parent: Arc<Parent>,
    prompt: String,
    password: bool,
    answer: oneshot::Sender<Result<String, MagicError>>,
}

#[derive(Clone)]
pub struct Stdin {
    tx: mpsc::UnboundedSender<Ask>,
}

impl Stdin {
    /// Asks the front end of `parent` for a line; dropping the future abandons the question.
    pub async fn ask(
        &self,
        parent: Arc<Parent>,
        prompt: &str,
        password: bool,
    ) -> Result<String, MagicError> {
        let (answer, rx) = oneshot::channel();
        self.tx
            .send(Ask {
                parent,
                prompt: prompt.to_owned(),
                password,
                answer,
            })
            .map_err(|_| MagicError::Interrupted)?;
        rx.await.unwrap_or(Err(MagicError::Interrupted))
    }
}

pub fn spawn(mut socket: Router, signer: Signer) -> Stdin {
    let sender = socket.sender();
    let (tx, mut rx) = mpsc::unbounded_channel::<Ask>();
    tokio::spawn(async move {
        loop {
            // While nothing is asked, whatever arrives is read and dropped, so it can neither
            // pile up nor answer a later question.
            let mut ask = tokio::select! {
                ask = rx.recv() => match ask {
                    Some(ask) => ask,
                    None => break,
                },
                incoming = socket.recv() => match incoming {
                    Some(incoming) => {
                        unasked(&signer, incoming);
                        continue;
                    }
                    None => break,
                },
            };
            // And what came in before this question is stale (ipykernel purges it too).
            while let Some(incoming) = socket.try_recv() {
                unasked(&signer, incoming);
            }
            let content = JupyterMessageContent::InputRequest(InputRequest {
                prompt: ask.prompt.clone(),
                password: ask.password,
            });
            let message = signer.encode(&ask.parent.ids, Some(&ask.parent), &content);
            if let Err(e) = sender.send(message) {
                let _ = ask.answer.send(Err(MagicError::Internal {
                    message: format!("the input request could not be sent: {e}"),
                }));
                continue;
            }
            loop {
                let incoming = tokio::select! {
                    () = ask.answer.closed() => break,
                    incoming = socket.recv() => incoming,
                };
                let Some(incoming) = incoming else { break };
                match signer.decode(incoming) {
                    Ok(req) => {
                        if let Ok(JupyterMessageContent::InputReply(reply)) = req.content {
                            let _ = ask.answer.send(Ok(reply.value));
                            break;
                        }
                    }
                    Err(e) => tracing::warn!("stdin message dropped: {e}"),
                }
            }
        }
    });
    Stdin { tx }
}

/// Drops a stdin message that came while no question was open, logging why.
fn unasked(signer: &Signer, incoming: azq_zmtp::Message) {
    match signer.decode(incoming) {
        Ok(req) => tracing::warn!(
            "stdin {:?} dropped: no input was asked for",
            req.parent.header.msg_type
        ),
        Err(e) => tracing::warn!("stdin message dropped: {e}"),
    }
}
