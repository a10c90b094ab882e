//! Time as the external APIs send it and as rmmsync stores it.
//!
//! Datto RMM documents its timestamps as `date-time` strings but sends epoch
//! milliseconds as JSON numbers; some fields arrive as strings, some as
//! `null`, and .NET's `DateTime.MinValue` (-62135596800000) stands for "never".
//! [`deserialize_epoch_millis`] accepts all of these and yields `None` for
//! anything that is not a usable instant, so one odd value never fails a page.
//! rmmsync itself stores epoch milliseconds and shows RFC 3339 UTC strings.

use serde::{Deserialize, Deserializer};
use std::time::{SystemTime, UNIX_EPOCH};

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

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_rfc3339(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` into epoch milliseconds.
pub fn parse_rfc3339_millis(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut ms = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let first3 = &frac[..digits.min(3)];
        ms = first3.parse::<i64>().ok()? * 10_i64.pow(3 - first3.len() as u32);
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh = rest.get(1..3)?.parse::<i64>().ok()?;
            let om = rest.get(4..6)?.parse::<i64>().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(y, mo, d);
    Some((days * 86_400 + h * 3600 + mi * 60 + se - offset_secs) * 1000 + ms)
}

// Howard Hinnant's civil calendar algorithms (public domain).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
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
    }
}
