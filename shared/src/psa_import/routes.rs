//! The PSA import routes (function `psa-import`): preview, apply, runs,
//! overrides and settings of an import, and the portal records it fills
//! (`/contacts`, `/locations`, `/configurations`, `/users`). The routes,
//! with their bodies and problems, are in the OpenAPI document
//! (`docs/openapi.json`).

use crate::api::{ApiError, Caller, JsonBody, Params, reply};
use crate::connections::IntegrationSettings;
use crate::connections::{AutoCreate, ImportKinds, PsaIntegrations};
use crate::psa::{PsaConnector, RecordKind};
use crate::psa_import::plan::Override;
use crate::psa_import::{ImportError, ImportRun, OverrideInput, PreviewFilter, PsaImporter, RunStatus};
use crate::secrets::SecretsManager;
use crate::store::DynamoStore;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the routes (and the import worker) need, built once per process.
#[derive(Clone)]
pub struct PsaImportApi {
    pub store: DynamoStore,
    pub secrets: SecretsManager,
    pub psa: PsaConnector,
    pub settings: IntegrationSettings,
}

impl PsaImportApi {
    pub fn importer(&self) -> PsaImporter<'_> {
        PsaImporter {
            store: &self.store,
            secrets: &self.secrets,
            psa: &self.psa,
            settings: &self.settings,
        }
    }

    fn integrations(&self) -> PsaIntegrations<'_> {
        PsaIntegrations {
            store: &self.store,
            secrets: &self.secrets,
            psa: &self.psa,
            settings: &self.settings,
        }
    }
}

type St = State<Arc<PsaImportApi>>;

/// The routes without their state: for the OpenAPI document.
pub fn routes() -> OpenApiRouter<Arc<PsaImportApi>> {
    OpenApiRouter::new()
        .routes(routes!(preview))
        .routes(routes!(apply))
        .routes(routes!(create_unmatched))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(get_overrides, put_overrides))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(list_contacts))
        .routes(routes!(list_locations))
        .routes(routes!(list_configurations))
        .routes(routes!(list_users))
}

/// The router the psa-import Lambda serves.
pub fn router(api: PsaImportApi) -> OpenApiRouter {
    routes().with_state(Arc::new(api))
}

/// One override, as it is sent and as it is shown.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
struct OverrideDoc {
    /// `company`, `contact`, `location`, `configuration` or `user`.
    kind: String,
    psa_id: String,
    /// `match`, `create`, `exclude` or `undecided` (left waiting: neither
    /// created nor excluded); sent, also `auto`: back to the rules.
    action: String,
    /// The portal record to match (`match` only).
    target_id: Option<String>,
}

/// What the nightly run may create on its own.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct AutoCreateDoc {
    #[schema(default = false)]
    companies: Option<bool>,
    #[schema(default = false)]
    users: Option<bool>,
    #[schema(default = false)]
    configurations: Option<bool>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OverridesBody {
    #[schema(value_type = Vec<OverrideDoc>)]
    overrides: Vec<OverrideInput>,
}

/// An integration's overrides, after the change for a `PUT`.
#[derive(Serialize, utoipa::ToSchema)]
struct OverridesView {
    #[schema(value_type = Vec<OverrideDoc>)]
    overrides: Vec<Override>,
}

/// Which kinds the import brings in at all (each defaults to on).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ImportKindsDoc {
    #[schema(default = true)]
    companies: Option<bool>,
    #[schema(default = true)]
    contacts: Option<bool>,
    #[schema(default = true)]
    locations: Option<bool>,
    #[schema(default = true)]
    configurations: Option<bool>,
    #[schema(default = true)]
    users: Option<bool>,
}

/// An import's settings: what the nightly run creates on its own, and which
/// kinds are imported at all.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsBody {
    #[schema(value_type = AutoCreateDoc)]
    auto_create: AutoCreate,
    #[schema(value_type = ImportKindsDoc)]
    kinds: ImportKinds,
}

/// A change of settings: either or both parts; what is absent stays.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(min_properties = 1)]
struct SettingsChange {
    #[schema(value_type = Option<AutoCreateDoc>)]
    auto_create: Option<AutoCreate>,
    #[schema(value_type = Option<ImportKindsDoc>)]
    kinds: Option<ImportKinds>,
}

/// A run just queued.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ImportRunStarted {
    run_id: String,
    /// `queued`.
    #[schema(value_type = String)]
    status: RunStatus,
}

/// A page of runs, newest first.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct RunList {
    /// Each as `GET /integrations/{id}/psa-import/runs/{runId}` shows it.
    #[schema(value_type = Vec<Object>)]
    runs: Vec<ImportRun>,
    /// Pass as `cursor` for the next page; null on the last one.
    next_cursor: Option<String>,
}

fn number(params: &Params, name: &str, default: usize) -> Result<usize, ApiError> {
    match params.get(name).as_deref() {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::bad_request(format!("`{name}` must be a whole number"))),
    }
}

fn kind_param(params: &Params) -> Result<Option<RecordKind>, ApiError> {
    match params.get("kind").as_deref() {
        None | Some("") => Ok(None),
        Some(k) => serde_json::from_value(serde_json::Value::String(k.to_owned()))
            .map(Some)
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "unknown kind `{k}` (company, contact, location, configuration or user)"
                ))
            }),
    }
}

/// Every PSA record with match / create / exclude and the counts per kind; writes nothing.
#[utoipa::path(post, path = "/integrations/{id}/psa-import/preview", tag = "psa-import",
    params(("id" = String, Path),
           ("kind" = Option<String>, Query, description = "company, contact, location, configuration or user"),
           ("action" = Option<String>, Query, description = "match, create, exclude or pending"),
           ("offset" = Option<usize>, Query, description = "default 0"),
           ("limit" = Option<usize>, Query, description = "default 1000")),
    responses((status = 200, body = serde_json::Value,
               description = "`{counts: {kind: {total, matched, created, updated, excluded, pending}}, records: [{record, portalCompanyId?, action, ...}], nextOffset}`"),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 422, body = crate::api::Problem, description = "the PSA refused the credentials or settings"),
              (status = 502, body = crate::api::Problem, description = "the PSA failed"),
              (status = 503, body = crate::api::Problem)))]
async fn preview(State(api): St, caller: Caller, Path(id): Path<String>, params: Params) -> Result<Response, ApiError> {
    let action = params.get("action").filter(|a| !a.is_empty());
    if let Some(a) = &action
        && !matches!(a.as_str(), "match" | "create" | "exclude" | "pending")
    {
        return Err(ApiError::bad_request(format!(
            "unknown action `{a}` (match, create, exclude or pending)"
        )));
    }
    let filter = PreviewFilter {
        kind: kind_param(&params)?,
        action,
        offset: number(&params, "offset", 0)?,
        limit: number(&params, "limit", 1_000)?,
    };
    Ok(reply(
        StatusCode::OK,
        &api.importer().preview(&caller.tenant, &id, &filter).await?,
    ))
}

/// Queues an import run; 409 while one runs.
#[utoipa::path(post, path = "/integrations/{id}/psa-import/apply", tag = "psa-import", params(("id" = String, Path)),
    responses((status = 202, body = ImportRunStarted),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem, description = "`import_in_progress`, `integration_disabled`, or `conflict`"),
              (status = 422, body = crate::api::Problem),
              (status = 502, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn apply(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let run = api
        .importer()
        .start(&caller.tenant, &id, crate::runs::Trigger::Manual)
        .await?;
    Ok(reply(
        StatusCode::ACCEPTED,
        &ImportRunStarted {
            run_id: run.run_id,
            status: run.status,
        },
    ))
}

/// The body of "create unmatched".
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateUnmatchedBody {
    /// `company`, `contact`, `location`, `configuration` or `user`.
    #[schema(value_type = String)]
    kind: RecordKind,
}

/// Queues a run that creates every waiting record of one kind (left undecided,
/// or waiting because auto-create is off); otherwise it runs as the nightly
/// run. 409 while a run runs; 400 for a kind that is switched off.
#[utoipa::path(post, path = "/integrations/{id}/psa-import/create-unmatched", tag = "psa-import", params(("id" = String, Path)),
    request_body = CreateUnmatchedBody,
    responses((status = 202, body = ImportRunStarted),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem, description = "`import_in_progress`, `integration_disabled`, or `conflict`"),
              (status = 503, body = crate::api::Problem)))]
async fn create_unmatched(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CreateUnmatchedBody>,
) -> Result<Response, ApiError> {
    let run = api.importer().create_unmatched(&caller.tenant, &id, body.kind).await?;
    Ok(reply(
        StatusCode::ACCEPTED,
        &ImportRunStarted {
            run_id: run.run_id,
            status: run.status,
        },
    ))
}

/// The integration's import runs, newest first, a page at a time.
#[utoipa::path(get, path = "/integrations/{id}/psa-import/runs", tag = "psa-import",
    params(("id" = String, Path),
           ("limit" = Option<u32>, Query, description = "1-100, default 20"),
           ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")),
    responses((status = 200, body = RunList),
              (status = 400, body = crate::api::Problem, description = "a bad `limit` or `cursor`"),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn list_runs(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let limit = crate::sync::routes::run_limit(params.get("limit").as_deref())?;
    let after = crate::sync::routes::run_cursor(params.non_empty("cursor"))?;
    let (runs, next_cursor) = api
        .importer()
        .runs(&caller.tenant, &id, after.as_deref(), limit)
        .await?;
    Ok(reply(StatusCode::OK, &RunList { runs, next_cursor }))
}

/// One run: status, counts per kind, writes, errors.
#[utoipa::path(get, path = "/integrations/{id}/psa-import/runs/{runId}", tag = "psa-import",
    params(("id" = String, Path), ("runId" = String, Path)),
    responses((status = 200, body = serde_json::Value,
               description = "`{runId, integrationId, trigger, status, currentKind, counts: {kind: {...}}, writes, errors: [{code, message, kind?}], createdAt, startedAt, finishedAt}` (times in epoch milliseconds)"),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn get_run(
    State(api): St,
    caller: Caller,
    Path((id, run_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(reply(
        StatusCode::OK,
        &api.importer().get_run(&caller.tenant, &id, &run_id).await?,
    ))
}

/// The integration's overrides.
#[utoipa::path(get, path = "/integrations/{id}/psa-import/overrides", tag = "psa-import", params(("id" = String, Path)),
    responses((status = 200, body = OverridesView),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn get_overrides(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let overrides = api.importer().overrides(&caller.tenant, &id).await?;
    Ok(reply(StatusCode::OK, &OverridesView { overrides }))
}

/// Sets overrides; `auto` brings a record back to the rules. Answers with all of them.
#[utoipa::path(put, path = "/integrations/{id}/psa-import/overrides", tag = "psa-import", params(("id" = String, Path)),
    request_body = OverridesBody,
    responses((status = 200, body = OverridesView),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn put_overrides(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<OverridesBody>,
) -> Result<Response, ApiError> {
    let overrides = api
        .importer()
        .set_overrides(&caller.tenant, &id, body.overrides)
        .await?;
    Ok(reply(StatusCode::OK, &OverridesView { overrides }))
}

/// What the nightly run creates on its own.
#[utoipa::path(get, path = "/integrations/{id}/psa-import/settings", tag = "psa-import", params(("id" = String, Path)),
    responses((status = 200, body = SettingsBody),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn get_settings(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let integration = api
        .integrations()
        .get(&caller.tenant, &id)
        .await
        .map_err(ImportError::from)?;
    Ok(reply(
        StatusCode::OK,
        &SettingsBody {
            auto_create: integration.auto_create,
            kinds: integration.import_kinds,
        },
    ))
}

/// Sets what the nightly run creates on its own and which kinds are imported.
/// Auto-create is only for kinds that are on (400 otherwise); switching a kind
/// off switches its auto-create off.
#[utoipa::path(put, path = "/integrations/{id}/psa-import/settings", tag = "psa-import", params(("id" = String, Path)),
    request_body = SettingsChange,
    responses((status = 200, body = SettingsBody),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn put_settings(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SettingsChange>,
) -> Result<Response, ApiError> {
    let integration = api
        .importer()
        .set_settings(&caller.tenant, &id, body.auto_create, body.kinds)
        .await?;
    Ok(reply(
        StatusCode::OK,
        &SettingsBody {
            auto_create: integration.auto_create,
            kinds: integration.import_kinds,
        },
    ))
}

/// The portal's contacts, by name.
#[utoipa::path(get, path = "/contacts", tag = "psa-import",
    params(("companyId" = Option<String>, Query), ("offset" = Option<usize>, Query, description = "default 0"),
           ("limit" = Option<usize>, Query, description = "1-1000, default 100")),
    responses((status = 200, body = serde_json::Value, description = "`{contacts: [record], nextOffset: number|null}`"),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn list_contacts(State(api): St, caller: Caller, params: Params) -> Result<Response, ApiError> {
    directory(&api, &caller, &params, RecordKind::Contact, "contacts").await
}

/// The portal's locations, by name.
#[utoipa::path(get, path = "/locations", tag = "psa-import",
    params(("companyId" = Option<String>, Query), ("offset" = Option<usize>, Query, description = "default 0"),
           ("limit" = Option<usize>, Query, description = "1-1000, default 100")),
    responses((status = 200, body = serde_json::Value, description = "`{locations: [record], nextOffset: number|null}`"),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn list_locations(State(api): St, caller: Caller, params: Params) -> Result<Response, ApiError> {
    directory(&api, &caller, &params, RecordKind::Location, "locations").await
}

/// The portal's configurations, by name.
#[utoipa::path(get, path = "/configurations", tag = "psa-import",
    params(("companyId" = Option<String>, Query), ("offset" = Option<usize>, Query, description = "default 0"),
           ("limit" = Option<usize>, Query, description = "1-1000, default 100")),
    responses((status = 200, body = serde_json::Value, description = "`{configurations: [record], nextOffset: number|null}`"),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn list_configurations(State(api): St, caller: Caller, params: Params) -> Result<Response, ApiError> {
    directory(&api, &caller, &params, RecordKind::Configuration, "configurations").await
}

/// The portal's users, by name.
#[utoipa::path(get, path = "/users", tag = "psa-import",
    params(("companyId" = Option<String>, Query), ("offset" = Option<usize>, Query, description = "default 0"),
           ("limit" = Option<usize>, Query, description = "1-1000, default 100")),
    responses((status = 200, body = serde_json::Value, description = "`{users: [record], nextOffset: number|null}`"),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 409, body = crate::api::Problem),
              (status = 503, body = crate::api::Problem)))]
async fn list_users(State(api): St, caller: Caller, params: Params) -> Result<Response, ApiError> {
    directory(&api, &caller, &params, RecordKind::User, "users").await
}

/// A page of portal records, by name; the whole kind is read (fine at
/// tens of thousands; a per-company index would be next).
async fn directory(
    api: &PsaImportApi,
    caller: &Caller,
    params: &Params,
    kind: RecordKind,
    collection: &str,
) -> Result<Response, ApiError> {
    let company = params.get("companyId").filter(|c| !c.is_empty());
    let offset = number(params, "offset", 0)?;
    let limit = number(params, "limit", 100)?.clamp(1, 1_000);
    let mut all = api
        .store
        .directory(&caller.tenant, kind)
        .await
        .map_err(ImportError::from)?;
    all.retain(|r| company.as_ref().is_none_or(|c| r.company_id.as_ref() == Some(c)));
    all.sort_by(|a, b| a.normalized_name.cmp(&b.normalized_name).then_with(|| a.id.cmp(&b.id)));
    let end = offset.saturating_add(limit);
    let next = (all.len() > end).then_some(end);
    let page: Vec<_> = all.into_iter().skip(offset).take(limit).collect();
    Ok(reply(
        StatusCode::OK,
        &serde_json::json!({ collection: page, "nextOffset": next }),
    ))
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Integration(i) => i.into(),
            ImportError::InProgress(run) => ApiError::new(
                StatusCode::CONFLICT,
                "import_in_progress",
                format!("an import is running already (run {run}); wait for it to finish"),
            ),
            ImportError::Disabled(id) => ApiError::new(
                StatusCode::CONFLICT,
                "integration_disabled",
                format!("integration {id} is disabled; enable it first (POST /integrations/{id}/enable)"),
            ),
            ImportError::RunNotFound(id) => ApiError::not_found(format!("no import run {id}")),
            ImportError::Invalid(m) => ApiError::bad_request(m),
            ImportError::Store(s) => crate::connections::IntegrationError::Store(s).into(),
        }
    }
}
