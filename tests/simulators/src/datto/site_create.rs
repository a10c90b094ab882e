//! `PUT /v2/site`: creating a site (`CreateSiteRequest` in, `Site` out, as Datto's build-118
//! OpenAPI document states them). `name` is required and must not be blank; `description` and
//! `notes` are strings, `onDemand` and `splashtopAutoInstall` booleans, `proxySettings` an
//! object (each may also be `null` or absent); anything else is a 400. Like the real API, two
//! sites may share a name, so a client that replays a create makes a second site.
//!
//! The switch [`DattoSim::lose_site_create_answers`](super::DattoSim::lose_site_create_answers)
//! makes the next creates do their work and then answer 504, as a gateway that timed out
//! would, after a wait if one is given (so that the client times out first): the way to test
//! that a client never creates a site twice.

use serde_json::Value;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::DattoState;
use super::model::SiteKind;

/// What a create came to.
pub(crate) enum SiteCreate {
    /// The new site's index; `lost`: the answer is to be lost (504).
    Made {
        index: usize,
        lost: bool,
    },
    Invalid,
}

fn optional(body: &Value, field: &str, fits: fn(&Value) -> bool) -> bool {
    body.get(field).is_none_or(|v| v.is_null() || fits(v))
}

pub(crate) fn create(sim: &DattoState, body: &[u8]) -> SiteCreate {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return SiteCreate::Invalid;
    };
    let Some(name) = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return SiteCreate::Invalid;
    };
    let fits = body.is_object()
        && optional(&body, "description", Value::is_string)
        && optional(&body, "notes", Value::is_string)
        && optional(&body, "onDemand", Value::is_boolean)
        && optional(&body, "splashtopAutoInstall", Value::is_boolean)
        && optional(&body, "proxySettings", Value::is_object);
    if !fits {
        return SiteCreate::Invalid;
    }
    let text = |f: &str| body.get(f).and_then(Value::as_str).map(str::to_owned);
    let mut data = sim.write();
    let uid = data.add_site(name);
    let Some(index) = data.site_index(&uid) else {
        return SiteCreate::Invalid;
    };
    let site = &mut data.sites[index];
    site.kind = SiteKind::Client;
    site.description = text("description");
    site.notes = text("notes");
    site.on_demand = body.get("onDemand").and_then(Value::as_bool).unwrap_or(false);
    if let Some(b) = body.get("splashtopAutoInstall").and_then(Value::as_bool) {
        site.splashtop_auto_install = b;
    }
    let lost = sim
        .lost_site_creates
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    SiteCreate::Made { index, lost }
}

/// How long a lost answer waits before its 504.
pub(crate) fn hang(sim: &DattoState) -> Duration {
    Duration::from_millis(sim.lost_site_create_hang_ms.load(Ordering::SeqCst))
}
