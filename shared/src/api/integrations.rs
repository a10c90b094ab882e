//! `/integrations`: connect Datto RMM accounts.
//!
//! | route | does |
//! |---|---|
//! | `POST /integrations/datto-rmm/test` | tests platform + keys, stores nothing |
//! | `POST /integrations` | tests, then stores the keys (Secrets Manager) and the integration |
//! | `GET /integrations` | the tenant's integrations |
//! | `GET /integrations/{id}` | one |
//! | `DELETE /integrations/{id}` | removes it and its items; schedules its secret for deletion |
//! | `PUT /integrations/{id}/credentials` | rotates the keys (tested first) |

use super::{ApiError, json, json_body, method_not_allowed, no_content, route_not_found, segments, tenant};
use crate::datto::{DattoConnector, DattoError};
use crate::integrations::{IntegrationError, IntegrationSettings, Integrations, Ports};
use crate::secrets::{SecretStore, SecretsError, SecretsManager};
use crate::store::{DynamoStore, IntegrationStore, StoreError};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

/// Everything the function needs, built once per cold start.
pub struct IntegrationsApi<S, K> {
    pub store: S,
    pub secrets: K,
    pub datto: DattoConnector,
    pub settings: IntegrationSettings,
}

impl IntegrationsApi<DynamoStore, SecretsManager> {
    /// Reads `TABLE_NAME` and the settings of [`DattoConnector::from_env`] and [`IntegrationSettings::from_env`].
    pub async fn from_env() -> Result<Self, crate::aws::MissingSetting> {
        let Ports { store, secrets, datto } = Ports::from_env().await?;
        Ok(Self {
            store,
            secrets,
            datto,
            settings: IntegrationSettings::from_env(),
        })
    }
}

impl<S: IntegrationStore, K: SecretStore> IntegrationsApi<S, K> {
    /// Answers one API Gateway request. Never fails: every error becomes a problem response.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        match self.route(&req).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        }
    }

    async fn route(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let tenant = tenant(req)?;
        let service = Integrations {
            store: &self.store,
            secrets: &self.secrets,
            datto: &self.datto,
            settings: &self.settings,
        };
        let path = segments(req);
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        let method = req.method();
        match parts.as_slice() {
            ["integrations", "datto-rmm", "test"] => match *method {
                Method::POST => {
                    let info = service.test(json_body(req)?).await?;
                    Ok(json(
                        StatusCode::OK,
                        &serde_json::json!({
                            "ok": true,
                            "accountName": info.account_name,
                            "accountUid": info.account_uid,
                            "deviceCount": info.device_count,
                        }),
                    ))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations"] => match *method {
                Method::POST => Ok(json(
                    StatusCode::CREATED,
                    &service.create(&tenant, json_body(req)?).await?,
                )),
                Method::GET => Ok(json(
                    StatusCode::OK,
                    &serde_json::json!({ "integrations": service.list(&tenant).await? }),
                )),
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id] => match *method {
                Method::GET => Ok(json(StatusCode::OK, &service.get(&tenant, id).await?)),
                Method::DELETE => {
                    service.delete(&tenant, id).await?;
                    Ok(no_content())
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "credentials"] => match *method {
                Method::PUT => Ok(json(
                    StatusCode::OK,
                    &service.rotate_credentials(&tenant, id, json_body(req)?).await?,
                )),
                _ => Err(method_not_allowed(method)),
            },
            _ => Err(route_not_found(req)),
        }
    }
}

impl From<IntegrationError> for ApiError {
    fn from(e: IntegrationError) -> Self {
        match e {
            IntegrationError::Invalid(m) => ApiError::bad_request(m),
            IntegrationError::NotFound(id) => ApiError::not_found(format!("no integration {id}")),
            IntegrationError::Datto(d) => d.into(),
            IntegrationError::Store(StoreError::ConditionFailed) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the integration changed meanwhile; try again",
            ),
            IntegrationError::Store(e) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e.to_string())
            }
            IntegrationError::Secrets(SecretsError::NotFound) => ApiError::new(
                StatusCode::CONFLICT,
                "credentials_missing",
                "the integration's stored credentials are gone; set them again with PUT /integrations/{id}/credentials",
            ),
            IntegrationError::Secrets(e) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "secrets_unavailable", e.to_string())
            }
        }
    }
}

impl From<DattoError> for ApiError {
    /// Refusals that the caller can fix are 422; Datto being down, blocking
    /// or misbehaving is 502.
    fn from(e: DattoError) -> Self {
        let status = match e {
            DattoError::BadCredentials { .. } | DattoError::WrongPlatform { .. } | DattoError::PermissionDenied => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            _ => StatusCode::BAD_GATEWAY,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}
