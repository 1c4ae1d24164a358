//! MIME bundles: one value shown in every form a front end may pick from.

use serde_json::Value;

/// A display value: `text/plain` always, plus richer forms.
///
/// Machine-readable data goes under `application/x-azq.<kind>+json`, never `application/json`:
/// JupyterLab ranks `application/json` above `text/html` and would show a JSON tree instead of
/// the table (REFERENCE.md decision 8).
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    entries: Vec<(String, Value)>,
}

impl Bundle {
    /// A bundle with only a `text/plain` form.
    pub fn text(plain: impl Into<String>) -> Self {
        Bundle {
            entries: vec![("text/plain".to_owned(), Value::String(plain.into()))],
        }
    }

    /// Adds a `text/html` form.
    pub fn with_html(self, html: impl Into<String>) -> Self {
        self.with("text/html", Value::String(html.into()))
    }

    /// Adds a `text/markdown` form.
    pub fn with_markdown(self, markdown: impl Into<String>) -> Self {
        self.with("text/markdown", Value::String(markdown.into()))
    }

    /// Adds machine-readable data as `application/x-azq.<kind>+json`.
    pub fn with_data(self, kind: &str, value: Value) -> Self {
        self.with(&format!("application/x-azq.{kind}+json"), value)
    }

    /// Adds a form under any MIME type, as text (base64 for binary types, as Jupyter wants).
    pub fn with_media(self, mime: &str, content: String) -> Self {
        self.with(mime, Value::String(content))
    }

    fn with(mut self, mime: &str, value: Value) -> Self {
        self.entries.retain(|(m, _)| m != mime);
        self.entries.push((mime.to_owned(), value));
        self
    }

    /// The `text/plain` form.
    pub fn plain(&self) -> &str {
        self.get("text/plain").and_then(Value::as_str).unwrap_or("")
    }

    /// The value of one MIME type, if the bundle has it.
    pub fn get(&self, mime: &str) -> Option<&Value> {
        self.entries.iter().find(|(m, _)| m == mime).map(|(_, v)| v)
    }

    /// Every (MIME type, value) pair, `text/plain` first.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(m, v)| (m.as_str(), v))
    }
}

/// Escapes text for inclusion in HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_comes_first_and_json_is_vendor_typed() {
        let b = Bundle::text("t")
            .with_html("<b>t</b>")
            .with_data("targets", serde_json::json!([1]));
        let mimes: Vec<_> = b.entries().map(|(m, _)| m).collect();
        assert_eq!(
            mimes,
            ["text/plain", "text/html", "application/x-azq.targets+json"]
        );
        assert!(b.get("application/json").is_none());
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
