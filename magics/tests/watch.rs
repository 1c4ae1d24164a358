//! The watcher through the engine and the embedded emulator: a submitted job's row is updated
//! through the cell's sink after the cell has ended, up to its results; the poller lets go of
//! every watch when the session is dropped.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azq_magics::{Bundle, CellOptions, DisplayId, DisplaySink, Engine, MagicError, Output, Stream};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

/// What the watcher sent: display id and bundle, in order.
#[derive(Default)]
struct Sink {
    updates: Mutex<Vec<(DisplayId, Bundle)>>,
}

impl DisplaySink for Sink {
    fn update(&self, id: &DisplayId, bundle: Bundle) {
        self.updates.lock().unwrap().push((id.clone(), bundle));
    }
}

struct Cell {
    sink: Arc<Sink>,
    shown: Vec<(DisplayId, Bundle)>,
}

impl Output for Cell {
    fn stream(&mut self, _: Stream, _: &str) {}
    fn display(&mut self, _: Bundle) {}
    fn display_updatable(&mut self, bundle: Bundle) -> DisplayId {
        let id = DisplayId(format!("row-{}", self.shown.len()));
        self.shown.push((id.clone(), bundle));
        id
    }
    fn update(&mut self, _: &DisplayId, _: Bundle) {}
    fn clear(&mut self, _: bool) {}
    fn page(&mut self, _: Bundle) {}
    fn input(&mut self, _: &str, _: bool) -> BoxFuture<'_, Result<String, MagicError>> {
        Box::pin(async { Err(MagicError::StdinNotAllowed) })
    }
    fn sink(&mut self) -> Option<Arc<dyn DisplaySink>> {
        Some(self.sink.clone())
    }
}

async fn run(engine: &mut Engine, out: &mut Cell, code: &str) -> Option<Bundle> {
    let options = CellOptions { allow_stdin: false };
    engine
        .run_cell(code, options, out, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{code}: {}", e.name()))
}

const BELL: &str = "%%qasm bell\nOPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncreg c[2];\n\
                    h q[0];\ncx q[0], q[1];\nmeasure q -> c;\n";

async fn connected() -> (Engine, Cell) {
    let mut engine = Engine::new();
    let mut cell = Cell {
        sink: Arc::new(Sink::default()),
        shown: Vec::new(),
    };
    run(&mut engine, &mut cell, "%azure.connect emulator").await;
    run(&mut engine, &mut cell, BELL).await;
    (engine, cell)
}

fn watch_data(b: &Bundle) -> &serde_json::Value {
    b.get("application/x-azq.watch+json").expect("watch data")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_row_is_updated_after_its_cell_up_to_its_results() {
    let (mut engine, mut cell) = connected().await;
    let value = run(
        &mut engine,
        &mut cell,
        "%azure.submit bell target=ionq.simulator shots=50",
    )
    .await;
    assert!(
        value.is_none(),
        "the row is a display, not the cell's value"
    );
    let (row, first) = cell.shown.last().cloned().unwrap();
    let id = first.get("application/x-azq.jobs+json").unwrap()[0]["id"].clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    let last = loop {
        let done = cell
            .sink
            .updates
            .lock()
            .unwrap()
            .last()
            .filter(|(_, b)| watch_data(b)["watching"] == false)
            .cloned();
        if let Some(done) = done {
            break done;
        }
        assert!(Instant::now() < deadline, "no final update");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let updates = cell.sink.updates.lock().unwrap().clone();
    assert!(updates.iter().all(|(d, _)| *d == row), "same display");
    assert_eq!(watch_data(&last.1)["status"], "Succeeded");
    assert_eq!(watch_data(&last.1)["id"], id);
    assert!(last.1.get("application/x-azq.histogram+json").is_some());
    // The listing is empty again, and a finished job is not watched again.
    let listed = run(&mut engine, &mut cell, "%azure.watch").await.unwrap();
    assert_eq!(
        listed.get("application/x-azq.watches+json").unwrap(),
        &serde_json::json!([])
    );
    let again = run(
        &mut engine,
        &mut cell,
        &format!("%azure.watch {}", id.as_str().unwrap()),
    )
    .await
    .unwrap();
    assert!(
        again.plain().contains("nothing to watch"),
        "{}",
        again.plain()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_session_ends_the_poller_and_its_watches() {
    let (mut engine, mut cell) = connected().await;
    for _ in 0..3 {
        run(
            &mut engine,
            &mut cell,
            "%azure.submit bell target=ionq.qpu.aria-1 confirm=false",
        )
        .await;
    }
    let listed = run(&mut engine, &mut cell, "%azure.watch").await.unwrap();
    let watches = listed.get("application/x-azq.watches+json").unwrap();
    assert_eq!(watches.as_array().unwrap().len(), 3, "{watches}");
    // Three entries hold the cell's sink (besides the cell itself).
    assert_eq!(Arc::strong_count(&cell.sink), 4);
    drop(engine);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Arc::strong_count(&cell.sink) > 1 {
        assert!(Instant::now() < deadline, "the poller kept its watches");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A QPU's first check is ten seconds away: nothing was sent.
    assert!(cell.sink.updates.lock().unwrap().is_empty());
}
