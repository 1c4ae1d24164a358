//! The security review's findings against a served emulator, through real HTTP on loopback:
//! one bad request must not disable the emulator, identity endpoints need their secret,
//! bodies are read only after authentication, device codes are bounded, jobs are bounded.

use std::sync::Arc;
use std::time::Duration;

use azq_emulator::{Config, Emulator, serve};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const V: &str = "api-version=2026-01-15-preview";

/// A served emulator and a minimal HTTP/1.1 client for it.
struct Served {
    em: Arc<Emulator>,
    addr: std::net::SocketAddr,
}

struct Resp {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn start(config: Config) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let em = Emulator::new(config, format!("http://{addr}"));
    tokio::spawn(serve(listener, em.clone(), std::future::pending()));
    Served { em, addr }
}

fn quick() -> Config {
    Config {
        job_delay: Duration::from_millis(5),
        ..Config::default()
    }
}

impl Served {
    /// Sends one request (`Connection: close`) and reads the whole answer; a connection the
    /// server drops without answering is status 0.
    async fn raw(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let io = async {
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body).await?;
            let mut all = Vec::new();
            stream.read_to_end(&mut all).await?;
            Ok::<_, std::io::Error>(all)
        };
        let all = tokio::time::timeout(Duration::from_secs(30), io)
            .await
            .expect("the emulator answers within 30 s (hang guard)")
            .unwrap_or_default();
        let split = all
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(all.len(), |p| p + 4);
        let head = String::from_utf8_lossy(&all[..split]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut body = all[split..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        Resp { status, head, body }
    }

    fn key(&self) -> String {
        self.em.config.credentials.api_key.expose().to_owned()
    }

    async fn ws(&self, method: &str, rest: &str, body: Option<Value>) -> Resp {
        let sep = if rest.contains('?') { '&' } else { '?' };
        let target = format!("{}/{rest}{sep}{V}", self.em.workspace_path());
        let key = self.key();
        let body = body.map_or_else(Vec::new, |b| b.to_string().into_bytes());
        self.raw(
            method,
            &target,
            &[
                ("x-ms-quantum-api-key", &key),
                ("content-type", "application/json"),
            ],
            &body,
        )
        .await
    }

    /// The path and query of a URL the emulator handed out.
    fn local(&self, url: &str) -> String {
        url.strip_prefix(&self.em.base_url)
            .unwrap_or(url)
            .to_owned()
    }

    /// Uploads `program` as a job's input; returns (container SAS URL, blob URL).
    async fn upload(&self, id: &str, program: &str) -> (String, String) {
        let sas = self
            .ws(
                "POST",
                "storage/sasUri",
                Some(json!({ "containerName": format!("job-{id}") })),
            )
            .await
            .json()["sasUri"]
            .as_str()
            .unwrap()
            .to_owned();
        let (base, query) = sas.split_once('?').unwrap();
        let blob = format!("{base}/inputData?{query}");
        let r = self
            .raw(
                "PUT",
                &self.local(&blob),
                &[("x-ms-blob-type", "BlockBlob")],
                program.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        (sas, blob)
    }

    async fn submit_qasm(&self, program: &str, shots: u64) -> String {
        self.submit_qasm_to("quantinuum.sim.h2-1e", program, shots)
            .await
    }

    async fn submit_qasm_to(&self, target: &str, program: &str, shots: u64) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let (sas, blob) = self.upload(&id, program).await;
        let job = json!({
            "id": id, "name": "t", "providerId": "quantinuum", "target": target,
            "itemType": "Job", "containerUri": sas, "inputDataUri": blob,
            "inputDataFormat": "honeywell.openqasm.v1", "inputParams": {"shots": shots},
        });
        let r = self.ws("PUT", &format!("jobs/{id}"), Some(job)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        id
    }

    async fn job(&self, id: &str) -> Value {
        self.ws("GET", &format!("jobs/{id}"), None).await.json()
    }

    /// Polls until the job is terminal (deadline: a hang guard).
    async fn finished(&self, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let job = self.job(id).await;
            if matches!(
                job["status"].as_str(),
                Some("Succeeded" | "Failed" | "Cancelled")
            ) {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {id} never finished"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Whether the emulator still answers an ordinary request.
    async fn alive(&self) -> bool {
        self.ws("GET", "jobs", None).await.status == 200
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
}

// --- Item 2: one request must not disable the emulator ------------------------------------

#[tokio::test]
async fn a_filter_with_a_multibyte_character_is_refused_and_the_emulator_lives_on() {
    let s = start(quick()).await;
    assert!(s.alive().await);
    for filter in [
        "%C3%A9",
        "Name%20eq%20%27%C3%A9%27%20and%20%C3%A9",
        "%C3%A9%20and",
    ] {
        let r = s.ws("GET", &format!("jobs?$filter={filter}"), None).await;
        assert!(
            r.status == 400 || r.status == 200,
            "$filter={filter}: {} {}",
            r.status,
            r.text()
        );
    }
    let r = s.ws("GET", "jobs?$filter=%C3%A9", None).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "InvalidQueryParameter");
    assert!(s.alive().await, "the emulator stopped answering");
}

#[tokio::test]
async fn an_inverted_range_is_416_and_the_emulator_lives_on() {
    let s = start(quick()).await;
    let id = uuid::Uuid::new_v4().to_string();
    let (_, blob) = s.upload(&id, "0123456789").await;
    let target = s.local(&blob);
    let r = s.raw("GET", &target, &[("range", "bytes=5-2")], b"").await;
    assert_eq!(r.status, 416, "{}", r.text());
    assert!(
        r.head.contains("x-ms-error-code: InvalidRange"),
        "{}",
        r.head
    );
    let r = s
        .raw("GET", &target, &[("x-ms-range", "bytes=5-2")], b"")
        .await;
    assert_eq!(r.status, 416, "{}", r.text());
    let r = s.raw("GET", &target, &[("range", "bytes=2-5")], b"").await;
    assert_eq!((r.status, r.text().as_str()), (206, "2345"));
    assert!(s.alive().await, "the emulator stopped answering");
}

#[tokio::test]
async fn a_poisoned_lock_does_not_take_every_later_request_down() {
    let s = start(quick()).await;
    // A panic while the store is held (any bug, anywhere) poisons its lock.
    let em = s.em.clone();
    let _ = std::thread::spawn(move || {
        let _held = em.store.lock();
        panic!("a bug while holding the store");
    })
    .join();
    assert!(s.em.store.is_poisoned());
    assert!(
        s.alive().await,
        "every request fails once the store lock is poisoned"
    );
    let id = s.submit_qasm("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[1]; creg c[1]; h q[0]; measure q[0] -> c[0];", 10).await;
    assert_eq!(s.finished(&id).await["status"], "Succeeded");
}

// --- Item 2: managed-identity tokens need the identity secret ------------------------------

const IMDS_PATH: &str = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fquantum.microsoft.com";

#[tokio::test]
async fn the_vm_identity_endpoint_needs_the_secret_unless_opened() {
    let s = start(quick()).await;
    let secret = s.em.config.identity_header.expose().to_owned();
    // `Metadata: true` alone is what any local process can send.
    let r = s.raw("GET", IMDS_PATH, &[("metadata", "true")], b"").await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.json()["access_token"].is_null());
    assert!(r.text().contains("--open-imds"), "{}", r.text());
    // The address the emulator prints carries the secret in its path.
    let at = |s: &str| format!("/identity/{s}{IMDS_PATH}");
    let r = s
        .raw("GET", &at("wrong"), &[("metadata", "true")], b"")
        .await;
    assert_eq!(r.status, 401, "{}", r.text());
    let r = s.raw("GET", &at(&secret), &[], b"").await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s
        .raw("GET", &at(&secret), &[("metadata", "true")], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["access_token"].is_string());
    // The request log never shows the secret.
    let key = s.key();
    let log = s
        .raw(
            "GET",
            "/_emulator/requests",
            &[("x-ms-quantum-api-key", &key)],
            b"",
        )
        .await;
    assert_eq!(log.status, 200);
    assert!(
        log.text().contains("/identity/REDACTED/metadata"),
        "{}",
        log.text()
    );
    assert!(!log.text().contains(&secret));
    // App Service form: the header is required.
    let msi = "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fquantum.microsoft.com";
    assert_eq!(s.raw("GET", msi, &[], b"").await.status, 401);
    assert_eq!(
        s.raw("GET", msi, &[("x-identity-header", &secret)], b"")
            .await
            .status,
        200
    );

    // Opened on purpose: the bare path answers, as a VM's IMDS does.
    let open = start(Config {
        open_imds: true,
        ..quick()
    })
    .await;
    let r = open
        .raw("GET", IMDS_PATH, &[("metadata", "true")], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

// --- Item 8: authenticate first, then read; bounded device codes ---------------------------

/// Sends only a request's head, announcing a large body, and reads the answer: a server
/// that authenticates first answers without waiting for the body.
async fn head_only(s: &Served, method: &str, target: &str, headers: &[(&str, &str)]) -> u16 {
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: 60000000\r\n",
        s.addr
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = [0u8; 12];
    // Hang guard: a server reading the body first would wait for 60 MB that never come.
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut answer))
        .await
        .expect("an unauthenticated request is answered before its body is read")
        .unwrap();
    String::from_utf8_lossy(&answer[9..12]).parse().unwrap()
}

#[tokio::test]
async fn unauthenticated_requests_are_refused_before_their_body_is_read() {
    let s = start(quick()).await;
    let id = uuid::Uuid::new_v4();
    let job = format!("{}/jobs/{id}?{V}", s.em.workspace_path());
    assert_eq!(head_only(&s, "PUT", &job, &[]).await, 401);
    assert_eq!(
        head_only(&s, "PUT", &job, &[("x-ms-quantum-api-key", "wrong-key")]).await,
        401
    );
    let blob = format!("/blob/{}/job-{id}/inputData", s.em.config.storage_account);
    assert_eq!(
        head_only(&s, "PUT", &blob, &[("x-ms-blob-type", "BlockBlob")]).await,
        403
    );
    assert_eq!(head_only(&s, "POST", "/_emulator/faults", &[]).await, 401);
    // Sign-in forms are small: a large one is refused at once.
    let token = format!("/{}/oauth2/v2.0/token", s.em.config.tenant);
    assert_eq!(head_only(&s, "POST", &token, &[]).await, 413);
    assert!(s.alive().await);
}

#[tokio::test]
async fn pending_device_codes_are_bounded_and_still_redeemable() {
    let s = start(quick()).await;
    let path = format!("/{}/oauth2/v2.0/devicecode", s.em.config.tenant);
    let form = b"client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&scope=https%3A%2F%2Fquantum.microsoft.com%2F.default";
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    let first = s.raw("POST", &path, &ct, form).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let mut refused = None;
    for n in 1..=5000 {
        let r = s.raw("POST", &path, &ct, form).await;
        if r.status != 200 {
            refused = Some((n, r));
            break;
        }
    }
    let (n, r) = refused.expect("5000 pending sign-ins were all accepted");
    assert!(n <= 1000, "refused only after {n}");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("too many device-code sign-ins are pending"),
        "{}",
        r.text()
    );
    // The first one is still there to poll.
    let token = format!("/{}/oauth2/v2.0/token", s.em.config.tenant);
    let poll = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=x&device_code={}",
        first.json()["device_code"].as_str().unwrap()
    );
    let r = s.raw("POST", &token, &ct, poll.as_bytes()).await;
    assert_eq!(r.json()["error"], "authorization_pending", "{}", r.text());
}

// --- Item 3: one job cannot exhaust memory; jobs run a few at a time ----------------------

#[tokio::test]
async fn a_job_keeping_too_many_classical_bits_fails_saying_what_to_change() {
    let s = start(quick()).await;
    // 1,000,000 shots of 200 classical bits each: 200 million bits kept for the per-shot
    // result (the review's case, 65,535 bits, would be 65 GB).
    for creg in [200, 65535] {
        let program = format!(
            "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[1]; creg c[{creg}]; h q[0]; measure q[0] -> c[0];"
        );
        let id = s.submit_qasm(&program, 1_000_000).await;
        let job = s.finished(&id).await;
        assert_eq!(job["status"], "Failed", "{job}");
        let message = job["errorData"]["message"].as_str().unwrap();
        assert!(
            message.contains("shots")
                && message.contains("classical bits")
                && message.contains("fewer"),
            "{message}"
        );
    }
    // Within the bound the same program runs.
    let id = s
        .submit_qasm(
            "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[1]; creg c[64]; h q[0]; measure q[0] -> c[0];",
            100_000,
        )
        .await;
    assert_eq!(s.finished(&id).await["status"], "Succeeded");
}

#[tokio::test]
async fn jobs_beyond_the_bound_wait_their_turn() {
    let s = start(Config {
        job_delay: Duration::from_millis(50),
        max_running_jobs: 1,
        ..Config::default()
    })
    .await;
    let bell = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;";
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(s.submit_qasm(bell, 100).await);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut most = 0;
    loop {
        let listed = s.ws("GET", "jobs", None).await.json();
        let statuses: Vec<&str> = listed["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["status"].as_str().unwrap())
            .collect();
        most = most.max(statuses.iter().filter(|s| **s == "Executing").count());
        if statuses.iter().all(|s| *s == "Succeeded") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{statuses:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(most, 1, "more jobs executed at once than the bound");
}

#[tokio::test]
async fn a_job_for_an_unavailable_target_waits_in_its_queue_without_holding_a_turn() {
    // As on Azure: a machine down for maintenance takes jobs and holds them until it is back,
    // so a job there stays Waiting (and can be cancelled) while other targets run theirs.
    let s = start(Config {
        max_running_jobs: 1,
        ..quick()
    })
    .await;
    let bell =
        "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[1]; creg c[1]; h q[0]; measure q -> c;";
    let held = s.submit_qasm_to("quantinuum.qpu.h2-1", bell, 10).await;
    let other = s.submit_qasm_to("quantinuum.qpu.h2-1", bell, 10).await;
    let ran = s.finished(&s.submit_qasm(bell, 10).await).await;
    assert_eq!(ran["status"], "Succeeded", "{ran}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    for id in [&held, &other] {
        assert_eq!(s.job(id).await["status"], "Waiting");
    }
    let r = s.ws("POST", &format!("jobs/{held}:cancel"), None).await;
    assert!(r.status < 300, "{} {}", r.status, r.text());
    assert_eq!(s.job(&held).await["status"], "Cancelled");
    assert_eq!(s.job(&other).await["status"], "Waiting");
}
