use crate::connections::{AutoCreate, ImportKinds, PsaIntegration};
use crate::psa::PsaKind;
use crate::store::{DynamoStore, Fields, Item, StoreError, keys, n, s};
use crate::tenant::TenantId;
use aws_sdk_dynamodb::types::AttributeValue;

fn kind_of(item: &Item) -> Option<PsaKind> {
    Fields(item).opt_s("kind")?.parse().ok()
}

fn to_item(tenant: &TenantId, i: &PsaIntegration) -> Item {
    let mut item = Item::from([
        ("PK".into(), s(keys::tenant_pk(tenant))),
        ("SK".into(), s(keys::integration_sk(&i.id))),
        ("entity".into(), s("integration")),
        // The registry the nightly import walks.
        ("GSI1PK".into(), s(keys::PSA_INTEGRATION_REGISTRY)),
        ("GSI1SK".into(), s(format!("{tenant}#{}", i.id))),
        ("id".into(), s(&i.id)),
        ("kind".into(), s(i.kind.as_str())),
        ("name".into(), s(&i.name)),
        ("secretArn".into(), s(&i.secret_arn)),
        (
            "autoCreateCompanies".into(),
            AttributeValue::Bool(i.auto_create.companies),
        ),
        ("autoCreateUsers".into(), AttributeValue::Bool(i.auto_create.users)),
        (
            "autoCreateConfigurations".into(),
            AttributeValue::Bool(i.auto_create.configurations),
        ),
        ("importKinds".into(), s(import_kinds(&i.import_kinds))),
        ("createdAt".into(), n(i.created_at)),
        ("updatedAt".into(), n(i.updated_at)),
        ("credentialsUpdatedAt".into(), n(i.credentials_updated_at)),
        ("enabled".into(), AttributeValue::Bool(i.enabled)),
    ]);
    let optional = [
        ("account", i.account.clone().map(s)),
        ("apiUrl", i.api_url.clone().map(s)),
        ("database", i.database.clone().map(s)),
        ("lastTestedAt", i.last_tested_at.map(n)),
    ];
    item.extend(optional.into_iter().filter_map(|(k, v)| Some((k.to_owned(), v?))));
    item
}

/// The kinds that are on, comma-separated (an absent attribute: all on).
fn import_kinds(k: &ImportKinds) -> String {
    [
        ("companies", k.companies),
        ("contacts", k.contacts),
        ("locations", k.locations),
        ("configurations", k.configurations),
        ("users", k.users),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(name, _)| *name)
    .collect::<Vec<_>>()
    .join(",")
}

fn parse_import_kinds(raw: &str) -> ImportKinds {
    let on: Vec<&str> = raw.split(',').collect();
    ImportKinds {
        companies: on.contains(&"companies"),
        contacts: on.contains(&"contacts"),
        locations: on.contains(&"locations"),
        configurations: on.contains(&"configurations"),
        users: on.contains(&"users"),
    }
}

fn from_item(item: &Item) -> Result<Option<PsaIntegration>, StoreError> {
    let Some(kind) = kind_of(item) else { return Ok(None) };
    let f = Fields(item);
    Ok(Some(PsaIntegration {
        id: f.s("id")?,
        kind,
        name: f.s("name")?,
        secret_arn: f.s("secretArn")?,
        account: f.opt_s("account"),
        api_url: f.opt_s("apiUrl"),
        database: f.opt_s("database"),
        auto_create: AutoCreate {
            companies: f.opt_b("autoCreateCompanies").unwrap_or(false),
            users: f.opt_b("autoCreateUsers").unwrap_or(false),
            configurations: f.opt_b("autoCreateConfigurations").unwrap_or(false),
        },
        import_kinds: f
            .opt_s("importKinds")
            .map(|k| parse_import_kinds(&k))
            .unwrap_or_default(),
        created_at: f.n("createdAt")?,
        updated_at: f.n("updatedAt")?,
        credentials_updated_at: f.n("credentialsUpdatedAt")?,
        last_tested_at: f.opt_n("lastTestedAt"),
        enabled: f.opt_b("enabled").unwrap_or(true),
    }))
}

impl DynamoStore {
    pub async fn insert_psa(&self, tenant: &TenantId, integration: &PsaIntegration) -> Result<(), StoreError> {
        self.put_integration_item(to_item(tenant, integration), "attribute_not_exists(PK)", &[])
            .await
    }

    pub async fn replace_psa(&self, tenant: &TenantId, integration: &PsaIntegration) -> Result<(), StoreError> {
        // Only over a PSA integration of the same kind, never over a Datto RMM one.
        self.put_integration_item(
            to_item(tenant, integration),
            "attribute_exists(PK) AND attribute_not_exists(deleting) AND kind = :kind",
            &[(":kind", s(integration.kind.as_str()))],
        )
        .await
    }

    /// `None` for an unknown id and for a Datto RMM integration's id.
    pub async fn get_psa(&self, tenant: &TenantId, id: &str) -> Result<Option<PsaIntegration>, StoreError> {
        Ok(match self.get_integration_item(tenant, id).await? {
            Some(item) => from_item(&item)?,
            None => None,
        })
    }

    pub async fn list_psa(&self, tenant: &TenantId) -> Result<Vec<PsaIntegration>, StoreError> {
        let items = self.integration_items(tenant).await?;
        let mut all = Vec::new();
        for item in &items {
            all.extend(from_item(item)?);
        }
        all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(all)
    }

    /// Deletes the integration and its partition (overrides, runs).
    pub async fn delete_psa(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        self.delete_integration_item(tenant, id).await
    }
}
