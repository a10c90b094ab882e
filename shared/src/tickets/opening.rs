//! Opening: a Datto RMM alert webhook opens a PSA ticket, or notes the open
//! ticket of the same monitor within the repeat window; each alert claimed
//! with a conditional write first, so a delivery never opens a second ticket.

use super::items::{AlertRecord, AlertState, RepeatRecord, TicketLink};
use super::rules::{self, alert_uid_from_hook};
use super::service::{AlertAt, HookOutcome, STALE_CLAIM_MS, TicketError, Tickets};
use super::settings::TicketSettings;
use crate::datto::DattoError;
use crate::datto::models::Alert;
use crate::psa::{PsaKind, PsaTicketSettings, TicketDraft};
use crate::tenant::TenantId;

impl Tickets<'_> {
    /// `POST /hooks/datto/{integrationId}/alerts`.
    pub async fn on_alert_webhook(
        &self,
        datto_id: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> Result<HookOutcome, TicketError> {
        let tenant = self.authenticate(datto_id, token, "datto-rmm").await?;
        if let Some(off) = self.disabled(&tenant, datto_id).await? {
            return Ok(off);
        }
        let uid = alert_uid_from_hook(body).map_err(TicketError::Invalid)?;
        let items = self.items(&tenant);
        let Some(settings) = items.settings::<TicketSettings>(datto_id).await?.filter(|s| s.enabled) else {
            return Ok(HookOutcome::new("ignored").because("tickets are not enabled for this integration"));
        };
        let Some(psa_settings) = settings.psa_settings() else {
            return Ok(HookOutcome::new("ignored").because("the ticket settings lack the PSA's attributes"));
        };
        // The PSA the tickets go to is switched off: nothing is opened there.
        if let Some(off) = self.disabled(&tenant, &settings.psa_integration_id).await? {
            return Ok(off);
        }
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
    pub(super) async fn open_ticket(
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
    pub(super) async fn fail_alert(
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
    pub(super) async fn remember(
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

    pub(super) async fn link_alert(
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

    /// The PSA configuration item imported for a device, when one is known.
    pub(super) async fn configuration_for(
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
            .find(|c| c.rmm_device_uid.as_deref() == Some(device_uid) && c.psa_kind == Some(psa))
            .and_then(|c| c.psa_id))
    }
}
