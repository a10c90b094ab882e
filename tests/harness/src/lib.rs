//! Test support for rmmsync's integration tests, benchmarks and demo:
//! AWS clients pointed at moto, a fresh table per test, and API Gateway v2
//! events (payload format 2.0, JWT authorizer claims) like the ones the
//! functions receive in AWS.
//!
//! moto must be running: `./scripts/test.sh` starts it and sets
//! `RMMSYNC_MOTO_ENDPOINT`. The Datto RMM simulator is started in-process by
//! each test (`simulators::datto::DattoSim`), on its own port.

pub mod aws_calls;
pub mod bench;
pub mod local_api;
pub mod ticket_world;

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::secrets::SecretsManager;
use shared::store::DynamoStore;

/// moto's endpoint, from `RMMSYNC_MOTO_ENDPOINT`.
pub fn moto_endpoint() -> String {
    std::env::var("RMMSYNC_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "RMMSYNC_MOTO_ENDPOINT is not set. These tests talk to moto's DynamoDB and Secrets Manager over HTTP: \
             run them with ./scripts/test.sh, which starts moto, or start `.venv/bin/python scripts/moto_server.py -H 127.0.0.1 -p 5000` \
             and export RMMSYNC_MOTO_ENDPOINT=http://127.0.0.1:5000"
        )
    })
}

/// SDK configuration for moto: static test credentials, one region.
pub async fn aws_config() -> aws_config::SdkConfig {
    let credentials = aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "rmmsync-tests");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await
}

/// A store on a table of its own, so that tests never see each other's items.
pub async fn fresh_store(config: &aws_config::SdkConfig) -> DynamoStore {
    let table = format!("rmmsync-test-{}", uuid::Uuid::new_v4().simple());
    let dynamo = aws_sdk_dynamodb::config::Builder::from(config)
        .interceptor(aws_calls::CountCalls)
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(dynamo), table);
    store.ensure_table().await.expect("create the test table in moto");
    store
}

pub fn secrets_manager(config: &aws_config::SdkConfig) -> SecretsManager {
    let conf = aws_sdk_secretsmanager::config::Builder::from(config)
        .interceptor(aws_calls::CountCalls)
        .build();
    SecretsManager::new(aws_sdk_secretsmanager::Client::from_conf(conf))
}

/// An API Gateway HTTP API (payload 2.0) event, as JSON. `tenant: None`
/// leaves out the authorizer, as for a request that skipped it.
pub fn api_event_json(method: &str, path: &str, tenant: Option<&str>, body: Option<&Value>) -> Value {
    let (raw_path, raw_query) = path.split_once('?').unwrap_or((path, ""));
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "rmmsync",
        "domainName": "rmmsync.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "rmmsync",
        "http": { "method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10", "userAgent": "rmmsync-tests" },
        "requestId": uuid::Uuid::new_v4().to_string(),
        "routeKey": "$default",
        "stage": "$default",
        "time": "21/Nov/2026:10:00:00 +0000",
        "timeEpoch": 1_795_000_000_000_i64
    });
    if let Some(t) = tenant {
        context["authorizer"] = json!({ "jwt": { "claims": { "tenant": t, "sub": format!("user-of-{t}"), "iss": "https://issuer.example" }, "scopes": null } });
    }
    let mut query = serde_json::Map::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        query.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "headers": { "content-type": "application/json", "authorization": "Bearer test-token", "host": "rmmsync.execute-api.us-east-1.amazonaws.com" },
        "requestContext": context,
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false
    })
}

/// The same event, parsed by lambda_http exactly as the runtime would.
pub fn api_request(method: &str, path: &str, tenant: Option<&str>, body: Option<&Value>) -> Request {
    lambda_http::request::from_str(&api_event_json(method, path, tenant, body).to_string())
        .expect("a valid API Gateway v2 event")
}

/// An event whose body is raw text (for malformed JSON).
pub fn api_request_raw(method: &str, path: &str, tenant: &str, body: &str) -> Request {
    let mut event = api_event_json(method, path, Some(tenant), None);
    event["body"] = Value::String(body.to_owned());
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

/// Sends one request through a flow's router as the Lambda would serve it
/// (the edge's fallbacks included) and answers in lambda_http's terms.
pub async fn call(router: utoipa_axum::router::OpenApiRouter, req: Request) -> Response<Body> {
    use tower::ServiceExt;
    let response = shared::api::finish(router)
        .oneshot(req)
        .await
        .expect("axum routers never fail");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("read the body");
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    Response::from_parts(parts, body)
}

/// `api.handle(request)` for the tests: one request through the flow's router.
pub trait Handle {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Response<Body>> + Send;
}

impl Handle for shared::companies::routes::CompaniesApi {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        call(shared::companies::routes::router(self.clone()), req)
    }
}

impl Handle for shared::connections::routes::IntegrationsApi {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        call(shared::connections::routes::router(self.clone()), req)
    }
}

impl Handle for shared::site_mapping::routes::SitesApi {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        call(shared::site_mapping::routes::router(self.clone()), req)
    }
}

impl Handle for shared::site_mapping::company_routes::CompanyMappingApi {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        call(shared::site_mapping::company_routes::router(self.clone()), req)
    }
}

impl Handle for shared::devices::routes::DevicesApi {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        call(shared::devices::routes::router(self.clone()), req)
    }
}

impl Handle for shared::sync::routes::SyncApi {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        call(shared::sync::routes::router(self.clone()), req)
    }
}

impl Handle for shared::psa_import::routes::PsaImportApi {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        call(shared::psa_import::routes::router(self.clone()), req)
    }
}

impl Handle for shared::tickets::routes::TicketsApi {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        call(shared::tickets::routes::router(self.clone()), req)
    }
}

impl Handle for shared::configurations::routes::ConfigurationsApi {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        call(shared::configurations::routes::router(self.clone()), req)
    }
}

/// Status and JSON body of a response (`Value::Null` when empty).
pub fn read_response(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// A PSA connector for the simulators: Autotask zone discovery at `autotask_zone_url`,
/// ConnectWise over http with a test clientId, and fast retries.
pub fn psa_connector(autotask_zone_url: &str) -> shared::psa::PsaConnector {
    use shared::psa::autotask::{AutotaskConnector, RetryPolicy as AutotaskRetry};
    use shared::psa::connectwise::{ConnectWiseConnector, RetryPolicy as ConnectWiseRetry};
    use std::time::Duration;
    let http = shared::http::client();
    shared::psa::PsaConnector {
        autotask: AutotaskConnector::new(http.clone())
            .with_zone_url(autotask_zone_url)
            .with_rest_domains(&["autotask.net", "127.0.0.1"])
            .with_integration_code(AUTOTASK_INTEGRATION_CODE)
            .with_retry(AutotaskRetry {
                base_delay: Duration::from_millis(2),
                max_delay: Duration::from_millis(20),
                ..AutotaskRetry::autotask()
            }),
        connectwise: ConnectWiseConnector::new(http)
            .with_client_id(CONNECTWISE_CLIENT_ID)
            .with_allow_http(true)
            .with_retry(ConnectWiseRetry {
                base_delay: Duration::from_millis(2),
                max_delay: Duration::from_millis(20),
                max_retry_after: Some(Duration::from_millis(50)),
                ..ConnectWiseRetry::connectwise()
            }),
    }
}

/// The Autotask simulator's default tracking identifier.
pub const AUTOTASK_INTEGRATION_CODE: &str = "SIMINTEGRATIONCODE";
/// The clientId the tests send to the ConnectWise simulator.
pub const CONNECTWISE_CLIENT_ID: &str = "00000000-0000-4000-8000-00000000c11d";

/// A stand-in for API Gateway on loopback: every HTTP request becomes an API
/// Gateway v2 event (no authorizer: webhooks carry none) handed to `handler`,
/// and its response goes back over HTTP. The simulators call it as they would
/// call the real hooks. Returns the base URL.
pub async fn gateway<H, Fut>(handler: H) -> String
where
    H: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Body>> + Send + 'static,
{
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, Uri};
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let handler = handler.clone();
        async move {
            let mut event = api_event_json(
                method.as_str(),
                uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
                None,
                None,
            );
            let mut header_map = serde_json::Map::new();
            for (name, value) in &headers {
                if let Ok(v) = value.to_str() {
                    header_map.insert(name.as_str().to_owned(), Value::String(v.to_owned()));
                }
            }
            event["headers"] = Value::Object(header_map);
            // Query values arrive percent-encoded; API Gateway decodes them.
            if let Some(Value::Object(query)) = event.get_mut("queryStringParameters") {
                for v in query.values_mut() {
                    if let Value::String(s) = v {
                        *s = percent_encoding::percent_decode_str(&s.replace('+', " "))
                            .decode_utf8_lossy()
                            .into_owned();
                    }
                }
            }
            match String::from_utf8(body.to_vec()) {
                Ok(text) => event["body"] = Value::String(text),
                Err(_) => {
                    use base64::Engine;
                    event["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(&body));
                    event["isBase64Encoded"] = Value::Bool(true);
                }
            }
            let request = lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event");
            let response = handler(request).await;
            let status = response.status();
            let body = match response.into_body() {
                Body::Text(t) => t.into_bytes(),
                Body::Binary(b) => b,
                _ => Vec::new(),
            };
            (status, [("content-type", "application/json")], body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the gateway");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("the gateway serves");
    });
    url
}

/// A Datto RMM connector for a simulator, with fast retries and no probing
/// of the other platforms (they are the same simulator).
pub fn datto_connector(sim: &simulators::datto::DattoSim) -> shared::datto::DattoConnector {
    use shared::datto::{DattoConnector, RetryPolicy};
    DattoConnector::new(shared::http::client())
        .with_base_url_template(format!("{}/{{platform}}", sim.base_url()))
        .with_platform_probe(false)
        .with_retry(RetryPolicy {
            base_delay: std::time::Duration::from_millis(5),
            max_delay: std::time::Duration::from_millis(50),
            ..RetryPolicy::datto()
        })
}

/// Integration settings whose secrets have a prefix of their own, so tests never share secrets.
pub fn test_settings() -> shared::connections::IntegrationSettings {
    shared::connections::IntegrationSettings {
        secret_prefix: format!("rmmsync-test-{}", uuid::Uuid::new_v4().simple()),
        ..Default::default()
    }
}

/// Connects the simulator's Datto RMM account for `tenant` through the
/// integrations service; returns the integration id.
pub async fn connect_datto(
    store: &DynamoStore,
    secrets: &SecretsManager,
    datto: &shared::datto::DattoConnector,
    settings: &shared::connections::IntegrationSettings,
    tenant: &shared::tenant::TenantId,
    sim: &simulators::datto::DattoSim,
) -> String {
    let cfg = sim.config();
    shared::connections::Integrations {
        store,
        secrets,
        datto,
        settings,
    }
    .create(
        tenant,
        shared::connections::DattoCredentialsInput {
            platform: Some(cfg.platform.clone()),
            api_key: Some(cfg.api_key.clone()),
            api_secret: Some(cfg.api_secret.clone()),
            name: None,
        },
    )
    .await
    .expect("connect the simulator's account")
    .id
}

/// A DynamoDB stream event of one run item (as the stream hands a queued or
/// continuing run to its worker Lambda), for `runs::worker::drive`.
pub fn run_stream_event(entity: &str, tenant: &str, integration: &str, run_id: &str, status: &str) -> Value {
    serde_json::json!({"Records": [{"eventName": "MODIFY", "dynamodb": {"NewImage": {
        "PK": {"S": format!("TENANT#{tenant}#INTEGRATION#{integration}")},
        "SK": {"S": format!("RUN#{run_id}")},
        "entity": {"S": entity}, "status": {"S": status}, "tenant": {"S": tenant},
        "integrationId": {"S": integration}, "runId": {"S": run_id}}}}]})
}

/// Drives a device-import job to its end through the worker, one invocation
/// per stream record as the Lambda gets them (at most `max_invocations`);
/// returns the invocations it took.
pub async fn drive_import_job(
    worker: &shared::devices::jobs::ImportJobWorker,
    tenant: &str,
    integration: &str,
    job_id: &str,
    max_invocations: usize,
) -> usize {
    for n in 1..=max_invocations {
        let event = run_stream_event("import-job", tenant, integration, job_id, "continuing");
        let out = shared::runs::worker::drive(worker, &event)
            .await
            .unwrap_or_else(|e| panic!("import job {job_id}: {e}"));
        let status = out["runs"][0]["status"].as_str().unwrap_or_default().to_owned();
        if !matches!(status.as_str(), "continuing" | "running" | "queued") {
            return n;
        }
    }
    panic!("import job {job_id} not finished after {max_invocations} invocations");
}
