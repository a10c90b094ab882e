//! Lambda: the `/companies` routes (`shared::companies::routes`).

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::companies::routes::router(app.companies())).await
}
