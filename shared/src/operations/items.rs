//! The operations flow's DynamoDB items, all in one partition per tenant:
//!
//! | item | PK | SK |
//! |---|---|---|
//! | a policy | `TENANT#{t}#OPERATIONS` | `POLICY#{operation}` |
//! | an approval request | `TENANT#{t}#OPERATIONS` | `APPROVAL#{id}` |
//! | an audit record | `TENANT#{t}#OPERATIONS` | `AUDIT#{epoch ms, 13 digits}#{id}` |
//!
//! Each holds its JSON in `body`; an approval also keeps `status`, `expiresAt` and
//! `argumentsHash` as attributes, which the conditional write of an approval checks: only a
//! pending, unexpired request whose arguments still hash to what was asked moves on, once.

use super::catalog::{Mode, Operation};
use crate::store::{DynamoStore, Fields, Item, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn pk(tenant: &TenantId) -> String {
    format!("{}#OPERATIONS", keys::tenant_pk(tenant))
}

/// A tenant's policy for one operation (absent: the operation's default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub operation: String,
    pub mode: Mode,
    /// Why (shown when a disabled operation is refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `true` when no policy was set and this is the operation's default.
    pub default: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

impl Policy {
    pub fn default_for(op: Operation) -> Policy {
        Policy {
            operation: op.name().to_owned(),
            mode: op.default_mode(),
            reason: None,
            default: true,
            updated_by: None,
            updated_at: None,
        }
    }
}

/// Where an approval request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    /// Waiting for an approver (until `expiresAt`).
    Pending,
    /// Approved; the operation is running now.
    Running,
    /// Approved and run; `resultSummary` says what it did.
    Executed,
    /// Approved, but the operation failed; `resultSummary` says why.
    Failed,
    Rejected,
    /// Not decided before `expiresAt` (shown so; stored as pending).
    Expired,
    /// Approved and started, but the run never reported back (its function stopped on the
    /// way): it may or may not have reached Datto RMM. Shown so once it has been `running`
    /// for [`RUN_REPORT_WINDOW_MS`]; stored as running, never run again by itself.
    Interrupted,
}

/// How long an approved run may take to record its end before it shows as interrupted:
/// 15 minutes, the longest any Lambda function runs.
pub const RUN_REPORT_WINDOW_MS: i64 = 15 * 60 * 1000;

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Running => "running",
            ApprovalStatus::Executed => "executed",
            ApprovalStatus::Failed => "failed",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Expired => "expired",
            ApprovalStatus::Interrupted => "interrupted",
        }
    }
}

/// An operation waiting for (or past) a person's yes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub id: String,
    pub operation: String,
    pub integration_id: String,
    /// The arguments in canonical form (keys sorted), exactly what an approval runs.
    #[schema(value_type = Object)]
    pub arguments: Value,
    /// SHA-256 (hex) of the canonical arguments' text.
    pub arguments_hash: String,
    /// The JWT `sub` of who asked.
    pub requested_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub requested_at: i64,
    pub expires_at: i64,
    pub status: ApprovalStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_id: Option<String>,
}

impl Approval {
    /// The status as of `now`: a pending request past its expiry shows as expired, a run
    /// that never reported back as interrupted.
    pub fn at(mut self, now: i64) -> Approval {
        if self.status == ApprovalStatus::Pending && now >= self.expires_at {
            self.status = ApprovalStatus::Expired;
        }
        if self.status == ApprovalStatus::Running
            && now >= self.decided_at.unwrap_or(self.requested_at) + RUN_REPORT_WINDOW_MS
        {
            self.status = ApprovalStatus::Interrupted;
            self.result_summary = Some(
                "the approved run never recorded how it ended; it may or may not have reached Datto RMM. \
                 Check the device in Datto RMM and the audit trail before asking again"
                    .into(),
            );
        }
        self
    }
}

/// One operation that ran: who asked, who approved, with what, what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub id: String,
    pub at: i64,
    pub operation: String,
    pub integration_id: String,
    /// The canonical arguments, a quick job's secret-looking variables masked (`***`); the
    /// hash is of the arguments that ran. No UDF value is ever an argument.
    #[schema(value_type = Object)]
    pub arguments: Value,
    pub arguments_hash: String,
    pub requested_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// `auto` or `approval`: the policy it ran under.
    pub mode: Mode,
    pub ok: bool,
    /// What it did or why it failed, in a line (counts and uids, never Datto's free text).
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

pub struct OperationsStore<'a> {
    pub store: &'a DynamoStore,
    pub tenant: &'a TenantId,
}

fn body_of<T: for<'de> Deserialize<'de>>(item: &Item) -> Result<T, StoreError> {
    serde_json::from_str(&Fields(item).s("body")?).map_err(|e| StoreError::Corrupt(format!("operations item: {e}")))
}

fn body<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl OperationsStore<'_> {
    async fn get(&self, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .store
            .client()
            .get_item()
            .table_name(self.store.table())
            .key("PK", s(pk(self.tenant)))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }

    /// Every item whose sort key starts with `prefix`, newest first when `newest_first`, up to `limit`.
    async fn query(&self, prefix: &str, newest_first: bool, limit: usize) -> Result<Vec<Item>, StoreError> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .store
                .client()
                .query()
                .table_name(self.store.table())
                .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
                .expression_attribute_values(":pk", s(pk(self.tenant)))
                .expression_attribute_values(":p", s(prefix))
                .scan_index_forward(!newest_first)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            all.extend(out.items().iter().cloned());
            match out.last_evaluated_key {
                Some(k) if all.len() < limit => start = Some(k),
                _ => break,
            }
        }
        all.truncate(limit);
        Ok(all)
    }

    async fn put(
        &self,
        sk: String,
        entity: &str,
        body: String,
        extra: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
        new_only: bool,
    ) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("PK".into(), s(pk(self.tenant))),
            ("SK".into(), s(sk)),
            ("entity".into(), s(entity)),
            ("body".into(), s(body)),
        ]);
        for (k, v) in extra {
            item.insert(k.into(), v);
        }
        let mut put = self
            .store
            .client()
            .put_item()
            .table_name(self.store.table())
            .set_item(Some(item));
        if new_only {
            put = put.condition_expression("attribute_not_exists(PK)");
        }
        put.send().await.map_err(classify)?;
        Ok(())
    }

    pub async fn policies(&self) -> Result<Vec<Policy>, StoreError> {
        self.query("POLICY#", false, 100).await?.iter().map(body_of).collect()
    }

    pub async fn policy(&self, op: Operation) -> Result<Option<Policy>, StoreError> {
        self.get(format!("POLICY#{}", op.name()))
            .await?
            .as_ref()
            .map(body_of)
            .transpose()
    }

    pub async fn put_policy(&self, op: Operation, policy: &Policy) -> Result<(), StoreError> {
        self.put(
            format!("POLICY#{}", op.name()),
            "operation-policy",
            body(policy)?,
            vec![],
            false,
        )
        .await
    }

    pub async fn create_approval(&self, approval: &Approval) -> Result<(), StoreError> {
        self.put(
            format!("APPROVAL#{}", approval.id),
            "approval",
            body(approval)?,
            vec![
                ("status", s(approval.status.as_str())),
                ("expiresAt", n(approval.expires_at)),
                ("argumentsHash", s(&approval.arguments_hash)),
            ],
            true,
        )
        .await
    }

    pub async fn approval(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        self.get(format!("APPROVAL#{id}"))
            .await?
            .as_ref()
            .map(body_of)
            .transpose()
    }

    pub async fn approvals(&self, limit: usize) -> Result<Vec<Approval>, StoreError> {
        self.query("APPROVAL#", false, limit)
            .await?
            .iter()
            .map(body_of)
            .collect()
    }

    /// Moves a pending, unexpired request whose stored arguments hash is `hash` to `next`
    /// (its new body), in one conditional write: `ConditionFailed` when it was decided
    /// already, expired, or its arguments changed.
    pub async fn decide(&self, next: &Approval, hash: &str, now: i64) -> Result<(), StoreError> {
        self.store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key("PK", s(pk(self.tenant)))
            .key("SK", s(format!("APPROVAL#{}", next.id)))
            .update_expression("SET #st = :next, body = :body")
            .condition_expression("#st = :pending AND expiresAt > :now AND argumentsHash = :hash")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":next", s(next.status.as_str()))
            .expression_attribute_values(":body", s(body(next)?))
            .expression_attribute_values(":pending", s(ApprovalStatus::Pending.as_str()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":hash", s(hash))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Records how an approved run ended (from `running` only).
    pub async fn finish(&self, done: &Approval) -> Result<(), StoreError> {
        self.store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key("PK", s(pk(self.tenant)))
            .key("SK", s(format!("APPROVAL#{}", done.id)))
            .update_expression("SET #st = :next, body = :body")
            .condition_expression("#st = :running")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":next", s(done.status.as_str()))
            .expression_attribute_values(":body", s(body(done)?))
            .expression_attribute_values(":running", s(ApprovalStatus::Running.as_str()))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    pub async fn add_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.put(
            format!("AUDIT#{:013}#{}", record.at.max(0), record.id),
            "operation-audit",
            body(record)?,
            vec![],
            true,
        )
        .await
    }

    /// The audit trail, newest first.
    pub async fn audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.query("AUDIT#", true, limit).await?.iter().map(body_of).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(status: ApprovalStatus, decided_at: Option<i64>) -> Approval {
        Approval {
            id: "a".into(),
            operation: "datto-resolve-alert".into(),
            integration_id: "i".into(),
            arguments: Value::Null,
            arguments_hash: String::new(),
            requested_by: "alice".into(),
            reason: None,
            requested_at: 1_000,
            expires_at: 1_000 + 3_600_000,
            status,
            decided_by: decided_at.map(|_| "bob".into()),
            decided_at,
            note: None,
            result_summary: None,
            audit_id: None,
        }
    }

    #[test]
    fn a_run_that_never_reported_back_shows_as_interrupted_and_nothing_else_changes() {
        let started = 2_000;
        let running = approval(ApprovalStatus::Running, Some(started));
        // Within the window it is still running.
        let shown = running.clone().at(started + RUN_REPORT_WINDOW_MS - 1);
        assert_eq!((shown.status, shown.result_summary), (ApprovalStatus::Running, None));
        let shown = running.at(started + RUN_REPORT_WINDOW_MS);
        assert_eq!(shown.status, ApprovalStatus::Interrupted);
        assert!(shown.result_summary.unwrap().contains("may or may not"));
        // Finished runs and pending requests keep their status.
        let executed = approval(ApprovalStatus::Executed, Some(started)).at(i64::MAX / 2);
        assert_eq!(executed.status, ApprovalStatus::Executed);
        let pending = approval(ApprovalStatus::Pending, None);
        assert_eq!(pending.clone().at(2_000).status, ApprovalStatus::Pending);
        assert_eq!(pending.at(1_000 + 3_600_000).status, ApprovalStatus::Expired);
    }
}
