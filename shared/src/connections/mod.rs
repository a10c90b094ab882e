//! Connecting accounts: Datto RMM ([`rmm`]) and the PSAs ([`psa`]), each
//! tested before anything is stored, with the keys in Secrets Manager and
//! the integration item (holding only the secret's ARN) in DynamoDB.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | integration (either kind, `kind` tells) | `TENANT#{tenant}` | `INTEGRATION#{id}` |
//! | registry entry (GSI1) | `GSI1PK = INTEGRATIONS` or `PSA_INTEGRATIONS` | `GSI1SK = {tenant}#{id}` |
//!
//! Deleting an integration also deletes its partition
//! `TENANT#{tenant}#INTEGRATION#{id}`, where the other flows keep what it owns.
//! The delete first marks the integration (`deleting`) and waits briefly for a
//! running sync or import to stop: runs check the integration before each batch
//! they write (`runs::guard`). Every integration can be switched off and on
//! (`enabled`); the flows above refuse or skip work for one that is off.
//!
//! This flow shows the runs of the flows above (a sync, a PSA import) and
//! queues a new Datto RMM integration's first sync through the ports `app.rs`
//! hands it (`routes::RunWiring`), never by importing them.

pub mod psa;
mod psa_items;
pub mod rmm;
mod rmm_items;
pub mod routes;

pub use psa::*;
pub use rmm::*;
