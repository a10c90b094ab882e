//! The pure parts of the ticket round trip: reading webhook bodies, hook
//! tokens, the monitor key that decides "the same monitor on the same
//! device", the repeat window, priorities and ticket text.

use crate::datto::models::Alert;
use crate::tenant::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Datto priority → the PSA's priority id. Unset entries leave the PSA's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriorityMap {
    pub critical: Option<String>,
    pub high: Option<String>,
    pub moderate: Option<String>,
    pub low: Option<String>,
    pub information: Option<String>,
}

impl PriorityMap {
    /// The PSA priority for a Datto priority; unknown Datto values map like `Information`.
    pub fn map(&self, datto: Option<&str>) -> Option<String> {
        match datto.map(str::to_ascii_lowercase).as_deref() {
            Some("critical") => self.critical.clone(),
            Some("high") => self.high.clone(),
            Some("moderate") => self.moderate.clone(),
            Some("low") => self.low.clone(),
            _ => self.information.clone(),
        }
    }
}

/// A repeat window: `"30m"`, `"2h"`, `"90"` or `90` (minutes). 1 minute to 7 days.
pub fn parse_window(value: &Value) -> Result<u32, String> {
    let minutes = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let s = s.trim().to_ascii_lowercase();
            if let Some(h) = s.strip_suffix('h') {
                h.trim().parse::<u64>().ok().map(|h| h * 60)
            } else {
                s.strip_suffix('m').unwrap_or(&s).trim().parse::<u64>().ok()
            }
        }
        _ => None,
    };
    match minutes {
        Some(m @ 1..=10_080) => Ok(m as u32),
        _ => Err("`repeatWindow` must be minutes (e.g. 30, \"30m\") or hours (\"2h\"), from 1 minute to 7 days".into()),
    }
}

/// Whether an alert at `now` repeats one last seen at `last_alert_at`.
pub fn within_window(last_alert_at: i64, now: i64, window_minutes: u32) -> bool {
    now >= last_alert_at && now - last_alert_at <= i64::from(window_minutes) * 60_000
}

/// Datto uids are GUID-like; a body naming anything else is refused.
pub fn is_uid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The alert uid of a Datto RMM webhook body (rmmsync's template, or any body
/// with an `alertUid`-like field at the top or under `alert`).
pub fn alert_uid_from_hook(body: &[u8]) -> Result<String, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let object = value.as_object().ok_or("the body must be a JSON object")?;
    let lookup = |map: &serde_json::Map<String, Value>| {
        map.iter()
            .find(|(k, _)| {
                let k = k.to_ascii_lowercase().replace(['_', '-'], "");
                k == "alertuid" || k == "uid"
            })
            .and_then(|(_, v)| v.as_str().map(str::trim).map(str::to_owned))
    };
    let uid = lookup(object)
        .or_else(|| object.get("alert").and_then(Value::as_object).and_then(lookup))
        .ok_or("the body has no `alertUid`")?;
    if is_uid(&uid) {
        Ok(uid)
    } else {
        Err("`alertUid` is not a Datto RMM uid".into())
    }
}

/// The PSA ticket id of an Autotask extension callout. The callout's format
/// is UNCONFIRMED: JSON (any nesting under `ticket`/`entity`) and name-value
/// (form) bodies are read, with the usual spellings of the id field.
pub fn ticket_id_from_callout(body: &[u8], content_type: Option<&str>) -> Option<String> {
    const NAMES: [&str; 5] = ["ticketid", "id", "ticket", "ticketnumberid", "entityid"];
    let pick = |pairs: &mut dyn Iterator<Item = (String, String)>| {
        let pairs: Vec<(String, String)> = pairs.collect();
        NAMES.iter().find_map(|name| {
            pairs
                .iter()
                .find(|(k, _)| k.to_ascii_lowercase().replace(['_', '-', ' '], "") == *name)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    let looks_json = content_type.is_some_and(|c| c.contains("json"))
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if looks_json {
        let value: Value = serde_json::from_slice(body).ok()?;
        let mut objects = vec![&value];
        for key in ["ticket", "Ticket", "entity", "Entity", "data"] {
            if let Some(inner) = value.get(key) {
                objects.push(inner);
            }
        }
        return objects.into_iter().find_map(|o| {
            let map = o.as_object()?;
            pick(&mut map.iter().filter_map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some((k.clone(), text))
            }))
        });
    }
    let text = std::str::from_utf8(body).ok()?;
    pick(&mut text.split('&').filter_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        Some((form_decode(k), form_decode(v)))
    }))
}

fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// "The same monitor": the context class plus the context fields that name
/// what is watched (disk, service, process, event source...), never values
/// that change between firings (samples, free space).
pub fn monitor_key(alert: &Alert) -> String {
    let Some(context) = alert.alert_context.as_ref().and_then(Value::as_object) else {
        return "unknown".into();
    };
    let class = context.get("@class").and_then(Value::as_str).unwrap_or("unknown");
    let mut key = class.to_owned();
    for field in [
        "diskName",
        "diskDesignation",
        "serviceName",
        "processName",
        "logName",
        "source",
        "code",
        "type",
        "productName",
        "componentName",
        "monitorName",
    ] {
        if let Some(v) = context.get(field).filter(|v| v.is_string() || v.is_number()) {
            key.push('|');
            key.push_str(field);
            key.push('=');
            key.push_str(&v.to_string().trim_matches('"').to_ascii_lowercase());
        }
    }
    key
}

pub fn ticket_title(alert: &Alert) -> String {
    let source = alert.alert_source_info.as_ref();
    let device = source.and_then(|s| s.device_name.as_deref()).unwrap_or("a device");
    let class = alert
        .alert_context
        .as_ref()
        .and_then(|c| c.get("@class"))
        .and_then(Value::as_str)
        .map(|c| c.trim_end_matches("_ctx").replace('_', " "))
        .unwrap_or_else(|| "monitor".into());
    format!(
        "Datto RMM {} alert: {class} on {device}",
        alert.priority.as_deref().unwrap_or("Unknown")
    )
}

/// The ticket text: what fired, where, and the alert uid. Context values
/// are included as they are; UDFs are never part of an alert.
pub fn ticket_description(alert: &Alert, uid: &str) -> String {
    let source = alert.alert_source_info.clone().unwrap_or_default();
    let mut text = format!(
        "Datto RMM alert {uid}\nPriority: {}\nDevice: {} ({})\nSite: {}\n",
        alert.priority.as_deref().unwrap_or("Unknown"),
        source.device_name.as_deref().unwrap_or("?"),
        source.device_uid.as_deref().unwrap_or("?"),
        source.site_name.as_deref().unwrap_or("?"),
    );
    if let Some(d) = alert.diagnostics.as_deref().filter(|d| !d.trim().is_empty()) {
        text.push_str("\nDiagnostics:\n");
        text.push_str(d);
        text.push('\n');
    }
    if let Some(context) = &alert.alert_context {
        text.push_str("\nContext: ");
        text.push_str(&context.to_string());
        text.push('\n');
    }
    text
}

/// A new hook token: the tenant, then 256 random bits. The tenant part lets
/// an unauthenticated webhook find its tenant's items; the random part is
/// what proves it, and only its SHA-256 is stored.
pub fn new_hook_token(tenant: &TenantId) -> String {
    let random = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    format!("{tenant}.{random}")
}

/// The tenant a token claims, or `None` for anything not shaped like a token.
pub fn hook_token_tenant(token: &str) -> Option<TenantId> {
    let (tenant, random) = token.rsplit_once('.')?;
    if random.len() != 64 || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    TenantId::parse(tenant).ok()
}

/// The `SecretKey` of the Autotask ticket webhook registered with a hook token: HMAC-SHA256 of a
/// fixed label keyed by the token, as 64 hex characters (Autotask's limit). Nothing more is
/// stored: a delivery brings the token in its URL, so the key is derived again to check the
/// signature, and a new token (which re-registers the webhook) gives a new key.
pub fn autotask_webhook_key(token: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(token.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"rmmsync autotask ticket webhook v1");
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// The ticket id of an Autotask ticket webhook delivery (`Id`), and whether it is about a
/// ticket at all (`EntityType`) and not a deactivation notice (`Action`): `Err` says why not.
pub fn ticket_id_from_webhook(body: &[u8]) -> Result<Result<String, String>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the webhook body is not JSON: {e}"))?;
    let object = value.as_object().ok_or("the webhook body must be a JSON object")?;
    let field = |name: &str| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let text = |name: &str| {
        field(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    if text("Action").eq_ignore_ascii_case("deactivated") {
        return Ok(Err(
            "Autotask deactivated the webhook; a new hook token registers it again".into(),
        ));
    }
    let entity = text("EntityType");
    if !entity.is_empty() && !entity.eq_ignore_ascii_case("ticket") && !entity.eq_ignore_ascii_case("tickets") {
        return Ok(Err(format!(
            "not a ticket event ({})",
            entity.chars().take(40).collect::<String>()
        )));
    }
    if text("Action").eq_ignore_ascii_case("delete") {
        return Ok(Err("a deleted ticket resolves nothing".into()));
    }
    match field("Id") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n > 0) => Ok(Ok(n.to_string())),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Ok(s.clone()))
        }
        _ => Err("the webhook names no ticket `Id`".into()),
    }
}

pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares in time independent of where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn windows_read_minutes_and_hours() {
        assert_eq!(parse_window(&json!(30)), Ok(30));
        assert_eq!(parse_window(&json!("45m")), Ok(45));
        assert_eq!(parse_window(&json!("2h")), Ok(120));
        assert!(parse_window(&json!("0")).is_err());
        assert!(parse_window(&json!("8d")).is_err());
        assert!(parse_window(&json!(true)).is_err());
        assert!(within_window(0, 30 * 60_000, 30));
        assert!(!within_window(0, 30 * 60_000 + 1, 30));
        assert!(!within_window(10, 5, 30), "a clock going back is not a repeat");
    }

    #[test]
    fn alert_uids_come_from_any_usual_spelling_and_nothing_else() {
        assert_eq!(alert_uid_from_hook(br#"{"alertUid":"ab-12"}"#).unwrap(), "ab-12");
        assert_eq!(alert_uid_from_hook(br#"{"alert_uid":"ab-12"}"#).unwrap(), "ab-12");
        assert_eq!(alert_uid_from_hook(br#"{"alert":{"uid":"ab-12"}}"#).unwrap(), "ab-12");
        assert!(alert_uid_from_hook(br#"{"alertUid":"../../account"}"#).is_err());
        assert!(alert_uid_from_hook(b"[1,2]").is_err());
        assert!(alert_uid_from_hook(b"not json").is_err());
        assert!(alert_uid_from_hook(br#"{"other":1}"#).is_err());
    }

    #[test]
    fn callout_ticket_ids_from_json_and_form_bodies() {
        assert_eq!(ticket_id_from_callout(br#"{"id": 123}"#, None).as_deref(), Some("123"));
        assert_eq!(
            ticket_id_from_callout(
                br#"{"ticket": {"TicketID": "77", "Status": 5}}"#,
                Some("application/json")
            )
            .as_deref(),
            Some("77")
        );
        assert_eq!(
            ticket_id_from_callout(
                b"TicketNumber=T2026.1&TicketID=991&Status=5",
                Some("application/x-www-form-urlencoded")
            )
            .as_deref(),
            Some("991")
        );
        assert_eq!(ticket_id_from_callout(b"id=12%33", None).as_deref(), Some("123"));
        assert_eq!(ticket_id_from_callout(b"id=abc", None), None);
        assert_eq!(ticket_id_from_callout(b"{broken", Some("application/json")), None);
    }

    #[test]
    fn the_monitor_key_ignores_changing_values() {
        let alert = |free: i64| Alert {
            alert_context: Some(json!({"@class": "disk_usage_ctx", "diskName": "C:", "freeSpace": free})),
            ..Alert::default()
        };
        assert_eq!(monitor_key(&alert(10)), monitor_key(&alert(5)));
        let other_disk = Alert {
            alert_context: Some(json!({"@class": "disk_usage_ctx", "diskName": "D:"})),
            ..Alert::default()
        };
        assert_ne!(monitor_key(&alert(10)), monitor_key(&other_disk));
    }

    #[test]
    fn tokens_carry_their_tenant_and_compare_by_hash() {
        let tenant = TenantId::parse("msp-1").unwrap();
        let token = new_hook_token(&tenant);
        assert_eq!(hook_token_tenant(&token), Some(tenant));
        assert_eq!(hook_token_tenant("msp-1.short"), None);
        assert!(constant_time_eq(
            token_hash(&token).as_bytes(),
            token_hash(&token).as_bytes()
        ));
        assert!(!constant_time_eq(
            token_hash(&token).as_bytes(),
            token_hash("x").as_bytes()
        ));
    }

    #[test]
    fn priorities_map_known_and_unknown_values() {
        let map = PriorityMap {
            critical: Some("4".into()),
            information: Some("3".into()),
            ..PriorityMap::default()
        };
        assert_eq!(map.map(Some("Critical")).as_deref(), Some("4"));
        assert_eq!(map.map(Some("Brand-new-level")).as_deref(), Some("3"));
        assert_eq!(map.map(Some("High")), None);
    }
}
