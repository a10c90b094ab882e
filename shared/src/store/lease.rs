//! A lease item: one run at a time per partition (a sync, a PSA import).
//! Taken with a conditional put that succeeds when the item is absent,
//! expired, or already ours, so a crashed holder frees it when it expires.

use super::{DynamoStore, Fields, Item, StoreError, classify, n, s};

/// Where a lease lives and what kind of run holds it.
pub struct Lease<'a> {
    pub pk: &'a str,
    pub sk: &'a str,
    /// The item's `entity`, e.g. `sync-lease`.
    pub entity: &'a str,
}

impl DynamoStore {
    /// Takes the lease for `run_id`; when another live run holds it, returns
    /// that run's id (if it can still be read).
    pub async fn acquire_lease(
        &self,
        lease: &Lease<'_>,
        run_id: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Result<(), Option<String>>, StoreError> {
        let item = Item::from([
            ("PK".into(), s(lease.pk)),
            ("SK".into(), s(lease.sk)),
            ("entity".into(), s(lease.entity)),
            ("runId".into(), s(run_id)),
            ("acquiredAt".into(), n(now_ms)),
            // Epoch seconds: the table's TTL attribute also clears stale leases.
            ("expiresAt".into(), n((now_ms + ttl_ms) / 1000)),
        ]);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR expiresAt < :now OR runId = :me")
            .expression_attribute_values(":now", n(now_ms / 1000))
            .expression_attribute_values(":me", s(run_id))
            .send()
            .await;
        match put.map_err(classify) {
            Ok(_) => Ok(Ok(())),
            Err(StoreError::ConditionFailed) => Ok(Err(self.lease_holder(lease).await?.map(|(id, _)| id))),
            Err(e) => Err(e),
        }
    }

    /// The run holding the lease and when it expires (epoch seconds).
    pub async fn lease_holder(&self, lease: &Lease<'_>) -> Result<Option<(String, i64)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(lease.pk))
            .key("SK", s(lease.sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item.and_then(|i| {
            let f = Fields(&i);
            Some((f.opt_s("runId")?, f.opt_n("expiresAt").unwrap_or(0)))
        }))
    }

    /// Gives the lease up, if `run_id` still holds it.
    pub async fn release_lease(&self, lease: &Lease<'_>, run_id: &str) -> Result<(), StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(lease.pk))
            .key("SK", s(lease.sk))
            .condition_expression("runId = :me")
            .expression_attribute_values(":me", s(run_id))
            .send()
            .await;
        match out.map_err(classify) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
