//! The HTML of `%lsmagic` and of every magic's help as JupyterLab shows it: cells aligned to
//! the start (JupyterLab right-aligns table cells by default), Markdown code spans as `<code>`
//! (not literal backticks), and examples that scroll rather than break inside words.

use azq_magics::registry;

fn cells(html: &str) -> Vec<&str> {
    html.match_indices("<t")
        .filter(|(i, _)| html[i + 2..].starts_with('d') || html[i + 2..].starts_with('h'))
        .filter(|(i, _)| !html[*i..].starts_with("<thead") && !html[*i..].starts_with("<tbody"))
        .map(|(i, _)| &html[i..i + html[i..].find('>').unwrap()])
        .collect()
}

fn check(name: &str, html: &str) {
    for cell in cells(html) {
        assert!(cell.contains("text-align:start"), "{name}: {cell}");
    }
    let text_only: String = {
        // Backticks inside <pre> examples are code the user types; elsewhere they are Markdown.
        let mut out = String::new();
        let mut rest = html;
        while let Some(at) = rest.find("<pre") {
            out.push_str(&rest[..at]);
            rest = &rest[at + rest[at..].find("</pre>").unwrap() + 6..];
        }
        out.push_str(rest);
        out
    };
    assert!(
        !text_only.contains('`'),
        "{name}: literal backticks in {text_only}"
    );
    for pre in html.match_indices("<pre") {
        assert!(
            html[pre.0..].starts_with("<pre style=\"white-space:pre;overflow-x:auto\">"),
            "{name}"
        );
    }
}

#[test]
fn help_and_lsmagic_html_read_left_to_right_with_code_as_code() {
    for magic in registry::all() {
        let spec = magic.spec();
        let help = spec.help();
        let html = help.get("text/html").and_then(|v| v.as_str()).unwrap();
        check(&spec.call_name(), html);
    }
}

#[tokio::test]
async fn lsmagic_cells_are_aligned_to_the_start() {
    use azq_magics::{CellOptions, Engine};
    let mut engine = Engine::new();
    struct Quiet;
    impl azq_magics::Output for Quiet {
        fn stream(&mut self, _: azq_magics::Stream, _: &str) {}
        fn display(&mut self, _: azq_magics::Bundle) {}
        fn display_updatable(&mut self, _: azq_magics::Bundle) -> azq_magics::DisplayId {
            azq_magics::DisplayId(String::new())
        }
        fn update(&mut self, _: &azq_magics::DisplayId, _: azq_magics::Bundle) {}
        fn clear(&mut self, _: bool) {}
        fn page(&mut self, _: azq_magics::Bundle) {}
        fn input(
            &mut self,
            _: &str,
            _: bool,
        ) -> futures::future::BoxFuture<'_, Result<String, azq_magics::MagicError>> {
            Box::pin(async { Ok(String::new()) })
        }
    }
    let value = engine
        .run_cell(
            "%lsmagic",
            CellOptions::default(),
            &mut Quiet,
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap()
        .unwrap();
    check(
        "%lsmagic",
        value.get("text/html").and_then(|v| v.as_str()).unwrap(),
    );
}

#[test]
fn code_spans_become_code_and_a_lone_backtick_stays() {
    use azq_magics::spec::prose_html;
    assert_eq!(
        prose_html("the `resourceId=` key, `<b>` and `open"),
        "the <code>resourceId=</code> key, <code>&lt;b&gt;</code> and `open"
    );
    assert_eq!(prose_html("plain"), "plain");
}
