//! The data plane's jobs: create (a retried PUT is the same job), read with fresh SAS URLs,
//! cancel, resume, update, delete, and the queue position.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::Locked;
use crate::http::{Reply, empty, error, now, ok};
use crate::service::{Caller, is_guid, not_found, parse_json, record_caller};
use crate::store::is_terminal;
use crate::{Emulator, blob, catalog, runner};

/// The job as a GET returns it: SAS URLs fresh for reading.
pub(crate) fn shown_job(em: &Emulator, job: &crate::store::Item) -> Value {
    let mut job = job.clone();
    let id = job
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let container = format!("job-{id}");
    job.insert(
        "containerUri".into(),
        json!(blob::sas_url(em, &container, None, "rl", 24)),
    );
    for key in ["inputDataUri", "outputDataUri"] {
        if let Some((c, Some(b))) = job.get(key).and_then(Value::as_str).and_then(blob::locate) {
            job.insert(key.into(), json!(blob::sas_url(em, &c, Some(&b), "r", 24)));
        }
    }
    Value::Object(job)
}

/// `GET jobs/{id}`.
pub(crate) fn get(em: &Emulator, id: &str) -> Reply {
    match em.store.locked().jobs.get(id) {
        Some(j) => ok(&shown_job(em, j)),
        None => not_found("Job", id),
    }
}

/// `GET jobs/{id}/queuePosition`.
pub(crate) fn queue_position(em: &Emulator, id: &str) -> Reply {
    match em.store.locked().job_status(id) {
        Some(s) => {
            ok(&json!({ "queuePosition": if s == "Waiting" { json!(0) } else { Value::Null } }))
        }
        None => not_found("Job", id),
    }
}

/// `DELETE jobs/{id}`: a cancel before 2025-12-01-preview, a real delete from then on.
pub(crate) fn delete(em: &Emulator, id: &str, version: &str) -> Reply {
    if version < "2025-12-01-preview" {
        return cancel(em, id);
    }
    let mut store = em.store.locked();
    match store.jobs.remove(id) {
        Some(_) => empty(StatusCode::NO_CONTENT),
        None => not_found("Job", id),
    }
}

/// The id and body of a new job or session (`kind`), checked: a GUID and a JSON object.
pub(crate) fn new_item(id: &str, body: &[u8], kind: &str) -> Result<crate::store::Item, Reply> {
    if !is_guid(id) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid{kind}Id"),
            &format!("the {} id must be a GUID", kind.to_lowercase()),
        ));
    }
    match parse_json(body)? {
        Value::Object(m) => Ok(m),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid{kind}Definition"),
            &format!("the {} must be a JSON object", kind.to_lowercase()),
        )),
    }
}

pub(crate) fn create_job(em: &Arc<Emulator>, id: &str, body: &[u8], caller: &Caller) -> Reply {
    let body = match new_item(id, body, "Job") {
        Ok(b) => b,
        Err(r) => return r,
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(target_id), Some(provider)) = (text("target"), text("providerId")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidJobDefinition",
            "a job needs providerId and target",
        );
    };
    let Some(target) = catalog::target(&target_id) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidJobDefinition",
            &format!("target {target_id} is not available in this workspace"),
        );
    };
    if !provider.eq_ignore_ascii_case(target.provider) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidJobDefinition",
            &format!(
                "target {target_id} belongs to provider {}, not {provider}",
                target.provider
            ),
        );
    }
    if text("containerUri").is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidJobDefinition",
            "containerUri is required",
        );
    }
    let mut store = em.store.locked();
    if let Some(existing) = store.jobs.get(id) {
        // A retried PUT is the same job; SAS query strings may differ between retries.
        let norm = |k: &str, v: Option<&Value>| -> Value {
            match (k, v) {
                ("inputDataUri", Some(Value::String(u))) => {
                    json!(u.split('?').next().unwrap_or(""))
                }
                ("providerId", Some(Value::String(p))) => json!(p.to_lowercase()),
                (_, v) => v.cloned().unwrap_or(Value::Null),
            }
        };
        let same = [
            "target",
            "providerId",
            "inputDataUri",
            "inputDataFormat",
            "inputParams",
            "name",
        ]
        .iter()
        .all(|k| norm(k, body.get(*k)) == norm(k, existing.get(*k)));
        return if same {
            ok(&shown_job(em, existing))
        } else {
            error(
                StatusCode::CONFLICT,
                "JobAlreadyExists",
                &format!("job {id} already exists with a different definition"),
            )
        };
    }
    if let Some(session) = text("sessionId") {
        match store
            .sessions
            .get(&session)
            .and_then(|s| s.get("status"))
            .and_then(Value::as_str)
        {
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidJobDefinition",
                    &format!("session {session} does not exist"),
                );
            }
            Some("Succeeded" | "Failed" | "TimedOut") => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidJobDefinition",
                    "Session is already in a terminal state. Open a new session.",
                );
            }
            _ => {}
        }
    }
    let container = format!("job-{id}");
    store.containers.entry(container.clone()).or_default();
    let mut job = body.clone();
    let now = now();
    let defaults = [
        ("id", json!(id)),
        ("itemType", json!("Job")),
        ("jobType", json!("QuantumComputing")),
        ("providerId", json!(provider.to_lowercase())),
        ("status", json!("Waiting")),
        ("creationTime", json!(now)),
        ("lastUpdatedTime", json!(now)),
        ("containerUri", json!(blob::plain_url(em, &container, None))),
        (
            "outputDataUri",
            json!(blob::plain_url(em, &container, Some("outputData"))),
        ),
    ];
    for (k, v) in defaults {
        job.insert(k.into(), v);
    }
    for (k, v) in [
        (
            "outputDataFormat",
            // QIR jobs come back translated; the rest in the provider's own format.
            if text("inputDataFormat").is_some_and(|f| f.ends_with("qir.v1")) {
                json!("microsoft.quantum-results.v2")
            } else {
                json!(target.formats.1)
            },
        ),
        ("inputParams", json!({})),
        ("tags", json!([])),
        ("priority", json!("Standard")),
        ("name", json!(format!("job-{id}"))),
    ] {
        if job.get(k).is_none_or(Value::is_null) {
            job.insert(k.into(), v);
        }
    }
    // Unset metadata is null, as the live service answers (the recordings), not `{}`.
    for k in [
        "metadata",
        "sessionId",
        "beginExecutionTime",
        "endExecutionTime",
        "cancellationTime",
        "errorData",
        "costEstimate",
        "quantumComputingData",
    ] {
        job.entry(k).or_insert(Value::Null);
    }
    job.insert("isCancelling".into(), json!(false));
    job.insert("jobPriority".into(), json!("Basic"));
    // Metadata is a map of strings on the service: other values come back as their JSON text.
    if let Some(Value::Object(meta)) = job.get_mut("metadata") {
        for v in meta.values_mut() {
            if !v.is_string() && !v.is_null() {
                *v = json!(v.to_string());
            }
        }
    }
    record_caller(&mut job, caller, &now);
    for (k, v) in [
        ("usage", json!({ "standardMinutes": 0 })),
        ("shots", params_shots(&job)),
        ("resumeCount", json!(0)),
        ("shotsSucceeded", json!(0)),
        ("shotsFailed", json!(0)),
        ("shotsTranslated", json!(0)),
    ] {
        job.entry(k).or_insert(v);
    }
    store.jobs.insert(id.to_owned(), job.clone());
    drop(store);
    runner::start(em.clone(), id.to_owned());
    ok(&Value::Object(job))
}

pub(crate) fn cancel(em: &Emulator, id: &str) -> Reply {
    let mut store = em.store.locked();
    let Some(job) = store.jobs.get_mut(id) else {
        return not_found("Job", id);
    };
    let status = job.get("status").and_then(Value::as_str).unwrap_or("");
    if is_terminal(status) {
        return error(
            StatusCode::CONFLICT,
            "InvalidJobState",
            &format!("job {id} has already finished ({status}) and cannot be cancelled"),
        );
    }
    let now = now();
    job.insert("status".into(), json!("Cancelled"));
    job.insert("cancellationTime".into(), json!(now));
    job.insert("endExecutionTime".into(), json!(now));
    job.insert("lastUpdatedTime".into(), json!(now));
    empty(StatusCode::NO_CONTENT)
}

pub(crate) fn resume(em: &Arc<Emulator>, id: &str) -> Reply {
    let mut store = em.store.locked();
    let Some(job) = store.jobs.get_mut(id) else {
        return not_found("Job", id);
    };
    if !matches!(
        job.get("status").and_then(Value::as_str),
        Some("Failed" | "Cancelled")
    ) {
        return error(
            StatusCode::CONFLICT,
            "InvalidJobState",
            "only a failed or cancelled job can be resumed",
        );
    }
    job.insert("status".into(), json!("Waiting"));
    job.insert("errorData".into(), Value::Null);
    let count = job.get("resumeCount").and_then(Value::as_i64).unwrap_or(0) + 1;
    job.insert("resumeCount".into(), json!(count));
    drop(store);
    runner::start(em.clone(), id.to_owned());
    empty(StatusCode::NO_CONTENT)
}

/// Merge-patch `{name?, priority?, tags?}`, or the older JSON Patch list.
/// `full`: answer with the whole job (the `jobs/{id}` route of 2026-01-15), else with the
/// `{id, name, priority, tags}` of `jobUpdateOptions`.
pub(crate) fn update_job(em: &Emulator, id: &str, body: &[u8], full: bool) -> Reply {
    let patch = match parse_json(body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut changes: Vec<(String, Value)> = Vec::new();
    match &patch {
        Value::Object(m) => changes.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
        Value::Array(ops) => {
            for op in ops {
                let (Some(kind), Some(path)) = (
                    op.get("op").and_then(Value::as_str),
                    op.get("path").and_then(Value::as_str),
                ) else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidPatch",
                        "each patch operation needs op and path",
                    );
                };
                let key = path
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .unwrap_or("")
                    .to_owned();
                match kind {
                    "add" | "replace" => {
                        changes.push((key, op.get("value").cloned().unwrap_or(Value::Null)))
                    }
                    "remove" => changes.push((key, Value::Null)),
                    other => {
                        return error(
                            StatusCode::BAD_REQUEST,
                            "InvalidPatch",
                            &format!("patch operation {other} is not supported"),
                        );
                    }
                }
            }
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidPatch",
                "the update must be an object or a JSON Patch list",
            );
        }
    }
    let mut store = em.store.locked();
    let Some(job) = store.jobs.get_mut(id) else {
        return not_found("Job", id);
    };
    for (k, v) in changes {
        match (k.as_str(), &v) {
            ("name", Value::String(_))
            | ("tags", Value::Array(_))
            | ("metadata", Value::Object(_) | Value::Null) => {
                job.insert(k, v);
            }
            ("priority", Value::String(p)) if p == "Standard" || p == "High" => {
                job.insert(k, v);
            }
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidPatch",
                    &format!("`{k}` cannot be set to {v}"),
                );
            }
        }
    }
    job.insert("lastModifiedTime".into(), json!(now()));
    if full {
        let job = job.clone();
        drop(store);
        return ok(&shown_job(em, &job));
    }
    ok(
        &json!({ "id": id, "name": job.get("name"), "priority": job.get("priority"), "tags": job.get("tags") }),
    )
}

fn params_shots(job: &crate::store::Item) -> Value {
    let p = job.get("inputParams");
    p.and_then(|p| p.get("shots").or_else(|| p.get("count")))
        .cloned()
        .unwrap_or(Value::Null)
}
