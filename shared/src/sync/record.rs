//! The sync run item (`RUN#{runId}` in the integration's partition): status,
//! phase, counts, the resume cursor and the capped error list. Statuses,
//! triggers and the error list are the run machine's ([`crate::runs`]).

use crate::runs::{RunError, RunKind, record_error};
use crate::tenant::TenantId;
use crate::time::now_millis;
use serde::{Deserialize, Serialize};

pub use crate::runs::{RunStatus, Trigger};

/// Sync runs: `RUN#{runId}` items, the `SYNC#LEASE` lease; `queued` and
/// `continuing` runs wait for the worker.
pub static SYNC_RUNS: RunKind = RunKind {
    entity: "sync-run",
    sk_prefix: "RUN#",
    lease_sk: "SYNC#LEASE",
    lease_entity: "sync-lease",
    waiting: &[RunStatus::Queued, RunStatus::Continuing],
};

/// At most this many errors are kept on a run record.
pub const MAX_ERRORS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Sites,
    Devices,
    Audits,
    Done,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunCounts {
    pub sites: u64,
    pub pseudo_sites: u64,
    pub sites_created: u64,
    pub sites_updated: u64,
    pub sites_removed: u64,
    pub devices_seen: u64,
    pub devices_created: u64,
    pub devices_updated: u64,
    pub devices_removed: u64,
    pub device_types: u64,
    pub audits_done: u64,
    pub audits_pending: u64,
    /// Devices of auto-sync types imported (or their assets updated) after the run.
    pub devices_imported: u64,
    pub devices_import_failed: u64,
    /// The auto-import stopped at its time budget; the next run carries on.
    pub devices_import_incomplete: bool,
    /// The configurations refresh after the run (every configured PSA integration): linked
    /// configurations written, set inactive (their devices deleted), writes that failed.
    pub configurations_updated: u64,
    pub configurations_deactivated: u64,
    pub configurations_failed: u64,
    /// The automatic mapping after the run (where on, after new devices): links and creations.
    pub configurations_linked: u64,
    pub configurations_created: u64,
    /// Refreshes or automatic mappings held for a confirmation (more deactivations than the safety cap): nothing written.
    pub configurations_held: u64,
    /// The refresh stopped at its time budget; the next run carries on.
    pub configurations_incomplete: bool,
    pub requests: u64,
    pub writes: u64,
    /// DynamoDB items the run read (the device index, changed devices, sites, bookkeeping).
    pub reads: u64,
    pub errors: u64,
}

/// What a sync run's error adds: when, and in which phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncErrorContext {
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
}

/// One entry of a sync run's error list.
pub type SyncRunError = RunError<SyncErrorContext>;

/// The `RUN#{runId}` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub run_id: String,
    pub tenant: String,
    pub integration_id: String,
    pub status: RunStatus,
    pub phase: Phase,
    /// `manual` (Sync Now) or `schedule`.
    pub trigger: Trigger,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default)]
    pub started_at: Option<i64>,
    #[serde(default)]
    pub finished_at: Option<i64>,
    /// `nextPageUrl` of the device page the next invocation fetches.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Id of the device listing this run works on (a resumed listing keeps its id).
    #[serde(default)]
    pub listing_id: Option<String>,
    #[serde(default)]
    pub seen_chunks: u32,
    /// `CHANGED#{runId}#{n}` items holding the uids of devices this run wrote
    /// (for the auto-import after it, which touches only those).
    #[serde(default)]
    pub changed_chunks: u32,
    /// When the listing's first seen-uid item expires (epoch seconds): its
    /// checkpoint must not outlive it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_expires_at: Option<i64>,
    #[serde(default)]
    pub resumed_from: Option<String>,
    #[serde(default)]
    pub invocations: u32,
    #[serde(default)]
    pub counts: RunCounts,
    #[serde(default)]
    pub errors: Vec<SyncRunError>,
}

impl RunRecord {
    pub fn new(tenant: &TenantId, integration_id: &str, run_id: &str, trigger: Trigger, now: i64) -> Self {
        Self {
            run_id: run_id.to_owned(),
            tenant: tenant.as_str().to_owned(),
            integration_id: integration_id.to_owned(),
            status: RunStatus::Queued,
            phase: Phase::Sites,
            trigger,
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
            cursor: None,
            listing_id: None,
            seen_chunks: 0,
            changed_chunks: 0,
            seen_expires_at: None,
            resumed_from: None,
            invocations: 0,
            counts: RunCounts::default(),
            errors: Vec::new(),
        }
    }

    pub fn record_error(&mut self, code: &str, message: impl Into<String>) {
        self.counts.errors += 1;
        let context = SyncErrorContext {
            at: now_millis(),
            phase: Some(self.phase),
        };
        record_error(&mut self.errors, MAX_ERRORS, code, message.into(), context);
    }
}
