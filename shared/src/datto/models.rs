//! The Datto RMM objects rmmsync reads, as the API really sends them: every
//! field optional (production sends `null` for booleans too), enums kept as
//! strings (new values appear, e.g. `rmmnetworkdevice`), timestamps through
//! [`crate::time::deserialize_epoch_millis`]. Unknown fields are ignored. A
//! device's UDFs are read only into [`DeviceUdfs`], whose `Debug` shows the
//! field numbers and which cannot be serialised, so their values cannot leak
//! from here into a log line or an answer.

use crate::time::deserialize_epoch_millis;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: Option<i64>,
    pub uid: Option<String>,
    pub name: Option<String>,
    pub currency: Option<String>,
    pub devices_status: Option<AccountDevicesStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDevicesStatus {
    pub number_of_devices: Option<i64>,
    pub number_of_online_devices: Option<i64>,
    pub number_of_offline_devices: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    pub id: Option<i64>,
    pub uid: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub on_demand: Option<bool>,
    pub devices_status: Option<SiteDevicesStatus>,
    /// A string of digits in the API, although it names a numeric Autotask id.
    #[serde(default, deserialize_with = "string_or_number")]
    pub autotask_company_id: Option<String>,
    pub autotask_company_name: Option<String>,
    /// The site's page in the Datto RMM web portal.
    pub portal_url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteDevicesStatus {
    pub number_of_devices: Option<i64>,
    pub number_of_online_devices: Option<i64>,
    pub number_of_offline_devices: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceType {
    pub category: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: Option<i64>,
    pub uid: Option<String>,
    pub site_id: Option<i64>,
    pub site_uid: Option<String>,
    pub site_name: Option<String>,
    pub device_type: Option<DeviceType>,
    pub hostname: Option<String>,
    pub int_ip_address: Option<String>,
    pub operating_system: Option<String>,
    pub device_class: Option<String>,
    pub online: Option<bool>,
    pub deleted: Option<bool>,
    #[serde(default, deserialize_with = "deserialize_epoch_millis")]
    pub last_seen: Option<i64>,
    #[serde(default, deserialize_with = "deserialize_epoch_millis")]
    pub last_audit_date: Option<i64>,
    #[serde(default, deserialize_with = "deserialize_epoch_millis")]
    pub creation_date: Option<i64>,
    pub warranty_date: Option<String>,
    /// The device's page in the Datto RMM web portal.
    pub portal_url: Option<String>,
    /// `udf {udf1..udf300}`, the non-empty ones.
    #[serde(default)]
    pub udf: DeviceUdfs,
}

/// A device's user-defined fields (`udf1`..`udf300`) that hold a value, by number. MSPs keep
/// secrets in them (BitLocker keys, passwords): `Debug` lists the numbers only, and the type
/// is not `Serialize`. Anything but a `udfN` key with a non-empty string is dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DeviceUdfs(pub std::collections::BTreeMap<u16, String>);

impl std::fmt::Debug for DeviceUdfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys().map(|n| format!("udf{n}"))).finish()
    }
}

impl DeviceUdfs {
    /// The highest UDF number Datto RMM has (300 since 14.9.0).
    pub const MAX: u16 = 300;

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `udf7` → 7 (1 to [`Self::MAX`]).
    pub fn number(key: &str) -> Option<u16> {
        let n: u16 = key.strip_prefix("udf")?.parse().ok()?;
        (1..=Self::MAX).contains(&n).then_some(n)
    }
}

impl<'de> Deserialize<'de> for DeviceUdfs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Option<std::collections::HashMap<String, serde_json::Value>> = Option::deserialize(d).unwrap_or(None);
        Ok(DeviceUdfs(
            raw.into_iter()
                .flatten()
                .filter_map(|(k, v)| match v {
                    serde_json::Value::String(v) if !v.trim().is_empty() => Some((Self::number(&k)?, v)),
                    _ => None,
                })
                .collect(),
        ))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageDetails {
    pub count: Option<i64>,
    pub total_count: Option<i64>,
    pub prev_page_url: Option<String>,
    pub next_page_url: Option<String>,
}

/// One page of any Datto list: the envelope names its array after the
/// resource (`sites`, `devices`, `alerts`, ...), so all names land in `items`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    #[serde(default)]
    pub page_details: Option<PageDetails>,
    #[serde(
        default = "Vec::new",
        alias = "sites",
        alias = "devices",
        alias = "alerts",
        alias = "components",
        alias = "software",
        alias = "jobComponents",
        deserialize_with = "null_as_empty"
    )]
    pub items: Vec<T>,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

fn string_or_number<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(match Option::<serde_json::Value>::deserialize(deserializer)? {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_partial_and_odd_devices() {
        let page: Page<Device> = serde_json::from_str(
            r#"{"pageDetails":{"count":2,"totalCount":2,"nextPageUrl":null,"prevPageUrl":null},
                "devices":[
                  {"uid":"d1","online":null,"lastSeen":1700000000123,"deviceClass":"rmmnetworkdevice",
                   "deviceType":{"category":"Network Device","type":"Switch"},"udf":{"udf1":"BitLocker: 1"}},
                  {"uid":"d2","lastSeen":"2023-11-14T22:13:20Z","lastAuditDate":-62135596800000,"newField":[1]}
                ]}"#,
        )
        .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].last_seen, Some(1_700_000_000_123));
        assert_eq!(page.items[0].device_class.as_deref(), Some("rmmnetworkdevice"));
        assert_eq!(page.items[1].last_seen, Some(1_700_000_000_000));
        assert_eq!(page.items[1].last_audit_date, None);
    }

    #[test]
    fn udfs_keep_values_by_number_and_show_only_numbers() {
        let d: Device = serde_json::from_str(
            r#"{"uid":"d1","udf":{"udf1":"BitLocker: 123456-654321","udf2":null,"udf3":"  ","udf300":"x",
                "udf301":"out of range","udf0":"no","notudf":"no","udf7":7}}"#,
        )
        .unwrap();
        assert_eq!(d.udf.0.keys().copied().collect::<Vec<_>>(), vec![1, 300]);
        assert_eq!(d.udf.0[&1], "BitLocker: 123456-654321");
        let shown = format!("{d:?}");
        assert!(shown.contains("udf1") && !shown.contains("123456"), "{shown}");
        // A UDF object that is not one (null, a string) is no UDFs, not an error.
        for raw in [
            r#"{"uid":"d","udf":null}"#,
            r#"{"uid":"d","udf":"x"}"#,
            r#"{"uid":"d"}"#,
        ] {
            let d: Device = serde_json::from_str(raw).unwrap();
            assert!(d.udf.is_empty(), "{raw}");
        }
    }

    #[test]
    fn reads_sites_with_string_or_numeric_autotask_ids() {
        let page: Page<Site> = serde_json::from_str(
            r#"{"sites":[{"uid":"a","autotaskCompanyId":"123"},{"uid":"b","autotaskCompanyId":456},
                          {"uid":"c","autotaskCompanyId":""},{"uid":"d"}],"pageDetails":null}"#,
        )
        .unwrap();
        let ids: Vec<_> = page.items.iter().map(|s| s.autotask_company_id.clone()).collect();
        assert_eq!(ids, [Some("123".into()), Some("456".into()), None, None]);
    }

    #[test]
    fn an_envelope_with_null_items_is_an_empty_page() {
        let page: Page<Site> = serde_json::from_str(r#"{"sites":null}"#).unwrap();
        assert!(page.items.is_empty());
    }
}

/// `GET /v2/alert/{alertUid}`: what the ticket flow needs of an alert.
/// `alertContext` is polymorphic (`@class`) and often off-spec: kept as JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub alert_uid: Option<String>,
    /// `Critical`, `High`, `Moderate`, `Low`, `Information`, `Unknown` (or new values).
    pub priority: Option<String>,
    pub diagnostics: Option<String>,
    pub resolved: Option<bool>,
    #[serde(default, deserialize_with = "deserialize_epoch_millis")]
    pub resolved_on: Option<i64>,
    #[serde(default, deserialize_with = "deserialize_epoch_millis")]
    pub timestamp: Option<i64>,
    pub alert_context: Option<serde_json::Value>,
    pub alert_source_info: Option<AlertSourceInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertSourceInfo {
    pub device_uid: Option<String>,
    pub device_name: Option<String>,
    pub site_uid: Option<String>,
    pub site_name: Option<String>,
}
