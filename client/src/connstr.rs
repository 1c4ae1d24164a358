//! Workspace connection strings (`SubscriptionId=…;ResourceGroupName=…;WorkspaceName=…;
//! ApiKey=…;QuantumEndpoint=…`), as the Azure portal and the Python SDK write them.

use url::Url;

use crate::error::ClientError;
use crate::http::{ensure_secure, is_loopback};
use crate::resource::WorkspaceRef;
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct ConnectionString {
    pub workspace: WorkspaceRef,
    pub api_key: Secret,
    pub endpoint: Url,
}

impl ConnectionString {
    /// Parses a connection string. Error texts never repeat the string (it holds a key).
    pub fn parse(text: &str) -> Result<ConnectionString, ClientError> {
        let bad = |m: &str| ClientError::InvalidConnectionString(m.to_owned());
        let (mut sub, mut rg, mut ws, mut key, mut endpoint) = (None, None, None, None, None);
        for part in text
            .trim()
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let Some((name, value)) = part.split_once('=') else {
                return Err(bad(
                    "has a part without `=`; it reads SubscriptionId=…;ResourceGroupName=…;WorkspaceName=…;ApiKey=…;QuantumEndpoint=…",
                ));
            };
            let value = value.trim().to_owned();
            let slot = match name.trim().to_ascii_lowercase().as_str() {
                "subscriptionid" => &mut sub,
                "resourcegroupname" => &mut rg,
                "workspacename" => &mut ws,
                "apikey" => &mut key,
                "quantumendpoint" => &mut endpoint,
                // Fields added by newer portals are not needed to connect.
                _ => continue,
            };
            *slot = Some(value);
        }
        let need = |v: Option<String>, name: &str| {
            v.filter(|v| !v.is_empty())
                .ok_or_else(|| bad(&format!("has no {name}; copy it again from the workspace's Keys page in the Azure portal")))
        };
        let workspace = WorkspaceRef {
            subscription: need(sub, "SubscriptionId")?,
            resource_group: need(rg, "ResourceGroupName")?,
            name: need(ws, "WorkspaceName")?,
        };
        if let Err((part, rule)) = workspace.check() {
            let field = match part {
                "subscription" => "SubscriptionId",
                "resourceGroup" => "ResourceGroupName",
                _ => "WorkspaceName",
            };
            return Err(bad(&format!("has a {field} that is {rule}")));
        }
        let api_key = Secret::new(need(key, "ApiKey")?);
        let endpoint_text = need(endpoint, "QuantumEndpoint")?;
        let endpoint = Url::parse(&endpoint_text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| bad("has a QuantumEndpoint that is not an http(s) URL"))?;
        ensure_secure(&endpoint).map_err(|_| {
            bad("has a plain-http QuantumEndpoint off this machine; use https (plain http is only for an emulator on 127.0.0.1)")
        })?;
        Ok(ConnectionString {
            workspace,
            api_key,
            endpoint,
        })
    }

    /// The location the endpoint names (`https://westus.quantum.azure.com/` → westus), or
    /// `None` for an emulator or custom host.
    pub fn location(&self) -> Option<String> {
        location_of_endpoint(&self.endpoint)
    }
}

/// `westus` from `https://westus.quantum.azure.com/` (also `westus-v2.`, `…quantum-test…`).
pub fn location_of_endpoint(url: &Url) -> Option<String> {
    if is_loopback(url) {
        return None;
    }
    let host = url.host_str()?;
    let (first, rest) = host.split_once('.')?;
    rest.starts_with("quantum")
        .then(|| first.trim_end_matches("-v2").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "SubscriptionId=00000000-0000-0000-0000-0000000000a1;ResourceGroupName=rg;WorkspaceName=ws;ApiKey=sentinel-key=;QuantumEndpoint=https://westus.quantum.azure.com/;";

    #[test]
    fn parses_the_portal_form() {
        let c = ConnectionString::parse(GOOD).unwrap();
        assert_eq!(c.workspace.name, "ws");
        assert_eq!(c.api_key.expose(), "sentinel-key=");
        assert_eq!(c.location().as_deref(), Some("westus"));
        let local = GOOD.replace("https://westus.quantum.azure.com/", "http://127.0.0.1:9/");
        assert_eq!(ConnectionString::parse(&local).unwrap().location(), None);
    }

    #[test]
    fn bad_strings_say_what_is_missing_and_never_echo_the_key() {
        for (text, says) in [
            ("", "SubscriptionId"),
            ("junk", "without `=`"),
            (&GOOD.replace("ApiKey=sentinel-key=;", ""), "ApiKey"),
            (&GOOD.replace("https://", "http://"), "plain-http"),
            (
                &GOOD.replace("https://westus.quantum.azure.com/", "nope"),
                "not an http(s) URL",
            ),
            (
                &GOOD.replace("00000000-0000-0000-0000-0000000000a1", "x"),
                "subscription",
            ),
        ] {
            let e = ConnectionString::parse(text).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
            assert!(!e.contains("sentinel-key"), "{e}");
        }
    }
}
