//! Autotask tickets for the alert round trip: the tenant's ticket settings, opening a ticket
//! (`POST /Tickets`, never retried after it may have reached Autotask), notes
//! (`POST /Tickets/{id}/Notes`), reading and completing (`PATCH /Tickets`), and finding the
//! open ticket of an alert (`rmmAlertID`).

use super::client::AutotaskClient;
use super::records::{id_text, text};
use super::transport::{PSA, decode};
use crate::http::Answer;
use crate::psa::{AutotaskTicketLists, PsaChoice, PsaError, TicketDraft, TicketState, truncate_chars};
use crate::retry::Replay;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Priority of a ticket whose draft has none (Autotask requires one; 2 is "Medium" in a
/// default tenant).
pub const DEFAULT_PRIORITY: i64 = 2;
const TITLE_MAX: usize = 255;
const DESCRIPTION_MAX: usize = 8000;
const NOTE_TITLE_MAX: usize = 250;
const NOTE_TEXT_MAX: usize = 32_000;

/// How tickets are opened and closed in one Autotask tenant (ids from its picklists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutotaskTicketSettings {
    pub queue_id: i64,
    pub issue_type: Option<i64>,
    pub sub_issue_type: Option<i64>,
    /// Sent as `billingCodeID`.
    pub work_type: Option<i64>,
    pub status_new: i64,
    pub status_complete: i64,
    pub source: Option<i64>,
}

impl Default for AutotaskTicketSettings {
    fn default() -> Self {
        Self {
            queue_id: 0,
            issue_type: None,
            sub_issue_type: None,
            work_type: None,
            status_new: 1,
            status_complete: 5,
            source: None,
        }
    }
}

impl AutotaskClient {
    /// Opens a ticket for a Datto RMM alert (`rmmAlertID` = the alert uid).
    pub async fn create_ticket(
        &self,
        draft: &TicketDraft,
        settings: &AutotaskTicketSettings,
    ) -> Result<TicketState, PsaError> {
        let company_id = parse_id("company", &draft.company_id)?;
        let priority = match draft.priority.as_deref() {
            Some(p) => parse_id("priority", p)?,
            None => DEFAULT_PRIORITY,
        };
        let mut body = json!({
            "companyID": company_id,
            "title": truncate_chars(&draft.title, TITLE_MAX),
            "description": truncate_chars(&draft.description, DESCRIPTION_MAX),
            "status": settings.status_new,
            "priority": priority,
            "queueID": settings.queue_id,
            "rmmAlertID": draft.alert_uid,
        });
        let extra = [
            (
                "configurationItemID",
                draft
                    .configuration_id
                    .as_deref()
                    .map(|c| parse_id("configuration item", c))
                    .transpose()?,
            ),
            ("issueType", settings.issue_type),
            ("subIssueType", settings.sub_issue_type),
            ("billingCodeID", settings.work_type),
            ("source", settings.source),
        ];
        for (field, value) in extra {
            if let Some(v) = value {
                body[field] = json!(v);
            }
        }
        let zone = self.transport.zone().await?;
        let answer = self
            .transport
            .send(
                Method::POST,
                self.transport.url(&zone, "Tickets")?,
                "Tickets",
                Some(&body),
                Replay::Create,
            )
            .await?;
        self.transport.expect_ok(&answer, "/Tickets")?;
        let id = item_id(&answer.body, "/Tickets")?;
        // The answer is only `{itemId}`; the ticket number is not read back (a request the
        // alert's delivery would wait for, and nothing uses it): `get_ticket` has it.
        Ok(TicketState {
            id: id.to_string(),
            number: None,
            completed: settings.status_new == settings.status_complete,
            alert_uid: Some(draft.alert_uid.clone()),
        })
    }

    /// `POST /Tickets/{id}/Notes` (notes are a child entity).
    pub async fn add_ticket_note(&self, ticket_id: &str, title: &str, text: &str) -> Result<(), PsaError> {
        let id = parse_id("ticket", ticket_id)?;
        let body = json!({
            "ticketID": id,
            "title": truncate_chars(title, NOTE_TITLE_MAX),
            "description": truncate_chars(text, NOTE_TEXT_MAX),
            "noteType": 1,
            "publish": 1,
        });
        let zone = self.transport.zone().await?;
        let path = format!("Tickets/{id}/Notes");
        let answer = self
            .transport
            .send(
                Method::POST,
                self.transport.url(&zone, &path)?,
                "Tickets",
                Some(&body),
                Replay::Create,
            )
            .await?;
        self.expect_ticket_ok(&answer, id, "/Tickets/{id}/Notes")
    }

    /// Whether the ticket has a note whose description contains `marker` (a query of
    /// TicketNotes by ticket and text): how a note whose POST lost its answer is found.
    pub async fn ticket_has_note(&self, ticket_id: &str, marker: &str) -> Result<bool, PsaError> {
        let id = parse_id("ticket", ticket_id)?;
        let filter = json!([
            {"op": "eq", "field": "ticketID", "value": id},
            {"op": "contains", "field": "description", "value": marker},
        ]);
        let notes = self.transport.query_all("TicketNotes", filter).await?;
        // The filter is the API's; the text is checked here too.
        Ok(notes.iter().any(|n| {
            n.get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.contains(marker))
        }))
    }

    /// `GET /Tickets/{id}`.
    pub async fn get_ticket(
        &self,
        ticket_id: &str,
        settings: &AutotaskTicketSettings,
    ) -> Result<TicketState, PsaError> {
        let item = self.ticket_item(ticket_id).await?;
        Ok(ticket_state(&item, settings))
    }

    /// `PATCH /Tickets` to the Complete status, with the resolution.
    pub async fn complete_ticket(
        &self,
        ticket_id: &str,
        resolution: &str,
        settings: &AutotaskTicketSettings,
    ) -> Result<(), PsaError> {
        let id = parse_id("ticket", ticket_id)?;
        let body = json!({"id": id, "status": settings.status_complete, "resolution": truncate_chars(resolution, NOTE_TEXT_MAX)});
        let zone = self.transport.zone().await?;
        let answer = self
            .transport
            .send(
                Method::PATCH,
                self.transport.url(&zone, "Tickets")?,
                "Tickets",
                Some(&body),
                Replay::Idempotent,
            )
            .await?;
        self.expect_ticket_ok(&answer, id, "/Tickets")
    }

    /// The newest ticket for an alert that is not Complete, if any.
    pub async fn find_open_ticket_for_alert(
        &self,
        alert_uid: &str,
        settings: &AutotaskTicketSettings,
    ) -> Result<Option<TicketState>, PsaError> {
        let filter = json!([
            {"op": "eq", "field": "rmmAlertID", "value": alert_uid},
            {"op": "noteq", "field": "status", "value": settings.status_complete},
        ]);
        let items = self.transport.query_all("Tickets", filter).await?;
        Ok(items
            .iter()
            .filter(|t| t.get("id").and_then(Value::as_i64).is_some())
            .max_by_key(|t| t.get("id").and_then(Value::as_i64))
            .map(|t| ticket_state(t, settings)))
    }

    /// The newest ticket carrying this alert uid, in any status: what a delivery that died
    /// after the create left behind, to adopt instead of opening a second.
    pub async fn find_ticket_for_alert(
        &self,
        alert_uid: &str,
        settings: &AutotaskTicketSettings,
    ) -> Result<Option<TicketState>, PsaError> {
        let filter = json!([{"op": "eq", "field": "rmmAlertID", "value": alert_uid}]);
        let items = self.transport.query_all("Tickets", filter).await?;
        Ok(items
            .iter()
            .filter(|t| t.get("id").and_then(Value::as_i64).is_some())
            .max_by_key(|t| t.get("id").and_then(Value::as_i64))
            .map(|t| ticket_state(t, settings)))
    }

    /// The picklists ticket settings refer to, from `GET /Tickets/entityInformation/fields`
    /// (queueID, issueType, subIssueType with its parent issue type, status, priority, source).
    /// Picklist values come as strings or numbers; one that is not an integer is left out.
    ///
    /// Work types are not a picklist: they are the BillingCodes whose `useType` is the work
    /// type use (`AUTOTASK_WORK_TYPE_USE_TYPE`), read in the same round (two requests).
    pub async fn ticket_lists(&self) -> Result<AutotaskTicketLists, PsaError> {
        let fields = self
            .transport
            .get_json::<Value>("Tickets/entityInformation/fields", "Tickets");
        let filter = json!([{"op": "eq", "field": "useType", "value": self.work_type_use_type}]);
        let codes = self.transport.query_all("BillingCodes", filter);
        let (info, codes) = tokio::join!(fields, codes);
        let mut lists = ticket_lists_from_fields(&info?);
        lists.work_types = work_types_from_codes(&codes?);
        Ok(lists)
    }

    async fn ticket_item(&self, ticket_id: &str) -> Result<Value, PsaError> {
        let not_found = || PsaError::NotFound {
            psa: PSA,
            what: format!("ticket {ticket_id}"),
        };
        let id = ticket_id.trim().parse::<i64>().map_err(|_| not_found())?;
        let zone = self.transport.zone().await?;
        let answer = self
            .transport
            .send(
                Method::GET,
                self.transport.url(&zone, &format!("Tickets/{id}"))?,
                "Tickets",
                None,
                Replay::Idempotent,
            )
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Err(not_found());
        }
        self.transport.expect_ok(&answer, "/Tickets/{id}")?;
        let mut v: Value = decode(&answer.body, "/Tickets/{id}")?;
        match v.get_mut("item").map(Value::take) {
            Some(item) if item.is_object() => Ok(item),
            _ => Err(not_found()),
        }
    }

    /// [`Self::expect_ok`] for a write to one ticket, whose 404 names the ticket.
    fn expect_ticket_ok(&self, answer: &Answer, id: i64, path: &str) -> Result<(), PsaError> {
        if answer.status == StatusCode::NOT_FOUND {
            return Err(PsaError::NotFound {
                psa: PSA,
                what: format!("ticket {id}"),
            });
        }
        self.transport.expect_ok(answer, path)
    }
}

/// Work types out of BillingCodes items (`{id, name, isActive}`), by name; an item without an
/// integer id is left out.
pub(super) fn work_types_from_codes(items: &[Value]) -> Vec<PsaChoice> {
    let mut out: Vec<PsaChoice> = items
        .iter()
        .filter_map(|v| {
            let mut c = PsaChoice::new(
                v.get("id").and_then(Value::as_i64)?,
                truncate_chars(v.get("name").and_then(Value::as_str).unwrap_or_default(), 200),
            );
            c.active = v.get("isActive").and_then(Value::as_bool).unwrap_or(true);
            Some(c)
        })
        .collect();
    out.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
    out
}

/// The lists out of a field-info answer (`{fields: [{name, isPickList, picklistValues}]}`).
pub(super) fn ticket_lists_from_fields(info: &Value) -> AutotaskTicketLists {
    let picklist = |field: &str| -> Vec<PsaChoice> {
        let values = info
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|f| {
                f.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(field))
            })
            .and_then(|f| f.get("picklistValues"))
            .and_then(Value::as_array);
        let number = |v: Option<&Value>| match v? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        values
            .into_iter()
            .flatten()
            .filter_map(|v| {
                Some(PsaChoice {
                    id: number(v.get("value"))?,
                    name: truncate_chars(v.get("label").and_then(Value::as_str).unwrap_or_default(), 200),
                    active: v.get("isActive").and_then(Value::as_bool).unwrap_or(true),
                    is_default: v.get("isDefaultValue").and_then(Value::as_bool).unwrap_or(false),
                    parent_id: number(v.get("parentValue")),
                    closed: None,
                })
            })
            .collect()
    };
    let mut lists = AutotaskTicketLists {
        queues: picklist("queueID"),
        issue_types: picklist("issueType"),
        sub_issue_types: picklist("subIssueType"),
        statuses: picklist("status"),
        priorities: picklist("priority"),
        sources: picklist("source"),
        work_types: Vec::new(),
    };
    // Only sub-issue types carry a parent.
    for list in [
        &mut lists.queues,
        &mut lists.issue_types,
        &mut lists.statuses,
        &mut lists.priorities,
        &mut lists.sources,
    ] {
        for c in list.iter_mut() {
            c.parent_id = None;
        }
    }
    lists
}

fn item_id(body: &[u8], path: &str) -> Result<i64, PsaError> {
    let v: Value = decode(body, path)?;
    v.get("itemId")
        .and_then(|i| i.as_i64().or_else(|| i.as_str()?.parse().ok()))
        .ok_or_else(|| PsaError::InvalidResponse {
            psa: PSA,
            path: path.to_owned(),
            detail: "no itemId in the answer".into(),
        })
}

fn parse_id(what: &str, text: &str) -> Result<i64, PsaError> {
    text.trim().parse::<i64>().map_err(|_| PsaError::Validation {
        psa: PSA,
        detail: format!("the {what} id `{}` is not an Autotask id", truncate_chars(text, 40)),
    })
}

fn ticket_state(item: &Value, settings: &AutotaskTicketSettings) -> TicketState {
    TicketState {
        id: id_text(item, "id").unwrap_or_default(),
        number: text(item, "ticketNumber"),
        completed: item.get("status").and_then(Value::as_i64) == Some(settings.status_complete),
        alert_uid: text(item, "rmmAlertID"),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("abc", 10), "abc");
        let long = "é".repeat(300);
        assert_eq!(truncate_chars(&long, TITLE_MAX).chars().count(), 255);
    }

    #[test]
    fn settings_deserialize_with_defaults() {
        let s: AutotaskTicketSettings = serde_json::from_value(json!({"queueId": 8, "workType": 3})).unwrap();
        assert_eq!(
            (s.queue_id, s.work_type, s.status_new, s.status_complete),
            (8, Some(3), 1, 5)
        );
        assert_eq!(serde_json::to_value(&s).unwrap()["statusComplete"], 5);
    }
}
