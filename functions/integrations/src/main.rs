//! Lambda: the `/integrations` API. See [`shared::api::integrations`].

use shared::api::integrations::IntegrationsApi;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let api = IntegrationsApi::from_env().await?;
    shared::api::serve(|req| api.handle(req)).await
}
