//! The client-side [`RateLimiter`] that keeps a Datto RMM account under its rolling request
//! budget.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A rolling-window limiter: at most `limit` permits in any `window`.
///
/// Datto counts requests over the past 60 s for the whole account, so a fixed
/// window or a token bucket would still let bursts past its limit; this keeps
/// the instants of the permits it gave and waits for the oldest to age out.
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    issued: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        let limit = limit.max(1) as usize;
        Self {
            limit,
            window,
            issued: Mutex::new(VecDeque::with_capacity(limit)),
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit as u32
    }

    /// Waits until one more request fits in the window, then counts it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut issued = self.issued.lock().await;
                let now = Instant::now();
                while issued.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
                    issued.pop_front();
                }
                if issued.len() < self.limit {
                    issued.push_back(now);
                    return;
                }
                // Full: the oldest permit ages out first.
                self.window - now.duration_since(issued[0])
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_lets_more_than_the_limit_into_a_window() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_secs(60),
            "the 4th waited {:?}",
            start.elapsed()
        );
    }
}
