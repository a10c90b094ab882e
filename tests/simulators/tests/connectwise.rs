//! The ConnectWise Manage simulator over real HTTP.

mod support;

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use simulators::connectwise::{CallbackSink, ConnectWiseConfig, ConnectWiseSim, Faults, sign};
use support::{HttpResponse, form_encode, request};

const CLIENT_ID: &str = "3f1c2b7a-0000-4000-8000-000000000001";

async fn start(config: ConnectWiseConfig) -> ConnectWiseSim {
    ConnectWiseSim::start(ConnectWiseConfig {
        reference_time_ms: Some(1_790_000_000_000),
        callback_retry_delays: vec![Duration::from_millis(20), Duration::from_millis(40)],
        ..config
    })
    .await
    .expect("start simulator")
}

fn basic(company: &str, public: &str, private: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{company}+{public}:{private}"))
    )
}

fn auth(sim: &ConnectWiseSim) -> String {
    let c = sim.config();
    basic(&c.company_id, &c.public_key, &c.private_key)
}

async fn call(
    sim: &ConnectWiseSim,
    method: &str,
    path: &str,
    body: Option<&Value>,
    extra: &[(&str, &str)],
) -> HttpResponse {
    let a = auth(sim);
    let mut headers = vec![
        ("Authorization", a.as_str()),
        ("clientId", CLIENT_ID),
        ("Content-Type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
    request(method, &format!("{}{path}", sim.api_url()), &headers, bytes.as_deref())
        .await
        .expect("request")
}

async fn get(sim: &ConnectWiseSim, path: &str) -> HttpResponse {
    call(sim, "GET", path, None, &[]).await
}

/// The `rel="next"` target of a Link header, if any.
fn next_link(r: &HttpResponse) -> Option<String> {
    let link = r.header("link")?;
    link.split(", ").find(|p| p.ends_with("rel=\"next\"")).map(|p| {
        let start = p.find('<').unwrap() + 1;
        let end = p.find('>').unwrap();
        p[start..end].to_string()
    })
}

#[tokio::test]
async fn companyinfo_and_auth() {
    let sim = start(ConnectWiseConfig {
        restricted_keys: Some(("RestrictedPub".into(), "RestrictedPriv".into())),
        ..ConnectWiseConfig::default()
    })
    .await;
    let info = request("GET", &format!("{}/login/companyinfo/SIMCO", sim.base_url()), &[], None)
        .await
        .unwrap();
    assert_eq!(info.status, 200);
    let body = info.json();
    assert_eq!(body["Codebase"], "v2025_1/");
    assert_eq!(body["CompanyID"], "simco");
    assert_eq!(body["IsCloud"], "True");
    assert!(sim.api_url().ends_with("/v2025_1/apis/3.0"));

    let unknown = request(
        "GET",
        &format!("{}/login/companyinfo/nobody", sim.base_url()),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(unknown.status, 404);

    let ok = get(&sim, "/system/info").await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(ok.json()["version"].is_string());

    // v4_6_release works as well.
    let legacy = request(
        "GET",
        &format!("{}/v4_6_release/apis/3.0/system/info", sim.base_url()),
        &[("Authorization", &auth(&sim)), ("clientId", CLIENT_ID)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(legacy.status, 200);

    let bad = basic("simco", &sim.config().public_key, "wrong");
    let r = request(
        "GET",
        &format!("{}/system/info", sim.api_url()),
        &[("Authorization", &bad), ("clientId", CLIENT_ID)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"code": "ConnectWiseApi", "message": "UserNotAuthenticated"})
    );

    let no_client = request(
        "GET",
        &format!("{}/system/info", sim.api_url()),
        &[("Authorization", &auth(&sim))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(no_client.status, 401);
    assert_eq!(no_client.json()["message"], "ClientId is required");

    let restricted = basic("simco", "RestrictedPub", "RestrictedPriv");
    let r = request(
        "GET",
        &format!("{}/system/info", sim.api_url()),
        &[("Authorization", &restricted), ("clientId", CLIENT_ID)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 403);

    let missing = get(&sim, "/nothing/here").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["message"], "The endpoint does not exist.");
    assert!(sim.stats().route("system_info") >= 4);
    assert_eq!(sim.stats().unauthorized_401, 1);
}

#[tokio::test]
async fn unknown_company_status_is_a_switch() {
    let sim = start(ConnectWiseConfig {
        unknown_company_status: 200,
        ..ConnectWiseConfig::default()
    })
    .await;
    let r = request(
        "GET",
        &format!("{}/login/companyinfo/nobody", sim.base_url()),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), Value::Null);
}

#[tokio::test]
async fn navigable_paging_and_conditions() {
    let sim = start(ConnectWiseConfig {
        companies: 60,
        ..ConnectWiseConfig::default()
    })
    .await;
    let all = sim.companies();
    let mut seen = Vec::new();
    let mut url = Some(format!("{}/company/companies?pageSize=7", sim.api_url()));
    let mut pages = 0;
    while let Some(u) = url {
        let r = request(
            "GET",
            &u,
            &[("Authorization", &auth(&sim)), ("clientId", CLIENT_ID)],
            None,
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        seen.extend(r.json().as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()));
        url = next_link(&r);
        pages += 1;
        assert!(pages < 100);
    }
    assert_eq!(seen.len(), all.len());
    assert_eq!(pages, all.len().div_ceil(7));
    let last = get(&sim, "/company/companies?pageSize=7&page=2").await;
    assert!(last.header("link").unwrap().contains("rel=\"first\""));

    // Default page size 25, max 1000.
    assert_eq!(
        get(&sim, "/company/companies").await.json().as_array().unwrap().len(),
        25
    );

    let deleted = get(
        &sim,
        &format!(
            "/company/companies?pageSize=1000&conditions={}",
            form_encode("deletedFlag=True")
        ),
    )
    .await;
    let expected = all.iter().filter(|c| c["deletedFlag"] == true).count();
    assert_eq!(deleted.json().as_array().unwrap().len(), expected);

    let first = &all[0];
    let name = first["name"].as_str().unwrap();
    let cond = format!(
        "name = \"{}\" AND (id = {} OR id < 0)",
        name.replace('\\', "\\\\").replace('"', "\\\""),
        first["id"]
    );
    let one = get(&sim, &format!("/company/companies?conditions={}", form_encode(&cond))).await;
    assert_eq!(one.json().as_array().unwrap()[0]["id"], first["id"]);

    let bad = get(
        &sim,
        &format!("/company/companies?conditions={}", form_encode("name = ")),
    )
    .await;
    assert_eq!(bad.status, 400);

    let count = get(&sim, "/company/companies/count").await;
    assert_eq!(count.json()["count"].as_u64().unwrap() as usize, all.len());

    let ordered = get(&sim, "/company/companies?orderBy=id%20desc&pageSize=3")
        .await
        .json();
    assert!(ordered[0]["id"].as_i64() > ordered[1]["id"].as_i64());

    let contacts = get(
        &sim,
        &format!(
            "/company/contacts?pageSize=1000&conditions={}",
            form_encode(&format!("company/id={}", first["id"]))
        ),
    )
    .await
    .json();
    assert!(
        contacts
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["company"]["id"] == first["id"])
    );
}

#[tokio::test]
async fn forward_only_paging_keeps_conditions_and_ends_on_empty_page() {
    let sim = start(ConnectWiseConfig {
        companies: 40,
        ..ConnectWiseConfig::default()
    })
    .await;
    let expected: Vec<i64> = sim
        .configurations()
        .iter()
        .filter(|c| c["activeFlag"] == true)
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    let mut url = Some(format!(
        "{}/company/configurations?pageSize=5&conditions={}",
        sim.api_url(),
        form_encode("activeFlag = true")
    ));
    let mut got: Vec<i64> = Vec::new();
    let mut pages = 0;
    while let Some(u) = url {
        assert!(u.contains("conditions="), "conditions dropped: {u}");
        let r = request(
            "GET",
            &u,
            &[
                ("Authorization", &auth(&sim)),
                ("clientId", CLIENT_ID),
                ("pagination-type", "forward-only"),
            ],
            None,
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        let ids: Vec<i64> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        got.extend(&ids);
        url = next_link(&r);
        if let (Some(u), Some(last)) = (&url, ids.last()) {
            assert!(u.contains(&format!("pageId={last}")));
        }
        pages += 1;
        assert!(pages < 200);
    }
    assert_eq!(got, expected);
    let orderby = call(
        &sim,
        "GET",
        "/company/configurations?orderBy=name",
        None,
        &[("pagination-type", "forward-only")],
    )
    .await;
    assert_eq!(orderby.status, 400);
}

#[tokio::test]
async fn tickets_create_patch_notes_and_errors() {
    let sim = start(ConnectWiseConfig::default()).await;
    let company = sim.companies()[0]["id"].as_i64().unwrap();
    let missing = call(
        &sim,
        "POST",
        "/service/tickets",
        Some(&json!({"company": {"id": company}})),
        &[],
    )
    .await;
    assert_eq!(missing.status, 400);
    let body = missing.json();
    assert_eq!(body["code"], "InvalidObject");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["summary", "board"]);

    let created = call(
        &sim,
        "POST",
        "/service/tickets",
        Some(
            &json!({"summary": "Disk full", "company": {"id": company}, "board": {"id": 2},
            "priority": {"id": 1}, "externalXRef": "alert-1", "initialDescription": "C: at 99%"}),
        ),
        &[],
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let t = created.json();
    let id = t["id"].as_i64().unwrap();
    assert_eq!(t["closedFlag"], false);
    assert_eq!(t["status"]["name"], "New");
    assert_eq!(sim.notes(id).len(), 1);

    let note = call(
        &sim,
        "POST",
        &format!("/service/tickets/{id}/notes"),
        Some(&json!({"text": "working on it", "internalAnalysisFlag": true})),
        &[],
    )
    .await;
    assert_eq!(note.status, 201);
    assert_eq!(sim.notes(id).len(), 2);

    let config = sim.configurations()[0]["id"].as_i64().unwrap();
    let attach = call(
        &sim,
        "POST",
        &format!("/service/tickets/{id}/configurations"),
        Some(&json!({"id": config})),
        &[],
    )
    .await;
    assert_eq!(attach.status, 201);
    assert_eq!(sim.ticket_configurations(id), vec![config]);

    let closed_status = sim
        .board_statuses(2)
        .into_iter()
        .find(|s| s["closedStatus"] == true)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let patched = call(
        &sim,
        "PATCH",
        &format!("/service/tickets/{id}"),
        Some(
            &json!([{"op": "replace", "path": "status", "value": {"id": closed_status}},
            {"op": "replace", "path": "summary", "value": "Disk full (fixed)"}]),
        ),
        &[],
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert_eq!(sim.ticket(id).unwrap()["closedFlag"], true);
    assert_eq!(sim.ticket(id).unwrap()["summary"], "Disk full (fixed)");

    let wrong_status = call(
        &sim,
        "PATCH",
        &format!("/service/tickets/{id}"),
        Some(&json!([{"op": "replace", "path": "status", "value": {"id": 1}}])),
        &[],
    )
    .await;
    assert_eq!(wrong_status.status, 400);

    let found = get(
        &sim,
        &format!(
            "/service/tickets?conditions={}",
            form_encode("externalXRef = \"alert-1\" and closedFlag = true")
        ),
    )
    .await;
    assert_eq!(found.json().as_array().unwrap().len(), 1);

    assert_eq!(
        call(&sim, "DELETE", &format!("/service/tickets/{id}"), None, &[])
            .await
            .status,
        204
    );
    assert_eq!(get(&sim, &format!("/service/tickets/{id}")).await.status, 404);
}

#[tokio::test]
async fn rate_limit_and_faults() {
    let sim = start(ConnectWiseConfig {
        rate_limit: 3,
        ..ConnectWiseConfig::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(get(&sim, "/system/info").await.status, 200);
    }
    let limited = get(&sim, "/system/info").await;
    assert_eq!(limited.status, 429);
    let secs: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs));
    assert_eq!(limited.json()["error"], "ConnectWiseAPI");
    sim.reset_limits();
    assert_eq!(get(&sim, "/system/info").await.status, 200);

    // Fail the third page of companies.
    sim.reset_limits();
    sim.set_faults(Faults {
        path_contains: Some("/company/companies".into()),
        after_successes: 2,
        fail_next: 1,
        status: 503,
        ..Faults::default()
    });
    assert_eq!(get(&sim, "/company/companies?page=1").await.status, 200);
    assert_eq!(get(&sim, "/system/info").await.status, 200);
    assert_eq!(get(&sim, "/company/companies?page=2").await.status, 200);
    sim.reset_limits();
    assert_eq!(get(&sim, "/company/companies?page=3").await.status, 503);
    assert_eq!(get(&sim, "/company/companies?page=3").await.status, 200);

    // Admin faults over HTTP.
    let r = request(
        "POST",
        &format!("{}/_sim/faults", sim.base_url()),
        &[],
        Some(br#"{"force_429_next": 1, "retry_after_secs": 7}"#),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    sim.reset_limits();
    let forced = get(&sim, "/system/info").await;
    assert_eq!(forced.status, 429);
    assert_eq!(forced.header("retry-after"), Some("7"));
    let stats = request("GET", &format!("{}/_sim/stats", sim.base_url()), &[], None)
        .await
        .unwrap();
    assert!(stats.json()["rate_limited_429"].as_u64().unwrap() >= 2);
}

#[tokio::test]
async fn callbacks_register_validate_and_deliver_signed() {
    let sim = start(ConnectWiseConfig::default()).await;
    let sink = CallbackSink::start().await.unwrap();
    let url = format!("{}/hook?id=", sink.url());
    let body = json!({"url": url, "objectId": 0, "type": "ticket", "level": "owner", "description": "rmmsync"});
    let r = call(&sim, "POST", "/system/callbacks", Some(&body), &[]).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let cb = r.json();
    assert_eq!(cb["objectId"], 1);
    assert_eq!(cb["payloadVersion"], "3.0.0");
    assert!(cb.get("_keyId").is_none());

    let dup = call(&sim, "POST", "/system/callbacks", Some(&body), &[]).await;
    assert_eq!(dup.status, 400);
    assert_eq!(dup.json()["errors"][0]["code"], "ObjectExists");

    let invalid = call(
        &sim,
        "POST",
        "/system/callbacks",
        Some(&json!({"url": "not a url", "objectId": 1, "type": "ticket", "level": "planet"})),
        &[],
    )
    .await;
    assert_eq!(invalid.status, 400);
    let invalid = invalid.json();
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["url", "level"]);

    let company = sim.companies()[0]["id"].as_i64().unwrap();
    let t = call(
        &sim,
        "POST",
        "/service/tickets",
        Some(&json!({"summary": "Alert", "company": {"id": company}, "board": {"id": 1}})),
        &[],
    )
    .await
    .json();
    let id = t["id"].as_i64().unwrap();
    sim.close_ticket(id);
    let got = sink.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2);
    let closed = got
        .iter()
        .find(|g| g.json()["Action"] == "updated")
        .expect("an updated callback");
    assert_eq!(closed.target, format!("/hook?id={id}"));
    let payload = closed.json();
    assert_eq!(payload["Type"], "ticket");
    assert_eq!(payload["ID"], id);
    assert_eq!(payload["CallbackObjectRecId"], cb["id"]);
    let entity: Value = serde_json::from_str(payload["Entity"].as_str().unwrap()).unwrap();
    assert_eq!(entity["closedFlag"], true);

    let key_url = payload["Metadata"]["key_url"].as_str().unwrap();
    let key = request("GET", key_url, &[], None).await.unwrap();
    assert_eq!(key.status, 200);
    let signing_key = key.json()["signing_key"].as_str().unwrap().to_string();
    assert_eq!(
        closed.header("x-content-signature").unwrap(),
        sign(&signing_key, &closed.body)
    );
    assert_ne!(sign(&signing_key, b"{}"), sign(&signing_key, &closed.body));

    // Deliveries are recorded; skipCallback sends nothing.
    assert_eq!(sim.deliveries().len(), 2);
    let patch = call(
        &sim,
        "PATCH",
        &format!("/service/tickets/{id}"),
        Some(&json!([{"op": "replace", "path": "summary", "value": "quiet"}, {"op": "replace", "path": "skipCallback", "value": true}])),
        &[],
    )
    .await;
    assert_eq!(patch.status, 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sink.received().len(), 2);
}

#[tokio::test]
async fn callback_retries_and_self_suppression() {
    let sim = start(ConnectWiseConfig::default()).await;
    let sink = CallbackSink::start().await.unwrap();
    sink.respond_with(&[429, 404, 500]);
    let r = call(
        &sim,
        "POST",
        "/system/callbacks",
        Some(
            &json!({"url": format!("{}/cw?id=", sink.url()), "objectId": 1, "type": "ticket", "level": "owner",
            "isSelfSuppressedFlag": true}),
        ),
        &[],
    )
    .await;
    assert_eq!(r.status, 201);
    let company = sim.companies()[0]["id"].as_i64().unwrap();
    // Made with the creator's keys: suppressed.
    let t = call(
        &sim,
        "POST",
        "/service/tickets",
        Some(&json!({"summary": "Mine", "company": {"id": company}, "board": {"id": 1}})),
        &[],
    )
    .await
    .json();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(sink.received().is_empty());
    // A technician's change is delivered; 429, 404 retried, then 500 is final.
    let admin = request(
        "POST",
        &format!("{}/_sim/tickets/{}/close", sim.base_url(), t["id"]),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(admin.status, 200, "{}", admin.text());
    let attempts = sim.wait_for_deliveries(3, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let attempts_after = sim.deliveries();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts_after.len(), 3);
    let statuses: Vec<Option<u16>> = attempts_after.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [Some(429), Some(404), Some(500)]);
    assert_eq!(attempts_after.iter().map(|d| d.attempt).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(
        attempts_after
            .iter()
            .all(|d| d.message_id == attempts_after[0].message_id)
    );
}

#[tokio::test]
async fn configurations_crud_fields_and_search() {
    let sim = start(ConnectWiseConfig::default()).await;
    let company = sim.companies()[0]["id"].as_i64().unwrap();
    let missing = call(
        &sim,
        "POST",
        "/company/configurations",
        Some(&json!({"name": "x"})),
        &[],
    )
    .await;
    assert_eq!(missing.status, 400);
    let created = call(
        &sim,
        "POST",
        "/company/configurations",
        Some(&json!({"name": "NEW-WS", "type": {"id": 1}, "company": {"id": company},
            "deviceIdentifier": "abc"})),
        &[],
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_i64().unwrap();
    assert_eq!(created.json()["type"]["name"], "Workstation");

    let patched = call(
        &sim,
        "PATCH",
        &format!("/company/configurations/{id}"),
        Some(&json!([{"op": "replace", "path": "name", "value": "RENAMED"},
            {"op": "replace", "path": "noSuchField", "value": 1}])),
        &[],
    )
    .await;
    assert_eq!(patched.status, 200);
    assert_eq!(patched.json()["name"], "RENAMED");
    assert!(patched.json().get("noSuchField").is_none(), "unknown paths are ignored");
    let not_array = call(
        &sim,
        "PATCH",
        &format!("/company/configurations/{id}"),
        Some(&json!({"name": "x"})),
        &[],
    )
    .await;
    assert_eq!(not_array.status, 400);

    let fields = get(
        &sim,
        &format!(
            "/company/configurations/?fields=id,name&conditions={}",
            form_encode(&format!("id={id}"))
        ),
    )
    .await;
    assert_eq!(fields.json(), json!([{"id": id, "name": "RENAMED"}]));

    let search = call(
        &sim,
        "POST",
        "/service/tickets/search",
        Some(&json!({"conditions": "closedFlag = False AND board/id in (1, 2, 3)"})),
        &[],
    )
    .await;
    assert_eq!(search.status, 200);
    assert_eq!(
        search.json().as_array().unwrap().len(),
        sim.tickets()
            .iter()
            .filter(|t| t["closedFlag"] == false)
            .count()
            .min(25)
    );

    assert_eq!(
        call(&sim, "DELETE", &format!("/company/configurations/{id}"), None, &[])
            .await
            .status,
        204
    );
    assert_eq!(get(&sim, &format!("/company/configurations/{id}")).await.status, 404);
    let wrong_method = call(&sim, "PUT", "/company/companies", None, &[]).await;
    assert_eq!(wrong_method.status, 405);
}
