//! Sites to companies: the mapping table, manual mapping and quick match.
//!
//! Rules: pseudo-sites ("Deleted Devices", "OnDemand", "Managed") and removed
//! sites are never mapped; several sites may map to one company; quick match
//! maps automatically only at [`AUTO_MAP_THRESHOLD`] and above, and never
//! touches a site a person decided on (mapped by hand, or unmapped by hand).
//! A site whose Autotask company id equals an imported company's PSA id is a
//! certain match and comes before any name comparison. Next to the name,
//! quick match weighs the site's devices: those whose Datto uid or serial
//! number is an imported PSA configuration's point at that configuration's
//! company. Every mapping and suggestion carries its explanation: the
//! deciding evidence (PSA id, device overlap with its counts, or the name),
//! the words that matched and the words set aside.

pub mod company_routes;
pub mod company_side;
mod company_side_items;
pub mod hooks;
mod items;
pub use items::clear_site_mappings;
pub mod routes;

use crate::companies::Company;
use crate::companies::directory::PortalRecord;
use crate::matching::{AUTO_MAP_THRESHOLD, CompanyIndex, DeviceOverlap, Evidence, Explanation, SiteEvidence};
use crate::psa::RecordKind;
use crate::store::{Cascade, CascadeFuture, DynamoStore, StoreError};
use crate::tenant::TenantId;
use crate::time::{format_rfc3339, now_millis};
use serde::Serialize;
use std::collections::HashMap;

/// A site as sync stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncedSite {
    pub uid: String,
    pub name: String,
    pub device_count: Option<i64>,
    pub autotask_company_id: Option<String>,
    pub autotask_company_name: Option<String>,
    pub pseudo: bool,
    pub removed_at: Option<i64>,
    /// The site's page in Datto's web portal.
    pub portal_url: Option<String>,
}

impl SyncedSite {
    pub fn mappable(&self) -> bool {
        !self.pseudo && self.removed_at.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MappedBy {
    Auto,
    Manual,
}

impl MappedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MappedBy::Auto => "auto",
            MappedBy::Manual => "manual",
        }
    }
}

/// A site's mapping. `company_id: None` with `Manual` means a person
/// unmapped it on purpose: quick match leaves it alone.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteMapping {
    pub site_uid: String,
    pub company_id: Option<String>,
    pub confidence: u8,
    pub mapped_by: MappedBy,
    pub mapped_at: i64,
    /// Why quick match mapped it; `None` for mappings made by hand.
    pub explanation: Option<Explanation>,
}

/// Why quick match picked a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MatchReason {
    /// The site's Autotask company id is an imported company's PSA id.
    PsaId,
    /// The site's devices are the company's PSA configurations.
    DeviceOverlap,
    /// Fuzzy name matching.
    Name,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub company_id: String,
    pub confidence: u8,
    pub reason: MatchReason,
    pub explanation: Explanation,
}

/// The matcher quick match uses, built once from all of a tenant's companies.
/// `match-csv` builds the same thing from a CSV file.
pub struct QuickMatcher {
    index: CompanyIndex,
    by_autotask_id: HashMap<String, String>,
}

impl QuickMatcher {
    pub fn new(companies: &[Company]) -> Self {
        let by_autotask_id = companies
            .iter()
            .filter(|c| c.psa_kind == Some(crate::psa::PsaKind::Autotask))
            .filter_map(|c| Some((c.psa_id.clone()?, c.id.clone())))
            .collect();
        Self {
            index: CompanyIndex::new(companies.iter().map(|c| (c.id.clone(), c.name.as_str()))),
            by_autotask_id,
        }
    }

    /// From bare `(id, name)` pairs, with no PSA links.
    pub fn from_names<I, S1, S2>(companies: I) -> Self
    where
        I: IntoIterator<Item = (S1, S2)>,
        S1: Into<String>,
        S2: AsRef<str>,
    {
        Self {
            index: CompanyIndex::new(companies),
            by_autotask_id: HashMap::new(),
        }
    }

    /// The best company for a site by its PSA link and its name.
    pub fn suggest(&self, site_name: &str, autotask_company_id: Option<&str>) -> Option<Suggestion> {
        self.suggest_with_devices(site_name, autotask_company_id, &[])
    }

    /// The best company for a site from all evidence: the PSA link
    /// (certain), the site's devices among the companies' PSA configurations,
    /// and the name.
    pub fn suggest_with_devices(
        &self,
        site_name: &str,
        autotask_company_id: Option<&str>,
        devices: &[DeviceOverlap],
    ) -> Option<Suggestion> {
        let psa = autotask_company_id.and_then(|id| self.by_autotask_id.get(id.trim()));
        let evidence = SiteEvidence {
            psa_company_id: psa.map(String::as_str),
            device_overlap: devices,
        };
        self.index.match_site(site_name, &evidence).map(|m| Suggestion {
            reason: match m.explanation.evidence {
                Evidence::PsaId => MatchReason::PsaId,
                Evidence::DeviceOverlap { .. } => MatchReason::DeviceOverlap,
                Evidence::Name => MatchReason::Name,
            },
            company_id: m.company_id,
            confidence: m.confidence,
            explanation: m.explanation,
        })
    }
}

/// One of a site's devices, as sync stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteDevice {
    pub site_uid: String,
    pub uid: String,
    pub serial_number: Option<String>,
}

/// A site's device count and, per company, its devices among the
/// company's configurations (companies in first-seen order).
type SiteCounts<'a> = (u32, Vec<(&'a str, u32)>);

/// A serial number as a key: trimmed, upper-case; `None` for blanks and
/// placeholders too short to identify a machine.
fn serial_key(serial: &str) -> Option<String> {
    let k: String = serial.trim().to_uppercase();
    (k.chars().filter(char::is_ascii_alphanumeric).count() >= 5).then_some(k)
}

/// Device evidence per site uid: for each company whose imported PSA
/// configurations include some of the site's devices (same Datto device uid,
/// or the same serial number), how many of the site's devices they are, and
/// how many devices the site has. A serial number that configurations of
/// two companies share proves nothing and is ignored.
pub fn device_overlap(devices: &[SiteDevice], configurations: &[PortalRecord]) -> HashMap<String, Vec<DeviceOverlap>> {
    let mut by_uid: HashMap<String, &str> = HashMap::new();
    let mut by_serial: HashMap<String, Option<&str>> = HashMap::new();
    for c in configurations.iter().filter(|c| c.kind == RecordKind::Configuration) {
        let Some(company) = c.company_id.as_deref() else {
            continue;
        };
        if let Some(uid) = c.rmm_device_uid.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            by_uid.insert(uid.to_lowercase(), company);
        }
        if let Some(k) = c.serial_number.as_deref().and_then(serial_key) {
            by_serial
                .entry(k)
                .and_modify(|e| {
                    if *e != Some(company) {
                        *e = None;
                    }
                })
                .or_insert(Some(company));
        }
    }
    let mut per_site: HashMap<&str, SiteCounts> = HashMap::new();
    for d in devices {
        let entry = per_site.entry(d.site_uid.as_str()).or_default();
        entry.0 += 1;
        let company = by_uid.get(&d.uid.trim().to_lowercase()).copied().or_else(|| {
            d.serial_number
                .as_deref()
                .and_then(serial_key)
                .and_then(|k| by_serial.get(&k).copied().flatten())
        });
        if let Some(company) = company {
            match entry.1.iter_mut().find(|(c, _)| *c == company) {
                Some((_, n)) => *n += 1,
                None => entry.1.push((company, 1)),
            }
        }
    }
    per_site
        .into_iter()
        .filter(|(_, (_, companies))| !companies.is_empty())
        .map(|(site, (total, companies))| {
            let overlap = companies
                .into_iter()
                .map(|(company, n)| DeviceOverlap {
                    company_id: company.to_owned(),
                    matching_devices: n,
                    site_devices: total,
                })
                .collect();
            (site.to_owned(), overlap)
        })
        .collect()
}

/// What quick match decided for one site.
#[derive(Debug, Clone, PartialEq)]
pub enum QuickMatchDecision {
    Map(Suggestion),
    Suggest(Suggestion),
    NoCandidate,
}

/// Quick match for the sites that need it: pure, so that it is tested without storage.
/// Returns the decisions for unmapped mappable sites, in the order given.
/// `devices` is the device evidence per site uid ([`device_overlap`]).
pub fn plan_quick_match<'s>(
    sites: &'s [SyncedSite],
    mappings: &HashMap<String, SiteMapping>,
    matcher: &QuickMatcher,
    devices: &HashMap<String, Vec<DeviceOverlap>>,
) -> Vec<(&'s SyncedSite, QuickMatchDecision)> {
    sites
        .iter()
        .filter(|s| s.mappable() && !mappings.contains_key(&s.uid))
        .map(|site| {
            let overlap = devices.get(&site.uid).map_or(&[][..], Vec::as_slice);
            let decision = match matcher.suggest_with_devices(&site.name, site.autotask_company_id.as_deref(), overlap)
            {
                Some(s) if s.confidence >= AUTO_MAP_THRESHOLD => QuickMatchDecision::Map(s),
                Some(s) => QuickMatchDecision::Suggest(s),
                None => QuickMatchDecision::NoCandidate,
            };
            (site, decision)
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

/// One row of the mapping table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteRow {
    pub site_uid: String,
    pub name: String,
    pub device_count: Option<i64>,
    pub autotask_company_id: Option<String>,
    pub autotask_company_name: Option<String>,
    /// The site's page in the Datto RMM web portal, for the table to open.
    pub portal_url: Option<String>,
    pub company: Option<CompanyRef>,
    pub confidence: Option<u8>,
    /// `auto` or `manual`; `null` when quick match has not decided yet.
    pub mapped_by: Option<MappedBy>,
    pub mapped_at: Option<String>,
    /// Why quick match mapped the site; `null` for mappings made by hand.
    pub explanation: Option<Explanation>,
    /// For a site not mapped: the company the last quick match suggested,
    /// and why.
    pub suggestion: Option<SuggestedCompany>,
}

/// A suggestion of quick match, as the mapping table shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuggestedCompany {
    pub company: CompanyRef,
    pub confidence: u8,
    pub explanation: Option<Explanation>,
}

/// Quick match's last word on a site it did not map: the company it
/// suggested, or `None` when no company came close.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionRecord {
    pub site_uid: String,
    pub company_id: Option<String>,
    pub confidence: u8,
    pub explanation: Option<Explanation>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CompanyRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Default)]
pub struct SiteFilter {
    /// `Some(true)`: mapped only; `Some(false)`: unmapped only.
    pub mapped: Option<bool>,
    pub search: Option<String>,
    pub include_pseudo: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuickMatchReport {
    pub mapped: Vec<QuickMatchRow>,
    pub suggested: Vec<QuickMatchRow>,
    pub no_candidate: Vec<QuickMatchRow>,
    /// Sites left alone: already mapped (auto or by hand) or unmapped by hand.
    pub skipped: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuickMatchRow {
    pub site_uid: String,
    pub site_name: String,
    pub company: Option<CompanyRef>,
    pub confidence: Option<u8>,
    pub reason: Option<MatchReason>,
    pub explanation: Option<Explanation>,
}

/// Deleting a company first releases the sites mapped to it (in every
/// integration of the tenant); they become undecided again, so quick match
/// may map them elsewhere.
pub struct ReleaseSites(pub DynamoStore);

impl Cascade for ReleaseSites {
    fn on_delete<'a>(&'a self, tenant: &'a TenantId, company_id: &'a str) -> CascadeFuture<'a> {
        Box::pin(async move {
            for integration in self.0.list(tenant).await? {
                for mapping in self.0.mappings(tenant, &integration.id).await? {
                    if mapping.company_id.as_deref() == Some(company_id) {
                        self.0
                            .delete_mapping(tenant, &integration.id, &mapping.site_uid)
                            .await?;
                    }
                }
            }
            Ok(())
        })
    }
}

pub struct SiteMappings<'a> {
    pub store: &'a DynamoStore,
}

impl SiteMappings<'_> {
    async fn ensure_integration(&self, tenant: &TenantId, integration: &str) -> Result<(), MappingError> {
        let known = uuid::Uuid::parse_str(integration).is_ok() && self.store.get(tenant, integration).await?.is_some();
        if known {
            Ok(())
        } else {
            Err(MappingError::NotFound(format!("no integration {integration}")))
        }
    }

    /// The mapping table: every site with its company, confidence and how it was mapped.
    pub async fn table(
        &self,
        tenant: &TenantId,
        integration: &str,
        filter: &SiteFilter,
    ) -> Result<Vec<SiteRow>, MappingError> {
        self.ensure_integration(tenant, integration).await?;
        let (sites, mappings, companies, suggestions) = tokio::try_join!(
            self.store.sites(tenant, integration),
            self.store.mappings(tenant, integration),
            self.store.all_companies(tenant),
            self.store.suggestions(tenant, integration),
        )?;
        let mappings: HashMap<_, _> = mappings.into_iter().map(|m| (m.site_uid.clone(), m)).collect();
        let suggestions: HashMap<_, _> = suggestions.into_iter().map(|s| (s.site_uid.clone(), s)).collect();
        let names: HashMap<_, _> = companies.iter().map(|c| (c.id.as_str(), c.name.as_str())).collect();
        let needle = filter
            .search
            .as_deref()
            .map(crate::matching::normalize_name)
            .filter(|n| !n.is_empty());
        let mut rows: Vec<SiteRow> = sites
            .iter()
            .filter(|s| s.removed_at.is_none() && (filter.include_pseudo || !s.pseudo))
            .filter(|s| {
                needle
                    .as_ref()
                    .is_none_or(|n| crate::matching::normalize_name(&s.name).contains(n.as_str()))
            })
            .map(|site| {
                let mapping = mappings.get(&site.uid);
                // A mapping to a company deleted since shows as unmapped.
                let company = mapping.and_then(|m| m.company_id.as_deref()).and_then(|id| {
                    Some(CompanyRef {
                        id: id.to_owned(),
                        name: (*names.get(id)?).to_owned(),
                    })
                });
                let mapped = company.is_some();
                SiteRow {
                    site_uid: site.uid.clone(),
                    name: site.name.clone(),
                    device_count: site.device_count,
                    autotask_company_id: site.autotask_company_id.clone(),
                    autotask_company_name: site.autotask_company_name.clone(),
                    portal_url: site.portal_url.clone(),
                    company,
                    confidence: mapping.filter(|_| mapped).map(|m| m.confidence),
                    mapped_by: mapping.map(|m| m.mapped_by),
                    mapped_at: mapping.map(|m| format_rfc3339(m.mapped_at)),
                    explanation: mapping.filter(|_| mapped).and_then(|m| m.explanation.clone()),
                    // A company deleted since is no suggestion.
                    suggestion: suggestions.get(&site.uid).filter(|_| !mapped).and_then(|s| {
                        let id = s.company_id.as_deref()?;
                        Some(SuggestedCompany {
                            company: CompanyRef {
                                id: id.to_owned(),
                                name: (*names.get(id)?).to_owned(),
                            },
                            confidence: s.confidence,
                            explanation: s.explanation.clone(),
                        })
                    }),
                }
            })
            .filter(|row| filter.mapped.is_none_or(|want| want == row.company.is_some()))
            .collect();
        rows.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then_with(|| a.site_uid.cmp(&b.site_uid))
        });
        Ok(rows)
    }

    async fn mappable_site(
        &self,
        tenant: &TenantId,
        integration: &str,
        site_uid: &str,
    ) -> Result<SyncedSite, MappingError> {
        self.ensure_integration(tenant, integration).await?;
        let site = self.store.site(tenant, integration, site_uid).await?.ok_or_else(|| {
            MappingError::NotFound(format!("no site {site_uid} in this integration (has it synced?)"))
        })?;
        if site.pseudo {
            return Err(MappingError::Unprocessable(format!(
                "{} is a Datto RMM system site and cannot be mapped",
                site.name
            )));
        }
        if site.removed_at.is_some() {
            return Err(MappingError::Unprocessable(format!(
                "site {} was removed from Datto RMM",
                site.name
            )));
        }
        Ok(site)
    }

    /// Maps a site to a company by hand (confidence 100).
    pub async fn map_manually(
        &self,
        tenant: &TenantId,
        integration: &str,
        site_uid: &str,
        company_id: &str,
    ) -> Result<SiteRow, MappingError> {
        let site = self.mappable_site(tenant, integration, site_uid).await?;
        let company = match uuid::Uuid::parse_str(company_id) {
            Ok(_) => self.store.get_company(tenant, company_id).await?,
            Err(_) => None,
        }
        .ok_or_else(|| MappingError::Unprocessable(format!("no company {company_id} for this tenant")))?;
        let mapping = SiteMapping {
            site_uid: site.uid.clone(),
            company_id: Some(company.id.clone()),
            confidence: 100,
            mapped_by: MappedBy::Manual,
            mapped_at: now_millis(),
            explanation: None,
        };
        self.store.put_mapping(tenant, integration, &mapping, false).await?;
        Ok(SiteRow {
            site_uid: site.uid,
            name: site.name,
            device_count: site.device_count,
            autotask_company_id: site.autotask_company_id,
            autotask_company_name: site.autotask_company_name,
            portal_url: site.portal_url,
            company: Some(CompanyRef {
                id: company.id,
                name: company.name,
            }),
            confidence: Some(100),
            mapped_by: Some(MappedBy::Manual),
            mapped_at: Some(format_rfc3339(mapping.mapped_at)),
            explanation: None,
            suggestion: None,
        })
    }

    /// Unmaps a site by hand: it stays unmapped until a person maps it again.
    pub async fn unmap(&self, tenant: &TenantId, integration: &str, site_uid: &str) -> Result<(), MappingError> {
        let site = self.mappable_site(tenant, integration, site_uid).await?;
        let mapping = SiteMapping {
            site_uid: site.uid,
            company_id: None,
            confidence: 0,
            mapped_by: MappedBy::Manual,
            mapped_at: now_millis(),
            explanation: None,
        };
        self.store.put_mapping(tenant, integration, &mapping, false).await?;
        Ok(())
    }

    /// Quick match: every unmapped site gets its best company; those at 70
    /// and above are mapped. A site mapped by hand meanwhile keeps its mapping.
    pub async fn quick_match(&self, tenant: &TenantId, integration: &str) -> Result<QuickMatchReport, MappingError> {
        self.ensure_integration(tenant, integration).await?;
        let (sites, mappings, companies, devices, configurations) = tokio::try_join!(
            self.store.sites(tenant, integration),
            self.store.mappings(tenant, integration),
            self.store.all_companies(tenant),
            self.store.site_devices(tenant, integration),
            self.store.directory(tenant, RecordKind::Configuration),
        )?;
        let mappings: HashMap<_, _> = mappings.into_iter().map(|m| (m.site_uid.clone(), m)).collect();
        let names: HashMap<_, _> = companies.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
        let matcher = QuickMatcher::new(&companies);
        let overlap = device_overlap(&devices, &configurations);
        let plan = plan_quick_match(&sites, &mappings, &matcher, &overlap);
        let skipped = sites.iter().filter(|s| s.mappable()).count() - plan.len();
        let row = |site: &SyncedSite, s: Option<&Suggestion>| QuickMatchRow {
            site_uid: site.uid.clone(),
            site_name: site.name.clone(),
            company: s.map(|s| CompanyRef {
                id: s.company_id.clone(),
                name: names.get(&s.company_id).cloned().unwrap_or_default(),
            }),
            confidence: s.map(|s| s.confidence),
            reason: s.map(|s| s.reason),
            explanation: s.map(|s| s.explanation.clone()),
        };
        let mut report = QuickMatchReport {
            mapped: vec![],
            suggested: vec![],
            no_candidate: vec![],
            skipped,
        };
        let now = now_millis();
        // What quick match did not map, it suggests: the table shows it.
        let suggestions: Vec<SuggestionRecord> = plan
            .iter()
            .filter_map(|(site, decision)| match decision {
                QuickMatchDecision::Map(_) => None,
                QuickMatchDecision::Suggest(s) => Some(SuggestionRecord {
                    site_uid: site.uid.clone(),
                    company_id: Some(s.company_id.clone()),
                    confidence: s.confidence,
                    explanation: Some(s.explanation.clone()),
                }),
                QuickMatchDecision::NoCandidate => Some(SuggestionRecord {
                    site_uid: site.uid.clone(),
                    company_id: None,
                    confidence: 0,
                    explanation: None,
                }),
            })
            .collect();
        self.store.put_suggestions(tenant, integration, &suggestions).await?;
        for (site, decision) in &plan {
            match decision {
                QuickMatchDecision::Map(s) => {
                    let mapping = SiteMapping {
                        site_uid: site.uid.clone(),
                        company_id: Some(s.company_id.clone()),
                        confidence: s.confidence,
                        mapped_by: MappedBy::Auto,
                        mapped_at: now,
                        explanation: Some(s.explanation.clone()),
                    };
                    if self.store.put_mapping(tenant, integration, &mapping, true).await? {
                        report.mapped.push(row(site, Some(s)));
                    } else {
                        report.skipped += 1;
                    }
                }
                QuickMatchDecision::Suggest(s) => report.suggested.push(row(site, Some(s))),
                QuickMatchDecision::NoCandidate => report.no_candidate.push(row(site, None)),
            }
        }
        tracing::info!(
            tenant = %tenant, integration, mapped = report.mapped.len(), suggested = report.suggested.len(),
            no_candidate = report.no_candidate.len(), skipped = report.skipped, "quick match done"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company(id: &str, name: &str, autotask: Option<&str>) -> Company {
        Company {
            id: id.into(),
            name: name.into(),
            normalized_name: crate::matching::normalize_name(name),
            source: "manual".into(),
            psa_kind: autotask.map(|_| crate::psa::PsaKind::Autotask),
            psa_id: autotask.map(Into::into),
            psa_integration_id: None,
            active: true,
            company_type: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn site(uid: &str, name: &str, autotask: Option<&str>) -> SyncedSite {
        SyncedSite {
            uid: uid.into(),
            name: name.into(),
            device_count: Some(3),
            autotask_company_id: autotask.map(Into::into),
            autotask_company_name: None,
            pseudo: false,
            removed_at: None,
            portal_url: None,
        }
    }

    #[test]
    fn psa_ids_beat_names_and_decided_sites_are_left_alone() {
        let companies = [
            company("c1", "Smith Dental", None),
            company("c2", "Riverside Plumbing LLC", Some("777")),
        ];
        let matcher = QuickMatcher::new(&companies);
        let mut pseudo = site("p", "Deleted Devices", None);
        pseudo.pseudo = true;
        let sites = [
            site("s1", "Smith Dental - Main Office", None),
            site("s2", "Totally Different Name", Some("777")),
            site("s3", "Smith Dental", None),
            pseudo,
            site("s4", "Zebra Quantum Holdings", None),
        ];
        let manual = SiteMapping {
            site_uid: "s3".into(),
            company_id: None,
            confidence: 0,
            mapped_by: MappedBy::Manual,
            mapped_at: 1,
            explanation: None,
        };
        let mappings = HashMap::from([("s3".to_owned(), manual)]);
        let plan = plan_quick_match(&sites, &mappings, &matcher, &HashMap::new());
        let by_uid: HashMap<_, _> = plan.iter().map(|(s, d)| (s.uid.as_str(), d)).collect();
        assert_eq!(
            by_uid.len(),
            3,
            "s3 (unmapped by hand) and the pseudo-site are skipped: {plan:?}"
        );
        assert!(
            matches!(by_uid["s1"], QuickMatchDecision::Map(s) if s.company_id == "c1" && s.reason == MatchReason::Name)
        );
        assert!(
            matches!(by_uid["s2"], QuickMatchDecision::Map(s) if s.company_id == "c2" && s.confidence == 100 && s.reason == MatchReason::PsaId)
        );
        assert!(
            !matches!(by_uid["s4"], QuickMatchDecision::Map(_)),
            "{:?}",
            by_uid["s4"]
        );
    }

    fn configuration(company: &str, uid: Option<&str>, serial: Option<&str>) -> PortalRecord {
        PortalRecord {
            kind: RecordKind::Configuration,
            id: format!("cfg-{company}-{}", uid.or(serial).unwrap_or("-")),
            name: "PC".into(),
            normalized_name: "pc".into(),
            company_id: Some(company.into()),
            active: true,
            email: None,
            serial_number: serial.map(Into::into),
            configuration_type: None,
            rmm_device_uid: uid.map(Into::into),
            source: "autotask".into(),
            psa_kind: Some(crate::psa::PsaKind::Autotask),
            psa_id: None,
            integration_id: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn device(site: &str, uid: &str, serial: Option<&str>) -> SiteDevice {
        SiteDevice {
            site_uid: site.into(),
            uid: uid.into(),
            serial_number: serial.map(Into::into),
        }
    }

    #[test]
    fn device_overlap_counts_devices_by_uid_or_serial() {
        let configurations = [
            configuration("c1", Some("AAAA-1111"), None),
            configuration("c1", None, Some("SN-55501")),
            configuration("c2", Some("bbbb-2222"), Some("SN-77777")),
            // A serial two companies share proves nothing.
            configuration("c1", None, Some("TO BE FILLED")),
            configuration("c2", None, Some("to be filled")),
            // Too short to identify a machine.
            configuration("c2", None, Some("123")),
        ];
        let devices = [
            device("s1", "aaaa-1111", None),
            device("s1", "x-1", Some(" sn-55501 ")),
            device("s1", "BBBB-2222", None),
            device("s1", "x-2", Some("to be filled")),
            device("s2", "x-3", Some("123")),
            device("s3", "x-4", Some("SN-77777")),
        ];
        let overlap = device_overlap(&devices, &configurations);
        let of = |site: &str| {
            let mut v: Vec<(String, u32, u32)> = overlap
                .get(site)
                .into_iter()
                .flatten()
                .map(|o| (o.company_id.clone(), o.matching_devices, o.site_devices))
                .collect();
            v.sort();
            v
        };
        assert_eq!(of("s1"), vec![("c1".into(), 2, 4), ("c2".into(), 1, 4)]);
        assert_eq!(of("s2"), vec![]);
        assert_eq!(of("s3"), vec![("c2".into(), 1, 1)]);
    }

    #[test]
    fn devices_decide_between_similar_names_and_say_so() {
        let companies = [
            company("c1", "Harbor View Church", None),
            company("c2", "Harbor View Community Church", None),
        ];
        let matcher = QuickMatcher::new(&companies);
        let sites = [site("s1", "Harbor View Church (Dallas)", None)];
        // By the name alone, the first, but the names are too close to map.
        let plan = plan_quick_match(&sites, &HashMap::new(), &matcher, &HashMap::new());
        assert!(
            matches!(&plan[0].1, QuickMatchDecision::Suggest(s) if s.company_id == "c1"),
            "{plan:?}"
        );
        // Four of the site's five devices are the second's configurations.
        let devices: Vec<SiteDevice> = (0..5).map(|i| device("s1", &format!("d{i}"), None)).collect();
        let configurations: Vec<PortalRecord> = (0..4)
            .map(|i| configuration("c2", Some(&format!("d{i}")), None))
            .collect();
        let overlap = device_overlap(&devices, &configurations);
        let plan = plan_quick_match(&sites, &HashMap::new(), &matcher, &overlap);
        let QuickMatchDecision::Map(s) = &plan[0].1 else {
            panic!("{plan:?}")
        };
        assert_eq!((s.company_id.as_str(), s.reason), ("c2", MatchReason::DeviceOverlap));
        assert_eq!(
            s.explanation.evidence,
            Evidence::DeviceOverlap {
                matching_devices: 4,
                site_devices: 5
            }
        );
        assert_eq!(s.explanation.set_aside, vec!["dallas".to_owned()]);
    }
}
