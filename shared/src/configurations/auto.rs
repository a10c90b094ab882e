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
//! Not wired: running it when a site gets mapped to a company.

use super::table::{ConfigMap, ConfigState, MapOutcome, MapRequest, MapTarget};
use crate::api::ApiError;
use crate::tenant::TenantId;
use axum::http::StatusCode;
use serde::Serialize;

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
    /// The planned writes.
    pub actions: Vec<AutoAction>,
    /// What each write did (not a preview).
    pub outcomes: Vec<MapOutcome>,
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
        preview: bool,
        confirm: bool,
        deadline: Option<std::time::Instant>,
    ) -> Result<AutoMapReport, ApiError> {
        crate::devices::ensure_integration(self.store(), tenant, integration).await?;
        let on = self
            .store()
            .config_settings(tenant, integration, psa)
            .await?
            .is_some_and(|s| s.automatic_mapping);
        if !on && !preview {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "automatic_mapping_off",
                "automatic mapping is off for this PSA integration: turn it on with PATCH …/configuration-settings, \
                 or map devices by hand",
            ));
        }
        let snap = self.snapshot(tenant, integration, psa).await?;
        let mut report = AutoMapReport {
            preview,
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
        if preview || report.actions.is_empty() {
            return Ok(report);
        }
        let req = MapRequest {
            psa_integration_id: psa.to_owned(),
            device_uids: report.actions.iter().map(|a| a.device_uid.clone()).collect(),
            target: MapTarget::Proposal,
            confirm,
        };
        let done = self.map_in(tenant, integration, snap, req, deadline).await?;
        report.links = done.outcomes.iter().filter(|o| o.result == "linked").count();
        report.creations = done.outcomes.iter().filter(|o| o.result == "created").count();
        report.failed = done.outcomes.iter().filter(|o| o.result == "failed").count();
        report.outcomes = done.outcomes;
        Ok(report)
    }
}
