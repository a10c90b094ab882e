//! The pure part of a sync: Datto objects into the records rmmsync stores,
//! their content hashes, what changed, what disappeared, device type counts
//! and which devices need an audit. No I/O here.

use super::hash::Fnv64;
use crate::datto::models::{Device, Site};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

pub const HOUR_MS: i64 = 3_600_000;

/// Datto's system sites: listed like client sites, but no customer is behind
/// them, so they are flagged `pseudo` and kept out of site mapping.
pub const PSEUDO_SITE_NAMES: [&str; 3] = ["Deleted Devices", "OnDemand", "Managed"];

pub fn is_pseudo_site(name: Option<&str>) -> bool {
    name.map(str::trim)
        .is_some_and(|n| PSEUDO_SITE_NAMES.iter().any(|p| p.eq_ignore_ascii_case(n)))
}

/// A portal link from Datto as rmmsync keeps it: only an absolute `http`/`https` URL of at
/// most 2,000 characters, so that a link the UI opens can never be `javascript:` or worse.
pub fn portal_url(raw: Option<&str>) -> Option<String> {
    let raw = raw?.trim();
    let url = reqwest::Url::parse(raw).ok()?;
    let ok = raw.len() <= 2000 && matches!(url.scheme(), "http" | "https") && url.host_str().is_some();
    ok.then(|| url.to_string())
}

/// A site as stored under `SITE#{uid}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteRecord {
    pub uid: String,
    pub id: Option<i64>,
    pub name: Option<String>,
    pub device_count: Option<i64>,
    pub online_count: Option<i64>,
    pub autotask_company_id: Option<String>,
    pub autotask_company_name: Option<String>,
    pub pseudo: bool,
    /// The site's page in Datto's web portal (an `http(s)` URL, or nothing).
    pub portal_url: Option<String>,
    pub removed_at: Option<i64>,
    pub first_seen_at: Option<i64>,
    pub hash: String,
}

impl SiteRecord {
    /// `None` for a site without a uid (nothing to key it by).
    pub fn from_datto(s: &Site) -> Option<Self> {
        let uid = s.uid.as_deref().map(str::trim).filter(|u| !u.is_empty())?.to_owned();
        let status = s.devices_status.as_ref();
        let mut r = SiteRecord {
            uid,
            id: s.id,
            name: s.name.clone(),
            device_count: status.and_then(|d| d.number_of_devices),
            online_count: status.and_then(|d| d.number_of_online_devices),
            autotask_company_id: s.autotask_company_id.clone(),
            autotask_company_name: s.autotask_company_name.clone(),
            pseudo: is_pseudo_site(s.name.as_deref()),
            portal_url: portal_url(s.portal_url.as_deref()),
            ..Default::default()
        };
        r.hash = r.content_hash();
        Some(r)
    }

    pub fn content_hash(&self) -> String {
        Fnv64::new()
            .str(Some("site/1"))
            .str(Some(&self.uid))
            .int(self.id)
            .str(self.name.as_deref())
            .int(self.device_count)
            .int(self.online_count)
            .str(self.autotask_company_id.as_deref())
            .str(self.autotask_company_name.as_deref())
            .bool(Some(self.pseudo))
            .str(self.portal_url.as_deref())
            .hex()
    }
}

/// A device as stored under `DEVICE#{uid}`: what the listing says, plus what
/// rmmsync keeps across listings (first seen, removal, audit details).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceRecord {
    pub uid: String,
    pub id: Option<i64>,
    pub hostname: Option<String>,
    pub site_uid: Option<String>,
    pub site_name: Option<String>,
    pub category: Option<String>,
    pub device_type: Option<String>,
    pub device_class: Option<String>,
    pub operating_system: Option<String>,
    pub int_ip_address: Option<String>,
    pub online: Option<bool>,
    pub deleted: Option<bool>,
    pub last_seen: Option<i64>,
    pub last_audit_date: Option<i64>,
    pub warranty_date: Option<String>,
    /// The device's page in Datto's web portal (an `http(s)` URL, or nothing).
    pub portal_url: Option<String>,
    // Kept across listings.
    pub first_seen_at: Option<i64>,
    pub removed_at: Option<i64>,
    // From the audit endpoints.
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    /// The `lastAuditDate` the stored audit details belong to.
    pub audited_audit_date: Option<i64>,
    pub audited_at: Option<i64>,
    /// The device's UDFs that hold a value (from the listing; values never logged).
    pub udfs: crate::datto::models::DeviceUdfs,
    pub hash: String,
}

impl DeviceRecord {
    pub fn from_datto(d: &Device) -> Option<Self> {
        let uid = d.uid.as_deref().map(str::trim).filter(|u| !u.is_empty())?.to_owned();
        let kind = d.device_type.as_ref();
        let mut r = DeviceRecord {
            uid,
            id: d.id,
            hostname: d.hostname.clone(),
            site_uid: d.site_uid.clone(),
            site_name: d.site_name.clone(),
            category: kind.and_then(|k| k.category.clone()),
            device_type: kind.and_then(|k| k.kind.clone()),
            device_class: d.device_class.clone(),
            operating_system: d.operating_system.clone(),
            int_ip_address: d.int_ip_address.clone(),
            online: d.online,
            deleted: d.deleted,
            last_seen: d.last_seen,
            last_audit_date: d.last_audit_date,
            warranty_date: d.warranty_date.clone(),
            portal_url: portal_url(d.portal_url.as_deref()),
            udfs: d.udf.clone(),
            ..Default::default()
        };
        r.hash = r.listing_hash();
        Some(r)
    }

    /// The hash of what the device listing says.
    ///
    /// `lastSeen` moves every few minutes on every online device; hashing it
    /// exactly would rewrite (and bill) every device on every run. It goes in
    /// quantised to the hour, so a device is rewritten for it at most once an
    /// hour, and the stored `lastSeen` is accurate to within that hour (and
    /// exact whenever anything else about the device changes).
    pub fn listing_hash(&self) -> String {
        let mut h = Fnv64::new();
        h.str(Some("device/1"))
            .str(Some(&self.uid))
            .int(self.id)
            .str(self.hostname.as_deref())
            .str(self.site_uid.as_deref())
            .str(self.site_name.as_deref())
            .str(self.category.as_deref())
            .str(self.device_type.as_deref())
            .str(self.device_class.as_deref())
            .str(self.operating_system.as_deref())
            .str(self.int_ip_address.as_deref())
            .bool(self.online)
            .bool(self.deleted)
            .int(self.last_seen.map(|t| t.div_euclid(HOUR_MS)))
            .int(self.last_audit_date)
            .str(self.warranty_date.as_deref())
            .str(self.portal_url.as_deref());
        // UDFs only when a device has some, so that the hash of a device without any is the
        // one it had before UDFs were read.
        if !self.udfs.is_empty() {
            h.str(Some("udf"));
            for (n, v) in &self.udfs.0 {
                h.int(Some(i64::from(*n))).str(Some(v));
            }
        }
        h.hex()
    }

    /// Carries over what the listing does not say: first sighting and audit details.
    pub fn keep_from(&mut self, stored: &DeviceRecord) {
        self.first_seen_at = stored.first_seen_at;
        self.manufacturer = stored.manufacturer.clone();
        self.model = stored.model.clone();
        self.serial_number = stored.serial_number.clone();
        self.audited_audit_date = stored.audited_audit_date;
        self.audited_at = stored.audited_at;
    }

    pub fn audit_kind(&self) -> Option<AuditKind> {
        AuditKind::for_class(self.device_class.as_deref())
    }

    /// New devices and devices whose `lastAuditDate` moved since their last
    /// audit, if Datto has an audit endpoint for their class and an audit to give.
    pub fn needs_audit(&self) -> bool {
        self.removed_at.is_none()
            && self.deleted != Some(true)
            && self.audit_kind().is_some()
            && self.last_audit_date.is_some()
            && self.audited_audit_date != self.last_audit_date
    }
}

/// What one listed device means for the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Unchanged,
    Created,
    Updated,
}

/// Compares a freshly listed device with the stored one; the record to keep
/// (and to write, unless `Unchanged`).
pub fn diff_device(stored: Option<&DeviceRecord>, mut fresh: DeviceRecord, now: i64) -> (Change, DeviceRecord) {
    match stored {
        None => {
            fresh.first_seen_at = Some(now);
            (Change::Created, fresh)
        }
        Some(old) => {
            fresh.keep_from(old);
            // A device that comes back after being marked removed is written again.
            if old.hash == fresh.hash && old.removed_at.is_none() {
                (Change::Unchanged, old.clone())
            } else {
                (Change::Updated, fresh)
            }
        }
    }
}

pub fn diff_site(stored: Option<&SiteRecord>, mut fresh: SiteRecord, now: i64) -> (Change, SiteRecord) {
    match stored {
        None => {
            fresh.first_seen_at = Some(now);
            (Change::Created, fresh)
        }
        Some(old) => {
            fresh.first_seen_at = old.first_seen_at;
            if old.hash == fresh.hash && old.removed_at.is_none() {
                (Change::Unchanged, old.clone())
            } else {
                (Change::Updated, fresh)
            }
        }
    }
}

/// Stored items missing from a complete listing, not yet marked removed.
/// Only call this after a listing that reached its last page.
pub fn newly_missing<'a, T: 'a>(
    stored: impl IntoIterator<Item = (&'a String, &'a T)>,
    seen: &HashSet<String>,
    removed_at: impl Fn(&T) -> Option<i64>,
) -> Vec<String> {
    let mut gone: Vec<String> = stored
        .into_iter()
        .filter(|(uid, rec)| removed_at(rec).is_none() && !seen.contains(*uid))
        .map(|(uid, _)| uid.clone())
        .collect();
    gone.sort();
    gone
}

/// A device type (Datto's category + type) and how many live devices have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTypeCount {
    pub category: String,
    pub device_type: String,
    pub count: i64,
}

impl DeviceTypeCount {
    pub fn content_hash(&self) -> String {
        Fnv64::new()
            .str(Some("device-type/1"))
            .str(Some(&self.category))
            .str(Some(&self.device_type))
            .int(Some(self.count))
            .hex()
    }
}

/// Label for a missing category or type.
pub const UNKNOWN: &str = "(unknown)";

/// Counts live devices (not removed) per (category, type). Types that
/// existed before (`known`) and have no device left are kept at 0.
pub fn device_type_counts<'a>(
    devices: impl IntoIterator<Item = &'a DeviceRecord>,
    known: impl IntoIterator<Item = (String, String)>,
) -> Vec<DeviceTypeCount> {
    let mut counts: BTreeMap<(String, String), i64> = known.into_iter().map(|k| (k, 0)).collect();
    for d in devices.into_iter().filter(|d| d.removed_at.is_none()) {
        let key = (
            d.category.clone().unwrap_or_else(|| UNKNOWN.into()),
            d.device_type.clone().unwrap_or_else(|| UNKNOWN.into()),
        );
        *counts.entry(key).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((category, device_type), count)| DeviceTypeCount {
            category,
            device_type,
            count,
        })
        .collect()
}

/// Devices to audit, new ones (never audited) first, then by uid so that a
/// run and its successor agree on the order.
pub fn pending_audits(devices: &HashMap<String, DeviceRecord>) -> Vec<String> {
    let mut pending: Vec<(bool, &String)> = devices
        .values()
        .filter(|d| d.needs_audit())
        .map(|d| (d.audited_audit_date.is_some(), &d.uid))
        .collect();
    pending.sort();
    pending.into_iter().map(|(_, uid)| uid.clone()).collect()
}

/// Which audit endpoint serves a device class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    Device,
    Esxi,
    Printer,
}

impl AuditKind {
    pub fn for_class(class: Option<&str>) -> Option<Self> {
        match class.map(str::to_ascii_lowercase).as_deref() {
            Some("device") => Some(AuditKind::Device),
            Some("esxihost") => Some(AuditKind::Esxi),
            Some("printer") => Some(AuditKind::Printer),
            _ => None,
        }
    }

    pub fn path(self, uid: &str) -> String {
        let kind = match self {
            AuditKind::Device => "device",
            AuditKind::Esxi => "esxihost",
            AuditKind::Printer => "printer",
        };
        format!("api/v2/audit/{kind}/{uid}")
    }
}

/// Manufacturer, model and serial from an audit answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditDetails {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    match cur {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Generic device: `bios.serialNumber` + `systemInfo.manufacturer/model`;
/// ESXi host: `systemInfo.serviceTag`; printer: `snmpInfo.snmpSerial`.
pub fn audit_details(kind: AuditKind, audit: &Value) -> AuditDetails {
    let serial_number = match kind {
        AuditKind::Device => text(audit, &["bios", "serialNumber"]),
        AuditKind::Esxi => text(audit, &["systemInfo", "serviceTag"]),
        AuditKind::Printer => text(audit, &["snmpInfo", "snmpSerial"]),
    };
    AuditDetails {
        manufacturer: text(audit, &["systemInfo", "manufacturer"]),
        model: text(audit, &["systemInfo", "model"]),
        serial_number,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_links_are_web_links_or_nothing() {
        let url = "https://merlot.centrastage.net/csm/profile/summary/42";
        assert_eq!(portal_url(Some(url)).as_deref(), Some(url));
        for bad in ["javascript:alert(1)", "data:text/html,x", "/csm/x", "", "   "] {
            assert_eq!(portal_url(Some(bad)), None, "{bad}");
        }
        assert_eq!(portal_url(Some(&format!("https://a.b/{}", "x".repeat(2000)))), None);
    }
    use serde_json::json;

    fn device(uid: &str) -> DeviceRecord {
        let d: Device = serde_json::from_value(json!({
            "uid": uid, "id": 1, "hostname": "PC-1", "siteUid": "s1", "deviceClass": "device",
            "deviceType": {"category": "Desktop", "type": "Workstation"},
            "lastSeen": 1_700_000_000_000_i64, "lastAuditDate": 1_699_000_000_000_i64
        }))
        .unwrap();
        DeviceRecord::from_datto(&d).unwrap()
    }

    #[test]
    fn pseudo_sites_are_recognised_by_name() {
        assert!(is_pseudo_site(Some("Deleted Devices")));
        assert!(is_pseudo_site(Some(" ondemand ")));
        assert!(is_pseudo_site(Some("Managed")));
        assert!(!is_pseudo_site(Some("Managed Services Ltd")));
        assert!(!is_pseudo_site(None));
    }

    #[test]
    fn last_seen_within_the_hour_does_not_change_the_hash() {
        let a = device("d1");
        let mut b = a.clone();
        b.last_seen = Some(a.last_seen.unwrap() + 60_000);
        assert_eq!(a.hash, b.listing_hash());
        b.last_seen = Some(a.last_seen.unwrap() + HOUR_MS);
        assert_ne!(a.hash, b.listing_hash());
        let mut c = a.clone();
        c.site_uid = Some("s2".into());
        assert_ne!(a.hash, c.listing_hash());
    }

    #[test]
    fn diff_keeps_audit_details_and_writes_only_changes() {
        let mut stored = device("d1");
        stored.serial_number = Some("SN1".into());
        stored.audited_audit_date = stored.last_audit_date;
        stored.first_seen_at = Some(5);
        let (change, _) = diff_device(Some(&stored), device("d1"), 10);
        assert_eq!(change, Change::Unchanged);
        let mut moved = device("d1");
        moved.site_uid = Some("s9".into());
        moved.hash = moved.listing_hash();
        let (change, rec) = diff_device(Some(&stored), moved, 10);
        assert_eq!(change, Change::Updated);
        assert_eq!(rec.serial_number.as_deref(), Some("SN1"));
        assert_eq!(rec.first_seen_at, Some(5));
        let (change, rec) = diff_device(None, device("d2"), 10);
        assert_eq!((change, rec.first_seen_at), (Change::Created, Some(10)));
        let mut removed = stored.clone();
        removed.removed_at = Some(7);
        assert_eq!(diff_device(Some(&removed), device("d1"), 10).0, Change::Updated);
    }

    #[test]
    fn audits_are_due_for_new_and_re_audited_devices_only() {
        let mut map = HashMap::new();
        let fresh = device("a");
        let mut done = device("b");
        done.audited_audit_date = done.last_audit_date;
        let mut moved = device("c");
        moved.audited_audit_date = Some(1);
        let mut network = device("d");
        network.device_class = Some("rmmnetworkdevice".into());
        for d in [fresh, done, moved, network] {
            map.insert(d.uid.clone(), d);
        }
        assert_eq!(pending_audits(&map), ["a", "c"]);
    }

    #[test]
    fn serials_come_from_the_right_field_per_class() {
        let generic =
            json!({"systemInfo": {"manufacturer": "Dell Inc.", "model": "OptiPlex"}, "bios": {"serialNumber": "ABC"}});
        assert_eq!(
            audit_details(AuditKind::Device, &generic),
            AuditDetails {
                manufacturer: Some("Dell Inc.".into()),
                model: Some("OptiPlex".into()),
                serial_number: Some("ABC".into())
            }
        );
        let esxi = json!({"systemInfo": {"manufacturer": "HPE", "serviceTag": "TAG"}});
        assert_eq!(
            audit_details(AuditKind::Esxi, &esxi).serial_number.as_deref(),
            Some("TAG")
        );
        let printer = json!({"snmpInfo": {"snmpSerial": "PSN"}, "systemInfo": null});
        let p = audit_details(AuditKind::Printer, &printer);
        assert_eq!((p.serial_number.as_deref(), p.model), (Some("PSN"), None));
    }

    #[test]
    fn type_counts_skip_removed_devices_and_keep_known_types_at_zero() {
        let a = device("a");
        let mut b = device("b");
        b.removed_at = Some(1);
        let counts = device_type_counts([&a, &b], [("Printer".to_owned(), "Laser".to_owned())]);
        assert_eq!(counts.len(), 2);
        assert_eq!(counts.iter().find(|c| c.category == "Desktop").unwrap().count, 1);
        assert_eq!(counts.iter().find(|c| c.category == "Printer").unwrap().count, 0);
    }
}
