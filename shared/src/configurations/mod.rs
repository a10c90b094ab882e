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
//! - [`table`]: the mapping table (devices with their configuration state,
//!   filters, paging), map selected devices (to the proposal, a configuration
//!   picked by hand, or a new one: the link writes the device uid onto the
//!   configuration, the create looks the uid up first) and unmap (the
//!   configuration stays active), refresh (what a later sync calls for: only
//!   changed fields written, the warranty only while empty, devices deleted in
//!   Datto unmapped and their configurations set inactive; `preview` plans
//!   without writing), each write an audit record; the safety cap
//!   (`CONFIGURATION_SAFETY_CAP`, default 100): a map that would create, or a
//!   refresh that would deactivate, more configurations answers 409
//!   `confirmation_required` until `confirm: true`;
//! - [`after_sync`]: that refresh after every complete sync run (called by
//!   the sync worker, `crate::workers`), for each PSA integration set up
//!   ([`settings`]: `CFGSET#`, written by the first map), within a time
//!   budget, its counts and errors on the run record; over the safety cap it
//!   writes nothing and records `configurations.confirmation_required`;
//! - [`auto`]: automatic mapping (off by default, `automaticMapping` in
//!   [`settings`]): "Map Now" links every proposed match and creates every
//!   proposed new configuration, after a preview (counts and list) and,
//!   above the safety cap, a confirmation; the sync worker runs it after a
//!   run that saw new devices or when an earlier run left writes; each run's
//!   record (trigger, counts, PSA requests, Autotask budget) is in the
//!   settings; Autotask writes spend only what the budget has above its
//!   reserve, the rest is left for later runs;
//! - [`on_site_mapped`]: automatic mapping of a site's devices when the site
//!   gets mapped to a company (the site mapping routes' hook, within a budget);
//! - [`routes`]: `GET /integrations/{id}/configuration-options`,
//!   `GET`/`PUT /integrations/{id}/configuration-types`,
//!   `GET`/`POST /integrations/{id}/configuration-map`,
//!   `POST /integrations/{id}/configuration-unmap`,
//!   `GET /integrations/{id}/configuration-audit`,
//!   `POST /integrations/{id}/configuration-refresh`,
//!   `GET`/`PATCH /integrations/{id}/configuration-settings`,
//!   `POST /integrations/{id}/configuration-map-now` (the `configurations` Lambda).
//!
//! The PSA side lives in the clients (`psa::autotask`, `psa::connectwise`,
//! vocabulary in `psa::configuration`): lists, lookup by device uid, create
//! with lookup-before-retry (a lost answer never makes a second
//! configuration), update of changed fields only, the warranty only when
//! empty, deactivation.
//!
//! - [`forget`]: its items dropped on "clear and resync" without mappings and
//!   when a PSA integration is deleted;
//! - [`udfs`]: the UDF mapping (Datto device UDFs to Autotask configuration
//!   item UDFs or ConnectWise custom fields), its values sent only when they
//!   differ, never logged or returned.
//!
//! Not built yet: a cached plan (the table reads everything on every request, fine for
//! hundreds of devices, not for 100,000). See `docs/architecture.md`.

pub mod after_sync;
pub mod auto;
pub mod forget;
pub mod on_site_mapped;
pub mod plan;
pub mod routes;
pub mod settings;
pub mod table;
pub mod types;
pub mod udfs;
