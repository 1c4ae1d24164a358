//! The Jupyter wire format: framing, HMAC-SHA256 signing, constant-time verification and
//! replay detection. A request is read header first and content second, so content that
//! does not parse still leaves a header to reply to.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use jupyter_protocol::{Header, JupyterMessageContent, UnknownMessage};
use serde_json::{Map, Value};
use sha2::Sha256;

const DELIMITER: &[u8] = b"<IDS|MSG>";
/// How many signatures are remembered for replay detection (ipykernel keeps 2^16 too).
const REPLAY_MEMORY: usize = 1 << 16;
/// How deeply a header's JSON may nest. A header is a flat object of strings; it is echoed as
/// `parent_header` on every reply and IOPub message, so a deeply nested one (which serde
/// skips as an unknown field) would go out to every subscriber, some of whose JSON parsers
/// (Python's among them) fail on it.
const MAX_HEADER_DEPTH: usize = 16;
/// The protocol version azq speaks and stamps on its headers.
pub const PROTOCOL_VERSION: &str = "5.3";

/// The incoming message a reply answers, kept as received.
#[derive(Debug, Clone)]
pub struct Parent {
    /// ZeroMQ routing identities of the sender.
    pub ids: Vec<Bytes>,
    /// The parsed header.
    pub header: Header,
    /// The header exactly as it arrived, echoed as `parent_header`.
    pub header_raw: Bytes,
}

/// A request whose signature and header are good.
#[derive(Debug)]
pub struct Request {
    pub parent: Arc<Parent>,
    /// The typed content, or why it did not parse.
    pub content: Result<JupyterMessageContent, String>,
}

/// Why a message was dropped without a reply.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Dropped {
    #[error("message has no <IDS|MSG> delimiter or too few frames")]
    Malformed,
    #[error("message signature is missing or wrong")]
    BadSignature,
    #[error("message signature was seen before (replay)")]
    Replayed,
    #[error("message header does not parse: {0}")]
    BadHeader(String),
}

/// Signs and checks messages with the connection file's key, and remembers signatures.
#[derive(Clone)]
pub struct Signer {
    mac: Option<Hmac<Sha256>>,
    seen: Arc<Mutex<Seen>>,
    /// The kernel's session id, stamped on every header it sends.
    pub session: String,
}

#[derive(Default)]
struct Seen {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl Signer {
    /// An empty key means messages are neither signed nor checked.
    pub fn new(key: &str, session: String) -> Signer {
        let mac = (!key.is_empty())
            .then(|| Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key"));
        Signer {
            mac,
            seen: Arc::default(),
            session,
        }
    }

    fn signature(&self, parts: &[&[u8]]) -> Bytes {
        match &self.mac {
            None => Bytes::new(),
            Some(mac) => {
                let mut mac = mac.clone();
                for p in parts {
                    mac.update(p);
                }
                Bytes::from(hex::encode(mac.finalize().into_bytes()))
            }
        }
    }

    fn verify(&self, signature: &[u8], parts: &[&[u8]]) -> Result<(), Dropped> {
        let Some(mac) = &self.mac else {
            return Ok(());
        };
        let raw = hex::decode(signature).map_err(|_| Dropped::BadSignature)?;
        let mut mac = mac.clone();
        for p in parts {
            mac.update(p);
        }
        // verify_slice compares in constant time.
        mac.verify_slice(&raw).map_err(|_| Dropped::BadSignature)?;
        let digest: [u8; 32] = raw.try_into().map_err(|_| Dropped::BadSignature)?;
        let mut seen = self.seen.lock().expect("replay memory lock");
        if !seen.set.insert(digest) {
            return Err(Dropped::Replayed);
        }
        seen.order.push_back(digest);
        if seen.order.len() > REPLAY_MEMORY
            && let Some(old) = seen.order.pop_front()
        {
            seen.set.remove(&old);
        }
        Ok(())
    }

    /// Checks and parses one multipart message.
    pub fn decode(&self, frames: Vec<Bytes>) -> Result<Request, Dropped> {
        let split = frames
            .iter()
            .position(|f| f.as_ref() == DELIMITER)
            .ok_or(Dropped::Malformed)?;
        if frames.len() < split + 6 {
            return Err(Dropped::Malformed);
        }
        let ids = frames[..split].to_vec();
        let [signature, header, parent, metadata, content] =
            std::array::from_fn(|i| &frames[split + 1 + i]);
        self.verify(signature, &[header, parent, metadata, content])?;
        if nesting_depth(header) > MAX_HEADER_DEPTH {
            return Err(Dropped::BadHeader(format!(
                "it nests deeper than {MAX_HEADER_DEPTH} levels"
            )));
        }
        let parsed: Header =
            serde_json::from_slice(header).map_err(|e| Dropped::BadHeader(e.to_string()))?;
        let content = parse_content(&parsed.msg_type, content);
        Ok(Request {
            parent: Arc::new(Parent {
                ids,
                header: parsed,
                header_raw: header.clone(),
            }),
            content,
        })
    }

    /// Builds a signed message; `ids` are routing identities (or an IOPub topic).
    pub fn encode(
        &self,
        ids: &[Bytes],
        parent: Option<&Parent>,
        content: &JupyterMessageContent,
    ) -> Vec<Bytes> {
        let header = Header {
            msg_id: uuid::Uuid::new_v4().to_string(),
            username: "azq".to_owned(),
            session: self.session.clone(),
            date: chrono::Utc::now(),
            msg_type: content.message_type().to_owned(),
            version: PROTOCOL_VERSION.to_owned(),
        };
        let header = Bytes::from(serde_json::to_vec(&header).expect("headers serialise"));
        let parent = parent.map_or_else(|| Bytes::from_static(b"{}"), |p| p.header_raw.clone());
        let metadata = Bytes::from_static(b"{}");
        let content = Bytes::from(serde_json::to_vec(content).expect("message content serialises"));
        let signature = self.signature(&[&header, &parent, &metadata, &content]);
        let mut frames: Vec<Bytes> = ids.to_vec();
        frames.extend([
            Bytes::from_static(DELIMITER),
            signature,
            header,
            parent,
            metadata,
            content,
        ]);
        frames
    }
}

/// The deepest nesting of arrays and objects in `json` (brackets inside strings do not count);
/// a linear scan, so it is safe on input of any depth.
fn nesting_depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in json {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Parses content for its type, filling in the optional fields real clients omit
/// (jupyter_client leaves out `n` and `unique` in history searches, for one).
/// A type the protocol does not define is unknown whatever its content, so it is ignored
/// rather than answered with an error reply of a made-up type.
fn parse_content(msg_type: &str, raw: &[u8]) -> Result<JupyterMessageContent, String> {
    // Content that is not a JSON object is an error only for a type the protocol defines; the
    // check for that runs here, off the path of well-formed messages.
    let unknown_or = |why: String| {
        if known_type(msg_type) {
            Err(why)
        } else {
            Ok(JupyterMessageContent::UnknownMessage(UnknownMessage {
                msg_type: msg_type.to_owned(),
                content: Value::Null,
            }))
        }
    };
    let mut value: Value = match serde_json::from_slice(raw) {
        Ok(value) => value,
        Err(e) => return unknown_or(format!("content is not JSON: {e}")),
    };
    let Value::Object(map) = &mut value else {
        return unknown_or("content is not a JSON object".to_owned());
    };
    fill_defaults(msg_type, map);
    JupyterMessageContent::from_type_and_content(msg_type, value)
        .map_err(|e| format!("{msg_type} content is not valid: {e}"))
}

/// Whether the protocol defines `msg_type` (the protocol crate maps only those to a type).
fn known_type(msg_type: &str) -> bool {
    !matches!(
        JupyterMessageContent::from_type_and_content(msg_type, Value::Object(Map::new())),
        Ok(JupyterMessageContent::UnknownMessage(_))
    )
}

fn fill_defaults(msg_type: &str, map: &mut Map<String, Value>) {
    let code_len = map
        .get("code")
        .and_then(Value::as_str)
        .map_or(0, |c| c.chars().count());
    let defaults: Vec<(&str, Value)> = match msg_type {
        "execute_request" => vec![
            ("silent", false.into()),
            ("store_history", true.into()),
            ("user_expressions", Value::Object(Map::new())),
            ("allow_stdin", true.into()),
            ("stop_on_error", true.into()),
        ],
        "complete_request" => vec![("cursor_pos", code_len.into())],
        "inspect_request" => vec![("cursor_pos", code_len.into()), ("detail_level", 0.into())],
        "history_request" => {
            let mut d = vec![("output", false.into()), ("raw", true.into())];
            match map.get("hist_access_type").and_then(Value::as_str) {
                Some("tail") => d.push(("n", 10.into())),
                Some("search") => d.extend([
                    ("n", 0.into()),
                    ("unique", false.into()),
                    ("pattern", "*".into()),
                ]),
                Some("range") => d.extend([("start", 0.into()), ("stop", 0.into())]),
                _ => {}
            }
            d
        }
        "shutdown_request" => vec![("restart", false.into())],
        "comm_open" => vec![("data", Value::Object(Map::new()))],
        "comm_close" | "comm_msg" => vec![("data", Value::Object(Map::new()))],
        _ => Vec::new(),
    };
    for (key, default) in defaults {
        let slot = map.entry(key).or_insert(Value::Null);
        if slot.is_null() {
            *slot = default;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jupyter_protocol::KernelInfoRequest;

    fn frames(signer: &Signer, msg_type: &str, content: &str) -> Vec<Bytes> {
        let header = format!(
            r#"{{"msg_id":"m1","username":"u","session":"s","date":"2026-01-01T00:00:00Z","msg_type":"{msg_type}","version":"5.3"}}"#
        );
        let parts: [Bytes; 4] = [
            header.into(),
            "{}".into(),
            "{}".into(),
            content.to_owned().into(),
        ];
        let sig = signer.signature(&[&parts[0], &parts[1], &parts[2], &parts[3]]);
        let mut f = vec![Bytes::from("client-id"), Bytes::from_static(DELIMITER), sig];
        f.extend(parts);
        f
    }

    fn msg(frames: Vec<Bytes>) -> Vec<Bytes> {
        frames
    }

    #[test]
    fn good_message_decodes_and_replay_is_dropped() {
        let s = Signer::new("secret", "k".into());
        let f = frames(&s, "kernel_info_request", "{}");
        let req = s.decode(msg(f.clone())).unwrap();
        assert_eq!(req.parent.ids, [Bytes::from("client-id")]);
        assert!(matches!(
            req.content,
            Ok(JupyterMessageContent::KernelInfoRequest(_))
        ));
        assert_eq!(s.decode(msg(f)).unwrap_err(), Dropped::Replayed);
    }

    #[test]
    fn tampered_missing_and_malformed_are_dropped() {
        let s = Signer::new("secret", "k".into());
        let mut f = frames(&s, "kernel_info_request", "{}");
        f[6] = Bytes::from("{\"x\":1}");
        assert_eq!(s.decode(msg(f)).unwrap_err(), Dropped::BadSignature);
        let mut f = frames(&s, "kernel_info_request", "{}");
        f[2] = Bytes::new();
        assert_eq!(s.decode(msg(f)).unwrap_err(), Dropped::BadSignature);
        let f = frames(&s, "kernel_info_request", "{}");
        assert_eq!(
            s.decode(msg(f[..4].to_vec())).unwrap_err(),
            Dropped::Malformed
        );
    }

    #[test]
    fn a_deeply_nested_header_is_dropped() {
        let s = Signer::new("secret", "k".into());
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let header = format!(
            r#"{{"msg_id":"m2","username":"u","session":"s","date":"2026-01-01T00:00:00Z","msg_type":"kernel_info_request","version":"5.3","x":{deep}}}"#
        );
        let parts: [Bytes; 4] = [header.into(), "{}".into(), "{}".into(), "{}".into()];
        let sig = s.signature(&[&parts[0], &parts[1], &parts[2], &parts[3]]);
        let mut f = vec![Bytes::from("id"), Bytes::from_static(DELIMITER), sig];
        f.extend(parts);
        assert!(matches!(s.decode(f), Err(Dropped::BadHeader(_))));
        // Brackets inside strings are text, not nesting.
        assert_eq!(nesting_depth(br#"{"a":"[[[[\"[[[","b":[{}]}"#), 3);
    }

    #[test]
    fn unknown_types_are_unknown_whatever_their_content() {
        let s = Signer::new("", "k".into());
        for content in ["{}", "[1", "\"s\"", ""] {
            let req = s.decode(frames(&s, "no_such_request", content)).unwrap();
            assert!(
                matches!(req.content, Ok(JupyterMessageContent::UnknownMessage(_))),
                "{content}: {:?}",
                req.content
            );
        }
        let req = s.decode(frames(&s, "kernel_info_request", "[1")).unwrap();
        assert!(req.content.is_err());
    }

    #[test]
    fn bad_content_keeps_the_header() {
        let s = Signer::new("", "k".into());
        let req = s
            .decode(msg(frames(&s, "execute_request", "[1,2")))
            .unwrap();
        assert_eq!(req.parent.header.msg_id, "m1");
        assert!(req.content.unwrap_err().contains("not JSON"));
        let req = s
            .decode(msg(frames(&s, "execute_request", r#"{"code": 5}"#)))
            .unwrap();
        assert!(req.content.is_err());
    }

    #[test]
    fn omitted_optional_fields_are_filled() {
        let s = Signer::new("", "k".into());
        let req = s
            .decode(msg(frames(
                &s,
                "history_request",
                r#"{"hist_access_type":"search","pattern":"a*","output":false,"raw":true}"#,
            )))
            .unwrap();
        assert!(req.content.is_ok(), "{:?}", req.content);
        let req = s
            .decode(msg(frames(&s, "execute_request", r#"{"code":"x"}"#)))
            .unwrap();
        assert!(req.content.is_ok());
    }

    #[test]
    fn encoded_messages_verify_and_echo_the_parent() {
        let s = Signer::new("secret", "k".into());
        let req = s
            .decode(msg(frames(&s, "kernel_info_request", "{}")))
            .unwrap();
        let out = s.encode(
            &req.parent.ids,
            Some(&req.parent),
            &KernelInfoRequest {}.into(),
        );
        let f = out;
        assert_eq!(f[4], req.parent.header_raw);
        let receiver = Signer::new("secret", "client".into());
        receiver
            .verify(&f[2], &[&f[3], &f[4], &f[5], &f[6]])
            .unwrap();
    }
}
