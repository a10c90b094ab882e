//! Benchmark of the company-side mapping table: what one `GET .../company-mappings` page costs
//! once the items are read, for a large MSP (10,000 companies, 5,000 sites, a fifth of the
//! sites mapped). One thread.
//!
//! ```text
//! cargo run --release --bin company-view-bench [-- --companies N --sites N --seed N]
//! ```
//!
//! Builds the whole table ([`company_rows`]: every company with its mapped sites, and for each
//! company without one the sites quick match's matcher suggests, every free site matched against
//! every company) and cuts the first page and a filtered page ([`page`]), several times. Prints
//! the times, companies with suggestions, the peak RSS, then one JSON line.

use shared::site_mapping::company_side::{CompanyEntry, CompanyFilter, company_rows, page};
use shared::site_mapping::{MappedBy, SiteMapping, SyncedSite};
use std::collections::HashMap;
use std::time::Instant;

const FIRST: [&str; 16] = [
    "James", "Mary", "Robert", "Linda", "Michael", "Sarah", "David", "Karen", "Joseph", "Nancy", "Daniel", "Lisa",
    "Ana", "José", "Zoë", "Renée",
];
const LAST: [&str; 24] = [
    "Smith", "Johnson", "Garcia", "Miller", "Davis", "Martinez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "Müller",
    "Łukasz",
];
const TRADES: [&str; 12] = [
    "Dental",
    "Law Group",
    "Plumbing",
    "Accounting",
    "Veterinary Clinic",
    "Realty",
    "Roofing",
    "Family Practice",
    "Insurance",
    "Architects",
    "Bakery",
    "Church",
];
const FORMS: [&str; 5] = ["", " LLC", " Inc.", " PLLC", " Ltd"];
const PLACES: [&str; 10] = [
    "Springfield",
    "Riverside",
    "Dallas",
    "Austin",
    "Denver",
    "Tulsa",
    "Salem",
    "Dover",
    "Macon",
    "Erie",
];
const TAILS: [&str; 5] = [" - Main Office", " (old)", " Branch", " - Servers", ""];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[(self.next() % of.len() as u64) as usize]
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

fn main() {
    let companies_n = arg("--companies", 10_000) as usize;
    let sites_n = arg("--sites", 5_000) as usize;
    let mut rng = Rng(arg("--seed", 7) | 1);

    let companies: Vec<CompanyEntry> = (0..companies_n)
        .map(|i| {
            let name = format!(
                "{} {} {}{}",
                rng.pick(&FIRST),
                rng.pick(&LAST),
                rng.pick(&TRADES),
                rng.pick(&FORMS)
            );
            CompanyEntry {
                id: format!("c{i:05}"),
                name,
                psa_kind: (i % 3 == 0).then(|| "autotask".into()),
                psa_id: (i % 3 == 0).then(|| (10_000 + i).to_string()),
                company_type: Some(["Customer", "Prospect", "Vendor"][i % 3].into()),
                active: i % 10 != 0,
            }
        })
        .collect();
    let mut mappings = HashMap::new();
    let sites: Vec<SyncedSite> = (0..sites_n)
        .map(|i| {
            let uid = format!("s{i:05}");
            // Most sites belong to a company (named after it, with a place or a tail); some to none.
            let name = if i % 7 == 6 {
                format!("{} {} Holdings", rng.pick(&PLACES), rng.pick(&LAST))
            } else {
                let c = &companies[(rng.next() % companies.len() as u64) as usize];
                if i % 5 == 0 {
                    mappings.insert(
                        uid.clone(),
                        SiteMapping {
                            site_uid: uid.clone(),
                            company_id: Some(c.id.clone()),
                            confidence: 100,
                            mapped_by: MappedBy::Manual,
                            mapped_at: 0,
                            explanation: None,
                        },
                    );
                }
                format!("{}{}", c.name, rng.pick(&TAILS))
            };
            SyncedSite {
                uid,
                name,
                device_count: Some(20),
                autotask_company_id: None,
                autotask_company_name: None,
                pseudo: false,
                removed_at: None,
                portal_url: Some(format!("https://merlot.centrastage.net/csm/profile/summary/{i}")),
            }
        })
        .collect();

    let rounds = 3;
    let mut build_ms = Vec::new();
    let mut page_ms = Vec::new();
    let mut suggested = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let rows = company_rows(&companies, &sites, &mappings);
        build_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        suggested = rows.iter().filter(|r| !r.suggestions.is_empty()).count();
        let started = Instant::now();
        let first = page(rows.clone(), &CompanyFilter::default()).expect("first page");
        let filtered = page(
            rows,
            &CompanyFilter {
                mapped: Some(false),
                company_type: Some("customer".into()),
                search: Some("dental".into()),
                ..Default::default()
            },
        )
        .expect("filtered page");
        page_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(first.count, 50);
        assert!(filtered.count > 0);
    }
    let best = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    let rss = rmmsync_tests::bench::vm_hwm_mb();
    println!(
        "company-side table: {companies_n} companies, {sites_n} sites ({} mapped)",
        mappings.len()
    );
    println!(
        "  build (match every free site, gather per company): best {:.0} ms of {rounds}",
        best(&build_ms)
    );
    println!("  two pages cut from it: best {:.1} ms", best(&page_ms));
    println!("  companies with suggestions: {suggested}; peak RSS {rss:.0} MB");
    println!(
        "{}",
        serde_json::json!({
            "bench": "company-view",
            "companies": companies_n,
            "sites": sites_n,
            "mapped_sites": mappings.len(),
            "build_ms": (best(&build_ms) * 10.0).round() / 10.0,
            "page_ms": (best(&page_ms) * 10.0).round() / 10.0,
            "companies_with_suggestions": suggested,
            "peak_rss_mb": (rss * 10.0).round() / 10.0,
        })
    );
}
