//! The ticket flow's items.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | hook token (hash) | `TENANT#{t}` | `HOOK#{integrationId}` |
//! | ticket settings | Datto integration partition | `TICKETSETTINGS` |
//! | an alert's state (resolved: with `expiresAt`, removed by the table's TTL) | Datto integration partition | `ALERT#{alertUid}` |
//! | the open ticket of a monitor on a device | Datto integration partition | `REPEAT#{deviceUid}#{monitorKey}` |
//! | a ticket's alerts | PSA integration partition | `TICKETLINK#{ticketId}` |
//! | the reconciler's last pass | Datto integration partition | `RECONCILE#LAST` |
//! | a device's alerts in the current storm window | Datto integration partition | `STORM#{deviceUid}` |
//!
//! Webhooks carry no JWT; the tenant comes from the hook token, and every
//! key is still built from it.
//!
//! Races are settled in DynamoDB, never in memory: an alert's state and a
//! monitor's repeat item carry a `version` and every change is a conditional
//! write on the version read ([`TicketStore::put_alert_checked`]); a ticket's
//! link item grows by atomic `ADD`s of a string set, bounded by a cap.

use super::timing::TicketTiming;
use crate::store::{DynamoStore, Fields, Item, StoreError, classify, keys, n, s};
use crate::tenant::TenantId;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

/// Where an alert is in the round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Claimed by a delivery that is opening its ticket now.
    Opening,
    /// Its own ticket was opened.
    Opened,
    /// Added as a note to the open ticket of the same monitor.
    Noted,
    Resolved,
    /// A fault (refused credentials, throttling, a 5xx, a timeout) kept the
    /// ticket from being opened: tried again with backoff (`nextAttemptAt`).
    Pending,
    /// No ticket can be opened for a reason a person must fix (no mapped PSA
    /// company, a PSA validation refusal); tried again, slowly, until fixed.
    Failed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        state_name(self)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRecord {
    pub alert_uid: String,
    pub state: AlertState,
    pub ticket_id: Option<String>,
    pub psa_integration_id: Option<String>,
    pub reason: Option<String>,
    pub updated_at: i64,
    /// Attempts that ended in a fault or a refusal since the last success.
    #[serde(default)]
    pub attempts: u32,
    /// Pending or failed: not retried by the reconciler before this (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
    /// The version this record was read at; every write is conditional on it.
    #[serde(default)]
    pub version: u64,
}

impl AlertRecord {
    /// A record that was never stored.
    pub fn new(uid: &str, state: AlertState, now: i64) -> Self {
        Self {
            alert_uid: uid.to_owned(),
            state,
            ticket_id: None,
            psa_integration_id: None,
            reason: None,
            updated_at: now,
            attempts: 0,
            next_attempt_at: None,
            version: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepeatRecord {
    /// Empty while `opening_by` holds the monitor.
    pub ticket_id: String,
    pub last_alert_at: i64,
    /// The alert whose delivery is opening this monitor's ticket now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_by: Option<String>,
    #[serde(default)]
    pub version: u64,
}

/// A ticket's alerts: at most [`LINK_CAP`] uids (later alerts of a flapping
/// monitor are counted, and found through their own states), notes counted
/// against the note cap, and when the last summary note was posted.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketLink {
    pub datto_integration_id: String,
    pub alert_uids: Vec<String>,
    /// Alerts of this ticket beyond the cap, counted only.
    pub overflow: i64,
    /// Repeat notes posted.
    pub notes: i64,
    /// Repeats not noted since the last summary note.
    pub suppressed: i64,
    pub summary_at: i64,
}

/// The most alert uids a ticket's link item holds (its size stays bounded).
pub const LINK_CAP: usize = 100;

/// The reconciler's record of one pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileRecord {
    pub started_at: i64,
    pub finished_at: i64,
    /// Datto RMM's open alerts seen (all pages, unless `complete` is false).
    pub open_alerts: usize,
    /// Whether Datto's open alert list was read to its end (resolutions are only inferred then).
    pub complete: bool,
    pub opened: usize,
    pub adopted: usize,
    pub noted: usize,
    pub tickets_completed: usize,
    pub alerts_resolved: usize,
    pub still_pending: usize,
    pub failed: usize,
    /// Work left for the next pass because a budget ran out.
    pub deferred: usize,
    /// What was repaired, newest last (at most 200).
    pub repairs: Vec<Repair>,
    /// Faults met, as their messages (at most 20).
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Repair {
    /// `opened`, `adopted`, `noted`, `ticket-completed`, `alert-resolved`, `pending`, `failed`.
    pub action: String,
    pub alert_uid: Option<String>,
    pub ticket_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn state_name(state: AlertState) -> &'static str {
    match state {
        AlertState::Opening => "opening",
        AlertState::Opened => "opened",
        AlertState::Noted => "noted",
        AlertState::Resolved => "resolved",
        AlertState::Pending => "pending",
        AlertState::Failed => "failed",
    }
}

pub struct HookRecord {
    pub token_hash: String,
    pub kind: String,
}

pub struct TicketStore<'a> {
    pub store: &'a DynamoStore,
    pub tenant: &'a TenantId,
    /// Sets the `expiresAt` of resolved alert states.
    pub timing: TicketTiming,
}

impl TicketStore<'_> {
    async fn get_json<T: for<'de> Deserialize<'de>>(&self, pk: String, sk: String) -> Result<Option<T>, StoreError> {
        let out = self
            .store
            .client()
            .get_item()
            .table_name(self.store.table())
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        match out.item {
            Some(item) => serde_json::from_str(&Fields(&item).s("body")?)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("ticket flow item: {e}"))),
            None => Ok(None),
        }
    }

    /// Puts a JSON-bodied item; `condition` guards the write.
    async fn put_json<T: Serialize>(
        &self,
        (pk, sk, entity): (String, String, &str),
        value: &T,
        state: Option<&str>,
        updated_at: i64,
        expires_at: Option<i64>,
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
    ) -> Result<(), StoreError> {
        let value = serde_json::to_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let version = value.get("version").and_then(serde_json::Value::as_i64);
        let body = value.to_string();
        let mut item = Item::from([
            ("PK".into(), s(pk)),
            ("SK".into(), s(sk)),
            ("entity".into(), s(entity)),
            ("body".into(), s(body)),
            ("updatedAt".into(), n(updated_at)),
        ]);
        if let Some(state) = state {
            item.insert("state".into(), s(state));
        }
        if let Some(version) = version {
            item.insert("version".into(), n(version));
        }
        if let Some(at) = expires_at {
            item.insert("expiresAt".into(), n(at));
        }
        let mut put = self
            .store
            .client()
            .put_item()
            .table_name(self.store.table())
            .set_item(Some(item));
        if let Some((expression, values)) = condition {
            put = put.condition_expression(expression);
            if expression.contains("#state") {
                put = put.expression_attribute_names("#state", "state");
            }
            for (name, value) in values {
                put = put.expression_attribute_values(name, value);
            }
        }
        put.send().await.map_err(classify)?;
        Ok(())
    }

    pub async fn hook(&self, integration_id: &str) -> Result<Option<HookRecord>, StoreError> {
        let out = self
            .store
            .client()
            .get_item()
            .table_name(self.store.table())
            .key("PK", s(keys::tenant_pk(self.tenant)))
            .key("SK", s(format!("HOOK#{integration_id}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(match out.item {
            Some(item) => {
                let f = Fields(&item);
                Some(HookRecord {
                    token_hash: f.s("tokenHash")?,
                    kind: f.s("kind")?,
                })
            }
            None => None,
        })
    }

    pub async fn put_hook(&self, integration_id: &str, token_hash: &str, kind: &str) -> Result<(), StoreError> {
        self.store
            .client()
            .put_item()
            .table_name(self.store.table())
            .set_item(Some(Item::from([
                ("PK".into(), s(keys::tenant_pk(self.tenant))),
                ("SK".into(), s(format!("HOOK#{integration_id}"))),
                ("entity".into(), s("hook")),
                ("tokenHash".into(), s(token_hash)),
                ("kind".into(), s(kind)),
                ("createdAt".into(), n(crate::time::now_millis())),
            ])))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Forgets an integration's hook token (its integration was deleted).
    pub async fn delete_hook(&self, integration_id: &str) -> Result<(), StoreError> {
        self.store
            .client()
            .delete_item()
            .table_name(self.store.table())
            .key("PK", s(keys::tenant_pk(self.tenant)))
            .key("SK", s(format!("HOOK#{integration_id}")))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    pub async fn settings<T: for<'de> Deserialize<'de>>(&self, datto_id: &str) -> Result<Option<T>, StoreError> {
        self.get_json(keys::integration_pk(self.tenant, datto_id), "TICKETSETTINGS".into())
            .await
    }

    pub async fn put_settings<T: Serialize>(&self, datto_id: &str, settings: &T) -> Result<(), StoreError> {
        self.put_json(
            (
                keys::integration_pk(self.tenant, datto_id),
                "TICKETSETTINGS".into(),
                "ticket-settings",
            ),
            settings,
            None,
            crate::time::now_millis(),
            None,
            None,
        )
        .await
    }

    pub async fn alert(&self, datto_id: &str, uid: &str) -> Result<Option<AlertRecord>, StoreError> {
        self.get_json(keys::integration_pk(self.tenant, datto_id), format!("ALERT#{uid}"))
            .await
    }

    /// Every alert state of an integration (all pages).
    pub async fn alerts(&self, datto_id: &str) -> Result<Vec<AlertRecord>, StoreError> {
        let items = self
            .store
            .query_prefix(keys::integration_pk(self.tenant, datto_id), "ALERT#")
            .await?;
        items
            .iter()
            .map(|item| {
                serde_json::from_str(&Fields(item).s("body")?)
                    .map_err(|e| StoreError::Corrupt(format!("alert state: {e}")))
            })
            .collect()
    }

    /// Writes an alert's state if nobody changed it since it was read at
    /// `record.version` (a record never stored has version 0 and is written
    /// only if there is none). On success `record.version` is the new one;
    /// `false` when another delivery got there first.
    pub async fn put_alert_checked(&self, datto_id: &str, record: &mut AlertRecord) -> Result<bool, StoreError> {
        let key = (
            keys::integration_pk(self.tenant, datto_id),
            format!("ALERT#{}", record.alert_uid),
            "alert",
        );
        let (state, at) = (state_name(record.state), record.updated_at);
        // Only a resolved state expires (DynamoDB's TTL removes it after the retention); the
        // repeat window lives in the monitor's own item, and a missing state counts as resolved.
        let expires = (record.state == AlertState::Resolved).then(|| self.timing.resolved_expiry_secs(at));
        self.put_versioned(key, record, |r| &mut r.version, Some(state), at, expires)
            .await
    }

    /// The one versioned write behind [`Self::put_alert_checked`] and
    /// [`Self::put_repeat_checked`]: bumps the record's version, writes it only
    /// if the stored one is still the version it was read at (or absent for
    /// version 0), and puts the version back when the write does not happen.
    async fn put_versioned<T: Serialize>(
        &self,
        key: (String, String, &str),
        record: &mut T,
        version: fn(&mut T) -> &mut u64,
        state: Option<&str>,
        updated_at: i64,
        expires_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let read_at = *version(record);
        *version(record) = read_at + 1;
        let condition = if read_at == 0 {
            ("attribute_not_exists(PK)", vec![])
        } else {
            ("version = :read", vec![(":read", n(read_at as i64))])
        };
        match self
            .put_json(key, &*record, state, updated_at, expires_at, Some(condition))
            .await
        {
            Ok(()) => Ok(true),
            Err(e) => {
                *version(record) = read_at;
                match e {
                    StoreError::ConditionFailed => Ok(false),
                    e => Err(e),
                }
            }
        }
    }

    pub async fn repeat(&self, datto_id: &str, key: &str) -> Result<Option<RepeatRecord>, StoreError> {
        self.get_json(keys::integration_pk(self.tenant, datto_id), format!("REPEAT#{key}"))
            .await
    }

    /// [`Self::put_alert_checked`] for a monitor's repeat item.
    pub async fn put_repeat_checked(
        &self,
        datto_id: &str,
        key: &str,
        record: &mut RepeatRecord,
    ) -> Result<bool, StoreError> {
        let item_key = (
            keys::integration_pk(self.tenant, datto_id),
            format!("REPEAT#{key}"),
            "alert-repeat",
        );
        let at = record.last_alert_at;
        self.put_versioned(item_key, record, |r| &mut r.version, None, at, None)
            .await
    }

    fn link_key(&self, psa_id: &str, ticket_id: &str) -> (AttributeValue, AttributeValue) {
        (
            s(keys::integration_pk(self.tenant, psa_id)),
            s(format!("TICKETLINK#{ticket_id}")),
        )
    }

    pub async fn link(&self, psa_id: &str, ticket_id: &str) -> Result<Option<TicketLink>, StoreError> {
        let (pk, sk) = self.link_key(psa_id, ticket_id);
        let out = self
            .store
            .client()
            .get_item()
            .table_name(self.store.table())
            .key("PK", pk)
            .key("SK", sk)
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(item) = out.item else { return Ok(None) };
        let f = Fields(&item);
        let mut alert_uids = match item.get("alerts") {
            Some(AttributeValue::Ss(set)) => set.clone(),
            _ => Vec::new(),
        };
        alert_uids.sort();
        Ok(Some(TicketLink {
            datto_integration_id: f.s("dattoIntegrationId")?,
            alert_uids,
            overflow: f.opt_n("overflow").unwrap_or(0),
            notes: f.opt_n("notes").unwrap_or(0),
            suppressed: f.opt_n("suppressed").unwrap_or(0),
            summary_at: f.opt_n("summaryAt").unwrap_or(0),
        }))
    }

    /// Adds an alert to a ticket's link item atomically (concurrent deliveries
    /// each add theirs); past [`LINK_CAP`] uids the alert is only counted.
    pub async fn add_link(&self, psa_id: &str, ticket_id: &str, datto_id: &str, uid: &str) -> Result<(), StoreError> {
        let (pk, sk) = self.link_key(psa_id, ticket_id);
        let added = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key("PK", pk.clone())
            .key("SK", sk.clone())
            .update_expression(
                "SET dattoIntegrationId = if_not_exists(dattoIntegrationId, :datto), entity = :entity ADD alerts :uid",
            )
            .condition_expression("attribute_not_exists(alerts) OR size(alerts) < :cap OR contains(alerts, :one)")
            .expression_attribute_values(":datto", s(datto_id))
            .expression_attribute_values(":entity", s("ticket-link"))
            .expression_attribute_values(":uid", AttributeValue::Ss(vec![uid.to_owned()]))
            .expression_attribute_values(":one", s(uid))
            .expression_attribute_values(":cap", n(LINK_CAP as i64))
            .send()
            .await
            .map_err(classify);
        match added {
            Ok(_) => Ok(()),
            Err(StoreError::ConditionFailed) => {
                self.store
                    .client()
                    .update_item()
                    .table_name(self.store.table())
                    .key("PK", pk)
                    .key("SK", sk)
                    .update_expression("ADD overflow :one")
                    .expression_attribute_values(":one", n(1))
                    .send()
                    .await
                    .map_err(classify)?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Counts a repeat note against the cap: true when it may be posted.
    /// Past the cap the repeat is counted as suppressed instead.
    pub async fn take_note(&self, psa_id: &str, ticket_id: &str, cap: u32) -> Result<bool, StoreError> {
        let (pk, sk) = self.link_key(psa_id, ticket_id);
        let taken = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key("PK", pk.clone())
            .key("SK", sk.clone())
            .update_expression("ADD notes :one")
            .condition_expression("attribute_not_exists(notes) OR notes < :cap")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":cap", n(i64::from(cap)))
            .send()
            .await
            .map_err(classify);
        match taken {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => {
                self.store
                    .client()
                    .update_item()
                    .table_name(self.store.table())
                    .key("PK", pk)
                    .key("SK", sk)
                    .update_expression("ADD suppressed :one")
                    .expression_attribute_values(":one", n(1))
                    .send()
                    .await
                    .map_err(classify)?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Claims the summary note of a window: true for exactly one caller per
    /// window; the suppressed count it summarises is reset to 0 and returned
    /// through `Some`.
    pub async fn take_summary(
        &self,
        psa_id: &str,
        ticket_id: &str,
        now: i64,
        window_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let (pk, sk) = self.link_key(psa_id, ticket_id);
        let taken = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key("PK", pk)
            .key("SK", sk)
            .update_expression("SET summaryAt = :now, suppressed = :zero")
            .condition_expression("(attribute_not_exists(summaryAt) OR summaryAt < :since) AND suppressed > :zero")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":since", n(now - window_ms))
            .expression_attribute_values(":zero", n(0))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedOld)
            .send()
            .await
            .map_err(classify);
        match taken {
            Ok(out) => Ok(Some(
                out.attributes()
                    .map(|a| Fields(a).opt_n("suppressed").unwrap_or(0))
                    .unwrap_or(0),
            )),
            Err(StoreError::ConditionFailed) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Counts an alert against its device's storm limit: true while the device has sent fewer
    /// than `limit` alerts in the current window (a new window starts when the last is over).
    pub async fn take_device_slot(
        &self,
        datto_id: &str,
        device_uid: &str,
        now: i64,
        window_ms: i64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let key = |c: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder| {
            c.table_name(self.store.table())
                .key("PK", s(keys::integration_pk(self.tenant, datto_id)))
                .key("SK", s(format!("STORM#{device_uid}")))
        };
        // A window that is over starts afresh with this alert.
        let fresh = key(self.store.client().update_item())
            .update_expression("SET windowStart = :now, alerts = :one, entity = :entity")
            .condition_expression("attribute_not_exists(windowStart) OR windowStart < :over")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":entity", s("alert-storm"))
            .expression_attribute_values(":over", n(now - window_ms))
            .send()
            .await
            .map_err(classify);
        match fresh {
            Ok(_) => return Ok(true),
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
        let counted = key(self.store.client().update_item())
            .update_expression("ADD alerts :one")
            .condition_expression("alerts < :limit")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(i64::from(limit)))
            .send()
            .await
            .map_err(classify);
        match counted {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn reconcile_record(&self, datto_id: &str) -> Result<Option<ReconcileRecord>, StoreError> {
        self.get_json(keys::integration_pk(self.tenant, datto_id), "RECONCILE#LAST".into())
            .await
    }

    pub async fn put_reconcile_record(&self, datto_id: &str, record: &ReconcileRecord) -> Result<(), StoreError> {
        self.put_json(
            (
                keys::integration_pk(self.tenant, datto_id),
                "RECONCILE#LAST".into(),
                "ticket-reconcile",
            ),
            record,
            None,
            record.finished_at,
            None,
            None,
        )
        .await
    }
}
