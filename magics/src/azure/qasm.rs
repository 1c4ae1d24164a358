//! `%%qasm NAME` stores the cell's OpenQASM 2 program under NAME, checked at once; `%qasm`
//! lists the stored programs, or with `file=PATH` reads a program file (OpenQASM, QIR text,
//! IonQ JSON, Quil) under a name. Storing or naming a program shows its circuit drawing.

use std::path::Path;

use async_trait::async_trait;
use azq_circuits::draw::{self, DrawOptions};
use serde_json::json;

use super::programs::{self, Stored, format_name};
use crate::MagicError;
use crate::args::Bound;
use crate::bundle::{Bundle, escape_html};
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec, Param, ValueKind, prose_html};

pub struct QasmCell;
pub struct QasmLine;

const ERRORS: &[&str] = &[
    "InvalidProgram",
    "ProgramTooLarge",
    "UnknownProgram",
    "InvalidArgument",
    "SyntaxError",
];

static CELL_SPEC: MagicSpec = MagicSpec {
    name: "qasm",
    form: Form::Cell,
    summary: "Stores the cell's OpenQASM 2 program under a name, for `%azure.submit`.",
    usage: "%%qasm NAME",
    description: "Checks the program at once (an error points at the line and column) and \
        keeps it in this session under NAME, replacing any program of that name, and draws \
        its circuit. `qelib1.inc` is built in. `%azure.submit NAME` and `%azure.execute NAME` run it.",
    params: &[
        Param::positional("NAME", "the program's name: letters, digits, `_`, `-`, `.`")
            .of(ValueKind::ProgramName),
    ],
    rules: &[],
    extra: false,
    examples: &[Example {
        code: "%%qasm bell\nOPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;",
        says: "Stores a Bell pair program as `bell` (2 qubits, 2 gates) and draws it.",
    }],
    errors: ERRORS,
};

static LINE_SPEC: MagicSpec = MagicSpec {
    name: "qasm",
    form: Form::Line,
    summary: "Lists the stored programs, draws one, or reads a program file under a name.",
    usage: "%qasm [NAME | file=PATH [NAME]]",
    description: "Without arguments, lists the programs `%%qasm` cells and files stored in \
        this session, with their qubit and gate counts; with a NAME, draws that program's \
        circuit and shows its source. With `file=PATH`, reads an OpenQASM (.qasm), QIR text \
        (.ll), IonQ JSON (.json) or Quil (.quil) file, checks it, stores it under NAME \
        (default: the file's stem) and draws its circuit.",
    params: &[
        Param::positional("NAME", "the name to store the file's program under")
            .of(ValueKind::ProgramName),
        Param::named("file", "a program file: .qasm, .ll, .json or .quil").of(ValueKind::Path),
    ],
    rules: &[],
    extra: false,
    examples: &[
        Example {
            code: "%qasm",
            says: "Lists the stored programs.",
        },
        Example {
            code: "%qasm file=teleport.qasm",
            says: "Reads teleport.qasm and stores it as `teleport`.",
        },
    ],
    errors: ERRORS,
};

fn stored_line(s: &Stored) -> String {
    format!(
        "Stored `{}`: {} qubits, {} gates, {} measurements ({}{}).",
        s.name,
        s.qubits(),
        s.gates(),
        s.measurements(),
        format_name(s.format),
        s.file
            .as_ref()
            .map(|f| format!(" from {}", f.display()))
            .unwrap_or_default()
    )
}

/// The summary line above the circuit's drawing: text art for text/plain, inline SVG (in a
/// box that scrolls sideways) for text/html.
fn drawing(s: &Stored) -> (String, String) {
    let line = stored_line(s);
    let opts = DrawOptions::default();
    let plain = format!("{line}\n\n{}", draw::text(s.circuit(), &opts));
    let html = format!(
        "<p>{}</p><div class=\"azq-circuit\" style=\"overflow-x:auto\">{}</div>",
        prose_html(&line),
        draw::svg(s.circuit(), &opts)
    );
    (plain, html)
}

fn stored_bundle(s: &Stored) -> Bundle {
    let (plain, html) = drawing(s);
    Bundle::text(plain)
        .with_html(html)
        .with_data("program", program_json(s))
}

fn program_json(s: &Stored) -> serde_json::Value {
    json!({
        "name": s.name,
        "qubits": s.qubits(),
        "gates": s.gates(),
        "measurements": s.measurements(),
        "format": format_name(s.format),
        "file": s.file.as_ref().map(|f| f.display().to_string()),
    })
}

#[async_trait]
impl Magic for QasmCell {
    fn spec(&self) -> &'static MagicSpec {
        &CELL_SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&CELL_SPEC, call)?;
        let Some((name, span)) = bound.positional(0) else {
            return Err(MagicError::InvalidArgument {
                magic: "qasm".into(),
                message: "name the program: `%%qasm NAME` on the cell's first line".into(),
                span: Some(call.name_span.clone()),
            });
        };
        programs::check_name(name, Some(span.clone()))?;
        let stored = programs::from_cell(name, call.body, call.body_start)?;
        let shown = stored_bundle(&stored);
        ctx.azure.programs.insert(stored, Some(span))?;
        Ok(Some(shown))
    }
}

#[async_trait]
impl Magic for QasmLine {
    fn spec(&self) -> &'static MagicSpec {
        &LINE_SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let bound = Bound::bind(&LINE_SPEC, call)?;
        match (bound.text("file"), bound.positional(0)) {
            (Some(path), name) => {
                let path = Path::new(path);
                let span = bound.span("file");
                let (name, name_span) = match name {
                    Some((n, s)) => (n.to_owned(), Some(s)),
                    None => (
                        path.file_stem()
                            .and_then(|s| s.to_str())
                            .unwrap_or_default()
                            .replace(' ', "_"),
                        span.clone(),
                    ),
                };
                programs::check_name(&name, name_span.clone())?;
                let stored = programs::from_file(&name, path, span)?;
                let shown = stored_bundle(&stored);
                ctx.azure.programs.insert(stored, name_span)?;
                Ok(Some(shown))
            }
            (None, Some((name, span))) => {
                let stored = ctx.azure.programs.find(name, Some(span))?;
                let (mut plain, mut html) = drawing(stored);
                plain.push('\n');
                plain.push_str(&stored.source);
                html.push_str(&format!(
                    "<details><summary>Source</summary><pre>{}</pre></details>",
                    escape_html(&stored.source)
                ));
                Ok(Some(
                    Bundle::text(plain)
                        .with_html(html)
                        .with_data("program", program_json(stored)),
                ))
            }
            (None, None) => Ok(Some(list(ctx))),
        }
    }
}

fn list(ctx: &Ctx<'_>) -> Bundle {
    let programs = &ctx.azure.programs;
    if programs.is_empty() {
        let none = "No programs are stored; write one in a `%%qasm NAME` cell, or read a file \
                    with `%qasm file=PATH`.";
        return Bundle::text(none)
            .with_html(format!("<p>{}</p>", prose_html(none)))
            .with_data("programs", json!([]));
    }
    let heads = ["Name", "Qubits", "Gates", "Format", "From"];
    let rows: Vec<[String; 5]> = programs
        .all()
        .map(|s| {
            [
                s.name.clone(),
                s.qubits().to_string(),
                s.gates().to_string(),
                format_name(s.format).to_owned(),
                s.file
                    .as_ref()
                    .map_or("cell".to_owned(), |f| f.display().to_string()),
            ]
        })
        .collect();
    let plain = super::render::text_table(heads, &rows);
    let html = super::render::html_table("azq-programs", heads, &rows);
    Bundle::text(plain).with_html(html).with_data(
        "programs",
        serde_json::Value::Array(programs.all().map(program_json).collect()),
    )
}
