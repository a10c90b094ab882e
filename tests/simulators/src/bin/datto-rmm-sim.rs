//! `datto-rmm-sim`: runs the Datto RMM API v2 simulator as a standalone server (for the demo
//! and for scripts). See `--help`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use simulators::cli::{self, Opt, Options, Values, text};
use simulators::datto::{DattoConfig, DattoSim, PLATFORMS};

const OPTS: &[Opt] = &[
    Opt {
        name: "host",
        value: Some("ADDR"),
        help: "address to bind (default 127.0.0.1; admin endpoints answer loopback peers only)",
    },
    Opt {
        name: "port",
        value: Some("PORT"),
        help: "port to bind, 0 = any free port (default 9100)",
    },
    Opt {
        name: "platform",
        value: Some("NAME"),
        help: "platform of the account: pinotage, merlot, concord, vidal, zinfandel, syrah (default merlot)",
    },
    Opt {
        name: "api-key",
        value: Some("KEY"),
        help: "API key of the account (default SIMKEY0123456789)",
    },
    Opt {
        name: "api-secret",
        value: Some("SECRET"),
        help: "API secret (default sim-secret-0123456789; prefer the env var to keep it out of `ps`)",
    },
    Opt {
        name: "restricted-api-key",
        value: Some("KEY"),
        help: "key of a user without API access (needs --restricted-api-secret)",
    },
    Opt {
        name: "restricted-api-secret",
        value: Some("SECRET"),
        help: "secret of that user",
    },
    Opt {
        name: "sites",
        value: Some("N"),
        help: "client sites; 3 system sites come on top (default 20)",
    },
    Opt {
        name: "devices",
        value: Some("N"),
        help: "devices in total (default 200)",
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
        help: "page size limit, /system/pagination (default 250)",
    },
    Opt {
        name: "token-ttl-secs",
        value: Some("S"),
        help: "token lifetime (default 360000 = 100 h)",
    },
    Opt {
        name: "read-limit",
        value: Some("N"),
        help: "reads per window (default 600)",
    },
    Opt {
        name: "write-limit",
        value: Some("N"),
        help: "writes per window, all operations (default 600)",
    },
    Opt {
        name: "write-op-limit",
        value: Some("N"),
        help: "writes per window and operation (default 100; device-udf-set 600)",
    },
    Opt {
        name: "window-secs",
        value: Some("S"),
        help: "rolling rate-limit window (default 60)",
    },
    Opt {
        name: "slow-delay-ms",
        value: Some("MS"),
        help: "delay above 90 % of a limit (default 1000)",
    },
    Opt {
        name: "block-after-429s",
        value: Some("N"),
        help: "429s within one window that trigger the 403 IP block, 0 = never (default 30)",
    },
    Opt {
        name: "block-secs",
        value: Some("S"),
        help: "length of the IP block (default 300)",
    },
    Opt {
        name: "retry-after",
        value: Some("S"),
        help: "add `Retry-After: S` to 429 and IP-block 403 responses",
    },
    Opt {
        name: "reference-time-ms",
        value: Some("MS"),
        help: "epoch ms the generated timestamps are relative to (default: start of today, UTC)",
    },
    Opt {
        name: "drop-filters-in-next-page-url",
        value: None,
        help: "leave query filters out of nextPageUrl (a known API quirk)",
    },
    Opt {
        name: "legacy-single-bucket",
        value: None,
        help: "count writes against the read limit (older accounts)",
    },
];

const OPTIONS: Options = Options {
    opts: OPTS,
    env_prefix: "DATTO_SIM",
};

fn usage() -> String {
    OPTIONS.usage(
        "datto-rmm-sim: a local Datto RMM API v2 simulator.\n\n\
         Usage: datto-rmm-sim [--port 9100] [--platform merlot] [--api-key K] [--api-secret S]\n\
         \x20                    [--sites 50] [--devices 1000] [--seed 7] [--latency-ms 0] [--page-max 250] [...]\n\n\
         Every platform is served under a path prefix: http://HOST:PORT/{platform}/auth/oauth/token\n\
         and http://HOST:PORT/{platform}/api/v2/... Admin: GET /_sim/info, GET /_sim/stats,\n\
         POST /_sim/faults, POST /_sim/expire-tokens, POST /_sim/reset-limits.\n\n\
         Options (each can also be set with the environment variable shown; options win):\n",
        36,
    )
}

fn num<T: std::str::FromStr>(values: &Values, name: &str) -> Result<Option<T>, String> {
    match values.get(name) {
        None => Ok(None),
        Some(v) => v
            .text
            .trim()
            .parse::<T>()
            .map(Some)
            .map_err(|_| format!("{} expects a non-negative integer, got {:?}", v.source, v.text)),
    }
}

fn flag(values: &Values, name: &str) -> Result<bool, String> {
    let Some(v) = values.get(name) else {
        return Ok(false);
    };
    match v.text.trim().to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{} expects true or false, got {:?}", v.source, v.text)),
    }
}

fn build(values: &Values) -> Result<(DattoConfig, SocketAddr), String> {
    let mut c = DattoConfig::default();
    if let Some(p) = text(values, "platform") {
        let p = p.trim().to_ascii_lowercase();
        if !PLATFORMS.contains(&p.as_str()) {
            return Err(format!("--platform must be one of {}, got {p:?}", PLATFORMS.join(", ")));
        }
        c.platform = p;
    }
    if let Some(k) = text(values, "api-key") {
        c.api_key = k.clone();
    }
    if let Some(s) = text(values, "api-secret") {
        c.api_secret = s.clone();
    }
    match (
        text(values, "restricted-api-key"),
        text(values, "restricted-api-secret"),
    ) {
        (Some(k), Some(s)) => c.restricted_api_key = Some((k.clone(), s.clone())),
        (None, None) => {}
        _ => return Err("--restricted-api-key and --restricted-api-secret go together".to_string()),
    }
    if c.api_key.is_empty() || c.api_secret.is_empty() {
        return Err("--api-key and --api-secret must not be empty".to_string());
    }
    if let Some(n) = num(values, "sites")? {
        c.sites = n;
    }
    if let Some(n) = num(values, "devices")? {
        c.devices = n;
    }
    if let Some(n) = num(values, "seed")? {
        c.seed = n;
    }
    if let Some(n) = num(values, "latency-ms")? {
        c.latency = Duration::from_millis(n);
    }
    if let Some(n) = num::<usize>(values, "page-max")? {
        if n == 0 {
            return Err("--page-max must be at least 1".to_string());
        }
        c.page_max = n;
    }
    if let Some(n) = num(values, "token-ttl-secs")? {
        c.token_ttl_secs = n;
    }
    if let Some(n) = num(values, "read-limit")? {
        c.read_limit = n;
    }
    if let Some(n) = num(values, "write-limit")? {
        c.write_limit = n;
    }
    if let Some(n) = num(values, "write-op-limit")? {
        c.write_op_limit = n;
    }
    if let Some(n) = num(values, "window-secs")? {
        c.window = Duration::from_secs(n);
    }
    if let Some(n) = num(values, "slow-delay-ms")? {
        c.slow_delay = Duration::from_millis(n);
    }
    if let Some(n) = num(values, "block-after-429s")? {
        c.block_after_429s = n;
    }
    if let Some(n) = num(values, "block-secs")? {
        c.block_duration = Duration::from_secs(n);
    }
    c.retry_after_header = num(values, "retry-after")?;
    c.reference_time_ms = num(values, "reference-time-ms")?;
    c.drop_filters_in_next_page_url = flag(values, "drop-filters-in-next-page-url")?;
    c.legacy_single_bucket = flag(values, "legacy-single-bucket")?;

    let host = cli::host(values)?;
    let port: u16 = num(values, "port")?.unwrap_or(9100);
    Ok((c, SocketAddr::new(host, port)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let values = match OPTIONS.collect(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("datto-rmm-sim: {e}\nTry `datto-rmm-sim --help`.");
            return ExitCode::from(2);
        }
    };
    if values.contains_key("help") {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let (config, addr) = match build(&values) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("datto-rmm-sim: {e}\nTry `datto-rmm-sim --help`.");
            return ExitCode::from(2);
        }
    };

    cli::init_tracing();

    let (sites, devices, platform) = (config.sites, config.devices, config.platform.clone());
    let sim = match DattoSim::start_on(config, addr).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("datto-rmm-sim: cannot start on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        generation_ms = sim.generation_time().as_millis() as u64,
        "data generated"
    );
    println!(
        "datto-rmm-sim listening on {} (platform {platform}, {sites} sites, {devices} devices)",
        sim.base_url()
    );
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
