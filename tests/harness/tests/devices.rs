//! Device types, type mappings, staged devices, import, assets and
//! auto-sync, end to end: a real sync from the Datto RMM simulator into
//! moto's DynamoDB, then the HTTP routes through API Gateway v2 events.

use rmmsync_tests::Handle;
use rmmsync_tests::{api_request, api_request_raw, aws_config, fresh_store, read_response, secrets_manager};
use serde_json::{Value, json};
use shared::companies::routes::CompaniesApi;
use shared::connections::{IntegrationSettings, Integrations};
use shared::datto::DattoConnector;
use shared::devices::jobs::{ImportJobWorker, JobBudget};
use shared::devices::routes::DevicesApi;
use shared::secrets::SecretsManager;
use shared::site_mapping::routes::SitesApi;
use shared::store::DynamoStore;
use shared::sync::{RunRecord, RunStatus, SyncDeps, SyncSettings, run::RunBudget, run::start_run};
use shared::tenant::TenantId;
use shared::workers::sync_run;
use simulators::datto::{DattoConfig, DattoSim};
use std::collections::{HashMap, HashSet};

const TENANT: &str = "acme-msp";
const OTHER: &str = "other-msp";

/// Devices per (site, kind) the tests add to the simulator.
const PER_KIND: usize = 2;
const KINDS: &[(&str, &str, &str)] = &[
    ("Desktop", "Desktop", "DESK"),
    ("Server", "Server", "SRV"),
    ("Printer", "Printer", "PRN"),
];

struct World {
    store: DynamoStore,
    secrets: SecretsManager,
    datto: DattoConnector,
    settings: IntegrationSettings,
    api: DevicesApi,
    companies: CompaniesApi,
    sites: SitesApi,
    integration: String,
    /// site name -> uid
    site: HashMap<&'static str, String>,
    /// (site name, kind prefix) -> device uids
    devices: HashMap<(&'static str, &'static str), Vec<String>>,
    /// company name -> id
    company: HashMap<&'static str, String>,
    sim: DattoSim,
}

/// Three named sites with known device kinds; Alpha and Beta mapped to companies, Gamma not.
async fn world() -> World {
    let sim = DattoSim::start(DattoConfig {
        sites: 2,
        devices: 10,
        autotask_mapped_ratio: 0.0,
        ..DattoConfig::default()
    })
    .await
    .unwrap();
    let mut site = HashMap::new();
    let mut devices = HashMap::new();
    for name in ["Alpha Dental", "Beta Law", "Gamma Unmapped"] {
        let uid = sim.add_site(name);
        for (category, kind, prefix) in KINDS {
            let uids = sim.add_devices(&uid, PER_KIND);
            for (i, d) in uids.iter().enumerate() {
                let host = format!("{}-{prefix}-{i}", &name[..1]);
                sim.change_device(d, |dev| {
                    dev.category = Some((*category).into());
                    dev.device_type = Some((*kind).into());
                    dev.hostname = host;
                });
            }
            devices.insert((name, *prefix), uids);
        }
        site.insert(name, uid);
    }

    let config = aws_config().await;
    let store = fresh_store(&config).await;
    let datto = rmmsync_tests::datto_connector(&sim);
    let secrets = secrets_manager(&config);
    let settings = rmmsync_tests::test_settings();
    let tenant = TenantId::parse(TENANT).unwrap();
    let integration = rmmsync_tests::connect_datto(&store, &secrets, &datto, &settings, &tenant, &sim).await;

    let mut w = World {
        api: DevicesApi {
            store: store.clone(),
            jobs: JobBudget::default(),
        },
        companies: CompaniesApi {
            cascades: shared::app::company_cascades(&store.clone()),
            store: store.clone(),
        },
        sites: SitesApi {
            store: store.clone(),
            on_mapped: vec![],
        },
        store,
        secrets,
        datto,
        settings,
        integration,
        site,
        devices,
        company: HashMap::new(),
        sim,
    };
    let run = w.sync().await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    for (company, site) in [("Alpha Dental Care", "Alpha Dental"), ("Beta Law LLP", "Beta Law")] {
        let (status, body) = read_response(
            w.companies
                .handle(api_request(
                    "POST",
                    "/companies",
                    Some(TENANT),
                    Some(&json!({ "name": company })),
                ))
                .await,
        );
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        w.map_site(site, &id).await;
        w.company.insert(company, id);
    }
    w
}

impl World {
    async fn sync(&self) -> RunRecord {
        let deps = SyncDeps {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            datto: self.datto.clone(),
            settings: SyncSettings::default(),
        };
        let tenant = TenantId::parse(TENANT).unwrap();
        let run = start_run(&deps, &tenant, &self.integration, shared::runs::Trigger::Schedule)
            .await
            .unwrap();
        sync_run(&deps, &tenant, &self.integration, &run.run_id, &RunBudget::default())
            .await
            .unwrap()
    }

    async fn call(&self, method: &str, path: &str, tenant: &str, body: Option<Value>) -> (u16, Value) {
        read_response(
            self.api
                .handle(api_request(method, path, Some(tenant), body.as_ref()))
                .await,
        )
    }

    async fn map_site(&self, site: &str, company: &str) {
        let path = format!("/integrations/{}/sites/{}/mapping", self.integration, self.site[site]);
        let (status, body) = read_response(
            self.sites
                .handle(api_request(
                    "PUT",
                    &path,
                    Some(TENANT),
                    Some(&json!({ "companyId": company })),
                ))
                .await,
        );
        assert_eq!(status, 200, "{body}");
    }

    async fn unmap_site(&self, site: &str) {
        let path = format!("/integrations/{}/sites/{}/mapping", self.integration, self.site[site]);
        let (status, body) = read_response(
            self.sites
                .handle(api_request("DELETE", &path, Some(TENANT), None))
                .await,
        );
        assert_eq!(status, 204, "{body}");
    }

    async fn map_type(&self, category: &str, maps_to: Option<&str>, auto_sync: bool) -> (u16, Value) {
        self.call(
            "PUT",
            &format!("/integrations/{}/device-types", self.integration),
            TENANT,
            Some(json!({ "category": category, "deviceType": category, "mapsTo": maps_to, "autoSync": auto_sync })),
        )
        .await
    }

    /// Queues an import job: `202` and the job, or the problem.
    async fn post_import(&self, body: Value) -> (u16, Value) {
        self.call(
            "POST",
            &format!("/integrations/{}/import", self.integration),
            TENANT,
            Some(body),
        )
        .await
    }

    /// Runs a queued job through the worker to its end; returns the job as the
    /// API shows it, with every per-device result (all pages) as `results`.
    async fn finish_job(&self, job_id: &str) -> Value {
        let worker = ImportJobWorker {
            store: self.store.clone(),
            budget: JobBudget::default(),
        };
        rmmsync_tests::drive_import_job(&worker, TENANT, &self.integration, job_id, 10).await;
        let path = format!("/integrations/{}/import-jobs/{job_id}", self.integration);
        let (status, mut job) = self.call("GET", &path, TENANT, None).await;
        assert_eq!(status, 200, "{job}");
        job["results"] = Value::Array(self.all_pages(&format!("{path}/results"), "results", TENANT).await);
        job
    }

    /// An import as a user does it: queued (`202`), then followed to its end.
    /// The answer is the finished job with its counts and results, or the problem.
    async fn import(&self, body: Value) -> (u16, Value) {
        let (status, job) = self.post_import(body).await;
        if status != 202 {
            return (status, job);
        }
        assert_eq!(job["status"], "queued", "{job}");
        let done = self.finish_job(job["jobId"].as_str().unwrap()).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        (status, done)
    }

    fn uids(&self, site: &'static str, kind: &'static str) -> Vec<String> {
        self.devices[&(site, kind)].clone()
    }

    /// Every page of a list, following `nextCursor`.
    async fn all_pages(&self, path: &str, key: &str, tenant: &str) -> Vec<Value> {
        let mut rows = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut next = path.to_owned();
        loop {
            let (status, page) = self.call("GET", &next, tenant, None).await;
            assert_eq!(status, 200, "{next}: {page}");
            rows.extend(page[key].as_array().unwrap().iter().cloned());
            match page["nextCursor"].as_str() {
                Some(c) => next = format!("{path}{sep}cursor={c}"),
                None => return rows,
            }
        }
    }

    async fn staged(&self, query: &str) -> Vec<Value> {
        let path = format!("/integrations/{}/staged-devices{query}", self.integration);
        self.all_pages(&path, "devices", TENANT).await
    }

    async fn assets(&self, path: &str) -> Vec<Value> {
        self.all_pages(path, "assets", TENANT).await
    }
}

fn result_of<'v>(report: &'v Value, uid: &str) -> &'v Value {
    let mut listed = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["deviceUid"] == uid);
    let first = listed.next();
    assert!(listed.next().is_none(), "{uid} listed twice in {report}");
    let _ = first;
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["deviceUid"] == uid)
        .unwrap_or_else(|| panic!("{uid} in {report}"))
}

#[tokio::test]
async fn portal_device_types_defaults_custom_and_deletion_rules() {
    let w = world().await;
    let (status, body) = w.call("GET", "/device-types", TENANT, None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["deviceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Desktop",
            "Laptop",
            "Server",
            "Virtual Machine",
            "Network Device",
            "Printer",
            "Mobile",
            "Other"
        ]
    );

    let (status, tv) = w
        .call("POST", "/device-types", TENANT, Some(json!({ "name": " Smart  TV " })))
        .await;
    assert_eq!(status, 201, "{tv}");
    assert_eq!(tv["name"], "Smart TV");
    assert_eq!(tv["builtin"], false);
    let tv_id = tv["id"].as_str().unwrap().to_owned();
    for (bad, code, status) in [
        (json!({ "name": "smart tv" }), "device_type_exists", 409),
        (json!({ "name": "SERVER" }), "device_type_exists", 409),
        (json!({ "name": "  " }), "invalid_request", 400),
        (json!({ "name": "x".repeat(101) }), "invalid_request", 400),
        (json!({ "name": "Kiosk", "colour": "red" }), "invalid_request", 400),
        (json!({}), "invalid_request", 400),
    ] {
        let (s, body) = w.call("POST", "/device-types", TENANT, Some(bad.clone())).await;
        assert_eq!((s, body["code"].as_str()), (status, Some(code)), "{bad} -> {body}");
    }
    let (s, body) = read_response(
        w.api
            .handle(api_request_raw("POST", "/device-types", TENANT, "{nope"))
            .await,
    );
    assert_eq!((s, body["code"].as_str()), (400, Some("invalid_request")));

    // The name guard item decides between two creations of one name. Their
    // race cannot be run here: moto does not serialise concurrent
    // transactions (both commit); DynamoDB cancels one, and the store turns
    // that into this same 409 (a TransactionConflict is retried first).
    let (s, kiosk) = w
        .call("POST", "/device-types", TENANT, Some(json!({ "name": "Kiosk" })))
        .await;
    assert_eq!(s, 201, "{kiosk}");
    let (s, taken) = w
        .call("POST", "/device-types", TENANT, Some(json!({ "name": "KIOSK" })))
        .await;
    assert_eq!(
        (s, taken["code"].as_str()),
        (409, Some("device_type_exists")),
        "{taken}"
    );
    let (s, _) = w
        .call(
            "DELETE",
            &format!("/device-types/{}", kiosk["id"].as_str().unwrap()),
            TENANT,
            None,
        )
        .await;
    assert_eq!(s, 204);
    // Its name is free again once it is deleted.
    let (s, again) = w
        .call("POST", "/device-types", TENANT, Some(json!({ "name": "kiosk" })))
        .await;
    assert_eq!(s, 201, "{again}");
    let (s, _) = w
        .call(
            "DELETE",
            &format!("/device-types/{}", again["id"].as_str().unwrap()),
            TENANT,
            None,
        )
        .await;
    assert_eq!(s, 204);

    let (_, body) = w.call("GET", "/device-types", TENANT, None).await;
    assert_eq!(body["deviceTypes"].as_array().unwrap().len(), 9);
    // Another tenant has the defaults only.
    let (_, other) = w.call("GET", "/device-types", OTHER, None).await;
    assert_eq!(other["deviceTypes"].as_array().unwrap().len(), 8);

    let (s, body) = w.call("DELETE", "/device-types/desktop", TENANT, None).await;
    assert_eq!((s, body["code"].as_str()), (409, Some("device_type_builtin")));
    let (s, _) = w.map_type("Printer", Some(&tv_id), false).await;
    assert_eq!(s, 200);
    let (s, body) = w.call("DELETE", &format!("/device-types/{tv_id}"), TENANT, None).await;
    assert_eq!((s, body["code"].as_str()), (409, Some("device_type_in_use")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("Printer/Printer"), "{body}");
    // Another tenant can neither see nor delete it.
    let (s, _) = w.call("DELETE", &format!("/device-types/{tv_id}"), OTHER, None).await;
    assert_eq!(s, 404);
    w.map_type("Printer", None, false).await;
    let (s, _) = w.call("DELETE", &format!("/device-types/{tv_id}"), TENANT, None).await;
    assert_eq!(s, 204);
    let (s, _) = w.call("DELETE", &format!("/device-types/{tv_id}"), TENANT, None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn type_mappings_counts_and_the_auto_sync_rule() {
    let w = world().await;
    let path = format!("/integrations/{}/device-types", w.integration);
    let (status, table) = w.call("GET", &path, TENANT, None).await;
    assert_eq!(status, 200, "{table}");
    let row = |t: &Value, c: &str| {
        t["deviceTypes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["category"] == c && r["deviceType"] == c)
            .cloned()
            .unwrap_or_else(|| panic!("{c} in {t}"))
    };
    let server = row(&table, "Server");
    assert!(
        server["deviceCount"].as_i64().unwrap() >= (3 * PER_KIND) as i64,
        "{server}"
    );
    assert_eq!(server["mapsTo"], Value::Null);
    assert_eq!(server["autoSync"], false);

    let (s, body) = w.map_type("Server", None, true).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("auto_sync_requires_mapping")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("mapsTo"), "{body}");
    let (s, body) = w.map_type("Server", Some("no-such-type"), false).await;
    assert_eq!((s, body["code"].as_str()), (404, Some("not_found")), "{body}");
    let (s, body) = w.map_type("Toaster", Some("other"), false).await;
    assert_eq!(s, 404, "{body}");
    let (s, body) = w
        .call(
            "PUT",
            &path,
            TENANT,
            Some(json!({ "category": 1, "mapsTo": 2, "autoSync": "y", "extra": true })),
        )
        .await;
    assert_eq!((s, body["code"].as_str()), (400, Some("invalid_request")));
    let message = body["message"].as_str().unwrap();
    for needle in ["`extra`", "`category`", "`deviceType`", "`mapsTo`", "`autoSync`"] {
        assert!(message.contains(needle), "{message} lacks {needle}");
    }

    let (s, body) = w.map_type("Server", Some("server"), true).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["mapsTo"], json!({ "id": "server", "name": "Server" }));
    let (_, table) = w.call("GET", &path, TENANT, None).await;
    let server = row(&table, "Server");
    assert_eq!(
        (server["mapsTo"]["id"].as_str(), server["autoSync"].as_bool()),
        (Some("server"), Some(true))
    );

    // A sync rewrites DEVTYPE# counts but never the mapping.
    w.sync().await;
    let (_, table) = w.call("GET", &path, TENANT, None).await;
    assert_eq!(row(&table, "Server")["mapsTo"]["id"], "server");

    // Unknown and foreign integrations: 404.
    let (s, _) = w.call("GET", &path, OTHER, None).await;
    assert_eq!(s, 404);
    let (s, _) = w
        .call(
            "GET",
            &format!("/integrations/{}/device-types", uuid::Uuid::new_v4()),
            TENANT,
            None,
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn staged_devices_come_from_mapped_sites_with_filters_and_paging() {
    let w = world().await;
    let all = w.staged("").await;
    let alpha = &w.site["Alpha Dental"];
    let beta = &w.site["Beta Law"];
    assert_eq!(all.len(), 2 * KINDS.len() * PER_KIND, "{all:?}");
    for d in &all {
        let site = d["site"]["uid"].as_str().unwrap();
        assert!(site == alpha || site == beta, "{d}");
        assert_eq!(d["status"], "staged");
        assert!(d["hostname"].is_string() && d["category"].is_string() && d["deviceType"].is_string());
        let company = d["company"]["name"].as_str().unwrap();
        assert_eq!(
            company,
            if site == alpha {
                "Alpha Dental Care"
            } else {
                "Beta Law LLP"
            }
        );
    }
    // Paging: every device once, in pages of at most 4.
    let path = format!("/integrations/{}/staged-devices?limit=4", w.integration);
    let (_, first) = w.call("GET", &path, TENANT, None).await;
    assert_eq!(first["devices"].as_array().unwrap().len(), 4);
    assert!(first["nextCursor"].is_string());
    let paged = w.staged("?limit=4").await;
    let uids: HashSet<_> = paged.iter().map(|d| d["deviceUid"].as_str().unwrap()).collect();
    assert_eq!((paged.len(), uids.len()), (all.len(), all.len()));

    let by_site = w.staged(&format!("?siteUid={alpha}")).await;
    assert_eq!(by_site.len(), KINDS.len() * PER_KIND);
    let by_company = w.staged(&format!("?companyId={}", w.company["Beta Law LLP"])).await;
    assert!(by_company.iter().all(|d| d["site"]["uid"] == beta.as_str()));
    assert_eq!(by_company.len(), KINDS.len() * PER_KIND);
    let servers = w.staged("?category=Server&deviceType=Server").await;
    assert_eq!(servers.len(), 2 * PER_KIND);
    let search = w.staged("?search=a-srv").await;
    assert_eq!(search.len(), PER_KIND, "{search:?}");
    assert!(w.staged("?status=imported").await.is_empty());

    for bad in ["?status=bogus", "?limit=0", "?limit=501", "?cursor=***"] {
        let (s, body) = w
            .call(
                "GET",
                &format!("/integrations/{}/staged-devices{bad}", w.integration),
                TENANT,
                None,
            )
            .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn import_selected_and_by_type_with_per_device_failures() {
    let w = world().await;
    assert_eq!(w.map_type("Desktop", Some("desktop"), false).await.0, 200);
    let alpha_desk = w.uids("Alpha Dental", "DESK");
    let beta_desk = w.uids("Beta Law", "DESK");
    let alpha_srv = w.uids("Alpha Dental", "SRV");
    let gamma_desk = w.uids("Gamma Unmapped", "DESK");
    let (s, report) = w
        .import(json!({ "deviceUids": [alpha_desk[0], beta_desk[0], alpha_srv[0], gamma_desk[0], "no-such-device"] }))
        .await;
    assert_eq!(s, 202, "{report}");
    assert_eq!(report["percent"], 100, "{report}");
    let counts = &report["counts"];
    assert_eq!(
        (
            counts["requested"].as_u64(),
            counts["imported"].as_u64(),
            counts["failed"].as_u64()
        ),
        (Some(5), Some(2), Some(3))
    );
    assert_eq!(result_of(&report, &alpha_desk[0])["status"], "imported");
    assert!(result_of(&report, &alpha_desk[0])["assetId"].is_string());
    assert_eq!(result_of(&report, &alpha_srv[0])["reason"], "type_not_mapped");
    assert_eq!(result_of(&report, &gamma_desk[0])["reason"], "site_not_mapped");
    assert_eq!(result_of(&report, "no-such-device")["reason"], "unknown_device");
    assert!(
        result_of(&report, "no-such-device")["message"]
            .as_str()
            .unwrap()
            .contains("unknown device")
    );

    // Statuses on the staged list.
    let staged = w.staged("").await;
    let status = |uid: &str| staged.iter().find(|d| d["deviceUid"] == uid).unwrap().clone();
    assert_eq!(status(&alpha_desk[0])["status"], "imported");
    assert_eq!(status(&alpha_srv[0])["status"], "failed");
    assert_eq!(status(&alpha_srv[0])["reason"], "type_not_mapped");
    assert_eq!(w.staged("?status=failed").await.len(), 1);

    // The site loses its mapping after the type was mapped: that device fails, the rest go on.
    w.unmap_site("Beta Law").await;
    let (_, report) = w.import(json!({ "deviceUids": [beta_desk[1], alpha_desk[1]] })).await;
    assert_eq!(result_of(&report, &beta_desk[1])["reason"], "site_not_mapped");
    assert_eq!(result_of(&report, &alpha_desk[1])["status"], "imported");

    // A whole type: every staged Desktop (Alpha only now).
    let (s, report) = w
        .import(json!({ "category": "Desktop", "deviceType": "Desktop" }))
        .await;
    assert_eq!(s, 202, "{report}");
    assert_eq!(
        (
            report["counts"]["imported"].as_u64(),
            report["counts"]["failed"].as_u64()
        ),
        (Some(PER_KIND as u64), Some(0))
    );
    assert_eq!(report["results"].as_array().unwrap().len(), PER_KIND, "{report}");
    let (s, body) = w
        .import(json!({ "category": "Printer", "deviceType": "Printer" }))
        .await;
    assert_eq!((s, body["code"].as_str()), (422, Some("type_not_mapped")), "{body}");

    // Assets: hostname, OS, type and company; one per company route.
    let assets = w.assets("/assets").await;
    assert_eq!(assets.len(), 3, "{assets:?}"); // alpha desk 0, 1 and beta desk 0
    let a = assets
        .iter()
        .find(|a| a["source"]["deviceUid"] == alpha_desk[0].as_str())
        .unwrap();
    let device = w.sim.device(&alpha_desk[0]).unwrap();
    assert_eq!(a["hostname"], device.hostname.as_str());
    assert_eq!(a["deviceType"], json!({ "id": "desktop", "name": "Desktop" }));
    assert_eq!(a["companyId"], w.company["Alpha Dental Care"].as_str());
    assert_eq!(a["source"]["linked"], true);
    assert_eq!(a["manufacturer"].is_string(), device.manufacturer.is_some(), "{a}");
    assert!(a.get("serialNumber").is_some() && a.get("model").is_some() && a.get("operatingSystem").is_some());
    let (s, one) = w
        .call("GET", &format!("/assets/{}", a["id"].as_str().unwrap()), TENANT, None)
        .await;
    assert_eq!((s, &one["id"]), (200, &a["id"]));
    let alpha_assets = w
        .assets(&format!("/companies/{}/assets", w.company["Alpha Dental Care"]))
        .await;
    assert_eq!(alpha_assets.len(), 2);
    let beta_assets = w
        .assets(&format!("/companies/{}/assets?limit=1", w.company["Beta Law LLP"]))
        .await;
    assert_eq!(beta_assets.len(), 1);
    let (s, _) = w.call("GET", "/companies/nope/assets", TENANT, None).await;
    assert_eq!(s, 404);

    // Bad bodies name their problems.
    for bad in [
        json!({}),
        json!({ "deviceUids": [] }),
        json!({ "deviceUids": "x" }),
        json!({ "category": "Desktop" }),
        json!({ "deviceUids": ["a"], "zap": 1 }),
    ] {
        let (s, body) = w.import(bad.clone()).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn removed_devices_show_as_removed_and_fail_import() {
    let w = world().await;
    w.map_type("Server", Some("server"), false).await;
    let gone = w.uids("Alpha Dental", "SRV")[0].clone();
    w.sim.purge_device(&gone);
    w.sync().await;
    let removed = w.staged("?status=removed").await;
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["deviceUid"], gone.as_str());
    let (_, report) = w.import(json!({ "deviceUids": [gone] })).await;
    assert_eq!(result_of(&report, &gone)["reason"], "device_removed");
    // A type import leaves removed devices out.
    let (_, report) = w.import(json!({ "category": "Server", "deviceType": "Server" })).await;
    assert_eq!(
        (
            report["counts"]["imported"].as_u64(),
            report["counts"]["failed"].as_u64()
        ),
        (Some(2 * PER_KIND as u64 - 1), Some(0))
    );
}

#[tokio::test]
async fn importing_again_updates_and_never_duplicates() {
    let w = world().await;
    w.map_type("Printer", Some("printer"), false).await;
    let type_import = json!({ "category": "Printer", "deviceType": "Printer" });
    let (_, first) = w.import(type_import.clone()).await;
    assert_eq!(first["counts"]["imported"].as_u64(), Some(2 * PER_KIND as u64));
    let before = w.assets("/assets").await;
    let uid = w.uids("Beta Law", "PRN")[0].clone();
    w.sim.change_device(&uid, |d| d.hostname = "B-PRN-RENAMED".into());
    w.sync().await;
    // One import job at a time per integration: of two at once, one is queued
    // and the other refused, naming the job it waits for.
    let (a, b) = tokio::join!(
        w.post_import(type_import.clone()),
        w.post_import(json!({ "deviceUids": [uid] }))
    );
    let (queued, refused) = if a.0 == 202 { (a, b) } else { (b, a) };
    assert_eq!((queued.0, refused.0), (202, 409), "{} / {}", queued.1, refused.1);
    assert_eq!(refused.1["code"], "import_in_progress");
    let job_id = queued.1["jobId"].as_str().unwrap();
    assert!(refused.1["message"].as_str().unwrap().contains(job_id), "{}", refused.1);
    w.finish_job(job_id).await;
    // Once it finished, importing again updates and never duplicates.
    let (s, again) = w.import(json!({ "deviceUids": [uid] })).await;
    assert_eq!((s, again["counts"]["imported"].as_u64()), (202, Some(1)), "{again}");
    let after = w.assets("/assets").await;
    assert_eq!(after.len(), before.len());
    let renamed = after.iter().find(|x| x["source"]["deviceUid"] == uid.as_str()).unwrap();
    let original = before
        .iter()
        .find(|x| x["source"]["deviceUid"] == uid.as_str())
        .unwrap();
    assert_eq!(renamed["hostname"], "B-PRN-RENAMED");
    assert_eq!(renamed["id"], original["id"]);
    assert_eq!(renamed["createdAt"], original["createdAt"]);
}

#[tokio::test]
async fn the_scheduled_sync_imports_auto_sync_types() {
    let w = world().await;
    let (s, _) = w.map_type("Desktop", Some("desktop"), true).await;
    assert_eq!(s, 200);
    let run = w.sync().await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    // Every Desktop of the mapped sites, none of Gamma's or of other types.
    assert_eq!(run.counts.devices_imported, 2 * PER_KIND as u64, "{run:?}");
    // Nothing new, nothing changed: nothing imported, no asset rewritten.
    let again = w.sync().await;
    assert_eq!(again.counts.devices_imported, 0, "{again:?}");
    // New devices of the type are imported by the next run.
    let fresh = w.sim.add_devices(&w.site["Alpha Dental"], 2);
    for d in &fresh {
        w.sim.change_device(d, |dev| {
            dev.category = Some("Desktop".into());
            dev.device_type = Some("Desktop".into());
        });
    }
    let third = w.sync().await;
    assert_eq!(third.counts.devices_imported, 2, "{third:?}");
    let assets = w.assets("/assets").await;
    assert_eq!(assets.len(), 2 * PER_KIND + 2);
    for d in &fresh {
        assert!(assets.iter().any(|a| a["source"]["deviceUid"] == d.as_str()));
    }
    assert!(assets.iter().all(|a| a["deviceType"]["id"] == "desktop"));
    // A device that changed in Datto updates its asset on the next run; its type's other devices cost nothing.
    let renamed = w.uids("Beta Law", "DESK")[0].clone();
    w.sim.change_device(&renamed, |d| d.hostname = "B-DESK-NEW".into());
    let fourth = w.sync().await;
    assert_eq!(fourth.counts.devices_imported, 1, "{fourth:?}");
    let assets = w.assets("/assets").await;
    assert_eq!(assets.len(), 2 * PER_KIND + 2);
    let asset = assets
        .iter()
        .find(|a| a["source"]["deviceUid"] == renamed.as_str())
        .unwrap();
    assert_eq!(asset["hostname"], "B-DESK-NEW");
}

#[tokio::test]
async fn the_auto_import_reads_only_the_devices_a_sync_changed() {
    let w = world().await;
    let (s, _) = w.map_type("Desktop", Some("desktop"), true).await;
    assert_eq!(s, 200);
    // The mappings changed since the last pass: every device is looked at once.
    let full = w.sync().await;
    assert_eq!(full.counts.devices_imported, 2 * PER_KIND as u64, "{full:?}");
    // Nothing changed: the pass reads no device and no import state, writes nothing.
    let quiet = w.sync().await;
    assert_eq!(
        (quiet.counts.devices_imported, quiet.counts.writes),
        (0, 0),
        "{quiet:?}"
    );
    let devices = w.sim.device_uids().len() as u64;
    assert!(
        quiet.counts.reads + devices <= full.counts.reads,
        "quiet {} reads, full {} reads, {devices} devices",
        quiet.counts.reads,
        full.counts.reads
    );
    // One device changed: the sync reads it back, the pass reads it, its
    // import state and the change list, and updates its asset.
    let renamed = w.uids("Alpha Dental", "DESK")[0].clone();
    w.sim.change_device(&renamed, |d| d.hostname = "A-DESK-NEW".into());
    let one = w.sync().await;
    assert_eq!(one.counts.devices_imported, 1, "{one:?}");
    assert!(
        one.counts.reads <= quiet.counts.reads + 4,
        "one changed device: {} reads against {} for none",
        one.counts.reads,
        quiet.counts.reads
    );
    let assets = w.assets("/assets").await;
    let asset = assets
        .iter()
        .find(|a| a["source"]["deviceUid"] == renamed.as_str())
        .unwrap();
    assert_eq!(asset["hostname"], "A-DESK-NEW");
    // The change was dealt with: the next pass does not see it again.
    let settled = w.sync().await;
    assert_eq!((settled.counts.devices_imported, settled.counts.writes), (0, 0));
    // A site mapping changed: the next pass looks at every device again.
    let alpha = w.company["Alpha Dental Care"].clone();
    w.map_site("Gamma Unmapped", &alpha).await;
    let remapped = w.sync().await;
    assert_eq!(remapped.counts.devices_imported, PER_KIND as u64, "{remapped:?}");
    assert!(remapped.counts.reads >= quiet.counts.reads + devices);
}

#[tokio::test]
async fn deleting_the_integration_keeps_assets_unlinked() {
    let w = world().await;
    w.map_type("Desktop", Some("desktop"), false).await;
    w.import(json!({ "category": "Desktop", "deviceType": "Desktop" }))
        .await;
    assert_eq!(w.assets("/assets").await.len(), 2 * PER_KIND);
    Integrations {
        store: &w.store,
        secrets: &w.secrets,
        datto: &w.datto,
        settings: &w.settings,
    }
    .delete(
        &TenantId::parse(TENANT).unwrap(),
        &w.integration,
        &shared::app::integration_cascades(&w.store),
    )
    .await
    .unwrap();
    let assets = w.assets("/assets").await;
    assert_eq!(assets.len(), 2 * PER_KIND);
    assert!(assets.iter().all(|a| a["source"]["linked"] == false), "{assets:?}");
    let company_assets = w
        .assets(&format!("/companies/{}/assets", w.company["Alpha Dental Care"]))
        .await;
    assert_eq!(company_assets.len(), PER_KIND);
    // Mappings and staged devices went with the integration.
    let (s, _) = w
        .call(
            "GET",
            &format!("/integrations/{}/device-types", w.integration),
            TENANT,
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = w
        .call(
            "GET",
            &format!("/integrations/{}/staged-devices", w.integration),
            TENANT,
            None,
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn another_tenant_sees_none_of_it() {
    let w = world().await;
    w.map_type("Desktop", Some("desktop"), false).await;
    let (_, report) = w
        .import(json!({ "category": "Desktop", "deviceType": "Desktop" }))
        .await;
    let asset_id = report["results"][0]["assetId"].as_str().unwrap().to_owned();
    let (_, assets) = w.call("GET", "/assets", OTHER, None).await;
    assert_eq!(assets["assets"], json!([]));
    for (method, path, body) in [
        ("GET", format!("/assets/{asset_id}"), None),
        (
            "GET",
            format!("/companies/{}/assets", w.company["Alpha Dental Care"]),
            None,
        ),
        ("GET", format!("/integrations/{}/staged-devices", w.integration), None),
        ("GET", format!("/integrations/{}/device-types", w.integration), None),
        (
            "POST",
            format!("/integrations/{}/import", w.integration),
            Some(json!({ "category": "Desktop", "deviceType": "Desktop" })),
        ),
        (
            "PUT",
            format!("/integrations/{}/device-types", w.integration),
            Some(json!({ "category": "Desktop", "deviceType": "Desktop", "mapsTo": "desktop" })),
        ),
    ] {
        let (s, body) = w.call(method, &path, OTHER, body).await;
        assert_eq!(s, 404, "{method} {path}: {body}");
    }
    // No token tenant: 401.
    let (s, _) = read_response(w.api.handle(api_request("GET", "/assets", None, None)).await);
    assert_eq!(s, 401);
}

// ---- Defects found in review, each reproduced first ----

impl World {
    async fn sync_with(&self, budget: &RunBudget) -> RunRecord {
        let deps = SyncDeps {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            datto: self.datto.clone(),
            settings: SyncSettings::default(),
        };
        let tenant = TenantId::parse(TENANT).unwrap();
        let run = start_run(&deps, &tenant, &self.integration, shared::runs::Trigger::Schedule)
            .await
            .unwrap();
        sync_run(&deps, &tenant, &self.integration, &run.run_id, budget)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn re_importing_an_asset_whose_import_state_is_gone_keeps_its_created_at() {
    let w = world().await;
    w.map_type("Printer", Some("printer"), false).await;
    let uid = w.uids("Alpha Dental", "PRN")[0].clone();
    let (_, first) = w.import(json!({ "deviceUids": [uid] })).await;
    assert_eq!(first["counts"]["imported"], 1, "{first}");
    let before = w.assets("/assets").await;
    let original = before
        .iter()
        .find(|a| a["source"]["deviceUid"] == uid.as_str())
        .unwrap()
        .clone();
    // The device's import state is lost (a failed write, an old item without it, a restore).
    let tenant = TenantId::parse(TENANT).unwrap();
    w.store
        .client()
        .delete_item()
        .table_name(w.store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(shared::store::keys::device_pk(&tenant, &w.integration, &uid)),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("IMPORT#{uid}")),
        )
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
        .send()
        .await
        .unwrap()
        .attributes
        .expect("the import state was there to lose");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    w.sim.change_device(&uid, |d| d.hostname = "A-PRN-NEW".into());
    w.sync().await;
    let (_, again) = w.import(json!({ "deviceUids": [uid] })).await;
    assert_eq!(again["counts"]["imported"], 1, "{again}");
    let after = w.assets("/assets").await;
    let asset = after.iter().find(|a| a["source"]["deviceUid"] == uid.as_str()).unwrap();
    assert_eq!(asset["hostname"], "A-PRN-NEW");
    assert_eq!(asset["createdAt"], original["createdAt"], "{asset}");
    assert_ne!(asset["updatedAt"], original["updatedAt"]);
}

#[tokio::test]
async fn an_oversized_cursor_is_a_bad_request() {
    let w = world().await;
    use base64::Engine;
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("z".repeat(4_000));
    for path in [
        format!("/assets?cursor={cursor}"),
        format!("/integrations/{}/staged-devices?cursor={cursor}", w.integration),
    ] {
        let (status, body) = w.call("GET", &path, TENANT, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn the_auto_import_after_a_sync_keeps_to_its_time_budget() {
    let w = world().await;
    for category in ["Desktop", "Server", "Printer"] {
        let (s, _) = w.map_type(category, Some(&category.to_lowercase()), true).await;
        assert_eq!(s, 200);
    }
    let total = 2 * KINDS.len() * PER_KIND;
    // No time at all: one page (of 4 devices) still makes progress, the rest waits.
    let tight = RunBudget {
        import_time: std::time::Duration::ZERO,
        import_page: 4,
        ..RunBudget::default()
    };
    let first = w.sync_with(&tight).await;
    assert!(
        first.counts.devices_imported < total as u64,
        "stopped at the budget: {first:?}"
    );
    assert!(first.counts.devices_import_incomplete, "{first:?}");
    assert_eq!(
        first.status,
        RunStatus::Succeeded,
        "stopping in time is not a failure: {first:?}"
    );
    // Later runs carry on until everything is in.
    let mut imported = first.counts.devices_imported;
    for _ in 0..20 {
        if imported >= total as u64 {
            break;
        }
        imported += w.sync_with(&tight).await.counts.devices_imported;
    }
    assert_eq!(imported, total as u64);
    assert_eq!(w.assets("/assets").await.len(), total);
    let idle = w.sync().await;
    assert_eq!(idle.counts.devices_imported, 0, "{idle:?}");
    assert!(!idle.counts.devices_import_incomplete, "{idle:?}");
}

#[tokio::test]
async fn a_pass_through_the_changes_that_runs_out_of_time_leaves_the_rest_for_the_next() {
    let w = world().await;
    for category in ["Desktop", "Server", "Printer"] {
        assert_eq!(w.map_type(category, Some(&category.to_lowercase()), true).await.0, 200);
    }
    let full = w.sync().await;
    assert_eq!(
        full.counts.devices_imported,
        (2 * KINDS.len() * PER_KIND) as u64,
        "{full:?}"
    );
    // Six staged devices change in Datto: the next passes go through the changes only.
    let renamed: Vec<String> = ["Alpha Dental", "Beta Law"]
        .iter()
        .flat_map(|site| ["DESK", "SRV", "PRN"].map(|kind| w.uids(site, kind)[0].clone()))
        .collect();
    for (i, uid) in renamed.iter().enumerate() {
        w.sim.change_device(uid, |d| d.hostname = format!("RENAMED-{i}"));
    }
    let tight = RunBudget {
        import_time: std::time::Duration::ZERO,
        import_page: 2,
        ..RunBudget::default()
    };
    let first = w.sync_with(&tight).await;
    assert_eq!(first.counts.devices_updated, 6, "{first:?}");
    assert_eq!(first.counts.devices_imported, 2, "one page of the changes: {first:?}");
    assert!(first.counts.devices_import_incomplete, "{first:?}");
    // Nothing changes in Datto any more, yet the next runs reach the rest.
    let second = w.sync_with(&tight).await;
    assert_eq!(
        (second.counts.devices_updated, second.counts.devices_imported),
        (0, 2),
        "{second:?}"
    );
    let third = w.sync_with(&tight).await;
    assert_eq!(third.counts.devices_imported, 2, "{third:?}");
    assert!(!third.counts.devices_import_incomplete, "{third:?}");
    let idle = w.sync_with(&tight).await;
    assert_eq!((idle.counts.devices_imported, idle.counts.writes), (0, 0), "{idle:?}");
    let assets = w.assets("/assets").await;
    for (i, uid) in renamed.iter().enumerate() {
        let asset = assets
            .iter()
            .find(|a| a["source"]["deviceUid"] == uid.as_str())
            .unwrap();
        assert_eq!(asset["hostname"], format!("RENAMED-{i}").as_str(), "{asset}");
    }
}

/// The raw item of a job (to stand in for an invocation that died at a bad moment).
async fn job_item(w: &World, job_id: &str) -> HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let tenant = TenantId::parse(TENANT).unwrap();
    w.store
        .client()
        .get_item()
        .table_name(w.store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(shared::store::keys::integration_pk(&tenant, &w.integration)),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("IMPORTJOB#{job_id}")),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

#[tokio::test]
async fn an_import_job_runs_over_many_invocations_and_survives_faults_without_losing_or_doubling() {
    let w = world().await;
    // 40 more desktops in a mapped site: 44 staged desktops in all.
    let site = w.site["Alpha Dental"].clone();
    for uid in w.sim.add_devices(&site, 40) {
        w.sim.change_device(&uid, |d| {
            d.category = Some("Desktop".into());
            d.device_type = Some("Desktop".into());
        });
    }
    assert_eq!(w.sync().await.status, RunStatus::Succeeded);
    w.map_type("Desktop", Some("desktop"), false).await;
    let expected: HashSet<String> = w
        .staged("?category=Desktop&deviceType=Desktop")
        .await
        .iter()
        .map(|d| d["deviceUid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), 44, "staged desktops");

    // The HTTP call only queues.
    let (status, queued) = w
        .post_import(json!({ "category": "Desktop", "deviceType": "Desktop" }))
        .await;
    assert_eq!((status, queued["status"].as_str()), (202, Some("queued")), "{queued}");
    assert_eq!(queued["counts"]["imported"], 0);
    let job_id = queued["jobId"].as_str().unwrap().to_owned();
    assert!(
        w.assets("/assets").await.is_empty(),
        "nothing imported before a worker ran"
    );
    let (s, list) = w
        .call(
            "GET",
            &format!("/integrations/{}/import-jobs", w.integration),
            TENANT,
            None,
        )
        .await;
    assert_eq!(
        (s, list["jobs"][0]["runId"].as_str()),
        (200, Some(job_id.as_str())),
        "{list}"
    );

    // Invocations with no time to spare: one slice of 2-device pages each.
    let tiny = ImportJobWorker {
        store: w.store.clone(),
        budget: JobBudget {
            time: std::time::Duration::ZERO,
            slice: std::time::Duration::ZERO,
            page: 2,
        },
    };
    let event = rmmsync_tests::run_stream_event("import-job", TENANT, &w.integration, &job_id, "queued");
    shared::runs::worker::drive(&tiny, &event).await.unwrap();
    let path = format!("/integrations/{}/import-jobs/{job_id}", w.integration);
    let (_, one) = w.call("GET", &path, TENANT, None).await;
    assert_eq!(one["status"], "continuing", "{one}");
    let percent_one = one["percent"].as_u64().unwrap();
    assert!(percent_one < 100, "{one}");
    // Progress inside the shards: the devices decided of those the sync counted of the type.
    let (_, types) = w
        .call(
            "GET",
            &format!("/integrations/{}/device-types", w.integration),
            TENANT,
            None,
        )
        .await;
    let counted = types["deviceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["category"] == "Desktop" && t["deviceType"] == "Desktop")
        .and_then(|t| t["deviceCount"].as_u64())
        .unwrap_or_else(|| panic!("Desktop in {types}"));
    let decided = one["counts"]["requested"].as_u64().unwrap();
    assert!(decided > 0, "{one}");
    assert!(percent_one >= decided * 100 / counted, "{counted} counted: {one}");

    // A store that cannot be reached: the invocation fails (the stream retries it), the job waits.
    let config = aws_config().await;
    let dead = aws_sdk_dynamodb::config::Builder::from(&config)
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    let unreachable = ImportJobWorker {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(dead), w.store.table()),
        budget: tiny.budget,
    };
    let retry = rmmsync_tests::run_stream_event("import-job", TENANT, &w.integration, &job_id, "continuing");
    assert!(shared::runs::worker::drive(&unreachable, &retry).await.is_err());
    let (_, waiting) = w.call("GET", &path, TENANT, None).await;
    assert_eq!(
        (&waiting["status"], &waiting["counts"]),
        (&one["status"], &one["counts"])
    );

    // An invocation dies after writing its slice's assets, states and results but
    // before recording the job: the job is left as it was before, `running` under
    // a claim whose time is up.
    let before = job_item(&w, &job_id).await;
    shared::runs::worker::drive(&tiny, &retry).await.unwrap();
    let (_, two) = w.call("GET", &path, TENANT, None).await;
    assert!(
        two["counts"]["requested"].as_u64() >= one["counts"]["requested"].as_u64(),
        "{two}"
    );
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    let mut died = before.clone();
    let mut record: Value = serde_json::from_str(died["run"].as_s().unwrap()).unwrap();
    record["status"] = json!("running");
    record["claim"] = json!("dead-invocation");
    record["claimedUntil"] = json!(1);
    died.insert("run".into(), S(record.to_string()));
    died.insert("status".into(), S("running".into()));
    died.insert("claim".into(), S("dead-invocation".into()));
    died.insert("claimedUntil".into(), N("1".into()));
    w.store
        .client()
        .put_item()
        .table_name(w.store.table())
        .set_item(Some(died))
        .send()
        .await
        .unwrap();
    // A stream record of it now finds it running (its claim stale: taken over). The
    // schedule's sweep is what hands it back when no record comes: show that too.
    use shared::runs::worker::Worker;
    assert_eq!(
        tiny.schedule().await.unwrap(),
        1,
        "the sweep hands the stalled job back"
    );
    let (_, handed_back) = w.call("GET", &path, TENANT, None).await;
    assert_eq!(handed_back["status"], "continuing", "{handed_back}");
    assert_eq!(tiny.schedule().await.unwrap(), 0, "a waiting job is left alone");

    // The rest, in as many tiny invocations as it takes.
    let invocations = rmmsync_tests::drive_import_job(&tiny, TENANT, &w.integration, &job_id, 200).await;
    assert!(invocations >= 3, "{invocations} invocations");
    let done = w.finish_job(&job_id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["percent"], 100);
    assert!(done["invocations"].as_u64().unwrap() >= 5, "{done}");
    assert_eq!(
        (done["counts"]["imported"].as_u64(), done["counts"]["failed"].as_u64()),
        (Some(44), Some(0)),
        "counted once each, the redone slice included: {done}"
    );
    // Every device listed exactly once, page by page (3 to a page here).
    let results = w.all_pages(&format!("{path}/results?limit=3"), "results", TENANT).await;
    let listed: Vec<&str> = results.iter().map(|r| r["deviceUid"].as_str().unwrap()).collect();
    let distinct: HashSet<String> = listed.iter().map(|u| (*u).to_owned()).collect();
    assert_eq!((listed.len(), &distinct), (44, &expected), "{results:?}");
    let (_, failed) = w
        .call("GET", &format!("{path}/results?status=failed"), TENANT, None)
        .await;
    assert_eq!(failed["results"], json!([]), "{failed}");
    // One asset per device.
    let assets = w.assets("/assets").await;
    let uids: HashSet<&str> = assets
        .iter()
        .map(|a| a["source"]["deviceUid"].as_str().unwrap())
        .collect();
    assert_eq!((assets.len(), uids.len()), (44, 44));
    // The integration shows it as its last import job.
    let (_, finished) = w
        .call(
            "GET",
            &format!("/integrations/{}/import-jobs", w.integration),
            TENANT,
            None,
        )
        .await;
    assert_eq!(finished["jobs"][0]["status"], "succeeded", "{finished}");
}

#[tokio::test]
async fn import_jobs_are_checked_and_private_to_their_tenant() {
    let w = world().await;
    w.map_type("Printer", Some("printer"), false).await;
    let (_, done) = w
        .import(json!({ "category": "Printer", "deviceType": "Printer" }))
        .await;
    let job_id = done["jobId"].as_str().unwrap();
    let base = format!("/integrations/{}/import-jobs", w.integration);
    for path in [
        base.clone(),
        format!("{base}/{job_id}"),
        format!("{base}/{job_id}/results"),
    ] {
        let (s, body) = w.call("GET", &path, OTHER, None).await;
        assert_eq!(s, 404, "{path}: {body}");
    }
    for (path, code) in [
        (format!("{base}/no-such-job"), 404),
        (format!("{base}/{job_id}/results?status=imported"), 400),
        (format!("{base}/{job_id}/results?cursor=***"), 400),
        (format!("{base}/{job_id}/results?limit=0"), 400),
        (format!("{base}?cursor=%2A%2A"), 400),
    ] {
        let (s, body) = w.call("GET", &path, TENANT, None).await;
        assert_eq!(s, code, "{path}: {body}");
    }
}

#[tokio::test]
async fn all_assets_page_in_id_order_at_any_page_size_without_gaps_or_repeats() {
    // Enough assets that every shard holds many, with ids that sort in the
    // order they were made (the shards are picked by a hash, not by order).
    let w = world().await;
    let tenant = TenantId::parse(TENANT).unwrap();
    let assets: Vec<shared::devices::Asset> = (0..700)
        .map(|i| shared::devices::Asset {
            id: shared::devices::Asset::id_for(&w.integration, &format!("dev-{i:04}")),
            hostname: Some(format!("HOST-{i:04}")),
            manufacturer: None,
            model: None,
            serial_number: None,
            operating_system: None,
            device_type_id: "desktop".into(),
            device_type_name: "Desktop".into(),
            company_id: w.company["Alpha Dental Care"].clone(),
            integration_id: w.integration.clone(),
            device_uid: format!("dev-{i:04}"),
            linked: true,
            created_at: 1,
            updated_at: 1,
        })
        .collect();
    let mut expected: Vec<String> = assets.iter().map(|a| a.id.clone()).collect();
    expected.sort();
    w.store
        .write_imports(&tenant, &w.integration, assets, Vec::new())
        .await
        .unwrap();
    for limit in [1usize, 7, 100, 500] {
        if limit == 1 {
            // 700 requests of one: the first 40 pages are enough to show the order.
            let mut after: Option<String> = None;
            for want in expected.iter().take(40) {
                let (page, more) = w.store.page_assets(&tenant, None, after.as_deref(), 1).await.unwrap();
                assert_eq!(page.len(), 1);
                assert_eq!(&page[0].id, want);
                assert!(more);
                after = Some(page[0].id.clone());
            }
            continue;
        }
        let listed: Vec<String> = w
            .assets(&format!("/assets?limit={limit}"))
            .await
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(listed, expected, "limit {limit}");
    }
}
