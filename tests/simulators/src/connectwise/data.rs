//! Generated ConnectWise data, held as JSON records (the wire shape) keyed by id.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::rng::Rng;

pub(crate) use crate::time::DAY_MS;
/// `yyyy-mm-ddThh:mm:ssZ` (UTC): ConnectWise's date format.
pub use crate::time::iso_seconds as iso;
pub use crate::time::now_ms;

/// One table: records by id, plus the next id to hand out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub rows: BTreeMap<i64, Value>,
    pub next_id: i64,
}

impl Table {
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
pub(crate) struct Data {
    pub companies: Table,
    pub contacts: Table,
    pub sites: Table,
    pub configurations: Table,
    pub configuration_types: Table,
    pub members: Table,
    pub boards: Table,
    pub statuses: Table,
    pub types: Table,
    pub subtypes: Table,
    pub priorities: Table,
    pub sources: Table,
    pub tickets: Table,
    pub notes: Table,
    /// Ticket id → configuration ids attached.
    pub ticket_configurations: BTreeMap<i64, Vec<i64>>,
    pub callbacks: Table,
    /// Callback key id → signing key.
    pub signing_keys: BTreeMap<String, String>,
}

pub(crate) struct GenParams {
    pub seed: u64,
    pub companies: usize,
    pub members: usize,
    pub tickets: usize,
    pub reference_ms: i64,
    pub api_member: String,
}

const FIRST: &[&str] = &[
    "Acme",
    "Northwind",
    "Blue Ridge",
    "Summit",
    "Harbor",
    "Cedar",
    "Pioneer",
    "Lakeside",
    "Granite",
    "Evergreen",
    "Riverside",
    "Oak Hill",
    "Maple",
    "Silver Creek",
    "Crescent",
    "Redwood",
    "Bayview",
    "Sterling",
    "Liberty",
    "Horizon",
];
const SECOND: &[&str] = &[
    "Dental",
    "Law Group",
    "Accounting",
    "Family Practice",
    "Construction",
    "Logistics",
    "Realty",
    "Veterinary Clinic",
    "Insurance",
    "Church",
    "Engineering",
    "Plumbing",
    "Architects",
    "Pharmacy",
    "Auto Repair",
    "Consulting",
];
const SUFFIX: &[&str] = &["", "", "", ", LLC", " Inc.", " Ltd", " & Co", ", P.C."];
const GIVEN: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "Zoë",
    "José",
    "Siobhán",
    "Wei",
    "Aisha",
    "Lars",
];
const FAMILY: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "O'Brien", "Nguyen", "Müller",
    "Kowalski", "Okafor", "Larsen",
];
const CITIES: &[&str] = &[
    "Main",
    "Downtown",
    "Warehouse",
    "North Office",
    "Clinic",
    "Annex",
    "Remote",
];
const CONFIG_TYPES: &[(&str, bool)] = &[
    ("Workstation", false),
    ("Laptop", false),
    ("Server", false),
    ("Network Device", false),
    ("Printer", false),
    ("Managed Server (legacy)", true),
];

fn info(ms: i64, by: &str) -> Value {
    json!({"lastUpdated": iso(ms), "dateEntered": iso(ms - 30 * DAY_MS), "updatedBy": by, "enteredBy": by})
}

/// An identifier (≤ 30, upper-case alphanumerics) for a company name.
pub(crate) fn identifier_for(name: &str) -> String {
    let mut s: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    s.truncate(24);
    s
}

impl Data {
    pub fn generate(p: &GenParams) -> Data {
        let mut d = Data::default();
        let mut r = Rng::derive(p.seed, 0xC0);
        let ref_ms = p.reference_ms;

        // Members: the API member first.
        d.members.insert(json!({
            "identifier": p.api_member, "firstName": "rmmsync", "lastName": "API",
            "officeEmail": null, "inactiveFlag": false, "licenseClass": "A",
            "_info": info(ref_ms - DAY_MS, "System"),
        }));
        for i in 0..p.members {
            let first = *r.pick(GIVEN);
            let last = *r.pick(FAMILY);
            let ident = format!("{}{}", &first[..1], last.replace(['\'', 'ü'], "")).to_lowercase();
            d.members.insert(json!({
                "identifier": format!("{ident}{i}"), "firstName": first, "lastName": last,
                "officeEmail": format!("{}.{}@msp.example", first.to_lowercase(), last.to_lowercase()),
                "inactiveFlag": r.chance(0.15), "licenseClass": "F",
                "_info": info(ref_ms - r.range(1, 400) * DAY_MS, "System"),
            }));
        }

        for (name, inactive) in CONFIG_TYPES {
            d.configuration_types
                .insert(json!({"name": name, "inactiveFlag": inactive, "systemFlag": false}));
        }

        for (i, name) in [
            "Priority 1 - Emergency Response",
            "Priority 2 - Quick Response",
            "Priority 3 - Normal Response",
            "Priority 4 - Schedule Maintenance",
            "Priority 5 - Next Time",
        ]
        .iter()
        .enumerate()
        {
            d.priorities
                .insert(json!({"name": name, "color": "blue", "sortOrder": i + 1,
                "defaultFlag": i == 2, "level": format!("Priority {}", i + 1)}));
        }
        for name in ["Phone", "Email", "Portal", "RMM Alert"] {
            d.sources.insert(json!({"name": name, "defaultFlag": name == "Phone"}));
        }

        for board in ["Service Desk", "Alerts", "Projects"] {
            let board_id = d.boards.insert(json!({"name": board, "inactiveFlag": false,
                "location": {"id": 2, "name": "Main"}, "department": {"id": 10, "name": "Services"}}));
            for (i, (status, closed, inactive)) in [
                ("New", false, false),
                ("In Progress", false, false),
                ("Waiting on Client", false, false),
                ("Completed", true, false),
                ("Closed", true, false),
                ("Cancelled", true, true),
            ]
            .iter()
            .enumerate()
            {
                d.statuses
                    .insert(json!({"name": status, "board": {"id": board_id, "name": board},
                    "sortOrder": i, "defaultFlag": i == 0, "closedStatus": closed, "inactive": inactive,
                    "escalationStatus": "NotResponded", "timeEntryNotAllowed": false}));
            }
            for t in ["Alert", "Incident", "Request"] {
                d.types
                    .insert(json!({"name": t, "board": {"id": board_id, "name": board}, "inactiveFlag": false}));
            }
            for t in ["Hardware", "Software", "Network"] {
                d.subtypes
                    .insert(json!({"name": t, "board": {"id": board_id, "name": board}, "inactiveFlag": false}));
            }
        }

        let mut names: Vec<String> = Vec::new();
        for _ in 0..p.companies {
            let name = if !names.is_empty() && r.chance(0.08) {
                // A duplicate or near-duplicate of an earlier company.
                let base = r.pick(&names).clone();
                match r.below(3) {
                    0 => base,
                    1 => base.to_uppercase(),
                    _ => format!("{base}{}", r.pick(&[", LLC", " (old)", " Inc"])),
                }
            } else {
                format!("{} {}{}", r.pick(FIRST), r.pick(SECOND), r.pick(SUFFIX))
            };
            names.push(name.clone());
            d.add_company(&name, &mut r, ref_ms);
        }

        let ticket_companies: Vec<i64> = d.companies.rows.keys().copied().collect();
        for _ in 0..p.tickets.min(if ticket_companies.is_empty() { 0 } else { usize::MAX }) {
            let company = *r.pick(&ticket_companies);
            let t = d.new_ticket_record(
                &json!({"summary": format!("Seeded ticket {}", r.range(1000, 9999)),
                    "company": {"id": company}, "board": {"id": 1}}),
                "System",
                ref_ms - r.range(1, 90) * DAY_MS,
            );
            if let Ok(t) = t {
                d.tickets.insert(t);
            }
        }
        d
    }

    /// Adds a company with a few contacts, sites and configurations; returns its id.
    pub fn add_company(&mut self, name: &str, r: &mut Rng, ref_ms: i64) -> i64 {
        let mut ident = identifier_for(name);
        if ident.is_empty() {
            ident = "Company".into();
        }
        let base = ident.clone();
        let mut n = 2;
        while self
            .companies
            .rows
            .values()
            .any(|c| c["identifier"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(&ident)))
        {
            ident = format!("{base}{n}");
            n += 1;
        }
        let inactive = r.chance(0.08);
        let deleted = r.chance(0.04);
        let updated = ref_ms - r.range(0, 700) * DAY_MS - r.range(0, 86_399) * 1000;
        let company_id = self.companies.insert(json!({
            "identifier": ident, "name": name,
            "status": if inactive { json!({"id": 2, "name": "Inactive"}) } else { json!({"id": 1, "name": "Active"}) },
            "types": [{"id": 1, "name": "Client"}],
            "deletedFlag": deleted, "phoneNumber": format!("555-{:04}", r.range(0, 9999)),
            "city": "Springfield", "state": "IL",
            "_info": info(updated, "System"),
        }));
        let cref = json!({"id": company_id, "identifier": ident, "name": name});

        let sites = r.range(1, 3);
        for s in 0..sites {
            let site_name = if s == 0 { "Main" } else { *r.pick(CITIES) };
            self.sites.insert(
                json!({"name": site_name, "company": cref, "inactiveFlag": r.chance(0.05),
                "primaryAddressFlag": s == 0, "city": "Springfield", "_info": info(updated, "System")}),
            );
        }
        for _ in 0..r.range(0, 5) {
            let first = *r.pick(GIVEN);
            let last = *r.pick(FAMILY);
            let email = format!(
                "{}.{}@{}.example",
                first.to_lowercase(),
                last.to_lowercase(),
                ident.to_lowercase()
            );
            self.contacts.insert(json!({"firstName": first, "lastName": last, "company": cref,
                "inactiveFlag": r.chance(0.1),
                "communicationItems": [
                    {"id": 1, "type": {"id": 2, "name": "Direct"}, "value": "555-0100", "defaultFlag": true, "communicationType": "Phone"},
                    {"id": 2, "type": {"id": 1, "name": "Email"}, "value": email, "defaultFlag": true, "communicationType": "Email"}
                ],
                "_info": info(updated, "System")}));
        }
        let types: Vec<(i64, String)> = self
            .configuration_types
            .rows
            .iter()
            .map(|(id, t)| (*id, t["name"].as_str().unwrap_or("").to_string()))
            .collect();
        for k in 0..r.range(0, 8) {
            let (type_id, type_name) = r.pick(&types).clone();
            let active = r.chance(0.9);
            let device_identifier = match r.below(4) {
                0 | 1 => json!(r.guid()),
                2 => json!(format!("LT-{}", r.range(10000, 99999))),
                _ => Value::Null,
            };
            self.configurations.insert(json!({
                "name": format!("{}-{}{:02}", ident.chars().take(6).collect::<String>().to_uppercase(),
                    if type_name == "Server" { "SRV" } else { "WS" }, k + 1),
                "type": {"id": type_id, "name": type_name},
                "company": cref,
                "status": if active { json!({"id": 1, "name": "Active"}) } else { json!({"id": 2, "name": "Inactive"}) },
                "activeFlag": active,
                "serialNumber": if r.chance(0.8) { json!(r.chars(crate::rng::UPPER_ALNUM, 10)) } else { Value::Null },
                "deviceIdentifier": device_identifier,
                "_info": info(updated, "System"),
            }));
        }
        company_id
    }

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
            |table: &Table, id: i64| table.get(id).filter(|x| x["board"]["id"].as_i64() == board_id).cloned();
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
        let mut pick_ref = |field: &str, table: &Table, board_scoped: bool| -> Value {
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
        let item = body["item"].clone();
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
