//! Binding: checks parsed arguments against a magic's declaration (unknown names with a
//! "did you mean", repeats, extra values, each value against its `ValueKind`, the spec's
//! `Rule`s, defaults) and hands out typed values.

use std::ops::Range;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::cell::Call;
use crate::error::MagicError;
use crate::grammar::{ArgKind, parse_args};
use crate::spec::{MagicSpec, Param, ParamKind, Rule, ValueKind};

/// A value as binding parsed it.
#[derive(Debug, Clone)]
enum Parsed {
    Plain,
    Int(u64),
    Seconds(Duration),
    Json(Map<String, Value>),
}

/// A named or positional argument that was given.
#[derive(Debug)]
struct Given {
    name: &'static str,
    /// As written (unescaped); for `OneOf`, the declared spelling.
    value: String,
    /// The whole argument.
    span: Range<usize>,
    /// The value as written, quotes included.
    written: Range<usize>,
    /// The value inside its quotes.
    inner: Range<usize>,
    by_position: bool,
    parsed: Parsed,
}

/// Arguments that passed binding, by declared parameter name.
#[derive(Debug, Default)]
pub struct Bound {
    /// Flags and words given, with where.
    switches: Vec<(&'static str, Range<usize>)>,
    given: Vec<Given>,
    /// Every value given by position, in order.
    positional: Vec<(String, Range<usize>)>,
    defaults: Vec<(&'static str, &'static str, Parsed)>,
    extra: Vec<(String, String, Range<usize>)>,
    /// Each extra's whole argument.
    extra_spans: Vec<Range<usize>>,
}

fn word_param<'a>(spec: &'a MagicSpec, word: &str) -> Option<&'a Param> {
    spec.params
        .iter()
        .find(|p| p.kind == ParamKind::Word && p.name.eq_ignore_ascii_case(word))
}

fn invalid(spec: &MagicSpec, message: String, span: Range<usize>) -> MagicError {
    MagicError::InvalidArgument {
        magic: spec.name.to_owned(),
        message,
        span: Some(span),
    }
}

fn conflict(spec: &MagicSpec, message: String, span: Range<usize>) -> MagicError {
    MagicError::ConflictingArguments {
        magic: spec.name.to_owned(),
        message,
        span,
    }
}

/// `span` without its quotes, if the cell has them there.
fn unquoted(call: &Call<'_>, span: Range<usize>) -> Range<usize> {
    let quoted = span
        .start
        .checked_sub(call.args_start)
        .and_then(|at| call.args.get(at..))
        .is_some_and(|t| t.starts_with(['"', '\'']));
    let q = usize::from(quoted);
    span.start + q..(span.end - q).max(span.start + q)
}

impl Bound {
    /// Parses `call.args` and checks them against `spec`.
    pub fn bind(spec: &MagicSpec, call: &Call<'_>) -> Result<Bound, MagicError> {
        let args = parse_args(call.args, call.args_start).map_err(|e| MagicError::Syntax {
            magic: spec.name.to_owned(),
            expected: e.expected,
            span: e.span,
        })?;
        let mut bound = Bound::default();
        let slots: Vec<&Param> = spec
            .params
            .iter()
            .filter(|p| p.kind == ParamKind::Positional)
            .collect();
        for arg in args {
            match arg.kind {
                ArgKind::Flag(name) => {
                    let found = spec.params.iter().find(|p| match p.kind {
                        ParamKind::Flag { short } => {
                            p.name == name || short.is_some_and(|c| name == c.to_string())
                        }
                        _ => false,
                    });
                    let Some(p) = found else {
                        let dashed = spec
                            .params
                            .iter()
                            .filter(|p| matches!(p.kind, ParamKind::Flag { .. }))
                            .map(|p| format!("--{}", p.name));
                        return Err(MagicError::UnknownArgument {
                            magic: spec.name.to_owned(),
                            suggestion: closest(&format!("--{name}"), dashed),
                            arg: format!("-{}{name}", if name.len() > 1 { "-" } else { "" }),
                            span: arg.span,
                        });
                    };
                    bound.switch(spec, p.name, arg.span)?;
                }
                ArgKind::Named {
                    key,
                    value,
                    value_span,
                } => {
                    if let Some(p) = word_param(spec, &key) {
                        match value.to_ascii_lowercase().as_str() {
                            "true" => bound.switch(spec, p.name, arg.span.clone())?,
                            "false" => {}
                            _ => {
                                return Err(invalid(
                                    spec,
                                    format!(
                                        "`{}` takes no value: write it alone (or `\"{}\": true`)",
                                        p.name, p.name
                                    ),
                                    arg.span,
                                ));
                            }
                        }
                        continue;
                    }
                    let Some(p) = spec.params.iter().find(|p| p.takes_key(&key)) else {
                        if spec.extra {
                            let inner = unquoted(call, value_span);
                            bound.extra.push((key, value, inner));
                            bound.extra_spans.push(arg.span);
                            continue;
                        }
                        let names = spec
                            .params
                            .iter()
                            .filter(|p| p.takes_key(p.name))
                            .map(|p| p.name.to_owned());
                        return Err(MagicError::UnknownArgument {
                            magic: spec.name.to_owned(),
                            suggestion: closest(&key, names),
                            arg: key,
                            span: arg.span,
                        });
                    };
                    bound.add(spec, call, p, value, arg.span, value_span, false)?;
                }
                ArgKind::Positional(value) => {
                    if let Some(p) = word_param(spec, &value) {
                        bound.switch(spec, p.name, arg.span)?;
                        continue;
                    }
                    let Some(p) = slots.get(bound.positional.len()) else {
                        return Err(invalid(
                            spec,
                            format!("unexpected argument `{value}`; usage: {}", spec.usage),
                            arg.span,
                        ));
                    };
                    bound.positional.push((value.clone(), arg.span.clone()));
                    bound.add(spec, call, p, value, arg.span.clone(), arg.span, true)?;
                }
            }
        }
        bound.check_rules(spec)?;
        for p in spec.params {
            if let Some(default) = p.default
                && !bound.given.iter().any(|g| g.name == p.name)
            {
                let (_, parsed) = check(p, default).map_err(|e| MagicError::Internal {
                    message: format!(
                        "the declaration of `{}` has a bad default for `{}`: {}",
                        spec.name, p.name, e.message
                    ),
                })?;
                bound.defaults.push((p.name, default, parsed));
            }
        }
        Ok(bound)
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        spec: &MagicSpec,
        call: &Call<'_>,
        p: &Param,
        value: String,
        span: Range<usize>,
        written: Range<usize>,
        by_position: bool,
    ) -> Result<(), MagicError> {
        if let Some(before) = self.given.iter().find(|g| g.name == p.name) {
            if before.by_position == by_position {
                return Err(repeated(spec, p.name, span));
            }
            return Err(conflict(
                spec,
                format!(
                    "`{}` is given twice, once by position and once as `{}=`; keep one",
                    p.name, p.name
                ),
                written,
            ));
        }
        let inner = unquoted(call, written.clone());
        let (value, parsed) = match check(p, &value) {
            Ok(ok) => ok,
            Err(e) => {
                let span = if e.whole {
                    span
                } else {
                    match e.at {
                        // Where the value is written as it reads, point inside it.
                        Some(at)
                            if inner
                                .start
                                .checked_sub(call.args_start)
                                .and_then(|s| call.args.get(s..s + value.len()))
                                == Some(value.as_str()) =>
                        {
                            let start = inner.start + at;
                            let len = value[at..].chars().next().map_or(0, char::len_utf8);
                            start..start + len
                        }
                        _ => written,
                    }
                };
                return Err(invalid(spec, e.message, span));
            }
        };
        self.given.push(Given {
            name: p.name,
            value,
            span,
            written,
            inner,
            by_position,
            parsed,
        });
        Ok(())
    }

    fn switch(
        &mut self,
        spec: &MagicSpec,
        name: &'static str,
        span: Range<usize>,
    ) -> Result<(), MagicError> {
        if self.flag(name) {
            return Err(repeated(spec, name, span));
        }
        self.switches.push((name, span));
        Ok(())
    }

    /// Where an argument was given (the whole argument), if it was.
    fn given_span(&self, name: &str) -> Option<Range<usize>> {
        self.given
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.span.clone())
            .or_else(|| self.word_span(name))
    }

    /// Every argument given, in the order written: name and whole span.
    fn all_given(&self) -> Vec<(&str, Range<usize>)> {
        let mut all: Vec<(&str, Range<usize>)> = self
            .given
            .iter()
            .map(|g| (g.name, g.span.clone()))
            .chain(self.switches.iter().map(|(n, s)| (*n, s.clone())))
            .chain(
                self.extra
                    .iter()
                    .zip(&self.extra_spans)
                    .map(|((k, ..), s)| (k.as_str(), s.clone())),
            )
            .collect();
        all.sort_by_key(|(_, s)| s.start);
        all
    }

    fn check_rules(&self, spec: &MagicSpec) -> Result<(), MagicError> {
        // The later of two, and the other: the caret goes where the conflict became one.
        let later = |a: (&'static str, Range<usize>), b: (&'static str, Range<usize>)| {
            if b.1.start >= a.1.start {
                (b, a)
            } else {
                (a, b)
            }
        };
        for rule in spec.rules {
            match *rule {
                Rule::Conflicts { a, b, why } => {
                    if let (Some(sa), Some(sb)) = (self.given_span(a), self.given_span(b)) {
                        let ((l, span), (e, _)) = later((a, sa), (b, sb));
                        return Err(conflict(spec, format!("{why}; drop `{l}` or `{e}`"), span));
                    }
                }
                Rule::Excludes { a, others, why } => {
                    let Some(sa) = self.given_span(a) else {
                        continue;
                    };
                    for &b in others {
                        if let Some(sb) = self.given_span(b) {
                            let ((l, span), (e, _)) = later((a, sa.clone()), (b, sb));
                            return Err(conflict(
                                spec,
                                format!("{why}; drop `{l}` or `{e}`"),
                                span,
                            ));
                        }
                    }
                }
                Rule::Alone { a, why } => {
                    let Some(sa) = self.given_span(a) else {
                        continue;
                    };
                    if let Some((b, sb)) = self.all_given().into_iter().find(|(n, _)| *n != a) {
                        let span = if sb.start > sa.start { sb } else { sa };
                        return Err(conflict(spec, format!("{why}; drop `{b}`"), span));
                    }
                }
                Rule::Requires { a, needs, why } => {
                    if let Some(sa) = self.given_span(a)
                        && self.given_span(needs).is_none()
                    {
                        return Err(invalid(
                            spec,
                            format!("{why}; give `{needs}` too, or drop `{a}`"),
                            sa,
                        ));
                    }
                }
                Rule::OneOf { names, why } => {
                    let mut seen: Vec<(&str, Range<usize>)> = self
                        .all_given()
                        .into_iter()
                        .filter(|(n, _)| names.contains(n))
                        .collect();
                    if seen.len() > 1 {
                        let (_, span) = seen.swap_remove(1);
                        let list = names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        return Err(conflict(
                            spec,
                            format!("{why}; give only one of {list}"),
                            span,
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether a flag or word was given.
    pub fn flag(&self, name: &str) -> bool {
        self.switches.iter().any(|(n, _)| *n == name)
    }

    fn found(&self, name: &str) -> Option<&Given> {
        self.given.iter().find(|g| g.name == name)
    }

    fn parsed(&self, name: &str) -> Option<&Parsed> {
        self.found(name).map(|g| &g.parsed).or_else(|| {
            self.defaults
                .iter()
                .find(|(n, ..)| *n == name)
                .map(|(.., p)| p)
        })
    }

    /// A named or positional value (for `OneOf`, the declared spelling), else its default.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.found(name).map(|g| g.value.as_str()).or_else(|| {
            self.defaults
                .iter()
                .find(|(n, ..)| *n == name)
                .map(|(_, d, _)| *d)
        })
    }

    /// An `Int` value, else its default.
    pub fn int(&self, name: &str) -> Option<u64> {
        match self.parsed(name)? {
            Parsed::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// A `Seconds` value, else its default.
    pub fn seconds(&self, name: &str) -> Option<Duration> {
        match self.parsed(name)? {
            Parsed::Seconds(d) => Some(*d),
            _ => None,
        }
    }

    /// A `JsonObject` value (parsed once, at binding), else its default.
    pub fn json(&self, name: &str) -> Option<&Map<String, Value>> {
        match self.parsed(name)? {
            Parsed::Json(m) => Some(m),
            _ => None,
        }
    }

    /// Where a given value is written, inside its quotes (None for a default).
    pub fn span(&self, name: &str) -> Option<Range<usize>> {
        self.found(name).map(|g| g.inner.clone())
    }

    /// Undeclared `key=value` arguments (kept only when the spec sets `extra`), in order:
    /// key, value and the value's span inside its quotes.
    pub fn extra(&self) -> &[(String, String, Range<usize>)] {
        &self.extra
    }

    /// A value given as `name=value` (not by position) and the whole argument's span.
    pub fn named(&self, name: &str) -> Option<(&str, Range<usize>)> {
        self.found(name)
            .filter(|g| !g.by_position)
            .map(|g| (g.value.as_str(), g.span.clone()))
    }

    /// Where a given value is written, quotes included.
    pub fn value_span(&self, name: &str) -> Option<Range<usize>> {
        self.found(name).map(|g| g.written.clone())
    }

    /// Every `name=value` given, in order: name and whole span.
    pub fn named_spans(&self) -> impl Iterator<Item = (&'static str, Range<usize>)> + '_ {
        self.given
            .iter()
            .filter(|g| !g.by_position)
            .map(|g| (g.name, g.span.clone()))
    }

    /// Where a bare word (or flag) was written.
    pub fn word_span(&self, name: &str) -> Option<Range<usize>> {
        self.switches
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s.clone())
    }

    /// The `index`th value given by position, and where.
    pub fn positional(&self, index: usize) -> Option<(&str, Range<usize>)> {
        self.positional
            .get(index)
            .map(|(v, s)| (v.as_str(), s.clone()))
    }
}

/// Why a value was refused: the message, and where inside the value (a byte offset) when
/// known; `whole` points at the whole argument (an empty value has nothing to point at).
#[derive(Debug)]
struct Refused {
    message: String,
    at: Option<usize>,
    whole: bool,
}

fn refused(message: String) -> Refused {
    Refused {
        message,
        at: None,
        whole: false,
    }
}

/// A value as shown in a message: at most 60 characters.
fn shown(v: &str) -> String {
    if v.chars().count() <= 60 {
        v.to_owned()
    } else {
        format!("{}…", v.chars().take(59).collect::<String>())
    }
}

fn is_guid(v: &str) -> bool {
    let groups: Vec<&str> = v.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `30`, `2.5`, `30s`, `5m`, `1h`, `250ms` as a duration.
fn parse_seconds(v: &str) -> Option<Duration> {
    let t = v.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let plain = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().filter(|b| *b == b'.').count() <= 1
        && number != ".";
    if !plain {
        return None;
    }
    let secs = number.parse::<f64>().ok()? * scale;
    Duration::try_from_secs_f64(secs).ok()
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// An RFC 3339 full-date, or date-time with `T` (or a space) and an offset.
fn is_timestamp(v: &str) -> bool {
    let digits = |s: &str, n: usize| {
        (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok())?
    };
    let (date, time) = match v.find(['T', 't', ' ']) {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(y), Some(m), Some(d)) = (digits(y, 4), digits(m, 2), digits(d, 2)) else {
        return false;
    };
    if d == 0 || d > days_in_month(y, m) {
        return false;
    }
    let Some(time) = time else {
        return true;
    };
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, None)
    } else if let Some(i) = time.rfind(['+', '-']) {
        (&time[..i], Some(&time[i + 1..]))
    } else {
        return false;
    };
    if let Some(o) = offset {
        let Some((h, m)) = o.split_once(':') else {
            return false;
        };
        if !matches!((digits(h, 2), digits(m, 2)), (Some(h), Some(m)) if h < 24 && m < 60) {
            return false;
        }
    }
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut hms = hms.split(':');
    let (Some(h), Some(mi), Some(s), None) = (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return false;
    };
    matches!(
        (digits(h, 2), digits(mi, 2), digits(s, 2)),
        (Some(h), Some(mi), Some(s)) if h < 24 && mi < 60 && s <= 60
    ) && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Checks `value` against `p.value`: the value to keep (`OneOf`'s spelling) and its parse.
fn check(p: &Param, value: &str) -> Result<(String, Parsed), Refused> {
    let name = p.name;
    if value.trim().is_empty() {
        return Err(Refused {
            message: format!("`{name}` is empty; give it a value or leave it out"),
            at: None,
            whole: true,
        });
    }
    let v = value;
    let plain = |ok: bool, message: String| {
        if ok {
            Ok((v.to_owned(), Parsed::Plain))
        } else {
            Err(refused(message))
        }
    };
    match p.value {
        ValueKind::Text => Ok((v.to_owned(), Parsed::Plain)),
        ValueKind::Guid => plain(
            is_guid(v),
            format!(
                "`{}` is not a GUID; give `{name}` as 8-4-4-4-12 hex digits, like \
                 00000000-0000-0000-0000-000000000000",
                shown(v)
            ),
        ),
        ValueKind::JobId => plain(
            is_guid(v),
            format!(
                "`{}` is not a job id; a job id is a GUID like \
                 00000000-0000-0000-0000-000000000000 (`%azure.jobs` lists them)",
                shown(v)
            ),
        ),
        ValueKind::Int { min, max } => match v.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok((v.to_owned(), Parsed::Int(n))),
            _ => Err(refused(format!(
                "`{name}` is `{}`; give a whole number from {min} to {max}",
                shown(v)
            ))),
        },
        ValueKind::Seconds { min, max } => match parse_seconds(v) {
            Some(d) if d >= Duration::from_secs(min) && d <= Duration::from_secs(max) => {
                Ok((v.to_owned(), Parsed::Seconds(d)))
            }
            _ => Err(refused(format!(
                "`{name}` is `{}`; give a number of seconds from {min} to {max}, like 30, 2.5, \
                 30s or 5m",
                shown(v)
            ))),
        },
        ValueKind::JsonObject => match serde_json::from_str::<Value>(v) {
            Ok(Value::Object(map)) => Ok((v.to_owned(), Parsed::Json(map))),
            Ok(other) => {
                let what = match other {
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    _ => "null",
                };
                Err(refused(format!(
                    "`{name}` is {what}; give a JSON object, like {name}='{{\"key\": 1}}'"
                )))
            }
            Err(e) => {
                let line_start: usize = v
                    .split_inclusive('\n')
                    .take(e.line().saturating_sub(1))
                    .map(str::len)
                    .sum();
                let mut at = (line_start + e.column().saturating_sub(1)).min(v.len());
                while !v.is_char_boundary(at) {
                    at -= 1;
                }
                Err(Refused {
                    message: format!(
                        "`{name}` is not a JSON object ({e}); give one like {name}='{{\"key\": 1}}'"
                    ),
                    at: Some(at),
                    whole: false,
                })
            }
        },
        ValueKind::OneOf(choices) => match choices.iter().find(|c| c.eq_ignore_ascii_case(v)) {
            Some(c) => Ok(((*c).to_owned(), Parsed::Plain)),
            None => {
                let near = closest(v, choices.iter().map(|c| (*c).to_owned()));
                Err(refused(format!(
                    "`{}` is not a choice for `{name}`{}; give one of {}",
                    shown(v),
                    near.map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default(),
                    choices.join(", ")
                )))
            }
        },
        ValueKind::TargetId => plain(
            v.len() <= 128
                && v.contains('.')
                && !v.starts_with('.')
                && !v.ends_with('.')
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')),
            format!(
                "`{}` is not a target id; give provider.target (letters, digits, `.`, `-`, \
                 `_`), like ionq.simulator",
                shown(v)
            ),
        ),
        ValueKind::ProgramName => plain(
            v.len() <= 128
                && v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')),
            format!(
                "`{}` is not a program name; a name starts with a letter or `_` and has only \
                 letters, digits, `_`, `-` and `.`",
                shown(v)
            ),
        ),
        ValueKind::Path => plain(
            !v.contains('\0'),
            format!("`{name}` holds a NUL character; give a file path"),
        ),
        ValueKind::Timestamp => plain(
            is_timestamp(v),
            format!(
                "`{}` is not a date; give an RFC 3339 date or date-time, like 2026-12-01 or \
                 2026-12-01T10:00:00Z",
                shown(v)
            ),
        ),
        ValueKind::Custom(f) => f(v)
            .map(|()| (v.to_owned(), Parsed::Plain))
            .map_err(refused),
    }
}

fn repeated(spec: &MagicSpec, name: &str, span: Range<usize>) -> MagicError {
    MagicError::InvalidArgument {
        magic: spec.name.to_owned(),
        message: format!("`{name}` is given twice; keep one"),
        span: Some(span),
    }
}

/// The candidate nearest to `word`, if any is near enough to be a likely typo.
pub fn closest(word: &str, candidates: impl IntoIterator<Item = String>) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
