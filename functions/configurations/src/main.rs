//! Lambda: devices to PSA configurations (`shared::configurations::routes::router`):
//! `GET /integrations/{id}/configuration-options`, `GET`/`PUT /integrations/{id}/configuration-types`,
//! `GET`/`POST /integrations/{id}/configuration-map`, `POST .../configuration-unmap`, `GET .../configuration-audit`.

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::configurations::routes::router(app.configurations())).await
}
