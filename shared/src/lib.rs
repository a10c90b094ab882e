//! rmmsync's library: everything the Lambda functions do, behind thin handlers.
//!
//! - [`datto`]: the Datto RMM API client; [`psa`]: the Autotask and ConnectWise Manage clients.
//! - [`integrations`]: connecting Datto RMM accounts, per tenant.
//! - [`sync`]: sites, devices, device types and audits from Datto RMM.
//! - [`companies`], [`site_mapping`], [`matching`]: portal companies, the
//!   site mapping table and quick match's fuzzy name matcher.
//! - [`devices`]: portal device types, type mappings, staged devices, import and assets.
//! - [`store`] and [`secrets`]: the DynamoDB and Secrets Manager adapters.
//! - [`api`]: the HTTP edge: tenant from the token, JSON in, problems out.
//! - [`retry`]: the backoff policy the three API clients share.
//! - [`time`], [`tenant`], [`secret`]: small types the rest relies on.

pub mod api;
pub mod aws;
pub mod companies;
pub mod datto;
pub mod devices;
pub mod http;
pub mod integrations;
pub mod matching;
pub mod psa;
pub mod psa_import;
pub mod psa_integrations;
pub mod retry;
pub mod secret;
pub mod secrets;
pub mod site_mapping;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod tenant;
pub mod tickets;
pub mod time;
