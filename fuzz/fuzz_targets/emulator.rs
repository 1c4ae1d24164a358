//! Fuzz target `emulator`: the emulator's router (`azq_emulator::app`) called in-process
//! with tower's `oneshot` on a current-thread runtime whose clock is paused (an injected
//! latency costs no wall time). The input is a few requests, each with a fuzzed method,
//! path, query (the jobs listing's `$filter`, `$orderby`, `$top`, `$skip`), headers and
//! body, against a fresh emulator holding 30 seeded jobs. No request may panic (a handler
//! panic is answered as a 500 InternalError, counted here as a crash), and a listing that
//! succeeds is a page no longer than its `$top`.
//!
//! Input format, requests separated by a line `~~~`:
//! ```text
//! METHOD URI            ({ws} in the URI is the workspace's path, {sas} a container SAS
//!                        query for the blob container `c`, as `POST storage/sasUri` gives)
//! name: value           (headers; {key}, {arm} and {dp} in a value are the workspace API
//!                        key and bearer tokens for ARM and the data plane)
//!
//! body
//! ```
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::Request;
use azq_emulator::{Config, Credentials, Emulator, Secret, Store, app};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower::ServiceExt;

const BASE: &str = "http://127.0.0.1:9";

struct Fixture {
    config: Config,
    /// The store of an emulator after seeding 30 jobs, as JSON.
    store: Value,
    /// Bearer tokens (ARM, data plane) and when they were issued.
    tokens: Mutex<(String, String, Instant)>,
    /// The query of a read-write-list SAS for container `c` (valid for a day).
    sas: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

async fn send(em: &Arc<Emulator>, req: Request<Body>) -> (u16, Vec<u8>) {
    let resp = app(em.clone())
        .oneshot(req)
        .await
        .expect("the router is infallible");
    let status = resp.status().as_u16();
    let body = to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    (status, body.to_vec())
}

async fn token(em: &Arc<Emulator>, scope: &str) -> String {
    let c = &em.config.credentials;
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={scope}",
        c.client_id,
        c.client_secret.expose()
    );
    let req = Request::post(format!("/{}/oauth2/v2.0/token", em.config.tenant))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (status, body) = send(em, req).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

async fn tokens(em: &Arc<Emulator>) -> (String, String) {
    (
        token(em, "https://management.azure.com/.default").await,
        token(em, "https://quantum.microsoft.com/.default").await,
    )
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // Fixed secrets: inputs then behave the same on every run.
        let config = Config {
            credentials: Credentials {
                api_key: Secret::new("fuzz-api-key"),
                client_id: "00000000-0000-0000-0000-00000000f022".into(),
                client_secret: Secret::new("fuzz-client-secret"),
                signing_key: Secret::new("fuzz-signing-key"),
                storage_key: Secret::new("ZnV6ei1zdG9yYWdlLWtleQ=="),
            },
            identity_header: Secret::new("fuzz-identity-header"),
            ..Config::default()
        };
        let em = Emulator::new(config.clone(), BASE.into());
        runtime().block_on(async {
            let req = Request::post("/_emulator/jobs")
                .header("x-ms-quantum-api-key", "fuzz-api-key")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"count": 30}"#))
                .unwrap();
            let (status, body) = send(&em, req).await;
            assert!(status < 300, "{}", String::from_utf8_lossy(&body));
            let (arm, dp) = tokens(&em).await;
            let req = Request::post(format!(
                "{}/storage/sasUri?api-version=2026-01-15-preview",
                em.workspace_path()
            ))
            .header("x-ms-quantum-api-key", "fuzz-api-key")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"containerName": "c"}"#))
            .unwrap();
            let (status, body) = send(&em, req).await;
            assert!(status < 300, "{}", String::from_utf8_lossy(&body));
            let v: Value = serde_json::from_slice(&body).unwrap();
            let url = v["sasUri"].as_str().expect("a SAS URL");
            let sas = url.split_once('?').expect("a SAS query").1.to_owned();
            let store = em.store.lock().unwrap().to_json();
            Fixture {
                config,
                store,
                tokens: Mutex::new((arm, dp, Instant::now())),
                sas,
            }
        })
    })
}

/// One request from its text, or `None` if `http` itself refuses it (not the emulator's
/// concern).
fn request(text: &str, fx: &Fixture, ws: &str, arm: &str, dp: &str) -> Option<Request<Body>> {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let (method, uri) = lines.next()?.split_once(' ')?;
    let mut req = Request::builder()
        .method(method)
        .uri(uri.replace("{ws}", ws).replace("{sas}", &fx.sas));
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value
            .trim_start()
            .replace("{key}", fx.config.credentials.api_key.expose())
            .replace("{arm}", arm)
            .replace("{dp}", dp);
        req = req.header(name, value);
    }
    req.body(Body::from(body.to_owned())).ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fx = fixture();
    let em = Emulator::new(fx.config.clone(), BASE.into());
    *em.store.lock().unwrap() = Store::from_json(&fx.store).expect("the seeded store reloads");
    let ws = em.workspace_path();
    let rt = runtime();
    let (arm, dp) = {
        let mut t = fx.tokens.lock().unwrap();
        // Tokens live an hour; long runs take new ones.
        if t.2.elapsed() > Duration::from_secs(600) {
            let (a, d) = rt.block_on(tokens(&em));
            *t = (a, d, Instant::now());
        }
        (t.0.clone(), t.1.clone())
    };
    rt.block_on(async {
        for one in text.split("\n~~~\n").take(8) {
            let Some(req) = request(one, fx, &ws, &arm, &dp) else {
                continue;
            };
            let listing =
                req.method() == "GET" && req.uri().path().trim_end_matches('/').ends_with("/jobs");
            let (status, body) = send(&em, req).await;
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            assert!(
                !(status == 500 && body["error"]["code"] == "InternalError"),
                "a handler panicked: {body}"
            );
            if listing && status == 200 {
                let page = body["value"].as_array().map_or(0, Vec::len);
                assert!(page <= 1000, "a page of {page} items");
            }
        }
    });
});
