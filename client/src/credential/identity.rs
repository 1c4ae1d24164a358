//! The credentials the `azure_identity` crate provides (service principal, workload identity,
//! managed identity, Azure CLI), wired to azq's HTTP client and bounded in time: the crate has
//! no timeout of its own, cannot move the VM identity endpoint and refuses plain-http
//! authorities, so azq's transport moves IMDS to AZURE_POD_IDENTITY_AUTHORITY_HOST and speaks
//! plain http to a loopback authority (an emulator) that the crate is told is https.

use std::ffi::OsStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::{
    AsyncRawResponse, ClientOptions, ExponentialRetryOptions, HttpClient, Request, RetryOptions,
    Transport,
};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, Executor, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use url::Url;

use super::{AccessToken, CredentialKind, Prompt, SignIn, TokenSource, epoch};
use crate::env::Env;
use crate::error::ClientError;
use crate::http::DEADLINE;
use crate::secret::Secret;

const IMDS: &str = "http://169.254.169.254/";
/// The asset tag every Azure VM carries in its DMI data: evidence that IMDS exists.
const AZURE_ASSET_TAG: &str = "7783-7084-3265-9085";
/// The variables from which the identity crate chooses a managed-identity form.
const MANAGED_IDENTITY_VARS: [&str; 6] = [
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
];
const CLI_TIMEOUT: Duration = Duration::from_secs(10);

/// azq's transport under the identity crate: rewrites, a refusal, then reqwest.
#[derive(Debug)]
struct Rewriting {
    client: reqwest::Client,
    /// URL prefixes replaced before sending.
    rewrites: Vec<(String, String)>,
    /// Whether the real IMDS address may be called (only with evidence or when asked for).
    imds_allowed: bool,
}

#[async_trait]
impl HttpClient for Rewriting {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let url = request.url().as_str();
        for (from, to) in &self.rewrites {
            if let Some(rest) = url.strip_prefix(from.as_str()) {
                let mut moved = request.clone();
                *moved.url_mut() = Url::parse(&format!("{to}{rest}"))?;
                return self.client.execute_request(&moved).await;
            }
        }
        if url.starts_with(IMDS) && !self.imds_allowed {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Io,
                "azq does not call the VM identity endpoint without a sign of Azure",
            ));
        }
        self.client.execute_request(request).await
    }
}

/// Client options for the identity crate: azq's transport, a short retry, the authority.
fn options(s: &SignIn, imds_allowed: bool) -> ClientOptions {
    let mut rewrites = Vec::new();
    let mut authority = s.endpoints.authority.clone();
    if authority.scheme() == "http" {
        // Loopback only (checked when the endpoints were read): tell the crate https, send http.
        let plain = authority.to_string();
        authority.set_scheme("https").expect("http → https");
        rewrites.push((authority.to_string(), plain));
    }
    if let Some(pod) = &s.endpoints.pod_identity {
        rewrites.push((IMDS.to_owned(), pod.to_string()));
    }
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = authority.to_string().trim_end_matches('/').to_owned();
    ClientOptions {
        transport: Some(Transport::new(Arc::new(Rewriting {
            client: s.http.reqwest().clone(),
            rewrites,
            imds_allowed: imds_allowed || s.endpoints.pod_identity.is_some(),
        }))),
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        // A few quick retries: a certificate or a refused connection will not heal in 60 s,
        // and the error should reach the user while it still says what went wrong.
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(200),
            max_retries: 2,
            max_total_elapsed: azure_core::time::Duration::seconds(10),
            max_delay: azure_core::time::Duration::seconds(2),
        }),
        ..ClientOptions::default()
    }
}

struct Identity {
    kind: CredentialKind,
    credential: Arc<dyn TokenCredential>,
}

#[async_trait]
impl TokenSource for Identity {
    fn kind(&self) -> CredentialKind {
        self.kind
    }

    async fn token(&self, scope: &str, _: &mut dyn Prompt) -> Result<AccessToken, ClientError> {
        let fail = |detail: String, hint: String| ClientError::AuthenticationFailed {
            credential: self.kind.label().into(),
            detail,
            hint,
        };
        match tokio::time::timeout(DEADLINE, self.credential.get_token(&[scope], None)).await {
            Err(_) => Err(fail(
                format!("no answer within {} s", DEADLINE.as_secs()),
                hint(self.kind).into(),
            )),
            Ok(Err(e)) => Err(match crate::http::proxy_refusal(&e) {
                // The proxy, not the credential, is what to fix.
                Some(refusal) => fail(
                    format!(
                        "{}: the proxy in HTTPS_PROXY would not connect to the sign-in host ({refusal})",
                        clean(&e.to_string())
                    ),
                    crate::http::PROXY_HINT.into(),
                ),
                None => fail(describe(&e), hint(self.kind).into()),
            }),
            Ok(Ok(t)) => Ok(AccessToken {
                token: Secret::new(t.token.secret()),
                expires_at: epoch(t.expires_on.unix_timestamp()),
            }),
        }
    }
}

fn hint(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::Environment => {
            "Check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or use another credential=…"
        }
        CredentialKind::WorkloadIdentity => {
            "Check AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID (set by the AKS webhook)"
        }
        CredentialKind::ManagedIdentity => {
            "Check that this machine has a managed identity with a role on the workspace, or use another credential=…"
        }
        CredentialKind::Cli => "Run `az login` in a terminal, or use another credential=…",
        _ => "Use another credential=…",
    }
}

/// The crate's message and, when it wraps one, the root cause (a refused connection, an
/// untrusted certificate), which is what says what to do.
fn describe(e: &azure_core::Error) -> String {
    let top = clean(&e.to_string());
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    let cause = clean(&root.to_string());
    if cause.to_ascii_lowercase().contains("certificate") {
        return format!(
            "{top}: the server's TLS certificate is not trusted ({cause}); if a proxy or an \
             emulator signs it, point SSL_CERT_FILE at its CA certificate"
        );
    }
    if std::ptr::addr_eq(root, e as &dyn std::error::Error) || top.contains(&cause) {
        top
    } else {
        format!("{top}: {cause}")
    }
}

/// The crate's message, first line only and without its troubleshooting link.
fn clean(message: &str) -> String {
    let text = message
        .split("To troubleshoot")
        .next()
        .unwrap_or(message)
        .trim();
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("failed");
    let mut out: String = line.chars().take(300).collect();
    if out.ends_with('.') {
        out.pop();
    }
    out
}

fn need<'a>(env: &'a Env, name: &str) -> Result<&'a str, String> {
    env.get(name).ok_or_else(|| format!("{name} is not set"))
}

fn wrap(
    kind: CredentialKind,
    made: azure_core::Result<Arc<impl TokenCredential + 'static>>,
) -> Result<Box<dyn TokenSource>, String> {
    let credential: Arc<dyn TokenCredential> = made.map_err(|e| clean(&e.to_string()))?;
    Ok(Box::new(Identity { kind, credential }))
}

/// A service principal from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.
pub fn environment(s: &SignIn) -> Result<Box<dyn TokenSource>, String> {
    let client = need(&s.env, "AZURE_CLIENT_ID")?;
    let secret = need(&s.env, "AZURE_CLIENT_SECRET")?;
    let tenant = match &s.tenant {
        Some(t) => t.as_str(),
        None => need(&s.env, "AZURE_TENANT_ID")?,
    };
    let o = ClientSecretCredentialOptions {
        client_options: options(s, false),
    };
    wrap(
        CredentialKind::Environment,
        ClientSecretCredential::new(
            tenant,
            client.to_owned(),
            azure_core::credentials::Secret::new(secret.to_owned()),
            Some(o),
        ),
    )
}

/// Workload identity: a federated token file (AKS), re-read as it rotates.
pub fn workload(s: &SignIn) -> Result<Box<dyn TokenSource>, String> {
    let file = need(&s.env, "AZURE_FEDERATED_TOKEN_FILE")?;
    let client = need(&s.env, "AZURE_CLIENT_ID")?;
    let tenant = match &s.tenant {
        Some(t) => t.clone(),
        None => need(&s.env, "AZURE_TENANT_ID")?.to_owned(),
    };
    if !std::path::Path::new(file).is_file() {
        return Err(format!(
            "AZURE_FEDERATED_TOKEN_FILE names {file}, which is not a file"
        ));
    }
    let o = WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions {
            client_options: options(s, false),
        },
        client_id: Some(client.to_owned()),
        tenant_id: Some(tenant),
        token_file_path: Some(file.into()),
        ..Default::default()
    };
    wrap(
        CredentialKind::WorkloadIdentity,
        WorkloadIdentityCredential::new(Some(o)),
    )
}

/// Managed identity: App Service (IDENTITY_ENDPOINT) or VM (IMDS, moved by
/// AZURE_POD_IDENTITY_AUTHORITY_HOST). In the default chain only where there is evidence of
/// Azure, so a laptop never waits on an address that is not there.
pub fn managed(s: &SignIn, explicit: bool) -> Result<Box<dyn TokenSource>, String> {
    // The crate picks its form (App Service, Arc, Cloud Shell, VM…) from the process's own
    // environment and cannot be handed another, so a session whose %env changed one of these
    // would silently get a different form (perhaps the VM address) than the one it asked for.
    let process = Env::process();
    let changed: Vec<&str> = MANAGED_IDENTITY_VARS
        .into_iter()
        .filter(|name| s.env.get(name) != process.get(name))
        .collect();
    if !changed.is_empty() {
        return Err(format!(
            "{} changed with %env; the managed identity reads {} from the kernel's own \
             environment: set {} before starting Jupyter",
            changed.join(", "),
            if changed.len() == 1 { "it" } else { "them" },
            if changed.len() == 1 { "it" } else { "them" },
        ));
    }
    if s.env.get("IDENTITY_ENDPOINT").is_some()
        && s.env.get("IDENTITY_HEADER").is_none()
        && s.env.get("IMDS_ENDPOINT").is_none()
    {
        // The crate would take this for a VM and call the VM address instead.
        return Err(
            "IDENTITY_ENDPOINT is set without IDENTITY_HEADER (App Service sets both) or \
             IMDS_ENDPOINT (Azure Arc); set the missing one or unset IDENTITY_ENDPOINT"
                .into(),
        );
    }
    let on_vm = on_azure_vm();
    let evidence = s.env.get("IDENTITY_ENDPOINT").is_some()
        || s.env.get("MSI_ENDPOINT").is_some()
        || s.endpoints.pod_identity.is_some()
        || on_vm;
    if !explicit && !evidence {
        return Err(
            "no sign of an Azure host (IDENTITY_ENDPOINT, AZURE_POD_IDENTITY_AUTHORITY_HOST or an Azure VM)"
                .into(),
        );
    }
    let o = ManagedIdentityCredentialOptions {
        // The VM address only on a VM or when asked for; the other forms name their own.
        client_options: options(s, explicit || on_vm),
        ..Default::default()
    };
    wrap(
        CredentialKind::ManagedIdentity,
        ManagedIdentityCredential::new(Some(o)),
    )
}

fn on_azure_vm() -> bool {
    std::fs::read_to_string("/sys/class/dmi/id/chassis_asset_tag")
        .is_ok_and(|tag| tag.trim() == AZURE_ASSET_TAG)
}

/// Runs `az` with the session's environment, never longer than ten seconds.
#[derive(Debug)]
struct Az {
    env: Env,
}

#[async_trait]
impl Executor for Az {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> std::io::Result<std::process::Output> {
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .env_clear()
            .envs(self.env.iter())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        tokio::time::timeout(CLI_TIMEOUT, command.output())
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "az did not answer within 10 s",
                )
            })?
    }
}

/// The Azure CLI's login (`az account get-access-token`).
pub fn cli(s: &SignIn) -> Result<Box<dyn TokenSource>, String> {
    let on_path = s
        .env
        .get("PATH")
        .is_some_and(|path| std::env::split_paths(path).any(|dir| dir.join("az").is_file()));
    if !on_path {
        return Err("az is not on PATH".into());
    }
    let o = AzureCliCredentialOptions {
        tenant_id: s.tenant.clone(),
        executor: Some(Arc::new(Az { env: s.env.clone() })),
        ..Default::default()
    };
    wrap(CredentialKind::Cli, AzureCliCredential::new(Some(o)))
}
