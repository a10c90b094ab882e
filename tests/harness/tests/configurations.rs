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
        safety_cap: shared::configurations::table::DEFAULT_SAFETY_CAP,
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

// ----- the mapping table, the writes and the audit trail -----

use rmmsync_tests::ticket_world::world_with;
use shared::tenant::TenantId;
use simulators::autotask::Entity;
use std::collections::HashMap;
use std::time::Duration;

fn map_path(w: &World) -> String {
    format!("/integrations/{}/configuration-map", w.datto_id)
}

async fn rows(api: &ConfigurationsApi, w: &World, query: &str) -> (Vec<Value>, Value) {
    let (status, page) = call(
        api,
        "GET",
        &format!("{}?psaIntegrationId={}{query}", map_path(w), w.psa_id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    (page["devices"].as_array().unwrap().clone(), page["nextCursor"].clone())
}

fn by_uid(rows: &[Value]) -> HashMap<String, Value> {
    rows.iter()
        .map(|r| (r["deviceUid"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// The synced records of the world's site devices, as rmmsync holds them.
async fn synced(w: &World) -> HashMap<String, shared::sync::plan::DeviceRecord> {
    let tenant = TenantId::parse(TENANT).unwrap();
    w.api
        .store
        .devices_by_uid(&tenant, &w.datto_id, &w.site_devices)
        .await
        .unwrap()
}

/// Maps every Datto type of the table to the Autotask Workstation type and product 101.
async fn map_all_types_autotask(api: &ConfigurationsApi, w: &World) {
    for row in table(api, w).await["rows"].as_array().unwrap() {
        let body = json!({"psaIntegrationId": w.psa_id, "category": row["category"], "deviceType": row["deviceType"],
            "typeId": "1", "productId": "101"});
        let (status, saved) = call(api, "PUT", &types_path(w), Some(body)).await;
        assert_eq!(status, 200, "{saved}");
    }
}

#[tokio::test]
async fn the_table_proposes_by_link_serial_and_name_then_maps_links_creates_and_unmaps() {
    let w = world_with(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 4).await;
    let api = api(&w);
    let at = w.autotask();
    let devices = synced(&w).await;
    let uids = w.site_devices.clone();
    let company = at
        .companies()
        .into_iter()
        .find(|c| c.name == "Harbor Dental Group")
        .unwrap()
        .id;
    // device 0: the world's CI carries its uid (existing link).
    // device 1: a CI with its serial under another name; device 2: a CI named after its host.
    let d1 = &devices[&uids[1]];
    let serial = d1.serial_number.clone().expect("the sync audited the device");
    let by_serial = at.add_configuration_item(
        company,
        Some("OLD-NAME-01"),
        None,
        Some(&format!(" {} ", serial.to_lowercase())),
    );
    let host2 = devices[&uids[2]].hostname.clone().unwrap();
    let by_name = at.add_configuration_item(company, Some(&host2.to_uppercase()), None, None);
    // An inactive CI with device 3's name is no candidate.
    let host3 = devices[&uids[3]].hostname.clone().unwrap();
    let retired = at.add_configuration_item(company, Some(&host3), None, None);
    at.change_record(Entity::ConfigurationItems, retired, |r| {
        r.insert("isActive".into(), json!(false));
    });

    let (all, _) = rows(&api, &w, "").await;
    assert_eq!(all.len(), 4, "{all:?}");
    let r = by_uid(&all);
    assert_eq!(
        (r[&uids[0]]["state"].as_str(), r[&uids[0]]["rule"].as_str()),
        (Some("proposed"), Some("existingLink"))
    );
    assert_eq!(r[&uids[0]]["configurationId"], w.ci_id.unwrap().to_string());
    assert_eq!(
        (r[&uids[1]]["state"].as_str(), r[&uids[1]]["rule"].as_str()),
        (Some("proposed"), Some("serial"))
    );
    assert_eq!(r[&uids[1]]["configurationId"], by_serial.to_string());
    assert_eq!(
        (r[&uids[2]]["state"].as_str(), r[&uids[2]]["rule"].as_str()),
        (Some("proposed"), Some("name"))
    );
    assert_eq!(r[&uids[2]]["configurationId"], by_name.to_string());
    assert_eq!(
        r[&uids[3]]["state"], "warning",
        "new proposed, but its type is not mapped: {}",
        r[&uids[3]]
    );

    // Filters and paging.
    let (serial_only, _) = rows(&api, &w, "&rule=serial").await;
    assert_eq!(serial_only.len(), 1);
    let (first, cursor) = rows(&api, &w, "&limit=3").await;
    assert_eq!(first.len(), 3);
    let (rest, end) = rows(&api, &w, &format!("&limit=3&cursor={}", cursor.as_str().unwrap())).await;
    assert_eq!(rest.len(), 1);
    assert!(end.is_null());
    let (status, e) = call(
        &api,
        "GET",
        &format!("{}?psaIntegrationId={}&state=bogus", map_path(&w), w.psa_id),
        None,
    )
    .await;
    assert_eq!(status, 400, "{e}");

    map_all_types_autotask(&api, &w).await;
    let (all, _) = rows(&api, &w, "").await;
    assert_eq!(by_uid(&all)[&uids[3]]["state"], "proposedNew");

    let (status, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": uids, "to": "proposal"})),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let results: Vec<&str> = report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, vec!["linked", "linked", "linked", "created"], "{report}");
    assert_eq!(
        at.record(Entity::ConfigurationItems, by_serial).unwrap()["rmmDeviceUID"],
        uids[1].as_str(),
        "linking writes the uid"
    );
    let created = at.configuration_items_for_device(&uids[3]);
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["productID"], 101);
    assert_eq!(created[0]["referenceTitle"], host3.as_str());

    let (mapped, _) = rows(&api, &w, "&state=mapped").await;
    assert_eq!(mapped.len(), 4);
    let (unmapped, _) = rows(&api, &w, "&state=unmapped").await;
    assert!(unmapped.is_empty());

    // Mapping again is refused per device; nothing is written twice.
    let (_, again) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": [uids[3]], "to": "new"})),
    )
    .await;
    assert_eq!(again["outcomes"][0]["result"], "failed");
    assert_eq!(at.configuration_items_for_device(&uids[3]).len(), 1);

    // Unmap: the configuration stays active; the device is proposed again by its link.
    let (status, report) = call(
        &api,
        "POST",
        &format!("/integrations/{}/configuration-unmap", w.datto_id),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": [uids[1]]})),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["outcomes"][0]["result"], "unmapped");
    assert_eq!(
        at.record(Entity::ConfigurationItems, by_serial).unwrap()["isActive"],
        true
    );
    let r = by_uid(&rows(&api, &w, "").await.0);
    assert_eq!(
        (r[&uids[1]]["state"].as_str(), r[&uids[1]]["rule"].as_str()),
        (Some("proposed"), Some("existingLink"))
    );

    // The audit trail: four writes and the unmap, newest first.
    let (status, audit) = call(
        &api,
        "GET",
        &format!(
            "/integrations/{}/configuration-audit?psaIntegrationId={}",
            w.datto_id, w.psa_id
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    let records = audit["records"].as_array().unwrap();
    let actions: Vec<&str> = records.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "link").count(), 3, "{audit}");
    assert_eq!(actions.iter().filter(|a| **a == "create").count(), 1, "{audit}");
    assert_eq!(actions[0], "unmap", "newest first: {audit}");
    let serial_link = records
        .iter()
        .find(|a| a["deviceUid"] == uids[1].as_str() && a["action"] == "link")
        .unwrap();
    assert_eq!(serial_link["rule"], "serial");
    assert_eq!(serial_link["result"], "ok");
    assert!(records.iter().all(|a| a["at"].as_i64().unwrap() > 0));
}

#[tokio::test]
async fn a_fault_half_way_through_a_creation_run_duplicates_nothing() {
    let w = world_with(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 4).await;
    let api = api(&w);
    let at = w.autotask();
    map_all_types_autotask(&api, &w).await;
    let new: Vec<String> = w.site_devices[1..].to_vec();
    // The first create fails before Autotask does anything; the second's answer is lost
    // after Autotask made the CI; the third goes through.
    at.fail_next_ci_creates(1);
    at.lose_next_ci_create_answers(1);
    let (status, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": new, "to": "new"})),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let results: Vec<&str> = report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, vec!["failed", "linked", "created"], "{report}");
    assert!(at.configuration_items_for_device(&new[0]).is_empty());
    for uid in &new[1..] {
        assert_eq!(
            at.configuration_items_for_device(uid).len(),
            1,
            "one CI for {uid}: {report}"
        );
    }
    assert_eq!(
        at.stats().route("ConfigurationItems.create"),
        3,
        "no create was re-sent"
    );
    let (mapped, _) = rows(&api, &w, "&state=mapped").await;
    assert_eq!(mapped.len(), 2, "{mapped:?}");

    // The next run: the failed device is created, the others are refused; one CI each.
    let (_, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": new, "to": "new"})),
    )
    .await;
    let results: Vec<&str> = report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, vec!["created", "failed", "failed"], "{report}");
    for uid in &new {
        assert_eq!(at.configuration_items_for_device(uid).len(), 1, "one CI for {uid}");
    }
    let (status, audit) = call(
        &api,
        "GET",
        &format!(
            "/integrations/{}/configuration-audit?psaIntegrationId={}",
            w.datto_id, w.psa_id
        ),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let records = audit["records"].as_array().unwrap();
    assert_eq!(records.iter().filter(|a| a["result"] == "failed").count(), 1, "{audit}");
    assert_eq!(records.iter().filter(|a| a["result"] == "ok").count(), 3, "{audit}");
    assert!(
        records
            .iter()
            .any(|a| a["message"].as_str().is_some_and(|m| m.contains("nothing created"))),
        "{audit}"
    );
}

#[tokio::test]
async fn connectwise_required_questions_allow_only_existing_configurations_and_tenant_b_sees_nothing() {
    let w = world_with(PsaKind::ConnectwiseManage, shared::time::now_millis, Duration::ZERO, 2).await;
    let api = api(&w);
    let cw = w.connectwise();
    let (_, options) = call(
        &api,
        "GET",
        &format!("/integrations/{}/configuration-options", w.psa_id),
        None,
    )
    .await;
    let network = options["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Network Device")
        .unwrap()["id"]
        .clone();
    for row in table(&api, &w).await["rows"].as_array().unwrap() {
        let body = json!({"psaIntegrationId": w.psa_id, "category": row["category"], "deviceType": row["deviceType"], "typeId": network});
        assert_eq!(call(&api, "PUT", &types_path(&w), Some(body)).await.0, 200);
    }
    let uids = w.site_devices.clone();
    let r = by_uid(&rows(&api, &w, "").await.0);
    for uid in &uids {
        assert_eq!(r[uid]["state"], "warning", "{}", r[uid]);
        assert!(r[uid]["warning"].as_str().unwrap().contains("required questions"));
    }
    let (_, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": [uids[0]], "to": "new"})),
    )
    .await;
    assert_eq!(report["outcomes"][0]["result"], "failed", "{report}");
    assert!(cw.configurations_for_device(&uids[0]).is_empty());
    // A configuration picked by hand in the device's company is linked.
    let company = cw
        .companies()
        .into_iter()
        .find(|c| c["name"] == "Harbor Dental Group")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let picked = cw.add_configuration(company, json!({"name": "FRONT-DESK-SWITCH"}));
    let (_, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": [uids[0]], "to": picked.to_string()})),
    )
    .await;
    assert_eq!(report["outcomes"][0]["result"], "linked", "{report}");
    assert_eq!(cw.configurations_for_device(&uids[0]).len(), 1);
    // A configuration of another company cannot be picked.
    let other = cw.companies().into_iter().find(|c| c["id"] != company).unwrap()["id"]
        .as_i64()
        .unwrap();
    let foreign = cw.add_configuration(other, json!({"name": "ELSEWHERE"}));
    let (_, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": [uids[1]], "to": foreign.to_string()})),
    )
    .await;
    assert_eq!(report["outcomes"][0]["result"], "failed", "{report}");

    // Tenant B, with A's ids, reaches nothing.
    let b = "msp-tenant-b";
    for path in [
        format!("{}?psaIntegrationId={}", map_path(&w), w.psa_id),
        format!(
            "/integrations/{}/configuration-audit?psaIntegrationId={}",
            w.datto_id, w.psa_id
        ),
    ] {
        assert_eq!(call_as(&api, b, "GET", &path, None).await.0, 404, "{path}");
    }
    let (status, _) = call_as(
        &api,
        b,
        "POST",
        &format!("/integrations/{}/configuration-unmap", w.datto_id),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": [uids[0]]})),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(rows(&api, &w, "&state=mapped").await.0.len(), 1, "A's map is untouched");
}

/// Runs one Datto RMM sync of the world's integration, as the worker would.
async fn resync(w: &World) {
    use shared::sync::{SyncDeps, SyncSettings, run::RunBudget, run::start_run};
    let tenant = TenantId::parse(TENANT).unwrap();
    let deps = SyncDeps {
        store: w.api.store.clone(),
        secrets: w.api.secrets.clone(),
        datto: w.api.datto.clone(),
        settings: SyncSettings::default(),
    };
    let run = start_run(&deps, &tenant, &w.datto_id, shared::runs::Trigger::Manual)
        .await
        .unwrap();
    shared::workers::sync_run(&deps, &tenant, &w.datto_id, &run.run_id, &RunBudget::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn later_syncs_write_changed_fields_the_warranty_only_when_empty_and_deleted_devices_go_inactive() {
    let w = world_with(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 3).await;
    let api = api(&w);
    let at = w.autotask();
    map_all_types_autotask(&api, &w).await;
    let uids = w.site_devices.clone();
    let (_, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": uids, "to": "proposal"})),
    )
    .await;
    assert!(
        report["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["result"] != "failed"),
        "{report}"
    );
    let ci = |uid: &str| at.configuration_items_for_device(uid)[0].clone();
    let ci0 = ci(&uids[0])["id"].as_i64().unwrap();
    let ci1 = ci(&uids[1])["id"].as_i64().unwrap();
    let ci2 = ci(&uids[2])["id"].as_i64().unwrap();
    at.change_record(Entity::ConfigurationItems, ci0, |r| {
        r.insert("warrantyExpirationDate".into(), Value::Null);
    });
    at.change_record(Entity::ConfigurationItems, ci1, |r| {
        r.insert("warrantyExpirationDate".into(), json!("2026-01-01T00:00:00Z"));
    });
    w.datto_sim.change_device(&uids[0], |d| {
        d.int_ip_address = Some("10.9.9.9".into());
        d.warranty_date = Some("2030-12-31".into());
    });
    w.datto_sim.change_device(&uids[1], |d| {
        d.int_ip_address = Some("10.9.9.8".into());
        d.warranty_date = Some("2031-01-01".into());
    });
    w.datto_sim.delete_device(&uids[2]);
    resync(&w).await;

    let path = format!("/integrations/{}/configuration-refresh", w.datto_id);
    let (status, done) = call(&api, "POST", &path, Some(json!({"psaIntegrationId": w.psa_id}))).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (
            done["updated"].as_i64(),
            done["deactivated"].as_i64(),
            done["failed"].as_i64()
        ),
        (Some(2), Some(1), Some(0)),
        "{done}"
    );
    let r0 = at.record(Entity::ConfigurationItems, ci0).unwrap();
    assert_eq!(r0["rmmDeviceAuditIPAddress"], "10.9.9.9");
    assert_eq!(
        r0["warrantyExpirationDate"], "2030-12-31",
        "an empty warranty is filled"
    );
    let r1 = at.record(Entity::ConfigurationItems, ci1).unwrap();
    assert_eq!(r1["rmmDeviceAuditIPAddress"], "10.9.9.8");
    assert_eq!(
        r1["warrantyExpirationDate"], "2026-01-01T00:00:00Z",
        "a set warranty is never overwritten"
    );
    let r2 = at.record(Entity::ConfigurationItems, ci2).unwrap();
    assert_eq!(r2["isActive"], false, "deleted in Datto: inactive");
    assert_eq!(r2["rmmDeviceUID"], uids[2].as_str());
    let (mapped, _) = rows(&api, &w, "&state=mapped").await;
    assert_eq!(mapped.len(), 2, "the deleted device is unmapped");

    // Nothing changed since: nothing is written.
    let updates = at.stats().route("ConfigurationItems.update");
    let (_, again) = call(&api, "POST", &path, Some(json!({"psaIntegrationId": w.psa_id}))).await;
    assert_eq!(
        (again["updated"].as_i64(), again["unchanged"].as_i64()),
        (Some(0), Some(2)),
        "{again}"
    );
    assert_eq!(at.stats().route("ConfigurationItems.update"), updates);

    let (_, audit) = call(
        &api,
        "GET",
        &format!(
            "/integrations/{}/configuration-audit?psaIntegrationId={}",
            w.datto_id, w.psa_id
        ),
        None,
    )
    .await;
    let records = audit["records"].as_array().unwrap();
    assert!(
        records
            .iter()
            .any(|a| a["action"] == "deactivate" && a["deviceUid"] == uids[2].as_str() && a["result"] == "ok"),
        "{audit}"
    );
    let update1 = records
        .iter()
        .find(|a| a["action"] == "update" && a["deviceUid"] == uids[1].as_str())
        .unwrap();
    let message = update1["message"].as_str().unwrap();
    assert!(
        message.contains("ipAddress") && !message.contains("warranty"),
        "{message}"
    );
    assert!(!message.contains("10.9.9.8"), "field names, not values");
}

#[tokio::test]
async fn the_safety_cap_holds_mass_creations_and_deactivations_for_a_preview_and_confirmation() {
    let w = world_with(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 3).await;
    let api = ConfigurationsApi {
        safety_cap: 1,
        ..api(&w)
    };
    let at = w.autotask();
    map_all_types_autotask(&api, &w).await;
    let new: Vec<String> = w.site_devices[1..].to_vec();
    let body = json!({"psaIntegrationId": w.psa_id, "deviceUids": new, "to": "new"});
    let (status, e) = call(&api, "POST", &map_path(&w), Some(body.clone())).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("confirmation_required")),
        "{e}"
    );
    assert!(
        new.iter().all(|u| at.configuration_items_for_device(u).is_empty()),
        "nothing written"
    );
    let mut confirmed = body.clone();
    confirmed["confirm"] = json!(true);
    let (status, report) = call(&api, "POST", &map_path(&w), Some(confirmed)).await;
    assert_eq!(status, 200, "{report}");
    assert!(new.iter().all(|u| at.configuration_items_for_device(u).len() == 1));

    for uid in &new {
        w.datto_sim.delete_device(uid);
    }
    resync(&w).await;
    let path = format!("/integrations/{}/configuration-refresh", w.datto_id);
    let (status, preview) = call(
        &api,
        "POST",
        &path,
        Some(json!({"psaIntegrationId": w.psa_id, "preview": true})),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(
        (preview["preview"].as_bool(), preview["deactivated"].as_i64()),
        (Some(true), Some(2)),
        "{preview}"
    );
    let listed: Vec<&str> = preview["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec!["deactivate", "deactivate"]);
    let active = || {
        new.iter()
            .filter(|u| at.configuration_items_for_device(u)[0]["isActive"] == true)
            .count()
    };
    assert_eq!(active(), 2, "a preview writes nothing");
    let (status, e) = call(&api, "POST", &path, Some(json!({"psaIntegrationId": w.psa_id}))).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("confirmation_required")),
        "{e}"
    );
    assert_eq!(active(), 2, "held for confirmation");
    let (status, done) = call(
        &api,
        "POST",
        &path,
        Some(json!({"psaIntegrationId": w.psa_id, "confirm": true})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["deactivated"], 2);
    assert_eq!(active(), 0);
}

#[tokio::test]
async fn tie_breaks_junk_serials_one_device_per_configuration_and_moved_devices_through_the_routes() {
    let w = world_with(PsaKind::ConnectwiseManage, shared::time::now_millis, Duration::ZERO, 4).await;
    let api = api(&w);
    let cw = w.connectwise();
    let devices = synced(&w).await;
    // The device with a manufacturer from its audit plays the tie-break.
    let mut uids = w.site_devices.clone();
    uids.sort_by_key(|u| devices[u].manufacturer.is_none());
    let company = cw
        .companies()
        .into_iter()
        .find(|c| c["name"] == "Harbor Dental Group")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let host = |i: usize| devices[&uids[i]].hostname.clone().unwrap();
    let maker = |i: usize| {
        devices[&uids[i]]
            .manufacturer
            .clone()
            .unwrap_or_else(|| "Dell Inc.".into())
    };
    // Device 0: two configurations with its name; only one has its manufacturer (tie-break).
    let right = cw.add_configuration(
        company,
        json!({"name": host(0), "manufacturer": {"id": 1, "name": maker(0)}}),
    );
    cw.add_configuration(
        company,
        json!({"name": host(0), "manufacturer": {"id": 9, "name": "Someone Else Ltd"}}),
    );
    // Device 1: two configurations with its name and nothing else: ambiguous.
    let twin_a = cw.add_configuration(company, json!({"name": host(1)}));
    let twin_b = cw.add_configuration(company, json!({"name": host(1)}));
    // Device 2: a configuration with its name and a junk serial still matches by name.
    let junk = cw.add_configuration(
        company,
        json!({"name": host(2), "serialNumber": "To Be Filled By O.E.M."}),
    );
    // Device 3: a configuration named after it, which device 0 will take by hand first.
    let taken = cw.add_configuration(company, json!({"name": host(3)}));

    let r = by_uid(&rows(&api, &w, "").await.0);
    let rule = |u: &str| {
        (
            r[u]["state"].as_str().map(str::to_owned),
            r[u]["rule"].as_str().map(str::to_owned),
            r[u]["configurationId"].clone(),
        )
    };
    assert!(
        devices[&uids[0]].manufacturer.is_some(),
        "the audit gave a manufacturer"
    );
    {
        assert_eq!(
            rule(&uids[0]),
            (
                Some("proposed".into()),
                Some("manufacturer".into()),
                json!(right.to_string())
            ),
            "{}",
            r[&uids[0]]
        );
    }
    // Two configurations fit equally after the last rule: no match, a new one is proposed
    // (a warning here, since the device type is not mapped).
    assert!(r[&uids[1]]["configurationId"].is_null(), "{}", r[&uids[1]]);
    assert!(r[&uids[1]]["rule"].is_null());
    assert!(r[&uids[1]]["warning"].as_str().unwrap().contains("new configuration"));
    let _ = (twin_a, twin_b);
    assert_eq!(
        rule(&uids[2]),
        (Some("proposed".into()), Some("name".into()), json!(junk.to_string())),
        "a junk serial is no serial"
    );
    assert_eq!(rule(&uids[3]).2, json!(taken.to_string()));

    // One device per configuration: device 0 takes device 3's configuration by hand.
    let (_, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": [uids[0]], "to": taken.to_string()})),
    )
    .await;
    assert_eq!(report["outcomes"][0]["result"], "linked", "{report}");
    let r = by_uid(&rows(&api, &w, "").await.0);
    assert_ne!(
        r[&uids[3]]["configurationId"],
        json!(taken.to_string()),
        "{}",
        r[&uids[3]]
    );
    let (_, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": [uids[3]], "to": taken.to_string()})),
    )
    .await;
    assert_eq!(report["outcomes"][0]["result"], "failed", "{report}");

    // Moved: the site now maps to another imported company; the map no longer counts.
    let tenant = TenantId::parse(TENANT).unwrap();
    let companies = w.api.store.all_companies(&tenant).await.unwrap();
    let other = companies
        .iter()
        .find(|c| c.name != "Harbor Dental Group" && c.psa_id.is_some() && c.active)
        .unwrap();
    let sites = shared::site_mapping::routes::SitesApi {
        store: w.api.store.clone(),
        on_mapped: vec![],
    };
    let (status, body) = read_response(
        sites
            .handle(api_request(
                "PUT",
                &format!("/integrations/{}/sites/{}/mapping", w.datto_id, w.site_uid),
                Some(TENANT),
                Some(&json!({"companyId": other.id})),
            ))
            .await,
    );
    assert_eq!(status, 200, "{body}");
    let r = by_uid(&rows(&api, &w, "").await.0);
    assert_ne!(r[&uids[0]]["state"], "mapped", "{}", r[&uids[0]]);
    assert_eq!(r[&uids[0]]["movedFrom"], json!(taken.to_string()), "{}", r[&uids[0]]);
    assert_eq!(r[&uids[0]]["companyId"], other.id.as_str());
}

#[tokio::test]
async fn autotask_writes_wait_while_the_hourly_budget_is_below_the_reserve() {
    use rmmsync_tests::ticket_world::{WorldOptions, world_opts};
    let limit = 600_u32;
    let w = world_opts(
        PsaKind::Autotask,
        shared::time::now_millis,
        WorldOptions {
            latency: Duration::ZERO,
            devices: 2,
            timing: shared::tickets::TicketTiming::default(),
            datto_rate_limit: None,
            autotask_hourly_limit: Some(limit),
            connectwise_rate_limit: None,
        },
    )
    .await;
    let api = api(&w);
    let at = w.autotask();
    map_all_types_autotask(&api, &w).await;
    // Other integrations of the database spend the hour down to below the reserve (500).
    let http = reqwest::Client::new();
    while (limit as usize).saturating_sub(at.requests_in_window()) >= 500 {
        let answer = http
            .get(format!("{}/Version", at.api_url()))
            .header("ApiIntegrationCode", &at.config().integration_codes[0])
            .header("UserName", &at.config().username)
            .header("Secret", &at.config().secret)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
    }
    let body = json!({"psaIntegrationId": w.psa_id, "deviceUids": [w.site_devices[1]], "to": "new"});
    let (status, e) = call(&api, "POST", &map_path(&w), Some(body.clone())).await;
    assert_eq!((status, e["code"].as_str()), (503, Some("psa.budget_exhausted")), "{e}");
    assert!(at.configuration_items_for_device(&w.site_devices[1]).is_empty());
    at.reset_limits();
    let (status, report) = call(&api, "POST", &map_path(&w), Some(body)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["outcomes"][0]["result"], "created", "{report}");
}

// ----- the refresh after a sync run (the sync worker, no route) -----

/// Runs one Datto RMM sync of the world's integration through the worker's composition, with
/// the configurations refresh after it.
async fn worker_sync(w: &World, api: &ConfigurationsApi, time: Duration) -> shared::sync::RunRecord {
    use shared::sync::{SyncDeps, SyncSettings, run::RunBudget, run::start_run};
    use shared::workers::{ConfigurationsAfterSync, sync_run_with};
    let tenant = TenantId::parse(TENANT).unwrap();
    let deps = SyncDeps {
        store: w.api.store.clone(),
        secrets: w.api.secrets.clone(),
        datto: w.api.datto.clone(),
        settings: SyncSettings::default(),
    };
    let after = ConfigurationsAfterSync {
        api: api.clone(),
        time,
        function_timeout: None,
    };
    let run = start_run(&deps, &tenant, &w.datto_id, shared::runs::Trigger::Manual)
        .await
        .unwrap();
    sync_run_with(
        &deps,
        Some(&after),
        &tenant,
        &w.datto_id,
        &run.run_id,
        &RunBudget::default(),
    )
    .await
    .unwrap()
}

fn error_codes(run: &shared::sync::RunRecord) -> Vec<String> {
    run.errors.iter().map(|e| e.code.clone()).collect()
}

#[tokio::test]
async fn a_complete_sync_run_refreshes_mapped_configurations_without_the_route() {
    let w = world_with(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 3).await;
    let api = api(&w);
    let at = w.autotask();
    map_all_types_autotask(&api, &w).await;
    // Types mapped, no device mapped yet: the run asks the PSA nothing.
    let queries = at.stats().route("ConfigurationItems.query");
    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    assert_eq!(run.status, shared::runs::RunStatus::Succeeded, "{run:?}");
    assert_eq!(
        at.stats().route("ConfigurationItems.query"),
        queries,
        "nothing set up: no PSA calls"
    );

    let uids = w.site_devices.clone();
    let (status, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": uids, "to": "proposal"})),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let ci = |uid: &str| at.configuration_items_for_device(uid)[0].clone();
    let ci0 = ci(&uids[0])["id"].as_i64().unwrap();
    let ci2 = ci(&uids[2])["id"].as_i64().unwrap();
    w.datto_sim
        .change_device(&uids[0], |d| d.int_ip_address = Some("10.7.7.7".into()));
    w.datto_sim.delete_device(&uids[2]);

    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    assert_eq!(run.status, shared::runs::RunStatus::Succeeded, "{run:?}");
    assert_eq!(
        (
            run.counts.configurations_updated,
            run.counts.configurations_deactivated,
            run.counts.configurations_failed,
            run.counts.configurations_held,
            run.counts.configurations_incomplete
        ),
        (1, 1, 0, 0, false),
        "{run:?}"
    );
    assert_eq!(
        at.record(Entity::ConfigurationItems, ci0).unwrap()["rmmDeviceAuditIPAddress"],
        "10.7.7.7"
    );
    assert_eq!(
        at.record(Entity::ConfigurationItems, ci2).unwrap()["isActive"],
        false,
        "deleted in Datto: inactive after the run"
    );
    let (mapped, _) = rows(&api, &w, "&state=mapped").await;
    assert_eq!(mapped.len(), 2, "the deleted device is unmapped");

    // Nothing changed since: the next run writes nothing.
    let updates = at.stats().route("ConfigurationItems.update");
    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    assert_eq!(run.status, shared::runs::RunStatus::Succeeded, "{run:?}");
    assert_eq!(
        (run.counts.configurations_updated, run.counts.configurations_deactivated),
        (0, 0),
        "{run:?}"
    );
    assert_eq!(at.stats().route("ConfigurationItems.update"), updates);
}

#[tokio::test]
async fn the_refresh_after_a_sync_holds_mass_deactivations_stops_at_its_budget_and_records_failures() {
    let w = world_with(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 3).await;
    let api = ConfigurationsApi {
        safety_cap: 1,
        ..api(&w)
    };
    let at = w.autotask();
    map_all_types_autotask(&api, &w).await;
    let uids = w.site_devices.clone();
    let (status, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": uids, "to": "new", "confirm": true})),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    for uid in &uids[1..] {
        w.datto_sim.delete_device(uid);
    }
    let active = || {
        uids[1..]
            .iter()
            .filter(|u| at.configuration_items_for_device(u)[0]["isActive"] == true)
            .count()
    };

    // Two deactivations, a cap of one: held, recorded, nothing written.
    let updates = at.stats().route("ConfigurationItems.update");
    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    assert_eq!(run.status, shared::runs::RunStatus::Partial, "{run:?}");
    assert_eq!(
        error_codes(&run),
        vec!["configurations.confirmation_required"],
        "{run:?}"
    );
    assert_eq!(
        (run.counts.configurations_held, run.counts.configurations_deactivated),
        (1, 0)
    );
    assert_eq!(active(), 2, "held for confirmation");
    assert_eq!(
        at.stats().route("ConfigurationItems.update"),
        updates,
        "nothing written"
    );

    // No time left: the refresh stops before its first PSA call, and says so.
    let queries = at.stats().route("ConfigurationItems.query");
    let run = worker_sync(&w, &api, Duration::ZERO).await;
    assert_eq!(run.status, shared::runs::RunStatus::Succeeded, "{run:?}");
    assert!(run.counts.configurations_incomplete, "{run:?}");
    assert_eq!(at.stats().route("ConfigurationItems.query"), queries);

    // The PSA fails: a run error, never a panic, nothing written.
    at.set_faults(simulators::autotask::Faults {
        fail_next: 1_000,
        status: 500,
        path_contains: Some("ConfigurationItems".into()),
        ..Default::default()
    });
    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    at.set_faults(Default::default());
    assert_eq!(run.status, shared::runs::RunStatus::Partial, "{run:?}");
    assert_eq!(error_codes(&run), vec!["configurations.refresh"], "{run:?}");
    assert_eq!(active(), 2);

    // Confirmed through the route, they go.
    let path = format!("/integrations/{}/configuration-refresh", w.datto_id);
    let (status, done) = call(
        &api,
        "POST",
        &path,
        Some(json!({"psaIntegrationId": w.psa_id, "confirm": true})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["deactivated"], 2, "{done}");
    assert_eq!(active(), 0);
    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    assert_eq!(run.status, shared::runs::RunStatus::Succeeded, "{run:?}");
}

// ----- automatic mapping -----

#[tokio::test]
async fn automatic_mapping_is_off_by_default_previews_holds_above_the_cap_and_maps_new_devices_after_a_sync() {
    let w = world_with(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 3).await;
    let api = ConfigurationsApi {
        safety_cap: 1,
        ..api(&w)
    };
    let at = w.autotask();
    map_all_types_autotask(&api, &w).await;
    let settings = format!("/integrations/{}/configuration-settings", w.datto_id);
    let map_now = format!("/integrations/{}/configuration-map-now", w.datto_id);
    let (status, s) = call(&api, "GET", &format!("{settings}?psaIntegrationId={}", w.psa_id), None).await;
    assert_eq!((status, s["automaticMapping"].as_bool()), (200, Some(false)), "{s}");
    let (status, e) = call(&api, "POST", &map_now, Some(json!({"psaIntegrationId": w.psa_id}))).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("automatic_mapping_off")),
        "{e}"
    );

    // The preview: counts and the list, nothing written.
    let creates = at.stats().route("ConfigurationItems.create");
    let (status, preview) = call(
        &api,
        "POST",
        &map_now,
        Some(json!({"psaIntegrationId": w.psa_id, "preview": true})),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let (links, creations) = (
        preview["links"].as_u64().unwrap(),
        preview["creations"].as_u64().unwrap(),
    );
    assert_eq!(links + creations, 3, "{preview}");
    assert!(creations > 1, "{preview}");
    assert_eq!(preview["actions"].as_array().unwrap().len(), 3, "{preview}");
    assert_eq!(preview["deactivations"], 0);
    assert_eq!(
        at.stats().route("ConfigurationItems.create"),
        creates,
        "a preview writes nothing"
    );

    let (status, s) = call(
        &api,
        "PATCH",
        &settings,
        Some(json!({"psaIntegrationId": w.psa_id, "automaticMapping": true})),
    )
    .await;
    assert_eq!((status, s["automaticMapping"].as_bool()), (200, Some(true)), "{s}");
    let (status, e) = call(&api, "POST", &map_now, Some(json!({"psaIntegrationId": w.psa_id}))).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("confirmation_required")),
        "{e}"
    );
    assert_eq!(
        at.stats().route("ConfigurationItems.create"),
        creates,
        "held: nothing written"
    );
    let (status, done) = call(
        &api,
        "POST",
        &map_now,
        Some(json!({"psaIntegrationId": w.psa_id, "confirm": true})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (
            done["links"].as_u64(),
            done["creations"].as_u64(),
            done["failed"].as_u64()
        ),
        (Some(links), Some(creations), Some(0)),
        "{done}"
    );
    for uid in &w.site_devices {
        assert_eq!(at.configuration_items_for_device(uid).len(), 1, "one CI for {uid}");
    }

    // A new device in the mapped site: the next sync maps it (one creation, within the cap).
    let added = w.datto_sim.add_devices(&w.site_uid, 1);
    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    assert_eq!(run.status, shared::runs::RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.counts.configurations_created, 1, "{run:?}");
    assert_eq!(at.configuration_items_for_device(&added[0]).len(), 1);
    let (mapped, _) = rows(&api, &w, "&state=mapped").await;
    assert_eq!(mapped.len(), 4);

    // Tenant B sees none of it.
    let (status, _) = call_as(
        &api,
        "msp-other-tenant",
        "GET",
        &format!("{settings}?psaIntegrationId={}", w.psa_id),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

// ----- automatic mapping when a site gets mapped to a company -----

/// The site mapping routes of the world, with the configurations' hook wired as `app.rs` does
/// (the hook's budget given).
fn site_routes(
    w: &World,
    api: &ConfigurationsApi,
    budget: Duration,
) -> (
    shared::site_mapping::routes::SitesApi,
    shared::site_mapping::company_routes::CompanyMappingApi,
) {
    let hooks: shared::site_mapping::hooks::SitesMappedHooks = vec![std::sync::Arc::new(
        shared::configurations::on_site_mapped::AutoMapOnSiteMapped {
            api: api.clone(),
            budget,
        },
    )];
    (
        shared::site_mapping::routes::SitesApi {
            store: w.api.store.clone(),
            on_mapped: hooks.clone(),
        },
        shared::site_mapping::company_routes::CompanyMappingApi {
            store: w.api.store.clone(),
            secrets: w.api.secrets.clone(),
            datto: w.api.datto.clone(),
            on_mapped: hooks,
        },
    )
}

async fn send(h: &impl Handle, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    read_response(h.handle(api_request(method, path, Some(TENANT), body.as_ref())).await)
}

/// The portal company the world's site is mapped to.
async fn site_company(w: &World, sites: &shared::site_mapping::routes::SitesApi) -> String {
    let (status, table) = send(sites, "GET", &format!("/integrations/{}/sites", w.datto_id), None).await;
    assert_eq!(status, 200, "{table}");
    table["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["siteUid"] == w.site_uid.as_str())
        .unwrap()["company"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn settings_of(api: &ConfigurationsApi, w: &World) -> Value {
    let (status, s) = call(
        api,
        "GET",
        &format!(
            "/integrations/{}/configuration-settings?psaIntegrationId={}",
            w.datto_id, w.psa_id
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{s}");
    s
}

async fn set_automatic(api: &ConfigurationsApi, w: &World, on: bool) {
    let (status, s) = call(
        api,
        "PATCH",
        &format!("/integrations/{}/configuration-settings", w.datto_id),
        Some(json!({"psaIntegrationId": w.psa_id, "automaticMapping": on})),
    )
    .await;
    assert_eq!(status, 200, "{s}");
}

#[tokio::test]
async fn mapping_a_site_to_a_company_maps_its_devices_only_while_automatic_mapping_is_on() {
    let w = world_with(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 3).await;
    let api = api(&w);
    let at = w.autotask();
    map_all_types_autotask(&api, &w).await;
    let (sites, side) = site_routes(&w, &api, Duration::from_secs(30));
    let company = site_company(&w, &sites).await;
    let mapping = format!("/integrations/{}/sites/{}/mapping", w.datto_id, w.site_uid);
    let one_each = |uids: &[String]| uids.iter().all(|u| at.configuration_items_for_device(u).len() == 1);

    // Off: mapping the site writes nothing to the PSA.
    set_automatic(&api, &w, false).await;
    let (status, _) = send(&sites, "DELETE", &mapping, None).await;
    assert_eq!(status, 204);
    let (creates, updates) = (
        at.stats().route("ConfigurationItems.create"),
        at.stats().route("ConfigurationItems.update"),
    );
    let (status, row) = send(&sites, "PUT", &mapping, Some(json!({"companyId": company}))).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(
        (
            at.stats().route("ConfigurationItems.create"),
            at.stats().route("ConfigurationItems.update")
        ),
        (creates, updates),
        "automatic mapping off: nothing written"
    );
    assert!(settings_of(&api, &w).await["lastRun"].is_null());

    // On: mapping the site by hand links or creates a configuration for each of its devices.
    set_automatic(&api, &w, true).await;
    let (status, _) = send(&sites, "DELETE", &mapping, None).await;
    assert_eq!(status, 204);
    let (status, row) = send(&sites, "PUT", &mapping, Some(json!({"companyId": company}))).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(
        row["company"]["id"],
        company.as_str(),
        "the mapping's answer is unchanged"
    );
    assert!(one_each(&w.site_devices), "one CI per device");
    let (mapped, _) = rows(&api, &w, "&state=mapped").await;
    assert_eq!(mapped.len(), 3);
    let s = settings_of(&api, &w).await;
    let run = &s["lastRun"];
    assert_eq!(
        (run["trigger"].as_str(), run["outcome"].as_str()),
        (Some("siteMapped"), Some("done")),
        "{s}"
    );
    assert_eq!(
        run["linked"].as_u64().unwrap() + run["created"].as_u64().unwrap(),
        3,
        "{s}"
    );
    assert_eq!((run["left"].as_u64(), s["pending"].as_bool()), (Some(0), Some(false)));
    assert!(run["requests"].as_u64().unwrap() > 0, "{s}");
    let (_, audit) = call(
        &api,
        "GET",
        &format!(
            "/integrations/{}/configuration-audit?psaIntegrationId={}",
            w.datto_id, w.psa_id
        ),
        None,
    )
    .await;
    assert_eq!(audit["records"].as_array().unwrap().len(), 3, "{audit}");

    // New devices synced (without the worker's own automatic mapping), then the site mapped
    // again from the company side: the new devices get theirs, the mapped ones are left alone.
    let added = w.datto_sim.add_devices(&w.site_uid, 2);
    resync(&w).await;
    assert!(added.iter().all(|u| at.configuration_items_for_device(u).is_empty()));
    let (status, _) = send(&sites, "DELETE", &mapping, None).await;
    assert_eq!(status, 204);
    let (status, bulk) = send(
        &side,
        "POST",
        &format!("/integrations/{}/company-mappings", w.datto_id),
        Some(json!({"rows": [{"companyId": company, "siteUid": w.site_uid}]})),
    )
    .await;
    assert_eq!((status, bulk["mapped"].as_u64()), (200, Some(1)), "{bulk}");
    assert!(one_each(&added), "the new devices got theirs");
    assert!(one_each(&w.site_devices), "still one CI each");
    let (mapped, _) = rows(&api, &w, "&state=mapped").await;
    assert_eq!(mapped.len(), 5);
}

#[tokio::test]
async fn a_site_mapping_whose_automatic_mapping_runs_out_of_time_is_answered_and_finished_by_the_next_sync() {
    let w = world_with(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 3).await;
    let api = api(&w);
    let at = w.autotask();
    map_all_types_autotask(&api, &w).await;
    // No time at all: the hook plans, writes nothing and records what it left.
    let (sites, _) = site_routes(&w, &api, Duration::ZERO);
    let company = site_company(&w, &sites).await;
    let mapping = format!("/integrations/{}/sites/{}/mapping", w.datto_id, w.site_uid);
    set_automatic(&api, &w, true).await;
    let (status, _) = send(&sites, "DELETE", &mapping, None).await;
    assert_eq!(status, 204);
    let creates = at.stats().route("ConfigurationItems.create");
    let (status, row) = send(&sites, "PUT", &mapping, Some(json!({"companyId": company}))).await;
    assert_eq!(status, 200, "the mapping is saved and answered: {row}");
    assert_eq!(at.stats().route("ConfigurationItems.create"), creates);
    let s = settings_of(&api, &w).await;
    assert_eq!(
        (
            s["lastRun"]["outcome"].as_str(),
            s["lastRun"]["left"].as_u64(),
            s["pending"].as_bool()
        ),
        (Some("incomplete"), Some(3), Some(true)),
        "{s}"
    );
    // The next sync run (no new device) carries on.
    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    assert_eq!(run.status, shared::runs::RunStatus::Succeeded, "{run:?}");
    assert_eq!(
        run.counts.configurations_linked + run.counts.configurations_created,
        3,
        "{run:?}"
    );
    for uid in &w.site_devices {
        assert_eq!(at.configuration_items_for_device(uid).len(), 1, "one CI for {uid}");
    }
    let s = settings_of(&api, &w).await;
    assert_eq!(
        (
            s["lastRun"]["trigger"].as_str(),
            s["lastRun"]["outcome"].as_str(),
            s["pending"].as_bool()
        ),
        (Some("sync"), Some("done"), Some(false)),
        "{s}"
    );
}

// ----- bulk creation within the Autotask budget -----

#[tokio::test]
async fn bulk_creation_spends_only_the_budget_above_the_reserve_and_the_next_sync_does_the_rest() {
    use rmmsync_tests::ticket_world::{WorldOptions, world_opts};
    let (limit, reserve) = (700_usize, 500_usize);
    let w = world_opts(
        PsaKind::Autotask,
        shared::time::now_millis,
        WorldOptions {
            latency: Duration::ZERO,
            devices: 8,
            timing: shared::tickets::TicketTiming::default(),
            datto_rate_limit: None,
            autotask_hourly_limit: Some(limit as u32),
            connectwise_rate_limit: None,
        },
    )
    .await;
    let api = ConfigurationsApi {
        safety_cap: 1,
        ..api(&w)
    };
    let at = w.autotask();
    map_all_types_autotask(&api, &w).await;
    set_automatic(&api, &w, true).await;
    let map_now = format!("/integrations/{}/configuration-map-now", w.datto_id);
    let (status, preview) = call(
        &api,
        "POST",
        &map_now,
        Some(json!({"psaIntegrationId": w.psa_id, "preview": true})),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let planned = preview["actions"].as_array().unwrap().len();
    assert_eq!(planned, 8, "{preview}");
    // Other integrations of the database spend the hour down to 8 requests above the reserve.
    let http = reqwest::Client::new();
    while limit.saturating_sub(at.requests_in_window()) > reserve + 8 {
        let answer = http
            .get(format!("{}/Version", at.api_url()))
            .header("ApiIntegrationCode", &at.config().integration_codes[0])
            .header("UserName", &at.config().username)
            .header("Secret", &at.config().secret)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
    }
    let before: HashMap<&String, usize> = w
        .site_devices
        .iter()
        .map(|u| (u, at.configuration_items_for_device(u).len()))
        .collect();
    let (status, done) = call(
        &api,
        "POST",
        &map_now,
        Some(json!({"psaIntegrationId": w.psa_id, "confirm": true})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert!(
        limit - at.requests_in_window() >= reserve,
        "never below the reserve: {} used of {limit}",
        at.requests_in_window()
    );
    let made = done["links"].as_u64().unwrap() + done["creations"].as_u64().unwrap();
    let left = done["left"].as_u64().unwrap();
    assert!(made >= 1 && left >= 1, "{done}");
    assert_eq!(made + left, 8, "{done}");
    let deferred: Vec<&str> = done["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["result"] == "deferred")
        .map(|o| o["deviceUid"].as_str().unwrap())
        .collect();
    assert_eq!(deferred.len() as u64, left, "{done}");
    let (mapped, _) = rows(&api, &w, "&state=mapped").await;
    assert_eq!(mapped.len() as u64, made);
    for uid in w.site_devices.iter().filter(|u| deferred.contains(&u.as_str())) {
        assert_eq!(at.configuration_items_for_device(uid).len(), before[uid], "{uid} waits");
    }
    // The run record the API shows: progress, counts and the budget.
    let s = settings_of(&api, &w).await;
    let run = &s["lastRun"];
    assert_eq!(
        (
            run["trigger"].as_str(),
            run["outcome"].as_str(),
            run["planned"].as_u64(),
            run["left"].as_u64(),
            s["pending"].as_bool()
        ),
        (Some("mapNow"), Some("incomplete"), Some(8), Some(left), Some(true)),
        "{s}"
    );
    assert!(run["budgetAboveReserve"].as_i64().unwrap() <= 8, "{s}");
    assert!(run["requests"].as_u64().unwrap() > made, "{s}");

    // A new hour: the next sync run (no new device) carries on, and nothing is made twice.
    at.reset_limits();
    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    assert_eq!(run.status, shared::runs::RunStatus::Succeeded, "{run:?}");
    assert_eq!(
        run.counts.configurations_linked + run.counts.configurations_created,
        left,
        "{run:?}"
    );
    for uid in &w.site_devices {
        assert_eq!(at.configuration_items_for_device(uid).len(), 1, "one CI for {uid}");
    }
    assert!(at.stats().max_concurrency("ConfigurationItems") <= 3);
    let s = settings_of(&api, &w).await;
    assert_eq!(
        (
            s["lastRun"]["outcome"].as_str(),
            s["lastRun"]["left"].as_u64(),
            s["pending"].as_bool()
        ),
        (Some("done"), Some(0), Some(false)),
        "{s}"
    );
    let (mapped, _) = rows(&api, &w, "&state=mapped").await;
    assert_eq!(mapped.len(), 8);
}

// ----- the UDF mapping -----

#[tokio::test]
async fn mapped_udfs_reach_the_configuration_only_when_changed_and_their_values_never_leave() {
    let w = world_with(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 2).await;
    let api = api(&w);
    let at = w.autotask();
    map_all_types_autotask(&api, &w).await;
    let udfs = format!("/integrations/{}/configuration-udfs", w.datto_id);
    let (status, view) = call(&api, "GET", &format!("{udfs}?psaIntegrationId={}", w.psa_id), None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["mapping"], json!({}));
    assert!(
        view["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Asset Tag"),
        "the PSA's list to pick from: {view}"
    );
    // Bad keys and bad targets, each named.
    let (status, e) = call(
        &api,
        "PUT",
        &udfs,
        Some(
            json!({"psaIntegrationId": w.psa_id, "mapping": {"udf0": "Asset Tag", "serial": "Asset Tag", "udf3": ""}}),
        ),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    for needle in ["`udf0`", "`serial`", "`udf3`"] {
        assert!(e["message"].as_str().unwrap().contains(needle), "{e}");
    }
    let (status, e) = call(
        &api,
        "PUT",
        &udfs,
        Some(json!({"psaIntegrationId": w.psa_id, "mapping": {"udf20": "Nope", "udf21": "Asset Tag", "udf22": "Asset Tag"}})),
    )
    .await;
    assert_eq!((status, e["code"].as_str()), (422, Some("unknown_psa_field")), "{e}");
    for needle in ["`Nope`", "`udf21` and `udf22`"] {
        assert!(e["message"].as_str().unwrap().contains(needle), "{e}");
    }

    // A secret in a Datto UDF of a device without a configuration, synced.
    let uid = w.site_devices[1].clone();
    assert!(at.configuration_items_for_device(&uid).is_empty());
    let secret = "BitLocker: 424242-131313-777777";
    w.datto_sim.change_device(&uid, |d| {
        d.udf.insert(20, secret.to_owned());
    });
    resync(&w).await;
    let (status, saved) = call(
        &api,
        "PUT",
        &udfs,
        Some(json!({"psaIntegrationId": w.psa_id, "mapping": {"udf20": "Asset Tag"}})),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["mapping"], json!({"udf20": "Asset Tag"}));

    // Created with it.
    let (status, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": [uid], "to": "new"})),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let udf_of = || {
        let ci = at.configuration_items_for_device(&uid)[0].clone();
        ci["userDefinedFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == "Asset Tag")
            .map(|u| u["value"].clone())
    };
    assert_eq!(udf_of(), Some(json!(secret)));

    // Unchanged: the next sync writes nothing.
    let updates = at.stats().route("ConfigurationItems.update");
    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    assert_eq!(run.counts.configurations_updated, 0, "{run:?}");
    assert_eq!(at.stats().route("ConfigurationItems.update"), updates);

    // Changed in Datto: written, and only then.
    let rotated = "BitLocker: 999999-000000-111111";
    w.datto_sim.change_device(&uid, |d| {
        d.udf.insert(20, rotated.to_owned());
    });
    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    assert_eq!(run.counts.configurations_updated, 1, "{run:?}");
    assert_eq!(udf_of(), Some(json!(rotated)));
    let run_text = format!("{run:?}");

    // No value in any answer of ours, the run record or the stored device's Debug.
    let mut answers = vec![run_text];
    for path in [
        format!("{}?psaIntegrationId={}", map_path(&w), w.psa_id),
        format!(
            "/integrations/{}/configuration-audit?psaIntegrationId={}",
            w.datto_id, w.psa_id
        ),
        format!("{udfs}?psaIntegrationId={}", w.psa_id),
        format!(
            "/integrations/{}/configuration-settings?psaIntegrationId={}",
            w.datto_id, w.psa_id
        ),
    ] {
        let (status, body) = call(&api, "GET", &path, None).await;
        assert_eq!(status, 200, "{body}");
        answers.push(body.to_string());
    }
    let (_, refresh) = call(
        &api,
        "POST",
        &format!("/integrations/{}/configuration-refresh", w.datto_id),
        Some(json!({"psaIntegrationId": w.psa_id, "preview": true})),
    )
    .await;
    answers.push(refresh.to_string());
    answers.push(report.to_string());
    answers.push(format!("{:?}", synced(&w).await));
    let (_, audit) = call(
        &api,
        "GET",
        &format!(
            "/integrations/{}/configuration-audit?psaIntegrationId={}",
            w.datto_id, w.psa_id
        ),
        None,
    )
    .await;
    assert!(
        audit["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["message"].as_str().is_some_and(|m| m.contains("1 UDF"))),
        "the audit counts the UDF written: {audit}"
    );
    for text in &answers {
        for value in [secret, rotated, "424242", "999999-000000"] {
            assert!(!text.contains(value), "a UDF value leaked: {text}");
        }
    }
}

#[tokio::test]
async fn connectwise_custom_fields_are_mapped_by_id_and_patched_whole_only_when_changed() {
    let w = world_with(PsaKind::ConnectwiseManage, shared::time::now_millis, Duration::ZERO, 2).await;
    let api = api(&w);
    let cw = w.connectwise();
    let udfs = format!("/integrations/{}/configuration-udfs", w.datto_id);
    let (status, view) = call(&api, "GET", &format!("{udfs}?psaIntegrationId={}", w.psa_id), None).await;
    assert_eq!(status, 200, "{view}");
    assert!(
        view["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "1" && f["name"] == "Asset Tag"),
        "{view}"
    );
    let (status, e) = call(
        &api,
        "PUT",
        &udfs,
        Some(json!({"psaIntegrationId": w.psa_id, "mapping": {"udf20": "99"}})),
    )
    .await;
    assert_eq!((status, e["code"].as_str()), (422, Some("unknown_psa_field")), "{e}");
    let (status, _) = call(
        &api,
        "PUT",
        &udfs,
        Some(json!({"psaIntegrationId": w.psa_id, "mapping": {"udf20": "1"}})),
    )
    .await;
    assert_eq!(status, 200);

    // A secret in a UDF; the device linked to a configuration picked by hand that already has
    // another custom field set, which the whole-array patch keeps.
    let uid = w.site_devices[1].clone();
    let secret = "LocalAdmin: admin / Hunter2024!";
    w.datto_sim.change_device(&uid, |d| {
        d.udf.insert(20, secret.to_owned());
    });
    resync(&w).await;
    let company = cw
        .companies()
        .into_iter()
        .find(|c| c["name"] == "Harbor Dental Group")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let picked = cw.add_configuration(
        company,
        json!({"name": "PICKED-WS", "customFields": [{"id": 2, "value": "Main office"}]}),
    );
    let (_, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": [uid], "to": picked.to_string()})),
    )
    .await;
    assert_eq!(report["outcomes"][0]["result"], "linked", "{report}");
    let record = || cw.configurations().into_iter().find(|c| c["id"] == picked).unwrap();
    let field = |id: i64| {
        record()["customFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!((field(1), field(2)), (json!(secret), json!("Main office")));

    // Unchanged: the next sync does not patch it.
    let before = record()["_info"]["lastUpdated"].clone();
    let run = worker_sync(&w, &api, Duration::from_secs(60)).await;
    assert_eq!(run.counts.configurations_updated, 0, "{run:?}");
    assert_eq!(record()["_info"]["lastUpdated"], before);
    let (_, audit) = call(
        &api,
        "GET",
        &format!(
            "/integrations/{}/configuration-audit?psaIntegrationId={}",
            w.datto_id, w.psa_id
        ),
        None,
    )
    .await;
    for text in [audit.to_string(), report.to_string(), format!("{run:?}")] {
        assert!(!text.contains("Hunter2024"), "a UDF value leaked: {text}");
    }
}

// ----- letting go of the configuration items -----

#[tokio::test]
async fn clear_and_resync_without_mappings_and_deleting_the_psa_integration_drop_the_configuration_items() {
    let w = world_with(PsaKind::Autotask, shared::time::now_millis, Duration::ZERO, 2).await;
    let api = api(&w);
    let store = &w.api.store;
    let tenant = TenantId::parse(TENANT).unwrap();
    map_all_types_autotask(&api, &w).await;
    set_automatic(&api, &w, true).await;
    let (status, report) = call(
        &api,
        "POST",
        &map_path(&w),
        Some(json!({"psaIntegrationId": w.psa_id, "deviceUids": w.site_devices, "to": "proposal"})),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let udfs = format!("/integrations/{}/configuration-udfs", w.datto_id);
    let udf_body = json!({"psaIntegrationId": w.psa_id, "mapping": {"udf20": "Asset Tag"}});
    let (status, _) = call(&api, "PUT", &udfs, Some(udf_body.clone())).await;
    assert_eq!(status, 200);
    // Each kind of item is there, and it is what is checked below.
    let held = || async {
        (
            store.config_settings_all(&tenant, &w.datto_id).await.unwrap().len(),
            store
                .config_type_mappings(&tenant, &w.datto_id, &w.psa_id)
                .await
                .unwrap()
                .len(),
            store
                .config_udf_map(&tenant, &w.datto_id, &w.psa_id)
                .await
                .unwrap()
                .len(),
            store.config_maps(&tenant, &w.datto_id, &w.psa_id).await.unwrap().len(),
            store.config_audit(&tenant, &w.datto_id, &w.psa_id).await.unwrap().len(),
        )
    };
    let (settings, types, udf_map, maps, audit) = held().await;
    assert!(settings == 1 && types > 0 && udf_map == 1 && maps == 2 && audit >= 2);

    // Kept when the mappings are kept.
    assert_eq!(
        shared::configurations::forget::clear_configuration_mappings(store, &tenant, &w.datto_id, true)
            .await
            .unwrap(),
        0
    );
    assert_eq!(held().await, (settings, types, udf_map, maps, audit));

    // Clear and resync dropping the mappings: the configuration mappings go, the audit stays.
    let app = shared::app::App {
        store: store.clone(),
        secrets: w.api.secrets.clone(),
        datto: w.api.datto.clone(),
        psa: w.api.psa.clone(),
        settings: w.api.settings.clone(),
        sync: shared::sync::SyncSettings::default(),
        hook_base_url: None,
        operations: Default::default(),
        import_jobs: Default::default(),
        clock: shared::time::now_millis,
    };
    let (status, started) = read_response(
        rmmsync_tests::call(
            shared::resync::router(app.sync_api()),
            api_request(
                "POST",
                &format!("/integrations/{}/resync", w.datto_id),
                Some(TENANT),
                Some(&json!({"keepMappings": false})),
            ),
        )
        .await,
    );
    assert_eq!(status, 202, "{started}");
    assert_eq!(
        started["cleared"]["configurationMappings"].as_u64(),
        Some((settings + types + udf_map + maps) as u64),
        "{started}"
    );
    assert_eq!(held().await, (0, 0, 0, 0, audit));
    assert_eq!(settings_of(&api, &w).await["automaticMapping"], false);

    // Deleting the PSA integration (as app.rs wires it) drops what it had, the audit too.
    set_automatic(&api, &w, true).await;
    let (status, _) = call(&api, "PUT", &udfs, Some(udf_body)).await;
    assert_eq!(status, 200);
    assert_eq!(held().await, (1, 0, 1, 0, audit));
    let (status, body) = read_response(
        app.integrations()
            .handle(api_request(
                "DELETE",
                &format!("/integrations/{}", w.psa_id),
                Some(TENANT),
                None,
            ))
            .await,
    );
    assert_eq!(status, 204, "{body}");
    assert_eq!(held().await, (0, 0, 0, 0, 0));
}
