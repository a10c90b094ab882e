//! Lambda: the sync worker. The 15-minute schedule starts a run for every
//! Datto RMM integration without one; the DynamoDB stream (filtered to sync
//! runs that are `queued` or `continuing`) hands each run to one invocation,
//! which syncs until done or out of time, then runs the device auto-import and
//! the configurations refresh.
//! See `shared::workers::SyncWorker` and `shared::runs::worker`.

use lambda_runtime::service_fn;
use shared::{app::App, runs::worker::drive};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let worker = &App::from_env().await?.sync_worker();
    lambda_runtime::run(service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move { drive(worker, &event.payload).await },
    ))
    .await
}
