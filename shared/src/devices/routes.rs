//! Device types, type mappings, staged devices, import and assets. The
//! routes, with their bodies and problems, are in the OpenAPI document
//! (`docs/openapi.json`).
//!
//! Three Lambdas serve them, each with only the IAM it needs:
//! `device-types` ([`device_types_router`]), `device-import`
//! ([`import_router`]) and `assets` ([`assets_router`]).

use crate::api::{ApiError, Caller, JsonBody, Params, done, reply};
use crate::devices::assets::{AssetPage, AssetView, Assets};
use crate::devices::import::parse_import_request;
use crate::devices::jobs::{ImportJobs, JobBudget, JobList, JobView, ResultPage};
use crate::devices::mappings::{TypeMappings, TypeRow, parse_mapping_input};
use crate::devices::staged::{StagedDevices, StagedFilter, StagedPage, StagedStatus};
use crate::devices::types::{DeviceTypes, NewDeviceType};
use crate::devices::{DevicesError, PortalDeviceType, page_limit};
use crate::store::DynamoStore;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the routes need, built once per process.
#[derive(Clone)]
pub struct DevicesApi {
    pub store: DynamoStore,
    /// How an import job's worker spends an invocation (the routes only queue jobs).
    pub jobs: JobBudget,
}

impl DevicesApi {
    fn jobs(&self) -> ImportJobs<'_> {
        ImportJobs {
            store: &self.store,
            budget: self.jobs,
        }
    }
}

type St = State<Arc<DevicesApi>>;

/// Portal device types and Datto type mappings, without state:
/// `GET`/`POST /device-types`, `DELETE /device-types/{id}`,
/// `GET`/`PUT /integrations/{id}/device-types`.
pub fn device_types_routes() -> OpenApiRouter<Arc<DevicesApi>> {
    OpenApiRouter::new()
        .routes(routes!(list_device_types, create_device_type))
        .routes(routes!(delete_device_type))
        .routes(routes!(type_mappings, put_type_mapping))
}

/// Staged devices and import jobs, without state:
/// `GET /integrations/{id}/staged-devices`, `POST /integrations/{id}/import`,
/// `GET /integrations/{id}/import-jobs[/{jobId}[/results]]`.
pub fn import_routes() -> OpenApiRouter<Arc<DevicesApi>> {
    OpenApiRouter::new()
        .routes(routes!(staged_devices))
        .routes(routes!(import_devices))
        .routes(routes!(import_jobs))
        .routes(routes!(import_job))
        .routes(routes!(import_job_results))
}

/// The portal's assets, without state: `GET /assets`, `GET /assets/{id}`,
/// `GET /companies/{id}/assets`.
pub fn assets_routes() -> OpenApiRouter<Arc<DevicesApi>> {
    OpenApiRouter::new()
        .routes(routes!(list_assets))
        .routes(routes!(get_asset))
        .routes(routes!(company_assets))
}

/// Every devices route without state: for the OpenAPI document.
pub fn routes() -> OpenApiRouter<Arc<DevicesApi>> {
    device_types_routes().merge(import_routes()).merge(assets_routes())
}

/// The router the device-types Lambda serves.
pub fn device_types_router(api: DevicesApi) -> OpenApiRouter {
    device_types_routes().with_state(Arc::new(api))
}

/// The router the device-import Lambda serves.
pub fn import_router(api: DevicesApi) -> OpenApiRouter {
    import_routes().with_state(Arc::new(api))
}

/// The router the assets Lambda serves.
pub fn assets_router(api: DevicesApi) -> OpenApiRouter {
    assets_routes().with_state(Arc::new(api))
}

/// Every devices route (the local server, the tests).
pub fn router(api: DevicesApi) -> OpenApiRouter {
    routes().with_state(Arc::new(api))
}

/// The tenant's portal device types.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceTypeList {
    /// The eight defaults, then the custom ones by name.
    pub device_types: Vec<PortalDeviceType>,
}

/// An integration's Datto types with their mappings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypeMappingTable {
    pub device_types: Vec<TypeRow>,
}

/// The body of `PUT /integrations/{id}/device-types`. (Its schema only:
/// the handler reads the JSON itself, to name every problem at once.)
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypeMappingInput {
    /// Datto device category, 1-200 characters.
    pub category: String,
    /// Datto device type, 1-200 characters.
    pub device_type: String,
    /// A portal device type id; `null` unmaps.
    #[schema(required = true)]
    pub maps_to: Option<String>,
    /// Import this type's devices on every sync (needs `mapsTo`); default false.
    pub auto_sync: Option<bool>,
}

/// The body of `POST /integrations/{id}/import`: either `deviceUids`, or
/// `category` and `deviceType` (every staged device of that Datto type).
/// (Its schema only: the handler reads the JSON itself, to name every
/// problem at once.)
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportInput {
    /// Devices to import, by uid (at most 1,000).
    pub device_uids: Option<Vec<String>>,
    /// With `deviceType`: a Datto device category.
    pub category: Option<String>,
    /// With `category`: a Datto device type.
    pub device_type: Option<String>,
}

/// The tenant's portal device types: the 8 defaults, then custom ones.
#[utoipa::path(get, path = "/device-types", tag = "devices",
    responses((status = 200, body = DeviceTypeList),
              (status = 401, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn list_device_types(State(api): St, caller: Caller) -> Result<Response, ApiError> {
    let device_types = DeviceTypes { store: &api.store }.list(&caller.tenant).await?;
    Ok(reply(StatusCode::OK, &DeviceTypeList { device_types }))
}

/// Adds a custom device type.
#[utoipa::path(post, path = "/device-types", tag = "devices",
    request_body = NewDeviceType,
    responses((status = 201, body = PortalDeviceType),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 409, description = "`device_type_exists`: the name is taken (regardless of case)", body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn create_device_type(
    State(api): St,
    caller: Caller,
    JsonBody(input): JsonBody<NewDeviceType>,
) -> Result<Response, ApiError> {
    Ok(reply(
        StatusCode::CREATED,
        &DeviceTypes { store: &api.store }.create(&caller.tenant, input).await?,
    ))
}

/// Deletes a custom device type no mapping uses.
#[utoipa::path(delete, path = "/device-types/{id}", tag = "devices", params(("id" = String, Path)),
    responses((status = 204),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, description = "`device_type_builtin` (a default) or `device_type_in_use` (mapped from a Datto type)", body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn delete_device_type(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    DeviceTypes { store: &api.store }.delete(&caller.tenant, &id).await?;
    Ok(done())
}

/// Each Datto category/type the integration's sync counted: device count,
/// the portal type it maps to, auto-sync.
#[utoipa::path(get, path = "/integrations/{id}/device-types", tag = "devices", params(("id" = String, Path)),
    responses((status = 200, body = TypeMappingTable),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn type_mappings(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let device_types = TypeMappings { store: &api.store }.table(&caller.tenant, &id).await?;
    Ok(reply(StatusCode::OK, &TypeMappingTable { device_types }))
}

/// Maps (or unmaps) a Datto category/type to a portal device type and sets auto-sync.
#[utoipa::path(put, path = "/integrations/{id}/device-types", tag = "devices", params(("id" = String, Path)),
    request_body = TypeMappingInput,
    responses((status = 200, body = TypeRow),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, description = "no such integration, portal type, or Datto type seen by sync", body = crate::api::Problem),
              (status = 422, description = "`auto_sync_requires_mapping`", body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn put_type_mapping(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    let input = parse_mapping_input(&body)?;
    Ok(reply(
        StatusCode::OK,
        &TypeMappings { store: &api.store }
            .put(&caller.tenant, &id, input)
            .await?,
    ))
}

/// The devices of mapped sites with their import status; filtered and paged.
#[utoipa::path(get, path = "/integrations/{id}/staged-devices", tag = "devices",
    params(("id" = String, Path),
           ("status" = Option<String>, Query, description = "staged, imported, failed or removed"),
           ("siteUid" = Option<String>, Query),
           ("companyId" = Option<String>, Query),
           ("category" = Option<String>, Query),
           ("deviceType" = Option<String>, Query),
           ("search" = Option<String>, Query, description = "part of the hostname, any case"),
           ("limit" = Option<u32>, Query, description = "1-500, default 100"),
           ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")),
    responses((status = 200, body = StagedPage),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn staged_devices(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let filter = StagedFilter {
        status: params
            .non_empty("status")
            .as_deref()
            .map(StagedStatus::parse)
            .transpose()?,
        site_uid: params.non_empty("siteUid"),
        company_id: params.non_empty("companyId"),
        category: params.non_empty("category"),
        device_type: params.non_empty("deviceType"),
        search: params.non_empty("search"),
    };
    let limit = page_limit(params.get("limit").as_deref())?;
    let cursor = params.non_empty("cursor");
    let page = StagedDevices { store: &api.store }
        .list(&caller.tenant, &id, &filter, cursor.as_deref(), limit)
        .await?;
    Ok(reply(StatusCode::OK, &page))
}

/// Queues an import of devices into portal assets and answers at once
/// (`202`) with the job; the device-import worker runs it. Follow it at
/// `GET /integrations/{id}/import-jobs/{jobId}` and list its per-device
/// results at `.../results`.
#[utoipa::path(post, path = "/integrations/{id}/import", tag = "devices", params(("id" = String, Path)),
    request_body = ImportInput,
    responses((status = 202, body = JobView),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, description = "`integration_disabled`: the integration is switched off; `import_in_progress`: another import job of this integration is not finished", body = crate::api::Problem),
              (status = 422, description = "`type_not_mapped`: the Datto type maps to no portal type", body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn import_devices(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    let request = parse_import_request(&body)?;
    let job = api.jobs().start(&caller.tenant, &id, request).await?;
    Ok(reply(StatusCode::ACCEPTED, &JobView::from(&job)))
}

/// The integration's import jobs, newest first.
#[utoipa::path(get, path = "/integrations/{id}/import-jobs", tag = "devices",
    params(("id" = String, Path),
           ("limit" = Option<usize>, Query, description = "1-500, default 100"),
           ("cursor" = Option<String>, Query, description = "`nextCursor` of the page before")),
    responses((status = 200, body = JobList),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn import_jobs(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let limit = page_limit(params.get("limit").as_deref())?;
    let cursor = params.non_empty("cursor");
    let list = api.jobs().list(&caller.tenant, &id, cursor.as_deref(), limit).await?;
    Ok(reply(StatusCode::OK, &list))
}

/// One import job: status, counts, progress (percent) and errors.
#[utoipa::path(get, path = "/integrations/{id}/import-jobs/{jobId}", tag = "devices",
    params(("id" = String, Path), ("jobId" = String, Path)),
    responses((status = 200, body = JobView),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn import_job(
    State(api): St,
    caller: Caller,
    Path((id, job_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let job = api.jobs().get(&caller.tenant, &id, &job_id).await?;
    Ok(reply(StatusCode::OK, &JobView::from(&job)))
}

/// A job's per-device results so far, in the order it decided them, a page at a time.
#[utoipa::path(get, path = "/integrations/{id}/import-jobs/{jobId}/results", tag = "devices",
    params(("id" = String, Path), ("jobId" = String, Path),
           ("status" = Option<String>, Query, description = "`failed`: only the failures"),
           ("limit" = Option<usize>, Query, description = "1-500, default 100"),
           ("cursor" = Option<String>, Query, description = "`nextCursor` of the page before")),
    responses((status = 200, body = ResultPage),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn import_job_results(
    State(api): St,
    caller: Caller,
    Path((id, job_id)): Path<(String, String)>,
    params: Params,
) -> Result<Response, ApiError> {
    let limit = page_limit(params.get("limit").as_deref())?;
    let failed_only = match params.non_empty("status").as_deref() {
        None => false,
        Some("failed") => true,
        Some(_) => return Err(ApiError::bad_request("`status` must be `failed` (or left out)")),
    };
    let cursor = params.non_empty("cursor");
    let page = api
        .jobs()
        .results(&caller.tenant, &id, &job_id, failed_only, cursor.as_deref(), limit)
        .await?;
    Ok(reply(StatusCode::OK, &page))
}

async fn asset_page(
    api: &DevicesApi,
    caller: &Caller,
    company: Option<&str>,
    params: &Params,
) -> Result<Response, ApiError> {
    let limit = page_limit(params.get("limit").as_deref())?;
    let cursor = params.non_empty("cursor");
    let page = Assets { store: &api.store }
        .list(&caller.tenant, company, cursor.as_deref(), limit)
        .await?;
    Ok(reply(StatusCode::OK, &page))
}

/// A page of the tenant's assets.
#[utoipa::path(get, path = "/assets", tag = "assets",
    params(("limit" = Option<u32>, Query, description = "1-500, default 100"),
           ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")),
    responses((status = 200, body = AssetPage),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn list_assets(State(api): St, caller: Caller, params: Params) -> Result<Response, ApiError> {
    asset_page(&api, &caller, None, &params).await
}

/// One asset.
#[utoipa::path(get, path = "/assets/{id}", tag = "assets", params(("id" = String, Path)),
    responses((status = 200, body = AssetView),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn get_asset(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(reply(
        StatusCode::OK,
        &Assets { store: &api.store }.get(&caller.tenant, &id).await?,
    ))
}

/// A page of one company's assets.
#[utoipa::path(get, path = "/companies/{id}/assets", tag = "assets",
    params(("id" = String, Path, description = "the portal company"),
           ("limit" = Option<u32>, Query, description = "1-500, default 100"),
           ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")),
    responses((status = 200, body = AssetPage),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn company_assets(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    asset_page(&api, &caller, Some(&id), &params).await
}

impl From<DevicesError> for ApiError {
    fn from(e: DevicesError) -> Self {
        match e {
            DevicesError::Invalid(m) => ApiError::bad_request(m),
            DevicesError::NotFound(m) => ApiError::not_found(m),
            DevicesError::Rule { code, message } => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            DevicesError::Conflict { code, message } => ApiError::new(StatusCode::CONFLICT, code, message),
            DevicesError::Store(e) => e.into(),
        }
    }
}
