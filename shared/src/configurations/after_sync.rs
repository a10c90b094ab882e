//! The refresh after a sync run: once a run of a Datto RMM integration has
//! completed its listing, every PSA integration with configuration mapping set
//! up for it (a `CFGSET#` item, see [`super::settings`]) gets the refresh of
//! [`ConfigMap::refresh_until`]: devices deleted in Datto RMM are unmapped and
//! their configurations set inactive, linked configurations get the fields the
//! devices changed. Nobody has to call the route.
//!
//! Guarantees: it never panics and never fails the run; each failure is a run
//! error (`configurations.refresh`), counted with what was done on the run
//! record. It stops between PSA calls at its time budget
//! (`configurationsIncomplete`; the next run carries on). A refresh that
//! would deactivate more configurations than the safety cap writes nothing:
//! the run records `configurations.confirmation_required` and counts it in
//! `configurationsHeld` until someone confirms through
//! `POST …/configuration-refresh` with `confirm: true`. A PSA integration
//! that is gone is skipped.
//!
//! Then, where automatic mapping is on ([`super::auto`]) and the run saw new
//! devices (`devicesCreated`) or an earlier automatic mapping left writes for
//! later (`autoPending`: the Autotask budget at its reserve, a deadline), the
//! automatic mapping: links and creations counted (`configurationsLinked`,
//! `configurationsCreated`); more creations than the safety cap are held the
//! same way.

use super::auto::AutoRequest;
use super::table::ConfigMap;
use crate::sync::RunRecord;
use crate::tenant::TenantId;
use axum::http::StatusCode;
use std::time::{Duration, Instant};

/// Runs the refresh for every configured PSA integration of `integration`, within `time`,
/// recording what it did on `run`.
pub async fn after_sync(
    map: &ConfigMap<'_>,
    tenant: &TenantId,
    integration: &str,
    run: &mut RunRecord,
    time: Duration,
) {
    let deadline = Instant::now() + time;
    let configured = match map.integrations.store.config_settings_all(tenant, integration).await {
        Ok(c) => c,
        Err(e) => {
            run.record_error("configurations.refresh", e.to_string());
            return;
        }
    };
    for settings in configured {
        let psa = settings.psa_integration_id;
        if Instant::now() >= deadline {
            run.counts.configurations_incomplete = true;
            break;
        }
        match map
            .refresh_until(tenant, integration, &psa, false, false, Some(deadline))
            .await
        {
            Ok(report) => {
                run.counts.configurations_updated += report.updated as u64;
                run.counts.configurations_deactivated += report.deactivated as u64;
                run.counts.configurations_failed += report.failed as u64;
                run.counts.configurations_incomplete |= report.incomplete;
                if report.failed > 0 {
                    run.record_error(
                        "configurations.refresh",
                        format!(
                            "PSA integration {psa}: {} configuration writes failed (see the configuration audit)",
                            report.failed
                        ),
                    );
                }
            }
            Err(e) if e.code == "confirmation_required" => {
                run.counts.configurations_held += 1;
                run.record_error(
                    "configurations.confirmation_required",
                    format!("PSA integration {psa}: {}", e.message),
                );
            }
            // The PSA integration (or this one) is gone: nothing to keep true.
            Err(e) if e.status == StatusCode::NOT_FOUND => continue,
            Err(e) => run.record_error(
                "configurations.refresh",
                format!("PSA integration {psa}: {}", e.message),
            ),
        }
        // Automatic mapping, when on, after a run that saw new devices or when an earlier
        // automatic mapping left writes for later (the Autotask budget, its time).
        if !settings.automatic_mapping || (run.counts.devices_created == 0 && !settings.auto_pending) {
            continue;
        }
        if Instant::now() >= deadline {
            run.counts.configurations_incomplete = true;
            break;
        }
        match map
            .auto_map(
                tenant,
                integration,
                &psa,
                AutoRequest {
                    trigger: "sync",
                    sites: None,
                    preview: false,
                    confirm: false,
                    confirmed_left: settings
                        .last_run
                        .as_ref()
                        .filter(|r| settings.auto_pending && r.confirmed)
                        .map(|r| r.left),
                    deadline: Some(deadline),
                },
            )
            .await
        {
            Ok(report) => {
                run.counts.configurations_linked += report.links as u64;
                run.counts.configurations_created += report.creations as u64;
                run.counts.configurations_failed += report.failed as u64;
                if report.failed > 0 {
                    run.record_error(
                        "configurations.automatic_mapping",
                        format!(
                            "PSA integration {psa}: {} devices could not be mapped (see the configuration audit)",
                            report.failed
                        ),
                    );
                }
            }
            Err(e) if e.code == "confirmation_required" => {
                run.counts.configurations_held += 1;
                run.record_error(
                    "configurations.confirmation_required",
                    format!("PSA integration {psa}: {}", e.message),
                );
            }
            Err(e) if e.status == StatusCode::NOT_FOUND => {}
            Err(e) => run.record_error(
                "configurations.automatic_mapping",
                format!("PSA integration {psa}: {}", e.message),
            ),
        }
    }
}
