//! `/integrations`: connect Datto RMM and PSA (Autotask, ConnectWise Manage) accounts.
//!
//! | route | does |
//! |---|---|
//! | `POST /integrations/datto-rmm/test` | tests platform + keys, stores nothing |
//! | `POST /integrations/{autotask,connectwise-manage}/test` | tests PSA credentials, stores nothing |
//! | `POST /integrations` | tests, then stores the keys (Secrets Manager) and the integration; `type` picks the kind (default `datto-rmm`) |
//! | `GET /integrations` | the tenant's integrations, every kind |
//! | `GET /integrations/{id}` | one |
//! | `DELETE /integrations/{id}` | removes it and its items; schedules its secret for deletion |
//! | `PUT /integrations/{id}/credentials` | rotates the keys (tested first) |

use crate::api::{ApiError, json, json_body, method_not_allowed, no_content, route_not_found, segments, tenant};
use crate::connections::{DattoCredentialsInput, IntegrationError, IntegrationSettings, Integrations, Ports};
use crate::connections::{PsaCredentialsInput, PsaIntegrationError, PsaIntegrationView, PsaIntegrations};
use crate::datto::{DattoConnector, DattoError};
use crate::psa::{PsaConnector, PsaError, PsaKind};
use crate::secrets::{SecretsError, SecretsManager};
use crate::store::{DynamoStore, StoreError};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

/// Everything the function needs, built once per cold start.
pub struct IntegrationsApi {
    pub store: DynamoStore,
    pub secrets: SecretsManager,
    pub datto: DattoConnector,
    pub psa: PsaConnector,
    pub settings: IntegrationSettings,
    /// Run before a Datto RMM integration is deleted (devices unlink its assets).
    pub cascades: crate::store::Cascades,
}

impl IntegrationsApi {
    /// Reads `TABLE_NAME` and the settings of [`DattoConnector::from_env`],
    /// [`PsaConnector::from_env`] and [`IntegrationSettings::from_env`].
    pub async fn from_env() -> Result<Self, crate::aws::MissingSetting> {
        let Ports { store, secrets, datto } = Ports::from_env().await?;
        Ok(Self {
            store,
            secrets,
            psa: PsaConnector::from_env(datto.http().clone()),
            datto,
            settings: IntegrationSettings::from_env(),
            cascades: Vec::new(),
        })
    }
}

/// Which service a create body is for: its `type`, Datto RMM when absent.
fn split_kind(body: serde_json::Value) -> Result<(Option<PsaKind>, serde_json::Value), ApiError> {
    let mut body = body;
    let Some(map) = body.as_object_mut() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let kind = match map.get("type") {
        None => None,
        Some(serde_json::Value::String(t)) if t == crate::connections::KIND_DATTO_RMM => {
            map.remove("type");
            None
        }
        Some(serde_json::Value::String(t)) => Some(
            t.parse::<PsaKind>()
                .map_err(|e| ApiError::bad_request(format!("{e}; or datto-rmm")))?,
        ),
        Some(_) => return Err(ApiError::bad_request("`type` must be a string")),
    };
    Ok((kind, body))
}

fn from_value<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON for this request: {e}")))
}

impl IntegrationsApi {
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
        let psa = PsaIntegrations {
            store: &self.store,
            secrets: &self.secrets,
            psa: &self.psa,
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
            ["integrations", kind @ ("autotask" | "connectwise-manage"), "test"] => match *method {
                Method::POST => {
                    let kind: PsaKind = kind.parse().map_err(ApiError::bad_request)?;
                    let info = psa.test(kind, json_body(req)?).await?;
                    Ok(json(
                        StatusCode::OK,
                        &serde_json::json!({ "ok": true, "connection": info }),
                    ))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations"] => match *method {
                Method::POST => match split_kind(json_body(req)?)? {
                    (None, body) => Ok(json(
                        StatusCode::CREATED,
                        &service
                            .create(&tenant, from_value::<DattoCredentialsInput>(body)?)
                            .await?,
                    )),
                    (Some(_), body) => Ok(json(
                        StatusCode::CREATED,
                        &psa.create(&tenant, from_value::<PsaCredentialsInput>(body)?).await?,
                    )),
                },
                Method::GET => {
                    let mut all: Vec<serde_json::Value> = Vec::new();
                    for view in service.list(&tenant).await? {
                        all.push(serde_json::to_value(view).unwrap_or_default());
                    }
                    for view in psa.list(&tenant).await? {
                        all.push(serde_json::to_value(view).unwrap_or_default());
                    }
                    Ok(json(StatusCode::OK, &serde_json::json!({ "integrations": all })))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id] => match *method {
                Method::GET => match service.get(&tenant, id).await {
                    Err(IntegrationError::NotFound(_)) => Ok(json(
                        StatusCode::OK,
                        &PsaIntegrationView::from(&psa.get(&tenant, id).await?),
                    )),
                    other => Ok(json(StatusCode::OK, &other?)),
                },
                Method::DELETE => {
                    match service.delete(&tenant, id, &self.cascades).await {
                        Err(IntegrationError::NotFound(_)) => psa.delete(&tenant, id).await?,
                        other => other?,
                    }
                    Ok(no_content())
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "credentials"] => match *method {
                Method::PUT => {
                    let body: serde_json::Value = json_body(req)?;
                    match psa.get(&tenant, id).await {
                        Ok(_) => Ok(json(
                            StatusCode::OK,
                            &psa.rotate_credentials(&tenant, id, from_value(body)?).await?,
                        )),
                        Err(PsaIntegrationError::NotFound(_)) => Ok(json(
                            StatusCode::OK,
                            &service.rotate_credentials(&tenant, id, from_value(body)?).await?,
                        )),
                        Err(e) => Err(e.into()),
                    }
                }
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

impl From<PsaIntegrationError> for ApiError {
    fn from(e: PsaIntegrationError) -> Self {
        match e {
            PsaIntegrationError::Invalid(m) => ApiError::bad_request(m),
            PsaIntegrationError::NotFound(id) => ApiError::not_found(format!("no integration {id}")),
            PsaIntegrationError::Psa(p) => p.into(),
            PsaIntegrationError::Store(s) => IntegrationError::Store(s).into(),
            PsaIntegrationError::Secrets(s) => IntegrationError::Secrets(s).into(),
        }
    }
}

impl From<PsaError> for ApiError {
    /// Refusals the caller can fix are 422; the PSA being down, throttling
    /// or misbehaving is 502 (503 when its hourly budget is spent).
    fn from(e: PsaError) -> Self {
        let status = match e {
            PsaError::BadCredentials { .. }
            | PsaError::UnknownUser { .. }
            | PsaError::UnknownCompany { .. }
            | PsaError::PermissionDenied { .. }
            | PsaError::Config(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PsaError::BudgetExhausted { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_GATEWAY,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}
