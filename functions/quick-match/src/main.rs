//! Lambda: quick match, `POST /integrations/{id}/quick-match`. Its own
//! function because it loads every site and company of a tenant at once and
//! needs more memory and time than the table routes. See [`shared::api::sites`].

use shared::site_mapping::routes::SitesApi;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let api = SitesApi::from_env().await?;
    shared::api::serve_handler(|req| api.handle(req)).await
}
