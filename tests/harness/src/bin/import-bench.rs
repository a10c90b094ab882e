//! `cargo run --release --bin import-bench`: importing one Datto device type
//! of 20,000 devices (in 200 mapped sites) into portal assets, through the
//! same service `POST /integrations/{id}/import` calls; then the same import
//! again (every asset updated, none duplicated), then an auto-sync pass with
//! nothing changed (no writes).
//!
//! The stored state is seeded straight into DynamoDB with batch writes
//! (`DEVICE#`, `SITEMAP#`, `DEVTYPE#` items as sync and the mapping table
//! write them), not by a sync from the simulator: the bench measures the
//! import, and seeding this way takes seconds instead of a sync's minutes.
//! moto runs as a child process (or is reused from `RMMSYNC_MOTO_ENDPOINT`),
//! so the peak RSS printed is the import's own. The last line is one JSON object.
//!
//! Options (environment): `BENCH_DEVICES` (20000), `BENCH_SITES` (200).

use rmmsync_tests::bench::{env_num, start_moto, vm_hwm_mb};
use serde_json::json;
use shared::connections::Integration;
use shared::datto::Platform;
use shared::devices::TypeMapping;
use shared::devices::import::{DeviceImporter, ImportRequest};
use shared::site_mapping::{MappedBy, SiteMapping};
use shared::store::keys;
use shared::sync::items::{device_item, device_type_item, put_request};
use shared::sync::plan::{DeviceRecord, DeviceTypeCount};
use shared::tenant::TenantId;
use std::time::Instant;

fn main() {
    let devices = env_num("BENCH_DEVICES", 20_000);
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
        let request = ImportRequest::Type {
            category: "Desktop".into(),
            device_type: "Desktop".into(),
        };
        let t = Instant::now();
        let first = importer.import(&tenant, &id, request.clone()).await.unwrap();
        let first_s = t.elapsed().as_secs_f64();
        let rss_first = vm_hwm_mb();
        println!(
            "import of a whole type: {} imported, {} failed in {first_s:.1} s ({:.0} devices/s)",
            first.imported,
            first.failed,
            first.imported as f64 / first_s
        );
        println!(
            "  DynamoDB item writes {} ({:.1} per device: the asset and its IMPORT# state), {} BatchWriteItem calls at least",
            first.writes,
            first.writes as f64 / devices as f64,
            first.writes.div_ceil(25)
        );
        println!(
            "  results listed {} (truncated: {}), peak RSS {rss_first:.1} MB (after seeding {rss_seeded:.1} MB)",
            first.results.len(),
            first.results_truncated
        );

        let t = Instant::now();
        let second = importer.import(&tenant, &id, request).await.unwrap();
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
            second.imported,
            second.writes,
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
                "writes": first.writes,
                "reimport_s": (second_s * 10.0).round() / 10.0,
                "reimport_writes": second.writes,
                "auto_sync_unchanged_writes": auto.writes,
                "peak_rss_mb": (rss * 10.0).round() / 10.0,
            })
        );
    });
}
