//! The in-process emulator harness the data-plane tests share: requests through the router
//! (no sockets), the workspace's routes with its API key, and submitting a program as the SDK does.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode};
use azq_emulator::{Config, Emulator, app};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const V: &str = "api-version=2026-01-15-preview";

pub struct T {
    pub em: Arc<Emulator>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
    /// The answer asks the connection layer to drop the connection (an injected fault).
    pub dropped: bool,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl T {
    pub fn new() -> T {
        Self::with(Config {
            job_delay: Duration::from_millis(5),
            ..Config::default()
        })
    }

    pub fn with(config: Config) -> T {
        T {
            em: Emulator::new(config, "http://127.0.0.1:9".into()),
        }
    }

    /// An admin route (`/_emulator/...`) with the workspace API key.
    pub async fn admin(&self, method: Method, route: &str, body: Option<Value>) -> Resp {
        let key = self.key();
        let body = body.map_or_else(Vec::new, |b| b.to_string().into_bytes());
        self.call(
            method,
            &format!("/_emulator/{route}"),
            &[
                ("x-ms-quantum-api-key", &key),
                ("content-type", "application/json"),
            ],
            body,
        )
        .await
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Resp {
        let path = uri.strip_prefix(&self.em.base_url).unwrap_or(uri);
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = app(self.em.clone())
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let dropped = resp
            .extensions()
            .get::<azq_emulator::faults::DropConnection>()
            .is_some();
        let headers = resp.headers().clone();
        let body = to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Resp {
            status,
            headers,
            body,
            dropped,
        }
    }

    pub fn key(&self) -> String {
        self.em.config.credentials.api_key.expose().to_owned()
    }

    pub async fn ws(&self, method: Method, rest: &str, body: Option<Value>) -> Resp {
        let sep = if rest.contains('?') { '&' } else { '?' };
        let uri = format!("{}/{rest}{sep}{V}", self.em.workspace_path());
        let key = self.key();
        let body = body.map_or_else(Vec::new, |b| b.to_string().into_bytes());
        self.call(
            method,
            &uri,
            &[
                ("x-ms-quantum-api-key", &key),
                ("content-type", "application/json"),
            ],
            body,
        )
        .await
    }

    /// Uploads a program and submits it the way the SDK does; returns the job id.
    pub async fn submit(
        &self,
        target: &str,
        provider: &str,
        format: &str,
        program: &str,
        params: Value,
    ) -> String {
        self.submit_with(target, provider, format, program, params, json!({}))
            .await
    }

    /// As `submit`, with more fields in the job (`sessionId`, `outputDataFormat`).
    pub async fn submit_with(
        &self,
        target: &str,
        provider: &str,
        format: &str,
        program: &str,
        params: Value,
        extra: Value,
    ) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let (sas, blob) = self.upload(&id, program).await;
        let mut job = json!({
            "id": id, "name": "test", "providerId": provider, "target": target, "itemType": "Job",
            "containerUri": sas, "inputDataUri": blob, "inputDataFormat": format, "inputParams": params,
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            job[k] = v.clone();
        }
        let r = self.ws(Method::PUT, &format!("jobs/{id}"), Some(job)).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.json()["status"], "Waiting");
        id
    }

    /// Uploads a job's input as the SDK does: the container's SAS, then the blob. Returns
    /// the container's SAS URL and the blob's.
    pub async fn upload(&self, id: &str, program: &str) -> (String, String) {
        let container = format!("job-{id}");
        let sas = self
            .ws(
                Method::POST,
                "storage/sasUri",
                Some(json!({ "containerName": container })),
            )
            .await
            .json()["sasUri"]
            .as_str()
            .unwrap()
            .to_owned();
        let (base, query) = sas.split_once('?').unwrap();
        let blob = format!("{base}/inputData?{query}");
        let r = self
            .call(
                Method::PUT,
                &blob,
                &[
                    ("x-ms-blob-type", "BlockBlob"),
                    ("content-type", "application/json"),
                ],
                program.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        (sas, blob)
    }

    pub async fn wait(&self, id: &str) -> Value {
        for _ in 0..400 {
            let job = self
                .ws(Method::GET, &format!("jobs/{id}"), None)
                .await
                .json();
            if matches!(
                job["status"].as_str(),
                Some("Succeeded" | "Failed" | "Cancelled")
            ) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("job {id} never finished");
    }

    pub async fn output(&self, job: &Value) -> Value {
        let r = self
            .call(
                Method::GET,
                job["outputDataUri"].as_str().unwrap(),
                &[],
                vec![],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        serde_json::from_slice(&r.body).unwrap()
    }
}
