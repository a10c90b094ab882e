//! Clear and resync, composed from the flows it wipes (like [`crate::workers`],
//! it sits above them; none of them knows the others): `POST
//! /integrations/{id}/resync` wipes what an integration's sync and device
//! import stored (sites, devices, Datto device types, resume state, import
//! states; quick-match suggestions), keeps its credentials, runs, ticket
//! settings and assets, keeps or drops its site and type mappings (and the
//! configuration mappings) as asked, and queues a full sync run. Served by the `sync-api` function.
//!
//! Guarantees:
//! - the wipe happens under the integration's sync lease, taken for the run
//!   it then queues: while a sync runs the answer is `409 sync_in_progress`
//!   and nothing is wiped, and no sync can start half-way through the wipe;
//! - every key is built from the caller's tenant and this integration id,
//!   so nothing of another integration or tenant is touched;
//! - each flow owns its wipe
//!   ([`crate::configurations::forget::clear_configuration_mappings`],
//!   [`crate::devices::clear_imports`],
//!   [`crate::site_mapping::clear_site_mappings`],
//!   [`crate::sync::items::clear_synced`]), called here in order, highest
//!   flow first; a wipe interrupted by a fault gives the lease back and can
//!   simply be asked for again.

use crate::api::{ApiError, Caller, JsonBody, reply};
use crate::runs::RunStatus;
use crate::store::keys;
use crate::sync::items::{SyncStore, clear_synced};
use crate::sync::routes::{SyncApi, SyncBusy, require_integration, sync_problem};
use crate::sync::{SyncError, Trigger, queue_run, take_lease};
use crate::tenant::TenantId;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The route without its state: for the OpenAPI document.
pub fn routes() -> OpenApiRouter<Arc<SyncApi>> {
    OpenApiRouter::new().routes(routes!(resync))
}

/// The router the sync-api Lambda serves beside the sync routes.
pub fn router(api: SyncApi) -> OpenApiRouter {
    routes().with_state(Arc::new(api))
}

/// What to keep.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResyncInput {
    /// `true` keeps the site mappings (site to company) and the type mappings
    /// (Datto type to portal type); `false` drops both.
    pub keep_mappings: bool,
}

/// How many items the wipe deleted.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cleared {
    /// Sites, devices, Datto device types and the sync's resume state.
    pub synced_items: usize,
    pub import_states: usize,
    pub site_mappings: usize,
    pub type_mappings: usize,
    /// Configuration settings, type and UDF mappings and device-to-configuration maps of every
    /// PSA integration (dropped with the mappings; the configuration audit trail stays).
    pub configuration_mappings: usize,
}

/// The wipe done and the full run queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResyncStarted {
    pub run_id: String,
    /// `queued`.
    #[schema(value_type = String)]
    pub status: RunStatus,
    pub cleared: Cleared,
}

/// Wipes the integration's synced data under its sync lease (see the module
/// documentation). The lease is `run_id`'s; on a fault it is given back.
pub async fn clear(
    api: &SyncApi,
    tenant: &TenantId,
    integration_id: &str,
    keep_mappings: bool,
) -> Result<Cleared, crate::store::StoreError> {
    let store = &api.deps.store;
    let configuration_mappings =
        crate::configurations::forget::clear_configuration_mappings(store, tenant, integration_id, keep_mappings)
            .await?;
    let imports = crate::devices::clear_imports(store, tenant, integration_id, keep_mappings).await?;
    let site_mappings = crate::site_mapping::clear_site_mappings(store, tenant, integration_id, keep_mappings).await?;
    let synced_items = clear_synced(store, tenant, integration_id).await?;
    Ok(Cleared {
        synced_items,
        import_states: imports.import_states,
        site_mappings,
        type_mappings: imports.type_mappings,
        configuration_mappings,
    })
}

/// Clear and resync: wipes the integration's sites, devices, device types
/// and import states (credentials, runs, ticket settings and assets stay;
/// mappings as `keepMappings` says), then queues a full sync run.
#[utoipa::path(post, path = "/integrations/{id}/resync", tag = "sync", params(("id" = String, Path)),
    request_body = ResyncInput,
    responses((status = 202, body = ResyncStarted),
              (status = 400, body = crate::api::Problem, description = "a bad body (`keepMappings` is required)"),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem, description = "no such integration"),
              (status = 409, body = SyncBusy, description = "`sync_in_progress` (with `activeRunId`) while a run is active, nothing wiped; an `integration_disabled` problem while the integration is off"),
              (status = 500, body = crate::api::Problem, description = "`internal`"),
              (status = 503, body = crate::api::Problem, description = "`store_unavailable`: the wipe stopped; ask again")))]
async fn resync(
    State(api): State<Arc<SyncApi>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ResyncInput>,
) -> Result<Response, ApiError> {
    require_integration(&api.deps, &caller.tenant, &id).await?;
    let run_id = match take_lease(&api.deps, &caller.tenant, &id).await {
        Ok(run_id) => run_id,
        Err(SyncError::Busy(active)) => {
            return Ok(reply(
                StatusCode::CONFLICT,
                &SyncBusy {
                    code: "sync_in_progress",
                    message: "a sync of this integration is running; nothing was cleared",
                    active_run_id: active,
                },
            ));
        }
        Err(e) => return Err(sync_problem(e)),
    };
    let cleared = match clear(&api, &caller.tenant, &id, input.keep_mappings).await {
        Ok(c) => c,
        Err(e) => {
            let _ = SyncStore::new(api.deps.store.clone())
                .release_lease(&keys::integration_pk(&caller.tenant, &id), &run_id)
                .await;
            return Err(ApiError::from(e));
        }
    };
    tracing::info!(tenant = %caller.tenant, integration = %id, keep_mappings = input.keep_mappings,
        synced = cleared.synced_items, imports = cleared.import_states, "integration cleared for a resync");
    let run = queue_run(&api.deps, &caller.tenant, &id, &run_id, Trigger::Manual)
        .await
        .map_err(sync_problem)?;
    Ok(reply(
        StatusCode::ACCEPTED,
        &ResyncStarted {
            run_id: run.run_id,
            status: run.status,
            cleared,
        },
    ))
}
