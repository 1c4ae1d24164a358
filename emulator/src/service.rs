//! Routing and the data-plane, ARM and token handlers. One fallback handler reads the path
//! itself: the service's `jobs/{id}:cancel` segments, the legacy `/v1.0` prefix and any
//! host name are all accepted.

use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::{Value, json};

use crate::Locked;
use crate::auth::{self, same_secret};
use crate::http::{Reply, empty, error, json, now, ok};
use crate::store::Store;
use crate::{Emulator, blob, catalog, faults, identity, jobs, listing, sessions, usage};

/// Data-plane api-versions accepted (the legacy `/v1.0` form takes none).
pub const API_VERSIONS: &[&str] = &[
    "2026-08-01-preview",
    "2026-01-15-preview",
    "2025-12-01-preview",
    "2025-09-01-preview",
    "2024-10-01-preview",
    "2024-03-01-preview",
    "2023-11-13-preview",
    "2022-09-12-preview",
    "2019-11-04-preview",
];

/// The largest body an authenticated request may carry (a program, a result).
const MAX_BODY: usize = 64 * 1024 * 1024;
/// The largest body of a request that needs no credential (sign-in forms) or carries
/// settings (faults, device-login decisions).
const SMALL_BODY: usize = 64 * 1024;

pub async fn handle(State(em): State<Arc<Emulator>>, request: Request) -> Reply {
    let started = std::time::Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let request_id = request
        .headers()
        .get("x-ms-client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let fault = if path.starts_with("/_emulator") {
        None
    } else {
        em.faults.locked().pick(&method, &path)
    };
    if fault.is_some() {
        em.stats.count(&em.stats.faults_injected);
    }
    let reply = match fault {
        Some(faults::Effect::Status {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            // Read (and discard) the request as a service would, so the connection stays
            // usable: answering before a late body arrives made the server drop it unasked.
            let drained = drain(request.into_body(), MAX_BODY).await;
            let mut r = error(status, "InjectedFault", "a fault injected by the emulator");
            if !drained {
                r.headers_mut()
                    .insert("connection", HeaderValue::from_static("close"));
            }
            if let Some(secs) = retry_after {
                r.headers_mut()
                    .insert("retry-after", HeaderValue::from(secs));
            }
            r
        }
        Some(faults::Effect::Drop) => {
            let mut r = empty(StatusCode::SERVICE_UNAVAILABLE);
            r.extensions_mut().insert(faults::DropConnection);
            r
        }
        Some(faults::Effect::DropAfter) => {
            // Applied, then lost: the client cannot tell this from a request never made.
            let mut r = serve_request(em.clone(), request, &path, &query).await;
            r.extensions_mut().insert(faults::DropConnection);
            r
        }
        Some(faults::Effect::Truncate) => {
            let r = serve_request(em.clone(), request, &path, &query).await;
            let (mut parts, body) = r.into_parts();
            let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
            let cut = bytes.slice(..bytes.len() / 2);
            parts
                .headers
                .insert("content-length", HeaderValue::from(cut.len()));
            Reply::from_parts(parts, cut.into())
        }
        Some(faults::Effect::ExpiredSas) => {
            blob::EXPIRED_SAS
                .scope(true, serve_request(em.clone(), request, &path, &query))
                .await
        }
        other => {
            if let Some(faults::Effect::Latency(d)) = other {
                tokio::time::sleep(d).await;
            }
            serve_request(em.clone(), request, &path, &query).await
        }
    };
    em.log.locked().record(
        &method,
        &path,
        &query,
        reply.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0,
        request_id.as_deref(),
    );
    reply
}

/// Reads a request body to its end without keeping it; false if it is larger than `limit`
/// or breaks off.
async fn drain(body: axum::body::Body, limit: usize) -> bool {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) if seen + c.len() <= limit => seen += c.len(),
            _ => return false,
        }
    }
    true
}

/// Answers a request whose path and query `handle` has already read.
async fn serve_request(
    em: Arc<Emulator>,
    request: Request,
    path: &str,
    query: &[(String, String)],
) -> Reply {
    let (parts, body) = request.into_parts();
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    // Who is asking is settled from the head alone; only then is the body read, up to
    // what that caller may send.
    let limit = match admit(&em, &parts.method, &host, path, query, &parts.headers) {
        Ok(limit) => limit,
        Err(mut refusal) => {
            // The body stays unread, so the connection cannot carry another request: say so,
            // or a client reusing it meets a drop it was never told of.
            let has_body = parts.headers.contains_key("transfer-encoding")
                || parts
                    .headers
                    .get("content-length")
                    .is_some_and(|v| v.as_bytes() != b"0");
            if has_body {
                refusal
                    .headers_mut()
                    .insert("connection", HeaderValue::from_static("close"));
            }
            return refusal;
        }
    };
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = declared.is_some_and(|n| n > limit as u64);
    let body = if too_large {
        None
    } else {
        to_bytes(body, limit).await.ok()
    };
    let Some(body) = body else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLarge",
            &format!(
                "the request body is larger than this request may send ({} KiB)",
                limit / 1024
            ),
        );
    };
    let mutating = !matches!(parts.method, Method::GET | Method::HEAD);
    // With a data dir, a change is written before anyone is shown it: a writer holds its
    // turn from the change until the snapshot is in place; a reader waits out a write in
    // flight before answering (a state a client saw is never lost to a kill).
    let turn = if mutating { em.write_turn() } else { None };
    let mut reply = match host.strip_suffix(".blob.core.windows.net") {
        // Blob storage by host name: the account is the first label.
        Some(account) => {
            let mut segs = vec![account];
            segs.extend(path.trim_matches('/').split('/').filter(|s| !s.is_empty()));
            blob::handle(
                &em,
                &parts.method,
                &segs,
                query,
                &parts.headers,
                body.to_vec(),
            )
        }
        None => route(
            &em,
            &parts.method,
            path,
            query,
            &parts.headers,
            body.to_vec(),
        ),
    };
    let kept = match turn {
        Some(turn) if reply.status().as_u16() < 400 => em.persist_held(turn),
        Some(_) => Ok(()),
        None if mutating => em.persist(),
        None => {
            em.settled();
            Ok(())
        }
    };
    if kept.is_err() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "PersistenceFailed",
            "the emulator could not write its data dir; the change was not kept",
        );
    }
    reply.headers_mut().insert(
        "x-ms-request-id",
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("uuid"),
    );
    reply
}

/// Authenticates a request from its head (path, query, headers), before its body is
/// read: `Err` is the refusal, `Ok` the largest body the request may then carry.
fn admit(
    em: &Emulator,
    method: &Method,
    host: &str,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Result<usize, Reply> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(account) = host.strip_suffix(".blob.core.windows.net") {
        let mut all = vec![account];
        all.extend(&segs);
        return blob::admit(em, method, &all, query, headers).map(|()| MAX_BODY);
    }
    match segs.as_slice() {
        ["blob", rest @ ..] => blob::admit(em, method, rest, query, headers).map(|()| MAX_BODY),
        ["_emulator", ..] if *method != Method::GET => {
            if auth::has_api_key(&em.config.credentials, headers) {
                Ok(SMALL_BODY)
            } else {
                Err(error(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    "the emulator's admin endpoints need the workspace API key",
                ))
            }
        }
        [
            "v1.0",
            "subscriptions",
            _,
            "resourceGroups",
            _,
            "providers",
            _,
            "workspaces",
            _,
            _,
            ..,
        ]
        | [
            "subscriptions",
            _,
            "resourceGroups",
            _,
            "providers",
            _,
            "workspaces",
            _,
            _,
            ..,
        ] => authenticate(em, headers, auth::AUDIENCE).map(|_| MAX_BODY),
        ["subscriptions", ..] | ["providers", "Microsoft.ResourceGraph", ..] => {
            authenticate(em, headers, auth::ARM_AUDIENCE).map(|_| SMALL_BODY)
        }
        _ => Ok(SMALL_BODY),
    }
}

fn route(
    em: &Arc<Emulator>,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Vec<u8>,
) -> Reply {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segs.as_slice() {
        ["blob", rest @ ..] => blob::handle(em, method, rest, query, headers, body),
        [tenant, "oauth2", "v2.0", "token"] if method == Method::POST => token(em, tenant, &body),
        [_tenant, "oauth2", "v2.0", "devicecode"] if method == Method::POST => {
            let form: Vec<(String, String)> =
                url::form_urlencoded::parse(&body).into_owned().collect();
            identity::start_device_code(em, &form, &login_base(em))
        }
        ["_emulator", "devicelogin"] if method == Method::POST => {
            identity::decide(em, headers, &body)
        }
        ["_emulator", "revoke"] if method == Method::POST => identity::revoke(em, headers),
        ["_emulator", "requests"] if method == Method::GET => {
            admin(em, headers, || ok(&Value::Array(em.log.locked().all())))
        }
        ["_emulator", "faults"] if method == Method::POST => {
            admin(em, headers, || set_faults(em, &body))
        }
        ["_emulator", "jobs"] if method == Method::POST => {
            admin(em, headers, || jobs::seed(em, &body))
        }
        ["_emulator", "stats"] if method == Method::GET => {
            admin(em, headers, || ok(&em.stats.to_json()))
        }
        ["metadata", "identity", "oauth2", "token"] => identity::imds(em, headers, query, None),
        [
            "identity",
            secret,
            "metadata",
            "identity",
            "oauth2",
            "token",
        ] => identity::imds(em, headers, query, Some(secret)),
        ["msi", "token"] => identity::app_service(em, headers, query),
        [tenant, "v2.0", ".well-known", "openid-configuration"] => openid_configuration(em, tenant),
        [_, "discovery", "instance"] => instance_discovery(em),
        ["v1.0", rest @ ..] => workspace_route(em, method, rest, query, headers, body, true),
        ["providers", "Microsoft.ResourceGraph", "resources"] if method == Method::POST => {
            resource_graph(em, headers)
        }
        _ => workspace_route(em, method, &segs, query, headers, body, false),
    }
}

fn challenge(em: &Emulator) -> Reply {
    let mut r = empty(StatusCode::UNAUTHORIZED);
    let value = format!(
        "Bearer authorization_uri=\"{}/{}\", error=\"invalid_token\", error_description=\"The access token is missing or invalid\", resource_id=\"{}\"",
        em.base_url,
        em.config.tenant,
        auth::AUDIENCE
    );
    r.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_str(&value).expect("ascii"),
    );
    r
}

/// API key (data plane only) or a bearer token for `audience`; `Err` is the 401 to send.
/// Who made a request: what `createdBy` and `createdByType` record.
pub struct Caller {
    pub name: String,
    pub kind: &'static str,
}

fn authenticate(em: &Emulator, headers: &HeaderMap, audience: &str) -> Result<Caller, Reply> {
    if let Some(key) = headers
        .get("x-ms-quantum-api-key")
        .and_then(|v| v.to_str().ok())
    {
        return if audience == auth::AUDIENCE
            && same_secret(key, em.config.credentials.api_key.expose())
        {
            Ok(Caller {
                name: "workspace API key".into(),
                kind: "Key",
            })
        } else {
            Err(challenge(em))
        };
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.map(|t| auth::verify(&em.config.credentials, &em.config.tenant, t, audience)) {
        Some(Ok(claims)) => Ok(Caller {
            name: claims["oid"].as_str().unwrap_or("unknown").to_owned(),
            kind: if claims.get("upn").is_some() {
                "User"
            } else {
                "Application"
            },
        }),
        _ => Err(challenge(em)),
    }
}

fn token(em: &Emulator, tenant: &str, body: &[u8]) -> Reply {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let oauth_error = |status: StatusCode, code: &str, text: &str| {
        json(
            status,
            &json!({ "error": code, "error_description": text, "error_codes": [], "timestamp": now() }),
        )
    };
    if tenant != em.config.tenant && tenant != "organizations" && tenant != "common" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("AADSTS90002: Tenant '{tenant}' not found."),
        );
    }
    match get("grant_type") {
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            identity::redeem_device_code(em, get("device_code").unwrap_or(""))
        }
        Some("refresh_token") => identity::redeem_refresh_token(
            em,
            get("refresh_token").unwrap_or(""),
            get("scope"),
            get("client_id").unwrap_or(""),
        ),
        Some("client_credentials") => {
            let creds = &em.config.credentials;
            if get("client_id") != Some(creds.client_id.as_str()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    "AADSTS700016: Application not found in the directory.",
                );
            }
            match (get("client_secret"), get("client_assertion")) {
                (Some(s), _) if same_secret(s, creds.client_secret.expose()) => {}
                (_, Some(assertion)) => {
                    // Workload identity: a federated token this emulator issued for the principal.
                    let valid = auth::verify(
                        creds,
                        &em.config.tenant,
                        assertion,
                        auth::FEDERATION_AUDIENCE,
                    )
                    .is_ok_and(|c| c["sub"] == creds.client_id.as_str());
                    if !valid {
                        return oauth_error(
                            StatusCode::UNAUTHORIZED,
                            "invalid_client",
                            "AADSTS700213: No matching federated identity record found for presented assertion.",
                        );
                    }
                }
                _ => {
                    return oauth_error(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        "AADSTS7000215: Invalid client secret provided.",
                    );
                }
            }
            let Some(audience) = get("scope").and_then(auth::audience_of) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "AADSTS70011: The provided value for scope is not valid; ask for https://quantum.microsoft.com/.default or https://management.azure.com/.default.",
                );
            };
            let access = auth::issue(creds, &em.config.tenant, &creds.client_id, audience, 3600);
            ok(
                &json!({ "token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "refresh_in": 1800, "access_token": access }),
            )
        }
        Some(other) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("AADSTS70003: grant type {other} is not supported by this emulator yet."),
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS900144: The request body must contain the parameter 'grant_type'.",
        ),
    }
}

/// Where the emulator's Entra ID lives: the real login host in proxy mode.
fn login_base(em: &Emulator) -> String {
    if em.blob_base.ends_with(".blob.core.windows.net") {
        "https://login.microsoftonline.com".to_owned()
    } else {
        em.base_url.clone()
    }
}

/// What MSAL reads before asking for a token.
fn openid_configuration(em: &Emulator, tenant: &str) -> Reply {
    let t = if tenant == "organizations" || tenant == "common" {
        em.config.tenant.as_str()
    } else {
        tenant
    };
    let base = format!("{}/{t}", login_base(em));
    ok(&json!({
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "issuer": format!("{base}/v2.0"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "oid"],
        "kerberos_endpoint": format!("{base}/kerberos"),
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
        "tls_client_certificate_bound_access_tokens": true,
        "mtls_endpoint_aliases": { "token_endpoint": format!("{base}/oauth2/v2.0/token") },
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
    }))
}

fn instance_discovery(em: &Emulator) -> Reply {
    let host = login_base(em)
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_owned();
    ok(&json!({
        "tenant_discovery_endpoint": format!("{}/{}/v2.0/.well-known/openid-configuration", login_base(em), em.config.tenant),
        "api-version": "1.1",
        "metadata": [{ "preferred_network": host, "preferred_cache": host, "aliases": [host] }],
    }))
}

/// Admin endpoints answer only callers with the workspace API key.
fn admin(em: &Emulator, headers: &HeaderMap, answer: impl FnOnce() -> Reply) -> Reply {
    if auth::has_api_key(&em.config.credentials, headers) {
        answer()
    } else {
        error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "the emulator's admin endpoints need the workspace API key",
        )
    }
}

/// `POST /_emulator/faults` `{"rules": ["GET **/jobs/* 429:1 0.5", …], "seed": 7}`
fn set_faults(em: &Emulator, body: &[u8]) -> Reply {
    let body = match parse_json(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let rules = body
        .get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let parsed: Result<Vec<_>, String> = rules
        .iter()
        .map(|r| {
            r.as_str()
                .ok_or("each rule is a string".to_owned())
                .and_then(faults::parse)
        })
        .collect();
    match parsed {
        Ok(rules) => {
            let n = rules.len();
            let seed = body
                .get("seed")
                .and_then(Value::as_u64)
                .unwrap_or(em.config.fault_seed);
            *em.faults.locked() = faults::Faults::new(rules, seed);
            ok(&json!({ "rules": n, "seed": seed }))
        }
        Err(why) => error(StatusCode::BAD_REQUEST, "InvalidFault", &why),
    }
}

pub(crate) fn parse_json(body: &[u8]) -> Result<Value, Reply> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "InvalidJson",
            &format!("the request body is not JSON: {e}"),
        )
    })
}

pub(crate) fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

#[allow(clippy::too_many_arguments)]
fn workspace_route(
    em: &Arc<Emulator>,
    method: &Method,
    segs: &[&str],
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Vec<u8>,
    legacy: bool,
) -> Reply {
    let c = &em.config;
    // GET /subscriptions/{id} without a token: the 401 names the tenant (tenant discovery).
    if let ["subscriptions", _] = segs {
        return match authenticate(em, headers, auth::ARM_AUDIENCE) {
            Err(r) => r,
            Ok(_) => ok(
                &json!({ "subscriptionId": c.subscription, "tenantId": c.tenant, "state": "Enabled" }),
            ),
        };
    }
    let [
        "subscriptions",
        sub,
        "resourceGroups",
        rg,
        "providers",
        provider,
        "workspaces",
        ws,
        rest @ ..,
    ] = segs
    else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "no such resource in the Azure Quantum emulator",
        );
    };
    if !provider.eq_ignore_ascii_case("Microsoft.Quantum") {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "no such resource provider",
        );
    }
    let audience = if rest.is_empty() {
        auth::ARM_AUDIENCE
    } else {
        auth::AUDIENCE
    };
    let caller = match authenticate(em, headers, audience) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !sub.eq_ignore_ascii_case(&c.subscription)
        || !rg.eq_ignore_ascii_case(&c.resource_group)
        || !ws.eq_ignore_ascii_case(&c.workspace)
    {
        return error(
            StatusCode::NOT_FOUND,
            if rest.is_empty() {
                "ResourceNotFound"
            } else {
                "WorkspaceNotFound"
            },
            &format!(
                "workspace {sub}/{rg}/{ws} was not found; this emulator serves {}/{}/{}",
                c.subscription, c.resource_group, c.workspace
            ),
        );
    }
    let api_version = query
        .iter()
        .find(|(k, _)| k == "api-version")
        .map(|(_, v)| v.as_str());
    if rest.is_empty() {
        return if method == Method::GET {
            arm_workspace(em)
        } else {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "only GET",
            )
        };
    }
    if !legacy {
        match api_version {
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "MissingApiVersionParameter",
                    "the api-version query parameter is required",
                );
            }
            Some(v) if !API_VERSIONS.contains(&v) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "UnsupportedApiVersion",
                    &format!(
                        "api-version {v} is not supported; use one of {}",
                        API_VERSIONS.join(", ")
                    ),
                );
            }
            Some(_) => {}
        }
    }
    let version = api_version.unwrap_or("2019-11-04-preview");
    let base = format!(
        "{}{}",
        if legacy {
            format!("{}/v1.0", em.base_url)
        } else {
            em.base_url.clone()
        },
        em.workspace_path()
    );
    dataplane(em, method, rest, query, body, version, &base, &caller)
}

/// Azure Resource Graph, as the SDK queries it to find a workspace by name: the one
/// workspace this emulator serves.
fn resource_graph(em: &Emulator, headers: &HeaderMap) -> Reply {
    if let Err(r) = authenticate(em, headers, auth::ARM_AUDIENCE) {
        return r;
    }
    let c = &em.config;
    ok(&json!({
        "totalRecords": 1, "count": 1, "facets": [], "resultTruncated": "false",
        "data": [{
            "name": c.workspace, "subscriptionId": c.subscription, "resourceGroup": c.resource_group,
            "location": c.location, "endpointUri": em.base_url,
        }],
    }))
}

fn arm_workspace(em: &Emulator) -> Reply {
    let c = &em.config;
    let providers: Vec<Value> = {
        let mut ids: Vec<&str> = catalog::TARGETS.iter().map(|t| t.provider).collect();
        ids.dedup();
        ids.iter().map(|p| json!({ "providerId": p, "providerSku": "emulated", "provisioningState": "Succeeded" })).collect()
    };
    ok(&json!({
        "id": em.workspace_path(),
        "name": c.workspace,
        "type": "microsoft.quantum/workspaces",
        "location": c.location,
        "identity": { "type": "SystemAssigned" },
        "properties": {
            "providers": providers,
            "provisioningState": "Succeeded",
            "storageAccount": format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}", c.subscription, c.resource_group, c.storage_account),
            "endpointUri": format!("{}/", em.base_url),
            "workspaceKind": "V1",
            "apiKeyEnabled": true,
        },
    }))
}

fn page_link(
    base: &str,
    kind: &str,
    query: &[(String, String)],
    version: &str,
    skip: usize,
    top: usize,
) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "skip" | "top" | "api-version"))
    {
        s.append_pair(k, v);
    }
    s.append_pair("top", &top.to_string())
        .append_pair("skip", &skip.to_string())
        .append_pair("api-version", version);
    format!("{base}/{kind}?{}", s.finish())
}

/// A page of jobs and sessions; jobs are shown with fresh SAS URLs.
fn listed<'a>(
    em: &Emulator,
    items: impl Iterator<Item = &'a crate::store::Item>,
    query: &[(String, String)],
    base: &str,
    kind: &str,
    version: &str,
) -> Reply {
    let link = |skip, top| page_link(base, kind, query, version, skip, top);
    let render = |item: &crate::store::Item| match item.get("itemType").and_then(Value::as_str) {
        Some("Session") => Value::Object(item.clone()),
        _ => jobs::shown_job(em, item),
    };
    match listing::page(items, query, link, render) {
        Ok(v) => ok(&v),
        Err(why) => error(StatusCode::BAD_REQUEST, "InvalidQueryParameter", &why),
    }
}

pub(crate) fn not_found(kind: &str, id: &str) -> Reply {
    error(
        StatusCode::NOT_FOUND,
        &format!("{kind}NotFound"),
        &format!("{kind} {id} was not found in this workspace"),
    )
}

#[allow(clippy::too_many_arguments)]
fn dataplane(
    em: &Arc<Emulator>,
    method: &Method,
    rest: &[&str],
    query: &[(String, String)],
    body: Vec<u8>,
    version: &str,
    base: &str,
    caller: &Caller,
) -> Reply {
    let (head, tail) = (rest[0], &rest[1..]);
    match (method.as_str(), head, tail) {
        ("GET", "providerStatus", []) => {
            ok(&json!({ "value": catalog::provider_status(), "nextLink": null }))
        }
        ("GET", "quotas", []) => {
            let quotas = usage::quotas(&em.store.locked().jobs, &crate::http::now());
            ok(&json!({ "value": quotas, "nextLink": null }))
        }
        ("POST", "storage", ["sasUri"]) => {
            let body = match parse_json(&body) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(container) = body
                .get("containerName")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequest",
                    "containerName is required",
                );
            };
            // From 2026-01-15-preview on, asking for a container's SAS also creates it.
            if version >= "2026-01-15-preview" {
                em.store
                    .locked()
                    .containers
                    .entry(container.to_owned())
                    .or_default();
            }
            let uri = match body.get("blobName").and_then(Value::as_str) {
                Some(b) => blob::sas_url(em, container, Some(b), "rcw", 24),
                None => blob::sas_url(em, container, None, "rcwl", 24),
            };
            ok(&json!({ "sasUri": uri }))
        }
        ("GET", "jobs", []) => {
            let store = em.store.locked();
            listed(em, store.jobs.values(), query, base, "jobs", version)
        }
        ("GET", "topLevelItems", []) => {
            let store = em.store.locked();
            let mut items: Vec<_> = store
                .jobs
                .values()
                .filter(|j| j.get("sessionId").is_none_or(Value::is_null))
                .collect();
            items.extend(store.sessions.values());
            listed(
                em,
                Store::by_creation(items).into_iter(),
                query,
                base,
                "topLevelItems",
                version,
            )
        }
        ("GET", "sessions", []) => {
            let store = em.store.locked();
            let items = Store::by_creation(store.sessions.values().collect());
            listed(em, items.into_iter(), query, base, "sessions", version)
        }
        (_, "jobs", [id]) if id.ends_with(":cancel") && method == Method::POST => {
            jobs::cancel(em, id.trim_end_matches(":cancel"))
        }
        (_, "jobs", [id]) if id.ends_with(":resume") && method == Method::POST => {
            jobs::resume(em, id.trim_end_matches(":resume"))
        }
        ("GET", "jobs", [id]) => jobs::get(em, id),
        ("GET", "jobs", [id, "queuePosition"]) => jobs::queue_position(em, id),
        ("PUT", "jobs", [id]) => jobs::create_job(em, id, &body, caller),
        ("PATCH", route @ ("jobs" | "jobUpdateOptions"), [id]) => {
            jobs::update_job(em, id, &body, route == "jobs")
        }
        ("DELETE", "jobs", [id]) => jobs::delete(em, id, version),
        ("PUT", "sessions", [id]) => sessions::open_session(em, id, &body, caller),
        (_, "sessions", [id]) if id.ends_with(":close") && method == Method::POST => {
            sessions::close_session(em, id.trim_end_matches(":close"))
        }
        ("GET", "sessions", [id]) => sessions::get(em, id),
        ("GET", "sessions", [id, "jobs"]) => {
            let store = em.store.locked();
            if !store.sessions.contains_key(*id) {
                return not_found("Session", id);
            }
            let items = store
                .jobs
                .values()
                .filter(|j| j.get("sessionId").and_then(Value::as_str) == Some(id));
            listed(
                em,
                items,
                query,
                base,
                &format!("sessions/{id}/jobs"),
                version,
            )
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!(
                "{} {} is not an operation of the Azure Quantum data plane",
                method,
                rest.join("/")
            ),
        ),
    }
}

/// `createdBy…` and `lastModifiedBy…`, as the service records its callers.
pub(crate) fn record_caller(item: &mut crate::store::Item, caller: &Caller, now: &str) {
    for (k, v) in [
        ("createdBy", json!(caller.name)),
        ("createdByType", json!(caller.kind)),
        ("lastModifiedBy", json!(caller.name)),
        ("lastModifiedByType", json!(caller.kind)),
        ("lastModifiedTime", json!(now)),
        ("lastUpdatedTime", json!(now)),
    ] {
        item.insert(k.into(), v);
    }
}
