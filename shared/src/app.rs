//! The composition root: what a Lambda `main` builds once per cold start
//! and how the flows are wired to each other. The only module that knows
//! every flow; no flow imports it.

use crate::store::{Cascades, DynamoStore};
use std::sync::Arc;

/// What deleting a portal company lets go of first: the site mappings to it.
pub fn company_cascades(store: &DynamoStore) -> Cascades {
    vec![Arc::new(crate::site_mapping::ReleaseSites(store.clone()))]
}

/// What deleting a Datto RMM integration lets go of first: its assets stay, unlinked.
pub fn integration_cascades(store: &DynamoStore) -> Cascades {
    vec![Arc::new(crate::devices::assets::UnlinkAssets(store.clone()))]
}
