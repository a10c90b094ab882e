//! The `INTEGRATION#{id}` items under `TENANT#{tenant}`: Datto RMM and PSA integrations share
//! this key space and differ by `kind`. Each store maps its own item layout; the reads, writes
//! and the delete with its partition are the same for both and live here.

use super::{DynamoStore, Item, StoreError, classify, keys, s};
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
        Ok(())
    }
}
