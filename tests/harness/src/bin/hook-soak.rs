//! `cargo run --release --bin hook-soak`: the alert round trip under a
//! failing network, then the reconciler's passes; what must hold afterwards
//! is that no alert is lost, no alert has two tickets, and no ticket and its
//! alerts disagree.
//!
//! `SOAK_PSA=connectwise` runs it against ConnectWise Manage instead of
//! Autotask (the default): the same faults on the ConnectWise simulator,
//! tickets closed there without a callback (the reconciler finds them).
//!
//! In the simulators (Datto RMM, Autotask or ConnectWise; moto as a child process or
//! `RMMSYNC_MOTO_ENDPOINT`): `SOAK_ALERTS` (2,000) alerts over `SOAK_DEVICES`
//! (200) devices, each of a few monitors (repeats within the window become
//! notes). Of the alert webhooks 10 % are dropped, 20 % delivered twice, and
//! every batch is delivered out of order, `SOAK_PARALLEL` (8) at a time.
//! Autotask fails 5 % of its calls with a 5xx, and a batch in twenty answers
//! ticket calls slower than the HTTP timeout (timeouts); Datto RMM answers
//! some 429s. A fifth of the alerts resolve in Datto RMM (their webhooks
//! dropped and doubled as above) and a third of the tickets are completed in
//! Autotask (half of them with a callout). Then reconciler passes run, two
//! with the faults still on and then until a pass repairs nothing; the
//! flow's clock moves on an hour between passes, so that pending alerts'
//! backoff is over.
//!
//! Prints the counts and ends with one JSON line: `alerts`, `tickets`,
//! `lost` (alerts open in Datto RMM without a ticket), `duplicate_tickets`
//! (tickets beyond the first for one alert), `left_open` (alerts still open
//! whose ticket is complete, plus open tickets whose alerts are all
//! resolved), `notes`, `p95_ms` (webhook answer time).

use rmmsync_tests::bench::{env_num, start_moto, vm_hwm_mb};
use rmmsync_tests::ticket_world::{Psa, World, WorldOptions, world_opts};
use serde_json::{Value, json};
use shared::psa::PsaKind;
use shared::tenant::TenantId;
use shared::tickets::{ReconcileBudget, TicketTiming};
use simulators::autotask::Faults;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

static SHIFT_MS: AtomicI64 = AtomicI64::new(0);

/// The flow's clock: moved on between reconciler passes.
fn clock() -> i64 {
    shared::time::now_millis() + SHIFT_MS.load(Ordering::SeqCst)
}

const MONITORS: [&str; 4] = [
    "disk_usage_ctx",
    "srvc_status_ctx",
    "ping_ctx",
    "perf_resource_usage_ctx",
];

/// A seeded xorshift, so that a run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

fn set_psa_faults(w: &World, faults: Faults) {
    match &w.psa_sim {
        Psa::Autotask(s) => s.set_faults(faults),
        Psa::ConnectWise(s) => s.set_faults(faults),
    }
}

/// The PSA's tickets: (id, alert uid, complete).
fn psa_tickets(w: &World) -> Vec<(String, Option<String>, bool)> {
    match &w.psa_sim {
        Psa::Autotask(s) => s
            .tickets()
            .into_iter()
            .map(|t| (t.id.to_string(), t.rmm_alert_id.clone(), t.status == 5))
            .collect(),
        Psa::ConnectWise(s) => s
            .tickets()
            .into_iter()
            .map(|t| {
                (
                    t["id"].as_i64().unwrap_or_default().to_string(),
                    t["externalXRef"].as_str().map(str::to_owned),
                    t["closedFlag"] == true,
                )
            })
            .collect(),
    }
}

fn complete_in_psa(w: &World, id: &str) {
    let id: i64 = id.parse().unwrap();
    match &w.psa_sim {
        Psa::Autotask(s) => {
            s.complete_ticket(id);
        }
        Psa::ConnectWise(s) => s.close_ticket(id),
    }
}

fn psa_notes(w: &World, id: &str) -> usize {
    let id: i64 = id.parse().unwrap();
    match &w.psa_sim {
        Psa::Autotask(s) => s.notes(id).len(),
        Psa::ConnectWise(s) => s.notes(id).len(),
    }
}

/// Sends `deliveries` (alert uids, in order) to the hook, `parallel` at a time; returns answer times.
async fn deliver_all(w: &Arc<World>, deliveries: Vec<String>, parallel: usize) -> Vec<f64> {
    let gate = Arc::new(Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for uid in deliveries {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let w = w.clone();
        tasks.spawn(async move {
            let started = Instant::now();
            let (status, _answer) = w.deliver(&uid).await;
            drop(permit);
            (status, started.elapsed().as_secs_f64() * 1000.0)
        });
    }
    let mut ms = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (_status, t) = done.unwrap();
        ms.push(t);
    }
    ms
}

fn main() {
    let alerts = env_num("SOAK_ALERTS", 2_000) as usize;
    let devices = env_num("SOAK_DEVICES", 200) as usize;
    let parallel = env_num("SOAK_PARALLEL", 8) as usize;
    let latency = Duration::from_millis(env_num("SOAK_LATENCY_MS", 2));
    let kind = match std::env::var("SOAK_PSA").unwrap_or_default().as_str() {
        "connectwise" | "connectwise-manage" => PsaKind::ConnectwiseManage,
        _ => PsaKind::Autotask,
    };
    let (moto, _moto) = start_moto();
    // SAFETY: set before the runtime (and any other thread) starts.
    unsafe {
        std::env::set_var("RMMSYNC_MOTO_ENDPOINT", &moto);
        // A PSA call slower than this is a timeout, as the webhook function's template sets it.
        std::env::set_var("HTTP_TIMEOUT_MS", "1000");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let started = Instant::now();
        let w = Arc::new(
            world_opts(
                kind,
                clock,
                WorldOptions {
                    latency,
                    devices,
                    timing: TicketTiming::default(),
                    datto_rate_limit: Some(20_000),
                    autotask_hourly_limit: Some(1_000_000),
                    connectwise_rate_limit: Some(1_000_000),
                },
            )
            .await,
        );
        w.datto_sim.set_alert_webhook(None);
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let psa_faults = Faults {
            fail_rate: 0.05,
            status: 500,
            ..Faults::default()
        };
        let timeouts = Faults {
            path_contains: Some(
                if kind == PsaKind::Autotask {
                    "/Tickets"
                } else {
                    "/service/tickets"
                }
                .into(),
            ),
            latency: Some(Duration::from_millis(1_500)),
            ..Faults::default()
        };
        let mut ms = Vec::new();
        let mut raised = Vec::new();
        let batch = 50;
        let mut dropped = 0;
        let mut doubled = 0;
        for (b, chunk_start) in (0..alerts).step_by(batch).enumerate() {
            let mut deliveries = Vec::new();
            for i in chunk_start..(chunk_start + batch).min(alerts) {
                let device = &w.site_devices[i % w.site_devices.len()];
                let monitor = MONITORS[(i / w.site_devices.len() + i) % MONITORS.len()];
                let uid = w.datto_sim.raise_alert(device, "High", monitor);
                raised.push(uid.clone());
                if rng.chance(0.10) {
                    dropped += 1;
                    continue;
                }
                deliveries.push(uid.clone());
                if rng.chance(0.20) {
                    doubled += 1;
                    deliveries.push(uid);
                }
            }
            rng.shuffle(&mut deliveries);
            set_psa_faults(&w, if b % 20 == 7 { timeouts.clone() } else { psa_faults.clone() });
            w.datto_sim.set_faults(simulators::datto::Faults {
                force_429_next: 2,
                retry_after_secs: 1,
                ..simulators::datto::Faults::default()
            });
            ms.extend(deliver_all(&w, deliveries, parallel).await);
        }
        set_psa_faults(&w, psa_faults.clone());
        // A fifth of the alerts resolve in Datto RMM; their webhooks dropped and doubled alike.
        let mut resolutions = Vec::new();
        for uid in &raised {
            if rng.chance(0.20) && w.datto_sim.resolve_alert(uid) {
                if rng.chance(0.10) {
                    continue;
                }
                resolutions.push(uid.clone());
                if rng.chance(0.20) {
                    resolutions.push(uid.clone());
                }
            }
        }
        rng.shuffle(&mut resolutions);
        ms.extend(deliver_all(&w, resolutions, parallel).await);
        // A third of the tickets completed in the PSA; with Autotask half of those announce it
        // with a callout (ConnectWise has no callback registered here: the reconciler finds them).
        let ours: HashSet<&str> = raised.iter().map(String::as_str).collect();
        let tickets: Vec<String> = psa_tickets(&w)
            .into_iter()
            .filter(|(_, alert, complete)| alert.as_deref().is_some_and(|a| ours.contains(a)) && !complete)
            .map(|(id, _, _)| id)
            .collect();
        let callout = format!("/hooks/autotask/{}/callout?token={}", w.psa_id, w.psa_token);
        for id in tickets {
            if !rng.chance(1.0 / 3.0) {
                continue;
            }
            complete_in_psa(&w, &id);
            if kind == PsaKind::Autotask && rng.chance(0.5) {
                let t0 = Instant::now();
                let body = format!("id={id}&status=5");
                let _ = w
                    .hook(&callout, &[("Content-Type", "application/x-www-form-urlencoded")], body.as_bytes())
                    .await;
                ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let delivered_at = started.elapsed();

        // The reconciler: two passes with the faults still on, then until a pass repairs nothing.
        let tenant = TenantId::parse(rmmsync_tests::ticket_world::TENANT).unwrap();
        let budget = ReconcileBudget {
            max_opens: 10_000,
            max_ticket_reads: 10_000,
            max_alert_pages: 1_000,
            deadline: Duration::from_secs(600),
        };
        let mut passes = Vec::new();
        for pass in 0..12 {
            if pass == 2 {
                set_psa_faults(&w, Faults::default());
                w.datto_sim.set_faults(simulators::datto::Faults::default());
            }
            let record = w.api.tickets().reconcile(&tenant, &w.datto_id, &budget).await.unwrap();
            let repairs = record.repairs.len();
            println!(
                "pass {pass}: open {} opened {} adopted {} noted {} completed {} resolved {} pending {} failed {} deferred {} errors {}",
                record.open_alerts, record.opened, record.adopted, record.noted, record.tickets_completed,
                record.alerts_resolved, record.still_pending, record.failed, record.deferred, record.errors.len()
            );
            passes.push(record);
            if pass >= 2 && repairs == 0 {
                break;
            }
            // Time passes between passes: an hour, so every pending alert's backoff is over.
            SHIFT_MS.fetch_add(3_600_000, Ordering::SeqCst);
        }

        // The verdict, from the simulators and the alert states.
        let (_, states) = w.call("GET", &format!("/integrations/{}/alerts", w.datto_id), None).await;
        let states: HashMap<String, Value> = states["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["alertUid"].as_str().unwrap().to_owned(), a.clone()))
            .collect();
        let at_tickets: Vec<(String, Option<String>, bool)> = psa_tickets(&w)
            .into_iter()
            .filter(|(_, alert, _)| alert.as_deref().is_some_and(|a| ours.contains(a)))
            .collect();
        let ticket_status: HashMap<String, bool> = at_tickets.iter().map(|(id, _, done)| (id.clone(), *done)).collect();
        let mut per_alert: HashMap<&str, usize> = HashMap::new();
        for (_, alert, _) in &at_tickets {
            *per_alert.entry(alert.as_deref().unwrap()).or_default() += 1;
        }
        let duplicate_tickets: usize = per_alert.values().map(|n| n.saturating_sub(1)).sum();
        let mut lost = 0;
        let mut left_open = 0;
        let mut alerts_of: HashMap<String, Vec<bool>> = HashMap::new();
        for uid in &raised {
            let open = !w.datto_sim.is_alert_resolved(uid);
            let ticket = states
                .get(uid)
                .and_then(|s| s["ticketId"].as_str())
                .filter(|t| ticket_status.contains_key(*t));
            match ticket {
                None if open => lost += 1,
                None => {}
                Some(t) => {
                    alerts_of.entry(t.to_owned()).or_default().push(open);
                    if open && ticket_status[t] {
                        left_open += 1;
                    }
                }
            }
        }
        for (ticket, opens) in &alerts_of {
            if !ticket_status[ticket] && opens.iter().all(|o| !o) {
                left_open += 1;
            }
        }
        let notes: usize = at_tickets.iter().map(|(id, _, _)| psa_notes(&w, id)).sum();
        ms.sort_by(f64::total_cmp);
        let p95 = ms[((ms.len() as f64 - 1.0) * 0.95).round() as usize];
        let p50 = ms[((ms.len() as f64 - 1.0) * 0.5).round() as usize];
        println!(
            "hook-soak: {alerts} alerts over {devices} devices; {dropped} webhooks dropped, {doubled} doubled; {} deliveries p50 {p50:.1} ms p95 {p95:.1} ms; delivered in {:.1} s, reconciled in {:.1} s ({} passes); peak RSS {:.1} MB",
            ms.len(),
            delivered_at.as_secs_f64(),
            (started.elapsed() - delivered_at).as_secs_f64(),
            passes.len(),
            vm_hwm_mb()
        );
        let report = json!({
            "bench": "hook-soak",
            "psa": kind.as_str(),
            "alerts": raised.len(),
            "tickets": at_tickets.len(),
            "lost": lost,
            "duplicate_tickets": duplicate_tickets,
            "left_open": left_open,
            "notes": notes,
            "p95_ms": (p95 * 10.0).round() / 10.0,
            "deliveries": ms.len(),
            "reconciler_passes": passes.len(),
        });
        println!("{report}");
    });
}
