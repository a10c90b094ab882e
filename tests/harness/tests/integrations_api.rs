//! The `/integrations` API end to end: real API Gateway v2 events into the
//! handler, moto's DynamoDB and Secrets Manager over HTTP, and the Datto RMM
//! simulator over HTTP.

use rmmsync_tests::Handle;
use rmmsync_tests::{api_request, api_request_raw, aws_config, fresh_store, read_response, secrets_manager};
use serde_json::{Value, json};
use shared::connections::routes::IntegrationsApi;
use shared::datto::{DattoConnector, RetryPolicy};
use shared::store::DynamoStore;
use simulators::datto::{DattoConfig, DattoSim};
use std::time::Duration;

const KEY: &str = "SIMKEY-1234567890";
const SECRET: &str = "SIMSECRET-abcdefghijklmnop";

struct Stack {
    api: IntegrationsApi,
    sim: DattoSim,
    config: aws_config::SdkConfig,
}

async fn stack() -> Stack {
    let sim = DattoSim::start(DattoConfig {
        platform: "merlot".into(),
        api_key: KEY.into(),
        api_secret: SECRET.into(),
        restricted_api_key: Some(("RESTRICTED-KEY".into(), "RESTRICTED-SECRET".into())),
        sites: 12,
        devices: 240,
        ..DattoConfig::default()
    })
    .await
    .expect("start the Datto RMM simulator");
    let config = aws_config().await;
    let quick = RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::datto()
    };
    let api = IntegrationsApi {
        psa: shared::psa::PsaConnector::from_env(shared::http::client()),
        store: fresh_store(&config).await,
        secrets: secrets_manager(&config),
        datto: DattoConnector::new(shared::http::client())
            .with_base_url_template(format!("{}/{{platform}}", sim.base_url()))
            .with_retry(quick),
        settings: rmmsync_tests::test_settings(),
        cascades: Vec::new(),
        psa_cascades: Vec::new(),
        runs: Default::default(),
    };
    Stack { api, sim, config }
}

fn creds(platform: &str, key: &str, secret: &str) -> Value {
    json!({ "platform": platform, "apiKey": key, "apiSecret": secret })
}

impl Stack {
    async fn call(&self, method: &str, path: &str, tenant: &str, body: Option<Value>) -> (u16, Value) {
        let (status, value) = read_response(
            self.api
                .handle(api_request(method, path, Some(tenant), body.as_ref()))
                .await,
        );
        let text = value.to_string();
        assert!(
            !text.contains(SECRET) && !text.contains(KEY),
            "a response leaked a credential: {text}"
        );
        (status, value)
    }

    async fn create(&self, tenant: &str) -> String {
        let (status, body) = self
            .call("POST", "/integrations", tenant, Some(creds("merlot", KEY, SECRET)))
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("an id").to_owned()
    }

    async fn raw_item(
        &self,
        tenant: &str,
        id: &str,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        self.api
            .store
            .client()
            .get_item()
            .table_name(self.api.store.table())
            .key("PK", S(format!("TENANT#{tenant}")))
            .key("SK", S(format!("INTEGRATION#{id}")))
            .send()
            .await
            .unwrap()
            .item
    }

    fn secrets_client(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.config)
    }
}

#[tokio::test]
async fn test_connection_reports_the_account() {
    let s = stack().await;
    let (status, body) = s
        .call(
            "POST",
            "/integrations/datto-rmm/test",
            "acme",
            Some(creds("Merlot", KEY, SECRET)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    assert!(body["accountName"].as_str().is_some_and(|n| !n.is_empty()), "{body}");
    let live = s.sim.devices().iter().filter(|d| !d.deleted).count();
    assert!(live > 200, "the simulator keeps most devices live");
    assert_eq!(body["deviceCount"], live, "deleted devices are not counted");
}

#[tokio::test]
async fn test_connection_tells_the_causes_apart() {
    let s = stack().await;
    let cases = [
        (creds("merlot", KEY, "wrong-secret"), 422, "datto_rmm.bad_credentials"),
        (creds("syrah", KEY, SECRET), 422, "datto_rmm.wrong_platform"),
        (
            creds("merlot", "RESTRICTED-KEY", "RESTRICTED-SECRET"),
            422,
            "datto_rmm.permission_denied",
        ),
        (creds("malbec", KEY, SECRET), 400, "invalid_request"),
        (json!({ "platform": "merlot", "apiKey": KEY }), 400, "invalid_request"),
    ];
    for (body, want_status, want_code) in cases {
        let (status, answer) = s
            .call("POST", "/integrations/datto-rmm/test", "acme", Some(body.clone()))
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (want_status, Some(want_code)),
            "{body} -> {answer}"
        );
        assert!(answer["message"].as_str().is_some_and(|m| m.len() > 10), "{answer}");
    }
    let (_, wrong) = s
        .call(
            "POST",
            "/integrations/datto-rmm/test",
            "acme",
            Some(creds("syrah", KEY, SECRET)),
        )
        .await;
    assert!(
        wrong["message"].as_str().unwrap().contains("Merlot"),
        "names the right platform: {wrong}"
    );
}

#[tokio::test]
async fn test_connection_to_an_unreachable_host_is_a_502() {
    let mut s = stack().await;
    // A port nothing listens on: bind, note it, let it go.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    s.api.datto = s
        .api
        .datto
        .clone()
        .with_base_url_template(format!("http://{closed}/{{platform}}"));
    let (status, body) = s
        .call(
            "POST",
            "/integrations/datto-rmm/test",
            "acme",
            Some(creds("merlot", KEY, SECRET)),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("datto_rmm.unreachable")),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_requests_are_400s_with_a_reason() {
    let s = stack().await;
    for raw in [
        "{not json",
        "[]",
        r#"{"platform":"merlot","apiKey":"k","apiSecret":"s","extra":1}"#,
        "",
    ] {
        let (status, body) = read_response(
            s.api
                .handle(api_request_raw("POST", "/integrations", "acme", raw))
                .await,
        );
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{raw:?} -> {body}"
        );
    }
    let (status, body) = s.call("PATCH", "/integrations", "acme", None).await;
    assert_eq!(status, 405, "{body}");
    let (status, _) = s.call("GET", "/nowhere", "acme", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_request_without_a_tenant_claim_touches_nothing() {
    let s = stack().await;
    let (status, body) = read_response(s.api.handle(api_request("GET", "/integrations", None, None)).await);
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let (status, _) = read_response(
        s.api
            .handle(api_request("GET", "/integrations", Some("bad#tenant"), None))
            .await,
    );
    assert_eq!(status, 401);
}

#[tokio::test]
async fn create_stores_keys_in_secrets_manager_and_only_the_arn_in_dynamodb() {
    let s = stack().await;
    let id = s.create("acme").await;

    let item = s.raw_item("acme", &id).await.expect("the integration item");
    let arn = item["secretArn"].as_s().unwrap().clone();
    let flat = format!("{item:?}");
    assert!(
        !flat.contains(SECRET) && !flat.contains(KEY),
        "DynamoDB holds a credential: {flat}"
    );

    let stored = s
        .secrets_client()
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    let stored: Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    assert_eq!(
        (stored["apiKey"].as_str(), stored["apiSecret"].as_str()),
        (Some(KEY), Some(SECRET))
    );

    let (status, list) = s.call("GET", "/integrations", "acme", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["integrations"].as_array().unwrap().len(), 1);
    let (status, one) = s.call("GET", &format!("/integrations/{id}"), "acme", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        (one["platform"].as_str(), one["type"].as_str()),
        (Some("merlot"), Some("datto-rmm"))
    );
    assert!(one.get("secretArn").is_none(), "the ARN is internal: {one}");
}

#[tokio::test]
async fn create_with_refused_keys_stores_nothing() {
    let s = stack().await;
    let (status, body) = s
        .call("POST", "/integrations", "acme", Some(creds("merlot", KEY, "nope")))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("datto_rmm.bad_credentials"))
    );
    let (_, list) = s.call("GET", "/integrations", "acme", None).await;
    assert_eq!(list["integrations"], json!([]));
}

#[tokio::test]
async fn a_failed_store_write_leaves_no_orphaned_secret() {
    let s = stack().await;
    // A table that does not exist: DynamoDB fails after the secret was created.
    let broken = IntegrationsApi {
        psa: shared::psa::PsaConnector::from_env(shared::http::client()),
        store: DynamoStore::new(s.api.store.client().clone(), "rmmsync-no-such-table"),
        secrets: secrets_manager(&s.config),
        datto: s.api.datto.clone(),
        settings: s.api.settings.clone(),
        cascades: Vec::new(),
        psa_cascades: Vec::new(),
        runs: Default::default(),
    };
    let (status, body) = read_response(
        broken
            .handle(api_request(
                "POST",
                "/integrations",
                Some("acme"),
                Some(&creds("merlot", KEY, SECRET)),
            ))
            .await,
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("store_unavailable")),
        "{body}"
    );
    let listed = s.secrets_client().list_secrets().send().await.unwrap();
    let ours = listed
        .secret_list()
        .iter()
        .filter(|x| x.name().unwrap_or_default().starts_with(&s.api.settings.secret_prefix))
        .count();
    assert_eq!(ours, 0, "the secret of the failed create was not removed");
}

#[tokio::test]
async fn one_tenant_can_neither_read_nor_delete_anothers_integration() {
    let s = stack().await;
    let id = s.create("tenant-a").await;

    let (status, _) = s.call("GET", &format!("/integrations/{id}"), "tenant-b", None).await;
    assert_eq!(status, 404);
    let (status, _) = s.call("DELETE", &format!("/integrations/{id}"), "tenant-b", None).await;
    assert_eq!(status, 404);
    let (status, _) = s
        .call(
            "PUT",
            &format!("/integrations/{id}/credentials"),
            "tenant-b",
            Some(creds("merlot", KEY, SECRET)),
        )
        .await;
    assert_eq!(status, 404);
    let (_, list) = s.call("GET", "/integrations", "tenant-b", None).await;
    assert_eq!(list["integrations"], json!([]));

    let (status, _) = s.call("GET", &format!("/integrations/{id}"), "tenant-a", None).await;
    assert_eq!(status, 200, "tenant B's attempts changed tenant A's integration");
    assert!(s.raw_item("tenant-a", &id).await.is_some());
}

#[tokio::test]
async fn delete_removes_the_items_and_schedules_the_secret_for_deletion() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let s = stack().await;
    let id = s.create("acme").await;
    let arn = s.raw_item("acme", &id).await.unwrap()["secretArn"]
        .as_s()
        .unwrap()
        .clone();
    // Something the integration owns, as sync will write.
    s.api
        .store
        .client()
        .put_item()
        .table_name(s.api.store.table())
        .item("PK", S(format!("TENANT#acme#INTEGRATION#{id}")))
        .item("SK", S("SITE#site-1".into()))
        .send()
        .await
        .unwrap();

    let (status, _) = s.call("DELETE", &format!("/integrations/{id}"), "acme", None).await;
    assert_eq!(status, 204);
    assert!(s.raw_item("acme", &id).await.is_none());
    let children = s
        .api
        .store
        .client()
        .query()
        .table_name(s.api.store.table())
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", S(format!("TENANT#acme#INTEGRATION#{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(children.count(), 0);
    let described = s
        .secrets_client()
        .describe_secret()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        described.deleted_date().is_some(),
        "the secret is not scheduled for deletion"
    );

    let (status, _) = s.call("DELETE", &format!("/integrations/{id}"), "acme", None).await;
    assert_eq!(status, 404, "a second delete finds nothing");
}

#[tokio::test]
async fn rotating_credentials_tests_them_first() {
    let s = stack().await;
    let id = s.create("acme").await;
    let arn = s.raw_item("acme", &id).await.unwrap()["secretArn"]
        .as_s()
        .unwrap()
        .clone();
    let path = format!("/integrations/{id}/credentials");

    let (status, body) = s
        .call(
            "PUT",
            &path,
            "acme",
            Some(json!({ "apiKey": KEY, "apiSecret": "stale" })),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("datto_rmm.bad_credentials"))
    );
    let stored = s
        .secrets_client()
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        stored.secret_string().unwrap().contains(SECRET),
        "refused keys replaced the good ones"
    );

    // The simulator's restricted user has valid keys but no API access: refused too.
    let (status, _) = s
        .call(
            "PUT",
            &path,
            "acme",
            Some(json!({ "apiKey": "RESTRICTED-KEY", "apiSecret": "RESTRICTED-SECRET" })),
        )
        .await;
    assert_eq!(status, 422);

    let (status, body) = s
        .call(
            "PUT",
            &path,
            "acme",
            Some(json!({ "apiKey": KEY, "apiSecret": SECRET, "name": "Main RMM" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Main RMM");
    assert_ne!(body["credentialsUpdatedAt"], Value::Null);
    let _ = &s.sim;
}

/// A warm function reads a credential secret once: `read_current` uses the value read under
/// the same marker (the integration's `credentialsUpdatedAt`), reads again when the marker
/// changes (a rotation), and forgets what it holds when the secret is replaced here.
#[tokio::test]
async fn secrets_are_read_again_only_when_their_marker_changes() {
    use shared::secret::Secret;
    let config = aws_config().await;
    let secrets = secrets_manager(&config);
    let name = format!("rmmsync-test/{}/datto-rmm/cache", uuid::Uuid::new_v4().simple());
    let arn = secrets.create(&name, &Secret::new("v1"), "msp-cache").await.unwrap();
    assert_eq!(secrets.read_current(&arn, 1).await.unwrap().expose(), "v1");
    // Changed behind rmmsync's back: the cached value stands while the marker is the same.
    aws_sdk_secretsmanager::Client::new(&config)
        .put_secret_value()
        .secret_id(&arn)
        .secret_string("v2")
        .send()
        .await
        .unwrap();
    assert_eq!(secrets.read_current(&arn, 1).await.unwrap().expose(), "v1");
    assert_eq!(
        secrets.read_current(&arn, 2).await.unwrap().expose(),
        "v2",
        "a new marker reads again"
    );
    secrets.replace(&arn, &Secret::new("v3")).await.unwrap();
    assert_eq!(
        secrets.read_current(&arn, 2).await.unwrap().expose(),
        "v3",
        "a replace forgets"
    );
    secrets.delete_now(&arn).await.unwrap();
}
