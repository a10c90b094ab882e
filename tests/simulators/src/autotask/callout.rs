//! The extension callout emitter. Confirmed: a ticket workflow rule executes a
//! callout that holds a URL, credentials and a data format, optionally only for tickets with a
//! value in a given ticket UDF. UNCONFIRMED, so all switches here: the payload fields and their
//! names (`id`, `ticketNumber`, `status`, `companyID`, `rmmAlertID`, `title`), the encoding (JSON
//! or name-value pairs), HTTP Basic auth with the stored username/password, the timeout, and
//! that failed deliveries are not retried. The real service fires "usually within 5 minutes";
//! the simulator fires at once, in the background.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::model::SimTicket;
use super::{AutotaskState, lock};
use crate::http;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CalloutFormat {
    #[default]
    Json,
    /// `application/x-www-form-urlencoded` name-value pairs.
    Form,
}

/// An extension callout. `url` must be `http://` (the simulator speaks plain HTTP/1.1).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CalloutConfig {
    pub url: String,
    pub format: CalloutFormat,
    /// Sent as HTTP Basic credentials (both empty = no Authorization header).
    pub username: String,
    pub password: String,
    /// Fire only for tickets with a non-empty value in this ticket UDF.
    pub udf_filter: Option<String>,
    /// Extra attempts after a failed delivery (no answer or a non-2xx status).
    pub retries: u32,
    pub retry_delay_ms: u64,
    pub timeout_ms: u64,
}

impl Default for CalloutConfig {
    fn default() -> Self {
        CalloutConfig {
            url: String::new(),
            format: CalloutFormat::Json,
            username: String::new(),
            password: String::new(),
            udf_filter: None,
            retries: 0,
            retry_delay_ms: 1000,
            timeout_ms: 10_000,
        }
    }
}

impl std::fmt::Debug for CalloutConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalloutConfig")
            .field("url", &self.url)
            .field("format", &self.format)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("udf_filter", &self.udf_filter)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalloutDelivery {
    pub ticket_id: i64,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub url: String,
    pub content_type: String,
    pub body: String,
    /// The receiver's HTTP status; `None` when no answer came.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The payload for a ticket, in the configured format: `(content type, body)`.
pub(crate) fn payload(format: CalloutFormat, t: &SimTicket) -> (&'static str, String) {
    match format {
        CalloutFormat::Json => (
            "application/json",
            json!({
                "id": t.id,
                "ticketNumber": t.ticket_number,
                "status": t.status,
                "companyID": t.company_id,
                "rmmAlertID": t.rmm_alert_id,
                "title": t.title,
            })
            .to_string(),
        ),
        CalloutFormat::Form => {
            let pairs = [
                ("id", t.id.to_string()),
                ("ticketNumber", t.ticket_number.clone()),
                ("status", t.status.to_string()),
                ("companyID", t.company_id.to_string()),
                ("rmmAlertID", t.rmm_alert_id.clone().unwrap_or_default()),
                ("title", t.title.clone()),
            ];
            let body = pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", form_encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            ("application/x-www-form-urlencoded", body)
        }
    }
}

/// Fires the configured callout for a ticket that just became Complete, if it applies.
pub(crate) fn fire(sim: Arc<AutotaskState>, ticket: SimTicket) {
    let Some(cfg) = lock(&sim.callout).clone() else {
        return;
    };
    if let Some(udf) = &cfg.udf_filter
        && !ticket
            .udfs
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case(udf) && !v.trim().is_empty())
    {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(
            ticket_id = ticket.id,
            "autotask sim: no tokio runtime, callout not sent"
        );
        return;
    };
    runtime.spawn(async move {
        let (content_type, body) = payload(cfg.format, &ticket);
        for attempt in 1..=cfg.retries + 1 {
            let started = Instant::now();
            let result = post(&cfg, content_type, &body).await;
            let (status, error) = match result {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(e.to_string())),
            };
            lock(&sim.deliveries).push(CalloutDelivery {
                ticket_id: ticket.id,
                attempt,
                url: cfg.url.clone(),
                content_type: content_type.to_string(),
                body: body.clone(),
                status,
                error,
                elapsed_ms: started.elapsed().as_millis() as u64,
            });
            if status.is_some_and(|s| (200..300).contains(&s)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(cfg.retry_delay_ms)).await;
        }
    });
}

/// One HTTP/1.1 POST; returns the status.
async fn post(cfg: &CalloutConfig, content_type: &str, body: &str) -> std::io::Result<u16> {
    if !cfg.url.starts_with("http://") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "only http:// callout URLs",
        ));
    }
    let mut headers = vec![
        ("Content-Type", content_type.to_owned()),
        ("User-Agent", "Autotask-Extension-Callout (simulator)".to_owned()),
    ];
    if !cfg.username.is_empty() || !cfg.password.is_empty() {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", cfg.username, cfg.password));
        headers.push(("Authorization", format!("Basic {basic}")));
    }
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sent = http::request_untimed("POST", &cfg.url, &headers, Some(body.as_bytes()));
    tokio::time::timeout(Duration::from_millis(cfg.timeout_ms), sent)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "callout timed out"))?
        .map(|response| response.status)
}
