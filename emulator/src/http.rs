//! Responses in the service's shapes: JSON bodies, `{error: {code, message}}` errors with
//! `x-ms-error-code`, and the service's timestamp format.

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode};
use serde_json::{Value, json};

pub type Reply = Response<Body>;

pub fn json(status: StatusCode, value: &Value) -> Reply {
    let mut r = Response::new(Body::from(value.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

pub fn ok(value: &Value) -> Reply {
    json(StatusCode::OK, value)
}

pub fn empty(status: StatusCode) -> Reply {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

/// An error in the shape of `Azure.Core.Foundations.ErrorResponse`.
pub fn error(status: StatusCode, code: &str, message: &str) -> Reply {
    let mut r = json(
        status,
        &json!({ "error": { "code": code, "message": message } }),
    );
    if let Ok(v) = HeaderValue::from_str(code) {
        r.headers_mut().insert("x-ms-error-code", v);
    }
    r
}

/// Timestamps as the service writes them: seven fractional digits and an offset.
pub fn now() -> String {
    timestamp(chrono::Utc::now())
}

pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    format!(
        "{}.{:07}+00:00",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.nanosecond() % 1_000_000_000 / 100
    )
}
