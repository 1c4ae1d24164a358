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
use crate::spec::{Example, MagicSpec, Param, ParamKind};
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
        Param {
            name: "resourceId",
            kind: ParamKind::Named,
            help: "the workspace's resource ID: /subscriptions/…/resourceGroups/…/providers/Microsoft.Quantum/Workspaces/…",
            values: &[],
        },
        Param {
            name: "RESOURCE_ID",
            kind: ParamKind::Positional,
            help: "the same, without `resourceId=`",
            values: &[],
        },
        Param {
            name: "subscription",
            kind: ParamKind::Named,
            help: "subscription ID (a GUID)",
            values: &[],
        },
        Param {
            name: "resourceGroup",
            kind: ParamKind::Named,
            help: "resource group name",
            values: &[],
        },
        Param {
            name: "workspace",
            kind: ParamKind::Named,
            help: "workspace name",
            values: &[],
        },
        Param {
            name: "location",
            kind: ParamKind::Named,
            help: "the workspace's region, e.g. westus or \"West US\" (found through ARM when left out)",
            values: &[
                "westus",
                "eastus",
                "westeurope",
                "northeurope",
                "japaneast",
                "uksouth",
            ],
        },
        Param {
            name: "credential",
            kind: ParamKind::Named,
            help: "how to sign in: Default, Environment, ManagedIdentity, WorkloadIdentity, CLI, DeviceCode, TokenFile or ApiKey (any case)",
            values: CREDENTIALS,
        },
        Param {
            name: "tenant",
            kind: ParamKind::Named,
            help: "the Entra ID tenant to sign in to (found from the subscription when left out)",
            values: &[],
        },
        Param {
            name: "connectionString",
            kind: ParamKind::Named,
            help: "a workspace connection string with an API key (secret; also AZURE_QUANTUM_CONNECTION_STRING)",
            values: &[],
        },
        Param {
            name: "storage",
            kind: ParamKind::Named,
            help: "a storage account connection string, for workspaces without linked storage (secret)",
            values: &[],
        },
        Param {
            name: "endpoint",
            kind: ParamKind::Named,
            help: "the data-plane URL, for emulators and custom endpoints",
            values: &[],
        },
        Param {
            name: "refresh",
            kind: ParamKind::Word,
            help: "sign in anew with a device code, replacing the cached login",
            values: &[],
        },
        Param {
            name: "emulator",
            kind: ParamKind::Word,
            help: "start the embedded emulator with a demo workspace and connect to it",
            values: &[],
        },
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
};

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

/// Where a value is written, inside its quotes if it has them.
fn inner(call: &Call<'_>, span: Range<usize>) -> Range<usize> {
    let quoted = span
        .start
        .checked_sub(call.args_start)
        .and_then(|at| call.args.get(at..))
        .is_some_and(|t| t.starts_with(['"', '\'']));
    let q = usize::from(quoted);
    span.start + q..(span.end - q).max(span.start + q)
}

impl Args {
    fn bind(bound: &Bound, call: &Call<'_>, vars: &Vars) -> Result<Args, MagicError> {
        let get = |name: &str| bound.named(name).map(|(v, _)| v.to_owned());
        let span_of = |name: &str| bound.named(name).map(|(_, s)| s);
        let emulator = bound.flag("emulator");
        let refresh = bound.flag("refresh");
        for (name, span) in bound.named_spans() {
            if bound.named(name).is_some_and(|(v, _)| v.trim().is_empty()) {
                return Err(invalid(
                    format!("`{name}` is empty; give it a value or leave it out"),
                    Some(span),
                ));
            }
        }
        // The resource id: `resourceId=` or a bare one.
        let positional = bound.positional(0);
        if let Some((word, span)) = &positional
            && !resource::looks_like_resource_id(word)
        {
            // A word with `=` or `;` may be a connection string: not repeated, it holds a key.
            let message = if word.contains(['=', ';']) {
                "a bare argument must be a resource ID (/subscriptions/…); give a connection \
                 string as connectionString=\"…\""
                    .to_owned()
            } else {
                let suggestion = closest(word, ["refresh".to_owned(), "emulator".to_owned()]);
                format!(
                    "unexpected `{word}`{}",
                    suggestion.map_or_else(
                        || "; a bare argument must be a resource ID (/subscriptions/…)".to_owned(),
                        |s| format!("; did you mean `{s}`?")
                    )
                )
            };
            return Err(invalid(message, Some(span.clone())));
        }
        let resource_id = match (bound.named("resourceId"), positional) {
            (Some(_), Some((_, span))) => {
                return Err(MagicError::ConflictingArguments {
                    magic: NAME.into(),
                    message: "two resource IDs are given; keep one".into(),
                    span,
                });
            }
            (Some((v, _)), None) => {
                let span = bound.value_span("resourceId").expect("named");
                Some((v.to_owned(), inner(call, span)))
            }
            (None, Some((v, span))) => Some((v.to_owned(), inner(call, span))),
            (None, None) => None,
        };
        let conflict = |message: String, span: Range<usize>| MagicError::ConflictingArguments {
            magic: NAME.into(),
            message,
            span,
        };
        let parts = ["subscription", "resourceGroup", "workspace"];
        // `emulator` starts its own workspace: nothing else may say where or how.
        if let Some(emu_span) = bound.word_span("emulator").filter(|_| emulator) {
            let others: Vec<(&str, Range<usize>)> = bound
                .named_spans()
                .chain(bound.positional(0).map(|(_, s)| ("resourceId", s)))
                .chain(bound.word_span("refresh").map(|s| ("refresh", s)))
                .collect();
            if let Some((name, span)) = others.into_iter().next() {
                let span = if span.start > emu_span.start {
                    span
                } else {
                    emu_span
                };
                return Err(conflict(
                    format!(
                        "`emulator` connects to its own demo workspace and signs in by itself; drop `{name}`"
                    ),
                    span,
                ));
            }
        }
        let connection_string = get("connectionString");
        if connection_string.is_some() {
            for other in [
                "resourceId",
                "subscription",
                "resourceGroup",
                "workspace",
                "location",
                "endpoint",
                "tenant",
            ] {
                if let Some(span) = span_of(other) {
                    return Err(conflict(
                        format!(
                            "a connection string names its workspace and endpoint; drop `{other}` or `connectionString`"
                        ),
                        span,
                    ));
                }
            }
            if let Some((_, span)) = bound.positional(0) {
                return Err(conflict("a connection string names its workspace; drop the resource ID or `connectionString`".into(), span));
            }
            if let Some(span) = bound.word_span("refresh") {
                return Err(conflict(
                    "a connection string signs in with its API key; `refresh` has nothing to renew"
                        .into(),
                    span,
                ));
            }
        }
        if resource_id.is_some() {
            for part in parts {
                if let Some(span) = span_of(part) {
                    return Err(conflict(
                        format!(
                            "the resource ID already names the {part}; drop `{part}` or the resource ID"
                        ),
                        span,
                    ));
                }
            }
        }
        let credential = match bound.named("credential") {
            None => None,
            Some((v, span)) => Some(CredentialKind::parse(v).ok_or_else(|| {
                let vspan = bound.value_span("credential");
                let suggestion = closest(v, CREDENTIALS.iter().map(|c| (*c).to_owned()));
                invalid(
                    format!(
                        "`{v}` is not a credential{}; one of {}",
                        suggestion
                            .map(|s| format!(" (did you mean `{s}`?)"))
                            .unwrap_or_default(),
                        CREDENTIALS.join(", ")
                    ),
                    vspan.or(Some(span)),
                )
            })?),
        };
        if let (Some(kind), Some(_)) = (credential, &connection_string)
            && kind != CredentialKind::ApiKey
        {
            return Err(conflict(
                format!(
                    "a connection string signs in with its API key, not {}; drop `credential` or `connectionString`",
                    kind.name()
                ),
                span_of("credential").expect("given"),
            ));
        }
        if let (Some(kind), Some(span)) = (credential, bound.word_span("refresh"))
            && !matches!(kind, CredentialKind::Default | CredentialKind::DeviceCode)
        {
            return Err(conflict(
                format!(
                    "`refresh` renews a device-code login, and credential={} has none; drop one",
                    kind.name()
                ),
                span,
            ));
        }
        let tenant = match bound.named("tenant") {
            Some((t, span)) => {
                let ok = t.len() <= 128
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
                if !ok {
                    return Err(invalid(
                        format!(
                            "`{t}` is not a tenant; give its ID (a GUID) or its domain, like contoso.onmicrosoft.com"
                        ),
                        bound.value_span("tenant").or(Some(span)),
                    ));
                }
                Some(t.to_owned())
            }
            None => None,
        };
        let endpoint = match bound.named("endpoint") {
            Some((e, _)) => {
                let vspan = bound.value_span("endpoint");
                Some(
                    azq_client::endpoints::parse_base(e, "endpoint").map_err(|err| {
                        MagicError::Azure {
                            name: err.name(),
                            message: err.to_string(),
                            span: vspan,
                        }
                    })?,
                )
            }
            None => None,
        };
        let location = match bound.named("location") {
            Some((l, _)) => Some(normalize_location(l).map_err(|err| MagicError::Azure {
                name: err.name(),
                message: err.to_string(),
                span: bound.value_span("location"),
            })?),
            None => None,
        };
        let storage = match bound.named("storage") {
            Some((s, _)) => {
                let lower = s.to_ascii_lowercase();
                let ok = lower.contains("accountname=")
                    && (lower.contains("accountkey=") || lower.contains("sharedaccesssignature="))
                    || lower.contains("blobendpoint=");
                if !ok {
                    return Err(invalid(
                        "`storage` is not a storage connection string (DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…); copy it from the storage account's Access keys page".into(),
                        bound.value_span("storage"),
                    ));
                }
                Some(Secret::new(s))
            }
            None => None,
        };
        if let Some(kind) = credential
            && kind == CredentialKind::ApiKey
            && connection_string.is_none()
            && vars.get("AZURE_QUANTUM_CONNECTION_STRING").is_none()
        {
            return Err(invalid(
                "credential=ApiKey needs a connection string: give connectionString=… or set AZURE_QUANTUM_CONNECTION_STRING".into(),
                span_of("credential"),
            ));
        }
        let place = if emulator {
            Place::Emulator
        } else if let Some(cs) = connection_string {
            Place::ConnectionString(Secret::new(cs), bound.value_span("connectionString"))
        } else if let Some((id, written)) = resource_id {
            let ws = parse_resource_id(&id).map_err(|e| {
                let offset = match &e {
                    azq_client::ClientError::InvalidResourceId { at, .. } => *at,
                    _ => 0,
                };
                // Underline the bad segment, up to the next `/`, where the id is written as
                // it reads; an id with escapes has other offsets in the cell: all of it.
                let verbatim = written
                    .start
                    .checked_sub(call.args_start)
                    .and_then(|at| call.args.get(at..at + id.len()))
                    == Some(id.as_str());
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
            })?;
            Place::Workspace(ws)
        } else if parts.iter().any(|p| span_of(p).is_some())
            || credential.is_some_and(|k| k != CredentialKind::ApiKey)
            || vars.get("AZURE_QUANTUM_CONNECTION_STRING").is_none()
        {
            let mut values = Vec::new();
            for (part, vars_name) in [
                ("subscription", "AZURE_QUANTUM_SUBSCRIPTION_ID"),
                ("resourceGroup", "AZURE_QUANTUM_WORKSPACE_RG"),
                ("workspace", "AZURE_QUANTUM_WORKSPACE_NAME"),
            ] {
                let v = get(part)
                    .or_else(|| vars.get(&format!("IQSHARP_{vars_name}")))
                    .or_else(|| vars.get(vars_name));
                values.push((part, vars_name, v));
            }
            let missing: Vec<String> = values
                .iter()
                .filter(|(_, _, v)| v.is_none())
                .map(|(p, n, _)| format!("{p}=… (or {n})"))
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
            let ws = WorkspaceRef {
                subscription: values[0].2.clone().expect("checked"),
                resource_group: values[1].2.clone().expect("checked"),
                name: values[2].2.clone().expect("checked"),
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
        } else {
            Place::ConnectionString(
                Secret::new(
                    vars.get("AZURE_QUANTUM_CONNECTION_STRING")
                        .expect("checked"),
                ),
                None,
            )
        };
        let location = match (&place, location) {
            (Place::Workspace(_), None) => match vars
                .get("IQSHARP_AZURE_QUANTUM_WORKSPACE_LOCATION")
                .or_else(|| vars.get("AZURE_QUANTUM_WORKSPACE_LOCATION"))
            {
                Some(l) => Some(normalize_location(&l).map_err(|err| MagicError::Azure {
                    name: err.name(),
                    message: format!("AZURE_QUANTUM_WORKSPACE_LOCATION: {err}"),
                    span: None,
                })?),
                None => None,
            },
            (_, l) => l,
        };
        Ok(Args {
            place,
            location,
            endpoint,
            credential,
            tenant,
            storage,
            refresh,
        })
    }
}

/// The device-code prompt: one display, made when a code is first shown and then updated
/// in place ("Signed in as …"). Connections that need no prompt show nothing extra.
struct CellPrompt<'a> {
    out: &'a mut dyn Output,
    display: Option<DisplayId>,
}

impl<'a> CellPrompt<'a> {
    fn new(out: &'a mut dyn Output) -> Self {
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
