//! `/integrations`: connect Datto RMM and PSA (Autotask, ConnectWise
//! Manage) accounts. The routes, with their bodies and problems, are in the
//! OpenAPI document (`docs/openapi.json`).

use crate::api::{ApiError, Caller, JsonBody, done, reply};
use crate::connections::{DattoCredentialsInput, IntegrationError, IntegrationSettings, IntegrationView, Integrations};
use crate::connections::{PsaCredentialsInput, PsaIntegrationError, PsaIntegrationView, PsaIntegrations};
use crate::datto::{DattoConnector, DattoError};
use crate::psa::{PsaConnectionInfo, PsaConnector, PsaError, PsaKind};
use crate::runs::history::{RunOverview, overview, run_summary};
use crate::runs::{RunKind, RunStarter, RunStatus};
use crate::secrets::{SecretsError, SecretsManager};
use crate::store::keys;
use crate::store::{Cascades, DynamoStore, StoreError};
use crate::tenant::TenantId;
use crate::time::now_millis;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the routes need, built once per process.
#[derive(Clone)]
pub struct IntegrationsApi {
    pub store: DynamoStore,
    pub secrets: SecretsManager,
    pub datto: DattoConnector,
    pub psa: PsaConnector,
    pub settings: IntegrationSettings,
    /// Run before a Datto RMM integration is deleted (devices unlink its assets).
    pub cascades: Cascades,
    /// Run before a PSA integration is deleted (tickets deregister the PSA's webhooks and turn
    /// ticketing off where it pointed there).
    pub psa_cascades: Cascades,
    /// The runs of higher flows this flow shows, starts and stops (wired in `app.rs`).
    pub runs: RunWiring,
}

/// What the integrations flow knows of the runs of the flows above it,
/// handed in by `app.rs` (this flow imports none of them).
#[derive(Clone)]
pub struct RunWiring {
    /// The kind of run a Datto RMM integration shows (the sync).
    pub datto: Option<&'static RunKind>,
    /// The kind of run a PSA integration shows (the PSA import).
    pub psa: Option<&'static RunKind>,
    /// The device-import jobs a Datto RMM integration shows.
    pub device_import: Option<&'static RunKind>,
    /// Queues a new Datto RMM integration's first sync.
    pub first_sync: Option<Arc<dyn RunStarter>>,
    /// How long a delete waits for a running run to notice and let go of its lease.
    pub stop_wait: Duration,
}

impl Default for RunWiring {
    fn default() -> Self {
        Self {
            datto: None,
            psa: None,
            device_import: None,
            first_sync: None,
            stop_wait: Duration::from_secs(10),
        }
    }
}

impl IntegrationsApi {
    async fn overview(&self, tenant: &TenantId, id: &str, kind: Option<&RunKind>) -> Result<RunOverview, ApiError> {
        match kind {
            Some(kind) => Ok(overview(&self.store, &keys::integration_pk(tenant, id), kind).await?),
            None => Ok(RunOverview::default()),
        }
    }

    async fn datto_view(&self, tenant: &TenantId, mut view: IntegrationView) -> Result<IntegrationView, ApiError> {
        view.sync = self.overview(tenant, &view.id, self.runs.datto).await?;
        view.device_import = self.overview(tenant, &view.id, self.runs.device_import).await?;
        Ok(view)
    }

    async fn psa_view(&self, tenant: &TenantId, mut view: PsaIntegrationView) -> Result<PsaIntegrationView, ApiError> {
        view.psa_import = self.overview(tenant, &view.id, self.runs.psa).await?;
        Ok(view)
    }

    /// Marks the integration as being deleted, then waits (at most
    /// `stop_wait` in all) while a run of one of `kinds` is running under its lease: a
    /// running run sees the mark before its next batch and stops. A run that
    /// only waits for a worker is not waited for: its guard stops it before
    /// it writes anything.
    async fn stop_runs(&self, tenant: &TenantId, id: &str, kinds: &[Option<&RunKind>]) -> Result<(), ApiError> {
        if uuid::Uuid::parse_str(id).is_err() || !self.store.mark_integration_deleting(tenant, id).await? {
            return Err(ApiError::not_found(format!("no integration {id}")));
        }
        let deadline = std::time::Instant::now() + self.runs.stop_wait;
        for kind in kinds.iter().flatten() {
            self.wait_for_run(tenant, id, kind, deadline).await?;
        }
        Ok(())
    }

    async fn wait_for_run(
        &self,
        tenant: &TenantId,
        id: &str,
        kind: &RunKind,
        deadline: std::time::Instant,
    ) -> Result<(), ApiError> {
        let pk = keys::integration_pk(tenant, id);
        loop {
            let held = match self.store.lease_holder(&kind.lease(&pk)).await? {
                Some((run_id, expires)) if expires >= now_millis() / 1000 => {
                    run_summary(&self.store, &pk, kind, &run_id)
                        .await?
                        .is_some_and(|r| r.status == RunStatus::Running)
                }
                _ => false,
            };
            if !held || std::time::Instant::now() >= deadline {
                if held {
                    tracing::warn!(tenant = %tenant, integration = %id, "a run still holds the lease; deleting anyway (its guard stops it)");
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

type St = State<Arc<IntegrationsApi>>;

/// The routes without their state: for the OpenAPI document.
pub fn routes() -> OpenApiRouter<Arc<IntegrationsApi>> {
    OpenApiRouter::new()
        .routes(routes!(test_datto))
        .routes(routes!(test_autotask))
        .routes(routes!(test_connectwise))
        .routes(routes!(create_integration, list_integrations))
        .routes(routes!(get_integration, delete_integration))
        .routes(routes!(rotate_credentials))
        .routes(routes!(disable_integration))
        .routes(routes!(enable_integration))
}

/// The router the integrations Lambda serves.
pub fn router(api: IntegrationsApi) -> OpenApiRouter {
    routes().with_state(Arc::new(api))
}

fn datto(api: &IntegrationsApi) -> Integrations<'_> {
    Integrations {
        store: &api.store,
        secrets: &api.secrets,
        datto: &api.datto,
        settings: &api.settings,
    }
}

fn psa(api: &IntegrationsApi) -> PsaIntegrations<'_> {
    PsaIntegrations {
        store: &api.store,
        secrets: &api.secrets,
        psa: &api.psa,
        settings: &api.settings,
    }
}

/// What a Datto RMM connection test learned. (Fields in the order the
/// answer has always had them.)
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DattoTestResult {
    pub account_name: Option<String>,
    pub account_uid: Option<String>,
    pub device_count: Option<i64>,
    /// Always `true`: a failed test is a problem answer.
    pub ok: bool,
}

/// What a PSA connection test learned.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PsaTestResult {
    pub connection: PsaConnectionInfo,
    /// Always `true`: a failed test is a problem answer.
    pub ok: bool,
}

/// An integration of either kind; `type` tells which.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AnyIntegration {
    DattoRmm(Box<IntegrationView>),
    Psa(Box<PsaIntegrationView>),
}

/// The tenant's integrations: Datto RMM ones first, then PSA ones, each oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntegrationList {
    pub integrations: Vec<AnyIntegration>,
}

/// The body of `POST /integrations`: Datto RMM credentials (`type` absent
/// or `datto-rmm`) or PSA credentials (`type` `autotask` or
/// `connectwise-manage`).
/// (Only the schema of the body: the handler reads `type` first, then the
/// matching input.)
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum NewIntegration {
    DattoRmm(DattoCredentialsInput),
    Psa(PsaCredentialsInput),
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

/// Tests a Datto RMM platform and API keys; stores nothing.
#[utoipa::path(post, path = "/integrations/datto-rmm/test", tag = "integrations",
    request_body = DattoCredentialsInput,
    responses((status = 200, body = DattoTestResult),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 422, description = "Datto RMM refused the keys or the platform", body = crate::api::Problem),
              (status = 502, description = "Datto RMM is down or misbehaving", body = crate::api::Problem)))]
async fn test_datto(
    State(api): St,
    _caller: Caller,
    JsonBody(input): JsonBody<DattoCredentialsInput>,
) -> Result<Response, ApiError> {
    let info = datto(&api).test(input).await?;
    Ok(reply(
        StatusCode::OK,
        &DattoTestResult {
            account_name: info.account_name,
            account_uid: info.account_uid,
            device_count: info.device_count,
            ok: true,
        },
    ))
}

async fn test_psa(api: &IntegrationsApi, kind: PsaKind, input: PsaCredentialsInput) -> Result<Response, ApiError> {
    let connection = psa(api).test(kind, input).await?;
    Ok(reply(StatusCode::OK, &PsaTestResult { connection, ok: true }))
}

/// Tests Autotask credentials; stores nothing.
#[utoipa::path(post, path = "/integrations/autotask/test", tag = "integrations",
    request_body = PsaCredentialsInput,
    responses((status = 200, body = PsaTestResult),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 422, description = "Autotask refused the credentials", body = crate::api::Problem),
              (status = 502, description = "Autotask is down or misbehaving", body = crate::api::Problem),
              (status = 503, description = "the hourly request budget is spent", body = crate::api::Problem)))]
async fn test_autotask(
    State(api): St,
    _caller: Caller,
    JsonBody(input): JsonBody<PsaCredentialsInput>,
) -> Result<Response, ApiError> {
    test_psa(&api, PsaKind::Autotask, input).await
}

/// Tests ConnectWise Manage credentials; stores nothing.
#[utoipa::path(post, path = "/integrations/connectwise-manage/test", tag = "integrations",
    request_body = PsaCredentialsInput,
    responses((status = 200, body = PsaTestResult),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 422, description = "ConnectWise Manage refused the credentials", body = crate::api::Problem),
              (status = 502, description = "ConnectWise Manage is down or misbehaving", body = crate::api::Problem),
              (status = 503, description = "the request budget is spent", body = crate::api::Problem)))]
async fn test_connectwise(
    State(api): St,
    _caller: Caller,
    JsonBody(input): JsonBody<PsaCredentialsInput>,
) -> Result<Response, ApiError> {
    test_psa(&api, PsaKind::ConnectwiseManage, input).await
}

/// Tests the credentials, then stores them (Secrets Manager) and the
/// integration; `type` picks the kind (default `datto-rmm`).
#[utoipa::path(post, path = "/integrations", tag = "integrations",
    request_body = NewIntegration,
    responses((status = 201, body = AnyIntegration),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 409, description = "the integration changed meanwhile", body = crate::api::Problem),
              (status = 422, description = "the service refused the credentials", body = crate::api::Problem),
              (status = 502, description = "the service is down or misbehaving", body = crate::api::Problem),
              (status = 503, description = "storage, Secrets Manager or the PSA's request budget unavailable", body = crate::api::Problem)))]
async fn create_integration(
    State(api): St,
    caller: Caller,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    match split_kind(body)? {
        (None, body) => {
            let mut view = datto(&api)
                .create(&caller.tenant, from_value::<DattoCredentialsInput>(body)?)
                .await?;
            // The first sync starts now, not at the next tick of the schedule. The
            // integration exists either way: a failure here leaves it to the schedule.
            if let Some(starter) = &api.runs.first_sync {
                match starter.start(&caller.tenant, &view.id).await {
                    Ok(run) => view.sync.active = run,
                    Err(e) => {
                        tracing::warn!(tenant = %caller.tenant, integration = %view.id, error = %e, "could not queue the first sync")
                    }
                }
            }
            Ok(reply(StatusCode::CREATED, &view))
        }
        (Some(_), body) => Ok(reply(
            StatusCode::CREATED,
            &psa(&api)
                .create(&caller.tenant, from_value::<PsaCredentialsInput>(body)?)
                .await?,
        )),
    }
}

/// The tenant's integrations, every kind.
#[utoipa::path(get, path = "/integrations", tag = "integrations",
    responses((status = 200, body = IntegrationList),
              (status = 401, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn list_integrations(State(api): St, caller: Caller) -> Result<Response, ApiError> {
    let mut integrations: Vec<AnyIntegration> = Vec::new();
    for view in datto(&api).list(&caller.tenant).await? {
        integrations.push(AnyIntegration::DattoRmm(Box::new(
            api.datto_view(&caller.tenant, view).await?,
        )));
    }
    for view in psa(&api).list(&caller.tenant).await? {
        integrations.push(AnyIntegration::Psa(Box::new(api.psa_view(&caller.tenant, view).await?)));
    }
    Ok(reply(StatusCode::OK, &IntegrationList { integrations }))
}

/// One integration, either kind.
#[utoipa::path(get, path = "/integrations/{id}", tag = "integrations", params(("id" = String, Path)),
    responses((status = 200, body = AnyIntegration),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn get_integration(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(reply(StatusCode::OK, &any_view(&api, &caller.tenant, &id).await?))
}

async fn any_view(api: &IntegrationsApi, tenant: &TenantId, id: &str) -> Result<AnyIntegration, ApiError> {
    match datto(api).get(tenant, id).await {
        Err(IntegrationError::NotFound(_)) => {
            let view = PsaIntegrationView::from(&psa(api).get(tenant, id).await?);
            Ok(AnyIntegration::Psa(Box::new(api.psa_view(tenant, view).await?)))
        }
        other => Ok(AnyIntegration::DattoRmm(Box::new(
            api.datto_view(tenant, other?).await?,
        ))),
    }
}

async fn switch(api: &IntegrationsApi, caller: &Caller, id: &str, enabled: bool) -> Result<Response, ApiError> {
    if uuid::Uuid::parse_str(id).is_err()
        || !api
            .store
            .set_integration_enabled(&caller.tenant, id, enabled, now_millis())
            .await?
    {
        return Err(ApiError::not_found(format!("no integration {id}")));
    }
    tracing::info!(tenant = %caller.tenant, integration = %id, enabled, "integration switched");
    Ok(reply(StatusCode::OK, &any_view(api, &caller.tenant, id).await?))
}

/// Switches an integration off (either kind): schedules skip it, its
/// webhooks answer `disabled` and do nothing, syncs and imports are refused
/// (`409 integration_disabled`), a running one stops before its next write.
/// Credentials, mappings and settings stay.
#[utoipa::path(post, path = "/integrations/{id}/disable", tag = "integrations", params(("id" = String, Path)),
    responses((status = 200, body = AnyIntegration),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn disable_integration(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    switch(&api, &caller, &id, false).await
}

/// Switches an integration on again, as it was.
#[utoipa::path(post, path = "/integrations/{id}/enable", tag = "integrations", params(("id" = String, Path)),
    responses((status = 200, body = AnyIntegration),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 503, description = "storage unavailable", body = crate::api::Problem)))]
async fn enable_integration(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    switch(&api, &caller, &id, true).await
}

/// Removes an integration and its items; schedules its secret for deletion.
/// A Datto RMM integration's assets stay, unlinked.
#[utoipa::path(delete, path = "/integrations/{id}", tag = "integrations", params(("id" = String, Path)),
    responses((status = 204),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, description = "the integration changed meanwhile, or its secret is gone", body = crate::api::Problem),
              (status = 503, description = "storage or Secrets Manager unavailable", body = crate::api::Problem)))]
async fn delete_integration(State(api): St, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    // Its running sync or import stops writing first (see `stop_runs`).
    let is_datto = match datto(&api).get(&caller.tenant, &id).await {
        Ok(_) => true,
        Err(IntegrationError::NotFound(_)) => false,
        Err(e) => return Err(e.into()),
    };
    if !is_datto {
        psa(&api).get(&caller.tenant, &id).await?;
    }
    let kinds = if is_datto {
        [api.runs.datto, api.runs.device_import]
    } else {
        [api.runs.psa, None]
    };
    api.stop_runs(&caller.tenant, &id, &kinds).await?;
    if is_datto {
        datto(&api).delete(&caller.tenant, &id, &api.cascades).await?;
    } else {
        psa(&api).delete(&caller.tenant, &id, &api.psa_cascades).await?;
    }
    Ok(done())
}

/// Replaces an integration's keys, tested first. The body is the one its
/// kind's test takes (`DattoCredentialsInput` or `PsaCredentialsInput`).
#[utoipa::path(put, path = "/integrations/{id}/credentials", tag = "integrations", params(("id" = String, Path)),
    request_body = NewIntegration,
    responses((status = 200, body = AnyIntegration),
              (status = 400, body = crate::api::Problem),
              (status = 401, body = crate::api::Problem),
              (status = 404, body = crate::api::Problem),
              (status = 409, description = "the integration changed meanwhile, or its secret is gone", body = crate::api::Problem),
              (status = 422, description = "the service refused the credentials", body = crate::api::Problem),
              (status = 502, description = "the service is down or misbehaving", body = crate::api::Problem),
              (status = 503, description = "storage, Secrets Manager or the PSA's request budget unavailable", body = crate::api::Problem)))]
async fn rotate_credentials(
    State(api): St,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    let psa = psa(&api);
    match psa.get(&caller.tenant, &id).await {
        Ok(_) => Ok(reply(
            StatusCode::OK,
            &psa.rotate_credentials(&caller.tenant, &id, from_value(body)?).await?,
        )),
        Err(PsaIntegrationError::NotFound(_)) => Ok(reply(
            StatusCode::OK,
            &datto(&api)
                .rotate_credentials(&caller.tenant, &id, from_value(body)?)
                .await?,
        )),
        Err(e) => Err(e.into()),
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
