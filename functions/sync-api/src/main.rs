//! Lambda: the sync routes (`shared::sync::routes`, `shared::resync`):
//! `POST /integrations/{id}/sync` (Sync Now), `GET /integrations/{id}/sync-runs`
//! (newest first), `GET /integrations/{id}/sync-runs/{runId}` (a run's status)
//! and `POST /integrations/{id}/resync` (clear and resync).

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(app.sync_routes()).await
}
