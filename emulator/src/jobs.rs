//! The data plane's jobs: create (a retried PUT is the same job), read with fresh SAS URLs,
//! cancel, resume, update, delete, and the queue position.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::Locked;
use crate::http::{Reply, empty, error, now, ok};
use crate::service::{Caller, is_guid, not_found, parse_json, record_caller};
use crate::store::{Item, is_terminal};
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
    em.stats.count(&em.stats.job_gets);
    match em.store.locked().jobs.get(id) {
        Some(j) => ok(&shown_job(em, j)),
        None => not_found("Job", id),
    }
}

/// `GET jobs/{id}/queuePosition`: how many jobs wait ahead of this one on its target
/// (created before it and still Waiting); 0 once it executes, null once it has ended.
pub(crate) fn queue_position(em: &Emulator, id: &str) -> Reply {
    let store = em.store.locked();
    let Some(job) = store.jobs.get(id) else {
        return not_found("Job", id);
    };
    let text = |j: &'_ Item, k: &str| j.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let position = match text(job, "status").as_str() {
        "Waiting" => {
            let target = text(job, "target");
            let ahead = store
                .jobs
                .values()
                .take_while(|j| j.get("id").and_then(Value::as_str) != Some(id))
                .filter(|j| {
                    j.get("status").and_then(Value::as_str) == Some("Waiting")
                        && j.get("target")
                            .and_then(Value::as_str)
                            .is_some_and(|t| t.eq_ignore_ascii_case(&target))
                })
                .count();
            json!(ahead)
        }
        s if is_terminal(s) => Value::Null,
        _ => json!(0),
    };
    ok(&json!({ "queuePosition": position }))
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
    em.stats.count(&em.stats.job_puts);
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
        // A retried PUT is the same job; SAS query strings may differ between retries, and
        // a field the PUT left out is the default the first PUT was given.
        let norm = |k: &str, v: Option<&Value>| -> Value {
            match (k, v) {
                ("name", None | Some(Value::Null)) => json!(format!("job-{id}")),
                ("inputParams", None | Some(Value::Null)) => json!({}),
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
            em.stats.count(&em.stats.job_puts_repeated);
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
        // Nothing used until it has run (the spec's Jobs_Create example: null).
        ("usage", Value::Null),
        ("shots", params_shots(&job)),
        ("resumeCount", json!(0)),
        ("shotsSucceeded", json!(0)),
        ("shotsFailed", json!(0)),
        ("shotsTranslated", json!(0)),
    ] {
        job.entry(k).or_insert(v);
    }
    store.jobs.insert(id.to_owned(), job.clone());
    em.stats.count(&em.stats.jobs_created);
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

/// The most jobs one `POST /_emulator/jobs` inserts.
pub(crate) const MAX_SEED: u64 = 100_000;

/// `POST /_emulator/jobs` `{"count": N, "targets": [...], "statuses": [...], "namePrefix": "…",
/// "start": "<RFC 3339>", "stepMs": 1000}`: inserts N finished jobs at once, for listing
/// tests. Job i is named `{namePrefix}-{i:06}`, runs on `targets[i % T]`, ended in
/// `statuses[(i / T) % S]`, and was created at `start + i × stepMs` (by default the last one
/// a step before now); every creation time must be in the past. Seeded jobs never ran: they
/// have no blobs and no usage.
pub(crate) fn seed(em: &Emulator, body: &[u8]) -> Reply {
    let bad = |why: &str| error(StatusCode::BAD_REQUEST, "InvalidSeed", why);
    let body = match parse_json(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(count) = body
        .get("count")
        .and_then(Value::as_u64)
        .filter(|n| (1..=MAX_SEED).contains(n))
    else {
        return bad(&format!(
            "count must be a whole number from 1 to {MAX_SEED}"
        ));
    };
    let list = |key: &str, default: &[&str]| -> Result<Vec<String>, Reply> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(default.iter().map(|s| (*s).to_owned()).collect()),
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad(&format!("`{key}` must be a list of strings"))),
            Some(_) => Err(bad(&format!("`{key}` must be a non-empty list of strings"))),
        }
    };
    let targets = match list("targets", &["ionq.simulator"]) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut resolved = Vec::new();
    for t in &targets {
        match catalog::target(t) {
            Some(t) => resolved.push(t),
            None => return bad(&format!("target {t} is not in this workspace's catalog")),
        }
    }
    let statuses = match list("statuses", &["Succeeded", "Failed", "Cancelled"]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Some(s) = statuses
        .iter()
        .find(|s| !matches!(s.as_str(), "Succeeded" | "Failed" | "Cancelled"))
    {
        return bad(&format!(
            "status {s} is not a finished state; seed Succeeded, Failed or Cancelled jobs"
        ));
    }
    let prefix = match body.get("namePrefix") {
        None | Some(Value::Null) => "seeded".to_owned(),
        Some(Value::String(p)) if p.len() <= 200 => p.clone(),
        Some(_) => return bad("namePrefix must be a string of at most 200 bytes"),
    };
    let step_ms = match body.get("stepMs") {
        None | Some(Value::Null) => 1000,
        Some(v) => match v.as_i64().filter(|n| (1..=86_400_000).contains(n)) {
            Some(n) => n,
            None => return bad("stepMs must be a whole number of milliseconds from 1 to 86400000"),
        },
    };
    let step = chrono::Duration::milliseconds(step_ms);
    let now = chrono::Utc::now();
    let span = step * (count as i32 - 1);
    let start = match body.get("start") {
        None | Some(Value::Null) => now - span - step,
        Some(Value::String(s)) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.with_timezone(&chrono::Utc),
            Err(_) => return bad("start must be an RFC 3339 time, e.g. 2026-01-01T00:00:00Z"),
        },
        Some(_) => return bad("start must be an RFC 3339 time, e.g. 2026-01-01T00:00:00Z"),
    };
    if start + span > now {
        return bad("the seeded jobs' creation times must all be in the past; move start back");
    }
    let stamp = crate::http::timestamp;
    let mut batch = Vec::with_capacity(count as usize);
    for i in 0..count as usize {
        let target = resolved[i % resolved.len()];
        let status = statuses[(i / resolved.len()) % statuses.len()].as_str();
        let id = uuid::Uuid::new_v4().to_string();
        let container = format!("job-{id}");
        let created = start + step * i as i32;
        let ended = stamp(created + step / 2);
        let shots = target.default_shots;
        let output = if status == "Succeeded" {
            "rawOutputData"
        } else {
            "outputData"
        };
        let mut job = json!({
            "id": id, "itemType": "Job", "jobType": "QuantumComputing",
            "name": format!("{prefix}-{i:06}"), "providerId": target.provider, "target": target.id,
            "status": status,
            "creationTime": stamp(created), "beginExecutionTime": stamp(created + step / 4),
            "endExecutionTime": ended, "lastUpdatedTime": ended, "lastModifiedTime": ended,
            "cancellationTime": if status == "Cancelled" { json!(ended) } else { Value::Null },
            "createdBy": "emulator seed", "createdByType": "Key",
            "lastModifiedBy": "emulator seed", "lastModifiedByType": "Key",
            "containerUri": blob::plain_url(em, &container, None),
            "inputDataUri": blob::plain_url(em, &container, Some("inputData")),
            "inputDataFormat": target.formats.0, "inputParams": { "shots": shots },
            "outputDataUri": blob::plain_url(em, &container, Some(output)),
            "outputDataFormat": target.formats.1,
            "errorData": if status == "Failed" {
                json!({ "code": "SeededFailure", "message": "a finished job the emulator seeded for tests; it never ran" })
            } else {
                Value::Null
            },
            "metadata": null, "sessionId": null, "costEstimate": null, "quantumComputingData": null,
            "usage": null, "isCancelling": false, "jobPriority": "Basic", "priority": "Standard",
            "tags": [], "shots": shots, "resumeCount": 0,
            "shotsSucceeded": if status == "Succeeded" { shots } else { 0 },
            "shotsFailed": 0, "shotsTranslated": 0,
        });
        if let Value::Object(job) = job.take() {
            batch.push(job);
        }
    }
    let summary =
        |j: &Item| json!({ "id": j["id"], "name": j["name"], "creationTime": j["creationTime"] });
    let answer = json!({
        "created": count,
        "first": batch.first().map(summary),
        "last": batch.last().map(summary),
    });
    em.store.locked().jobs.merge(batch);
    em.stats.add(&em.stats.jobs_seeded, count);
    ok(&answer)
}
