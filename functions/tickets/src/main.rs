//! Lambda: ticket settings and the alert round trip's webhooks. See [`shared::api::tickets`].

use shared::tickets::routes::TicketsApi;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let api = TicketsApi::from_env().await?;
    shared::api::serve_handler(|req| api.handle(req)).await
}
