//! An Autotask PSA REST API (v1.0) simulator: a real HTTP/1.1 server on loopback.
//!
//! # Routing
//! Zone discovery: `GET /atservicesrest/v1.0/zoneInformation?user=...` (no auth). It answers the
//! REST root on the same server, `http://127.0.0.1:PORT/ATServicesRest/`, to which clients append
//! `V1.0/{Entity}...`. Paths are case-insensitive (`/atservicesrest/v1.0/...` works too).
//!
//! # Modelled
//! - Zone information (`zoneName`, `url`, `webUrl`, `ci`); unknown user → 500
//!   `{"errors":["Zone information could not be determined"]}`; exempt from thread limiting.
//! - The `ApiIntegrationCode`, `UserName`, `Secret` headers (names case-insensitive, as HTTP);
//!   any credential failure → 401 with an empty body.
//! - `GET /V1.0/Version`, `GET /V1.0/ThresholdInformation`.
//! - Companies, Contacts (`isActive` 0/1), CompanyLocations, ConfigurationItems,
//!   ConfigurationItemTypes, Resources, Tickets, TicketNotes: `POST|GET(?search=) /{Entity}/query`,
//!   `.../query/count` (`{"queryCount":n}`), `GET /{Entity}/{id}` (`{"item":...}`),
//!   `GET /{Entity}/entityInformation[/fields]` (Tickets: the status, priority, queue,
//!   issue/sub-issue type, source and ticket type picklists).
//! - Filters (see `query.rs`), case-insensitive field names, empty filter refused, results
//!   sorted by id, at most 500 per page (`maxRecords`), `pageDetails{count, requestCount,
//!   prevPageUrl, nextPageUrl}`; `nextPageUrl` is `.../query/next?paging=...` which, after a POST
//!   query, must be POSTed with the same body (GET → 405).
//! - Products (`isActive`, `manufacturerName`), and ConfigurationItems writes: `POST
//!   /ConfigurationItems` → `{"itemId":n}`, `PATCH /ConfigurationItems` with `id` (see
//!   `items.rs`: required companyID/productID/configurationItemType/isActive/referenceTitle,
//!   picklists for the CI type and the audit manufacturer and model in
//!   `/ConfigurationItems/entityInformation/fields`, CI UDFs in `…/userDefinedFields`).
//! - `POST /Tickets` → `{"itemId":n}`; `PATCH /Tickets` with `id`; `POST /Tickets/{id}/Notes`;
//!   `POST /TicketNotes` → 404. Validation errors → HTTP 500 `{"errors":[...]}` (missing
//!   companyID/title/status/priority/queueID, unknown picklist values or company, title > 255,
//!   description > 8000, assignedResourceID without assignedResourceRoleID).
//! - Limits: requests per rolling hour for the database (10,000) → 429 when over (refused
//!   requests are not counted); usage-based latency (0.5 s from 50 %, 1 s from 75 %); at most 3
//!   concurrent requests per (integration code + entity endpoint) → 429 "The Autotask API thread
//!   threshold of 3 threads has been exceeded.".
//! - An extension callout emitter: when a ticket becomes Complete (5), through
//!   `PATCH /Tickets` or [`AutotaskSim::complete_ticket`], the configured callout
//!   ([`CalloutConfig`]) is POSTed the ticket, asynchronously; every attempt is recorded
//!   ([`AutotaskSim::callout_deliveries`]).
//!
//! # Assumptions (not confirmed by the vendor) and their switches
//! | Behaviour | Default | Switch |
//! |---|---|---|
//! | `Retry-After` on 429 | absent | [`AutotaskConfig::retry_after_secs`] |
//! | `nextPageUrl` when the last page is exactly full | `null` | [`AutotaskConfig::next_url_on_full_last_page`] (then an empty page follows) |
//! | GET on a `nextPageUrl` of a POST query | 405 | [`AutotaskConfig::allow_get_next_after_post`] |
//! | A POSTed next page with another body | 500 `errors` | [`AutotaskConfig::check_next_page_body`] |
//! | Contacts' `isActive` | integer 0/1 | [`AutotaskConfig::contacts_active_as_int`] |
//! | Usage-based latency | on (0.5 s / 1 s) | [`AutotaskConfig::usage_latency`] |
//! | Thread limit | 3 | [`AutotaskConfig::thread_limit`] |
//! | `GET /{Entity}/{id}` of an unknown id | 404 | [`AutotaskConfig::missing_item_status`] (200 = `{"item":null}`) |
//! | A user without API access (wrong security level) | 403 `errors` | [`AutotaskConfig::restricted_user`] |
//! | Unknown/missing integration code | 401, empty | – |
//! | 429 bodies | `{"errors":[msg]}` | – |
//! | `queueID` required on ticket create | yes | [`AutotaskConfig::require_queue`] |
//! | Callout format, auth, payload, retries | see [`CalloutConfig`] | [`CalloutConfig`] |
//! | ZoneInformation counts against the hourly threshold | no | – |
//! | Ticket status change through PUT | not served (405) | – |
//! | 401s, 403s and 405s count against the hourly threshold | no | – |
//! | `PATCH /Tickets` of an unknown id | 500 `errors` | – |
//! | Exact picklist ids other than status 1/5 | see `generate.rs` | – |
//! | `configurationItemType` and `referenceTitle` required on CI create | yes | – |
//! | An inactive product refused on CI create | yes, as an unknown reference | – |
//!
//! Injected faults ([`Faults`]) come after authentication, the limits and the latency (so a
//! failed request still held its thread slot): `force_429_next`, `fail_next`, and "fail the
//! requests on one entity after K successful pages" (`fail_entity`, `fail_after_pages`), which
//! breaks an import in the middle. Their bodies are plain text (not `errors`), as an IIS or
//! gateway error would be.
//!
//! # Data
//! Generated from [`AutotaskConfig::seed`] (see `generate.rs`): companies (types 1/3/7, ~10 %
//! inactive, some exact and near-duplicate names), 1-2 locations each, contacts, configuration
//! items (of 6 ConfigurationItemTypes; ~60 % with `rmmDeviceUID`; a few without
//! `referenceTitle`), resources, tickets (half with `rmmAlertID`) and notes.
//!
//! # Admin endpoints (no auth, loopback peers only, not counted)
//! `GET /_sim/info`, `GET /_sim/stats`, `POST /_sim/reset-stats`, `GET|POST /_sim/faults`
//! (snake_case JSON; empty body clears), `POST /_sim/reset-limits`,
//! `POST /_sim/tickets/{id}/complete`, `GET|POST /_sim/callout` (JSON [`CalloutConfig`], empty
//! body clears), `GET /_sim/callout/deliveries`.
//!
//! # Ticket webhooks
//! `POST /TicketWebhooks`, `POST /TicketWebhooks/query`, `DELETE /TicketWebhooks/{id}`,
//! `POST /TicketWebhooks/{id}/Fields`; a ticket's status change is delivered to every active
//! webhook subscribed to updates, signed in `X-Hook-Signature` (`webhooks.rs`).
//!
//! # Example
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use simulators::autotask::{AutotaskConfig, AutotaskSim, Faults};
//! let sim = AutotaskSim::start(AutotaskConfig { companies: 1_200, ..AutotaskConfig::default() }).await?;
//! let zone = sim.zone_information_url(); // http://127.0.0.1:PORT/atservicesrest/v1.0/zoneInformation
//! sim.set_faults(Faults { fail_entity: Some("Companies".into()), fail_after_pages: 1, ..Faults::default() });
//! // ... run the code under test against `zone` ...
//! assert!(sim.stats().max_concurrency("Companies") <= 3);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod callout;
mod generate;
mod items;
mod model;
mod query;
mod routes;
mod webhooks;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

pub use crate::gate::Faults;
pub(crate) use crate::gate::lock;
use crate::gate::{FaultRules, FirstFault, Gate};
use crate::server::{self, Server};
pub use callout::{CalloutConfig, CalloutDelivery, CalloutFormat};
use generate::AutotaskGenParams;
use model::AutotaskStore;
pub use model::{COMPLETE, Entity, SimCompany, SimNote, SimTicket};
pub use webhooks::{SimWebhook, WebhookDelivery, WebhookSignature, sign as sign_webhook};

/// How the Autotask simulator draws injected faults: paths ignore case, a forced 429 (the
/// thread threshold's answer) comes first and spares zone discovery, which has no thread limit.
const FAULT_RULES: FaultRules = FaultRules {
    path_ignores_case: true,
    first: FirstFault::TooMany,
    forced_429_on_open_routes: false,
};

/// Simulator configuration. `Default` is small and fast: 30 companies, no latency.
#[derive(Clone)]
pub struct AutotaskConfig {
    /// The API user (zone discovery answers for this user only).
    pub username: String,
    pub secret: String,
    /// Tracking identifiers accepted in `ApiIntegrationCode`.
    pub integration_codes: Vec<String>,
    /// Credentials of a user that authenticates but is refused (403) everywhere.
    pub restricted_user: Option<(String, String)>,
    pub zone_name: String,
    pub seed: u64,
    pub companies: usize,
    pub max_contacts_per_company: usize,
    pub max_cis_per_company: usize,
    pub resources: usize,
    /// Tickets generated (`None` = as many as companies).
    pub tickets: Option<usize>,
    /// Page size limit (500).
    pub page_max: usize,
    /// Requests per `threshold_window` for the database.
    pub hourly_limit: u32,
    pub threshold_window: Duration,
    pub usage_latency: bool,
    pub thread_limit: u32,
    pub retry_after_secs: Option<u64>,
    /// Sleep before answering each request (inside its thread slot).
    pub latency: Duration,
    pub next_url_on_full_last_page: bool,
    pub allow_get_next_after_post: bool,
    pub check_next_page_body: bool,
    pub contacts_active_as_int: bool,
    pub missing_item_status: u16,
    pub require_queue: bool,
    /// Timestamps are generated relative to this (epoch ms); `None` = start of today (UTC).
    pub reference_time_ms: Option<i64>,
}

impl std::fmt::Debug for AutotaskConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutotaskConfig")
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .field("integration_codes", &self.integration_codes)
            .field("seed", &self.seed)
            .field("companies", &self.companies)
            .field("page_max", &self.page_max)
            .field("hourly_limit", &self.hourly_limit)
            .field("thread_limit", &self.thread_limit)
            .field("latency", &self.latency)
            .finish_non_exhaustive()
    }
}

impl Default for AutotaskConfig {
    fn default() -> Self {
        AutotaskConfig {
            username: "api.user@msp.example".into(),
            secret: "sim-secret-0123456789".into(),
            integration_codes: vec!["SIMINTEGRATIONCODE".into()],
            restricted_user: None,
            zone_name: "America East 2".into(),
            seed: 1,
            companies: 30,
            max_contacts_per_company: 4,
            max_cis_per_company: 6,
            resources: 8,
            tickets: None,
            page_max: 500,
            hourly_limit: 10_000,
            threshold_window: Duration::from_secs(3600),
            usage_latency: true,
            thread_limit: 3,
            retry_after_secs: None,
            latency: Duration::ZERO,
            next_url_on_full_last_page: false,
            allow_get_next_after_post: false,
            check_next_page_body: true,
            contacts_active_as_int: true,
            missing_item_status: 404,
            require_queue: true,
            reference_time_ms: None,
        }
    }
}

impl AutotaskConfig {
    fn validate(&self) -> std::io::Result<()> {
        let bad = |msg: &str| Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg.to_string()));
        if self.page_max == 0 || self.page_max > 500 {
            return bad("page_max must be within 1..=500");
        }
        if self.thread_limit == 0 {
            return bad("thread_limit must be at least 1");
        }
        if self.username.is_empty() || self.secret.is_empty() {
            return bad("username and secret must not be empty");
        }
        if axum::http::StatusCode::from_u16(self.missing_item_status).is_err() {
            return bad("missing_item_status must be an HTTP status");
        }
        Ok(())
    }
}

/// Request counters. Admin (`/_sim/...`) requests are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AutotaskStats {
    pub total_requests: u64,
    /// Per route: `zoneInformation`, `version`, `thresholdInformation`, `{Entity}.query`,
    /// `{Entity}.next`, `{Entity}.count`, `{Entity}.get`, `{Entity}.fields`, `Tickets.create`,
    /// `Tickets.update`, `Tickets.notes`, `other`.
    pub by_route: BTreeMap<String, u64>,
    /// Highest number of requests in flight at once, per (integration code, entity endpoint),
    /// keyed by entity endpoint (the maximum over integration codes).
    pub max_concurrent: BTreeMap<String, u32>,
    /// Query pages served (200) per entity.
    pub pages: BTreeMap<String, u64>,
    pub responses_429: u64,
    pub thread_limited: u64,
    pub threshold_limited: u64,
    pub unauthorized_401: u64,
    pub forbidden_403: u64,
    pub validation_500: u64,
    pub faults_injected: u64,
    pub slowed: u64,
}

impl AutotaskStats {
    pub fn route(&self, route: &str) -> u64 {
        self.by_route.get(route).copied().unwrap_or(0)
    }

    /// Highest concurrency seen on an entity endpoint (e.g. `"Companies"`).
    pub fn max_concurrency(&self, endpoint: &str) -> u32 {
        self.max_concurrent.get(endpoint).copied().unwrap_or(0)
    }

    pub fn pages(&self, entity: &str) -> u64 {
        self.pages.get(entity).copied().unwrap_or(0)
    }
}

/// The rolling-hour request threshold of the database.
pub(crate) struct Threshold {
    pub limit: u32,
    pub window: Duration,
    pub times: VecDeque<Instant>,
}

impl Threshold {
    fn prune(&mut self, now: Instant) {
        while let Some(&t) = self.times.front() {
            if now.saturating_duration_since(t) >= self.window {
                self.times.pop_front();
            } else {
                break;
            }
        }
    }

    /// Counts the request; `Err` when over the limit. `Ok(share)` = the usage after counting.
    pub fn admit(&mut self, now: Instant) -> Result<f64, ()> {
        self.prune(now);
        if self.times.len() >= self.limit as usize {
            return Err(());
        }
        self.times.push_back(now);
        Ok(self.times.len() as f64 / f64::from(self.limit.max(1)))
    }

    pub fn count(&mut self, now: Instant) -> usize {
        self.prune(now);
        self.times.len()
    }
}

pub(crate) struct AutotaskState {
    pub(crate) config: AutotaskConfig,
    pub(crate) base_url: String,
    pub(crate) data: RwLock<AutotaskStore>,
    pub(crate) threshold: Mutex<Threshold>,
    /// In-flight requests per (integration code, entity endpoint).
    pub(crate) threads: Mutex<HashMap<(String, String), u32>>,
    pub(crate) gate: Gate,
    pub(crate) stats: Mutex<AutotaskStats>,
    pub(crate) callout: Mutex<Option<CalloutConfig>>,
    pub(crate) deliveries: Mutex<Vec<CalloutDelivery>>,
    /// Registered ticket webhooks and their deliveries.
    pub(crate) webhooks: Mutex<Vec<SimWebhook>>,
    pub(crate) webhook_deliveries: Mutex<Vec<WebhookDelivery>>,
    pub(crate) webhook_signature: Mutex<WebhookSignature>,
    pub(crate) generation_time: Duration,
    /// Creates of ConfigurationItems still to answer with a plain 500 after doing the work.
    pub(crate) lost_ci_creates: std::sync::atomic::AtomicU32,
    /// Ticket note POSTs that create their note and then answer a 500.
    pub(crate) lost_note_answers: std::sync::atomic::AtomicU32,
    /// Creates of ConfigurationItems still to answer a plain 500 without doing anything.
    pub(crate) failed_ci_creates: std::sync::atomic::AtomicU32,
}

impl AutotaskState {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, AutotaskStore> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, AutotaskStore> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn stat(&self, f: impl FnOnce(&mut AutotaskStats)) {
        f(&mut lock(&self.stats));
    }

    /// Called after a ticket's status was written: fires the callout when it became Complete.
    pub(crate) fn ticket_status_changed(self: &Arc<Self>, id: i64, previous: i64) {
        let ticket = match self.read().get(Entity::Tickets, id) {
            Some(row) => SimTicket::from_row(row),
            None => return,
        };
        // Ticket webhooks: every status change after the create.
        if previous != 0 && ticket.status != previous {
            webhooks::fire(self.clone(), ticket.clone());
        }
        if ticket.status == COMPLETE && previous != COMPLETE {
            callout::fire(self.clone(), ticket);
        }
    }
}

/// A running simulator. Dropping it stops the server; prefer [`AutotaskSim::shutdown`].
pub struct AutotaskSim {
    shared: Arc<AutotaskState>,
    addr: SocketAddr,
    server: Server,
}

impl AutotaskSim {
    /// Generates the data and serves it on `127.0.0.1:<ephemeral port>`.
    pub async fn start(config: AutotaskConfig) -> std::io::Result<AutotaskSim> {
        AutotaskSim::start_on(config, server::loopback_ephemeral()).await
    }

    /// Generates the data and serves it on `addr` (port 0 = ephemeral).
    pub async fn start_on(config: AutotaskConfig, addr: SocketAddr) -> std::io::Result<AutotaskSim> {
        config.validate()?;
        let server::Bound {
            listener,
            addr,
            base_url,
        } = server::bind(addr).await?;
        let started = Instant::now();
        let data = AutotaskStore::generate(&AutotaskGenParams {
            seed: config.seed,
            companies: config.companies,
            max_contacts_per_company: config.max_contacts_per_company,
            max_cis_per_company: config.max_cis_per_company,
            resources: config.resources,
            tickets: config.tickets.unwrap_or(config.companies),
            reference_ms: config.reference_time_ms.unwrap_or_else(model::today_start_ms),
            contacts_active_as_int: config.contacts_active_as_int,
        });
        let generation_time = started.elapsed();
        let shared = Arc::new(AutotaskState {
            threshold: Mutex::new(Threshold {
                limit: config.hourly_limit,
                window: config.threshold_window,
                times: VecDeque::new(),
            }),
            threads: Mutex::new(HashMap::new()),
            gate: Gate::new(FAULT_RULES, config.latency, config.seed),
            stats: Mutex::new(AutotaskStats::default()),
            callout: Mutex::new(None),
            deliveries: Mutex::new(Vec::new()),
            webhooks: Mutex::new(Vec::new()),
            webhook_deliveries: Mutex::new(Vec::new()),
            webhook_signature: Mutex::new(WebhookSignature::default()),
            data: RwLock::new(data),
            base_url,
            config,
            generation_time,
            lost_ci_creates: std::sync::atomic::AtomicU32::new(0),
            lost_note_answers: std::sync::atomic::AtomicU32::new(0),
            failed_ci_creates: std::sync::atomic::AtomicU32::new(0),
        });
        let app = routes::router(shared.clone());
        let server = Server::spawn(listener, app, "autotask");
        Ok(AutotaskSim { shared, addr, server })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The simulated `https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation`.
    pub fn zone_information_url(&self) -> String {
        format!("{}/atservicesrest/v1.0/zoneInformation", self.shared.base_url)
    }

    /// The REST root zone discovery answers: `http://127.0.0.1:PORT/ATServicesRest/`.
    pub fn rest_root(&self) -> String {
        format!("{}/ATServicesRest/", self.shared.base_url)
    }

    /// `http://127.0.0.1:PORT/ATServicesRest/V1.0` (append `/{Entity}...`).
    pub fn api_url(&self) -> String {
        format!("{}/ATServicesRest/V1.0", self.shared.base_url)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> &AutotaskConfig {
        &self.shared.config
    }

    pub fn generation_time(&self) -> Duration {
        self.shared.generation_time
    }

    pub fn stats(&self) -> AutotaskStats {
        lock(&self.shared.stats).clone()
    }

    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = AutotaskStats::default();
    }

    /// Replaces the injected faults (page counters start afresh).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.gate.set_faults(faults);
    }

    pub fn faults(&self) -> Faults {
        self.shared.gate.faults()
    }

    /// Forgets the requests counted against the hourly threshold.
    pub fn reset_limits(&self) {
        lock(&self.shared.threshold).times.clear();
    }

    /// Requests counted in the current threshold window.
    pub fn requests_in_window(&self) -> usize {
        lock(&self.shared.threshold).count(Instant::now())
    }

    /// Configures the extension callout (replaces any previous one).
    pub fn set_callout(&self, config: CalloutConfig) {
        *lock(&self.shared.callout) = Some(config);
    }

    pub fn clear_callout(&self) {
        *lock(&self.shared.callout) = None;
    }

    /// Every callout delivery attempt so far, in order.
    pub fn callout_deliveries(&self) -> Vec<CalloutDelivery> {
        lock(&self.shared.deliveries).clone()
    }

    /// Waits until at least `n` delivery attempts were recorded (or `timeout` passed).
    pub async fn wait_for_callouts(&self, n: usize, timeout: Duration) -> Vec<CalloutDelivery> {
        let until = Instant::now() + timeout;
        loop {
            let d = self.callout_deliveries();
            if d.len() >= n || Instant::now() >= until {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The registered ticket webhooks.
    pub fn ticket_webhooks(&self) -> Vec<SimWebhook> {
        lock(&self.shared.webhooks).clone()
    }

    /// A registered webhook's secret key (what signs its deliveries).
    pub fn ticket_webhook_key(&self, id: i64) -> Option<String> {
        lock(&self.shared.webhooks)
            .iter()
            .find(|h| h.id == id)
            .map(|h| h.secret_key.clone())
    }

    /// How `X-Hook-Signature` is encoded from now on.
    pub fn set_webhook_signature(&self, encoding: WebhookSignature) {
        *lock(&self.shared.webhook_signature) = encoding;
    }

    /// Every ticket webhook delivery so far, in order.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        lock(&self.shared.webhook_deliveries).clone()
    }

    /// Waits until at least `n` webhook deliveries were recorded (or `timeout` passed).
    pub async fn wait_for_webhook_deliveries(&self, n: usize, timeout: Duration) -> Vec<WebhookDelivery> {
        let until = Instant::now() + timeout;
        loop {
            let d = self.webhook_deliveries();
            if d.len() >= n || Instant::now() >= until {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn ticket(&self, id: i64) -> Option<SimTicket> {
        self.shared.read().get(Entity::Tickets, id).map(SimTicket::from_row)
    }

    pub fn tickets(&self) -> Vec<SimTicket> {
        self.shared
            .read()
            .rows(Entity::Tickets)
            .map(SimTicket::from_row)
            .collect()
    }

    /// Notes of a ticket, in id order.
    pub fn notes(&self, ticket_id: i64) -> Vec<SimNote> {
        self.shared
            .read()
            .rows(Entity::TicketNotes)
            .map(SimNote::from_row)
            .filter(|n| n.ticket_id == ticket_id)
            .collect()
    }

    /// Completes a ticket as a technician would (status 5, completedDate), firing the callout.
    /// False if the ticket does not exist.
    pub fn complete_ticket(&self, id: i64) -> bool {
        self.set_ticket_status(id, COMPLETE)
    }

    /// Sets a ticket's status; Complete fires the callout. False if the ticket does not exist.
    pub fn set_ticket_status(&self, id: i64, status: i64) -> bool {
        let previous = {
            let mut data = self.shared.write();
            let now = model::now_ms();
            let Some(row) = data.get_mut(Entity::Tickets, id) else {
                return false;
            };
            let previous = row.get("status").and_then(Value::as_i64).unwrap_or(0);
            routes::apply_status(row, status, now);
            previous
        };
        self.shared.ticket_status_changed(id, previous);
        true
    }

    pub fn companies(&self) -> Vec<SimCompany> {
        self.shared
            .read()
            .rows(Entity::Companies)
            .map(SimCompany::from_row)
            .collect()
    }

    pub fn company(&self, id: i64) -> Option<SimCompany> {
        self.shared.read().get(Entity::Companies, id).map(SimCompany::from_row)
    }

    /// Adds a company; returns its id.
    pub fn add_company(&self, name: &str, company_type: i64, active: bool) -> i64 {
        let now = model::iso(model::now_ms());
        self.shared.write().insert(
            Entity::Companies,
            json!({"companyName": name, "companyType": company_type, "isActive": active,
                   "createDate": now, "lastActivityDate": now, "lastTrackedModifiedDateTime": now}),
        )
    }

    /// Renames a company (and bumps `lastTrackedModifiedDateTime`). False if unknown.
    pub fn rename_company(&self, id: i64, name: &str) -> bool {
        self.change_record(Entity::Companies, id, |r| {
            r.insert("companyName".into(), json!(name));
            r.insert("lastTrackedModifiedDateTime".into(), json!(model::iso(model::now_ms())));
        })
    }

    pub fn set_company_active(&self, id: i64, active: bool) -> bool {
        self.change_record(Entity::Companies, id, |r| {
            r.insert("isActive".into(), json!(active));
        })
    }

    /// Adds a configuration item; returns its id.
    pub fn add_configuration_item(
        &self,
        company_id: i64,
        reference_title: Option<&str>,
        rmm_device_uid: Option<&str>,
        serial: Option<&str>,
    ) -> i64 {
        let now = model::iso(model::now_ms());
        self.shared.write().insert(
            Entity::ConfigurationItems,
            json!({"companyID": company_id, "configurationItemType": 1, "configurationItemCategoryID": 1,
                   "isActive": true, "referenceTitle": reference_title, "rmmDeviceUID": rmm_device_uid,
                   "serialNumber": serial, "createDate": now, "lastModifiedTime": now}),
        )
    }

    /// The next `n` `POST /ConfigurationItems` create their item and then answer a plain-text
    /// 500, as a gateway timing out after Autotask did the work would.
    pub fn lose_next_ci_create_answers(&self, n: u32) {
        self.shared
            .lost_ci_creates
            .store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// The next `n` `POST /Tickets/{id}/Notes` create their note and then answer a plain-text
    /// 500, as a gateway timing out after Autotask did the work would.
    pub fn lose_next_note_answers(&self, n: u32) {
        self.shared
            .lost_note_answers
            .store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// The next `n` `POST /ConfigurationItems` answer a plain-text 500 and create nothing.
    pub fn fail_next_ci_creates(&self, n: u32) {
        self.shared
            .failed_ci_creates
            .store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Configuration items carrying this `rmmDeviceUID`.
    pub fn configuration_items_for_device(&self, uid: &str) -> Vec<Value> {
        self.shared
            .read()
            .rows(Entity::ConfigurationItems)
            .filter(|r| r.get("rmmDeviceUID").and_then(Value::as_str) == Some(uid))
            .map(|r| Value::Object(r.clone()))
            .collect()
    }

    /// Adds a contact; returns its id.
    pub fn add_contact(&self, company_id: i64, first: &str, last: &str, email: Option<&str>, active: bool) -> i64 {
        let mut data = self.shared.write();
        let active = data.active_value(Entity::Contacts, active);
        data.insert(
            Entity::Contacts,
            json!({"companyID": company_id, "firstName": first, "lastName": last,
                   "emailAddress": email, "isActive": active}),
        )
    }

    /// Any record, as the API renders it.
    pub fn record(&self, entity: Entity, id: i64) -> Option<Value> {
        self.shared.read().get(entity, id).cloned().map(Value::Object)
    }

    /// Ids of an entity's records, in API order.
    pub fn ids(&self, entity: Entity) -> Vec<i64> {
        self.shared.read().ids_of(entity)
    }

    pub fn count(&self, entity: Entity) -> usize {
        self.shared.read().table(entity).rows.len()
    }

    /// Edits any record's JSON in place (keys are the wire names). False if unknown.
    pub fn change_record(&self, entity: Entity, id: i64, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> bool {
        match self.shared.write().get_mut(entity, id) {
            Some(r) => {
                f(r);
                true
            }
            None => false,
        }
    }

    /// Deletes one record (the API no longer lists it). False if unknown.
    pub fn delete_record(&self, entity: Entity, id: i64) -> bool {
        self.shared.write().table_mut(entity).rows.remove(&id).is_some()
    }

    /// Removes records of `entity` past the first `keep` (to shape page sizes in tests).
    pub fn truncate(&self, entity: Entity, keep: usize) {
        let mut data = self.shared.write();
        let table = data.table_mut(entity);
        let ids: Vec<i64> = table.rows.keys().skip(keep).copied().collect();
        for id in ids {
            table.rows.remove(&id);
        }
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
