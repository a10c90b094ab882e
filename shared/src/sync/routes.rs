//! The sync routes (function `sync-api`):
//!
//! | route | does |
//! |---|---|
//! | `POST /integrations/{id}/sync` | Sync Now: `202 {runId, status}` at once; `409 sync_in_progress` with the active run |
//! | `GET /integrations/{id}/sync-runs/{runId}` | status, phase, counts and errors of one run |

use super::items::SyncStore;
use super::record::{RunRecord, Trigger};
use super::run::start_run;
use super::{SyncDeps, SyncError};
use crate::api::{ApiError, json, method_not_allowed, route_not_found, segments, tenant};
use crate::time::format_rfc3339;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

pub struct SyncApi {
    pub deps: SyncDeps,
}

/// A run as the API shows it.
pub fn run_view(run: &RunRecord) -> serde_json::Value {
    json!({
        "runId": run.run_id,
        "integrationId": run.integration_id,
        "status": run.status,
        "phase": run.phase,
        "trigger": run.trigger,
        "createdAt": format_rfc3339(run.created_at),
        "startedAt": run.started_at.map(format_rfc3339),
        "updatedAt": format_rfc3339(run.updated_at),
        "finishedAt": run.finished_at.map(format_rfc3339),
        "resumedFrom": run.resumed_from,
        "invocations": run.invocations,
        "counts": run.counts,
        "errors": run.errors.iter().map(|e| json!({
            "code": e.code, "message": e.message, "at": format_rfc3339(e.context.at), "phase": e.context.phase,
        })).collect::<Vec<_>>(),
    })
}

impl SyncApi {
    pub async fn handle(&self, req: Request) -> Response<Body> {
        match self.route(&req).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        }
    }

    async fn route(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let tenant = tenant(req)?;
        let path = segments(req);
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        let method = req.method();
        match parts.as_slice() {
            ["integrations", id, "sync"] => {
                if method != Method::POST {
                    return Err(method_not_allowed(method));
                }
                self.require_integration(&tenant, id).await?;
                match start_run(&self.deps, &tenant, id, Trigger::Manual).await {
                    Ok(run) => Ok(json(
                        StatusCode::ACCEPTED,
                        &json!({ "runId": run.run_id, "status": run.status }),
                    )),
                    Err(SyncError::Busy(active)) => Ok(json(
                        StatusCode::CONFLICT,
                        &json!({
                            "code": "sync_in_progress",
                            "message": "a sync of this integration is already running",
                            "activeRunId": active,
                        }),
                    )),
                    Err(SyncError::Store(e)) => Err(ApiError::from(e)),
                    Err(e) => Err(ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        e.to_string(),
                    )),
                }
            }
            ["integrations", id, "sync-runs", run_id] => {
                if method != Method::GET {
                    return Err(method_not_allowed(method));
                }
                let store = SyncStore::new(self.deps.store.clone());
                let run = if uuid::Uuid::parse_str(id).is_ok() && uuid::Uuid::parse_str(run_id).is_ok() {
                    store.get_run(&tenant, id, run_id).await?
                } else {
                    None
                };
                match run {
                    Some(run) => Ok(json(StatusCode::OK, &run_view(&run))),
                    None => Err(ApiError::not_found(format!("no sync run {run_id}"))),
                }
            }
            _ => Err(route_not_found(req)),
        }
    }

    async fn require_integration(&self, tenant: &crate::tenant::TenantId, id: &str) -> Result<(), ApiError> {
        let missing = || ApiError::not_found(format!("no integration {id}"));
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(missing());
        }
        match self.deps.store.get(tenant, id).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(missing()),
            Err(e) => Err(ApiError::from(e)),
        }
    }
}
