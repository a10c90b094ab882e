//! Benchmark of the device-to-configuration matching plan: 100,000 devices
//! against 100,000 configurations in 5,000 companies, on one thread.
//!
//! ```text
//! cargo run --release --bin config-match-bench [-- --seed N --devices N --companies N]
//! ```
//!
//! The data is generated from the seed with the habits that make matching
//! hard: configurations already linked, serials that agree, junk serials
//! ("To Be Filled By O.E.M.", "0", all-one-character), serials that were
//! never filled in, hosts renamed since the configuration was made, names
//! shared by several configurations of one company, devices not audited
//! yet, and devices with no configuration at all. Prints the figures, then
//! one JSON line with `devices`, `configurations`, `plan_s`, `peak_rss_mb`,
//! `linked`, `matched_serial`, `matched_name`, `ambiguous`, `proposed_new`.
//! Target: the plan under 1 s, peak memory under 300 MB. `plan_cpu_s` is the
//! plan's CPU time on its one thread, which load on the machine does not inflate.
//!
//! Creating configurations in the Autotask simulator under its limits (the
//! second figure the flow calls for) is `config-create-bench`.

use rmmsync_tests::bench::{thread_cpu_s, vm_hwm_mb};
use shared::configurations::plan::{ConfigFacts, DeviceFacts, counts, plan};
use std::time::Instant;

/// A small deterministic generator (SplitMix64), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const JUNK: [&str; 5] = [
    "To Be Filled By O.E.M.",
    "0",
    "Default string",
    "XXXXXXXX",
    "System Serial Number",
];
const MAKERS: [(&str, [&str; 3]); 3] = [
    ("Dell Inc.", ["OptiPlex 7010", "Latitude 5420", "PowerEdge R640"]),
    ("HP", ["EliteDesk 800 G6", "ProBook 450 G8", "ProLiant DL380"]),
    ("Lenovo", ["ThinkCentre M720", "ThinkPad T14", "ThinkSystem SR650"]),
];

fn main() {
    let seed = arg("--seed", 7);
    let n_devices = arg("--devices", 100_000) as usize;
    let n_companies = arg("--companies", 5_000) as usize;
    let mut rng = Rng(seed);
    let mut devices = Vec::with_capacity(n_devices);
    let mut configs = Vec::with_capacity(n_devices);
    for i in 0..n_devices {
        let company = format!("c{}", rng.below(n_companies as u64));
        let host = format!("{}-{:05}", ["WS", "LT", "SRV", "PC"][rng.below(4) as usize], i);
        let (maker, models) = MAKERS[rng.below(3) as usize];
        let model = models[rng.below(3) as usize];
        let serial = format!("SN{:08X}", rng.next() as u32);
        let device_serial = match rng.below(100) {
            0..=4 => None,                                                          // not audited yet
            5..=12 => Some(JUNK[rng.below(JUNK.len() as u64) as usize].to_owned()), // junk
            _ => Some(serial.clone()),
        };
        devices.push(DeviceFacts {
            uid: format!("dev-{i}"),
            hostname: host.clone(),
            company: Some(company.clone()),
            serial: device_serial,
            manufacturer: Some(maker.to_owned()),
            model: Some(model.to_owned()),
        });
        // Most devices have a configuration already, made by hand or by an earlier tool.
        if rng.chance(88) {
            let linked = rng.chance(30);
            let renamed = rng.chance(10);
            let shared_name = rng.chance(3);
            configs.push(ConfigFacts {
                id: format!("cfg-{i}"),
                company,
                name: if shared_name {
                    "Reception PC".to_owned()
                } else if renamed {
                    format!("old-{host}")
                } else {
                    host.to_lowercase()
                },
                serial: if rng.chance(20) {
                    None
                } else {
                    Some(serial.to_lowercase())
                },
                manufacturer: Some(maker.to_owned()),
                model: Some(model.to_owned()),
                device_uid: linked.then(|| format!("dev-{i}")),
            });
        }
    }
    // Configurations of machines long gone, some with junk serials shared by many.
    let extra = n_devices.saturating_sub(configs.len());
    for j in 0..extra {
        configs.push(ConfigFacts {
            id: format!("gone-{j}"),
            company: format!("c{}", rng.below(n_companies as u64)),
            name: format!("retired-{j}"),
            serial: Some(JUNK[rng.below(JUNK.len() as u64) as usize].to_owned()),
            manufacturer: None,
            model: None,
            device_uid: None,
        });
    }

    let started = Instant::now();
    let cpu_before = thread_cpu_s();
    let plans = plan(&devices, &configs);
    let plan_s = started.elapsed().as_secs_f64();
    let plan_cpu_s = thread_cpu_s() - cpu_before;
    let c = counts(&plans);
    let peak = vm_hwm_mb();
    println!(
        "devices {} against configurations {} in {} companies",
        devices.len(),
        configs.len(),
        n_companies
    );
    println!("plan {plan_s:.3} s wall, {plan_cpu_s:.2} s of CPU on one thread, peak RSS {peak:.1} MB");
    println!(
        "linked {}, serial {}, name {}, manufacturer {}, model {}, ambiguous {}, new {}, waiting {}",
        c.linked,
        c.matched_serial,
        c.matched_name,
        c.matched_manufacturer,
        c.matched_model,
        c.ambiguous,
        c.proposed_new,
        c.waiting_for_audit
    );
    println!(
        "{}",
        serde_json::json!({
            "devices": devices.len(),
            "configurations": configs.len(),
            "plan_s": (plan_s * 1000.0).round() / 1000.0,
            "plan_cpu_s": (plan_cpu_s * 100.0).round() / 100.0,
            "peak_rss_mb": (peak * 10.0).round() / 10.0,
            "linked": c.linked,
            "matched_serial": c.matched_serial,
            "matched_name": c.matched_name,
            "ambiguous": c.ambiguous,
            "proposed_new": c.proposed_new,
        })
    );
}
