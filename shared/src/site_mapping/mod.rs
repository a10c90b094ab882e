//! Sites to companies: the mapping table, manual mapping and quick match.
//!
//! Rules: pseudo-sites ("Deleted Devices", "OnDemand", "Managed") and removed
//! sites are never mapped; several sites may map to one company; quick match
//! maps automatically only at [`AUTO_MAP_THRESHOLD`] and above, and never
//! touches a site a person decided on (mapped by hand, or unmapped by hand).
//! A site whose Autotask company id equals an imported company's PSA id is a
//! certain match and comes before any name comparison.

mod items;
pub mod routes;

use crate::companies::Company;
use crate::matching::{AUTO_MAP_THRESHOLD, CompanyIndex};
use crate::store::{Cascade, CascadeFuture, DynamoStore, StoreError};
use crate::tenant::TenantId;
use crate::time::{format_rfc3339, now_millis};
use serde::Serialize;
use std::collections::HashMap;

/// A site as sync stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRecord {
    pub uid: String,
    pub name: String,
    pub device_count: Option<i64>,
    pub autotask_company_id: Option<String>,
    pub autotask_company_name: Option<String>,
    pub pseudo: bool,
    pub removed_at: Option<i64>,
}

impl SiteRecord {
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
}

/// Why quick match picked a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MatchReason {
    /// The site's Autotask company id is an imported company's PSA id.
    PsaId,
    /// Fuzzy name matching.
    Name,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub company_id: String,
    pub confidence: u8,
    pub reason: MatchReason,
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
            .filter(|c| c.psa_kind.as_deref() == Some("autotask"))
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

    /// The best company for a site, strong signals first.
    pub fn suggest(&self, site_name: &str, autotask_company_id: Option<&str>) -> Option<Suggestion> {
        if let Some(company_id) = autotask_company_id.and_then(|id| self.by_autotask_id.get(id.trim())) {
            return Some(Suggestion {
                company_id: company_id.clone(),
                confidence: 100,
                reason: MatchReason::PsaId,
            });
        }
        self.index.best_match(site_name).map(|m| Suggestion {
            company_id: m.company_id,
            confidence: m.confidence,
            reason: MatchReason::Name,
        })
    }
}

/// What quick match decided for one site.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Map(Suggestion),
    Suggest(Suggestion),
    NoCandidate,
}

/// Quick match for the sites that need it: pure, so that it is tested without storage.
/// Returns the decisions for unmapped mappable sites, in the order given.
pub fn plan_quick_match<'s>(
    sites: &'s [SiteRecord],
    mappings: &HashMap<String, SiteMapping>,
    matcher: &QuickMatcher,
) -> Vec<(&'s SiteRecord, Decision)> {
    sites
        .iter()
        .filter(|s| s.mappable() && !mappings.contains_key(&s.uid))
        .map(|site| {
            let decision = match matcher.suggest(&site.name, site.autotask_company_id.as_deref()) {
                Some(s) if s.confidence >= AUTO_MAP_THRESHOLD => Decision::Map(s),
                Some(s) => Decision::Suggest(s),
                None => Decision::NoCandidate,
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
    pub company: Option<CompanyRef>,
    pub confidence: Option<u8>,
    /// `auto` or `manual`; `null` when quick match has not decided yet.
    pub mapped_by: Option<MappedBy>,
    pub mapped_at: Option<String>,
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
        let (sites, mappings, companies) = tokio::try_join!(
            self.store.sites(tenant, integration),
            self.store.mappings(tenant, integration),
            self.store.all_companies(tenant),
        )?;
        let mappings: HashMap<_, _> = mappings.into_iter().map(|m| (m.site_uid.clone(), m)).collect();
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
                    company,
                    confidence: mapping.filter(|_| mapped).map(|m| m.confidence),
                    mapped_by: mapping.map(|m| m.mapped_by),
                    mapped_at: mapping.map(|m| format_rfc3339(m.mapped_at)),
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
    ) -> Result<SiteRecord, MappingError> {
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
        };
        self.store.put_mapping(tenant, integration, &mapping, false).await?;
        Ok(SiteRow {
            site_uid: site.uid,
            name: site.name,
            device_count: site.device_count,
            autotask_company_id: site.autotask_company_id,
            autotask_company_name: site.autotask_company_name,
            company: Some(CompanyRef {
                id: company.id,
                name: company.name,
            }),
            confidence: Some(100),
            mapped_by: Some(MappedBy::Manual),
            mapped_at: Some(format_rfc3339(mapping.mapped_at)),
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
        };
        self.store.put_mapping(tenant, integration, &mapping, false).await?;
        Ok(())
    }

    /// Quick match: every unmapped site gets its best company; those at 70
    /// and above are mapped. A site mapped by hand meanwhile keeps its mapping.
    pub async fn quick_match(&self, tenant: &TenantId, integration: &str) -> Result<QuickMatchReport, MappingError> {
        self.ensure_integration(tenant, integration).await?;
        let (sites, mappings, companies) = tokio::try_join!(
            self.store.sites(tenant, integration),
            self.store.mappings(tenant, integration),
            self.store.all_companies(tenant),
        )?;
        let mappings: HashMap<_, _> = mappings.into_iter().map(|m| (m.site_uid.clone(), m)).collect();
        let names: HashMap<_, _> = companies.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
        let matcher = QuickMatcher::new(&companies);
        let plan = plan_quick_match(&sites, &mappings, &matcher);
        let skipped = sites.iter().filter(|s| s.mappable()).count() - plan.len();
        let row = |site: &SiteRecord, s: Option<&Suggestion>| QuickMatchRow {
            site_uid: site.uid.clone(),
            site_name: site.name.clone(),
            company: s.map(|s| CompanyRef {
                id: s.company_id.clone(),
                name: names.get(&s.company_id).cloned().unwrap_or_default(),
            }),
            confidence: s.map(|s| s.confidence),
            reason: s.map(|s| s.reason),
        };
        let mut report = QuickMatchReport {
            mapped: vec![],
            suggested: vec![],
            no_candidate: vec![],
            skipped,
        };
        let now = now_millis();
        for (site, decision) in &plan {
            match decision {
                Decision::Map(s) => {
                    let mapping = SiteMapping {
                        site_uid: site.uid.clone(),
                        company_id: Some(s.company_id.clone()),
                        confidence: s.confidence,
                        mapped_by: MappedBy::Auto,
                        mapped_at: now,
                    };
                    if self.store.put_mapping(tenant, integration, &mapping, true).await? {
                        report.mapped.push(row(site, Some(s)));
                    } else {
                        report.skipped += 1;
                    }
                }
                Decision::Suggest(s) => report.suggested.push(row(site, Some(s))),
                Decision::NoCandidate => report.no_candidate.push(row(site, None)),
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
            psa_kind: autotask.map(|_| "autotask".into()),
            psa_id: autotask.map(Into::into),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn site(uid: &str, name: &str, autotask: Option<&str>) -> SiteRecord {
        SiteRecord {
            uid: uid.into(),
            name: name.into(),
            device_count: Some(3),
            autotask_company_id: autotask.map(Into::into),
            autotask_company_name: None,
            pseudo: false,
            removed_at: None,
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
        };
        let mappings = HashMap::from([("s3".to_owned(), manual)]);
        let plan = plan_quick_match(&sites, &mappings, &matcher);
        let by_uid: HashMap<_, _> = plan.iter().map(|(s, d)| (s.uid.as_str(), d)).collect();
        assert_eq!(
            by_uid.len(),
            3,
            "s3 (unmapped by hand) and the pseudo-site are skipped: {plan:?}"
        );
        assert!(matches!(by_uid["s1"], Decision::Map(s) if s.company_id == "c1" && s.reason == MatchReason::Name));
        assert!(
            matches!(by_uid["s2"], Decision::Map(s) if s.company_id == "c2" && s.confidence == 100 && s.reason == MatchReason::PsaId)
        );
        assert!(!matches!(by_uid["s4"], Decision::Map(_)), "{:?}", by_uid["s4"]);
    }
}
