//! Resolving: a resolved alert completes its ticket once all of the ticket's
//! alerts are resolved; a completed ticket (Autotask callout, ConnectWise
//! callback) resolves its alerts in Datto RMM. States are written before the
//! side effect, so the echo of our own change finds nothing to do.

use super::items::{AlertRecord, AlertState};
use super::rules::ticket_id_from_callout;
use super::service::{HookOutcome, TicketError, Tickets};
use super::settings::TicketSettings;
use crate::datto::{DattoClient, DattoError};
use crate::psa::connectwise::verify_callback_signature;
use crate::psa::{PsaClient, PsaError, PsaTicketSettings};
use crate::tenant::TenantId;

impl Tickets<'_> {
    /// The alert was resolved in Datto RMM: mark it, and complete its ticket
    /// once every alert on that ticket is resolved.
    pub(super) async fn alert_resolved(
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
        if let Some(off) = self.disabled(&tenant, psa_id).await? {
            return Ok(off);
        }
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
        if let Some(off) = self.disabled(&tenant, psa_id).await? {
            return Ok(off);
        }
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
    pub(super) async fn ticket_changed(
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
        // The Datto RMM integration whose alerts it would resolve is switched off.
        if let Some(off) = self.disabled(tenant, datto_id).await? {
            return Ok(off);
        }
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
