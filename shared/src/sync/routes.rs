//! The sync routes (function `sync-api`): Sync Now and a run's status. The
//! routes, with their bodies and problems, are in the OpenAPI document
//! (`docs/openapi.json`).

use super::items::{SyncStore, run_page};
use super::record::{Phase, RunCounts, RunRecord, RunStatus, Trigger};
use super::run::start_run;
use super::{SyncDeps, SyncError};
use crate::api::{ApiError, Caller, Params, reply};
use crate::runs::history::decode_cursor;
use crate::tenant::TenantId;
use crate::time::format_rfc3339;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the routes need, built once per process.
#[derive(Clone)]
pub struct SyncApi {
    pub deps: Arc<SyncDeps>,
}

type St = State<Arc<SyncApi>>;

/// The routes without their state: for the OpenAPI document.
pub fn routes() -> OpenApiRouter<Arc<SyncApi>> {
    OpenApiRouter::new()
        .routes(routes!(sync_now))
        .routes(routes!(list_sync_runs))
        .routes(routes!(get_sync_run))
}

/// The router the sync-api Lambda serves.
pub fn router(api: SyncApi) -> OpenApiRouter {
    routes().with_state(Arc::new(api))
}

/// A run just queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncRunStarted {
    pub run_id: String,
    /// `queued`.
    #[schema(value_type = String)]
    pub status: RunStatus,
}

/// `409 sync_in_progress`: the problem, with the run that holds the integration.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncBusy {
    /// `sync_in_progress`.
    pub code: &'static str,
    pub message: &'static str,
    pub active_run_id: String,
}

/// One error a run met.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunErrorView {
    pub code: String,
    pub message: String,
    /// RFC 3339.
    pub at: String,
    /// Null when not tied to a phase.
    pub phase: Option<Phase>,
}

/// A run as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncRunView {
    pub run_id: String,
    pub integration_id: String,
    pub status: RunStatus,
    pub phase: Phase,
    /// `manual` (Sync Now) or `schedule`.
    pub trigger: Trigger,
    /// RFC 3339, as are the other times.
    pub created_at: String,
    pub started_at: Option<String>,
    pub updated_at: String,
    pub finished_at: Option<String>,
    /// The run this one resumed, if any.
    pub resumed_from: Option<String>,
    pub invocations: u32,
    /// Counters by name (`sites`, `devicesSeen`, `devicesCreated`, `auditsDone`, ...), all numbers.
    #[schema(value_type = Object)]
    pub counts: RunCounts,
    pub errors: Vec<RunErrorView>,
}

impl From<&RunRecord> for SyncRunView {
    fn from(run: &RunRecord) -> Self {
        Self {
            run_id: run.run_id.clone(),
            integration_id: run.integration_id.clone(),
            status: run.status,
            phase: run.phase,
            trigger: run.trigger,
            created_at: format_rfc3339(run.created_at),
            started_at: run.started_at.map(format_rfc3339),
            updated_at: format_rfc3339(run.updated_at),
            finished_at: run.finished_at.map(format_rfc3339),
            resumed_from: run.resumed_from.clone(),
            invocations: run.invocations,
            counts: run.counts.clone(),
            errors: run
                .errors
                .iter()
                .map(|e| RunErrorView {
                    code: e.code.clone(),
                    message: e.message.clone(),
                    at: format_rfc3339(e.context.at),
                    phase: e.context.phase,
                })
                .collect(),
        }
    }
}

/// Sync Now: queues a run of the integration and answers at once.
#[utoipa::path(post, path = "/integrations/{id}/sync", tag = "sync", params(("id" = String, Path)),
    responses((status = 202, body = SyncRunStarted),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem, description = "no such integration"),
              (status = 409, body = SyncBusy, description = "`sync_in_progress` (with `activeRunId`) while a run is active; an `integration_disabled` problem while the integration is off; a `conflict` problem when the store changed meanwhile"),
              (status = 500, body = crate::api::Problem, description = "`internal`"),
              (status = 503, body = crate::api::Problem, description = "`store_unavailable`")))]
async fn sync_now(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    require_integration(&api.deps, &caller.tenant, &id).await?;
    match start_run(&api.deps, &caller.tenant, &id, Trigger::Manual).await {
        Ok(run) => Ok(reply(
            StatusCode::ACCEPTED,
            &SyncRunStarted {
                run_id: run.run_id,
                status: run.status,
            },
        )),
        Err(SyncError::Busy(active)) => Ok(reply(
            StatusCode::CONFLICT,
            &SyncBusy {
                code: "sync_in_progress",
                message: "a sync of this integration is already running",
                active_run_id: active,
            },
        )),
        Err(e) => Err(sync_problem(e)),
    }
}

/// The problem a sync error answers (a busy integration has its own body: [`SyncBusy`]).
pub fn sync_problem(e: SyncError) -> ApiError {
    match e {
        SyncError::Disabled(id) => disabled(&id),
        SyncError::Integration(crate::connections::IntegrationError::NotFound(id)) => {
            ApiError::not_found(format!("no integration {id}"))
        }
        SyncError::Store(e) | SyncError::Integration(crate::connections::IntegrationError::Store(e)) => {
            ApiError::from(e)
        }
        e => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// `409 integration_disabled`.
pub fn disabled(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "integration_disabled",
        format!("integration {id} is disabled; enable it first (POST /integrations/{id}/enable)"),
    )
}

/// A page of runs, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncRunPage {
    pub runs: Vec<SyncRunView>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// `limit` of a run list: 1-100, default 20.
pub fn run_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    match raw {
        None | Some("") => Ok(20),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| ApiError::bad_request("`limit` must be a number from 1 to 100")),
    }
}

/// `cursor` of a run list, decoded.
pub fn run_cursor(raw: Option<String>) -> Result<Option<String>, ApiError> {
    raw.map(|c| decode_cursor(&c).ok_or_else(|| ApiError::bad_request("`cursor` is not one this API gave out")))
        .transpose()
}

/// The integration's sync runs, newest first, a page at a time.
#[utoipa::path(get, path = "/integrations/{id}/sync-runs", tag = "sync",
    params(("id" = String, Path),
           ("limit" = Option<u32>, Query, description = "1-100, default 20"),
           ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")),
    responses((status = 200, body = SyncRunPage),
              (status = 400, body = crate::api::Problem, description = "a bad `limit` or `cursor`"),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem, description = "no such integration"),
              (status = 503, body = crate::api::Problem, description = "`store_unavailable`")))]
async fn list_sync_runs(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let limit = run_limit(params.get("limit").as_deref())?;
    let after = run_cursor(params.non_empty("cursor"))?;
    require_integration(&api.deps, &caller.tenant, &id).await?;
    let (runs, next_cursor) = run_page(&api.deps.store, &caller.tenant, &id, after.as_deref(), limit).await?;
    Ok(reply(
        StatusCode::OK,
        &SyncRunPage {
            runs: runs.iter().map(SyncRunView::from).collect(),
            next_cursor,
        },
    ))
}

/// Status, phase, counts and errors of one run.
#[utoipa::path(get, path = "/integrations/{id}/sync-runs/{runId}", tag = "sync",
    params(("id" = String, Path), ("runId" = String, Path)),
    responses((status = 200, body = SyncRunView),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem, description = "no such run"),
              (status = 409, body = crate::api::Problem, description = "`conflict`"),
              (status = 503, body = crate::api::Problem, description = "`store_unavailable`")))]
async fn get_sync_run(
    State(api): St,
    caller: Caller,
    Path((id, run_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = SyncStore::new(api.deps.store.clone());
    let run = if uuid::Uuid::parse_str(&id).is_ok() && uuid::Uuid::parse_str(&run_id).is_ok() {
        store.get_run(&caller.tenant, &id, &run_id).await?
    } else {
        None
    };
    match run {
        Some(run) => Ok(reply(StatusCode::OK, &SyncRunView::from(&run))),
        None => Err(ApiError::not_found(format!("no sync run {run_id}"))),
    }
}

pub async fn require_integration(deps: &SyncDeps, tenant: &TenantId, id: &str) -> Result<(), ApiError> {
    let missing = || ApiError::not_found(format!("no integration {id}"));
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(missing());
    }
    match deps.store.get(tenant, id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(missing()),
        Err(e) => Err(ApiError::from(e)),
    }
}
