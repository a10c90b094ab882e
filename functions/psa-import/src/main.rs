//! Lambda: the PSA import's HTTP routes. See [`shared::api::psa_import`].

use shared::psa_import::routes::PsaImportApi;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let api = PsaImportApi::from_env().await?;
    shared::api::serve_handler(|req| api.handle(req)).await
}
