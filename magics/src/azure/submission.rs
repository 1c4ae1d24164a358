//! What `%azure.submit` and `%azure.execute` share: the program (stored or a file), the target
//! (given or active), shots and parameters checked, the program translated, the estimated cost
//! confirmed for a paid target, and one job created under a client-made id (so a retried
//! create never makes two).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use azq_client::{JobDetails, NewJob};
use serde_json::{Map, Value};

use super::connect::CellPrompt;
use super::errors::JobError;
use super::pricing;
use super::programs::{self, Stored};
use super::translate::{self, Input, MAX_SHOTS};
use crate::MagicError;
use crate::args::Bound;
use crate::magic::Ctx;
use crate::spec::{Param, ValueKind};

/// The parameters `%azure.submit` and `%azure.execute` both take.
pub const PARAMS: [Param; 8] = [
    Param::positional(
        "PROGRAM",
        "the name of a program stored with `%%qasm NAME` (`%qasm` lists them)",
    )
    .of(ValueKind::ProgramName),
    Param::named(
        "file",
        "a program file instead: .qasm (OpenQASM 2), .ll (QIR text), .json (IonQ) or .quil",
    )
    .of(ValueKind::Path),
    Param::named(
        "target",
        "the target to run on (default: the one `%azure.target` set)",
    )
    .of(ValueKind::TargetId),
    Param::named(
        "shots",
        "how many times to run the program (the target's default when left out)",
    )
    .of(ValueKind::Int {
        min: 1,
        max: MAX_SHOTS,
    }),
    Param::named(
        "jobName",
        "the job's name (default: the program's name, or the file's stem)",
    )
    .of(ValueKind::Text),
    Param::named(
        "jobParams",
        "a JSON object of input parameters for the target, e.g. {\"error-mitigation\": false}",
    )
    .of(ValueKind::JsonObject),
    Param::named(
        "confirm",
        "false to submit to a paid target without showing its estimated cost and asking first \
         (`%env AZQ_CONFIRM_COST=0` does so for the session); true asks whatever the session says",
    )
    .of(ValueKind::OneOf(&["true", "false"])),
    Param::named(
        "watch",
        "whether the job's row keeps updating itself until the job ends (default true)",
    )
    .of(ValueKind::OneOf(&["true", "false"]))
    .default("true"),
];

/// The program a submission names: stored, or read from `file=` now.
fn program(
    ctx: &Ctx<'_>,
    bound: &Bound,
    magic: &str,
) -> Result<(Stored, Option<Range<usize>>), MagicError> {
    match (bound.positional(0), bound.text("file")) {
        (Some((name, span)), None) => {
            let stored = ctx.azure.programs.find(name, Some(span.clone()))?;
            Ok((stored.clone(), Some(span)))
        }
        (None, Some(path)) => {
            let span = bound.span("file");
            let path = Path::new(path);
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("program")
                .to_owned();
            Ok((programs::from_file(&stem, path, span.clone())?, span))
        }
        (Some((_, span)), Some(_)) => Err(MagicError::ConflictingArguments {
            magic: magic.to_owned(),
            message: "give a stored program's name or `file=`, not both".into(),
            span,
        }),
        (None, None) => Err(JobError::UnknownProgram {
            message: format!(
                "say which program to run: a name stored with `%%qasm NAME`{}, or `file=PATH`",
                match ctx.azure.programs.names().collect::<Vec<_>>() {
                    v if v.is_empty() => String::new(),
                    v => format!(" ({})", v.join(", ")),
                }
            ),
            span: None,
        }
        .into()),
    }
}

/// The target id as the workspace spells it, and its provider.
pub fn target(ctx: &Ctx<'_>, bound: &Bound) -> Result<(String, String), MagicError> {
    let connection = ctx.azure.connected()?;
    let (wanted, span) = match bound.text("target") {
        Some(t) => (t.to_owned(), bound.span("target")),
        None => match &ctx.azure.target {
            Some(t) => (t.clone(), None),
            None => return Err(JobError::NoTarget.into()),
        },
    };
    match connection.find_target(&wanted) {
        Some((provider, id)) => Ok((id.to_owned(), provider.to_owned())),
        None => Err(super::target::not_in_workspace(connection, &wanted, span).into()),
    }
}

/// The input parameters: `jobParams`, then every extra `key=value` (numbers and booleans as
/// such, anything else as text).
fn params(bound: &Bound, magic: &str) -> Result<Map<String, Value>, MagicError> {
    let mut params = bound.json("jobParams").cloned().unwrap_or_default();
    for (key, value, span) in bound.extra() {
        if key.eq_ignore_ascii_case("watch") {
            return Err(MagicError::InvalidArgument {
                magic: magic.to_owned(),
                message: format!(
                    "`watch=` is for `%azure.submit`; `%{magic}` follows its job in its own cell"
                ),
                span: Some(span.clone()),
            });
        }
        // A near miss of a declared name (`shtos=`, two edits or fewer) is a typo, not a
        // parameter for the target; longer names that merely share a prefix
        // (`target_profile`) go to the target.
        let near = PARAMS
            .iter()
            .map(|p| p.name)
            .chain(["timeout", "poll"])
            .find(|name| {
                let k = key.to_ascii_lowercase();
                let n = name.to_ascii_lowercase();
                k.len().abs_diff(n.len()) <= 2 && strsim::levenshtein(&k, &n) <= 2
            });
        if let Some(near) = near.map(str::to_owned) {
            return Err(MagicError::UnknownArgument {
                magic: magic.to_owned(),
                arg: key.clone(),
                span: span.clone(),
                suggestion: Some(near),
            });
        }
        let v = serde_json::from_str::<Value>(value)
            .ok()
            .filter(|v| v.is_number() || v.is_boolean())
            .unwrap_or_else(|| Value::String(value.clone()));
        params.insert(key.clone(), v);
    }
    Ok(params)
}

/// A submission checked and translated, not yet sent.
pub struct Prepared {
    pub target: String,
    pub provider: String,
    pub stored: Stored,
    pub input: Input,
}

impl Prepared {
    /// What the submission would cost, at the published rates or the session's
    /// `AZQ_PRICING_FILE`.
    pub fn estimate(&self, vars: &crate::vars::Vars) -> Result<pricing::Estimate, MagicError> {
        let file = super::rates_file::load(vars)?;
        Ok(pricing::estimate(
            &self.provider,
            &self.target,
            &self.stored.name,
            &self.input,
            file.as_ref(),
        )?)
    }
}

/// Checks every argument and translates the program; sends nothing.
pub fn prepare(ctx: &Ctx<'_>, bound: &Bound, magic: &str) -> Result<Prepared, MagicError> {
    let (target, provider) = target(ctx, bound)?;
    let (stored, program_span) = program(ctx, bound, magic)?;
    let shots = bound.int("shots");
    let mut input = translate::translate(&provider, &target, &stored, shots, program_span)?;
    let extra = params(bound, magic)?;
    if let Some(Value::Number(n)) = extra.get("shots")
        && !n.as_u64().is_some_and(|s| (1..=MAX_SHOTS).contains(&s))
    {
        return Err(JobError::InvalidJobParams {
            message: format!("`shots` in jobParams must be a whole number from 1 to {MAX_SHOTS}"),
            span: bound.span("jobParams"),
        }
        .into());
    }
    input.input_params.extend(extra);
    Ok(Prepared {
        target,
        provider,
        stored,
        input,
    })
}

/// Whether this submission should ask before a paid target: `confirm=` when given, else the
/// session's AZQ_CONFIRM_COST, else yes.
fn wants_confirmation(ctx: &Ctx<'_>, bound: &Bound) -> Result<bool, MagicError> {
    match bound.text("confirm") {
        Some("false") => return Ok(false),
        Some(_) => return Ok(true),
        None => {}
    }
    let Some(value) = ctx.vars.get("AZQ_CONFIRM_COST") else {
        return Ok(true);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "0" | "false" | "no" | "off" => Ok(false),
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        _ => {
            let shown: String = value.chars().take(40).collect();
            Err(JobError::InvalidCostSetting {
                message: format!(
                    "AZQ_CONFIRM_COST is `{shown}`; set it to 0 (submit without asking) or 1 \
                     (ask before a paid target), e.g. `%env AZQ_CONFIRM_COST=0`, or unset it \
                     with `%env -u AZQ_CONFIRM_COST`; nothing was submitted"
                ),
            }
            .into())
        }
    }
}

/// For a paid target: shows the estimated cost and asks; only `y` or `yes` goes on.
async fn confirm(ctx: &mut Ctx<'_>, bound: &Bound, p: &Prepared) -> Result<(), MagicError> {
    if !wants_confirmation(ctx, bound)? {
        return Ok(());
    }
    let estimate = p.estimate(ctx.vars)?;
    if !estimate.asks() {
        return Ok(());
    }
    ctx.out.display(estimate.bundle());
    let unavailable = || JobError::ConfirmationUnavailable {
        message: format!(
            "{} is a paid target and this front end cannot answer the confirmation prompt \
             (stdin is not allowed); nothing was submitted. Add `confirm=false` to submit \
             without asking, or `%env AZQ_CONFIRM_COST=0` for the session",
            p.target
        ),
    };
    if !ctx.allow_stdin {
        return Err(unavailable().into());
    }
    let answer = match ctx.out.input(&estimate.question(), false).await {
        Ok(a) => a,
        Err(MagicError::StdinNotAllowed) => return Err(unavailable().into()),
        Err(e) => return Err(e),
    };
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(JobError::SubmissionDeclined {
            message: format!(
                "not confirmed, so nothing was submitted to {} (only y or yes submits)",
                p.target
            ),
        }
        .into()),
    }
}

/// Checks everything, translates, confirms the cost of a paid target, uploads and creates
/// the job. Nothing is sent until every argument has been checked and the cost confirmed.
pub async fn submit(
    ctx: &mut Ctx<'_>,
    bound: &Bound,
    magic: &str,
) -> Result<JobDetails, MagicError> {
    let prepared = prepare(ctx, bound, magic)?;
    // An ended session is said before the cost is asked about, not after a yes.
    let session_id = super::sessions::for_job(ctx).await?;
    confirm(ctx, bound, &prepared).await?;
    let Prepared {
        target,
        provider,
        stored,
        input,
    } = prepared;
    let name = bound
        .text("jobName")
        .map(str::to_owned)
        .unwrap_or_else(|| stored.name.clone());
    let connection = ctx.azure.connected()?;
    let workspace = connection.workspace.clone();
    let storage = connection.storage.clone();
    let job = NewJob {
        id: new_job_id(),
        name,
        provider_id: provider,
        target,
        input: input.bytes,
        input_data_format: input.input_data_format.to_owned(),
        content_type: input.content_type.to_owned(),
        input_params: Value::Object(input.input_params),
        output_data_format: Some(input.output_data_format.to_owned()),
        metadata: input.metadata.into_iter().collect::<BTreeMap<_, _>>(),
        session_id,
    };
    let id = job.id.clone();
    let mut prompt = CellPrompt::new(&mut *ctx.out);
    let created = tokio::select! {
        r = workspace.create_job(job, storage.as_ref(), &mut prompt) => r,
        () = ctx.cancel.cancelled() => {
            // The create may have reached the service: say how to look for it.
            ctx.azure.remember_job(&id);
            return Err(MagicError::Azure {
                name: "Interrupted",
                message: format!(
                    "interrupted while submitting job {id}; it may have been created: \
                     `%azure.status {id}` tells"
                ),
                span: None,
            });
        }
    };
    let job = created.map_err(|e| {
        // The client's own refusal already says the job was not submitted.
        let message = match e {
            azq_client::ClientError::JobSubmissionFailed(why) => {
                format!("the job was not submitted: {why}")
            }
            other => format!(
                "the job was not submitted: {}",
                super::client_error(other).message()
            ),
        };
        JobError::JobSubmissionFailed { message }
    })?;
    ctx.azure.remember_job(&job.id);
    Ok(job)
}

/// A fresh random job id (a version-4 GUID).
pub fn new_job_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
