//! Alert webhooks on demand: when an alert is raised or resolved, the simulator POSTs a JSON
//! body to the configured URL, the way a Datto RMM monitor's webhook response action would.
//!
//! Datto RMM lets each monitor define its own webhook body from alert variables, so the body is
//! rmmsync's template (UNCONFIRMED as a Datto default): `alertUid`, `priority`, `resolved`,
//! `deviceUid`, `deviceName`, `siteUid`, `siteName`, `monitor` (the context `@class` or monitor
//! name), `timestamp` (epoch ms). Extra headers (a shared token, say) come from the
//! configuration. Deliveries run in the background, one attempt each (Datto's retry behaviour
//! is UNCONFIRMED), and are recorded for tests.

use super::{DattoState, lock};
use crate::http;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Where and how alert webhooks are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertWebhook {
    pub url: String,
    /// Extra request headers, e.g. `("X-Rmmsync-Token", "...")`.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

/// One delivery attempt, as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub alert_uid: String,
    pub resolved: bool,
    /// The receiver's HTTP status; `None` when it could not be reached.
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// The body sent for an alert, or `None` if the alert does not exist.
pub(crate) fn body(sim: &DattoState, alert_uid: &str) -> Option<Vec<u8>> {
    let data = sim.read();
    let alert = &data.alerts[data.alert_index(alert_uid)?];
    let device = data.device_index(&alert.device_uid).map(|i| &data.devices[i]);
    let site = device
        .and_then(|d| data.site_index(d.site_uid.as_str()))
        .map(|i| &data.sites[i]);
    let body = json!({
        "alertUid": alert.uid,
        "priority": alert.priority.as_str(),
        "resolved": alert.resolved,
        "deviceUid": alert.device_uid,
        "deviceName": device.map(|d| d.hostname.clone()),
        "siteUid": device.map(|d| d.site_uid.as_str()),
        "siteName": site.map(|s| s.name.clone()),
        "monitor": alert.monitor.as_str(),
        "timestamp": alert.timestamp,
    });
    serde_json::to_vec(&body).ok()
}

/// Sends the alert's webhook in the background, if one is configured.
pub(crate) fn emit(sim: &Arc<DattoState>, alert_uid: &str) {
    let Some(hook) = lock(&sim.webhook).clone() else { return };
    let Some(body) = body(sim, alert_uid) else { return };
    let resolved = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("resolved").and_then(serde_json::Value::as_bool))
        .unwrap_or(false);
    let sim = sim.clone();
    let alert_uid = alert_uid.to_owned();
    let pending = sim.webhook_pending.clone();
    pending.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    tokio::spawn(async move {
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        headers.extend(hook.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let outcome =
            http::request_with_timeout(Duration::from_secs(10), "POST", &hook.url, &headers, Some(&body)).await;
        let delivery = WebhookDelivery {
            alert_uid,
            resolved,
            status: outcome.as_ref().ok().map(|r| r.status),
            error: outcome.err().map(|e| e.to_string()),
        };
        lock(&sim.deliveries).push(delivery);
        pending.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    });
}
