//! ConnectWise configurations for the devices flow: the lists a user picks from
//! (`/company/configurations/types` with each active type's questions from
//! `…/types/{id}/questions`, `/company/configurations/statuses`, `/procurement/manufacturers`),
//! a company's configurations (`company/id=`), the configuration carrying a Datto RMM device uid
//! (`deviceIdentifier=`), create (`POST /company/configurations`: name, type, company, status
//! and the device's fields; the manufacturer as a reference `{id}`) and update (JSON-Patch
//! `replace` of the changed fields only).
//!
//! A type with required questions cannot be used to create (rmmsync answers no questions): the
//! create is refused before any request, with the questions named. A create first looks the
//! device uid up and adopts a configuration that carries it; the POST is never re-sent after a
//! 5xx or a timeout, and when its outcome is unknown the uid is looked up again (found =
//! [`CreateOutcome::Found`], not found = the error for the next run, which looks up first).
//! Custom fields are addressed by field id: read from `customFields [{id, caption, value}]`, sent
//! on create as `[{id, value}]`, and on update patched as the whole array (the configuration's
//! current values read first, the changed ones over them); values are never logged. The
//! definitions to pick from are read from a configuration's `customFields`.

use super::client::ConnectWiseClient;
use super::conditions::Conditions;
use super::transport::PSA;
use crate::psa::configuration::{
    ConfigurationChanges, ConfigurationDraft, ConfigurationTypeOption, CreateOutcome, CustomFieldDefinition,
    CustomFields, PicklistOption, PsaConfiguration, outcome_unknown, pick_for_device,
};
use crate::psa::{PsaError, truncate_chars};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PATH: &str = "company/configurations";
const NAME_MAX: usize = 100;
const SERIAL_MAX: usize = 250;
const MODEL_MAX: usize = 50;
const IDENTIFIER_MAX: usize = 100;
const OS_MAX: usize = 250;
const IP_MAX: usize = 50;
const LINK_MAX: usize = 1000;

fn parse_id(what: &str, text: &str) -> Result<i64, PsaError> {
    text.trim().parse::<i64>().map_err(|_| PsaError::Validation {
        psa: PSA,
        detail: format!("the {what} id `{}` is not a ConnectWise id", truncate_chars(text, 40)),
    })
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

fn flag(v: &Value) -> bool {
    v.as_bool().unwrap_or(false)
}

/// ConnectWise dates: `yyyy-mm-ddT00:00:00Z` from `yyyy-mm-dd`.
fn cw_date(day: &str) -> String {
    format!("{}T00:00:00Z", day.trim().chars().take(10).collect::<String>())
}

impl ConnectWiseClient {
    /// Configuration types with the questions a create would have to answer.
    pub async fn configuration_type_options(&self) -> Result<Vec<ConfigurationTypeOption>, PsaError> {
        let types = self
            .transport()
            .list_all("company/configurations/types", &Conditions::new())
            .await?;
        let mut out = Vec::with_capacity(types.len());
        for t in &types {
            let Some(id) = t["id"].as_i64() else { continue };
            let active = !flag(&t["inactiveFlag"]);
            let required_questions = if active {
                self.transport()
                    .list_all(
                        &format!("company/configurations/types/{id}/questions"),
                        &Conditions::new(),
                    )
                    .await?
                    .iter()
                    .filter(|q| flag(&q["requiredFlag"]) && !flag(&q["inactiveFlag"]))
                    .map(|q| text(&q["question"]).unwrap_or_else(|| format!("question {}", q["id"])))
                    .collect()
            } else {
                Vec::new()
            };
            out.push(ConfigurationTypeOption {
                id: id.to_string(),
                name: text(&t["name"]).unwrap_or_default(),
                active,
                required_questions,
            });
        }
        Ok(out)
    }

    /// Configuration statuses (`closed` = an inactive status).
    pub async fn configuration_statuses(&self) -> Result<Vec<PicklistOption>, PsaError> {
        let list = self
            .transport()
            .list_all("company/configurations/statuses", &Conditions::new())
            .await?;
        Ok(list
            .iter()
            .filter_map(|s| {
                Some(PicklistOption {
                    id: id_text(&s["id"])?,
                    label: text(&s["description"]).or_else(|| text(&s["name"])).unwrap_or_default(),
                    active: !flag(&s["inactiveFlag"]),
                    closed: flag(&s["closedFlag"]),
                    default: flag(&s["defaultFlag"]),
                })
            })
            .collect())
    }

    /// Manufacturers (the `manufacturer` reference of a configuration).
    pub async fn manufacturers(&self) -> Result<Vec<PicklistOption>, PsaError> {
        let list = self
            .transport()
            .list_all("procurement/manufacturers", &Conditions::new())
            .await?;
        Ok(list
            .iter()
            .filter_map(|m| {
                Some(PicklistOption {
                    id: id_text(&m["id"])?,
                    label: text(&m["name"])?,
                    active: !flag(&m["inactiveFlag"]),
                    closed: false,
                    default: false,
                })
            })
            .collect())
    }

    /// The custom fields defined on configurations, read from the first configuration's
    /// `customFields` (Manage renders every field defined for the record, `value` null where
    /// unset): `id` is the key, `name` the caption. No configuration at all: none.
    pub async fn configuration_custom_fields(&self) -> Result<Vec<CustomFieldDefinition>, PsaError> {
        let mut url = self.transport().url(PATH).await?;
        url.query_pairs_mut().append_pair("pageSize", "1");
        let first = self.transport().call(Method::GET, url, None).await?;
        Ok(first
            .as_array()
            .and_then(|a| a.first())
            .and_then(|c| c["customFields"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|f| {
                Some(CustomFieldDefinition {
                    id: Some(id_text(&f["id"])?),
                    name: text(&f["caption"]).unwrap_or_default(),
                    required: false,
                })
            })
            .collect())
    }

    /// Every configuration of a company, inactive ones included.
    pub async fn company_configurations(&self, company_id: &str) -> Result<Vec<PsaConfiguration>, PsaError> {
        let company = parse_id("company", company_id)?;
        let list = self
            .transport()
            .list_all(PATH, &Conditions::new().eq_int("company/id", company))
            .await?;
        Ok(list.iter().filter_map(configuration).collect())
    }

    /// The configuration whose `deviceIdentifier` is this Datto RMM device uid, if any.
    pub async fn find_configuration_by_device(&self, device_uid: &str) -> Result<Option<PsaConfiguration>, PsaError> {
        let uid = device_uid.trim();
        if uid.is_empty() {
            return Ok(None);
        }
        let list = self
            .transport()
            .list_all(PATH, &Conditions::new().eq_str("deviceIdentifier", uid))
            .await?;
        Ok(pick_for_device(list.iter().filter_map(configuration).collect()))
    }

    /// Creates the configuration for a device, unless one already carries its uid; refuses a
    /// type with required questions before any write (see the module doc).
    pub async fn create_configuration(&self, draft: &ConfigurationDraft) -> Result<CreateOutcome, PsaError> {
        let type_id = parse_id("configuration type", &draft.type_id)?;
        let company = parse_id("company", &draft.company_id)?;
        if let Some(found) = self.find_configuration_by_device(&draft.device_uid).await? {
            return Ok(CreateOutcome::Found(found.id));
        }
        let questions = self
            .transport()
            .list_all(
                &format!("company/configurations/types/{type_id}/questions"),
                &Conditions::new(),
            )
            .await?;
        let required: Vec<String> = questions
            .iter()
            .filter(|q| flag(&q["requiredFlag"]) && !flag(&q["inactiveFlag"]))
            .filter_map(|q| text(&q["question"]))
            .collect();
        if !required.is_empty() {
            return Err(PsaError::Validation {
                psa: PSA,
                detail: format!(
                    "configuration type {type_id} has required questions ({}); map such devices to existing configurations",
                    truncate_chars(&required.join(", "), 200)
                ),
            });
        }
        let mut body = json!({
            "name": truncate_chars(draft.name.trim(), NAME_MAX),
            "type": {"id": type_id},
            "company": {"id": company},
            "deviceIdentifier": truncate_chars(draft.device_uid.trim(), IDENTIFIER_MAX),
            "activeFlag": true,
        });
        if let Some(s) = draft.status_id.as_deref() {
            body["status"] = json!({"id": parse_id("configuration status", s)?});
        }
        let fields = [
            ("serialNumber", &draft.serial_number, SERIAL_MAX),
            ("modelNumber", &draft.model, MODEL_MAX),
            ("osInfo", &draft.os, OS_MAX),
            ("ipAddress", &draft.ip_address, IP_MAX),
            ("managementLink", &draft.management_link, LINK_MAX),
        ];
        for (field, value, max) in fields {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                body[field] = json!(truncate_chars(v, max));
            }
        }
        if let Some(w) = draft.warranty_expiration.as_deref().filter(|w| !w.trim().is_empty()) {
            body["warrantyExpirationDate"] = json!(cw_date(w));
        }
        if let Some(maker) = draft.manufacturer.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            let known = self.manufacturers().await?;
            if let Some(m) = known.iter().find(|m| m.active && m.label.eq_ignore_ascii_case(maker)) {
                body["manufacturer"] = json!({"id": m.id.parse::<i64>().unwrap_or_default()});
            }
        }
        if !draft.custom_fields.is_empty() {
            body["customFields"] = custom_field_list(draft.custom_fields.0.iter())?;
        }
        let url = self.transport().url(PATH).await?;
        match self.transport().call(Method::POST, url, Some(&body)).await {
            Ok(created) => {
                id_text(&created["id"])
                    .map(CreateOutcome::Created)
                    .ok_or_else(|| PsaError::InvalidResponse {
                        psa: PSA,
                        path: "/company/configurations".into(),
                        detail: "the created configuration has no id".into(),
                    })
            }
            Err(e) if outcome_unknown(&e) => {
                tracing::warn!(error = %e, code = e.code(), "a ConnectWise configuration create ended unknown; looking it up");
                match self.find_configuration_by_device(&draft.device_uid).await {
                    Ok(Some(found)) => Ok(CreateOutcome::Found(found.id)),
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// JSON-Patch `replace` of the changed fields (nothing sent when there are none).
    pub async fn update_configuration(&self, id: &str, changes: &ConfigurationChanges) -> Result<(), PsaError> {
        let id = parse_id("configuration", id)?;
        let mut ops = Vec::new();
        let mut put = |path: &str, value: Value| ops.push(json!({"op": "replace", "path": path, "value": value}));
        let texts = [
            ("deviceIdentifier", &changes.device_uid, IDENTIFIER_MAX),
            ("serialNumber", &changes.serial_number, SERIAL_MAX),
            ("modelNumber", &changes.model, MODEL_MAX),
            ("osInfo", &changes.os, OS_MAX),
            ("ipAddress", &changes.ip_address, IP_MAX),
        ];
        for (field, value, max) in texts {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                put(field, json!(truncate_chars(v, max)));
            }
        }
        if let Some(w) = changes.warranty_expiration.as_deref().filter(|w| !w.trim().is_empty()) {
            put("warrantyExpirationDate", json!(cw_date(w)));
        }
        if let Some(active) = changes.active {
            put("activeFlag", json!(active));
        }
        if !changes.custom_fields.is_empty() {
            // Custom fields are patched as the whole array: the configuration's current values
            // with the changed ones over them.
            let current = self.transport().get_value(&format!("{PATH}/{id}")).await?;
            let mut values: BTreeMap<String, String> = current["customFields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| Some((id_text(&f["id"])?, custom_value(&f["value"])?)))
                .collect();
            values.extend(changes.custom_fields.0.clone());
            put("customFields", custom_field_list(values.iter())?);
        }
        if ops.is_empty() {
            return Ok(());
        }
        let url = self.transport().url(&format!("{PATH}/{id}")).await?;
        self.transport()
            .call(Method::PATCH, url, Some(&Value::Array(ops)))
            .await
            .map(|_| ())
    }

    /// Sets a configuration inactive (its device was deleted in Datto RMM): `activeFlag` false
    /// and the first closed status, when the PSA has one. It keeps its device identifier.
    pub async fn deactivate_configuration(&self, id: &str) -> Result<(), PsaError> {
        let cid = parse_id("configuration", id)?;
        let closed = self
            .configuration_statuses()
            .await?
            .into_iter()
            .find(|s| s.closed && s.active)
            .and_then(|s| s.id.parse::<i64>().ok());
        let mut ops = vec![json!({"op": "replace", "path": "activeFlag", "value": false})];
        if let Some(status) = closed {
            ops.push(json!({"op": "replace", "path": "status", "value": {"id": status}}));
        }
        let url = self.transport().url(&format!("{PATH}/{cid}")).await?;
        self.transport()
            .call(Method::PATCH, url, Some(&Value::Array(ops)))
            .await
            .map(|_| ())
    }
}

/// A custom field's value as text (null and empty: none).
fn custom_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `[{id, value}]` from (id, value) pairs; an id that is not a number is refused (no value in
/// the message).
fn custom_field_list<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> Result<Value, PsaError> {
    let mut list = Vec::new();
    for (id, value) in pairs {
        list.push(json!({"id": parse_id("custom field", id)?, "value": value}));
    }
    Ok(Value::Array(list))
}

/// A configuration as rmmsync reads it (None without an id).
fn configuration(v: &Value) -> Option<PsaConfiguration> {
    Some(PsaConfiguration {
        id: id_text(&v["id"])?,
        company_id: id_text(&v["company"]["id"]),
        name: text(&v["name"]).unwrap_or_default(),
        active: v["activeFlag"].as_bool().unwrap_or(true),
        type_id: id_text(&v["type"]["id"]),
        product_id: None,
        serial_number: text(&v["serialNumber"]),
        device_uid: text(&v["deviceIdentifier"]),
        manufacturer: text(&v["manufacturer"]["name"]),
        model: text(&v["modelNumber"]),
        os: text(&v["osInfo"]),
        ip_address: text(&v["ipAddress"]),
        warranty_expiration: text(&v["warrantyExpirationDate"]).map(|w| w.chars().take(10).collect()),
        custom_fields: CustomFields(
            v["customFields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| Some((id_text(&f["id"])?, custom_value(&f["value"])?)))
                .collect(),
        ),
    })
}
