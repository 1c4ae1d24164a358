//! The token-file credential: AZURE_QUANTUM_TOKEN_FILE names a JSON file
//! `{"access_token": "…", "expires_on": <milliseconds since the epoch>}`, re-read on each use.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{AccessToken, CredentialKind, Prompt, TokenSource};
use crate::env::Env;
use crate::error::ClientError;
use crate::secret::Secret;

pub struct TokenFile {
    path: PathBuf,
}

impl TokenFile {
    pub fn from_env(env: &Env) -> Result<TokenFile, String> {
        let path = env
            .get("AZURE_QUANTUM_TOKEN_FILE")
            .ok_or("AZURE_QUANTUM_TOKEN_FILE is not set")?;
        Ok(TokenFile { path: path.into() })
    }
}

#[derive(serde::Deserialize)]
struct Contents {
    access_token: String,
    expires_on: serde_json::Value,
}

#[async_trait]
impl TokenSource for TokenFile {
    fn kind(&self) -> CredentialKind {
        CredentialKind::TokenFile
    }

    async fn token(&self, _scope: &str, _: &mut dyn Prompt) -> Result<AccessToken, ClientError> {
        let shown = self.path.display().to_string();
        let fail = |detail: String| ClientError::AuthenticationFailed {
            credential: CredentialKind::TokenFile.label().into(),
            detail,
            hint: "Write a fresh token to the file ({\"access_token\": …, \"expires_on\": \
                   milliseconds since 1970}), or use another credential=…"
                .into(),
        };
        let text = tokio::fs::read_to_string(&self.path)
            .await
            .map_err(|e| fail(format!("{shown} cannot be read ({})", e.kind())))?;
        let contents: Contents = serde_json::from_str(&text).map_err(|_| {
            fail(format!(
                "{shown} is not JSON with access_token and expires_on"
            ))
        })?;
        let ms = contents
            .expires_on
            .as_f64()
            .or_else(|| contents.expires_on.as_str().and_then(|s| s.parse().ok()))
            .filter(|ms: &f64| ms.is_finite() && *ms >= 0.0)
            .ok_or_else(|| {
                fail(format!(
                    "{shown}: expires_on is not a number of milliseconds"
                ))
            })?;
        let expires_at = SystemTime::UNIX_EPOCH + Duration::from_millis(ms as u64);
        if expires_at <= SystemTime::now() {
            return Err(fail(format!("the token in {shown} has expired")));
        }
        if contents.access_token.trim().is_empty() {
            return Err(fail(format!("{shown} holds an empty access_token")));
        }
        Ok(AccessToken {
            token: Secret::new(contents.access_token.trim()),
            expires_at,
        })
    }
}
