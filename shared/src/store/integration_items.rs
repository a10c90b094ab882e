//! The `INTEGRATION#{id}` items under `TENANT#{tenant}`: Datto RMM and PSA integrations share
//! this key space and differ by `kind`. Each store maps its own item layout; the reads, writes
//! and the delete with its partition are the same for both and live here, as do the two
//! switches every integration has: `enabled` (absent means enabled) and `deleting` (set
//! first by a delete, so that a running sync or import stops writing before the sweep).

use super::{DynamoStore, Fields, Item, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

impl DynamoStore {
    /// Puts an integration item if `condition` holds (`ConditionFailed` otherwise), with the
    /// condition's `:name` placeholders bound from `values`.
    pub(crate) async fn put_integration_item(
        &self,
        item: Item,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<(), StoreError> {
        let values: HashMap<String, AttributeValue> =
            values.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// The integration item with this id, whatever its kind (read consistently).
    pub(crate) async fn get_integration_item(&self, tenant: &TenantId, id: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(keys::tenant_pk(tenant)))
            .key("SK", s(keys::integration_sk(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }

    /// The switches of an integration of any kind; `None` when there is no such integration.
    pub async fn integration_switches(&self, tenant: &TenantId, id: &str) -> Result<Option<Switches>, StoreError> {
        Ok(self.get_integration_item(tenant, id).await?.map(|i| Switches::of(&i)))
    }

    /// Turns an integration on or off, keeping everything else; `false` when there is no
    /// such integration (or it is being deleted).
    pub async fn set_integration_enabled(
        &self,
        tenant: &TenantId,
        id: &str,
        enabled: bool,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(keys::tenant_pk(tenant)))
            .key("SK", s(keys::integration_sk(id)))
            .update_expression("SET enabled = :e, updatedAt = :now")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(deleting)")
            .expression_attribute_values(":e", AttributeValue::Bool(enabled))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match out.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The first step of a delete: marks the integration, so that its running runs stop
    /// writing ([`crate::runs::guard::RunGuard`]) before its partition is swept. `false`
    /// when there is no such integration.
    pub async fn mark_integration_deleting(&self, tenant: &TenantId, id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(keys::tenant_pk(tenant)))
            .key("SK", s(keys::integration_sk(id)))
            .update_expression("SET deleting = :t")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        match out.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every integration item of the tenant, of every kind.
    pub(crate) async fn integration_items(&self, tenant: &TenantId) -> Result<Vec<Item>, StoreError> {
        self.query_prefix(keys::tenant_pk(tenant), "INTEGRATION#").await
    }

    /// Deletes an integration's partition, then its item. Children first: if this stops
    /// half-way, the integration still shows and can be deleted again.
    pub(crate) async fn delete_integration_item(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        for pk in keys::integration_shard_pks(tenant, id) {
            self.delete_partition(&pk).await?;
        }
        self.delete_partition(&keys::integration_pk(tenant, id)).await?;
        // Its hook token goes too, so old webhooks find no integration (404).
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(keys::tenant_pk(tenant)))
            .key("SK", s(format!("HOOK#{id}")))
            .send()
            .await
            .map_err(classify)?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(keys::tenant_pk(tenant)))
            .key("SK", s(keys::integration_sk(id)))
            .send()
            .await
            .map_err(classify)?;
        // A batch a stopping run had in flight during the first sweep lands before this one.
        for pk in keys::integration_shard_pks(tenant, id) {
            self.delete_partition(&pk).await?;
        }
        self.delete_partition(&keys::integration_pk(tenant, id)).await?;
        Ok(())
    }
}

/// The switches of an integration item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switches {
    pub enabled: bool,
    /// A delete has begun.
    pub deleting: bool,
}

impl Switches {
    pub fn of(item: &Item) -> Self {
        let f = Fields(item);
        Self {
            enabled: f.opt_b("enabled").unwrap_or(true),
            deleting: f.opt_b("deleting").unwrap_or(false),
        }
    }
}
