use crate::site_mapping::{MappedBy, SiteDevice, SiteMapping, SuggestionRecord, SyncedSite};
use crate::store::{DynamoStore, Fields, Item, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;

fn site_sk(uid: &str) -> String {
    format!("SITE#{uid}")
}

fn mapping_sk(uid: &str) -> String {
    format!("SITEMAP#{uid}")
}

fn suggestion_sk(uid: &str) -> String {
    format!("SITESUG#{uid}")
}

fn suggestion_from_item(item: &Item) -> Result<SuggestionRecord, StoreError> {
    let f = Fields(item);
    Ok(SuggestionRecord {
        site_uid: f.s("siteUid")?,
        company_id: f.opt_s("companyId"),
        confidence: f.opt_n("confidence").unwrap_or(0).clamp(0, 100) as u8,
        explanation: f.opt_s("explanation").and_then(|j| serde_json::from_str(&j).ok()),
    })
}

fn site_from_item(item: &Item) -> Result<SyncedSite, StoreError> {
    let f = Fields(item);
    Ok(SyncedSite {
        uid: f.s("uid")?,
        name: f.opt_s("name").unwrap_or_default(),
        device_count: f.opt_n("deviceCount"),
        autotask_company_id: f.opt_s("autotaskCompanyId"),
        autotask_company_name: f.opt_s("autotaskCompanyName"),
        pseudo: f.opt_b("pseudo").unwrap_or(false),
        removed_at: f.opt_n("removedAt"),
        portal_url: f.opt_s("portalUrl"),
    })
}

fn mapping_from_item(item: &Item) -> Result<SiteMapping, StoreError> {
    let f = Fields(item);
    Ok(SiteMapping {
        site_uid: f.s("siteUid")?,
        company_id: f.opt_s("companyId"),
        confidence: f.opt_n("confidence").unwrap_or(0).clamp(0, 100) as u8,
        mapped_by: if f.opt_s("mappedBy").as_deref() == Some("auto") {
            MappedBy::Auto
        } else {
            MappedBy::Manual
        },
        mapped_at: f.n("mappedAt")?,
        // An explanation that no longer parses is dropped, not an error.
        explanation: f.opt_s("explanation").and_then(|j| serde_json::from_str(&j).ok()),
    })
}

impl DynamoStore {
    pub async fn sites(&self, tenant: &TenantId, integration: &str) -> Result<Vec<SyncedSite>, StoreError> {
        let items = self
            .query_prefix(keys::integration_pk(tenant, integration), "SITE#")
            .await?;
        items.iter().map(site_from_item).collect()
    }

    /// Quick match's last suggestion per site it did not map.
    pub async fn suggestions(&self, tenant: &TenantId, integration: &str) -> Result<Vec<SuggestionRecord>, StoreError> {
        let items = self
            .query_prefix(keys::integration_pk(tenant, integration), "SITESUG#")
            .await?;
        items.iter().map(suggestion_from_item).collect()
    }

    /// Replaces the suggestions of the given sites (one item per site).
    pub async fn put_suggestions(
        &self,
        tenant: &TenantId,
        integration: &str,
        suggestions: &[SuggestionRecord],
    ) -> Result<(), StoreError> {
        let pk = keys::integration_pk(tenant, integration);
        let requests = suggestions
            .iter()
            .map(|sg| {
                let mut item = Item::from([
                    ("PK".into(), s(&pk)),
                    ("SK".into(), s(suggestion_sk(&sg.site_uid))),
                    ("entity".into(), s("site-suggestion")),
                    ("siteUid".into(), s(&sg.site_uid)),
                    ("confidence".into(), n(i64::from(sg.confidence))),
                ]);
                if let Some(c) = &sg.company_id {
                    item.insert("companyId".into(), s(c));
                }
                if let Some(json) = sg.explanation.as_ref().and_then(|e| serde_json::to_string(e).ok()) {
                    item.insert("explanation".into(), s(json));
                }
                crate::sync::items::put_request(item)
            })
            .collect();
        self.batch_write(requests).await
    }

    /// The devices of an integration's sites that sync holds (removed ones
    /// left out): the device side of quick match's device evidence.
    pub async fn site_devices(&self, tenant: &TenantId, integration: &str) -> Result<Vec<SiteDevice>, StoreError> {
        // The device shards, read in parallel.
        let items = self
            .query_prefix_all(keys::integration_shard_pks(tenant, integration), "DEVICE#", 8)
            .await?;
        Ok(items
            .iter()
            .filter_map(crate::sync::items::device_from_item)
            .filter(|d| d.removed_at.is_none() && d.deleted != Some(true))
            .filter_map(|d| {
                Some(SiteDevice {
                    site_uid: d.site_uid?,
                    uid: d.uid,
                    serial_number: d.serial_number,
                })
            })
            .collect())
    }

    pub async fn site(
        &self,
        tenant: &TenantId,
        integration: &str,
        uid: &str,
    ) -> Result<Option<SyncedSite>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(keys::integration_pk(tenant, integration)))
            .key("SK", s(site_sk(uid)))
            .send()
            .await
            .map_err(classify)?;
        out.item.as_ref().map(site_from_item).transpose()
    }

    pub async fn mappings(&self, tenant: &TenantId, integration: &str) -> Result<Vec<SiteMapping>, StoreError> {
        let items = self
            .query_prefix(keys::integration_pk(tenant, integration), "SITEMAP#")
            .await?;
        items.iter().map(mapping_from_item).collect()
    }

    /// One site's mapping, read alone (the webhook path maps one alert).
    pub async fn mapping(
        &self,
        tenant: &TenantId,
        integration: &str,
        site_uid: &str,
    ) -> Result<Option<SiteMapping>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(keys::integration_pk(tenant, integration)))
            .key("SK", s(mapping_sk(site_uid)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.item.as_ref().map(mapping_from_item).transpose()
    }

    pub async fn delete_mapping(&self, tenant: &TenantId, integration: &str, site_uid: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(keys::integration_pk(tenant, integration)))
            .key("SK", s(mapping_sk(site_uid)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Writes a mapping. With `only_if_absent`, a site that got a mapping
    /// meanwhile (a person mapped it by hand) keeps it, and this returns false.
    pub async fn put_mapping(
        &self,
        tenant: &TenantId,
        integration: &str,
        m: &SiteMapping,
        only_if_absent: bool,
    ) -> Result<bool, StoreError> {
        let mut item = Item::from([
            ("PK".into(), s(keys::integration_pk(tenant, integration))),
            ("SK".into(), s(mapping_sk(&m.site_uid))),
            ("entity".into(), s("site-mapping")),
            ("siteUid".into(), s(&m.site_uid)),
            ("confidence".into(), n(i64::from(m.confidence))),
            ("mappedBy".into(), s(m.mapped_by.as_str())),
            ("mappedAt".into(), n(m.mapped_at)),
        ]);
        if let Some(c) = &m.company_id {
            item.insert("companyId".into(), s(c));
        }
        if let Some(json) = m.explanation.as_ref().and_then(|e| serde_json::to_string(e).ok()) {
            item.insert("explanation".into(), s(json));
        }
        let mut put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        if only_if_absent {
            put = put.condition_expression("attribute_not_exists(PK)");
        }
        match put.send().await.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Before a resync: wipes the quick-match suggestions (`SITESUG#`) of an
/// integration and, unless `keep_mappings`, its site mappings (`SITEMAP#`).
/// Returns how many mappings it deleted.
pub async fn clear_site_mappings(
    store: &DynamoStore,
    tenant: &TenantId,
    integration: &str,
    keep_mappings: bool,
) -> Result<usize, StoreError> {
    let pk = keys::integration_pk(tenant, integration);
    store.delete_prefix(&pk, "SITESUG#").await?;
    if keep_mappings {
        return Ok(0);
    }
    store.delete_prefix(&pk, "SITEMAP#").await
}
