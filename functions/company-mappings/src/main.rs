//! Lambda: mapping from the company side (`shared::site_mapping::company_routes::router`):
//! `GET`/`POST /integrations/{id}/company-mappings`,
//! `POST /integrations/{id}/company-mappings/{companyId}/site`.

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::site_mapping::company_routes::router(app.company_mappings())).await
}
