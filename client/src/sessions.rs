//! Sessions on the data plane: open (a PUT under a client-made id, safe to repeat), get,
//! close, list. A session's jobs are listed through `JobFilter::session_id`.

use serde_json::json;
use url::Url;

use crate::credential::Prompt;
use crate::error::ClientError;
use crate::http::Request;
use crate::jobs::{SessionDetails, SessionJobFailurePolicy};
use crate::workspace::Workspace;

/// A session to open: jobs created with its id belong to it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// A lowercase GUID the client makes (`NewJob::new_id`).
    pub id: String,
    /// The service names it `session-{id}` when `None`.
    pub name: Option<String>,
    pub provider_id: String,
    pub target: String,
    pub job_failure_policy: SessionJobFailurePolicy,
}

impl Workspace {
    /// `sessions/{id}` (or `sessions/{id}{suffix}`) with the id as one path segment.
    fn session_url(&self, id: &str, suffix: &str) -> Result<Url, ClientError> {
        let mut url = self.url("sessions")?;
        url.path_segments_mut()
            .map_err(|_| ClientError::InvalidEndpoint("the endpoint cannot hold a path".into()))?
            .push(&format!("{id}{suffix}"));
        Ok(url)
    }

    fn session_not_found(&self, id: &str) -> ClientError {
        ClientError::SessionNotFound {
            id: id.to_owned(),
            workspace: self.workspace.name.clone(),
        }
    }

    /// Opens a session. The PUT is safe to send again: the service answers a repeated one
    /// with the session as it is.
    pub async fn open_session(
        &self,
        session: &NewSession,
        prompt: &mut dyn Prompt,
    ) -> Result<SessionDetails, ClientError> {
        let mut body = json!({
            "id": session.id,
            "itemType": "Session",
            "providerId": session.provider_id,
            "target": session.target,
            "jobFailurePolicy": session.job_failure_policy.as_str(),
        });
        if let Some(name) = &session.name {
            body["name"] = json!(name);
        }
        let req = Request::json(
            reqwest::Method::PUT,
            self.session_url(&session.id, "")?,
            &body,
        );
        let resp = self
            .call_on(req, prompt, "open sessions in the workspace", true)
            .await?;
        if resp.is_success() {
            resp.json()
        } else {
            Err(resp.into_error())
        }
    }

    /// One session.
    pub async fn get_session(
        &self,
        id: &str,
        prompt: &mut dyn Prompt,
    ) -> Result<SessionDetails, ClientError> {
        if id.trim().is_empty() {
            return Err(self.session_not_found(id));
        }
        let resp = self
            .call_on(
                Request::get(self.session_url(id, "")?),
                prompt,
                "read the workspace's sessions",
                true,
            )
            .await?;
        match resp.status {
            404 => Err(self.session_not_found(id)),
            _ if resp.is_success() => resp.json(),
            _ => Err(resp.into_error()),
        }
    }

    /// Closes a session and returns it as it is afterwards: `Succeeded` (or `Failed`) when
    /// its jobs have ended, `Executing` while some still run. A session that had ended is
    /// returned as it is.
    pub async fn close_session(
        &self,
        id: &str,
        prompt: &mut dyn Prompt,
    ) -> Result<SessionDetails, ClientError> {
        if id.trim().is_empty() {
            return Err(self.session_not_found(id));
        }
        let mut req = Request::get(self.session_url(id, ":close")?);
        req.method = reqwest::Method::POST;
        let resp = self
            .call_on(req, prompt, "close the workspace's sessions", true)
            .await?;
        match resp.status {
            404 => Err(self.session_not_found(id)),
            _ if resp.is_success() => resp.json(),
            _ => Err(resp.into_error()),
        }
    }

    /// The workspace's sessions, every page.
    pub async fn list_sessions(
        &self,
        prompt: &mut dyn Prompt,
    ) -> Result<Vec<SessionDetails>, ClientError> {
        self.all_pages(
            "sessions",
            prompt,
            "read the workspace's sessions",
            "sessions",
        )
        .await
    }
}
