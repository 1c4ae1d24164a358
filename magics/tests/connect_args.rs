//! `%azure.connect` with malformed and conflicting arguments: each line's error name and
//! the exact text the caret underlines. None needs the network: all fail before sign-in.

use azq_magics::{Bundle, CellOptions, DisplayId, Engine, MagicError, Output, Stream};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

struct Quiet;

impl Output for Quiet {
    fn stream(&mut self, _: Stream, _: &str) {}
    fn display(&mut self, _: Bundle) {}
    fn display_updatable(&mut self, _: Bundle) -> DisplayId {
        DisplayId("d".into())
    }
    fn update(&mut self, _: &DisplayId, _: Bundle) {}
    fn clear(&mut self, _: bool) {}
    fn page(&mut self, _: Bundle) {}
    fn input(&mut self, _: &str, _: bool) -> BoxFuture<'_, Result<String, MagicError>> {
        Box::pin(async { Ok(String::new()) })
    }
}

const SUB: &str = "00000000-0000-0000-0000-0000000000a1";
const ID: &str = "/subscriptions/00000000-0000-0000-0000-0000000000a1/resourceGroups/rg/providers/Microsoft.Quantum/Workspaces/ws";
const KEY: &str = "sentinel-api-key-4f1c";

/// A cell, the error name, and what the caret underlines (`None`: no caret).
fn table() -> Vec<(String, &'static str, Option<&'static str>)> {
    let cs = |endpoint: &str| {
        format!(
            "SubscriptionId={SUB};ResourceGroupName=rg;WorkspaceName=ws;ApiKey={KEY};QuantumEndpoint={endpoint}"
        )
    };
    let c = |s: &str| format!("%azure.connect {s}");
    vec![
        // The grammar.
        (c("resourceId=\"/subscriptions/x"), "SyntaxError", Some("")),
        (c("resourceId='abc"), "SyntaxError", Some("")),
        (c("resourceId="), "SyntaxError", Some("")),
        (c("{\"resourceId\": }"), "SyntaxError", Some("}")),
        (c("{\"resourceId\": [\"x\"]}"), "SyntaxError", Some("{")),
        (c("credential="), "SyntaxError", Some("")),
        // Names.
        (
            c("subscriptoin=x"),
            "UnknownArgument",
            Some("subscriptoin=x"),
        ),
        (
            c("resourceGroup=rg wrkspace=ws"),
            "UnknownArgument",
            Some("wrkspace=ws"),
        ),
        (c("--refresh"), "UnknownArgument", Some("--refresh")),
        (c("-x"), "UnknownArgument", Some("-x")),
        (c("refres"), "InvalidArgument", Some("refres")),
        (c("emulatr"), "InvalidArgument", Some("emulatr")),
        (c("whatever"), "InvalidArgument", Some("whatever")),
        (
            "%azure.connnect emulator".into(),
            "UnknownMagic",
            Some("%azure.connnect"),
        ),
        (
            "%%azure.connect emulator".into(),
            "NotACellMagic",
            Some("%%azure.connect"),
        ),
        // Values.
        (c("credential=magic"), "InvalidArgument", Some("magic")),
        (
            c("credential=\"Device Code\""),
            "InvalidArgument",
            Some("\"Device Code\""),
        ),
        (
            c(&format!("location=mars.example resourceId={ID}")),
            "InvalidWorkspaceLocation",
            Some("mars.example"),
        ),
        (
            c(&format!("resourceId={ID} location=\"West-US\"")),
            "InvalidWorkspaceLocation",
            Some("\"West-US\""),
        ),
        (
            c(&format!("tenant=\"a b\" resourceId={ID}")),
            "InvalidArgument",
            Some("\"a b\""),
        ),
        (
            c(&format!("endpoint=ftp://x resourceId={ID}")),
            "InvalidEndpoint",
            Some("ftp://x"),
        ),
        (
            c(&format!("endpoint=http://example.com/ resourceId={ID}")),
            "InvalidEndpoint",
            Some("http://example.com/"),
        ),
        (
            c(&format!("endpoint=notaurl resourceId={ID}")),
            "InvalidEndpoint",
            Some("notaurl"),
        ),
        (
            c(&format!("resourceId={ID} storage=abc")),
            "InvalidArgument",
            Some("abc"),
        ),
        (
            c(&format!("resourceId={ID} storage=\"AccountName=x\"")),
            "InvalidArgument",
            Some("\"AccountName=x\""),
        ),
        (
            c("workspace=\"\""),
            "InvalidArgument",
            Some("workspace=\"\""),
        ),
        (
            c("subscription=nope resourceGroup=rg workspace=ws"),
            "InvalidArgument",
            Some("nope"),
        ),
        (
            c(&format!(
                "subscription={SUB} resourceGroup=\"bad/rg\" workspace=ws"
            )),
            "InvalidArgument",
            Some("\"bad/rg\""),
        ),
        (
            c(&format!(
                "subscription={SUB} resourceGroup=rg workspace=-ws"
            )),
            "InvalidArgument",
            Some("-ws"),
        ),
        (
            c(&format!("subscription={SUB} workspace=ws")),
            "InvalidArgument",
            None,
        ),
        (c("credential=DeviceCode"), "WorkspaceNotFound", None),
        (
            c("credential=ApiKey"),
            "InvalidArgument",
            Some("credential=ApiKey"),
        ),
        (
            c("{\"refresh\": \"yes\"}"),
            "InvalidArgument",
            Some("{\"refresh\": \"yes\"}"),
        ),
        // Resource ids.
        (
            c("/subscriptions/nope/resourceGroups/rg/providers/Microsoft.Quantum/Workspaces/ws"),
            "InvalidResourceId",
            Some("nope"),
        ),
        (
            c(&format!(
                "/subscriptions/{SUB}/resourceGroup/rg/providers/Microsoft.Quantum/Workspaces/ws"
            )),
            "InvalidResourceId",
            Some("resourceGroup"),
        ),
        (
            c(&format!(
                "resourceId=\"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/Workspaces/ws\""
            )),
            "InvalidResourceId",
            Some("Microsoft.Storage"),
        ),
        (c(&format!("{ID}/jobs")), "InvalidResourceId", Some("/")),
        (
            c(&format!("resourceId={}", &ID[..ID.len() - 14])),
            "InvalidResourceId",
            Some(""),
        ),
        (
            c(&ID.replace("/ws", "/w_s")),
            "InvalidResourceId",
            Some("w_s"),
        ),
        // Conflicts and repeats.
        (
            c(&format!("resourceId={ID} subscription={SUB}")),
            "ConflictingArguments",
            Some("subscription=00000000-0000-0000-0000-0000000000a1"),
        ),
        (
            c(&format!("{ID} resourceId={ID}")),
            "ConflictingArguments",
            Some(ID),
        ),
        (
            c(&format!("emulator resourceId={ID}")),
            "ConflictingArguments",
            Some(
                "resourceId=/subscriptions/00000000-0000-0000-0000-0000000000a1/resourceGroups/rg/providers/Microsoft.Quantum/Workspaces/ws",
            ),
        ),
        (
            c(&format!("refresh credential=CLI {ID}")),
            "ConflictingArguments",
            Some("refresh"),
        ),
        (
            c("emulator refresh"),
            "ConflictingArguments",
            Some("refresh"),
        ),
        (
            c("refresh emulator"),
            "ConflictingArguments",
            Some("emulator"),
        ),
        (
            c("credential=CLI emulator"),
            "ConflictingArguments",
            Some("emulator"),
        ),
        (c("emulator emulator"), "InvalidArgument", Some("emulator")),
        (
            c(&format!("refresh refresh {ID}")),
            "InvalidArgument",
            Some("refresh"),
        ),
        (
            c(&format!("location=westus location=eastus resourceId={ID}")),
            "InvalidArgument",
            Some("location=eastus"),
        ),
        (
            c(&format!(
                "connectionString=\"{}\" resourceId={ID}",
                cs("https://westus.quantum.azure.com/")
            )),
            "ConflictingArguments",
            Some(
                "resourceId=/subscriptions/00000000-0000-0000-0000-0000000000a1/resourceGroups/rg/providers/Microsoft.Quantum/Workspaces/ws",
            ),
        ),
        (
            c(&format!(
                "connectionString=\"{}\" credential=CLI",
                cs("https://westus.quantum.azure.com/")
            )),
            "ConflictingArguments",
            Some("credential=CLI"),
        ),
        (
            c(&format!(
                "connectionString=\"{}\" refresh",
                cs("https://westus.quantum.azure.com/")
            )),
            "ConflictingArguments",
            Some("refresh"),
        ),
        (
            c(&format!(
                "connectionString=\"{}\" location=westus",
                cs("https://westus.quantum.azure.com/")
            )),
            "ConflictingArguments",
            Some("location=westus"),
        ),
        (
            c(&format!(
                "{{\"resourceId\": \"{ID}\", \"subscription\": \"{SUB}\"}}"
            )),
            "ConflictingArguments",
            Some("SELF_JSON"),
        ),
        // Connection strings (the key must never be echoed).
        (
            c("connectionString=\"junk\""),
            "InvalidConnectionString",
            Some("\"junk\""),
        ),
        (
            c(&format!(
                "connectionString=\"{}\"",
                cs("http://example.com/")
            )),
            "InvalidConnectionString",
            Some("FULL_VALUE"),
        ),
        (
            c(&format!("connectionString=\"{}\"", cs("nope"))),
            "InvalidConnectionString",
            Some("FULL_VALUE"),
        ),
        // A bad field beside the key: the message names the field, not its value.
        (
            c(&format!(
                "connectionString=\"{}\"",
                cs("https://westus.quantum.azure.com/").replace(
                    "ResourceGroupName=rg",
                    &format!("ResourceGroupName=rg,ApiKey={KEY}")
                )
            )),
            "InvalidConnectionString",
            Some("FULL_VALUE"),
        ),
        // A connection string given bare is not repeated either.
        (
            c(&format!("\"{}\"", cs("https://westus.quantum.azure.com/"))),
            "InvalidArgument",
            Some("FULL_VALUE"),
        ),
        // Non-ASCII where an id's parts are checked; escapes shift the id's offsets.
        (
            c("subscriptionsé"),
            "InvalidArgument",
            Some("subscriptionsé"),
        ),
        (
            c(
                "resourceId=\"/subscriptions/\\\"\\\"é/resourceGroup/rg/providers/Microsoft.Quantum/Workspaces/ws\"",
            ),
            "InvalidResourceId",
            Some(
                "/subscriptions/\\\"\\\"é/resourceGroup/rg/providers/Microsoft.Quantum/Workspaces/ws",
            ),
        ),
        // Arguments continued on the next lines, as the seed writes them.
        (
            format!(
                "%azure.connect subscription=\"{SUB}\"\n               resourceGroup=\"rg\"\n               workspace=\"ws\"\n               location=no_where"
            ),
            "InvalidWorkspaceLocation",
            Some("no_where"),
        ),
    ]
}

#[tokio::test]
async fn every_bad_line_gets_its_error_and_caret() {
    let mut engine = Engine::new();
    let options = CellOptions { allow_stdin: false };
    let cancel = CancellationToken::new();
    for name in [
        "AZURE_QUANTUM_CONNECTION_STRING",
        "AZURE_QUANTUM_SUBSCRIPTION_ID",
        "AZURE_QUANTUM_WORKSPACE_RG",
        "AZURE_QUANTUM_WORKSPACE_NAME",
        "AZURE_QUANTUM_WORKSPACE_LOCATION",
        "IQSHARP_AZURE_QUANTUM_SUBSCRIPTION_ID",
        "IQSHARP_AZURE_QUANTUM_WORKSPACE_RG",
        "IQSHARP_AZURE_QUANTUM_WORKSPACE_NAME",
    ] {
        engine
            .run_cell(&format!("%env -u {name}"), options, &mut Quiet, &cancel)
            .await
            .unwrap();
    }
    let rows = table();
    assert!(rows.len() >= 40, "the table has {} rows", rows.len());
    let mut failures = Vec::new();
    for (cell, want_name, want_caret) in &rows {
        let err = match engine.run_cell(cell, options, &mut Quiet, &cancel).await {
            Err(e) => e,
            Ok(v) => {
                failures.push(format!(
                    "{cell:?}: no error, got {:?}",
                    v.map(|b| b.plain().to_owned())
                ));
                continue;
            }
        };
        let shown = err.traceback(cell).join("\n");
        if std::env::var_os("AZQ_SHOW").is_some() {
            println!("{shown}\n");
        }
        assert!(!shown.contains(KEY), "the key leaked: {shown}");
        let caret = err.span().map(|s| {
            cell.get(s.start.min(cell.len())..s.end.min(cell.len()))
                .unwrap_or("<not a boundary>")
                .to_owned()
        });
        let want_caret = want_caret.map(|w| match w {
            "SELF_JSON" => cell[cell.find('{').unwrap()..].to_owned(),
            "FULL_VALUE" => cell[cell.find('"').unwrap()..].to_owned(),
            other => other.to_owned(),
        });
        if err.name() != *want_name || caret != want_caret {
            failures.push(format!(
                "{cell:?}\n    want {want_name} {want_caret:?}\n    got  {} {caret:?}\n    {shown}",
                err.name()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
