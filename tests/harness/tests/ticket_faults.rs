//! The alert round trip as a failing network tries it (issue: never lose an
//! alert, never open two tickets): each fault reproduced against the
//! simulators over HTTP and moto, and shown handled, and the reconciler's
//! repairs in each direction.

use rmmsync_tests::ticket_world::{TENANT, World, world, world_timed};
use serde_json::{Value, json};
use shared::connections::PsaIntegrations;
use shared::psa::{PsaKind, PsaTicketSettings, TicketDraft};
use shared::tenant::TenantId;
use simulators::autotask::Faults;
use simulators::datto::AlertWebhook;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

fn ci_ticket_count(w: &World, uid: &str) -> usize {
    match &w.psa_sim {
        rmmsync_tests::ticket_world::Psa::Autotask(_) => w.autotask_tickets_for(uid).len(),
        rmmsync_tests::ticket_world::Psa::ConnectWise(cw) => {
            cw.tickets().iter().filter(|t| t["externalXRef"] == uid).count()
        }
    }
}

fn stop_webhooks(w: &World) {
    w.datto_sim.set_alert_webhook(None);
}

fn resume_webhooks(w: &World) {
    w.datto_sim.set_alert_webhook(Some(AlertWebhook {
        url: format!("{}/hooks/datto/{}/alerts?token={}", w.url, w.datto_id, w.datto_token),
        headers: vec![],
    }));
}

fn slow(path: &str, ms: u64) -> Faults {
    Faults {
        path_contains: Some(path.into()),
        latency: Some(Duration::from_millis(ms)),
        ..Faults::default()
    }
}

/// A PSA slower than the delivery's deadline: the delivery stops in time,
/// the alert is pending with its reason, and the reconciler opens exactly one ticket.
#[tokio::test]
async fn a_psa_slower_than_the_deadline_leaves_the_alert_pending_then_one_ticket() {
    let timing = shared::tickets::TicketTiming::new(Duration::from_secs(3));
    let w = world_timed(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 1, timing).await;
    stop_webhooks(&w);
    let uid = w.datto_sim.raise_alert(&w.device_uid, "High", "disk_usage_ctx");
    w.autotask().set_faults(slow("Tickets", 4_000));
    let started = std::time::Instant::now();
    let (status, answer) = w.deliver(&uid).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered within the function's timeout"
    );
    assert_eq!(status, 503, "a sender retries a 503: {answer}");
    let state = w.alert_state(&uid).await;
    assert_eq!(state["state"], "pending", "{state}");
    assert!(state["reason"].as_str().unwrap().contains("ran out of time"), "{state}");
    w.autotask().set_faults(Faults::default());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pass = w.reconcile().await;
    assert_eq!(
        pass["opened"].as_u64().unwrap() + pass["adopted"].as_u64().unwrap(),
        1,
        "{pass}"
    );
    assert_eq!(ci_ticket_count(&w, &uid), 1);
    assert!(matches!(w.alert_state(&uid).await["state"].as_str(), Some("opened")));
}

/// A delivery killed mid-way (as Lambda kills a function at its timeout)
/// leaves its claim; a retry after the function's timeout, well within the
/// old 120 s claim window, takes it over and opens the one ticket.
#[tokio::test]
async fn a_retry_after_the_function_timeout_takes_over_the_dead_claim() {
    let timing = shared::tickets::TicketTiming::new(Duration::from_secs(4));
    let w = world_timed(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 1, timing).await;
    stop_webhooks(&w);
    let uid = w.datto_sim.raise_alert(&w.device_uid, "High", "ping_ctx");
    w.autotask().set_faults(slow("Tickets", 10_000));
    let api = w.api.clone();
    let (id, token, body) = (
        w.datto_id.clone(),
        w.datto_token.clone(),
        json!({"alertUid": uid}).to_string(),
    );
    let killed = tokio::spawn(async move {
        let _ = api.tickets().on_alert_webhook(&id, Some(&token), body.as_bytes()).await;
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    killed.abort();
    assert_eq!(
        w.alert_state(&uid).await["state"],
        "opening",
        "the dead delivery's claim"
    );
    w.autotask().set_faults(Faults::default());
    let (status, early) = w.deliver(&uid).await;
    assert_eq!(
        (status, early["status"].as_str()),
        (200, Some("duplicate")),
        "a live claim is respected"
    );
    tokio::time::sleep(Duration::from_millis(timing.claim_ttl_ms() as u64 + 200)).await;
    let (status, retried) = w.deliver(&uid).await;
    assert_eq!(status, 200, "{retried}");
    assert!(
        matches!(retried["status"].as_str(), Some("opened" | "adopted")),
        "{retried}"
    );
    assert_eq!(ci_ticket_count(&w, &uid), 1);
}

/// A create that failed with a 5xx after (as far as rmmsync can tell) it may
/// have reached the PSA: the alert is pending; the ticket the PSA holds for
/// it is adopted, not opened twice.
#[tokio::test]
async fn an_orphan_ticket_is_adopted_by_its_alert_uid() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    stop_webhooks(&w);
    let uid = w.datto_sim.raise_alert(&w.device_uid, "Critical", "srvc_status_ctx");
    w.autotask().set_faults(Faults {
        path_contains: Some("Tickets".into()),
        fail_next: 1,
        status: 503,
        ..Faults::default()
    });
    let (status, answer) = w.deliver(&uid).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(w.alert_state(&uid).await["state"], "pending");
    // The orphan: the ticket the failed delivery's create left in Autotask.
    let tenant = TenantId::parse(TENANT).unwrap();
    let (_, client) = PsaIntegrations {
        store: &w.api.store,
        secrets: &w.api.secrets,
        psa: &w.api.psa,
        settings: &w.api.settings,
    }
    .connect(&tenant, &w.psa_id)
    .await
    .unwrap();
    let settings = PsaTicketSettings::Autotask(serde_json::from_value(json!({"queueId": 8})).unwrap());
    let company = w.autotask().tickets().first().map(|t| t.company_id);
    let company = company.unwrap_or_else(|| {
        w.autotask()
            .companies()
            .iter()
            .find(|c| c.name == "Harbor Dental Group")
            .unwrap()
            .id
    });
    let orphan = client
        .create_ticket(
            &TicketDraft {
                company_id: company.to_string(),
                title: "orphan".into(),
                description: "left by a delivery that died".into(),
                priority: None,
                configuration_id: None,
                alert_uid: uid.clone(),
            },
            &settings,
        )
        .await
        .unwrap();
    // The sender's retry adopts it.
    let (status, retried) = w.deliver(&uid).await;
    assert_eq!(
        (status, retried["status"].as_str()),
        (200, Some("adopted")),
        "{retried}"
    );
    assert_eq!(retried["ticketId"], orphan.id.as_str());
    assert_eq!(ci_ticket_count(&w, &uid), 1);
}

/// Refused credentials are a fault, not a verdict: the alert is pending with
/// the reason visible in the listing, and once the credentials are accepted
/// again the reconciler opens its ticket.
#[tokio::test]
async fn refused_credentials_leave_the_alert_pending_until_they_work_again() {
    let w = world(PsaKind::Autotask, shifted_clock).await;
    stop_webhooks(&w);
    let uid = w
        .datto_sim
        .raise_alert(&w.device_uid, "High", "perf_resource_usage_ctx");
    w.autotask().set_faults(Faults {
        path_contains: Some("Tickets".into()),
        fail_next: 100,
        status: 401,
        ..Faults::default()
    });
    let (status, answer) = w.deliver(&uid).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("pending")), "{answer}");
    let (status, pending) = w
        .call(
            "GET",
            &format!("/integrations/{}/alerts?state=pending", w.datto_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let listed = &pending["alerts"][0];
    assert_eq!(listed["alertUid"], uid.as_str(), "{pending}");
    assert!(listed["reason"].as_str().unwrap().contains("credentials"), "{listed}");
    assert!(listed["nextAttemptAt"].as_i64().is_some());
    // Not due yet: the pass leaves it alone.
    let pass = w.reconcile().await;
    assert_eq!(pass["opened"], 0, "{pass}");
    // Rotated: accepted again, and the backoff has passed.
    w.autotask().set_faults(Faults::default());
    SHIFT_MS.fetch_add(5 * 60_000, Ordering::SeqCst);
    let pass = w.reconcile().await;
    assert_eq!(pass["opened"], 1, "{pass}");
    assert_eq!(ci_ticket_count(&w, &uid), 1);
    assert_eq!(w.alert_state(&uid).await["state"], "opened");
}

static SHIFT_MS: AtomicI64 = AtomicI64::new(0);

fn shifted_clock() -> i64 {
    shared::time::now_millis() + SHIFT_MS.load(Ordering::SeqCst)
}

static FAIL_SHIFT_MS: AtomicI64 = AtomicI64::new(0);

fn failed_clock() -> i64 {
    shared::time::now_millis() + FAIL_SHIFT_MS.load(Ordering::SeqCst)
}

/// A refusal a person must fix (no company mapping) fails with its reason,
/// and heals once the site is mapped.
#[tokio::test]
async fn a_failed_alert_heals_once_its_site_is_mapped() {
    let w = world(PsaKind::Autotask, failed_clock).await;
    stop_webhooks(&w);
    let site = w.datto_sim.add_site("Mapped Later LLC");
    let device = w.datto_sim.add_devices(&site, 1).remove(0);
    let uid = w.datto_sim.raise_alert(&device, "High", "ping_ctx");
    let (status, first) = w.deliver(&uid).await;
    assert_eq!((status, first["status"].as_str()), (200, Some("failed")), "{first}");
    // Map the new site (after a sync brings it in) to the imported company.
    let tenant = TenantId::parse(TENANT).unwrap();
    let deps = shared::sync::SyncDeps {
        store: w.api.store.clone(),
        secrets: w.api.secrets.clone(),
        datto: w.api.datto.clone(),
        settings: shared::sync::SyncSettings::default(),
    };
    let run = shared::sync::run::start_run(&deps, &tenant, &w.datto_id, shared::runs::Trigger::Manual)
        .await
        .unwrap();
    shared::workers::sync_run(
        &deps,
        &tenant,
        &w.datto_id,
        &run.run_id,
        &shared::sync::run::RunBudget::default(),
    )
    .await
    .unwrap();
    let company = w
        .api
        .store
        .all_companies(&tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Harbor Dental Group")
        .unwrap();
    let sites = shared::site_mapping::routes::SitesApi {
        store: w.api.store.clone(),
        on_mapped: vec![],
    };
    use rmmsync_tests::Handle;
    let (status, mapped) = rmmsync_tests::read_response(
        sites
            .handle(rmmsync_tests::api_request(
                "PUT",
                &format!("/integrations/{}/sites/{site}/mapping", w.datto_id),
                Some(TENANT),
                Some(&json!({"companyId": company.id})),
            ))
            .await,
    );
    assert_eq!(status, 200, "{mapped}");
    FAIL_SHIFT_MS.store(31 * 60_000, Ordering::SeqCst);
    let pass = w.reconcile().await;
    assert_eq!(pass["opened"], 1, "{pass}");
    assert_eq!(ci_ticket_count(&w, &uid), 1);
}

/// ConnectWise: a ticket POST that times out is never sent again; the alert
/// is pending, and the next attempt looks the ticket up first.
#[tokio::test]
async fn a_connectwise_create_timeout_never_opens_two_tickets() {
    let timing = shared::tickets::TicketTiming::new(Duration::from_secs(3));
    let w = world_timed(
        PsaKind::ConnectwiseManage,
        shared::time::now_millis,
        Duration::ZERO,
        1,
        timing,
    )
    .await;
    stop_webhooks(&w);
    let uid = w.datto_sim.raise_alert(&w.device_uid, "High", "disk_usage_ctx");
    w.connectwise().set_faults(slow("service/tickets", 4_000));
    let (status, answer) = w.deliver(&uid).await;
    assert_eq!(status, 503, "{answer}");
    w.connectwise().set_faults(Faults::default());
    tokio::time::sleep(Duration::from_millis(4_200)).await;
    let pass = w.reconcile().await;
    assert_eq!(
        pass["opened"].as_u64().unwrap() + pass["adopted"].as_u64().unwrap(),
        1,
        "{pass}"
    );
    assert_eq!(
        ci_ticket_count(&w, &uid),
        1,
        "one ticket, whatever the timed-out POST did"
    );
}

/// A resolution that arrives while the alert's ticket is being opened is not lost:
/// the ticket is completed as soon as it exists.
#[tokio::test]
async fn a_resolution_during_the_open_completes_the_new_ticket() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    stop_webhooks(&w);
    let uid = w.datto_sim.raise_alert(&w.device_uid, "High", "antivirus_ctx");
    w.autotask().set_faults(Faults {
        path_contains: Some("/Tickets".into()),
        latency: Some(Duration::from_millis(1_500)),
        ..Faults::default()
    });
    let opening = {
        let api = w.api.clone();
        let (id, token, body) = (
            w.datto_id.clone(),
            w.datto_token.clone(),
            json!({"alertUid": uid}).to_string(),
        );
        tokio::spawn(async move { api.tickets().on_alert_webhook(&id, Some(&token), body.as_bytes()).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(w.datto_sim.resolve_alert(&uid));
    let (status, resolved) = w.deliver(&uid).await;
    assert_eq!(
        (status, resolved["status"].as_str()),
        (200, Some("resolved")),
        "{resolved}"
    );
    w.autotask().set_faults(Faults::default());
    let opened = opening.await.unwrap().unwrap();
    assert_eq!(opened.status, "completed", "{opened:?}");
    let tickets = w.autotask_tickets_for(&uid);
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].status, 5, "completed in Autotask");
    let state = w.alert_state(&uid).await;
    assert_eq!(
        (state["state"].as_str(), state["ticketId"].as_str()),
        (Some("resolved"), Some(tickets[0].id.to_string().as_str()))
    );
}

/// Two alerts of one monitor delivered at once open one ticket (the other is
/// a note on it); then both resolved at once complete it.
#[tokio::test]
async fn concurrent_alerts_of_one_monitor_open_one_ticket_and_concurrent_resolves_complete_it() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    stop_webhooks(&w);
    w.autotask().set_faults(slow("/Tickets", 300));
    let a = w.datto_sim.raise_alert(&w.device_uid, "High", "disk_usage_ctx");
    let b = w.datto_sim.raise_alert(&w.device_uid, "High", "disk_usage_ctx");
    let (ra, rb) = tokio::join!(w.deliver(&a), w.deliver(&b));
    let statuses = [
        ra.1["status"].as_str().unwrap().to_owned(),
        rb.1["status"].as_str().unwrap().to_owned(),
    ];
    assert!(
        statuses.contains(&"opened".to_owned()) && statuses.contains(&"noted".to_owned()),
        "{ra:?} {rb:?}"
    );
    assert_eq!(ra.1["ticketId"], rb.1["ticketId"]);
    let all: usize = ci_ticket_count(&w, &a) + ci_ticket_count(&w, &b);
    assert_eq!(all, 1, "one ticket for the monitor");
    let ticket: i64 = ra.1["ticketId"].as_str().unwrap().parse().unwrap();
    // Both resolved in Datto at once: neither resolution may leave the ticket open.
    assert!(w.datto_sim.resolve_alert(&a) && w.datto_sim.resolve_alert(&b));
    let (x, y) = tokio::join!(w.deliver(&a), w.deliver(&b));
    assert_eq!((x.0, y.0), (200, 200), "{x:?} {y:?}");
    assert_eq!(w.autotask().ticket(ticket).unwrap().status, 5, "{x:?} {y:?}");
}

/// A flapping monitor: notes up to the cap, then one summary note per window.
#[tokio::test]
async fn a_flapping_monitor_notes_up_to_the_cap_then_summarises() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    stop_webhooks(&w);
    let first = w.datto_sim.raise_alert(&w.device_uid, "Low", "process_status_ctx");
    let (_, opened) = w.deliver(&first).await;
    let ticket: i64 = opened["ticketId"].as_str().unwrap().parse().unwrap();
    let notes_before = w.autotask().notes(ticket).len();
    for _ in 0..15 {
        let uid = w.datto_sim.raise_alert(&w.device_uid, "Low", "process_status_ctx");
        let (status, noted) = w.deliver(&uid).await;
        assert_eq!((status, noted["status"].as_str()), (200, Some("noted")), "{noted}");
    }
    assert_eq!(
        w.autotask().notes(ticket).len() - notes_before,
        shared::tickets::REPEAT_NOTE_CAP as usize + 1,
        "ten notes, then one summary in the window"
    );
    assert_eq!(
        w.autotask()
            .tickets()
            .iter()
            .filter(|t| t.rmm_alert_id.is_some() && t.title.contains("process"))
            .count(),
        1
    );
}

/// The reconciler's repairs in each direction: a missed open, a missed
/// completion (PSA to Datto) and a missed resolution (Datto to PSA), with the
/// repeat window respected; the pass is readable through its route.
#[tokio::test]
async fn the_reconciler_repairs_what_the_webhooks_missed() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    stop_webhooks(&w);
    // Missed opens: two alerts of one monitor (one ticket, one note) and another monitor.
    let a = w.datto_sim.raise_alert(&w.device_uid, "High", "disk_usage_ctx");
    let b = w.datto_sim.raise_alert(&w.device_uid, "High", "disk_usage_ctx");
    let c = w.datto_sim.raise_alert(&w.device_uid, "Moderate", "ping_ctx");
    let pass = w.reconcile().await;
    assert_eq!(
        (pass["opened"].as_u64(), pass["noted"].as_u64()),
        (Some(2), Some(1)),
        "{pass}"
    );
    assert_eq!(ci_ticket_count(&w, &a) + ci_ticket_count(&w, &b), 1);
    assert_eq!(ci_ticket_count(&w, &c), 1);
    // Nothing left to do: a second pass repairs nothing.
    let again = w.reconcile().await;
    assert_eq!(again["repairs"], json!([]), "{again}");
    // Missed completion: c's ticket completed in Autotask, no callout.
    let c_ticket = w.autotask_tickets_for(&c)[0].id;
    assert!(w.autotask().complete_ticket(c_ticket));
    // Missed resolution: a and b resolved in Datto, webhooks dropped.
    assert!(w.datto_sim.resolve_alert(&a) && w.datto_sim.resolve_alert(&b));
    let pass = w.reconcile().await;
    assert!(w.datto_sim.is_alert_resolved(&c), "{pass}");
    assert_eq!(pass["alertsResolved"], 1, "{pass}");
    assert_eq!(pass["ticketsCompleted"], 1, "{pass}");
    let ab_ticket = w.autotask_tickets_for(&a)[0].id;
    assert_eq!(w.autotask().ticket(ab_ticket).unwrap().status, 5);
    let (status, last) = w
        .call("GET", &format!("/integrations/{}/ticket-reconciler", w.datto_id), None)
        .await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = last["repairs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"alert-resolved") && actions.contains(&"ticket-completed"),
        "{last}"
    );
    for uid in [&a, &b, &c] {
        assert_eq!(w.alert_state(uid).await["state"], "resolved");
    }
    resume_webhooks(&w);
    let _: Value = Value::Null;
}

/// A warm function grants Datto RMM's OAuth token once, not per webhook.
#[tokio::test]
async fn webhooks_of_a_warm_function_share_one_datto_token() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    stop_webhooks(&w);
    let first = w.datto_sim.raise_alert(&w.device_uid, "High", "disk_usage_ctx");
    let (status, _) = w.deliver(&first).await;
    assert_eq!(status, 200);
    let grants = w.datto_sim.stats().route("token");
    for monitor in ["ping_ctx", "srvc_status_ctx", "antivirus_ctx"] {
        let uid = w.datto_sim.raise_alert(&w.device_uid, "High", monitor);
        let (status, answer) = w.deliver(&uid).await;
        assert_eq!((status, answer["status"].as_str()), (200, Some("opened")), "{answer}");
    }
    assert_eq!(w.datto_sim.stats().route("token"), grants, "no new grant per webhook");
}

/// Ticketing off (`PATCH {"enabled": false}`) keeps the settings and opens nothing, but an
/// alert of a ticket opened before still completes it; on again, alerts open tickets again.
#[tokio::test]
async fn ticketing_off_keeps_the_settings_and_still_completes_earlier_tickets() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    stop_webhooks(&w);
    let before = w.datto_sim.raise_alert(&w.device_uid, "High", "disk_usage_ctx");
    let (_, opened) = w.deliver(&before).await;
    let ticket: i64 = opened["ticketId"].as_str().unwrap().parse().unwrap();
    let settings = format!("/integrations/{}/ticket-settings", w.datto_id);
    let (status, off) = w.call("PATCH", &settings, Some(json!({"enabled": false}))).await;
    assert_eq!(status, 200, "{off}");
    assert_eq!(
        (off["enabled"].as_bool(), off["autotask"]["queueId"].as_i64()),
        (Some(false), Some(8)),
        "{off}"
    );
    assert_eq!(off["repeatWindowMinutes"], 30, "the rest kept");
    let while_off = w.datto_sim.raise_alert(&w.device_uid, "High", "ping_ctx");
    let (status, ignored) = w.deliver(&while_off).await;
    assert_eq!(
        (status, ignored["status"].as_str()),
        (200, Some("ignored")),
        "{ignored}"
    );
    assert_eq!(ci_ticket_count(&w, &while_off), 0);
    assert!(w.datto_sim.resolve_alert(&before));
    let (status, completed) = w.deliver(&before).await;
    assert_eq!(
        (status, completed["status"].as_str()),
        (200, Some("completed")),
        "{completed}"
    );
    assert_eq!(w.autotask().ticket(ticket).unwrap().status, 5);
    let (status, bad) = w.call("PATCH", &settings, Some(json!({"repeatWindow": "9d"}))).await;
    assert_eq!(status, 400, "{bad}");
    let (status, on) = w.call("PATCH", &settings, Some(json!({"enabled": true}))).await;
    assert_eq!((status, on["enabled"].as_bool()), (200, Some(true)), "{on}");
    let pass = w.reconcile().await;
    assert_eq!(
        pass["opened"], 1,
        "the alert raised while off is opened once on again: {pass}"
    );
    assert_eq!(ci_ticket_count(&w, &while_off), 1);
}

static STORM_SHIFT_MS: AtomicI64 = AtomicI64::new(0);

fn storm_clock() -> i64 {
    shared::time::now_millis() + STORM_SHIFT_MS.load(Ordering::SeqCst)
}

/// One device in an alert storm: past its limit its alerts wait (pending, with the reason),
/// another device's alert still opens at once, and the waiting ones are taken when the window ends.
#[tokio::test]
async fn a_device_in_a_storm_cannot_starve_the_others() {
    let w = rmmsync_tests::ticket_world::world_with(PsaKind::Autotask, storm_clock, Duration::ZERO, 2).await;
    stop_webhooks(&w);
    let limit = shared::tickets::DEVICE_STORM_LIMIT as usize;
    let mut waiting = Vec::new();
    for i in 0..limit + 3 {
        let uid = w.datto_sim.raise_alert(&w.device_uid, "Low", "perf_resource_usage_ctx");
        let (status, answer) = w.deliver(&uid).await;
        assert_eq!(status, 200, "{answer}");
        if i < limit {
            assert!(
                matches!(answer["status"].as_str(), Some("opened" | "noted")),
                "{i}: {answer}"
            );
        } else {
            assert_eq!(answer["status"], "pending", "{answer}");
            assert!(answer["reason"].as_str().unwrap().contains("more than"), "{answer}");
            waiting.push(uid);
        }
    }
    let other = w.datto_sim.raise_alert(&w.site_devices[1], "High", "ping_ctx");
    let (status, answer) = w.deliver(&other).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("opened")), "{answer}");
    STORM_SHIFT_MS.store(shared::tickets::DEVICE_STORM_WINDOW_MS + 60_000, Ordering::SeqCst);
    let pass = w.reconcile().await;
    assert_eq!(
        pass["noted"].as_u64().unwrap() + pass["opened"].as_u64().unwrap(),
        3,
        "{pass}"
    );
    for uid in &waiting {
        assert!(matches!(
            w.alert_state(uid).await["state"].as_str(),
            Some("noted" | "opened")
        ));
    }
}

/// The raw `ALERT#` item of an alert state, as moto holds it.
async fn alert_item(
    w: &World,
    uid: &str,
) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let tenant = TenantId::parse(TENANT).unwrap();
    w.api
        .store
        .client()
        .get_item()
        .table_name(w.api.store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(shared::store::keys::integration_pk(&tenant, &w.datto_id)),
        )
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S(format!("ALERT#{uid}")))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

fn number(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    name: &str,
) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

/// Resolved alert states do not grow without bound: once resolved, a state carries the
/// `expiresAt` (epoch seconds) the table's TTL removes it by, the retention after its
/// resolution; open and noted states carry none. The repeat window lives in the monitor's
/// item, so a ticket whose first alert resolved still collects its monitor's repeats, and a
/// state that expired counts as resolved: the ticket completes when the rest resolve.
#[tokio::test]
async fn resolved_alert_states_expire_and_the_round_trip_still_works() {
    let retention = Duration::from_secs(3_600);
    let timing = shared::tickets::TicketTiming::new(Duration::from_secs(10)).with_resolved_retention(retention);
    let w = world_timed(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 1, timing).await;
    let first = w.raise("disk_usage_ctx").await;
    let second = w.raise("disk_usage_ctx").await;
    let ticket = w.autotask_tickets_for(&first).remove(0);
    assert_eq!(w.alert_state(&second).await["state"], "noted");
    for uid in [&first, &second] {
        let item = alert_item(&w, uid).await.unwrap();
        assert_eq!(
            number(&item, "expiresAt"),
            None,
            "an open alert never expires: {item:?}"
        );
    }

    let deliveries = w.datto_sim.webhook_deliveries().len();
    assert!(w.datto_sim.resolve_alert(&first));
    w.settle(deliveries + 1).await;
    let item = alert_item(&w, &first).await.unwrap();
    assert_eq!(w.alert_state(&first).await["state"], "resolved");
    let updated_at = number(&item, "updatedAt").unwrap();
    assert_eq!(
        number(&item, "expiresAt"),
        Some((updated_at + retention.as_millis() as i64) / 1000),
        "{item:?}"
    );
    assert_ne!(
        w.autotask().ticket(ticket.id).unwrap().status,
        5,
        "the second alert is open"
    );

    // The repeat window still holds: the monitor's next alert is a note on the same ticket.
    let third = w.raise("disk_usage_ctx").await;
    let state = w.alert_state(&third).await;
    assert_eq!(
        (state["state"].as_str(), state["ticketId"].as_str()),
        (Some("noted"), Some(ticket.id.to_string().as_str())),
        "{state}"
    );

    // The first state expires (moto keeps expired items: removed by hand as the TTL would).
    let tenant = TenantId::parse(TENANT).unwrap();
    w.api
        .store
        .client()
        .delete_item()
        .table_name(w.api.store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(shared::store::keys::integration_pk(&tenant, &w.datto_id)),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ALERT#{first}")),
        )
        .send()
        .await
        .unwrap();
    for uid in [&second, &third] {
        let deliveries = w.datto_sim.webhook_deliveries().len();
        assert!(w.datto_sim.resolve_alert(uid));
        w.settle(deliveries + 1).await;
    }
    assert_eq!(w.autotask().ticket(ticket.id).unwrap().status, 5, "completed");
    // The reconciler finds nothing to repair, and the expired state is not brought back.
    let pass = w.reconcile().await;
    assert_eq!(
        (
            pass["opened"].as_u64(),
            pass["adopted"].as_u64(),
            pass["ticketsCompleted"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{pass}"
    );
    assert!(alert_item(&w, &first).await.is_none());
    assert_eq!(w.autotask_tickets_for(&first).len(), 1);
}

/// Notes on `ticket` whose text carries `uid`.
fn notes_with(w: &World, ticket: &str, uid: &str) -> usize {
    let ticket: i64 = ticket.parse().unwrap();
    match &w.psa_sim {
        rmmsync_tests::ticket_world::Psa::Autotask(at) => {
            at.notes(ticket).iter().filter(|n| n.description.contains(uid)).count()
        }
        rmmsync_tests::ticket_world::Psa::ConnectWise(cw) => cw
            .notes(ticket)
            .iter()
            .filter(|n| n["text"].as_str().is_some_and(|t| t.contains(uid)))
            .count(),
    }
}

/// A repeat note whose POST reached the PSA but whose answer was lost is never posted
/// twice, for either PSA: the ticket's notes are looked up for the alert uid at once; and
/// when that lookup fails too, the alert is pending and its next attempt looks them up
/// before posting.
async fn a_lost_note_answer_never_posts_the_note_twice(kind: PsaKind) {
    let w = world(kind, shared::time::now_millis).await;
    stop_webhooks(&w);
    let lose_next_note_answer = |w: &World| match &w.psa_sim {
        rmmsync_tests::ticket_world::Psa::Autotask(at) => at.lose_next_note_answers(1),
        rmmsync_tests::ticket_world::Psa::ConnectWise(cw) => cw.lose_next_note_answers(1),
    };
    let set_faults = |w: &World, faults: Faults| match &w.psa_sim {
        rmmsync_tests::ticket_world::Psa::Autotask(at) => at.set_faults(faults),
        rmmsync_tests::ticket_world::Psa::ConnectWise(cw) => cw.set_faults(faults),
    };
    let first = w.datto_sim.raise_alert(&w.device_uid, "High", "disk_usage_ctx");
    let (_, opened) = w.deliver(&first).await;
    assert_eq!(opened["status"], "opened", "{opened}");
    let ticket = opened["ticketId"].as_str().unwrap().to_owned();

    // The note is made, its answer lost: found on the ticket at once.
    lose_next_note_answer(&w);
    let second = w.datto_sim.raise_alert(&w.device_uid, "High", "disk_usage_ctx");
    let (status, noted) = w.deliver(&second).await;
    assert_eq!((status, noted["status"].as_str()), (200, Some("noted")), "{noted}");
    assert_eq!(notes_with(&w, &ticket, &second), 1);

    // Its answer lost and the lookup refused too: pending, and the sender retries.
    lose_next_note_answer(&w);
    let lookup = match kind {
        PsaKind::Autotask => Faults {
            path_contains: Some("TicketNotes".into()),
            fail_next: 50,
            status: 403,
            ..Faults::default()
        },
        _ => Faults {
            path_contains: Some("/notes".into()),
            after_successes: 1,
            fail_next: 50,
            status: 403,
            ..Faults::default()
        },
    };
    set_faults(&w, lookup);
    let third = w.datto_sim.raise_alert(&w.device_uid, "High", "disk_usage_ctx");
    let (status, answer) = w.deliver(&third).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(w.alert_state(&third).await["state"], "pending");
    assert_eq!(notes_with(&w, &ticket, &third), 1, "the POST did its work");
    set_faults(&w, Faults::default());
    let (status, retried) = w.deliver(&third).await;
    assert_eq!((status, retried["status"].as_str()), (200, Some("noted")), "{retried}");
    assert_eq!(retried["ticketId"], ticket.as_str());
    assert_eq!(notes_with(&w, &ticket, &third), 1, "looked up, not posted again");
    assert_eq!(ci_ticket_count(&w, &first), 1);
}

#[tokio::test]
async fn autotask_a_lost_note_answer_never_posts_the_note_twice() {
    a_lost_note_answer_never_posts_the_note_twice(PsaKind::Autotask).await;
}

#[tokio::test]
async fn connectwise_a_lost_note_answer_never_posts_the_note_twice() {
    a_lost_note_answer_never_posts_the_note_twice(PsaKind::ConnectwiseManage).await;
}
