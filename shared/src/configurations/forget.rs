//! Letting go of the configurations flow's items when what they belong to goes.
//!
//! - [`clear_configuration_mappings`]: "clear and resync" of a Datto RMM integration that drops
//!   its mappings also drops its configuration settings (`CFGSET#`), type mappings
//!   (`CFGTYPE#`), UDF mappings (`CFGUDF#`) and device-to-configuration maps (`CFGMAP#`) of
//!   every PSA integration; the audit trail (`CFGAUDIT#`) stays, as the record of what was
//!   written. Called by [`crate::resync`]. The configurations in the PSA are not touched.
//! - [`ForgetPsaConfigurations`]: deleting a PSA integration first deletes every item of it
//!   in every Datto RMM integration of the tenant, its audit trail included (a `store::Cascade`
//!   wired in `app.rs`).
//!
//! Both are repeatable: an interrupted one is simply run again.

use crate::store::{Cascade, CascadeFuture, DynamoStore, StoreError, keys};
use crate::tenant::TenantId;

/// The prefixes of a (Datto integration, PSA integration)'s items (`psa` empty: every PSA
/// integration's), in the integration partition and in its device shards.
fn prefixes(psa: &str, with_audit: bool) -> (Vec<String>, String) {
    let sep = |p: &str| {
        if psa.is_empty() {
            p.to_owned()
        } else {
            format!("{p}{psa}#")
        }
    };
    let mut own = vec![
        if psa.is_empty() {
            "CFGSET#".to_owned()
        } else {
            format!("CFGSET#{psa}")
        },
        sep("CFGTYPE#"),
        if psa.is_empty() {
            "CFGUDF#".to_owned()
        } else {
            format!("CFGUDF#{psa}")
        },
    ];
    if with_audit {
        own.push(sep("CFGAUDIT#"));
    }
    (own, sep("CFGMAP#"))
}

async fn delete(
    store: &DynamoStore,
    tenant: &TenantId,
    integration: &str,
    psa: &str,
    with_audit: bool,
) -> Result<usize, StoreError> {
    let (own, maps) = prefixes(psa, with_audit);
    let pk = keys::integration_pk(tenant, integration);
    let mut deleted = 0;
    for p in &own {
        deleted += store.delete_prefix(&pk, p).await?;
    }
    for shard in keys::integration_shard_pks(tenant, integration) {
        deleted += store.delete_prefix(&shard, &maps).await?;
    }
    Ok(deleted)
}

/// Drops every configuration mapping of a Datto RMM integration (unless `keep_mappings`);
/// answers how many items went.
pub async fn clear_configuration_mappings(
    store: &DynamoStore,
    tenant: &TenantId,
    integration: &str,
    keep_mappings: bool,
) -> Result<usize, StoreError> {
    if keep_mappings {
        return Ok(0);
    }
    delete(store, tenant, integration, "", false).await
}

/// Deleting a PSA integration deletes its configuration items in every Datto integration.
pub struct ForgetPsaConfigurations(pub DynamoStore);

impl Cascade for ForgetPsaConfigurations {
    fn on_delete<'a>(&'a self, tenant: &'a TenantId, psa: &'a str) -> CascadeFuture<'a> {
        Box::pin(async move {
            for integration in self.0.list(tenant).await? {
                delete(&self.0, tenant, &integration.id, psa, true).await?;
            }
            Ok(())
        })
    }
}
