//! Help while typing: completion, inspection (help for the magic under the cursor) and
//! whether a cell is complete. All take byte offsets; they need no running session.

use std::sync::{Arc, Mutex};

use crate::azure::AzureSession;
use crate::bundle::Bundle;
use crate::cell::{Form, Part, split};
use crate::grammar::{ArgKind, parse_args};
use crate::registry;
use crate::spec::{MagicSpec, Param, ParamKind, ValueKind};

/// Completion candidates that replace `code[start..end]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    pub matches: Vec<String>,
    pub start: usize,
    pub end: usize,
    /// What each match is, in the order of `matches` (a magic, a parameter, a program, a
    /// job, or a target with its availability: "target · Available"); empty when none.
    pub types: Vec<String>,
}

/// Whether a cell can run as it is, as a console asks before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    /// More lines are expected; the indent to start the next one with.
    Incomplete(String),
    Invalid,
}

fn line_around(code: &str, cursor: usize) -> (usize, &str) {
    let cursor = floor(code, cursor);
    let start = code[..cursor].rfind('\n').map_or(0, |i| i + 1);
    let end = code[cursor..].find('\n').map_or(code.len(), |i| cursor + i);
    (start, &code[start..end])
}

/// `i`, moved back to a character boundary of `text` (and not past its end).
pub(crate) fn floor(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Completes a magic name, a flag, a `key=`, a value, or (for `%env`) a variable name,
/// without a session (`Engine::complete` adds the session's targets, jobs, programs).
pub fn complete(code: &str, cursor: usize) -> Completion {
    complete_in(code, cursor, None)
}

/// What completion offers from a session: its target ids, program names and job ids.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionValues {
    targets: Vec<String>,
    programs: Vec<String>,
    jobs: Vec<String>,
    /// Each target id with its availability.
    availability: Vec<(String, String)>,
}

impl SessionValues {
    pub(crate) fn of(session: &AzureSession) -> SessionValues {
        SessionValues {
            targets: crate::azure::candidates(session, ValueKind::TargetId),
            programs: crate::azure::candidates(session, ValueKind::ProgramName),
            jobs: crate::azure::candidates(session, ValueKind::JobId),
            availability: crate::azure::availability(session),
        }
    }

    fn get(&self, kind: ValueKind) -> &[String] {
        match kind {
            ValueKind::TargetId => &self.targets,
            ValueKind::ProgramName => &self.programs,
            ValueKind::JobId => &self.jobs,
            _ => &[],
        }
    }
}

/// Completion with the session's values, for a front end that answers completion requests
/// while a cell runs: the engine copies its session's values in after every cell
/// (`Engine::completer`), so completing never waits for the engine.
#[derive(Debug, Clone, Default)]
pub struct Completer(Arc<Mutex<SessionValues>>);

impl Completer {
    pub fn complete(&self, code: &str, cursor: usize) -> Completion {
        let values = self.0.lock().map(|v| v.clone()).unwrap_or_default();
        complete_in(code, cursor, Some(&values))
    }

    pub(crate) fn refresh(&self, session: &AzureSession) {
        let values = SessionValues::of(session);
        if let Ok(mut held) = self.0.lock() {
            *held = values;
        }
    }
}

/// The values completion offers for `p`: its examples, its kind's choices, and what the
/// session holds for the kinds that name session things.
fn value_candidates(p: &Param, session: Option<&SessionValues>) -> Vec<String> {
    let mut out: Vec<String> = p.values.iter().map(|v| (*v).to_owned()).collect();
    if let ValueKind::OneOf(choices) = p.value {
        out.extend(choices.iter().map(|c| (*c).to_owned()));
    }
    if let Some(values) = session {
        out.extend(values.get(p.value).iter().cloned());
    }
    out
}

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Candidates for `word`, the argument under the cursor, from `spec`'s declaration;
/// `before` is the argument text written before it (to count positionals).
fn complete_args(
    spec: &MagicSpec,
    before: &str,
    word: &str,
    azure: Option<&SessionValues>,
) -> Vec<String> {
    let mut matches = Vec::new();
    if let Some((key, value)) = word.split_once('=') {
        if let Some(p) = spec.params.iter().find(|p| p.takes_key(key)) {
            matches = value_candidates(p, azure)
                .into_iter()
                .filter(|v| starts_with_ci(v, value))
                .map(|v| format!("{key}={v}"))
                .collect();
        }
        return matches;
    }
    for p in spec.params {
        match p.kind {
            ParamKind::Flag { short } => {
                let long = format!("--{}", p.name);
                if word.starts_with('-') && long.starts_with(word) {
                    matches.push(long);
                } else if let Some(c) = short.map(|c| format!("-{c}")).filter(|s| s == word) {
                    matches.push(c);
                }
            }
            ParamKind::Word if !word.is_empty() && starts_with_ci(p.name, word) => {
                matches.push(p.name.to_owned());
            }
            _ if p.takes_key(p.name) && !word.starts_with('-') && starts_with_ci(p.name, word) => {
                matches.push(format!("{}=", p.name));
            }
            _ => {}
        }
    }
    if word.starts_with('-') {
        return matches;
    }
    // A bare word: the values of the positional parameter it would bind to.
    let written = parse_args(before, 0).map(|args| {
        args.iter()
            .filter(|a| match &a.kind {
                ArgKind::Positional(v) => !spec
                    .params
                    .iter()
                    .any(|p| p.kind == ParamKind::Word && p.name.eq_ignore_ascii_case(v)),
                _ => false,
            })
            .count()
    });
    if let Ok(index) = written
        && let Some(p) = spec
            .params
            .iter()
            .filter(|p| p.kind == ParamKind::Positional)
            .nth(index)
    {
        matches.extend(
            value_candidates(p, azure)
                .into_iter()
                .filter(|v| starts_with_ci(v, word)),
        );
    }
    matches
}

pub(crate) fn complete_in(code: &str, cursor: usize, azure: Option<&SessionValues>) -> Completion {
    let cursor = floor(code, cursor);
    let (line_start, line) = line_around(code, cursor);
    let before = &code[line_start..cursor];
    let indent = before.len() - before.trim_start().len();
    let typed = &before[indent..];
    if !typed.starts_with('%') {
        return Completion {
            start: cursor,
            end: cursor,
            ..Completion::default()
        };
    }
    let word_start = before
        .char_indices()
        .rfind(|(_, c)| c.is_whitespace())
        // After the space, whatever its width (U+00A0 and U+2006 take more than a byte).
        .map_or(line_start, |(i, c)| line_start + i + c.len_utf8());
    let word = &code[word_start..cursor];
    if word_start == line_start + indent {
        let matches: Vec<String> = registry::all()
            .iter()
            .map(|m| m.spec().call_name())
            .filter(|n| n.starts_with(word))
            .collect();
        let types = vec!["magic".to_owned(); matches.len()];
        return Completion {
            matches,
            start: word_start,
            end: cursor,
            types,
        };
    }
    let head = line[indent..].split_whitespace().next().unwrap_or("");
    let form = if head.starts_with("%%") {
        Form::Cell
    } else {
        Form::Line
    };
    let name = head.trim_start_matches('%').trim_end_matches('?');
    let Some(magic) = registry::lookup(name, form) else {
        return Completion {
            start: cursor,
            end: cursor,
            ..Completion::default()
        };
    };
    let spec = magic.spec();
    let args_start = line_start + indent + head.len();
    let before = code.get(args_start..word_start).unwrap_or("");
    let mut matches = complete_args(spec, before, word, azure);
    if !word.starts_with('-') && !word.contains('=') {
        matches.extend(magic.complete_value(word));
    }
    matches.sort();
    matches.dedup();
    let types = matches.iter().map(|m| match_type(m, azure)).collect();
    Completion {
        matches,
        start: word_start,
        end: cursor,
        types,
    }
}

/// What a completion of an argument is: a target (with its availability), a program, a job,
/// a flag or a parameter's key, else a value.
fn match_type(m: &str, azure: Option<&SessionValues>) -> String {
    if m.starts_with('-') {
        return "flag".to_owned();
    }
    if m.ends_with('=') {
        return "parameter".to_owned();
    }
    let value = m.split_once('=').map_or(m, |(_, v)| v);
    if let Some(values) = azure {
        if let Some((_, availability)) = values.availability.iter().find(|(id, _)| id == value) {
            return format!("target · {availability}");
        }
        if values.programs.iter().any(|p| p == value) {
            return "program".to_owned();
        }
        if values.jobs.iter().any(|j| j == value) {
            return "job".to_owned();
        }
    }
    "value".to_owned()
}

/// Help for the magic on the cursor's line, if there is one.
pub fn inspect(code: &str, cursor: usize) -> Option<Bundle> {
    let (_, line) = line_around(code, cursor);
    let head = line.split_whitespace().next()?;
    let form = if head.starts_with("%%") {
        Form::Cell
    } else if head.starts_with('%') {
        Form::Line
    } else {
        return None;
    };
    let name = head.trim_start_matches('%').trim_end_matches('?');
    registry::lookup(name, form).map(|m| m.spec().help())
}

/// Whether the cell is ready to run: a trailing `\`, an empty cell-magic body or unclosed
/// brackets in code mean more is to come; brackets closed that were never opened are invalid.
pub fn is_complete(code: &str) -> Completeness {
    let last = code.lines().last().unwrap_or("");
    if last.trim_end().ends_with('\\') {
        return Completeness::Incomplete(String::new());
    }
    let mut result = Completeness::Complete;
    for part in split(code) {
        match part {
            Part::Magic(call)
                if call.form == Form::Cell && call.body.trim().is_empty() && !call.help =>
            {
                result = Completeness::Incomplete(String::new());
            }
            Part::Magic(_) | Part::MisplacedCellMagic { .. } => {}
            Part::Code { text, .. } => match brackets(text) {
                Completeness::Complete => {}
                other => return other,
            },
        }
    }
    result
}

/// Whether the `r` at `i` opens a raw string (`r"`, `r#"`, `br"`), not ends a word (`for"`).
fn starts_raw_string(chars: &[char], i: usize) -> bool {
    let word = |j: usize| chars[j].is_alphanumeric() || chars[j] == '_';
    match i {
        0 => true,
        _ if !word(i - 1) => true,
        _ => chars[i - 1] == 'b' && (i == 1 || !word(i - 2)),
    }
}

/// Bracket balance of Rust code, skipping strings (raw and byte ones too), char literals
/// (but not lifetimes) and comments (nested block comments too).
fn brackets(code: &str) -> Completeness {
    let chars: Vec<char> = code.chars().collect();
    let mut stack = Vec::new();
    let mut i = 0;
    let incomplete = || Completeness::Incomplete(String::new());
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let mut depth = 1;
                i += 2;
                while depth > 0 {
                    match (chars.get(i), chars.get(i + 1)) {
                        (None, _) => return incomplete(),
                        (Some('/'), Some('*')) => (depth, i) = (depth + 1, i + 2),
                        (Some('*'), Some('/')) => (depth, i) = (depth - 1, i + 2),
                        _ => i += 1,
                    }
                }
                continue;
            }
            // r"…", r#"…"#, br"…": no escapes; closed by a quote and as many #s.
            'r' if starts_raw_string(&chars, i) => {
                let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
                if chars.get(i + 1 + hashes) == Some(&'"') {
                    let body = i + 2 + hashes;
                    let closing: Vec<char> = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    match (body..chars.len()).find(|&j| chars[j..].starts_with(&closing)) {
                        Some(j) => i = j + closing.len(),
                        None => return incomplete(),
                    }
                    continue;
                }
            }
            '"' => {
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return incomplete(),
                        Some('\\') => i += 2,
                        Some('"') => break,
                        Some(_) => i += 1,
                    }
                }
            }
            // 'x' and '\n' are chars; 'a in `&'a str` or a loop label is not.
            '\'' => {
                if next == Some('\\') {
                    i += 2;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    if i >= chars.len() {
                        return incomplete();
                    }
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 2;
                }
            }
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return Completeness::Invalid;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if stack.is_empty() {
        Completeness::Complete
    } else {
        Completeness::Incomplete("    ".repeat(stack.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `magic` fuzz target: a multi-byte space (U+00A0 from a paste, U+2006)
    /// before the cursor panicked on slicing inside the character.
    #[test]
    fn completion_after_a_wide_space_does_not_panic() {
        for space in ['\u{a0}', '\u{2006}', '\u{3000}'] {
            let code = format!("%env{space}AZ");
            let done = complete(&code, code.len());
            assert_eq!(done.end, code.len());
            assert!(done.start <= done.end);
        }
    }

    #[test]
    fn rust_brackets_inside_chars_strings_and_comments_do_not_count() {
        for complete in [
            "fn f() -> char { '{' }",
            "let c = '\\'';",
            "let s: &'static str = \"}\";",
            "fn g<'a>(x: &'a str) -> &'a str { x }",
            "'outer: loop { break 'outer; }",
            "let r = r#\"a \" } b\"#;",
            "let b = br\"{\";",
            "/* { /* nested } */ still a comment { */ let x = 1;",
            "let q = '\\u{7b}';",
        ] {
            assert_eq!(is_complete(complete), Completeness::Complete, "{complete}");
        }
        for open in [
            "fn main() {",
            "let s = \"open",
            "let r = r#\"open \" still",
            "/* note",
            "/* a /* b */",
            "let v = vec![1,\n",
        ] {
            assert!(
                matches!(is_complete(open), Completeness::Incomplete(_)),
                "{open}"
            );
        }
        assert_eq!(is_complete("fn main() }"), Completeness::Invalid);
    }

    fn names(code: &str) -> Vec<String> {
        complete(code, code.len()).matches
    }

    #[test]
    fn completes_magic_names_flags_and_variables() {
        assert_eq!(names("%ls"), ["%lsmagic"]);
        assert_eq!(names("%%ba"), ["%%bash"]);
        assert_eq!(names("x\n  %cl"), ["%clear"]);
        assert!(names("%").contains(&"%env".to_owned()));
        assert_eq!(names("%env --u"), ["--unset"]);
        assert_eq!(names("%env -u"), ["-u"]);
        assert!(names("%env PAT").contains(&"PATH".to_owned()));
        assert!(names("let x").is_empty());
        assert!(names("%nosuch x").is_empty());
        let c = complete("%env PAT", 8);
        assert_eq!((c.start, c.end), (5, 8));
    }

    static SPEC: MagicSpec = MagicSpec {
        name: "t",
        form: Form::Line,
        summary: "",
        usage: "%t [TARGET] [JOB] [target=…] [color=…]",
        description: "",
        params: &[
            Param::positional("TARGET", "a target").of(ValueKind::TargetId),
            Param::positional("JOB", "a job").of(ValueKind::JobId),
            Param::named("target", "a target").of(ValueKind::TargetId),
            Param::named("color", "a color").of(ValueKind::OneOf(&["Red", "Green"])),
            Param::word("quiet", "say less"),
        ],
        examples: &[],
        errors: &[],
        rules: &[],
        extra: false,
    };

    #[test]
    fn one_of_values_are_offered_after_the_key() {
        assert_eq!(complete_args(&SPEC, "", "color=g", None), ["color=Green"]);
        assert_eq!(
            complete_args(&SPEC, "", "color=", None),
            ["color=Red", "color=Green"]
        );
        // Without a session, nothing to offer for a target.
        assert!(complete_args(&SPEC, "", "target=", None).is_empty());
    }

    #[tokio::test]
    async fn target_ids_come_from_the_connected_workspace() {
        let mut engine = crate::Engine::new();
        let cancel = tokio_util::sync::CancellationToken::new();
        struct Quiet;
        impl crate::Output for Quiet {
            fn stream(&mut self, _: crate::Stream, _: &str) {}
            fn display(&mut self, _: Bundle) {}
            fn display_updatable(&mut self, _: Bundle) -> crate::DisplayId {
                crate::DisplayId("d".into())
            }
            fn update(&mut self, _: &crate::DisplayId, _: Bundle) {}
            fn clear(&mut self, _: bool) {}
            fn page(&mut self, _: Bundle) {}
            fn input(
                &mut self,
                _: &str,
                _: bool,
            ) -> futures::future::BoxFuture<'_, Result<String, crate::MagicError>> {
                Box::pin(async { Ok(String::new()) })
            }
        }
        // Not connected: no candidates.
        let completer = engine.completer();
        let line = "%azure.connect location=";
        let before = completer.complete(line, line.len()).matches;
        assert!(
            complete_args(
                &SPEC,
                "",
                "target=",
                Some(&SessionValues::of(&engine.azure))
            )
            .is_empty()
        );
        engine
            .run_cell(
                "%azure.connect emulator",
                crate::CellOptions::default(),
                &mut Quiet,
                &cancel,
            )
            .await
            .expect("the embedded emulator connects");
        let values = SessionValues::of(&engine.azure);
        let session = Some(&values);
        let mut all = crate::azure::candidates(&engine.azure, ValueKind::TargetId);
        assert!(all.len() > 1, "the demo workspace has targets: {all:?}");
        assert!(all.iter().any(|t| t == "ionq.simulator"), "{all:?}");
        let offered: Vec<String> = complete_args(&SPEC, "", "target=", session)
            .into_iter()
            .map(|m| m.trim_start_matches("target=").to_owned())
            .collect();
        all.sort();
        let mut sorted = offered.clone();
        sorted.sort();
        assert_eq!(sorted, all);
        // Filtered by what is typed, any case; bare words by position.
        let ionq = complete_args(&SPEC, "", "target=IonQ.s", session);
        assert_eq!(ionq, ["target=ionq.simulator"]);
        assert!(complete_args(&SPEC, "", "ionq.s", session).contains(&"ionq.simulator".into()));
        // The second bare word is a job, not a target (a word like `quiet` does not count).
        assert!(complete_args(&SPEC, " ionq.simulator ", "ionq", session).is_empty());
        assert!(!complete_args(&SPEC, " quiet ", "ionq", session).is_empty());
        // The completer handed out before the cell sees the targets after it; a line
        // without a target parameter is completed as before.
        assert!(
            completer
                .0
                .lock()
                .unwrap()
                .targets
                .contains(&"ionq.simulator".into())
        );
        assert_eq!(completer.complete(line, line.len()).matches, before);
        // Job ids and program names: none yet in this session.
        assert!(crate::azure::candidates(&engine.azure, ValueKind::JobId).is_empty());
    }

    #[test]
    fn cursor_inside_a_character_does_not_panic() {
        let _ = complete("%é", 2);
        let _ = inspect("%é", 2);
    }

    #[test]
    fn inspects_the_magic_on_the_line() {
        assert!(inspect("%env X", 6).unwrap().plain().contains("%env"));
        assert!(inspect("%%bash\nls", 2).unwrap().plain().contains("bash"));
        assert!(inspect("let x = 1;", 3).is_none());
        assert!(inspect("%nosuch", 3).is_none());
    }

    #[test]
    fn completeness() {
        use Completeness::*;
        assert_eq!(is_complete("%lsmagic"), Complete);
        assert_eq!(is_complete(""), Complete);
        assert_eq!(is_complete("%env A=\\"), Incomplete(String::new()));
        assert_eq!(is_complete("%%bash"), Incomplete(String::new()));
        assert_eq!(is_complete("%%bash\necho hi"), Complete);
        assert_eq!(is_complete("fn main() {"), Incomplete("    ".into()));
        assert_eq!(is_complete("let s = \"(\";"), Complete);
        assert_eq!(is_complete("// )\nlet x = 1;"), Complete);
        assert_eq!(is_complete("fn main() }"), Invalid);
        assert_eq!(is_complete("let v = [1, 2);"), Invalid);
    }

    #[test]
    fn each_match_says_what_it_is_and_targets_their_availability() {
        let values = SessionValues {
            targets: vec!["ionq.qpu.aria-1".into(), "ionq.simulator".into()],
            programs: vec!["bell".into()],
            jobs: Vec::new(),
            availability: vec![
                ("ionq.qpu.aria-1".into(), "Degraded".into()),
                ("ionq.simulator".into(), "Available".into()),
            ],
        };
        let c = complete_in("%azure.target io", 16, Some(&values));
        assert_eq!(c.matches, ["ionq.qpu.aria-1", "ionq.simulator"]);
        assert_eq!(c.types, ["target · Degraded", "target · Available"]);
        let c = complete_in("%azure.submit bell target=ionq.s", 32, Some(&values));
        assert_eq!(c.matches, ["target=ionq.simulator"]);
        assert_eq!(c.types, ["target · Available"]);
        let c = complete_in("%azure.submit b", 15, Some(&values));
        assert_eq!(c.types, ["program"]);
        let c = complete("%ls", 3);
        assert_eq!(c.types, ["magic"]);
        assert_eq!(complete("%env --u", 8).types, ["flag"]);
    }
}
