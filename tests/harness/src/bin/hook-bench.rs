//! `cargo run --release --bin hook-bench`: how fast the alert round trip's
//! webhooks answer. Senders give up after a few seconds (ConnectWise: 5 s),
//! so the figure that matters is the answer time of one delivery.
//!
//! The Datto RMM and Autotask simulators answer every request after
//! `BENCH_LATENCY_MS` (default 50, a WAN round trip); moto is a child process
//! (or `RMMSYNC_MOTO_ENDPOINT`). Each delivery goes over HTTP through the
//! loopback stand-in for API Gateway to the tickets function's handler:
//! `BENCH_ALERTS` (default 40) alerts that open tickets, as many repeats that
//! become notes, as many duplicate deliveries, then one callout per ticket
//! that resolves its alerts in Datto RMM. Prints p50/p95/max per kind, the
//! requests one delivery of each kind sent (to moto by operation, to Datto RMM
//! and to the PSA by route, averaged over the kind's deliveries) and one JSON
//! line. The bench's table stays small (one site of `BENCH_ALERTS` devices):
//! moto sorts a whole table on every Query, so a big table would measure moto.

use rmmsync_tests::aws_calls;
use rmmsync_tests::bench::{env_num, start_moto, vm_hwm_mb};
use rmmsync_tests::ticket_world::{World, world_with};
use serde_json::{Value, json};
use shared::psa::PsaKind;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Requests sent by the deliveries of one kind, summed: to moto by operation, to the
/// simulators by route.
#[derive(Default)]
struct Requests {
    deliveries: u64,
    counts: BTreeMap<String, u64>,
}

/// Every request counter the bench watches, as one map (`aws.*`, `datto.*`, `psa.*`).
fn counters(w: &World) -> BTreeMap<String, u64> {
    let mut all = BTreeMap::new();
    for (k, v) in aws_calls::snapshot() {
        let op = k.rsplit('.').next().unwrap_or(&k).to_owned();
        *all.entry(format!("aws.{op}")).or_default() += v;
    }
    for (k, v) in w.datto_sim.stats().by_route {
        all.insert(format!("datto.{k}"), v);
    }
    for (k, v) in w.autotask().stats().by_route {
        all.insert(format!("psa.{k}"), v);
    }
    all
}

impl Requests {
    fn add(&mut self, before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) {
        self.deliveries += 1;
        for (k, v) in after {
            let d = v - before.get(k).copied().unwrap_or(0);
            if d > 0 {
                *self.counts.entry(k.clone()).or_default() += d;
            }
        }
    }

    /// Requests per delivery, by counter, and their total per delivery.
    fn per_delivery(&self, name: &str) -> Value {
        let n = self.deliveries.max(1) as f64;
        let per: BTreeMap<&String, f64> = self
            .counts
            .iter()
            .map(|(k, v)| (k, (*v as f64 / n * 100.0).round() / 100.0))
            .collect();
        // `+ 0.0`: an empty sum is -0.0.
        let total = |prefix: &str| -> f64 {
            per.iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(_, v)| *v)
                .sum::<f64>()
                + 0.0
        };
        println!(
            "{name:28} per delivery: aws {:.2}, datto {:.2}, psa {:.2}  {per:?}",
            total("aws."),
            total("datto."),
            total("psa.")
        );
        json!({ "aws": total("aws."), "datto": total("datto."), "psa": total("psa."), "by_route": per })
    }
}

async fn deliver(w: &World, path: &str, body: &[u8], headers: &[(&str, &str)]) -> (f64, Value) {
    let started = Instant::now();
    let (status, answer) = w.hook(path, headers, body).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(status, 200, "{answer}");
    (ms, answer)
}

fn summary(name: &str, mut ms: Vec<f64>) -> Value {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    let (p50, p95, max) = (at(0.5), at(0.95), at(1.0));
    println!(
        "{name:28} n={:3}  p50 {p50:7.1} ms  p95 {p95:7.1} ms  max {max:7.1} ms",
        ms.len()
    );
    json!({ "n": ms.len(), "p50_ms": p50, "p95_ms": p95, "max_ms": max })
}

fn main() {
    let alerts = env_num("BENCH_ALERTS", 40) as usize;
    let latency = Duration::from_millis(env_num("BENCH_LATENCY_MS", 50));
    let (moto, _moto) = start_moto();
    // SAFETY: set before the runtime (and any other thread) starts.
    unsafe { std::env::set_var("RMMSYNC_MOTO_ENDPOINT", &moto) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let w = world_with(PsaKind::Autotask, shared::time::now_millis, latency, alerts).await;
        // Deliveries are sent by the bench itself, so each one is timed alone.
        w.datto_sim.set_alert_webhook(None);
        let alerts_path = format!("/hooks/datto/{}/alerts?token={}", w.datto_id, w.datto_token);
        let (mut opened, mut noted, mut duplicate, mut resolved) = (vec![], vec![], vec![], vec![]);
        let mut tickets = Vec::new();
        let (mut opened_req, mut noted_req, mut duplicate_req, mut resolved_req) = (
            Requests::default(),
            Requests::default(),
            Requests::default(),
            Requests::default(),
        );
        for device in &w.site_devices {
            let uid = w.datto_sim.raise_alert(device, "High", "disk_usage_ctx");
            let body = json!({ "alertUid": uid }).to_string();
            let before = counters(&w);
            let (ms, answer) = deliver(&w, &alerts_path, body.as_bytes(), &[]).await;
            opened_req.add(&before, &counters(&w));
            assert_eq!(answer["status"], "opened", "{answer}");
            opened.push(ms);
            tickets.push(answer["ticketId"].as_str().unwrap().to_owned());
            let repeat = w.datto_sim.raise_alert(device, "High", "disk_usage_ctx");
            let repeat_body = json!({ "alertUid": repeat }).to_string();
            let before = counters(&w);
            let (ms, answer) = deliver(&w, &alerts_path, repeat_body.as_bytes(), &[]).await;
            noted_req.add(&before, &counters(&w));
            assert_eq!(answer["status"], "noted", "{answer}");
            noted.push(ms);
            let before = counters(&w);
            let (ms, answer) = deliver(&w, &alerts_path, body.as_bytes(), &[]).await;
            duplicate_req.add(&before, &counters(&w));
            assert_eq!(answer["status"], "duplicate", "{answer}");
            duplicate.push(ms);
        }
        let callout_path = format!("/hooks/autotask/{}/callout?token={}", w.psa_id, w.psa_token);
        for ticket in &tickets {
            w.autotask().complete_ticket(ticket.parse().unwrap());
            let body = format!("id={ticket}&status=5");
            let before = counters(&w);
            let (ms, answer) = deliver(
                &w,
                &callout_path,
                body.as_bytes(),
                &[("Content-Type", "application/x-www-form-urlencoded")],
            )
            .await;
            resolved_req.add(&before, &counters(&w));
            assert_eq!(answer["status"], "resolved", "{answer}");
            resolved.push(ms);
        }
        println!(
            "hook-bench: {alerts} devices, simulators answer after {} ms, moto {moto}",
            latency.as_millis()
        );
        // Over the whole bench (the world's setup included): a warm process grants one
        // Datto token and discovers the Autotask zone once.
        let token_grants = w.datto_sim.stats().route("token");
        let zone_lookups = w.autotask().stats().route("zoneInformation");
        println!("Datto token grants {token_grants}, Autotask zone lookups {zone_lookups} (setup included)");
        let report = json!({
            "bench": "hook-bench",
            "datto_token_grants": token_grants,
            "autotask_zone_lookups": zone_lookups,
            "latency_ms": latency.as_millis() as u64,
            "opened": summary("alert -> new ticket", opened),
            "noted": summary("repeat -> note", noted),
            "duplicate": summary("duplicate delivery", duplicate),
            "resolved": summary("callout -> alerts resolved", resolved),
            "requests_per_delivery": {
                "opened": opened_req.per_delivery("alert -> new ticket"),
                "noted": noted_req.per_delivery("repeat -> note"),
                "duplicate": duplicate_req.per_delivery("duplicate delivery"),
                "resolved": resolved_req.per_delivery("callout -> alerts resolved"),
            },
            "peak_rss_mb": vm_hwm_mb(),
        });
        println!("peak RSS {:.1} MB", vm_hwm_mb());
        println!("{report}");
    });
}
