//! The reconciler: the guarantee behind the webhooks. A pass over one Datto
//! RMM integration with ticketing on compares Datto RMM's open alerts, the
//! alert states rmmsync holds and the PSA tickets' states, and repairs what
//! the webhooks missed:
//!
//! - an open alert without a ticket (never delivered, pending after a fault
//!   and due, failed and due for another look, or claimed by a delivery that
//!   died) goes through the same path as a webhook: the repeat window is
//!   respected, and a ticket already carrying the alert uid is adopted;
//! - an alert on a ticket that Datto RMM no longer lists as open is
//!   resolved, and its ticket completed once all of its alerts are;
//! - a ticket completed in the PSA resolves its alerts in Datto RMM.
//!
//! It works within budgets ([`ReconcileBudget`]): alerts opened per pass,
//! tickets read per pass (Autotask's hourly budget; a spent budget stops the
//! reads) and a deadline; what is left waits for the next pass. Datto RMM is
//! read through the connector's shared rate limiter. Each pass is recorded
//! (`RECONCILE#LAST`) with what it repaired.

use super::items::{AlertRecord, AlertState, ReconcileRecord, Repair};
use super::opening::Caller;
use super::service::{TicketError, Tickets};
use super::settings::TicketSettings;
use crate::datto::models::{Alert, Page};
use crate::psa::PsaError;
use crate::tenant::TenantId;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// How much one pass may do; the rest waits for the next pass.
#[derive(Debug, Clone)]
pub struct ReconcileBudget {
    /// Alerts taken through the open path (webhook path) per pass.
    pub max_opens: usize,
    /// PSA tickets read per pass to learn whether they completed.
    pub max_ticket_reads: usize,
    /// Pages of Datto RMM's open alerts read per pass.
    pub max_alert_pages: u32,
    /// The pass stops starting work after this long.
    pub deadline: Duration,
}

impl Default for ReconcileBudget {
    fn default() -> Self {
        Self {
            max_opens: 200,
            max_ticket_reads: 300,
            max_alert_pages: 50,
            deadline: Duration::from_secs(240),
        }
    }
}

impl ReconcileBudget {
    /// `RECONCILE_MAX_OPENS`, `RECONCILE_MAX_TICKET_READS`, `RECONCILE_MAX_ALERT_PAGES`,
    /// `RECONCILE_DEADLINE_SECS` (defaults: 200, 300, 50, 240).
    pub fn from_env() -> Self {
        let get = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok());
        let d = Self::default();
        Self {
            max_opens: get("RECONCILE_MAX_OPENS").map_or(d.max_opens, |v| v as usize),
            max_ticket_reads: get("RECONCILE_MAX_TICKET_READS").map_or(d.max_ticket_reads, |v| v as usize),
            max_alert_pages: get("RECONCILE_MAX_ALERT_PAGES").map_or(d.max_alert_pages, |v| v as u32),
            deadline: get("RECONCILE_DEADLINE_SECS").map_or(d.deadline, Duration::from_secs),
        }
    }
}

const MAX_REPAIRS: usize = 200;
const MAX_ERRORS: usize = 20;

struct Pass {
    record: ReconcileRecord,
    until: Instant,
}

impl Pass {
    fn repair(&mut self, action: &str, alert: Option<&str>, ticket: Option<&str>, reason: Option<String>) {
        if self.record.repairs.len() < MAX_REPAIRS {
            self.record.repairs.push(Repair {
                action: action.to_owned(),
                alert_uid: alert.map(str::to_owned),
                ticket_id: ticket.map(str::to_owned),
                reason,
            });
        }
    }

    fn error(&mut self, e: &TicketError) {
        if self.record.errors.len() < MAX_ERRORS {
            self.record.errors.push(e.to_string());
        }
    }

    fn out_of_time(&self) -> bool {
        Instant::now() >= self.until
    }
}

impl Tickets<'_> {
    /// Every Datto RMM integration of every tenant with ticketing on, one
    /// after the other (the schedule's tick). Returns the passes made.
    pub async fn reconcile_all(&self, budget: &ReconcileBudget) -> Result<usize, TicketError> {
        let mut passes = 0;
        for (tenant, id) in self.store.registry_of(crate::store::keys::INTEGRATION_REGISTRY).await? {
            let Some(settings) = self.items(&tenant).settings::<TicketSettings>(&id).await? else {
                continue;
            };
            // A switched-off integration, or the PSA it tickets into, is left alone until it is on.
            if self.disabled(&tenant, &id).await?.is_some()
                || self.disabled(&tenant, &settings.psa_integration_id).await?.is_some()
            {
                continue;
            }
            match self.reconcile(&tenant, &id, budget).await {
                Ok(_) => passes += 1,
                Err(e) => tracing::error!(tenant = %tenant, integration = %id, error = %e, "reconciler pass failed"),
            }
        }
        Ok(passes)
    }

    /// The last pass over an integration, as recorded.
    pub async fn last_reconcile(&self, tenant: &TenantId, datto_id: &str) -> Result<ReconcileRecord, TicketError> {
        self.datto_integrations().get(tenant, datto_id).await?;
        self.items(tenant)
            .reconcile_record(datto_id)
            .await?
            .ok_or_else(|| TicketError::NotFound(format!("{datto_id}/ticket-reconciler")))
    }

    /// The alert states of an integration, optionally of one state, oldest change first.
    pub async fn alert_states(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        state: Option<AlertState>,
    ) -> Result<Vec<AlertRecord>, TicketError> {
        self.datto_integrations().get(tenant, datto_id).await?;
        let mut all = self.items(tenant).alerts(datto_id).await?;
        all.retain(|r| state.is_none_or(|s| r.state == s));
        all.sort_by_key(|r| r.updated_at);
        Ok(all)
    }

    /// One pass over one Datto RMM integration (see the module docs).
    pub async fn reconcile(
        &self,
        tenant: &TenantId,
        datto_id: &str,
        budget: &ReconcileBudget,
    ) -> Result<ReconcileRecord, TicketError> {
        let items = self.items(tenant);
        let started_at = (self.clock)();
        let mut pass = Pass {
            record: ReconcileRecord {
                started_at,
                finished_at: started_at,
                open_alerts: 0,
                complete: false,
                opened: 0,
                adopted: 0,
                noted: 0,
                tickets_completed: 0,
                alerts_resolved: 0,
                still_pending: 0,
                failed: 0,
                deferred: 0,
                repairs: Vec::new(),
                errors: Vec::new(),
            },
            until: Instant::now() + budget.deadline,
        };
        let settings = items
            .settings::<TicketSettings>(datto_id)
            .await?
            .ok_or_else(|| TicketError::NotFound(format!("{datto_id}/ticket-settings")))?;
        let psa_settings = settings
            .psa_settings()
            .ok_or_else(|| TicketError::Invalid("the ticket settings lack the PSA's attributes".into()))?;
        for id in [datto_id, settings.psa_integration_id.as_str()] {
            if self.disabled(tenant, id).await?.is_some() {
                return Err(TicketError::Disabled(id.to_owned()));
            }
        }

        // Datto RMM's open alerts, every page (within the budget).
        let datto = self.datto_client(tenant, datto_id).await?;
        let mut open: BTreeMap<String, Alert> = BTreeMap::new();
        let mut pager = datto.pages::<Alert>("api/v2/account/alerts/open", &[])?;
        let mut complete = false;
        while pager.pages_fetched() < budget.max_alert_pages {
            match pager.next_page().await {
                Ok(Some(Page { items: alerts, .. })) => {
                    for a in alerts {
                        if let Some(uid) = a.alert_uid.clone().filter(|u| super::rules::is_uid(u)) {
                            open.insert(uid, a);
                        }
                    }
                }
                Ok(None) => {
                    complete = true;
                    break;
                }
                Err(e) => {
                    pass.error(&TicketError::Datto(e));
                    break;
                }
            }
        }
        pass.record.open_alerts = open.len();
        pass.record.complete = complete;
        let records: HashMap<String, AlertRecord> = items
            .alerts(datto_id)
            .await?
            .into_iter()
            .map(|r| (r.alert_uid.clone(), r))
            .collect();
        let now = (self.clock)();

        // 1. Open alerts without their ticket, oldest first.
        if settings.enabled {
            let mut due: Vec<&Alert> = open
                .iter()
                // A monitor switched off opens nothing: not worth a budget slot.
                .filter(|(_, a)| settings.creates_tickets_for(a))
                .filter(|(uid, _)| match records.get(*uid) {
                    None => true,
                    Some(r) => match r.state {
                        AlertState::Pending | AlertState::Failed => r.next_attempt_at.is_none_or(|t| t <= now),
                        AlertState::Opening => r.updated_at < now - self.timing.claim_ttl_ms(),
                        _ => false,
                    },
                })
                .map(|(_, a)| a)
                .collect();
            due.sort_by_key(|a| a.timestamp.unwrap_or(0));
            let mut taken = 0;
            for alert in due {
                if taken >= budget.max_opens || pass.out_of_time() {
                    pass.record.deferred += 1;
                    continue;
                }
                taken += 1;
                let uid = alert.alert_uid.clone().unwrap_or_default();
                match self
                    .alert_changed(tenant, datto_id, &uid, Some(alert.clone()), Caller::Reconciler)
                    .await
                {
                    Ok(out) => {
                        match out.status {
                            "opened" => pass.record.opened += 1,
                            "adopted" => pass.record.adopted += 1,
                            "noted" => pass.record.noted += 1,
                            "pending" => pass.record.still_pending += 1,
                            "failed" => pass.record.failed += 1,
                            _ => {}
                        }
                        if out.status != "duplicate" && out.status != "ignored" {
                            pass.repair(out.status, Some(&uid), out.ticket_id.as_deref(), out.reason);
                        }
                    }
                    Err(e) => pass.error(&e),
                }
            }
        }

        // 2. Alerts on a ticket that Datto RMM no longer lists as open: resolved there.
        if complete {
            let gone: Vec<&AlertRecord> = records
                .values()
                .filter(|r| {
                    // Changed after the list was read: maybe newer than the list; the next pass decides.
                    matches!(r.state, AlertState::Opened | AlertState::Noted)
                        && !open.contains_key(&r.alert_uid)
                        && r.updated_at < started_at
                })
                .collect();
            for r in gone {
                if pass.out_of_time() {
                    pass.record.deferred += 1;
                    continue;
                }
                match self
                    .alert_resolved(
                        tenant,
                        datto_id,
                        &settings,
                        &psa_settings,
                        &r.alert_uid,
                        Some(r.clone()),
                    )
                    .await
                {
                    Ok(out) if out.status == "completed" => {
                        pass.record.tickets_completed += 1;
                        pass.repair("ticket-completed", Some(&r.alert_uid), out.ticket_id.as_deref(), None);
                    }
                    Ok(out) if out.status == "resolved" => {
                        pass.repair(
                            "alert-marked-resolved",
                            Some(&r.alert_uid),
                            out.ticket_id.as_deref(),
                            None,
                        );
                    }
                    Ok(_) => {}
                    Err(e) => pass.error(&e),
                }
            }
        }

        // 3. Tickets whose alerts are still open: completed in the PSA?
        let mut tickets: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for r in records.values() {
            if matches!(r.state, AlertState::Opened | AlertState::Noted)
                && open.contains_key(&r.alert_uid)
                && let Some(ticket) = &r.ticket_id
            {
                let psa = r
                    .psa_integration_id
                    .clone()
                    .unwrap_or_else(|| settings.psa_integration_id.clone());
                tickets
                    .entry((psa, ticket.clone()))
                    .or_default()
                    .push(r.alert_uid.clone());
            }
        }
        // A different slice first on each pass, so that a budget smaller than the tickets starves none.
        let mut order: Vec<_> = tickets.into_iter().collect();
        order.sort_by_key(|((_, t), _)| spread(t, started_at));
        let mut reads = 0;
        let mut clients = HashMap::new();
        for ((psa_id, ticket_id), uids) in order {
            if reads >= budget.max_ticket_reads || pass.out_of_time() {
                pass.record.deferred += 1;
                continue;
            }
            reads += 1;
            if !clients.contains_key(&psa_id) {
                match self.psa_integrations().connect(tenant, &psa_id).await {
                    Ok((_, c)) => {
                        clients.insert(psa_id.clone(), c);
                    }
                    Err(e) => {
                        pass.error(&e.into());
                        continue;
                    }
                }
            }
            let client = &clients[&psa_id];
            let state = match client.get_ticket(&ticket_id, &psa_settings).await {
                Ok(s) => s,
                Err(PsaError::BudgetExhausted { .. }) => {
                    pass.record.deferred += 1;
                    reads = budget.max_ticket_reads;
                    continue;
                }
                Err(e) => {
                    pass.error(&e.into());
                    continue;
                }
            };
            if !state.completed {
                continue;
            }
            let mut all = items
                .link(&psa_id, &ticket_id)
                .await?
                .map(|l| l.alert_uids)
                .unwrap_or_default();
            for u in uids {
                if !all.contains(&u) {
                    all.push(u);
                }
            }
            match self
                .resolve_ticket_alerts(tenant, datto_id, &psa_id, &ticket_id, &all)
                .await
            {
                Ok(resolved) => {
                    pass.record.alerts_resolved += resolved.len();
                    for uid in resolved {
                        pass.repair("alert-resolved", Some(&uid), Some(&ticket_id), None);
                    }
                }
                Err(e) => pass.error(&e),
            }
        }

        pass.record.finished_at = (self.clock)();
        items.put_reconcile_record(datto_id, &pass.record).await?;
        tracing::info!(tenant = %tenant, integration = %datto_id, opened = pass.record.opened, adopted = pass.record.adopted,
            completed = pass.record.tickets_completed, resolved = pass.record.alerts_resolved, deferred = pass.record.deferred,
            "reconciler pass");
        Ok(pass.record)
    }
}

/// A pass-dependent order of tickets (FNV-1a of the id and the pass start).
fn spread(ticket: &str, pass: i64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (pass as u64);
    for b in ticket.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
