//! The emulator in-process (no sockets): every data-plane operation, a job's whole life
//! with real simulation, auth, SAS, paging and errors, in the service's shapes.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use azq_emulator::{Config, Emulator};
use serde_json::{Value, json};

use common::{T, V};

const GHZ_IONQ: &str = r#"{"qubits": 3, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}, {"gate": "cnot", "control": 0, "target": 2}]}"#;

#[tokio::test]
async fn ionq_job_runs_and_returns_the_recorded_result() {
    let t = T::new();
    let id = t
        .submit(
            "ionq.simulator",
            "IonQ",
            "ionq.circuit.v1",
            GHZ_IONQ,
            json!({"shots": 100}),
        )
        .await;
    let job = t.wait(&id).await;
    assert_eq!(job["status"], "Succeeded", "{job}");
    assert_eq!(job["providerId"], "ionq");
    assert!(
        job["outputDataUri"]
            .as_str()
            .unwrap()
            .contains("/rawOutputData?")
    );
    let out = t.output(&job).await;
    let h = out["histogram"].as_object().unwrap();
    assert_eq!(h.len(), 2);
    assert!(
        (h["0"].as_f64().unwrap() - 0.5).abs() < 1e-12
            && (h["7"].as_f64().unwrap() - 0.5).abs() < 1e-12
    );
}

#[tokio::test]
async fn quantinuum_rigetti_and_qir_jobs_return_their_formats() {
    let t = T::new();
    let qasm = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg c0[1]; creg c1[1]; h q[0]; cx q[0], q[1]; measure q[0] -> c0[0]; measure q[1] -> c1[0];";
    let id = t
        .submit(
            "quantinuum.sim.h2-1e",
            "quantinuum",
            "honeywell.openqasm.v1",
            qasm,
            json!({"shots": 50}),
        )
        .await;
    let out = t.output(&t.wait(&id).await).await;
    let (c0, c1) = (out["c0"].as_array().unwrap(), out["c1"].as_array().unwrap());
    assert_eq!((c0.len(), c1.len()), (50, 50));
    assert!(
        c0.iter().zip(c1).all(|(a, b)| a == b),
        "Bell pairs agree shot by shot"
    );
    let id = t
        .submit(
            "rigetti.sim.qvm",
            "rigetti",
            "rigetti.quil.v1",
            "DECLARE ro BIT[2]\nH 0\nCNOT 0 1\nMEASURE 0 ro[0]\nMEASURE 1 ro[1]\n",
            json!({}),
        )
        .await;
    let out = t.output(&t.wait(&id).await).await;
    assert_eq!(
        out["ro"].as_array().unwrap().len(),
        1,
        "one shot by default, as recorded"
    );
    let c = azq_circuits::qasm::load(
        "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg c[2]; x q[0]; measure q -> c;",
    )
    .unwrap();
    let qir = azq_circuits::formats::qir::write(&c).unwrap();
    let id = t
        .submit(
            "ionq.simulator",
            "ionq",
            "qir.v1",
            &qir,
            json!({"shots": 10, "entryPoint": "ENTRYPOINT__main"}),
        )
        .await;
    let job = t.wait(&id).await;
    assert!(
        job["outputDataUri"]
            .as_str()
            .unwrap()
            .contains("/outputData?")
    );
    let out = t.output(&job).await;
    assert_eq!(out["DataFormat"], "microsoft.quantum-results.v2");
    assert_eq!(out["Results"][0]["Histogram"][0]["Display"], "[1, 0]");
    assert_eq!(out["Results"][0]["Histogram"][0]["Count"], 10);
}

#[tokio::test]
async fn a_bad_program_fails_the_job_with_error_data() {
    let t = T::new();
    let id = t
        .submit(
            "quantinuum.sim.h2-1e",
            "quantinuum",
            "honeywell.openqasm.v1",
            "OPENQASM 2.0; qreg q[1]; h q[0];",
            json!({}),
        )
        .await;
    let job = t.wait(&id).await;
    assert_eq!(job["status"], "Failed");
    assert_eq!(job["errorData"]["code"], "InvalidInputData");
    assert!(
        job["errorData"]["message"]
            .as_str()
            .unwrap()
            .contains("qelib1.inc")
    );
}

#[tokio::test]
async fn jobs_list_filters_orders_and_pages_with_next_links() {
    let t = T::new();
    for _ in 0..5 {
        t.submit(
            "ionq.simulator",
            "ionq",
            "ionq.circuit.v1",
            GHZ_IONQ,
            json!({}),
        )
        .await;
    }
    t.submit(
        "rigetti.sim.qvm",
        "rigetti",
        "rigetti.quil.v1",
        "DECLARE ro BIT[1]\nX 0\nMEASURE 0 ro[0]\n",
        json!({}),
    )
    .await;
    let r = t
        .ws(
            Method::GET,
            "jobs?filter=(ProviderId%20eq%20'ionq')&top=2&skip=0",
            None,
        )
        .await
        .json();
    assert_eq!(r["value"].as_array().unwrap().len(), 2);
    let mut next = r["nextLink"].as_str().unwrap().to_owned();
    assert!(next.contains("skip=2") && next.contains("filter="));
    let mut seen = 2;
    loop {
        let key = t.key();
        let page = t
            .call(
                Method::GET,
                &next,
                &[("x-ms-quantum-api-key", &key)],
                vec![],
            )
            .await
            .json();
        seen += page["value"].as_array().unwrap().len();
        match page["nextLink"].as_str() {
            Some(n) => next = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, 5);
    let r = t
        .ws(Method::GET, "jobs?filter=Color%20eq%20'red'", None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.headers["x-ms-error-code"], "InvalidQueryParameter");
}

#[tokio::test]
async fn cancel_update_delete_and_idempotent_create() {
    let t = T::new();
    let slow = Emulator::new(
        Config {
            job_delay: Duration::from_secs(30),
            ..Config::default()
        },
        "http://127.0.0.1:9".into(),
    );
    let t2 = T { em: slow };
    let id = t2
        .submit(
            "ionq.simulator",
            "ionq",
            "ionq.circuit.v1",
            GHZ_IONQ,
            json!({}),
        )
        .await;
    assert_eq!(
        t2.ws(Method::GET, &format!("jobs/{id}/queuePosition"), None)
            .await
            .json()["queuePosition"],
        0
    );
    let r = t2
        .ws(Method::POST, &format!("jobs/{id}:cancel"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let job = t2.ws(Method::GET, &format!("jobs/{id}"), None).await.json();
    assert_eq!(job["status"], "Cancelled");
    assert!(job["cancellationTime"].is_string());
    let again = t2
        .ws(Method::POST, &format!("jobs/{id}:cancel"), None)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    // Merge patch on both routes, and the older JSON Patch list.
    let r = t2
        .ws(
            Method::PATCH,
            &format!("jobs/{id}"),
            Some(json!({"name": "renamed", "tags": ["a"]})),
        )
        .await
        .json();
    assert_eq!(
        (r["name"].as_str(), r["tags"][0].as_str()),
        (Some("renamed"), Some("a"))
    );
    let r = t2
        .ws(
            Method::PATCH,
            &format!("jobUpdateOptions/{id}"),
            Some(json!({"priority": "High"})),
        )
        .await
        .json();
    assert_eq!(r["priority"], "High");
    let r = t2
        .ws(
            Method::PATCH,
            &format!("jobs/{id}"),
            Some(json!([{"op": "replace", "path": "/name", "value": "again"}])),
        )
        .await
        .json();
    assert_eq!(r["name"], "again");
    let bad = t2
        .ws(
            Method::PATCH,
            &format!("jobs/{id}"),
            Some(json!({"priority": "Urgent"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // Same body again is fine; a different one conflicts.
    let id = t
        .submit(
            "ionq.simulator",
            "ionq",
            "ionq.circuit.v1",
            GHZ_IONQ,
            json!({}),
        )
        .await;
    let job = t.ws(Method::GET, &format!("jobs/{id}"), None).await.json();
    let mut body = json!({"id": id, "name": "test", "providerId": "ionq", "target": "ionq.simulator", "itemType": "Job", "containerUri": "x", "inputDataUri": job["inputDataUri"], "inputDataFormat": "ionq.circuit.v1", "inputParams": {}});
    body["inputDataUri"] = json!(format!(
        "{}/blob/{}/job-{id}/inputData",
        t.em.base_url, t.em.config.storage_account
    ));
    assert_eq!(
        t.ws(Method::PUT, &format!("jobs/{id}"), Some(body.clone()))
            .await
            .status,
        StatusCode::OK
    );
    body["target"] = json!("ionq.qpu.aria-1");
    assert_eq!(
        t.ws(Method::PUT, &format!("jobs/{id}"), Some(body))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        t.ws(Method::DELETE, &format!("jobs/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.ws(Method::GET, &format!("jobs/{id}"), None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn sessions_open_list_close_and_refuse_jobs_after() {
    let t = T::new();
    let sid = uuid::Uuid::new_v4().to_string();
    let s = t.ws(Method::PUT, &format!("sessions/{sid}"), Some(json!({"itemType": "Session", "name": "s", "providerId": "ionq", "target": "ionq.simulator"}))).await.json();
    assert_eq!(
        (s["status"].as_str(), s["jobFailurePolicy"].as_str()),
        (Some("Waiting"), Some("Abort"))
    );
    let listed = t.ws(Method::GET, "sessions", None).await.json();
    assert_eq!(listed["value"].as_array().unwrap().len(), 1);
    let closed = t
        .ws(Method::POST, &format!("sessions/{sid}:close"), None)
        .await
        .json();
    assert_eq!(closed["status"], "Succeeded");
    let jobs = t
        .ws(Method::GET, &format!("sessions/{sid}/jobs"), None)
        .await
        .json();
    assert_eq!(jobs["value"].as_array().unwrap().len(), 0);
    let top = t.ws(Method::GET, "topLevelItems", None).await.json();
    assert_eq!(top["value"][0]["itemType"], "Session");
}

/// As recorded (test_session_job_failure_policies_echo_quantinuum.yaml): a session is
/// Executing once a job of its has run; a failed job ends an Abort session (Failed, with an
/// end time) and marks a Continue session `Failure(s)`, which still takes jobs and ends Failed
/// when closed.
#[tokio::test]
async fn sessions_follow_their_jobs_under_each_failure_policy() {
    let t = &T::new();
    let bad = r#"{"qubits": 1, "circuit": [{"gate": "no-such-gate", "target": 0}]}"#;
    let open = |policy: &'static str| async move {
        let sid = uuid::Uuid::new_v4().to_string();
        let s = t
            .ws(
                Method::PUT,
                &format!("sessions/{sid}"),
                Some(
                    json!({"itemType": "Session", "name": policy, "providerId": "ionq",
                            "target": "ionq.simulator", "jobFailurePolicy": policy}),
                ),
            )
            .await
            .json();
        assert_eq!(s["status"], "Waiting", "{s}");
        sid
    };
    let run = |sid: String, program: &'static str| async move {
        let id = t
            .submit_with(
                "ionq.simulator",
                "ionq",
                "ionq.circuit.v1",
                program,
                json!({}),
                json!({ "sessionId": sid }),
            )
            .await;
        t.wait(&id).await
    };
    let session = |sid: String| async move {
        t.ws(Method::GET, &format!("sessions/{sid}"), None)
            .await
            .json()
    };

    let abort = open("Abort").await;
    assert_eq!(run(abort.clone(), bad).await["status"], "Failed");
    let s = session(abort.clone()).await;
    assert_eq!(s["status"], "Failed", "{s}");
    assert!(
        s["endExecutionTime"].is_string(),
        "an ended session has an end time: {s}"
    );

    let cont = open("Continue").await;
    assert_eq!(run(cont.clone(), GHZ_IONQ).await["status"], "Succeeded");
    let s = session(cont.clone()).await;
    assert_eq!(s["status"], "Executing", "{s}");
    assert_eq!(run(cont.clone(), bad).await["status"], "Failed");
    let s = session(cont.clone()).await;
    assert_eq!(s["status"], "Failure(s)", "{s}");
    assert!(s["endExecutionTime"].is_null(), "{s}");
    assert_eq!(run(cont.clone(), GHZ_IONQ).await["status"], "Succeeded");
    assert_eq!(session(cont.clone()).await["status"], "Failure(s)");
    let closed = t
        .ws(Method::POST, &format!("sessions/{cont}:close"), None)
        .await
        .json();
    assert_eq!(closed["status"], "Failed", "{closed}");
    assert!(closed["endExecutionTime"].is_string(), "{closed}");
}

/// As recorded: the service stores QIR results and Quantinuum's as
/// application/octet-stream, IonQ's, Rigetti's and the echo targets' as application/json.
#[tokio::test]
async fn output_blobs_have_the_services_content_types() {
    let t = T::new();
    let qasm =
        "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[1]; creg c[1]; h q[0]; measure q[0] -> c[0];";
    let c = azq_circuits::qasm::load(qasm).unwrap();
    let qir = azq_circuits::formats::qir::write(&c).unwrap();
    let cases = [
        (
            "ionq.simulator",
            "ionq",
            "ionq.circuit.v1",
            GHZ_IONQ.to_owned(),
            json!({}),
            "application/json",
        ),
        (
            "rigetti.sim.qvm",
            "rigetti",
            "rigetti.quil.v1",
            "DECLARE ro BIT[1]\nH 0\nMEASURE 0 ro[0]\n".to_owned(),
            json!({}),
            "application/json",
        ),
        (
            "quantinuum.sim.h2-1e",
            "quantinuum",
            "honeywell.openqasm.v1",
            qasm.to_owned(),
            json!({}),
            "application/octet-stream",
        ),
        (
            "ionq.simulator",
            "ionq",
            "qir.v1",
            qir.clone(),
            json!({"outputDataFormat": "microsoft.quantum-results.v2"}),
            "application/octet-stream",
        ),
        (
            "echo-output",
            "microsoft.test.firstparty",
            "microsoft.quantum-log.v1",
            "{ input: 'data' }".to_owned(),
            json!({"outputDataFormat": "microsoft.quantum-log.v1"}),
            "application/json",
        ),
    ];
    for (target, provider, format, program, extra, want) in cases {
        let id = t
            .submit_with(
                target,
                provider,
                format,
                &program,
                json!({"shots": 4}),
                extra,
            )
            .await;
        let job = t.wait(&id).await;
        assert_eq!(job["status"], "Succeeded", "{target}: {job}");
        let r = t
            .call(
                Method::GET,
                job["outputDataUri"].as_str().unwrap(),
                &[],
                vec![],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some(want),
            "{target} ({format})"
        );
    }
}

#[tokio::test]
async fn auth_errors_and_versions_look_like_the_service() {
    let t = T::new();
    let path = format!("{}/providerStatus?{V}", t.em.workspace_path());
    let r = t.call(Method::GET, &path, &[], vec![]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.is_empty());
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer ")
    );
    let r = t
        .call(
            Method::GET,
            &path,
            &[("x-ms-quantum-api-key", "wrong")],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A service principal's token from the emulator's Entra ID endpoint works.
    let c = &t.em.config.credentials;
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fquantum.microsoft.com%2F.default",
        c.client_id,
        c.client_secret.expose()
    );
    let tok = t
        .call(
            Method::POST,
            &format!("/{}/oauth2/v2.0/token", t.em.config.tenant),
            &[("content-type", "application/x-www-form-urlencoded")],
            form.into_bytes(),
        )
        .await
        .json();
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let r = t
        .call(Method::GET, &path, &[("authorization", &bearer)], vec![])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["value"][0]["id"], "ionq");
    let bad = t
        .call(
            Method::POST,
            &format!("/{}/oauth2/v2.0/token", t.em.config.tenant),
            &[],
            format!(
                "grant_type=client_credentials&client_id={}&client_secret=nope",
                c.client_id
            )
            .into_bytes(),
        )
        .await;
    assert_eq!(
        (bad.status, bad.json()["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    // Versions: missing, unknown, legacy /v1.0 without one.
    let key = t.key();
    let h = [("x-ms-quantum-api-key", key.as_str())];
    let r = t
        .call(
            Method::GET,
            &format!("{}/quotas", t.em.workspace_path()),
            &h,
            vec![],
        )
        .await;
    assert_eq!(r.headers["x-ms-error-code"], "MissingApiVersionParameter");
    let r = t
        .call(
            Method::GET,
            &format!("{}/quotas?api-version=1999-01-01", t.em.workspace_path()),
            &h,
            vec![],
        )
        .await;
    assert_eq!(r.headers["x-ms-error-code"], "UnsupportedApiVersion");
    let r = t
        .call(
            Method::GET,
            &format!("/v1.0{}/quotas", t.em.workspace_path()),
            &h,
            vec![],
        )
        .await;
    assert_eq!(r.json()["value"][0]["dimension"], "qgs");
    let r = t.call(Method::GET, &format!("/subscriptions/{}/resourceGroups/other/providers/Microsoft.Quantum/workspaces/x/jobs?{V}", t.em.config.subscription), &h, vec![]).await;
    assert_eq!(
        (r.status, r.headers["x-ms-error-code"].to_str().unwrap()),
        (StatusCode::NOT_FOUND, "WorkspaceNotFound")
    );
    // Tenant discovery and the ARM workspace.
    let r = t
        .call(
            Method::GET,
            &format!("/subscriptions/{}", t.em.config.subscription),
            &[],
            vec![],
        )
        .await;
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(&t.em.config.tenant)
    );
    // ARM wants a management token: the data-plane one is refused, an ARM one works.
    let arm_uri = format!("{}?api-version=2025-12-15-preview", t.em.workspace_path());
    let r = t
        .call(Method::GET, &arm_uri, &[("authorization", &bearer)], vec![])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
        c.client_id,
        c.client_secret.expose()
    );
    let token_uri = format!("/{}/oauth2/v2.0/token", t.em.config.tenant);
    let arm = t
        .call(Method::POST, &token_uri, &[], form.into_bytes())
        .await
        .json();
    let arm_bearer = format!("Bearer {}", arm["access_token"].as_str().unwrap());
    let r = t
        .call(
            Method::GET,
            &arm_uri,
            &[("authorization", &arm_bearer)],
            vec![],
        )
        .await
        .json();
    assert_eq!(
        (
            r["location"].as_str(),
            r["properties"]["endpointUri"].as_str()
        ),
        (Some("westus"), Some("http://127.0.0.1:9/"))
    );
}

#[tokio::test]
async fn blob_sas_is_checked_like_azure_storage() {
    let t = T::new();
    let sas = t
        .ws(
            Method::POST,
            "storage/sasUri",
            Some(json!({"containerName": "c1", "blobName": "b"})),
        )
        .await
        .json()["sasUri"]
        .as_str()
        .unwrap()
        .to_owned();
    let put = t
        .call(
            Method::PUT,
            &sas,
            &[
                ("x-ms-blob-type", "BlockBlob"),
                ("content-type", "text/plain"),
            ],
            b"hello".to_vec(),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED);
    let r = t.call(Method::GET, &sas, &[], vec![]).await;
    assert_eq!(
        (
            r.status,
            r.body.as_slice(),
            r.headers["content-type"].to_str().unwrap()
        ),
        (StatusCode::OK, &b"hello"[..], "text/plain")
    );
    let tampered = sas.replace("sp=rcw", "sp=rcwd");
    let r = t.call(Method::GET, &tampered, &[], vec![]).await;
    assert_eq!(
        (r.status, r.headers["x-ms-error-code"].to_str().unwrap()),
        (StatusCode::FORBIDDEN, "AuthenticationFailed")
    );
    let bare = sas.split('?').next().unwrap().to_owned();
    assert_eq!(
        t.call(Method::GET, &bare, &[], vec![]).await.status,
        StatusCode::FORBIDDEN
    );
    let r = t.call(Method::PUT, &sas, &[], b"x".to_vec()).await;
    assert_eq!(r.headers["x-ms-error-code"], "MissingRequiredHeader");
}

async fn token(t: &T, pairs: &[(&str, &str)]) -> Value {
    let tenant = t.em.config.tenant.clone();
    t.call(
        Method::POST,
        &format!("/{tenant}/oauth2/v2.0/token"),
        &[],
        form(pairs),
    )
    .await
    .json()
}

async fn token_owned(t: &T, pairs: &[(&str, String)]) -> Value {
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (*a, b.as_str())).collect();
    token(t, &borrowed).await
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
        .into_bytes()
}

#[tokio::test]
async fn device_code_sign_in_with_rotating_revocable_refresh_tokens() {
    let config = Config {
        device_code_interval: Duration::from_millis(200),
        ..Config::default()
    };
    let t = T {
        em: Emulator::new(config, "http://127.0.0.1:9".into()),
    };
    let tenant = t.em.config.tenant.clone();
    let scope = "https://quantum.microsoft.com/.default offline_access";
    let start = t
        .call(
            Method::POST,
            &format!("/{tenant}/oauth2/v2.0/devicecode"),
            &[],
            form(&[("client_id", "app"), ("scope", scope)]),
        )
        .await
        .json();
    let (device, user) = (
        start["device_code"].as_str().unwrap().to_owned(),
        start["user_code"].as_str().unwrap().to_owned(),
    );
    assert!(start["message"].as_str().unwrap().contains(&user));
    let grant = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", "app"),
        ("device_code", device.as_str()),
    ];
    assert_eq!(token(&t, &grant).await["error"], "authorization_pending");
    assert_eq!(token(&t, &grant).await["error"], "slow_down");
    // The person approves in the browser (the admin endpoint stands in for it).
    let key = t.key();
    let approve = t
        .call(
            Method::POST,
            "/_emulator/devicelogin",
            &[("x-ms-quantum-api-key", &key)],
            json!({"user_code": user, "approve": true})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(approve.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let tokens = token(&t, &grant).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let jobs = format!("{}/jobs?{V}", t.em.workspace_path());
    let r = t
        .call(
            Method::GET,
            &jobs,
            &[("authorization", &format!("Bearer {access}"))],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Refresh rotates: the old token is spent.
    let refresh_with = |rt: &str| {
        [
            ("grant_type", "refresh_token"),
            ("client_id", "app"),
            ("refresh_token", rt),
            ("scope", scope),
        ]
        .map(|(a, b)| (a, b.to_owned()))
    };
    let next = token_owned(&t, &refresh_with(&refresh)).await;
    let newer = next["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(newer, refresh);
    // As in Entra ID, rotation does not revoke the token it replaced: a client killed between
    // the answer and saving the new token still holds one that works.
    let again = token_owned(&t, &refresh_with(&refresh)).await;
    assert_eq!(again["token_type"], "Bearer", "{again}");
    // Revoked tokens stop working, old and new alike.
    let r = t
        .call(
            Method::POST,
            "/_emulator/revoke",
            &[("x-ms-quantum-api-key", &key)],
            vec![],
        )
        .await;
    assert_eq!(r.json()["revoked"], 3);
    for rt in [&refresh, &newer] {
        assert_eq!(
            token_owned(&t, &refresh_with(rt)).await["error"],
            "invalid_grant"
        );
    }
    // A denied sign-in says so; an unknown code is refused; the admin endpoint needs the key.
    let start = t
        .call(
            Method::POST,
            &format!("/{tenant}/oauth2/v2.0/devicecode"),
            &[],
            form(&[("client_id", "app"), ("scope", scope)]),
        )
        .await
        .json();
    let (device2, user2) = (
        start["device_code"].as_str().unwrap().to_owned(),
        start["user_code"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        t.call(
            Method::POST,
            "/_emulator/devicelogin",
            &[],
            json!({"user_code": user2}).to_string().into_bytes()
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    t.call(
        Method::POST,
        "/_emulator/devicelogin",
        &[("x-ms-quantum-api-key", &key)],
        json!({"user_code": user2, "approve": false})
            .to_string()
            .into_bytes(),
    )
    .await;
    let denied = t
        .call(
            Method::POST,
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[],
            form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", &device2),
            ]),
        )
        .await;
    assert_eq!(denied.json()["error"], "access_denied");
    let unknown = t
        .call(
            Method::POST,
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[],
            form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", "nope"),
            ]),
        )
        .await;
    assert_eq!(unknown.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn device_codes_expire() {
    let config = Config {
        device_code_lifetime: Duration::from_millis(50),
        ..Config::default()
    };
    let t = T {
        em: Emulator::new(config, "http://127.0.0.1:9".into()),
    };
    let tenant = t.em.config.tenant.clone();
    let start = t
        .call(
            Method::POST,
            &format!("/{tenant}/oauth2/v2.0/devicecode"),
            &[],
            form(&[
                ("client_id", "app"),
                ("scope", "https://quantum.microsoft.com/.default"),
            ]),
        )
        .await
        .json();
    tokio::time::sleep(Duration::from_millis(80)).await;
    let r = t
        .call(
            Method::POST,
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[],
            form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", start["device_code"].as_str().unwrap()),
            ]),
        )
        .await;
    assert_eq!(r.json()["error"], "expired_token");
}

#[tokio::test]
async fn managed_identity_in_both_forms() {
    let t = T::new();
    let q = "resource=https%3A%2F%2Fquantum.microsoft.com";
    let header = t.em.config.identity_header.expose().to_owned();
    // The VM form answers under the secret path the emulator prints.
    let imds = format!("/identity/{header}/metadata/identity/oauth2/token");
    let r = t
        .call(
            Method::GET,
            &format!("{imds}?api-version=2018-02-01&{q}"),
            &[],
            vec![],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let r = t
        .call(
            Method::GET,
            &format!("{imds}?api-version=2018-02-01&{q}"),
            &[("metadata", "true")],
            vec![],
        )
        .await
        .json();
    let vm_token = r["access_token"].as_str().unwrap().to_owned();
    let r = t
        .call(
            Method::GET,
            &format!("/msi/token?api-version=2019-08-01&{q}"),
            &[("x-identity-header", "wrong")],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t
        .call(
            Method::GET,
            &format!("/msi/token?api-version=2019-08-01&{q}"),
            &[("x-identity-header", &header)],
            vec![],
        )
        .await
        .json();
    let app_token = r["access_token"].as_str().unwrap().to_owned();
    let jobs = format!("{}/jobs?{V}", t.em.workspace_path());
    for token in [vm_token, app_token] {
        let r = t
            .call(
                Method::GET,
                &jobs,
                &[("authorization", &format!("Bearer {token}"))],
                vec![],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = t
        .call(
            Method::GET,
            &format!("{imds}?api-version=2018-02-01&resource=https%3A%2F%2Fgraph.microsoft.com"),
            &[("metadata", "true")],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn injected_faults_and_the_request_log() {
    let t = T::new();
    let key = t.key();
    let rules =
        json!({"rules": ["GET **/providerStatus 429:3", "GET **/quotas 503 0.0"], "seed": 5});
    let r = t
        .call(
            Method::POST,
            "/_emulator/faults",
            &[("x-ms-quantum-api-key", &key)],
            rules.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t.ws(Method::GET, "providerStatus", None).await;
    assert_eq!(
        (r.status, r.headers["retry-after"].to_str().unwrap()),
        (StatusCode::TOO_MANY_REQUESTS, "3")
    );
    assert_eq!(r.headers["x-ms-error-code"], "InjectedFault");
    assert_eq!(
        t.ws(Method::GET, "quotas", None).await.status,
        StatusCode::OK,
        "probability 0 never fires"
    );
    let bad = t
        .call(
            Method::POST,
            "/_emulator/faults",
            &[("x-ms-quantum-api-key", &key)],
            json!({"rules": ["GET ** 200"]}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The log holds what happened, without SAS signatures.
    let sas = t
        .ws(
            Method::POST,
            "storage/sasUri",
            Some(json!({"containerName": "c", "blobName": "b"})),
        )
        .await
        .json()["sasUri"]
        .as_str()
        .unwrap()
        .to_owned();
    t.call(Method::GET, &sas, &[], vec![]).await;
    let log = t
        .call(
            Method::GET,
            "/_emulator/requests",
            &[("x-ms-quantum-api-key", &key)],
            vec![],
        )
        .await;
    let text = String::from_utf8(log.body.clone()).unwrap();
    let sig = sas.split("sig=").nth(1).unwrap();
    assert!(text.contains("providerStatus") && text.contains("429") && !text.contains(sig));
    assert_eq!(
        t.call(Method::GET, "/_emulator/requests", &[], vec![])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}
