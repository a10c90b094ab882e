//! The worker Lambdas' work, composed from the flows: a sync run is the sync
//! itself, then (once its listing is complete) the device auto-import, both
//! recorded on the one run record. Sync knows nothing of device import;
//! this module, above both, puts them in order.

use crate::devices::import::after_sync;
use crate::sync::{RunBudget, RunRecord, SyncDeps, SyncError, run_once};
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
            after_sync(&deps.store, tenant, integration_id, run).await;
        },
    )
    .await
}
