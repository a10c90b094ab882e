//! The route table is written once, in the routers: `docs/openapi.json` must
//! be what they generate, and `infra/template.yaml`'s HttpApi routes must be
//! the routes the document lists (no moto needed).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const REGENERATE: &str = "cargo run -p rmmsync-tests --bin openapi > docs/openapi.json \
                          (or UPDATE_OPENAPI=1 cargo test -p rmmsync-tests --test openapi)";

/// Template routes whose flow is not on an axum router yet, so the document
/// does not list them (`"METHOD /path"`, as in the template). Every flow is
/// on axum now and this list MUST stay empty: the template and the document
/// are held equal, route for route. It exists for a flow that has to be
/// deployed before its router is written; its conversion deletes its lines
/// (the test fails while a listed route is in the document).
const NOT_YET_ON_ROUTERS: &[&str] = &[];

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

#[test]
fn docs_openapi_json_is_what_the_routers_generate() {
    let generated = rmmsync_tests::local_api::openapi_json();
    let path = repo_file("docs/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "docs/openapi.json is not what the routers generate (first difference at line {}). \
             Regenerate it with:\n    {REGENERATE}\nand commit it.",
            first_difference + 1
        );
    }
}

/// One HttpApi event of the template.
#[derive(Debug, Clone)]
struct TemplateRoute {
    function: String,
    method: String,
    path: String,
    /// `Auth: { Authorizer: NONE }`: no JWT.
    public: bool,
}

/// The value after `key:` in `text` (inline `{ a: b, key: v }` or a line of
/// its own), without quotes.
fn yaml_value(text: &str, key: &str) -> Option<String> {
    let at = text.find(&format!("{key}:"))? + key.len() + 1;
    let rest = text[at..].trim_start_matches(' ');
    if let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) {
        let quoted = &rest[1..];
        return Some(quoted[..quoted.find(quote)?].to_owned());
    }
    let end = rest.find([',', '}', '\n']).unwrap_or(rest.len());
    Some(rest[..end].trim().to_owned())
}

/// The HttpApi events of `infra/template.yaml`, read line by line: the
/// template's shape is regular (resources at two spaces, `Events:` at six,
/// each event at eight, its properties deeper, inline or as a block), and
/// serde_yaml is not worth a dependency for this.
fn template_routes() -> Vec<TemplateRoute> {
    let text = std::fs::read_to_string(repo_file("infra/template.yaml")).expect("read infra/template.yaml");
    let indent = |line: &str| line.len() - line.trim_start().len();
    let mut routes = Vec::new();
    let mut function = String::new();
    let mut in_events = false;
    let mut event: Option<String> = None;
    let mut finish = |event: &mut Option<String>, function: &str| {
        if let Some(body) = event.take()
            && yaml_value(&body, "Type").as_deref() == Some("HttpApi")
        {
            routes.push(TemplateRoute {
                function: function.to_owned(),
                method: yaml_value(&body, "Method")
                    .expect("an HttpApi event has a Method")
                    .to_uppercase(),
                path: yaml_value(&body, "Path").expect("an HttpApi event has a Path"),
                public: yaml_value(&body, "Authorizer").as_deref() == Some("NONE"),
            });
        }
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match indent(line) {
            0 => {
                finish(&mut event, &function);
                in_events = false;
            }
            2 => {
                finish(&mut event, &function);
                function = trimmed.trim_end_matches(':').to_owned();
                in_events = false;
            }
            n if n <= 6 => {
                finish(&mut event, &function);
                in_events = n == 6 && trimmed == "Events:";
            }
            8 if in_events => {
                finish(&mut event, &function);
                event = Some(String::new());
            }
            _ => {
                if let Some(body) = event.as_mut() {
                    body.push_str(trimmed);
                    body.push('\n');
                }
            }
        }
    }
    finish(&mut event, &function);
    routes
}

/// `METHOD /path` of every operation in the document, with whether it needs the JWT.
fn document_routes() -> BTreeMap<String, bool> {
    let doc: Value = serde_json::from_str(&rmmsync_tests::local_api::openapi_json()).unwrap();
    let mut routes = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if ["get", "put", "post", "delete", "patch", "head", "options", "trace"].contains(&method.as_str()) {
                let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
                routes.insert(format!("{} {path}", method.to_uppercase()), secured);
            }
        }
    }
    routes
}

#[test]
fn the_template_reader_finds_every_http_api_event() {
    let routes = template_routes();
    assert!(
        routes.len() >= 40,
        "found only {} HttpApi routes: {routes:#?}",
        routes.len()
    );
    let create = routes
        .iter()
        .find(|r| r.method == "POST" && r.path == "/companies")
        .unwrap();
    assert_eq!(create.function, "CompaniesFunction");
    let hook = routes
        .iter()
        .find(|r| r.path == "/hooks/datto/{integrationId}/alerts")
        .unwrap();
    assert!(hook.public && hook.method == "POST", "{hook:?}");
    assert!(
        routes
            .iter()
            .filter(|r| r.public)
            .all(|r| r.path.starts_with("/hooks/"))
    );
}

#[test]
fn the_template_serves_exactly_the_routes_of_the_routers() {
    let template = template_routes();
    let doc = document_routes();
    let pending: BTreeSet<&str> = NOT_YET_ON_ROUTERS.iter().copied().collect();
    let mut problems = Vec::new();

    // A template route `ANY /p` covers every method the document has for `/p`.
    let covered = |route: &str| {
        let (method, path) = route.split_once(' ').unwrap();
        template
            .iter()
            .any(|t| t.path == path && (t.method == method || t.method == "ANY"))
    };
    for route in doc.keys() {
        if !covered(route) {
            problems.push(format!(
                "{route} is served by a router but infra/template.yaml routes nothing to it: add an HttpApi event"
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for t in &template {
        let route = format!("{} {}", t.method, t.path);
        if !seen.insert(route.clone()) {
            problems.push(format!("{route} appears twice in infra/template.yaml"));
        }
        let in_doc = if t.method == "ANY" {
            doc.keys().any(|r| r.split_once(' ').unwrap().1 == t.path)
        } else {
            doc.contains_key(&route)
        };
        match (in_doc, pending.contains(route.as_str())) {
            (true, true) => problems.push(format!(
                "{route} ({}) is on a router now: delete it from NOT_YET_ON_ROUTERS in tests/harness/tests/openapi.rs",
                t.function
            )),
            (false, false) => problems.push(format!(
                "{route} ({}) is in infra/template.yaml but no router serves it",
                t.function
            )),
            _ => {}
        }
        if in_doc {
            // The JWT authorizer guards exactly what the document says needs the JWT.
            let secured = doc
                .iter()
                .filter(|(r, _)| r.split_once(' ').unwrap().1 == t.path && (t.method == "ANY" || **r == route))
                .all(|(_, secured)| *secured);
            if secured == t.public {
                problems.push(format!(
                    "{route}: the template {} the JWT authorizer but the document says it {}",
                    if t.public { "turns off" } else { "keeps" },
                    if secured { "needs the JWT" } else { "needs none" }
                ));
            }
        }
    }
    for route in &pending {
        if !seen.contains(*route) {
            problems.push(format!(
                "NOT_YET_ON_ROUTERS lists {route}, which infra/template.yaml does not have"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "infra/template.yaml and the routers disagree:\n  {}",
        problems.join("\n  ")
    );
    if !pending.is_empty() {
        eprintln!(
            "note: {} template routes are not yet on routers (NOT_YET_ON_ROUTERS; must be empty once every flow is on axum)",
            pending.len()
        );
    }
}

#[test]
fn every_route_but_the_webhooks_needs_the_jwt() {
    for (route, secured) in document_routes() {
        let hook = route.split_once(' ').unwrap().1.starts_with("/hooks/");
        assert_eq!(secured, !hook, "{route}");
    }
}
