//! What happens above site mapping when sites get mapped to a company.
//!
//! A flow listed after site mapping (the configurations flow's automatic mapping) wants to
//! act when a site is mapped, by hand, by quick match or from the company side. Site mapping
//! never imports it: the routes are handed [`SitesMapped`] hooks when the process is put
//! together (`app.rs`), as deletions get their `store::Cascade`s, and run them once the
//! mapping is saved, before answering.
//!
//! Guarantees: a hook never fails the mapping (it returns nothing; it records its own
//! outcome) and a hook bounds its own time (the answer waits for it).

use crate::tenant::TenantId;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The future a [`SitesMapped`] hook returns.
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Told which sites of a Datto RMM integration were just mapped to a company.
pub trait SitesMapped: Send + Sync {
    fn sites_mapped<'a>(
        &'a self,
        tenant: &'a TenantId,
        integration: &'a str,
        site_uids: &'a [String],
    ) -> HookFuture<'a>;
}

/// The hooks of the site mapping routes (empty: none).
pub type SitesMappedHooks = Vec<Arc<dyn SitesMapped>>;

/// Runs every hook, in order, for the sites mapped (nothing when there are none).
pub async fn run_sites_mapped(hooks: &[Arc<dyn SitesMapped>], tenant: &TenantId, integration: &str, sites: &[String]) {
    if sites.is_empty() {
        return;
    }
    for h in hooks {
        h.sites_mapped(tenant, integration, sites).await;
    }
}
