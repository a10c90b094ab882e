//! `/companies`: the tenant's portal companies. The routes, with their
//! bodies and problems, are in the OpenAPI document (`docs/openapi.json`).

use crate::api::{ApiError, Caller, JsonBody, Params, done, reply};
use crate::companies::{Companies, CompanyError, CompanyInput, CompanyPage, CompanyView};
use crate::store::{Cascades, DynamoStore, StoreError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the routes need, built once per process.
#[derive(Clone)]
pub struct CompaniesApi {
    pub store: DynamoStore,
    /// Run before a company is deleted (the site mapping flow releases its sites).
    pub cascades: Cascades,
}

type St = State<Arc<CompaniesApi>>;

/// The routes without their state: for the OpenAPI document.
pub fn routes() -> OpenApiRouter<Arc<CompaniesApi>> {
    OpenApiRouter::new()
        .routes(routes!(create_company, list_companies))
        .routes(routes!(get_company, update_company, delete_company))
}

/// The router the companies Lambda serves.
pub fn router(api: CompaniesApi) -> OpenApiRouter {
    routes().with_state(Arc::new(api))
}

fn service(api: &CompaniesApi) -> Companies<'_> {
    Companies { store: &api.store }
}

/// Creates a portal company.
#[utoipa::path(post, path = "/companies", tag = "companies",
    request_body = crate::companies::NewCompany,
    responses((status = 201, body = CompanyView), (status = 409, body = crate::api::Problem, description = "the item changed meanwhile; try again"), (status = 400, body = crate::api::Problem), (status = 401, body = crate::api::Problem), (status = 503, body = crate::api::Problem, description = "the store failed; retry")))]
async fn create_company(
    State(api): St,
    caller: Caller,
    JsonBody(input): JsonBody<CompanyInput>,
) -> Result<Response, ApiError> {
    Ok(reply(
        StatusCode::CREATED,
        &service(&api).create(&caller.tenant, input).await?,
    ))
}

/// Pages through the companies, filtered by normalised name.
#[utoipa::path(get, path = "/companies", tag = "companies",
    params(("search" = Option<String>, Query, description = "part of the normalised name"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1-500, default 50"),
           ("cursor" = Option<String>, Query, pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$", description = "`nextCursor` of the previous page (400 for anything else); empty or absent for the first page")),
    responses((status = 200, body = CompanyPage), (status = 400, body = crate::api::Problem), (status = 401, body = crate::api::Problem), (status = 503, body = crate::api::Problem, description = "the store failed; retry")))]
async fn list_companies(State(api): St, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let limit = match params.get("limit") {
        Some(l) => Some(
            l.parse()
                .map_err(|_| ApiError::bad_request("`limit` must be a number"))?,
        ),
        None => None,
    };
    let search = params.get("search");
    // `cursor=` (a client echoing a null `nextCursor`) is the first page.
    let cursor = params.non_empty("cursor");
    let page = service(&api)
        .list(&caller.tenant, search.as_deref(), cursor.as_deref(), limit)
        .await?;
    Ok(reply(StatusCode::OK, &page))
}

/// One company.
#[utoipa::path(get, path = "/companies/{id}", tag = "companies", params(("id" = String, Path)),
    responses((status = 200, body = CompanyView), (status = 404, body = crate::api::Problem), (status = 401, body = crate::api::Problem), (status = 503, body = crate::api::Problem, description = "the store failed; retry")))]
async fn get_company(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(reply(StatusCode::OK, &service(&api).get(&caller.tenant, &id).await?))
}

/// Renames a company or changes its PSA link (`psa: null` removes it).
#[utoipa::path(patch, path = "/companies/{id}", tag = "companies", params(("id" = String, Path)),
    request_body = CompanyInput,
    responses((status = 200, body = CompanyView), (status = 400, body = crate::api::Problem), (status = 404, body = crate::api::Problem), (status = 401, body = crate::api::Problem), (status = 503, body = crate::api::Problem, description = "the store failed; retry")))]
async fn update_company(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<CompanyInput>,
) -> Result<Response, ApiError> {
    Ok(reply(
        StatusCode::OK,
        &service(&api).update(&caller.tenant, &id, input).await?,
    ))
}

/// Deletes a company; the sites mapped to it become undecided again.
#[utoipa::path(delete, path = "/companies/{id}", tag = "companies", params(("id" = String, Path)),
    responses((status = 204), (status = 409, body = crate::api::Problem, description = "the item changed meanwhile; try again"), (status = 404, body = crate::api::Problem), (status = 401, body = crate::api::Problem), (status = 503, body = crate::api::Problem, description = "the store failed; retry")))]
async fn delete_company(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    service(&api).delete(&caller.tenant, &id, &api.cascades).await?;
    Ok(done())
}

impl From<CompanyError> for ApiError {
    fn from(e: CompanyError) -> Self {
        match e {
            CompanyError::Invalid(m) => ApiError::bad_request(m),
            CompanyError::NotFound(id) => ApiError::not_found(format!("no company {id}")),
            CompanyError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConditionFailed => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the item changed meanwhile; try again",
            ),
            e => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e.to_string()),
        }
    }
}
