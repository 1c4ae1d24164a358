//! The sockets over real loopback TCP, driven by a minimal ZMTP client written from the
//! codec: routing, subscriptions, echo, and what a hostile or slow peer can and cannot do.
//! (Interoperation with libzmq is checked by the kernel's Python tests through pyzmq.)

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::codec::{self, Command, Incoming};
use crate::endpoint::{Endpoint, Listener};
use crate::{Limits, SendError, rep, router, xpub};

const GUARD: Duration = Duration::from_secs(10);

async fn listener() -> (Listener, u16) {
    let l = Listener::bind(&Endpoint::parse("tcp://127.0.0.1:0").unwrap())
        .await
        .unwrap();
    let port = l.port().unwrap();
    (l, port)
}

struct Client {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    async fn raw(port: u16) -> Client {
        let (r, w) = TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap()
            .into_split();
        Client {
            r: BufReader::new(r),
            w,
        }
    }

    async fn connect(port: u16, socket_type: &str, identity: Option<&str>) -> Client {
        let mut c = Client::raw(port).await;
        let mut g = codec::greeting();
        g[11] = 0; // speak 3.0, as older libzmq does
        c.w.write_all(&g).await.unwrap();
        codec::read_greeting(&mut c.r).await.unwrap();
        let mut data = BytesMut::new();
        let mut props = vec![("Socket-Type", socket_type)];
        props.extend(identity.map(|i| ("Identity", i)));
        for (k, v) in props {
            data.put_u8(k.len() as u8);
            data.put_slice(k.as_bytes());
            data.put_u32(v.len() as u32);
            data.put_slice(v.as_bytes());
        }
        c.command("READY", &data).await;
        match c.recv().await {
            Some(Incoming::Command(Command::Ready(p))) => {
                assert!(p.iter().any(|(k, _)| k == "Socket-Type"));
            }
            other => panic!("no READY: {other:?}"),
        }
        c
    }

    async fn command(&mut self, name: &str, data: &[u8]) {
        let mut out = BytesMut::new();
        codec::put_command(&mut out, name, data);
        self.w.write_all(&out).await.unwrap();
    }

    async fn send(&mut self, frames: &[&[u8]]) {
        let frames: Vec<Bytes> = frames.iter().map(|f| Bytes::copy_from_slice(f)).collect();
        self.w
            .write_all(&codec::encode_message(&frames))
            .await
            .unwrap();
    }

    /// The next message or command; `None` once the server closed the connection.
    async fn recv(&mut self) -> Option<Incoming> {
        tokio::time::timeout(GUARD, codec::read_incoming(&mut self.r, 1 << 30))
            .await
            .expect("hang guard")
            .ok()
    }

    async fn message(&mut self) -> Vec<Bytes> {
        match self.recv().await {
            Some(Incoming::Message(m)) => m,
            other => panic!("no message: {other:?}"),
        }
    }

    /// Reads until the server closes; panics (hang guard) if it never does.
    async fn closed(&mut self) {
        let mut sink = vec![0u8; 64 * 1024];
        loop {
            let n = tokio::time::timeout(GUARD, self.r.read(&mut sink))
                .await
                .expect("the server closes the connection");
            if !matches!(n, Ok(n) if n > 0) {
                return;
            }
        }
    }
}

async fn next<T>(f: impl std::future::Future<Output = Option<T>>) -> T {
    tokio::time::timeout(GUARD, f)
        .await
        .expect("hang guard")
        .expect("socket open")
}

#[tokio::test]
async fn router_routes_by_identity_and_generates_missing_ones() {
    let (l, port) = listener().await;
    let mut router = router::start_for_test(l, &Limits::default());
    let sender = router.sender();
    let mut alice = Client::connect(port, "DEALER", Some("alice")).await;
    let mut anon = Client::connect(port, "DEALER", None).await;

    alice.send(&[b"", b"hello"]).await;
    let m = next(router.recv()).await;
    assert_eq!(
        m,
        [Bytes::from("alice"), Bytes::new(), Bytes::from("hello")]
    );
    anon.send(&[b"hi"]).await;
    let m = next(router.recv()).await;
    let anon_id = m[0].clone();
    assert_eq!((anon_id.len(), anon_id[0]), (5, 0));
    assert_eq!(m[1], "hi");

    sender
        .send(vec![anon_id.clone(), Bytes::from("to anon")])
        .unwrap();
    sender
        .send(vec![Bytes::from("alice"), Bytes::from("to alice")])
        .unwrap();
    assert_eq!(anon.message().await, [Bytes::from("to anon")]);
    assert_eq!(alice.message().await, [Bytes::from("to alice")]);
    assert_eq!(
        sender.send(vec![Bytes::from("bob"), Bytes::from("x")]),
        Err(SendError::UnknownPeer)
    );
    assert_eq!(sender.send(vec![]), Err(SendError::NoIdentity));

    // A second "alice" is refused; the first keeps working.
    let mut twin = Client::connect(port, "DEALER", Some("alice")).await;
    twin.closed().await;
    alice.send(&[b"still here"]).await;
    assert_eq!(next(router.recv()).await[1], "still here");

    // PING is answered with PONG and its context.
    alice.command("PING", b"\x00\x05ctx").await;
    assert_eq!(alice.recv().await, Some(Incoming::Command(Command::Pong)));
}

#[tokio::test]
async fn oversize_frames_close_only_their_connection() {
    let (l, port) = listener().await;
    let limits = Limits {
        max_message: 1024,
        ..Limits::default()
    };
    let mut router = router::start_for_test(l, &limits);
    let mut good = Client::connect(port, "DEALER", Some("good")).await;

    // Declared lengths, after the handshake and before it.
    let mut huge = Client::connect(port, "DEALER", None).await;
    huge.w.write_all(&[0x02]).await.unwrap();
    huge.w.write_all(&(1u64 << 45).to_be_bytes()).await.unwrap();
    huge.closed().await;
    let mut early = Client::raw(port).await;
    early.w.write_all(&codec::greeting()).await.unwrap();
    early.w.write_all(&[0x06]).await.unwrap();
    early
        .w
        .write_all(&(1u64 << 45).to_be_bytes())
        .await
        .unwrap();
    early.closed().await;
    let mut bare = Client::raw(port).await;
    bare.w.write_all(&[0x02]).await.unwrap();
    bare.w.write_all(&(1u64 << 45).to_be_bytes()).await.unwrap();
    bare.closed().await;

    // One frame over, and a message whose frames together are over.
    let mut big = Client::connect(port, "DEALER", None).await;
    big.send(&[&[1u8; 1025]]).await;
    big.closed().await;
    let mut parts = Client::connect(port, "DEALER", None).await;
    parts.send(&[&[1u8; 600], &[2u8; 600]]).await;
    parts.closed().await;

    // Exactly at the limit passes.
    good.send(&[&[7u8; 1024 - 2 * codec::FRAME_OVERHEAD - 5], b""])
        .await;
    let m = next(router.recv()).await;
    assert_eq!((m[0].as_ref(), m.len()), (&b"good"[..], 3));
}

#[tokio::test]
async fn a_stalled_handshake_is_closed_and_wrong_peers_are_refused() {
    let (l, port) = listener().await;
    let limits = Limits {
        handshake_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let mut router = router::start_for_test(l, &limits);
    let mut slow = Client::raw(port).await;
    slow.w.write_all(&codec::greeting()[..5]).await.unwrap();
    let mut publisher = Client::connect(port, "PUB", None).await;
    let mut http = Client::raw(port).await;
    http.w.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    // Meanwhile a real peer is served.
    let mut good = Client::connect(port, "REQ", None).await;
    good.send(&[b"", b"x"]).await;
    assert_eq!(next(router.recv()).await[2], "x");
    slow.closed().await;
    publisher.closed().await;
    http.closed().await;
}

#[tokio::test]
async fn xpub_filters_by_prefix_and_reports_both_subscription_forms() {
    let (l, port) = listener().await;
    let mut xpub = xpub::start_for_test(l, &Limits::default());
    let mut old = Client::connect(port, "SUB", None).await;
    let mut new = Client::connect(port, "SUB", None).await;

    old.send(&[b"\x01kernel."]).await; // ZMTP 3.0: a message
    assert_eq!(next(xpub.recv()).await, "\x01kernel.");
    new.command("SUBSCRIBE", b"").await; // ZMTP 3.1: a command
    assert_eq!(next(xpub.recv()).await, "\x01");

    assert_eq!(
        xpub.send(vec![Bytes::from("kernel.a"), Bytes::from("1")]),
        2
    );
    assert_eq!(xpub.send(vec![Bytes::from("other"), Bytes::from("2")]), 1);
    assert_eq!(
        old.message().await,
        [Bytes::from("kernel.a"), Bytes::from("1")]
    );
    assert_eq!(
        new.message().await,
        [Bytes::from("kernel.a"), Bytes::from("1")]
    );
    assert_eq!(
        new.message().await,
        [Bytes::from("other"), Bytes::from("2")]
    );

    new.command("CANCEL", b"").await;
    assert_eq!(next(xpub.recv()).await, "\x00");
    old.send(&[b"\x00kernel."]).await;
    assert_eq!(next(xpub.recv()).await, "\x00kernel.");
    assert_eq!(xpub.send(vec![Bytes::from("kernel.a")]), 0);

    // A subscriber that piles up topics is cut off.
    let greedy = Client::connect(port, "SUB", None).await;
    let mut many = BytesMut::new();
    for i in 0..5000u32 {
        codec::put_command(&mut many, "SUBSCRIBE", &i.to_be_bytes());
    }
    let mut w = greedy.w;
    tokio::spawn(async move { w.write_all(&many).await });
    let mut r = greedy.r;
    let mut sink = vec![0u8; 1024];
    let closed = async {
        while tokio::time::timeout(GUARD, r.read(&mut sink))
            .await
            .expect("the server closes the connection")
            .is_ok_and(|n| n > 0)
        {}
    };
    tokio::pin!(closed);
    let mut events = 0;
    loop {
        tokio::select! {
            () = &mut closed => break,
            _ = xpub.recv() => events += 1,
        }
    }
    assert!((1000..5000).contains(&events), "{events}");
}

#[tokio::test]
async fn a_slow_subscriber_loses_messages_instead_of_growing_memory() {
    let (l, port) = listener().await;
    let limits = Limits {
        queue: 4,
        ..Limits::default()
    };
    let mut xpub = xpub::start_for_test(l, &limits);
    let mut slow = Client::connect(port, "SUB", None).await;
    slow.command("SUBSCRIBE", b"").await;
    next(xpub.recv()).await;
    let chunk = Bytes::from(vec![0u8; 256 * 1024]);
    // The subscriber reads nothing: once the socket buffers and the 4-message queue are full,
    // messages are dropped (send counts 0) rather than queued. 4096 x 256 KiB = 1 GiB is far
    // beyond any socket buffer, so drops must come.
    let mut dropped = 0;
    for _ in 0..4096 {
        if xpub.send(vec![Bytes::new(), chunk.clone()]) == 0 {
            dropped += 1;
        }
        tokio::task::yield_now().await;
    }
    assert!(dropped > 0);
    // It still gets what was queued, in order, whole.
    assert_eq!(slow.message().await[1].len(), chunk.len());
}

#[tokio::test]
async fn rep_echoes_with_the_envelope() {
    let (l, port) = listener().await;
    rep::start_for_test(l, &Limits::default());
    let mut req = Client::connect(port, "REQ", None).await;
    req.send(&[b"", b"ping"]).await;
    assert_eq!(req.message().await, [Bytes::new(), Bytes::from("ping")]);
    let mut dealer = Client::connect(port, "DEALER", None).await;
    dealer.send(&[b"", &[5u8; 300]]).await;
    assert_eq!(dealer.message().await[1].len(), 300);
    req.command("PING", b"\x00\x00").await;
    assert_eq!(req.recv().await, Some(Incoming::Command(Command::Pong)));
    let mut sub = Client::connect(port, "SUB", None).await;
    sub.closed().await;
}
