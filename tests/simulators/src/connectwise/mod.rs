//! A ConnectWise Manage (PSA) REST 3.0 simulator: a real HTTP/1.1 server on loopback.
//!
//! # Routing
//! One port serves the whole "site" (`https://api-na.myconnectwise.net` in production):
//! - `GET /login/companyinfo/{companyId}` (no auth): `{"CompanyName","Codebase","VersionCode",
//!   "VersionNumber","CompanyID","IsCloud","SiteURL"}`;
//! - the REST root `/{codebase}apis/3.0/...` (any first segment is accepted as the codebase, so
//!   both the discovered one and the widely used `v4_6_release/` work);
//! - admin routes under `/_sim/`.
//!
//! # Modelled
//! - Basic auth `company+publicKey:privateKey` and the `clientId` header on every REST call;
//!   bad credentials → 401 `{"code":"ConnectWiseApi","message":"UserNotAuthenticated"}`.
//!   A "restricted" key pair authenticates but every call answers 403 (for the connection test).
//! - `GET /system/info`; companies (+`/count`, `/{id}`, `/{id}/sites`), contacts,
//!   configurations (CRUD, `/types`), members (`/system/members`), boards with statuses,
//!   types and subtypes, priorities, sources, tickets (CRUD, `/search`, `/{id}/notes`,
//!   `/{id}/configurations`), callbacks (`/system/callbacks` CRUD).
//! - `conditions` (see `conditions.rs`: `= != < <= > >= contains like in not`,
//!   `AND`/`OR`, parentheses, strings, numbers, `True/False`, `[datetimes]`, `a/b` references),
//!   `orderBy` (`field [asc|desc]`), `fields` (top-level names).
//! - Navigable paging (`page` 1-based, `pageSize` default 25, clamped to 1000) with an RFC 5988
//!   `Link` header (`first/prev/next/last`, `next`/`prev` omitted when absent); forward-only
//!   paging (`pagination-type: forward-only` + `pageId`, ordered by id, `orderBy` refused with
//!   400) whose `Link` carries `rel="next"` with the last id returned.
//! - POST → 201 with the record; PATCH takes JSON-Patch arrays (`add|replace|remove`, unknown
//!   paths ignored: the documented "false 200"); DELETE → 204.
//! - Error envelope `{code,message,errors[{code,message,resource,field}]}`; 400 `InvalidObject`
//!   on missing ticket summary/company/board; 404 `NotFound`; unknown route 404
//!   `The endpoint does not exist.`.
//! - Configuration writes as the docs describe them: `name`, `type` and `company` required
//!   (400 `MissingRequiredField`), an inactive type, an unknown `status` or `manufacturer`
//!   reference (`{id}` or `{name}`) or a name over 100 characters refused (`InvalidField`);
//!   without a `status` the default status (Active) is set. Configuration statuses
//!   (`/company/configurations/statuses`, Inactive is `closedFlag`), type questions
//!   (`/company/configurations/types/{id}/questions`, `requiredFlag`; "Network Device" has a
//!   required one, so a create of that type without its answer in `questions[]` is refused),
//!   manufacturers (`/procurement/manufacturers`). A test can make the next creates lose their
//!   answer ([`ConnectWiseSim::lose_next_configuration_create_answers`]).
//! - Rate limit: more than [`ConnectWiseConfig::rate_limit`] REST requests per rolling
//!   [`ConnectWiseConfig::rate_window`] → 429 with `Retry-After` and
//!   `{"error":"ConnectWiseAPI","message":"Too many requests. Please try again in N seconds."}`.
//! - Callbacks: registration validates `url`, `type` and `level`, stores `objectId` 1
//!   for owner level, answers `ObjectExists` for a duplicate (same url, type, level, objectId);
//!   when a ticket is added or updated (API, or [`ConnectWiseSim::close_ticket`]) each active
//!   matching callback gets a POST of the PascalCase payload with `Entity` as a JSON string and
//!   `Metadata.key_url` pointing at `/{codebase}apis/3.0/system/callbackkey?id=...` (served by
//!   the sim: `{"signing_key": ...}`), `x-content-signature` = Base64(HMAC-SHA256(SHA256(key),
//!   body)); URL + record id; retries on 404/409/419/429 after
//!   [`ConnectWiseConfig::callback_retry_delays`] (2 s, 4 s); timeout
//!   [`ConnectWiseConfig::callback_timeout`] (5 s). `isSelfSuppressedFlag` suppresses changes
//!   made with the creator's keys; a ticket write with `skipCallback: true` sends nothing.
//!
//! # Assumptions (not confirmed by the vendor) and their switches
//! | Behaviour | Default | Switch |
//! |---|---|---|
//! | Unknown company at `/login/companyinfo` | 404 `{"code":"NotFound","message":"Company not found"}`; 200 sends `null` | [`ConnectWiseConfig::unknown_company_status`] |
//! | Missing `clientId` header | 401 `{"code":"ConnectWiseApi","message":"ClientId is required"}` | [`ConnectWiseConfig::missing_client_id_status`] (0 = not required) |
//! | Which clientId values pass | any non-empty | [`ConnectWiseConfig::client_id`] (`Some` = only that one) |
//! | Restricted member's answer | 403 `{"code":"Forbidden",...}` | [`ConnectWiseConfig::restricted_keys`] |
//! | `pageSize` above 1000 | clamped | [`ConnectWiseConfig::page_size_max`] |
//! | Forward-only `Link` on a page shorter than `pageSize` | still has `rel="next"` (the walk ends on an empty page) | [`ConnectWiseConfig::forward_only_next_on_short_page`] |
//! | Bad `conditions` | 400 `{"code":"InvalidConditions",...}` | – |
//! | Quote escape inside condition strings | `\"` (and `""`) | – |
//! | `Retry-After` value | seconds until the oldest request leaves the window | [`ConnectWiseConfig::retry_after_secs`] (fixed value) |
//! | Action appended to the callback URL after the id | no | [`ConnectWiseConfig::append_action_to_callback_url`] |
//! | key_url needs the `clientId` header | no | [`ConnectWiseConfig::key_url_requires_client_id`] |
//! | `skipCallback` in a PATCH | an op with path `skipCallback` and value `true` | – |
//! | Notes trigger a ticket callback | no | – |
//! | Admin close (`/_sim/tickets/{id}/close`) is made by | a member other than the API member (never self-suppressed) | – |
//!
//! Faults ([`Faults`]) are answered after the latency and before auth and rate counting.
//!
//! # Data
//! Generated from [`ConnectWiseConfig::seed`]: companies (some duplicate or near-duplicate
//! names, some inactive or `deletedFlag`), 1-3 sites, 0-5 contacts (email as a default
//! `communicationItems` entry) and 0-8 configurations each (half with a Datto-looking device uid
//! in `deviceIdentifier`), members (the API member first), three boards with six statuses each
//! (Completed, Closed and the inactive Cancelled are `closedStatus`), types/subtypes per board,
//! five priorities, four sources and a few tickets.
//!
//! # Test helpers
//! Rust accessors for assertions ([`ConnectWiseSim::ticket`], [`ConnectWiseSim::tickets`],
//! [`ConnectWiseSim::notes`], [`ConnectWiseSim::deliveries`], ...), mutations
//! ([`ConnectWiseSim::add_company`], [`ConnectWiseSim::add_configuration`],
//! [`ConnectWiseSim::close_ticket`]) and [`CallbackSink`], a loopback receiver that records
//! the callbacks it is sent and can answer chosen statuses (to exercise the retries).
//!
//! # Admin endpoints (no auth, loopback peers only, not counted)
//! `GET /_sim/info`, `GET /_sim/stats`, `GET|POST /_sim/faults` ([`Faults`] fields, snake
//! case, `latency_ms`; empty body clears), `POST /_sim/reset-limits`, `POST /_sim/reset-stats`,
//! `POST /_sim/tickets/{id}/close`.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use simulators::connectwise::{ConnectWiseConfig, ConnectWiseSim};
//! let sim = ConnectWiseSim::start(ConnectWiseConfig { companies: 200, ..ConnectWiseConfig::default() }).await?;
//! let site = sim.base_url();   // http://127.0.0.1:PORT (the "site")
//! let api = sim.api_url();     // http://127.0.0.1:PORT/v4_6_release/apis/3.0
//! # let _ = (site, api);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod callbacks;
mod conditions;
mod generate;
mod model;
mod routes;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

pub use crate::gate::Faults;
pub(crate) use crate::gate::lock;
use crate::gate::{FaultRules, FirstFault, Gate};
use crate::server::{self, Server};
pub use callbacks::{CallbackDelivery, CallbackSink, ReceivedCallback, sign};
use generate::ConnectWiseGenParams;
use model::ConnectWiseStore;
pub use model::{iso, now_ms};

use crate::rng::Rng;

/// How the ConnectWise simulator draws injected faults: `fail_next` before a forced 429, on
/// every route.
const FAULT_RULES: FaultRules = FaultRules {
    path_ignores_case: false,
    first: FirstFault::Status,
    forced_429_on_open_routes: true,
};

/// Simulator configuration. `Default` is small and fast.
#[derive(Clone)]
pub struct ConnectWiseConfig {
    /// The company id people log in with (`companyId` of `/login/companyinfo`).
    pub company_id: String,
    pub public_key: String,
    pub private_key: String,
    /// `Some` = only this clientId is accepted; `None` = any non-empty value.
    pub client_id: Option<String>,
    /// Status when the `clientId` header is missing; 0 = not required.
    pub missing_client_id_status: u16,
    /// A key pair that authenticates but is refused (403) everywhere.
    pub restricted_keys: Option<(String, String)>,
    /// Identifier of the member the API keys belong to.
    pub api_member: String,
    /// Codebase returned by companyinfo, e.g. `v2025_1/`.
    pub codebase: String,
    pub unknown_company_status: u16,
    pub seed: u64,
    pub companies: usize,
    pub members: usize,
    pub tickets: usize,
    pub page_size_default: usize,
    pub page_size_max: usize,
    pub forward_only_next_on_short_page: bool,
    pub rate_limit: u32,
    pub rate_window: Duration,
    /// A fixed `Retry-After` instead of the time until the window frees a slot.
    pub retry_after_secs: Option<u64>,
    pub latency: Duration,
    pub callback_timeout: Duration,
    pub callback_retry_delays: Vec<Duration>,
    pub append_action_to_callback_url: bool,
    pub key_url_requires_client_id: bool,
    /// Epoch ms the generated timestamps are relative to (`None` = now).
    pub reference_time_ms: Option<i64>,
}

impl std::fmt::Debug for ConnectWiseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectWiseConfig")
            .field("company_id", &self.company_id)
            .field("public_key", &self.public_key)
            .field("private_key", &"<redacted>")
            .field("seed", &self.seed)
            .field("companies", &self.companies)
            .field("rate_limit", &self.rate_limit)
            .finish_non_exhaustive()
    }
}

impl Default for ConnectWiseConfig {
    fn default() -> Self {
        ConnectWiseConfig {
            company_id: "simco".into(),
            public_key: "SimPublicKey01".into(),
            private_key: "SimPrivateKey0123456789".into(),
            client_id: None,
            missing_client_id_status: 401,
            restricted_keys: None,
            api_member: "rmmsync".into(),
            codebase: "v2025_1/".into(),
            unknown_company_status: 404,
            seed: 1,
            companies: 30,
            members: 8,
            tickets: 10,
            page_size_default: 25,
            page_size_max: 1000,
            forward_only_next_on_short_page: true,
            rate_limit: 1000,
            rate_window: Duration::from_secs(60),
            retry_after_secs: None,
            latency: Duration::ZERO,
            callback_timeout: Duration::from_secs(5),
            callback_retry_delays: vec![Duration::from_secs(2), Duration::from_secs(4)],
            append_action_to_callback_url: false,
            key_url_requires_client_id: false,
            reference_time_ms: None,
        }
    }
}

/// Request counters. Admin requests are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConnectWiseStats {
    pub total_requests: u64,
    /// Per route, e.g. `companyinfo`, `system_info`, `companies`, `company_sites`, `contacts`,
    /// `configurations`, `configuration_types`, `members`, `boards`, `board_statuses`,
    /// `priorities`, `tickets`, `ticket`, `ticket_notes`, `ticket_configurations`, `callbacks`,
    /// `callback_key`, `other`.
    pub by_route: BTreeMap<String, u64>,
    pub rate_limited_429: u64,
    pub unauthorized_401: u64,
    pub forbidden_403: u64,
    pub faults_injected: u64,
    pub callbacks_sent: u64,
}

impl ConnectWiseStats {
    pub fn route(&self, route: &str) -> u64 {
        self.by_route.get(route).copied().unwrap_or(0)
    }
}

pub(crate) struct ConnectWiseState {
    pub(crate) config: ConnectWiseConfig,
    pub(crate) base_url: String,
    pub(crate) data: Mutex<ConnectWiseStore>,
    pub(crate) gate: Gate,
    pub(crate) stats: Mutex<ConnectWiseStats>,
    pub(crate) window: Mutex<VecDeque<Instant>>,
    pub(crate) deliveries: Arc<Mutex<Vec<CallbackDelivery>>>,
    pub(crate) rng: Mutex<Rng>,
    /// Configuration creates still to answer a 500 after doing the work.
    pub(crate) lost_creates: std::sync::atomic::AtomicU32,
    /// Ticket note POSTs that create their note and then answer a 500.
    pub(crate) lost_note_answers: std::sync::atomic::AtomicU32,
}

/// What happened to the record a callback reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallbackAction {
    Added,
    Updated,
    Deleted,
}

impl CallbackAction {
    /// The payload's `Action`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CallbackAction::Added => "added",
            CallbackAction::Updated => "updated",
            CallbackAction::Deleted => "deleted",
        }
    }
}

/// Who made a change (for `isSelfSuppressedFlag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Actor {
    ApiMember,
    Other,
}

impl ConnectWiseState {
    pub(crate) fn data(&self) -> MutexGuard<'_, ConnectWiseStore> {
        lock(&self.data)
    }

    pub(crate) fn stat(&self, f: impl FnOnce(&mut ConnectWiseStats)) {
        f(&mut lock(&self.stats));
    }

    pub(crate) fn api_root(&self) -> String {
        format!("{}/{}apis/3.0", self.base_url, self.config.codebase)
    }

    pub(crate) fn guid(&self) -> String {
        lock(&self.rng).guid()
    }

    /// Sends the ticket callbacks for a change (spawned; returns at once).
    pub(crate) fn emit_ticket(self: &Arc<Self>, ticket_id: i64, action: CallbackAction, actor: Actor) {
        let (ticket, callbacks, api_member_id) = {
            let d = self.data();
            let ticket = d.tickets.get(ticket_id).cloned();
            let api_member_id = d
                .members
                .rows
                .iter()
                .find(|(_, m)| m["identifier"] == self.config.api_member.as_str())
                .map(|(id, _)| *id);
            let callbacks: Vec<Value> = d.callbacks.rows.values().cloned().collect();
            (ticket, callbacks, api_member_id)
        };
        let Some(ticket) = ticket else { return };
        let entity = if action == CallbackAction::Deleted {
            Value::Null
        } else {
            json!(ticket.to_string())
        };
        for cb in callbacks {
            if cb["type"] != "ticket" || cb["inactiveFlag"] == true {
                continue;
            }
            let object_id = cb["objectId"].as_i64().unwrap_or(0);
            let matches = match cb["level"].as_str().unwrap_or("") {
                "owner" => true,
                "board" => ticket["board"]["id"].as_i64() == Some(object_id),
                "status" => ticket["status"]["id"].as_i64() == Some(object_id),
                "ticket" => ticket_id == object_id,
                _ => false,
            };
            if !matches {
                continue;
            }
            if cb["isSelfSuppressedFlag"] == true
                && actor == Actor::ApiMember
                && cb["memberId"].as_i64() == api_member_id
            {
                continue;
            }
            let key_id = cb["_keyId"].as_str().unwrap_or("").to_string();
            let Some(signing_key) = self.data().signing_keys.get(&key_id).cloned() else {
                continue;
            };
            let message_id = self.guid();
            let callback_id = cb["id"].as_i64().unwrap_or(0);
            let payload = json!({
                "MessageId": message_id,
                "FromUrl": self.base_url.trim_start_matches("http://"),
                "CompanyId": self.config.company_id,
                "MemberId": if actor == Actor::ApiMember { self.config.api_member.as_str() } else { "simadmin" },
                "Action": action.as_str(),
                "Type": "ticket",
                "ID": ticket_id,
                "ProductInstanceId": null,
                "PartnerId": null,
                "Entity": entity,
                "Metadata": {"key_url": format!("{}/system/callbackkey?companyName={}&id={key_id}",
                    self.api_root(), self.config.company_id)},
                "CallbackObjectRecId": callback_id,
            });
            let body = payload.to_string();
            let signature = sign(&signing_key, body.as_bytes());
            let mut url = format!("{}{ticket_id}", cb["url"].as_str().unwrap_or(""));
            if self.config.append_action_to_callback_url {
                url.push_str(&format!("&action={}", action.as_str()));
            }
            self.stat(|s| s.callbacks_sent += 1);
            let out = callbacks::Outgoing {
                callback_id,
                message_id,
                url,
                body,
                signature,
            };
            tokio::spawn(callbacks::deliver(
                out,
                self.config.callback_timeout,
                self.config.callback_retry_delays.clone(),
                self.deliveries.clone(),
            ));
        }
    }
}

/// A running simulator. Dropping it stops the server.
pub struct ConnectWiseSim {
    shared: Arc<ConnectWiseState>,
    addr: SocketAddr,
    server: Server,
}

impl ConnectWiseSim {
    /// Generates the data and serves it on `127.0.0.1:<ephemeral port>`.
    pub async fn start(config: ConnectWiseConfig) -> std::io::Result<ConnectWiseSim> {
        ConnectWiseSim::start_on(config, server::loopback_ephemeral()).await
    }

    pub async fn start_on(config: ConnectWiseConfig, addr: SocketAddr) -> std::io::Result<ConnectWiseSim> {
        let bad = |msg: &str| Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg.to_string()));
        if config.page_size_max == 0 || config.page_size_default == 0 {
            return bad("page sizes must be at least 1");
        }
        if !config.codebase.ends_with('/') || config.codebase.contains("//") {
            return bad("codebase must look like `v2025_1/`");
        }
        let server::Bound {
            listener,
            addr,
            base_url,
        } = server::bind(addr).await?;
        let data = ConnectWiseStore::generate(&ConnectWiseGenParams {
            seed: config.seed,
            companies: config.companies,
            members: config.members,
            tickets: config.tickets,
            reference_ms: config.reference_time_ms.unwrap_or_else(now_ms),
            api_member: config.api_member.clone(),
        });
        let shared = Arc::new(ConnectWiseState {
            rng: Mutex::new(Rng::new(now_ms() as u64 ^ u64::from(addr.port()) ^ config.seed)),
            gate: Gate::new(FAULT_RULES, config.latency, config.seed),
            config,
            base_url,
            data: Mutex::new(data),
            stats: Mutex::new(ConnectWiseStats::default()),
            window: Mutex::new(VecDeque::new()),
            deliveries: Arc::new(Mutex::new(Vec::new())),
            lost_creates: std::sync::atomic::AtomicU32::new(0),
            lost_note_answers: std::sync::atomic::AtomicU32::new(0),
        });
        let app = routes::router(shared.clone());
        let server = Server::spawn(listener, app, "connectwise");
        Ok(ConnectWiseSim { shared, addr, server })
    }

    /// `http://127.0.0.1:PORT`: the "site" (what `api-na.myconnectwise.net` is in production).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/{codebase}apis/3.0` (no trailing slash).
    pub fn api_url(&self) -> String {
        self.shared.api_root()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> &ConnectWiseConfig {
        &self.shared.config
    }

    pub fn stats(&self) -> ConnectWiseStats {
        lock(&self.shared.stats).clone()
    }

    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = ConnectWiseStats::default();
    }

    pub fn set_faults(&self, faults: Faults) {
        self.shared.gate.set_faults(faults);
    }

    pub fn faults(&self) -> Faults {
        self.shared.gate.faults()
    }

    /// Forgets the requests counted against the rate limit.
    pub fn reset_limits(&self) {
        lock(&self.shared.window).clear();
    }

    fn table(&self, f: impl FnOnce(&ConnectWiseStore) -> &model::RecordTable) -> Vec<Value> {
        f(&self.shared.data()).rows.values().cloned().collect()
    }

    pub fn companies(&self) -> Vec<Value> {
        self.table(|d| &d.companies)
    }

    pub fn contacts(&self) -> Vec<Value> {
        self.table(|d| &d.contacts)
    }

    pub fn company_sites(&self) -> Vec<Value> {
        self.table(|d| &d.sites)
    }

    pub fn configurations(&self) -> Vec<Value> {
        self.table(|d| &d.configurations)
    }

    pub fn configuration_types(&self) -> Vec<Value> {
        self.table(|d| &d.configuration_types)
    }

    pub fn members(&self) -> Vec<Value> {
        self.table(|d| &d.members)
    }

    pub fn boards(&self) -> Vec<Value> {
        self.table(|d| &d.boards)
    }

    /// The statuses of one board.
    pub fn board_statuses(&self, board_id: i64) -> Vec<Value> {
        self.table(|d| &d.statuses)
            .into_iter()
            .filter(|s| s["board"]["id"].as_i64() == Some(board_id))
            .collect()
    }

    /// A board's types, subtypes, items or teams (`list` names which).
    pub fn board_list(&self, board_id: i64, list: &str) -> Vec<Value> {
        let d = self.shared.data();
        let table = match list {
            "types" => &d.types,
            "subtypes" => &d.subtypes,
            "items" => &d.items,
            "teams" => &d.teams,
            _ => &d.statuses,
        };
        table
            .rows
            .values()
            .filter(|s| s["board"]["id"].as_i64() == Some(board_id))
            .cloned()
            .collect()
    }

    /// Takes the default flag off every status of a board (a board without a default status).
    pub fn clear_default_status(&self, board_id: i64) {
        for s in self.shared.data().statuses.rows.values_mut() {
            if s["board"]["id"].as_i64() == Some(board_id) {
                s["defaultFlag"] = serde_json::json!(false);
            }
        }
    }

    pub fn priorities(&self) -> Vec<Value> {
        self.table(|d| &d.priorities)
    }

    pub fn tickets(&self) -> Vec<Value> {
        self.table(|d| &d.tickets)
    }

    pub fn ticket(&self, id: i64) -> Option<Value> {
        self.shared.data().tickets.get(id).cloned()
    }

    /// The notes of a ticket, oldest first.
    pub fn notes(&self, ticket_id: i64) -> Vec<Value> {
        self.table(|d| &d.notes)
            .into_iter()
            .filter(|n| n["ticketId"].as_i64() == Some(ticket_id))
            .collect()
    }

    /// Configuration ids attached to a ticket.
    pub fn ticket_configurations(&self, ticket_id: i64) -> Vec<i64> {
        self.shared
            .data()
            .ticket_configurations
            .get(&ticket_id)
            .cloned()
            .unwrap_or_default()
    }

    pub fn callbacks(&self) -> Vec<Value> {
        let mut v = self.table(|d| &d.callbacks);
        for cb in &mut v {
            if let Some(o) = cb.as_object_mut() {
                o.remove("_keyId");
            }
        }
        v
    }

    /// Every callback delivery attempt so far.
    pub fn deliveries(&self) -> Vec<CallbackDelivery> {
        lock(&self.shared.deliveries).clone()
    }

    /// Waits until at least `n` delivery attempts are recorded (or `timeout`).
    pub async fn wait_for_deliveries(&self, n: usize, timeout: Duration) -> Vec<CallbackDelivery> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.deliveries();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The next `n` `POST /company/configurations` create their configuration and then answer
    /// a 500, as a gateway timing out after ConnectWise did the work would.
    pub fn lose_next_configuration_create_answers(&self, n: u32) {
        self.shared.lost_creates.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// The next `n` `POST /service/tickets/{id}/notes` create their note and then answer a
    /// 500, as a gateway timing out after ConnectWise did the work would.
    pub fn lose_next_note_answers(&self, n: u32) {
        self.shared
            .lost_note_answers
            .store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Configurations whose `deviceIdentifier` is `uid`.
    pub fn configurations_for_device(&self, uid: &str) -> Vec<Value> {
        self.configurations()
            .into_iter()
            .filter(|c| c["deviceIdentifier"].as_str() == Some(uid))
            .collect()
    }

    /// Adds a company (with generated sites, contacts and configurations); returns its id.
    pub fn add_company(&self, name: &str) -> i64 {
        let mut r = Rng::derive(self.shared.config.seed, now_ms() as u64);
        self.shared.data().add_company(name, &mut r, now_ms())
    }

    /// Edits a company record in place (JSON, wire shape).
    pub fn change_company(&self, id: i64, f: impl FnOnce(&mut Value)) {
        let mut d = self.shared.data();
        let c = d
            .companies
            .rows
            .get_mut(&id)
            .unwrap_or_else(|| panic!("no company {id}"));
        f(c);
    }

    /// Deletes a company outright (the API no longer lists it). False if unknown.
    pub fn delete_company(&self, id: i64) -> bool {
        self.shared.data().companies.rows.remove(&id).is_some()
    }

    /// Adds a configuration for a company (wire-shape fields merged in); returns its id.
    pub fn add_configuration(&self, company_id: i64, fields: Value) -> i64 {
        let mut d = self.shared.data();
        let c = d
            .companies
            .get(company_id)
            .cloned()
            .unwrap_or_else(|| panic!("no company {company_id}"));
        let mut rec = json!({"name": "Added", "type": {"id": 1, "name": "Workstation"},
            "company": {"id": company_id, "identifier": c["identifier"], "name": c["name"]},
            "status": {"id": 1, "name": "Active"}, "activeFlag": true, "serialNumber": null,
            "deviceIdentifier": null, "modelNumber": null, "osInfo": null, "ipAddress": null,
            "warrantyExpirationDate": null, "_info": {"lastUpdated": iso(now_ms())}});
        if let (Some(r), Value::Object(extra)) = (rec.as_object_mut(), fields) {
            r.extend(extra);
        }
        rec["customFields"] =
            model::merge_custom_fields(&Value::Null, &rec["customFields"]).unwrap_or_else(|e| panic!("{e}"));
        d.configurations.insert(rec)
    }

    /// Closes a ticket the way a technician would (the first active closed status of its
    /// board; `POST /_sim/tickets/{id}/close` takes an optional `{"statusId": n}`), then sends
    /// the ticket callbacks ("updated", never self-suppressed).
    ///
    /// # Panics
    /// If the ticket does not exist or its board has no closed status, or when called outside
    /// a Tokio runtime (deliveries are spawned tasks).
    pub fn close_ticket(&self, id: i64) {
        close_ticket(&self.shared, id, None).unwrap_or_else(|e| panic!("{e}"));
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

pub(crate) fn close_ticket(shared: &Arc<ConnectWiseState>, id: i64, status_id: Option<i64>) -> Result<Value, String> {
    {
        let mut d = shared.data();
        let board = d.tickets.get(id).ok_or_else(|| format!("Ticket {id} not found"))?["board"]["id"]
            .as_i64()
            .unwrap_or(0);
        let status = match status_id {
            Some(s) => s,
            None => d.first_closed_status(board).ok_or("the board has no closed status")?,
        };
        d.set_ticket_status(id, status, "simadmin", now_ms())?;
        if let Some(t) = d.tickets.rows.get_mut(&id) {
            t["_info"]["lastUpdated"] = json!(iso(now_ms()));
            t["_info"]["updatedBy"] = json!("simadmin");
        }
    }
    shared.emit_ticket(id, CallbackAction::Updated, Actor::Other);
    Ok(shared.data().tickets.get(id).cloned().unwrap_or(Value::Null))
}
