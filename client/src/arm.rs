//! Azure Resource Manager: which tenant a subscription belongs to (from the 401 an anonymous
//! request gets), and where a workspace lives (its location and data-plane endpoint).

use url::Url;

use crate::endpoints::Endpoints;
use crate::error::ClientError;
use crate::http::{Http, Request};
use crate::resource::WorkspaceRef;
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

/// What ARM says of a workspace.
#[derive(Debug, Clone)]
pub struct ArmWorkspace {
    pub location: String,
    pub endpoint: Option<Url>,
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
    let location = found.location.filter(|l| !l.is_empty()).ok_or_else(|| {
        ClientError::NoWorkspaceLocation {
            workspace: workspace.name.clone(),
            detail: "Azure Resource Manager did not say where it is".into(),
        }
    })?;
    let endpoint = found
        .properties
        .and_then(|p| p.endpoint_uri)
        .and_then(|u| Url::parse(&u).ok());
    Ok(ArmWorkspace { location, endpoint })
}
