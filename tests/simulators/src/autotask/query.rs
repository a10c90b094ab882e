//! The query language of `POST /{Entity}/query` : a `QueryModel` with
//! `filter`, `maxRecords` and `includeFields` (keys case-insensitive), filters
//! `{op, field, udf, value, items}` with the operators `eq, noteq, gt, gte, lt, lte, beginsWith,
//! endsWith, contains, exist, notExist, in, notIn` and nestable `and`/`or` groups. The top-level
//! filter list is an AND. Field names are case-insensitive; an unknown field or operator, or an
//! empty filter, is refused (HTTP 500 `{"errors":[...]}` in the routes).
//!
//! Comparison semantics (UNCONFIRMED details, chosen to match SQL Server behind the API):
//! strings compare case-insensitively; numbers numerically (a numeric string value is accepted
//! for a number field); a `null` field matches nothing but `notExist`.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::model::{Entity, Row, udfs};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Cmp {
        op: FilterOp,
        /// Wire name of the field, or the UDF name when `udf`.
        field: String,
        udf: bool,
        value: Value,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterOp {
    Eq,
    NotEq,
    Gt,
    Gte,
    Lt,
    Lte,
    BeginsWith,
    EndsWith,
    Contains,
    Exist,
    NotExist,
    In,
    NotIn,
}

#[derive(Debug, Clone)]
pub(crate) struct QueryModel {
    pub filter: Filter,
    pub max_records: Option<i64>,
    pub include_fields: Option<Vec<&'static str>>,
    /// The filter as sent (to recognise the same query on the next page).
    pub fingerprint: u64,
}

/// Case-insensitive key lookup in a JSON object.
pub(crate) fn get_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key)
        .or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn op(name: &str) -> Option<FilterOp> {
    Some(match name.to_ascii_lowercase().as_str() {
        "eq" => FilterOp::Eq,
        "noteq" => FilterOp::NotEq,
        "gt" => FilterOp::Gt,
        "gte" => FilterOp::Gte,
        "lt" => FilterOp::Lt,
        "lte" => FilterOp::Lte,
        "beginswith" => FilterOp::BeginsWith,
        "endswith" => FilterOp::EndsWith,
        "contains" => FilterOp::Contains,
        "exist" => FilterOp::Exist,
        "notexist" => FilterOp::NotExist,
        "in" => FilterOp::In,
        "notin" => FilterOp::NotIn,
        _ => return None,
    })
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn parse_filter(entity: Entity, v: &Value) -> Result<Filter, String> {
    let m = v.as_object().ok_or("Each filter must be an object.")?;
    let op_name = get_ci(m, "op")
        .and_then(Value::as_str)
        .ok_or("A filter needs an 'op'.")?;
    match op_name.to_ascii_lowercase().as_str() {
        "and" | "or" => {
            let items = get_ci(m, "items")
                .and_then(Value::as_array)
                .filter(|i| !i.is_empty())
                .ok_or_else(|| format!("The '{op_name}' grouping needs 'items'."))?;
            let items = items
                .iter()
                .map(|i| parse_filter(entity, i))
                .collect::<Result<_, _>>()?;
            Ok(if op_name.eq_ignore_ascii_case("and") {
                Filter::And(items)
            } else {
                Filter::Or(items)
            })
        }
        _ => {
            let op = op(op_name).ok_or_else(|| format!("Unknown filter operator '{op_name}'."))?;
            let field = get_ci(m, "field")
                .and_then(Value::as_str)
                .ok_or("A filter needs a 'field'.")?;
            let udf = get_ci(m, "udf").and_then(Value::as_bool).unwrap_or(false);
            let field = if udf {
                field.to_string()
            } else {
                entity
                    .field(field)
                    .filter(|f| *f != "userDefinedFields")
                    .ok_or_else(|| format!("Unable to find {field} in the {} entity.", entity.name()))?
                    .to_string()
            };
            let value = get_ci(m, "value").cloned().unwrap_or(Value::Null);
            let list = matches!(op, FilterOp::In | FilterOp::NotIn);
            let valid = match op {
                FilterOp::Exist | FilterOp::NotExist => true,
                _ if list => value.is_array(),
                _ => !(value.is_null() || value.is_array() || value.is_object()),
            };
            if !valid {
                let shape = if list { "a list value" } else { "a single value" };
                return Err(format!("The '{op_name}' operator needs {shape} (field {field})."));
            }
            Ok(Filter::Cmp { op, field, udf, value })
        }
    }
}

/// Parses a `QueryModel` body (the `search=` JSON of GET queries too).
pub(crate) fn parse(entity: Entity, body: &Value) -> Result<QueryModel, String> {
    let m = body.as_object().ok_or("The query must be a JSON object.")?;
    let raw = get_ci(m, "filter").cloned().unwrap_or(Value::Null);
    let list = match &raw {
        Value::Array(a) if !a.is_empty() => a,
        _ => return Err("The query must include a non-empty 'filter'.".into()),
    };
    let items = list
        .iter()
        .map(|f| parse_filter(entity, f))
        .collect::<Result<Vec<_>, _>>()?;
    let max_records =
        get_ci(m, "maxRecords").and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())));
    let include_fields = match get_ci(m, "includeFields").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {
            let mut fields = Vec::new();
            for f in list {
                let name = f.as_str().unwrap_or("");
                let wire = entity
                    .field(name)
                    .ok_or_else(|| format!("Unable to find {name} in the {} entity.", entity.name()))?;
                fields.push(wire);
            }
            Some(fields)
        }
        _ => None,
    };
    Ok(QueryModel {
        filter: Filter::And(items),
        max_records,
        include_fields,
        fingerprint: fnv(raw.to_string().as_bytes()),
    })
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Orders a field's value against a filter value; `None` when they cannot be compared.
fn compare(field: &Value, value: &Value) -> Option<Ordering> {
    match field {
        Value::Null => None,
        Value::Bool(b) => as_bool(value).map(|v| b.cmp(&v)),
        Value::Number(_) => {
            let (a, b) = (as_f64(field)?, as_f64(value)?);
            a.partial_cmp(&b)
        }
        _ => Some(as_text(field)?.cmp(&as_text(value)?)),
    }
}

fn field_value(row: &Row, field: &str, udf: bool) -> Value {
    if udf {
        udfs(row)
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(field))
            .map(|(_, v)| Value::String(v))
            .unwrap_or(Value::Null)
    } else {
        row.get(field).cloned().unwrap_or(Value::Null)
    }
}

pub(crate) fn matches(f: &Filter, row: &Row) -> bool {
    match f {
        Filter::And(items) => items.iter().all(|i| matches(i, row)),
        Filter::Or(items) => items.iter().any(|i| matches(i, row)),
        Filter::Cmp { op, field, udf, value } => {
            let fv = field_value(row, field, *udf);
            let present = !fv.is_null() && fv.as_str() != Some("");
            match op {
                FilterOp::Exist => present,
                FilterOp::NotExist => !present,
                FilterOp::Eq => compare(&fv, value) == Some(Ordering::Equal),
                FilterOp::NotEq => compare(&fv, value).is_some_and(|o| o != Ordering::Equal),
                FilterOp::Gt => compare(&fv, value) == Some(Ordering::Greater),
                FilterOp::Gte => compare(&fv, value).is_some_and(|o| o != Ordering::Less),
                FilterOp::Lt => compare(&fv, value) == Some(Ordering::Less),
                FilterOp::Lte => compare(&fv, value).is_some_and(|o| o != Ordering::Greater),
                FilterOp::In | FilterOp::NotIn => {
                    if fv.is_null() {
                        return false;
                    }
                    let list = value.as_array().map(Vec::as_slice).unwrap_or(&[]);
                    let found = list.iter().any(|v| compare(&fv, v) == Some(Ordering::Equal));
                    found == (*op == FilterOp::In)
                }
                FilterOp::BeginsWith | FilterOp::EndsWith | FilterOp::Contains => {
                    let (Some(hay), Some(needle)) = (as_text(&fv), as_text(value)) else {
                        return false;
                    };
                    match op {
                        FilterOp::BeginsWith => hay.starts_with(&needle),
                        FilterOp::EndsWith => hay.ends_with(&needle),
                        _ => hay.contains(&needle),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn company() -> Row {
        json!({"id": 7, "companyName": "Harper & Sons", "companyType": 1, "isActive": true,
               "phone": null, "userDefinedFields": [{"name": "RMM Site", "value": "abc"}]})
        .as_object()
        .unwrap()
        .clone()
    }

    fn q(v: Value) -> Result<QueryModel, String> {
        parse(Entity::Companies, &v)
    }

    fn hit(v: Value) -> bool {
        matches(&q(v).unwrap().filter, &company())
    }

    #[test]
    fn operators_and_groups() {
        assert!(hit(
            json!({"filter": [{"op": "eq", "field": "CompanyName", "value": "harper & sons"}]})
        ));
        assert!(hit(
            json!({"Filter": [{"op": "beginsWith", "field": "companyname", "value": "HARP"}]})
        ));
        assert!(hit(
            json!({"filter": [{"op": "contains", "field": "companyName", "value": "& s"}]})
        ));
        assert!(!hit(
            json!({"filter": [{"op": "endsWith", "field": "companyName", "value": "harp"}]})
        ));
        assert!(hit(
            json!({"filter": [{"op": "in", "field": "companyType", "value": [1, 3, 7]}]})
        ));
        assert!(!hit(
            json!({"filter": [{"op": "notIn", "field": "companyType", "value": [1]}]})
        ));
        assert!(hit(json!({"filter": [{"op": "gt", "field": "id", "value": "6"}]})));
        assert!(!hit(json!({"filter": [{"op": "lt", "field": "id", "value": 7}]})));
        assert!(hit(
            json!({"filter": [{"op": "lte", "field": "id", "value": 7}, {"op": "gte", "field": "id", "value": 7}]})
        ));
        assert!(hit(
            json!({"filter": [{"op": "eq", "field": "isActive", "value": "true"}]})
        ));
        assert!(hit(json!({"filter": [{"op": "notExist", "field": "phone"}]})));
        assert!(!hit(json!({"filter": [{"op": "exist", "field": "phone"}]})));
        assert!(!hit(
            json!({"filter": [{"op": "noteq", "field": "phone", "value": "x"}]})
        ));
        assert!(hit(
            json!({"filter": [{"op": "eq", "field": "RMM Site", "udf": true, "value": "ABC"}]})
        ));
        assert!(hit(json!({"filter": [{"op": "or", "items": [
            {"op": "eq", "field": "id", "value": 1},
            {"op": "and", "items": [{"op": "eq", "field": "id", "value": 7}, {"op": "noteq", "field": "companyType", "value": 3}]}
        ]}]})));
    }

    #[test]
    fn refusals() {
        assert!(q(json!({})).is_err());
        assert!(q(json!({"filter": []})).is_err());
        assert!(q(json!({"filter": [{"op": "eq", "field": "nope", "value": 1}]})).is_err());
        assert!(q(json!({"filter": [{"op": "like", "field": "id", "value": 1}]})).is_err());
        assert!(q(json!({"filter": [{"op": "in", "field": "id", "value": 1}]})).is_err());
        assert!(q(json!({"filter": [{"op": "or", "items": []}]})).is_err());
        let m =
            q(json!({"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 10, "includeFields": ["CompanyName"]}))
                .unwrap();
        assert_eq!(m.max_records, Some(10));
        assert_eq!(m.include_fields, Some(vec!["companyName"]));
    }
}
