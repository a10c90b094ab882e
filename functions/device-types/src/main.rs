//! Lambda: portal device types and Datto type mappings
//! (`shared::devices::routes::device_types_router`): `GET`/`POST /device-types`,
//! `DELETE /device-types/{id}`, `GET`/`PUT /integrations/{id}/device-types`.

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::devices::routes::device_types_router(app.devices())).await
}
