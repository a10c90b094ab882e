//! Staged devices: the synced devices of mapped sites, with their import status.
//!
//! `GET /integrations/{id}/staged-devices?status=&siteUid=&companyId=&category=&deviceType=&search=&limit=&cursor=`
//! walks `DEVICE#` shard by shard (uid order within a shard) a query page at a time, keeps the devices of
//! mapped sites that pass the filters, joins their `IMPORT#` states (one
//! BatchGetItem per page) and stops once it has `limit` rows. Status:
//! `removed` when Datto deleted the device or it vanished, else `imported`
//! or `failed` (with reason) from the last import, else `staged`. The cursor
//! is opaque (the last uid handed out).

use super::import::{DeviceImporter, ImportContext, is_removed, type_key};
use super::{DevicesError, ImportState, ImportStatus, cursor, ensure_integration};
use crate::site_mapping::CompanyRef;

use crate::store::{DynamoStore, keys};
use crate::sync::plan::DeviceRecord;
use crate::tenant::TenantId;
use crate::time::format_rfc3339;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StagedStatus {
    Staged,
    Imported,
    Failed,
    Removed,
}

impl StagedStatus {
    pub fn parse(raw: &str) -> Result<Self, DevicesError> {
        match raw {
            "staged" => Ok(Self::Staged),
            "imported" => Ok(Self::Imported),
            "failed" => Ok(Self::Failed),
            "removed" => Ok(Self::Removed),
            _ => Err(DevicesError::Invalid(
                "`status` must be staged, imported, failed or removed".into(),
            )),
        }
    }
}

pub fn status_of(d: &DeviceRecord, state: Option<&ImportState>) -> StagedStatus {
    if is_removed(d) {
        return StagedStatus::Removed;
    }
    match state.map(|s| s.status) {
        Some(ImportStatus::Imported) => StagedStatus::Imported,
        Some(ImportStatus::Failed) => StagedStatus::Failed,
        None => StagedStatus::Staged,
    }
}

#[derive(Debug, Default, Clone)]
pub struct StagedFilter {
    pub status: Option<StagedStatus>,
    pub site_uid: Option<String>,
    pub company_id: Option<String>,
    pub category: Option<String>,
    pub device_type: Option<String>,
    /// Case-insensitive substring of the hostname.
    pub search: Option<String>,
}

impl StagedFilter {
    /// Every filter that does not need the import state.
    pub fn admits(&self, ctx: &ImportContext, d: &DeviceRecord) -> bool {
        let Some(company) = ctx.company_of(d) else { return false };
        let (category, device_type) = type_key(d);
        self.site_uid.as_ref().is_none_or(|s| d.site_uid.as_ref() == Some(s))
            && self.company_id.as_ref().is_none_or(|c| c == company)
            && self.category.as_ref().is_none_or(|c| *c == category)
            && self.device_type.as_ref().is_none_or(|t| *t == device_type)
            && self.search.as_ref().is_none_or(|q| {
                d.hostname
                    .as_deref()
                    .is_some_and(|h| h.to_lowercase().contains(&q.to_lowercase()))
            })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StagedRow {
    pub device_uid: String,
    pub hostname: Option<String>,
    pub category: String,
    pub device_type: String,
    pub site: SiteRef,
    pub company: CompanyRef,
    /// The device's page in the Datto RMM web portal, for the table to open.
    pub portal_url: Option<String>,
    pub status: StagedStatus,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub asset_id: Option<String>,
    pub last_import_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = StagedSite)]
pub struct SiteRef {
    pub uid: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StagedPage {
    pub devices: Vec<StagedRow>,
    pub next_cursor: Option<String>,
}

/// Devices read per query page while looking for rows.
const SCAN_PAGE: i32 = 500;

pub struct StagedDevices<'a> {
    pub store: &'a DynamoStore,
}

impl StagedDevices<'_> {
    pub async fn list(
        &self,
        tenant: &TenantId,
        integration: &str,
        filter: &StagedFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<StagedPage, DevicesError> {
        ensure_integration(self.store, tenant, integration).await?;
        // The cursor is the last uid handed out: its shard is where the walk goes on.
        let mut from = match cursor.map(cursor::decode).transpose()? {
            Some(uid) => Some((keys::shard_of(&uid), Some(uid))),
            None => Some((0, None)),
        };
        let ctx = DeviceImporter { store: self.store }
            .context(tenant, integration)
            .await?;
        let mut rows: Vec<(DeviceRecord, Option<ImportState>)> = Vec::new();
        let mut more = false;
        'pages: while let Some(pos) = from.take() {
            let (devices, next) = self.store.device_scan(tenant, integration, pos, SCAN_PAGE).await?;
            let candidates: Vec<DeviceRecord> = devices.into_iter().filter(|d| filter.admits(&ctx, d)).collect();
            let uids: Vec<String> = candidates.iter().map(|d| d.uid.clone()).collect();
            let mut states = if uids.is_empty() {
                HashMap::new()
            } else {
                self.store.import_states(tenant, integration, &uids).await?
            };
            for d in candidates {
                let state = states.remove(&d.uid);
                if filter.status.is_some_and(|s| s != status_of(&d, state.as_ref())) {
                    continue;
                }
                if rows.len() == limit {
                    more = true;
                    break 'pages;
                }
                rows.push((d, state));
            }
            from = next;
        }
        let next_cursor = if more {
            rows.last().map(|(d, _)| cursor::encode(&d.uid))
        } else {
            None
        };
        // Company names for this page only.
        let mut names: HashMap<String, String> = HashMap::new();
        for (d, _) in &rows {
            let Some(id) = ctx.company_of(d) else { continue };
            if !names.contains_key(id) {
                let name = self
                    .store
                    .get_company(tenant, id)
                    .await?
                    .map(|c| c.name)
                    .unwrap_or_default();
                names.insert(id.clone(), name);
            }
        }
        let devices = rows
            .into_iter()
            .map(|(d, state)| {
                let company_id = ctx.company_of(&d).cloned().unwrap_or_default();
                let (category, device_type) = type_key(&d);
                StagedRow {
                    status: status_of(&d, state.as_ref()),
                    reason: state.as_ref().and_then(|s| s.reason.clone()),
                    message: state.as_ref().and_then(|s| s.message.clone()),
                    asset_id: state.as_ref().and_then(|s| s.asset_id.clone()),
                    last_import_at: state.as_ref().map(|s| format_rfc3339(s.at)),
                    company: CompanyRef {
                        name: names.get(&company_id).cloned().unwrap_or_default(),
                        id: company_id,
                    },
                    site: SiteRef {
                        uid: d.site_uid,
                        name: d.site_name,
                    },
                    portal_url: d.portal_url,
                    category,
                    device_type,
                    hostname: d.hostname,
                    device_uid: d.uid,
                }
            })
            .collect();
        Ok(StagedPage { devices, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(uid: &str, site: &str, host: &str) -> DeviceRecord {
        DeviceRecord {
            uid: uid.into(),
            hostname: Some(host.into()),
            site_uid: Some(site.into()),
            category: Some("Desktop".into()),
            device_type: Some("Desktop".into()),
            ..Default::default()
        }
    }

    #[test]
    fn only_mapped_sites_and_filters() {
        let ctx = ImportContext {
            site_companies: HashMap::from([("s1".to_owned(), "c1".to_owned())]),
            ..Default::default()
        };
        let all = StagedFilter::default();
        assert!(all.admits(&ctx, &device("a", "s1", "PC-1")));
        assert!(!all.admits(&ctx, &device("a", "s2", "PC-1")));
        let search = StagedFilter {
            search: Some("pc-".into()),
            ..Default::default()
        };
        assert!(search.admits(&ctx, &device("a", "s1", "XPC-12")));
        assert!(!search.admits(&ctx, &device("a", "s1", "SRV")));
        let company = StagedFilter {
            company_id: Some("c2".into()),
            ..Default::default()
        };
        assert!(!company.admits(&ctx, &device("a", "s1", "PC")));
        let category = StagedFilter {
            category: Some("Server".into()),
            ..Default::default()
        };
        assert!(!category.admits(&ctx, &device("a", "s1", "PC")));
    }

    #[test]
    fn statuses() {
        let mut d = device("a", "s1", "PC");
        assert_eq!(status_of(&d, None), StagedStatus::Staged);
        let state = ImportState {
            device_uid: "a".into(),
            status: ImportStatus::Failed,
            reason: Some("type_not_mapped".into()),
            message: None,
            asset_id: None,
            asset_created_at: None,
            asset_hash: None,
            at: 0,
        };
        assert_eq!(status_of(&d, Some(&state)), StagedStatus::Failed);
        d.removed_at = Some(5);
        assert_eq!(status_of(&d, Some(&state)), StagedStatus::Removed);
        assert!(StagedStatus::parse("bogus").is_err());
    }
}
