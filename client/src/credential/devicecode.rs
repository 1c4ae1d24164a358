//! Device-code sign-in (RFC 8628 as Entra ID speaks it) with refresh tokens: a cached login is
//! redeemed silently; otherwise the user gets a code to enter, polled for until they do, the
//! code expires or the cell is interrupted (the future is dropped). The refresh token is kept
//! in the token cache only (every use re-reads it under the lock); access tokens in memory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use base64::Engine as _;
use url::Url;

use super::cache::{CachedAccount, TokenCache, cache_path};
use super::{AccessToken, CredentialKind, Prompt, SignIn, TokenSource};
use crate::error::ClientError;
use crate::http::{Http, Request};
use crate::secret::Secret;

/// The Azure CLI's public client id, which the Azure SDKs use for developer sign-in
/// (overridable with AZQ_CLIENT_ID).
pub const DEVICE_CODE_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const EXTRA_SCOPES: &str = "offline_access openid profile";

pub struct DeviceCode {
    http: Http,
    authority: Url,
    tenant: String,
    client_id: String,
    cache: TokenCache,
    /// Skip the cache once (the `refresh` option).
    skip_cache: AtomicBool,
    /// The cache's notes already passed on (each is said once).
    told: std::sync::Mutex<Vec<String>>,
}

/// A token endpoint answer.
struct Granted {
    token: AccessToken,
    refresh: Option<Secret>,
    username: Option<String>,
}

/// What the cache gave.
enum Cached {
    Token(AccessToken),
    /// Nothing saved for this authority, tenant and client.
    Nothing,
    /// A saved sign-in (of this account) that the authority no longer accepts.
    Refused(String),
}

enum Refused {
    /// `invalid_grant` and friends: the refresh token is no good; sign in again.
    Grant,
    Other(ClientError),
}

impl DeviceCode {
    pub fn new(s: &SignIn) -> Result<DeviceCode, ClientError> {
        Ok(DeviceCode {
            http: s.http.clone(),
            authority: s.endpoints.authority.clone(),
            tenant: s.tenant.clone().unwrap_or_else(|| "organizations".into()),
            client_id: s
                .env
                .get("AZQ_CLIENT_ID")
                .unwrap_or(DEVICE_CODE_CLIENT_ID)
                .to_owned(),
            cache: TokenCache::new(cache_path(&s.env)?),
            skip_cache: AtomicBool::new(s.refresh),
            told: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Passes the cache's notes on to the person, each once.
    fn tell(&self, prompt: &mut dyn Prompt, notes: Vec<String>) {
        let mut told = self.told.lock().expect("told lock");
        for note in notes {
            if !told.contains(&note) {
                prompt.notice(&note);
                told.push(note);
            }
        }
    }

    fn endpoint(&self, what: &str) -> Url {
        self.authority
            .join(&format!("{}/oauth2/v2.0/{what}", self.tenant))
            .expect("tenant names are URL-safe")
    }

    fn fail(&self, detail: impl Into<String>) -> ClientError {
        ClientError::AuthenticationFailed {
            credential: CredentialKind::DeviceCode.label().into(),
            detail: detail.into(),
            hint: "Run the cell again to get a new code, or use another credential=…".into(),
        }
    }

    async fn redeem(&self, refresh: &Secret, scope: &str) -> Result<Granted, Refused> {
        let scopes = format!("{scope} {EXTRA_SCOPES}");
        let req = Request::form(
            self.endpoint("token"),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &self.client_id),
                ("refresh_token", refresh.expose()),
                ("scope", &scopes),
            ],
        );
        let resp = self.http.send(req).await.map_err(Refused::Other)?;
        if resp.is_success() {
            return self.granted(&resp.body).map_err(Refused::Other);
        }
        let (code, text) = resp.error_parts();
        match code.as_deref() {
            Some(
                "invalid_grant" | "interaction_required" | "invalid_client" | "unauthorized_client",
            ) => {
                let _ = text;
                Err(Refused::Grant)
            }
            _ => Err(Refused::Other(resp.into_error())),
        }
    }

    fn granted(&self, body: &[u8]) -> Result<Granted, ClientError> {
        #[derive(serde::Deserialize)]
        struct Reply {
            access_token: String,
            expires_in: serde_json::Value,
            refresh_token: Option<String>,
            id_token: Option<String>,
        }
        let r: Reply = serde_json::from_slice(body)
            .map_err(|_| self.fail("Entra ID's answer has no access token"))?;
        // Bounded: a token is renewed within a day whatever its authority says.
        let secs = seconds(&r.expires_in).unwrap_or(3600).min(86_400);
        Ok(Granted {
            token: AccessToken {
                token: Secret::new(r.access_token),
                expires_at: SystemTime::now() + Duration::from_secs(secs),
            },
            refresh: r.refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
            username: r.id_token.as_deref().and_then(username_of),
        })
    }

    /// Keeps a new refresh token in the cache.
    async fn keep(
        &self,
        refresh: Secret,
        username: String,
        prompt: &mut dyn Prompt,
    ) -> Result<(), ClientError> {
        let locked = self.cache.lock().await?;
        let mut file = locked.read();
        self.tell(prompt, locked.take_notes());
        file.put(CachedAccount {
            authority: self.authority.to_string(),
            tenant: self.tenant.clone(),
            client_id: self.client_id.clone(),
            username: username.clone(),
            refresh_token: refresh.expose().to_owned(),
            obtained_at: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        });
        locked.write(&file)?;
        Ok(())
    }

    /// The cached login, redeemed under the cache lock (another kernel may have rotated it).
    async fn redeem_cached(
        &self,
        scope: &str,
        prompt: &mut dyn Prompt,
    ) -> Result<Cached, ClientError> {
        let locked = self.cache.lock().await?;
        let mut file = locked.read();
        self.tell(prompt, locked.take_notes());
        let authority = self.authority.to_string();
        let Some(entry) = file
            .find(&authority, &self.tenant, &self.client_id)
            .cloned()
        else {
            return Ok(Cached::Nothing);
        };
        match self
            .redeem(&Secret::new(entry.refresh_token.clone()), scope)
            .await
        {
            Ok(g) => {
                let refresh = g
                    .refresh
                    .unwrap_or_else(|| Secret::new(entry.refresh_token.clone()));
                let mut updated = entry.clone();
                updated.refresh_token = refresh.expose().to_owned();
                file.put(updated);
                locked.write(&file)?;
                Ok(Cached::Token(g.token))
            }
            Err(Refused::Grant) => {
                file.remove(&authority, &self.tenant, &self.client_id);
                locked.write(&file)?;
                Ok(Cached::Refused(entry.username))
            }
            Err(Refused::Other(e)) => Err(e),
        }
    }

    async fn sign_in(
        &self,
        scope: &str,
        prompt: &mut dyn Prompt,
    ) -> Result<AccessToken, ClientError> {
        if !prompt.can_ask() {
            return Err(ClientError::AuthenticationFailed {
                credential: CredentialKind::DeviceCode.label().into(),
                detail: "the login has expired and a new one needs someone at the notebook".into(),
                hint: "Run %azure.connect again to sign in".into(),
            });
        }
        let scopes = format!("{scope} {EXTRA_SCOPES}");
        let resp = self
            .http
            .send(Request::form(
                self.endpoint("devicecode"),
                &[("client_id", &self.client_id), ("scope", &scopes)],
            ))
            .await?;
        if !resp.is_success() {
            let (_, text) = resp.error_parts();
            return Err(self.fail(format!("Entra ID refused to start it: {text}")));
        }
        #[derive(serde::Deserialize)]
        struct Started {
            device_code: String,
            user_code: String,
            verification_uri: Option<String>,
            verification_url: Option<String>,
            expires_in: serde_json::Value,
            interval: Option<serde_json::Value>,
        }
        let s: Started = resp
            .json()
            .map_err(|_| self.fail("Entra ID's answer has no device code"))?;
        let device_code = Secret::new(s.device_code);
        let uri = s
            .verification_uri
            .or(s.verification_url)
            .unwrap_or_else(|| "https://microsoft.com/devicelogin".into());
        // Entra gives 15 minutes; no wait lasts longer than an hour.
        let lifetime = Duration::from_secs(seconds(&s.expires_in).unwrap_or(900).min(3600));
        let mut interval = Duration::from_secs(
            s.interval
                .as_ref()
                .and_then(seconds)
                .unwrap_or(5)
                .clamp(1, 60),
        );
        prompt.device_code(&uri, &s.user_code, lifetime);
        let deadline = Instant::now() + lifetime;
        loop {
            tokio::time::sleep(interval).await;
            if Instant::now() >= deadline {
                return Err(self.fail("the code expired before the sign-in was finished"));
            }
            let resp = self
                .http
                .send(Request::form(
                    self.endpoint("token"),
                    &[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                        ("client_id", &self.client_id),
                        ("device_code", device_code.expose()),
                    ],
                ))
                .await?;
            if resp.is_success() {
                let g = self.granted(&resp.body)?;
                let username = g.username.unwrap_or_else(|| "your account".into());
                if let Some(refresh) = g.refresh {
                    self.keep(refresh, username.clone(), prompt).await?;
                }
                prompt.signed_in(&username);
                return Ok(g.token);
            }
            let (code, text) = resp.error_parts();
            match code.as_deref() {
                Some("authorization_pending") => {}
                Some("slow_down") => interval += Duration::from_secs(5),
                Some("authorization_declined" | "access_denied") => {
                    return Err(self.fail("the sign-in was declined"));
                }
                Some("expired_token") => {
                    return Err(self.fail("the code expired before the sign-in was finished"));
                }
                _ => {
                    return Err(self.fail(if text.is_empty() {
                        "Entra ID refused the sign-in".into()
                    } else {
                        text
                    }));
                }
            }
        }
    }
}

#[async_trait]
impl TokenSource for DeviceCode {
    fn kind(&self) -> CredentialKind {
        CredentialKind::DeviceCode
    }

    async fn token(
        &self,
        scope: &str,
        prompt: &mut dyn Prompt,
    ) -> Result<AccessToken, ClientError> {
        // The refresh token lives in the cache file only, and is redeemed under its lock:
        // refresh tokens are single-use, and another kernel may have just rotated it.
        if !self.skip_cache.swap(false, Ordering::SeqCst) {
            match self.redeem_cached(scope, prompt).await? {
                Cached::Token(token) => return Ok(token),
                Cached::Nothing => {}
                Cached::Refused(account) if !prompt.can_ask() => {
                    return Err(ClientError::AuthenticationFailed {
                        credential: CredentialKind::DeviceCode.label().into(),
                        detail: format!(
                            "the saved sign-in as {account} is no longer accepted (it was \
                             revoked or has expired), and a new one needs someone at the notebook"
                        ),
                        hint: "Run %azure.connect again to sign in".into(),
                    });
                }
                Cached::Refused(account) => prompt.notice(&format!(
                    "The saved sign-in as {account} is no longer accepted (it was revoked or \
                     has expired); sign in again."
                )),
            }
        }
        self.sign_in(scope, prompt).await
    }
}

fn seconds(v: &serde_json::Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The account name in an id token (its claims are not secret; the signature is not checked
/// because nothing is decided on it).
fn username_of(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    ["preferred_username", "upn", "email", "name"]
        .iter()
        .find_map(|k| claims[*k].as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_come_from_the_id_token() {
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"preferred_username":"ada@example.com","name":"Ada"}"#);
        assert_eq!(
            username_of(&format!("h.{claims}.s")).as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(username_of("garbage"), None);
        assert_eq!(seconds(&serde_json::json!("900")), Some(900));
    }
}
