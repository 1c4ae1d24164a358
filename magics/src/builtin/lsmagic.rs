//! `%lsmagic`: lists every magic with its summary.

use async_trait::async_trait;

use crate::args::Bound;
use crate::bundle::{Bundle, escape_html};
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::MagicSpec;
use crate::{MagicError, registry};

pub struct Lsmagic;

static SPEC: MagicSpec = MagicSpec {
    name: "lsmagic",
    form: Form::Line,
    summary: "Lists every magic with a one-line summary.",
    usage: "%lsmagic",
    description: "Line magics start with `%` and take the rest of the line; cell magics start \
                  with `%%` on the first line and take the whole cell. Add `?` to any name for \
                  its help, e.g. `%env?`.",
    params: &[],
    examples: &[crate::spec::Example {
        code: "%lsmagic",
        says: "Shows the table of line and cell magics.",
    }],
    errors: &["UnknownArgument"],
    rules: &[],
    extra: false,
};

#[async_trait]
impl Magic for Lsmagic {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, _ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        Bound::bind(&SPEC, call)?;
        let specs: Vec<&MagicSpec> = registry::all().iter().map(|m| m.spec()).collect();
        let width = specs.iter().map(|s| s.call_name().len()).max().unwrap_or(0);
        let mut plain = String::new();
        let mut html = String::from(
            "<table class=\"azq-lsmagic\"><thead><tr><th style=\"text-align:start\">Magic</th>\
             <th style=\"text-align:start\">What it does</th></tr></thead><tbody>",
        );
        for (form, title) in [(Form::Line, "Line magics"), (Form::Cell, "Cell magics")] {
            plain.push_str(title);
            plain.push_str(":\n");
            html.push_str(&format!(
                "<tr><th colspan=\"2\" style=\"text-align:start\">{title}</th></tr>"
            ));
            for s in specs.iter().filter(|s| s.form == form) {
                plain.push_str(&format!("  {:<width$}  {}\n", s.call_name(), s.summary));
                html.push_str(&format!(
                    "<tr><td style=\"text-align:start\"><code>{}</code></td>\
                     <td style=\"text-align:start\">{}</td></tr>",
                    escape_html(&s.call_name()),
                    crate::spec::prose_html(s.summary)
                ));
            }
        }
        html.push_str("</tbody></table>");
        let names: Vec<String> = specs.iter().map(|s| s.call_name()).collect();
        Ok(Some(
            Bundle::text(plain.trim_end())
                .with_html(html)
                .with_data("magics", serde_json::json!(names)),
        ))
    }
}
