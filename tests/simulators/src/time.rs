//! Epoch-millisecond clock and calendar formatting the simulators share (UTC, proleptic
//! Gregorian). Each API's own date format is one function here; the data modules re-export
//! them under the names their code and tests use.

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

/// `(year, month, day)` of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `yyyy-mm-dd` of an epoch-millisecond instant (Datto RMM's date format).
pub fn date_string(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `yyyy-mm-ddThh:mm:ssZ` of an epoch-millisecond instant (ConnectWise's date format).
pub fn iso_seconds(ms: i64) -> String {
    let secs = ms.rem_euclid(DAY_MS) / 1000;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date_string(ms),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `yyyy-mm-ddThh:mm:ss.mmmZ` of an epoch-millisecond instant (Autotask's date format).
pub fn iso_millis(ms: i64) -> String {
    format!("{}.{:03}Z", iso_seconds(ms).trim_end_matches('Z'), ms.rem_euclid(1000))
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
