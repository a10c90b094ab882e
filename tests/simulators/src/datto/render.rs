//! JSON shapes of the Datto RMM API v2: camelCase field
//! names, epoch-millisecond numbers for timestamps, `null` for unset fields.
//!
//! List items (sites, devices, alerts) are serialised from borrowed views; one-off documents
//! (audits, jobs) are built with `json!`. Audit details that the model does not store (disks,
//! memory modules, ...) are derived from `(seed, device id)`, so they are stable across calls.

use std::sync::OnceLock;

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Value, json};

use super::generate::alert_details;
use super::model::{DattoStore, DeviceClass, ProxyKind, SimAlert, SimComponent, SimDevice, SimJob, SimSite, Udfs};
use crate::rng::{HEX_UPPER, Rng, UPPER_ALNUM};

const STREAM_AUDIT: u64 = 0xA0D1_7000_0000_0000;

pub fn device_portal_url(platform: &str, uid: &str) -> String {
    format!("https://{platform}.centrastage.net/csm/search?qs=uid%3A{uid}")
}

fn device_web_remote_url(platform: &str, uid: &str) -> String {
    format!("https://{platform}.centrastage.net/csm/remote/rto/{uid}")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDevicesStatus {
    pub number_of_devices: u64,
    pub number_of_online_devices: u64,
    pub number_of_offline_devices: u64,
    pub number_of_on_demand_devices: u64,
    pub number_of_managed_devices: u64,
}

/// `Account`. Device counts exclude deleted devices; "managed" = all others than on-demand
/// (an assumption: only the field names are documented).
pub fn account(data: &DattoStore) -> Value {
    let mut status = AccountDevicesStatus {
        number_of_devices: 0,
        number_of_online_devices: 0,
        number_of_offline_devices: 0,
        number_of_on_demand_devices: 0,
        number_of_managed_devices: 0,
    };
    for (i, site) in data.sites.iter().enumerate() {
        for &d in data.site_device_indexes(i) {
            let d = &data.devices[d as usize];
            if d.deleted {
                continue;
            }
            status.number_of_devices += 1;
            if d.online {
                status.number_of_online_devices += 1;
            } else {
                status.number_of_offline_devices += 1;
            }
            if site.on_demand {
                status.number_of_on_demand_devices += 1;
            } else {
                status.number_of_managed_devices += 1;
            }
        }
    }
    let a = &data.account;
    json!({
        "id": a.id,
        "uid": a.uid,
        "name": a.name,
        "currency": a.currency,
        "descriptor": {"bilingEmail": a.billing_email, "deviceLimit": a.device_limit, "timeZone": a.time_zone},
        "devicesStatus": status,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyJson<'a> {
    host: &'a str,
    password: Option<&'a str>,
    port: u16,
    #[serde(rename = "type")]
    kind: ProxyKind,
    username: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteDevicesStatus {
    number_of_devices: u64,
    number_of_online_devices: u64,
    number_of_offline_devices: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteJson<'a> {
    id: i64,
    uid: &'a str,
    account_uid: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    notes: Option<&'a str>,
    on_demand: bool,
    splashtop_auto_install: bool,
    proxy_settings: Option<ProxyJson<'a>>,
    devices_status: SiteDevicesStatus,
    autotask_company_name: Option<&'a str>,
    autotask_company_id: Option<&'a str>,
    portal_url: String,
}

/// `Site`; its device counts are computed from the devices, so they are always consistent.
pub fn site<'a>(data: &'a DattoStore, idx: usize) -> SiteJson<'a> {
    let s: &SimSite = &data.sites[idx];
    let mut status = SiteDevicesStatus {
        number_of_devices: 0,
        number_of_online_devices: 0,
        number_of_offline_devices: 0,
    };
    for &d in data.site_device_indexes(idx) {
        status.number_of_devices += 1;
        if data.devices[d as usize].online {
            status.number_of_online_devices += 1;
        } else {
            status.number_of_offline_devices += 1;
        }
    }
    SiteJson {
        id: s.id,
        uid: &s.uid,
        account_uid: &data.account.uid,
        name: &s.name,
        description: s.description.as_deref(),
        notes: s.notes.as_deref(),
        on_demand: s.on_demand,
        splashtop_auto_install: s.splashtop_auto_install,
        proxy_settings: s.proxy.as_ref().map(|p| ProxyJson {
            host: &p.host,
            password: p.password.as_deref(),
            port: p.port,
            kind: p.kind,
            username: p.username.as_deref(),
        }),
        devices_status: status,
        autotask_company_name: s.autotask_company_name.as_deref(),
        autotask_company_id: s.autotask_company_id.as_deref(),
        portal_url: format!("https://{}.centrastage.net/csm/profile/summary/{}", data.platform, s.id),
    }
}

/// `udf1..udfN` with `null` for unset fields.
pub struct UdfJson<'a> {
    values: &'a Udfs,
    count: u16,
}

fn udf_key(i: u16) -> &'static str {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| (0..=300).map(|i| format!("udf{i}")).collect());
    &keys[usize::from(i)]
}

impl Serialize for UdfJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(usize::from(self.count)))?;
        let mut set = self.values.iter().peekable();
        for i in 1..=self.count {
            while set.next_if(|(n, _)| *n < i).is_some() {}
            let value = set.next_if(|(n, _)| *n == i).map(|(_, v)| v);
            map.serialize_entry(udf_key(i), &value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
pub struct DeviceTypeJson<'a> {
    category: Option<&'a str>,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AntivirusJson<'a> {
    antivirus_product: Option<&'a str>,
    antivirus_status: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchJson<'a> {
    patch_status: Option<&'a str>,
    patches_approved_pending: Option<i32>,
    patches_not_approved: Option<i32>,
    patches_installed: Option<i32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceJson<'a> {
    id: i64,
    uid: &'a str,
    site_id: Option<i64>,
    site_uid: &'a str,
    site_name: Option<&'a str>,
    device_type: Option<DeviceTypeJson<'a>>,
    hostname: &'a str,
    int_ip_address: Option<&'a str>,
    ext_ip_address: Option<&'a str>,
    operating_system: Option<&'a str>,
    last_logged_in_user: Option<&'a str>,
    domain: Option<&'a str>,
    cag_version: Option<&'a str>,
    display_version: Option<&'a str>,
    description: Option<&'a str>,
    a64_bit: Option<bool>,
    reboot_required: Option<bool>,
    online: bool,
    suspended: bool,
    deleted: bool,
    last_seen: Option<i64>,
    last_reboot: Option<i64>,
    last_audit_date: Option<i64>,
    creation_date: Option<i64>,
    udf: UdfJson<'a>,
    snmp_enabled: bool,
    device_class: &'a str,
    portal_url: String,
    web_remote_url: String,
    warranty_date: Option<&'a str>,
    antivirus: AntivirusJson<'a>,
    patch_management: PatchJson<'a>,
    software_status: Option<&'a str>,
    network_probe: bool,
    onboarded_via_network_monitor: bool,
}

pub fn device<'a>(data: &'a DattoStore, d: &'a SimDevice, udf_count: u16) -> DeviceJson<'a> {
    let site = data.site_of(d);
    DeviceJson {
        id: d.id,
        uid: &d.uid,
        site_id: site.map(|s| s.id),
        site_uid: &d.site_uid,
        site_name: site.map(|s| s.name.as_str()),
        device_type: (d.category.is_some() || d.device_type.is_some()).then_some(DeviceTypeJson {
            category: d.category.as_deref(),
            kind: d.device_type.as_deref(),
        }),
        hostname: &d.hostname,
        int_ip_address: d.int_ip_address.as_deref(),
        ext_ip_address: d.ext_ip_address.as_deref(),
        operating_system: d.operating_system.as_deref(),
        last_logged_in_user: d.last_logged_in_user.as_deref(),
        domain: d.domain.as_deref(),
        cag_version: d.cag_version.as_deref(),
        display_version: d.display_version.as_deref(),
        description: d.description.as_deref(),
        a64_bit: d.a64_bit,
        reboot_required: d.reboot_required,
        online: d.online,
        suspended: d.suspended,
        deleted: d.deleted,
        last_seen: d.last_seen,
        last_reboot: d.last_reboot,
        last_audit_date: d.last_audit_date,
        creation_date: d.creation_date,
        udf: UdfJson {
            values: &d.udf,
            count: udf_count,
        },
        snmp_enabled: d.snmp_enabled,
        device_class: d.device_class.as_str(),
        portal_url: device_portal_url(&data.platform, &d.uid),
        web_remote_url: device_web_remote_url(&data.platform, &d.uid),
        warranty_date: d.warranty_date.as_deref(),
        antivirus: AntivirusJson {
            antivirus_product: d.antivirus_product.as_deref(),
            antivirus_status: d.antivirus_status.as_deref(),
        },
        patch_management: PatchJson {
            patch_status: d.patch_status.as_deref(),
            patches_approved_pending: d.patches_approved_pending,
            patches_not_approved: d.patches_not_approved,
            patches_installed: d.patches_installed,
        },
        software_status: None,
        network_probe: false,
        onboarded_via_network_monitor: d.snmp_enabled,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertMonitorInfoJson {
    sends_emails: bool,
    creates_ticket: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertSourceJson<'a> {
    device_uid: &'a str,
    device_name: Option<&'a str>,
    site_uid: Option<&'a str>,
    site_name: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertJson<'a> {
    alert_uid: &'a str,
    priority: &'a str,
    diagnostics: String,
    resolved: bool,
    resolved_by: Option<&'a str>,
    resolved_on: Option<i64>,
    muted: bool,
    ticket_number: Option<&'a str>,
    timestamp: i64,
    alert_monitor_info: AlertMonitorInfoJson,
    alert_context: Value,
    alert_source_info: AlertSourceJson<'a>,
    response_actions: Vec<Value>,
    autoresolve_mins: Option<i32>,
}

pub fn alert<'a>(data: &'a DattoStore, a: &'a SimAlert) -> AlertJson<'a> {
    let dev = data.device(&a.device_uid);
    let site = dev.and_then(|d| data.site_of(d));
    let (alert_context, diagnostics) = alert_details(a, dev);
    let response_actions = match &a.ticket_number {
        Some(t) => vec![json!({
            "actionTime": a.timestamp + 30_000,
            "actionType": "TICKET_CREATED",
            "description": "Ticket created",
            "actionReference": t,
            "actionReferenceInt": null,
        })],
        None => Vec::new(),
    };
    AlertJson {
        alert_uid: &a.uid,
        priority: a.priority.as_str(),
        diagnostics,
        resolved: a.resolved,
        resolved_by: a.resolved_by.as_deref(),
        resolved_on: a.resolved_on,
        muted: a.muted,
        ticket_number: a.ticket_number.as_deref(),
        timestamp: a.timestamp,
        alert_monitor_info: AlertMonitorInfoJson {
            sends_emails: a.sends_emails,
            creates_ticket: a.creates_ticket,
        },
        alert_context,
        alert_source_info: AlertSourceJson {
            device_uid: &a.device_uid,
            device_name: dev.map(|d| d.hostname.as_str()),
            site_uid: site.map(|s| s.uid.as_str()),
            site_name: site.map(|s| s.name.as_str()),
        },
        response_actions,
        autoresolve_mins: a.autoresolve_mins,
    }
}

fn audit_rng(data: &DattoStore, d: &SimDevice) -> Rng {
    Rng::derive(data.seed, STREAM_AUDIT ^ d.id as u64)
}

fn gib(n: u64) -> u64 {
    n * 1024 * 1024 * 1024
}

fn nic(r: &mut Rng, name: &str, mac: Option<&str>, ipv4: Option<&str>) -> Value {
    json!({
        "instance": name,
        "ipv4": ipv4,
        "ipv6": format!("fe80::{:x}:{:x}:{:x}:{:x}", r.below(65536), r.below(65536), r.below(65536), r.below(65536)),
        "macAddress": mac,
        "type": if name.contains("Wi-Fi") { "Wireless" } else { "Ethernet" },
    })
}

/// `DeviceAudit` for a device of class `device`. A device that was never audited
/// (`last_audit_date == None`) gets nulls and empty lists (assumption).
pub fn device_audit(data: &DattoStore, d: &SimDevice) -> Value {
    let portal = device_portal_url(&data.platform, &d.uid);
    let remote = device_web_remote_url(&data.platform, &d.uid);
    if d.last_audit_date.is_none() {
        return json!({
            "portalUrl": portal, "webRemoteUrl": remote, "systemInfo": null, "bios": null, "baseBoard": null,
            "nics": [], "logicalDisks": [], "processors": [], "physicalMemory": [], "displays": [],
            "videoBoards": [], "mobileInfo": [], "attachedDevices": [], "snmpInfo": null,
        });
    }
    let mut r = audit_rng(data, d);
    let server = d.category.as_deref() == Some("Server");
    let laptop = d.category.as_deref() == Some("Laptop");
    let mem_gib = *r.pick(if server {
        &[16u64, 32, 64, 128][..]
    } else {
        &[8u64, 16, 16, 32][..]
    });
    let cores = *r.pick(if server {
        &[8u64, 16, 24, 32][..]
    } else {
        &[4u64, 6, 8, 12][..]
    });
    let cpu = if d.manufacturer.as_deref() == Some("Apple Inc.") {
        r.pick(&["Apple M1", "Apple M2 Pro", "Apple M3"]).to_string()
    } else if server {
        r.pick(&[
            "Intel(R) Xeon(R) Silver 4310 CPU @ 2.10GHz",
            "Intel(R) Xeon(R) E-2336 CPU @ 2.90GHz",
            "AMD EPYC 7313P 16-Core Processor",
        ])
        .to_string()
    } else {
        r.pick(&[
            "Intel(R) Core(TM) i5-10500 CPU @ 3.10GHz",
            "Intel(R) Core(TM) i7-1185G7 @ 3.00GHz",
            "13th Gen Intel(R) Core(TM) i5-1345U",
            "AMD Ryzen 5 PRO 5650U with Radeon Graphics",
        ])
        .to_string()
    };
    let disk_gb = *r.pick(if server {
        &[480u64, 960, 1920, 3840][..]
    } else {
        &[238u64, 476, 953][..]
    });
    let primary = if laptop {
        "Intel(R) Wi-Fi 6 AX201 160MHz"
    } else {
        "Intel(R) Ethernet Connection (7) I219-LM"
    };
    let mut nics = vec![nic(
        &mut r,
        primary,
        d.mac_address.as_deref(),
        d.int_ip_address.as_deref(),
    )];
    if laptop {
        let mac: Vec<String> = (0..6).map(|_| r.chars(HEX_UPPER, 2)).collect();
        nics.push(nic(
            &mut r,
            "Intel(R) Ethernet Connection (13) I219-LM",
            Some(&mac.join(":")),
            None,
        ));
    }
    let modules = if mem_gib >= 16 { 2 } else { 1 };
    let physical_memory: Vec<Value> = (0..modules)
        .map(|i| {
            json!({
                "module": format!("DIMM{i}"),
                "size": gib(mem_gib / modules),
                "type": "DDR4",
                "speed": 3200,
                "serialNumber": r.chars(HEX_UPPER, 8),
                "partNumber": format!("M471A{}", r.chars(UPPER_ALNUM, 8)),
                "bank": format!("BANK {i}"),
            })
        })
        .collect();
    let release = data.reference_ms - r.range(200, 1500) * 86_400_000;
    json!({
        "portalUrl": portal,
        "webRemoteUrl": remote,
        "systemInfo": {
            "manufacturer": d.manufacturer,
            "model": d.model,
            "totalPhysicalMemory": gib(mem_gib),
            "username": d.last_logged_in_user,
            "dotNetVersion": if d.operating_system.as_deref().is_some_and(|o| o.contains("Windows")) { Some("4.8.09032") } else { None },
            "totalCpuCores": cores,
        },
        "bios": {
            "instance": format!("{} - {}", d.manufacturer.as_deref().unwrap_or("Unknown").split_whitespace().next().unwrap_or("BIOS").to_uppercase(), r.range(1, 9_999_999)),
            "releaseDate": release,
            "serialNumber": d.serial_number,
            "smBiosVersion": format!("{}.{}.{}", r.range(1, 3), r.range(0, 30), r.range(0, 9)),
        },
        "baseBoard": {"manufacturer": d.manufacturer, "product": format!("0{}", r.chars(UPPER_ALNUM, 5))},
        "nics": nics,
        "logicalDisks": [{"description": "Local Fixed Disk", "diskIdentifier": "C:", "freespace": disk_gb * 1_000_000_000 * r.range(5, 80) as u64 / 100, "size": disk_gb * 1_000_000_000}],
        "processors": [{"name": cpu}],
        "physicalMemory": physical_memory,
        "displays": [{"instance": "Generic PnP Monitor", "screenHeight": 1080, "screenWidth": 1920}],
        "videoBoards": [{"displayAdapter": if server { "Microsoft Basic Display Adapter" } else { "Intel(R) UHD Graphics" }}],
        "mobileInfo": [],
        "attachedDevices": [],
        "snmpInfo": null,
    })
}

/// `ESXiHostAudit`.
pub fn esxi_audit(data: &DattoStore, d: &SimDevice) -> Value {
    let mut r = audit_rng(data, d);
    let guests: Vec<Value> = (0..r.range(2, 12))
        .map(|i| {
            json!({
                "guestName": format!("VM{:02}", i + 1),
                "processorSpeedTotal": r.range(2, 16) * 2100,
                "memorySizeTotal": gib(*r.pick(&[4u64, 8, 16, 32])),
                "numberOfSnapshots": r.range(0, 3),
                "datastores": "datastore1",
            })
        })
        .collect();
    let size = gib(*r.pick(&[1_800u64, 3_600, 7_200]));
    json!({
        "portalUrl": device_portal_url(&data.platform, &d.uid),
        "systemInfo": {
            "manufacturer": d.manufacturer,
            "model": d.model,
            "name": d.hostname,
            "numberOfSnapshots": r.range(0, 6),
            "serviceTag": d.serial_number,
        },
        "guests": guests,
        "processors": [{"frequency": 2100, "name": "Intel(R) Xeon(R) Silver 4310 CPU @ 2.10GHz", "numberOfCores": 12}],
        "nics": [{"name": "vmnic0", "ipv4": d.int_ip_address, "ipv6": null, "macAddress": d.mac_address, "speed": 10_000, "type": "Ethernet"}],
        "physicalMemory": [{"module": "DIMM_A1", "size": gib(64), "type": "DDR4", "speed": 3200, "serialNumber": r.chars(HEX_UPPER, 8), "partNumber": "M393A8G40AB2", "bank": "A1"}],
        "datastores": [{
            "datastoreName": "datastore1", "subscriptionPercent": r.range(40, 140), "freeSpace": size / 100 * r.range(10, 70) as u64,
            "size": size, "fileSystem": "VMFS-6", "status": "OK", "dataExtents": [],
        }],
    })
}

/// `PrinterAudit`.
pub fn printer_audit(data: &DattoStore, d: &SimDevice) -> Value {
    let mut r = audit_rng(data, d);
    json!({
        "portalUrl": device_portal_url(&data.platform, &d.uid),
        "snmpInfo": {
            "snmpName": d.hostname,
            "snmpContact": null,
            "snmpDescription": d.model,
            "snmpLocation": r.pick(&[None, Some("Front office"), Some("Copy room")]),
            "snmpUptime": format!("{} days", r.range(1, 90)),
            "nicManufacturer": d.manufacturer,
            "objectId": "1.3.6.1.4.1.11.2.3.9.1",
            "snmpSerial": d.serial_number,
        },
        "printerMarkerSupplies": [
            {"description": "Black Toner", "maxCapacity": 100, "suppliesLevel": r.range(0, 100)},
        ],
        "printer": {"printedPageCount": r.range(1_000, 400_000)},
        "systemInfo": {"manufacturer": d.manufacturer, "model": d.model},
        "nics": [{"instance": "Network", "ipv4": d.int_ip_address, "ipv6": null, "macAddress": d.mac_address, "type": "Ethernet"}],
    })
}

/// The software audit of a device of class `device`: a stable, per-device list (`Software`:
/// name and version), empty for a device never audited.
pub fn software(data: &DattoStore, d: &SimDevice) -> Vec<Value> {
    const CATALOGUE: &[(&str, &[&str])] = &[
        ("7-Zip 23.01 (x64)", &["23.01"]),
        ("Adobe Acrobat Reader", &["23.008.20470", "24.001.20604"]),
        ("Datto RMM Agent", &["4.4.2202.2202", "4.4.2230.2230"]),
        ("Google Chrome", &["120.0.6099.130", "121.0.6167.85", "122.0.6261.70"]),
        (
            "Microsoft 365 Apps for business - en-us",
            &["16.0.17126.20132", "16.0.17231.20182"],
        ),
        ("Microsoft Edge", &["120.0.2210.91", "121.0.2277.83"]),
        ("Microsoft Edge WebView2 Runtime", &["121.0.2277.83"]),
        ("Microsoft OneDrive", &["23.246.1127.0002", "24.010.0114.0003"]),
        ("Microsoft Teams", &["1.6.00.33567", "24004.1403.2634.2418"]),
        (
            "Microsoft Visual C++ 2015-2022 Redistributable (x64)",
            &["14.38.33130.0"],
        ),
        (
            "Microsoft Visual C++ 2015-2022 Redistributable (x86)",
            &["14.38.33130.0"],
        ),
        ("Mozilla Firefox (x64 en-US)", &["121.0.1", "122.0"]),
        ("Notepad++ (64-bit x64)", &["8.6.2"]),
        ("Splashtop Streamer", &["3.6.2.0"]),
        ("VLC media player", &["3.0.20"]),
        ("Webroot SecureAnywhere", &["9.0.35.12"]),
        ("Zoom Workplace (64-bit)", &["5.17.5.31030"]),
        ("Dell Command | Update", &["5.1.0"]),
        ("Java 8 Update 391", &["8.0.3910.13"]),
        ("PowerShell 7-x64", &["7.4.1.0"]),
        ("Python 3.12.1 (64-bit)", &["3.12.1150.0"]),
        ("TeamViewer", &["15.49.2"]),
        ("Windows PC Health Check", &["3.7.2204.15001"]),
        ("Cisco Secure Client - AnyConnect VPN", &["5.1.1.42"]),
        ("Sophos Endpoint Agent", &["2023.2.1.7"]),
        ("Veeam Agent for Microsoft Windows", &["6.1.0.349"]),
        ("WinRAR 6.24 (64-bit)", &["6.24.0"]),
        ("Greenshot 1.2.10.6", &["1.2.10.6"]),
        ("KeePass Password Safe 2.56", &["2.56"]),
        ("Microsoft SQL Server 2019 (64-bit)", &["15.0.2000.5"]),
    ];
    if d.last_audit_date.is_none() || d.device_class != DeviceClass::Device {
        return Vec::new();
    }
    let mut r = Rng::derive(data.seed, STREAM_AUDIT ^ 0x50F7 ^ d.id as u64);
    let n = r.range(12, CATALOGUE.len() as i64) as usize;
    let start = r.below(CATALOGUE.len() as u64) as usize;
    let mut list: Vec<(&str, &str)> = (0..n)
        .map(|i| {
            let (name, versions) = CATALOGUE[(start + i) % CATALOGUE.len()];
            (name, *r.pick(versions))
        })
        .collect();
    list.sort_unstable();
    list.into_iter()
        .map(|(name, version)| json!({"name": name, "version": version}))
        .collect()
}

pub fn component(c: &SimComponent) -> Value {
    let variables: Vec<Value> = c
        .variables
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({
                "name": v.name, "defaultVal": v.default_val, "type": v.kind, "direction": false,
                "description": v.description, "variablesIdx": i,
            })
        })
        .collect();
    json!({
        "id": c.id, "uid": c.uid, "name": c.name, "description": c.description,
        "categoryCode": c.category_code, "credentialsRequired": c.credentials_required, "variables": variables,
    })
}

/// `Job`. `dateCreated` is epoch ms (the format is UNCONFIRMED; clients should accept both).
pub fn job(j: &SimJob, completed: bool, iso_dates: bool) -> Value {
    let created = if iso_dates {
        json!(iso_timestamp(j.created_ms))
    } else {
        json!(j.created_ms)
    };
    json!({
        "id": j.id, "uid": j.uid, "name": j.name, "dateCreated": created,
        "status": if completed { "completed" } else { "active" },
    })
}

pub fn job_components(j: &SimJob) -> Value {
    let variables: Vec<Value> = j
        .variables
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    json!([{"uid": j.component_uid, "name": j.component_name, "variables": variables}])
}

pub fn job_results(j: &SimJob, completed: bool, iso_dates: bool) -> Value {
    let ran_on = completed.then(|| j.created_ms + 1_000);
    json!({
        "jobUid": j.uid,
        "deviceUid": j.device_uid,
        "ranOn": if iso_dates { json!(ran_on.map(iso_timestamp)) } else { json!(ran_on) },
        "jobDeploymentStatus": if completed { "Success" } else { "Running" },
        "componentResults": if completed {
            json!([{
                "componentUid": j.component_uid, "componentName": j.component_name, "componentStatus": "Success",
                "numberOfWarnings": 0, "hasStdOut": true, "hasStdErr": false,
            }])
        } else {
            json!([])
        },
    })
}

pub fn job_std(j: &SimJob, completed: bool, stderr: bool) -> Value {
    if !completed {
        return json!([]);
    }
    let text = if stderr {
        String::new()
    } else {
        format!("{} completed successfully.\n", j.component_name)
    };
    json!([{"componentUid": j.component_uid, "componentName": j.component_name, "stdData": text}])
}

/// `yyyy-mm-ddThh:mm:ssZ`.
pub use crate::time::iso_seconds as iso_timestamp;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps() {
        assert_eq!(iso_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_timestamp(1_790_000_000_000), "2026-09-21T14:13:20Z");
    }
}
