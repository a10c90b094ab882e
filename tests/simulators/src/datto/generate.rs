//! The seeded fake data of the Datto RMM simulator (generator).
//!
//! One account with `sites` client sites plus the three system sites ("Managed", "OnDemand",
//! "Deleted Devices"), `devices` devices spread over them with a skewed distribution (a few big
//! clients, many small ones, some empty), open and resolved alerts and a handful of components.
//!
//! Everything is derived from the seed: the account, the site list and the device-to-site
//! assignment come from one main stream, and each device's own fields (and its audit data, see
//! `render.rs`) from a stream derived from `(seed, device id)`. Timestamps are offsets from a
//! reference time (`DattoConfig::reference_time_ms`, by default the start of the current UTC
//! day), so the same `(seed, sites, devices, reference time)` gives byte-identical responses.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::names::{self, Kind, Vendor};
use crate::rng::{DIGITS, Rng};

use super::model::*;

/// Stream ids for [`Rng::derive`]; one per purpose so streams never overlap.
const STREAM_SITE: u64 = 0x5173_0000_0000_0000;
const STREAM_DEVICE: u64 = 0xDE71_0000_0000_0000;
const STREAM_ALERTS: u64 = 0xA1E7;
const STREAM_MUTATIONS: u64 = 0x307A7E;
const STREAM_COMPONENTS: u64 = 0xC0C0;

const CURRENCIES: &[&str] = &["USD", "GBP", "EUR", "AUD"];
const TIME_ZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "Europe/London",
    "Australia/Sydney",
];

/// What the generator needs from the configuration.
#[derive(Debug, Clone)]
pub struct DattoGenParams {
    pub seed: u64,
    pub platform: String,
    pub sites: usize,
    pub devices: usize,
    pub reference_ms: i64,
    pub open_alerts: Option<usize>,
    pub autotask_mapped_ratio: f64,
}

/// Per-site values that devices share (derived from `(seed, site id)`, so new devices added to
/// a site later look like the old ones).
pub(super) struct SiteProfile {
    abbr: String,
    /// `None` = workgroup.
    domain: Option<String>,
    /// What Windows devices report as their domain (the domain or `WORKGROUP`).
    domain_text: Text,
    netbios: String,
    lan: [u8; 3],
    ext_ip: String,
}
fn st(s: &'static str) -> Text {
    Text::from_static(s)
}

fn pick_st(r: &mut Rng, items: &[&'static str]) -> Text {
    let &s = r.pick(items);
    Text::from_static(s)
}

fn weighted_st(r: &mut Rng, items: &[(&'static str, u32)]) -> Text {
    let &s = r.weighted(items);
    Text::from_static(s)
}

impl DattoStore {
    /// Generates the account. Linear in `sites + devices`.
    pub fn generate(p: &DattoGenParams) -> DattoStore {
        let mut rng = Rng::new(p.seed);
        let account = SimAccount {
            id: rng.range(300, 9_000),
            uid: rng.guid(),
            name: format!(
                "{} {}",
                rng.pick(names::PLACES),
                rng.pick(&[
                    "IT Services",
                    "Technology Partners",
                    "Managed IT",
                    "Computer Solutions",
                    "Networks"
                ])
            ),
            currency: pick_st(&mut rng, CURRENCIES),
            billing_email: Some("billing@msp.example".to_string()),
            device_limit: (((p.devices as i64 * 6 / 5) / 100) + 1) * 100,
            time_zone: pick_st(&mut rng, TIME_ZONES),
        };

        let mut data = DattoStore {
            seed: p.seed,
            platform: p.platform.clone(),
            reference_ms: p.reference_ms,
            account,
            sites: Vec::with_capacity(p.sites + 3),
            site_by_uid: HashMap::with_capacity(p.sites + 3),
            devices: Vec::with_capacity(p.devices),
            device_by_uid: HashMap::with_capacity(p.devices),
            site_devices: Vec::with_capacity(p.sites + 3),
            alerts: Vec::new(),
            alert_by_uid: HashMap::new(),
            components: Vec::new(),
            jobs: HashMap::new(),
            rng: Rng::derive(p.seed, STREAM_MUTATIONS),
            next_device_id: 0,
            next_site_id: rng.range(40_000, 140_000),
            next_job_id: rng.range(10_000_000, 20_000_000),
        };

        // System sites first: they exist from the day the account was created.
        let acct_hex = data.account.uid.replace('-', "");
        let system = [
            (MANAGED_SITE, SiteKind::Managed, rng.guid()),
            (ON_DEMAND_SITE, SiteKind::OnDemand, rng.guid()),
            // Its uid is not a GUID in every account; model that.
            (
                DELETED_DEVICES_SITE,
                SiteKind::DeletedDevices,
                format!("{}{:08x}", &acct_hex[..16], rng.next_u64() as u32),
            ),
        ];
        for (name, kind, uid) in system {
            let id = data.take_site_id(&mut rng);
            data.push_site(SimSite {
                id,
                uid,
                name: name.to_string(),
                kind,
                description: None,
                notes: None,
                on_demand: kind == SiteKind::OnDemand,
                splashtop_auto_install: false,
                proxy: None,
                autotask_company_id: None,
                autotask_company_name: None,
            });
        }

        // Client sites with unique names; some clients have several sites (location tags).
        let mut used_names: HashSet<String> = HashSet::with_capacity(p.sites);
        let mut used_company_ids: HashSet<String> = HashSet::new();
        let mut companies: HashMap<String, (String, String)> = HashMap::new();
        for _ in 0..p.sites {
            let (mut name, base) = names::client_name(&mut rng);
            let mut attempt = 0;
            while used_names.contains(&name.to_lowercase()) {
                attempt += 1;
                name = if attempt < 4 {
                    names::client_name(&mut rng).0
                } else {
                    format!("{name} {}", attempt - 2)
                };
            }
            used_names.insert(name.to_lowercase());
            let id = data.take_site_id(&mut rng);
            let uid = rng.guid();
            let (autotask_company_id, autotask_company_name) = if rng.chance(p.autotask_mapped_ratio) {
                match companies.get(&base) {
                    Some((cid, cname)) if rng.chance(0.7) => (Some(cid.clone()), Some(cname.clone())),
                    _ => {
                        let mut cid = rng.range(100, 9_999_999).to_string();
                        while !used_company_ids.insert(cid.clone()) {
                            cid = rng.range(100, 9_999_999).to_string();
                        }
                        let cname = names::company_name_variant(&mut rng, &base);
                        companies.entry(base.clone()).or_insert((cid.clone(), cname.clone()));
                        (Some(cid), Some(cname))
                    }
                }
            } else {
                (None, None)
            };
            let description = rng.chance(0.25).then(|| rng.pick(names::SITE_DESCRIPTIONS).to_string());
            let notes = rng.chance(0.05).then(|| {
                format!(
                    "Contact: {} {}",
                    rng.pick(names::FIRST_NAMES),
                    rng.pick(names::SURNAMES)
                )
            });
            let proxy = rng.chance(0.02).then(|| SimProxy {
                host: format!("proxy.{}.example", names::abbreviation(&name).to_lowercase()),
                port: 3128,
                kind: ProxyKind::Http,
                username: None,
                password: None,
            });
            let splashtop_auto_install = rng.chance(0.5);
            data.push_site(SimSite {
                id,
                uid,
                name,
                kind: SiteKind::Client,
                description,
                notes,
                on_demand: false,
                splashtop_auto_install,
                proxy,
                autotask_company_id,
                autotask_company_name,
            });
        }

        // How many devices go where.
        let n_deleted = p.devices / 150;
        let n_on_demand = p.devices / 400;
        let n_managed = if p.sites == 0 {
            p.devices - n_deleted - n_on_demand
        } else {
            p.devices / 800
        };
        let n_client = p.devices - n_deleted - n_on_demand - n_managed;
        let client_counts = allocate(&mut rng, p.sites, n_client);
        let mut assignment: Vec<u32> = Vec::with_capacity(p.devices);
        assignment.extend(std::iter::repeat_n(0u32, n_managed));
        assignment.extend(std::iter::repeat_n(1u32, n_on_demand));
        assignment.extend(std::iter::repeat_n(2u32, n_deleted));
        for (i, &c) in client_counts.iter().enumerate() {
            assignment.extend(std::iter::repeat_n(3 + i as u32, c));
        }
        // Device ids are chronological across sites, so interleave.
        rng.shuffle(&mut assignment);

        let profiles: Vec<SiteProfile> = data.sites.iter().map(|s| site_profile(p.seed, s)).collect();
        let mut id = rng.range(1_000_000, 3_000_000);
        for &site_idx in &assignment {
            let site_idx = site_idx as usize;
            let site = &data.sites[site_idx];
            let device = match site.kind {
                SiteKind::DeletedDevices => {
                    // A device of some client that was deleted: looks like theirs, lives here.
                    let donor = if p.sites > 0 {
                        3 + (id as usize * 7919) % p.sites
                    } else {
                        0
                    };
                    let mut d = gen_device(p.seed, id, site, &profiles[donor], p.reference_ms);
                    mark_deleted(&mut d, p.reference_ms);
                    d
                }
                _ => gen_device(p.seed, id, site, &profiles[site_idx], p.reference_ms),
            };
            data.push_device(device, site_idx);
            id += rng.range(1, 3);
        }
        data.next_device_id = id;

        data.components = components(p.seed);
        data.generate_alerts(p);
        data
    }

    fn generate_alerts(&mut self, p: &DattoGenParams) {
        let mut rng = Rng::derive(p.seed, STREAM_ALERTS);
        if self.devices.is_empty() {
            return;
        }
        let open = p.open_alerts.unwrap_or(p.devices / 12);
        let resolved = open / 3;
        let mut alerts = Vec::with_capacity(open + resolved);
        for i in 0..open + resolved {
            let dev = &self.devices[rng.index(self.devices.len())];
            if dev.deleted {
                continue;
            }
            let timestamp = p.reference_ms - rng.range(5 * MINUTE_MS, 30 * DAY_MS);
            let mut alert = make_alert(&mut rng, dev, timestamp, None);
            if i >= open {
                alert.resolved = true;
                alert.resolved_on = Some((timestamp + rng.range(5 * MINUTE_MS, 2 * DAY_MS)).min(p.reference_ms));
                alert.resolved_by = Some(if rng.chance(0.6) {
                    "Autoresolved".to_string()
                } else {
                    format!(
                        "{}.{}@msp.example",
                        rng.pick(names::FIRST_NAMES),
                        rng.pick(names::SURNAMES)
                    )
                    .to_lowercase()
                });
            }
            alerts.push(alert);
        }
        alerts.sort_by_key(|a| a.timestamp);
        for a in alerts {
            self.alert_by_uid.insert(a.uid.clone(), self.alerts.len() as u32);
            self.alerts.push(a);
        }
    }
}

/// Splits `n` devices over `sites` sites: ~3 % empty, most small, a few big (integer maths
/// only, so the result is the same everywhere).
fn allocate(rng: &mut Rng, sites: usize, n: usize) -> Vec<usize> {
    if sites == 0 {
        return Vec::new();
    }
    let mut weights: Vec<u64> = (0..sites)
        .map(|_| match rng.below(100) {
            0..=2 => 0,
            3..=82 => rng.range(1, 10) as u64,
            83..=96 => rng.range(10, 60) as u64,
            _ => rng.range(60, 400) as u64,
        })
        .collect();
    if weights.iter().all(|&w| w == 0) {
        weights[0] = 1;
    }
    let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    let mut counts: Vec<usize> = Vec::with_capacity(sites);
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(sites);
    for (i, &w) in weights.iter().enumerate() {
        let exact = n as u128 * u128::from(w);
        counts.push((exact / total) as usize);
        remainders.push((exact % total, i));
    }
    let assigned: usize = counts.iter().sum();
    // Largest remainder first; ties broken by index (stable sort).
    remainders.sort_by_key(|r| std::cmp::Reverse(r.0));
    for &(_, i) in remainders.iter().take(n - assigned) {
        counts[i] += 1;
    }
    counts
}

pub(super) fn site_profile(seed: u64, site: &SimSite) -> SiteProfile {
    let mut r = Rng::derive(seed, STREAM_SITE ^ site.id as u64);
    let abbr = names::abbreviation(&site.name);
    let compact: String = site
        .name
        .split(" - ")
        .next()
        .unwrap_or(&site.name)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let compact = if compact.len() > 15 {
        compact[..15].to_string()
    } else {
        compact
    };
    let domain = match r.below(10) {
        0..=2 => None,
        3..=6 => Some(format!("{}.local", compact)),
        7..=8 => Some(format!("{}.local", abbr.to_lowercase())),
        _ => Some(format!("corp.{}.com", compact)),
    };
    let netbios = match &domain {
        Some(d) => d
            .split('.')
            .find(|p| *p != "corp")
            .unwrap_or("CORP")
            .to_uppercase()
            .chars()
            .take(15)
            .collect(),
        None => "WORKGROUP".to_string(),
    };
    let lan = match r.below(10) {
        0..=5 => [192, 168, r.below(255) as u8],
        6..=8 => [10, r.below(256) as u8, r.below(256) as u8],
        _ => [172, 16 + r.below(16) as u8, r.below(256) as u8],
    };
    SiteProfile {
        abbr,
        domain_text: Text::from(domain.as_deref().unwrap_or("WORKGROUP")),
        domain,
        netbios,
        lan,
        ext_ip: public_ip(&mut r),
    }
}

fn public_ip(r: &mut Rng) -> String {
    let first = *r.pick(&[
        23u8, 38, 50, 64, 68, 71, 73, 74, 76, 81, 86, 96, 98, 104, 107, 108, 151, 173, 174, 184, 203, 209, 212,
    ]);
    format!("{first}.{}.{}.{}", r.below(256), r.below(256), 1 + r.below(254))
}

/// `(category, type, deviceClass, operatingSystem, (manufacturer, model, serial style))`.
type KindSpec = (
    Option<&'static str>,
    Option<&'static str>,
    DeviceClass,
    Option<&'static str>,
    (Text, Text, names::SerialStyle),
);

const AGENT_VERSIONS: &[(&str, &str)] = &[
    ("4.4.2287.2287", "4.4.2287"),
    ("4.4.2280.2280", "4.4.2280"),
    ("4.4.2255.2255", "4.4.2255"),
    ("4.3.2108.2108", "4.3.2108"),
];

fn vendor(r: &mut Rng, table: &[(Vendor, u32)]) -> Vendor {
    *r.weighted(table)
}

/// One device, from `(seed, id)` and its site.
pub(super) fn gen_device(seed: u64, id: i64, site: &SimSite, profile: &SiteProfile, reference_ms: i64) -> SimDevice {
    let mut r = Rng::derive(seed, STREAM_DEVICE ^ id as u64);
    let uid = r.guid();
    let kind = if site.kind == SiteKind::OnDemand {
        *r.pick(&[Kind::Desktop, Kind::Laptop])
    } else {
        *r.weighted(names::KIND_WEIGHTS)
    };
    let mac_os = match kind {
        Kind::Desktop => r.chance(0.06),
        Kind::Laptop => r.chance(0.10),
        _ => false,
    };
    let agent = matches!(kind, Kind::Desktop | Kind::Laptop | Kind::Server);
    let windows = agent && !mac_os;

    // Type, class, OS, hardware.
    let mut network_type = "Switch";
    let (category, device_type, class, os, hw): KindSpec = match kind {
        Kind::Desktop => {
            let v = if mac_os {
                names::APPLE_DESKTOP
            } else {
                vendor(&mut r, names::DESKTOP_VENDORS)
            };
            let os = if mac_os {
                *r.weighted(names::MAC_OS)
            } else {
                *r.weighted(names::WINDOWS_WORKSTATION_OS)
            };
            (
                Some("Desktop"),
                Some("Desktop"),
                DeviceClass::Device,
                Some(os),
                (st(v.manufacturer), pick_st(&mut r, v.models), v.serial),
            )
        }
        Kind::Laptop => {
            let v = if mac_os {
                names::APPLE_LAPTOP
            } else {
                vendor(&mut r, names::LAPTOP_VENDORS)
            };
            let os = if mac_os {
                *r.weighted(names::MAC_OS)
            } else {
                *r.weighted(names::WINDOWS_WORKSTATION_OS)
            };
            (
                Some("Laptop"),
                Some("Laptop"),
                DeviceClass::Device,
                Some(os),
                (st(v.manufacturer), pick_st(&mut r, v.models), v.serial),
            )
        }
        Kind::Server => {
            let v = vendor(&mut r, names::SERVER_VENDORS);
            let os = *r.weighted(names::SERVER_OS);
            (
                Some("Server"),
                Some("Server"),
                DeviceClass::Device,
                Some(os),
                (st(v.manufacturer), pick_st(&mut r, v.models), v.serial),
            )
        }
        Kind::Esxi => {
            let v = vendor(&mut r, names::ESXI_VENDORS);
            let os = *r.weighted(names::ESXI_OS);
            (
                Some("ESXi Host"),
                Some("VMware ESXi"),
                DeviceClass::EsxiHost,
                Some(os),
                (st(v.manufacturer), pick_st(&mut r, v.models), v.serial),
            )
        }
        Kind::Printer => {
            let v = vendor(&mut r, names::PRINTER_VENDORS);
            (
                Some("Printer"),
                Some("Printer"),
                DeviceClass::Printer,
                None,
                (st(v.manufacturer), pick_st(&mut r, v.models), v.serial),
            )
        }
        Kind::Network => {
            let &(ty, manufacturer, model) = r.weighted(names::NETWORK_MODELS);
            network_type = ty;
            (
                Some("Network Device"),
                Some(ty),
                DeviceClass::NetworkDevice,
                None,
                (st(manufacturer), st(model), names::SerialStyle::Generic),
            )
        }
        Kind::Other => {
            let v = vendor(&mut r, names::OTHER_VENDORS);
            let (cat, ty, os) = *r.pick(&[
                (Some("Mobile Device"), Some("Tablet"), Some("iPadOS 17.5")),
                (Some("IoT Device"), Some("Camera"), None),
                (Some("Unknown"), None, None),
            ]);
            (
                cat,
                ty,
                DeviceClass::Unknown,
                os,
                (st(v.manufacturer), pick_st(&mut r, v.models), v.serial),
            )
        }
    };
    let hostname = match kind {
        Kind::Network => names::network_hostname(&mut r, &profile.abbr, network_type),
        _ => names::hostname(
            &mut r,
            kind,
            &profile.abbr,
            profile.domain.as_deref().unwrap_or("local"),
            mac_os,
        ),
    };
    let (manufacturer, model, serial_style) = hw;
    let is_vm = matches!(serial_style, names::SerialStyle::Vmware | names::SerialStyle::HyperV);
    let serial_number = if manufacturer.starts_with("To Be Filled") || r.chance(0.004) {
        Some(r.pick(names::JUNK_SERIALS).to_string())
    } else {
        Some(names::serial_number(&mut r, serial_style))
    };

    // Network identity.
    let int_ip_address = (!r.chance(0.02)).then(|| {
        let [a, b, c] = profile.lan;
        format!("{a}.{b}.{c}.{}", 10 + r.below(240))
    });
    let ext_ip_address = if r.chance(0.03) {
        None
    } else if kind == Kind::Laptop && r.chance(0.25) {
        Some(public_ip(&mut r))
    } else {
        Some(profile.ext_ip.clone())
    };
    let mac_address = (kind != Kind::Other || r.chance(0.5)).then(|| {
        let oui = *r.pick(&[
            [0x00u8, 0x50, 0x56],
            [0xD4, 0x81, 0xD7],
            [0x3C, 0x52, 0x82],
            [0x98, 0xE7, 0x43],
            [0xF8, 0xB4, 0x6A],
            [0x00, 0x1B, 0x21],
            [0xAC, 0x1F, 0x6B],
        ]);
        format!(
            "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
            oui[0],
            oui[1],
            oui[2],
            r.below(256),
            r.below(256),
            r.below(256)
        )
    });

    // People and domain.
    let first = *r.pick(names::FIRST_NAMES);
    let last = r.pick(names::SURNAMES).replace('\'', "");
    let last_logged_in_user = match kind {
        Kind::Desktop | Kind::Laptop if mac_os => Some(first.to_lowercase()),
        Kind::Desktop | Kind::Laptop => Some(match &profile.domain {
            Some(_) => format!("{}\\{}.{}", profile.netbios, first.to_lowercase(), last.to_lowercase()),
            None => format!("{}\\{}", hostname.to_uppercase(), first),
        }),
        Kind::Server => {
            // Workgroup machines log on with local accounts.
            let scope = if profile.domain.is_some() {
                profile.netbios.clone()
            } else {
                hostname.to_uppercase()
            };
            Some(match r.below(3) {
                0 => format!("{scope}\\Administrator"),
                1 => format!("{scope}\\svc-backup"),
                _ => format!("{scope}\\{}.admin", first.to_lowercase()),
            })
        }
        _ => None,
    }
    .filter(|_| !r.chance(0.03));
    let domain = if windows { Some(profile.domain_text) } else { None };

    // Agent and state.
    let (cag_version, display_version) = if agent {
        let &(c, d) = r.pick(AGENT_VERSIONS);
        (Some(st(c)), Some(st(d)))
    } else {
        (None, None)
    };
    let online = r.chance(match kind {
        Kind::Desktop => 0.75,
        Kind::Laptop => 0.6,
        Kind::Server => 0.96,
        Kind::Esxi => 0.97,
        Kind::Printer => 0.88,
        Kind::Network => 0.93,
        Kind::Other => 0.5,
    });
    let last_seen = if online {
        Some(reference_ms - r.range(0, 5 * MINUTE_MS))
    } else if r.chance(0.003) {
        None
    } else {
        Some(
            reference_ms
                - match r.below(10) {
                    0..=3 => r.range(HOUR_MS, DAY_MS),
                    4..=6 => r.range(DAY_MS, 7 * DAY_MS),
                    7..=8 => r.range(7 * DAY_MS, 60 * DAY_MS),
                    _ => r.range(60 * DAY_MS, 400 * DAY_MS),
                },
        )
    };
    let seen = last_seen.unwrap_or(reference_ms - 30 * DAY_MS);
    let created = (reference_ms - r.range(DAY_MS, 6 * 365 * DAY_MS)).min(seen);
    let last_reboot = (agent || kind == Kind::Esxi).then(|| (seen - r.range(HOUR_MS, 45 * DAY_MS)).max(created));
    let last_audit_date =
        (kind != Kind::Other && !r.chance(0.02)).then(|| (seen - r.range(0, 7 * DAY_MS)).max(created));

    // UDFs: mostly empty; some hold data an MSP would rather not leak.
    let mut udf = Udfs::new();
    if kind != Kind::Other && r.chance(0.25) {
        udf.insert(1, format!("AT-{:06}", r.below(1_000_000)));
    }
    if agent && r.chance(0.15) {
        udf.insert(2, format!("Contract: {}", r.pick(&["Gold", "Silver", "Bronze"])));
    }
    if windows && kind != Kind::Server && r.chance(0.04) {
        let groups: Vec<String> = (0..8).map(|_| format!("{:06}", r.below(1_000_000))).collect();
        udf.insert(5, format!("BitLocker: {}", groups.join("-")));
    }
    if agent && r.chance(0.02) {
        udf.insert(
            7,
            format!(
                "LocalAdmin: admin / {}{}!",
                r.pick(names::SURNAMES).replace('\'', ""),
                r.chars(DIGITS, 4)
            ),
        );
    }
    if kind == Kind::Server && r.chance(0.2) {
        udf.insert(10, "Backup: Datto BCDR".to_string());
    }
    if r.chance(0.01) {
        udf.insert(30, format!("Ticket {}", r.chars(DIGITS, 6)));
    }

    let warranty_date = (!is_vm
        && matches!(
            kind,
            Kind::Desktop | Kind::Laptop | Kind::Server | Kind::Esxi | Kind::Printer
        )
        && r.chance(0.45))
    .then(|| date_string(reference_ms + r.range(-2 * 365 * DAY_MS, 4 * 365 * DAY_MS)));

    let (antivirus_product, antivirus_status) = if windows {
        let p = *r.weighted(names::ANTIVIRUS);
        let s = if p.is_none() {
            "NotDetected"
        } else {
            *r.weighted(names::AV_STATUS)
        };
        (p.map(st), Some(st(s)))
    } else if mac_os {
        (Some(st("Datto AV")), Some(st("RunningAndUpToDate")))
    } else {
        (None, None)
    };
    let (patch_status, pending, not_approved, installed) = if windows {
        (
            Some(weighted_st(&mut r, names::PATCH_STATUS)),
            Some(r.range(0, 20) as i32),
            Some(r.range(0, 15) as i32),
            Some(r.range(40, 400) as i32),
        )
    } else {
        (None, None, None, None)
    };
    let description = r.chance(0.05).then(|| r.pick(names::DEVICE_DESCRIPTIONS).to_string());

    SimDevice {
        id,
        uid,
        site_uid: Text::from(site.uid.as_str()),
        category: category.map(st),
        device_type: device_type.map(st),
        hostname,
        int_ip_address,
        ext_ip_address,
        operating_system: os.map(st),
        last_logged_in_user,
        domain,
        description,
        cag_version,
        display_version,
        a64_bit: (agent || kind == Kind::Esxi).then(|| !r.chance(0.03)),
        reboot_required: agent.then(|| r.chance(0.12)),
        online,
        suspended: r.chance(0.01),
        deleted: false,
        last_seen,
        last_reboot,
        last_audit_date,
        creation_date: Some(created),
        udf,
        snmp_enabled: matches!(kind, Kind::Printer | Kind::Network),
        device_class: class,
        warranty_date,
        antivirus_product,
        antivirus_status,
        patch_status,
        patches_approved_pending: pending,
        patches_not_approved: not_approved,
        patches_installed: installed,
        manufacturer: Some(manufacturer),
        model: Some(model),
        serial_number,
        mac_address,
    }
}

const PRIORITIES: &[(AlertPriority, u32)] = &[
    (AlertPriority::Critical, 10),
    (AlertPriority::High, 25),
    (AlertPriority::Moderate, 30),
    (AlertPriority::Low, 20),
    (AlertPriority::Information, 15),
];

/// An open alert on `dev`. `monitor` (from `raise_alert`) is either an `@class` value
/// (`"..._ctx"`) or a free monitor name, which becomes a component-script alert.
const ALERT_CLASSES_DEVICE: &[&str] = &[
    "perf_resource_usage_ctx",
    "disk_usage_ctx",
    "eventlog_ctx",
    "patch_ctx",
    "antivirus_ctx",
    "comp_script_ctx",
    "srvc_status_ctx",
    "online_offline_status_ctx",
];

/// An open alert on `dev`. `monitor` (from `raise_alert`) is either an `@class` value
/// (`"..._ctx"`) or a free monitor name; `None` picks a class that suits the device.
pub(super) fn make_alert(r: &mut Rng, dev: &SimDevice, timestamp: i64, monitor: Option<&str>) -> SimAlert {
    let uid = r.guid();
    let priority = *r.weighted(PRIORITIES);
    let monitor: Text = match monitor {
        Some(m) => Text::from(m),
        None => {
            let options: &[&'static str] = match dev.device_class {
                DeviceClass::Printer => &["printer_ctx", "online_offline_status_ctx", "snmp_probe_ctx"],
                DeviceClass::NetworkDevice => &["ping_ctx", "online_offline_status_ctx", "network_monitor_ctx"],
                DeviceClass::EsxiHost => &["online_offline_status_ctx", "disk_usage_ctx", "perf_resource_usage_ctx"],
                _ if !dev.online => &["online_offline_status_ctx"],
                _ => ALERT_CLASSES_DEVICE,
            };
            pick_st(r, options)
        }
    };
    let creates_ticket = r.chance(0.3);
    SimAlert {
        uid,
        device_uid: dev.uid.clone(),
        priority,
        monitor,
        detail_seed: r.next_u64(),
        resolved: false,
        resolved_by: None,
        resolved_on: None,
        muted: false,
        ticket_number: creates_ticket
            .then(|| format!("T{}.{:04}", date_string(timestamp).replace('-', ""), r.range(1, 200))),
        timestamp,
        sends_emails: r.chance(0.5),
        creates_ticket,
        autoresolve_mins: r.chance(0.5).then(|| *r.pick(&[15, 60, 240, 1440])),
    }
}

/// `(alertContext, diagnostics)` of an alert: open JSON with `"@class"` first, like Jackson
/// writes it. `dev` is `None` if the device was purged since.
pub(crate) fn alert_details(a: &SimAlert, dev: Option<&SimDevice>) -> (Value, String) {
    let mut r = Rng::new(a.detail_seed);
    let r = &mut r;
    let h = dev.map_or("the device", |d| d.hostname.as_str());
    let class = a.monitor.as_str();
    let (class, ctx, diag) = match class {
        "online_offline_status_ctx" => (
            class,
            json!({"status": "OFFLINE"}),
            format!("{h} has been offline for more than 15 minutes"),
        ),
        "perf_resource_usage_ctx" => {
            let sample = 85.0 + r.below(150) as f64 / 10.0;
            let ty = *r.pick(&["CPU", "MEMORY"]);
            (
                class,
                json!({"processName": null, "sample": sample, "type": ty}),
                format!("{ty} usage {sample:.1}% exceeded 85% for 15 minutes"),
            )
        }
        "disk_usage_ctx" => {
            let total = *r.pick(&[237.0, 476.0, 931.0, 1862.0]);
            let free = total * (r.below(90) as f64 + 5.0) / 1000.0;
            (
                class,
                json!({"diskName": "C:", "totalVolume": total, "freeSpace": free, "unitOfMeasure": "PERCENT", "diskNameDesignation": "C:"}),
                format!("Disk C: free space below 10% ({free:.1} GB free of {total} GB)"),
            )
        }
        "eventlog_ctx" => (
            class,
            json!({"logName": "System", "code": "7031", "type": "Error", "source": "Service Control Manager", "description": "The service terminated unexpectedly.", "triggerCount": r.range(1, 12), "lastTriggered": null, "causedSuspension": false}),
            "Event ID 7031 from Service Control Manager".to_string(),
        ),
        "patch_ctx" => (
            class,
            json!({"patchUid": null, "policyUid": null, "result": "Failed", "info": "2 patches failed to install"}),
            "Patch installation failed".to_string(),
        ),
        "antivirus_ctx" => (
            class,
            json!({"status": "NotRunning", "productName": dev.and_then(|d| d.antivirus_product.as_deref())}),
            "Antivirus is not running".to_string(),
        ),
        "srvc_status_ctx" => {
            let svc = *r.pick(&["Spooler", "MSSQLSERVER", "W32Time", "CagService"]);
            (
                class,
                json!({"serviceName": svc, "status": "STOPPED"}),
                format!("Service {svc} is stopped"),
            )
        }
        "printer_ctx" => (
            class,
            json!({"markerSupplyIndex": 1, "currentLevel": r.range(1, 9), "description": "Black Toner"}),
            "Toner level low".to_string(),
        ),
        "ping_ctx" => (
            class,
            json!({"instanceName": h, "roundtripTime": null, "reasons": ["TIMEOUT"]}),
            format!("{h} is not responding to ping"),
        ),
        "comp_script_ctx" => (
            class,
            json!({"samples": {"Result": "Failed", "Detail": "Backup job did not complete"}}),
            "Backup job did not complete in the last 24 hours".to_string(),
        ),
        other if other.ends_with("_ctx") => (other, json!({}), format!("{other} alert on {h}")),
        monitor => (
            "comp_script_ctx",
            json!({"samples": {"Monitor": monitor, "Result": "Failed"}}),
            format!("{monitor}: threshold breached on {h}"),
        ),
    };
    let mut ordered = serde_json::Map::new();
    ordered.insert("@class".to_string(), Value::String(class.to_string()));
    if let Value::Object(fields) = ctx {
        ordered.extend(fields);
    }
    (Value::Object(ordered), diag)
}

fn components(seed: u64) -> Vec<SimComponent> {
    let mut r = Rng::derive(seed, STREAM_COMPONENTS);
    let var = |name: &'static str, default_val: &'static str, kind: VariableKind, description: &'static str| {
        SimComponentVariable {
            name: st(name),
            default_val: st(default_val),
            kind,
            description: st(description),
        }
    };
    let mut id = r.range(100_000, 900_000);
    let mut next = |r: &mut Rng| {
        id += r.range(1, 50);
        (id, r.guid())
    };
    let mut list = Vec::new();
    let specs: Vec<(
        &'static str,
        &'static str,
        &'static str,
        bool,
        Vec<SimComponentVariable>,
    )> = vec![
        (
            "Restart Print Spooler",
            "Restarts the Windows print spooler service.",
            "scripts",
            false,
            vec![],
        ),
        (
            "Run Disk Cleanup",
            "Cleans temporary files on a drive.",
            "scripts",
            false,
            vec![var("drive", "C:", VariableKind::String, "Drive letter to clean")],
        ),
        (
            "Set Asset Tag",
            "Writes an asset tag into a user-defined field.",
            "scripts",
            false,
            vec![
                var("assetTag", "", VariableKind::String, "Asset tag"),
                var("udfNumber", "1", VariableKind::String, "UDF to write"),
            ],
        ),
        (
            "Collect BitLocker Status",
            "Reports BitLocker protection status.",
            "scripts",
            true,
            vec![var(
                "includeRecoveryKey",
                "false",
                VariableKind::Boolean,
                "Also report the recovery key",
            )],
        ),
        (
            "Reboot Device",
            "Reboots the device after a warning.",
            "scripts",
            false,
            vec![var("delayMinutes", "5", VariableKind::String, "Delay")],
        ),
    ];
    for (name, description, category_code, credentials_required, variables) in specs {
        let (id, uid) = next(&mut r);
        list.push(SimComponent {
            id,
            uid,
            name: st(name),
            description: st(description),
            category_code: st(category_code),
            credentials_required,
            variables,
        });
    }
    list
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn params(sites: usize, devices: usize) -> DattoGenParams {
        DattoGenParams {
            seed: 42,
            platform: "merlot".into(),
            sites,
            devices,
            reference_ms: 1_790_000_000_000,
            open_alerts: None,
            autotask_mapped_ratio: 0.6,
        }
    }

    #[test]
    fn date_strings() {
        assert_eq!(date_string(0), "1970-01-01");
        assert_eq!(date_string(951_782_400_000), "2000-02-29");
        assert_eq!(date_string(1_790_000_000_000), "2026-09-21");
    }

    #[test]
    fn allocation_is_exact_and_skewed() {
        let mut r = Rng::new(1);
        let counts = allocate(&mut r, 5000, 100_000);
        assert_eq!(counts.iter().sum::<usize>(), 100_000);
        let max = *counts.iter().max().unwrap();
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        assert!(max > 20 * median.max(1), "max {max} median {median}");
        assert!(counts.contains(&0));
        assert_eq!(allocate(&mut r, 3, 0), vec![0, 0, 0]);
    }

    #[test]
    fn generation_is_deterministic_and_consistent() {
        let a = DattoStore::generate(&params(30, 600));
        let b = DattoStore::generate(&params(30, 600));
        assert_eq!(a.devices.len(), 600);
        assert_eq!(a.sites.len(), 33);
        let ua: Vec<_> = a
            .devices
            .iter()
            .map(|d| (&d.uid, &d.hostname, &d.site_uid, d.last_seen))
            .collect();
        let ub: Vec<_> = b
            .devices
            .iter()
            .map(|d| (&d.uid, &d.hostname, &d.site_uid, d.last_seen))
            .collect();
        assert_eq!(ua, ub);
        let names: HashSet<_> = a.sites.iter().map(|s| s.name.to_lowercase()).collect();
        assert_eq!(names.len(), a.sites.len(), "site names unique");
        let per_site: usize = (0..a.sites.len()).map(|i| a.site_device_indexes(i).len()).sum();
        assert_eq!(per_site, 600);
        for (i, s) in a.sites.iter().enumerate() {
            for &d in a.site_device_indexes(i) {
                assert_eq!(a.devices[d as usize].site_uid, s.uid);
            }
        }
        let deleted = a.deleted_devices_site().unwrap();
        assert!(
            a.site_device_indexes(deleted)
                .iter()
                .all(|&d| a.devices[d as usize].deleted)
        );
        let mut c = params(30, 600);
        c.seed = 43;
        assert_ne!(DattoStore::generate(&c).devices[0].uid, a.devices[0].uid);
    }

    #[test]
    fn mutations_keep_indexes_consistent() {
        let mut d = DattoStore::generate(&params(5, 50));
        let site = d.sites[3].uid.clone();
        let other = d.sites[4].uid.clone();
        let new = d.add_devices(&site, 3).unwrap();
        assert_eq!(d.devices.len(), 53);
        d.move_device(&new[0], &other).unwrap();
        assert_eq!(d.device(&new[0]).unwrap().site_uid, other);
        d.change_device(&new[1], |x| x.uid = "renamed".into()).unwrap();
        assert!(d.device("renamed").is_some());
        d.change_device("renamed", |x| x.site_uid = Text::from(&other)).unwrap();
        assert!(
            d.site_device_indexes(4)
                .iter()
                .any(|&i| d.devices[i as usize].uid == "renamed")
        );
        assert_eq!(
            d.change_device("renamed", |x| x.site_uid = "nope".into()),
            Err(DataError::UnknownSite("nope".into()))
        );
        d.delete_device(&new[2]).unwrap();
        let dev = d.device(&new[2]).unwrap();
        assert!(dev.deleted && !dev.online);
        assert_eq!(d.site_of(dev).unwrap().name, DELETED_DEVICES_SITE);
        d.purge_device(&new[2]).unwrap();
        assert!(d.device(&new[2]).is_none());
        let total: usize = (0..d.sites.len()).map(|i| d.site_device_indexes(i).len()).sum();
        assert_eq!(total, d.devices.len());
        let alert = d.raise_alert("renamed", "High", "Backup check").unwrap();
        assert!(d.resolve_alert(&alert, "API").unwrap());
        assert!(!d.resolve_alert(&alert, "API").unwrap());
    }

    #[test]
    fn large_generation_is_fast() {
        let start = Instant::now();
        let d = DattoStore::generate(&params(5000, 100_000));
        let took = start.elapsed();
        assert_eq!(d.devices.len(), 100_000);
        assert_eq!(d.sites.len(), 5003);
        eprintln!("generated 5,000 sites / 100,000 devices in {took:?}");
        // Generous: this runs unoptimised in `cargo test`.
        assert!(took.as_secs() < 20);
    }
}
