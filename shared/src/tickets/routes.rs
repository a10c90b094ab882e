//! Ticket settings and the webhooks of the alert round trip.
//!
//! | route | auth | does |
//! |---|---|---|
//! | `GET`/`PUT /integrations/{id}/ticket-settings` | JWT | a Datto RMM integration's ticket settings |
//! | `POST /integrations/{id}/hook-token` | JWT | a new hook token for a Datto RMM or PSA integration (shown once) |
//! | `POST /hooks/datto/{integrationId}/alerts` | hook token | a Datto RMM alert webhook |
//! | `POST /hooks/autotask/{integrationId}/callout` | hook token | an Autotask workflow-rule extension callout |
//! | `POST /hooks/connectwise/{integrationId}/callback` | hook token + `x-content-signature` | a ConnectWise Manage callback |
//!
//! The hook token goes in `?token=`, the `X-Rmmsync-Token` header, or as the
//! password of HTTP Basic auth (what an Autotask callout can send).

use crate::api::{ApiError, json, json_body, method_not_allowed, query_param, route_not_found, segments, tenant};
use crate::connections::IntegrationSettings;
use crate::datto::{DattoConnector, DattoError};
use crate::psa::{PsaConnector, PsaError};
use crate::secrets::SecretsManager;
use crate::store::{DynamoStore, StoreError};
use crate::tickets::{TicketError, Tickets};
use base64::Engine;
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};

pub struct TicketsApi {
    pub store: DynamoStore,
    pub secrets: SecretsManager,
    pub datto: DattoConnector,
    pub psa: PsaConnector,
    pub settings: IntegrationSettings,
    pub clock: fn() -> i64,
    /// `HOOK_BASE_URL`: the API's public URL, for registering ConnectWise callbacks.
    pub hook_base_url: Option<String>,
}

impl TicketsApi {
    pub async fn from_env() -> Result<Self, crate::aws::MissingSetting> {
        let ports = crate::connections::Ports::from_env().await?;
        Ok(Self {
            psa: PsaConnector::from_env(ports.datto.http().clone()),
            store: ports.store,
            secrets: ports.secrets,
            datto: ports.datto,
            settings: IntegrationSettings::from_env(),
            clock: crate::time::now_millis,
            hook_base_url: std::env::var("HOOK_BASE_URL").ok().filter(|u| !u.trim().is_empty()),
        })
    }

    pub fn tickets(&self) -> Tickets<'_> {
        Tickets {
            store: &self.store,
            secrets: &self.secrets,
            datto: &self.datto,
            psa: &self.psa,
            settings: &self.settings,
            clock: self.clock,
            hook_base_url: self.hook_base_url.as_deref(),
        }
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        self.route(&req).await.unwrap_or_else(ApiError::into_response)
    }

    async fn route(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let path = segments(req);
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        let method = req.method();
        let tickets = self.tickets();
        if let ["hooks", sender, id, _] = parts.as_slice() {
            if *method != Method::POST {
                return Err(method_not_allowed(method));
            }
            let token = hook_token(req);
            let body = body_bytes(req);
            let outcome = match (*sender, parts[3]) {
                ("datto", "alerts") => tickets.on_alert_webhook(id, token.as_deref(), body).await,
                ("autotask", "callout") => {
                    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
                    tickets
                        .on_autotask_callout(id, token.as_deref(), body, content_type)
                        .await
                }
                ("connectwise", "callback") => {
                    let signature = req.headers().get("x-content-signature").and_then(|v| v.to_str().ok());
                    tickets
                        .on_connectwise_callback(id, token.as_deref(), body, signature)
                        .await
                }
                _ => return Err(route_not_found(req)),
            };
            return Ok(json(StatusCode::OK, &outcome.map_err(hook_error)?));
        }
        let tenant = tenant(req)?;
        match parts.as_slice() {
            ["integrations", id, "ticket-settings"] => match *method {
                Method::GET => Ok(json(StatusCode::OK, &tickets.get_settings(&tenant, id).await?)),
                Method::PUT => Ok(json(
                    StatusCode::OK,
                    &tickets.put_settings(&tenant, id, json_body(req)?).await?,
                )),
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "hook-token"] => match *method {
                Method::POST => Ok(json(StatusCode::CREATED, &tickets.new_hook_token(&tenant, id).await?)),
                _ => Err(method_not_allowed(method)),
            },
            _ => Err(route_not_found(req)),
        }
    }
}

fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    }
}

/// The hook token from `?token=`, `X-Rmmsync-Token`, or Basic/Bearer auth.
fn hook_token(req: &Request) -> Option<String> {
    if let Some(t) = query_param(req, "token").filter(|t| !t.is_empty()) {
        return Some(t);
    }
    let headers = req.headers();
    if let Some(t) = headers.get("x-rmmsync-token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim().to_owned());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    if let Some(bearer) = auth.strip_prefix("Bearer ") {
        return Some(bearer.trim().to_owned());
    }
    let basic = auth.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(basic.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    decoded.split_once(':').map(|(_, password)| password.to_owned())
}

/// Webhook senders retry on 5xx: faults are 5xx, refusals 4xx.
fn hook_error(e: TicketError) -> ApiError {
    match e {
        TicketError::Unauthorized => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
        other => other.into(),
    }
}

impl From<TicketError> for ApiError {
    fn from(e: TicketError) -> Self {
        match e {
            TicketError::Invalid(m) => ApiError::bad_request(m),
            TicketError::NotFound(id) => ApiError::not_found(format!("no integration {id}")),
            TicketError::Unauthorized => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
            TicketError::Store(StoreError::ConditionFailed) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "changed meanwhile; try again")
            }
            TicketError::Store(s) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", s.to_string()),
            TicketError::Secrets(m) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "secrets_unavailable", m),
            TicketError::Datto(d) if d.is_transient() => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, d.code(), d.to_string())
            }
            TicketError::Datto(d @ DattoError::BadCredentials { .. }) => {
                ApiError::new(StatusCode::BAD_GATEWAY, d.code(), d.to_string())
            }
            TicketError::Datto(d) => d.into(),
            TicketError::Psa(p) if p.is_transient() => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, p.code(), p.to_string())
            }
            TicketError::Psa(p @ PsaError::BadCredentials { .. }) => {
                ApiError::new(StatusCode::BAD_GATEWAY, p.code(), p.to_string())
            }
            TicketError::Psa(p) => p.into(),
        }
    }
}
