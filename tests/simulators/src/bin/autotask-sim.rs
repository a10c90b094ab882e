//! `autotask-sim`: runs the Autotask PSA REST API simulator as a standalone server (for the demo
//! and for scripts). See `--help`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use simulators::autotask::{AutotaskConfig, AutotaskSim};
use simulators::cli::{self, Opt, Options, Values, text};

const OPTS: &[Opt] = &[
    Opt {
        name: "host",
        value: Some("ADDR"),
        help: "address to bind (default 127.0.0.1; admin endpoints answer loopback peers only)",
    },
    Opt {
        name: "port",
        value: Some("PORT"),
        help: "port to bind, 0 = any free port (default 9200)",
    },
    Opt {
        name: "username",
        value: Some("USER"),
        help: "API user (default api.user@msp.example)",
    },
    Opt {
        name: "secret",
        value: Some("SECRET"),
        help: "API secret (default sim-secret-0123456789; prefer the env var to keep it out of `ps`)",
    },
    Opt {
        name: "integration-code",
        value: Some("CODE"),
        help: "accepted ApiIntegrationCode (default SIMINTEGRATIONCODE)",
    },
    Opt {
        name: "companies",
        value: Some("N"),
        help: "companies generated (default 30)",
    },
    Opt {
        name: "tickets",
        value: Some("N"),
        help: "tickets generated (default: as many as companies)",
    },
    Opt {
        name: "seed",
        value: Some("N"),
        help: "seed of the generated data (default 1)",
    },
    Opt {
        name: "latency-ms",
        value: Some("MS"),
        help: "sleep before every response (default 0)",
    },
    Opt {
        name: "page-max",
        value: Some("N"),
        help: "page size limit, 1..500 (default 500)",
    },
    Opt {
        name: "hourly-limit",
        value: Some("N"),
        help: "requests per rolling hour (default 10000)",
    },
    Opt {
        name: "thread-limit",
        value: Some("N"),
        help: "concurrent requests per integration code and endpoint (default 3)",
    },
    Opt {
        name: "retry-after",
        value: Some("S"),
        help: "add `Retry-After: S` to 429 responses",
    },
    Opt {
        name: "reference-time-ms",
        value: Some("MS"),
        help: "epoch ms the generated timestamps are relative to (default: start of today, UTC)",
    },
    Opt {
        name: "no-usage-latency",
        value: None,
        help: "do not slow answers down above 50 % / 75 % of the hourly limit",
    },
    Opt {
        name: "next-url-on-full-last-page",
        value: None,
        help: "give an exactly full last page a nextPageUrl (to an empty page)",
    },
    Opt {
        name: "allow-get-next-after-post",
        value: None,
        help: "accept GET on the nextPageUrl of a POST query",
    },
];

const OPTIONS: Options = Options {
    opts: OPTS,
    env_prefix: "AUTOTASK_SIM",
};

fn usage() -> String {
    OPTIONS.usage(
        "autotask-sim: a local Autotask PSA REST API (v1.0) simulator.\n\n\
         Usage: autotask-sim [--port 9200] [--username U] [--secret S] [--integration-code C]\n\
         \x20                   [--companies 200] [--seed 7] [...]\n\n\
         Zone discovery: GET http://HOST:PORT/atservicesrest/v1.0/zoneInformation?user=U answers the REST\n\
         root http://HOST:PORT/ATServicesRest/. Admin: GET /_sim/info, GET /_sim/stats, POST /_sim/faults,\n\
         POST /_sim/reset-limits, POST /_sim/tickets/{id}/complete, POST /_sim/callout.\n\n\
         Options (each can also be set with the environment variable shown; options win):\n",
        32,
    )
}

fn num<T: std::str::FromStr>(values: &Values, name: &str) -> Result<Option<T>, String> {
    text(values, name)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|_| format!("--{name} expects a number, got {v:?}"))
        })
        .transpose()
}

/// Anything but a yes-word counts as not set.
fn flag(values: &Values, name: &str) -> bool {
    text(values, name)
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "" | "1" | "true" | "yes" | "on"))
}

fn build(values: &Values) -> Result<(AutotaskConfig, SocketAddr), String> {
    let mut c = AutotaskConfig::default();
    if let Some(v) = text(values, "username") {
        c.username = v.clone();
    }
    if let Some(v) = text(values, "secret") {
        c.secret = v.clone();
    }
    if let Some(v) = text(values, "integration-code") {
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
    let host = cli::host(values)?;
    let port: u16 = num(values, "port")?.unwrap_or(9200);
    Ok((c, SocketAddr::new(host, port)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = OPTIONS.collect(&args).and_then(|v| {
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
    cli::init_tracing();
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
