//! `cargo run --release --bin import-bench`: importing one Datto device type
//! of 100,000 devices (in 200 mapped sites) into portal assets as a job, as
//! `POST /integrations/{id}/import` queues it and the device-import worker
//! runs it: the job is queued (what the HTTP call waits for), then worker
//! invocations of at most `BENCH_INVOCATION_SECS` (120) each run it to its
//! end; every per-device result is then read back page by page. Then the
//! same import again (every asset updated, none duplicated), then an
//! auto-sync pass with nothing changed (no writes).
//!
//! The stored state is seeded straight into DynamoDB with batch writes
//! (`DEVICE#`, `SITEMAP#`, `DEVTYPE#` items as sync and the mapping table
//! write them), not by a sync from the simulator: the bench measures the
//! import, and seeding this way takes seconds instead of a sync's minutes.
//! moto runs as a child process (or is reused from `RMMSYNC_MOTO_ENDPOINT`),
//! so the peak RSS printed is the import's own. The last line is one JSON object.
//!
//! Options (environment): `BENCH_DEVICES` (100000), `BENCH_SITES` (200),
//! `BENCH_INVOCATION_SECS` (120).

use rmmsync_tests::bench::{env_num, start_moto, vm_hwm_mb};
use serde_json::json;
use shared::connections::Integration;
use shared::datto::Platform;
use shared::devices::TypeMapping;
use shared::devices::import::{DeviceImporter, ImportRequest};
use shared::devices::jobs::{ImportJobs, JobBudget, JobRecord};
use shared::runs::RunStatus;
use shared::site_mapping::{MappedBy, SiteMapping};
use shared::store::keys;
use shared::sync::items::{device_item, device_type_item, put_request};
use shared::sync::plan::{DeviceRecord, DeviceTypeCount};
use shared::tenant::TenantId;
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn main() {
    let devices = env_num("BENCH_DEVICES", 100_000);
    let sites = env_num("BENCH_SITES", 200).max(1);
    let (moto, _moto_child) = start_moto();
    // SAFETY: set before the runtime (and any other thread) starts.
    unsafe { std::env::set_var("RMMSYNC_MOTO_ENDPOINT", &moto) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let aws = rmmsync_tests::aws_config().await;
        let store = rmmsync_tests::fresh_store(&aws).await;
        let tenant = TenantId::parse("bench").unwrap();
        let id = uuid::Uuid::new_v4().to_string();
        let now = shared::time::now_millis();
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

        let seeded = Instant::now();
        let pk = keys::integration_pk(&tenant, &id);
        let mut batch = Vec::with_capacity(5_000);
        for i in 0..devices {
            let d = DeviceRecord {
                uid: format!("{:08x}-0000-4000-8000-{i:012}", i * 2_654_435_761 % 0xffff_ffff),
                id: Some(i as i64),
                hostname: Some(format!("HOST-{i:06}")),
                site_uid: Some(format!("site-{}", i % sites)),
                site_name: Some(format!("Site {}", i % sites)),
                category: Some("Desktop".into()),
                device_type: Some("Desktop".into()),
                operating_system: Some("Microsoft Windows 11 Pro 23H2".into()),
                manufacturer: Some("Dell Inc.".into()),
                model: Some("OptiPlex 7010".into()),
                serial_number: Some(format!("SN{i:07}")),
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
        for s in 0..sites {
            let company = format!("company-{}", s % 50);
            store
                .put_mapping(
                    &tenant,
                    &id,
                    &SiteMapping {
                        site_uid: format!("site-{s}"),
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
        store
            .put_type_mapping(
                &tenant,
                &id,
                &TypeMapping {
                    category: "Desktop".into(),
                    device_type: "Desktop".into(),
                    maps_to: Some("desktop".into()),
                    auto_sync: true,
                    updated_at: now,
                },
            )
            .await
            .unwrap();
        println!(
            "seeded {devices} devices in {sites} mapped sites in {:.1} s (batch writes into moto)",
            seeded.elapsed().as_secs_f64()
        );
        let rss_seeded = vm_hwm_mb();

        let importer = DeviceImporter { store: &store };
        let jobs = ImportJobs {
            store: &store,
            budget: JobBudget {
                time: Duration::from_secs(env_num("BENCH_INVOCATION_SECS", 120) as u64),
                ..JobBudget::default()
            },
        };
        let request = ImportRequest::Type {
            category: "Desktop".into(),
            device_type: "Desktop".into(),
        };
        let t = Instant::now();
        let first = run_job(&jobs, &tenant, &id, request.clone()).await;
        let first_s = t.elapsed().as_secs_f64();
        let rss_first = vm_hwm_mb();
        println!(
            "import job of a whole type: {} imported, {} failed in {first_s:.1} s ({:.0} devices/s); queued in {:.0} ms",
            first.job.counts.imported,
            first.job.counts.failed,
            first.job.counts.imported as f64 / first_s,
            first.start_ms
        );
        println!(
            "  {} worker invocations, the longest {:.1} s (budget {} s); DynamoDB item writes {} ({:.2} per device: asset, IMPORT# state, results, job)",
            first.job.invocations,
            first.longest_s,
            jobs.budget.time.as_secs(),
            first.job.counts.writes,
            first.job.counts.writes as f64 / devices as f64
        );
        let listed = count_results(&jobs, &tenant, &id, &first.job.run_id).await;
        println!(
            "  per-device results listed page by page: {} ({} distinct), peak RSS {rss_first:.1} MB (after seeding {rss_seeded:.1} MB)",
            listed.0, listed.1
        );

        let t = Instant::now();
        let second = run_job(&jobs, &tenant, &id, request).await;
        let second_s = t.elapsed().as_secs_f64();
        let mut assets = 0u64;
        let mut after: Option<String> = None;
        loop {
            let (page, more) = store.page_assets(&tenant, None, after.as_deref(), 500)
                .await
                .unwrap();
            assets += page.len() as u64;
            after = page.last().map(|a| a.id.clone());
            if !more {
                break;
            }
        }
        println!(
            "import again: {} updated in {second_s:.1} s, {} writes; assets stored {assets} (no duplicates: {})",
            second.job.counts.imported,
            second.job.counts.writes,
            assets == devices
        );

        let t = Instant::now();
        let limits = shared::devices::import::AutoImportLimits {
            time: std::time::Duration::from_secs(3_600),
            page: 500,
        };
        let (auto, _) = importer.auto_import(&tenant, &id, limits).await.unwrap();
        let auto_s = t.elapsed().as_secs_f64();
        let rss = vm_hwm_mb();
        println!(
            "auto-sync pass with nothing changed: {} imported, {} unchanged, {} writes in {auto_s:.1} s; peak RSS {rss:.1} MB",
            auto.imported, auto.unchanged, auto.writes
        );
        println!(
            "{}",
            json!({
                "devices": devices,
                "import_s": (first_s * 10.0).round() / 10.0,
                "writes": first.job.counts.writes,
                "invocations": first.job.invocations,
                "longest_invocation_s": (first.longest_s * 10.0).round() / 10.0,
                "queue_ms": first.start_ms.round(),
                "results_listed": listed.0,
                "reimport_s": (second_s * 10.0).round() / 10.0,
                "reimport_writes": second.job.counts.writes,
                "auto_sync_unchanged_writes": auto.writes,
                "peak_rss_mb": (rss * 10.0).round() / 10.0,
            })
        );
    });
}

struct JobRun {
    job: JobRecord,
    start_ms: f64,
    longest_s: f64,
}

/// Queues a job, then runs worker invocations until it finished.
async fn run_job(jobs: &ImportJobs<'_>, tenant: &TenantId, id: &str, request: ImportRequest) -> JobRun {
    let t = Instant::now();
    let queued = jobs.start(tenant, id, request).await.unwrap();
    let start_ms = t.elapsed().as_secs_f64() * 1000.0;
    let mut longest_s: f64 = 0.0;
    loop {
        let t = Instant::now();
        let job = jobs.run(tenant, id, &queued.run_id).await.unwrap();
        longest_s = longest_s.max(t.elapsed().as_secs_f64());
        println!(
            "  invocation {}: {} ({}%, {} imported so far) in {:.1} s",
            job.invocations,
            job.status.as_str(),
            job.percent(),
            job.counts.imported,
            t.elapsed().as_secs_f64()
        );
        if job.status != RunStatus::Continuing {
            assert_eq!(job.status, RunStatus::Succeeded, "{:?}", job.errors);
            return JobRun {
                job,
                start_ms,
                longest_s,
            };
        }
    }
}

/// Every result of a job, page by page: (listed, distinct devices).
async fn count_results(jobs: &ImportJobs<'_>, tenant: &TenantId, id: &str, job_id: &str) -> (usize, usize) {
    let mut cursor: Option<String> = None;
    let mut listed = 0;
    let mut distinct = HashSet::new();
    loop {
        let page = jobs
            .results(tenant, id, job_id, false, cursor.as_deref(), 500)
            .await
            .unwrap();
        listed += page.results.len();
        distinct.extend(page.results.into_iter().map(|r| r.device_uid));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return (listed, distinct.len()),
        }
    }
}
