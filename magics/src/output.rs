//! Where a running cell sends what it shows: the seam between the engine and any front end.

use crate::{Bundle, MagicError};
use futures::future::BoxFuture;

/// Which stream a piece of text goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// An opaque id for a display that can be updated in place.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayId(pub String);

/// Updates a finished cell's displays from another task (a background watcher). Each update
/// goes to the cell that made the display, never to the cell running now.
pub trait DisplaySink: Send + Sync {
    /// Replaces the display `id` of the cell this sink belongs to.
    fn update(&self, id: &DisplayId, bundle: Bundle);
}

/// What a cell can do to its output area. The kernel implements it with Jupyter messages;
/// tests implement it with a recorder.
pub trait Output: Send {
    /// Appends text to stdout or stderr (the sink batches it).
    fn stream(&mut self, stream: Stream, text: &str);
    /// Waits until the sink has room for more stream text: a producer that can print without
    /// end (a script's output) awaits this between pieces, so it waits for the sink instead of
    /// piling text up in memory.
    fn room(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
    /// Shows a bundle as a new output.
    fn display(&mut self, bundle: Bundle);
    /// Shows a bundle that later calls to [`Output::update`] replace in place.
    fn display_updatable(&mut self, bundle: Bundle) -> DisplayId;
    /// Replaces an earlier updatable display.
    fn update(&mut self, id: &DisplayId, bundle: Bundle);
    /// Clears the cell's output; with `wait`, only once new output arrives.
    fn clear(&mut self, wait: bool);
    /// Shows a bundle in the front end's pager (help text).
    fn page(&mut self, bundle: Bundle);
    /// Asks the user for one line of input; `password` hides what they type.
    fn input(&mut self, prompt: &str, password: bool) -> BoxFuture<'_, Result<String, MagicError>>;
    /// A handle that updates this cell's displays after the cell has finished, from another
    /// task; `None` when the front end cannot take later updates.
    fn sink(&mut self) -> Option<std::sync::Arc<dyn DisplaySink>> {
        None
    }
}
