//! Ticket settings per Datto RMM integration: which PSA, priorities,
//! queue or board, statuses, the repeat window; every problem named at once.

use super::rules::{PriorityMap, parse_window};
use super::service::{TicketError, Tickets};
use crate::connections::{PsaIntegration, PsaIntegrationError};
use crate::psa::autotask::AutotaskTicketSettings;
use crate::psa::connectwise::ConnectWiseTicketSettings;
use crate::psa::{PsaKind, PsaTicketSettings};
use crate::tenant::TenantId;
use serde::{Deserialize, Serialize};

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
    pub(super) fn psa_settings(&self) -> Option<PsaTicketSettings> {
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

impl Tickets<'_> {
    /// `PATCH`: the fields given replace those stored, the rest stay; validated as a whole.
    pub async fn patch_settings(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        patch: TicketSettingsInput,
    ) -> Result<TicketSettings, TicketError> {
        let current = self.get_settings(tenant, datto_id).await?;
        // Another PSA's attributes given: the other PSA's are not carried over.
        let (autotask_given, connectwise_given) = (patch.autotask.is_some(), patch.connectwise.is_some());
        let merged = TicketSettingsInput {
            enabled: patch.enabled.or(Some(current.enabled)),
            psa_integration_id: patch.psa_integration_id.or(Some(current.psa_integration_id.clone())),
            priorities: patch.priorities.or(Some(current.priorities)),
            autotask: patch
                .autotask
                .or(if connectwise_given { None } else { current.autotask }),
            connectwise: patch
                .connectwise
                .or(if autotask_given { None } else { current.connectwise }),
            repeat_window: patch
                .repeat_window
                .or(Some(serde_json::json!(current.repeat_window_minutes))),
        };
        self.put_settings(tenant, datto_id, merged).await
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
        let enabled = input.enabled.unwrap_or(true);
        if enabled && psa.kind == PsaKind::Autotask {
            self.one_datto_per_autotask_database(tenant, datto_id, &psa).await?;
        }
        let settings = TicketSettings {
            enabled,
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

    /// Only one Datto RMM account tickets into one Autotask database: two
    /// would open two tickets for one alert and fight over resolutions. The
    /// database is the integration's `database` key (zone host and `ci` from
    /// zoneInformation); without one, the PSA integration itself stands for it.
    async fn one_datto_per_autotask_database(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        psa: &PsaIntegration,
    ) -> Result<(), TicketError> {
        let database = |p: &PsaIntegration| p.database.clone().unwrap_or_else(|| format!("integration:{}", p.id));
        let wanted = database(psa);
        for other in self.datto_integrations().list(tenant).await? {
            if other.id == datto_id {
                continue;
            }
            let Some(settings): Option<TicketSettings> = self.items(tenant).settings(&other.id).await? else {
                continue;
            };
            if !settings.enabled || settings.psa != PsaKind::Autotask {
                continue;
            }
            let theirs = match self.psa_integrations().get(tenant, &settings.psa_integration_id).await {
                Ok(p) => p,
                Err(PsaIntegrationError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            if database(&theirs) == wanted {
                return Err(TicketError::Conflict(format!(
                    "Datto RMM integration {} ({}) already tickets into this Autotask database (through PSA integration {}); \
                     one Datto RMM account tickets into one Autotask database: disable its ticket settings first",
                    other.name, other.id, theirs.id
                )));
            }
        }
        Ok(())
    }
}
