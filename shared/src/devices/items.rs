//! Device types, type mappings, import state and assets (see [`crate::devices`]).
//!
//! | item | PK | SK |
//! |---|---|---|
//! | custom portal device type | `TENANT#{t}` | `DEVICETYPE#{id}` |
//! | its name, case-folded (uniqueness guard) | `TENANT#{t}` | `DEVICETYPENAME#{lowercase name}` |
//! | portal asset | `TENANT#{t}#ASSETS#{nn}` (`nn`: shard of the asset id) | `ASSET#{integrationId}:{deviceUid}` (GSI1: `TENANT#{t}#COMPANY#{companyId}#ASSETS` / `ASSET#{id}`) |
//! | Datto type -> portal type | `TENANT#{t}#INTEGRATION#{id}` | `TYPEMAP#{category}#{type}` |
//! | the import context's fingerprint at the last auto-import pass | `TENANT#{t}#INTEGRATION#{id}` | `AUTOIMPORT#STATE` |
//! | a device's import state | `TENANT#{t}#INTEGRATION#{id}#SHARD#{nn}` (`nn`: shard of the uid, as its `DEVICE#`) | `IMPORT#{deviceUid}` |
//!
//! The asset id starts with the integration id, so one `begins_with` query
//! finds an integration's assets (to unlink them when it is deleted), and
//! it is the same id on every import of a device: a re-import or two
//! concurrent imports overwrite one item and never make a second.

use crate::devices::{Asset, ImportState, ImportStatus, PortalDeviceType, TypeMapping};
use crate::store::{DynamoStore, Fields, Item, StoreError, classify, keys, n, s};
use crate::sync::items::{device_from_item, put_request};
use crate::sync::plan::DeviceRecord;
use crate::tenant::TenantId;
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};
use std::collections::HashMap;
use tokio::task::JoinSet;

/// Concurrent BatchWriteItem calls of one [`ImportStore::write_imports`].
const WRITERS: usize = 8;
/// Where the auto-import's next pass starts, after one stopped at its time budget.
const AUTO_IMPORT_RESUME_SK: &str = "AUTOIMPORT#RESUME";

fn device_type_sk(id: &str) -> String {
    format!("DEVICETYPE#{id}")
}

fn device_type_name_sk(name: &str) -> String {
    format!("DEVICETYPENAME#{}", name.to_lowercase())
}

/// A transaction's cancellation for a failed condition is a `ConditionFailed`.
fn classify_transaction<E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> StoreError {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    let conditional = e.code() == Some("TransactionCanceledException")
        && e.message().is_some_and(|m| m.contains("ConditionalCheckFailed"));
    if conditional {
        StoreError::ConditionFailed
    } else {
        classify(e)
    }
}

fn is_transaction_conflict<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> bool {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    e.code() == Some("TransactionConflictException")
        || (e.code() == Some("TransactionCanceledException")
            && e.message().is_some_and(|m| m.contains("TransactionConflict")))
}

fn type_mapping_sk(category: &str, device_type: &str) -> String {
    format!("TYPEMAP#{category}#{device_type}")
}

fn import_sk(uid: &str) -> String {
    format!("IMPORT#{uid}")
}

fn asset_sk(id: &str) -> String {
    format!("ASSET#{id}")
}

fn company_assets_pk(tenant: &TenantId, company: &str) -> String {
    format!("{}#COMPANY#{company}#ASSETS", keys::tenant_pk(tenant))
}

fn key(pk: String, sk: String) -> Item {
    Item::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

fn put_opt(item: &mut Item, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        item.insert(k.to_owned(), s(v));
    }
}

fn asset_item(tenant: &TenantId, a: &Asset) -> Item {
    let mut item = Item::from([
        ("PK".into(), s(keys::asset_pk(tenant, &a.id))),
        ("SK".into(), s(asset_sk(&a.id))),
        ("entity".into(), s("asset")),
        ("id".into(), s(&a.id)),
        ("companyId".into(), s(&a.company_id)),
        ("deviceTypeId".into(), s(&a.device_type_id)),
        ("deviceTypeName".into(), s(&a.device_type_name)),
        ("integrationId".into(), s(&a.integration_id)),
        ("deviceUid".into(), s(&a.device_uid)),
        ("linked".into(), AttributeValue::Bool(a.linked)),
        ("createdAt".into(), n(a.created_at)),
        ("updatedAt".into(), n(a.updated_at)),
        ("GSI1PK".into(), s(company_assets_pk(tenant, &a.company_id))),
        ("GSI1SK".into(), s(asset_sk(&a.id))),
    ]);
    put_opt(&mut item, "hostname", &a.hostname);
    put_opt(&mut item, "manufacturer", &a.manufacturer);
    put_opt(&mut item, "model", &a.model);
    put_opt(&mut item, "serialNumber", &a.serial_number);
    put_opt(&mut item, "operatingSystem", &a.operating_system);
    item
}

fn asset_from_item(item: &Item) -> Result<Asset, StoreError> {
    let f = Fields(item);
    Ok(Asset {
        id: f.s("id")?,
        hostname: f.opt_s("hostname"),
        manufacturer: f.opt_s("manufacturer"),
        model: f.opt_s("model"),
        serial_number: f.opt_s("serialNumber"),
        operating_system: f.opt_s("operatingSystem"),
        device_type_id: f.opt_s("deviceTypeId").unwrap_or_default(),
        device_type_name: f.opt_s("deviceTypeName").unwrap_or_default(),
        company_id: f.opt_s("companyId").unwrap_or_default(),
        integration_id: f.opt_s("integrationId").unwrap_or_default(),
        device_uid: f.opt_s("deviceUid").unwrap_or_default(),
        linked: f.opt_b("linked").unwrap_or(false),
        created_at: f.n("createdAt")?,
        updated_at: f.n("updatedAt")?,
    })
}

/// The `IMPORT#{uid}` item, in the device's shard of the integration partition `pk`.
fn state_item(pk: &str, st: &ImportState) -> Item {
    let mut item = Item::from([
        ("PK".into(), s(keys::shard_pk(pk, keys::shard_of(&st.device_uid)))),
        ("SK".into(), s(import_sk(&st.device_uid))),
        ("entity".into(), s("device-import")),
        ("deviceUid".into(), s(&st.device_uid)),
        ("status".into(), s(st.status.as_str())),
        ("at".into(), n(st.at)),
    ]);
    put_opt(&mut item, "reason", &st.reason);
    put_opt(&mut item, "message", &st.message);
    put_opt(&mut item, "assetId", &st.asset_id);
    put_opt(&mut item, "assetHash", &st.asset_hash);
    if let Some(at) = st.asset_created_at {
        item.insert("assetCreatedAt".into(), n(at));
    }
    item
}

fn state_from_item(item: &Item) -> Result<ImportState, StoreError> {
    let f = Fields(item);
    Ok(ImportState {
        device_uid: f.s("deviceUid")?,
        status: if f.opt_s("status").as_deref() == Some("imported") {
            ImportStatus::Imported
        } else {
            ImportStatus::Failed
        },
        reason: f.opt_s("reason"),
        message: f.opt_s("message"),
        asset_id: f.opt_s("assetId"),
        asset_created_at: f.opt_n("assetCreatedAt"),
        asset_hash: f.opt_s("assetHash"),
        at: f.opt_n("at").unwrap_or(0),
    })
}

impl DynamoStore {
    /// BatchWriteItem with `WRITERS` calls in flight.
    async fn write_concurrently(&self, requests: Vec<WriteRequest>) -> Result<u64, StoreError> {
        let total = requests.len() as u64;
        let mut tasks = JoinSet::new();
        let mut chunks = requests
            .chunks(25)
            .map(<[WriteRequest]>::to_vec)
            .collect::<Vec<_>>()
            .into_iter();
        loop {
            while tasks.len() < WRITERS {
                let Some(chunk) = chunks.next() else { break };
                let store = self.clone();
                tasks.spawn(async move { store.batch_write(chunk).await });
            }
            match tasks.join_next().await {
                Some(r) => r.map_err(|e| StoreError::Unavailable(format!("writer task: {e}")))??,
                None => return Ok(total),
            }
        }
    }
}

impl DynamoStore {
    pub async fn custom_types(&self, tenant: &TenantId) -> Result<Vec<PortalDeviceType>, StoreError> {
        let items = self.query_prefix(keys::tenant_pk(tenant), "DEVICETYPE#").await?;
        items
            .iter()
            .map(|i| {
                let f = Fields(i);
                Ok(PortalDeviceType {
                    id: f.s("id")?,
                    name: f.s("name")?,
                    builtin: false,
                    created_at: f.opt_n("createdAt"),
                })
            })
            .collect()
    }

    /// Stores the type and a guard item for its case-folded name in one
    /// transaction: `ConditionFailed` when the name (or id) is taken, also
    /// by a concurrent request.
    pub async fn insert_custom_type(&self, tenant: &TenantId, t: &PortalDeviceType) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
        let mut item = Item::from([
            ("PK".into(), s(keys::tenant_pk(tenant))),
            ("SK".into(), s(device_type_sk(&t.id))),
            ("entity".into(), s("device-type")),
            ("id".into(), s(&t.id)),
            ("name".into(), s(&t.name)),
        ]);
        if let Some(at) = t.created_at {
            item.insert("createdAt".into(), n(at));
        }
        let guard = Item::from([
            ("PK".into(), s(keys::tenant_pk(tenant))),
            ("SK".into(), s(device_type_name_sk(&t.name))),
            ("entity".into(), s("device-type-name")),
            ("id".into(), s(&t.id)),
        ]);
        let put = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        };
        // A transaction racing another on the same item is cancelled with
        // `TransactionConflict`, not a failed condition: try again, and the
        // loser then sees the winner's item (a `ConditionFailed`).
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .transact_write_items()
                .transact_items(put(item.clone())?)
                .transact_items(put(guard.clone())?)
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(()),
                Err(e) if attempt < 5 && is_transaction_conflict(&e) => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                }
                Err(e) => return Err(classify_transaction(e)),
            }
        }
    }

    /// Together with its name guard; true if it existed.
    pub async fn delete_custom_type(&self, tenant: &TenantId, t: &PortalDeviceType) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
        let delete = |sk: String, condition: Option<&str>| {
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::tenant_pk(tenant), sk)))
                .set_condition_expression(condition.map(str::to_owned))
                .build()
                .map(|d| TransactWriteItem::builder().delete(d).build())
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        };
        let out = self
            .client
            .transact_write_items()
            .transact_items(delete(device_type_sk(&t.id), Some("attribute_exists(PK)"))?)
            .transact_items(delete(device_type_name_sk(&t.name), None)?)
            .send()
            .await
            .map_err(classify_transaction);
        match out {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The sync's `DEVTYPE#` counts: (category, type, devices).
    pub async fn type_counts(
        &self,
        tenant: &TenantId,
        integration: &str,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let items = self
            .query_prefix(keys::integration_pk(tenant, integration), "DEVTYPE#")
            .await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let f = Fields(i);
                Some((
                    f.opt_s("category")?,
                    f.opt_s("deviceType")?,
                    f.opt_n("count").unwrap_or(0),
                ))
            })
            .collect())
    }

    pub async fn type_mappings(&self, tenant: &TenantId, integration: &str) -> Result<Vec<TypeMapping>, StoreError> {
        let items = self
            .query_prefix(keys::integration_pk(tenant, integration), "TYPEMAP#")
            .await?;
        items
            .iter()
            .map(|i| {
                let f = Fields(i);
                Ok(TypeMapping {
                    category: f.s("category")?,
                    device_type: f.s("deviceType")?,
                    maps_to: f.opt_s("mapsTo"),
                    auto_sync: f.opt_b("autoSync").unwrap_or(false),
                    updated_at: f.opt_n("updatedAt").unwrap_or(0),
                })
            })
            .collect()
    }

    pub async fn put_type_mapping(
        &self,
        tenant: &TenantId,
        integration: &str,
        m: &TypeMapping,
    ) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("PK".into(), s(keys::integration_pk(tenant, integration))),
            ("SK".into(), s(type_mapping_sk(&m.category, &m.device_type))),
            ("entity".into(), s("device-type-mapping")),
            ("category".into(), s(&m.category)),
            ("deviceType".into(), s(&m.device_type)),
            ("autoSync".into(), AttributeValue::Bool(m.auto_sync)),
            ("updatedAt".into(), n(m.updated_at)),
        ]);
        put_opt(&mut item, "mapsTo", &m.maps_to);
        self.put(item).await
    }
}

impl DynamoStore {
    /// One page of synced devices of one shard, in uid order after `after`
    /// (a uid of that shard); the uid to continue after, if there is more.
    pub async fn device_page(
        &self,
        tenant: &TenantId,
        integration: &str,
        shard: u32,
        after: Option<&str>,
        limit: i32,
    ) -> Result<(Vec<DeviceRecord>, Option<String>), StoreError> {
        let pk = keys::integration_shard_pk(tenant, integration, shard);
        let start = after.map(|uid| key(pk.clone(), format!("DEVICE#{uid}")));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s("DEVICE#"))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(classify)?;
        let devices: Vec<DeviceRecord> = out.items().iter().filter_map(device_from_item).collect();
        let next = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => Fields(&k)
                .opt_s("SK")
                .and_then(|sk| sk.strip_prefix("DEVICE#").map(str::to_owned)),
            _ => None,
        };
        Ok((devices, next))
    }

    /// One page of the integration's devices across its shards (shard by
    /// shard, uid order within one). `after` is the last device handed out
    /// (its shard is its uid's); the answer's second part is where the next
    /// page starts: `(shard, Some(uid))` to continue after a uid, `(shard,
    /// None)` to start a shard; `None` at the end.
    pub async fn device_scan(
        &self,
        tenant: &TenantId,
        integration: &str,
        from: (u32, Option<String>),
        limit: i32,
    ) -> Result<(Vec<DeviceRecord>, Option<(u32, Option<String>)>), StoreError> {
        let (shard, after) = from;
        let (devices, next) = self
            .device_page(tenant, integration, shard, after.as_deref(), limit)
            .await?;
        let next = match next {
            Some(uid) => Some((shard, Some(uid))),
            None if shard + 1 < keys::SHARDS => Some((shard + 1, None)),
            None => None,
        };
        Ok((devices, next))
    }

    pub async fn devices_by_uid(
        &self,
        tenant: &TenantId,
        integration: &str,
        uids: &[String],
    ) -> Result<HashMap<String, DeviceRecord>, StoreError> {
        let keys = uids
            .iter()
            .map(|u| key(keys::device_pk(tenant, integration, u), format!("DEVICE#{u}")))
            .collect();
        Ok(self
            .batch_get(keys)
            .await?
            .iter()
            .filter_map(device_from_item)
            .map(|d| (d.uid.clone(), d))
            .collect())
    }

    pub async fn import_states(
        &self,
        tenant: &TenantId,
        integration: &str,
        uids: &[String],
    ) -> Result<HashMap<String, ImportState>, StoreError> {
        let keys = uids
            .iter()
            .map(|u| key(keys::device_pk(tenant, integration, u), import_sk(u)))
            .collect();
        self.batch_get(keys)
            .await?
            .iter()
            .map(|i| state_from_item(i).map(|st| (st.device_uid.clone(), st)))
            .collect()
    }

    /// Where the auto-import's last pass stopped (a device uid), if it did.
    pub async fn auto_import_resume(&self, tenant: &TenantId, integration: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::integration_pk(tenant, integration),
                AUTO_IMPORT_RESUME_SK.into(),
            )))
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item.as_ref().and_then(|i| Fields(i).opt_s("after")))
    }

    /// Saves (or, with `None`, forgets) where the auto-import's next pass starts.
    pub async fn set_auto_import_resume(
        &self,
        tenant: &TenantId,
        integration: &str,
        after: Option<&str>,
    ) -> Result<(), StoreError> {
        let pk = keys::integration_pk(tenant, integration);
        match after {
            Some(uid) => {
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(Item::from([
                        ("PK".into(), s(pk)),
                        ("SK".into(), s(AUTO_IMPORT_RESUME_SK)),
                        ("entity".into(), s("auto-import-resume")),
                        ("after".into(), s(uid)),
                    ])))
                    .send()
                    .await
                    .map_err(classify)?;
            }
            None => {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key(pk, AUTO_IMPORT_RESUME_SK.into())))
                    .send()
                    .await
                    .map_err(classify)?;
            }
        }
        Ok(())
    }

    /// The `createdAt` of the assets that exist among `ids`.
    pub async fn asset_created_ats(
        &self,
        tenant: &TenantId,
        ids: &[String],
    ) -> Result<HashMap<String, i64>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let keys = ids
            .iter()
            .map(|id| key(keys::asset_pk(tenant, id), asset_sk(id)))
            .collect();
        Ok(self
            .batch_get(keys)
            .await?
            .iter()
            .filter_map(|i| {
                let f = Fields(i);
                Some((f.opt_s("id")?, f.opt_n("createdAt")?))
            })
            .collect())
    }

    /// Upserts the assets and records the import states; returns the item writes.
    pub async fn write_imports(
        &self,
        tenant: &TenantId,
        integration: &str,
        assets: Vec<Asset>,
        states: Vec<ImportState>,
    ) -> Result<u64, StoreError> {
        let pk = keys::integration_pk(tenant, integration);
        // Assets before the states that point at them: a state never names a missing asset.
        let assets = assets.iter().map(|a| put_request(asset_item(tenant, a))).collect();
        let mut writes = self.write_concurrently(assets).await?;
        let states = states.iter().map(|st| put_request(state_item(&pk, st))).collect();
        writes += self.write_concurrently(states).await?;
        Ok(writes)
    }
}

/// The fewest assets a page of all assets reads from each shard.
const MIN_PER_SHARD: u32 = 4;

const AUTO_IMPORT_SK: &str = "AUTOIMPORT#STATE";

impl DynamoStore {
    /// The import context's fingerprint at the last successful auto-import pass.
    pub async fn auto_import_fingerprint(
        &self,
        tenant: &TenantId,
        integration: &str,
    ) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::integration_pk(tenant, integration),
                AUTO_IMPORT_SK.into(),
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item.as_ref().and_then(|i| Fields(i).opt_s("fingerprint")))
    }

    pub async fn put_auto_import_fingerprint(
        &self,
        tenant: &TenantId,
        integration: &str,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        let mut item = key(keys::integration_pk(tenant, integration), AUTO_IMPORT_SK.into());
        item.insert("entity".into(), s("auto-import-state"));
        item.insert("fingerprint".into(), s(fingerprint));
        self.put(item).await
    }

    pub async fn get_asset(&self, tenant: &TenantId, id: &str) -> Result<Option<Asset>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::asset_pk(tenant, id), asset_sk(id))))
            .send()
            .await
            .map_err(classify)?;
        out.item.as_ref().map(asset_from_item).transpose()
    }

    /// Assets in id order after `after` (exclusive), of one company if given;
    /// at most `limit`, and whether there are more.
    pub async fn page_assets(
        &self,
        tenant: &TenantId,
        company: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Asset>, bool), StoreError> {
        let want = limit.saturating_add(1).min(1_000) as i32;
        // The page's items, and whether a shard read to its limit bounded it.
        let (items, bounded) = match company {
            None => {
                // Asset ids are spread over the shards by a hash, so a page of
                // `want` holds about `want / SHARDS` of each. Each shard is read
                // (in parallel) twice as far as that, not `want` deep, and the
                // page ends at the lowest last id of a shard read to its limit:
                // up to there nothing of any shard is missing, and that shard's
                // own items alone make a page of at least `per_shard`.
                let per_shard = (want as u32 * 2)
                    .div_ceil(keys::SHARDS)
                    .max(MIN_PER_SHARD)
                    .min(want as u32) as usize;
                let mut tasks = JoinSet::new();
                for shard in 0..keys::SHARDS {
                    let store = self.clone();
                    let pk = keys::asset_shard_pk(tenant, shard);
                    let after = after.map(asset_sk);
                    tasks.spawn(async move {
                        let mut q = store
                            .client
                            .query()
                            .table_name(&store.table)
                            .expression_attribute_values(":pk", s(&pk))
                            .limit(per_shard as i32);
                        q = match after {
                            Some(after) => q
                                .key_condition_expression("PK = :pk AND SK > :after")
                                .expression_attribute_values(":after", s(after)),
                            None => q
                                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                                .expression_attribute_values(":prefix", s("ASSET#")),
                        };
                        q.send().await.map_err(classify).map(|o| o.items.unwrap_or_default())
                    });
                }
                let mut items = Vec::new();
                let mut bound: Option<String> = None;
                while let Some(r) = tasks.join_next().await {
                    let shard = r.map_err(|e| StoreError::Unavailable(format!("query task: {e}")))??;
                    if shard.len() >= per_shard
                        && let Some(last) = shard.last().and_then(|i| Fields(i).opt_s("SK"))
                        && bound.as_ref().is_none_or(|b| &last < b)
                    {
                        bound = Some(last);
                    }
                    items.extend(shard);
                }
                if let Some(bound) = &bound {
                    items.retain(|i| Fields(i).opt_s("SK").is_some_and(|sk| &sk <= bound));
                }
                items.sort_by_key(|i| Fields(i).opt_s("SK"));
                items.truncate(want as usize);
                // A shard read to its limit may hold more past the page's end.
                (items, bound.is_some())
            }
            Some(company) => {
                // GSI1 is keys-only: the index gives the page's keys, BatchGetItem the items.
                let gsi_pk = company_assets_pk(tenant, company);
                let start = after.map(|id| {
                    let mut k = key(keys::asset_pk(tenant, id), asset_sk(id));
                    k.insert("GSI1PK".into(), s(&gsi_pk));
                    k.insert("GSI1SK".into(), s(asset_sk(id)));
                    k
                });
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(keys::REGISTRY_INDEX)
                    .key_condition_expression("GSI1PK = :pk")
                    .expression_attribute_values(":pk", s(gsi_pk))
                    .set_exclusive_start_key(start)
                    .limit(want)
                    .send()
                    .await
                    .map_err(classify)?;
                let keys = out
                    .items()
                    .iter()
                    .filter_map(|i| Some(key(Fields(i).opt_s("PK")?, Fields(i).opt_s("SK")?)))
                    .collect();
                let mut items = self.batch_get(keys).await?;
                items.sort_by_key(|i| Fields(i).opt_s("SK"));
                (items, false)
            }
        };
        let mut assets = items.iter().map(asset_from_item).collect::<Result<Vec<_>, _>>()?;
        let more = assets.len() > limit || bounded;
        assets.truncate(limit);
        Ok((assets, more))
    }

    /// Marks every asset of the integration `linked = false`; returns how many.
    pub async fn unlink_assets(&self, tenant: &TenantId, integration: &str) -> Result<usize, StoreError> {
        let now = crate::time::now_millis();
        let mut count = 0;
        for shard in 0..keys::SHARDS {
            let mut start = None;
            // Page by page, so that an MSP's 100,000 assets never sit in memory at once.
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                    .expression_attribute_values(":pk", s(keys::asset_shard_pk(tenant, shard)))
                    .expression_attribute_values(":prefix", s(asset_sk(&format!("{integration}:"))))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(classify)?;
                let requests: Vec<WriteRequest> = out
                    .items
                    .unwrap_or_default()
                    .into_iter()
                    .map(|mut item| {
                        item.insert("linked".into(), AttributeValue::Bool(false));
                        item.insert("updatedAt".into(), n(now));
                        put_request(item)
                    })
                    .collect();
                count += requests.len();
                self.write_concurrently(requests).await?;
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
        }
        Ok(count)
    }
}

/// What [`clear_imports`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClearedImports {
    pub import_states: usize,
    pub type_mappings: usize,
}

/// Before a resync: wipes the device import states of an integration
/// (`IMPORT#` in every shard), the auto-import's bookkeeping
/// (`AUTOIMPORT#STATE`, `AUTOIMPORT#RESUME`) and, unless `keep_mappings`,
/// its type mappings (`TYPEMAP#`). Its assets stay (the resync's
/// auto-import finds them by their ids).
pub async fn clear_imports(
    store: &DynamoStore,
    tenant: &TenantId,
    integration: &str,
    keep_mappings: bool,
) -> Result<ClearedImports, StoreError> {
    let pk = keys::integration_pk(tenant, integration);
    let mut import_states = 0;
    for shard_pk in keys::integration_shard_pks(tenant, integration) {
        import_states += store.delete_prefix(&shard_pk, "IMPORT#").await?;
    }
    store.delete_prefix(&pk, "AUTOIMPORT#").await?;
    let type_mappings = if keep_mappings {
        0
    } else {
        store.delete_prefix(&pk, "TYPEMAP#").await?
    };
    Ok(ClearedImports {
        import_states,
        type_mappings,
    })
}
