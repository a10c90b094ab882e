//! The ticket flow's items.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | hook token (hash) | `TENANT#{t}` | `HOOK#{integrationId}` |
//! | ticket settings | Datto integration partition | `TICKETSETTINGS` |
//! | an alert's state | Datto integration partition | `ALERT#{alertUid}` |
//! | the open ticket of a monitor on a device | Datto integration partition | `REPEAT#{deviceUid}#{monitorKey}` |
//! | a ticket's alerts | PSA integration partition | `TICKETLINK#{ticketId}` |
//!
//! Webhooks carry no JWT; the tenant comes from the hook token, and every
//! key is still built from it.

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
    /// No ticket could be opened (no mapped PSA company, a PSA refusal).
    Failed,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepeatRecord {
    pub ticket_id: String,
    pub last_alert_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketLink {
    pub datto_integration_id: String,
    pub alert_uids: Vec<String>,
}

fn state_name(state: AlertState) -> &'static str {
    match state {
        AlertState::Opening => "opening",
        AlertState::Opened => "opened",
        AlertState::Noted => "noted",
        AlertState::Resolved => "resolved",
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
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
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
        )
        .await
    }

    pub async fn alert(&self, datto_id: &str, uid: &str) -> Result<Option<AlertRecord>, StoreError> {
        self.get_json(keys::integration_pk(self.tenant, datto_id), format!("ALERT#{uid}"))
            .await
    }

    pub async fn put_alert(&self, datto_id: &str, record: &AlertRecord) -> Result<(), StoreError> {
        self.put_json(
            (
                keys::integration_pk(self.tenant, datto_id),
                format!("ALERT#{}", record.alert_uid),
                "alert",
            ),
            record,
            Some(state_name(record.state)),
            record.updated_at,
            None,
        )
        .await
    }

    /// Claims an alert for opening: only if no delivery has, or the claim of
    /// one that crashed (older than `stale_before`) is taken over. False when
    /// another delivery holds it or it is done.
    pub async fn claim_alert(
        &self,
        datto_id: &str,
        uid: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<bool, StoreError> {
        let record = AlertRecord {
            alert_uid: uid.to_owned(),
            state: AlertState::Opening,
            ticket_id: None,
            psa_integration_id: None,
            reason: None,
            updated_at: now,
        };
        let condition = (
            "attribute_not_exists(PK) OR (#state = :opening AND updatedAt < :stale)",
            vec![
                (":opening", s(state_name(AlertState::Opening))),
                (":stale", n(stale_before)),
            ],
        );
        match self
            .put_json(
                (
                    keys::integration_pk(self.tenant, datto_id),
                    format!("ALERT#{uid}"),
                    "alert",
                ),
                &record,
                Some(state_name(AlertState::Opening)),
                now,
                Some(condition),
            )
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn repeat(&self, datto_id: &str, key: &str) -> Result<Option<RepeatRecord>, StoreError> {
        self.get_json(keys::integration_pk(self.tenant, datto_id), format!("REPEAT#{key}"))
            .await
    }

    pub async fn put_repeat(&self, datto_id: &str, key: &str, record: &RepeatRecord) -> Result<(), StoreError> {
        self.put_json(
            (
                keys::integration_pk(self.tenant, datto_id),
                format!("REPEAT#{key}"),
                "alert-repeat",
            ),
            record,
            None,
            record.last_alert_at,
            None,
        )
        .await
    }

    pub async fn link(&self, psa_id: &str, ticket_id: &str) -> Result<Option<TicketLink>, StoreError> {
        self.get_json(
            keys::integration_pk(self.tenant, psa_id),
            format!("TICKETLINK#{ticket_id}"),
        )
        .await
    }

    pub async fn put_link(&self, psa_id: &str, ticket_id: &str, link: &TicketLink) -> Result<(), StoreError> {
        self.put_json(
            (
                keys::integration_pk(self.tenant, psa_id),
                format!("TICKETLINK#{ticket_id}"),
                "ticket-link",
            ),
            link,
            None,
            crate::time::now_millis(),
            None,
        )
        .await
    }
}
