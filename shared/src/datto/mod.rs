//! A client for the Datto RMM REST API v2.
//!
//! API facts it follows:
//! six platforms, each with its own API host; the OAuth password grant with the
//! fixed `public-client:public` Basic header; tokens that live 100 hours;
//! 0-based pages walked through the absolute `pageDetails.nextPageUrl`; 600
//! reads per rolling 60 s for the whole account; 429 when over it and a
//! temporary IP block (403) on persistent violation.
//!
//! What it does about them:
//! - the token is cached and renewed before it expires, and once more on a 401;
//! - a client-side [`RateLimiter`] keeps requests under the account's budget;
//! - 429, 5xx, 409 and network faults are retried with capped, jittered
//!   exponential backoff ([`RetryPolicy`]) by the loop all API clients share
//!   ([`crate::retry::send_with_retry`]); a 403 that reports an IP block
//!   stops at once;
//! - paging guards against a `nextPageUrl` on another host, dropped filters,
//!   loops and runaway walks;
//! - every failure is a [`DattoError`] whose variant says which cause applies.
//!
//! Files, each using only those before it: `platform`, `limiter`, `models`, `error` (with the
//! JSON decoding the later files share); `token` ([`Credentials`], the OAuth grant and the token
//! cache); `transport` (the `Transport` of one account: retry rules, the grant and every call
//! sent through the retry loop, the renewal on a 401); `paging` ([`Pager`], over a transport);
//! `client` ([`DattoConnector`] and [`DattoClient`], which owns a transport); `operations` (the
//! calls behind the RMM operations: one page of a list, audits, components, quick jobs).

mod client;
mod error;
mod limiter;
pub mod models;
mod operations;
mod paging;
mod platform;
mod token;
mod transport;

pub use crate::retry::RetryPolicy;
pub use client::{ConnectionInfo, DattoClient, DattoConnector};
pub use error::DattoError;
pub use limiter::RateLimiter;
pub use operations::{AlertScope, Component, ComponentVariable, DeviceScope, ListPage, QuickJobRequest};
pub use paging::Pager;
pub use platform::{Platform, PlatformError};
pub use token::Credentials;

#[cfg(test)]
mod tests;
