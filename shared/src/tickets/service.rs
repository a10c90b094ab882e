//! The ticket flow's service: what it is built from, its errors, what a
//! delivery answers, and the accessors the other parts share.

use super::items::TicketStore;
use crate::connections::{IntegrationError, IntegrationSettings, Integrations};
use crate::connections::{PsaIntegrationError, PsaIntegrations};
use crate::datto::{DattoClient, DattoConnector, DattoError};
use crate::psa::{PsaConnector, PsaError};
use crate::secrets::SecretsManager;
use crate::store::{DynamoStore, StoreError};
use crate::tenant::TenantId;
use serde::Serialize;

use super::timing::TicketTiming;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("{0}")]
    Invalid(String),
    #[error("no integration {0} for this tenant")]
    NotFound(String),
    #[error("the hook token is missing or wrong")]
    Unauthorized,
    /// Refused because of the state of other records (the message says which).
    #[error("{0}")]
    Conflict(String),
    /// The integration (Datto RMM or PSA) is switched off.
    #[error("integration {0} is switched off; enable it first")]
    Disabled(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Datto(#[from] DattoError),
    #[error(transparent)]
    Psa(#[from] PsaError),
    #[error("secret storage failed: {0}")]
    Secrets(String),
    /// The work did not finish within the delivery's deadline; recorded as pending.
    #[error("the work did not finish within {0:?}; the alert is pending and will be tried again")]
    Deadline(Duration),
    /// Another delivery holds what this one needs (another alert of the same monitor opening its ticket).
    #[error("{0}")]
    Busy(String),
    /// A refusal a person must fix (e.g. the site is not mapped to a PSA company).
    #[error("{0}")]
    Refused(String),
}

/// What a failed attempt at an alert means for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FaultKind {
    /// Worth trying again soon (5xx, 429, timeouts, a busy monitor): pending, and 5xx to the sender.
    Transient,
    /// Credentials refused or access denied: pending until someone fixes them.
    Credentials,
    /// A refusal a person must fix: failed, retried slowly.
    Permanent,
    /// Our own store failed: nothing could be recorded.
    Store,
}

impl TicketError {
    pub(super) fn fault_kind(&self) -> FaultKind {
        match self {
            TicketError::Store(_) => FaultKind::Store,
            TicketError::Deadline(_) | TicketError::Busy(_) | TicketError::Secrets(_) => FaultKind::Transient,
            TicketError::Psa(p) if p.is_transient() => FaultKind::Transient,
            TicketError::Psa(
                PsaError::BadCredentials { .. } | PsaError::UnknownUser { .. } | PsaError::PermissionDenied { .. },
            ) => FaultKind::Credentials,
            TicketError::Datto(d) if d.is_transient() => FaultKind::Transient,
            TicketError::Datto(DattoError::BadCredentials { .. } | DattoError::PermissionDenied) => {
                FaultKind::Credentials
            }
            _ => FaultKind::Permanent,
        }
    }
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
    /// `opened`, `adopted`, `noted`, `completed`, `resolved`, `duplicate`, `ignored`,
    /// `disabled` (the integration is switched off: nothing was done), `pending` (a fault:
    /// tried again with backoff) or `failed` (a refusal to fix).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl HookOutcome {
    pub(super) fn new(status: &'static str) -> Self {
        Self {
            status,
            ticket_id: None,
            alerts: Vec::new(),
            reason: None,
        }
    }

    /// The answer for a switched-off integration.
    pub(super) fn disabled() -> Self {
        Self::new("disabled").because("the integration is disabled; nothing was done")
    }

    pub(super) fn ticket(mut self, id: &str) -> Self {
        self.ticket_id = Some(id.to_owned());
        self
    }

    pub(super) fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
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
    /// The deadline of a delivery and the liveness of a claim.
    pub timing: TicketTiming,
}

impl Tickets<'_> {
    pub(super) fn datto_integrations(&self) -> Integrations<'_> {
        Integrations {
            store: self.store,
            secrets: self.secrets,
            datto: self.datto,
            settings: self.settings,
        }
    }

    pub(super) fn psa_integrations(&self) -> PsaIntegrations<'_> {
        PsaIntegrations {
            store: self.store,
            secrets: self.secrets,
            psa: self.psa,
            settings: self.settings,
        }
    }

    pub(super) fn items<'s>(&'s self, tenant: &'s TenantId) -> TicketStore<'s> {
        TicketStore {
            store: self.store,
            tenant,
            timing: self.timing,
        }
    }

    /// The answer to a delivery for a switched-off integration (`disabled`,
    /// nothing done), or `None` when it is on.
    pub(super) async fn disabled(&self, tenant: &TenantId, id: &str) -> Result<Option<HookOutcome>, TicketError> {
        Ok(match self.store.integration_switches(tenant, id).await? {
            Some(s) if !s.enabled => Some(HookOutcome::disabled()),
            _ => None,
        })
    }

    pub(super) async fn datto_client(&self, tenant: &TenantId, datto_id: &str) -> Result<DattoClient, TicketError> {
        let (integration, credentials) = self.datto_integrations().credentials(tenant, datto_id).await?;
        Ok(self.datto.client(integration.platform, credentials)?)
    }
}
