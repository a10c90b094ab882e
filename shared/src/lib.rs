//! rmmsync's library: everything the Lambda functions do, behind thin mains.
//!
//! Two kinds of module, and the arrows run one way: flows use machinery,
//! machinery never uses a flow.
//!
//! Flows, one folder each (service, pure rules, DynamoDB items, HTTP routes),
//! listed from the bottom up; a flow may use the ones listed before it:
//! - [`connections`]: connecting Datto RMM and PSA accounts (test, secret, create, rotate, delete).
//! - [`companies`]: portal companies and the portal directory (contacts, locations, configurations, users).
//! - [`sync`]: sites, devices, device types and audits from Datto RMM.
//! - [`site_mapping`]: the site mapping table, manual mapping and quick match.
//! - [`devices`]: portal device types, type mappings, staged devices, import and assets.
//! - [`psa_import`]: the PSA import: preview, overrides, runs.
//! - [`tickets`]: alerts to PSA tickets and back.
//! - [`configurations`]: devices to PSA configuration items (the matching plan so far).
//! - [`operations`]: RMM operations for people and AI agents behind approval gates, and the MCP endpoint.
//!
//! Machinery:
//! - [`store`] (DynamoDB plumbing: client, keys, item helpers, leases, error
//!   classification) and [`secrets`] (Secrets Manager).
//! - [`api`]: the HTTP edge: the caller from the token, JSON in, problems out.
//! - [`runs`]: the run machine workers share: stream and schedule events.
//! - [`datto`], [`psa`]: the clients of the external APIs; [`http`], [`retry`] under them.
//! - [`matching`]: quick match's name matcher.
//! - [`time`], [`tenant`], [`secret`], [`aws`], [`telemetry`]: small types and setup.

pub mod api;
pub mod aws;
pub mod datto;
pub mod http;
pub mod matching;
pub mod psa;
pub mod retry;
pub mod runs;
pub mod secret;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod time;

pub mod companies;
pub mod configurations;
pub mod connections;
pub mod devices;
pub mod operations;
pub mod psa_import;
pub mod site_mapping;
pub mod sync;
pub mod tickets;

pub mod app;
pub mod workers;
