//! What the service answers, as azq reads it: provider and target status.

use serde::Deserialize;

/// One provider and its targets (`GET …/providerStatus`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    pub id: String,
    pub current_availability: String,
    #[serde(default)]
    pub targets: Vec<TargetStatus>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    pub id: String,
    pub current_availability: String,
    /// Seconds; absent when the provider does not say.
    pub average_queue_time: Option<i64>,
    pub status_page: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page<T> {
    pub value: Vec<T>,
    pub next_link: Option<String>,
}
