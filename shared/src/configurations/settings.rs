//! The configuration settings of a (Datto RMM integration, PSA integration):
//! `CFGSET#{psaId}` in the Datto integration's partition. Its presence says
//! "configuration mapping is set up for this PSA integration": the first map
//! writes it, and the sync worker refreshes (see [`super::after_sync`]) only
//! the PSA integrations that have one. One query of a few items per sync run.
//! It also holds `automaticMapping` (off unless set through
//! `PATCH /integrations/{id}/configuration-settings`): see [`super::auto`], and the record of
//! the last automatic mapping run ([`AutoRun`]: what started it, its counts, the PSA requests
//! and budget it used) with `autoPending`, set while a run left writes for a later one (the
//! Autotask budget at its reserve, or the run's time up): the sync worker's next run carries
//! on. The record holds counts and ids, never a field value.

use crate::store::{DynamoStore, Fields, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;
use serde::{Deserialize, Serialize};

/// One automatic mapping run, as the settings show it (`lastRun`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AutoRun {
    /// `mapNow`, `siteMapped` or `sync`.
    pub trigger: String,
    /// Epoch milliseconds.
    pub started_at: i64,
    pub finished_at: i64,
    /// `done`, `incomplete` (writes left for a later run), `held` (over the safety cap: waits
    /// for a confirmed "Map Now"), `failed`.
    pub outcome: String,
    /// Writes planned: links and creations.
    pub planned: u64,
    pub linked: u64,
    pub created: u64,
    pub failed: u64,
    /// Planned writes not made: the Autotask budget reached its reserve or the time was up.
    pub left: u64,
    /// Requests sent to the PSA (Autotask: counted against its hourly budget).
    pub requests: u64,
    /// Autotask: what the hour's budget had above the reserve when the writes began.
    pub budget_above_reserve: Option<i64>,
    /// It went ahead confirmed above the safety cap (what it left is done confirmed too).
    pub confirmed: bool,
    /// Why it was held, incomplete or failed.
    pub message: Option<String>,
}

/// The `CFGSET#{psaId}` item.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSettings {
    pub psa_integration_id: String,
    /// Automatic mapping: off by default.
    pub automatic_mapping: bool,
    pub updated_at: i64,
    /// The last automatic mapping run.
    pub last_run: Option<AutoRun>,
    /// A run left writes for a later one.
    pub auto_pending: bool,
}

fn read(i: &crate::store::Item) -> Result<ConfigSettings, StoreError> {
    let f = Fields(i);
    Ok(ConfigSettings {
        psa_integration_id: f.s("psaIntegrationId")?,
        automatic_mapping: f.opt_b("automaticMapping").unwrap_or(false),
        updated_at: f.opt_n("updatedAt").unwrap_or(0),
        last_run: f.opt_s("lastRun").and_then(|r| serde_json::from_str(&r).ok()),
        auto_pending: f.opt_b("autoPending").unwrap_or(false),
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

    /// Records an automatic mapping run and whether it left writes for a later one (`left`, or
    /// an `incomplete` run cut off before it could count them); the item keeps the rest.
    pub async fn record_auto_run(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        run: &AutoRun,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(run).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(keys::integration_pk(tenant, integration)))
            .key("SK", s(settings_sk(psa)))
            .update_expression("SET entity = :e, psaIntegrationId = :p, lastRun = :r, autoPending = :pending")
            .expression_attribute_values(":e", s("configuration-settings"))
            .expression_attribute_values(":p", s(psa))
            .expression_attribute_values(":r", s(json))
            .expression_attribute_values(
                ":pending",
                aws_sdk_dynamodb::types::AttributeValue::Bool(run.left > 0 || run.outcome == "incomplete"),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
