//! A client for the Autotask PSA REST API v1.0.
//!
//! Facts it follows (`psa-apis.md` sections A and B in the hand-outs):
//! - zone discovery: `GET …/atservicesrest/v1.0/zoneInformation?user=` (no auth) answers the
//!   REST root of the user's zone (`url`, e.g. `https://webservices14.autotask.net/ATServicesRest/`);
//!   an unknown user gets HTTP 500 `{"errors":["Zone information could not be determined"]}`;
//! - three headers on every other call: `ApiIntegrationCode`, `UserName`, `Secret`; a credential
//!   failure is an empty-body 401;
//! - `POST /{Entity}/query` with a non-empty filter, at most 500 records per page sorted by id,
//!   `pageDetails.nextPageUrl` which must be **POSTed with the same body**;
//! - validation errors come back as HTTP 500 `{"errors":[...]}`; `POST /Tickets` → `{"itemId"}`,
//!   `PATCH /Tickets` with `id`, notes only through `POST /Tickets/{id}/Notes`;
//! - 10,000 requests per rolling hour per database (`GET /ThresholdInformation`), and 3
//!   concurrent requests per (integration code + entity endpoint), both answered 429;
//! - ticket status 5 = Complete, 1 = New; Contacts' `isActive` is an integer.
//!
//! What it does about them:
//! - the zone root is discovered once per API user and cached in the [`AutotaskConnector`];
//! - a semaphore per entity endpoint keeps each client at `thread_limit` (3) requests in flight;
//! - 429 is retried with capped, jittered exponential backoff, honouring `Retry-After` when
//!   present ([`RetryPolicy`]); a 5xx with an `errors` body is a [`PsaError::Validation`] and is
//!   not retried; other 5xx and network faults are retried on idempotent calls (queries, GET,
//!   PATCH), while creates are retried only when Autotask surely did not process them (429,
//!   connection refused), so that a retry cannot open a second ticket;
//! - a bulk listing first reads the hourly budget and refuses with
//!   [`PsaError::BudgetExhausted`] when less than the reserve is left;
//! - paging only follows a `nextPageUrl` on the zone's host, never the same URL twice, and at
//!   most `max_pages` pages.
//!
//! Settings for what the fact sheet marks UNCONFIRMED: the integration code, the thread limit
//! and the budget reserve are connector settings; ticket queue/issue/sub-issue/work type/source
//! and the New/Complete status ids are [`AutotaskTicketSettings`]. A ticket without a mapped
//! priority gets [`DEFAULT_PRIORITY`] (2, "Medium" in a default tenant).
//!
//! The secret is a [`crate::secret::Secret`]; neither it nor the request headers nor any UDF
//! value is logged or put in an error.

mod client;

pub use client::{
    AutotaskClient, AutotaskConnector, AutotaskCredentials, AutotaskThreshold, AutotaskTicketSettings,
    DEFAULT_PRIORITY, DEFAULT_ZONE_URL, RetryPolicy,
};

#[cfg(test)]
mod tests;
