//! Lambda: the site mapping table (`shared::site_mapping::routes::mapping_router`):
//! `GET /integrations/{id}/sites`, `PUT`/`DELETE /integrations/{id}/sites/{siteUid}/mapping`.

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::site_mapping::routes::mapping_router(app.sites())).await
}
