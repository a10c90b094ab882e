//! The MCP endpoint with a real MCP client nobody here wrote: the official Python SDK
//! (`mcp` on PyPI, installed into `.venv` by `scripts/bootstrap.sh`) runs
//! `tests/harness/mcp/mcp_client.py` against the local API server over Streamable HTTP. It
//! lists the tools, calls a read tool and a gated tool, and sees the gate hold; then a
//! different person with the approver role approves over HTTP and the operation runs, once.
//!
//! The interpreter is `RMMSYNC_PYTHON`, else the workspace's `.venv/bin/python`.

use rmmsync_tests::{
    aws_config, connect_datto, datto_connector, fresh_store, psa_connector, secrets_manager, test_settings,
};
use serde_json::Value;
use shared::app::App;
use shared::tenant::TenantId;
use simulators::datto::{DattoConfig, DattoSim};
use std::path::PathBuf;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    let path = std::env::var_os("RMMSYNC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "no Python at {} (run ./scripts/bootstrap.sh, or set RMMSYNC_PYTHON to a Python with the `mcp` package)",
        path.display()
    );
    path
}

/// Runs the client script; its last stdout line is JSON.
async fn client(args: Vec<String>) -> Value {
    let script = workspace().join("tests/harness/mcp/mcp_client.py");
    let python = python();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .args(args)
            .output()
            .expect("run the MCP client")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the MCP client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("a JSON line")
}

#[tokio::test]
async fn the_official_python_sdk_sees_the_gate_hold_until_another_person_approves() {
    let sim = DattoSim::start(DattoConfig {
        sites: 6,
        devices: 60,
        open_alerts: Some(10),
        reference_time_ms: Some(1_790_000_000_000),
        ..DattoConfig::default()
    })
    .await
    .expect("start the Datto RMM simulator");
    let aws = aws_config().await;
    let app = App {
        store: fresh_store(&aws).await,
        secrets: secrets_manager(&aws),
        datto: datto_connector(&sim),
        psa: psa_connector("http://127.0.0.1:9/atservicesrest/v1.0/zoneInformation"),
        settings: test_settings(),
        sync: shared::sync::SyncSettings::default(),
        hook_base_url: None,
        operations: shared::operations::OperationSettings::default(),
        import_jobs: Default::default(),
        clock: shared::time::now_millis,
    };
    let tenant = TenantId::parse("acme").unwrap();
    let integration = connect_datto(&app.store, &app.secrets, &app.datto, &app.settings, &tenant, &sim).await;
    let (addr, server) = rmmsync_tests::local_api::bind(&app, 0).await.expect("bind");
    tokio::spawn(server);
    let url = format!("http://{addr}");
    let alert = sim.open_alert_uids()[0].clone();

    let seen = client(vec!["gate".into(), url.clone(), integration.clone(), alert.clone()]).await;
    assert_eq!(seen["approvalStatus"], "pending", "{seen}");
    assert!(seen["sites"].as_u64().unwrap() > 0, "{seen}");
    assert!(
        shared::operations::mcp::PROTOCOL_VERSIONS.contains(&seen["protocolVersion"].as_str().unwrap()),
        "{seen}"
    );
    assert!(!sim.is_alert_resolved(&alert), "the gate held: nothing ran");
    let approval = seen["approvalId"].as_str().unwrap().to_owned();

    // A different person with the approver role approves over HTTP: it runs, once.
    let http = shared::http::client();
    let approve = |user: &'static str| {
        http.post(format!("{url}/operations/approvals/{approval}/approve"))
            .header("x-dev-tenant", "acme")
            .header("x-dev-user", user)
            .header("x-dev-roles", "rmm-approver")
            .send()
    };
    let first = approve("carol@acme.example").await.unwrap();
    assert_eq!(first.status().as_u16(), 200, "{}", first.text().await.unwrap());
    assert!(sim.is_alert_resolved(&alert));
    let resolves = sim.stats().route("resolve");
    let second = approve("dave@acme.example").await.unwrap();
    assert_eq!(second.status().as_u16(), 409);
    assert_eq!(sim.stats().route("resolve"), resolves, "ran once");

    let after = client(vec!["approval".into(), url, approval]).await;
    assert_eq!(after["approvalStatus"], "executed", "{after}");
    assert_eq!(after["decidedBy"], "carol@acme.example");
    sim.shutdown().await;
}
