//! Epoch-millisecond clock and calendar formatting the simulators share (UTC, proleptic
//! Gregorian, calendar arithmetic by the `time` crate). Each API's own date format is one
//! function here; the model modules re-export them under the names their code and tests use.

use time::OffsetDateTime;

pub(crate) const DAY_MS: i64 = 86_400_000;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The start of the current UTC day, in epoch milliseconds.
pub fn today_start_ms() -> i64 {
    let now = now_ms();
    now - now.rem_euclid(DAY_MS)
}

/// The UTC date-time of an epoch-millisecond instant (the epoch itself if out of the `time`
/// crate's range, years -9999..=9999).
fn utc(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `yyyy-mm-dd` of an epoch-millisecond instant (Datto RMM's date format).
pub fn date_string(ms: i64) -> String {
    let t = utc(ms);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// `yyyy-mm-ddThh:mm:ssZ` of an epoch-millisecond instant (ConnectWise's date format).
pub fn iso_seconds(ms: i64) -> String {
    let t = utc(ms);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date_string(ms),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `yyyy-mm-ddThh:mm:ss.mmmZ` of an epoch-millisecond instant (Autotask's date format).
pub fn iso_millis(ms: i64) -> String {
    format!(
        "{}.{:03}Z",
        iso_seconds(ms).trim_end_matches('Z'),
        utc(ms).millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_agree_on_the_instant() {
        // 2024-02-29T23:59:58.123Z, and an instant before the epoch.
        let ms = 1_709_251_198_123;
        assert_eq!(date_string(ms), "2024-02-29");
        assert_eq!(iso_seconds(ms), "2024-02-29T23:59:58Z");
        assert_eq!(iso_millis(ms), "2024-02-29T23:59:58.123Z");
        assert_eq!(iso_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso_seconds(0), "1970-01-01T00:00:00Z");
    }
}
