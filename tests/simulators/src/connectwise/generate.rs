//! The seeded fake data of the ConnectWise simulator (generator): companies (some duplicate or
//! near-duplicate names, some inactive or `deletedFlag`), their sites, contacts and
//! configurations, members, boards with statuses, types, subtypes, items and teams, priorities, sources and a
//! few tickets.

use serde_json::{Value, json};

use super::model::*;
use crate::rng::Rng;

pub(crate) struct ConnectWiseGenParams {
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

impl ConnectWiseStore {
    pub fn generate(p: &ConnectWiseGenParams) -> ConnectWiseStore {
        let mut d = ConnectWiseStore::default();
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
            let id = d
                .configuration_types
                .insert(json!({"name": name, "inactiveFlag": inactive, "systemFlag": false}));
            // Questions: one required on network devices (such a type cannot be used to
            // create a configuration without an answer), one optional on printers.
            let questions = match *name {
                "Network Device" => vec![
                    json!({"id": 1, "questionId": 1, "question": "Management VLAN", "fieldType": "Text",
                           "requiredFlag": true, "inactiveFlag": false, "sequenceNumber": 1}),
                ],
                "Printer" => vec![
                    json!({"id": 2, "questionId": 2, "question": "Toner model", "fieldType": "Text",
                           "requiredFlag": false, "inactiveFlag": false, "sequenceNumber": 1}),
                ],
                _ => vec![],
            };
            d.type_questions.insert(id, questions);
        }
        // Ids 1 and 2 as the generated configurations' `status` references say.
        d.configuration_statuses
            .insert(json!({"description": "Active", "closedFlag": false, "defaultFlag": true}));
        d.configuration_statuses
            .insert(json!({"description": "Inactive", "closedFlag": true, "defaultFlag": false}));
        for name in ["Dell Inc.", "HP", "Lenovo", "VMware, Inc.", "Microsoft Corporation"] {
            d.manufacturers.insert(json!({"name": name, "inactiveFlag": false}));
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
            for t in ["Server", "Workstation"] {
                d.items
                    .insert(json!({"name": t, "board": {"id": board_id, "name": board}, "inactiveFlag": false}));
            }
            // "Projects" has a team but no default one: what a ticket settings check warns about.
            d.teams.insert(
                json!({"name": format!("{board} Team"), "board": {"id": board_id, "name": board},
                "defaultFlag": board != "Projects", "teamLeader": {"id": 1}}),
            );
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
                "customFields": super::model::merge_custom_fields(&Value::Null, &Value::Null).expect("no fields sent"),
                "_info": info(updated, "System"),
            }));
        }
        company_id
    }
}
