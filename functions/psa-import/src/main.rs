//! Lambda: the PSA import routes (`shared::psa_import::routes`):
//! `POST /integrations/{id}/psa-import/preview`, `POST .../apply`,
//! `GET .../runs`, `GET .../runs/{runId}`, `GET`/`PUT .../overrides`,
//! `GET`/`PUT .../settings`, and `GET /contacts`, `/locations`,
//! `/configurations`, `/users`.

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::psa_import::routes::router(app.psa_import())).await
}
