//! Time as the external APIs send it and as rmmsync stores it.
//!
//! Datto RMM documents its timestamps as `date-time` strings but sends epoch
//! milliseconds as JSON numbers; some fields arrive as strings, some as
//! `null`, and .NET's `DateTime.MinValue` (-62135596800000) stands for "never".
//! [`deserialize_epoch_millis`] accepts all of these and yields `None` for
//! anything that is not a usable instant, so one odd value never fails a page.
//! rmmsync itself stores epoch milliseconds and shows RFC 3339 UTC strings;
//! the calendar arithmetic is the `time` crate's.

use serde::{Deserialize, Deserializer};
use std::time::{SystemTime, UNIX_EPOCH};
use time::format_description::FormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// .NET `DateTime.MinValue` in epoch milliseconds: Datto's way of saying "never".
const DOTNET_MIN_MILLIS: i64 = -62_135_596_800_000;

/// Accepts epoch milliseconds (number or numeric string), epoch seconds
/// (numbers below 10^11 are taken as seconds), an RFC 3339 string, or null.
pub fn deserialize_epoch_millis<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value.as_ref().and_then(epoch_millis_from_json))
}

/// The instant a JSON value stands for, if it stands for one.
pub fn epoch_millis_from_json(value: &serde_json::Value) -> Option<i64> {
    let millis = match value {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        serde_json::Value::String(s) => {
            let s = s.trim();
            match s.parse::<i64>() {
                Ok(n) => n,
                Err(_) => parse_rfc3339_millis(s)?,
            }
        }
        _ => return None,
    };
    if millis <= DOTNET_MIN_MILLIS || millis == 0 {
        return None;
    }
    // Ten-digit values are seconds (2001..2286); milliseconds have thirteen.
    Some(if millis.abs() < 100_000_000_000 {
        millis * 1000
    } else {
        millis
    })
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (instants beyond
/// the years 0000..9999 are clamped to them).
pub fn format_rfc3339(millis: i64) -> String {
    const SHOWN: &[FormatItem<'_>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    let nanos = i128::from(millis) * 1_000_000;
    let instant = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(if nanos < 0 {
        PrimitiveDateTime::MIN.assume_utc()
    } else {
        PrimitiveDateTime::MAX.assume_utc()
    });
    instant.format(SHOWN).unwrap_or_default()
}

/// Parses an RFC 3339 date-time into epoch milliseconds; also accepts a
/// space or `t` between date and time and a missing offset (taken as UTC),
/// as some PSA fields come. Digits beyond milliseconds are dropped.
pub fn parse_rfc3339_millis(s: &str) -> Option<i64> {
    let s = s.trim();
    let mut text = String::with_capacity(s.len() + 1);
    for (i, c) in s.char_indices() {
        text.push(if i == 10 && matches!(c, ' ' | 't') { 'T' } else { c });
    }
    // After `HH:MM:SS` and an optional fraction, nothing left means no offset.
    let after_seconds = text.get(19..)?;
    let fraction = after_seconds
        .strip_prefix('.')
        .map_or(0, |f| 1 + f.bytes().take_while(u8::is_ascii_digit).count());
    if after_seconds.len() == fraction {
        text.push('Z');
    }
    let instant = OffsetDateTime::parse(&text, &Rfc3339).ok()?;
    i64::try_from(instant.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_the_shapes_datto_sends() {
        assert_eq!(
            epoch_millis_from_json(&json!(1_700_000_000_123_i64)),
            Some(1_700_000_000_123)
        );
        assert_eq!(epoch_millis_from_json(&json!("1700000000123")), Some(1_700_000_000_123));
        assert_eq!(epoch_millis_from_json(&json!(1_700_000_000)), Some(1_700_000_000_000));
        assert_eq!(epoch_millis_from_json(&json!(1.7e12)), Some(1_700_000_000_000));
        assert_eq!(
            epoch_millis_from_json(&json!("2023-11-14T22:13:20.123Z")),
            Some(1_700_000_000_123)
        );
        assert_eq!(epoch_millis_from_json(&json!(-62_135_596_800_000_i64)), None);
        assert_eq!(epoch_millis_from_json(&json!(null)), None);
        assert_eq!(epoch_millis_from_json(&json!("soon")), None);
        assert_eq!(epoch_millis_from_json(&json!(true)), None);
    }

    #[test]
    fn formats_and_parses_round_trip() {
        for ms in [1_i64, 951_782_400_000, 1_700_000_000_123, 4_102_444_799_999] {
            assert_eq!(parse_rfc3339_millis(&format_rfc3339(ms)), Some(ms));
        }
        assert_eq!(format_rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(
            parse_rfc3339_millis("2023-11-15T00:13:20+02:00"),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_rfc3339_millis("2023-11-14 17:13:20.1234567-05:00"),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_rfc3339_millis("2023-11-14t22:13:20"), Some(1_700_000_000_000));
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_rfc3339(i64::MAX), "9999-12-31T23:59:59.999Z");
        for bad in [
            "",
            "2023-11-14",
            "2023-13-01T00:00:00Z",
            "2023-02-30T00:00:00Z",
            "2023-11-14T22:13:20 Z",
            "yesterday at noon",
        ] {
            assert_eq!(parse_rfc3339_millis(bad), None, "{bad}");
        }
    }
}
