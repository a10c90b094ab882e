//! The HTTP edge shared by every API function: who is calling (the tenant
//! claim API Gateway's JWT authorizer verified), JSON in, JSON out, and
//! errors as `{"code", "message"}` problems with a stable code.
//!
//! [`edge`] holds the axum extractors and [`serve`]; each flow owns its
//! router (`routes.rs` in the flow's folder) and each Lambda `main` merges
//! the routers it serves.

mod edge;

pub use edge::{Caller, JsonBody, LocalIdentity, Params, decode_json, finish, no_route, serve, wrong_method};

use crate::tenant::{TenantError, TenantId};
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

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

    /// The problem's body and status, logged once here.
    fn log(&self) {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), code = self.code, detail = %self.message, "request failed");
        } else {
            tracing::info!(status = self.status.as_u16(), code = self.code, "request refused");
        }
    }

    pub fn into_response(self) -> Response<Body> {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), code = self.code, detail = %self.message, "request failed");
        } else {
            tracing::info!(status = self.status.as_u16(), code = self.code, "request refused");
        }
        json(
            self.status,
            &serde_json::json!({ "code": self.code, "message": self.message }),
        )
    }
}

/// The tenant from the verified JWT's `tenant` claim. A request without one
/// never reaches data: API Gateway should have refused it, so this is 401.
pub fn tenant(req: &Request) -> Result<TenantId, ApiError> {
    let claim = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .and_then(|jwt| jwt.claims.get("tenant"))
            .cloned(),
        _ => None,
    };
    let unauthorized = |e: TenantError| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string());
    TenantId::parse(&claim.ok_or(TenantError::Missing).map_err(unauthorized)?).map_err(unauthorized)
}

/// Decodes a JSON body, with a 400 that says what is wrong and where.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => b"",
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request needs a JSON body"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        // serde's messages name the field and position, never echo values of known fields.
        ApiError::bad_request(format!("the body is not valid JSON for this request: {e}"))
    })
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let body = serde_json::to_string(value)
        .unwrap_or_else(|_| r#"{"code":"internal","message":"unserialisable response"}"#.into());
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .expect("static response parts are valid")
}

pub fn no_content() -> Response<Body> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .expect("static response parts are valid")
}

/// The path split into segments, without empty ones: `/integrations/abc/` -> `["integrations", "abc"]`.
pub fn segments(req: &Request) -> Vec<String> {
    req.uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

/// `%XX` escapes decoded; anything malformed kept as it is.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a hand-routed API function (the flows not yet on axum routers).
pub async fn serve_handler<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut + Sync,
    Fut: std::future::Future<Output = Response<Body>> + Send,
{
    let handler = &handler;
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(handler(req).await)
    }))
    .await
}

/// A query-string parameter, if present.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

/// The DynamoDB store from `TABLE_NAME` and the default AWS configuration.
pub async fn store_from_env() -> Result<crate::store::DynamoStore, crate::aws::MissingSetting> {
    let table = crate::aws::required_env("TABLE_NAME")?;
    let config = crate::aws::load_config().await;
    Ok(crate::store::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        table,
    ))
}

pub fn method_not_allowed(method: &Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here"),
    )
}

pub fn route_not_found(req: &Request) -> ApiError {
    ApiError::not_found(format!("no route for {} {}", req.method(), req.uri().path()))
}
