//! The worker Lambdas' work, composed from the flows: a sync run is the sync
//! itself, then (once its listing is complete) the device auto-import, then the
//! configurations refresh, all recorded on the one run record. Sync knows
//! nothing of device import or configurations; this module, above them,
//! puts them in order. Both workers are driven by the run machine's
//! [`drive`](crate::runs::worker::drive).

use crate::configurations::routes::ConfigurationsApi;
use crate::devices::import::{AutoImportLimits, after_sync};
use crate::runs::events::RunRef;
use crate::runs::worker::Worker;
use crate::runs::{RunKind, RunStatus};
use crate::sync::{RunBudget, RunRecord, SYNC_RUNS, SyncDeps, SyncError, run_once, schedule_all};
use crate::tenant::TenantId;
use std::time::{Duration, Instant};

/// What the configurations refresh after a sync needs, and how long it may take.
#[derive(Clone)]
pub struct ConfigurationsAfterSync {
    pub api: ConfigurationsApi,
    /// `CONFIGURATION_REFRESH_BUDGET_SECS` (default 45): the refresh stops between PSA calls
    /// after this; the next run carries on.
    pub time: Duration,
    /// `FUNCTION_TIMEOUT_SECS`: when set, the refresh also stops 30 s before the invocation's
    /// end (the run must still be written back).
    pub function_timeout: Option<Duration>,
}

impl ConfigurationsAfterSync {
    /// The refresh's budget in an invocation that started at `started`.
    pub fn budget(&self, started: Instant) -> Duration {
        match self.function_timeout {
            None => self.time,
            Some(limit) => self.time.min(
                limit
                    .saturating_sub(Duration::from_secs(30))
                    .saturating_sub(started.elapsed()),
            ),
        }
    }
}

/// One invocation of a sync run, followed by the auto-import when the run
/// completes its listing (no configurations refresh: see [`sync_run_with`]).
pub async fn sync_run(
    deps: &SyncDeps,
    tenant: &TenantId,
    integration_id: &str,
    run_id: &str,
    budget: &RunBudget,
) -> Result<RunRecord, SyncError> {
    sync_run_with(deps, None, tenant, integration_id, run_id, budget).await
}

/// One invocation of a sync run; when it completes its listing, the auto-import, then (given
/// `configurations`) the configurations refresh of every PSA integration set up for it.
pub async fn sync_run_with(
    deps: &SyncDeps,
    configurations: Option<&ConfigurationsAfterSync>,
    tenant: &TenantId,
    integration_id: &str,
    run_id: &str,
    budget: &RunBudget,
) -> Result<RunRecord, SyncError> {
    let started = Instant::now();
    run_once(
        deps,
        tenant,
        integration_id,
        run_id,
        budget,
        async |run: &mut RunRecord| {
            let limits = AutoImportLimits {
                time: budget.import_time,
                page: budget.import_page,
            };
            Box::pin(after_sync(&deps.store, tenant, integration_id, run, limits)).await;
            if let Some(c) = configurations {
                let time = c.budget(started);
                Box::pin(crate::configurations::after_sync::after_sync(
                    &c.api.map(),
                    tenant,
                    integration_id,
                    run,
                    time,
                ))
                .await;
            }
        },
    )
    .await
}

/// The sync worker: the 15-minute tick starts a run for every Datto RMM
/// integration without one; each waiting run gets one invocation.
pub struct SyncWorker {
    pub deps: SyncDeps,
    /// The configurations refresh after a complete run (`None`: none).
    pub configurations: Option<ConfigurationsAfterSync>,
}

impl Worker for SyncWorker {
    type Error = SyncError;

    fn kind(&self) -> &'static RunKind {
        &SYNC_RUNS
    }

    async fn schedule(&self) -> Result<usize, SyncError> {
        Ok(schedule_all(&self.deps).await?.len())
    }

    async fn run(&self, r: &RunRef) -> Result<RunStatus, SyncError> {
        match sync_run_with(
            &self.deps,
            self.configurations.as_ref(),
            &r.tenant,
            &r.integration_id,
            &r.run_id,
            &self.deps.settings.budget,
        )
        .await
        {
            Ok(run) => Ok(run.status),
            // Gone with its integration: nothing to do, and nothing to retry.
            Err(SyncError::RunNotFound(_)) => Ok(RunStatus::Failed),
            Err(e) => Err(e),
        }
    }
}
