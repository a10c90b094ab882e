//! Lambda: the PSA import worker. The nightly schedule queues a run for
//! every PSA integration; the DynamoDB stream (filtered to import runs that
//! are `queued`) hands each run to one invocation. See [`shared::psa_import`].

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::app::App;
use shared::psa_import::handle_worker_event;
use shared::psa_import::routes::PsaImportApi;

async fn handle(api: &PsaImportApi, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(handle_worker_event(&api.importer(), &event.payload).await?)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let api = &App::from_env().await?.psa_import();
    lambda_runtime::run(service_fn(move |event| handle(api, event))).await
}
