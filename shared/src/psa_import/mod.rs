//! Importing companies, contacts, locations, configurations and users from a
//! PSA into the portal: a preview, overrides, apply, and the nightly run.
//!
//! - [`plan`]: the rules that decide, per PSA record, match / create / exclude.
//! - [`PsaImporter::preview`] lists every record with its decision; nothing is written.
//! - [`PsaImporter::start`] queues a run (one at a time per integration, under a
//!   lease); [`PsaImporter::run`] executes it kind by kind, companies first,
//!   writing after each kind and saving the run's counts as it goes, so a
//!   failure half-way keeps what was written and a re-run picks up the rest
//!   (created records have stable ids: see [`plan::portal_id`]).
//! - [`PsaImporter::schedule_all`]: the nightly EventBridge schedule queues a run
//!   for every PSA integration; the DynamoDB stream hands it to the worker.
//!
//! Portal companies are [`crate::companies::Company`] items; the other kinds
//! are [`crate::store::PortalRecord`]s. Matching a portal record links it
//! (its `psa` id is set) without renaming it; a record the import created is
//! kept in step with the PSA on later runs.

mod items;
pub mod plan;
pub mod routes;

use crate::companies::Company;
use crate::companies::directory::PortalRecord;
use crate::companies::directory::record_item;
use crate::companies::items::company_item;
use crate::connections::{AutoCreate, ImportKinds, IntegrationSettings};
use crate::connections::{PsaIntegration, PsaIntegrationError, PsaIntegrations};
use crate::matching::normalize_name;
use crate::psa::{PsaConnector, PsaError, PsaKind, PsaRecord, PsaSource, RecordKind};
use crate::runs::events::RunRef;
use crate::runs::guard::{RunGuard, StopReason};
use crate::runs::worker::{Worker, WorkerFailure, drive};
use crate::runs::{RunError, RunKind, record_error, schedule_registry};
use crate::secrets::SecretsManager;
use crate::store::{DynamoStore, Item, StoreError, keys};
use crate::tenant::TenantId;
use crate::time::now_millis;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
pub use items::ImportStore;
use plan::{Decision, Existing, MatchBasis, Mode, Override, OverrideAction, Planned};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// At most this many errors are kept on a run record.
const MAX_ERRORS: usize = 50;
/// A run that has not finished in this time has crashed; its lease expires.
const LEASE_TTL_MS: i64 = 20 * 60 * 1000;
/// Writes per BatchWriteItem round (25 a call, several calls in flight).
const WRITE_CHUNK: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Integration(#[from] PsaIntegrationError),
    #[error("an import is running already ({0})")]
    InProgress(String),
    #[error("integration {0} is disabled")]
    Disabled(String),
    #[error("no import run {0}")]
    RunNotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

impl From<PsaError> for ImportError {
    fn from(e: PsaError) -> Self {
        ImportError::Integration(PsaIntegrationError::Psa(e))
    }
}

pub use crate::runs::{RunStatus, Trigger};

/// PSA import runs: `PSARUN#{runId}` items, the `PSAIMPORT#LEASE` lease;
/// `queued` runs wait for the worker.
pub static PSA_IMPORT_RUNS: RunKind = RunKind {
    entity: "psa-import-run",
    sk_prefix: "PSARUN#",
    lease_sk: "PSAIMPORT#LEASE",
    lease_entity: "psa-import-lease",
    waiting: &[RunStatus::Queued],
};

/// What happened to the records of one kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindCounts {
    pub total: u64,
    pub matched: u64,
    pub created: u64,
    /// Linked or brought in step with the PSA (a subset of `matched`).
    pub updated: u64,
    pub excluded: u64,
    pub pending: u64,
    /// Portal records of this integration whose PSA record is gone (deleted
    /// there): made inactive by the run.
    #[serde(default)]
    pub deactivated: u64,
}

/// What a PSA import run's error adds: the kind of record it was importing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportErrorContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RecordKind>,
}

/// One entry of a PSA import run's error list.
pub type ImportRunError = RunError<ImportErrorContext>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRun {
    pub run_id: String,
    pub integration_id: String,
    /// `manual` (apply) or `schedule` (nightly).
    pub trigger: Trigger,
    pub status: RunStatus,
    /// The kind being imported now, while running.
    pub current_kind: Option<RecordKind>,
    pub counts: BTreeMap<RecordKind, KindCounts>,
    /// "Create unmatched": the kind whose waiting records this run creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_unmatched: Option<RecordKind>,
    pub writes: u64,
    pub errors: Vec<ImportRunError>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl ImportRun {
    fn record_error(&mut self, code: &str, message: String, kind: Option<RecordKind>) {
        record_error(&mut self.errors, MAX_ERRORS, code, message, ImportErrorContext { kind });
    }
}

/// One page of a preview: counts over everything, records filtered and paged.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub counts: BTreeMap<RecordKind, KindCounts>,
    pub records: Vec<Planned>,
    /// Offset of the next page of records, when there is one.
    pub next_offset: Option<usize>,
}

#[derive(Debug, Default, Clone)]
pub struct PreviewFilter {
    pub kind: Option<RecordKind>,
    /// `match`, `create`, `exclude` or `pending`.
    pub action: Option<String>,
    pub offset: usize,
    pub limit: usize,
}

/// A request to change overrides: `auto` removes one.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OverrideInput {
    pub kind: RecordKind,
    pub psa_id: String,
    /// `match`, `create`, `exclude` or `auto`.
    pub action: String,
    pub target_id: Option<String>,
}

/// What the import needs, built once per process.
pub struct PsaImporter<'a> {
    pub store: &'a DynamoStore,
    pub secrets: &'a SecretsManager,
    pub psa: &'a PsaConnector,
    pub settings: &'a IntegrationSettings,
}

/// The portal records of one kind, as the plan sees them and as the writer needs them.
enum Portal {
    Companies(HashMap<String, Company>),
    Records(HashMap<String, PortalRecord>),
}

impl Portal {
    /// The portal records as one integration's plan sees them: linked to it
    /// (by PSA id), free, or taken by another integration (never shared).
    fn existing(&self, integration: &PsaIntegration) -> Vec<Existing> {
        let view = |kind: Option<PsaKind>, psa_id: &Option<String>, owner: &Option<String>| {
            match (psa_id, owner) {
                (None, _) => (None, false),
                (Some(id), Some(owner)) if *owner == integration.id => (Some(id.clone()), false),
                // Linked by hand to this PSA kind, by no integration yet: this one may take it.
                (Some(id), None) if kind == Some(integration.kind) => (Some(id.clone()), false),
                _ => (None, true),
            }
        };
        match self {
            Portal::Companies(all) => all
                .values()
                .map(|c| {
                    let (psa_id, taken) = view(c.psa_kind, &c.psa_id, &c.psa_integration_id);
                    Existing {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        company_id: None,
                        email: None,
                        psa_id,
                        taken,
                    }
                })
                .collect(),
            Portal::Records(all) => all
                .values()
                .map(|r| {
                    let (psa_id, taken) = view(r.psa_kind, &r.psa_id, &r.integration_id);
                    Existing {
                        id: r.id.clone(),
                        name: r.name.clone(),
                        company_id: r.company_id.clone(),
                        email: r.email.clone(),
                        psa_id,
                        taken,
                    }
                })
                .collect(),
        }
    }
}

impl PsaImporter<'_> {
    fn integrations(&self) -> PsaIntegrations<'_> {
        PsaIntegrations {
            store: self.store,
            secrets: self.secrets,
            psa: self.psa,
            settings: self.settings,
        }
    }

    async fn portal(&self, tenant: &TenantId, kind: RecordKind) -> Result<Portal, StoreError> {
        Ok(match kind {
            RecordKind::Company => Portal::Companies(
                self.store
                    .all_companies(tenant)
                    .await?
                    .into_iter()
                    .map(|c| (c.id.clone(), c))
                    .collect(),
            ),
            other => Portal::Records(
                self.store
                    .directory(tenant, other)
                    .await?
                    .into_iter()
                    .map(|r| (r.id.clone(), r))
                    .collect(),
            ),
        })
    }

    /// Every PSA record with what apply would do to it. Reads the whole PSA
    /// account (a few hundred requests for a large MSP); writes nothing.
    pub async fn preview(
        &self,
        tenant: &TenantId,
        integration_id: &str,
        filter: &PreviewFilter,
    ) -> Result<Preview, ImportError> {
        let (integration, client) = self.integrations().connect(tenant, integration_id).await?;
        let overrides = self.import_store(tenant, integration_id).overrides().await?;
        let mut companies = HashMap::new();
        let mut counts = BTreeMap::new();
        let mut records = Vec::new();
        for kind in RecordKind::ALL {
            if !integration.import_kinds.is_on(kind) {
                self.switched_off(tenant, &integration, kind, &mut companies).await?;
                continue;
            }
            let listed = client.list_records(kind).await?;
            let portal = self.portal(tenant, kind).await?;
            let planned = self.plan(
                &integration,
                kind,
                listed,
                &portal,
                &overrides,
                &mut companies,
                Mode::Manual,
            );
            counts.insert(kind, count(&planned));
            records.extend(planned.into_iter().filter(|p| {
                filter.kind.is_none_or(|k| k == p.record.kind)
                    && filter.action.as_deref().is_none_or(|a| a == p.decision.action())
            }));
        }
        let limit = filter.limit.clamp(1, 5_000);
        let end = filter.offset.saturating_add(limit);
        let next_offset = (records.len() > end).then_some(end);
        let records = records.into_iter().skip(filter.offset).take(limit).collect();
        Ok(Preview {
            counts,
            records,
            next_offset,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        integration: &PsaIntegration,
        kind: RecordKind,
        listed: Vec<PsaRecord>,
        portal: &Portal,
        overrides: &HashMap<(RecordKind, String), Override>,
        companies: &mut HashMap<String, String>,
        mode: Mode,
    ) -> Vec<Planned> {
        let existing = portal.existing(integration);
        let planned = plan::plan_kind(&integration.id, kind, listed, &existing, overrides, companies, mode);
        if kind == RecordKind::Company {
            companies.extend(
                planned
                    .iter()
                    .filter_map(|p| Some((p.record.id.clone(), p.decision.portal_id()?.to_owned()))),
            );
        }
        planned
    }

    /// A kind switched off is neither listed nor written. With companies off,
    /// child records still find the companies this integration linked before.
    async fn switched_off(
        &self,
        tenant: &TenantId,
        integration: &PsaIntegration,
        kind: RecordKind,
        companies: &mut HashMap<String, String>,
    ) -> Result<(), StoreError> {
        if kind == RecordKind::Company {
            let portal = self.portal(tenant, kind).await?;
            companies.extend(
                portal
                    .existing(integration)
                    .into_iter()
                    .filter_map(|e| Some((e.psa_id?, e.id))),
            );
        }
        Ok(())
    }

    fn import_store<'s>(&'s self, tenant: &'s TenantId, integration_id: &'s str) -> ImportStore<'s> {
        ImportStore {
            store: self.store,
            tenant,
            integration_id,
        }
    }

    pub async fn overrides(&self, tenant: &TenantId, integration_id: &str) -> Result<Vec<Override>, ImportError> {
        self.integrations().get(tenant, integration_id).await?;
        let mut all: Vec<Override> = self
            .import_store(tenant, integration_id)
            .overrides()
            .await?
            .into_values()
            .collect();
        all.sort_by(|a, b| (a.kind, &a.psa_id).cmp(&(b.kind, &b.psa_id)));
        Ok(all)
    }

    /// Validates every change first (naming every problem), then writes them all.
    pub async fn set_overrides(
        &self,
        tenant: &TenantId,
        integration_id: &str,
        input: Vec<OverrideInput>,
    ) -> Result<Vec<Override>, ImportError> {
        self.integrations().get(tenant, integration_id).await?;
        if input.is_empty() || input.len() > 1_000 {
            return Err(ImportError::Invalid("`overrides` needs 1 to 1000 entries".into()));
        }
        let mut problems = Vec::new();
        let mut portal: HashMap<RecordKind, Portal> = HashMap::new();
        let mut changes = Vec::new();
        // Each record once per request: two changes of one key in one batch write
        // are refused by DynamoDB and would leave the request half-applied.
        let mut first_of: HashMap<(RecordKind, String), usize> = HashMap::new();
        for (i, o) in input.into_iter().enumerate() {
            let psa_id = o.psa_id.trim().to_owned();
            if psa_id.is_empty() || psa_id.len() > 64 {
                problems.push(format!("overrides[{i}]: `psaId` must be 1 to 64 characters"));
                continue;
            }
            if let Some(j) = first_of.insert((o.kind, psa_id.clone()), i) {
                problems.push(format!(
                    "overrides[{i}]: {} {psa_id} is named twice (also overrides[{j}]); send one decision per record",
                    o.kind.as_str()
                ));
                continue;
            }
            let action = match o.action.as_str() {
                "match" => Some(OverrideAction::Match),
                "create" => Some(OverrideAction::Create),
                "exclude" => Some(OverrideAction::Exclude),
                "undecided" => Some(OverrideAction::Undecided),
                "auto" => None,
                other => {
                    problems.push(format!(
                        "overrides[{i}]: unknown action `{other}` (match, create, exclude, undecided or auto)"
                    ));
                    continue;
                }
            };
            match (&action, &o.target_id) {
                (Some(OverrideAction::Match), None) => {
                    problems.push(format!(
                        "overrides[{i}]: `match` needs `targetId`, the portal record to match"
                    ));
                    continue;
                }
                (Some(OverrideAction::Match), Some(target)) => {
                    if let std::collections::hash_map::Entry::Vacant(slot) = portal.entry(o.kind) {
                        slot.insert(self.portal(tenant, o.kind).await?);
                    }
                    let exists = match &portal[&o.kind] {
                        Portal::Companies(m) => m.contains_key(target),
                        Portal::Records(m) => m.contains_key(target),
                    };
                    if !exists {
                        problems.push(format!("overrides[{i}]: no portal {} {target}", o.kind.as_str()));
                        continue;
                    }
                }
                (_, Some(_)) => {
                    problems.push(format!("overrides[{i}]: `targetId` is only for `match`"));
                    continue;
                }
                _ => {}
            }
            changes.push((
                o.kind,
                psa_id.clone(),
                action.map(|action| Override {
                    kind: o.kind,
                    psa_id,
                    action,
                    target_id: o.target_id,
                }),
            ));
        }
        if problems.is_empty() {
            let stored = self.import_store(tenant, integration_id).overrides().await?;
            problems.extend(shared_match_targets(&stored, &changes));
        }
        if !problems.is_empty() {
            return Err(ImportError::Invalid(problems.join("; ")));
        }
        self.import_store(tenant, integration_id)
            .set_overrides(&changes)
            .await?;
        self.overrides(tenant, integration_id).await
    }

    /// Changes the auto-create toggles and kind switches. Auto-create is
    /// offered only for kinds that are on: asking for it on a kind that is
    /// (or is being switched) off is refused, naming the field; a kind
    /// switched off takes its stored auto-create with it.
    pub async fn set_settings(
        &self,
        tenant: &TenantId,
        integration_id: &str,
        auto_create: Option<AutoCreate>,
        kinds: Option<ImportKinds>,
    ) -> Result<PsaIntegration, ImportError> {
        if auto_create.is_none() && kinds.is_none() {
            return Err(ImportError::Invalid(
                "nothing to change: give `autoCreate` and/or `kinds`".into(),
            ));
        }
        let current = self.integrations().get(tenant, integration_id).await?;
        let kinds_after = kinds.unwrap_or(current.import_kinds);
        let mut auto_after = auto_create.unwrap_or(current.auto_create);
        let toggles = [
            ("companies", RecordKind::Company),
            ("users", RecordKind::User),
            ("configurations", RecordKind::Configuration),
        ];
        let mut problems = Vec::new();
        for (name, kind) in toggles {
            let slot = match kind {
                RecordKind::Company => &mut auto_after.companies,
                RecordKind::User => &mut auto_after.users,
                _ => &mut auto_after.configurations,
            };
            if *slot && !kinds_after.is_on(kind) {
                if auto_create.is_some() {
                    problems.push(format!(
                        "`autoCreate.{name}` needs the {name} kind on (`kinds.{name}` is false)"
                    ));
                } else {
                    *slot = false;
                }
            }
        }
        if !problems.is_empty() {
            return Err(ImportError::Invalid(problems.join("; ")));
        }
        Ok(self
            .integrations()
            .set_import_settings(tenant, integration_id, Some(auto_after), Some(kinds_after))
            .await?)
    }

    /// Queues a run (apply or nightly); refused while another run holds the lease.
    pub async fn start(
        &self,
        tenant: &TenantId,
        integration_id: &str,
        trigger: Trigger,
    ) -> Result<ImportRun, ImportError> {
        self.queue(tenant, integration_id, trigger, None).await
    }

    /// Queues a "create unmatched" run: as the nightly run, and the records
    /// of `kind` left waiting (undecided, or auto-create off) are created.
    /// Refused for a kind that is switched off.
    pub async fn create_unmatched(
        &self,
        tenant: &TenantId,
        integration_id: &str,
        kind: RecordKind,
    ) -> Result<ImportRun, ImportError> {
        let integration = self.integrations().get(tenant, integration_id).await?;
        if !integration.import_kinds.is_on(kind) {
            return Err(ImportError::Invalid(format!(
                "the {} kind is switched off for this import; switch it on first",
                kind.as_str()
            )));
        }
        self.queue(tenant, integration_id, Trigger::Manual, Some(kind)).await
    }

    async fn queue(
        &self,
        tenant: &TenantId,
        integration_id: &str,
        trigger: Trigger,
        create_unmatched: Option<RecordKind>,
    ) -> Result<ImportRun, ImportError> {
        if !self.integrations().get(tenant, integration_id).await?.enabled {
            return Err(ImportError::Disabled(integration_id.to_owned()));
        }
        let now = now_millis();
        let run_id = format!("{now:013}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let store = self.import_store(tenant, integration_id);
        let previous = store.lease_holder().await?;
        if let Err(holder) = store.acquire_lease(&run_id, now, LEASE_TTL_MS).await? {
            return Err(ImportError::InProgress(holder));
        }
        // The lease was free or expired: a run that still holds it crashed.
        if let Some(crashed) = previous {
            self.mark_crashed(tenant, integration_id, &crashed, &run_id).await;
        }
        let run = ImportRun {
            run_id,
            integration_id: integration_id.to_owned(),
            trigger,
            status: RunStatus::Queued,
            current_kind: None,
            counts: BTreeMap::new(),
            create_unmatched,
            writes: 0,
            errors: Vec::new(),
            created_at: now,
            started_at: None,
            finished_at: None,
        };
        if let Err(e) = store.put_run(&run).await {
            store.release_lease(&run.run_id).await.ok();
            return Err(e.into());
        }
        tracing::info!(tenant = %tenant, integration = %integration_id, run = %run.run_id, trigger = trigger.as_str(), "PSA import queued");
        Ok(run)
    }

    /// Marks a run whose lease expired while it was queued or running as
    /// failed, naming the run that took over; a finished run is left alone.
    async fn mark_crashed(&self, tenant: &TenantId, integration_id: &str, crashed: &str, by: &str) {
        let store = self.import_store(tenant, integration_id);
        let Ok(Some(mut run)) = store.get_run(crashed).await else {
            return;
        };
        let was = run.status;
        if !matches!(was, RunStatus::Queued | RunStatus::Running) {
            return;
        }
        run.status = RunStatus::Failed;
        run.current_kind = None;
        run.finished_at = Some(now_millis());
        run.record_error(
            "psa_import.crashed",
            format!("the run stopped without finishing (its lease expired); run {by} took over"),
            None,
        );
        // Conditional on the status attribute (the worker claims through it).
        for from in [was, RunStatus::Running, RunStatus::Queued] {
            match store.claim_run(&run, from).await {
                Ok(true) => {
                    tracing::warn!(tenant = %tenant, integration = %integration_id, run = crashed, by, "crashed PSA import marked failed");
                    return;
                }
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, run = crashed, "could not mark a crashed PSA import");
                    return;
                }
            }
        }
    }

    pub async fn get_run(
        &self,
        tenant: &TenantId,
        integration_id: &str,
        run_id: &str,
    ) -> Result<ImportRun, ImportError> {
        self.integrations().get(tenant, integration_id).await?;
        self.import_store(tenant, integration_id)
            .get_run(run_id)
            .await?
            .ok_or_else(|| ImportError::RunNotFound(run_id.to_owned()))
    }

    /// A page of runs, newest first, after the run `after`; and the cursor of the next page.
    pub async fn runs(
        &self,
        tenant: &TenantId,
        integration_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ImportRun>, Option<String>), ImportError> {
        self.integrations().get(tenant, integration_id).await?;
        Ok(self.import_store(tenant, integration_id).runs(after, limit).await?)
    }

    /// Executes a queued run. A second delivery of the same run finds it
    /// claimed and returns it as it is.
    pub async fn run(&self, tenant: &TenantId, integration_id: &str, run_id: &str) -> Result<ImportRun, ImportError> {
        let store = self.import_store(tenant, integration_id);
        let Some(mut run) = store.get_run(run_id).await? else {
            return Err(ImportError::RunNotFound(run_id.to_owned()));
        };
        if run.status != RunStatus::Queued {
            return Ok(run);
        }
        run.status = RunStatus::Running;
        run.started_at = Some(now_millis());
        if !store.claim_run(&run, RunStatus::Queued).await? {
            return Ok(store.get_run(run_id).await?.unwrap_or(run));
        }
        // Every batch written back is checked first: the integration there
        // and on, the lease still this run's.
        let guard = RunGuard::new(self.store.clone(), tenant, integration_id, &PSA_IMPORT_RUNS, run_id);
        let outcome = match guard.check().await {
            Ok(()) => self.execute(tenant, integration_id, &mut run, &guard).await,
            Err(e) => Err(("store_unavailable", e.to_string(), None)),
        };
        let outcome = match (outcome, guard.stopped()) {
            (Err((_, _, kind)), Some(reason)) => Err((reason.code(), reason.message().to_owned(), kind)),
            (outcome, _) => outcome,
        };
        if guard.stopped() == Some(StopReason::Deleted) {
            // The run item goes with the integration: nothing more is written.
            store.release_lease(run_id).await?;
            tracing::info!(tenant = %tenant, integration = %integration_id, run = %run_id, "PSA import stopped: the integration was deleted");
            run.record_error(
                StopReason::Deleted.code(),
                StopReason::Deleted.message().to_owned(),
                None,
            );
            run.status = RunStatus::Failed;
            run.finished_at = Some(now_millis());
            return Ok(run);
        }
        run.status = match outcome {
            Ok(()) => RunStatus::Succeeded,
            Err((code, message, kind)) => {
                tracing::warn!(tenant = %tenant, integration = %integration_id, run = %run_id, code, %message, "PSA import failed");
                run.record_error(code, message, kind);
                RunStatus::Failed
            }
        };
        run.current_kind = None;
        run.finished_at = Some(now_millis());
        store.put_run(&run).await?;
        store.release_lease(run_id).await?;
        tracing::info!(tenant = %tenant, integration = %integration_id, run = %run_id, status = run.status.as_str(), writes = run.writes, "PSA import finished");
        Ok(run)
    }

    async fn execute(
        &self,
        tenant: &TenantId,
        integration_id: &str,
        run: &mut ImportRun,
        guard: &RunGuard,
    ) -> Result<(), (&'static str, String, Option<RecordKind>)> {
        let failed = |kind: Option<RecordKind>| move |e: ImportError| (error_code(&e), e.to_string(), kind);
        let (integration, client) = self
            .integrations()
            .connect(tenant, integration_id)
            .await
            .map_err(|e| failed(None)(e.into()))?;
        let store = self.import_store(tenant, integration_id);
        let overrides = store.overrides().await.map_err(|e| failed(None)(e.into()))?;
        let mode = match (run.create_unmatched, run.trigger) {
            (Some(kind), _) => Mode::CreateUnmatched(integration.auto_create, kind),
            (None, Trigger::Schedule) => Mode::Scheduled(integration.auto_create),
            (None, Trigger::Manual) => Mode::Manual,
        };
        let mut companies = HashMap::new();
        for kind in RecordKind::ALL {
            if !integration.import_kinds.is_on(kind) {
                self.switched_off(tenant, &integration, kind, &mut companies)
                    .await
                    .map_err(|e| failed(Some(kind))(e.into()))?;
                continue;
            }
            run.current_kind = Some(kind);
            let listed = client
                .list_records(kind)
                .await
                .map_err(|e| failed(Some(kind))(e.into()))?;
            let portal = self
                .portal(tenant, kind)
                .await
                .map_err(|e| failed(Some(kind))(e.into()))?;
            let planned = self.plan(&integration, kind, listed, &portal, &overrides, &mut companies, mode);
            let mut counts = count(&planned);
            let writes = self
                .write_kind(tenant, &integration, &portal, &planned, &mut counts, guard)
                .await;
            run.writes += writes.as_ref().map_or(0, |w| *w);
            run.counts.insert(kind, counts);
            writes.map_err(|e| failed(Some(kind))(e.into()))?;
            // Progress shows while the run goes on; losing this write loses nothing but the view.
            guard.check().await.map_err(|e| failed(Some(kind))(e.into()))?;
            // The device index follows the configurations just written (the alert round trip
            // finds a device's configuration through it); the next run repairs a failure.
            if kind == RecordKind::Configuration {
                match self.store.refresh_device_index(tenant).await {
                    Ok((written, deleted)) => {
                        tracing::info!(tenant = %tenant, written, deleted, "device configuration index refreshed");
                    }
                    Err(e) => {
                        tracing::warn!(tenant = %tenant, error = %e, "could not refresh the device configuration index")
                    }
                }
            }
            if let Err(e) = store.put_run(run).await {
                tracing::warn!(error = %e, "could not save import progress");
            }
        }
        Ok(())
    }

    /// Writes what a kind's plan decided: created records, and links or
    /// refreshed fields on matched ones. Unchanged records are not written.
    async fn write_kind(
        &self,
        tenant: &TenantId,
        integration: &PsaIntegration,
        portal: &Portal,
        planned: &[Planned],
        counts: &mut KindCounts,
        guard: &RunGuard,
    ) -> Result<u64, StoreError> {
        let now = now_millis();
        let mut items: Vec<Item> = Vec::new();
        for p in planned {
            let item = match (&p.decision, portal) {
                (Decision::Create { portal_id }, Portal::Companies(_)) => Some(company_item(
                    tenant,
                    &new_company(integration, &p.record, portal_id, now),
                )),
                (Decision::Create { portal_id }, Portal::Records(_)) => {
                    Some(record_item(tenant, &new_record(integration, p, portal_id, now)))
                }
                (Decision::Match { target_id, basis, .. }, Portal::Companies(all)) => all
                    .get(target_id)
                    .and_then(|c| linked_company(integration, c, &p.record, *basis, now))
                    .map(|c| company_item(tenant, &c)),
                (Decision::Match { target_id, basis, .. }, Portal::Records(all)) => all
                    .get(target_id)
                    .and_then(|r| linked_record(integration, r, p, *basis, now))
                    .map(|r| record_item(tenant, &r)),
                _ => None,
            };
            if let Some(item) = item {
                if matches!(p.decision, Decision::Match { .. }) {
                    counts.updated += 1;
                }
                items.push(item);
            }
        }
        // Records this integration linked whose PSA record is no longer listed
        // were deleted in the PSA: they stay, inactive.
        let listed: std::collections::HashSet<&str> = planned.iter().map(|p| p.record.id.as_str()).collect();
        let gone = |psa_id: &Option<String>, owner: &Option<String>, active: bool| {
            active
                && owner.as_deref() == Some(integration.id.as_str())
                && psa_id.as_deref().is_some_and(|id| !listed.contains(id))
        };
        match portal {
            Portal::Companies(all) => {
                for c in all
                    .values()
                    .filter(|c| gone(&c.psa_id, &c.psa_integration_id, c.active))
                {
                    counts.deactivated += 1;
                    items.push(company_item(
                        tenant,
                        &Company {
                            active: false,
                            updated_at: now,
                            ..c.clone()
                        },
                    ));
                }
            }
            Portal::Records(all) => {
                for r in all.values().filter(|r| gone(&r.psa_id, &r.integration_id, r.active)) {
                    counts.deactivated += 1;
                    items.push(record_item(
                        tenant,
                        &PortalRecord {
                            active: false,
                            updated_at: now,
                            ..r.clone()
                        },
                    ));
                }
            }
        }
        let total = items.len() as u64;
        for chunk in items.chunks(WRITE_CHUNK) {
            let requests = chunk
                .iter()
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item.clone()))
                                .build()
                                .expect("item set"),
                        )
                        .build()
                })
                .collect();
            guard.check().await?;
            self.store.batch_write(requests).await?;
        }
        Ok(total)
    }

    /// Queues a nightly run for every PSA integration of every tenant; a
    /// running one is left alone. Returns how many were queued.
    pub async fn schedule_all(&self) -> Result<usize, ImportError> {
        let queued = schedule_registry(self.store, keys::PSA_INTEGRATION_REGISTRY, |tenant, id| async move {
            match self.start(&tenant, &id, Trigger::Schedule).await {
                Ok(run) => Ok(Some(run)),
                Err(ImportError::Disabled(_)) => {
                    tracing::info!(tenant = %tenant, integration = %id, "integration disabled; not queued");
                    Ok(None)
                }
                Err(ImportError::InProgress(run)) => {
                    tracing::info!(tenant = %tenant, integration = %id, run, "import still running; not queued");
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
        .await?;
        Ok(queued.len())
    }
}

/// Two `match` overrides on one portal record would link it to two PSA
/// records (and write it twice in one batch). Names each clash, counting the
/// stored overrides as they will be after `changes`.
fn shared_match_targets(
    stored: &HashMap<(RecordKind, String), Override>,
    changes: &[(RecordKind, String, Option<Override>)],
) -> Vec<String> {
    let mut after: BTreeMap<(RecordKind, String), &Override> =
        stored.iter().map(|(k, o)| ((k.0, k.1.clone()), o)).collect();
    for (kind, psa_id, o) in changes {
        match o {
            Some(o) => after.insert((*kind, psa_id.clone()), o),
            None => after.remove(&(*kind, psa_id.clone())),
        };
    }
    let mut by_target: BTreeMap<(RecordKind, &str), Vec<&str>> = BTreeMap::new();
    for o in after.values() {
        if let (OverrideAction::Match, Some(target)) = (&o.action, &o.target_id) {
            by_target.entry((o.kind, target)).or_default().push(&o.psa_id);
        }
    }
    by_target
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|((kind, target), ids)| {
            format!(
                "portal {} {target} would be matched to {} {}s ({}); one portal record takes one match",
                kind.as_str(),
                ids.len(),
                kind.as_str(),
                ids.join(", ")
            )
        })
        .collect()
}

fn error_code(e: &ImportError) -> &'static str {
    match e {
        ImportError::Integration(PsaIntegrationError::Psa(p)) => p.code(),
        ImportError::Integration(PsaIntegrationError::NotFound(_)) => "not_found",
        ImportError::Integration(PsaIntegrationError::Secrets(_)) => "secrets_unavailable",
        ImportError::Store(_) | ImportError::Integration(PsaIntegrationError::Store(_)) => "store_unavailable",
        _ => "import_failed",
    }
}

fn count(planned: &[Planned]) -> KindCounts {
    let mut c = KindCounts {
        total: planned.len() as u64,
        ..KindCounts::default()
    };
    for p in planned {
        match p.decision {
            Decision::Match { .. } => c.matched += 1,
            Decision::Create { .. } => c.created += 1,
            Decision::Exclude { .. } => c.excluded += 1,
            Decision::Pending { .. } => c.pending += 1,
        }
    }
    c
}

fn new_company(integration: &PsaIntegration, r: &PsaRecord, id: &str, now: i64) -> Company {
    Company {
        id: id.to_owned(),
        name: r.name.clone(),
        normalized_name: normalize_name(&r.name),
        source: integration.kind.as_str().to_owned(),
        psa_kind: Some(integration.kind),
        psa_id: Some(r.id.clone()),
        psa_integration_id: Some(integration.id.clone()),
        active: r.active,
        company_type: r.company_type.clone(),
        created_at: now,
        updated_at: now,
    }
}

/// The company after linking; `None` when nothing changes. A company the
/// import created follows the PSA's name; one a person made keeps its own.
fn linked_company(
    integration: &PsaIntegration,
    c: &Company,
    r: &PsaRecord,
    basis: MatchBasis,
    now: i64,
) -> Option<Company> {
    let kind = integration.kind.as_str();
    let mut next = c.clone();
    next.psa_kind = Some(integration.kind);
    next.psa_id = Some(r.id.clone());
    next.psa_integration_id = Some(integration.id.clone());
    // A linked company follows the PSA record's state (inactive or active again).
    next.active = r.active;
    if r.company_type.is_some() {
        next.company_type = r.company_type.clone();
    }
    if basis == MatchBasis::PsaId && c.source == kind && c.name != r.name {
        next.name = r.name.clone();
        next.normalized_name = normalize_name(&r.name);
    }
    (next != *c).then_some(Company {
        updated_at: now,
        ..next
    })
}

fn new_record(integration: &PsaIntegration, p: &Planned, id: &str, now: i64) -> PortalRecord {
    let r = &p.record;
    PortalRecord {
        kind: r.kind,
        id: id.to_owned(),
        name: r.name.clone(),
        normalized_name: normalize_name(&r.name),
        company_id: p.portal_company_id.clone(),
        active: r.active,
        email: r.email.clone(),
        serial_number: r.serial_number.clone(),
        configuration_type: r.configuration_type.clone(),
        rmm_device_uid: r.rmm_device_uid.clone(),
        source: integration.kind.as_str().to_owned(),
        psa_kind: Some(integration.kind),
        psa_id: Some(r.id.clone()),
        integration_id: Some(integration.id.clone()),
        created_at: now,
        updated_at: now,
    }
}

fn linked_record(
    integration: &PsaIntegration,
    existing: &PortalRecord,
    p: &Planned,
    basis: MatchBasis,
    now: i64,
) -> Option<PortalRecord> {
    let kind = integration.kind.as_str();
    let mut next = existing.clone();
    next.psa_kind = Some(integration.kind);
    next.psa_id = Some(p.record.id.clone());
    next.integration_id = Some(integration.id.clone());
    next.active = p.record.active;
    if basis == MatchBasis::PsaId && existing.source == kind {
        let fresh = new_record(integration, p, &existing.id, existing.created_at);
        next = PortalRecord {
            company_id: fresh.company_id.or(next.company_id),
            ..fresh
        };
    }
    (next != *existing).then_some(PortalRecord {
        updated_at: now,
        ..next
    })
}

impl Worker for PsaImporter<'_> {
    type Error = ImportError;

    fn kind(&self) -> &'static RunKind {
        &PSA_IMPORT_RUNS
    }

    async fn schedule(&self) -> Result<usize, ImportError> {
        self.schedule_all().await
    }

    async fn run(&self, r: &RunRef) -> Result<RunStatus, ImportError> {
        match PsaImporter::run(self, &r.tenant, &r.integration_id, &r.run_id).await {
            Ok(run) => Ok(run.status),
            // Gone with its integration: nothing to do, and nothing to retry.
            Err(ImportError::RunNotFound(_)) => Ok(RunStatus::Failed),
            Err(e) => Err(e),
        }
    }
}

/// The PSA import worker's events, through the run machine's driver: the
/// nightly tick queues runs, stream records of queued runs are run.
pub async fn handle_worker_event(
    importer: &PsaImporter<'_>,
    event: &serde_json::Value,
) -> Result<serde_json::Value, WorkerFailure> {
    drive(importer, event).await
}
