//! The run machine the workers share. A run is a unit of background work
//! on one integration (a sync, a PSA import; later the device-import and
//! reconcile jobs) that lives as an item in the integration's partition and
//! moves through one set of statuses:
//!
//! ```text
//! queued -> running -> succeeded | partial | failed
//!              \-> continuing -> running ...   (outgrew one invocation)
//! ```
//!
//! - [`RunStatus`], [`Trigger`]: the statuses and what started a run.
//! - [`RunError`], [`record_error`]: the capped error list a run carries.
//! - [`RunKind`]: where a kind of run keeps its items and its lease, and
//!   which statuses wait for a worker.
//! - [`events`]: the two shapes a worker is invoked with.
//! - [`worker`]: one driver for every worker Lambda (schedule, then runs).
//! - [`schedule_registry`]: the schedule's walk over the registry of integrations.
//! - [`history`]: a kind's runs newest first, paged, and what an integration shows of them.
//! - [`guard`]: the check before each batch a run writes (integration there, on, lease held).
//! - [`RunStarter`]: a port through which a lower flow starts a higher flow's run
//!   (connections queues the first sync of a new integration), wired in `app.rs`.
//!
//! One run at a time per integration and kind: a [`crate::store::Lease`]
//! taken before the run is queued and released when it finishes; a run that
//! crashed lets its lease expire, and the next run marks it failed.

pub mod events;
pub mod guard;
pub mod history;
pub mod worker;

use crate::store::{DynamoStore, Lease, StoreError};
use crate::tenant::TenantId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Written by the API or the schedule; a worker picks it up.
    Queued,
    /// An invocation is working on it.
    Running,
    /// Outgrew one invocation; the next picks it up where it stopped.
    Continuing,
    Succeeded,
    /// Finished, but part of the work failed; the next run resumes it.
    Partial,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Continuing => "continuing",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }

    /// Not finished: queued, running or continuing.
    pub fn is_active(self) -> bool {
        matches!(self, RunStatus::Queued | RunStatus::Running | RunStatus::Continuing)
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// A person: Sync Now, Apply.
    Manual,
    /// The EventBridge schedule.
    Schedule,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Schedule => "schedule",
        }
    }
}

/// One entry of a run's error list; `C` is what the kind of run adds (the
/// phase and time of a sync, the record kind of a PSA import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunError<C> {
    pub code: String,
    pub message: String,
    #[serde(flatten)]
    pub context: C,
}

/// Longest message kept, in bytes (cut on a character boundary).
pub const MAX_ERROR_MESSAGE: usize = 500;

/// Appends an error unless the list already holds `cap`; returns whether it was kept.
/// Long messages are cut, so one misbehaving upstream cannot grow the item.
pub fn record_error<C>(errors: &mut Vec<RunError<C>>, cap: usize, code: &str, message: String, context: C) -> bool {
    if errors.len() >= cap {
        return false;
    }
    let mut message = message;
    if message.len() > MAX_ERROR_MESSAGE {
        let mut end = MAX_ERROR_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    errors.push(RunError {
        code: code.to_owned(),
        message,
        context,
    });
    true
}

/// Where a kind of run keeps its items and its lease, and what a worker waits for.
#[derive(Debug, Clone, Copy)]
pub struct RunKind {
    /// The run item's `entity` (the stream filter keys on it).
    pub entity: &'static str,
    /// Sort-key prefix of the run items: `{prefix}{runId}`.
    pub sk_prefix: &'static str,
    /// The lease item's sort key and entity.
    pub lease_sk: &'static str,
    pub lease_entity: &'static str,
    /// Statuses that hand a run to a worker invocation.
    pub waiting: &'static [RunStatus],
}

impl RunKind {
    pub fn run_sk(&self, run_id: &str) -> String {
        format!("{}{run_id}", self.sk_prefix)
    }

    /// The integration's lease of this kind (partition `pk`).
    pub fn lease<'a>(&self, pk: &'a str) -> Lease<'a> {
        Lease {
            pk,
            sk: self.lease_sk,
            entity: self.lease_entity,
        }
    }

    pub fn waiting_strs(&self) -> Vec<&'static str> {
        self.waiting.iter().map(|s| s.as_str()).collect()
    }
}

/// The future a [`RunStarter`] returns: the run it queued (`None` when none was
/// needed), or why it could not.
pub type StartFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<history::RunSummary>, String>> + Send + 'a>>;

/// Starts a run of an integration for a flow that may not import the run's own flow.
pub trait RunStarter: Send + Sync {
    fn start<'a>(&'a self, tenant: &'a TenantId, integration_id: &'a str) -> StartFuture<'a>;
}

/// The schedule's tick: calls `start` for every integration of `registry`
/// (a `GSI1` partition), one after the other; a failure is logged and the
/// walk goes on. Returns what the starts returned.
pub async fn schedule_registry<T, E, F, Fut>(
    store: &DynamoStore,
    registry: &str,
    start: F,
) -> Result<Vec<T>, StoreError>
where
    E: std::fmt::Display,
    F: Fn(TenantId, String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, E>>,
{
    let mut started = Vec::new();
    for (tenant, id) in store.registry_of(registry).await? {
        match start(tenant.clone(), id.clone()).await {
            Ok(Some(run)) => started.push(run),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(tenant = %tenant, integration = %id, error = %e, "could not start a scheduled run")
            }
        }
    }
    Ok(started)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_list_is_capped_and_long_messages_are_cut() {
        let mut errors: Vec<RunError<()>> = Vec::new();
        assert!(record_error(&mut errors, 2, "a", "é".repeat(400), ()));
        assert!(errors[0].message.len() <= MAX_ERROR_MESSAGE && errors[0].message.starts_with('é'));
        assert!(record_error(&mut errors, 2, "b", "x".into(), ()));
        assert!(!record_error(&mut errors, 2, "c", "y".into(), ()));
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn statuses_and_triggers_read_as_they_are_stored() {
        for s in [RunStatus::Queued, RunStatus::Continuing, RunStatus::Partial] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(serde_json::to_value(Trigger::Schedule).unwrap(), "schedule");
        assert!(RunStatus::Continuing.is_active() && !RunStatus::Partial.is_active());
    }
}
