//! The pure part of the import: what happens to each PSA record.
//!
//! Order of the rules, first that applies wins:
//! 1. an `exclude` override excludes;
//! 2. a `match` override links to the chosen portal record (excluded if it is gone);
//! 3. a portal record carrying the same PSA id is a certain match;
//! 4. a `create` override creates;
//! 5. a contact, location or configuration whose company is not imported is excluded;
//! 6. an inactive record is excluded;
//! 7. one unclaimed portal record with the identical normalised name (under
//!    the same company, for child records; or the same e-mail, for users) is
//!    a match; several are ambiguous and excluded until an override picks one;
//! 8. anything else is created, except that a scheduled run creates
//!    companies, users and configurations only when their auto-create toggle
//!    is on (the rest wait as `pending`). Contacts and locations follow their
//!    company.
//!
//! Created records get an id derived from (integration, kind, PSA id), so an
//! import that stopped half-way and ran again finds what it wrote as rule-3
//! matches and never writes a second copy.

use crate::connections::AutoCreate;
use crate::matching::normalize_name;
use crate::psa::{PsaRecord, RecordKind};
use crate::sync::hash::Fnv64;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// A portal record the plan can match: a company, contact, location,
/// configuration or user already in the portal.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    pub id: String,
    pub name: String,
    /// The portal company it belongs to (child kinds).
    pub company_id: Option<String>,
    pub email: Option<String>,
    /// The PSA id it is linked to, when it came from (or was matched to) this PSA.
    pub psa_id: Option<String>,
    /// Linked to another PSA integration: never matched, by id, name or override.
    pub taken: bool,
}

/// A person's decision about one PSA record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OverrideAction {
    Match,
    Create,
    Exclude,
    /// Neither created nor excluded: it waits (`pending`) until a person
    /// decides, or "create unmatched" creates it.
    Undecided,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Override {
    pub kind: RecordKind,
    pub psa_id: String,
    pub action: OverrideAction,
    /// The portal record to match (`match` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A person applies the preview: every `create` is created.
    Manual,
    /// The nightly run: creation follows the auto-create toggles.
    Scheduled(AutoCreate),
    /// "Create unmatched" of one kind: as the nightly run, and the records of
    /// that kind that would wait (undecided, or auto-create off) are created.
    CreateUnmatched(AutoCreate, RecordKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MatchBasis {
    PsaId,
    Name,
    Override,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "action")]
pub enum Decision {
    Match {
        target_id: String,
        target_name: String,
        basis: MatchBasis,
    },
    Create {
        portal_id: String,
    },
    Exclude {
        reason: String,
        by_override: bool,
    },
    /// Would be created, but its auto-create toggle is off (scheduled runs).
    Pending {
        reason: String,
    },
}

impl Decision {
    pub fn action(&self) -> &'static str {
        match self {
            Decision::Match { .. } => "match",
            Decision::Create { .. } => "create",
            Decision::Exclude { .. } => "exclude",
            Decision::Pending { .. } => "pending",
        }
    }

    /// The portal record this PSA record becomes, if any.
    pub fn portal_id(&self) -> Option<&str> {
        match self {
            Decision::Match { target_id, .. } => Some(target_id),
            Decision::Create { portal_id } => Some(portal_id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Planned {
    pub record: PsaRecord,
    /// The portal company of a child record, when its company is imported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal_company_id: Option<String>,
    #[serde(flatten)]
    pub decision: Decision,
}

/// A created record's portal id: a UUID made from (integration, kind, PSA
/// id), stable across runs and releases.
pub fn portal_id(integration_id: &str, kind: RecordKind, psa_id: &str) -> String {
    let a = Fnv64::new()
        .str(Some("psa-import/1"))
        .str(Some(integration_id))
        .str(Some(kind.as_str()))
        .str(Some(psa_id))
        .finish();
    let b = Fnv64::new()
        .str(Some(psa_id))
        .str(Some(kind.as_str()))
        .str(Some(integration_id))
        .str(Some("psa-import/1b"))
        .finish();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

/// Plans one kind. `companies` maps a company's PSA id to its portal id
/// (from the company plan, or existing links) for child kinds.
pub fn plan_kind(
    integration_id: &str,
    kind: RecordKind,
    records: Vec<PsaRecord>,
    existing: &[Existing],
    overrides: &HashMap<(RecordKind, String), Override>,
    companies: &HashMap<String, String>,
    mode: Mode,
) -> Vec<Planned> {
    let child = matches!(
        kind,
        RecordKind::Contact | RecordKind::Location | RecordKind::Configuration
    );
    let by_id: HashMap<&str, &Existing> = existing.iter().map(|e| (e.id.as_str(), e)).collect();
    let by_psa: HashMap<&str, &Existing> = existing
        .iter()
        .filter(|e| !e.taken)
        .filter_map(|e| Some((e.psa_id.as_deref()?, e)))
        .collect();
    let mut by_name: HashMap<(String, String), Vec<&Existing>> = HashMap::new();
    for e in existing.iter().filter(|e| e.psa_id.is_none() && !e.taken) {
        let scope = if child {
            e.company_id.clone().unwrap_or_default()
        } else {
            String::new()
        };
        by_name.entry((scope, normalize_name(&e.name))).or_default().push(e);
        if kind == RecordKind::User
            && let Some(email) = &e.email
        {
            by_name
                .entry(("@".into(), email.trim().to_lowercase()))
                .or_default()
                .push(e);
        }
    }
    // Links and override targets are claimed first, so a name match never takes them.
    let mut claimed: HashSet<String> = records
        .iter()
        .filter_map(|r| by_psa.get(r.id.as_str()).map(|e| e.id.clone()))
        .collect();
    claimed.extend(
        overrides
            .values()
            .filter(|o| o.kind == kind)
            .filter_map(|o| o.target_id.clone()),
    );

    let mut records = records;
    records.sort_by(|a, b| natural_id(&a.id).cmp(&natural_id(&b.id)));
    let mut out = Vec::with_capacity(records.len());
    // One portal record takes one PSA record: a later claim on a taken target
    // (two overrides, or an override on a linked record) is excluded.
    let mut taken: HashSet<String> = HashSet::new();
    for record in records {
        let portal_company_id = record.company_id.as_ref().and_then(|c| companies.get(c)).cloned();
        let over = overrides.get(&(kind, record.id.clone()));
        let decision = decide(
            integration_id,
            kind,
            &record,
            child,
            portal_company_id.as_deref(),
            over,
            &by_id,
            &by_psa,
            &by_name,
            &mut claimed,
            mode,
        );
        let decision = match decision {
            Decision::Match { ref target_id, .. } if !taken.insert(target_id.clone()) => Decision::Exclude {
                reason: "another PSA record is matched to this portal record already".into(),
                by_override: over.is_some(),
            },
            d => d,
        };
        out.push(Planned {
            record,
            portal_company_id: if child { portal_company_id } else { None },
            decision,
        });
    }
    out
}

/// Numeric ids in numeric order; anything else after, as text.
fn natural_id(id: &str) -> (u8, u64, &str) {
    match id.parse::<u64>() {
        Ok(n) => (0, n, id),
        Err(_) => (1, 0, id),
    }
}

#[allow(clippy::too_many_arguments)]
fn decide(
    integration_id: &str,
    kind: RecordKind,
    record: &PsaRecord,
    child: bool,
    portal_company_id: Option<&str>,
    over: Option<&Override>,
    by_id: &HashMap<&str, &Existing>,
    by_psa: &HashMap<&str, &Existing>,
    by_name: &HashMap<(String, String), Vec<&Existing>>,
    claimed: &mut HashSet<String>,
    mode: Mode,
) -> Decision {
    let exclude = |reason: &str| Decision::Exclude {
        reason: reason.into(),
        by_override: false,
    };
    match over.map(|o| (&o.action, o.target_id.as_deref())) {
        Some((OverrideAction::Exclude, _)) => {
            return Decision::Exclude {
                reason: "excluded by an override".into(),
                by_override: true,
            };
        }
        Some((OverrideAction::Match, target)) => {
            return match target.and_then(|t| by_id.get(t)) {
                Some(e) if e.taken => {
                    exclude("the portal record chosen by the override belongs to another PSA integration")
                }
                Some(e) => Decision::Match {
                    target_id: e.id.clone(),
                    target_name: e.name.clone(),
                    basis: MatchBasis::Override,
                },
                None => exclude("the portal record chosen by the override no longer exists"),
            };
        }
        _ => {}
    }
    if let Some(e) = by_psa.get(record.id.as_str()) {
        return Decision::Match {
            target_id: e.id.clone(),
            target_name: e.name.clone(),
            basis: MatchBasis::PsaId,
        };
    }
    let create = || Decision::Create {
        portal_id: portal_id(integration_id, kind, &record.id),
    };
    let creating_unmatched = matches!(mode, Mode::CreateUnmatched(_, k) if k == kind);
    if matches!(over.map(|o| &o.action), Some(OverrideAction::Undecided)) && !creating_unmatched {
        return Decision::Pending {
            reason: "left undecided".into(),
        };
    }
    if child && portal_company_id.is_none() {
        return exclude("its company is not imported");
    }
    if matches!(over.map(|o| &o.action), Some(OverrideAction::Create)) {
        return create();
    }
    if !record.active {
        return exclude("inactive in the PSA");
    }
    let scope = if child {
        portal_company_id.unwrap_or_default().to_owned()
    } else {
        String::new()
    };
    let mut candidates: Vec<&Existing> = by_name
        .get(&(scope, normalize_name(&record.name)))
        .map(|v| v.iter().copied().filter(|e| !claimed.contains(&e.id)).collect())
        .unwrap_or_default();
    if candidates.is_empty()
        && kind == RecordKind::User
        && let Some(email) = &record.email
    {
        candidates = by_name
            .get(&("@".into(), email.trim().to_lowercase()))
            .map(|v| v.iter().copied().filter(|e| !claimed.contains(&e.id)).collect())
            .unwrap_or_default();
    }
    match candidates.as_slice() {
        [one] => {
            claimed.insert(one.id.clone());
            Decision::Match {
                target_id: one.id.clone(),
                target_name: one.name.clone(),
                basis: MatchBasis::Name,
            }
        }
        [] => match mode {
            Mode::Scheduled(auto) | Mode::CreateUnmatched(auto, _)
                if !creating_unmatched && !auto_creates(kind, auto) =>
            {
                Decision::Pending {
                    reason: format!("auto-create for {}s is off", kind.as_str()),
                }
            }
            _ => create(),
        },
        many => exclude(&format!(
            "{} portal records have this name; choose one with a match override",
            many.len()
        )),
    }
}

fn auto_creates(kind: RecordKind, auto: AutoCreate) -> bool {
    match kind {
        RecordKind::Company => auto.companies,
        RecordKind::User => auto.users,
        RecordKind::Configuration => auto.configurations,
        // They follow their company, which is imported.
        RecordKind::Contact | RecordKind::Location => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: RecordKind, id: &str, name: &str, company: Option<&str>) -> PsaRecord {
        PsaRecord {
            kind,
            id: id.into(),
            name: name.into(),
            company_id: company.map(Into::into),
            active: true,
            email: None,
            serial_number: None,
            configuration_type: None,
            rmm_device_uid: None,
            company_type: None,
            updated_at: None,
        }
    }

    fn existing(id: &str, name: &str, psa: Option<&str>) -> Existing {
        Existing {
            id: id.into(),
            name: name.into(),
            company_id: None,
            email: None,
            psa_id: psa.map(Into::into),
            taken: false,
        }
    }

    fn plan(records: Vec<PsaRecord>, existing: &[Existing], overrides: Vec<Override>, mode: Mode) -> Vec<Planned> {
        let overrides = overrides.into_iter().map(|o| ((o.kind, o.psa_id.clone()), o)).collect();
        plan_kind(
            "int-1",
            RecordKind::Company,
            records,
            existing,
            &overrides,
            &HashMap::new(),
            mode,
        )
    }

    #[test]
    fn psa_id_is_certain_and_names_match_after_normalisation() {
        let out = plan(
            vec![
                rec(RecordKind::Company, "1", "Renamed In PSA", None),
                rec(RecordKind::Company, "2", "ACME, Inc.", None),
                rec(RecordKind::Company, "3", "Brand New LLC", None),
            ],
            &[existing("a", "Old Name", Some("1")), existing("b", "Acme", None)],
            vec![],
            Mode::Manual,
        );
        assert!(
            matches!(&out[0].decision, Decision::Match { target_id, basis: MatchBasis::PsaId, .. } if target_id == "a")
        );
        assert!(
            matches!(&out[1].decision, Decision::Match { target_id, basis: MatchBasis::Name, .. } if target_id == "b")
        );
        assert!(matches!(&out[2].decision, Decision::Create { .. }));
    }

    #[test]
    fn one_portal_record_is_matched_once_and_ties_are_excluded() {
        let out = plan(
            vec![
                rec(RecordKind::Company, "1", "Acme", None),
                rec(RecordKind::Company, "2", "Acme Inc", None),
            ],
            &[existing("a", "ACME", None)],
            vec![],
            Mode::Manual,
        );
        assert_eq!(out[0].decision.portal_id(), Some("a"));
        assert!(matches!(out[1].decision, Decision::Create { .. }), "{:?}", out[1]);
        let out = plan(
            vec![rec(RecordKind::Company, "1", "Acme", None)],
            &[existing("a", "ACME", None), existing("b", "Acme Ltd", None)],
            vec![],
            Mode::Manual,
        );
        assert!(matches!(&out[0].decision, Decision::Exclude { reason, .. } if reason.contains("2 portal records")));
    }

    #[test]
    fn overrides_win_and_inactive_records_wait_for_one() {
        let overrides = vec![
            Override {
                kind: RecordKind::Company,
                psa_id: "1".into(),
                action: OverrideAction::Exclude,
                target_id: None,
            },
            Override {
                kind: RecordKind::Company,
                psa_id: "2".into(),
                action: OverrideAction::Match,
                target_id: Some("z".into()),
            },
            Override {
                kind: RecordKind::Company,
                psa_id: "3".into(),
                action: OverrideAction::Create,
                target_id: None,
            },
        ];
        let mut inactive = rec(RecordKind::Company, "4", "Closed Co", None);
        inactive.active = false;
        let mut inactive_forced = rec(RecordKind::Company, "3", "Acme", None);
        inactive_forced.active = false;
        let out = plan(
            vec![
                rec(RecordKind::Company, "1", "Acme", None),
                rec(RecordKind::Company, "2", "Whatever", None),
                inactive_forced,
                inactive,
            ],
            &[existing("a", "Acme", None), existing("z", "Zed", None)],
            overrides,
            Mode::Manual,
        );
        assert!(matches!(&out[0].decision, Decision::Exclude { by_override: true, .. }));
        assert!(
            matches!(&out[1].decision, Decision::Match { target_id, basis: MatchBasis::Override, .. } if target_id == "z")
        );
        assert!(matches!(&out[2].decision, Decision::Create { .. }));
        assert!(matches!(&out[3].decision, Decision::Exclude { reason, .. } if reason.contains("inactive")));
    }

    #[test]
    fn scheduled_runs_create_only_what_the_toggles_allow() {
        let out = plan(
            vec![rec(RecordKind::Company, "9", "New Client", None)],
            &[],
            vec![],
            Mode::Scheduled(AutoCreate::default()),
        );
        assert!(matches!(out[0].decision, Decision::Pending { .. }));
        let out = plan(
            vec![rec(RecordKind::Company, "9", "New Client", None)],
            &[],
            vec![],
            Mode::Scheduled(AutoCreate {
                companies: true,
                ..AutoCreate::default()
            }),
        );
        assert!(matches!(out[0].decision, Decision::Create { .. }));
    }

    #[test]
    fn children_match_within_their_company_and_need_it_imported() {
        let companies = HashMap::from([("10".to_owned(), "pc-10".to_owned())]);
        let mut main_office = existing("loc-a", "Main Office", None);
        main_office.company_id = Some("pc-other".into());
        let out = plan_kind(
            "int-1",
            RecordKind::Location,
            vec![
                rec(RecordKind::Location, "1", "Main Office", Some("10")),
                rec(RecordKind::Location, "2", "Branch", Some("99")),
            ],
            &[main_office],
            &HashMap::new(),
            &companies,
            Mode::Manual,
        );
        // Same name under another company is not a match.
        assert!(matches!(out[0].decision, Decision::Create { .. }));
        assert_eq!(out[0].portal_company_id.as_deref(), Some("pc-10"));
        assert!(matches!(&out[1].decision, Decision::Exclude { reason, .. } if reason.contains("company")));
    }

    #[test]
    fn created_ids_are_stable_and_distinct() {
        let a = portal_id("i", RecordKind::Company, "1");
        assert_eq!(a, portal_id("i", RecordKind::Company, "1"));
        assert_ne!(a, portal_id("i", RecordKind::Contact, "1"));
        assert_ne!(a, portal_id("j", RecordKind::Company, "1"));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
