//! The client against a service that says untrustworthy things: an ARM whose location or
//! endpoint would carry the token elsewhere, a listing whose nextLink loops, and a sign-in
//! that must not ask the public ARM about an emulator's subscription. The service is a small
//! HTTP/1.1 responder on loopback that records what it was asked.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azq_client::credential::CredentialKind;
use azq_client::{Env, Http, NoPrompt, Target, Workspace, WorkspaceRef};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use common::sign_in;

type Answer = Arc<dyn Fn(&str, &str) -> (u16, String) + Send + Sync>;

/// Serves `answer(base, request line)` on a fresh port; returns the base URL and the log of
/// request lines.
async fn responder(answer: Answer) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let (log2, base2) = (log.clone(), base.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let (log, answer, base) = (log2.clone(), answer.clone(), base2.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                    if conn.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head);
                let line = text.lines().next().unwrap_or("").to_owned();
                log.lock().unwrap().push(line.clone());
                let (status, body) = answer(&base, &line);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
            });
        }
    });
    (base, log)
}

fn workspace() -> WorkspaceRef {
    WorkspaceRef {
        subscription: "f846b2bd-d0e2-4a1d-8141-4c6944a9d387".into(),
        resource_group: "rg".into(),
        name: "ws".into(),
    }
}

/// A token file good for an hour, for the credentials that need one.
fn token_file() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("azq-untrusted-{}", uuid::Uuid::new_v4()));
    let ms = (SystemTime::now() + Duration::from_secs(3600))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    std::fs::write(
        &path,
        format!(r#"{{"access_token": "t0k", "expires_on": {ms}}}"#),
    )
    .unwrap();
    path
}

/// Connects through ARM at the responder, whose workspace answer is `arm_body`.
async fn connect_through_arm(
    arm_body: &'static str,
) -> (Result<String, azq_client::ClientError>, Vec<String>) {
    connect_through(Arc::new(move |base, line| {
        if line.to_ascii_lowercase().contains("/workspaces/ws?") {
            (200, arm_body.replace("{base}", base))
        } else {
            (
                404,
                r#"{"error": {"code": "NotFound", "message": "no"}}"#.into(),
            )
        }
    }))
    .await
}

/// Connects with a token file, ARM and everything else being the responder answering `answer`;
/// the connection's endpoint or its error, and the request lines the responder saw.
async fn connect_through(answer: Answer) -> (Result<String, azq_client::ClientError>, Vec<String>) {
    let (base, log) = responder(answer).await;
    let file = token_file();
    let env = Env::default()
        .with("AZQ_ARM_ENDPOINT", &base)
        .with("AZURE_QUANTUM_TOKEN_FILE", &file.display().to_string());
    let target = Target::Workspace {
        workspace: workspace(),
        location: None,
        endpoint: None,
    };
    let got = Workspace::connect(
        target,
        sign_in(env, CredentialKind::TokenFile),
        &mut NoPrompt,
    )
    .await
    .map(|(ws, _)| ws.endpoint.to_string());
    std::fs::remove_file(file).unwrap();
    let log = log.lock().unwrap().clone();
    (got, log)
}

#[tokio::test]
async fn a_location_that_is_not_a_region_never_becomes_a_host() {
    let (got, log) = connect_through_arm(r#"{"location": "example.com#", "properties": {}}"#).await;
    let err = got.unwrap_err();
    assert_eq!(err.name(), "NoWorkspaceLocation", "{err}");
    assert!(err.to_string().contains("not a region name"), "{err}");
    assert_eq!(log.len(), 1, "only the ARM lookup was sent: {log:?}");
}

#[tokio::test]
async fn an_endpoint_off_azure_quantum_gets_no_token() {
    let (got, log) = connect_through_arm(
        r#"{"location": "westus", "properties": {"endpointUri": "https://quantum.example.com/"}}"#,
    )
    .await;
    let err = got.unwrap_err();
    assert_eq!(err.name(), "InvalidEndpoint", "{err}");
    assert!(
        err.to_string().contains("quantum.example.com") && err.to_string().contains("endpoint="),
        "{err}"
    );
    assert_eq!(log.len(), 1, "{log:?}");
}

#[tokio::test]
async fn an_endpoint_that_is_no_url_is_an_error_not_a_panic() {
    for body in [
        r#"{"location": "westus", "properties": {"endpointUri": "urn:x"}}"#,
        r#"{"location": "westus", "properties": {"endpointUri": "not a url"}}"#,
    ] {
        let (got, _) = connect_through_arm(body).await;
        let err = got.unwrap_err();
        assert_eq!(err.name(), "NoWorkspaceLocation", "{body}: {err}");
        assert!(err.to_string().contains("endpointUri"), "{err}");
    }
}

#[tokio::test]
async fn a_local_arm_without_an_endpoint_does_not_send_to_azure() {
    let (got, log) = connect_through_arm(r#"{"location": "West US", "properties": {}}"#).await;
    let err = got.unwrap_err();
    assert_eq!(err.name(), "NoWorkspaceLocation", "{err}");
    assert_eq!(log.len(), 1, "{log:?}");
}

#[tokio::test]
async fn a_listing_whose_next_link_loops_ends_with_an_error() {
    let answer: Answer = Arc::new(|base, line| {
        if line.to_ascii_lowercase().contains("/workspaces/ws?") {
            (
                200,
                format!(r#"{{"location": "West US", "properties": {{"endpointUri": "{base}/"}}}}"#),
            )
        } else if line.contains("/providerStatus") {
            // Page 1 points to page 2, and page 2 back to page 1.
            let next = if line.contains("page=2") { "1" } else { "2" };
            (
                200,
                format!(
                    r#"{{"value": [], "nextLink": "{base}/subscriptions/f846b2bd-d0e2-4a1d-8141-4c6944a9d387/resourceGroups/rg/providers/Microsoft.Quantum/workspaces/ws/providerStatus?page={next}"}}"#
                ),
            )
        } else {
            (404, "{}".into())
        }
    });
    let (got, log) = connect_through(answer).await;
    let err = got.unwrap_err();
    assert_eq!(err.name(), "ServiceError", "{err}");
    assert!(err.to_string().contains("already read"), "{err}");
    let pages = log.iter().filter(|l| l.contains("providerStatus")).count();
    assert_eq!(
        pages, 3,
        "the first page, page 2, then page 1 again is refused: {pages}"
    );
}

/// Through a proxy that records CONNECTs, so that a request meant for management.azure.com is
/// seen here without leaving the machine.
async fn asks_public_arm(endpoint: &str) -> bool {
    let answer: Answer = Arc::new(|_, line| {
        if line.starts_with("CONNECT") {
            (403, String::new())
        } else {
            (
                400,
                r#"{"error": "invalid_client", "error_description": "no"}"#.into(),
            )
        }
    });
    let (base, log) = responder(answer).await;
    let cache = std::env::temp_dir().join(format!("azq-untrusted-{}", uuid::Uuid::new_v4()));
    let env = Env::default()
        .with("HTTPS_PROXY", &base)
        .with("AZURE_AUTHORITY_HOST", &base)
        .with(
            "AZURE_QUANTUM_TOKEN_CACHE",
            &format!("{}/", cache.display()),
        );
    let target = Target::Workspace {
        workspace: workspace(),
        location: None,
        endpoint: Some(url::Url::parse(&endpoint.replace("{base}", &base)).unwrap()),
    };
    let got = Workspace::connect(
        target,
        sign_in(env, CredentialKind::DeviceCode),
        &mut NoPrompt,
    )
    .await;
    assert!(got.is_err(), "the responder refuses the sign-in");
    let _ = std::fs::remove_dir_all(cache);
    let log = log.lock().unwrap().clone();
    log.iter()
        .any(|l| l.starts_with("CONNECT management.azure.com"))
}

#[tokio::test]
async fn an_emulator_endpoint_keeps_the_subscription_off_the_public_arm() {
    assert!(!asks_public_arm("{base}/").await);
    // The same connection to an Azure endpoint asks ARM for the tenant, so the check can fail.
    assert!(asks_public_arm("https://westus.quantum.azure.com/").await);
}

#[tokio::test]
async fn an_answer_over_the_size_cap_is_refused() {
    let answer: Answer = Arc::new(|_, line| {
        let size = if line.contains("big") {
            azq_client::http::MAX_BODY + 1
        } else {
            1024
        };
        (200, "x".repeat(size))
    });
    let (base, _) = responder(answer).await;
    let http = Http::new(&Env::default()).unwrap();
    let get = |path: &str| {
        azq_client::http::Request::get(url::Url::parse(&format!("{base}/{path}")).unwrap())
    };
    let err = http.send(get("big")).await.unwrap_err();
    assert_eq!(err.name(), "ServiceError", "{err}");
    assert!(err.to_string().contains("larger than 16 MiB"), "{err}");
    assert_eq!(http.send(get("small")).await.unwrap().body.len(), 1024);
}
