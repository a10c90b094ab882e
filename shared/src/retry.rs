//! How hard the outbound API clients (Datto RMM, Autotask, ConnectWise Manage) try before
//! giving up: one [`RetryPolicy`] type, its jittered exponential backoff, and the reading of
//! a 429's `Retry-After`. Each client keeps its own defaults ([`RetryPolicy::datto`],
//! [`RetryPolicy::autotask`], [`RetryPolicy::connectwise`]) and decides itself which
//! answers are worth another attempt.

use std::time::Duration;

/// How hard to try before giving up. Backoff doubles from `base_delay` up to `max_delay`,
/// with jitter so that parallel workers do not retry in step.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all when the API answers 429.
    pub rate_limited_attempts: u32,
    /// Attempts in all on a fault the client deems transient (5xx, a network fault, …).
    pub fault_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest 429 `Retry-After` honoured; `None` caps it at `max_delay`.
    pub max_retry_after: Option<Duration>,
}

impl RetryPolicy {
    /// Datto RMM's defaults: its 429s come from a rolling 60 s window, so waits up to a minute.
    pub fn datto() -> Self {
        Self {
            rate_limited_attempts: 8,
            fault_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            max_retry_after: None,
        }
    }

    /// Autotask's defaults (thread and hourly limits both answer 429).
    pub fn autotask() -> Self {
        Self::datto()
    }

    /// ConnectWise Manage's defaults: shorter backoff, `Retry-After` honoured up to a minute.
    pub fn connectwise() -> Self {
        Self {
            rate_limited_attempts: 6,
            fault_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Some(Duration::from_secs(60)),
        }
    }

    /// The wait before retry number `attempt` (1-based): `base_delay` doubled per attempt,
    /// capped at `max_delay`, then between 50 % and 100 % of that.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1 << attempt.saturating_sub(1).min(16));
        exp.min(self.max_delay).mul_f64(0.5 + 0.5 * jitter())
    }

    /// A 429's `Retry-After`, capped at `max_retry_after` (or `max_delay` when that is unset).
    pub fn capped_retry_after(&self, retry_after: Duration) -> Duration {
        retry_after.min(self.max_retry_after.unwrap_or(self.max_delay))
    }
}

/// A number in `[0, 1)` from a per-thread xorshift: enough to spread retries, no crate needed.
pub fn jitter() -> f64 {
    use std::cell::Cell;
    thread_local!(static STATE: Cell<u64> = Cell::new(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1
    ));
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// A response's `Retry-After` in whole seconds (the HTTP-date form is not used by these APIs).
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let raw = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    raw.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryPolicy::datto()
        };
        for (attempt, full) in [(1, 100), (2, 200), (3, 400), (5, 1000), (40, 1000)] {
            let d = p.delay(attempt).as_millis() as u64;
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d} ms");
        }
    }

    #[test]
    fn retry_after_is_capped_by_its_own_limit_or_the_backoff_cap() {
        let mut p = RetryPolicy::datto();
        p.max_delay = Duration::from_secs(5);
        assert_eq!(p.capped_retry_after(Duration::from_secs(9)), Duration::from_secs(5));
        p.max_retry_after = Some(Duration::from_secs(7));
        assert_eq!(p.capped_retry_after(Duration::from_secs(9)), Duration::from_secs(7));
        assert_eq!(p.capped_retry_after(Duration::from_secs(2)), Duration::from_secs(2));
    }
}
