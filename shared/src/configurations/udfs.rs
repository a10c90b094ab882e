//! The UDF mapping of a (Datto RMM integration, PSA integration): which Datto device UDF
//! (`udf1`..`udf300`) goes into which configuration UDF of the PSA (Autotask: a configuration
//! item UDF by name; ConnectWise: a configuration custom field by id). One `CFGUDF#{psaId}` item in the Datto integration's partition.
//!
//! `GET /integrations/{id}/configuration-udfs?psaIntegrationId=` answers the mapping and the
//! PSA's configuration UDFs to pick from (read from the PSA); `PUT` replaces the mapping after
//! checking every target against that list (each PSA field at most once).
//!
//! The mapping names fields and is returned; the values never are: they go from the synced
//! device (`DeviceRecord::udfs`) into the configuration's draft (create, link) and into the
//! refresh's changes, where only values that differ from the configuration's are sent. Audit
//! records, run records and answers carry a count of UDFs written, never a value. A Datto UDF
//! that becomes empty is not cleared in the PSA (an empty one is not sent).
//!
//! ConnectWise: the targets are custom field ids (`customFields [{id, caption, value}]`), the
//! list to pick from read from a configuration's `customFields`.

use crate::api::ApiError;
use crate::connections::PsaIntegrations;
use crate::datto::models::DeviceUdfs;
use crate::psa::configuration::{CustomFieldDefinition, CustomFields};
use crate::psa::{PsaClient, PsaKind};
use crate::store::{DynamoStore, Item, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Datto UDF number → PSA field (Autotask UDF name).
pub type UdfMap = BTreeMap<u16, String>;

/// The mapping as the API shows it: `{"udf1": "Asset Tag"}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UdfMappingView {
    pub psa_integration_id: String,
    pub psa: PsaKind,
    /// Datto UDF (`udf1`..`udf300`) → the PSA's configuration UDF (Autotask: its name;
    /// ConnectWise: the custom field's id).
    #[schema(value_type = BTreeMap<String, String>)]
    pub mapping: BTreeMap<String, String>,
    /// The PSA's configuration UDFs to pick from (ConnectWise: with their ids).
    pub fields: Vec<CustomFieldDefinition>,
}

/// The `PUT …/configuration-udfs` body.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UdfMappingInput {
    pub psa_integration_id: String,
    /// Datto UDF (`udf1`..`udf300`) → the PSA's configuration UDF; `{}` maps none.
    #[schema(value_type = BTreeMap<String, String>)]
    pub mapping: Value,
}

/// The custom fields a device's UDFs fill under `map` (only UDFs that hold a value).
pub fn custom_fields(udfs: &DeviceUdfs, map: &UdfMap) -> CustomFields {
    CustomFields(
        map.iter()
            .filter_map(|(n, field)| Some((field.clone(), udfs.0.get(n)?.clone())))
            .collect(),
    )
}

fn sk(psa: &str) -> String {
    format!("CFGUDF#{psa}")
}

impl DynamoStore {
    /// The UDF mapping of a PSA integration (empty: none).
    pub async fn config_udf_map(&self, tenant: &TenantId, integration: &str, psa: &str) -> Result<UdfMap, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(keys::integration_pk(tenant, integration)))
            .key("SK", s(sk(psa)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(item) = out.item else {
            return Ok(UdfMap::new());
        };
        Ok(item
            .get("fields")
            .and_then(|v| v.as_m().ok())
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_s().ok()?.clone())))
            .collect())
    }

    async fn put_config_udf_map(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        map: &UdfMap,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let item = Item::from([
            ("PK".into(), s(keys::integration_pk(tenant, integration))),
            ("SK".into(), s(sk(psa))),
            ("entity".into(), s("configuration-udf-mapping")),
            ("psaIntegrationId".into(), s(psa)),
            (
                "fields".into(),
                AttributeValue::M(map.iter().map(|(k, v)| (k.to_string(), s(v))).collect()),
            ),
            ("updatedAt".into(), n(now_ms)),
        ]);
        self.put(item).await
    }
}

/// The UDF mapping service.
pub struct ConfigUdfs<'a> {
    pub integrations: PsaIntegrations<'a>,
}

fn view(psa: &str, kind: PsaKind, map: &UdfMap, fields: Vec<CustomFieldDefinition>) -> UdfMappingView {
    UdfMappingView {
        psa_integration_id: psa.to_owned(),
        psa: kind,
        mapping: map.iter().map(|(n, f)| (format!("udf{n}"), f.clone())).collect(),
        fields,
    }
}

impl ConfigUdfs<'_> {
    async fn fields(&self, tenant: &TenantId, psa: &str) -> Result<(PsaKind, Vec<CustomFieldDefinition>), ApiError> {
        let (integration, client) = self.integrations.connect(tenant, psa).await?;
        let fields = match client {
            PsaClient::Autotask(c) => c.configuration_custom_fields().await?,
            PsaClient::ConnectWise(c) => c.configuration_custom_fields().await?,
        };
        Ok((integration.kind, fields))
    }

    /// The mapping and the PSA's configuration UDFs.
    pub async fn get(&self, tenant: &TenantId, integration: &str, psa: &str) -> Result<UdfMappingView, ApiError> {
        crate::devices::ensure_integration(self.integrations.store, tenant, integration).await?;
        let (kind, fields) = self.fields(tenant, psa).await?;
        let map = self.integrations.store.config_udf_map(tenant, integration, psa).await?;
        Ok(view(psa, kind, &map, fields))
    }

    /// Replaces the mapping, every target checked against the PSA's list.
    pub async fn put(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        mapping: &Value,
    ) -> Result<UdfMappingView, ApiError> {
        let Some(obj) = mapping.as_object() else {
            return Err(ApiError::bad_request(
                "`mapping` must be an object of Datto UDFs (`udf1`..`udf300`) to PSA fields",
            ));
        };
        let mut problems = Vec::new();
        let mut map = UdfMap::new();
        for (k, v) in obj {
            match (DeviceUdfs::number(k), v.as_str().map(str::trim)) {
                (None, _) => problems.push(format!("`{k}` is not a Datto UDF (udf1 to udf300)")),
                (_, None | Some("")) => problems.push(format!("`{k}` must name a PSA field")),
                (Some(n), Some(f)) => {
                    map.insert(n, f.to_owned());
                }
            }
        }
        if !problems.is_empty() {
            return Err(ApiError::bad_request(problems.join("; ")));
        }
        crate::devices::ensure_integration(self.integrations.store, tenant, integration).await?;
        let (kind, fields) = self.fields(tenant, psa).await?;
        let mut seen: BTreeMap<&str, u16> = BTreeMap::new();
        for (n, f) in &map {
            // Autotask UDFs by name, ConnectWise custom fields by id.
            let known = fields.iter().any(|d| match kind {
                PsaKind::Autotask => d.name == *f,
                _ => d.id.as_deref() == Some(f.as_str()),
            });
            match known {
                false => problems.push(format!(
                    "`udf{n}`: the PSA has no configuration {} `{}`",
                    if kind == PsaKind::Autotask {
                        "UDF named"
                    } else {
                        "custom field with the id"
                    },
                    crate::psa::truncate_chars(f, 100)
                )),
                true => {
                    if let Some(other) = seen.insert(f.as_str(), *n) {
                        problems.push(format!("`udf{other}` and `udf{n}` both map to `{f}`"));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_psa_field",
                problems.join("; "),
            ));
        }
        self.integrations
            .store
            .put_config_udf_map(tenant, integration, psa, &map, crate::time::now_millis())
            .await?;
        Ok(view(psa, kind, &map, fields))
    }
}
