//! The company-side mapping routes (function `company-mappings`): the company-centric table,
//! bulk mapping and "create new site". The routes, with their bodies and problems, are in the
//! OpenAPI document (`docs/openapi.json`). Unlike the site-side table, "create new site" calls
//! Datto RMM, so this state holds Secrets Manager and the Datto connector.

use super::company_side::BulkOutcome;
use super::company_side::{
    BulkMappingInput, BulkMappingResult, CompanyFilter, CompanyMappingPage, CompanySide, CompanySideError,
    CompanyStatus, SiteCreatedForCompany,
};
use super::hooks::{SitesMappedHooks, run_sites_mapped};
use crate::api::{ApiError, Caller, JsonBody, Params, reply};
use crate::datto::DattoConnector;
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
pub struct CompanyMappingApi {
    pub store: DynamoStore,
    pub secrets: SecretsManager,
    pub datto: DattoConnector,
    /// Run once sites are mapped (bulk mapping, a site created for a company), before the answer.
    pub on_mapped: SitesMappedHooks,
}

type St = State<Arc<CompanyMappingApi>>;

/// The routes without their state: `GET`/`POST /integrations/{id}/company-mappings`,
/// `POST /integrations/{id}/company-mappings/{companyId}/site`.
pub fn routes() -> OpenApiRouter<Arc<CompanyMappingApi>> {
    OpenApiRouter::new()
        .routes(routes!(list_companies, map_rows))
        .routes(routes!(create_site))
}

/// The router the company-mappings Lambda serves.
pub fn router(api: CompanyMappingApi) -> OpenApiRouter {
    routes().with_state(Arc::new(api))
}

fn service(api: &CompanyMappingApi) -> CompanySide<'_> {
    CompanySide {
        store: &api.store,
        secrets: &api.secrets,
        datto: &api.datto,
    }
}

/// Each portal company with its PSA kind, type and status, the integration's sites mapped to
/// it, and for a company without a site the best sites quick match would give it.
#[utoipa::path(get, path = "/integrations/{id}/company-mappings", tag = "site-mapping",
    params(("id" = String, Path, description = "the Datto RMM integration"),
           ("mapped" = Option<bool>, Query, description = "`true`: companies with a site; `false`: companies without"),
           ("type" = Option<String>, Query, description = "the PSA company type (any case)"),
           ("status" = Option<CompanyStatus>, Query, description = "`active` or `inactive`"),
           ("search" = Option<String>, Query, description = "part of the company name"),
           ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
           ("limit" = Option<usize>, Query, minimum = 1, maximum = 200, description = "rows per page (default 50)")),
    responses((status = 200, body = CompanyMappingPage),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn list_companies(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let status = match params.non_empty("status").as_deref() {
        None => None,
        Some("active") => Some(CompanyStatus::Active),
        Some("inactive") => Some(CompanyStatus::Inactive),
        Some(_) => return Err(ApiError::bad_request("`status` must be active or inactive")),
    };
    let limit = match params.non_empty("limit") {
        None => None,
        Some(l) => Some(
            l.trim()
                .parse::<usize>()
                .map_err(|_| ApiError::bad_request("`limit` must be between 1 and 200"))?,
        ),
    };
    let filter = CompanyFilter {
        mapped: params.flag("mapped")?,
        company_type: params.non_empty("type"),
        status,
        search: params.get("search"),
        cursor: params.non_empty("cursor"),
        limit,
    };
    Ok(reply(
        StatusCode::OK,
        &service(&api).table(&caller.tenant, &id, &filter).await?,
    ))
}

/// Maps selected rows in one call: each row a company and either its best suggestion
/// (`acceptSuggestion`) or a site picked by hand (`siteUid`). Checked as a whole first: one
/// bad row and nothing is written (422 naming every bad row). A site another company holds is
/// reported as that row's `conflict` and left as it is.
#[utoipa::path(post, path = "/integrations/{id}/company-mappings", tag = "site-mapping",
    params(("id" = String, Path, description = "the Datto RMM integration")),
    request_body = BulkMappingInput,
    responses((status = 200, body = BulkMappingResult),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 422, description = "`invalid_rows`: rows that cannot be applied, each named; nothing was mapped", body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn map_rows(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<BulkMappingInput>,
) -> Result<Response, ApiError> {
    let result = service(&api).bulk_map(&caller.tenant, &id, &input.rows).await?;
    let mapped: Vec<String> = result
        .rows
        .iter()
        .filter(|r| r.outcome == BulkOutcome::Mapped)
        .map(|r| r.site_uid.clone())
        .collect();
    run_sites_mapped(&api.on_mapped, &caller.tenant, &id, &mapped).await;
    Ok(reply(StatusCode::OK, &result))
}

/// "Create new site": a Datto RMM site named after the company (`PUT /v2/site`, never made
/// twice), stored as sync stores sites and mapped to the company at once. 201 when Datto made
/// the site, 200 when a site of that name was there already and was mapped instead.
#[utoipa::path(post, path = "/integrations/{id}/company-mappings/{companyId}/site", tag = "site-mapping",
    params(("id" = String, Path, description = "the Datto RMM integration"),
           ("companyId" = String, Path, description = "the portal company")),
    responses((status = 201, body = SiteCreatedForCompany),
              (status = 200, description = "a site of that name was there already and is now mapped", body = SiteCreatedForCompany),
              (status = 401, body = crate::api::Problem),
              (status = 404, description = "no such integration or company", body = crate::api::Problem),
              (status = 409, description = "the company has a site already, or the site of that name is another company's", body = crate::api::Problem),
              (status = 422, description = "Datto RMM refused the credentials", body = crate::api::Problem),
              (status = 502, description = "Datto RMM is down or misbehaving", body = crate::api::Problem),
              (status = 503, description = "storage or Secrets Manager unavailable", body = crate::api::Problem)))]
async fn create_site(
    State(api): St,
    caller: Caller,
    Path((id, company)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let made = service(&api).create_site(&caller.tenant, &id, &company).await?;
    // A site Datto RMM just made has no devices yet: only one found there already has.
    if !made.created {
        run_sites_mapped(
            &api.on_mapped,
            &caller.tenant,
            &id,
            std::slice::from_ref(&made.site.site_uid),
        )
        .await;
    }
    let status = if made.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply(status, &made))
}

impl From<CompanySideError> for ApiError {
    fn from(e: CompanySideError) -> Self {
        match e {
            CompanySideError::Mapping(m) => m.into(),
            CompanySideError::InvalidRows(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_rows", m),
            CompanySideError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            CompanySideError::Integration(i) => i.into(),
            CompanySideError::Datto(d) => d.into(),
        }
    }
}
