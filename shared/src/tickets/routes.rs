//! The ticket routes (function `tickets`): ticket settings and hook tokens
//! behind the JWT, and the webhooks of the alert round trip, which are not:
//!
//! | route | auth |
//! |---|---|
//! | `GET`/`PUT`/`PATCH /integrations/{id}/ticket-settings` | JWT |
//! | `GET /integrations/{psaId}/ticket-lists` (`?boardId=`) | JWT |
//! | `POST /integrations/{id}/hook-token` | JWT |
//! | `GET /integrations/{id}/alerts` (`?state=pending`) | JWT |
//! | `GET`/`POST /integrations/{id}/ticket-reconciler` | JWT |
//! | `POST /hooks/datto/{integrationId}/alerts` | hook token |
//! | `POST /hooks/autotask/{integrationId}/callout` | hook token |
//! | `POST /hooks/autotask/{integrationId}/webhook` | hook token + `X-Hook-Signature` |
//! | `POST /hooks/connectwise/{integrationId}/callback` | hook token + `x-content-signature` |
//!
//! The hook token goes in `?token=`, the `X-Rmmsync-Token` header, or as the
//! password of HTTP Basic auth (what an Autotask callout can send). The
//! bodies and problems are in the OpenAPI document (`docs/openapi.json`).
//!
//! What a sender retries decides the fault statuses: Datto RMM's and the
//! Autotask callout's retry policies are not documented, so a fault answers
//! 503 (and the reconciler is the guarantee); ConnectWise retries only 404,
//! 409, 419 and 429 within 5 s, so a fault on its callback answers 409.

use crate::api::{ApiError, Caller, JsonBody, Params, method_not_allowed, reply, route_not_found};
use crate::connections::IntegrationSettings;
use crate::datto::{DattoConnector, DattoError};
use crate::psa::{PsaConnector, PsaError};
use crate::secrets::SecretsManager;
use crate::store::{DynamoStore, StoreError};
use crate::tickets::{
    AlertRecord, AlertState, HookOutcome, HookToken, ReconcileBudget, ReconcileRecord, TicketError,
    TicketSettingsInput, TicketTiming, Tickets,
};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::any;
use base64::Engine;
use std::sync::Arc;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

/// What the routes need, built once per process.
#[derive(Clone)]
pub struct TicketsApi {
    pub store: DynamoStore,
    pub secrets: SecretsManager,
    pub datto: DattoConnector,
    pub psa: PsaConnector,
    pub settings: IntegrationSettings,
    pub clock: fn() -> i64,
    /// `HOOK_BASE_URL`: the API's public URL, for registering ConnectWise callbacks.
    pub hook_base_url: Option<String>,
    /// `FUNCTION_TIMEOUT_SECS`: the deadline of a delivery and a claim's liveness.
    pub timing: TicketTiming,
}

impl TicketsApi {
    pub fn tickets(&self) -> Tickets<'_> {
        Tickets {
            store: &self.store,
            secrets: &self.secrets,
            datto: &self.datto,
            psa: &self.psa,
            settings: &self.settings,
            clock: self.clock,
            hook_base_url: self.hook_base_url.as_deref(),
            timing: self.timing,
        }
    }
}

type St = State<Arc<TicketsApi>>;

/// The routes without their state: for the OpenAPI document.
///
/// The hooks carry no JWT, so nothing under `/hooks/{sender}/{id}/{kind}`
/// asks for a caller: another method is 405 and another sender or kind 404
/// whoever calls.
pub fn routes() -> OpenApiRouter<Arc<TicketsApi>> {
    OpenApiRouter::new()
        .routes(routes!(get_ticket_settings, put_ticket_settings, patch_ticket_settings))
        .routes(routes!(ticket_lists))
        .routes(routes!(new_hook_token))
        .routes(routes!(list_alerts))
        .routes(routes!(get_reconciler, run_reconciler))
        .routes(hook(routes!(datto_alert)))
        .routes(hook(routes!(autotask_callout)))
        .routes(hook(routes!(autotask_webhook)))
        .routes(hook(routes!(connectwise_callback)))
        .route("/hooks/{sender}/{id}/{kind}", any(unknown_hook))
}

/// The router the tickets Lambda serves.
pub fn router(api: TicketsApi) -> OpenApiRouter {
    routes().with_state(Arc::new(api))
}

/// A hook route answers another method with 405 without asking for a caller.
fn hook((schemas, paths, method_router): UtoipaMethodRouter<Arc<TicketsApi>>) -> UtoipaMethodRouter<Arc<TicketsApi>> {
    (schemas, paths, method_router.fallback(hook_wrong_method))
}

async fn hook_wrong_method(method: Method) -> ApiError {
    method_not_allowed(&method)
}

/// `/hooks/{sender}/{id}/{kind}` that is none of the three hooks.
async fn unknown_hook(method: Method, uri: Uri) -> ApiError {
    if method != Method::POST {
        return method_not_allowed(&method);
    }
    route_not_found(&method, &uri)
}

/// A Datto RMM integration's ticket settings.
#[utoipa::path(get, path = "/integrations/{id}/ticket-settings", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value,
               description = "`{enabled, psaIntegrationId, psa, priorities: {critical, high, moderate, low, information}, autotask?: {queueId, issueType, ...}, connectwise?: {boardId, ...}, repeatWindowMinutes, updatedAt}`"),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem, description = "no such integration, or no ticket settings"),
              (status = 409, body = crate::api::Problem),
              (status = 422, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn get_ticket_settings(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(reply(
        StatusCode::OK,
        &api.tickets().get_settings(&caller.tenant, &id).await?,
    ))
}

/// Sets a Datto RMM integration's ticket settings; answers with them.
#[utoipa::path(put, path = "/integrations/{id}/ticket-settings", tag = "tickets", params(("id" = String, Path)),
    request_body(content = serde_json::Value,
                 description = "`{enabled?, psaIntegrationId?, priorities?, autotask?, connectwise?, repeatWindow?, monitors?}`; `repeatWindow` in minutes (`30`, `\"30m\"`) or hours (`\"2h\"`); `monitors`: per alert context class (`perf_disk_usage_ctx`), `{createTickets?, priority?, autotask?: {queueId?, issueType?, subIssueType?, workType?, source?}, connectwise?: {boardId?, typeId?, subtypeId?, itemId?, openStatusId?, closedStatusId?, sourceId?}}`. Ids are checked against the PSA's lists (`GET /integrations/{psaId}/ticket-lists`): an unknown one is a 400 naming the field"),
    responses((status = 200, body = serde_json::Value, description = "the settings, as `GET` shows them, and `warnings`: what the check against the PSA's lists found worth a look (inactive choices, a ConnectWise board without a default team or status, lists that could not be read; with ticketing off also unknown ids)"),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 422, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn put_ticket_settings(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<TicketSettingsInput>,
) -> Result<Response, ApiError> {
    Ok(reply(
        StatusCode::OK,
        &api.tickets().put_settings(&caller.tenant, &id, input).await?,
    ))
}

/// Changes some of a Datto RMM integration's ticket settings (the fields given); answers with
/// all of them. `{"enabled": false}` turns ticketing off and keeps the rest: tickets opened
/// before still complete when their alerts resolve.
#[utoipa::path(patch, path = "/integrations/{id}/ticket-settings", tag = "tickets", params(("id" = String, Path)),
    request_body(content = serde_json::Value,
                 description = "any of `{enabled, psaIntegrationId, priorities, autotask, connectwise, repeatWindow, monitors}`; in `monitors`, a key given `null` removes that monitor's entry"),
    responses((status = 200, body = serde_json::Value, description = "the settings, as `GET` shows them, and `warnings`: what the check against the PSA's lists found worth a look (inactive choices, a ConnectWise board without a default team or status, lists that could not be read; with ticketing off also unknown ids)"),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem, description = "no such integration, or no ticket settings yet (`PUT` them first)"),
              (status = 409, body = crate::api::Problem),
              (status = 422, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn patch_ticket_settings(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<TicketSettingsInput>,
) -> Result<Response, ApiError> {
    Ok(reply(
        StatusCode::OK,
        &api.tickets().patch_settings(&caller.tenant, &id, input).await?,
    ))
}

/// What a PSA integration's ticket settings can refer to, read from the PSA now: Autotask's
/// queues, issue types, sub-issue types (with their issue type), statuses, priorities and
/// sources (the Tickets entity's picklists); ConnectWise's boards with their types, subtypes,
/// items, statuses and teams, and the priorities and sources.
#[utoipa::path(get, path = "/integrations/{id}/ticket-lists", tag = "tickets",
    params(("id" = String, Path, description = "a PSA integration"),
           ("boardId" = Option<i64>, Query, description = "ConnectWise: only this board")),
    responses((status = 200, body = crate::psa::PsaTicketLists,
               description = "`{psa: \"autotask\", queues, issueTypes, subIssueTypes, statuses, priorities, sources}` or `{psa: \"connectwise-manage\", boards: [{id, name, active, types, subtypes, items, statuses, teams}], priorities, sources}`; each choice `{id, name, active, isDefault?, parentId?, closed?}`"),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem, description = "no such PSA integration"),
              (status = 422, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem, description = "the PSA failed or refused the credentials"),
              (status = 503, body = crate::api::Problem)))]
async fn ticket_lists(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let board = match params.get("boardId").as_deref() {
        None | Some("") => None,
        Some(b) => Some(
            b.parse::<i64>()
                .ok()
                .filter(|b| *b > 0)
                .ok_or_else(|| ApiError::bad_request("`boardId` must be a board id (a positive integer)"))?,
        ),
    };
    Ok(reply(
        StatusCode::OK,
        &api.tickets().ticket_lists(&caller.tenant, &id, board).await?,
    ))
}

/// A new hook token for a Datto RMM or PSA integration, shown once; the old one stops working.
/// For a Datto RMM integration the answer carries `dattoWebhook`: the URL and the JSON bodies
/// for "raised" and "resolved" to paste into Datto RMM. With the public URL known
/// (`HOOK_BASE_URL`), a ConnectWise token registers the ticket callback (`callbackId`) and an
/// Autotask token the signed ticket webhook (`webhookId`, replacing the one of the old token).
#[utoipa::path(post, path = "/integrations/{id}/hook-token", tag = "tickets", params(("id" = String, Path)),
    responses((status = 201, body = HookToken),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 422, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem, description = "the PSA failed or refused the credentials while registering the ConnectWise callback or the Autotask ticket webhook"),
              (status = 503, body = crate::api::Problem)))]
async fn new_hook_token(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(reply(
        StatusCode::CREATED,
        &api.tickets().new_hook_token(&caller.tenant, &id).await?,
    ))
}

/// The alert states of a Datto RMM integration: where each alert is in the
/// round trip, and for `pending` and `failed` alerts why and when they are tried again.
#[utoipa::path(get, path = "/integrations/{id}/alerts", tag = "tickets",
    params(("id" = String, Path),
           ("state" = Option<String>, Query, description = "only this state: `opening`, `opened`, `noted`, `resolved`, `pending` or `failed`")),
    responses((status = 200, body = serde_json::Value,
               description = "`{alerts: [{alertUid, state, ticketId?, psaIntegrationId?, reason?, attempts, nextAttemptAt?, updatedAt}]}`"),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn list_alerts(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let state = match params.get("state").as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            serde_json::from_value::<AlertState>(serde_json::Value::String(s.to_owned())).map_err(|_| {
                ApiError::bad_request("`state` must be opening, opened, noted, resolved, pending or failed")
            })?,
        ),
    };
    let alerts: Vec<AlertRecord> = api.tickets().alert_states(&caller.tenant, &id, state).await?;
    let alerts: Vec<serde_json::Value> = alerts
        .into_iter()
        .map(|a| {
            let mut v = serde_json::to_value(&a).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.remove("version");
            }
            v
        })
        .collect();
    Ok(reply(StatusCode::OK, &serde_json::json!({ "alerts": alerts })))
}

/// The reconciler's last pass over a Datto RMM integration: what it found and repaired.
#[utoipa::path(get, path = "/integrations/{id}/ticket-reconciler", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = ReconcileRecord),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem, description = "no such integration, or no pass yet"),
              (status = 503, body = crate::api::Problem)))]
async fn get_reconciler(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(reply(
        StatusCode::OK,
        &api.tickets().last_reconcile(&caller.tenant, &id).await?,
    ))
}

/// Runs a reconciler pass now (the schedule runs one every 5 minutes), within this function's deadline.
#[utoipa::path(post, path = "/integrations/{id}/ticket-reconciler", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = ReconcileRecord),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem, description = "no such integration, or no ticket settings"),
              (status = 409, body = crate::api::Problem, description = "`integration_disabled`: the Datto RMM integration or its PSA is switched off"),
              (status = 422, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn run_reconciler(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let tickets = api.tickets();
    let budget = ReconcileBudget {
        deadline: api.timing.deadline().mul_f64(0.8),
        ..ReconcileBudget::default()
    };
    Ok(reply(
        StatusCode::OK,
        &tickets.reconcile(&caller.tenant, &id, &budget).await?,
    ))
}

/// What every webhook answers; only for the OpenAPI document (the handlers
/// answer through [`HookOutcome`] and [`ApiError`]).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum HookAnswers {
    /// What the delivery did.
    #[response(status = 200)]
    Done(HookOutcome),
    /// The body is malformed.
    #[response(status = 400)]
    BadRequest(crate::api::Problem),
    /// The hook token (for ConnectWise, also the signature) is missing or wrong, or there is no
    /// such integration: the two are not told apart.
    #[response(status = 401)]
    Unauthorized(crate::api::Problem),
    /// The alert's state changed meanwhile; the sender should retry.
    #[response(status = 409)]
    Conflict(crate::api::Problem),
    /// Datto RMM or the PSA refused the request (permission, configuration).
    #[response(status = 422)]
    Unprocessable(crate::api::Problem),
    /// Datto RMM or the PSA failed.
    #[response(status = 502)]
    BadGateway(crate::api::Problem),
    /// A fault: the sender should retry.
    #[response(status = 503)]
    Unavailable(crate::api::Problem),
}

/// A Datto RMM alert webhook. No JWT: the hook token authenticates it.
#[utoipa::path(post, path = "/hooks/datto/{integrationId}/alerts", tag = "hooks", security(()),
    params(("integrationId" = String, Path),
           ("token" = Option<String>, Query, description = "the hook token (or `X-Rmmsync-Token`, or Basic/Bearer auth)")),
    request_body(content = serde_json::Value, description = "the alert webhook; only its alert uid is read"),
    responses(HookAnswers))]
async fn datto_alert(
    State(api): St,
    Path(id): Path<String>,
    params: Params,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, ApiError> {
    let token = hook_token(&params, &headers);
    let body = body_bytes(req).await;
    let outcome = api.tickets().on_alert_webhook(&id, token.as_deref(), &body).await;
    Ok(reply(StatusCode::OK, &outcome?))
}

/// An Autotask workflow-rule extension callout. No JWT: the hook token authenticates it.
#[utoipa::path(post, path = "/hooks/autotask/{integrationId}/callout", tag = "hooks", security(()),
    params(("integrationId" = String, Path),
           ("token" = Option<String>, Query, description = "the hook token (or `X-Rmmsync-Token`, or Basic/Bearer auth)")),
    request_body(content = serde_json::Value, description = "the callout, form-encoded or JSON; its ticket id (`id` / `ticketID`) is read"),
    responses(HookAnswers))]
async fn autotask_callout(
    State(api): St,
    Path(id): Path<String>,
    params: Params,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, ApiError> {
    let token = hook_token(&params, &headers);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let body = body_bytes(req).await;
    let outcome = api
        .tickets()
        .on_autotask_callout(&id, token.as_deref(), &body, content_type)
        .await;
    Ok(reply(StatusCode::OK, &outcome?))
}

/// An Autotask ticket webhook (`TicketWebhooks`, registered by the PSA integration's hook token
/// when the public URL is known). No JWT: the hook token and `X-Hook-Signature` (HMAC-SHA1 of
/// the body, hex or base64) authenticate it.
#[utoipa::path(post, path = "/hooks/autotask/{integrationId}/webhook", tag = "hooks", security(()),
    params(("integrationId" = String, Path),
           ("token" = Option<String>, Query, description = "the hook token (or `X-Rmmsync-Token`, or Basic/Bearer auth)"),
           ("X-Hook-Signature" = Option<String>, Header, description = "HMAC-SHA1 of the body, keyed by the webhook's secret key")),
    request_body(content = serde_json::Value, description = "the webhook event: `{Guid, Action, EntityType, Id, Fields, EventTime, SequenceNumber}`; its ticket `Id` is read"),
    responses(HookAnswers))]
async fn autotask_webhook(
    State(api): St,
    Path(id): Path<String>,
    params: Params,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, ApiError> {
    let token = hook_token(&params, &headers);
    let signature = headers.get("x-hook-signature").and_then(|v| v.to_str().ok());
    let body = body_bytes(req).await;
    let outcome = api
        .tickets()
        .on_autotask_webhook(&id, token.as_deref(), &body, signature)
        .await;
    Ok(reply(StatusCode::OK, &outcome?))
}

/// A ConnectWise Manage callback. No JWT: the hook token and `x-content-signature` authenticate it.
#[utoipa::path(post, path = "/hooks/connectwise/{integrationId}/callback", tag = "hooks", security(()),
    params(("integrationId" = String, Path),
           ("token" = Option<String>, Query, description = "the hook token (or `X-Rmmsync-Token`, or Basic/Bearer auth)"),
           ("x-content-signature" = Option<String>, Header, description = "ConnectWise's signature of the body")),
    request_body(content = serde_json::Value, description = "the callback; `Metadata.key_url` names the signing key"),
    responses(HookAnswers))]
async fn connectwise_callback(
    State(api): St,
    Path(id): Path<String>,
    params: Params,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, ApiError> {
    let token = hook_token(&params, &headers);
    let signature = headers.get("x-content-signature").and_then(|v| v.to_str().ok());
    let body = body_bytes(req).await;
    let outcome = api
        .tickets()
        .on_connectwise_callback(&id, token.as_deref(), &body, signature)
        .await;
    match outcome {
        Ok(o) => Ok(reply(StatusCode::OK, &o)),
        Err(e) => Err(connectwise_retryable(e.into())),
    }
}

/// ConnectWise retries a callback only on 404, 409, 419 and 429: a fault
/// (5xx) is answered 409 so that it comes again; the problem's code stays.
fn connectwise_retryable(mut e: ApiError) -> ApiError {
    if e.status.is_server_error() {
        e.status = StatusCode::CONFLICT;
    }
    e
}

/// The raw body, whatever its size (API Gateway already bounds it); a
/// missing body is empty.
async fn body_bytes(req: Request) -> axum::body::Bytes {
    axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap_or_default()
}

/// The hook token from `?token=`, `X-Rmmsync-Token`, or Basic/Bearer auth.
fn hook_token(params: &Params, headers: &HeaderMap) -> Option<String> {
    if let Some(t) = params.get("token").filter(|t| !t.is_empty()) {
        return Some(t);
    }
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
impl From<TicketError> for ApiError {
    fn from(e: TicketError) -> Self {
        match e {
            TicketError::Invalid(m) => ApiError::bad_request(m),
            TicketError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "ticketing_conflict", m),
            e @ TicketError::Disabled(_) => ApiError::new(StatusCode::CONFLICT, "integration_disabled", e.to_string()),
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
            TicketError::Deadline(_) | TicketError::Busy(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "try_again", e.to_string())
            }
            TicketError::Refused(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", m),
        }
    }
}
