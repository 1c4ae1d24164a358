//! Signing in: the credential kinds `credential=` names, the token-source trait they share,
//! the default chain, and a per-scope memory of access tokens (refreshed five minutes before
//! they expire). Access tokens never leave memory; only device-code logins are cached on disk.

mod cache;
mod devicecode;
mod identity;
mod tokenfile;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

pub use cache::{TokenCache, cache_path};
pub use devicecode::DEVICE_CODE_CLIENT_ID;

use crate::endpoints::Endpoints;
use crate::env::Env;
use crate::error::ClientError;
use crate::http::Http;
use crate::secret::Secret;

/// What `credential=` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Default,
    Environment,
    ManagedIdentity,
    WorkloadIdentity,
    Cli,
    DeviceCode,
    TokenFile,
    ApiKey,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 8] = [
        CredentialKind::Default,
        CredentialKind::Environment,
        CredentialKind::ManagedIdentity,
        CredentialKind::WorkloadIdentity,
        CredentialKind::Cli,
        CredentialKind::DeviceCode,
        CredentialKind::TokenFile,
        CredentialKind::ApiKey,
    ];

    /// The name as `credential=` takes it (any case).
    pub fn name(self) -> &'static str {
        match self {
            CredentialKind::Default => "Default",
            CredentialKind::Environment => "Environment",
            CredentialKind::ManagedIdentity => "ManagedIdentity",
            CredentialKind::WorkloadIdentity => "WorkloadIdentity",
            CredentialKind::Cli => "CLI",
            CredentialKind::DeviceCode => "DeviceCode",
            CredentialKind::TokenFile => "TokenFile",
            CredentialKind::ApiKey => "ApiKey",
        }
    }

    pub fn parse(text: &str) -> Option<CredentialKind> {
        let t = text.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(t))
            .or_else(|| {
                t.eq_ignore_ascii_case("AzureCli")
                    .then_some(CredentialKind::Cli)
            })
    }

    /// How messages name the credential.
    pub fn label(self) -> &'static str {
        match self {
            CredentialKind::Default => "the default credential chain",
            CredentialKind::Environment => {
                "the service principal in AZURE_CLIENT_ID/AZURE_CLIENT_SECRET"
            }
            CredentialKind::ManagedIdentity => "the managed identity",
            CredentialKind::WorkloadIdentity => "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
            CredentialKind::Cli => "the Azure CLI login",
            CredentialKind::DeviceCode => "the device-code login",
            CredentialKind::TokenFile => "the token file (AZURE_QUANTUM_TOKEN_FILE)",
            CredentialKind::ApiKey => "the workspace API key",
        }
    }
}

/// A token and when it stops working.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: Secret,
    pub expires_at: SystemTime,
}

impl AccessToken {
    fn fresh(&self) -> bool {
        self.expires_at
            .duration_since(SystemTime::now())
            .is_ok_and(|left| left > Duration::from_secs(300))
    }
}

/// How a sign-in talks to the person at the notebook.
pub trait Prompt: Send {
    /// A device-code sign-in is waiting: open `uri`, enter `code`.
    fn device_code(&mut self, uri: &str, code: &str, expires_in: Duration);
    /// The sign-in finished as `account`.
    fn signed_in(&mut self, account: &str);
    /// Whether someone can be asked to sign in; without anyone, an interactive sign-in fails
    /// at once instead of waiting for a code nobody sees.
    fn can_ask(&self) -> bool {
        true
    }
    /// Something about the sign-in the person should know (a cache that was repaired or
    /// could not be read, a saved sign-in that is no longer accepted).
    fn notice(&mut self, _text: &str) {}
}

/// A prompt with nobody behind it (a background task): cached and refreshed logins work, a new
/// interactive sign-in is refused.
pub struct NoPrompt;

impl Prompt for NoPrompt {
    fn device_code(&mut self, _: &str, _: &str, _: Duration) {}
    fn signed_in(&mut self, _: &str) {}
    fn can_ask(&self) -> bool {
        false
    }
}

/// One way of getting tokens.
#[async_trait]
pub(crate) trait TokenSource: Send + Sync {
    fn kind(&self) -> CredentialKind;
    /// For a chain: the member that worked.
    fn winner(&self) -> Option<CredentialKind> {
        None
    }
    async fn token(&self, scope: &str, prompt: &mut dyn Prompt)
    -> Result<AccessToken, ClientError>;
}

/// What a sign-in needs to know.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub kind: CredentialKind,
    /// `tenant=`, else discovered from the subscription.
    pub tenant: Option<String>,
    /// Skip the token cache and sign in anew (device code).
    pub refresh: bool,
    pub env: Env,
    pub endpoints: Endpoints,
    pub http: Http,
}

/// A ready credential: the chosen source (or chain) and the tokens it has handed out.
pub struct Credential {
    source: Box<dyn TokenSource>,
    memo: tokio::sync::Mutex<HashMap<String, AccessToken>>,
    /// The kind that produced the last token (for a chain: the member that worked).
    used: std::sync::Mutex<CredentialKind>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({})", self.kind().name())
    }
}

impl Credential {
    pub fn new(sign_in: SignIn) -> Result<Credential, ClientError> {
        let kind = sign_in.kind;
        let source: Box<dyn TokenSource> = match kind {
            CredentialKind::Default => Box::new(Chain::new(&sign_in)),
            CredentialKind::ApiKey => {
                return Err(ClientError::AuthenticationFailed {
                    credential: kind.label().into(),
                    detail: "an API key comes with a connection string".into(),
                    hint: "Give connectionString=… (or set AZURE_QUANTUM_CONNECTION_STRING)."
                        .into(),
                });
            }
            other => single(other, &sign_in, true)?,
        };
        Ok(Credential {
            source,
            memo: tokio::sync::Mutex::new(HashMap::new()),
            used: std::sync::Mutex::new(kind),
        })
    }

    /// The kind that signed in last (the chain's winner once it has one).
    pub fn kind(&self) -> CredentialKind {
        *self.used.lock().expect("credential lock")
    }

    /// A token for `scope`, from memory while it has five minutes left.
    pub async fn token(&self, scope: &str, prompt: &mut dyn Prompt) -> Result<Secret, ClientError> {
        // Held across the sign-in on purpose (an async mutex): two calls for a token wait for
        // one sign-in rather than start two device-code prompts.
        let mut memo = self.memo.lock().await;
        if let Some(t) = memo.get(scope).filter(|t| t.fresh()) {
            return Ok(t.token.clone());
        }
        let mut token = self.source.token(scope, prompt).await?;
        token.expires_at = token
            .expires_at
            .min(by_own_lifetime(&token.token, SystemTime::now()));
        let kind = self.source.winner().unwrap_or(self.source.kind());
        *self.used.lock().expect("credential lock") = kind;
        let secret = token.token.clone();
        memo.insert(scope.to_owned(), token);
        Ok(secret)
    }

    /// Forgets the tokens in memory (after the service refused one).
    pub async fn forget(&self) {
        self.memo.lock().await.clear();
    }
}

/// Builds one kind's source. `explicit`: the user named it (so managed identity may probe).
fn single(
    kind: CredentialKind,
    s: &SignIn,
    explicit: bool,
) -> Result<Box<dyn TokenSource>, ClientError> {
    let unavailable = |detail: String| ClientError::AuthenticationFailed {
        credential: kind.label().into(),
        detail,
        hint: "Set it up, or choose another with credential=… (Default, Environment, \
               ManagedIdentity, WorkloadIdentity, CLI, DeviceCode, TokenFile)."
            .into(),
    };
    match kind {
        CredentialKind::Environment => identity::environment(s).map_err(unavailable),
        CredentialKind::WorkloadIdentity => identity::workload(s).map_err(unavailable),
        CredentialKind::ManagedIdentity => identity::managed(s, explicit).map_err(unavailable),
        CredentialKind::Cli => identity::cli(s).map_err(unavailable),
        CredentialKind::DeviceCode => Ok(Box::new(devicecode::DeviceCode::new(s)?)),
        CredentialKind::TokenFile => tokenfile::TokenFile::from_env(&s.env)
            .map(|t| Box::new(t) as Box<dyn TokenSource>)
            .map_err(unavailable),
        CredentialKind::Default | CredentialKind::ApiKey => unreachable!("handled by the caller"),
    }
}

/// How long the default chain waits for one member before it tries the next.
const CHAIN_MEMBER_WAIT: Duration = Duration::from_secs(10);

/// A chain member: ready, or why it cannot be used here.
type Member = Result<Box<dyn TokenSource>, String>;

/// The default chain: token file (when set) → environment service principal → workload
/// identity → managed identity (only with evidence of Azure) → Azure CLI → cached login and
/// device code. The first member that works is kept for later tokens.
struct Chain {
    members: Vec<(CredentialKind, Member)>,
    winner: std::sync::Mutex<Option<usize>>,
}

impl Chain {
    fn new(s: &SignIn) -> Chain {
        let mut kinds = Vec::new();
        if s.env.get("AZURE_QUANTUM_TOKEN_FILE").is_some() {
            kinds.push(CredentialKind::TokenFile);
        }
        kinds.extend([
            CredentialKind::Environment,
            CredentialKind::WorkloadIdentity,
            CredentialKind::ManagedIdentity,
            CredentialKind::Cli,
        ]);
        if s.refresh {
            // `refresh` asks for a new interactive login: go straight to it.
            kinds.clear();
        }
        kinds.push(CredentialKind::DeviceCode);
        let members = kinds
            .into_iter()
            .map(|kind| {
                let made = single(kind, s, false).map_err(|e| match e {
                    ClientError::AuthenticationFailed { detail, .. } => detail,
                    other => other.to_string(),
                });
                (kind, made)
            })
            .collect();
        Chain {
            members,
            winner: std::sync::Mutex::new(None),
        }
    }
}

#[async_trait]
impl TokenSource for Chain {
    fn kind(&self) -> CredentialKind {
        CredentialKind::Default
    }

    fn winner(&self) -> Option<CredentialKind> {
        self.winner
            .lock()
            .expect("chain lock")
            .map(|i| self.members[i].0)
    }

    async fn token(
        &self,
        scope: &str,
        prompt: &mut dyn Prompt,
    ) -> Result<AccessToken, ClientError> {
        let chosen = *self.winner.lock().expect("chain lock");
        if let Some(i) = chosen
            && let Ok(source) = &self.members[i].1
        {
            return source.token(scope, prompt).await;
        }
        let mut lines = Vec::new();
        let mut configured_failed = false;
        for (i, (kind, member)) in self.members.iter().enumerate() {
            let source = match member {
                Err(why) => {
                    lines.push(format!("{}: {why}", kind.name()));
                    continue;
                }
                Ok(s) => s,
            };
            if *kind == CredentialKind::DeviceCode && configured_failed {
                lines.push(format!(
                    "{}: not tried, because a configured credential above failed",
                    kind.name()
                ));
                break;
            }
            // A member that never answers must not hold the chain: each is given
            // CHAIN_MEMBER_WAIT (the CLI has its own ten seconds; the device code waits for a
            // person).
            let answer = if matches!(kind, CredentialKind::Cli | CredentialKind::DeviceCode) {
                source.token(scope, prompt).await
            } else {
                tokio::time::timeout(CHAIN_MEMBER_WAIT, source.token(scope, prompt))
                    .await
                    .unwrap_or_else(|_| {
                        Err(ClientError::AuthenticationFailed {
                            credential: kind.label().into(),
                            detail: format!("no answer within {} s", CHAIN_MEMBER_WAIT.as_secs()),
                            hint: String::new(),
                        })
                    })
            };
            match answer {
                Ok(t) => {
                    *self.winner.lock().expect("chain lock") = Some(i);
                    return Ok(t);
                }
                Err(e) => {
                    // A failure of something the user set up (a secret, a token file) stops
                    // the chain before it prompts; `az` without a login, or a VM without an
                    // identity, is just not this user's way in, and the prompt still comes.
                    configured_failed |=
                        !matches!(kind, CredentialKind::Cli | CredentialKind::ManagedIdentity);
                    let detail = match e {
                        ClientError::AuthenticationFailed { detail, .. } => detail,
                        other => other.to_string(),
                    };
                    lines.push(format!("{}: {detail}", kind.name()));
                }
            }
        }
        Err(ClientError::AuthenticationFailed {
            credential: CredentialKind::Default.label().into(),
            detail: format!("no credential worked:\n  {}", lines.join("\n  ")),
            hint: "Fix the one you meant to use, or name it with credential=…".into(),
        })
    }
}

/// When a token stops working by its own claims, counted on this machine's clock: the time
/// it was received plus its lifetime (`exp - iat`). An expiry stated as a moment
/// (`expires_on`) is read on the issuer's clock; when this machine's clock is behind, that
/// moment looks later than it is and the token would be sent until a 401. Tokens that are not
/// JWTs (or lack the claims) give no bound.
fn by_own_lifetime(token: &Secret, received: SystemTime) -> SystemTime {
    use base64::Engine as _;
    let far = received + Duration::from_secs(86_400 * 365);
    // The payload is the second of the last three parts (a prefix before the JWT is allowed).
    let mut parts = token.expose().rsplit('.');
    let (Some(_sig), Some(payload)) = (parts.next(), parts.next()) else {
        return far;
    };
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('='))
    else {
        return far;
    };
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return far;
    };
    match (claims["iat"].as_i64(), claims["exp"].as_i64()) {
        (Some(iat), Some(exp)) if exp > iat => {
            received + Duration::from_secs((exp - iat).min(86_400 * 365) as u64)
        }
        (Some(_), Some(_)) => received,
        _ => far,
    }
}

/// Seconds since the epoch as a time (tokens carry expiry that way).
pub(crate) fn epoch(secs: i64) -> SystemTime {
    // Clamped to the year 2500: a nonsense expiry must not overflow the clock.
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs.clamp(0, 16_725_225_600) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn jwt(claims: serde_json::Value) -> Secret {
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        Secret::new(format!(
            "{}.{}.sig",
            b64(&serde_json::json!({"alg": "none"})),
            b64(&claims)
        ))
    }

    #[test]
    fn a_token_lives_no_longer_than_its_own_claims_say() {
        let now = SystemTime::now();
        // Issued on a clock far ahead of this one: two seconds of life all the same.
        let t = jwt(serde_json::json!({"iat": 4_000_000_000_i64, "exp": 4_000_000_002_i64}));
        assert_eq!(by_own_lifetime(&t, now), now + Duration::from_secs(2));
        let prefixed = Secret::new(format!("prefix_{}", t.expose()));
        assert_eq!(
            by_own_lifetime(&prefixed, now),
            now + Duration::from_secs(2)
        );
        let dead = jwt(serde_json::json!({"iat": 10, "exp": 5}));
        assert_eq!(by_own_lifetime(&dead, now), now);
        assert!(by_own_lifetime(&Secret::new("opaque"), now) > now + Duration::from_secs(86_400));
        assert!(by_own_lifetime(&jwt(serde_json::json!({"exp": 5})), now) > now);
    }
}
