//! The Autotask simulator over real HTTP.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use simulators::autotask::{AutotaskConfig, AutotaskSim, CalloutConfig, CalloutFormat, Entity, Faults};
use support::{HttpResponse, request};
use tokio::net::TcpListener;

const USER: &str = "api.user@msp.example";
const SECRET: &str = "s3cret&=+";
const CODE: &str = "TRACKING-ID";

fn config() -> AutotaskConfig {
    AutotaskConfig {
        username: USER.into(),
        secret: SECRET.into(),
        integration_codes: vec![CODE.into()],
        reference_time_ms: Some(1_790_000_000_000),
        usage_latency: false,
        ..AutotaskConfig::default()
    }
}

async fn start(config: AutotaskConfig) -> AutotaskSim {
    AutotaskSim::start(config).await.expect("start simulator")
}

fn auth() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ApiIntegrationCode", CODE),
        ("UserName", USER),
        ("Secret", SECRET),
        ("Content-Type", "application/json"),
    ]
}

async fn call(method: &str, url: &str, body: Option<&Value>) -> HttpResponse {
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
    request(method, url, &auth(), bytes.as_deref()).await.expect("request")
}

fn url(sim: &AutotaskSim, path: &str) -> String {
    format!("{}/{path}", sim.api_url())
}

fn all() -> Value {
    json!({"filter": [{"op": "exist", "field": "id"}]})
}

#[tokio::test]
async fn zone_information_without_auth_and_unknown_user() {
    let sim = start(config()).await;
    let r = request(
        "GET",
        &format!("{}?user={}", sim.zone_information_url(), "API.User%40msp.example"),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let z = r.json();
    assert_eq!(z["url"], sim.rest_root());
    assert!(z["url"].as_str().unwrap().ends_with("/ATServicesRest/"));
    assert!(z["zoneName"].is_string() && z["webUrl"].is_string() && z["ci"].is_number());

    let unknown = request("GET", &format!("{}?user=nobody", sim.zone_information_url()), &[], None)
        .await
        .unwrap();
    assert_eq!(unknown.status, 500);
    assert_eq!(
        unknown.json(),
        json!({"errors": ["Zone information could not be determined"]})
    );

    // Upper-case path too; zone information is not counted against the threshold.
    let upper = format!("{}/ATServicesRest/V1.0/ZoneInformation?user={USER}", sim.base_url());
    assert_eq!(request("GET", &upper, &[], None).await.unwrap().status, 200);
    assert_eq!(sim.requests_in_window(), 0);
    assert_eq!(sim.stats().route("zoneInformation"), 3);
}

#[tokio::test]
async fn three_headers_case_insensitive_401_empty_and_403() {
    let sim = start(AutotaskConfig {
        restricted_user: Some(("limited@msp.example".into(), "x".into())),
        ..config()
    })
    .await;
    let version = url(&sim, "Version");
    let ok = call("GET", &version, None).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(ok.json()["majorVersion"].is_number());

    let lower = request(
        "GET",
        &format!("{}/atservicesrest/v1.0/version", sim.base_url()),
        &[("apiintegrationcode", CODE), ("username", USER), ("SECRET", SECRET)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(lower.status, 200);

    for headers in [
        vec![("ApiIntegrationCode", CODE), ("UserName", USER), ("Secret", "wrong")],
        vec![("ApiIntegrationCode", "OTHER"), ("UserName", USER), ("Secret", SECRET)],
        vec![("UserName", USER), ("Secret", SECRET)],
    ] {
        let r = request("GET", &version, &headers, None).await.unwrap();
        assert_eq!(r.status, 401);
        assert!(r.body.is_empty());
    }
    let restricted = request(
        "GET",
        &version,
        &[
            ("ApiIntegrationCode", CODE),
            ("UserName", "limited@msp.example"),
            ("Secret", "x"),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(restricted.status, 403);
    assert_eq!(sim.stats().unauthorized_401, 3);
}

#[tokio::test]
async fn post_paging_sorted_by_id_with_post_next_and_count() {
    let sim = start(AutotaskConfig {
        companies: 1_100,
        max_contacts_per_company: 0,
        max_cis_per_company: 0,
        tickets: Some(0),
        ..config()
    })
    .await;
    let body = all();
    let first = call("POST", &url(&sim, "Companies/query"), Some(&body)).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let page = first.json();
    assert_eq!(page["pageDetails"]["count"], 500);
    assert_eq!(page["pageDetails"]["requestCount"], 500);
    assert!(page["pageDetails"]["prevPageUrl"].is_null());
    let next = page["pageDetails"]["nextPageUrl"].as_str().unwrap().to_string();
    assert!(next.contains("/Companies/query/next?paging="), "{next}");

    // GET on a POST query's next page: 405. Another body: refused.
    assert_eq!(call("GET", &next, None).await.status, 405);
    let other = json!({"filter": [{"op": "gt", "field": "id", "value": 0}]});
    assert_eq!(call("POST", &next, Some(&other)).await.status, 500);

    let mut ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    let mut url_next = Some(next);
    let mut pages = 1;
    while let Some(u) = url_next {
        let r = call("POST", &u, Some(&body)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let p = r.json();
        ids.extend(p["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()));
        assert!(p["pageDetails"]["prevPageUrl"].is_string());
        url_next = p["pageDetails"]["nextPageUrl"].as_str().map(str::to_string);
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, sim.ids(Entity::Companies));
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    let count = call("POST", &url(&sim, "Companies/query/count"), Some(&body)).await;
    assert_eq!(count.json(), json!({"queryCount": 1_100}));
    assert_eq!(sim.stats().pages("Companies"), 3);

    // maxRecords above 500 is clamped; below, honoured.
    let small = call(
        "POST",
        &url(&sim, "companies/QUERY"),
        Some(&json!({"Filter": body["filter"], "MaxRecords": 7})),
    )
    .await;
    assert_eq!(small.json()["pageDetails"]["count"], 7);
}

#[tokio::test]
async fn full_last_page_switch_and_get_search_paging() {
    let sim = start(AutotaskConfig {
        companies: 10,
        next_url_on_full_last_page: true,
        ..config()
    })
    .await;
    let body = json!({"filter": [{"op": "exist", "field": "id"}], "maxRecords": 5});
    let p1 = call("POST", &url(&sim, "Companies/query"), Some(&body)).await.json();
    let p2 = call("POST", p1["pageDetails"]["nextPageUrl"].as_str().unwrap(), Some(&body))
        .await
        .json();
    assert_eq!(p2["pageDetails"]["count"], 5);
    let p3 = call("POST", p2["pageDetails"]["nextPageUrl"].as_str().unwrap(), Some(&body))
        .await
        .json();
    assert_eq!(p3["pageDetails"]["count"], 0);
    assert!(p3["pageDetails"]["nextPageUrl"].is_null());

    // GET ?search= pages are followed with GET.
    let search = support_encode(&body.to_string());
    let g1 = call("GET", &url(&sim, &format!("Companies/query?search={search}")), None).await;
    assert_eq!(g1.status, 200, "{}", g1.text());
    let next = g1.json()["pageDetails"]["nextPageUrl"].as_str().unwrap().to_string();
    let g2 = call("GET", &next, None).await;
    assert_eq!(g2.status, 200, "{}", g2.text());
    assert_eq!(g2.json()["items"][0]["id"], sim.ids(Entity::Companies)[5]);
}

fn support_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn filters_fields_and_refusals() {
    let sim = start(config()).await;
    let contacts = call("POST", &url(&sim, "Contacts/query"), Some(&all())).await.json();
    let items = contacts["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|c| c["isActive"] == 0 || c["isActive"] == 1));

    let types = json!({"filter": [{"op": "in", "field": "CompanyType", "value": [3, 7]}]});
    let r = call("POST", &url(&sim, "Companies/query"), Some(&types)).await.json();
    assert!(
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["companyType"] == 3 || c["companyType"] == 7)
    );

    let grouped = json!({"filter": [{"op": "or", "items": [
        {"op": "eq", "field": "id", "value": sim.ids(Entity::Companies)[0]},
        {"op": "eq", "field": "id", "value": sim.ids(Entity::Companies)[1]}]}]});
    assert_eq!(
        call("POST", &url(&sim, "Companies/query"), Some(&grouped)).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    for bad in [
        json!({}),
        json!({"filter": []}),
        json!({"filter": [{"op": "eq", "field": "bogus", "value": 1}]}),
    ] {
        let r = call("POST", &url(&sim, "Companies/query"), Some(&bad)).await;
        assert_eq!(r.status, 500);
        assert!(r.json()["errors"][0].is_string());
    }

    let id = sim.ids(Entity::Companies)[0];
    let one = call("GET", &url(&sim, &format!("Companies/{id}")), None).await;
    assert_eq!(one.json()["item"]["id"], id);
    assert_eq!(call("GET", &url(&sim, "Companies/1"), None).await.status, 404);

    let fields = call("GET", &url(&sim, "Tickets/entityInformation/fields"), None)
        .await
        .json();
    let status = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "status")
        .unwrap();
    let labels: Vec<(&str, &str)> = status["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["value"].as_str().unwrap(), v["label"].as_str().unwrap()))
        .collect();
    assert!(
        labels.contains(&("1", "New")) && labels.contains(&("5", "Complete")) && labels.contains(&("8", "In Progress"))
    );
    let priority = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "priority")
        .unwrap();
    assert_eq!(priority["picklistValues"][3]["label"], "Critical");
    let sub = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "subIssueType")
        .unwrap();
    assert_eq!(sub["picklistParentValueField"], "issueType");

    let ci = call(
        "POST",
        &url(&sim, "ConfigurationItems/query"),
        Some(&json!({"filter": [{"op": "exist", "field": "rmmDeviceUID"}]})),
    )
    .await
    .json();
    assert!(
        ci["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["rmmDeviceUID"].is_string())
    );
    let threshold = call("GET", &url(&sim, "ThresholdInformation"), None).await.json();
    assert_eq!(threshold["externalRequestThreshold"], 10_000);
    assert_eq!(threshold["requestThresholdTimeframe"], 60);
    assert!(threshold["currentTimeframeRequestCount"].as_u64().unwrap() >= 10);
}

/// A tiny HTTP receiver that records request heads and bodies and answers `status`.
async fn receiver(status: u16) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    if stream.readable().await.is_err() {
                        return;
                    }
                    match stream.try_read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        Err(_) => return,
                    }
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                store.lock().unwrap().push(String::from_utf8_lossy(&buf).to_string());
                let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = stream.writable().await;
                let _ = stream.try_write(answer.as_bytes());
            });
        }
    });
    (format!("http://{addr}/callout"), seen)
}

#[tokio::test]
async fn tickets_create_validate_patch_notes_and_callouts() {
    let sim = start(config()).await;
    let (callout_url, seen) = receiver(200).await;
    sim.set_callout(CalloutConfig {
        url: callout_url.clone(),
        format: CalloutFormat::Json,
        username: "cb-user".into(),
        password: "cb-pass".into(),
        ..CalloutConfig::default()
    });
    let company = sim.ids(Entity::Companies)[0];
    let tickets = url(&sim, "Tickets");
    let ok_body = json!({"CompanyID": company, "title": "Disk full", "status": 1, "priority": 2, "QueueID": 8,
                         "rmmAlertID": "alert-1", "description": "C: is at 99 %"});
    let created = call("POST", &tickets, Some(&ok_body)).await;
    assert_eq!(created.status, 200, "{}", created.text());
    let id = created.json()["itemId"].as_i64().unwrap();
    let t = sim.ticket(id).unwrap();
    assert_eq!(
        (t.company_id, t.status, t.queue_id, t.rmm_alert_id.as_deref()),
        (company, 1, Some(8), Some("alert-1"))
    );
    assert!(t.ticket_number.starts_with('T'));

    for missing in ["companyID", "title", "status", "priority", "queueID"] {
        let mut b = ok_body.clone();
        let key = b
            .as_object()
            .unwrap()
            .keys()
            .find(|k| k.eq_ignore_ascii_case(missing))
            .unwrap()
            .clone();
        b.as_object_mut().unwrap().remove(&key);
        let r = call("POST", &tickets, Some(&b)).await;
        assert_eq!(r.status, 500, "{missing}");
        assert!(
            r.json()["errors"][0].as_str().unwrap().contains(missing),
            "{}",
            r.text()
        );
    }
    let mut long = ok_body.clone();
    long["title"] = json!("x".repeat(256));
    assert_eq!(call("POST", &tickets, Some(&long)).await.status, 500);
    let mut bad_status = ok_body.clone();
    bad_status["status"] = json!(99);
    assert_eq!(call("POST", &tickets, Some(&bad_status)).await.status, 500);

    // Notes: child route only.
    let note = json!({"title": "Update", "description": "Still full", "noteType": 1, "publish": 1});
    let n = call("POST", &url(&sim, &format!("Tickets/{id}/Notes")), Some(&note)).await;
    assert_eq!(n.status, 200, "{}", n.text());
    assert_eq!(call("POST", &url(&sim, "TicketNotes"), Some(&note)).await.status, 404);
    assert_eq!(sim.notes(id).len(), 1);
    assert_eq!(sim.notes(id)[0].description, "Still full");

    // Completing through PATCH fires the callout once.
    let patch = call(
        "PATCH",
        &tickets,
        Some(&json!({"id": id, "status": 5, "resolution": "Cleaned up"})),
    )
    .await;
    assert_eq!(patch.json(), json!({"itemId": id}));
    assert_eq!(sim.ticket(id).unwrap().status, 5);
    let deliveries = sim.wait_for_callouts(1, Duration::from_secs(5)).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Some(200));
    let body: Value = serde_json::from_str(&deliveries[0].body).unwrap();
    assert_eq!(body["id"], id);
    assert_eq!(body["status"], 5);
    assert_eq!(body["rmmAlertID"], "alert-1");
    let raw = seen.lock().unwrap()[0].clone();
    assert!(raw.starts_with("POST /callout HTTP/1.1"));
    assert!(raw.contains("Authorization: Basic Y2ItdXNlcjpjYi1wYXNz"), "{raw}");
    // Patching it again (already complete) does not fire again.
    call("PATCH", &tickets, Some(&json!({"id": id, "title": "Disk full (done)"}))).await;

    // Admin completion, form encoding, UDF filter.
    sim.set_callout(CalloutConfig {
        url: callout_url,
        format: CalloutFormat::Form,
        udf_filter: Some("RMM Alert".into()),
        ..CalloutConfig::default()
    });
    let plain = call("POST", &tickets, Some(&ok_body)).await.json()["itemId"]
        .as_i64()
        .unwrap();
    let mut with_udf = ok_body.clone();
    with_udf["userDefinedFields"] = json!([{"name": "RMM Alert", "value": "alert-2"}]);
    with_udf["rmmAlertID"] = json!("alert-2");
    let flagged = call("POST", &tickets, Some(&with_udf)).await.json()["itemId"]
        .as_i64()
        .unwrap();
    assert!(sim.complete_ticket(plain));
    let admin = request(
        "POST",
        &format!("{}/_sim/tickets/{flagged}/complete", sim.base_url()),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(admin.status, 200);
    let deliveries = sim.wait_for_callouts(2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let deliveries_after = sim.callout_deliveries();
    assert_eq!(deliveries_after.len(), 2, "{deliveries:?}");
    assert_eq!(deliveries_after[1].ticket_id, flagged);
    assert_eq!(deliveries_after[1].content_type, "application/x-www-form-urlencoded");
    assert!(deliveries_after[1].body.contains("rmmAlertID=alert-2"));
    assert!(deliveries_after[1].body.contains(&format!("id={flagged}&")));
}

#[tokio::test]
async fn failed_callout_is_recorded_and_not_retried_by_default() {
    let sim = start(config()).await;
    let (callout_url, _) = receiver(503).await;
    let admin = request(
        "POST",
        &format!("{}/_sim/callout", sim.base_url()),
        &[],
        Some(json!({"url": callout_url, "format": "json"}).to_string().as_bytes()),
    )
    .await
    .unwrap();
    assert_eq!(admin.status, 200, "{}", admin.text());
    let id = sim.tickets().iter().find(|t| t.status != 5).unwrap().id;
    assert!(sim.complete_ticket(id));
    let d = sim.wait_for_callouts(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sim.callout_deliveries().len(), 1);
    assert_eq!(d[0].status, Some(503));
}

#[tokio::test]
async fn thread_limit_per_endpoint_and_integration_code() {
    let sim = start(AutotaskConfig {
        latency: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let u = if i < 5 {
            url(&sim, "Companies/query")
        } else {
            url(&sim, "Contacts/query")
        };
        tasks.push(tokio::spawn(async move { call("POST", &u, Some(&all())).await }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 429 {
            assert!(
                r.text().contains("thread threshold of 3 threads has been exceeded"),
                "{}",
                r.text()
            );
            assert!(r.header("retry-after").is_none());
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses[..5].iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");
    assert_eq!(statuses[5], 200);
    let stats = sim.stats();
    assert_eq!(stats.max_concurrency("Companies"), 3);
    assert_eq!(stats.thread_limited, 2);
}

#[tokio::test]
async fn hourly_threshold_429_retry_after_switch_and_reset() {
    let sim = start(AutotaskConfig {
        hourly_limit: 4,
        retry_after_secs: Some(7),
        ..config()
    })
    .await;
    for _ in 0..4 {
        assert_eq!(call("GET", &url(&sim, "Version"), None).await.status, 200);
    }
    let over = call("GET", &url(&sim, "ThresholdInformation"), None).await;
    assert_eq!(over.status, 429);
    assert_eq!(over.header("retry-after"), Some("7"));
    assert_eq!(sim.stats().threshold_limited, 1);
    sim.reset_limits();
    let t = call("GET", &url(&sim, "ThresholdInformation"), None).await.json();
    assert_eq!(t["currentTimeframeRequestCount"], 1);
    assert_eq!(t["externalRequestThreshold"], 4);
}

#[tokio::test]
async fn fault_after_k_pages_breaks_a_walk() {
    let sim = start(AutotaskConfig {
        companies: 30,
        ..config()
    })
    .await;
    sim.set_faults(Faults {
        fail_entity: Some("companies".into()),
        fail_after_pages: 2,
        status: 503,
        ..Faults::default()
    });
    let body = json!({"filter": [{"op": "exist", "field": "id"}], "maxRecords": 10});
    let p1 = call("POST", &url(&sim, "Companies/query"), Some(&body)).await;
    assert_eq!(p1.status, 200);
    let p2 = call(
        "POST",
        p1.json()["pageDetails"]["nextPageUrl"].as_str().unwrap(),
        Some(&body),
    )
    .await;
    assert_eq!(p2.status, 200);
    let p3 = call(
        "POST",
        p2.json()["pageDetails"]["nextPageUrl"].as_str().unwrap(),
        Some(&body),
    )
    .await;
    assert_eq!(p3.status, 503);
    // Other entities are untouched.
    assert_eq!(
        call("POST", &url(&sim, "Contacts/query"), Some(&all())).await.status,
        200
    );

    // Through the admin route: fail_next with a status.
    let r = request(
        "POST",
        &format!("{}/_sim/faults", sim.base_url()),
        &[],
        Some(br#"{"fail_next": 1, "status": 502}"#),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(call("GET", &url(&sim, "Version"), None).await.status, 502);
    assert_eq!(call("GET", &url(&sim, "Version"), None).await.status, 200);
    let info = request("GET", &format!("{}/_sim/info", sim.base_url()), &[], None)
        .await
        .unwrap()
        .json();
    assert_eq!(info["counts"]["Companies"], 30);
    assert!(!info.to_string().contains(SECRET));
}

#[tokio::test]
async fn usage_latency_and_switches_for_get_next_and_missing_items() {
    let sim = start(AutotaskConfig {
        hourly_limit: 4,
        usage_latency: true,
        allow_get_next_after_post: true,
        missing_item_status: 200,
        companies: 8,
        ..config()
    })
    .await;
    // 1st request: 25 % used, no delay; 2nd: 50 % → 0.5 s.
    let body = json!({"filter": [{"op": "exist", "field": "id"}], "maxRecords": 5});
    let started = std::time::Instant::now();
    let first = call("POST", &url(&sim, "Companies/query"), Some(&body)).await.json();
    assert!(started.elapsed() < Duration::from_millis(400));
    let next = first["pageDetails"]["nextPageUrl"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let second = call("GET", &next, None).await;
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(second.status, 200, "GET allowed by the switch: {}", second.text());
    assert_eq!(second.json()["pageDetails"]["count"], 3);
    assert!(second.json()["pageDetails"]["nextPageUrl"].is_null());
    // Pages after a GET page keep the query too.
    let small = json!({"filter": [{"op": "exist", "field": "id"}], "maxRecords": 3});
    sim.reset_limits();
    let p1 = call("POST", &url(&sim, "Companies/query"), Some(&small)).await.json();
    let p2 = call("GET", p1["pageDetails"]["nextPageUrl"].as_str().unwrap(), None)
        .await
        .json();
    sim.reset_limits();
    let p3 = call("GET", p2["pageDetails"]["nextPageUrl"].as_str().unwrap(), None).await;
    assert_eq!(p3.status, 200, "{}", p3.text());
    assert_eq!(p3.json()["pageDetails"]["count"], 2);
    let missing = call("GET", &url(&sim, "Tickets/1"), None).await;
    assert_eq!((missing.status, missing.json()), (200, json!({"item": null})));
    assert!(sim.stats().slowed >= 2);
}
