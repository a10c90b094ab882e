//! Resolving: a resolved alert completes its ticket once all of the ticket's
//! alerts are resolved; a completed ticket (Autotask ticket webhook or
//! callout, ConnectWise callback, or the reconciler) resolves its alerts in
//! Datto RMM.
//!
//! Guarantees: every state change is a conditional write on the version
//! read, retried on a conflict, so a resolve during an in-flight open, two
//! concurrent resolves and a completion racing a resolve each keep both
//! updates. An alert is marked resolved before the ticket's other alerts are
//! read (write, then read), so of two concurrent resolutions of one ticket's
//! last alerts at least one sees them all resolved and completes it. States
//! are written before the side effect, so the echo of our own change finds
//! nothing to do; a failed side effect puts the state back for the next try.

use super::items::{AlertRecord, AlertState};
use super::rules::{autotask_webhook_key, ticket_id_from_callout, ticket_id_from_webhook};
use super::service::{HookOutcome, TicketError, Tickets};
use super::settings::TicketSettings;
use crate::datto::{DattoClient, DattoError};
use crate::psa::autotask::verify_webhook_signature;
use crate::psa::connectwise::verify_callback_signature;
use crate::psa::{PsaClient, PsaError, PsaTicketSettings};
use crate::tenant::TenantId;

/// Conditional writes tried before a conflict is handed back as an error.
const CONFLICT_TRIES: usize = 5;

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
        let mut read = existing;
        for attempt in 0..CONFLICT_TRIES {
            if attempt > 0 {
                read = items.alert(datto_id, uid).await?;
            }
            let now = (self.clock)();
            let mut record = match read.clone() {
                Some(r) if r.state == AlertState::Resolved => {
                    let mut out = HookOutcome::new("duplicate").because("already resolved");
                    out.ticket_id = r.ticket_id;
                    return Ok(out);
                }
                Some(r) => r,
                // Resolved before any open arrived: remembered, so a late open does nothing.
                None => AlertRecord::new(uid, AlertState::Resolved, now),
            };
            let before = record.clone();
            record.state = AlertState::Resolved;
            record.reason = Some(match record.ticket_id {
                Some(_) => "resolved in Datto RMM".into(),
                None => "resolved before a ticket was opened".into(),
            });
            record.next_attempt_at = None;
            record.updated_at = now;
            if !items.put_alert_checked(datto_id, &mut record).await? {
                continue;
            }
            let Some(ticket_id) = record.ticket_id.clone() else {
                // An open in flight finds the resolution when it settles, and completes its ticket.
                return Ok(HookOutcome::new("resolved").because("no ticket was opened for this alert"));
            };
            let psa_id = record
                .psa_integration_id
                .clone()
                .unwrap_or_else(|| settings.psa_integration_id.clone());
            return match self
                .complete_if_all_resolved(tenant, datto_id, &psa_id, &ticket_id, psa_settings, uid)
                .await
            {
                Ok(true) => Ok(HookOutcome::new("completed").ticket(&ticket_id)),
                Ok(false) => Ok(HookOutcome::new("resolved").ticket(&ticket_id)),
                Err(e) => {
                    // Put back, so that the next delivery or the reconciler completes it.
                    let mut back = before;
                    back.version = record.version;
                    back.reason = Some(format!("completing ticket {ticket_id} failed: {e}"));
                    let _ = items.put_alert_checked(datto_id, &mut back).await;
                    Err(e)
                }
            };
        }
        Err(TicketError::Store(crate::store::StoreError::ConditionFailed))
    }

    /// Completes a ticket when every alert it carries is resolved. Returns
    /// whether it is complete now.
    pub(super) async fn complete_if_all_resolved(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        psa_id: &str,
        ticket_id: &str,
        psa_settings: &PsaTicketSettings,
        uid: &str,
    ) -> Result<bool, TicketError> {
        let items = self.items(tenant);
        let link = items.link(psa_id, ticket_id).await?;
        for other in link.iter().flat_map(|l| l.alert_uids.iter()).filter(|a| *a != uid) {
            if items
                .alert(datto_id, other)
                .await?
                .is_some_and(|a| a.state != AlertState::Resolved)
            {
                return Ok(false);
            }
        }
        let (_, client) = self.psa_integrations().connect(tenant, psa_id).await?;
        if !client.get_ticket(ticket_id, psa_settings).await?.completed {
            client
                .complete_ticket(ticket_id, "The alert was resolved in Datto RMM.", psa_settings)
                .await?;
            tracing::info!(tenant = %tenant, ticket = %ticket_id, "ticket completed: its alerts are resolved");
        }
        Ok(true)
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
        let deadline = self.timing.deadline();
        tokio::time::timeout(deadline, self.ticket_changed(&tenant, psa_id, &ticket_id))
            .await
            .map_err(|_| TicketError::Deadline(deadline))?
    }

    /// `POST /hooks/autotask/{integrationId}/webhook`: an Autotask ticket webhook delivery. The
    /// token, then `X-Hook-Signature` (HMAC-SHA1 of the body with the key derived from the
    /// token, hex or base64, compared in constant time); then the ticket is re-read as for a
    /// callout: the body is never trusted beyond the ticket id.
    pub async fn on_autotask_webhook(
        &self,
        psa_id: &str,
        token: Option<&str>,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<HookOutcome, TicketError> {
        let tenant = self.authenticate(psa_id, token, "autotask").await?;
        let (Some(token), Some(signature)) = (token, signature) else {
            return Err(TicketError::Unauthorized);
        };
        if !verify_webhook_signature(autotask_webhook_key(token).as_bytes(), body, signature) {
            return Err(TicketError::Unauthorized);
        }
        if let Some(off) = self.disabled(&tenant, psa_id).await? {
            return Ok(off);
        }
        let ticket_id = match ticket_id_from_webhook(body).map_err(TicketError::Invalid)? {
            Ok(id) => id,
            Err(why) => {
                tracing::info!(tenant = %tenant, integration = %psa_id, reason = %why, "autotask webhook ignored");
                return Ok(HookOutcome::new("ignored").because(why));
            }
        };
        let deadline = self.timing.deadline();
        tokio::time::timeout(deadline, self.ticket_changed(&tenant, psa_id, &ticket_id))
            .await
            .map_err(|_| TicketError::Deadline(deadline))?
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
        // ConnectWise waits 5 s and retries only 404/409/419/429 (see routes): answer within that.
        let deadline = self.timing.callback_deadline();
        tokio::time::timeout(deadline, self.ticket_changed(&tenant, psa_id, &ticket_id))
            .await
            .map_err(|_| TicketError::Deadline(deadline))?
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
        // Ticketing turned off keeps the settings: tickets opened before still resolve their alerts.
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
        let resolved = self
            .resolve_ticket_alerts(tenant, datto_id, psa_id, ticket_id, &link.alert_uids)
            .await?;
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

    /// Resolves in Datto RMM each of `uids` (alerts of a completed ticket)
    /// not resolved yet; returns those it resolved.
    pub(super) async fn resolve_ticket_alerts(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        psa_id: &str,
        ticket_id: &str,
        uids: &[String],
    ) -> Result<Vec<String>, TicketError> {
        let items = self.items(tenant);
        let mut resolved = Vec::new();
        let mut datto: Option<DattoClient> = None;
        for uid in uids {
            let mut marked = None;
            for _ in 0..CONFLICT_TRIES {
                let now = (self.clock)();
                let mut record = items.alert(datto_id, uid).await?.unwrap_or_else(|| {
                    let mut r = AlertRecord::new(uid, AlertState::Opened, now);
                    r.ticket_id = Some(ticket_id.to_owned());
                    r.psa_integration_id = Some(psa_id.to_owned());
                    r
                });
                if record.state == AlertState::Resolved {
                    break;
                }
                // Marked first, so Datto's own webhook about the resolution finds it done.
                let before = record.clone();
                record.state = AlertState::Resolved;
                record.reason = Some(format!("ticket {ticket_id} completed in the PSA"));
                record.updated_at = now;
                if items.put_alert_checked(datto_id, &mut record).await? {
                    marked = Some((before, record));
                    break;
                }
            }
            let Some((before, record)) = marked else { continue };
            if datto.is_none() {
                datto = Some(self.datto_client(tenant, datto_id).await?);
            }
            let client = datto.as_ref().expect("set above");
            match client.resolve_alert(uid).await {
                // Gone or resolved already in Datto: nothing left to resolve.
                Ok(()) | Err(DattoError::NotFound { .. }) => {}
                Err(e) => {
                    let mut back = before;
                    back.version = record.version;
                    let _ = items.put_alert_checked(datto_id, &mut back).await;
                    return Err(e.into());
                }
            }
            resolved.push(uid.clone());
        }
        Ok(resolved)
    }
}
