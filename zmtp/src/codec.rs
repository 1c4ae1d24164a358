//! ZMTP 3.x on the wire (rfc.zeromq.org/spec/23 and 37): the greeting, frame headers,
//! commands and messages, read with every length checked before anything is allocated.

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::ConnError;

pub(crate) const GREETING_LEN: usize = 64;
const SIGNATURE_LEN: usize = 10;
const MORE: u8 = 0x01;
const LONG: u8 = 0x02;
const COMMAND: u8 = 0x04;
/// Commands (READY, SUBSCRIBE, PING, ...) are small; a longer one closes the connection.
pub(crate) const MAX_COMMAND: usize = 64 * 1024;
/// Frames up to this size are read into a buffer allocated at once; longer ones grow as
/// their bytes arrive, so a declared length costs nothing until the peer sends the bytes.
const EAGER: usize = 64 * 1024;
/// Each frame of a message is charged this much beyond its bytes, so a message of many
/// empty frames is bounded too.
pub(crate) const FRAME_OVERHEAD: usize = 32;

/// Our greeting: ZMTP 3.1, the NULL mechanism.
pub(crate) fn greeting() -> [u8; GREETING_LEN] {
    let mut g = [0u8; GREETING_LEN];
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 1;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// Checks the peer's signature (its first 10 bytes): 0xFF, 8 bytes of padding, 0x7F.
/// ZMTP 1.0 and 2.0 peers (whose first byte is a length) are refused here.
pub(crate) fn check_signature(s: &[u8]) -> Result<(), ConnError> {
    if s.len() < SIGNATURE_LEN || s[0] != 0xff || s[9] & 1 != 1 {
        return Err(ConnError::BadGreeting("no ZMTP signature"));
    }
    Ok(())
}

/// Checks the rest of the peer's greeting and returns its minor version.
pub(crate) fn check_greeting(g: &[u8; GREETING_LEN]) -> Result<u8, ConnError> {
    check_signature(g)?;
    if g[10] < 3 {
        return Err(ConnError::BadGreeting("ZMTP version before 3.0"));
    }
    let mechanism = &g[12..32];
    if mechanism != b"NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0" {
        return Err(ConnError::BadGreeting("security mechanism is not NULL"));
    }
    // A major version above 3 talks 3.x to us (the spec's rule); minor 0 or 1 matters.
    Ok(if g[10] > 3 { 1 } else { g[11] })
}

/// Reads the peer's greeting, refusing a wrong signature after its first 10 bytes.
pub(crate) async fn read_greeting<R: AsyncRead + Unpin>(r: &mut R) -> Result<u8, ConnError> {
    let mut g = [0u8; GREETING_LEN];
    r.read_exact(&mut g[..1]).await?;
    if g[0] != 0xff {
        return Err(ConnError::BadGreeting("no ZMTP signature"));
    }
    r.read_exact(&mut g[1..SIGNATURE_LEN]).await?;
    check_signature(&g)?;
    r.read_exact(&mut g[SIGNATURE_LEN..]).await?;
    check_greeting(&g)
}

/// One frame as read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    Data { more: bool, body: Bytes },
    Command(Bytes),
}

/// A frame header: its flags and declared length, checked against the limits.
pub(crate) fn check_header(flags: u8, declared: u64, max_data: usize) -> Result<usize, ConnError> {
    if flags & !(MORE | LONG | COMMAND) != 0 {
        return Err(ConnError::BadFrame("reserved flag bits set"));
    }
    let command = flags & COMMAND != 0;
    if command && flags & MORE != 0 {
        return Err(ConnError::BadFrame("a command frame with MORE set"));
    }
    let limit = if command { MAX_COMMAND } else { max_data };
    match usize::try_from(declared) {
        Ok(n) if n <= limit => Ok(n),
        _ => Err(ConnError::FrameTooLarge { declared, limit }),
    }
}

/// Reads one frame; a declared length over the limit fails before any allocation.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max_data: usize,
) -> Result<Frame, ConnError> {
    let flags = r.read_u8().await?;
    let declared = if flags & LONG != 0 {
        r.read_u64().await?
    } else {
        u64::from(r.read_u8().await?)
    };
    let len = check_header(flags, declared, max_data)?;
    let body = read_body(r, len).await?;
    Ok(if flags & COMMAND != 0 {
        Frame::Command(body)
    } else {
        Frame::Data {
            more: flags & MORE != 0,
            body,
        }
    })
}

async fn read_body<R: AsyncRead + Unpin>(r: &mut R, len: usize) -> Result<Bytes, ConnError> {
    if len <= EAGER {
        let mut buf = vec![0u8; len];
        r.read_exact(&mut buf).await?;
        return Ok(buf.into());
    }
    // Grow with what actually arrives: a peer that declares 60 MiB and sends 10 bytes
    // holds 64 KiB, not 60 MiB.
    let mut buf = BytesMut::with_capacity(EAGER);
    while buf.len() < len {
        if buf.capacity() == buf.len() {
            buf.reserve((len - buf.len()).min(buf.len().max(EAGER)));
        }
        let want = (len - buf.len()).min(buf.capacity() - buf.len());
        let n = r.read_buf(&mut (&mut buf).limit(want)).await?;
        if n == 0 {
            return Err(ConnError::Io(std::io::ErrorKind::UnexpectedEof));
        }
    }
    Ok(buf.freeze())
}

/// A command, parsed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Ready(Vec<(String, Bytes)>),
    Error(String),
    Subscribe(Bytes),
    Cancel(Bytes),
    Ping(Bytes),
    Pong,
    Other(String),
}

pub(crate) fn parse_command(body: &Bytes) -> Result<Command, ConnError> {
    let (&n, rest) = body
        .split_first()
        .ok_or(ConnError::BadFrame("an empty command"))?;
    let n = usize::from(n);
    if rest.len() < n {
        return Err(ConnError::BadFrame("a command name longer than its frame"));
    }
    let name = String::from_utf8_lossy(&rest[..n]).into_owned();
    let data = body.slice(1 + n..);
    Ok(match name.as_str() {
        "READY" => Command::Ready(parse_properties(&data)?),
        "ERROR" => {
            let reason = data.get(1..).unwrap_or_default();
            Command::Error(String::from_utf8_lossy(reason).into_owned())
        }
        "SUBSCRIBE" => Command::Subscribe(data),
        "CANCEL" => Command::Cancel(data),
        "PING" => {
            if data.len() < 2 || data.len() > 2 + 16 {
                return Err(ConnError::BadFrame("a PING of the wrong size"));
            }
            Command::Ping(data.slice(2..))
        }
        "PONG" => Command::Pong,
        _ => Command::Other(name),
    })
}

fn parse_properties(mut data: &[u8]) -> Result<Vec<(String, Bytes)>, ConnError> {
    let short = ConnError::BadFrame("READY metadata is cut short");
    let mut props = Vec::new();
    while let Some((&n, rest)) = data.split_first() {
        let n = usize::from(n);
        let name = rest.get(..n).ok_or_else(|| short.clone())?;
        let rest = &rest[n..];
        let len = rest.get(..4).ok_or_else(|| short.clone())?;
        let len = u32::from_be_bytes(len.try_into().expect("four bytes")) as usize;
        let value = rest.get(4..4 + len).ok_or_else(|| short.clone())?;
        props.push((
            String::from_utf8_lossy(name).into_owned(),
            Bytes::copy_from_slice(value),
        ));
        data = &rest[4 + len..];
    }
    Ok(props)
}

fn put_header(out: &mut BytesMut, flags: u8, len: usize) {
    if len > 255 {
        out.put_u8(flags | LONG);
        out.put_u64(len as u64);
    } else {
        out.put_u8(flags);
        out.put_u8(len as u8);
    }
}

/// A command frame: name and data.
pub(crate) fn put_command(out: &mut BytesMut, name: &str, data: &[u8]) {
    put_header(out, COMMAND, 1 + name.len() + data.len());
    out.put_u8(name.len() as u8);
    out.put_slice(name.as_bytes());
    out.put_slice(data);
}

/// Our READY: the socket type only.
pub(crate) fn ready(socket_type: &str) -> BytesMut {
    let mut data = BytesMut::new();
    let name = b"Socket-Type";
    data.put_u8(name.len() as u8);
    data.put_slice(name);
    data.put_u32(socket_type.len() as u32);
    data.put_slice(socket_type.as_bytes());
    let mut out = BytesMut::new();
    put_command(&mut out, "READY", &data);
    out
}

/// Frames longer than this are written straight from their buffer instead of copied.
pub(crate) const COPY_LIMIT: usize = 64 * 1024;

/// Writes the header of frame `i` of `n` (of length `len`).
pub(crate) fn put_frame_header(out: &mut BytesMut, len: usize, last: bool) {
    put_header(out, if last { 0 } else { MORE }, len);
}

/// A whole message in one buffer (tests and small messages).
#[cfg(test)]
pub(crate) fn encode_message(frames: &[Bytes]) -> BytesMut {
    let mut out = BytesMut::new();
    for (i, f) in frames.iter().enumerate() {
        put_frame_header(&mut out, f.len(), i + 1 == frames.len());
        out.put_slice(f);
    }
    out
}

/// What the reader of a connection yields.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    Message(Vec<Bytes>),
    Command(Command),
}

/// Reads one message or command, with the message's total (bytes plus per-frame overhead)
/// bounded by `max_message`.
pub(crate) async fn read_incoming<R: AsyncRead + Unpin>(
    r: &mut R,
    max_message: usize,
) -> Result<Incoming, ConnError> {
    let mut frames = Vec::new();
    let mut total = 0usize;
    loop {
        let left = max_message.saturating_sub(total);
        match read_frame(r, left).await.map_err(|e| match e {
            ConnError::FrameTooLarge { declared, .. } if !frames.is_empty() => {
                ConnError::MessageTooLarge {
                    total: total as u64 + declared,
                    limit: max_message,
                }
            }
            ConnError::FrameTooLarge { declared, .. } => ConnError::FrameTooLarge {
                declared,
                limit: max_message,
            },
            e => e,
        })? {
            Frame::Command(body) if frames.is_empty() => {
                return Ok(Incoming::Command(parse_command(&body)?));
            }
            Frame::Command(_) => {
                return Err(ConnError::BadFrame("a command inside a multipart message"));
            }
            Frame::Data { more, body } => {
                total += body.len() + FRAME_OVERHEAD;
                if total > max_message {
                    return Err(ConnError::MessageTooLarge {
                        total: total as u64,
                        limit: max_message,
                    });
                }
                frames.push(body);
                if !more {
                    return Ok(Incoming::Message(frames));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(what: &'static str) -> Result<u8, ConnError> {
        Err(ConnError::BadGreeting(what))
    }

    #[tokio::test]
    async fn greetings() {
        let good = greeting();
        let mut v30 = good;
        v30[11] = 0;
        let mut v40 = good;
        v40[10] = 4;
        let mut padded = good;
        padded[1..9].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let mut v20 = good;
        v20[10] = 1;
        let mut plain = good;
        plain[12..16].copy_from_slice(b"PLAI");
        let mut curve = good;
        curve[12..17].copy_from_slice(b"CURVE");
        let mut no_7f = good;
        no_7f[9] = 0;
        let mut http = [0u8; GREETING_LEN];
        http[..16].copy_from_slice(b"GET / HTTP/1.1\r\n");
        let table: Vec<([u8; GREETING_LEN], Result<u8, ConnError>)> = vec![
            (good, Ok(1)),
            (v30, Ok(0)),
            (v40, Ok(1)),
            (padded, Ok(1)),
            (v20, bad("ZMTP version before 3.0")),
            (plain, bad("security mechanism is not NULL")),
            (curve, bad("security mechanism is not NULL")),
            (no_7f, bad("no ZMTP signature")),
            (http, bad("no ZMTP signature")),
        ];
        for (g, want) in table {
            assert_eq!(read_greeting(&mut &g[..]).await, want, "{g:?}");
        }
        // A wrong first byte fails at once, without waiting for the other 63.
        assert_eq!(
            read_greeting(&mut &b"\x02"[..]).await,
            bad("no ZMTP signature")
        );
        // A cut greeting is an I/O error (EOF), not a panic.
        assert!(matches!(
            read_greeting(&mut &good[..20]).await,
            Err(ConnError::Io(_))
        ));
    }

    #[test]
    fn headers() {
        let huge = 1u64 << 45;
        let table: Vec<(u8, u64, usize, Result<usize, ConnError>)> = vec![
            (0x00, 5, 100, Ok(5)),
            (0x01, 255, 1000, Ok(255)),
            (0x02, 100, 100, Ok(100)),
            (
                0x02,
                101,
                100,
                Err(ConnError::FrameTooLarge {
                    declared: 101,
                    limit: 100,
                }),
            ),
            (
                0x02,
                huge,
                64 << 20,
                Err(ConnError::FrameTooLarge {
                    declared: huge,
                    limit: 64 << 20,
                }),
            ),
            (
                0x02,
                u64::MAX,
                64 << 20,
                Err(ConnError::FrameTooLarge {
                    declared: u64::MAX,
                    limit: 64 << 20,
                }),
            ),
            (0x04, 10, 100, Ok(10)),
            (
                0x06,
                huge,
                usize::MAX,
                Err(ConnError::FrameTooLarge {
                    declared: huge,
                    limit: MAX_COMMAND,
                }),
            ),
            (0x06, MAX_COMMAND as u64, 10, Ok(MAX_COMMAND)),
            (
                0x05,
                3,
                100,
                Err(ConnError::BadFrame("a command frame with MORE set")),
            ),
            (
                0x08,
                3,
                100,
                Err(ConnError::BadFrame("reserved flag bits set")),
            ),
            (
                0xff,
                3,
                100,
                Err(ConnError::BadFrame("reserved flag bits set")),
            ),
        ];
        for (flags, declared, max, want) in table {
            assert_eq!(
                check_header(flags, declared, max),
                want,
                "{flags:#x} {declared}"
            );
        }
    }

    fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![flags, body.len() as u8];
        v.extend_from_slice(body);
        v
    }

    fn cmd(name: &str, data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        put_command(&mut out, name, data);
        out.to_vec()
    }

    #[tokio::test]
    async fn commands() {
        let ready = ready("DEALER").to_vec();
        let mut ready_id = BytesMut::new();
        {
            let mut data = BytesMut::new();
            for (k, v) in [("Socket-Type", &b"DEALER"[..]), ("Identity", b"abc")] {
                data.put_u8(k.len() as u8);
                data.put_slice(k.as_bytes());
                data.put_u32(v.len() as u32);
                data.put_slice(v);
            }
            put_command(&mut ready_id, "READY", &data);
        }
        let mut cut = cmd("READY", b"\x0bSocket-Type\x00\x00\x00\x09DEALER");
        cut[1] = (cut.len() - 2) as u8;
        let table: Vec<(Vec<u8>, Result<Incoming, ConnError>)> = vec![
            (
                ready,
                Ok(Incoming::Command(Command::Ready(vec![(
                    "Socket-Type".into(),
                    Bytes::from("DEALER"),
                )]))),
            ),
            (
                ready_id.to_vec(),
                Ok(Incoming::Command(Command::Ready(vec![
                    ("Socket-Type".into(), Bytes::from("DEALER")),
                    ("Identity".into(), Bytes::from("abc")),
                ]))),
            ),
            (cut, Err(ConnError::BadFrame("READY metadata is cut short"))),
            (
                cmd("SUBSCRIBE", b"kernel."),
                Ok(Incoming::Command(Command::Subscribe(Bytes::from(
                    "kernel.",
                )))),
            ),
            (
                cmd("SUBSCRIBE", b""),
                Ok(Incoming::Command(Command::Subscribe(Bytes::new()))),
            ),
            (
                cmd("CANCEL", b"k"),
                Ok(Incoming::Command(Command::Cancel(Bytes::from("k")))),
            ),
            (
                cmd("PING", b"\x00\x0actx"),
                Ok(Incoming::Command(Command::Ping(Bytes::from("ctx")))),
            ),
            (
                cmd("PING", b"\x00"),
                Err(ConnError::BadFrame("a PING of the wrong size")),
            ),
            (cmd("PONG", b"ctx"), Ok(Incoming::Command(Command::Pong))),
            (
                cmd("ERROR", b"\x05nope!"),
                Ok(Incoming::Command(Command::Error("nope!".into()))),
            ),
            (
                cmd("HELLO", b"x"),
                Ok(Incoming::Command(Command::Other("HELLO".into()))),
            ),
            (
                frame(0x04, b""),
                Err(ConnError::BadFrame("an empty command")),
            ),
            (
                frame(0x04, b"\x09READY"),
                Err(ConnError::BadFrame("a command name longer than its frame")),
            ),
            (
                [frame(0x01, b"a"), cmd("PING", b"\x00\x00")].concat(),
                Err(ConnError::BadFrame("a command inside a multipart message")),
            ),
        ];
        for (bytes, want) in table {
            assert_eq!(
                read_incoming(&mut &bytes[..], 1 << 20).await,
                want,
                "{bytes:?}"
            );
        }
    }

    #[tokio::test]
    async fn messages_and_their_limits() {
        let two = encode_message(&[Bytes::from("id"), Bytes::from("x".repeat(300))]).to_vec();
        let limit = 2 + 300 + 2 * FRAME_OVERHEAD;
        let many_empty: Vec<u8> = [frame(0x01, b"").repeat(100), frame(0x00, b"")].concat();
        let mut huge_second = frame(0x01, b"ok");
        huge_second.extend_from_slice(&[0x02]);
        huge_second.extend_from_slice(&(1u64 << 45).to_be_bytes());
        let table: Vec<(Vec<u8>, usize, Result<Incoming, ConnError>)> = vec![
            (
                two.clone(),
                limit,
                Ok(Incoming::Message(vec![
                    Bytes::from("id"),
                    Bytes::from("x".repeat(300)),
                ])),
            ),
            (
                two.clone(),
                limit - 1,
                Err(ConnError::MessageTooLarge {
                    total: limit as u64,
                    limit: limit - 1,
                }),
            ),
            (
                two,
                100,
                Err(ConnError::MessageTooLarge {
                    total: 2 + FRAME_OVERHEAD as u64 + 300,
                    limit: 100,
                }),
            ),
            // Empty frames count too.
            (
                many_empty.clone(),
                101 * FRAME_OVERHEAD,
                Ok(Incoming::Message(vec![Bytes::new(); 101])),
            ),
            (
                many_empty,
                100 * FRAME_OVERHEAD,
                Err(ConnError::MessageTooLarge {
                    total: 101 * FRAME_OVERHEAD as u64,
                    limit: 100 * FRAME_OVERHEAD,
                }),
            ),
            (
                huge_second,
                64 << 20,
                Err(ConnError::MessageTooLarge {
                    total: 2 + FRAME_OVERHEAD as u64 + (1 << 45),
                    limit: 64 << 20,
                }),
            ),
            (
                [&[0x02][..], &(1u64 << 45).to_be_bytes()].concat(),
                64 << 20,
                Err(ConnError::FrameTooLarge {
                    declared: 1 << 45,
                    limit: 64 << 20,
                }),
            ),
        ];
        for (bytes, max, want) in table {
            assert_eq!(read_incoming(&mut &bytes[..], max).await, want);
        }
    }

    #[tokio::test]
    async fn a_declared_length_is_not_allocated_before_its_bytes_arrive() {
        // 60 MiB declared, 1 KiB sent, then EOF: an I/O error, and the read grew only as far
        // as the bytes that came (this would abort or take seconds if it reserved 60 MiB of
        // zeroes first: it does not show here, but the eager path is only taken below 64 KiB).
        let mut bytes = vec![0x02];
        bytes.extend_from_slice(&(60u64 << 20).to_be_bytes());
        bytes.extend_from_slice(&[7u8; 1024]);
        assert!(matches!(
            read_frame(&mut &bytes[..], 64 << 20).await,
            Err(ConnError::Io(_))
        ));
        // A long frame that does arrive whole is read whole.
        let body = vec![9u8; 200_000];
        let mut bytes = vec![0x02];
        bytes.extend_from_slice(&(body.len() as u64).to_be_bytes());
        bytes.extend_from_slice(&body);
        assert_eq!(
            read_frame(&mut &bytes[..], 64 << 20).await.unwrap(),
            Frame::Data {
                more: false,
                body: body.into()
            }
        );
    }
}
