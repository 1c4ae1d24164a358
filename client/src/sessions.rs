//! Sessions on the data plane: open (a PUT under a client-made id, safe to repeat), get,
//! close, list. A session's jobs are listed through `JobFilter::session_id`.

use serde_json::json;

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
    /// A request about one session (`sessions/{id}{suffix}`): an unknown or empty id is
    /// `SessionNotFound`.
    async fn session_call(
        &self,
        method: reqwest::Method,
        id: &str,
        suffix: &str,
        what: &str,
        prompt: &mut dyn Prompt,
    ) -> Result<SessionDetails, ClientError> {
        if id.trim().is_empty() {
            return Err(self.session_not_found(id));
        }
        let mut req = Request::get(self.item_url("sessions", id, suffix)?);
        req.method = method;
        let resp = self.call_on(req, prompt, what, true).await?;
        match resp.status {
            404 => Err(self.session_not_found(id)),
            _ if resp.is_success() => resp.json(),
            _ => Err(resp.into_error()),
        }
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
            self.item_url("sessions", &session.id, "")?,
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
        let what = "read the workspace's sessions";
        self.session_call(reqwest::Method::GET, id, "", what, prompt)
            .await
    }

    /// Closes a session and returns it as it is afterwards: `Succeeded` (or `Failed`) when
    /// its jobs have ended, `Executing` while some still run. A session that had ended is
    /// returned as it is.
    pub async fn close_session(
        &self,
        id: &str,
        prompt: &mut dyn Prompt,
    ) -> Result<SessionDetails, ClientError> {
        let what = "close the workspace's sessions";
        self.session_call(reqwest::Method::POST, id, ":close", what, prompt)
            .await
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
