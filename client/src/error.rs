//! What can go wrong talking to Azure, each with a stable name and a message that says what
//! to do. Messages never hold a secret: no token, key, connection string or request body.

/// An error from sign-in, the ARM lookup or the data plane. Names are append-only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The credential could not get a token, or the service refused the one it got (401).
    #[error("{credential} could not sign in: {detail}. {hint}")]
    AuthenticationFailed {
        credential: String,
        detail: String,
        hint: String,
    },
    /// Signed in, but the identity has no role that allows this (403).
    #[error(
        "signed in with {credential}, but that identity may not {action}: {detail}. Ask the \
         workspace's owner for a role on it (Contributor, or Quantum Workspace Data \
         Contributor), or connect with another credential"
    )]
    AccessDenied {
        credential: String,
        action: String,
        detail: String,
    },
    #[error("{0}")]
    WorkspaceNotFound(String),
    #[error(
        "the location of workspace `{workspace}` is unknown: {detail}. Add `location=…` (for \
         example location=westus), or `endpoint=…`"
    )]
    NoWorkspaceLocation { workspace: String, detail: String },
    #[error("`{location}` is not a region name (letters and digits, like westus or West Europe){}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    InvalidWorkspaceLocation {
        location: String,
        suggestion: Option<String>,
    },
    /// A resource id that is not a workspace's; `at` is the byte offset of the bad part.
    #[error("{detail}")]
    InvalidResourceId { detail: String, at: usize },
    #[error("the connection string {0}")]
    InvalidConnectionString(String),
    #[error("{0}")]
    InvalidEndpoint(String),
    /// The host could not be reached, or did not answer in time.
    #[error("{host} {detail}; check the network, a proxy (HTTPS_PROXY) or the endpoint")]
    NetworkError { host: String, detail: String },
    /// Any other answer the service gave that azq cannot go on from.
    #[error("{host} answered {status}{}: {message}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    ServiceError {
        host: String,
        status: u16,
        code: Option<String>,
        message: String,
    },
    #[error("the token cache {path}: {detail}")]
    TokenCacheError { path: String, detail: String },
    /// The workspace has no job of this id (404 on a job).
    #[error(
        "job {id} was not found in workspace {workspace}; check the id (listing the \
         workspace's jobs shows the ids it has), or whether it was submitted to another workspace"
    )]
    JobNotFound { id: String, workspace: String },
    /// The input could not be stored or the service refused the job.
    #[error("the job could not be submitted: {0}")]
    JobSubmissionFailed(String),
    /// The job's output could not be read.
    #[error("the output of job {id} could not be read: {detail}")]
    JobOutputDownloadFailed { id: String, detail: String },
    /// A job filter that cannot be sent.
    #[error("{0}")]
    InvalidJobFilter(String),
    /// Cancel of a job that has ended already.
    #[error("job {id} cannot be cancelled: it has already finished ({status})")]
    JobNotCancellable { id: String, status: String },
    /// A storage account connection string that cannot be used.
    #[error("the storage connection string {0}")]
    InvalidStorageConnectionString(String),
    /// The workspace has no session of this id (404 on a session).
    #[error(
        "session {id} was not found in workspace {workspace}; check the id, or whether it was \
         opened in another workspace"
    )]
    SessionNotFound { id: String, workspace: String },
}

impl ClientError {
    /// The stable name shown to users (the Jupyter `ename`).
    pub fn name(&self) -> &'static str {
        match self {
            ClientError::AuthenticationFailed { .. } => "AuthenticationFailed",
            ClientError::AccessDenied { .. } => "AccessDenied",
            ClientError::WorkspaceNotFound(_) => "WorkspaceNotFound",
            ClientError::NoWorkspaceLocation { .. } => "NoWorkspaceLocation",
            ClientError::InvalidWorkspaceLocation { .. } => "InvalidWorkspaceLocation",
            ClientError::InvalidResourceId { .. } => "InvalidResourceId",
            ClientError::InvalidConnectionString(_) => "InvalidConnectionString",
            ClientError::InvalidEndpoint(_) => "InvalidEndpoint",
            ClientError::NetworkError { .. } => "NetworkError",
            ClientError::ServiceError { .. } => "ServiceError",
            ClientError::TokenCacheError { .. } => "TokenCacheError",
            ClientError::JobNotFound { .. } => "JobNotFound",
            ClientError::JobSubmissionFailed(_) => "JobSubmissionFailed",
            ClientError::JobOutputDownloadFailed { .. } => "JobOutputDownloadFailed",
            ClientError::InvalidJobFilter(_) => "InvalidJobFilter",
            ClientError::JobNotCancellable { .. } => "JobNotCancellable",
            ClientError::InvalidStorageConnectionString(_) => "InvalidStorageConnectionString",
            ClientError::SessionNotFound { .. } => "SessionNotFound",
        }
    }
}
