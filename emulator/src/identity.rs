//! Sign-in beyond service principals: the device-code flow (pending until approved through
//! the admin endpoint or automatically; `slow_down`, `expired_token`, `access_denied`),
//! rotating and revocable refresh tokens, and managed identity in the VM (IMDS, `Metadata:
//! true`) and App Service (`X-IDENTITY-HEADER`) forms.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::Emulator;
use crate::Locked;
use crate::auth::{self, Secret, same_secret};
use crate::http::{Reply, json, now, ok};

/// The demo user a device-code sign-in signs in as.
pub const USER: &str = "demo.user@azq.example";
const USER_OID: &str = "00000000-0000-0000-0000-0000000000b1";

/// One device-code sign-in in progress.
#[derive(Debug)]
pub struct DeviceCode {
    pub user_code: String,
    pub audience: &'static str,
    pub client_id: String,
    pub issued: Instant,
    pub last_poll: Option<Instant>,
    /// `None` while pending; then approved or denied.
    pub decision: Option<bool>,
}

/// At most this many device-code sign-ins wait at once (anyone may start one).
pub const MAX_PENDING: usize = 1000;
/// At most this many refresh tokens are live; the oldest go first.
pub const MAX_REFRESH_TOKENS: usize = 10_000;

/// Sign-ins in progress and issued refresh tokens, each found by the SHA-256 of its secret
/// (a lookup that reveals nothing of the secret through its timing). A refresh token stays
/// good after it is redeemed, as in Entra ID, until revoked.
#[derive(Debug, Default)]
pub struct Grants {
    device_codes: HashMap<String, DeviceCode>,
    /// Refresh tokens by digest, with their issue number; `issued` orders them for eviction.
    refresh_tokens: HashMap<String, u64>,
    issued: BTreeMap<u64, String>,
    next: u64,
    /// How long the access tokens of user sign-ins live, when an approval set it (the
    /// replies still say 3600 s: a token that dies before its holder was told, as clock
    /// skew between the authority and the service makes it).
    user_token_lifetime: Option<i64>,
}

impl Grants {
    fn add_refresh_token(&mut self, token: &Secret) {
        let key = digest(token.expose());
        self.next += 1;
        self.refresh_tokens.insert(key.clone(), self.next);
        self.issued.insert(self.next, key);
        while self.refresh_tokens.len() > MAX_REFRESH_TOKENS {
            let Some((_, oldest)) = self.issued.pop_first() else {
                break;
            };
            self.refresh_tokens.remove(&oldest);
        }
    }

    /// Whether a refresh token is live. Redeeming one does not end it: Entra ID does not revoke
    /// the token a rotation replaced, so a client that dies before saving the new one can still
    /// use the old. Tokens end when revoked, or as the oldest of more than `MAX_REFRESH_TOKENS`.
    fn is_live(&self, token: &str) -> bool {
        self.refresh_tokens.contains_key(&digest(token))
    }
}

fn digest(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

fn oauth_error(status: StatusCode, code: &str, text: &str) -> Reply {
    json(
        status,
        &json!({ "error": code, "error_description": text, "error_codes": [], "timestamp": now() }),
    )
}

fn user_token(em: &Emulator, audience: &str, lifetime: i64) -> String {
    auth::issue_for_user(
        &em.config.credentials,
        &em.config.tenant,
        USER_OID,
        USER,
        audience,
        lifetime,
    )
}

fn random_code(len: usize) -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()[..len].to_owned()
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`
pub fn start_device_code(em: &Emulator, form: &[(String, String)], login_base: &str) -> Reply {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("client_id").is_none_or(str::is_empty) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS900144: The request body must contain the parameter 'client_id'.",
        );
    }
    let Some(audience) = get("scope").and_then(auth::audience_of) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS70011: The provided value for scope is not valid.",
        );
    };
    let user_code = random_code(9);
    let device_code = Secret::new(format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    ));
    let verification = format!("{login_base}/devicelogin");
    let interval = em.config.device_code_interval.as_secs().max(1);
    let reply = json!({
        "user_code": user_code,
        "device_code": device_code.expose(),
        "verification_uri": verification,
        "expires_in": em.config.device_code_lifetime.as_secs(),
        "interval": interval,
        "message": format!("To sign in, use a web browser to open the page {verification} and enter the code {user_code} to authenticate."),
    });
    let mut grants = em.grants.locked();
    let lifetime = em.config.device_code_lifetime;
    grants
        .device_codes
        .retain(|_, d| d.issued.elapsed() <= lifetime);
    if grants.device_codes.len() >= MAX_PENDING {
        return oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            &format!(
                "too many device-code sign-ins are pending ({MAX_PENDING}); finish one, or wait until they expire ({} minutes), then try again",
                lifetime.as_secs().div_ceil(60)
            ),
        );
    }
    let key = digest(device_code.expose());
    grants.device_codes.insert(
        key,
        DeviceCode {
            user_code,
            audience,
            client_id: get("client_id").unwrap_or("").to_owned(),
            issued: Instant::now(),
            last_poll: None,
            decision: em.config.auto_approve.then_some(true),
        },
    );
    ok(&reply)
}

/// The device-code grant of the token endpoint.
pub fn redeem_device_code(em: &Emulator, code: &str) -> Reply {
    let mut grants = em.grants.locked();
    let at = digest(code);
    let Some(d) = grants.device_codes.get_mut(&at) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "AADSTS70000: The provided value for the input parameter 'device_code' is not valid.",
        );
    };
    if d.issued.elapsed() > em.config.device_code_lifetime {
        grants.device_codes.remove(&at);
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "expired_token",
            "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        );
    }
    let too_soon = d
        .last_poll
        .is_some_and(|t| t.elapsed() < em.config.device_code_interval / 2);
    d.last_poll = Some(Instant::now());
    match d.decision {
        None if too_soon => oauth_error(
            StatusCode::BAD_REQUEST,
            "slow_down",
            "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending; poll less often.",
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "authorization_pending",
            "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        ),
        Some(false) => {
            grants.device_codes.remove(&at);
            oauth_error(
                StatusCode::BAD_REQUEST,
                "access_denied",
                "AADSTS70000: The user denied the sign-in request.",
            )
        }
        Some(true) => {
            let (audience, client) = (d.audience, d.client_id.clone());
            grants.device_codes.remove(&at);
            let refresh = Secret::new(format!(
                "0.{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ));
            let lifetime = grants.user_token_lifetime.unwrap_or(3600);
            let reply = token_reply(em, audience, &client, &refresh, lifetime);
            grants.add_refresh_token(&refresh);
            reply
        }
    }
}

/// An OpenID id token for the demo user (MSAL reads its claims; it does not check a
/// signature on it).
fn id_token(em: &Emulator, client_id: &str) -> String {
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "aud": client_id, "iss": format!("https://login.microsoftonline.com/{}/v2.0", em.config.tenant),
        "tid": em.config.tenant, "oid": USER_OID, "sub": USER_OID, "preferred_username": USER, "name": "Demo User",
        "iat": now, "nbf": now, "exp": now + 3600, "ver": "2.0",
    });
    format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

fn token_reply(
    em: &Emulator,
    audience: &str,
    client_id: &str,
    refresh: &Secret,
    lifetime: i64,
) -> Reply {
    ok(&json!({
        "id_token": id_token(em, client_id),
        "token_type": "Bearer",
        "scope": format!("{audience}/.default"),
        "expires_in": 3600,
        "ext_expires_in": 3600,
        "access_token": user_token(em, audience, lifetime),
        "refresh_token": refresh.expose(),
        "client_info": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, json!({"uid": USER_OID, "utid": em.config.tenant}).to_string()),
    }))
}

/// The refresh-token grant: the old token is spent and a new one issued.
pub fn redeem_refresh_token(
    em: &Emulator,
    token: &str,
    scope: Option<&str>,
    client_id: &str,
) -> Reply {
    let Some(audience) = scope.and_then(auth::audience_of) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS70011: The provided value for scope is not valid.",
        );
    };
    let mut grants = em.grants.locked();
    if !grants.is_live(token) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "AADSTS70008: The provided refresh token has expired or was revoked. Sign in again.",
        );
    };
    let refresh = Secret::new(format!(
        "0.{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    ));
    let lifetime = grants.user_token_lifetime.unwrap_or(3600);
    let reply = token_reply(em, audience, client_id, &refresh, lifetime);
    grants.add_refresh_token(&refresh);
    reply
}

/// `POST /_emulator/devicelogin` `{"user_code": "...", "approve": true|false}`: what a person
/// does in the browser. Needs the workspace API key. `"token_lifetime": N` (1 to 3600 s)
/// makes the access tokens of user sign-ins from then on live N seconds while the replies
/// still say 3600, for testing how clients meet a token that dies early.
pub fn decide(em: &Emulator, headers: &HeaderMap, body: &[u8]) -> Reply {
    if !auth::has_api_key(&em.config.credentials, headers) {
        return crate::http::error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "the emulator's admin endpoints need the workspace API key",
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return crate::http::error(
            StatusCode::BAD_REQUEST,
            "InvalidJson",
            "send {\"user_code\": \"…\", \"approve\": true}",
        );
    };
    let code = body.get("user_code").and_then(Value::as_str).unwrap_or("");
    let approve = body.get("approve").and_then(Value::as_bool).unwrap_or(true);
    let lifetime = match body.get("token_lifetime") {
        None => None,
        Some(v) => match v.as_i64().filter(|n| (1..=3600).contains(n)) {
            Some(n) => Some(n),
            None => {
                return crate::http::error(
                    StatusCode::BAD_REQUEST,
                    "InvalidTokenLifetime",
                    "token_lifetime is a whole number of seconds from 1 to 3600",
                );
            }
        },
    };
    let mut grants = em.grants.locked();
    if lifetime.is_some() {
        grants.user_token_lifetime = lifetime;
    }
    match grants
        .device_codes
        .values_mut()
        .find(|d| d.user_code.eq_ignore_ascii_case(code))
    {
        Some(d) => {
            d.decision = Some(approve);
            ok(&json!({ "user_code": d.user_code, "approved": approve, "user": USER }))
        }
        None => crate::http::error(
            StatusCode::NOT_FOUND,
            "UnknownUserCode",
            &format!("no sign-in is waiting for code {code}"),
        ),
    }
}

/// `POST /_emulator/revoke`: every refresh token stops working (needs the API key).
pub fn revoke(em: &Emulator, headers: &HeaderMap) -> Reply {
    if !auth::has_api_key(&em.config.credentials, headers) {
        return crate::http::error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "the emulator's admin endpoints need the workspace API key",
        );
    }
    let mut grants = em.grants.locked();
    grants.issued.clear();
    let n = std::mem::take(&mut grants.refresh_tokens).len();
    ok(&json!({ "revoked": n }))
}

fn resource_audience(query: &[(String, String)]) -> Option<&'static str> {
    let resource = query
        .iter()
        .find(|(k, _)| k == "resource" || k == "scope")
        .map(|(_, v)| v.as_str())?;
    auth::audience_of(resource)
}

fn identity_token(em: &Emulator, audience: &str, app_service: bool) -> Reply {
    let expires_on = chrono::Utc::now().timestamp() + 3600;
    let token = auth::issue(
        &em.config.credentials,
        &em.config.tenant,
        &em.config.identity_object_id,
        audience,
        3600,
    );
    let mut body = json!({
        "access_token": token,
        "expires_on": expires_on.to_string(),
        "resource": audience,
        "token_type": "Bearer",
        "client_id": em.config.identity_object_id,
    });
    if !app_service {
        body["expires_in"] = json!("3600");
        body["ext_expires_in"] = json!("3600");
        body["not_before"] = json!((expires_on - 3600).to_string());
    }
    ok(&body)
}

/// `GET [/identity/{secret}]/metadata/identity/oauth2/token` (the VM's IMDS). A real VM's
/// IMDS answers anyone on the VM who sends `Metadata: true`; on a shared machine that is
/// every local user, so the emulator answers the bare path only when `open_imds` says so,
/// and otherwise under the secret path it prints as AZURE_POD_IDENTITY_AUTHORITY_HOST
/// (clients append the IMDS path to that host, path included).
pub fn imds(
    em: &Emulator,
    headers: &HeaderMap,
    query: &[(String, String)],
    secret: Option<&str>,
) -> Reply {
    let admitted = match secret {
        Some(given) => same_secret(given, em.config.identity_header.expose()),
        None => em.config.open_imds,
    };
    if !admitted {
        return json(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": "invalid_request", "error_description": "this emulator answers the VM identity endpoint only under the address it printed as AZURE_POD_IDENTITY_AUTHORITY_HOST (it carries a secret); set that variable, or start `azq emulator --open-imds` to answer anyone at the bare path as a VM does" }),
        );
    }
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return json(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "invalid_request", "error_description": "Required metadata header not specified" }),
        );
    }
    match resource_audience(query) {
        Some(a) => identity_token(em, a, false),
        None => json(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "invalid_resource", "error_description": "AADSTS500011: The resource principal was not found." }),
        ),
    }
}

/// `GET /msi/token` (App Service: IDENTITY_ENDPOINT with X-IDENTITY-HEADER).
pub fn app_service(em: &Emulator, headers: &HeaderMap, query: &[(String, String)]) -> Reply {
    let given = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !same_secret(given, em.config.identity_header.expose()) {
        return json(
            StatusCode::UNAUTHORIZED,
            &json!({ "statusCode": 401, "message": "X-IDENTITY-HEADER is missing or wrong" }),
        );
    }
    match resource_audience(query) {
        Some(a) => identity_token(em, a, true),
        None => json(
            StatusCode::BAD_REQUEST,
            &json!({ "statusCode": 400, "message": "the resource is not one this identity can get tokens for" }),
        ),
    }
}
