//! Lambda: connecting Datto RMM and PSA accounts (`shared::connections::routes`):
//! `POST /integrations/datto-rmm/test`, `POST /integrations/autotask/test`,
//! `POST /integrations/connectwise-manage/test`, `POST`/`GET /integrations`,
//! `GET`/`DELETE /integrations/{id}`, `PUT /integrations/{id}/credentials`.

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::connections::routes::router(app.integrations())).await
}
