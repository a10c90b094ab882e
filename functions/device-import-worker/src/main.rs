//! Lambda: the device-import worker. The DynamoDB stream (filtered to
//! import jobs that are `queued` or `continuing`) hands each job to one
//! invocation; a 5-minute schedule hands back jobs whose invocation died.
//! See `shared::devices::jobs` and `shared::runs::worker`.

use lambda_runtime::service_fn;
use shared::{app::App, runs::worker::drive};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let worker = &App::from_env().await?.import_job_worker();
    lambda_runtime::run(service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move { drive(worker, &event.payload).await },
    ))
    .await
}
