//! The local API server (`rmmsync_tests::local_api`, the `local-api` binary):
//! on loopback, `X-Dev-Tenant` names the caller; the Lambda edge
//! (`shared::api::finish` without `LocalIdentity`) ignores that header.

use rmmsync_tests::{api_event_json, aws_config, call, fresh_store, psa_connector, read_response, secrets_manager};
use serde_json::{Value, json};
use shared::app::App;

async fn app() -> App {
    let config = aws_config().await;
    let http = shared::http::client();
    App {
        store: fresh_store(&config).await,
        secrets: secrets_manager(&config),
        datto: shared::datto::DattoConnector::new(http),
        // Nothing here calls a PSA; a closed loopback port if something did.
        psa: psa_connector("http://127.0.0.1:9/atservicesrest/v1.0/zoneInformation"),
        settings: rmmsync_tests::test_settings(),
        sync: shared::sync::SyncSettings::default(),
        hook_base_url: None,
        operations: shared::operations::OperationSettings::default(),
        import_jobs: Default::default(),
        clock: shared::time::now_millis,
    }
}

#[tokio::test]
async fn x_dev_tenant_names_the_caller_on_the_local_server_only() {
    let app = app().await;
    let (addr, server) = rmmsync_tests::local_api::bind(&app, 0)
        .await
        .expect("bind the local server");
    assert!(
        addr.ip().is_loopback(),
        "the local server listens on loopback only: {addr}"
    );
    tokio::spawn(server);
    let base = format!("http://{addr}");
    let http = shared::http::client();

    // On the local server the header is the caller.
    let created = http
        .post(format!("{base}/companies"))
        .header("x-dev-tenant", "acme")
        .header("x-dev-user", "dev@acme.example")
        .json(&json!({ "name": "Acme Dental" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let company: Value = created.json().await.unwrap();
    let listed = http
        .get(format!("{base}/companies"))
        .header("x-dev-tenant", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status().as_u16(), 200);
    let page: Value = listed.json().await.unwrap();
    assert_eq!(page["companies"][0]["id"], company["id"]);

    // Another tenant sees nothing of it; no header is 401, as on AWS.
    let other: Value = http
        .get(format!("{base}/companies"))
        .header("x-dev-tenant", "globex")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(other["companies"], json!([]));
    let anonymous = http.get(format!("{base}/companies")).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let problem: Value = anonymous.json().await.unwrap();
    assert_eq!(problem["code"], "unauthorized");

    // The document is served, and is the committed one's source.
    let doc = http.get(format!("{base}/openapi.json")).send().await.unwrap();
    assert_eq!(doc.status().as_u16(), 200);
    assert_eq!(doc.text().await.unwrap(), rmmsync_tests::local_api::openapi_json());

    // The Lambda edge: the same header, no JWT claim -> 401.
    let mut event = api_event_json("GET", "/companies", None, None);
    event["headers"]["x-dev-tenant"] = json!("acme");
    event["headers"]["x-dev-roles"] = json!("admin");
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let (status, body) = read_response(call(app.all_routes(), request).await);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "unauthorized");

    // With a verified claim the claim wins over the header.
    let mut event = api_event_json("GET", "/companies", Some("globex"), None);
    event["headers"]["x-dev-tenant"] = json!("acme");
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let (status, body) = read_response(call(app.all_routes(), request).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["companies"], json!([]), "the JWT's tenant, not X-Dev-Tenant");
}
