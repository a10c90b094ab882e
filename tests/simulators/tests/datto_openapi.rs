//! The Datto RMM simulator's JSON answers for the main GET routes (account, sites, devices,
//! device, audit, alerts) checked against Datto's own OpenAPI document, build 118
//! (`openapi/datto-rmm-build118.json` in this crate).
//!
//! The check is a small schema walker (`type`, `properties`, `items`, `$ref`, `enum`, `oneOf`,
//! `allOf` of object members, `additionalProperties`): every field the simulator sends must be documented, with
//! the documented type and, for enums, a documented value. Fields the document has and the
//! simulator leaves out are not errors (the API leaves many out too). The documented departures
//! of the real API, which the simulator copies, are allowed:
//! - `null` where the schema has no `nullable` (the API sends `null` for unset fields);
//! - dates as epoch milliseconds where the schema says `string` with a date or date-time format;
//! - the alert context's `oneOf`: its branches overlap (several accept the same object), so one
//!   matching branch is enough, not exactly one.
//!
//! A few departures of the simulator's own (in the audit and in some alert contexts) are known
//! and listed in `KNOWN_DEPARTURES`; anything else fails.

mod support;

use serde_json::Value;
use simulators::datto::{DattoConfig, DattoSim};
use support::{api, get, token};

const DOCUMENT: &str = include_str!("../openapi/datto-rmm-build118.json");

struct Spec {
    doc: Value,
}

impl Spec {
    fn load() -> Spec {
        Spec {
            doc: serde_json::from_str(DOCUMENT).expect("the OpenAPI document is JSON"),
        }
    }

    /// The JSON schema of `GET {path}`'s answer. Build 118 attaches it to the error responses
    /// (401/403/404) rather than to a 200; every one of them carries the same schema.
    fn response_schema(&self, path: &str) -> &Value {
        self.response_schema_of("get", path)
    }

    /// The JSON schema of `{method} {path}`'s answer (see [`Spec::response_schema`]).
    fn response_schema_of(&self, method: &str, path: &str) -> &Value {
        let responses = &self.doc["paths"][path][method]["responses"];
        let responses = responses
            .as_object()
            .unwrap_or_else(|| panic!("no {method} {path} in the document"));
        ["200", "401", "403", "404"]
            .iter()
            .filter_map(|code| responses.get(*code))
            .map(|r| &r["content"]["application/json"]["schema"])
            .find(|s| !s.is_null())
            .unwrap_or_else(|| panic!("no JSON schema for {method} {path}"))
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        while let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external $ref {r}"));
            s = self.doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {r}"));
        }
        s
    }

    /// Problems of `value` against `schema`, each with its JSON path.
    fn check(&self, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if value.is_null() {
            return; // Departure: nulls for unset fields.
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            // One object of the members' properties together (a base and its extension).
            let mut merged = serde_json::Map::new();
            for member in all {
                let member = self.resolve(member);
                if let Some(props) = member.get("properties").and_then(Value::as_object) {
                    merged.extend(props.clone());
                }
            }
            let merged = serde_json::json!({"type": "object", "properties": merged});
            self.check(&merged, value, at, problems);
            return;
        }
        if let Some(branches) = schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Value::as_array)
        {
            // Departure: overlapping branches; one match is enough.
            let fits = branches.iter().any(|b| {
                let mut p = Vec::new();
                self.check(b, value, at, &mut p);
                p.is_empty()
            });
            if !fits {
                let class = value.get("@class").map_or(String::new(), |c| format!(" ({c})"));
                problems.push(format!(
                    "{at}{class}: matches none of the {} oneOf branches",
                    branches.len()
                ));
            }
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            problems.push(format!("{at}: {value} is not one of {}", Value::Array(allowed.clone())));
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !types.is_empty() && !types.iter().any(|t| self.has_type(schema, t, value)) {
            problems.push(format!("{at}: {} is not of type {}", short(value), types.join("|")));
            return;
        }
        match value {
            Value::Object(fields) => {
                let props = schema.get("properties").and_then(Value::as_object);
                let extra = schema.get("additionalProperties");
                for (name, v) in fields {
                    let field_at = format!("{at}.{name}");
                    match (props.and_then(|p| p.get(name)), extra) {
                        (Some(s), _) => self.check(s, v, &field_at, problems),
                        (None, Some(Value::Bool(true))) => {}
                        (None, Some(s @ Value::Object(_))) => self.check(s, v, &field_at, problems),
                        (None, _) if props.is_none() => {} // A free-form object.
                        (None, _) => problems.push(format!("{field_at}: not in the schema")),
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.check(item_schema, v, &format!("{at}[{i}]"), problems);
                    }
                }
            }
            _ => {}
        }
    }

    fn has_type(&self, schema: &Value, ty: &str, value: &Value) -> bool {
        match (ty, value) {
            ("object", Value::Object(_)) | ("array", Value::Array(_)) | ("boolean", Value::Bool(_)) => true,
            ("string", Value::String(_)) => true,
            // Departure: dates as epoch milliseconds.
            ("string", Value::Number(n)) => {
                n.is_i64() && matches!(schema.get("format").and_then(Value::as_str), Some("date-time" | "date"))
            }
            ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
            ("number", Value::Number(_)) => true,
            ("null", Value::Null) => true,
            _ => false,
        }
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 { format!("{}...", &s[..60]) } else { s }
}

/// Departures of the simulator from build 118 that are known and kept (the simulator's alert
/// contexts and one audit field predate the document): `(document path, normalised JSON path
/// of the problem)`. A problem not listed here fails the test.
const KNOWN_DEPARTURES: &[(&str, &str)] = &[
    // `speed` is a number of MT/s; the document says string.
    ("/v2/audit/device/{deviceUid}", "$.physicalMemory[].speed"),
    // `diskNameDesignation` carries the drive ("C:") instead of ANY_VOLUME/ALL_VOLUMES/SINGLE_VOLUME.
    (
        "/v2/account/alerts/open",
        "$.alerts[].alertContext (\"disk_usage_ctx\")",
    ),
    (
        "/v2/account/alerts/resolved",
        "$.alerts[].alertContext (\"disk_usage_ctx\")",
    ),
    ("/v2/alert/{alertUid}", "$.alertContext (\"disk_usage_ctx\")"),
    // `status` is "NotRunning"; the document's enum is upper case (NOTRUNNING).
    ("/v2/account/alerts/open", "$.alerts[].alertContext (\"antivirus_ctx\")"),
    (
        "/v2/account/alerts/resolved",
        "$.alerts[].alertContext (\"antivirus_ctx\")",
    ),
    ("/v2/alert/{alertUid}", "$.alertContext (\"antivirus_ctx\")"),
    // `serviceName`; the document's StatusContext has `processName`.
    (
        "/v2/account/alerts/open",
        "$.alerts[].alertContext (\"srvc_status_ctx\")",
    ),
    (
        "/v2/account/alerts/resolved",
        "$.alerts[].alertContext (\"srvc_status_ctx\")",
    ),
    ("/v2/alert/{alertUid}", "$.alertContext (\"srvc_status_ctx\")"),
    // `description` (the supply's name) is not in the document's PrinterContext.
    ("/v2/account/alerts/open", "$.alerts[].alertContext (\"printer_ctx\")"),
    (
        "/v2/account/alerts/resolved",
        "$.alerts[].alertContext (\"printer_ctx\")",
    ),
    ("/v2/alert/{alertUid}", "$.alertContext (\"printer_ctx\")"),
    // Numbers where the document says string, as in the device audit's `speed`.
    ("/v2/audit/esxihost/{deviceUid}", "$.nics[].speed"),
    ("/v2/audit/esxihost/{deviceUid}", "$.physicalMemory[].speed"),
    ("/v2/audit/printer/{deviceUid}", "$.printerMarkerSupplies[].maxCapacity"),
    (
        "/v2/audit/printer/{deviceUid}",
        "$.printerMarkerSupplies[].suppliesLevel",
    ),
];

/// The alert lists of a site or a device render alerts as the account's do: the same departures.
fn departures_as(doc_path: &str) -> &str {
    match doc_path {
        "/v2/site/{siteUid}/alerts/open" | "/v2/device/{deviceUid}/alerts/open" => "/v2/account/alerts/open",
        "/v2/device/{deviceUid}/alerts/resolved" => "/v2/account/alerts/resolved",
        other => other,
    }
}

/// `$.alerts[3].x` → `$.alerts[].x`.
fn normalise(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// Fetches `route` and checks it against the schema of `doc_path`; returns the problems as
/// `(normalised JSON path, message)`.
async fn problems(spec: &Spec, sim: &DattoSim, token: &str, route: &str, doc_path: &str) -> Vec<(String, String)> {
    let r = get(&api(sim, route), Some(token)).await;
    assert_eq!(r.status, 200, "GET {route}: {}", r.text());
    let mut problems = Vec::new();
    spec.check(spec.response_schema(doc_path), &r.json(), "$", &mut problems);
    problems
        .into_iter()
        .map(|p| {
            let (path, message) = p.split_once(": ").unwrap_or((&p, ""));
            (normalise(path), message.to_string())
        })
        .collect()
}

#[tokio::test]
async fn main_get_routes_follow_the_openapi_document() {
    let spec = Spec::load();
    let sim = DattoSim::start(DattoConfig {
        sites: 10,
        devices: 150,
        open_alerts: Some(40),
        reference_time_ms: Some(1_790_000_000_000),
        ..DattoConfig::default()
    })
    .await
    .expect("start simulator");
    let token = token(&sim).await;
    let site = sim
        .sites()
        .into_iter()
        .find(|s| s.kind == simulators::datto::SiteKind::Client)
        .expect("a client site")
        .uid;
    let device = sim
        .devices()
        .into_iter()
        .find(|d| d.device_class == "device" && !d.deleted)
        .expect("a device")
        .uid;
    let alert = sim.open_alert_uids().into_iter().next().expect("an open alert");

    let routes = [
        ("account".to_string(), "/v2/account"),
        ("account/sites".to_string(), "/v2/account/sites"),
        (format!("site/{site}"), "/v2/site/{siteUid}"),
        ("account/devices".to_string(), "/v2/account/devices"),
        (format!("site/{site}/devices"), "/v2/site/{siteUid}/devices"),
        (format!("device/{device}"), "/v2/device/{deviceUid}"),
        (format!("audit/device/{device}"), "/v2/audit/device/{deviceUid}"),
        ("account/alerts/open".to_string(), "/v2/account/alerts/open"),
        ("account/alerts/resolved".to_string(), "/v2/account/alerts/resolved"),
        (format!("alert/{alert}"), "/v2/alert/{alertUid}"),
    ];
    let mut report = Vec::new();
    let mut clean = Vec::new();
    for (route, doc_path) in &routes {
        let found = problems(&spec, &sim, &token, route, doc_path).await;
        if found.is_empty() {
            clean.push(*doc_path);
        }
        report.extend(
            found
                .into_iter()
                .filter(|(path, _)| !KNOWN_DEPARTURES.contains(&(doc_path, path.as_str())))
                .map(|(path, message)| format!("GET {route} {path}: {message}")),
        );
    }
    report.dedup();
    assert!(
        report.is_empty(),
        "departures from the OpenAPI document:\n{}",
        report.join("\n")
    );
    // The routes that follow the document without any departure stay that way.
    for must_be_clean in [
        "/v2/account",
        "/v2/account/sites",
        "/v2/site/{siteUid}",
        "/v2/account/devices",
        "/v2/site/{siteUid}/devices",
        "/v2/device/{deviceUid}",
    ] {
        assert!(
            clean.contains(&must_be_clean),
            "{must_be_clean} departs from the document"
        );
    }
    sim.shutdown().await;
}

/// What the RMM operations read: alerts per site and device, the software audit, the ESXi and
/// printer audits, the components, and a quick job from its creation (`PUT`) to its output.
#[tokio::test]
async fn operation_routes_follow_the_openapi_document() {
    let spec = Spec::load();
    let sim = DattoSim::start(DattoConfig {
        sites: 10,
        devices: 300,
        open_alerts: Some(60),
        reference_time_ms: Some(1_790_000_000_000),
        job_duration: std::time::Duration::ZERO,
        ..DattoConfig::default()
    })
    .await
    .expect("start simulator");
    let token = token(&sim).await;
    let devices = sim.devices();
    let of_class = |class: &str| {
        devices
            .iter()
            .find(|d| d.device_class == class && !d.deleted && d.last_audit_date.is_some())
            .unwrap_or_else(|| panic!("an audited {class}"))
            .uid
            .clone()
    };
    let (device, esxi, printer) = (of_class("device"), of_class("esxihost"), of_class("printer"));
    let alert = sim.alert(&sim.open_alert_uids()[0]).expect("an open alert");
    let site = sim.device(&alert.device_uid).expect("its device").site_uid.to_string();

    let routes = [
        (format!("site/{site}/alerts/open"), "/v2/site/{siteUid}/alerts/open"),
        (
            format!("device/{}/alerts/open", alert.device_uid),
            "/v2/device/{deviceUid}/alerts/open",
        ),
        (
            format!("device/{}/alerts/resolved", alert.device_uid),
            "/v2/device/{deviceUid}/alerts/resolved",
        ),
        (
            format!("audit/device/{device}/software"),
            "/v2/audit/device/{deviceUid}/software",
        ),
        (format!("audit/esxihost/{esxi}"), "/v2/audit/esxihost/{deviceUid}"),
        (format!("audit/printer/{printer}"), "/v2/audit/printer/{deviceUid}"),
        ("account/components".to_string(), "/v2/account/components"),
    ];
    let mut report = Vec::new();
    for (route, doc_path) in &routes {
        report.extend(
            problems(&spec, &sim, &token, route, doc_path)
                .await
                .into_iter()
                .filter(|(path, _)| !KNOWN_DEPARTURES.contains(&(departures_as(doc_path), path.as_str())))
                .map(|(path, message)| format!("GET {route} {path}: {message}")),
        );
    }
    let software = get(&api(&sim, &format!("audit/device/{device}/software")), Some(&token))
        .await
        .json();
    assert!(
        !software["software"].as_array().expect("software").is_empty(),
        "{software}"
    );

    let component = sim.component_uids()[0].clone();
    let created = support::send_json(
        "PUT",
        &api(&sim, &format!("device/{device}/quickjob")),
        &token,
        &serde_json::json!({"jobName": "check", "jobComponent": {"componentUid": component}}),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let mut found = Vec::new();
    spec.check(
        spec.response_schema_of("put", "/v2/device/{deviceUid}/quickjob"),
        &created.json(),
        "$",
        &mut found,
    );
    report.extend(found.into_iter().map(|p| format!("PUT device/{device}/quickjob {p}")));
    let job = created.json()["job"]["uid"].as_str().expect("a job uid").to_string();
    let job_routes = [
        (format!("job/{job}"), "/v2/job/{jobUid}"),
        (format!("job/{job}/components"), "/v2/job/{jobUid}/components"),
        (
            format!("job/{job}/results/{device}"),
            "/v2/job/{jobUid}/results/{deviceUid}",
        ),
        (
            format!("job/{job}/results/{device}/stdout"),
            "/v2/job/{jobUid}/results/{deviceUid}/stdout",
        ),
        (
            format!("job/{job}/results/{device}/stderr"),
            "/v2/job/{jobUid}/results/{deviceUid}/stderr",
        ),
    ];
    for (route, doc_path) in &job_routes {
        report.extend(
            problems(&spec, &sim, &token, route, doc_path)
                .await
                .into_iter()
                .map(|(path, message)| format!("GET {route} {path}: {message}")),
        );
    }
    report.dedup();
    assert!(
        report.is_empty(),
        "departures from the OpenAPI document:\n{}",
        report.join("\n")
    );

    // Datto's answers for uids it does not know.
    for (route, status) in [
        ("device/no-such-device".to_string(), 404),
        ("audit/device/no-such-device/software".to_string(), 404),
        (format!("audit/device/{printer}/software"), 400),
        ("job/no-such-job".to_string(), 404),
        (format!("job/{job}/results/no-such-device"), 404),
        ("site/no-such-site/alerts/open".to_string(), 404),
        ("device/no-such-device/alerts/open".to_string(), 404),
    ] {
        let r = get(&api(&sim, &route), Some(&token)).await;
        assert_eq!(r.status, status, "GET {route}: {}", r.text());
    }
    sim.shutdown().await;
}

#[test]
fn the_walker_catches_what_it_should() {
    let spec = Spec::load();
    let device = serde_json::json!({"$ref": "#/components/schemas/Device"});
    let mut p = Vec::new();
    spec.check(
        &device,
        &serde_json::json!({"hostname": "PC-1", "online": true, "lastSeen": 1_700_000_000_000_i64}),
        "d",
        &mut p,
    );
    assert!(p.is_empty(), "{p:?}");
    spec.check(
        &device,
        &serde_json::json!({"hostname": 5, "noSuchField": 1}),
        "d",
        &mut p,
    );
    assert_eq!(p.len(), 2, "{p:?}");
}
