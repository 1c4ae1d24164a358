//! The grammar of magic arguments (nom): it recognises shapes only, with byte spans;
//! binding (in `args.rs`) decides what they mean.
//!
//! ```text
//! args       = sep* (arg (sep+ arg)*)? sep*
//! sep        = ' ' | '\t' | '\r' | '\n' | '\' newline
//! arg        = json | flag | named | positional
//! json       = '{' … '}'                      (IQ#'s form: one JSON object of key/values)
//! flag       = '-' '-'? ident                 (-u, --prompt)
//! named      = ident blank* '=' blank* value  (key=value, key = "value")
//! positional = value
//! value      = braced | '"' (escape | char)* '"' | '\'' (escape | char)* '\'' | bare
//! braced     = '{' … '}'                      (a JSON object; braces counted outside strings)
//! bare       = (any char but whitespace and quotes)+
//! ```

use std::ops::Range;

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{take_while, take_while1},
    character::complete::{char, satisfy},
    combinator::{cut, recognize},
    error::{ContextError, ErrorKind, ParseError, context},
    sequence::preceded,
};

/// One argument as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub kind: ArgKind,
    /// Byte range of the whole argument in the cell.
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgKind {
    /// `-u` or `--prompt` (without the dashes).
    Flag(String),
    /// `key=value`; `value_span` is where the value is written.
    Named {
        key: String,
        value: String,
        value_span: Range<usize>,
    },
    /// A bare or quoted value.
    Positional(String),
}

/// Where the grammar stopped and what it wanted there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub span: Range<usize>,
    pub expected: String,
}

#[derive(Debug)]
struct PErr<'a> {
    input: &'a str,
    expected: Option<&'static str>,
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        PErr {
            input,
            expected: None,
        }
    }
    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
}

impl<'a> ContextError<&'a str> for PErr<'a> {
    fn add_context(_input: &'a str, ctx: &'static str, mut other: Self) -> Self {
        other.expected.get_or_insert(ctx);
        other
    }
}

type Res<'a, T> = IResult<&'a str, T, PErr<'a>>;

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn ident(i: &str) -> Res<'_, &str> {
    recognize((satisfy(is_ident_start), take_while(is_ident))).parse(i)
}

/// Separators: whitespace, and a backslash that ends a line.
fn sep(i: &str) -> Res<'_, ()> {
    let mut rest = i;
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        let after = trimmed
            .strip_prefix("\\\r\n")
            .or_else(|| trimmed.strip_prefix("\\\n"))
            .or_else(|| (trimmed == "\\").then_some(""));
        match after {
            Some(a) => rest = a,
            None => return Ok((trimmed, ())),
        }
    }
}

fn quoted(quote: char) -> impl FnMut(&str) -> Res<'_, String> {
    move |i: &str| {
        let (body, _) = char(quote)(i)?;
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((at, c)) = chars.next() {
            if c == quote {
                return Ok((&body[at + c.len_utf8()..], out));
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, e @ ('\\' | '"' | '\''))) => out.push(e),
                Some((_, '\n')) => {}
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => break,
            }
        }
        let expected = if quote == '"' {
            "a closing `\"`"
        } else {
            "a closing `'`"
        };
        Err(nom::Err::Failure(PErr {
            input: &body[body.len()..],
            expected: Some(expected),
        }))
    }
}

fn bare(i: &str) -> Res<'_, String> {
    let (rest, word) = take_while1(|c: char| !c.is_whitespace() && c != '"' && c != '\'')(i)?;
    Ok((rest, word.to_owned()))
}

/// A JSON object written as a named value (`jobParams={"shots": 10}`), taken whole: braces
/// are counted outside JSON strings, so spaces and quotes inside it belong to it.
fn braced(i: &str) -> Res<'_, String> {
    let (_, _) = char('{')(i)?;
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (at, c) in i.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Ok((&i[at + 1..], i[..=at].to_owned()));
                }
            }
            _ => {}
        }
    }
    Err(nom::Err::Failure(PErr {
        input: &i[i.len()..],
        expected: Some("a closing `}`"),
    }))
}

fn value(i: &str) -> Res<'_, String> {
    alt((braced, quoted('"'), quoted('\''), bare)).parse(i)
}

fn flag(i: &str) -> Res<'_, ArgKind> {
    let (rest, name) = preceded((char('-'), take_while(|c| c == '-')), ident).parse(i)?;
    // `-x=1` or `-5` are not flags; let them be values.
    if rest.starts_with(|c: char| !c.is_whitespace()) {
        return Err(nom::Err::Error(PErr::from_error_kind(i, ErrorKind::Verify)));
    }
    Ok((rest, ArgKind::Flag(name.to_owned())))
}

/// Parses a whole argument string that starts at byte `base` of the cell.
pub fn parse_args(text: &str, base: usize) -> Result<Vec<Arg>, SyntaxError> {
    let at = |rest: &str| base + text.len() - rest.len();
    let mut args = Vec::new();
    let (mut rest, ()) = sep(text).expect("sep never fails");
    while !rest.is_empty() {
        let start = at(rest);
        let (after, kinds) = one_arg(rest, &at).map_err(|e| match e {
            nom::Err::Error(e) | nom::Err::Failure(e) => SyntaxError {
                span: at(e.input)..at(e.input) + e.input.chars().next().map_or(0, char::len_utf8),
                expected: e.expected.unwrap_or("an argument").to_owned(),
            },
            nom::Err::Incomplete(_) => SyntaxError {
                span: at("")..at(""),
                expected: "more input".to_owned(),
            },
        })?;
        let end = at(after);
        args.extend(kinds.into_iter().map(|kind| Arg {
            kind,
            span: start..end,
        }));
        if !after.is_empty() && !after.starts_with(char::is_whitespace) && !after.starts_with('\\')
        {
            return Err(SyntaxError {
                span: end..end + after.chars().next().map_or(0, char::len_utf8),
                expected: "a space between arguments".to_owned(),
            });
        }
        rest = sep(after).expect("sep never fails").0;
    }
    Ok(args)
}

fn one_arg<'a>(i: &'a str, at: &dyn Fn(&str) -> usize) -> Res<'a, Vec<ArgKind>> {
    if i.starts_with('{') {
        return json_object(i, at);
    }
    if let Ok((rest, f)) = flag(i) {
        return Ok((rest, vec![f]));
    }
    if let Ok((after_key, key)) = ident(i) {
        let (after_eq, eq) = (
            take_while(is_blank),
            nom::combinator::opt(char::<&str, PErr>('=')),
        )
            .parse(after_key)?;
        if eq.1.is_some() {
            let (value_at, _) = take_while(is_blank)(after_eq)?;
            let (rest, v) = cut(context("a value after `=`", value)).parse(value_at)?;
            let value_span = at(value_at)..at(rest);
            return Ok((
                rest,
                vec![ArgKind::Named {
                    key: key.to_owned(),
                    value: v,
                    value_span,
                }],
            ));
        }
    }
    let (rest, v) = value(i)?;
    Ok((rest, vec![ArgKind::Positional(v)]))
}

/// IQ#'s form: `{"resourceId": "…", "refresh": true}` as named arguments.
fn json_object<'a>(i: &'a str, at: &dyn Fn(&str) -> usize) -> Res<'a, Vec<ArgKind>> {
    let mut stream = serde_json::Deserializer::from_str(i).into_iter::<serde_json::Value>();
    let fail = |input: &'a str| {
        nom::Err::Failure(PErr {
            input,
            expected: Some("a JSON object of string keys and plain values"),
        })
    };
    let object = match stream.next() {
        Some(Ok(serde_json::Value::Object(map))) => map,
        Some(Err(e)) if e.line() > 0 => {
            let line_start: usize = i
                .split_inclusive('\n')
                .take(e.line() - 1)
                .map(str::len)
                .sum();
            let at = (line_start + e.column().saturating_sub(1)).min(i.len());
            return Err(fail(&i[floor(i, at)..]));
        }
        _ => return Err(fail(i)),
    };
    let rest = &i[stream.byte_offset()..];
    let span = at(i)..at(rest);
    let mut kinds = Vec::new();
    for (key, v) in object {
        let value = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(fail(i)),
        };
        kinds.push(ArgKind::Named {
            key,
            value,
            value_span: span.clone(),
        });
    }
    Ok((rest, kinds))
}

fn floor(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(text: &str) -> String {
        match parse_args(text, 0) {
            Ok(args) => args
                .iter()
                .map(|a| match &a.kind {
                    ArgKind::Flag(f) => format!("flag({f})@{:?}", a.span),
                    ArgKind::Named { key, value, .. } => format!("{key}={value:?}@{:?}", a.span),
                    ArgKind::Positional(v) => format!("pos({v:?})@{:?}", a.span),
                })
                .collect::<Vec<_>>()
                .join(" "),
            Err(e) => format!("error: expected {} at {:?}", e.expected, e.span),
        }
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("  ", ""),
            ("a", "pos(\"a\")@0..1"),
            ("key=value", "key=\"value\"@0..9"),
            ("key = value", "key=\"value\"@0..11"),
            ("k=\"a b\"", "k=\"a b\"@0..7"),
            ("k='a \"b\"'", "k=\"a \\\"b\\\"\"@0..9"),
            ("k=\"a\\\"b\\n\"", "k=\"a\\\"b\\n\"@0..10"),
            ("refresh k=v", "pos(\"refresh\")@0..7 k=\"v\"@8..11"),
            ("-u NAME", "flag(u)@0..2 pos(\"NAME\")@3..7"),
            ("--prompt", "flag(prompt)@0..8"),
            ("-5", "pos(\"-5\")@0..2"),
            (
                "cs=Endpoint=https://x/;Key=abc==",
                "cs=\"Endpoint=https://x/;Key=abc==\"@0..32",
            ),
            ("a \\\n b", "pos(\"a\")@0..1 pos(\"b\")@5..6"),
            ("a\n   b=1", "pos(\"a\")@0..1 b=\"1\"@5..8"),
            (
                "{\"resourceId\": \"x\", \"refresh\": true}",
                "refresh=\"true\"@0..36 resourceId=\"x\"@0..36",
            ),
            ("/subscriptions/x/y", "pos(\"/subscriptions/x/y\")@0..18"),
            (
                "p={\"a\": {\"b\": \"}\"}} n=1",
                "p=\"{\\\"a\\\": {\\\"b\\\": \\\"}\\\"}}\"@0..19 n=\"1\"@20..23",
            ),
            ("p={\"a\": 1", "error: expected a closing `}` at 9..9"),
            ("é=1", "pos(\"é=1\")@0..4"),
            // errors
            ("k=\"abc", "error: expected a closing `\"` at 6..6"),
            ("k='abc", "error: expected a closing `'` at 6..6"),
            ("k=", "error: expected a value after `=` at 2..2"),
            ("k= ", "error: expected a value after `=` at 3..3"),
            (
                "\"a\"b",
                "error: expected a space between arguments at 3..4",
            ),
            (
                "{\"a\": [1]}",
                "error: expected a JSON object of string keys and plain values at 0..1",
            ),
            (
                "{\"a\": ",
                "error: expected a JSON object of string keys and plain values at 5..6",
            ),
            ("[1]", "pos(\"[1]\")@0..3"),
        ];
        for (input, want) in cases {
            assert_eq!(show(input), *want, "input: {input:?}");
        }
    }

    #[test]
    fn spans_are_offset_by_base() {
        let args = parse_args(" k=v", 10).unwrap();
        assert_eq!(args[0].span, 11..14);
        match &args[0].kind {
            ArgKind::Named { value_span, .. } => assert_eq!(*value_span, 13..14),
            other => panic!("{other:?}"),
        }
    }
}
