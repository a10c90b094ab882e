//! The client against the Autotask simulator, over real HTTP.

use super::*;
use crate::psa::{PsaError, RecordKind, TicketDraft};
use crate::secret::Secret;
use simulators::autotask::{AutotaskConfig, AutotaskSim, Entity, Faults};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const USER: &str = "api.user@msp.example";
const SECRET: &str = "unit-secret-&=+";
const CODE: &str = "UNIT-TRACKING-ID";

fn base() -> AutotaskConfig {
    AutotaskConfig {
        username: USER.into(),
        secret: SECRET.into(),
        integration_codes: vec![CODE.into()],
        usage_latency: false,
        reference_time_ms: Some(1_790_000_000_000),
        ..AutotaskConfig::default()
    }
}

/// Only companies, for paging tests.
fn companies_only(n: usize) -> AutotaskConfig {
    AutotaskConfig {
        companies: n,
        max_contacts_per_company: 0,
        max_cis_per_company: 0,
        tickets: Some(0),
        ..base()
    }
}

async fn sim(config: AutotaskConfig) -> AutotaskSim {
    AutotaskSim::start(config).await.expect("start the simulator")
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::autotask()
    }
}

fn connector(sim: &AutotaskSim) -> AutotaskConnector {
    AutotaskConnector::new(crate::http::client())
        .with_zone_url(sim.zone_information_url())
        .with_rest_domains(&["127.0.0.1"])
        .with_integration_code(CODE)
        .with_retry(fast_retry())
}

fn creds(user: &str, secret: &str) -> AutotaskCredentials {
    AutotaskCredentials {
        username: user.into(),
        secret: Secret::new(secret),
        integration_code: None,
    }
}

async fn client(sim: &AutotaskSim) -> AutotaskClient {
    connector(sim).client(creds(USER, SECRET)).await.unwrap()
}

fn settings() -> AutotaskTicketSettings {
    AutotaskTicketSettings {
        queue_id: 8,
        issue_type: Some(4),
        sub_issue_type: Some(401),
        source: Some(8),
        ..AutotaskTicketSettings::default()
    }
}

#[tokio::test]
async fn connection_test_discovers_the_zone_once_and_reads_the_budget() {
    let sim = sim(base()).await;
    let conn = connector(&sim);
    let c = conn.client(creds(USER, SECRET)).await.unwrap();
    let info = c.test_connection().await.unwrap();
    assert_eq!(info.api_url, sim.rest_root());
    assert_eq!(info.account.as_deref(), Some("America East 2"));
    assert_eq!(info.request_limit, Some(10_000));
    assert_eq!(info.requests_used, Some(2)); // Version + ThresholdInformation
    // Another client of the same connector and user reuses the cached zone.
    let again = conn.client(creds(USER, SECRET)).await.unwrap();
    again.list_records(RecordKind::User).await.unwrap();
    assert_eq!(sim.stats().route("zoneInformation"), 1);
    // The secret shows nowhere.
    assert!(!format!("{c:?} {info:?}").contains(SECRET));
}

#[tokio::test]
async fn connection_test_names_each_cause() {
    let sim = sim(AutotaskConfig {
        restricted_user: Some(("limited@msp.example".into(), "limited".into())),
        ..base()
    })
    .await;
    let conn = connector(&sim);
    let unknown = conn.client(creds("nobody@msp.example", SECRET)).await.unwrap();
    let e = unknown.test_connection().await.unwrap_err();
    assert!(
        matches!(&e, PsaError::UnknownUser { user } if user == "nobody@msp.example"),
        "{e:?}"
    );

    let bad = conn.client(creds(USER, "wrong")).await.unwrap();
    let e = bad.test_connection().await.unwrap_err();
    assert!(matches!(e, PsaError::BadCredentials { .. }), "{e:?}");
    assert!(!e.to_string().contains("wrong"));

    let other_code = conn
        .client(AutotaskCredentials {
            integration_code: Some("NOT-REGISTERED".into()),
            ..creds(USER, SECRET)
        })
        .await
        .unwrap();
    assert!(matches!(
        other_code.test_connection().await,
        Err(PsaError::BadCredentials { .. })
    ));

    let limited = conn.client(creds("limited@msp.example", "limited")).await.unwrap();
    let e = limited.test_connection().await.unwrap_err();
    assert!(matches!(e, PsaError::PermissionDenied { .. }), "{e:?}");

    // Nothing listens on this port any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let gone = AutotaskConnector::new(crate::http::client())
        .with_zone_url(format!("http://127.0.0.1:{port}/atservicesrest/v1.0/zoneInformation"))
        .with_integration_code(CODE)
        .with_retry(fast_retry())
        .client(creds(USER, SECRET))
        .await
        .unwrap();
    let e = gone.test_connection().await.unwrap_err();
    assert!(matches!(e, PsaError::Unreachable { .. }), "{e:?}");

    // No integration code anywhere: a configuration error before any request.
    let e = AutotaskConnector::new(crate::http::client())
        .client(creds(USER, SECRET))
        .await
        .unwrap_err();
    assert!(matches!(e, PsaError::Config(_)), "{e:?}");
}

#[tokio::test]
async fn paging_posts_next_page_urls_with_exactly_full_and_short_last_pages() {
    for (companies, full_last_page_link, pages) in [(1_000, false, 2), (1_000, true, 3), (1_234, false, 3)] {
        let sim = sim(AutotaskConfig {
            next_url_on_full_last_page: full_last_page_link,
            ..companies_only(companies)
        })
        .await;
        let c = client(&sim).await;
        let records = c.list_records(RecordKind::Company).await.unwrap();
        let ids: Vec<i64> = records.iter().map(|r| r.id.parse().unwrap()).collect();
        assert_eq!(ids, sim.ids(Entity::Companies), "{companies} companies");
        let stats = sim.stats();
        assert_eq!(stats.route("Companies.query"), 1);
        // The simulator answers GET on these URLs with 405 and another body with 500: every
        // next page was POSTed with the same body.
        assert_eq!(
            stats.route("Companies.next"),
            pages - 1,
            "{companies}/{full_last_page_link}"
        );
        assert_eq!(stats.pages("Companies"), pages);
        assert_eq!(stats.validation_500, 0);
    }
}

#[tokio::test]
async fn records_of_every_kind_with_inactive_ones_and_ci_types() {
    let sim = sim(AutotaskConfig {
        companies: 40,
        ..base()
    })
    .await;
    let c = client(&sim).await;
    let companies = c.list_records(RecordKind::Company).await.unwrap();
    assert_eq!(companies.len(), sim.count(Entity::Companies));
    assert!(companies.iter().any(|r| !r.active) && companies.iter().any(|r| r.active));
    assert!(
        companies
            .iter()
            .all(|r| r.updated_at.is_some() && r.company_id.is_none())
    );
    for r in &companies {
        let sim_company = sim.company(r.id.parse().unwrap()).unwrap();
        assert_eq!(
            (r.name.as_str(), r.active),
            (sim_company.name.as_str(), sim_company.active)
        );
        assert_eq!(
            r.company_type.as_deref(),
            Some(super::records::company_type_name(sim_company.company_type).as_str())
        );
    }
    assert!(
        companies.iter().any(|r| r.company_type.as_deref() == Some("Customer"))
            && companies.iter().any(|r| r.company_type.as_deref() != Some("Customer")),
        "the simulator's mix of company types reads back by name"
    );

    let contacts = c.list_records(RecordKind::Contact).await.unwrap();
    assert_eq!(contacts.len(), sim.count(Entity::Contacts));
    for r in &contacts {
        let raw = sim.record(Entity::Contacts, r.id.parse().unwrap()).unwrap();
        assert_eq!(r.active, raw["isActive"] == 1, "isActive is 0/1 on contacts");
        assert_eq!(
            r.name,
            format!(
                "{} {}",
                raw["firstName"].as_str().unwrap(),
                raw["lastName"].as_str().unwrap()
            )
        );
        assert_eq!(r.company_id.as_deref(), Some(raw["companyID"].to_string().as_str()));
    }
    assert!(contacts.iter().any(|r| !r.active));

    let cis = c.list_records(RecordKind::Configuration).await.unwrap();
    assert_eq!(cis.len(), sim.count(Entity::ConfigurationItems));
    let types: HashSet<&str> = cis.iter().filter_map(|r| r.configuration_type.as_deref()).collect();
    assert!(types.contains("Workstation"), "{types:?}");
    assert!(cis.iter().any(|r| r.rmm_device_uid.is_some()) && cis.iter().any(|r| r.rmm_device_uid.is_none()));
    for r in &cis {
        let raw = sim.record(Entity::ConfigurationItems, r.id.parse().unwrap()).unwrap();
        let expected = raw["referenceTitle"]
            .as_str()
            .or(raw["rmmDeviceAuditHostname"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("CI {}", r.id));
        assert_eq!(r.name, expected);
    }
    // The type list was read once, not per listing.
    c.list_records(RecordKind::Configuration).await.unwrap();
    assert_eq!(sim.stats().route("ConfigurationItemTypes.query"), 1);

    let locations = c.list_records(RecordKind::Location).await.unwrap();
    assert_eq!(locations.len(), sim.count(Entity::CompanyLocations));
    let users = c.list_records(RecordKind::User).await.unwrap();
    assert_eq!(users.len(), sim.count(Entity::Resources));
    assert!(
        users
            .iter()
            .all(|u| u.email.as_deref().is_some_and(|e| e.contains('@')))
    );
}

#[tokio::test]
async fn concurrent_listings_never_exceed_three_requests_per_endpoint() {
    let config = AutotaskConfig {
        page_max: 40,
        latency: Duration::from_millis(15),
        max_cis_per_company: 0,
        tickets: Some(0),
        companies: 200,
        ..base()
    };
    let sim = sim(config.clone()).await;
    // Two clients of one connector for the same account share the limit.
    let conn = connector(&sim);
    let c = conn.client(creds(USER, SECRET)).await.unwrap();
    let c2 = conn.client(creds(USER, SECRET)).await.unwrap();
    let runs = (0..5).map(|i| {
        let kind = if i < 4 {
            RecordKind::Company
        } else {
            RecordKind::Contact
        };
        if i % 2 == 0 {
            c.list_records(kind)
        } else {
            c2.list_records(kind)
        }
    });
    let results = futures_join_all(runs).await;
    for r in results {
        assert!(!r.unwrap().is_empty());
    }
    let stats = sim.stats();
    assert_eq!(stats.max_concurrency("Companies"), 3, "{stats:?}");
    assert_eq!(stats.thread_limited, 0, "{stats:?}");

    // The same load with the client allowed 6: the simulator refuses, the client retries.
    let sim2 = self::sim(config).await;
    // Many attempts: on a busy machine five walkers can lose the race for the
    // simulator's three slots more than the default eight times in a row.
    let loose = connector(&sim2)
        .with_retry(RetryPolicy {
            rate_limited_attempts: 200,
            ..fast_retry()
        })
        .with_thread_limit(6)
        .client(creds(USER, SECRET))
        .await
        .unwrap();
    let results = futures_join_all((0..5).map(|_| loose.list_records(RecordKind::Company))).await;
    for r in results {
        assert_eq!(r.unwrap().len(), 200);
    }
    assert!(sim2.stats().thread_limited > 0);
}

/// Joins futures without a futures-crate dependency.
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

#[tokio::test]
async fn rate_limits_are_retried_honouring_retry_after_and_give_up() {
    let sim = sim(AutotaskConfig {
        retry_after_secs: Some(1),
        ..companies_only(10)
    })
    .await;
    let c = client(&sim).await;
    c.threshold().await.unwrap(); // zone discovered
    let before = c.requests_made();
    sim.set_faults(Faults {
        force_429_next: 2,
        ..Faults::default()
    });
    let started = Instant::now();
    assert_eq!(c.list_records(RecordKind::Company).await.unwrap().len(), 10);
    // The retry policy caps waits at 20 ms; Retry-After (1 s) is honoured up to that cap.
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(c.requests_made() - before, 4); // threshold + 2 refused + the page
    assert_eq!(sim.stats().responses_429, 2);

    let patient = connector(&sim)
        .with_retry(RetryPolicy {
            max_delay: Duration::from_secs(5),
            ..fast_retry()
        })
        .client(creds(USER, SECRET))
        .await
        .unwrap();
    sim.set_faults(Faults {
        force_429_next: 1,
        ..Faults::default()
    });
    let started = Instant::now();
    patient.threshold().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );

    sim.set_faults(Faults {
        force_429_next: 100,
        ..Faults::default()
    });
    let stubborn = connector(&sim)
        .with_retry(RetryPolicy {
            rate_limited_attempts: 3,
            ..fast_retry()
        })
        .client(creds(USER, SECRET))
        .await
        .unwrap();
    let e = stubborn.threshold().await.unwrap_err();
    assert!(matches!(e, PsaError::RateLimited { attempts: 3, .. }), "{e:?}");
}

#[tokio::test]
async fn validation_errors_are_not_retried_but_faults_are() {
    let sim = sim(base()).await;
    let c = client(&sim).await;
    let company = sim.ids(Entity::Companies)[0].to_string();
    let draft = TicketDraft {
        company_id: company,
        title: "Disk full".into(),
        description: "C: at 99 %".into(),
        priority: Some("1".into()),
        configuration_id: None,
        alert_uid: "alert-v".into(),
    };
    let bad_queue = AutotaskTicketSettings {
        queue_id: 424_242,
        ..settings()
    };
    let e = c.create_ticket(&draft, &bad_queue).await.unwrap_err();
    match &e {
        PsaError::Validation { detail, .. } => assert!(detail.contains("queueID"), "{detail}"),
        other => panic!("expected Validation, got {other:?}"),
    }
    assert_eq!(sim.stats().route("Tickets.create"), 1);

    // A 503 on a read is retried.
    let id = sim.tickets()[0].id.to_string();
    sim.set_faults(Faults {
        fail_next: 2,
        status: 503,
        path_contains: Some("/Tickets/".into()),
        ..Faults::default()
    });
    c.get_ticket(&id, &settings()).await.unwrap();
    assert_eq!(sim.stats().route("Tickets.get"), 3);

    // A 503 on a create is not (it might have been processed).
    sim.set_faults(Faults {
        fail_next: 1,
        status: 503,
        ..Faults::default()
    });
    let e = c.create_ticket(&draft, &settings()).await.unwrap_err();
    assert!(matches!(e, PsaError::Server { status: 503, .. }), "{e:?}");
    assert_eq!(sim.stats().route("Tickets.create"), 2);
}

#[tokio::test]
async fn a_fault_mid_listing_is_an_error_and_a_spent_budget_refuses_to_start() {
    let sim = sim(AutotaskConfig {
        page_max: 10,
        ..companies_only(45)
    })
    .await;
    let c = client(&sim).await;
    sim.set_faults(Faults {
        fail_entity: Some("Companies".into()),
        fail_after_pages: 2,
        status: 503,
        ..Faults::default()
    });
    let e = c.list_records(RecordKind::Company).await.unwrap_err();
    assert!(
        matches!(
            e,
            PsaError::Server {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(sim.stats().pages("Companies"), 2);

    // A fault that clears is ridden out.
    sim.set_faults(Faults {
        fail_entity: Some("Companies".into()),
        fail_after_pages: 1,
        fail_entity_times: 2,
        status: 502,
        ..Faults::default()
    });
    assert_eq!(c.list_records(RecordKind::Company).await.unwrap().len(), 45);

    sim.set_faults(Faults::default());
    let frugal = connector(&sim)
        .with_budget_reserve(9_990)
        .client(creds(USER, SECRET))
        .await
        .unwrap();
    let queries_before = sim.stats().route("Companies.query");
    let e = frugal.list_records(RecordKind::Company).await.unwrap_err();
    assert!(matches!(e, PsaError::BudgetExhausted { limit: 10_000, .. }), "{e:?}");
    assert!(e.is_transient());
    assert_eq!(sim.stats().route("Companies.query"), queries_before);
    let t = frugal.threshold().await.unwrap();
    assert!(t.used > 10 && t.remaining() < 9_990, "{t:?}");
}

#[tokio::test]
async fn ticket_round_trip_create_note_find_complete() {
    let sim = sim(base()).await;
    let c = client(&sim).await;
    let company = sim.ids(Entity::Companies)[1];
    let ci = sim.ids(Entity::ConfigurationItems)[0];
    let draft = TicketDraft {
        company_id: company.to_string(),
        title: format!("Ü{}", "x".repeat(300)),
        description: "é".repeat(9_000),
        priority: None,
        configuration_id: Some(ci.to_string()),
        alert_uid: "9f2d0c1e-alert".into(),
    };
    assert_eq!(
        c.find_open_ticket_for_alert(&draft.alert_uid, &settings())
            .await
            .unwrap(),
        None
    );
    let state = c.create_ticket(&draft, &settings()).await.unwrap();
    assert!(!state.completed);
    assert_eq!(state.alert_uid.as_deref(), Some("9f2d0c1e-alert"));
    let t = sim.ticket(state.id.parse().unwrap()).unwrap();
    // The create is one request; the number comes with a read of the ticket.
    assert_eq!(state.number, None);
    let read = c.get_ticket(&state.id, &settings()).await.unwrap();
    assert_eq!(read.number.as_deref(), Some(t.ticket_number.as_str()));
    assert_eq!(
        (t.company_id, t.configuration_item_id, t.status),
        (company, Some(ci), 1)
    );
    assert_eq!(
        (t.priority, t.queue_id, t.issue_type, t.sub_issue_type, t.source),
        (Some(2), Some(8), Some(4), Some(401), Some(8))
    );
    assert_eq!(t.rmm_alert_id.as_deref(), Some("9f2d0c1e-alert"));
    assert_eq!(t.title.chars().count(), 255);
    assert!(t.title.starts_with('Ü'));
    assert_eq!(t.description.unwrap().chars().count(), 8_000);

    c.add_ticket_note(&state.id, "Alert update", "Still failing")
        .await
        .unwrap();
    let notes = sim.notes(t.id);
    assert_eq!(notes.len(), 1);
    assert_eq!(
        (notes[0].title.as_deref(), notes[0].description.as_str()),
        (Some("Alert update"), "Still failing")
    );

    let found = c
        .find_open_ticket_for_alert(&draft.alert_uid, &settings())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, state.id);
    let got = c.get_ticket(&state.id, &settings()).await.unwrap();
    assert_eq!(got, found);

    c.complete_ticket(&state.id, "Resolved in Datto RMM", &settings())
        .await
        .unwrap();
    let t = sim.ticket(t.id).unwrap();
    assert_eq!((t.status, t.resolution.as_deref()), (5, Some("Resolved in Datto RMM")));
    assert!(c.get_ticket(&state.id, &settings()).await.unwrap().completed);
    assert_eq!(
        c.find_open_ticket_for_alert(&draft.alert_uid, &settings())
            .await
            .unwrap(),
        None
    );

    // Completed in Autotask by a technician: seen on the next read.
    let second = c.create_ticket(&draft, &settings()).await.unwrap();
    assert!(sim.complete_ticket(second.id.parse().unwrap()));
    assert!(c.get_ticket(&second.id, &settings()).await.unwrap().completed);

    let e = c.get_ticket("999999999", &settings()).await.unwrap_err();
    assert!(matches!(e, PsaError::NotFound { .. }), "{e:?}");
    let e = c.get_ticket("not-a-number", &settings()).await.unwrap_err();
    assert!(matches!(e, PsaError::NotFound { .. }), "{e:?}");
    let e = c
        .create_ticket(
            &TicketDraft {
                company_id: "ACME".into(),
                ..draft.clone()
            },
            &settings(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, PsaError::Validation { .. }), "{e:?}");
}

#[tokio::test]
async fn an_item_null_answer_is_not_found() {
    let sim = sim(AutotaskConfig {
        missing_item_status: 200,
        ..base()
    })
    .await;
    let c = client(&sim).await;
    let e = c.get_ticket("1", &settings()).await.unwrap_err();
    assert!(matches!(e, PsaError::NotFound { .. }), "{e:?}");
}

mod configurations;
#[tokio::test]
async fn a_rest_root_off_autotasks_domains_is_refused_before_credentials_go_there() {
    let sim = sim(base()).await;
    // The simulator's zone answers a REST root on 127.0.0.1: not an Autotask domain.
    let strict = AutotaskConnector::new(crate::http::client())
        .with_zone_url(sim.zone_information_url())
        .with_integration_code(CODE)
        .with_retry(fast_retry())
        .client(creds(USER, SECRET))
        .await
        .unwrap();
    let e = strict.test_connection().await.unwrap_err();
    assert!(
        matches!(&e, PsaError::InvalidResponse { detail, .. } if detail.contains("refusing REST root on 127.0.0.1")),
        "{e:?}"
    );
    let stats = sim.stats();
    assert_eq!(stats.route("zoneInformation"), 1);
    assert_eq!(stats.total_requests, 1, "no credentialed request was sent: {stats:?}");
    // Allowed explicitly (as the simulator's tests do), it connects.
    connector(&sim)
        .client(creds(USER, SECRET))
        .await
        .unwrap()
        .test_connection()
        .await
        .unwrap();
}
