//! The alert round trip, end to end: the Datto RMM simulator POSTs alert
//! webhooks, the Autotask simulator extension callouts and the ConnectWise
//! simulator signed callbacks, over HTTP, to a loopback stand-in for API
//! Gateway that hands them to the tickets function's handler; state in
//! moto's DynamoDB and Secrets Manager.

use rmmsync_tests::Handle;
use rmmsync_tests::ticket_world::{TENANT, WAIT, world};
use rmmsync_tests::{api_request, aws_config, read_response, secrets_manager};
use serde_json::json;
use shared::connections::Integrations;
use shared::psa::PsaKind;
use shared::store::DynamoStore;
use shared::tenant::TenantId;
use shared::tickets::routes::TicketsApi;
use simulators::autotask::{CalloutConfig, CalloutFormat};
use simulators::datto::AlertWebhook;
use std::sync::atomic::{AtomicI64, Ordering};

#[tokio::test]
async fn autotask_round_trip_notes_repeats_and_resolves_each_alert_once() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    w.autotask().set_callout(CalloutConfig {
        url: format!("{}/hooks/autotask/{}/callout", w.url, w.psa_id),
        format: CalloutFormat::Form,
        username: "rmmsync".into(),
        password: w.psa_token.clone(),
        ..CalloutConfig::default()
    });

    let first = w.raise("disk_usage_ctx").await;
    let tickets = w.autotask_tickets_for(&first);
    assert_eq!(tickets.len(), 1, "one ticket for the alert");
    let ticket = &tickets[0];
    assert_eq!(ticket.priority, Some(4), "Critical maps to the configured priority");
    assert_eq!(ticket.queue_id, Some(8));
    assert_eq!(
        ticket.configuration_item_id, w.ci_id,
        "linked to the device's configuration item"
    );
    assert_eq!(ticket.status, 1);

    // The same monitor again within the window: a note, not a ticket.
    let notes_before = w.autotask().notes(ticket.id).len();
    let tickets_before = w.autotask().tickets().len();
    let repeat = w.raise("disk_usage_ctx").await;
    assert_eq!(w.autotask().tickets().len(), tickets_before);
    assert_eq!(w.autotask().notes(ticket.id).len(), notes_before + 1);
    // A repeated delivery changes nothing.
    let deliveries = w.datto_sim.webhook_deliveries().len();
    w.datto_sim.redeliver_alert_webhook(&first);
    w.datto_sim.redeliver_alert_webhook(&repeat);
    w.settle(deliveries + 2).await;
    assert_eq!(w.autotask().tickets().len(), tickets_before);
    assert_eq!(w.autotask().notes(ticket.id).len(), notes_before + 1);

    // Completed in Autotask: the callout resolves both alerts in Datto RMM.
    let resolves_before = w.datto_sim.stats().route("resolve");
    assert!(w.autotask().complete_ticket(ticket.id));
    let callouts = w.autotask().wait_for_callouts(1, WAIT).await;
    assert_eq!(callouts[0].status, Some(200), "{callouts:?}");
    assert!(w.datto_sim.is_alert_resolved(&first) && w.datto_sim.is_alert_resolved(&repeat));
    // Datto's own resolution webhooks come back and find nothing to do.
    w.settle(deliveries + 4).await;
    assert_eq!(w.datto_sim.stats().route("resolve"), resolves_before + 2);

    // The same callout again: nothing is resolved twice.
    let body = callouts[0].body.clone();
    let basic = format!("Basic {}", base64_encode(&format!("rmmsync:{}", w.psa_token)));
    let (status, again) = w
        .hook(
            &format!("/hooks/autotask/{}/callout", w.psa_id),
            &[
                ("Authorization", &basic),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
        .await;
    assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")), "{again}");
    assert_eq!(w.datto_sim.stats().route("resolve"), resolves_before + 2);
}

#[tokio::test]
async fn resolving_in_datto_completes_the_ticket_and_the_echo_changes_nothing() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    w.autotask().set_callout(CalloutConfig {
        url: format!("{}/hooks/autotask/{}/callout", w.url, w.psa_id),
        format: CalloutFormat::Json,
        username: "rmmsync".into(),
        password: w.psa_token.clone(),
        ..CalloutConfig::default()
    });
    let uid = w.raise("srvc_status_ctx").await;
    let ticket = w.autotask_tickets_for(&uid).remove(0);
    let deliveries = w.datto_sim.webhook_deliveries().len();
    assert!(w.datto_sim.resolve_alert(&uid));
    w.settle(deliveries + 1).await;
    assert_eq!(w.autotask().ticket(ticket.id).unwrap().status, 5, "completed");
    // Autotask's callout about that completion finds the alert resolved already.
    let callouts = w.autotask().wait_for_callouts(1, WAIT).await;
    assert_eq!(callouts[0].status, Some(200));
    assert_eq!(
        w.datto_sim.stats().route("resolve"),
        0,
        "rmmsync never resolved it again"
    );
}

static SHIFT_MS: AtomicI64 = AtomicI64::new(0);

fn shifted_clock() -> i64 {
    shared::time::now_millis() + SHIFT_MS.load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_repeat_outside_the_window_opens_a_new_ticket() {
    let w = world(PsaKind::Autotask, shifted_clock).await;
    let first = w.raise("perf_resource_usage_ctx").await;
    SHIFT_MS.store(31 * 60_000, Ordering::SeqCst);
    let later = w.raise("perf_resource_usage_ctx").await;
    let a = w.autotask_tickets_for(&first);
    let b = w.autotask_tickets_for(&later);
    assert_eq!(
        (a.len(), b.len()),
        (1, 1),
        "31 minutes later is outside a 30-minute window"
    );
    assert_ne!(a[0].id, b[0].id);
}

#[tokio::test]
async fn connectwise_round_trip_with_signed_callbacks() {
    let w = world(PsaKind::ConnectwiseManage, shared::time::now_millis).await;
    let cw = w.connectwise();
    // With its public URL known, a ConnectWise hook token registers the ticket callback.
    let registering = TicketsApi {
        store: w.api.store.clone(),
        secrets: w.api.secrets.clone(),
        datto: w.api.datto.clone(),
        psa: w.api.psa.clone(),
        settings: w.api.settings.clone(),
        clock: shared::time::now_millis,
        hook_base_url: Some(w.url.clone()),
        timing: shared::tickets::TicketTiming::default(),
    };
    let (status, made) = read_response(
        registering
            .handle(api_request(
                "POST",
                &format!("/integrations/{}/hook-token", w.psa_id),
                Some(TENANT),
                None,
            ))
            .await,
    );
    assert_eq!(status, 201, "{made}");
    let psa_token = made["token"].as_str().unwrap().to_owned();
    let callbacks = cw.callbacks();
    assert_eq!(callbacks.len(), 1, "{callbacks:?}");
    assert_eq!(callbacks[0]["id"], made["callbackId"]);
    assert!(callbacks[0]["url"].as_str().unwrap().ends_with("&id="));

    let uid = w.raise("disk_usage_ctx").await;
    let ticket = cw
        .tickets()
        .into_iter()
        .find(|t| t["externalXRef"] == uid.as_str())
        .expect("a ticket carrying the alert uid");
    let ticket_id = ticket["id"].as_i64().unwrap();
    assert_eq!(ticket["closedFlag"], false);

    // Closed in ConnectWise: the signed callback resolves the alert in Datto RMM.
    cw.close_ticket(ticket_id);
    let deliveries = cw.wait_for_deliveries(1, WAIT).await;
    let last = deliveries.last().unwrap();
    assert_eq!(last.status, Some(200), "{deliveries:?}");
    assert!(w.datto_sim.is_alert_resolved(&uid));

    // A tampered body with the same signature is refused, and resolves nothing.
    let path = format!(
        "/hooks/connectwise/{}/callback?token={}&id={ticket_id}",
        w.psa_id, psa_token
    );
    let tampered = last.body.replace("\"ticket\"", "\"Ticket\"");
    let (status, refused) = w
        .hook(
            &path,
            &[
                ("x-content-signature", &last.signature),
                ("Content-Type", "application/json"),
            ],
            tampered.as_bytes(),
        )
        .await;
    assert_eq!(status, 401, "{refused}");
    // The genuine delivery again: a duplicate.
    let resolves = w.datto_sim.stats().route("resolve");
    let (status, again) = w
        .hook(
            &path,
            &[
                ("x-content-signature", &last.signature),
                ("Content-Type", "application/json"),
            ],
            last.body.as_bytes(),
        )
        .await;
    assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")), "{again}");
    assert_eq!(w.datto_sim.stats().route("resolve"), resolves);
}

#[tokio::test]
async fn hooks_refuse_bad_tokens_unknown_integrations_and_malformed_bodies() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let device_alert = w.datto_sim.raise_alert(&w.device_uid, "High", "ping_ctx");
    w.datto_sim.settle_webhooks(WAIT).await;
    let tickets = w.autotask().tickets().len();
    let body = json!({"alertUid": device_alert}).to_string();
    let alerts = format!("/hooks/datto/{}/alerts", w.datto_id);
    let wrong = format!("{TENANT}.{}", "0".repeat(64));
    type Case<'a> = (String, Vec<(&'a str, &'a str)>, String, u16);
    let cases: Vec<Case> = vec![
        (alerts.clone(), vec![], body.clone(), 401),
        (format!("{alerts}?token={wrong}"), vec![], body.clone(), 401),
        (format!("{alerts}?token=garbage"), vec![], body.clone(), 401),
        (
            format!("/hooks/datto/{}/alerts?token={}", uuid::Uuid::new_v4(), w.datto_token),
            vec![],
            body.clone(),
            401,
        ),
        (
            format!("/hooks/datto/not-a-uuid/alerts?token={}", w.datto_token),
            vec![],
            body.clone(),
            401,
        ),
        // The PSA's token does not open the Datto hook.
        (format!("{alerts}?token={}", w.psa_token), vec![], body.clone(), 401),
        (
            format!("{alerts}?token={}", w.datto_token),
            vec![],
            "{not json".into(),
            400,
        ),
        (
            format!("{alerts}?token={}", w.datto_token),
            vec![],
            json!({"alertUid": "../../v2/account"}).to_string(),
            400,
        ),
        (
            format!("/hooks/autotask/{}/callout?token={}", w.psa_id, w.psa_token),
            vec![("Content-Type", "application/json")],
            json!({"nothing": "here"}).to_string(),
            400,
        ),
    ];
    for (path, headers, body, status) in cases {
        let (got, answer) = w.hook(&path, &headers, body.as_bytes()).await;
        assert_eq!(got, status, "{path}: {answer}");
    }
    // The webhook that did authenticate opened its one ticket; the refused ones wrote nothing.
    assert_eq!(w.autotask().tickets().len(), tickets);
    assert_eq!(w.autotask_tickets_for(&device_alert).len(), 1);
    // Another tenant's JWT cannot read or change the settings.
    let (status, _) = read_response(
        w.api
            .handle(api_request(
                "GET",
                &format!("/integrations/{}/ticket-settings", w.datto_id),
                Some("someone-else"),
                None,
            ))
            .await,
    );
    assert_eq!(status, 404);

    // A deleted integration's hook answers as a wrong token does (401): whether it existed is not told.
    let tenant = TenantId::parse(TENANT).unwrap();
    Integrations {
        store: &w.api.store,
        secrets: &w.api.secrets,
        datto: &w.api.datto,
        settings: &w.api.settings,
    }
    .delete(&tenant, &w.datto_id, &[])
    .await
    .unwrap();
    let (status, gone) = w
        .hook(&format!("{alerts}?token={}", w.datto_token), &[], body.as_bytes())
        .await;
    assert_eq!(status, 401, "{gone}");
}

#[tokio::test]
async fn a_resolution_arriving_before_the_open_opens_nothing() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    w.datto_sim.set_alert_webhook(None);
    let uid = w.datto_sim.raise_alert(&w.device_uid, "Low", "antivirus_ctx");
    assert!(w.datto_sim.resolve_alert(&uid));
    w.datto_sim.set_alert_webhook(Some(AlertWebhook {
        url: format!("{}/hooks/datto/{}/alerts?token={}", w.url, w.datto_id, w.datto_token),
        headers: vec![],
    }));
    // Both deliveries now carry the resolved alert; Datto is asked, not the body.
    w.datto_sim.redeliver_alert_webhook(&uid);
    w.settle(1).await;
    w.datto_sim.redeliver_alert_webhook(&uid);
    w.settle(2).await;
    assert!(w.autotask_tickets_for(&uid).is_empty());
}

#[tokio::test]
async fn a_store_fault_answers_5xx_so_the_sender_retries() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let aws = aws_config().await;
    let broken = TicketsApi {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), "rmmsync-no-such-table"),
        secrets: secrets_manager(&aws),
        datto: w.api.datto.clone(),
        psa: w.api.psa.clone(),
        settings: w.api.settings.clone(),
        clock: shared::time::now_millis,
        hook_base_url: None,
        timing: shared::tickets::TicketTiming::default(),
    };
    let mut event = rmmsync_tests::api_event_json(
        "POST",
        &format!("/hooks/datto/{}/alerts?token={}", w.datto_id, w.datto_token),
        None,
        Some(&json!({"alertUid": "abc-123"})),
    );
    event["headers"].as_object_mut().unwrap().remove("authorization");
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let (status, answer) = read_response(broken.handle(request).await);
    assert!((500..600).contains(&status), "{status}: {answer}");
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn an_alert_from_an_unmapped_site_fails_with_its_reason() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    w.datto_sim.set_alert_webhook(None);
    let site = w.datto_sim.add_site("Nobody Mapped This LLC");
    let device = w.datto_sim.add_devices(&site, 1).remove(0);
    let tickets = w.autotask().tickets().len();
    let uid = w.datto_sim.raise_alert(&device, "High", "ping_ctx");
    let path = format!("/hooks/datto/{}/alerts?token={}", w.datto_id, w.datto_token);
    let body = json!({ "alertUid": uid }).to_string();
    let (status, first) = w.hook(&path, &[], body.as_bytes()).await;
    assert_eq!((status, first["status"].as_str()), (200, Some("failed")), "{first}");
    assert!(first["reason"].as_str().unwrap().contains("not mapped"), "{first}");
    // Tried again (a refusal heals once fixed), and refused again while the site is unmapped.
    let (status, again) = w.hook(&path, &[], body.as_bytes()).await;
    assert_eq!((status, again["status"].as_str()), (200, Some("failed")), "{again}");
    assert_eq!(w.autotask().tickets().len(), tickets, "no ticket without a PSA company");
}

/// A TicketsApi whose clients are never called: for what the router answers by itself.
async fn unreachable_api() -> TicketsApi {
    let aws = aws_config().await;
    TicketsApi {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), "rmmsync-never-read"),
        secrets: secrets_manager(&aws),
        datto: shared::datto::DattoConnector::new(shared::http::client()),
        psa: rmmsync_tests::psa_connector("http://127.0.0.1:9/unused"),
        settings: rmmsync_tests::test_settings(),
        clock: shared::time::now_millis,
        hook_base_url: None,
        timing: shared::tickets::TicketTiming::default(),
    }
}

#[tokio::test]
async fn hook_paths_answer_without_a_caller_and_the_rest_asks_for_one() {
    let api = unreachable_api().await;
    let id = uuid::Uuid::new_v4();
    let cases = [
        // Under /hooks/{sender}/{id}/{kind} nobody needs a JWT: 405 for another method, 404 for another hook.
        (
            "GET",
            format!("/hooks/datto/{id}/alerts"),
            None,
            405,
            "method_not_allowed",
        ),
        (
            "PUT",
            format!("/hooks/connectwise/{id}/callback"),
            None,
            405,
            "method_not_allowed",
        ),
        (
            "GET",
            format!("/hooks/nobody/{id}/alerts"),
            None,
            405,
            "method_not_allowed",
        ),
        ("POST", format!("/hooks/nobody/{id}/alerts"), None, 404, "not_found"),
        ("POST", format!("/hooks/datto/{id}/callout"), None, 404, "not_found"),
        ("POST", format!("/hooks/autotask/{id}/alerts"), None, 404, "not_found"),
        // Anything else asks for the caller first.
        ("POST", format!("/hooks/datto/{id}"), None, 401, "unauthorized"),
        ("POST", format!("/hooks/datto/{id}"), Some(TENANT), 404, "not_found"),
        (
            "GET",
            format!("/integrations/{id}/hook-token"),
            None,
            401,
            "unauthorized",
        ),
        (
            "GET",
            format!("/integrations/{id}/hook-token"),
            Some(TENANT),
            405,
            "method_not_allowed",
        ),
        (
            "DELETE",
            format!("/integrations/{id}/ticket-settings"),
            None,
            401,
            "unauthorized",
        ),
        (
            "DELETE",
            format!("/integrations/{id}/ticket-settings"),
            Some(TENANT),
            405,
            "method_not_allowed",
        ),
    ];
    for (method, path, tenant, status, code) in cases {
        let (got, body) = read_response(api.handle(api_request(method, &path, tenant, None)).await);
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {body}"
        );
    }
}

#[test]
fn the_openapi_document_names_every_route_and_leaves_the_hooks_open() {
    let mut paths = Vec::new();
    let mut docs = Vec::new();
    for doc in [
        shared::sync::routes::routes().split_for_parts().1,
        shared::psa_import::routes::routes().split_for_parts().1,
        shared::tickets::routes::routes().split_for_parts().1,
    ] {
        let doc = serde_json::to_value(&doc).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                paths.push(format!("{} {path}", method.to_uppercase()));
            }
        }
        docs.push(doc);
    }
    paths.sort();
    let mut expected = vec![
        "POST /integrations/{id}/sync",
        "GET /integrations/{id}/sync-runs",
        "GET /integrations/{id}/sync-runs/{runId}",
        "POST /integrations/{id}/psa-import/preview",
        "POST /integrations/{id}/psa-import/apply",
        "POST /integrations/{id}/psa-import/create-unmatched",
        "GET /integrations/{id}/psa-import/runs",
        "GET /integrations/{id}/psa-import/runs/{runId}",
        "GET /integrations/{id}/psa-import/overrides",
        "PUT /integrations/{id}/psa-import/overrides",
        "GET /integrations/{id}/psa-import/settings",
        "PUT /integrations/{id}/psa-import/settings",
        "GET /contacts",
        "GET /locations",
        "GET /configurations",
        "GET /users",
        "GET /integrations/{id}/ticket-settings",
        "PUT /integrations/{id}/ticket-settings",
        "PATCH /integrations/{id}/ticket-settings",
        "GET /integrations/{id}/ticket-lists",
        "POST /integrations/{id}/hook-token",
        "GET /integrations/{id}/alerts",
        "GET /integrations/{id}/ticket-reconciler",
        "POST /integrations/{id}/ticket-reconciler",
        "POST /hooks/datto/{integrationId}/alerts",
        "POST /hooks/autotask/{integrationId}/callout",
        "POST /hooks/autotask/{integrationId}/webhook",
        "POST /hooks/connectwise/{integrationId}/callback",
    ];
    expected.sort();
    assert_eq!(paths, expected);
    let tickets = &docs[2];
    for hook in [
        "/hooks/datto/{integrationId}/alerts",
        "/hooks/autotask/{integrationId}/callout",
        "/hooks/autotask/{integrationId}/webhook",
        "/hooks/connectwise/{integrationId}/callback",
    ] {
        assert_eq!(tickets["paths"][hook]["post"]["security"], json!([{}]), "{hook}");
    }
}

#[tokio::test]
async fn a_switched_off_integration_answers_disabled_and_opens_nothing_until_it_is_on_again() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let tenant = TenantId::parse(TENANT).unwrap();
    let now = shared::time::now_millis();
    // The PSA the tickets go to is off: the alert is answered, nothing opened.
    assert!(
        w.api
            .store
            .set_integration_enabled(&tenant, &w.psa_id, false, now)
            .await
            .unwrap()
    );
    let uid = w.raise("cpu_ctx").await;
    assert!(w.autotask_tickets_for(&uid).is_empty());
    let alert_path = format!("/hooks/datto/{}/alerts?token={}", w.datto_id, w.datto_token);
    let body = json!({ "alertUid": uid }).to_string();
    let (status, out) = w.hook(&alert_path, &[], body.as_bytes()).await;
    assert_eq!((status, out["status"].as_str()), (200, Some("disabled")), "{out}");
    // The Datto integration itself off: the same answer, before Datto is asked.
    assert!(
        w.api
            .store
            .set_integration_enabled(&tenant, &w.psa_id, true, now)
            .await
            .unwrap()
    );
    assert!(
        w.api
            .store
            .set_integration_enabled(&tenant, &w.datto_id, false, now)
            .await
            .unwrap()
    );
    let (status, out) = w.hook(&alert_path, &[], body.as_bytes()).await;
    assert_eq!((status, out["status"].as_str()), (200, Some("disabled")), "{out}");
    // The reconciler leaves it alone too: asked by hand it says why.
    let (status, refused) = w
        .call("POST", &format!("/integrations/{}/ticket-reconciler", w.datto_id), None)
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("integration_disabled")),
        "{refused}"
    );
    assert!(w.autotask_tickets_for(&uid).is_empty());
    // On again: the next delivery opens the ticket.
    assert!(
        w.api
            .store
            .set_integration_enabled(&tenant, &w.datto_id, true, now)
            .await
            .unwrap()
    );
    let (status, out) = w.hook(&alert_path, &[], body.as_bytes()).await;
    assert_eq!((status, out["status"].as_str()), (200, Some("opened")), "{out}");
    assert_eq!(w.autotask_tickets_for(&uid).len(), 1);
}

/// One Datto RMM account tickets into one Autotask database: a second one is
/// refused with the reason, through the same PSA integration or another of
/// the same database; a disabled one is allowed.
#[tokio::test]
async fn only_one_datto_account_tickets_into_one_autotask_database() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let tenant = TenantId::parse(TENANT).unwrap();
    let second_datto = rmmsync_tests::connect_datto(
        &w.api.store,
        &w.api.secrets,
        &w.api.datto,
        &w.api.settings,
        &tenant,
        &w.datto_sim,
    )
    .await;
    // Another PSA integration of the same database (same zone, same `ci`).
    let at = w.autotask();
    let same_database = shared::connections::PsaIntegrations {
        store: &w.api.store,
        secrets: &w.api.secrets,
        psa: &w.api.psa,
        settings: &w.api.settings,
    }
    .create(
        &tenant,
        serde_json::from_value(json!({"type": "autotask", "username": at.config().username,
            "secret": at.config().secret, "name": "Same database again"}))
        .unwrap(),
    )
    .await
    .unwrap()
    .id;
    let settings =
        |psa: &str, enabled: bool| json!({"psaIntegrationId": psa, "enabled": enabled, "autotask": {"queueId": 8}});
    let path = format!("/integrations/{second_datto}/ticket-settings");
    for psa in [&w.psa_id, &same_database] {
        let (status, refused) = w.call("PUT", &path, Some(settings(psa, true))).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (409, Some("ticketing_conflict")),
            "{refused}"
        );
        let message = refused["message"].as_str().unwrap();
        assert!(
            message.contains(&w.datto_id) && message.contains("Autotask database"),
            "{message}"
        );
    }
    let (status, off) = w.call("PUT", &path, Some(settings(&w.psa_id, false))).await;
    assert_eq!(status, 200, "{off}");
    // The first one may still change its own settings.
    let (status, own) = w
        .call(
            "PUT",
            &format!("/integrations/{}/ticket-settings", w.datto_id),
            Some(settings(&same_database, true)),
        )
        .await;
    assert_eq!(status, 200, "{own}");
}

#[tokio::test]
async fn a_devices_configuration_is_found_through_the_import_index() {
    use shared::companies::directory::DeviceConfiguration;
    use shared::psa_import::PsaImporter;
    use simulators::autotask::Entity;
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let store = &w.api.store;
    let tenant = TenantId::parse(TENANT).unwrap();
    let ci = w.ci_id.unwrap().to_string();
    // The import wrote the index: one read finds the device's configuration item.
    assert_eq!(
        store
            .device_configuration(&tenant, PsaKind::Autotask, &w.device_uid)
            .await
            .unwrap(),
        DeviceConfiguration::Found(ci.clone())
    );
    assert_eq!(
        store
            .device_configuration(&tenant, PsaKind::Autotask, "no-such-device")
            .await
            .unwrap(),
        DeviceConfiguration::None
    );
    // The ticket flow uses the index, not the configuration records: with the record gone
    // (and the index kept), the ticket still names the configuration item.
    let records = store
        .directory(&tenant, shared::psa::RecordKind::Configuration)
        .await
        .unwrap();
    let record = records
        .iter()
        .find(|r| r.rmm_device_uid.as_deref() == Some(w.device_uid.as_str()))
        .unwrap();
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("TENANT#{TENANT}")),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CONFIGURATION#{}", record.id)),
        )
        .send()
        .await
        .unwrap();
    let uid = w.raise("disk_usage_ctx").await;
    assert_eq!(w.autotask_tickets_for(&uid)[0].configuration_item_id, w.ci_id);

    // The configuration item deactivated in Autotask: the next import takes it out of the index.
    assert!(
        w.autotask()
            .change_record(Entity::ConfigurationItems, w.ci_id.unwrap(), |r| {
                r.insert("isActive".into(), json!(false));
            })
    );
    let importer = PsaImporter {
        store,
        secrets: &w.api.secrets,
        psa: &w.api.psa,
        settings: &w.api.settings,
    };
    let run = importer
        .start(&tenant, &w.psa_id, shared::runs::Trigger::Manual)
        .await
        .unwrap();
    importer.run(&tenant, &w.psa_id, &run.run_id).await.unwrap();
    assert_eq!(
        store
            .device_configuration(&tenant, PsaKind::Autotask, &w.device_uid)
            .await
            .unwrap(),
        DeviceConfiguration::None
    );
    let later = w.raise("srvc_status_ctx").await;
    assert_eq!(w.autotask_tickets_for(&later)[0].configuration_item_id, None);
}
