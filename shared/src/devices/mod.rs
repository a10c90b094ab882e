//! Device types, staged devices and device import (flow 4).
//!
//! - [`types`]: the tenant's portal device types: eight defaults that live in
//!   code (never written, so a tenant costs nothing until it adds its own) and
//!   custom ones (`DEVICETYPE#{id}` in the tenant partition). Names are 1-100
//!   characters and unique regardless of case; a custom type that a mapping
//!   uses cannot be deleted (409), a default never can.
//! - [`mappings`]: each Datto (category, type) an integration's sync counted
//!   (`DEVTYPE#`, written by sync) joined with its mapping (`TYPEMAP#`, written
//!   only here, so that a sync never drops one). Auto-sync needs a mapping
//!   (422 `auto_sync_requires_mapping`).
//! - [`staged`]: the devices of mapped sites with their import status
//!   (staged, imported, failed + reason, removed), filtered and paged.
//! - [`import`]: importing devices (by uid, or every staged device of a
//!   Datto type) into portal assets, and the scheduled sync's auto-import.
//! - [`jobs`]: imports as jobs: queued by the API (`202`), run in slices by
//!   the `device-import-worker` over as many invocations as they need, with
//!   progress and per-device results paged; `job_items` holds their items.
//! - [`assets`]: the portal's assets (`GET /assets`, `GET /companies/{id}/assets`).
//!
//! Import rules, per device, in this order: an unknown uid fails
//! `unknown_device`; a removed device (Datto deleted it or it vanished)
//! fails `device_removed`; a device whose site has no company mapping fails
//! `site_not_mapped`; a device whose (category, type) maps to no portal
//! type fails `type_not_mapped`. The rest become (or update) the asset
//! `{integrationId}:{deviceUid}`: the same id on every import, so importing
//! again updates and never duplicates. Each device's outcome is kept as
//! `IMPORT#{uid}` in the device's shard of the integration partition. Deleting the integration
//! removes the partition (mappings, staged devices, import states) and marks
//! its assets `linked: false`; the assets stay.

mod items;
pub use items::{ClearedImports, clear_imports};
pub mod routes;

pub mod assets;
pub mod import;
mod job_items;
pub mod jobs;
pub mod mappings;
pub mod staged;
pub mod types;

use crate::store::StoreError;
use serde::Serialize;

/// A portal device type: a default (`builtin`) or one the tenant added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortalDeviceType {
    pub id: String,
    pub name: String,
    pub builtin: bool,
    #[serde(skip)]
    pub created_at: Option<i64>,
}

/// An integration's mapping of one Datto (category, type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMapping {
    pub category: String,
    pub device_type: String,
    /// A portal device type id; `None`: not mapped.
    pub maps_to: Option<String>,
    pub auto_sync: bool,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    Imported,
    Failed,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Imported => "imported",
            ImportStatus::Failed => "failed",
        }
    }
}

/// The `IMPORT#{uid}` item: how a device's last import went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportState {
    pub device_uid: String,
    pub status: ImportStatus,
    /// The failure's code (`site_not_mapped`, ...).
    pub reason: Option<String>,
    pub message: Option<String>,
    /// Set once the device has an asset; kept when a later import fails.
    pub asset_id: Option<String>,
    pub asset_created_at: Option<i64>,
    /// Fingerprint of the asset's content at the last import (auto-sync
    /// rewrites an asset only when it changed).
    pub asset_hash: Option<String>,
    pub at: i64,
}

/// A portal asset made from a Datto device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub id: String,
    pub hostname: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub operating_system: Option<String>,
    pub device_type_id: String,
    pub device_type_name: String,
    pub company_id: String,
    pub integration_id: String,
    pub device_uid: String,
    /// False once the integration that imported it is deleted.
    pub linked: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Asset {
    /// The asset id of a device: deterministic, so imports never duplicate.
    pub fn id_for(integration: &str, device_uid: &str) -> String {
        format!("{integration}:{device_uid}")
    }

    /// Hash of what an import writes (not timestamps, not the link flag).
    pub fn content_hash(&self) -> String {
        let mut h = crate::sync::hash::Fnv64::new();
        h.str(self.hostname.as_deref())
            .str(self.manufacturer.as_deref())
            .str(self.model.as_deref())
            .str(self.serial_number.as_deref())
            .str(self.operating_system.as_deref())
            .str(Some(&self.device_type_id))
            .str(Some(&self.device_type_name))
            .str(Some(&self.company_id));
        h.hex()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DevicesError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// 422 with a stable code: the request is understood but breaks a rule.
    #[error("{message}")]
    Rule { code: &'static str, message: String },
    /// 409 with a stable code.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

/// Opaque paging cursors: base64url of the last key handed out.
pub(crate) mod cursor {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub fn encode(last: &str) -> String {
        URL_SAFE_NO_PAD.encode(last)
    }

    /// The longest key a cursor can carry (an asset id: two ids and a colon);
    /// anything longer would reach DynamoDB as an oversized key.
    const MAX_KEY: usize = 400;

    pub fn decode(cursor: &str) -> Result<String, super::DevicesError> {
        if cursor.len() > MAX_KEY * 4 / 3 + 4 {
            return Err(super::DevicesError::Invalid(
                "`cursor` is not one this API gave out".into(),
            ));
        }
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .filter(|s| !s.is_empty() && s.len() <= MAX_KEY)
            .ok_or_else(|| super::DevicesError::Invalid("`cursor` is not one this API gave out".into()))
    }
}

/// `limit` of a paged list: 1-500, default 100.
pub fn page_limit(raw: Option<&str>) -> Result<usize, DevicesError> {
    match raw {
        None | Some("") => Ok(100),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=500).contains(l))
            .ok_or_else(|| DevicesError::Invalid("`limit` must be a number from 1 to 500".into())),
    }
}

/// The integration must exist for this tenant (404 otherwise, also for another tenant's).
pub(crate) async fn ensure_integration(
    store: &crate::store::DynamoStore,
    tenant: &crate::tenant::TenantId,
    integration: &str,
) -> Result<(), DevicesError> {
    if uuid::Uuid::parse_str(integration).is_ok() && store.get(tenant, integration).await?.is_some() {
        Ok(())
    } else {
        Err(DevicesError::NotFound(format!("no integration {integration}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = cursor::encode("abc-123");
        assert_eq!(cursor::decode(&c).unwrap(), "abc-123");
        assert!(cursor::decode("***").is_err());
        assert!(cursor::decode("").is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(page_limit(None).unwrap(), 100);
        assert_eq!(page_limit(Some("500")).unwrap(), 500);
        assert!(page_limit(Some("0")).is_err());
        assert!(page_limit(Some("501")).is_err());
        assert!(page_limit(Some("x")).is_err());
    }

    #[test]
    fn asset_ids_are_deterministic() {
        assert_eq!(Asset::id_for("i", "d"), Asset::id_for("i", "d"));
        assert_ne!(Asset::id_for("i", "d"), Asset::id_for("j", "d"));
    }
}
