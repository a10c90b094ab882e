//! The site mapping table and quick match.
//!
//! | route | does |
//! |---|---|
//! | `GET /integrations/{id}/sites?mapped=true\|false&search=&includePseudo=true` | each site with its company, confidence and how it was mapped |
//! | `PUT /integrations/{id}/sites/{siteUid}/mapping` | `{companyId}`: maps by hand |
//! | `DELETE /integrations/{id}/sites/{siteUid}/mapping` | unmaps by hand (quick match then leaves the site alone) |
//! | `POST /integrations/{id}/quick-match` | maps every unmapped site it is sure of (>= 70); answers mapped / suggested / no candidate |

use crate::api::{
    ApiError, json, json_body, method_not_allowed, no_content, query_param, route_not_found, segments, tenant,
};
use crate::site_mapping::{MappingError, SiteFilter, SiteMappings};
use crate::store::DynamoStore;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

pub struct SitesApi {
    pub store: DynamoStore,
}

impl SitesApi {
    pub async fn from_env() -> Result<Self, crate::aws::MissingSetting> {
        Ok(Self {
            store: crate::api::store_from_env().await?,
        })
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MappingInput {
    company_id: String,
}

fn flag(req: &Request, name: &str) -> Result<Option<bool>, ApiError> {
    match query_param(req, name).as_deref() {
        None | Some("") => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::bad_request(format!("`{name}` must be true or false"))),
    }
}

impl SitesApi {
    pub async fn handle(&self, req: Request) -> Response<Body> {
        self.route(&req).await.unwrap_or_else(ApiError::into_response)
    }

    async fn route(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let tenant = tenant(req)?;
        let service = SiteMappings { store: &self.store };
        let path = segments(req);
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        let method = req.method();
        match parts.as_slice() {
            ["integrations", id, "sites"] => match *method {
                Method::GET => {
                    let filter = SiteFilter {
                        mapped: flag(req, "mapped")?,
                        search: query_param(req, "search"),
                        include_pseudo: flag(req, "includePseudo")?.unwrap_or(false),
                    };
                    let sites = service.table(&tenant, id, &filter).await?;
                    Ok(json(
                        StatusCode::OK,
                        &serde_json::json!({ "sites": sites, "count": sites.len() }),
                    ))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "sites", site, "mapping"] => match *method {
                Method::PUT => {
                    let input: MappingInput = json_body(req)?;
                    Ok(json(
                        StatusCode::OK,
                        &service.map_manually(&tenant, id, site, &input.company_id).await?,
                    ))
                }
                Method::DELETE => {
                    service.unmap(&tenant, id, site).await?;
                    Ok(no_content())
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "quick-match"] => match *method {
                Method::POST => Ok(json(StatusCode::OK, &service.quick_match(&tenant, id).await?)),
                _ => Err(method_not_allowed(method)),
            },
            _ => Err(route_not_found(req)),
        }
    }
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
