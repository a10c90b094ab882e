//! Alerts to tickets and back.
//!
//! - A Datto RMM alert webhook (`POST /hooks/datto/{integrationId}/alerts`)
//!   names an alert; the alert is read back from Datto RMM (the body is never
//!   trusted beyond its uid), and then:
//!   - open: a PSA ticket is opened for it (company from the site mapping,
//!     configuration item from the imported configurations, priority mapped,
//!     the alert uid on the ticket), or, when the same monitor fired on the
//!     same device within the repeat window and its ticket is still open, a
//!     note is added to that ticket instead;
//!   - resolved: once every alert of its ticket is resolved, the ticket is completed.
//! - An Autotask extension callout (`POST /hooks/autotask/{integrationId}/callout`)
//!   or a ConnectWise callback (`POST /hooks/connectwise/{integrationId}/callback`)
//!   names a ticket; the ticket is read back from the PSA, and when it is
//!   complete its alerts are resolved in Datto RMM.
//!
//! - Ticket settings are configured from lists: `GET
//!   /integrations/{psaId}/ticket-lists` reads what the PSA offers, and a save
//!   is checked against it; per-monitor entries switch a monitor's tickets
//!   off or change their attributes ([`monitors`]).
//!
//! - The reconciler (schedule, every 5 minutes; `POST
//!   /integrations/{id}/ticket-reconciler`) compares Datto RMM's open alerts,
//!   the alert states and the tickets' states, and repairs what webhooks
//!   missed: webhooks are the fast path, the reconciler the guarantee.
//!
//! Every delivery is authenticated (a per-integration token compared by
//! SHA-256 in constant time; for ConnectWise also the `x-content-signature`)
//! and idempotent: each alert's state is one item, claimed with a conditional
//! write before a ticket is opened, so repeated or out-of-order deliveries
//! never open a second ticket nor resolve twice. Every delivery works within
//! a deadline inside the function's timeout ([`TicketTiming`]). A fault leaves
//! the alert `pending` with its reason and answers with a status its sender
//! retries; only a refusal a person must fix is `failed`, and it heals.

mod forget;
mod hook_tokens;
mod items;
mod lists;
pub mod monitors;
mod opening;
mod reconcile;
mod resolving;
pub mod routes;
mod rules;
mod service;
mod settings;
mod timing;

pub use forget::{ForgetPsa, PsaForgotten};
pub use hook_tokens::HookToken;
pub use items::{AlertRecord, AlertState, ReconcileRecord, Repair};
pub use monitors::MonitorOverride;
pub use opening::{DEVICE_STORM_LIMIT, DEVICE_STORM_WINDOW_MS, REPEAT_NOTE_CAP};
pub use reconcile::ReconcileBudget;
pub use rules::{PriorityMap, alert_uid_from_hook, hook_token_tenant, parse_window, ticket_id_from_callout};
pub use service::{HookOutcome, TicketError, Tickets};
pub use settings::{SavedTicketSettings, TicketSettings, TicketSettingsInput};
pub use timing::TicketTiming;
