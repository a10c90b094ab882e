//! `connectwise-sim`: runs the ConnectWise Manage REST 3.0 simulator as a standalone server (for
//! the demo and for scripts). See `--help`.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use simulators::connectwise::{ConnectWiseConfig, ConnectWiseSim};

const USAGE: &str = "\
connectwise-sim: a local ConnectWise Manage (PSA) REST 3.0 simulator

Options (all optional):
  --host ADDR              address to bind (default 127.0.0.1; /_sim/ answers loopback peers only)
  --port PORT              port to bind, 0 = any free port (default 9200)
  --company ID             company id people log in with (default simco)
  --public-key KEY         API member public key (default SimPublicKey01)
  --private-key KEY        API member private key (default SimPrivateKey0123456789;
                           CONNECTWISE_SIM_PRIVATE_KEY keeps it out of `ps`)
  --client-id GUID         accept only this clientId (default: any non-empty clientId)
  --codebase CODEBASE      codebase returned by /login/companyinfo (default v2025_1/)
  --companies N            companies generated (default 30)
  --members N              members generated besides the API member (default 8)
  --tickets N              tickets generated (default 10)
  --seed N                 data seed (default 1)
  --rate-limit N           requests per rolling minute before 429 (default 1000)
  --latency-ms N           delay before every answer (default 0)
  --callback-retry-ms A,B  callback retry delays (default 2000,4000)
  --help                   this text
";

fn parse(args: &[String]) -> Result<(ConnectWiseConfig, SocketAddr), String> {
    let mut c = ConnectWiseConfig::default();
    if let Ok(k) = std::env::var("CONNECTWISE_SIM_PRIVATE_KEY") {
        c.private_key = k;
    }
    let mut host: IpAddr = IpAddr::from([127, 0, 0, 1]);
    let mut port: u16 = 9200;
    let mut it = args.iter();
    fn num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
        v.trim()
            .parse()
            .map_err(|_| format!("--{name} expects a number, got {v:?}"))
    }
    while let Some(arg) = it.next() {
        let name = arg
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {arg:?}"))?;
        let (name, inline) = match name.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (name, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("--{name} needs a value"))
        };
        match name {
            "host" => {
                host = value()?
                    .parse()
                    .map_err(|_| "--host expects an IP address".to_string())?
            }
            "port" => port = num(name, &value()?)?,
            "company" => c.company_id = value()?,
            "public-key" => c.public_key = value()?,
            "private-key" => c.private_key = value()?,
            "client-id" => c.client_id = Some(value()?),
            "codebase" => c.codebase = value()?,
            "companies" => c.companies = num(name, &value()?)?,
            "members" => c.members = num(name, &value()?)?,
            "tickets" => c.tickets = num(name, &value()?)?,
            "seed" => c.seed = num(name, &value()?)?,
            "rate-limit" => c.rate_limit = num(name, &value()?)?,
            "latency-ms" => c.latency = Duration::from_millis(num(name, &value()?)?),
            "callback-retry-ms" => {
                c.callback_retry_delays = value()?
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| num::<u64>(name, s).map(Duration::from_millis))
                    .collect::<Result<_, _>>()?;
            }
            other => return Err(format!("unknown option --{other}")),
        }
    }
    Ok((c, SocketAddr::new(host, port)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let (config, addr) = match parse(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("connectwise-sim: {e}\nTry `connectwise-sim --help`.");
            return ExitCode::from(2);
        }
    };
    simulators::cli::init_tracing();
    let (company, public_key, companies) = (config.company_id.clone(), config.public_key.clone(), config.companies);
    let sim = match ConnectWiseSim::start_on(config, addr).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("connectwise-sim: cannot start on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "connectwise-sim listening on {} (company {company}, public key {public_key}, {companies} companies)",
        sim.base_url()
    );
    println!("  site (CONNECTWISE site): {}", sim.base_url());
    println!("  REST root:               {}", sim.api_url());
    println!("  admin:                   {}/_sim/info", sim.base_url());
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
