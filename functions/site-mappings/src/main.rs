//! Lambda: the site mapping table, `GET /integrations/{id}/sites` and
//! `PUT`/`DELETE /integrations/{id}/sites/{siteUid}/mapping`. See [`shared::api::sites`].

use shared::site_mapping::routes::SitesApi;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let api = SitesApi::from_env().await?;
    shared::api::serve_handler(|req| api.handle(req)).await
}
