//! Secrets in cells whatever their magic: misspelt or miscased magic names, plain text and
//! `%env` values never reach history, `execute_input`, an error or an echo.

use azq_magics::{Bundle, CellOptions, DisplayId, Engine, MagicError, Output, Stream};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

const S: &str = "sentinel-secret-5e1f";

/// Everything a cell sends out, as text.
#[derive(Default)]
struct Recorder {
    text: String,
}

impl Output for Recorder {
    fn stream(&mut self, _: Stream, text: &str) {
        self.text.push_str(text);
    }
    fn display(&mut self, bundle: Bundle) {
        for (_, value) in bundle.entries() {
            self.text.push_str(&value.to_string());
        }
    }
    fn display_updatable(&mut self, bundle: Bundle) -> DisplayId {
        self.display(bundle);
        DisplayId("d".into())
    }
    fn update(&mut self, _: &DisplayId, bundle: Bundle) {
        self.display(bundle);
    }
    fn clear(&mut self, _: bool) {}
    fn page(&mut self, bundle: Bundle) {
        self.display(bundle);
    }
    fn input(&mut self, _: &str, _: bool) -> BoxFuture<'_, Result<String, MagicError>> {
        Box::pin(async { Ok(String::new()) })
    }
}

/// What a front end could see of `cell`: the text kept for history and `execute_input`,
/// the outputs, and the error's message and traceback.
async fn seen(engine: &mut Engine, cell: &str) -> String {
    let mut out = Recorder::default();
    let result = engine
        .run_cell(
            cell,
            CellOptions { allow_stdin: false },
            &mut out,
            &CancellationToken::new(),
        )
        .await;
    let mut all = azq_magics::redact_secrets(cell);
    all.push_str(&out.text);
    match result {
        Ok(Some(bundle)) => {
            for (_, value) in bundle.entries() {
                all.push_str(&value.to_string());
            }
        }
        Ok(None) => {}
        Err(e) => {
            all.push_str(&e.message());
            all.push_str(&e.traceback(cell).join("\n"));
        }
    }
    all
}

#[tokio::test]
async fn secret_shapes_are_hidden_whatever_the_magic() {
    let cs = format!(
        "SubscriptionId=s;ResourceGroupName=r;WorkspaceName=w;ApiKey={S};QuantumEndpoint=http://127.0.0.1:9/"
    );
    let cells = [
        format!("%azure.conect connectionString=\"{cs}\""),
        format!("%Azure.connect connectionString=\"{cs}\""),
        format!("%AZURE.CONNECT connectionString=\"{cs}\""),
        format!("%%azure.conect\nconnectionString=\"{cs}\""),
        format!("%azure.connect connectionstrng=\"{cs}\""),
        format!("%azure.conect connectionString={S}"),
        format!("%azure.conect {{\"connectionString\": \"{S}\"}}"),
        format!(
            "%azure.conect storage=\"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={S}\""
        ),
        format!("%azure.conect sas=\"https://a.blob.core.windows.net/c?sv=2024&sig={S}\""),
        format!("%azure.conect x=\"Endpoint=sb://a/;SharedAccessSignature={S}\""),
        format!("%azure.conect clientSecret={S}"),
        format!("%azure.conect client_secret=\"{S}\""),
        format!("%azure.conect AZURE_CLIENT_SECRET={S}"),
        format!("%azure.conect proxy=http://user:{S}@127.0.0.1:3128"),
        format!("let key = \"ApiKey={S}\";"),
        format!("connectionString=\"{S}\" and then some"),
        format!("https://a.blob.core.windows.net/c/b?sp=r&sig={S}&se=2030"),
        format!("SharedAccessSignature sr=a&sig={S}&se=1&skn=k"),
        format!("%env X=ApiKey={S}"),
        format!("%lsmagic\n%env -u A ApiKey={S}\nApiKey={S}"),
    ];
    let mut engine = Engine::new();
    for cell in &cells {
        let shown = seen(&mut engine, cell).await;
        assert!(!shown.contains(S), "cell {cell:?} leaked:\n{shown}");
    }
    // The check sees the sentinel where it is no secret's shape.
    let shown = seen(&mut engine, &format!("%azure.conect note={S}")).await;
    assert!(shown.contains(S), "{shown}");
}

#[tokio::test]
async fn env_hides_identity_header_and_a_proxys_password() {
    let mut engine = Engine::new();
    let cells = [
        format!("%env IDENTITY_HEADER={S}"),
        format!("%env HTTPS_PROXY=http://user:{S}@127.0.0.1:3128"),
        format!("%env http_proxy http://user:{S}@proxy.example:8080/"),
        "%env IDENTITY_HEADER".to_owned(),
        "%env HTTPS_PROXY".to_owned(),
        "%env".to_owned(),
    ];
    let mut all = String::new();
    for cell in &cells {
        let shown = seen(&mut engine, cell).await;
        assert!(!shown.contains(S), "cell {cell:?} leaked:\n{shown}");
        all.push_str(&shown);
    }
    // Shown, with the password masked: the user can still check the proxy's host and user.
    assert!(
        all.contains("HTTPS_PROXY=http://user:***@127.0.0.1:3128"),
        "{all}"
    );
    assert!(
        all.contains("http_proxy=http://user:***@proxy.example:8080/"),
        "{all}"
    );
    assert!(
        all.contains("IDENTITY_HEADER=<hidden: 20 characters>"),
        "{all}"
    );
    // A proxy without a password is shown as it is.
    let shown = seen(&mut engine, "%env HTTPS_PROXY=http://127.0.0.1:3128").await;
    assert!(
        shown.contains("HTTPS_PROXY=http://127.0.0.1:3128"),
        "{shown}"
    );
}
