//! A connected workspace: how it was reached (API key or a credential), where its data plane
//! is, and the calls on it. `connect` does the whole connection: sign-in, the ARM lookup when
//! the location is not given, and a first call that proves the credential works.

use std::sync::Arc;

use url::Url;

use crate::arm;
use crate::connstr::{ConnectionString, location_of_endpoint};
use crate::credential::{Credential, CredentialKind, Prompt, SignIn};
use crate::endpoints::{ARM_SCOPE, Endpoints, QUANTUM_SCOPE};
use crate::error::ClientError;
use crate::http::{Http, Request, host_of, is_loopback};
use crate::models::{Page, ProviderStatus};
use crate::resource::WorkspaceRef;
use crate::secret::Secret;

/// The data-plane api-version azq speaks (what the official SDK sends).
pub const API_VERSION: &str = "2026-01-15-preview";
/// At most this many pages are followed in one listing (a loop guard).
pub(crate) const MAX_PAGES: usize = 1000;
/// The pages after the first (which may wait for a sign-in) take at most this long in all.
pub(crate) const LISTING_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// How requests are signed.
#[derive(Clone)]
pub enum Auth {
    ApiKey(Secret),
    Credential(Arc<Credential>),
}

/// Where to connect.
#[derive(Debug, Clone)]
pub enum Target {
    ConnectionString(ConnectionString),
    Workspace {
        workspace: WorkspaceRef,
        /// Normalised already.
        location: Option<String>,
        endpoint: Option<Url>,
    },
}

#[derive(Clone)]
pub struct Workspace {
    pub workspace: WorkspaceRef,
    pub location: Option<String>,
    /// The data plane's base URL (ends in `/`).
    pub endpoint: Url,
    auth: Auth,
    pub(crate) http: Http,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("workspace", &self.workspace)
            .field("location", &self.location)
            .field("endpoint", &self.endpoint.as_str())
            .field("credential", &self.credential_kind())
            .finish()
    }
}

impl Workspace {
    /// Connects: signs in (with `sign_in` unless the target carries an API key), finds the
    /// endpoint, and lists provider status once, which is returned with the workspace.
    pub async fn connect(
        target: Target,
        sign_in: SignIn,
        prompt: &mut dyn Prompt,
    ) -> Result<(Workspace, Vec<ProviderStatus>), ClientError> {
        let http = sign_in.http.clone();
        let endpoints: Endpoints = sign_in.endpoints.clone();
        let ws = match target {
            Target::ConnectionString(cs) => Workspace {
                location: cs.location(),
                workspace: cs.workspace,
                endpoint: base(cs.endpoint),
                auth: Auth::ApiKey(cs.api_key),
                http,
            },
            Target::Workspace {
                workspace,
                location,
                endpoint,
            } => {
                let mut sign_in = sign_in;
                if sign_in.tenant.is_none()
                    && matches!(
                        sign_in.kind,
                        CredentialKind::Default | CredentialKind::DeviceCode
                    )
                    && asks_arm_for_tenant(&endpoints.arm, endpoint.as_ref())
                {
                    sign_in.tenant =
                        arm::discover_tenant(&http, &endpoints, &workspace.subscription).await;
                }
                let credential = Arc::new(Credential::new(sign_in)?);
                let (location, endpoint) = match (location, endpoint) {
                    (location, Some(endpoint)) => (
                        location.or_else(|| location_of_endpoint(&endpoint)),
                        endpoint,
                    ),
                    (Some(location), None) => {
                        let endpoint = regional(&location, &workspace.name)?;
                        (Some(location), endpoint)
                    }
                    (None, None) => {
                        let token = credential.token(ARM_SCOPE, prompt).await?;
                        let label = credential.kind().label();
                        let found =
                            arm::lookup(&http, &endpoints, token, &workspace, label).await?;
                        let endpoint = match found.endpoint {
                            Some(e) => e,
                            // An ARM on this machine is an emulator: its workspaces are too.
                            None if is_loopback(&endpoints.arm) => {
                                return Err(ClientError::NoWorkspaceLocation {
                                    workspace: workspace.name,
                                    detail: "the Resource Manager on this machine gave no \
                                             endpointUri"
                                        .into(),
                                });
                            }
                            None => regional(&found.location, &workspace.name)?,
                        };
                        (Some(found.location), endpoint)
                    }
                };
                Workspace {
                    workspace,
                    location,
                    endpoint: base(endpoint),
                    auth: Auth::Credential(credential),
                    http,
                }
            }
        };
        let providers = ws.provider_status(prompt).await?;
        Ok((ws, providers))
    }

    /// The kind of credential that signed in (for a chain, the member that worked).
    pub fn credential_kind(&self) -> CredentialKind {
        match &self.auth {
            Auth::ApiKey(_) => CredentialKind::ApiKey,
            Auth::Credential(c) => c.kind(),
        }
    }

    /// The URL of `path` under the workspace, with the api-version.
    pub fn url(&self, path: &str) -> Result<Url, ClientError> {
        let mut url = self
            .endpoint
            .join(&format!(
                "{}/{path}",
                self.workspace.path().trim_start_matches('/')
            ))
            .map_err(|_| {
                ClientError::InvalidEndpoint(format!(
                    "{} cannot hold the path of workspace {}",
                    host_of(&self.endpoint),
                    self.workspace.name
                ))
            })?;
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        Ok(url)
    }

    /// The URL of one item, `{collection}/{id}{suffix}` under the workspace, with the id as
    /// one escaped path segment (so an id cannot reach another path).
    pub(crate) fn item_url(
        &self,
        collection: &str,
        id: &str,
        suffix: &str,
    ) -> Result<Url, ClientError> {
        let mut url = self.url(collection)?;
        url.path_segments_mut()
            .map_err(|_| ClientError::InvalidEndpoint("the endpoint cannot hold a path".into()))?
            .push(&format!("{id}{suffix}"));
        Ok(url)
    }

    /// Signs a request for the data plane.
    async fn sign(&self, req: Request, prompt: &mut dyn Prompt) -> Result<Request, ClientError> {
        Ok(match &self.auth {
            Auth::ApiKey(key) => req.secret("x-ms-quantum-api-key", key.clone()),
            Auth::Credential(c) => {
                let token = c.token(QUANTUM_SCOPE, prompt).await?;
                req.secret(
                    "authorization",
                    Secret::new(format!("Bearer {}", token.expose())),
                )
            }
        })
    }

    /// Sends a signed request; maps 401/403/404 to errors that say what to do.
    pub async fn call(
        &self,
        req: Request,
        prompt: &mut dyn Prompt,
        what: &str,
    ) -> Result<crate::http::Response, ClientError> {
        self.call_on(req, prompt, what, false).await
    }

    /// [`Workspace::call`]; for a request about one item (`item`), a 404 is the workspace's
    /// only when its code names the workspace, and is otherwise left to the caller.
    pub(crate) async fn call_on(
        &self,
        req: Request,
        prompt: &mut dyn Prompt,
        what: &str,
        item: bool,
    ) -> Result<crate::http::Response, ClientError> {
        let req = self.sign(req, prompt).await?;
        let resp = self.http.send(req).await?;
        match resp.status {
            401 => {
                let (credential, hint) = match &self.auth {
                    Auth::ApiKey(_) => (
                        CredentialKind::ApiKey.label(),
                        "Copy the connection string again from the workspace's Keys page (keys can be regenerated), or sign in with credential=…",
                    ),
                    Auth::Credential(c) => {
                        c.forget().await;
                        (
                            c.kind().label(),
                            "Run %azure.connect again with `refresh` to sign in anew, or use another credential=…",
                        )
                    }
                };
                Err(ClientError::AuthenticationFailed {
                    credential: credential.into(),
                    detail: format!("{} refused it (401)", resp.host),
                    hint: hint.into(),
                })
            }
            403 => {
                let (_, message) = resp.error_parts();
                Err(ClientError::AccessDenied {
                    credential: self.credential_kind().label().into(),
                    action: what.into(),
                    detail: if message.is_empty() {
                        "403 Forbidden".into()
                    } else {
                        message
                    },
                })
            }
            404 if resp.error_parts().0.as_deref().map_or(!item, |c| {
                c.contains("Workspace") || (!item && (c == "ResourceNotFound" || c == "NotFound"))
            }) =>
            {
                Err(ClientError::WorkspaceNotFound(format!(
                    "{} has no workspace {} in resource group {} of subscription {}; check the subscription, resourceGroup, workspace and location (or endpoint)",
                    resp.host,
                    self.workspace.name,
                    self.workspace.resource_group,
                    self.workspace.subscription
                )))
            }
            _ => Ok(resp),
        }
    }

    /// Every provider and its targets, following `nextLink`s on the same host.
    pub async fn provider_status(
        &self,
        prompt: &mut dyn Prompt,
    ) -> Result<Vec<ProviderStatus>, ClientError> {
        self.all_pages(
            "providerStatus",
            prompt,
            "list the workspace's targets",
            "targets",
        )
        .await
    }

    /// Every item of a listing, following `nextLink`s on the same host.
    pub(crate) async fn all_pages<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        prompt: &mut dyn Prompt,
        what: &str,
        items: &str,
    ) -> Result<Vec<T>, ClientError> {
        let mut url = self.url(path)?;
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut first_done: Option<std::time::Instant> = None;
        for _ in 0..MAX_PAGES {
            if first_done.is_some_and(|t| t.elapsed() > LISTING_DEADLINE) {
                return Err(listing_stopped(
                    &url,
                    format!(
                        "its listing of {items} took over {} s; try again",
                        LISTING_DEADLINE.as_secs()
                    ),
                ));
            }
            let resp = self.call(Request::get(url.clone()), prompt, what).await?;
            if !resp.is_success() {
                return Err(resp.into_error());
            }
            let page: Page<T> = resp.json()?;
            all.extend(page.value);
            first_done.get_or_insert_with(std::time::Instant::now);
            match self.next_page_url(&url, page.next_link, &mut seen)? {
                None => return Ok(all),
                Some(next) => url = next,
            }
        }
        Err(listing_stopped(
            &url,
            format!("the listing did not end after {MAX_PAGES} pages"),
        ))
    }

    /// The next page's URL from a `nextLink`: on the same host and scheme (credentials go
    /// nowhere else), never a page already read.
    pub(crate) fn next_page_url(
        &self,
        url: &Url,
        next: Option<String>,
        seen: &mut std::collections::HashSet<String>,
    ) -> Result<Option<Url>, ClientError> {
        let Some(next) = next.filter(|l| !l.is_empty()) else {
            return Ok(None);
        };
        let next = url
            .join(&next)
            .map_err(|_| listing_stopped(url, "its nextLink is not a URL".into()))?;
        if host_of(&next) != host_of(&self.endpoint) || next.scheme() != url.scheme() {
            return Err(listing_stopped(
                url,
                format!(
                    "its nextLink points to another host ({}); azq does not send credentials there",
                    host_of(&next)
                ),
            ));
        }
        if !seen.insert(next.to_string()) {
            return Err(listing_stopped(
                url,
                "its nextLink points back to a page already read".into(),
            ));
        }
        Ok(Some(next))
    }
}

/// A listing that cannot go on.
pub(crate) fn listing_stopped(url: &Url, message: String) -> ClientError {
    ClientError::ServiceError {
        host: host_of(url),
        status: 200,
        code: None,
        message,
    }
}

/// `https://<location>.quantum.azure.com/`; the location is normalised already, so letters and
/// digits, but it is checked again because it becomes a host name.
fn regional(location: &str, workspace: &str) -> Result<Url, ClientError> {
    let bad = || ClientError::NoWorkspaceLocation {
        workspace: workspace.to_owned(),
        detail: "the location is not a region name".into(),
    };
    if location.is_empty() || !location.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad());
    }
    Url::parse(&format!("https://{location}.quantum.azure.com/")).map_err(|_| bad())
}

/// Whether to ask ARM which tenant the subscription is in (for a sign-in that needs one): yes
/// unless a given endpoint and ARM are on different sides of this machine; an emulator's
/// subscription id has no business reaching management.azure.com, and no lookup will follow.
fn asks_arm_for_tenant(arm: &Url, endpoint: Option<&Url>) -> bool {
    endpoint.is_none_or(|e| is_loopback(e) == is_loopback(arm))
}

/// A base URL ends in `/` so that joins keep its path.
fn base(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    url.set_query(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenant_is_asked_of_arm_only_beside_the_data_plane() {
        let public = Url::parse("https://management.azure.com/").unwrap();
        let local = Url::parse("http://127.0.0.1:1/").unwrap();
        let emulator = Url::parse("http://127.0.0.1:2/").unwrap();
        let azure = Url::parse("https://westus.quantum.azure.com/").unwrap();
        // No endpoint given: ARM is asked where the workspace is, or the location makes one.
        assert!(asks_arm_for_tenant(&public, None));
        assert!(asks_arm_for_tenant(&public, Some(&azure)));
        assert!(!asks_arm_for_tenant(&public, Some(&emulator)));
        assert!(asks_arm_for_tenant(&local, Some(&emulator)));
        assert!(!asks_arm_for_tenant(&local, Some(&azure)));
    }

    #[test]
    fn regional_urls_come_only_from_region_names() {
        assert_eq!(
            regional("westus", "ws").unwrap().as_str(),
            "https://westus.quantum.azure.com/"
        );
        for bad in ["", "example.com#", "a/b"] {
            assert_eq!(
                regional(bad, "ws").unwrap_err().name(),
                "NoWorkspaceLocation"
            );
        }
    }
}
