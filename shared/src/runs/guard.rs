//! A run's right to write. Before each batch a run writes back, its
//! [`RunGuard`] reads, consistently and in one BatchGetItem, the integration
//! item and the run's lease: a deleted (or being deleted) integration, a
//! disabled one, or a lease another run holds now stops the run before it
//! writes anything more. Once stopped, a guard stays stopped (no more reads).
//!
//! A check that passed stands for [`FRESH`] (500 ms): the batch writers of a
//! sync start dozens of BatchWriteItem calls a second, and one consistent
//! BatchGetItem before each of them doubled the run's requests to DynamoDB
//! (and its time against the store floor) for an answer that changes once in
//! an integration's life.
//!
//! One read at a time: once a pass is half [`FRESH`] old, the first writer
//! to see it reads again while the others go on under the pass that still
//! stands; once it is stale, writers wait for that one read rather than each
//! sending its own. (Each writer reading on its own sent about 1,200 reads in
//! a first sync of 100,000 devices, 7% of moto's time in it; one at a time,
//! about two a second.)
//!
//! Guarantee, together with the delete ([`crate::store::DynamoStore::mark_integration_deleting`]
//! first, then waiting up to 10 s for the running run to stop, the partition swept
//! last, twice): a run starts no batch later than [`FRESH`] after it could have
//! seen the delete, so it stops well inside the delete's wait and nothing it
//! writes outlives the integration.

use super::RunKind;
use crate::store::{DynamoStore, Fields, Item, StoreError, Switches, classify, keys, s};
use crate::tenant::TenantId;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a passed check stands for the batches that follow it.
pub const FRESH: Duration = Duration::from_millis(500);

/// Why a guard stopped its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The integration is gone or being deleted.
    Deleted,
    /// The integration was switched off.
    Disabled,
    /// Another run holds the integration's lease of this kind (or none does).
    LeaseLost,
}

impl StopReason {
    /// The code recorded on the run.
    pub fn code(self) -> &'static str {
        match self {
            StopReason::Deleted => "integration_deleted",
            StopReason::Disabled => "integration_disabled",
            StopReason::LeaseLost => "lease_lost",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            StopReason::Deleted => "the integration was deleted; the run stopped without writing more",
            StopReason::Disabled => "the integration was disabled; the run stopped",
            StopReason::LeaseLost => "another run holds the integration's lease; this run stopped",
        }
    }
}

/// See the module documentation. Cheap to share (`Arc`) between writer tasks.
#[derive(Debug)]
pub struct RunGuard {
    store: DynamoStore,
    integration: Item,
    lease: Item,
    run_id: String,
    stopped: Mutex<Option<StopReason>>,
    /// When a check last passed.
    passed_at: Mutex<Option<Instant>>,
    /// Held while a read is in flight: one at a time.
    reading: tokio::sync::Mutex<()>,
    /// Reads made so far.
    reads: AtomicU64,
}

fn key(pk: String, sk: String) -> Item {
    Item::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

impl RunGuard {
    pub fn new(store: DynamoStore, tenant: &TenantId, integration_id: &str, kind: &RunKind, run_id: &str) -> Self {
        Self {
            store,
            integration: key(keys::tenant_pk(tenant), keys::integration_sk(integration_id)),
            lease: key(keys::integration_pk(tenant, integration_id), kind.lease_sk.to_owned()),
            run_id: run_id.to_owned(),
            stopped: Mutex::new(None),
            passed_at: Mutex::new(None),
            reading: tokio::sync::Mutex::new(()),
            reads: AtomicU64::new(0),
        }
    }

    /// Why the run was stopped, once it was.
    pub fn stopped(&self) -> Option<StopReason> {
        *self.stopped.lock().expect("not poisoned")
    }

    fn stop(&self, reason: StopReason) -> StoreError {
        self.stopped.lock().expect("not poisoned").get_or_insert(reason);
        StoreError::ConditionFailed
    }

    /// `Ok` when the run may write its next batch; `Err(ConditionFailed)` once
    /// it must stop ([`RunGuard::stopped`] says why), `Err(Unavailable)` when
    /// DynamoDB could not answer.
    pub async fn check(&self) -> Result<(), StoreError> {
        if let Some(reason) = self.stopped() {
            return Err(self.stop(reason));
        }
        match self.age() {
            Some(age) if age < FRESH / 2 => return Ok(()),
            // Still standing: one writer reads ahead, the others go on.
            Some(age) if age < FRESH => {
                return match self.reading.try_lock() {
                    Ok(_one) => self.read().await,
                    Err(_) => Ok(()),
                };
            }
            _ => {}
        }
        // Stale: wait for the read in flight (or make it), then use its answer.
        let _one = self.reading.lock().await;
        if let Some(reason) = self.stopped() {
            return Err(self.stop(reason));
        }
        if self.age().is_some_and(|age| age < FRESH) {
            return Ok(());
        }
        self.read().await
    }

    /// How many times the guard has read the integration and the lease.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// How long ago a check last passed.
    fn age(&self) -> Option<Duration> {
        self.passed_at.lock().expect("not poisoned").map(|at| at.elapsed())
    }

    /// Reads the integration and the lease, consistently, and decides.
    async fn read(&self) -> Result<(), StoreError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let asked = Instant::now();
        let mut pending = Some(
            KeysAndAttributes::builder()
                .keys(self.integration.clone())
                .keys(self.lease.clone())
                .consistent_read(true)
                .build()
                .expect("keys set"),
        );
        let mut found: Vec<Item> = Vec::new();
        let mut attempt = 0u32;
        while let Some(request) = pending.take() {
            let out = self
                .store
                .client()
                .batch_get_item()
                .request_items(self.store.table(), request)
                .send()
                .await
                .map_err(classify)?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(self.store.table()).unwrap_or_default());
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut m| m.remove(self.store.table()))
                .filter(|k| !k.keys().is_empty());
            if pending.is_some() {
                attempt += 1;
                if attempt > 5 {
                    return Err(StoreError::Unavailable(
                        "the run guard's reads stayed unprocessed".into(),
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
            }
        }
        let sk_of = |i: &Item| Fields(i).opt_s("SK");
        let integration = found.iter().find(|i| sk_of(i) == Fields(&self.integration).opt_s("SK"));
        let lease = found.iter().find(|i| sk_of(i) == Fields(&self.lease).opt_s("SK"));
        match integration.map(Switches::of) {
            None | Some(Switches { deleting: true, .. }) => return Err(self.stop(StopReason::Deleted)),
            Some(Switches { enabled: false, .. }) => return Err(self.stop(StopReason::Disabled)),
            Some(_) => {}
        }
        if lease.and_then(|l| Fields(l).opt_s("runId")).as_deref() != Some(self.run_id.as_str()) {
            return Err(self.stop(StopReason::LeaseLost));
        }
        // Fresh from when it was asked, not from when the answer came.
        let mut passed = self.passed_at.lock().expect("not poisoned");
        if passed.is_none_or(|at| at < asked) {
            *passed = Some(asked);
        }
        Ok(())
    }
}
