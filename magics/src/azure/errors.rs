//! The errors of the job magics (`%azure.target`, `%%qasm`, `%azure.submit` …), each with a
//! stable name and a message that says what to do next.

use std::ops::Range;

use crate::MagicError;

/// Why a job magic stopped. Names are append-only: users and tests match on them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    #[error(
        "no target is set; choose one with `%azure.target ID` (`%azure.connect` lists the \
         workspace's targets), or give `target=ID`"
    )]
    NoTarget,
    #[error("{message}")]
    InvalidTarget {
        message: String,
        span: Option<Range<usize>>,
    },
    #[error("{message}")]
    UnknownProgram {
        message: String,
        span: Option<Range<usize>>,
    },
    #[error("{message}")]
    InvalidProgram {
        message: String,
        span: Option<Range<usize>>,
    },
    #[error("{message}")]
    ProgramTooLarge {
        message: String,
        span: Option<Range<usize>>,
    },
    #[error("no job has been submitted in this session; give a job id (`%azure.jobs` lists them)")]
    NoJob,
    #[error("{message}")]
    JobNotFound {
        message: String,
        span: Option<Range<usize>>,
    },
    #[error("{message}")]
    JobNotCompleted { message: String },
    #[error("{message}")]
    JobFailed { message: String },
    #[error("{message}")]
    JobCancelled { message: String },
    #[error("{message}")]
    JobSubmissionFailed { message: String },
    #[error("{message}")]
    JobOutputDownloadFailed { message: String },
    #[error("{message}")]
    JobNotCancellable { message: String },
    #[error("{message}")]
    InvalidJobParams {
        message: String,
        span: Option<Range<usize>>,
    },
    #[error(
        "no session is open; `%azure.session open` opens one (jobs submitted while it is open \
         belong to it)"
    )]
    NoSession,
    #[error("{message}")]
    UnknownSession {
        message: String,
        span: Option<Range<usize>>,
    },
    #[error("{message}")]
    SessionEnded { message: String },
    #[error("{message}")]
    SessionAlreadyOpen { message: String },
    #[error("{message}")]
    SubmissionDeclined { message: String },
    #[error("{message}")]
    ConfirmationUnavailable { message: String },
    #[error("{message}")]
    InvalidCostSetting { message: String },
    #[error("{message}")]
    InvalidPricingFile { message: String },
    #[error("{message}")]
    TooManyWatches { message: String },
    #[error("{message}")]
    NotWatched {
        message: String,
        span: Option<Range<usize>>,
    },
}

impl JobError {
    pub fn name(&self) -> &'static str {
        match self {
            JobError::NoTarget => "NoTarget",
            JobError::InvalidTarget { .. } => "InvalidTarget",
            JobError::UnknownProgram { .. } => "UnknownProgram",
            JobError::InvalidProgram { .. } => "InvalidProgram",
            JobError::ProgramTooLarge { .. } => "ProgramTooLarge",
            JobError::NoJob => "NoJob",
            JobError::JobNotFound { .. } => "JobNotFound",
            JobError::JobNotCompleted { .. } => "JobNotCompleted",
            JobError::JobFailed { .. } => "JobFailed",
            JobError::JobCancelled { .. } => "JobCancelled",
            JobError::JobSubmissionFailed { .. } => "JobSubmissionFailed",
            JobError::JobOutputDownloadFailed { .. } => "JobOutputDownloadFailed",
            JobError::JobNotCancellable { .. } => "JobNotCancellable",
            JobError::InvalidJobParams { .. } => "InvalidJobParams",
            JobError::NoSession => "NoSession",
            JobError::UnknownSession { .. } => "UnknownSession",
            JobError::SessionEnded { .. } => "SessionEnded",
            JobError::SessionAlreadyOpen { .. } => "SessionAlreadyOpen",
            JobError::SubmissionDeclined { .. } => "SubmissionDeclined",
            JobError::ConfirmationUnavailable { .. } => "ConfirmationUnavailable",
            JobError::InvalidCostSetting { .. } => "InvalidCostSetting",
            JobError::InvalidPricingFile { .. } => "InvalidPricingFile",
            JobError::TooManyWatches { .. } => "TooManyWatches",
            JobError::NotWatched { .. } => "NotWatched",
        }
    }

    fn span(&self) -> Option<Range<usize>> {
        match self {
            JobError::InvalidTarget { span, .. }
            | JobError::UnknownProgram { span, .. }
            | JobError::InvalidProgram { span, .. }
            | JobError::ProgramTooLarge { span, .. }
            | JobError::JobNotFound { span, .. }
            | JobError::InvalidJobParams { span, .. }
            | JobError::UnknownSession { span, .. }
            | JobError::NotWatched { span, .. } => span.clone(),
            _ => None,
        }
    }
}

impl From<JobError> for MagicError {
    fn from(e: JobError) -> MagicError {
        MagicError::Azure {
            name: e.name(),
            span: e.span(),
            message: e.to_string(),
        }
    }
}
