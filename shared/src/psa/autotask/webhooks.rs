//! Autotask's own ticket webhooks (`TicketWebhooks`): registering rmmsync's
//! (replacing any earlier one of the same name, never creating blindly
//! twice), deleting it, and checking a delivery's `X-Hook-Signature`
//! (HMAC-SHA1 of the body keyed by the webhook's `SecretKey`; hex or base64,
//! since the encoding is unconfirmed), in constant time.

use super::client::AutotaskClient;
use super::transport::{PSA, decode};
use crate::psa::{PsaError, truncate_chars};
use crate::retry::Replay;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Autotask's limit on a webhook's `SecretKey`.
pub const SECRET_KEY_MAX: usize = 64;

/// A ticket webhook to register.
#[derive(Debug, Clone)]
pub struct TicketWebhookSpec<'a> {
    /// Identifies rmmsync's webhook (earlier ones of the same name are deleted first).
    pub name: &'a str,
    pub url: &'a str,
    /// Where Autotask reports that it deactivated the webhook.
    pub deactivation_url: &'a str,
    /// At most [`SECRET_KEY_MAX`] characters.
    pub secret_key: &'a str,
}

impl AutotaskClient {
    /// Registers a ticket webhook for update events: earlier webhooks of the same name (which
    /// carry an older URL or key) are deleted first, then one `POST /TicketWebhooks` (a
    /// create: retried only when Autotask surely did not get it), then the fields of
    /// `AUTOTASK_WEBHOOK_FIELD_IDS` (which ids name which ticket fields is UNCONFIRMED).
    pub async fn register_ticket_webhook(&self, spec: &TicketWebhookSpec<'_>) -> Result<i64, PsaError> {
        if spec.secret_key.is_empty() || spec.secret_key.chars().count() > SECRET_KEY_MAX {
            return Err(PsaError::Config(format!(
                "a webhook secret key has 1 to {SECRET_KEY_MAX} characters"
            )));
        }
        self.delete_ticket_webhooks(spec.name).await?;
        let body = json!({
            "isActive": true,
            "name": truncate_chars(spec.name, 50),
            "webhookUrl": spec.url,
            "deactivationUrl": spec.deactivation_url,
            "secretKey": spec.secret_key,
            "isSubscribedToCreateEvents": false,
            "isSubscribedToUpdateEvents": true,
            "isSubscribedToDeleteEvents": false,
            "sendThresholdExceededNotification": false,
        });
        let zone = self.transport.zone().await?;
        let answer = self
            .transport
            .send(
                Method::POST,
                self.transport.url(&zone, "TicketWebhooks")?,
                "TicketWebhooks",
                Some(&body),
                Replay::Create,
            )
            .await?;
        self.transport.expect_ok(&answer, "/TicketWebhooks")?;
        let created: Value = decode(&answer.body, "/TicketWebhooks")?;
        let id = created
            .get("itemId")
            .and_then(|i| i.as_i64().or_else(|| i.as_str()?.parse().ok()))
            .ok_or_else(|| PsaError::InvalidResponse {
                psa: PSA,
                path: "/TicketWebhooks".into(),
                detail: "no itemId in the answer".into(),
            })?;
        for field in &self.webhook_field_ids {
            let path = format!("TicketWebhooks/{id}/Fields");
            let body =
                json!({"fieldID": field, "isSubscribedField": true, "isDisplayAlwaysField": false, "webhookID": id});
            let answer = self
                .transport
                .send(
                    Method::POST,
                    self.transport.url(&zone, &path)?,
                    "TicketWebhooks",
                    Some(&body),
                    Replay::Create,
                )
                .await?;
            self.transport.expect_ok(&answer, "/TicketWebhooks/{id}/Fields")?;
        }
        Ok(id)
    }

    /// Deletes every ticket webhook of this name; how many there were.
    pub async fn delete_ticket_webhooks(&self, name: &str) -> Result<usize, PsaError> {
        let filter = json!([{"op": "eq", "field": "name", "value": truncate_chars(name, 50)}]);
        let existing = self.transport.query_all("TicketWebhooks", filter).await?;
        let zone = self.transport.zone().await?;
        let mut deleted = 0;
        for id in existing.iter().filter_map(|w| w.get("id").and_then(Value::as_i64)) {
            let answer = self
                .transport
                .send(
                    Method::DELETE,
                    self.transport.url(&zone, &format!("TicketWebhooks/{id}"))?,
                    "TicketWebhooks",
                    None,
                    Replay::Idempotent,
                )
                .await?;
            if answer.status != StatusCode::NOT_FOUND {
                self.transport.expect_ok(&answer, "/TicketWebhooks/{id}")?;
            }
            deleted += 1;
        }
        Ok(deleted)
    }
}

/// Whether `signature` is the HMAC-SHA1 of `body` keyed by `key`, as lower- or upper-case hex
/// or as base64 (with or without padding). Compared in constant time.
pub fn verify_webhook_signature(key: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(mut mac) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key) else {
        return false;
    };
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    let given = signature.trim();
    let given = given.strip_prefix("sha1=").unwrap_or(given);
    let decoded = if given.len() == 40 && given.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..20)
            .map(|i| u8::from_str_radix(&given[2 * i..2 * i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(given)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(given))
            .ok()
    };
    let Some(decoded) = decoded else { return false };
    decoded.len() == expected.len()
        && decoded
            .iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn signatures_in_hex_or_base64() {
        // RFC 2202 test case 2: key "Jefe", "what do ya want for nothing?".
        let body = b"what do ya want for nothing?";
        let hex = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";
        assert!(verify_webhook_signature(b"Jefe", body, hex));
        assert!(verify_webhook_signature(b"Jefe", body, &hex.to_uppercase()));
        let bytes: Vec<u8> = (0..20)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        assert!(verify_webhook_signature(b"Jefe", body, &b64));
        assert!(verify_webhook_signature(b"Jefe", body, b64.trim_end_matches('=')));
        assert!(!verify_webhook_signature(b"Jefe", b"what do ya want for nothing!", hex));
        assert!(!verify_webhook_signature(b"jefe", body, hex));
        assert!(!verify_webhook_signature(b"Jefe", body, ""));
        assert!(!verify_webhook_signature(b"Jefe", body, "not a signature"));
    }
}
