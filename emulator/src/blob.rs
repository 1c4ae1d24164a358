//! Path-style blob storage (`/blob/{account}/{container}/{blob}`) with SAS tokens: minted
//! here, checked on every request (signature, expiry, permissions), refused the way Azure
//! Storage refuses them (403 with an XML error and `x-ms-error-code`).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Emulator;
use crate::Locked;
use crate::http::Reply;
use crate::store::Blob;

const SAS_VERSION: &str = "2023-11-03";

fn signature(em: &Emulator, resource: &str, permissions: &str, expiry: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(em.config.credentials.signing_key.expose().as_bytes())
            .expect("any key");
    mac.update(format!("{resource}\n{permissions}\n{expiry}").as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

tokio::task_local! {
    /// Set while the `expired-sas` fault serves a request: every SAS it hands out has expired.
    pub static EXPIRED_SAS: bool;
}

/// A SAS URL for a container (`blob` = None) or one blob, valid for `hours` (already expired
/// inside [`EXPIRED_SAS`]).
pub fn sas_url(
    em: &Emulator,
    container: &str,
    blob: Option<&str>,
    permissions: &str,
    hours: i64,
) -> String {
    let hours = if EXPIRED_SAS.try_with(|e| *e).unwrap_or(false) {
        -1
    } else {
        hours
    };
    let expiry = (chrono::Utc::now() + chrono::Duration::hours(hours))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (sr, resource, path) = match blob {
        Some(b) => (
            "b",
            format!("b/{container}/{b}"),
            format!("{container}/{b}"),
        ),
        None => ("c", format!("c/{container}"), container.to_owned()),
    };
    let sig = signature(em, &resource, permissions, &expiry);
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sv", SAS_VERSION)
        .append_pair("sr", sr)
        .append_pair("sp", permissions)
        .append_pair("se", &expiry)
        .append_pair("sig", &sig)
        .finish();
    format!("{}/{path}?{query}", em.blob_base)
}

/// The URL without its SAS, as the service writes `containerUri` in a create response.
pub fn plain_url(em: &Emulator, container: &str, blob: Option<&str>) -> String {
    match blob {
        Some(b) => format!("{}/{container}/{b}", em.blob_base),
        None => format!("{}/{container}", em.blob_base),
    }
}

/// The (container, blob) a storage URL names: path-style `/blob/{account}/…` or
/// `https://{account}.blob.core.windows.net/…`.
pub fn locate(url: &str) -> Option<(String, Option<String>)> {
    let parsed = url::Url::parse(url).ok()?;
    let mut segs = parsed.path_segments()?;
    if !parsed
        .host_str()
        .is_some_and(|h| h.ends_with(".blob.core.windows.net"))
    {
        if segs.next()? != "blob" {
            return None;
        }
        let _account = segs.next()?;
    }
    let container = segs.next()?.to_owned();
    let rest: Vec<&str> = segs.collect();
    let blob = (!rest.is_empty() && !rest.join("/").is_empty()).then(|| rest.join("/"));
    Some((container, blob))
}

pub fn storage_error(status: StatusCode, code: &str, message: &str) -> Reply {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/xml"));
    if let Ok(v) = HeaderValue::from_str(code) {
        r.headers_mut().insert("x-ms-error-code", v);
    }
    r
}

/// Shared Key (a storage connection string's account key signing the request) or a SAS.
#[allow(clippy::too_many_arguments)]
fn authorize(
    em: &Emulator,
    method: &Method,
    segs: &[&str],
    query: &[(String, String)],
    headers: &HeaderMap,
    container: &str,
    blob: Option<&str>,
    need: char,
) -> Result<(), Reply> {
    let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return check_sas(em, query, container, blob, need);
    };
    let Some((account, signature)) = auth
        .strip_prefix("SharedKey ")
        .and_then(|a| a.split_once(':'))
    else {
        return Err(storage_error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Authorization must be SharedKey account:signature or a SAS.",
        ));
    };
    if account != em.config.storage_account {
        return Err(storage_error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "The account in the Authorization header is not this storage account.",
        ));
    }
    let expected = shared_key_signature(em, method, segs, query, headers);
    if crate::auth::same_secret(signature, &expected) {
        Ok(())
    } else {
        Err(storage_error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
        ))
    }
}

/// The Shared Key signature of a request (Azure Storage's string-to-sign for Blob).
fn shared_key_signature(
    em: &Emulator,
    method: &Method,
    segs: &[&str],
    query: &[(String, String)],
    headers: &HeaderMap,
) -> String {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let length = h("content-length");
    let mut x_ms: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-ms-"))
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or("").trim().to_owned(),
            )
        })
        .collect();
    x_ms.sort();
    let mut canonical = String::new();
    for (k, v) in &x_ms {
        canonical.push_str(&format!("{k}:{v}\n"));
    }
    canonical.push_str(&format!(
        "/{}/{}",
        em.config.storage_account,
        segs[1..].join("/")
    ));
    let mut params: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    params.sort();
    for (k, v) in params {
        canonical.push_str(&format!("\n{k}:{v}"));
    }
    let to_sign = [
        method.as_str().to_owned(),
        h("content-encoding"),
        h("content-language"),
        if length == "0" { String::new() } else { length },
        h("content-md5"),
        h("content-type"),
        h("date"),
        h("if-modified-since"),
        h("if-match"),
        h("if-none-match"),
        h("if-unmodified-since"),
        h("range"),
    ]
    .join("\n")
        + "\n"
        + &canonical;
    let key = B64
        .decode(em.config.credentials.storage_key.expose())
        .unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key");
    mac.update(to_sign.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// A storage connection string for the account (holds its key: a secret).
pub fn connection_string(em: &Emulator) -> String {
    let key = em.config.credentials.storage_key.expose();
    let account = &em.config.storage_account;
    if em.blob_base.ends_with(".blob.core.windows.net") {
        format!(
            "DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};EndpointSuffix=core.windows.net"
        )
    } else {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};BlobEndpoint={}",
            em.blob_base
        )
    }
}

fn check_sas(
    em: &Emulator,
    query: &[(String, String)],
    container: &str,
    blob: Option<&str>,
    need: char,
) -> Result<(), Reply> {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(sig), Some(sp), Some(se), Some(sr)) = (get("sig"), get("sp"), get("se"), get("sr"))
    else {
        return Err(storage_error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request. A SAS token is required.",
        ));
    };
    let resource = match (sr, blob) {
        ("c", _) => format!("c/{container}"),
        ("b", Some(b)) => format!("b/{container}/{b}"),
        _ => {
            return Err(storage_error(
                StatusCode::FORBIDDEN,
                "AuthenticationFailed",
                "Signature fields not well formed.",
            ));
        }
    };
    if !crate::auth::same_secret(sig, &signature(em, &resource, sp, se)) {
        return Err(storage_error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Signature did not match.",
        ));
    }
    let expired = chrono::DateTime::parse_from_rfc3339(se).map_or(true, |t| t < chrono::Utc::now());
    if expired {
        return Err(storage_error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Signed expiry time has passed: signature not valid in the specified time frame.",
        ));
    }
    if !sp.contains(need) {
        return Err(storage_error(
            StatusCode::FORBIDDEN,
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
        ));
    }
    Ok(())
}

/// Checks a storage request's credential before its body is read (the handler checks it
/// again): what `handle` would refuse for want of a SAS or Shared Key, refused here.
pub fn admit(
    em: &Emulator,
    method: &Method,
    segs: &[&str],
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Result<(), Reply> {
    let [_, container, rest @ ..] = segs else {
        return Ok(());
    };
    let blob = (!rest.is_empty()).then(|| rest.join("/"));
    let need = match (method, &blob) {
        (&Method::GET | &Method::HEAD, _) => 'r',
        (&Method::PUT, None) => 'c',
        (&Method::PUT, Some(_)) => 'w',
        _ => return Ok(()),
    };
    authorize(
        em,
        method,
        segs,
        query,
        headers,
        container,
        blob.as_deref(),
        need,
    )
}

/// Handles `/blob/{account}/{container}[/{blob}]`.
pub fn handle(
    em: &Arc<Emulator>,
    method: &Method,
    segs: &[&str],
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Vec<u8>,
) -> Reply {
    let [_, container, rest @ ..] = segs else {
        return storage_error(
            StatusCode::BAD_REQUEST,
            "InvalidUri",
            "The requested URI does not represent any resource on the server.",
        );
    };
    let blob = (!rest.is_empty()).then(|| rest.join("/"));
    let mut store = em.store.locked();
    match (method, blob) {
        (&Method::GET | &Method::HEAD, None) => {
            if let Err(r) = authorize(em, method, segs, query, headers, container, None, 'r') {
                return r;
            }
            if !store.containers.contains_key(*container) {
                return storage_error(
                    StatusCode::NOT_FOUND,
                    "ContainerNotFound",
                    "The specified container does not exist.",
                );
            }
            let mut r = crate::http::empty(StatusCode::OK);
            r.headers_mut()
                .insert("x-ms-version", HeaderValue::from_static(SAS_VERSION));
            r
        }
        (&Method::PUT, None) => {
            if let Err(r) = authorize(em, method, segs, query, headers, container, None, 'c') {
                return r;
            }
            if store.containers.contains_key(*container) {
                return storage_error(
                    StatusCode::CONFLICT,
                    "ContainerAlreadyExists",
                    "The specified container already exists.",
                );
            }
            store
                .containers
                .insert((*container).to_owned(), Default::default());
            crate::http::empty(StatusCode::CREATED)
        }
        (&Method::PUT, Some(name)) => {
            if let Err(r) = authorize(
                em,
                method,
                segs,
                query,
                headers,
                container,
                Some(&name),
                'w',
            ) {
                return r;
            }
            if headers.get("x-ms-blob-type").and_then(|v| v.to_str().ok()) != Some("BlockBlob") {
                return storage_error(
                    StatusCode::BAD_REQUEST,
                    "MissingRequiredHeader",
                    "An HTTP header that's mandatory for this request is not specified: x-ms-blob-type.",
                );
            }
            let Some(c) = store.containers.get_mut(*container) else {
                return storage_error(
                    StatusCode::NOT_FOUND,
                    "ContainerNotFound",
                    "The specified container does not exist.",
                );
            };
            let content_type = headers
                .get("x-ms-blob-content-type")
                .or_else(|| headers.get("content-type"))
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_owned();
            c.insert(
                name,
                Blob {
                    content_type,
                    data: body,
                },
            );
            crate::http::empty(StatusCode::CREATED)
        }
        (&Method::GET | &Method::HEAD, Some(name)) => {
            if let Err(r) = authorize(
                em,
                method,
                segs,
                query,
                headers,
                container,
                Some(&name),
                'r',
            ) {
                return r;
            }
            let Some(b) = store.containers.get(*container).and_then(|c| c.get(&name)) else {
                return storage_error(
                    StatusCode::NOT_FOUND,
                    "BlobNotFound",
                    "The specified blob does not exist.",
                );
            };
            let total = b.data.len();
            // Ranged reads, as the storage SDKs make them: `x-ms-range` or `Range: bytes=a-b`.
            let range = headers
                .get("x-ms-range")
                .or_else(|| headers.get("range"))
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes="))
                .and_then(|v| v.split_once('-'))
                .map(|(a, b)| (a.parse::<usize>().ok(), b.parse::<usize>().ok()));
            let (status, slice, content_range) = match range {
                // An inverted range (`bytes=5-2`) is not satisfiable, as Azure Storage says.
                Some((Some(start), end)) if start < total && end.is_none_or(|e| e >= start) => {
                    let end = end.map_or(total - 1, |e| e.min(total - 1));
                    (
                        StatusCode::PARTIAL_CONTENT,
                        &b.data[start..=end],
                        Some(format!("bytes {start}-{end}/{total}")),
                    )
                }
                Some((Some(start), Some(end))) if end < start => {
                    return storage_error(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        "InvalidRange",
                        "The range specified is invalid: its end comes before its start.",
                    );
                }
                Some(_) if total > 0 => {
                    return storage_error(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        "InvalidRange",
                        "The range specified is invalid for the current size of the resource.",
                    );
                }
                _ => (StatusCode::OK, &b.data[..], None),
            };
            let mut r = Response::new(Body::from(if method == Method::HEAD {
                Vec::new()
            } else {
                slice.to_vec()
            }));
            *r.status_mut() = status;
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&b.content_type) {
                h.insert("content-type", v);
            }
            if let Some(v) = content_range.and_then(|c| HeaderValue::from_str(&c).ok()) {
                h.insert("content-range", v);
            }
            h.insert("content-length", HeaderValue::from(slice.len()));
            h.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
            h.insert("etag", HeaderValue::from_static("\"0x8DCAZQEMULATED\""));
            h.insert(
                "last-modified",
                HeaderValue::from_static("Sun, 22 Nov 2026 00:00:00 GMT"),
            );
            h.insert("x-ms-version", HeaderValue::from_static(SAS_VERSION));
            r
        }
        _ => storage_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnsupportedHttpVerb",
            "The resource doesn't support the specified HTTP verb.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn query_of(url: &str) -> Vec<(String, String)> {
        let q = url.split_once('?').map_or("", |(_, q)| q);
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn sas_expiry_signature_and_permissions_are_enforced() {
        let em = Emulator::new(Config::default(), "http://127.0.0.1:9".into());
        let fresh = query_of(&sas_url(&em, "c", Some("b"), "r", 1));
        assert!(check_sas(&em, &fresh, "c", Some("b"), 'r').is_ok());
        let denied = check_sas(&em, &fresh, "c", Some("b"), 'w').unwrap_err();
        assert_eq!(
            denied.headers()["x-ms-error-code"],
            "AuthorizationPermissionMismatch"
        );
        let expired = query_of(&sas_url(&em, "c", Some("b"), "r", -1));
        let r = check_sas(&em, &expired, "c", Some("b"), 'r').unwrap_err();
        assert_eq!(
            (r.status(), r.headers()["x-ms-error-code"].to_str().unwrap()),
            (StatusCode::FORBIDDEN, "AuthenticationFailed")
        );
        let other_blob = check_sas(&em, &fresh, "c", Some("other"), 'r').unwrap_err();
        assert_eq!(other_blob.status(), StatusCode::FORBIDDEN);
    }
}
