//! Sync runs: starting one (lease + `queued` record), and running one
//! invocation of it ([`run_once`]): sites, then devices (resumable from a
//! cursor), then removals and device types, then audits under a budget.
//!
//! A run reads the device index, never every device: a listed device whose
//! hash the index holds is unchanged and costs nothing; only changed,
//! vanished and audited devices are read back, so a re-sync's reads grow with
//! what changed, not with the size of the account.

use super::index::parse_hash;
use super::items::{Resume, StoredState, SyncStore, device_item, device_type_item, site_item};
use super::plan::{self, Change, DeviceRecord, SiteRecord};
use super::record::{Phase, RunRecord, RunStatus, SYNC_RUNS, Trigger};
use super::{SyncDeps, SyncError};
use crate::connections::{IntegrationError, IntegrationSettings, Integrations};
use crate::datto::models::{Device, Site};
use crate::datto::{DattoClient, DattoError};
use crate::runs::guard::RunGuard;
use crate::runs::history::new_run_id;
use crate::runs::{RunStarter, StartFuture, schedule_registry};
use crate::store::{StoreError, Switches, keys};
use crate::tenant::TenantId;
use crate::time::now_millis;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Limits of one run and one invocation.
#[derive(Debug, Clone)]
pub struct RunBudget {
    /// Audit requests per run (Datto allows 600 reads a minute; default half).
    pub audit_requests: u64,
    /// Work time per invocation before the run checkpoints and continues in the next.
    pub time: Duration,
    /// Time the device auto-import after a complete listing may take, from its
    /// start (it stops between pages; the next run carries on).
    pub import_time: Duration,
    /// Devices the auto-import reads per page.
    pub import_page: i32,
}

impl Default for RunBudget {
    fn default() -> Self {
        Self {
            audit_requests: 300,
            time: Duration::from_secs(12 * 60),
            import_time: Duration::from_secs(2 * 60),
            import_page: 500,
        }
    }
}

/// Starts a run: takes the lease, then writes the `queued` record.
/// `Err(SyncError::Busy(run))` when another run holds the lease,
/// `Err(SyncError::Disabled)` while the integration is switched off.
pub async fn start_run(
    deps: &SyncDeps,
    tenant: &TenantId,
    integration_id: &str,
    trigger: Trigger,
) -> Result<RunRecord, SyncError> {
    let run_id = take_lease(deps, tenant, integration_id).await?;
    queue_run(deps, tenant, integration_id, &run_id, trigger).await
}

/// The first half of [`start_run`]: checks that the integration is there and
/// on, and takes its lease for a new run id (returned). A caller that must
/// hold the integration still before the run is queued (the clear before a
/// resync) works between the two halves.
pub async fn take_lease(deps: &SyncDeps, tenant: &TenantId, integration_id: &str) -> Result<String, SyncError> {
    match deps.store.integration_switches(tenant, integration_id).await? {
        None | Some(Switches { deleting: true, .. }) => {
            return Err(IntegrationError::NotFound(integration_id.to_owned()).into());
        }
        Some(Switches { enabled: false, .. }) => return Err(SyncError::Disabled(integration_id.to_owned())),
        Some(_) => {}
    }
    let store = SyncStore::new(deps.store.clone());
    let pk = keys::integration_pk(tenant, integration_id);
    let now = now_millis();
    let run_id = new_run_id(now);
    let previous = store.lease_holder(&pk).await?;
    if let Err(holder) = store
        .acquire_lease(&pk, &run_id, now, deps.settings.lease_ttl.as_millis() as i64)
        .await?
    {
        return Err(SyncError::Busy(holder.unwrap_or_default()));
    }
    // The lease was free, or had expired: a run that let it expire crashed or
    // stalled; record that instead of leaving it "running" for ever.
    if let Some((stale, _)) = previous
        && let Some(mut old) = store.get_run(tenant, integration_id, &stale).await?
        && old.status.is_active()
    {
        let was = old.status;
        old.record_error(
            "sync.lease_expired",
            "the run stopped without finishing; a new run took over",
        );
        old.status = RunStatus::Failed;
        old.updated_at = now;
        old.finished_at = Some(now);
        let _ = store.put_run(tenant, &old, &[was]).await;
    }
    Ok(run_id)
}

/// The second half of [`start_run`]: writes the `queued` record of the run
/// that holds the lease (the stream hands it to the worker); gives the lease
/// up if the write fails.
pub async fn queue_run(
    deps: &SyncDeps,
    tenant: &TenantId,
    integration_id: &str,
    run_id: &str,
    trigger: Trigger,
) -> Result<RunRecord, SyncError> {
    let store = SyncStore::new(deps.store.clone());
    let pk = keys::integration_pk(tenant, integration_id);
    let run = RunRecord::new(tenant, integration_id, run_id, trigger, now_millis());
    if let Err(e) = store.put_run(tenant, &run, &[]).await {
        let _ = store.release_lease(&pk, run_id).await;
        return Err(e.into());
    }
    Ok(run)
}

/// Starts the first sync of a new integration for the integrations flow
/// (wired in `app.rs` as its [`RunStarter`]).
pub struct SyncStarter(pub std::sync::Arc<SyncDeps>);

impl RunStarter for SyncStarter {
    fn start<'a>(&'a self, tenant: &'a TenantId, integration_id: &'a str) -> StartFuture<'a> {
        Box::pin(async move {
            match start_run(&self.0, tenant, integration_id, Trigger::Manual).await {
                Ok(run) => Ok(super::items::run_summary(&run)),
                Err(SyncError::Busy(_)) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// One invocation's worth of a run. Claims the run (`queued`/`continuing` ->
/// `running`); returns the record as it was left. A run that is not waiting
/// (taken by another invocation, or finished) is returned untouched.
pub async fn run_once(
    deps: &SyncDeps,
    tenant: &TenantId,
    integration_id: &str,
    run_id: &str,
    budget: &RunBudget,
    after_complete: impl AsyncFnOnce(&mut RunRecord),
) -> Result<RunRecord, SyncError> {
    let started = Instant::now();
    let store = SyncStore::new(deps.store.clone());
    let pk = keys::integration_pk(tenant, integration_id);
    let Some(mut run) = store.get_run(tenant, integration_id, run_id).await? else {
        return Err(SyncError::RunNotFound(run_id.to_owned()));
    };
    if !matches!(run.status, RunStatus::Queued | RunStatus::Continuing) {
        return Ok(run);
    }
    let was = run.status;
    let now = now_millis();
    run.status = RunStatus::Running;
    run.invocations += 1;
    run.updated_at = now;
    run.started_at.get_or_insert(now);
    match store.put_run(tenant, &run, &[was]).await {
        Ok(()) => {}
        // Another invocation claimed it first.
        Err(StoreError::ConditionFailed) => {
            return Ok(store.get_run(tenant, integration_id, run_id).await?.unwrap_or(run));
        }
        Err(e) => return Err(e.into()),
    }
    if let Err(holder) = store
        .acquire_lease(&pk, run_id, now, deps.settings.lease_ttl.as_millis() as i64)
        .await?
    {
        run.record_error(
            "sync.lease_lost",
            format!("run {} holds the integration's lease now", holder.unwrap_or_default()),
        );
        return finish(&store, tenant, &pk, run, RunStatus::Failed).await;
    }
    // From here on every batch this run writes back is checked first: the
    // integration still there and on, the lease still this run's.
    let guard = Arc::new(RunGuard::new(
        deps.store.clone(),
        tenant,
        integration_id,
        &SYNC_RUNS,
        run_id,
    ));
    let store = store.with_guard(guard.clone());
    if let Err(e) = guard.check().await {
        return stopped(&store, tenant, &pk, run, &guard, e).await;
    }

    let service = Integrations {
        store: &deps.store,
        secrets: &deps.secrets,
        datto: &deps.datto,
        settings: &IntegrationSettings::default(),
    };
    let client = match service.credentials(tenant, integration_id).await {
        Ok((integration, credentials)) => deps.datto.client(integration.platform, credentials),
        Err(IntegrationError::Datto(e)) => Err(e),
        Err(IntegrationError::NotFound(_)) => {
            run.record_error("not_found", "the integration no longer exists");
            return finish(&store, tenant, &pk, run, RunStatus::Failed).await;
        }
        Err(e) => {
            run.record_error("sync.credentials", e.to_string());
            return finish(&store, tenant, &pk, run, RunStatus::Failed).await;
        }
    };
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            run.record_error(e.code(), e.to_string());
            return finish(&store, tenant, &pk, run, RunStatus::Failed).await;
        }
    };

    let mut job = Job {
        deps,
        store: &store,
        client: &client,
        pk: pk.clone(),
        started,
        budget,
        writes_at_start: store.writes(),
        reads_at_start: store.reads(),
        changed: Vec::new(),
    };
    let mut outcome = Box::pin(job.run(&mut run)).await;
    if outcome.is_ok() && !job.changed.is_empty() {
        match store
            .save_changed(&pk, &run.run_id, run.changed_chunks, &job.changed)
            .await
        {
            Ok(chunks) => run.changed_chunks = chunks,
            Err(e) => outcome = Err(e),
        }
    }
    run.counts.requests += client.requests_made();
    run.counts.writes += store.writes().saturating_sub(job.writes_at_start);
    run.counts.reads += store.reads().saturating_sub(job.reads_at_start);
    match outcome {
        Ok(Step::Continue) => {
            run.status = RunStatus::Continuing;
            run.updated_at = now_millis();
            // This write (through the stream) starts the next invocation.
            store.put_run(tenant, &run, &[RunStatus::Running]).await?;
            Ok(run)
        }
        Ok(Step::Done) => {
            if run.phase == Phase::Done {
                if let Err(e) = guard.check().await {
                    return stopped(&store, tenant, &pk, run, &guard, e).await;
                }
                after_complete(&mut run).await;
                tracing::info!(ms = started.elapsed().as_millis() as u64, "sync follow-ups done");
            }
            let status = if run.counts.errors > 0 {
                RunStatus::Partial
            } else {
                RunStatus::Succeeded
            };
            finish(&store, tenant, &pk, run, status).await
        }
        Err(e) => stopped(&store, tenant, &pk, run, &guard, e).await,
    }
}

/// Ends a run whose write failed: stopped by its guard (the integration
/// deleted or switched off, the lease lost) or a store fault.
async fn stopped(
    store: &SyncStore,
    tenant: &TenantId,
    pk: &str,
    mut run: RunRecord,
    guard: &RunGuard,
    e: StoreError,
) -> Result<RunRecord, SyncError> {
    match guard.stopped() {
        Some(reason) => {
            tracing::info!(tenant = %tenant, run = %run.run_id, code = reason.code(), "sync run stopped by its guard");
            run.record_error(reason.code(), reason.message());
        }
        None => run.record_error("store_unavailable", e.to_string()),
    }
    finish(store, tenant, pk, run, RunStatus::Failed).await
}

async fn finish(
    store: &SyncStore,
    tenant: &TenantId,
    pk: &str,
    mut run: RunRecord,
    status: RunStatus,
) -> Result<RunRecord, SyncError> {
    let now = now_millis();
    run.status = status;
    run.updated_at = now;
    run.finished_at = Some(now);
    if run.phase != Phase::Done && status == RunStatus::Succeeded {
        run.phase = Phase::Done;
    }
    let saved = store.put_run(tenant, &run, &[RunStatus::Running]).await;
    store.release_lease(pk, &run.run_id).await?;
    match saved {
        // The run item is gone with its integration: nothing left to record.
        Err(StoreError::ConditionFailed) if store.guard_stopped() => Ok(run),
        other => other.map(|()| run).map_err(Into::into),
    }
}

enum Step {
    Continue,
    Done,
}

struct Job<'a> {
    deps: &'a SyncDeps,
    store: &'a SyncStore,
    client: &'a DattoClient,
    pk: String,
    started: Instant,
    budget: &'a RunBudget,
    writes_at_start: u64,
    reads_at_start: u64,
    /// Uids of the devices this invocation wrote (saved with the run's checkpoint).
    changed: Vec<String>,
}

impl Job<'_> {
    fn out_of_time(&self) -> bool {
        self.started.elapsed() >= self.budget.time
    }

    async fn run(&mut self, run: &mut RunRecord) -> Result<Step, StoreError> {
        let mut state = self.store.load_state(&self.pk).await?;
        if run.phase == Phase::Sites {
            self.sites(run, &mut state).await?;
            tracing::info!(ms = self.started.elapsed().as_millis() as u64, "sync sites written");
            run.phase = Phase::Devices;
            // A listing an earlier run could not finish is resumed, not restarted.
            if run.cursor.is_none()
                && let Some(resume) = self.store.get_resume(&self.pk).await?
            {
                run.cursor = Some(resume.cursor);
                run.listing_id = Some(resume.listing_id);
                run.seen_chunks = resume.seen_chunks;
                run.seen_expires_at = resume.expires_at;
                run.resumed_from = Some(resume.from_run);
            }
        }
        if run.phase == Phase::Devices {
            let outcome = self.devices(run, &mut state).await?;
            tracing::info!(ms = self.started.elapsed().as_millis() as u64, "sync devices written");
            match outcome {
                DevicesOutcome::Complete => run.phase = Phase::Audits,
                DevicesOutcome::OutOfTime => return Ok(Step::Continue),
                // Recorded; no removals, no audits after a failed listing.
                DevicesOutcome::Failed => return Ok(Step::Done),
            }
        }
        if run.phase == Phase::Audits {
            self.audits(run, &mut state).await?;
            run.phase = Phase::Done;
        }
        Ok(Step::Done)
    }

    async fn sites(&mut self, run: &mut RunRecord, state: &mut StoredState) -> Result<(), StoreError> {
        let now = now_millis();
        let mut writer = self.store.writer(self.deps.settings.writers);
        let mut seen = HashSet::new();
        let mut complete = true;
        match self.client.pages::<Site>("api/v2/account/sites", &[("max", "250")]) {
            Err(e) => {
                run.record_error(e.code(), e.to_string());
                complete = false;
            }
            Ok(mut pager) => loop {
                match pager.next_page().await {
                    Ok(Some(page)) => {
                        for site in page.items.iter().filter_map(SiteRecord::from_datto) {
                            if !seen.insert(site.uid.clone()) {
                                continue;
                            }
                            run.counts.sites += 1;
                            run.counts.pseudo_sites += u64::from(site.pseudo);
                            let (change, record) = plan::diff_site(state.sites.get(&site.uid), site, now);
                            match change {
                                Change::Unchanged => continue,
                                Change::Created => run.counts.sites_created += 1,
                                Change::Updated => run.counts.sites_updated += 1,
                            }
                            writer.put(site_item(&self.pk, &record, now)).await?;
                            state.sites.insert(record.uid.clone(), record);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        run.record_error(e.code(), format!("site listing: {e}"));
                        complete = false;
                        break;
                    }
                }
            },
        }
        if complete {
            for uid in plan::newly_missing(&state.sites, &seen, |s: &SiteRecord| s.removed_at) {
                if let Some(site) = state.sites.get_mut(&uid) {
                    site.removed_at = Some(now);
                    run.counts.sites_removed += 1;
                    writer.put(site_item(&self.pk, site, now)).await?;
                }
            }
        }
        writer.finish().await?;
        Ok(())
    }

    async fn devices(&mut self, run: &mut RunRecord, state: &mut StoredState) -> Result<DevicesOutcome, StoreError> {
        let now = now_millis();
        let mut seen: HashSet<String> = HashSet::new();
        if run.seen_chunks > 0 {
            let listing = run.listing_id.clone().unwrap_or_else(|| run.run_id.clone());
            let (uids, chunks) = self.store.load_seen(&self.pk, &listing).await?;
            if chunks < run.seen_chunks {
                // Some of what the listing saw has expired: finishing it would mark
                // those devices removed. Start the listing again instead.
                tracing::warn!(
                    listing,
                    chunks,
                    expected = run.seen_chunks,
                    "checkpoint incomplete; listing restarts"
                );
                run.cursor = None;
                run.listing_id = None;
                run.seen_chunks = 0;
                run.seen_expires_at = None;
                run.resumed_from = None;
            } else {
                seen.extend(uids);
            }
        }
        let listing_id = run.listing_id.get_or_insert_with(|| run.run_id.clone()).clone();
        let mut fresh_seen: Vec<String> = Vec::new();
        let pager = match run.cursor.as_deref() {
            Some(cursor) => self.client.pages_from::<Device>(cursor),
            None => self.client.pages::<Device>("api/v2/account/devices", &[("max", "250")]),
        };
        let mut pager = match pager {
            Ok(p) => p,
            Err(e) => {
                run.record_error(e.code(), e.to_string());
                return Ok(DevicesOutcome::Failed);
            }
        };
        let mut writer = self.store.writer(self.deps.settings.writers);
        let mut failure: Option<DattoError> = None;
        let mut pages = 0u32;
        let mut changed: Vec<DeviceRecord> = Vec::new();
        // Where the listing's time goes (logged at the end): waiting for Datto's
        // pages, and waiting for the batch writers to take more.
        let listing_started = Instant::now();
        let mut waited_for_pages = Duration::ZERO;
        loop {
            // At least one page per invocation, so that every invocation makes progress.
            if pages > 0 && self.out_of_time() {
                break;
            }
            let asked = Instant::now();
            let next = pager.next_page().await;
            waited_for_pages += asked.elapsed();
            match next {
                Ok(Some(page)) => {
                    pages += 1;
                    for device in page.items.iter().filter_map(DeviceRecord::from_datto) {
                        if !seen.insert(device.uid.clone()) {
                            // Listed twice (the account changed under the walk): once is enough.
                            continue;
                        }
                        fresh_seen.push(device.uid.clone());
                        match state.index.entries.get(&device.uid) {
                            // The index says it is stored as listed: nothing to read or write.
                            Some(e) if !e.removed && e.hash == parse_hash(&device.hash) => {}
                            Some(_) => changed.push(device),
                            None => {
                                let (_, record) = plan::diff_device(None, device, now);
                                run.counts.devices_created += 1;
                                writer.put(device_item(&self.pk, &record, now)).await?;
                                state.index.set(&record);
                                self.changed.push(record.uid.clone());
                            }
                        }
                    }
                    // Only the changed devices are read back (what the listing
                    // does not say: first sighting, audit details).
                    let uids: Vec<String> = changed.iter().map(|d| d.uid.clone()).collect();
                    let mut stored = self.store.devices(&self.pk, &uids).await?;
                    for device in changed.drain(..) {
                        let old = stored.remove(&device.uid);
                        let (change, record) = plan::diff_device(old.as_ref(), device, now);
                        match change {
                            Change::Unchanged => continue,
                            Change::Created => run.counts.devices_created += 1,
                            Change::Updated => run.counts.devices_updated += 1,
                        }
                        writer.put(device_item(&self.pk, &record, now)).await?;
                        state.index.set(&record);
                        self.changed.push(record.uid.clone());
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        run.counts.devices_seen = seen.len() as u64;
        tracing::info!(
            pages,
            listing_ms = listing_started.elapsed().as_millis() as u64,
            waited_for_pages_ms = waited_for_pages.as_millis() as u64,
            "device listing walked"
        );
        let cursor = pager.cursor().map(str::to_owned);
        drop(pager);
        if failure.is_some() || cursor.is_some() {
            // Everything listed so far is written before the cursor moves past it
            // (and before the index says so).
            writer.finish().await?;
            self.store.save_index(&self.pk, &mut state.index).await?;
            run.seen_expires_at
                .get_or_insert(now_millis() / 1000 + super::items::SEEN_TTL_SECS);
            run.seen_chunks = self
                .store
                .save_seen(&self.pk, &listing_id, run.seen_chunks, &fresh_seen)
                .await?;
            run.cursor = cursor.clone();
            if let Some(e) = failure {
                run.record_error(e.code(), format!("device listing: {e}"));
                if let Some(cursor) = cursor {
                    self.store
                        .put_resume(
                            &self.pk,
                            Some(&Resume {
                                cursor,
                                listing_id,
                                seen_chunks: run.seen_chunks,
                                from_run: run.run_id.clone(),
                                expires_at: run.seen_expires_at,
                            }),
                        )
                        .await?;
                }
                return Ok(DevicesOutcome::Failed);
            }
            return Ok(DevicesOutcome::OutOfTime);
        }
        // The listing is complete: what it did not show is gone.
        let gone = plan::newly_missing(state.index.entries.iter(), &seen, |e: &super::index::Entry| {
            e.removed.then_some(0)
        });
        for chunk in gone.chunks(100) {
            let mut stored = self.store.devices(&self.pk, chunk).await?;
            for uid in chunk {
                if let Some(mut d) = stored.remove(uid) {
                    d.removed_at = Some(now);
                    run.counts.devices_removed += 1;
                    writer.put(device_item(&self.pk, &d, now)).await?;
                    state.index.set(&d);
                    self.changed.push(d.uid.clone());
                }
            }
        }
        let live = state.index.type_counts();
        let mut counts: std::collections::BTreeMap<(String, String), i64> =
            state.device_types.keys().cloned().map(|k| (k, 0)).collect();
        counts.extend(live);
        let counts: Vec<plan::DeviceTypeCount> = counts
            .into_iter()
            .map(|((category, device_type), count)| plan::DeviceTypeCount {
                category,
                device_type,
                count,
            })
            .collect();
        run.counts.device_types = counts.iter().filter(|c| c.count > 0).count() as u64;
        for t in &counts {
            let key = (t.category.clone(), t.device_type.clone());
            if state.device_types.get(&key) != Some(&t.content_hash()) {
                writer.put(device_type_item(&self.pk, t, now)).await?;
                state.device_types.insert(key, t.content_hash());
            }
        }
        writer.finish().await?;
        self.store.save_index(&self.pk, &mut state.index).await?;
        run.cursor = None;
        if run.resumed_from.is_some() || run.seen_chunks > 0 {
            self.store.put_resume(&self.pk, None).await?;
        }
        Ok(DevicesOutcome::Complete)
    }

    async fn audits(&mut self, run: &mut RunRecord, state: &mut StoredState) -> Result<(), StoreError> {
        let pending = state.index.pending_audits();
        let start_requests = self.client.requests_made();
        let mut writer = self.store.writer(2);
        let mut done = 0usize;
        // Read from the store a chunk at a time, only as far as the budget goes.
        'chunks: for chunk in pending.chunks(50) {
            let used = self.client.requests_made() - start_requests;
            if used >= self.budget.audit_requests || self.out_of_time() {
                break;
            }
            let mut stored = self.store.devices(&self.pk, chunk).await?;
            for uid in chunk {
                let used = self.client.requests_made() - start_requests;
                if used >= self.budget.audit_requests || self.out_of_time() {
                    break 'chunks;
                }
                let Some(device) = stored.get_mut(uid) else {
                    continue;
                };
                let Some(kind) = device.audit_kind() else { continue };
                match self.client.get::<serde_json::Value>(&kind.path(uid)).await {
                    Ok(audit) => {
                        let details = plan::audit_details(kind, &audit);
                        let now = now_millis();
                        device.manufacturer = details.manufacturer;
                        device.model = details.model;
                        device.serial_number = details.serial_number;
                        device.audited_audit_date = device.last_audit_date;
                        device.audited_at = Some(now);
                        writer.put(device_item(&self.pk, device, now)).await?;
                        state.index.set(device);
                        self.changed.push(device.uid.clone());
                        run.counts.audits_done += 1;
                        done += 1;
                    }
                    Err(e) => {
                        run.record_error(e.code(), format!("audit of device {uid}: {e}"));
                        // The account is throttled or blocked: leave the rest for the next run.
                        if matches!(e, DattoError::RateLimited { .. } | DattoError::IpBlocked) {
                            break 'chunks;
                        }
                    }
                }
            }
        }
        writer.finish().await?;
        self.store.save_index(&self.pk, &mut state.index).await?;
        tracing::info!(audits = done, pending = pending.len(), "audits done");
        run.counts.audits_pending = state.index.pending_audits().len() as u64;
        Ok(())
    }
}

enum DevicesOutcome {
    Complete,
    OutOfTime,
    Failed,
}

/// The scheduled tick: starts a run for every integration that has none,
/// and nudges `continuing` runs whose next invocation never came.
/// Returns the runs it started.
pub async fn schedule_all(deps: &SyncDeps) -> Result<Vec<RunRecord>, SyncError> {
    let store = SyncStore::new(deps.store.clone());
    let store = &store;
    let started = schedule_registry(&deps.store, keys::INTEGRATION_REGISTRY, |tenant, id| async move {
        match start_run(deps, &tenant, &id, Trigger::Schedule).await {
            Ok(run) => Ok(Some(run)),
            // Switched off: skipped until it is switched on again.
            Err(SyncError::Disabled(_)) => Ok(None),
            Err(SyncError::Busy(active)) => {
                if let Some(mut run) = store.get_run(&tenant, &id, &active).await?
                    && run.status == RunStatus::Continuing
                {
                    // Rewriting the record re-delivers it through the stream.
                    run.updated_at = now_millis();
                    let _ = store.put_run(&tenant, &run, &[RunStatus::Continuing]).await;
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    })
    .await?;
    Ok(started)
}
