//! `cargo run --release --bin sync-bench`: the first full Datto RMM sync of a
//! large account (5,000 sites, 100,000 devices, 30 ms per request, Datto's
//! real rate limits), then a re-sync after 1% of the devices changed.
//!
//! The simulator (`datto-rmm-sim`) and moto run as child processes, so the
//! peak RSS printed is the sync's own. moto is reused from
//! `RMMSYNC_MOTO_ENDPOINT` when set. The last line is one JSON object.
//!
//! Before the sync, in the same moto, `store_floor_s` measures how long the
//! local store takes to absorb the items the first sync will write (the same
//! sites, devices and index, listed from the simulator beforehand in a child
//! process and converted as the sync converts them) by batch writes alone,
//! with the same writer concurrency: the first sync cannot be faster than
//! that, and should take at most 1.15 times it. (It used to write the same
//! number of made-up, smaller items; moto's cost per item grows with the
//! item's size.) The floor's table is dropped before the sync starts, so the
//! sync does not run in a store holding 100,000 more items than the floor
//! did. After the first sync, `max_items_per_pk`
//! counts the most items it wrote under one partition key; moto does not
//! model DynamoDB's per-key limits, so they are counted, not felt.
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
use shared::store::{DynamoStore, keys};
use shared::sync::index::DeviceIndex;
use shared::sync::items::{SyncStore, device_item, site_item};
use shared::sync::plan::{self, DeviceRecord, SiteRecord};
use shared::sync::{RunBudget, RunRecord, RunStatus, SyncDeps, SyncSettings, start_run};
use shared::tenant::TenantId;
use shared::workers::sync_run;
use std::collections::{HashMap, HashSet};
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

/// The store floor, run in a child process (`sync-bench --floor <sim> <writers>`)
/// so that its memory is not the sync's: the very items the first sync will
/// write (the simulator's sites and devices, listed first and converted as
/// the sync converts them, then the device index), written into a fresh table
/// by the sync's own batch writer pool with `writers` concurrent
/// BatchWriteItem calls. Only the writes are timed. Prints
/// `{"floor_s":..,"items":..}`.
fn floor_child(sim_url: &str, writers: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let connector = DattoConnector::new(shared::http::client())
            .with_base_url_template(format!("{sim_url}/{{platform}}"))
            .with_platform_probe(false);
        let credentials = shared::datto::Credentials {
            api_key: shared::secret::Secret::new(KEY),
            api_secret: shared::secret::Secret::new(SECRET),
        };
        let client = connector
            .client(shared::datto::Platform::Merlot, credentials)
            .expect("a client");
        let now = shared::time::now_millis();
        let mut sites: Vec<SiteRecord> = Vec::new();
        let mut seen = HashSet::new();
        let mut pager = client
            .pages::<shared::datto::models::Site>("api/v2/account/sites", &[("max", "250")])
            .expect("site pages");
        while let Some(page) = pager.next_page().await.expect("a site page") {
            for site in page.items.iter().filter_map(SiteRecord::from_datto) {
                if seen.insert(site.uid.clone()) {
                    sites.push(plan::diff_site(None, site, now).1);
                }
            }
        }
        let mut devices: Vec<DeviceRecord> = Vec::new();
        let mut pager = client
            .pages::<shared::datto::models::Device>("api/v2/account/devices", &[("max", "250")])
            .expect("device pages");
        while let Some(page) = pager.next_page().await.expect("a device page") {
            for device in page.items.iter().filter_map(DeviceRecord::from_datto) {
                if seen.insert(device.uid.clone()) {
                    devices.push(plan::diff_device(None, device, now).1);
                }
            }
        }
        let aws = rmmsync_tests::aws_config().await;
        let store = SyncStore::new(rmmsync_tests::fresh_store(&aws).await);
        let pk = "TENANT#floor#INTEGRATION#floor";
        let mut index = DeviceIndex::default();
        let started = Instant::now();
        let mut writer = store.writer(writers);
        for site in &sites {
            writer.put(site_item(pk, site, now)).await.expect("floor write");
        }
        for device in &devices {
            writer.put(device_item(pk, device, now)).await.expect("floor write");
            index.set(device);
        }
        let mut items = writer.finish().await.expect("floor writes");
        let before_index = store.writes();
        store.save_index(pk, &mut index).await.expect("the floor's index");
        items += store.writes() - before_index;
        let floor_s = started.elapsed().as_secs_f64();
        // The sync then runs in a store that holds nothing of the floor's, as the floor did.
        store
            .store
            .client()
            .delete_table()
            .table_name(store.store.table())
            .send()
            .await
            .expect("drop the floor's table");
        println!("{}", json!({ "floor_s": floor_s, "items": items }));
    });
}

/// Runs [`floor_child`] and reads its answer: (seconds, items written).
fn store_floor(moto: &str, sim_url: &str, writers: usize) -> (f64, u64) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--floor", sim_url, &writers.to_string()])
        .env("RMMSYNC_MOTO_ENDPOINT", moto)
        .stderr(Stdio::inherit())
        .output()
        .expect("run the floor");
    assert!(out.status.success(), "the store floor failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let answer: Value = text
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("unexpected floor output: {text}"));
    (
        answer["floor_s"].as_f64().expect("floor_s"),
        answer["items"].as_u64().expect("items"),
    )
}

/// The most items under one partition key of the table, and that key.
///
/// Counted per partition the sync writes to (the tenant's, the integration's
/// and its shards', a COUNT query each), then checked against the table's
/// item count: when they add up, no other partition holds anything. When
/// they do not, a scan counts every partition (on moto each scan page walks
/// the table from its start, so that takes minutes at 100,000 devices).
async fn max_items_per_pk(store: &DynamoStore, tenant: &TenantId, integration: &str) -> (u64, String) {
    let mut partitions = vec![keys::tenant_pk(tenant), keys::integration_pk(tenant, integration)];
    partitions.extend(keys::integration_shard_pks(tenant, integration));
    let mut counts: HashMap<String, u64> = HashMap::new();
    for pk in partitions {
        let mut start = None;
        loop {
            let out = store
                .client()
                .query()
                .table_name(store.table())
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("count query");
            *counts.entry(pk.clone()).or_default() += out.count as u64;
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
    }
    let table = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .expect("describe table");
    let total = table.table().and_then(|t| t.item_count()).unwrap_or(-1);
    if counts.values().sum::<u64>() as i64 != total {
        eprintln!(
            "the known partitions hold {} of {total} items: scanning the table",
            counts.values().sum::<u64>()
        );
        counts = scan_counts(store).await;
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(pk, n)| (n, pk))
        .unwrap_or_default()
}

/// Items per partition key of the whole table (a scan).
async fn scan_counts(store: &DynamoStore) -> HashMap<String, u64> {
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
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--floor") {
        return floor_child(&args[2], args[3].parse().expect("writers"));
    }
    let sites = env_num("BENCH_SITES", 5_000);
    let devices = env_num("BENCH_DEVICES", 100_000);
    let latency = env_num("BENCH_LATENCY_MS", 30);
    let writers = env_num("BENCH_WRITERS", 8) as usize;
    // The sync's own timings (phases, listing waits) as JSON lines, when asked for.
    if std::env::var_os("RUST_LOG").is_some() {
        shared::telemetry::init();
    }

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

        // The floor: the items the first sync will write, by batch writes alone.
        let (floor_s, floor_items) = store_floor(&moto, &sim_url, writers);
        println!("store floor: the first sync's {floor_items} items (sites, devices, index) by batch writes alone in {floor_s:.1} s ({writers} writers)");
        // The floor listed the account: the sync starts with a fresh window and fresh counts.
        admin(&sim_url, "/_sim/reset-limits", json!({})).await;
        admin(&sim_url, "/_sim/reset-stats", json!({})).await;

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
        let (max_per_pk, max_pk) = max_items_per_pk(&deps.store, &tenant, &id).await;
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
