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

#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub help: &'static str,
    /// Values offered by completion (a closed set, or examples).
    pub values: &'static [&'static str],
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
            escape_html(self.summary),
            escape_html(self.description)
        );
        if !self.params.is_empty() {
            plain.push_str("\nParameters:\n");
            html.push_str(
                "<table><thead><tr><th>Parameter</th><th>Meaning</th></tr></thead><tbody>",
            );
            for p in self.params {
                let shown = param_shape(p);
                plain.push_str(&format!("  {shown:<18} {}\n", p.help));
                html.push_str(&format!(
                    "<tr><td><code>{}</code></td><td>{}</td></tr>",
                    escape_html(&shown),
                    escape_html(p.help)
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
                html.push_str(&format!(
                    "<pre>{}</pre><p>{}</p>",
                    escape_html(e.code),
                    escape_html(e.says)
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

/// How a parameter looks when written: `-u`/`--unset`, `key=…`, `NAME`.
pub fn param_shape(p: &Param) -> String {
    match p.kind {
        ParamKind::Flag { short: Some(c) } => format!("-{c}, --{}", p.name),
        ParamKind::Flag { short: None } => format!("--{}", p.name),
        ParamKind::Named => format!("{}=…", p.name),
        ParamKind::Positional | ParamKind::Word => p.name.to_owned(),
    }
}
