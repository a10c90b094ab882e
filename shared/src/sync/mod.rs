//! Datto RMM site/device/device-type sync.
//!
//! - [`hash`]: FNV-1a 64, the stable content hash deciding what to write.
//! - [`index`]: the compact device index a run reads instead of every device.
//! - [`plan`]: pure: Datto objects into records, diffs, removals, type counts, audit selection.
//! - [`record`]: the sync run item (status, phase, counts, resume cursor, errors), on the run machine.
//! - [`items`]: the DynamoDB side: items, lease, resume state, concurrent batch writers.
//! - [`run`]: starting a run and running one invocation of it.
//! - [`routes`]: `POST /integrations/{id}/sync`, `GET /integrations/{id}/sync-runs` (newest
//!   first, paged), `GET /integrations/{id}/sync-runs/{runId}`.
//!
//! Items live in the integration's partition `TENANT#{tenant}#INTEGRATION#{id}`,
//! devices and their index in its shards `…#SHARD#{nn}` (see [`crate::store::keys::shard_of`]):
//!
//! | SK | item |
//! |---|---|
//! | `SITE#{uid}` | a site (the mapping flow reads it) |
//! | `DEVICE#{uid}` | a device, with its audit fields and `removedAt` (in the device's shard `…#SHARD#{nn}`) |
//! | `DEVIDX#{part}` | the shard's device index: uid, listing hash, removed, audit due, type (in the shard) |
//! | `SYNC#INDEX` | the device index is complete (its version and shard count) |
//! | `DEVTYPE#{category}#{type}` | how many devices of a Datto type |
//! | `RUN#{runId}` | a sync run |
//! | `SYNC#LEASE` | the one-run-at-a-time lease |
//! | `SYNC#STATE` | where an unfinished device listing resumes |
//! | `SEEN#{listing}#{n}` | uids a resumable listing has seen (expire after 7 days) |
//! | `CHANGED#{runId}#{n}` | uids of devices a run wrote, until the auto-import pass after a run takes them |

pub mod routes;

pub mod hash;
pub mod index;
pub mod items;
pub mod plan;
pub mod record;
pub mod run;

pub use record::{Phase, RunCounts, RunRecord, RunStatus, SYNC_RUNS, Trigger};
pub use run::{RunBudget, SyncStarter, queue_run, run_once, schedule_all, start_run, take_lease};

/// Reads a sync worker event: the schedule's tick or stream records of waiting sync runs.
pub fn parse_worker_event(
    event: &serde_json::Value,
) -> Result<crate::runs::events::WorkerEvent, crate::runs::events::EventError> {
    crate::runs::events::parse_run_event(event, SYNC_RUNS.entity, &SYNC_RUNS.waiting_strs())
}

use crate::connections::IntegrationError;
use crate::datto::DattoConnector;
use crate::secrets::SecretsManager;
use crate::store::{DynamoStore, StoreError};
use std::time::Duration;

/// Settings read once per cold start.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Concurrent BatchWriteItem calls per run.
    pub writers: usize,
    /// How long a lease holds without renewal (a crashed run frees it after this).
    pub lease_ttl: Duration,
    pub budget: RunBudget,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            writers: 8,
            lease_ttl: Duration::from_secs(15 * 60),
            budget: RunBudget::default(),
        }
    }
}

impl SyncSettings {
    /// `SYNC_AUDIT_BUDGET` (requests per run), `SYNC_TIME_BUDGET_SECS`
    /// (per invocation), `SYNC_IMPORT_BUDGET_SECS` (the auto-import after a
    /// complete listing), `SYNC_WRITERS`, `SYNC_LEASE_TTL_SECS`.
    pub fn from_env() -> Self {
        let mut s = Self::default();
        let num = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(v) = num("SYNC_AUDIT_BUDGET") {
            s.budget.audit_requests = v;
        }
        if let Some(v) = num("SYNC_TIME_BUDGET_SECS") {
            s.budget.time = Duration::from_secs(v);
        }
        if let Some(v) = num("SYNC_IMPORT_BUDGET_SECS") {
            s.budget.import_time = Duration::from_secs(v);
        }
        if let Some(v) = num("SYNC_WRITERS") {
            s.writers = v.clamp(1, 64) as usize;
        }
        if let Some(v) = num("SYNC_LEASE_TTL_SECS") {
            s.lease_ttl = Duration::from_secs(v);
        }
        s
    }
}

/// What a sync needs, built once per cold start.
pub struct SyncDeps {
    pub store: DynamoStore,
    pub secrets: SecretsManager,
    pub datto: DattoConnector,
    pub settings: SyncSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("a sync run is in progress: {0}")]
    Busy(String),
    #[error("integration {0} is disabled")]
    Disabled(String),
    #[error("no sync run {0}")]
    RunNotFound(String),
    #[error(transparent)]
    Integration(#[from] IntegrationError),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}
