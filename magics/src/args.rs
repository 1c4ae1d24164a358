//! Binding: checks parsed arguments against a magic's declaration (unknown names with a
//! "did you mean", repeats, extra values) and hands out typed values.

use std::ops::Range;

use crate::cell::Call;
use crate::error::MagicError;
use crate::grammar::{ArgKind, parse_args};
use crate::spec::{MagicSpec, ParamKind};

/// Arguments that passed binding, by declared parameter name.
#[derive(Debug, Default)]
pub struct Bound {
    flags: Vec<&'static str>,
    /// Name, value, the whole argument's span, the value's span.
    named: Vec<(&'static str, String, Range<usize>, Range<usize>)>,
    positional: Vec<(String, Range<usize>)>,
    word_spans: Vec<(&'static str, Range<usize>)>,
}

fn word_param<'a>(spec: &'a MagicSpec, word: &str) -> Option<&'a crate::spec::Param> {
    spec.params
        .iter()
        .find(|p| p.kind == ParamKind::Word && p.name.eq_ignore_ascii_case(word))
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
        let positional_slots = spec
            .params
            .iter()
            .filter(|p| p.kind == ParamKind::Positional)
            .count();
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
                    if bound.flags.contains(&p.name) {
                        return Err(repeated(spec, p.name, arg.span));
                    }
                    bound.flags.push(p.name);
                }
                ArgKind::Named {
                    key,
                    value,
                    value_span,
                } => {
                    if let Some(p) = word_param(spec, &key) {
                        match value.to_ascii_lowercase().as_str() {
                            "true" => bound.set_word(spec, p.name, arg.span.clone())?,
                            "false" => {}
                            _ => {
                                return Err(MagicError::InvalidArgument {
                                    magic: spec.name.to_owned(),
                                    message: format!(
                                        "`{}` takes no value: write it alone (or `\"{}\": true`)",
                                        p.name, p.name
                                    ),
                                    span: Some(arg.span),
                                });
                            }
                        }
                        continue;
                    }
                    let found = spec
                        .params
                        .iter()
                        .find(|p| p.kind == ParamKind::Named && p.name.eq_ignore_ascii_case(&key));
                    let Some(p) = found else {
                        let names = spec
                            .params
                            .iter()
                            .filter(|p| p.kind == ParamKind::Named)
                            .map(|p| p.name.to_owned());
                        return Err(MagicError::UnknownArgument {
                            magic: spec.name.to_owned(),
                            suggestion: closest(&key, names),
                            arg: key,
                            span: arg.span,
                        });
                    };
                    if bound.named.iter().any(|(n, ..)| *n == p.name) {
                        return Err(repeated(spec, p.name, arg.span));
                    }
                    bound.named.push((p.name, value, arg.span, value_span));
                }
                ArgKind::Positional(value) => {
                    if let Some(p) = word_param(spec, &value) {
                        bound.set_word(spec, p.name, arg.span)?;
                        continue;
                    }
                    if bound.positional.len() == positional_slots {
                        return Err(MagicError::InvalidArgument {
                            magic: spec.name.to_owned(),
                            message: format!(
                                "unexpected argument `{value}`; usage: {}",
                                spec.usage
                            ),
                            span: Some(arg.span),
                        });
                    }
                    bound.positional.push((value, arg.span));
                }
            }
        }
        Ok(bound)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    pub fn named(&self, name: &str) -> Option<(&str, Range<usize>)> {
        self.named
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, v, s, _)| (v.as_str(), s.clone()))
    }

    /// Where a named argument's value is written (inside its quotes, if any).
    pub fn value_span(&self, name: &str) -> Option<Range<usize>> {
        self.named
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(.., s)| s.clone())
    }

    /// Every named argument given, in order: name and whole span.
    pub fn named_spans(&self) -> impl Iterator<Item = (&'static str, Range<usize>)> + '_ {
        self.named.iter().map(|(n, _, s, _)| (*n, s.clone()))
    }

    fn set_word(
        &mut self,
        spec: &MagicSpec,
        name: &'static str,
        span: Range<usize>,
    ) -> Result<(), MagicError> {
        if self.flags.contains(&name) {
            return Err(repeated(spec, name, span));
        }
        self.flags.push(name);
        self.word_spans.push((name, span));
        Ok(())
    }

    /// Where a bare word was written.
    pub fn word_span(&self, name: &str) -> Option<Range<usize>> {
        self.word_spans
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s.clone())
    }

    pub fn positional(&self, index: usize) -> Option<(&str, Range<usize>)> {
        self.positional
            .get(index)
            .map(|(v, s)| (v.as_str(), s.clone()))
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
