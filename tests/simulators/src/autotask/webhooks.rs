//! Autotask's ticket webhooks (`TicketWebhooks`): registration (`POST /TicketWebhooks`, its
//! fields, query, delete) and signed deliveries. Confirmed: a webhook has a URL, a
//! deactivation URL, a `SecretKey` (at most 64 characters) and create/update/delete
//! subscriptions; deliveries are POSTs whose `X-Hook-Signature` is an HMAC-SHA1 of the body
//! keyed by the secret key, and the payload carries `Guid`, `Action`, `EntityType`, `Id`,
//! `Fields`, `EventTime`, `SequenceNumber`. UNCONFIRMED, so switches here: the digest's encoding
//! (base64 by default, hex with [`WebhookSignature::Hex`]) and the exact payload. The simulator
//! delivers an `Update` event whenever a ticket's status changes (not on create), at once and
//! in the background, one attempt.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::{Value, json};

use super::model::SimTicket;
use super::{AutotaskState, lock};
use crate::http;

/// How the simulator writes `X-Hook-Signature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebhookSignature {
    #[default]
    Base64,
    Hex,
}

/// A registered ticket webhook.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimWebhook {
    pub id: i64,
    pub name: String,
    pub webhook_url: String,
    pub deactivation_url: String,
    #[serde(skip)]
    pub secret_key: String,
    pub is_active: bool,
    pub is_subscribed_to_create_events: bool,
    pub is_subscribed_to_update_events: bool,
    pub is_subscribed_to_delete_events: bool,
    /// Subscribed field ids.
    pub fields: Vec<i64>,
    /// The webhook's `Guid` (what a delivery names it by).
    pub guid: String,
}

/// One delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub webhook_id: i64,
    pub ticket_id: i64,
    pub url: String,
    pub body: String,
    pub signature: String,
    /// The receiver's status; `None` when no answer came.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(1);
/// Webhook ids only grow (a deleted one is never reused), as Autotask's do.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// `POST /TicketWebhooks`: `Ok(id)` or a validation message.
pub(crate) fn create(sim: &AutotaskState, body: &Value) -> Result<i64, String> {
    let text = |name: &str| field(body, name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let flag = |name: &str| field(body, name).and_then(Value::as_bool).unwrap_or(false);
    for required in ["name", "webhookUrl", "deactivationUrl", "secretKey"] {
        if text(required).trim().is_empty() {
            return Err(format!("Missing Required Field: {required}"));
        }
    }
    let key = text("secretKey");
    if key.chars().count() > 64 {
        return Err("String value exceeds maximum length (field:secretKey).".into());
    }
    let mut hooks = lock(&sim.webhooks);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed) as i64;
    hooks.push(SimWebhook {
        id,
        name: text("name"),
        webhook_url: text("webhookUrl"),
        deactivation_url: text("deactivationUrl"),
        secret_key: key,
        is_active: flag("isActive"),
        is_subscribed_to_create_events: flag("isSubscribedToCreateEvents"),
        is_subscribed_to_update_events: flag("isSubscribedToUpdateEvents"),
        is_subscribed_to_delete_events: flag("isSubscribedToDeleteEvents"),
        fields: Vec::new(),
        guid: format!("{:08x}-5151-4b1d-9e5e-{:012x}", id, id * 7919),
    });
    Ok(id)
}

/// `POST /TicketWebhooks/{id}/Fields`.
pub(crate) fn add_field(sim: &AutotaskState, id: i64, body: &Value) -> Result<i64, String> {
    let field_id = field(body, "fieldID")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .ok_or("Missing Required Field: fieldID")?;
    let mut hooks = lock(&sim.webhooks);
    let hook = hooks
        .iter_mut()
        .find(|h| h.id == id)
        .ok_or("The webhook does not exist.")?;
    hook.fields.push(field_id);
    Ok(id * 1000 + hook.fields.len() as i64)
}

/// The rows `POST /TicketWebhooks/query` answers (the filter: `name eq` or none).
pub(crate) fn query(sim: &AutotaskState, body: &Value) -> Vec<Value> {
    let name = field(body, "filter")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|f| f["field"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("name")))
        .and_then(|f| f["value"].as_str())
        .map(str::to_owned);
    lock(&sim.webhooks)
        .iter()
        .filter(|h| name.as_ref().is_none_or(|n| h.name.eq_ignore_ascii_case(n)))
        .map(|h| serde_json::to_value(h).unwrap_or_default())
        .collect()
}

/// `DELETE /TicketWebhooks/{id}`: whether it existed.
pub(crate) fn delete(sim: &AutotaskState, id: i64) -> bool {
    let mut hooks = lock(&sim.webhooks);
    let before = hooks.len();
    hooks.retain(|h| h.id != id);
    hooks.len() != before
}

/// A ticket's status changed (not on create): every active webhook subscribed to updates gets
/// an `Update` event, signed.
pub(crate) fn fire(sim: Arc<AutotaskState>, ticket: SimTicket) {
    let hooks: Vec<SimWebhook> = lock(&sim.webhooks)
        .iter()
        .filter(|h| h.is_active && h.is_subscribed_to_update_events)
        .cloned()
        .collect();
    if hooks.is_empty() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let encoding = *lock(&sim.webhook_signature);
    for hook in hooks {
        let sim = sim.clone();
        let body = json!({
            "Action": "Update",
            "Guid": hook.guid,
            "EntityType": "Ticket",
            "Id": ticket.id,
            "Fields": {"id": ticket.id, "status": ticket.status, "ticketNumber": ticket.ticket_number},
            "EventTime": crate::time::iso_millis(crate::time::now_ms()),
            "SequenceNumber": SEQUENCE.fetch_add(1, Ordering::Relaxed),
            "PersonID": null,
        })
        .to_string();
        let signature = sign(&hook.secret_key, body.as_bytes(), encoding);
        let ticket_id = ticket.id;
        runtime.spawn(async move {
            let started = Instant::now();
            let headers = [
                ("Content-Type", "application/json"),
                ("X-Hook-Signature", signature.as_str()),
                ("User-Agent", "Autotask-Webhook (simulator)"),
            ];
            let sent = http::request_untimed("POST", &hook.webhook_url, &headers, Some(body.as_bytes()));
            let (status, error) = match tokio::time::timeout(Duration::from_secs(10), sent).await {
                Ok(Ok(r)) => (Some(r.status), None),
                Ok(Err(e)) => (None, Some(e.to_string())),
                Err(_) => (None, Some("timed out".into())),
            };
            lock(&sim.webhook_deliveries).push(WebhookDelivery {
                webhook_id: hook.id,
                ticket_id,
                url: hook.webhook_url.clone(),
                body,
                signature,
                status,
                error,
                elapsed_ms: started.elapsed().as_millis() as u64,
            });
        });
    }
}

/// HMAC-SHA1 of `body` keyed by `key`, encoded as Autotask is taken to encode it.
pub fn sign(key: &str, body: &[u8], encoding: WebhookSignature) -> String {
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    match encoding {
        WebhookSignature::Base64 => base64::engine::general_purpose::STANDARD.encode(digest),
        WebhookSignature::Hex => digest.iter().map(|b| format!("{b:02x}")).collect(),
    }
}
