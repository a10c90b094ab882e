//! The documented signals of the alert round trip, against moto and the
//! simulators over HTTP: Autotask's own ticket webhooks (registered through
//! the API by the PSA integration's hook token, deliveries signed with
//! HMAC-SHA1 in `X-Hook-Signature`) complete the loop like the callout, a
//! bad signature is refused; and the Datto RMM hook token's answer carries
//! webhook bodies that work when pasted into Datto RMM.

use rmmsync_tests::ticket_world::{TENANT, WAIT, world};
use rmmsync_tests::{Handle, api_request, read_response};
use serde_json::{Value, json};
use shared::psa::PsaKind;
use shared::tickets::routes::TicketsApi;
use simulators::autotask::{WebhookSignature, sign_webhook};

/// The world's tickets API with its public URL known (so hook tokens register PSA webhooks).
fn registering(w: &rmmsync_tests::ticket_world::World) -> TicketsApi {
    TicketsApi {
        store: w.api.store.clone(),
        secrets: w.api.secrets.clone(),
        datto: w.api.datto.clone(),
        psa: w.api.psa.clone(),
        settings: w.api.settings.clone(),
        clock: shared::time::now_millis,
        hook_base_url: Some(w.url.clone()),
        timing: shared::tickets::TicketTiming::default(),
    }
}

async fn new_token(api: &TicketsApi, id: &str) -> Value {
    let (status, made) = read_response(
        api.handle(api_request(
            "POST",
            &format!("/integrations/{id}/hook-token"),
            Some(TENANT),
            None,
        ))
        .await,
    );
    assert_eq!(status, 201, "{made}");
    made
}

#[tokio::test]
async fn a_signed_autotask_ticket_webhook_completes_the_loop_and_a_bad_signature_is_refused() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let at = w.autotask();
    let api = registering(&w);
    // Registered through the API; a new token replaces the webhook (the old URL and key die).
    let first = new_token(&api, &w.psa_id).await;
    assert!(first["webhookId"].is_i64(), "{first}");
    let made = new_token(&api, &w.psa_id).await;
    let hooks = at.ticket_webhooks();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(json!(hooks[0].id), made["webhookId"]);
    assert_ne!(made["webhookId"], first["webhookId"]);
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(hooks[0].is_active && hooks[0].is_subscribed_to_update_events);
    assert!(!hooks[0].is_subscribed_to_create_events);
    assert_eq!(
        hooks[0].webhook_url,
        format!("{}/hooks/autotask/{}/webhook?token={token}", w.url, w.psa_id)
    );
    assert_eq!(at.stats().route("TicketWebhooks.create"), 2);
    assert_eq!(at.stats().route("TicketWebhooks.delete"), 1);

    // Completed in Autotask: the signed webhook resolves the alert in Datto RMM.
    let uid = w.raise("disk_usage_ctx").await;
    let ticket = w.autotask_tickets_for(&uid).remove(0);
    assert!(at.complete_ticket(ticket.id));
    let deliveries = at.wait_for_webhook_deliveries(1, WAIT).await;
    let delivery = deliveries.iter().find(|d| d.ticket_id == ticket.id).unwrap().clone();
    assert_eq!(delivery.status, Some(200), "{deliveries:?}");
    assert!(w.datto_sim.is_alert_resolved(&uid), "resolved by the webhook");
    assert!(at.callout_deliveries().is_empty(), "no callout was configured");

    let path = format!("/hooks/autotask/{}/webhook?token={token}", w.psa_id);
    let json_ct = ("Content-Type", "application/json");
    // A tampered body with the genuine signature: refused.
    let tampered = delivery.body.replace("\"Update\"", "\"Create\"");
    let (status, refused) = w
        .hook(
            &path,
            &[("X-Hook-Signature", &delivery.signature), json_ct],
            tampered.as_bytes(),
        )
        .await;
    assert_eq!(status, 401, "{refused}");
    // No signature, or the right signature under the wrong token: refused.
    let (status, _) = w.hook(&path, &[json_ct], delivery.body.as_bytes()).await;
    assert_eq!(status, 401);
    let old = format!(
        "/hooks/autotask/{}/webhook?token={}",
        w.psa_id,
        first["token"].as_str().unwrap()
    );
    let (status, _) = w
        .hook(
            &old,
            &[("X-Hook-Signature", &delivery.signature), json_ct],
            delivery.body.as_bytes(),
        )
        .await;
    assert_eq!(status, 401);
    // The same delivery signed in hex: accepted, and a duplicate.
    let key = at.ticket_webhook_key(hooks[0].id).unwrap();
    let hex = sign_webhook(&key, delivery.body.as_bytes(), WebhookSignature::Hex);
    let resolves = w.datto_sim.stats().route("resolve");
    let (status, again) = w
        .hook(&path, &[("X-Hook-Signature", &hex), json_ct], delivery.body.as_bytes())
        .await;
    assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")), "{again}");
    assert_eq!(w.datto_sim.stats().route("resolve"), resolves);
    // A deactivation notice, signed: nothing to do.
    let notice = json!({"Action": "Deactivated", "Guid": hooks[0].guid, "EntityType": "Ticket"}).to_string();
    let signature = sign_webhook(&key, notice.as_bytes(), WebhookSignature::Base64);
    let (status, ignored) = w
        .hook(&path, &[("X-Hook-Signature", &signature), json_ct], notice.as_bytes())
        .await;
    assert_eq!(
        (status, ignored["status"].as_str()),
        (200, Some("ignored")),
        "{ignored}"
    );

    // Hex-signed deliveries from the simulator work as well.
    at.set_webhook_signature(WebhookSignature::Hex);
    let second = w.raise("srvc_status_ctx").await;
    let t = w.autotask_tickets_for(&second).remove(0);
    let before = at.webhook_deliveries().len();
    assert!(at.complete_ticket(t.id));
    let deliveries = at.wait_for_webhook_deliveries(before + 1, WAIT).await;
    let d = deliveries.iter().find(|d| d.ticket_id == t.id).unwrap();
    assert_eq!(d.status, Some(200), "{d:?}");
    assert!(w.datto_sim.is_alert_resolved(&second));
}

#[tokio::test]
async fn the_datto_hook_token_answer_carries_webhook_bodies_that_work() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    // The simulator's own deliveries stay out of it: this test sends what Datto RMM would.
    w.datto_sim.set_alert_webhook(None);
    let api = registering(&w);
    let made = new_token(&api, &w.datto_id).await;
    let token = made["token"].as_str().unwrap();
    let hook = &made["dattoWebhook"];
    assert_eq!(
        hook["url"],
        format!("{}/hooks/datto/{}/alerts?token={token}", w.url, w.datto_id)
    );
    assert_eq!(hook["raised"]["alertUid"], "[alert_uid]");
    assert_eq!(hook["raised"]["event"], "raised");
    assert_eq!(hook["resolved"]["alertUid"], "[alert_uid]");
    assert_eq!(hook["resolved"]["event"], "resolved");
    // Only placeholders Datto RMM is known to substitute.
    let known = [
        "[alert_uid]",
        "[alert_priority]",
        "[device_uid]",
        "[device_hostname]",
        "[site_uid]",
        "[site_name]",
        "[timestamp]",
    ];
    for body in [&hook["raised"], &hook["resolved"]] {
        for v in body.as_object().unwrap().values() {
            let v = v.as_str().unwrap();
            assert!(!v.starts_with('[') || known.contains(&v), "{v}");
        }
    }
    // A PSA token carries no Datto bodies.
    assert!(new_token(&api, &w.psa_id).await.get("dattoWebhook").is_none());

    // The bodies as Datto RMM would send them (placeholders substituted as strings).
    let uid = w
        .datto_sim
        .raise_alert(&w.device_uid, "High", "perf_resource_usage_ctx");
    let fill = |body: &Value| {
        body.to_string()
            .replace("[alert_uid]", &uid)
            .replace("[alert_priority]", "High")
            .replace("[device_uid]", &w.device_uid)
            .replace("[device_hostname]", "HD-FRONTDESK")
            .replace("[site_uid]", &w.site_uid)
            .replace("[site_name]", "Harbor Dental Group")
            .replace("[timestamp]", "1764650000000")
    };
    let url = hook["url"].as_str().unwrap().strip_prefix(&w.url).unwrap().to_owned();
    let (status, opened) = w
        .hook(
            &url,
            &[("Content-Type", "application/json")],
            fill(&hook["raised"]).as_bytes(),
        )
        .await;
    assert_eq!((status, opened["status"].as_str()), (200, Some("opened")), "{opened}");
    assert_eq!(w.autotask_tickets_for(&uid).len(), 1);
    assert!(w.datto_sim.resolve_alert(&uid));
    let (status, done) = w
        .hook(
            &url,
            &[("Content-Type", "application/json")],
            fill(&hook["resolved"]).as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert!(
        matches!(done["status"].as_str(), Some("completed" | "duplicate")),
        "{done}"
    );
    let ticket = w.autotask_tickets_for(&uid).remove(0);
    assert_eq!(ticket.status, 5, "completed");
}

/// Deletes the world's PSA integration through `DELETE /integrations/{id}` with the ticket
/// flow's cascade wired as `app.rs` wires it.
async fn delete_psa(w: &rmmsync_tests::ticket_world::World, tickets: TicketsApi) {
    use shared::connections::routes::IntegrationsApi;
    let api = IntegrationsApi {
        store: w.api.store.clone(),
        secrets: w.api.secrets.clone(),
        datto: w.api.datto.clone(),
        psa: w.api.psa.clone(),
        settings: w.api.settings.clone(),
        cascades: Vec::new(),
        psa_cascades: vec![std::sync::Arc::new(shared::tickets::ForgetPsa(tickets))],
        runs: Default::default(),
    };
    let (status, body) = read_response(
        api.handle(api_request(
            "DELETE",
            &format!("/integrations/{}", w.psa_id),
            Some(TENANT),
            None,
        ))
        .await,
    );
    assert_eq!(status, 204, "{body}");
}

#[tokio::test]
async fn deleting_a_psa_integration_deregisters_its_webhooks_and_turns_ticketing_off() {
    for kind in [PsaKind::ConnectwiseManage, PsaKind::Autotask] {
        let w = world(kind, shared::time::now_millis).await;
        let api = registering(&w);
        let made = new_token(&api, &w.psa_id).await;
        let token = made["token"].as_str().unwrap().to_owned();
        let registered = |w: &rmmsync_tests::ticket_world::World| match kind {
            PsaKind::Autotask => w.autotask().ticket_webhooks().len(),
            _ => w.connectwise().callbacks().len(),
        };
        assert_eq!(registered(&w), 1, "{kind}");
        // An alert opened a ticket before: the settings point at this PSA.
        let uid = w.raise("disk_usage_ctx").await;
        assert_eq!(w.alert_state(&uid).await["state"], "opened");

        delete_psa(&w, api.clone()).await;
        assert_eq!(registered(&w), 0, "{kind}: deregistered in the PSA");
        let (status, settings) = w
            .call("GET", &format!("/integrations/{}/ticket-settings", w.datto_id), None)
            .await;
        assert_eq!(status, 200, "{settings}");
        assert_eq!(settings["enabled"], false, "{kind}: {settings}");
        assert!(settings["psaRemovedAt"].is_i64(), "{kind}: {settings}");
        assert_eq!(settings["psaIntegrationId"], w.psa_id.as_str());
        // Saving them again names the missing PSA.
        let (status, refused) = w
            .call(
                "PATCH",
                &format!("/integrations/{}/ticket-settings", w.datto_id),
                Some(json!({"enabled": true})),
            )
            .await;
        assert_eq!(status, 400, "{refused}");
        assert!(
            refused["message"].as_str().unwrap().contains("`psaIntegrationId`"),
            "{refused}"
        );
        // The PSA's hooks answer 401 now, whatever they carry.
        let path = match kind {
            PsaKind::Autotask => format!("/hooks/autotask/{}/webhook?token={token}", w.psa_id),
            _ => format!("/hooks/connectwise/{}/callback?token={token}", w.psa_id),
        };
        let (status, _) = w.hook(&path, &[("Content-Type", "application/json")], b"{}").await;
        assert_eq!(status, 401, "{kind}");
        // A new alert opens nothing.
        let tickets_before = match kind {
            PsaKind::Autotask => w.autotask().tickets().len(),
            _ => w.connectwise().tickets().len(),
        };
        let later = w.raise("srvc_status_ctx").await;
        assert!(w.alert_state(&later).await.is_null(), "{kind}");
        let tickets_after = match kind {
            PsaKind::Autotask => w.autotask().tickets().len(),
            _ => w.connectwise().tickets().len(),
        };
        assert_eq!(tickets_after, tickets_before, "{kind}");
    }
}

#[tokio::test]
async fn a_psa_that_refuses_deregistration_does_not_block_the_delete() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let api = registering(&w);
    new_token(&api, &w.psa_id).await;
    // Every TicketWebhooks request fails from now on.
    w.autotask().set_faults(simulators::autotask::Faults {
        fail_next: 1_000,
        status: 403,
        path_contains: Some("TicketWebhooks".into()),
        ..Default::default()
    });
    delete_psa(&w, api.clone()).await;
    let (_, settings) = w
        .call("GET", &format!("/integrations/{}/ticket-settings", w.datto_id), None)
        .await;
    assert_eq!(settings["enabled"], false, "{settings}");
    assert_eq!(w.autotask().ticket_webhooks().len(), 1, "left registered, logged");
}
