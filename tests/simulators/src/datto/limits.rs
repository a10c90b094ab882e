//! Datto RMM's request-rate model.
//!
//! Modelled:
//! - one account-wide rolling window (`window`, 60 s) for reads (GET) and, counted apart, for
//!   writes (PUT/POST/DELETE) in aggregate and per operation key (`alert-resolve`,
//!   `device-job-create`, `device-udf-set`, ...);
//! - above `cutoff_ratio` of a limit each admitted request is slowed down (the caller sleeps
//!   `slow_delay`); at the limit the request is refused with 429 and not counted;
//! - once `block_after_429s` 429s were sent within one window, every request is answered 403 for
//!   `block_duration` (the "temporary IP block").
//!
//! Assumptions (not confirmed by the vendor, all configurable): the 403 threshold, that
//! refused (429/403) requests do not count, that the slowdown also applies to writes, and the
//! legacy single-bucket mode (every request counts as a read).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Write-operation keys, the API's own names for its write operations.
pub const WRITE_OPERATIONS: &[&str] = &[
    "site-create",
    "site-variable-create",
    "device-move",
    "device-job-create",
    "account-variable-create",
    "site-update",
    "site-variable-update",
    "site-proxy-create",
    "device-warranty-create",
    "device-udf-set",
    "alert-resolve",
    "account-variable-update",
    "user-reset-keys",
    "site-variable-delete",
    "site-proxy-delete",
    "account-variable-delete",
];

#[derive(Debug, Clone)]
pub struct LimitConfig {
    pub read_limit: u32,
    pub write_limit: u32,
    pub write_op_limit: u32,
    pub write_op_overrides: Vec<(String, u32)>,
    pub window: Duration,
    pub cutoff_ratio: f64,
    pub block_after_429s: u32,
    pub block_duration: Duration,
    pub legacy_single_bucket: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateClass {
    Read,
    Write(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Counted; `slow` = above the cutoff, delay the response.
    Allow { slow: bool },
    /// Refused with 429; `block_started` = this 429 triggered the IP block.
    Limited { block_started: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RateSnapshot {
    pub window_secs: u64,
    pub read_count: u32,
    pub read_limit: u32,
    pub cutoff_ratio: f64,
    pub write_count: u32,
    pub write_limit: u32,
    /// `(operation, limit, count)` for every known operation.
    pub operations: Vec<(String, u32, u32)>,
}

#[derive(Debug)]
pub struct Limiter {
    cfg: LimitConfig,
    reads: VecDeque<Instant>,
    writes: VecDeque<Instant>,
    ops: HashMap<String, VecDeque<Instant>>,
    recent_429s: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while let Some(&t) = q.front() {
        if now.saturating_duration_since(t) >= window {
            q.pop_front();
        } else {
            break;
        }
    }
}

impl Limiter {
    pub fn new(cfg: LimitConfig) -> Limiter {
        Limiter {
            cfg,
            reads: VecDeque::new(),
            writes: VecDeque::new(),
            ops: HashMap::new(),
            recent_429s: VecDeque::new(),
            blocked_until: None,
        }
    }

    pub fn op_limit(&self, op: &str) -> u32 {
        self.cfg
            .write_op_overrides
            .iter()
            .find(|(name, _)| name == op)
            .map(|&(_, l)| l)
            .unwrap_or(self.cfg.write_op_limit)
    }

    /// Remaining block time, if the IP block is active.
    pub fn blocked(&mut self, now: Instant) -> Option<Duration> {
        match self.blocked_until {
            Some(until) if now < until => Some(until - now),
            Some(_) => {
                self.blocked_until = None;
                None
            }
            None => None,
        }
    }

    fn above_cutoff(&self, count: usize, limit: u32) -> bool {
        count as f64 > self.cfg.cutoff_ratio * f64::from(limit)
    }

    /// Counts the request if the quota allows it.
    pub fn admit(&mut self, class: RateClass, now: Instant) -> Verdict {
        let window = self.cfg.window;
        prune(&mut self.reads, now, window);
        prune(&mut self.writes, now, window);
        let class = if self.cfg.legacy_single_bucket {
            RateClass::Read
        } else {
            class
        };
        match class {
            RateClass::Read => {
                if self.reads.len() >= self.cfg.read_limit as usize {
                    return self.refuse(now);
                }
                self.reads.push_back(now);
                Verdict::Allow {
                    slow: self.above_cutoff(self.reads.len(), self.cfg.read_limit),
                }
            }
            RateClass::Write(op) => {
                let op_limit = self.op_limit(op);
                let op_queue = self.ops.entry(op.to_string()).or_default();
                prune(op_queue, now, window);
                if self.writes.len() >= self.cfg.write_limit as usize || op_queue.len() >= op_limit as usize {
                    return self.refuse(now);
                }
                op_queue.push_back(now);
                let op_count = op_queue.len();
                self.writes.push_back(now);
                let slow =
                    self.above_cutoff(self.writes.len(), self.cfg.write_limit) || self.above_cutoff(op_count, op_limit);
                Verdict::Allow { slow }
            }
        }
    }

    fn refuse(&mut self, now: Instant) -> Verdict {
        self.recent_429s.push_back(now);
        prune(&mut self.recent_429s, now, self.cfg.window);
        let threshold = self.cfg.block_after_429s as usize;
        let block_started = threshold > 0 && self.recent_429s.len() >= threshold;
        if block_started {
            self.blocked_until = Some(now + self.cfg.block_duration);
            self.recent_429s.clear();
        }
        Verdict::Limited { block_started }
    }

    pub fn snapshot(&mut self, now: Instant) -> RateSnapshot {
        let window = self.cfg.window;
        prune(&mut self.reads, now, window);
        prune(&mut self.writes, now, window);
        let mut operations: Vec<(String, u32, u32)> = WRITE_OPERATIONS
            .iter()
            .map(|op| (op.to_string(), self.op_limit(op), 0))
            .collect();
        let mut extra = Vec::new();
        for (op, q) in &mut self.ops {
            prune(q, now, window);
            match operations.iter_mut().find(|(name, _, _)| name == op) {
                Some(entry) => entry.2 = q.len() as u32,
                None => extra.push((op.clone(), q.len() as u32)),
            }
        }
        for (op, count) in extra {
            let limit = self.op_limit(&op);
            operations.push((op, limit, count));
        }
        RateSnapshot {
            window_secs: window.as_secs(),
            read_count: self.reads.len() as u32,
            read_limit: self.cfg.read_limit,
            cutoff_ratio: self.cfg.cutoff_ratio,
            write_count: self.writes.len() as u32,
            write_limit: self.cfg.write_limit,
            operations,
        }
    }

    /// Forgets all counted requests, 429s and any active block.
    pub fn reset(&mut self) {
        self.reads.clear();
        self.writes.clear();
        self.ops.clear();
        self.recent_429s.clear();
        self.blocked_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LimitConfig {
        LimitConfig {
            read_limit: 10,
            write_limit: 6,
            write_op_limit: 3,
            write_op_overrides: vec![("device-udf-set".into(), 6)],
            window: Duration::from_secs(60),
            cutoff_ratio: 0.5,
            block_after_429s: 3,
            block_duration: Duration::from_secs(300),
            legacy_single_bucket: false,
        }
    }

    #[test]
    fn reads_slow_down_then_429_then_block() {
        let mut l = Limiter::new(cfg());
        let t0 = Instant::now();
        for i in 1..=10 {
            assert_eq!(
                l.admit(RateClass::Read, t0),
                Verdict::Allow { slow: i > 5 },
                "request {i}"
            );
        }
        assert_eq!(l.admit(RateClass::Read, t0), Verdict::Limited { block_started: false });
        assert_eq!(l.admit(RateClass::Read, t0), Verdict::Limited { block_started: false });
        assert!(l.blocked(t0).is_none());
        assert_eq!(l.admit(RateClass::Read, t0), Verdict::Limited { block_started: true });
        assert_eq!(l.blocked(t0), Some(Duration::from_secs(300)));
        assert!(l.blocked(t0 + Duration::from_secs(300)).is_none());
        // Refused requests were not counted: after the window, the quota is back.
        assert_eq!(
            l.admit(RateClass::Read, t0 + Duration::from_secs(60)),
            Verdict::Allow { slow: false }
        );
    }

    #[test]
    fn rolling_window_forgets_old_requests() {
        let mut l = Limiter::new(cfg());
        let t0 = Instant::now();
        for _ in 0..4 {
            l.admit(RateClass::Read, t0);
        }
        for _ in 0..6 {
            l.admit(RateClass::Read, t0 + Duration::from_secs(59));
        }
        assert!(matches!(
            l.admit(RateClass::Read, t0 + Duration::from_secs(59)),
            Verdict::Limited { .. }
        ));
        // At 61 s the first four have left the window.
        assert_eq!(l.snapshot(t0 + Duration::from_secs(61)).read_count, 6);
        assert!(matches!(
            l.admit(RateClass::Read, t0 + Duration::from_secs(61)),
            Verdict::Allow { .. }
        ));
    }

    #[test]
    fn writes_are_counted_apart_and_per_operation() {
        let mut l = Limiter::new(cfg());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(matches!(
                l.admit(RateClass::Write("alert-resolve"), t0),
                Verdict::Allow { .. }
            ));
        }
        assert!(matches!(
            l.admit(RateClass::Write("alert-resolve"), t0),
            Verdict::Limited { .. }
        ));
        // Another operation still has room, and reads are untouched.
        assert!(matches!(
            l.admit(RateClass::Write("device-udf-set"), t0),
            Verdict::Allow { .. }
        ));
        assert!(matches!(l.admit(RateClass::Read, t0), Verdict::Allow { slow: false }));
        let snap = l.snapshot(t0);
        assert_eq!((snap.read_count, snap.write_count), (1, 4));
        let resolve = snap.operations.iter().find(|o| o.0 == "alert-resolve").unwrap();
        assert_eq!((resolve.1, resolve.2), (3, 3));
        let udf = snap.operations.iter().find(|o| o.0 == "device-udf-set").unwrap();
        assert_eq!((udf.1, udf.2), (6, 1));
        // Aggregate write limit.
        for _ in 0..2 {
            assert!(matches!(
                l.admit(RateClass::Write("device-udf-set"), t0),
                Verdict::Allow { .. }
            ));
        }
        assert!(matches!(
            l.admit(RateClass::Write("device-udf-set"), t0),
            Verdict::Limited { .. }
        ));
    }

    #[test]
    fn legacy_mode_counts_writes_as_reads() {
        let mut l = Limiter::new(LimitConfig {
            legacy_single_bucket: true,
            ..cfg()
        });
        let t0 = Instant::now();
        l.admit(RateClass::Write("alert-resolve"), t0);
        let snap = l.snapshot(t0);
        assert_eq!((snap.read_count, snap.write_count), (1, 0));
    }
}
