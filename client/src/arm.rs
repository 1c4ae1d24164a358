//! Azure Resource Manager: which tenant a subscription belongs to (from the 401 an anonymous
//! request gets), and where a workspace lives (its location and data-plane endpoint).

use url::Url;

use crate::endpoints::Endpoints;
use crate::error::ClientError;
use crate::http::{Http, Request, host_of, is_loopback};
use crate::resource::{WorkspaceRef, normalize_location};
use crate::secret::Secret;

const SUBSCRIPTION_API: &str = "2022-12-01";
const WORKSPACE_API: &str = "2023-11-13-preview";

/// The tenant of `subscription`, read from `WWW-Authenticate: Bearer authorization_uri=
/// "https://login.microsoftonline.com/<tenant>"`; `None` when it cannot be told.
pub async fn discover_tenant(
    http: &Http,
    endpoints: &Endpoints,
    subscription: &str,
) -> Option<String> {
    let mut url = endpoints
        .arm
        .join(&format!("subscriptions/{subscription}"))
        .ok()?;
    url.set_query(Some(&format!("api-version={SUBSCRIPTION_API}")));
    // Optional (the tenant defaults to `organizations`), so it gets five seconds, not thirty.
    let resp = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        http.send(Request::get(url)),
    )
    .await
    .ok()?
    .ok()?;
    let header = resp.headers.get("www-authenticate")?.to_str().ok()?;
    let uri = header
        .split("authorization_uri=\"")
        .nth(1)?
        .split('"')
        .next()?;
    let tenant = uri.trim_end_matches('/').rsplit('/').next()?;
    (!tenant.is_empty()
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.')))
    .then(|| tenant.to_owned())
}

/// What ARM says of a workspace, checked: the location is letters and digits only (it becomes
/// part of a host name) and the endpoint is one azq may send the workspace's token to.
#[derive(Debug, Clone)]
pub struct ArmWorkspace {
    /// Normalised (`West US` → `westus`).
    pub location: String,
    pub endpoint: Option<Url>,
}

/// A location as ARM spells it, normalised; a region azq does not know yet passes if it is
/// letters and digits, anything else (`example.com#`) does not.
fn checked_location(text: &str) -> Option<String> {
    normalize_location(text).ok()
}

/// Whether the endpoint ARM names may receive the workspace's token: an https host under
/// `quantum.azure.com` or, when ARM itself is on this machine (an emulator), this machine.
pub fn trusted_endpoint(arm: &Url, endpoint: &Url) -> bool {
    if is_loopback(arm) {
        return matches!(endpoint.scheme(), "http" | "https") && is_loopback(endpoint);
    }
    endpoint.scheme() == "https"
        && matches!(endpoint.host(), Some(url::Host::Domain(d))
            if d.to_ascii_lowercase().ends_with(".quantum.azure.com"))
}

/// Looks the workspace up; `credential` is a label for error messages.
pub async fn lookup(
    http: &Http,
    endpoints: &Endpoints,
    token: Secret,
    workspace: &WorkspaceRef,
    credential: &str,
) -> Result<ArmWorkspace, ClientError> {
    let mut url = endpoints
        .arm
        .join(workspace.path().trim_start_matches('/'))
        .map_err(|_| ClientError::InvalidEndpoint("the workspace path is not URL-safe".into()))?;
    url.set_query(Some(&format!("api-version={WORKSPACE_API}")));
    let resp = http
        .send(Request::get(url).secret(
            "authorization",
            Secret::new(format!("Bearer {}", token.expose())),
        ))
        .await?;
    match resp.status {
        200 => {}
        401 => {
            return Err(ClientError::AuthenticationFailed {
                credential: credential.into(),
                detail: "Azure Resource Manager refused its token".into(),
                hint: "Try `refresh` to sign in again, give location=… to skip the lookup, or use another credential=…".into(),
            });
        }
        403 => {
            let (_, message) = resp.error_parts();
            return Err(ClientError::AccessDenied {
                credential: credential.into(),
                action: format!("read workspace {}", workspace.name),
                detail: message,
            });
        }
        404 => {
            let (code, _) = resp.error_parts();
            let which = match code.as_deref() {
                Some("SubscriptionNotFound" | "InvalidSubscriptionId") => {
                    format!(
                        "subscription {} does not exist or is not yours",
                        workspace.subscription
                    )
                }
                Some("ResourceGroupNotFound") => format!(
                    "resource group {} is not in subscription {}",
                    workspace.resource_group, workspace.subscription
                ),
                _ => format!(
                    "there is no workspace {} in resource group {} of subscription {}",
                    workspace.name, workspace.resource_group, workspace.subscription
                ),
            };
            return Err(ClientError::WorkspaceNotFound(format!(
                "{which}; check the subscription, resourceGroup and workspace (as the Azure portal shows them)"
            )));
        }
        _ => return Err(resp.into_error()),
    }
    #[derive(serde::Deserialize)]
    struct Found {
        location: Option<String>,
        properties: Option<Props>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Props {
        endpoint_uri: Option<String>,
    }
    let found: Found = resp.json()?;
    let nowhere = |detail: &str| ClientError::NoWorkspaceLocation {
        workspace: workspace.name.clone(),
        detail: format!("Azure Resource Manager {detail}"),
    };
    let location = match found.location.filter(|l| !l.trim().is_empty()) {
        None => return Err(nowhere("did not say where it is")),
        Some(l) => checked_location(&l)
            .ok_or_else(|| nowhere("gave a location that is not a region name"))?,
    };
    let endpoint = match found.properties.and_then(|p| p.endpoint_uri) {
        None => None,
        Some(text) => {
            let url = Url::parse(text.trim())
                .ok()
                .filter(|u| u.host().is_some())
                .ok_or_else(|| nowhere("gave an endpointUri that is not a URL"))?;
            if !trusted_endpoint(&endpoints.arm, &url) {
                return Err(ClientError::InvalidEndpoint(format!(
                    "Azure Resource Manager names {} as the data plane of workspace {}, which is \
                     not an Azure Quantum host, so azq sends no token there; give endpoint=… \
                     if you trust it",
                    host_of(&url),
                    workspace.name
                )));
            }
            Some(url)
        }
    };
    Ok(ArmWorkspace { location, endpoint })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn only_azure_quantum_hosts_or_a_local_emulator_are_trusted() {
        let public = url("https://management.azure.com/");
        let local = url("http://127.0.0.1:9000/");
        for (arm, endpoint, trusted) in [
            (&public, "https://westus.quantum.azure.com/", true),
            (&public, "https://WestUS.Quantum.Azure.com:443/", true),
            (&public, "http://westus.quantum.azure.com/", false),
            (&public, "https://example.com#.quantum.azure.com/", false),
            (&public, "https://quantum.azure.com.example.com/", false),
            (&public, "https://x.quantum.azure.com@example.com/", false),
            (&public, "http://127.0.0.1:9000/", false),
            (&local, "http://127.0.0.1:9000/", true),
            (&local, "http://localhost:1/", true),
            (&local, "https://westus.quantum.azure.com/", false),
            (&local, "ftp://127.0.0.1/", false),
        ] {
            assert_eq!(trusted_endpoint(arm, &url(endpoint)), trusted, "{endpoint}");
        }
    }

    #[test]
    fn locations_are_letters_and_digits() {
        assert_eq!(checked_location("West US").as_deref(), Some("westus"));
        assert_eq!(
            checked_location("Mars North 2").as_deref(),
            Some("marsnorth2")
        );
        for bad in ["example.com#", "west/us", "a:1", "x@y", ""] {
            assert_eq!(checked_location(bad), None, "{bad}");
        }
    }
}
