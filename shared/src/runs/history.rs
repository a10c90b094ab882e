//! Reading a kind's runs back: a page of them newest first ([`list_runs`],
//! with an opaque cursor), and what an integration shows of them
//! ([`overview`]: the run in progress and the last finished one, each as a
//! [`RunSummary`]).
//!
//! Newest first needs run ids that sort by creation time ([`new_run_id`]);
//! the run items of every kind live at `{sk_prefix}{runId}` in the
//! integration's partition. A kind keeps its fields either as attributes of
//! the item (`status`, `trigger`, `createdAt`, `startedAt`, `finishedAt`,
//! `counts`) or as a JSON object in its `run` attribute; a summary reads either.

use super::{RunKind, RunStatus, Trigger};
use crate::store::{DynamoStore, Fields, Item, StoreError, av_to_json, classify, s};
use crate::time::format_rfc3339;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::Value;

/// A new run id: a UUID whose first 48 bits are the creation time in
/// milliseconds (the version 7 layout), so ids sort by when they were made.
pub fn new_run_id(now_ms: i64) -> String {
    let random = uuid::Uuid::new_v4();
    let mut tail = [0u8; 10];
    tail.copy_from_slice(&random.as_bytes()[..10]);
    uuid::Builder::from_unix_timestamp_millis(now_ms.max(0) as u64, &tail)
        .into_uuid()
        .to_string()
}

/// The cursor of the page after the run `run_id`.
pub fn encode_cursor(run_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(run_id)
}

/// Whether `id` can be a run id (1-64 ASCII letters, digits and dashes):
/// checked before it goes into a key.
pub fn is_run_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The run id a cursor stands for; `None` for anything this API did not give out.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let id = String::from_utf8(raw).ok()?;
    is_run_id(&id).then_some(id)
}

/// One page of run items, newest first.
#[derive(Debug, Default)]
pub struct RunPage {
    pub items: Vec<Item>,
    /// The cursor of the next page, when there may be one.
    pub next_cursor: Option<String>,
}

/// Up to `limit` run items of `kind` in partition `pk`, newest first,
/// starting after the run `after` (a decoded cursor).
pub async fn list_runs(
    store: &DynamoStore,
    pk: &str,
    kind: &RunKind,
    after: Option<&str>,
    limit: usize,
) -> Result<RunPage, StoreError> {
    let start = after.map(|run_id| Item::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(kind.run_sk(run_id)))]));
    let out = store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
        .expression_attribute_values(":pk", s(pk))
        .expression_attribute_values(":prefix", s(kind.sk_prefix))
        .scan_index_forward(false)
        .limit(limit.clamp(1, 1000) as i32)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(classify)?;
    let items = out.items.unwrap_or_default();
    let next_cursor = match out.last_evaluated_key {
        Some(k) if !k.is_empty() => Fields(&k)
            .opt_s("SK")
            .and_then(|sk| sk.strip_prefix(kind.sk_prefix).map(encode_cursor)),
        _ => None,
    };
    Ok(RunPage { items, next_cursor })
}

/// A run in a few fields, whatever its kind.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub run_id: String,
    pub status: RunStatus,
    pub trigger: Option<Trigger>,
    /// RFC 3339, as are the other times.
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// The kind's counters (a sync's `sites`, `devicesSeen`, ...; a PSA import's per record kind).
    #[schema(value_type = Object)]
    pub counts: Value,
}

impl RunSummary {
    /// Reads a run item of any kind; `None` when it is not one.
    pub fn of(item: &Item) -> Option<Self> {
        let mut fields = match av_to_json(&aws_sdk_dynamodb::types::AttributeValue::M(item.clone())) {
            Value::Object(m) => m,
            _ => return None,
        };
        if let Some(Value::Object(body)) = fields
            .get("run")
            .and_then(Value::as_str)
            .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
        {
            fields.extend(body);
        }
        let time = |k: &str| fields.get(k).and_then(Value::as_i64).map(format_rfc3339);
        Some(Self {
            run_id: fields.get("runId")?.as_str()?.to_owned(),
            status: serde_json::from_value(fields.get("status")?.clone()).ok()?,
            trigger: fields
                .get("trigger")
                .and_then(|t| serde_json::from_value(t.clone()).ok()),
            created_at: time("createdAt"),
            started_at: time("startedAt"),
            finished_at: time("finishedAt"),
            counts: fields
                .get("counts")
                .cloned()
                .unwrap_or(Value::Object(Default::default())),
        })
    }
}

/// One run of `kind` in partition `pk`, summed up; `None` when there is no such run.
pub async fn run_summary(
    store: &DynamoStore,
    pk: &str,
    kind: &RunKind,
    run_id: &str,
) -> Result<Option<RunSummary>, StoreError> {
    let out = store
        .client()
        .get_item()
        .table_name(store.table())
        .key("PK", s(pk))
        .key("SK", s(kind.run_sk(run_id)))
        .consistent_read(true)
        .send()
        .await
        .map_err(classify)?;
    Ok(out.item.as_ref().and_then(RunSummary::of))
}

/// What an integration shows of its runs of one kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunOverview {
    /// The run queued or in progress, if any.
    pub active: Option<RunSummary>,
    /// The last run that finished (succeeded, partial or failed).
    pub last: Option<RunSummary>,
}

/// How many of the newest runs [`overview`] looks at.
const OVERVIEW_WINDOW: usize = 10;

/// The run in progress and the last finished run of `kind` in partition `pk`.
pub async fn overview(store: &DynamoStore, pk: &str, kind: &RunKind) -> Result<RunOverview, StoreError> {
    let page = list_runs(store, pk, kind, None, OVERVIEW_WINDOW).await?;
    let mut runs: Vec<RunSummary> = page.items.iter().filter_map(RunSummary::of).collect();
    // Newest first by creation time too (ids made before they sorted by time).
    runs.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(RunOverview {
        active: runs.iter().find(|r| r.status.is_active()).cloned(),
        last: runs.into_iter().find(|r| !r.status.is_active()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_time_and_cursors_round_trip() {
        let a = new_run_id(1_795_000_000_000);
        let b = new_run_id(1_795_000_000_001);
        let c = new_run_id(1_895_000_000_000);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert!(uuid::Uuid::parse_str(&a).is_ok());
        assert_eq!(decode_cursor(&encode_cursor(&a)), Some(a));
        assert_eq!(decode_cursor("not base64!"), None);
        assert_eq!(decode_cursor(&encode_cursor("RUN#x")), None);
    }

    #[test]
    fn a_summary_reads_attributes_or_the_run_body() {
        use crate::store::json_to_av;
        let flat = serde_json::json!({"runId": "r1", "status": "succeeded", "trigger": "manual",
            "createdAt": 1_795_000_000_000_i64, "finishedAt": 1_795_000_060_000_i64, "counts": {"sites": 3}});
        let aws_sdk_dynamodb::types::AttributeValue::M(item) = json_to_av(&flat) else {
            panic!()
        };
        let flat = RunSummary::of(&item).unwrap();
        assert_eq!(
            (flat.status, flat.counts["sites"].as_i64()),
            (RunStatus::Succeeded, Some(3))
        );
        assert!(flat.finished_at.is_some() && flat.started_at.is_none());
        let body =
            serde_json::json!({"runId": "r2", "status": "queued", "trigger": "schedule", "createdAt": 5, "counts": {}});
        let item = Item::from([
            ("runId".to_owned(), s("r2")),
            ("status".to_owned(), s("queued")),
            ("run".to_owned(), s(body.to_string())),
        ]);
        let body = RunSummary::of(&item).unwrap();
        assert_eq!(
            (body.status, body.trigger),
            (RunStatus::Queued, Some(Trigger::Schedule))
        );
    }
}
