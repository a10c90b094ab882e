//! Lambda: the sync routes (`shared::sync::routes`):
//! `POST /integrations/{id}/sync` (Sync Now) and
//! `GET /integrations/{id}/sync-runs/{runId}` (a run's status).

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::sync::routes::router(app.sync_api())).await
}
