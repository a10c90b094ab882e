//! HTTP front: one fallback handler parses `/{platform}/...`, counts the request
//! (`DattoStats`) and puts it through the shared request gate (`gate.rs`, with [`DattoCall`]
//! as Datto RMM's side of it):
//!
//! 1. latency;
//! 2. injected faults;
//! 3. IP block (403);
//! 4. for `/api/v2` (but `/system/status`): bearer auth (401) and user access (403);
//! 5. the rate limiter (429 / slow-down);
//!
//! then the token endpoint or the endpoint itself answers.
//!
//! Admin endpoints under `/_sim/` (loopback peers only, no auth, not counted): the common ones
//! of `admin.rs` (`GET /_sim/info`, `GET /_sim/stats`, `POST /_sim/reset-stats`,
//! `GET|POST /_sim/faults`, `POST /_sim/reset-limits`) and Datto RMM's own:
//! `POST /_sim/expire-tokens`, `POST /_sim/mutate`
//! (`{"changeDevices": N}`: renames N devices, for benchmarks), `POST /_sim/alerts` (raises
//! `{deviceUid, priority, monitor}`), `POST /_sim/alerts/{uid}/resolve`,
//! `GET|POST /_sim/alert-webhook` (`{url, headers}`; an empty body removes it) and
//! `GET /_sim/webhook-deliveries` (see `webhooks.rs`).

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Value, json};

use super::limits::{RateClass, Verdict};
use super::model::{DataError, DattoStore, DeviceClass};
use super::{DattoState, DattoStats, PLATFORMS, TokenInfo, lock, render};
use crate::admin::{self, Admin};
use crate::gate::{self, Access, Admission, Fault, FaultStage, Gate, Gated};
use crate::respond::{empty, status};
use crate::urlcode::{parse_pairs, percent_decode, percent_encode};

pub(crate) fn router(shared: Arc<DattoState>) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

// ----- responses -----

fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn ok<T: Serialize + ?Sized>(value: &T) -> Response {
    json_response(StatusCode::OK, value)
}

/// `{"message": "..."}`, the error body this simulator uses (exact shape UNCONFIRMED).
fn message(code: u16, msg: &str) -> Response {
    json_response(status(code), &json!({ "message": msg }))
}

/// An error answer decided before the handler runs (small, unlike `Response`).
struct Reject {
    status: u16,
    message: &'static str,
}

impl From<Reject> for Response {
    fn from(r: Reject) -> Response {
        message(r.status, r.message)
    }
}

const UNAUTHORIZED: &str = "Request can not be authorized.";
const NO_ACCESS: &str = "Authenticated user doesn't have access to this resource.";
const RATE_LIMITED: &str = "Rate limit exceeded";
const IP_BLOCKED: &str = "IP address blocked due to too many requests";
const DATA_INVALID: &str = "Request data is invalid.";
const PARAMS_INVALID: &str = "Request parameters are invalid.";
const DEVICE_NOT_FOUND: &str = "Device was not found.";
const SITE_NOT_FOUND: &str = "Site was not found.";
const JOB_NOT_FOUND: &str = "Job was not found.";
const ALERT_NOT_FOUND: &str = "Alert was not found.";

fn with_retry_after(mut r: Response, secs: Option<u64>) -> Response {
    if let Some(secs) = secs {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

fn too_many(sim: &DattoState) -> Response {
    with_retry_after(message(429, RATE_LIMITED), sim.config.retry_after_header)
}

fn blocked(sim: &DattoState) -> Response {
    with_retry_after(message(403, IP_BLOCKED), sim.config.retry_after_header)
}

// ----- URL helpers -----

struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A non-empty filter value, with SQL LIKE `%` wildcards at the ends removed.
    fn filter(&self, name: &str) -> Option<&str> {
        self.get(name).map(|v| v.trim_matches('%')).filter(|v| !v.is_empty())
    }
}

/// Case-insensitive (ASCII) substring test: the API's LIKE filters.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

// ----- routing -----

/// An `/api/v2/...` endpoint (path parameters borrowed from the decoded path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DattoApi<'a> {
    SystemStatus,
    SystemPagination,
    SystemRequestRate,
    Account,
    AccountSites,
    AccountDevices,
    AccountComponents,
    AccountAlerts(bool),
    Site(&'a str),
    SiteDevices(&'a str),
    SiteAlerts(&'a str, bool),
    Device(&'a str),
    DeviceById(&'a str),
    DeviceByMac(&'a str),
    DeviceAlerts(&'a str, bool),
    AuditDevice(&'a str),
    AuditDeviceByMac(&'a str),
    AuditEsxi(&'a str),
    AuditPrinter(&'a str),
    AuditSoftware(&'a str),
    Alert(&'a str),
    ResolveAlert(&'a str),
    QuickJob(&'a str),
    SetUdf(&'a str),
    SetWarranty(&'a str),
    MoveDevice(&'a str, &'a str),
    Job(&'a str),
    JobComponents(&'a str),
    JobResults(&'a str, &'a str),
    JobStd(&'a str, &'a str, bool),
    Unknown,
}

fn alert_state(s: &str) -> Option<bool> {
    match s {
        "open" => Some(false),
        "resolved" => Some(true),
        _ => None,
    }
}

impl<'a> DattoApi<'a> {
    fn parse(method: &str, segs: &[&'a str]) -> DattoApi<'a> {
        use DattoApi::*;
        match (method, segs) {
            ("GET", ["system", "status"]) => SystemStatus,
            ("GET", ["system", "pagination"]) => SystemPagination,
            ("GET", ["system", "request_rate"]) => SystemRequestRate,
            ("GET", ["account"]) => Account,
            ("GET", ["account", "sites"]) => AccountSites,
            ("GET", ["account", "devices"]) => AccountDevices,
            ("GET", ["account", "components"]) => AccountComponents,
            ("GET", ["account", "alerts", s]) => alert_state(s).map_or(Unknown, AccountAlerts),
            ("GET", ["site", uid]) => Site(uid),
            ("GET", ["site", uid, "devices"]) => SiteDevices(uid),
            ("GET", ["site", uid, "alerts", s]) => alert_state(s).map_or(Unknown, |r| SiteAlerts(uid, r)),
            ("GET", ["device", "id", id]) => DeviceById(id),
            ("GET", ["device", "macAddress", mac]) => DeviceByMac(mac),
            ("GET", ["device", uid]) => Device(uid),
            ("GET", ["device", uid, "alerts", s]) => alert_state(s).map_or(Unknown, |r| DeviceAlerts(uid, r)),
            ("PUT", ["device", uid, "quickjob"]) => QuickJob(uid),
            ("POST", ["device", uid, "udf"]) => SetUdf(uid),
            ("POST", ["device", uid, "warranty"]) => SetWarranty(uid),
            ("PUT", ["device", uid, "site", site]) => MoveDevice(uid, site),
            ("GET", ["audit", "device", "macAddress", mac]) => AuditDeviceByMac(mac),
            ("GET", ["audit", "device", uid]) => AuditDevice(uid),
            ("GET", ["audit", "device", uid, "software"]) => AuditSoftware(uid),
            ("GET", ["audit", "esxihost", uid]) => AuditEsxi(uid),
            ("GET", ["audit", "printer", uid]) => AuditPrinter(uid),
            ("GET", ["alert", uid]) => Alert(uid),
            ("POST", ["alert", uid, "resolve"]) => ResolveAlert(uid),
            ("GET", ["job", uid]) => Job(uid),
            ("GET", ["job", uid, "components"]) => JobComponents(uid),
            ("GET", ["job", uid, "results", dev]) => JobResults(uid, dev),
            ("GET", ["job", uid, "results", dev, "stdout"]) => JobStd(uid, dev, false),
            ("GET", ["job", uid, "results", dev, "stderr"]) => JobStd(uid, dev, true),
            _ => Unknown,
        }
    }

    fn stat_key(&self) -> &'static str {
        use DattoApi::*;
        match self {
            SystemStatus | SystemPagination | SystemRequestRate => "system",
            Account => "account",
            AccountSites => "sites",
            Site(_) => "site",
            SiteDevices(_) => "site_devices",
            AccountDevices => "account_devices",
            Device(_) | DeviceById(_) | DeviceByMac(_) => "device",
            AuditDevice(_) | AuditDeviceByMac(_) | AuditEsxi(_) | AuditPrinter(_) | AuditSoftware(_) => "audit",
            AccountAlerts(_) | SiteAlerts(..) | DeviceAlerts(..) | Alert(_) => "alerts",
            ResolveAlert(_) => "resolve",
            QuickJob(_) => "quickjob",
            Job(_) | JobComponents(_) | JobResults(..) | JobStd(..) => "job",
            AccountComponents => "components",
            SetUdf(_) => "udf",
            SetWarranty(_) => "warranty",
            MoveDevice(..) => "move",
            Unknown => "other",
        }
    }

    /// `None` for endpoints that are not counted (`/system/status` needs no token).
    fn rate_class(&self) -> Option<RateClass> {
        use DattoApi::*;
        match self {
            SystemStatus | Unknown => None,
            ResolveAlert(_) => Some(RateClass::Write("alert-resolve")),
            QuickJob(_) => Some(RateClass::Write("device-job-create")),
            SetUdf(_) => Some(RateClass::Write("device-udf-set")),
            SetWarranty(_) => Some(RateClass::Write("device-warranty-create")),
            MoveDevice(..) => Some(RateClass::Write("device-move")),
            _ => Some(RateClass::Read),
        }
    }
}

#[derive(Clone, Copy)]
enum DattoTarget<'a> {
    Token,
    Api(DattoApi<'a>),
    NotFound,
}

impl DattoTarget<'_> {
    fn stat_key(&self) -> &'static str {
        match self {
            DattoTarget::Token => "token",
            DattoTarget::Api(api) => api.stat_key(),
            DattoTarget::NotFound => "other",
        }
    }
}

/// Everything a handler needs to know about the request.
struct DattoCtx<'a> {
    sim: &'a Arc<DattoState>,
    platform: &'a str,
    origin: String,
    query: QueryParams,
    body: &'a Bytes,
}

async fn dispatch(
    State(sim): State<Arc<DattoState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let method_name = method.clone();
    let path = uri.path().to_string();
    let response = route(&sim, peer, method, &uri, &headers, &body).await;
    tracing::debug!(
        method = %method_name,
        path = %path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "datto sim request"
    );
    response
}

/// One request to the Datto RMM simulator, as the gate sees it.
struct DattoCall<'a> {
    sim: &'a DattoState,
    target: DattoTarget<'a>,
    platform: &'a str,
}

impl Gated for DattoCall<'_> {
    /// Whether the user is restricted is settled by `authenticate` (403).
    type Caller = ();
    type Permit = ();

    const FAULT_STAGE: FaultStage = FaultStage::BeforeAuth;

    fn gate(&self) -> &Gate {
        &self.sim.gate
    }

    /// `/system/status` and the token endpoint need no token; nor do unknown prefixes (404).
    fn access(&self) -> Access {
        match self.target {
            DattoTarget::Api(api) if api != DattoApi::SystemStatus => Access::Api,
            _ => Access::Open,
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        let sim = self.sim;
        let code = match fault {
            Fault::TooMany { .. } => 429,
            Fault::Status(code) => code,
        };
        sim.stat(|s| {
            s.faults_injected += 1;
            if code == 429 {
                s.responses_429 += 1;
            }
        });
        match code {
            429 => too_many(sim),
            401 => message(401, UNAUTHORIZED),
            409 => message(409, "Request aborted due to concurrent write access to this record."),
            _ => message(code, status(code).canonical_reason().unwrap_or("Error")),
        }
    }

    /// The temporary IP block answers everything 403.
    fn screen(&self) -> Result<(), Box<Response>> {
        let block = lock(&self.sim.limiter).blocked(Instant::now());
        if block.is_some() {
            self.sim.stat(|s| s.blocked_403 += 1);
            return Err(Box::new(blocked(self.sim)));
        }
        Ok(())
    }

    /// A live bearer token issued on this platform, of a user with API access.
    fn authenticate(&self, headers: &HeaderMap) -> Result<(), Box<Response>> {
        match authenticate(self.sim, self.platform, headers) {
            Err(r) => Err(Box::new(r.into())),
            Ok(true) => Err(Box::new(message(403, NO_ACCESS))),
            Ok(false) => Ok(()),
        }
    }

    /// The rolling-window limiter (see `limits.rs`); unknown endpoints are not counted.
    fn admit(&self, _caller: &()) -> Result<Admission<()>, Box<Response>> {
        let sim = self.sim;
        let no_wait = Admission {
            permit: (),
            slow_down: Duration::ZERO,
        };
        let DattoTarget::Api(api) = self.target else {
            return Ok(no_wait);
        };
        let Some(class) = api.rate_class() else {
            return Ok(no_wait);
        };
        let verdict = lock(&sim.limiter).admit(class, Instant::now());
        match verdict {
            Verdict::Limited { block_started } => {
                sim.stat(|s| {
                    s.responses_429 += 1;
                    s.rate_limited += 1;
                    if block_started {
                        s.blocks_started += 1;
                    }
                });
                if block_started {
                    tracing::info!("datto sim: IP block started");
                }
                Err(Box::new(too_many(sim)))
            }
            Verdict::Allow { slow: true } => {
                sim.stat(|s| s.slowed += 1);
                Ok(Admission {
                    permit: (),
                    slow_down: sim.config.slow_delay,
                })
            }
            Verdict::Allow { slow: false } => Ok(no_wait),
        }
    }
}

async fn route(
    sim: &Arc<DattoState>,
    peer: SocketAddr,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let path = uri.path();
    if admin::is_admin(path) {
        return admin::serve(sim, peer, &method, path, body);
    }
    let segments: Vec<String> = path.split('/').skip(1).map(|s| percent_decode(s, false)).collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (platform, rest) = segs.split_first().map_or(("", &[][..]), |(p, rest)| (*p, rest));
    let target = if !PLATFORMS.contains(&platform) {
        DattoTarget::NotFound
    } else {
        match rest {
            ["auth", "oauth", "token"] => DattoTarget::Token,
            ["api", "v2", tail @ ..] => DattoTarget::Api(DattoApi::parse(method.as_str(), tail)),
            _ => DattoTarget::NotFound,
        }
    };
    sim.stat(|s| {
        s.total_requests += 1;
        *s.by_route.entry(target.stat_key().to_string()).or_default() += 1;
    });

    let call = DattoCall { sim, target, platform };
    if let Err(refused) = gate::pass(&call, path, headers).await {
        return *refused;
    }

    let origin = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"))
        .unwrap_or_else(|| sim.base_url.clone());
    let ctx = DattoCtx {
        sim,
        platform,
        origin,
        query: QueryParams(parse_pairs(uri.query().unwrap_or(""))),
        body,
    };
    match target {
        DattoTarget::NotFound => message(404, "Not Found"),
        DattoTarget::Token => token(&ctx, &method, headers),
        DattoTarget::Api(api) => handle(&ctx, api),
    }
}

// ----- token endpoint -----

fn oauth_error(code: u16, error: &str, description: &str) -> Response {
    json_response(
        status(code),
        &json!({ "error": error, "error_description": description }),
    )
}

fn token(ctx: &DattoCtx<'_>, method: &Method, headers: &HeaderMap) -> Response {
    let sim = ctx.sim;
    if method != Method::POST {
        return oauth_error(
            405,
            "method_not_allowed",
            &format!("Request method '{method}' not supported"),
        );
    }
    let basic_ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic ").or_else(|| h.strip_prefix("basic ")))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .is_some_and(|decoded| decoded == b"public-client:public");
    if !basic_ok {
        sim.stat(|s| s.unauthorized_401 += 1);
        return oauth_error(
            401,
            "unauthorized",
            "Full authentication is required to access this resource",
        );
    }
    let form = QueryParams(parse_pairs(std::str::from_utf8(ctx.body).unwrap_or("")));
    match form.get("grant_type") {
        Some("password") => {}
        Some(other) => {
            return oauth_error(
                400,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {other}"),
            );
        }
        None => return oauth_error(400, "invalid_request", "Missing grant type"),
    }
    let (user, pass) = (form.get("username").unwrap_or(""), form.get("password").unwrap_or(""));
    let cfg = &sim.config;
    let restricted = match &cfg.restricted_api_key {
        Some((k, s)) if k == user && s == pass => Some(true),
        _ if cfg.api_key == user && cfg.api_secret == pass => Some(false),
        _ => None,
    };
    // The account exists on one platform only.
    let restricted = match restricted {
        Some(r) if ctx.platform == cfg.platform => r,
        _ => return oauth_error(cfg.bad_credentials_status, "invalid_grant", "Bad credentials"),
    };
    let (access_token, jti) = {
        let mut tokens = lock(&sim.tokens);
        let now = Instant::now();
        if tokens.issued.len() > 10_000 {
            tokens.issued.retain(|_, t| t.expires_at > now);
        }
        let access_token = tokens
            .rng
            .chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 48);
        let jti = tokens.rng.guid();
        let expires_at = now + Duration::from_secs(cfg.token_ttl_secs);
        tokens
            .issued
            .insert(access_token.clone(), TokenInfo { expires_at, restricted });
        (access_token, jti)
    };
    sim.stat(|s| s.tokens_issued += 1);
    ok(&json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": cfg.token_ttl_secs,
        "scope": "default",
        "jti": jti,
    }))
}

/// `Ok(restricted)` for a live token issued on this platform.
fn authenticate(sim: &DattoState, platform: &str, headers: &HeaderMap) -> Result<bool, Reject> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let verdict = presented.and_then(|t| {
        let mut tokens = lock(&sim.tokens);
        let info = tokens.issued.get(t)?;
        if info.expires_at <= Instant::now() {
            tokens.issued.remove(t);
            return None;
        }
        Some(info.restricted)
    });
    match verdict {
        Some(restricted) if platform == sim.config.platform => Ok(restricted),
        _ => {
            sim.stat(|s| s.unauthorized_401 += 1);
            Err(Reject {
                status: 401,
                message: UNAUTHORIZED,
            })
        }
    }
}

// ----- /api/v2 -----

fn handle(ctx: &DattoCtx<'_>, api: DattoApi<'_>) -> Response {
    let sim = ctx.sim;
    match api {
        DattoApi::SystemStatus => {
            ok(&json!({"version": "2.0.0 (simulator)", "status": "UP", "started": sim.started_ms}))
        }
        DattoApi::SystemPagination => ok(&json!({ "max": sim.config.page_max })),
        DattoApi::SystemRequestRate => request_rate(sim),
        DattoApi::Account => ok(&render::account(&sim.read())),
        DattoApi::AccountSites => sites(ctx),
        DattoApi::Site(uid) => {
            let data = sim.read();
            match data.site_index(uid) {
                Some(i) => ok(&render::site(&data, i)),
                None => message(404, SITE_NOT_FOUND),
            }
        }
        DattoApi::SiteDevices(uid) => site_devices(ctx, uid),
        DattoApi::AccountDevices => account_devices(ctx),
        DattoApi::Device(uid) => {
            let data = sim.read();
            match data.device(uid) {
                Some(d) => ok(&render::device(&data, d, sim.config.udf_count)),
                None => message(404, DEVICE_NOT_FOUND),
            }
        }
        DattoApi::DeviceById(id) => {
            let Ok(id) = id.parse::<i64>() else {
                return message(400, PARAMS_INVALID);
            };
            let data = sim.read();
            match data.devices.iter().find(|d| d.id == id) {
                Some(d) => ok(&render::device(&data, d, sim.config.udf_count)),
                None => message(404, DEVICE_NOT_FOUND),
            }
        }
        DattoApi::DeviceByMac(mac) => {
            let data = sim.read();
            let list: Vec<_> = devices_by_mac(&data, mac)
                .map(|d| render::device(&data, d, sim.config.udf_count))
                .collect();
            ok(&list)
        }
        DattoApi::AuditDevice(uid) => audit(ctx, uid, DeviceClass::Device),
        DattoApi::AuditEsxi(uid) => audit(ctx, uid, DeviceClass::EsxiHost),
        DattoApi::AuditPrinter(uid) => audit(ctx, uid, DeviceClass::Printer),
        DattoApi::AuditSoftware(uid) => software(ctx, uid),
        DattoApi::AuditDeviceByMac(mac) => {
            let data = sim.read();
            let list: Vec<Value> = devices_by_mac(&data, mac)
                .filter(|d| d.device_class == DeviceClass::Device)
                .map(|d| render::device_audit(&data, d))
                .collect();
            ok(&list)
        }
        DattoApi::AccountAlerts(resolved) => alerts(ctx, AlertScope::Account, resolved),
        DattoApi::SiteAlerts(uid, resolved) => alerts(ctx, AlertScope::Site(uid), resolved),
        DattoApi::DeviceAlerts(uid, resolved) => alerts(ctx, AlertScope::Device(uid), resolved),
        DattoApi::Alert(uid) => {
            let data = sim.read();
            match data.alert_index(uid) {
                Some(i) => ok(&render::alert(&data, &data.alerts[i])),
                None => message(sim.config.unknown_alert_status, ALERT_NOT_FOUND),
            }
        }
        DattoApi::ResolveAlert(uid) => {
            // The write lock must be gone before the webhook body reads the alert.
            let resolved = sim.write().resolve_alert(uid, "API");
            match resolved {
                Ok(changed) => {
                    if changed {
                        super::webhooks::emit(sim, uid);
                    }
                    empty(sim.config.void_write_status)
                }
                Err(_) => message(sim.config.unknown_alert_status, ALERT_NOT_FOUND),
            }
        }
        DattoApi::AccountComponents => {
            let data = sim.read();
            let page = match PageCtx::new(ctx, "account/components", sim.config.page_max, Vec::new()) {
                Ok(p) => p,
                Err(r) => return r.into(),
            };
            page.respond("components", data.components.len(), |range| {
                data.components[range].iter().map(render::component).collect()
            })
        }
        DattoApi::QuickJob(uid) => quick_job(ctx, uid),
        DattoApi::SetUdf(uid) => set_udf(ctx, uid),
        DattoApi::SetWarranty(uid) => set_warranty(ctx, uid),
        DattoApi::MoveDevice(uid, site) => match sim.write().move_device(uid, site) {
            Ok(()) => empty(sim.config.void_write_status),
            Err(_) => message(404, "Device and/or site not found."),
        },
        DattoApi::Job(uid) => {
            let data = sim.read();
            match data.jobs.get(uid) {
                Some(j) => ok(&render::job(j, job_done(sim, j), sim.config.iso_job_dates)),
                None => message(404, JOB_NOT_FOUND),
            }
        }
        DattoApi::JobComponents(uid) => {
            let data = sim.read();
            let Some(j) = data.jobs.get(uid) else {
                return message(404, JOB_NOT_FOUND);
            };
            let page = match PageCtx::new(ctx, &format!("job/{uid}/components"), sim.config.page_max, Vec::new()) {
                Ok(p) => p,
                Err(r) => return r.into(),
            };
            let all = match render::job_components(j) {
                Value::Array(a) => a,
                _ => Vec::new(),
            };
            page.respond("jobComponents", all.len(), |range| all[range].to_vec())
        }
        DattoApi::JobResults(uid, dev) | DattoApi::JobStd(uid, dev, _) => {
            let data = sim.read();
            let Some(j) = data.jobs.get(uid).filter(|j| j.device_uid == dev) else {
                return message(404, "Job or device was not found.");
            };
            let done = job_done(sim, j);
            match api {
                DattoApi::JobStd(_, _, stderr) => ok(&render::job_std(j, done, stderr)),
                _ => ok(&render::job_results(j, done, sim.config.iso_job_dates)),
            }
        }
        DattoApi::Unknown => message(404, "Not Found"),
    }
}

fn job_done(sim: &DattoState, j: &super::model::SimJob) -> bool {
    j.created_at.elapsed() >= sim.config.job_duration
}

fn normalise_mac(mac: &str) -> String {
    mac.chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_ascii_uppercase()
}

fn devices_by_mac<'d>(data: &'d DattoStore, mac: &str) -> impl Iterator<Item = &'d super::SimDevice> {
    let wanted = normalise_mac(mac);
    data.devices
        .iter()
        .filter(move |d| !wanted.is_empty() && d.mac_address.as_deref().is_some_and(|m| normalise_mac(m) == wanted))
}

fn request_rate(sim: &DattoState) -> Response {
    let snap = lock(&sim.limiter).snapshot(Instant::now());
    let account_uid = sim.read().account.uid.clone();
    let ops: serde_json::Map<String, Value> = snap
        .operations
        .iter()
        .map(|(op, limit, count)| (op.clone(), json!({"limit": limit, "count": count})))
        .collect();
    ok(&json!({
        "slidingTimeWindowSizeSeconds": snap.window_secs,
        "accountUid": account_uid,
        "accountCount": snap.read_count,
        "accountRateLimit": snap.read_limit,
        "accountCutOffRatio": snap.cutoff_ratio,
        "accountWriteRateLimit": snap.write_limit,
        "accountWriteCount": snap.write_count,
        "operationWriteStatus": ops,
    }))
}

// ----- paging -----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageDetails {
    count: usize,
    total_count: usize,
    prev_page_url: Option<String>,
    next_page_url: Option<String>,
}

/// `{"pageDetails": {...}, "<key>": [...]}`.
struct Page<T> {
    key: &'static str,
    details: PageDetails,
    items: Vec<T>,
}

impl<T: Serialize> Serialize for Page<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("pageDetails", &self.details)?;
        map.serialize_entry(self.key, &self.items)?;
        map.end()
    }
}

/// `page`/`max` of one list request, and what is needed to build the page URLs.
struct PageCtx {
    page: usize,
    max: usize,
    base: String,
    filters: String,
}

impl PageCtx {
    /// `path` is relative to `/api/v2/`; `filters` are the query filters to repeat in the URLs.
    fn new(ctx: &DattoCtx<'_>, path: &str, limit: usize, filters: Vec<(&str, &str)>) -> Result<PageCtx, Reject> {
        let invalid = || Reject {
            status: 400,
            message: PARAMS_INVALID,
        };
        let parse = |name: &str| -> Result<Option<i64>, Reject> {
            match ctx.query.get(name) {
                None | Some("") => Ok(None),
                Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| invalid()),
            }
        };
        let page = parse("page")?.unwrap_or(0);
        if page < 0 {
            return Err(invalid());
        }
        // Above the limit (and below 1) the value is clamped: an assumption.
        let max = parse("max")?.map_or(limit, |m| m.clamp(1, limit as i64) as usize);
        let filters = if ctx.sim.config.drop_filters_in_next_page_url {
            String::new()
        } else {
            filters
                .iter()
                .map(|(k, v)| format!("&{k}={}", percent_encode(v)))
                .collect()
        };
        Ok(PageCtx {
            page: page as usize,
            max,
            base: format!("{}/{}/api/v2/{path}", ctx.origin, ctx.platform),
            filters,
        })
    }

    fn url(&self, page: usize) -> String {
        format!("{}?max={}&page={page}{}", self.base, self.max, self.filters)
    }

    fn respond<T: Serialize>(
        &self,
        key: &'static str,
        total: usize,
        items: impl FnOnce(Range<usize>) -> Vec<T>,
    ) -> Response {
        let start = self.page.saturating_mul(self.max).min(total);
        let end = start.saturating_add(self.max).min(total);
        let items = items(start..end);
        let has_next = self.page.saturating_add(1).saturating_mul(self.max) < total;
        let details = PageDetails {
            count: items.len(),
            total_count: total,
            prev_page_url: (self.page > 0).then(|| self.url(self.page - 1)),
            next_page_url: has_next.then(|| self.url(self.page + 1)),
        };
        ok(&Page { key, details, items })
    }
}

fn sites(ctx: &DattoCtx<'_>) -> Response {
    let data = ctx.sim.read();
    let name = ctx.query.filter("siteName");
    let filters: Vec<(&str, &str)> = name.map(|n| ("siteName", n)).into_iter().collect();
    let page = match PageCtx::new(ctx, "account/sites", ctx.sim.config.page_max, filters) {
        Ok(p) => p,
        Err(r) => return r.into(),
    };
    match name {
        None => page.respond("sites", data.sites.len(), |r| {
            r.map(|i| render::site(&data, i)).collect()
        }),
        Some(n) => {
            let matching: Vec<usize> = (0..data.sites.len())
                .filter(|&i| contains_ci(&data.sites[i].name, n))
                .collect();
            page.respond("sites", matching.len(), |r| {
                matching[r].iter().map(|&i| render::site(&data, i)).collect()
            })
        }
    }
}

fn site_devices(ctx: &DattoCtx<'_>, uid: &str) -> Response {
    let data = ctx.sim.read();
    // No device filters exist in the simulator, so any filterId is unknown.
    let Some(site) = data.site_index(uid).filter(|_| ctx.query.get("filterId").is_none()) else {
        return message(404, "Site or filter not found.");
    };
    let page = match PageCtx::new(ctx, &format!("site/{uid}/devices"), ctx.sim.config.page_max, Vec::new()) {
        Ok(p) => p,
        Err(r) => return r.into(),
    };
    let list = data.site_device_indexes(site);
    let udf = ctx.sim.config.udf_count;
    page.respond("devices", list.len(), |r| {
        list[r]
            .iter()
            .map(|&i| render::device(&data, &data.devices[i as usize], udf))
            .collect()
    })
}

fn account_devices(ctx: &DattoCtx<'_>) -> Response {
    if ctx.query.get("filterId").is_some() {
        return message(404, "Filter was not found.");
    }
    let data = ctx.sim.read();
    let q = &ctx.query;
    let (hostname, device_type, os, site_name) = (
        q.filter("hostname"),
        q.filter("deviceType"),
        q.filter("operatingSystem"),
        q.filter("siteName"),
    );
    let filters: Vec<(&str, &str)> = [
        ("hostname", hostname),
        ("deviceType", device_type),
        ("operatingSystem", os),
        ("siteName", site_name),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let page = match PageCtx::new(ctx, "account/devices", ctx.sim.config.page_max, filters.clone()) {
        Ok(p) => p,
        Err(r) => return r.into(),
    };
    let udf = ctx.sim.config.udf_count;
    if filters.is_empty() {
        return page.respond("devices", data.devices.len(), |r| {
            data.devices[r].iter().map(|d| render::device(&data, d, udf)).collect()
        });
    }
    let site_ok: Vec<bool> = data
        .sites
        .iter()
        .map(|s| site_name.is_none_or(|n| contains_ci(&s.name, n)))
        .collect();
    let matching: Vec<usize> = data
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            hostname.is_none_or(|h| contains_ci(&d.hostname, h))
                && device_type.is_none_or(|t| {
                    d.category.as_deref().is_some_and(|c| contains_ci(c, t))
                        || d.device_type.as_deref().is_some_and(|c| contains_ci(c, t))
                })
                && os.is_none_or(|o| d.operating_system.as_deref().is_some_and(|x| contains_ci(x, o)))
                && (site_name.is_none() || data.site_index(&d.site_uid).is_some_and(|s| site_ok[s]))
        })
        .map(|(i, _)| i)
        .collect();
    page.respond("devices", matching.len(), |r| {
        matching[r]
            .iter()
            .map(|&i| render::device(&data, &data.devices[i], udf))
            .collect()
    })
}

fn audit(ctx: &DattoCtx<'_>, uid: &str, class: DeviceClass) -> Response {
    let data = ctx.sim.read();
    let Some(d) = data.device(uid) else {
        return message(
            404,
            if class == DeviceClass::Printer {
                "Printer was not found."
            } else {
                DEVICE_NOT_FOUND
            },
        );
    };
    if d.device_class != class {
        let what = match class {
            DeviceClass::EsxiHost => "ESXi host",
            DeviceClass::Printer => "printer",
            _ => "device",
        };
        return message(
            400,
            &format!("The device identified by the given device UID is not of class {what}."),
        );
    }
    ok(&match class {
        DeviceClass::EsxiHost => render::esxi_audit(&data, d),
        DeviceClass::Printer => render::printer_audit(&data, d),
        _ => render::device_audit(&data, d),
    })
}

/// `GET /v2/audit/device/{uid}/software`: paged like every list (`software`), only for class `device`.
fn software(ctx: &DattoCtx<'_>, uid: &str) -> Response {
    let data = ctx.sim.read();
    let Some(d) = data.device(uid) else {
        return message(404, DEVICE_NOT_FOUND);
    };
    if d.device_class != DeviceClass::Device {
        return message(
            400,
            "The device identified by the given device UID is not of class device.",
        );
    }
    let page = match PageCtx::new(
        ctx,
        &format!("audit/device/{uid}/software"),
        ctx.sim.config.page_max,
        Vec::new(),
    ) {
        Ok(p) => p,
        Err(r) => return r.into(),
    };
    let all = render::software(&data, d);
    page.respond("software", all.len(), |r| all[r].to_vec())
}

#[derive(Clone, Copy)]
enum AlertScope<'a> {
    Account,
    Site(&'a str),
    Device(&'a str),
}

fn alerts(ctx: &DattoCtx<'_>, scope: AlertScope<'_>, resolved: bool) -> Response {
    let data = ctx.sim.read();
    let state = if resolved { "resolved" } else { "open" };
    let (path, site) = match scope {
        AlertScope::Account => ("account/alerts".to_string(), None),
        AlertScope::Site(uid) => match data.site_index(uid) {
            Some(i) => (format!("site/{uid}/alerts"), Some(data.sites[i].uid.as_str())),
            None => return message(404, SITE_NOT_FOUND),
        },
        AlertScope::Device(uid) => match data.device(uid) {
            Some(_) => (format!("device/{uid}/alerts"), None),
            None => return message(404, DEVICE_NOT_FOUND),
        },
    };
    let muted = match ctx.query.get("muted") {
        None | Some("") => None,
        Some(v) if v.eq_ignore_ascii_case("true") => Some(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Some(false),
        Some(_) => return message(400, PARAMS_INVALID),
    };
    let muted_filter = muted.map(|m| if m { "true" } else { "false" });
    let filters: Vec<(&str, &str)> = muted_filter.map(|m| ("muted", m)).into_iter().collect();
    let limit = ctx.sim.config.alerts_page_max.unwrap_or(ctx.sim.config.page_max);
    let page = match PageCtx::new(ctx, &format!("{path}/{state}"), limit, filters) {
        Ok(p) => p,
        Err(r) => return r.into(),
    };
    let matching: Vec<usize> = data
        .alerts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.resolved == resolved && muted.is_none_or(|m| a.muted == m))
        .filter(|(_, a)| match scope {
            AlertScope::Account => true,
            AlertScope::Device(uid) => a.device_uid == uid,
            AlertScope::Site(_) => data
                .device(&a.device_uid)
                .is_some_and(|d| Some(d.site_uid.as_str()) == site),
        })
        .map(|(i, _)| i)
        .collect();
    page.respond("alerts", matching.len(), |r| {
        matching[r]
            .iter()
            .map(|&i| render::alert(&data, &data.alerts[i]))
            .collect()
    })
}

// ----- writes -----

fn body_json(ctx: &DattoCtx<'_>) -> Option<Value> {
    serde_json::from_slice(ctx.body).ok()
}

fn quick_job(ctx: &DattoCtx<'_>, uid: &str) -> Response {
    let sim = ctx.sim;
    let Some(body) = body_json(ctx) else {
        return message(400, DATA_INVALID);
    };
    let job_name = body
        .get("jobName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let component = body.get("jobComponent").filter(|c| c.is_object());
    let (Some(job_name), Some(component)) = (job_name, component) else {
        return message(400, DATA_INVALID);
    };
    let mut data = sim.write();
    let Some(comp_idx) = component
        .get("componentUid")
        .and_then(Value::as_str)
        .and_then(|c| data.components.iter().position(|x| x.uid == c))
    else {
        return message(400, DATA_INVALID);
    };
    let mut variables = Vec::new();
    match component.get("variables") {
        None | Some(Value::Null) => {}
        Some(Value::Array(vars)) => {
            for v in vars {
                let (Some(name), Some(value)) = (
                    v.get("name").and_then(Value::as_str),
                    v.get("value").and_then(Value::as_str),
                ) else {
                    return message(400, DATA_INVALID);
                };
                if !data.components[comp_idx].variables.iter().any(|cv| cv.name == name) {
                    return message(400, DATA_INVALID);
                }
                variables.push((name.to_string(), value.to_string()));
            }
        }
        Some(_) => return message(400, DATA_INVALID),
    }
    if data.device(uid).is_none() {
        return message(404, DEVICE_NOT_FOUND);
    }
    let job = data.create_job(uid, job_name, comp_idx, variables);
    let iso = sim.config.iso_job_dates;
    ok(&json!({ "job": render::job(job, false, iso), "jobComponents": render::job_components(job) }))
}

fn set_udf(ctx: &DattoCtx<'_>, uid: &str) -> Response {
    let sim = ctx.sim;
    let Some(Value::Object(fields)) = body_json(ctx) else {
        return message(400, DATA_INVALID);
    };
    let mut changes: Vec<(u16, Option<String>)> = Vec::new();
    for (k, v) in fields {
        let Some(n) = k
            .strip_prefix("udf")
            .and_then(|n| n.parse::<u16>().ok())
            .filter(|n| (1..=300).contains(n))
        else {
            return message(400, DATA_INVALID);
        };
        match v {
            Value::Null => changes.push((n, None)),
            Value::String(s) if s.is_empty() => changes.push((n, None)),
            Value::String(s) => changes.push((n, Some(s))),
            _ => return message(400, DATA_INVALID),
        }
    }
    // Supplied empty values clear the field; fields not supplied keep their value.
    let result = sim.write().change_device(uid, |d| {
        for (n, v) in changes {
            match v {
                Some(v) => d.udf.insert(n, v),
                None => d.udf.remove(n),
            };
        }
    });
    match result {
        Ok(()) => empty(sim.config.void_write_status),
        Err(_) => message(404, DEVICE_NOT_FOUND),
    }
}

fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u8>().unwrap_or(0))
}

fn set_warranty(ctx: &DattoCtx<'_>, uid: &str) -> Response {
    let sim = ctx.sim;
    let date = match body_json(ctx) {
        Some(Value::Null) => None,
        Some(Value::Object(m)) => match m.get("warrantyDate") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if valid_date(s) => Some(s.clone()),
            _ => return message(400, DATA_INVALID),
        },
        _ => return message(400, DATA_INVALID),
    };
    match sim.write().change_device(uid, |d| d.warranty_date = date) {
        Ok(()) => empty(sim.config.void_write_status),
        Err(_) => message(404, DEVICE_NOT_FOUND),
    }
}

// ----- admin -----

impl Admin for Arc<DattoState> {
    const HELP: &'static str = "Unknown admin endpoint. Try GET /_sim/info, GET /_sim/stats, POST /_sim/faults, POST /_sim/expire-tokens, POST /_sim/reset-limits.";

    fn gate(&self) -> &Gate {
        &self.gate
    }

    fn info(&self) -> Value {
        let cfg = &self.config;
        let data = self.read();
        let platform_url = format!("{}/{}", self.base_url, cfg.platform);
        json!({
            "simulator": "datto-rmm",
            "platform": cfg.platform,
            "apiKey": cfg.api_key,
            "restrictedApiKey": cfg.restricted_api_key.as_ref().map(|(k, _)| k),
            "baseUrl": self.base_url,
            "platformBaseUrl": platform_url,
            "tokenUrl": format!("{platform_url}/auth/oauth/token"),
            "apiUrl": format!("{platform_url}/api"),
            "seed": cfg.seed,
            "clientSites": cfg.sites,
            "sites": data.sites.len(),
            "devices": data.devices.len(),
            "openAlerts": data.alerts.iter().filter(|a| !a.resolved).count(),
            "pageMax": cfg.page_max,
            "readLimit": cfg.read_limit,
            "writeLimit": cfg.write_limit,
            "writeOpLimit": cfg.write_op_limit,
            "windowMs": cfg.window.as_millis() as u64,
            "tokenTtlSecs": cfg.token_ttl_secs,
            "latencyMs": cfg.latency.as_millis() as u64,
            "generationMs": self.generation_time.as_millis() as u64,
        })
    }

    fn stats(&self) -> Value {
        serde_json::to_value(&*lock(&self.stats)).unwrap_or(Value::Null)
    }

    fn reset_stats(&self) {
        *lock(&self.stats) = DattoStats::default();
    }

    fn reset_limits(&self) {
        lock(&self.limiter).reset();
    }

    fn error(&self, code: u16, msg: &str) -> Response {
        message(code, msg)
    }

    fn reply(&self, code: u16, body: &Value) -> Response {
        json_response(status(code), body)
    }

    fn product_route(&self, method: &Method, segs: &[&str], body: &Bytes) -> Option<Response> {
        let sim = self;
        Some(match (method.as_str(), segs) {
            ("POST", ["expire-tokens"]) => {
                let mut tokens = lock(&sim.tokens);
                let n = tokens.issued.len();
                tokens.issued.clear();
                ok(&json!({ "expired": n }))
            }
            // Benchmarks: `{"changeDevices": N}` renames N devices spread over the account.
            ("POST", ["mutate"]) => {
                let n = serde_json::from_slice::<Value>(body)
                    .ok()
                    .and_then(|v| v.get("changeDevices").and_then(Value::as_u64))
                    .unwrap_or(0) as usize;
                let mut data = sim.write();
                let total = data.devices.len();
                let n = n.min(total);
                let step = total.checked_div(n).unwrap_or(1);
                let uids: Vec<String> = (0..n).map(|i| data.devices[i * step].uid.clone()).collect();
                for uid in &uids {
                    let _ = data.change_device(uid, |d| d.hostname.push_str("-m"));
                }
                ok(&json!({ "changed": uids.len() }))
            }
            // Alerts on demand (the demo): `{"deviceUid", "priority", "monitor"}` raises one.
            ("POST", ["alerts"]) => {
                let v: Value = serde_json::from_slice(body).unwrap_or_default();
                let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
                let Some(device) = field("deviceUid") else {
                    return Some(message(400, "`deviceUid` is required"));
                };
                let priority = field("priority").unwrap_or_else(|| "High".into());
                let monitor = field("monitor").unwrap_or_else(|| "disk_usage_ctx".into());
                let raised = sim.write().raise_alert(&device, &priority, &monitor);
                match raised {
                    Ok(uid) => {
                        super::webhooks::emit(sim, &uid);
                        ok(&json!({ "alertUid": uid }))
                    }
                    Err(e @ DataError::UnknownPriority(_)) => message(400, &e.to_string()),
                    Err(e) => message(404, &e.to_string()),
                }
            }
            // As a person resolving it in Datto RMM: `POST /_sim/alerts/{uid}/resolve`.
            ("POST", ["alerts", uid, "resolve"]) => {
                let resolved = sim.write().resolve_alert(uid, "Datto RMM user");
                match resolved {
                    Ok(changed) => {
                        if changed {
                            super::webhooks::emit(sim, uid);
                        }
                        ok(&json!({ "alertUid": uid, "changed": changed }))
                    }
                    Err(e) => message(404, &e.to_string()),
                }
            }
            ("GET", ["alert-webhook"]) => ok(&*lock(&sim.webhook)),
            ("POST", ["alert-webhook"]) => {
                if admin::blank(body) {
                    *lock(&sim.webhook) = None;
                    return Some(ok(&json!({ "webhook": null })));
                }
                match serde_json::from_slice::<super::AlertWebhook>(body) {
                    Ok(hook) if hook.url.starts_with("http://") => {
                        *lock(&sim.webhook) = Some(hook.clone());
                        ok(&json!({ "webhook": hook }))
                    }
                    Ok(_) => message(
                        400,
                        "the webhook url must be http:// (the simulator calls out on loopback)",
                    ),
                    Err(e) => message(400, &format!("invalid webhook JSON: {e}")),
                }
            }
            ("GET", ["webhook-deliveries"]) => ok(&*lock(&sim.deliveries)),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_coding_round_trips() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("a+b%2", false), "a+b%2");
        assert_eq!(percent_decode("%", false), "%");
        assert_eq!(percent_encode("Harper & Sons, Inc."), "Harper%20%26%20Sons%2C%20Inc.");
        let s = "Ünïcode & 100%";
        assert_eq!(percent_decode(&percent_encode(s), false), s);
    }

    #[test]
    fn pairs_and_like() {
        let q = parse_pairs("grant_type=password&username=a%2Bb&password=p+q&flag");
        assert_eq!(q[1], ("username".into(), "a+b".into()));
        assert_eq!(q[2], ("password".into(), "p q".into()));
        assert_eq!(q[3], ("flag".into(), "".into()));
        assert!(contains_ci("DESKTOP-ABC", "desk"));
        assert!(!contains_ci("DESKTOP-ABC", "laptop"));
    }

    #[test]
    fn routes_parse() {
        assert_eq!(
            DattoApi::parse("GET", &["device", "id", "5"]),
            DattoApi::DeviceById("5")
        );
        assert_eq!(DattoApi::parse("GET", &["device", "abc"]), DattoApi::Device("abc"));
        assert_eq!(
            DattoApi::parse("PUT", &["device", "abc", "quickjob"]),
            DattoApi::QuickJob("abc")
        );
        assert_eq!(
            DattoApi::parse("GET", &["device", "abc", "quickjob"]),
            DattoApi::Unknown
        );
        assert_eq!(
            DattoApi::parse("GET", &["account", "alerts", "open"]),
            DattoApi::AccountAlerts(false)
        );
        assert_eq!(
            DattoApi::parse("GET", &["account", "alerts", "other"]),
            DattoApi::Unknown
        );
        assert_eq!(DattoApi::parse("GET", &["account", ""]), DattoApi::Unknown);
    }

    #[test]
    fn dates() {
        assert!(valid_date("2027-01-31"));
        assert!(!valid_date("2027-13-01"));
        assert!(!valid_date("27-01-31"));
    }
}
