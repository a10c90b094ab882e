//! Importing synced devices into portal assets.
//!
//! `POST /integrations/{id}/import` takes `{"deviceUids": [...]}` (1 to
//! 1,000 uids) or `{"category", "deviceType"}` (every staged device of that
//! Datto type: its site mapped, not removed) and queues a job
//! ([`super::jobs`]) that imports them slice by slice with the streams
//! here. Each device gets a result; a failing device never stops the
//! others (rules in [`super`]).
//!
//! Bounded memory at any size: the mappings are loaded once, devices are
//! read a query page (500) at a time, their import states fetched with
//! BatchGetItem for that page only, and assets + states written with
//! concurrent BatchWriteItem before the next page is read. The auto-import's
//! report lists every failure but at most [`MAX_RESULTS`] successes (its
//! counts are complete); a job keeps every result, in chunks.
//!
//! Auto-sync ([`DeviceImporter::auto_import`], run by the scheduled sync after a
//! complete run): every device of an auto-sync type in a mapped site that
//! has no asset yet is imported; an imported device whose asset would
//! change (hostname, OS, audit details, its site's company, the type's
//! mapping) is updated; unchanged ones cost no write. It reads only the
//! devices the sync wrote since its last pass, unless a mapping changed.

use super::mappings::PortalRef;
use super::types::DeviceTypes;
use super::{Asset, DevicesError, ImportState, ImportStatus};
use crate::site_mapping::SiteMapping;

use crate::store::{DynamoStore, keys};
use crate::sync::items::SyncStore;
use crate::sync::plan::{DeviceRecord, UNKNOWN};
use crate::tenant::TenantId;
use crate::time::{format_rfc3339, now_millis};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;

/// Uids one request may name.
pub const MAX_UIDS: usize = 1_000;
/// Successful results listed in one answer (failures are always all listed).
pub const MAX_RESULTS: usize = 5_000;
/// Devices read per query page while streaming.
const PAGE: i32 = 500;
/// Device shards streamed at once (4 lanes of 8 of the 32 shards).
pub(super) const LANES: u32 = 4;
/// `AUTOIMPORT#RESUME` of a full pass starts with this and the fingerprint
/// it works for; each further line is a lane's `{shard}\t{after uid}`.
const FULL_RESUME: &str = "full\t";
/// Run id prefix of a change list an out-of-time pass left for the next one.
const REST_PREFIX: &str = "rest-";

pub type TypeKey = (String, String);

/// A device's Datto (category, type), as sync counts it.
pub fn type_key(d: &DeviceRecord) -> TypeKey {
    (
        d.category.clone().unwrap_or_else(|| UNKNOWN.into()),
        d.device_type.clone().unwrap_or_else(|| UNKNOWN.into()),
    )
}

pub fn is_removed(d: &DeviceRecord) -> bool {
    d.removed_at.is_some() || d.deleted == Some(true)
}

/// Why a device was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    UnknownDevice,
    DeviceRemoved,
    SiteNotMapped,
    TypeNotMapped,
}

impl Failure {
    pub fn code(self) -> &'static str {
        match self {
            Failure::UnknownDevice => "unknown_device",
            Failure::DeviceRemoved => "device_removed",
            Failure::SiteNotMapped => "site_not_mapped",
            Failure::TypeNotMapped => "type_not_mapped",
        }
    }

    pub fn message(self, d: Option<&DeviceRecord>) -> String {
        let site = d
            .and_then(|d| d.site_name.clone().or(d.site_uid.clone()))
            .unwrap_or_default();
        let (category, device_type) = d.map(type_key).unwrap_or_default();
        match self {
            Failure::UnknownDevice => "unknown device: the integration's sync has not seen this uid".into(),
            Failure::DeviceRemoved => "the device was removed from Datto RMM".into(),
            Failure::SiteNotMapped => format!("site {site:?} is not mapped to a company"),
            Failure::TypeNotMapped => {
                format!("Datto type {category}/{device_type} is not mapped to a portal device type")
            }
        }
    }
}

/// What every import decision needs, loaded once per request.
#[derive(Debug, Clone, Default)]
pub struct ImportContext {
    pub integration: String,
    /// Site uid -> company id, mapped sites only.
    pub site_companies: HashMap<String, String>,
    /// Mapped Datto types -> portal type (types mapped to a type since deleted are left out).
    pub types: HashMap<TypeKey, PortalRef>,
    pub auto_sync: HashSet<TypeKey>,
}

impl ImportContext {
    pub fn company_of(&self, d: &DeviceRecord) -> Option<&String> {
        d.site_uid.as_ref().and_then(|s| self.site_companies.get(s))
    }

    /// Staged: in a mapped site.
    pub fn staged(&self, d: &DeviceRecord) -> bool {
        self.company_of(d).is_some()
    }

    /// A hash of everything besides the device that decides an asset: site
    /// mappings, type mappings (with the portal type's name) and the
    /// auto-sync types. While it stays the same, only changed devices can
    /// change an asset.
    pub fn fingerprint(&self) -> String {
        let mut h = crate::sync::hash::Fnv64::new();
        h.str(Some("import-context/1"));
        let mut sites: Vec<_> = self.site_companies.iter().collect();
        sites.sort();
        for (site, company) in sites {
            h.str(Some(site)).str(Some(company));
        }
        let mut types: Vec<_> = self.types.iter().collect();
        types.sort_by(|a, b| a.0.cmp(b.0));
        for ((c, t), p) in types {
            h.str(Some(c)).str(Some(t)).str(Some(&p.id)).str(Some(&p.name));
        }
        let mut auto: Vec<_> = self.auto_sync.iter().collect();
        auto.sort();
        for (c, t) in auto {
            h.str(Some("auto")).str(Some(c)).str(Some(t));
        }
        h.hex()
    }
}

/// The rules, in order.
pub fn decide<'c>(
    ctx: &'c ImportContext,
    device: Option<&DeviceRecord>,
) -> Result<(&'c String, &'c PortalRef), Failure> {
    let d = device.ok_or(Failure::UnknownDevice)?;
    if is_removed(d) {
        return Err(Failure::DeviceRemoved);
    }
    let company = ctx.company_of(d).ok_or(Failure::SiteNotMapped)?;
    let portal = ctx.types.get(&type_key(d)).ok_or(Failure::TypeNotMapped)?;
    Ok((company, portal))
}

pub fn build_asset(
    ctx: &ImportContext,
    d: &DeviceRecord,
    company: &str,
    portal: &PortalRef,
    previous: Option<&ImportState>,
    now: i64,
) -> Asset {
    Asset {
        id: Asset::id_for(&ctx.integration, &d.uid),
        hostname: d.hostname.clone(),
        manufacturer: d.manufacturer.clone(),
        model: d.model.clone(),
        serial_number: d.serial_number.clone(),
        operating_system: d.operating_system.clone(),
        device_type_id: portal.id.clone(),
        device_type_name: portal.name.clone(),
        company_id: company.to_owned(),
        integration_id: ctx.integration.clone(),
        device_uid: d.uid.clone(),
        linked: true,
        created_at: previous.and_then(|p| p.asset_created_at).unwrap_or(now),
        updated_at: now,
    }
}

/// How much the auto-import after a sync may do in one invocation.
#[derive(Debug, Clone, Copy)]
pub struct AutoImportLimits {
    /// From the auto-import's start; no page is started after it.
    pub time: Duration,
    /// Devices read per page (at most 500).
    pub page: i32,
}

/// Whether a streamed import went through every page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Complete,
    /// Stopped at its deadline. `resume_after` says where: for a stream, each
    /// unfinished lane's `{shard}\t{after uid}` on a line; for a pass through
    /// the changes, the last uid it dealt with (the rest is a change list).
    OutOfTime {
        resume_after: String,
    },
}

/// How a stream reads the devices: page size, where to start, when to stop.
pub(super) struct Paging {
    pub(super) size: i32,
    pub(super) start: Option<String>,
    pub(super) deadline: Option<Instant>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportRequest {
    Devices(Vec<String>),
    Type { category: String, device_type: String },
}

/// Reads the POST body, naming every problem.
pub fn parse_import_request(body: &Value) -> Result<ImportRequest, DevicesError> {
    let Some(obj) = body.as_object() else {
        return Err(DevicesError::Invalid("the body must be a JSON object".into()));
    };
    let mut problems: Vec<String> = obj
        .keys()
        .filter(|k| !matches!(k.as_str(), "deviceUids" | "category" | "deviceType"))
        .map(|k| format!("unknown field `{k}`"))
        .collect();
    let by_uid = obj.contains_key("deviceUids");
    let by_type = obj.contains_key("category") || obj.contains_key("deviceType");
    if by_uid == by_type {
        problems.push("give either `deviceUids` or `category` + `deviceType`".into());
        return Err(DevicesError::Invalid(problems.join("; ")));
    }
    if by_uid {
        let mut uids = Vec::new();
        match obj.get("deviceUids") {
            Some(Value::Array(a)) => {
                let mut seen = HashSet::new();
                for (i, v) in a.iter().enumerate() {
                    match v.as_str().map(str::trim) {
                        Some(u) if !u.is_empty() && u.len() <= 100 => {
                            if seen.insert(u.to_owned()) {
                                uids.push(u.to_owned());
                            }
                        }
                        _ => problems.push(format!("`deviceUids[{i}]` must be a device uid (a non-empty string)")),
                    }
                }
                if a.is_empty() {
                    problems.push("`deviceUids` must not be empty".into());
                }
                if uids.len() > MAX_UIDS {
                    problems.push(format!(
                        "`deviceUids` names more than {MAX_UIDS} devices; import a whole type instead"
                    ));
                }
            }
            _ => problems.push("`deviceUids` must be an array of device uids".into()),
        }
        return if problems.is_empty() {
            Ok(ImportRequest::Devices(uids))
        } else {
            Err(DevicesError::Invalid(problems.join("; ")))
        };
    }
    let mut text = |name: &str| match obj.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(_) => {
            problems.push(format!("`{name}` must be a non-empty string"));
            None
        }
        None => {
            problems.push(format!("`{name}` is required with `category`/`deviceType`"));
            None
        }
    };
    let category = text("category");
    let device_type = text("deviceType");
    match (category, device_type) {
        (Some(category), Some(device_type)) if problems.is_empty() => Ok(ImportRequest::Type { category, device_type }),
        _ => Err(DevicesError::Invalid(problems.join("; "))),
    }
}

/// One device's outcome in an import.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceResult {
    pub device_uid: String,
    pub status: ImportStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
    /// The failure's code (`site_not_mapped`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub requested: u64,
    pub imported: u64,
    pub failed: u64,
    /// Imported devices whose asset was already up to date (auto-sync only).
    pub unchanged: u64,
    pub results: Vec<DeviceResult>,
    /// True when successes were left out of `results` (counts are complete).
    pub results_truncated: bool,
    /// DynamoDB item writes.
    pub writes: u64,
    /// DynamoDB items read (devices, import states, bookkeeping).
    #[serde(skip)]
    pub reads: u64,
    pub finished_at: String,
    #[serde(skip)]
    listed_imported: usize,
    /// Lists every success (a job keeps them all, a page at a time).
    #[serde(skip)]
    unlimited: bool,
}

impl ImportReport {
    /// A report that lists every success (a job keeps them all).
    pub(super) fn unlimited() -> Self {
        Self {
            unlimited: true,
            ..Self::default()
        }
    }

    /// Adds what another part of the same import (another lane) reported.
    fn merge(&mut self, other: ImportReport) {
        self.requested += other.requested;
        self.unchanged += other.unchanged;
        self.writes += other.writes;
        self.reads += other.reads;
        self.failed += other.failed;
        for r in other.results {
            if r.status == ImportStatus::Imported {
                self.imported += 1;
                if !self.unlimited && self.listed_imported >= MAX_RESULTS {
                    self.results_truncated = true;
                    continue;
                }
                self.listed_imported += 1;
            }
            self.results.push(r);
        }
        // Successes the other part counted but did not list.
        let listed = other.listed_imported as u64;
        self.imported += other.imported.saturating_sub(listed);
        self.results_truncated |= other.results_truncated;
    }

    fn push(&mut self, r: DeviceResult) {
        match r.status {
            ImportStatus::Imported => {
                self.imported += 1;
                if !self.unlimited && self.listed_imported >= MAX_RESULTS {
                    self.results_truncated = true;
                    return;
                }
                self.listed_imported += 1;
            }
            ImportStatus::Failed => self.failed += 1,
        }
        self.results.push(r);
    }
}

pub struct DeviceImporter<'a> {
    pub store: &'a DynamoStore,
}

impl DeviceImporter<'_> {
    /// Site and type mappings, once per request.
    pub async fn context(&self, tenant: &TenantId, integration: &str) -> Result<ImportContext, DevicesError> {
        let portal_types = DeviceTypes { store: self.store };
        let (sites, mappings, portal) = tokio::try_join!(
            async { Ok::<_, DevicesError>(self.store.mappings(tenant, integration).await?) },
            async { Ok(self.store.type_mappings(tenant, integration).await?) },
            portal_types.list(tenant),
        )?;
        let portal: HashMap<String, String> = portal.into_iter().map(|t| (t.id, t.name)).collect();
        let mut ctx = ImportContext {
            integration: integration.to_owned(),
            site_companies: sites
                .into_iter()
                .filter_map(
                    |SiteMapping {
                         site_uid, company_id, ..
                     }| Some((site_uid, company_id?)),
                )
                .collect(),
            ..ImportContext::default()
        };
        for m in mappings {
            let key = (m.category, m.device_type);
            let Some(name) = m.maps_to.as_ref().and_then(|id| portal.get(id)) else {
                continue;
            };
            if m.auto_sync {
                ctx.auto_sync.insert(key.clone());
            }
            ctx.types.insert(
                key,
                PortalRef {
                    id: m.maps_to.clone().unwrap_or_default(),
                    name: name.clone(),
                },
            );
        }
        Ok(ctx)
    }

    /// The scheduled sync's import of auto-sync types (see the module docs).
    ///
    /// It touches only what changed: the devices the sync runs wrote since
    /// the last pass (their `CHANGED#` uids), unless the mappings changed
    /// since (the context's [fingerprint](ImportContext::fingerprint)), when
    /// every device of the auto-sync types is looked at once (a full pass).
    ///
    /// Within `limits`: it stops between pages once its time is spent (after
    /// one page at least per lane), and the next run's pass goes on from
    /// there, so every device is reached however short the budget. A full
    /// pass saves where each lane stopped (`AUTOIMPORT#RESUME`, with the
    /// fingerprint it works for); the fingerprint is kept, and the change
    /// lists dropped, only after a completed pass. A pass through the changes
    /// that runs out of time keeps the uids it did not reach as a change list
    /// of their own before dropping the ones it read. A failed pass leaves
    /// everything for the next one.
    pub async fn auto_import(
        &self,
        tenant: &TenantId,
        integration: &str,
        limits: AutoImportLimits,
    ) -> Result<(ImportReport, Completion), DevicesError> {
        let ctx = self.context(tenant, integration).await?;
        let sync = SyncStore::new(self.store.clone());
        let pk = keys::integration_pk(tenant, integration);
        let (changed, change_items) = sync.pending_changes(&pk).await?;
        let stored = self.store.auto_import_fingerprint(tenant, integration).await?;
        let fingerprint = ctx.fingerprint();
        let mut report = ImportReport {
            reads: sync.reads() + 1,
            ..ImportReport::default()
        };
        let mut completion = Completion::Complete;
        let deadline = Instant::now() + limits.time;
        let page = limits.page.clamp(1, PAGE);
        // A full pass another run left unfinished, for this very context.
        let resume = self.store.auto_import_resume(tenant, integration).await?;
        report.reads += 1;
        let full_resume = resume.as_deref().and_then(|r| {
            let (head, lanes) = r.split_once('\n').unwrap_or((r, ""));
            (head.strip_prefix(FULL_RESUME) == Some(fingerprint.as_str())).then(|| lanes.to_owned())
        });
        if ctx.auto_sync.is_empty() {
            // Nothing to import: the changes are dealt with.
            report.writes += sync.drop_changes(&pk, change_items).await?;
        } else if full_resume.is_some() || stored.as_deref() != Some(fingerprint.as_str()) {
            let auto = ctx.auto_sync.clone();
            let resumed = full_resume.is_some();
            completion = self
                .stream(
                    tenant,
                    &ctx,
                    |d| auto.contains(&type_key(d)),
                    true,
                    &mut report,
                    Paging {
                        size: page,
                        start: full_resume,
                        deadline: Some(deadline),
                    },
                )
                .await?;
            match &completion {
                Completion::OutOfTime { resume_after } => {
                    let token = format!("{FULL_RESUME}{fingerprint}\n{resume_after}");
                    self.store
                        .set_auto_import_resume(tenant, integration, Some(&token))
                        .await?;
                    report.writes += 1;
                }
                Completion::Complete => {
                    // Shards an earlier pass went through may have changed since:
                    // the changes of those runs are still listed.
                    if resumed {
                        completion = self
                            .import_changes(tenant, &ctx, &sync, changed, change_items, page, deadline, &mut report)
                            .await?;
                    } else {
                        report.writes += sync.drop_changes(&pk, change_items).await?;
                    }
                    self.store
                        .put_auto_import_fingerprint(tenant, integration, &fingerprint)
                        .await?;
                    report.writes += 1;
                    if resume.is_some() {
                        self.store.set_auto_import_resume(tenant, integration, None).await?;
                        report.writes += 1;
                    }
                }
            }
        } else {
            if resume.is_some() {
                // A full pass for another context, or an older layout: not ours to resume.
                self.store.set_auto_import_resume(tenant, integration, None).await?;
                report.writes += 1;
            }
            completion = self
                .import_changes(tenant, &ctx, &sync, changed, change_items, page, deadline, &mut report)
                .await?;
        }
        report.finished_at = format_rfc3339(now_millis());
        Ok((report, completion))
    }

    /// The changed devices of auto-sync types, `page` at a time until the
    /// deadline (one page at least). Drops the change items it read once
    /// their uids are dealt with; uids it did not reach are first written
    /// back as a change list of their own.
    #[allow(clippy::too_many_arguments)]
    async fn import_changes(
        &self,
        tenant: &TenantId,
        ctx: &ImportContext,
        sync: &SyncStore,
        changed: Vec<String>,
        change_items: Vec<String>,
        page: i32,
        deadline: Instant,
        report: &mut ImportReport,
    ) -> Result<Completion, DevicesError> {
        let pk = keys::integration_pk(tenant, &ctx.integration);
        let wanted = |d: &DeviceRecord| ctx.auto_sync.contains(&type_key(d));
        let mut chunks = changed.chunks(page as usize).peekable();
        let mut completion = Completion::Complete;
        while let Some(chunk) = chunks.next() {
            let found = self.store.devices_by_uid(tenant, &ctx.integration, chunk).await?;
            report.reads += found.len() as u64;
            let mut batch: Vec<_> = found
                .into_values()
                .filter(|d| ctx.staged(d) && !is_removed(d) && wanted(d))
                .map(|d| (d.uid.clone(), Some(d)))
                .collect();
            batch.sort_by(|a, b| a.0.cmp(&b.0));
            if !batch.is_empty() {
                self.apply(tenant, ctx, batch, true, report).await?;
            }
            if chunks.peek().is_some() && Instant::now() >= deadline {
                let last = chunk.last().cloned().unwrap_or_default();
                let rest: Vec<String> = chunks.flatten().cloned().collect();
                let list = format!("{REST_PREFIX}{}", crate::runs::history::new_run_id(now_millis()));
                report.writes += u64::from(sync.save_changed(&pk, &list, 0, &rest).await?);
                completion = Completion::OutOfTime { resume_after: last };
                break;
            }
        }
        report.writes += sync.drop_changes(&pk, change_items).await?;
        Ok(completion)
    }

    /// Every staged, not removed device that `wanted` picks, a page at a time;
    /// the device shards are walked by [`LANES`] lanes at once (each its own
    /// partition key), and in each lane the next page is read while the
    /// current one is written. With a deadline, a lane starts no page after
    /// it (its first always); `paging.start` is where each lane stopped last
    /// time (see [`Completion::OutOfTime`]).
    pub(super) async fn stream(
        &self,
        tenant: &TenantId,
        ctx: &ImportContext,
        wanted: impl Fn(&DeviceRecord) -> bool,
        only_changed: bool,
        report: &mut ImportReport,
        paging: Paging,
    ) -> Result<Completion, DevicesError> {
        let Paging { size, start, deadline } = paging;
        // Where each lane starts: (shard, after uid); a resumed pass lists
        // only its unfinished lanes.
        let mut starts: Vec<Option<(u32, Option<String>)>> = (0..LANES).map(|l| Some((l, None))).collect();
        if let Some(token) = &start {
            starts = vec![None; LANES as usize];
            for line in token.lines() {
                let (shard, after) = line.split_once('\t').unwrap_or((line, ""));
                let Ok(shard) = shard.parse::<u32>() else { continue };
                if shard < keys::SHARDS {
                    let after = (!after.is_empty()).then(|| after.to_owned());
                    starts[(shard % LANES) as usize] = Some((shard, after));
                }
            }
        }
        let wanted = &wanted;
        let unlimited = report.unlimited;
        let lane = |from: Option<(u32, Option<String>)>| async move {
            let mut report = ImportReport {
                unlimited,
                ..ImportReport::default()
            };
            let Some((mut shard, mut after)) = from else {
                return Ok::<_, DevicesError>((report, None));
            };
            let mut first = true;
            while shard < keys::SHARDS {
                if !first && deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok((report, Some((shard, None))));
                }
                let stop = self
                    .stream_shard(
                        tenant,
                        ctx,
                        shard,
                        after.take(),
                        size,
                        deadline,
                        wanted,
                        only_changed,
                        &mut report,
                    )
                    .await?;
                first = false;
                if let Some(uid) = stop {
                    return Ok((report, Some((shard, Some(uid)))));
                }
                shard += LANES;
            }
            Ok((report, None))
        };
        let mut starts = starts.into_iter();
        let mut next = || starts.next().flatten();
        // Boxed: four lanes of page futures inline would make one very large future.
        let (a, b, c, d) = tokio::join!(
            Box::pin(lane(next())),
            Box::pin(lane(next())),
            Box::pin(lane(next())),
            Box::pin(lane(next()))
        );
        let mut unfinished = Vec::new();
        for part in [a?, b?, c?, d?] {
            report.merge(part.0);
            if let Some((shard, after)) = part.1 {
                unfinished.push(format!("{shard}\t{}", after.unwrap_or_default()));
            }
        }
        if unfinished.is_empty() {
            Ok(Completion::Complete)
        } else {
            Ok(Completion::OutOfTime {
                resume_after: unfinished.join("\n"),
            })
        }
    }

    /// One shard's devices from after `after`; returns the uid to resume
    /// after if it stopped at the deadline (never before its first page).
    #[allow(clippy::too_many_arguments)]
    async fn stream_shard(
        &self,
        tenant: &TenantId,
        ctx: &ImportContext,
        shard: u32,
        after: Option<String>,
        page_size: i32,
        deadline: Option<Instant>,
        wanted: &impl Fn(&DeviceRecord) -> bool,
        only_changed: bool,
        report: &mut ImportReport,
    ) -> Result<Option<String>, DevicesError> {
        let mut page = self
            .store
            .device_page(tenant, &ctx.integration, shard, after.as_deref(), page_size)
            .await?;
        loop {
            let (devices, next) = page;
            report.reads += devices.len() as u64;
            let batch: Vec<_> = devices
                .into_iter()
                .filter(|d| ctx.staged(d) && !is_removed(d) && wanted(d))
                .map(|d| (d.uid.clone(), Some(d)))
                .collect();
            let apply = async {
                if batch.is_empty() {
                    Ok(())
                } else {
                    self.apply(tenant, ctx, batch, only_changed, report).await
                }
            };
            let Some(next) = next else {
                return apply.await.map(|()| None);
            };
            if deadline.is_some_and(|d| Instant::now() >= d) {
                apply.await?;
                return Ok(Some(next));
            }
            let (applied, fetched) = tokio::join!(
                apply,
                self.store
                    .device_page(tenant, &ctx.integration, shard, Some(&next), page_size)
            );
            applied?;
            page = fetched?;
        }
    }

    pub(super) async fn apply(
        &self,
        tenant: &TenantId,
        ctx: &ImportContext,
        batch: Vec<(String, Option<DeviceRecord>)>,
        only_changed: bool,
        report: &mut ImportReport,
    ) -> Result<(), DevicesError> {
        let known: Vec<String> = batch
            .iter()
            .filter(|(_, d)| d.is_some())
            .map(|(u, _)| u.clone())
            .collect();
        let previous = self.store.import_states(tenant, &ctx.integration, &known).await?;
        report.reads += previous.len() as u64;
        // An asset whose import state is gone (or never said when it was made)
        // keeps the `createdAt` it has: read it rather than stamp it anew.
        let unknown_age: Vec<String> = known
            .iter()
            .filter(|u| previous.get(*u).and_then(|p| p.asset_created_at).is_none())
            .map(|u| Asset::id_for(&ctx.integration, u))
            .collect();
        let created = self.store.asset_created_ats(tenant, &unknown_age).await?;
        report.reads += created.len() as u64;
        let now = now_millis();
        let mut assets = Vec::new();
        let mut states = Vec::new();
        for (uid, device) in &batch {
            report.requested += 1;
            let before = previous.get(uid);
            match decide(ctx, device.as_ref()) {
                Ok((company, portal)) => {
                    let device = device.as_ref().expect("decide passed");
                    let mut asset = build_asset(ctx, device, company, portal, before, now);
                    if let Some(at) = created.get(&asset.id) {
                        asset.created_at = *at;
                    }
                    let hash = asset.content_hash();
                    let up_to_date = before
                        .is_some_and(|b| b.status == ImportStatus::Imported && b.asset_hash.as_ref() == Some(&hash));
                    if only_changed && up_to_date {
                        report.unchanged += 1;
                        continue;
                    }
                    report.push(DeviceResult {
                        device_uid: uid.clone(),
                        status: ImportStatus::Imported,
                        asset_id: Some(asset.id.clone()),
                        reason: None,
                        message: None,
                    });
                    states.push(ImportState {
                        device_uid: uid.clone(),
                        status: ImportStatus::Imported,
                        reason: None,
                        message: None,
                        asset_id: Some(asset.id.clone()),
                        asset_created_at: Some(asset.created_at),
                        asset_hash: Some(hash),
                        at: now,
                    });
                    assets.push(asset);
                }
                Err(failure) => {
                    let message = failure.message(device.as_ref());
                    report.push(DeviceResult {
                        device_uid: uid.clone(),
                        status: ImportStatus::Failed,
                        asset_id: before.and_then(|b| b.asset_id.clone()),
                        reason: Some(failure.code().to_owned()),
                        message: Some(message.clone()),
                    });
                    // An unknown uid has nothing to hang a state on.
                    if device.is_some() {
                        states.push(ImportState {
                            device_uid: uid.clone(),
                            status: ImportStatus::Failed,
                            reason: Some(failure.code().to_owned()),
                            message: Some(message),
                            asset_id: before.and_then(|b| b.asset_id.clone()),
                            asset_created_at: before.and_then(|b| b.asset_created_at),
                            asset_hash: None,
                            at: now,
                        });
                    }
                }
            }
        }
        report.writes += self
            .store
            .write_imports(tenant, &ctx.integration, assets, states)
            .await?;
        Ok(())
    }
}

/// The sync run's hook: auto-import after a complete listing, counted in the
/// run record; a failure here is a run error (the run ends `partial`), never a panic.
pub async fn after_sync(
    store: &crate::store::DynamoStore,
    tenant: &TenantId,
    integration: &str,
    run: &mut crate::sync::RunRecord,
    limits: AutoImportLimits,
) {
    match (DeviceImporter { store })
        .auto_import(tenant, integration, limits)
        .await
    {
        Ok((report, completion)) => {
            run.counts.devices_imported += report.imported;
            run.counts.devices_import_failed += report.failed;
            run.counts.writes += report.writes;
            run.counts.reads += report.reads;
            run.counts.devices_import_incomplete = completion != Completion::Complete;
        }
        Err(e) => run.record_error("devices.auto_import", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn device(uid: &str, site: &str, category: &str) -> DeviceRecord {
        DeviceRecord {
            uid: uid.into(),
            hostname: Some(format!("host-{uid}")),
            site_uid: Some(site.into()),
            site_name: Some(format!("Site {site}")),
            category: Some(category.into()),
            device_type: Some(category.into()),
            ..Default::default()
        }
    }

    fn ctx() -> ImportContext {
        ImportContext {
            integration: "int".into(),
            site_companies: HashMap::from([("s1".to_owned(), "c1".to_owned())]),
            types: HashMap::from([(
                ("Desktop".to_owned(), "Desktop".to_owned()),
                PortalRef {
                    id: "desktop".into(),
                    name: "Desktop".into(),
                },
            )]),
            auto_sync: HashSet::new(),
        }
    }

    #[test]
    fn rules_apply_in_order() {
        let ctx = ctx();
        assert_eq!(decide(&ctx, None).unwrap_err(), Failure::UnknownDevice);
        let mut removed = device("d", "s1", "Desktop");
        removed.removed_at = Some(1);
        assert_eq!(decide(&ctx, Some(&removed)).unwrap_err(), Failure::DeviceRemoved);
        let mut deleted = device("d", "elsewhere", "Desktop");
        deleted.deleted = Some(true);
        assert_eq!(decide(&ctx, Some(&deleted)).unwrap_err(), Failure::DeviceRemoved);
        assert_eq!(
            decide(&ctx, Some(&device("d", "s2", "Desktop"))).unwrap_err(),
            Failure::SiteNotMapped
        );
        assert_eq!(
            decide(&ctx, Some(&device("d", "s1", "Server"))).unwrap_err(),
            Failure::TypeNotMapped
        );
        let (company, portal) = decide(&ctx, Some(&device("d", "s1", "Desktop"))).unwrap();
        assert_eq!((company.as_str(), portal.id.as_str()), ("c1", "desktop"));
    }

    #[test]
    fn a_device_without_a_type_uses_the_unknown_key() {
        let mut d = device("d", "s1", "Desktop");
        d.category = None;
        d.device_type = None;
        assert_eq!(type_key(&d), (UNKNOWN.to_owned(), UNKNOWN.to_owned()));
    }

    #[test]
    fn re_import_keeps_the_id_and_creation_time() {
        let ctx = ctx();
        let d = device("d", "s1", "Desktop");
        let portal = &ctx.types[&("Desktop".to_owned(), "Desktop".to_owned())];
        let first = build_asset(&ctx, &d, "c1", portal, None, 10);
        let state = ImportState {
            device_uid: "d".into(),
            status: ImportStatus::Imported,
            reason: None,
            message: None,
            asset_id: Some(first.id.clone()),
            asset_created_at: Some(first.created_at),
            asset_hash: Some(first.content_hash()),
            at: 10,
        };
        let second = build_asset(&ctx, &d, "c1", portal, Some(&state), 20);
        assert_eq!(second.id, first.id);
        assert_eq!((second.created_at, second.updated_at), (10, 20));
        assert_eq!(second.content_hash(), first.content_hash());
        let moved = build_asset(&ctx, &d, "c2", portal, Some(&state), 30);
        assert_ne!(moved.content_hash(), first.content_hash());
    }

    #[test]
    fn requests_are_parsed_with_every_problem_named() {
        assert_eq!(
            parse_import_request(&json!({ "deviceUids": ["a", "b", "a"] })).unwrap(),
            ImportRequest::Devices(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            parse_import_request(&json!({ "category": "Desktop", "deviceType": "Laptop" })).unwrap(),
            ImportRequest::Type {
                category: "Desktop".into(),
                device_type: "Laptop".into()
            }
        );
        let e = parse_import_request(&json!({ "deviceUids": [1, ""], "x": 1 }))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`x`") && e.contains("deviceUids[0]") && e.contains("deviceUids[1]"),
            "{e}"
        );
        assert!(parse_import_request(&json!({})).is_err());
        assert!(parse_import_request(&json!({ "deviceUids": ["a"], "category": "x" })).is_err());
        assert!(parse_import_request(&json!({ "deviceUids": [] })).is_err());
        assert!(parse_import_request(&json!({ "category": "Desktop" })).is_err());
        let many: Vec<String> = (0..=MAX_UIDS).map(|i| format!("u{i}")).collect();
        assert!(parse_import_request(&json!({ "deviceUids": many })).is_err());
    }

    #[test]
    fn results_are_capped_but_counts_are_not() {
        let mut report = ImportReport::default();
        for i in 0..MAX_RESULTS + 10 {
            report.push(DeviceResult {
                device_uid: i.to_string(),
                status: ImportStatus::Imported,
                asset_id: None,
                reason: None,
                message: None,
            });
        }
        report.push(DeviceResult {
            device_uid: "f".into(),
            status: ImportStatus::Failed,
            asset_id: None,
            reason: Some("site_not_mapped".into()),
            message: None,
        });
        assert_eq!(report.imported as usize, MAX_RESULTS + 10);
        assert_eq!(report.results.len(), MAX_RESULTS + 1);
        assert!(report.results_truncated);
    }
}
