//! A client for the Autotask PSA REST API v1.0.
//!
//! API facts it follows:
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
//! - every request goes through the shared retry loop ([`crate::retry::send_with_retry`]): 429
//!   is retried with capped, jittered exponential backoff, honouring `Retry-After` when
//!   present ([`RetryPolicy`]); a 5xx with an `errors` body is a
//!   [`PsaError::Validation`](crate::psa::PsaError::Validation) and is not retried; other 5xx
//!   and network faults are retried on idempotent calls (queries, GET, PATCH), while creates
//!   are retried only when Autotask surely did not process them (429, connection refused), so
//!   that a retry cannot open a second ticket;
//! - a bulk listing first reads the hourly budget and refuses with
//!   [`PsaError::BudgetExhausted`](crate::psa::PsaError::BudgetExhausted) when less than the
//!   reserve is left;
//! - paging only follows a `nextPageUrl` on the zone's host, never the same URL twice, and at
//!   most `max_pages` pages.
//!
//! Points not confirmed against a live tenant are settings: the integration code, the thread
//! limit and the budget reserve are connector settings; ticket queue/issue/sub-issue/work
//! type/source and the New/Complete status ids are [`AutotaskTicketSettings`]. A ticket
//! without a mapped priority gets [`DEFAULT_PRIORITY`].
//!
//! The secret is a [`crate::secret::Secret`]; neither it nor the request headers nor any UDF
//! value is logged or put in an error.
//!
//! Files, each using only those before it: `transport` (the `Transport` of one API user:
//! zone, thread limit, retry rules, error mapping, paging), `client` (connector, client,
//! connection test, budget; the client owns a transport), `records` (records for the import),
//! `tickets` (the alert round trip), `configurations` (configuration items: the lists a user
//! picks from, lookup by device uid, create with lookup-before-retry, update of changed fields),
//! `webhooks` (TicketWebhooks: registration, deletion, `X-Hook-Signature`). Autotask's extension callouts are parsed with the other
//! ticket hooks, outside this module.

mod client;
mod configurations;
mod records;
mod tickets;
mod transport;
mod webhooks;

pub use crate::retry::RetryPolicy;
pub use client::{AutotaskClient, AutotaskConnector, AutotaskCredentials, AutotaskThreshold, DEFAULT_ZONE_URL};
pub use configurations::LOOKUP_CHUNK;
pub use tickets::{AutotaskTicketSettings, DEFAULT_PRIORITY};
pub use webhooks::{SECRET_KEY_MAX, TicketWebhookSpec, verify_webhook_signature};

#[cfg(test)]
mod tests;
