use crate::psa::{PsaKind, RecordKind};
use crate::store::{DynamoStore, Fields, Item, StoreError, keys, n, s};
use crate::tenant::TenantId;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

/// A portal contact, location, configuration or user (companies have their
/// own [`crate::companies::Company`]). Stored in the tenant partition as
/// `{CONTACT|LOCATION|CONFIGURATION|USER}#{id}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalRecord {
    pub kind: RecordKind,
    pub id: String,
    pub name: String,
    #[serde(skip)]
    pub normalized_name: String,
    /// The portal company it belongs to.
    pub company_id: Option<String>,
    pub active: bool,
    pub email: Option<String>,
    pub serial_number: Option<String>,
    pub configuration_type: Option<String>,
    pub rmm_device_uid: Option<String>,
    /// `manual`, or the PSA it was created from.
    pub source: String,
    pub psa_kind: Option<PsaKind>,
    pub psa_id: Option<String>,
    /// The PSA integration that created or linked it.
    pub integration_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The sort-key prefix of a kind's items; `None` for companies.
pub fn record_prefix(kind: RecordKind) -> Option<&'static str> {
    match kind {
        RecordKind::Company => None,
        RecordKind::Contact => Some("CONTACT#"),
        RecordKind::Location => Some("LOCATION#"),
        RecordKind::Configuration => Some("CONFIGURATION#"),
        RecordKind::User => Some("USER#"),
    }
}

pub fn record_item(tenant: &TenantId, r: &PortalRecord) -> Item {
    let prefix = record_prefix(r.kind).expect("companies are not directory records");
    let mut item = Item::from([
        ("PK".into(), s(keys::tenant_pk(tenant))),
        ("SK".into(), s(format!("{prefix}{}", r.id))),
        ("entity".into(), s(r.kind.as_str())),
        ("id".into(), s(&r.id)),
        ("name".into(), s(&r.name)),
        ("normalizedName".into(), s(&r.normalized_name)),
        ("active".into(), AttributeValue::Bool(r.active)),
        ("source".into(), s(&r.source)),
        ("createdAt".into(), n(r.created_at)),
        ("updatedAt".into(), n(r.updated_at)),
    ]);
    let optional = [
        ("companyId", &r.company_id),
        ("email", &r.email),
        ("serialNumber", &r.serial_number),
        ("configurationType", &r.configuration_type),
        ("rmmDeviceUid", &r.rmm_device_uid),
        ("psaId", &r.psa_id),
        ("integrationId", &r.integration_id),
    ];
    if let Some(kind) = r.psa_kind {
        item.insert("psaKind".into(), s(kind.as_str()));
    }
    item.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), s(v.clone()?)))),
    );
    item
}

fn record_from_item(kind: RecordKind, item: &Item) -> Result<PortalRecord, StoreError> {
    let f = Fields(item);
    Ok(PortalRecord {
        kind,
        id: f.s("id")?,
        name: f.s("name")?,
        normalized_name: f.opt_s("normalizedName").unwrap_or_default(),
        company_id: f.opt_s("companyId"),
        active: f.opt_b("active").unwrap_or(true),
        email: f.opt_s("email"),
        serial_number: f.opt_s("serialNumber"),
        configuration_type: f.opt_s("configurationType"),
        rmm_device_uid: f.opt_s("rmmDeviceUid"),
        source: f.opt_s("source").unwrap_or_else(|| "manual".into()),
        psa_kind: f.opt_s("psaKind").as_deref().and_then(PsaKind::from_link),
        psa_id: f.opt_s("psaId"),
        integration_id: f.opt_s("integrationId"),
        created_at: f.n("createdAt")?,
        updated_at: f.n("updatedAt")?,
    })
}

impl DynamoStore {
    /// Every portal record of a kind (not companies), all pages.
    pub async fn directory(&self, tenant: &TenantId, kind: RecordKind) -> Result<Vec<PortalRecord>, StoreError> {
        let Some(prefix) = record_prefix(kind) else {
            return Ok(Vec::new());
        };
        let items = self.query_prefix(keys::tenant_pk(tenant), prefix).await?;
        items.iter().map(|i| record_from_item(kind, i)).collect()
    }
}
