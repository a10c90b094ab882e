//! The DynamoDB side of a sync: items of the integration's partition
//! (`SITE#`, `DEVTYPE#`, `RUN#`, `SYNC#LEASE`, `SYNC#STATE`, `SYNC#INDEX`,
//! `SEEN#`) and of its shards (`DEVICE#`, `DEVIDX#`), the lease, and a pool
//! of concurrent batch writers. Every item read is counted ([`SyncStore::reads`]).

use super::index::{self, DeviceIndex};
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

/// The `DEVICE#{uid}` item, in the device's shard of the integration partition `pk`.
pub fn device_item(pk: &str, r: &DeviceRecord, now: i64) -> Item {
    let mut item = Item::from([
        ("PK".into(), s(keys::shard_pk(pk, keys::shard_of(&r.uid)))),
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
    if !r.udfs.is_empty() {
        item.insert(
            "udf".into(),
            AttributeValue::M(r.udfs.0.iter().map(|(k, v)| (k.to_string(), s(v))).collect()),
        );
    }
    item
}

/// The `udf` map of a device item (`{"7": "value"}`).
fn udfs_of(item: &Item) -> crate::datto::models::DeviceUdfs {
    crate::datto::models::DeviceUdfs(
        item.get("udf")
            .and_then(|v| v.as_m().ok())
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_s().ok()?.clone())))
            .collect(),
    )
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
        udfs: udfs_of(item),
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

/// What a run starts from: the stored sites and device types, and the
/// device index (never the devices themselves).
#[derive(Debug, Default)]
pub struct StoredState {
    pub sites: HashMap<String, SiteRecord>,
    pub index: DeviceIndex,
    /// (category, type) -> hash
    pub device_types: HashMap<(String, String), String>,
}

/// The integration's partition, as the sync sees it.
#[derive(Debug, Clone)]
pub struct SyncStore {
    pub store: DynamoStore,
    writes: Arc<AtomicU64>,
    reads: Arc<AtomicU64>,
    /// When set, checked before every batch of data and checkpoint written.
    guard: Option<Arc<RunGuard>>,
}

impl SyncStore {
    pub fn new(store: DynamoStore) -> Self {
        Self {
            store,
            writes: Arc::new(AtomicU64::new(0)),
            reads: Arc::new(AtomicU64::new(0)),
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

    /// Items read so far (queries, gets, batch gets).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    fn count_reads(&self, items: usize) {
        self.reads.fetch_add(items as u64, Ordering::Relaxed);
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
            self.count_reads(out.items().len());
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
        self.query_prefix(pk, "DEVTYPE#", |i| {
            if let (Some(c), Some(t)) = (get_s(i, "category"), get_s(i, "deviceType")) {
                state.device_types.insert((c, t), get_s(i, "hash").unwrap_or_default());
            }
        })
        .await?;
        state.index = self.load_index(pk).await?;
        Ok(state)
    }

    /// The device index: its `DEVIDX#` items, the shards read in parallel; built
    /// from the devices themselves (and marked for writing) when there is none yet.
    pub async fn load_index(&self, pk: &str) -> Result<DeviceIndex, StoreError> {
        let mut index = DeviceIndex::new();
        let meta = self.get_item(pk, index::INDEX_SK).await?;
        let current = meta.as_ref().and_then(|m| get_n(m, "version")) == Some(index::VERSION)
            && meta.as_ref().and_then(|m| get_n(m, "shards")) == Some(i64::from(keys::SHARDS));
        let shards: Vec<String> = (0..keys::SHARDS).map(|n| keys::shard_pk(pk, n)).collect();
        if current {
            let mut tasks = JoinSet::new();
            for (n, shard_pk) in shards.into_iter().enumerate() {
                let store = self.store.clone();
                tasks.spawn(async move { (n as u32, store.query_prefix(shard_pk, index::PART_PREFIX).await) });
            }
            while let Some(r) = tasks.join_next().await {
                let (n, items) = r.map_err(|e| StoreError::Unavailable(format!("index read: {e}")))?;
                let items = items?;
                self.count_reads(items.len());
                for item in &items {
                    index.load_part(n, item);
                }
            }
            index.complete = true;
        } else {
            let items = self.store.query_prefix_all(shards, "DEVICE#", 8).await?;
            self.count_reads(items.len());
            for d in items.iter().filter_map(device_from_item) {
                index.set(&d);
            }
            index.mark_all_dirty();
        }
        Ok(index)
    }

    /// Writes the index shards that changed (after the device writes they
    /// describe have finished), then marks the index complete.
    pub async fn save_index(&self, pk: &str, index: &mut DeviceIndex) -> Result<(), StoreError> {
        self.check_guard().await?;
        if index.is_dirty() {
            let (items, stale) = index.dirty_items(pk);
            let mut requests: Vec<WriteRequest> = items.into_iter().map(put_request).collect();
            for (spk, ssk) in stale {
                requests.push(
                    WriteRequest::builder()
                        .delete_request(
                            aws_sdk_dynamodb::types::DeleteRequest::builder()
                                .key("PK", s(spk))
                                .key("SK", s(ssk))
                                .build()
                                .expect("key set"),
                        )
                        .build(),
                );
            }
            let count = requests.len() as u64;
            for chunk in requests.chunks(25) {
                self.store.batch_write(chunk.to_vec()).await?;
            }
            self.writes.fetch_add(count, Ordering::Relaxed);
        }
        if !index.complete {
            let item = Item::from([
                ("PK".into(), s(pk)),
                ("SK".into(), s(index::INDEX_SK)),
                ("entity".into(), s("sync-index")),
                ("version".into(), n(index::VERSION)),
                ("shards".into(), n(i64::from(keys::SHARDS))),
            ]);
            self.client()
                .put_item()
                .table_name(self.table())
                .set_item(Some(item))
                .send()
                .await
                .map_err(classify)?;
            self.writes.fetch_add(1, Ordering::Relaxed);
            index.complete = true;
        }
        Ok(())
    }

    async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        self.count_reads(usize::from(out.item.is_some()));
        Ok(out.item)
    }

    /// The stored records of these devices (the ones a run found changed), from their shards.
    pub async fn devices(&self, pk: &str, uids: &[String]) -> Result<HashMap<String, DeviceRecord>, StoreError> {
        if uids.is_empty() {
            return Ok(HashMap::new());
        }
        let keys = uids
            .iter()
            .map(|u| {
                Item::from([
                    ("PK".to_owned(), s(keys::shard_pk(pk, keys::shard_of(u)))),
                    ("SK".to_owned(), s(format!("DEVICE#{u}"))),
                ])
            })
            .collect();
        let items = self.store.batch_get(keys).await?;
        self.count_reads(items.len());
        Ok(items
            .iter()
            .filter_map(device_from_item)
            .map(|d| (d.uid.clone(), d))
            .collect())
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
        self.count_reads(usize::from(out.item.is_some()));
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
        let item = self.get_item(pk, STATE_SK).await?;
        let now_secs = crate::time::now_millis() / 1000;
        Ok(item.and_then(|i| {
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
        self.save_uids(pk, &format!("SEEN#{listing_id}#"), "sync-seen", from_chunk, uids)
            .await
    }

    /// Stores uids of devices a run wrote (`CHANGED#{runId}#{n}`, kept until
    /// an auto-import pass has dealt with them); returns the new chunk count.
    pub async fn save_changed(
        &self,
        pk: &str,
        run_id: &str,
        from_chunk: u32,
        uids: &[String],
    ) -> Result<u32, StoreError> {
        self.save_uids(pk, &format!("CHANGED#{run_id}#"), "sync-changed", from_chunk, uids)
            .await
    }

    /// Every run's `CHANGED#` uids not yet taken by an auto-import pass, and
    /// the keys of their items (for [`Self::drop_changes`]).
    pub async fn pending_changes(&self, pk: &str) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let mut uids = Vec::new();
        let mut sks = Vec::new();
        self.query_prefix(pk, "CHANGED#", |i| {
            if let Some(sk) = get_s(i, "SK") {
                sks.push(sk);
            }
            if let Some(all) = get_s(i, "uids") {
                uids.extend(all.split('\n').filter(|u| !u.is_empty()).map(str::to_owned));
            }
        })
        .await?;
        uids.sort();
        uids.dedup();
        Ok((uids, sks))
    }

    /// Deletes `CHANGED#` items an auto-import pass has dealt with; returns how many.
    pub async fn drop_changes(&self, pk: &str, sks: Vec<String>) -> Result<u64, StoreError> {
        let count = sks.len() as u64;
        let requests: Vec<WriteRequest> = sks
            .into_iter()
            .map(|sk| {
                WriteRequest::builder()
                    .delete_request(
                        aws_sdk_dynamodb::types::DeleteRequest::builder()
                            .key("PK", s(pk))
                            .key("SK", s(sk))
                            .build()
                            .expect("key set"),
                    )
                    .build()
            })
            .collect();
        for chunk in requests.chunks(25) {
            self.store.batch_write(chunk.to_vec()).await?;
        }
        Ok(count)
    }

    async fn save_uids(
        &self,
        pk: &str,
        prefix: &str,
        entity: &str,
        from_chunk: u32,
        uids: &[String],
    ) -> Result<u32, StoreError> {
        self.check_guard().await?;
        let mut next = from_chunk;
        let expires = crate::time::now_millis() / 1000 + SEEN_TTL_SECS;
        let mut requests = Vec::new();
        for chunk in uids.chunks(SEEN_CHUNK) {
            let mut item = Item::from([
                ("PK".into(), s(pk)),
                ("SK".into(), s(format!("{prefix}{next:05}"))),
                ("entity".into(), s(entity)),
                ("uids".into(), s(chunk.join("\n"))),
            ]);
            // A listing's seen uids are worthless after a week; a run's changes
            // wait for the auto-import however long that takes.
            if entity == "sync-seen" {
                item.insert("expiresAt".into(), n(expires));
            }
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
/// progress through it, in the integration's partition: sites, device
/// types, the resume state, the uids of resumable listings, the index
/// marker and the change lists of runs. Runs (`RUN#`) and the lease are not among them.
pub const SYNCED_PREFIXES: [&str; 6] = ["SITE#", "DEVTYPE#", STATE_SK, "SEEN#", index::INDEX_SK, "CHANGED#"];

/// Sort-key prefixes of what a sync writes in each shard partition of the
/// integration: devices and the device index.
pub const SYNCED_SHARD_PREFIXES: [&str; 2] = ["DEVICE#", index::PART_PREFIX];

/// Wipes what the sync stored of an integration (see [`SYNCED_PREFIXES`]
/// and [`SYNCED_SHARD_PREFIXES`], the latter in all its shards), so that the
/// next run starts from nothing; its runs and lease stay. The index marker
/// goes with the index, so the next run rebuilds it. The caller holds the
/// sync lease. Returns how many items it deleted.
pub async fn clear_synced(store: &DynamoStore, tenant: &TenantId, integration_id: &str) -> Result<usize, StoreError> {
    let pk = keys::integration_pk(tenant, integration_id);
    let mut deleted = 0;
    for shard_pk in keys::integration_shard_pks(tenant, integration_id) {
        for prefix in SYNCED_SHARD_PREFIXES {
            deleted += store.delete_prefix(&shard_pk, prefix).await?;
        }
    }
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
