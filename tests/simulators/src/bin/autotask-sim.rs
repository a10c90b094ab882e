//! `autotask-sim`: runs the Autotask PSA REST API simulator as a standalone server (for the demo
//! and for scripts). See `--help`.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use simulators::autotask::{AutotaskConfig, AutotaskSim};

/// `(name, value placeholder or None for a flag, help)`.
const OPTS: &[(&str, Option<&str>, &str)] = &[
    (
        "host",
        Some("ADDR"),
        "address to bind (default 127.0.0.1; admin endpoints answer loopback peers only)",
    ),
    ("port", Some("PORT"), "port to bind, 0 = any free port (default 9200)"),
    ("username", Some("USER"), "API user (default api.user@msp.example)"),
    (
        "secret",
        Some("SECRET"),
        "API secret (default sim-secret-0123456789; prefer the env var to keep it out of `ps`)",
    ),
    (
        "integration-code",
        Some("CODE"),
        "accepted ApiIntegrationCode (default SIMINTEGRATIONCODE)",
    ),
    ("companies", Some("N"), "companies generated (default 30)"),
    (
        "tickets",
        Some("N"),
        "tickets generated (default: as many as companies)",
    ),
    ("seed", Some("N"), "seed of the generated data (default 1)"),
    ("latency-ms", Some("MS"), "sleep before every response (default 0)"),
    ("page-max", Some("N"), "page size limit, 1..500 (default 500)"),
    ("hourly-limit", Some("N"), "requests per rolling hour (default 10000)"),
    (
        "thread-limit",
        Some("N"),
        "concurrent requests per integration code and endpoint (default 3)",
    ),
    ("retry-after", Some("S"), "add `Retry-After: S` to 429 responses"),
    (
        "reference-time-ms",
        Some("MS"),
        "epoch ms the generated timestamps are relative to (default: start of today, UTC)",
    ),
    (
        "no-usage-latency",
        None,
        "do not slow answers down above 50 % / 75 % of the hourly limit",
    ),
    (
        "next-url-on-full-last-page",
        None,
        "give an exactly full last page a nextPageUrl (to an empty page)",
    ),
    (
        "allow-get-next-after-post",
        None,
        "accept GET on the nextPageUrl of a POST query",
    ),
];

fn env_name(opt: &str) -> String {
    format!("AUTOTASK_SIM_{}", opt.replace('-', "_").to_uppercase())
}

fn usage() -> String {
    let mut s = String::from(
        "autotask-sim: a local Autotask PSA REST API (v1.0) simulator.\n\n\
         Usage: autotask-sim [--port 9200] [--username U] [--secret S] [--integration-code C]\n\
         \x20                   [--companies 200] [--seed 7] [...]\n\n\
         Zone discovery: GET http://HOST:PORT/atservicesrest/v1.0/zoneInformation?user=U answers the REST\n\
         root http://HOST:PORT/ATServicesRest/. Admin: GET /_sim/info, GET /_sim/stats, POST /_sim/faults,\n\
         POST /_sim/reset-limits, POST /_sim/tickets/{id}/complete, POST /_sim/callout.\n\n\
         Options (each can also be set with the environment variable shown; options win):\n",
    );
    for (name, value, help) in OPTS {
        let flag = match value {
            Some(v) => format!("--{name} {v}"),
            None => format!("--{name}"),
        };
        s.push_str(&format!("  {flag:<32} {help}\n  {:<32} [{}]\n", "", env_name(name)));
    }
    s.push_str("  -h, --help                       print this help\n\nLogging: RUST_LOG (default info; debug logs every request).\n");
    s
}

fn collect(args: &[String]) -> Result<HashMap<&'static str, String>, String> {
    let mut values = HashMap::new();
    for (name, _, _) in OPTS {
        if let Ok(v) = std::env::var(env_name(name)) {
            values.insert(*name, v);
        }
    }
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "-h" || arg == "--help" {
            values.insert("help", String::new());
            i += 1;
            continue;
        }
        let body = arg
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {arg:?} (options start with --)"))?;
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let (opt, meta, _) = OPTS
            .iter()
            .find(|(n, _, _)| *n == name)
            .ok_or_else(|| format!("unknown option --{name}"))?;
        let value = match (meta, inline) {
            (_, Some(v)) => v,
            (None, None) => "true".into(),
            (Some(meta), None) => {
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| format!("--{name} needs a value ({meta})"))?
            }
        };
        values.insert(*opt, value);
        i += 1;
    }
    Ok(values)
}

fn num<T: std::str::FromStr>(values: &HashMap<&'static str, String>, name: &str) -> Result<Option<T>, String> {
    values
        .get(name)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|_| format!("--{name} expects a number, got {v:?}"))
        })
        .transpose()
}

fn flag(values: &HashMap<&'static str, String>, name: &str) -> bool {
    values
        .get(name)
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "" | "1" | "true" | "yes" | "on"))
}

fn build(values: &HashMap<&'static str, String>) -> Result<(AutotaskConfig, SocketAddr), String> {
    let mut c = AutotaskConfig::default();
    if let Some(v) = values.get("username") {
        c.username = v.clone();
    }
    if let Some(v) = values.get("secret") {
        c.secret = v.clone();
    }
    if let Some(v) = values.get("integration-code") {
        c.integration_codes = vec![v.clone()];
    }
    if let Some(n) = num(values, "companies")? {
        c.companies = n;
    }
    c.tickets = num(values, "tickets")?;
    if let Some(n) = num(values, "seed")? {
        c.seed = n;
    }
    if let Some(n) = num(values, "latency-ms")? {
        c.latency = Duration::from_millis(n);
    }
    if let Some(n) = num(values, "page-max")? {
        c.page_max = n;
    }
    if let Some(n) = num(values, "hourly-limit")? {
        c.hourly_limit = n;
    }
    if let Some(n) = num(values, "thread-limit")? {
        c.thread_limit = n;
    }
    c.retry_after_secs = num(values, "retry-after")?;
    c.reference_time_ms = num(values, "reference-time-ms")?;
    c.usage_latency = !flag(values, "no-usage-latency");
    c.next_url_on_full_last_page = flag(values, "next-url-on-full-last-page");
    c.allow_get_next_after_post = flag(values, "allow-get-next-after-post");
    let host: IpAddr = match values.get("host") {
        None => IpAddr::from([127, 0, 0, 1]),
        Some(h) => h
            .trim()
            .parse()
            .map_err(|_| format!("--host expects an IP address, got {h:?}"))?,
    };
    let port: u16 = num(values, "port")?.unwrap_or(9200);
    Ok((c, SocketAddr::new(host, port)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = collect(&args).and_then(|v| {
        if v.contains_key("help") {
            return Ok(None);
        }
        build(&v).map(Some)
    });
    let (config, addr) = match parsed {
        Ok(Some(v)) => v,
        Ok(None) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("autotask-sim: {e}\nTry `autotask-sim --help`.");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let (companies, user, code) = (
        config.companies,
        config.username.clone(),
        config.integration_codes.join(","),
    );
    let sim = match AutotaskSim::start_on(config, addr).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("autotask-sim: cannot start on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "autotask-sim listening on {} ({companies} companies, user {user}, integration code {code})",
        sim.base_url()
    );
    println!("  zone information: {}?user={user}", sim.zone_information_url());
    println!("  REST root:        {}", sim.rest_root());
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
