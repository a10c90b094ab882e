//! Lambda: Sync Now and sync run status. See [`shared::sync::api`].

use shared::sync::SyncDeps;
use shared::sync::routes::SyncApi;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let api = SyncApi {
        deps: SyncDeps::from_env().await?,
    };
    shared::api::serve_handler(|req| api.handle(req)).await
}
