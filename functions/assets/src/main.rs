//! Lambda: the portal's assets (`shared::devices::routes::assets_router`):
//! `GET /assets`, `GET /assets/{id}`, `GET /companies/{id}/assets`.

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::devices::routes::assets_router(app.devices())).await
}
