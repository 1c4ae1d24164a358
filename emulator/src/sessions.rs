//! The data plane's sessions: open (a repeated PUT answers the session as it is), read,
//! and close (Succeeded, Failed or still Executing, as its jobs stand).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::Emulator;
use crate::Locked;
use crate::catalog;
use crate::http::{Reply, error, now, ok};
use crate::jobs::new_item;
use crate::service::{Caller, not_found, record_caller};
use crate::store::is_terminal;

pub(crate) fn open_session(em: &Emulator, id: &str, body: &[u8], caller: &Caller) -> Reply {
    let body = match new_item(id, body, "Session") {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(target_id) = body.get("target").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidSessionDefinition",
            "a session needs a target",
        );
    };
    let Some(target) = catalog::target(target_id) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidSessionDefinition",
            &format!("target {target_id} is not available in this workspace"),
        );
    };
    let mut store = em.store.locked();
    if let Some(existing) = store.sessions.get(id) {
        return ok(&Value::Object(existing.clone()));
    }
    let mut session = body.clone();
    let now = now();
    for (k, v) in [
        ("id", json!(id)),
        ("itemType", json!("Session")),
        ("providerId", json!(target.provider)),
        ("status", json!("Waiting")),
        ("creationTime", json!(now)),
    ] {
        session.insert(k.into(), v);
    }
    session.entry("jobFailurePolicy").or_insert(json!("Abort"));
    session
        .entry("name")
        .or_insert(json!(format!("session-{id}")));
    session.insert("jobPriority".into(), json!("Basic"));
    record_caller(&mut session, caller, &now);
    for k in [
        "beginExecutionTime",
        "endExecutionTime",
        "errorData",
        "costEstimate",
    ] {
        session.entry(k).or_insert(Value::Null);
    }
    store.sessions.insert(id.to_owned(), session.clone());
    em.stats.count(&em.stats.sessions_created);
    ok(&Value::Object(session))
}

pub(crate) fn close_session(em: &Emulator, id: &str) -> Reply {
    let mut store = em.store.locked();
    let statuses: Vec<String> = store
        .jobs
        .values()
        .filter(|j| j.get("sessionId").and_then(Value::as_str) == Some(id))
        .filter_map(|j| j.get("status").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let Some(session) = store.sessions.get_mut(id) else {
        return not_found("Session", id);
    };
    if matches!(
        session.get("status").and_then(Value::as_str),
        Some("Succeeded" | "Failed" | "TimedOut")
    ) {
        // Already ended (a failed job under the Abort policy): as it ended.
        return ok(&Value::Object(session.clone()));
    }
    let status = if statuses.iter().any(|s| !is_terminal(s)) {
        "Executing"
    } else if statuses.iter().any(|s| s == "Failed") {
        "Failed"
    } else {
        "Succeeded"
    };
    session.insert("status".into(), json!(status));
    session.insert("endExecutionTime".into(), json!(now()));
    ok(&Value::Object(session.clone()))
}

/// `GET sessions/{id}`.
pub(crate) fn get(em: &Emulator, id: &str) -> Reply {
    match em.store.locked().sessions.get(id) {
        Some(s) => ok(&Value::Object(s.clone())),
        None => not_found("Session", id),
    }
}
