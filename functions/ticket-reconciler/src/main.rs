//! Lambda: the alert round trip's reconciler. Every 5 minutes (EventBridge
//! schedule) a pass over each Datto RMM integration with ticket settings
//! repairs what the webhooks missed, within `RECONCILE_*` budgets.
//! See `shared::tickets` (reconcile).

use lambda_runtime::service_fn;
use shared::{app::App, tickets::ReconcileBudget};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let api = &App::from_env().await?.tickets();
    let budget = &ReconcileBudget::from_env();
    lambda_runtime::run(service_fn(
        move |_: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            let passes = api
                .tickets()
                .reconcile_all(budget)
                .await
                .map_err(lambda_runtime::Error::from)?;
            Ok::<_, lambda_runtime::Error>(serde_json::json!({ "passes": passes }))
        },
    ))
    .await
}
