//! The configurations flow's routes (the `configurations` Lambda): the type mapping
//! (`GET /integrations/{id}/configuration-options`: a PSA integration's types, products,
//! statuses, read from the PSA; `GET`/`PUT /integrations/{id}/configuration-types`), the
//! mapping table with map, unmap, audit and refresh, the settings (`GET`/`PATCH
//! …/configuration-settings`: automatic mapping), Map Now (`POST …/configuration-map-now`) and
//! the UDF mapping (`GET`/`PUT …/configuration-udfs`).

use crate::api::{ApiError, Caller, JsonBody, Params, reply};
use crate::configurations::table::{
    AuditRecord, ConfigMap, MapInput, MapPage, MapReport, RefreshReport, page_limit, parse_filter, parse_map_request,
};
use crate::configurations::types::{
    ConfigTypeInput, ConfigTypeRow, ConfigTypeTable, ConfigTypes, ConfigurationOptions, parse_change,
};
use crate::connections::{IntegrationSettings, PsaIntegrations};
use crate::psa::PsaConnector;
use crate::secrets::SecretsManager;
use crate::store::DynamoStore;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the routes need, built once per process.
#[derive(Clone)]
pub struct ConfigurationsApi {
    pub store: DynamoStore,
    pub secrets: SecretsManager,
    pub psa: PsaConnector,
    pub settings: IntegrationSettings,
    /// `CONFIGURATION_SAFETY_CAP` (default 100): creations or deactivations a run may make
    /// without an explicit confirmation.
    pub safety_cap: usize,
}

impl ConfigurationsApi {
    pub fn types(&self) -> ConfigTypes<'_> {
        ConfigTypes {
            integrations: PsaIntegrations {
                store: &self.store,
                secrets: &self.secrets,
                psa: &self.psa,
                settings: &self.settings,
            },
        }
    }
}

impl ConfigurationsApi {
    pub fn udfs(&self) -> crate::configurations::udfs::ConfigUdfs<'_> {
        crate::configurations::udfs::ConfigUdfs {
            integrations: PsaIntegrations {
                store: &self.store,
                secrets: &self.secrets,
                psa: &self.psa,
                settings: &self.settings,
            },
        }
    }

    pub fn map(&self) -> ConfigMap<'_> {
        ConfigMap {
            integrations: PsaIntegrations {
                store: &self.store,
                secrets: &self.secrets,
                psa: &self.psa,
                settings: &self.settings,
            },
            safety_cap: self.safety_cap,
        }
    }
}

type St = State<Arc<ConfigurationsApi>>;

/// The audit trail, newest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditList {
    pub records: Vec<AuditRecord>,
}

fn psa_param(params: &Params) -> Result<String, ApiError> {
    params
        .non_empty("psaIntegrationId")
        .ok_or_else(|| ApiError::bad_request("`psaIntegrationId` is required"))
}

/// A body's `psaIntegrationId`, trimmed; required.
fn psa_field(raw: &str) -> Result<&str, ApiError> {
    match raw.trim() {
        "" => Err(ApiError::bad_request("`psaIntegrationId` is required")),
        psa => Ok(psa),
    }
}

/// Every configurations route, without state (for the OpenAPI document).
pub fn routes() -> OpenApiRouter<Arc<ConfigurationsApi>> {
    OpenApiRouter::new()
        .routes(routes!(configuration_options))
        .routes(routes!(configuration_types, put_configuration_type))
        .routes(routes!(configuration_map, map_devices))
        .routes(routes!(unmap_devices))
        .routes(routes!(configuration_audit))
        .routes(routes!(refresh_configurations))
        .routes(routes!(configuration_settings, patch_configuration_settings))
        .routes(routes!(map_now))
        .routes(routes!(configuration_udfs, put_configuration_udfs))
}

/// The router the configurations Lambda serves.
pub fn router(api: ConfigurationsApi) -> OpenApiRouter {
    routes().with_state(Arc::new(api))
}

/// The PSA's configuration types (ConnectWise: with their required questions), Autotask
/// products and ConnectWise statuses, read from the PSA for the user to pick from.
#[utoipa::path(get, path = "/integrations/{id}/configuration-options", tag = "configurations",
    params(("id" = String, Path, description = "a PSA integration")),
    responses((status = 200, body = ConfigurationOptions),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 502, description = "the PSA refused the credentials or answered badly", body = crate::api::Problem),
              (status = 503, description = "the PSA or storage unavailable", body = crate::api::Problem)))]
async fn configuration_options(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(reply(StatusCode::OK, &api.types().options(&caller.tenant, &id).await?))
}

/// Each Datto category/type the integration's sync counted with its configuration type
/// mapping for one PSA integration, a suggestion by name where unmapped, and the warning of a
/// type that cannot be used to create configurations.
#[utoipa::path(get, path = "/integrations/{id}/configuration-types", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration"),
           ("psaIntegrationId" = String, Query)),
    responses((status = 200, body = ConfigTypeTable),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 502, description = "the PSA refused the credentials or answered badly", body = crate::api::Problem),
              (status = 503, description = "the PSA or storage unavailable", body = crate::api::Problem)))]
async fn configuration_types(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let psa = psa_param(&params)?;
    Ok(reply(
        StatusCode::OK,
        &api.types().table(&caller.tenant, &id, &psa).await?,
    ))
}

/// Maps a Datto category/type to a PSA configuration type (Autotask: and a product), checked
/// against the PSA's lists; `typeId: null` unmaps. Applies to configurations created from now on.
#[utoipa::path(put, path = "/integrations/{id}/configuration-types", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration")),
    request_body = ConfigTypeInput,
    responses((status = 200, body = ConfigTypeRow),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, description = "no such integration, Datto type, PSA type or product", body = crate::api::Problem),
              (status = 422, description = "`product_required`, `product_inactive`, `configuration_type_inactive`", body = crate::api::Problem),
              (status = 502, description = "the PSA refused the credentials or answered badly", body = crate::api::Problem),
              (status = 503, description = "the PSA or storage unavailable", body = crate::api::Problem)))]
async fn put_configuration_type(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    let change = parse_change(&body)?;
    Ok(reply(
        StatusCode::OK,
        &api.types().put(&caller.tenant, &id, change).await?,
    ))
}

/// The synced devices of mapped sites with their configuration state: mapped, proposed (with
/// the rule that matched), proposed new, waiting for audit, warning. Filtered and paged.
#[utoipa::path(get, path = "/integrations/{id}/configuration-map", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration"),
           ("psaIntegrationId" = String, Query),
           ("state" = Option<String>, Query, description = "mapped, unmapped, proposed, proposedNew, waitingForAudit or warning"),
           ("siteUid" = Option<String>, Query),
           ("companyId" = Option<String>, Query, description = "a portal company"),
           ("rule" = Option<String>, Query, description = "existingLink, serial, name, manufacturer or model"),
           ("limit" = Option<u32>, Query, description = "1-500, default 100"),
           ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")),
    responses((status = 200, body = MapPage),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 502, description = "the PSA refused the credentials or answered badly", body = crate::api::Problem),
              (status = 503, description = "the PSA or storage unavailable", body = crate::api::Problem)))]
async fn configuration_map(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let psa = psa_param(&params)?;
    let filter = parse_filter(
        params.non_empty("state").as_deref(),
        params.non_empty("siteUid"),
        params.non_empty("companyId"),
        params.non_empty("rule").as_deref(),
    )?;
    let limit = page_limit(params.non_empty("limit"))?;
    let cursor = params.non_empty("cursor");
    Ok(reply(
        StatusCode::OK,
        &api.map()
            .table(&caller.tenant, &id, &psa, &filter, cursor.as_deref(), limit)
            .await?,
    ))
}

/// Maps the selected devices: to their proposal, to a configuration picked by hand (one
/// device), or to a new configuration. A link writes the device uid onto the configuration; a
/// create looks the device uid up first. Each write is in the audit trail.
#[utoipa::path(post, path = "/integrations/{id}/configuration-map", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration")),
    request_body = MapInput,
    responses((status = 200, body = MapReport),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 502, description = "the PSA refused the credentials or answered badly", body = crate::api::Problem),
              (status = 503, description = "the PSA or storage unavailable", body = crate::api::Problem)))]
async fn map_devices(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    let req = parse_map_request(&body, true)?;
    Ok(reply(StatusCode::OK, &api.map().map(&caller.tenant, &id, req).await?))
}

/// Unmaps the selected devices; their configurations stay active in the PSA.
#[utoipa::path(post, path = "/integrations/{id}/configuration-unmap", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration")),
    request_body = MapInput,
    responses((status = 200, body = MapReport),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn unmap_devices(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    let req = parse_map_request(&body, false)?;
    Ok(reply(StatusCode::OK, &api.map().unmap(&caller.tenant, &id, req).await?))
}

/// Every configuration write and unmap (device, configuration, action, rule, result, time),
/// newest first.
#[utoipa::path(get, path = "/integrations/{id}/configuration-audit", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration"),
           ("psaIntegrationId" = String, Query)),
    responses((status = 200, body = AuditList),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn configuration_audit(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let psa = psa_param(&params)?;
    let records = api.map().audit(&caller.tenant, &id, &psa).await?;
    Ok(reply(StatusCode::OK, &AuditList { records }))
}

/// The `POST …/configuration-refresh` body.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshInput {
    pub psa_integration_id: String,
    /// Plan only: the counts and the list, nothing written.
    #[serde(default)]
    pub preview: bool,
    /// Go ahead although the run deactivates more than the safety cap.
    #[serde(default)]
    pub confirm: bool,
}

/// Keeps the mapped configurations true: writes only the fields the devices changed (the
/// warranty only where the configuration has none), and sets the configurations of devices
/// deleted in Datto RMM inactive and unmaps them. Every write is audited. `preview` plans
/// without writing; more deactivations than the safety cap need `confirm`.
#[utoipa::path(post, path = "/integrations/{id}/configuration-refresh", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration")),
    request_body = RefreshInput,
    responses((status = 200, body = RefreshReport),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, description = "`confirmation_required`: more deactivations than the safety cap", body = crate::api::Problem),
              (status = 502, description = "the PSA refused the credentials or answered badly", body = crate::api::Problem),
              (status = 503, description = "the PSA or storage unavailable", body = crate::api::Problem)))]
async fn refresh_configurations(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<RefreshInput>,
) -> Result<Response, ApiError> {
    let psa = psa_field(&input.psa_integration_id)?;
    Ok(reply(
        StatusCode::OK,
        &api.map()
            .refresh(&caller.tenant, &id, psa, input.preview, input.confirm)
            .await?,
    ))
}

/// A PSA integration's configuration settings for a Datto RMM integration.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub psa_integration_id: String,
    /// Automatic mapping ("Map Now", when a site gets mapped to a company, and after a sync
    /// that saw new devices): off by default.
    pub automatic_mapping: bool,
    /// The last automatic mapping run that wrote or was held (counts, PSA requests, budget).
    pub last_run: Option<crate::configurations::settings::AutoRun>,
    /// The last run left writes for later: the sync worker's next run carries on.
    pub pending: bool,
}

impl SettingsView {
    fn of(psa: String, saved: Option<crate::configurations::settings::ConfigSettings>) -> Self {
        let saved = saved.unwrap_or(crate::configurations::settings::ConfigSettings {
            psa_integration_id: psa.clone(),
            automatic_mapping: false,
            updated_at: 0,
            last_run: None,
            auto_pending: false,
        });
        Self {
            psa_integration_id: psa,
            automatic_mapping: saved.automatic_mapping,
            last_run: saved.last_run,
            pending: saved.auto_pending,
        }
    }
}

/// The `PATCH …/configuration-settings` body.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsInput {
    pub psa_integration_id: String,
    pub automatic_mapping: Option<bool>,
}

/// The configuration settings of one PSA integration (automatic mapping off unless set).
#[utoipa::path(get, path = "/integrations/{id}/configuration-settings", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration"),
           ("psaIntegrationId" = String, Query)),
    responses((status = 200, body = SettingsView),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn configuration_settings(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let psa = psa_param(&params)?;
    crate::devices::ensure_integration(&api.store, &caller.tenant, &id).await?;
    api.map().integrations.get(&caller.tenant, &psa).await?;
    let saved = api.store.config_settings(&caller.tenant, &id, &psa).await?;
    Ok(reply(StatusCode::OK, &SettingsView::of(psa, saved)))
}

/// Changes the configuration settings of one PSA integration: `automaticMapping` on or off.
#[utoipa::path(patch, path = "/integrations/{id}/configuration-settings", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration")),
    request_body = SettingsInput,
    responses((status = 200, body = SettingsView),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn patch_configuration_settings(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<SettingsInput>,
) -> Result<Response, ApiError> {
    let psa = psa_field(&input.psa_integration_id)?.to_owned();
    crate::devices::ensure_integration(&api.store, &caller.tenant, &id).await?;
    api.map().integrations.get(&caller.tenant, &psa).await?;
    let current = api.store.config_settings(&caller.tenant, &id, &psa).await?;
    let on = input
        .automatic_mapping
        .unwrap_or(current.as_ref().is_some_and(|s| s.automatic_mapping));
    api.store
        .set_automatic_mapping(&caller.tenant, &id, &psa, on, crate::time::now_millis())
        .await?;
    let saved = api.store.config_settings(&caller.tenant, &id, &psa).await?;
    Ok(reply(StatusCode::OK, &SettingsView::of(psa, saved)))
}

/// The `POST …/configuration-map-now` body.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MapNowInput {
    pub psa_integration_id: String,
    /// Plan only: the counts and the list, nothing written (allowed with automatic mapping off).
    #[serde(default)]
    pub preview: bool,
    /// Go ahead although the run creates more configurations than the safety cap.
    #[serde(default)]
    pub confirm: bool,
}

/// "Map Now": automatic mapping of every device with a proposal (links by rule, creations of
/// proposed new configurations); `preview` answers the counts and the list without writing.
/// Writes need automatic mapping on; more creations than the safety cap need `confirm`.
#[utoipa::path(post, path = "/integrations/{id}/configuration-map-now", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration")),
    request_body = MapNowInput,
    responses((status = 200, body = crate::configurations::auto::AutoMapReport),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, description = "`automatic_mapping_off`, or `confirmation_required`: more creations than the safety cap", body = crate::api::Problem),
              (status = 502, description = "the PSA refused the credentials or answered badly", body = crate::api::Problem),
              (status = 503, description = "the PSA or storage unavailable", body = crate::api::Problem)))]
async fn map_now(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<MapNowInput>,
) -> Result<Response, ApiError> {
    let psa = psa_field(&input.psa_integration_id)?;
    Ok(reply(
        StatusCode::OK,
        &api.map()
            .auto_map(
                &caller.tenant,
                &id,
                psa,
                crate::configurations::auto::AutoRequest {
                    trigger: "mapNow",
                    sites: None,
                    preview: input.preview,
                    confirm: input.confirm,
                    confirmed_left: None,
                    deadline: None,
                },
            )
            .await?,
    ))
}

/// The UDF mapping of one PSA integration (Datto `udfN` → the PSA's configuration UDF: Autotask
/// by name, ConnectWise custom field by id) and the
/// PSA's configuration UDFs to pick from. Names only: no value is ever answered.
#[utoipa::path(get, path = "/integrations/{id}/configuration-udfs", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration"),
           ("psaIntegrationId" = String, Query)),
    responses((status = 200, body = crate::configurations::udfs::UdfMappingView),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 502, description = "the PSA refused the credentials or answered badly", body = crate::api::Problem),
              (status = 503, description = "the PSA or storage unavailable", body = crate::api::Problem)))]
async fn configuration_udfs(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let psa = psa_param(&params)?;
    Ok(reply(StatusCode::OK, &api.udfs().get(&caller.tenant, &id, &psa).await?))
}

/// Replaces the UDF mapping of one PSA integration, every target checked against the PSA's
/// configuration UDFs (each at most once). Values are sent on later writes, only when changed.
#[utoipa::path(put, path = "/integrations/{id}/configuration-udfs", tag = "configurations",
    params(("id" = String, Path, description = "a Datto RMM integration")),
    request_body = crate::configurations::udfs::UdfMappingInput,
    responses((status = 200, body = crate::configurations::udfs::UdfMappingView),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 422, description = "`unknown_psa_field`: each target the PSA does not have, or used twice, named", body = crate::api::Problem),
              (status = 502, description = "the PSA refused the credentials or answered badly", body = crate::api::Problem),
              (status = 503, description = "the PSA or storage unavailable", body = crate::api::Problem)))]
async fn put_configuration_udfs(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<crate::configurations::udfs::UdfMappingInput>,
) -> Result<Response, ApiError> {
    let psa = psa_field(&input.psa_integration_id)?;
    Ok(reply(
        StatusCode::OK,
        &api.udfs().put(&caller.tenant, &id, psa, &input.mapping).await?,
    ))
}
