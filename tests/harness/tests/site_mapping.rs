//! Companies, the site mapping table and quick match, end to end: a real
//! sync from the Datto RMM simulator into moto's DynamoDB, then the HTTP
//! routes through API Gateway v2 events.

use rmmsync_tests::Handle;
use rmmsync_tests::{api_request, aws_config, fresh_store, read_response, secrets_manager};
use serde_json::{Value, json};
use shared::companies::directory::{PortalRecord, record_item};
use shared::companies::routes::CompaniesApi;
use shared::psa::RecordKind;
use shared::site_mapping::routes::SitesApi;
use shared::sync::{RunStatus, SyncDeps, SyncSettings, run::RunBudget, run::start_run};
use shared::tenant::TenantId;
use shared::workers::sync_run;
use simulators::datto::{DattoConfig, DattoSim};
use std::collections::HashMap;

const TENANT: &str = "acme-msp";

struct World {
    companies: CompaniesApi,
    sites: SitesApi,
    integration: String,
    site_uids: HashMap<&'static str, String>,
    _sim: DattoSim,
}

/// Named sites in the simulator, synced into a fresh table.
async fn world() -> World {
    let sim = DattoSim::start(DattoConfig {
        sites: 3,
        devices: 30,
        autotask_mapped_ratio: 0.0,
        ..DattoConfig::default()
    })
    .await
    .unwrap();
    let mut site_uids = HashMap::new();
    for name in [
        "Smith Dental - Main Office",
        "Smith Dental Lab",
        "Harbor View Church (Dallas)",
        "Zeta Quantum Spare Parts",
        "HQ Network",
    ] {
        let uid = sim.add_site(name);
        sim.add_devices(&uid, 2);
        site_uids.insert(name, uid);
    }
    sim.change_site(&site_uids["HQ Network"], |s| {
        s.autotask_company_id = Some("4242".into())
    });

    let config = aws_config().await;
    let store = fresh_store(&config).await;
    let datto = rmmsync_tests::datto_connector(&sim);
    let secrets = secrets_manager(&config);
    let settings = rmmsync_tests::test_settings();
    let tenant = TenantId::parse(TENANT).unwrap();
    let integration = rmmsync_tests::connect_datto(&store, &secrets, &datto, &settings, &tenant, &sim).await;

    let deps = SyncDeps {
        store: store.clone(),
        secrets,
        datto,
        settings: SyncSettings::default(),
    };
    let run = start_run(&deps, &tenant, &integration, shared::runs::Trigger::Manual)
        .await
        .unwrap();
    let done = sync_run(&deps, &tenant, &integration, &run.run_id, &RunBudget::default())
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded, "{done:?}");

    World {
        companies: CompaniesApi {
            cascades: shared::app::company_cascades(&store.clone()),
            store: store.clone(),
        },
        sites: SitesApi {
            store,
            on_mapped: vec![],
        },
        integration,
        site_uids,
        _sim: sim,
    }
}

impl World {
    async fn companies(&self, method: &str, path: &str, tenant: &str, body: Option<Value>) -> (u16, Value) {
        read_response(
            self.companies
                .handle(api_request(method, path, Some(tenant), body.as_ref()))
                .await,
        )
    }

    async fn sites(&self, method: &str, path: &str, tenant: &str, body: Option<Value>) -> (u16, Value) {
        read_response(
            self.sites
                .handle(api_request(method, path, Some(tenant), body.as_ref()))
                .await,
        )
    }

    async fn company(&self, name: &str, psa: Option<Value>) -> String {
        let mut body = json!({ "name": name });
        if let Some(p) = psa {
            body["psa"] = p;
        }
        let (status, created) = self.companies("POST", "/companies", TENANT, Some(body)).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    fn row<'v>(&self, table: &'v Value, site: &str) -> &'v Value {
        let uid = &self.site_uids[site];
        table["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["siteUid"] == uid.as_str())
            .unwrap_or_else(|| panic!("{site} in {table}"))
    }
}

#[tokio::test]
async fn companies_crud_search_paging_and_tenant_scope() {
    let w = world().await;
    for bad in [
        json!({}),
        json!({ "name": "   " }),
        json!({ "name": "x".repeat(201) }),
        json!({ "name": "A", "psa": { "kind": "halo", "id": "1" } }),
    ] {
        let (status, body) = w.companies("POST", "/companies", TENANT, Some(bad.clone())).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad} -> {body}"
        );
    }
    let ids: Vec<String> = futures_names(
        &w,
        &[
            "Smith Dental",
            "Smith Dental Lab",
            "Harbor View Church",
            "Águas Claras Ltda",
        ],
    )
    .await;

    let (_, found) = w
        .companies("GET", "/companies?search=smith%20dental", TENANT, None)
        .await;
    assert_eq!(found["companies"].as_array().unwrap().len(), 2, "{found}");
    let (_, accent) = w.companies("GET", "/companies?search=aguas", TENANT, None).await;
    assert_eq!(accent["companies"][0]["name"], "Águas Claras Ltda");

    let mut seen = Vec::new();
    let mut path = "/companies?limit=3".to_owned();
    loop {
        let (status, page) = w.companies("GET", &path, TENANT, None).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["companies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(c) => path = format!("/companies?limit=3&cursor={c}"),
            None => break,
        }
    }
    seen.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected, "paging lost or repeated a company");

    let id = &ids[0];
    let (status, patched) = w
        .companies(
            "PATCH",
            &format!("/companies/{id}"),
            TENANT,
            Some(json!({ "name": "Smith Family Dental", "psa": { "kind": "autotask", "id": "99" } })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["name"].as_str(), patched["psa"]["id"].as_str()),
        (Some("Smith Family Dental"), Some("99"))
    );
    let (_, unlinked) = w
        .companies(
            "PATCH",
            &format!("/companies/{id}"),
            TENANT,
            Some(json!({ "psa": null })),
        )
        .await;
    assert_eq!(unlinked["psa"], Value::Null);

    assert_eq!(
        w.companies("GET", &format!("/companies/{id}"), "other-msp", None)
            .await
            .0,
        404
    );
    assert_eq!(
        w.companies("DELETE", &format!("/companies/{id}"), "other-msp", None)
            .await
            .0,
        404
    );
    let (_, theirs) = w.companies("GET", "/companies", "other-msp", None).await;
    assert_eq!(theirs["companies"], json!([]));

    assert_eq!(
        w.companies("DELETE", &format!("/companies/{id}"), TENANT, None).await.0,
        204
    );
    assert_eq!(
        w.companies("GET", &format!("/companies/{id}"), TENANT, None).await.0,
        404
    );
    assert_eq!(w.companies("GET", "/companies?limit=0", TENANT, None).await.0, 400);
}

async fn futures_names(w: &World, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for n in names {
        ids.push(w.company(n, None).await);
    }
    ids
}

#[tokio::test]
async fn the_mapping_table_lists_synced_sites_without_pseudo_sites() {
    let w = world().await;
    let (status, table) = w
        .sites("GET", &format!("/integrations/{}/sites", w.integration), TENANT, None)
        .await;
    assert_eq!(status, 200, "{table}");
    let rows = table["sites"].as_array().unwrap();
    assert_eq!(rows.len(), 3 + 5, "the generated and the named client sites: {table}");
    assert!(rows.iter().all(|r| r["company"].is_null() && r["mappedBy"].is_null()));
    assert_eq!(w.row(&table, "Smith Dental Lab")["deviceCount"], 2);
    assert_eq!(w.row(&table, "HQ Network")["autotaskCompanyId"], "4242");

    let (_, all) = w
        .sites(
            "GET",
            &format!("/integrations/{}/sites?includePseudo=true", w.integration),
            TENANT,
            None,
        )
        .await;
    let names: Vec<&str> = all["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Deleted Devices"), "{names:?}");

    let (_, searched) = w
        .sites(
            "GET",
            &format!("/integrations/{}/sites?search=smith", w.integration),
            TENANT,
            None,
        )
        .await;
    assert_eq!(searched["count"], 2);
    assert_eq!(
        w.sites(
            "GET",
            &format!("/integrations/{}/sites?mapped=maybe", w.integration),
            TENANT,
            None
        )
        .await
        .0,
        400
    );
    assert_eq!(
        w.sites(
            "GET",
            &format!("/integrations/{}/sites", w.integration),
            "other-msp",
            None
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn quick_match_maps_what_it_is_sure_of_and_respects_people() {
    let w = world().await;
    let dental = w.company("Smith Dental", None).await;
    let lab = w.company("Smith Dental Lab", None).await;
    let church = w.company("Harbor View Church", None).await;
    let northwind = w
        .company("Northwind Traders", Some(json!({ "kind": "autotask", "id": "4242" })))
        .await;
    let quick_match = format!("/integrations/{}/quick-match", w.integration);

    let (status, report) = w.sites("POST", &quick_match, TENANT, None).await;
    assert_eq!(status, 200, "{report}");
    let mapped: HashMap<&str, (&str, u64, &str)> = report["mapped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["siteName"].as_str().unwrap(),
                (
                    r["company"]["id"].as_str().unwrap(),
                    r["confidence"].as_u64().unwrap(),
                    r["reason"].as_str().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(mapped["Smith Dental - Main Office"].0, dental);
    assert_eq!(mapped["Smith Dental Lab"].0, lab, "near names must not be confused");
    assert_eq!(mapped["Harbor View Church (Dallas)"].0, church);
    assert_eq!(
        mapped["HQ Network"],
        (northwind.as_str(), 100, "psa-id"),
        "the Autotask id is a certain match"
    );
    assert!(!mapped.contains_key("Zeta Quantum Spare Parts"), "{report}");
    assert!(mapped.values().all(|(_, c, _)| *c >= 70));
    let unmapped = report["suggested"].as_array().unwrap().len() + report["noCandidate"].as_array().unwrap().len();
    assert_eq!(mapped.len() + unmapped, 8);

    // A person corrects one, unmaps another; quick match again changes neither.
    let church_site = &w.site_uids["Harbor View Church (Dallas)"];
    let (status, row) = w
        .sites(
            "PUT",
            &format!("/integrations/{}/sites/{church_site}/mapping", w.integration),
            TENANT,
            Some(json!({ "companyId": dental })),
        )
        .await;
    assert_eq!(
        (status, row["mappedBy"].as_str(), row["confidence"].as_u64()),
        (200, Some("manual"), Some(100)),
        "{row}"
    );
    let lab_site = &w.site_uids["Smith Dental Lab"];
    assert_eq!(
        w.sites(
            "DELETE",
            &format!("/integrations/{}/sites/{lab_site}/mapping", w.integration),
            TENANT,
            None
        )
        .await
        .0,
        204
    );

    let (_, again) = w.sites("POST", &quick_match, TENANT, None).await;
    assert_eq!(again["mapped"], json!([]), "nothing new to map: {again}");
    let (_, table) = w
        .sites("GET", &format!("/integrations/{}/sites", w.integration), TENANT, None)
        .await;
    assert_eq!(
        w.row(&table, "Harbor View Church (Dallas)")["company"]["id"],
        dental.as_str(),
        "a manual mapping was overwritten"
    );
    assert_eq!(
        w.row(&table, "Smith Dental Lab")["company"],
        Value::Null,
        "a site unmapped by hand was mapped again"
    );
    assert_eq!(w.row(&table, "Smith Dental - Main Office")["mappedBy"], "auto");
    // Several sites may map to one company.
    let (_, mapped_only) = w
        .sites(
            "GET",
            &format!("/integrations/{}/sites?mapped=true", w.integration),
            TENANT,
            None,
        )
        .await;
    let to_dental = mapped_only["sites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["company"]["id"] == dental.as_str())
        .count();
    assert_eq!(to_dental, 2);

    // Deleting that company leaves both sites undecided; quick match decides them again.
    assert_eq!(
        w.companies("DELETE", &format!("/companies/{dental}"), TENANT, None)
            .await
            .0,
        204
    );
    let (_, table) = w
        .sites("GET", &format!("/integrations/{}/sites", w.integration), TENANT, None)
        .await;
    for site in ["Smith Dental - Main Office", "Harbor View Church (Dallas)"] {
        let row = w.row(&table, site);
        assert_eq!(
            (&row["company"], &row["mappedBy"]),
            (&Value::Null, &Value::Null),
            "{site}: {row}"
        );
    }
    let (_, after) = w.sites("POST", &quick_match, TENANT, None).await;
    let remapped: HashMap<&str, &str> = after["mapped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["siteName"].as_str().unwrap(), r["company"]["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        remapped.get("Harbor View Church (Dallas)"),
        Some(&church.as_str()),
        "{after}"
    );
    assert_ne!(
        remapped.get("Smith Dental - Main Office"),
        Some(&lab.as_str()),
        "the lab is another company: {after}"
    );
}

#[tokio::test]
async fn device_overlap_decides_between_companies_with_similar_names() {
    let w = world().await;
    let church = w.company("Harbor View Church", None).await;
    let community = w.company("Harbor View Community Church", None).await;
    w.company("Smith Dental", None).await;
    // Both of the site's devices are PSA configurations of the second.
    let tenant = TenantId::parse(TENANT).unwrap();
    let site_uid = &w.site_uids["Harbor View Church (Dallas)"];
    let store = &w.sites.store;
    let devices = store.site_devices(&tenant, &w.integration).await.unwrap();
    let own: Vec<_> = devices.iter().filter(|d| &d.site_uid == site_uid).collect();
    assert_eq!(own.len(), 2, "{devices:?}");
    for d in &own {
        let record = PortalRecord {
            kind: RecordKind::Configuration,
            id: uuid::Uuid::new_v4().to_string(),
            name: "Front desk PC".into(),
            normalized_name: "front desk pc".into(),
            company_id: Some(community.clone()),
            active: true,
            email: None,
            serial_number: None,
            configuration_type: None,
            rmm_device_uid: Some(d.uid.clone()),
            source: "autotask".into(),
            psa_kind: Some(shared::psa::PsaKind::Autotask),
            psa_id: Some("9001".into()),
            integration_id: None,
            created_at: 0,
            updated_at: 0,
        };
        store
            .client()
            .put_item()
            .table_name(store.table())
            .set_item(Some(record_item(&tenant, &record)))
            .send()
            .await
            .unwrap();
    }

    let (status, report) = w
        .sites(
            "POST",
            &format!("/integrations/{}/quick-match", w.integration),
            TENANT,
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let row = report["mapped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["siteUid"] == site_uid.as_str())
        .unwrap_or_else(|| panic!("the church site is mapped: {report}"));
    assert_eq!(row["company"]["id"], community.as_str(), "{row}");
    assert_ne!(row["company"]["id"], church.as_str());
    assert_eq!(row["reason"], "device-overlap", "{row}");
    let why = json!({ "kind": "device-overlap", "matchingDevices": 2, "siteDevices": 2 });
    assert_eq!(row["explanation"]["evidence"], why, "{row}");
    assert_eq!(row["explanation"]["setAside"], json!(["dallas"]), "{row}");

    // The mapping table shows the same reasons.
    let (_, table) = w
        .sites("GET", &format!("/integrations/{}/sites", w.integration), TENANT, None)
        .await;
    let mapped = w.row(&table, "Harbor View Church (Dallas)");
    assert_eq!(mapped["company"]["id"], community.as_str(), "{mapped}");
    assert_eq!(mapped["explanation"]["evidence"], why, "{mapped}");
    // A site matched by its name says which words matched.
    let dental = w.row(&table, "Smith Dental - Main Office");
    assert_eq!(dental["explanation"]["evidence"]["kind"], "name", "{dental}");
    assert_eq!(
        dental["explanation"]["matchedWords"],
        json!(["smith", "dental"]),
        "{dental}"
    );
    // A site quick match only suggests shows the suggestion and why.
    let lab = w.row(&table, "Smith Dental Lab");
    assert_eq!(lab["company"], Value::Null, "{lab}");
    assert_eq!(lab["suggestion"]["company"]["name"], "Smith Dental", "{lab}");
    assert_eq!(lab["suggestion"]["explanation"]["evidence"]["kind"], "name", "{lab}");
    assert!(
        lab["suggestion"]["confidence"].as_u64().is_some_and(|c| c < 70),
        "{lab}"
    );
}

#[tokio::test]
async fn manual_mapping_refuses_what_cannot_be_mapped() {
    let w = world().await;
    let company = w.company("Smith Dental", None).await;
    let base = format!("/integrations/{}/sites", w.integration);
    let site = &w.site_uids["Smith Dental Lab"];

    let (status, body) = w
        .sites(
            "PUT",
            &format!("{base}/{site}/mapping"),
            TENANT,
            Some(json!({ "companyId": uuid::Uuid::new_v4().to_string() })),
        )
        .await;
    assert_eq!(status, 422, "unknown company: {body}");
    let (status, _) = w
        .sites(
            "PUT",
            &format!("{base}/no-such-site/mapping"),
            TENANT,
            Some(json!({ "companyId": company })),
        )
        .await;
    assert_eq!(status, 404);
    let (_, all) = w
        .sites("GET", &format!("{base}?includePseudo=true"), TENANT, None)
        .await;
    let deleted_devices = all["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Deleted Devices")
        .unwrap()["siteUid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = w
        .sites(
            "PUT",
            &format!("{base}/{deleted_devices}/mapping"),
            TENANT,
            Some(json!({ "companyId": company })),
        )
        .await;
    assert_eq!(status, 422, "pseudo-site: {body}");
    let (status, _) = w
        .sites(
            "PUT",
            &format!("{base}/{site}/mapping"),
            TENANT,
            Some(json!({ "company": company })),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = w
        .sites(
            "PUT",
            &format!("{base}/{site}/mapping"),
            "other-msp",
            Some(json!({ "companyId": company })),
        )
        .await;
    assert_eq!(status, 404, "another tenant cannot map this tenant's site");
}
