//! Per-monitor ticket settings: for one kind of Datto RMM monitor, whether
//! its alerts open tickets at all and which ticket attributes replace the
//! integration's (priority; Autotask queue, issue and sub-issue type, work
//! type, source; ConnectWise board, type, subtype, item, statuses, source).
//!
//! What identifies a monitor: the `@class` of the alert's `alertContext` as
//! Datto RMM's API returns it (`perf_disk_usage_ctx`, `srvc_status_ctx`, ...),
//! compared without case and without the `_ctx` ending, so `"disk_usage"` and
//! `"disk_usage_ctx"` name the same monitor. It is read from the alert itself
//! (which every delivery reads back from Datto RMM, and the reconciler lists),
//! never from the webhook body, so a webhook and the reconciler decide alike.
//!
//! Pure: no I/O. Overrides are merged onto the integration's settings here;
//! they are checked against the PSA's lists in [`super::lists`].

use crate::datto::models::Alert;
use crate::psa::PsaTicketSettings;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// At most this many per-monitor entries per integration.
pub const MAX_MONITORS: usize = 200;
/// A monitor key is at most this long.
const MAX_KEY: usize = 100;

/// One monitor's settings; each field left out keeps the integration's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MonitorOverride {
    /// `false`: this monitor's alerts open no ticket (and add no note).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_tickets: Option<bool>,
    /// The PSA's priority id for this monitor's tickets, whatever the alert's priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autotask: Option<AutotaskOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectwise: Option<ConnectWiseOverride>,
}

/// Autotask ticket attributes of one monitor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutotaskOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_type: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_issue_type: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_type: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<i64>,
}

/// ConnectWise ticket attributes of one monitor. Another board than the
/// integration's drops the integration's type, subtype, item and statuses
/// (they belong to its board): the override's own apply, or the board's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectWiseOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_status_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_status_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<i64>,
}

/// A monitor key as stored: lower case, without `_ctx`; `Err` names what is wrong.
pub fn normalize_key(key: &str) -> Result<String, String> {
    let k = key.trim().to_ascii_lowercase();
    let k = k.strip_suffix("_ctx").unwrap_or(&k).to_owned();
    if k.is_empty() || k.len() > MAX_KEY {
        return Err(format!(
            "`monitors` key `{}` must be 1 to {MAX_KEY} characters",
            key.chars().take(40).collect::<String>()
        ));
    }
    if !k
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(format!(
            "`monitors` key `{}` must be an alert context class such as `perf_disk_usage_ctx` (letters, digits, `_`, `-`, `.`)",
            key.chars().take(40).collect::<String>()
        ));
    }
    Ok(k)
}

/// The monitor an alert comes from (its normalized context `@class`), if it says.
pub fn monitor_of(alert: &Alert) -> Option<String> {
    let class = alert.alert_context.as_ref()?.get("@class").and_then(Value::as_str)?;
    normalize_key(class).ok()
}

impl MonitorOverride {
    /// The integration's ticket attributes with this monitor's on top.
    pub fn apply(&self, base: &PsaTicketSettings) -> PsaTicketSettings {
        match base {
            PsaTicketSettings::Autotask(a) => {
                let mut s = a.clone();
                if let Some(o) = &self.autotask {
                    if let Some(q) = o.queue_id {
                        s.queue_id = q;
                    }
                    if o.issue_type.is_some() {
                        s.issue_type = o.issue_type;
                        // A sub-issue type belongs to one issue type.
                        s.sub_issue_type = o.sub_issue_type;
                    } else if o.sub_issue_type.is_some() {
                        s.sub_issue_type = o.sub_issue_type;
                    }
                    s.work_type = o.work_type.or(s.work_type);
                    s.source = o.source.or(s.source);
                }
                PsaTicketSettings::Autotask(s)
            }
            PsaTicketSettings::ConnectWise(c) => {
                let mut s = c.clone();
                if let Some(o) = &self.connectwise {
                    if let Some(board) = o.board_id.filter(|b| *b != c.board_id) {
                        s.board_id = board;
                        s.type_id = None;
                        s.subtype_id = None;
                        s.item_id = None;
                        s.open_status_id = None;
                        s.closed_status_id = None;
                    }
                    s.type_id = o.type_id.or(s.type_id);
                    s.subtype_id = o.subtype_id.or(s.subtype_id);
                    s.item_id = o.item_id.or(s.item_id);
                    s.open_status_id = o.open_status_id.or(s.open_status_id);
                    s.closed_status_id = o.closed_status_id.or(s.closed_status_id);
                    s.source_id = o.source_id.or(s.source_id);
                }
                PsaTicketSettings::ConnectWise(s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psa::autotask::AutotaskTicketSettings;
    use crate::psa::connectwise::ConnectWiseTicketSettings;

    #[test]
    fn keys_ignore_case_and_the_ctx_ending() {
        assert_eq!(normalize_key("Perf_Disk_Usage_CTX").unwrap(), "perf_disk_usage");
        assert_eq!(normalize_key("srvc_status").unwrap(), "srvc_status");
        assert!(normalize_key("").is_err());
        assert!(normalize_key("_ctx").is_err());
        assert!(normalize_key("a b").is_err());
        assert!(normalize_key(&"x".repeat(101)).is_err());
    }

    #[test]
    fn overrides_replace_only_what_they_give() {
        let base = PsaTicketSettings::Autotask(AutotaskTicketSettings {
            queue_id: 8,
            issue_type: Some(1),
            sub_issue_type: Some(101),
            source: Some(8),
            ..AutotaskTicketSettings::default()
        });
        let o = MonitorOverride {
            autotask: Some(AutotaskOverride {
                queue_id: Some(5),
                issue_type: Some(2),
                ..AutotaskOverride::default()
            }),
            ..MonitorOverride::default()
        };
        let PsaTicketSettings::Autotask(a) = o.apply(&base) else {
            panic!()
        };
        assert_eq!(
            (a.queue_id, a.issue_type, a.sub_issue_type, a.source),
            (5, Some(2), None, Some(8))
        );

        let base = PsaTicketSettings::ConnectWise(ConnectWiseTicketSettings {
            board_id: 1,
            type_id: Some(3),
            closed_status_id: Some(4),
            source_id: Some(2),
            ..ConnectWiseTicketSettings::default()
        });
        let o = MonitorOverride {
            connectwise: Some(ConnectWiseOverride {
                board_id: Some(2),
                type_id: Some(7),
                ..ConnectWiseOverride::default()
            }),
            ..MonitorOverride::default()
        };
        let PsaTicketSettings::ConnectWise(c) = o.apply(&base) else {
            panic!()
        };
        assert_eq!(
            (c.board_id, c.type_id, c.closed_status_id, c.source_id),
            (2, Some(7), None, Some(2))
        );
    }
}
