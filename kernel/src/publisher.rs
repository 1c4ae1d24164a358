//! The engine's `Output` for one cell: its displays, streams and input requests become
//! IOPub and stdin messages that name the cell's request as their parent.

use std::sync::Arc;

use azq_magics::{Bundle, DisplayId, DisplaySink, MagicError, Output, Stream};
use futures::future::BoxFuture;
use jupyter_protocol::{ClearOutput, DisplayData, Stdio, Transient, UpdateDisplayData};

use crate::iopub::Iopub;
use crate::stdin::Stdin;
use crate::to_proto::media;
use crate::wire::Parent;

pub struct CellOutput<'a> {
    pub iopub: &'a Iopub,
    pub stdin: &'a Stdin,
    pub parent: &'a Arc<Parent>,
    pub allow_stdin: bool,
    /// Bundles for the pager, returned as `page` payloads in the reply.
    pub pages: Vec<Bundle>,
}

impl Output for CellOutput<'_> {
    fn stream(&mut self, stream: Stream, text: &str) {
        let name = match stream {
            Stream::Stdout => Stdio::Stdout,
            Stream::Stderr => Stdio::Stderr,
        };
        self.iopub.stream(self.parent, name, text);
    }

    fn room(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(self.iopub.room())
    }

    fn display(&mut self, bundle: Bundle) {
        self.iopub
            .send(Some(self.parent), DisplayData::new(media(&bundle)));
    }

    fn display_updatable(&mut self, bundle: Bundle) -> DisplayId {
        let id = uuid::Uuid::new_v4().to_string();
        let mut data = DisplayData::new(media(&bundle));
        data.transient = Some(Transient {
            display_id: Some(id.clone()),
        });
        self.iopub.send(Some(self.parent), data);
        DisplayId(id)
    }

    fn update(&mut self, id: &DisplayId, bundle: Bundle) {
        self.iopub.send(
            Some(self.parent),
            UpdateDisplayData::new(media(&bundle), &id.0),
        );
    }

    fn clear(&mut self, wait: bool) {
        self.iopub.send(Some(self.parent), ClearOutput { wait });
    }

    fn page(&mut self, bundle: Bundle) {
        self.pages.push(bundle);
    }

    fn input(&mut self, prompt: &str, password: bool) -> BoxFuture<'_, Result<String, MagicError>> {
        if !self.allow_stdin {
            return Box::pin(async { Err(MagicError::StdinNotAllowed) });
        }
        let prompt = prompt.to_owned();
        Box::pin(async move { self.stdin.ask(self.parent.clone(), &prompt, password).await })
    }

    fn sink(&mut self) -> Option<Arc<dyn DisplaySink>> {
        Some(Arc::new(CellSink {
            iopub: self.iopub.clone(),
            parent: self.parent.clone(),
        }))
    }
}

/// Updates one cell's displays after it has finished: the messages carry that cell's parent
/// header, so a front end routes them to that cell's output, never to the cell running now.
pub struct CellSink {
    iopub: Iopub,
    parent: Arc<Parent>,
}

impl DisplaySink for CellSink {
    fn update(&self, id: &DisplayId, bundle: Bundle) {
        self.iopub.send(
            Some(&self.parent),
            UpdateDisplayData::new(media(&bundle), &id.0),
        );
    }
}

/// An `Output` that shows nothing: user expressions are evaluated for their value only.
pub struct Discard;

impl Output for Discard {
    fn stream(&mut self, _: Stream, _: &str) {}
    fn display(&mut self, _: Bundle) {}
    fn display_updatable(&mut self, _: Bundle) -> DisplayId {
        DisplayId(String::new())
    }
    fn update(&mut self, _: &DisplayId, _: Bundle) {}
    fn clear(&mut self, _: bool) {}
    fn page(&mut self, _: Bundle) {}
    fn input(&mut self, _: &str, _: bool) -> BoxFuture<'_, Result<String, MagicError>> {
        Box::pin(async { Err(MagicError::StdinNotAllowed) })
    }
}
