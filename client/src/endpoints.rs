//! Where sign-in and ARM live: the public cloud by default, or what the standard variables
//! (AZURE_AUTHORITY_HOST, AZURE_POD_IDENTITY_AUTHORITY_HOST) and azq's AZQ_ARM_ENDPOINT say,
//! so that every endpoint can point at an emulator. Plain http is allowed only on loopback.

use url::Url;

use crate::env::Env;
use crate::error::ClientError;
use crate::http::ensure_secure;

pub const PUBLIC_AUTHORITY: &str = "https://login.microsoftonline.com/";
pub const PUBLIC_ARM: &str = "https://management.azure.com/";
/// The scope of the Azure Quantum data plane.
pub const QUANTUM_SCOPE: &str = "https://quantum.microsoft.com/.default";
/// The scope of Azure Resource Manager.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";

#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Entra ID (`https://login.microsoftonline.com/`).
    pub authority: Url,
    /// Azure Resource Manager (`https://management.azure.com/`).
    pub arm: Url,
    /// Where the VM managed-identity endpoint is (AZURE_POD_IDENTITY_AUTHORITY_HOST), if moved.
    pub pod_identity: Option<Url>,
}

impl Endpoints {
    pub fn from_env(env: &Env) -> Result<Endpoints, ClientError> {
        Ok(Endpoints {
            authority: url_var(env, "AZURE_AUTHORITY_HOST", PUBLIC_AUTHORITY)?,
            arm: url_var(env, "AZQ_ARM_ENDPOINT", PUBLIC_ARM)?,
            pod_identity: env
                .get("AZURE_POD_IDENTITY_AUTHORITY_HOST")
                .map(|v| parse_base(v, "AZURE_POD_IDENTITY_AUTHORITY_HOST"))
                .transpose()?,
        })
    }
}

fn url_var(env: &Env, name: &str, default: &str) -> Result<Url, ClientError> {
    match env.get(name) {
        Some(v) => parse_base(v, name),
        None => Ok(Url::parse(default).expect("default URLs parse")),
    }
}

/// A base URL (ending in `/`), https or loopback http.
pub fn parse_base(text: &str, name: &str) -> Result<Url, ClientError> {
    let mut url = Url::parse(text.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            ClientError::InvalidEndpoint(format!(
                "{name} is not an http(s) URL; write it like https://host/"
            ))
        })?;
    ensure_secure(&url).map_err(|_| {
        ClientError::InvalidEndpoint(format!(
            "{name} uses plain http off this machine; use https (plain http is only for 127.0.0.1)"
        ))
    })?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    Ok(url)
}
