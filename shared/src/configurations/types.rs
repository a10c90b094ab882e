//! The configuration type mapping (part 1 of the flow): per Datto RMM integration and PSA
//! integration, each Datto (category, type) the sync counted maps to an Autotask configuration
//! item type + product, or to a ConnectWise configuration type. Unmapped rows carry a
//! suggestion by name (the matcher of [`crate::matching`] over the PSA's active types); the
//! user picks from the PSA's own lists (`GET /integrations/{psaId}/configuration-options`),
//! never types an id blind: a `PUT` checks the ids against the PSA.
//!
//! A ConnectWise type with required questions is saved with a warning
//! (`requiredQuestions`, `createAllowed: false`): rmmsync answers no questions, so such
//! devices map only to existing configurations. A mapping applies to configurations created
//! from then on; nothing here writes to the PSA.
//!
//! Items: `CFGTYPE#{psaIntegrationId}#{category}#{type}` in the Datto integration's partition
//! (deleted with it), keyed by the tenant of the token like every key.

use crate::api::ApiError;
use crate::connections::PsaIntegrations;
use crate::matching::CompanyIndex;
use crate::psa::configuration::{ConfigurationTypeOption, PicklistOption, ProductOption};
use crate::psa::{PsaClient, PsaKind};
use crate::store::{DynamoStore, Fields, Item, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What the PSA offers to map to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationOptions {
    pub psa: PsaKind,
    /// Autotask configuration item types or ConnectWise configuration types (with required
    /// questions).
    pub types: Vec<ConfigurationTypeOption>,
    /// Autotask products (empty for ConnectWise).
    pub products: Vec<ProductOption>,
    /// ConnectWise configuration statuses (empty for Autotask).
    pub statuses: Vec<PicklistOption>,
}

/// One saved mapping.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigTypeMapping {
    pub type_id: String,
    pub type_name: String,
    /// Autotask only.
    pub product_id: Option<String>,
    pub product_name: Option<String>,
    /// ConnectWise: the type's required questions; non-empty = no creates with it.
    pub required_questions: Vec<String>,
    pub updated_at: i64,
}

/// A suggestion by name for an unmapped row.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypeSuggestion {
    pub type_id: String,
    pub type_name: String,
    /// 0-100.
    pub confidence: u8,
}

/// A row of the type mapping table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigTypeRow {
    pub category: String,
    pub device_type: String,
    pub device_count: i64,
    pub mapping: Option<ConfigTypeMapping>,
    pub suggestion: Option<TypeSuggestion>,
    /// False when unmapped, or mapped to a type with required questions: such devices only
    /// map to existing configurations.
    pub create_allowed: bool,
    /// Why creates are not allowed, for the screen.
    pub warning: Option<String>,
}

/// The table for one (Datto integration, PSA integration).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigTypeTable {
    pub psa_integration_id: String,
    pub psa: PsaKind,
    pub rows: Vec<ConfigTypeRow>,
}

/// A `PUT` body, read by hand to name every problem.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigTypeChange {
    pub psa_integration_id: String,
    pub category: String,
    pub device_type: String,
    /// `None` unmaps.
    pub type_id: Option<String>,
    pub product_id: Option<String>,
}

/// The schema of the `PUT` body (the handler reads the JSON itself).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigTypeInput {
    pub psa_integration_id: String,
    pub category: String,
    pub device_type: String,
    /// A type id from `configuration-options`; `null` unmaps.
    #[schema(required = true)]
    pub type_id: Option<String>,
    /// Autotask: a product id from `configuration-options` (required with a type).
    pub product_id: Option<String>,
}

pub fn parse_change(body: &Value) -> Result<ConfigTypeChange, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let mut problems = Vec::new();
    for k in obj.keys() {
        if !matches!(
            k.as_str(),
            "psaIntegrationId" | "category" | "deviceType" | "typeId" | "productId"
        ) {
            problems.push(format!("unknown field `{k}`"));
        }
    }
    let mut text = |name: &str, required: bool| match obj.get(name) {
        Some(Value::String(v)) if !v.trim().is_empty() && v.len() <= 200 => Some(v.trim().to_owned()),
        Some(Value::Null) | None if !required => None,
        None => {
            problems.push(format!("`{name}` is required"));
            None
        }
        Some(_) => {
            problems.push(format!("`{name}` must be a string of 1 to 200 characters"));
            None
        }
    };
    let psa = text("psaIntegrationId", true);
    let category = text("category", true);
    let device_type = text("deviceType", true);
    let type_id = text("typeId", false);
    let product_id = text("productId", false);
    if !obj.contains_key("typeId") {
        problems.push("`typeId` is required (a type id, or null to unmap)".into());
    }
    match (psa, category, device_type) {
        (Some(psa_integration_id), Some(category), Some(device_type)) if problems.is_empty() => Ok(ConfigTypeChange {
            psa_integration_id,
            category,
            device_type,
            type_id,
            product_id,
        }),
        _ => Err(ApiError::bad_request(problems.join("; "))),
    }
}

/// Suggests a PSA type for each Datto type by name, among the active types.
pub fn suggest(types: &[ConfigurationTypeOption], device_type: &str, category: &str) -> Option<TypeSuggestion> {
    let active: Vec<&ConfigurationTypeOption> = types.iter().filter(|t| t.active).collect();
    if active.is_empty() {
        return None;
    }
    let index = CompanyIndex::new(active.iter().map(|t| (t.id.clone(), t.name.as_str())));
    let best = index.best_match(device_type).or_else(|| index.best_match(category))?;
    let t = active.iter().find(|t| t.id == best.company_id)?;
    Some(TypeSuggestion {
        type_id: t.id.clone(),
        type_name: t.name.clone(),
        confidence: best.confidence,
    })
}

fn warning_for(m: &ConfigTypeMapping) -> Option<String> {
    (!m.required_questions.is_empty()).then(|| {
        format!(
            "the type {} has required questions ({}): devices of this type map only to existing configurations",
            m.type_name,
            m.required_questions.join(", ")
        )
    })
}

/// Joins the sync's counts, the saved mappings and the suggestions, most devices first.
pub fn table_rows(
    counts: Vec<(String, String, i64)>,
    mappings: BTreeMap<(String, String), ConfigTypeMapping>,
    types: &[ConfigurationTypeOption],
) -> Vec<ConfigTypeRow> {
    let mut rows: BTreeMap<(String, String), i64> = counts.into_iter().map(|(c, t, n)| ((c, t), n)).collect();
    for k in mappings.keys() {
        rows.entry(k.clone()).or_insert(0);
    }
    let mut out: Vec<ConfigTypeRow> = rows
        .into_iter()
        .map(|((category, device_type), count)| {
            let mapping = mappings.get(&(category.clone(), device_type.clone())).cloned();
            let suggestion = match mapping {
                Some(_) => None,
                None => suggest(types, &device_type, &category),
            };
            let warning = match &mapping {
                None => Some("not mapped: no configuration is created for these devices".to_owned()),
                Some(m) => warning_for(m),
            };
            ConfigTypeRow {
                create_allowed: mapping.as_ref().is_some_and(|m| m.required_questions.is_empty()),
                category,
                device_type,
                device_count: count,
                mapping,
                suggestion,
                warning,
            }
        })
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.device_count));
    out
}

fn mapping_sk(psa: &str, category: &str, device_type: &str) -> String {
    format!("CFGTYPE#{psa}#{category}#{device_type}")
}

impl DynamoStore {
    /// The configuration type mappings of a (Datto integration, PSA integration).
    pub async fn config_type_mappings(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
    ) -> Result<BTreeMap<(String, String), ConfigTypeMapping>, StoreError> {
        let items = self
            .query_prefix(keys::integration_pk(tenant, integration), &format!("CFGTYPE#{psa}#"))
            .await?;
        items
            .iter()
            .map(|i| {
                let f = Fields(i);
                let questions = match i.get("requiredQuestions") {
                    Some(AttributeValue::L(l)) => l.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
                    _ => Vec::new(),
                };
                Ok((
                    (f.s("category")?, f.s("deviceType")?),
                    ConfigTypeMapping {
                        type_id: f.s("typeId")?,
                        type_name: f.opt_s("typeName").unwrap_or_default(),
                        product_id: f.opt_s("productId"),
                        product_name: f.opt_s("productName"),
                        required_questions: questions,
                        updated_at: f.opt_n("updatedAt").unwrap_or(0),
                    },
                ))
            })
            .collect()
    }

    async fn put_config_type_mapping(
        &self,
        tenant: &TenantId,
        integration: &str,
        change: &ConfigTypeChange,
        m: Option<&ConfigTypeMapping>,
    ) -> Result<(), StoreError> {
        let pk = keys::integration_pk(tenant, integration);
        let sk = mapping_sk(&change.psa_integration_id, &change.category, &change.device_type);
        let Some(m) = m else {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("PK", s(pk))
                .key("SK", s(sk))
                .send()
                .await
                .map_err(classify)?;
            return Ok(());
        };
        let mut item = Item::from([
            ("PK".into(), s(pk)),
            ("SK".into(), s(sk)),
            ("entity".into(), s("configuration-type-mapping")),
            ("psaIntegrationId".into(), s(&change.psa_integration_id)),
            ("category".into(), s(&change.category)),
            ("deviceType".into(), s(&change.device_type)),
            ("typeId".into(), s(&m.type_id)),
            ("typeName".into(), s(&m.type_name)),
            ("updatedAt".into(), n(m.updated_at)),
            (
                "requiredQuestions".into(),
                AttributeValue::L(m.required_questions.iter().map(s).collect()),
            ),
        ]);
        if let Some(p) = &m.product_id {
            item.insert("productId".into(), s(p));
        }
        if let Some(p) = &m.product_name {
            item.insert("productName".into(), s(p));
        }
        self.put(item).await
    }
}

/// The type mapping service.
pub struct ConfigTypes<'a> {
    pub integrations: PsaIntegrations<'a>,
}

impl ConfigTypes<'_> {
    fn store(&self) -> &DynamoStore {
        self.integrations.store
    }

    /// The PSA's types, products and statuses, read from the PSA.
    pub async fn options(&self, tenant: &TenantId, psa_id: &str) -> Result<ConfigurationOptions, ApiError> {
        let (integration, client) = self.integrations.connect(tenant, psa_id).await?;
        Ok(match &client {
            PsaClient::Autotask(at) => ConfigurationOptions {
                psa: integration.kind,
                types: at.configuration_type_options().await?,
                products: at.product_options().await?,
                statuses: Vec::new(),
            },
            PsaClient::ConnectWise(cw) => ConfigurationOptions {
                psa: integration.kind,
                types: cw.configuration_type_options().await?,
                products: Vec::new(),
                statuses: cw.configuration_statuses().await?,
            },
        })
    }

    pub async fn table(&self, tenant: &TenantId, integration: &str, psa_id: &str) -> Result<ConfigTypeTable, ApiError> {
        crate::devices::ensure_integration(self.store(), tenant, integration).await?;
        let options = self.options(tenant, psa_id).await?;
        let (counts, mappings) = tokio::try_join!(
            self.store().type_counts(tenant, integration),
            self.store().config_type_mappings(tenant, integration, psa_id),
        )?;
        Ok(ConfigTypeTable {
            psa_integration_id: psa_id.to_owned(),
            psa: options.psa,
            rows: table_rows(counts, mappings, &options.types),
        })
    }

    /// Saves (or, with no type, removes) one mapping after checking its ids against the PSA.
    pub async fn put(
        &self,
        tenant: &TenantId,
        integration: &str,
        change: ConfigTypeChange,
    ) -> Result<ConfigTypeRow, ApiError> {
        crate::devices::ensure_integration(self.store(), tenant, integration).await?;
        let counts = self.store().type_counts(tenant, integration).await?;
        let count = counts
            .iter()
            .find(|(c, t, _)| *c == change.category && *t == change.device_type)
            .map(|(_, _, n)| *n);
        let options = self.options(tenant, &change.psa_integration_id).await?;
        let Some(count) = count else {
            return Err(ApiError::not_found(format!(
                "the integration's sync has not seen the Datto type {}/{}",
                change.category, change.device_type
            )));
        };
        let mapping = match &change.type_id {
            None => None,
            Some(type_id) => {
                let t = options
                    .types
                    .iter()
                    .find(|t| &t.id == type_id)
                    .ok_or_else(|| ApiError::not_found(format!("the PSA has no configuration type {type_id}")))?;
                if !t.active {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "configuration_type_inactive",
                        format!("the configuration type {} is inactive in the PSA", t.name),
                    ));
                }
                let product = match (options.psa, &change.product_id) {
                    (PsaKind::Autotask, None) => {
                        return Err(ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "product_required",
                            "an Autotask mapping needs `productId` (a product from configuration-options)",
                        ));
                    }
                    (PsaKind::Autotask, Some(p)) => {
                        let found = options
                            .products
                            .iter()
                            .find(|x| &x.id == p)
                            .ok_or_else(|| ApiError::not_found(format!("the PSA has no product {p}")))?;
                        if !found.active {
                            return Err(ApiError::new(
                                StatusCode::UNPROCESSABLE_ENTITY,
                                "product_inactive",
                                format!("the product {} is inactive in Autotask", found.name),
                            ));
                        }
                        Some(found.clone())
                    }
                    (PsaKind::ConnectwiseManage, Some(_)) => {
                        return Err(ApiError::bad_request("`productId` is for Autotask mappings only"));
                    }
                    (PsaKind::ConnectwiseManage, None) => None,
                };
                Some(ConfigTypeMapping {
                    type_id: t.id.clone(),
                    type_name: t.name.clone(),
                    product_id: product.as_ref().map(|p| p.id.clone()),
                    product_name: product.map(|p| p.name),
                    required_questions: t.required_questions.clone(),
                    updated_at: crate::time::now_millis(),
                })
            }
        };
        self.store()
            .put_config_type_mapping(tenant, integration, &change, mapping.as_ref())
            .await?;
        let mut mappings = BTreeMap::new();
        if let Some(m) = mapping {
            mappings.insert((change.category.clone(), change.device_type.clone()), m);
        }
        let rows = table_rows(
            vec![(change.category.clone(), change.device_type.clone(), count)],
            mappings,
            &options.types,
        );
        Ok(rows.into_iter().next().expect("one row"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(id: &str, name: &str, active: bool, questions: &[&str]) -> ConfigurationTypeOption {
        ConfigurationTypeOption {
            id: id.into(),
            name: name.into(),
            active,
            required_questions: questions.iter().map(|q| q.to_string()).collect(),
        }
    }

    #[test]
    fn every_problem_is_named() {
        let e = parse_change(&json!({"category": 3, "colour": "red"})).unwrap_err();
        let m = e.message;
        for needle in [
            "`colour`",
            "`category`",
            "`psaIntegrationId` is required",
            "`deviceType`",
            "`typeId` is required",
        ] {
            assert!(m.contains(needle), "{m} lacks {needle}");
        }
        let ok = parse_change(
            &json!({"psaIntegrationId": "p", "category": "Desktop", "deviceType": "Laptop", "typeId": null}),
        )
        .unwrap();
        assert_eq!(ok.type_id, None);
    }

    #[test]
    fn suggestions_come_from_active_types_by_name() {
        let types = [
            t("1", "Workstation", true, &[]),
            t("3", "Server", true, &[]),
            t("6", "Managed Server (legacy)", false, &[]),
            t("2", "Laptop", true, &[]),
        ];
        assert_eq!(suggest(&types, "Server", "Server").unwrap().type_id, "3");
        assert_eq!(suggest(&types, "Laptop", "Desktop").unwrap().type_id, "2");
        assert_eq!(suggest(&[t("6", "Server", false, &[])], "Server", "Server"), None);
    }

    #[test]
    fn rows_flag_unmapped_and_required_questions() {
        let types = [
            t("4", "Network Device", true, &["Management VLAN"]),
            t("3", "Server", true, &[]),
        ];
        let mut mappings = BTreeMap::new();
        mappings.insert(
            ("Network Device".to_string(), "Switch".to_string()),
            ConfigTypeMapping {
                type_id: "4".into(),
                type_name: "Network Device".into(),
                product_id: None,
                product_name: None,
                required_questions: vec!["Management VLAN".into()],
                updated_at: 1,
            },
        );
        let rows = table_rows(
            vec![
                ("Network Device".into(), "Switch".into(), 2),
                ("Server".into(), "Server".into(), 5),
            ],
            mappings,
            &types,
        );
        assert_eq!(rows[0].device_type, "Server");
        assert!(!rows[0].create_allowed && rows[0].mapping.is_none());
        assert_eq!(rows[0].suggestion.as_ref().unwrap().type_id, "3");
        assert!(!rows[1].create_allowed);
        assert!(rows[1].warning.as_deref().unwrap().contains("Management VLAN"));
        assert!(rows[1].suggestion.is_none());
    }
}
