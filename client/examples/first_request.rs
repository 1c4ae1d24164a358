//! Times the first https request of a fresh process (client set-up, TLS, the request), to
//! find what a cold `%azure.connect` spends: `cargo run --release -p azq-client --example
//! first_request URL` with HTTPS_PROXY and SSL_CERT_FILE set as for the emulator.

use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = std::env::args().nth(1).expect("a URL");
    let t0 = Instant::now();
    let http = azq_client::Http::new(&azq_client::Env::process()).expect("client");
    let t1 = Instant::now();
    let req = azq_client::http::Request::get(url::Url::parse(&url).expect("URL"));
    let resp = http.send(req).await.expect("response");
    let t2 = Instant::now();
    let req = azq_client::http::Request::get(url::Url::parse(&url).expect("URL"));
    http.send(req).await.expect("response");
    let t3 = Instant::now();
    let fresh = azq_client::Http::new(&azq_client::Env::process()).expect("client");
    let t4 = Instant::now();
    let req = azq_client::http::Request::get(url::Url::parse(&url).expect("URL"));
    fresh.send(req).await.expect("response");
    println!("a fresh client's first request {:?}", t4.elapsed());
    println!(
        "client {:?}  first request {:?} (status {})  second {:?}",
        t1 - t0,
        t2 - t1,
        resp.status,
        t3 - t2
    );
}
