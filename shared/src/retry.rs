//! How hard the outbound API clients (Datto RMM, Autotask, ConnectWise Manage) try before
//! giving up, and the one retry loop they all send through.
//!
//! - [`RetryPolicy`]: attempts, jittered exponential backoff and the handling of a 429's
//!   `Retry-After`; each client has its defaults ([`RetryPolicy::datto`],
//!   [`RetryPolicy::autotask`], [`RetryPolicy::connectwise`]).
//! - [`send_with_retry`]: the loop. It retries 429s against `rate_limited_attempts` and faults
//!   (network errors, answers the client calls faults) against `fault_attempts`, never
//!   retrying a [`Replay::Create`] once it may have reached the API.
//! - [`RetryRules`]: what differs per API: which answers are faults or final errors, and the
//!   client's own error for each way of giving up.

use crate::http::Answer;
use reqwest::StatusCode;
use std::future::Future;
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
    /// Up to this fraction of a (capped) `Retry-After` is added at random, so that workers
    /// told the same wait do not all come back at once; 0 waits exactly.
    pub retry_after_spread: f64,
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
            retry_after_spread: 0.0,
        }
    }

    /// Autotask's defaults (thread and hourly limits both answer 429).
    pub fn autotask() -> Self {
        Self::datto()
    }

    /// ConnectWise Manage's defaults: shorter backoff, `Retry-After` honoured up to a minute
    /// plus up to 10 %.
    pub fn connectwise() -> Self {
        Self {
            rate_limited_attempts: 6,
            fault_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Some(Duration::from_secs(60)),
            retry_after_spread: 0.1,
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

    /// The wait after the `attempt`-th 429 (1-based): its `Retry-After`, capped and spread by
    /// `retry_after_spread`, or the backoff when the answer names none.
    pub fn rate_limit_wait(&self, retry_after: Option<Duration>, attempt: u32) -> Duration {
        match retry_after.map(|d| self.capped_retry_after(d)) {
            Some(d) if self.retry_after_spread > 0.0 => d.mul_f64(1.0 + self.retry_after_spread * jitter()),
            Some(d) => d,
            None => self.delay(attempt),
        }
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

/// An answer's `Retry-After` in whole seconds (the HTTP-date form is not used by these APIs).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let raw = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    raw.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Whether a request may be sent again once it may have reached the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Reads, queries, updates: 429s, faults and network errors are retried.
    Idempotent,
    /// Creates: retried only when the API surely did not process them (a 429, a refused
    /// connection), so that a retry cannot create a second record. A fault answer or a
    /// timeout ends the call.
    Create,
}

/// What a client makes of an answer that is not a 429.
#[derive(Debug)]
pub enum Verdict<E> {
    /// Hand the answer to the caller, whatever its status.
    Accept,
    /// A transient fault on the API's side: back off and try again (never for a create).
    Fault,
    /// Stop with this error, without another attempt.
    Fail(E),
}

/// Why one attempt brought no answer.
#[derive(Debug)]
pub enum AttemptError<E> {
    /// Sending the request or reading the answer failed (connection, timeout, TLS, …).
    Transport(reqwest::Error),
    /// The client gave up before sending; not retried.
    Stop(E),
}

impl<E> From<reqwest::Error> for AttemptError<E> {
    fn from(e: reqwest::Error) -> Self {
        AttemptError::Transport(e)
    }
}

/// What differs between the APIs' retry loops: how answers are judged and the client's
/// error for each way of giving up.
pub trait RetryRules {
    type Error;

    /// The API's name, for logs ("Datto RMM").
    fn api(&self) -> &'static str;

    /// Judges an answer that is not a 429. By default a 5xx is a fault and anything else is
    /// the caller's to judge.
    fn judge(&self, answer: &Answer) -> Verdict<Self::Error> {
        if answer.status.is_server_error() {
            Verdict::Fault
        } else {
            Verdict::Accept
        }
    }

    /// 429s went on for `attempts` attempts.
    fn rate_limited(&self, attempts: u32) -> Self::Error;

    /// A fault answer that is not retried (a create) or the last of `attempts`.
    fn server_error(&self, status: StatusCode, attempts: u32) -> Self::Error;

    /// A network error that is not retried, or the last one.
    fn unreachable(&self, error: &reqwest::Error) -> Self::Error;
}

/// Runs `attempt` (one request, answer read whole) until an answer is accepted or the policy
/// says stop. A 429 waits its `Retry-After` ([`RetryPolicy::rate_limit_wait`]) and counts
/// against `rate_limited_attempts`; a fault answer or network error backs off
/// ([`RetryPolicy::delay`]) and counts against `fault_attempts`. A [`Replay::Create`] is not
/// sent again after a fault answer or a network error other than a refused connection.
/// `path` names the call in logs (no query: it can carry paging tokens).
pub async fn send_with_retry<R, F, Fut>(
    policy: &RetryPolicy,
    rules: &R,
    replay: Replay,
    path: &str,
    mut attempt: F,
) -> Result<Answer, R::Error>
where
    R: RetryRules,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Answer, AttemptError<R::Error>>>,
{
    let api = rules.api();
    let (mut limited, mut faults) = (0_u32, 0_u32);
    loop {
        let answer = match attempt().await {
            Ok(answer) => answer,
            Err(AttemptError::Stop(e)) => return Err(e),
            Err(AttemptError::Transport(e)) => {
                faults += 1;
                // A refused connection never reached the API: even a create may go again.
                let may_retry = replay == Replay::Idempotent || e.is_connect();
                if !may_retry || faults >= policy.fault_attempts {
                    return Err(rules.unreachable(&e));
                }
                tracing::warn!(path, attempt = faults, error = %e.without_url(), "{api} request failed; retrying");
                tokio::time::sleep(policy.delay(faults)).await;
                continue;
            }
        };
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
            if limited >= policy.rate_limited_attempts {
                return Err(rules.rate_limited(limited));
            }
            let wait = policy.rate_limit_wait(retry_after(&answer.headers), limited);
            tracing::warn!(
                path,
                attempt = limited,
                wait_ms = wait.as_millis() as u64,
                "{api} answered 429; backing off"
            );
            tokio::time::sleep(wait).await;
            continue;
        }
        match rules.judge(&answer) {
            Verdict::Accept => return Ok(answer),
            Verdict::Fail(e) => return Err(e),
            Verdict::Fault => {
                faults += 1;
                if replay == Replay::Create || faults >= policy.fault_attempts {
                    return Err(rules.server_error(answer.status, faults));
                }
                tracing::warn!(
                    path,
                    status = answer.status.as_u16(),
                    attempt = faults,
                    "{api} fault; retrying"
                );
                tokio::time::sleep(policy.delay(faults)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use std::cell::Cell;

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

    #[test]
    fn rate_limit_waits_follow_retry_after_capped_and_spread() {
        let datto = RetryPolicy::datto();
        assert_eq!(
            datto.rate_limit_wait(Some(Duration::from_secs(3)), 1),
            Duration::from_secs(3)
        );
        let cw = RetryPolicy::connectwise();
        for _ in 0..50 {
            let w = cw.rate_limit_wait(Some(Duration::from_secs(600)), 1);
            assert!(w >= Duration::from_secs(60) && w <= Duration::from_secs(66), "{w:?}");
        }
        let w = cw.rate_limit_wait(None, 2);
        assert!(w >= Duration::from_millis(500) && w <= Duration::from_secs(1), "{w:?}");
    }

    #[test]
    fn retry_after_reads_whole_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    /// Gives up with a description of how.
    struct TestRules;

    impl RetryRules for TestRules {
        type Error = String;
        fn api(&self) -> &'static str {
            "Test"
        }
        fn judge(&self, answer: &Answer) -> Verdict<String> {
            match answer.status.as_u16() {
                418 => Verdict::Fail("teapot".into()),
                409 | 500..=599 => Verdict::Fault,
                _ => Verdict::Accept,
            }
        }
        fn rate_limited(&self, attempts: u32) -> String {
            format!("rate limited after {attempts}")
        }
        fn server_error(&self, status: StatusCode, attempts: u32) -> String {
            format!("HTTP {} after {attempts}", status.as_u16())
        }
        fn unreachable(&self, _: &reqwest::Error) -> String {
            "unreachable".into()
        }
    }

    fn answer(status: u16) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }

    /// Runs the loop over a scripted series of statuses (the last one repeats).
    async fn run(policy: &RetryPolicy, replay: Replay, script: &[u16]) -> (Result<u16, String>, usize) {
        let sent = Cell::new(0_usize);
        let result = send_with_retry(policy, &TestRules, replay, "/x", || {
            let n = sent.get();
            sent.set(n + 1);
            let status = script[n.min(script.len() - 1)];
            async move { Ok(answer(status)) }
        })
        .await;
        (result.map(|a| a.status.as_u16()), sent.get())
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            ..RetryPolicy::datto()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn faults_and_429s_have_their_own_budgets() {
        let p = policy();
        assert_eq!(run(&p, Replay::Idempotent, &[429, 503, 429, 200]).await, (Ok(200), 4));
        assert_eq!(
            run(&p, Replay::Idempotent, &[503]).await,
            (Err("HTTP 503 after 4".into()), 4)
        );
        assert_eq!(
            run(&p, Replay::Idempotent, &[429]).await,
            (Err("rate limited after 8".into()), 8)
        );
        // Other statuses are the caller's to judge; a failure verdict stops at once.
        assert_eq!(run(&p, Replay::Idempotent, &[404]).await, (Ok(404), 1));
        assert_eq!(
            run(&p, Replay::Idempotent, &[409, 418]).await,
            (Err("teapot".into()), 2)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_is_retried_on_429_but_never_after_a_fault() {
        let p = policy();
        assert_eq!(run(&p, Replay::Create, &[429, 429, 201]).await, (Ok(201), 3));
        assert_eq!(
            run(&p, Replay::Create, &[500, 201]).await,
            (Err("HTTP 500 after 1".into()), 1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_waits_its_retry_after() {
        let p = policy();
        let mut limited = answer(429);
        limited
            .headers
            .insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("30"));
        let sent = Cell::new(0);
        let started = tokio::time::Instant::now();
        let p = RetryPolicy {
            max_retry_after: Some(Duration::from_secs(40)),
            ..p
        };
        let result = send_with_retry(&p, &TestRules, Replay::Idempotent, "/x", || {
            sent.set(sent.get() + 1);
            let a = if sent.get() == 1 {
                Answer {
                    status: limited.status,
                    headers: limited.headers.clone(),
                    body: Vec::new(),
                }
            } else {
                answer(200)
            };
            async move { Ok(a) }
        })
        .await;
        assert_eq!(result.unwrap().status, StatusCode::OK);
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test]
    async fn a_stop_ends_the_loop_without_another_attempt() {
        let sent = Cell::new(0);
        let result = send_with_retry(&policy(), &TestRules, Replay::Idempotent, "/x", || {
            sent.set(sent.get() + 1);
            async { Err(AttemptError::Stop("closed".to_owned())) }
        })
        .await;
        assert_eq!((result.map(|a| a.status), sent.get()), (Err("closed".into()), 1));
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_even_for_a_create() {
        // Nothing listens on this port once the listener is dropped.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let http = reqwest::Client::new();
        let sent = Cell::new(0);
        let p = RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..RetryPolicy::datto()
        };
        let result = send_with_retry(&p, &TestRules, Replay::Create, "/x", || {
            sent.set(sent.get() + 1);
            let req = http.post(format!("http://{addr}/x"));
            async move { Ok(Answer::read(req).await?) }
        })
        .await;
        assert_eq!((result.map(|a| a.status), sent.get()), (Err("unreachable".into()), 4));
    }
}
