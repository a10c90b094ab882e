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
//! | `SYNC_AUDIT_BUDGET`, `SYNC_TIME_BUDGET_SECS`, `SYNC_WRITERS`, `SYNC_LEASE_TTL_SECS` | sync runs |
//! | `HOOK_BASE_URL` | the API's public URL, for registering ConnectWise callbacks |
//! | `ROLES_CLAIM` | the JWT claim holding the caller's roles (default `roles`) |

use crate::companies::routes::CompaniesApi;
use crate::connections::IntegrationSettings;
use crate::connections::routes::IntegrationsApi;
use crate::datto::DattoConnector;
use crate::devices::routes::DevicesApi;
use crate::psa::PsaConnector;
use crate::psa_import::routes::PsaImportApi;
use crate::secrets::SecretsManager;
use crate::site_mapping::routes::SitesApi;
use crate::store::{Cascades, DynamoStore};
use crate::sync::routes::SyncApi;
use crate::sync::{SyncDeps, SyncSettings};
use crate::tickets::routes::TicketsApi;
use std::sync::Arc;

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
            clock: crate::time::now_millis,
        })
    }

    pub fn integrations(&self) -> IntegrationsApi {
        IntegrationsApi {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            datto: self.datto.clone(),
            psa: self.psa.clone(),
            settings: self.settings.clone(),
            cascades: integration_cascades(&self.store),
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
        }
    }

    pub fn devices(&self) -> DevicesApi {
        DevicesApi {
            store: self.store.clone(),
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

    pub fn sync_api(&self) -> SyncApi {
        SyncApi {
            deps: Arc::new(self.sync_deps()),
        }
    }

    pub fn psa_import(&self) -> PsaImportApi {
        PsaImportApi {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            psa: self.psa.clone(),
            settings: self.settings.clone(),
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
