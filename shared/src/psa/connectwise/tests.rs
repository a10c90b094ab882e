//! The client against the ConnectWise simulator, over real HTTP.

use super::*;
use crate::psa::{PsaError, RecordKind, TicketDraft};
use crate::secret::Secret;
use simulators::connectwise::{CallbackSink, ConnectWiseConfig, ConnectWiseSim, Faults};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "00000000-0000-4000-8000-00000000c1d0";

async fn sim(config: ConnectWiseConfig) -> ConnectWiseSim {
    ConnectWiseSim::start(ConnectWiseConfig {
        callback_retry_delays: vec![Duration::from_millis(20), Duration::from_millis(40)],
        ..config
    })
    .await
    .expect("start the simulator")
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::connectwise()
    }
}

fn connector() -> ConnectWiseConnector {
    ConnectWiseConnector::new(crate::http::client())
        .with_client_id(CLIENT_ID)
        .with_allow_http(true)
        .with_retry(fast_retry())
}

fn creds(sim: &ConnectWiseSim) -> ConnectWiseCredentials {
    let c = sim.config();
    ConnectWiseCredentials {
        site: sim.base_url(),
        company_id: c.company_id.clone(),
        public_key: Secret::new(&c.public_key),
        private_key: Secret::new(&c.private_key),
    }
}

fn client(sim: &ConnectWiseSim) -> ConnectWiseClient {
    connector().client(creds(sim)).unwrap()
}

fn settings() -> ConnectWiseTicketSettings {
    ConnectWiseTicketSettings {
        board_id: 2,
        ..ConnectWiseTicketSettings::default()
    }
}

fn draft(company: i64, alert: &str) -> TicketDraft {
    TicketDraft {
        company_id: company.to_string(),
        title: "Disk usage above 95% on ACME-WS01".into(),
        description: "C: is at 97%".into(),
        priority: Some("2".into()),
        configuration_id: None,
        alert_uid: alert.into(),
    }
}

#[tokio::test]
async fn codebase_lookup_and_connection_test() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let c = client(&sim);
    let info = c.test_connection().await.unwrap();
    assert_eq!(info.api_url, format!("{}/v2025_1/apis/3.0", sim.base_url()));
    assert_eq!(info.account.as_deref(), Some("simco"));
    assert_eq!(sim.stats().route("companyinfo"), 1);
    // Cached: a second call does not look the codebase up again.
    c.test_connection().await.unwrap();
    assert_eq!(sim.stats().route("companyinfo"), 1);
    assert_eq!(sim.stats().route("system_info"), 2);
    assert_eq!(c.requests_made(), 3);
}

/// A warm function makes a client per delivery: the clients of one connector share the REST
/// roots they found, so a company's codebase is looked up once per process.
#[tokio::test]
async fn clients_of_one_connector_share_the_codebase() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let connector = connector();
    for _ in 0..3 {
        let c = connector.client(creds(&sim)).unwrap();
        c.test_connection().await.unwrap();
    }
    assert_eq!(sim.stats().route("companyinfo"), 1);
    // Another connector (another process) looks it up for itself.
    client(&sim).test_connection().await.unwrap();
    assert_eq!(sim.stats().route("companyinfo"), 2);
}

#[tokio::test]
async fn connection_test_causes() {
    let sim = sim(ConnectWiseConfig {
        restricted_keys: Some(("RestrictedPub".into(), "RestrictedPriv".into())),
        ..ConnectWiseConfig::default()
    })
    .await;

    let unknown = connector()
        .client(ConnectWiseCredentials {
            company_id: "nobody".into(),
            ..creds(&sim)
        })
        .unwrap();
    let e = unknown.test_connection().await.unwrap_err();
    assert!(
        matches!(e, PsaError::UnknownCompany { ref company, .. } if company == "nobody"),
        "{e:?}"
    );

    let bad = connector()
        .client(ConnectWiseCredentials {
            private_key: Secret::new("wrong-private-key"),
            ..creds(&sim)
        })
        .unwrap();
    let e = bad.test_connection().await.unwrap_err();
    assert!(matches!(e, PsaError::BadCredentials { .. }), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("wrong-private-key"));

    let restricted = connector()
        .client(ConnectWiseCredentials {
            public_key: Secret::new("RestrictedPub"),
            private_key: Secret::new("RestrictedPriv"),
            ..creds(&sim)
        })
        .unwrap();
    let e = restricted.test_connection().await.unwrap_err();
    assert!(matches!(e, PsaError::PermissionDenied { .. }), "{e:?}");

    // Nothing listens on a closed port.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let gone = connector()
        .client(ConnectWiseCredentials {
            site: format!("http://127.0.0.1:{port}"),
            ..creds(&sim)
        })
        .unwrap();
    let e = gone.test_connection().await.unwrap_err();
    assert!(matches!(e, PsaError::Unreachable { .. }), "{e:?}");

    // http is refused unless allowed; the clientId is required.
    let e = ConnectWiseConnector::new(crate::http::client())
        .with_client_id(CLIENT_ID)
        .client(creds(&sim))
        .unwrap_err();
    assert!(matches!(e, PsaError::Config(_)), "{e:?}");
    let e = ConnectWiseConnector::new(crate::http::client())
        .with_allow_http(true)
        .client(creds(&sim))
        .unwrap_err();
    assert!(matches!(e, PsaError::Config(_)), "{e:?}");
}

#[tokio::test]
async fn unknown_company_answered_with_null_is_unknown_too() {
    let sim = sim(ConnectWiseConfig {
        unknown_company_status: 200,
        ..ConnectWiseConfig::default()
    })
    .await;
    let c = connector()
        .client(ConnectWiseCredentials {
            company_id: "nobody".into(),
            ..creds(&sim)
        })
        .unwrap();
    let e = c.test_connection().await.unwrap_err();
    assert!(matches!(e, PsaError::UnknownCompany { .. }), "{e:?}");
    assert_eq!(e.code(), "psa.unknown_company");
}

#[tokio::test]
async fn forward_only_paging_over_several_pages() {
    let sim = sim(ConnectWiseConfig {
        companies: 40,
        ..ConnectWiseConfig::default()
    })
    .await;
    let total = sim.companies().len();
    let c = connector().with_page_size(7).client(creds(&sim)).unwrap();
    let records = c.list_records(RecordKind::Company).await.unwrap();
    assert_eq!(records.len(), total);
    let ids: HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), total);
    let deleted = sim.companies().iter().filter(|c| c["deletedFlag"] == true).count();
    assert!(records.iter().filter(|r| !r.active).count() >= deleted);
    assert!(records.iter().all(|r| r.updated_at.is_some()));
    // 40 / 7 → 6 pages, the last one short: it still has a next link, so a 7th (empty) page.
    assert_eq!(sim.stats().route("companies"), total.div_ceil(7) as u64 + 1);
}

#[tokio::test]
async fn exactly_full_last_page_and_conditions_kept() {
    let sim = sim(ConnectWiseConfig {
        companies: 10,
        forward_only_next_on_short_page: false,
        ..ConnectWiseConfig::default()
    })
    .await;
    // 10 companies, pages of 5: 5, 5, then an empty page ends the walk.
    let c = connector().with_page_size(5).client(creds(&sim)).unwrap();
    let all = c
        .list_all("company/companies", &conditions::Conditions::new())
        .await
        .unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(sim.stats().route("companies"), 3);

    let active: Vec<i64> = sim
        .configurations()
        .iter()
        .filter(|c| c["activeFlag"] == true)
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(active.len() > 4, "seed gives enough configurations");
    let c = connector().with_page_size(2).client(creds(&sim)).unwrap();
    let got: Vec<i64> = c
        .list_all(
            "company/configurations",
            &conditions::Conditions::new().eq_bool("activeFlag", true),
        )
        .await
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    // Had the conditions been dropped after page 1, inactive ones would be in here.
    assert_eq!(got, active);
}

#[tokio::test]
async fn record_kinds_map() {
    let sim = sim(ConnectWiseConfig {
        companies: 15,
        ..ConnectWiseConfig::default()
    })
    .await;
    let c = connector().with_page_size(4).client(creds(&sim)).unwrap();

    let companies = c.list_records(RecordKind::Company).await.unwrap();
    for raw in sim.companies() {
        let id = raw["id"].as_i64().unwrap().to_string();
        let rec = companies.iter().find(|r| r.id == id).unwrap();
        assert_eq!(rec.company_type.as_deref(), raw["types"][0]["name"].as_str(), "{raw}");
    }
    assert!(companies.iter().all(|r| r.company_type.is_some()));

    let contacts = c.list_records(RecordKind::Contact).await.unwrap();
    assert_eq!(contacts.len(), sim.contacts().len());
    let first = &sim.contacts()[0];
    let first_id = first["id"].as_i64().unwrap().to_string();
    let rec = contacts.iter().find(|r| r.id == first_id).unwrap();
    assert_eq!(
        rec.name,
        format!(
            "{} {}",
            first["firstName"].as_str().unwrap(),
            first["lastName"].as_str().unwrap()
        )
    );
    assert!(rec.email.as_deref().unwrap().contains('@'));
    assert_eq!(
        rec.company_id.as_deref(),
        Some(first["company"]["id"].to_string().as_str())
    );

    let locations = c.list_records(RecordKind::Location).await.unwrap();
    let live: HashSet<i64> = sim
        .companies()
        .iter()
        .filter(|c| c["deletedFlag"] != true)
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    let expected = sim
        .company_sites()
        .iter()
        .filter(|s| live.contains(&s["company"]["id"].as_i64().unwrap()))
        .count();
    assert_eq!(locations.len(), expected);
    assert!(locations.iter().all(|l| l.company_id.is_some()));

    let guid_config = add_guid_config(
        &sim,
        sim.companies()[0]["id"].as_i64().unwrap(),
        "0A1B2C3D-0000-4000-8000-00000000ABCD",
    );
    let configs = c.list_records(RecordKind::Configuration).await.unwrap();
    assert_eq!(configs.len(), sim.configurations().len());
    let with_uid = configs.iter().find(|r| r.id == guid_config.to_string()).unwrap();
    assert_eq!(
        with_uid.rmm_device_uid.as_deref(),
        Some("0a1b2c3d-0000-4000-8000-00000000abcd")
    );
    assert_eq!(with_uid.configuration_type.as_deref(), Some("Server"));
    assert_eq!(with_uid.serial_number.as_deref(), Some("SER123"));
    assert!(
        configs
            .iter()
            .filter(|r| r.rmm_device_uid.is_some())
            .all(|r| r.rmm_device_uid.as_ref().unwrap().len() == 36)
    );

    let users = c.list_records(RecordKind::User).await.unwrap();
    assert_eq!(users.len(), sim.members().len());
    let inactive = sim.members().iter().filter(|m| m["inactiveFlag"] == true).count();
    assert_eq!(users.iter().filter(|u| !u.active).count(), inactive);
}

/// A configuration with a Datto-style device uid.
fn add_guid_config(sim: &ConnectWiseSim, company: i64, uid: &str) -> i64 {
    sim.add_configuration(
        company,
        serde_json::json!({"name": "GUID-DEVICE", "type": {"id": 3, "name": "Server"},
            "deviceIdentifier": uid, "serialNumber": "SER123"}),
    )
}

#[tokio::test]
async fn rate_limit_retry_after_is_honoured() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let c = client(&sim);
    c.test_connection().await.unwrap();
    sim.set_faults(Faults {
        force_429_next: 1,
        retry_after_secs: 1,
        ..Faults::default()
    });
    let before = c.requests_made();
    let started = Instant::now();
    c.test_connection().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(c.requests_made() - before, 2);

    // Persistent 429: gives up with RateLimited after the configured attempts.
    let c = connector()
        .with_retry(RetryPolicy {
            rate_limited_attempts: 3,
            max_retry_after: Some(Duration::from_millis(10)),
            ..fast_retry()
        })
        .client(creds(&sim))
        .unwrap();
    c.test_connection().await.unwrap();
    sim.set_faults(Faults {
        force_429_next: 10,
        retry_after_secs: 30,
        ..Faults::default()
    });
    let started = Instant::now();
    let e = c.test_connection().await.unwrap_err();
    assert!(matches!(e, PsaError::RateLimited { attempts: 3, .. }), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "Retry-After is capped");
}

#[tokio::test]
async fn real_rate_limit_then_recovers() {
    let sim = sim(ConnectWiseConfig {
        rate_limit: 2,
        rate_window: Duration::from_millis(1500),
        ..ConnectWiseConfig::default()
    })
    .await;
    let c = client(&sim);
    for _ in 0..3 {
        c.test_connection().await.unwrap();
    }
    assert!(sim.stats().rate_limited_429 >= 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_surface() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let c = client(&sim);
    c.test_connection().await.unwrap();
    sim.set_faults(Faults {
        fail_next: 2,
        status: 503,
        ..Faults::default()
    });
    c.test_connection().await.unwrap();
    sim.set_faults(Faults {
        fail_next: 100,
        status: 500,
        ..Faults::default()
    });
    let e = c.test_connection().await.unwrap_err();
    assert!(
        matches!(
            e,
            PsaError::Server {
                status: 500,
                attempts: 4,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_ticket_create_is_never_sent_twice_after_a_fault() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let c = client(&sim);
    c.test_connection().await.unwrap();
    let company = sim.companies()[0]["id"].as_i64().unwrap();
    let before = sim.tickets().len();
    sim.set_faults(Faults {
        fail_next: 1,
        status: 503,
        path_contains: Some("/service/tickets".into()),
        ..Faults::default()
    });
    let e = c
        .create_ticket(&draft(company, "alert-once"), &settings())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            PsaError::Server {
                status: 503,
                attempts: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(sim.tickets().len(), before, "the failed create was not replayed");
    // Reads are still retried through the same kind of fault.
    sim.set_faults(Faults {
        fail_next: 1,
        status: 503,
        ..Faults::default()
    });
    assert_eq!(
        c.find_open_ticket_for_alert("alert-once", &settings()).await.unwrap(),
        None
    );
    let t = c
        .create_ticket(&draft(company, "alert-once"), &settings())
        .await
        .unwrap();
    assert_eq!(sim.tickets().len(), before + 1);
    assert_eq!(t.alert_uid.as_deref(), Some("alert-once"));
}

#[tokio::test]
async fn fault_in_the_middle_of_a_listing_is_an_error() {
    let sim = sim(ConnectWiseConfig {
        companies: 30,
        ..ConnectWiseConfig::default()
    })
    .await;
    let c = connector().with_page_size(5).client(creds(&sim)).unwrap();
    c.test_connection().await.unwrap();
    sim.set_faults(Faults {
        path_contains: Some("/company/companies".into()),
        after_successes: 2,
        fail_next: 100,
        status: 502,
        ..Faults::default()
    });
    let e = c.list_records(RecordKind::Company).await.unwrap_err();
    assert!(matches!(e, PsaError::Server { status: 502, .. }), "{e:?}");
    assert!(e.is_transient());
    // A 4xx mid-listing is not retried.
    sim.set_faults(Faults {
        path_contains: Some("/company/companies".into()),
        after_successes: 1,
        fail_next: 1,
        status: 403,
        ..Faults::default()
    });
    let e = c.list_records(RecordKind::Company).await.unwrap_err();
    assert!(matches!(e, PsaError::PermissionDenied { .. }), "{e:?}");
}

#[tokio::test]
async fn tickets_create_note_get_complete_find() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let c = client(&sim);
    let company = sim.companies()[0]["id"].as_i64().unwrap();
    let config = sim.add_configuration(company, serde_json::json!({"name": "ACME-WS01"}));
    let s = settings();

    assert_eq!(c.find_open_ticket_for_alert("alert-1", &s).await.unwrap(), None);
    let long_title: String = "é".repeat(150);
    let mut d = draft(company, "alert-1");
    d.title = long_title;
    d.configuration_id = Some(config.to_string());
    let t = c.create_ticket(&d, &s).await.unwrap();
    assert!(!t.completed);
    assert_eq!(t.alert_uid.as_deref(), Some("alert-1"));
    let id: i64 = t.id.parse().unwrap();
    let stored = sim.ticket(id).unwrap();
    assert_eq!(stored["summary"].as_str().unwrap().chars().count(), 100);
    assert_eq!(stored["board"]["id"], 2);
    assert_eq!(stored["priority"]["id"], 2);
    assert_eq!(stored["company"]["id"], company);
    assert_eq!(sim.ticket_configurations(id), vec![config]);
    assert_eq!(sim.notes(id)[0]["text"], "C: is at 97%");

    let found = c.find_open_ticket_for_alert("alert-1", &s).await.unwrap().unwrap();
    assert_eq!(found.id, t.id);

    c.add_ticket_note(&t.id, "Alert update", "Still at 97%").await.unwrap();
    let notes = sim.notes(id);
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[1]["text"], "Alert update\n\nStill at 97%");

    assert!(!c.get_ticket(&t.id, &s).await.unwrap().completed);
    c.complete_ticket(&t.id, "Resolved in Datto RMM", &s).await.unwrap();
    let stored = sim.ticket(id).unwrap();
    assert_eq!(stored["closedFlag"], true);
    assert_eq!(sim.notes(id)[2]["resolutionFlag"], true);
    assert!(c.get_ticket(&t.id, &s).await.unwrap().completed);
    assert_eq!(c.find_open_ticket_for_alert("alert-1", &s).await.unwrap(), None);
    // Completing again changes nothing.
    c.complete_ticket(&t.id, "again", &s).await.unwrap();
    assert_eq!(sim.notes(id).len(), 3);

    // A status that is closed on the board counts as completed even without closedFlag
    // (closed_status_id set explicitly).
    let t2 = c.create_ticket(&draft(company, "alert-2"), &s).await.unwrap();
    let open_status = sim.ticket(t2.id.parse().unwrap()).unwrap()["status"]["id"]
        .as_i64()
        .unwrap();
    let custom = ConnectWiseTicketSettings {
        closed_status_id: Some(open_status),
        ..s.clone()
    };
    assert!(c.get_ticket(&t2.id, &custom).await.unwrap().completed);

    let e = c.get_ticket("999999", &s).await.unwrap_err();
    assert!(matches!(e, PsaError::NotFound { .. }), "{e:?}");
    let e = c.get_ticket("abc", &s).await.unwrap_err();
    assert!(matches!(e, PsaError::Validation { .. }), "{e:?}");
}

#[tokio::test]
async fn validation_envelope_becomes_validation_error() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let c = client(&sim);
    let company = sim.companies()[0]["id"].as_i64().unwrap();
    // Board 99 does not exist: 400 InvalidObject.
    let e = c
        .create_ticket(
            &draft(company, "alert-x"),
            &ConnectWiseTicketSettings {
                board_id: 99,
                ..ConnectWiseTicketSettings::default()
            },
        )
        .await
        .unwrap_err();
    match &e {
        PsaError::Validation { detail, .. } => {
            assert!(detail.contains("InvalidObject"), "{detail}");
            assert!(detail.contains("field board"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.code(), "psa.validation");
    assert!(!e.is_transient());
}

#[tokio::test]
async fn callback_registration_and_signed_delivery() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let sink = CallbackSink::start().await.unwrap();
    let c = client(&sim);
    let url = format!("{}/connectwise/callback?id=", sink.url());
    let id = c.register_callback(&url, "rmmsync alerts").await.unwrap();
    let again = c.register_callback(&url, "rmmsync alerts").await.unwrap();
    assert_eq!(id, again);
    assert_eq!(sim.callbacks().len(), 1);
    assert_eq!(sim.callbacks()[0]["isSelfSuppressedFlag"], true);
    let e = c.register_callback("not a url", "x").await.unwrap_err();
    assert!(matches!(e, PsaError::Validation { .. }), "{e:?}");

    // Our own ticket is self-suppressed; a technician closing it is delivered.
    let company = sim.companies()[0]["id"].as_i64().unwrap();
    let t = c.create_ticket(&draft(company, "alert-cb"), &settings()).await.unwrap();
    sim.close_ticket(t.id.parse().unwrap());
    let got = sink.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    let delivery = &got[0];
    assert_eq!(delivery.target, format!("/connectwise/callback?id={}", t.id));
    let payload = delivery.json();
    assert_eq!(payload["Action"], "updated");
    let key_url = payload["Metadata"]["key_url"].as_str().unwrap();
    let key = c.fetch_signing_key(key_url).await.unwrap();
    let header = delivery.header("x-content-signature").unwrap();
    assert!(verify_callback_signature(
        key.expose().as_bytes(),
        &delivery.body,
        header
    ));
    let mut tampered = delivery.body.clone();
    let pos = tampered.iter().position(|b| *b == b'u').unwrap();
    tampered[pos] = b'U';
    assert!(!verify_callback_signature(key.expose().as_bytes(), &tampered, header));
    assert!(!verify_callback_signature(b"wrong key", &delivery.body, header));

    // Cached: no second request for the key.
    let before = c.requests_made();
    c.fetch_signing_key(key_url).await.unwrap();
    assert_eq!(c.requests_made(), before);

    // key_urls elsewhere are refused.
    for evil in [
        "https://evil.example/v4_6_release/apis/3.0/system/callbackkey?id=1",
        "http://api-na.myconnectwise.net/x",
        "not a url",
    ] {
        let e = c.fetch_signing_key(evil).await.unwrap_err();
        assert!(matches!(e, PsaError::Config(_)), "{evil}: {e:?}");
    }
    // The default list accepts the documented hosts (not fetched here).
    assert!(DEFAULT_KEY_URL_HOSTS.contains(&"api-na.myconnectwise.net"));
}

#[tokio::test]
async fn complete_ticket_does_not_echo() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let sink = CallbackSink::start().await.unwrap();
    let c = client(&sim);
    // A callback registered without self-suppression still gets nothing for complete_ticket.
    let r = crate::http::client()
        .post(format!("{}/system/callbacks", sim.api_url()))
        .basic_auth(format!("simco+{}", sim.config().public_key), Some(&sim.config().private_key))
        .header("clientId", CLIENT_ID)
        .json(&serde_json::json!({"url": format!("{}/h?id=", sink.url()), "objectId": 1, "type": "ticket", "level": "owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let company = sim.companies()[0]["id"].as_i64().unwrap();
    let t = c
        .create_ticket(&draft(company, "alert-echo"), &settings())
        .await
        .unwrap();
    assert_eq!(sink.wait_for(1, Duration::from_secs(5)).await.len(), 1);
    c.complete_ticket(&t.id, "done", &settings()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(sink.received().len(), 1, "complete_ticket must send skipCallback");
}

mod configurations;
#[tokio::test]
async fn answers_longer_than_the_limit_are_refused_unread() {
    let sim = sim(ConnectWiseConfig {
        companies: 300,
        ..ConnectWiseConfig::default()
    })
    .await;
    let small = connector()
        .with_max_answer_bytes(16 * 1024)
        .client(creds(&sim))
        .unwrap();
    // Short answers pass.
    small.test_connection().await.unwrap();
    // A page of 300 companies does not.
    let e = small.list_records(RecordKind::Company).await.unwrap_err();
    assert!(
        matches!(&e, PsaError::InvalidResponse { detail, .. } if detail.contains("larger than 16384 bytes")),
        "{e:?}"
    );
    // Not retried: one request for the page.
    let pages = sim.stats().route("companies");
    assert_eq!(pages, 1, "{:?}", sim.stats());
    // The default limit reads it.
    assert!(client(&sim).list_records(RecordKind::Company).await.unwrap().len() >= 300);
}
