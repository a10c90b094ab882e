//! Pure: which PSA configuration item each Datto RMM device is, or that it
//! needs a new one. No I/O; the flow hands in what sync and the PSA hold.
//!
//! Per device of a mapped site, only among the configurations of the PSA
//! company its site is mapped to, the first rule that decides wins:
//!
//! 1. **Existing link**: a configuration already carries the device's Datto
//!    uid (Autotask `rmmDeviceUID`, ConnectWise `deviceIdentifier`). A link
//!    to a configuration of another company than the device's site now has
//!    does not count: the device is [`Proposal::Moved`] and is matched
//!    afresh in its new company.
//! 2. **Serial number**, compared ignoring case and spaces; junk serials
//!    ([`usable_serial`]) are no serial at all. Configurations with another
//!    usable serial are a different machine and drop out; ones without a
//!    serial stay in the running for the next rules.
//! 3. **Name** against the hostname (ignoring case, spaces and a domain suffix).
//! 4. **Manufacturer**, then 5. **model**, each narrowing what is left.
//!
//! A rule decides when exactly one candidate agrees with it. More than one
//! candidate left after the last rule, or none, is no match: the proposal
//! is a new configuration named after the device. A device not yet audited
//! (its serial unknown) waits. A configuration goes to at most one device:
//! when several devices land on one configuration, the strongest rule keeps
//! it and the others fall back to new; a tie at the same strength leaves
//! all of them [`Proposal::Ambiguous`].

use std::collections::{HashMap, HashSet};

/// A device as the plan needs it (from sync's `DEVICE#` items and the site mapping).
#[derive(Debug, Clone, Default)]
pub struct DeviceFacts {
    pub uid: String,
    pub hostname: String,
    /// The PSA company id of the portal company the device's site is mapped to.
    pub company: Option<String>,
    /// `None`: not audited yet. `Some("")` or a junk value: audited, no usable serial.
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
}

/// A PSA configuration item as the plan needs it.
#[derive(Debug, Clone, Default)]
pub struct ConfigFacts {
    /// The PSA's id of the configuration.
    pub id: String,
    /// The PSA company it belongs to.
    pub company: String,
    pub name: String,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    /// The Datto device uid the configuration carries, if any.
    pub device_uid: Option<String>,
}

/// The rule that matched, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Rule {
    ExistingLink,
    Serial,
    Name,
    Manufacturer,
    Model,
}

/// What the plan proposes for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal {
    /// Already linked to this configuration (rule: existing link).
    Linked { config: String },
    /// This existing configuration, found by `rule`.
    Match { config: String, rule: Rule },
    /// No configuration is this device: create one named after it.
    New { name: String },
    /// Several configurations (or devices) fit equally: nothing is decided.
    Ambiguous { candidates: Vec<String> },
    /// Not audited yet (serial unknown): waits for the next sync.
    WaitingForAudit,
    /// The device's site is not mapped to a company with a PSA id.
    SiteNotMapped,
}

/// A device's proposal, and the configuration of another company it was linked to, if it moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePlan {
    pub device: String,
    pub proposal: Proposal,
    pub moved_from: Option<String>,
}

/// Serials that say nothing: BIOS placeholders, all-one-character strings,
/// and the like (recognised without case, spaces or punctuation).
pub fn usable_serial(raw: &str) -> Option<String> {
    const PLACEHOLDERS: &[&str] = &[
        "tobefilledbyoem",
        "systemserialnumber",
        "defaultstring",
        "chassisserialnumber",
        "serialnumber",
        "none",
        "null",
        "na",
        "notapplicable",
        "notspecified",
        "unknown",
        "invalid",
        "oem",
        "0123456789",
        "123456789",
        "1234567890",
        "12345678",
    ];
    let s = squash(raw);
    // Placeholders are recognised without their punctuation ("O.E.M.", "N/A").
    let bare: String = s.chars().filter(|c| c.is_alphanumeric()).collect();
    let all_same = bare.chars().next().is_some_and(|c| bare.chars().all(|d| d == c));
    if bare.is_empty() || all_same || PLACEHOLDERS.contains(&bare.as_str()) {
        None
    } else {
        Some(s)
    }
}

/// Lowercase with every whitespace character removed.
pub fn squash(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A host or configuration name as compared: squashed, without a domain suffix.
pub fn host_key(raw: &str) -> String {
    let s = squash(raw);
    match s.split_once('.') {
        Some((host, _)) if !host.is_empty() => host.to_owned(),
        _ => s,
    }
}

fn opt_key(v: &Option<String>) -> Option<String> {
    v.as_deref().map(squash).filter(|s| !s.is_empty())
}

/// A configuration with its comparison keys worked out once.
struct Candidate<'a> {
    config: &'a ConfigFacts,
    serial: Option<String>,
    name: String,
    manufacturer: Option<String>,
    model: Option<String>,
}

impl Candidate<'_> {
    fn key(&self, rule: Rule) -> Option<&str> {
        match rule {
            Rule::Serial => self.serial.as_deref(),
            Rule::Name => Some(self.name.as_str()),
            Rule::Manufacturer => self.manufacturer.as_deref(),
            Rule::Model => self.model.as_deref(),
            Rule::ExistingLink => None,
        }
    }
}

/// A device's comparison keys, worked out once.
struct DeviceKeys {
    serial: Option<String>,
    name: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
}

impl DeviceKeys {
    fn of(device: &DeviceFacts, serial: &str) -> DeviceKeys {
        DeviceKeys {
            serial: usable_serial(serial),
            name: Some(host_key(&device.hostname)).filter(|s| !s.is_empty()),
            manufacturer: opt_key(&device.manufacturer),
            model: opt_key(&device.model),
        }
    }

    fn key(&self, rule: Rule) -> Option<&str> {
        match rule {
            Rule::Serial => self.serial.as_deref(),
            Rule::Name => self.name.as_deref(),
            Rule::Manufacturer => self.manufacturer.as_deref(),
            Rule::Model => self.model.as_deref(),
            Rule::ExistingLink => None,
        }
    }
}

/// Narrows `cands` by the device's value for `rule`; returns the decided
/// configuration when exactly one agrees.
fn narrow<'a>(cands: &mut Vec<&'a Candidate<'a>>, rule: Rule, device: &DeviceKeys) -> Option<&'a ConfigFacts> {
    let value = device.key(rule)?;
    let agrees = |c: &&Candidate| c.key(rule) == Some(value);
    match cands.iter().filter(|c| agrees(c)).count() {
        1 => return cands.iter().find(|c| agrees(c)).map(|c| c.config),
        0 => {
            // Nobody agrees. A different serial is a different machine, an
            // unknown one may still be this one; any other rule ends here.
            if rule == Rule::Serial {
                cands.retain(|c| c.serial.is_none());
            } else {
                cands.clear();
            }
        }
        _ => cands.retain(agrees),
    }
    None
}

/// Plans every device against the configurations (of every company).
pub fn plan(devices: &[DeviceFacts], configs: &[ConfigFacts]) -> Vec<DevicePlan> {
    let device_uids: HashSet<&str> = devices.iter().map(|d| d.uid.as_str()).collect();
    let candidates: Vec<Candidate> = configs
        .iter()
        .map(|c| Candidate {
            config: c,
            serial: c.serial.as_deref().and_then(usable_serial),
            name: host_key(&c.name),
            manufacturer: opt_key(&c.manufacturer),
            model: opt_key(&c.model),
        })
        .collect();
    let mut by_company: HashMap<&str, Vec<&Candidate>> = HashMap::new();
    let mut by_link: HashMap<&str, &ConfigFacts> = HashMap::new();
    for c in &candidates {
        let link = c.config.device_uid.as_deref().filter(|u| !u.is_empty());
        if let Some(uid) = link {
            by_link.entry(uid).or_insert(c.config);
        }
        // A configuration linked to a device that still exists belongs to
        // it: it is nobody else's candidate.
        if !link.is_some_and(|uid| device_uids.contains(uid)) {
            by_company.entry(c.config.company.as_str()).or_default().push(c);
        }
    }

    let mut plans = Vec::with_capacity(devices.len());
    // Configuration id -> the devices proposed for it, with the rule.
    let mut claims: HashMap<&str, Vec<(usize, Rule)>> = HashMap::new();
    for device in devices {
        let i = plans.len();
        let mut moved_from = None;
        let Some(company) = device.company.as_deref() else {
            plans.push(DevicePlan {
                device: device.uid.clone(),
                proposal: Proposal::SiteNotMapped,
                moved_from,
            });
            continue;
        };
        if let Some(linked) = by_link.get(device.uid.as_str()) {
            if linked.company == company {
                plans.push(DevicePlan {
                    device: device.uid.clone(),
                    proposal: Proposal::Linked {
                        config: linked.id.clone(),
                    },
                    moved_from,
                });
                claims
                    .entry(linked.id.as_str())
                    .or_default()
                    .push((i, Rule::ExistingLink));
                continue;
            }
            moved_from = Some(linked.id.clone());
        }
        let Some(serial) = device.serial.as_deref() else {
            plans.push(DevicePlan {
                device: device.uid.clone(),
                proposal: Proposal::WaitingForAudit,
                moved_from,
            });
            continue;
        };
        let keys = DeviceKeys::of(device, serial);
        let mut cands: Vec<&Candidate> = by_company.get(company).cloned().unwrap_or_default();
        let mut decided = None;
        for rule in [Rule::Serial, Rule::Name, Rule::Manufacturer, Rule::Model] {
            if cands.is_empty() {
                break;
            }
            if let Some(config) = narrow(&mut cands, rule, &keys) {
                decided = Some((config, rule));
                break;
            }
        }
        let proposal = match decided {
            Some((config, rule)) => {
                claims.entry(config.id.as_str()).or_default().push((i, rule));
                Proposal::Match {
                    config: config.id.clone(),
                    rule,
                }
            }
            None if cands.len() > 1 => Proposal::Ambiguous {
                candidates: cands.iter().map(|c| c.config.id.clone()).collect(),
            },
            None => Proposal::New {
                name: device.hostname.clone(),
            },
        };
        plans.push(DevicePlan {
            device: device.uid.clone(),
            proposal,
            moved_from,
        });
    }

    // One configuration, one device: the strongest rule keeps it.
    for (config, mut claimants) in claims {
        if claimants.len() < 2 {
            continue;
        }
        claimants.sort_by_key(|&(_, rule)| rule);
        let best = claimants[0].1;
        let tied = claimants.iter().filter(|&&(_, r)| r == best).count();
        for &(i, rule) in &claimants {
            if rule == best && tied == 1 {
                continue;
            }
            plans[i].proposal = if rule == best {
                Proposal::Ambiguous {
                    candidates: vec![config.to_owned()],
                }
            } else {
                Proposal::New {
                    name: devices[i].hostname.clone(),
                }
            };
        }
    }
    plans
}

/// How many devices each kind of proposal got: the figures a preview shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanCounts {
    pub linked: usize,
    pub matched_serial: usize,
    pub matched_name: usize,
    pub matched_manufacturer: usize,
    pub matched_model: usize,
    pub proposed_new: usize,
    pub ambiguous: usize,
    pub waiting_for_audit: usize,
    pub site_not_mapped: usize,
    pub moved: usize,
}

pub fn counts(plans: &[DevicePlan]) -> PlanCounts {
    let mut c = PlanCounts::default();
    for p in plans {
        if p.moved_from.is_some() {
            c.moved += 1;
        }
        match &p.proposal {
            Proposal::Linked { .. } => c.linked += 1,
            Proposal::Match { rule, .. } => match rule {
                Rule::Serial => c.matched_serial += 1,
                Rule::Name => c.matched_name += 1,
                Rule::Manufacturer => c.matched_manufacturer += 1,
                Rule::Model => c.matched_model += 1,
                Rule::ExistingLink => c.linked += 1,
            },
            Proposal::New { .. } => c.proposed_new += 1,
            Proposal::Ambiguous { .. } => c.ambiguous += 1,
            Proposal::WaitingForAudit => c.waiting_for_audit += 1,
            Proposal::SiteNotMapped => c.site_not_mapped += 1,
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(uid: &str, host: &str, serial: Option<&str>) -> DeviceFacts {
        DeviceFacts {
            uid: uid.into(),
            hostname: host.into(),
            company: Some("c1".into()),
            serial: serial.map(Into::into),
            ..Default::default()
        }
    }

    fn cfg(id: &str, name: &str, serial: Option<&str>) -> ConfigFacts {
        ConfigFacts {
            id: id.into(),
            company: "c1".into(),
            name: name.into(),
            serial: serial.map(Into::into),
            ..Default::default()
        }
    }

    fn proposal(plans: &[DevicePlan], uid: &str) -> Proposal {
        plans.iter().find(|p| p.device == uid).unwrap().proposal.clone()
    }

    #[test]
    fn junk_serials_are_no_serial() {
        for junk in [
            "To Be Filled By O.E.M.",
            "System Serial Number",
            "Default string",
            "0",
            "123456789",
            "None",
            "XXXXXXXX",
            "  ",
            "0000 0000",
        ] {
            assert_eq!(usable_serial(junk), None, "{junk}");
        }
        assert_eq!(usable_serial(" 5cg 12 3x "), Some("5cg123x".into()));
    }

    #[test]
    fn an_existing_link_decides_first_and_survives_a_renamed_host() {
        let mut linked = cfg("k1", "OLD-NAME", Some("AAA111"));
        linked.device_uid = Some("d1".into());
        let plans = plan(
            &[dev("d1", "new-name", Some("BBB222"))],
            &[linked, cfg("k2", "new-name", None)],
        );
        assert_eq!(proposal(&plans, "d1"), Proposal::Linked { config: "k1".into() });
    }

    #[test]
    fn serial_ignores_case_and_spaces_and_beats_the_name() {
        let plans = plan(
            &[dev("d1", "ws-01", Some("ab 12cd"))],
            &[
                cfg("k1", "ws-01", Some("ZZZ999")),
                cfg("k2", "something else", Some("AB12CD")),
            ],
        );
        assert_eq!(
            proposal(&plans, "d1"),
            Proposal::Match {
                config: "k2".into(),
                rule: Rule::Serial
            }
        );
    }

    #[test]
    fn a_different_serial_is_another_machine_but_an_unknown_one_may_be_this_one() {
        let plans = plan(
            &[dev("d1", "ws-01.corp.example", Some("SER-1"))],
            &[
                cfg("k1", "WS-01", Some("SER-2")),
                cfg("k2", "ws-01", Some("Default string")),
            ],
        );
        assert_eq!(
            proposal(&plans, "d1"),
            Proposal::Match {
                config: "k2".into(),
                rule: Rule::Name
            }
        );
        let plans = plan(
            &[dev("d1", "ws-01", Some("SER-1"))],
            &[cfg("k1", "WS-01", Some("SER-2"))],
        );
        assert_eq!(proposal(&plans, "d1"), Proposal::New { name: "ws-01".into() });
    }

    #[test]
    fn manufacturer_then_model_break_a_name_tie() {
        let mut a = cfg("k1", "reception", None);
        a.manufacturer = Some("Dell Inc.".into());
        a.model = Some("OptiPlex 7010".into());
        let mut b = a.clone();
        b.id = "k2".into();
        b.model = Some("OptiPlex 3020".into());
        let mut c = a.clone();
        c.id = "k3".into();
        c.manufacturer = Some("HP".into());
        let mut d = dev("d1", "Reception", Some(""));
        d.manufacturer = Some("dell inc.".into());
        d.model = Some("optiplex 3020".into());
        let plans = plan(&[d], &[a, b, c]);
        assert_eq!(
            proposal(&plans, "d1"),
            Proposal::Match {
                config: "k2".into(),
                rule: Rule::Model
            }
        );
    }

    #[test]
    fn candidates_left_after_the_last_rule_are_ambiguous() {
        let plans = plan(
            &[dev("d1", "kiosk", Some("None"))],
            &[cfg("k1", "kiosk", None), cfg("k2", "KIOSK", None)],
        );
        assert!(matches!(proposal(&plans, "d1"), Proposal::Ambiguous { candidates } if candidates.len() == 2));
    }

    #[test]
    fn only_the_companys_configurations_count_and_unaudited_devices_wait() {
        let mut other = cfg("k1", "ws-01", Some("SER-1"));
        other.company = "c2".into();
        let unaudited = dev("d2", "ws-02", None);
        let mut unmapped = dev("d3", "ws-03", Some("SER-3"));
        unmapped.company = None;
        let plans = plan(&[dev("d1", "ws-01", Some("SER-1")), unaudited, unmapped], &[other]);
        assert_eq!(proposal(&plans, "d1"), Proposal::New { name: "ws-01".into() });
        assert_eq!(proposal(&plans, "d2"), Proposal::WaitingForAudit);
        assert_eq!(proposal(&plans, "d3"), Proposal::SiteNotMapped);
    }

    #[test]
    fn a_moved_device_is_unmapped_and_matched_in_its_new_company() {
        let mut old = cfg("k1", "ws-01", Some("SER-1"));
        old.company = "c2".into();
        old.device_uid = Some("d1".into());
        let plans = plan(
            &[dev("d1", "ws-01", Some("SER-1"))],
            &[old, cfg("k2", "ws-01", Some("SER-1"))],
        );
        assert_eq!(plans[0].moved_from.as_deref(), Some("k1"));
        assert_eq!(
            plans[0].proposal,
            Proposal::Match {
                config: "k2".into(),
                rule: Rule::Serial
            }
        );
    }

    #[test]
    fn one_configuration_goes_to_one_device() {
        // d1 finds k1 by serial, d2 by name: the serial keeps it.
        let plans = plan(
            &[dev("d1", "other", Some("SER-1")), dev("d2", "ws-01", Some(""))],
            &[cfg("k1", "ws-01", Some("SER-1"))],
        );
        assert_eq!(
            proposal(&plans, "d1"),
            Proposal::Match {
                config: "k1".into(),
                rule: Rule::Serial
            }
        );
        assert_eq!(proposal(&plans, "d2"), Proposal::New { name: "ws-01".into() });
        // Two devices with the same name and no serial: neither takes it.
        let plans = plan(
            &[dev("d1", "ws-01", Some("")), dev("d2", "WS-01", Some(""))],
            &[cfg("k1", "ws-01", None)],
        );
        assert!(matches!(proposal(&plans, "d1"), Proposal::Ambiguous { .. }));
        assert!(matches!(proposal(&plans, "d2"), Proposal::Ambiguous { .. }));
        // A configuration linked to another existing device is not offered to this one.
        let mut taken = cfg("k1", "ws-01", None);
        taken.device_uid = Some("d9".into());
        let plans = plan(
            &[dev("d1", "ws-01", Some("")), dev("d9", "renamed", Some(""))],
            &[taken],
        );
        assert_eq!(proposal(&plans, "d1"), Proposal::New { name: "ws-01".into() });
        assert_eq!(proposal(&plans, "d9"), Proposal::Linked { config: "k1".into() });
    }
}
