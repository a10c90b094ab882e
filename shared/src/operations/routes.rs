//! The operations routes (function `operations`), all behind the JWT:
//!
//! | route | operation |
//! |---|---|
//! | `GET /integrations/{id}/rmm/sites` | `datto-list-sites` (`siteName`, `page`, `max`) |
//! | `GET /integrations/{id}/rmm/sites/{siteUid}` | `datto-get-site` |
//! | `GET /integrations/{id}/rmm/devices` | `datto-list-devices` (`siteUid` or `hostname`, `deviceType`, `operatingSystem`, `siteName`; `page`, `max`) |
//! | `GET /integrations/{id}/rmm/devices/{deviceUid}` | `datto-get-device` |
//! | `GET /integrations/{id}/rmm/devices/{deviceUid}/audit` | `datto-get-device-audit` (`kind`, `page`, `max`) |
//! | `GET /integrations/{id}/rmm/alerts` | `datto-list-alerts` (`siteUid` or `deviceUid`, `state`, `page`, `max`) |
//! | `POST /integrations/{id}/rmm/alerts/{alertUid}/resolve` | `datto-resolve-alert` |
//! | `POST /integrations/{id}/rmm/devices/{deviceUid}/quickjob` | `datto-run-quickjob` |
//! | `GET /integrations/{id}/rmm/jobs/{jobUid}/results/{deviceUid}` | `datto-get-job-result` |
//! | `GET /operations/policies`, `PUT /operations/policies/{operation}` | the tenant's policies |
//! | `GET /operations/approvals`, `GET /operations/approvals/{approvalId}` | approval requests |
//! | `POST /operations/approvals/{approvalId}/approve` / `reject` | deciding one |
//! | `GET /operations/audit` | the audit trail |
//! | `POST /mcp` | the MCP endpoint ([`super::mcp`]) |
//!
//! An operation that ran answers 200 with its result; one that waits for an approval
//! answers 202 with the request (nothing ran).

use super::catalog::{Mode, Operation};
use super::items::{Approval, AuditRecord, Policy};
pub use super::service::OperationsApi;
use super::service::{OperationError, Outcome};
use crate::api::{ApiError, Caller, JsonBody, Params, decode_json, reply};
use crate::connections::IntegrationError;
use crate::datto::DattoError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type St = State<Arc<OperationsApi>>;

pub fn routes() -> OpenApiRouter<Arc<OperationsApi>> {
    OpenApiRouter::new()
        .routes(routes!(list_sites))
        .routes(routes!(get_site))
        .routes(routes!(list_devices))
        .routes(routes!(get_device))
        .routes(routes!(get_device_audit))
        .routes(routes!(list_alerts))
        .routes(routes!(resolve_alert))
        .routes(routes!(run_quickjob))
        .routes(routes!(get_job_result))
        .routes(routes!(list_policies))
        .routes(routes!(put_policy))
        .routes(routes!(list_approvals))
        .routes(routes!(get_approval))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(audit_trail))
        .routes(routes!(super::mcp::mcp))
}

/// The router the operations Lambda serves.
pub fn router(api: OperationsApi) -> OpenApiRouter {
    routes().with_state(Arc::new(api))
}

impl From<OperationError> for ApiError {
    fn from(e: OperationError) -> Self {
        let status = match &e {
            OperationError::Invalid(_) => StatusCode::BAD_REQUEST,
            OperationError::NotFound(_) => StatusCode::NOT_FOUND,
            OperationError::NoUser => StatusCode::UNAUTHORIZED,
            OperationError::Disabled { .. } | OperationError::Forbidden(_) => StatusCode::FORBIDDEN,
            OperationError::Conflict(_) => StatusCode::CONFLICT,
            OperationError::Component(_) => StatusCode::UNPROCESSABLE_ENTITY,
            OperationError::Datto(DattoError::NotFound { .. }) => StatusCode::NOT_FOUND,
            OperationError::Datto(DattoError::Unexpected { status: 400, .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            OperationError::Datto(_) => {
                let OperationError::Datto(d) = e else { unreachable!() };
                return d.into();
            }
            OperationError::Integration(_) | OperationError::Store(_) => {
                let inner = match e {
                    OperationError::Integration(i) => i,
                    OperationError::Store(s) => IntegrationError::Store(s),
                    _ => unreachable!(),
                };
                return inner.into();
            }
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

/// 200 with the result, or 202 with the approval request.
pub(super) fn answer(outcome: Outcome) -> Response {
    let status = match outcome {
        Outcome::Done { .. } => StatusCode::OK,
        Outcome::Pending { .. } => StatusCode::ACCEPTED,
    };
    reply(status, &outcome)
}

/// The query's parameters as operation arguments: numbers for `page`/`max`, strings else.
fn query_args(params: &Params, names: &[&str], base: Vec<(&str, Value)>) -> Result<Value, ApiError> {
    let mut map: Map<String, Value> = base.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for name in names {
        let Some(v) = params.non_empty(name) else { continue };
        let value = if matches!(*name, "page" | "max") {
            Value::from(
                v.trim()
                    .parse::<u32>()
                    .map_err(|_| ApiError::bad_request(format!("`{name}` must be a whole number")))?,
            )
        } else {
            Value::String(v)
        };
        map.insert((*name).to_owned(), value);
    }
    Ok(Value::Object(map))
}

async fn invoke(api: &OperationsApi, caller: &Caller, op: Operation, args: Value) -> Result<Response, ApiError> {
    let reason = args.get("reason").and_then(Value::as_str).map(str::to_owned);
    Ok(answer(api.operations().invoke(caller, op, args, reason).await?))
}

/// An optional JSON object body (empty is `{}`).
fn optional_body(bytes: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    decode_json(bytes)
}

const PAGE: &[&str] = &["page", "max"];

/// One page of the Datto RMM account's sites (`datto-list-sites`).
#[utoipa::path(get, path = "/integrations/{id}/rmm/sites", tag = "operations",
    params(("id" = String, Path), ("siteName" = Option<String>, Query), ("page" = Option<u32>, Query), ("max" = Option<u32>, Query)),
    responses((status = 200, body = Outcome, description = "`result`: `{page, nextPage?, totalCount?, items}`"),
              (status = 202, body = Outcome, description = "the tenant's policy gates this read: waiting for approval"),
              (status = 400, body = crate::api::Problem), (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem, description = "the operation is disabled (the reason says why)"),
              (status = 404, body = crate::api::Problem), (status = 502, body = crate::api::Problem)))]
async fn list_sites(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let names = [&["siteName"][..], PAGE].concat();
    let args = query_args(&params, &names, vec![("integrationId", json!(id))])?;
    invoke(&api, &caller, Operation::ListSites, args).await
}

/// One site (`datto-get-site`).
#[utoipa::path(get, path = "/integrations/{id}/rmm/sites/{siteUid}", tag = "operations",
    params(("id" = String, Path), ("siteUid" = String, Path)),
    responses((status = 200, body = Outcome), (status = 202, body = Outcome),
              (status = 400, body = crate::api::Problem), (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem), (status = 404, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem)))]
async fn get_site(
    State(api): St,
    caller: Caller,
    Path((id, site)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    invoke(
        &api,
        &caller,
        Operation::GetSite,
        json!({"integrationId": id, "siteUid": site}),
    )
    .await
}

/// One page of devices, account-wide with filters or of one site (`datto-list-devices`).
#[utoipa::path(get, path = "/integrations/{id}/rmm/devices", tag = "operations",
    params(("id" = String, Path), ("siteUid" = Option<String>, Query), ("hostname" = Option<String>, Query),
           ("deviceType" = Option<String>, Query), ("operatingSystem" = Option<String>, Query),
           ("siteName" = Option<String>, Query), ("page" = Option<u32>, Query), ("max" = Option<u32>, Query)),
    responses((status = 200, body = Outcome, description = "`result`: `{page, nextPage?, totalCount?, items}`; no UDFs"),
              (status = 202, body = Outcome),
              (status = 400, body = crate::api::Problem), (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem), (status = 404, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem)))]
async fn list_devices(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let names = [
        &["siteUid", "hostname", "deviceType", "operatingSystem", "siteName"][..],
        PAGE,
    ]
    .concat();
    let args = query_args(&params, &names, vec![("integrationId", json!(id))])?;
    invoke(&api, &caller, Operation::ListDevices, args).await
}

/// One device with its full details, UDFs removed (`datto-get-device`).
#[utoipa::path(get, path = "/integrations/{id}/rmm/devices/{deviceUid}", tag = "operations",
    params(("id" = String, Path), ("deviceUid" = String, Path)),
    responses((status = 200, body = Outcome), (status = 202, body = Outcome),
              (status = 400, body = crate::api::Problem), (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem), (status = 404, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem)))]
async fn get_device(
    State(api): St,
    caller: Caller,
    Path((id, device)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    invoke(
        &api,
        &caller,
        Operation::GetDevice,
        json!({"integrationId": id, "deviceUid": device}),
    )
    .await
}

/// A device's audit (`datto-get-device-audit`): `kind` hardware (default), software (paged),
/// network, esxi or printer.
#[utoipa::path(get, path = "/integrations/{id}/rmm/devices/{deviceUid}/audit", tag = "operations",
    params(("id" = String, Path), ("deviceUid" = String, Path), ("kind" = Option<String>, Query),
           ("page" = Option<u32>, Query), ("max" = Option<u32>, Query)),
    responses((status = 200, body = Outcome), (status = 202, body = Outcome),
              (status = 400, body = crate::api::Problem), (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem), (status = 404, body = crate::api::Problem),
              (status = 422, body = crate::api::Problem, description = "the device is not of the audit's class"),
              (status = 502, body = crate::api::Problem)))]
async fn get_device_audit(
    State(api): St,
    caller: Caller,
    Path((id, device)): Path<(String, String)>,
    params: Params,
) -> Result<Response, ApiError> {
    let names = [&["kind"][..], PAGE].concat();
    let args = query_args(
        &params,
        &names,
        vec![("integrationId", json!(id)), ("deviceUid", json!(device))],
    )?;
    invoke(&api, &caller, Operation::GetDeviceAudit, args).await
}

/// One page of open (or resolved) alerts of the account, a site or a device (`datto-list-alerts`).
#[utoipa::path(get, path = "/integrations/{id}/rmm/alerts", tag = "operations",
    params(("id" = String, Path), ("siteUid" = Option<String>, Query), ("deviceUid" = Option<String>, Query),
           ("state" = Option<String>, Query, description = "`open` (default) or `resolved`"),
           ("page" = Option<u32>, Query), ("max" = Option<u32>, Query)),
    responses((status = 200, body = Outcome, description = "alert text is under `untrustedData`"),
              (status = 202, body = Outcome),
              (status = 400, body = crate::api::Problem), (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem), (status = 404, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem)))]
async fn list_alerts(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let names = [&["siteUid", "deviceUid", "state"][..], PAGE].concat();
    let args = query_args(&params, &names, vec![("integrationId", json!(id))])?;
    invoke(&api, &caller, Operation::ListAlerts, args).await
}

/// Resolves an alert (`datto-resolve-alert`; needs approval by default).
#[utoipa::path(post, path = "/integrations/{id}/rmm/alerts/{alertUid}/resolve", tag = "operations",
    params(("id" = String, Path), ("alertUid" = String, Path)),
    request_body(content = serde_json::Value, description = "optional: `{reason?}`"),
    responses((status = 200, body = Outcome, description = "resolved (policy `auto`)"),
              (status = 202, body = Outcome, description = "stored as an approval request; nothing ran"),
              (status = 400, body = crate::api::Problem), (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem), (status = 404, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem)))]
async fn resolve_alert(
    State(api): St,
    caller: Caller,
    Path((id, alert)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut args = optional_body(&body)?;
    args.insert("integrationId".into(), json!(id));
    args.insert("alertUid".into(), json!(alert));
    invoke(&api, &caller, Operation::ResolveAlert, Value::Object(args)).await
}

/// Runs a component, named as in Datto RMM, on a device as a quick job (`datto-run-quickjob`;
/// needs approval by default).
#[utoipa::path(post, path = "/integrations/{id}/rmm/devices/{deviceUid}/quickjob", tag = "operations",
    params(("id" = String, Path), ("deviceUid" = String, Path)),
    request_body(content = serde_json::Value, description = "`{component, variables?: {name: value}, jobName?, reason?}`"),
    responses((status = 200, body = Outcome, description = "the job was created (policy `auto`): `result.jobUid`"),
              (status = 202, body = Outcome, description = "stored as an approval request; nothing ran"),
              (status = 400, body = crate::api::Problem), (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem), (status = 404, body = crate::api::Problem),
              (status = 422, body = crate::api::Problem, description = "no component, or several, has that name: the message lists the candidates"),
              (status = 502, body = crate::api::Problem)))]
async fn run_quickjob(
    State(api): St,
    caller: Caller,
    Path((id, device)): Path<(String, String)>,
    JsonBody(mut args): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    args.insert("integrationId".into(), json!(id));
    args.insert("deviceUid".into(), json!(device));
    invoke(&api, &caller, Operation::RunQuickJob, Value::Object(args)).await
}

/// A quick job's status, its results on the device and its stdout/stderr (`datto-get-job-result`).
#[utoipa::path(get, path = "/integrations/{id}/rmm/jobs/{jobUid}/results/{deviceUid}", tag = "operations",
    params(("id" = String, Path), ("jobUid" = String, Path), ("deviceUid" = String, Path)),
    responses((status = 200, body = Outcome, description = "`result`: `{job, results, stdout, stderr}`; output under `untrustedData`"),
              (status = 202, body = Outcome),
              (status = 400, body = crate::api::Problem), (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem), (status = 404, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem)))]
async fn get_job_result(
    State(api): St,
    caller: Caller,
    Path((id, job, device)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    invoke(
        &api,
        &caller,
        Operation::GetJobResult,
        json!({"integrationId": id, "jobUid": job, "deviceUid": device}),
    )
    .await
}

/// The tenant's policy for every operation (defaults included).
#[utoipa::path(get, path = "/operations/policies", tag = "operations",
    responses((status = 200, body = Vec<Policy>), (status = 401, body = crate::api::Problem), (status = 503, body = crate::api::Problem)))]
async fn list_policies(State(api): St, caller: Caller) -> Result<Response, ApiError> {
    Ok(reply(StatusCode::OK, &api.operations().policies(&caller.tenant).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PolicyInput {
    mode: Mode,
    /// Required for `disabled`: shown to whoever asks for the operation.
    reason: Option<String>,
}

/// Sets the tenant's policy for one operation; needs the approver role.
#[utoipa::path(put, path = "/operations/policies/{operation}", tag = "operations",
    params(("operation" = String, Path, description = "e.g. `datto-run-quickjob`")),
    request_body = PolicyInput,
    responses((status = 200, body = Policy), (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem, description = "the caller lacks the approver role"),
              (status = 404, body = crate::api::Problem), (status = 503, body = crate::api::Problem)))]
async fn put_policy(
    State(api): St,
    caller: Caller,
    Path(operation): Path<String>,
    JsonBody(input): JsonBody<PolicyInput>,
) -> Result<Response, ApiError> {
    let policy = api
        .operations()
        .set_policy(&caller, &operation, input.mode, input.reason)
        .await?;
    Ok(reply(StatusCode::OK, &policy))
}

/// Approval requests: `status=pending` (waiting), `status=past` (decided or expired), or all.
#[utoipa::path(get, path = "/operations/approvals", tag = "operations",
    params(("status" = Option<String>, Query, description = "`pending` or `past`; absent: all")),
    responses((status = 200, body = Vec<Approval>), (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem), (status = 503, body = crate::api::Problem)))]
async fn list_approvals(State(api): St, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let pending = match params.non_empty("status").as_deref() {
        None => None,
        Some("pending") => Some(true),
        Some("past") => Some(false),
        Some(_) => return Err(ApiError::bad_request("`status` must be pending or past")),
    };
    Ok(reply(
        StatusCode::OK,
        &api.operations().approvals(&caller.tenant, pending).await?,
    ))
}

/// One approval request.
#[utoipa::path(get, path = "/operations/approvals/{approvalId}", tag = "operations",
    params(("approvalId" = String, Path)),
    responses((status = 200, body = Approval), (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem), (status = 503, body = crate::api::Problem)))]
async fn get_approval(State(api): St, caller: Caller, Path(approval): Path<String>) -> Result<Response, ApiError> {
    Ok(reply(
        StatusCode::OK,
        &api.operations().approval(&caller.tenant, &approval).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DecisionInput {
    /// The hash of the arguments the approver was shown; the request runs only if it matches.
    arguments_hash: Option<String>,
    note: Option<String>,
}

fn decision(bytes: &Bytes) -> Result<DecisionInput, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(DecisionInput::default());
    }
    decode_json(bytes)
}

/// Approves a pending request and runs exactly its stored operation, once. The approver must
/// hold the approver role and not be the requester.
#[utoipa::path(post, path = "/operations/approvals/{approvalId}/approve", tag = "operations",
    params(("approvalId" = String, Path)),
    request_body(content = DecisionInput, description = "optional"),
    responses((status = 200, body = Outcome, description = "it ran"),
              (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem, description = "the requester, or a caller without the approver role"),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem, description = "decided already, expired, or its arguments changed"),
              (status = 502, body = crate::api::Problem), (status = 503, body = crate::api::Problem)))]
async fn approve(
    State(api): St,
    caller: Caller,
    Path(approval): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input = decision(&body)?;
    let outcome = api
        .operations()
        .approve(&caller, &approval, input.arguments_hash.as_deref(), input.note)
        .await?;
    Ok(answer(outcome))
}

/// Rejects a pending request; it never runs.
#[utoipa::path(post, path = "/operations/approvals/{approvalId}/reject", tag = "operations",
    params(("approvalId" = String, Path)),
    request_body(content = DecisionInput, description = "optional: `{note?}`"),
    responses((status = 200, body = Approval), (status = 401, body = crate::api::Problem),
              (status = 403, body = crate::api::Problem), (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem), (status = 503, body = crate::api::Problem)))]
async fn reject(
    State(api): St,
    caller: Caller,
    Path(approval): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input = decision(&body)?;
    Ok(reply(
        StatusCode::OK,
        &api.operations().reject(&caller, &approval, input.note).await?,
    ))
}

/// The audit trail of operations that ran (auto or approved), newest first.
#[utoipa::path(get, path = "/operations/audit", tag = "operations",
    params(("limit" = Option<u32>, Query, description = "at most this many (default 100, at most 1000)")),
    responses((status = 200, body = Vec<AuditRecord>), (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem), (status = 503, body = crate::api::Problem)))]
async fn audit_trail(State(api): St, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let limit = match params.non_empty("limit") {
        None => 100,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request("`limit` must be a whole number"))?,
    };
    Ok(reply(
        StatusCode::OK,
        &api.operations().audit(&caller.tenant, limit).await?,
    ))
}
