//! Local HTTP simulators of the external APIs rmmsync talks to, for tests, benchmarks and the
//! demo. Each one is a real HTTP/1.1 server on loopback that follows the vendor's documented
//! behaviour (and names its assumptions), seeded with generated data of any size.
//!
//! - [`autotask`]: Autotask PSA REST API v1.0 (zones, three-header auth, queries and paging,
//!   thread and hourly limits, tickets and notes, extension callouts).
//! - [`connectwise`]: ConnectWise Manage (PSA) REST 3.0 (companyinfo, Basic auth + clientId,
//!   conditions, paging, JSON-Patch, rate limit, callbacks with signed deliveries).
//! - [`datto`]: Datto RMM API v2 (OAuth password grant, paging, rate limits, audits, alerts, jobs).
//! - [`http`]: the small HTTP/1.1 client the simulators call out with (and tests call in with).
//! - [`rng`]: the small seeded PRNG the generators use.
//! - [`cli`]: option parsing and logging setup the simulator binaries share.

mod admin;
pub mod autotask;
pub mod cli;
pub mod connectwise;
pub mod datto;
mod gate;
pub mod http;
mod respond;
pub mod rng;
mod server;
mod time;
mod urlcode;
