//! What deleting a PSA integration does to the ticket flow (a [`Cascade`] the
//! connections flow runs before it deletes, wired in `app.rs`): the PSA's own
//! webhooks pointing at rmmsync are deregistered (ConnectWise ticket callback,
//! Autotask ticket webhook), its hook token is forgotten, and every Datto RMM
//! integration ticketing into it gets ticketing off with `psaRemovedAt` in
//! its ticket settings.
//!
//! Deregistering is best effort: a PSA that cannot be reached or refuses the
//! credentials does not block the deletion (the hook token is gone, so what
//! is left registered is answered 401, and ConnectWise disables callbacks that
//! keep failing); it is logged. Every step can be repeated, so an interrupted
//! delete is simply run again.

use super::routes::TicketsApi;
use super::service::{TicketError, Tickets};
use super::settings::TicketSettings;
use crate::connections::PsaIntegrationError;
use crate::psa::PsaClient;
use crate::store::{Cascade, CascadeFuture, StoreError};
use crate::tenant::TenantId;
use serde::Serialize;

/// What [`Tickets::psa_deleted`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PsaForgotten {
    /// ConnectWise callbacks or Autotask ticket webhooks deleted in the PSA.
    pub deregistered: usize,
    /// Why deregistering did not happen, when it did not.
    pub deregister_error: Option<String>,
    /// The Datto RMM integrations whose ticketing was turned off.
    pub datto_integrations: Vec<String>,
}

impl Tickets<'_> {
    /// Lets go of a PSA integration about to be deleted (see the module).
    pub async fn psa_deleted(&self, tenant: &TenantId, psa_id: &str) -> Result<PsaForgotten, TicketError> {
        let mut done = PsaForgotten::default();
        match self.psa_integrations().connect(tenant, psa_id).await {
            Ok((_, client)) => {
                let result = match &client {
                    PsaClient::ConnectWise(cw) => {
                        cw.deregister_callbacks(&format!("/hooks/connectwise/{psa_id}/callback"))
                            .await
                    }
                    PsaClient::Autotask(at) => at.delete_ticket_webhooks(&format!("rmmsync {psa_id}")).await,
                };
                match result {
                    Ok(n) => done.deregistered = n,
                    Err(e) => done.deregister_error = Some(format!("{e} ({})", e.code())),
                }
            }
            Err(PsaIntegrationError::NotFound(_)) => {}
            Err(PsaIntegrationError::Store(e)) => return Err(e.into()),
            Err(e) => done.deregister_error = Some(e.to_string()),
        }
        if let Some(why) = &done.deregister_error {
            tracing::warn!(tenant = %tenant, integration = %psa_id, reason = %why, "could not deregister the PSA's webhooks; deleting anyway");
        }
        let items = self.items(tenant);
        items.delete_hook(psa_id).await?;
        let now = (self.clock)();
        for datto in self.datto_integrations().list(tenant).await? {
            let Some(mut settings): Option<TicketSettings> = items.settings(&datto.id).await? else {
                continue;
            };
            if settings.psa_integration_id != psa_id || settings.psa_removed_at.is_some() {
                continue;
            }
            settings.enabled = false;
            settings.psa_removed_at = Some(now);
            settings.updated_at = now;
            items.put_settings(&datto.id, &settings).await?;
            done.datto_integrations.push(datto.id);
        }
        tracing::info!(tenant = %tenant, integration = %psa_id, deregistered = done.deregistered,
            datto = ?done.datto_integrations, "the ticket flow let go of a deleted PSA integration");
        Ok(done)
    }
}

/// The ticket flow's part of deleting a PSA integration.
pub struct ForgetPsa(pub TicketsApi);

impl Cascade for ForgetPsa {
    fn on_delete<'a>(&'a self, tenant: &'a TenantId, id: &'a str) -> CascadeFuture<'a> {
        Box::pin(async move {
            match self.0.tickets().psa_deleted(tenant, id).await {
                Ok(_) => Ok(()),
                Err(TicketError::Store(e)) => Err(e),
                Err(e) => Err(StoreError::Unavailable(format!(
                    "the ticket flow could not let go of {id}: {e}"
                ))),
            }
        })
    }
}
