//! The worker Lambdas' work, composed from the flows: a sync run is the sync
//! itself, then (once its listing is complete) the device auto-import, both
//! recorded on the one run record. Sync knows nothing of device import;
//! this module, above both, puts them in order. Both workers are driven by
//! the run machine's [`drive`](crate::runs::worker::drive).

use crate::devices::import::{AutoImportLimits, after_sync};
use crate::runs::events::RunRef;
use crate::runs::worker::Worker;
use crate::runs::{RunKind, RunStatus};
use crate::sync::{RunBudget, RunRecord, SYNC_RUNS, SyncDeps, SyncError, run_once, schedule_all};
use crate::tenant::TenantId;

/// One invocation of a sync run, followed by the auto-import when the run
/// completes its listing.
pub async fn sync_run(
    deps: &SyncDeps,
    tenant: &TenantId,
    integration_id: &str,
    run_id: &str,
    budget: &RunBudget,
) -> Result<RunRecord, SyncError> {
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
        },
    )
    .await
}

/// The sync worker: the 15-minute tick starts a run for every Datto RMM
/// integration without one; each waiting run gets one invocation.
pub struct SyncWorker(pub SyncDeps);

impl Worker for SyncWorker {
    type Error = SyncError;

    fn kind(&self) -> &'static RunKind {
        &SYNC_RUNS
    }

    async fn schedule(&self) -> Result<usize, SyncError> {
        Ok(schedule_all(&self.0).await?.len())
    }

    async fn run(&self, r: &RunRef) -> Result<RunStatus, SyncError> {
        match sync_run(
            &self.0,
            &r.tenant,
            &r.integration_id,
            &r.run_id,
            &self.0.settings.budget,
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
