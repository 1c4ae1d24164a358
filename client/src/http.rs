//! One HTTP client for everything azq sends: timeouts, the extra CAs named by SSL_CERT_FILE,
//! the session's proxy settings, a request id on every request, and retries by azure-core's
//! rules (408, 429, 500, 502, 503, 504 and connection errors; exponential backoff with jitter;
//! Retry-After honoured) within one deadline, so no call ever hangs.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use url::Url;

use crate::env::Env;
use crate::error::ClientError;
use crate::secret::Secret;

/// `azq/<version>`: the start of every User-Agent azq sends.
pub const USER_AGENT: &str = concat!("azq/", env!("CARGO_PKG_VERSION"));

/// No call, retries included, takes longer than this (unless `AZQ_HTTP_DEADLINE` says so).
pub const DEADLINE: Duration = Duration::from_secs(30);
/// The variable that sets another deadline, in seconds (1 to 600), e.g. for tests.
pub const DEADLINE_VAR: &str = "AZQ_HTTP_DEADLINE";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_RETRIES: u32 = 4;
/// No answer azq reads is larger than this; a bigger one is refused, not buffered.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
    deadline: Duration,
}

/// The deadline `AZQ_HTTP_DEADLINE` sets in `env`, else [`DEADLINE`].
fn deadline_of(env: &Env) -> Result<Duration, ClientError> {
    let Some(text) = env.get(DEADLINE_VAR) else {
        return Ok(DEADLINE);
    };
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| (1.0..=600.0).contains(s))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            ClientError::InvalidEndpoint(format!(
                "{DEADLINE_VAR} is `{text}`; write seconds from 1 to 600, or unset it"
            ))
        })
}

/// A request as azq builds it; the secret header (API key or bearer token) is kept apart so
/// that nothing that logs a request can see it. A body is sent only over https or to this
/// machine, since the forms azq posts carry refresh tokens, device codes and client secrets.
pub struct Request {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(&'static str, String)>,
    pub secret_header: Option<(&'static str, Secret)>,
    /// The content type and the bytes.
    pub body: Option<(String, Vec<u8>)>,
    /// Whether sending it twice is harmless (then it is retried).
    pub idempotent: bool,
}

/// Shows the method, host and header names; never a value, the path or the body.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("host", &host_of(&self.url))
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .field(
                "secret_header",
                &self.secret_header.as_ref().map(|(n, _)| *n),
            )
            .field("body_bytes", &self.body.as_ref().map(|(_, b)| b.len()))
            .finish()
    }
}

impl Request {
    pub fn get(url: Url) -> Request {
        Request {
            method: reqwest::Method::GET,
            url,
            headers: Vec::new(),
            secret_header: None,
            body: None,
            idempotent: true,
        }
    }

    /// A form POST (the Entra ID endpoints).
    pub fn form(url: Url, fields: &[(&str, &str)]) -> Request {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        Request {
            method: reqwest::Method::POST,
            url,
            headers: Vec::new(),
            secret_header: None,
            body: Some((
                "application/x-www-form-urlencoded".into(),
                body.into_bytes(),
            )),
            idempotent: true,
        }
    }

    /// A request of `method` with a JSON body.
    pub fn json(method: reqwest::Method, url: Url, body: &serde_json::Value) -> Request {
        Request::bytes(
            method,
            url,
            "application/json",
            body.to_string().into_bytes(),
        )
    }

    /// A request of `method` with a body of `content_type`.
    pub fn bytes(
        method: reqwest::Method,
        url: Url,
        content_type: impl Into<String>,
        body: Vec<u8>,
    ) -> Request {
        Request {
            method,
            url,
            headers: Vec::new(),
            secret_header: None,
            body: Some((content_type.into(), body)),
            idempotent: true,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into()));
        self
    }

    pub fn secret(mut self, name: &'static str, value: Secret) -> Request {
        self.secret_header = Some((name, value));
        self
    }
}

/// A response with its body read (at most [`MAX_BODY`] bytes).
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub host: String,
}

/// Shows the status, host and body length; a body can hold tokens (Entra ID's answers do).
impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("host", &self.host)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|e| ClientError::ServiceError {
            host: self.host.clone(),
            status: self.status,
            code: None,
            message: format!("the answer is not what azq expected ({e})"),
        })
    }

    /// The error code and message of an Azure (`{"error": {"code", "message"}}`) or Entra ID
    /// (`{"error", "error_description"}`) error body.
    pub fn error_parts(&self) -> (Option<String>, String) {
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_default();
        let err = &v["error"];
        if err.is_object() {
            return (
                err["code"].as_str().map(str::to_owned),
                err["message"].as_str().unwrap_or("").to_owned(),
            );
        }
        if let Some(code) = err.as_str() {
            let text = v["error_description"].as_str().unwrap_or("");
            return (Some(code.to_owned()), first_line(text).to_owned());
        }
        (None, String::new())
    }

    /// This response as an error.
    pub fn into_error(self) -> ClientError {
        let (code, message) = self.error_parts();
        ClientError::ServiceError {
            host: self.host,
            status: self.status,
            code,
            message: if message.is_empty() {
                "no details given".into()
            } else {
                message
            },
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

impl Http {
    /// A client for the session whose environment is `env` (SSL_CERT_FILE, HTTPS_PROXY,
    /// NO_PROXY are read from it).
    pub fn new(env: &Env) -> Result<Http, ClientError> {
        let deadline = deadline_of(env)?;
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .timeout(deadline)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        builder = builder.tls_backend_preconfigured(tls_config(env)?);
        let proxy = env.get("HTTPS_PROXY").or_else(|| env.get("https_proxy"));
        if let Some(proxy) = proxy {
            let no_proxy = env
                .get("NO_PROXY")
                .or_else(|| env.get("no_proxy"))
                .unwrap_or("");
            let p = reqwest::Proxy::https(proxy)
                .map_err(|_| {
                    ClientError::InvalidEndpoint(
                        "HTTPS_PROXY is not a URL; write it like http://proxy.example:8080".into(),
                    )
                })?
                .no_proxy(reqwest::NoProxy::from_string(&format!(
                    "{no_proxy},localhost,127.0.0.1,::1"
                )));
            builder = builder.proxy(p);
        }
        let client = builder.build().map_err(|e| {
            ClientError::InvalidEndpoint(format!("the HTTP client could not start: {e}"))
        })?;
        Ok(Http { client, deadline })
    }

    /// The underlying client, for the Azure identity crate's transport.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `req`, retrying what may be retried, and reads the whole body.
    pub async fn send(&self, req: Request) -> Result<Response, ClientError> {
        self.send_limited(req, MAX_BODY).await
    }

    /// [`Http::send`] with another cap on the answer's size (downloads).
    pub async fn send_limited(&self, req: Request, limit: usize) -> Result<Response, ClientError> {
        if req.secret_header.is_some() || req.body.is_some() {
            ensure_secure(&req.url)?;
        }
        let host = host_of(&req.url);
        // A request that names its id (one it has signed, as Shared Key does) keeps it.
        let request_id = req
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-ms-client-request-id"))
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), |(_, v)| v.clone());
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let remaining = self.deadline.saturating_sub(started.elapsed());
            let mut builder = self
                .client
                .request(req.method.clone(), req.url.clone())
                .timeout(remaining.max(Duration::from_millis(1)))
                .header("x-ms-client-request-id", &request_id);
            for (name, value) in &req.headers {
                if !name.eq_ignore_ascii_case("x-ms-client-request-id") {
                    builder = builder.header(*name, value);
                }
            }
            if let Some((name, value)) = &req.secret_header {
                let mut v =
                    reqwest::header::HeaderValue::from_str(value.expose()).map_err(|_| {
                        ClientError::AuthenticationFailed {
                            credential: "the credential".into(),
                            detail: "it holds characters that cannot be sent in a header".into(),
                            hint: "Check the key or token for stray spaces or line breaks.".into(),
                        }
                    })?;
                v.set_sensitive(true);
                builder = builder.header(*name, v);
            }
            if let Some((content_type, body)) = &req.body {
                builder = builder
                    .header("content-type", content_type.as_str())
                    .body(body.clone());
            }
            let retry_left = req.idempotent && attempt < MAX_RETRIES;
            match builder.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if retry_left && matches!(status, 408 | 429 | 500 | 502 | 503 | 504) {
                        let wait = retry_after(resp.headers())
                            .unwrap_or_default()
                            .max(backoff(attempt));
                        if started.elapsed() + wait < self.deadline {
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                    }
                    let headers = resp.headers().clone();
                    let body = read_body(resp, &host, started, limit).await?;
                    return Ok(Response {
                        status,
                        headers,
                        body,
                        host,
                    });
                }
                Err(e) => {
                    let transient = e.is_connect() || e.is_request() && !e.is_timeout();
                    let wait = backoff(attempt);
                    if retry_left && transient && started.elapsed() + wait < self.deadline {
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(network_error(&host, &e, started));
                }
            }
        }
    }
}

/// Reads a body in chunks, refusing one over `limit` (by its Content-Length when it has
/// one, before reading anything).
async fn read_body(
    mut resp: reqwest::Response,
    host: &str,
    started: Instant,
    limit: usize,
) -> Result<Vec<u8>, ClientError> {
    let status = resp.status().as_u16();
    let too_big = || ClientError::ServiceError {
        host: host.to_owned(),
        status,
        code: None,
        message: format!(
            "its answer is larger than {} MiB, more than azq reads",
            limit >> 20
        ),
    };
    let declared = resp.content_length().unwrap_or(0);
    if declared > limit as u64 {
        return Err(too_big());
    }
    let mut body = Vec::with_capacity(declared as usize);
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| network_error(host, &e, started))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// TLS with the ring provider (its start-up costs nothing, where aws-lc's first handshake in
/// a process took ~30 ms here, a third of a cold `%azure.connect`), the platform's roots, and
/// the extra CAs named by SSL_CERT_FILE, as other TLS tools trust them.
fn tls_config(env: &Env) -> Result<rustls::ClientConfig, ClientError> {
    let mut extra = Vec::new();
    if let Some(path) = env.get("SSL_CERT_FILE") {
        let pem = std::fs::read(path).map_err(|e| {
            ClientError::InvalidEndpoint(format!(
                "SSL_CERT_FILE names {path}, which cannot be read ({e}); fix or unset it"
            ))
        })?;
        use rustls::pki_types::pem::PemObject;
        extra = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                ClientError::InvalidEndpoint(format!(
                    "SSL_CERT_FILE names {path}, which holds no PEM certificate; fix or unset it"
                ))
            })?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra,
        provider.clone(),
    )
    .map_err(|e| {
        ClientError::InvalidEndpoint(format!("no trusted certificates could be loaded ({e})"))
    })?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::InvalidEndpoint(format!("TLS cannot start ({e})")))?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
        .with_no_client_auth())
}

/// `host[:port]` of a URL: what error messages name (never the path or query, which may
/// carry a SAS token).
pub fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => url.scheme().to_owned(),
    }
}

/// Whether a URL's host is this machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A secret goes only to https, or to plain http on this machine (the emulator).
pub fn ensure_secure(url: &Url) -> Result<(), ClientError> {
    if url.scheme() == "https" || (url.scheme() == "http" && is_loopback(url)) {
        return Ok(());
    }
    Err(ClientError::InvalidEndpoint(format!(
        "{} is not https; azq sends credentials only over https (or plain http to this machine)",
        host_of(url)
    )))
}

fn backoff(attempt: u32) -> Duration {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]);
    Duration::from_millis(200 * 2u64.pow(attempt.min(6)) + jitter)
}

/// `x-ms-retry-after-ms`, `retry-after-ms` or `Retry-After` (seconds), capped at 10 s.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    let ms = get("x-ms-retry-after-ms")
        .or_else(|| get("retry-after-ms"))
        .or_else(|| get("retry-after").map(|s| s * 1000.0))?;
    Some(Duration::from_millis(ms.min(10_000.0) as u64))
}

/// What to do when the proxy would not open a tunnel.
pub const PROXY_HINT: &str =
    "Check HTTPS_PROXY, or list the host in NO_PROXY to reach it without the proxy";

/// The proxy's refusal, when that is what `e` comes down to: hyper's `tunnel error: …`
/// (the proxy answered CONNECT with other than 200, asked for credentials, or hung up).
pub fn proxy_refusal(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if text.starts_with("tunnel error:") {
            return Some(text);
        }
        next = err.source();
    }
    None
}

fn network_error(host: &str, e: &reqwest::Error, started: Instant) -> ClientError {
    if let Some(refusal) = proxy_refusal(e) {
        return ClientError::NetworkError {
            host: host.to_owned(),
            detail: format!(
                "could not be reached through the proxy in HTTPS_PROXY ({refusal}); list it in NO_PROXY to reach it without the proxy"
            ),
        };
    }
    let detail = if e.is_timeout() {
        format!(
            "did not answer within {} s",
            started.elapsed().as_secs().max(1)
        )
    } else {
        let mut root: &dyn std::error::Error = e;
        while let Some(next) = root.source() {
            root = next;
        }
        if e.is_connect() {
            format!("could not be reached ({root})")
        } else {
            format!("failed ({root})")
        }
    };
    ClientError::NetworkError {
        host: host.to_owned(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_may_be_set_and_bad_values_are_refused() {
        let env = |v: &str| Env::default().with(DEADLINE_VAR, v);
        assert_eq!(deadline_of(&Env::default()).unwrap(), DEADLINE);
        assert_eq!(
            deadline_of(&env("2.5")).unwrap(),
            Duration::from_millis(2500)
        );
        for bad in ["0", "0.5", "601", "soon", "-3", "NaN"] {
            let e = deadline_of(&env(bad)).unwrap_err().to_string();
            assert!(
                e.contains(DEADLINE_VAR) && e.contains("1 to 600"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn secrets_go_only_to_https_or_loopback() {
        for ok in [
            "https://westus.quantum.azure.com/",
            "http://127.0.0.1:8080/",
            "http://localhost/",
            "http://[::1]:9/",
        ] {
            assert!(ensure_secure(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "http://westus.quantum.azure.com/",
            "http://10.0.0.1/",
            "ftp://x/",
        ] {
            assert!(ensure_secure(&Url::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn retry_after_headers_are_read_and_capped() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        h.insert("x-ms-retry-after-ms", "99999999".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(10)));
        let mut bad = HeaderMap::new();
        bad.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&bad), None);
    }
}
