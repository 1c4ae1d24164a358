//! The engine end to end through a recording `Output`: values, displays, errors with
//! spans, panics contained, interrupts honoured.

use std::time::Duration;

use azq_magics::{Bundle, CellOptions, DisplayId, Engine, MagicError, Output, Stream};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Recorder {
    events: Vec<String>,
    panic_on_stream: bool,
}

impl Output for Recorder {
    fn stream(&mut self, stream: Stream, text: &str) {
        assert!(!self.panic_on_stream, "stream sink exploded");
        self.events.push(format!("{stream:?}:{text}"));
    }
    fn display(&mut self, bundle: Bundle) {
        let mimes: Vec<&str> = bundle.entries().map(|(m, _)| m).collect();
        self.events.push(format!("display:{}", mimes.join(",")));
    }
    fn display_updatable(&mut self, bundle: Bundle) -> DisplayId {
        self.display(bundle);
        DisplayId("d".into())
    }
    fn update(&mut self, _: &DisplayId, _: Bundle) {}
    fn clear(&mut self, wait: bool) {
        self.events.push(format!("clear:{wait}"));
    }
    fn page(&mut self, bundle: Bundle) {
        self.events.push(format!(
            "page:{}",
            bundle.plain().lines().next().unwrap_or("")
        ));
    }
    fn input(&mut self, _: &str, _: bool) -> BoxFuture<'_, Result<String, MagicError>> {
        Box::pin(async { Ok("typed".to_owned()) })
    }
}

async fn run(
    engine: &mut Engine,
    out: &mut Recorder,
    cell: &str,
) -> Result<Option<Bundle>, MagicError> {
    let options = CellOptions { allow_stdin: true };
    engine
        .run_cell(cell, options, out, &CancellationToken::new())
        .await
}

#[tokio::test]
async fn parts_run_in_order_and_the_last_value_wins() {
    let mut engine = Engine::new();
    let mut out = Recorder::default();
    let value = run(
        &mut engine,
        &mut out,
        "%env AZQ_E=1\n%%html is not here\n%env AZQ_E",
    )
    .await;
    // A cell magic after the first line is refused before anything runs after it.
    let err = value.unwrap_err();
    assert_eq!(
        (err.name(), err.span()),
        ("MisplacedCellMagic", Some(13..19))
    );
    let value = run(&mut engine, &mut out, "%env AZQ_E=2\n%env AZQ_E")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(value.plain(), "2");
    assert_eq!(
        out.events,
        ["Stdout:env: AZQ_E=1\n", "Stdout:env: AZQ_E=2\n"]
    );
}

#[tokio::test]
async fn help_goes_to_the_pager_and_cell_magics_display() {
    let mut engine = Engine::new();
    let mut out = Recorder::default();
    assert!(
        run(&mut engine, &mut out, "%lsmagic?")
            .await
            .unwrap()
            .is_none()
    );
    run(&mut engine, &mut out, "%%markdown\n# hi")
        .await
        .unwrap();
    run(&mut engine, &mut out, "%clear --wait").await.unwrap();
    assert_eq!(
        out.events,
        [
            "page:%lsmagic",
            "display:text/plain,text/markdown",
            "clear:true"
        ]
    );
}

#[tokio::test]
async fn a_panicking_magic_is_an_error_and_the_engine_lives_on() {
    let mut engine = Engine::new();
    let mut out = Recorder {
        panic_on_stream: true,
        ..Recorder::default()
    };
    let err = run(&mut engine, &mut out, "%env AZQ_P=1")
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InternalError");
    assert!(err.to_string().contains("stream sink exploded"));
    let value = run(&mut engine, &mut out, "%env AZQ_P")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(value.plain(), "1");
}

#[tokio::test]
async fn interrupt_ends_a_running_script() {
    let mut engine = Engine::new();
    let mut out = Recorder::default();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    // The interrupt comes once the script has started (it leaves a file), not after a guess.
    let dir = std::env::temp_dir().join(format!("azq-engine-interrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let started = dir.join("started");
    let seen = started.clone();
    tokio::spawn(async move {
        // A deadline only as a hang guard.
        for _ in 0..3000 {
            if seen.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        trigger.cancel();
    });
    let cell = format!(
        "%%bash\ntouch '{}'\nsleep 600\necho finished",
        started.display()
    );
    let ran = tokio::time::timeout(
        Duration::from_secs(120),
        engine.run_cell(&cell, CellOptions::default(), &mut out, &cancel),
    )
    .await
    .expect("the interrupt did not end the script (hang guard)");
    assert_eq!(ran.unwrap_err(), MagicError::Interrupted);
    assert!(started.exists(), "the script never ran");
    assert!(!out.events.iter().any(|e| e.contains("finished")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bad_arguments_name_the_error_and_the_spot() {
    let mut engine = Engine::new();
    let mut out = Recorder::default();
    let cases: &[(&str, &str, Option<std::ops::Range<usize>>)] = &[
        ("%lsmagic extra", "InvalidArgument", Some(9..14)),
        ("%clear --wiat", "UnknownArgument", Some(7..13)),
        ("%clear -w -w", "InvalidArgument", Some(10..12)),
        ("%clear \"open", "SyntaxError", Some(12..12)),
        ("%%bash --x\nls", "UnknownArgument", Some(7..10)),
        ("%%lsmagic", "NotACellMagic", Some(0..9)),
        ("%bash", "NotALineMagic", Some(0..5)),
        ("%", "UnknownMagic", Some(0..1)),
        ("%%nosuch\nx", "UnknownMagic", Some(0..8)),
        ("%cd /no/such/dir", "InvalidArgument", Some(4..16)),
        ("%env NOT_SET_AZQ_ANYWHERE", "EnvVarNotSet", None),
        ("%%bash\nexit 3", "CommandFailed", None),
    ];
    for (cell, name, span) in cases {
        let err = run(&mut engine, &mut out, cell).await.unwrap_err();
        assert_eq!(
            (err.name(), err.span()),
            (*name, span.clone()),
            "cell {cell:?}: {err}"
        );
    }
}

#[tokio::test]
async fn rust_code_without_the_companion_says_what_to_install_and_where_it_looked() {
    let places = azq_rustcells::locate::Places {
        beside: Some("/nonexistent/azq/bin".into()),
        path: Some("/nonexistent/bin".into()),
        home: Some("/nonexistent/home".into()),
        ..Default::default()
    };
    let mut engine = Engine::with_rust(azq_magics::rust::RustCells::new(places));
    let mut out = Recorder::default();
    let err = run(&mut engine, &mut out, "%env AZQ_R=1\nfn main() {}")
        .await
        .unwrap_err();
    assert_eq!(err.name(), "RustCompanionMissing");
    let message = err.message();
    for part in [
        "azq-rust",
        "make rust",
        "/nonexistent/azq/bin",
        "/nonexistent/bin",
        ".cargo/bin",
    ] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
    // The magic before the Rust code ran.
    let value = run(&mut engine, &mut out, "%env AZQ_R")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(value.plain(), "1");
}
