//! Datto device types of an integration and what each maps to.
//!
//! `GET /integrations/{id}/device-types` joins the sync's counts (`DEVTYPE#`)
//! with the mappings (`TYPEMAP#`); a mapping whose type no longer has devices
//! still shows, with count 0. `PUT` takes
//! `{"category", "deviceType", "mapsTo": id|null, "autoSync": bool}`:
//! `mapsTo: null` unmaps (and so needs `autoSync: false`).

use super::types::DeviceTypes;
use super::{DevicesError, TypeMapping, ensure_integration};

use crate::store::DynamoStore;
use crate::tenant::TenantId;
use crate::time::now_millis;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMappingChange {
    pub category: String,
    pub device_type: String,
    pub maps_to: Option<String>,
    pub auto_sync: bool,
}

/// Reads a PUT body, naming every problem at once rather than the first.
pub fn parse_mapping_input(body: &Value) -> Result<TypeMappingChange, DevicesError> {
    let Some(obj) = body.as_object() else {
        return Err(DevicesError::Invalid("the body must be a JSON object".into()));
    };
    let mut problems = Vec::new();
    for k in obj.keys() {
        if !matches!(k.as_str(), "category" | "deviceType" | "mapsTo" | "autoSync") {
            problems.push(format!("unknown field `{k}`"));
        }
    }
    let mut text = |name: &str| match obj.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => Some(s.trim().to_owned()),
        Some(Value::String(_)) => {
            problems.push(format!("`{name}` must be 1 to 200 characters"));
            None
        }
        Some(_) => {
            problems.push(format!("`{name}` must be a string"));
            None
        }
        None => {
            problems.push(format!("`{name}` is required"));
            None
        }
    };
    let category = text("category");
    let device_type = text("deviceType");
    let maps_to = match obj.get("mapsTo") {
        Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(_) => {
            problems.push("`mapsTo` must be a device type id or null".into());
            None
        }
        None => {
            problems.push("`mapsTo` is required (a device type id, or null to unmap)".into());
            None
        }
    };
    let auto_sync = match obj.get("autoSync") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            problems.push("`autoSync` must be true or false".into());
            false
        }
    };
    match (category, device_type) {
        (Some(category), Some(device_type)) if problems.is_empty() => Ok(TypeMappingChange {
            category,
            device_type,
            maps_to,
            auto_sync,
        }),
        _ => Err(DevicesError::Invalid(problems.join("; "))),
    }
}

/// The rule PUT enforces beyond the shape of the body.
pub fn check_auto_sync(input: &TypeMappingChange) -> Result<(), DevicesError> {
    if input.auto_sync && input.maps_to.is_none() {
        return Err(DevicesError::Rule {
            code: "auto_sync_requires_mapping",
            message: format!(
                "auto-sync imports {}/{} devices as a portal device type, so it needs `mapsTo`; \
                 map the type first (or in the same request)",
                input.category, input.device_type
            ),
        });
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypeRow {
    pub category: String,
    pub device_type: String,
    pub device_count: i64,
    pub maps_to: Option<PortalRef>,
    pub auto_sync: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PortalRef {
    pub id: String,
    pub name: String,
}

/// Joins counts and mappings, most devices first.
pub fn type_rows(
    counts: Vec<(String, String, i64)>,
    mappings: Vec<TypeMapping>,
    names: &HashMap<String, String>,
) -> Vec<TypeRow> {
    let mut rows: BTreeMap<(String, String), TypeRow> = BTreeMap::new();
    for (category, device_type, count) in counts {
        rows.insert(
            (category.clone(), device_type.clone()),
            TypeRow {
                category,
                device_type,
                device_count: count,
                maps_to: None,
                auto_sync: false,
            },
        );
    }
    for m in mappings {
        let row = rows
            .entry((m.category.clone(), m.device_type.clone()))
            .or_insert_with(|| TypeRow {
                category: m.category.clone(),
                device_type: m.device_type.clone(),
                device_count: 0,
                maps_to: None,
                auto_sync: false,
            });
        row.maps_to = m.maps_to.map(|id| PortalRef {
            name: names.get(&id).cloned().unwrap_or_default(),
            id,
        });
        row.auto_sync = m.auto_sync;
    }
    let mut rows: Vec<TypeRow> = rows.into_values().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.device_count));
    rows
}

pub struct TypeMappings<'a> {
    pub store: &'a DynamoStore,
}

impl TypeMappings<'_> {
    pub async fn table(&self, tenant: &TenantId, integration: &str) -> Result<Vec<TypeRow>, DevicesError> {
        ensure_integration(self.store, tenant, integration).await?;
        let portal_types = DeviceTypes { store: self.store };
        let (counts, mappings, portal) = tokio::try_join!(
            async { Ok::<_, DevicesError>(self.store.type_counts(tenant, integration).await?) },
            async { Ok(self.store.type_mappings(tenant, integration).await?) },
            portal_types.list(tenant),
        )?;
        let names = portal.into_iter().map(|t| (t.id, t.name)).collect();
        Ok(type_rows(counts, mappings, &names))
    }

    pub async fn put(
        &self,
        tenant: &TenantId,
        integration: &str,
        input: TypeMappingChange,
    ) -> Result<TypeRow, DevicesError> {
        check_auto_sync(&input)?;
        ensure_integration(self.store, tenant, integration).await?;
        let portal = DeviceTypes { store: self.store }.list(tenant).await?;
        let maps_to = match &input.maps_to {
            None => None,
            Some(id) => Some(
                portal
                    .iter()
                    .find(|t| &t.id == id)
                    .map(|t| PortalRef {
                        id: t.id.clone(),
                        name: t.name.clone(),
                    })
                    .ok_or_else(|| DevicesError::NotFound(format!("no portal device type {id}")))?,
            ),
        };
        let counts = self.store.type_counts(tenant, integration).await?;
        let Some((_, _, count)) = counts
            .into_iter()
            .find(|(c, t, _)| *c == input.category && *t == input.device_type)
        else {
            return Err(DevicesError::NotFound(format!(
                "the integration's sync has not seen the Datto type {}/{}",
                input.category, input.device_type
            )));
        };
        self.store
            .put_type_mapping(
                tenant,
                integration,
                &TypeMapping {
                    category: input.category.clone(),
                    device_type: input.device_type.clone(),
                    maps_to: input.maps_to.clone(),
                    auto_sync: input.auto_sync,
                    updated_at: now_millis(),
                },
            )
            .await?;
        Ok(TypeRow {
            category: input.category,
            device_type: input.device_type,
            device_count: count,
            maps_to,
            auto_sync: input.auto_sync,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_problem_is_named() {
        let e = parse_mapping_input(&json!({ "category": 3, "mapsTo": 7, "autoSync": "yes", "colour": "red" }))
            .unwrap_err()
            .to_string();
        for needle in [
            "`colour`",
            "`category` must be a string",
            "`deviceType` is required",
            "`mapsTo`",
            "`autoSync`",
        ] {
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
        assert!(parse_mapping_input(&json!([])).is_err());
    }

    #[test]
    fn auto_sync_needs_a_mapping() {
        let mut input = parse_mapping_input(
            &json!({ "category": "Desktop", "deviceType": "Desktop", "mapsTo": null, "autoSync": true }),
        )
        .unwrap();
        match check_auto_sync(&input) {
            Err(DevicesError::Rule { code, message }) => {
                assert_eq!(code, "auto_sync_requires_mapping");
                assert!(message.contains("mapsTo"));
            }
            other => panic!("{other:?}"),
        }
        input.maps_to = Some("desktop".into());
        assert!(check_auto_sync(&input).is_ok());
    }

    #[test]
    fn rows_join_counts_and_mappings() {
        let names = HashMap::from([("server".to_owned(), "Server".to_owned())]);
        let rows = type_rows(
            vec![
                ("Desktop".into(), "Desktop".into(), 5),
                ("Server".into(), "Server".into(), 9),
            ],
            vec![
                TypeMapping {
                    category: "Server".into(),
                    device_type: "Server".into(),
                    maps_to: Some("server".into()),
                    auto_sync: true,
                    updated_at: 0,
                },
                TypeMapping {
                    category: "Gone".into(),
                    device_type: "Gone".into(),
                    maps_to: None,
                    auto_sync: false,
                    updated_at: 0,
                },
            ],
            &names,
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].device_type, "Server");
        assert_eq!(rows[0].maps_to.as_ref().unwrap().name, "Server");
        assert!(rows[0].auto_sync);
        assert_eq!(rows[2].device_count, 0);
    }
}
