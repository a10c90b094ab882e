//! `cargo run --release --bin config-create-bench`: creating 5,000 Autotask configuration
//! items through the configurations flow's automatic mapping ("Map Now", confirmed), in the
//! Autotask simulator under its real limits (10,000 requests per rolling hour, 3 threads per
//! endpoint, the usage-based latency from 50 % of the hour), with the client's reserve (500)
//! left alone.
//!
//! Seeded straight into moto (as sync, the PSA import and the mapping tables write them):
//! `BENCH_DEVICES` (5000) devices with serials no configuration has, in `BENCH_COMPANIES` (50)
//! sites each mapped to a portal company linked to one of the simulator's companies, one
//! device type mapped to an Autotask configuration item type and product. Then runs of the
//! automatic mapping until nothing is left; when a run stops at the reserve, the next run is
//! started after the simulator's hour is reset (the hour a real run would wait for).
//!
//! Prints the figures, then one JSON line: `created`, `runs`, `requests` (PSA requests of
//! every run, the snapshot's reads included), `requests_per_create`, `budget_used` (of the
//! hour's 10,000, the first run), `left_reserve` (the least the hour had left), `create_s`,
//! `duplicates` (devices with more than one item), `max_threads`, `peak_rss_mb`.

use rmmsync_tests::bench::{env_num, start_moto, vm_hwm_mb};
use serde_json::json;
use shared::companies::Company;
use shared::configurations::auto::AutoRequest;
use shared::configurations::routes::ConfigurationsApi;
use shared::connections::{Integration, PsaCredentialsInput, PsaIntegrations};
use shared::datto::Platform;
use shared::psa::PsaKind;
use shared::site_mapping::{MappedBy, SiteMapping};
use shared::store::keys;
use shared::sync::items::{device_item, device_type_item, put_request};
use shared::sync::plan::{DeviceRecord, DeviceTypeCount};
use shared::tenant::TenantId;
use simulators::autotask::{AutotaskConfig, AutotaskSim, Entity};
use std::collections::HashMap;
use std::time::Instant;

fn main() {
    let devices = env_num("BENCH_DEVICES", 5_000);
    let companies = env_num("BENCH_COMPANIES", 50).max(1) as usize;
    let (moto, _moto_child) = start_moto();
    // SAFETY: set before the runtime (and any other thread) starts.
    unsafe { std::env::set_var("RMMSYNC_MOTO_ENDPOINT", &moto) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let sim = AutotaskSim::start(AutotaskConfig {
            companies,
            ..AutotaskConfig::default()
        })
        .await
        .unwrap();
        let limit = sim.config().hourly_limit as usize;
        let aws = rmmsync_tests::aws_config().await;
        let store = rmmsync_tests::fresh_store(&aws).await;
        let secrets = rmmsync_tests::secrets_manager(&aws);
        let psa = rmmsync_tests::psa_connector(&sim.zone_information_url());
        let settings = rmmsync_tests::test_settings();
        let tenant = TenantId::parse("bench").unwrap();
        let now = shared::time::now_millis();
        let seeded = Instant::now();

        // The PSA integration, connected as a user connects it.
        let input: PsaCredentialsInput = serde_json::from_value(
            json!({"type": "autotask", "username": sim.config().username, "secret": sim.config().secret}),
        )
        .unwrap();
        let integrations = PsaIntegrations {
            store: &store,
            secrets: &secrets,
            psa: &psa,
            settings: &settings,
        };
        let psa_id = integrations.create(&tenant, input).await.unwrap().id;

        // The Datto RMM integration, its devices and mapped sites.
        let id = uuid::Uuid::new_v4().to_string();
        store
            .insert(
                &tenant,
                &Integration {
                    id: id.clone(),
                    kind: "datto-rmm".into(),
                    name: "bench".into(),
                    platform: Platform::Merlot,
                    secret_arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench".into(),
                    account_uid: None,
                    account_name: None,
                    device_count: Some(devices as i64),
                    created_at: now,
                    updated_at: now,
                    credentials_updated_at: now,
                    last_tested_at: None,
                    enabled: true,
                },
            )
            .await
            .unwrap();
        let psa_companies: Vec<i64> = sim.companies().iter().filter(|c| c.active).map(|c| c.id).collect();
        let sites = psa_companies.len().min(companies);
        for (i, psa_company) in psa_companies.iter().take(sites).enumerate() {
            let company = uuid::Uuid::new_v4().to_string();
            let name = format!("Bench Company {i}");
            store
                .insert_company(
                    &tenant,
                    &Company {
                        id: company.clone(),
                        normalized_name: shared::matching::normalize_name(&name),
                        name,
                        source: "autotask".into(),
                        psa_kind: Some(PsaKind::Autotask),
                        psa_id: Some(psa_company.to_string()),
                        psa_integration_id: Some(psa_id.clone()),
                        active: true,
                        company_type: None,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .await
                .unwrap();
            store
                .put_mapping(
                    &tenant,
                    &id,
                    &SiteMapping {
                        site_uid: format!("site-{i}"),
                        company_id: Some(company),
                        confidence: 100,
                        mapped_by: MappedBy::Manual,
                        mapped_at: now,
                        explanation: None,
                    },
                    false,
                )
                .await
                .unwrap();
        }
        let pk = keys::integration_pk(&tenant, &id);
        let mut batch = Vec::with_capacity(5_000);
        for i in 0..devices {
            let d = DeviceRecord {
                uid: format!("{:08x}-0000-4000-8000-{i:012}", i * 2_654_435_761 % 0xffff_ffff),
                id: Some(i as i64),
                hostname: Some(format!("BENCH-{i:06}")),
                site_uid: Some(format!("site-{}", i as usize % sites)),
                site_name: Some(format!("Site {}", i as usize % sites)),
                category: Some("Desktop".into()),
                device_type: Some("Desktop".into()),
                operating_system: Some("Microsoft Windows 11 Pro 23H2".into()),
                manufacturer: Some("Dell Inc.".into()),
                model: Some("OptiPlex 7010".into()),
                serial_number: Some(format!("BENCHSN{i:07}")),
                hash: format!("{i:016x}"),
                ..DeviceRecord::default()
            };
            batch.push(put_request(device_item(&pk, &d, now)));
            if batch.len() == 5_000 {
                store.batch_write(std::mem::take(&mut batch)).await.unwrap();
            }
        }
        batch.push(put_request(device_type_item(
            &pk,
            &DeviceTypeCount {
                category: "Desktop".into(),
                device_type: "Desktop".into(),
                count: devices as i64,
            },
            now,
        )));
        store.batch_write(batch).await.unwrap();

        let api = ConfigurationsApi {
            store: store.clone(),
            secrets: secrets.clone(),
            psa: psa.clone(),
            settings: settings.clone(),
            safety_cap: shared::configurations::table::DEFAULT_SAFETY_CAP,
        };
        let change = shared::configurations::types::parse_change(&json!({"psaIntegrationId": psa_id,
            "category": "Desktop", "deviceType": "Desktop", "typeId": "1", "productId": "101"}))
        .unwrap();
        api.types().put(&tenant, &id, change).await.unwrap();
        store
            .set_automatic_mapping(&tenant, &id, &psa_id, true, now)
            .await
            .unwrap();
        let existing = sim.count(Entity::ConfigurationItems);
        println!(
            "seeded {devices} devices in {sites} mapped sites ({existing} configuration items in the simulator) in {:.1} s",
            seeded.elapsed().as_secs_f64()
        );

        // A fresh hour, then runs until nothing is left.
        sim.reset_limits();
        sim.reset_stats();
        let map = api.map();
        let t = Instant::now();
        let (mut runs, mut requests, mut created, mut linked, mut failed) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let mut first_hour = 0usize;
        let mut least_left = limit;
        loop {
            runs += 1;
            let run_t = Instant::now();
            let report = map
                .auto_map(
                    &tenant,
                    &id,
                    &psa_id,
                    AutoRequest {
                        trigger: "mapNow",
                        sites: None,
                        preview: false,
                        confirm: true,
                        confirmed_left: None,
                        deadline: None,
                    },
                )
                .await
                .unwrap();
            let used = sim.requests_in_window();
            least_left = least_left.min(limit - used);
            if runs == 1 {
                first_hour = used;
            }
            requests += report.requests;
            created += report.creations as u64;
            linked += report.links as u64;
            failed += report.failed as u64;
            println!(
                "run {runs}: planned {}, created {}, linked {}, failed {}, left {} in {:.1} s; {} PSA requests, the hour at {used} of {limit} (budget above the reserve at the start: {:?})",
                report.actions.len(),
                report.creations,
                report.links,
                report.failed,
                report.left,
                run_t.elapsed().as_secs_f64(),
                report.requests,
                report.budget_above_reserve
            );
            if report.left == 0 || runs >= 10 {
                break;
            }
            // The run stopped at the reserve: the next hour.
            sim.reset_limits();
        }
        let create_s = t.elapsed().as_secs_f64();

        let mut per_device: HashMap<String, u32> = HashMap::new();
        for ci in sim.ids(Entity::ConfigurationItems) {
            if let Some(uid) = sim
                .record(Entity::ConfigurationItems, ci)
                .and_then(|r| r.get("rmmDeviceUID").and_then(|u| u.as_str()).map(str::to_owned))
            {
                *per_device.entry(uid).or_default() += 1;
            }
        }
        let duplicates = per_device.values().filter(|n| **n > 1).count();
        let stats = sim.stats();
        let max_threads = stats.max_concurrency("ConfigurationItems");
        let peak = vm_hwm_mb();
        println!(
            "{created} created, {linked} linked, {failed} failed in {create_s:.1} s over {runs} run(s) ({:.0} per s); \
             {requests} PSA requests ({:.3} per created item; simulator: {} creates, {} queries, {} slowed by usage), \
             the first hour used {first_hour} of {limit}, never fewer than {least_left} left (reserve 500); \
             {duplicates} devices with more than one item; at most {max_threads} requests at once; peak RSS {peak:.1} MB",
            created as f64 / create_s,
            requests as f64 / created.max(1) as f64,
            stats.route("ConfigurationItems.create"),
            stats.route("ConfigurationItems.query"),
            stats.slowed,
        );
        println!(
            "{}",
            json!({
                "devices": devices,
                "created": created,
                "linked": linked,
                "failed": failed,
                "runs": runs,
                "requests": requests,
                "requests_per_create": (requests as f64 / created.max(1) as f64 * 1000.0).round() / 1000.0,
                "budget_used": (first_hour as f64 / limit as f64 * 1000.0).round() / 1000.0,
                "left_reserve": least_left,
                "create_s": (create_s * 10.0).round() / 10.0,
                "duplicates": duplicates,
                "max_threads": max_threads,
                "peak_rss_mb": (peak * 10.0).round() / 10.0,
            })
        );
        sim.shutdown().await;
    });
}
