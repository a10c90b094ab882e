//! Portal companies: created by hand here, imported from a PSA later (an
//! imported company carries `psa_kind` + `psa_id`, which quick match treats
//! as a certain link to a site with the same Autotask company id).

pub mod directory;
pub mod items;
pub mod routes;

use crate::matching::normalize_name;
use crate::psa::PsaKind;
use crate::store::{Cascade, DynamoStore, StoreError, run_cascades};
use crate::tenant::TenantId;
use crate::time::{format_rfc3339, now_millis};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub id: String,
    pub name: String,
    /// The matcher's key, kept for search.
    pub normalized_name: String,
    /// `manual`, or the PSA kind it was imported from (`autotask`, `connectwise-manage`).
    pub source: String,
    /// The PSA it is linked to: one enum, so every flow compares the same string.
    pub psa_kind: Option<PsaKind>,
    pub psa_id: Option<String>,
    /// The PSA integration that imported or linked it; `None` for a link made
    /// by hand (the first import of that kind to see it takes it over).
    pub psa_integration_id: Option<String>,
    /// False once the linked PSA record is inactive or deleted there (the PSA
    /// import keeps it in step); companies made by hand are active.
    pub active: bool,
    /// The linked PSA company's type by name ("Customer", "Prospect", ...), as the
    /// PSA import last saw it.
    pub company_type: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyView {
    pub id: String,
    pub name: String,
    pub source: String,
    pub psa: Option<PsaRef>,
    /// False when the linked PSA record is inactive or deleted in the PSA.
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PsaRef {
    /// `autotask` or `connectwise-manage` (`connectwise` is accepted as another
    /// name for `connectwise-manage`; answers always say `connectwise-manage`).
    #[schema(pattern = "^(autotask|connectwise-manage|connectwise)$")]
    pub kind: String,
    #[schema(min_length = 1, max_length = 64, pattern = "\\S")]
    pub id: String,
}

impl From<&Company> for CompanyView {
    fn from(c: &Company) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            source: c.source.clone(),
            psa: match (&c.psa_kind, &c.psa_id) {
                (Some(kind), Some(id)) => Some(PsaRef {
                    kind: kind.as_str().to_owned(),
                    id: id.clone(),
                }),
                _ => None,
            },
            active: c.active,
            created_at: format_rfc3339(c.created_at),
            updated_at: format_rfc3339(c.updated_at),
        }
    }
}

// The body of a PATCH, and what a POST decodes (its document: `NewCompany`).
/// Changes to a company: `name`, `psa` or both.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct CompanyInput {
    /// Not blank; at most 200 characters once runs of whitespace are one space.
    /// Absent leaves the name as it is; `null` is refused, as the document says.
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    /// `null` in a PATCH removes the link; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<PsaRef>)]
    pub psa: Option<Option<PsaRef>>,
}

// `POST /companies`'s body as the OpenAPI document states it: a `CompanyInput`
// (which the route decodes) whose `name` is required.
/// A new company.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the document's only: the route decodes CompanyInput
pub struct NewCompany {
    /// Not blank; at most 200 characters once runs of whitespace are one space.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    name: String,
    psa: Option<PsaRef>,
}

fn not_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<PsaRef>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[derive(Debug, thiserror::Error)]
pub enum CompanyError {
    #[error("{0}")]
    Invalid(String),
    #[error("no company {0} for this tenant")]
    NotFound(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

fn checked_name(raw: &str) -> Result<String, CompanyError> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.chars().count() {
        0 => Err(CompanyError::Invalid("`name` must not be empty".into())),
        n if n > 200 => Err(CompanyError::Invalid("`name` is longer than 200 characters".into())),
        _ => Ok(name),
    }
}

/// The link's kind as the one enum every flow compares, and its trimmed id.
fn checked_psa(psa: &PsaRef) -> Result<(PsaKind, String), CompanyError> {
    let Some(kind) = PsaKind::from_link(&psa.kind) else {
        return Err(CompanyError::Invalid(
            "`psa.kind` must be autotask or connectwise-manage".into(),
        ));
    };
    if psa.id.trim().is_empty() || psa.id.len() > 64 {
        return Err(CompanyError::Invalid("`psa.id` must be 1 to 64 characters".into()));
    }
    Ok((kind, psa.id.trim().to_owned()))
}

/// A page of companies and the cursor of the next page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyPage {
    pub companies: Vec<CompanyView>,
    pub next_cursor: Option<String>,
}

pub struct Companies<'a> {
    pub store: &'a DynamoStore,
}

impl Companies<'_> {
    pub async fn create(&self, tenant: &TenantId, input: CompanyInput) -> Result<CompanyView, CompanyError> {
        let name = checked_name(
            input
                .name
                .as_deref()
                .ok_or_else(|| CompanyError::Invalid("`name` is required".into()))?,
        )?;
        let psa = input.psa.flatten().as_ref().map(checked_psa).transpose()?;
        let now = now_millis();
        let company = Company {
            id: uuid::Uuid::new_v4().to_string(),
            normalized_name: normalize_name(&name),
            name,
            source: "manual".into(),
            psa_kind: psa.as_ref().map(|p| p.0),
            psa_id: psa.map(|p| p.1),
            psa_integration_id: None,
            active: true,
            company_type: None,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_company(tenant, &company).await?;
        Ok(CompanyView::from(&company))
    }

    pub async fn get(&self, tenant: &TenantId, id: &str) -> Result<CompanyView, CompanyError> {
        Ok(CompanyView::from(&self.find(tenant, id).await?))
    }

    pub async fn update(&self, tenant: &TenantId, id: &str, input: CompanyInput) -> Result<CompanyView, CompanyError> {
        let mut company = self.find(tenant, id).await?;
        if input.name.is_none() && input.psa.is_none() {
            return Err(CompanyError::Invalid(
                "nothing to change: give `name` and/or `psa`".into(),
            ));
        }
        if let Some(name) = input.name {
            company.name = checked_name(&name)?;
            company.normalized_name = normalize_name(&company.name);
        }
        if let Some(psa) = input.psa {
            let psa = psa.as_ref().map(checked_psa).transpose()?;
            company.psa_kind = psa.as_ref().map(|p| p.0);
            company.psa_id = psa.map(|p| p.1);
            company.psa_integration_id = None;
        }
        company.updated_at = now_millis();
        self.store
            .replace_company(tenant, &company)
            .await
            .map_err(|e| match e {
                StoreError::ConditionFailed => CompanyError::NotFound(id.to_owned()),
                other => other.into(),
            })?;
        Ok(CompanyView::from(&company))
    }

    /// Deletes the company. Whatever points at it lets go first through
    /// `cascades` (the site mapping flow releases the sites mapped to it,
    /// which become undecided again), so an interrupted delete can simply
    /// be repeated.
    pub async fn delete(&self, tenant: &TenantId, id: &str, cascades: &[Arc<dyn Cascade>]) -> Result<(), CompanyError> {
        self.find(tenant, id).await?;
        run_cascades(cascades, tenant, id).await?;
        if !self.store.delete_company(tenant, id).await? {
            return Err(CompanyError::NotFound(id.to_owned()));
        }
        Ok(())
    }

    /// Companies whose name contains `search` (after normalisation), by id, paged.
    pub async fn list(
        &self,
        tenant: &TenantId,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<CompanyPage, CompanyError> {
        let limit = limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(CompanyError::Invalid("`limit` must be between 1 and 500".into()));
        }
        if cursor.is_some_and(|c| uuid::Uuid::parse_str(c).is_err()) {
            return Err(CompanyError::Invalid("`cursor` is not one this API gave out".into()));
        }
        let needle = search.map(normalize_name).filter(|s| !s.is_empty());
        let (found, more) = self
            .store
            .page_companies(tenant, needle.as_deref(), cursor, limit)
            .await?;
        let next_cursor = if more { found.last().map(|c| c.id.clone()) } else { None };
        Ok(CompanyPage {
            companies: found.iter().map(CompanyView::from).collect(),
            next_cursor,
        })
    }

    async fn find(&self, tenant: &TenantId, id: &str) -> Result<Company, CompanyError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(CompanyError::NotFound(id.to_owned()));
        }
        self.store
            .get_company(tenant, id)
            .await?
            .ok_or_else(|| CompanyError::NotFound(id.to_owned()))
    }
}
