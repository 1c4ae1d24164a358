//! Emulator benchmark: fills the emulator with jobs, then measures GET job latency with
//! concurrent keep-alive clients and the time to list every job through all its pages.
//!
//! `cargo run --release -p azq-emulator --example load -- [jobs] [clients] [requests]`

use std::time::{Duration, Instant};

use azq_emulator::{Config, Emulator};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

const V: &str = "api-version=2026-01-15-preview";

async fn connect(addr: std::net::SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

async fn call(
    s: &mut SendRequest<Full<Bytes>>,
    method: &str,
    uri: &str,
    key: &str,
    body: Option<&Value>,
) -> (u16, Bytes) {
    let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1")
        .header("x-ms-quantum-api-key", key)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("request");
    let resp = s.send_request(req).await.expect("response");
    let status = resp.status().as_u16();
    (
        status,
        resp.into_body().collect().await.expect("body").to_bytes(),
    )
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (jobs, clients, requests) = (
        args.first().copied().unwrap_or(10_000),
        args.get(1).copied().unwrap_or(8),
        args.get(2).copied().unwrap_or(40_000),
    );

    // The emulator on its own runtime (two workers), the clients on another thread.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = std_listener.local_addr().expect("addr");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let config = Config {
        job_delay: Duration::from_secs(3600),
        ..Config::default()
    };
    let key = config.credentials.api_key.expose().to_owned();
    let em = Emulator::new(config, format!("http://{addr}"));
    let ws = em.workspace_path();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                azq_emulator::serve(listener, em, std::future::pending())
                    .await
                    .expect("serve");
            });
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut s = connect(addr).await;
        let started = Instant::now();
        let mut ids = Vec::with_capacity(jobs);
        for i in 0..jobs {
            let id = uuid::Uuid::new_v4().to_string();
            let body = json!({"id": id, "name": format!("bench-{i}"), "providerId": "ionq", "target": "ionq.simulator", "itemType": "Job",
                "containerUri": format!("http://{addr}/blob/x/job-{id}"), "inputDataUri": format!("http://{addr}/blob/x/job-{id}/inputData"),
                "inputDataFormat": "ionq.circuit.v1", "inputParams": {}});
            let (status, _) = call(&mut s, "PUT", &format!("{ws}/jobs/{id}?{V}"), &key, Some(&body)).await;
            assert_eq!(status, 200);
            ids.push(id);
        }
        println!("created {jobs} jobs in {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);

        // Every page of the job list, following nextLink.
        let mut list_times = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            let (mut uri, mut seen) = (format!("{ws}/jobs?{V}&skip=0&top=100"), 0usize);
            loop {
                let (status, body) = call(&mut s, "GET", &uri, &key, None).await;
                assert_eq!(status, 200);
                // Count and follow without building a JSON tree: this times the emulator.
                let text = std::str::from_utf8(&body).expect("utf-8");
                seen += text.matches("\"itemType\":\"Job\"").count();
                match text.split_once("\"nextLink\":\"") {
                    Some((_, rest)) => {
                        let next = &rest[..rest.find('"').expect("end of nextLink")];
                        uri = next.trim_start_matches(&format!("http://{addr}")).to_owned();
                    }
                    None => break,
                }
            }
            assert_eq!(seen, jobs);
            list_times.push(t0.elapsed());
        }
        list_times.sort();
        println!("listed {jobs} jobs through every page: median {:.0} ms (of 5)", pct(&list_times, 50.0));

        // GET job latency with concurrent keep-alive clients.
        let per = requests / clients;
        let mut tasks = Vec::new();
        for c in 0..clients {
            let (ids, ws, key) = (ids.clone(), ws.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                let mut s = connect(addr).await;
                let mut lat = Vec::with_capacity(per);
                for i in 0..per {
                    let id = &ids[(c * 7919 + i * 104_729) % ids.len()];
                    let t0 = Instant::now();
                    let (status, _) = call(&mut s, "GET", &format!("{ws}/jobs/{id}?{V}"), &key, None).await;
                    lat.push(t0.elapsed());
                    assert_eq!(status, 200);
                }
                lat
            }));
        }
        let t0 = Instant::now();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("client"));
        }
        let wall = t0.elapsed();
        all.sort();
        println!(
            "GET job, {clients} clients, {} requests: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms, {:.0} requests/s",
            all.len(), pct(&all, 50.0), pct(&all, 99.0), pct(&all, 100.0), all.len() as f64 / wall.as_secs_f64()
        );
    });
}
