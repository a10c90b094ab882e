//! PSA connections and the PSA import, end to end: API Gateway v2 events into
//! the handlers, moto's DynamoDB and Secrets Manager, and the Autotask and
//! ConnectWise Manage simulators over HTTP.

use rmmsync_tests::Handle;
use rmmsync_tests::{api_request, fresh_store, psa_connector, read_response, secrets_manager};
use serde_json::{Value, json};
use shared::connections::routes::IntegrationsApi;
use shared::datto::DattoConnector;
use shared::psa_import::handle_worker_event;
use shared::psa_import::routes::PsaImportApi;
use simulators::autotask::{AutotaskConfig, AutotaskSim};
use simulators::connectwise::{ConnectWiseConfig, ConnectWiseSim};
use std::collections::HashSet;

const TENANT: &str = "msp-psa";

struct Env {
    integrations: IntegrationsApi,
    import: PsaImportApi,
    autotask: AutotaskSim,
    connectwise: ConnectWiseSim,
}

async fn env(companies: usize) -> Env {
    let autotask = AutotaskSim::start(AutotaskConfig {
        companies,
        ..AutotaskConfig::default()
    })
    .await
    .unwrap();
    let connectwise = ConnectWiseSim::start(ConnectWiseConfig {
        companies,
        ..ConnectWiseConfig::default()
    })
    .await
    .unwrap();
    let aws = rmmsync_tests::aws_config().await;
    let store = fresh_store(&aws).await;
    let settings = rmmsync_tests::test_settings();
    let mut psa = psa_connector(&autotask.zone_information_url());
    // Small pages, so that a few dozen companies make several pages.
    psa.connectwise = psa.connectwise.with_page_size(10);
    Env {
        integrations: IntegrationsApi {
            store: store.clone(),
            secrets: secrets_manager(&aws),
            datto: DattoConnector::new(shared::http::client()),
            psa: psa.clone(),
            settings: settings.clone(),
            cascades: shared::app::integration_cascades(&store),
            psa_cascades: Vec::new(),
            runs: Default::default(),
        },
        import: PsaImportApi {
            store,
            secrets: secrets_manager(&aws),
            psa,
            settings,
        },
        autotask,
        connectwise,
    }
}

impl Env {
    async fn integrations(&self, method: &str, path: &str, tenant: &str, body: Option<Value>) -> (u16, Value) {
        read_response(
            self.integrations
                .handle(api_request(method, path, Some(tenant), body.as_ref()))
                .await,
        )
    }

    async fn import(&self, method: &str, path: &str, tenant: &str, body: Option<Value>) -> (u16, Value) {
        read_response(
            self.import
                .handle(api_request(method, path, Some(tenant), body.as_ref()))
                .await,
        )
    }

    fn autotask_body(&self) -> Value {
        let c = self.autotask.config();
        json!({ "type": "autotask", "username": c.username, "secret": c.secret })
    }

    fn connectwise_body(&self) -> Value {
        let c = self.connectwise.config();
        json!({ "type": "connectwise-manage", "site": self.connectwise.base_url(), "companyId": c.company_id,
                "publicKey": c.public_key, "privateKey": c.private_key })
    }

    async fn create(&self, body: Value) -> String {
        let (status, created) = self.integrations("POST", "/integrations", TENANT, Some(body)).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    /// Apply through the API, then the worker as the DynamoDB stream would call it.
    async fn apply(&self, id: &str) -> Value {
        let (status, queued) = self
            .import("POST", &format!("/integrations/{id}/psa-import/apply"), TENANT, None)
            .await;
        assert_eq!(status, 202, "{queued}");
        let run_id = queued["runId"].as_str().unwrap().to_owned();
        self.work(id, &run_id).await
    }

    async fn work(&self, id: &str, run_id: &str) -> Value {
        let event = json!({"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": {
            "PK": {"S": format!("TENANT#{TENANT}#INTEGRATION#{id}")}, "SK": {"S": format!("PSARUN#{run_id}")},
            "entity": {"S": "psa-import-run"}, "status": {"S": "queued"}, "tenant": {"S": TENANT},
            "integrationId": {"S": id}, "runId": {"S": run_id}}}}]});
        let out = handle_worker_event(&self.import.importer(), &event).await.unwrap();
        assert_eq!(out["runs"][0]["runId"], run_id);
        let (status, run) = self
            .import(
                "GET",
                &format!("/integrations/{id}/psa-import/runs/{run_id}"),
                TENANT,
                None,
            )
            .await;
        assert_eq!(status, 200, "{run}");
        run
    }

    async fn preview(&self, id: &str, query: &str) -> Value {
        let (status, preview) = self
            .import(
                "POST",
                &format!("/integrations/{id}/psa-import/preview?limit=5000{query}"),
                TENANT,
                None,
            )
            .await;
        assert_eq!(status, 200, "{preview}");
        preview
    }

    async fn companies(&self) -> Vec<Value> {
        let (status, page) = self.integrations_companies().await;
        assert_eq!(status, 200);
        page
    }

    async fn integrations_companies(&self) -> (u16, Vec<Value>) {
        let api = shared::companies::routes::CompaniesApi {
            store: self.import.store.clone(),
            cascades: shared::app::company_cascades(&self.import.store),
        };
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let path = format!("/companies?limit=200{cursor}");
            let (status, page) = read_response(api.handle(api_request("GET", &path, Some(TENANT), None)).await);
            if status != 200 {
                return (status, all);
            }
            all.extend(page["companies"].as_array().unwrap().iter().cloned());
            match page["nextCursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => return (200, all),
            }
        }
    }
}

/// PSA ids travel as text.
fn is_id(v: &Value, id: i64) -> bool {
    v.as_str() == Some(id.to_string().as_str())
}

fn records<'a>(preview: &'a Value, kind: &str) -> Vec<&'a Value> {
    preview["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["record"]["kind"] == kind)
        .collect()
}

#[tokio::test]
async fn connection_tests_name_the_cause_and_never_echo_keys() {
    let env = env(5).await;
    let at = env.autotask.config().clone();
    let cases = [
        (
            "/integrations/autotask/test",
            json!({"username": "nobody@msp.example", "secret": "whatever-secret"}),
            422,
            "psa.unknown_user",
        ),
        (
            "/integrations/autotask/test",
            json!({"username": at.username, "secret": "wrong-secret-value"}),
            422,
            "psa.bad_credentials",
        ),
        (
            "/integrations/autotask/test",
            json!({"username": at.username}),
            400,
            "invalid_request",
        ),
        (
            "/integrations/autotask/test",
            json!({"username": at.username, "secret": "x", "publicKey": "p"}),
            400,
            "invalid_request",
        ),
    ];
    for (path, body, status, code) in cases {
        let (got, answer) = env.integrations("POST", path, TENANT, Some(body)).await;
        assert_eq!((got, answer["code"].as_str().unwrap_or("")), (status, code), "{answer}");
        assert!(!answer.to_string().contains("wrong-secret-value"), "{answer}");
    }
    let (status, ok) = env
        .integrations("POST", "/integrations/autotask/test", TENANT, Some(env.autotask_body()))
        .await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["connection"]["account"], at.zone_name.as_str());
    assert!(!ok.to_string().contains(&at.secret));

    let cw = env.connectwise.config().clone();
    let mut unknown = env.connectwise_body();
    unknown["companyId"] = json!("nosuchco");
    let mut bad_keys = env.connectwise_body();
    bad_keys["privateKey"] = json!("wrong-private-key");
    for (body, code) in [(unknown, "psa.unknown_company"), (bad_keys, "psa.bad_credentials")] {
        let (status, answer) = env
            .integrations("POST", "/integrations/connectwise-manage/test", TENANT, Some(body))
            .await;
        assert_eq!((status, answer["code"].as_str().unwrap()), (422, code), "{answer}");
        assert!(!answer.to_string().contains("wrong-private-key"));
    }
    let (status, ok) = env
        .integrations(
            "POST",
            "/integrations/connectwise-manage/test",
            TENANT,
            Some(env.connectwise_body()),
        )
        .await;
    assert_eq!(status, 200, "{ok}");
    assert!(!ok.to_string().contains(&cw.private_key));
    // Unreachable: nothing listens there.
    let mut gone = env.connectwise_body();
    gone["site"] = json!("http://127.0.0.1:9");
    let (status, answer) = env
        .integrations("POST", "/integrations/connectwise-manage/test", TENANT, Some(gone))
        .await;
    assert_eq!(
        (status, answer["code"].as_str().unwrap()),
        (502, "psa.unreachable"),
        "{answer}"
    );
}

#[tokio::test]
async fn psa_integrations_share_the_integration_routes_per_tenant() {
    let env = env(5).await;
    let autotask = env.create(env.autotask_body()).await;
    let connectwise = env.create(env.connectwise_body()).await;
    let (status, list) = env.integrations("GET", "/integrations", TENANT, None).await;
    assert_eq!(status, 200);
    let kinds: HashSet<&str> = list["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, HashSet::from(["autotask", "connectwise-manage"]));
    assert!(!list.to_string().contains(&env.autotask.config().secret));
    assert!(!list.to_string().contains("secretArn") && !list.to_string().contains("arn:aws"));

    let (status, one) = env
        .integrations("GET", &format!("/integrations/{autotask}"), TENANT, None)
        .await;
    assert_eq!((status, one["type"].as_str().unwrap()), (200, "autotask"));
    // Another tenant sees nothing of it, by any route.
    for (method, path) in [
        ("GET", format!("/integrations/{autotask}")),
        ("DELETE", format!("/integrations/{autotask}")),
    ] {
        let (status, _) = env.integrations(method, &path, "other-tenant", None).await;
        assert_eq!(status, 404, "{method} {path}");
    }
    let (status, _) = env
        .import(
            "POST",
            &format!("/integrations/{autotask}/psa-import/preview"),
            "other-tenant",
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Rotation is tested first: a wrong secret changes nothing.
    let (status, refused) = env
        .integrations(
            "PUT",
            &format!("/integrations/{autotask}/credentials"),
            TENANT,
            Some(json!({"username": env.autotask.config().username, "secret": "nope-nope"})),
        )
        .await;
    assert_eq!(
        (status, refused["code"].as_str().unwrap()),
        (422, "psa.bad_credentials")
    );
    let (status, _) = env
        .integrations(
            "PUT",
            &format!("/integrations/{autotask}/credentials"),
            TENANT,
            Some(json!({"username": env.autotask.config().username, "secret": env.autotask.config().secret, "name": "Renamed"})),
        )
        .await;
    assert_eq!(status, 200);

    let (status, _) = env
        .integrations("DELETE", &format!("/integrations/{connectwise}"), TENANT, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = env
        .integrations("GET", &format!("/integrations/{connectwise}"), TENANT, None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn preview_then_apply_imports_every_kind_once_and_reruns_change_nothing() {
    let env = env(25).await;
    let id = env.create(env.autotask_body()).await;
    // A company the MSP typed by hand, named a little differently from the PSA's.
    let psa_companies = env.autotask.companies();
    let active = psa_companies.iter().find(|c| c.active).unwrap();
    let inactive_count = psa_companies.iter().filter(|c| !c.active).count();
    let hand_made_name = format!("{} Inc.", active.name.to_uppercase());
    let api = shared::companies::routes::CompaniesApi {
        store: env.import.store.clone(),
        cascades: shared::app::company_cascades(&env.import.store),
    };
    let (status, hand_made) = read_response(
        api.handle(api_request(
            "POST",
            "/companies",
            Some(TENANT),
            Some(&json!({"name": hand_made_name})),
        ))
        .await,
    );
    assert_eq!(status, 201, "{hand_made}");

    let preview = env.preview(&id, "").await;
    let companies = records(&preview, "company");
    assert_eq!(companies.len(), psa_companies.len());
    let matched = companies.iter().find(|r| is_id(&r["record"]["id"], active.id)).unwrap();
    assert_eq!(matched["action"], "match", "{matched}");
    assert_eq!(matched["basis"], "name");
    assert_eq!(matched["targetId"], hand_made["id"]);
    let excluded = companies.iter().filter(|r| r["action"] == "exclude").count();
    assert!(
        excluded >= inactive_count,
        "inactive companies are excluded: {excluded}"
    );
    assert_eq!(
        preview["counts"]["company"]["total"].as_u64().unwrap() as usize,
        psa_companies.len()
    );
    for kind in ["contact", "location", "configuration", "user"] {
        assert!(preview["counts"][kind]["total"].as_u64().unwrap() > 0, "{kind}");
    }
    // Filters and paging of the preview.
    let only_creates = env.preview(&id, "&kind=company&action=create").await;
    assert!(
        only_creates["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["action"] == "create" && r["record"]["kind"] == "company")
    );
    let (status, page) = env
        .import(
            "POST",
            &format!("/integrations/{id}/psa-import/preview?limit=3"),
            TENANT,
            None,
        )
        .await;
    assert_eq!((status, page["records"].as_array().unwrap().len()), (200, 3));
    assert_eq!(page["nextOffset"], 3);
    let (status, bad) = env
        .import(
            "POST",
            &format!("/integrations/{id}/psa-import/preview?kind=widget"),
            TENANT,
            None,
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    // The preview wrote nothing.
    assert_eq!(env.companies().await.len(), 1);

    // Apply, through throttling: the client waits out 429s.
    env.autotask.set_faults(simulators::autotask::Faults {
        force_429_next: 3,
        ..Default::default()
    });
    let run = env.apply(&id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let created = run["counts"]["company"]["created"].as_u64().unwrap() as usize;
    let portal = env.companies().await;
    assert_eq!(
        portal.len(),
        1 + created,
        "the hand-made company was linked, not copied"
    );
    let linked = portal.iter().find(|c| c["id"] == hand_made["id"]).unwrap();
    assert_eq!(linked["psa"]["id"], active.id.to_string());
    assert_eq!(linked["name"], hand_made_name.as_str(), "a person's name is kept");
    // Each linked company carries the PSA's company type by name: what the
    // company-side mapping table shows and filters on.
    let tenant = shared::tenant::TenantId::parse(TENANT).unwrap();
    let entries = env.import.store.company_entries(&tenant).await.unwrap();
    let expected_type = |psa_id: &str| {
        let sim = psa_companies.iter().find(|c| c.id.to_string() == psa_id).unwrap();
        match sim.company_type {
            1 => "Customer",
            3 => "Prospect",
            7 => "Vendor",
            other => panic!("the simulator drew an unexpected company type {other}"),
        }
    };
    let typed: Vec<_> = entries
        .iter()
        .filter_map(|e| e.psa_id.as_deref().map(|p| (e, p)))
        .collect();
    assert_eq!(typed.len(), 1 + created);
    for (entry, psa_id) in typed {
        assert_eq!(
            entry.company_type.as_deref(),
            Some(expected_type(psa_id)),
            "{}",
            entry.name
        );
    }
    let (status, contacts) = env.import("GET", "/contacts?limit=1000", TENANT, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        contacts["contacts"].as_array().unwrap().len() as u64,
        run["counts"]["contact"]["created"].as_u64().unwrap()
    );
    assert!(
        contacts["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["companyId"].is_string())
    );

    // Again: everything is a certain (PSA id) match; nothing is created or rewritten.
    let again = env.apply(&id).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    for kind in ["company", "contact", "location", "configuration", "user"] {
        assert_eq!(again["counts"][kind]["created"], 0, "{kind}: {again}");
    }
    assert_eq!(again["writes"], 0, "{again}");
    assert_eq!(env.companies().await.len(), 1 + created);
    let (_, runs) = env
        .import("GET", &format!("/integrations/{id}/psa-import/runs"), TENANT, None)
        .await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2);
    assert_eq!(runs["runs"][0]["runId"], again["runId"], "newest first");
}

#[tokio::test]
async fn overrides_exclude_bring_back_and_choose_a_match() {
    let env = env(12).await;
    let id = env.create(env.autotask_body()).await;
    let target = env.autotask.companies().into_iter().find(|c| c.active).unwrap();
    let other = env
        .autotask
        .companies()
        .into_iter()
        .filter(|c| c.active)
        .nth(1)
        .unwrap();
    let api = shared::companies::routes::CompaniesApi {
        store: env.import.store.clone(),
        cascades: shared::app::company_cascades(&env.import.store),
    };
    let (_, chosen) = read_response(
        api.handle(api_request(
            "POST",
            "/companies",
            Some(TENANT),
            Some(&json!({"name": "Completely Different Name"})),
        ))
        .await,
    );
    let path = format!("/integrations/{id}/psa-import/overrides");
    let (status, bad) = env
        .import(
            "PUT",
            &path,
            TENANT,
            Some(json!({"overrides": [
                {"kind": "company", "psaId": "1", "action": "match"},
                {"kind": "company", "psaId": "2", "action": "merge"},
                {"kind": "company", "psaId": "3", "action": "match", "targetId": "no-such-company"}
            ]})),
        )
        .await;
    assert_eq!(status, 400);
    let message = bad["message"].as_str().unwrap();
    assert!(
        message.contains("overrides[0]") && message.contains("overrides[1]") && message.contains("overrides[2]"),
        "{message}"
    );

    let (status, set) = env
        .import(
            "PUT",
            &path,
            TENANT,
            Some(json!({"overrides": [
                {"kind": "company", "psaId": target.id.to_string(), "action": "exclude"},
                {"kind": "company", "psaId": other.id.to_string(), "action": "match", "targetId": chosen["id"]}
            ]})),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["overrides"].as_array().unwrap().len(), 2);
    let preview = env.preview(&id, "").await;
    let find = |kind: &str, psa_id: i64| {
        records(&preview, kind)
            .into_iter()
            .find(|r| is_id(&r["record"]["id"], psa_id))
            .cloned()
    };
    let excluded = find("company", target.id).unwrap();
    assert_eq!(
        (excluded["action"].as_str(), excluded["byOverride"].as_bool()),
        (Some("exclude"), Some(true))
    );
    let chosen_match = find("company", other.id).unwrap();
    assert_eq!(chosen_match["basis"], "override");
    assert_eq!(chosen_match["targetId"], chosen["id"]);
    // The excluded company's contacts and locations are not imported either.
    let children: Vec<_> = records(&preview, "location")
        .into_iter()
        .filter(|r| is_id(&r["record"]["companyId"], target.id))
        .collect();
    assert!(!children.is_empty());
    assert!(children.iter().all(|r| r["action"] == "exclude"));

    // Brought back: the rules decide again.
    let (status, _) = env
        .import(
            "PUT",
            &path,
            TENANT,
            Some(json!({"overrides": [{"kind": "company", "psaId": target.id.to_string(), "action": "auto"}]})),
        )
        .await;
    assert_eq!(status, 200);
    let preview = env.preview(&id, "&kind=company").await;
    let back = preview["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| is_id(&r["record"]["id"], target.id))
        .unwrap();
    assert_eq!(back["action"], "create");
}

#[tokio::test]
async fn a_failure_in_the_middle_keeps_what_was_written_and_the_rerun_completes() {
    let env = env(40).await;
    let id = env.create(env.connectwise_body()).await;
    // Contacts fail after one good page; companies (imported first) are already written.
    env.connectwise.set_faults(simulators::connectwise::Faults {
        path_contains: Some("/company/contacts".into()),
        after_successes: 1,
        fail_next: 1_000,
        status: 500,
        ..Default::default()
    });
    let failed = env.apply(&id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["errors"][0]["kind"], "contact", "{failed}");
    let companies_after_failure = env.companies().await;
    let created = failed["counts"]["company"]["created"].as_u64().unwrap() as usize;
    assert!(created > 0);
    assert_eq!(companies_after_failure.len(), created);
    let (_, contacts) = env.import("GET", "/contacts", TENANT, None).await;
    assert_eq!(contacts["contacts"].as_array().unwrap().len(), 0);

    env.connectwise.set_faults(simulators::connectwise::Faults::default());
    let rerun = env.apply(&id).await;
    assert_eq!(rerun["status"], "succeeded", "{rerun}");
    assert_eq!(rerun["counts"]["company"]["created"], 0, "nothing duplicated: {rerun}");
    let companies = env.companies().await;
    assert_eq!(companies.len(), created, "nothing duplicated");
    let ids: HashSet<&str> = companies.iter().map(|c| c["psa"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), companies.len(), "one portal company per PSA company");
    let (_, contacts) = env.import("GET", "/contacts?limit=1000", TENANT, None).await;
    assert_eq!(
        contacts["contacts"].as_array().unwrap().len() as u64,
        rerun["counts"]["contact"]["created"].as_u64().unwrap(),
        "nothing lost"
    );
    assert!(rerun["counts"]["contact"]["created"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn the_nightly_run_creates_new_records_only_when_auto_create_is_on() {
    let env = env(8).await;
    let id = env.create(env.autotask_body()).await;
    assert_eq!(env.apply(&id).await["status"], "succeeded");
    let before = env.companies().await.len();
    let newcomer = env.autotask.add_company("Brand New Client Holdings", 1, true);

    // The schedule queues a run per PSA integration; the stream hands it to the worker.
    let tick = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let queued = handle_worker_event(&env.import.importer(), &tick).await.unwrap();
    assert_eq!(queued["queued"], 1);
    let (_, runs) = env
        .import("GET", &format!("/integrations/{id}/psa-import/runs"), TENANT, None)
        .await;
    let run_id = runs["runs"][0]["runId"].as_str().unwrap().to_owned();
    assert_eq!(runs["runs"][0]["trigger"], "schedule");
    let run = env.work(&id, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["company"]["pending"], 1, "{run}");
    assert_eq!(env.companies().await.len(), before);

    let (status, settings) = env
        .import(
            "PUT",
            &format!("/integrations/{id}/psa-import/settings"),
            TENANT,
            Some(json!({"autoCreate": {"companies": true}})),
        )
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["autoCreate"]["companies"], true);
    handle_worker_event(&env.import.importer(), &tick).await.unwrap();
    let (_, runs) = env
        .import("GET", &format!("/integrations/{id}/psa-import/runs"), TENANT, None)
        .await;
    let run = env.work(&id, runs["runs"][0]["runId"].as_str().unwrap()).await;
    assert_eq!(run["counts"]["company"]["created"], 1, "{run}");
    let portal = env.companies().await;
    assert_eq!(portal.len(), before + 1);
    assert!(portal.iter().any(|c| is_id(&c["psa"]["id"], newcomer)));

    // One run at a time.
    let (status, _) = env
        .import("POST", &format!("/integrations/{id}/psa-import/apply"), TENANT, None)
        .await;
    assert_eq!(status, 202);
    let (status, busy) = env
        .import("POST", &format!("/integrations/{id}/psa-import/apply"), TENANT, None)
        .await;
    assert_eq!((status, busy["code"].as_str().unwrap()), (409, "import_in_progress"));
}

// ---- Defects found in review, each reproduced first ----

impl Env {
    fn companies_api(&self) -> shared::companies::routes::CompaniesApi {
        shared::companies::routes::CompaniesApi {
            store: self.import.store.clone(),
            cascades: shared::app::company_cascades(&self.import.store),
        }
    }

    async fn company_call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        read_response(
            self.companies_api()
                .handle(api_request(method, path, Some(TENANT), body.as_ref()))
                .await,
        )
    }
}

#[tokio::test]
async fn a_company_linked_by_hand_to_connectwise_is_the_kind_everything_else_compares() {
    let env = env(6).await;
    let id = env.create(env.connectwise_body()).await;
    let cw = env.connectwise.companies();
    let target = cw
        .iter()
        .find(|c| c["deletedFlag"] != true && c["status"]["name"] != "Inactive")
        .unwrap();
    let psa_id = target["id"].as_i64().unwrap().to_string();
    // Linked by hand with the short name a person (or an older client) uses.
    let (status, linked) = env
        .company_call(
            "POST",
            "/companies",
            Some(json!({"name": "Hand Linked Holdings", "psa": {"kind": "connectwise", "id": psa_id}})),
        )
        .await;
    assert_eq!(status, 201, "{linked}");
    assert_eq!(linked["psa"]["kind"], "connectwise-manage", "{linked}");
    // The import sees it as a certain link, not as a company to create.
    let preview = env.preview(&id, "&kind=company").await;
    let planned = records(&preview, "company")
        .into_iter()
        .find(|r| r["record"]["id"] == psa_id.as_str())
        .unwrap();
    assert_eq!(
        (planned["action"].as_str(), planned["basis"].as_str()),
        (Some("match"), Some("psaId")),
        "{planned}"
    );
    assert_eq!(planned["targetId"], linked["id"]);

    // An item stored with the old string reads back as the one kind.
    let store = &env.import.store;
    let company_id = uuid::Uuid::new_v4().to_string();
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("TENANT#{TENANT}")),
        )
        .item(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("COMPANY#{company_id}")),
        )
        .item("entity", aws_sdk_dynamodb::types::AttributeValue::S("company".into()))
        .item("id", aws_sdk_dynamodb::types::AttributeValue::S(company_id.clone()))
        .item("name", aws_sdk_dynamodb::types::AttributeValue::S("Old Link".into()))
        .item(
            "normalizedName",
            aws_sdk_dynamodb::types::AttributeValue::S("old link".into()),
        )
        .item("source", aws_sdk_dynamodb::types::AttributeValue::S("manual".into()))
        .item(
            "psaKind",
            aws_sdk_dynamodb::types::AttributeValue::S("connectwise".into()),
        )
        .item("psaId", aws_sdk_dynamodb::types::AttributeValue::S("99999".into()))
        .item("createdAt", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .item("updatedAt", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let (status, old) = env.company_call("GET", &format!("/companies/{company_id}"), None).await;
    assert_eq!(
        (status, old["psa"]["kind"].as_str()),
        (200, Some("connectwise-manage")),
        "{old}"
    );
    // A kind nobody knows is refused, naming the field.
    let (status, bad) = env
        .company_call(
            "POST",
            "/companies",
            Some(json!({"name": "X", "psa": {"kind": "halo", "id": "1"}})),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("psa.kind"), "{bad}");
}

#[tokio::test]
async fn duplicate_overrides_are_refused_and_never_wedge_later_runs() {
    let env = env(8).await;
    let id = env.create(env.autotask_body()).await;
    let active: Vec<_> = env.autotask.companies().into_iter().filter(|c| c.active).collect();
    let (a, b) = (active[0].id.to_string(), active[1].id.to_string());
    let (status, target) = env
        .company_call("POST", "/companies", Some(json!({"name": "Shared Target"})))
        .await;
    assert_eq!(status, 201);
    let target = target["id"].as_str().unwrap().to_owned();
    let path = format!("/integrations/{id}/psa-import/overrides");
    // The same record twice in one request.
    let (status, dup) = env
        .import(
            "PUT",
            &path,
            TENANT,
            Some(json!({"overrides": [
                {"kind": "company", "psaId": a, "action": "exclude"},
                {"kind": "company", "psaId": format!(" {a} "), "action": "create"}]})),
        )
        .await;
    assert_eq!((status, dup["code"].as_str()), (400, Some("invalid_request")), "{dup}");
    assert!(
        dup["message"].as_str().unwrap().contains(&format!("company {a}")),
        "{dup}"
    );
    // Two records matched to one portal company in one request.
    let (status, two) = env
        .import(
            "PUT",
            &path,
            TENANT,
            Some(json!({"overrides": [
                {"kind": "company", "psaId": a, "action": "match", "targetId": target},
                {"kind": "company", "psaId": b, "action": "match", "targetId": target}]})),
        )
        .await;
    assert_eq!(status, 400, "{two}");
    assert!(two["message"].as_str().unwrap().contains(&target), "{two}");
    // ... or one now and one later: the second names the first.
    let (status, _) = env
        .import(
            "PUT",
            &path,
            TENANT,
            Some(json!({"overrides": [{"kind": "company", "psaId": a, "action": "match", "targetId": target}]})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, later) = env
        .import(
            "PUT",
            &path,
            TENANT,
            Some(json!({"overrides": [{"kind": "company", "psaId": b, "action": "match", "targetId": target}]})),
        )
        .await;
    assert_eq!(status, 400, "{later}");
    assert!(later["message"].as_str().unwrap().contains(&a), "{later}");
    // Moving the match from a to b in one request is fine.
    let (status, moved) = env
        .import(
            "PUT",
            &path,
            TENANT,
            Some(json!({"overrides": [
                {"kind": "company", "psaId": a, "action": "auto"},
                {"kind": "company", "psaId": b, "action": "match", "targetId": target}]})),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    let run = env.apply(&id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let again = env.apply(&id).await;
    assert_eq!(again["status"], "succeeded", "{again}");
}

#[tokio::test]
async fn the_batch_writer_takes_duplicate_keys() {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    let env = env(1).await;
    let store = &env.import.store;
    let put = |v: &str| {
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .item("PK", AttributeValue::S("TENANT#dup".into()))
                    .item("SK", AttributeValue::S("X#1".into()))
                    .item("v", AttributeValue::S(v.into()))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    store.batch_write(vec![put("first"), put("second")]).await.unwrap();
    let got = store
        .client()
        .get_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S("TENANT#dup".into()))
        .key("SK", AttributeValue::S("X#1".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.item.unwrap()["v"],
        AttributeValue::S("second".into()),
        "the last one wins"
    );
}

#[tokio::test]
async fn oversized_ids_and_offsets_are_bad_requests() {
    let env = env(4).await;
    let id = env.create(env.autotask_body()).await;
    let long = "x".repeat(3_000);
    for path in [
        format!("/integrations/{long}/psa-import/runs"),
        format!("/integrations/{id}/psa-import/runs/{long}"),
    ] {
        let (status, body) = env.import("GET", &path, TENANT, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
    }
    let (status, body) = env
        .integrations("GET", &format!("/integrations/{long}"), TENANT, None)
        .await;
    assert_eq!(status, 400, "{body}");
    // offset + limit past usize::MAX: an empty page, not an overflow.
    let huge = u64::MAX;
    let (status, page) = env
        .import("GET", &format!("/contacts?offset={huge}&limit=1000"), TENANT, None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        (page["contacts"].as_array().unwrap().len(), &page["nextOffset"]),
        (0, &Value::Null)
    );
    let (status, preview) = env
        .import(
            "POST",
            &format!("/integrations/{id}/psa-import/preview?offset={huge}&limit=5000"),
            TENANT,
            None,
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["records"].as_array().unwrap().len(), 0);
}

// ---- The import the way Passportal's users expect it ----

impl Env {
    async fn settings(&self, id: &str, body: Value) -> (u16, Value) {
        self.import(
            "PUT",
            &format!("/integrations/{id}/psa-import/settings"),
            TENANT,
            Some(body),
        )
        .await
    }

    async fn list(&self, collection: &str) -> Vec<Value> {
        let (status, page) = self
            .import("GET", &format!("/{collection}?limit=1000"), TENANT, None)
            .await;
        assert_eq!(status, 200, "{page}");
        page[collection].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn kinds_switched_off_are_not_imported_and_auto_create_is_only_for_kinds_that_are_on() {
    let env = env(6).await;
    let id = env.create(env.autotask_body()).await;
    let (status, all_on) = env
        .import("GET", &format!("/integrations/{id}/psa-import/settings"), TENANT, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        all_on["kinds"],
        json!({"companies": true, "contacts": true, "locations": true, "configurations": true, "users": true})
    );
    let (status, off) = env
        .settings(&id, json!({"kinds": {"contacts": false, "users": false}}))
        .await;
    assert_eq!(status, 200, "{off}");
    assert_eq!(
        (off["kinds"]["users"].as_bool(), off["kinds"]["companies"].as_bool()),
        (Some(false), Some(true))
    );
    // Auto-create is not offered for a kind that is off.
    let (status, refused) = env
        .settings(&id, json!({"autoCreate": {"users": true, "companies": true}}))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("autoCreate.users"),
        "{refused}"
    );
    let (status, ok) = env.settings(&id, json!({"autoCreate": {"companies": true}})).await;
    assert_eq!(
        (status, ok["autoCreate"]["companies"].as_bool()),
        (200, Some(true)),
        "{ok}"
    );
    // Switching companies off takes its auto-create with it.
    let (status, both) = env
        .settings(
            &id,
            json!({"kinds": {"companies": false, "contacts": false, "users": false}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(both["autoCreate"]["companies"], false, "{both}");
    let (status, _) = env
        .settings(&id, json!({"kinds": {"contacts": false, "users": false}}))
        .await;
    assert_eq!(status, 200);

    let run = env.apply(&id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(run["counts"]["company"]["created"].as_u64().unwrap() > 0, "{run}");
    assert!(
        run["counts"].get("user").is_none() && run["counts"].get("contact").is_none(),
        "{run}"
    );
    assert!(env.list("users").await.is_empty());
    assert!(env.list("contacts").await.is_empty());
    assert!(!env.list("locations").await.is_empty());
    // A kind switched off cannot have its unmatched records created.
    let (status, body) = env
        .import(
            "POST",
            &format!("/integrations/{id}/psa-import/create-unmatched"),
            TENANT,
            Some(json!({"kind": "user"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // With companies off, children still find the companies linked before.
    let (status, _) = env
        .settings(
            &id,
            json!({"kinds": {"companies": false, "contacts": true, "users": false}}),
        )
        .await;
    assert_eq!(status, 200);
    let run = env.apply(&id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(run["counts"].get("company").is_none(), "{run}");
    assert!(run["counts"]["contact"]["created"].as_u64().unwrap() > 0, "{run}");
}

#[tokio::test]
async fn undecided_records_wait_and_create_unmatched_creates_them_in_one_call() {
    let env = env(8).await;
    let id = env.create(env.autotask_body()).await;
    let active: Vec<_> = env.autotask.companies().into_iter().filter(|c| c.active).collect();
    let (a, b) = (active[0].id.to_string(), active[1].id.to_string());
    let (status, set) = env
        .import(
            "PUT",
            &format!("/integrations/{id}/psa-import/overrides"),
            TENANT,
            Some(json!({"overrides": [
                {"kind": "company", "psaId": a, "action": "undecided"},
                {"kind": "company", "psaId": b, "action": "undecided"}]})),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    let preview = env.preview(&id, "&kind=company&action=pending").await;
    let waiting: HashSet<&str> = records(&preview, "company")
        .iter()
        .map(|r| r["record"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(waiting, HashSet::from([a.as_str(), b.as_str()]));
    let run = env.apply(&id).await;
    assert_eq!(run["counts"]["company"]["pending"], 2, "{run}");
    let has = |portal: &[Value], psa: &str| portal.iter().any(|c| c["psa"]["id"] == psa);
    let portal = env.companies().await;
    assert!(!has(&portal, &a) && !has(&portal, &b), "neither created ...");
    let (_, view) = env
        .import("GET", &format!("/integrations/{id}/psa-import/overrides"), TENANT, None)
        .await;
    assert_eq!(
        view["overrides"].as_array().unwrap().len(),
        2,
        "... nor excluded: {view}"
    );

    // One call creates every waiting company.
    let (status, queued) = env
        .import(
            "POST",
            &format!("/integrations/{id}/psa-import/create-unmatched"),
            TENANT,
            Some(json!({"kind": "company"})),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let run = env.work(&id, queued["runId"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["createUnmatched"], "company");
    assert_eq!(run["counts"]["company"]["created"], 2, "{run}");
    let portal = env.companies().await;
    assert!(has(&portal, &a) && has(&portal, &b));
    let (status, bad) = env
        .import(
            "POST",
            &format!("/integrations/{id}/psa-import/create-unmatched"),
            TENANT,
            Some(json!({"kind": "widget"})),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
}

#[tokio::test]
async fn records_deactivated_or_deleted_in_the_psa_become_inactive_in_the_portal() {
    use simulators::autotask::Entity;
    let env = env(8).await;
    let id = env.create(env.autotask_body()).await;
    assert_eq!(env.apply(&id).await["status"], "succeeded");
    let active: Vec<_> = env.autotask.companies().into_iter().filter(|c| c.active).collect();
    let (deactivated, deleted) = (active[0].id, active[1].id);
    let contacts = env.list("contacts").await;
    let contact = contacts.iter().find(|c| c["active"] == true).unwrap();
    let contact_psa: i64 = contact["psaId"].as_str().unwrap().parse().unwrap();
    assert!(env.autotask.set_company_active(deactivated, false));
    assert!(env.autotask.delete_record(Entity::Companies, deleted));
    assert!(env.autotask.delete_record(Entity::Contacts, contact_psa));
    let run = env.apply(&id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["company"]["deactivated"], 1, "{run}");
    let portal = env.companies().await;
    let state = |psa: i64| {
        portal
            .iter()
            .find(|c| c["psa"]["id"] == psa.to_string().as_str())
            .unwrap_or_else(|| panic!("{psa} kept"))["active"]
            .clone()
    };
    assert_eq!((state(deactivated), state(deleted)), (json!(false), json!(false)));
    assert_eq!(state(active[2].id), json!(true));
    let contacts = env.list("contacts").await;
    assert_eq!(
        contacts.iter().find(|c| c["id"] == contact["id"]).unwrap()["active"],
        false
    );
    // Active again in the PSA: active again in the portal.
    env.autotask.set_company_active(deactivated, true);
    env.apply(&id).await;
    let portal = env.companies().await;
    assert_eq!(
        portal
            .iter()
            .find(|c| c["psa"]["id"] == deactivated.to_string().as_str())
            .unwrap()["active"],
        true
    );

    // ConnectWise: a company flagged deleted, and one deleted outright.
    let cw = env.create(env.connectwise_body()).await;
    assert_eq!(env.apply(&cw).await["status"], "succeeded");
    let cw_active: Vec<i64> = env
        .connectwise
        .companies()
        .iter()
        .filter(|c| c["deletedFlag"] != true && c["status"]["name"] != "Inactive")
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    let portal = env.companies().await;
    let linked: Vec<i64> = cw_active
        .iter()
        .copied()
        .filter(|id| {
            portal
                .iter()
                .any(|c| c["psa"]["kind"] == "connectwise-manage" && c["psa"]["id"] == id.to_string().as_str())
        })
        .collect();
    assert!(linked.len() >= 2, "{linked:?}");
    env.connectwise
        .change_company(linked[0], |c| c["deletedFlag"] = json!(true));
    assert!(env.connectwise.delete_company(linked[1]));
    let run = env.apply(&cw).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let portal = env.companies().await;
    for id in &linked[..2] {
        let c = portal
            .iter()
            .find(|c| c["psa"]["kind"] == "connectwise-manage" && c["psa"]["id"] == id.to_string().as_str())
            .unwrap();
        assert_eq!(c["active"], false, "{c}");
    }
}

#[tokio::test]
async fn two_integrations_of_one_kind_never_share_records() {
    let env = env(6).await;
    let first = env.create(env.autotask_body()).await;
    let mut second_body = env.autotask_body();
    second_body["name"] = json!("Second database");
    let second = env.create(second_body).await;
    let one = env.apply(&first).await;
    let created = one["counts"]["company"]["created"].as_u64().unwrap() as usize;
    assert!(created > 0);
    // The same PSA ids (here: the same simulated database) in another integration.
    let two = env.apply(&second).await;
    assert_eq!(two["status"], "succeeded", "{two}");
    assert_eq!(
        two["counts"]["company"]["created"].as_u64().unwrap() as usize,
        created,
        "its own records, not the first's: {two}"
    );
    assert_eq!(env.companies().await.len(), 2 * created);
    // Neither run takes the other's records over.
    for id in [&first, &second] {
        let again = env.apply(id).await;
        assert_eq!(again["writes"], 0, "{again}");
    }
}

#[tokio::test]
async fn a_crashed_run_is_taken_over_and_marked() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let env = env(4).await;
    let id = env.create(env.autotask_body()).await;
    let (status, queued) = env
        .import("POST", &format!("/integrations/{id}/psa-import/apply"), TENANT, None)
        .await;
    assert_eq!(status, 202);
    let crashed = queued["runId"].as_str().unwrap().to_owned();
    let store = &env.import.store;
    let pk = AttributeValue::S(format!("TENANT#{TENANT}#INTEGRATION#{id}"));
    // The worker claimed it, then its Lambda died: `running`, lease past its expiry.
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("PK", pk.clone())
        .key("SK", AttributeValue::S(format!("PSARUN#{crashed}")))
        .update_expression("SET #s = :r")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":r", AttributeValue::S("running".into()))
        .send()
        .await
        .unwrap();
    let (status, busy) = env
        .import("POST", &format!("/integrations/{id}/psa-import/apply"), TENANT, None)
        .await;
    assert_eq!(
        (status, busy["code"].as_str()),
        (409, Some("import_in_progress")),
        "a live lease still holds"
    );
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("PK", pk)
        .key("SK", AttributeValue::S("PSAIMPORT#LEASE".into()))
        .update_expression("SET expiresAt = :past")
        .expression_attribute_values(":past", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let (status, next) = env
        .import("POST", &format!("/integrations/{id}/psa-import/apply"), TENANT, None)
        .await;
    assert_eq!(status, 202, "{next}");
    let (_, old) = env
        .import(
            "GET",
            &format!("/integrations/{id}/psa-import/runs/{crashed}"),
            TENANT,
            None,
        )
        .await;
    assert_eq!(old["status"], "failed", "{old}");
    assert_eq!(old["errors"][0]["code"], "psa_import.crashed", "{old}");
    assert!(
        old["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(next["runId"].as_str().unwrap())
    );
    assert!(old["finishedAt"].is_number());
    let run = env.work(&id, next["runId"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
}
