//! The emulator's https over a real socket: a client that dials a loopback address other
//! than 127.0.0.1 (the emulator bound to 127.0.0.2) verifies the certificate by that address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use azq_emulator::{Config, Emulator, serve_tls, tls::Authority};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Connects to `addr` over TLS, verifying the certificate for `name` against `ca`, and asks
/// for the OpenID document; the status line, or the handshake's error.
async fn ask(addr: SocketAddr, name: IpAddr, ca: &[u8]) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca).expect("ca.pem is a certificate"))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(ServerName::IpAddress(name.into()), tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(
        b"GET /common/v2.0/.well-known/openid-configuration HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    Ok(text.lines().next().unwrap_or("").to_owned())
}

#[tokio::test]
async fn a_certificate_names_the_loopback_address_the_emulator_is_bound_to() {
    let dir = azq_emulator::files::private_temp_dir("azq-tls-test-").unwrap();
    let authority = Arc::new(Authority::open(&dir).unwrap());
    let ca = std::fs::read(&authority.ca_path).unwrap();
    let bound = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let listener = TcpListener::bind(SocketAddr::new(bound, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let emulator = Emulator::as_azure(Config::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_tls(listener, emulator, authority, async {
        let _ = stopped.await;
    }));

    let got = ask(addr, bound, &ca).await;
    assert!(
        got.as_deref().is_ok_and(|l| l.starts_with("HTTP/1.1 ")),
        "{got:?}"
    );
    // The loopback names of before are still there.
    let got = ask(addr, IpAddr::V4(Ipv4Addr::LOCALHOST), &ca).await;
    assert!(got.is_ok(), "{got:?}");
    // Control: an address it is not bound to is not named.
    let got = ask(addr, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), &ca).await;
    assert!(
        got.as_ref()
            .is_err_and(|e| e.contains("not valid for name \"127.0.0.3\"")),
        "{got:?}"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
