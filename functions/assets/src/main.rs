//! Lambda: the portal's assets (/assets, /companies/{id}/assets).
//! The routes it serves come from the template; see [`shared::api::devices`].

use shared::devices::routes::DevicesApi;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let api = DevicesApi::from_env().await?;
    shared::api::serve_handler(|req| api.handle(req)).await
}
