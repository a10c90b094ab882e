//! The local API server: every flow on axum, on `127.0.0.1` only, with
//! `X-Dev-Tenant` / `X-Dev-User` / `X-Dev-Roles` standing in for the JWT
//! claims, and the OpenAPI document at `GET /openapi.json`
//! (see `rmmsync_tests::local_api`).
//!
//! Configured like the functions, from the environment (`TABLE_NAME`,
//! `AWS_ENDPOINT_URL` for moto, `DATTO_RMM_BASE_URL_TEMPLATE`,
//! `AUTOTASK_ZONE_URL`, ...); creates the table when it is missing.
//! `scripts/local-api.sh` sets all of that up.

use shared::app::App;
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: local-api [--port PORT]

Serves rmmsync's HTTP API on http://127.0.0.1:PORT (0 or absent: a free port)
and prints that URL on stdout. Configured from the environment like the
functions (TABLE_NAME is required; AWS_ENDPOINT_URL points at moto).
Requests name their caller with X-Dev-Tenant (and X-Dev-User, X-Dev-Roles).
";

fn port_from_args() -> Result<Option<u16>, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut port = 0;
    let mut i = 0;
    while i < args.len() {
        let value = match args[i].as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => {
                i += 1;
                args.get(i).cloned().ok_or("--port needs a value")?
            }
            a => match a.strip_prefix("--port=") {
                Some(v) => v.to_owned(),
                None => return Err(format!("unexpected argument {a:?}")),
            },
        };
        port = value
            .parse()
            .map_err(|_| format!("--port expects a number, got {value:?}"))?;
        i += 1;
    }
    Ok(Some(port))
}

#[tokio::main]
async fn main() -> ExitCode {
    let port = match port_from_args() {
        Ok(Some(port)) => port,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("local-api: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    shared::telemetry::init();
    let app = match App::from_env().await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("local-api: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = app.store.ensure_table().await {
        eprintln!("local-api: cannot create the table (is moto running, AWS_ENDPOINT_URL set?): {e}");
        return ExitCode::FAILURE;
    }
    let (addr, server) = match rmmsync_tests::local_api::bind(&app, port).await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("local-api: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("local-api listening on http://{addr}");
    let _ = std::io::stdout().flush();
    match server.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-api: {e}");
            ExitCode::FAILURE
        }
    }
}
