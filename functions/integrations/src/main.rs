//! Lambda: the `/integrations` API. See [`shared::api::integrations`].

use shared::api::integrations::IntegrationsApi;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let api = IntegrationsApi::from_env().await?;
    let api = &api;
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(api.handle(req).await)
    }))
    .await
}
