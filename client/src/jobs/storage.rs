//! The job's blob storage: SAS URLs (paths built beside their query, never printed with
//! it) and, for a storage account connection string, Shared Key signing and service SAS
//! tokens made with the account key (Azure Storage's string-to-sign, version 2023-11-03).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use crate::error::ClientError;
use crate::http::{Request, ensure_secure, host_of};
use crate::secret::Secret;

/// The storage service version azq speaks.
pub const STORAGE_VERSION: &str = "2023-11-03";

/// `url` with `/name` appended to its path, keeping its query (a container SAS URL becomes
/// the blob's).
pub fn blob_in(container: &Url, name: &str) -> Url {
    let mut url = container.clone();
    let path = format!("{}/{name}", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

/// `url` without its query.
pub fn without_query(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u
}

/// Whether a storage URL carries a SAS signature.
pub fn has_sas(url: &Url) -> bool {
    url.query_pairs().any(|(k, _)| k == "sig")
}

/// A SAS or storage URL as it may be named in a message: host and path, no query.
pub fn shown(url: &Url) -> String {
    format!("{}{}", host_of(url), url.path())
}

/// A storage account as a connection string names it.
pub struct StorageAccount {
    pub name: String,
    key: Vec<u8>,
    /// Blob endpoint, ending in `/`.
    pub endpoint: Url,
}

impl std::fmt::Debug for StorageAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageAccount")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

impl StorageAccount {
    /// Reads `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…;EndpointSuffix=…` or
    /// `…;BlobEndpoint=…`. Errors never repeat the string (it holds the key).
    pub fn parse(text: &Secret) -> Result<StorageAccount, ClientError> {
        let bad = |m: &str| ClientError::InvalidStorageConnectionString(m.to_owned());
        let (mut name, mut key, mut protocol, mut suffix, mut blob) =
            (None, None, None, None, None);
        for part in text
            .expose()
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let Some((k, v)) = part.split_once('=') else {
                return Err(bad(
                    "has a part without `=`; copy it again from the storage account's Access keys page",
                ));
            };
            let slot = match k.trim().to_ascii_lowercase().as_str() {
                "accountname" => &mut name,
                "accountkey" => &mut key,
                "defaultendpointsprotocol" => &mut protocol,
                "endpointsuffix" => &mut suffix,
                "blobendpoint" => &mut blob,
                _ => continue,
            };
            *slot = Some(v.trim().to_owned());
        }
        let name: String = name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad("has no AccountName"))?;
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(bad(
                "has an AccountName that is not lowercase letters and digits",
            ));
        }
        let key = key
            .and_then(|k| B64.decode(k).ok())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| bad("has no AccountKey, or one that is not base64"))?;
        let endpoint = match blob {
            Some(b) => b,
            None => format!(
                "{}://{name}.blob.{}",
                protocol.as_deref().unwrap_or("https"),
                suffix.as_deref().unwrap_or("core.windows.net")
            ),
        };
        let mut endpoint = Url::parse(&endpoint)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| bad("names a blob endpoint that is not an http(s) URL"))?;
        ensure_secure(&endpoint)
            .map_err(|_| bad("names a plain-http blob endpoint off this machine; use https"))?;
        if !endpoint.path().ends_with('/') {
            let p = format!("{}/", endpoint.path());
            endpoint.set_path(&p);
        }
        endpoint.set_query(None);
        Ok(StorageAccount {
            name,
            key,
            endpoint,
        })
    }

    /// The URL of a container or a blob in it.
    pub fn url(&self, container: &str, blob: Option<&str>) -> Url {
        let mut url = self.endpoint.clone();
        let path = match blob {
            Some(b) => format!("{}{container}/{b}", url.path()),
            None => format!("{}{container}", url.path()),
        };
        url.set_path(&path);
        url
    }

    fn mac(&self, text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(text.as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    /// Signs `req` with Shared Key: `x-ms-date` and `x-ms-version` added, the signature in
    /// an Authorization header that never prints.
    pub fn sign(&self, mut req: Request) -> Request {
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        req.headers
            .push(("x-ms-client-request-id", uuid::Uuid::new_v4().to_string()));
        req.headers.push(("x-ms-date", date));
        req.headers.push(("x-ms-version", STORAGE_VERSION.into()));
        let header = |name: &str| {
            req.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
                .next()
                .unwrap_or_default()
        };
        let (content_type, length) = match &req.body {
            Some((ct, body)) if !body.is_empty() => (ct.clone(), body.len().to_string()),
            Some((ct, _)) => (ct.clone(), String::new()),
            None => (String::new(), String::new()),
        };
        let mut x_ms: Vec<(String, String)> = req
            .headers
            .iter()
            .filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-ms-"))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        x_ms.sort();
        let mut canonical = String::new();
        for (k, v) in &x_ms {
            canonical.push_str(&format!("{k}:{v}\n"));
        }
        // The resource: the account, then the path below the blob endpoint.
        let below = req
            .url
            .path()
            .strip_prefix(self.endpoint.path())
            .unwrap_or(req.url.path());
        canonical.push_str(&format!("/{}/{below}", self.name));
        let mut params: Vec<(String, String)> = req
            .url
            .query_pairs()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect();
        params.sort();
        for (k, v) in params {
            canonical.push_str(&format!("\n{k}:{v}"));
        }
        let to_sign = [
            req.method.as_str().to_owned(),
            header("content-encoding"),
            header("content-language"),
            length,
            header("content-md5"),
            content_type,
            String::new(), // Date: x-ms-date is sent instead
            header("if-modified-since"),
            header("if-match"),
            header("if-none-match"),
            header("if-unmodified-since"),
            header("range"),
        ]
        .join("\n")
            + "\n"
            + &canonical;
        let signature = self.mac(&to_sign);
        req.secret(
            "authorization",
            Secret::new(format!("SharedKey {}:{signature}", self.name)),
        )
    }

    /// A service SAS for a container (read, add, create, write, list), valid `days`, as the
    /// SDK makes one for `containerUri` when it holds the account key.
    pub fn container_sas(&self, container: &str, days: i64) -> Url {
        let expiry = (chrono::Utc::now() + chrono::Duration::days(days))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let permissions = "racwl";
        let resource = format!("/blob/{}/{container}", self.name);
        // sp, st, se, resource, si, sip, spr, sv, sr, snapshot time, encryption scope,
        // rscc, rscd, rsce, rscl, rsct.
        let to_sign = [
            permissions,
            "",
            &expiry,
            &resource,
            "",
            "",
            "",
            STORAGE_VERSION,
            "c",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
        .join("\n");
        let sig = self.mac(&to_sign);
        let mut url = self.url(container, None);
        url.query_pairs_mut()
            .append_pair("sv", STORAGE_VERSION)
            .append_pair("sr", "c")
            .append_pair("sp", permissions)
            .append_pair("se", &expiry)
            .append_pair("sig", &sig);
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_strings_parse_and_never_echo_the_key() {
        let good = Secret::new(
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VudGluZWw=;EndpointSuffix=core.windows.net",
        );
        let a = StorageAccount::parse(&good).unwrap();
        assert_eq!(a.endpoint.as_str(), "https://acct.blob.core.windows.net/");
        assert_eq!(
            a.url("job-1", Some("inputData")).as_str(),
            "https://acct.blob.core.windows.net/job-1/inputData"
        );
        assert!(!format!("{a:?}").contains("c2VudGluZWw"));
        let local = Secret::new(
            "AccountName=acct;AccountKey=c2VudGluZWw=;BlobEndpoint=http://127.0.0.1:9/blob/acct",
        );
        let a = StorageAccount::parse(&local).unwrap();
        assert_eq!(a.url("c", None).as_str(), "http://127.0.0.1:9/blob/acct/c");
        for bad in [
            "AccountName=acct",
            "AccountKey=c2VudGluZWw=",
            "AccountName=acct;AccountKey=!!!",
            "AccountName=acct;AccountKey=c2VudGluZWw=;BlobEndpoint=http://10.0.0.1/",
            "junk",
        ] {
            let e = StorageAccount::parse(&Secret::new(bad)).unwrap_err();
            assert_eq!(e.name(), "InvalidStorageConnectionString");
            assert!(!e.to_string().contains("c2VudGluZWw"), "{e}");
        }
    }

    #[test]
    fn blob_urls_keep_the_container_query() {
        let c = Url::parse("http://h/blob/a/job-1?sv=1&sig=x%2By").unwrap();
        let b = blob_in(&c, "inputData");
        assert_eq!(b.path(), "/blob/a/job-1/inputData");
        assert_eq!(b.query(), Some("sv=1&sig=x%2By"));
        assert!(has_sas(&b));
        assert_eq!(shown(&b), "h/blob/a/job-1/inputData");
        assert!(!has_sas(&without_query(&b)));
    }
}
