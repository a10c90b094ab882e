//! Lambda: the PSA import worker. The nightly schedule queues a run for
//! every PSA integration; the DynamoDB stream (filtered to import runs that
//! are `queued`) hands each run to one invocation. See `shared::psa_import`
//! and `shared::runs::worker`.

use lambda_runtime::service_fn;
use shared::{app::App, runs::worker::drive};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let api = App::from_env().await?.psa_import();
    let importer = &api.importer();
    lambda_runtime::run(service_fn(move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
        drive(importer, &event.payload).await
    }))
    .await
}
