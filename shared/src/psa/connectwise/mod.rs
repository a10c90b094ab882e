//! A client for the ConnectWise Manage (PSA) REST API 3.0.
//!
//! API facts it follows:
//! - the REST root is `https://{site}/{codebase}apis/3.0/`; the codebase comes from
//!   `GET /login/companyinfo/{companyId}` (looked up once per site and company by the clients of
//!   a connector, i.e. once per warm process, and used for an hour at most);
//! - every call carries `Authorization: Basic base64("{company}+{public}:{private}")` and the
//!   `clientId` header (rmmsync's registered id, `CONNECTWISE_CLIENT_ID`);
//! - lists are walked with forward-only paging (`pagination-type: forward-only` + `pageId`,
//!   `pageSize` up to 1000), the `conditions` sent again on every page (a page without them
//!   would silently widen the listing), the `pageId` checked to move forward, and a page limit;
//! - writes: POST → 201, PATCH with JSON-Patch arrays, DELETE → 204;
//! - errors: the `{code, message, errors[]}` envelope becomes a typed [`PsaError`](crate::psa::PsaError) (400 →
//!   `Validation`, 401 → `BadCredentials`, 403 → `PermissionDenied`, 404 → `NotFound`); 429 is
//!   retried honouring `Retry-After` (capped by [`RetryPolicy::max_retry_after`]) with jittered
//!   backoff otherwise; 5xx and network faults are retried; other 4xx are not. Every request
//!   goes through the shared retry loop ([`crate::retry::send_with_retry`]);
//! - callbacks: registration at ticket/owner level (`objectId` 1), `ObjectExists` resolved to
//!   the existing id; signatures `x-content-signature` = Base64(HMAC-SHA256(SHA256(key), body))
//!   checked in constant time by [`verify_callback_signature`]; signing keys fetched from
//!   `Metadata.key_url` only on allowed hosts ([`DEFAULT_KEY_URL_HOSTS`] + the client's site).
//!
//! Choices where the API's behaviour is unconfirmed (settings where it matters):
//! - Locations are company sites. Only the per-company route `/company/companies/{id}/sites`
//!   is known, so the client lists the (not deleted) companies and walks their sites a
//!   few at a time ([`ConnectWiseConnector::with_site_concurrency`], default 6).
//! - Companies with `deletedFlag` or a status named "Inactive" come back `active: false`.
//! - A configuration's `rmm_device_uid` is its `deviceIdentifier` when that is GUID-shaped
//!   (Datto RMM device uids are GUIDs), lower-cased.
//! - Quotes inside condition strings are escaped with a backslash ([`conditions::quote`]).
//! - `complete_ticket` sends `skipCallback` as a PATCH op (`replace skipCallback true`); the
//!   registered callback is also `isSelfSuppressedFlag` so our own changes are not echoed.
//! - Answers are read up to `CONNECTWISE_MAX_ANSWER_BYTES` (20 MiB): a host that answers
//!   more is refused (`InvalidResponse`) and not read further.
//! - A `key_url` on an unknown host is refused with [`PsaError::Config`](crate::psa::PsaError::Config).
//! - The model version is not pinned unless `CONNECTWISE_API_VERSION` is set.
//!
//! Keys, the Authorization header and field values never reach logs or error messages:
//! errors carry only the envelope's codes, messages and field names.
//!
//! Files, each using only those before it: `conditions` (query conditions), `transport` (the
//! `Transport` of one account: codebase, headers, retry rules, error envelope, paging),
//! `client` (connector, client, connection test, the callback key host allow-list and the
//! caches the clones share; the client owns a transport), then `records` (records for the
//! import), `tickets` (the alert round trip), `configurations` (configurations: the lists a user
//! picks from, lookup by device uid, create with lookup-before-retry, update) and `callback` (registration, signing keys,
//! signatures), which use the client and its transport but not each other.

mod callback;
mod client;
pub mod conditions;
mod configurations;
mod records;
mod tickets;
mod transport;

pub use crate::retry::RetryPolicy;
pub use callback::verify_callback_signature;
pub use client::{
    ConnectWiseClient, ConnectWiseConnector, ConnectWiseCredentials, DEFAULT_KEY_URL_HOSTS, DEFAULT_MAX_ANSWER_BYTES,
    MAX_PAGE_SIZE,
};
pub use tickets::ConnectWiseTicketSettings;

#[cfg(test)]
mod tests;
