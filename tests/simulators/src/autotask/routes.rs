//! HTTP front. One fallback handler parses the path and counts the request; an unknown path
//! answers 404 at once. Everything else goes through the shared request gate (`gate.rs`, with
//! [`AutotaskCall`] as Autotask's side of it): authentication (401/403; zone information needs
//! none) → the hourly threshold (429) → the thread slot of (integration code, entity endpoint)
//! (429) → usage-based latency → latency (configured or injected) → injected faults → the
//! endpoint. The thread slot is held until the answer is ready. The admin routes are
//! `admin.rs`'s and Autotask's own (tickets, callout).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::model::{self, COMPLETE, Entity, Row, SimTicket, ticket_picklist};
use super::query;
use super::{AutotaskState, AutotaskStats, CalloutConfig, lock};
use crate::admin::{self, Admin};
use crate::gate::{self, Access, Admission, Fault, FaultStage, Gate, Gated};
use crate::respond::{empty, json_response, status};
use crate::urlcode::{parse_pairs, percent_decode, percent_encode};

pub(crate) fn router(shared: Arc<AutotaskState>) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

// ----- responses -----

pub(super) fn ok(value: Value) -> Response {
    json_response(200, &value)
}

/// `{"errors":[msg]}` with `code`.
fn errors(code: u16, msg: &str) -> Response {
    json_response(code, &json!({ "errors": [msg] }))
}

pub(super) fn text(code: u16, msg: &str) -> Response {
    let mut r = Response::new(Body::from(msg.to_string()));
    *r.status_mut() = status(code);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

fn not_found() -> Response {
    json_response(
        404,
        &json!({"message": "No HTTP resource was found that matches the request URI."}),
    )
}

fn not_allowed(method: &Method) -> Response {
    json_response(
        405,
        &json!({"message": format!("The requested resource does not support http method '{method}'.")}),
    )
}

fn too_many(sim: &AutotaskState, msg: &str) -> Response {
    let mut r = errors(429, msg);
    if let Some(secs) = sim.config.retry_after_secs {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

pub(super) fn validation(sim: &AutotaskState, msg: &str) -> Response {
    sim.stat(|s| s.validation_500 += 1);
    errors(500, msg)
}

// ----- URL helpers -----

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    parse_pairs(uri.query()?)
        .into_iter()
        .find_map(|(k, v)| k.eq_ignore_ascii_case(name).then_some(v))
}

// ----- routing -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AutotaskApi {
    Zone,
    Version,
    Threshold,
    Query(Entity),
    Next(Entity),
    Count(Entity),
    Get(Entity, i64),
    Info(Entity),
    Fields(Entity),
    Udfs(Entity),
    CreateTicket,
    UpdateTicket,
    CreateNote(i64),
    CreateCi,
    UpdateCi,
    WebhookCreate,
    WebhookQuery,
    WebhookDelete(i64),
    WebhookFields(i64),
    /// A known path with a method it does not support.
    NotAllowed,
    Unknown,
}

impl AutotaskApi {
    fn parse(method: &Method, segs: &[&str]) -> AutotaskApi {
        let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
        let l: Vec<&str> = lower.iter().map(String::as_str).collect();
        let m = method.as_str();
        let (get, post) = (m == "GET", m == "POST");
        match l.as_slice() {
            ["zoneinformation"] => {
                return if get {
                    AutotaskApi::Zone
                } else {
                    AutotaskApi::NotAllowed
                };
            }
            ["version"] => {
                return if get {
                    AutotaskApi::Version
                } else {
                    AutotaskApi::NotAllowed
                };
            }
            ["thresholdinformation"] => {
                return if get {
                    AutotaskApi::Threshold
                } else {
                    AutotaskApi::NotAllowed
                };
            }
            _ => {}
        }
        if l.first() == Some(&"ticketwebhooks") {
            let id = |s: &str| s.parse::<i64>().ok();
            return match (&l[1..], m) {
                ([], "POST") => AutotaskApi::WebhookCreate,
                (["query"], "POST") => AutotaskApi::WebhookQuery,
                ([i], "DELETE") => id(i).map_or(AutotaskApi::Unknown, AutotaskApi::WebhookDelete),
                ([i, "fields"], "POST") => id(i).map_or(AutotaskApi::Unknown, AutotaskApi::WebhookFields),
                ([] | ["query"] | [_] | [_, "fields"], _) => AutotaskApi::NotAllowed,
                _ => AutotaskApi::Unknown,
            };
        }
        let Some(entity) = segs.first().and_then(|s| Entity::parse(s)) else {
            return AutotaskApi::Unknown;
        };
        let allow = |ok: bool, api: AutotaskApi| if ok { api } else { AutotaskApi::NotAllowed };
        match &l[1..] {
            ["query"] => allow(get || post, AutotaskApi::Query(entity)),
            ["query", "next"] => allow(get || post, AutotaskApi::Next(entity)),
            ["query", "count"] => allow(get || post, AutotaskApi::Count(entity)),
            ["entityinformation"] => allow(get, AutotaskApi::Info(entity)),
            ["entityinformation", "fields"] => allow(get, AutotaskApi::Fields(entity)),
            ["entityinformation", "userdefinedfields"] => allow(get, AutotaskApi::Udfs(entity)),
            [] if entity == Entity::Tickets => match m {
                "POST" => AutotaskApi::CreateTicket,
                "PATCH" => AutotaskApi::UpdateTicket,
                _ => AutotaskApi::NotAllowed,
            },
            [] if entity == Entity::ConfigurationItems => match m {
                "POST" => AutotaskApi::CreateCi,
                "PATCH" => AutotaskApi::UpdateCi,
                _ => AutotaskApi::NotAllowed,
            },
            // Notes are a child entity: no top-level create.
            [] if entity == Entity::TicketNotes => AutotaskApi::Unknown,
            [] => AutotaskApi::NotAllowed,
            [id, "notes"] if entity == Entity::Tickets => match id.parse() {
                Ok(id) if post => AutotaskApi::CreateNote(id),
                Ok(_) => AutotaskApi::NotAllowed,
                Err(_) => AutotaskApi::Unknown,
            },
            [id] => match id.parse() {
                Ok(id) => allow(get, AutotaskApi::Get(entity, id)),
                Err(_) => AutotaskApi::Unknown,
            },
            _ => AutotaskApi::Unknown,
        }
    }

    fn entity(&self) -> Option<Entity> {
        match self {
            AutotaskApi::Query(e)
            | AutotaskApi::Next(e)
            | AutotaskApi::Count(e)
            | AutotaskApi::Get(e, _)
            | AutotaskApi::Info(e)
            | AutotaskApi::Fields(e)
            | AutotaskApi::Udfs(e) => Some(*e),
            AutotaskApi::CreateTicket | AutotaskApi::UpdateTicket | AutotaskApi::CreateNote(_) => Some(Entity::Tickets),
            AutotaskApi::CreateCi | AutotaskApi::UpdateCi => Some(Entity::ConfigurationItems),
            _ => None,
        }
    }

    /// The thread-limit endpoint ("object endpoint") of the request.
    fn endpoint(&self) -> String {
        match self {
            AutotaskApi::Version => "Version".into(),
            AutotaskApi::Threshold => "ThresholdInformation".into(),
            AutotaskApi::WebhookCreate
            | AutotaskApi::WebhookQuery
            | AutotaskApi::WebhookDelete(_)
            | AutotaskApi::WebhookFields(_) => "TicketWebhooks".into(),
            _ => self.entity().map_or("other", Entity::name).to_string(),
        }
    }

    fn stat_key(&self) -> String {
        let e = |e: &Entity, op: &str| format!("{}.{op}", e.name());
        match self {
            AutotaskApi::Zone => "zoneInformation".into(),
            AutotaskApi::Version => "version".into(),
            AutotaskApi::Threshold => "thresholdInformation".into(),
            AutotaskApi::Query(x) => e(x, "query"),
            AutotaskApi::Next(x) => e(x, "next"),
            AutotaskApi::Count(x) => e(x, "count"),
            AutotaskApi::Get(x, _) => e(x, "get"),
            AutotaskApi::Info(x) | AutotaskApi::Udfs(x) => e(x, "info"),
            AutotaskApi::Fields(x) => e(x, "fields"),
            AutotaskApi::CreateTicket => "Tickets.create".into(),
            AutotaskApi::UpdateTicket => "Tickets.update".into(),
            AutotaskApi::CreateNote(_) => "Tickets.notes".into(),
            AutotaskApi::CreateCi => "ConfigurationItems.create".into(),
            AutotaskApi::UpdateCi => "ConfigurationItems.update".into(),
            AutotaskApi::WebhookCreate => "TicketWebhooks.create".into(),
            AutotaskApi::WebhookQuery => "TicketWebhooks.query".into(),
            AutotaskApi::WebhookDelete(_) => "TicketWebhooks.delete".into(),
            AutotaskApi::WebhookFields(_) => "TicketWebhooks.fields".into(),
            AutotaskApi::NotAllowed | AutotaskApi::Unknown => "other".into(),
        }
    }
}

/// Releases a thread slot when the request is done.
struct Slot<'a> {
    sim: &'a AutotaskState,
    key: (String, String),
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut threads = lock(&self.sim.threads);
        if let Some(n) = threads.get_mut(&self.key) {
            *n = n.saturating_sub(1);
        }
    }
}

async fn dispatch(
    State(sim): State<Arc<AutotaskState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let path = uri.path().to_string();
    let response = route(&sim, peer, &method, &uri, &headers, &body).await;
    tracing::debug!(method = %method, path = %path, status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64, "autotask sim request");
    response
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").trim()
}

/// One request to the Autotask simulator, as the gate sees it.
struct AutotaskCall<'a> {
    sim: &'a AutotaskState,
    api: AutotaskApi,
    method: &'a Method,
}

impl<'a> Gated for AutotaskCall<'a> {
    /// The integration code (thread slots are per code and endpoint).
    type Caller = String;
    type Permit = Slot<'a>;

    const FAULT_STAGE: FaultStage = FaultStage::AfterLimits;

    fn gate(&self) -> &Gate {
        &self.sim.gate
    }

    /// Zone discovery needs no credentials and is exempt from the limits.
    fn access(&self) -> Access {
        if self.api == AutotaskApi::Zone {
            Access::Open
        } else {
            Access::Api
        }
    }

    fn entity(&self) -> Option<&str> {
        self.api.entity().map(Entity::name)
    }

    /// Injected failures are plain text, as an IIS or gateway error would be.
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
            429 => too_many(sim, &thread_message(sim.config.thread_limit)),
            401 => empty(401),
            c => text(c, status(c).canonical_reason().unwrap_or("Error")),
        }
    }

    /// The three headers (names are case-insensitive in `HeaderMap`): any failure is a 401
    /// with an empty body; a user without API access gets 403; a method the endpoint does not
    /// serve is refused (405) right after, before it counts.
    fn authenticate(&self, headers: &HeaderMap) -> Result<String, Box<Response>> {
        let sim = self.sim;
        let (code, user, secret) = (
            header_str(headers, "apiintegrationcode"),
            header_str(headers, "username"),
            header_str(headers, "secret"),
        );
        let cfg = &sim.config;
        let code_ok = cfg.integration_codes.iter().any(|c| c == code);
        let restricted = cfg
            .restricted_user
            .as_ref()
            .is_some_and(|(u, s)| u.eq_ignore_ascii_case(user) && s == secret);
        let valid = user.eq_ignore_ascii_case(&cfg.username) && secret == cfg.secret;
        if !code_ok || !(valid || restricted) {
            sim.stat(|s| s.unauthorized_401 += 1);
            return Err(Box::new(empty(401)));
        }
        if restricted {
            sim.stat(|s| s.forbidden_403 += 1);
            return Err(Box::new(errors(
                403,
                "The logged in Resource does not have the adequate permissions to use the API.",
            )));
        }
        if self.api == AutotaskApi::NotAllowed {
            return Err(Box::new(not_allowed(self.method)));
        }
        Ok(code.to_string())
    }

    /// The hourly threshold of the database, then the thread slot of (integration code, entity
    /// endpoint); above half the threshold the answer is slowed down (usage-based latency).
    fn admit(&self, code: &String) -> Result<Admission<Slot<'a>>, Box<Response>> {
        let sim = self.sim;
        let cfg = &sim.config;
        let usage = lock(&sim.threshold).admit(Instant::now());
        let Ok(usage) = usage else {
            sim.stat(|s| {
                s.responses_429 += 1;
                s.threshold_limited += 1;
            });
            return Err(Box::new(too_many(
                sim,
                &format!(
                    "The request threshold of {} requests per {} minutes has been exceeded.",
                    cfg.hourly_limit,
                    cfg.threshold_window.as_secs() / 60
                ),
            )));
        };

        let endpoint = self.api.endpoint();
        let slot_key = (code.clone(), endpoint.clone());
        let in_flight = {
            let mut threads = lock(&sim.threads);
            let n = threads.entry(slot_key.clone()).or_default();
            if *n >= cfg.thread_limit {
                None
            } else {
                *n += 1;
                Some(*n)
            }
        };
        let Some(in_flight) = in_flight else {
            sim.stat(|s| {
                s.responses_429 += 1;
                s.thread_limited += 1;
            });
            return Err(Box::new(too_many(sim, &thread_message(cfg.thread_limit))));
        };
        let permit = Slot { sim, key: slot_key };
        sim.stat(|s| {
            let m = s.max_concurrent.entry(endpoint).or_default();
            *m = (*m).max(in_flight);
        });

        let slow_down = if !cfg.usage_latency {
            Duration::ZERO
        } else if usage >= 0.75 {
            Duration::from_millis(1000)
        } else if usage >= 0.5 {
            Duration::from_millis(500)
        } else {
            Duration::ZERO
        };
        if !slow_down.is_zero() {
            sim.stat(|s| s.slowed += 1);
        }
        Ok(Admission { permit, slow_down })
    }
}

async fn route(
    sim: &Arc<AutotaskState>,
    peer: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let path = uri.path();
    if admin::is_admin(path) {
        return admin::serve(sim, peer, method, path, body);
    }
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let api = match segs.as_slice() {
        [root, version, rest @ ..]
            if root.eq_ignore_ascii_case("atservicesrest") && version.eq_ignore_ascii_case("v1.0") =>
        {
            AutotaskApi::parse(method, rest)
        }
        _ => AutotaskApi::Unknown,
    };
    let key = api.stat_key();
    sim.stat(|s| {
        s.total_requests += 1;
        *s.by_route.entry(key).or_default() += 1;
    });
    let origin = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"))
        .unwrap_or_else(|| sim.base_url.clone());
    if api == AutotaskApi::Unknown {
        return not_found();
    }

    let call = AutotaskCall { sim, api, method };
    // The thread slot (in `_passed`) is held until the answer is ready.
    let _passed = match gate::pass(&call, path, headers).await {
        Ok(passed) => passed,
        Err(refused) => return *refused,
    };

    if api == AutotaskApi::Zone {
        let user = query_param(uri, "user").unwrap_or_default();
        let known = user.eq_ignore_ascii_case(&sim.config.username)
            || sim
                .config
                .restricted_user
                .as_ref()
                .is_some_and(|(u, _)| u.eq_ignore_ascii_case(&user));
        if !known {
            return errors(500, "Zone information could not be determined");
        }
        return ok(json!({
            "zoneName": sim.config.zone_name,
            "url": format!("{origin}/ATServicesRest/"),
            "webUrl": origin,
            "ci": 1,
        }));
    }

    let ctx = AutotaskCtx {
        sim,
        origin,
        method,
        uri,
        body,
    };
    let response = handle(&ctx, api);
    if response.status() == StatusCode::OK
        && let AutotaskApi::Query(e) | AutotaskApi::Next(e) = api
    {
        sim.stat(|s| *s.pages.entry(e.name().to_string()).or_default() += 1);
        sim.gate.page_served(e.name());
    }
    response
}

fn thread_message(limit: u32) -> String {
    format!("Thread Threshold Exceeded: The Autotask API thread threshold of {limit} threads has been exceeded.")
}

pub(super) struct AutotaskCtx<'a> {
    pub(super) sim: &'a Arc<AutotaskState>,
    origin: String,
    method: &'a Method,
    uri: &'a Uri,
    pub(super) body: &'a Bytes,
}

fn handle(ctx: &AutotaskCtx<'_>, api: AutotaskApi) -> Response {
    let sim = ctx.sim;
    match api {
        AutotaskApi::Version => {
            ok(json!({"majorVersion": 1, "minorVersion": 0, "build": "2026.1 (simulator)", "customerType": "Paid"}))
        }
        AutotaskApi::Threshold => {
            let used = lock(&sim.threshold).count(Instant::now());
            ok(json!({
                "externalRequestThreshold": sim.config.hourly_limit,
                "requestThresholdTimeframe": sim.config.threshold_window.as_secs() / 60,
                "currentTimeframeRequestCount": used,
            }))
        }
        AutotaskApi::Query(e) => run_query(ctx, e, None),
        AutotaskApi::Next(e) => {
            let Some(paging) = query_param(ctx.uri, "paging").and_then(|p| serde_json::from_str::<Value>(&p).ok())
            else {
                return validation(sim, "The paging parameter is missing or invalid.");
            };
            run_query(ctx, e, Some(paging))
        }
        AutotaskApi::Count(e) => match query_model(ctx, e, None) {
            Err(msg) => validation(sim, &msg),
            Ok(q) => {
                let data = sim.read();
                let n = data.rows(e).filter(|r| query::matches(&q.filter, r)).count();
                ok(json!({ "queryCount": n }))
            }
        },
        AutotaskApi::Get(e, id) => match sim.read().get(e, id) {
            Some(row) => ok(json!({ "item": row })),
            None if sim.config.missing_item_status == 200 => ok(json!({ "item": null })),
            None => errors(
                sim.config.missing_item_status,
                &format!("{} {id} was not found.", e.name()),
            ),
        },
        AutotaskApi::Info(e) => ok(json!({
            "name": e.name().trim_end_matches('s'),
            "canCreate": matches!(e, Entity::Tickets | Entity::Companies | Entity::ConfigurationItems),
            "canUpdate": e != Entity::TicketNotes,
            "canQuery": true,
            "canDelete": false,
            "hasUserDefinedFields": e.fields().contains(&"userDefinedFields"),
        })),
        AutotaskApi::Udfs(Entity::ConfigurationItems) => ok(json!({ "fields": super::items::udf_definitions() })),
        AutotaskApi::Udfs(_) => ok(json!({ "fields": [] })),
        AutotaskApi::Fields(e) => ok(json!({ "fields": fields(e) })),
        AutotaskApi::CreateTicket => create_ticket(ctx),
        AutotaskApi::UpdateTicket => update_ticket(ctx),
        AutotaskApi::CreateNote(id) => create_note(ctx, id),
        AutotaskApi::CreateCi => super::items::create(ctx),
        AutotaskApi::UpdateCi => super::items::update(ctx),
        AutotaskApi::WebhookCreate | AutotaskApi::WebhookQuery | AutotaskApi::WebhookFields(_) => {
            let body: Value = match serde_json::from_slice(ctx.body) {
                Ok(v) => v,
                Err(e) => return validation(sim, &format!("The body could not be parsed: {e}")),
            };
            match api {
                AutotaskApi::WebhookCreate => match super::webhooks::create(sim, &body) {
                    Ok(id) => ok(json!({ "itemId": id })),
                    Err(msg) => validation(sim, &msg),
                },
                AutotaskApi::WebhookFields(id) => match super::webhooks::add_field(sim, id, &body) {
                    Ok(id) => ok(json!({ "itemId": id })),
                    Err(msg) => validation(sim, &msg),
                },
                _ => ok(json!({
                    "items": super::webhooks::query(sim, &body),
                    "pageDetails": {"count": 0, "requestCount": 500, "prevPageUrl": null, "nextPageUrl": null},
                })),
            }
        }
        AutotaskApi::WebhookDelete(id) => {
            if super::webhooks::delete(sim, id) {
                ok(json!({ "itemId": id }))
            } else {
                errors(404, &format!("TicketWebhook {id} was not found."))
            }
        }
        AutotaskApi::Zone | AutotaskApi::NotAllowed | AutotaskApi::Unknown => not_found(),
    }
}

fn fields(e: Entity) -> Vec<Value> {
    e.fields()
        .iter()
        .filter(|f| **f != "userDefinedFields")
        .map(|f| {
            let picks = match e {
                Entity::Tickets => ticket_picklist(f),
                Entity::ConfigurationItems => model::ci_picklist(f),
                _ => None,
            };
            let required = (e == Entity::Tickets && matches!(*f, "companyID" | "title" | "status" | "priority"))
                || (e == Entity::ConfigurationItems && model::CI_REQUIRED.contains(f));
            let data_type = match *f {
                "id" => "long",
                x if x.ends_with("ID") || picks.is_some() => "integer",
                x if x.starts_with("is") => "boolean",
                x if x.ends_with("Date") || x.ends_with("DateTime") || x.ends_with("Time") => "datetime",
                _ => "string",
            };
            json!({
                "name": f,
                "dataType": data_type,
                "length": match (e, *f) {
                    (Entity::Tickets, "title") => 255,
                    (Entity::Tickets, "description") => 8000,
                    (Entity::ConfigurationItems, f) => model::CI_LENGTHS.iter().find(|(n, _)| *n == f).map_or(0, |(_, l)| *l),
                    _ => 0,
                },
                "isRequired": required,
                "isReadOnly": matches!(*f, "id" | "ticketNumber" | "createDate"),
                "isQueryable": true,
                "isReference": f.ends_with("ID") && *f != "rmmAlertID",
                "referenceEntityType": match *f { "companyID" => "Company", "configurationItemID" => "ConfigurationItem", _ => "" },
                "isPickList": picks.is_some(),
                "picklistValues": picks.map(|p| p.iter().enumerate().map(|(i, v)| json!({
                    "value": v.value.to_string(),
                    "label": v.label,
                    "isDefaultValue": (*f == "status" && v.value == 1) || (*f == "priority" && v.value == 2),
                    "sortOrder": i,
                    "parentValue": v.parent.map(|p| p.to_string()).unwrap_or_default(),
                    "isActive": true,
                    "isSystem": *f == "status" && matches!(v.value, 1 | 5),
                })).collect::<Vec<_>>()),
                "picklistParentValueField": if *f == "subIssueType" { "issueType" } else { "" },
                "isSupportedWebhookField": true,
            })
        })
        .collect()
}

/// The query body: the POST body, or the `search` parameter of a GET.
/// With `allow_get_next_after_post`, a POST query's paging token carries the query (`body`),
/// so that a GET on its `nextPageUrl` can be answered.
fn query_model(ctx: &AutotaskCtx<'_>, e: Entity, paging: Option<&Value>) -> Result<query::QueryModel, String> {
    let raw = if *ctx.method == Method::GET {
        let carried = paging
            .and_then(|p| p.get("body"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        query_param(ctx.uri, "search")
            .or(carried)
            .ok_or("The search parameter is required.")?
    } else {
        String::from_utf8_lossy(ctx.body).into_owned()
    };
    let value: Value = serde_json::from_str(&raw).map_err(|e| format!("The query could not be parsed: {e}"))?;
    query::parse(e, &value)
}

/// A page of a query: the first one (`paging` = None) or the one a paging token points at.
fn run_query(ctx: &AutotaskCtx<'_>, e: Entity, paging: Option<Value>) -> Response {
    let sim = ctx.sim;
    let cfg = &sim.config;
    let from_post = paging
        .as_ref()
        .is_some_and(|p| p.get("method").and_then(Value::as_str) == Some("POST"));
    if from_post && *ctx.method == Method::GET && !cfg.allow_get_next_after_post {
        return not_allowed(ctx.method);
    }
    let q = match query_model(ctx, e, paging.as_ref()) {
        Ok(q) => q,
        Err(msg) => return validation(sim, &msg),
    };
    let page_size = match &paging {
        Some(p) => p.get("pageSize").and_then(Value::as_u64).unwrap_or(cfg.page_max as u64) as usize,
        None => q
            .max_records
            .map_or(cfg.page_max, |m| m.clamp(1, cfg.page_max as i64) as usize),
    }
    .clamp(1, cfg.page_max);
    if let Some(p) = &paging
        && cfg.check_next_page_body
        && p.get("query").and_then(Value::as_u64) != Some(q.fingerprint)
    {
        return validation(sim, "The paging token does not belong to this query.");
    }
    let after = paging.as_ref().and_then(|p| p.get("afterId")).and_then(Value::as_i64);
    let before = paging.as_ref().and_then(|p| p.get("beforeId")).and_then(Value::as_i64);

    let data = sim.read();
    // Walk the id-ordered table from the cursor and stop one match past the page: a page costs
    // what it returns, not the table size.
    let rows = &data.table(e).rows;
    let keep = |r: &&Row| query::matches(&q.filter, r);
    let id = |r: &Row| r.get("id").and_then(Value::as_i64).unwrap_or(0);
    let (page, more, has_prev): (Vec<&Row>, bool, bool) = match (after, before) {
        (_, Some(b)) => {
            let mut back: Vec<&Row> = rows
                .range(..b)
                .rev()
                .map(|(_, r)| r)
                .filter(keep)
                .take(page_size + 1)
                .collect();
            let has_prev = back.len() > page_size;
            back.truncate(page_size);
            back.reverse();
            (back, true, has_prev)
        }
        (a, None) => {
            let start = a.map_or(i64::MIN, |a| a.saturating_add(1));
            let mut fwd: Vec<&Row> = rows
                .range(start..)
                .map(|(_, r)| r)
                .filter(keep)
                .take(page_size + 1)
                .collect();
            let extra = fwd.len() > page_size;
            fwd.truncate(page_size);
            (fwd, extra, a.is_some())
        }
    };
    let more = more || (cfg.next_url_on_full_last_page && page.len() == page_size);
    let method = if *ctx.method == Method::GET { "GET" } else { "POST" };
    let search = (method == "GET")
        .then(|| query_param(ctx.uri, "search"))
        .flatten()
        .map(|s| format!("&search={}", percent_encode(&s)))
        .unwrap_or_default();
    let carried = if method == "POST" {
        cfg.allow_get_next_after_post
            .then(|| String::from_utf8_lossy(ctx.body).into_owned())
    } else {
        paging
            .as_ref()
            .and_then(|p| p.get("body"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let url = |mut token: Value| {
        if let Some(body) = &carried {
            token["body"] = json!(body);
        }
        format!(
            "{}/ATServicesRest/V1.0/{}/query/next?paging={}{search}",
            ctx.origin,
            e.name(),
            percent_encode(&token.to_string())
        )
    };
    let next = more.then(|| {
        url(
            json!({"pageSize": page_size, "afterId": page.last().map(|r| id(r)).or(after).unwrap_or(0),
                   "query": q.fingerprint, "method": method}),
        )
    });
    let prev = has_prev.then(|| {
        url(
            json!({"pageSize": page_size, "beforeId": page.first().map(|r| id(r)).unwrap_or(i64::MAX),
                   "query": q.fingerprint, "method": method}),
        )
    });
    let items: Vec<Value> = page
        .iter()
        .map(|r| match &q.include_fields {
            None => Value::Object((*r).clone()),
            Some(fields) => {
                let mut m = Map::new();
                for f in fields {
                    m.insert((*f).to_string(), r.get(*f).cloned().unwrap_or(Value::Null));
                }
                Value::Object(m)
            }
        })
        .collect();
    ok(json!({
        "items": items,
        "pageDetails": {"count": items.len(), "requestCount": page_size, "prevPageUrl": prev, "nextPageUrl": next},
    }))
}

/// The JSON object body with keys mapped to the entity's wire names (unknown keys dropped).
pub(super) fn body_fields(ctx: &AutotaskCtx<'_>, e: Entity) -> Result<Map<String, Value>, String> {
    let v: Value =
        serde_json::from_slice(ctx.body).map_err(|err| format!("The request body could not be parsed: {err}"))?;
    let m = v.as_object().ok_or("The request body must be a JSON object.")?;
    let mut out = Map::new();
    for (k, v) in m {
        if let Some(f) = e.field(k) {
            out.insert(f.to_string(), v.clone());
        }
    }
    Ok(out)
}

pub(super) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Validates ticket fields present in `m` (for create and update).
fn check_ticket(sim: &AutotaskState, m: &mut Map<String, Value>, create: bool) -> Result<(), String> {
    if create {
        let mut required = vec!["companyID", "title", "status", "priority"];
        if sim.config.require_queue {
            required.push("queueID");
        }
        for f in required {
            if m.get(f).is_none_or(|v| v.is_null() || v.as_str() == Some("")) {
                return Err(format!("Missing Required Field: {f}"));
            }
        }
    }
    for f in [
        "status",
        "priority",
        "queueID",
        "issueType",
        "subIssueType",
        "source",
        "ticketType",
    ] {
        let Some(v) = m.get(f).filter(|v| !v.is_null()) else {
            continue;
        };
        let n = int(Some(v)).ok_or_else(|| format!("Value for field {f} is not an integer."))?;
        let picks = ticket_picklist(f).unwrap_or(&[]);
        if !picks.iter().any(|p| p.value == n) {
            return Err(format!("Value {n} does not exist in the picklist for field {f}."));
        }
        m.insert(f.into(), json!(n));
    }
    for f in [
        "companyID",
        "configurationItemID",
        "billingCodeID",
        "assignedResourceID",
        "assignedResourceRoleID",
        "contactID",
    ] {
        if let Some(v) = m.get(f).filter(|v| !v.is_null()) {
            let n = int(Some(v)).ok_or_else(|| format!("Value for field {f} is not an integer."))?;
            m.insert(f.into(), json!(n));
        }
    }
    let data = sim.read();
    if let Some(c) = int(m.get("companyID"))
        && data.get(Entity::Companies, c).is_none()
    {
        return Err(format!(
            "Reference value on field: companyID of type: Company does not exist or is invalid ({c})."
        ));
    }
    if let Some(c) = int(m.get("configurationItemID"))
        && data.get(Entity::ConfigurationItems, c).is_none()
    {
        return Err(format!(
            "Reference value on field: configurationItemID of type: ConfigurationItem does not exist or is invalid ({c})."
        ));
    }
    // A ticket's work type is a billing code of the work-type use.
    if let Some(c) = int(m.get("billingCodeID"))
        && data
            .get(Entity::BillingCodes, c)
            .is_none_or(|b| b.get("useType").and_then(Value::as_i64) != Some(1))
    {
        return Err(format!(
            "Reference value on field: billingCodeID of type: BillingCode does not exist or is invalid ({c})."
        ));
    }
    if m.get("assignedResourceID").is_some_and(|v| !v.is_null())
        && m.get("assignedResourceRoleID").is_none_or(Value::is_null)
    {
        return Err(
            "When assigning a Resource, you must assign both a assignedResourceID and assignedResourceRoleID.".into(),
        );
    }
    for (f, max) in [("title", 255), ("description", 8000), ("resolution", 32000)] {
        if m.get(f)
            .and_then(Value::as_str)
            .is_some_and(|s| s.chars().count() > max)
        {
            return Err(format!("String value exceeds maximum length (field:{f})."));
        }
    }
    Ok(())
}

/// Sets the status and what goes with Complete.
pub(crate) fn apply_status(row: &mut Row, status: i64, now_ms: i64) {
    let now = model::iso(now_ms);
    row.insert("status".into(), json!(status));
    row.insert(
        "completedDate".into(),
        if status == COMPLETE { json!(now) } else { Value::Null },
    );
    row.insert("lastTrackedModificationDateTime".into(), json!(now));
    row.insert("lastActivityDate".into(), json!(now));
}

fn create_ticket(ctx: &AutotaskCtx<'_>) -> Response {
    let sim = ctx.sim;
    let mut m = match body_fields(ctx, Entity::Tickets) {
        Ok(m) => m,
        Err(msg) => return validation(sim, &msg),
    };
    m.remove("id");
    if let Err(msg) = check_ticket(sim, &mut m, true) {
        return validation(sim, &format!("{msg} | Error creating entity for record number [1]."));
    }
    let now = model::now_ms();
    let id = {
        let mut data = sim.write();
        let number = data.next_ticket_number(now);
        m.insert("ticketNumber".into(), json!(number));
        m.insert("createDate".into(), json!(model::iso(now)));
        let status = int(m.get("status")).unwrap_or(1);
        let mut row = Value::Object(m);
        let id = data.insert(Entity::Tickets, row.take());
        if let Some(r) = data.get_mut(Entity::Tickets, id) {
            apply_status(r, status, now);
        }
        id
    };
    sim.ticket_status_changed(id, 0);
    ok(json!({ "itemId": id }))
}

fn update_ticket(ctx: &AutotaskCtx<'_>) -> Response {
    let sim = ctx.sim;
    let mut m = match body_fields(ctx, Entity::Tickets) {
        Ok(m) => m,
        Err(msg) => return validation(sim, &msg),
    };
    let Some(id) = int(m.remove("id").as_ref()) else {
        return validation(sim, "The id field is required for an update.");
    };
    for f in ["ticketNumber", "createDate", "completedDate"] {
        m.remove(f);
    }
    if let Err(msg) = check_ticket(sim, &mut m, false) {
        return validation(sim, &format!("{msg} | Error updating entity for record number [1]."));
    }
    let previous = {
        let mut data = sim.write();
        let Some(row) = data.get_mut(Entity::Tickets, id) else {
            return validation(sim, &format!("Tickets {id} does not exist or is invalid."));
        };
        let previous = int(row.get("status")).unwrap_or(0);
        let status = int(m.get("status"));
        for (k, v) in m {
            if k != "status" {
                row.insert(k, v);
            }
        }
        let now = model::now_ms();
        apply_status(row, status.unwrap_or(previous), now);
        if status.is_none() || status == Some(previous) {
            // Untouched status keeps its completion date.
            if previous == COMPLETE {
                row.insert(
                    "completedDate".into(),
                    row.get("lastActivityDate").cloned().unwrap_or(Value::Null),
                );
            }
        }
        previous
    };
    sim.ticket_status_changed(id, previous);
    ok(json!({ "itemId": id }))
}

fn create_note(ctx: &AutotaskCtx<'_>, ticket_id: i64) -> Response {
    let sim = ctx.sim;
    let mut m = match body_fields(ctx, Entity::TicketNotes) {
        Ok(m) => m,
        Err(msg) => return validation(sim, &msg),
    };
    m.remove("id");
    if sim.read().get(Entity::Tickets, ticket_id).is_none() {
        return validation(
            sim,
            &format!("Reference value on field: ticketID of type: Ticket does not exist or is invalid ({ticket_id})."),
        );
    }
    if let Some(t) = int(m.get("ticketID"))
        && t != ticket_id
    {
        return validation(sim, "The ticketID in the body does not match the parent ticket.");
    }
    for f in ["description", "noteType", "publish"] {
        if m.get(f).is_none_or(|v| v.is_null() || v.as_str() == Some("")) {
            return validation(
                sim,
                &format!("Missing Required Field: {f} | Error creating entity for record number [1]."),
            );
        }
    }
    for (f, max) in [("title", 250), ("description", 32000)] {
        if m.get(f)
            .and_then(Value::as_str)
            .is_some_and(|s| s.chars().count() > max)
        {
            return validation(sim, &format!("String value exceeds maximum length (field:{f})."));
        }
    }
    m.insert("ticketID".into(), json!(ticket_id));
    let now = model::iso(model::now_ms());
    m.insert("createDateTime".into(), json!(now));
    m.insert("lastActivityDate".into(), json!(now));
    let id = sim.write().insert(Entity::TicketNotes, Value::Object(m));
    let lose = sim
        .lost_note_answers
        .fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |n| n.checked_sub(1),
        )
        .is_ok();
    if lose {
        return text(500, "Service Unavailable");
    }
    ok(json!({ "itemId": id }))
}

// ----- admin -----

impl Admin for Arc<AutotaskState> {
    const HELP: &'static str = "Unknown admin endpoint. Try GET /_sim/info, GET /_sim/stats, POST /_sim/faults, POST /_sim/reset-limits, POST /_sim/tickets/{id}/complete, POST /_sim/callout.";

    fn gate(&self) -> &Gate {
        &self.gate
    }

    fn info(&self) -> Value {
        let cfg = &self.config;
        let data = self.read();
        let counts: Map<String, Value> = Entity::ALL
            .iter()
            .map(|e| (e.name().to_string(), json!(data.table(*e).rows.len())))
            .collect();
        json!({
            "simulator": "autotask",
            "username": cfg.username,
            "integrationCodes": cfg.integration_codes,
            "zoneName": cfg.zone_name,
            "baseUrl": self.base_url,
            "zoneInformationUrl": format!("{}/atservicesrest/v1.0/zoneInformation", self.base_url),
            "restRoot": format!("{}/ATServicesRest/", self.base_url),
            "seed": cfg.seed,
            "counts": counts,
            "pageMax": cfg.page_max,
            "hourlyLimit": cfg.hourly_limit,
            "threadLimit": cfg.thread_limit,
            "latencyMs": cfg.latency.as_millis() as u64,
            "generationMs": self.generation_time.as_millis() as u64,
        })
    }

    fn stats(&self) -> Value {
        serde_json::to_value(&*lock(&self.stats)).unwrap_or(Value::Null)
    }

    fn reset_stats(&self) {
        *lock(&self.stats) = AutotaskStats::default();
    }

    fn reset_limits(&self) {
        lock(&self.threshold).times.clear();
    }

    fn error(&self, code: u16, msg: &str) -> Response {
        errors(code, msg)
    }

    fn product_route(&self, method: &Method, segs: &[&str], body: &Bytes) -> Option<Response> {
        let sim = self;
        Some(match (method.as_str(), segs) {
            ("POST", ["tickets", id, "complete"]) => {
                let Ok(id) = id.parse::<i64>() else {
                    return Some(errors(400, "ticket id must be an integer"));
                };
                let previous = {
                    let mut data = sim.write();
                    let Some(row) = data.get_mut(Entity::Tickets, id) else {
                        return Some(errors(404, "no such ticket"));
                    };
                    let previous = int(row.get("status")).unwrap_or(0);
                    apply_status(row, COMPLETE, model::now_ms());
                    previous
                };
                sim.ticket_status_changed(id, previous);
                let ticket = sim.read().get(Entity::Tickets, id).map(SimTicket::from_row);
                ok(json!({"id": id, "status": ticket.map(|t| t.status)}))
            }
            ("GET", ["callout"]) => {
                let c = lock(&sim.callout).clone();
                // Never echo the password.
                ok(c.map_or(Value::Null, |c| {
                    json!({"url": c.url, "format": c.format, "username": c.username, "udfFilter": c.udf_filter,
                           "retries": c.retries, "retryDelayMs": c.retry_delay_ms, "timeoutMs": c.timeout_ms})
                }))
            }
            ("POST", ["callout"]) => {
                if admin::blank(body) {
                    *lock(&sim.callout) = None;
                    return Some(ok(json!({"ok": true, "callout": null})));
                }
                match serde_json::from_slice::<CalloutConfig>(body) {
                    Ok(c) if c.url.starts_with("http://") => {
                        *lock(&sim.callout) = Some(c);
                        ok(json!({"ok": true}))
                    }
                    Ok(_) => errors(400, "url must be an http:// URL"),
                    Err(e) => errors(400, &format!("invalid callout JSON: {e}")),
                }
            }
            ("GET", ["callout", "deliveries"]) => {
                ok(serde_json::to_value(&*lock(&sim.deliveries)).unwrap_or(Value::Null))
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_case_insensitively() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(
            AutotaskApi::parse(&post, &["companies", "QUERY"]),
            AutotaskApi::Query(Entity::Companies)
        );
        assert_eq!(
            AutotaskApi::parse(&get, &["Tickets", "12"]),
            AutotaskApi::Get(Entity::Tickets, 12)
        );
        assert_eq!(
            AutotaskApi::parse(&post, &["Tickets", "12", "Notes"]),
            AutotaskApi::CreateNote(12)
        );
        assert_eq!(AutotaskApi::parse(&post, &["TicketNotes"]), AutotaskApi::Unknown);
        assert_eq!(
            AutotaskApi::parse(&Method::PATCH, &["tickets"]),
            AutotaskApi::UpdateTicket
        );
        assert_eq!(
            AutotaskApi::parse(&Method::DELETE, &["tickets"]),
            AutotaskApi::NotAllowed
        );
        assert_eq!(AutotaskApi::parse(&get, &["version"]), AutotaskApi::Version);
        assert_eq!(AutotaskApi::parse(&get, &["Nope", "query"]), AutotaskApi::Unknown);
        assert_eq!(percent_decode(&percent_encode("{\"a\": 1}&"), false), "{\"a\": 1}&");
    }
}
