//! azq's Azure Quantum client: sign-in (every credential kind, the default chain, the token
//! cache), the ARM lookup, and the workspace data plane over one HTTP client. Requests in,
//! models out: it knows nothing of magics, sessions or MIME types.

pub mod arm;
pub mod connstr;
pub mod credential;
pub mod endpoints;
pub mod env;
pub mod error;
pub mod http;
pub mod jobs;
pub mod models;
pub mod resource;
pub mod secret;
pub mod sessions;
pub mod workspace;

pub use connstr::ConnectionString;
pub use credential::{Credential, CredentialKind, NoPrompt, Prompt, SignIn};
pub use endpoints::Endpoints;
pub use env::Env;
pub use error::ClientError;
pub use http::Http;
pub use jobs::{
    CostEstimate, ErrorData, JobDetails, JobFilter, JobPages, JobStatus, NewJob, Quota,
    SessionDetails, SessionJobFailurePolicy, SessionStatus, UsageEvent,
};
pub use models::{ProviderStatus, TargetStatus};
pub use resource::{WorkspaceRef, nearest_region, normalize_location, parse_resource_id};
pub use secret::Secret;
pub use sessions::NewSession;
pub use workspace::{Target, Workspace};
