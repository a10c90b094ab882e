//! Device imports as jobs: `POST /integrations/{id}/import` queues a job and
//! answers `202` at once; the `device-import-worker` Lambda runs it in
//! slices, recording after each its progress, its counts and the per-device
//! results of the slice, which `GET .../import-jobs/{jobId}/results` lists a
//! page at a time. An import of any size (a whole type of 100,000 devices)
//! never holds a request open and never outgrows one invocation: a job
//! whose invocation runs out of time goes `continuing`, and that write (through
//! the DynamoDB stream) starts the next invocation where it stopped.
//!
//! Guarantees:
//! - **One active job per integration** (a [`RunKind`] lease); a second
//!   import while one runs gets `409 import_in_progress` naming the job.
//! - **Nothing lost, nothing twice.** A slice writes assets and import
//!   states first, then its result chunks, then the job (progress, counts,
//!   chunk count) in one conditional write. A fault before that last write
//!   redoes the slice: assets have deterministic ids (an import overwrites,
//!   never duplicates), result chunks are rewritten under the same numbers,
//!   and counts only move with the progress they belong to.
//! - **Faults are retried, then reported.** A store fault in a slice leaves
//!   the job `continuing` with the fault in its error list and tries again
//!   (up to [`MAX_ATTEMPTS`] faults in a row, then `failed`). An invocation
//!   that dies outright leaves the job `running` under a claim that is live
//!   only as long as an invocation may take; the worker's schedule (every
//!   5 minutes) hands stale claims and lost stream records back to a worker.
//! - **It stops when it must.** Before each slice, the run guard checks the
//!   integration is there and on and the lease still the job's
//!   ([`crate::runs::guard`]); a deleted integration gets nothing more
//!   written, a disabled one fails the job (importing again later is safe).

use super::import::{
    Completion, DeviceImporter, DeviceResult, ImportContext, ImportReport, ImportRequest, Paging, type_key,
};
use super::job_items::{Expect, RESULTS_PER_CHUNK};
pub use super::job_items::{IMPORT_JOBS, JobCounts, JobErrorContext, JobRecord};
use super::{DevicesError, ImportStatus, ensure_integration};
use crate::runs::events::RunRef;
use crate::runs::guard::{RunGuard, StopReason};
use crate::runs::history::{RunSummary, decode_cursor, is_run_id, list_runs, new_run_id};
use crate::runs::worker::Worker;
use crate::runs::{RunError, RunKind, RunStatus, Trigger};
use crate::store::{DynamoStore, StoreError, Switches, keys};
use crate::tenant::TenantId;
use crate::time::{format_rfc3339, now_millis};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant;

/// Faults in a row after which a job fails.
pub const MAX_ATTEMPTS: u32 = 5;
/// A job's lease outlives an invocation by this much (renewed by each).
const LEASE_MARGIN: Duration = Duration::from_secs(5 * 60);
/// A claim stays live this long after an invocation's budget.
const CLAIM_MARGIN: Duration = Duration::from_secs(60);
/// A waiting job no invocation took for this long lost its stream record.
const LOST_AFTER: Duration = Duration::from_secs(5 * 60);

/// How a worker invocation spends its time.
#[derive(Debug, Clone, Copy)]
pub struct JobBudget {
    /// Work per invocation (the function's timeout less a margin).
    pub time: Duration,
    /// Work per slice: progress and results are recorded after each.
    pub slice: Duration,
    /// Devices read per page (at most 500).
    pub page: i32,
}

impl Default for JobBudget {
    fn default() -> Self {
        Self {
            time: Duration::from_secs(12 * 60),
            slice: Duration::from_secs(5),
            page: 500,
        }
    }
}

impl JobBudget {
    /// `IMPORT_JOB_TIME_SECS`, `IMPORT_JOB_SLICE_MS` and `IMPORT_JOB_PAGE` over the defaults.
    pub fn from_env() -> Self {
        let num = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<u64>().ok());
        let d = Self::default();
        Self {
            time: num("IMPORT_JOB_TIME_SECS").map_or(d.time, Duration::from_secs),
            slice: num("IMPORT_JOB_SLICE_MS").map_or(d.slice, Duration::from_millis),
            page: num("IMPORT_JOB_PAGE").map_or(d.page, |p| p.clamp(1, 500) as i32),
        }
    }
}

/// What the API shows of a job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub job_id: String,
    pub integration_id: String,
    pub status: RunStatus,
    /// As it was posted: `{"deviceUids": [...]}` or `{"category", "deviceType"}`.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    pub counts: JobCounts,
    /// 0-100; 100 once finished.
    pub percent: u8,
    pub invocations: u32,
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<RunError<JobErrorContext>>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Where the per-device results are listed, a page at a time.
    pub results: String,
}

impl From<&JobRecord> for JobView {
    fn from(j: &JobRecord) -> Self {
        Self {
            job_id: j.run_id.clone(),
            integration_id: j.integration_id.clone(),
            status: j.status,
            request: match &j.request {
                ImportRequest::Devices(uids) => serde_json::json!({ "deviceUids": uids }),
                ImportRequest::Type { category, device_type } => {
                    serde_json::json!({ "category": category, "deviceType": device_type })
                }
            },
            counts: j.counts.clone(),
            percent: j.percent(),
            invocations: j.invocations,
            errors: j.errors.clone(),
            created_at: format_rfc3339(j.created_at),
            started_at: j.started_at.map(format_rfc3339),
            finished_at: j.finished_at.map(format_rfc3339),
            results: format!("/integrations/{}/import-jobs/{}/results", j.integration_id, j.run_id),
        }
    }
}

/// A page of a job's per-device results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultPage {
    pub job_id: String,
    pub status: RunStatus,
    pub results: Vec<DeviceResult>,
    /// Absent on the last page (of the results recorded so far).
    pub next_cursor: Option<String>,
}

/// A page of an integration's jobs, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobList {
    pub jobs: Vec<RunSummary>,
    pub next_cursor: Option<String>,
}

/// The jobs of one tenant's integrations; built per request or per worker.
pub struct ImportJobs<'a> {
    pub store: &'a DynamoStore,
    pub budget: JobBudget,
}

fn in_progress(job: &str) -> DevicesError {
    DevicesError::Conflict {
        code: "import_in_progress",
        message: format!(
            "import job {job} is still running for this integration; follow it at its results, or import again once it finished"
        ),
    }
}

impl ImportJobs<'_> {
    fn importer(&self) -> DeviceImporter<'_> {
        DeviceImporter { store: self.store }
    }

    /// Checks the request and queues its job (`202`): the integration must be
    /// there and on, a type must be mapped, and no other job may be active.
    pub async fn start(
        &self,
        tenant: &TenantId,
        integration: &str,
        request: ImportRequest,
    ) -> Result<JobRecord, DevicesError> {
        ensure_integration(self.store, tenant, integration).await?;
        if self
            .store
            .integration_switches(tenant, integration)
            .await?
            .is_some_and(|s: Switches| !s.enabled)
        {
            return Err(DevicesError::Conflict {
                code: "integration_disabled",
                message: format!(
                    "integration {integration} is disabled; enable it first (POST /integrations/{integration}/enable)"
                ),
            });
        }
        let mut expected = None;
        if let ImportRequest::Type { category, device_type } = &request {
            let ctx = self.importer().context(tenant, integration).await?;
            if !ctx.types.contains_key(&(category.clone(), device_type.clone())) {
                return Err(DevicesError::Rule {
                    code: "type_not_mapped",
                    message: format!(
                        "Datto type {category}/{device_type} is not mapped to a portal device type; map it first"
                    ),
                });
            }
            expected = self
                .store
                .type_counts(tenant, integration)
                .await?
                .into_iter()
                .find(|(c, t, _)| c == category && t == device_type)
                .map(|(_, _, count)| count.max(0) as u64);
        }
        let pk = keys::integration_pk(tenant, integration);
        let now = now_millis();
        let job_id = new_run_id(now);
        let ttl = (self.budget.time + LEASE_MARGIN).as_millis() as i64;
        let previous = self.store.lease_holder(&IMPORT_JOBS.lease(&pk)).await?;
        if let Err(holder) = self
            .store
            .acquire_lease(&IMPORT_JOBS.lease(&pk), &job_id, now, ttl)
            .await?
        {
            return Err(in_progress(&holder.unwrap_or_default()));
        }
        // The lease was free or had expired: a job that still held it stalled.
        if let Some((stale, _)) = previous {
            self.fail_stalled(tenant, integration, &stale, &job_id).await;
        }
        let job = JobRecord {
            run_id: job_id.clone(),
            integration_id: integration.to_owned(),
            status: RunStatus::Queued,
            trigger: Trigger::Manual,
            request,
            counts: JobCounts::default(),
            progress: String::new(),
            result_chunks: 0,
            expected,
            invocations: 0,
            attempts: 0,
            errors: Vec::new(),
            claim: String::new(),
            claimed_until: 0,
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
        };
        if let Err(e) = self.store.put_job(tenant, &job, Expect::New).await {
            self.store.release_lease(&IMPORT_JOBS.lease(&pk), &job_id).await.ok();
            return Err(e.into());
        }
        tracing::info!(tenant = %tenant, integration, job = %job_id, "device import job queued");
        Ok(job)
    }

    /// A job whose lease expired before it finished: failed, naming the one that took over.
    async fn fail_stalled(&self, tenant: &TenantId, integration: &str, stalled: &str, by: &str) {
        let Ok(Some(mut job)) = self.store.get_job(tenant, integration, stalled).await else {
            return;
        };
        if !job.status.is_active() {
            return;
        }
        let claim = job.claim.clone();
        job.record_error(
            "import_job.lease_expired",
            format!("the job stopped without finishing (its lease expired); job {by} took over"),
        );
        job.status = RunStatus::Failed;
        job.finished_at = Some(now_millis());
        let _ = self.store.put_job(tenant, &job, Expect::Claim(&claim)).await;
    }

    pub async fn get(&self, tenant: &TenantId, integration: &str, job_id: &str) -> Result<JobRecord, DevicesError> {
        ensure_integration(self.store, tenant, integration).await?;
        match is_run_id(job_id) {
            true => self.store.get_job(tenant, integration, job_id).await?,
            false => None,
        }
        .ok_or_else(|| DevicesError::NotFound(format!("no import job {job_id} in integration {integration}")))
    }

    /// The integration's jobs, newest first.
    pub async fn list(
        &self,
        tenant: &TenantId,
        integration: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<JobList, DevicesError> {
        ensure_integration(self.store, tenant, integration).await?;
        let after = match cursor {
            Some(c) => Some(
                decode_cursor(c)
                    .ok_or_else(|| DevicesError::Invalid("`cursor` is not one this API gave out".into()))?,
            ),
            None => None,
        };
        let pk = keys::integration_pk(tenant, integration);
        let page = list_runs(self.store, &pk, &IMPORT_JOBS, after.as_deref(), limit).await?;
        Ok(JobList {
            jobs: page.items.iter().filter_map(RunSummary::of).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// A page of a job's per-device results (only failures with `failed_only`).
    pub async fn results(
        &self,
        tenant: &TenantId,
        integration: &str,
        job_id: &str,
        failed_only: bool,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ResultPage, DevicesError> {
        let job = self.get(tenant, integration, job_id).await?;
        let (mut chunk, mut skip) = match cursor {
            Some(c) => decode_result_cursor(c)
                .ok_or_else(|| DevicesError::Invalid("`cursor` is not one this API gave out".into()))?,
            None => (0, 0),
        };
        let mut results = Vec::new();
        let mut next_cursor = None;
        'chunks: while chunk < job.result_chunks {
            let chunks = self
                .store
                .result_chunks(tenant, integration, job_id, chunk, job.result_chunks, 4)
                .await?;
            if chunks.is_empty() {
                break;
            }
            for (seq, rows) in chunks {
                for (i, r) in rows.into_iter().enumerate().skip(skip) {
                    if failed_only && r.status != ImportStatus::Failed {
                        continue;
                    }
                    if results.len() == limit {
                        next_cursor = Some(encode_result_cursor(seq, i));
                        break 'chunks;
                    }
                    results.push(r);
                }
                skip = 0;
                chunk = seq + 1;
            }
        }
        Ok(ResultPage {
            job_id: job.run_id,
            status: job.status,
            results,
            next_cursor,
        })
    }

    /// One worker invocation of a job: claims it, runs slices until it is
    /// done or the invocation's time is spent; returns the job as left.
    pub async fn run(&self, tenant: &TenantId, integration: &str, job_id: &str) -> Result<JobRecord, DevicesError> {
        let started = Instant::now();
        let Some(mut job) = self.store.get_job(tenant, integration, job_id).await? else {
            return Err(DevicesError::NotFound(format!("no import job {job_id}")));
        };
        let now = now_millis();
        let expect_claim = job.claim.clone();
        let expect = match job.status {
            RunStatus::Queued | RunStatus::Continuing => Expect::Waiting(job.status),
            RunStatus::Running if job.claimed_until < now => Expect::Stale {
                claim: &expect_claim,
                now,
            },
            // Another invocation has it, or it finished.
            _ => return Ok(job),
        };
        let claim = uuid::Uuid::new_v4().to_string();
        job.claim = claim.clone();
        job.claimed_until = now + (self.budget.time + CLAIM_MARGIN).as_millis() as i64;
        job.status = RunStatus::Running;
        job.invocations += 1;
        job.started_at.get_or_insert(now);
        job.updated_at = now;
        match self.store.put_job(tenant, &job, expect).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => {
                return Ok(self.store.get_job(tenant, integration, job_id).await?.unwrap_or(job));
            }
            Err(e) => return Err(e.into()),
        }
        let pk = keys::integration_pk(tenant, integration);
        let ttl = (self.budget.time + LEASE_MARGIN).as_millis() as i64;
        if let Err(holder) = self
            .store
            .acquire_lease(&IMPORT_JOBS.lease(&pk), job_id, now, ttl)
            .await?
        {
            job.record_error(
                StopReason::LeaseLost.code(),
                format!(
                    "job {} holds the integration's import lease now",
                    holder.unwrap_or_default()
                ),
            );
            return self.finish(tenant, job, &claim, RunStatus::Failed).await;
        }
        let guard = RunGuard::new(self.store.clone(), tenant, integration, &IMPORT_JOBS, job_id);
        let deadline = started + self.budget.time;
        let mut ctx: Option<ImportContext> = None;
        loop {
            let slice = async {
                guard.check().await?;
                if ctx.is_none() {
                    ctx = Some(
                        self.importer()
                            .context(tenant, integration)
                            .await
                            .map_err(store_error)?,
                    );
                }
                let ctx = ctx.as_ref().expect("loaded");
                let until = (Instant::now() + self.budget.slice).min(deadline);
                self.slice(tenant, ctx, &job, until).await
            };
            match slice.await {
                Ok((report, progress, complete)) => {
                    let chunks = self
                        .store
                        .put_result_chunks(tenant, integration, job_id, job.result_chunks, &report.results)
                        .await;
                    let chunks = match chunks {
                        Ok(c) => c,
                        Err(e) => return self.fault(tenant, job, &claim, e).await,
                    };
                    job.add(&report);
                    job.counts.writes += u64::from(chunks) + 1;
                    job.result_chunks += chunks;
                    job.progress = progress;
                    job.attempts = 0;
                    job.updated_at = now_millis();
                    if complete {
                        return self.finish(tenant, job, &claim, RunStatus::Succeeded).await;
                    }
                    if Instant::now() >= deadline {
                        job.status = RunStatus::Continuing;
                        // This write (through the stream) starts the next invocation.
                        self.store.put_job(tenant, &job, Expect::Claim(&claim)).await?;
                        return Ok(job);
                    }
                    if let Err(e) = self.store.put_job(tenant, &job, Expect::Claim(&claim)).await {
                        return match e {
                            // Taken over: the claim went stale under us. Stop writing.
                            StoreError::ConditionFailed => Ok(job),
                            e => self.fault(tenant, job, &claim, e).await,
                        };
                    }
                }
                Err(e) => {
                    if let Some(reason) = guard.stopped() {
                        return self.stopped(tenant, job, &claim, reason).await;
                    }
                    return self.fault(tenant, job, &claim, e).await;
                }
            }
        }
    }

    /// One slice: from the job's progress until `until` (one page at least).
    /// Returns what it did, the progress after it, and whether the job is through.
    async fn slice(
        &self,
        tenant: &TenantId,
        ctx: &ImportContext,
        job: &JobRecord,
        until: Instant,
    ) -> Result<(ImportReport, String, bool), StoreError> {
        let mut report = ImportReport::unlimited();
        let page = self.budget.page.clamp(1, 500) as usize;
        match &job.request {
            ImportRequest::Devices(uids) => {
                let mut done: usize = job.progress.parse().unwrap_or(0);
                while done < uids.len() {
                    let chunk = &uids[done..(done + page).min(uids.len())];
                    let mut found = self.store.devices_by_uid(tenant, &ctx.integration, chunk).await?;
                    report.reads += found.len() as u64;
                    let batch = chunk.iter().map(|u| (u.clone(), found.remove(u))).collect();
                    self.importer()
                        .apply(tenant, ctx, batch, false, &mut report)
                        .await
                        .map_err(store_error)?;
                    done += chunk.len();
                    if Instant::now() >= until {
                        break;
                    }
                }
                Ok((report, done.to_string(), done >= uids.len()))
            }
            ImportRequest::Type { category, device_type } => {
                let key = (category.clone(), device_type.clone());
                // Empty before the first slice; a job through every lane has finished.
                let start = (!job.progress.is_empty()).then(|| job.progress.clone());
                let completion = self
                    .importer()
                    .stream(
                        tenant,
                        ctx,
                        |d| type_key(d) == key,
                        false,
                        &mut report,
                        Paging {
                            size: page as i32,
                            start,
                            deadline: Some(until),
                        },
                    )
                    .await
                    .map_err(store_error)?;
                Ok(match completion {
                    Completion::Complete => (report, String::new(), true),
                    Completion::OutOfTime { resume_after } => (report, resume_after, false),
                })
            }
        }
    }

    /// A store fault in a slice: recorded; the job waits (`continuing`, after
    /// a short backoff) for the next invocation, or fails after too many in a row.
    async fn fault(
        &self,
        tenant: &TenantId,
        mut job: JobRecord,
        claim: &str,
        e: StoreError,
    ) -> Result<JobRecord, DevicesError> {
        job.attempts += 1;
        tracing::warn!(tenant = %tenant, job = %job.run_id, attempts = job.attempts, error = %e, "device import job: a slice failed");
        job.record_error("store_unavailable", e.to_string());
        if job.attempts >= MAX_ATTEMPTS {
            return self.finish(tenant, job, claim, RunStatus::Failed).await;
        }
        tokio::time::sleep(Duration::from_millis(250 << job.attempts.min(6))).await;
        job.status = RunStatus::Continuing;
        job.updated_at = now_millis();
        // If even this write fails, the claim goes stale and the schedule hands the job on.
        self.store.put_job(tenant, &job, Expect::Claim(claim)).await?;
        Ok(job)
    }

    async fn stopped(
        &self,
        tenant: &TenantId,
        mut job: JobRecord,
        claim: &str,
        reason: StopReason,
    ) -> Result<JobRecord, DevicesError> {
        tracing::info!(tenant = %tenant, job = %job.run_id, code = reason.code(), "device import job stopped by its guard");
        job.record_error(reason.code(), reason.message().to_owned());
        if reason == StopReason::Deleted {
            // The job's item goes with its integration: nothing more is written.
            job.status = RunStatus::Failed;
            return Ok(job);
        }
        self.finish(tenant, job, claim, RunStatus::Failed).await
    }

    async fn finish(
        &self,
        tenant: &TenantId,
        mut job: JobRecord,
        claim: &str,
        status: RunStatus,
    ) -> Result<JobRecord, DevicesError> {
        let now = now_millis();
        job.status = status;
        job.updated_at = now;
        job.finished_at = Some(now);
        match self.store.put_job(tenant, &job, Expect::Claim(claim)).await {
            Ok(()) => {}
            // Taken over after this invocation's claim went stale: the job (and
            // its lease, which is the job's, not the invocation's) is the other one's now.
            Err(StoreError::ConditionFailed) => return Ok(job),
            Err(e) => return Err(e.into()),
        }
        let pk = keys::integration_pk(tenant, &job.integration_id);
        self.store.release_lease(&IMPORT_JOBS.lease(&pk), &job.run_id).await?;
        tracing::info!(tenant = %tenant, job = %job.run_id, status = status.as_str(),
            imported = job.counts.imported, failed = job.counts.failed, "device import job finished");
        Ok(job)
    }

    /// The schedule's sweep: a job whose invocation died (claim stale) or
    /// whose stream record was lost (waiting too long) is written
    /// `continuing` again, which hands it to a worker. Returns how many.
    pub async fn requeue_stalled(&self) -> Result<usize, DevicesError> {
        let mut requeued = 0;
        for (tenant, integration) in self.store.registry_of(keys::INTEGRATION_REGISTRY).await? {
            let pk = keys::integration_pk(&tenant, &integration);
            let Some((job_id, _)) = self.store.lease_holder(&IMPORT_JOBS.lease(&pk)).await? else {
                continue;
            };
            let Some(mut job) = self.store.get_job(&tenant, &integration, &job_id).await? else {
                continue;
            };
            let now = now_millis();
            let claim = job.claim.clone();
            let expect = match job.status {
                RunStatus::Running if job.claimed_until < now => Expect::Stale { claim: &claim, now },
                RunStatus::Queued | RunStatus::Continuing if now - job.updated_at > LOST_AFTER.as_millis() as i64 => {
                    Expect::Waiting(job.status)
                }
                _ => continue,
            };
            job.status = RunStatus::Continuing;
            job.updated_at = now;
            match self.store.put_job(&tenant, &job, expect).await {
                Ok(()) => {
                    tracing::warn!(tenant = %tenant, integration = %integration, job = %job_id, "stalled device import job handed back to a worker");
                    requeued += 1;
                }
                Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(requeued)
    }
}

fn store_error(e: DevicesError) -> StoreError {
    match e {
        DevicesError::Store(e) => e,
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn encode_result_cursor(chunk: u32, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{chunk}:{offset}"))
}

fn decode_result_cursor(cursor: &str) -> Option<(u32, usize)> {
    if cursor.len() > 40 {
        return None;
    }
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (chunk, offset) = raw.split_once(':')?;
    let offset: usize = offset.parse().ok()?;
    (offset < RESULTS_PER_CHUNK).then_some(())?;
    Some((chunk.parse().ok()?, offset))
}

/// The device-import worker: a stream record of a waiting job gets one
/// invocation; the schedule hands stalled jobs back.
pub struct ImportJobWorker {
    pub store: DynamoStore,
    pub budget: JobBudget,
}

impl ImportJobWorker {
    fn jobs(&self) -> ImportJobs<'_> {
        ImportJobs {
            store: &self.store,
            budget: self.budget,
        }
    }
}

impl Worker for ImportJobWorker {
    type Error = DevicesError;

    fn kind(&self) -> &'static RunKind {
        &IMPORT_JOBS
    }

    async fn schedule(&self) -> Result<usize, DevicesError> {
        self.jobs().requeue_stalled().await
    }

    async fn run(&self, r: &RunRef) -> Result<RunStatus, DevicesError> {
        match self.jobs().run(&r.tenant, &r.integration_id, &r.run_id).await {
            Ok(job) => Ok(job.status),
            // Gone with its integration: nothing to do, and nothing to retry.
            Err(DevicesError::NotFound(_)) => Ok(RunStatus::Failed),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(request: ImportRequest, progress: &str, status: RunStatus) -> JobRecord {
        JobRecord {
            run_id: "j".into(),
            integration_id: "i".into(),
            status,
            trigger: Trigger::Manual,
            request,
            counts: JobCounts::default(),
            progress: progress.into(),
            result_chunks: 1,
            expected: None,
            invocations: 1,
            attempts: 0,
            errors: Vec::new(),
            claim: String::new(),
            claimed_until: 0,
            created_at: 0,
            updated_at: 0,
            started_at: None,
            finished_at: None,
        }
    }

    #[test]
    fn progress_grows_with_the_work_and_reaches_100_only_when_finished() {
        let list = ImportRequest::Devices((0..10).map(|i| i.to_string()).collect());
        assert_eq!(job(list.clone(), "5", RunStatus::Running).percent(), 50);
        assert_eq!(job(list.clone(), "10", RunStatus::Running).percent(), 99);
        assert_eq!(job(list, "10", RunStatus::Succeeded).percent(), 100);
        let t = ImportRequest::Type {
            category: "Desktop".into(),
            device_type: "Desktop".into(),
        };
        // Every lane at its first shard: nothing done.
        assert_eq!(job(t.clone(), "0\t\n1\t\n2\t\n3\t", RunStatus::Running).percent(), 0);
        // Lanes 0 and 1 through, lanes 2 and 3 half way.
        assert_eq!(job(t.clone(), "18\tu\n19\t", RunStatus::Running).percent(), 75);
        assert_eq!(job(t.clone(), "", RunStatus::Succeeded).percent(), 100);
        // Inside their first shards, the lanes have decided 300 of the 1,000
        // devices the sync counted: 30%, not 0%.
        let mut inside = job(t.clone(), "0\tu\n1\tu\n2\tu\n3\tu", RunStatus::Running);
        inside.expected = Some(1_000);
        inside.counts.requested = 300;
        assert_eq!(inside.percent(), 30);
        // A count that grew since the sync never reaches 100 before the end.
        inside.counts.requested = 1_200;
        assert_eq!(inside.percent(), 99);
    }

    #[test]
    fn result_cursors_round_trip_and_refuse_garbage() {
        let c = encode_result_cursor(12, 499);
        assert_eq!(decode_result_cursor(&c), Some((12, 499)));
        assert_eq!(decode_result_cursor(&encode_result_cursor(1, 500)), None);
        assert_eq!(decode_result_cursor("***"), None);
        assert_eq!(decode_result_cursor(&"A".repeat(100)), None);
    }

    #[test]
    fn jobs_and_their_lease_do_not_share_a_prefix() {
        assert!(!IMPORT_JOBS.lease_sk.starts_with(IMPORT_JOBS.sk_prefix));
        assert!(!"IMPORTRES#".starts_with(IMPORT_JOBS.sk_prefix));
    }
}
