//! Devices to PSA configurations over HTTP, against moto and the simulators: the type mapping
//! (the PSA's lists read from the PSA, suggestions by name, ids checked against the PSA,
//! ConnectWise types with required questions flagged), and tenant isolation.

use rmmsync_tests::ticket_world::{TENANT, World, world};
use rmmsync_tests::{Handle, api_request, read_response};
use serde_json::{Value, json};
use shared::configurations::routes::ConfigurationsApi;
use shared::psa::PsaKind;

fn api(w: &World) -> ConfigurationsApi {
    ConfigurationsApi {
        store: w.api.store.clone(),
        secrets: w.api.secrets.clone(),
        psa: w.api.psa.clone(),
        settings: w.api.settings.clone(),
    }
}

async fn call_as(api: &ConfigurationsApi, tenant: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    read_response(api.handle(api_request(method, path, Some(tenant), body.as_ref())).await)
}

async fn call(api: &ConfigurationsApi, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    call_as(api, TENANT, method, path, body).await
}

fn types_path(w: &World) -> String {
    format!("/integrations/{}/configuration-types", w.datto_id)
}

async fn table(api: &ConfigurationsApi, w: &World) -> Value {
    let (status, table) = call(
        api,
        "GET",
        &format!("{}?psaIntegrationId={}", types_path(w), w.psa_id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{table}");
    table
}

#[tokio::test]
async fn autotask_type_mapping_reads_the_psa_suggests_and_checks_every_id() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let api = api(&w);
    let (status, options) = call(
        &api,
        "GET",
        &format!("/integrations/{}/configuration-options", w.psa_id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{options}");
    assert_eq!(options["psa"], "autotask");
    assert_eq!(options["types"].as_array().unwrap().len(), 6);
    assert_eq!(options["products"].as_array().unwrap().len(), 7);

    let t = table(&api, &w).await;
    let rows = t["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "the sync counted Datto types: {t}");
    assert!(
        rows.iter()
            .all(|r| r["mapping"].is_null() && r["createAllowed"] == false)
    );
    let row = &rows[0];
    let (category, device_type) = (row["category"].clone(), row["deviceType"].clone());
    let put = |type_id: Value, product: Option<&str>| {
        let mut body =
            json!({"psaIntegrationId": w.psa_id, "category": category, "deviceType": device_type, "typeId": type_id});
        if let Some(p) = product {
            body["productId"] = json!(p);
        }
        body
    };
    let (status, e) = call(&api, "PUT", &types_path(&w), Some(put(json!("2"), None))).await;
    assert_eq!((status, e["code"].as_str()), (422, Some("product_required")), "{e}");
    let (status, e) = call(&api, "PUT", &types_path(&w), Some(put(json!("2"), Some("107")))).await;
    assert_eq!((status, e["code"].as_str()), (422, Some("product_inactive")), "{e}");
    let (status, e) = call(&api, "PUT", &types_path(&w), Some(put(json!("99"), Some("102")))).await;
    assert_eq!(status, 404, "{e}");
    let (status, e) = call(&api, "PUT", &types_path(&w), Some(put(json!("2"), Some("999")))).await;
    assert_eq!(status, 404, "{e}");
    let (status, e) = call(
        &api,
        "PUT",
        &types_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "category": "Nope", "deviceType": "Nope", "typeId": "2", "productId": "102"})),
    )
    .await;
    assert_eq!(status, 404, "a Datto type the sync never saw: {e}");

    let (status, saved) = call(&api, "PUT", &types_path(&w), Some(put(json!("2"), Some("102")))).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["mapping"]["typeName"], "Server");
    assert_eq!(saved["mapping"]["productName"], "Managed Server");
    assert_eq!(saved["createAllowed"], true);
    let t = table(&api, &w).await;
    let again = t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["category"] == category && r["deviceType"] == device_type)
        .unwrap();
    assert_eq!(again["mapping"]["typeId"], "2");
    assert!(again["suggestion"].is_null());

    let (status, unmapped) = call(&api, "PUT", &types_path(&w), Some(put(Value::Null, None))).await;
    assert_eq!(status, 200, "{unmapped}");
    assert!(unmapped["mapping"].is_null());
    let t = table(&api, &w).await;
    assert!(t["rows"].as_array().unwrap().iter().all(|r| r["mapping"].is_null()));
}

#[tokio::test]
async fn connectwise_types_with_required_questions_map_with_a_warning() {
    let w = world(PsaKind::ConnectwiseManage, shared::time::now_millis).await;
    let api = api(&w);
    let (status, options) = call(
        &api,
        "GET",
        &format!("/integrations/{}/configuration-options", w.psa_id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{options}");
    let network = options["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Network Device")
        .unwrap()
        .clone();
    assert_eq!(network["requiredQuestions"], json!(["Management VLAN"]));
    assert!(
        options["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["closed"] == true)
    );
    assert!(options["products"].as_array().unwrap().is_empty());

    let t = table(&api, &w).await;
    let row = t["rows"][0].clone();
    let body = |type_id: &Value, product: Option<&str>| {
        let mut b = json!({"psaIntegrationId": w.psa_id, "category": row["category"], "deviceType": row["deviceType"], "typeId": type_id});
        if let Some(p) = product {
            b["productId"] = json!(p);
        }
        b
    };
    let (status, e) = call(&api, "PUT", &types_path(&w), Some(body(&network["id"], Some("1")))).await;
    assert_eq!(status, 400, "products are Autotask's: {e}");
    let (status, saved) = call(&api, "PUT", &types_path(&w), Some(body(&network["id"], None))).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["createAllowed"], false);
    assert!(
        saved["warning"].as_str().unwrap().contains("Management VLAN"),
        "{saved}"
    );
    let inactive = options["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["active"] == false)
        .unwrap()
        .clone();
    let (status, e) = call(&api, "PUT", &types_path(&w), Some(body(&inactive["id"], None))).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (422, Some("configuration_type_inactive")),
        "{e}"
    );
}

#[tokio::test]
async fn bad_bodies_name_every_problem_and_tenant_b_sees_nothing_of_tenant_a() {
    let w = world(PsaKind::Autotask, shared::time::now_millis).await;
    let api = api(&w);
    let (status, e) = call(
        &api,
        "PUT",
        &types_path(&w),
        Some(json!({"category": 1, "extra": true})),
    )
    .await;
    assert_eq!(status, 400);
    let message = e["message"].as_str().unwrap();
    for needle in [
        "`extra`",
        "`category`",
        "`psaIntegrationId`",
        "`deviceType`",
        "`typeId`",
    ] {
        assert!(message.contains(needle), "{message} lacks {needle}");
    }
    let (status, _) = call(&api, "GET", &types_path(&w), None).await;
    assert_eq!(status, 400, "psaIntegrationId is required");

    // Tenant A maps a type; tenant B, with A's ids, reaches neither integration nor mapping.
    let row = table(&api, &w).await["rows"][0].clone();
    let body = json!({"psaIntegrationId": w.psa_id, "category": row["category"], "deviceType": row["deviceType"],
        "typeId": "1", "productId": "101"});
    let (status, _) = call(&api, "PUT", &types_path(&w), Some(body.clone())).await;
    assert_eq!(status, 200);
    let other = "msp-other-tenant";
    let (status, _) = call_as(
        &api,
        other,
        "GET",
        &format!("/integrations/{}/configuration-options", w.psa_id),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call_as(
        &api,
        other,
        "GET",
        &format!("{}?psaIntegrationId={}", types_path(&w), w.psa_id),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call_as(&api, other, "PUT", &types_path(&w), Some(body)).await;
    assert_eq!(status, 404);
    let t = table(&api, &w).await;
    assert_eq!(
        t["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| !r["mapping"].is_null())
            .count(),
        1,
        "A's mapping is untouched"
    );
}
