//! Response builders the simulators' routers share.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

/// The status for a code; a code axum cannot represent becomes 500 (a simulator bug, loudly).
pub(crate) fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A JSON body as the PSAs send it: `application/json; charset=utf-8`.
pub(crate) fn json_response(code: u16, value: &Value) -> Response {
    let mut r = Response::new(Body::from(value.to_string()));
    *r.status_mut() = status(code);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// No body, just the status.
pub(crate) fn empty(code: u16) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status(code);
    r
}
