//! `/companies`: the tenant's portal companies.
//!
//! | route | does |
//! |---|---|
//! | `POST /companies` | `{name, psa?: {kind, id}}` creates one (201) |
//! | `GET /companies?search=&limit=&cursor=` | pages through them, filtered by name |
//! | `GET /companies/{id}` | one |
//! | `PATCH /companies/{id}` | `{name?, psa?}` (`psa: null` removes the PSA link) |
//! | `DELETE /companies/{id}` | removes it and the site mappings to it (204) |

use crate::api::{
    ApiError, json, json_body, method_not_allowed, no_content, query_param, route_not_found, segments, tenant,
};
use crate::companies::{Companies, CompanyError};
use crate::store::{DynamoStore, StoreError};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

pub struct CompaniesApi {
    pub store: DynamoStore,
    /// Run before a company is deleted (the site mapping flow releases its sites).
    pub cascades: crate::store::Cascades,
}

impl CompaniesApi {
    pub async fn from_env() -> Result<Self, crate::aws::MissingSetting> {
        Ok(Self {
            store: crate::api::store_from_env().await?,
            cascades: Vec::new(),
        })
    }
}

impl CompaniesApi {
    pub async fn handle(&self, req: Request) -> Response<Body> {
        self.route(&req).await.unwrap_or_else(ApiError::into_response)
    }

    async fn route(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let tenant = tenant(req)?;
        let service = Companies { store: &self.store };
        let path = segments(req);
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        let method = req.method();
        match parts.as_slice() {
            ["companies"] => match *method {
                Method::POST => Ok(json(
                    StatusCode::CREATED,
                    &service.create(&tenant, json_body(req)?).await?,
                )),
                Method::GET => {
                    let limit = match query_param(req, "limit") {
                        Some(l) => Some(
                            l.parse()
                                .map_err(|_| ApiError::bad_request("`limit` must be a number"))?,
                        ),
                        None => None,
                    };
                    let search = query_param(req, "search");
                    let cursor = query_param(req, "cursor");
                    Ok(json(
                        StatusCode::OK,
                        &service
                            .list(&tenant, search.as_deref(), cursor.as_deref(), limit)
                            .await?,
                    ))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["companies", id] => match *method {
                Method::GET => Ok(json(StatusCode::OK, &service.get(&tenant, id).await?)),
                Method::PATCH => Ok(json(
                    StatusCode::OK,
                    &service.update(&tenant, id, json_body(req)?).await?,
                )),
                Method::DELETE => {
                    service.delete(&tenant, id, &self.cascades).await?;
                    Ok(no_content())
                }
                _ => Err(method_not_allowed(method)),
            },
            _ => Err(route_not_found(req)),
        }
    }
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
