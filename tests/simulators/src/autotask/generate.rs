//! The seeded fake data of the Autotask simulator (generator): companies (types 1/3/7, ~10 %
//! inactive, some exact and near-duplicate names), 1-2 locations each, contacts, configuration
//! items (~60 % with `rmmDeviceUID`, a few without `referenceTitle`), resources, tickets (half
//! with `rmmAlertID`) and notes.

use serde_json::{Value, json};

use super::model::*;
use crate::datto::names;
use crate::rng::Rng;
use crate::time::DAY_MS;

/// Sizes and knobs of the generator.
#[derive(Debug, Clone)]
pub(crate) struct AutotaskGenParams {
    pub seed: u64,
    pub companies: usize,
    pub max_contacts_per_company: usize,
    pub max_cis_per_company: usize,
    pub resources: usize,
    pub tickets: usize,
    pub reference_ms: i64,
    pub contacts_active_as_int: bool,
}

impl AutotaskStore {
    pub fn generate(p: &AutotaskGenParams) -> AutotaskStore {
        let mut d = AutotaskStore::empty(p.contacts_active_as_int);
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
        for (id, name, active, maker) in PRODUCTS {
            d.table_mut(Entity::Products).rows.insert(
                *id,
                row(
                    Entity::Products,
                    json!({"id": id, "name": name, "isActive": active, "manufacturerName": maker,
                           "productCategory": 1, "isSerialized": true}),
                ),
            );
        }
        d.table_mut(Entity::Products).next_id = PRODUCTS.iter().map(|p| p.0).max().unwrap_or(100) + 1;
        for (id, name, active, use_type) in BILLING_CODES {
            d.table_mut(Entity::BillingCodes).rows.insert(
                *id,
                row(
                    Entity::BillingCodes,
                    json!({"id": id, "name": name, "description": null, "isActive": active,
                           "useType": use_type, "billingCodeType": 0}),
                ),
            );
        }
        d.table_mut(Entity::BillingCodes).next_id = BILLING_CODES.iter().map(|b| b.0).max().unwrap_or(0) + 1;

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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(seed: u64) -> AutotaskGenParams {
        AutotaskGenParams {
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
        let a = AutotaskStore::generate(&params(3));
        let b = AutotaskStore::generate(&params(3));
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
