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

/// The index of configurations by Datto RMM device uid: one item per (PSA, device uid),
/// `DEVICECONFIG#{psa}#{uid}` in the tenant partition, holding the configuration's PSA id;
/// rebuilt by the PSA import after it wrote the configurations (the only writer of their
/// device uids), which then writes the `DEVICECONFIGINDEX` marker. So the alert round trip
/// finds a device's configuration with one read instead of reading every configuration.
const DEVICE_INDEX_PREFIX: &str = "DEVICECONFIG#";
const DEVICE_INDEX_MARKER: &str = "DEVICECONFIGINDEX";

fn device_index_sk(kind: PsaKind, uid: &str) -> String {
    format!(
        "{DEVICE_INDEX_PREFIX}{}#{}",
        kind.as_str(),
        uid.trim().to_ascii_lowercase()
    )
}

/// What the device index says about a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceConfiguration {
    /// The PSA id of its (active) configuration.
    Found(String),
    /// The index is built and the device has no configuration in that PSA.
    None,
    /// No import has built the index yet: only a read of every configuration can tell.
    NoIndex,
}

/// The index items the configuration records call for: per (PSA, device uid), the active
/// configuration updated last.
fn wanted_index(records: &[PortalRecord]) -> std::collections::BTreeMap<String, String> {
    let mut best: std::collections::BTreeMap<String, (i64, String)> = std::collections::BTreeMap::new();
    for r in records.iter().filter(|r| r.active) {
        let (Some(kind), Some(uid), Some(psa_id)) = (r.psa_kind, r.rmm_device_uid.as_deref(), r.psa_id.as_deref())
        else {
            continue;
        };
        if uid.trim().is_empty() {
            continue;
        }
        let sk = device_index_sk(kind, uid);
        if best.get(&sk).is_none_or(|(at, _)| r.updated_at > *at) {
            best.insert(sk, (r.updated_at, psa_id.to_owned()));
        }
    }
    best.into_iter().map(|(sk, (_, id))| (sk, id)).collect()
}

impl DynamoStore {
    /// A device's configuration in a PSA, through the device index (one BatchGetItem).
    pub async fn device_configuration(
        &self,
        tenant: &TenantId,
        kind: PsaKind,
        device_uid: &str,
    ) -> Result<DeviceConfiguration, StoreError> {
        let key = |sk: String| Item::from([("PK".into(), s(keys::tenant_pk(tenant))), ("SK".into(), s(sk))]);
        let found = self
            .batch_get(vec![
                key(device_index_sk(kind, device_uid)),
                key(DEVICE_INDEX_MARKER.into()),
            ])
            .await?;
        let sk_of = |i: &Item| Fields(i).opt_s("SK").unwrap_or_default();
        if let Some(item) = found.iter().find(|i| sk_of(i).starts_with(DEVICE_INDEX_PREFIX)) {
            return Ok(match Fields(item).opt_s("psaId") {
                Some(id) => DeviceConfiguration::Found(id),
                None => DeviceConfiguration::None,
            });
        }
        Ok(if found.iter().any(|i| sk_of(i) == DEVICE_INDEX_MARKER) {
            DeviceConfiguration::None
        } else {
            DeviceConfiguration::NoIndex
        })
    }

    /// Brings the device index in line with the configuration records: writes what changed,
    /// deletes what no record calls for any more, then the marker. Returns (written, deleted).
    pub async fn refresh_device_index(&self, tenant: &TenantId) -> Result<(usize, usize), StoreError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
        let records = self.directory(tenant, RecordKind::Configuration).await?;
        let wanted = wanted_index(&records);
        let pk = keys::tenant_pk(tenant);
        let existing: std::collections::BTreeMap<String, String> = self
            .query_prefix(pk.clone(), DEVICE_INDEX_PREFIX)
            .await?
            .iter()
            .filter_map(|i| {
                let f = Fields(i);
                Some((f.opt_s("SK")?, f.opt_s("psaId").unwrap_or_default()))
            })
            .collect();
        let mut requests = Vec::new();
        let mut written = 0;
        for (sk, psa_id) in &wanted {
            if existing.get(sk) == Some(psa_id) {
                continue;
            }
            written += 1;
            let item = Item::from([
                ("PK".into(), s(&pk)),
                ("SK".into(), s(sk)),
                ("entity".into(), s("device-configuration")),
                ("psaId".into(), s(psa_id)),
            ]);
            requests.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().expect("item set"))
                    .build(),
            );
        }
        let mut deleted = 0;
        for sk in existing.keys().filter(|sk| !wanted.contains_key(*sk)) {
            deleted += 1;
            let key = Item::from([("PK".into(), s(&pk)), ("SK".into(), s(sk))]);
            requests.push(
                WriteRequest::builder()
                    .delete_request(DeleteRequest::builder().set_key(Some(key)).build().expect("key set"))
                    .build(),
            );
        }
        self.batch_write(requests).await?;
        let marker = Item::from([
            ("PK".into(), s(&pk)),
            ("SK".into(), s(DEVICE_INDEX_MARKER)),
            ("entity".into(), s("device-configuration-index")),
            ("entries".into(), n(wanted.len() as i64)),
        ]);
        self.batch_write(vec![
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(marker)).build().expect("item set"))
                .build(),
        ])
        .await?;
        Ok((written, deleted))
    }
}

#[cfg(test)]
mod device_index_tests {
    use super::*;

    fn config(id: &str, uid: &str, active: bool, updated_at: i64) -> PortalRecord {
        PortalRecord {
            kind: RecordKind::Configuration,
            id: id.into(),
            name: "PC".into(),
            normalized_name: "pc".into(),
            company_id: None,
            active,
            email: None,
            serial_number: None,
            configuration_type: None,
            rmm_device_uid: Some(uid.into()),
            source: "autotask".into(),
            psa_kind: Some(PsaKind::Autotask),
            psa_id: Some(format!("psa-{id}")),
            integration_id: None,
            created_at: 0,
            updated_at,
        }
    }

    #[test]
    fn the_index_keeps_the_newest_active_configuration_per_device() {
        let wanted = wanted_index(&[
            config("a", "UID-1", true, 1),
            config("b", "uid-1", true, 5),
            config("c", "uid-2", false, 9),
            config("d", " ", true, 9),
        ]);
        assert_eq!(
            wanted.into_iter().collect::<Vec<_>>(),
            vec![("DEVICECONFIG#autotask#uid-1".to_owned(), "psa-b".to_owned())]
        );
    }
}
