//! Automatic mapping when sites get mapped to a company: the site mapping routes' hook
//! ([`crate::site_mapping::hooks::SitesMapped`], wired in `app.rs`). Mapping a site by hand,
//! by quick match or from the company side runs, for every PSA integration with automatic
//! mapping on, [`ConfigMap::auto_map`] on the devices of the sites just mapped: the same
//! proposals, safety cap (over it nothing is written and the run is recorded `held`, for a
//! confirmed "Map Now"), Autotask budget reserve and audit trail as "Map Now".
//!
//! It runs before the mapping's answer, within a budget (`CONFIGURATION_SITE_MAPPED_BUDGET_SECS`,
//! default 8): the writes stop between devices at the budget, and a PSA too slow to answer
//! is cut off a few seconds later ([`GRACE`]). Either way the mapping itself is saved and
//! answered as usual; what was left is recorded in the settings (`lastRun`, `pending`) and the
//! sync worker's next run carries on. A configuration whose create was cut off is found by
//! the device uid next time (lookup before create), never made twice. Nothing here fails the
//! mapping: errors are recorded on the run record and logged (counts and codes, no values).

use super::auto::AutoRequest;
use super::routes::ConfigurationsApi;
use super::settings::AutoRun;
use super::table::ConfigMap;
use crate::site_mapping::hooks::{HookFuture, SitesMapped};
use crate::tenant::TenantId;
use std::time::{Duration, Instant};

/// How long past its budget a run may be stuck in one PSA call before it is cut off.
pub const GRACE: Duration = Duration::from_secs(5);

/// The hook: automatic mapping for the sites just mapped.
#[derive(Clone)]
pub struct AutoMapOnSiteMapped {
    pub api: ConfigurationsApi,
    /// The writes stop between devices after this.
    pub budget: Duration,
}

impl AutoMapOnSiteMapped {
    /// The budget from `CONFIGURATION_SITE_MAPPED_BUDGET_SECS` (default 8).
    pub fn from_env(api: ConfigurationsApi) -> Self {
        let secs = std::env::var("CONFIGURATION_SITE_MAPPED_BUDGET_SECS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(8);
        Self {
            api,
            budget: Duration::from_secs(secs),
        }
    }

    async fn run(&self, map: &ConfigMap<'_>, tenant: &TenantId, integration: &str, sites: &[String], on: &[String]) {
        let deadline = Instant::now() + self.budget;
        for psa in on {
            let req = AutoRequest {
                trigger: "siteMapped",
                sites: Some(sites),
                preview: false,
                confirm: false,
                confirmed_left: None,
                deadline: Some(deadline),
            };
            // The run records itself (see `auto_map`); here only a log line without values.
            match map.auto_map(tenant, integration, psa, req).await {
                Ok(r) => tracing::info!(
                    tenant = %tenant, integration, psa = %psa, links = r.links, creations = r.creations,
                    failed = r.failed, left = r.left, "automatic configuration mapping after a site mapping"
                ),
                Err(e) => tracing::warn!(
                    tenant = %tenant, integration, psa = %psa, code = e.code,
                    "automatic configuration mapping after a site mapping did not run"
                ),
            }
        }
    }
}

impl SitesMapped for AutoMapOnSiteMapped {
    fn sites_mapped<'a>(&'a self, tenant: &'a TenantId, integration: &'a str, sites: &'a [String]) -> HookFuture<'a> {
        Box::pin(async move {
            let map = self.api.map();
            let on: Vec<String> = match map.integrations.store.config_settings_all(tenant, integration).await {
                Ok(all) => all
                    .into_iter()
                    .filter(|s| s.automatic_mapping)
                    .map(|s| s.psa_integration_id)
                    .collect(),
                Err(e) => {
                    tracing::warn!(tenant = %tenant, integration, error = %e, "configuration settings unreadable");
                    return;
                }
            };
            if on.is_empty() {
                return;
            }
            let started_at = crate::time::now_millis();
            let work = self.run(&map, tenant, integration, sites, &on);
            if tokio::time::timeout(self.budget + GRACE, work).await.is_ok() {
                return;
            }
            // Cut off inside a PSA call: say so, and leave the rest to the next sync run.
            for psa in &on {
                let run = AutoRun {
                    trigger: "siteMapped".into(),
                    started_at,
                    finished_at: crate::time::now_millis(),
                    outcome: "incomplete".into(),
                    message: Some(format!(
                        "the PSA did not answer within {} s: the next sync run carries on",
                        (self.budget + GRACE).as_secs()
                    )),
                    ..AutoRun::default()
                };
                if let Err(e) = map
                    .integrations
                    .store
                    .record_auto_run(tenant, integration, psa, &run)
                    .await
                {
                    tracing::warn!(error = %e, "the automatic mapping run record was not saved");
                }
            }
        })
    }
}
