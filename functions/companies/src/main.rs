//! Lambda: the `/companies` API. See [`shared::api::companies`].

use shared::api::companies::CompaniesApi;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let api = CompaniesApi::from_env().await?;
    shared::api::serve(|req| api.handle(req)).await
}
