//! The token-file credential: AZURE_QUANTUM_TOKEN_FILE names a JSON file
//! `{"access_token": "…", "expires_on": <milliseconds since the epoch>}`, re-read on each use.

use std::path::PathBuf;
use std::time::SystemTime;

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
        // Whole seconds, clamped by `epoch` so that a huge number cannot overflow the clock.
        let expires_at = super::epoch((ms / 1000.0) as i64);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::NoPrompt;

    async fn read(contents: &str) -> Result<AccessToken, ClientError> {
        let path = std::env::temp_dir().join(format!("azq-tokenfile-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, contents).unwrap();
        let env = Env::default().with("AZURE_QUANTUM_TOKEN_FILE", &path.display().to_string());
        let got = TokenFile::from_env(&env)
            .unwrap()
            .token("scope", &mut NoPrompt)
            .await;
        std::fs::remove_file(path).unwrap();
        got
    }

    #[tokio::test]
    async fn expiries_far_off_or_past_are_read_without_overflow() {
        let far = read(r#"{"access_token": "t", "expires_on": 1e300}"#)
            .await
            .unwrap();
        assert!(far.expires_at > SystemTime::now());
        let past = read(r#"{"access_token": "t", "expires_on": "1000"}"#).await;
        assert!(past.unwrap_err().to_string().contains("has expired"));
        let bad = read(r#"{"access_token": "t", "expires_on": -5}"#).await;
        assert!(bad.unwrap_err().to_string().contains("not a number"));
    }
}
