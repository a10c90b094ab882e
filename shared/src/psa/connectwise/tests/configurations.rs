//! Configurations through the client against the ConnectWise simulator, over real HTTP: the
//! pick lists (types with their required questions, statuses, manufacturers), create with the
//! required fields, a type with required questions refused before any write, a lost answer
//! (never two configurations for one device), updates of changed fields, deactivation.

use super::*;
use crate::psa::configuration::{ConfigurationChanges, ConfigurationDraft, CreateOutcome};
use serde_json::json;

const UID: &str = "7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

fn first_company(sim: &ConnectWiseSim) -> i64 {
    sim.companies()[0]["id"].as_i64().unwrap()
}

fn type_id(sim: &ConnectWiseSim, name: &str) -> String {
    sim.configuration_types()
        .iter()
        .find(|t| t["name"] == name)
        .map(|t| t["id"].to_string())
        .unwrap()
}

fn draft(company: i64, type_id: String) -> ConfigurationDraft {
    ConfigurationDraft {
        company_id: company.to_string(),
        name: "ACME-SRV07".into(),
        type_id,
        device_uid: UID.into(),
        serial_number: Some("CZ12345678".into()),
        manufacturer: Some("dell inc.".into()),
        model: Some("PowerEdge R740".into()),
        os: Some("Windows Server 2022".into()),
        ip_address: Some("10.0.0.7".into()),
        warranty_expiration: Some("2028-06-30".into()),
        management_link: Some("https://merlot.rmm.datto.com/device/123".into()),
        ..ConfigurationDraft::default()
    }
}

#[tokio::test]
async fn pick_lists_flag_types_with_required_questions() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let c = client(&sim);
    let types = c.configuration_type_options().await.unwrap();
    let by = |n: &str| types.iter().find(|t| t.name == n).unwrap().clone();
    assert_eq!(
        by("Network Device").required_questions,
        vec!["Management VLAN".to_string()]
    );
    assert!(
        by("Printer").required_questions.is_empty(),
        "an optional question is no obstacle"
    );
    assert!(by("Server").required_questions.is_empty());
    assert!(!by("Managed Server (legacy)").active);
    let statuses = c.configuration_statuses().await.unwrap();
    assert!(statuses.iter().any(|s| s.label == "Inactive" && s.closed));
    assert!(statuses.iter().any(|s| s.label == "Active" && s.default && !s.closed));
    let makers = c.manufacturers().await.unwrap();
    assert!(makers.iter().any(|m| m.label == "Lenovo"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_create_sends_name_type_company_status_and_the_device_fields() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let c = client(&sim);
    let company = first_company(&sim);
    let server = type_id(&sim, "Server");
    let outcome = c.create_configuration(&draft(company, server.clone())).await.unwrap();
    let CreateOutcome::Created(id) = outcome else {
        panic!("{outcome:?}")
    };
    let mine = sim.configurations_for_device(UID);
    assert_eq!(mine.len(), 1);
    let rec = &mine[0];
    assert_eq!(rec["id"].to_string(), id);
    assert_eq!(rec["name"], "ACME-SRV07");
    assert_eq!(rec["type"]["id"].to_string(), server);
    assert_eq!(rec["company"]["id"], company);
    assert_eq!(rec["status"]["name"], "Active", "the default status");
    assert_eq!(rec["manufacturer"]["name"], "Dell Inc.", "a reference, found by name");
    assert_eq!(rec["modelNumber"], "PowerEdge R740");
    assert_eq!(rec["warrantyExpirationDate"], "2028-06-30T00:00:00Z");
    assert_eq!(rec["managementLink"], "https://merlot.rmm.datto.com/device/123");

    let found = c.find_configuration_by_device(UID).await.unwrap().unwrap();
    assert_eq!(
        (found.id.as_str(), found.warranty_expiration.as_deref()),
        (id.as_str(), Some("2028-06-30"))
    );
    assert_eq!(
        c.create_configuration(&draft(company, server)).await.unwrap(),
        CreateOutcome::Found(id.clone())
    );
    assert_eq!(sim.configurations_for_device(UID).len(), 1);
    let listed = c.company_configurations(&company.to_string()).await.unwrap();
    assert!(listed.iter().any(|x| x.id == id));
    assert!(
        listed
            .iter()
            .all(|x| x.company_id.as_deref() == Some(&*company.to_string()))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_type_with_required_questions_is_refused_before_any_write() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let c = client(&sim);
    let company = first_company(&sim);
    let network = type_id(&sim, "Network Device");
    let e = c
        .create_configuration(&draft(company, network.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PsaError::Validation { detail, .. } if detail.contains("Management VLAN")),
        "{e}"
    );
    assert!(sim.configurations_for_device(UID).is_empty());

    // The simulator refuses such a create as ConnectWise does, and takes it with the answer.
    let base = c.api_base().await.unwrap();
    let post = |body: serde_json::Value| {
        let url = base.join("company/configurations").unwrap();
        let cfg = sim.config().clone();
        async move {
            crate::http::client()
                .post(url)
                .basic_auth(format!("{}+{}", cfg.company_id, cfg.public_key), Some(cfg.private_key))
                .header("clientId", CLIENT_ID)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let net: i64 = network.parse().unwrap();
    let refused = post(json!({"name": "SW-CORE", "type": {"id": net}, "company": {"id": company}})).await;
    assert_eq!(refused.status().as_u16(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "questions");
    let answered = post(
        json!({"name": "SW-CORE", "type": {"id": net}, "company": {"id": company},
        "questions": [{"questionId": 1, "answer": "VLAN 10"}]}),
    )
    .await;
    assert_eq!(answered.status().as_u16(), 201);
    let missing = post(json!({"type": {"id": net}})).await;
    assert_eq!(missing.status().as_u16(), 400);
    let body: serde_json::Value = missing.json().await.unwrap();
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, vec!["name", "company"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_lost_create_answer_is_found_by_the_device_uid_not_created_twice() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let c = client(&sim);
    sim.lose_next_configuration_create_answers(1);
    let outcome = c
        .create_configuration(&draft(first_company(&sim), type_id(&sim, "Server")))
        .await
        .unwrap();
    let mine = sim.configurations_for_device(UID);
    assert_eq!(mine.len(), 1, "one configuration, not two");
    assert_eq!(outcome, CreateOutcome::Found(mine[0]["id"].to_string()));
    sim.shutdown().await;
}

#[tokio::test]
async fn updates_write_changed_fields_only_and_deactivation_closes_it() {
    let sim = sim(ConnectWiseConfig::default()).await;
    let c = client(&sim);
    let company = first_company(&sim);
    let id = sim.add_configuration(
        company,
        json!({"name": "ACME-SRV07", "serialNumber": "CZ12345678", "osInfo": "Windows Server 2019",
               "warrantyExpirationDate": "2026-01-31T00:00:00Z"}),
    );
    let current = c
        .company_configurations(&company.to_string())
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.id == id.to_string())
        .unwrap();
    let changes = ConfigurationChanges::between(&current, &draft(company, "3".into()));
    assert_eq!(changes.warranty_expiration, None, "a set warranty is never overwritten");
    assert_eq!(changes.serial_number, None);
    c.update_configuration(&id.to_string(), &changes).await.unwrap();
    let rec = sim.configurations().into_iter().find(|x| x["id"] == id).unwrap();
    assert_eq!(rec["deviceIdentifier"], UID, "linked");
    assert_eq!(rec["osInfo"], "Windows Server 2022");
    assert_eq!(rec["warrantyExpirationDate"], "2026-01-31T00:00:00Z");

    c.deactivate_configuration(&id.to_string()).await.unwrap();
    let rec = sim.configurations().into_iter().find(|x| x["id"] == id).unwrap();
    assert_eq!(rec["activeFlag"], false);
    assert_eq!(rec["status"]["id"], 2, "the closed status");
    assert_eq!(rec["deviceIdentifier"], UID);
    sim.shutdown().await;
}
