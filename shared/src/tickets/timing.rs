//! How long the ticket flow may take: every delivery and every reconciler
//! pass works against a deadline inside the function's own timeout, and an
//! alert claim counts as live only as long as a delivery can be alive. Also
//! how long a resolved alert's state is kept (then DynamoDB's TTL removes it).
//!
//! Guarantees: a delivery stops its outbound work at [`TicketTiming::deadline`]
//! (then records the alert as pending), which is before Lambda can kill it;
//! so a claim older than [`TicketTiming::claim_ttl_ms`] belongs to a delivery
//! that is gone, and the next delivery (or the reconciler) takes it over with
//! a conditional write and looks the ticket up by the alert uid before
//! opening one.

use std::time::Duration;

/// The deadline and claim liveness of the ticket flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketTiming {
    /// The function's timeout, as the template's `Timeout` sets it.
    pub function_timeout: Duration,
    /// How long a resolved alert's state is kept after it was resolved (its `expiresAt`).
    pub resolved_retention: Duration,
}

/// Resolved alert states are kept 30 days by default (`ALERT_RETENTION_DAYS`).
pub const DEFAULT_RESOLVED_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

impl Default for TicketTiming {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

/// ConnectWise gives a callback 5 s before it counts it failed.
const CONNECTWISE_WAIT: Duration = Duration::from_millis(4_500);

impl TicketTiming {
    pub fn new(function_timeout: Duration) -> Self {
        Self {
            function_timeout: function_timeout.max(Duration::from_secs(2)),
            resolved_retention: DEFAULT_RESOLVED_RETENTION,
        }
    }

    /// Keeps resolved alert states this long (at least a minute).
    pub fn with_resolved_retention(mut self, retention: Duration) -> Self {
        self.resolved_retention = retention.max(Duration::from_secs(60));
        self
    }

    /// `FUNCTION_TIMEOUT_SECS` (the template passes the function's `Timeout`), 10 s if unset;
    /// `ALERT_RETENTION_DAYS` (30 if unset).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok());
        let timing = Self::new(Duration::from_secs(var("FUNCTION_TIMEOUT_SECS").unwrap_or(10)));
        match var("ALERT_RETENTION_DAYS") {
            Some(days) => timing.with_resolved_retention(Duration::from_secs(days.saturating_mul(24 * 3600))),
            None => timing,
        }
    }

    /// The `expiresAt` (epoch seconds, what DynamoDB's TTL reads) of a state resolved at
    /// `resolved_at_ms`.
    pub fn resolved_expiry_secs(&self, resolved_at_ms: i64) -> i64 {
        (resolved_at_ms.saturating_add(self.resolved_retention.as_millis() as i64)) / 1000
    }

    /// When a delivery stops its work: the function's timeout less what it
    /// needs to record the outcome (1.5 s, or 15 % of a long timeout).
    pub fn deadline(&self) -> Duration {
        let margin = Duration::from_millis(1_500).max(self.function_timeout.mul_f64(0.15));
        self.function_timeout.saturating_sub(margin).max(Duration::from_secs(1))
    }

    /// The deadline of a ConnectWise callback: within ConnectWise's own wait.
    pub fn callback_deadline(&self) -> Duration {
        self.deadline().min(CONNECTWISE_WAIT)
    }

    /// A claim older than this belongs to a delivery that is gone: the
    /// function's whole timeout, plus a second for clocks.
    pub fn claim_ttl_ms(&self) -> i64 {
        self.function_timeout.as_millis() as i64 + 1_000
    }
}

/// The wait before the reconciler retries a pending alert after `attempts`
/// faults: 1, 2, 4, ... minutes, at most an hour.
pub fn pending_backoff_ms(attempts: u32) -> i64 {
    60_000_i64
        .saturating_mul(1 << attempts.saturating_sub(1).min(6))
        .min(3_600_000)
}

/// The wait before a failed alert (a refusal a person must fix) is tried again.
pub const FAILED_RETRY_MS: i64 = 30 * 60_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claim_outlives_the_deadline_and_the_deadline_fits_the_function() {
        let t = TicketTiming::new(Duration::from_secs(10));
        assert_eq!(t.deadline(), Duration::from_millis(8_500));
        assert!(t.claim_ttl_ms() > t.deadline().as_millis() as i64);
        assert!(t.claim_ttl_ms() < 120_000, "a retry within two minutes takes over");
        assert_eq!(t.callback_deadline(), Duration::from_millis(4_500));
        let long = TicketTiming::new(Duration::from_secs(300));
        assert_eq!(long.deadline(), Duration::from_secs(255));
        assert_eq!(TicketTiming::new(Duration::ZERO).deadline(), Duration::from_secs(1));
    }

    #[test]
    fn resolved_states_expire_after_the_retention_in_epoch_seconds() {
        let t = TicketTiming::default();
        assert_eq!(t.resolved_expiry_secs(1_795_000_000_000), 1_795_000_000 + 30 * 86_400);
        let short = t.with_resolved_retention(Duration::from_secs(1));
        assert_eq!(short.resolved_retention, Duration::from_secs(60), "at least a minute");
    }

    #[test]
    fn pending_alerts_back_off_to_an_hour() {
        assert_eq!(pending_backoff_ms(1), 60_000);
        assert_eq!(pending_backoff_ms(3), 240_000);
        assert_eq!(pending_backoff_ms(30), 3_600_000);
    }
}
