//! The DynamoDB side of mapping from the company side: companies read with their PSA type and
//! status, a mapping written only if the site is not mapped to another company meanwhile, and
//! a site Datto just created stored the way sync stores it. No new item kinds: companies
//! (`COMPANY#`), sites (`SITE#`) and mappings (`SITEMAP#`) are those of the other flows.

use super::SiteMapping;
use super::company_side::CompanyEntry;
use crate::store::{DynamoStore, Fields, Item, StoreError, classify, keys, n, s};
use crate::sync::plan::SiteRecord;
use crate::tenant::TenantId;

fn entry_from_item(item: &Item) -> Result<CompanyEntry, StoreError> {
    let f = Fields(item);
    // `active: false` or `status: "inactive"` (either spelling a PSA import may write) makes a
    // company inactive; a company with neither is active.
    let inactive = f.opt_b("active") == Some(false)
        || f.opt_s("status")
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("inactive"));
    Ok(CompanyEntry {
        id: f.s("id")?,
        name: f.s("name")?,
        psa_kind: f.opt_s("psaKind"),
        psa_id: f.opt_s("psaId"),
        company_type: f.opt_s("companyType").filter(|t| !t.trim().is_empty()),
        active: !inactive,
    })
}

impl DynamoStore {
    /// Every company of the tenant with what the company-side view shows of it.
    pub async fn company_entries(&self, tenant: &TenantId) -> Result<Vec<CompanyEntry>, StoreError> {
        let items = self.query_prefix(keys::tenant_pk(tenant), "COMPANY#").await?;
        items.iter().map(entry_from_item).collect()
    }

    /// Writes a mapping by hand unless the site is mapped to another company (read and
    /// write race-free: the condition is on the stored item); `stale` names a holder that may
    /// be replaced (a company deleted since). `Ok(None)`: written; `Ok(Some(holder))`: the
    /// company that holds the site, nothing written.
    pub async fn put_mapping_unless_taken(
        &self,
        tenant: &TenantId,
        integration: &str,
        m: &SiteMapping,
        stale: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let company = m.company_id.as_deref().unwrap_or_default();
        let mut item = Item::from([
            ("PK".into(), s(keys::integration_pk(tenant, integration))),
            ("SK".into(), s(format!("SITEMAP#{}", m.site_uid))),
            ("entity".into(), s("site-mapping")),
            ("siteUid".into(), s(&m.site_uid)),
            ("confidence".into(), n(i64::from(m.confidence))),
            ("mappedBy".into(), s(m.mapped_by.as_str())),
            ("mappedAt".into(), n(m.mapped_at)),
        ]);
        if !company.is_empty() {
            item.insert("companyId".into(), s(company));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(companyId) OR companyId IN (:c, :stale)")
            .expression_attribute_values(":c", s(company))
            .expression_attribute_values(":stale", s(stale.unwrap_or(company)))
            .send()
            .await
            .map_err(classify);
        match put {
            Ok(_) => Ok(None),
            Err(StoreError::ConditionFailed) => {
                let holder = self
                    .mapping(tenant, integration, &m.site_uid)
                    .await?
                    .and_then(|m| m.company_id)
                    .unwrap_or_default();
                Ok(Some(holder))
            }
            Err(e) => Err(e),
        }
    }

    /// Stores a site Datto RMM just created, as sync would (`SITE#{uid}`), unless sync stored
    /// it already (then the stored one stays).
    pub async fn put_new_site(
        &self,
        tenant: &TenantId,
        integration: &str,
        site: &SiteRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        let item = crate::sync::items::site_item(&keys::integration_pk(tenant, integration), site, now);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(classify);
        match put {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
