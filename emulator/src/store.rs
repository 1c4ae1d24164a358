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
    pub jobs: Jobs,
    pub sessions: BTreeMap<String, Item>,
    pub containers: HashMap<String, HashMap<String, Blob>>,
}

/// Jobs by id, kept in creation order (the order lists default to), so a page of a long
/// list is a slice of a vector rather than a lookup per job.
#[derive(Debug, Default)]
pub struct Jobs {
    items: Vec<Item>,
    index: HashMap<String, usize>,
}

impl Jobs {
    pub fn get(&self, id: &str) -> Option<&Item> {
        self.index.get(id).map(|&i| &self.items[i])
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Item> {
        self.index.get(id).map(|&i| &mut self.items[i])
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    /// Adds a job at the end, or replaces the one with this id in place.
    pub fn insert(&mut self, id: String, job: Item) {
        match self.index.get(&id) {
            Some(&i) => self.items[i] = job,
            None => {
                self.index.insert(id, self.items.len());
                self.items.push(job);
            }
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<Item> {
        let i = self.index.remove(id)?;
        let job = self.items.remove(i);
        for slot in self.index.values_mut() {
            if *slot > i {
                *slot -= 1;
            }
        }
        Some(job)
    }

    /// Adds jobs (in creation order) among the stored ones, keeping creation order: a
    /// merge of two sorted runs, then the index rebuilt.
    pub fn merge(&mut self, batch: Vec<Item>) {
        fn created(i: &Item) -> &str {
            i.get("creationTime").and_then(Value::as_str).unwrap_or("")
        }
        let old = std::mem::take(&mut self.items);
        let mut out = Vec::with_capacity(old.len() + batch.len());
        let (mut a, mut b) = (old.into_iter().peekable(), batch.into_iter().peekable());
        loop {
            let take_old = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => created(x) <= created(y),
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            out.extend(if take_old { a.next() } else { b.next() });
        }
        self.index = out
            .iter()
            .enumerate()
            .map(|(i, j)| {
                let id = j.get("id").and_then(Value::as_str).unwrap_or("");
                (id.to_owned(), i)
            })
            .collect();
        self.items = out;
    }

    /// Every job, oldest first.
    pub fn values(&self) -> std::slice::Iter<'_, Item> {
        self.items.iter()
    }
}

/// Job states after which nothing changes.
pub fn is_terminal(status: &str) -> bool {
    matches!(status, "Succeeded" | "Completed" | "Failed" | "Cancelled")
}

impl Store {
    /// Items sorted by creation time (sessions, and mixes of jobs and sessions).
    pub fn by_creation(mut items: Vec<&Item>) -> Vec<&Item> {
        items.sort_by_cached_key(|i| {
            i.get("creationTime")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        });
        items
    }

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
            "jobs": self.jobs.values().map(|j| (j.get("id").and_then(Value::as_str).unwrap_or("").to_owned(), Value::Object(j.clone()))).collect::<Map<String, Value>>(),
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
        let mut loaded: Vec<(String, Item)> = items("jobs")?.into_iter().collect();
        loaded.sort_by_cached_key(|(_, j)| {
            j.get("creationTime")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        });
        let mut jobs = Jobs::default();
        for (id, job) in loaded {
            jobs.insert(id, job);
        }
        Ok(Store {
            jobs,
            sessions: items("sessions")?,
            containers,
        })
    }
}
