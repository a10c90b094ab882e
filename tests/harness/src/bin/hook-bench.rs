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
//! that resolves its alerts in Datto RMM. Prints p50/p95/max per kind and one
//! JSON line.

use rmmsync_tests::bench::{env_num, start_moto, vm_hwm_mb};
use rmmsync_tests::ticket_world::{World, world_with};
use serde_json::{Value, json};
use shared::psa::PsaKind;
use std::time::{Duration, Instant};

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
        for device in &w.site_devices {
            let uid = w.datto_sim.raise_alert(device, "High", "disk_usage_ctx");
            let body = json!({ "alertUid": uid }).to_string();
            let (ms, answer) = deliver(&w, &alerts_path, body.as_bytes(), &[]).await;
            assert_eq!(answer["status"], "opened", "{answer}");
            opened.push(ms);
            tickets.push(answer["ticketId"].as_str().unwrap().to_owned());
            let repeat = w.datto_sim.raise_alert(device, "High", "disk_usage_ctx");
            let repeat_body = json!({ "alertUid": repeat }).to_string();
            let (ms, answer) = deliver(&w, &alerts_path, repeat_body.as_bytes(), &[]).await;
            assert_eq!(answer["status"], "noted", "{answer}");
            noted.push(ms);
            let (ms, answer) = deliver(&w, &alerts_path, body.as_bytes(), &[]).await;
            assert_eq!(answer["status"], "duplicate", "{answer}");
            duplicate.push(ms);
        }
        let callout_path = format!("/hooks/autotask/{}/callout?token={}", w.psa_id, w.psa_token);
        for ticket in &tickets {
            w.autotask().complete_ticket(ticket.parse().unwrap());
            let body = format!("id={ticket}&status=5");
            let (ms, answer) = deliver(
                &w,
                &callout_path,
                body.as_bytes(),
                &[("Content-Type", "application/x-www-form-urlencoded")],
            )
            .await;
            assert_eq!(answer["status"], "resolved", "{answer}");
            resolved.push(ms);
        }
        println!(
            "hook-bench: {alerts} devices, simulators answer after {} ms, moto {moto}",
            latency.as_millis()
        );
        let report = json!({
            "bench": "hook-bench",
            "latency_ms": latency.as_millis() as u64,
            "opened": summary("alert -> new ticket", opened),
            "noted": summary("repeat -> note", noted),
            "duplicate": summary("duplicate delivery", duplicate),
            "resolved": summary("callout -> alerts resolved", resolved),
            "peak_rss_mb": vm_hwm_mb(),
        });
        println!("peak RSS {:.1} MB", vm_hwm_mb());
        println!("{report}");
    });
}
