//! The HTTP edge shared by every API function: who is calling (the tenant
//! claim API Gateway's JWT authorizer verified), JSON in, JSON out, and
//! errors as `{"code", "message"}` problems with a stable code.
//!
//! [`edge`] holds the axum extractors and [`serve`]; each flow owns its
//! router (`routes.rs` in the flow's folder) and each Lambda `main` merges
//! the routers it serves.

mod edge;

pub use edge::{
    Caller, JsonBody, LocalIdentity, Params, decode_json, finish, method_not_allowed, no_route, route_not_found, serve,
    wrong_method,
};

use axum::http::StatusCode;
use serde::Serialize;

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable, machine-readable: `invalid_request`, `not_found`, `datto_rmm.bad_credentials`, ...
    pub code: String,
    /// For people; never holds a secret.
    pub message: String,
}

/// An error on its way to the caller: status, stable code, human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        self.log();
        let body = serde_json::json!({ "code": self.code, "message": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}

/// A JSON answer with its status, for handlers: `Ok(reply(StatusCode::CREATED, &view))`.
pub fn reply<T: Serialize>(status: StatusCode, value: &T) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, axum::Json(value)).into_response()
}

/// `204 No Content`.
pub fn done() -> axum::response::Response {
    use axum::response::IntoResponse;
    StatusCode::NO_CONTENT.into_response()
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// Logs the refusal once: server errors with their detail, the rest by code.
    fn log(&self) {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), code = self.code, detail = %self.message, "request failed");
        } else {
            tracing::info!(status = self.status.as_u16(), code = self.code, "request refused");
        }
    }
}
