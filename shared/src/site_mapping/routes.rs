//! The site mapping table and quick match. The routes, with their bodies
//! and problems, are in the OpenAPI document (`docs/openapi.json`).
//!
//! Two Lambdas serve them: `site-mappings` the table ([`mapping_router`])
//! and `quick-match` ([`quick_match_router`]), which loads every site and
//! company of a tenant at once and needs more memory and time.

use crate::api::{ApiError, Caller, JsonBody, Params, done, reply};
use crate::site_mapping::hooks::{SitesMappedHooks, run_sites_mapped};
use crate::site_mapping::{MappingError, QuickMatchReport, SiteFilter, SiteMappings, SiteRow};
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
pub struct SitesApi {
    pub store: DynamoStore,
    /// Run once sites are mapped (by hand or by quick match), before the answer.
    pub on_mapped: SitesMappedHooks,
}

type St = State<Arc<SitesApi>>;

/// The mapping table's routes without their state: `GET /integrations/{id}/sites`,
/// `PUT`/`DELETE /integrations/{id}/sites/{siteUid}/mapping`.
pub fn mapping_routes() -> OpenApiRouter<Arc<SitesApi>> {
    OpenApiRouter::new()
        .routes(routes!(list_sites))
        .routes(routes!(map_site, unmap_site))
}

/// Quick match's route without its state: `POST /integrations/{id}/quick-match`.
pub fn quick_match_routes() -> OpenApiRouter<Arc<SitesApi>> {
    OpenApiRouter::new().routes(routes!(quick_match))
}

/// Every site mapping route without state: for the OpenAPI document.
pub fn routes() -> OpenApiRouter<Arc<SitesApi>> {
    mapping_routes().merge(quick_match_routes())
}

/// The router the site-mappings Lambda serves.
pub fn mapping_router(api: SitesApi) -> OpenApiRouter {
    mapping_routes().with_state(Arc::new(api))
}

/// The router the quick-match Lambda serves.
pub fn quick_match_router(api: SitesApi) -> OpenApiRouter {
    quick_match_routes().with_state(Arc::new(api))
}

/// Every site mapping route (the local server, the tests).
pub fn router(api: SitesApi) -> OpenApiRouter {
    routes().with_state(Arc::new(api))
}

fn service(api: &SitesApi) -> SiteMappings<'_> {
    SiteMappings { store: &api.store }
}

/// The body of `PUT .../mapping`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SiteMappingInput {
    /// The portal company to map the site to.
    pub company_id: String,
}

/// The mapping table.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SiteTable {
    /// How many rows `sites` has.
    pub count: usize,
    pub sites: Vec<SiteRow>,
}

/// Each site of an integration with its company, confidence and how it was mapped.
#[utoipa::path(get, path = "/integrations/{id}/sites", tag = "site-mapping",
    params(("id" = String, Path, description = "the Datto RMM integration"),
           ("mapped" = Option<bool>, Query, description = "`true`: mapped sites only; `false`: unmapped only"),
           ("search" = Option<String>, Query, description = "part of the site name"),
           ("includePseudo" = Option<bool>, Query, description = "include Datto's pseudo sites (default false)")),
    responses((status = 200, body = SiteTable),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn list_sites(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let filter = SiteFilter {
        mapped: params.flag("mapped")?,
        search: params.get("search"),
        include_pseudo: params.flag("includePseudo")?.unwrap_or(false),
    };
    let sites = service(&api).table(&caller.tenant, &id, &filter).await?;
    Ok(reply(
        StatusCode::OK,
        &SiteTable {
            count: sites.len(),
            sites,
        },
    ))
}

/// Maps a site to a company by hand.
#[utoipa::path(put, path = "/integrations/{id}/sites/{siteUid}/mapping", tag = "site-mapping",
    params(("id" = String, Path), ("siteUid" = String, Path)),
    request_body = SiteMappingInput,
    responses((status = 200, body = SiteRow),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, description = "no such integration or site", body = crate::api::Problem),
              (status = 422, description = "no such company, or a site that cannot be mapped", body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn map_site(
    State(api): St,
    caller: Caller,
    Path((id, site)): Path<(String, String)>,
    JsonBody(input): JsonBody<SiteMappingInput>,
) -> Result<Response, ApiError> {
    let row = service(&api)
        .map_manually(&caller.tenant, &id, &site, &input.company_id)
        .await?;
    run_sites_mapped(&api.on_mapped, &caller.tenant, &id, std::slice::from_ref(&row.site_uid)).await;
    Ok(reply(StatusCode::OK, &row))
}

/// Unmaps a site by hand: quick match then leaves it alone.
#[utoipa::path(delete, path = "/integrations/{id}/sites/{siteUid}/mapping", tag = "site-mapping",
    params(("id" = String, Path), ("siteUid" = String, Path)),
    responses((status = 204),
              (status = 401, body = crate::api::Problem),
              (status = 404, description = "no such integration or site", body = crate::api::Problem),
              (status = 422, description = "a site that cannot be mapped", body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn unmap_site(
    State(api): St,
    caller: Caller,
    Path((id, site)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    service(&api).unmap(&caller.tenant, &id, &site).await?;
    Ok(done())
}

/// Maps every unmapped site it is sure of (confidence >= 70); answers what
/// it mapped, what it only suggests and where it found no candidate.
#[utoipa::path(post, path = "/integrations/{id}/quick-match", tag = "site-mapping",
    params(("id" = String, Path)),
    responses((status = 200, body = QuickMatchReport),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn quick_match(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let report = service(&api).quick_match(&caller.tenant, &id).await?;
    let mapped: Vec<String> = report.mapped.iter().map(|r| r.site_uid.clone()).collect();
    run_sites_mapped(&api.on_mapped, &caller.tenant, &id, &mapped).await;
    Ok(reply(StatusCode::OK, &report))
}

impl From<MappingError> for ApiError {
    fn from(e: MappingError) -> Self {
        match e {
            MappingError::Invalid(m) => ApiError::bad_request(m),
            MappingError::NotFound(m) => ApiError::not_found(m),
            MappingError::Unprocessable(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", m),
            MappingError::Store(e) => e.into(),
        }
    }
}
