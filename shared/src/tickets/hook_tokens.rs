//! Hook tokens: made for an integration, shown once, kept as a SHA-256, and
//! checked in constant time when a webhook arrives (the tenant part of the
//! token finds the tenant's partition).

use super::rules::{self, hook_token_tenant};
use super::service::{TicketError, Tickets};
use crate::connections::IntegrationError;
use crate::psa::{PsaClient, PsaKind};
use crate::tenant::TenantId;
use serde::Serialize;

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
