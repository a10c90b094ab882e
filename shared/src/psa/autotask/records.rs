//! Autotask records as the import needs them: which entity holds each [`RecordKind`], and the
//! mapping of an entity's JSON to a [`PsaRecord`].

use super::client::AutotaskClient;
use crate::psa::{PsaError, PsaRecord, RecordKind};
use serde_json::{Value, json};
use std::collections::HashMap;

impl AutotaskClient {
    /// Every record of a kind, inactive ones included (`active = false`).
    pub async fn list_records(&self, kind: RecordKind) -> Result<Vec<PsaRecord>, PsaError> {
        let entity = match kind {
            RecordKind::Company => "Companies",
            RecordKind::Contact => "Contacts",
            RecordKind::Location => "CompanyLocations",
            RecordKind::Configuration => "ConfigurationItems",
            RecordKind::User => "Resources",
        };
        self.check_budget().await?;
        let types = if kind == RecordKind::Configuration {
            Some(self.configuration_item_types().await?)
        } else {
            None
        };
        let items = self
            .transport
            .query_all(entity, json!([{"op": "exist", "field": "id"}]))
            .await?;
        let mut records = Vec::with_capacity(items.len());
        for item in &items {
            match to_record(kind, item, types) {
                Some(r) => records.push(r),
                None => tracing::warn!(entity, "an Autotask record without an id was skipped"),
            }
        }
        Ok(records)
    }

    /// ConfigurationItemTypes by id, read once per client.
    async fn configuration_item_types(&self) -> Result<&HashMap<i64, String>, PsaError> {
        self.ci_types
            .get_or_try_init(|| async {
                let items = self
                    .transport
                    .query_all("ConfigurationItemTypes", json!([{"op": "exist", "field": "id"}]))
                    .await?;
                Ok(items
                    .iter()
                    .filter_map(|t| Some((t.get("id")?.as_i64()?, t.get("name")?.as_str()?.to_owned())))
                    .collect())
            })
            .await
    }
}

/// A trimmed, non-empty text field.
pub(super) fn text(v: &Value, field: &str) -> Option<String> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// An id field (a number, or a string holding one) as text.
pub(super) fn id_text(v: &Value, field: &str) -> Option<String> {
    match v.get(field)? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// `isActive`: a boolean on most entities, 0/1 on Contacts; absent = active.
fn active(v: &Value) -> bool {
    match v.get("isActive") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        Some(Value::String(s)) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1"),
        _ => true,
    }
}

fn updated(v: &Value, fields: &[&str]) -> Option<i64> {
    fields
        .iter()
        .find_map(|f| v.get(*f).and_then(crate::time::epoch_millis_from_json))
}

fn full_name(v: &Value) -> Option<String> {
    let name = [text(v, "firstName"), text(v, "lastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

fn to_record(kind: RecordKind, v: &Value, ci_types: Option<&HashMap<i64, String>>) -> Option<PsaRecord> {
    let id = id_text(v, "id")?;
    let mut r = PsaRecord {
        kind,
        id: id.clone(),
        name: String::new(),
        company_id: id_text(v, "companyID"),
        active: active(v),
        email: None,
        serial_number: None,
        configuration_type: None,
        rmm_device_uid: None,
        company_type: None,
        updated_at: None,
    };
    match kind {
        RecordKind::Company => {
            r.name = text(v, "companyName").unwrap_or_else(|| format!("Company {id}"));
            r.company_id = None;
            r.company_type = v.get("companyType").and_then(Value::as_i64).map(company_type_name);
            r.updated_at = updated(v, &["lastTrackedModifiedDateTime", "lastActivityDate"]);
        }
        RecordKind::Contact => {
            r.email = text(v, "emailAddress");
            r.name = full_name(v)
                .or_else(|| r.email.clone())
                .unwrap_or_else(|| format!("Contact {id}"));
            r.updated_at = updated(v, &["lastModifiedDate", "lastActivityDate"]);
        }
        RecordKind::Location => {
            r.name = text(v, "name").unwrap_or_else(|| format!("Location {id}"));
        }
        RecordKind::Configuration => {
            r.name = text(v, "referenceTitle")
                .or_else(|| text(v, "rmmDeviceAuditHostname"))
                .unwrap_or_else(|| format!("CI {id}"));
            r.serial_number = text(v, "serialNumber");
            r.rmm_device_uid = text(v, "rmmDeviceUID");
            r.configuration_type = v
                .get("configurationItemType")
                .and_then(Value::as_i64)
                .and_then(|t| ci_types.and_then(|m| m.get(&t)).cloned());
            r.updated_at = updated(v, &["lastModifiedTime"]);
        }
        RecordKind::User => {
            r.email = text(v, "email");
            r.name = full_name(v)
                .or_else(|| text(v, "userName"))
                .unwrap_or_else(|| format!("Resource {id}"));
            r.company_id = None;
        }
    }
    Some(r)
}

/// Autotask's `companyType` picklist by name. 1 Customer, 3 Prospect and 7
/// Vendor are documented; 2 Lead, 4 Dead, 6 Cancellation and 8 Partner are
/// Autotask's usual defaults (UNCONFIRMED). A value outside these is shown
/// as "Type {n}" rather than dropped: databases add their own.
pub(super) fn company_type_name(value: i64) -> String {
    match value {
        1 => "Customer".into(),
        2 => "Lead".into(),
        3 => "Prospect".into(),
        4 => "Dead".into(),
        6 => "Cancellation".into(),
        7 => "Vendor".into(),
        8 => "Partner".into(),
        n => format!("Type {n}"),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn active_flags() {
        assert!(active(&json!({"isActive": 1})));
        assert!(!active(&json!({"isActive": 0})));
        assert!(!active(&json!({"isActive": false})));
        assert!(active(&json!({})));
    }

    #[test]
    fn records_from_autotask_shapes() {
        let types = HashMap::from([(2, "Server".to_owned())]);
        let ci = to_record(
            RecordKind::Configuration,
            &json!({"id": 9, "companyID": 4, "referenceTitle": null, "rmmDeviceAuditHostname": "SRV1",
                    "configurationItemType": 2, "isActive": true, "lastModifiedTime": "2023-11-14T22:13:20.123Z"}),
            Some(&types),
        )
        .unwrap();
        assert_eq!(ci.name, "SRV1");
        assert_eq!(ci.configuration_type.as_deref(), Some("Server"));
        assert_eq!(ci.company_id.as_deref(), Some("4"));
        assert_eq!(ci.updated_at, Some(1_700_000_000_123));
        let bare = to_record(RecordKind::Configuration, &json!({"id": 10}), None).unwrap();
        assert_eq!(bare.name, "CI 10");
        let contact = to_record(
            RecordKind::Contact,
            &json!({"id": 1, "firstName": "Ann", "lastName": "Lee", "isActive": 0}),
            None,
        )
        .unwrap();
        assert_eq!((contact.name.as_str(), contact.active), ("Ann Lee", false));
    }
}
