//! A Datto RMM API v2 simulator: a real HTTP/1.1 server on loopback.
//!
//! # Routing
//! All six platforms are served on one port under a path prefix:
//! `http://127.0.0.1:PORT/{platform}/auth/oauth/token` and `.../{platform}/api/v2/...`, with
//! platform one of pinotage, merlot, concord, vidal, zinfandel, syrah. The account lives on
//! [`DattoConfig::platform`]; its credentials on any other platform get the bad-credentials
//! answer, like a real account queried on the wrong platform. Unknown prefixes answer 404.
//!
//! # Modelled
//! - OAuth password grant with the fixed `public-client:public` Basic header; opaque bearer
//!   tokens that expire after `token_ttl_secs` (401 `Request can not be authorized.` after).
//! - A restricted user: valid credentials, but every `/api/v2` call answers 403.
//! - `GET` account, system status/pagination/request_rate, sites (+ one site), site devices,
//!   account devices (LIKE filters `hostname`, `deviceType`, `operatingSystem`, `siteName`),
//!   device by uid / numeric id / MAC, device/ESXi/printer audits (class checks), open and
//!   resolved alerts (account, site, device), one alert, components, jobs, job results,
//!   stdout/stderr. Writes: alert resolve, quick job, UDF set (merge semantics), warranty,
//!   device move. Error statuses and messages are the spec's.
//! - 0-based paging, `max` clamped to `page_max`, absolute `nextPageUrl`/`prevPageUrl`, `null`
//!   at the ends; epoch-millisecond timestamps; `null` where unset; `udf1..udfN`; system sites
//!   ("Deleted Devices", "OnDemand", "Managed"); `@class` alert contexts.
//! - Rate limits (see [`limits`]): reads and writes apart, writes per operation, slow-down above
//!   the cutoff, 429 above the limit, then a temporary 403 "IP block".
//!
//! # Assumptions (not confirmed by the vendor) and their switches
//! | Behaviour | Default | Switch |
//! |---|---|---|
//! | Bad credentials at the token endpoint | 400 `{"error":"invalid_grant",...}` | [`DattoConfig::bad_credentials_status`] |
//! | `expires_in` | 360000 (100 h) | [`DattoConfig::token_ttl_secs`] |
//! | `max` above the page limit | clamped | [`DattoConfig::page_max`] |
//! | Alerts' own page limit | same as `page_max` | [`DattoConfig::alerts_page_max`] |
//! | Filters kept in `nextPageUrl` | kept (`max=..&page=..&filters`) | [`DattoConfig::drop_filters_in_next_page_url`] |
//! | `Retry-After` on 429/403 | absent | [`DattoConfig::retry_after_header`] |
//! | 429/403/401/404 body | `{"message": "..."}` | – |
//! | 403 IP block threshold | 30 429s within one window | [`DattoConfig::block_after_429s`] |
//! | Write quota: aggregate 600, per operation 100, `device-udf-set` 600 | as listed | [`DattoConfig::write_limit`], [`DattoConfig::write_op_limit`], [`DattoConfig::write_op_overrides`] |
//! | Legacy single bucket accounts | off | [`DattoConfig::legacy_single_bucket`] |
//! | Status of body-less writes | 200, empty body | [`DattoConfig::void_write_status`] |
//! | Unknown alert uid (get/resolve) | 404 `Alert was not found.` | [`DattoConfig::unknown_alert_status`] |
//! | `Job.dateCreated`, `JobResults.ranOn` | epoch ms | [`DattoConfig::iso_job_dates`] |
//! | Number of UDFs rendered | 30 (the latest spec has 300) | [`DattoConfig::udf_count`] |
//! | Token requests, `/system/status`, 401s and 404s count against the rate limit | no | – |
//! | Deleted devices are listed by `/account/devices` | yes (they are in a site of the account) | – |
//! | `filterId` | no filters exist: 404 | – |
//! | A never-audited device's audit | nulls and empty lists | – |
//! | `deviceType` vocabulary, `deviceClass` mix, MAC format `AA:BB:..` in audits | see `generate.rs` | – |
//!
//! Faults ([`Faults`]) are answered before anything else (auth, IP block, rate counting); only
//! the latency comes first.
//!
//! # Data
//! Generated from [`DattoConfig::seed`] (see `generate.rs`): the same seed, sizes and
//! [`DattoConfig::reference_time_ms`] give byte-identical responses. Client sites get realistic
//! MSP client names (firms, dental practices, law offices, churches, some with location tags),
//! ~60 % an Autotask company id (a string of digits; sites of one client may share it); devices
//! are spread skewed (a few big clients, many small, a few empty) and mix desktops, laptops,
//! servers (some VMs), ESXi hosts, printers, network devices and a few unknown kinds; UDFs are
//! mostly null, some hold secret-looking values (BitLocker keys, local admin passwords).
//! 5,000 sites / 100,000 devices generate in about 0.5 s of CPU (release) and take about 80 MB
//! of heap: low-vocabulary fields are interned ([`Text`]) and audit details, alert contexts and
//! diagnostics are derived from `(seed, id)` when served instead of stored.
//!
//! # Admin endpoints (no auth, loopback peers only, not counted in the stats)
//! `GET /_sim/info` (platform, key names, sizes, URLs; never a secret), `GET /_sim/stats`
//! ([`DattoStats`] as JSON), `GET|POST /_sim/faults` ([`Faults`] as JSON with snake_case fields
//! and `latency_ms`; an empty body clears them), `POST /_sim/expire-tokens`,
//! `POST /_sim/reset-limits`, `POST /_sim/reset-stats`, `POST /_sim/mutate`
//! (`{"changeDevices": N}`, for benchmarks).
//!
//! # Example
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use simulators::datto::{DattoConfig, DattoSim, Faults};
//! let sim = DattoSim::start(DattoConfig { sites: 50, devices: 1_000, ..DattoConfig::default() }).await?;
//! let token_url = sim.token_url(); // http://127.0.0.1:PORT/merlot/auth/oauth/token
//! let api = sim.api_url(); //         http://127.0.0.1:PORT/merlot/api  (+ /v2/...)
//! sim.set_faults(Faults { fail_next: 2, status: 503, ..Faults::default() });
//! // ... run the code under test against token_url / api ...
//! assert!(sim.stats().route("account_devices") > 0);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod generate;
pub mod limits;
mod model;
pub(crate) mod names;
mod render;
mod routes;
mod text;
mod webhooks;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

pub use crate::gate::Faults;
pub(crate) use crate::gate::lock;
use crate::gate::{FaultRules, FirstFault, Gate};
use crate::server::{self, Server};
use generate::DattoGenParams;
use limits::{LimitConfig, Limiter};
use model::DattoStore;
pub use model::{
    AlertPriority, DELETED_DEVICES_SITE, DataError, DeviceClass, MANAGED_SITE, ON_DEMAND_SITE, ProxyKind, SimAccount,
    SimAlert, SimComponent, SimComponentVariable, SimDevice, SimJob, SimProxy, SimSite, SiteKind, Text, Udfs,
    VariableKind,
};
pub use webhooks::{AlertWebhook, WebhookDelivery};

use crate::rng::Rng;

/// How the Datto RMM simulator draws injected faults: a forced 429 first, on every route.
const FAULT_RULES: FaultRules = FaultRules {
    path_ignores_case: false,
    first: FirstFault::TooMany,
    forced_429_on_open_routes: true,
};

/// The six Datto RMM platforms.
pub const PLATFORMS: &[&str] = &["pinotage", "merlot", "concord", "vidal", "zinfandel", "syrah"];

/// Simulator configuration. `Default` is small and fast: 20 sites, 200 devices, no latency.
#[derive(Clone)]
pub struct DattoConfig {
    /// Platform of the account, e.g. `"merlot"`.
    pub platform: String,
    pub api_key: String,
    pub api_secret: String,
    /// Valid credentials of a user without API access: the token is issued, every `/api/v2` call
    /// answers 403 "Authenticated user doesn't have access to this resource.".
    pub restricted_api_key: Option<(String, String)>,
    pub seed: u64,
    /// Client sites; the three system sites come on top.
    pub sites: usize,
    /// Devices in total (a few of them in the system sites).
    pub devices: usize,
    pub page_max: usize,
    /// Page limit of alert lists (`None` = `page_max`).
    pub alerts_page_max: Option<usize>,
    pub token_ttl_secs: u64,
    pub read_limit: u32,
    pub write_limit: u32,
    pub write_op_limit: u32,
    /// Per-operation write limits that differ from `write_op_limit`.
    pub write_op_overrides: Vec<(String, u32)>,
    pub window: Duration,
    /// Above this share of a limit, responses are delayed by `slow_delay`.
    pub cutoff_ratio: f64,
    pub slow_delay: Duration,
    /// 429s sent within one window that trigger the IP block (0 = never block).
    pub block_after_429s: u32,
    pub block_duration: Duration,
    /// Every request counts against the read bucket (older accounts).
    pub legacy_single_bucket: bool,
    /// Adds `Retry-After: <secs>` to 429 and IP-block 403 responses.
    pub retry_after_header: Option<u64>,
    /// Sleep before answering each request.
    pub latency: Duration,
    /// Leave the query filters (`siteName`, `hostname`, ...) out of `nextPageUrl`.
    pub drop_filters_in_next_page_url: bool,
    /// Status for bad credentials at the token endpoint (400 `invalid_grant`, or e.g. 401).
    pub bad_credentials_status: u16,
    /// Status of successful body-less writes (resolve, UDF, warranty, move).
    pub void_write_status: u16,
    /// Status for an unknown alert uid.
    pub unknown_alert_status: u16,
    /// `Job.dateCreated`/`JobResults.ranOn` as `yyyy-mm-ddThh:mm:ssZ` instead of epoch ms.
    pub iso_job_dates: bool,
    /// `udf1..udfN` rendered on devices (30 here; up to 300 in the latest spec).
    pub udf_count: u16,
    /// A quick job reports "completed" this long after creation.
    pub job_duration: Duration,
    /// Open alerts generated (`None` = devices / 12; a third as many resolved ones on top).
    pub open_alerts: Option<usize>,
    /// Share of client sites mapped to an Autotask company.
    pub autotask_mapped_ratio: f64,
    /// Timestamps are generated relative to this (epoch ms); `None` = start of today (UTC).
    pub reference_time_ms: Option<i64>,
}

impl std::fmt::Debug for DattoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DattoConfig")
            .field("platform", &self.platform)
            .field("api_key", &self.api_key)
            .field("api_secret", &"<redacted>")
            .field("restricted_api_key", &self.restricted_api_key.as_ref().map(|(k, _)| k))
            .field("seed", &self.seed)
            .field("sites", &self.sites)
            .field("devices", &self.devices)
            .field("page_max", &self.page_max)
            .field("read_limit", &self.read_limit)
            .field("write_limit", &self.write_limit)
            .field("window", &self.window)
            .field("latency", &self.latency)
            .finish_non_exhaustive()
    }
}

impl Default for DattoConfig {
    fn default() -> Self {
        DattoConfig {
            platform: "merlot".to_string(),
            api_key: "SIMKEY0123456789".to_string(),
            api_secret: "sim-secret-0123456789".to_string(),
            restricted_api_key: None,
            seed: 1,
            sites: 20,
            devices: 200,
            page_max: 250,
            alerts_page_max: None,
            token_ttl_secs: 360_000,
            read_limit: 600,
            write_limit: 600,
            write_op_limit: 100,
            write_op_overrides: vec![("device-udf-set".to_string(), 600)],
            window: Duration::from_secs(60),
            cutoff_ratio: 0.9,
            slow_delay: Duration::from_secs(1),
            block_after_429s: 30,
            block_duration: Duration::from_secs(300),
            legacy_single_bucket: false,
            retry_after_header: None,
            latency: Duration::ZERO,
            drop_filters_in_next_page_url: false,
            bad_credentials_status: 400,
            void_write_status: 200,
            unknown_alert_status: 404,
            iso_job_dates: false,
            udf_count: 30,
            job_duration: Duration::from_secs(2),
            open_alerts: None,
            autotask_mapped_ratio: 0.6,
            reference_time_ms: None,
        }
    }
}

impl DattoConfig {
    fn limit_config(&self) -> LimitConfig {
        LimitConfig {
            read_limit: self.read_limit,
            write_limit: self.write_limit,
            write_op_limit: self.write_op_limit,
            write_op_overrides: self.write_op_overrides.clone(),
            window: self.window,
            cutoff_ratio: self.cutoff_ratio,
            block_after_429s: self.block_after_429s,
            block_duration: self.block_duration,
            legacy_single_bucket: self.legacy_single_bucket,
        }
    }

    fn validate(&self) -> std::io::Result<()> {
        let bad = |msg: String| Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg));
        if !PLATFORMS.contains(&self.platform.as_str()) {
            return bad(format!(
                "unknown platform {:?} (expected one of {})",
                self.platform,
                PLATFORMS.join(", ")
            ));
        }
        if self.page_max == 0 {
            return bad("page_max must be at least 1".into());
        }
        if self.udf_count > 300 {
            return bad("udf_count must be at most 300".into());
        }
        for status in [
            self.bad_credentials_status,
            self.void_write_status,
            self.unknown_alert_status,
        ] {
            if axum::http::StatusCode::from_u16(status).is_err() {
                return bad(format!("invalid HTTP status {status}"));
            }
        }
        Ok(())
    }
}

/// Request counters. Admin (`/_sim/...`) requests are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DattoStats {
    /// Every request under a platform prefix (and unknown prefixes).
    pub total_requests: u64,
    /// Per route: `token`, `account`, `system`, `sites`, `site`, `site_devices`,
    /// `account_devices`, `device`, `audit`, `alerts`, `resolve`, `quickjob`, `job`,
    /// `components`, `udf`, `warranty`, `move`, `other`.
    pub by_route: BTreeMap<String, u64>,
    /// All 429 responses (rate limiter and injected).
    pub responses_429: u64,
    /// 429s sent by the rate limiter.
    pub rate_limited: u64,
    /// Requests answered 403 because of the IP block.
    pub blocked_403: u64,
    /// How many times the IP block was triggered.
    pub blocks_started: u64,
    /// Requests delayed by `slow_delay` (above the cutoff).
    pub slowed: u64,
    pub unauthorized_401: u64,
    /// Faults injected (including forced 429s).
    pub faults_injected: u64,
    pub tokens_issued: u64,
}

impl DattoStats {
    /// Requests counted for `route` (0 if none).
    pub fn route(&self, route: &str) -> u64 {
        self.by_route.get(route).copied().unwrap_or(0)
    }
}

pub(crate) struct TokenInfo {
    expires_at: Instant,
    restricted: bool,
}

pub(crate) struct Tokens {
    issued: HashMap<String, TokenInfo>,
    rng: Rng,
}

/// State shared by the server and the [`DattoSim`] handle.
pub(crate) struct DattoState {
    pub(crate) config: DattoConfig,
    pub(crate) base_url: String,
    pub(crate) data: RwLock<DattoStore>,
    pub(crate) tokens: Mutex<Tokens>,
    pub(crate) limiter: Mutex<Limiter>,
    pub(crate) gate: Gate,
    pub(crate) stats: Mutex<DattoStats>,
    pub(crate) generation_time: Duration,
    /// Epoch ms when the simulator started (`/system/status` `started`).
    pub(crate) started_ms: i64,
    pub(crate) webhook: Mutex<Option<AlertWebhook>>,
    pub(crate) deliveries: Mutex<Vec<WebhookDelivery>>,
    pub(crate) webhook_pending: Arc<std::sync::atomic::AtomicUsize>,
}

impl DattoState {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, DattoStore> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, DattoStore> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn stat(&self, f: impl FnOnce(&mut DattoStats)) {
        f(&mut lock(&self.stats));
    }
}

/// A running simulator. Dropping it stops the server (in the background); prefer
/// [`DattoSim::shutdown`] to wait for it.
pub struct DattoSim {
    shared: Arc<DattoState>,
    addr: SocketAddr,
    server: Server,
}

impl DattoSim {
    /// Generates the data and serves it on `127.0.0.1:<ephemeral port>`.
    pub async fn start(config: DattoConfig) -> std::io::Result<DattoSim> {
        DattoSim::start_on(config, server::loopback_ephemeral()).await
    }

    /// Generates the data and serves it on `addr` (port 0 = ephemeral).
    pub async fn start_on(config: DattoConfig, addr: SocketAddr) -> std::io::Result<DattoSim> {
        config.validate()?;
        let server::Bound {
            listener,
            addr,
            base_url,
        } = server::bind(addr).await?;

        let started = Instant::now();
        let params = DattoGenParams {
            seed: config.seed,
            platform: config.platform.clone(),
            sites: config.sites,
            devices: config.devices,
            reference_ms: config.reference_time_ms.unwrap_or_else(model::today_start_ms),
            open_alerts: config.open_alerts,
            autotask_mapped_ratio: config.autotask_mapped_ratio,
        };
        let data = DattoStore::generate(&params);
        let generation_time = started.elapsed();
        tracing::debug!(
            ?generation_time,
            sites = config.sites,
            devices = config.devices,
            "datto sim data generated"
        );

        // Tokens need not be reproducible, and must differ between simulators with one seed.
        let token_seed = model::now_ms() as u64 ^ (u64::from(addr.port()) << 32) ^ config.seed;
        let shared = Arc::new(DattoState {
            limiter: Mutex::new(Limiter::new(config.limit_config())),
            gate: Gate::new(FAULT_RULES, config.latency, config.seed),
            tokens: Mutex::new(Tokens {
                issued: HashMap::new(),
                rng: Rng::new(token_seed),
            }),
            stats: Mutex::new(DattoStats::default()),
            data: RwLock::new(data),
            base_url,
            config,
            generation_time,
            started_ms: model::now_ms(),
            webhook: Mutex::new(None),
            deliveries: Mutex::new(Vec::new()),
            webhook_pending: Arc::default(),
        });

        let app = routes::router(shared.clone());
        let server = Server::spawn(listener, app, "datto");
        Ok(DattoSim { shared, addr, server })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/{platform}`: the simulated `https://{platform}-api.centrastage.net`.
    pub fn platform_base_url(&self, platform: &str) -> String {
        format!("{}/{platform}", self.shared.base_url)
    }

    /// The token URL of the account's platform.
    pub fn token_url(&self) -> String {
        format!(
            "{}/auth/oauth/token",
            self.platform_base_url(&self.shared.config.platform)
        )
    }

    /// The REST base of the account's platform (`.../{platform}/api`).
    pub fn api_url(&self) -> String {
        format!("{}/api", self.platform_base_url(&self.shared.config.platform))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> &DattoConfig {
        &self.shared.config
    }

    /// How long generating the data took.
    pub fn generation_time(&self) -> Duration {
        self.shared.generation_time
    }

    pub fn stats(&self) -> DattoStats {
        lock(&self.shared.stats).clone()
    }

    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = DattoStats::default();
    }

    /// Replaces the injected faults (counters start afresh).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.gate.set_faults(faults);
    }

    /// The faults still pending (`fail_next`/`force_429_next` count down).
    pub fn faults(&self) -> Faults {
        self.shared.gate.faults()
    }

    /// Every token issued so far answers 401 from now on.
    pub fn expire_tokens(&self) {
        lock(&self.shared.tokens).issued.clear();
    }

    /// Forgets counted requests, 429s and any IP block.
    pub fn reset_limits(&self) {
        lock(&self.shared.limiter).reset();
    }

    /// Uids of all sites, system sites included, in API order.
    pub fn site_uids(&self) -> Vec<String> {
        self.shared.read().sites.iter().map(|s| s.uid.clone()).collect()
    }

    /// Uids of all devices (deleted ones included), in API order.
    pub fn device_uids(&self) -> Vec<String> {
        self.shared.read().devices.iter().map(|d| d.uid.clone()).collect()
    }

    pub fn account(&self) -> SimAccount {
        self.shared.read().account.clone()
    }

    pub fn sites(&self) -> Vec<SimSite> {
        self.shared.read().sites.clone()
    }

    pub fn site(&self, uid: &str) -> Option<SimSite> {
        let data = self.shared.read();
        data.site_index(uid).map(|i| data.sites[i].clone())
    }

    pub fn devices(&self) -> Vec<SimDevice> {
        self.shared.read().devices.clone()
    }

    pub fn device(&self, uid: &str) -> Option<SimDevice> {
        self.shared.read().device(uid).cloned()
    }

    /// Uids of the devices of one site, in API order.
    ///
    /// # Panics
    /// If the site does not exist.
    pub fn site_device_uids(&self, site_uid: &str) -> Vec<String> {
        let data = self.shared.read();
        let idx = data
            .site_index(site_uid)
            .unwrap_or_else(|| panic!("{}", DataError::UnknownSite(site_uid.to_string())));
        data.site_device_indexes(idx)
            .iter()
            .map(|&d| data.devices[d as usize].uid.clone())
            .collect()
    }

    /// Uid of the "Deleted Devices" site.
    pub fn deleted_devices_site_uid(&self) -> String {
        let data = self.shared.read();
        let idx = data.deleted_devices_site().expect("always exists");
        data.sites[idx].uid.clone()
    }

    fn mutate<R>(&self, f: impl FnOnce(&mut DattoStore) -> Result<R, DataError>) -> R {
        let result = f(&mut self.shared.write());
        result.unwrap_or_else(|e| panic!("{e}"))
    }

    /// Adds a client site; returns its uid.
    pub fn add_site(&self, name: &str) -> String {
        self.shared.write().add_site(name)
    }

    /// Edits a site in place (renames, Autotask mapping, ...).
    ///
    /// # Panics
    /// If the site does not exist, or its uid is changed to one already in use.
    pub fn change_site(&self, uid: &str, f: impl FnOnce(&mut SimSite)) {
        self.mutate(|d| d.change_site(uid, f))
    }

    /// Enrols `n` new devices in a site; returns their uids.
    ///
    /// # Panics
    /// If the site does not exist.
    pub fn add_devices(&self, site_uid: &str, n: usize) -> Vec<String> {
        self.mutate(|d| d.add_devices(site_uid, n))
    }

    /// Edits a device in place. Changing `site_uid` moves it; changing `uid` re-keys it.
    ///
    /// # Panics
    /// If the device does not exist, or the edit names an unknown site or a taken uid (the
    /// edit is then undone before the panic).
    pub fn change_device(&self, uid: &str, f: impl FnOnce(&mut SimDevice)) {
        self.mutate(|d| d.change_device(uid, f))
    }

    /// # Panics
    /// If the device or the site does not exist.
    pub fn move_device(&self, uid: &str, to_site_uid: &str) {
        self.mutate(|d| d.move_device(uid, to_site_uid))
    }

    /// Deletes a device the way Datto does: it moves to the "Deleted Devices" site, flagged
    /// `deleted` and offline.
    ///
    /// # Panics
    /// If the device does not exist.
    pub fn delete_device(&self, uid: &str) {
        self.mutate(|d| d.delete_device(uid))
    }

    /// Removes a device entirely (as when the Deleted Devices site is purged).
    ///
    /// # Panics
    /// If the device does not exist.
    pub fn purge_device(&self, uid: &str) {
        self.mutate(|d| d.purge_device(uid))
    }

    /// Raises an open alert on a device (and sends its webhook, when one is set); returns its
    /// uid. `priority` is one of the API's ([`AlertPriority`]: `Critical`, `High`, ...);
    /// `monitor` is an `@class` value such as `"disk_usage_ctx"` or a free monitor name
    /// (becomes a `comp_script_ctx` alert).
    ///
    /// # Panics
    /// If the device does not exist or the priority is not one of the API's.
    pub fn raise_alert(&self, device_uid: &str, priority: &str, monitor: &str) -> String {
        let uid = self.mutate(|d| d.raise_alert(device_uid, priority, monitor));
        webhooks::emit(&self.shared, &uid);
        uid
    }

    /// Resolves an alert as a person would in Datto RMM (and sends its webhook).
    /// Returns false if it was resolved already.
    pub fn resolve_alert(&self, alert_uid: &str) -> bool {
        let changed = self.mutate(|d| d.resolve_alert(alert_uid, "Datto RMM user"));
        if changed {
            webhooks::emit(&self.shared, alert_uid);
        }
        changed
    }

    /// Sends the alert's webhook again (a repeated delivery).
    pub fn redeliver_alert_webhook(&self, alert_uid: &str) {
        webhooks::emit(&self.shared, alert_uid);
    }

    /// Sets (or, with `None`, removes) where alert webhooks go.
    pub fn set_alert_webhook(&self, hook: Option<AlertWebhook>) {
        *lock(&self.shared.webhook) = hook;
    }

    /// The webhook deliveries so far, in completion order.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        lock(&self.shared.deliveries).clone()
    }

    /// Waits until no webhook delivery is in flight (at most `timeout`).
    pub async fn settle_webhooks(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.shared.webhook_pending.load(std::sync::atomic::Ordering::SeqCst) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// False for unknown alerts.
    pub fn is_alert_resolved(&self, alert_uid: &str) -> bool {
        let data = self.shared.read();
        data.alert_index(alert_uid).is_some_and(|i| data.alerts[i].resolved)
    }

    pub fn alert(&self, alert_uid: &str) -> Option<SimAlert> {
        let data = self.shared.read();
        data.alert_index(alert_uid).map(|i| data.alerts[i].clone())
    }

    /// Uids of the open alerts, in API order.
    pub fn open_alert_uids(&self) -> Vec<String> {
        self.shared
            .read()
            .alerts
            .iter()
            .filter(|a| !a.resolved)
            .map(|a| a.uid.clone())
            .collect()
    }

    /// Uids of the components usable in quick jobs.
    pub fn component_uids(&self) -> Vec<String> {
        self.shared.read().components.iter().map(|c| c.uid.clone()).collect()
    }

    /// Adds a component usable in quick jobs (names need not be unique, as in Datto RMM);
    /// returns its uid. `variables` are `(name, default value)` string variables.
    pub fn add_component(&self, name: &str, description: &str, variables: &[(&str, &str)]) -> String {
        let mut data = self.shared.write();
        let id = data.components.iter().map(|c| c.id).max().unwrap_or(100_000) + 1;
        let uid = data.rng.guid();
        data.components.push(SimComponent {
            id,
            uid: uid.clone(),
            name: name.into(),
            description: description.into(),
            category_code: "scripts".into(),
            credentials_required: false,
            variables: variables
                .iter()
                .map(|(n, v)| SimComponentVariable {
                    name: (*n).into(),
                    default_val: (*v).into(),
                    kind: VariableKind::String,
                    description: "".into(),
                })
                .collect(),
        });
        uid
    }

    /// The quick jobs created so far (through `PUT /v2/device/{uid}/quickjob`), oldest first.
    pub fn jobs(&self) -> Vec<SimJob> {
        let mut jobs: Vec<SimJob> = self.shared.read().jobs.values().cloned().collect();
        jobs.sort_by_key(|j| j.id);
        jobs
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
