//! The emulator follows its jobs: queue positions, what a finished job used (shots, usage,
//! cost events per provider), quotas that grow with the jobs run, and the test aids (bulk
//! seeding, creation counts, faults on a job's PUT).

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use azq_emulator::{Config, serve};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{T, V};

const BELL_IONQ: &str = r#"{"qubits": 2, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}"#;
const BELL_QASM: &str = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q[0] -> c[0]; measure q[1] -> c[1];";
const BELL_QUIL: &str = "DECLARE ro BIT[2]\nH 0\nCNOT 0 1\nMEASURE 0 ro[0]\nMEASURE 1 ro[1]\n";

/// An emulator whose jobs stay Waiting (their delay outlasts any test).
fn held() -> T {
    T::with(Config {
        job_delay: Duration::from_secs(3600),
        ..Config::default()
    })
}

async fn position(t: &T, id: &str) -> Value {
    let r = t
        .ws(Method::GET, &format!("jobs/{id}/queuePosition"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert!(v.as_object().unwrap().contains_key("queuePosition"), "{v}");
    v["queuePosition"].clone()
}

#[tokio::test]
async fn queue_position_counts_the_jobs_waiting_ahead_on_the_same_target() {
    let t = held();
    let ionq = |t: &'static str| (t, "ionq", "ionq.circuit.v1", BELL_IONQ);
    let mut ids = Vec::new();
    for (target, provider, format, program) in [
        ionq("ionq.simulator"),
        ("rigetti.sim.qvm", "rigetti", "rigetti.quil.v1", BELL_QUIL),
        ionq("ionq.simulator"),
        ionq("ionq.simulator"),
    ] {
        ids.push(t.submit(target, provider, format, program, json!({})).await);
    }
    let mut got = Vec::new();
    for id in &ids {
        got.push(position(&t, id).await);
    }
    assert_eq!(got, [json!(0), json!(0), json!(1), json!(2)]);
    // A job that leaves the queue moves those behind it up; a finished job has no position.
    let r = t
        .ws(Method::POST, &format!("jobs/{}:cancel", ids[0]), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(position(&t, &ids[0]).await, Value::Null);
    assert_eq!(position(&t, &ids[2]).await, json!(0));
    assert_eq!(position(&t, &ids[3]).await, json!(1));
    // An executing job is at the head (0), and no longer ahead of anyone.
    t.em.store
        .lock()
        .unwrap()
        .jobs
        .get_mut(&ids[2])
        .unwrap()
        .insert("status".into(), json!("Executing"));
    assert_eq!(position(&t, &ids[2]).await, json!(0));
    assert_eq!(position(&t, &ids[3]).await, json!(0));
    let missing = uuid::Uuid::new_v4().to_string();
    let r = t
        .ws(Method::GET, &format!("jobs/{missing}/queuePosition"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

fn event<'a>(job: &'a Value, dimension: &str) -> &'a Value {
    job["costEstimate"]["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no cost events: {job}"))
        .iter()
        .find(|e| e["dimensionId"] == dimension)
        .unwrap_or_else(|| panic!("no {dimension} event: {job}"))
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

#[tokio::test]
async fn finished_jobs_report_shots_usage_and_cost_as_their_provider_does() {
    let t = T::new();
    // Before it runs, a job has used nothing: usage and cost are unset, no shot succeeded.
    let id = uuid::Uuid::new_v4().to_string();
    let (sas, blob) = t.upload(&id, BELL_IONQ).await;
    let created = t
        .ws(
            Method::PUT,
            &format!("jobs/{id}"),
            Some(json!({"providerId": "ionq", "target": "ionq.simulator", "containerUri": sas,
                "inputDataUri": blob, "inputDataFormat": "ionq.circuit.v1", "inputParams": {"shots": 100}})),
        )
        .await
        .json();
    assert_eq!(
        (
            &created["usage"],
            &created["costEstimate"],
            &created["shotsSucceeded"]
        ),
        (&Value::Null, &Value::Null, &json!(0)),
        "{created}"
    );
    // IonQ bills gate-shots: one 1q and one 2q gate, 100 shots. The simulator is free.
    let job = t.wait(&id).await;
    assert_eq!(job["status"], "Succeeded", "{job}");
    assert_eq!(
        (&job["shots"], &job["shotsSucceeded"], &job["shotsFailed"]),
        (&json!(100), &json!(100), &json!(0))
    );
    for d in ["gs1q", "gs2q"] {
        let e = event(&job, d);
        assert!(
            close(&e["amountConsumed"], 100.0)
                && close(&e["amountBilled"], 0.0)
                && close(&e["unitPrice"], 0.0),
            "{e}"
        );
        assert!(close(&job["usage"][d], 100.0), "{job}");
    }
    assert_eq!(job["costEstimate"]["currencyCode"], "USD");
    assert!(close(&job["costEstimate"]["estimatedTotal"], 0.0));
    assert!(job["usage"]["standardMinutes"].as_f64().unwrap() >= 0.0);
    // The QPU is billed at its rates, with its minimum per program.
    let id = t
        .submit(
            "ionq.qpu.aria-1",
            "ionq",
            "ionq.circuit.v1",
            BELL_IONQ,
            json!({"shots": 1000}),
        )
        .await;
    let job = t.wait(&id).await;
    let e = event(&job, "gs2q");
    assert!(
        close(&e["amountConsumed"], 1000.0)
            && close(&e["amountBilled"], 1000.0)
            && close(&e["unitPrice"], 0.000975),
        "{e}"
    );
    assert!(close(&job["costEstimate"]["estimatedTotal"], 97.5), "{job}");
    // Quantinuum's emulator bills emulator credits: 5 + C (N1q + 10 N2q + 5 Nm) / 5000,
    // with 2 preparations and 2 measurements: 5 + 10 × 31 / 5000 = 5.062.
    let id = t
        .submit(
            "quantinuum.sim.h2-1e",
            "quantinuum",
            "honeywell.openqasm.v1",
            BELL_QASM,
            json!({"shots": 10}),
        )
        .await;
    let job = t.wait(&id).await;
    let e = event(&job, "ehqc");
    assert_eq!(
        (&e["dimensionName"], &e["measureUnit"]),
        (&json!("EHQC"), &json!("hqc"))
    );
    assert!(
        close(&e["amountConsumed"], 5.06) && close(&e["amountBilled"], 5.06),
        "{e}"
    );
    assert!(close(&job["usage"]["ehqc"], 5.06), "{job}");
    assert_eq!(job["shotsSucceeded"], 10);
    // The syntax checker costs nothing but still reports its unit.
    let id = t
        .submit(
            "quantinuum.sim.h2-1sc",
            "quantinuum",
            "honeywell.openqasm.v1",
            BELL_QASM,
            json!({"shots": 10}),
        )
        .await;
    let job = t.wait(&id).await;
    assert!(close(&event(&job, "hqc")["amountConsumed"], 0.0), "{job}");
    // Rigetti bills QPU time in 10 ms units, rounded up (shots are `count`).
    let id = t
        .submit(
            "rigetti.sim.qvm",
            "rigetti",
            "rigetti.quil.v1",
            BELL_QUIL,
            json!({"count": 7}),
        )
        .await;
    let job = t.wait(&id).await;
    let e = event(&job, "qpu_time_centiseconds");
    assert!(e["amountConsumed"].as_f64().unwrap() >= 1.0, "{e}");
    assert!(close(&e["amountBilled"], 0.0), "the QVM is free: {e}");
    assert_eq!(job["shotsSucceeded"], 7);
    // A failed job ran no shots and has no cost.
    let id = t
        .submit(
            "ionq.simulator",
            "ionq",
            "ionq.circuit.v1",
            "{not a circuit",
            json!({"shots": 10}),
        )
        .await;
    let job = t.wait(&id).await;
    assert_eq!(job["status"], "Failed");
    assert_eq!(
        (&job["shotsSucceeded"], &job["costEstimate"]),
        (&json!(0), &Value::Null)
    );
}

async fn quotas(t: &T) -> Vec<Value> {
    let r = t.ws(Method::GET, "quotas", None).await;
    assert_eq!(r.status, StatusCode::OK);
    r.json()["value"].as_array().unwrap().clone()
}

fn used(rows: &[Value], provider: &str, dimension: &str) -> f64 {
    let row = rows
        .iter()
        .find(|q| q["providerId"] == provider && q["dimension"] == dimension)
        .unwrap_or_else(|| panic!("no {provider} {dimension} quota: {rows:?}"));
    row["utilization"].as_f64().unwrap()
}

#[tokio::test]
async fn quotas_grow_with_the_jobs_run_per_provider_and_dimension() {
    let t = T::new();
    let fresh = quotas(&t).await;
    assert!(
        fresh.iter().all(|q| q["utilization"] == 0.0),
        "a fresh emulator has used nothing: {fresh:?}"
    );
    let ionq = t
        .submit(
            "ionq.simulator",
            "ionq",
            "ionq.circuit.v1",
            BELL_IONQ,
            json!({"shots": 100}),
        )
        .await;
    t.wait(&ionq).await;
    let rows = quotas(&t).await;
    assert!(
        (used(&rows, "ionq", "qgs") - 200.0).abs() < 1e-9,
        "{rows:?}"
    );
    assert_eq!(used(&rows, "quantinuum", "ehqc"), 0.0);
    assert_eq!(used(&rows, "rigetti", "minutes"), 0.0);
    let q = t
        .submit(
            "quantinuum.sim.h2-1e",
            "quantinuum",
            "honeywell.openqasm.v1",
            BELL_QASM,
            json!({"shots": 10}),
        )
        .await;
    let r = t
        .submit(
            "rigetti.sim.qvm",
            "rigetti",
            "rigetti.quil.v1",
            BELL_QUIL,
            json!({}),
        )
        .await;
    let again = t
        .submit(
            "ionq.simulator",
            "ionq",
            "ionq.circuit.v1",
            BELL_IONQ,
            json!({"shots": 50}),
        )
        .await;
    for id in [&q, &r, &again] {
        t.wait(id).await;
    }
    let rows = quotas(&t).await;
    assert!(
        (used(&rows, "ionq", "qgs") - 300.0).abs() < 1e-9,
        "{rows:?}"
    );
    assert!(
        (used(&rows, "quantinuum", "ehqc") - 5.06).abs() < 1e-9,
        "{rows:?}"
    );
    assert_eq!(used(&rows, "quantinuum", "hqc"), 0.0);
    assert!(used(&rows, "rigetti", "minutes") > 0.0, "{rows:?}");
    for q in &rows {
        for k in ["dimension", "scope", "providerId", "period"] {
            assert!(q[k].is_string(), "{q}");
        }
        for k in ["utilization", "holds", "limit"] {
            assert!(q[k].is_number(), "{q}");
        }
    }
}

fn names(page: &Value) -> Vec<String> {
    page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Every job a listing returns, following nextLink.
async fn list_all(t: &T, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(format!(
        "{}/jobs?{query}&top=1000&{V}",
        t.em.workspace_path()
    ));
    let key = t.key();
    while let Some(uri) = next {
        let r = t
            .call(Method::GET, &uri, &[("x-ms-quantum-api-key", &key)], vec![])
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        let page = r.json();
        out.extend(page["value"].as_array().unwrap().iter().cloned());
        next = page["nextLink"].as_str().map(str::to_owned);
    }
    out
}

#[tokio::test]
async fn bulk_seeded_jobs_are_listed_filtered_and_ordered() {
    let t = T::new();
    let real = t
        .submit(
            "ionq.simulator",
            "ionq",
            "ionq.circuit.v1",
            BELL_IONQ,
            json!({}),
        )
        .await;
    let targets = ["ionq.simulator", "rigetti.sim.qvm", "quantinuum.sim.h2-1e"];
    let r = t
        .admin(
            Method::POST,
            "jobs",
            Some(json!({"count": 10_000, "targets": targets, "namePrefix": "bulk"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let seeded = r.json();
    assert_eq!(seeded["created"], 10_000);
    assert_eq!(seeded["first"]["name"], "bulk-000000");
    assert_eq!(seeded["last"]["name"], "bulk-009999");
    // Newest first: the job submitted before the seed is newer than every seeded one
    // (seeded jobs were created in the past), then the seeded ones from the last.
    let newest = t
        .ws(Method::GET, "jobs?orderby=CreationTime%20desc&top=31", None)
        .await
        .json();
    let got = names(&newest);
    assert_eq!(got[0], "test");
    let want: Vec<String> = (9970..10_000)
        .rev()
        .map(|i| format!("bulk-{i:06}"))
        .collect();
    assert_eq!(got[1..], want[..]);
    // The default order (creation order) agrees: the real job comes last.
    let all = list_all(&t, "").await;
    assert_eq!(all.len(), 10_001);
    assert_eq!(all.last().unwrap()["id"], real.as_str());
    let times: Vec<&str> = all
        .iter()
        .map(|j| j["creationTime"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "distinct and in order"
    );
    // Target i % 3, status (i / 3) % 3 of Succeeded, Failed, Cancelled.
    let statuses = ["Succeeded", "Failed", "Cancelled"];
    let expect = |target: usize, status: usize| {
        (0..10_000)
            .filter(|i| i % 3 == target && (i / 3) % 3 == status)
            .count()
    };
    let f = "(Target eq 'rigetti.sim.qvm') and (State eq 'Failed')";
    let hits = list_all(&t, &format!("filter={}", urlencode(f))).await;
    assert_eq!(hits.len(), expect(1, 1));
    assert!(hits.iter().all(|j| j["providerId"] == "rigetti"
        && j["status"] == "Failed"
        && j["errorData"]["code"].is_string()));
    let f = "startswith(Name, 'bulk-0099') and (State eq 'Cancelled')";
    let hits = list_all(&t, &format!("filter={}", urlencode(f))).await;
    let want = (9900..10_000).filter(|i| (i / 3) % 3 == 2).count();
    assert_eq!(hits.len(), want);
    assert!(hits.iter().all(|j| j["cancellationTime"].is_string()));
    let _ = statuses;
    let stats = t.admin(Method::GET, "stats", None).await.json();
    assert_eq!(
        (&stats["jobsCreated"], &stats["jobsSeeded"]),
        (&json!(1), &json!(10_000))
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn bulk_seeding_is_bounded_and_checked() {
    let t = T::new();
    for (body, why) in [
        (json!({"count": 0}), "count 0"),
        (json!({"count": 100_001}), "over the bound"),
        (json!({"count": "many"}), "not a number"),
        (
            json!({"count": 5, "targets": ["nowhere.qpu"]}),
            "unknown target",
        ),
        (json!({"count": 5, "targets": []}), "no target"),
        (
            json!({"count": 5, "statuses": ["Executing"]}),
            "not a finished state",
        ),
        (
            json!({"count": 5, "start": "2999-01-01T00:00:00Z"}),
            "in the future",
        ),
        (json!({"count": 5, "start": "yesterday"}), "not a time"),
        (json!({"count": 5, "stepMs": 0}), "step 0"),
    ] {
        let r = t.admin(Method::POST, "jobs", Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}");
        assert_eq!(r.json()["error"]["code"], "InvalidSeed", "{why}");
    }
    let r = t
        .call(
            Method::POST,
            "/_emulator/jobs",
            &[],
            json!({"count": 1}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t.call(Method::GET, "/_emulator/stats", &[], vec![]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let stats = t.admin(Method::GET, "stats", None).await.json();
    assert_eq!(stats["jobsSeeded"], 0);
    // A start in the past with its step: creation times follow from it.
    let r = t
        .admin(
            Method::POST,
            "jobs",
            Some(json!({"count": 3, "start": "2026-01-01T00:00:00Z", "stepMs": 60000})),
        )
        .await
        .json();
    assert_eq!(
        r["last"]["creationTime"],
        "2026-01-01T00:02:00.0000000+00:00"
    );
}

#[tokio::test]
async fn a_retried_put_through_429_503_and_a_dropped_answer_creates_one_job() {
    let t = T::new();
    let rules = json!({"rules": [
        "PUT **/jobs/* 429:2 1 times=1",
        "PUT **/jobs/* 503 1 times=1",
        "PUT **/jobs/* drop-after times=1",
    ]});
    assert_eq!(
        t.admin(Method::POST, "faults", Some(rules)).await.status,
        StatusCode::OK
    );
    let id = uuid::Uuid::new_v4().to_string();
    let (sas, blob) = t.upload(&id, BELL_IONQ).await;
    let body = json!({"providerId": "ionq", "target": "ionq.simulator", "containerUri": sas,
        "inputDataUri": blob, "inputDataFormat": "ionq.circuit.v1", "inputParams": {}});
    let path = format!("jobs/{id}");
    let put = || t.ws(Method::PUT, &path, Some(body.clone()));
    let r = put().await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "2");
    let r = put().await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let stats = t.admin(Method::GET, "stats", None).await.json();
    assert_eq!(stats["jobsCreated"], 0, "an injected fault applies nothing");
    // The third PUT is applied, then its answer is lost with the connection.
    let r = put().await;
    assert!(r.dropped, "the connection is dropped");
    assert_eq!(
        t.ws(Method::GET, &format!("jobs/{id}"), None).await.status,
        StatusCode::OK,
        "the job was stored before the connection dropped"
    );
    let r = put().await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.dropped);
    // A GET of a job that is not there counts as a job GET too (the watcher's budget).
    let missing = format!("jobs/{}", uuid::Uuid::new_v4());
    assert_eq!(
        t.ws(Method::GET, &missing, None).await.status,
        StatusCode::NOT_FOUND
    );
    let stats = t.admin(Method::GET, "stats", None).await.json();
    assert_eq!(
        (
            &stats["jobsCreated"],
            &stats["jobPuts"],
            &stats["jobPutsRepeated"],
            &stats["faultsInjected"],
            &stats["jobGets"]
        ),
        (&json!(1), &json!(2), &json!(1), &json!(3), &json!(2)),
        "{stats}"
    );
}

/// Over real TCP: `drop-after` applies the request and closes the connection unanswered.
#[tokio::test]
async fn drop_after_closes_the_connection_once_the_put_is_stored() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Config {
        job_delay: Duration::from_secs(3600),
        faults: vec![azq_emulator::faults::parse("PUT **/jobs/* drop-after").unwrap()],
        ..Config::default()
    };
    let em = azq_emulator::Emulator::new(config, format!("http://{addr}"));
    tokio::spawn(serve(listener, em.clone(), std::future::pending()));
    let key = em.config.credentials.api_key.expose().to_owned();
    let id = uuid::Uuid::new_v4().to_string();
    let path = format!("{}/jobs/{id}?{V}", em.workspace_path());
    let send = |method: &'static str, body: String| {
        let (path, key) = (path.clone(), key.clone());
        async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let head = format!(
                "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\nx-ms-quantum-api-key: {key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(body.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
                .await
                .expect("hang guard");
            String::from_utf8_lossy(&answer).into_owned()
        }
    };
    let body = json!({"providerId": "ionq", "target": "ionq.simulator", "containerUri": "x",
        "inputDataUri": format!("{}/blob/{}/job-{id}/inputData", em.base_url, em.config.storage_account),
        "inputDataFormat": "ionq.circuit.v1"});
    let answer = send("PUT", body.to_string()).await;
    assert_eq!(answer, "", "no answer at all");
    let answer = send("GET", String::new()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(&id));
}
