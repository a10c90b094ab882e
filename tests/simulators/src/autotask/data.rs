//! The simulated Autotask database: one table per entity, rows kept as JSON objects with the
//! API's camelCase field names (every row of a table has every field of the table, `null` when
//! unset), sorted by id. Generated from a seed; see [`Data::generate`].

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::datto::names;
use crate::rng::Rng;

pub(crate) type Row = Map<String, Value>;

/// The entities the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    Companies,
    Contacts,
    CompanyLocations,
    ConfigurationItems,
    ConfigurationItemTypes,
    Resources,
    Tickets,
    TicketNotes,
}

impl Entity {
    pub const ALL: [Entity; 8] = [
        Entity::Companies,
        Entity::Contacts,
        Entity::CompanyLocations,
        Entity::ConfigurationItems,
        Entity::ConfigurationItemTypes,
        Entity::Resources,
        Entity::Tickets,
        Entity::TicketNotes,
    ];

    /// The path segment, as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Entity::Companies => "Companies",
            Entity::Contacts => "Contacts",
            Entity::CompanyLocations => "CompanyLocations",
            Entity::ConfigurationItems => "ConfigurationItems",
            Entity::ConfigurationItemTypes => "ConfigurationItemTypes",
            Entity::Resources => "Resources",
            Entity::Tickets => "Tickets",
            Entity::TicketNotes => "TicketNotes",
        }
    }

    /// Case-insensitive.
    pub fn parse(segment: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.name().eq_ignore_ascii_case(segment))
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Every field of the entity's model that the simulator renders.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Entity::Companies => &[
                "id",
                "companyName",
                "companyNumber",
                "companyType",
                "isActive",
                "ownerResourceID",
                "parentCompanyID",
                "phone",
                "address1",
                "city",
                "state",
                "postalCode",
                "webAddress",
                "createDate",
                "lastActivityDate",
                "lastTrackedModifiedDateTime",
                "userDefinedFields",
            ],
            Entity::Contacts => &[
                "id",
                "companyID",
                "companyLocationID",
                "firstName",
                "lastName",
                "emailAddress",
                "isActive",
                "phone",
                "title",
                "createDate",
                "lastActivityDate",
                "lastModifiedDate",
                "userDefinedFields",
            ],
            Entity::CompanyLocations => &[
                "id",
                "companyID",
                "name",
                "description",
                "address1",
                "address2",
                "city",
                "state",
                "postalCode",
                "countryID",
                "phone",
                "isActive",
                "isPrimary",
                "isTaxExempt",
            ],
            Entity::ConfigurationItems => &[
                "id",
                "companyID",
                "companyLocationID",
                "configurationItemType",
                "configurationItemCategoryID",
                "productID",
                "isActive",
                "referenceTitle",
                "referenceNumber",
                "serialNumber",
                "rmmDeviceID",
                "rmmDeviceUID",
                "rmmDeviceAuditHostname",
                "rmmDeviceAuditOperatingSystem",
                "createDate",
                "lastModifiedTime",
                "userDefinedFields",
            ],
            Entity::ConfigurationItemTypes => &["id", "name", "isActive"],
            Entity::Resources => &[
                "id",
                "firstName",
                "lastName",
                "email",
                "userName",
                "title",
                "resourceType",
                "isActive",
                "userDefinedFields",
            ],
            Entity::Tickets => &[
                "id",
                "ticketNumber",
                "companyID",
                "companyLocationID",
                "configurationItemID",
                "contactID",
                "title",
                "description",
                "status",
                "priority",
                "queueID",
                "issueType",
                "subIssueType",
                "billingCodeID",
                "source",
                "ticketType",
                "ticketCategory",
                "rmmAlertID",
                "externalID",
                "monitorID",
                "monitorTypeID",
                "assignedResourceID",
                "assignedResourceRoleID",
                "resolution",
                "createDate",
                "dueDateTime",
                "completedDate",
                "lastActivityDate",
                "lastTrackedModificationDateTime",
                "userDefinedFields",
            ],
            Entity::TicketNotes => &[
                "id",
                "ticketID",
                "title",
                "description",
                "noteType",
                "publish",
                "creatorResourceID",
                "createDateTime",
                "lastActivityDate",
            ],
        }
    }

    /// The wire spelling of a field, matched case-insensitively.
    pub fn field(self, name: &str) -> Option<&'static str> {
        self.fields().iter().copied().find(|f| f.eq_ignore_ascii_case(name))
    }
}

/// A picklist value of `/Tickets/entityInformation/fields`.
#[derive(Debug, Clone)]
pub struct Pick {
    pub value: i64,
    pub label: &'static str,
    pub parent: Option<i64>,
}

const fn pick(value: i64, label: &'static str) -> Pick {
    Pick {
        value,
        label,
        parent: None,
    }
}

pub const STATUSES: &[Pick] = &[
    pick(1, "New"),
    pick(5, "Complete"),
    pick(7, "Waiting Customer"),
    pick(8, "In Progress"),
    pick(9, "Waiting Materials"),
    pick(10, "Dispatched"),
    pick(11, "Escalate"),
    pick(12, "Waiting Vendor"),
    pick(13, "Waiting Approval"),
];
pub const PRIORITIES: &[Pick] = &[pick(1, "High"), pick(2, "Medium"), pick(3, "Low"), pick(4, "Critical")];
pub const QUEUES: &[Pick] = &[
    pick(5, "Client Portal"),
    pick(6, "Post Sale"),
    pick(8, "Monitoring Alert"),
    pick(29683481, "Level I Support"),
    pick(29683482, "Level II Support"),
];
pub const ISSUE_TYPES: &[Pick] = &[
    pick(1, "Hardware"),
    pick(2, "Software"),
    pick(3, "Network"),
    pick(4, "Monitoring"),
];
pub const SUB_ISSUE_TYPES: &[Pick] = &[
    Pick {
        value: 101,
        label: "Disk",
        parent: Some(1),
    },
    Pick {
        value: 102,
        label: "Memory",
        parent: Some(1),
    },
    Pick {
        value: 201,
        label: "Patching",
        parent: Some(2),
    },
    Pick {
        value: 202,
        label: "Antivirus",
        parent: Some(2),
    },
    Pick {
        value: 301,
        label: "Connectivity",
        parent: Some(3),
    },
    Pick {
        value: 401,
        label: "RMM Alert",
        parent: Some(4),
    },
];
pub const SOURCES: &[Pick] = &[
    pick(-1, "Insourced"),
    pick(2, "Phone"),
    pick(4, "Email"),
    pick(8, "Monitoring Alert"),
    pick(11, "Client Portal"),
];
pub const TICKET_TYPES: &[Pick] = &[pick(1, "Service Request"), pick(2, "Incident"), pick(5, "Alert")];
/// `ConfigurationItemTypes` rows.
pub const CI_TYPES: &[(i64, &str)] = &[
    (1, "Workstation"),
    (2, "Server"),
    (3, "Printer"),
    (4, "Network Device"),
    (5, "Virtual Machine"),
    (6, "Mobile Device"),
];

pub const COMPLETE: i64 = 5;

/// Picklists by ticket field name.
pub fn ticket_picklist(field: &str) -> Option<&'static [Pick]> {
    Some(match field {
        "status" => STATUSES,
        "priority" => PRIORITIES,
        "queueID" => QUEUES,
        "issueType" => ISSUE_TYPES,
        "subIssueType" => SUB_ISSUE_TYPES,
        "source" => SOURCES,
        "ticketType" => TICKET_TYPES,
        _ => return None,
    })
}

/// Sizes and knobs of the generator.
#[derive(Debug, Clone)]
pub(crate) struct GenParams {
    pub seed: u64,
    pub companies: usize,
    pub max_contacts_per_company: usize,
    pub max_cis_per_company: usize,
    pub resources: usize,
    pub tickets: usize,
    pub reference_ms: i64,
    pub contacts_active_as_int: bool,
}

pub(crate) struct Table {
    pub rows: BTreeMap<i64, Row>,
    pub next_id: i64,
}

pub(crate) struct Data {
    tables: Vec<Table>,
    ticket_seq: u64,
    contacts_active_as_int: bool,
}

use crate::time::DAY_MS;

/// `yyyy-mm-ddThh:mm:ss.mmmZ`, UTC: Autotask's date-time format.
pub use crate::time::iso_millis as iso;
pub use crate::time::{now_ms, today_start_ms};

/// A row with every field of `entity`, `null` where `values` has nothing.
fn row(entity: Entity, values: Value) -> Row {
    let mut given = match values {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut out = Map::new();
    for f in entity.fields() {
        let v = given.remove(*f).unwrap_or(if *f == "userDefinedFields" {
            json!([])
        } else {
            Value::Null
        });
        out.insert((*f).to_string(), v);
    }
    out
}

fn id_of(row: &Row) -> i64 {
    row.get("id").and_then(Value::as_i64).unwrap_or(0)
}

pub(crate) fn first_ids(entity: Entity) -> i64 {
    match entity {
        Entity::Companies => 174,
        Entity::Contacts => 30_682_100,
        Entity::CompanyLocations => 10,
        Entity::ConfigurationItems => 5_000,
        Entity::ConfigurationItemTypes => 1,
        Entity::Resources => 29_682_885,
        Entity::Tickets => 7_100,
        Entity::TicketNotes => 30_777_000,
    }
}

impl Data {
    fn empty(contacts_active_as_int: bool) -> Data {
        Data {
            tables: Entity::ALL
                .iter()
                .map(|e| Table {
                    rows: BTreeMap::new(),
                    next_id: first_ids(*e),
                })
                .collect(),
            ticket_seq: 0,
            contacts_active_as_int,
        }
    }

    pub fn table(&self, entity: Entity) -> &Table {
        &self.tables[entity.index()]
    }

    pub fn table_mut(&mut self, entity: Entity) -> &mut Table {
        &mut self.tables[entity.index()]
    }

    pub fn get(&self, entity: Entity, id: i64) -> Option<&Row> {
        self.table(entity).rows.get(&id)
    }

    pub fn get_mut(&mut self, entity: Entity, id: i64) -> Option<&mut Row> {
        self.table_mut(entity).rows.get_mut(&id)
    }

    /// Inserts a row built from `values` (camelCase keys); returns its new id.
    pub fn insert(&mut self, entity: Entity, mut values: Value) -> i64 {
        let table = self.table_mut(entity);
        let id = table.next_id;
        table.next_id += 1 + (id % 3 == 0) as i64; // ids are increasing, with gaps
        if let Value::Object(m) = &mut values {
            m.insert("id".into(), json!(id));
        }
        table.rows.insert(id, row(entity, values));
        id
    }

    pub fn active_value(&self, entity: Entity, active: bool) -> Value {
        if entity == Entity::Contacts && self.contacts_active_as_int {
            json!(i64::from(active))
        } else {
            json!(active)
        }
    }

    pub fn next_ticket_number(&mut self, at_ms: i64) -> String {
        self.ticket_seq += 1;
        format!("T{}.{:04}", iso(at_ms)[..10].replace('-', ""), self.ticket_seq)
    }

    pub fn generate(p: &GenParams) -> Data {
        let mut d = Data::empty(p.contacts_active_as_int);
        let r = p.reference_ms;
        let ago = |rng: &mut Rng, max_days: i64| r - rng.range(0, max_days * DAY_MS);

        for (id, name) in CI_TYPES {
            d.table_mut(Entity::ConfigurationItemTypes).rows.insert(
                *id,
                row(
                    Entity::ConfigurationItemTypes,
                    json!({"id": id, "name": name, "isActive": true}),
                ),
            );
        }
        d.table_mut(Entity::ConfigurationItemTypes).next_id = CI_TYPES.len() as i64 + 1;

        let mut rng = Rng::derive(p.seed, 0xA7_0001);
        let mut resource_ids = Vec::new();
        for i in 0..p.resources {
            let first = *rng.pick(names::FIRST_NAMES);
            let last = *rng.pick(names::SURNAMES);
            let active = i == 0 || rng.chance(0.85);
            let user = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
            let id = d.insert(
                Entity::Resources,
                json!({
                    "firstName": first,
                    "lastName": last,
                    "email": format!("{user}@msp.example"),
                    "userName": user,
                    "title": rng.pick(&["Technician", "Service Manager", "Engineer", "Dispatcher"]),
                    "resourceType": "Employee",
                    "isActive": active,
                }),
            );
            resource_ids.push(id);
        }

        let mut company_ids = Vec::new();
        let mut last_name = String::new();
        for _ in 0..p.companies {
            let mut crng = Rng::derive(p.seed, 0xC0_0000 + company_ids.len() as u64);
            let name = match crng.below(100) {
                // Exact duplicates and near-duplicates of the previous company.
                0..=3 if !last_name.is_empty() => last_name.clone(),
                4..=8 if !last_name.is_empty() => names::company_name_variant(&mut crng, &last_name),
                _ => {
                    let base = names::client_name(&mut crng).1;
                    names::company_name_variant(&mut crng, &base)
                }
            };
            last_name = name.clone();
            let company_type = *crng.weighted(&[(1_i64, 80), (3, 12), (7, 8)]);
            let active = crng.chance(0.9);
            let town = *crng.pick(names::TOWNS);
            let created = ago(&mut crng, 2000);
            let modified = created.max(ago(&mut crng, 400));
            let cid = d.insert(
                Entity::Companies,
                json!({
                    "companyName": name,
                    "companyNumber": format!("{}", 1000 + company_ids.len()),
                    "companyType": company_type,
                    "isActive": active,
                    "ownerResourceID": resource_ids.first(),
                    "phone": format!("555-{:04}", crng.below(10_000)),
                    "address1": format!("{} Main St", crng.range(1, 999)),
                    "city": town,
                    "state": "OH",
                    "postalCode": format!("{:05}", crng.below(100_000)),
                    "webAddress": format!("www.{}.example", names::abbreviation(&name).to_lowercase()),
                    "createDate": iso(created),
                    "lastActivityDate": iso(modified),
                    "lastTrackedModifiedDateTime": iso(modified),
                }),
            );
            company_ids.push(cid);

            let locations = 1 + crng.chance(0.2) as usize;
            let mut location_ids = Vec::new();
            for l in 0..locations {
                let lid = d.insert(
                    Entity::CompanyLocations,
                    json!({
                        "companyID": cid,
                        "name": if l == 0 { "Primary".to_string() } else { format!("{town} Office") },
                        "address1": format!("{} Oak Ave", crng.range(1, 999)),
                        "city": town,
                        "state": "OH",
                        "postalCode": format!("{:05}", crng.below(100_000)),
                        "countryID": 237,
                        "isActive": l == 0 || crng.chance(0.8),
                        "isPrimary": l == 0,
                        "isTaxExempt": false,
                    }),
                );
                location_ids.push(lid);
            }

            let contacts = crng.index(p.max_contacts_per_company + 1);
            for _ in 0..contacts {
                let first = *crng.pick(names::FIRST_NAMES);
                let last = *crng.pick(names::SURNAMES);
                let active = crng.chance(0.9);
                let modified = ago(&mut crng, 500);
                let active = d.active_value(Entity::Contacts, active);
                d.insert(
                    Entity::Contacts,
                    json!({
                        "companyID": cid,
                        "companyLocationID": location_ids[0],
                        "firstName": first,
                        "lastName": last,
                        "emailAddress": if crng.chance(0.85) {
                            Value::from(format!("{}.{}@client{cid}.example", first.to_lowercase(), last.to_lowercase()))
                        } else { Value::Null },
                        "isActive": active,
                        "phone": format!("555-{:04}", crng.below(10_000)),
                        "title": crng.pick(&["Office Manager", "Owner", "Bookkeeper", "Receptionist", "Partner"]),
                        "createDate": iso(modified - DAY_MS),
                        "lastActivityDate": iso(modified),
                        "lastModifiedDate": iso(modified),
                    }),
                );
            }

            let cis = crng.index(p.max_cis_per_company + 1);
            let abbr = names::abbreviation(&name);
            for _ in 0..cis {
                let kind = *crng.weighted(names::KIND_WEIGHTS);
                let ci_type = match kind {
                    names::Kind::Desktop | names::Kind::Laptop => 1,
                    names::Kind::Server => 2,
                    names::Kind::Printer => 3,
                    names::Kind::Network => 4,
                    names::Kind::Esxi => 5,
                    names::Kind::Other => 6,
                };
                let host = names::hostname(&mut crng, kind, &abbr, "corp.local", false);
                let with_rmm = crng.chance(0.6);
                let titled = crng.chance(0.95);
                let serial = names::serial_number(&mut crng, names::SerialStyle::Generic);
                let modified = ago(&mut crng, 300);
                let rmm_uid = with_rmm.then(|| crng.guid());
                d.insert(
                    Entity::ConfigurationItems,
                    json!({
                        "companyID": cid,
                        "companyLocationID": location_ids[0],
                        "configurationItemType": ci_type,
                        "configurationItemCategoryID": 1,
                        "productID": 100 + ci_type,
                        "isActive": crng.chance(0.92),
                        "referenceTitle": if titled { Value::from(host.clone()) } else { Value::Null },
                        "serialNumber": if crng.chance(0.9) { Value::from(serial) } else { Value::Null },
                        "rmmDeviceID": if with_rmm { Value::from(crng.range(100_000, 999_999)) } else { Value::Null },
                        "rmmDeviceUID": rmm_uid,
                        "rmmDeviceAuditHostname": if with_rmm { Value::from(host) } else { Value::Null },
                        "createDate": iso(modified - 30 * DAY_MS),
                        "lastModifiedTime": iso(modified),
                    }),
                );
            }
        }

        let mut trng = Rng::derive(p.seed, 0x71_0001);
        for _ in 0..p.tickets {
            if company_ids.is_empty() {
                break;
            }
            let cid = *trng.pick(&company_ids);
            let created = ago(&mut trng, 90);
            let status = *trng.weighted(&[(1_i64, 30), (5, 40), (8, 20), (7, 10)]);
            let alert = trng.chance(0.5).then(|| trng.guid());
            let number = d.next_ticket_number(created);
            let tid = d.insert(
                Entity::Tickets,
                json!({
                    "ticketNumber": number,
                    "companyID": cid,
                    "title": format!("{} on {}", trng.pick(&["Disk space low", "Printer offline", "Cannot print", "Backup failed", "New user setup", "AV definitions out of date"]), names::abbreviation(&format!("{cid}"))),
                    "description": "Generated by the simulator.",
                    "status": status,
                    "priority": trng.range(1, 4),
                    "queueID": trng.pick(QUEUES).value,
                    "issueType": 1,
                    "subIssueType": 101,
                    "source": 8,
                    "ticketType": 1,
                    "ticketCategory": 3,
                    "rmmAlertID": alert,
                    "createDate": iso(created),
                    "completedDate": if status == COMPLETE { Value::from(iso(created + DAY_MS)) } else { Value::Null },
                    "lastActivityDate": iso(created),
                    "lastTrackedModificationDateTime": iso(created),
                }),
            );
            for n in 0..trng.index(3) {
                d.insert(
                    Entity::TicketNotes,
                    json!({
                        "ticketID": tid,
                        "title": format!("Update {}", n + 1),
                        "description": "Looked into it.",
                        "noteType": 1,
                        "publish": 1,
                        "creatorResourceID": resource_ids.first(),
                        "createDateTime": iso(created + (n as i64 + 1) * 3_600_000),
                    }),
                );
            }
        }
        d
    }

    /// Rows of `entity` matching `keep`, in id order.
    pub fn rows(&self, entity: Entity) -> impl Iterator<Item = &Row> {
        self.table(entity).rows.values()
    }

    pub fn ids_of(&self, entity: Entity) -> Vec<i64> {
        self.rows(entity).map(id_of).collect()
    }
}

/// A ticket, typed for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct SimTicket {
    pub id: i64,
    pub ticket_number: String,
    pub company_id: i64,
    pub configuration_item_id: Option<i64>,
    pub title: String,
    pub description: Option<String>,
    pub status: i64,
    pub priority: Option<i64>,
    pub queue_id: Option<i64>,
    pub issue_type: Option<i64>,
    pub sub_issue_type: Option<i64>,
    pub billing_code_id: Option<i64>,
    pub source: Option<i64>,
    pub rmm_alert_id: Option<String>,
    pub resolution: Option<String>,
    /// `userDefinedFields` as `(name, value)`.
    pub udfs: Vec<(String, String)>,
}

/// A ticket note, typed for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct SimNote {
    pub id: i64,
    pub ticket_id: i64,
    pub title: Option<String>,
    pub description: String,
    pub note_type: Option<i64>,
    pub publish: Option<i64>,
}

/// A company, typed for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct SimCompany {
    pub id: i64,
    pub name: String,
    pub company_type: i64,
    pub active: bool,
}

fn s(row: &Row, f: &str) -> Option<String> {
    row.get(f).and_then(Value::as_str).map(str::to_string)
}

fn n(row: &Row, f: &str) -> Option<i64> {
    row.get(f).and_then(Value::as_i64)
}

pub(crate) fn udfs(row: &Row) -> Vec<(String, String)> {
    row.get("userDefinedFields")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|u| {
                    let name = u.get("name")?.as_str()?.to_string();
                    let value = match u.get("value")? {
                        Value::Null => return None,
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    Some((name, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl SimTicket {
    pub(crate) fn from_row(row: &Row) -> SimTicket {
        SimTicket {
            id: id_of(row),
            ticket_number: s(row, "ticketNumber").unwrap_or_default(),
            company_id: n(row, "companyID").unwrap_or(0),
            configuration_item_id: n(row, "configurationItemID"),
            title: s(row, "title").unwrap_or_default(),
            description: s(row, "description"),
            status: n(row, "status").unwrap_or(0),
            priority: n(row, "priority"),
            queue_id: n(row, "queueID"),
            issue_type: n(row, "issueType"),
            sub_issue_type: n(row, "subIssueType"),
            billing_code_id: n(row, "billingCodeID"),
            source: n(row, "source"),
            rmm_alert_id: s(row, "rmmAlertID"),
            resolution: s(row, "resolution"),
            udfs: udfs(row),
        }
    }
}

impl SimNote {
    pub(crate) fn from_row(row: &Row) -> SimNote {
        SimNote {
            id: id_of(row),
            ticket_id: n(row, "ticketID").unwrap_or(0),
            title: s(row, "title"),
            description: s(row, "description").unwrap_or_default(),
            note_type: n(row, "noteType"),
            publish: n(row, "publish"),
        }
    }
}

impl SimCompany {
    pub(crate) fn from_row(row: &Row) -> SimCompany {
        SimCompany {
            id: id_of(row),
            name: s(row, "companyName").unwrap_or_default(),
            company_type: n(row, "companyType").unwrap_or(0),
            active: row.get("isActive").and_then(Value::as_bool).unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(seed: u64) -> GenParams {
        GenParams {
            seed,
            companies: 40,
            max_contacts_per_company: 4,
            max_cis_per_company: 6,
            resources: 5,
            tickets: 30,
            reference_ms: 1_790_000_000_000,
            contacts_active_as_int: true,
        }
    }

    #[test]
    fn deterministic_complete_rows_and_int_active_on_contacts() {
        let a = Data::generate(&params(3));
        let b = Data::generate(&params(3));
        for e in Entity::ALL {
            let ra: Vec<_> = a.rows(e).cloned().collect();
            let rb: Vec<_> = b.rows(e).cloned().collect();
            assert_eq!(ra, rb, "{e:?}");
            for r in &ra {
                assert_eq!(r.len(), e.fields().len(), "{e:?}");
            }
        }
        assert_eq!(a.table(Entity::Companies).rows.len(), 40);
        assert!(a.rows(Entity::Contacts).all(|c| c["isActive"].is_i64()));
        assert!(a.rows(Entity::Companies).all(|c| c["isActive"].is_boolean()));
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
