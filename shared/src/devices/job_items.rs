//! The items of device-import jobs (see [`super::jobs`]).
//!
//! | item | PK | SK |
//! |---|---|---|
//! | a job | `TENANT#{t}#INTEGRATION#{id}` | `IMPORTJOB#{jobId}` |
//! | the lease: one active job per integration | `TENANT#{t}#INTEGRATION#{id}` | `JOBLEASE#IMPORT` |
//! | a chunk of the job's per-device results | `TENANT#{t}#INTEGRATION#{id}` | `IMPORTRES#{jobId}#{seq:06}` |
//!
//! The job item carries `entity`, `status`, `tenant`, `integrationId` and
//! `runId` as attributes (the stream filter and the run machine read them),
//! `claim`/`claimedUntil` (which invocation works on it, and until when its
//! claim is live), and the whole record as JSON in `run`. Every write of a
//! job by a worker is conditional on its claim, so an invocation that lost
//! the job (it was taken over after its claim went stale) writes nothing.
//!
//! Result chunks are numbered in the order the job wrote them; the job
//! records how many count (`resultChunks`) in the same write as the progress
//! they belong to. A batch redone after a fault rewrites the same numbers,
//! and chunks past the job's count are never read, so no result is listed twice.

use super::import::{DeviceResult, ImportReport, ImportRequest, LANES};
use crate::runs::{RunError, RunKind, RunStatus, Trigger, record_error};
use crate::store::{DynamoStore, Fields, Item, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;
use crate::time::{format_rfc3339, now_millis};
use serde::{Deserialize, Serialize};

/// Device-import jobs: `IMPORTJOB#{jobId}` items, the `JOBLEASE#IMPORT` lease;
/// `queued` and `continuing` jobs wait for a worker.
pub static IMPORT_JOBS: RunKind = RunKind {
    entity: "import-job",
    sk_prefix: "IMPORTJOB#",
    lease_sk: "JOBLEASE#IMPORT",
    lease_entity: "import-job-lease",
    waiting: &[RunStatus::Queued, RunStatus::Continuing],
};

/// Errors a job keeps.
const MAX_ERRORS: usize = 20;

/// What a job has done so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobCounts {
    /// Devices decided (imported or failed).
    pub requested: u64,
    pub imported: u64,
    pub failed: u64,
    /// DynamoDB item writes (assets, import states, results, the job).
    pub writes: u64,
    /// Devices read.
    pub reads: u64,
}

/// The error list entry of a job (the slice it happened in).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct JobErrorContext {
    pub at: String,
}

/// A device-import job as stored (the `run` JSON of its item).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    pub run_id: String,
    pub integration_id: String,
    pub status: RunStatus,
    pub trigger: Trigger,
    pub request: ImportRequest,
    pub counts: JobCounts,
    /// Where the next slice starts: for a type, each unfinished shard lane's
    /// `{shard}\t{after uid}` on a line (empty: from the start); for a list
    /// of uids, how many are done.
    pub progress: String,
    /// Result chunks that count (see [`super::job_items`]).
    pub result_chunks: u32,
    /// For a type, how many devices the last sync counted of it when the job
    /// was queued (for the progress between shard boundaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    pub invocations: u32,
    /// Faults in a row (reset by a slice that went through).
    pub attempts: u32,
    pub errors: Vec<RunError<JobErrorContext>>,
    /// The invocation working on it and until when (epoch ms) its claim is live.
    pub claim: String,
    pub claimed_until: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl JobRecord {
    pub(super) fn record_error(&mut self, code: &str, message: String) {
        let at = format_rfc3339(now_millis());
        record_error(&mut self.errors, MAX_ERRORS, code, message, JobErrorContext { at });
    }

    pub(super) fn add(&mut self, report: &ImportReport) {
        self.counts.requested += report.requested;
        self.counts.imported += report.imported;
        self.counts.failed += report.failed;
        self.counts.writes += report.writes;
        self.counts.reads += report.reads;
    }

    /// How far the job is, 0-100 (100 only once it finished).
    pub fn percent(&self) -> u8 {
        if !self.status.is_active() {
            return 100;
        }
        let done = match &self.request {
            ImportRequest::Devices(uids) => {
                let done: usize = self.progress.parse().unwrap_or(0);
                (done * 100 / uids.len().max(1)) as u64
            }
            ImportRequest::Type { .. } => {
                // Whole shards behind every lane, and (finer, while the lanes are
                // inside their shards) the devices decided of those the sync counted.
                let by_shards = if self.progress.is_empty() {
                    0
                } else {
                    // Each lane walks the shards `lane, lane + 4, ...`; a lane not
                    // listed any more is through all of its shards.
                    let lanes = keys::SHARDS / LANES;
                    let mut done = keys::SHARDS;
                    for line in self.progress.lines() {
                        let shard: u32 = line.split('\t').next().and_then(|s| s.parse().ok()).unwrap_or(0);
                        done -= lanes.saturating_sub(shard / LANES);
                    }
                    u64::from(done) * 100 / u64::from(keys::SHARDS)
                };
                let by_devices = match self.expected {
                    Some(expected) if expected > 0 => self.counts.requested * 100 / expected,
                    _ => 0,
                };
                by_shards.max(by_devices)
            }
        };
        done.min(99) as u8
    }
}

/// Results per chunk item (about 150 bytes each: far below DynamoDB's 400 KB).
pub const RESULTS_PER_CHUNK: usize = 500;

pub(super) fn job_sk(job_id: &str) -> String {
    format!("IMPORTJOB#{job_id}")
}

fn results_sk(job_id: &str, seq: u32) -> String {
    format!("IMPORTRES#{job_id}#{seq:06}")
}

fn key(pk: String, sk: String) -> Item {
    Item::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

/// A job's item as stored.
pub(super) fn job_item(tenant: &TenantId, job: &JobRecord) -> Item {
    Item::from([
        ("PK".into(), s(keys::integration_pk(tenant, &job.integration_id))),
        ("SK".into(), s(job_sk(&job.run_id))),
        ("entity".into(), s(IMPORT_JOBS.entity)),
        ("tenant".into(), s(tenant.as_str())),
        ("integrationId".into(), s(&job.integration_id)),
        ("runId".into(), s(&job.run_id)),
        ("status".into(), s(job.status.as_str())),
        ("claim".into(), s(&job.claim)),
        ("claimedUntil".into(), n(job.claimed_until)),
        ("createdAt".into(), n(job.created_at)),
        ("run".into(), s(serde_json::to_string(job).expect("a job serialises"))),
    ])
}

/// What a write of a job must find stored.
pub(super) enum Expect<'a> {
    /// No job of this id yet.
    New,
    /// Waiting in one of these statuses.
    Waiting(RunStatus),
    /// Still claimed by this claim.
    Claim(&'a str),
    /// `running` under `claim`, whose liveness ended before `now`.
    Stale { claim: &'a str, now: i64 },
}

impl DynamoStore {
    /// Writes a job if the stored one is as `expect` says (`ConditionFailed` otherwise).
    pub(super) async fn put_job(
        &self,
        tenant: &TenantId,
        job: &JobRecord,
        expect: Expect<'_>,
    ) -> Result<(), StoreError> {
        let put = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(job_item(tenant, job)));
        let put = match expect {
            Expect::New => put.condition_expression("attribute_not_exists(PK)"),
            Expect::Waiting(status) => put
                .condition_expression("#status = :was")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":was", s(status.as_str())),
            Expect::Claim(claim) => put
                .condition_expression("claim = :claim")
                .expression_attribute_values(":claim", s(claim)),
            Expect::Stale { claim, now } => put
                .condition_expression("#status = :running AND claim = :claim AND claimedUntil < :now")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":running", s(RunStatus::Running.as_str()))
                .expression_attribute_values(":claim", s(claim))
                .expression_attribute_values(":now", n(now)),
        };
        put.send().await.map_err(classify)?;
        Ok(())
    }

    pub(super) async fn get_job(
        &self,
        tenant: &TenantId,
        integration: &str,
        job_id: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key(keys::integration_pk(tenant, integration), job_sk(job_id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(item) = out.item else { return Ok(None) };
        let raw = Fields(&item).s("run")?;
        serde_json::from_str(&raw)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("import job {job_id}: {e}")))
    }

    /// Writes results as chunks `first`, `first + 1`, ...; returns how many.
    pub(super) async fn put_result_chunks(
        &self,
        tenant: &TenantId,
        integration: &str,
        job_id: &str,
        first: u32,
        results: &[DeviceResult],
    ) -> Result<u32, StoreError> {
        let pk = keys::integration_pk(tenant, integration);
        let mut written = 0;
        for chunk in results.chunks(RESULTS_PER_CHUNK) {
            let mut item = key(pk.clone(), results_sk(job_id, first + written));
            item.insert("entity".into(), s("import-job-results"));
            item.insert("count".into(), n(chunk.len() as i64));
            item.insert(
                "results".into(),
                s(serde_json::to_string(chunk).expect("results serialise")),
            );
            self.client()
                .put_item()
                .table_name(self.table())
                .set_item(Some(item))
                .send()
                .await
                .map_err(classify)?;
            written += 1;
        }
        Ok(written)
    }

    /// Result chunks `from..to` in order, at most `max` of them.
    pub(super) async fn result_chunks(
        &self,
        tenant: &TenantId,
        integration: &str,
        job_id: &str,
        from: u32,
        to: u32,
        max: i32,
    ) -> Result<Vec<(u32, Vec<DeviceResult>)>, StoreError> {
        if from >= to {
            return Ok(Vec::new());
        }
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(keys::integration_pk(tenant, integration)))
            .expression_attribute_values(":from", s(results_sk(job_id, from)))
            .expression_attribute_values(":to", s(results_sk(job_id, to - 1)))
            .consistent_read(true)
            .limit(max.max(1))
            .send()
            .await
            .map_err(classify)?;
        let prefix = format!("IMPORTRES#{job_id}#");
        out.items()
            .iter()
            .map(|item| {
                let f = Fields(item);
                let seq = f
                    .s("SK")?
                    .strip_prefix(&prefix)
                    .and_then(|n| n.parse::<u32>().ok())
                    .ok_or_else(|| StoreError::Corrupt("an import result chunk without its number".into()))?;
                let results = serde_json::from_str(&f.s("results")?)
                    .map_err(|e| StoreError::Corrupt(format!("import results of {job_id}: {e}")))?;
                Ok((seq, results))
            })
            .collect()
    }
}
