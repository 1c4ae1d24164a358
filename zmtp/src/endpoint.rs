//! Endpoints (`tcp://HOST:PORT`, `ipc://PATH`) and binding them; an ipc socket file left by
//! a dead process is replaced, one that something still listens on is not.

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::net::{TcpListener, UnixListener, UnixStream};

use crate::Error;

/// Where a socket binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A host (an address, `*` for all, or a name) and a port.
    Tcp { host: String, port: u16 },
    /// A Unix socket path.
    Ipc(PathBuf),
}

impl Endpoint {
    /// Parses `tcp://HOST:PORT` (IPv6 hosts in brackets or bare) or `ipc://PATH`.
    pub fn parse(url: &str) -> Result<Endpoint, Error> {
        let bad = || Error::BadEndpoint(url.to_owned());
        if let Some(path) = url.strip_prefix("ipc://") {
            if path.is_empty() {
                return Err(bad());
            }
            return Ok(Endpoint::Ipc(PathBuf::from(path)));
        }
        let rest = url.strip_prefix("tcp://").ok_or_else(bad)?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse().map_err(|_| bad())?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad());
        }
        let host = if host == "*" { "0.0.0.0" } else { host };
        Ok(Endpoint::Tcp {
            host: host.to_owned(),
            port,
        })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::Ipc(path) => write!(f, "ipc://{}", path.display()),
        }
    }
}

pub(crate) type Reader = BufReader<Box<dyn AsyncRead + Send + Unpin>>;
pub(crate) type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// A bound listener; an ipc one removes its socket file when dropped.
pub(crate) enum Listener {
    Tcp(TcpListener),
    Ipc(UnixListener, PathBuf),
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Ipc(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

const READ_BUFFER: usize = 64 * 1024;

impl Listener {
    pub(crate) async fn bind(endpoint: &Endpoint) -> Result<Listener, Error> {
        let failed = |source| Error::Bind {
            endpoint: endpoint.to_string(),
            source,
        };
        match endpoint {
            Endpoint::Tcp { host, port } => TcpListener::bind((host.as_str(), *port))
                .await
                .map(Listener::Tcp)
                .map_err(failed),
            Endpoint::Ipc(path) => match UnixListener::bind(path) {
                Ok(l) => Ok(Listener::Ipc(l, path.clone())),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    // A socket file nobody answers on is stale (libzmq unlinks it too).
                    if UnixStream::connect(path).await.is_ok() {
                        return Err(failed(e));
                    }
                    let is_socket = std::fs::symlink_metadata(path)
                        .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()));
                    if !is_socket {
                        return Err(failed(e));
                    }
                    std::fs::remove_file(path).map_err(failed)?;
                    UnixListener::bind(path)
                        .map(|l| Listener::Ipc(l, path.clone()))
                        .map_err(failed)
                }
                Err(e) => Err(failed(e)),
            },
        }
    }

    /// The next connection, split, with a label for logs.
    pub(crate) async fn accept(&self) -> std::io::Result<(Reader, Writer, String)> {
        match self {
            Listener::Tcp(l) => {
                let (s, addr) = l.accept().await?;
                s.set_nodelay(true)?;
                let (r, w) = s.into_split();
                Ok((
                    BufReader::with_capacity(READ_BUFFER, Box::new(r) as _),
                    Box::new(w),
                    addr.to_string(),
                ))
            }
            Listener::Ipc(l, path) => {
                let (s, _) = l.accept().await?;
                let (r, w) = s.into_split();
                Ok((
                    BufReader::with_capacity(READ_BUFFER, Box::new(r) as _),
                    Box::new(w),
                    path.display().to_string(),
                ))
            }
        }
    }

    /// The bound TCP port (for tests that bind port 0).
    #[cfg(test)]
    pub(crate) fn port(&self) -> Option<u16> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok().map(|a| a.port()),
            Listener::Ipc(..) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        let tcp = |h: &str, p| {
            Ok(Endpoint::Tcp {
                host: h.into(),
                port: p,
            })
        };
        let table: Vec<(&str, Result<Endpoint, ()>)> = vec![
            ("tcp://127.0.0.1:5555", tcp("127.0.0.1", 5555)),
            ("tcp://*:1", tcp("0.0.0.0", 1)),
            ("tcp://[::1]:9", tcp("::1", 9)),
            ("tcp://::1:9", tcp("::1", 9)),
            ("tcp://localhost:9", tcp("localhost", 9)),
            ("ipc:///tmp/k-1", Ok(Endpoint::Ipc("/tmp/k-1".into()))),
            ("ipc://", Err(())),
            ("tcp://127.0.0.1", Err(())),
            ("tcp://127.0.0.1:99999", Err(())),
            ("tcp://:5", Err(())),
            ("udp://1.2.3.4:5", Err(())),
        ];
        for (url, want) in table {
            assert_eq!(Endpoint::parse(url).map_err(|_| ()), want, "{url}");
        }
        assert_eq!(
            Endpoint::parse("tcp://[::1]:9").unwrap().to_string(),
            "tcp://[::1]:9"
        );
    }

    #[tokio::test]
    async fn a_stale_ipc_file_is_replaced_and_a_live_one_is_not() {
        let dir = std::env::temp_dir().join(format!("azq-zmtp-ep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s");
        let stale = std::os::unix::net::UnixListener::bind(&path).unwrap();
        drop(stale); // the file stays, nobody listens
        let ep = Endpoint::Ipc(path.clone());
        let live = Listener::bind(&ep).await.unwrap();
        let again = Listener::bind(&ep).await;
        assert!(matches!(again, Err(Error::Bind { .. })));
        drop(live);
        assert!(!path.exists());
        // A regular file in the way is not removed.
        std::fs::write(&path, b"data").unwrap();
        assert!(matches!(Listener::bind(&ep).await, Err(Error::Bind { .. })));
        assert_eq!(std::fs::read(&path).unwrap(), b"data");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
