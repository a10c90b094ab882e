//! ConfigurationItems writes: `POST /ConfigurationItems` (create → `{"itemId"}`) and
//! `PATCH /ConfigurationItems` (update by `id`), validated as Autotask answers them: HTTP 500
//! `{"errors":[...]}` for a missing required field ([`model::CI_REQUIRED`]), an unknown or
//! inactive product, an unknown company, a value outside a picklist (CI type, audit
//! manufacturer, audit model), a string over its length ([`model::CI_LENGTHS`]) or a UDF the
//! tenant does not define ([`model::CI_UDFS`]). `companyID` is ignored on update. UDFs are
//! merged by name: only the pairs sent change.
//!
//! A test can make the simulator lose the answers of the next creates
//! ([`super::AutotaskSim::lose_next_ci_create_answers`]): the item is created, then a plain-text
//! 500 goes back, as when a gateway times out after Autotask did the work; or fail the next
//! creates before doing anything ([`super::AutotaskSim::fail_next_ci_creates`]).

use std::sync::atomic::Ordering;

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::model::{self, Entity};
use super::routes::{AutotaskCtx, body_fields, int, ok, text, validation};

/// `GET /ConfigurationItems/entityInformation/userDefinedFields`.
pub(super) fn udf_definitions() -> Vec<Value> {
    model::CI_UDFS
        .iter()
        .enumerate()
        .map(|(i, (name, data_type))| {
            json!({"name": name, "label": name, "dataType": data_type, "isRequired": false,
                   "isActive": true, "isProtected": false, "sortOrder": i, "length": 100})
        })
        .collect()
}

fn missing(v: Option<&Value>) -> bool {
    v.is_none_or(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()))
}

/// Checks and normalises the fields present in `m` (create: also the required ones).
fn check(ctx: &AutotaskCtx<'_>, m: &mut Map<String, Value>, create: bool) -> Result<(), String> {
    if create {
        for f in model::CI_REQUIRED {
            if missing(m.get(*f)) {
                return Err(format!("Missing Required Field: {f}"));
            }
        }
    }
    if let Some(v) = m.get("isActive").filter(|v| !v.is_null())
        && !v.is_boolean()
    {
        return Err("Value for field isActive is not a boolean.".into());
    }
    for f in ["companyID", "productID", "rmmDeviceID", "companyLocationID"] {
        if let Some(v) = m.get(f).filter(|v| !v.is_null()) {
            let n = int(Some(v)).ok_or_else(|| format!("Value for field {f} is not an integer."))?;
            m.insert(f.into(), json!(n));
        }
    }
    for f in [
        "configurationItemType",
        "rmmDeviceAuditManufacturerID",
        "rmmDeviceAuditModelID",
    ] {
        let Some(v) = m.get(f).filter(|v| !v.is_null()) else {
            continue;
        };
        let n = int(Some(v)).ok_or_else(|| format!("Value for field {f} is not an integer."))?;
        let picks = model::ci_picklist(f).unwrap_or(&[]);
        if !picks.iter().any(|p| p.value == n) {
            return Err(format!("Value {n} does not exist in the picklist for field {f}."));
        }
        m.insert(f.into(), json!(n));
    }
    for (f, max) in model::CI_LENGTHS {
        if m.get(*f)
            .and_then(Value::as_str)
            .is_some_and(|s| s.chars().count() > *max)
        {
            return Err(format!("String value exceeds maximum length (field:{f})."));
        }
    }
    if let Some(v) = m.get("warrantyExpirationDate").filter(|v| !v.is_null()) {
        let ok = v.as_str().is_some_and(|s| {
            let d = s.get(..10).unwrap_or("");
            d.len() == 10 && d.as_bytes()[4] == b'-' && d.as_bytes()[7] == b'-'
        });
        if !ok {
            return Err("Value for field warrantyExpirationDate is not a date.".into());
        }
    }
    if let Some(v) = m.get("userDefinedFields").filter(|v| !v.is_null()) {
        let list = v
            .as_array()
            .ok_or("The userDefinedFields field must be an array of {name, value}.")?;
        for u in list {
            let name = u
                .get("name")
                .and_then(Value::as_str)
                .ok_or("Each user-defined field needs a name.")?;
            if !model::CI_UDFS.iter().any(|(n, _)| *n == name) {
                return Err(format!("User-defined field {name} does not exist."));
            }
        }
    }
    let data = ctx.sim.read();
    if let Some(c) = int(m.get("companyID"))
        && data.get(Entity::Companies, c).is_none()
    {
        return Err(format!(
            "Reference value on field: companyID of type: Company does not exist or is invalid ({c})."
        ));
    }
    if let Some(p) = int(m.get("productID")) {
        let active = data
            .get(Entity::Products, p)
            .is_some_and(|r| r.get("isActive").and_then(Value::as_bool) == Some(true));
        if !active {
            return Err(format!(
                "Reference value on field: productID of type: Product does not exist or is invalid ({p})."
            ));
        }
    }
    Ok(())
}

/// UDF pairs sent merged into the row's list by name.
fn merge_udfs(row: &mut Map<String, Value>, sent: Option<Value>) {
    let Some(Value::Array(sent)) = sent else {
        return;
    };
    let mut list = row
        .get("userDefinedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for u in sent {
        let name = u.get("name").cloned().unwrap_or(Value::Null);
        let value = u.get("value").cloned().unwrap_or(Value::Null);
        match list.iter_mut().find(|x| x.get("name") == Some(&name)) {
            Some(x) => x["value"] = value,
            None => list.push(json!({"name": name, "value": value})),
        }
    }
    row.insert("userDefinedFields".into(), Value::Array(list));
}

pub(super) fn create(ctx: &AutotaskCtx<'_>) -> Response {
    let sim = ctx.sim;
    let mut m = match body_fields(ctx, Entity::ConfigurationItems) {
        Ok(m) => m,
        Err(msg) => return validation(sim, &msg),
    };
    m.remove("id");
    if let Err(msg) = check(ctx, &mut m, true) {
        return validation(sim, &format!("{msg} | Error creating entity for record number [1]."));
    }
    let fail = sim
        .failed_ci_creates
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if fail {
        return text(500, "Service Unavailable");
    }
    let now = model::iso(model::now_ms());
    let udfs = m.remove("userDefinedFields");
    m.insert("createDate".into(), json!(now));
    m.insert("lastModifiedTime".into(), json!(now));
    m.entry("configurationItemCategoryID").or_insert(json!(1));
    let id = {
        let mut data = sim.write();
        let id = data.insert(Entity::ConfigurationItems, Value::Object(m));
        if let Some(row) = data.get_mut(Entity::ConfigurationItems, id) {
            merge_udfs(row, udfs);
        }
        id
    };
    let lose = sim
        .lost_ci_creates
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if lose {
        return text(500, "Service Unavailable");
    }
    ok(json!({ "itemId": id }))
}

pub(super) fn update(ctx: &AutotaskCtx<'_>) -> Response {
    let sim = ctx.sim;
    let mut m = match body_fields(ctx, Entity::ConfigurationItems) {
        Ok(m) => m,
        Err(msg) => return validation(sim, &msg),
    };
    let Some(id) = int(m.remove("id").as_ref()) else {
        return validation(sim, "The id field is required for an update.");
    };
    for f in ["companyID", "createDate", "lastModifiedTime"] {
        m.remove(f);
    }
    if let Err(msg) = check(ctx, &mut m, false) {
        return validation(sim, &format!("{msg} | Error updating entity for record number [1]."));
    }
    let mut data = sim.write();
    let Some(row) = data.get_mut(Entity::ConfigurationItems, id) else {
        return validation(sim, &format!("ConfigurationItems {id} does not exist or is invalid."));
    };
    let udfs = m.remove("userDefinedFields");
    for (k, v) in m {
        row.insert(k, v);
    }
    merge_udfs(row, udfs);
    row.insert("lastModifiedTime".into(), json!(model::iso(model::now_ms())));
    ok(json!({ "itemId": id }))
}
