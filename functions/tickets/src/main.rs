//! Lambda: the ticket routes (`shared::tickets::routes`):
//! `GET`/`PUT /integrations/{id}/ticket-settings` and
//! `POST /integrations/{id}/hook-token` (JWT), and the webhooks
//! `POST /hooks/datto/{integrationId}/alerts`,
//! `POST /hooks/autotask/{integrationId}/callout` and
//! `POST /hooks/connectwise/{integrationId}/callback` (hook token).

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::tickets::routes::router(app.tickets())).await
}
