//! Fuzz target `magic`: any text as a cell goes through the cell splitter, the magic
//! argument grammar, binding against every registered magic, secret redaction, completion,
//! inspection and error tracebacks. None may panic or hang, and every span they report must
//! lie inside the cell (on character boundaries where the text is sliced).
#![no_main]

use azq_magics::args::Bound;
use azq_magics::cell::{Call, Part, split};
use azq_magics::grammar::parse_args;
use azq_magics::{assist, redact_secrets, registry};
use libfuzzer_sys::fuzz_target;

fn inside(cell: &str, span: &std::ops::Range<usize>, what: &str) {
    assert!(
        span.start <= span.end && span.end <= cell.len(),
        "{what} span {span:?} is outside a cell of {} bytes",
        cell.len()
    );
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks a cursor for completion and inspection; the rest is the cell.
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(cell) = std::str::from_utf8(rest) else {
        return;
    };

    for part in split(cell) {
        match part {
            Part::Code { text, start } => {
                assert_eq!(cell.get(start..start + text.len()), Some(text));
            }
            Part::MisplacedCellMagic { name, span } => {
                inside(cell, &span, "misplaced cell magic");
                assert!(cell[span].ends_with(name));
            }
            Part::Magic(call) => check_call(cell, &call),
        }
    }

    // The grammar alone, on the whole text, anywhere in a cell.
    if let Err(e) = parse_args(cell, 7) {
        assert!(e.span.start >= 7 && e.span.end <= cell.len() + 7, "{e:?}");
    }

    let _ = redact_secrets(cell);

    let cursor = usize::from(pick) * (cell.len() + 1) / 255;
    let done = assist::complete(cell, cursor);
    assert!(done.start <= done.end && done.end <= cell.len(), "{done:?}");
    assert!(done.types.is_empty() || done.types.len() == done.matches.len());
    let _ = assist::inspect(cell, cursor);
    let _ = assist::is_complete(cell);
});

fn check_call(cell: &str, call: &Call<'_>) {
    inside(cell, &call.name_span, "name");
    assert_eq!(&cell[call.name_span.clone()], call.name);
    assert_eq!(
        cell.get(call.args_start..call.args_start + call.args.len()),
        Some(call.args)
    );
    assert_eq!(
        cell.get(call.body_start..call.body_start + call.body.len()),
        Some(call.body)
    );
    if let Some(m) = registry::lookup(call.name, call.form) {
        let _ = m.secret_spans(call);
        if call.help {
            let _ = m.spec().help();
        }
    }
    // Bind against every magic, not only the one named, so every spec's rules are reached.
    // The traceback (which searches the whole cell for secrets to hide) is built for one
    // error per input, as a user sees one: it was 70% of the time when built for every magic.
    let mut traced = false;
    for m in registry::all() {
        let spec = m.spec();
        match Bound::bind(spec, call) {
            Ok(bound) => {
                for p in spec.params {
                    if let Some(span) = bound.span(p.name) {
                        inside(cell, &span, "bound argument");
                    }
                    let _ = (bound.text(p.name), bound.int(p.name), bound.seconds(p.name));
                    let _ = (bound.json(p.name), bound.flag(p.name));
                }
                for (_, _, span) in bound.extra() {
                    inside(cell, span, "extra argument");
                }
            }
            Err(e) => {
                if let Some(span) = e.span() {
                    inside(cell, &span, e.name());
                }
                if !traced {
                    traced = true;
                    let _ = e.traceback(cell);
                    let _ = e.message();
                }
            }
        }
    }
}
