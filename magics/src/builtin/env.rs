//! `%env`: shows, reads, sets and unsets environment variables, as in IPython; also asks
//! for a secret with hidden input so it never appears in the notebook.

use async_trait::async_trait;
use nom::{
    IResult, Parser,
    bytes::complete::take_while,
    character::complete::{char, satisfy, space0, space1},
    combinator::recognize,
};

use crate::MagicError;
use crate::bundle::{Bundle, escape_html};
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::output::Stream;
use crate::spec::{Example, MagicSpec, Param};
use crate::vars::{is_secret_name, shown_value};

pub struct Env;

static SPEC: MagicSpec = MagicSpec {
    name: "env",
    form: Form::Line,
    summary: "Shows, gets, sets or unsets environment variables.",
    usage: "%env [NAME | NAME=VALUE | NAME VALUE | -u NAME | -p NAME]",
    description: "Variables set here apply to this kernel's session: to programs it starts \
                  (%%bash) and to Azure sign-in settings such as AZURE_CLIENT_ID. VALUE is the \
                  rest of the line, taken as written. Values of variables whose names say \
                  SECRET, KEY, TOKEN, PASSWORD, CONNECTION_STRING or SAS, and IDENTITY_HEADER, \
                  are never shown, nor is the password of a URL (a proxy's user:pass is shown \
                  as user:***); set those with -p so that they are typed into a hidden prompt \
                  and never stored in the notebook.",
    params: &[
        Param::flag("unset", Some('u'), "remove NAME from the environment"),
        Param::flag(
            "prompt",
            Some('p'),
            "ask for NAME's value with hidden input",
        ),
        Param::positional("NAME", "a variable name (letters, digits and _)"),
    ],
    examples: &[
        Example {
            code: "%env AZURE_TENANT_ID=72f988bf-86f1-41af-91ab-2d7cd011db47",
            says: "sets the variable and echoes it",
        },
        Example {
            code: "%env AZURE_TENANT_ID",
            says: "shows its value",
        },
        Example {
            code: "%env -p AZURE_CLIENT_SECRET",
            says: "asks for the secret with hidden input",
        },
        Example {
            code: "%env",
            says: "lists every variable, secrets hidden",
        },
    ],
    errors: &[
        "SyntaxError",
        "InvalidArgument",
        "EnvVarNotSet",
        "StdinNotAllowed",
    ],
    rules: &[],
    extra: false,
};

#[derive(Debug, PartialEq, Eq)]
enum Request<'a> {
    List,
    Get(&'a str),
    Set(&'a str, &'a str),
    Unset(&'a str),
    Prompt(&'a str),
}

type Res<'a, T> = IResult<&'a str, T>;

fn name(i: &str) -> Res<'_, &str> {
    recognize((
        satisfy(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))
    .parse(i)
}

fn option(i: &str) -> Res<'_, &str> {
    let (rest, flag) = nom::branch::alt((
        nom::bytes::complete::tag("--unset"),
        nom::bytes::complete::tag("--prompt"),
        nom::bytes::complete::tag("-u"),
        nom::bytes::complete::tag("-p"),
    ))
    .parse(i)?;
    if rest.starts_with(|c: char| !c.is_whitespace()) {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )));
    }
    Ok((rest.trim_start(), flag))
}

/// Reads the argument text (already trimmed) that starts at byte `base` of the cell.
fn parse(text: &str, base: usize) -> Result<Request<'_>, MagicError> {
    let at = |rest: &str| base + text.len() - rest.len();
    let bad = |rest: &str, message: String| MagicError::InvalidArgument {
        magic: "env".to_owned(),
        message,
        span: Some(at(rest)..at(rest) + rest.split_whitespace().next().map_or(1, str::len)),
    };
    if text.is_empty() {
        return Ok(Request::List);
    }
    if let Ok((rest, flag)) = option(text) {
        let (after, n) = name(rest).map_err(|_| {
            bad(
                rest,
                format!("`{flag}` needs a variable name (letters, digits and _)"),
            )
        })?;
        if !after.trim().is_empty() {
            return Err(bad(
                after.trim_start(),
                format!("`{flag}` takes one name; remove this"),
            ));
        }
        return Ok(if flag.contains('u') {
            Request::Unset(n)
        } else {
            Request::Prompt(n)
        });
    }
    if text.starts_with('-') {
        return Err(MagicError::UnknownArgument {
            magic: "env".to_owned(),
            arg: text.split_whitespace().next().unwrap_or(text).to_owned(),
            span: at(text)..at(text) + text.split_whitespace().next().map_or(1, str::len),
            suggestion: Some("-u NAME or -p NAME".to_owned()),
        });
    }
    let (rest, n) = name(text).map_err(|_| {
        bad(
            text,
            "expected a variable name (letters, digits and _)".to_owned(),
        )
    })?;
    if rest.is_empty() {
        return Ok(Request::Get(n));
    }
    if let Ok((value, _)) = (space0::<&str, nom::error::Error<&str>>, char('=')).parse(rest) {
        return Ok(Request::Set(n, value.trim()));
    }
    if let Ok((value, _)) = space1::<&str, nom::error::Error<&str>>(rest) {
        return Ok(Request::Set(n, value.trim_end()));
    }
    Err(bad(
        rest,
        format!(
            "`{n}` is followed by `{}`; a variable name has only letters, digits and _",
            &rest[..rest.chars().next().map_or(0, char::len_utf8)]
        ),
    ))
}

#[async_trait]
impl Magic for Env {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        let leading = call.args.len() - call.args.trim_start().len();
        let text = call.args.trim();
        match parse(text, call.args_start + leading)? {
            Request::List => Ok(Some(list(ctx))),
            Request::Get(n) => {
                let value = ctx
                    .vars
                    .get(n)
                    .ok_or_else(|| MagicError::EnvVarNotSet { name: n.to_owned() })?;
                Ok(Some(Bundle::text(shown_value(n, &value))))
            }
            Request::Set(n, value) => {
                ctx.vars.set(n, value);
                echo(ctx, &format!("env: {n}={}\n", shown_value(n, value)));
                Ok(None)
            }
            Request::Unset(n) => {
                ctx.vars.unset(n);
                echo(ctx, &format!("env: {n} unset\n"));
                Ok(None)
            }
            Request::Prompt(n) => {
                if !ctx.allow_stdin {
                    return Err(MagicError::StdinNotAllowed);
                }
                let value = ctx.out.input(&format!("{n}: "), true).await?;
                ctx.vars.set(n, &value);
                echo(
                    ctx,
                    &format!(
                        "env: {n} set ({} characters, hidden)\n",
                        value.chars().count()
                    ),
                );
                Ok(None)
            }
        }
    }

    fn secret_spans(&self, call: &Call<'_>) -> Vec<std::ops::Range<usize>> {
        let leading = call.args.len() - call.args.trim_start().len();
        let text = call.args.trim();
        let base = call.args_start + leading;
        match parse(text, base) {
            Ok(Request::Set(name, value)) if is_secret_name(name) && !value.is_empty() => {
                let start = base + (value.as_ptr() as usize - text.as_ptr() as usize);
                let span = start..start + value.len();
                vec![span]
            }
            _ => Vec::new(),
        }
    }

    fn complete_value(&self, word: &str) -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| k.starts_with(word))
            .collect()
    }
}

fn echo(ctx: &mut Ctx<'_>, text: &str) {
    ctx.out.stream(Stream::Stdout, text);
}

fn list(ctx: &Ctx<'_>) -> Bundle {
    let all = ctx.vars.all();
    let mut plain = String::new();
    let mut html = String::from(
        "<table class=\"azq-env\"><thead><tr><th style=\"text-align:start\">Name</th>\
         <th style=\"text-align:start\">Value</th></tr></thead><tbody>",
    );
    let mut data = serde_json::Map::new();
    for (name, value) in &all {
        let shown = shown_value(name, value);
        plain.push_str(&format!("{name}={shown}\n"));
        html.push_str(&format!(
            "<tr><td style=\"text-align:start\"><code>{}</code></td>\
             <td style=\"text-align:start\"><code>{}</code></td></tr>",
            escape_html(name),
            escape_html(&shown)
        ));
        data.insert(name.clone(), serde_json::Value::String(shown));
    }
    html.push_str("</tbody></table>");
    Bundle::text(plain.trim_end())
        .with_html(html)
        .with_data("env", serde_json::Value::Object(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::Range;

    #[test]
    fn forms() {
        assert_eq!(parse("", 0), Ok(Request::List));
        assert_eq!(parse("A", 0), Ok(Request::Get("A")));
        assert_eq!(parse("A=1", 0), Ok(Request::Set("A", "1")));
        assert_eq!(
            parse("A = hello, world", 0),
            Ok(Request::Set("A", "hello, world"))
        );
        assert_eq!(
            parse("A hello  world", 0),
            Ok(Request::Set("A", "hello  world"))
        );
        assert_eq!(parse("A=", 0), Ok(Request::Set("A", "")));
        assert_eq!(parse("A=x=y", 0), Ok(Request::Set("A", "x=y")));
        assert_eq!(parse("-u A", 0), Ok(Request::Unset("A")));
        assert_eq!(parse("--prompt A_B", 0), Ok(Request::Prompt("A_B")));
    }

    #[test]
    fn bad_input_points_at_the_problem() {
        let cases: &[(&str, &str, Option<Range<usize>>)] = &[
            ("1A=2", "InvalidArgument", Some(5..9)),
            ("A-B=1", "InvalidArgument", Some(6..10)),
            ("-u", "InvalidArgument", Some(7..8)),
            ("-u 9", "InvalidArgument", Some(8..9)),
            ("-u A B", "InvalidArgument", Some(10..11)),
            ("--bogus A", "UnknownArgument", Some(5..12)),
        ];
        for (text, name, span) in cases {
            let err = parse(text, 5).expect_err(text);
            assert_eq!(
                (err.name(), err.span()),
                (*name, span.clone()),
                "input {text:?}"
            );
        }
    }
}
