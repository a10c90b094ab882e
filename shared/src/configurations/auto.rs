//! Automatic mapping (off by default per (Datto integration, PSA integration),
//! `automaticMapping` of [`super::settings`]): every device of a mapped site
//! with a proposal is mapped to it: an existing configuration found by a rule
//! is linked, a proposed new one is created. Devices with a warning (several
//! configurations fit, type not mapped, required questions), waiting for an
//! audit or already mapped are left alone.
//!
//! Every run first produces a preview (counts of links and creations and the
//! list); `POST …/configuration-map-now` with `preview: true` answers just
//! that, whether automatic mapping is on or not. The writes run only while it
//! is on, through [`ConfigMap::map`]'s path (lookup-before-retry creates, the
//! Autotask budget reserve, one device per configuration, each write audited),
//! and a run that would create more configurations than the safety cap writes
//! nothing without `confirm` (409 `confirmation_required`). After a sync run
//! that saw new devices the sync worker runs it without confirmation (see
//! [`super::after_sync`]): over the cap it is held and recorded on the run.
//!
//! It also runs when sites get mapped to a company ([`super::on_site_mapped`]), on those
//! sites' devices only.
//!
//! Autotask: the writes spend only what the hour's budget has above the client's reserve; the
//! devices a run cannot afford (or reach before its deadline) are left, counted in `left`, and
//! the settings say so (`autoPending`): the sync worker's next run carries on. Every run that
//! writes leaves its record in the settings ([`AutoRun`]: trigger, counts, requests, budget).
//! A confirmed run's confirmation carries over to the runs that finish it, as long as they
//! plan no more creations than it left.

use super::settings::AutoRun;
use super::table::{ConfigMap, ConfigState, MapOutcome, MapRequest, MapTarget};
use crate::api::ApiError;
use crate::tenant::TenantId;
use axum::http::StatusCode;
use serde::Serialize;
use std::collections::HashSet;
use std::time::Instant;

/// One planned write of an automatic mapping.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoAction {
    pub device_uid: String,
    pub hostname: Option<String>,
    /// `link` or `create`.
    pub action: String,
    /// The configuration a link writes the device uid onto.
    pub configuration_id: Option<String>,
    /// The rule that matched (a link).
    pub rule: Option<String>,
}

/// What an automatic mapping run plans (a preview) or did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoMapReport {
    pub preview: bool,
    /// Existing configurations to link (planned) or linked.
    pub links: usize,
    /// New configurations to create (planned) or created.
    pub creations: usize,
    /// Automatic mapping never updates or deactivates (the refresh does): always 0.
    pub updates: usize,
    pub deactivations: usize,
    pub failed: usize,
    /// Planned writes not made (the Autotask budget down to its reserve, or the time up): a
    /// later run carries on.
    pub left: usize,
    /// PSA requests the run made (Autotask; 0 for ConnectWise).
    pub requests: u64,
    /// Autotask: what the hour's budget had above the reserve when the writes began.
    pub budget_above_reserve: Option<i64>,
    /// The writes went ahead confirmed (above the safety cap).
    pub confirmed: bool,
    /// The planned writes.
    pub actions: Vec<AutoAction>,
    /// What each write did (not a preview).
    pub outcomes: Vec<MapOutcome>,
}

/// What starts an automatic mapping run, on which devices, and how.
#[derive(Debug, Clone, Copy)]
pub struct AutoRequest<'a> {
    /// `mapNow`, `siteMapped` or `sync` (the run record's `trigger`).
    pub trigger: &'a str,
    /// Only the devices of these sites (`None`: every mapped site).
    pub sites: Option<&'a [String]>,
    /// Plan only.
    pub preview: bool,
    /// Go ahead above the safety cap.
    pub confirm: bool,
    /// Carrying on a confirmed run that left this many writes: confirmed as long as the run
    /// plans no more creations than that.
    pub confirmed_left: Option<u64>,
    /// Stop between devices after this.
    pub deadline: Option<Instant>,
}

impl ConfigMap<'_> {
    /// Automatic mapping of every device with a proposal (see the module doc). `preview`
    /// answers the plan only; writes need automatic mapping on (409
    /// `automatic_mapping_off`) and, above the safety cap, `confirm`.
    pub async fn auto_map(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        req: AutoRequest<'_>,
    ) -> Result<AutoMapReport, ApiError> {
        let started_at = crate::time::now_millis();
        let result = self.auto_map_unrecorded(tenant, integration, psa, req).await;
        let (outcome, message) = match &result {
            _ if req.preview => return result,
            Ok(r) if r.actions.is_empty() => return result,
            Ok(r) if r.left > 0 => ("incomplete", None),
            Ok(_) => ("done", None),
            Err(e) if e.code == "automatic_mapping_off" || e.status == StatusCode::NOT_FOUND => return result,
            Err(e) if e.code == "confirmation_required" => ("held", Some(e.message.clone())),
            Err(e) => ("failed", Some(e.message.clone())),
        };
        let empty = AutoMapReport::default();
        let r = result.as_ref().unwrap_or(&empty);
        let run = AutoRun {
            trigger: req.trigger.to_owned(),
            started_at,
            finished_at: crate::time::now_millis(),
            outcome: outcome.to_owned(),
            planned: r.actions.len() as u64,
            linked: r.links as u64,
            created: r.creations as u64,
            failed: r.failed as u64,
            left: r.left as u64,
            requests: r.requests,
            budget_above_reserve: r.budget_above_reserve,
            confirmed: r.confirmed,
            message,
        };
        if let Err(e) = self.store().record_auto_run(tenant, integration, psa, &run).await {
            tracing::warn!(error = %e, "the automatic mapping run record was not saved");
        }
        result
    }

    async fn auto_map_unrecorded(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        req: AutoRequest<'_>,
    ) -> Result<AutoMapReport, ApiError> {
        crate::devices::ensure_integration(self.store(), tenant, integration).await?;
        let on = self
            .store()
            .config_settings(tenant, integration, psa)
            .await?
            .is_some_and(|s| s.automatic_mapping);
        if !on && !req.preview {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "automatic_mapping_off",
                "automatic mapping is off for this PSA integration: turn it on with PATCH …/configuration-settings, \
                 or map devices by hand",
            ));
        }
        let scope: Option<HashSet<String>> = req.sites.map(|s| s.iter().cloned().collect());
        let snap = self.snapshot_of(tenant, integration, psa, scope.as_ref()).await?;
        let mut report = AutoMapReport {
            preview: req.preview,
            ..AutoMapReport::default()
        };
        for row in &snap.rows {
            let action = match row.state {
                ConfigState::Proposed => "link",
                ConfigState::ProposedNew => "create",
                _ => continue,
            };
            if action == "link" {
                report.links += 1;
            } else {
                report.creations += 1;
            }
            report.actions.push(AutoAction {
                device_uid: row.device_uid.clone(),
                hostname: row.hostname.clone(),
                action: action.into(),
                configuration_id: (action == "link").then(|| row.configuration_id.clone()).flatten(),
                rule: row.rule.map(|r| super::table::rule_name(r).to_owned()),
            });
        }
        if req.preview || report.actions.is_empty() {
            return Ok(report);
        }
        let confirm = req.confirm || req.confirmed_left.is_some_and(|n| report.creations as u64 <= n);
        report.confirmed = confirm;
        let map = MapRequest {
            psa_integration_id: psa.to_owned(),
            device_uids: report.actions.iter().map(|a| a.device_uid.clone()).collect(),
            target: MapTarget::Proposal,
            confirm,
        };
        let (done, stats) = self.map_counted(tenant, integration, snap, map, req.deadline).await?;
        let count = |what: &str| done.outcomes.iter().filter(|o| o.result == what).count();
        report.links = count("linked");
        report.creations = count("created");
        report.failed = count("failed");
        report.left = report.actions.len() - report.links - report.creations - report.failed;
        report.requests = stats.requests;
        report.budget_above_reserve = stats.budget_above_reserve;
        report.outcomes = done.outcomes;
        Ok(report)
    }
}
