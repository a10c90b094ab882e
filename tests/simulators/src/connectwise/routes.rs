//! HTTP front. Every request is counted, then goes through the shared request gate (`gate.rs`,
//! with [`ConnectWiseCall`] as ConnectWise's side of it): latency → faults → (REST) auth and
//! clientId → rate limit, then the endpoint answers. `/login/companyinfo` and the callback key
//! URL need no auth; the admin routes under `/_sim/` (`admin.rs`'s and the ticket close) answer
//! loopback peers only and are not counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::conditions;
use super::model::{RecordTable, iso, now_ms};
use super::{Actor, CallbackAction, ConnectWiseState, ConnectWiseStats, close_ticket, lock};
use crate::admin::{self, Admin};
use crate::gate::{self, Access, Admission, Fault, FaultStage, Gate, Gated};
use crate::respond::json_response;
use crate::urlcode;

pub(crate) fn router(shared: Arc<ConnectWiseState>) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

fn error(code: u16, cw_code: &str, message: &str) -> Response {
    json_response(code, &json!({"code": cw_code, "message": message}))
}

fn invalid(resource: &str, errors: Vec<Value>) -> Response {
    json_response(
        400,
        &json!({"code": "InvalidObject", "message": format!("{resource} object is invalid"), "errors": errors}),
    )
}

fn not_found(what: &str, id: impl std::fmt::Display) -> Response {
    error(404, "NotFound", &format!("{what} {id} not found"))
}

fn no_endpoint() -> Response {
    error(404, "ConnectWiseApi", "The endpoint does not exist.")
}

fn empty(code: u16) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::NO_CONTENT);
    r
}

fn too_many(secs: u64) -> Response {
    let mut r = json_response(
        429,
        &json!({"error": "ConnectWiseAPI", "message": format!("Too many requests. Please try again in {secs} seconds.")}),
    );
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

fn percent_decode(s: &str) -> String {
    urlcode::percent_decode(s, true)
}

/// Keeps `/` readable (conditions and paths in `pageId` links).
fn percent_encode(s: &str) -> String {
    urlcode::percent_encode_keeping_slash(s)
}

struct ConnectWiseQuery(Vec<(String, String)>);

impl ConnectWiseQuery {
    fn parse(q: Option<&str>) -> ConnectWiseQuery {
        ConnectWiseQuery(urlcode::parse_pairs(q.unwrap_or("")))
    }

    /// Parameter names are case-insensitive.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The query with `name` replaced by `value`, encoded.
    fn with(&self, name: &str, value: &str) -> String {
        let mut pairs: Vec<(String, String)> = self
            .0
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
            .cloned()
            .collect();
        pairs.push((name.to_string(), value.to_string()));
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

struct ConnectWiseCtx<'a> {
    sim: &'a Arc<ConnectWiseState>,
    method: &'a Method,
    /// Path below the REST root, e.g. `/company/companies`.
    path: String,
    query: ConnectWiseQuery,
    headers: &'a HeaderMap,
    body: &'a Bytes,
    actor: Actor,
}

impl ConnectWiseCtx<'_> {
    fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(self.body).ok()
    }
}

/// What a request is for, from its path alone.
enum ConnectWiseTarget {
    /// `/login/companyinfo/{companyId}` (no auth).
    CompanyInfo(String),
    /// `/{codebase}apis/3.0/...`: the path below the REST root, without a trailing `/`.
    Rest(String),
    /// Anything else.
    NoEndpoint,
}

impl ConnectWiseTarget {
    fn parse(path: &str) -> ConnectWiseTarget {
        let segments: Vec<&str> = path.trim_start_matches('/').splitn(4, '/').collect();
        if segments.len() == 3 && segments[0] == "login" && segments[1].eq_ignore_ascii_case("companyinfo") {
            return ConnectWiseTarget::CompanyInfo(percent_decode(segments[2]));
        }
        let rest = match segments.as_slice() {
            [_codebase, apis, ver, rest] if apis.eq_ignore_ascii_case("apis") && *ver == "3.0" => format!("/{rest}"),
            [_codebase, apis, ver] if apis.eq_ignore_ascii_case("apis") && *ver == "3.0" => "/".to_string(),
            _ => return ConnectWiseTarget::NoEndpoint,
        };
        ConnectWiseTarget::Rest(rest.trim_end_matches('/').to_string())
    }

    /// The callback key URL needs no auth (its own `clientId` switch aside).
    fn is_callback_key(&self) -> bool {
        matches!(self, ConnectWiseTarget::Rest(rest)
            if rest.eq_ignore_ascii_case("/system/callbackkey")
                || rest.eq_ignore_ascii_case("/system/callbackkey/index.rails"))
    }
}

/// One request to the ConnectWise simulator, as the gate sees it.
struct ConnectWiseCall<'a> {
    sim: &'a ConnectWiseState,
    target: &'a ConnectWiseTarget,
}

impl Gated for ConnectWiseCall<'_> {
    type Caller = Actor;
    type Permit = ();

    const FAULT_STAGE: FaultStage = FaultStage::BeforeAuth;

    fn gate(&self) -> &Gate {
        &self.sim.gate
    }

    fn access(&self) -> Access {
        match self.target {
            ConnectWiseTarget::Rest(_) if !self.target.is_callback_key() => Access::Api,
            _ => Access::Open,
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::Status(status) => {
                self.sim.stat(|s| s.faults_injected += 1);
                error(status, "SimulatedFault", "Injected fault")
            }
            Fault::TooMany { retry_after_secs } => {
                self.sim.stat(|s| {
                    s.faults_injected += 1;
                    s.rate_limited_429 += 1;
                });
                too_many(retry_after_secs)
            }
        }
    }

    fn authenticate(&self, headers: &HeaderMap) -> Result<Actor, Box<Response>> {
        authenticate(self.sim, headers)
    }

    fn admit(&self, _caller: &Actor) -> Result<Admission<()>, Box<Response>> {
        match rate_limit(self.sim) {
            Some(refused) => Err(Box::new(refused)),
            None => Ok(Admission {
                permit: (),
                slow_down: Duration::ZERO,
            }),
        }
    }
}

async fn dispatch(
    State(sim): State<Arc<ConnectWiseState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    if admin::is_admin(&path) {
        return admin::serve(&sim, peer, &method, &path, &body);
    }
    let route = route_name(&path);
    sim.stat(|s| {
        s.total_requests += 1;
        *s.by_route.entry(route.to_string()).or_default() += 1;
    });

    let target = ConnectWiseTarget::parse(&path);
    let call = ConnectWiseCall {
        sim: &sim,
        target: &target,
    };
    let actor = match gate::pass(&call, &path, &headers).await {
        Ok(passed) => passed.caller,
        Err(refused) => return *refused,
    };

    let query = ConnectWiseQuery::parse(uri.query());
    let rest = match target {
        ConnectWiseTarget::CompanyInfo(company) => {
            if method != Method::GET {
                return error(405, "ConnectWiseApi", "Method not allowed");
            }
            return company_info(&sim, &company);
        }
        ConnectWiseTarget::NoEndpoint => return no_endpoint(),
        ConnectWiseTarget::Rest(_) if target.is_callback_key() => {
            if sim.config.key_url_requires_client_id && client_id(&headers).is_none() {
                return error(401, "ConnectWiseApi", "ClientId is required");
            }
            let id = query.get("id").unwrap_or("");
            return match sim.data().signing_keys.get(id) {
                Some(k) => json_response(200, &json!({"signing_key": k})),
                None => not_found("Callback key", id),
            };
        }
        ConnectWiseTarget::Rest(rest) => rest,
    };
    let ctx = ConnectWiseCtx {
        sim: &sim,
        method: &method,
        path: rest,
        query,
        headers: &headers,
        body: &body,
        actor: actor.unwrap_or(Actor::ApiMember),
    };
    handle(&ctx)
}

fn route_name(path: &str) -> &'static str {
    let p = path.to_ascii_lowercase();
    let after = p.split("/apis/3.0").nth(1).unwrap_or("");
    let segs: Vec<&str> = after.trim_matches('/').split('/').collect();
    if p.starts_with("/login/companyinfo") {
        return "companyinfo";
    }
    match segs.as_slice() {
        ["system", "info"] => "system_info",
        ["company", "companies", "count"] => "companies_count",
        ["company", "companies", _, "sites"] => "company_sites",
        ["company", "companies", ..] => "companies",
        ["company", "contacts", ..] => "contacts",
        ["company", "configurations", "types"] => "configuration_types",
        ["company", "configurations", ..] => "configurations",
        ["system", "members", ..] => "members",
        ["service", "boards", _, "statuses"] => "board_statuses",
        ["service", "boards", ..] => "boards",
        ["service", "priorities", ..] => "priorities",
        ["service", "sources", ..] => "sources",
        ["service", "tickets"] | ["service", "tickets", "search"] => "tickets",
        ["service", "tickets", _, "notes", ..] => "ticket_notes",
        ["service", "tickets", _, "configurations", ..] => "ticket_configurations",
        ["service", "tickets", ..] => "ticket",
        ["system", "callbacks", ..] => "callbacks",
        ["system", "callbackkey", ..] => "callback_key",
        _ => "other",
    }
}

fn company_info(sim: &ConnectWiseState, company: &str) -> Response {
    let c = &sim.config;
    if !company.eq_ignore_ascii_case(&c.company_id) {
        return if c.unknown_company_status == 200 {
            json_response(200, &Value::Null)
        } else {
            error(c.unknown_company_status, "NotFound", "Company not found")
        };
    }
    let version = c.codebase.trim_end_matches('/').replace('_', ".");
    json_response(
        200,
        &json!({
            "CompanyName": c.company_id, "Codebase": c.codebase, "VersionCode": version,
            "VersionNumber": format!("{version}.12345"), "CompanyID": c.company_id, "IsCloud": "True",
            "SiteURL": sim.base_url.trim_start_matches("http://"),
        }),
    )
}

fn client_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("clientid")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
}

fn authenticate(sim: &ConnectWiseState, headers: &HeaderMap) -> Result<Actor, Box<Response>> {
    let c = &sim.config;
    let unauthorized = || {
        sim.stat(|s| s.unauthorized_401 += 1);
        Box::new(error(401, "ConnectWiseApi", "UserNotAuthenticated"))
    };
    let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
    else {
        return Err(unauthorized());
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let Some((user, private)) = decoded.split_once(':') else {
        return Err(unauthorized());
    };
    let Some((company, public)) = user.split_once('+') else {
        return Err(unauthorized());
    };
    if !company.eq_ignore_ascii_case(&c.company_id) {
        return Err(unauthorized());
    }
    let restricted = c
        .restricted_keys
        .as_ref()
        .is_some_and(|(p, k)| p == public && k == private);
    if !(restricted || (public == c.public_key && private == c.private_key)) {
        return Err(unauthorized());
    }
    if c.missing_client_id_status != 0 {
        match client_id(headers) {
            None => {
                return Err(Box::new(error(
                    c.missing_client_id_status,
                    "ConnectWiseApi",
                    "ClientId is required",
                )));
            }
            Some(id) if c.client_id.as_deref().is_some_and(|want| want != id) => {
                return Err(Box::new(error(
                    c.missing_client_id_status,
                    "ConnectWiseApi",
                    "Invalid ClientId",
                )));
            }
            Some(_) => {}
        }
    }
    if restricted {
        sim.stat(|s| s.forbidden_403 += 1);
        return Err(Box::new(error(
            403,
            "Forbidden",
            "You do not have permission to access this resource.",
        )));
    }
    Ok(Actor::ApiMember)
}

fn rate_limit(sim: &ConnectWiseState) -> Option<Response> {
    let now = Instant::now();
    let window = sim.config.rate_window;
    let mut w = lock(&sim.window);
    while w.front().is_some_and(|t| now.duration_since(*t) >= window) {
        w.pop_front();
    }
    if w.len() >= sim.config.rate_limit as usize {
        let secs = sim.config.retry_after_secs.unwrap_or_else(|| {
            let oldest = *w.front().expect("non-empty");
            (window.saturating_sub(now.duration_since(oldest)).as_secs_f64().ceil() as u64).max(1)
        });
        drop(w);
        sim.stat(|s| s.rate_limited_429 += 1);
        return Some(too_many(secs));
    }
    w.push_back(now);
    None
}

// ----- listing -----

fn parse_id(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// Conditions, ordering, paging and `fields` over a set of records.
fn list(ctx: &ConnectWiseCtx<'_>, mut items: Vec<Value>, extra_conditions: Option<&str>) -> Response {
    let cfg = &ctx.sim.config;
    let conds = match extra_conditions.or(ctx.query.get("conditions")) {
        Some(c) => match conditions::parse(c) {
            Ok(c) => c,
            Err(e) => return error(400, "InvalidConditions", &format!("The conditions are invalid: {e}")),
        },
        None => None,
    };
    if let Some(c) = &conds {
        items.retain(|r| conditions::matches(c, r));
    }
    let page_size = match ctx.query.get("pageSize") {
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(cfg.page_size_max),
            _ => return error(400, "InvalidObject", "pageSize must be a positive integer"),
        },
        None => cfg.page_size_default,
    };
    let forward_only = ctx
        .headers
        .get("pagination-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("forward-only"));
    let self_url = format!("{}{}", ctx.sim.api_root(), ctx.path);
    let (page, link) = if forward_only {
        if ctx.query.get("orderBy").is_some() {
            return error(
                400,
                "InvalidObject",
                "orderBy is not supported with forward-only pagination",
            );
        }
        let page_id = match ctx.query.get("pageId").map(str::parse::<i64>) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(_)) => return error(400, "InvalidObject", "pageId must be an integer"),
        };
        items.sort_by_key(|r| r["id"].as_i64().unwrap_or(0));
        let page: Vec<Value> = items
            .into_iter()
            .filter(|r| r["id"].as_i64().unwrap_or(0) > page_id)
            .take(page_size)
            .collect();
        let next = page.last().and_then(|r| r["id"].as_i64());
        let link = match next {
            Some(last) if page.len() == page_size || cfg.forward_only_next_on_short_page => Some(format!(
                "<{self_url}?{}>; rel=\"next\"",
                ctx.query.with("pageId", &last.to_string())
            )),
            _ => None,
        };
        (page, link)
    } else {
        if let Some(order) = ctx.query.get("orderBy") {
            let mut parts = order.split_whitespace();
            let field: Vec<String> = parts.next().unwrap_or("id").split('/').map(str::to_string).collect();
            let desc = parts.next().is_some_and(|d| d.eq_ignore_ascii_case("desc"));
            items.sort_by(|a, b| {
                let (x, y) = (
                    conditions::lookup(a, &field).unwrap_or(&Value::Null),
                    conditions::lookup(b, &field).unwrap_or(&Value::Null),
                );
                let o = match (x, y) {
                    (Value::Number(m), Value::Number(n)) => {
                        m.as_f64().partial_cmp(&n.as_f64()).unwrap_or(std::cmp::Ordering::Equal)
                    }
                    _ => value_text(x).to_lowercase().cmp(&value_text(y).to_lowercase()),
                };
                if desc { o.reverse() } else { o }
            });
        }
        let page_no = match ctx.query.get("page").map(str::parse::<usize>) {
            None => 1,
            Some(Ok(n)) if n >= 1 => n,
            Some(_) => return error(400, "InvalidObject", "page must be a positive integer"),
        };
        let total = items.len();
        let last_page = total.div_ceil(page_size).max(1);
        let page: Vec<Value> = items
            .into_iter()
            .skip((page_no - 1).saturating_mul(page_size))
            .take(page_size)
            .collect();
        let mut rels = Vec::new();
        let link_for =
            |n: usize, rel: &str| format!("<{self_url}?{}>; rel=\"{rel}\"", ctx.query.with("page", &n.to_string()));
        if page_no > 1 {
            rels.push(link_for(1, "first"));
            rels.push(link_for(page_no - 1, "prev"));
        }
        if page_no < last_page {
            rels.push(link_for(page_no + 1, "next"));
            rels.push(link_for(last_page, "last"));
        }
        (page, (!rels.is_empty()).then(|| rels.join(", ")))
    };
    let page = match ctx.query.get("fields") {
        Some(f) => {
            let wanted: Vec<&str> = f.split(',').map(|s| s.trim().split('/').next().unwrap_or("")).collect();
            page.into_iter()
                .map(|r| match r {
                    Value::Object(m) => Value::Object(
                        m.into_iter()
                            .filter(|(k, _)| wanted.iter().any(|w| w.eq_ignore_ascii_case(k)))
                            .collect(),
                    ),
                    other => other,
                })
                .collect()
        }
        None => page,
    };
    let mut r = json_response(200, &Value::Array(page));
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        r.headers_mut().insert(header::LINK, link);
    }
    r
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn rows(t: &RecordTable) -> Vec<Value> {
    t.rows.values().cloned().collect()
}

fn created(v: &Value) -> Response {
    json_response(201, v)
}

// ----- endpoints -----

fn handle(ctx: &ConnectWiseCtx<'_>) -> Response {
    let path = ctx.path.clone();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let m = ctx.method.as_str();
    let sim = ctx.sim;
    match (m, l.as_slice()) {
        ("GET", ["system", "info"]) => json_response(
            200,
            &json!({"version": format!("v{}", sim.config.codebase.trim_end_matches('/').trim_start_matches('v').replace('_', ".")),
                "isCloud": true, "serverTimeZone": "Eastern Standard Time", "cloudRegion": "NA"}),
        ),
        ("GET", ["company", "companies"]) => list(ctx, rows(&sim.data().companies), None),
        ("GET", ["company", "companies", "count"]) => count(ctx, rows(&sim.data().companies)),
        ("GET", ["company", "companies", id]) => get_one(&sim.data().companies, id, "Company"),
        ("GET", ["company", "companies", id, "sites"]) => {
            let Some(cid) = parse_id(id) else {
                return not_found("Company", id);
            };
            let d = sim.data();
            if d.companies.get(cid).is_none() {
                return not_found("Company", cid);
            }
            let items = d
                .sites
                .rows
                .values()
                .filter(|s| s["company"]["id"].as_i64() == Some(cid))
                .cloned()
                .collect();
            drop(d);
            list(ctx, items, None)
        }
        ("GET", ["company", "contacts"]) => list(ctx, rows(&sim.data().contacts), None),
        ("GET", ["company", "contacts", id]) => get_one(&sim.data().contacts, id, "Contact"),
        ("GET", ["company", "configurations"]) => list(ctx, rows(&sim.data().configurations), None),
        ("GET", ["company", "configurations", "types"]) => list(ctx, rows(&sim.data().configuration_types), None),
        ("GET", ["company", "configurations", "statuses"]) => list(ctx, rows(&sim.data().configuration_statuses), None),
        ("GET", ["company", "configurations", "types", id, "questions"]) => {
            let Some(tid) = parse_id(id) else {
                return not_found("ConfigurationType", id);
            };
            let d = sim.data();
            if d.configuration_types.get(tid).is_none() {
                return not_found("ConfigurationType", tid);
            }
            let items = d.type_questions.get(&tid).cloned().unwrap_or_default();
            drop(d);
            list(ctx, items, None)
        }
        ("GET", ["procurement", "manufacturers"]) => list(ctx, rows(&sim.data().manufacturers), None),
        ("GET", ["company", "configurations", id]) => get_one(&sim.data().configurations, id, "Configuration"),
        ("POST", ["company", "configurations"]) => create_configuration(ctx),
        ("PATCH", ["company", "configurations", id]) => {
            let Some(id) = parse_id(id) else {
                return not_found("Configuration", id);
            };
            let Some(ops) = patch_ops(ctx) else {
                return patch_invalid();
            };
            let mut d = sim.data();
            let Some(rec) = d.configurations.rows.get_mut(&id) else {
                return not_found("Configuration", id);
            };
            // Custom fields are patched as the whole array; unknown ids are refused.
            let mut ops = ops;
            for op in ops
                .iter_mut()
                .filter(|o| o["path"].as_str().map(|p| p.trim_start_matches('/')) == Some("customFields"))
            {
                match super::model::merge_custom_fields(&rec["customFields"], &op["value"]) {
                    Ok(merged) => op["value"] = merged,
                    Err(message) => {
                        return invalid(
                            "configuration",
                            vec![
                                json!({"code": "InvalidField", "message": message, "resource": "configuration", "field": "customFields"}),
                            ],
                        );
                    }
                }
            }
            apply_patch(rec, &ops);
            rec["_info"]["lastUpdated"] = json!(iso(now_ms()));
            json_response(200, rec)
        }
        ("DELETE", ["company", "configurations", id]) => {
            let Some(id) = parse_id(id) else {
                return not_found("Configuration", id);
            };
            match sim.data().configurations.rows.remove(&id) {
                Some(_) => empty(204),
                None => not_found("Configuration", id),
            }
        }
        ("GET", ["system", "members"]) => list(ctx, rows(&sim.data().members), None),
        ("GET", ["system", "members", id]) => get_one(&sim.data().members, id, "Member"),
        ("GET", ["service", "boards"]) => list(ctx, rows(&sim.data().boards), None),
        ("GET", ["service", "boards", id]) => get_one(&sim.data().boards, id, "Board"),
        (
            "GET",
            [
                "service",
                "boards",
                id,
                sub @ ("statuses" | "types" | "subtypes" | "items" | "teams"),
            ],
        ) => {
            let Some(bid) = parse_id(id) else {
                return not_found("Board", id);
            };
            let d = sim.data();
            if d.boards.get(bid).is_none() {
                return not_found("Board", bid);
            }
            let table = match *sub {
                "statuses" => &d.statuses,
                "types" => &d.types,
                "items" => &d.items,
                "teams" => &d.teams,
                _ => &d.subtypes,
            };
            let items = table
                .rows
                .values()
                .filter(|s| s["board"]["id"].as_i64() == Some(bid))
                .cloned()
                .collect();
            drop(d);
            list(ctx, items, None)
        }
        ("GET", ["service", "priorities"]) => list(ctx, rows(&sim.data().priorities), None),
        ("GET", ["service", "sources"]) => list(ctx, rows(&sim.data().sources), None),
        ("GET", ["service", "tickets"]) => list(ctx, rows(&sim.data().tickets), None),
        ("POST", ["service", "tickets", "search"]) => {
            let cond = ctx
                .body_json()
                .and_then(|b| b["conditions"].as_str().map(str::to_string))
                .unwrap_or_default();
            list(ctx, rows(&sim.data().tickets), Some(&cond))
        }
        ("GET", ["service", "tickets", "count"]) => count(ctx, rows(&sim.data().tickets)),
        ("POST", ["service", "tickets"]) => create_ticket(ctx),
        ("GET", ["service", "tickets", id]) => get_one(&sim.data().tickets, id, "Ticket"),
        ("PATCH", ["service", "tickets", id]) => patch_ticket(ctx, id),
        ("DELETE", ["service", "tickets", id]) => {
            let Some(id) = parse_id(id) else {
                return not_found("Ticket", id);
            };
            if sim.data().tickets.get(id).is_none() {
                return not_found("Ticket", id);
            }
            sim.emit_ticket(id, CallbackAction::Deleted, ctx.actor);
            sim.data().tickets.rows.remove(&id);
            empty(204)
        }
        ("GET", ["service", "tickets", id, "notes"]) => {
            let Some(tid) = parse_id(id) else {
                return not_found("Ticket", id);
            };
            if sim.data().tickets.get(tid).is_none() {
                return not_found("Ticket", tid);
            }
            let items = rows(&sim.data().notes)
                .into_iter()
                .filter(|n| n["ticketId"].as_i64() == Some(tid))
                .collect();
            list(ctx, items, None)
        }
        ("POST", ["service", "tickets", id, "notes"]) => create_note(ctx, id),
        ("GET", ["service", "tickets", id, "configurations"]) => {
            let Some(tid) = parse_id(id) else {
                return not_found("Ticket", id);
            };
            let d = sim.data();
            if d.tickets.get(tid).is_none() {
                return not_found("Ticket", tid);
            }
            let items = d
                .ticket_configurations
                .get(&tid)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| d.configurations.get(c).cloned())
                .collect();
            drop(d);
            list(ctx, items, None)
        }
        ("POST", ["service", "tickets", id, "configurations"]) => attach_configuration(ctx, id),
        ("GET", ["system", "callbacks"]) => {
            let items = rows(&sim.data().callbacks).into_iter().map(public_callback).collect();
            list(ctx, items, None)
        }
        ("GET", ["system", "callbacks", id]) => {
            let Some(cid) = parse_id(id) else {
                return not_found("CallbackEntry", id);
            };
            match sim.data().callbacks.get(cid) {
                Some(c) => json_response(200, &public_callback(c.clone())),
                None => not_found("CallbackEntry", cid),
            }
        }
        ("POST", ["system", "callbacks"]) => create_callback(ctx),
        ("PATCH", ["system", "callbacks", id]) => {
            let Some(cid) = parse_id(id) else {
                return not_found("CallbackEntry", id);
            };
            let Some(ops) = patch_ops(ctx) else {
                return patch_invalid();
            };
            let mut d = sim.data();
            let Some(rec) = d.callbacks.rows.get_mut(&cid) else {
                return not_found("CallbackEntry", cid);
            };
            let ops: Vec<Value> = ops
                .into_iter()
                .filter(|o| !matches!(o["path"].as_str(), Some("id" | "_keyId" | "memberId")))
                .collect();
            apply_patch(rec, &ops);
            json_response(200, &public_callback(rec.clone()))
        }
        ("DELETE", ["system", "callbacks", id]) => {
            let Some(cid) = parse_id(id) else {
                return not_found("CallbackEntry", id);
            };
            match sim.data().callbacks.rows.remove(&cid) {
                Some(_) => empty(204),
                None => not_found("CallbackEntry", cid),
            }
        }
        (_, [..]) if known_collection(&l) => error(405, "ConnectWiseApi", "The requested method is not supported."),
        _ => no_endpoint(),
    }
}

fn known_collection(l: &[&str]) -> bool {
    matches!(l.first(), Some(&("company" | "service" | "system")))
        && route_name(&format!("/x/apis/3.0/{}", l.join("/"))) != "other"
}

fn count(ctx: &ConnectWiseCtx<'_>, mut items: Vec<Value>) -> Response {
    if let Some(c) = ctx.query.get("conditions") {
        match conditions::parse(c) {
            Ok(Some(c)) => items.retain(|r| conditions::matches(&c, r)),
            Ok(None) => {}
            Err(e) => return error(400, "InvalidConditions", &format!("The conditions are invalid: {e}")),
        }
    }
    json_response(200, &json!({"count": items.len()}))
}

fn get_one(table: &RecordTable, id: &str, what: &str) -> Response {
    match parse_id(id).and_then(|i| table.get(i)) {
        Some(r) => json_response(200, r),
        None => not_found(what, id),
    }
}

fn patch_ops(ctx: &ConnectWiseCtx<'_>) -> Option<Vec<Value>> {
    match ctx.body_json()? {
        Value::Array(ops) if ops.iter().all(|o| o["op"].is_string() && o["path"].is_string()) => Some(ops),
        _ => None,
    }
}

fn patch_invalid() -> Response {
    error(
        400,
        "InvalidObject",
        "The request body must be a JSON Patch array of {op, path, value}.",
    )
}

/// Applies JSON-Patch ops; paths are case-sensitive, `/`-separated, with or without a leading
/// `/`. Unknown paths on `replace` are ignored (the documented "false 200").
fn apply_patch(rec: &mut Value, ops: &[Value]) {
    for op in ops {
        let path: Vec<&str> = op["path"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches('/')
            .split('/')
            .collect();
        let Some((last, parents)) = path.split_last() else {
            continue;
        };
        let mut target = Some(&mut *rec);
        for p in parents {
            target = target.and_then(|t| t.get_mut(*p));
        }
        let Some(obj) = target.and_then(Value::as_object_mut) else {
            continue;
        };
        match op["op"].as_str().unwrap_or("") {
            "add" => {
                obj.insert(last.to_string(), op["value"].clone());
            }
            "replace" if obj.contains_key(*last) => {
                obj.insert(last.to_string(), op["value"].clone());
            }
            "remove" if obj.contains_key(*last) => {
                obj.insert(last.to_string(), Value::Null);
            }
            _ => {}
        }
    }
}

fn create_configuration(ctx: &ConnectWiseCtx<'_>) -> Response {
    let Some(body) = ctx.body_json().filter(Value::is_object) else {
        return invalid("configuration", vec![]);
    };
    let mut d = ctx.sim.data();
    let mut errors = Vec::new();
    let missing = |f: &str| json!({"code": "MissingRequiredField", "message": format!("The {f} field is required."), "resource": "configuration", "field": f});
    if body["name"].as_str().is_none_or(|s| s.trim().is_empty()) {
        errors.push(missing("name"));
    }
    let ty = body["type"]["id"]
        .as_i64()
        .and_then(|id| d.configuration_types.get(id).cloned());
    if ty.is_none() {
        errors.push(missing("type"));
    }
    let company = body["company"]["id"]
        .as_i64()
        .and_then(|id| d.companies.get(id).cloned());
    if company.is_none() {
        errors.push(missing("company"));
    }
    if !errors.is_empty() {
        return invalid("configuration", errors);
    }
    let (ty, company) = (ty.expect("checked"), company.expect("checked"));
    let invalid_field = |f: &str, message: String| json!({"code": "InvalidField", "message": message, "resource": "configuration", "field": f});
    if ty["inactiveFlag"].as_bool() == Some(true) {
        errors.push(invalid_field("type", "The type is inactive.".into()));
    }
    if body["name"].as_str().is_some_and(|n| n.chars().count() > 100) {
        errors.push(invalid_field("name", "The name may not exceed 100 characters.".into()));
    }
    for (f, max) in [
        ("serialNumber", 250),
        ("modelNumber", 50),
        ("deviceIdentifier", 100),
        ("osInfo", 250),
        ("ipAddress", 50),
    ] {
        if body[f].as_str().is_some_and(|v| v.chars().count() > max) {
            errors.push(invalid_field(f, format!("The {f} may not exceed {max} characters.")));
        }
    }
    let status = match &body["status"] {
        Value::Null => d
            .configuration_statuses
            .rows
            .values()
            .find(|s| s["defaultFlag"] == true)
            .cloned(),
        s => match s["id"].as_i64().and_then(|id| d.configuration_statuses.get(id)) {
            Some(found) => Some(found.clone()),
            None => {
                errors.push(invalid_field("status", "The status is invalid.".into()));
                None
            }
        },
    };
    let manufacturer = match &body["manufacturer"] {
        Value::Null => None,
        m => {
            let found = d.manufacturers.rows.values().find(|r| {
                m["id"].as_i64().is_some_and(|id| r["id"] == id)
                    || m["name"]
                        .as_str()
                        .is_some_and(|n| r["name"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(n)))
            });
            if found.is_none() {
                errors.push(invalid_field("manufacturer", "The manufacturer is invalid.".into()));
            }
            found.cloned()
        }
    };
    let custom_fields = match super::model::merge_custom_fields(&Value::Null, &body["customFields"]) {
        Ok(c) => c,
        Err(message) => {
            errors.push(invalid_field("customFields", message));
            Value::Null
        }
    };
    let answers = body["questions"].as_array().cloned().unwrap_or_default();
    let type_id = ty["id"].as_i64().unwrap_or(0);
    for q in d.type_questions.get(&type_id).into_iter().flatten() {
        if q["requiredFlag"] != true || q["inactiveFlag"] == true {
            continue;
        }
        let answered = answers
            .iter()
            .any(|a| a["questionId"] == q["questionId"] && a["answer"].as_str().is_some_and(|s| !s.trim().is_empty()));
        if !answered {
            errors.push(
                json!({"code": "MissingRequiredField", "resource": "configuration", "field": "questions",
                "message": format!("The question '{}' requires an answer.", q["question"].as_str().unwrap_or(""))}),
            );
        }
    }
    if !errors.is_empty() {
        return invalid("configuration", errors);
    }
    let mut rec = body.clone();
    if let Some(s) = status {
        rec["status"] = json!({"id": s["id"], "name": s["description"]});
    }
    if let Some(m) = manufacturer {
        rec["manufacturer"] = json!({"id": m["id"], "name": m["name"]});
    }
    rec["type"] = json!({"id": ty["id"], "name": ty["name"]});
    rec["customFields"] = custom_fields;
    rec["company"] = json!({"id": company["id"], "identifier": company["identifier"], "name": company["name"]});
    if rec.get("activeFlag").is_none() {
        rec["activeFlag"] = json!(true);
    }
    rec["_info"] = json!({"lastUpdated": iso(now_ms()), "dateEntered": iso(now_ms())});
    let id = d.configurations.insert(rec);
    let record = d.configurations.get(id).expect("inserted").clone();
    drop(d);
    if take_one(&ctx.sim.lost_creates) {
        return error(500, "InternalServerError", "An error occurred.");
    }
    created(&record)
}

fn create_ticket(ctx: &ConnectWiseCtx<'_>) -> Response {
    let Some(body) = ctx.body_json().filter(Value::is_object) else {
        return invalid("ticket", vec![]);
    };
    let sim = ctx.sim;
    let by = sim.config.api_member.clone();
    let (id, ticket) = {
        let mut d = sim.data();
        let rec = match d.new_ticket_record(&body, &by, now_ms()) {
            Ok(r) => r,
            Err(errors) => return invalid("ticket", errors),
        };
        let id = d.tickets.insert(rec);
        if let Some(text) = body["initialDescription"].as_str().filter(|s| !s.is_empty()) {
            d.notes.insert(json!({"ticketId": id, "text": text, "detailDescriptionFlag": true,
                "internalAnalysisFlag": false, "resolutionFlag": false, "dateCreated": iso(now_ms()), "createdBy": by}));
        }
        (id, d.tickets.get(id).cloned().expect("inserted"))
    };
    if body["skipCallback"] != true {
        sim.emit_ticket(id, CallbackAction::Added, ctx.actor);
    }
    created(&ticket)
}

fn patch_ticket(ctx: &ConnectWiseCtx<'_>, id: &str) -> Response {
    let sim = ctx.sim;
    let Some(id) = parse_id(id) else {
        return not_found("Ticket", id);
    };
    let Some(ops) = patch_ops(ctx) else {
        return patch_invalid();
    };
    let skip = ops
        .iter()
        .any(|o| o["path"].as_str().map(|p| p.trim_start_matches('/')) == Some("skipCallback") && o["value"] == true);
    let by = sim.config.api_member.clone();
    let ticket = {
        let mut d = sim.data();
        let Some(mut rec) = d.tickets.get(id).cloned() else {
            return not_found("Ticket", id);
        };
        let mut status_change = None;
        let mut rest = Vec::new();
        for op in &ops {
            match op["path"].as_str().map(|p| p.trim_start_matches('/')) {
                Some("skipCallback") => {}
                Some("status") => status_change = Some(op["value"]["id"].as_i64()),
                Some("status/id") => status_change = Some(op["value"].as_i64()),
                Some("summary")
                    if op["value"]
                        .as_str()
                        .is_none_or(|s| s.trim().is_empty() || s.chars().count() > 100) =>
                {
                    return invalid(
                        "ticket",
                        vec![
                            json!({"code": "InvalidField", "message": "summary must be 1 to 100 characters.",
                            "resource": "ticket", "field": "summary"}),
                        ],
                    );
                }
                _ => rest.push(op.clone()),
            }
        }
        apply_patch(&mut rec, &rest);
        rec["_info"]["lastUpdated"] = json!(iso(now_ms()));
        rec["_info"]["updatedBy"] = json!(by);
        d.tickets.rows.insert(id, rec);
        if let Some(status) = status_change {
            let result = status
                .ok_or_else(|| "The status is invalid.".to_string())
                .and_then(|s| d.set_ticket_status(id, s, &by, now_ms()));
            if let Err(e) = result {
                return invalid(
                    "ticket",
                    vec![json!({"code": "InvalidField", "message": e, "resource": "ticket", "field": "status"})],
                );
            }
        }
        d.tickets.get(id).cloned().expect("present")
    };
    if !skip {
        sim.emit_ticket(id, CallbackAction::Updated, ctx.actor);
    }
    json_response(200, &ticket)
}

fn create_note(ctx: &ConnectWiseCtx<'_>, id: &str) -> Response {
    let sim = ctx.sim;
    let Some(tid) = parse_id(id) else {
        return not_found("Ticket", id);
    };
    let body = ctx.body_json().unwrap_or(Value::Null);
    let mut d = sim.data();
    if d.tickets.get(tid).is_none() {
        return not_found("Ticket", tid);
    }
    if body["text"].as_str().is_none_or(|s| s.trim().is_empty()) {
        return invalid(
            "serviceNote",
            vec![
                json!({"code": "MissingRequiredField", "message": "The text field is required.",
                "resource": "serviceNote", "field": "text"}),
            ],
        );
    }
    let flag = |f: &str| body[f].as_bool().unwrap_or(false);
    let nid = d.notes.insert(json!({
        "ticketId": tid, "text": body["text"], "detailDescriptionFlag": flag("detailDescriptionFlag"),
        "internalAnalysisFlag": flag("internalAnalysisFlag"), "resolutionFlag": flag("resolutionFlag"),
        "dateCreated": iso(now_ms()), "createdBy": sim.config.api_member,
    }));
    let note = d.notes.get(nid).expect("inserted").clone();
    drop(d);
    if take_one(&sim.lost_note_answers) {
        return error(500, "InternalServerError", "An error occurred.");
    }
    created(&note)
}

/// Takes one from a "next n requests" counter: true while it was above 0.
fn take_one(counter: &std::sync::atomic::AtomicU32) -> bool {
    use std::sync::atomic::Ordering::SeqCst;
    counter.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok()
}

fn attach_configuration(ctx: &ConnectWiseCtx<'_>, id: &str) -> Response {
    let Some(tid) = parse_id(id) else {
        return not_found("Ticket", id);
    };
    let body = ctx.body_json().unwrap_or(Value::Null);
    let mut d = ctx.sim.data();
    if d.tickets.get(tid).is_none() {
        return not_found("Ticket", tid);
    }
    let Some(config) = body["id"].as_i64().and_then(|c| d.configurations.get(c).cloned()) else {
        return invalid(
            "configurationReference",
            vec![
                json!({"code": "InvalidField", "message": "The configuration is invalid.",
                "resource": "configurationReference", "field": "id"}),
            ],
        );
    };
    let cid = config["id"].as_i64().unwrap_or(0);
    let list = d.ticket_configurations.entry(tid).or_default();
    if !list.contains(&cid) {
        list.push(cid);
    }
    created(
        &json!({"id": cid, "deviceIdentifier": config["deviceIdentifier"], "name": config["name"],
        "type": config["type"]}),
    )
}

const CALLBACK_TYPES: &[&str] = &[
    "ticket",
    "company",
    "contact",
    "configuration",
    "activity",
    "agreement",
    "opportunity",
    "project",
    "schedule",
    "time",
    "member",
    "invoice",
    "expense",
    "purchaseorder",
    "productcatalog",
];

fn levels_for(ty: &str) -> &'static [&'static str] {
    match ty {
        "ticket" => &[
            "owner",
            "board",
            "project",
            "phase",
            "status",
            "ticket",
            "integratortag",
        ],
        "configuration" => &["owner", "type", "status", "configuration"],
        "company" => &["owner", "status", "type", "territory", "company", "integratortag"],
        _ => &["owner"],
    }
}

fn public_callback(mut cb: Value) -> Value {
    if let Some(o) = cb.as_object_mut() {
        o.remove("_keyId");
    }
    cb
}

fn create_callback(ctx: &ConnectWiseCtx<'_>) -> Response {
    let sim = ctx.sim;
    let body = ctx.body_json().unwrap_or(Value::Null);
    let err = |code: &str, msg: &str, field: &str| json!({"code": code, "message": msg, "resource": "callbackEntry", "field": field});
    let mut errors = Vec::new();
    let url = body["url"].as_str().unwrap_or("").trim().to_string();
    let url_ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://x".len()
        && !url.contains(char::is_whitespace);
    if !url_ok {
        errors.push(err("InvalidField", "Invalid URL", "url"));
    }
    let ty = body["type"].as_str().unwrap_or("").to_ascii_lowercase();
    if !CALLBACK_TYPES.contains(&ty.as_str()) {
        errors.push(err("InvalidField", "Invalid type", "type"));
    }
    let level = body["level"].as_str().unwrap_or("").to_ascii_lowercase();
    if !levels_for(&ty).contains(&level.as_str()) {
        errors.push(err(
            "InvalidObject",
            "Unrecognized level for type, see documentation for supported levels for each type",
            "level",
        ));
    }
    if body.get("objectId").is_none_or(Value::is_null) {
        errors.push(err(
            "MissingRequiredField",
            "The objectId field is required.",
            "objectId",
        ));
    }
    if body["description"].as_str().is_some_and(|d| d.chars().count() > 100) {
        errors.push(err(
            "InvalidField",
            "description must be 100 characters or fewer.",
            "description",
        ));
    }
    if !errors.is_empty() {
        return invalid("callbackEntry", errors);
    }
    let object_id = if level == "owner" {
        1
    } else {
        body["objectId"].as_i64().unwrap_or(0)
    };
    let key_id = sim.guid();
    let signing_key = sim.guid().replace('-', "");
    let connectwise_id = sim.guid();
    let mut d = sim.data();
    let duplicate = d.callbacks.rows.values().any(|c| {
        c["url"] == url.as_str()
            && c["type"] == ty.as_str()
            && c["level"] == level.as_str()
            && c["objectId"] == object_id
    });
    if duplicate {
        return invalid(
            "callbackEntry",
            vec![err(
                "ObjectExists",
                "A matching callback entry already exists",
                "objectId",
            )],
        );
    }
    let member_id = d
        .members
        .rows
        .iter()
        .find(|(_, m)| m["identifier"] == sim.config.api_member.as_str())
        .map(|(id, _)| *id)
        .unwrap_or(1);
    let flag = |f: &str| body[f].as_bool().unwrap_or(false);
    let id = d.callbacks.insert(json!({
        "url": url, "objectId": object_id, "type": ty, "level": level,
        "description": body["description"], "memberId": member_id,
        "payloadVersion": body["payloadVersion"].as_str().unwrap_or("3.0.0"),
        "inactiveFlag": flag("inactiveFlag"), "isSoapCallbackFlag": flag("isSoapCallbackFlag"),
        "isSelfSuppressedFlag": flag("isSelfSuppressedFlag"), "connectWiseID": connectwise_id,
        "_keyId": key_id,
        "_info": {"lastUpdated": iso(now_ms()), "updatedBy": sim.config.api_member},
    }));
    d.signing_keys.insert(key_id, signing_key);
    created(&public_callback(d.callbacks.get(id).cloned().expect("inserted")))
}

// ----- admin -----

impl Admin for Arc<ConnectWiseState> {
    const HELP: &'static str = "Unknown admin endpoint.";

    fn gate(&self) -> &Gate {
        &self.gate
    }

    fn info(&self) -> Value {
        let d = self.data();
        let c = &self.config;
        json!({"simulator": "connectwise-manage", "site": self.base_url, "apiUrl": self.api_root(),
            "companyId": c.company_id, "publicKey": c.public_key, "codebase": c.codebase,
            "companies": d.companies.rows.len(), "contacts": d.contacts.rows.len(),
            "sites": d.sites.rows.len(), "configurations": d.configurations.rows.len(),
            "members": d.members.rows.len(), "tickets": d.tickets.rows.len(),
            "callbacks": d.callbacks.rows.len(), "rateLimit": c.rate_limit})
    }

    fn stats(&self) -> Value {
        serde_json::to_value(&*lock(&self.stats)).unwrap_or_default()
    }

    fn reset_stats(&self) {
        *lock(&self.stats) = ConnectWiseStats::default();
    }

    fn reset_limits(&self) {
        lock(&self.window).clear();
    }

    /// ConnectWise's envelope, its `code` named after the status.
    fn error(&self, code: u16, message: &str) -> Response {
        let cw_code = match code {
            400 => "InvalidObject",
            403 => "Forbidden",
            _ => "NotFound",
        };
        error(code, cw_code, message)
    }

    fn product_route(&self, method: &Method, segs: &[&str], body: &Bytes) -> Option<Response> {
        let ("POST", ["tickets", id, "close"]) = (method.as_str(), segs) else {
            return None;
        };
        let Some(id) = parse_id(id) else {
            return Some(not_found("Ticket", id));
        };
        let status = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|b| b["statusId"].as_i64());
        Some(match close_ticket(self, id, status) {
            Ok(t) => json_response(200, &t),
            Err(e) if e.contains("not found") => error(404, "NotFound", &e),
            Err(e) => error(400, "InvalidObject", &e),
        })
    }
}
