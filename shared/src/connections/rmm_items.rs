use crate::connections::Integration;
use crate::datto::Platform;
use crate::store::{DynamoStore, Fields, Item, StoreError, keys, n, s};
use crate::tenant::TenantId;

fn to_item(tenant: &TenantId, i: &Integration) -> Item {
    let mut item = Item::from([
        ("PK".into(), s(keys::tenant_pk(tenant))),
        ("SK".into(), s(keys::integration_sk(&i.id))),
        ("entity".into(), s("integration")),
        // The registry the scheduler walks: every integration of every tenant.
        ("GSI1PK".into(), s(keys::INTEGRATION_REGISTRY)),
        ("GSI1SK".into(), s(format!("{tenant}#{}", i.id))),
        ("id".into(), s(&i.id)),
        ("kind".into(), s(&i.kind)),
        ("name".into(), s(&i.name)),
        ("platform".into(), s(i.platform.as_str())),
        ("secretArn".into(), s(&i.secret_arn)),
        ("createdAt".into(), n(i.created_at)),
        ("updatedAt".into(), n(i.updated_at)),
        ("credentialsUpdatedAt".into(), n(i.credentials_updated_at)),
        (
            "enabled".into(),
            aws_sdk_dynamodb::types::AttributeValue::Bool(i.enabled),
        ),
    ]);
    let optional = [
        ("accountUid", i.account_uid.clone().map(s)),
        ("accountName", i.account_name.clone().map(s)),
        ("deviceCount", i.device_count.map(n)),
        ("lastTestedAt", i.last_tested_at.map(n)),
    ];
    item.extend(optional.into_iter().filter_map(|(k, v)| Some((k.to_owned(), v?))));
    item
}

fn is_datto(item: &Item) -> bool {
    Fields(item).opt_s("kind").as_deref() == Some(crate::connections::KIND_DATTO_RMM)
}

fn from_item(item: &Item) -> Result<Integration, StoreError> {
    let f = Fields(item);
    let platform_raw = f.s("platform")?;
    Ok(Integration {
        id: f.s("id")?,
        kind: f.s("kind")?,
        name: f.s("name")?,
        platform: platform_raw
            .parse::<Platform>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        secret_arn: f.s("secretArn")?,
        account_uid: f.opt_s("accountUid"),
        account_name: f.opt_s("accountName"),
        device_count: f.opt_n("deviceCount"),
        created_at: f.n("createdAt")?,
        updated_at: f.n("updatedAt")?,
        credentials_updated_at: f.n("credentialsUpdatedAt")?,
        last_tested_at: f.opt_n("lastTestedAt"),
        enabled: f.opt_b("enabled").unwrap_or(true),
    })
}

impl DynamoStore {
    /// Stores a new integration; fails with `ConditionFailed` if the id is taken.
    pub async fn insert(&self, tenant: &TenantId, integration: &Integration) -> Result<(), StoreError> {
        self.put_integration_item(to_item(tenant, integration), "attribute_not_exists(PK)", &[])
            .await
    }

    /// Replaces an existing integration; fails with `ConditionFailed` if it is gone.
    pub async fn replace(&self, tenant: &TenantId, integration: &Integration) -> Result<(), StoreError> {
        self.put_integration_item(
            to_item(tenant, integration),
            "attribute_exists(PK) AND attribute_not_exists(deleting)",
            &[],
        )
        .await
    }

    pub async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<Integration>, StoreError> {
        let item = self.get_integration_item(tenant, id).await?;
        // A PSA integration shares the key space; it is not a Datto RMM one.
        item.as_ref().filter(|i| is_datto(i)).map(from_item).transpose()
    }

    pub async fn list(&self, tenant: &TenantId) -> Result<Vec<Integration>, StoreError> {
        let items = self.integration_items(tenant).await?;
        let mut all = items
            .iter()
            .filter(|i| is_datto(i))
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(all)
    }

    /// Deletes the integration and everything in its partition.
    pub async fn delete(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        self.delete_integration_item(tenant, id).await
    }
}
