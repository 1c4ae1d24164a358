//! `%azure.connect`: connects to a workspace (resource id, its three parts, a connection
//! string, or the embedded emulator) with any credential kind, or shows the connection.

use std::ops::Range;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use azq_client::{
    ConnectionString, CredentialKind, Endpoints, Env, Prompt, Secret, SignIn, Target, Workspace,
    WorkspaceRef, normalize_location, parse_resource_id, resource,
};

use super::render;
use super::session::{Connection, targets_max_age};
use crate::MagicError;
use crate::args::{Bound, closest};
use crate::bundle::Bundle;
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::output::{DisplayId, Output};
use crate::spec::{Example, MagicSpec, Param, Rule, ValueKind};
use crate::vars::Vars;

pub struct Connect;

const NAME: &str = "azure.connect";

const CREDENTIALS: &[&str] = &[
    "Default",
    "Environment",
    "ManagedIdentity",
    "WorkloadIdentity",
    "CLI",
    "DeviceCode",
    "TokenFile",
    "ApiKey",
    "AzureCli",
];

static SPEC: MagicSpec = MagicSpec {
    name: NAME,
    form: Form::Line,
    summary: "Connects to an Azure Quantum workspace, or shows the current connection.",
    usage: "%azure.connect [resourceId=ID | subscription=… resourceGroup=… workspace=… | connectionString=… | emulator] [location=…] [credential=…] [tenant=…] [storage=…] [endpoint=…] [refresh]",
    description: "Connects to the workspace named by its resource ID (the `resourceId=` key may be left out), \
        by subscription, resource group and workspace name, or by a connection string with an API key, and \
        lists its targets. `emulator` starts a local emulator of Azure Quantum with a demo workspace and \
        connects to it. Without `location`, azq asks Azure Resource Manager where the workspace is. Sign-in \
        tries, in order: a service principal from AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID, \
        workload identity, managed identity (on Azure hosts), the Azure CLI, a cached login, then a device-code \
        login, which is cached (in AZURE_QUANTUM_TOKEN_CACHE, else ~/.azure-quantum) so a restarted \
        kernel connects without a prompt; `refresh` signs in anew. Defaults come from \
        AZURE_QUANTUM_SUBSCRIPTION_ID, AZURE_QUANTUM_WORKSPACE_RG, AZURE_QUANTUM_WORKSPACE_NAME, \
        AZURE_QUANTUM_WORKSPACE_LOCATION and AZURE_QUANTUM_CONNECTION_STRING. Without arguments it shows the \
        current connection and does not sign in again. Arguments may continue on indented lines.",
    params: &[
        Param::positional(
            "resourceId",
            "the workspace's resource ID: /subscriptions/…/resourceGroups/…/providers/Microsoft.Quantum/Workspaces/… (`resourceId=` may be left out)",
        )
        .also_named(),
        Param::named("subscription", "subscription ID (a GUID)").of(ValueKind::Guid),
        Param::named("resourceGroup", "resource group name"),
        Param::named("workspace", "workspace name"),
        Param::named(
            "location",
            "the workspace's region, e.g. westus or \"West US\" (found through ARM when left out)",
        )
        .values(&[
            "westus",
            "eastus",
            "westeurope",
            "northeurope",
            "japaneast",
            "uksouth",
        ]),
        Param::named(
            "credential",
            "how to sign in: Default, Environment, ManagedIdentity, WorkloadIdentity, CLI, DeviceCode, TokenFile or ApiKey (any case)",
        )
        .of(ValueKind::OneOf(CREDENTIALS)),
        Param::named(
            "tenant",
            "the Entra ID tenant to sign in to (found from the subscription when left out)",
        )
        .of(ValueKind::Custom(check_tenant)),
        Param::named(
            "connectionString",
            "a workspace connection string with an API key (secret; also AZURE_QUANTUM_CONNECTION_STRING)",
        ),
        Param::named(
            "storage",
            "a storage account connection string, for workspaces without linked storage (secret)",
        )
        .of(ValueKind::Custom(check_storage)),
        Param::named(
            "endpoint",
            "the data-plane URL, for emulators and custom endpoints",
        ),
        Param::word(
            "refresh",
            "sign in anew with a device code, replacing the cached login",
        ),
        Param::word(
            "emulator",
            "start the embedded emulator with a demo workspace and connect to it",
        ),
    ],
    examples: &[
        Example {
            code: "%azure.connect resourceId=\"/subscriptions/f846b2bd-d0e2-4a1d-8141-4c6944a9d387/resourceGroups/RESOURCE_GROUP_NAME/providers/Microsoft.Quantum/Workspaces/WORKSPACE_NAME\"",
            says: "Connected to Azure Quantum workspace WORKSPACE_NAME in location westus, and its targets.",
        },
        Example {
            code: "%azure.connect subscription=\"SUBSCRIPTION_ID\"\n               resourceGroup=\"RESOURCE_GROUP_NAME\"\n               workspace=\"WORKSPACE_NAME\"\n               storage=\"STORAGE_ACCOUNT_CONNECTION_STRING\"",
            says: "The same by parts, with a storage account for a workspace that has none linked.",
        },
        Example {
            code: "%azure.connect refresh resourceId=\"/subscriptions/…/Workspaces/WORKSPACE_NAME\"",
            says: "Signs in anew with a device code (the cached login is replaced).",
        },
        Example {
            code: "%azure.connect emulator",
            says: "Starts the embedded emulator and connects to its demo workspace.",
        },
        Example {
            code: "%azure.connect",
            says: "Shows the current connection and targets.",
        },
    ],
    errors: &[
        "NotConnected",
        "WorkspaceNotFound",
        "NoWorkspaceLocation",
        "InvalidWorkspaceLocation",
        "AuthenticationFailed",
        "AccessDenied",
        "InvalidResourceId",
        "InvalidConnectionString",
        "InvalidEndpoint",
        "NetworkError",
        "ServiceError",
        "TokenCacheError",
        "ConflictingArguments",
        "UnknownArgument",
        "InvalidArgument",
        "SyntaxError",
    ],
    rules: &[
        Rule::Alone {
            a: "emulator",
            why: "`emulator` connects to its own demo workspace and signs in by itself",
        },
        Rule::Excludes {
            a: "connectionString",
            others: &[
                "resourceId",
                "subscription",
                "resourceGroup",
                "workspace",
                "location",
                "endpoint",
                "tenant",
            ],
            why: "a connection string names its workspace and endpoint",
        },
        Rule::Conflicts {
            a: "connectionString",
            b: "refresh",
            why: "a connection string signs in with its API key; `refresh` has nothing to renew",
        },
        Rule::Excludes {
            a: "resourceId",
            others: &["subscription", "resourceGroup", "workspace"],
            why: "the resource ID already names the subscription, resource group and workspace",
        },
    ],
    extra: false,
};

fn check_tenant(t: &str) -> Result<(), String> {
    let ok = t.len() <= 128
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
    ok.then_some(()).ok_or_else(|| {
        format!(
            "`{t}` is not a tenant; give its ID (a GUID) or its domain, like contoso.onmicrosoft.com"
        )
    })
}

/// A storage connection string by its fields (the message never repeats it: it holds a key).
fn check_storage(s: &str) -> Result<(), String> {
    let lower = s.to_ascii_lowercase();
    let ok = lower.contains("accountname=")
        && (lower.contains("accountkey=") || lower.contains("sharedaccesssignature="))
        || lower.contains("blobendpoint=");
    ok.then_some(()).ok_or_else(|| {
        "`storage` is not a storage connection string (DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…); copy it from the storage account's Access keys page".to_owned()
    })
}

/// Where the connection goes.
enum Place {
    Emulator,
    ConnectionString(Secret, Option<Range<usize>>),
    Workspace(WorkspaceRef),
}

/// `%azure.connect`'s arguments, checked.
struct Args {
    place: Place,
    location: Option<String>,
    endpoint: Option<url::Url>,
    credential: Option<CredentialKind>,
    tenant: Option<String>,
    storage: Option<Secret>,
    refresh: bool,
}

fn invalid(message: String, span: Option<Range<usize>>) -> MagicError {
    MagicError::InvalidArgument {
        magic: NAME.to_owned(),
        message,
        span,
    }
}

/// A client error about a value, with the caret on it.
fn at_value(span: Option<Range<usize>>) -> impl Fn(azq_client::ClientError) -> MagicError {
    move |e| MagicError::Azure {
        name: e.name(),
        message: e.to_string(),
        span: span.clone(),
    }
}

impl Args {
    /// What the declaration cannot say: a bare word's shape, checks that depend on the
    /// credential's value or the environment, and the values the client parses.
    fn bind(bound: &Bound, call: &Call<'_>, vars: &Vars) -> Result<Args, MagicError> {
        let given = |name: &str| bound.text(name).map(str::to_owned);
        if let Some((word, span)) = bound.positional(0)
            && !resource::looks_like_resource_id(word)
        {
            // A word with `=` or `;` may be a connection string: not repeated, it holds a key.
            let message = if word.contains(['=', ';']) {
                "a bare argument must be a resource ID (/subscriptions/…); give a connection \
                 string as connectionString=\"…\""
                    .to_owned()
            } else {
                match closest(word, ["refresh".to_owned(), "emulator".to_owned()]) {
                    Some(s) => format!("unexpected `{word}`; did you mean `{s}`?"),
                    None => format!(
                        "unexpected `{word}`; a bare argument must be a resource ID (/subscriptions/…)"
                    ),
                }
            };
            return Err(invalid(message, Some(span)));
        }
        let connection_string = given("connectionString");
        let credential = bound.text("credential").and_then(CredentialKind::parse);
        let conflict = |message: String, name: &str| MagicError::ConflictingArguments {
            magic: NAME.into(),
            message,
            span: bound
                .named(name)
                .map(|(_, s)| s)
                .or(bound.word_span(name))
                .expect("given"),
        };
        if let Some(kind) = credential
            && kind != CredentialKind::ApiKey
            && connection_string.is_some()
        {
            return Err(conflict(
                format!(
                    "a connection string signs in with its API key, not {}; drop `credential` or `connectionString`",
                    kind.name()
                ),
                "credential",
            ));
        }
        if let Some(kind) = credential
            && bound.flag("refresh")
            && !matches!(kind, CredentialKind::Default | CredentialKind::DeviceCode)
        {
            return Err(conflict(
                format!(
                    "`refresh` renews a device-code login, and credential={} has none; drop one",
                    kind.name()
                ),
                "refresh",
            ));
        }
        let endpoint = bound
            .text("endpoint")
            .map(|e| azq_client::endpoints::parse_base(e, "endpoint"))
            .transpose()
            .map_err(at_value(bound.value_span("endpoint")))?;
        let location = bound
            .text("location")
            .map(normalize_location)
            .transpose()
            .map_err(at_value(bound.value_span("location")))?;
        let env_cs = vars.get("AZURE_QUANTUM_CONNECTION_STRING");
        if credential == Some(CredentialKind::ApiKey)
            && connection_string.is_none()
            && env_cs.is_none()
        {
            return Err(invalid(
                "credential=ApiKey needs a connection string: give connectionString=… or set AZURE_QUANTUM_CONNECTION_STRING".into(),
                bound.named("credential").map(|(_, s)| s),
            ));
        }
        let parts = [
            ("subscription", "AZURE_QUANTUM_SUBSCRIPTION_ID"),
            ("resourceGroup", "AZURE_QUANTUM_WORKSPACE_RG"),
            ("workspace", "AZURE_QUANTUM_WORKSPACE_NAME"),
        ];
        let place = if bound.flag("emulator") {
            Place::Emulator
        } else if let Some(cs) = connection_string {
            Place::ConnectionString(Secret::new(cs), bound.value_span("connectionString"))
        } else if let Some(id) = bound.text("resourceId") {
            let written = bound.span("resourceId").expect("given");
            Place::Workspace(
                parse_resource_id(id).map_err(|e| resource_id_error(e, id, written, call))?,
            )
        } else if let Some(cs) = env_cs.filter(|_| {
            parts.iter().all(|(p, _)| bound.text(p).is_none())
                && credential.is_none_or(|k| k == CredentialKind::ApiKey)
        }) {
            Place::ConnectionString(Secret::new(cs), None)
        } else {
            let values: Vec<Option<String>> = parts
                .iter()
                .map(|(part, var)| {
                    given(part)
                        .or_else(|| vars.get(&format!("IQSHARP_{var}")))
                        .or_else(|| vars.get(var))
                })
                .collect();
            let missing: Vec<String> = parts
                .iter()
                .zip(&values)
                .filter(|(_, v)| v.is_none())
                .map(|((p, n), _)| format!("{p}=… (or {n})"))
                .collect();
            if missing.len() == 3 {
                return Err(MagicError::Azure {
                    name: "WorkspaceNotFound",
                    message: "say which workspace: resourceId=…, or subscription=… resourceGroup=… workspace=…, or connectionString=… (or AZURE_QUANTUM_CONNECTION_STRING), or `emulator` for a local one".into(),
                    span: None,
                });
            }
            if !missing.is_empty() {
                return Err(invalid(
                    format!(
                        "the workspace is not fully named: give {}",
                        missing.join(" and ")
                    ),
                    None,
                ));
            }
            let [subscription, resource_group, name] =
                <[Option<String>; 3]>::try_from(values).expect("three parts");
            let ws = WorkspaceRef {
                subscription: subscription.expect("checked"),
                resource_group: resource_group.expect("checked"),
                name: name.expect("checked"),
            };
            if let Err((part, rule)) = ws.check() {
                let value = match part {
                    "subscription" => &ws.subscription,
                    "resourceGroup" => &ws.resource_group,
                    _ => &ws.name,
                };
                return Err(invalid(
                    format!("`{value}` is {rule}"),
                    bound.value_span(part),
                ));
            }
            Place::Workspace(ws)
        };
        let location = match (&place, location) {
            (Place::Workspace(_), None) => vars
                .get("IQSHARP_AZURE_QUANTUM_WORKSPACE_LOCATION")
                .or_else(|| vars.get("AZURE_QUANTUM_WORKSPACE_LOCATION"))
                .map(|l| normalize_location(&l))
                .transpose()
                .map_err(|err| MagicError::Azure {
                    name: err.name(),
                    message: format!("AZURE_QUANTUM_WORKSPACE_LOCATION: {err}"),
                    span: None,
                })?,
            (_, l) => l,
        };
        Ok(Args {
            place,
            location,
            endpoint,
            credential,
            tenant: given("tenant"),
            storage: bound.text("storage").map(Secret::new),
            refresh: bound.flag("refresh"),
        })
    }
}

/// A resource id the client refused: the caret on the bad segment, up to the next `/`, where
/// the id is written as it reads; an id with escapes has other offsets in the cell: all of it.
fn resource_id_error(
    e: azq_client::ClientError,
    id: &str,
    written: Range<usize>,
    call: &Call<'_>,
) -> MagicError {
    let offset = match &e {
        azq_client::ClientError::InvalidResourceId { at, .. } => *at,
        _ => 0,
    };
    let verbatim = written
        .start
        .checked_sub(call.args_start)
        .and_then(|at| call.args.get(at..at + id.len()))
        == Some(id);
    let span = if verbatim {
        let end = id
            .get(offset..)
            .and_then(|rest| rest.find('/'))
            .map_or(id.len(), |i| offset + i)
            .max(offset + 1);
        written.start + offset..written.start + end
    } else {
        written
    };
    MagicError::Azure {
        name: e.name(),
        message: e.to_string(),
        span: Some(span),
    }
}

/// The device-code prompt: one display, made when a code is first shown and then updated
/// in place ("Signed in as …"). Connections that need no prompt show nothing extra.
pub(crate) struct CellPrompt<'a> {
    out: &'a mut dyn Output,
    display: Option<DisplayId>,
}

impl<'a> CellPrompt<'a> {
    pub(crate) fn new(out: &'a mut dyn Output) -> Self {
        CellPrompt { out, display: None }
    }

    fn show(&mut self, bundle: Bundle) {
        match &self.display {
            Some(id) => self.out.update(id, bundle),
            None => self.display = Some(self.out.display_updatable(bundle)),
        }
    }
}

impl Prompt for CellPrompt<'_> {
    fn device_code(&mut self, uri: &str, code: &str, expires_in: Duration) {
        self.show(render::device_code(uri, code, expires_in));
    }

    fn signed_in(&mut self, account: &str) {
        self.show(render::signed_in(account));
    }

    fn notice(&mut self, text: &str) {
        self.out
            .stream(crate::output::Stream::Stderr, &format!("{text}\n"));
    }
}

#[async_trait]
impl Magic for Connect {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    fn secret_spans(&self, call: &Call<'_>) -> Vec<Range<usize>> {
        // By shape, so that arguments which do not parse are covered too.
        crate::secrets::spans(call.args, call.args_start, &["connectionString", "storage"])
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&SPEC, call)?;
        if call.args.trim().is_empty() {
            return status(ctx).await;
        }
        let args = Args::bind(&bound, call, ctx.vars)?;
        let env = Env::from_map(ctx.vars.all());
        let http = ctx.azure.http(&env)?;
        let endpoints = Endpoints::from_env(&env).map_err(super::client_error)?;
        let mut emulator = None;
        let target =
            match args.place {
                Place::Emulator => {
                    let embedded = ctx.azure.embedded().await?;
                    emulator = Some((embedded.url.clone(), embedded.location.clone()));
                    Target::ConnectionString(
                        ConnectionString::parse(embedded.connection_string.expose())
                            .map_err(super::client_error)?,
                    )
                }
                Place::ConnectionString(text, span) => Target::ConnectionString(
                    ConnectionString::parse(text.expose()).map_err(|e| MagicError::Azure {
                        name: e.name(),
                        message: e.to_string(),
                        span,
                    })?,
                ),
                Place::Workspace(workspace) => Target::Workspace {
                    workspace,
                    location: args.location.clone(),
                    endpoint: args.endpoint,
                },
            };
        let sign_in = SignIn {
            kind: args.credential.unwrap_or(CredentialKind::Default),
            tenant: args.tenant,
            refresh: args.refresh,
            env,
            endpoints,
            http,
        };
        let mut prompt = CellPrompt::new(&mut *ctx.out);
        let connected = Workspace::connect(target, sign_in, &mut prompt).await;
        let (mut workspace, providers) = connected
            .map_err(|e| with_region_hint(super::client_error(e), args.location.as_deref()))?;
        if let Some((_, location)) = &emulator {
            workspace.location = Some(location.clone());
        }
        let connection = Connection {
            workspace,
            providers,
            fetched: Instant::now(),
            storage: args.storage,
            emulator: emulator.map(|(url, _)| url),
        };
        let shown = render::connection(&connection, Duration::ZERO);
        // The active target stays only if the workspace now connected offers it.
        if let Some(t) = &ctx.azure.target
            && connection.find_target(t).is_none()
        {
            ctx.azure.target = None;
        }
        // Sessions belong to their workspace: another one forgets them.
        let same = ctx.azure.connection.as_ref().is_some_and(|c| {
            c.workspace.workspace == connection.workspace.workspace
                && c.workspace.endpoint == connection.workspace.endpoint
        });
        if !same {
            ctx.azure.quantum.forget();
        }
        // Watches of another workspace stop; their rows say so.
        let now = &connection.workspace;
        ctx.azure.watcher.stop_where(
            |w| w.workspace == now.workspace && w.endpoint == now.endpoint,
            "connected to another workspace",
        );
        ctx.azure.connection = Some(connection);
        Ok(Some(shown))
    }
}

/// A workspace that could not be reached in a region azq does not know, when that region looks
/// like a typo of one it does: the error says which it may have meant.
fn with_region_hint(error: MagicError, location: Option<&str>) -> MagicError {
    match (error, location.and_then(azq_client::nearest_region)) {
        (
            MagicError::Azure {
                name,
                message,
                span,
            },
            Some(near),
        ) if matches!(name, "NetworkError" | "WorkspaceNotFound" | "ServiceError") => {
            let location = location.unwrap_or_default();
            MagicError::Azure {
                name,
                message: format!(
                    "{message}; `{location}` is not a region azq knows: did you mean `{near}`?"
                ),
                span,
            }
        }
        (error, _) => error,
    }
}

/// Bare `%azure.connect`: the connection as it stands, the targets fetched again only when
/// the list is older than five minutes.
async fn status(ctx: &mut Ctx<'_>) -> Result<Option<Bundle>, MagicError> {
    let Some(connection) = ctx.azure.connection.as_mut() else {
        return Err(MagicError::NotConnected);
    };
    let max_age = targets_max_age(ctx.vars.get("AZQ_TARGETS_MAX_AGE").as_deref())?;
    if connection.fetched.elapsed() >= max_age {
        let mut prompt = CellPrompt::new(&mut *ctx.out);
        let fetched = connection.workspace.provider_status(&mut prompt).await;
        connection.providers = fetched.map_err(super::client_error)?;
        connection.fetched = Instant::now();
    }
    Ok(Some(render::connection(
        connection,
        connection.fetched.elapsed(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable() -> MagicError {
        MagicError::Azure {
            name: "NetworkError",
            message: "westuss.quantum.azure.com could not be reached".into(),
            span: None,
        }
    }

    #[test]
    fn an_unreachable_typo_of_a_region_gets_did_you_mean() {
        let hinted = with_region_hint(unreachable(), Some("westuss"));
        assert!(
            hinted
                .message()
                .ends_with("; `westuss` is not a region azq knows: did you mean `westus`?"),
            "{}",
            hinted.message()
        );
        // A known region, no location, or another kind of error: left as it was.
        assert_eq!(
            with_region_hint(unreachable(), Some("westus")),
            unreachable()
        );
        assert_eq!(with_region_hint(unreachable(), None), unreachable());
        let signin = MagicError::Azure {
            name: "AuthenticationFailed",
            message: "no".into(),
            span: None,
        };
        assert_eq!(with_region_hint(signin.clone(), Some("westuss")), signin);
    }
}
