//! Running it day to day: the first sync on create, run lists, clear and
//! resync, switching integrations off and on, and deletion during a running
//! sync. Every flow's router as `App::all_routes` wires it (the integrations
//! flow with its run wiring), real API Gateway v2 events, moto's DynamoDB and
//! Secrets Manager, and the Datto RMM and Autotask simulators over HTTP.

use aws_sdk_dynamodb::types::AttributeValue;
use rmmsync_tests::{api_request, aws_config, call, datto_connector, fresh_store, psa_connector, read_response};
use serde_json::{Value, json};
use shared::app::App;
use shared::store::keys;
use shared::sync::{RunBudget, RunRecord, RunStatus};
use shared::tenant::TenantId;
use simulators::autotask::{AutotaskConfig, AutotaskSim};
use simulators::datto::{DattoConfig, DattoSim};
use std::collections::HashMap;
use std::time::Duration;

const ACME: &str = "acme";
const OTHER: &str = "globex";

struct World {
    app: App,
    datto: DattoSim,
    autotask: AutotaskSim,
}

async fn world(devices: usize, latency: Duration) -> World {
    world_with(devices, latency, 6, Duration::ZERO).await
}

async fn world_with(devices: usize, latency: Duration, companies: usize, psa_latency: Duration) -> World {
    let datto = DattoSim::start(DattoConfig {
        platform: "merlot".into(),
        sites: 8,
        devices,
        latency,
        // Slow worlds list in small pages, so that a run lasts seconds.
        page_max: if latency.is_zero() { 250 } else { 50 },
        ..DattoConfig::default()
    })
    .await
    .expect("start the Datto RMM simulator");
    let autotask = AutotaskSim::start(AutotaskConfig {
        companies,
        latency: psa_latency,
        ..AutotaskConfig::default()
    })
    .await
    .expect("start the Autotask simulator");
    let aws = aws_config().await;
    let app = App {
        store: fresh_store(&aws).await,
        secrets: rmmsync_tests::secrets_manager(&aws),
        datto: datto_connector(&datto),
        psa: psa_connector(&autotask.zone_information_url()),
        settings: rmmsync_tests::test_settings(),
        sync: shared::sync::SyncSettings::default(),
        operations: shared::operations::OperationSettings::default(),
        import_jobs: Default::default(),
        hook_base_url: None,
        clock: shared::time::now_millis,
    };
    World { app, datto, autotask }
}

fn no_audits() -> RunBudget {
    RunBudget {
        audit_requests: 0,
        ..RunBudget::default()
    }
}

impl World {
    async fn call(&self, method: &str, path: &str, tenant: &str, body: Option<Value>) -> (u16, Value) {
        read_response(
            call(
                self.app.all_routes(),
                api_request(method, path, Some(tenant), body.as_ref()),
            )
            .await,
        )
    }

    /// Connects the Datto simulator's account; returns the integration as created.
    async fn create_datto(&self, tenant: &str) -> Value {
        let c = self.datto.config();
        let body = json!({ "platform": c.platform, "apiKey": c.api_key, "apiSecret": c.api_secret });
        let (status, created) = self.call("POST", "/integrations", tenant, Some(body)).await;
        assert_eq!(status, 201, "{created}");
        created
    }

    async fn create_autotask(&self, tenant: &str) -> String {
        let c = self.autotask.config();
        let body = json!({ "type": "autotask", "username": c.username, "secret": c.secret });
        let (status, created) = self.call("POST", "/integrations", tenant, Some(body)).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["enabled"], true, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    /// Invocations of a sync run, as the stream would hand them, until it stops continuing.
    async fn drive(&self, tenant: &str, id: &str, run_id: &str) -> RunRecord {
        let tenant = TenantId::parse(tenant).unwrap();
        let deps = self.app.sync_deps();
        for _ in 0..50 {
            let run = shared::workers::sync_run(&deps, &tenant, id, run_id, &no_audits())
                .await
                .expect("a sync invocation");
            if run.status != RunStatus::Continuing {
                return run;
            }
        }
        panic!("the run never finished");
    }

    /// A Datto integration whose first sync (queued on create) has run.
    async fn synced_datto(&self, tenant: &str) -> String {
        let created = self.create_datto(tenant).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let run_id = created["sync"]["active"]["runId"]
            .as_str()
            .expect("a first run")
            .to_owned();
        let run = self.drive(tenant, &id, &run_id).await;
        assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.errors);
        id
    }

    async fn sync_now(&self, tenant: &str, id: &str) -> String {
        let (status, body) = self
            .call("POST", &format!("/integrations/{id}/sync"), tenant, None)
            .await;
        assert_eq!(status, 202, "{body}");
        body["runId"].as_str().unwrap().to_owned()
    }

    async fn psa_run(&self, tenant: &str, id: &str) -> String {
        let (status, queued) = self
            .call("POST", &format!("/integrations/{id}/psa-import/apply"), tenant, None)
            .await;
        assert_eq!(status, 202, "{queued}");
        let run_id = queued["runId"].as_str().unwrap().to_owned();
        let tenant = TenantId::parse(tenant).unwrap();
        let run = self
            .app
            .psa_import()
            .importer()
            .run(&tenant, id, &run_id)
            .await
            .unwrap();
        assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.errors);
        run_id
    }

    /// The items of a partition whose sort key starts with `prefix`.
    async fn items(&self, pk: &str, prefix: &str) -> Vec<HashMap<String, AttributeValue>> {
        let store = &self.app.store;
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let query = store
                .client()
                .query()
                .table_name(store.table())
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()));
            let query = if prefix.is_empty() {
                query.key_condition_expression("PK = :pk")
            } else {
                query
                    .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
                    .expression_attribute_values(":p", AttributeValue::S(prefix.to_owned()))
            };
            let out = query.set_exclusive_start_key(start).send().await.unwrap();
            all.extend(out.items().iter().cloned());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return all,
            }
        }
    }

    /// The items of an integration's partition `pk` and of its shards
    /// (devices and import states live in the shards).
    async fn everywhere(&self, pk: &str, prefix: &str) -> Vec<HashMap<String, AttributeValue>> {
        let mut all = self.items(pk, prefix).await;
        for shard in 0..keys::SHARDS {
            all.extend(self.items(&keys::shard_pk(pk, shard), prefix).await);
        }
        all
    }

    /// How many items of each kind an integration's partition and its shards hold.
    async fn census(&self, tenant: &str, id: &str) -> HashMap<String, usize> {
        let pk = keys::integration_pk(&TenantId::parse(tenant).unwrap(), id);
        let mut out = HashMap::new();
        for item in self.everywhere(&pk, "").await {
            let Some(AttributeValue::S(sk)) = item.get("SK") else {
                continue;
            };
            let kind = sk.split('#').next().unwrap_or_default().to_owned();
            *out.entry(kind).or_insert(0) += 1;
        }
        out
    }

    /// Every page of a run list, following `nextCursor`.
    async fn all_runs(&self, path: &str, tenant: &str, limit: usize) -> (Vec<String>, usize) {
        let mut ids = Vec::new();
        let mut pages = 0;
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}?limit={limit}&cursor={c}"),
                None => format!("{path}?limit={limit}"),
            };
            let (status, page) = self.call("GET", &url, tenant, None).await;
            assert_eq!(status, 200, "{page}");
            pages += 1;
            let runs = page["runs"].as_array().unwrap();
            assert!(runs.len() <= limit, "{page}");
            ids.extend(runs.iter().map(|r| r["runId"].as_str().unwrap().to_owned()));
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return (ids, pages),
            }
            assert!(pages < 50, "paging never ends");
        }
    }
}

fn count(census: &HashMap<String, usize>, kind: &str) -> usize {
    census.get(kind).copied().unwrap_or(0)
}

#[tokio::test]
async fn creating_a_datto_integration_queues_its_first_sync_and_the_integration_shows_it() {
    let w = world(60, Duration::ZERO).await;
    let created = w.create_datto(ACME).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["enabled"], true, "{created}");
    let active = &created["sync"]["active"];
    assert_eq!(active["status"], "queued", "{created}");
    let run_id = active["runId"].as_str().unwrap().to_owned();

    // Queued through the same path as Sync Now: the run item waits for the
    // worker, and Sync Now finds the integration busy with it.
    let (status, body) = w
        .call("GET", &format!("/integrations/{id}/sync-runs/{run_id}"), ACME, None)
        .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("queued")), "{body}");
    let (status, busy) = w.call("POST", &format!("/integrations/{id}/sync"), ACME, None).await;
    assert_eq!(
        (status, busy["activeRunId"].as_str()),
        (409, Some(run_id.as_str())),
        "{busy}"
    );
    let (_, shown) = w.call("GET", &format!("/integrations/{id}"), ACME, None).await;
    assert_eq!(shown["sync"]["active"]["runId"], run_id.as_str(), "{shown}");
    assert!(shown["sync"]["last"].is_null(), "{shown}");

    let run = w.drive(ACME, &id, &run_id).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.errors);
    let (status, shown) = w.call("GET", &format!("/integrations/{id}"), ACME, None).await;
    assert_eq!(status, 200, "{shown}");
    let last = &shown["sync"]["last"];
    assert_eq!(last["runId"], run_id.as_str(), "{shown}");
    assert_eq!(last["status"], "succeeded", "{shown}");
    assert!(last["finishedAt"].as_str().is_some(), "{shown}");
    assert_eq!(last["counts"]["devicesSeen"].as_u64(), Some(60), "{shown}");
    assert!(shown["sync"]["active"].is_null(), "{shown}");
    // The list shows the same.
    let (_, list) = w.call("GET", "/integrations", ACME, None).await;
    assert_eq!(
        list["integrations"][0]["sync"]["last"]["runId"],
        run_id.as_str(),
        "{list}"
    );
    // A PSA integration gets no sync; it shows its imports instead.
    let psa = w.create_autotask(ACME).await;
    let (_, shown) = w.call("GET", &format!("/integrations/{psa}"), ACME, None).await;
    assert!(
        shown.get("sync").is_none() && shown["psaImport"]["last"].is_null(),
        "{shown}"
    );
}

#[tokio::test]
async fn run_lists_page_newest_first_for_syncs_and_psa_imports() {
    let w = world(30, Duration::ZERO).await;
    let id = w.synced_datto(ACME).await;
    let first: Vec<String> = w
        .call("GET", &format!("/integrations/{id}/sync-runs"), ACME, None)
        .await
        .1["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["runId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(first.len(), 1);
    let mut made = first.clone();
    for _ in 0..4 {
        let run_id = w.sync_now(ACME, &id).await;
        w.drive(ACME, &id, &run_id).await;
        made.push(run_id);
    }
    made.reverse();
    let path = format!("/integrations/{id}/sync-runs");
    let (listed, pages) = w.all_runs(&path, ACME, 2).await;
    assert_eq!(listed, made, "newest first, each once");
    assert_eq!(pages, 3);
    let (listed, pages) = w.all_runs(&path, ACME, 100).await;
    assert_eq!((listed.len(), pages), (5, 1));
    let (status, page) = w.call("GET", &format!("{path}?limit=2"), ACME, None).await;
    assert_eq!(status, 200);
    assert_eq!(page["runs"][0]["status"], "succeeded", "{page}");
    assert!(page["runs"][0]["counts"]["sites"].as_u64().is_some(), "{page}");

    for bad in [
        "?limit=0",
        "?limit=101",
        "?limit=x",
        "?cursor=%21%21",
        "?cursor=UlVOI3g",
    ] {
        let (status, body) = w.call("GET", &format!("{path}{bad}"), ACME, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
    let (status, _) = w.call("GET", &path, OTHER, None).await;
    assert_eq!(status, 404, "another tenant's integration is not found");

    let psa = w.create_autotask(ACME).await;
    let mut imports = Vec::new();
    for _ in 0..3 {
        imports.push(w.psa_run(ACME, &psa).await);
    }
    imports.reverse();
    let psa_path = format!("/integrations/{psa}/psa-import/runs");
    let (listed, pages) = w.all_runs(&psa_path, ACME, 2).await;
    assert_eq!((listed, pages), (imports.clone(), 2));
    let (_, shown) = w.call("GET", &format!("/integrations/{psa}"), ACME, None).await;
    assert_eq!(shown["psaImport"]["last"]["runId"], imports[0].as_str(), "{shown}");
    assert_eq!(shown["psaImport"]["last"]["status"], "succeeded", "{shown}");
    assert!(
        shown["psaImport"]["last"]["counts"]["company"]["total"].as_u64() > Some(0),
        "{shown}"
    );
    let (status, _) = w.call("GET", &format!("{psa_path}?cursor=%21"), ACME, None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn clear_and_resync_keeps_or_drops_mappings_and_touches_no_other_integration() {
    let w = world(80, Duration::ZERO).await;
    let a = w.synced_datto(ACME).await;
    let b = w.synced_datto(ACME).await;
    let c = w.synced_datto(OTHER).await;

    // Mappings and an import on A (and the same on B, which must stay).
    let (status, company) = w
        .call("POST", "/companies", ACME, Some(json!({ "name": "Acme Dental" })))
        .await;
    assert_eq!(status, 201, "{company}");
    let company = company["id"].as_str().unwrap().to_owned();
    let pk_a = keys::integration_pk(&TenantId::parse(ACME).unwrap(), &a);
    let device = w
        .everywhere(&pk_a, "DEVICE#")
        .await
        .into_iter()
        .find(|d| d.get("category").is_some() && d.get("deviceType").is_some() && d.get("siteUid").is_some())
        .expect("a device with a site and a type");
    let s = |k: &str| match device.get(k) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => panic!("{k}"),
    };
    for id in [&a, &b] {
        let (status, body) = w
            .call(
                "PUT",
                &format!("/integrations/{id}/sites/{}/mapping", s("siteUid")),
                ACME,
                Some(json!({ "companyId": company })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = w
            .call(
                "PUT",
                &format!("/integrations/{id}/device-types"),
                ACME,
                Some(json!({ "category": s("category"), "deviceType": s("deviceType"), "mapsTo": "other", "autoSync": false })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = w
            .call(
                "POST",
                &format!("/integrations/{id}/import"),
                ACME,
                Some(json!({ "deviceUids": [s("uid")] })),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let worker = w.app.import_job_worker();
        rmmsync_tests::drive_import_job(&worker, ACME, id, body["jobId"].as_str().unwrap(), 3).await;
    }
    let before_a = w.census(ACME, &a).await;
    let before_b = w.census(ACME, &b).await;
    let before_c = w.census(OTHER, &c).await;
    for kind in ["SITE", "DEVICE", "DEVTYPE", "IMPORT", "SITEMAP", "TYPEMAP", "RUN"] {
        assert!(count(&before_a, kind) > 0, "{kind}: {before_a:?}");
    }

    // While a run is queued, a clear is refused and wipes nothing.
    let queued = w.sync_now(ACME, &a).await;
    let (status, busy) = w
        .call(
            "POST",
            &format!("/integrations/{a}/resync"),
            ACME,
            Some(json!({ "keepMappings": true })),
        )
        .await;
    assert_eq!(
        (status, busy["activeRunId"].as_str()),
        (409, Some(queued.as_str())),
        "{busy}"
    );
    assert_eq!(count(&w.census(ACME, &a).await, "DEVICE"), count(&before_a, "DEVICE"));
    w.drive(ACME, &a, &queued).await;
    let (status, body) = w
        .call("POST", &format!("/integrations/{a}/resync"), ACME, Some(json!({})))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );

    // Keep the mappings.
    let (status, started) = w
        .call(
            "POST",
            &format!("/integrations/{a}/resync"),
            ACME,
            Some(json!({ "keepMappings": true })),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["status"], "queued");
    assert_eq!(started["cleared"]["siteMappings"], 0, "{started}");
    assert!(started["cleared"]["importStates"].as_u64() >= Some(1), "{started}");
    let cleared = w.census(ACME, &a).await;
    for kind in ["SITE", "DEVICE", "DEVTYPE", "IMPORT", "SITESUG", "SEEN"] {
        assert_eq!(count(&cleared, kind), 0, "{kind} left: {cleared:?}");
    }
    assert_eq!(count(&cleared, "SITEMAP"), count(&before_a, "SITEMAP"));
    assert_eq!(count(&cleared, "TYPEMAP"), count(&before_a, "TYPEMAP"));
    assert_eq!(
        count(&cleared, "RUN"),
        count(&before_a, "RUN") + 2,
        "runs stay: {cleared:?}"
    );
    // Credentials stay: the queued full run syncs everything back.
    let run_id = started["runId"].as_str().unwrap().to_owned();
    let (_, shown) = w.call("GET", &format!("/integrations/{a}"), ACME, None).await;
    assert_eq!(shown["sync"]["active"]["runId"], run_id.as_str(), "{shown}");
    let run = w.drive(ACME, &a, &run_id).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.errors);
    assert_eq!(run.counts.devices_created, 80, "a full run: every device new again");
    let resynced = w.census(ACME, &a).await;
    for kind in ["SITE", "DEVICE", "DEVTYPE"] {
        assert_eq!(count(&resynced, kind), count(&before_a, kind), "{kind}");
    }

    // Drop them.
    let (status, started) = w
        .call(
            "POST",
            &format!("/integrations/{a}/resync"),
            ACME,
            Some(json!({ "keepMappings": false })),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["cleared"]["siteMappings"], 1, "{started}");
    assert_eq!(started["cleared"]["typeMappings"], 1, "{started}");
    let dropped = w.census(ACME, &a).await;
    for kind in ["SITE", "DEVICE", "SITEMAP", "TYPEMAP", "IMPORT"] {
        assert_eq!(count(&dropped, kind), 0, "{kind} left: {dropped:?}");
    }

    // Nothing of the other integration, nor of the other tenant, moved.
    assert_eq!(w.census(ACME, &b).await, before_b);
    assert_eq!(w.census(OTHER, &c).await, before_c);
    let (status, _) = w
        .call(
            "POST",
            &format!("/integrations/{c}/resync"),
            ACME,
            Some(json!({ "keepMappings": false })),
        )
        .await;
    assert_eq!(status, 404, "another tenant's integration cannot be cleared");
    assert_eq!(w.census(OTHER, &c).await, before_c);
}

#[tokio::test]
async fn disabled_integrations_are_skipped_by_schedules_hooks_and_imports_and_come_back() {
    let w = world(40, Duration::ZERO).await;
    let datto = w.synced_datto(ACME).await;
    let psa = w.create_autotask(ACME).await;
    let (status, company) = w
        .call("POST", "/companies", ACME, Some(json!({ "name": "Kept Co" })))
        .await;
    assert_eq!(status, 201);
    let site = w
        .items(&keys::integration_pk(&TenantId::parse(ACME).unwrap(), &datto), "SITE#")
        .await[0]
        .get("uid")
        .and_then(|v| v.as_s().ok())
        .unwrap()
        .clone();
    let (status, _) = w
        .call(
            "PUT",
            &format!("/integrations/{datto}/sites/{site}/mapping"),
            ACME,
            Some(json!({ "companyId": company["id"] })),
        )
        .await;
    assert_eq!(status, 200);
    let mut tokens = HashMap::new();
    for id in [&datto, &psa] {
        let (status, made) = w
            .call("POST", &format!("/integrations/{id}/hook-token"), ACME, None)
            .await;
        assert_eq!(status, 201, "{made}");
        tokens.insert(id.clone(), made["token"].as_str().unwrap().to_owned());
    }
    let alert = |id: &str| format!("/hooks/datto/{id}/alerts?token={}", tokens[id]);
    let callout = |id: &str| format!("/hooks/autotask/{id}/callout?token={}", tokens[id]);
    let alert_body = json!({ "alertUID": uuid::Uuid::new_v4().to_string() });

    for id in [&datto, &psa] {
        let (status, off) = w.call("POST", &format!("/integrations/{id}/disable"), ACME, None).await;
        assert_eq!((status, off["enabled"].as_bool()), (200, Some(false)), "{off}");
    }
    let (status, _) = w
        .call("POST", &format!("/integrations/{datto}/disable"), OTHER, None)
        .await;
    assert_eq!(status, 404, "another tenant cannot switch it");
    // Changing an off integration's keys or settings leaves it off.
    let c = w.datto.config();
    let (status, rotated) = w
        .call(
            "PUT",
            &format!("/integrations/{datto}/credentials"),
            ACME,
            Some(json!({ "apiKey": c.api_key, "apiSecret": c.api_secret })),
        )
        .await;
    assert_eq!((status, rotated["enabled"].as_bool()), (200, Some(false)), "{rotated}");
    let (status, _) = w
        .call(
            "PUT",
            &format!("/integrations/{psa}/psa-import/settings"),
            ACME,
            Some(json!({ "autoCreate": { "companies": true } })),
        )
        .await;
    assert_eq!(status, 200);
    let (_, shown) = w.call("GET", &format!("/integrations/{psa}"), ACME, None).await;
    assert_eq!(
        (shown["enabled"].as_bool(), shown["autoCreate"]["companies"].as_bool()),
        (Some(false), Some(true)),
        "{shown}"
    );

    // Sync Now, clear, device import and PSA import: 409, nothing queued.
    let refused = [
        ("POST", format!("/integrations/{datto}/sync"), None),
        (
            "POST",
            format!("/integrations/{datto}/resync"),
            Some(json!({ "keepMappings": true })),
        ),
        (
            "POST",
            format!("/integrations/{datto}/import"),
            Some(json!({ "deviceUids": ["x"] })),
        ),
        ("POST", format!("/integrations/{psa}/psa-import/apply"), None),
    ];
    for (method, path, body) in &refused {
        let (status, problem) = w.call(method, path, ACME, body.clone()).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (409, Some("integration_disabled")),
            "{path}: {problem}"
        );
    }
    // The schedules skip them.
    let deps = w.app.sync_deps();
    let started = shared::sync::schedule_all(&deps).await.unwrap();
    assert!(started.iter().all(|r| r.integration_id != datto), "{started:?}");
    assert_eq!(w.app.psa_import().importer().schedule_all().await.unwrap(), 0);
    // The webhooks answer that it is off and do nothing.
    let (status, out) = w.call("POST", &alert(&datto), ACME, Some(alert_body.clone())).await;
    assert_eq!((status, out["status"].as_str()), (200, Some("disabled")), "{out}");
    let (status, out) = w
        .call("POST", &callout(&psa), ACME, Some(json!({ "id": "12345" })))
        .await;
    assert_eq!((status, out["status"].as_str()), (200, Some("disabled")), "{out}");
    let census = w.census(ACME, &datto).await;
    assert_eq!(count(&census, "ALERT"), 0);
    assert_eq!(count(&census, "RUN"), 1, "no run was queued: {census:?}");
    assert_eq!(count(&w.census(ACME, &psa).await, "PSARUN"), 0);

    // A run queued before the switch-off stops before it writes anything.
    let (status, _) = w
        .call("POST", &format!("/integrations/{datto}/enable"), ACME, None)
        .await;
    assert_eq!(status, 200);
    let queued = w.sync_now(ACME, &datto).await;
    w.call("POST", &format!("/integrations/{datto}/disable"), ACME, None)
        .await;
    let stopped = w.drive(ACME, &datto, &queued).await;
    assert_eq!(stopped.status, RunStatus::Failed);
    assert_eq!(stopped.errors[0].code, "integration_disabled", "{:?}", stopped.errors);
    assert_eq!(stopped.counts.devices_seen, 0);

    // On again: everything works, settings and mappings kept.
    for id in [&datto, &psa] {
        let (status, on) = w.call("POST", &format!("/integrations/{id}/enable"), ACME, None).await;
        assert_eq!((status, on["enabled"].as_bool()), (200, Some(true)), "{on}");
    }
    let run_id = w.sync_now(ACME, &datto).await;
    assert_eq!(w.drive(ACME, &datto, &run_id).await.status, RunStatus::Succeeded);
    w.psa_run(ACME, &psa).await;
    let (status, out) = w.call("POST", &alert(&datto), ACME, Some(alert_body)).await;
    assert_eq!(status, 200, "{out}");
    assert_ne!(out["status"], "disabled", "{out}");
    let (_, sites) = w.call("GET", &format!("/integrations/{datto}/sites"), ACME, None).await;
    assert!(
        sites.to_string().contains(company["id"].as_str().unwrap()),
        "the mapping stayed: {sites}"
    );
    let started = shared::sync::schedule_all(&deps).await.unwrap();
    assert!(started.iter().any(|r| r.integration_id == datto), "{started:?}");
}

#[tokio::test]
async fn deleting_an_integration_during_its_sync_leaves_nothing_behind() {
    // Slow, small pages (60 of them, 150 ms each), so that the run is still
    // listing when the delete comes.
    let w = world(3_000, Duration::from_millis(150)).await;
    let created = w.create_datto(ACME).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let run_id = created["sync"]["active"]["runId"].as_str().unwrap().to_owned();
    let keep = w.synced_datto(ACME).await;
    let keep_before = w.census(ACME, &keep).await;
    let pk = keys::integration_pk(&TenantId::parse(ACME).unwrap(), &id);

    let deps = w.app.sync_deps();
    let (run_tenant, run_integration, run) = (TenantId::parse(ACME).unwrap(), id.clone(), run_id.clone());
    let listed_before = w.datto.stats().route("account_devices");
    let worker = tokio::spawn(async move {
        shared::workers::sync_run(&deps, &run_tenant, &run_integration, &run, &no_audits()).await
    });
    // Two device pages served (of 60): the run is listing. (The simulator's
    // count, not a scan of the integration's 33 partitions, which on a
    // loaded machine can take as long as the run.)
    let mut waited = 0;
    while w.datto.stats().route("account_devices") < listed_before + 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
        assert!(waited < 1_000, "the sync never listed devices");
    }
    let (status, body) = w.call("DELETE", &format!("/integrations/{id}"), ACME, None).await;
    assert_eq!(status, 204, "{body}");
    let run = worker.await.unwrap().expect("the invocation ends cleanly");
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.errors.iter().any(|e| e.code == "integration_deleted"),
        "{:?}",
        run.errors
    );
    assert!(
        (run.counts.devices_seen as usize) < 3_000,
        "stopped part way: {}",
        run.counts.devices_seen
    );
    // Nothing written back after the delete, now or a moment later.
    for _ in 0..2 {
        assert!(
            w.everywhere(&pk, "").await.is_empty(),
            "left behind: {:?}",
            w.census(ACME, &id).await
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (status, _) = w.call("GET", &format!("/integrations/{id}"), ACME, None).await;
    assert_eq!(status, 404);
    // The stream's next delivery of the run finds nothing to do.
    let again = w.app.sync_worker();
    let out = shared::runs::worker::drive(
        &again,
        &json!({"Records": [{"eventName": "MODIFY", "dynamodb": {"NewImage": {
            "PK": {"S": pk}, "SK": {"S": format!("RUN#{run_id}")}, "entity": {"S": "sync-run"},
            "status": {"S": "queued"}, "tenant": {"S": ACME}, "integrationId": {"S": id}, "runId": {"S": run_id}}}}]}),
    )
    .await
    .expect("no retry for a deleted integration's run");
    assert_eq!(out["runs"][0]["status"], "failed");
    assert!(w.items(&pk, "").await.is_empty());
    assert_eq!(
        w.census(ACME, &keep).await,
        keep_before,
        "the other integration is untouched"
    );
}

/// `n` checks of the guard at once, as `n` batch writers make them.
async fn checks(guard: &std::sync::Arc<shared::runs::guard::RunGuard>, n: usize) -> Vec<bool> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let guard = guard.clone();
        set.spawn(async move { guard.check().await.is_ok() });
    }
    set.join_all().await
}

#[tokio::test]
async fn the_run_guard_reads_once_for_all_its_writers_and_stops_a_switched_off_run() {
    use shared::runs::guard::{FRESH, RunGuard, StopReason};
    let w = world(10, Duration::ZERO).await;
    let created = w.create_datto(ACME).await;
    let id = created["id"].as_str().unwrap().to_owned();
    // The queued first sync holds the lease; its guard is checked here, as its writers would.
    let run_id = created["sync"]["active"]["runId"].as_str().expect("a first run");
    let tenant = TenantId::parse(ACME).unwrap();
    let guard = std::sync::Arc::new(RunGuard::new(
        w.app.store.clone(),
        &tenant,
        &id,
        &shared::sync::record::SYNC_RUNS,
        run_id,
    ));

    // Sixteen writers at once, nothing read yet: one read, and all may write.
    assert!(checks(&guard, 16).await.into_iter().all(|ok| ok));
    assert_eq!(guard.reads(), 1, "the writers wait for one read, not one each");
    // Half fresh: one writer reads ahead, the others go on under the pass.
    tokio::time::sleep(FRESH / 2 + Duration::from_millis(50)).await;
    assert!(checks(&guard, 16).await.into_iter().all(|ok| ok));
    assert_eq!(guard.reads(), 2);
    // Stale: again one read for all of them.
    tokio::time::sleep(FRESH + Duration::from_millis(50)).await;
    assert!(checks(&guard, 16).await.into_iter().all(|ok| ok));
    assert_eq!(guard.reads(), 3);

    // Switched off: no writer starts a batch more than FRESH later.
    let (status, body) = w.call("POST", &format!("/integrations/{id}/disable"), ACME, None).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(FRESH + Duration::from_millis(50)).await;
    assert!(checks(&guard, 16).await.into_iter().all(|ok| !ok));
    assert_eq!(guard.stopped(), Some(StopReason::Disabled));
    // Stopped stays stopped, without reading again.
    let reads = guard.reads();
    assert!(!checks(&guard, 4).await.into_iter().any(|ok| ok));
    assert_eq!(guard.reads(), reads);
}

#[tokio::test]
async fn deleting_a_psa_integration_during_its_import_stops_the_import_writing() {
    // Slow pages, so that the import is still listing companies when the delete comes.
    let w = world_with(10, Duration::ZERO, 1_200, Duration::from_millis(150)).await;
    let psa = w.create_autotask(ACME).await;
    let (status, queued) = w
        .call("POST", &format!("/integrations/{psa}/psa-import/apply"), ACME, None)
        .await;
    assert_eq!(status, 202, "{queued}");
    let run_id = queued["runId"].as_str().unwrap().to_owned();
    let tenant = TenantId::parse(ACME).unwrap();
    let api = w.app.psa_import();
    let (run_tenant, run_psa, run) = (tenant.clone(), psa.clone(), run_id.clone());
    let worker = tokio::spawn(async move { api.importer().run(&run_tenant, &run_psa, &run).await });
    let mut waited = 0;
    loop {
        let (_, run) = w
            .call(
                "GET",
                &format!("/integrations/{psa}/psa-import/runs/{run_id}"),
                ACME,
                None,
            )
            .await;
        if run["status"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
        assert!(waited < 500, "the import never started: {run}");
    }
    let (status, body) = w.call("DELETE", &format!("/integrations/{psa}"), ACME, None).await;
    assert_eq!(status, 204, "{body}");
    let run = worker.await.unwrap().expect("the import ends cleanly");
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.errors[0].code, "integration_deleted", "{:?}", run.errors);
    let tenant_pk = keys::tenant_pk(&tenant);
    let companies = w.items(&tenant_pk, "COMPANY#").await.len();
    assert_eq!(companies, 0, "the import wrote nothing back");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.items(&tenant_pk, "COMPANY#").await.len(), 0);
    assert!(w.items(&keys::integration_pk(&tenant, &psa), "").await.is_empty());
}
