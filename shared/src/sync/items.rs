//! The DynamoDB side of a sync: items of the integration's partition
//! (`SITE#`, `DEVICE#`, `DEVTYPE#`, `RUN#`, `SYNC#LEASE`, `SYNC#STATE`,
//! `SEEN#`), the lease, and a pool of concurrent batch writers.

use super::plan::{DeviceRecord, DeviceTypeCount, SiteRecord};
use super::record::{RunRecord, RunStatus, SYNC_RUNS};
use crate::runs::guard::RunGuard;
use crate::runs::history::RunSummary;
use crate::store::{DynamoStore, Fields, Item, Lease, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;

pub const STATE_SK: &str = "SYNC#STATE";
/// Uids per `SEEN#` checkpoint item (about 200 KB, under the 400 KB item limit).
const SEEN_CHUNK: usize = 5_000;

pub fn run_sk(run_id: &str) -> String {
    SYNC_RUNS.run_sk(run_id)
}

fn get_s(item: &Item, k: &str) -> Option<String> {
    Fields(item).opt_s(k)
}

fn get_n(item: &Item, k: &str) -> Option<i64> {
    Fields(item).opt_n(k)
}

fn get_b(item: &Item, k: &str) -> Option<bool> {
    Fields(item).opt_b(k)
}

fn put_opt_s(item: &mut Item, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        item.insert(k.to_owned(), s(v.clone()));
    }
}

fn put_opt_n(item: &mut Item, k: &str, v: Option<i64>) {
    if let Some(v) = v {
        item.insert(k.to_owned(), n(v));
    }
}

fn put_opt_b(item: &mut Item, k: &str, v: Option<bool>) {
    if let Some(v) = v {
        item.insert(k.to_owned(), AttributeValue::Bool(v));
    }
}

pub use crate::store::{av_to_json, json_to_av};

pub fn site_item(pk: &str, r: &SiteRecord, now: i64) -> Item {
    let mut item = Item::from([
        ("PK".into(), s(pk)),
        ("SK".into(), s(format!("SITE#{}", r.uid))),
        ("entity".into(), s("site")),
        ("uid".into(), s(&r.uid)),
        ("pseudo".into(), AttributeValue::Bool(r.pseudo)),
        ("hash".into(), s(&r.hash)),
        ("syncedAt".into(), n(now)),
    ]);
    put_opt_n(&mut item, "id", r.id);
    put_opt_s(&mut item, "name", &r.name);
    put_opt_n(&mut item, "deviceCount", r.device_count);
    put_opt_n(&mut item, "onlineDeviceCount", r.online_count);
    put_opt_s(&mut item, "autotaskCompanyId", &r.autotask_company_id);
    put_opt_s(&mut item, "autotaskCompanyName", &r.autotask_company_name);
    put_opt_s(&mut item, "portalUrl", &r.portal_url);
    put_opt_n(&mut item, "removedAt", r.removed_at);
    put_opt_n(&mut item, "firstSeenAt", r.first_seen_at);
    item
}

pub fn site_from_item(item: &Item) -> Option<SiteRecord> {
    Some(SiteRecord {
        uid: get_s(item, "uid")?,
        id: get_n(item, "id"),
        name: get_s(item, "name"),
        device_count: get_n(item, "deviceCount"),
        online_count: get_n(item, "onlineDeviceCount"),
        autotask_company_id: get_s(item, "autotaskCompanyId"),
        autotask_company_name: get_s(item, "autotaskCompanyName"),
        pseudo: get_b(item, "pseudo").unwrap_or(false),
        portal_url: get_s(item, "portalUrl"),
        removed_at: get_n(item, "removedAt"),
        first_seen_at: get_n(item, "firstSeenAt"),
        hash: get_s(item, "hash").unwrap_or_default(),
    })
}

pub fn device_item(pk: &str, r: &DeviceRecord, now: i64) -> Item {
    let mut item = Item::from([
        ("PK".into(), s(pk)),
        ("SK".into(), s(format!("DEVICE#{}", r.uid))),
        ("entity".into(), s("device")),
        ("uid".into(), s(&r.uid)),
        ("hash".into(), s(&r.hash)),
        ("syncedAt".into(), n(now)),
    ]);
    put_opt_n(&mut item, "id", r.id);
    put_opt_s(&mut item, "hostname", &r.hostname);
    put_opt_s(&mut item, "siteUid", &r.site_uid);
    put_opt_s(&mut item, "siteName", &r.site_name);
    put_opt_s(&mut item, "category", &r.category);
    put_opt_s(&mut item, "deviceType", &r.device_type);
    put_opt_s(&mut item, "deviceClass", &r.device_class);
    put_opt_s(&mut item, "operatingSystem", &r.operating_system);
    put_opt_s(&mut item, "intIpAddress", &r.int_ip_address);
    put_opt_b(&mut item, "online", r.online);
    put_opt_b(&mut item, "deleted", r.deleted);
    put_opt_n(&mut item, "lastSeen", r.last_seen);
    put_opt_n(&mut item, "lastAuditDate", r.last_audit_date);
    put_opt_s(&mut item, "warrantyDate", &r.warranty_date);
    put_opt_s(&mut item, "portalUrl", &r.portal_url);
    put_opt_n(&mut item, "firstSeenAt", r.first_seen_at);
    put_opt_n(&mut item, "removedAt", r.removed_at);
    put_opt_s(&mut item, "manufacturer", &r.manufacturer);
    put_opt_s(&mut item, "model", &r.model);
    put_opt_s(&mut item, "serialNumber", &r.serial_number);
    put_opt_n(&mut item, "auditedAuditDate", r.audited_audit_date);
    put_opt_n(&mut item, "auditedAt", r.audited_at);
    item
}

pub fn device_from_item(item: &Item) -> Option<DeviceRecord> {
    Some(DeviceRecord {
        uid: get_s(item, "uid")?,
        id: get_n(item, "id"),
        hostname: get_s(item, "hostname"),
        site_uid: get_s(item, "siteUid"),
        site_name: get_s(item, "siteName"),
        category: get_s(item, "category"),
        device_type: get_s(item, "deviceType"),
        device_class: get_s(item, "deviceClass"),
        operating_system: get_s(item, "operatingSystem"),
        int_ip_address: get_s(item, "intIpAddress"),
        online: get_b(item, "online"),
        deleted: get_b(item, "deleted"),
        last_seen: get_n(item, "lastSeen"),
        last_audit_date: get_n(item, "lastAuditDate"),
        warranty_date: get_s(item, "warrantyDate"),
        portal_url: get_s(item, "portalUrl"),
        first_seen_at: get_n(item, "firstSeenAt"),
        removed_at: get_n(item, "removedAt"),
        manufacturer: get_s(item, "manufacturer"),
        model: get_s(item, "model"),
        serial_number: get_s(item, "serialNumber"),
        audited_audit_date: get_n(item, "auditedAuditDate"),
        audited_at: get_n(item, "auditedAt"),
        hash: get_s(item, "hash").unwrap_or_default(),
    })
}

pub fn device_type_item(pk: &str, t: &DeviceTypeCount, now: i64) -> Item {
    Item::from([
        ("PK".into(), s(pk)),
        ("SK".into(), s(format!("DEVTYPE#{}#{}", t.category, t.device_type))),
        ("entity".into(), s("device-type")),
        ("category".into(), s(&t.category)),
        ("deviceType".into(), s(&t.device_type)),
        ("count".into(), n(t.count)),
        ("hash".into(), s(t.content_hash())),
        ("syncedAt".into(), n(now)),
    ])
}

/// What a run starts from: the stored sites, devices and device types.
#[derive(Debug, Default)]
pub struct StoredState {
    pub sites: HashMap<String, SiteRecord>,
    pub devices: HashMap<String, DeviceRecord>,
    /// (category, type) -> hash
    pub device_types: HashMap<(String, String), String>,
}

/// The integration's partition, as the sync sees it.
#[derive(Debug, Clone)]
pub struct SyncStore {
    pub store: DynamoStore,
    writes: Arc<AtomicU64>,
    /// When set, checked before every batch of data and checkpoint written.
    guard: Option<Arc<RunGuard>>,
}

impl SyncStore {
    pub fn new(store: DynamoStore) -> Self {
        Self {
            store,
            writes: Arc::new(AtomicU64::new(0)),
            guard: None,
        }
    }

    /// The same store, checking `guard` before each batch it writes.
    pub fn with_guard(mut self, guard: Arc<RunGuard>) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Whether this store's guard has stopped its run.
    pub fn guard_stopped(&self) -> bool {
        self.guard.as_ref().is_some_and(|g| g.stopped().is_some())
    }

    async fn check_guard(&self) -> Result<(), StoreError> {
        match &self.guard {
            Some(g) => g.check().await,
            None => Ok(()),
        }
    }

    /// Item writes so far (data and bookkeeping), for the run's counts.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    fn client(&self) -> &aws_sdk_dynamodb::Client {
        self.store.client()
    }

    fn table(&self) -> &str {
        self.store.table()
    }

    async fn query_prefix(&self, pk: &str, prefix: &str, mut each: impl FnMut(&Item)) -> Result<(), StoreError> {
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":p", s(prefix))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in out.items() {
                each(item);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(()),
            }
        }
    }

    pub async fn load_state(&self, pk: &str) -> Result<StoredState, StoreError> {
        let mut state = StoredState::default();
        self.query_prefix(pk, "SITE#", |i| {
            if let Some(r) = site_from_item(i) {
                state.sites.insert(r.uid.clone(), r);
            }
        })
        .await?;
        self.query_prefix(pk, "DEVICE#", |i| {
            if let Some(r) = device_from_item(i) {
                state.devices.insert(r.uid.clone(), r);
            }
        })
        .await?;
        self.query_prefix(pk, "DEVTYPE#", |i| {
            if let (Some(c), Some(t)) = (get_s(i, "category"), get_s(i, "deviceType")) {
                state.device_types.insert((c, t), get_s(i, "hash").unwrap_or_default());
            }
        })
        .await?;
        Ok(state)
    }

    /// A pool of `concurrency` BatchWriteItem writers fed through a bounded channel.
    pub fn writer(&self, concurrency: usize) -> Writer {
        Writer::start(self.clone(), concurrency.max(1))
    }

    pub async fn get_run(
        &self,
        tenant: &TenantId,
        integration: &str,
        run_id: &str,
    ) -> Result<Option<RunRecord>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("PK", s(keys::integration_pk(tenant, integration)))
            .key("SK", s(run_sk(run_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.item.as_ref().map(run_from_item).transpose()
    }

    /// Writes the run record; with `expect`, only if its stored status is one of them.
    pub async fn put_run(&self, tenant: &TenantId, run: &RunRecord, expect: &[RunStatus]) -> Result<(), StoreError> {
        let mut item = run_to_item(run)?;
        item.insert("PK".into(), s(keys::integration_pk(tenant, &run.integration_id)));
        item.insert("SK".into(), s(run_sk(&run.run_id)));
        let mut req = self.client().put_item().table_name(self.table()).set_item(Some(item));
        if !expect.is_empty() {
            let names: Vec<String> = (0..expect.len()).map(|i| format!(":s{i}")).collect();
            req = req
                .condition_expression(format!("#st IN ({})", names.join(", ")))
                .expression_attribute_names("#st", "status");
            for (name, st) in names.iter().zip(expect) {
                req = req.expression_attribute_values(name, s(st.as_str()));
            }
        }
        req.send().await.map_err(classify)?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn lease(pk: &str) -> Lease<'_> {
        SYNC_RUNS.lease(pk)
    }

    /// The integration's sync lease (see [`Lease`]); a write when taken.
    pub async fn acquire_lease(
        &self,
        pk: &str,
        run_id: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Result<(), Option<String>>, StoreError> {
        let taken = self
            .store
            .acquire_lease(&Self::lease(pk), run_id, now_ms, ttl_ms)
            .await?;
        if taken.is_ok() {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(taken)
    }

    /// The run holding the lease and when it expires (epoch seconds).
    pub async fn lease_holder(&self, pk: &str) -> Result<Option<(String, i64)>, StoreError> {
        self.store.lease_holder(&Self::lease(pk)).await
    }

    pub async fn release_lease(&self, pk: &str, run_id: &str) -> Result<(), StoreError> {
        self.store.release_lease(&Self::lease(pk), run_id).await
    }

    /// Where the next run resumes a device listing an earlier run did not finish.
    pub async fn get_resume(&self, pk: &str) -> Result<Option<Resume>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("PK", s(pk))
            .key("SK", s(STATE_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let now_secs = crate::time::now_millis() / 1000;
        Ok(out.item.and_then(|i| {
            let expires_at = get_n(&i, "expiresAt");
            // DynamoDB deletes expired items up to days late: an expired
            // checkpoint (its seen items going or gone) is no checkpoint.
            if expires_at.is_some_and(|at| at <= now_secs + RESUME_MARGIN_SECS) {
                return None;
            }
            Some(Resume {
                cursor: get_s(&i, "cursor")?,
                listing_id: get_s(&i, "listingId")?,
                seen_chunks: get_n(&i, "seenChunks").unwrap_or(0) as u32,
                from_run: get_s(&i, "fromRun").unwrap_or_default(),
                expires_at,
            })
        }))
    }

    pub async fn put_resume(&self, pk: &str, resume: Option<&Resume>) -> Result<(), StoreError> {
        self.check_guard().await?;
        let mut item = Item::from([
            ("PK".into(), s(pk)),
            ("SK".into(), s(STATE_SK)),
            ("entity".into(), s("sync-state")),
        ]);
        if let Some(r) = resume {
            item.insert("cursor".into(), s(&r.cursor));
            item.insert("listingId".into(), s(&r.listing_id));
            item.insert("seenChunks".into(), n(i64::from(r.seen_chunks)));
            item.insert("fromRun".into(), s(&r.from_run));
            // Never outlives the listing's oldest seen-uid item.
            let expires = r
                .expires_at
                .unwrap_or_else(|| crate::time::now_millis() / 1000 + SEEN_TTL_SECS);
            item.insert("expiresAt".into(), n(expires));
        }
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .send()
            .await
            .map_err(classify)?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Stores uids seen by a listing that has to be resumed; returns the new chunk count.
    pub async fn save_seen(
        &self,
        pk: &str,
        listing_id: &str,
        from_chunk: u32,
        uids: &[String],
    ) -> Result<u32, StoreError> {
        self.check_guard().await?;
        let mut next = from_chunk;
        let expires = crate::time::now_millis() / 1000 + SEEN_TTL_SECS;
        let mut requests = Vec::new();
        for chunk in uids.chunks(SEEN_CHUNK) {
            let item = Item::from([
                ("PK".into(), s(pk)),
                ("SK".into(), s(format!("SEEN#{listing_id}#{next:05}"))),
                ("entity".into(), s("sync-seen")),
                ("uids".into(), s(chunk.join("\n"))),
                ("expiresAt".into(), n(expires)),
            ]);
            requests.push(put_request(item));
            next += 1;
        }
        let count = requests.len() as u64;
        self.store.batch_write(requests).await?;
        self.writes.fetch_add(count, Ordering::Relaxed);
        Ok(next)
    }

    /// The uids a listing has seen, and how many of its chunks were found
    /// (fewer than it wrote when TTL removed some).
    pub async fn load_seen(&self, pk: &str, listing_id: &str) -> Result<(Vec<String>, u32), StoreError> {
        let mut uids = Vec::new();
        let mut chunks = 0u32;
        self.query_prefix(pk, &format!("SEEN#{listing_id}#"), |i| {
            chunks += 1;
            if let Some(all) = get_s(i, "uids") {
                uids.extend(all.split('\n').filter(|u| !u.is_empty()).map(str::to_owned));
            }
        })
        .await?;
        Ok((uids, chunks))
    }
}

/// Sort-key prefixes of what a sync writes from Datto's data and its own
/// progress through it: sites, devices, device types, the resume state and
/// the uids of resumable listings. Runs (`RUN#`) and the lease are not among them.
pub const SYNCED_PREFIXES: [&str; 5] = ["SITE#", "DEVICE#", "DEVTYPE#", STATE_SK, "SEEN#"];

/// Wipes what the sync stored of an integration (see [`SYNCED_PREFIXES`]),
/// so that the next run starts from nothing; its runs and lease stay. The
/// caller holds the sync lease. Returns how many items it deleted.
pub async fn clear_synced(store: &DynamoStore, tenant: &TenantId, integration_id: &str) -> Result<usize, StoreError> {
    let pk = keys::integration_pk(tenant, integration_id);
    let mut deleted = 0;
    for prefix in SYNCED_PREFIXES {
        deleted += store.delete_prefix(&pk, prefix).await?;
    }
    Ok(deleted)
}

/// The summary of a run record the integration view shows.
pub fn run_summary(run: &RunRecord) -> Option<RunSummary> {
    RunSummary::of(&run_to_item(run).ok()?)
}

/// One page of an integration's runs, newest first.
pub async fn run_page(
    store: &DynamoStore,
    tenant: &TenantId,
    integration_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<RunRecord>, Option<String>), StoreError> {
    let page = crate::runs::history::list_runs(
        store,
        &keys::integration_pk(tenant, integration_id),
        &SYNC_RUNS,
        after,
        limit,
    )
    .await?;
    let runs = page.items.iter().map(run_from_item).collect::<Result<Vec<_>, _>>()?;
    Ok((runs, page.next_cursor))
}

/// A device listing left unfinished, to be resumed by the next run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    pub cursor: String,
    pub listing_id: String,
    pub seen_chunks: u32,
    pub from_run: String,
    /// When the listing's oldest seen-uid item expires (epoch seconds).
    pub expires_at: Option<i64>,
}

/// Seen-uid items of an unfinished listing live this long (DynamoDB TTL).
pub const SEEN_TTL_SECS: i64 = 7 * 86_400;
/// A checkpoint this close to its expiry is not resumed.
const RESUME_MARGIN_SECS: i64 = 3_600;

pub fn put_request(item: Item) -> WriteRequest {
    WriteRequest::builder()
        .put_request(PutRequest::builder().set_item(Some(item)).build().expect("item set"))
        .build()
}

fn run_to_item(run: &RunRecord) -> Result<Item, StoreError> {
    let json = serde_json::to_value(run).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut item: Item = match json_to_av(&json) {
        AttributeValue::M(m) => m
            .into_iter()
            .filter(|(_, v)| !matches!(v, AttributeValue::Null(_)))
            .collect(),
        _ => return Err(StoreError::Corrupt("a run record is not an object".into())),
    };
    item.insert("entity".into(), s(SYNC_RUNS.entity));
    Ok(item)
}

fn run_from_item(item: &Item) -> Result<RunRecord, StoreError> {
    let json = av_to_json(&AttributeValue::M(item.clone()));
    serde_json::from_value(json).map_err(|e| StoreError::Corrupt(format!("sync run: {e}")))
}

/// Batch writers working off a bounded channel, so that listing the next
/// page overlaps with writing the last one, and memory stays bounded.
pub struct Writer {
    tx: Option<mpsc::Sender<Vec<WriteRequest>>>,
    tasks: JoinSet<Result<(), StoreError>>,
    buf: Vec<WriteRequest>,
    queued: u64,
}

impl Writer {
    fn start(store: SyncStore, concurrency: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Vec<WriteRequest>>(concurrency * 4);
        let rx = Arc::new(Mutex::new(rx));
        let mut tasks = JoinSet::new();
        for _ in 0..concurrency {
            let rx = rx.clone();
            let store = store.clone();
            tasks.spawn(async move {
                loop {
                    let batch = rx.lock().await.recv().await;
                    let Some(batch) = batch else { return Ok(()) };
                    let count = batch.len() as u64;
                    store.check_guard().await?;
                    store.store.batch_write(batch).await?;
                    store.writes.fetch_add(count, Ordering::Relaxed);
                }
            });
        }
        Self {
            tx: Some(tx),
            tasks,
            buf: Vec::with_capacity(25),
            queued: 0,
        }
    }

    /// Items handed to this writer so far.
    pub fn queued(&self) -> u64 {
        self.queued
    }

    pub async fn put(&mut self, item: Item) -> Result<(), StoreError> {
        self.buf.push(put_request(item));
        self.queued += 1;
        if self.buf.len() >= 25 {
            self.send().await?;
        }
        Ok(())
    }

    async fn send(&mut self) -> Result<(), StoreError> {
        let batch = std::mem::replace(&mut self.buf, Vec::with_capacity(25));
        let Some(tx) = &self.tx else { return Ok(()) };
        if tx.send(batch).await.is_err() {
            // Every writer stopped: one of them failed; finish() says why.
            return self.fail().await;
        }
        Ok(())
    }

    async fn fail(&mut self) -> Result<(), StoreError> {
        self.tx = None;
        while let Some(r) = self.tasks.join_next().await {
            r.map_err(|e| StoreError::Unavailable(format!("writer task: {e}")))??;
        }
        Err(StoreError::Unavailable("the batch writers stopped".into()))
    }

    /// Flushes and waits for every write; the first error if any failed.
    pub async fn finish(mut self) -> Result<u64, StoreError> {
        if !self.buf.is_empty() {
            self.send().await?;
        }
        self.tx = None;
        let mut first = Ok(());
        while let Some(r) = self.tasks.join_next().await {
            let r = r
                .map_err(|e| StoreError::Unavailable(format!("writer task: {e}")))
                .and_then(|r| r);
            if first.is_ok() {
                first = r;
            }
        }
        first.map(|_| self.queued)
    }
}
