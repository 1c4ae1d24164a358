//! The one place where the engine's values become Jupyter message content: bundles become
//! `Media`, errors become `error` outputs and reply errors, assists become replies.

use azq_magics::assist::{Completeness, Completion};
use azq_magics::{Bundle, MagicError};
use jupyter_protocol::{
    CompleteReply, ErrorOutput, IsCompleteReply, IsCompleteReplyStatus, Media, MediaType,
    ReplyError,
};
use serde_json::Value;

/// A bundle as Jupyter `data`.
pub fn media(bundle: &Bundle) -> Media {
    Media::new(
        bundle
            .entries()
            .map(|(mime, value)| match (mime, value) {
                ("text/plain", Value::String(s)) => MediaType::Plain(s.clone()),
                ("text/html", Value::String(s)) => MediaType::Html(s.clone()),
                ("text/markdown", Value::String(s)) => MediaType::Markdown(s.clone()),
                ("image/svg+xml", Value::String(s)) => MediaType::Svg(s.clone()),
                (mime, value) => MediaType::Other((mime.to_owned(), value.clone())),
            })
            .collect(),
    )
}

/// The ANSI-coloured name line and caret excerpt a front end shows for an error. A panic
/// while rendering it (a bug) still yields an error, so the cell gets its reply.
pub fn error_output(err: &MagicError, cell: &str) -> ErrorOutput {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render_error(err, cell)))
        .unwrap_or_else(|_| ErrorOutput {
            ename: err.name().to_owned(),
            evalue: "the error could not be shown (please report this)".to_owned(),
            traceback: vec![err.name().to_owned()],
        })
}

fn render_error(err: &MagicError, cell: &str) -> ErrorOutput {
    let mut traceback = err.traceback(cell);
    if let Some(first) = traceback.first_mut() {
        let name = err.name();
        if let Some(rest) = first.strip_prefix(name) {
            *first = format!("\x1b[0;31m{name}\x1b[0m{rest}");
        }
    }
    ErrorOutput {
        ename: err.name().to_owned(),
        evalue: err.message(),
        traceback,
    }
}

pub fn reply_error(err: &ErrorOutput) -> Box<ReplyError> {
    Box::new(ReplyError {
        ename: err.ename.clone(),
        evalue: err.evalue.clone(),
        traceback: err.traceback.clone(),
    })
}

/// Jupyter counts cursor positions in Unicode code points; the engine counts bytes.
pub fn byte_offset(text: &str, code_points: usize) -> usize {
    text.char_indices()
        .nth(code_points)
        .map_or(text.len(), |(i, _)| i)
}

pub fn code_points(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].chars().count()
}

/// The reply to a completion request; what each match is goes in
/// `metadata._jupyter_types_experimental` (JupyterLab shows it beside the match).
pub fn complete_reply(code: &str, c: Completion) -> CompleteReply {
    let start = code_points(code, c.start);
    let end = code_points(code, c.end);
    let mut metadata = serde_json::Map::new();
    if !c.types.is_empty() {
        let types: Vec<serde_json::Value> = c
            .matches
            .iter()
            .zip(&c.types)
            .map(|(text, kind)| {
                serde_json::json!({ "start": start, "end": end, "text": text, "type": kind })
            })
            .collect();
        metadata.insert(
            "_jupyter_types_experimental".to_owned(),
            serde_json::Value::Array(types),
        );
    }
    CompleteReply {
        matches: c.matches,
        cursor_start: start,
        cursor_end: end,
        metadata,
        ..CompleteReply::default()
    }
}

pub fn is_complete_reply(c: Completeness) -> IsCompleteReply {
    match c {
        Completeness::Complete => {
            IsCompleteReply::new(IsCompleteReplyStatus::Complete, String::new())
        }
        Completeness::Incomplete(indent) => {
            IsCompleteReply::new(IsCompleteReplyStatus::Incomplete, indent)
        }
        Completeness::Invalid => {
            IsCompleteReply::new(IsCompleteReplyStatus::Invalid, String::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_types_go_in_the_metadata_in_code_points() {
        let code = "é %azure.target io";
        let c = Completion {
            matches: vec!["ionq.qpu".into(), "ionq.simulator".into()],
            start: code.len() - 2,
            end: code.len(),
            types: vec!["target · Available".into(), "target · Degraded".into()],
        };
        let reply = complete_reply(code, c);
        assert_eq!((reply.cursor_start, reply.cursor_end), (16, 18));
        assert_eq!(
            reply.metadata["_jupyter_types_experimental"],
            serde_json::json!([
                {"start": 16, "end": 18, "text": "ionq.qpu", "type": "target · Available"},
                {"start": 16, "end": 18, "text": "ionq.simulator", "type": "target · Degraded"},
            ])
        );
        assert_eq!(reply.matches, ["ionq.qpu", "ionq.simulator"]);
        // No types, no metadata.
        let reply = complete_reply("%x", Completion::default());
        assert!(reply.metadata.is_empty());
    }

    #[test]
    fn cursor_offsets_convert_between_code_points_and_bytes() {
        let s = "é%ls";
        assert_eq!(byte_offset(s, 1), 2);
        assert_eq!(byte_offset(s, 99), s.len());
        assert_eq!(code_points(s, 2), 1);
    }

    #[test]
    fn media_never_holds_application_json() {
        let b = Bundle::text("x")
            .with_html("<i>x</i>")
            .with_data("k", serde_json::json!({}));
        let json = serde_json::to_value(media(&b)).unwrap();
        assert!(json.get("application/json").is_none());
        assert_eq!(json["text/plain"], "x");
        assert_eq!(json["application/x-azq.k+json"], serde_json::json!({}));
    }
}
