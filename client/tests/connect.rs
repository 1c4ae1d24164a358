//! The client against the emulator in-process: an API-key connection, retries that reuse the
//! request id, a refused key, and a device-code login cached and reused by a second credential.

use std::time::Duration;

use azq_client::credential::CredentialKind;
use azq_client::http::Request;
use azq_client::{ConnectionString, Env, Http, Prompt, Target, Workspace};

mod common;
use common::sign_in;

async fn emulator(config: azq_emulator::Config) -> (String, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let em = azq_emulator::Emulator::new(config, url.clone());
    let cs = em.connection_string();
    tokio::spawn(azq_emulator::serve(listener, em, std::future::pending()));
    (url, cs)
}

#[derive(Default)]
struct Count {
    prompts: usize,
    signed_in: Vec<String>,
}

impl Prompt for Count {
    fn device_code(&mut self, _: &str, code: &str, _: Duration) {
        assert!(!code.is_empty());
        self.prompts += 1;
    }
    fn signed_in(&mut self, account: &str) {
        self.signed_in.push(account.to_owned());
    }
}

#[tokio::test]
async fn api_key_connections_retry_transient_failures_with_one_request_id() {
    let config = azq_emulator::Config {
        faults: vec![azq_emulator::faults::parse("GET **/providerStatus 503 0.6").unwrap()],
        fault_seed: 7,
        ..Default::default()
    };
    let (url, cs) = emulator(config).await;
    let key = cs
        .split("ApiKey=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let env = Env::default();
    let target = Target::ConnectionString(ConnectionString::parse(&cs).unwrap());
    for _ in 0..5 {
        let signed = sign_in(env.clone(), CredentialKind::ApiKey);
        let (ws, providers) = Workspace::connect(target.clone(), signed, &mut Count::default())
            .await
            .unwrap();
        assert_eq!(ws.credential_kind(), CredentialKind::ApiKey);
        assert!(providers.iter().any(|p| p.id == "ionq"));
    }
    let http = Http::new(&env).unwrap();
    let log = http
        .send(
            Request::get(url::Url::parse(&format!("{url}/_emulator/requests")).unwrap())
                .secret("x-ms-quantum-api-key", azq_client::Secret::new(key)),
        )
        .await
        .unwrap();
    let log: serde_json::Value = serde_json::from_slice(&log.body).unwrap();
    let all = log["value"].as_array().or(log.as_array()).expect("a list");
    let entries: Vec<&serde_json::Value> = all
        .iter()
        .filter(|e| {
            e["path"]
                .as_str()
                .unwrap_or("")
                .ends_with("/providerStatus")
        })
        .collect();
    let failed = entries.iter().filter(|e| e["status"] == 503).count();
    assert!(failed > 0, "the faults fired: {entries:?}");
    assert_eq!(
        entries.len() - failed,
        5,
        "each connect ended with one success"
    );
    // A retried request keeps its id: every id that failed reappears on a success.
    let ids = |status: u16| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e["status"] == status)
            .map(|e| e["clientRequestId"].as_str().unwrap().to_owned())
            .collect()
    };
    let ok_ids = ids(200);
    assert!(ids(503).iter().all(|id| ok_ids.contains(id)));
}

#[tokio::test]
async fn a_wrong_key_names_the_api_key() {
    let (_, cs) = emulator(azq_emulator::Config::default()).await;
    let wrong = cs.replace("ApiKey=", "ApiKey=x");
    let target = Target::ConnectionString(ConnectionString::parse(&wrong).unwrap());
    let signed = sign_in(Env::default(), CredentialKind::ApiKey);
    let err = Workspace::connect(target, signed, &mut Count::default())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "AuthenticationFailed");
    assert!(err.to_string().contains("workspace API key"), "{err}");
}

#[tokio::test]
async fn a_device_code_login_is_cached_for_the_next_credential() {
    let config = azq_emulator::Config {
        auto_approve: true,
        device_code_interval: Duration::from_secs(1),
        ..Default::default()
    };
    let (url, cs) = emulator(config).await;
    let ws = ConnectionString::parse(&cs).unwrap().workspace;
    let dir = std::env::temp_dir().join(format!("azq-client-test-{}", uuid::Uuid::new_v4()));
    let env = Env::default()
        .with("AZURE_AUTHORITY_HOST", &url)
        .with("AZQ_ARM_ENDPOINT", &url)
        .with("AZURE_QUANTUM_TOKEN_CACHE", &format!("{}/", dir.display()));
    let target = Target::Workspace {
        workspace: ws,
        location: None,
        endpoint: None,
    };
    let mut first = Count::default();
    let signed = sign_in(env.clone(), CredentialKind::DeviceCode);
    let (connected, _) = Workspace::connect(target.clone(), signed, &mut first)
        .await
        .unwrap();
    assert_eq!(first.prompts, 1);
    assert_eq!(first.signed_in.len(), 1);
    assert_eq!(
        connected.location.as_deref(),
        Some("westus"),
        "found through ARM"
    );
    let mut second = Count::default();
    Workspace::connect(
        target,
        sign_in(env, CredentialKind::DeviceCode),
        &mut second,
    )
    .await
    .unwrap();
    assert_eq!(second.prompts, 0, "the cached login was used");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A caller with no person to ask (the background job watcher) must never start a device-code
/// sign-in nobody sees: without a cached login the token call fails at once, naming what to do.
#[tokio::test]
async fn no_prompt_never_starts_a_device_code_sign_in() {
    // Not auto-approved: a started sign-in would wait for its code to expire.
    let (url, _) = emulator(azq_emulator::Config::default()).await;
    let dir = std::env::temp_dir().join(format!("azq-client-test-{}", uuid::Uuid::new_v4()));
    let env = Env::default()
        .with("AZURE_AUTHORITY_HOST", &url)
        .with("AZURE_QUANTUM_TOKEN_CACHE", &format!("{}/", dir.display()));
    let credential = azq_client::Credential::new(sign_in(env, CredentialKind::DeviceCode)).unwrap();
    let got = tokio::time::timeout(
        Duration::from_secs(10),
        credential.token(
            "https://quantum.microsoft.com/.default",
            &mut azq_client::NoPrompt,
        ),
    )
    .await
    .expect("a sign-in with nobody to ask must not wait for a code");
    let err = got.unwrap_err();
    assert_eq!(err.name(), "AuthenticationFailed");
    assert!(err.to_string().contains("%azure.connect"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
