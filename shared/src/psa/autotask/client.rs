//! The Autotask connector and client: credentials, settings read from the environment, the
//! state a client shares with the others of its connector (zone cache, thread-limit
//! semaphores), and the connection test with the hourly budget it reports.

use super::transport::{ThreadLimits, Transport, ZoneCache};
use crate::psa::{PsaConnectionInfo, PsaError};
use crate::retry::{Replay, RetryPolicy};
use crate::secret::Secret;
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use tokio::sync::OnceCell;

/// Domains a REST root from zone discovery may be on (a host equal to one, or under it).
pub const DEFAULT_REST_DOMAINS: &[&str] = &["autotask.net"];

/// The BillingCodes `useType` of work types (labour billing codes): 1, as integrations commonly
/// filter them; UNCONFIRMED against Autotask's own picklist, hence `AUTOTASK_WORK_TYPE_USE_TYPE`.
pub const DEFAULT_WORK_TYPE_USE_TYPE: i64 = 1;

/// Zone discovery on the production cluster (any zone host answers it).
pub const DEFAULT_ZONE_URL: &str = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation";

/// An Autotask API user. `integration_code` (the API tracking identifier) defaults to the
/// connector's.
#[derive(Debug, Clone)]
pub struct AutotaskCredentials {
    pub username: String,
    pub secret: Secret,
    pub integration_code: Option<String>,
}

/// `GET /ThresholdInformation`: the database's hourly request budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AutotaskThreshold {
    pub limit: i64,
    pub timeframe_minutes: i64,
    pub used: i64,
}

impl AutotaskThreshold {
    pub fn remaining(&self) -> i64 {
        (self.limit - self.used).max(0)
    }
}

/// Makes [`AutotaskClient`]s: holds the HTTP client, settings and the zone cache. Build one per
/// process, in `main`.
#[derive(Debug, Clone)]
pub struct AutotaskConnector {
    http: reqwest::Client,
    zone_url: String,
    integration_code: Option<String>,
    retry: RetryPolicy,
    thread_limit: usize,
    budget_reserve: i64,
    max_pages: u32,
    webhook_field_ids: Vec<i64>,
    ticket_webhooks: bool,
    work_type_use_type: i64,
    rest_domains: Vec<String>,
    zones: ZoneCache,
    /// Per (integration code, API user, entity endpoint): shared by every client of the
    /// connector, so two clients of one account together keep to the limit.
    threads: ThreadLimits,
}

impl AutotaskConnector {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            zone_url: DEFAULT_ZONE_URL.to_owned(),
            integration_code: None,
            retry: RetryPolicy::autotask(),
            thread_limit: 3,
            budget_reserve: 500,
            max_pages: 2_000,
            webhook_field_ids: Vec::new(),
            ticket_webhooks: true,
            work_type_use_type: DEFAULT_WORK_TYPE_USE_TYPE,
            rest_domains: DEFAULT_REST_DOMAINS.iter().map(|d| (*d).to_owned()).collect(),
            zones: ZoneCache::default(),
            threads: ThreadLimits::default(),
        }
    }

    /// Reads `AUTOTASK_ZONE_URL`, `AUTOTASK_INTEGRATION_CODE` (the API tracking identifier used
    /// when credentials bring none), `AUTOTASK_THREAD_LIMIT`, `AUTOTASK_BUDGET_RESERVE`,
    /// `AUTOTASK_WEBHOOK_FIELD_IDS` (comma-separated ticket field ids a registered ticket
    /// webhook subscribes; which ids name which fields is UNCONFIRMED, so none by default),
    /// `AUTOTASK_TICKET_WEBHOOKS` (`false` = never register ticket webhooks; default true),
    /// `AUTOTASK_REST_DOMAINS` (comma-separated domains a discovered REST root may be on,
    /// replacing [`DEFAULT_REST_DOMAINS`]; `127.0.0.1` for the simulator),
    /// `AUTOTASK_WORK_TYPE_USE_TYPE` (the BillingCodes `useType` of work types; UNCONFIRMED,
    /// [`DEFAULT_WORK_TYPE_USE_TYPE`] by default).
    pub fn from_env(http: reqwest::Client) -> Self {
        let mut c = Self::new(http);
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(v) = var("AUTOTASK_ZONE_URL") {
            c.zone_url = v;
        }
        c.integration_code = var("AUTOTASK_INTEGRATION_CODE");
        if let Some(n) = var("AUTOTASK_THREAD_LIMIT").and_then(|v| v.parse().ok()) {
            c.thread_limit = n;
        }
        if let Some(n) = var("AUTOTASK_BUDGET_RESERVE").and_then(|v| v.parse().ok()) {
            c.budget_reserve = n;
        }
        if let Some(v) = var("AUTOTASK_REST_DOMAINS") {
            c.rest_domains = v
                .split(',')
                .map(|d| d.trim().trim_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect();
        }
        if let Some(v) = var("AUTOTASK_TICKET_WEBHOOKS") {
            c.ticket_webhooks = !matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "0" | "no" | "off");
        }
        if let Some(n) = var("AUTOTASK_WORK_TYPE_USE_TYPE").and_then(|v| v.trim().parse().ok()) {
            c.work_type_use_type = n;
        }
        if let Some(v) = var("AUTOTASK_WEBHOOK_FIELD_IDS") {
            c.webhook_field_ids = v.split(',').filter_map(|f| f.trim().parse().ok()).collect();
        }
        c
    }

    pub fn with_zone_url(mut self, url: impl Into<String>) -> Self {
        self.zone_url = url.into();
        self
    }

    pub fn with_integration_code(mut self, code: impl Into<String>) -> Self {
        self.integration_code = Some(code.into());
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Requests in flight per entity endpoint, API user and integration code (Autotask allows 3).
    pub fn with_thread_limit(mut self, limit: usize) -> Self {
        self.thread_limit = limit.max(1);
        self
    }

    /// Bulk listings refuse to start with fewer requests than this left in the hour.
    pub fn with_budget_reserve(mut self, reserve: i64) -> Self {
        self.budget_reserve = reserve;
        self
    }

    /// The domains a REST root from zone discovery may be on (the credentials go there).
    pub fn with_rest_domains(mut self, domains: &[&str]) -> Self {
        self.rest_domains = domains
            .iter()
            .map(|d| d.trim().trim_matches('.').to_ascii_lowercase())
            .collect();
        self
    }

    /// Whether hook tokens register Autotask ticket webhooks.
    pub fn with_ticket_webhooks(mut self, on: bool) -> Self {
        self.ticket_webhooks = on;
        self
    }

    /// Ticket field ids a registered ticket webhook subscribes.
    pub fn with_webhook_field_ids(mut self, ids: Vec<i64>) -> Self {
        self.webhook_field_ids = ids;
        self
    }

    /// The BillingCodes `useType` of work types.
    pub fn with_work_type_use_type(mut self, use_type: i64) -> Self {
        self.work_type_use_type = use_type;
        self
    }

    pub fn with_max_pages(mut self, pages: u32) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// A client for one Autotask API user. No request is made here: the zone is discovered on
    /// first use.
    pub async fn client(&self, creds: AutotaskCredentials) -> Result<AutotaskClient, PsaError> {
        let zone_url = Url::parse(&self.zone_url)
            .map_err(|e| PsaError::Config(format!("AUTOTASK_ZONE_URL is not a valid URL: {e}")))?;
        let integration_code = creds
            .integration_code
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or_else(|| self.integration_code.clone())
            .ok_or_else(|| {
                PsaError::Config("no Autotask API integration code (tracking identifier) is configured".into())
            })?;
        if creds.username.trim().is_empty() {
            return Err(PsaError::Config("the Autotask API username is empty".into()));
        }
        Ok(AutotaskClient {
            transport: Transport {
                http: self.http.clone(),
                zone_url,
                username: creds.username,
                secret: creds.secret,
                integration_code,
                retry: self.retry.clone(),
                thread_limit: self.thread_limit,
                max_pages: self.max_pages,
                rest_domains: self.rest_domains.clone(),
                zones: self.zones.clone(),
                threads: self.threads.clone(),
                requests: AtomicU64::new(0),
            },
            budget_reserve: self.budget_reserve,
            webhook_field_ids: self.webhook_field_ids.clone(),
            ticket_webhooks: self.ticket_webhooks,
            work_type_use_type: self.work_type_use_type,
            ci_types: OnceCell::new(),
            ci_picklists: OnceCell::new(),
        })
    }
}

/// A client for one Autotask API user (one database). Share it by reference across tasks: the
/// per-endpoint semaphores (shared with the other clients of the connector for the same user and
/// integration code) hold all of them to the thread limit.
#[derive(Debug)]
pub struct AutotaskClient {
    /// The zone, credential headers, thread limit, retries and paging: how requests are sent.
    pub(super) transport: Transport,
    budget_reserve: i64,
    /// Ticket fields a registered ticket webhook subscribes.
    pub(super) webhook_field_ids: Vec<i64>,
    ticket_webhooks: bool,
    /// The BillingCodes `useType` of work types (what a ticket's `billingCodeID` takes).
    pub(super) work_type_use_type: i64,
    /// ConfigurationItemTypes by id, read once.
    pub(super) ci_types: OnceCell<HashMap<i64, String>>,
    /// The ConfigurationItems audit picklists (manufacturer, model), read once.
    pub(super) ci_picklists: OnceCell<crate::psa::configuration::CiPicklists>,
}

impl AutotaskClient {
    /// HTTP requests sent so far (zone discovery and retries included).
    pub fn requests_made(&self) -> u64 {
        self.transport.requests_made()
    }

    /// Whether ticket webhooks are registered for this account (`AUTOTASK_TICKET_WEBHOOKS`).
    pub fn registers_ticket_webhooks(&self) -> bool {
        self.ticket_webhooks
    }

    pub fn username(&self) -> &str {
        &self.transport.username
    }

    /// Zone discovery, then `GET /Version` with the credentials, then the hourly budget.
    pub async fn test_connection(&self) -> Result<PsaConnectionInfo, PsaError> {
        let transport = &self.transport;
        let zone = transport.rediscover_zone().await?;
        let answer = transport
            .send(
                Method::GET,
                transport.url(&zone, "Version")?,
                "Version",
                None,
                Replay::Idempotent,
            )
            .await?;
        transport.expect_ok(&answer, "/Version")?;
        let threshold = self.threshold().await?;
        Ok(PsaConnectionInfo {
            account: zone.name.clone(),
            api_url: zone.root.to_string(),
            database: zone.ci.map(|ci| {
                format!(
                    "autotask:{}#ci={ci}",
                    zone.root.host_str().unwrap_or_default().to_lowercase()
                )
            }),
            requests_used: Some(threshold.used),
            request_limit: Some(threshold.limit),
        })
    }

    /// `GET /ThresholdInformation`.
    pub async fn threshold(&self) -> Result<AutotaskThreshold, PsaError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ThresholdInformation {
            external_request_threshold: Option<i64>,
            request_threshold_timeframe: Option<i64>,
            current_timeframe_request_count: Option<i64>,
        }
        let raw: ThresholdInformation = self
            .transport
            .get_json("ThresholdInformation", "ThresholdInformation")
            .await?;
        Ok(AutotaskThreshold {
            limit: raw.external_request_threshold.unwrap_or(10_000),
            timeframe_minutes: raw.request_threshold_timeframe.unwrap_or(60),
            used: raw.current_timeframe_request_count.unwrap_or(0),
        })
    }

    /// Refuses bulk work (a listing, a run of configuration writes) when the hour's budget is
    /// below the reserve: the budget is the whole database's, shared with the MSP's other
    /// integrations.
    pub async fn check_budget(&self) -> Result<(), PsaError> {
        self.budget_above_reserve().await.map(|_| ())
    }

    /// How many requests the hour's budget has left above the reserve (what a run of bulk
    /// writes may spend); refuses as [`Self::check_budget`] when it is below the reserve.
    pub async fn budget_above_reserve(&self) -> Result<i64, PsaError> {
        let t = self.threshold().await?;
        if t.remaining() < self.budget_reserve {
            return Err(PsaError::BudgetExhausted {
                used: t.used,
                limit: t.limit,
            });
        }
        Ok(t.remaining() - self.budget_reserve)
    }
}
