//! The emulator's own certificate authority: a CA written to `<dir>/ca.pem` (its key to
//! `<dir>/ca-key.pem`, 0600, reused on restart), and server certificates minted on demand for
//! the host name a client asks for, limited to loopback names and the Azure hosts the
//! emulator stands in for. A client that dials an address sends no name: its certificate
//! names every loopback form, and the loopback address the emulator is bound to.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::Locked;

/// Whether the emulator answers for this host (without port).
pub fn allowed_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost"
        || h == "127.0.0.1"
        || h == "::1"
        || h == "login.microsoftonline.com"
        || h == "management.azure.com"
        || (h.ends_with(".quantum.azure.com") && h.len() > ".quantum.azure.com".len())
        || (h.ends_with(".blob.core.windows.net") && h.len() > ".blob.core.windows.net".len())
}

pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    pub ca_path: PathBuf,
    cache: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Authority({})", self.ca_path.display())
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "azq emulator local CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "azq");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

impl Authority {
    /// Loads the CA from `dir`, or creates it there.
    pub fn open(dir: &Path) -> Result<Authority, String> {
        crate::files::private_dir(dir, "the certificate folder")?;
        let ca_path = dir.join("ca.pem");
        let key_path = dir.join("ca-key.pem");
        let params = ca_params();
        let key = match std::fs::read_to_string(&key_path) {
            Ok(pem) if ca_path.exists() => KeyPair::from_pem(&pem)
                .map_err(|e| format!("{} is not a key: {e}", key_path.display()))?,
            _ => {
                let key = KeyPair::generate().map_err(|e| e.to_string())?;
                let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
                crate::files::write_private(&key_path, key.serialize_pem().as_bytes())
                    .map_err(|e| format!("cannot write {}: {e}", key_path.display()))?;
                crate::files::write_public(&ca_path, cert.pem().as_bytes())
                    .map_err(|e| format!("cannot write {}: {e}", ca_path.display()))?;
                key
            }
        };
        Ok(Authority {
            issuer: Issuer::new(params, key),
            ca_path,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// A certificate for `host`, minted once and cached.
    pub fn certified(&self, host: &str) -> Option<Arc<CertifiedKey>> {
        let host = host.to_ascii_lowercase();
        if !allowed_host(&host) {
            return None;
        }
        if host == "localhost" {
            return self.for_addresses(None);
        }
        self.mint(host.clone(), &host, vec![host.clone()])
    }

    /// The certificate for clients that send no server name (they dial an address): it names
    /// `localhost`, `127.0.0.1`, `::1` and `bound`, the address the emulator listens on, when
    /// that is another loopback address (127.0.0.0/8). rcgen makes address strings IP SANs.
    pub fn for_addresses(&self, bound: Option<IpAddr>) -> Option<Arc<CertifiedKey>> {
        let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        let mut cache_key = "localhost".to_owned();
        if let Some(ip) = bound.filter(|ip| ip.is_loopback()) {
            let ip = ip.to_string();
            if !names.contains(&ip) {
                cache_key = format!("localhost+{ip}");
                names.push(ip);
            }
        }
        self.mint(cache_key, "localhost", names)
    }

    /// Mints (once; cached under `cache_key`) a certificate for `names`.
    fn mint(
        &self,
        cache_key: String,
        common_name: &str,
        names: Vec<String>,
    ) -> Option<Arc<CertifiedKey>> {
        let mut cache = self.cache.locked();
        if let Some(c) = cache.get(&cache_key) {
            return Some(c.clone());
        }
        let key = KeyPair::generate().ok()?;
        let mut params = CertificateParams::new(names).ok()?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let cert = params.signed_by(&key, &self.issuer).ok()?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signer = rustls::crypto::ring::sign::any_supported_type(&der).ok()?;
        let certified = Arc::new(CertifiedKey::new(
            vec![CertificateDer::from(cert.der().to_vec())],
            signer,
        ));
        cache.insert(cache_key, certified.clone());
        Some(certified)
    }

    /// A TLS server configuration that mints certificates by SNI (without one: `localhost`,
    /// `127.0.0.1`, `::1` and `bound`, the loopback address the emulator listens on).
    pub fn server_config(self: &Arc<Self>, bound: Option<IpAddr>) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver(self.clone(), bound)));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

#[derive(Debug)]
struct Resolver(Arc<Authority>, Option<IpAddr>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match hello.server_name() {
            Some(name) => self.0.certified(name),
            None => self.0.for_addresses(self.1),
        }
    }
}
