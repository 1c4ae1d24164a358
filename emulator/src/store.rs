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
