//! Mapping from the company side, as Datto's own ConnectWise setup does it: every portal
//! company with its PSA kind, type and status, the sites of one Datto RMM integration mapped
//! to it, and for a company with none the sites quick match would suggest; mapping selected
//! rows in one call; and "create new site" in Datto RMM for a company that has none.
//!
//! Guarantees:
//! - the same rules as the site side: a site maps to one company, pseudo-sites and removed
//!   sites are never mapped, a mapping made here is a person's (`manual`, confidence 100) and
//!   quick match leaves it alone;
//! - a bulk mapping is validated as a whole before anything is written, and every bad row is
//!   named; a row whose site another company holds is reported as a conflict and not applied
//!   (the write is conditional, so a mapping made meanwhile is never overwritten);
//! - creating a site is never done twice ([`crate::datto::DattoClient::create_site_once`]);
//!   the new site is stored as sync stores sites and mapped at once.
//!
//! Suggestions reuse quick match's matcher ([`QuickMatcher`]): every site no company holds is
//! matched against all companies (its Autotask company id first, then its name, the best
//! [`SUGGESTIONS_PER_COMPANY`] candidates), and each company shows the sites that named it,
//! best first. Device evidence is left to quick match itself (`POST .../quick-match`), whose
//! suggestions the site-side table shows.

use super::{CompanyRef, MappedBy, MappingError, MatchReason, QuickMatcher, SiteMapping, SiteMappings, SyncedSite};
use crate::connections::{IntegrationError, IntegrationSettings, Integrations};
use crate::datto::{DattoConnector, DattoError};
use crate::matching::{CompanyIndex, normalize_name};
use crate::secrets::SecretsManager;
use crate::store::{DynamoStore, Lease, StoreError};
use crate::sync::plan::SiteRecord;
use crate::tenant::TenantId;
use crate::time::{format_rfc3339, now_millis};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Suggested sites shown per unmapped company (and candidates taken per site).
pub const SUGGESTIONS_PER_COMPANY: usize = 3;
/// How long one "create new site" holds its company (a crashed call frees it then).
const SITE_CREATE_LEASE_MS: i64 = 60_000;
/// Rows of one bulk mapping.
pub const MAX_BULK_ROWS: usize = 500;
/// Rows of one page of the view.
pub const MAX_PAGE: usize = 200;
const DEFAULT_PAGE: usize = 50;
/// Longest cursor this API gives out (a name of at most 200 characters and an id, in hex).
const MAX_CURSOR: usize = 2_000;

/// A portal company as the view needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanyEntry {
    pub id: String,
    pub name: String,
    pub psa_kind: Option<String>,
    pub psa_id: Option<String>,
    /// The PSA's company type (`Customer`, `Prospect`, ...), when the import recorded one.
    pub company_type: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CompanyStatus {
    Active,
    Inactive,
}

/// A site mapped to the company.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MappedSite {
    pub site_uid: String,
    pub name: String,
    pub device_count: Option<i64>,
    /// The site's page in the Datto RMM web portal.
    pub portal_url: Option<String>,
    pub mapped_by: MappedBy,
    pub confidence: u8,
    pub mapped_at: String,
}

/// A site quick match would give the company.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuggestedSite {
    pub site_uid: String,
    pub name: String,
    pub device_count: Option<i64>,
    /// The site's page in the Datto RMM web portal.
    pub portal_url: Option<String>,
    pub confidence: u8,
    pub reason: MatchReason,
}

/// One row of the company-side table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyMappingRow {
    pub company_id: String,
    pub name: String,
    /// `autotask`, `connectwise-manage`, ...; `null` for a company made by hand.
    pub psa_kind: Option<String>,
    pub psa_id: Option<String>,
    /// The PSA's company type, when known.
    #[serde(rename = "type")]
    pub company_type: Option<String>,
    pub status: CompanyStatus,
    /// The integration's sites mapped to the company, by name.
    pub sites: Vec<MappedSite>,
    /// For a company with no site: the best sites no company holds, best first.
    pub suggestions: Vec<SuggestedSite>,
}

/// The view's filters and page.
#[derive(Debug, Default, Clone)]
pub struct CompanyFilter {
    /// `Some(true)`: companies with a site; `Some(false)`: companies without.
    pub mapped: Option<bool>,
    pub company_type: Option<String>,
    pub status: Option<CompanyStatus>,
    pub search: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// A page of the company-side table.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyMappingPage {
    /// Rows on this page.
    pub count: usize,
    pub companies: Vec<CompanyMappingRow>,
    /// Give it as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// One row of a bulk mapping: a company and either its best suggestion or a site picked by hand.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkRow {
    pub company_id: String,
    /// A site picked by hand; or leave it out and set `acceptSuggestion`.
    #[serde(default)]
    pub site_uid: Option<String>,
    /// Map the company's best suggested site (the first of `suggestions` in the table).
    #[serde(default)]
    pub accept_suggestion: bool,
}

/// The body of a bulk mapping.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkMappingInput {
    /// 1 to 500 rows.
    #[schema(min_items = 1, max_items = 500)]
    pub rows: Vec<BulkRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BulkOutcome {
    /// Mapped now.
    Mapped,
    /// The site was mapped to this company already.
    Unchanged,
    /// Another company holds the site: nothing written (unmap it there first).
    Conflict,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkRowResult {
    /// The row's position in the request, from 0.
    pub index: usize,
    pub company_id: String,
    pub site_uid: String,
    pub outcome: BulkOutcome,
    /// For a conflict: the company that holds the site.
    pub held_by: Option<CompanyRef>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkMappingResult {
    pub mapped: usize,
    pub unchanged: usize,
    pub conflicts: usize,
    pub rows: Vec<BulkRowResult>,
}

/// What "create new site" did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteCreatedForCompany {
    pub company_id: String,
    /// `false`: Datto RMM had a site of that name already, and it was mapped instead.
    pub created: bool,
    pub site: MappedSite,
}

#[derive(Debug, thiserror::Error)]
pub enum CompanySideError {
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// Rows that cannot be applied; nothing was written.
    #[error("{0}")]
    InvalidRows(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Integration(#[from] IntegrationError),
    #[error(transparent)]
    Datto(#[from] DattoError),
}

impl From<StoreError> for CompanySideError {
    fn from(e: StoreError) -> Self {
        CompanySideError::Mapping(MappingError::Store(e))
    }
}

/// A mapping a person made from the company side: certain, by hand.
pub(super) fn manual_mapping(site_uid: &str, company_id: &str, now: i64) -> SiteMapping {
    SiteMapping {
        site_uid: site_uid.to_owned(),
        company_id: Some(company_id.to_owned()),
        confidence: 100,
        mapped_by: MappedBy::Manual,
        mapped_at: now,
        explanation: None,
    }
}

fn invalid(message: impl Into<String>) -> CompanySideError {
    CompanySideError::Mapping(MappingError::Invalid(message.into()))
}

fn sort_key(name: &str, id: &str) -> (String, String) {
    (name.to_lowercase(), id.to_owned())
}

fn encode_cursor(name: &str, id: &str) -> String {
    let (name, id) = sort_key(name, id);
    format!("{name}\n{id}").bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Option<(String, String)> {
    if cursor.len() > MAX_CURSOR || !cursor.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (name, id) = text.split_once('\n')?;
    Some((name.to_owned(), id.to_owned()))
}

/// The matcher over the tenant's companies, as quick match builds it.
fn matcher(companies: &[CompanyEntry]) -> QuickMatcher {
    QuickMatcher {
        index: CompanyIndex::new(companies.iter().map(|c| (c.id.clone(), c.name.as_str()))),
        by_autotask_id: companies
            .iter()
            .filter(|c| c.psa_kind.as_deref() == Some("autotask"))
            .filter_map(|c| Some((c.psa_id.clone()?.trim().to_owned(), c.id.clone())))
            .collect(),
    }
}

/// The whole table, every company in name order: pure, so that it is tested without storage.
pub fn company_rows(
    companies: &[CompanyEntry],
    sites: &[SyncedSite],
    mappings: &HashMap<String, SiteMapping>,
) -> Vec<CompanyMappingRow> {
    let known: HashSet<&str> = companies.iter().map(|c| c.id.as_str()).collect();
    let holder = |site: &SyncedSite| {
        mappings
            .get(&site.uid)
            .and_then(|m| m.company_id.as_deref())
            .filter(|c| known.contains(c))
    };
    let mut mapped: HashMap<&str, Vec<MappedSite>> = HashMap::new();
    let mut free: Vec<&SyncedSite> = Vec::new();
    for site in sites.iter().filter(|s| s.mappable()) {
        match (holder(site), mappings.get(&site.uid)) {
            (Some(company), Some(m)) => mapped.entry(company).or_default().push(MappedSite {
                site_uid: site.uid.clone(),
                name: site.name.clone(),
                device_count: site.device_count,
                portal_url: site.portal_url.clone(),
                mapped_by: m.mapped_by,
                confidence: m.confidence,
                mapped_at: format_rfc3339(m.mapped_at),
            }),
            _ => free.push(site),
        }
    }
    // Suggestions: each free site's candidates, gathered per company.
    let matcher = matcher(companies);
    let mut suggested: HashMap<String, Vec<SuggestedSite>> = HashMap::new();
    for site in free {
        let mut candidates: Vec<(String, u8, MatchReason)> = Vec::new();
        if let Some(owner) = site
            .autotask_company_id
            .as_deref()
            .and_then(|id| matcher.by_autotask_id.get(id.trim()))
        {
            candidates.push((owner.clone(), 100, MatchReason::PsaId));
        }
        for m in matcher.index.top_matches(&site.name, SUGGESTIONS_PER_COMPANY) {
            if m.confidence > 0 && !candidates.iter().any(|(c, _, _)| *c == m.company_id) {
                candidates.push((m.company_id, m.confidence, MatchReason::Name));
            }
        }
        for (company, confidence, reason) in candidates {
            suggested.entry(company).or_default().push(SuggestedSite {
                site_uid: site.uid.clone(),
                name: site.name.clone(),
                device_count: site.device_count,
                portal_url: site.portal_url.clone(),
                confidence,
                reason,
            });
        }
    }
    let mut rows: Vec<CompanyMappingRow> = companies
        .iter()
        .map(|c| {
            let mut sites = mapped.remove(c.id.as_str()).unwrap_or_default();
            sites.sort_by_cached_key(|s| sort_key(&s.name, &s.site_uid));
            let mut suggestions = if sites.is_empty() {
                suggested.remove(&c.id).unwrap_or_default()
            } else {
                Vec::new()
            };
            suggestions.sort_by(|a, b| {
                b.confidence
                    .cmp(&a.confidence)
                    .then_with(|| sort_key(&a.name, &a.site_uid).cmp(&sort_key(&b.name, &b.site_uid)))
            });
            suggestions.truncate(SUGGESTIONS_PER_COMPANY);
            CompanyMappingRow {
                company_id: c.id.clone(),
                name: c.name.clone(),
                psa_kind: c.psa_kind.clone(),
                psa_id: c.psa_id.clone(),
                company_type: c.company_type.clone(),
                status: if c.active {
                    CompanyStatus::Active
                } else {
                    CompanyStatus::Inactive
                },
                sites,
                suggestions,
            }
        })
        .collect();
    rows.sort_by_cached_key(|r| sort_key(&r.name, &r.company_id));
    rows
}

/// One page of `rows` (in name order) under `filter`.
pub fn page(rows: Vec<CompanyMappingRow>, filter: &CompanyFilter) -> Result<CompanyMappingPage, MappingError> {
    let limit = filter.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(MappingError::Invalid(format!(
            "`limit` must be between 1 and {MAX_PAGE}"
        )));
    }
    let after = match filter.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            decode_cursor(c).ok_or_else(|| MappingError::Invalid("`cursor` is not one this API gave out".into()))?,
        ),
    };
    let needle = filter.search.as_deref().map(normalize_name).filter(|n| !n.is_empty());
    let wanted_type = filter.company_type.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let mut matching = rows
        .into_iter()
        .filter(|r| after.as_ref().is_none_or(|a| sort_key(&r.name, &r.company_id) > *a))
        .filter(|r| filter.mapped.is_none_or(|m| m != r.sites.is_empty()))
        .filter(|r| filter.status.is_none_or(|s| s == r.status))
        .filter(|r| {
            wanted_type.is_none_or(|t| {
                r.company_type
                    .as_deref()
                    .is_some_and(|ct| ct.trim().eq_ignore_ascii_case(t))
            })
        })
        .filter(|r| {
            needle
                .as_ref()
                .is_none_or(|n| normalize_name(&r.name).contains(n.as_str()))
        });
    let companies: Vec<CompanyMappingRow> = matching.by_ref().take(limit).collect();
    let next_cursor = match (matching.next(), companies.last()) {
        (Some(_), Some(last)) => Some(encode_cursor(&last.name, &last.company_id)),
        _ => None,
    };
    Ok(CompanyMappingPage {
        count: companies.len(),
        companies,
        next_cursor,
    })
}

/// A bulk row checked against the table: the site it maps.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRow {
    pub index: usize,
    pub company_id: String,
    pub site_uid: String,
}

/// Checks every row of a bulk mapping against the table; every bad row is named in one
/// message. Pure.
pub fn check_rows(
    input: &[BulkRow],
    rows: &[CompanyMappingRow],
    sites: &[SyncedSite],
) -> Result<Vec<CheckedRow>, CompanySideError> {
    if input.is_empty() || input.len() > MAX_BULK_ROWS {
        return Err(invalid(format!("`rows` must hold 1 to {MAX_BULK_ROWS} rows")));
    }
    let by_company: HashMap<&str, &CompanyMappingRow> = rows.iter().map(|r| (r.company_id.as_str(), r)).collect();
    let by_site: HashMap<&str, &SyncedSite> = sites.iter().map(|s| (s.uid.as_str(), s)).collect();
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    let mut taken: HashMap<String, usize> = HashMap::new();
    for (index, row) in input.iter().enumerate() {
        let company = by_company.get(row.company_id.as_str());
        let site_uid = match (row.site_uid.as_deref().map(str::trim), row.accept_suggestion) {
            (Some(_), true) | (None, false) => {
                problems.push(format!(
                    "row {index}: give either `siteUid` or `acceptSuggestion: true`"
                ));
                continue;
            }
            (Some(uid), false) => uid.to_owned(),
            (None, true) => match company.and_then(|c| c.suggestions.first()) {
                Some(s) => s.site_uid.clone(),
                None if company.is_some() => {
                    problems.push(format!("row {index}: company {} has no suggested site", row.company_id));
                    continue;
                }
                None => String::new(),
            },
        };
        let Some(company) = company else {
            problems.push(format!("row {index}: no company {} for this tenant", row.company_id));
            continue;
        };
        match by_site.get(site_uid.as_str()) {
            None => problems.push(format!(
                "row {index}: no site {site_uid} in this integration (has it synced?)"
            )),
            Some(s) if s.pseudo => problems.push(format!(
                "row {index}: {} is a Datto RMM system site and cannot be mapped",
                s.name
            )),
            Some(s) if s.removed_at.is_some() => {
                problems.push(format!("row {index}: site {} was removed from Datto RMM", s.name))
            }
            Some(_) => {
                if let Some(first) = taken.get(&site_uid) {
                    problems.push(format!(
                        "row {index}: site {site_uid} is already in row {first}; a site maps to one company"
                    ));
                    continue;
                }
                taken.insert(site_uid.clone(), index);
                checked.push(CheckedRow {
                    index,
                    company_id: company.company_id.clone(),
                    site_uid,
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(CompanySideError::InvalidRows(format!(
            "{} of {} rows cannot be applied, so nothing was mapped: {}",
            problems.len(),
            input.len(),
            problems.join("; ")
        )))
    }
}

/// The company-side service.
pub struct CompanySide<'a> {
    pub store: &'a DynamoStore,
    pub secrets: &'a SecretsManager,
    pub datto: &'a DattoConnector,
}

struct Loaded {
    companies: Vec<CompanyEntry>,
    sites: Vec<SyncedSite>,
    mappings: HashMap<String, SiteMapping>,
}

impl CompanySide<'_> {
    async fn load(&self, tenant: &TenantId, integration: &str) -> Result<Loaded, CompanySideError> {
        SiteMappings { store: self.store }
            .ensure_integration(tenant, integration)
            .await?;
        let (companies, sites, mappings) = tokio::try_join!(
            self.store.company_entries(tenant),
            self.store.sites(tenant, integration),
            self.store.mappings(tenant, integration),
        )?;
        Ok(Loaded {
            companies,
            sites,
            mappings: mappings.into_iter().map(|m| (m.site_uid.clone(), m)).collect(),
        })
    }

    /// The company-side table, one page.
    pub async fn table(
        &self,
        tenant: &TenantId,
        integration: &str,
        filter: &CompanyFilter,
    ) -> Result<CompanyMappingPage, CompanySideError> {
        // Bad parameters answer 400 before anything is read.
        page(Vec::new(), filter)?;
        let loaded = self.load(tenant, integration).await?;
        let rows = company_rows(&loaded.companies, &loaded.sites, &loaded.mappings);
        Ok(page(rows, filter)?)
    }

    /// Maps the selected rows: validated as a whole, then applied row by row under the
    /// site-side rules (a site another company holds is a conflict, left as it is).
    pub async fn bulk_map(
        &self,
        tenant: &TenantId,
        integration: &str,
        input: &[BulkRow],
    ) -> Result<BulkMappingResult, CompanySideError> {
        if input.is_empty() || input.len() > MAX_BULK_ROWS {
            return Err(invalid(format!("`rows` must hold 1 to {MAX_BULK_ROWS} rows")));
        }
        let loaded = self.load(tenant, integration).await?;
        let rows = company_rows(&loaded.companies, &loaded.sites, &loaded.mappings);
        let checked = check_rows(input, &rows, &loaded.sites)?;
        let names: HashMap<&str, &str> = loaded
            .companies
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str()))
            .collect();
        let now = now_millis();
        let mut result = BulkMappingResult {
            mapped: 0,
            unchanged: 0,
            conflicts: 0,
            rows: Vec::with_capacity(checked.len()),
        };
        for row in checked {
            let current = loaded.mappings.get(&row.site_uid).and_then(|m| m.company_id.clone());
            let (outcome, holder) = match current {
                Some(c) if c == row.company_id => (BulkOutcome::Unchanged, None),
                Some(c) if names.contains_key(c.as_str()) => (BulkOutcome::Conflict, Some(c)),
                // Free, or held by a company deleted since.
                stale => {
                    let mapping = manual_mapping(&row.site_uid, &row.company_id, now);
                    match self
                        .store
                        .put_mapping_unless_taken(tenant, integration, &mapping, stale.as_deref())
                        .await?
                    {
                        None => (BulkOutcome::Mapped, None),
                        Some(h) if h == row.company_id => (BulkOutcome::Unchanged, None),
                        Some(h) => (BulkOutcome::Conflict, Some(h)),
                    }
                }
            };
            match outcome {
                BulkOutcome::Mapped => result.mapped += 1,
                BulkOutcome::Unchanged => result.unchanged += 1,
                BulkOutcome::Conflict => result.conflicts += 1,
            }
            result.rows.push(BulkRowResult {
                index: row.index,
                company_id: row.company_id,
                site_uid: row.site_uid,
                outcome,
                held_by: holder.map(|id| CompanyRef {
                    name: names.get(id.as_str()).map(|n| (*n).to_owned()).unwrap_or_default(),
                    id,
                }),
            });
        }
        tracing::info!(
            tenant = %tenant, integration, mapped = result.mapped, unchanged = result.unchanged,
            conflicts = result.conflicts, "bulk mapping done"
        );
        Ok(result)
    }

    /// "Create new site": a Datto RMM site named after a company that has none in this
    /// integration, stored as sync stores it and mapped to the company at once. A site of
    /// that name already in Datto (an earlier attempt whose answer was lost) is mapped
    /// instead of a second one being made.
    pub async fn create_site(
        &self,
        tenant: &TenantId,
        integration: &str,
        company_id: &str,
    ) -> Result<SiteCreatedForCompany, CompanySideError> {
        let loaded = self.load(tenant, integration).await?;
        let company = loaded
            .companies
            .iter()
            .find(|c| c.id == company_id)
            .ok_or_else(|| MappingError::NotFound(format!("no company {company_id} for this tenant")))?;
        let holds: Vec<&str> = loaded
            .sites
            .iter()
            .filter(|s| s.mappable())
            .filter(|s| loaded.mappings.get(&s.uid).and_then(|m| m.company_id.as_deref()) == Some(company_id))
            .map(|s| s.name.as_str())
            .collect();
        if !holds.is_empty() {
            return Err(CompanySideError::Conflict(format!(
                "{} has a site in this integration already ({}); a new site is only made for a company without one",
                company.name,
                holds.join(", ")
            )));
        }
        // One create per company at a time (a double click, two admins): the second waits
        // for nothing and is told so. The lease expires by itself if this call dies.
        let pk = crate::store::keys::integration_pk(tenant, integration);
        let sk = format!("SITECREATE#{company_id}");
        let lease = Lease {
            pk: &pk,
            sk: &sk,
            entity: "site-create-lease",
        };
        let me = uuid::Uuid::new_v4().to_string();
        if self
            .store
            .acquire_lease(&lease, &me, now_millis(), SITE_CREATE_LEASE_MS)
            .await?
            .is_err()
        {
            return Err(CompanySideError::Conflict(format!(
                "a site is being created for {} right now; look again in a minute",
                company.name
            )));
        }
        let made = self.create_and_map(tenant, integration, company, &loaded).await;
        self.store.release_lease(&lease, &me).await?;
        made
    }

    async fn create_and_map(
        &self,
        tenant: &TenantId,
        integration: &str,
        company: &CompanyEntry,
        loaded: &Loaded,
    ) -> Result<SiteCreatedForCompany, CompanySideError> {
        let company_id = company.id.as_str();
        let settings = IntegrationSettings::default();
        let (integration_record, credentials) = Integrations {
            store: self.store,
            secrets: self.secrets,
            datto: self.datto,
            settings: &settings,
        }
        .credentials(tenant, integration)
        .await?;
        let client = self.datto.client(integration_record.platform, credentials)?;
        let made = client.create_site_once(&company.name, None).await?;
        let mut record = SiteRecord::from_datto(&made.site).ok_or_else(|| DattoError::InvalidResponse {
            path: "/api/v2/site".into(),
            detail: "the new site has no uid".into(),
        })?;
        let now = now_millis();
        record.first_seen_at = Some(now);
        self.store.put_new_site(tenant, integration, &record, now).await?;
        let mapping = manual_mapping(&record.uid, company_id, now);
        if let Some(holder) = self
            .store
            .put_mapping_unless_taken(tenant, integration, &mapping, None)
            .await?
            .filter(|h| h != company_id)
        {
            let holder_name = loaded
                .companies
                .iter()
                .find(|c| c.id == holder)
                .map_or(holder.as_str(), |c| c.name.as_str());
            return Err(CompanySideError::Conflict(format!(
                "Datto RMM already has a site named {} and it is mapped to {holder_name}",
                company.name
            )));
        }
        tracing::info!(
            tenant = %tenant, integration, company = company_id, site = %record.uid, created = made.created,
            attempts = made.attempts, "site created for company"
        );
        Ok(SiteCreatedForCompany {
            company_id: company_id.to_owned(),
            created: made.created,
            site: MappedSite {
                site_uid: record.uid,
                name: record.name.unwrap_or_else(|| company.name.clone()),
                device_count: record.device_count,
                portal_url: record.portal_url,
                mapped_by: MappedBy::Manual,
                confidence: 100,
                mapped_at: format_rfc3339(now),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company(id: &str, name: &str, kind: Option<(&str, &str)>, ty: Option<&str>, active: bool) -> CompanyEntry {
        CompanyEntry {
            id: id.into(),
            name: name.into(),
            psa_kind: kind.map(|k| k.0.into()),
            psa_id: kind.map(|k| k.1.into()),
            company_type: ty.map(Into::into),
            active,
        }
    }

    fn site(uid: &str, name: &str) -> SyncedSite {
        SyncedSite {
            uid: uid.into(),
            name: name.into(),
            device_count: Some(2),
            autotask_company_id: None,
            autotask_company_name: None,
            pseudo: false,
            removed_at: None,
            portal_url: Some(format!("https://merlot.centrastage.net/csm/profile/summary/{uid}")),
        }
    }

    fn world() -> (Vec<CompanyEntry>, Vec<SyncedSite>, HashMap<String, SiteMapping>) {
        let companies = vec![
            company("c1", "Smith Dental", None, Some("Customer"), true),
            company(
                "c2",
                "Harbor View Church",
                Some(("autotask", "77")),
                Some("Customer"),
                true,
            ),
            company("c3", "Zeta Quantum", None, Some("Prospect"), false),
            company("c4", "Lonely Llama Ltd", None, None, true),
        ];
        let mut hq = site("s3", "HQ");
        hq.autotask_company_id = Some("77".into());
        let mut pseudo = site("p", "Deleted Devices");
        pseudo.pseudo = true;
        let sites = vec![
            site("s1", "Smith Dental - Main Office"),
            site("s2", "Smith Dental Lab"),
            hq,
            site("s4", "Zeta Quantum Parts"),
            pseudo,
        ];
        let mappings = HashMap::from([("s1".to_owned(), manual_mapping("s1", "c1", 1))]);
        (companies, sites, mappings)
    }

    #[test]
    fn rows_show_sites_suggestions_type_and_status() {
        let (companies, sites, mappings) = world();
        let rows = company_rows(&companies, &sites, &mappings);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["Harbor View Church", "Lonely Llama Ltd", "Smith Dental", "Zeta Quantum"]
        );
        let smith = &rows[2];
        assert_eq!(smith.sites.len(), 1);
        assert_eq!(smith.sites[0].site_uid, "s1");
        assert!(smith.sites[0].portal_url.as_deref().unwrap().starts_with("https://"));
        assert!(smith.suggestions.is_empty(), "a mapped company gets no suggestions");
        let harbor = &rows[0];
        assert_eq!(harbor.suggestions[0].site_uid, "s3");
        assert_eq!(
            (harbor.suggestions[0].confidence, harbor.suggestions[0].reason),
            (100, MatchReason::PsaId)
        );
        let zeta = &rows[3];
        assert_eq!(zeta.status, CompanyStatus::Inactive);
        assert_eq!(zeta.company_type.as_deref(), Some("Prospect"));
        assert_eq!(zeta.suggestions[0].site_uid, "s4");
        assert!(
            rows.iter().flat_map(|r| &r.suggestions).all(|s| s.site_uid != "p"),
            "pseudo-sites are never suggested"
        );
    }

    #[test]
    fn filters_and_cursor_walk_every_row_once() {
        let (companies, sites, mappings) = world();
        let rows = company_rows(&companies, &sites, &mappings);
        let filter = |f: CompanyFilter| page(rows.clone(), &f).unwrap();
        let ids = |p: &CompanyMappingPage| p.companies.iter().map(|r| r.company_id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&filter(CompanyFilter {
                mapped: Some(true),
                ..Default::default()
            })),
            ["c1"]
        );
        assert_eq!(
            ids(&filter(CompanyFilter {
                company_type: Some("customer".into()),
                status: Some(CompanyStatus::Active),
                ..Default::default()
            })),
            ["c2", "c1"]
        );
        assert_eq!(
            ids(&filter(CompanyFilter {
                search: Some("QUANTUM".into()),
                ..Default::default()
            })),
            ["c3"]
        );
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let p = filter(CompanyFilter {
                cursor: cursor.clone(),
                limit: Some(3),
                ..Default::default()
            });
            seen.extend(ids(&p));
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, ["c2", "c4", "c1", "c3"]);
        for bad in ["zz", "abc", &"a".repeat(3000)] {
            assert!(
                page(
                    rows.clone(),
                    &CompanyFilter {
                        cursor: Some(bad.to_owned()),
                        ..Default::default()
                    }
                )
                .is_err()
            );
        }
        assert!(
            page(
                rows.clone(),
                &CompanyFilter {
                    limit: Some(0),
                    ..Default::default()
                }
            )
            .is_err()
        );
    }

    #[test]
    fn bulk_rows_are_checked_as_a_whole() {
        let (companies, sites, mappings) = world();
        let rows = company_rows(&companies, &sites, &mappings);
        let row = |c: &str, s: Option<&str>, accept: bool| BulkRow {
            company_id: c.into(),
            site_uid: s.map(Into::into),
            accept_suggestion: accept,
        };
        let ok = check_rows(&[row("c2", None, true), row("c3", Some("s4"), false)], &rows, &sites).unwrap();
        assert_eq!(ok.iter().map(|r| r.site_uid.as_str()).collect::<Vec<_>>(), ["s3", "s4"]);
        let Err(CompanySideError::InvalidRows(message)) = check_rows(
            &[
                row("c2", None, true),
                row("nope", Some("s4"), false),
                row("c3", Some("p"), false),
                row("c4", Some("s3"), false),
                row("c1", None, false),
            ],
            &rows,
            &sites,
        ) else {
            panic!("bad rows pass")
        };
        for named in ["row 1:", "row 2:", "row 3:", "row 4:"] {
            assert!(message.contains(named), "{named} in {message}");
        }
        assert!(!message.contains("row 0:"), "{message}");
    }
}
