//! Local HTTP simulators of the external APIs rmmsync talks to, for tests, benchmarks and the
//! demo. Each one is a real HTTP/1.1 server on loopback that follows the fact sheets in
//! `shared/docs`, seeded with generated data of any size.
//!
//! - [`connectwise`]: ConnectWise Manage (PSA) REST 3.0 (companyinfo, Basic auth + clientId,
//!   conditions, paging, JSON-Patch, rate limit, callbacks with signed deliveries).
//! - [`datto`]: Datto RMM API v2 (OAuth password grant, paging, rate limits, audits, alerts, jobs).
//! - [`rng`]: the small seeded PRNG the generators use.

pub mod connectwise;
pub mod datto;
pub mod rng;
