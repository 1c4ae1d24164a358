//! The emulator's state: jobs and sessions as the JSON the service returns, and blob
//! containers. Held in memory behind one mutex, never across an `.await`.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

pub type Item = Map<String, Value>;

/// A stored blob and the content type it was written with.
#[derive(Debug, Clone)]
pub struct Blob {
    pub content_type: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Store {
    pub jobs: BTreeMap<String, Item>,
    pub sessions: BTreeMap<String, Item>,
    pub containers: HashMap<String, HashMap<String, Blob>>,
}

/// Job states after which nothing changes.
pub fn is_terminal(status: &str) -> bool {
    matches!(status, "Succeeded" | "Completed" | "Failed" | "Cancelled")
}

impl Store {
    pub fn job_status(&self, id: &str) -> Option<String> {
        self.jobs
            .get(id)
            .and_then(|j| j.get("status"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

impl Store {
    /// The whole state as JSON (blob bodies in base64), for a snapshot on disk.
    pub fn to_json(&self) -> Value {
        use base64::Engine;
        let containers: Map<String, Value> = self
            .containers
            .iter()
            .map(|(name, blobs)| {
                let blobs: Map<String, Value> = blobs
                    .iter()
                    .map(|(b, blob)| {
                        let data = base64::engine::general_purpose::STANDARD.encode(&blob.data);
                        (
                            b.clone(),
                            serde_json::json!({ "contentType": blob.content_type, "data": data }),
                        )
                    })
                    .collect();
                (name.clone(), Value::Object(blobs))
            })
            .collect();
        serde_json::json!({
            "version": 1,
            "jobs": self.jobs,
            "sessions": self.sessions,
            "containers": containers,
        })
    }

    /// Reads a snapshot written by [`Store::to_json`].
    pub fn from_json(v: &Value) -> Result<Store, String> {
        use base64::Engine;
        if v.get("version").and_then(Value::as_u64) != Some(1) {
            return Err("unknown snapshot version".into());
        }
        let items = |key: &str| -> Result<BTreeMap<String, Item>, String> {
            v.get(key)
                .and_then(Value::as_object)
                .ok_or_else(|| format!("snapshot has no {key}"))?
                .iter()
                .map(|(k, item)| {
                    item.as_object()
                        .cloned()
                        .map(|o| (k.clone(), o))
                        .ok_or_else(|| format!("{key}/{k} is not an object"))
                })
                .collect()
        };
        let mut containers = HashMap::new();
        for (name, blobs) in v
            .get("containers")
            .and_then(Value::as_object)
            .ok_or("snapshot has no containers")?
        {
            let mut map = HashMap::new();
            for (b, blob) in blobs.as_object().ok_or("a container is not an object")? {
                let data = blob
                    .get("data")
                    .and_then(Value::as_str)
                    .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
                    .ok_or("a blob has no data")?;
                let content_type = blob
                    .get("contentType")
                    .and_then(Value::as_str)
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                map.insert(b.clone(), Blob { content_type, data });
            }
            containers.insert(name.clone(), map);
        }
        Ok(Store {
            jobs: items("jobs")?,
            sessions: items("sessions")?,
            containers,
        })
    }
}
