//! Connections: TCP with Nagle off, TLS when the first byte is a handshake, and the proxy
//! role: `CONNECT` tunnels to the Azure hosts the emulator stands in for (TLS terminated
//! here) and absolute-form requests for the managed-identity endpoint. Every other host is
//! refused: nothing is ever forwarded anywhere.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::tls::{Authority, allowed_host};

/// How long the accept loop waits after a failed accept (say, no descriptor left).
const ACCEPT_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

fn refuse(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(text.to_owned()));
    *r.status_mut() = status;
    r
}

/// The link-local address of the VM's instance metadata service (IMDS). In proxy mode the
/// emulator answers requests addressed to it itself; nothing ever connects to it.
const IMDS: std::net::Ipv4Addr = std::net::Ipv4Addr::new(169, 254, 169, 254);

/// Managed-identity hosts answered in proxy mode (IMDS, by address or by name).
fn identity_host(host: &str) -> bool {
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip == IMDS)
        || host == "metadata.azure.internal"
}

async fn answer(
    app: Router,
    tls: Option<Arc<tokio_rustls::TlsAcceptor>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::io::Error> {
    if req.method() == Method::CONNECT {
        let Some(authority) = req.uri().authority().cloned() else {
            return Ok(refuse(StatusCode::BAD_REQUEST, "CONNECT needs host:port"));
        };
        let (Some(acceptor), true) = (
            tls,
            allowed_host(authority.host()) && authority.port_u16().unwrap_or(443) == 443,
        ) else {
            return Ok(refuse(
                StatusCode::FORBIDDEN,
                "the azq emulator only stands in for Azure Quantum hosts; it forwards nothing",
            ));
        };
        tokio::spawn(async move {
            let Ok(upgraded) = hyper::upgrade::on(req).await else {
                return;
            };
            let Ok(stream) = acceptor.accept(TokioIo::new(upgraded)).await else {
                return;
            };
            serve_app(app, TokioIo::new(stream)).await;
        });
        return Ok(Response::new(Body::empty()));
    }
    let (mut parts, body) = req.into_parts();
    if parts.uri.scheme().is_some() {
        // An absolute-form request: a plain-http proxy request.
        let host = parts.uri.host().unwrap_or("").to_owned();
        if !identity_host(&host) && !allowed_host(&host) {
            return Ok(refuse(
                StatusCode::FORBIDDEN,
                "the azq emulator only stands in for Azure hosts; it forwards nothing",
            ));
        }
        if let Ok(v) = host.parse() {
            parts.headers.insert("host", v);
        }
        parts.uri = parts.uri.path_and_query().map_or_else(
            || "/".parse().expect("a path"),
            |p| p.as_str().parse().expect("a path"),
        );
    }
    app_or_drop(app, Request::from_parts(parts, body)).await
}

/// Serves the app, dropping the connection where a fault says so.
async fn app_or_drop(
    app: Router,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::io::Error> {
    let resp = app
        .oneshot(req.map(Body::new))
        .await
        .unwrap_or_else(|e| match e {});
    if resp
        .extensions()
        .get::<crate::faults::DropConnection>()
        .is_some()
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "fault: connection dropped",
        ));
    }
    Ok(resp)
}

async fn serve_http<I>(app: Router, tls: Option<Arc<tokio_rustls::TlsAcceptor>>, io: TokioIo<I>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| answer(app.clone(), tls.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades()
        .await;
}

/// Serves the app alone (inside a tunnel, or on a direct TLS connection).
async fn serve_app<I>(app: Router, io: TokioIo<I>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| app_or_drop(app.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

/// Accepts connections until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    app: Router,
    authority: Option<Arc<Authority>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Clients that dial the bound address (say 127.0.0.2) find it in the certificate.
    let bound = listener.local_addr().ok().map(|a| a.ip());
    let acceptor =
        authority.map(|a| Arc::new(tokio_rustls::TlsAcceptor::from(a.server_config(bound))));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => return Ok(()),
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of descriptors or memory, or a connection reset before it was taken: that
            // one connection is lost, not the emulator. A short pause lets descriptors free.
            Err(e) => {
                tracing::warn!("cannot accept a connection: {e}");
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (app, acceptor) = (app.clone(), acceptor.clone());
        tokio::spawn(async move {
            let mut first = [0u8; 1];
            let is_tls = matches!(stream.peek(&mut first).await, Ok(1) if first[0] == 0x16);
            match (is_tls, acceptor) {
                (true, Some(a)) => {
                    if let Ok(tls) = a.accept(stream).await {
                        serve_app(app, TokioIo::new(tls)).await;
                    }
                }
                (_, acceptor) => serve_http(app, acceptor, TokioIo::new(stream)).await,
            }
        });
    }
}
