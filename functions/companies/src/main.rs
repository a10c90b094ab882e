//! Lambda: the `/companies` API. See [`shared::api::companies`].

use shared::companies::routes::CompaniesApi;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let mut api = CompaniesApi::from_env().await?;
    api.cascades = shared::app::company_cascades(&api.store);
    shared::api::serve(|req| api.handle(req)).await
}
