//! [`DattoError`]: why a Datto RMM call failed, one variant per cause a person can act on; and
//! [`decode`], which turns a body the client cannot read into one.

use super::Platform;
use serde::de::DeserializeOwned;

/// Why a Datto RMM call failed. Each variant is one cause a person can act on;
/// [`DattoError::code`] is its stable name in API responses.
#[derive(Debug, thiserror::Error)]
pub enum DattoError {
    #[error("Datto RMM rejected the API key or secret key on the {platform} platform")]
    BadCredentials { platform: Platform },

    #[error("these API keys belong to the {actual} platform, not {chosen}")]
    WrongPlatform { chosen: Platform, actual: Platform },

    #[error(
        "the API user cannot read this resource: API access must be enabled (Setup > Global Settings > Access Control) and the user must have access"
    )]
    PermissionDenied,

    #[error(
        "Datto RMM has temporarily blocked this client's IP address for exceeding the request rate; try again in a few minutes"
    )]
    IpBlocked,

    #[error("Datto RMM kept answering 429 (rate limit) after {attempts} attempts")]
    RateLimited { attempts: u32 },

    #[error("cannot reach the Datto RMM API at {host}: {reason}")]
    Unreachable { host: String, reason: String },

    #[error("Datto RMM could not find {what}")]
    NotFound { what: String },

    #[error("Datto RMM answered HTTP {status} after {attempts} attempts")]
    Server { status: u16, attempts: u32 },

    #[error("Datto RMM answered HTTP {status} to {path}: {detail}")]
    Unexpected { status: u16, path: String, detail: String },

    #[error("Datto RMM sent a response rmmsync cannot read ({path}): {detail}")]
    InvalidResponse { path: String, detail: String },

    #[error("Datto RMM paging went wrong at {url}: {detail}")]
    Paging { url: String, detail: String },
}

impl DattoError {
    /// A stable, machine-readable code for API responses and run records.
    pub fn code(&self) -> &'static str {
        match self {
            DattoError::BadCredentials { .. } => "datto_rmm.bad_credentials",
            DattoError::WrongPlatform { .. } => "datto_rmm.wrong_platform",
            DattoError::PermissionDenied => "datto_rmm.permission_denied",
            DattoError::IpBlocked => "datto_rmm.ip_blocked",
            DattoError::RateLimited { .. } => "datto_rmm.rate_limited",
            DattoError::Unreachable { .. } => "datto_rmm.unreachable",
            DattoError::NotFound { .. } => "datto_rmm.not_found",
            DattoError::Server { .. } => "datto_rmm.server_error",
            DattoError::Unexpected { .. } => "datto_rmm.unexpected_response",
            DattoError::InvalidResponse { .. } => "datto_rmm.invalid_response",
            DattoError::Paging { .. } => "datto_rmm.paging",
        }
    }

    /// Whether trying the same work again later may succeed (a fault, not a
    /// refusal): used to decide what a sync run carries over.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DattoError::IpBlocked
                | DattoError::RateLimited { .. }
                | DattoError::Unreachable { .. }
                | DattoError::Server { .. }
        )
    }
}

/// A JSON body as `T`; a body that is not one is [`DattoError::InvalidResponse`] for `path`.
pub(super) fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, DattoError> {
    serde_json::from_slice(body).map_err(|e| DattoError::InvalidResponse {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}
