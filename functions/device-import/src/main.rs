//! Lambda: staged devices and device import (`shared::devices::routes::import_router`):
//! `GET /integrations/{id}/staged-devices`, `POST /integrations/{id}/import`.

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::devices::routes::import_router(app.devices())).await
}
