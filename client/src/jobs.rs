//! Jobs on the data plane: get, list (lazy pages, server-side filters in the SDK's grammar),
//! cancel, create (the input uploaded through the container's SAS, or Shared Key with a
//! storage connection string), the output download, and quotas.

mod models;
pub mod storage;

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use serde_json::{Value, json};
use url::Url;

pub use models::*;

use crate::credential::Prompt;
use crate::error::ClientError;
use crate::http::{Request, ensure_secure, host_of};
use crate::models::Page;
use crate::secret::Secret;
use crate::workspace::{LISTING_DEADLINE, MAX_PAGES, Workspace, listing_stopped};
use storage::{StorageAccount, blob_in, has_sas, shown, without_query};

/// No job input larger than this is uploaded (what the service's storage takes in one PUT
/// comfortably, and what the emulator accepts).
pub const MAX_INPUT: usize = 64 * 1024 * 1024;
/// No job output larger than this is downloaded.
pub const MAX_OUTPUT: usize = 64 * 1024 * 1024;
/// The input blob's name, as the SDK names it.
pub const INPUT_BLOB: &str = "inputData";

/// Which jobs to list. Every field narrows the list; `None`/empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    /// Names that start with this (case as written).
    pub name: Option<String>,
    /// Any of these statuses.
    pub status: Vec<JobStatus>,
    pub target: Option<String>,
    pub provider: Option<String>,
    /// RFC 3339 (`2026-01-15T10:00:00Z`) or a date (`2026-01-15`, midnight UTC); inclusive.
    pub created_after: Option<String>,
    pub created_before: Option<String>,
    /// Only the jobs of this session (listed from `sessions/{id}/jobs`).
    pub session_id: Option<String>,
    /// Jobs per page (1-1000); the service's default when `None`.
    pub page_size: Option<u32>,
}

/// A quoted filter value, or `None` when it holds a quote: such a clause is left to the
/// client (the SDK's grammar has no escape the emulator and service agree on).
fn quoted(value: &str) -> Option<String> {
    (!value.contains('\'')).then(|| format!("'{value}'"))
}

/// A time bound: RFC 3339, or a date meaning its midnight UTC.
fn instant(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

impl JobFilter {
    /// The query of a listing, as the SDK writes it: `filter` (clauses joined by `and`;
    /// `startswith(Name, '…')`, `(ProviderId eq '…')`, `(Target eq '…')`,
    /// `(State eq '…' or …)`, `CreationTime ge|le yyyy-mm-dd`), `orderby=CreationTime desc`
    /// and `top`. Dates are whole days on the service, so the bounds sent are the days that
    /// hold them and [`JobFilter::matches`] applies them exactly; a value holding `'` is not
    /// sent (the name up to its first quote is), and is applied by `matches` too.
    pub fn to_query(&self) -> Vec<(String, String)> {
        let mut clauses = Vec::new();
        if let Some(name) = &self.name {
            let prefix = name.split('\'').next().unwrap_or("");
            if !prefix.is_empty() {
                clauses.push(format!("startswith(Name, '{prefix}')"));
            }
        }
        if let Some(p) = self.provider.as_deref().and_then(quoted) {
            clauses.push(format!("(ProviderId eq {p})"));
        }
        if let Some(t) = self.target.as_deref().and_then(quoted) {
            clauses.push(format!("(Target eq {t})"));
        }
        let statuses: Option<Vec<String>> = self
            .status
            .iter()
            .map(|s| quoted(s.as_str()).map(|q| format!("State eq {q}")))
            .collect();
        if let Some(statuses) = statuses.filter(|s| !s.is_empty()) {
            clauses.push(format!("({})", statuses.join(" or ")));
        }
        if let Some(after) = self.created_after.as_deref().and_then(instant) {
            clauses.push(format!("CreationTime ge {}", after.format("%Y-%m-%d")));
        }
        if let Some(before) = self.created_before.as_deref().and_then(instant) {
            let day = before.date_naive() + chrono::Duration::days(1);
            clauses.push(format!("CreationTime le {}", day.format("%Y-%m-%d")));
        }
        let mut query = Vec::new();
        if !clauses.is_empty() {
            query.push(("filter".to_owned(), clauses.join(" and ")));
        }
        query.push(("orderby".to_owned(), "CreationTime desc".to_owned()));
        if let Some(n) = self.page_size {
            query.push(("top".to_owned(), n.clamp(1, 1000).to_string()));
        }
        query
    }

    /// Whether `job` passes every field exactly (what the service could only approximate).
    pub fn matches(&self, job: &JobDetails) -> bool {
        let eq = |want: &Option<String>, have: &str| {
            want.as_ref().is_none_or(|w| w.eq_ignore_ascii_case(have))
        };
        let created = job.creation_time.as_deref().and_then(instant);
        let bound = |b: &Option<String>,
                     ok: fn(
            &chrono::DateTime<chrono::Utc>,
            &chrono::DateTime<chrono::Utc>,
        ) -> bool| {
            match b.as_deref().and_then(instant) {
                None => true,
                Some(b) => created.is_some_and(|c| ok(&c, &b)),
            }
        };
        self.name
            .as_ref()
            .is_none_or(|n| job.name.as_deref().unwrap_or("").starts_with(n.as_str()))
            && eq(&self.provider, &job.provider_id)
            && eq(&self.target, &job.target)
            && (self.status.is_empty() || self.status.contains(&job.status))
            && self
                .session_id
                .as_ref()
                .is_none_or(|s| job.session_id.as_deref() == Some(s.as_str()))
            && bound(&self.created_after, |c, b| c >= b)
            && bound(&self.created_before, |c, b| c <= b)
    }

    /// Refuses what cannot be sent: a time that does not parse, a page size of 0.
    pub fn check(&self) -> Result<(), ClientError> {
        for (name, value) in [
            ("created_after", &self.created_after),
            ("created_before", &self.created_before),
        ] {
            if let Some(v) = value
                && instant(v).is_none()
            {
                return Err(ClientError::InvalidJobFilter(format!(
                    "{name} `{v}` is not a time; write it like 2026-01-15 or 2026-01-15T10:00:00Z"
                )));
            }
        }
        if self.page_size == Some(0) {
            return Err(ClientError::InvalidJobFilter(
                "page_size must be 1 to 1000".into(),
            ));
        }
        if self.session_id.as_deref().is_some_and(str::is_empty) {
            return Err(ClientError::InvalidJobFilter(
                "session_id is empty; leave it out to list every job".into(),
            ));
        }
        Ok(())
    }
}

/// A job to create. The id is made by the caller (a lowercase GUID, as the SDK makes it),
/// so that a create sent twice is one job.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: String,
    pub name: String,
    pub provider_id: String,
    pub target: String,
    pub input: Vec<u8>,
    /// e.g. `ionq.circuit.v1`, `qir.v1`.
    pub input_data_format: String,
    /// The input blob's content type, e.g. `application/json`, `text/plain`.
    pub content_type: String,
    pub input_params: Value,
    pub output_data_format: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub session_id: Option<String>,
}

impl NewJob {
    /// A fresh job id.
    pub fn new_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// The pages of a job listing, read one at a time as the caller asks.
pub struct JobPages<'a> {
    ws: &'a Workspace,
    filter: JobFilter,
    next: Option<Result<Url, ClientError>>,
    seen: HashSet<String>,
    pages: usize,
    first_done: Option<Instant>,
}

impl std::fmt::Debug for JobPages<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobPages")
            .field("filter", &self.filter)
            .field("pages", &self.pages)
            .field("done", &self.next.is_none())
            .finish()
    }
}

impl JobPages<'_> {
    /// The next page's jobs (those passing the filter; a page may hold none while more
    /// follow), an error (after which the listing ends), or `None` at the end.
    pub async fn next_page(
        &mut self,
        prompt: &mut dyn Prompt,
    ) -> Option<Result<Vec<JobDetails>, ClientError>> {
        let url = match self.next.take()? {
            Ok(url) => url,
            Err(e) => return Some(Err(e)),
        };
        Some(self.read(url, prompt).await)
    }

    async fn read(
        &mut self,
        url: Url,
        prompt: &mut dyn Prompt,
    ) -> Result<Vec<JobDetails>, ClientError> {
        if self.pages >= MAX_PAGES {
            return Err(listing_stopped(
                &url,
                format!("the listing did not end after {MAX_PAGES} pages"),
            ));
        }
        if self
            .first_done
            .is_some_and(|t| t.elapsed() > LISTING_DEADLINE)
        {
            return Err(listing_stopped(
                &url,
                format!(
                    "its listing of jobs took over {} s; try again with a narrower filter",
                    LISTING_DEADLINE.as_secs()
                ),
            ));
        }
        let resp = self
            .ws
            .call_on(
                Request::get(url.clone()),
                prompt,
                "list the workspace's jobs",
                self.filter.session_id.is_some(),
            )
            .await?;
        if resp.status == 404 {
            let session = self.filter.session_id.clone().unwrap_or_default();
            return Err(ClientError::InvalidJobFilter(format!(
                "the workspace has no session {session}; check session_id"
            )));
        }
        if resp.status == 400 {
            let (code, message) = resp.error_parts();
            return Err(ClientError::InvalidJobFilter(format!(
                "{} refused the job filter ({}): {message}",
                resp.host,
                code.unwrap_or_else(|| "400".into())
            )));
        }
        if !resp.is_success() {
            return Err(resp.into_error());
        }
        let page: Page<Value> = resp.json()?;
        self.pages += 1;
        self.first_done.get_or_insert_with(Instant::now);
        self.next = self
            .ws
            .next_page_url(&url, page.next_link, &mut self.seen)
            .transpose();
        Ok(page
            .value
            .into_iter()
            .filter_map(|v| serde_json::from_value::<JobDetails>(v).ok())
            .filter(|j| self.filter.matches(j))
            .collect())
    }
}

/// A storage answer as an error's words: its status and `x-ms-error-code`.
fn storage_refusal(resp: &crate::http::Response) -> String {
    let code = resp
        .headers
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    format!("{}{code}", resp.status)
}

impl Workspace {
    /// Sends one blob upload; a refusal is `JobSubmissionFailed` with `hint` as what to do.
    async fn upload(&self, req: Request, blob: &Url, hint: &str) -> Result<(), ClientError> {
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|e| upload_failed(blob, e.to_string()))?;
        if resp.is_success() {
            Ok(())
        } else {
            Err(upload_failed(
                blob,
                format!("storage answered {}; {hint}", storage_refusal(&resp)),
            ))
        }
    }

    /// `jobs/{id}` (or `jobs/{id}{suffix}`) with the id as one path segment.
    fn job_url(&self, id: &str, suffix: &str) -> Result<Url, ClientError> {
        self.item_url("jobs", id, suffix)
    }

    fn job_not_found(&self, id: &str) -> ClientError {
        ClientError::JobNotFound {
            id: id.to_owned(),
            workspace: self.workspace.name.clone(),
        }
    }

    /// One job.
    pub async fn get_job(
        &self,
        id: &str,
        prompt: &mut dyn Prompt,
    ) -> Result<JobDetails, ClientError> {
        if id.trim().is_empty() {
            return Err(self.job_not_found(id));
        }
        let resp = self
            .call_on(
                Request::get(self.job_url(id, "")?),
                prompt,
                "read the workspace's jobs",
                true,
            )
            .await?;
        match resp.status {
            404 => Err(self.job_not_found(id)),
            _ if resp.is_success() => resp.json(),
            _ => Err(resp.into_error()),
        }
    }

    /// The jobs that pass `filter`, newest first, a page at a time: nothing is asked until
    /// the first `next_page`, and no page after the one the caller stops at.
    pub fn list_jobs(&self, filter: &JobFilter) -> JobPages<'_> {
        let first = filter.check().and_then(|()| {
            let mut url = match &filter.session_id {
                None => self.url("jobs")?,
                Some(session) => {
                    let mut url = self.url("sessions")?;
                    url.path_segments_mut()
                        .map_err(|_| {
                            ClientError::InvalidEndpoint("the endpoint cannot hold a path".into())
                        })?
                        .push(session)
                        .push("jobs");
                    url
                }
            };
            // Spaces as %20, as the SDK sends them (a `+` is not a space to every server).
            let mut query = url.query().unwrap_or("").to_owned();
            for (k, v) in filter.to_query() {
                let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                query.push_str(&format!("&{k}={}", v.replace('+', "%20")));
            }
            url.set_query(Some(query.trim_start_matches('&')));
            Ok(url)
        });
        JobPages {
            ws: self,
            filter: filter.clone(),
            next: Some(first),
            seen: HashSet::new(),
            pages: 0,
            first_done: None,
        }
    }

    /// Cancels a job and returns it as it is afterwards. A job that had already been
    /// cancelled (a cancel whose answer was lost, sent again) is returned as it is; one that
    /// ended otherwise is `JobNotCancellable`.
    pub async fn cancel_job(
        &self,
        id: &str,
        prompt: &mut dyn Prompt,
    ) -> Result<JobDetails, ClientError> {
        if id.trim().is_empty() {
            return Err(self.job_not_found(id));
        }
        let mut req = Request::get(self.job_url(id, ":cancel")?);
        req.method = reqwest::Method::POST;
        let resp = self
            .call_on(req, prompt, "cancel the workspace's jobs", true)
            .await?;
        match resp.status {
            404 => Err(self.job_not_found(id)),
            409 => {
                let job = self.get_job(id, prompt).await?;
                match job.status {
                    JobStatus::Cancelled => Ok(job),
                    status => Err(ClientError::JobNotCancellable {
                        id: id.to_owned(),
                        status: status.as_str().to_owned(),
                    }),
                }
            }
            _ if resp.is_success() => self.get_job(id, prompt).await,
            _ => Err(resp.into_error()),
        }
    }

    /// A SAS URL from the workspace's linked storage for a container or one blob.
    async fn sas_uri(
        &self,
        container: &str,
        blob: Option<&str>,
        prompt: &mut dyn Prompt,
    ) -> Result<Url, ClientError> {
        let mut body = json!({ "containerName": container });
        if let Some(b) = blob {
            body["blobName"] = json!(b);
        }
        let req = Request::json(reqwest::Method::POST, self.url("storage/sasUri")?, &body);
        let resp = self
            .call(req, prompt, "use the workspace's storage")
            .await?;
        if !resp.is_success() {
            return Err(resp.into_error());
        }
        let answer: Value = resp.json()?;
        let url = answer["sasUri"]
            .as_str()
            .and_then(|u| Url::parse(u).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| ClientError::ServiceError {
                host: resp.host.clone(),
                status: resp.status,
                code: None,
                message: "its sasUri is not a URL".into(),
            })?;
        // A SAS is a credential: it goes only where credentials go.
        ensure_secure(&url)?;
        Ok(url)
    }

    /// Creates a job: the input goes to blob `inputData` of container `job-<id>` (through a
    /// SAS from the workspace, or signed with the account key of `storage`, a storage
    /// connection string), then the job is PUT under its id. Every step may be sent again
    /// harmlessly, so transient failures are retried and a retried create is one job.
    pub async fn create_job(
        &self,
        job: NewJob,
        storage: Option<&Secret>,
        prompt: &mut dyn Prompt,
    ) -> Result<JobDetails, ClientError> {
        let refuse = |m: String| ClientError::JobSubmissionFailed(m);
        match uuid::Uuid::parse_str(&job.id) {
            Ok(u) if u.hyphenated().to_string() == job.id => {}
            _ => {
                return Err(refuse(format!(
                    "the job id `{}` is not a lowercase GUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    job.id
                )));
            }
        }
        if job.provider_id.is_empty() || job.target.is_empty() {
            return Err(refuse("a job needs a provider and a target".into()));
        }
        if job.input.len() > MAX_INPUT {
            return Err(refuse(format!(
                "its input is {} MiB, more than the {} MiB azq uploads; make the program smaller",
                job.input.len() >> 20,
                MAX_INPUT >> 20
            )));
        }
        let container = format!("job-{}", job.id);
        let (container_uri, input_uri) = match storage {
            None => {
                // A SAS refused (expired, or its key rotated) is asked for afresh, once.
                let mut fresh_asked = false;
                loop {
                    let container_url = self.sas_uri(&container, None, prompt).await?;
                    let blob = blob_in(&container_url, INPUT_BLOB);
                    let req = Request::bytes(
                        reqwest::Method::PUT,
                        blob.clone(),
                        job.content_type.clone(),
                        job.input.clone(),
                    )
                    .header("x-ms-blob-type", "BlockBlob")
                    .header("x-ms-version", storage::STORAGE_VERSION);
                    let resp = self
                        .http
                        .send(req)
                        .await
                        .map_err(|e| upload_failed(&blob, e.to_string()))?;
                    if resp.is_success() {
                        break (container_url, without_query(&blob));
                    }
                    if matches!(resp.status, 401 | 403) && !fresh_asked {
                        fresh_asked = true;
                        continue;
                    }
                    return Err(upload_failed(
                        &blob,
                        format!(
                            "storage answered {}; try again, and if it persists check the workspace's storage account",
                            storage_refusal(&resp)
                        ),
                    ));
                }
            }
            Some(conn) => {
                let account = StorageAccount::parse(conn)?;
                let mut create = account.url(&container, None);
                create.query_pairs_mut().append_pair("restype", "container");
                let resp = self
                    .http
                    .send(account.sign(Request {
                        method: reqwest::Method::PUT,
                        ..Request::get(create.clone())
                    }))
                    .await
                    .map_err(|e| upload_failed(&create, e.to_string()))?;
                let exists = resp.status == 409
                    && resp
                        .headers
                        .get("x-ms-error-code")
                        .is_some_and(|c| c == "ContainerAlreadyExists");
                if !resp.is_success() && !exists {
                    return Err(upload_failed(
                        &create,
                        format!(
                            "storage answered {}; check the storage connection string",
                            storage_refusal(&resp)
                        ),
                    ));
                }
                let blob = account.url(&container, Some(INPUT_BLOB));
                let req = Request::bytes(
                    reqwest::Method::PUT,
                    blob.clone(),
                    job.content_type.clone(),
                    job.input.clone(),
                )
                .header("x-ms-blob-type", "BlockBlob");
                self.upload(
                    account.sign(req),
                    &blob,
                    "check the storage connection string",
                )
                .await?;
                (account.container_sas(&container, 14), blob)
            }
        };
        let mut body = json!({
            "id": job.id,
            "name": job.name,
            "providerId": job.provider_id,
            "target": job.target,
            "itemType": "Job",
            "containerUri": container_uri.as_str(),
            "inputDataUri": input_uri.as_str(),
            "inputDataFormat": job.input_data_format,
            "inputParams": job.input_params,
        });
        if let Some(f) = &job.output_data_format {
            body["outputDataFormat"] = json!(f);
        }
        if !job.metadata.is_empty() {
            body["metadata"] = json!(job.metadata);
        }
        if let Some(s) = &job.session_id {
            body["sessionId"] = json!(s);
        }
        let req = Request::json(reqwest::Method::PUT, self.job_url(&job.id, "")?, &body);
        let resp = self
            .call_on(req, prompt, "submit jobs to the workspace", true)
            .await?;
        if resp.is_success() {
            // The job was kept even when its answer arrived cut: read it back by its id
            // rather than let the user submit it again.
            return match resp.json() {
                Ok(created) => Ok(created),
                Err(_) => self.get_job(&job.id, prompt).await,
            };
        }
        let (code, message) = resp.error_parts();
        let why = if message.is_empty() {
            "no details given".to_owned()
        } else {
            message
        };
        let hint = match resp.status {
            429 | 500.. => "; the service is busy or failing: try again in a minute",
            _ => "",
        };
        Err(refuse(format!(
            "{} answered {}{}: {why}{hint}",
            resp.host,
            resp.status,
            code.map(|c| format!(" ({c})")).unwrap_or_default()
        )))
    }

    /// The container and blob a job's storage URL names: below the job's container URL
    /// when it has one, else the segment `job-<id>` or (Azure's host-style URLs) the first.
    fn blob_of(job: &JobDetails, url: &Url) -> Option<(String, String)> {
        let segs: Vec<String> = url.path_segments()?.map(percent_decode).collect();
        if let Some(c) = job
            .container_uri
            .as_deref()
            .and_then(|c| Url::parse(c).ok())
        {
            let cpath = c.path().trim_end_matches('/');
            if let Some(rest) = url
                .path()
                .strip_prefix(cpath)
                .and_then(|r| r.strip_prefix('/'))
            {
                let name = cpath.rsplit('/').next().unwrap_or("");
                return Some((percent_decode(name), percent_decode(rest)));
            }
        }
        let want = format!("job-{}", job.id);
        let at = segs.iter().position(|s| *s == want).unwrap_or(0);
        let blob = segs.get(at + 1..)?.join("/");
        (!blob.is_empty()).then(|| (segs[at].clone(), blob))
    }

    /// Downloads a job's output (`outputDataUri`): through its SAS when it carries a valid
    /// one, else through a SAS from the workspace. At most [`MAX_OUTPUT`] bytes.
    pub async fn job_output(
        &self,
        job: &JobDetails,
        prompt: &mut dyn Prompt,
    ) -> Result<(Vec<u8>, Option<String>), ClientError> {
        let failed = |detail: String| ClientError::JobOutputDownloadFailed {
            id: job.id.clone(),
            detail,
        };
        let Some(text) = job.output_data_uri.as_deref().filter(|u| !u.is_empty()) else {
            return Err(failed(format!(
                "the job names no output (status {}); wait until it has succeeded",
                job.status
            )));
        };
        let url = Url::parse(text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| failed("its outputDataUri is not an http(s) URL".into()))?;
        let mut tries = Vec::new();
        if has_sas(&url) {
            tries.push(url.clone());
        }
        let mut fresh_asked = false;
        loop {
            let target = match tries.pop() {
                Some(t) => t,
                None if !fresh_asked => {
                    fresh_asked = true;
                    let (container, blob) = Self::blob_of(job, &url)
                        .ok_or_else(|| failed(format!("{} names no blob", shown(&url))))?;
                    self.sas_uri(&container, Some(&blob), prompt).await?
                }
                None => unreachable!("the fresh SAS is tried last"),
            };
            ensure_secure(&target)?;
            let resp = self
                .http
                .send_limited(Request::get(target.clone()), MAX_OUTPUT)
                .await
                .map_err(|e| match e {
                    ClientError::ServiceError { message, .. } => {
                        failed(format!("{} answered: {message}", shown(&target)))
                    }
                    other => failed(other.to_string()),
                })?;
            if resp.is_success() {
                let content_type = resp
                    .headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                return Ok((resp.body, content_type));
            }
            // An expired or refused SAS: ask the workspace for a fresh one, once.
            if matches!(resp.status, 401 | 403) && !fresh_asked {
                continue;
            }
            return Err(failed(match resp.status {
                404 => format!(
                    "{} holds no output yet (status {}); wait until the job has succeeded",
                    shown(&target),
                    job.status
                ),
                _ => format!(
                    "storage {} answered {}; try again later",
                    host_of(&target),
                    storage_refusal(&resp)
                ),
            }));
        }
    }

    /// The workspace's quotas, every page.
    pub async fn list_quotas(&self, prompt: &mut dyn Prompt) -> Result<Vec<Quota>, ClientError> {
        self.all_pages("quotas", prompt, "read the workspace's quotas", "quotas")
            .await
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The input could not be stored: where (without its SAS) and why.
fn upload_failed(url: &Url, why: String) -> ClientError {
    ClientError::JobSubmissionFailed(format!(
        "the input could not be stored at {}: {why}",
        shown(url)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter_of(q: &[(String, String)]) -> Option<&str> {
        q.iter()
            .find(|(k, _)| k == "filter")
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_query_is_the_sdks_grammar() {
        let f = JobFilter {
            name: Some("bell".into()),
            status: vec![JobStatus::Succeeded, JobStatus::Failed],
            target: Some("ionq.simulator".into()),
            provider: Some("ionq".into()),
            created_after: Some("2026-01-15T10:00:00Z".into()),
            created_before: Some("2026-02-01".into()),
            session_id: None,
            page_size: Some(50),
        };
        assert_eq!(
            f.to_query(),
            vec![
                (
                    "filter".to_owned(),
                    "startswith(Name, 'bell') and (ProviderId eq 'ionq') and (Target eq 'ionq.simulator') \
                     and (State eq 'Succeeded' or State eq 'Failed') and CreationTime ge 2026-01-15 \
                     and CreationTime le 2026-02-02"
                        .to_owned()
                ),
                ("orderby".to_owned(), "CreationTime desc".to_owned()),
                ("top".to_owned(), "50".to_owned()),
            ]
        );
        let none = JobFilter::default().to_query();
        assert_eq!(filter_of(&none), None);
        assert_eq!(none.len(), 1);
    }

    #[test]
    fn quotes_never_reach_the_filter() {
        let f = JobFilter {
            name: Some("O'Brien') or (Name eq 'x".into()),
            target: Some("a'b".into()),
            status: vec![JobStatus::Unknown("x' or '1".into()), JobStatus::Waiting],
            ..Default::default()
        };
        let q = f.to_query();
        assert_eq!(filter_of(&q), Some("startswith(Name, 'O')"));
        let leading = JobFilter {
            name: Some("'quoted".into()),
            ..Default::default()
        };
        assert_eq!(filter_of(&leading.to_query()), None);
        // What was not sent is applied here.
        let job = |name: &str, target: &str, status: JobStatus| JobDetails {
            name: Some(name.into()),
            target: target.into(),
            status,
            ..Default::default()
        };
        let f = JobFilter {
            name: Some("O'Brien".into()),
            target: Some("a'b".into()),
            ..Default::default()
        };
        assert!(f.matches(&job("O'Brien 1", "a'b", JobStatus::Waiting)));
        assert!(!f.matches(&job("O Brien", "a'b", JobStatus::Waiting)));
        assert!(!f.matches(&job("O'Brien", "ab", JobStatus::Waiting)));
    }

    #[test]
    fn time_bounds_are_exact_on_the_client() {
        let f = JobFilter {
            created_after: Some("2026-01-15T10:00:00Z".into()),
            created_before: Some("2026-01-15T12:00:00+01:00".into()),
            ..Default::default()
        };
        let at = |t: &str| JobDetails {
            creation_time: Some(t.into()),
            ..Default::default()
        };
        assert!(f.matches(&at("2026-01-15T10:30:00.1234567+00:00")));
        assert!(!f.matches(&at("2026-01-15T09:59:59Z")));
        assert!(!f.matches(&at("2026-01-15T11:00:01Z")));
        assert!(!f.matches(&JobDetails::default()));
        let bad = JobFilter {
            created_after: Some("yesterday".into()),
            ..Default::default()
        };
        assert_eq!(bad.check().unwrap_err().name(), "InvalidJobFilter");
        assert!(f.check().is_ok());
    }

    #[test]
    fn output_blobs_are_found_below_the_container() {
        let job = JobDetails {
            id: "j1".into(),
            container_uri: Some("http://h/blob/acct/job-j1?sig=x".into()),
            ..Default::default()
        };
        let out = Url::parse("http://h/blob/acct/job-j1/raw/output%20data?sig=y").unwrap();
        assert_eq!(
            Workspace::blob_of(&job, &out),
            Some(("job-j1".into(), "raw/output data".into()))
        );
        let bare = JobDetails {
            id: "j1".into(),
            ..Default::default()
        };
        assert_eq!(
            Workspace::blob_of(&bare, &out),
            Some(("job-j1".into(), "raw/output data".into()))
        );
        let azure = Url::parse("https://s.blob.core.windows.net/c1/outputData").unwrap();
        assert_eq!(
            Workspace::blob_of(&bare, &azure),
            Some(("c1".into(), "outputData".into()))
        );
    }
}
