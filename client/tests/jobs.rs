//! The Jobs API against the emulator in-process: create and read back (the input blob checked
//! on the emulator's side), every list filter, paging that stops early, cancel, output
//! download, creates under injected faults and sent twice, Shared Key uploads, unknown
//! statuses.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use azq_client::credential::CredentialKind;
use azq_client::http::Request;
use azq_client::{
    ConnectionString, Env, Http, JobFilter, JobStatus, NewJob, NoPrompt, Secret, Target, Workspace,
};
use serde_json::{Value, json};

mod common;
use common::sign_in;

struct Running {
    em: Arc<azq_emulator::Emulator>,
    url: String,
    ws: Workspace,
    key: String,
}

async fn start(config: azq_emulator::Config) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let em = azq_emulator::Emulator::new(config, url.clone());
    let cs = em.connection_string();
    tokio::spawn(azq_emulator::serve(
        listener,
        em.clone(),
        std::future::pending(),
    ));
    let key = cs
        .split("ApiKey=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let target = Target::ConnectionString(ConnectionString::parse(&cs).unwrap());
    let signed = sign_in(Env::default(), CredentialKind::ApiKey);
    let (ws, _) = Workspace::connect(target, signed, &mut NoPrompt)
        .await
        .unwrap();
    Running { em, url, ws, key }
}

/// Jobs wait a minute before they run: they stay Waiting for the whole test.
fn idle() -> azq_emulator::Config {
    azq_emulator::Config {
        job_delay: Duration::from_secs(60),
        ..Default::default()
    }
}

const BELL: &str = r#"{"qubits": 2, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}"#;

fn ionq(name: &str) -> NewJob {
    NewJob {
        id: NewJob::new_id(),
        name: name.into(),
        provider_id: "ionq".into(),
        target: "ionq.simulator".into(),
        input: BELL.as_bytes().to_vec(),
        input_data_format: "ionq.circuit.v1".into(),
        content_type: "application/json".into(),
        input_params: json!({ "shots": 100 }),
        output_data_format: Some("ionq.quantum-results.v1".into()),
        metadata: BTreeMap::new(),
        session_id: None,
    }
}

fn on(target: &str, provider: &str, name: &str) -> NewJob {
    NewJob {
        target: target.into(),
        provider_id: provider.into(),
        input_data_format: "anything".into(),
        content_type: "text/plain".into(),
        input: b"OPENQASM 2.0;".to_vec(),
        output_data_format: None,
        ..ionq(name)
    }
}

fn store(em: &azq_emulator::Emulator) -> std::sync::MutexGuard<'_, azq_emulator::Store> {
    em.store.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every job the filter lists, reading pages to the end.
async fn all(ws: &Workspace, filter: &JobFilter) -> Vec<String> {
    let mut pages = ws.list_jobs(filter);
    let mut names = Vec::new();
    while let Some(page) = pages.next_page(&mut NoPrompt).await {
        names.extend(page.unwrap().into_iter().map(|j| j.name.unwrap()));
    }
    names
}

#[tokio::test]
async fn a_created_job_reads_back_and_its_input_is_stored_with_its_content_type() {
    let r = start(idle()).await;
    let mut job = ionq("bell");
    job.metadata.insert("origin".into(), "azq".into());
    let id = job.id.clone();
    let created = r.ws.create_job(job, None, &mut NoPrompt).await.unwrap();
    assert_eq!(created.id, id);
    assert_eq!(created.status, JobStatus::Waiting);
    let got = r.ws.get_job(&id, &mut NoPrompt).await.unwrap();
    assert_eq!(got.name.as_deref(), Some("bell"));
    assert_eq!(
        (got.provider_id.as_str(), got.target.as_str()),
        ("ionq", "ionq.simulator")
    );
    assert_eq!(got.input_data_format.as_deref(), Some("ionq.circuit.v1"));
    assert_eq!(got.input_params, Some(json!({ "shots": 100 })));
    assert_eq!(got.metadata.unwrap()["origin"], "azq");
    assert!(got.creation_time.is_some());
    // The emulator's side: blob inputData of container job-<id>, as sent.
    let s = store(&r.em);
    let blob = &s.containers[&format!("job-{id}")]["inputData"];
    assert_eq!(blob.data, BELL.as_bytes());
    assert_eq!(blob.content_type, "application/json");
    // The job's own record names that blob (without a SAS).
    let stored = s.jobs.get(&id).unwrap();
    let input = stored["inputDataUri"].as_str().unwrap();
    assert!(input.ends_with(&format!("/job-{id}/inputData")), "{input}");
}

#[tokio::test]
async fn every_filter_field_selects_the_right_jobs() {
    let r = start(idle()).await;
    let mut made = Vec::new();
    for (target, provider, name) in [
        ("ionq.simulator", "ionq", "alpha-1"),
        ("ionq.simulator", "ionq", "alpha-2"),
        ("quantinuum.sim.h2-1sc", "quantinuum", "beta-1"),
        ("rigetti.sim.qvm", "rigetti", "alpha-3"),
        ("rigetti.sim.qvm", "rigetti", "gamma-1"),
    ] {
        let job =
            r.ws.create_job(on(target, provider, name), None, &mut NoPrompt)
                .await
                .unwrap();
        made.push(job);
        // Creation times a few milliseconds apart, so the time bounds can split them.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for name in ["alpha-2", "gamma-1"] {
        let id = &made
            .iter()
            .find(|j| j.name.as_deref() == Some(name))
            .unwrap()
            .id;
        let c = r.ws.cancel_job(id, &mut NoPrompt).await.unwrap();
        assert_eq!(c.status, JobStatus::Cancelled);
    }
    // Newest first.
    assert_eq!(
        all(&r.ws, &JobFilter::default()).await,
        ["gamma-1", "alpha-3", "beta-1", "alpha-2", "alpha-1"]
    );
    let cases: Vec<(JobFilter, Vec<&str>)> = vec![
        (
            JobFilter {
                name: Some("alpha".into()),
                ..Default::default()
            },
            vec!["alpha-3", "alpha-2", "alpha-1"],
        ),
        (
            JobFilter {
                target: Some("rigetti.sim.qvm".into()),
                ..Default::default()
            },
            vec!["gamma-1", "alpha-3"],
        ),
        (
            JobFilter {
                provider: Some("quantinuum".into()),
                ..Default::default()
            },
            vec!["beta-1"],
        ),
        (
            JobFilter {
                status: vec![JobStatus::Cancelled],
                ..Default::default()
            },
            vec!["gamma-1", "alpha-2"],
        ),
        (
            JobFilter {
                status: vec![JobStatus::Waiting, JobStatus::Succeeded],
                name: Some("alpha".into()),
                ..Default::default()
            },
            vec!["alpha-3", "alpha-1"],
        ),
        (
            JobFilter {
                created_after: made[2].creation_time.clone(),
                ..Default::default()
            },
            vec!["gamma-1", "alpha-3", "beta-1"],
        ),
        (
            JobFilter {
                created_before: made[1].creation_time.clone(),
                ..Default::default()
            },
            vec!["alpha-2", "alpha-1"],
        ),
        (
            JobFilter {
                created_after: made[1].creation_time.clone(),
                created_before: made[3].creation_time.clone(),
                provider: Some("ionq".into()),
                ..Default::default()
            },
            vec!["alpha-2"],
        ),
        (
            JobFilter {
                name: Some("nothing".into()),
                ..Default::default()
            },
            vec![],
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(all(&r.ws, &filter).await, want, "{filter:?}");
    }
}

#[tokio::test]
async fn jobs_of_a_session_are_listed_from_the_session() {
    let r = start(idle()).await;
    let session = NewJob::new_id();
    let http = Http::new(&Env::default()).unwrap();
    let url = r.ws.url(&format!("sessions/{session}")).unwrap();
    let resp = http
        .send(
            Request::json(
                reqwest::Method::PUT,
                url,
                &json!({"id": session, "name": "s", "providerId": "ionq", "target": "ionq.simulator", "itemType": "Session", "jobFailurePolicy": "Abort"}),
            )
            .secret("x-ms-quantum-api-key", Secret::new(r.key.clone())),
        )
        .await
        .unwrap();
    assert!(resp.is_success(), "{resp:?}");
    let mut inside = ionq("in-session");
    inside.session_id = Some(session.clone());
    r.ws.create_job(inside, None, &mut NoPrompt).await.unwrap();
    r.ws.create_job(ionq("outside"), None, &mut NoPrompt)
        .await
        .unwrap();
    let filter = JobFilter {
        session_id: Some(session),
        ..Default::default()
    };
    assert_eq!(all(&r.ws, &filter).await, ["in-session"]);
    let unknown = JobFilter {
        session_id: Some(NewJob::new_id()),
        ..Default::default()
    };
    let err =
        r.ws.list_jobs(&unknown)
            .next_page(&mut NoPrompt)
            .await
            .unwrap()
            .unwrap_err();
    assert_eq!(err.name(), "InvalidJobFilter", "{err}");
}

#[tokio::test]
async fn a_name_with_quotes_filters_exactly() {
    let r = start(idle()).await;
    for name in ["O'Brien's run", "O'Neil", "Other", "'quoted'"] {
        r.ws.create_job(ionq(name), None, &mut NoPrompt)
            .await
            .unwrap();
    }
    let by = |n: &str| JobFilter {
        name: Some(n.into()),
        ..Default::default()
    };
    assert_eq!(all(&r.ws, &by("O'Brien")).await, ["O'Brien's run"]);
    assert_eq!(all(&r.ws, &by("O'")).await, ["O'Neil", "O'Brien's run"]);
    assert_eq!(all(&r.ws, &by("'q")).await, ["'quoted'"]);
    // A quote that would close the string early reads as text, not as more filter.
    assert!(all(&r.ws, &by("x') or (Name eq 'Other")).await.is_empty());
}

#[tokio::test]
async fn pages_follow_next_link_and_stop_when_the_caller_does() {
    let r = start(idle()).await;
    for i in 0..7 {
        r.ws.create_job(ionq(&format!("job-{i}")), None, &mut NoPrompt)
            .await
            .unwrap();
    }
    let listing_requests = |em: &azq_emulator::Emulator| {
        let _ = em;
        async {
            let http = Http::new(&Env::default()).unwrap();
            let log = http
                .send(
                    Request::get(
                        url::Url::parse(&format!("{}/_emulator/requests", r.url)).unwrap(),
                    )
                    .secret("x-ms-quantum-api-key", Secret::new(r.key.clone())),
                )
                .await
                .unwrap();
            let log: Value = serde_json::from_slice(&log.body).unwrap();
            let all = log["value"].as_array().or(log.as_array()).unwrap().clone();
            all.iter()
                .filter(|e| e["method"] == "GET" && e["path"].as_str().unwrap().ends_with("/jobs"))
                .count()
        }
    };
    let filter = JobFilter {
        page_size: Some(3),
        ..Default::default()
    };
    let mut pages = r.ws.list_jobs(&filter);
    assert_eq!(
        listing_requests(&r.em).await,
        0,
        "nothing is asked before the first page"
    );
    let first = pages.next_page(&mut NoPrompt).await.unwrap().unwrap();
    let second = pages.next_page(&mut NoPrompt).await.unwrap().unwrap();
    let names: Vec<_> = first
        .iter()
        .chain(&second)
        .map(|j| j.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        ["job-6", "job-5", "job-4", "job-3", "job-2", "job-1"]
    );
    drop(pages);
    assert_eq!(
        listing_requests(&r.em).await,
        2,
        "the third page was never asked for"
    );
    // Read to the end: three pages, then None.
    let mut pages = r.ws.list_jobs(&filter);
    let mut sizes = Vec::new();
    while let Some(p) = pages.next_page(&mut NoPrompt).await {
        sizes.push(p.unwrap().len());
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert!(pages.next_page(&mut NoPrompt).await.is_none());
}

#[tokio::test]
async fn cancel_leaves_a_waiting_job_cancelled_and_unknown_ids_are_job_not_found() {
    let r = start(idle()).await;
    let job =
        r.ws.create_job(ionq("to-cancel"), None, &mut NoPrompt)
            .await
            .unwrap();
    let cancelled = r.ws.cancel_job(&job.id, &mut NoPrompt).await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    assert!(cancelled.cancellation_time.is_some());
    assert_eq!(
        r.ws.get_job(&job.id, &mut NoPrompt).await.unwrap().status,
        JobStatus::Cancelled
    );
    // Sent again (as a retry whose first answer was lost would be): still the cancelled job.
    let again = r.ws.cancel_job(&job.id, &mut NoPrompt).await.unwrap();
    assert_eq!(again.status, JobStatus::Cancelled);
    let unknown = NewJob::new_id();
    for err in [
        r.ws.cancel_job(&unknown, &mut NoPrompt).await.unwrap_err(),
        r.ws.get_job(&unknown, &mut NoPrompt).await.unwrap_err(),
        r.ws.get_job("../providerStatus", &mut NoPrompt)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.name(), "JobNotFound", "{err}");
        assert!(err.to_string().contains("azq-demo-workspace"), "{err}");
    }
}

async fn wait_for_end(ws: &Workspace, id: &str) -> azq_client::JobDetails {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let job = ws.get_job(id, &mut NoPrompt).await.unwrap();
        if job.status.is_terminal() {
            return job;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job did not end: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_output_of_a_succeeded_job_downloads_and_a_finished_job_cannot_be_cancelled() {
    let r = start(azq_emulator::Config {
        job_delay: Duration::from_millis(10),
        ..Default::default()
    })
    .await;
    let job =
        r.ws.create_job(ionq("bell"), None, &mut NoPrompt)
            .await
            .unwrap();
    let early = r.ws.job_output(&job, &mut NoPrompt).await;
    let done = wait_for_end(&r.ws, &job.id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let (body, content_type) = r.ws.job_output(&done, &mut NoPrompt).await.unwrap();
    let results: Value = serde_json::from_slice(&body).unwrap();
    let histogram = results["histogram"].as_object().expect("IonQ's histogram");
    let total: f64 = histogram.values().map(|p| p.as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-6, "{results}");
    assert!(content_type.unwrap().contains("json"));
    // A plain outputDataUri (no SAS) goes through storage/sasUri.
    let mut plain = done.clone();
    let uri = done.output_data_uri.clone().unwrap();
    assert!(uri.contains("sig="));
    plain.output_data_uri = Some(uri.split('?').next().unwrap().to_owned());
    let (again, _) = r.ws.job_output(&plain, &mut NoPrompt).await.unwrap();
    assert_eq!(again, body);
    if let Err(e) = early {
        assert_eq!(e.name(), "JobOutputDownloadFailed", "{e}");
        assert!(!e.to_string().contains("sig="), "{e}");
    }
    let err = r.ws.cancel_job(&job.id, &mut NoPrompt).await.unwrap_err();
    assert_eq!(err.name(), "JobNotCancellable", "{err}");
    assert!(err.to_string().contains("Succeeded"), "{err}");
}

#[tokio::test]
async fn an_expired_output_sas_is_replaced_and_errors_never_show_a_signature() {
    let r = start(azq_emulator::Config {
        job_delay: Duration::from_millis(10),
        ..Default::default()
    })
    .await;
    let job =
        r.ws.create_job(ionq("bell"), None, &mut NoPrompt)
            .await
            .unwrap();
    let mut done = wait_for_end(&r.ws, &job.id).await;
    let good = r.ws.job_output(&done, &mut NoPrompt).await.unwrap();
    // A signature the storage refuses: a fresh SAS is asked for, and the output still comes.
    let uri = done.output_data_uri.clone().unwrap();
    assert!(uri.contains("sig="));
    let forged = format!(
        "{}?sv=2023-11-03&sr=b&sp=r&se=2000-01-01T00%3A00%3A00Z&sig=FORGED",
        uri.split('?').next().unwrap()
    );
    done.output_data_uri = Some(forged);
    assert_eq!(r.ws.job_output(&done, &mut NoPrompt).await.unwrap(), good);
    // An output that is not there: a clear error, with no query in it.
    let mut missing = url::Url::parse(&uri).unwrap();
    missing.path_segments_mut().unwrap().pop().push("nothing");
    missing.set_query(Some("sig=SENTINEL"));
    let missing = missing.to_string();
    done.output_data_uri = Some(missing);
    let err = r.ws.job_output(&done, &mut NoPrompt).await.unwrap_err();
    assert_eq!(err.name(), "JobOutputDownloadFailed");
    let text = format!("{err} {err:?} {done:?}");
    assert!(
        !text.contains("SENTINEL") && !text.contains("sig="),
        "{text}"
    );
}

#[tokio::test]
async fn a_create_sent_twice_is_one_job_and_a_different_one_is_refused() {
    let r = start(idle()).await;
    let job = ionq("twice");
    let first =
        r.ws.create_job(job.clone(), None, &mut NoPrompt)
            .await
            .unwrap();
    let second =
        r.ws.create_job(job.clone(), None, &mut NoPrompt)
            .await
            .unwrap();
    assert_eq!(
        (first.id.as_str(), first.creation_time.clone()),
        (second.id.as_str(), second.creation_time.clone())
    );
    assert_eq!(store(&r.em).jobs.values().len(), 1);
    let other = NewJob {
        target: "ionq.qpu".into(),
        ..job
    };
    let err =
        r.ws.create_job(other, None, &mut NoPrompt)
            .await
            .unwrap_err();
    assert_eq!(err.name(), "JobSubmissionFailed", "{err}");
    assert!(err.to_string().contains("JobAlreadyExists"), "{err}");
    assert_eq!(store(&r.em).jobs.values().len(), 1);
}

#[tokio::test]
async fn bad_jobs_are_refused_before_anything_is_sent() {
    let r = start(idle()).await;
    for (job, says) in [
        (
            NewJob {
                id: "not-a-guid".into(),
                ..ionq("x")
            },
            "not a lowercase GUID",
        ),
        (
            NewJob {
                id: NewJob::new_id().to_uppercase(),
                ..ionq("x")
            },
            "not a lowercase GUID",
        ),
        (
            NewJob {
                target: String::new(),
                ..ionq("x")
            },
            "target",
        ),
        (
            NewJob {
                input: vec![b' '; 64 * 1024 * 1024 + 1],
                ..ionq("x")
            },
            "MiB",
        ),
    ] {
        let err = r.ws.create_job(job, None, &mut NoPrompt).await.unwrap_err();
        assert_eq!(err.name(), "JobSubmissionFailed");
        assert!(err.to_string().contains(says), "{err}");
    }
    let unknown_target = NewJob {
        target: "nowhere.qpu".into(),
        ..ionq("x")
    };
    let err =
        r.ws.create_job(unknown_target, None, &mut NoPrompt)
            .await
            .unwrap_err();
    assert_eq!(err.name(), "JobSubmissionFailed");
    assert!(err.to_string().contains("nowhere.qpu"), "{err}");
    assert_eq!(store(&r.em).jobs.values().len(), 0);
}

#[tokio::test]
async fn creates_under_injected_faults_make_exactly_one_job_each() {
    let r = start(azq_emulator::Config {
        faults: [
            "PUT **/jobs/* 503 0.15",
            "PUT **/jobs/* 429:0 0.1",
            "PUT **/jobs/* drop 0.1",
            "PUT **/inputData drop 0.2",
            "POST **/storage/sasUri 503 0.2",
        ]
        .iter()
        .map(|f| azq_emulator::faults::parse(f).unwrap())
        .collect(),
        fault_seed: 11,
        ..idle()
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let job =
            r.ws.create_job(ionq(&format!("faulty-{i}")), None, &mut NoPrompt)
                .await
                .unwrap();
        ids.push(job.id);
    }
    {
        let s = store(&r.em);
        assert_eq!(s.jobs.values().len(), 6);
        for id in &ids {
            assert!(s.jobs.get(id).is_some());
            assert_eq!(
                s.containers[&format!("job-{id}")]["inputData"].data,
                BELL.as_bytes()
            );
        }
    }
    let http = Http::new(&Env::default()).unwrap();
    let log = http
        .send(
            Request::get(url::Url::parse(&format!("{}/_emulator/requests", r.url)).unwrap())
                .secret("x-ms-quantum-api-key", Secret::new(r.key.clone())),
        )
        .await
        .unwrap();
    let log: Value = serde_json::from_slice(&log.body).unwrap();
    let entries = log["value"].as_array().or(log.as_array()).unwrap().clone();
    let puts: Vec<&Value> = entries
        .iter()
        .filter(|e| e["method"] == "PUT" && e["path"].as_str().unwrap().contains("/jobs/"))
        .collect();
    let statuses: Vec<u64> = puts.iter().map(|e| e["status"].as_u64().unwrap()).collect();
    assert!(
        statuses.contains(&503) && statuses.contains(&429),
        "the faults fired: {statuses:?}"
    );
    // Dropped connections are logged as 503 without an answer; each was retried.
    let blob_puts = entries
        .iter()
        .filter(|e| e["method"] == "PUT" && e["path"].as_str().unwrap().ends_with("/inputData"))
        .count();
    assert!(blob_puts > 6, "a dropped upload was retried: {blob_puts}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 200 || **s == 201).count(),
        6
    );
}

#[tokio::test]
async fn a_storage_connection_string_uploads_with_shared_key() {
    let r = start(idle()).await;
    let storage = Secret::new(azq_emulator::storage_connection_string(&r.em));
    let job = ionq("shared-key");
    let id = job.id.clone();
    let created =
        r.ws.create_job(job, Some(&storage), &mut NoPrompt)
            .await
            .unwrap();
    assert_eq!(created.id, id);
    assert_eq!(
        store(&r.em).containers[&format!("job-{id}")]["inputData"].data,
        BELL.as_bytes()
    );
    // A wrong key: the storage refuses the signature, and nothing is created.
    let wrong = Secret::new(
        azq_emulator::storage_connection_string(&r.em)
            .split(';')
            .map(|p| {
                if p.starts_with("AccountKey=") {
                    "AccountKey=d3Jvbmcga2V5"
                } else {
                    p
                }
            })
            .collect::<Vec<_>>()
            .join(";"),
    );
    let err =
        r.ws.create_job(ionq("wrong-key"), Some(&wrong), &mut NoPrompt)
            .await
            .unwrap_err();
    assert_eq!(err.name(), "JobSubmissionFailed");
    assert!(err.to_string().contains("403"), "{err}");
    assert!(!err.to_string().contains("d3Jvbmcga2V5"), "{err}");
    assert_eq!(store(&r.em).jobs.values().len(), 1);
}

#[tokio::test]
async fn an_unknown_status_is_kept_and_quotas_are_listed() {
    let r = start(idle()).await;
    let job =
        r.ws.create_job(ionq("odd"), None, &mut NoPrompt)
            .await
            .unwrap();
    store(&r.em)
        .jobs
        .get_mut(&job.id)
        .unwrap()
        .insert("status".into(), json!("Teleporting"));
    let got = r.ws.get_job(&job.id, &mut NoPrompt).await.unwrap();
    assert_eq!(got.status, JobStatus::Unknown("Teleporting".into()));
    assert!(!got.status.is_terminal());
    let listed = all(&r.ws, &JobFilter::default()).await;
    assert_eq!(listed, ["odd"]);
    let quotas = r.ws.list_quotas(&mut NoPrompt).await.unwrap();
    assert!(!quotas.is_empty());
    assert!(
        quotas
            .iter()
            .all(|q| !q.dimension.is_empty() && !q.provider_id.is_empty())
    );
}
