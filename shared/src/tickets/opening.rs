//! Opening: a Datto RMM alert webhook (or the reconciler) opens a PSA
//! ticket, or notes the open ticket of the same monitor within the repeat
//! window.
//!
//! Guarantees: each alert is claimed with a conditional write (on its
//! version) before any PSA call, and so is the monitor before a new ticket
//! is opened for it, so concurrent deliveries never open two tickets; a
//! claim is live only as long as a delivery can be ([`super::timing`]), and
//! whoever takes over an earlier attempt looks the ticket up by the alert
//! uid before opening one (an orphan is adopted). A fault leaves the alert
//! `pending` with its reason; only a refusal a person must fix makes it
//! `failed`, and both are tried again. Repeat notes stop at a cap; past it,
//! one summary note per repeat window.

use super::items::{AlertRecord, AlertState, RepeatRecord};
use super::rules::{self, alert_uid_from_hook};
use super::service::{FaultKind, HookOutcome, TicketError, Tickets};
use super::settings::TicketSettings;
use super::timing::{FAILED_RETRY_MS, pending_backoff_ms};
use crate::companies::directory::DeviceConfiguration;
use crate::connections::{PsaIntegration, PsaIntegrationError};
use crate::datto::DattoError;
use crate::datto::models::Alert;
use crate::psa::{PsaClient, PsaKind, PsaTicketSettings, TicketDraft};
use crate::tenant::TenantId;
use std::time::Duration;

/// Repeat notes a ticket collects before only a summary per window is posted.
pub const REPEAT_NOTE_CAP: u32 = 10;

/// Alerts one device may take through the open path per storm window; the rest wait.
pub const DEVICE_STORM_LIMIT: u32 = 30;
/// The storm window (10 minutes).
pub const DEVICE_STORM_WINDOW_MS: i64 = 10 * 60_000;

/// Who is asking: a webhook delivery or the reconciler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Caller {
    Webhook,
    Reconciler,
}

impl Tickets<'_> {
    /// `POST /hooks/datto/{integrationId}/alerts`: within the delivery's deadline.
    pub async fn on_alert_webhook(
        &self,
        datto_id: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> Result<HookOutcome, TicketError> {
        let tenant = self.authenticate(datto_id, token, "datto-rmm").await?;
        let uid = match alert_uid_from_hook(body) {
            Ok(uid) => uid,
            // A switched-off integration answers `disabled` whatever the body.
            Err(e) => {
                if let Some(off) = self.disabled(&tenant, datto_id).await? {
                    return Ok(off);
                }
                return Err(TicketError::Invalid(e));
            }
        };
        let deadline = self.timing.deadline();
        let work = self.alert_changed(&tenant, datto_id, &uid, None, Caller::Webhook);
        match tokio::time::timeout(deadline, work).await {
            Ok(outcome) => outcome,
            Err(_) => {
                self.ran_out_of_time(&tenant, datto_id, &uid, deadline).await;
                Err(TicketError::Deadline(deadline))
            }
        }
    }

    /// The work was cut at the deadline: a claim it left becomes `pending`
    /// (the ticket may exist; whoever tries next looks it up by the alert uid).
    async fn ran_out_of_time(&self, tenant: &TenantId, datto_id: &str, uid: &str, deadline: Duration) {
        let record = async {
            let items = self.items(tenant);
            if let Some(mut r) = items.alert(datto_id, uid).await?
                && r.state == AlertState::Opening
            {
                let now = (self.clock)();
                r.state = AlertState::Pending;
                r.attempts += 1;
                r.reason = Some(format!(
                    "the delivery ran out of time ({} ms); the ticket is looked up by the alert uid before another is opened",
                    deadline.as_millis()
                ));
                r.next_attempt_at = Some(now);
                r.updated_at = now;
                items.put_alert_checked(datto_id, &mut r).await?;
            }
            Ok::<(), TicketError>(())
        };
        match tokio::time::timeout(Duration::from_millis(1_000), record).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(alert = %uid, error = %e, "could not record the timed-out delivery"),
            Err(_) => tracing::warn!(alert = %uid, "could not record the timed-out delivery in time"),
        }
        tracing::warn!(tenant = %tenant, integration = %datto_id, alert = %uid, "alert delivery ran out of time");
    }

    /// An alert may need its ticket opened, noted or completed: Datto RMM is
    /// asked (unless the reconciler read it just now), then the alert's state decides.
    pub(super) async fn alert_changed(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        uid: &str,
        known: Option<Alert>,
        caller: Caller,
    ) -> Result<HookOutcome, TicketError> {
        let items = self.items(tenant);
        let off = || Ok(HookOutcome::new("ignored").because("tickets are not enabled for this integration"));
        // Three independent chains at once (a delivery waits for the longest, not the sum):
        // the settings and the switch of their PSA; the alert's state; the Datto integration
        // (switch and credentials, one read) and the alert as Datto RMM has it now. Datto is
        // asked even when the settings then say to ignore the alert: that is rare, the wait is not.
        let settings_chain = async {
            let Some(settings) = items.settings::<TicketSettings>(datto_id).await? else {
                return Ok::<_, TicketError>(None);
            };
            // Read once: its switch now, its credentials if a ticket is opened.
            let psa = match self.psa_integrations().get(tenant, &settings.psa_integration_id).await {
                Ok(i) => Some(i),
                Err(PsaIntegrationError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            };
            Ok(Some((settings, psa)))
        };
        let datto_chain = async {
            match &known {
                Some(a) => DattoRead::Read(Ok(a.clone())),
                None => self.read_datto_alert(tenant, datto_id, uid).await,
            }
        };
        let (settings, existing, datto) = tokio::join!(settings_chain, items.alert(datto_id, uid), datto_chain);
        let read = match datto {
            DattoRead::Disabled(off) => return Ok(off),
            DattoRead::Read(read) => read,
        };
        let Some((settings, psa)) = settings? else {
            return off();
        };
        let Some(psa_settings) = settings.psa_settings() else {
            return Ok(HookOutcome::new("ignored").because("the ticket settings lack the PSA's attributes"));
        };
        // The PSA the tickets go to is switched off: nothing is opened or completed there.
        if psa.as_ref().is_some_and(|i| !i.enabled) {
            return Ok(HookOutcome::disabled());
        }
        let existing = existing?;
        // Ticketing off opens nothing, but the alerts of tickets opened before still complete them.
        if !settings.enabled && existing.as_ref().is_none_or(|r| r.ticket_id.is_none()) {
            return off();
        }
        let alert = {
            {
                match read {
                    Ok(a) => a,
                    Err(TicketError::Datto(DattoError::NotFound { .. })) => {
                        return Ok(HookOutcome::new("ignored").because("Datto RMM does not know this alert"));
                    }
                    // Another delivery's claim or a settled alert is not overwritten by a failed read.
                    Err(e)
                        if existing
                            .as_ref()
                            .is_some_and(|r| !matches!(r.state, AlertState::Pending | AlertState::Failed)) =>
                    {
                        return Err(e);
                    }
                    Err(e) => {
                        return self
                            .attempt_failed(tenant, datto_id, &settings, uid, existing, e, caller)
                            .await;
                    }
                }
            }
        };
        if alert.resolved == Some(true) {
            return self
                .alert_resolved(tenant, datto_id, &settings, &psa_settings, uid, existing)
                .await;
        }
        if !settings.enabled {
            return off();
        }
        if !settings.creates_tickets_for(&alert) {
            let monitor = settings.monitor(&alert).map(|(k, _)| k).unwrap_or_default();
            return Ok(
                HookOutcome::new("ignored").because(format!("tickets are switched off for the monitor `{monitor}`"))
            );
        }
        let now = (self.clock)();
        let live_claim = |r: &AlertRecord| r.updated_at >= now - self.timing.claim_ttl_ms();
        match existing.as_ref() {
            Some(r) if r.state == AlertState::Opening && live_claim(r) => {
                return Ok(HookOutcome::new("duplicate").because("another delivery is opening this alert's ticket"));
            }
            Some(r) if matches!(r.state, AlertState::Opened | AlertState::Noted | AlertState::Resolved) => {
                let mut out = HookOutcome::new("duplicate");
                out.ticket_id = r.ticket_id.clone();
                return Ok(out);
            }
            _ => {}
        }
        // Claimed on the version read: of two deliveries, one writes and the other sees it taken.
        // The device's storm slot is counted at the same time (two writes, one wait).
        let recovering = existing.is_some();
        let mut record = existing
            .clone()
            .unwrap_or_else(|| AlertRecord::new(uid, AlertState::Opening, now));
        record.state = AlertState::Opening;
        record.updated_at = now;
        record.psa_integration_id = Some(settings.psa_integration_id.clone());
        let device = alert.alert_source_info.as_ref().and_then(|s| s.device_uid.as_deref());
        let slot = async {
            match device {
                Some(device) => {
                    items
                        .take_device_slot(datto_id, device, now, DEVICE_STORM_WINDOW_MS, DEVICE_STORM_LIMIT)
                        .await
                }
                None => Ok(true),
            }
        };
        let (slot, claimed) = tokio::join!(slot, items.put_alert_checked(datto_id, &mut record));
        let (slot, claimed) = (slot?, claimed?);
        if !claimed {
            return Ok(HookOutcome::new("duplicate").because("another delivery is opening this alert's ticket"));
        }
        // One device in a storm must not starve the others nor spend the PSA's budget: past its
        // limit its alerts wait (pending) for the window to end.
        if !slot {
            record.state = AlertState::Pending;
            record.reason = Some(format!(
                "the device sent more than {DEVICE_STORM_LIMIT} alerts in {} minutes; tried again when the window ends",
                DEVICE_STORM_WINDOW_MS / 60_000
            ));
            record.next_attempt_at = Some(now + DEVICE_STORM_WINDOW_MS);
            record.updated_at = now;
            if !items.put_alert_checked(datto_id, &mut record).await? {
                return Ok(HookOutcome::new("duplicate").because("another delivery changed this alert meanwhile"));
            }
            return Ok(HookOutcome::new("pending").because(record.reason.unwrap_or_default()));
        }
        match self
            .open_ticket(
                tenant,
                datto_id,
                &settings,
                psa.as_ref(),
                &psa_settings,
                &alert,
                &mut record,
                recovering,
            )
            .await
        {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                self.attempt_failed(tenant, datto_id, &settings, uid, Some(record), e, caller)
                    .await
            }
        }
    }

    /// Records why an attempt did not open the ticket: a fault leaves the
    /// alert pending (tried again with backoff), a refusal fails it (tried
    /// again slowly, so that it heals once fixed). A transient fault still
    /// answers the sender with an error so that it retries; the rest answer 200.
    #[allow(clippy::too_many_arguments)]
    async fn attempt_failed(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        settings: &TicketSettings,
        uid: &str,
        record: Option<AlertRecord>,
        error: TicketError,
        caller: Caller,
    ) -> Result<HookOutcome, TicketError> {
        let kind = error.fault_kind();
        if kind == FaultKind::Store {
            return Err(error);
        }
        let items = self.items(tenant);
        let now = (self.clock)();
        let mut record = record.unwrap_or_else(|| AlertRecord::new(uid, AlertState::Pending, now));
        if matches!(
            record.state,
            AlertState::Opened | AlertState::Noted | AlertState::Resolved
        ) {
            // Only the reading failed, and the alert is settled already.
            return Err(error);
        }
        let reason = match &error {
            TicketError::Psa(p) => format!("{} ({})", p, p.code()),
            TicketError::Datto(d) => format!("{} ({})", d, d.code()),
            other => other.to_string(),
        };
        record.attempts += 1;
        record.reason = Some(reason.clone());
        record.updated_at = now;
        record.psa_integration_id = Some(settings.psa_integration_id.clone());
        let status = if kind == FaultKind::Permanent {
            record.state = AlertState::Failed;
            record.next_attempt_at = Some(now + FAILED_RETRY_MS);
            "failed"
        } else {
            record.state = AlertState::Pending;
            record.next_attempt_at = Some(now + pending_backoff_ms(record.attempts));
            "pending"
        };
        if !items.put_alert_checked(datto_id, &mut record).await? {
            // Someone else moved the alert on meanwhile: theirs stands.
            return Ok(HookOutcome::new("duplicate").because("another delivery changed this alert meanwhile"));
        }
        tracing::warn!(tenant = %tenant, integration = %datto_id, alert = %uid, state = status, reason = %reason, "alert not opened");
        if kind == FaultKind::Transient && caller == Caller::Webhook {
            return Err(error);
        }
        Ok(HookOutcome::new(status).because(reason))
    }

    /// Opens (or adopts, or notes) the alert's ticket; `record` is the claim.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn open_ticket(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        settings: &TicketSettings,
        psa: Option<&PsaIntegration>,
        psa_settings: &PsaTicketSettings,
        alert: &Alert,
        record: &mut AlertRecord,
        recovering: bool,
    ) -> Result<HookOutcome, TicketError> {
        let uid = record.alert_uid.clone();
        let items = self.items(tenant);
        let source = alert.alert_source_info.clone().unwrap_or_default();
        let monitor = format!(
            "{}#{}",
            source.device_uid.as_deref().unwrap_or("unknown-device"),
            rules::monitor_key(alert)
        );
        // Everything this needs from the store and the PSA's credentials, in one round (the
        // company through the site mapping, the PSA client, the monitor's repeat item, the
        // device's configuration item); each is small and independent of the others.
        let integrations = self.psa_integrations();
        let connected = async {
            match psa {
                Some(integration) => integrations.connect_to(integration).await,
                None => Ok(integrations.connect(tenant, &settings.psa_integration_id).await?.1),
            }
        };
        let (company_id, connected, first_repeat, configuration_id) = tokio::join!(
            self.psa_company(tenant, datto_id, settings.psa, source.site_uid.as_deref()),
            connected,
            items.repeat(datto_id, &monitor),
            self.configuration_for(tenant, settings.psa, source.device_uid.as_deref()),
        );
        let Some(company_id) = company_id? else {
            return Err(TicketError::Refused(
                "the alert's site is not mapped to a company imported from the PSA".into(),
            ));
        };
        let client = connected?;
        let mut first_repeat = Some(first_repeat?);
        let configuration_id = configuration_id?;
        // An earlier attempt may have opened the ticket before it died: adopt it, never open a second.
        if recovering && let Some(found) = client.find_ticket_for_alert(&uid, psa_settings).await? {
            return self
                .settle(
                    tenant,
                    datto_id,
                    settings,
                    psa_settings,
                    record,
                    AlertState::Opened,
                    &found.id,
                    "adopted",
                )
                .await;
        }
        let now = (self.clock)();
        let window_ms = i64::from(settings.repeat_window_minutes) * 60_000;
        // The monitor: its open ticket within the window gets a note; else this alert claims it.
        let mut claim = None;
        for _ in 0..12 {
            let repeat = match first_repeat.take() {
                Some(read) => read,
                None => items.repeat(datto_id, &monitor).await?,
            };
            if let Some(r) = &repeat {
                let other_opening = r.opening_by.as_deref().is_some_and(|o| o != uid)
                    && r.last_alert_at >= now - self.timing.claim_ttl_ms();
                if other_opening {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
                if !r.ticket_id.is_empty()
                    && rules::within_window(r.last_alert_at, now, settings.repeat_window_minutes)
                    && !client.get_ticket(&r.ticket_id, psa_settings).await?.completed
                {
                    let ticket_id = r.ticket_id.clone();
                    let note = RepeatNote {
                        ticket_id: &ticket_id,
                        alert,
                        uid: &uid,
                        now,
                        window_ms,
                        recovering,
                    };
                    self.note_repeat(tenant, settings, &client, note).await?;
                    let mut moved = r.clone();
                    moved.last_alert_at = now.max(r.last_alert_at);
                    // Losing this race only loses a newer timestamp to another note of the same ticket.
                    let (moved, settled) = tokio::join!(
                        items.put_repeat_checked(datto_id, &monitor, &mut moved),
                        self.settle(
                            tenant,
                            datto_id,
                            settings,
                            psa_settings,
                            record,
                            AlertState::Noted,
                            &ticket_id,
                            "noted",
                        )
                    );
                    moved?;
                    return settled;
                }
            }
            let mut mine = RepeatRecord {
                ticket_id: String::new(),
                last_alert_at: now,
                opening_by: Some(uid.clone()),
                version: repeat.map(|r| r.version).unwrap_or(0),
            };
            if items.put_repeat_checked(datto_id, &monitor, &mut mine).await? {
                claim = Some(mine);
                break;
            }
        }
        let Some(mut claim) = claim else {
            return Err(TicketError::Busy(
                "another alert of the same monitor is opening its ticket; this one is noted on it next".into(),
            ));
        };
        let draft = TicketDraft {
            company_id,
            title: rules::ticket_title(alert),
            description: rules::ticket_description(alert, &uid),
            priority: settings.priority_for(alert),
            configuration_id,
            alert_uid: uid.clone(),
        };
        // The monitor's own attributes, if it has any.
        let create_settings = settings.psa_settings_for(alert).unwrap_or_else(|| psa_settings.clone());
        let created = client.create_ticket(&draft, &create_settings).await;
        let ticket = match created {
            Ok(t) => t,
            Err(e) => {
                // The monitor is let go; the alert's own claim turns pending or failed above.
                claim.opening_by = None;
                let _ = items.put_repeat_checked(datto_id, &monitor, &mut claim).await;
                return Err(e.into());
            }
        };
        claim.ticket_id = ticket.id.clone();
        claim.opening_by = None;
        tracing::info!(tenant = %tenant, integration = %datto_id, alert = %uid, ticket = %ticket.id, "ticket opened for alert");
        // The monitor's item and the alert's own state are separate items: both written at once.
        let (moved, settled) = tokio::join!(
            items.put_repeat_checked(datto_id, &monitor, &mut claim),
            self.settle(
                tenant,
                datto_id,
                settings,
                psa_settings,
                record,
                AlertState::Opened,
                &ticket.id,
                "opened",
            )
        );
        if !moved? {
            tracing::warn!(alert = %uid, "the monitor's repeat item changed while its ticket was opened");
        }
        settled
    }

    /// A repeat of an open ticket's monitor: a note while under the cap, then
    /// one summary note per repeat window. Every note carries the alert uid: an attempt
    /// after an earlier one for the same alert (whose note POST may have reached the PSA
    /// without its answer) looks the ticket's notes up for it first and posts nothing
    /// when it is there, and a POST that lost its answer is looked up at once
    /// ([`PsaClient::add_ticket_note_once`]).
    async fn note_repeat(
        &self,
        tenant: &TenantId,
        settings: &TicketSettings,
        client: &PsaClient,
        note: RepeatNote<'_>,
    ) -> Result<(), TicketError> {
        let RepeatNote {
            ticket_id,
            alert,
            uid,
            now,
            window_ms,
            recovering,
        } = note;
        if recovering && client.ticket_has_note(ticket_id, uid).await? {
            tracing::info!(alert = %uid, ticket = %ticket_id, "the alert's note is on the ticket already");
            return Ok(());
        }
        let items = self.items(tenant);
        let psa_id = &settings.psa_integration_id;
        if items.take_note(psa_id, ticket_id, REPEAT_NOTE_CAP).await? {
            client
                .add_ticket_note_once(
                    ticket_id,
                    "Datto RMM alert repeated",
                    &rules::ticket_description(alert, uid),
                    uid,
                )
                .await?;
        } else if let Some(count) = items.take_summary(psa_id, ticket_id, now, window_ms).await? {
            let text = format!(
                "The monitor fired {count} more times since the last note (notes stop after {REPEAT_NOTE_CAP}; one summary per repeat window). Latest:\n\n{}",
                rules::ticket_description(alert, uid)
            );
            client
                .add_ticket_note_once(ticket_id, "Datto RMM alert keeps repeating", &text, uid)
                .await?;
        }
        Ok(())
    }

    /// The alert is on its ticket: linked, and its claim turned into `state`.
    /// When a resolution arrived meanwhile, the ticket is completed (once all
    /// of its alerts are resolved) instead.
    #[allow(clippy::too_many_arguments)]
    async fn settle(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        settings: &TicketSettings,
        psa_settings: &PsaTicketSettings,
        record: &mut AlertRecord,
        state: AlertState,
        ticket_id: &str,
        status: &'static str,
    ) -> Result<HookOutcome, TicketError> {
        let items = self.items(tenant);
        let psa_id = &settings.psa_integration_id;
        items.add_link(psa_id, ticket_id, datto_id, &record.alert_uid).await?;
        let now = (self.clock)();
        record.state = state;
        record.ticket_id = Some(ticket_id.to_owned());
        record.psa_integration_id = Some(psa_id.clone());
        record.reason = (status == "adopted").then(|| "adopted the ticket an earlier attempt opened".to_owned());
        record.attempts = 0;
        record.next_attempt_at = None;
        record.updated_at = now;
        if items.put_alert_checked(datto_id, record).await? {
            return Ok(HookOutcome::new(status).ticket(ticket_id));
        }
        // Changed while the ticket was being opened: a resolution came in.
        let Some(mut current) = items.alert(datto_id, &record.alert_uid).await? else {
            return Ok(HookOutcome::new(status).ticket(ticket_id));
        };
        if current.state != AlertState::Resolved {
            return Ok(HookOutcome::new("duplicate").ticket(ticket_id));
        }
        current.ticket_id = Some(ticket_id.to_owned());
        current.psa_integration_id = Some(psa_id.clone());
        current.reason = Some("resolved in Datto RMM while its ticket was being opened".into());
        if !items.put_alert_checked(datto_id, &mut current).await? {
            tracing::warn!(alert = %record.alert_uid, "the resolved alert changed again; the reconciler settles its ticket");
        }
        let completed = self
            .complete_if_all_resolved(tenant, datto_id, psa_id, ticket_id, psa_settings, &record.alert_uid)
            .await?;
        Ok(HookOutcome::new(if completed { "completed" } else { "resolved" })
            .ticket(ticket_id)
            .because("resolved in Datto RMM while its ticket was being opened"))
    }

    /// The PSA id of the company the alert's site is mapped to.
    pub(super) async fn psa_company(
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
        Ok(company.filter(|c| c.psa_kind == Some(psa)).and_then(|c| c.psa_id))
    }

    /// The PSA configuration item imported for a device, when one is known: through the
    /// device index the PSA import keeps (one read); only before any import built it, a read
    /// of every configuration.
    pub(super) async fn configuration_for(
        &self,
        tenant: &TenantId,
        psa: PsaKind,
        device_uid: Option<&str>,
    ) -> Result<Option<String>, TicketError> {
        let Some(device_uid) = device_uid else { return Ok(None) };
        match self.store.device_configuration(tenant, psa, device_uid).await? {
            DeviceConfiguration::Found(id) => return Ok(Some(id)),
            DeviceConfiguration::None => return Ok(None),
            DeviceConfiguration::NoIndex => {}
        }
        let configurations = self
            .store
            .directory(tenant, crate::psa::RecordKind::Configuration)
            .await?;
        Ok(configurations
            .into_iter()
            .find(|c| c.rmm_device_uid.as_deref() == Some(device_uid) && c.psa_kind == Some(psa))
            .and_then(|c| c.psa_id))
    }
}

/// One repeat to note on its monitor's open ticket.
struct RepeatNote<'a> {
    ticket_id: &'a str,
    alert: &'a Alert,
    uid: &'a str,
    now: i64,
    window_ms: i64,
    /// An earlier attempt for this alert may have posted the note already.
    recovering: bool,
}

/// What reading the alert from Datto RMM came to.
pub(super) enum DattoRead {
    /// The Datto integration is switched off: this is the answer, nothing is done.
    Disabled(HookOutcome),
    Read(Result<Alert, TicketError>),
}

impl Tickets<'_> {
    /// The alert as Datto RMM has it now; one read of the integration's item serves both its
    /// switch and its credentials.
    async fn read_datto_alert(&self, tenant: &TenantId, datto_id: &str, uid: &str) -> DattoRead {
        let read = async {
            let (integration, credentials) = self.datto_integrations().credentials(tenant, datto_id).await?;
            if !integration.enabled {
                return Ok::<_, TicketError>(None);
            }
            let client = self.datto.client(integration.platform, credentials)?;
            Ok(Some(client.alert(uid).await?))
        };
        match read.await {
            Ok(None) => DattoRead::Disabled(HookOutcome::disabled()),
            Ok(Some(alert)) => DattoRead::Read(Ok(alert)),
            Err(e) => DattoRead::Read(Err(e)),
        }
    }
}
