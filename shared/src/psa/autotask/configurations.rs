//! Autotask configuration items for the devices flow: the lists a user picks from
//! (ConfigurationItemTypes, Products, the audit manufacturer and model picklists of
//! `/ConfigurationItems/entityInformation/fields`, the CI UDFs of
//! `…/entityInformation/userDefinedFields`), a company's items, the item carrying a Datto RMM
//! device uid (`rmmDeviceUID`), create (`POST /ConfigurationItems` → `itemId`) and update
//! (`PATCH /ConfigurationItems` with `id`, only the fields given).
//!
//! A create first looks the device uid up and adopts an item that carries it; the POST is
//! [`Replay::Create`] (never re-sent after a 5xx or a timeout), and when its outcome is unknown
//! the uid is looked up again: found = that item ([`CreateOutcome::Found`]), not found = the
//! error, for the next run (which looks up first). So a fault never makes two items for one
//! device. Manufacturer and model are picklist values: sent only when a label matches
//! (case-insensitively), read back as labels. UDF values are sent, never logged.

use super::client::AutotaskClient;
use super::records::{id_text, text};
use super::transport::{PSA, decode};
use crate::psa::configuration::{
    CiPicklists, ConfigurationChanges, ConfigurationDraft, ConfigurationTypeOption, CreateOutcome,
    CustomFieldDefinition, CustomFields, PicklistOption, ProductOption, PsaConfiguration, outcome_unknown,
    pick_for_device,
};
use crate::psa::{PsaError, truncate_chars};
use crate::retry::Replay;
use reqwest::Method;
use serde_json::{Map, Value, json};

const ENTITY: &str = "ConfigurationItems";
const TITLE_MAX: usize = 200;
const SERIAL_MAX: usize = 100;
const UID_MAX: usize = 255;
const AUDIT_TEXT_MAX: usize = 255;
const IP_MAX: usize = 100;
/// Device uids per `in` lookup.
pub const LOOKUP_CHUNK: usize = 200;

fn label_to_id(list: &[PicklistOption], label: &str) -> Option<i64> {
    let label = label.trim();
    list.iter()
        .find(|p| p.active && p.label.trim().eq_ignore_ascii_case(label))
        .and_then(|p| p.id.parse().ok())
}

fn id_to_label(list: &[PicklistOption], v: &Value) -> Option<String> {
    let id = v
        .as_i64()
        .map(|i| i.to_string())
        .or_else(|| v.as_str().map(str::to_owned))?;
    list.iter().find(|p| p.id == id).map(|p| p.label.clone())
}

fn parse_id(what: &str, text: &str) -> Result<i64, PsaError> {
    text.trim().parse::<i64>().map_err(|_| PsaError::Validation {
        psa: PSA,
        detail: format!("the {what} id `{}` is not an Autotask id", truncate_chars(text, 40)),
    })
}

fn udf_list(fields: &CustomFields) -> Value {
    Value::Array(
        fields
            .0
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect(),
    )
}

impl AutotaskClient {
    /// ConfigurationItemTypes, inactive ones included.
    pub async fn configuration_type_options(&self) -> Result<Vec<ConfigurationTypeOption>, PsaError> {
        let items = self
            .transport
            .query_all("ConfigurationItemTypes", json!([{"op": "exist", "field": "id"}]))
            .await?;
        Ok(items
            .iter()
            .filter_map(|t| {
                Some(ConfigurationTypeOption {
                    id: id_text(t, "id")?,
                    name: text(t, "name").unwrap_or_default(),
                    active: t.get("isActive").and_then(Value::as_bool).unwrap_or(true),
                    required_questions: Vec::new(),
                })
            })
            .collect())
    }

    /// Products, inactive ones included (Autotask refuses an inactive product on create).
    pub async fn product_options(&self) -> Result<Vec<ProductOption>, PsaError> {
        let items = self
            .transport
            .query_all("Products", json!([{"op": "exist", "field": "id"}]))
            .await?;
        Ok(items
            .iter()
            .filter_map(|p| {
                Some(ProductOption {
                    id: id_text(p, "id")?,
                    name: text(p, "name").unwrap_or_default(),
                    active: p.get("isActive").and_then(Value::as_bool).unwrap_or(false),
                    manufacturer: text(p, "manufacturerName"),
                })
            })
            .collect())
    }

    /// The audit manufacturer and model picklists (`rmmDeviceAuditManufacturerID`,
    /// `rmmDeviceAuditModelID`), read once per client.
    pub async fn ci_picklists(&self) -> Result<&CiPicklists, PsaError> {
        self.ci_picklists
            .get_or_try_init(|| async {
                let v: Value = self
                    .transport
                    .get_json("ConfigurationItems/entityInformation/fields", ENTITY)
                    .await?;
                let picks = |name: &str| -> Vec<PicklistOption> {
                    v.get("fields")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .find(|f| f.get("name").and_then(Value::as_str) == Some(name))
                        .and_then(|f| f.get("picklistValues"))
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|p| {
                            Some(PicklistOption {
                                id: id_text(p, "value")?,
                                label: text(p, "label")?,
                                active: p.get("isActive").and_then(Value::as_bool).unwrap_or(true),
                                closed: false,
                                default: p.get("isDefaultValue").and_then(Value::as_bool).unwrap_or(false),
                            })
                        })
                        .collect()
                };
                Ok(CiPicklists {
                    manufacturers: picks("rmmDeviceAuditManufacturerID"),
                    models: picks("rmmDeviceAuditModelID"),
                })
            })
            .await
    }

    /// The UDFs defined on configuration items.
    pub async fn configuration_custom_fields(&self) -> Result<Vec<CustomFieldDefinition>, PsaError> {
        let v: Value = self
            .transport
            .get_json("ConfigurationItems/entityInformation/userDefinedFields", ENTITY)
            .await?;
        Ok(v.get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|f| f.get("isActive").and_then(Value::as_bool) != Some(false))
            .filter_map(|f| {
                Some(CustomFieldDefinition {
                    name: text(f, "name")?,
                    id: None,
                    required: f.get("isRequired").and_then(Value::as_bool).unwrap_or(false),
                })
            })
            .collect())
    }

    /// Every configuration item of a company, inactive ones included.
    pub async fn company_configurations(&self, company_id: &str) -> Result<Vec<PsaConfiguration>, PsaError> {
        let company = parse_id("company", company_id)?;
        let items = self
            .transport
            .query_all(ENTITY, json!([{"op": "eq", "field": "companyID", "value": company}]))
            .await?;
        let picks = self.ci_picklists().await?;
        Ok(items.iter().filter_map(|i| configuration(i, picks)).collect())
    }

    /// The item carrying this Datto RMM device uid, if any (several: the active one with the
    /// lowest id).
    pub async fn find_configuration_by_device(&self, device_uid: &str) -> Result<Option<PsaConfiguration>, PsaError> {
        let uid = device_uid.trim();
        if uid.is_empty() {
            return Ok(None);
        }
        let items = self
            .transport
            .query_all(ENTITY, json!([{"op": "eq", "field": "rmmDeviceUID", "value": uid}]))
            .await?;
        let picks = self.ci_picklists().await?;
        Ok(pick_for_device(
            items.iter().filter_map(|i| configuration(i, picks)).collect(),
        ))
    }

    /// The items carrying these Datto RMM device uids, by uid (several for one uid: as
    /// [`Self::find_configuration_by_device`]): one `in` query per 200 uids, so a run of
    /// creations looks its devices up in a few requests instead of one each.
    pub async fn find_configurations_by_devices(
        &self,
        device_uids: &[String],
    ) -> Result<std::collections::HashMap<String, PsaConfiguration>, PsaError> {
        let uids: Vec<&str> = device_uids.iter().map(|u| u.trim()).filter(|u| !u.is_empty()).collect();
        let mut by_uid: std::collections::HashMap<String, Vec<PsaConfiguration>> = Default::default();
        for chunk in uids.chunks(LOOKUP_CHUNK) {
            let items = self
                .transport
                .query_all(ENTITY, json!([{"op": "in", "field": "rmmDeviceUID", "value": chunk}]))
                .await?;
            let picks = self.ci_picklists().await?;
            for c in items.iter().filter_map(|i| configuration(i, picks)) {
                if let Some(uid) = c.device_uid.clone() {
                    by_uid.entry(uid).or_default().push(c);
                }
            }
        }
        Ok(by_uid
            .into_iter()
            .filter_map(|(uid, found)| Some((uid, pick_for_device(found)?)))
            .collect())
    }

    /// Creates the item for a device, unless one already carries its uid (see the module doc).
    pub async fn create_configuration(&self, draft: &ConfigurationDraft) -> Result<CreateOutcome, PsaError> {
        if let Some(found) = self.find_configuration_by_device(&draft.device_uid).await? {
            return Ok(CreateOutcome::Found(found.id));
        }
        self.create_configuration_looked_up(draft).await
    }

    /// [`Self::create_configuration`] for a device the caller has just looked up (with
    /// [`Self::find_configurations_by_devices`]) and found nothing for: the POST, never re-sent,
    /// and the lookup again when its outcome is unknown.
    pub async fn create_configuration_looked_up(&self, draft: &ConfigurationDraft) -> Result<CreateOutcome, PsaError> {
        let body = self.create_body(draft).await?;
        let zone = self.transport.zone().await?;
        let sent = self
            .transport
            .send(
                Method::POST,
                self.transport.url(&zone, ENTITY)?,
                ENTITY,
                Some(&body),
                Replay::Create,
            )
            .await
            .and_then(|answer| {
                self.transport.expect_ok(&answer, "/ConfigurationItems")?;
                item_id(&answer.body)
            });
        match sent {
            Ok(id) => Ok(CreateOutcome::Created(id.to_string())),
            Err(e) if outcome_unknown(&e) => {
                tracing::warn!(error = %e, code = e.code(), "an Autotask configuration item create ended unknown; looking it up");
                match self.find_configuration_by_device(&draft.device_uid).await {
                    Ok(Some(found)) => Ok(CreateOutcome::Found(found.id)),
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn create_body(&self, draft: &ConfigurationDraft) -> Result<Value, PsaError> {
        let product = draft.product_id.as_deref().ok_or_else(|| PsaError::Validation {
            psa: PSA,
            detail: "an Autotask configuration item needs a product (map the device type to one)".into(),
        })?;
        let mut body = json!({
            "companyID": parse_id("company", &draft.company_id)?,
            "productID": parse_id("product", product)?,
            "configurationItemType": parse_id("configuration item type", &draft.type_id)?,
            "isActive": true,
            "referenceTitle": truncate_chars(draft.name.trim(), TITLE_MAX),
            "rmmDeviceUID": truncate_chars(draft.device_uid.trim(), UID_MAX),
        });
        let m = body.as_object_mut().expect("an object");
        if let Some(id) = draft.device_id {
            m.insert("rmmDeviceID".into(), json!(id));
        }
        put_text(m, "serialNumber", &draft.serial_number, SERIAL_MAX);
        put_text(m, "rmmDeviceAuditOperatingSystem", &draft.os, AUDIT_TEXT_MAX);
        put_text(m, "rmmDeviceAuditIPAddress", &draft.ip_address, IP_MAX);
        put_text(m, "rmmDeviceAuditHostname", &Some(draft.name.clone()), AUDIT_TEXT_MAX);
        put_text(m, "warrantyExpirationDate", &draft.warranty_expiration, 10);
        let picks = self.ci_picklists().await?;
        if let Some(id) = draft
            .manufacturer
            .as_deref()
            .and_then(|l| label_to_id(&picks.manufacturers, l))
        {
            m.insert("rmmDeviceAuditManufacturerID".into(), json!(id));
        }
        if let Some(id) = draft.model.as_deref().and_then(|l| label_to_id(&picks.models, l)) {
            m.insert("rmmDeviceAuditModelID".into(), json!(id));
        }
        if !draft.custom_fields.is_empty() {
            m.insert("userDefinedFields".into(), udf_list(&draft.custom_fields));
        }
        Ok(body)
    }

    /// `PATCH /ConfigurationItems` with the changed fields only (nothing sent when empty).
    pub async fn update_configuration(&self, id: &str, changes: &ConfigurationChanges) -> Result<(), PsaError> {
        if changes.is_empty() {
            return Ok(());
        }
        let id = parse_id("configuration item", id)?;
        let mut m = Map::new();
        m.insert("id".into(), json!(id));
        if let Some(uid) = &changes.device_uid {
            m.insert("rmmDeviceUID".into(), json!(truncate_chars(uid.trim(), UID_MAX)));
        }
        if let Some(d) = changes.device_id {
            m.insert("rmmDeviceID".into(), json!(d));
        }
        put_text(&mut m, "serialNumber", &changes.serial_number, SERIAL_MAX);
        put_text(&mut m, "rmmDeviceAuditOperatingSystem", &changes.os, AUDIT_TEXT_MAX);
        put_text(&mut m, "rmmDeviceAuditIPAddress", &changes.ip_address, IP_MAX);
        put_text(&mut m, "warrantyExpirationDate", &changes.warranty_expiration, 10);
        if let Some(model) = &changes.model {
            let picks = self.ci_picklists().await?;
            if let Some(mid) = label_to_id(&picks.models, model) {
                m.insert("rmmDeviceAuditModelID".into(), json!(mid));
            }
        }
        if let Some(active) = changes.active {
            m.insert("isActive".into(), json!(active));
        }
        if !changes.custom_fields.is_empty() {
            m.insert("userDefinedFields".into(), udf_list(&changes.custom_fields));
        }
        if m.len() == 1 {
            return Ok(());
        }
        let zone = self.transport.zone().await?;
        let answer = self
            .transport
            .send(
                Method::PATCH,
                self.transport.url(&zone, ENTITY)?,
                ENTITY,
                Some(&Value::Object(m)),
                Replay::Idempotent,
            )
            .await?;
        self.transport.expect_ok(&answer, "/ConfigurationItems")
    }

    /// Sets an item inactive (its device was deleted in Datto RMM); it keeps its device uid.
    pub async fn deactivate_configuration(&self, id: &str) -> Result<(), PsaError> {
        let changes = ConfigurationChanges {
            active: Some(false),
            ..ConfigurationChanges::default()
        };
        self.update_configuration(id, &changes).await
    }
}

fn put_text(m: &mut Map<String, Value>, field: &str, value: &Option<String>, max: usize) {
    if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        m.insert(field.into(), json!(truncate_chars(v, max)));
    }
}

fn item_id(body: &[u8]) -> Result<i64, PsaError> {
    let v: Value = decode(body, "/ConfigurationItems")?;
    v.get("itemId")
        .and_then(|i| i.as_i64().or_else(|| i.as_str()?.parse().ok()))
        .ok_or_else(|| PsaError::InvalidResponse {
            psa: PSA,
            path: "/ConfigurationItems".into(),
            detail: "no itemId in the answer".into(),
        })
}

/// An item as rmmsync reads it (None without an id).
fn configuration(v: &Value, picks: &CiPicklists) -> Option<PsaConfiguration> {
    let udfs = v
        .get("userDefinedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|u| {
            let name = u.get("name")?.as_str()?.to_owned();
            let value = match u.get("value")? {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((name, value))
        })
        .collect();
    Some(PsaConfiguration {
        id: id_text(v, "id")?,
        company_id: id_text(v, "companyID"),
        name: text(v, "referenceTitle").unwrap_or_default(),
        active: v.get("isActive").and_then(Value::as_bool).unwrap_or(false),
        type_id: id_text(v, "configurationItemType"),
        product_id: id_text(v, "productID"),
        serial_number: text(v, "serialNumber"),
        device_uid: text(v, "rmmDeviceUID"),
        manufacturer: v
            .get("rmmDeviceAuditManufacturerID")
            .and_then(|m| id_to_label(&picks.manufacturers, m)),
        model: v
            .get("rmmDeviceAuditModelID")
            .and_then(|m| id_to_label(&picks.models, m)),
        os: text(v, "rmmDeviceAuditOperatingSystem"),
        ip_address: text(v, "rmmDeviceAuditIPAddress"),
        warranty_expiration: text(v, "warrantyExpirationDate").map(|w| w.chars().take(10).collect()),
        custom_fields: CustomFields(udfs),
    })
}
