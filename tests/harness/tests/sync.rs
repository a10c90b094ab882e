//! The Datto RMM sync end to end: the shared run function against the Datto
//! RMM simulator over HTTP and moto's DynamoDB and Secrets Manager; the HTTP
//! routes through real API Gateway v2 events.

use aws_sdk_dynamodb::types::AttributeValue;
use rmmsync_tests::Handle;
use rmmsync_tests::{api_request, aws_config, fresh_store, read_response, secrets_manager};
use serde_json::{Value, json};
use shared::connections::routes::IntegrationsApi;
use shared::datto::{DattoConnector, RetryPolicy};
use shared::store::keys;
use shared::sync::routes::SyncApi;
use shared::sync::{RunBudget, RunRecord, RunStatus, SyncDeps, SyncSettings};
use shared::tenant::TenantId;
use shared::workers::sync_run;
use simulators::datto::{DattoConfig, DattoSim, Faults};
use std::collections::HashMap;
use std::time::Duration;

const KEY: &str = "SYNCKEY-1234567890";
const SECRET: &str = "SYNCSECRET-abcdefghijkl";
const TENANT: &str = "acme";

struct Stack {
    sim: DattoSim,
    api: SyncApi,
    id: String,
    tenant: TenantId,
}

fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::datto()
    }
}

async fn stack(config: DattoConfig) -> Stack {
    let sim = DattoSim::start(DattoConfig {
        platform: "merlot".into(),
        api_key: KEY.into(),
        api_secret: SECRET.into(),
        ..config
    })
    .await
    .expect("start the Datto RMM simulator");
    let aws = aws_config().await;
    let connector = DattoConnector::new(shared::http::client())
        .with_base_url_template(format!("{}/{{platform}}", sim.base_url()))
        .with_retry(quick_retry());
    let integrations = IntegrationsApi {
        psa: shared::psa::PsaConnector::from_env(shared::http::client()),
        store: fresh_store(&aws).await,
        secrets: secrets_manager(&aws),
        datto: connector.clone(),
        settings: rmmsync_tests::test_settings(),
        cascades: Vec::new(),
        psa_cascades: Vec::new(),
        runs: Default::default(),
    };
    let body = json!({ "platform": "merlot", "apiKey": KEY, "apiSecret": SECRET });
    let (status, created) = read_response(
        integrations
            .handle(api_request("POST", "/integrations", Some(TENANT), Some(&body)))
            .await,
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let api = SyncApi {
        deps: std::sync::Arc::new(SyncDeps {
            store: integrations.store.clone(),
            secrets: integrations.secrets.clone(),
            datto: connector,
            settings: SyncSettings::default(),
        }),
    };
    Stack {
        sim,
        api,
        id,
        tenant: TenantId::parse(TENANT).unwrap(),
    }
}

fn no_audits() -> RunBudget {
    RunBudget {
        audit_requests: 0,
        ..RunBudget::default()
    }
}

impl Stack {
    async fn call(&self, method: &str, path: &str, tenant: &str) -> (u16, Value) {
        read_response(self.api.handle(api_request(method, path, Some(tenant), None)).await)
    }

    async fn sync_now(&self) -> String {
        let (status, body) = self
            .call("POST", &format!("/integrations/{}/sync", self.id), TENANT)
            .await;
        assert_eq!(status, 202, "{body}");
        body["runId"].as_str().unwrap().to_owned()
    }

    /// Sync Now, then invocations until the run stops continuing.
    async fn sync(&self, budget: &RunBudget) -> RunRecord {
        let run_id = self.sync_now().await;
        self.drive(&run_id, budget).await
    }

    async fn drive(&self, run_id: &str, budget: &RunBudget) -> RunRecord {
        for _ in 0..200 {
            let run = sync_run(&self.api.deps, &self.tenant, &self.id, run_id, budget)
                .await
                .expect("run_once");
            if run.status != RunStatus::Continuing {
                return run;
            }
        }
        panic!("the run never finished");
    }

    async fn items(&self, prefix: &str) -> Vec<HashMap<String, AttributeValue>> {
        self.items_in(&keys::integration_pk(&self.tenant, &self.id), prefix)
            .await
    }

    /// Items of every shard of the integration's partition.
    async fn shard_items(&self, prefix: &str) -> Vec<HashMap<String, AttributeValue>> {
        let mut all = Vec::new();
        for pk in keys::integration_shard_pks(&self.tenant, &self.id) {
            all.extend(self.items_in(&pk, prefix).await);
        }
        all
    }

    async fn items_in(&self, pk: &str, prefix: &str) -> Vec<HashMap<String, AttributeValue>> {
        let store = &self.api.deps.store;
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let out = store
                .client()
                .query()
                .table_name(store.table())
                .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
                .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
                .expression_attribute_values(":p", AttributeValue::S(prefix.into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            all.extend(out.items().iter().cloned());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return all,
            }
        }
    }

    async fn device_items(&self) -> HashMap<String, HashMap<String, AttributeValue>> {
        self.shard_items("DEVICE#")
            .await
            .into_iter()
            .map(|i| (s(&i, "uid").unwrap(), i))
            .collect()
    }
}

fn s(item: &HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    match item.get(k) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn n(item: &HashMap<String, AttributeValue>, k: &str) -> Option<i64> {
    match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

fn min_requests(sites: usize, devices: usize) -> u64 {
    (1 + sites.div_ceil(250) + devices.div_ceil(250)) as u64
}

#[tokio::test]
async fn a_first_sync_stores_sites_devices_and_types_and_flags_pseudo_sites() {
    let st = stack(DattoConfig {
        sites: 15,
        devices: 300,
        ..DattoConfig::default()
    })
    .await;
    let run = st.sync(&no_audits()).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let sites = st.sim.site_uids();
    let devices = st.sim.device_uids();
    assert_eq!(run.counts.sites as usize, sites.len());
    assert_eq!(run.counts.pseudo_sites, 3);
    assert_eq!(run.counts.devices_seen as usize, devices.len());
    assert_eq!(run.counts.devices_created as usize, devices.len());
    assert_eq!(run.counts.devices_removed, 0);
    assert_eq!(
        run.counts.requests,
        min_requests(sites.len(), devices.len()),
        "fewest requests"
    );

    let site_items = st.items("SITE#").await;
    assert_eq!(site_items.len(), sites.len());
    let pseudo: Vec<String> = site_items
        .iter()
        .filter(|i| matches!(i.get("pseudo"), Some(AttributeValue::Bool(true))))
        .map(|i| s(i, "name").unwrap())
        .collect();
    assert_eq!(pseudo.len(), 3, "{pseudo:?}");
    for name in ["Deleted Devices", "OnDemand", "Managed"] {
        assert!(pseudo.iter().any(|p| p == name), "{name} not flagged: {pseudo:?}");
    }
    let mapped = site_items.iter().find(|i| s(i, "autotaskCompanyId").is_some());
    assert!(
        mapped.is_some_and(|i| s(i, "autotaskCompanyName").is_some()),
        "Autotask company carried over"
    );
    assert!(site_items.iter().all(|i| n(i, "deviceCount").is_some()));

    let device_items = st.device_items().await;
    assert_eq!(device_items.len(), devices.len());
    let any = st.sim.device(&devices[0]).unwrap();
    let item = &device_items[&devices[0]];
    assert_eq!(s(item, "hostname").as_deref(), Some(any.hostname.as_str()));
    assert_eq!(s(item, "siteUid").as_deref(), Some(any.site_uid.as_str()));
    assert_eq!(n(item, "id"), Some(any.id));
    assert_eq!(s(item, "entity").as_deref(), Some("device"));

    let types = st.items("DEVTYPE#").await;
    assert_eq!(types.len() as u64, run.counts.device_types);
    let total: i64 = types.iter().map(|t| n(t, "count").unwrap()).sum();
    assert_eq!(total as usize, devices.len());

    // GET shows the run with its counts.
    let (status, body) = st
        .call(
            "GET",
            &format!("/integrations/{}/sync-runs/{}", st.id, run.run_id),
            TENANT,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["phase"], "done");
    assert_eq!(body["counts"]["devicesSeen"], devices.len());
    assert_eq!(body["counts"]["devicesCreated"], devices.len());
    assert_eq!(body["counts"]["sites"], sites.len());
    assert_eq!(body["counts"]["requests"], run.counts.requests);
    assert!(body["counts"]["errors"] == 0 && body["errors"] == json!([]), "{body}");
}

#[tokio::test]
async fn a_re_sync_writes_only_what_changed() {
    let st = stack(DattoConfig {
        sites: 10,
        devices: 120,
        ..DattoConfig::default()
    })
    .await;
    let first = st.sync(&no_audits()).await;
    assert_eq!(first.status, RunStatus::Succeeded);
    let again = st.sync(&no_audits()).await;
    assert_eq!(again.status, RunStatus::Succeeded, "{again:?}");
    assert_eq!(
        (
            again.counts.devices_created,
            again.counts.devices_updated,
            again.counts.writes
        ),
        (0, 0, 0),
        "nothing changed, nothing written"
    );
    let uids = st.sim.device_uids();
    for uid in &uids[..3] {
        st.sim
            .change_device(uid, |d| d.hostname = format!("{}-renamed", d.hostname));
    }
    // lastSeen moving within the hour is not a change worth a write.
    st.sim.change_device(&uids[5], |d| {
        d.last_seen = d.last_seen.map(|t| t - t.rem_euclid(3_600_000) + 1_000)
    });
    let third = st.sync(&no_audits()).await;
    assert_eq!(third.counts.devices_updated, 3, "{third:?}");
    // The three devices, the index item of each shard they live in, and the
    // run's list of changed devices (written by the sync, dropped by the
    // auto-import pass after it).
    let shards: std::collections::HashSet<u32> = uids[..3].iter().map(|u| keys::shard_of(u)).collect();
    assert_eq!(third.counts.writes, 3 + shards.len() as u64 + 2);
    let items = st.device_items().await;
    assert!(s(&items[&uids[0]], "hostname").unwrap().ends_with("-renamed"));
}

#[tokio::test]
async fn paging_edge_cases_lose_and_repeat_nothing() {
    // Short pages (the simulator clamps max), a last page that is exactly
    // full, and next-page URLs that drop the filters.
    for (devices, page_max) in [(49, 7), (50, 7), (3, 250)] {
        let st = stack(DattoConfig {
            sites: 4,
            devices,
            page_max,
            drop_filters_in_next_page_url: true,
            ..DattoConfig::default()
        })
        .await;
        let run = st.sync(&no_audits()).await;
        assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
        assert_eq!(run.counts.devices_seen as usize, devices);
        assert_eq!(st.device_items().await.len(), devices);
        assert_eq!(st.items("SITE#").await.len(), st.sim.site_uids().len());
    }
    // An empty account: the listing is complete and empty, so what was there is removed.
    let st = stack(DattoConfig {
        sites: 2,
        devices: 5,
        ..DattoConfig::default()
    })
    .await;
    st.sync(&no_audits()).await;
    for uid in st.sim.device_uids() {
        st.sim.purge_device(&uid);
    }
    let run = st.sync(&no_audits()).await;
    assert_eq!((run.counts.devices_seen, run.counts.devices_removed), (0, 5));
}

#[tokio::test]
async fn moved_deleted_and_vanished_devices() {
    let st = stack(DattoConfig {
        sites: 6,
        devices: 60,
        ..DattoConfig::default()
    })
    .await;
    st.sync(&no_audits()).await;
    let uids = st.sim.device_uids();
    let (mover, deleted, vanished) = (&uids[0], &uids[1], &uids[2]);
    let from = st.sim.device(mover).unwrap().site_uid;
    let to = st
        .sim
        .sites()
        .into_iter()
        .find(|x| x.uid != from && !["Deleted Devices", "OnDemand", "Managed"].contains(&x.name.to_string().as_str()))
        .unwrap()
        .uid;
    st.sim.move_device(mover, &to);
    st.sim.delete_device(deleted);
    st.sim.purge_device(vanished);
    let run = st.sync(&no_audits()).await;
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(run.counts.devices_removed, 1);
    assert_eq!(run.counts.devices_updated, 2);
    let items = st.device_items().await;
    assert_eq!(items.len(), uids.len(), "nothing is deleted from the store");
    assert_eq!(s(&items[mover], "siteUid").as_deref(), Some(to.as_str()));
    assert!(n(&items[mover], "removedAt").is_none());
    assert_eq!(s(&items[deleted], "siteUid"), Some(st.sim.deleted_devices_site_uid()));
    assert_eq!(items[deleted].get("deleted"), Some(&AttributeValue::Bool(true)));
    let removed_at = n(&items[vanished], "removedAt").expect("marked removed");
    assert!(removed_at >= run.created_at);
    // Removal is recorded once, not on every run.
    let again = st.sync(&no_audits()).await;
    assert_eq!((again.counts.devices_removed, again.counts.writes), (0, 0));
}

#[tokio::test]
async fn a_429_storm_slows_the_run_but_it_completes() {
    let st = stack(DattoConfig {
        sites: 5,
        devices: 40,
        page_max: 10,
        ..DattoConfig::default()
    })
    .await;
    st.sim.set_faults(Faults {
        force_429_next: 6,
        ..Faults::default()
    });
    let run = st.sync(&no_audits()).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.counts.devices_seen, 40);
    let pages = 1 + 1 + 4; // token, sites, 4 device pages
    assert_eq!(run.counts.requests, pages + 6, "every retry is counted");
}

#[tokio::test]
async fn a_fault_mid_listing_is_recorded_and_the_next_run_resumes() {
    let st = stack(DattoConfig {
        sites: 5,
        devices: 200,
        page_max: 10,
        latency: Duration::from_millis(15),
        ..DattoConfig::default()
    })
    .await;
    let run_id = st.sync_now().await;
    // Datto starts failing after a few device pages.
    let budget = no_audits();
    let first = {
        let run = sync_run(&st.api.deps, &st.tenant, &st.id, &run_id, &budget);
        let breaker = async {
            while st.sim.stats().route("account_devices") < 4 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            st.sim.set_faults(Faults {
                fail_next: 100,
                status: 500,
                path_contains: Some("account/devices".into()),
                ..Faults::default()
            });
        };
        let (run, ()) = tokio::join!(run, breaker);
        run.unwrap()
    };
    assert_eq!(first.status, RunStatus::Partial, "{first:?}");
    assert_eq!(first.errors[0].code, "datto_rmm.server_error");
    assert!(
        first.counts.devices_seen > 0 && first.counts.devices_seen < 200,
        "{first:?}"
    );
    assert_eq!(first.counts.devices_removed, 0);
    let (_, body) = st
        .call("GET", &format!("/integrations/{}/sync-runs/{run_id}", st.id), TENANT)
        .await;
    assert_eq!(body["status"], "partial");
    assert_eq!(body["errors"][0]["code"], "datto_rmm.server_error");

    st.sim.set_faults(Faults::default());
    let second = st.sync(&no_audits()).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{second:?}");
    assert_eq!(second.resumed_from.as_deref(), Some(run_id.as_str()));
    assert_eq!(
        second.counts.devices_seen, 200,
        "the resumed listing covers the whole account"
    );
    assert_eq!(second.counts.devices_removed, 0, "nothing lost");
    assert_eq!(
        first.counts.devices_created + second.counts.devices_created,
        200,
        "nothing listed twice"
    );
    assert_eq!(st.device_items().await.len(), 200);
    // The next run starts from the top again.
    let third = st.sync(&no_audits()).await;
    assert_eq!((third.resumed_from, third.counts.devices_seen), (None, 200));
}

#[tokio::test]
async fn a_run_that_outgrows_an_invocation_continues_in_the_next() {
    let st = stack(DattoConfig {
        sites: 4,
        devices: 55,
        page_max: 10,
        ..DattoConfig::default()
    })
    .await;
    st.sync(&no_audits()).await;
    let gone = st.sim.device_uids()[0].clone();
    st.sim.purge_device(&gone);
    // No time at all: every invocation lists one page, then hands over.
    let tight = RunBudget {
        audit_requests: 0,
        time: Duration::ZERO,
        ..RunBudget::default()
    };
    let run = st.sync(&tight).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert!(run.invocations >= 6, "{run:?}");
    assert_eq!(run.counts.devices_seen, 54);
    assert_eq!(run.counts.devices_removed, 1);
    assert!(n(&st.device_items().await[&gone], "removedAt").is_some());
}

#[tokio::test]
async fn two_sync_now_calls_at_once_start_one_run() {
    let st = stack(DattoConfig::default()).await;
    let path = format!("/integrations/{}/sync", st.id);
    let (a, b) = tokio::join!(st.call("POST", &path, TENANT), st.call("POST", &path, TENANT));
    let mut answers = [a, b];
    answers.sort_by_key(|(status, _)| *status);
    assert_eq!(answers[0].0, 202, "{:?}", answers[0].1);
    assert_eq!(answers[1].0, 409, "{:?}", answers[1].1);
    assert_eq!(answers[1].1["code"], "sync_in_progress");
    assert_eq!(answers[1].1["activeRunId"], answers[0].1["runId"]);
    // Once it has run, Sync Now works again.
    let run_id = answers[0].1["runId"].as_str().unwrap().to_owned();
    assert_eq!(st.drive(&run_id, &no_audits()).await.status, RunStatus::Succeeded);
    st.sync_now().await;
}

#[tokio::test]
async fn audits_stay_within_the_budget_and_the_rest_waits() {
    let st = stack(DattoConfig {
        sites: 4,
        devices: 40,
        ..DattoConfig::default()
    })
    .await;
    let budget = RunBudget {
        audit_requests: 8,
        ..RunBudget::default()
    };
    let first = st.sync(&budget).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    assert_eq!(first.counts.audits_done, 8);
    let pending = first.counts.audits_pending;
    assert!(pending > 8, "{first:?}");
    let second = st.sync(&budget).await;
    assert_eq!(second.counts.audits_done, 8);
    assert_eq!(second.counts.audits_pending, pending - 8);

    let items = st.device_items().await;
    let audited: Vec<_> = items.values().filter(|i| n(i, "auditedAt").is_some()).collect();
    assert_eq!(audited.len(), 16);
    let with_serial = audited
        .iter()
        .find(|i| s(i, "serialNumber").is_some())
        .expect("an audited device with a serial");
    let sim_device = st.sim.device(&s(with_serial, "uid").unwrap()).unwrap();
    assert_eq!(s(with_serial, "serialNumber"), sim_device.serial_number);
    assert_eq!(
        s(with_serial, "manufacturer").as_deref(),
        sim_device.manufacturer.as_deref()
    );

    // A device whose lastAuditDate moves is audited again; the others are not.
    let uid = s(audited[0], "uid").unwrap();
    st.sim
        .change_device(&uid, |d| d.last_audit_date = d.last_audit_date.map(|t| t + 60_000));
    let all = RunBudget {
        audit_requests: 1_000,
        ..RunBudget::default()
    };
    let third = st.sync(&all).await;
    assert_eq!(third.counts.audits_done, pending - 8 + 1);
    assert_eq!(third.counts.audits_pending, 0);
    let fourth = st.sync(&all).await;
    assert_eq!(fourth.counts.audits_done, 0);
}

#[tokio::test]
async fn runs_are_scoped_by_tenant() {
    let st = stack(DattoConfig::default()).await;
    let run = st.sync(&no_audits()).await;
    let path = format!("/integrations/{}/sync-runs/{}", st.id, run.run_id);
    assert_eq!(st.call("GET", &path, TENANT).await.0, 200);
    let (status, body) = st.call("GET", &path, "globex").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "not_found");
    let (status, _) = st
        .call("POST", &format!("/integrations/{}/sync", st.id), "globex")
        .await;
    assert_eq!(status, 404);
    let (status, _) = st.call("GET", &path, "").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_schedule_starts_one_run_per_idle_integration_and_takes_over_stale_ones() {
    let st = stack(DattoConfig {
        sites: 3,
        devices: 20,
        ..DattoConfig::default()
    })
    .await;
    let started = shared::sync::schedule_all(&st.api.deps).await.unwrap();
    assert_eq!(started.len(), 1);
    assert_eq!(
        (started[0].trigger.as_str(), started[0].status),
        ("schedule", RunStatus::Queued)
    );
    // The integration is busy now: the next tick starts nothing.
    assert!(shared::sync::schedule_all(&st.api.deps).await.unwrap().is_empty());
    // The worker receives the run through the stream.
    let record = json!({"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": {
        "PK": {"S": keys::integration_pk(&st.tenant, &st.id)}, "SK": {"S": format!("RUN#{}", started[0].run_id)},
        "entity": {"S": "sync-run"}, "status": {"S": "queued"}, "tenant": {"S": TENANT},
        "integrationId": {"S": st.id}, "runId": {"S": started[0].run_id}}}}]});
    let shared::runs::events::WorkerEvent::Runs(runs) = shared::sync::parse_worker_event(&record).unwrap() else {
        panic!("not runs")
    };
    let run = st.drive(&runs[0].run_id, &no_audits()).await;
    assert_eq!((run.status, run.counts.devices_seen), (RunStatus::Succeeded, 20));

    // A run whose lease expired (its invocation died) is taken over and marked failed.
    let mut deps_short = SyncDeps {
        store: st.api.deps.store.clone(),
        secrets: st.api.deps.secrets.clone(),
        datto: st.api.deps.datto.clone(),
        settings: SyncSettings::default(),
    };
    deps_short.settings.lease_ttl = Duration::ZERO;
    let stale = shared::sync::start_run(&deps_short, &st.tenant, &st.id, shared::runs::Trigger::Manual)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let next = shared::sync::start_run(&st.api.deps, &st.tenant, &st.id, shared::runs::Trigger::Manual)
        .await
        .unwrap();
    let (_, body) = st
        .call(
            "GET",
            &format!("/integrations/{}/sync-runs/{}", st.id, stale.run_id),
            TENANT,
        )
        .await;
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(body["errors"][0]["code"], "sync.lease_expired");
    assert_eq!(st.drive(&next.run_id, &no_audits()).await.status, RunStatus::Succeeded);
}

/// Items per partition key of the whole table (moto: a scan), counting only
/// this integration's partitions.
async fn items_per_pk(st: &Stack) -> HashMap<String, usize> {
    let store = &st.api.deps.store;
    let base = keys::integration_pk(&st.tenant, &st.id);
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut start = None;
    loop {
        let out = store
            .client()
            .scan()
            .table_name(store.table())
            .projection_expression("PK")
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in out.items() {
            if let Some(pk) = s(item, "PK").filter(|pk| pk.starts_with(&base)) {
                *counts.entry(pk).or_default() += 1;
            }
        }
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return counts,
        }
    }
}

#[tokio::test]
async fn devices_spread_over_the_shards_and_none_sit_in_the_integration_partition() {
    let devices = 3_000;
    let st = stack(DattoConfig {
        sites: 10,
        devices,
        ..DattoConfig::default()
    })
    .await;
    let run = st.sync(&no_audits()).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let counts = items_per_pk(&st).await;
    let base = keys::integration_pk(&st.tenant, &st.id);
    let shards: Vec<(&String, &usize)> = counts.iter().filter(|(pk, _)| pk.contains("#SHARD#")).collect();
    assert_eq!(shards.len(), keys::SHARDS as usize, "every shard used: {counts:?}");
    let total: usize = shards.iter().map(|(_, n)| **n).sum();
    // Each device once, plus each shard's one index item.
    assert_eq!(total, devices + keys::SHARDS as usize);
    let mean = devices / keys::SHARDS as usize;
    let max = shards.iter().map(|(_, n)| **n).max().unwrap();
    assert!(max < mean * 2, "a shard holds {max} items, the mean is {mean}");
    // The integration's own partition keeps only sites, types and bookkeeping.
    assert!(st.items("DEVICE#").await.is_empty());
    assert!(counts[&base] < 100, "{}", counts[&base]);
    // Reads of the mirror see every device, from every shard.
    assert_eq!(st.device_items().await.len(), devices);
}

#[tokio::test]
async fn a_re_sync_reads_the_index_and_only_the_devices_that_changed() {
    let st = stack(DattoConfig {
        sites: 8,
        devices: 2_000,
        ..DattoConfig::default()
    })
    .await;
    let first = st.sync(&no_audits()).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    assert_eq!(st.shard_items("DEVIDX#").await.len(), keys::SHARDS as usize);
    let sites = st.sim.site_uids().len() as u64;
    // Sites, device types, the index items, the index marker and the run's
    // own bookkeeping (run record, resume state): never a device.
    let bookkeeping = 10;
    let floor = sites + first.counts.device_types + u64::from(keys::SHARDS);

    let unchanged = st.sync(&no_audits()).await;
    assert_eq!(unchanged.counts.writes, 0, "{unchanged:?}");
    assert!(
        unchanged.counts.reads <= floor + bookkeeping,
        "an unchanged re-sync read {} items (sites, types and index: {floor})",
        unchanged.counts.reads
    );

    // 1% of the devices change: the re-sync reads those and the index.
    let uids = st.sim.device_uids();
    let changed = &uids[..20];
    for uid in changed {
        st.sim
            .change_device(uid, |d| d.hostname = format!("{}-renamed", d.hostname));
    }
    let vanished = &uids[100];
    st.sim.purge_device(vanished);
    let again = st.sync(&no_audits()).await;
    assert_eq!(
        (again.counts.devices_updated, again.counts.devices_removed),
        (20, 1),
        "{again:?}"
    );
    assert!(
        again.counts.reads <= floor + 21 + bookkeeping,
        "the re-sync read {} items for 21 changed devices",
        again.counts.reads
    );
    assert!(again.counts.reads >= 21, "the changed devices are read back");
    let items = st.device_items().await;
    assert!(s(&items[&changed[0]], "hostname").unwrap().ends_with("-renamed"));
    assert!(n(&items[vanished], "removedAt").is_some());
    // The index holds what was written: the next run finds nothing to do.
    let settled = st.sync(&no_audits()).await;
    assert_eq!((settled.counts.devices_updated, settled.counts.writes), (0, 0));

    // Without the index (an integration synced before it existed, or an index
    // lost), a run rebuilds it from the devices once and writes no device.
    let store = &st.api.deps.store;
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S(keys::integration_pk(&st.tenant, &st.id)))
        .key("SK", AttributeValue::S("SYNC#INDEX".into()))
        .send()
        .await
        .unwrap();
    let rebuilt = st.sync(&no_audits()).await;
    assert_eq!(rebuilt.counts.devices_updated, 0, "{rebuilt:?}");
    assert!(rebuilt.counts.reads >= 2_000);
    let after = st.sync(&no_audits()).await;
    assert!(after.counts.reads <= floor + bookkeeping, "{after:?}");
}

// ---- Defects found in review, each reproduced first ----

/// A checkpoint whose seen-uid items expired (DynamoDB's TTL) is not resumed
/// with half its memory: the resume record never outlives them, and a
/// resume whose items are gone starts the listing again.
#[tokio::test]
async fn a_checkpoint_never_outlives_its_seen_items() {
    let st = stack(DattoConfig {
        sites: 5,
        devices: 200,
        page_max: 10,
        latency: Duration::from_millis(15),
        ..DattoConfig::default()
    })
    .await;
    let run_id = st.sync_now().await;
    let budget = no_audits();
    let first = {
        let run = sync_run(&st.api.deps, &st.tenant, &st.id, &run_id, &budget);
        let breaker = async {
            while st.sim.stats().route("account_devices") < 6 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            st.sim.set_faults(Faults {
                fail_next: 100,
                status: 500,
                path_contains: Some("account/devices".into()),
                ..Faults::default()
            });
        };
        let (run, ()) = tokio::join!(run, breaker);
        run.unwrap()
    };
    assert_eq!(first.status, RunStatus::Partial, "{first:?}");
    let seen = st.items("SEEN#").await;
    assert!(!seen.is_empty());
    let state = st.items("SYNC#STATE").await;
    assert_eq!(state.len(), 1);
    let first_expiry = seen.iter().filter_map(|i| n(i, "expiresAt")).min().unwrap();
    let state_expiry = n(&state[0], "expiresAt").expect("the resume record expires too");
    assert!(state_expiry <= first_expiry, "{state_expiry} > {first_expiry}");

    // TTL removes the seen items (DynamoDB does so up to days late, and not all at once).
    let store = &st.api.deps.store;
    let victim = &seen[0];
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .key("PK", victim["PK"].clone())
        .key("SK", victim["SK"].clone())
        .send()
        .await
        .unwrap();
    st.sim.set_faults(Faults::default());
    let second = st.sync(&no_audits()).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{second:?}");
    assert_eq!(second.resumed_from, None, "a checkpoint with lost items starts again");
    assert_eq!(second.counts.devices_seen, 200);
    assert_eq!(
        second.counts.devices_removed, 0,
        "nothing wrongly marked removed: {second:?}"
    );
}
