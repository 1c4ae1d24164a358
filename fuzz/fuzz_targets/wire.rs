//! Fuzz target `wire`: the kernel's message decoder (`Signer::decode`) on frames split out
//! of the input. Some inputs are decoded as they are (raw, mostly bad signatures), others get
//! a correct HMAC over their fuzzed parts, or a well-formed header with a fuzzed message
//! type, so the header and content parsers are reached. Properties: a correctly signed
//! message is never taken for a bad signature, a message decoded once is a replay the
//! second time, and a reply encoded for a decoded request verifies and decodes.
#![no_main]

use azq_kernel::wire::{Dropped, Signer};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const KEY: &str = "fuzz-key";
const DELIMITER: &[u8] = b"<IDS|MSG>";
/// Frames are separated by this byte (ASCII record separator) in the input.
const SEP: u8 = 0x1e;

fn sign(parts: &[Bytes]) -> Bytes {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).expect("any key");
    for p in parts {
        mac.update(p);
    }
    Bytes::from(hex::encode(mac.finalize().into_bytes()))
}

/// `[id, <IDS|MSG>, signature, header, parent, metadata, content, buffers…]`.
fn signed(mut parts: Vec<Bytes>) -> Vec<Bytes> {
    while parts.len() < 4 {
        parts.push(Bytes::from_static(b"{}"));
    }
    let sig = sign(&parts[..4]);
    let mut frames = vec![
        Bytes::from_static(b"client"),
        Bytes::from_static(DELIMITER),
        sig,
    ];
    frames.extend(parts);
    frames
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let parts: Vec<Bytes> = rest
        .split(|b| *b == SEP)
        .map(Bytes::copy_from_slice)
        .collect();
    match mode % 4 {
        // As given, against a keyed signer: the signature is whatever the input says.
        0 => {
            let signer = Signer::new(KEY, "k".into());
            let _ = signer.decode(parts);
        }
        // As given, unsigned (an empty key checks nothing).
        1 => {
            let signer = Signer::new("", "k".into());
            if let Ok(req) = signer.decode(parts) {
                reply(&Signer::new("", "k".into()), &req);
            }
        }
        // Correctly signed fuzzed header, parent, metadata and content.
        2 => {
            let signer = Signer::new(KEY, "k".into());
            let frames = signed(parts);
            let first = signer.decode(frames.clone());
            assert!(
                !matches!(first, Err(Dropped::BadSignature | Dropped::Malformed)),
                "a correctly signed message was dropped: {first:?}"
            );
            if let Ok(req) = &first {
                reply(&signer, req);
            }
            assert_eq!(signer.decode(frames).err(), Some(Dropped::Replayed));
        }
        // A good header with a fuzzed message type (the first part), then fuzzed content.
        _ => {
            let signer = Signer::new(KEY, "k".into());
            let msg_type =
                String::from_utf8_lossy(parts.first().map_or(&b""[..], |p| p)).into_owned();
            let header = serde_json::json!({
                "msg_id": "m1", "username": "u", "session": "s",
                "date": "2026-01-01T00:00:00Z", "msg_type": msg_type, "version": "5.3",
            });
            let mut rebuilt = vec![Bytes::from(header.to_string())];
            rebuilt.extend(parts.into_iter().skip(1));
            let req = signer
                .decode(signed(rebuilt))
                .expect("a signed message with a good header decodes");
            assert_eq!(req.parent.header.msg_type, msg_type);
            reply(&signer, &req);
        }
    }
});

/// Encodes the request's own content as a reply to it, and decodes that with a fresh signer.
fn reply(signer: &Signer, req: &azq_kernel::wire::Request) {
    let Ok(content) = &req.content else { return };
    let out = signer.encode(&req.parent.ids, Some(&req.parent), content);
    let receiver = Signer::new(if signer_is_keyed(&out) { KEY } else { "" }, "c".into());
    let back = receiver
        .decode(out)
        .expect("an encoded message decodes with the same key");
    assert_eq!(back.parent.header.msg_type, req.parent.header.msg_type);
}

fn signer_is_keyed(frames: &[Bytes]) -> bool {
    frames
        .iter()
        .position(|f| f.as_ref() == DELIMITER)
        .is_some_and(|i| !frames[i + 1].is_empty())
}
