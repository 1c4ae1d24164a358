//! The spec's job, session and quota models (2026-01-15-preview, plus the fields the live
//! service and later versions add), read leniently: enums keep values they do not know, nulls
//! are accepted everywhere, unknown fields are ignored, a field of the wrong shape becomes
//! `None` rather than failing the whole answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// An enum the spec models as a string: known values typed, any other kept as it came.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $other:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
            /// A value this version of azq does not know, as the service wrote it.
            $other(String),
        }

        impl $name {
            /// The service's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::$other(s) => s,
                }
            }

            /// Reads the service's spelling (any case); anything else is kept as it is.
            pub fn parse(text: &str) -> $name {
                $(if text.eq_ignore_ascii_case($text) {
                    return $name::$variant;
                })*
                $name::$other(text.to_owned())
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name::$other(String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<$name, Self::Err> {
                Ok($name::parse(s))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                Ok($name::parse(&text_of(Value::deserialize(d)?)))
            }
        }
    };
}

string_enum! {
    /// A job's status. The spec's values; `Unknown` keeps any other.
    JobStatus, Unknown {
        Waiting = "Waiting",
        Executing = "Executing",
        Finishing = "Finishing",
        Succeeded = "Succeeded",
        Failed = "Failed",
        Cancelled = "Cancelled",
        Queued = "Queued",
        CancellationRequested = "CancellationRequested",
        Cancelling = "Cancelling",
        Completed = "Completed",
    }
}

impl JobStatus {
    /// Whether the job has ended (nothing will change its status any more).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled | JobStatus::Completed
        )
    }
}

string_enum! {
    JobType, Other { Unknown = "Unknown", QuantumComputing = "QuantumComputing", Optimization = "Optimization" }
}
string_enum! {
    ItemType, Other { Job = "Job", Session = "Session" }
}
string_enum! {
    CreatedByType, Other { User = "User", Application = "Application", ManagedIdentity = "ManagedIdentity", Key = "Key" }
}
string_enum! {
    Priority, Other { Standard = "Standard", High = "High" }
}
string_enum! {
    DimensionScope, Other { Workspace = "Workspace", Subscription = "Subscription" }
}
string_enum! {
    MeterPeriod, Other { None = "None", Monthly = "Monthly" }
}
string_enum! {
    SessionStatus, Other {
        Waiting = "Waiting",
        Executing = "Executing",
        Succeeded = "Succeeded",
        Failed = "Failed",
        Failures = "Failure(s)",
        TimedOut = "TimedOut",
    }
}
impl SessionStatus {
    /// Whether the session has ended (it takes no more jobs), as the SDK counts it.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            SessionStatus::Succeeded | SessionStatus::Failed | SessionStatus::TimedOut
        )
    }
}

string_enum! {
    SessionJobFailurePolicy, Other { Abort = "Abort", Continue = "Continue" }
}

/// A job as the service describes it (`GET jobs/{id}`, listings, create).
///
/// `container_uri`, `input_data_uri` and `output_data_uri` may carry SAS tokens: `Debug` and
/// `Serialize` show them without their query.
#[derive(Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobDetails {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub provider_id: String,
    #[serde(default, deserialize_with = "text")]
    pub target: String,
    #[serde(default)]
    pub status: JobStatus,
    #[serde(default, deserialize_with = "opt_text")]
    pub item_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub job_type: Option<JobType>,
    #[serde(default, deserialize_with = "opt_text")]
    pub session_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        serialize_with = "redacted_url"
    )]
    pub container_uri: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        serialize_with = "redacted_url"
    )]
    pub input_data_uri: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub input_data_format: Option<String>,
    #[serde(default, deserialize_with = "opt_value")]
    pub input_params: Option<Value>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        serialize_with = "redacted_url"
    )]
    pub output_data_uri: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub output_data_format: Option<String>,
    #[serde(default, deserialize_with = "metadata")]
    pub metadata: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "opt_text")]
    pub creation_time: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub begin_execution_time: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub end_execution_time: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub cancellation_time: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub last_updated_time: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub created_by: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_by_type: Option<CreatedByType>,
    #[serde(default, deserialize_with = "opt_text")]
    pub last_modified_time: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub last_modified_by: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub last_modified_by_type: Option<CreatedByType>,
    #[serde(default, deserialize_with = "lenient")]
    pub cost_estimate: Option<CostEstimate>,
    #[serde(default, deserialize_with = "lenient")]
    pub error_data: Option<ErrorData>,
    #[serde(default, deserialize_with = "texts")]
    pub tags: Vec<String>,
    /// The spec's `priority` (Standard, High).
    #[serde(default, deserialize_with = "lenient")]
    pub priority: Option<Priority>,
    /// The live service's `jobPriority` (not in the spec; e.g. Basic).
    #[serde(default, deserialize_with = "opt_text")]
    pub job_priority: Option<String>,
    /// Meter name to amount (e.g. `standardMinutes`).
    #[serde(default, deserialize_with = "usage")]
    pub usage: Option<BTreeMap<String, f64>>,
    #[serde(default, deserialize_with = "lenient")]
    pub quantum_computing_data: Option<QuantumComputingData>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub is_cancelling: Option<bool>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub shots: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub shots_succeeded: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub shots_failed: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub shots_translated: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub resume_count: Option<i64>,
    /// Later API versions (`jobs/{id}/queuePosition`); absent from 2026-01-15-preview.
    #[serde(default, deserialize_with = "opt_i64")]
    pub queue_position: Option<i64>,
}

impl std::fmt::Debug for JobDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = serde_json::to_string(self).unwrap_or_default();
        write!(f, "JobDetails {shown}")
    }
}

/// A job's error (`errorData`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorData {
    #[serde(default, deserialize_with = "text")]
    pub code: String,
    #[serde(default, deserialize_with = "text")]
    pub message: String,
    #[serde(default, deserialize_with = "opt_text")]
    pub target: Option<String>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub details: Vec<ErrorData>,
    #[serde(default, deserialize_with = "opt_value")]
    pub innererror: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostEstimate {
    #[serde(default, deserialize_with = "opt_text")]
    pub currency_code: Option<String>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub events: Vec<UsageEvent>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub estimated_total: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageEvent {
    #[serde(default, deserialize_with = "opt_text")]
    pub dimension_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub dimension_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub measure_unit: Option<String>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub amount_billed: Option<f64>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub amount_consumed: Option<f64>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub unit_price: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuantumComputingData {
    #[serde(default, deserialize_with = "opt_i64")]
    pub count: Option<i64>,
}

/// One quota of the workspace (`GET quotas`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    #[serde(default, deserialize_with = "text")]
    pub dimension: String,
    #[serde(default, deserialize_with = "lenient")]
    pub scope: Option<DimensionScope>,
    #[serde(default, deserialize_with = "text")]
    pub provider_id: String,
    #[serde(default, deserialize_with = "opt_f64")]
    pub utilization: Option<f64>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub holds: Option<f64>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub limit: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub period: Option<MeterPeriod>,
}

/// A session (`GET sessions/{id}`, open, close).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDetails {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub provider_id: String,
    #[serde(default, deserialize_with = "text")]
    pub target: String,
    #[serde(default, deserialize_with = "opt_text")]
    pub item_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub job_failure_policy: Option<SessionJobFailurePolicy>,
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<SessionStatus>,
    #[serde(default, deserialize_with = "opt_text")]
    pub creation_time: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub begin_execution_time: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub end_execution_time: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub last_updated_time: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub created_by: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_by_type: Option<CreatedByType>,
    #[serde(default, deserialize_with = "opt_text")]
    pub last_modified_time: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub last_modified_by: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub last_modified_by_type: Option<CreatedByType>,
    #[serde(default, deserialize_with = "lenient")]
    pub cost_estimate: Option<CostEstimate>,
    #[serde(default, deserialize_with = "lenient")]
    pub error_data: Option<ErrorData>,
    #[serde(default, deserialize_with = "lenient")]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "texts")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "usage")]
    pub usage: Option<BTreeMap<String, f64>>,
}

/// A URL without its query (where a SAS signature travels).
pub fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?<redacted>"),
        None => url.to_owned(),
    }
}

fn redacted_url<S: Serializer>(url: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => s.serialize_str(&redact_url(u)),
        None => s.serialize_none(),
    }
}

/// A value as text: strings as they are, null as empty, anything else as its JSON.
fn text_of(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(text_of(Value::deserialize(d)?))
}

fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        v => Some(text_of(v)),
    })
}

fn opt_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(Value::deserialize(d)?).filter(|v| !v.is_null()))
}

fn texts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter(|v| !v.is_null())
            .map(text_of)
            .collect(),
        Value::Null => Vec::new(),
        v => vec![text_of(v)],
    })
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(number(&Value::deserialize(d)?))
}

fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_i64().or_else(|| {
        number(&v)
            .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
            .map(|x| x as i64)
    }))
}

fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// A nested model, or `None` when the value is null or not of its shape.
fn lenient<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(if v.is_null() {
        None
    } else {
        serde_json::from_value(v).ok()
    })
}

/// A list of models; items not of their shape are left out.
fn lenient_vec<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// A map of strings; other values as their JSON text, null values left out.
fn metadata<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(m) => Some(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, text_of(v)))
                .collect(),
        ),
        _ => None,
    })
}

/// A map of numbers; values that are not numbers are left out.
fn usage<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeMap<String, f64>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(m) => Some(
            m.into_iter()
                .filter_map(|(k, v)| number(&v).map(|n| (k, n)))
                .collect(),
        ),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_parse_known_values_and_keep_unknown_ones() {
        for (text, status) in [
            ("Waiting", JobStatus::Waiting),
            ("executing", JobStatus::Executing),
            ("Finishing", JobStatus::Finishing),
            ("Succeeded", JobStatus::Succeeded),
            ("Failed", JobStatus::Failed),
            ("Cancelled", JobStatus::Cancelled),
            ("CancellationRequested", JobStatus::CancellationRequested),
            ("Paused", JobStatus::Unknown("Paused".into())),
        ] {
            assert_eq!(JobStatus::parse(text), status, "{text}");
            let read: JobStatus = serde_json::from_value(json!(text)).unwrap();
            assert_eq!(read, status);
        }
        assert_eq!(JobStatus::Unknown("Paused".into()).as_str(), "Paused");
        assert_eq!(
            serde_json::to_value(JobStatus::Succeeded).unwrap(),
            json!("Succeeded")
        );
        let odd: JobStatus = serde_json::from_value(json!(7)).unwrap();
        assert_eq!(odd, JobStatus::Unknown("7".into()));
        let null: JobStatus = serde_json::from_value(Value::Null).unwrap();
        assert_eq!(null, JobStatus::Unknown(String::new()));
        assert!(JobStatus::Cancelled.is_terminal() && JobStatus::Failed.is_terminal());
        assert!(!JobStatus::Waiting.is_terminal());
        assert!(!JobStatus::Unknown("Paused".into()).is_terminal());
        assert_eq!(SessionStatus::parse("Failure(s)"), SessionStatus::Failures);
    }

    #[test]
    fn the_spec_example_reads_in_full() {
        // The crate's folder as cargo gives it when the test runs (a test binary reused from a
        // checkout at another path, through a shared target dir, still finds the file).
        let root = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
            || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            std::path::PathBuf::from,
        );
        let text = std::fs::read_to_string(root.join(
            "../tests/fixtures/azure-quantum-api/specification/quantum/data-plane/Quantum/preview/2026-08-01-preview/examples/Jobs_Get.json",
        ))
        .unwrap();
        let example: Value = serde_json::from_str(&text).unwrap();
        let job: JobDetails =
            serde_json::from_value(example["responses"]["200"]["body"].clone()).unwrap();
        assert_eq!(job.id, "00000000-0000-0000-0000-000000000002");
        assert_eq!(job.status, JobStatus::Executing);
        assert_eq!(job.job_type, Some(JobType::QuantumComputing));
        assert_eq!(job.created_by_type, Some(CreatedByType::User));
        assert_eq!(job.tags, ["tag1", "tag_2"]);
        assert_eq!(job.priority, Some(Priority::Standard));
        assert_eq!(job.usage.unwrap()["standardMinutes"], 7.0);
        assert_eq!(
            (job.shots, job.shots_succeeded, job.shots_failed),
            (Some(100), Some(60), Some(10))
        );
        assert_eq!(job.resume_count, Some(1));
        assert_eq!(job.metadata, Some(BTreeMap::new()));
    }

    #[test]
    fn odd_values_never_fail_the_job() {
        let job: JobDetails = serde_json::from_value(json!({
            "id": "j", "providerId": null, "target": "t", "status": "Teleporting",
            "name": null, "tags": null, "metadata": {"a": "b", "n": 3, "z": null},
            "costEstimate": {"currencyCode": "USD", "events": [{"dimensionId": "x", "amountBilled": "1.5"}, 3], "estimatedTotal": 2.5},
            "errorData": "not an object", "usage": {"standardMinutes": 2, "odd": "x"},
            "priority": "Urgent", "shots": "100", "isCancelling": false,
            "somethingNew": {"deep": [1, 2]}
        }))
        .unwrap();
        assert_eq!(job.status, JobStatus::Unknown("Teleporting".into()));
        assert_eq!(job.provider_id, "");
        assert!(job.tags.is_empty() && job.name.is_none() && job.error_data.is_none());
        let meta = job.metadata.unwrap();
        assert_eq!((meta["a"].as_str(), meta["n"].as_str()), ("b", "3"));
        assert!(!meta.contains_key("z"));
        let cost = job.cost_estimate.unwrap();
        assert_eq!(cost.events.len(), 1);
        assert_eq!(cost.events[0].amount_billed, Some(1.5));
        assert_eq!(job.usage.unwrap().len(), 1);
        assert_eq!(job.priority, Some(Priority::Other("Urgent".into())));
        assert_eq!(job.shots, Some(100));
    }

    #[test]
    fn debug_and_serialize_never_show_a_sas_signature() {
        let job: JobDetails = serde_json::from_value(json!({
            "id": "j", "providerId": "p", "target": "t", "status": "Waiting",
            "containerUri": "https://s.blob.core.windows.net/job-j?sv=1&sig=SENTINEL",
            "inputDataUri": "https://s.blob.core.windows.net/job-j/inputData?sig=SENTINEL",
            "outputDataUri": "https://s.blob.core.windows.net/job-j/outputData?se=1&sig=SENTINEL",
        }))
        .unwrap();
        let debug = format!("{job:?}");
        let json = serde_json::to_string(&job).unwrap();
        for shown in [&debug, &json] {
            assert!(!shown.contains("SENTINEL"), "{shown}");
            assert!(shown.contains("job-j/outputData?<redacted>"), "{shown}");
        }
        assert!(job.container_uri.unwrap().contains("sig=SENTINEL"));
    }
}
