//! Device types, type mappings, staged devices, import and assets.
//!
//! | route | does |
//! |---|---|
//! | `GET /device-types` | the tenant's portal device types: the 8 defaults, then custom ones |
//! | `POST /device-types` | `{name}`: a custom type (201); 409 `device_type_exists` for a taken name |
//! | `DELETE /device-types/{id}` | a custom type no mapping uses (204); else 409 |
//! | `GET /integrations/{id}/device-types` | Datto category/type, device count, maps-to, auto-sync |
//! | `PUT /integrations/{id}/device-types` | `{category, deviceType, mapsTo, autoSync}`; 422 `auto_sync_requires_mapping` |
//! | `GET /integrations/{id}/staged-devices` | devices of mapped sites with status; filters and paging |
//! | `POST /integrations/{id}/import` | `{deviceUids}` or `{category, deviceType}`: per-device results |
//! | `GET /assets`, `GET /assets/{id}`, `GET /companies/{id}/assets` | the portal's assets, paged |
//!
//! One router: the `device-types`, `device-import` and `assets` functions
//! each get their routes from the template (and only the IAM they need).

use crate::api::{ApiError, json, method_not_allowed, no_content, query_param, route_not_found, segments, tenant};
use crate::devices::assets::Assets;
use crate::devices::import::{Importer, parse_import_request};
use crate::devices::mappings::{TypeMappings, parse_mapping_input};
use crate::devices::staged::{StagedDevices, StagedFilter, StagedStatus};
use crate::devices::types::{DeviceTypes, NewDeviceType};
use crate::devices::{DevicesError, page_limit};
use crate::store::DynamoStore;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

pub struct DevicesApi {
    pub store: DynamoStore,
}

impl DevicesApi {
    pub async fn from_env() -> Result<Self, crate::aws::MissingSetting> {
        Ok(Self {
            store: crate::api::store_from_env().await?,
        })
    }
}

fn non_empty(req: &Request, name: &str) -> Option<String> {
    query_param(req, name).filter(|v| !v.trim().is_empty())
}

impl DevicesApi {
    pub async fn handle(&self, req: Request) -> Response<Body> {
        self.route(&req).await.unwrap_or_else(ApiError::into_response)
    }

    async fn route(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let tenant = tenant(req)?;
        let store = &self.store;
        let path = segments(req);
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        let method = req.method();
        match parts.as_slice() {
            ["device-types"] => match *method {
                Method::GET => {
                    let types = DeviceTypes { store }.list(&tenant).await?;
                    Ok(json(StatusCode::OK, &serde_json::json!({ "deviceTypes": types })))
                }
                Method::POST => {
                    let input: NewDeviceType = crate::api::json_body(req)?;
                    Ok(json(
                        StatusCode::CREATED,
                        &DeviceTypes { store }.create(&tenant, input).await?,
                    ))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["device-types", id] => match *method {
                Method::DELETE => {
                    DeviceTypes { store }.delete(&tenant, id).await?;
                    Ok(no_content())
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "device-types"] => match *method {
                Method::GET => {
                    let rows = TypeMappings { store }.table(&tenant, id).await?;
                    Ok(json(StatusCode::OK, &serde_json::json!({ "deviceTypes": rows })))
                }
                Method::PUT => {
                    let input = parse_mapping_input(&crate::api::json_body(req)?)?;
                    Ok(json(
                        StatusCode::OK,
                        &TypeMappings { store }.put(&tenant, id, input).await?,
                    ))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "staged-devices"] => match *method {
                Method::GET => {
                    let filter = StagedFilter {
                        status: non_empty(req, "status")
                            .as_deref()
                            .map(StagedStatus::parse)
                            .transpose()?,
                        site_uid: non_empty(req, "siteUid"),
                        company_id: non_empty(req, "companyId"),
                        category: non_empty(req, "category"),
                        device_type: non_empty(req, "deviceType"),
                        search: non_empty(req, "search"),
                    };
                    let limit = page_limit(query_param(req, "limit").as_deref())?;
                    let cursor = non_empty(req, "cursor");
                    let page = StagedDevices { store }
                        .list(&tenant, id, &filter, cursor.as_deref(), limit)
                        .await?;
                    Ok(json(StatusCode::OK, &page))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "import"] => match *method {
                Method::POST => {
                    let request = parse_import_request(&crate::api::json_body(req)?)?;
                    let report = Importer { store }.import(&tenant, id, request).await?;
                    Ok(json(StatusCode::OK, &report))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["assets"] | ["companies", _, "assets"] => match *method {
                Method::GET => {
                    let company = match parts.as_slice() {
                        ["companies", c, "assets"] => Some(*c),
                        _ => None,
                    };
                    let limit = page_limit(query_param(req, "limit").as_deref())?;
                    let cursor = non_empty(req, "cursor");
                    let page = Assets { store }
                        .list(&tenant, company, cursor.as_deref(), limit)
                        .await?;
                    Ok(json(StatusCode::OK, &page))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["assets", id] => match *method {
                Method::GET => Ok(json(StatusCode::OK, &Assets { store }.get(&tenant, id).await?)),
                _ => Err(method_not_allowed(method)),
            },
            _ => Err(route_not_found(req)),
        }
    }
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
