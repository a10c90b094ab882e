//! Hook tokens: made for an integration, shown once, kept as a SHA-256, and
//! checked in constant time when a webhook arrives (the tenant part of the
//! token finds the tenant's partition). With the public URL known, a PSA's
//! token also registers the PSA's own webhook (ConnectWise ticket callback,
//! Autotask ticket webhook signed with a key derived from the token), and a
//! Datto RMM token's answer carries the webhook bodies to paste into Datto.

use super::rules::{self, hook_token_tenant};
use super::service::{TicketError, Tickets};
use crate::connections::IntegrationError;
use crate::psa::autotask::TicketWebhookSpec;
use crate::psa::{PsaClient, PsaKind};
use crate::tenant::TenantId;
use serde::Serialize;
use serde_json::{Value, json};

/// A token made for an integration's hooks: shown once, stored as a hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookToken {
    pub token: String,
    /// The hook path to configure in the sender (add `?token=` or the header).
    pub path: String,
    /// ConnectWise: the id of the ticket callback registered for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<i64>,
    /// Autotask: the id of the ticket webhook registered for it (the preferred completion
    /// signal; the extension callout works as well).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<i64>,
    /// Datto RMM: what to paste into a monitor's (or the account's) webhook response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datto_webhook: Option<DattoWebhookTemplate>,
}

/// The webhook to configure in Datto RMM: the URL (with the token) and the JSON bodies for
/// "alert raised" and "alert resolved", with Datto's `[placeholder]` variables. Only the alert
/// uid is read; the rest is for people reading the deliveries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DattoWebhookTemplate {
    /// The full URL when the public URL is known, else the path (prefix the API's URL).
    pub url: String,
    #[schema(value_type = Object)]
    pub raised: Value,
    #[schema(value_type = Object)]
    pub resolved: Value,
}

fn datto_body(event: &str) -> Value {
    json!({
        "alertUid": "[alert_uid]",
        "event": event,
        "priority": "[alert_priority]",
        "deviceUid": "[device_uid]",
        "deviceHostname": "[device_hostname]",
        "siteUid": "[site_uid]",
        "siteName": "[site_name]",
        "timestamp": "[timestamp]",
    })
}

impl Tickets<'_> {
    /// Makes (or replaces) the hook token of a Datto RMM or PSA integration.
    pub async fn new_hook_token(&self, tenant: &TenantId, integration_id: &str) -> Result<HookToken, TicketError> {
        let (kind, path) = match self.datto_integrations().get(tenant, integration_id).await {
            Ok(_) => ("datto-rmm", format!("/hooks/datto/{integration_id}/alerts")),
            Err(IntegrationError::NotFound(_)) => {
                let psa = self.psa_integrations().get(tenant, integration_id).await?;
                match psa.kind {
                    PsaKind::Autotask => ("autotask", format!("/hooks/autotask/{integration_id}/callout")),
                    PsaKind::ConnectwiseManage => (
                        "connectwise-manage",
                        format!("/hooks/connectwise/{integration_id}/callback"),
                    ),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let token = rules::new_hook_token(tenant);
        self.items(tenant)
            .put_hook(integration_id, &rules::token_hash(&token), kind)
            .await?;
        tracing::info!(tenant = %tenant, integration = %integration_id, kind, "hook token replaced");
        let base = self.hook_base_url.map(|b| b.trim_end_matches('/').to_owned());
        let datto_webhook = (kind == "datto-rmm").then(|| DattoWebhookTemplate {
            url: format!("{}{path}?token={token}", base.as_deref().unwrap_or_default()),
            raised: datto_body("raised"),
            resolved: datto_body("resolved"),
        });
        // Autotask's ticket webhook, signed: the preferred completion signal.
        let webhook_id = match (kind, base.as_deref()) {
            ("autotask", Some(base)) => {
                let (_, client) = self.psa_integrations().connect(tenant, integration_id).await?;
                let PsaClient::Autotask(at) = &client else {
                    return Err(TicketError::NotFound(integration_id.to_owned()));
                };
                if at.registers_ticket_webhooks() {
                    let url = format!("{base}/hooks/autotask/{integration_id}/webhook?token={token}");
                    let deactivation_url = format!("{url}&deactivated=true");
                    let key = rules::autotask_webhook_key(&token);
                    let name = format!("rmmsync {integration_id}");
                    let spec = TicketWebhookSpec {
                        name: &name,
                        url: &url,
                        deactivation_url: &deactivation_url,
                        secret_key: &key,
                    };
                    Some(at.register_ticket_webhook(&spec).await?)
                } else {
                    None
                }
            }
            _ => None,
        };
        // ConnectWise callbacks can be registered through its API (CW appends the ticket id).
        let callback_id = match (kind, self.hook_base_url) {
            ("connectwise-manage", Some(base)) => {
                let (_, client) = self.psa_integrations().connect(tenant, integration_id).await?;
                let PsaClient::ConnectWise(cw) = &client else {
                    return Err(TicketError::NotFound(integration_id.to_owned()));
                };
                let url = format!("{}{path}?token={token}&id=", base.trim_end_matches('/'));
                Some(
                    cw.register_callback(&url, "rmmsync: completed tickets resolve Datto RMM alerts")
                        .await?,
                )
            }
            _ => None,
        };
        Ok(HookToken {
            token,
            path,
            callback_id,
            webhook_id,
            datto_webhook,
        })
    }

    /// The tenant of a hook delivery, when its token is right for this integration.
    pub(super) async fn authenticate(
        &self,
        integration_id: &str,
        token: Option<&str>,
        kind: &str,
    ) -> Result<TenantId, TicketError> {
        // Whether the integration exists is not told to whoever lacks its token: every refusal
        // is the same 401, and a hash is compared even when there is no stored one.
        let token = token.ok_or(TicketError::Unauthorized)?;
        let tenant = hook_token_tenant(token).ok_or(TicketError::Unauthorized)?;
        let hook = if uuid::Uuid::parse_str(integration_id).is_ok() {
            self.items(&tenant).hook(integration_id).await?
        } else {
            None
        };
        let (stored, right_kind) = match &hook {
            Some(h) => (h.token_hash.as_str(), h.kind == kind),
            None => ("", false),
        };
        let matches = rules::constant_time_eq(rules::token_hash(token).as_bytes(), stored.as_bytes());
        if !(matches && right_kind) {
            return Err(TicketError::Unauthorized);
        }
        Ok(tenant)
    }
}
