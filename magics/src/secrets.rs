//! Finding secrets in argument text by its shape, without parsing it: the values of named
//! secret arguments (`connectionString=…`, `"storage": "…"`), and key fields inside any text
//! (`ApiKey=…`, `AccountKey=…`, `SharedAccessSignature=…`, `sig=…`). Works on text that does
//! not parse, so an error's excerpt of a broken line hides them too.

use std::ops::Range;

/// Byte ranges (offset by `base`) of the values of `keys` (any case) written as `key=value`,
/// `key = "value"` or `"key": "value"`, and of the secret fields inside any text.
pub fn spans(text: &str, base: usize, keys: &[&str]) -> Vec<Range<usize>> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    for key in keys {
        let key = key.to_ascii_lowercase();
        let mut from = 0;
        while let Some(i) = lower[from..].find(&key) {
            let start = from + i;
            from = start + key.len();
            let before_ok = start == 0 || !is_word(lower.as_bytes()[start - 1]);
            let mut j = from;
            let bytes = text.as_bytes();
            if j < bytes.len() && bytes[j] == b'"' {
                j += 1;
            }
            while j < bytes.len() && matches!(bytes[j], b' ' | b'\t') {
                j += 1;
            }
            if !before_ok || j >= bytes.len() || !matches!(bytes[j], b'=' | b':') {
                continue;
            }
            j += 1;
            while j < bytes.len() && matches!(bytes[j], b' ' | b'\t') {
                j += 1;
            }
            let end = value_end(text, j);
            if end > j {
                out.push(base + j..base + end);
            }
        }
    }
    for field in [
        "apikey=",
        "accountkey=",
        "sharedaccesssignature=",
        "sig=",
        "client_secret=",
    ] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(field) {
            let start = from + i + field.len();
            from = start;
            let end = text[start..]
                .find([';', '"', '\'', ' ', '\t', '\n', '&'])
                .map_or(text.len(), |k| start + k);
            if end > start {
                out.push(base + start..base + end);
            }
        }
    }
    out.sort_by_key(|r| r.start);
    out
}

/// `text` with each span (sorted by start; overlaps skipped) replaced by `<hidden>`.
pub fn hide(text: &str, spans: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        if span.start < at || !text.is_char_boundary(span.start) || !text.is_char_boundary(span.end)
        {
            continue;
        }
        out.push_str(&text[at..span.start]);
        out.push_str("<hidden>");
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// An error message with any secret field it quotes (`ApiKey=…` and the like) hidden: a
/// message may repeat what it was given, and what it was given may hold a key.
pub fn hide_fields(message: &str) -> String {
    hide(message, &spans(message, 0, &[]))
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Where a value starting at `at` ends: its closing quote (or the end, if it has none), or
/// the next blank.
fn value_end(text: &str, at: usize) -> usize {
    let rest = &text[at..];
    match rest.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let mut escaped = false;
            for (k, c) in rest.char_indices().skip(1) {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    return at + k + 1;
                }
            }
            text.len()
        }
        _ => rest
            .find(char::is_whitespace)
            .map_or(text.len(), |k| at + k),
    }
}

#[cfg(test)]
mod tests {
    use super::spans;

    fn hidden(text: &str) -> Vec<&str> {
        spans(text, 0, &["connectionString", "storage"])
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    #[test]
    fn finds_values_in_every_form() {
        assert_eq!(hidden("connectionString=\"a b\" x=1"), ["\"a b\""]);
        assert_eq!(hidden("Storage = abc"), ["abc"]);
        assert_eq!(hidden("{\"connectionString\": \"q\\\"r\"}"), ["\"q\\\"r\""]);
        assert_eq!(
            hidden("connectionString=\"unclosed ApiKey=k"),
            ["\"unclosed ApiKey=k", "k"]
        );
        assert_eq!(hidden("x ApiKey=secret;Q=1"), ["secret"]);
        assert!(hidden("mystorage=1 storageAccount").is_empty());
    }

    #[test]
    fn hides_fields_in_messages() {
        assert_eq!(
            super::hide_fields("unexpected `A=1;ApiKey=k3y;B=2`; é"),
            "unexpected `A=1;ApiKey=<hidden>;B=2`; é"
        );
        assert_eq!(super::hide_fields("nothing here"), "nothing here");
    }
}
