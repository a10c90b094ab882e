//! The configuration settings of a (Datto RMM integration, PSA integration):
//! `CFGSET#{psaId}` in the Datto integration's partition. Its presence says
//! "configuration mapping is set up for this PSA integration": the first map
//! writes it, and the sync worker refreshes (see [`super::after_sync`]) only
//! the PSA integrations that have one. One query of a few items per sync run.
//! It also holds `automaticMapping` (off unless set through
//! `PATCH /integrations/{id}/configuration-settings`): see [`super::auto`].

use crate::store::{DynamoStore, Fields, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;

/// The `CFGSET#{psaId}` item.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSettings {
    pub psa_integration_id: String,
    /// Automatic mapping: off by default.
    pub automatic_mapping: bool,
    pub updated_at: i64,
}

fn read(i: &crate::store::Item) -> Result<ConfigSettings, StoreError> {
    let f = Fields(i);
    Ok(ConfigSettings {
        psa_integration_id: f.s("psaIntegrationId")?,
        automatic_mapping: f.opt_b("automaticMapping").unwrap_or(false),
        updated_at: f.opt_n("updatedAt").unwrap_or(0),
    })
}

fn settings_sk(psa: &str) -> String {
    format!("CFGSET#{psa}")
}

impl DynamoStore {
    /// Every PSA integration with configuration mapping set up for this Datto RMM integration.
    pub async fn config_settings_all(
        &self,
        tenant: &TenantId,
        integration: &str,
    ) -> Result<Vec<ConfigSettings>, StoreError> {
        let items = self
            .query_prefix(keys::integration_pk(tenant, integration), "CFGSET#")
            .await?;
        items.iter().map(read).collect()
    }

    /// The settings of one PSA integration (`None`: never set up).
    pub async fn config_settings(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
    ) -> Result<Option<ConfigSettings>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(keys::integration_pk(tenant, integration)))
            .key("SK", s(settings_sk(psa)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.item.as_ref().map(read).transpose()
    }

    /// Turns automatic mapping on or off (and marks the PSA integration set up).
    pub async fn set_automatic_mapping(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        on: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(keys::integration_pk(tenant, integration)))
            .key("SK", s(settings_sk(psa)))
            .update_expression("SET entity = :e, psaIntegrationId = :p, automaticMapping = :a, updatedAt = :now")
            .expression_attribute_values(":e", s("configuration-settings"))
            .expression_attribute_values(":p", s(psa))
            .expression_attribute_values(":a", aws_sdk_dynamodb::types::AttributeValue::Bool(on))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Marks configuration mapping as set up for the PSA integration (keeps what the item holds).
    pub async fn touch_config_settings(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(keys::integration_pk(tenant, integration)))
            .key("SK", s(settings_sk(psa)))
            .update_expression("SET entity = :e, psaIntegrationId = :p, updatedAt = :now")
            .expression_attribute_values(":e", s("configuration-settings"))
            .expression_attribute_values(":p", s(psa))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
