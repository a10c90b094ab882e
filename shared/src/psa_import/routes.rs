//! The PSA import and the portal records it fills.
//!
//! | route | does |
//! |---|---|
//! | `POST /integrations/{id}/psa-import/preview?kind=&action=&offset=&limit=` | every PSA record with match / create / exclude; counts per kind; writes nothing |
//! | `POST /integrations/{id}/psa-import/apply` | 202 `{runId}`: queues a run (409 while one runs) |
//! | `GET /integrations/{id}/psa-import/runs` | the latest runs, newest first |
//! | `GET /integrations/{id}/psa-import/runs/{runId}` | one run: status, counts per kind, writes, errors |
//! | `GET`/`PUT /integrations/{id}/psa-import/overrides` | `{overrides: [{kind, psaId, action: match\|create\|exclude\|auto, targetId?}]}`; `auto` brings a record back to the rules |
//! | `GET`/`PUT /integrations/{id}/psa-import/settings` | `{autoCreate: {companies, users, configurations}}` for the nightly run |
//! | `GET /contacts`, `/locations`, `/configurations`, `/users` `?companyId=&offset=&limit=` | the portal's records of that kind |

use crate::api::{ApiError, json, json_body, method_not_allowed, query_param, route_not_found, segments, tenant};
use crate::connections::IntegrationSettings;
use crate::connections::{AutoCreate, PsaIntegrations};
use crate::psa::{PsaConnector, RecordKind};
use crate::psa_import::{ImportError, Importer, OverrideInput, PreviewFilter};
use crate::secrets::SecretsManager;
use crate::store::DynamoStore;
use crate::tenant::TenantId;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

pub struct PsaImportApi {
    pub store: DynamoStore,
    pub secrets: SecretsManager,
    pub psa: PsaConnector,
    pub settings: IntegrationSettings,
}

impl PsaImportApi {
    pub async fn from_env() -> Result<Self, crate::aws::MissingSetting> {
        let ports = crate::connections::Ports::from_env().await?;
        Ok(Self {
            psa: PsaConnector::from_env(ports.datto.http().clone()),
            store: ports.store,
            secrets: ports.secrets,
            settings: IntegrationSettings::from_env(),
        })
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OverridesBody {
    overrides: Vec<OverrideInput>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsBody {
    auto_create: AutoCreate,
}

fn number(req: &Request, name: &str, default: usize) -> Result<usize, ApiError> {
    match query_param(req, name).as_deref() {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::bad_request(format!("`{name}` must be a whole number"))),
    }
}

fn kind_param(req: &Request) -> Result<Option<RecordKind>, ApiError> {
    match query_param(req, "kind").as_deref() {
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

impl PsaImportApi {
    pub fn importer(&self) -> Importer<'_> {
        Importer {
            store: &self.store,
            secrets: &self.secrets,
            psa: &self.psa,
            settings: &self.settings,
        }
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        self.route(&req).await.unwrap_or_else(ApiError::into_response)
    }

    async fn route(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let tenant = tenant(req)?;
        let importer = self.importer();
        let path = segments(req);
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        let method = req.method();
        match parts.as_slice() {
            ["integrations", id, "psa-import", "preview"] => match *method {
                Method::POST => {
                    let action = query_param(req, "action").filter(|a| !a.is_empty());
                    if let Some(a) = &action
                        && !matches!(a.as_str(), "match" | "create" | "exclude" | "pending")
                    {
                        return Err(ApiError::bad_request(format!(
                            "unknown action `{a}` (match, create, exclude or pending)"
                        )));
                    }
                    let filter = PreviewFilter {
                        kind: kind_param(req)?,
                        action,
                        offset: number(req, "offset", 0)?,
                        limit: number(req, "limit", 1_000)?,
                    };
                    Ok(json(StatusCode::OK, &importer.preview(&tenant, id, &filter).await?))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "psa-import", "apply"] => match *method {
                Method::POST => {
                    let run = importer.start(&tenant, id, crate::runs::Trigger::Manual).await?;
                    Ok(json(
                        StatusCode::ACCEPTED,
                        &serde_json::json!({ "runId": run.run_id, "status": run.status }),
                    ))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "psa-import", "runs"] => match *method {
                Method::GET => Ok(json(
                    StatusCode::OK,
                    &serde_json::json!({ "runs": importer.runs(&tenant, id).await? }),
                )),
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "psa-import", "runs", run_id] => match *method {
                Method::GET => Ok(json(StatusCode::OK, &importer.get_run(&tenant, id, run_id).await?)),
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "psa-import", "overrides"] => match *method {
                Method::GET => Ok(json(
                    StatusCode::OK,
                    &serde_json::json!({ "overrides": importer.overrides(&tenant, id).await? }),
                )),
                Method::PUT => {
                    let body: OverridesBody = json_body(req)?;
                    let all = importer.set_overrides(&tenant, id, body.overrides).await?;
                    Ok(json(StatusCode::OK, &serde_json::json!({ "overrides": all })))
                }
                _ => Err(method_not_allowed(method)),
            },
            ["integrations", id, "psa-import", "settings"] => {
                let integrations = PsaIntegrations {
                    store: &self.store,
                    secrets: &self.secrets,
                    psa: &self.psa,
                    settings: &self.settings,
                };
                match *method {
                    Method::GET => {
                        let i = integrations.get(&tenant, id).await.map_err(ImportError::from)?;
                        Ok(json(
                            StatusCode::OK,
                            &serde_json::json!({ "autoCreate": i.auto_create }),
                        ))
                    }
                    Method::PUT => {
                        let body: SettingsBody = json_body(req)?;
                        let view = integrations
                            .set_auto_create(&tenant, id, body.auto_create)
                            .await
                            .map_err(ImportError::from)?;
                        Ok(json(
                            StatusCode::OK,
                            &serde_json::json!({ "autoCreate": view.auto_create }),
                        ))
                    }
                    _ => Err(method_not_allowed(method)),
                }
            }
            [collection @ ("contacts" | "locations" | "configurations" | "users")] => match *method {
                Method::GET => {
                    let kind = match *collection {
                        "contacts" => RecordKind::Contact,
                        "locations" => RecordKind::Location,
                        "configurations" => RecordKind::Configuration,
                        _ => RecordKind::User,
                    };
                    self.directory(req, &tenant, kind, collection).await
                }
                _ => Err(method_not_allowed(method)),
            },
            _ => Err(route_not_found(req)),
        }
    }

    /// A page of portal records, by name; the whole kind is read (fine at
    /// tens of thousands; a per-company index would be next).
    async fn directory(
        &self,
        req: &Request,
        tenant: &TenantId,
        kind: RecordKind,
        collection: &str,
    ) -> Result<Response<Body>, ApiError> {
        let company = query_param(req, "companyId").filter(|c| !c.is_empty());
        let offset = number(req, "offset", 0)?;
        let limit = number(req, "limit", 100)?.clamp(1, 1_000);
        let mut all = self.store.directory(tenant, kind).await.map_err(ImportError::from)?;
        all.retain(|r| company.as_ref().is_none_or(|c| r.company_id.as_ref() == Some(c)));
        all.sort_by(|a, b| a.normalized_name.cmp(&b.normalized_name).then_with(|| a.id.cmp(&b.id)));
        let next = (all.len() > offset + limit).then_some(offset + limit);
        let page: Vec<_> = all.into_iter().skip(offset).take(limit).collect();
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({ collection: page, "nextOffset": next }),
        ))
    }
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
            ImportError::RunNotFound(id) => ApiError::not_found(format!("no import run {id}")),
            ImportError::Invalid(m) => ApiError::bad_request(m),
            ImportError::Store(s) => crate::connections::IntegrationError::Store(s).into(),
        }
    }
}
