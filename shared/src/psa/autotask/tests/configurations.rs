//! Configuration items through the client against the Autotask simulator, over real HTTP:
//! the pick lists, create with the required fields, errors as Autotask answers them, a lost
//! answer and a fault before the create (never two items for one device), updates of changed
//! fields only, the warranty only when empty, deactivation.

use super::*;
use crate::psa::configuration::{ConfigurationChanges, ConfigurationDraft, CreateOutcome, CustomFields};

const UID: &str = "5f0c7a52-9d3e-4a51-8c2b-1f6d2c3b4a01";

fn config_sim() -> AutotaskConfig {
    AutotaskConfig {
        companies: 4,
        max_contacts_per_company: 0,
        tickets: Some(0),
        ..base()
    }
}

fn draft(company: i64, uid: &str) -> ConfigurationDraft {
    ConfigurationDraft {
        company_id: company.to_string(),
        name: "ACME-WS42".into(),
        type_id: "1".into(),
        product_id: Some("101".into()),
        device_uid: uid.into(),
        device_id: Some(424_242),
        serial_number: Some("SN-42-XYZ".into()),
        manufacturer: Some("dell inc.".into()),
        model: Some("OptiPlex 7090".into()),
        os: Some("Microsoft Windows 11 Pro".into()),
        ip_address: Some("10.1.2.42".into()),
        warranty_expiration: Some("2028-03-31".into()),
        custom_fields: CustomFields([("Asset Tag".to_string(), "AT-0042".to_string())].into()),
        ..ConfigurationDraft::default()
    }
}

fn first_company(sim: &AutotaskSim) -> i64 {
    sim.companies()[0].id
}

#[tokio::test]
async fn pick_lists_come_from_the_psa() {
    let sim = sim(config_sim()).await;
    let c = client(&sim).await;
    let types = c.configuration_type_options().await.unwrap();
    assert_eq!(types.len(), 6);
    assert!(
        types
            .iter()
            .any(|t| t.name == "Server" && t.active && t.required_questions.is_empty())
    );
    let products = c.product_options().await.unwrap();
    assert_eq!(products.len(), 7);
    let retired = products.iter().find(|p| p.id == "107").unwrap();
    assert!(!retired.active);
    assert_eq!(
        products.iter().find(|p| p.id == "102").unwrap().manufacturer.as_deref(),
        Some("Dell Inc.")
    );
    let picks = c.ci_picklists().await.unwrap();
    assert_eq!(picks.manufacturers.len(), 5);
    assert!(picks.models.iter().any(|m| m.label == "PowerEdge R740" && m.id == "12"));
    let udfs = c.configuration_custom_fields().await.unwrap();
    assert_eq!(
        udfs.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        vec!["Asset Tag", "Datto Site", "Backup Policy"]
    );
    c.ci_picklists().await.unwrap();
    assert_eq!(
        sim.stats().route("ConfigurationItems.fields"),
        1,
        "the picklists are read once"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_create_sends_the_required_fields_and_a_second_create_finds_it() {
    let sim = sim(config_sim()).await;
    let c = client(&sim).await;
    let company = first_company(&sim);
    let created = c.create_configuration(&draft(company, UID)).await.unwrap();
    let CreateOutcome::Created(id) = created.clone() else {
        panic!("{created:?}")
    };
    let raw = sim.record(Entity::ConfigurationItems, id.parse().unwrap()).unwrap();
    assert_eq!(raw["companyID"], company);
    assert_eq!(raw["productID"], 101);
    assert_eq!(raw["configurationItemType"], 1);
    assert_eq!(raw["isActive"], true);
    assert_eq!(raw["referenceTitle"], "ACME-WS42");
    assert_eq!(raw["rmmDeviceUID"], UID);
    assert_eq!(raw["rmmDeviceID"], 424_242);
    assert_eq!(raw["rmmDeviceAuditManufacturerID"], 1, "the label matched the picklist");
    assert_eq!(raw["rmmDeviceAuditModelID"], 11);
    assert_eq!(raw["userDefinedFields"][0]["value"], "AT-0042");

    let found = c.find_configuration_by_device(UID).await.unwrap().unwrap();
    assert_eq!(found.id, id);
    assert_eq!(found.manufacturer.as_deref(), Some("Dell Inc."));
    assert_eq!(found.model.as_deref(), Some("OptiPlex 7090"));
    assert_eq!(found.warranty_expiration.as_deref(), Some("2028-03-31"));
    assert_eq!(found.serial_number.as_deref(), Some("SN-42-XYZ"));

    let again = c.create_configuration(&draft(company, UID)).await.unwrap();
    assert_eq!(again, CreateOutcome::Found(id.clone()));
    assert_eq!(sim.configuration_items_for_device(UID).len(), 1);
    assert_eq!(sim.stats().route("ConfigurationItems.create"), 1);
    let mine = c.company_configurations(&company.to_string()).await.unwrap();
    assert!(mine.iter().any(|ci| ci.id == id));
    assert!(
        mine.iter()
            .all(|ci| ci.company_id.as_deref() == Some(&*company.to_string()))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_model_is_left_out_rather_than_refused() {
    let sim = sim(config_sim()).await;
    let c = client(&sim).await;
    let mut d = draft(first_company(&sim), UID);
    d.model = Some("Some Box 9000".into());
    d.manufacturer = Some("Nobody Ltd".into());
    let id = c.create_configuration(&d).await.unwrap();
    let raw = sim
        .record(Entity::ConfigurationItems, id.id().parse().unwrap())
        .unwrap();
    assert!(raw["rmmDeviceAuditModelID"].is_null());
    assert!(raw["rmmDeviceAuditManufacturerID"].is_null());
    sim.shutdown().await;
}

#[tokio::test]
async fn autotask_refusals_come_back_as_validation_errors() {
    let sim = sim(config_sim()).await;
    let c = client(&sim).await;
    let company = first_company(&sim);
    let mut d = draft(company, UID);
    d.product_id = Some("107".into());
    let e = c.create_configuration(&d).await.unwrap_err();
    assert!(
        matches!(&e, PsaError::Validation { detail, .. } if detail.contains("productID")),
        "{e}"
    );
    let mut d = draft(company, UID);
    d.custom_fields = CustomFields([("Nope".to_string(), "secret-value".to_string())].into());
    let e = c.create_configuration(&d).await.unwrap_err();
    assert!(
        matches!(&e, PsaError::Validation { detail, .. } if detail.contains("Nope")),
        "{e}"
    );
    assert!(!e.to_string().contains("secret-value"), "no UDF value in an error");
    let mut d = draft(company, UID);
    d.product_id = None;
    let e = c.create_configuration(&d).await.unwrap_err();
    assert!(
        matches!(&e, PsaError::Validation { detail, .. } if detail.contains("product")),
        "{e}"
    );
    assert!(sim.configuration_items_for_device(UID).is_empty());

    // The simulator answers a missing required field as Autotask does.
    let answer = crate::http::client()
        .post(format!("{}/ConfigurationItems", sim.api_url()))
        .header("ApiIntegrationCode", CODE)
        .header("UserName", USER)
        .header("Secret", SECRET)
        .json(
            &serde_json::json!({"companyID": company, "productID": 101, "configurationItemType": 1, "isActive": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 500);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("Missing Required Field: referenceTitle")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_lost_create_answer_is_found_by_the_device_uid_not_created_twice() {
    let sim = sim(config_sim()).await;
    let c = client(&sim).await;
    sim.lose_next_ci_create_answers(1);
    let outcome = c.create_configuration(&draft(first_company(&sim), UID)).await.unwrap();
    let items = sim.configuration_items_for_device(UID);
    assert_eq!(items.len(), 1);
    assert_eq!(outcome, CreateOutcome::Found(items[0]["id"].to_string()));
    assert_eq!(sim.stats().route("ConfigurationItems.create"), 1, "never re-sent");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_fault_before_the_create_fails_the_call_and_the_next_run_creates_one() {
    let sim = sim(config_sim()).await;
    let c = client(&sim).await;
    let company = first_company(&sim);
    // The lookup (query) and the picklists (fields) pass; the POST meets a plain 500.
    sim.set_faults(Faults {
        path_contains: Some("ConfigurationItems".into()),
        after_successes: 2,
        fail_next: 1,
        ..Faults::default()
    });
    let e = c.create_configuration(&draft(company, UID)).await.unwrap_err();
    assert!(crate::psa::configuration::outcome_unknown(&e), "{e}");
    assert_eq!(
        sim.stats().route("ConfigurationItems.create"),
        1,
        "not re-sent after a 5xx"
    );
    assert!(sim.configuration_items_for_device(UID).is_empty());
    let outcome = c.create_configuration(&draft(company, UID)).await.unwrap();
    assert!(matches!(outcome, CreateOutcome::Created(_)));
    assert_eq!(sim.configuration_items_for_device(UID).len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn updates_write_changed_fields_only_and_the_warranty_only_when_empty() {
    let sim = sim(config_sim()).await;
    let c = client(&sim).await;
    let company = first_company(&sim);
    // An item made by hand: no uid, no warranty, an old OS.
    let id = sim.add_configuration_item(company, Some("ACME-WS42"), None, Some("SN-42-XYZ"));
    sim.change_record(Entity::ConfigurationItems, id, |r| {
        r.insert("productID".into(), serde_json::json!(101));
        r.insert("rmmDeviceAuditOperatingSystem".into(), serde_json::json!("Windows 10"));
    });
    let current = c.company_configurations(&company.to_string()).await.unwrap();
    let current = current.into_iter().find(|x| x.id == id.to_string()).unwrap();
    let changes = ConfigurationChanges::between(&current, &draft(company, UID));
    assert_eq!(changes.serial_number, None, "same serial: not sent");
    c.update_configuration(&id.to_string(), &changes).await.unwrap();
    let raw = sim.record(Entity::ConfigurationItems, id).unwrap();
    assert_eq!(raw["rmmDeviceUID"], UID, "linked");
    assert_eq!(raw["rmmDeviceAuditOperatingSystem"], "Microsoft Windows 11 Pro");
    assert_eq!(raw["warrantyExpirationDate"], "2028-03-31", "empty warranty filled");
    assert_eq!(raw["companyID"], company);

    // Later: a new warranty date from Datto does not overwrite the PSA's.
    let current = c.find_configuration_by_device(UID).await.unwrap().unwrap();
    let mut later = draft(company, UID);
    later.warranty_expiration = Some("2031-01-01".into());
    let changes = ConfigurationChanges::between(&current, &later);
    assert!(changes.is_empty(), "{changes:?}");
    let before = sim.stats().route("ConfigurationItems.update");
    c.update_configuration(&id.to_string(), &changes).await.unwrap();
    assert_eq!(
        sim.stats().route("ConfigurationItems.update"),
        before,
        "nothing to send, nothing sent"
    );
    assert_eq!(
        sim.record(Entity::ConfigurationItems, id).unwrap()["warrantyExpirationDate"],
        "2028-03-31"
    );

    c.deactivate_configuration(&id.to_string()).await.unwrap();
    let raw = sim.record(Entity::ConfigurationItems, id).unwrap();
    assert_eq!(raw["isActive"], false);
    assert_eq!(raw["rmmDeviceUID"], UID, "keeps its uid");
    sim.shutdown().await;
}
