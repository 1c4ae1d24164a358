//! Who may call: the workspace API key (`x-ms-quantum-api-key`), or a bearer token that
//! this emulator's Entra ID endpoint issued (JWT-shaped, HMAC-signed, with audience,
//! tenant, object id and expiry checked). The client-credentials grant issues tokens.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The audience every data-plane token must carry.
pub const AUDIENCE: &str = "https://quantum.microsoft.com";
/// The audience of the federated tokens workload identity presents as client assertions.
pub const FEDERATION_AUDIENCE: &str = "api://AzureADTokenExchange";
/// The audience of ARM (management plane) tokens.
pub const ARM_AUDIENCE: &str = "https://management.azure.com";

/// The audience a requested scope names (`https://quantum.microsoft.com/.default` and the
/// like), if the emulator issues tokens for it.
pub fn audience_of(scope: &str) -> Option<&'static str> {
    scope.split_whitespace().find_map(|s| {
        let resource = s.trim_end_matches("/.default").trim_end_matches('/');
        [AUDIENCE, ARM_AUDIENCE]
            .into_iter()
            .find(|a| *a == resource)
    })
}

/// A secret value: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the places that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The emulator's own secrets: the workspace API key, one service principal, and the key
/// it signs tokens with.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub api_key: Secret,
    pub client_id: String,
    pub client_secret: Secret,
    pub signing_key: Secret,
    /// The storage account key (base64), for Shared Key requests.
    pub storage_key: Secret,
}

fn random_hex(bytes: usize) -> String {
    (0..bytes.div_ceil(16))
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect::<String>()[..bytes * 2]
        .to_owned()
}

/// Credentials kept in a data dir (0600), so keys, tokens and SAS URLs stay valid across
/// restarts: made from `given` on the first start, read back on every later one.
pub fn keep_credentials(
    path: &std::path::Path,
    given: &Credentials,
) -> Result<Credentials, String> {
    let kept = match std::fs::read(path) {
        Ok(bytes) => {
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("{} is damaged: {e}", path.display()))?;
            let text = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{} has no {k}", path.display()))
            };
            Credentials {
                api_key: Secret::new(text("apiKey")?),
                client_id: text("clientId")?,
                client_secret: Secret::new(text("clientSecret")?),
                signing_key: Secret::new(text("signingKey")?),
                storage_key: text("storageKey")
                    .map(Secret::new)
                    .unwrap_or_else(|_| given.storage_key.clone()),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => given.clone(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let text = json!({
        "apiKey": kept.api_key.expose(), "clientId": kept.client_id,
        "clientSecret": kept.client_secret.expose(), "signingKey": kept.signing_key.expose(),
        "storageKey": kept.storage_key.expose(),
    })
    .to_string();
    crate::files::write_private(path, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(kept)
}

impl Credentials {
    pub fn generate() -> Credentials {
        Credentials {
            api_key: Secret::new(random_hex(24)),
            client_id: uuid::Uuid::new_v4().to_string(),
            client_secret: Secret::new(random_hex(20)),
            signing_key: Secret::new(random_hex(32)),
            storage_key: Secret::new(
                base64::engine::general_purpose::STANDARD.encode(random_hex(32)),
            ),
        }
    }
}

fn sign(key: &Secret, data: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()).expect("any key");
    mac.update(data.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// A signed token: the standard claims for `subject` in `tenant`, plus `extra`.
fn token(
    creds: &Credentials,
    tenant: &str,
    subject: &str,
    audience: &str,
    lifetime: i64,
    extra: Value,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "aud": audience, "iss": format!("https://sts.windows.net/{tenant}/"), "tid": tenant,
        "oid": subject, "sub": subject, "iat": now, "nbf": now, "exp": now + lifetime,
    });
    if let (Value::Object(c), Value::Object(e)) = (&mut claims, extra) {
        c.extend(e);
    }
    let body = format!(
        "{}.{}",
        B64.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string()),
        B64.encode(claims.to_string())
    );
    let sig = sign(&creds.signing_key, &body);
    format!("{body}.{sig}")
}

/// Issues a token for the application `subject` in `tenant`, valid for `lifetime` seconds.
pub fn issue(
    creds: &Credentials,
    tenant: &str,
    subject: &str,
    audience: &str,
    lifetime: i64,
) -> String {
    token(
        creds,
        tenant,
        subject,
        audience,
        lifetime,
        json!({ "appid": subject }),
    )
}

/// A federated token for workload identity (what a Kubernetes service-account token file
/// holds), for the principal `client_id`.
pub fn issue_federated(creds: &Credentials, tenant: &str, lifetime: i64) -> String {
    issue(
        creds,
        tenant,
        &creds.client_id,
        FEDERATION_AUDIENCE,
        lifetime,
    )
}

/// Issues a token for a signed-in user (it carries a `upn`).
pub fn issue_for_user(
    creds: &Credentials,
    tenant: &str,
    oid: &str,
    upn: &str,
    audience: &str,
    lifetime: i64,
) -> String {
    token(
        creds,
        tenant,
        oid,
        audience,
        lifetime,
        json!({ "upn": upn, "name": "Demo User" }),
    )
}

/// Whether a request carries the workspace API key (what the admin endpoints require).
pub fn has_api_key(creds: &Credentials, headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("x-ms-quantum-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|k| same_secret(k, creds.api_key.expose()))
}

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenProblem {
    Malformed,
    BadSignature,
    WrongAudience,
    WrongTenant,
    Expired,
}

/// Checks a bearer token and returns its claims.
pub fn verify(
    creds: &Credentials,
    tenant: &str,
    token: &str,
    audience: &str,
) -> Result<Value, TokenProblem> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenProblem::Malformed);
    };
    let expected = sign(&creds.signing_key, &format!("{h}.{c}"));
    // Compare as MACs do: every byte, whatever differs first.
    let same = expected.len() == s.len()
        && expected
            .bytes()
            .zip(s.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(TokenProblem::BadSignature);
    }
    let claims: Value = B64
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenProblem::Malformed)?;
    if claims["aud"] != audience && claims["aud"] != format!("{audience}/") {
        return Err(TokenProblem::WrongAudience);
    }
    if claims["tid"] != tenant {
        return Err(TokenProblem::WrongTenant);
    }
    if claims["exp"]
        .as_i64()
        .is_none_or(|exp| exp <= chrono::Utc::now().timestamp())
    {
        return Err(TokenProblem::Expired);
    }
    Ok(claims)
}

/// Constant-time equality for secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_tampering_is_caught() {
        let creds = Credentials::generate();
        let t = issue(&creds, "tid", "me", AUDIENCE, 60);
        assert_eq!(verify(&creds, "tid", &t, AUDIENCE).unwrap()["oid"], "me");
        assert_eq!(
            verify(&creds, "tid", &t, ARM_AUDIENCE),
            Err(TokenProblem::WrongAudience)
        );
        assert_eq!(
            verify(&creds, "other", &t, AUDIENCE),
            Err(TokenProblem::WrongTenant)
        );
        let expired = issue(&creds, "tid", "me", AUDIENCE, -1);
        assert_eq!(
            verify(&creds, "tid", &expired, AUDIENCE),
            Err(TokenProblem::Expired)
        );
        let mut bad = t.clone();
        bad.push('x');
        assert_eq!(
            verify(&creds, "tid", &bad, AUDIENCE),
            Err(TokenProblem::BadSignature)
        );
        assert_eq!(
            verify(&creds, "tid", "a.b", AUDIENCE),
            Err(TokenProblem::Malformed)
        );
        assert_eq!(
            audience_of("https://management.azure.com/.default"),
            Some(ARM_AUDIENCE)
        );
        assert_eq!(audience_of("https://graph.microsoft.com/.default"), None);
    }

    #[test]
    fn secrets_do_not_print() {
        let creds = Credentials::generate();
        let shown = format!("{creds:?}");
        assert!(!shown.contains(creds.api_key.expose()));
        assert!(!shown.contains(creds.client_secret.expose()));
    }
}
