//! Lambda: quick match (`shared::site_mapping::routes::quick_match_router`):
//! `POST /integrations/{id}/quick-match`. Its own function because it loads
//! every site and company of a tenant at once and needs more memory and
//! time than the table routes.

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::site_mapping::routes::quick_match_router(app.sites())).await
}
