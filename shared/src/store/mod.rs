//! DynamoDB: one table, every key scoped by the tenant.
//!
//! Layout (partition key `PK`, sort key `SK`, both strings):
//!
//! | item | PK | SK |
//! |---|---|---|
//! | integration | `TENANT#{tenant}` | `INTEGRATION#{id}` |
//! | anything owned by an integration | `TENANT#{tenant}#INTEGRATION#{id}` | `{KIND}#{key}` |
//! | its large item sets (devices, import states) | `TENANT#{tenant}#INTEGRATION#{id}#SHARD#{nn}` | `{KIND}#{key}` |
//! | the tenant's assets | `TENANT#{tenant}#ASSETS#{nn}` | `ASSET#{id}` |
//!
//! `nn` is [`keys::shard_of`] of the device uid (`00`..`31`): one partition
//! key on DynamoDB absorbs about 1,000 writes a second, so 100,000 devices
//! under one key would queue on it; spread over [`keys::SHARDS`] keys, each
//! holds about 3,000 of them and the shards are read in parallel.
//!
//! Keys are only ever built by [`keys`] from a [`TenantId`], which cannot
//! contain `#`; so no request can name another tenant's partition.

mod cascade;
mod integration_items;
mod lease;

pub use cascade::{Cascade, CascadeFuture, Cascades, run_cascades};
pub use integration_items::Switches;
pub use lease::Lease;

use crate::tenant::TenantId;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use std::collections::HashMap;
use std::time::Duration;

pub type Item = HashMap<String, AttributeValue>;

/// The key builders: the only place a key string is made.
pub mod keys {
    use super::TenantId;

    /// `GSI1` partition listing every integration (for the scheduled sync);
    /// its sort key is `{tenant}#{id}`, so the tenant comes from our own data.
    pub const INTEGRATION_REGISTRY: &str = "INTEGRATIONS";
    /// `GSI1` partition listing every PSA integration (for the nightly import).
    pub const PSA_INTEGRATION_REGISTRY: &str = "PSA_INTEGRATIONS";
    pub const REGISTRY_INDEX: &str = "GSI1";

    pub fn tenant_pk(tenant: &TenantId) -> String {
        format!("TENANT#{tenant}")
    }

    pub fn integration_sk(id: &str) -> String {
        format!("INTEGRATION#{id}")
    }

    /// The partition holding everything an integration owns.
    pub fn integration_pk(tenant: &TenantId, id: &str) -> String {
        format!("TENANT#{tenant}#INTEGRATION#{id}")
    }

    /// Partition keys the large item sets are spread over (per integration for
    /// devices and import states, per tenant for assets).
    pub const SHARDS: u32 = 32;

    /// The shard of a device uid (or an asset id): FNV-1a 64 of its bytes
    /// modulo [`SHARDS`]; stable across releases (never std's hasher).
    pub fn shard_of(key: &str) -> u32 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        (h % u64::from(SHARDS)) as u32
    }

    /// Shard `shard` of an integration's partition.
    pub fn integration_shard_pk(tenant: &TenantId, id: &str, shard: u32) -> String {
        shard_pk(&integration_pk(tenant, id), shard)
    }

    /// Shard `shard` of a partition key this module built (`{pk}#SHARD#{nn}`).
    pub fn shard_pk(base_pk: &str, shard: u32) -> String {
        format!("{base_pk}#SHARD#{shard:02}")
    }

    /// Every shard partition of an integration, in shard order.
    pub fn integration_shard_pks(tenant: &TenantId, id: &str) -> Vec<String> {
        (0..SHARDS).map(|n| integration_shard_pk(tenant, id, n)).collect()
    }

    /// The shard partition holding a device's items (`DEVICE#`, `IMPORT#`).
    pub fn device_pk(tenant: &TenantId, id: &str, device_uid: &str) -> String {
        integration_shard_pk(tenant, id, shard_of(device_uid))
    }

    /// The partition of an asset: the shard of its id among the tenant's asset partitions.
    pub fn asset_pk(tenant: &TenantId, asset_id: &str) -> String {
        asset_shard_pk(tenant, shard_of(asset_id))
    }

    pub fn asset_shard_pk(tenant: &TenantId, shard: u32) -> String {
        format!("TENANT#{tenant}#ASSETS#{shard:02}")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(String),
    #[error("the item changed or exists already (conditional check failed)")]
    ConditionFailed,
    #[error("a stored item is malformed: {0}")]
    Corrupt(String),
}

pub(crate) fn classify<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(e: SdkError<E, R>) -> StoreError {
    match e.code() {
        Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
        Some(code) => StoreError::Unavailable(format!("{code}: {}", e.message().unwrap_or_default())),
        None => StoreError::Unavailable(format!("{e}")),
    }
}

/// The DynamoDB adapter. Cheap to clone; build once per process.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Writes one item as it is, replacing any item with its key (no condition).
    pub async fn put(&self, item: HashMap<String, AttributeValue>) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Creates the table as the SAM template defines it, if it is missing
    /// (local stack and tests; in AWS the template owns the table).
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
            ProjectionType, ScalarAttributeType,
        };
        if self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("static")
        };
        let key = |n: &str, t| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .expect("static")
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("PK"))
            .attribute_definitions(attr("SK"))
            .attribute_definitions(attr("GSI1PK"))
            .attribute_definitions(attr("GSI1SK"))
            .key_schema(key("PK", KeyType::Hash))
            .key_schema(key("SK", KeyType::Range))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(keys::REGISTRY_INDEX)
                    .key_schema(key("GSI1PK", KeyType::Hash))
                    .key_schema(key("GSI1SK", KeyType::Range))
                    .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
                    .build()
                    .expect("static"),
            )
            .send()
            .await;
        match created.map_err(classify) {
            Ok(_) => Ok(()),
            // Created meanwhile by a concurrent caller.
            Err(StoreError::Unavailable(m)) if m.starts_with("ResourceInUseException") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes every item of a partition, 25 at a time, retrying what
    /// DynamoDB hands back unprocessed. Returns how many it deleted.
    pub async fn delete_partition(&self, pk: &str) -> Result<usize, StoreError> {
        self.delete_prefix(pk, "").await
    }

    /// Deletes every item of partition `pk` whose sort key starts with
    /// `prefix` (all of them for `""`), 25 at a time. Returns how many it deleted.
    pub async fn delete_prefix(&self, pk: &str, prefix: &str) -> Result<usize, StoreError> {
        let mut deleted = 0;
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .projection_expression("PK, SK");
            query = if prefix.is_empty() {
                query.key_condition_expression("PK = :pk")
            } else {
                query
                    .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                    .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            };
            let page = query
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            let requests: Vec<WriteRequest> = page
                .items()
                .iter()
                .map(|item| {
                    let key = item
                        .iter()
                        .filter(|(k, _)| *k == "PK" || *k == "SK")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    WriteRequest::builder()
                        .delete_request(DeleteRequest::builder().set_key(Some(key)).build().expect("key set"))
                        .build()
                })
                .collect();
            deleted += requests.len();
            self.batch_write(requests).await?;
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(deleted),
            }
        }
    }

    /// BatchWriteItem in chunks of 25, with backoff on unprocessed items.
    /// Writes in rounds of 25. Two writes of one key in a call are refused
    /// by DynamoDB (and would wedge every retry), so only the last write of
    /// each key is sent.
    pub async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        let requests = last_write_per_key(requests);
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(classify)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(StoreError::Unavailable(format!(
                            "{} writes still unprocessed after retries",
                            pending.len()
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
                }
            }
        }
        Ok(())
    }
}

/// The writes with only the last one of each `(PK, SK)` kept, in their order.
pub(crate) fn last_write_per_key(requests: Vec<WriteRequest>) -> Vec<WriteRequest> {
    fn key(r: &WriteRequest) -> Option<(String, String)> {
        let get = |m: &std::collections::HashMap<String, AttributeValue>, k: &str| match m.get(k) {
            Some(AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        };
        if let Some(p) = r.put_request() {
            return Some((get(p.item(), "PK")?, get(p.item(), "SK")?));
        }
        let d = r.delete_request()?;
        Some((get(d.key(), "PK")?, get(d.key(), "SK")?))
    }
    let mut last = std::collections::HashMap::new();
    for (i, r) in requests.iter().enumerate() {
        if let Some(k) = key(r) {
            last.insert(k, i);
        }
    }
    if last.len() == requests.len() {
        return requests;
    }
    requests
        .into_iter()
        .enumerate()
        .filter(|(i, r)| key(r).is_none_or(|k| last.get(&k) == Some(i)))
        .map(|(_, r)| r)
        .collect()
}

/// Reading attributes out of an item, with errors that name the field.
pub(crate) struct Fields<'a>(pub &'a Item);

impl Fields<'_> {
    pub fn s(&self, name: &str) -> Result<String, StoreError> {
        self.opt_s(name)
            .ok_or_else(|| StoreError::Corrupt(format!("missing string attribute {name}")))
    }

    pub fn opt_s(&self, name: &str) -> Option<String> {
        match self.0.get(name) {
            Some(AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        }
    }

    pub fn opt_n(&self, name: &str) -> Option<i64> {
        match self.0.get(name) {
            Some(AttributeValue::N(n)) => n.parse().ok(),
            _ => None,
        }
    }

    pub fn opt_b(&self, name: &str) -> Option<bool> {
        match self.0.get(name) {
            Some(AttributeValue::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn n(&self, name: &str) -> Result<i64, StoreError> {
        self.opt_n(name)
            .ok_or_else(|| StoreError::Corrupt(format!("missing number attribute {name}")))
    }
}

/// JSON into a DynamoDB attribute (numbers as N, objects as M, arrays as L).
pub fn json_to_av(v: &serde_json::Value) -> AttributeValue {
    use serde_json::Value;
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(x) => AttributeValue::N(x.to_string()),
        Value::String(x) => AttributeValue::S(x.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(json_to_av).collect()),
        Value::Object(o) => AttributeValue::M(o.iter().map(|(k, v)| (k.clone(), json_to_av(v))).collect()),
    }
}

pub fn av_to_json(v: &AttributeValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(x) => x
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| x.parse::<f64>().map(Value::from))
            .unwrap_or(Value::Null),
        AttributeValue::S(x) => Value::String(x.clone()),
        AttributeValue::L(a) => Value::Array(a.iter().map(av_to_json).collect()),
        AttributeValue::M(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), av_to_json(v))).collect()),
        _ => Value::Null,
    }
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl DynamoStore {
    /// Every (tenant, integration id) of a registry (`GSI1PK`), all pages.
    pub async fn registry_of(&self, registry: &str) -> Result<Vec<(TenantId, String)>, StoreError> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::REGISTRY_INDEX)
                .key_condition_expression("GSI1PK = :pk")
                .expression_attribute_values(":pk", s(registry))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in out.items() {
                let Some(sk) = Fields(item).opt_s("GSI1SK") else {
                    continue;
                };
                let Some((tenant, id)) = sk.split_once('#') else {
                    continue;
                };
                if let Ok(t) = TenantId::parse(tenant) {
                    all.push((t, id.to_owned()));
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(all),
            }
        }
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, all pages.
    /// BatchGetItem, 100 keys a call, retrying what DynamoDB hands back unprocessed.
    pub(crate) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .build()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(classify)?;
                if let Some(mut responses) = out.responses {
                    found.extend(responses.remove(&self.table).unwrap_or_default());
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut m| m.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
                if pending.is_some() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(StoreError::Unavailable("reads still unprocessed after retries".into()));
                    }
                    tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
                }
            }
        }
        Ok(found)
    }

    /// [`Self::query_prefix`] over several partitions at once (the shards of a
    /// large item set), at most `concurrency` queries in flight; items in
    /// partition order.
    pub(crate) async fn query_prefix_all(
        &self,
        pks: Vec<String>,
        prefix: &str,
        concurrency: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut tasks = tokio::task::JoinSet::new();
        let mut parts: Vec<Option<Vec<Item>>> = vec![None; pks.len()];
        let mut next = pks.into_iter().enumerate();
        loop {
            while tasks.len() < concurrency.max(1) {
                let Some((i, pk)) = next.next() else { break };
                let store = self.clone();
                let prefix = prefix.to_owned();
                tasks.spawn(async move { (i, store.query_prefix(pk, &prefix).await) });
            }
            match tasks.join_next().await {
                Some(r) => {
                    let (i, items) = r.map_err(|e| StoreError::Unavailable(format!("query task: {e}")))?;
                    parts[i] = Some(items?);
                }
                None => break,
            }
        }
        Ok(parts.into_iter().flatten().flatten().collect())
    }

    pub(crate) async fn query_prefix(&self, pk: String, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(prefix))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::PutRequest;

    fn put(sk: &str, v: &str) -> WriteRequest {
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .item("PK", AttributeValue::S("P".into()))
                    .item("SK", AttributeValue::S(sk.into()))
                    .item("v", AttributeValue::S(v.into()))
                    .build()
                    .unwrap(),
            )
            .build()
    }

    fn del(sk: &str) -> WriteRequest {
        WriteRequest::builder()
            .delete_request(
                DeleteRequest::builder()
                    .key("PK", AttributeValue::S("P".into()))
                    .key("SK", AttributeValue::S(sk.into()))
                    .build()
                    .unwrap(),
            )
            .build()
    }

    #[test]
    fn one_batch_never_names_a_key_twice_and_the_last_write_wins() {
        let kept = last_write_per_key(vec![
            put("a", "1"),
            put("b", "1"),
            del("a"),
            put("c", "1"),
            put("b", "2"),
        ]);
        let shown: Vec<String> = kept
            .iter()
            .map(|r| match (r.put_request(), r.delete_request()) {
                (Some(p), _) => format!("put {:?} {:?}", p.item()["SK"], p.item()["v"]),
                (_, Some(d)) => format!("delete {:?}", d.key()["SK"]),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            shown,
            [r#"delete S("a")"#, r#"put S("c") S("1")"#, r#"put S("b") S("2")"#]
        );
    }
}
