use crate::companies::Company;
use crate::psa::PsaKind;
use crate::store::{DynamoStore, Fields, Item, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;
use aws_sdk_dynamodb::types::AttributeValue;

pub(crate) fn company_sk(id: &str) -> String {
    format!("COMPANY#{id}")
}

pub(crate) fn company_item(tenant: &TenantId, c: &Company) -> Item {
    let mut item = Item::from([
        ("PK".into(), s(keys::tenant_pk(tenant))),
        ("SK".into(), s(company_sk(&c.id))),
        ("entity".into(), s("company")),
        ("id".into(), s(&c.id)),
        ("name".into(), s(&c.name)),
        ("normalizedName".into(), s(&c.normalized_name)),
        ("source".into(), s(&c.source)),
        ("active".into(), AttributeValue::Bool(c.active)),
        ("createdAt".into(), n(c.created_at)),
        ("updatedAt".into(), n(c.updated_at)),
    ]);
    if let Some(kind) = &c.psa_kind {
        item.insert("psaKind".into(), s(kind.as_str()));
    }
    if let Some(id) = &c.psa_id {
        item.insert("psaId".into(), s(id));
    }
    if let Some(id) = &c.psa_integration_id {
        item.insert("psaIntegrationId".into(), s(id));
    }
    if let Some(t) = &c.company_type {
        item.insert("companyType".into(), s(t));
    }
    item
}

fn from_item(item: &Item) -> Result<Company, StoreError> {
    let f = Fields(item);
    Ok(Company {
        id: f.s("id")?,
        name: f.s("name")?,
        normalized_name: f.s("normalizedName")?,
        source: f.opt_s("source").unwrap_or_else(|| "manual".into()),
        psa_kind: f.opt_s("psaKind").as_deref().and_then(PsaKind::from_link),
        psa_id: f.opt_s("psaId"),
        psa_integration_id: f.opt_s("psaIntegrationId"),
        active: f.opt_b("active").unwrap_or(true),
        company_type: f.opt_s("companyType"),
        created_at: f.n("createdAt")?,
        updated_at: f.n("updatedAt")?,
    })
}

impl DynamoStore {
    pub async fn insert_company(&self, tenant: &TenantId, company: &Company) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(company_item(tenant, company)))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Replaces an existing company; `ConditionFailed` if it is gone.
    pub async fn replace_company(&self, tenant: &TenantId, company: &Company) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(company_item(tenant, company)))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    pub async fn get_company(&self, tenant: &TenantId, id: &str) -> Result<Option<Company>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(keys::tenant_pk(tenant)))
            .key("SK", s(company_sk(id)))
            .send()
            .await
            .map_err(classify)?;
        out.item.as_ref().map(from_item).transpose()
    }

    /// Every company of the tenant (quick match needs them all at once).
    pub async fn all_companies(&self, tenant: &TenantId) -> Result<Vec<Company>, StoreError> {
        let (all, _) = self.page_companies(tenant, None, None, usize::MAX).await?;
        Ok(all)
    }

    /// Companies in id order after `after` (exclusive), whose normalised
    /// name contains `search` (if given), at most `limit`.
    pub async fn page_companies(
        &self,
        tenant: &TenantId,
        search: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Company>, bool), StoreError> {
        let mut found = Vec::new();
        let mut start = after.map(|id| {
            Item::from([
                ("PK".to_owned(), s(keys::tenant_pk(tenant))),
                ("SK".to_owned(), s(company_sk(id))),
            ])
        });
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(keys::tenant_pk(tenant)))
                .expression_attribute_values(":prefix", AttributeValue::S("COMPANY#".into()))
                .set_exclusive_start_key(start.take());
            if let Some(q) = search {
                query = query
                    .filter_expression("contains(normalizedName, :q)")
                    .expression_attribute_values(":q", s(q));
            }
            let out = query.send().await.map_err(classify)?;
            for item in out.items() {
                if found.len() == limit {
                    // One more matched than asked for: there is a next page.
                    return Ok((found, true));
                }
                found.push(from_item(item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((found, false)),
            }
        }
    }

    pub async fn delete_company(&self, tenant: &TenantId, id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(keys::tenant_pk(tenant)))
            .key("SK", s(company_sk(id)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}
