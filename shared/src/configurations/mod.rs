//! Devices to PSA configuration items (Autotask configuration items,
//! ConnectWise configurations): which configuration each Datto RMM device
//! is, which need creating, and keeping them true.
//!
//! Built so far: the pure matching [`plan`] (rules, tie-breaks, one device
//! per configuration, moved devices, junk serials) and its benchmark
//! (`config-match-bench`). Not built yet: the type mapping, the mapping
//! table routes, the writes to the PSA, automatic mapping and the audit
//! trail (see `docs/architecture.md`, planned flows).

pub mod plan;
