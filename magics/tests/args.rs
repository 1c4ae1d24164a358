//! Binding driven by the declaration: every `ValueKind` with good and bad values (a bad
//! value is `InvalidArgument` with the caret on the value), every `Rule`, defaults, extras,
//! and the declarations of the registered magics themselves.

use std::time::Duration;

use azq_magics::MagicError;
use azq_magics::args::Bound;
use azq_magics::cell::{Form, Part, split};
use azq_magics::registry;
use azq_magics::spec::{MagicSpec, Param, Rule, ValueKind};

fn even(v: &str) -> Result<(), String> {
    if v.len().is_multiple_of(2) {
        Ok(())
    } else {
        Err("give an even number of characters".into())
    }
}

static SPEC: MagicSpec = MagicSpec {
    name: "t",
    form: Form::Line,
    summary: "a test magic",
    usage: "%t [NAME] [JOB] key=value …",
    description: "",
    params: &[
        Param::positional("NAME", "a program").of(ValueKind::ProgramName),
        Param::positional("JOB", "a job").of(ValueKind::JobId),
        Param::named("text", "any text"),
        Param::named("guid", "a GUID").of(ValueKind::Guid),
        Param::named("shots", "shots")
            .of(ValueKind::Int { min: 1, max: 1000 })
            .default("100"),
        Param::named("timeout", "seconds")
            .of(ValueKind::Seconds { min: 1, max: 600 })
            .default("5m"),
        Param::named("params", "JSON").of(ValueKind::JsonObject),
        Param::named("color", "a color").of(ValueKind::OneOf(&["Red", "Green", "Blue"])),
        Param::named("target", "a target").of(ValueKind::TargetId),
        Param::named("file", "a path").of(ValueKind::Path),
        Param::named("since", "a date").of(ValueKind::Timestamp),
        Param::named("even", "even length").of(ValueKind::Custom(even)),
        Param::flag("wait", Some('w'), "wait"),
        Param::word("quiet", "say less"),
    ],
    examples: &[],
    errors: &[],
    rules: &[
        Rule::Conflicts {
            a: "file",
            b: "NAME",
            why: "a file and a stored program cannot both be the program",
        },
        Rule::Requires {
            a: "timeout",
            needs: "wait",
            why: "a timeout bounds the wait",
        },
        Rule::OneOf {
            names: &["color", "target"],
            why: "color and target are two ways to say one thing",
        },
    ],
    extra: false,
};

static EXTRA: MagicSpec = MagicSpec {
    name: "x",
    form: Form::Line,
    summary: "keeps extras",
    usage: "%x [shots=N] [key=value …]",
    description: "",
    params: &[
        Param::named("shots", "shots").of(ValueKind::Int { min: 1, max: 10 }),
        Param::word("emulator", "alone"),
    ],
    examples: &[],
    errors: &[],
    rules: &[Rule::Alone {
        a: "emulator",
        why: "the emulator needs nothing else",
    }],
    extra: true,
};

/// Binds `%t ARGS` (or `%x ARGS`) against `spec`; the cell is returned for carets.
fn bind(spec: &MagicSpec, args: &str) -> (String, Result<Bound, MagicError>) {
    let cell = format!("%{} {args}", spec.name);
    let parts = split(&cell);
    let Some(Part::Magic(call)) = parts.first() else {
        panic!("{cell:?} is not a magic");
    };
    let bound = Bound::bind(spec, call);
    drop(parts);
    (cell, bound)
}

/// The error's name and the text under its caret.
fn refused(spec: &MagicSpec, args: &str) -> (String, String, String) {
    let (cell, bound) = bind(spec, args);
    let err = bound.expect_err(args);
    let span = err.span().unwrap_or_else(|| panic!("{args}: no caret"));
    (err.name().to_owned(), cell[span].to_owned(), err.message())
}

fn good(spec: &MagicSpec, args: &str) -> Bound {
    let (_, bound) = bind(spec, args);
    bound.unwrap_or_else(|e| panic!("{args}: {}", e.message()))
}

#[test]
fn every_kind_takes_good_values() {
    let b = good(
        &SPEC,
        "bell 0000000a-000b-000c-000d-00000000000e text=\"a b\" guid=F846B2BD-d0e2-4a1d-8141-4c6944a9d387 \
         shots=1000 params='{\"a\": [1, 2]}' color=green since=2024-02-29T10:00:00.5+01:00 \
         even=ab -w",
    );
    assert_eq!(b.text("NAME"), Some("bell"));
    assert_eq!(b.text("JOB"), Some("0000000a-000b-000c-000d-00000000000e"));
    assert_eq!(b.text("text"), Some("a b"));
    assert_eq!(b.int("shots"), Some(1000));
    assert_eq!(b.json("params").unwrap()["a"], serde_json::json!([1, 2]));
    // OneOf gives the declared spelling.
    assert_eq!(b.text("color"), Some("Green"));
    assert_eq!(
        good(&SPEC, "file=/tmp/x.qasm").text("file"),
        Some("/tmp/x.qasm")
    );
    assert!(b.flag("wait"));
    for (value, want) in [
        ("30", Duration::from_secs(30)),
        ("2.5", Duration::from_millis(2500)),
        ("30s", Duration::from_secs(30)),
        ("5m", Duration::from_secs(300)),
        ("1500ms", Duration::from_millis(1500)),
    ] {
        let b = good(&SPEC, &format!("timeout={value} -w"));
        assert_eq!(b.seconds("timeout"), Some(want), "{value}");
    }
    for value in [
        "2026-12-01",
        "2026-12-01T10:00:00Z",
        "2026-12-01 10:00:00-05:30",
    ] {
        assert_eq!(
            good(&SPEC, &format!("since=\"{value}\"")).text("since"),
            Some(value)
        );
    }
    for value in [
        "ionq.simulator",
        "microsoft.estimator",
        "rigetti.sim.qvm-1_a",
    ] {
        assert_eq!(
            good(&SPEC, &format!("target={value}")).text("target"),
            Some(value)
        );
    }
}

#[test]
fn a_bad_value_is_refused_with_the_caret_on_the_value() {
    let cases: &[(&str, &str, &str)] = &[
        ("text=\"\"", "text=\"\"", "`text` is empty"),
        ("text='  '", "text='  '", "`text` is empty"),
        ("guid=nope", "nope", "not a GUID"),
        (
            "guid=f846b2bd-d0e2-4a1d-8141-4c6944a9d38",
            "f846b2bd-d0e2-4a1d-8141-4c6944a9d38",
            "8-4-4-4-12",
        ),
        ("shots=0", "0", "from 1 to 1000"),
        ("shots=1001", "1001", "from 1 to 1000"),
        ("shots=-1", "-1", "whole number"),
        (
            "shots=99999999999999999999999",
            "99999999999999999999999",
            "whole number",
        ),
        ("shots=2.5", "2.5", "whole number"),
        ("timeout=0.5 -w", "0.5", "from 1 to 600"),
        ("timeout=11m -w", "11m", "from 1 to 600"),
        ("timeout=soon -w", "soon", "number of seconds"),
        ("timeout=1e3 -w", "1e3", "number of seconds"),
        ("timeout=NaN -w", "NaN", "number of seconds"),
        ("params='[1]'", "'[1]'", "is an array"),
        // The caret on the JSON error's column: the `}` where a value was expected.
        ("params='{\"a\": }'", "}", "not a JSON object"),
        ("color=purple", "purple", "one of Red, Green, Blue"),
        ("color=gren", "gren", "did you mean `Green`?"),
        ("target=ionq", "ionq", "provider.target"),
        (
            "target=\"ionq simulator\"",
            "\"ionq simulator\"",
            "not a target id",
        ),
        ("target=.x", ".x", "not a target id"),
        ("9lives", "9lives", "not a program name"),
        ("bell nope", "nope", "not a job id"),
        ("since=2026-02-30", "2026-02-30", "RFC 3339"),
        (
            "since=2026-12-01T25:00:00Z",
            "2026-12-01T25:00:00Z",
            "RFC 3339",
        ),
        ("since=yesterday", "yesterday", "RFC 3339"),
        (
            "since=\"2026-12-01T10:00:00\"",
            "\"2026-12-01T10:00:00\"",
            "RFC 3339",
        ),
        ("file=a\0b", "a\0b", "NUL"),
        ("even=abc", "abc", "even number"),
    ];
    let mut failures = Vec::new();
    for (args, caret, says) in cases {
        let (name, got_caret, message) = refused(&SPEC, args);
        if name != "InvalidArgument" || got_caret != *caret || !message.contains(says) {
            failures.push(format!(
                "{args}: want InvalidArgument at {caret:?} saying {says:?}; got {name} at {got_caret:?}: {message}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rules_are_enforced_at_the_later_argument() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "bell file=x.qasm",
            "ConflictingArguments",
            "file=x.qasm",
            "a file and a stored program cannot both be the program; drop `file` or `NAME`",
        ),
        (
            "file=x.qasm bell",
            "ConflictingArguments",
            "bell",
            "drop `NAME` or `file`",
        ),
        (
            "timeout=30",
            "InvalidArgument",
            "timeout=30",
            "a timeout bounds the wait; give `wait` too, or drop `timeout`",
        ),
        (
            "color=red text=x target=a.b",
            "ConflictingArguments",
            "target=a.b",
            "color and target are two ways to say one thing; give only one of `color`, `target`",
        ),
        (
            "shots=3 emulator",
            "ConflictingArguments",
            "emulator",
            "the emulator needs nothing else; drop `shots`",
        ),
        (
            "emulator foo=1",
            "ConflictingArguments",
            "foo=1",
            "drop `foo`",
        ),
    ];
    for (args, want_name, want_caret, says) in cases {
        let spec = if args.contains("emulator") {
            &EXTRA
        } else {
            &SPEC
        };
        let (name, caret, message) = refused(spec, args);
        assert_eq!(
            (name.as_str(), caret.as_str()),
            (*want_name, *want_caret),
            "{args}"
        );
        assert!(message.contains(says), "{args}: {message}");
    }
    // Each rule's good side: one of a pair, the requirement met, a default not counted.
    good(&SPEC, "timeout=30 --wait");
    good(&SPEC, "file=x.qasm color=red");
    good(&EXTRA, "emulator");
}

#[test]
fn defaults_fill_what_was_not_given() {
    let b = good(&SPEC, "");
    assert_eq!(b.int("shots"), Some(100));
    assert_eq!(b.text("shots"), Some("100"));
    assert_eq!(b.seconds("timeout"), Some(Duration::from_secs(300)));
    // A default has no span, and counts for no rule (timeout needs wait, not given here).
    assert_eq!(b.span("shots"), None);
    assert_eq!(b.text("color"), None);
    assert_eq!(b.json("params"), None);
    let b = good(&SPEC, "shots=7");
    assert_eq!(b.int("shots"), Some(7));
}

#[test]
fn spans_are_the_values_inside_their_quotes() {
    let (cell, bound) = bind(
        &SPEC,
        "bell text=\"a b\" guid='0000000a-000b-000c-000d-00000000000e'",
    );
    let b = bound.unwrap();
    assert_eq!(&cell[b.span("NAME").unwrap()], "bell");
    assert_eq!(&cell[b.span("text").unwrap()], "a b");
    assert_eq!(
        &cell[b.span("guid").unwrap()],
        "0000000a-000b-000c-000d-00000000000e"
    );
}

#[test]
fn extras_are_kept_only_when_the_spec_asks() {
    let (cell, bound) = bind(&EXTRA, "shots=3 seed=42 name=\"my job\"");
    let b = bound.unwrap();
    assert_eq!(b.int("shots"), Some(3));
    let extra: Vec<(&str, &str, &str)> = b
        .extra()
        .iter()
        .map(|(k, v, s)| (k.as_str(), v.as_str(), &cell[s.clone()]))
        .collect();
    assert_eq!(extra, [("seed", "42", "42"), ("name", "my job", "my job")]);
    // Declared values are still checked; undeclared ones are refused without `extra`.
    assert_eq!(refused(&EXTRA, "shots=11 seed=1").1, "11");
    let (name, caret, _) = refused(&SPEC, "seed=42");
    assert_eq!(
        (name.as_str(), caret.as_str()),
        ("UnknownArgument", "seed=42")
    );
}

#[test]
fn a_positional_that_is_also_named_is_refused_given_both_ways() {
    static BOTH: MagicSpec = MagicSpec {
        name: "b",
        form: Form::Line,
        summary: "",
        usage: "%b [id=]ID",
        description: "",
        params: &[Param::positional("id", "an id")
            .of(ValueKind::JobId)
            .also_named()],
        examples: &[],
        errors: &[],
        rules: &[],
        extra: false,
    };
    let id = "0000000a-000b-000c-000d-00000000000e";
    assert_eq!(good(&BOTH, id).text("id"), Some(id));
    assert_eq!(good(&BOTH, &format!("id={id}")).text("id"), Some(id));
    let (name, caret, _) = refused(&BOTH, &format!("{id} id=x{id}"));
    assert_eq!(
        (name.as_str(), caret.as_str()),
        ("ConflictingArguments", &*format!("x{id}"))
    );
    assert_eq!(refused(&BOTH, "id=nope").1, "nope");
}

#[test]
fn every_registered_declaration_is_consistent() {
    for magic in registry::all() {
        let spec = magic.spec();
        let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
        for rule in spec.rules {
            let used: Vec<&str> = match *rule {
                Rule::Conflicts { a, b, .. } => vec![a, b],
                Rule::Requires { a, needs, .. } => vec![a, needs],
                Rule::OneOf { names, .. } => names.to_vec(),
                Rule::Excludes { a, others, .. } => [&[a][..], others].concat(),
                Rule::Alone { a, .. } => vec![a],
            };
            for n in used {
                assert!(
                    names.contains(&n),
                    "{}: a rule names `{n}`, not a parameter",
                    spec.name
                );
            }
        }
        // Binding nothing checks every default against its kind.
        let (_, bound) = bind(spec, "");
        if let Err(MagicError::Internal { message }) = bound {
            panic!("{}: {message}", spec.name);
        }
    }
}
