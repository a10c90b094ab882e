//! Alerts to tickets and back.
//!
//! - A Datto RMM alert webhook (`POST /hooks/datto/{integrationId}/alerts`)
//!   names an alert; the alert is read back from Datto RMM (the body is never
//!   trusted beyond its uid), and then:
//!   - open: a PSA ticket is opened for it (company from the site mapping,
//!     configuration item from the imported configurations, priority mapped,
//!     the alert uid on the ticket), or, when the same monitor fired on the
//!     same device within the repeat window and its ticket is still open, a
//!     note is added to that ticket instead;
//!   - resolved: once every alert of its ticket is resolved, the ticket is completed.
//! - An Autotask extension callout (`POST /hooks/autotask/{integrationId}/callout`)
//!   or a ConnectWise callback (`POST /hooks/connectwise/{integrationId}/callback`)
//!   names a ticket; the ticket is read back from the PSA, and when it is
//!   complete its alerts are resolved in Datto RMM.
//!
//! Every delivery is authenticated (a per-integration token compared by
//! SHA-256 in constant time; for ConnectWise also the `x-content-signature`)
//! and idempotent: each alert's state is one item, claimed with a conditional
//! write before a ticket is opened, so repeated or out-of-order deliveries
//! never open a second ticket nor resolve twice. A store or upstream fault
//! answers 5xx so that the sender retries.

mod items;
pub mod routes;
mod rules;

pub use items::{AlertRecord, AlertState};
pub use rules::{PriorityMap, alert_uid_from_hook, hook_token_tenant, parse_window, ticket_id_from_callout};

use crate::connections::{IntegrationError, IntegrationSettings, Integrations};
use crate::connections::{PsaIntegrationError, PsaIntegrations};
use crate::datto::models::Alert;
use crate::datto::{DattoClient, DattoConnector, DattoError};
use crate::psa::autotask::AutotaskTicketSettings;
use crate::psa::connectwise::{ConnectWiseTicketSettings, verify_callback_signature};
use crate::psa::{PsaClient, PsaConnector, PsaError, PsaKind, PsaTicketSettings, TicketDraft};
use crate::secrets::SecretsManager;
use crate::store::{DynamoStore, StoreError};
use crate::tenant::TenantId;
use items::{RepeatRecord, TicketLink, TicketStore};
use serde::{Deserialize, Serialize};

/// A claim older than this belongs to a delivery that died; the next one takes over.
const STALE_CLAIM_MS: i64 = 120_000;

/// Ticket settings of a Datto RMM integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketSettings {
    pub enabled: bool,
    pub psa_integration_id: String,
    pub psa: PsaKind,
    pub priorities: PriorityMap,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autotask: Option<AutotaskTicketSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connectwise: Option<ConnectWiseTicketSettings>,
    pub repeat_window_minutes: u32,
    pub updated_at: i64,
}

impl TicketSettings {
    fn psa_settings(&self) -> Option<PsaTicketSettings> {
        match self.psa {
            PsaKind::Autotask => self.autotask.clone().map(PsaTicketSettings::Autotask),
            PsaKind::ConnectwiseManage => self.connectwise.clone().map(PsaTicketSettings::ConnectWise),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketSettingsInput {
    pub enabled: Option<bool>,
    pub psa_integration_id: Option<String>,
    pub priorities: Option<PriorityMap>,
    pub autotask: Option<AutotaskTicketSettings>,
    pub connectwise: Option<ConnectWiseTicketSettings>,
    /// Minutes (`30`, `"30m"`) or hours (`"2h"`).
    pub repeat_window: Option<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("{0}")]
    Invalid(String),
    #[error("no integration {0} for this tenant")]
    NotFound(String),
    #[error("the hook token is missing or wrong")]
    Unauthorized,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Datto(#[from] DattoError),
    #[error(transparent)]
    Psa(#[from] PsaError),
    #[error("secret storage failed: {0}")]
    Secrets(String),
}

impl From<IntegrationError> for TicketError {
    fn from(e: IntegrationError) -> Self {
        match e {
            IntegrationError::NotFound(id) => TicketError::NotFound(id),
            IntegrationError::Invalid(m) => TicketError::Invalid(m),
            IntegrationError::Datto(d) => TicketError::Datto(d),
            IntegrationError::Store(s) => TicketError::Store(s),
            IntegrationError::Secrets(s) => TicketError::Secrets(s.to_string()),
        }
    }
}

impl From<PsaIntegrationError> for TicketError {
    fn from(e: PsaIntegrationError) -> Self {
        match e {
            PsaIntegrationError::NotFound(id) => TicketError::NotFound(id),
            PsaIntegrationError::Invalid(m) => TicketError::Invalid(m),
            PsaIntegrationError::Psa(p) => TicketError::Psa(p),
            PsaIntegrationError::Store(s) => TicketError::Store(s),
            PsaIntegrationError::Secrets(s) => TicketError::Secrets(s.to_string()),
        }
    }
}

/// What a webhook delivery did, as its answer says.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookOutcome {
    /// `opened`, `noted`, `completed`, `resolved`, `duplicate`, `ignored` or `failed`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl HookOutcome {
    fn new(status: &'static str) -> Self {
        Self {
            status,
            ticket_id: None,
            alerts: Vec::new(),
            reason: None,
        }
    }

    fn ticket(mut self, id: &str) -> Self {
        self.ticket_id = Some(id.to_owned());
        self
    }

    fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// Where an alert fired, as the repeat window keys it.
struct AlertAt<'a> {
    datto_id: &'a str,
    uid: &'a str,
    /// `{deviceUid}#{monitor key}`.
    monitor: &'a str,
    now: i64,
}

/// A token made for an integration's hooks: shown once, stored as a hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookToken {
    pub token: String,
    /// The hook path to configure in the sender (add `?token=` or the header).
    pub path: String,
    /// ConnectWise: the id of the ticket callback registered for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<i64>,
}

/// Everything the ticket flow calls, built once per process.
pub struct Tickets<'a> {
    pub store: &'a DynamoStore,
    pub secrets: &'a SecretsManager,
    pub datto: &'a DattoConnector,
    pub psa: &'a PsaConnector,
    pub settings: &'a IntegrationSettings,
    /// Epoch milliseconds now; a parameter so that tests can move time on.
    pub clock: fn() -> i64,
    /// The public base URL of the hooks (`https://api.example.com`); when set,
    /// a ConnectWise hook token also registers the ticket callback there.
    pub hook_base_url: Option<&'a str>,
}

impl Tickets<'_> {
    fn datto_integrations(&self) -> Integrations<'_> {
        Integrations {
            store: self.store,
            secrets: self.secrets,
            datto: self.datto,
            settings: self.settings,
        }
    }

    fn psa_integrations(&self) -> PsaIntegrations<'_> {
        PsaIntegrations {
            store: self.store,
            secrets: self.secrets,
            psa: self.psa,
            settings: self.settings,
        }
    }

    fn items<'s>(&'s self, tenant: &'s TenantId) -> TicketStore<'s> {
        TicketStore {
            store: self.store,
            tenant,
        }
    }

    pub async fn get_settings(&self, tenant: &TenantId, datto_id: &str) -> Result<TicketSettings, TicketError> {
        self.datto_integrations().get(tenant, datto_id).await?;
        self.items(tenant)
            .settings(datto_id)
            .await?
            .ok_or_else(|| TicketError::NotFound(format!("{datto_id}/ticket-settings")))
    }

    /// Validates every field (naming every problem) against the chosen PSA integration.
    pub async fn put_settings(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        input: TicketSettingsInput,
    ) -> Result<TicketSettings, TicketError> {
        self.datto_integrations().get(tenant, datto_id).await?;
        let mut problems = Vec::new();
        let psa = match input.psa_integration_id.as_deref() {
            None => {
                problems.push("`psaIntegrationId` is required".to_owned());
                None
            }
            Some(id) => match self.psa_integrations().get(tenant, id).await {
                Ok(i) => Some(i),
                Err(PsaIntegrationError::NotFound(_)) => {
                    problems.push(format!("`psaIntegrationId`: no PSA integration {id}"));
                    None
                }
                Err(e) => return Err(e.into()),
            },
        };
        let window = match &input.repeat_window {
            None => 60,
            Some(v) => parse_window(v).unwrap_or_else(|e| {
                problems.push(e);
                0
            }),
        };
        if let Some(psa) = &psa {
            match psa.kind {
                PsaKind::Autotask => {
                    if input.connectwise.is_some() {
                        problems.push("`connectwise` settings given for an Autotask integration".into());
                    }
                    match &input.autotask {
                        Some(a) if a.queue_id > 0 => {}
                        _ => problems.push("`autotask.queueId` is required (the queue new tickets go to)".into()),
                    }
                }
                PsaKind::ConnectwiseManage => {
                    if input.autotask.is_some() {
                        problems.push("`autotask` settings given for a ConnectWise Manage integration".into());
                    }
                    match &input.connectwise {
                        Some(c) if c.board_id > 0 => {}
                        _ => problems.push("`connectwise.boardId` is required (the board new tickets go to)".into()),
                    }
                }
            }
        }
        let priorities = input.priorities.unwrap_or_default();
        for (name, value) in [
            ("critical", &priorities.critical),
            ("high", &priorities.high),
            ("moderate", &priorities.moderate),
            ("low", &priorities.low),
            ("information", &priorities.information),
        ] {
            if value
                .as_deref()
                .is_some_and(|v| v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()))
            {
                problems.push(format!("`priorities.{name}` must be the PSA's numeric priority id"));
            }
        }
        let Some(psa) = psa.filter(|_| problems.is_empty()) else {
            return Err(TicketError::Invalid(problems.join("; ")));
        };
        let settings = TicketSettings {
            enabled: input.enabled.unwrap_or(true),
            psa_integration_id: psa.id,
            psa: psa.kind,
            priorities,
            autotask: input.autotask,
            connectwise: input.connectwise,
            repeat_window_minutes: window,
            updated_at: (self.clock)(),
        };
        self.items(tenant).put_settings(datto_id, &settings).await?;
        Ok(settings)
    }

    /// Makes (or replaces) the hook token of a Datto RMM or PSA integration.
    pub async fn new_hook_token(&self, tenant: &TenantId, integration_id: &str) -> Result<HookToken, TicketError> {
        let (kind, path) = match self.datto_integrations().get(tenant, integration_id).await {
            Ok(_) => ("datto-rmm", format!("/hooks/datto/{integration_id}/alerts")),
            Err(IntegrationError::NotFound(_)) => {
                let psa = self.psa_integrations().get(tenant, integration_id).await?;
                match psa.kind {
                    PsaKind::Autotask => ("autotask", format!("/hooks/autotask/{integration_id}/callout")),
                    PsaKind::ConnectwiseManage => (
                        "connectwise-manage",
                        format!("/hooks/connectwise/{integration_id}/callback"),
                    ),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let token = rules::new_hook_token(tenant);
        self.items(tenant)
            .put_hook(integration_id, &rules::token_hash(&token), kind)
            .await?;
        tracing::info!(tenant = %tenant, integration = %integration_id, kind, "hook token replaced");
        // ConnectWise callbacks can be registered through its API (CW appends the ticket id).
        let callback_id = match (kind, self.hook_base_url) {
            ("connectwise-manage", Some(base)) => {
                let (_, client) = self.psa_integrations().connect(tenant, integration_id).await?;
                let PsaClient::ConnectWise(cw) = &client else {
                    return Err(TicketError::NotFound(integration_id.to_owned()));
                };
                let url = format!("{}{path}?token={token}&id=", base.trim_end_matches('/'));
                Some(
                    cw.register_callback(&url, "rmmsync: completed tickets resolve Datto RMM alerts")
                        .await?,
                )
            }
            _ => None,
        };
        Ok(HookToken {
            token,
            path,
            callback_id,
        })
    }

    /// The tenant of a hook delivery, when its token is right for this integration.
    async fn authenticate(
        &self,
        integration_id: &str,
        token: Option<&str>,
        kind: &str,
    ) -> Result<TenantId, TicketError> {
        if uuid::Uuid::parse_str(integration_id).is_err() {
            return Err(TicketError::NotFound(integration_id.to_owned()));
        }
        let token = token.ok_or(TicketError::Unauthorized)?;
        let tenant = hook_token_tenant(token).ok_or(TicketError::Unauthorized)?;
        let hook = self
            .items(&tenant)
            .hook(integration_id)
            .await?
            .ok_or_else(|| TicketError::NotFound(integration_id.to_owned()))?;
        if hook.kind != kind {
            return Err(TicketError::NotFound(integration_id.to_owned()));
        }
        if !rules::constant_time_eq(rules::token_hash(token).as_bytes(), hook.token_hash.as_bytes()) {
            return Err(TicketError::Unauthorized);
        }
        Ok(tenant)
    }

    async fn datto_client(&self, tenant: &TenantId, datto_id: &str) -> Result<DattoClient, TicketError> {
        let (integration, credentials) = self.datto_integrations().credentials(tenant, datto_id).await?;
        Ok(self.datto.client(integration.platform, credentials)?)
    }

    /// `POST /hooks/datto/{integrationId}/alerts`.
    pub async fn on_alert_webhook(
        &self,
        datto_id: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> Result<HookOutcome, TicketError> {
        let tenant = self.authenticate(datto_id, token, "datto-rmm").await?;
        let uid = alert_uid_from_hook(body).map_err(TicketError::Invalid)?;
        let items = self.items(&tenant);
        let Some(settings) = items.settings::<TicketSettings>(datto_id).await?.filter(|s| s.enabled) else {
            return Ok(HookOutcome::new("ignored").because("tickets are not enabled for this integration"));
        };
        let Some(psa_settings) = settings.psa_settings() else {
            return Ok(HookOutcome::new("ignored").because("the ticket settings lack the PSA's attributes"));
        };
        let datto = self.datto_client(&tenant, datto_id).await?;
        let alert = match datto.alert(&uid).await {
            Ok(a) => a,
            Err(DattoError::NotFound { .. }) => {
                return Ok(HookOutcome::new("ignored").because("Datto RMM does not know this alert"));
            }
            Err(e) => return Err(e.into()),
        };
        let existing = items.alert(datto_id, &uid).await?;
        if alert.resolved == Some(true) {
            return self
                .alert_resolved(&tenant, datto_id, &settings, &psa_settings, &uid, existing)
                .await;
        }
        let now = (self.clock)();
        match existing.as_ref().map(|e| e.state) {
            Some(AlertState::Opening) if existing.as_ref().is_some_and(|e| e.updated_at >= now - STALE_CLAIM_MS) => {
                return Ok(HookOutcome::new("duplicate").because("another delivery is opening this alert's ticket"));
            }
            Some(AlertState::Opening) | None => {}
            Some(_) => {
                let e = existing.expect("matched Some");
                let mut out = HookOutcome::new("duplicate");
                out.ticket_id = e.ticket_id;
                return Ok(out);
            }
        }
        if !items.claim_alert(datto_id, &uid, now, now - STALE_CLAIM_MS).await? {
            return Ok(HookOutcome::new("duplicate").because("another delivery is opening this alert's ticket"));
        }
        let recovering = existing.is_some();
        match self
            .open_ticket(&tenant, datto_id, &settings, &psa_settings, &uid, &alert, recovering)
            .await
        {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                // A permanent refusal is recorded; a fault leaves the claim to go stale so a retry takes over.
                if let TicketError::Psa(p) = &e
                    && !p.is_transient()
                {
                    return self.fail_alert(&tenant, datto_id, &settings, &uid, p.to_string()).await;
                }
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn open_ticket(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        settings: &TicketSettings,
        psa_settings: &PsaTicketSettings,
        uid: &str,
        alert: &Alert,
        recovering: bool,
    ) -> Result<HookOutcome, TicketError> {
        let items = self.items(tenant);
        let source = alert.alert_source_info.clone().unwrap_or_default();
        let Some(company_id) = self
            .psa_company(tenant, datto_id, settings.psa, source.site_uid.as_deref())
            .await?
        else {
            let reason = "the alert's site is not mapped to a company imported from the PSA";
            return self.fail_alert(tenant, datto_id, settings, uid, reason.into()).await;
        };
        let (_, client) = self
            .psa_integrations()
            .connect(tenant, &settings.psa_integration_id)
            .await?;
        let now = (self.clock)();
        let monitor = format!(
            "{}#{}",
            source.device_uid.as_deref().unwrap_or("unknown-device"),
            rules::monitor_key(alert)
        );
        let at = AlertAt {
            datto_id,
            uid,
            monitor: &monitor,
            now,
        };
        // The same monitor on the same device, within the window, with its ticket open: a note.
        if let Some(repeat) = items.repeat(datto_id, &monitor).await?
            && rules::within_window(repeat.last_alert_at, now, settings.repeat_window_minutes)
            && !client.get_ticket(&repeat.ticket_id, psa_settings).await?.completed
        {
            client
                .add_ticket_note(
                    &repeat.ticket_id,
                    "Datto RMM alert repeated",
                    &rules::ticket_description(alert, uid),
                )
                .await?;
            self.remember(tenant, settings, &at, AlertState::Noted, &repeat.ticket_id)
                .await?;
            return Ok(HookOutcome::new("noted").ticket(&repeat.ticket_id));
        }
        // A delivery that died after opening the ticket left it in the PSA: find it, do not open another.
        let found = if recovering {
            client.find_open_ticket_for_alert(uid, psa_settings).await?
        } else {
            None
        };
        let ticket = match found {
            Some(t) => t,
            None => {
                let draft = TicketDraft {
                    company_id,
                    title: rules::ticket_title(alert),
                    description: rules::ticket_description(alert, uid),
                    priority: settings.priorities.map(alert.priority.as_deref()),
                    configuration_id: self
                        .configuration_for(tenant, settings.psa, source.device_uid.as_deref())
                        .await?,
                    alert_uid: uid.to_owned(),
                };
                client.create_ticket(&draft, psa_settings).await?
            }
        };
        self.remember(tenant, settings, &at, AlertState::Opened, &ticket.id)
            .await?;
        tracing::info!(tenant = %tenant, integration = %datto_id, alert = %uid, ticket = %ticket.id, "ticket opened for alert");
        Ok(HookOutcome::new("opened").ticket(&ticket.id))
    }

    /// No ticket can be opened for this alert (retrying will not help): recorded, answered 200.
    async fn fail_alert(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        settings: &TicketSettings,
        uid: &str,
        reason: String,
    ) -> Result<HookOutcome, TicketError> {
        let record = AlertRecord {
            alert_uid: uid.to_owned(),
            state: AlertState::Failed,
            ticket_id: None,
            psa_integration_id: Some(settings.psa_integration_id.clone()),
            reason: Some(reason.clone()),
            updated_at: (self.clock)(),
        };
        self.items(tenant).put_alert(datto_id, &record).await?;
        Ok(HookOutcome::new("failed").because(reason))
    }

    /// An alert now on a ticket: the ticket's alert list, the monitor's
    /// latest ticket (for the repeat window), and the alert's own state.
    async fn remember(
        &self,
        tenant: &TenantId,
        settings: &TicketSettings,
        at: &AlertAt<'_>,
        state: AlertState,
        ticket_id: &str,
    ) -> Result<(), TicketError> {
        let items = self.items(tenant);
        self.link_alert(tenant, &settings.psa_integration_id, ticket_id, at.datto_id, at.uid)
            .await?;
        let repeat = RepeatRecord {
            ticket_id: ticket_id.to_owned(),
            last_alert_at: at.now,
        };
        items.put_repeat(at.datto_id, at.monitor, &repeat).await?;
        let record = AlertRecord {
            alert_uid: at.uid.to_owned(),
            state,
            ticket_id: Some(ticket_id.to_owned()),
            psa_integration_id: Some(settings.psa_integration_id.clone()),
            reason: None,
            updated_at: (self.clock)(),
        };
        Ok(items.put_alert(at.datto_id, &record).await?)
    }

    async fn link_alert(
        &self,
        tenant: &TenantId,
        psa_id: &str,
        ticket_id: &str,
        datto_id: &str,
        uid: &str,
    ) -> Result<(), TicketError> {
        let items = self.items(tenant);
        let mut link = items.link(psa_id, ticket_id).await?.unwrap_or(TicketLink {
            datto_integration_id: datto_id.to_owned(),
            alert_uids: Vec::new(),
        });
        if !link.alert_uids.iter().any(|a| a == uid) {
            link.alert_uids.push(uid.to_owned());
        }
        Ok(items.put_link(psa_id, ticket_id, &link).await?)
    }

    /// The PSA id of the company the alert's site is mapped to.
    async fn psa_company(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        psa: PsaKind,
        site_uid: Option<&str>,
    ) -> Result<Option<String>, TicketError> {
        let Some(site_uid) = site_uid else { return Ok(None) };
        let Some(mapping) = self.store.mapping(tenant, datto_id, site_uid).await? else {
            return Ok(None);
        };
        let Some(company_id) = mapping.company_id else {
            return Ok(None);
        };
        let company = self.store.get_company(tenant, &company_id).await?;
        Ok(company
            .filter(|c| c.psa_kind.as_deref() == Some(psa.as_str()))
            .and_then(|c| c.psa_id))
    }

    /// The PSA configuration item imported for a device, when one is known.
    async fn configuration_for(
        &self,
        tenant: &TenantId,
        psa: PsaKind,
        device_uid: Option<&str>,
    ) -> Result<Option<String>, TicketError> {
        let Some(device_uid) = device_uid else { return Ok(None) };
        let configurations = self
            .store
            .directory(tenant, crate::psa::RecordKind::Configuration)
            .await?;
        Ok(configurations
            .into_iter()
            .find(|c| c.rmm_device_uid.as_deref() == Some(device_uid) && c.psa_kind.as_deref() == Some(psa.as_str()))
            .and_then(|c| c.psa_id))
    }

    /// The alert was resolved in Datto RMM: mark it, and complete its ticket
    /// once every alert on that ticket is resolved.
    async fn alert_resolved(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        settings: &TicketSettings,
        psa_settings: &PsaTicketSettings,
        uid: &str,
        existing: Option<AlertRecord>,
    ) -> Result<HookOutcome, TicketError> {
        let items = self.items(tenant);
        let mut record = match existing {
            Some(r) if r.state == AlertState::Resolved => {
                let mut out = HookOutcome::new("duplicate").because("already resolved");
                out.ticket_id = r.ticket_id;
                return Ok(out);
            }
            Some(r) => r,
            // Resolved before any open arrived: remembered, so a late open does nothing.
            None => AlertRecord {
                alert_uid: uid.to_owned(),
                state: AlertState::Resolved,
                ticket_id: None,
                psa_integration_id: None,
                reason: Some("resolved before a ticket was opened".into()),
                updated_at: (self.clock)(),
            },
        };
        let ticket_id = record.ticket_id.clone();
        let Some(ticket_id) = ticket_id else {
            record.state = AlertState::Resolved;
            record.updated_at = (self.clock)();
            items.put_alert(datto_id, &record).await?;
            return Ok(HookOutcome::new("resolved").because("no ticket was opened for this alert"));
        };
        let psa_id = record
            .psa_integration_id
            .clone()
            .unwrap_or_else(|| settings.psa_integration_id.clone());
        let link = items.link(&psa_id, &ticket_id).await?;
        let mut others_open = false;
        for other in link.iter().flat_map(|l| l.alert_uids.iter()).filter(|a| *a != uid) {
            if items
                .alert(datto_id, other)
                .await?
                .is_some_and(|a| a.state != AlertState::Resolved)
            {
                others_open = true;
            }
        }
        // Marked first, so the PSA's own callout about the completion finds
        // nothing left to resolve; put back if completing fails, so the retry does it.
        let before = record.clone();
        record.state = AlertState::Resolved;
        record.reason = Some("resolved in Datto RMM".into());
        record.updated_at = (self.clock)();
        items.put_alert(datto_id, &record).await?;
        let mut outcome = HookOutcome::new("resolved").ticket(&ticket_id);
        if !others_open {
            let completed = async {
                let (_, client) = self.psa_integrations().connect(tenant, &psa_id).await?;
                if !client.get_ticket(&ticket_id, psa_settings).await?.completed {
                    client
                        .complete_ticket(&ticket_id, "The alert was resolved in Datto RMM.", psa_settings)
                        .await?;
                }
                Ok::<(), TicketError>(())
            }
            .await;
            if let Err(e) = completed {
                items.put_alert(datto_id, &before).await?;
                return Err(e);
            }
            outcome.status = "completed";
        }
        Ok(outcome)
    }

    /// `POST /hooks/autotask/{integrationId}/callout`.
    pub async fn on_autotask_callout(
        &self,
        psa_id: &str,
        token: Option<&str>,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<HookOutcome, TicketError> {
        let tenant = self.authenticate(psa_id, token, "autotask").await?;
        let ticket_id = ticket_id_from_callout(body, content_type)
            .ok_or_else(|| TicketError::Invalid("the callout names no ticket id (id / ticketID)".into()))?;
        self.ticket_changed(&tenant, psa_id, &ticket_id).await
    }

    /// `POST /hooks/connectwise/{integrationId}/callback`: the token, then the signature.
    pub async fn on_connectwise_callback(
        &self,
        psa_id: &str,
        token: Option<&str>,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<HookOutcome, TicketError> {
        let tenant = self.authenticate(psa_id, token, "connectwise-manage").await?;
        let payload: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| TicketError::Invalid(format!("the callback body is not JSON: {e}")))?;
        let key_url = payload
            .pointer("/Metadata/key_url")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| TicketError::Invalid("the callback has no Metadata.key_url".into()))?;
        let signature = signature.ok_or(TicketError::Unauthorized)?;
        let (_, client) = self.psa_integrations().connect(&tenant, psa_id).await?;
        let PsaClient::ConnectWise(cw) = &client else {
            return Err(TicketError::NotFound(psa_id.to_owned()));
        };
        let key = cw.fetch_signing_key(key_url).await.map_err(|e| match e {
            // A key URL outside the allow-list is a forged delivery, not our fault.
            PsaError::Config(_) => TicketError::Unauthorized,
            other => TicketError::Psa(other),
        })?;
        if !verify_callback_signature(key.expose().as_bytes(), body, signature) {
            return Err(TicketError::Unauthorized);
        }
        if !payload
            .get("Type")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("ticket"))
        {
            return Ok(HookOutcome::new("ignored").because("not a ticket callback"));
        }
        let ticket_id = match payload.get("ID") {
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() => s.clone(),
            _ => return Err(TicketError::Invalid("the callback has no ticket ID".into())),
        };
        self.ticket_changed(&tenant, psa_id, &ticket_id).await
    }

    /// A PSA said a ticket changed: read it back; when complete, resolve its alerts once.
    async fn ticket_changed(
        &self,
        tenant: &TenantId,
        psa_id: &str,
        ticket_id: &str,
    ) -> Result<HookOutcome, TicketError> {
        let items = self.items(tenant);
        let Some(link) = items.link(psa_id, ticket_id).await? else {
            return Ok(HookOutcome::new("ignored").because("not a ticket rmmsync opened"));
        };
        let datto_id = &link.datto_integration_id;
        let Some(settings) = items.settings::<TicketSettings>(datto_id).await? else {
            return Ok(HookOutcome::new("ignored").because("the Datto RMM integration has no ticket settings"));
        };
        let Some(psa_settings) = settings.psa_settings() else {
            return Ok(HookOutcome::new("ignored").because("the ticket settings lack the PSA's attributes"));
        };
        let (_, client) = self.psa_integrations().connect(tenant, psa_id).await?;
        let ticket = client.get_ticket(ticket_id, &psa_settings).await?;
        if !ticket.completed {
            return Ok(HookOutcome::new("ignored")
                .ticket(ticket_id)
                .because("the ticket is not complete"));
        }
        let mut resolved = Vec::new();
        let mut datto: Option<DattoClient> = None;
        for uid in &link.alert_uids {
            let mut record = items.alert(datto_id, uid).await?.unwrap_or(AlertRecord {
                alert_uid: uid.clone(),
                state: AlertState::Opened,
                ticket_id: Some(ticket_id.to_owned()),
                psa_integration_id: Some(psa_id.to_owned()),
                reason: None,
                updated_at: (self.clock)(),
            });
            if record.state == AlertState::Resolved {
                continue;
            }
            if datto.is_none() {
                datto = Some(self.datto_client(tenant, datto_id).await?);
            }
            let client = datto.as_ref().expect("set above");
            // Marked first, so Datto's own webhook about the resolution finds it done.
            let before = record.clone();
            record.state = AlertState::Resolved;
            record.reason = Some(format!("ticket {ticket_id} completed in the PSA"));
            record.updated_at = (self.clock)();
            items.put_alert(datto_id, &record).await?;
            match client.resolve_alert(uid).await {
                // Gone or resolved already in Datto: nothing left to resolve.
                Ok(()) | Err(DattoError::NotFound { .. }) => {}
                Err(e) => {
                    items.put_alert(datto_id, &before).await?;
                    return Err(e.into());
                }
            }
            resolved.push(uid.clone());
        }
        if resolved.is_empty() {
            return Ok(HookOutcome::new("duplicate")
                .ticket(ticket_id)
                .because("its alerts are resolved already"));
        }
        tracing::info!(tenant = %tenant, ticket = %ticket_id, alerts = resolved.len(), "alerts resolved from a completed ticket");
        let mut out = HookOutcome::new("resolved").ticket(ticket_id);
        out.alerts = resolved;
        Ok(out)
    }
}
