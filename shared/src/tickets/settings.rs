//! Ticket settings per Datto RMM integration: which PSA, priorities,
//! queue or board, statuses, the repeat window, per-monitor overrides and
//! switches; every problem named at once. On save the ids are checked
//! against what the PSA lists ([`super::lists`]): unknown ids refuse the
//! save (or, with ticketing off, are warnings), and the answer carries the
//! warnings.

use super::lists::{Checked, check_autotask, check_connectwise};
use super::monitors::{MAX_MONITORS, MonitorOverride, monitor_of, normalize_key};
use super::rules::{PriorityMap, parse_window};
use super::service::{TicketError, Tickets};
use crate::connections::{PsaIntegration, PsaIntegrationError};
use crate::datto::models::Alert;
use crate::psa::autotask::AutotaskTicketSettings;
use crate::psa::connectwise::ConnectWiseTicketSettings;
use crate::psa::{PsaKind, PsaTicketLists, PsaTicketSettings};
use crate::tenant::TenantId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// Per monitor (its normalized alert context class, see [`super::monitors`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub monitors: BTreeMap<String, MonitorOverride>,
    /// When the PSA integration these settings ticket into was deleted (ticketing was turned
    /// off then); settings naming another PSA integration clear it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psa_removed_at: Option<i64>,
    pub updated_at: i64,
}

/// What a save answers: the settings and what to look at.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedTicketSettings {
    #[serde(flatten)]
    pub settings: TicketSettings,
    /// Warnings from the check against the PSA's lists (an inactive choice, a board without a
    /// default team or status, the lists unreadable, or, with ticketing off, unknown ids).
    pub warnings: Vec<String>,
}

impl TicketSettings {
    pub(super) fn psa_settings(&self) -> Option<PsaTicketSettings> {
        match self.psa {
            PsaKind::Autotask => self.autotask.clone().map(PsaTicketSettings::Autotask),
            PsaKind::ConnectwiseManage => self.connectwise.clone().map(PsaTicketSettings::ConnectWise),
        }
    }

    /// The alert's monitor's settings, if it has any.
    pub(super) fn monitor(&self, alert: &Alert) -> Option<(String, &MonitorOverride)> {
        let key = monitor_of(alert)?;
        let o = self.monitors.get(&key)?;
        Some((key, o))
    }

    /// Whether the alert's monitor opens tickets (the per-monitor switch; on unless switched off).
    pub(super) fn creates_tickets_for(&self, alert: &Alert) -> bool {
        self.monitor(alert).is_none_or(|(_, o)| o.create_tickets != Some(false))
    }

    /// The ticket attributes for the alert's monitor.
    pub(super) fn psa_settings_for(&self, alert: &Alert) -> Option<PsaTicketSettings> {
        let base = self.psa_settings()?;
        Some(match self.monitor(alert) {
            Some((_, o)) => o.apply(&base),
            None => base,
        })
    }

    /// The PSA priority for the alert: its monitor's, else the mapped Datto priority.
    pub(super) fn priority_for(&self, alert: &Alert) -> Option<String> {
        self.monitor(alert)
            .and_then(|(_, o)| o.priority.clone())
            .or_else(|| self.priorities.map(alert.priority.as_deref()))
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
    /// Per monitor; in a `PATCH`, a key given `null` removes that monitor's entry and the
    /// others given replace theirs.
    pub monitors: Option<BTreeMap<String, Option<MonitorOverride>>>,
}

impl Tickets<'_> {
    /// `PATCH`: the fields given replace those stored, the rest stay; validated as a whole.
    pub async fn patch_settings(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        patch: TicketSettingsInput,
    ) -> Result<SavedTicketSettings, TicketError> {
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
            monitors: Some(merge_monitors(current.monitors, patch.monitors)),
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
    ) -> Result<SavedTicketSettings, TicketError> {
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
            if value.as_deref().is_some_and(|v| !is_numeric_id(v)) {
                problems.push(format!("`priorities.{name}` must be the PSA's numeric priority id"));
            }
        }
        let monitors = self::monitors(
            input.monitors.unwrap_or_default(),
            psa.as_ref().map(|p| p.kind),
            &mut problems,
        );
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
            monitors,
            psa_removed_at: None,
            updated_at: (self.clock)(),
        };
        let checked = self.check_against_lists(tenant, &settings).await;
        let mut warnings = checked.warnings;
        if !checked.problems.is_empty() {
            if settings.enabled {
                return Err(TicketError::Invalid(checked.problems.join("; ")));
            }
            // Ticketing off never depends on the PSA: saved, and what would refuse it is shown.
            warnings.extend(checked.problems);
        }
        self.items(tenant).put_settings(datto_id, &settings).await?;
        Ok(SavedTicketSettings { settings, warnings })
    }

    /// The settings against what the PSA lists now. Lists that cannot be read (the PSA down,
    /// credentials refused) are a warning, not a refusal: the save does not depend on the PSA.
    async fn check_against_lists(&self, tenant: &TenantId, settings: &TicketSettings) -> Checked {
        let boards: std::collections::BTreeSet<i64> = settings
            .connectwise
            .iter()
            .map(|c| c.board_id)
            .chain(
                settings
                    .monitors
                    .values()
                    .filter_map(|o| o.connectwise.as_ref().and_then(|c| c.board_id)),
            )
            .collect();
        // One board: only its lists are read; several: all boards.
        let board = (boards.len() == 1).then(|| boards.iter().next().copied()).flatten();
        let read = tokio::time::timeout(
            self.timing.deadline().mul_f64(0.7),
            self.ticket_lists(tenant, &settings.psa_integration_id, board),
        )
        .await;
        let lists = match read {
            Ok(Ok(lists)) => lists,
            Ok(Err(e)) => {
                return Checked {
                    problems: Vec::new(),
                    warnings: vec![format!(
                        "the settings could not be checked against the PSA's lists: {e}"
                    )],
                };
            }
            Err(_) => {
                return Checked {
                    problems: Vec::new(),
                    warnings: vec![
                        "the settings could not be checked against the PSA's lists: it did not answer in time".into(),
                    ],
                };
            }
        };
        match (&lists, &settings.autotask, &settings.connectwise) {
            (PsaTicketLists::Autotask(l), Some(a), _) => check_autotask(a, &settings.priorities, &settings.monitors, l),
            (PsaTicketLists::ConnectWise(l), _, Some(c)) => {
                check_connectwise(c, &settings.priorities, &settings.monitors, l)
            }
            _ => Checked::default(),
        }
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

fn is_numeric_id(v: &str) -> bool {
    !v.is_empty() && v.len() <= 18 && v.bytes().all(|b| b.is_ascii_digit())
}

/// The monitors of a save, keys normalized; problems named (bad keys, two keys for one monitor,
/// the other PSA's attributes, a priority that is not an id, too many entries).
fn monitors(
    given: BTreeMap<String, Option<MonitorOverride>>,
    psa: Option<PsaKind>,
    problems: &mut Vec<String>,
) -> BTreeMap<String, MonitorOverride> {
    let mut out = BTreeMap::new();
    if given.len() > MAX_MONITORS {
        problems.push(format!("`monitors`: at most {MAX_MONITORS} entries"));
    }
    for (raw, o) in given {
        let Some(o) = o else { continue };
        let key = match normalize_key(&raw) {
            Ok(k) => k,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        if o.priority.as_deref().is_some_and(|p| !is_numeric_id(p)) {
            problems.push(format!(
                "`monitors.{key}.priority` must be the PSA's numeric priority id"
            ));
        }
        match psa {
            Some(PsaKind::Autotask) if o.connectwise.is_some() => problems.push(format!(
                "`monitors.{key}.connectwise` given for an Autotask integration"
            )),
            Some(PsaKind::ConnectwiseManage) if o.autotask.is_some() => problems.push(format!(
                "`monitors.{key}.autotask` given for a ConnectWise Manage integration"
            )),
            _ => {}
        }
        if o.connectwise.as_ref().and_then(|c| c.board_id).is_some_and(|b| b <= 0) {
            problems.push(format!("`monitors.{key}.connectwise.boardId` must be a board id"));
        }
        if out.insert(key.clone(), o).is_some() {
            problems.push(format!("`monitors`: two entries name the monitor `{key}`"));
        }
    }
    out
}

/// A `PATCH`'s monitors onto the stored ones: `null` removes an entry, the rest replace theirs.
fn merge_monitors(
    current: BTreeMap<String, MonitorOverride>,
    patch: Option<BTreeMap<String, Option<MonitorOverride>>>,
) -> BTreeMap<String, Option<MonitorOverride>> {
    let mut out: BTreeMap<String, Option<MonitorOverride>> = current.into_iter().map(|(k, v)| (k, Some(v))).collect();
    for (raw, o) in patch.unwrap_or_default() {
        let key = normalize_key(&raw).unwrap_or(raw);
        match o {
            None => {
                out.remove(&key);
            }
            Some(o) => {
                out.insert(key, Some(o));
            }
        }
    }
    out
}
