//! Mapping from the company side, end to end: a real sync from the Datto RMM simulator into
//! moto's DynamoDB, then the company-side routes (table, bulk mapping, create site) and the
//! site-side table through API Gateway v2 events; "create new site" talks to the simulator.

use aws_sdk_dynamodb::types::AttributeValue;
use rmmsync_tests::Handle;
use rmmsync_tests::{api_request, aws_config, fresh_store, read_response, secrets_manager};
use serde_json::{Value, json};
use shared::companies::routes::CompaniesApi;
use shared::site_mapping::company_routes::CompanyMappingApi;
use shared::site_mapping::routes::SitesApi;
use shared::store::DynamoStore;
use shared::sync::{RunStatus, SyncDeps, SyncSettings, run::RunBudget, run::start_run};
use shared::tenant::TenantId;
use shared::workers::sync_run;
use simulators::datto::{DattoConfig, DattoSim};
use std::collections::HashMap;
use std::time::Duration;

const TENANT: &str = "acme-msp";

struct World {
    store: DynamoStore,
    deps: SyncDeps,
    companies: CompaniesApi,
    sites: SitesApi,
    side: CompanyMappingApi,
    integration: String,
    site_uids: HashMap<&'static str, String>,
    company_ids: HashMap<&'static str, String>,
    sim: DattoSim,
}

const SITES: [&str; 5] = [
    "Smith Dental - Main Office",
    "Smith Dental Lab",
    "Harbor View Church (Dallas)",
    "Zeta Quantum Spare Parts",
    "HQ Network",
];

/// A company of the world: name, PSA link (kind, id), type, active.
type CompanySeed = (
    &'static str,
    Option<(&'static str, &'static str)>,
    Option<&'static str>,
    bool,
);

const COMPANIES: [CompanySeed; 5] = [
    ("Smith Dental", None, Some("Customer"), true),
    ("Harbor View Church", None, Some("Customer"), true),
    ("Zeta Quantum", None, Some("Prospect"), false),
    ("Riverside Plumbing", Some(("autotask", "4242")), Some("Customer"), true),
    ("Lonely Llama Ltd", None, None, true),
];

async fn sync(deps: &SyncDeps, integration: &str) {
    let tenant = TenantId::parse(TENANT).unwrap();
    let run = start_run(deps, &tenant, integration, shared::runs::Trigger::Manual)
        .await
        .unwrap();
    let done = sync_run(deps, &tenant, integration, &run.run_id, &RunBudget::default())
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded, "{done:?}");
}

/// Named sites in the simulator synced into a fresh table; companies with PSA types and
/// statuses; "Smith Dental - Main Office" mapped to Smith Dental from the site side.
async fn world() -> World {
    let sim = DattoSim::start(DattoConfig {
        sites: 2,
        devices: 20,
        autotask_mapped_ratio: 0.0,
        ..DattoConfig::default()
    })
    .await
    .unwrap();
    let mut site_uids = HashMap::new();
    for name in SITES {
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
        secrets: secrets.clone(),
        datto: datto.clone(),
        settings: SyncSettings::default(),
    };
    sync(&deps, &integration).await;

    let mut w = World {
        companies: CompaniesApi {
            cascades: shared::app::company_cascades(&store.clone()),
            store: store.clone(),
        },
        sites: SitesApi {
            store: store.clone(),
            on_mapped: vec![],
        },
        side: CompanyMappingApi {
            store: store.clone(),
            secrets,
            datto,
            on_mapped: vec![],
        },
        store,
        deps,
        integration,
        site_uids,
        company_ids: HashMap::new(),
        sim,
    };
    for (name, psa, kind, active) in COMPANIES {
        let id = w.company(name, psa).await;
        w.describe_company(&id, kind, active).await;
        w.company_ids.insert(name, id);
    }
    let (status, row) = w
        .sites(
            "PUT",
            &format!(
                "/integrations/{}/sites/{}/mapping",
                w.integration, w.site_uids["Smith Dental - Main Office"]
            ),
            Some(json!({ "companyId": w.company_ids["Smith Dental"] })),
        )
        .await;
    assert_eq!(status, 200, "{row}");
    w
}

impl World {
    async fn company(&self, name: &str, psa: Option<(&str, &str)>) -> String {
        let mut body = json!({ "name": name });
        if let Some((kind, id)) = psa {
            body["psa"] = json!({ "kind": kind, "id": id });
        }
        let (status, created) = read_response(
            self.companies
                .handle(api_request("POST", "/companies", Some(TENANT), Some(&body)))
                .await,
        );
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    /// The PSA type and status on the company item, as the PSA import records them.
    async fn describe_company(&self, id: &str, kind: Option<&str>, active: bool) {
        let mut update = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key("PK", AttributeValue::S(format!("TENANT#{TENANT}")))
            .key("SK", AttributeValue::S(format!("COMPANY#{id}")))
            .update_expression(if kind.is_some() {
                "SET active = :a, companyType = :t"
            } else {
                "SET active = :a"
            })
            .expression_attribute_values(":a", AttributeValue::Bool(active));
        if let Some(k) = kind {
            update = update.expression_attribute_values(":t", AttributeValue::S(k.into()));
        }
        update.send().await.unwrap();
    }

    async fn sites(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        read_response(
            self.sites
                .handle(api_request(method, path, Some(TENANT), body.as_ref()))
                .await,
        )
    }

    async fn side_as(&self, tenant: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        read_response(
            self.side
                .handle(api_request(method, path, Some(tenant), body.as_ref()))
                .await,
        )
    }

    async fn side(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.side_as(TENANT, method, path, body).await
    }

    /// `GET .../company-mappings?query`: the page.
    async fn table(&self, query: &str) -> Value {
        let (status, page) = self
            .side(
                "GET",
                &format!("/integrations/{}/company-mappings?{query}", self.integration),
                None,
            )
            .await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(
            page["count"].as_u64().unwrap() as usize,
            page["companies"].as_array().unwrap().len()
        );
        page
    }

    fn names(page: &Value) -> Vec<String> {
        page["companies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn row(&self, company: &str) -> Value {
        let page = self.table("limit=200").await;
        page["companies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == company)
            .unwrap_or_else(|| panic!("{company} in {page}"))
            .clone()
    }

    /// The site-side table's row of a site.
    async fn site_row(&self, uid: &str) -> Value {
        let (status, table) = self
            .sites("GET", &format!("/integrations/{}/sites", self.integration), None)
            .await;
        assert_eq!(status, 200, "{table}");
        table["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["siteUid"] == uid)
            .unwrap_or_else(|| panic!("{uid} in {table}"))
            .clone()
    }

    async fn bulk(&self, rows: Value) -> (u16, Value) {
        self.side(
            "POST",
            &format!("/integrations/{}/company-mappings", self.integration),
            Some(json!({ "rows": rows })),
        )
        .await
    }

    async fn create_site(&self, company_id: &str) -> (u16, Value) {
        self.side(
            "POST",
            &format!("/integrations/{}/company-mappings/{company_id}/site", self.integration),
            None,
        )
        .await
    }
}

fn is_portal_link(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|u| u.starts_with("https://merlot.centrastage.net/"))
}

#[tokio::test]
async fn company_side_table_filters_search_paging_and_portal_links() {
    let w = world().await;

    let all = w.table("").await;
    assert_eq!(
        World::names(&all),
        [
            "Harbor View Church",
            "Lonely Llama Ltd",
            "Riverside Plumbing",
            "Smith Dental",
            "Zeta Quantum"
        ]
    );
    assert_eq!(all["nextCursor"], Value::Null);

    let smith = w.row("Smith Dental").await;
    assert_eq!(
        (smith["type"].as_str(), smith["status"].as_str()),
        (Some("Customer"), Some("active"))
    );
    let sites = smith["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 1, "{smith}");
    assert_eq!(sites[0]["siteUid"], w.site_uids["Smith Dental - Main Office"].as_str());
    assert_eq!(sites[0]["mappedBy"], "manual");
    assert!(is_portal_link(&sites[0]["portalUrl"]), "{smith}");
    assert_eq!(
        smith["suggestions"],
        json!([]),
        "a company with a site gets no suggestions"
    );

    let riverside = w.row("Riverside Plumbing").await;
    assert_eq!(riverside["psaKind"], "autotask");
    let best = &riverside["suggestions"][0];
    assert_eq!(
        (
            best["siteUid"].as_str(),
            best["confidence"].as_u64(),
            best["reason"].as_str()
        ),
        (Some(w.site_uids["HQ Network"].as_str()), Some(100), Some("psa-id")),
        "{riverside}"
    );
    assert!(is_portal_link(&best["portalUrl"]));
    let zeta = w.row("Zeta Quantum").await;
    assert_eq!(
        (zeta["type"].as_str(), zeta["status"].as_str()),
        (Some("Prospect"), Some("inactive"))
    );
    assert_eq!(
        zeta["suggestions"][0]["siteUid"],
        w.site_uids["Zeta Quantum Spare Parts"].as_str()
    );
    let harbor = w.row("Harbor View Church").await;
    assert_eq!(
        harbor["suggestions"][0]["siteUid"],
        w.site_uids["Harbor View Church (Dallas)"].as_str()
    );
    // A mapped site is nobody's suggestion.
    for r in all["companies"].as_array().unwrap() {
        for s in r["suggestions"].as_array().unwrap() {
            assert_ne!(s["siteUid"], w.site_uids["Smith Dental - Main Office"].as_str(), "{r}");
        }
    }

    // Filters.
    assert_eq!(World::names(&w.table("mapped=true").await), ["Smith Dental"]);
    assert_eq!(
        World::names(&w.table("mapped=false").await),
        [
            "Harbor View Church",
            "Lonely Llama Ltd",
            "Riverside Plumbing",
            "Zeta Quantum"
        ]
    );
    assert_eq!(
        World::names(&w.table("type=customer").await),
        ["Harbor View Church", "Riverside Plumbing", "Smith Dental"]
    );
    assert_eq!(World::names(&w.table("status=inactive").await), ["Zeta Quantum"]);
    assert_eq!(
        World::names(&w.table("status=active&mapped=false&type=Customer").await),
        ["Harbor View Church", "Riverside Plumbing"]
    );
    assert_eq!(
        World::names(&w.table("search=harbor%20view").await),
        ["Harbor View Church"]
    );
    assert_eq!(World::names(&w.table("search=nobody").await), Vec::<String>::new());

    // Paging: every company once, in order, three pages of two.
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = w.table(&query).await;
        pages += 1;
        seen.extend(World::names(&page));
        match page["nextCursor"].as_str() {
            Some(c) => query = format!("limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!((pages, seen), (3, World::names(&all)));

    // Bad parameters, another tenant, an unknown integration.
    let path = format!("/integrations/{}/company-mappings", w.integration);
    for bad in [
        "status=closed",
        "limit=0",
        "limit=201",
        "limit=x",
        "mapped=maybe",
        "cursor=zz",
        &format!("cursor={}", "ab".repeat(3000)),
    ] {
        let (status, body) = w.side("GET", &format!("{path}?{bad}"), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
    let (status, _) = w.side_as("other-msp", "GET", &path, None).await;
    assert_eq!(status, 404, "another tenant's integration is not there");
    let (status, _) = w
        .side(
            "GET",
            &format!("/integrations/{}/company-mappings", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Portal links of sites in the site-side table, and of devices as sync keeps them.
    let row = w.site_row(&w.site_uids["Harbor View Church (Dallas)"]).await;
    assert!(is_portal_link(&row["portalUrl"]), "{row}");
    let device = w.sim.site_device_uids(&w.site_uids["Harbor View Church (Dallas)"])[0].clone();
    let item = w
        .store
        .client()
        .get_item()
        .table_name(w.store.table())
        .key(
            "PK",
            AttributeValue::S(shared::store::keys::shard_pk(
                &format!("TENANT#{TENANT}#INTEGRATION#{}", w.integration),
                shared::store::keys::shard_of(&device),
            )),
        )
        .key("SK", AttributeValue::S(format!("DEVICE#{device}")))
        .send()
        .await
        .unwrap()
        .item
        .expect("the device synced");
    let link = item.get("portalUrl").and_then(|v| v.as_s().ok()).cloned();
    assert!(is_portal_link(&json!(link)), "{item:?}");
    assert!(link.unwrap().contains(&device));
    // ... and shown with the staged devices of mapped sites.
    let devices = shared::devices::routes::DevicesApi {
        store: w.store.clone(),
        jobs: Default::default(),
    };
    let (status, staged) = read_response(
        devices
            .handle(api_request(
                "GET",
                &format!("/integrations/{}/staged-devices", w.integration),
                Some(TENANT),
                None,
            ))
            .await,
    );
    assert_eq!(status, 200, "{staged}");
    let rows = staged["devices"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "the two devices of the one mapped site: {staged}");
    for row in rows {
        assert!(is_portal_link(&row["portalUrl"]), "{row}");
        assert!(
            row["portalUrl"]
                .as_str()
                .unwrap()
                .contains(row["deviceUid"].as_str().unwrap())
        );
    }
}

#[tokio::test]
async fn bulk_mapping_takes_suggestions_and_picks_refuses_bad_rows_and_reports_conflicts() {
    let w = world().await;
    let c = |name: &str| w.company_ids[name].clone();
    let s = |name: &str| w.site_uids[name].clone();

    // One bad batch: every bad row named, nothing written.
    let deleted = w.sim.deleted_devices_site_uid();
    let (status, body) = w
        .bulk(json!([
            { "companyId": c("Riverside Plumbing"), "acceptSuggestion": true },
            { "companyId": uuid::Uuid::new_v4().to_string(), "siteUid": s("Smith Dental Lab") },
            { "companyId": c("Lonely Llama Ltd"), "siteUid": deleted },
            { "companyId": c("Harbor View Church"), "siteUid": s("Harbor View Church (Dallas)"), "acceptSuggestion": true },
            { "companyId": c("Zeta Quantum"), "siteUid": s("HQ Network") },
            { "companyId": c("Smith Dental"), "siteUid": "no-such-site" },
        ]))
        .await;
    assert_eq!((status, body["code"].as_str()), (422, Some("invalid_rows")), "{body}");
    let message = body["message"].as_str().unwrap();
    for named in ["row 1:", "row 2:", "row 3:", "row 4:", "row 5:"] {
        assert!(message.contains(named), "{named} in {message}");
    }
    assert!(!message.contains("row 0:"), "{message}");
    assert_eq!(
        World::names(&w.table("mapped=true").await),
        ["Smith Dental"],
        "nothing was mapped"
    );
    let (status, body) = w.bulk(json!([])).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = w
        .bulk(json!([{ "companyId": c("Smith Dental"), "siteUid": s("Smith Dental Lab"), "extra": 1 }]))
        .await;
    assert_eq!(status, 400, "unknown fields are refused: {body}");

    // Suggestions accepted, sites picked, one conflict.
    let (status, body) = w
        .bulk(json!([
            { "companyId": c("Riverside Plumbing"), "acceptSuggestion": true },
            { "companyId": c("Harbor View Church"), "siteUid": s("Harbor View Church (Dallas)") },
            { "companyId": c("Zeta Quantum"), "acceptSuggestion": true },
            { "companyId": c("Lonely Llama Ltd"), "siteUid": s("Smith Dental - Main Office") },
            { "companyId": c("Smith Dental"), "siteUid": s("Smith Dental Lab") },
        ]))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["mapped"].as_u64(),
            body["unchanged"].as_u64(),
            body["conflicts"].as_u64()
        ),
        (Some(4), Some(0), Some(1)),
        "{body}"
    );
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows[0]["siteUid"], s("HQ Network").as_str(), "Riverside's suggestion");
    assert_eq!(
        rows[2]["siteUid"],
        s("Zeta Quantum Spare Parts").as_str(),
        "Zeta's suggestion"
    );
    assert_eq!(
        (rows[3]["index"].as_u64(), rows[3]["outcome"].as_str()),
        (Some(3), Some("conflict"))
    );
    assert_eq!(rows[3]["heldBy"]["name"], "Smith Dental");
    assert_eq!(rows[3]["heldBy"]["id"], c("Smith Dental").as_str());

    // The site side sees the same mappings, made by hand; the conflict left the site alone.
    for (site, company) in [
        ("HQ Network", "Riverside Plumbing"),
        ("Harbor View Church (Dallas)", "Harbor View Church"),
        ("Zeta Quantum Spare Parts", "Zeta Quantum"),
        ("Smith Dental - Main Office", "Smith Dental"),
        ("Smith Dental Lab", "Smith Dental"),
    ] {
        let row = w.site_row(&s(site)).await;
        assert_eq!(row["company"]["id"], c(company).as_str(), "{site}: {row}");
        assert_eq!(
            (row["mappedBy"].as_str(), row["confidence"].as_u64()),
            (Some("manual"), Some(100))
        );
    }
    assert_eq!(World::names(&w.table("mapped=false").await), ["Lonely Llama Ltd"]);
    let smith = w.row("Smith Dental").await;
    assert_eq!(smith["sites"].as_array().unwrap().len(), 2, "{smith}");

    // The same row again changes nothing.
    let (status, body) = w
        .bulk(json!([{ "companyId": c("Harbor View Church"), "siteUid": s("Harbor View Church (Dallas)") }]))
        .await;
    assert_eq!(
        (status, body["unchanged"].as_u64(), body["mapped"].as_u64()),
        (200, Some(1), Some(0)),
        "{body}"
    );
}

#[tokio::test]
async fn create_site_in_datto_maps_it_and_never_makes_two() {
    let w = world().await;
    let c = |name: &str| w.company_ids[name].clone();

    let (status, made) = w.create_site(&c("Lonely Llama Ltd")).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["created"], true);
    let uid = made["site"]["siteUid"].as_str().unwrap().to_owned();
    assert!(is_portal_link(&made["site"]["portalUrl"]), "{made}");
    let in_datto = w.sim.sites_named("Lonely Llama Ltd");
    assert_eq!(in_datto.len(), 1);
    assert_eq!(in_datto[0].uid, uid);
    assert_eq!(w.sim.stats().route("site_create"), 1);

    // Stored as sync stores sites, and mapped at once: both tables show it.
    let row = w.site_row(&uid).await;
    assert_eq!(row["company"]["id"], c("Lonely Llama Ltd").as_str(), "{row}");
    assert!(is_portal_link(&row["portalUrl"]));
    let lonely = w.row("Lonely Llama Ltd").await;
    assert_eq!(lonely["sites"][0]["siteUid"], uid.as_str(), "{lonely}");

    // Once it has a site, no second one; nor for a company that had one already.
    for company in ["Lonely Llama Ltd", "Smith Dental"] {
        let (status, body) = w.create_site(&c(company)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("conflict")),
            "{company}: {body}"
        );
    }
    assert_eq!(w.sim.stats().route("site_create"), 1);
    let (status, _) = w.create_site(&uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(status, 404);

    // The next sync finds the same site, still mapped.
    sync(&w.deps, &w.integration).await;
    let row = w.site_row(&uid).await;
    assert_eq!(row["company"]["id"], c("Lonely Llama Ltd").as_str(), "{row}");

    // A create whose answer is lost (504 after Datto made the site) is not made twice.
    let quokka = w.company("Quiet Quokka", None).await;
    w.sim.lose_site_create_answers(1, Duration::ZERO);
    let (status, made) = w.create_site(&quokka).await;
    assert_eq!((status, made["created"].as_bool()), (201, Some(true)), "{made}");
    let in_datto = w.sim.sites_named("Quiet Quokka");
    assert_eq!(in_datto.len(), 1, "one site, not two");
    assert_eq!(made["site"]["siteUid"], in_datto[0].uid.as_str());
    assert_eq!(
        w.sim.stats().route("site_create"),
        2,
        "one PUT, then the look-up found it"
    );
    let row = w.site_row(&in_datto[0].uid).await;
    assert_eq!(row["company"]["id"], quokka.as_str());

    // A create that times out (Datto made the site, the answer comes after the client gave
    // up) is not made twice either.
    let impatient = CompanyMappingApi {
        datto: shared::datto::DattoConnector::new(
            reqwest::Client::builder()
                .timeout(Duration::from_millis(700))
                .build()
                .unwrap(),
        )
        .with_base_url_template(format!("{}/{{platform}}", w.sim.base_url()))
        .with_platform_probe(false),
        ..w.side.clone()
    };
    let otter = w.company("Tardy Otter", None).await;
    w.sim.lose_site_create_answers(1, Duration::from_secs(3));
    let (status, made) = read_response(
        impatient
            .handle(api_request(
                "POST",
                &format!("/integrations/{}/company-mappings/{otter}/site", w.integration),
                Some(TENANT),
                None,
            ))
            .await,
    );
    assert_eq!((status, made["created"].as_bool()), (201, Some(true)), "{made}");
    let in_datto = w.sim.sites_named("Tardy Otter");
    assert_eq!(in_datto.len(), 1, "one site, not two");
    assert_eq!(made["site"]["siteUid"], in_datto[0].uid.as_str());
    assert_eq!(w.sim.stats().route("site_create"), 3);

    // While another call creates a site for the company (a double click, two admins), a second
    // call is refused without asking Datto; once that call is done, it may go ahead.
    let twins = w.company("Twin Click Co", None).await;
    let pk = format!("TENANT#{TENANT}#INTEGRATION#{}", w.integration);
    let sk = format!("SITECREATE#{twins}");
    let lease = shared::store::Lease {
        pk: &pk,
        sk: &sk,
        entity: "site-create-lease",
    };
    let now = shared::time::now_millis();
    w.store
        .acquire_lease(&lease, "the-other-call", now, 60_000)
        .await
        .unwrap()
        .unwrap();
    let (status, body) = w.create_site(&twins).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("right now"), "{body}");
    assert_eq!(w.sim.stats().route("site_create"), 3, "Datto was not asked");
    w.store.release_lease(&lease, "the-other-call").await.unwrap();
    let (status, made) = w.create_site(&twins).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(w.sim.sites_named("Twin Click Co").len(), 1);
    assert_eq!(w.sim.stats().route("site_create"), 4);

    // A site of that name already in Datto (not synced yet) is mapped, not made again.
    let penguin_site = w.sim.add_site("Pre Existing Penguin");
    let penguin = w.company("Pre Existing Penguin", None).await;
    let (status, made) = w.create_site(&penguin).await;
    assert_eq!((status, made["created"].as_bool()), (200, Some(false)), "{made}");
    assert_eq!(made["site"]["siteUid"], penguin_site.as_str());
    assert_eq!(w.sim.sites_named("Pre Existing Penguin").len(), 1);
    assert_eq!(w.sim.stats().route("site_create"), 4);
}
