//! Runs jobs: Waiting → Executing → Succeeded or Failed (or Cancelled at any point before),
//! on the emulator's clock. The program is read from the input blob in its format,
//! simulated, and the result written to the output blob in the provider's own format (and
//! the service's content type). A session's state follows its jobs.

use std::sync::Arc;

use azq_circuits::formats::{ionq, qir, quil};
use azq_circuits::sim::{Simulator, seed_from};
use azq_circuits::{qasm, results};
use serde_json::{Value, json};

use crate::Locked;
use crate::catalog::{Kind, target};
use crate::store::{Blob, Store, is_terminal};
use crate::usage::{self, Used, counts};
use crate::{Emulator, blob, http};

/// A finished run: the output blob's name, content type and body, or the job's error.
type Outcome = Result<(String, String, Vec<u8>), (String, String)>;

/// Changes a job that has not ended; its session follows what `apply` says happened, under
/// the same lock (a reader never sees the job changed and its session not yet).
fn set(
    em: &Emulator,
    id: &str,
    apply: impl FnOnce(&mut serde_json::Map<String, Value>) -> Option<JobEvent>,
) -> bool {
    // Written before the lock is let go: no client sees a state a kill could take back.
    let (changed, written) = em.commit(|store| match store.jobs.get_mut(id) {
        Some(job) if !is_terminal(job.get("status").and_then(Value::as_str).unwrap_or("")) => {
            let event = apply(job);
            job.insert("lastUpdatedTime".into(), json!(http::now()));
            let session = job.get("sessionId").and_then(Value::as_str);
            if let (Some(event), Some(sid)) = (event, session.map(str::to_owned)) {
                session_event(store, &sid, event);
            }
            Some(())
        }
        _ => None,
    });
    if let Err(e) = written {
        tracing::error!("cannot write the data dir: {e}");
    }
    changed.is_some()
}

/// The largest job the emulator simulates: a 26-qubit state is 1 GiB, and a client decides
/// how many jobs run at once, so each is bounded well below what the memory check allows a
/// single `azq simulate` (30 qubits where memory allows).
const JOB_MAX_QUBITS: usize = 26;

/// The simulator threads one job gets: the configured budget, or an equal share of the
/// cores among the jobs that may execute at once.
fn job_threads(config: &crate::Config) -> usize {
    match config.job_threads {
        0 => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            (cores / config.max_running_jobs.max(1)).max(1)
        }
        n => n,
    }
}

/// Runs a job a restarted emulator found unfinished: from the start, keeping the state a
/// client may have seen (an Executing job does not go back to Waiting).
pub fn resume_after_restart(em: Arc<Emulator>, id: String) {
    start(em, id);
}

/// The catalogue entry of a job's target.
fn job_target(em: &Emulator, id: &str) -> Option<&'static crate::catalog::Target> {
    let store = em.store.locked();
    let job = store.jobs.get(id)?;
    target(job.get("target")?.as_str()?)
}

/// Starts a job's life on the emulator's clock.
pub fn start(em: Arc<Emulator>, id: String) {
    tokio::spawn(async move {
        tokio::time::sleep(em.config.job_delay).await;
        // A machine down for maintenance holds its queue, as on Azure: the job stays Waiting
        // (until cancelled) and takes no turn from the targets that are up.
        if job_target(&em, &id).is_some_and(|t| t.availability == "Unavailable") {
            return;
        }
        // A turn to execute: the job stays Waiting until one is free. Held to the job's end.
        let Ok(_turn) = em.running.acquire().await else {
            return;
        };
        let still_waiting = set(&em, &id, |job| {
            job.insert("status".into(), json!("Executing"));
            job.insert("beginExecutionTime".into(), json!(http::now()));
            Some(JobEvent::Started)
        });
        if !still_waiting {
            return;
        }
        let began = std::time::Instant::now();
        let runner = em.clone();
        let job_id = id.clone();
        let (outcome, used) = tokio::task::spawn_blocking(move || {
            let mut used = Used::default();
            (run(&runner, &job_id, &mut used), used)
        })
        .await
        .unwrap_or_else(|_| {
            (
                Err((
                    "InternalError".into(),
                    "the emulator failed while running the job".into(),
                )),
                Used::default(),
            )
        });
        tokio::time::sleep(em.config.job_delay).await;
        let seconds = began.elapsed().as_secs_f64();
        let container = format!("job-{id}");
        if let Ok((name, content_type, data)) = &outcome {
            let mut store = em.store.locked();
            store
                .containers
                .entry(container.clone())
                .or_default()
                .insert(
                    name.clone(),
                    Blob {
                        content_type: content_type.clone(),
                        data: data.clone(),
                    },
                );
        }
        set(&em, &id, |job| {
            job.insert("endExecutionTime".into(), json!(http::now()));
            match outcome {
                Ok((name, _, _)) => {
                    job.insert("status".into(), json!("Succeeded"));
                    if let Some(t) = job.get("target").and_then(Value::as_str).and_then(target) {
                        usage::finish(job, t, &used, seconds);
                    }
                    job.insert(
                        "outputDataUri".into(),
                        json!(blob::plain_url(&em, &container, Some(&name))),
                    );
                    Some(JobEvent::Succeeded)
                }
                Err((code, message)) => {
                    job.insert("status".into(), json!("Failed"));
                    job.insert(
                        "errorData".into(),
                        json!({ "code": code, "message": message }),
                    );
                    Some(JobEvent::Failed)
                }
            }
        });
    });
}

/// What happened to one of a session's jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobEvent {
    Started,
    Succeeded,
    Failed,
}

/// A session's state follows its jobs, as the service's does (recorded in
/// test_session_job_failure_policies_echo_quantinuum.yaml): Waiting until a job of its runs,
/// then Executing; a failed job ends an `Abort` session (Failed, with an end time) and marks a
/// `Continue` one `Failure(s)`, which still takes jobs and stays so until it is closed.
/// A session that has ended (Succeeded, Failed, TimedOut) no longer changes.
fn session_event(store: &mut Store, sid: &str, event: JobEvent) {
    let Some(session) = store.sessions.get_mut(sid) else {
        return;
    };
    let status = session.get("status").and_then(Value::as_str).unwrap_or("");
    if matches!(status, "Succeeded" | "Failed" | "TimedOut") {
        return;
    }
    let now = http::now();
    let next = match event {
        JobEvent::Started | JobEvent::Succeeded if status == "Waiting" => "Executing",
        JobEvent::Started | JobEvent::Succeeded => return,
        JobEvent::Failed
            if session.get("jobFailurePolicy").and_then(Value::as_str) == Some("Continue") =>
        {
            "Failure(s)"
        }
        JobEvent::Failed => {
            session.insert("endExecutionTime".into(), json!(now));
            "Failed"
        }
    };
    if session.get("beginExecutionTime").is_none_or(Value::is_null) {
        session.insert("beginExecutionTime".into(), json!(now));
    }
    session.insert("status".into(), json!(next));
    session.insert("lastUpdatedTime".into(), json!(now));
}

fn invalid(message: impl Into<String>) -> (String, String) {
    ("InvalidInputData".into(), message.into())
}

/// Output formats the service translates results into (from QIR jobs).
const TRANSLATED: &[&str] = &[
    "microsoft.quantum-results.v1",
    "microsoft.quantum-results.v2",
];

/// Reads, simulates and formats one job, noting in `used` what the run used.
fn run(em: &Emulator, id: &str, used: &mut Used) -> Outcome {
    let (job, input) = {
        let store = em.store.locked();
        let job = store
            .jobs
            .get(id)
            .cloned()
            .ok_or_else(|| invalid("the job vanished"))?;
        let uri = job
            .get("inputDataUri")
            .and_then(Value::as_str)
            .unwrap_or("");
        let (container, name) = blob::locate(uri).ok_or_else(|| {
            invalid("inputDataUri does not name a blob in this workspace's storage")
        })?;
        let data = store
            .containers
            .get(&container)
            .and_then(|c| c.get(name.as_deref().unwrap_or("inputData")))
            .map(|b| b.data.clone())
            .ok_or_else(|| {
                invalid("the input blob does not exist; upload it before creating the job")
            })?;
        (job, data)
    };
    let text = String::from_utf8(input).map_err(|_| {
        invalid("the input is not UTF-8 text (QIR bitcode is not supported; send QIR as text)")
    })?;
    let target_id = job.get("target").and_then(Value::as_str).unwrap_or("");
    let target = target(target_id).ok_or_else(|| invalid(format!("unknown target {target_id}")))?;
    let input_format = job
        .get("inputDataFormat")
        .and_then(Value::as_str)
        .unwrap_or("");
    let output_format = job
        .get("outputDataFormat")
        .and_then(Value::as_str)
        .unwrap_or(target.formats.1)
        .to_owned();
    let params = job.get("inputParams").cloned().unwrap_or(json!({}));
    let shots = params
        .get("shots")
        .or_else(|| params.get("count"))
        .and_then(Value::as_u64)
        .unwrap_or(target.default_shots)
        .clamp(1, 1_000_000);
    used.shots = shots;
    used.params = params.clone();
    used.translated = TRANSLATED.contains(&output_format.as_str());
    let sim = Simulator {
        threads: job_threads(&em.config),
        max_qubits: JOB_MAX_QUBITS,
        ..Simulator::default()
    };
    let seed = seed_from(id);
    let known = |f: &str| {
        TRANSLATED.contains(&f)
            || [
                "microsoft.quantum-log.v1",
                "honeywell.qir.v1",
                "rigetti.qir.v1",
                "qir.v1",
            ]
            .contains(&f)
            || crate::catalog::TARGETS
                .iter()
                .any(|t| t.formats.0 == f || t.formats.1 == f)
    };
    let cannot_translate = || {
        Err((
            "CannotTranslateOutputData".to_owned(),
            format!(
                "The output returned by '{}' cannot be translated as specified by 'outputDataFormat'. Please ensure that 'outputDataFormat' is correct.",
                target.provider
            ),
        ))
    };
    if !known(&output_format) {
        return cannot_translate();
    }
    if target.kind == Kind::Echo && !TRANSLATED.contains(&output_format.as_str()) {
        // The test targets give back what they were given.
        return Ok((
            "rawOutputData".to_owned(),
            "application/json".to_owned(),
            text.into_bytes(),
        ));
    }
    if target.kind == Kind::Estimator {
        return Err(("NotEmulated".into(), "resource estimation (microsoft.estimator) is not emulated; use the QDK's local estimator".into()));
    }
    let fail = |e: azq_circuits::ProgramError| invalid(format!("{}: {e}", e.name()));
    // The content types the service stores results with (recorded): IonQ's, Rigetti's and
    // Pasqal's as JSON, Quantinuum's and QIR results as bytes.
    let native_as = |value: Value, content_type: &str| {
        Ok((
            "rawOutputData".to_owned(),
            content_type.to_owned(),
            value.to_string().into_bytes(),
        ))
    };
    let native = |value: Value| native_as(value, "application/json");
    match input_format {
        "qir.v1" | "honeywell.qir.v1" | "rigetti.qir.v1"
            if !TRANSLATED.contains(&output_format.as_str()) =>
        {
            cannot_translate()
        }
        "qir.v1" | "honeywell.qir.v1" | "rigetti.qir.v1" => {
            let program = qir::read(&text).map_err(fail)?;
            used.counts = Some(counts(&program.circuit));
            // v1 reports frequencies (counts suffice); v2 lists every shot.
            let value = if output_format == "microsoft.quantum-results.v1" {
                let shots = sim
                    .run_counts(&program.circuit, shots, seed)
                    .map_err(fail)?;
                results::microsoft_v1(&shots, &program.records)
            } else {
                let shots = sim.run(&program.circuit, shots, seed).map_err(fail)?;
                results::microsoft_v2(&shots, &program.records)
            };
            Ok((
                "outputData".to_owned(),
                "application/octet-stream".to_owned(),
                value.to_string().into_bytes(),
            ))
        }
        "ionq.circuit.v1" => {
            let c = ionq::read(&text).map_err(fail)?;
            used.counts = Some(counts(&c));
            if target.kind == Kind::IonqSimulator {
                native(results::ionq_exact(
                    &sim.statevector(&c).map_err(fail)?.probabilities(),
                ))
            } else {
                native(results::ionq_from_shots(
                    &sim.run_counts(&c, shots, seed).map_err(fail)?,
                ))
            }
        }
        "honeywell.openqasm.v1" | "quantinuum.openqasm.v1" => {
            let c = qasm::load(&text).map_err(fail)?;
            used.counts = Some(counts(&c));
            let mut s = sim.run(&c, shots, seed).map_err(fail)?;
            if target.kind == Kind::QuantinuumChecker {
                s.shots
                    .iter_mut()
                    .for_each(|b| b.iter_mut().for_each(|x| *x = false));
            }
            native_as(
                results::quantinuum(&s, &c.cregs),
                "application/octet-stream",
            )
        }
        "rigetti.quil.v1" => {
            let c = quil::read(&text).map_err(fail)?;
            used.counts = Some(counts(&c));
            native(results::rigetti(
                &sim.run(&c, shots, seed).map_err(fail)?,
                &c.cregs,
            ))
        }
        "pasqal.pulser.v1" => {
            serde_json::from_str::<Value>(&text)
                .map_err(|e| invalid(format!("the Pulser sequence is not JSON: {e}")))?;
            // Pulse-level simulation is not emulated: a labelled, all-ground-state counter.
            native(
                json!({ "counter": { "0": shots }, "emulated": "pulse sequences are not simulated" }),
            )
        }
        other => Err(invalid(format!(
            "input format `{other}` is not supported by {}",
            target.id
        ))),
    }
}
