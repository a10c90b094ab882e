//! Lambda: the `/integrations` API. See [`shared::api::integrations`].

use shared::connections::routes::IntegrationsApi;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let mut api = IntegrationsApi::from_env().await?;
    api.cascades = shared::app::integration_cascades(&api.store);
    shared::api::serve_handler(|req| api.handle(req)).await
}
