//! The portal's assets: `GET /assets`, `GET /assets/{id}`, `GET /companies/{id}/assets`.
//!
//! A company's assets are found through GSI1 (`TENANT#{t}#COMPANY#{c}#ASSETS`),
//! set on the asset item itself: when a re-import moves an asset to another
//! company (its site was remapped), the one put that updates the asset
//! moves its index entry too, with no second item to keep in step and no
//! extra write per asset. GSI1 is keys-only, so a page is one index query
//! plus one BatchGetItem.

use super::{Asset, DevicesError, cursor};

use crate::store::{Cascade, CascadeFuture, DynamoStore};
use crate::tenant::TenantId;
use crate::time::format_rfc3339;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetView {
    pub id: String,
    pub hostname: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub operating_system: Option<String>,
    pub device_type: TypeRef,
    pub company_id: String,
    pub source: Source,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AssetDeviceType)]
pub struct TypeRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AssetSource)]
pub struct Source {
    pub kind: &'static str,
    pub integration_id: String,
    pub device_uid: String,
    /// False once the integration is deleted: the asset stays, unlinked.
    pub linked: bool,
}

impl From<Asset> for AssetView {
    fn from(a: Asset) -> Self {
        Self {
            id: a.id,
            hostname: a.hostname,
            manufacturer: a.manufacturer,
            model: a.model,
            serial_number: a.serial_number,
            operating_system: a.operating_system,
            device_type: TypeRef {
                id: a.device_type_id,
                name: a.device_type_name,
            },
            company_id: a.company_id,
            source: Source {
                kind: "datto-rmm",
                integration_id: a.integration_id,
                device_uid: a.device_uid,
                linked: a.linked,
            },
            created_at: format_rfc3339(a.created_at),
            updated_at: format_rfc3339(a.updated_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetPage {
    pub assets: Vec<AssetView>,
    pub next_cursor: Option<String>,
}

/// Assets outlive the integration they were imported from: deleting it
/// marks them `linked: false`.
pub struct UnlinkAssets(pub DynamoStore);

impl Cascade for UnlinkAssets {
    fn on_delete<'a>(&'a self, tenant: &'a TenantId, integration: &'a str) -> CascadeFuture<'a> {
        Box::pin(async move { self.0.unlink_assets(tenant, integration).await.map(|_| ()) })
    }
}

pub struct Assets<'a> {
    pub store: &'a DynamoStore,
}

impl Assets<'_> {
    pub async fn get(&self, tenant: &TenantId, id: &str) -> Result<AssetView, DevicesError> {
        self.store
            .get_asset(tenant, id)
            .await?
            .map(AssetView::from)
            .ok_or_else(|| DevicesError::NotFound(format!("no asset {id}")))
    }

    /// A page of the tenant's assets, or of one company's (404 for an unknown company).
    pub async fn list(
        &self,
        tenant: &TenantId,
        company: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AssetPage, DevicesError> {
        if let Some(c) = company
            && self.store.get_company(tenant, c).await?.is_none()
        {
            return Err(DevicesError::NotFound(format!("no company {c}")));
        }
        let after = cursor.map(cursor::decode).transpose()?;
        let (assets, more) = self.store.page_assets(tenant, company, after.as_deref(), limit).await?;
        let next_cursor = if more {
            assets.last().map(|a| cursor::encode(&a.id))
        } else {
            None
        };
        Ok(AssetPage {
            assets: assets.into_iter().map(AssetView::from).collect(),
            next_cursor,
        })
    }
}
