//! Lambda: the RMM operations (`shared::operations::routes`): Datto RMM reads and actions
//! under `/integrations/{id}/rmm/...`, policies, approvals and the audit trail under
//! `/operations/...`, and the MCP endpoint `POST /mcp` (all JWT).

use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = App::from_env().await?;
    shared::api::serve(shared::operations::routes::router(app.operations_api())).await
}
