//! Lambda: the sync worker. The 15-minute schedule starts a run for every
//! integration without one; the DynamoDB stream (filtered to run records that
//! are `queued` or `continuing`) hands each run to one invocation, which runs
//! it until it is done or its time budget is spent. See [`shared::sync`].

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use shared::app::App;
use shared::runs::events::{WorkerEvent, parse_worker_event};
use shared::sync::{SyncDeps, schedule_all};
use shared::workers::sync_run;

async fn handle(deps: &SyncDeps, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    match parse_worker_event(&event.payload)? {
        WorkerEvent::Schedule => {
            let started = schedule_all(deps).await?;
            tracing::info!(started = started.len(), "scheduled sync runs queued");
            Ok(json!({ "started": started.len() }))
        }
        WorkerEvent::Runs(runs) => {
            let mut done = Vec::new();
            for r in runs {
                let run = sync_run(deps, &r.tenant, &r.integration_id, &r.run_id, &deps.settings.budget).await?;
                tracing::info!(tenant = %r.tenant, integration = %r.integration_id, run = %r.run_id,
                    status = run.status.as_str(), "sync invocation finished");
                done.push(json!({ "runId": run.run_id, "status": run.status }));
            }
            Ok(json!({ "runs": done }))
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let deps = &App::from_env().await?.sync_deps();
    lambda_runtime::run(service_fn(move |event| handle(deps, event))).await
}
