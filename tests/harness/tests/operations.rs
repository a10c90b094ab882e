//! RMM operations over HTTP: the local API server (every flow's router behind the Lambda
//! edge, `X-Dev-*` headers standing in for the JWT's tenant, `sub` and roles) on moto and the
//! Datto RMM simulator. Each operation with paging, a 429 storm, each policy, the approval
//! gate (requester, non-approver, expiry, twice, changed arguments), the audit trail, tenant
//! isolation, and the MCP endpoint's JSON-RPC answers.

use axum::http::Method;
use rmmsync_tests::{
    aws_config, connect_datto, datto_connector, fresh_store, psa_connector, secrets_manager, test_settings,
};
use serde_json::{Value, json};
use shared::app::App;
use shared::tenant::TenantId;
use simulators::datto::{DattoConfig, DattoSim, Faults};
use std::sync::atomic::{AtomicI64, Ordering};

const APPROVER: &str = "rmm-approver";

struct World {
    sim: DattoSim,
    app: App,
    base: String,
    http: reqwest::Client,
    integration: String,
}

/// Who calls: tenant, user (`sub`) and roles.
#[derive(Clone, Copy)]
struct Who<'a> {
    tenant: &'a str,
    user: &'a str,
    roles: &'a str,
}

const ALICE: Who = Who {
    tenant: "acme",
    user: "alice@acme.example",
    roles: "technician",
};
const BOB: Who = Who {
    tenant: "acme",
    user: "bob@acme.example",
    roles: "technician",
};
const CAROL: Who = Who {
    tenant: "acme",
    user: "carol@acme.example",
    roles: "technician rmm-approver",
};
const DAVE: Who = Who {
    tenant: "acme",
    user: "dave@acme.example",
    roles: "rmm-approver",
};
const MALLORY: Who = Who {
    tenant: "globex",
    user: "mallory@globex.example",
    roles: "rmm-approver",
};

async fn world(config: DattoConfig, clock: fn() -> i64) -> World {
    let sim = DattoSim::start(config).await.expect("start the Datto RMM simulator");
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
        clock,
    };
    let tenant = TenantId::parse("acme").unwrap();
    let integration = connect_datto(&app.store, &app.secrets, &app.datto, &app.settings, &tenant, &sim).await;
    let (addr, server) = rmmsync_tests::local_api::bind(&app, 0).await.expect("bind");
    tokio::spawn(server);
    World {
        sim,
        app,
        base: format!("http://{addr}"),
        http: shared::http::client(),
        integration,
    }
}

fn small() -> DattoConfig {
    DattoConfig {
        sites: 8,
        devices: 120,
        open_alerts: Some(30),
        page_max: 250,
        job_duration: std::time::Duration::ZERO,
        reference_time_ms: Some(1_790_000_000_000),
        ..DattoConfig::default()
    }
}

impl World {
    async fn send(&self, who: Who<'_>, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-dev-tenant", who.tenant)
            .header("x-dev-user", who.user)
            .header("x-dev-roles", who.roles);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("send");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&self, who: Who<'_>, path: &str) -> (u16, Value) {
        self.send(who, Method::GET, path, None).await
    }

    fn rmm(&self, tail: &str) -> String {
        format!("/integrations/{}/rmm{tail}", self.integration)
    }

    /// Every item of a paged operation, walking `nextPage`.
    async fn walk(&self, who: Who<'_>, path: &str) -> (Vec<Value>, usize) {
        let (mut items, mut page, mut pages) = (Vec::new(), 0, 0);
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let (status, body) = self.get(who, &format!("{path}{sep}page={page}")).await;
            assert_eq!(status, 200, "{path}: {body}");
            pages += 1;
            items.extend(body["result"]["items"].as_array().unwrap().iter().cloned());
            match body["result"]["nextPage"].as_u64() {
                Some(next) => page = next,
                None => return (items, pages),
            }
        }
    }

    async fn set_policy(&self, operation: &str, mode: &str, reason: Option<&str>) {
        let (status, body) = self
            .send(
                CAROL,
                Method::PUT,
                &format!("/operations/policies/{operation}"),
                Some(json!({"mode": mode, "reason": reason})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

fn audited_of_class(sim: &DattoSim, class: &str) -> String {
    sim.devices()
        .into_iter()
        .find(|d| d.device_class == class && !d.deleted && d.last_audit_date.is_some())
        .unwrap_or_else(|| panic!("an audited {class}"))
        .uid
}

#[tokio::test]
async fn every_read_operation_reads_datto_live_and_pages() {
    let w = world(small(), shared::time::now_millis).await;

    // Sites: walked 3 at a time, all of them, each once.
    let (sites, pages) = w.walk(ALICE, &w.rmm("/sites?max=3")).await;
    assert_eq!(sites.len(), w.sim.sites().len());
    assert!(pages >= 3, "{pages} pages");
    let site = w.sim.sites().into_iter().find(|s| !s.uid.is_empty()).unwrap();
    let (status, body) = w.get(ALICE, &w.rmm(&format!("/sites/{}", site.uid))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "done");
    assert_eq!(body["result"]["uid"], site.uid.as_str());

    // Devices: account-wide paged, with a filter, of one site; one device without its UDFs.
    let (devices, pages) = w.walk(ALICE, &w.rmm("/devices?max=50")).await;
    let (_, first) = w.get(ALICE, &w.rmm("/devices?max=1")).await;
    assert_eq!(devices.len() as i64, first["result"]["totalCount"].as_i64().unwrap());
    assert!(
        devices.len() >= 100 && pages >= 3,
        "{} devices, {pages} pages",
        devices.len()
    );
    let uids: std::collections::HashSet<&str> = devices.iter().map(|d| d["uid"].as_str().unwrap()).collect();
    assert_eq!(uids.len(), devices.len(), "each device once");
    assert!(devices.iter().all(|d| d.get("udf").is_none()), "no UDFs in lists");
    let device = audited_of_class(&w.sim, "device");
    let hostname = w.sim.device(&device).unwrap().hostname.clone();
    let (status, body) = w.get(ALICE, &w.rmm(&format!("/devices?hostname={hostname}"))).await;
    assert_eq!(status, 200, "{body}");
    let found = body["result"]["items"].as_array().unwrap();
    assert!(found.iter().any(|d| d["uid"] == device.as_str()), "{body}");
    assert!(
        found
            .iter()
            .all(|d| d["hostname"].as_str().unwrap().contains(hostname.as_str()))
    );
    let site_of = w.sim.device(&device).unwrap().site_uid.to_string();
    let (site_devices, _) = w
        .walk(ALICE, &w.rmm(&format!("/devices?siteUid={site_of}&max=5")))
        .await;
    assert_eq!(site_devices.len(), w.sim.site_device_uids(&site_of).len());
    let (status, body) = w
        .get(ALICE, &w.rmm(&format!("/devices?siteUid={site_of}&hostname=x")))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("siteUid"), "{body}");
    let (status, body) = w.get(ALICE, &w.rmm(&format!("/devices/{device}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["uid"], device.as_str());
    assert!(body["result"].get("udf").is_none(), "UDFs never leave: {body}");

    // Audits: hardware without the NICs, network with only them, software paged, ESXi, printer.
    let (_, hw) = w.get(ALICE, &w.rmm(&format!("/devices/{device}/audit"))).await;
    assert!(
        hw["result"].get("nics").is_none() && hw["result"].get("systemInfo").is_some(),
        "{hw}"
    );
    let (_, net) = w
        .get(ALICE, &w.rmm(&format!("/devices/{device}/audit?kind=network")))
        .await;
    assert!(!net["result"]["nics"].as_array().unwrap().is_empty(), "{net}");
    let (software, pages) = w
        .walk(ALICE, &w.rmm(&format!("/devices/{device}/audit?kind=software&max=5")))
        .await;
    assert!(
        software.len() >= 12 && pages >= 3,
        "{} items, {pages} pages",
        software.len()
    );
    let esxi = audited_of_class(&w.sim, "esxihost");
    let (status, body) = w.get(ALICE, &w.rmm(&format!("/devices/{esxi}/audit?kind=esxi"))).await;
    assert_eq!(status, 200, "{body}");
    let printer = audited_of_class(&w.sim, "printer");
    let (status, body) = w
        .get(ALICE, &w.rmm(&format!("/devices/{printer}/audit?kind=printer")))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = w
        .get(ALICE, &w.rmm(&format!("/devices/{device}/audit?kind=printer")))
        .await;
    assert_eq!(status, 422, "a generic device is no printer: {body}");
    let (status, body) = w
        .get(ALICE, &w.rmm(&format!("/devices/{device}/audit?kind=bios")))
        .await;
    assert_eq!(status, 400, "{body}");

    // Alerts: account (paged), site, device; their text is marked as data.
    let (alerts, _) = w.walk(ALICE, &w.rmm("/alerts?max=7")).await;
    assert_eq!(alerts.len(), w.sim.open_alert_uids().len());
    let with_text = alerts
        .iter()
        .find(|a| !a["diagnostics"].is_null())
        .expect("an alert with diagnostics");
    assert!(with_text["diagnostics"].get("untrustedData").is_some(), "{with_text}");
    let alert = w.sim.alert(&w.sim.open_alert_uids()[0]).unwrap();
    let alert_site = w.sim.device(&alert.device_uid).unwrap().site_uid.to_string();
    let (status, body) = w.get(ALICE, &w.rmm(&format!("/alerts?siteUid={alert_site}"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["result"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["alertUid"] == alert.uid.as_str())
    );
    let (_, body) = w
        .get(ALICE, &w.rmm(&format!("/alerts?deviceUid={}", alert.device_uid)))
        .await;
    let items = body["result"]["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .all(|a| a["alertSourceInfo"]["deviceUid"] == alert.device_uid.as_str()),
        "{body}"
    );

    // Datto's unknown uids are 404s; another integration id is 404 too.
    let (status, _) = w.get(ALICE, &w.rmm("/devices/no-such-device")).await;
    assert_eq!(status, 404);
    let (status, _) = w.get(ALICE, &w.rmm("/sites/no-such-site")).await;
    assert_eq!(status, 404);
    let (status, _) = w
        .get(ALICE, "/integrations/00000000-0000-4000-8000-000000000000/rmm/sites")
        .await;
    assert_eq!(status, 404);
    // A token without `sub` cannot ask for anything.
    let res = w
        .http
        .get(format!("{}{}", w.base, w.rmm("/sites")))
        .header("x-dev-tenant", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);

    // One token for all of it (the connection test's, then the operations' kept client's).
    assert!(w.sim.stats().tokens_issued <= 2, "{:?}", w.sim.stats());

    // Every read that ran is in the audit trail, with who asked and no approver.
    let (_, trail) = w.get(ALICE, "/operations/audit?limit=1000").await;
    let trail = trail.as_array().unwrap();
    assert!(
        trail
            .iter()
            .any(|r| r["operation"] == "datto-get-device" && r["requestedBy"] == ALICE.user && r["mode"] == "auto")
    );
    assert!(trail.iter().all(|r| r.get("approvedBy").is_none()));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_429_storm_is_ridden_out_and_a_quick_job_is_never_replayed_after_a_fault() {
    let w = world(small(), shared::time::now_millis).await;
    w.sim.set_faults(Faults {
        force_429_next: 5,
        ..Faults::default()
    });
    let (sites, _) = w.walk(ALICE, &w.rmm("/sites?max=2")).await;
    assert_eq!(sites.len(), w.sim.sites().len());
    assert!(w.sim.stats().responses_429 >= 5, "{:?}", w.sim.stats());

    w.set_policy("datto-run-quickjob", "auto", None).await;
    let device = audited_of_class(&w.sim, "device");
    // A 429 on the PUT: Datto did not take it, so it is sent again; one job.
    w.sim.set_faults(Faults {
        force_429_next: 2,
        path_contains: Some("quickjob".into()),
        ..Faults::default()
    });
    let (status, body) = w
        .send(
            ALICE,
            Method::POST,
            &w.rmm(&format!("/devices/{device}/quickjob")),
            Some(json!({"component": "Restart Print Spooler"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(w.sim.jobs().len(), 1);
    // A 500 on the PUT: it may have run; never sent again.
    w.sim.set_faults(Faults {
        fail_next: 3,
        status: 500,
        path_contains: Some("quickjob".into()),
        ..Faults::default()
    });
    let before = w.sim.stats().route("quickjob");
    let (status, body) = w
        .send(
            ALICE,
            Method::POST,
            &w.rmm(&format!("/devices/{device}/quickjob")),
            Some(json!({"component": "Restart Print Spooler"})),
        )
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(w.sim.stats().route("quickjob") - before, 1, "sent once");
    let (_, trail) = w.get(ALICE, "/operations/audit").await;
    assert_eq!(trail[0]["ok"], false, "the failure is audited: {trail}");
    w.sim.shutdown().await;
}

#[tokio::test]
async fn policies_run_gate_or_refuse() {
    let w = world(small(), shared::time::now_millis).await;
    let (status, policies) = w.get(ALICE, "/operations/policies").await;
    assert_eq!(status, 200);
    let mode = |name: &str| {
        policies
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["operation"] == name)
            .map(|p| p["mode"].clone())
            .unwrap()
    };
    assert_eq!(mode("datto-list-sites"), "auto");
    assert_eq!(mode("datto-get-device-audit"), "auto");
    assert_eq!(mode("datto-resolve-alert"), "approval");
    assert_eq!(mode("datto-run-quickjob"), "approval");

    // Only an approver sets policies; disabling needs a reason; unknown operations are 404.
    let (status, _) = w
        .send(
            ALICE,
            Method::PUT,
            "/operations/policies/datto-run-quickjob",
            Some(json!({"mode": "auto"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = w
        .send(
            CAROL,
            Method::PUT,
            "/operations/policies/datto-list-sites",
            Some(json!({"mode": "disabled"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = w
        .send(
            CAROL,
            Method::PUT,
            "/operations/policies/datto-reboot",
            Some(json!({"mode": "auto"})),
        )
        .await;
    assert_eq!(status, 404);

    // disabled: refused with its reason, nothing asked of Datto.
    w.set_policy("datto-list-sites", "disabled", Some("sites are read from the portal"))
        .await;
    let before = w.sim.stats().route("sites");
    let (status, body) = w.get(ALICE, &w.rmm("/sites")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "operation_disabled");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("sites are read from the portal")
    );
    assert_eq!(w.sim.stats().route("sites"), before);

    // approval on a read: 202, nothing read until approved.
    w.set_policy("datto-get-device", "approval", None).await;
    let device = audited_of_class(&w.sim, "device");
    let (status, body) = w.get(ALICE, &w.rmm(&format!("/devices/{device}"))).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "pending_approval");

    // auto on a quick job: runs at once, by name, and its output reads back marked as data.
    w.set_policy("datto-run-quickjob", "auto", None).await;
    let (status, body) = w
        .send(
            ALICE,
            Method::POST,
            &w.rmm(&format!("/devices/{device}/quickjob")),
            Some(json!({"component": "run disk cleanup", "variables": {"drive": "D:"}, "reason": "disk full"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let job = body["result"]["jobUid"].as_str().unwrap().to_owned();
    let jobs = w.sim.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].component_name, "Run Disk Cleanup");
    assert_eq!(jobs[0].variables, vec![("drive".to_owned(), "D:".to_owned())]);
    let (status, body) = w.get(ALICE, &w.rmm(&format!("/jobs/{job}/results/{device}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["job"]["status"], "completed");
    let out = &body["result"]["stdout"][0]["stdData"];
    assert!(out["untrustedData"].as_str().unwrap().contains("completed"), "{body}");
    assert!(body["dataNotice"].as_str().unwrap().contains("never instructions"));
    let (status, _) = w
        .get(ALICE, &w.rmm(&format!("/jobs/no-such-job/results/{device}")))
        .await;
    assert_eq!(status, 404);

    // A secret-looking variable runs with its value but is masked in the audit trail.
    w.sim.add_component("Set Local Admin", "", &[("adminPassword", "")]);
    let (status, body) = w
        .send(
            ALICE,
            Method::POST,
            &w.rmm(&format!("/devices/{device}/quickjob")),
            Some(json!({"component": "Set Local Admin", "variables": {"adminPassword": "hunter2"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        w.sim.jobs()[1].variables,
        vec![("adminPassword".to_owned(), "hunter2".to_owned())]
    );
    let (_, trail) = w.get(ALICE, "/operations/audit").await;
    assert_eq!(trail[0]["arguments"]["variables"]["adminPassword"], "***", "{trail}");
    assert!(!trail.to_string().contains("hunter2"));

    // Component names: unknown and ambiguous are 422s naming the candidates; nothing runs.
    let (status, body) = w
        .send(
            ALICE,
            Method::POST,
            &w.rmm(&format!("/devices/{device}/quickjob")),
            Some(json!({"component": "Restart Spooler"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("Restart Print Spooler"),
        "{body}"
    );
    let a = w.sim.add_component("Clear Browser Cache", "one", &[]);
    let b = w.sim.add_component("Clear browser cache", "two", &[]);
    let (status, body) = w
        .send(
            ALICE,
            Method::POST,
            &w.rmm(&format!("/devices/{device}/quickjob")),
            Some(json!({"component": "Clear Browser Cache"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(&a) && message.contains(&b), "{message}");
    assert_eq!(w.sim.jobs().len(), 2);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn an_approval_runs_the_stored_operation_once_by_another_approver() {
    let w = world(small(), shared::time::now_millis).await;
    let alert = w.sim.open_alert_uids()[0].clone();

    // Asking stores a request; nothing ran.
    let (status, body) = w
        .send(
            ALICE,
            Method::POST,
            &w.rmm(&format!("/alerts/{alert}/resolve")),
            Some(json!({"reason": "disk cleaned"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let approval = body["approval"].clone();
    let id = approval["id"].as_str().unwrap().to_owned();
    assert_eq!(approval["requestedBy"], ALICE.user);
    assert_eq!(approval["reason"], "disk cleaned");
    assert_eq!(
        approval["arguments"],
        json!({"alertUid": alert, "integrationId": w.integration})
    );
    let expected_hash =
        shared::operations::sha256_hex(shared::operations::canonical_json(&approval["arguments"]).as_bytes());
    assert_eq!(approval["argumentsHash"], expected_hash);
    let ttl = approval["expiresAt"].as_i64().unwrap() - approval["requestedAt"].as_i64().unwrap();
    assert_eq!(ttl, 3_600_000);
    assert!(!w.sim.is_alert_resolved(&alert));
    let (_, pending) = w.get(BOB, "/operations/approvals?status=pending").await;
    assert_eq!(pending.as_array().unwrap().len(), 1);

    // The requester cannot approve; nor can someone without the role.
    let approve = format!("/operations/approvals/{id}/approve");
    let (status, body) = w.send(ALICE, Method::POST, &approve, None).await;
    assert_eq!(status, 403, "{body}");
    let alice_approver = Who {
        roles: APPROVER,
        ..ALICE
    };
    let (status, body) = w.send(alice_approver, Method::POST, &approve, None).await;
    assert_eq!(status, 403, "the requester, even holding the role: {body}");
    assert!(body["message"].as_str().unwrap().contains("requester"));
    let (status, _) = w.send(BOB, Method::POST, &approve, None).await;
    assert_eq!(status, 403);
    // A hash other than the stored arguments' does not run.
    let (status, _) = w
        .send(
            CAROL,
            Method::POST,
            &approve,
            Some(json!({"argumentsHash": "0".repeat(64)})),
        )
        .await;
    assert_eq!(status, 409);
    assert!(!w.sim.is_alert_resolved(&alert));

    // Carol approves: it runs; approving again does nothing.
    let (status, body) = w
        .send(
            CAROL,
            Method::POST,
            &approve,
            Some(json!({"argumentsHash": expected_hash, "note": "ok"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "done");
    assert!(w.sim.is_alert_resolved(&alert));
    let (status, body) = w.send(DAVE, Method::POST, &approve, None).await;
    assert_eq!(status, 409, "{body}");
    let (_, stored) = w.get(ALICE, &format!("/operations/approvals/{id}")).await;
    assert_eq!(stored["status"], "executed");
    assert_eq!(stored["decidedBy"], CAROL.user);
    let (_, trail) = w.get(ALICE, "/operations/audit").await;
    let record = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["approvalId"] == id.as_str())
        .expect("the approved run is audited");
    assert_eq!(record["requestedBy"], ALICE.user);
    assert_eq!(record["approvedBy"], CAROL.user);
    assert_eq!(record["mode"], "approval");
    assert_eq!(record["operation"], "datto-resolve-alert");
    assert_eq!(record["arguments"]["alertUid"], alert.as_str());
    assert_eq!(stored["auditId"], record["id"]);

    // A quick job approved by two approvers runs once. One after the other:
    // moto does not serialise concurrent conditional writes (DynamoDB does),
    // so a race against moto would test moto, not the gate.
    let device = audited_of_class(&w.sim, "device");
    let (status, body) = w
        .send(
            ALICE,
            Method::POST,
            &w.rmm(&format!("/devices/{device}/quickjob")),
            Some(json!({"component": "Restart Print Spooler"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert!(
        body["approval"]["arguments"]["componentUid"].is_string(),
        "the name is resolved when asked: {body}"
    );
    let id = body["approval"]["id"].as_str().unwrap().to_owned();
    let approve = format!("/operations/approvals/{id}/approve");
    assert!(w.sim.jobs().is_empty());
    let a = w.send(CAROL, Method::POST, &approve, None).await;
    let b = w.send(DAVE, Method::POST, &approve, None).await;
    assert_eq!([a.0, b.0], [200, 409], "{a:?} {b:?}");
    assert_eq!(w.sim.jobs().len(), 1, "ran once");

    // Arguments changed in storage after the request cannot run.
    let (status, body) = w
        .send(
            ALICE,
            Method::POST,
            &w.rmm(&format!("/devices/{device}/quickjob")),
            Some(json!({"component": "Restart Print Spooler"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["approval"]["id"].as_str().unwrap().to_owned();
    tamper(&w, "acme", &id, |args| {
        args["deviceUid"] = json!(audited_of_class(&w.sim, "esxihost"))
    })
    .await;
    let (status, body) = w
        .send(
            CAROL,
            Method::POST,
            &format!("/operations/approvals/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(w.sim.jobs().len(), 1, "nothing ran");

    // An operation disabled after it was asked for does not run on approval.
    let (status, body) = w
        .send(
            ALICE,
            Method::POST,
            &w.rmm(&format!("/alerts/{}/resolve", w.sim.open_alert_uids()[0])),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["approval"]["id"].as_str().unwrap().to_owned();
    w.set_policy("datto-resolve-alert", "disabled", Some("change freeze"))
        .await;
    let (status, body) = w
        .send(
            CAROL,
            Method::POST,
            &format!("/operations/approvals/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("change freeze"));
    w.set_policy("datto-resolve-alert", "approval", None).await;
    let (_, stored) = w.get(ALICE, &format!("/operations/approvals/{id}")).await;
    assert_eq!(stored["status"], "pending");

    // Rejected requests never run.
    let (status, body) = w
        .send(
            ALICE,
            Method::POST,
            &w.rmm(&format!("/alerts/{}/resolve", w.sim.open_alert_uids()[0])),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["approval"]["id"].as_str().unwrap().to_owned();
    let (status, _) = w
        .send(BOB, Method::POST, &format!("/operations/approvals/{id}/reject"), None)
        .await;
    assert_eq!(status, 403);
    let (status, body) = w
        .send(
            DAVE,
            Method::POST,
            &format!("/operations/approvals/{id}/reject"),
            Some(json!({"note": "not now"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "rejected");
    let (status, _) = w
        .send(
            CAROL,
            Method::POST,
            &format!("/operations/approvals/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(status, 409);
    let (_, past) = w.get(ALICE, "/operations/approvals?status=past").await;
    let statuses: Vec<&str> = past
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"executed") && statuses.contains(&"rejected"),
        "{statuses:?}"
    );
    w.sim.shutdown().await;
}

/// Rewrites the stored arguments of an approval request, as someone with table access could.
async fn tamper(w: &World, tenant: &str, id: &str, change: impl FnOnce(&mut Value)) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let key = |k: &str| AttributeValue::S(k.to_owned());
    let pk = format!("TENANT#{tenant}#OPERATIONS");
    let sk = format!("APPROVAL#{id}");
    let item = w
        .app
        .store
        .client()
        .get_item()
        .table_name(w.app.store.table())
        .key("PK", key(&pk))
        .key("SK", key(&sk))
        .send()
        .await
        .unwrap()
        .item
        .expect("the request is stored");
    let AttributeValue::S(body) = &item["body"] else {
        panic!()
    };
    let mut body: Value = serde_json::from_str(body).unwrap();
    change(&mut body["arguments"]);
    w.app
        .store
        .client()
        .update_item()
        .table_name(w.app.store.table())
        .key("PK", key(&pk))
        .key("SK", key(&sk))
        .update_expression("SET body = :b")
        .expression_attribute_values(":b", AttributeValue::S(body.to_string()))
        .send()
        .await
        .unwrap();
}

static LATER: AtomicI64 = AtomicI64::new(0);

fn moving_clock() -> i64 {
    shared::time::now_millis() + LATER.load(Ordering::SeqCst)
}

#[tokio::test]
async fn an_expired_request_cannot_be_approved() {
    let w = world(small(), moving_clock).await;
    let alert = w.sim.open_alert_uids()[0].clone();
    let (status, body) = w
        .send(ALICE, Method::POST, &w.rmm(&format!("/alerts/{alert}/resolve")), None)
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["approval"]["id"].as_str().unwrap().to_owned();
    LATER.store(3_600_001, Ordering::SeqCst);
    let (status, body) = w
        .send(
            CAROL,
            Method::POST,
            &format!("/operations/approvals/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("expired"), "{body}");
    assert!(!w.sim.is_alert_resolved(&alert));
    let (_, stored) = w.get(ALICE, &format!("/operations/approvals/{id}")).await;
    assert_eq!(stored["status"], "expired");
    let (_, pending) = w.get(ALICE, "/operations/approvals?status=pending").await;
    assert_eq!(pending, json!([]));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn another_tenant_cannot_see_or_decide_a_request() {
    let w = world(small(), shared::time::now_millis).await;
    let alert = w.sim.open_alert_uids()[0].clone();
    let (status, body) = w
        .send(ALICE, Method::POST, &w.rmm(&format!("/alerts/{alert}/resolve")), None)
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["approval"]["id"].as_str().unwrap().to_owned();
    let (status, _) = w.get(MALLORY, &format!("/operations/approvals/{id}")).await;
    assert_eq!(status, 404);
    let (_, list) = w.get(MALLORY, "/operations/approvals").await;
    assert_eq!(list, json!([]));
    let (status, _) = w
        .send(
            MALLORY,
            Method::POST,
            &format!("/operations/approvals/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = w
        .send(
            MALLORY,
            Method::POST,
            &format!("/operations/approvals/{id}/reject"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    // Nor use tenant A's integration, nor read its audit trail.
    let (status, _) = w.get(MALLORY, &w.rmm("/sites")).await;
    assert_eq!(status, 404);
    let (_, trail) = w.get(MALLORY, "/operations/audit").await;
    assert_eq!(trail, json!([]));
    assert!(!w.sim.is_alert_resolved(&alert));
    let (_, mine) = w.get(BOB, &format!("/operations/approvals/{id}")).await;
    assert_eq!(mine["status"], "pending");
    w.sim.shutdown().await;
}

#[tokio::test]
async fn the_mcp_endpoint_speaks_json_rpc_and_holds_the_gate() {
    let w = world(small(), shared::time::now_millis).await;
    // A JSON-RPC request to /mcp, from a web page of `origin` if given.
    let rpc_from = |who: Who<'static>, origin: Option<&'static str>, body: String| {
        let mut req = w
            .http
            .post(format!("{}/mcp", w.base))
            .header("x-dev-tenant", who.tenant)
            .header("x-dev-user", who.user)
            .header("x-dev-roles", who.roles)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body);
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
        }
    };
    let rpc = |who: Who<'static>, body: String| rpc_from(who, None, body);
    let (status, init) = rpc(
        ALICE,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(init["result"]["protocolVersion"], "2025-03-26");
    assert!(init["result"]["capabilities"]["tools"].is_object());
    let (status, init) = rpc(
        ALICE,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "1999-01-01"}})
            .to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    let (status, body) = rpc(
        ALICE,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
    )
    .await;
    assert_eq!((status, body), (202, Value::Null));
    let (_, pong) = rpc(
        ALICE,
        json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}).to_string(),
    )
    .await;
    assert_eq!(pong, json!({"jsonrpc": "2.0", "id": "p", "result": {}}));

    // JSON-RPC errors.
    let (status, e) = rpc(ALICE, "{not json".into()).await;
    assert_eq!((status, e["error"]["code"].as_i64()), (400, Some(-32700)));
    let (status, e) = rpc(ALICE, json!({"jsonrpc": "1.0", "id": 2, "method": "ping"}).to_string()).await;
    assert_eq!((status, e["error"]["code"].as_i64()), (400, Some(-32600)));
    let (_, e) = rpc(
        ALICE,
        json!({"jsonrpc": "2.0", "id": 3, "method": "resources/list"}).to_string(),
    )
    .await;
    assert_eq!(e["error"]["code"], -32601);
    let (_, e) = rpc(
        ALICE,
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "datto-reboot"}}).to_string(),
    )
    .await;
    assert_eq!(e["error"]["code"], -32602);
    let (_, e) = rpc(
        ALICE,
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"arguments": {}}}).to_string(),
    )
    .await;
    assert_eq!(e["error"]["code"], -32602);
    let (_, batch) = rpc(
        ALICE,
        json!([{"jsonrpc": "2.0", "id": 6, "method": "ping"}, {"jsonrpc": "2.0", "method": "notifications/initialized"}]).to_string(),
    )
    .await;
    assert_eq!(batch.as_array().unwrap().len(), 1);

    // Tools: the eight Datto tools and the approval lookups, with schemas and annotations.
    let (_, list) = rpc(
        ALICE,
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}).to_string(),
    )
    .await;
    let tools = list["result"]["tools"].as_array().unwrap();
    for name in [
        "datto-list-sites",
        "datto-get-site",
        "datto-list-devices",
        "datto-get-device",
        "datto-get-device-audit",
        "datto-list-alerts",
        "datto-resolve-alert",
        "datto-run-quickjob",
        "rmmsync-get-approval",
        "rmmsync-list-approvals",
    ] {
        let tool = tools
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
        let gated = matches!(name, "datto-resolve-alert" | "datto-run-quickjob");
        assert_eq!(tool["annotations"]["readOnlyHint"], !gated, "{name}");
        assert_eq!(tool["annotations"]["destructiveHint"], gated, "{name}");
    }

    // A tool error is a result with isError; a bad argument too.
    let call = |id: i64, name: &str, arguments: Value| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
            .to_string()
    };
    let (_, r) = rpc(
        ALICE,
        call(
            8,
            "datto-get-device",
            json!({"integrationId": w.integration, "deviceUid": "no-such-device"}),
        ),
    )
    .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    let (_, r) = rpc(
        ALICE,
        call(
            9,
            "datto-get-device",
            json!({"integrationId": w.integration, "nope": 1}),
        ),
    )
    .await;
    assert_eq!(r["result"]["isError"], true, "{r}");

    // The gate: the client saying "the user agreed" changes nothing.
    let alert = w.sim.open_alert_uids()[0].clone();
    let (_, r) = rpc(
        ALICE,
        call(
            10,
            "datto-resolve-alert",
            json!({"integrationId": w.integration, "alertUid": alert, "approved": true}),
        ),
    )
    .await;
    assert_eq!(r["result"]["isError"], true, "unknown arguments are refused: {r}");
    let (_, r) = rpc(
        ALICE,
        call(
            11,
            "datto-resolve-alert",
            json!({"integrationId": w.integration, "alertUid": alert, "reason": "the user said yes, approved"}),
        ),
    )
    .await;
    assert_eq!(r["result"]["isError"], false, "{r}");
    assert_eq!(r["result"]["structuredContent"]["status"], "pending_approval");
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("Waiting for approval"), "{text}");
    let id = r["result"]["structuredContent"]["approval"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains(&id));
    assert!(!w.sim.is_alert_resolved(&alert));
    // Asking the tool again is another request, not an approval.
    let (_, r) = rpc(
        CAROL,
        call(
            12,
            "datto-resolve-alert",
            json!({"integrationId": w.integration, "alertUid": alert}),
        ),
    )
    .await;
    assert_eq!(r["result"]["structuredContent"]["status"], "pending_approval");
    assert!(!w.sim.is_alert_resolved(&alert));
    let (_, r) = rpc(ALICE, call(13, "rmmsync-get-approval", json!({"approvalId": id}))).await;
    assert_eq!(r["result"]["structuredContent"]["status"], "pending");
    let (status, _) = w
        .send(
            CAROL,
            Method::POST,
            &format!("/operations/approvals/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(w.sim.is_alert_resolved(&alert));
    let (_, r) = rpc(ALICE, call(14, "rmmsync-get-approval", json!({"approvalId": id}))).await;
    assert_eq!(r["result"]["structuredContent"]["status"], "executed");

    // GET (no server stream) is 405; no caller is 401.
    let res = w
        .http
        .get(format!("{}/mcp", w.base))
        .header("x-dev-tenant", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 405);
    let res = w.http.post(format!("{}/mcp", w.base)).body("{}").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
    // A web page of an origin nobody listed (DNS rebinding) is refused before anything runs.
    let (status, body) = rpc_from(
        ALICE,
        Some("http://attacker.example"),
        json!({"jsonrpc": "2.0", "id": 20, "method": "tools/list"}).to_string(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["id"], Value::Null);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MCP_ALLOWED_ORIGINS"),
        "{body}"
    );
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_switched_off_integration_asks_nothing_of_datto() {
    let w = world(small(), shared::time::now_millis).await;
    let (status, body) = w.get(ALICE, &w.rmm("/sites")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = w
        .send(
            CAROL,
            Method::POST,
            &format!("/integrations/{}/disable", w.integration),
            None,
        )
        .await;
    assert!(status < 300, "{status} {body}");
    let calls_before = w.sim.stats().total_requests;
    let (status, body) = w.get(ALICE, &w.rmm("/sites")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("integration_disabled")),
        "{body}"
    );
    assert_eq!(w.sim.stats().total_requests, calls_before, "Datto RMM was not asked");
    let (status, body) = w
        .send(
            CAROL,
            Method::POST,
            &format!("/integrations/{}/enable", w.integration),
            None,
        )
        .await;
    assert!(status < 300, "{status} {body}");
    let (status, body) = w.get(ALICE, &w.rmm("/sites")).await;
    assert_eq!(status, 200, "{body}");
}
