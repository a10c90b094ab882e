//! The simulated ConnectWise Manage data (model): JSON records in the wire shape, keyed by id,
//! one table per collection, and the ticket rules the routes and the admin close share. The
//! seeded data it starts with comes from `generate.rs`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

pub(crate) use crate::time::DAY_MS;
/// `yyyy-mm-ddThh:mm:ssZ` (UTC): ConnectWise's date format.
pub use crate::time::iso_seconds as iso;
pub use crate::time::now_ms;

/// One table: records by id, plus the next id to hand out.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordTable {
    pub rows: BTreeMap<i64, Value>,
    pub next_id: i64,
}

impl RecordTable {
    pub fn insert(&mut self, mut record: Value) -> i64 {
        self.next_id = self.next_id.max(1);
        let id = self.next_id;
        self.next_id += 1;
        record["id"] = json!(id);
        self.rows.insert(id, record);
        id
    }

    pub fn get(&self, id: i64) -> Option<&Value> {
        self.rows.get(&id)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectWiseStore {
    pub companies: RecordTable,
    pub contacts: RecordTable,
    pub sites: RecordTable,
    pub configurations: RecordTable,
    pub configuration_types: RecordTable,
    /// `/company/configurations/statuses`: `{id, description, closedFlag, defaultFlag}`.
    pub configuration_statuses: RecordTable,
    /// Configuration type id → its questions (`/company/configurations/types/{id}/questions`).
    pub type_questions: BTreeMap<i64, Vec<Value>>,
    /// `/procurement/manufacturers`: `{id, name, inactiveFlag}`.
    pub manufacturers: RecordTable,
    pub members: RecordTable,
    pub boards: RecordTable,
    pub statuses: RecordTable,
    pub types: RecordTable,
    pub subtypes: RecordTable,
    /// Board items (`/service/boards/{id}/items`).
    pub items: RecordTable,
    /// Board teams (`/service/boards/{id}/teams`), one of them `defaultFlag` on most boards.
    pub teams: RecordTable,
    pub priorities: RecordTable,
    pub sources: RecordTable,
    pub tickets: RecordTable,
    pub notes: RecordTable,
    /// Ticket id → configuration ids attached.
    pub ticket_configurations: BTreeMap<i64, Vec<i64>>,
    pub callbacks: RecordTable,
    /// Callback key id → signing key.
    pub signing_keys: BTreeMap<String, String>,
}

pub(super) fn info(ms: i64, by: &str) -> Value {
    json!({"lastUpdated": iso(ms), "dateEntered": iso(ms - 30 * DAY_MS), "updatedBy": by, "enteredBy": by})
}

/// An identifier (≤ 30, upper-case alphanumerics) for a company name.
pub(crate) fn identifier_for(name: &str) -> String {
    let mut s: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    s.truncate(24);
    s
}

impl ConnectWiseStore {
    /// Builds a ticket from a POST body (validated); the caller inserts it.
    pub fn new_ticket_record(&self, body: &Value, by: &str, now_ms: i64) -> Result<Value, Vec<Value>> {
        let mut errors = Vec::new();
        let missing = |field: &str| {
            json!({"code": "MissingRequiredField", "message": format!("The {field} field is required."),
                "resource": "ticket", "field": field})
        };
        let invalid = |field: &str, msg: &str| json!({"code": "InvalidField", "message": msg, "resource": "ticket", "field": field});
        let summary = body["summary"].as_str().unwrap_or("").trim().to_string();
        if summary.is_empty() {
            errors.push(missing("summary"));
        } else if summary.chars().count() > 100 {
            errors.push(invalid("summary", "summary must be 100 characters or fewer."));
        }
        let company = match &body["company"] {
            Value::Null => {
                errors.push(missing("company"));
                None
            }
            c => {
                let found = match (c["id"].as_i64(), c["identifier"].as_str()) {
                    (Some(id), _) => self.companies.get(id),
                    (None, Some(ident)) => self
                        .companies
                        .rows
                        .values()
                        .find(|x| x["identifier"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(ident))),
                    _ => None,
                };
                if found.is_none() {
                    errors.push(invalid("company", "The company is invalid."));
                }
                found
            }
        };
        let board = match body["board"]["id"].as_i64() {
            None => {
                errors.push(missing("board"));
                None
            }
            Some(id) => {
                let b = self.boards.get(id);
                if b.is_none() {
                    errors.push(invalid("board", "The board is invalid."));
                }
                b
            }
        };
        let board_id = board.and_then(|b| b["id"].as_i64());
        let on_board =
            |table: &RecordTable, id: i64| table.get(id).filter(|x| x["board"]["id"].as_i64() == board_id).cloned();
        let status = match body["status"]["id"].as_i64() {
            Some(id) => {
                let s = on_board(&self.statuses, id);
                if s.is_none() && board_id.is_some() {
                    errors.push(invalid("status", "The status is not valid for the board."));
                }
                s
            }
            None => self
                .statuses
                .rows
                .values()
                .find(|s| s["board"]["id"].as_i64() == board_id && s["defaultFlag"] == true)
                .cloned(),
        };
        let mut pick_ref = |field: &str, table: &RecordTable, board_scoped: bool| -> Value {
            match body[field]["id"].as_i64() {
                None => Value::Null,
                Some(id) => {
                    let rec = if board_scoped {
                        on_board(table, id)
                    } else {
                        table.get(id).cloned()
                    };
                    match rec {
                        Some(r) => json!({"id": id, "name": r["name"]}),
                        None => {
                            errors.push(invalid(field, &format!("The {field} is invalid.")));
                            Value::Null
                        }
                    }
                }
            }
        };
        let priority = match pick_ref("priority", &self.priorities, false) {
            Value::Null => self
                .priorities
                .rows
                .iter()
                .find(|(_, p)| p["defaultFlag"] == true)
                .map(|(id, p)| json!({"id": id, "name": p["name"]}))
                .unwrap_or(Value::Null),
            p => p,
        };
        let type_ = pick_ref("type", &self.types, true);
        let subtype = pick_ref("subType", &self.subtypes, true);
        let source = pick_ref("source", &self.sources, false);
        let item = pick_ref("item", &self.items, true);
        let xref = body["externalXRef"].as_str().map(str::to_string);
        if xref.as_ref().is_some_and(|x| x.chars().count() > 100) {
            errors.push(invalid("externalXRef", "externalXRef must be 100 characters or fewer."));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let company = company.expect("validated");
        let board = board.expect("validated");
        let status = status.unwrap_or(Value::Null);
        let closed = status["closedStatus"] == true;
        Ok(json!({
            "summary": summary,
            "recordType": "ServiceTicket",
            "board": {"id": board["id"], "name": board["name"]},
            "status": if status.is_null() { Value::Null } else { json!({"id": status["id"], "name": status["name"]}) },
            "company": {"id": company["id"], "identifier": company["identifier"], "name": company["name"]},
            "priority": priority,
            "type": type_,
            "subType": subtype,
            "item": item,
            "source": source,
            "externalXRef": xref,
            "severity": "Medium",
            "impact": "Medium",
            "closedFlag": closed,
            "closedDate": if closed { json!(iso(now_ms)) } else { Value::Null },
            "closedBy": if closed { json!(by) } else { Value::Null },
            "_info": {"lastUpdated": iso(now_ms), "dateEntered": iso(now_ms), "enteredBy": by, "updatedBy": by},
        }))
    }

    /// Sets a ticket's status (must be on its board), keeping `closedFlag` in step with the
    /// status' `closedStatus`.
    pub fn set_ticket_status(&mut self, ticket_id: i64, status_id: i64, by: &str, now: i64) -> Result<(), String> {
        let board_id = self.tickets.get(ticket_id).ok_or("no such ticket")?["board"]["id"].as_i64();
        let status = self
            .statuses
            .get(status_id)
            .filter(|s| s["board"]["id"].as_i64() == board_id)
            .cloned()
            .ok_or("The status is not valid for the board.")?;
        let t = self.tickets.rows.get_mut(&ticket_id).ok_or("no such ticket")?;
        t["status"] = json!({"id": status_id, "name": status["name"]});
        let closed = status["closedStatus"] == true;
        if closed && t["closedFlag"] != true {
            t["closedDate"] = json!(iso(now));
            t["closedBy"] = json!(by);
        }
        if !closed {
            t["closedDate"] = Value::Null;
            t["closedBy"] = Value::Null;
        }
        t["closedFlag"] = json!(closed);
        Ok(())
    }

    /// The first active `closedStatus` of a board.
    pub fn first_closed_status(&self, board_id: i64) -> Option<i64> {
        self.statuses
            .rows
            .iter()
            .find(|(_, s)| {
                s["board"]["id"].as_i64() == Some(board_id) && s["closedStatus"] == true && s["inactive"] != true
            })
            .map(|(id, _)| *id)
    }
}

/// The custom fields defined on configurations (`id`, `caption`): every configuration carries
/// them all in `customFields`, `value` null where unset (as Manage renders a record's custom
/// fields). UNCONFIRMED: whether Manage lists definitions anywhere an API member can read; the
/// simulator serves them only on the records.
pub const CONFIGURATION_CUSTOM_FIELDS: &[(i64, &str)] = &[(1, "Asset Tag"), (2, "Datto Site"), (3, "Backup Policy")];

/// `customFields` with every defined field, the values of `sent` (`[{id, value}]`) over those
/// of `current`; an id not defined is an error naming it.
pub fn merge_custom_fields(current: &serde_json::Value, sent: &serde_json::Value) -> Result<serde_json::Value, String> {
    use serde_json::{Value, json};
    let value_of = |list: &Value, id: i64| -> Option<Value> {
        list.as_array()?
            .iter()
            .find(|f| f["id"].as_i64() == Some(id))
            .map(|f| f["value"].clone())
    };
    if let Some(list) = sent.as_array() {
        for f in list {
            let id = f["id"].as_i64();
            if !id.is_some_and(|id| CONFIGURATION_CUSTOM_FIELDS.iter().any(|(d, _)| *d == id)) {
                return Err(format!("The custom field {} does not exist.", f["id"]));
            }
        }
    } else if !sent.is_null() {
        return Err("customFields must be an array of {id, value}.".into());
    }
    Ok(Value::Array(
        CONFIGURATION_CUSTOM_FIELDS
            .iter()
            .map(|(id, caption)| {
                let value = value_of(sent, *id)
                    .or_else(|| value_of(current, *id))
                    .unwrap_or(Value::Null);
                json!({"id": id, "caption": caption, "type": "Text", "entryMethod": "EntryField",
                    "numberOfDecimals": 0, "value": value})
            })
            .collect(),
    ))
}
