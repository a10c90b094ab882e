//! The request gate the three simulators put every API request through: latency injection,
//! fault injection, authentication and the rate/thread limits, in one pipeline ([`pass`]).
//!
//! What differs between the products is a parameter: each simulator implements [`Gated`]
//! (its auth scheme, its limits' rules, the shapes of its error answers) and chooses where the
//! injected faults sit ([`FaultStage`]) and how they are drawn ([`FaultRules`]). The faults
//! themselves ([`Faults`]) are one type for all three, set in Rust or as JSON through the
//! admin routes (see `admin.rs`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Locks, ignoring poisoning (a panicking test helper must not wedge a server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Injected faults; set with each simulator's `set_faults` or `POST /_sim/faults` (JSON with
/// these snake_case names, `latency` as `latency_ms`; an empty body clears them).
///
/// `path_contains` (if set) restricts `latency`, `after_successes`, `fail_next`,
/// `force_429_next` and `fail_rate` to the requests whose path contains it. Of the matching
/// requests with a count- or rate-based fault pending, the first `after_successes` pass; then
/// `fail_next` and `force_429_next` count down (which comes first is the simulator's rule, see
/// [`FaultRules::first`]), then `fail_rate` draws. `fail_entity` is apart from all that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// The next N matching requests answer `status`.
    pub fail_next: u32,
    /// The status of injected failures (500 unless set).
    pub status: u16,
    pub path_contains: Option<String>,
    /// That many matching requests pass before the pending faults start.
    pub after_successes: u32,
    /// The next N matching requests answer 429, as the simulator's own limit would.
    pub force_429_next: u32,
    /// `Retry-After` of a forced 429 where the simulator's 429 carries the fault's own value
    /// (ConnectWise); Datto RMM and Autotask send their configured header instead.
    pub retry_after_secs: u64,
    /// Each matching request fails with this probability (seeded, reproducible).
    pub fail_rate: f64,
    /// Replaces the configured latency for matching requests while set.
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Option<Duration>,
    /// With `fail_after_pages`: once that many query pages of this entity were served, its
    /// requests answer `status` (`fail_entity_times` times; 0 = until the faults are changed).
    /// Only the Autotask simulator has entity endpoints.
    pub fail_entity: Option<String>,
    pub fail_after_pages: u32,
    pub fail_entity_times: u32,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            fail_next: 0,
            status: 500,
            path_contains: None,
            after_successes: 0,
            force_429_next: 0,
            retry_after_secs: 1,
            fail_rate: 0.0,
            latency: None,
            fail_entity: None,
            fail_after_pages: 0,
            fail_entity_times: 0,
        }
    }
}

impl Faults {
    /// Why the faults cannot be used, if so (`status` must be an HTTP status, `fail_rate` a
    /// probability).
    pub(crate) fn invalid(&self) -> Option<&'static str> {
        let status_ok = axum::http::StatusCode::from_u16(self.status).is_ok();
        (!status_ok || !(0.0..=1.0).contains(&self.fail_rate))
            .then_some("status must be a valid HTTP status and fail_rate within 0..=1")
    }
}

/// `Option<Duration>` as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

/// An injected fault the simulator answers in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// `fail_next`, `fail_rate` or `fail_entity`: answer this status.
    Status(u16),
    /// `force_429_next`: answer as the simulator's limit does.
    TooMany { retry_after_secs: u64 },
}

/// Which of `fail_next` and `force_429_next` a request meets first when both are pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FirstFault {
    TooMany,
    Status,
}

/// How a simulator draws its faults.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FaultRules {
    /// `path_contains` ignores ASCII case (the simulator's paths do).
    pub path_ignores_case: bool,
    pub first: FirstFault,
    /// `force_429_next` also hits routes exempt from the limits (zone discovery, tokens).
    pub forced_429_on_open_routes: bool,
}

/// Where the latency and the faults sit in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultStage {
    /// Before everything else (auth, limits): Datto RMM, ConnectWise.
    BeforeAuth,
    /// After authentication and the limits, inside the thread slot: Autotask.
    AfterLimits,
}

/// Whether a route needs credentials (and so counts against the limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// No auth, no limits (tokens, zone discovery, company info, system status).
    Open,
    /// Authenticated and limited.
    Api,
}

/// What the request is, for the fault draw.
pub(crate) struct FaultScope<'a> {
    pub path: &'a str,
    /// The entity endpoint (Autotask), for `fail_entity`.
    pub entity: Option<&'a str>,
    pub access: Access,
}

struct FaultState {
    faults: Faults,
    rng: Rng,
    /// Query pages served per entity since the faults were set.
    pages: HashMap<String, u32>,
}

/// The fault and latency state one simulator shares between its server and its handle.
pub(crate) struct Gate {
    rules: FaultRules,
    latency: Duration,
    state: Mutex<FaultState>,
}

impl Gate {
    /// `latency` is the configured one; `seed` makes `fail_rate` reproducible.
    pub(crate) fn new(rules: FaultRules, latency: Duration, seed: u64) -> Gate {
        Gate {
            rules,
            latency,
            state: Mutex::new(FaultState {
                faults: Faults::default(),
                rng: Rng::derive(seed, 0xFA17),
                pages: HashMap::new(),
            }),
        }
    }

    /// Replaces the faults (page counters start afresh).
    pub(crate) fn set_faults(&self, faults: Faults) {
        let mut s = lock(&self.state);
        s.faults = faults;
        s.pages.clear();
    }

    /// The faults still pending (`fail_next`, `force_429_next`, ... count down).
    pub(crate) fn faults(&self) -> Faults {
        lock(&self.state).faults.clone()
    }

    /// Counts a query page of `entity` served, for `fail_after_pages`.
    pub(crate) fn page_served(&self, entity: &str) {
        *lock(&self.state).pages.entry(entity.to_string()).or_default() += 1;
    }

    /// Sleeps the latency that applies to the request, then draws its fault.
    pub(crate) async fn inject(&self, scope: &FaultScope<'_>) -> Option<Fault> {
        let (latency, fault) = self.draw(scope);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        fault
    }

    fn draw(&self, scope: &FaultScope<'_>) -> (Duration, Option<Fault>) {
        let rules = self.rules;
        let mut guard = lock(&self.state);
        let s = &mut *guard;
        let f = &mut s.faults;
        let matches = f.path_contains.as_deref().is_none_or(|p| {
            if rules.path_ignores_case {
                scope.path.to_ascii_lowercase().contains(&p.to_ascii_lowercase())
            } else {
                scope.path.contains(p)
            }
        });
        let latency = match f.latency {
            Some(l) if matches => l,
            _ => self.latency,
        };
        let forced = f.force_429_next > 0 && (scope.access == Access::Api || rules.forced_429_on_open_routes);
        if matches && (forced || f.fail_next > 0 || f.fail_rate > 0.0) {
            if f.after_successes > 0 {
                f.after_successes -= 1;
                return (latency, None);
            }
            let too_many = |f: &mut Faults| {
                f.force_429_next -= 1;
                Fault::TooMany {
                    retry_after_secs: f.retry_after_secs,
                }
            };
            let status = |f: &mut Faults| {
                f.fail_next -= 1;
                Fault::Status(f.status)
            };
            let fault = match rules.first {
                FirstFault::TooMany if forced => Some(too_many(f)),
                FirstFault::TooMany if f.fail_next > 0 => Some(status(f)),
                FirstFault::Status if f.fail_next > 0 => Some(status(f)),
                FirstFault::Status if forced => Some(too_many(f)),
                _ => None,
            };
            if fault.is_some() {
                return (latency, fault);
            }
            if f.fail_rate > 0.0 && s.rng.chance(f.fail_rate) {
                return (latency, Some(Fault::Status(f.status)));
            }
        }
        let entity_hit = f
            .fail_entity
            .as_deref()
            .zip(scope.entity)
            .is_some_and(|(want, have)| want.eq_ignore_ascii_case(have))
            && s.pages.get(scope.entity.unwrap_or("")).copied().unwrap_or(0) >= f.fail_after_pages;
        if !entity_hit {
            return (latency, None);
        }
        match f.fail_entity_times {
            0 => {}
            1 => f.fail_entity = None,
            n => f.fail_entity_times = n - 1,
        }
        (latency, Some(Fault::Status(f.status)))
    }
}

/// What passing the limits gives: something to hold until the answer is ready (a thread
/// slot), and how long to slow the answer down.
pub(crate) struct Admission<P> {
    pub permit: P,
    pub slow_down: Duration,
}

/// One request to one simulator, as the gate sees it: what differs between the simulators'
/// gates (auth scheme, limits, error shapes) is how they implement this.
pub(crate) trait Gated {
    /// What authentication proves about the caller.
    type Caller;
    /// Held while the request is served (e.g. a thread slot).
    type Permit;

    const FAULT_STAGE: FaultStage;

    fn gate(&self) -> &Gate;

    fn access(&self) -> Access;

    /// The entity endpoint of the request, for `fail_entity`.
    fn entity(&self) -> Option<&str> {
        None
    }

    /// The answer to an injected fault (counting it in the simulator's stats).
    fn fault_response(&self, fault: Fault) -> Response;

    /// Refusals before authentication, for every route (Datto RMM's IP block).
    fn screen(&self) -> Result<(), Box<Response>> {
        Ok(())
    }

    fn authenticate(&self, headers: &HeaderMap) -> Result<Self::Caller, Box<Response>>;

    /// The rate and thread limits: admitted, or the refusal.
    fn admit(&self, caller: &Self::Caller) -> Result<Admission<Self::Permit>, Box<Response>>;
}

/// A request through the gate: who called (`None` on open routes) and what it holds.
pub(crate) struct Passed<G: Gated> {
    pub caller: Option<G::Caller>,
    pub permit: Option<G::Permit>,
}

/// Puts one request through the gate: latency and faults (at the simulator's stage), the
/// screen, then for API routes authentication and the limits (with their slow-down). `Err` is
/// the answer the request gets instead of reaching its endpoint.
pub(crate) async fn pass<G: Gated>(request: &G, path: &str, headers: &HeaderMap) -> Result<Passed<G>, Box<Response>> {
    let access = request.access();
    let scope = FaultScope {
        path,
        entity: request.entity(),
        access,
    };
    if G::FAULT_STAGE == FaultStage::BeforeAuth
        && let Some(fault) = request.gate().inject(&scope).await
    {
        return Err(Box::new(request.fault_response(fault)));
    }
    request.screen()?;
    let mut passed = Passed {
        caller: None,
        permit: None,
    };
    if access == Access::Api {
        let caller = request.authenticate(headers)?;
        let admission = request.admit(&caller)?;
        if !admission.slow_down.is_zero() {
            tokio::time::sleep(admission.slow_down).await;
        }
        passed.caller = Some(caller);
        passed.permit = Some(admission.permit);
    }
    if G::FAULT_STAGE == FaultStage::AfterLimits
        && let Some(fault) = request.gate().inject(&scope).await
    {
        return Err(Box::new(request.fault_response(fault)));
    }
    Ok(passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(first: FirstFault) -> Gate {
        let rules = FaultRules {
            path_ignores_case: false,
            first,
            forced_429_on_open_routes: true,
        };
        Gate::new(rules, Duration::ZERO, 1)
    }

    fn scope(path: &str) -> FaultScope<'_> {
        FaultScope {
            path,
            entity: None,
            access: Access::Api,
        }
    }

    #[test]
    fn order_follows_the_rules_and_after_successes_pass_first() {
        let faults = Faults {
            fail_next: 1,
            force_429_next: 1,
            after_successes: 1,
            status: 503,
            ..Faults::default()
        };
        let g = gate(FirstFault::Status);
        g.set_faults(faults.clone());
        assert_eq!(g.draw(&scope("/a")).1, None);
        assert_eq!(g.draw(&scope("/a")).1, Some(Fault::Status(503)));
        assert_eq!(g.draw(&scope("/a")).1, Some(Fault::TooMany { retry_after_secs: 1 }));
        assert_eq!(g.draw(&scope("/a")).1, None);

        let g = gate(FirstFault::TooMany);
        g.set_faults(Faults {
            after_successes: 0,
            ..faults
        });
        assert_eq!(g.draw(&scope("/a")).1, Some(Fault::TooMany { retry_after_secs: 1 }));
        assert_eq!(g.draw(&scope("/a")).1, Some(Fault::Status(503)));
    }

    #[test]
    fn faults_json_round_trips_with_latency_in_ms() {
        let f: Faults = serde_json::from_str(r#"{"fail_next": 2, "latency_ms": 150}"#).unwrap();
        assert_eq!(f.latency, Some(Duration::from_millis(150)));
        assert_eq!(f.status, 500);
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["latency_ms"], 150);
        assert!(serde_json::from_str::<Faults>(r#"{"nope": 1}"#).is_err());
        assert!(Faults { status: 0, ..f }.invalid().is_some());
    }
}
