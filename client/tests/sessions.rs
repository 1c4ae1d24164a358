//! The Sessions API against the emulator in-process: open (and open again), get, list, the
//! jobs of a session, close, the failure policies as the service applies them, and sessions
//! that do not exist.

use std::collections::BTreeMap;
use std::time::Duration;

use azq_client::credential::CredentialKind;
use azq_client::{
    ConnectionString, Env, JobDetails, JobFilter, JobStatus, NewJob, NewSession, NoPrompt,
    SessionJobFailurePolicy, SessionStatus, Target, Workspace,
};
use serde_json::json;

mod common;
use common::sign_in;

async fn start() -> Workspace {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = azq_emulator::Config {
        job_delay: Duration::from_millis(10),
        ..Default::default()
    };
    let em = azq_emulator::Emulator::new(config, url);
    let cs = em.connection_string();
    tokio::spawn(azq_emulator::serve(listener, em, std::future::pending()));
    let target = Target::ConnectionString(ConnectionString::parse(&cs).unwrap());
    let signed = sign_in(Env::default(), CredentialKind::ApiKey);
    Workspace::connect(target, signed, &mut NoPrompt)
        .await
        .unwrap()
        .0
}

const BELL: &str = r#"{"qubits": 2, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}"#;

/// An IonQ job in `session`; `broken` input makes the emulator fail it.
fn job(name: &str, session: Option<&str>, broken: bool) -> NewJob {
    NewJob {
        id: NewJob::new_id(),
        name: name.into(),
        provider_id: "ionq".into(),
        target: "ionq.simulator".into(),
        input: if broken {
            b"not a circuit".to_vec()
        } else {
            BELL.as_bytes().to_vec()
        },
        input_data_format: "ionq.circuit.v1".into(),
        content_type: "application/json".into(),
        input_params: json!({ "shots": 10 }),
        output_data_format: Some("ionq.quantum-results.v1".into()),
        metadata: BTreeMap::new(),
        session_id: session.map(str::to_owned),
    }
}

fn session(name: Option<&str>, policy: SessionJobFailurePolicy) -> NewSession {
    NewSession {
        id: NewJob::new_id(),
        name: name.map(str::to_owned),
        provider_id: "ionq".into(),
        target: "ionq.simulator".into(),
        job_failure_policy: policy,
    }
}

async fn wait_for_end(ws: &Workspace, id: &str) -> JobDetails {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let job = ws.get_job(id, &mut NoPrompt).await.unwrap();
        if job.status.is_terminal() {
            return job;
        }
        assert!(std::time::Instant::now() < deadline, "no end: {job:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn session_jobs(ws: &Workspace, id: &str) -> Vec<String> {
    let filter = JobFilter {
        session_id: Some(id.to_owned()),
        ..Default::default()
    };
    let mut pages = ws.list_jobs(&filter);
    let mut names = Vec::new();
    while let Some(page) = pages.next_page(&mut NoPrompt).await {
        names.extend(page.unwrap().into_iter().map(|j| j.name.unwrap()));
    }
    names.sort();
    names
}

#[tokio::test]
async fn a_session_opens_holds_its_jobs_and_closes_succeeded() {
    let ws = start().await;
    let new = session(Some("calibration"), SessionJobFailurePolicy::Continue);
    let opened = ws.open_session(&new, &mut NoPrompt).await.unwrap();
    assert_eq!(opened.id, new.id);
    assert_eq!(opened.name.as_deref(), Some("calibration"));
    assert_eq!(opened.status, Some(SessionStatus::Waiting));
    assert_eq!(
        opened.job_failure_policy,
        Some(SessionJobFailurePolicy::Continue)
    );
    assert_eq!(
        (opened.provider_id.as_str(), opened.target.as_str()),
        ("ionq", "ionq.simulator")
    );
    // Sent again (a lost answer), the PUT answers the same session.
    let again = ws.open_session(&new, &mut NoPrompt).await.unwrap();
    assert_eq!(again.creation_time, opened.creation_time);

    let a = ws
        .create_job(job("a", Some(&new.id), false), None, &mut NoPrompt)
        .await
        .unwrap();
    let b = ws
        .create_job(job("b", Some(&new.id), false), None, &mut NoPrompt)
        .await
        .unwrap();
    ws.create_job(job("outside", None, false), None, &mut NoPrompt)
        .await
        .unwrap();
    assert_eq!(session_jobs(&ws, &new.id).await, ["a", "b"]);
    for id in [&a.id, &b.id] {
        assert_eq!(wait_for_end(&ws, id).await.status, JobStatus::Succeeded);
    }
    assert_eq!(
        ws.get_session(&new.id, &mut NoPrompt).await.unwrap().status,
        Some(SessionStatus::Executing)
    );
    let listed = ws.list_sessions(&mut NoPrompt).await.unwrap();
    assert!(listed.iter().any(|s| s.id == new.id), "{listed:?}");

    let closed = ws.close_session(&new.id, &mut NoPrompt).await.unwrap();
    assert_eq!(closed.status, Some(SessionStatus::Succeeded));
    assert!(closed.end_execution_time.is_some());
    // A closed session takes no more jobs.
    let refused = ws
        .create_job(job("late", Some(&new.id), false), None, &mut NoPrompt)
        .await
        .unwrap_err();
    assert_eq!(refused.name(), "JobSubmissionFailed");
    assert!(refused.to_string().contains("terminal state"), "{refused}");
}

#[tokio::test]
async fn a_failed_job_ends_an_abort_session_and_not_a_continue_one() {
    let ws = start().await;
    let abort = session(None, SessionJobFailurePolicy::Abort);
    let opened = ws.open_session(&abort, &mut NoPrompt).await.unwrap();
    assert_eq!(opened.name, Some(format!("session-{}", abort.id)));
    let bad = ws
        .create_job(job("bad", Some(&abort.id), true), None, &mut NoPrompt)
        .await
        .unwrap();
    assert_eq!(wait_for_end(&ws, &bad.id).await.status, JobStatus::Failed);
    let ended = ws.get_session(&abort.id, &mut NoPrompt).await.unwrap();
    assert_eq!(ended.status, Some(SessionStatus::Failed));
    assert!(ended.status.as_ref().unwrap().is_terminal());
    let refused = ws
        .create_job(job("after", Some(&abort.id), false), None, &mut NoPrompt)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("terminal state"), "{refused}");
    // Closing an ended session answers it as it ended.
    let closed = ws.close_session(&abort.id, &mut NoPrompt).await.unwrap();
    assert_eq!(closed.status, Some(SessionStatus::Failed));

    let cont = session(None, SessionJobFailurePolicy::Continue);
    ws.open_session(&cont, &mut NoPrompt).await.unwrap();
    let bad = ws
        .create_job(job("bad", Some(&cont.id), true), None, &mut NoPrompt)
        .await
        .unwrap();
    assert_eq!(wait_for_end(&ws, &bad.id).await.status, JobStatus::Failed);
    let going = ws.get_session(&cont.id, &mut NoPrompt).await.unwrap();
    assert_eq!(going.status, Some(SessionStatus::Failures));
    assert!(!going.status.as_ref().unwrap().is_terminal());
    let good = ws
        .create_job(job("good", Some(&cont.id), false), None, &mut NoPrompt)
        .await
        .unwrap();
    assert_eq!(
        wait_for_end(&ws, &good.id).await.status,
        JobStatus::Succeeded
    );
    let closed = ws.close_session(&cont.id, &mut NoPrompt).await.unwrap();
    assert_eq!(closed.status, Some(SessionStatus::Failed));
}

#[tokio::test]
async fn an_unknown_session_is_named() {
    let ws = start().await;
    let id = NewJob::new_id();
    for err in [
        ws.get_session(&id, &mut NoPrompt).await.unwrap_err(),
        ws.close_session(&id, &mut NoPrompt).await.unwrap_err(),
        ws.get_session(" ", &mut NoPrompt).await.unwrap_err(),
    ] {
        assert_eq!(err.name(), "SessionNotFound", "{err}");
        assert!(
            err.to_string().contains("was not found in workspace"),
            "{err}"
        );
    }
    // A session on a target the workspace does not have is refused by the service.
    let mut bad = session(None, SessionJobFailurePolicy::Abort);
    bad.target = "nowhere.qpu".into();
    let err = ws.open_session(&bad, &mut NoPrompt).await.unwrap_err();
    assert_eq!(err.name(), "ServiceError", "{err}");
    assert!(err.to_string().contains("nowhere.qpu"), "{err}");
    // A job in a session that does not exist is refused.
    let err = ws
        .create_job(job("lost", Some(&id), false), None, &mut NoPrompt)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}
