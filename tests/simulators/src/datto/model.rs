//! The simulated Datto RMM account (model): the record types, the store that keeps them in API
//! order with their indexes, and the mutations tests and the admin routes make. The seeded data
//! it starts with comes from `generate.rs`.

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;

use crate::rng::Rng;

use super::generate::*;
pub use super::text::Text;

pub const DELETED_DEVICES_SITE: &str = "Deleted Devices";
pub const ON_DEMAND_SITE: &str = "OnDemand";
pub const MANAGED_SITE: &str = "Managed";

pub(super) const MINUTE_MS: i64 = 60_000;
pub(super) const HOUR_MS: i64 = 60 * MINUTE_MS;
pub(super) const DAY_MS: i64 = 24 * HOUR_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteKind {
    /// A real client site.
    Client,
    /// "Deleted Devices": where Datto moves devices that are deleted.
    DeletedDevices,
    /// "OnDemand": devices connected for ad-hoc support.
    OnDemand,
    /// "Managed": the default system site.
    Managed,
}

#[derive(Debug, Clone)]
pub struct SimAccount {
    pub id: i64,
    pub uid: String,
    pub name: String,
    pub currency: Text,
    pub billing_email: Option<String>,
    pub device_limit: i64,
    pub time_zone: Text,
}

/// A device's `deviceClass`: which audit endpoint serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceClass {
    Device,
    Printer,
    EsxiHost,
    NetworkDevice,
    Unknown,
}

impl DeviceClass {
    /// The API's value: `device`, `printer`, `esxihost`, `rmmnetworkdevice` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceClass::Device => "device",
            DeviceClass::Printer => "printer",
            DeviceClass::EsxiHost => "esxihost",
            DeviceClass::NetworkDevice => "rmmnetworkdevice",
            DeviceClass::Unknown => "unknown",
        }
    }
}

impl PartialEq<&str> for DeviceClass {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for DeviceClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An alert's priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertPriority {
    Critical,
    High,
    Moderate,
    Low,
    Information,
}

impl AlertPriority {
    pub const ALL: [AlertPriority; 5] = [
        AlertPriority::Critical,
        AlertPriority::High,
        AlertPriority::Moderate,
        AlertPriority::Low,
        AlertPriority::Information,
    ];

    /// The API's value (`Critical`, `High`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertPriority::Critical => "Critical",
            AlertPriority::High => "High",
            AlertPriority::Moderate => "Moderate",
            AlertPriority::Low => "Low",
            AlertPriority::Information => "Information",
        }
    }

    /// The priority the API calls `name` (ASCII case ignored).
    pub fn parse(name: &str) -> Option<AlertPriority> {
        AlertPriority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(name))
    }
}

/// The protocol of a site's proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyKind {
    Http,
    Socks4,
    Socks5,
}

/// The type of a component variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VariableKind {
    String,
    Boolean,
    Date,
    Selection,
}

#[derive(Debug, Clone)]
pub struct SimProxy {
    pub host: String,
    pub port: u16,
    pub kind: ProxyKind,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SimSite {
    pub id: i64,
    pub uid: String,
    pub name: String,
    pub kind: SiteKind,
    pub description: Option<String>,
    pub notes: Option<String>,
    pub on_demand: bool,
    pub splashtop_auto_install: bool,
    pub proxy: Option<SimProxy>,
    /// A string of digits, as the real API sends it.
    pub autotask_company_id: Option<String>,
    pub autotask_company_name: Option<String>,
}

/// One device. Any field may be changed through
/// [`DattoSim::change_device`](super::DattoSim::change_device); changing `site_uid` moves the
/// device and changing `uid` re-keys it. `manufacturer`, `model`, `serial_number` and
/// `mac_address` are served by the audit endpoints only (as in the real API), not by the
/// device endpoints. Low-vocabulary fields are [`Text`] (`"...".into()` to set them).
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub id: i64,
    pub uid: String,
    /// The site's uid (an interned [`Text`]: shared by all devices of a site).
    pub site_uid: Text,
    pub category: Option<Text>,
    pub device_type: Option<Text>,
    pub hostname: String,
    pub int_ip_address: Option<String>,
    pub ext_ip_address: Option<String>,
    pub operating_system: Option<Text>,
    pub last_logged_in_user: Option<String>,
    pub domain: Option<Text>,
    pub description: Option<String>,
    pub cag_version: Option<Text>,
    pub display_version: Option<Text>,
    pub a64_bit: Option<bool>,
    pub reboot_required: Option<bool>,
    pub online: bool,
    pub suspended: bool,
    pub deleted: bool,
    /// Epoch milliseconds.
    pub last_seen: Option<i64>,
    pub last_reboot: Option<i64>,
    pub last_audit_date: Option<i64>,
    pub creation_date: Option<i64>,
    /// Sparse user-defined fields `udf1..udf300`; missing ones render as `null`.
    pub udf: Udfs,
    pub snmp_enabled: bool,
    pub device_class: DeviceClass,
    /// `yyyy-mm-dd`.
    pub warranty_date: Option<String>,
    pub antivirus_product: Option<Text>,
    pub antivirus_status: Option<Text>,
    pub patch_status: Option<Text>,
    pub patches_approved_pending: Option<i32>,
    pub patches_not_approved: Option<i32>,
    pub patches_installed: Option<i32>,
    pub manufacturer: Option<Text>,
    pub model: Option<Text>,
    pub serial_number: Option<String>,
    /// `AA:BB:CC:DD:EE:FF`.
    pub mac_address: Option<String>,
}

/// User-defined fields `udf1..udf300` of a device: sparse (most are null), kept sorted by
/// number. Map-like API; much smaller than a `BTreeMap` for one or two values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Udfs(Vec<(u16, String)>);

impl Udfs {
    pub fn new() -> Udfs {
        Udfs(Vec::new())
    }

    pub fn get(&self, n: u16) -> Option<&str> {
        self.0
            .binary_search_by_key(&n, |e| e.0)
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// Sets `udf{n}`; returns the previous value.
    pub fn insert(&mut self, n: u16, value: String) -> Option<String> {
        match self.0.binary_search_by_key(&n, |e| e.0) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (n, value));
                None
            }
        }
    }

    /// Clears `udf{n}`; returns the previous value.
    pub fn remove(&mut self, n: u16) -> Option<String> {
        self.0
            .binary_search_by_key(&n, |e| e.0)
            .ok()
            .map(|i| self.0.remove(i).1)
    }

    /// `(n, value)` of the fields that are set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &str)> {
        self.0.iter().map(|(n, v)| (*n, v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct SimAlert {
    pub uid: String,
    pub device_uid: String,
    pub priority: AlertPriority,
    /// The alert context `@class` (`"disk_usage_ctx"`, ...) or, for alerts raised with a free
    /// monitor name, that name (rendered as a `comp_script_ctx` alert).
    pub monitor: Text,
    /// Seed of the rendered details (`alertContext` values, `diagnostics`), which are derived
    /// when served instead of being stored.
    pub detail_seed: u64,
    pub resolved: bool,
    pub resolved_by: Option<String>,
    pub resolved_on: Option<i64>,
    pub muted: bool,
    pub ticket_number: Option<String>,
    pub timestamp: i64,
    pub sends_emails: bool,
    pub creates_ticket: bool,
    pub autoresolve_mins: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct SimComponentVariable {
    pub name: Text,
    pub default_val: Text,
    pub kind: VariableKind,
    pub description: Text,
}

#[derive(Debug, Clone)]
pub struct SimComponent {
    pub id: i64,
    pub uid: String,
    pub name: Text,
    pub description: Text,
    pub category_code: Text,
    pub credentials_required: bool,
    pub variables: Vec<SimComponentVariable>,
}

#[derive(Debug, Clone)]
pub struct SimJob {
    pub id: i64,
    pub uid: String,
    pub name: String,
    pub created_ms: i64,
    pub created_at: Instant,
    pub component_uid: String,
    pub component_name: String,
    pub variables: Vec<(String, String)>,
    pub device_uid: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    UnknownDevice(String),
    UnknownSite(String),
    UnknownAlert(String),
    UidTaken(String),
    UnknownPriority(String),
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataError::UnknownDevice(u) => write!(f, "no device with uid {u:?}"),
            DataError::UnknownSite(u) => write!(f, "no site with uid {u:?}"),
            DataError::UnknownAlert(u) => write!(f, "no alert with uid {u:?}"),
            DataError::UidTaken(u) => write!(f, "uid {u:?} is already used by another device"),
            DataError::UnknownPriority(p) => write!(
                f,
                "no alert priority {p:?} (Critical, High, Moderate, Low, Information)"
            ),
        }
    }
}

impl std::error::Error for DataError {}

/// The whole account. Lists are kept in id order, which is the order the API returns.
pub struct DattoStore {
    pub(crate) seed: u64,
    pub(crate) platform: String,
    pub(crate) reference_ms: i64,
    pub(crate) account: SimAccount,
    pub(crate) sites: Vec<SimSite>,
    pub(super) site_by_uid: HashMap<String, u32>,
    pub(crate) devices: Vec<SimDevice>,
    pub(super) device_by_uid: HashMap<String, u32>,
    /// Per site (same index as `sites`): indexes into `devices`, ascending.
    pub(super) site_devices: Vec<Vec<u32>>,
    pub(crate) alerts: Vec<SimAlert>,
    pub(super) alert_by_uid: HashMap<String, u32>,
    pub(crate) components: Vec<SimComponent>,
    pub(crate) jobs: HashMap<String, SimJob>,
    pub(super) rng: Rng,
    pub(super) next_device_id: i64,
    pub(super) next_site_id: i64,
    pub(super) next_job_id: i64,
}

pub use crate::time::{date_string, now_ms, today_start_ms};

impl DattoStore {
    pub(super) fn take_site_id(&mut self, rng: &mut Rng) -> i64 {
        let id = self.next_site_id;
        self.next_site_id += rng.range(1, 5);
        id
    }

    pub(super) fn push_site(&mut self, site: SimSite) -> usize {
        let idx = self.sites.len();
        self.site_by_uid.insert(site.uid.clone(), idx as u32);
        self.sites.push(site);
        self.site_devices.push(Vec::new());
        idx
    }

    pub(super) fn push_device(&mut self, device: SimDevice, site_idx: usize) {
        let idx = self.devices.len() as u32;
        self.device_by_uid.insert(device.uid.clone(), idx);
        self.devices.push(device);
        // Appending keeps the per-site lists ascending.
        self.site_devices[site_idx].push(idx);
    }

    // ----- lookups -----

    pub fn site_index(&self, uid: &str) -> Option<usize> {
        self.site_by_uid.get(uid).map(|&i| i as usize)
    }

    pub fn device_index(&self, uid: &str) -> Option<usize> {
        self.device_by_uid.get(uid).map(|&i| i as usize)
    }

    pub fn device(&self, uid: &str) -> Option<&SimDevice> {
        self.device_index(uid).map(|i| &self.devices[i])
    }

    pub fn site_of(&self, device: &SimDevice) -> Option<&SimSite> {
        self.site_index(&device.site_uid).map(|i| &self.sites[i])
    }

    /// Indexes into `devices` of the devices of site `site_idx`, ascending (= id order).
    pub fn site_device_indexes(&self, site_idx: usize) -> &[u32] {
        &self.site_devices[site_idx]
    }

    pub fn alert_index(&self, uid: &str) -> Option<usize> {
        self.alert_by_uid.get(uid).map(|&i| i as usize)
    }

    pub fn deleted_devices_site(&self) -> Option<usize> {
        self.sites.iter().position(|s| s.kind == SiteKind::DeletedDevices)
    }

    // ----- mutations (used between sync runs by tests) -----

    pub fn add_site(&mut self, name: &str) -> String {
        let id = self.next_site_id;
        self.next_site_id += self.rng.range(1, 5);
        let uid = self.rng.guid();
        self.push_site(SimSite {
            id,
            uid: uid.clone(),
            name: name.to_string(),
            kind: SiteKind::Client,
            description: None,
            notes: None,
            on_demand: false,
            splashtop_auto_install: true,
            proxy: None,
            autotask_company_id: None,
            autotask_company_name: None,
        });
        uid
    }

    pub fn change_site(&mut self, uid: &str, f: impl FnOnce(&mut SimSite)) -> Result<(), DataError> {
        let idx = self
            .site_index(uid)
            .ok_or_else(|| DataError::UnknownSite(uid.to_string()))?;
        let site = &mut self.sites[idx];
        f(site);
        if site.uid != uid {
            let new_uid = site.uid.clone();
            if self.site_by_uid.contains_key(&new_uid) {
                self.sites[idx].uid = uid.to_string();
                return Err(DataError::UidTaken(new_uid));
            }
            self.site_by_uid.remove(uid);
            self.site_by_uid.insert(new_uid.clone(), idx as u32);
            for &d in &self.site_devices[idx] {
                self.devices[d as usize].site_uid = Text::from(&new_uid);
            }
        }
        Ok(())
    }

    pub fn add_devices(&mut self, site_uid: &str, n: usize) -> Result<Vec<String>, DataError> {
        let site_idx = self
            .site_index(site_uid)
            .ok_or_else(|| DataError::UnknownSite(site_uid.to_string()))?;
        let profile = site_profile(self.seed, &self.sites[site_idx]);
        let reference = now_ms().max(self.reference_ms);
        let mut uids = Vec::with_capacity(n);
        for _ in 0..n {
            let id = self.next_device_id;
            self.next_device_id += self.rng.range(1, 3);
            let mut d = gen_device(self.seed, id, &self.sites[site_idx], &profile, reference);
            // A device enrolled just now.
            d.creation_date = Some(reference);
            while self.device_by_uid.contains_key(&d.uid) {
                d.uid = self.rng.guid();
            }
            if self.sites[site_idx].kind == SiteKind::DeletedDevices {
                mark_deleted(&mut d, reference);
            }
            uids.push(d.uid.clone());
            self.push_device(d, site_idx);
        }
        Ok(uids)
    }

    pub fn change_device(&mut self, uid: &str, f: impl FnOnce(&mut SimDevice)) -> Result<(), DataError> {
        let idx = self
            .device_index(uid)
            .ok_or_else(|| DataError::UnknownDevice(uid.to_string()))?;
        let before = self.devices[idx].clone();
        f(&mut self.devices[idx]);
        let after_uid = self.devices[idx].uid.clone();
        let after_site = self.devices[idx].site_uid;
        if after_uid != before.uid && self.device_by_uid.contains_key(&after_uid) {
            self.devices[idx] = before;
            return Err(DataError::UidTaken(after_uid));
        }
        if after_site != before.site_uid && self.site_index(&after_site).is_none() {
            self.devices[idx] = before;
            return Err(DataError::UnknownSite(after_site.to_string()));
        }
        if after_uid != before.uid {
            self.device_by_uid.remove(&before.uid);
            self.device_by_uid.insert(after_uid.clone(), idx as u32);
            for a in &mut self.alerts {
                if a.device_uid == before.uid {
                    a.device_uid = after_uid.clone();
                }
            }
        }
        if after_site != before.site_uid {
            self.devices[idx].site_uid = before.site_uid;
            self.move_device(&after_uid, &after_site)?;
        }
        Ok(())
    }

    pub fn move_device(&mut self, uid: &str, to_site_uid: &str) -> Result<(), DataError> {
        let idx = self
            .device_index(uid)
            .ok_or_else(|| DataError::UnknownDevice(uid.to_string()))?;
        let to = self
            .site_index(to_site_uid)
            .ok_or_else(|| DataError::UnknownSite(to_site_uid.to_string()))?;
        let from = self.site_index(&self.devices[idx].site_uid);
        if from == Some(to) {
            return Ok(());
        }
        if let Some(from) = from {
            let list = &mut self.site_devices[from];
            if let Ok(pos) = list.binary_search(&(idx as u32)) {
                list.remove(pos);
            }
        }
        let list = &mut self.site_devices[to];
        let pos = list.binary_search(&(idx as u32)).unwrap_or_else(|p| p);
        list.insert(pos, idx as u32);
        self.devices[idx].site_uid = Text::from(&self.sites[to].uid);
        Ok(())
    }

    /// Datto's delete: the device moves to the "Deleted Devices" site and is flagged deleted.
    pub fn delete_device(&mut self, uid: &str) -> Result<(), DataError> {
        let deleted_site = self
            .deleted_devices_site()
            .expect("the Deleted Devices site always exists");
        let site_uid = self.sites[deleted_site].uid.clone();
        self.move_device(uid, &site_uid)?;
        let idx = self.device_index(uid).expect("moved above");
        mark_deleted(&mut self.devices[idx], now_ms());
        Ok(())
    }

    /// Removes a device for good (as when Datto purges the Deleted Devices site). O(devices).
    pub fn purge_device(&mut self, uid: &str) -> Result<(), DataError> {
        let idx = self
            .device_index(uid)
            .ok_or_else(|| DataError::UnknownDevice(uid.to_string()))?;
        self.devices.remove(idx);
        self.reindex_devices();
        Ok(())
    }

    fn reindex_devices(&mut self) {
        self.device_by_uid.clear();
        for list in &mut self.site_devices {
            list.clear();
        }
        for (i, d) in self.devices.iter().enumerate() {
            self.device_by_uid.insert(d.uid.clone(), i as u32);
            if let Some(&s) = self.site_by_uid.get(d.site_uid.as_str()) {
                self.site_devices[s as usize].push(i as u32);
            }
        }
    }

    pub fn raise_alert(&mut self, device_uid: &str, priority: &str, monitor: &str) -> Result<String, DataError> {
        let priority =
            AlertPriority::parse(priority).ok_or_else(|| DataError::UnknownPriority(priority.to_string()))?;
        let idx = self
            .device_index(device_uid)
            .ok_or_else(|| DataError::UnknownDevice(device_uid.to_string()))?;
        let mut alert = make_alert(&mut self.rng, &self.devices[idx], now_ms(), Some(monitor));
        alert.priority = priority;
        while self.alert_by_uid.contains_key(&alert.uid) {
            alert.uid = self.rng.guid();
        }
        let uid = alert.uid.clone();
        self.alert_by_uid.insert(uid.clone(), self.alerts.len() as u32);
        self.alerts.push(alert);
        Ok(uid)
    }

    /// Marks an alert resolved; returns false if it was resolved already.
    pub fn resolve_alert(&mut self, uid: &str, by: &str) -> Result<bool, DataError> {
        let idx = self
            .alert_index(uid)
            .ok_or_else(|| DataError::UnknownAlert(uid.to_string()))?;
        let a = &mut self.alerts[idx];
        if a.resolved {
            return Ok(false);
        }
        a.resolved = true;
        a.resolved_on = Some(now_ms());
        a.resolved_by = Some(by.to_string());
        Ok(true)
    }

    pub fn create_job(
        &mut self,
        device_uid: &str,
        name: &str,
        component: usize,
        variables: Vec<(String, String)>,
    ) -> &SimJob {
        let id = self.next_job_id;
        self.next_job_id += 1;
        let uid = self.rng.guid();
        let job = SimJob {
            id,
            uid: uid.clone(),
            name: name.to_string(),
            created_ms: now_ms(),
            created_at: Instant::now(),
            component_uid: self.components[component].uid.clone(),
            component_name: self.components[component].name.to_string(),
            variables,
            device_uid: device_uid.to_string(),
        };
        self.jobs.entry(uid).or_insert(job)
    }
}

pub(super) fn mark_deleted(d: &mut SimDevice, at_ms: i64) {
    d.deleted = true;
    d.online = false;
    if d.last_seen.is_none_or(|t| t > at_ms) {
        d.last_seen = Some(at_ms);
    }
}
