//! One driver for every worker Lambda: an EventBridge tick runs the
//! worker's schedule, DynamoDB stream records of waiting runs each get one
//! invocation of their run. The mains differ only in the [`Worker`] they hand in.

use super::events::{RunRef, WorkerEvent, parse_run_event};
use super::{RunKind, RunStatus};
use serde_json::{Value, json};

/// Why an invocation failed (the Lambda runtime reports it and the event is retried).
pub type WorkerFailure = Box<dyn std::error::Error + Send + Sync>;

/// A kind of background run, as its worker Lambda sees it.
pub trait Worker: Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    fn kind(&self) -> &'static RunKind;

    /// The schedule's tick: queue what is due; returns how many runs it queued.
    fn schedule(&self) -> impl std::future::Future<Output = Result<usize, Self::Error>> + Send;

    /// One invocation of one run; returns the run's status after it.
    fn run(&self, run: &RunRef) -> impl std::future::Future<Output = Result<RunStatus, Self::Error>> + Send;
}

/// Handles one worker event: `{"queued": n}` for a tick, `{"runs": [{runId, status}]}` for stream records.
pub async fn drive<W: Worker>(worker: &W, event: &Value) -> Result<Value, WorkerFailure> {
    let kind = worker.kind();
    match parse_run_event(event, kind.entity, &kind.waiting_strs())? {
        WorkerEvent::Schedule => {
            let queued = worker.schedule().await?;
            tracing::info!(entity = kind.entity, queued, "scheduled runs queued");
            Ok(json!({ "queued": queued }))
        }
        WorkerEvent::Runs(runs) => {
            let mut done = Vec::new();
            for r in runs {
                let status = worker.run(&r).await?;
                tracing::info!(tenant = %r.tenant, integration = %r.integration_id, run = %r.run_id,
                    entity = kind.entity, status = status.as_str(), "worker invocation finished");
                done.push(json!({ "runId": r.run_id, "status": status }));
            }
            Ok(json!({ "runs": done }))
        }
    }
}
