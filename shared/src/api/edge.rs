//! The axum side of the edge: who is calling ([`Caller`]), JSON bodies and
//! query parameters with 400s that say what is wrong, the answers for a
//! path or method nobody serves, and [`serve`], which hands a merged router
//! to `lambda_http` (as the runtime's own axum example does).

use super::ApiError;
use crate::tenant::{TenantError, TenantId};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use utoipa_axum::router::OpenApiRouter;

/// The caller, from the claims API Gateway's JWT authorizer verified: the
/// `tenant` claim scopes every key; `sub` names the user; the roles claim
/// (its name in `ROLES_CLAIM`, default `roles`; space- or comma-separated)
/// says what they may approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: TenantId,
    pub user: Option<String>,
    pub roles: Vec<String>,
}

/// Put in a request's extensions by the local API server only: there the
/// headers `X-Dev-Tenant`, `X-Dev-User` and `X-Dev-Roles` stand in for the
/// JWT claims. The Lambda binaries never insert it, so they never read them.
#[derive(Debug, Clone, Copy)]
pub struct LocalIdentity;

/// The JWT claim holding the caller's roles: `ROLES_CLAIM`, read once, default `roles`.
fn roles_claim() -> &'static str {
    static CLAIM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CLAIM.get_or_init(|| {
        std::env::var("ROLES_CLAIM")
            .ok()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| "roles".into())
    })
}

/// Longest path segment (an id) any route takes; DynamoDB refuses keys past
/// 1 KiB (sort) or 2 KiB (partition), which would otherwise surface as a 503.
pub const MAX_PATH_SEGMENT: usize = 256;

/// A path with a segment longer than any id is a bad request, said before any key is built.
fn check_path(path: &str) -> Result<(), ApiError> {
    match path.split('/').find(|s| s.len() > MAX_PATH_SEGMENT) {
        Some(s) => Err(ApiError::bad_request(format!(
            "a path segment is {} characters long; no id is longer than {MAX_PATH_SEGMENT}",
            s.len()
        ))),
        None => Ok(()),
    }
}

fn split_roles(raw: &str) -> Vec<String> {
    raw.split([' ', ','])
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Caller {
    /// Reads the caller from a request's parts; 401 without a verified tenant.
    pub fn from_parts(parts: &Parts) -> Result<Self, ApiError> {
        check_path(parts.uri.path())?;
        let unauthorized = |e: TenantError| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string());
        if parts.extensions.get::<LocalIdentity>().is_some() {
            let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let tenant = header("x-dev-tenant")
                .ok_or(TenantError::Missing)
                .map_err(unauthorized)?;
            return Ok(Self {
                tenant: TenantId::parse(&tenant).map_err(unauthorized)?,
                user: header("x-dev-user"),
                roles: header("x-dev-roles").map(|r| split_roles(&r)).unwrap_or_default(),
            });
        }
        let claims = match parts.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx
                .authorizer
                .as_ref()
                .and_then(|a| a.jwt.as_ref())
                .map(|jwt| &jwt.claims),
            _ => None,
        };
        let claim = |name: &str| claims.and_then(|c| c.get(name));
        let tenant = claim("tenant").ok_or(TenantError::Missing).map_err(unauthorized)?;
        Ok(Self {
            tenant: TenantId::parse(tenant).map_err(unauthorized)?,
            user: claim("sub").cloned(),
            roles: claim(roles_claim()).map(|r| split_roles(r)).unwrap_or_default(),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_parts(parts)
    }
}

/// A JSON body, decoded with a 400 that says what is wrong and where.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Decodes a JSON body: empty is "needs a JSON body", anything but an
/// object is refused (serde would read a struct from an array, so that
/// `[null, null]` passed for `{}`; every body of the API is an object),
/// malformed names the field and position (serde's messages never echo
/// values of known fields).
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(ApiError::bad_request("the request needs a JSON body")),
        Some(b'{') => {}
        Some(_) => return Err(ApiError::bad_request("the body must be a JSON object")),
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON for this request: {e}")))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("the body could not be read: {e}")))?;
        decode_json(&bytes).map(JsonBody)
    }
}

/// The query string, decoded; a parameter given twice keeps its first value.
#[derive(Debug, Default, Clone)]
pub struct Params(pub HashMap<String, String>);

impl Params {
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// A parameter that is there and not blank.
    pub fn non_empty(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    /// `true`/`false`, absent or empty as `None`, anything else a 400 naming the parameter.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name).as_deref() {
            None | Some("") => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::bad_request(format!("`{name}` must be true or false"))),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded_pairs(&parts.uri) {
            map.entry(k).or_insert(v);
        }
        Ok(Self(map))
    }
}

fn form_urlencoded_pairs(uri: &Uri) -> Vec<(String, String)> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// A path nobody serves: 401 without a caller (as every route answers), else 404.
pub async fn no_route(parts: Parts) -> ApiError {
    if let Err(e) = Caller::from_parts(&parts) {
        return e;
    }
    route_not_found(&parts.method, &parts.uri)
}

/// A method the path does not take: 401 without a caller, else 405.
pub async fn wrong_method(parts: Parts) -> ApiError {
    if let Err(e) = Caller::from_parts(&parts) {
        return e;
    }
    method_not_allowed(&parts.method)
}

/// The 405 problem of every route.
pub fn method_not_allowed(method: &Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here"),
    )
}

/// The 404 problem of a path nobody serves.
pub fn route_not_found(method: &Method, uri: &Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

/// The routers of one Lambda (or of the local server) as one axum router,
/// with the edge's answers for unknown paths and methods.
pub fn finish(router: OpenApiRouter) -> axum::Router {
    let (router, _doc) = router.split_for_parts();
    router.fallback(no_route).method_not_allowed_fallback(wrong_method)
}

/// Serves `router` as an API Gateway HTTP API function. Build the clients
/// once in `main` and hand the merged routers here.
pub async fn serve(router: OpenApiRouter) -> Result<(), lambda_http::Error> {
    lambda_http::run(finish(router)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Input {
        name: Option<String>,
        psa: Option<String>,
    }

    #[test]
    fn a_body_is_a_json_object_and_nothing_else() {
        assert!(decode_json::<Input>(br#" {"name": "x"}"#).is_ok());
        for body in [&b"[null, null]"[..], b"[]", b"null", b"\"x\"", b"1"] {
            let e = decode_json::<Input>(body).unwrap_err();
            assert_eq!(
                e.message,
                "the body must be a JSON object",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let e = decode_json::<Input>(b" \n").unwrap_err();
        assert_eq!(e.message, "the request needs a JSON body");
        let e = decode_json::<Input>(br#"{"name": 1}"#).unwrap_err();
        assert!(e.message.contains("line 1"), "{}", e.message);
    }
}
