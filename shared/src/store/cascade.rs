//! Deletions that reach upward without an import upward.
//!
//! A lower flow (connections, companies) deletes things that higher flows
//! refer to (assets of an integration, site mappings to a company). The
//! lower flow never imports the higher ones; instead it is handed the
//! [`Cascade`]s of the flows above when the process is put together, and
//! runs each of them before it deletes, so that an interrupted delete can
//! simply be repeated.

use super::StoreError;
use crate::tenant::TenantId;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The future a [`Cascade`] returns.
pub type CascadeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// What a flow does to its own items when something they refer to is deleted.
pub trait Cascade: Send + Sync {
    /// `id` is the integration's or company's id, within `tenant`.
    fn on_delete<'a>(&'a self, tenant: &'a TenantId, id: &'a str) -> CascadeFuture<'a>;
}

/// The cascades of one kind of deletion.
pub type Cascades = Vec<Arc<dyn Cascade>>;

/// Runs every cascade, in order, stopping at the first failure.
pub async fn run_cascades(cascades: &[Arc<dyn Cascade>], tenant: &TenantId, id: &str) -> Result<(), StoreError> {
    for c in cascades {
        c.on_delete(tenant, id).await?;
    }
    Ok(())
}
