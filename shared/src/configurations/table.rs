//! The mapping table (part 3) and the writes it makes (the link and create of part 4), with
//! their audit trail.
//!
//! `GET /integrations/{id}/configuration-map?psaIntegrationId=` lists the synced devices of
//! mapped sites with their configuration state: `mapped` (a saved map, its company still the
//! device's), `proposed` (an existing configuration, with the rule that matched), `proposedNew`,
//! `waitingForAudit`, `warning` (several configurations fit; the site's company has no PSA id
//! of this PSA integration; a new one is proposed but the device's type is not mapped or maps
//! to a ConnectWise type with required questions). Filters: `state` (`mapped`, `unmapped` or a
//! state), `siteUid`, `companyId` (portal), `rule`; paging by uid with an opaque cursor.
//!
//! How: every request reads the integration's devices, the site mappings, the companies' PSA
//! ids, each company's configurations from the PSA and the saved maps, and runs
//! [`super::plan`] per request (configurations already mapped to another device are not
//! candidates: one device per configuration). A device waits for its audit only when the
//! sync has one due (a class Datto never audits is matched without a serial). That is a full
//! read per page, fine for
//! hundreds of devices and a PSA call per company; a cached plan for the 100,000-device case
//! is not built.
//!
//! `POST …/configuration-map` maps selected devices to their proposal, to a configuration
//! picked by hand (one device) or to a new one: a link writes the device uid (and the changed
//! fields) onto the configuration, a create goes through the client's lookup-before-retry, and
//! the map is saved only after the PSA accepted. `POST …/configuration-unmap` drops the maps
//! (the configurations stay active). Autotask writes start only while the hour's request
//! budget is above the client's reserve (503 `psa.budget_exhausted` otherwise). Every PSA
//! write and every unmap is an audit record (`GET …/configuration-audit`). Items:
//! `CFGMAP#{psaId}#{deviceUid}` in the device's shard, `CFGAUDIT#{psaId}#{ms}#{deviceUid}` in
//! the integration partition.

use super::plan::{self, ConfigFacts, DeviceFacts, Proposal, Rule};
use super::types::ConfigTypeMapping;
use crate::api::ApiError;
use crate::connections::PsaIntegrations;
use crate::devices::import::{DeviceImporter, is_removed, type_key};
use crate::psa::configuration::{ConfigurationChanges, ConfigurationDraft, CreateOutcome, PsaConfiguration};
use crate::psa::{PsaClient, PsaError};
use crate::store::{DynamoStore, Fields, Item, StoreError, classify, keys, n, s};
use crate::sync::plan::DeviceRecord;
use crate::tenant::TenantId;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// A device's configuration state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ConfigState {
    Mapped,
    Proposed,
    ProposedNew,
    WaitingForAudit,
    Warning,
}

impl ConfigState {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "mapped" => Self::Mapped,
            "proposed" => Self::Proposed,
            "proposedNew" => Self::ProposedNew,
            "waitingForAudit" => Self::WaitingForAudit,
            "warning" => Self::Warning,
            _ => return None,
        })
    }
}

/// One row of the table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MapRow {
    pub device_uid: String,
    pub hostname: Option<String>,
    pub site_uid: Option<String>,
    pub site_name: Option<String>,
    /// The portal company the site is mapped to.
    pub company_id: String,
    /// Its PSA id, when it has one for this PSA integration.
    pub psa_company_id: Option<String>,
    pub category: String,
    pub device_type: String,
    pub state: ConfigState,
    /// Mapped or proposed configuration.
    pub configuration_id: Option<String>,
    pub configuration_name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub rule: Option<Rule>,
    /// Ambiguous: the configurations that fit equally.
    pub candidates: Vec<String>,
    /// The configuration of another company it was mapped or linked to (the device moved).
    pub moved_from: Option<String>,
    pub warning: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MapPage {
    pub devices: Vec<MapRow>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct MapFilter {
    /// `Some(None)` = unmapped (anything but mapped).
    pub state: Option<Option<ConfigState>>,
    pub site_uid: Option<String>,
    pub company_id: Option<String>,
    pub rule: Option<Rule>,
}

pub fn parse_filter(
    state: Option<&str>,
    site_uid: Option<String>,
    company_id: Option<String>,
    rule: Option<&str>,
) -> Result<MapFilter, ApiError> {
    let mut problems = Vec::new();
    let state = match state {
        None => None,
        Some("unmapped") => Some(None),
        Some(s) => match ConfigState::parse(s) {
            Some(st) => Some(Some(st)),
            None => {
                problems.push(
                    "`state` must be mapped, unmapped, proposed, proposedNew, waitingForAudit or warning".to_owned(),
                );
                None
            }
        },
    };
    let rule = match rule {
        None => None,
        Some(r) => match r {
            "existingLink" => Some(Rule::ExistingLink),
            "serial" => Some(Rule::Serial),
            "name" => Some(Rule::Name),
            "manufacturer" => Some(Rule::Manufacturer),
            "model" => Some(Rule::Model),
            _ => {
                problems.push("`rule` must be existingLink, serial, name, manufacturer or model".to_owned());
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(ApiError::bad_request(problems.join("; ")));
    }
    Ok(MapFilter {
        state,
        site_uid,
        company_id,
        rule,
    })
}

impl MapFilter {
    fn admits(&self, r: &MapRow) -> bool {
        let state_ok = match self.state {
            None => true,
            Some(None) => r.state != ConfigState::Mapped,
            Some(Some(s)) => r.state == s,
        };
        state_ok
            && self.site_uid.as_ref().is_none_or(|s| r.site_uid.as_ref() == Some(s))
            && self.company_id.as_ref().is_none_or(|c| *c == r.company_id)
            && self.rule.is_none_or(|rule| r.rule == Some(rule))
    }
}

/// A saved map: device → configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedMap {
    pub device_uid: String,
    pub configuration_id: String,
    pub psa_company_id: String,
    pub rule: Option<String>,
    pub at: i64,
}

/// An audit record of a PSA write or an unmap.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub device_uid: String,
    pub configuration_id: Option<String>,
    /// `link`, `create`, `unmap`.
    pub action: String,
    pub rule: Option<String>,
    /// `ok` or `failed`.
    pub result: String,
    pub message: Option<String>,
    /// Epoch milliseconds.
    pub at: i64,
}

fn map_sk(psa: &str, uid: &str) -> String {
    format!("CFGMAP#{psa}#{uid}")
}

impl DynamoStore {
    pub async fn config_maps(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
    ) -> Result<HashMap<String, SavedMap>, StoreError> {
        let items = self
            .query_prefix_all(
                keys::integration_shard_pks(tenant, integration),
                &format!("CFGMAP#{psa}#"),
                8,
            )
            .await?;
        items
            .iter()
            .map(|i| {
                let f = Fields(i);
                let m = SavedMap {
                    device_uid: f.s("deviceUid")?,
                    configuration_id: f.s("configurationId")?,
                    psa_company_id: f.s("psaCompanyId")?,
                    rule: f.opt_s("rule"),
                    at: f.opt_n("at").unwrap_or(0),
                };
                Ok((m.device_uid.clone(), m))
            })
            .collect()
    }

    async fn put_config_map(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        m: &SavedMap,
    ) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("PK".into(), s(keys::device_pk(tenant, integration, &m.device_uid))),
            ("SK".into(), s(map_sk(psa, &m.device_uid))),
            ("entity".into(), s("configuration-map")),
            ("deviceUid".into(), s(&m.device_uid)),
            ("configurationId".into(), s(&m.configuration_id)),
            ("psaCompanyId".into(), s(&m.psa_company_id)),
            ("at".into(), n(m.at)),
        ]);
        if let Some(r) = &m.rule {
            item.insert("rule".into(), s(r));
        }
        self.put(item).await
    }

    async fn delete_config_map(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        uid: &str,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(keys::device_pk(tenant, integration, uid)))
            .key("SK", s(map_sk(psa, uid)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn put_config_audit(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        a: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("PK".into(), s(keys::integration_pk(tenant, integration))),
            ("SK".into(), s(format!("CFGAUDIT#{psa}#{:013}#{}", a.at, a.device_uid))),
            ("entity".into(), s("configuration-audit")),
            ("deviceUid".into(), s(&a.device_uid)),
            ("action".into(), s(&a.action)),
            ("result".into(), s(&a.result)),
            ("at".into(), n(a.at)),
        ]);
        for (k, v) in [
            ("configurationId", &a.configuration_id),
            ("rule", &a.rule),
            ("message", &a.message),
        ] {
            if let Some(v) = v {
                item.insert(k.into(), s(v));
            }
        }
        self.put(item).await
    }

    /// The audit trail of a (Datto integration, PSA integration), newest first.
    pub async fn config_audit(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let items = self
            .query_prefix(keys::integration_pk(tenant, integration), &format!("CFGAUDIT#{psa}#"))
            .await?;
        let mut out: Vec<AuditRecord> = items
            .iter()
            .map(|i| {
                let f = Fields(i);
                Ok(AuditRecord {
                    device_uid: f.s("deviceUid")?,
                    configuration_id: f.opt_s("configurationId"),
                    action: f.s("action")?,
                    rule: f.opt_s("rule"),
                    result: f.s("result")?,
                    message: f.opt_s("message"),
                    at: f.opt_n("at").unwrap_or(0),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        out.reverse();
        Ok(out)
    }
}

pub(super) fn rule_name(r: Rule) -> &'static str {
    match r {
        Rule::ExistingLink => "existingLink",
        Rule::Serial => "serial",
        Rule::Name => "name",
        Rule::Manufacturer => "manufacturer",
        Rule::Model => "model",
    }
}

/// Everything one table read gathers.
pub(super) struct Snapshot {
    client: PsaClient,
    pub(super) rows: Vec<MapRow>,
    devices: HashMap<String, DeviceRecord>,
    configs: HashMap<String, PsaConfiguration>,
    types: BTreeMap<(String, String), ConfigTypeMapping>,
    maps: HashMap<String, SavedMap>,
    udfs: super::udfs::UdfMap,
}

/// What to map selected devices to.
#[derive(Debug, Clone, PartialEq)]
pub enum MapTarget {
    Proposal,
    New,
    Configuration(String),
}

/// The `POST …/configuration-map` body, read by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRequest {
    pub psa_integration_id: String,
    pub device_uids: Vec<String>,
    pub target: MapTarget,
    /// Go ahead although the request creates more configurations than the safety cap.
    pub confirm: bool,
}

/// Its schema.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MapInput {
    pub psa_integration_id: String,
    /// 1 to 100 devices.
    pub device_uids: Vec<String>,
    /// `proposal`, `new`, or a configuration id (then exactly one device). Unmap ignores it.
    pub to: Option<String>,
    /// Create more configurations than the safety cap.
    pub confirm: Option<bool>,
}

pub fn parse_map_request(body: &Value, needs_target: bool) -> Result<MapRequest, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let mut problems = Vec::new();
    for k in obj.keys() {
        if !matches!(k.as_str(), "psaIntegrationId" | "deviceUids" | "to" | "confirm") {
            problems.push(format!("unknown field `{k}`"));
        }
    }
    let psa = match obj.get("psaIntegrationId") {
        Some(Value::String(p)) if !p.trim().is_empty() => Some(p.trim().to_owned()),
        _ => {
            problems.push("`psaIntegrationId` is required (a string)".into());
            None
        }
    };
    let uids: Vec<String> = match obj.get("deviceUids") {
        Some(Value::Array(a))
            if !a.is_empty()
                && a.len() <= 100
                && a.iter().all(|u| u.as_str().is_some_and(|u| !u.trim().is_empty())) =>
        {
            a.iter()
                .filter_map(|u| u.as_str())
                .map(|u| u.trim().to_owned())
                .collect()
        }
        _ => {
            problems.push("`deviceUids` must be 1 to 100 device uids".into());
            Vec::new()
        }
    };
    let target = match obj.get("to") {
        Some(Value::String(t)) if t == "proposal" => MapTarget::Proposal,
        Some(Value::String(t)) if t == "new" => MapTarget::New,
        Some(Value::String(t)) if !t.trim().is_empty() => {
            if uids.len() > 1 {
                problems.push("a configuration picked by hand takes exactly one device".into());
            }
            MapTarget::Configuration(t.trim().to_owned())
        }
        None if !needs_target => MapTarget::Proposal,
        _ => {
            problems.push("`to` must be `proposal`, `new` or a configuration id".into());
            MapTarget::Proposal
        }
    };
    let confirm = match obj.get("confirm") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            problems.push("`confirm` must be true or false".into());
            false
        }
    };
    match psa {
        Some(psa_integration_id) if problems.is_empty() => Ok(MapRequest {
            psa_integration_id,
            device_uids: uids,
            target,
            confirm,
        }),
        _ => Err(ApiError::bad_request(problems.join("; "))),
    }
}

/// What happened to one selected device.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MapOutcome {
    pub device_uid: String,
    /// `linked`, `created`, `unmapped`, `failed`, or `deferred` (left for a later run: the
    /// Autotask hourly budget is down to its reserve).
    pub result: String,
    pub configuration_id: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MapReport {
    pub outcomes: Vec<MapOutcome>,
}

async fn company_configurations(client: &PsaClient, company: &str) -> Result<Vec<PsaConfiguration>, PsaError> {
    match client {
        PsaClient::Autotask(c) => c.company_configurations(company).await,
        PsaClient::ConnectWise(c) => c.company_configurations(company).await,
    }
}

async fn create(client: &PsaClient, draft: &ConfigurationDraft) -> Result<CreateOutcome, PsaError> {
    match client {
        PsaClient::Autotask(c) => c.create_configuration(draft).await,
        PsaClient::ConnectWise(c) => c.create_configuration(draft).await,
    }
}

async fn update(client: &PsaClient, id: &str, changes: &ConfigurationChanges) -> Result<(), PsaError> {
    match client {
        PsaClient::Autotask(c) => c.update_configuration(id, changes).await,
        PsaClient::ConnectWise(c) => c.update_configuration(id, changes).await,
    }
}

/// The configuration a device should be, as a draft (the device's facts, the type mapping and
/// the UDFs the UDF mapping names).
fn draft_for(
    d: &DeviceRecord,
    company: &str,
    t: Option<&ConfigTypeMapping>,
    udfs: &super::udfs::UdfMap,
) -> ConfigurationDraft {
    ConfigurationDraft {
        company_id: company.to_owned(),
        name: d.hostname.clone().unwrap_or_else(|| d.uid.clone()),
        type_id: t.map(|t| t.type_id.clone()).unwrap_or_default(),
        product_id: t.and_then(|t| t.product_id.clone()),
        status_id: None,
        device_uid: d.uid.clone(),
        device_id: d.id,
        serial_number: d.serial_number.clone().and_then(|s| plan::usable_serial(&s).map(|_| s)),
        manufacturer: d.manufacturer.clone(),
        model: d.model.clone(),
        os: d.operating_system.clone(),
        ip_address: d.int_ip_address.clone(),
        warranty_expiration: d.warranty_date.as_ref().map(|w| w.chars().take(10).collect()),
        management_link: d.portal_url.clone(),
        custom_fields: super::udfs::custom_fields(&d.udfs, udfs),
    }
}

/// What a run of writes cost.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct WriteStats {
    /// Autotask requests the client made (the snapshot's reads and the writes).
    pub requests: u64,
    /// Autotask: what the hour's budget had above the reserve when the writes began.
    pub budget_above_reserve: Option<i64>,
}

/// Requests one link or create may take, retries included, that must fit above the reserve.
const WRITE_COST: i64 = 2;
/// Device uids per look-up request (the Autotask client's `in` chunk).
const LOOKUP_CHUNK: usize = crate::psa::autotask::LOOKUP_CHUNK;
/// Writes between two reads of the Autotask budget (other integrations spend it too).
const BUDGET_REREAD: u32 = 100;

/// The Autotask hour's budget a run of writes spends: what was above the reserve when last
/// read, and the client's requests since.
struct WriteBudget {
    above: i64,
    base: u64,
    writes: u32,
}

impl WriteBudget {
    async fn start(c: &crate::psa::autotask::AutotaskClient) -> Result<Self, PsaError> {
        Ok(Self {
            above: c.budget_above_reserve().await?,
            base: c.requests_made(),
            writes: 0,
        })
    }

    /// Whether `cost` more requests still fit above the reserve, keeping one for reading the
    /// budget again (so that read never dips below it either); the budget is read again every
    /// [`BUDGET_REREAD`] writes and before saying no.
    async fn fits(&mut self, c: &crate::psa::autotask::AutotaskClient, cost: i64) -> Result<bool, PsaError> {
        self.writes += 1;
        let spent = (c.requests_made() - self.base) as i64;
        if self.writes < BUDGET_REREAD && spent + cost < self.above {
            return Ok(true);
        }
        if spent >= self.above {
            return Ok(false);
        }
        match Self::start(c).await {
            Ok(fresh) => {
                *self = fresh;
                Ok(cost < self.above)
            }
            Err(PsaError::BudgetExhausted { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The default safety cap: a run that would create or deactivate more configurations than
/// this waits for a confirmation.
pub const DEFAULT_SAFETY_CAP: usize = 100;

/// The mapping table service.
pub struct ConfigMap<'a> {
    pub integrations: PsaIntegrations<'a>,
    /// Creations (map) or deactivations (refresh) above this need `confirm`.
    pub safety_cap: usize,
}

impl ConfigMap<'_> {
    pub(super) fn store(&self) -> &DynamoStore {
        self.integrations.store
    }

    pub(super) async fn snapshot(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa_id: &str,
    ) -> Result<Snapshot, ApiError> {
        self.snapshot_of(tenant, integration, psa_id, None).await
    }

    /// [`Self::snapshot`] of the devices of some sites only (`scope`: site uids): only their
    /// companies' configurations are read from the PSA. A configuration saved as another
    /// device's (outside the scope) is never a candidate.
    pub(super) async fn snapshot_of(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa_id: &str,
        scope: Option<&std::collections::HashSet<String>>,
    ) -> Result<Snapshot, ApiError> {
        crate::devices::ensure_integration(self.store(), tenant, integration).await?;
        let (psa_integration, client) = self.integrations.connect(tenant, psa_id).await?;
        let ctx = DeviceImporter { store: self.store() }
            .context(tenant, integration)
            .await?;
        // Devices of mapped sites, not removed.
        let mut devices: Vec<DeviceRecord> = Vec::new();
        let mut from = Some((0_u32, None));
        while let Some(pos) = from.take() {
            let (page, next) = self.store().device_scan(tenant, integration, pos, 500).await?;
            devices.extend(page.into_iter().filter(|d| {
                ctx.staged(d)
                    && !is_removed(d)
                    && scope.is_none_or(|sites| d.site_uid.as_ref().is_some_and(|u| sites.contains(u)))
            }));
            from = next;
        }
        // Portal company → PSA company id of this PSA integration (the devices' companies).
        let mut psa_of: HashMap<String, Option<String>> = HashMap::new();
        for company in devices.iter().filter_map(|d| ctx.company_of(d)) {
            if psa_of.contains_key(company) {
                continue;
            }
            let c = self.store().get_company(tenant, company).await?;
            let psa = c.and_then(|c| {
                (c.psa_integration_id.as_deref() == Some(psa_id) && c.psa_kind == Some(psa_integration.kind))
                    .then_some(c.psa_id)
                    .flatten()
            });
            psa_of.insert(company.clone(), psa);
        }
        let (maps, types, udfs) = tokio::try_join!(
            self.store().config_maps(tenant, integration, psa_id),
            self.store().config_type_mappings(tenant, integration, psa_id),
            self.store().config_udf_map(tenant, integration, psa_id),
        )?;
        // Each company's configurations, from the PSA.
        let mut configs: HashMap<String, PsaConfiguration> = HashMap::new();
        let mut wanted: Vec<&String> = devices
            .iter()
            .filter_map(|d| ctx.company_of(d))
            .filter_map(|c| psa_of.get(c).and_then(Option::as_ref))
            .collect();
        wanted.sort();
        wanted.dedup();
        for company in wanted {
            for c in company_configurations(&client, company).await? {
                configs.insert(c.id.clone(), c);
            }
        }
        // Saved maps whose company is still the device's keep their configuration.
        let mut kept: HashMap<String, &SavedMap> = HashMap::new();
        for d in &devices {
            let company = ctx.company_of(d).and_then(|c| psa_of.get(c).cloned().flatten());
            if let Some(m) = maps.get(&d.uid)
                && company.as_deref() == Some(m.psa_company_id.as_str())
            {
                kept.insert(d.uid.clone(), m);
            }
        }
        let mut taken: std::collections::HashSet<&str> = kept.values().map(|m| m.configuration_id.as_str()).collect();
        if scope.is_some() {
            let seen: std::collections::HashSet<&str> = devices.iter().map(|d| d.uid.as_str()).collect();
            taken.extend(
                maps.values()
                    .filter(|m| !seen.contains(m.device_uid.as_str()))
                    .map(|m| m.configuration_id.as_str()),
            );
        }
        let facts: Vec<DeviceFacts> = devices
            .iter()
            .filter(|d| !kept.contains_key(&d.uid))
            .map(|d| DeviceFacts {
                uid: d.uid.clone(),
                hostname: d.hostname.clone().unwrap_or_default(),
                company: ctx.company_of(d).and_then(|c| psa_of.get(c).cloned().flatten()),
                // Waits only for an audit that will come (Datto has one for the device's
                // class and the sync has it due); a device that can never be audited
                // (network devices) is matched without a serial rather than waiting for ever.
                serial: if d.audited_at.is_none() && d.serial_number.is_none() && d.needs_audit() {
                    None
                } else {
                    Some(d.serial_number.clone().unwrap_or_default())
                },
                manufacturer: d.manufacturer.clone(),
                model: d.model.clone(),
            })
            .collect();
        let candidates: Vec<ConfigFacts> = configs
            .values()
            .filter(|c| c.active && !taken.contains(c.id.as_str()))
            .filter_map(|c| {
                Some(ConfigFacts {
                    id: c.id.clone(),
                    company: c.company_id.clone()?,
                    name: c.name.clone(),
                    serial: c.serial_number.clone(),
                    manufacturer: c.manufacturer.clone(),
                    model: c.model.clone(),
                    device_uid: c.device_uid.clone(),
                })
            })
            .collect();
        let plans: HashMap<String, plan::DevicePlan> = plan::plan(&facts, &candidates)
            .into_iter()
            .map(|p| (p.device.clone(), p))
            .collect();
        let mut rows: Vec<MapRow> = devices
            .iter()
            .map(|d| {
                let company_id = ctx.company_of(d).cloned().unwrap_or_default();
                let psa_company_id = psa_of.get(&company_id).cloned().flatten();
                let (category, device_type) = type_key(d);
                let mut row = MapRow {
                    device_uid: d.uid.clone(),
                    hostname: d.hostname.clone(),
                    site_uid: d.site_uid.clone(),
                    site_name: d.site_name.clone(),
                    company_id,
                    psa_company_id,
                    category: category.clone(),
                    device_type: device_type.clone(),
                    state: ConfigState::Warning,
                    configuration_id: None,
                    configuration_name: None,
                    rule: None,
                    candidates: Vec::new(),
                    moved_from: None,
                    warning: None,
                };
                if let Some(m) = kept.get(&d.uid) {
                    row.state = ConfigState::Mapped;
                    row.configuration_id = Some(m.configuration_id.clone());
                    row.configuration_name = configs.get(&m.configuration_id).map(|c| c.name.clone());
                    return row;
                }
                let Some(p) = plans.get(&d.uid) else { return row };
                row.moved_from = p
                    .moved_from
                    .clone()
                    .or_else(|| maps.get(&d.uid).map(|m| m.configuration_id.clone()));
                match &p.proposal {
                    Proposal::Linked { config } => {
                        row.state = ConfigState::Proposed;
                        row.rule = Some(Rule::ExistingLink);
                        row.configuration_id = Some(config.clone());
                    }
                    Proposal::Match { config, rule } => {
                        row.state = ConfigState::Proposed;
                        row.rule = Some(*rule);
                        row.configuration_id = Some(config.clone());
                    }
                    Proposal::New { .. } => {
                        row.state = ConfigState::ProposedNew;
                        match types.get(&(category, device_type)) {
                            None => {
                                row.state = ConfigState::Warning;
                                row.warning = Some("a new configuration is proposed but the device type is not mapped to a configuration type".into());
                            }
                            Some(t) if !t.required_questions.is_empty() => {
                                row.state = ConfigState::Warning;
                                row.warning = Some(format!(
                                    "a new configuration is proposed but {} has required questions: map it to an existing configuration",
                                    t.type_name
                                ));
                            }
                            Some(_) => {}
                        }
                    }
                    Proposal::Ambiguous { candidates } => {
                        row.candidates = candidates.clone();
                        row.warning = Some("several configurations fit equally: pick one".into());
                    }
                    Proposal::WaitingForAudit => row.state = ConfigState::WaitingForAudit,
                    Proposal::SiteNotMapped => {
                        row.warning = Some("the site's company has no PSA id of this PSA integration".into());
                    }
                }
                if let Some(id) = &row.configuration_id {
                    row.configuration_name = configs.get(id).map(|c| c.name.clone());
                }
                row
            })
            .collect();
        rows.sort_by(|a, b| a.device_uid.cmp(&b.device_uid));
        Ok(Snapshot {
            client,
            rows,
            devices: devices.into_iter().map(|d| (d.uid.clone(), d)).collect(),
            configs,
            types,
            maps,
            udfs,
        })
    }

    pub async fn table(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa_id: &str,
        filter: &MapFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<MapPage, ApiError> {
        let after = cursor.map(crate::devices::cursor::decode).transpose()?;
        let snap = self.snapshot(tenant, integration, psa_id).await?;
        let mut devices: Vec<MapRow> = snap
            .rows
            .into_iter()
            .filter(|r| after.as_ref().is_none_or(|a| r.device_uid > *a))
            .filter(|r| filter.admits(r))
            .take(limit + 1)
            .collect();
        let more = devices.len() > limit;
        devices.truncate(limit);
        let next_cursor = more
            .then(|| devices.last().map(|r| crate::devices::cursor::encode(&r.device_uid)))
            .flatten();
        Ok(MapPage { devices, next_cursor })
    }

    pub async fn audit(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa_id: &str,
    ) -> Result<Vec<AuditRecord>, ApiError> {
        crate::devices::ensure_integration(self.store(), tenant, integration).await?;
        self.integrations.get(tenant, psa_id).await?;
        Ok(self.store().config_audit(tenant, integration, psa_id).await?)
    }

    async fn record(&self, tenant: &TenantId, integration: &str, psa: &str, a: AuditRecord) -> Result<(), ApiError> {
        Ok(self.store().put_config_audit(tenant, integration, psa, &a).await?)
    }

    /// Maps the selected devices (see the module doc); each device's outcome is reported.
    pub async fn map(&self, tenant: &TenantId, integration: &str, req: MapRequest) -> Result<MapReport, ApiError> {
        let snap = self.snapshot(tenant, integration, &req.psa_integration_id).await?;
        self.map_in(tenant, integration, snap, req, None).await
    }

    /// [`Self::map`] on a snapshot already read; stops between devices once `deadline` passed.
    pub(super) async fn map_in(
        &self,
        tenant: &TenantId,
        integration: &str,
        snap: Snapshot,
        req: MapRequest,
        deadline: Option<std::time::Instant>,
    ) -> Result<MapReport, ApiError> {
        Ok(self.map_counted(tenant, integration, snap, req, deadline).await?.0)
    }

    /// [`Self::map_in`], with what the writes cost: the PSA requests of the snapshot and the
    /// writes, and (Autotask) what the budget had above its reserve when they began. An
    /// Autotask run spends only what is above the reserve: the devices it cannot afford are
    /// `deferred`, for a later run.
    pub(super) async fn map_counted(
        &self,
        tenant: &TenantId,
        integration: &str,
        snap: Snapshot,
        req: MapRequest,
        deadline: Option<std::time::Instant>,
    ) -> Result<(MapReport, WriteStats), ApiError> {
        let psa = req.psa_integration_id.clone();
        let rows: HashMap<&str, &MapRow> = snap.rows.iter().map(|r| (r.device_uid.as_str(), r)).collect();
        let mut mapped_to: HashMap<String, String> = snap
            .maps
            .values()
            .map(|m| (m.configuration_id.clone(), m.device_uid.clone()))
            .collect();
        let creations = req
            .device_uids
            .iter()
            .filter_map(|u| rows.get(u.as_str()))
            .filter(|r| r.state != ConfigState::Mapped)
            .filter(|r| match req.target {
                MapTarget::New => true,
                MapTarget::Proposal => r.state == ConfigState::ProposedNew,
                MapTarget::Configuration(_) => false,
            })
            .count();
        if creations > self.safety_cap && !req.confirm {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "confirmation_required",
                format!(
                    "this would create {creations} configurations, more than the safety cap of {}; send `confirm: true`",
                    self.safety_cap
                ),
            ));
        }
        // Autotask's hourly budget belongs to the whole database: never write below its reserve.
        let mut budget = match &snap.client {
            PsaClient::Autotask(c) => Some(WriteBudget::start(c).await?),
            PsaClient::ConnectWise(_) => None,
        };
        let budget_above_reserve = budget.as_ref().map(|b| b.above);
        // Autotask: the devices to create are looked up by uid per company, a request per 200
        // devices rather than one each (a configuration that carries the uid is adopted).
        let looked_up = match &snap.client {
            PsaClient::Autotask(c) => {
                let mut per_company: BTreeMap<&str, Vec<String>> = BTreeMap::new();
                for uid in &req.device_uids {
                    let Some(row) = rows.get(uid.as_str()) else { continue };
                    let creates = row.state != ConfigState::Mapped
                        && match req.target {
                            MapTarget::New => true,
                            MapTarget::Proposal => row.state == ConfigState::ProposedNew,
                            MapTarget::Configuration(_) => false,
                        };
                    if let (true, Some(company)) = (creates, row.psa_company_id.as_deref()) {
                        per_company.entry(company).or_default().push(uid.clone());
                    }
                }
                let lookups: usize = per_company.values().map(|u| u.len().div_ceil(LOOKUP_CHUNK)).sum();
                // Too little budget for the look-ups and a write: nothing is looked up here, the
                // loop below defers the devices (and a create would look its uid up itself).
                let affordable = match budget.as_mut() {
                    Some(b) if lookups > 0 => b.fits(c, lookups as i64 + WRITE_COST).await?,
                    _ => false,
                };
                if affordable {
                    let mut found = HashMap::new();
                    for uids in per_company.values() {
                        found.extend(c.find_configurations_by_devices(uids).await?);
                    }
                    Some(found)
                } else {
                    None
                }
            }
            PsaClient::ConnectWise(_) => None,
        };
        // From the first map on, the sync worker keeps this PSA integration's configurations true.
        self.store()
            .touch_config_settings(tenant, integration, &psa, crate::time::now_millis())
            .await?;
        let mut outcomes = Vec::new();
        for (i, uid) in req.device_uids.iter().enumerate() {
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                break;
            }
            if let (Some(b), PsaClient::Autotask(c)) = (budget.as_mut(), &snap.client)
                && !b.fits(c, WRITE_COST).await?
            {
                for uid in &req.device_uids[i..] {
                    outcomes.push(MapOutcome {
                        device_uid: uid.clone(),
                        result: "deferred".into(),
                        configuration_id: None,
                        message: Some("left for a later run: the Autotask hourly budget is down to its reserve".into()),
                    });
                }
                break;
            }
            let fail = |message: String| MapOutcome {
                device_uid: uid.clone(),
                result: "failed".into(),
                configuration_id: None,
                message: Some(message),
            };
            let (Some(row), Some(device)) = (rows.get(uid.as_str()), snap.devices.get(uid)) else {
                outcomes.push(fail("not a synced device of a mapped site".into()));
                continue;
            };
            let Some(company) = row.psa_company_id.clone() else {
                outcomes.push(fail("the site's company has no PSA id of this PSA integration".into()));
                continue;
            };
            if row.state == ConfigState::Mapped {
                outcomes.push(fail("already mapped: unmap it first".into()));
                continue;
            }
            let type_mapping = snap.types.get(&(row.category.clone(), row.device_type.clone()));
            let draft = draft_for(device, &company, type_mapping, &snap.udfs);
            let (link_to, rule) = match &req.target {
                MapTarget::Configuration(id) => (Some(id.clone()), None),
                MapTarget::Proposal if row.state == ConfigState::Proposed => (row.configuration_id.clone(), row.rule),
                MapTarget::Proposal if row.state == ConfigState::ProposedNew => (None, None),
                MapTarget::New => (None, None),
                MapTarget::Proposal => {
                    outcomes.push(fail(
                        row.warning
                            .clone()
                            .unwrap_or_else(|| "nothing is proposed yet (waiting for the audit)".into()),
                    ));
                    continue;
                }
            };
            let result = match link_to {
                Some(config_id) => {
                    let Some(current) = snap.configs.get(&config_id) else {
                        outcomes.push(fail(format!("configuration {config_id} is not one of the company's")));
                        continue;
                    };
                    if current.company_id.as_deref() != Some(company.as_str()) {
                        outcomes.push(fail(format!("configuration {config_id} belongs to another company")));
                        continue;
                    }
                    if let Some(other) = mapped_to.get(&config_id).filter(|o| *o != uid) {
                        outcomes.push(fail(format!("configuration {config_id} is mapped to device {other}")));
                        continue;
                    }
                    let changes = ConfigurationChanges::between(current, &draft);
                    update(&snap.client, &config_id, &changes)
                        .await
                        .map(|_| ("link", config_id.clone(), "linked"))
                }
                None => {
                    match type_mapping {
                        None => {
                            outcomes.push(fail("the device type is not mapped to a configuration type".into()));
                            continue;
                        }
                        Some(t) if !t.required_questions.is_empty() => {
                            outcomes.push(fail(format!(
                                "{} has required questions: map the device to an existing configuration",
                                t.type_name
                            )));
                            continue;
                        }
                        Some(_) => {}
                    }
                    let made = match (&snap.client, &looked_up) {
                        (PsaClient::Autotask(c), Some(found)) => match found.get(uid) {
                            Some(c) => Ok(CreateOutcome::Found(c.id.clone())),
                            None => c.create_configuration_looked_up(&draft).await,
                        },
                        _ => create(&snap.client, &draft).await,
                    };
                    made.map(|o| match o {
                        CreateOutcome::Created(id) => ("create", id, "created"),
                        CreateOutcome::Found(id) => ("create", id, "linked"),
                    })
                }
            };
            let at = crate::time::now_millis();
            let rule_text = rule.map(|r| rule_name(r).to_owned());
            match result {
                Ok((action, config_id, result)) => {
                    let saved = SavedMap {
                        device_uid: uid.clone(),
                        configuration_id: config_id.clone(),
                        psa_company_id: company,
                        rule: rule_text.clone(),
                        at,
                    };
                    self.store().put_config_map(tenant, integration, &psa, &saved).await?;
                    mapped_to.insert(config_id.clone(), uid.clone());
                    self.record(
                        tenant,
                        integration,
                        &psa,
                        AuditRecord {
                            device_uid: uid.clone(),
                            configuration_id: Some(config_id.clone()),
                            action: action.into(),
                            rule: rule_text,
                            result: "ok".into(),
                            message: (result == "linked" && action == "create")
                                .then(|| "found by the device uid: nothing created".to_owned()),
                            at,
                        },
                    )
                    .await?;
                    outcomes.push(MapOutcome {
                        device_uid: uid.clone(),
                        result: result.into(),
                        configuration_id: Some(config_id),
                        message: None,
                    });
                }
                Err(e) => {
                    self.record(
                        tenant,
                        integration,
                        &psa,
                        AuditRecord {
                            device_uid: uid.clone(),
                            configuration_id: None,
                            action: "write".into(),
                            rule: rule_text,
                            result: "failed".into(),
                            message: Some(e.to_string()),
                            at,
                        },
                    )
                    .await?;
                    outcomes.push(fail(e.to_string()));
                }
            }
        }
        let requests = match &snap.client {
            PsaClient::Autotask(c) => c.requests_made(),
            PsaClient::ConnectWise(_) => 0,
        };
        Ok((
            MapReport { outcomes },
            WriteStats {
                requests,
                budget_above_reserve,
            },
        ))
    }

    /// Drops the maps of the selected devices; their configurations stay as they are (active).
    pub async fn unmap(&self, tenant: &TenantId, integration: &str, req: MapRequest) -> Result<MapReport, ApiError> {
        crate::devices::ensure_integration(self.store(), tenant, integration).await?;
        let psa = req.psa_integration_id;
        self.integrations.get(tenant, &psa).await?;
        let maps = self.store().config_maps(tenant, integration, &psa).await?;
        let mut outcomes = Vec::new();
        for uid in req.device_uids {
            let Some(m) = maps.get(&uid) else {
                outcomes.push(MapOutcome {
                    device_uid: uid,
                    result: "failed".into(),
                    configuration_id: None,
                    message: Some("not mapped".into()),
                });
                continue;
            };
            self.store().delete_config_map(tenant, integration, &psa, &uid).await?;
            self.record(
                tenant,
                integration,
                &psa,
                AuditRecord {
                    device_uid: uid.clone(),
                    configuration_id: Some(m.configuration_id.clone()),
                    action: "unmap".into(),
                    rule: None,
                    result: "ok".into(),
                    message: None,
                    at: crate::time::now_millis(),
                },
            )
            .await?;
            outcomes.push(MapOutcome {
                device_uid: uid,
                result: "unmapped".into(),
                configuration_id: Some(m.configuration_id.clone()),
                message: None,
            });
        }
        Ok(MapReport { outcomes })
    }
}

/// What a refresh did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshReport {
    /// Mapped configurations whose fields were written.
    pub updated: usize,
    /// Mapped configurations already true.
    pub unchanged: usize,
    /// Devices deleted in Datto RMM: unmapped, their configurations set inactive.
    pub deactivated: usize,
    /// Devices now in a site of another company (left for the table to match afresh).
    pub moved: usize,
    pub failed: usize,
    /// A preview: nothing was written; the counts and `actions` say what a run would do.
    pub preview: bool,
    /// The run stopped at its time budget before every write was made (the next one carries on).
    pub incomplete: bool,
    /// The writes planned (a preview) or made.
    pub actions: Vec<RefreshAction>,
}

/// One write of a refresh.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshAction {
    pub device_uid: String,
    pub configuration_id: String,
    /// `update` or `deactivate`.
    pub action: String,
    /// The fields an update writes (names only).
    pub fields: Option<String>,
}

fn changed_fields(c: &ConfigurationChanges) -> String {
    let mut names = Vec::new();
    for (name, set) in [
        ("deviceUid", c.device_uid.is_some()),
        ("serialNumber", c.serial_number.is_some()),
        ("model", c.model.is_some()),
        ("os", c.os.is_some()),
        ("ipAddress", c.ip_address.is_some()),
        ("warrantyExpiration", c.warranty_expiration.is_some()),
    ] {
        if set {
            names.push(name.to_owned());
        }
    }
    // The UDFs by count only: a UDF's name is the user's, its value never leaves the write.
    match c.custom_fields.0.len() {
        0 => {}
        1 => names.push("1 UDF".to_owned()),
        k => names.push(format!("{k} UDFs")),
    }
    names.join(", ")
}

impl ConfigMap<'_> {
    /// Keeps the mapped configurations true (what a later sync calls for): only the fields the
    /// device changed are written (serial, model, OS, IP, the mapped UDFs whose values differ;
    /// the warranty only while the configuration has none), and a device deleted in Datto RMM is
    /// unmapped and its configuration set inactive. Every write is audited.
    ///
    /// First the whole run is planned; `preview` answers that plan without writing. A run
    /// that would deactivate more than the safety cap writes nothing without `confirm`
    /// (409 `confirmation_required`): a mass deletion in Datto (or a glitch that looks like
    /// one) must not retire a company's configurations unseen.
    pub async fn refresh(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        preview: bool,
        confirm: bool,
    ) -> Result<RefreshReport, ApiError> {
        self.refresh_until(tenant, integration, psa, preview, confirm, None)
            .await
    }

    /// [`Self::refresh`] that stops between PSA calls once `deadline` has passed (the sync
    /// worker's time budget), answering `incomplete: true`; what is left is done by the next.
    pub async fn refresh_until(
        &self,
        tenant: &TenantId,
        integration: &str,
        psa: &str,
        preview: bool,
        confirm: bool,
        deadline: Option<std::time::Instant>,
    ) -> Result<RefreshReport, ApiError> {
        let late = || deadline.is_some_and(|d| std::time::Instant::now() >= d);
        crate::devices::ensure_integration(self.store(), tenant, integration).await?;
        let (_, client) = self.integrations.connect(tenant, psa).await?;
        let ctx = DeviceImporter { store: self.store() }
            .context(tenant, integration)
            .await?;
        let (maps, types, udfs) = tokio::try_join!(
            self.store().config_maps(tenant, integration, psa),
            self.store().config_type_mappings(tenant, integration, psa),
            self.store().config_udf_map(tenant, integration, psa),
        )?;
        let uids: Vec<String> = maps.keys().cloned().collect();
        let devices = if uids.is_empty() {
            HashMap::new()
        } else {
            self.store().devices_by_uid(tenant, integration, &uids).await?
        };
        let mut psa_of: HashMap<String, Option<String>> = HashMap::new();
        let mut configs: HashMap<String, PsaConfiguration> = HashMap::new();
        let mut read: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut report = RefreshReport {
            preview,
            ..RefreshReport::default()
        };
        let mut sorted: Vec<&SavedMap> = maps.values().collect();
        sorted.sort_by(|a, b| a.device_uid.cmp(&b.device_uid));
        // Phase 1: what each mapped device calls for.
        let mut plan: Vec<(&SavedMap, Option<ConfigurationChanges>)> = Vec::new();
        for m in sorted {
            if late() {
                report.incomplete = true;
                break;
            }
            if read.insert(m.psa_company_id.clone()) {
                for c in company_configurations(&client, &m.psa_company_id).await? {
                    configs.insert(c.id.clone(), c);
                }
            }
            let Some(device) = devices.get(&m.device_uid).filter(|d| !is_removed(d)) else {
                report.actions.push(RefreshAction {
                    device_uid: m.device_uid.clone(),
                    configuration_id: m.configuration_id.clone(),
                    action: "deactivate".into(),
                    fields: None,
                });
                plan.push((m, None));
                continue;
            };
            let company = match ctx.company_of(device) {
                None => None,
                Some(portal) => {
                    if !psa_of.contains_key(portal) {
                        let c = self.store().get_company(tenant, portal).await?;
                        let id = c.and_then(|c| {
                            (c.psa_integration_id.as_deref() == Some(psa))
                                .then_some(c.psa_id)
                                .flatten()
                        });
                        psa_of.insert(portal.clone(), id);
                    }
                    psa_of.get(portal).cloned().flatten()
                }
            };
            if company.as_deref() != Some(m.psa_company_id.as_str()) {
                report.moved += 1;
                continue;
            }
            let Some(current) = configs.get(&m.configuration_id) else {
                report.failed += 1;
                if !preview {
                    self.record(
                        tenant,
                        integration,
                        psa,
                        AuditRecord {
                            device_uid: m.device_uid.clone(),
                            configuration_id: Some(m.configuration_id.clone()),
                            action: "update".into(),
                            rule: None,
                            result: "failed".into(),
                            message: Some("the configuration is no longer in its company".into()),
                            at: crate::time::now_millis(),
                        },
                    )
                    .await?;
                }
                continue;
            };
            let t = types.get(&type_key(device));
            let mut changes = ConfigurationChanges::between(current, &draft_for(device, &m.psa_company_id, t, &udfs));
            // A configuration someone set inactive in the PSA is not reactivated here.
            changes.active = None;
            // Autotask takes a model only as a value of its picklist: one it does not list
            // cannot be written, so it is no change (else it would be "changed" for ever).
            if let (PsaClient::Autotask(c), Some(model)) = (&client, &changes.model) {
                let listed = c
                    .ci_picklists()
                    .await?
                    .models
                    .iter()
                    .any(|p| p.active && p.label.trim().eq_ignore_ascii_case(model.trim()));
                if !listed {
                    changes.model = None;
                }
            }
            if changes.is_empty() {
                report.unchanged += 1;
                continue;
            }
            report.actions.push(RefreshAction {
                device_uid: m.device_uid.clone(),
                configuration_id: m.configuration_id.clone(),
                action: "update".into(),
                fields: Some(changed_fields(&changes)),
            });
            plan.push((m, Some(changes)));
        }
        let deactivations = plan.iter().filter(|(_, c)| c.is_none()).count();
        if preview {
            report.updated = plan.len() - deactivations;
            report.deactivated = deactivations;
            return Ok(report);
        }
        if deactivations > self.safety_cap && !confirm {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "confirmation_required",
                format!(
                    "this run would set {deactivations} configurations inactive, more than the safety cap of {}; \
                     look at it with `preview: true`, then send `confirm: true`",
                    self.safety_cap
                ),
            ));
        }
        // Autotask's hourly budget belongs to the whole database: never write below its reserve.
        if !plan.is_empty()
            && let PsaClient::Autotask(c) = &client
        {
            c.check_budget().await?;
        }
        // Phase 2: the writes, each audited.
        for (m, changes) in plan {
            if late() {
                report.incomplete = true;
                break;
            }
            let at = crate::time::now_millis();
            let Some(changes) = changes else {
                // Deleted in Datto RMM (or purged): inactive in the PSA, then unmapped.
                let result = match client {
                    PsaClient::Autotask(ref c) => c.deactivate_configuration(&m.configuration_id).await,
                    PsaClient::ConnectWise(ref c) => c.deactivate_configuration(&m.configuration_id).await,
                };
                let ok = result.is_ok();
                if ok {
                    self.store()
                        .delete_config_map(tenant, integration, psa, &m.device_uid)
                        .await?;
                    report.deactivated += 1;
                } else {
                    report.failed += 1;
                }
                self.record(
                    tenant,
                    integration,
                    psa,
                    AuditRecord {
                        device_uid: m.device_uid.clone(),
                        configuration_id: Some(m.configuration_id.clone()),
                        action: "deactivate".into(),
                        rule: None,
                        result: if ok { "ok" } else { "failed" }.into(),
                        message: result.err().map(|e| e.to_string()),
                        at,
                    },
                )
                .await?;
                continue;
            };
            let result = update(&client, &m.configuration_id, &changes).await;
            if result.is_ok() {
                report.updated += 1;
            } else {
                report.failed += 1;
            }
            self.record(
                tenant,
                integration,
                psa,
                AuditRecord {
                    device_uid: m.device_uid.clone(),
                    configuration_id: Some(m.configuration_id.clone()),
                    action: "update".into(),
                    rule: None,
                    result: if result.is_ok() { "ok" } else { "failed" }.into(),
                    message: Some(match result {
                        Ok(()) => format!("changed: {}", changed_fields(&changes)),
                        Err(e) => e.to_string(),
                    }),
                    at,
                },
            )
            .await?;
        }
        Ok(report)
    }
}

/// `limit`: 1-500, default 100.
pub fn page_limit(raw: Option<String>) -> Result<usize, ApiError> {
    match raw {
        None => Ok(100),
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=500).contains(&n) => Ok(n),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "`limit` must be 1 to 500",
            )),
        },
    }
}
