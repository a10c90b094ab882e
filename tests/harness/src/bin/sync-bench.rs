//! `cargo run --release --bin sync-bench`: the first full Datto RMM sync of a
//! large account (5,000 sites, 100,000 devices, 30 ms per request, Datto's
//! real rate limits), then a re-sync after 1% of the devices changed.
//!
//! The simulator (`datto-rmm-sim`) and moto run as child processes, so the
//! peak RSS printed is the sync's own. moto is reused from
//! `RMMSYNC_MOTO_ENDPOINT` when set. The last line is one JSON object.
//!
//! Before the sync, in the same moto, `store_floor_s` measures how long the
//! local store takes to absorb the same number of items (device-sized, spread
//! over the same shard partitions) by batch writes alone with the same writer
//! concurrency: the first sync cannot be faster than that, and should take at
//! most 1.15 times it. After the first sync, `max_items_per_pk` counts (by a
//! scan of the table) the most items it wrote under one partition key; moto
//! does not model DynamoDB's per-key limits, so they are counted, not felt.
//! `resync_reads` is the items the re-sync after 1% of devices changed read.
//!
//! Options (environment): `BENCH_SITES` (5000), `BENCH_DEVICES` (100000),
//! `BENCH_LATENCY_MS` (30), `BENCH_WRITERS` (8).

use rmmsync_tests::Handle;
use rmmsync_tests::bench::{Kill, env_num, free_port, start_moto, vm_hwm_mb, workspace_root};
use serde_json::{Value, json};
use shared::connections::IntegrationSettings;
use shared::connections::routes::IntegrationsApi;
use shared::datto::DattoConnector;
use shared::store::DynamoStore;
use shared::sync::items::{SyncStore, device_item};
use shared::sync::plan::DeviceRecord;
use shared::sync::{RunBudget, RunRecord, RunStatus, SyncDeps, SyncSettings, start_run};
use shared::tenant::TenantId;
use shared::workers::sync_run;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "BENCHKEY-1234567890";
const SECRET: &str = "BENCHSECRET-abcdefghij";

fn start_sim(sites: u64, devices: u64, latency_ms: u64) -> (String, Kill) {
    let exe_dir = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let sim = exe_dir.join("datto-rmm-sim");
    if !sim.exists() {
        eprintln!("building datto-rmm-sim ...");
        let ok = Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "simulators", "--bin", "datto-rmm-sim"])
            .current_dir(workspace_root())
            .status()
            .expect("cargo build");
        assert!(ok.success(), "could not build datto-rmm-sim");
    }
    let port = free_port();
    let mut child = Kill(
        Command::new(&sim)
            .args([
                "--port",
                &port.to_string(),
                "--sites",
                &sites.to_string(),
                "--devices",
                &devices.to_string(),
                "--latency-ms",
                &latency_ms.to_string(),
                "--api-key",
                KEY,
                "--read-limit",
                "600",
                "--window-secs",
                "60",
            ])
            .env("DATTO_SIM_API_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start datto-rmm-sim"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the simulator's first line");
    assert!(line.contains("listening"), "unexpected simulator output: {line}");
    (format!("http://127.0.0.1:{port}"), child)
}

async fn admin(base: &str, path: &str, body: Value) -> Value {
    let http = shared::http::client();
    let answer = http
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("admin request");
    serde_json::from_str(&answer.text().await.unwrap_or_default()).unwrap_or(Value::Null)
}

async fn admin_get(base: &str, path: &str) -> Value {
    let answer = shared::http::client().get(format!("{base}{path}")).send().await;
    match answer {
        Ok(a) => serde_json::from_str(&a.text().await.unwrap_or_default()).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

async fn sync(deps: &SyncDeps, tenant: &TenantId, id: &str, budget: &RunBudget) -> (RunRecord, f64) {
    let started = Instant::now();
    let run = start_run(deps, tenant, id, shared::runs::Trigger::Manual)
        .await
        .expect("start a run");
    let mut run = run;
    for _ in 0..100 {
        run = sync_run(deps, tenant, id, &run.run_id, budget).await.expect("run_once");
        if run.status != RunStatus::Continuing {
            break;
        }
    }
    (run, started.elapsed().as_secs_f64())
}

/// The store floor: `items` device-sized items written into a fresh table by
/// the sync's own batch writer pool (`writers` concurrent BatchWriteItem
/// calls), spread over the shard partitions as the sync spreads devices.
async fn store_floor(aws: &aws_config::SdkConfig, items: u64, writers: usize) -> f64 {
    let store = rmmsync_tests::fresh_store(aws).await;
    let sync_store = SyncStore::new(store);
    let pk = "TENANT#floor#INTEGRATION#floor";
    let now = shared::time::now_millis();
    let started = Instant::now();
    let mut writer = sync_store.writer(writers);
    for i in 0..items {
        let mut d = DeviceRecord {
            uid: uuid::Uuid::new_v4().to_string(),
            id: Some(i as i64),
            hostname: Some(format!("FLOOR-{i:06}")),
            site_uid: Some(uuid::Uuid::new_v4().to_string()),
            site_name: Some("Floor Site".into()),
            category: Some("Desktop".into()),
            device_type: Some("Desktop".into()),
            device_class: Some("device".into()),
            operating_system: Some("Microsoft Windows 11 Pro 23H2".into()),
            int_ip_address: Some("10.0.0.1".into()),
            online: Some(true),
            deleted: Some(false),
            last_seen: Some(now),
            last_audit_date: Some(now),
            first_seen_at: Some(now),
            ..Default::default()
        };
        d.hash = d.listing_hash();
        writer.put(device_item(pk, &d, now)).await.expect("floor write");
    }
    writer.finish().await.expect("floor writes");
    started.elapsed().as_secs_f64()
}

/// The most items under one partition key of the table, and that key (a scan).
async fn max_items_per_pk(store: &DynamoStore) -> (u64, String) {
    let mut counts: HashMap<String, u64> = HashMap::new();
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
            .expect("scan");
        for item in out.items() {
            if let Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) = item.get("PK") {
                *counts.entry(pk.clone()).or_default() += 1;
            }
        }
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => break,
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(pk, n)| (n, pk))
        .unwrap_or_default()
}

fn main() {
    let sites = env_num("BENCH_SITES", 5_000);
    let devices = env_num("BENCH_DEVICES", 100_000);
    let latency = env_num("BENCH_LATENCY_MS", 30);
    let writers = env_num("BENCH_WRITERS", 8) as usize;

    let (moto, _moto_child) = start_moto();
    // SAFETY: set before the runtime (and any other thread) starts.
    unsafe { std::env::set_var("RMMSYNC_MOTO_ENDPOINT", &moto) };
    let t = Instant::now();
    let (sim_url, _sim_child) = start_sim(sites, devices, latency);
    eprintln!(
        "simulator up in {:.1} s at {sim_url}; moto at {moto}",
        t.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let aws = rmmsync_tests::aws_config().await;
        let connector = DattoConnector::new(shared::http::client())
            .with_base_url_template(format!("{sim_url}/{{platform}}"))
            .with_platform_probe(false);
        let integrations = IntegrationsApi {
            psa: shared::psa::PsaConnector::from_env(shared::http::client()),
            store: rmmsync_tests::fresh_store(&aws).await,
            secrets: rmmsync_tests::secrets_manager(&aws),
            datto: connector.clone(),
            settings: IntegrationSettings {
                secret_prefix: format!("rmmsync-bench-{}", uuid::Uuid::new_v4().simple()),
                secret_recovery_days: 7,
            },
            cascades: Vec::new(),
            psa_cascades: Vec::new(),
        runs: Default::default(),
        };
        let body = json!({ "platform": "merlot", "apiKey": KEY, "apiSecret": SECRET });
        let (status, created) = rmmsync_tests::read_response(
            integrations
                .handle(rmmsync_tests::api_request("POST", "/integrations", Some("bench"), Some(&body)))
                .await,
        );
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        let tenant = TenantId::parse("bench").unwrap();
        // The connection test used Datto requests; start the sync with a fresh window.
        admin(&sim_url, "/_sim/reset-limits", json!({})).await;
        admin(&sim_url, "/_sim/reset-stats", json!({})).await;

        // The floor: as many items as the first sync will write (sites with the
        // three system sites, devices, one index item per shard), same writers.
        let floor_items = sites + 3 + devices + u64::from(shared::store::keys::SHARDS);
        let floor_s = store_floor(&aws, floor_items, writers).await;
        println!("store floor: {floor_items} items by batch writes alone in {floor_s:.1} s ({writers} writers)");

        let deps = SyncDeps {
            store: integrations.store.clone(),
            secrets: integrations.secrets.clone(),
            datto: connector,
            settings: SyncSettings {
                writers,
                ..SyncSettings::default()
            },
        };
        // One invocation for the whole run: the bench measures the sync, not
        // Lambda's 15 minutes (moto's queries are far slower than DynamoDB's).
        let budget = RunBudget {
            audit_requests: 0,
            time: Duration::from_secs(7_200),
            ..RunBudget::default()
        };
        let (first, first_s) = sync(&deps, &tenant, &id, &budget).await;
        let rss_first = vm_hwm_mb();
        let min_requests = 1 + sites.div_ceil(250) + (devices).div_ceil(250);
        // The three system sites come on top of the client sites.
        let min_requests_listed = 1 + (sites + 3).div_ceil(250) + devices.div_ceil(250);
        println!("first sync: {:?} in {first_s:.1} s", first.status);
        println!(
            "  sites {} (pseudo {}), devices {} created {}, device types {}",
            first.counts.sites,
            first.counts.pseudo_sites,
            first.counts.devices_seen,
            first.counts.devices_created,
            first.counts.device_types
        );
        println!(
            "  requests {} (minimum {min_requests} by 1 + ceil(sites/250) + ceil(devices/250); {min_requests_listed} with the 3 system sites)",
            first.counts.requests
        );
        println!("  DynamoDB item writes {} (+ run record and lease bookkeeping)", first.counts.writes);
        println!("  peak RSS {rss_first:.1} MB");
        if !first.errors.is_empty() {
            println!("  errors: {:?}", first.errors);
        }
        println!(
            "  {:.2} x the store floor (target at most 1.15)",
            first_s / floor_s.max(0.001)
        );
        let (max_per_pk, max_pk) = max_items_per_pk(&deps.store).await;
        println!("  most items under one partition key: {max_per_pk} ({max_pk}; target at most 10,000)");
        let stored_items = first.counts.writes;

        // Change 1% of the devices, then re-sync (with a fresh rate window:
        // scheduled runs are 15 minutes apart, not back to back).
        let changed = admin(&sim_url, "/_sim/mutate", json!({ "changeDevices": devices / 100 })).await;
        let resync_changed = changed["changed"].as_u64().unwrap_or(0);
        admin(&sim_url, "/_sim/reset-limits", json!({})).await;
        let (second, second_s) = sync(&deps, &tenant, &id, &budget).await;
        let resync_stats = admin_get(&sim_url, "/_sim/stats").await;
        let rss = vm_hwm_mb();
        println!("re-sync after changing {resync_changed} devices: {:?} in {second_s:.1} s", second.status);
        println!(
            "  requests {}, item writes {} (devices updated {}, created {}, removed {}), peak RSS {rss:.1} MB",
            second.counts.requests,
            second.counts.writes,
            second.counts.devices_updated,
            second.counts.devices_created,
            second.counts.devices_removed
        );
        println!(
            "  items read {} ({:.2}% of the {stored_items} items the first sync wrote; target under 10%); simulator saw {} requests in all",
            second.counts.reads,
            100.0 * second.counts.reads as f64 / stored_items.max(1) as f64,
            resync_stats["total_requests"]
        );
        println!(
            "{}",
            json!({
                "first_sync_s": (first_s * 10.0).round() / 10.0,
                "requests": first.counts.requests,
                "min_requests": min_requests,
                "writes": first.counts.writes,
                "resync_writes": second.counts.writes,
                "resync_changed": resync_changed,
                "resync_s": (second_s * 10.0).round() / 10.0,
                "resync_reads": second.counts.reads,
                "max_items_per_pk": max_per_pk,
                "store_floor_s": (floor_s * 10.0).round() / 10.0,
                "devices": devices,
                "peak_rss_mb": (rss * 10.0).round() / 10.0,
            })
        );
    });
}
