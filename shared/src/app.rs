//! The composition root: what a Lambda `main` builds once per cold start
//! (the store, Secrets Manager, one HTTP client, the Datto RMM and PSA
//! connectors, the settings) and how the flows are wired to each other.
//! The only module that knows every flow; no flow imports it.
//!
//! Settings (read once, here or by the constructors this calls):
//!
//! | variable | for |
//! |---|---|
//! | `TABLE_NAME` | the DynamoDB table (required) |
//! | `SECRET_NAME_PREFIX`, `SECRET_RECOVERY_DAYS` | where credentials live, how long a deleted one can be recovered |
//! | `DATTO_RMM_*` | the Datto RMM connector (see `datto::DattoConnector::from_env`) |
//! | `AUTOTASK_*`, `CONNECTWISE_*` | the PSA connector (see `psa::PsaConnector::from_env`) |
//! | `SYNC_AUDIT_BUDGET`, `SYNC_TIME_BUDGET_SECS`, `SYNC_IMPORT_BUDGET_SECS`, `SYNC_WRITERS`, `SYNC_LEASE_TTL_SECS` | sync runs |
//! | `HOOK_BASE_URL` | the API's public URL, for registering ConnectWise callbacks |
//! | `FUNCTION_TIMEOUT_SECS` | the function's timeout: the ticket flow's deadline and claim liveness |
//! | `HTTP_TIMEOUT_MS`, `AWS_OPERATION_TIMEOUT_MS` | per-request timeouts of the outbound calls and the AWS SDK |
//! | `RECONCILE_*` | the ticket reconciler's budgets (see `tickets::ReconcileBudget`) |
//! | `IMPORT_JOB_TIME_SECS`, `IMPORT_JOB_SLICE_MS`, `IMPORT_JOB_PAGE` | device-import jobs (see `devices::jobs::JobBudget`) |
//! | `ROLES_CLAIM` | the JWT claim holding the caller's roles (default `roles`) |
//! | `CONFIGURATION_SAFETY_CAP` | configurations a run may create or set inactive without a confirmation (default 100) |
//! | `CONFIGURATION_SITE_MAPPED_BUDGET_SECS` | the automatic configuration mapping when sites get mapped (default 8, then 5 s grace) |
//! | `CONFIGURATION_REFRESH_BUDGET_SECS` | the configurations refresh after a sync run (default 45; also stops 30 s before `FUNCTION_TIMEOUT_SECS`) |
//! | `APPROVER_ROLE`, `APPROVAL_TTL_SECS` | who may approve RMM operations (default `rmm-approver`), how long a request waits (default 3600) |

use crate::companies::routes::CompaniesApi;
use crate::configurations::routes::ConfigurationsApi;
use crate::connections::IntegrationSettings;
use crate::connections::routes::{IntegrationsApi, RunWiring};
use crate::datto::DattoConnector;
use crate::devices::jobs::{ImportJobWorker, JobBudget};
use crate::devices::routes::DevicesApi;
use crate::operations::OperationSettings;
use crate::operations::routes::OperationsApi;
use crate::psa::PsaConnector;
use crate::psa_import::routes::PsaImportApi;
use crate::secrets::SecretsManager;
use crate::site_mapping::company_routes::CompanyMappingApi;
use crate::site_mapping::routes::SitesApi;
use crate::store::{Cascades, DynamoStore};
use crate::sync::routes::SyncApi;
use crate::sync::{SyncDeps, SyncSettings};
use crate::tickets::routes::TicketsApi;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

/// Everything the flows are built from, once per process. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub store: DynamoStore,
    pub secrets: SecretsManager,
    pub datto: DattoConnector,
    pub psa: PsaConnector,
    pub settings: IntegrationSettings,
    pub sync: SyncSettings,
    pub hook_base_url: Option<String>,
    pub operations: OperationSettings,
    /// How a device-import job's worker spends an invocation.
    pub import_jobs: JobBudget,
    /// The clock the ticket flow's repeat windows use (tests inject one).
    pub clock: fn() -> i64,
}

impl App {
    /// Builds every client once from the environment.
    pub async fn from_env() -> Result<Self, crate::aws::MissingSetting> {
        let table = crate::aws::required_env("TABLE_NAME")?;
        let config = crate::aws::load_config().await;
        let http = crate::http::client();
        Ok(Self {
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table),
            secrets: SecretsManager::new(aws_sdk_secretsmanager::Client::new(&config)),
            datto: DattoConnector::from_env(http.clone()),
            psa: PsaConnector::from_env(http),
            settings: IntegrationSettings::from_env(),
            sync: SyncSettings::from_env(),
            hook_base_url: std::env::var("HOOK_BASE_URL").ok().filter(|u| !u.trim().is_empty()),
            operations: OperationSettings::from_env(),
            import_jobs: JobBudget::from_env(),
            clock: crate::time::now_millis,
        })
    }

    /// Every flow's router, merged: what the local API server serves (each
    /// Lambda `main` serves only its own flow's router). One line per flow;
    /// a new flow adds its `.merge(...router(...))` here and its
    /// `doc.merge(...routes().into_openapi())` in [`openapi`].
    pub fn all_routes(&self) -> OpenApiRouter {
        OpenApiRouter::new()
            .merge(crate::companies::routes::router(self.companies()))
            .merge(crate::connections::routes::router(self.integrations()))
            .merge(self.sync_routes())
            .merge(crate::site_mapping::routes::router(self.sites()))
            .merge(crate::site_mapping::company_routes::router(self.company_mappings()))
            .merge(crate::devices::routes::router(self.devices()))
            .merge(crate::psa_import::routes::router(self.psa_import()))
            .merge(crate::tickets::routes::router(self.tickets()))
            .merge(crate::configurations::routes::router(self.configurations()))
            .merge(crate::operations::routes::router(self.operations_api()))
    }

    pub fn operations_api(&self) -> OperationsApi {
        OperationsApi {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            datto: self.datto.clone(),
            integration_settings: self.settings.clone(),
            settings: self.operations.clone(),
            clock: self.clock,
            clients: Default::default(),
        }
    }

    pub fn integrations(&self) -> IntegrationsApi {
        IntegrationsApi {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            datto: self.datto.clone(),
            psa: self.psa.clone(),
            settings: self.settings.clone(),
            cascades: integration_cascades(&self.store),
            psa_cascades: vec![
                Arc::new(crate::tickets::ForgetPsa(self.tickets())),
                Arc::new(crate::configurations::forget::ForgetPsaConfigurations(
                    self.store.clone(),
                )),
            ],
            runs: RunWiring {
                datto: Some(&crate::sync::SYNC_RUNS),
                psa: Some(&crate::psa_import::PSA_IMPORT_RUNS),
                device_import: Some(&crate::devices::jobs::IMPORT_JOBS),
                first_sync: Some(Arc::new(crate::sync::SyncStarter(Arc::new(self.sync_deps())))),
                ..RunWiring::default()
            },
        }
    }

    pub fn companies(&self) -> CompaniesApi {
        CompaniesApi {
            store: self.store.clone(),
            cascades: company_cascades(&self.store),
        }
    }

    pub fn sites(&self) -> SitesApi {
        SitesApi {
            store: self.store.clone(),
            on_mapped: self.sites_mapped_hooks(),
        }
    }

    /// The company-side mapping routes: they create sites in Datto RMM, so they hold its connector.
    pub fn company_mappings(&self) -> CompanyMappingApi {
        CompanyMappingApi {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            datto: self.datto.clone(),
            on_mapped: self.sites_mapped_hooks(),
        }
    }

    /// What mapping sites to a company sets off: the configurations' automatic mapping.
    pub fn sites_mapped_hooks(&self) -> crate::site_mapping::hooks::SitesMappedHooks {
        vec![Arc::new(
            crate::configurations::on_site_mapped::AutoMapOnSiteMapped::from_env(self.configurations()),
        )]
    }

    pub fn devices(&self) -> DevicesApi {
        DevicesApi {
            store: self.store.clone(),
            jobs: self.import_jobs,
        }
    }

    /// The device-import worker: runs queued import jobs.
    pub fn import_job_worker(&self) -> ImportJobWorker {
        ImportJobWorker {
            store: self.store.clone(),
            budget: self.import_jobs,
        }
    }

    pub fn sync_deps(&self) -> SyncDeps {
        SyncDeps {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            datto: self.datto.clone(),
            settings: self.sync.clone(),
        }
    }

    /// The sync worker: the sync, the device auto-import and the configurations refresh.
    pub fn sync_worker(&self) -> crate::workers::SyncWorker {
        let secs = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<u64>().ok());
        crate::workers::SyncWorker {
            deps: self.sync_deps(),
            configurations: Some(crate::workers::ConfigurationsAfterSync {
                api: self.configurations(),
                time: std::time::Duration::from_secs(secs("CONFIGURATION_REFRESH_BUDGET_SECS").unwrap_or(45)),
                function_timeout: secs("FUNCTION_TIMEOUT_SECS").map(std::time::Duration::from_secs),
            }),
        }
    }

    pub fn sync_api(&self) -> SyncApi {
        SyncApi {
            deps: Arc::new(self.sync_deps()),
        }
    }

    /// What the sync-api Lambda serves: the sync routes and clear-and-resync.
    pub fn sync_routes(&self) -> OpenApiRouter {
        let api = self.sync_api();
        crate::sync::routes::router(api.clone()).merge(crate::resync::router(api))
    }

    pub fn psa_import(&self) -> PsaImportApi {
        PsaImportApi {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            psa: self.psa.clone(),
            settings: self.settings.clone(),
        }
    }

    pub fn configurations(&self) -> ConfigurationsApi {
        ConfigurationsApi {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            psa: self.psa.clone(),
            settings: self.settings.clone(),
            safety_cap: std::env::var("CONFIGURATION_SAFETY_CAP")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(crate::configurations::table::DEFAULT_SAFETY_CAP),
        }
    }

    pub fn tickets(&self) -> TicketsApi {
        TicketsApi {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            datto: self.datto.clone(),
            psa: self.psa.clone(),
            settings: self.settings.clone(),
            clock: self.clock,
            hook_base_url: self.hook_base_url.clone(),
            timing: crate::tickets::TicketTiming::from_env(),
        }
    }
}

/// What deleting a portal company lets go of first: the site mappings to it.
pub fn company_cascades(store: &DynamoStore) -> Cascades {
    vec![Arc::new(crate::site_mapping::ReleaseSites(store.clone()))]
}

/// What deleting a Datto RMM integration lets go of first: its assets stay, unlinked.
pub fn integration_cascades(store: &DynamoStore) -> Cascades {
    vec![Arc::new(crate::devices::assets::UnlinkAssets(store.clone()))]
}

/// The name of the JWT bearer scheme in the OpenAPI document.
pub const JWT_SCHEME: &str = "jwt";

/// The OpenAPI 3.1 document of every flow's routes (`docs/openapi.json` is
/// this, written by `cargo run -p rmmsync-tests --bin openapi`): built from
/// the stateless `routes()` of each flow, one line per flow as in
/// [`App::all_routes`]. Every operation needs the JWT bearer token except
/// the webhooks (`/hooks/...`), which carry their own hook tokens.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{InfoBuilder, OpenApi};
    let mut doc = OpenApi::default();
    doc.merge(crate::companies::routes::routes().into_openapi());
    doc.merge(crate::connections::routes::routes().into_openapi());
    doc.merge(crate::sync::routes::routes().into_openapi());
    doc.merge(crate::resync::routes().into_openapi());
    doc.merge(crate::site_mapping::routes::routes().into_openapi());
    doc.merge(crate::site_mapping::company_routes::routes().into_openapi());
    doc.merge(crate::devices::routes::routes().into_openapi());
    doc.merge(crate::psa_import::routes::routes().into_openapi());
    doc.merge(crate::tickets::routes::routes().into_openapi());
    doc.merge(crate::configurations::routes::routes().into_openapi());
    doc.merge(crate::operations::routes::routes().into_openapi());

    doc.info = InfoBuilder::new()
        .title("rmmsync")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Datto RMM <-> PSA <-> client portal. Every route but the webhooks (`/hooks/...`) needs the \
             portal's JWT (its `tenant` claim scopes everything); errors are `Problem`s with a stable `code`.",
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        JWT_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("The portal's token, verified by API Gateway's JWT authorizer"))
                .build(),
        ),
    );
    {
        use utoipa::{PartialSchema, ToSchema};
        components
            .schemas
            .entry(crate::api::Problem::name().into_owned())
            .or_insert_with(crate::api::Problem::schema);
    }
    // The `Caller` extractor and the body/parameter readers answer 400 on any
    // route (a path segment over 256 characters, a body that is not the
    // documented object): every route behind the authorizer documents it.
    let bad_request: utoipa::openapi::RefOr<utoipa::openapi::Response> = utoipa::openapi::ResponseBuilder::new()
        .description("A malformed request: a path segment over 256 characters, a bad parameter or body")
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into();
    for (path, item) in doc.paths.paths.iter_mut() {
        let hook = path.starts_with("/hooks/");
        let security = if hook {
            Vec::new()
        } else {
            vec![SecurityRequirement::new::<_, [&str; 0], &str>(JWT_SCHEME, [])]
        };
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
            &mut item.query,
        ]
        .into_iter()
        .flatten()
        {
            op.security = Some(security.clone());
            if !hook {
                op.responses
                    .responses
                    .entry("400".into())
                    .or_insert_with(|| bad_request.clone());
            }
        }
    }
    doc
}
