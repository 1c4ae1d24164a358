//! Every type that holds a secret formats without it: a sentinel value goes in, and `{:?}`
//! (the only formatting these types have; `Secret` has no `Display` and no `Serialize`, see the
//! `compile_fail` examples on it) never shows it.

use azq_client::connstr::ConnectionString;
use azq_client::http::Request;
use azq_client::jobs::storage::StorageAccount;
use azq_client::secret::Secret;

// Base64, as a storage account key must be.
const SENTINEL: &str = "c2VudGluZWwtc2VjcmV0LXZhbHVlLTdkMmU=";

fn hidden(shown: String) {
    assert!(!shown.contains(SENTINEL), "the secret was printed: {shown}");
}

#[test]
fn a_secret() {
    hidden(format!("{:?}", Secret::new(SENTINEL)));
    hidden(format!("{:#?}", Secret::new(SENTINEL)));
}

#[test]
fn a_workspace_connection_string() {
    let cs = ConnectionString::parse(&format!(
        "SubscriptionId=00000000-0000-0000-0000-0000000000a1;ResourceGroupName=rg;\
         WorkspaceName=ws;ApiKey={SENTINEL};QuantumEndpoint=https://westus.quantum.azure.com/"
    ))
    .expect("a good connection string");
    hidden(format!("{cs:?}"));
    hidden(format!("{cs:#?}"));
}

#[test]
fn a_storage_account() {
    let account = StorageAccount::parse(&Secret::new(format!(
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={SENTINEL};\
         EndpointSuffix=core.windows.net"
    )))
    .expect("a good storage connection string");
    hidden(format!("{account:?}"));
}

#[test]
fn a_request_with_a_secret_header_and_a_body() {
    let request = Request {
        method: reqwest::Method::POST,
        url: url::Url::parse(&format!("https://login.example/t/token?sig={SENTINEL}")).unwrap(),
        headers: vec![("x-ms-client", SENTINEL.to_owned())],
        secret_header: Some(("authorization", Secret::new(SENTINEL))),
        body: Some((
            "application/x-www-form-urlencoded".to_owned(),
            format!("client_secret={SENTINEL}").into_bytes(),
        )),
        idempotent: false,
    };
    hidden(format!("{request:?}"));
}
