//! Devices to PSA configuration items (Autotask configuration items,
//! ConnectWise configurations): which configuration each Datto RMM device
//! is, which need creating, and keeping them true.
//!
//! Built so far:
//! - [`plan`]: the pure matching (rules, tie-breaks, one device per
//!   configuration, moved devices, junk serials) and its benchmark
//!   (`config-match-bench`);
//! - [`types`]: the type mapping per (Datto integration, PSA integration):
//!   each Datto (category, type) to an Autotask CI type + product or a
//!   ConnectWise configuration type, suggested by name, checked against the
//!   PSA's own lists, ConnectWise types with required questions flagged
//!   (such devices map only to existing configurations);
//! - [`routes`]: `GET /integrations/{id}/configuration-options` (the PSA's
//!   types, products, statuses) and `GET`/`PUT
//!   /integrations/{id}/configuration-types` (the `configurations` Lambda).
//!
//! The PSA side lives in the clients (`psa::autotask`, `psa::connectwise`,
//! vocabulary in `psa::configuration`): lists, lookup by device uid, create
//! with lookup-before-retry (a lost answer never makes a second
//! configuration), update of changed fields only, the warranty only when
//! empty, deactivation.
//!
//! Not built yet: the mapping table routes (devices with their state, map /
//! unmap selected), the writes driven by the plan (create, link, update on
//! sync, deleted device to inactive) and their audit trail, automatic mapping
//! with its preview and safety cap, and the UDF mapping (see
//! `docs/architecture.md`, planned flows).

pub mod plan;
pub mod routes;
pub mod types;
