//! Finding secrets in text by their shape, without parsing it: the values of named
//! secret arguments (`connectionString=…`, `"storage": "…"`), key fields inside any text
//! (`ApiKey=…`, `AccountKey=…`, `SharedAccessSignature=…`, `sig=…`, `client_secret=…`,
//! `Password=…`) and the password of a URL (`http://user:pass@host`). Works on text that
//! does not parse and on cells whatever their magic (a misspelt name, plain text), so
//! history, `execute_input` and an error's excerpt hide them too.

use std::ops::Range;

/// The names whose values are secret in any cell, whatever its magic: written as
/// `key=value`, `key = "value"` or `"key": "value"`, the value quoted or up to a blank.
pub const CELL_KEYS: &[&str] = &[
    "connectionString",
    "storage",
    "clientSecret",
    "client_secret",
    "AZURE_CLIENT_SECRET",
    "AZURE_QUANTUM_CONNECTION_STRING",
    "AZURE_STORAGE_CONNECTION_STRING",
    "IDENTITY_HEADER",
];

/// Fields whose values are secret wherever they appear (any case, inside connection
/// strings and URLs too); a value ends at `;`, `&`, a quote or a blank.
const FIELDS: &[&str] = &[
    "apikey=",
    "accountkey=",
    "sharedaccesskey=",
    "sharedaccesssignature=",
    "sig=",
    "client_secret=",
    "password=",
];

/// Byte ranges (offset by `base`) of the values of `keys` (any case) written as `key=value`,
/// `key = "value"` or `"key": "value"`, of the secret fields and of URLs' passwords inside
/// any text.
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
                // What the value holds is hidden with it: searching on from its end keeps a
                // cell of many keys and no blank linear, not quadratic.
                from = end;
            }
        }
    }
    for field in FIELDS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(field) {
            let start = from + i + field.len();
            from = start;
            let end = text[start..]
                .find([';', '"', '\'', ' ', '\t', '\n', '&'])
                .map_or(text.len(), |k| start + k);
            if end > start {
                out.push(base + start..base + end);
                from = end;
            }
        }
    }
    out.extend(
        url_passwords(text)
            .into_iter()
            .map(|r| base + r.start..base + r.end),
    );
    out.sort_by_key(|r| r.start);
    out
}

/// The byte ranges of the passwords in URLs of `text` (`scheme://user:password@host`).
pub fn url_passwords(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("://") {
        let start = from + i + 3;
        from = start;
        let authority_end = text[start..]
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
            })
            .map_or(text.len(), |k| start + k);
        let authority = &text[start..authority_end];
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        if let Some(colon) = authority[..at].find(':')
            && colon + 1 < at
        {
            out.push(start + colon + 1..start + at);
        }
    }
    out
}

/// `text` as it may be shown: the password of each URL replaced by `***` (a reader may need
/// to check a proxy's host and user) and every other secret by `<hidden>`.
pub fn mask_for_display(text: &str) -> String {
    let urls = url_passwords(text);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in merge(&spans(text, 0, CELL_KEYS)) {
        if span.start < at || !text.is_char_boundary(span.start) || !text.is_char_boundary(span.end)
        {
            continue;
        }
        out.push_str(&text[at..span.start]);
        out.push_str(if urls.contains(&span) {
            "***"
        } else {
            "<hidden>"
        });
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// `text` with each span (sorted by start; overlapping ones joined) replaced by `<hidden>`.
pub fn hide(text: &str, spans: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in merge(spans) {
        if span.start < at
            || span.end > text.len()
            || !text.is_char_boundary(span.start)
            || !text.is_char_boundary(span.end)
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

/// Spans sorted by start with overlapping or touching ones joined.
pub fn merge(spans: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut sorted = spans.to_vec();
    sorted.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(sorted.len());
    for span in sorted {
        match out.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => out.push(span),
        }
    }
    out
}

/// An error message with any secret it quotes (`ApiKey=…`, `connectionString=…` and the
/// like) hidden: a message may repeat what it was given, and what it was given may hold a key.
pub fn hide_fields(message: &str) -> String {
    hide(message, &spans(message, 0, CELL_KEYS))
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

    #[test]
    fn every_secret_shape_is_found() {
        let cases: &[(&str, &[&str])] = &[
            ("x clientSecret=abc y", &["abc"]),
            ("{\"client_secret\": \"a b\"}", &["\"a b\""]),
            ("AZURE_CLIENT_SECRET=abc", &["abc"]),
            (
                "Endpoint=sb://h/;SharedAccessKeyName=n;SharedAccessKey=k1",
                &["k1"],
            ),
            ("Server=h;Password=p w;", &["p"]),
            ("IDENTITY_HEADER = h1", &["h1"]),
            ("http://user:pw@127.0.0.1:3128/x", &["pw"]),
            ("https://a:b:c@h https://nouser@h http://h/p@q", &["b:c"]),
            ("proxy=socks5://u:p%40ss@h:1080", &["p%40ss"]),
        ];
        for (text, want) in cases {
            let got: Vec<&str> = super::merge(&spans(text, 0, super::CELL_KEYS))
                .into_iter()
                .map(|r| &text[r])
                .collect();
            assert_eq!(&got, want, "in {text:?}");
        }
    }

    #[test]
    fn overlapping_spans_are_hidden_whole() {
        assert_eq!(
            super::hide("abcdefgh", &[1..4, 2..6, 7..8]),
            "a<hidden>g<hidden>"
        );
        assert_eq!(
            super::mask_for_display("http://u:secret@h:1 and ftp://h/a@b;ApiKey=k"),
            "http://u:***@h:1 and ftp://h/a@b;ApiKey=<hidden>"
        );
    }
}
