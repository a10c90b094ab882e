//! The operations service: asks for an operation under the tenant's policy (run it, store
//! it as an approval request, or refuse it), approves and rejects requests, runs an
//! operation against Datto RMM, and writes the audit trail.
//!
//! Guarantees:
//! - nothing that needs an approval runs without one: the only path to a gated run is
//!   [`Operations::approve`], by a caller who holds the approver role and is not the requester;
//! - an approval runs the stored canonical arguments, once: a conditional write moves the
//!   request from pending to running only while it is unexpired and its arguments still hash
//!   to what was asked;
//! - every run (auto or approved) leaves an audit record; results are summarised there
//!   without Datto's free text, and UDFs never leave the Datto client.

use super::catalog::{
    AlertState, AuditKind, Call, Mode, Operation, QuickJobArgs, UNTRUSTED_NOTICE, canonical_json, mark_untrusted,
    sha256_hex,
};
use super::items::{Approval, ApprovalStatus, AuditRecord, OperationsStore, Policy};
use crate::api::Caller;
use crate::connections::{IntegrationError, IntegrationSettings, Integrations};
use crate::datto::{AlertScope, Component, DattoClient, DattoConnector, DattoError, DeviceScope, QuickJobRequest};
use crate::secrets::SecretsManager;
use crate::store::{DynamoStore, StoreError};
use crate::tenant::TenantId;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Settings of the flow: `APPROVER_ROLE` (default `rmm-approver`), `APPROVAL_TTL_SECS`
/// (default 3600).
#[derive(Debug, Clone)]
pub struct OperationSettings {
    pub approver_role: String,
    pub approval_ttl_ms: i64,
    /// Web origins whose pages may call `/mcp` (`MCP_ALLOWED_ORIGINS`, comma-separated;
    /// none by default). A request without an `Origin` header (any client that is not a
    /// browser page) is not affected.
    pub mcp_allowed_origins: Vec<String>,
}

impl Default for OperationSettings {
    fn default() -> Self {
        Self {
            approver_role: "rmm-approver".into(),
            approval_ttl_ms: 3_600_000,
            mcp_allowed_origins: Vec::new(),
        }
    }
}

impl OperationSettings {
    pub fn from_env() -> Self {
        let mut s = Self::default();
        if let Ok(r) = std::env::var("APPROVER_ROLE")
            && !r.trim().is_empty()
        {
            s.approver_role = r.trim().to_owned();
        }
        if let Some(secs) = std::env::var("APPROVAL_TTL_SECS")
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
            && secs > 0
        {
            s.approval_ttl_ms = secs * 1000;
        }
        if let Ok(origins) = std::env::var("MCP_ALLOWED_ORIGINS") {
            s.mcp_allowed_origins = parse_origins(&origins);
        }
        s
    }
}

/// `https://a.example, https://b.example/` -> the origins, without trailing slashes.
fn parse_origins(list: &str) -> Vec<String> {
    list.split(',').map(normal_origin).filter(|o| !o.is_empty()).collect()
}

/// An origin as compared: trimmed, no trailing slash, lower case.
fn normal_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

impl OperationSettings {
    /// Whether a request with this `Origin` header (if any) may use `/mcp`.
    pub fn mcp_origin_allowed(&self, origin: Option<&str>) -> bool {
        origin.is_none_or(|o| self.mcp_allowed_origins.contains(&normal_origin(o)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the token names no user (`sub`): operations need to know who asks")]
    NoUser,
    #[error("{operation} is disabled for this tenant: {reason}")]
    Disabled { operation: &'static str, reason: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// The Datto integration is switched off: nothing is asked of Datto RMM.
    #[error("integration {0} is switched off; enable it to act on its Datto RMM account")]
    IntegrationOff(String),
    /// The component name matched none or several components.
    #[error("{0}")]
    Component(String),
    #[error(transparent)]
    Datto(#[from] DattoError),
    #[error(transparent)]
    Integration(#[from] IntegrationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OperationError {
    pub fn code(&self) -> &'static str {
        match self {
            OperationError::Invalid(_) => "invalid_request",
            OperationError::NotFound(_) => "not_found",
            OperationError::NoUser => "unauthorized",
            OperationError::Disabled { .. } => "operation_disabled",
            OperationError::Forbidden(_) => "forbidden",
            OperationError::Conflict(_) => "approval_closed",
            OperationError::IntegrationOff(_) => "integration_disabled",
            OperationError::Component(_) => "component_not_resolved",
            OperationError::Datto(e) => e.code(),
            OperationError::Integration(_) => "integration",
            OperationError::Store(_) => "store",
        }
    }
}

/// What asking for (or approving) an operation came to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all_fields = "camelCase", tag = "status")]
pub enum Outcome {
    /// It ran; `result` is Datto's answer with its free text marked as data.
    #[serde(rename = "done")]
    Done {
        operation: String,
        audit_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        approval_id: Option<String>,
        data_notice: String,
        #[schema(value_type = Object)]
        result: Value,
    },
    /// It waits for a person's approval; nothing ran.
    #[serde(rename = "pending_approval")]
    Pending { approval: Box<Approval>, message: String },
}

/// Datto RMM clients kept between requests of one process, so that a token (valid for 100
/// hours) and the account's rate limiter are reused rather than a grant made per request.
/// Keyed by tenant, integration and when its credentials last changed: a rotation makes a
/// new client. Bounded: emptied when it reaches [`DattoClients::MAX`] entries.
#[derive(Debug, Clone, Default)]
pub struct DattoClients(Arc<Mutex<HashMap<String, Arc<DattoClient>>>>);

impl DattoClients {
    pub const MAX: usize = 256;

    fn get(&self, key: &str) -> Option<Arc<DattoClient>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned()
    }

    fn put(&self, key: String, client: Arc<DattoClient>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(key, client);
    }
}

/// Everything the flow calls, built per request from the process's clients.
pub struct Operations<'a> {
    pub clients: &'a DattoClients,
    pub store: &'a DynamoStore,
    pub secrets: &'a SecretsManager,
    pub datto: &'a DattoConnector,
    pub integration_settings: &'a IntegrationSettings,
    pub settings: &'a OperationSettings,
    pub clock: fn() -> i64,
}

fn user(caller: &Caller) -> Result<&str, OperationError> {
    caller
        .user
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or(OperationError::NoUser)
}

impl Operations<'_> {
    fn items<'s>(&'s self, tenant: &'s TenantId) -> OperationsStore<'s> {
        OperationsStore {
            store: self.store,
            tenant,
        }
    }

    fn is_approver(&self, caller: &Caller) -> bool {
        caller.roles.iter().any(|r| r == &self.settings.approver_role)
    }

    /// Every operation's policy for the tenant, defaults filled in.
    pub async fn policies(&self, tenant: &TenantId) -> Result<Vec<Policy>, OperationError> {
        let stored = self.items(tenant).policies().await?;
        Ok(Operation::ALL
            .into_iter()
            .map(|op| {
                stored
                    .iter()
                    .find(|p| p.operation == op.name())
                    .cloned()
                    .unwrap_or_else(|| Policy::default_for(op))
            })
            .collect())
    }

    pub async fn policy(&self, tenant: &TenantId, op: Operation) -> Result<Policy, OperationError> {
        Ok(self
            .items(tenant)
            .policy(op)
            .await?
            .unwrap_or_else(|| Policy::default_for(op)))
    }

    /// Sets a policy; only an approver may (else a requester could make a gated operation auto).
    pub async fn set_policy(
        &self,
        caller: &Caller,
        operation: &str,
        mode: Mode,
        reason: Option<String>,
    ) -> Result<Policy, OperationError> {
        let who = user(caller)?;
        let op = Operation::parse(operation).ok_or_else(|| unknown_operation(operation))?;
        if !self.is_approver(caller) {
            return Err(OperationError::Forbidden(format!(
                "setting a policy needs the `{}` role",
                self.settings.approver_role
            )));
        }
        let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if mode == Mode::Disabled && reason.is_none() {
            return Err(OperationError::Invalid(
                "`reason` is required to disable an operation (it is shown to whoever asks for it)".into(),
            ));
        }
        let policy = Policy {
            operation: op.name().to_owned(),
            mode,
            reason,
            default: false,
            updated_by: Some(who.to_owned()),
            updated_at: Some((self.clock)()),
        };
        self.items(&caller.tenant).put_policy(op, &policy).await?;
        Ok(policy)
    }

    /// Asks for an operation: runs it (`auto`), stores it for approval (`approval`) or refuses it (`disabled`).
    pub async fn invoke(
        &self,
        caller: &Caller,
        op: Operation,
        args: Value,
        reason: Option<String>,
    ) -> Result<Outcome, OperationError> {
        let who = user(caller)?.to_owned();
        let mut call = Call::parse(op, args).map_err(OperationError::Invalid)?;
        let policy = self.policy(&caller.tenant, op).await?;
        match policy.mode {
            Mode::Disabled => Err(OperationError::Disabled {
                operation: op.name(),
                reason: policy.reason.unwrap_or_else(|| "no reason given".into()),
            }),
            Mode::Auto => {
                let client = self.client(&caller.tenant, call.integration_id()).await?;
                if let Call::RunQuickJob(args) = &mut call {
                    args.component_uid = Some(resolve_component(&client, &args.component).await?.0);
                }
                self.run(&caller.tenant, &client, &call, &who, None, None, Mode::Auto)
                    .await
            }
            Mode::Approval => {
                let client = self.client(&caller.tenant, call.integration_id()).await?;
                if let Call::RunQuickJob(args) = &mut call {
                    // The name is resolved now, so that the approver sees (and approves) one component.
                    args.component_uid = Some(resolve_component(&client, &args.component).await?.0);
                }
                let now = (self.clock)();
                let approval = Approval {
                    id: uuid::Uuid::new_v4().to_string(),
                    operation: op.name().to_owned(),
                    integration_id: call.integration_id().to_owned(),
                    arguments: call.arguments(),
                    arguments_hash: call.hash(),
                    requested_by: who,
                    reason: reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()),
                    requested_at: now,
                    expires_at: now + self.settings.approval_ttl_ms,
                    status: ApprovalStatus::Pending,
                    decided_by: None,
                    decided_at: None,
                    note: None,
                    result_summary: None,
                    audit_id: None,
                };
                self.items(&caller.tenant).create_approval(&approval).await?;
                tracing::info!(tenant = %caller.tenant, approval = %approval.id, operation = op.name(), "operation waits for approval");
                Ok(Outcome::Pending {
                    message: format!(
                        "Waiting for approval: {} needs a person with the approver role (not the requester) to approve request {} before it runs. Nothing has run.",
                        op.name(),
                        approval.id
                    ),
                    approval: Box::new(approval),
                })
            }
        }
    }

    pub async fn approval(&self, tenant: &TenantId, id: &str) -> Result<Approval, OperationError> {
        let now = (self.clock)();
        self.items(tenant)
            .approval(id)
            .await?
            .map(|a| a.at(now))
            .ok_or_else(|| OperationError::NotFound(format!("no approval request {id}")))
    }

    /// Pending requests first (oldest first), then past ones (newest first).
    pub async fn approvals(&self, tenant: &TenantId, pending: Option<bool>) -> Result<Vec<Approval>, OperationError> {
        let now = (self.clock)();
        let mut all: Vec<Approval> = self
            .items(tenant)
            .approvals(1000)
            .await?
            .into_iter()
            .map(|a| a.at(now))
            .filter(|a| pending.is_none_or(|p| (a.status == ApprovalStatus::Pending) == p))
            .collect();
        all.sort_by_key(|a| {
            if a.status == ApprovalStatus::Pending {
                (0, a.requested_at)
            } else {
                (1, -a.requested_at)
            }
        });
        Ok(all)
    }

    fn check_approver(&self, caller: &Caller, approval: &Approval, verb: &str) -> Result<String, OperationError> {
        let who = user(caller)?.to_owned();
        if !self.is_approver(caller) {
            return Err(OperationError::Forbidden(format!(
                "to {verb} a request needs the `{}` role",
                self.settings.approver_role
            )));
        }
        if verb == "approve" && who == approval.requested_by {
            return Err(OperationError::Forbidden(
                "the requester cannot approve their own request; another approver must".into(),
            ));
        }
        Ok(who)
    }

    fn closed(approval: &Approval) -> OperationError {
        OperationError::Conflict(format!(
            "approval request {} is {}; only a pending request can be decided",
            approval.id,
            approval.status.as_str()
        ))
    }

    /// Approves a pending request and runs exactly its stored operation, once.
    /// `expected_hash`, when given, must be the hash the approver was shown.
    pub async fn approve(
        &self,
        caller: &Caller,
        id: &str,
        expected_hash: Option<&str>,
        note: Option<String>,
    ) -> Result<Outcome, OperationError> {
        let tenant = &caller.tenant;
        let approval = self.approval(tenant, id).await?;
        let approver = self.check_approver(caller, &approval, "approve")?;
        if approval.status != ApprovalStatus::Pending {
            return Err(Self::closed(&approval));
        }
        let op = Operation::parse(&approval.operation)
            .ok_or_else(|| OperationError::Conflict(format!("request {id} names an unknown operation")))?;
        // Disabled since it was asked for: it stays pending and does not run.
        let policy = self.policy(tenant, op).await?;
        if policy.mode == Mode::Disabled {
            return Err(OperationError::Disabled {
                operation: op.name(),
                reason: policy.reason.unwrap_or_else(|| "no reason given".into()),
            });
        }
        // The stored arguments must still be what was asked for.
        let actual = sha256_hex(canonical_json(&approval.arguments).as_bytes());
        if actual != approval.arguments_hash || expected_hash.is_some_and(|h| !h.eq_ignore_ascii_case(&actual)) {
            return Err(OperationError::Conflict(format!(
                "the arguments of request {id} are not the ones approved for; it cannot run"
            )));
        }
        let call = Call::from_canonical(op, approval.arguments.clone()).map_err(|e| {
            OperationError::Conflict(format!("the stored arguments of request {id} are not valid: {e}"))
        })?;
        if call.canonical() != canonical_json(&approval.arguments) || call.integration_id() != approval.integration_id {
            return Err(OperationError::Conflict(format!(
                "the arguments of request {id} are not the ones approved for; it cannot run"
            )));
        }
        let now = (self.clock)();
        let mut running = approval.clone();
        running.status = ApprovalStatus::Running;
        running.decided_by = Some(approver.clone());
        running.decided_at = Some(now);
        running.note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        match self.items(tenant).decide(&running, &approval.arguments_hash, now).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => {
                let current = self.approval(tenant, id).await?;
                return Err(if current.status == ApprovalStatus::Pending {
                    OperationError::Conflict(format!("approval request {id} changed meanwhile; it cannot run"))
                } else {
                    Self::closed(&current)
                });
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(tenant = %tenant, approval = id, operation = op.name(), "approved; running");
        let result = match self.client(tenant, call.integration_id()).await {
            Ok(client) => {
                self.run(
                    tenant,
                    &client,
                    &call,
                    &approval.requested_by,
                    Some(&approver),
                    Some(id),
                    Mode::Approval,
                )
                .await
            }
            Err(e) => Err(e),
        };
        let mut done = running;
        match &result {
            Ok(Outcome::Done { audit_id, result, .. }) => {
                done.status = ApprovalStatus::Executed;
                done.audit_id = Some(audit_id.clone());
                done.result_summary = Some(summary(&call, result));
            }
            Ok(Outcome::Pending { .. }) => {}
            Err(e) => {
                done.status = ApprovalStatus::Failed;
                done.result_summary = Some(format!("{}: {e}", e.code()));
            }
        }
        if let Err(e) = self.items(tenant).finish(&done).await {
            tracing::error!(tenant = %tenant, approval = id, error = %e, "could not record how an approved run ended");
        }
        result
    }

    pub async fn reject(&self, caller: &Caller, id: &str, note: Option<String>) -> Result<Approval, OperationError> {
        let tenant = &caller.tenant;
        let approval = self.approval(tenant, id).await?;
        let who = self.check_approver(caller, &approval, "reject")?;
        if approval.status != ApprovalStatus::Pending {
            return Err(Self::closed(&approval));
        }
        let now = (self.clock)();
        let mut rejected = approval.clone();
        rejected.status = ApprovalStatus::Rejected;
        rejected.decided_by = Some(who);
        rejected.decided_at = Some(now);
        rejected.note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        match self
            .items(tenant)
            .decide(&rejected, &approval.arguments_hash, now)
            .await
        {
            Ok(()) => Ok(rejected),
            Err(StoreError::ConditionFailed) => Err(Self::closed(&self.approval(tenant, id).await?)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn audit(&self, tenant: &TenantId, limit: usize) -> Result<Vec<AuditRecord>, OperationError> {
        Ok(self.items(tenant).audit(limit.clamp(1, 1000)).await?)
    }

    /// The integration's Datto client: the one kept from an earlier request while the
    /// integration and its credentials are unchanged, else a new one.
    async fn client(&self, tenant: &TenantId, integration_id: &str) -> Result<Arc<DattoClient>, OperationError> {
        let integrations = Integrations {
            store: self.store,
            secrets: self.secrets,
            datto: self.datto,
            settings: self.integration_settings,
        };
        let view = integrations.get(tenant, integration_id).await?;
        if !view.enabled {
            return Err(OperationError::IntegrationOff(integration_id.to_owned()));
        }
        let key = format!("{tenant}#{integration_id}#{}", view.credentials_updated_at);
        if let Some(client) = self.clients.get(&key) {
            return Ok(client);
        }
        let (integration, credentials) = integrations.credentials(tenant, integration_id).await?;
        let client = Arc::new(self.datto.client(integration.platform, credentials)?);
        self.clients.put(key, client.clone());
        Ok(client)
    }

    /// Runs a call against Datto and records it in the audit trail (success or failure).
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        tenant: &TenantId,
        client: &DattoClient,
        call: &Call,
        requested_by: &str,
        approved_by: Option<&str>,
        approval_id: Option<&str>,
        mode: Mode,
    ) -> Result<Outcome, OperationError> {
        let result = execute(client, call).await;
        let record = AuditRecord {
            id: uuid::Uuid::new_v4().to_string(),
            at: (self.clock)(),
            operation: call.operation().name().to_owned(),
            integration_id: call.integration_id().to_owned(),
            arguments: call.audit_arguments(),
            arguments_hash: call.hash(),
            requested_by: requested_by.to_owned(),
            approved_by: approved_by.map(str::to_owned),
            approval_id: approval_id.map(str::to_owned),
            mode,
            ok: result.is_ok(),
            summary: match &result {
                Ok(value) => summary(call, value),
                Err(e) => format!("failed: {e}"),
            },
            error_code: result.as_ref().err().map(|e| e.code().to_owned()),
        };
        self.items(tenant).add_audit(&record).await?;
        let mut value = result?;
        mark_untrusted(&mut value);
        Ok(Outcome::Done {
            operation: call.operation().name().to_owned(),
            audit_id: record.id,
            approval_id: approval_id.map(str::to_owned),
            data_notice: UNTRUSTED_NOTICE.to_owned(),
            result: value,
        })
    }
}

/// What the routes need, built once per process.
#[derive(Clone)]
pub struct OperationsApi {
    pub store: DynamoStore,
    pub secrets: SecretsManager,
    pub datto: DattoConnector,
    pub integration_settings: IntegrationSettings,
    pub settings: OperationSettings,
    pub clock: fn() -> i64,
    pub clients: DattoClients,
}

impl OperationsApi {
    pub fn operations(&self) -> Operations<'_> {
        Operations {
            clients: &self.clients,
            store: &self.store,
            secrets: &self.secrets,
            datto: &self.datto,
            integration_settings: &self.integration_settings,
            settings: &self.settings,
            clock: self.clock,
        }
    }
}

fn unknown_operation(name: &str) -> OperationError {
    let names: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
    OperationError::NotFound(format!("no operation {name:?}; operations: {}", names.join(", ")))
}

/// Finds the component a person named: the one whose name equals it (ignoring case and
/// surrounding spaces). None or several is an error that lists the candidates.
pub async fn resolve_component(client: &DattoClient, name: &str) -> Result<(String, Component), OperationError> {
    let components = client.components().await?;
    pick_component(&components, name).map(|c| (c.uid.clone().unwrap_or_default(), c.clone()))
}

pub(super) fn pick_component<'c>(components: &'c [Component], name: &str) -> Result<&'c Component, OperationError> {
    let wanted = name.trim().to_lowercase();
    let exact: Vec<&Component> = components
        .iter()
        .filter(|c| c.uid.is_some() && c.name.as_deref().is_some_and(|n| n.trim().to_lowercase() == wanted))
        .collect();
    let describe = |list: &[&Component]| -> String {
        list.iter()
            .take(20)
            .map(|c| {
                format!(
                    "{:?} ({})",
                    c.name.as_deref().unwrap_or(""),
                    c.uid.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match exact.as_slice() {
        [one] => Ok(one),
        [] => {
            let words: Vec<&str> = wanted.split_whitespace().collect();
            let close: Vec<&Component> = components
                .iter()
                .filter(|c| {
                    let n = c.name.as_deref().unwrap_or("").to_lowercase();
                    n.contains(&wanted) || words.iter().any(|w| w.len() > 2 && n.contains(w))
                })
                .collect();
            let candidates = if close.is_empty() {
                components.iter().collect::<Vec<_>>()
            } else {
                close
            };
            Err(OperationError::Component(format!(
                "no component is named {name:?}; candidates: {}",
                describe(&candidates)
            )))
        }
        several => Err(OperationError::Component(format!(
            "{} components are named {name:?}; ask an administrator to rename them apart: {}",
            several.len(),
            describe(several)
        ))),
    }
}

async fn execute(client: &DattoClient, call: &Call) -> Result<Value, OperationError> {
    Ok(match call {
        Call::ListSites(a) => to_value(client.sites_page(a.site_name.as_deref(), a.page, a.max).await?),
        Call::GetSite(a) => client.site_details(&a.site_uid).await?,
        Call::ListDevices(a) => {
            let scope = match &a.site_uid {
                Some(site) => DeviceScope::Site(site.clone()),
                None => DeviceScope::Account {
                    filters: [
                        ("hostname", &a.hostname),
                        ("deviceType", &a.device_type),
                        ("operatingSystem", &a.operating_system),
                        ("siteName", &a.site_name),
                    ]
                    .into_iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), v.clone())))
                    .collect(),
                },
            };
            to_value(client.devices_page(&scope, a.page, a.max).await?)
        }
        Call::GetDevice(a) => client.device_details(&a.device_uid).await?,
        Call::GetDeviceAudit(a) => match a.kind {
            AuditKind::Software => to_value(client.software_page(&a.device_uid, a.page, a.max).await?),
            AuditKind::Esxi => client.esxi_audit(&a.device_uid).await?,
            AuditKind::Printer => client.printer_audit(&a.device_uid).await?,
            AuditKind::Hardware => {
                let mut audit = client.device_audit(&a.device_uid).await?;
                if let Value::Object(map) = &mut audit {
                    map.remove("nics");
                }
                audit
            }
            AuditKind::Network => {
                let audit = client.device_audit(&a.device_uid).await?;
                json!({ "nics": audit.get("nics").cloned().unwrap_or(Value::Array(Vec::new())) })
            }
        },
        Call::ListAlerts(a) => {
            let scope = match (&a.site_uid, &a.device_uid) {
                (Some(s), _) => AlertScope::Site(s.clone()),
                (None, Some(d)) => AlertScope::Device(d.clone()),
                (None, None) => AlertScope::Account,
            };
            to_value(
                client
                    .alerts_page(&scope, a.state == AlertState::Resolved, a.page, a.max)
                    .await?,
            )
        }
        Call::GetJobResult(a) => {
            let job = client.job(&a.job_uid).await?;
            let results = client.job_results(&a.job_uid, &a.device_uid).await?;
            let stdout = client.job_output(&a.job_uid, &a.device_uid, false).await?;
            let stderr = client.job_output(&a.job_uid, &a.device_uid, true).await?;
            json!({ "job": job, "results": results, "stdout": stdout, "stderr": stderr })
        }
        Call::ResolveAlert(a) => {
            client.resolve_alert(&a.alert_uid).await?;
            json!({ "alertUid": a.alert_uid, "resolved": true })
        }
        Call::RunQuickJob(a) => run_quick_job(client, a).await?,
    })
}

async fn run_quick_job(client: &DattoClient, a: &QuickJobArgs) -> Result<Value, OperationError> {
    let component_uid = a
        .component_uid
        .clone()
        .ok_or_else(|| OperationError::Invalid("the component was not resolved".into()))?;
    let request = QuickJobRequest {
        job_name: a.job_name.clone().unwrap_or_else(|| a.component.clone()),
        component_uid,
        variables: a.variables.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    };
    let created = client.create_quick_job(&a.device_uid, &request).await?;
    let job_uid = created.pointer("/job/uid").and_then(Value::as_str).map(str::to_owned);
    Ok(json!({
        "deviceUid": a.device_uid,
        "jobUid": job_uid,
        "job": created.get("job").cloned().unwrap_or(Value::Null),
        "jobComponents": created.get("jobComponents").cloned().unwrap_or(Value::Null),
        "next": "read its status, results and output with datto-get-job-result (jobUid, deviceUid)",
    }))
}

fn to_value<T: Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// One line for the audit trail: counts and uids, never Datto's free text.
fn summary(call: &Call, result: &Value) -> String {
    let items = || result.get("items").and_then(Value::as_array).map_or(0, Vec::len);
    let page = || result.get("page").and_then(Value::as_u64).unwrap_or(0);
    match call {
        Call::ListSites(_) => format!("{} sites (page {})", items(), page()),
        Call::ListDevices(_) => format!("{} devices (page {})", items(), page()),
        Call::ListAlerts(_) => format!("{} alerts (page {})", items(), page()),
        Call::GetSite(a) => format!("site {}", a.site_uid),
        Call::GetDevice(a) => format!("device {}", a.device_uid),
        Call::GetDeviceAudit(a) => match a.kind {
            AuditKind::Software => format!(
                "software audit of {}: {} items (page {})",
                a.device_uid,
                items(),
                page()
            ),
            kind => format!(
                "{} audit of {}",
                serde_json::to_value(kind).unwrap_or_default().as_str().unwrap_or(""),
                a.device_uid
            ),
        },
        Call::GetJobResult(a) => format!(
            "job {} on {}: {}",
            a.job_uid,
            a.device_uid,
            result
                .pointer("/job/status")
                .and_then(Value::as_str)
                .unwrap_or("unknown status")
        ),
        Call::ResolveAlert(a) => format!("alert {} resolved", a.alert_uid),
        Call::RunQuickJob(a) => format!(
            "quick job {} created on {} (component {})",
            result.get("jobUid").and_then(Value::as_str).unwrap_or("?"),
            a.device_uid,
            a.component_uid.as_deref().unwrap_or("?")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_web_origins_may_call_mcp_and_clients_without_one_always_may() {
        let settings = OperationSettings {
            mcp_allowed_origins: parse_origins(" https://Portal.example.com/ , ,http://localhost:5173"),
            ..OperationSettings::default()
        };
        assert_eq!(
            settings.mcp_allowed_origins,
            ["https://portal.example.com", "http://localhost:5173"]
        );
        assert!(settings.mcp_origin_allowed(None));
        assert!(settings.mcp_origin_allowed(Some("https://portal.example.com")));
        assert!(settings.mcp_origin_allowed(Some("HTTPS://PORTAL.EXAMPLE.COM/")));
        assert!(!settings.mcp_origin_allowed(Some("https://portal.example.com.evil.example")));
        assert!(!settings.mcp_origin_allowed(Some("null")));
        assert!(!OperationSettings::default().mcp_origin_allowed(Some("http://localhost:5173")));
    }

    fn component(uid: &str, name: &str) -> Component {
        Component {
            uid: Some(uid.into()),
            name: Some(name.into()),
            ..Component::default()
        }
    }

    #[test]
    fn a_component_is_found_by_its_exact_name_or_named_candidates_are_listed() {
        let list = vec![
            component("c1", "Restart Print Spooler"),
            component("c2", "Run Disk Cleanup"),
            component("c3", "Clear Temp"),
            component("c4", "clear temp "),
        ];
        assert_eq!(
            pick_component(&list, " restart print spooler").unwrap().uid.as_deref(),
            Some("c1")
        );
        let e = pick_component(&list, "Restart Spooler").unwrap_err().to_string();
        assert!(
            e.contains("no component") && e.contains("Restart Print Spooler") && !e.contains("Disk"),
            "{e}"
        );
        let e = pick_component(&list, "Clear Temp").unwrap_err().to_string();
        assert!(
            e.contains("2 components") && e.contains("c3") && e.contains("c4"),
            "{e}"
        );
    }
}
