//! The one declaration of a magic (name, summary, parameters, examples, errors) that drives
//! its binding, its `%name?` help, its completions and `%lsmagic`.

use crate::bundle::{Bundle, escape_html};
use crate::cell::Form;

/// How a parameter is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `-x` or `--name`.
    Flag { short: Option<char> },
    /// `name=value`.
    Named,
    /// A value by position.
    Positional,
    /// A bare word that switches something on (`refresh`), as IQ# wrote flags; also
    /// `"refresh": true` in the JSON form.
    Word,
}

/// What a parameter's value must be. Binding checks every given value against its kind
/// (the error names the parameter, shows the value's caret and says what to write) and
/// completion offers the kind's choices.
#[derive(Debug, Clone, Copy)]
pub enum ValueKind {
    /// Any non-empty text.
    Text,
    /// A GUID: 8-4-4-4-12 hex digits.
    Guid,
    /// A whole number from `min` to `max`.
    Int { min: u64, max: u64 },
    /// A number of seconds from `min` to `max`: `30`, `2.5`, `30s`, `5m`, `1h`, `250ms`.
    Seconds { min: u64, max: u64 },
    /// A JSON object (`{…}`), parsed once at binding.
    JsonObject,
    /// One of a closed set, any case; the bound text is the set's spelling.
    OneOf(&'static [&'static str]),
    /// A target id, `provider.target` (letters, digits, `.`, `-`, `_`); completion offers
    /// the workspace's targets.
    TargetId,
    /// A program's name (a letter or `_`, then letters, digits, `_`, `-`, `.`); completion
    /// offers the stored programs.
    ProgramName,
    /// A job id (a GUID); completion offers this session's jobs.
    JobId,
    /// A file path (no NUL).
    Path,
    /// An RFC 3339 date or date-time: `2026-12-01`, `2026-12-01T10:00:00Z`.
    Timestamp,
    /// Checked by a function that returns the message to show when the value is refused
    /// (the message must not repeat a secret value).
    Custom(fn(&str) -> Result<(), String>),
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub help: &'static str,
    /// Values offered by completion (a closed set, or examples).
    pub values: &'static [&'static str],
    /// What the value must be (flags and words have none: `Text`, unused).
    pub value: ValueKind,
    /// The value when the parameter is not given (checked against `value` at binding).
    pub default: Option<&'static str>,
    /// A positional parameter that may also be written `name=value`.
    pub also_named: bool,
}

impl Param {
    const fn new(name: &'static str, kind: ParamKind, help: &'static str) -> Param {
        Param {
            name,
            kind,
            help,
            values: &[],
            value: ValueKind::Text,
            default: None,
            also_named: false,
        }
    }

    /// `name=value`, of kind `Text` until `.of(…)`.
    pub const fn named(name: &'static str, help: &'static str) -> Param {
        Param::new(name, ParamKind::Named, help)
    }

    /// A value by position (in the order positionals are declared).
    pub const fn positional(name: &'static str, help: &'static str) -> Param {
        Param::new(name, ParamKind::Positional, help)
    }

    /// `--name`, and `-c` when `short` is given.
    pub const fn flag(name: &'static str, short: Option<char>, help: &'static str) -> Param {
        Param::new(name, ParamKind::Flag { short }, help)
    }

    /// A bare word that switches something on (`refresh`).
    pub const fn word(name: &'static str, help: &'static str) -> Param {
        Param::new(name, ParamKind::Word, help)
    }

    pub const fn of(mut self, value: ValueKind) -> Param {
        self.value = value;
        self
    }

    pub const fn default(mut self, value: &'static str) -> Param {
        self.default = Some(value);
        self
    }

    pub const fn values(mut self, values: &'static [&'static str]) -> Param {
        self.values = values;
        self
    }

    /// A positional parameter that may also be written `name=value` (given both ways, it
    /// is refused as given twice).
    pub const fn also_named(mut self) -> Param {
        self.also_named = true;
        self
    }

    /// Whether `key=` names this parameter.
    pub fn takes_key(&self, key: &str) -> bool {
        (self.kind == ParamKind::Named || self.kind == ParamKind::Positional && self.also_named)
            && self.name.eq_ignore_ascii_case(key)
    }
}

/// How parameters depend on each other; binding enforces these on what was given (defaults
/// do not count).
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// Both given: `ConflictingArguments` at the later one, saying `why`.
    Conflicts {
        a: &'static str,
        b: &'static str,
        why: &'static str,
    },
    /// `a` given without `needs`: `InvalidArgument` at `a`, saying `why`.
    Requires {
        a: &'static str,
        needs: &'static str,
        why: &'static str,
    },
    /// At most one of `names` given: `ConflictingArguments` at the later one.
    OneOf {
        names: &'static [&'static str],
        why: &'static str,
    },
    /// `a` conflicts with each of `others` (one `Conflicts` per name, written once).
    Excludes {
        a: &'static str,
        others: &'static [&'static str],
        why: &'static str,
    },
    /// `a` is given only alone: it conflicts with every other argument.
    Alone { a: &'static str, why: &'static str },
}

#[derive(Debug)]
pub struct Example {
    pub code: &'static str,
    pub says: &'static str,
}

#[derive(Debug)]
pub struct MagicSpec {
    pub name: &'static str,
    pub form: Form,
    pub summary: &'static str,
    /// The call shape, e.g. `%env [-u NAME | NAME[=VALUE]]`.
    pub usage: &'static str,
    pub description: &'static str,
    pub params: &'static [Param],
    pub examples: &'static [Example],
    /// The stable names of the errors this magic can end with.
    pub errors: &'static [&'static str],
    /// How the parameters depend on each other.
    pub rules: &'static [Rule],
    /// Undeclared `key=value` arguments are kept (`Bound::extra`) instead of refused.
    pub extra: bool,
}

impl MagicSpec {
    /// `%name` or `%%name`.
    pub fn call_name(&self) -> String {
        format!("{}{}", self.form.prefix(), self.name)
    }

    /// The help shown by `%name?` and by inspection.
    pub fn help(&self) -> Bundle {
        let mut plain = format!(
            "{}\n    {}\n\n{}\n",
            self.usage, self.summary, self.description
        );
        let mut html = format!(
            "<div class=\"azq-help\"><p><code>{}</code>: {}</p><p>{}</p>",
            escape_html(self.usage),
            prose_html(self.summary),
            prose_html(self.description)
        );
        if !self.params.is_empty() {
            plain.push_str("\nParameters:\n");
            html.push_str(
                "<table><thead><tr><th style=\"text-align:start\">Parameter</th>\
                 <th style=\"text-align:start\">Meaning</th></tr></thead><tbody>",
            );
            for p in self.params {
                let shown = param_shape(p);
                plain.push_str(&format!("  {shown:<18} {}\n", p.help));
                html.push_str(&format!(
                    "<tr><td style=\"text-align:start\"><code>{}</code></td>\
                     <td style=\"text-align:start\">{}</td></tr>",
                    escape_html(&shown),
                    prose_html(p.help)
                ));
            }
            html.push_str("</tbody></table>");
        }
        if !self.examples.is_empty() {
            plain.push_str("\nExamples:\n");
            html.push_str("<p>Examples:</p>");
            for e in self.examples {
                plain.push_str(&format!(
                    "  {}\n      {}\n",
                    e.code.replace('\n', "\n  "),
                    e.says
                ));
                // Long example lines scroll sideways instead of breaking inside words.
                html.push_str(&format!(
                    "<pre style=\"white-space:pre;overflow-x:auto\">{}</pre><p>{}</p>",
                    escape_html(e.code),
                    prose_html(e.says)
                ));
            }
        }
        if !self.errors.is_empty() {
            plain.push_str(&format!("\nErrors: {}\n", self.errors.join(", ")));
            html.push_str(&format!(
                "<p>Errors: {}</p>",
                escape_html(&self.errors.join(", "))
            ));
        }
        html.push_str("</div>");
        Bundle::text(plain).with_html(html)
    }
}

impl MagicSpec {
    /// This magic's entry in the README's reference: the same declaration as its help, as
    /// Markdown (prose is written in Markdown already: code spans in backticks).
    pub fn markdown(&self) -> String {
        let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
        let mut md = format!(
            "### `{}`\n\n{}\n\n```\n{}\n```\n\n{}\n",
            self.call_name(),
            self.summary,
            self.usage,
            self.description
        );
        if !self.params.is_empty() {
            md.push_str("\n| parameter | meaning |\n| --- | --- |\n");
            for p in self.params {
                md.push_str(&format!(
                    "| `{}` | {} |\n",
                    cell(&param_shape(p)),
                    cell(p.help)
                ));
            }
        }
        if !self.examples.is_empty() {
            md.push_str("\nExamples:\n");
            for e in self.examples {
                md.push_str(&format!("\n```\n{}\n```\n{}\n", e.code, e.says));
            }
        }
        if !self.errors.is_empty() {
            let names: Vec<String> = self.errors.iter().map(|e| format!("`{e}`")).collect();
            md.push_str(&format!("\nErrors: {}.\n", names.join(", ")));
        }
        md
    }
}

/// Help prose as HTML: escaped, with its Markdown code spans (`` `x` ``) as `<code>`.
pub fn prose_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 16);
    let backticks = text.matches('`').count();
    for (i, piece) in text.split('`').enumerate() {
        // Odd pieces sit between a pair of backticks; a lone last one is shown as typed.
        let closed = i % 2 == 1 && backticks > i;
        if closed {
            html.push_str(&format!("<code>{}</code>", escape_html(piece)));
        } else {
            if i % 2 == 1 {
                html.push('`');
            }
            html.push_str(&escape_html(piece));
        }
    }
    html
}

/// How a parameter looks when written: `-u`/`--unset`, `key=…`, `NAME`.
pub fn param_shape(p: &Param) -> String {
    match p.kind {
        ParamKind::Flag { short: Some(c) } => format!("-{c}, --{}", p.name),
        ParamKind::Flag { short: None } => format!("--{}", p.name),
        ParamKind::Named => format!("{}=…", p.name),
        ParamKind::Positional if p.also_named => format!("[{}=]…", p.name),
        ParamKind::Positional | ParamKind::Word => p.name.to_owned(),
    }
}
