//! The configuration vocabulary both PSA clients share: an Autotask configuration item or a
//! ConnectWise configuration as rmmsync reads it ([`PsaConfiguration`]), what creating one
//! takes ([`ConfigurationDraft`]), a change to send ([`ConfigurationChanges`], only the fields
//! that differ; see [`ConfigurationChanges::between`]), what a create ended in
//! ([`CreateOutcome`]) and the options a user picks from (types, products, statuses, picklist
//! values, custom field definitions).
//!
//! Guarantees: custom field (UDF) values never reach a log, a `Debug` string or a serialized
//! answer ([`CustomFields`] shows names only and is not serialized); a create that may have
//! reached the PSA is never sent again before the PSA was searched for the device's uid
//! ([`outcome_unknown`] says which errors leave that open).

use super::PsaError;
use serde::Serialize;
use std::collections::BTreeMap;

/// Custom field / UDF values by field name. `Debug` lists the names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CustomFields(pub BTreeMap<String, String>);

impl std::fmt::Debug for CustomFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl CustomFields {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A configuration as rmmsync reads it from either PSA. Optional fields are empty in the PSA.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PsaConfiguration {
    pub id: String,
    pub company_id: Option<String>,
    /// Autotask `referenceTitle`, ConnectWise `name`.
    pub name: String,
    pub active: bool,
    /// Autotask `configurationItemType`, ConnectWise `type/id`.
    pub type_id: Option<String>,
    /// Autotask `productID` (ConnectWise has none).
    pub product_id: Option<String>,
    pub serial_number: Option<String>,
    /// The Datto RMM device uid it carries (Autotask `rmmDeviceUID`, ConnectWise `deviceIdentifier`).
    pub device_uid: Option<String>,
    /// Label of the manufacturer (Autotask audit manufacturer picklist, ConnectWise reference).
    pub manufacturer: Option<String>,
    /// Autotask audit model picklist label, ConnectWise `modelNumber`.
    pub model: Option<String>,
    /// Autotask `rmmDeviceAuditOperatingSystem`, ConnectWise `osInfo`.
    pub os: Option<String>,
    /// Autotask `rmmDeviceAuditIPAddress`, ConnectWise `ipAddress`.
    pub ip_address: Option<String>,
    /// `yyyy-mm-dd`.
    pub warranty_expiration: Option<String>,
    #[serde(skip)]
    pub custom_fields: CustomFields,
}

/// What creating a configuration for a Datto RMM device takes. Ids are the PSA's, as text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigurationDraft {
    pub company_id: String,
    /// The device's hostname (Autotask `referenceTitle`, ConnectWise `name`).
    pub name: String,
    /// Autotask configuration item type, ConnectWise configuration type.
    pub type_id: String,
    /// Autotask only (required there).
    pub product_id: Option<String>,
    /// ConnectWise only; the PSA's default status when `None`.
    pub status_id: Option<String>,
    /// The Datto RMM device uid (the link; also what a create is looked up by).
    pub device_uid: String,
    /// The Datto RMM numeric device id (Autotask `rmmDeviceID`).
    pub device_id: Option<i64>,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub os: Option<String>,
    pub ip_address: Option<String>,
    /// `yyyy-mm-dd`.
    pub warranty_expiration: Option<String>,
    /// ConnectWise `managementLink` (the device's page in Datto RMM).
    pub management_link: Option<String>,
    pub custom_fields: CustomFields,
}

/// Fields to write on an existing configuration; `None` = leave it alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigurationChanges {
    pub device_uid: Option<String>,
    pub device_id: Option<i64>,
    pub serial_number: Option<String>,
    pub model: Option<String>,
    pub os: Option<String>,
    pub ip_address: Option<String>,
    pub warranty_expiration: Option<String>,
    pub active: Option<bool>,
    pub custom_fields: CustomFields,
}

fn differs(current: &Option<String>, wanted: &Option<String>) -> Option<String> {
    let wanted = wanted.as_deref().map(str::trim).filter(|w| !w.is_empty())?;
    let same = current.as_deref().is_some_and(|c| c.trim() == wanted);
    (!same).then(|| wanted.to_owned())
}

impl ConfigurationChanges {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        *self == ConfigurationChanges::default()
    }

    /// The changes that bring `current` to what the device says (`wanted`): only fields that
    /// differ, never a value the device does not know (an empty field in Datto does not
    /// erase the PSA's), the warranty only when the configuration has none (it is never
    /// overwritten), and the device uid when the configuration does not carry it yet (a link).
    /// Custom fields: only values that differ. The manufacturer is not updated (a picklist or a
    /// reference, set on create).
    pub fn between(current: &PsaConfiguration, wanted: &ConfigurationDraft) -> ConfigurationChanges {
        let device_uid = {
            let linked = current
                .device_uid
                .as_deref()
                .is_some_and(|u| u.trim().eq_ignore_ascii_case(wanted.device_uid.trim()));
            (!linked && !wanted.device_uid.trim().is_empty()).then(|| wanted.device_uid.trim().to_owned())
        };
        let warranty_empty = current
            .warranty_expiration
            .as_deref()
            .is_none_or(|w| w.trim().is_empty());
        let custom_fields = CustomFields(
            wanted
                .custom_fields
                .0
                .iter()
                .filter(|(k, v)| current.custom_fields.0.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        ConfigurationChanges {
            device_id: device_uid.as_ref().and(wanted.device_id),
            device_uid,
            serial_number: differs(&current.serial_number, &wanted.serial_number),
            model: differs(&current.model, &wanted.model),
            os: differs(&current.os, &wanted.os),
            ip_address: differs(&current.ip_address, &wanted.ip_address),
            warranty_expiration: if warranty_empty {
                differs(&None, &wanted.warranty_expiration)
            } else {
                None
            },
            active: (!current.active).then_some(true),
            custom_fields,
        }
    }
}

/// How a create ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// A new configuration with this id.
    Created(String),
    /// The PSA already had a configuration carrying the device's uid (an earlier create whose
    /// answer was lost, or a link made elsewhere): nothing was created.
    Found(String),
}

impl CreateOutcome {
    pub fn id(&self) -> &str {
        match self {
            CreateOutcome::Created(id) | CreateOutcome::Found(id) => id,
        }
    }
}

/// Whether a failed create may still have been carried out by the PSA (a 5xx, a timeout, an
/// unreadable answer): then the configuration must be looked up by the device uid before any
/// new attempt.
pub fn outcome_unknown(error: &PsaError) -> bool {
    match error {
        PsaError::Server { .. } | PsaError::Unreachable { .. } | PsaError::InvalidResponse { .. } => true,
        PsaError::Unexpected { status, .. } => *status >= 500,
        _ => false,
    }
}

/// A configuration type the user can map devices to. ConnectWise types with required
/// questions cannot be used to create configurations (`required_questions` non-empty).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationTypeOption {
    pub id: String,
    pub name: String,
    pub active: bool,
    /// ConnectWise: the questions a create must answer (rmmsync answers none).
    pub required_questions: Vec<String>,
}

/// An Autotask product (what a configuration item is an instance of).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductOption {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub manufacturer: Option<String>,
}

/// A value of a picklist or a small reference list (statuses, manufacturers, models).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PicklistOption {
    pub id: String,
    pub label: String,
    pub active: bool,
    /// ConnectWise configuration statuses: a closed (inactive) status.
    #[serde(default)]
    pub closed: bool,
    /// The PSA's default value.
    #[serde(default)]
    pub default: bool,
}

/// Autotask: the two audit picklists of ConfigurationItems (`rmmDeviceAuditManufacturerID`,
/// `rmmDeviceAuditModelID`), as `/entityInformation/fields` lists them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CiPicklists {
    pub manufacturers: Vec<PicklistOption>,
    pub models: Vec<PicklistOption>,
}

/// A custom field / UDF defined on configurations in the PSA.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldDefinition {
    /// Autotask: the UDF's name (its key); ConnectWise: the field's caption.
    pub name: String,
    /// ConnectWise: the custom field's id (its key); none for Autotask.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub required: bool,
}

/// Picks the configuration that carries a device uid among several (a PSA may hold more than
/// one after a past duplicate): the active one with the lowest id, else the lowest id.
pub fn pick_for_device(mut found: Vec<PsaConfiguration>) -> Option<PsaConfiguration> {
    found.sort_by_key(|c| (!c.active, c.id.parse::<i64>().unwrap_or(i64::MAX), c.id.clone()));
    found.into_iter().next()
}

#[cfg(test)]
mod unit {
    use super::*;

    fn current() -> PsaConfiguration {
        PsaConfiguration {
            id: "1".into(),
            company_id: Some("7".into()),
            name: "ACME-WS01".into(),
            active: true,
            type_id: Some("1".into()),
            product_id: None,
            serial_number: Some("ABC123".into()),
            device_uid: Some("uid-1".into()),
            manufacturer: None,
            model: Some("OptiPlex 7090".into()),
            os: None,
            ip_address: Some("10.0.0.5".into()),
            warranty_expiration: Some("2027-01-31".into()),
            custom_fields: CustomFields([("Asset Tag".to_string(), "A1".to_string())].into()),
        }
    }

    fn wanted() -> ConfigurationDraft {
        ConfigurationDraft {
            device_uid: "uid-1".into(),
            serial_number: Some("ABC123".into()),
            model: Some("OptiPlex 7090".into()),
            os: Some("Windows 11".into()),
            ip_address: Some(" 10.0.0.6 ".into()),
            warranty_expiration: Some("2029-01-31".into()),
            custom_fields: CustomFields(
                [
                    ("Asset Tag".to_string(), "A1".to_string()),
                    ("Datto Site".to_string(), "HQ".to_string()),
                ]
                .into(),
            ),
            ..ConfigurationDraft::default()
        }
    }

    #[test]
    fn only_changed_fields_and_never_the_warranty_once_set() {
        let c = ConfigurationChanges::between(&current(), &wanted());
        assert_eq!(c.os.as_deref(), Some("Windows 11"));
        assert_eq!(c.ip_address.as_deref(), Some("10.0.0.6"));
        assert_eq!(
            (c.serial_number, c.model, c.device_uid, c.active),
            (None, None, None, None)
        );
        assert_eq!(c.warranty_expiration, None, "a set warranty is not overwritten");
        assert_eq!(c.custom_fields.0.keys().collect::<Vec<_>>(), vec!["Datto Site"]);
        let mut bare = current();
        bare.warranty_expiration = None;
        bare.device_uid = None;
        let c = ConfigurationChanges::between(&bare, &wanted());
        assert_eq!(c.warranty_expiration.as_deref(), Some("2029-01-31"));
        assert_eq!(c.device_uid.as_deref(), Some("uid-1"), "linking writes the uid");
    }

    #[test]
    fn an_empty_device_field_does_not_erase_and_same_values_make_no_change() {
        let mut w = wanted();
        w.os = None;
        w.ip_address = Some(String::new());
        w.warranty_expiration = None;
        w.custom_fields = CustomFields::default();
        let c = ConfigurationChanges::between(&current(), &w);
        assert!(c.is_empty(), "{c:?}");
    }

    #[test]
    fn custom_field_values_stay_out_of_debug_and_json() {
        let c = current();
        assert!(!format!("{c:?}").contains("A1"));
        assert!(!serde_json::to_string(&c).unwrap().contains("A1"));
    }

    #[test]
    fn several_configurations_for_one_device_pick_the_active_lowest_id() {
        let mut a = current();
        a.id = "9".into();
        let mut b = current();
        b.id = "3".into();
        b.active = false;
        let mut c = current();
        c.id = "12".into();
        assert_eq!(pick_for_device(vec![c, a, b]).unwrap().id, "9");
        assert_eq!(pick_for_device(vec![]), None);
    }
}
