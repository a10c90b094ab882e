//! [`PsaError`]: why a call to either PSA failed, one variant per cause a person can act on.

use super::PsaKind;

/// Why a PSA call failed. Each variant is one cause a person can act on;
/// [`PsaError::code`] is its stable name in API responses.
#[derive(Debug, thiserror::Error)]
pub enum PsaError {
    #[error("{psa} rejected the credentials")]
    BadCredentials { psa: PsaKind },

    /// Autotask: zone discovery does not know the API user.
    #[error("Autotask does not know the API user `{user}` (zone information could not be determined)")]
    UnknownUser { user: String },

    /// ConnectWise: the company id is unknown on that site.
    #[error("ConnectWise Manage has no company `{company}` on {site}")]
    UnknownCompany { company: String, site: String },

    #[error("{psa} refused access: {detail}")]
    PermissionDenied { psa: PsaKind, detail: String },

    #[error("{psa} kept answering 429 (rate or thread limit) after {attempts} attempts")]
    RateLimited { psa: PsaKind, attempts: u32 },

    /// Autotask's hourly request budget is (nearly) spent; work should wait.
    #[error("the Autotask hourly request budget is spent ({used} of {limit}); try again later")]
    BudgetExhausted { used: i64, limit: i64 },

    #[error("cannot reach {psa} at {host}: {reason}")]
    Unreachable { psa: PsaKind, host: String, reason: String },

    #[error("{psa} could not find {what}")]
    NotFound { psa: PsaKind, what: String },

    /// Autotask answers HTTP 500 with `errors`; ConnectWise 400 with `errors[]`.
    #[error("{psa} refused the request: {detail}")]
    Validation { psa: PsaKind, detail: String },

    #[error("{psa} answered HTTP {status} after {attempts} attempts")]
    Server { psa: PsaKind, status: u16, attempts: u32 },

    #[error("{psa} answered HTTP {status} to {path}: {detail}")]
    Unexpected {
        psa: PsaKind,
        status: u16,
        path: String,
        detail: String,
    },

    #[error("{psa} sent a response rmmsync cannot read ({path}): {detail}")]
    InvalidResponse { psa: PsaKind, path: String, detail: String },

    #[error("{psa} paging went wrong at {url}: {detail}")]
    Paging { psa: PsaKind, url: String, detail: String },

    #[error("{0}")]
    Config(String),
}

impl PsaError {
    /// A stable, machine-readable code for API responses and run records.
    pub fn code(&self) -> &'static str {
        match self {
            PsaError::BadCredentials { .. } => "psa.bad_credentials",
            PsaError::UnknownUser { .. } => "psa.unknown_user",
            PsaError::UnknownCompany { .. } => "psa.unknown_company",
            PsaError::PermissionDenied { .. } => "psa.permission_denied",
            PsaError::RateLimited { .. } => "psa.rate_limited",
            PsaError::BudgetExhausted { .. } => "psa.budget_exhausted",
            PsaError::Unreachable { .. } => "psa.unreachable",
            PsaError::NotFound { .. } => "psa.not_found",
            PsaError::Validation { .. } => "psa.validation",
            PsaError::Server { .. } => "psa.server_error",
            PsaError::Unexpected { .. } => "psa.unexpected_response",
            PsaError::InvalidResponse { .. } => "psa.invalid_response",
            PsaError::Paging { .. } => "psa.paging",
            PsaError::Config(_) => "psa.config",
        }
    }

    /// Whether the same work may succeed later (a fault, not a refusal).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PsaError::RateLimited { .. }
                | PsaError::BudgetExhausted { .. }
                | PsaError::Unreachable { .. }
                | PsaError::Server { .. }
        )
    }
}
