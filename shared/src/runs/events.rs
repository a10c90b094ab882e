//! The worker's events: an EventBridge scheduled event (the 15-minute tick)
//! or DynamoDB stream records of run items that are `queued` or `continuing`.

use crate::store::keys;
use crate::tenant::TenantId;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub tenant: TenantId,
    pub integration_id: String,
    pub run_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerEvent {
    Schedule,
    Runs(Vec<RunRef>),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an event a worker understands: {0}")]
pub struct EventError(pub String);

fn image_s<'a>(image: &'a Value, k: &str) -> Option<&'a str> {
    image.get(k)?.get("S")?.as_str()
}

/// The same two shapes for any worker whose run items carry `entity`,
/// `status`, `tenant`, `integrationId` and `runId` (the PSA import's too).
pub fn parse_run_event(event: &Value, entity: &str, waiting: &[&str]) -> Result<WorkerEvent, EventError> {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let mut runs = Vec::new();
        for r in records {
            let Some(image) = r.get("dynamodb").and_then(|d| d.get("NewImage")) else {
                continue;
            };
            if image_s(image, "entity") != Some(entity)
                || !image_s(image, "status").is_some_and(|s| waiting.contains(&s))
            {
                continue;
            }
            let (Some(tenant), Some(id), Some(run_id), Some(pk)) = (
                image_s(image, "tenant"),
                image_s(image, "integrationId"),
                image_s(image, "runId"),
                image_s(image, "PK"),
            ) else {
                continue;
            };
            let Ok(tenant) = TenantId::parse(tenant) else { continue };
            // The run's own fields must agree with the partition it lives in.
            if keys::integration_pk(&tenant, id) != pk {
                continue;
            }
            runs.push(RunRef {
                tenant,
                integration_id: id.to_owned(),
                run_id: run_id.to_owned(),
            });
        }
        return Ok(WorkerEvent::Runs(runs));
    }
    let scheduled = event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        || event.get("source").and_then(Value::as_str) == Some("aws.scheduler")
        || event.get("source").and_then(Value::as_str) == Some("aws.events");
    if scheduled {
        return Ok(WorkerEvent::Schedule);
    }
    Err(EventError(
        "neither a scheduled event nor DynamoDB stream records".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_both_shapes() {
        let tick = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
                          "time": "2026-11-21T10:00:00Z", "resources": [], "detail": {}});
        assert_eq!(
            parse_run_event(&tick, "sync-run", &["queued", "continuing"]),
            Ok(WorkerEvent::Schedule)
        );
        let pk = "TENANT#acme#INTEGRATION#i1";
        let stream = json!({"Records": [
            {"eventName": "INSERT", "dynamodb": {"NewImage": {"PK": {"S": pk}, "SK": {"S": "RUN#r1"},
              "entity": {"S": "sync-run"}, "status": {"S": "queued"}, "tenant": {"S": "acme"},
              "integrationId": {"S": "i1"}, "runId": {"S": "r1"}}}},
            {"eventName": "MODIFY", "dynamodb": {"NewImage": {"PK": {"S": pk}, "SK": {"S": "RUN#r2"},
              "entity": {"S": "sync-run"}, "status": {"S": "running"}, "tenant": {"S": "acme"},
              "integrationId": {"S": "i1"}, "runId": {"S": "r2"}}}},
            {"eventName": "MODIFY", "dynamodb": {"NewImage": {"PK": {"S": "TENANT#evil#INTEGRATION#i1"},
              "entity": {"S": "sync-run"}, "status": {"S": "queued"}, "tenant": {"S": "acme"},
              "integrationId": {"S": "i1"}, "runId": {"S": "r3"}}}}
        ]});
        match parse_run_event(&stream, "sync-run", &["queued", "continuing"]).unwrap() {
            WorkerEvent::Runs(runs) => {
                assert_eq!(runs.len(), 1);
                assert_eq!(runs[0].run_id, "r1");
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_run_event(&json!({"hello": 1}), "sync-run", &["queued"]).is_err());
    }
}
