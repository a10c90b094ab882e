//! The simulated Autotask database (model): the entities and their fields, the ticket
//! picklists, one table per entity with rows kept as JSON objects with the API's camelCase field
//! names (every row of a table has every field of the table, `null` when unset) sorted by id,
//! and the typed views tests read. The seeded data it starts with comes from `generate.rs`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

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
    Products,
    /// Billing (allocation) codes; those with `useType` 1 are the work types a ticket's
    /// `billingCodeID` takes.
    BillingCodes,
}

impl Entity {
    pub const ALL: [Entity; 10] = [
        Entity::Companies,
        Entity::Contacts,
        Entity::CompanyLocations,
        Entity::ConfigurationItems,
        Entity::ConfigurationItemTypes,
        Entity::Resources,
        Entity::Tickets,
        Entity::TicketNotes,
        Entity::Products,
        Entity::BillingCodes,
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
            Entity::Products => "Products",
            Entity::BillingCodes => "BillingCodes",
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
                "rmmDeviceAuditIPAddress",
                "rmmDeviceAuditManufacturerID",
                "rmmDeviceAuditModelID",
                "warrantyExpirationDate",
                "createDate",
                "lastModifiedTime",
                "userDefinedFields",
            ],
            Entity::ConfigurationItemTypes => &["id", "name", "isActive"],
            Entity::BillingCodes => &["id", "name", "description", "isActive", "useType", "billingCodeType"],
            Entity::Products => &[
                "id",
                "name",
                "description",
                "isActive",
                "manufacturerName",
                "manufacturerProductName",
                "productCategory",
                "sku",
                "isSerialized",
                "userDefinedFields",
            ],
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

/// `Products` rows: (id, name, active, manufacturer). Generated configuration items use
/// product `100 + configurationItemType`.
/// Billing codes: (id, name, active, useType). Work types are `useType` 1; 2 is a material code.
pub const BILLING_CODES: &[(i64, &str, bool, i64)] = &[
    (29_682_801, "Remote Support", true, 1),
    (29_682_802, "Onsite Support", true, 1),
    (29_682_803, "Monitoring Response", true, 1),
    (29_682_804, "Legacy Labour (retired)", false, 1),
    (29_682_810, "Hardware", true, 2),
];

pub const PRODUCTS: &[(i64, &str, bool, &str)] = &[
    (101, "Managed Workstation", true, "Dell Inc."),
    (102, "Managed Server", true, "Dell Inc."),
    (103, "Printer", true, "HP"),
    (104, "Network Device", true, "Cisco"),
    (105, "Virtual Machine", true, "VMware, Inc."),
    (106, "Mobile Device", true, "Apple Inc."),
    (107, "Legacy Desktop (retired)", false, "Dell Inc."),
];
/// The `rmmDeviceAuditManufacturerID` picklist of ConfigurationItems.
pub const CI_MANUFACTURERS: &[Pick] = &[
    pick(1, "Dell Inc."),
    pick(2, "HP"),
    pick(3, "Lenovo"),
    pick(4, "VMware, Inc."),
    pick(5, "Microsoft Corporation"),
];
/// The `rmmDeviceAuditModelID` picklist of ConfigurationItems.
pub const CI_MODELS: &[Pick] = &[
    pick(11, "OptiPlex 7090"),
    pick(12, "PowerEdge R740"),
    pick(13, "HP ProDesk 600 G6"),
    pick(14, "ThinkPad T14"),
    pick(15, "VMware Virtual Platform"),
    pick(16, "Virtual Machine"),
];
/// The ConfigurationItems UDFs defined in the simulated tenant: (name, data type).
pub const CI_UDFS: &[(&str, &str)] = &[
    ("Asset Tag", "String"),
    ("Datto Site", "String"),
    ("Backup Policy", "String"),
];
/// ConfigurationItems fields required on create.
pub const CI_REQUIRED: &[&str] = &[
    "companyID",
    "productID",
    "configurationItemType",
    "isActive",
    "referenceTitle",
];
/// ConfigurationItems string lengths.
pub const CI_LENGTHS: &[(&str, usize)] = &[
    ("referenceTitle", 200),
    ("referenceNumber", 50),
    ("serialNumber", 100),
    ("rmmDeviceUID", 255),
    ("rmmDeviceAuditHostname", 255),
    ("rmmDeviceAuditOperatingSystem", 255),
    ("rmmDeviceAuditIPAddress", 100),
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

/// Picklists of ConfigurationItems fields: the CI type (the `ConfigurationItemTypes` rows),
/// the audit manufacturer and model.
pub fn ci_picklist(field: &str) -> Option<&'static [Pick]> {
    static TYPES: std::sync::OnceLock<Vec<Pick>> = std::sync::OnceLock::new();
    Some(match field {
        "configurationItemType" => TYPES
            .get_or_init(|| CI_TYPES.iter().map(|(id, name)| pick(*id, name)).collect())
            .as_slice(),
        "rmmDeviceAuditManufacturerID" => CI_MANUFACTURERS,
        "rmmDeviceAuditModelID" => CI_MODELS,
        _ => return None,
    })
}

pub(crate) struct EntityTable {
    pub rows: BTreeMap<i64, Row>,
    pub next_id: i64,
}

pub(crate) struct AutotaskStore {
    tables: Vec<EntityTable>,
    ticket_seq: u64,
    contacts_active_as_int: bool,
}

/// `yyyy-mm-ddThh:mm:ss.mmmZ`, UTC: Autotask's date-time format.
pub use crate::time::iso_millis as iso;
pub use crate::time::{now_ms, today_start_ms};

/// A row with every field of `entity`, `null` where `values` has nothing.
pub(super) fn row(entity: Entity, values: Value) -> Row {
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
        Entity::Products => 101,
        Entity::BillingCodes => 29_682_801,
    }
}

impl AutotaskStore {
    pub(super) fn empty(contacts_active_as_int: bool) -> AutotaskStore {
        AutotaskStore {
            tables: Entity::ALL
                .iter()
                .map(|e| EntityTable {
                    rows: BTreeMap::new(),
                    next_id: first_ids(*e),
                })
                .collect(),
            ticket_seq: 0,
            contacts_active_as_int,
        }
    }

    pub fn table(&self, entity: Entity) -> &EntityTable {
        &self.tables[entity.index()]
    }

    pub fn table_mut(&mut self, entity: Entity) -> &mut EntityTable {
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

    /// Rows of `entity`, in id order.
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
