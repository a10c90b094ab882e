//! The import's own items, in the PSA integration's partition:
//! `PSAOVERRIDE#{kind}#{psaId}` (a person's decision), `PSARUN#{runId}`
//! (a run, its counts and errors) and `PSAIMPORT#LEASE` (one run at a time).

use super::plan::{Override, OverrideAction};
use super::{ImportRun, PSA_IMPORT_RUNS, RunStatus};
use crate::psa::RecordKind;
use crate::store::{DynamoStore, Fields, Item, Lease, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;
use std::collections::HashMap;

fn override_sk(kind: RecordKind, psa_id: &str) -> String {
    format!("PSAOVERRIDE#{}#{psa_id}", kind.as_str())
}

fn run_sk(run_id: &str) -> String {
    PSA_IMPORT_RUNS.run_sk(run_id)
}

pub struct ImportStore<'a> {
    pub store: &'a DynamoStore,
    pub tenant: &'a TenantId,
    pub integration_id: &'a str,
}

impl ImportStore<'_> {
    fn pk(&self) -> String {
        keys::integration_pk(self.tenant, self.integration_id)
    }

    pub async fn overrides(&self) -> Result<HashMap<(RecordKind, String), Override>, StoreError> {
        let items = self.store.query_prefix(self.pk(), "PSAOVERRIDE#").await?;
        let mut out = HashMap::new();
        for item in &items {
            let f = Fields(item);
            let kind: RecordKind = serde_json::from_value(serde_json::Value::String(f.s("kind")?))
                .map_err(|e| StoreError::Corrupt(format!("override kind: {e}")))?;
            let action: OverrideAction = serde_json::from_value(serde_json::Value::String(f.s("action")?))
                .map_err(|e| StoreError::Corrupt(format!("override action: {e}")))?;
            let o = Override {
                kind,
                psa_id: f.s("psaId")?,
                action,
                target_id: f.opt_s("targetId"),
            };
            out.insert((kind, o.psa_id.clone()), o);
        }
        Ok(out)
    }

    /// Writes overrides; `None` as action removes one (the record is decided by the rules again).
    pub async fn set_overrides(&self, changes: &[(RecordKind, String, Option<Override>)]) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
        let now = crate::time::now_millis();
        let pk = self.pk();
        let requests = changes
            .iter()
            .map(|(kind, psa_id, o)| match o {
                Some(o) => {
                    let mut item = Item::from([
                        ("PK".into(), s(&pk)),
                        ("SK".into(), s(override_sk(*kind, psa_id))),
                        ("entity".into(), s("psa-import-override")),
                        ("kind".into(), s(kind.as_str())),
                        ("psaId".into(), s(psa_id)),
                        (
                            "action".into(),
                            s(serde_json::to_value(&o.action)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .unwrap_or_default()),
                        ),
                        ("updatedAt".into(), n(now)),
                    ]);
                    if let Some(t) = &o.target_id {
                        item.insert("targetId".into(), s(t));
                    }
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item)).build().expect("item set"))
                        .build()
                }
                None => WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .key("PK", s(&pk))
                            .key("SK", s(override_sk(*kind, psa_id)))
                            .build()
                            .expect("key set"),
                    )
                    .build(),
            })
            .collect();
        self.store.batch_write(requests).await
    }

    pub async fn put_run(&self, run: &ImportRun) -> Result<(), StoreError> {
        let body = serde_json::to_string(run).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store
            .client()
            .put_item()
            .table_name(self.store.table())
            .set_item(Some(Item::from([
                ("PK".into(), s(self.pk())),
                ("SK".into(), s(run_sk(&run.run_id))),
                // The stream filter of the import worker keys on these two.
                ("entity".into(), s(PSA_IMPORT_RUNS.entity)),
                ("status".into(), s(run.status.as_str())),
                ("tenant".into(), s(self.tenant.as_str())),
                ("integrationId".into(), s(self.integration_id)),
                ("runId".into(), s(&run.run_id)),
                ("run".into(), s(body)),
            ])))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Moves a run from `from` to its new state only if it is still in `from`
    /// (so two deliveries of the same stream record cannot both run it).
    pub async fn claim_run(&self, run: &ImportRun, from: RunStatus) -> Result<bool, StoreError> {
        let body = serde_json::to_string(run).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let out = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key("PK", s(self.pk()))
            .key("SK", s(run_sk(&run.run_id)))
            .update_expression("SET #status = :to, #run = :run")
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#run", "run")
            .expression_attribute_values(":to", s(run.status.as_str()))
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":run", s(body))
            .send()
            .await;
        match out.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get_run(&self, run_id: &str) -> Result<Option<ImportRun>, StoreError> {
        let out = self
            .store
            .client()
            .get_item()
            .table_name(self.store.table())
            .key("PK", s(self.pk()))
            .key("SK", s(run_sk(run_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.item.as_ref().map(run_from_item).transpose()
    }

    /// A page of runs, newest first (run ids start with their creation
    /// time), after the run `after`; and the cursor of the next page.
    pub async fn runs(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ImportRun>, Option<String>), StoreError> {
        let page = crate::runs::history::list_runs(self.store, &self.pk(), &PSA_IMPORT_RUNS, after, limit).await?;
        let runs = page.items.iter().map(run_from_item).collect::<Result<Vec<_>, _>>()?;
        Ok((runs, page.next_cursor))
    }

    fn lease(pk: &str) -> Lease<'_> {
        PSA_IMPORT_RUNS.lease(pk)
    }

    /// Takes the integration's import lease unless a live run holds it;
    /// returns the holder's run id when refused.
    pub async fn acquire_lease(&self, run_id: &str, now: i64, ttl_ms: i64) -> Result<Result<(), String>, StoreError> {
        let pk = self.pk();
        let taken = self.store.acquire_lease(&Self::lease(&pk), run_id, now, ttl_ms).await?;
        Ok(taken.map_err(Option::unwrap_or_default))
    }

    /// The run holding the lease (live or expired), if any.
    pub async fn lease_holder(&self) -> Result<Option<String>, StoreError> {
        let pk = self.pk();
        Ok(self.store.lease_holder(&Self::lease(&pk)).await?.map(|(run, _)| run))
    }

    pub async fn release_lease(&self, run_id: &str) -> Result<(), StoreError> {
        let pk = self.pk();
        self.store.release_lease(&Self::lease(&pk), run_id).await
    }
}

fn run_from_item(item: &Item) -> Result<ImportRun, StoreError> {
    serde_json::from_str(&Fields(item).s("run")?).map_err(|e| StoreError::Corrupt(format!("import run: {e}")))
}
