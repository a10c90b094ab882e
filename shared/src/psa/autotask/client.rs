use crate::http::{describe_error as describe, host_and_port};
use crate::psa::{
    PsaConnectionInfo, PsaError, PsaKind, PsaRecord, RecordKind, TicketDraft, TicketState, truncate_chars,
};
pub use crate::retry::RetryPolicy;
use crate::secret::Secret;
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OnceCell, Semaphore};

/// Zone discovery on the production cluster (any zone host answers it).
pub const DEFAULT_ZONE_URL: &str = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation";
/// Priority of a ticket whose draft has none (Autotask requires one).
pub const DEFAULT_PRIORITY: i64 = 2;
const PSA: PsaKind = PsaKind::Autotask;
const PAGE_SIZE: u32 = 500;
const TITLE_MAX: usize = 255;
const DESCRIPTION_MAX: usize = 8000;
const NOTE_TITLE_MAX: usize = 250;
const NOTE_TEXT_MAX: usize = 32_000;

/// An Autotask API user. `integration_code` (the API tracking identifier) defaults to the
/// connector's.
#[derive(Debug, Clone)]
pub struct AutotaskCredentials {
    pub username: String,
    pub secret: Secret,
    pub integration_code: Option<String>,
}

/// How tickets are opened and closed in one Autotask tenant (ids from its picklists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutotaskTicketSettings {
    pub queue_id: i64,
    pub issue_type: Option<i64>,
    pub sub_issue_type: Option<i64>,
    /// Sent as `billingCodeID`.
    pub work_type: Option<i64>,
    pub status_new: i64,
    pub status_complete: i64,
    pub source: Option<i64>,
}

impl Default for AutotaskTicketSettings {
    fn default() -> Self {
        Self {
            queue_id: 0,
            issue_type: None,
            sub_issue_type: None,
            work_type: None,
            status_new: 1,
            status_complete: 5,
            source: None,
        }
    }
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

#[derive(Debug, Clone)]
struct Zone {
    name: Option<String>,
    /// The REST root, ending in `/` (`…/ATServicesRest/`).
    root: Url,
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
    zones: Arc<Mutex<HashMap<String, Zone>>>,
    /// Per (integration code, API user, entity endpoint): shared by every client of the
    /// connector, so two clients of one account together keep to the limit.
    threads: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
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
            zones: Arc::default(),
            threads: Arc::default(),
        }
    }

    /// Reads `AUTOTASK_ZONE_URL`, `AUTOTASK_INTEGRATION_CODE` (the API tracking identifier used
    /// when credentials bring none), `AUTOTASK_THREAD_LIMIT`, `AUTOTASK_BUDGET_RESERVE`.
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
            http: self.http.clone(),
            zone_url,
            creds,
            integration_code,
            retry: self.retry.clone(),
            thread_limit: self.thread_limit,
            budget_reserve: self.budget_reserve,
            max_pages: self.max_pages,
            zones: self.zones.clone(),
            threads: self.threads.clone(),
            ci_types: OnceCell::new(),
            requests: AtomicU64::new(0),
        })
    }
}

/// A client for one Autotask API user (one database). Share it by reference across tasks: the
/// per-endpoint semaphores (shared with the other clients of the connector for the same user and
/// integration code) hold all of them to the thread limit.
#[derive(Debug)]
pub struct AutotaskClient {
    http: reqwest::Client,
    zone_url: Url,
    creds: AutotaskCredentials,
    integration_code: String,
    retry: RetryPolicy,
    thread_limit: usize,
    budget_reserve: i64,
    max_pages: u32,
    zones: Arc<Mutex<HashMap<String, Zone>>>,
    threads: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    ci_types: OnceCell<HashMap<i64, String>>,
    requests: AtomicU64,
}

/// Whether a failed request may be sent again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Queries, GET, PATCH: retry 429, 5xx and network faults.
    Idempotent,
    /// Creates: retry only what Autotask surely did not process (429, connection refused).
    Create,
}

struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl AutotaskClient {
    /// HTTP requests sent so far (zone discovery and retries included).
    pub fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn username(&self) -> &str {
        &self.creds.username
    }

    /// Zone discovery, then `GET /Version` with the credentials, then the hourly budget.
    pub async fn test_connection(&self) -> Result<PsaConnectionInfo, PsaError> {
        let zone = self.discover_zone().await?;
        lock(&self.zones).insert(self.zone_key(), zone.clone());
        let answer = self
            .send(
                Method::GET,
                self.url(&zone, "Version")?,
                "Version",
                None,
                Retry::Idempotent,
            )
            .await?;
        self.expect_ok(&answer, "/Version")?;
        let threshold = self.threshold().await?;
        Ok(PsaConnectionInfo {
            account: zone.name.clone(),
            api_url: zone.root.to_string(),
            requests_used: Some(threshold.used),
            request_limit: Some(threshold.limit),
        })
    }

    /// `GET /ThresholdInformation`.
    pub async fn threshold(&self) -> Result<AutotaskThreshold, PsaError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            external_request_threshold: Option<i64>,
            request_threshold_timeframe: Option<i64>,
            current_timeframe_request_count: Option<i64>,
        }
        let raw: Raw = self.get_json("ThresholdInformation", "ThresholdInformation").await?;
        Ok(AutotaskThreshold {
            limit: raw.external_request_threshold.unwrap_or(10_000),
            timeframe_minutes: raw.request_threshold_timeframe.unwrap_or(60),
            used: raw.current_timeframe_request_count.unwrap_or(0),
        })
    }

    /// Every record of a kind, inactive ones included (`active = false`).
    pub async fn list_records(&self, kind: RecordKind) -> Result<Vec<PsaRecord>, PsaError> {
        let entity = match kind {
            RecordKind::Company => "Companies",
            RecordKind::Contact => "Contacts",
            RecordKind::Location => "CompanyLocations",
            RecordKind::Configuration => "ConfigurationItems",
            RecordKind::User => "Resources",
        };
        self.check_budget().await?;
        let types = if kind == RecordKind::Configuration {
            Some(self.configuration_item_types().await?)
        } else {
            None
        };
        let items = self.query_all(entity, json!([{"op": "exist", "field": "id"}])).await?;
        let mut records = Vec::with_capacity(items.len());
        for item in &items {
            match to_record(kind, item, types) {
                Some(r) => records.push(r),
                None => tracing::warn!(entity, "an Autotask record without an id was skipped"),
            }
        }
        Ok(records)
    }

    /// Opens a ticket for a Datto RMM alert (`rmmAlertID` = the alert uid).
    pub async fn create_ticket(
        &self,
        draft: &TicketDraft,
        settings: &AutotaskTicketSettings,
    ) -> Result<TicketState, PsaError> {
        let company_id = parse_id("company", &draft.company_id)?;
        let priority = match draft.priority.as_deref() {
            Some(p) => parse_id("priority", p)?,
            None => DEFAULT_PRIORITY,
        };
        let mut body = json!({
            "companyID": company_id,
            "title": truncate_chars(&draft.title, TITLE_MAX),
            "description": truncate_chars(&draft.description, DESCRIPTION_MAX),
            "status": settings.status_new,
            "priority": priority,
            "queueID": settings.queue_id,
            "rmmAlertID": draft.alert_uid,
        });
        let extra = [
            (
                "configurationItemID",
                draft
                    .configuration_id
                    .as_deref()
                    .map(|c| parse_id("configuration item", c))
                    .transpose()?,
            ),
            ("issueType", settings.issue_type),
            ("subIssueType", settings.sub_issue_type),
            ("billingCodeID", settings.work_type),
            ("source", settings.source),
        ];
        for (field, value) in extra {
            if let Some(v) = value {
                body[field] = json!(v);
            }
        }
        let zone = self.zone().await?;
        let answer = self
            .send(
                Method::POST,
                self.url(&zone, "Tickets")?,
                "Tickets",
                Some(&body),
                Retry::Create,
            )
            .await?;
        self.expect_ok(&answer, "/Tickets")?;
        let id = item_id(&answer.body, "/Tickets")?;
        // The ticket exists now: a failure to read it back must not make the caller open another.
        let number = match self.ticket_item(&id.to_string()).await {
            Ok(item) => item.get("ticketNumber").and_then(Value::as_str).map(str::to_owned),
            Err(e) => {
                tracing::warn!(ticket_id = id, error = %e, "created an Autotask ticket but could not read it back");
                None
            }
        };
        Ok(TicketState {
            id: id.to_string(),
            number,
            completed: settings.status_new == settings.status_complete,
            alert_uid: Some(draft.alert_uid.clone()),
        })
    }

    /// `POST /Tickets/{id}/Notes` (notes are a child entity).
    pub async fn add_ticket_note(&self, ticket_id: &str, title: &str, text: &str) -> Result<(), PsaError> {
        let id = parse_id("ticket", ticket_id)?;
        let body = json!({
            "ticketID": id,
            "title": truncate_chars(title, NOTE_TITLE_MAX),
            "description": truncate_chars(text, NOTE_TEXT_MAX),
            "noteType": 1,
            "publish": 1,
        });
        let zone = self.zone().await?;
        let path = format!("Tickets/{id}/Notes");
        let answer = self
            .send(
                Method::POST,
                self.url(&zone, &path)?,
                "Tickets",
                Some(&body),
                Retry::Create,
            )
            .await?;
        self.expect_ticket_ok(&answer, id, "/Tickets/{id}/Notes")
    }

    /// `GET /Tickets/{id}`.
    pub async fn get_ticket(
        &self,
        ticket_id: &str,
        settings: &AutotaskTicketSettings,
    ) -> Result<TicketState, PsaError> {
        let item = self.ticket_item(ticket_id).await?;
        Ok(ticket_state(&item, settings))
    }

    /// `PATCH /Tickets` to the Complete status, with the resolution.
    pub async fn complete_ticket(
        &self,
        ticket_id: &str,
        resolution: &str,
        settings: &AutotaskTicketSettings,
    ) -> Result<(), PsaError> {
        let id = parse_id("ticket", ticket_id)?;
        let body = json!({"id": id, "status": settings.status_complete, "resolution": truncate_chars(resolution, NOTE_TEXT_MAX)});
        let zone = self.zone().await?;
        let answer = self
            .send(
                Method::PATCH,
                self.url(&zone, "Tickets")?,
                "Tickets",
                Some(&body),
                Retry::Idempotent,
            )
            .await?;
        self.expect_ticket_ok(&answer, id, "/Tickets")
    }

    /// The newest ticket for an alert that is not Complete, if any.
    pub async fn find_open_ticket_for_alert(
        &self,
        alert_uid: &str,
        settings: &AutotaskTicketSettings,
    ) -> Result<Option<TicketState>, PsaError> {
        let filter = json!([
            {"op": "eq", "field": "rmmAlertID", "value": alert_uid},
            {"op": "noteq", "field": "status", "value": settings.status_complete},
        ]);
        let items = self.query_all("Tickets", filter).await?;
        Ok(items
            .iter()
            .filter(|t| t.get("id").and_then(Value::as_i64).is_some())
            .max_by_key(|t| t.get("id").and_then(Value::as_i64))
            .map(|t| ticket_state(t, settings)))
    }

    async fn ticket_item(&self, ticket_id: &str) -> Result<Value, PsaError> {
        let not_found = || PsaError::NotFound {
            psa: PSA,
            what: format!("ticket {ticket_id}"),
        };
        let id = ticket_id.trim().parse::<i64>().map_err(|_| not_found())?;
        let zone = self.zone().await?;
        let answer = self
            .send(
                Method::GET,
                self.url(&zone, &format!("Tickets/{id}"))?,
                "Tickets",
                None,
                Retry::Idempotent,
            )
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Err(not_found());
        }
        self.expect_ok(&answer, "/Tickets/{id}")?;
        let mut v: Value = decode(&answer.body, "/Tickets/{id}")?;
        match v.get_mut("item").map(Value::take) {
            Some(item) if item.is_object() => Ok(item),
            _ => Err(not_found()),
        }
    }

    /// ConfigurationItemTypes by id, read once per client.
    async fn configuration_item_types(&self) -> Result<&HashMap<i64, String>, PsaError> {
        self.ci_types
            .get_or_try_init(|| async {
                let items = self
                    .query_all("ConfigurationItemTypes", json!([{"op": "exist", "field": "id"}]))
                    .await?;
                Ok(items
                    .iter()
                    .filter_map(|t| Some((t.get("id")?.as_i64()?, t.get("name")?.as_str()?.to_owned())))
                    .collect())
            })
            .await
    }

    /// Refuses a bulk listing when the hour's budget is below the reserve.
    async fn check_budget(&self) -> Result<(), PsaError> {
        let t = self.threshold().await?;
        if t.remaining() < self.budget_reserve {
            return Err(PsaError::BudgetExhausted {
                used: t.used,
                limit: t.limit,
            });
        }
        Ok(())
    }

    /// `POST /{entity}/query` and every next page (POSTed with the same body).
    async fn query_all(&self, entity: &str, filter: Value) -> Result<Vec<Value>, PsaError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            items: Vec<Value>,
            page_details: Option<PageDetails>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct PageDetails {
            next_page_url: Option<String>,
        }
        let zone = self.zone().await?;
        let body = json!({"filter": filter, "maxRecords": PAGE_SIZE});
        let first = self.url(&zone, &format!("{entity}/query"))?;
        let mut url = first.clone();
        let mut seen = HashSet::from([first.to_string()]);
        let mut all = Vec::new();
        let mut pages = 0_u32;
        loop {
            let path = format!("/{entity}/query");
            let answer = self
                .send(Method::POST, url.clone(), entity, Some(&body), Retry::Idempotent)
                .await?;
            self.expect_ok(&answer, &path)?;
            let page: Page = decode(&answer.body, &path)?;
            pages += 1;
            all.extend(page.items);
            let next = page
                .page_details
                .and_then(|d| d.next_page_url)
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty());
            let Some(next) = next else {
                return Ok(all);
            };
            let next_url = self.checked_next_url(&zone, &next)?;
            if !seen.insert(next_url.to_string()) {
                return Err(PsaError::Paging {
                    psa: PSA,
                    url: redact_query(&next_url),
                    detail: "the same page was offered twice".into(),
                });
            }
            if pages >= self.max_pages {
                return Err(PsaError::Paging {
                    psa: PSA,
                    url: redact_query(&next_url),
                    detail: format!("more than {} pages", self.max_pages),
                });
            }
            url = next_url;
        }
    }

    /// A `nextPageUrl` must stay on the zone's host and under its REST root: the credentials go
    /// wherever it points.
    fn checked_next_url(&self, zone: &Zone, next: &str) -> Result<Url, PsaError> {
        let url = zone.root.join(next).map_err(|e| PsaError::Paging {
            psa: PSA,
            url: "(unparsable)".into(),
            detail: format!("not a URL: {e}"),
        })?;
        let root = &zone.root;
        let same = url.scheme() == root.scheme()
            && url.host_str().map(str::to_ascii_lowercase) == root.host_str().map(str::to_ascii_lowercase)
            && url.port_or_known_default() == root.port_or_known_default()
            && url
                .path()
                .to_ascii_lowercase()
                .starts_with(&root.path().to_ascii_lowercase());
        if !same {
            return Err(PsaError::Paging {
                psa: PSA,
                url: redact_query(&url),
                detail: format!("it leaves {root}; not following it"),
            });
        }
        Ok(url)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str, endpoint: &str) -> Result<T, PsaError> {
        let zone = self.zone().await?;
        let answer = self
            .send(Method::GET, self.url(&zone, path)?, endpoint, None, Retry::Idempotent)
            .await?;
        self.expect_ok(&answer, &format!("/{path}"))?;
        decode(&answer.body, &format!("/{path}"))
    }

    fn url(&self, zone: &Zone, path: &str) -> Result<Url, PsaError> {
        zone.root
            .join(&format!("V1.0/{path}"))
            .map_err(|e| PsaError::InvalidResponse {
                psa: PSA,
                path: path.to_owned(),
                detail: format!("cannot build a URL under the zone root: {e}"),
            })
    }

    fn zone_key(&self) -> String {
        format!("{}|{}", self.zone_url, self.creds.username.to_lowercase())
    }

    /// The cached zone, or a discovery.
    async fn zone(&self) -> Result<Zone, PsaError> {
        if let Some(z) = lock(&self.zones).get(&self.zone_key()) {
            return Ok(z.clone());
        }
        let zone = self.discover_zone().await?;
        lock(&self.zones).insert(self.zone_key(), zone.clone());
        Ok(zone)
    }

    /// `GET zoneInformation?user=` (no credentials sent).
    async fn discover_zone(&self) -> Result<Zone, PsaError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            zone_name: Option<String>,
            url: Option<String>,
        }
        let mut url = self.zone_url.clone();
        url.query_pairs_mut().append_pair("user", &self.creds.username);
        let answer = match self.send(Method::GET, url, "", None, Retry::Idempotent).await {
            Err(PsaError::Validation { .. }) => {
                return Err(PsaError::UnknownUser {
                    user: self.creds.username.clone(),
                });
            }
            other => other?,
        };
        if !answer.status.is_success() {
            return Err(PsaError::Unexpected {
                psa: PSA,
                status: answer.status.as_u16(),
                path: "/zoneInformation".into(),
                detail: snippet(&answer.body),
            });
        }
        let raw: Raw = decode(&answer.body, "/zoneInformation")?;
        let invalid = |detail: String| PsaError::InvalidResponse {
            psa: PSA,
            path: "/zoneInformation".into(),
            detail,
        };
        let text = raw
            .url
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| invalid("no url".into()))?;
        let mut root = Url::parse(text.trim()).map_err(|e| invalid(format!("url is not a URL: {e}")))?;
        // The secret goes to this root: never downgrade from https.
        if !matches!(root.scheme(), "http" | "https") || (self.zone_url.scheme() == "https" && root.scheme() != "https")
        {
            return Err(invalid(format!("refusing REST root {root}")));
        }
        if !root.path().ends_with('/') {
            let path = format!("{}/", root.path());
            root.set_path(&path);
        }
        root.set_query(None);
        Ok(Zone {
            name: raw.zone_name,
            root,
        })
    }

    fn semaphore(&self, endpoint: &str) -> Arc<Semaphore> {
        let key = format!(
            "{}|{}|{}|{}",
            self.thread_limit,
            self.integration_code,
            self.creds.username.to_lowercase(),
            endpoint.to_ascii_lowercase()
        );
        lock(&self.threads)
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(self.thread_limit)))
            .clone()
    }

    /// One call with retries. `endpoint` = the entity endpoint for the thread limit (empty for
    /// zone discovery, which is exempt and sent without credentials).
    async fn send(
        &self,
        method: Method,
        url: Url,
        endpoint: &str,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Answer, PsaError> {
        let path = url.path().to_owned();
        let (mut limited, mut faults) = (0_u32, 0_u32);
        let semaphore = (!endpoint.is_empty()).then(|| self.semaphore(endpoint));
        loop {
            let permit = match &semaphore {
                Some(s) => Some(
                    s.clone()
                        .acquire_owned()
                        .await
                        .map_err(|_| PsaError::Config("semaphore closed".into()))?,
                ),
                None => None,
            };
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header("Accept", "application/json");
            if !endpoint.is_empty() {
                req = req
                    .header("ApiIntegrationCode", &self.integration_code)
                    .header("UserName", &self.creds.username)
                    .header("Secret", self.creds.secret.expose());
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = req.send().await;
            let result = match sent {
                Ok(r) => {
                    let status = r.status();
                    let retry_after = crate::retry::retry_after(&r);
                    r.bytes().await.map(|b| (status, retry_after, b.to_vec()))
                }
                Err(e) => Err(e),
            };
            drop(permit);
            let (status, retry_after, bytes) = match result {
                Ok(v) => v,
                Err(e) => {
                    faults += 1;
                    let may_retry = retry == Retry::Idempotent || e.is_connect();
                    if !may_retry || faults >= self.retry.fault_attempts {
                        return Err(PsaError::Unreachable {
                            psa: PSA,
                            host: host_and_port(&url),
                            reason: describe(&e),
                        });
                    }
                    tracing::warn!(path, attempt = faults, error = %e.without_url(), "Autotask request failed; retrying");
                    tokio::time::sleep(self.retry.delay(faults)).await;
                    continue;
                }
            };
            if status == StatusCode::TOO_MANY_REQUESTS {
                limited += 1;
                if limited >= self.retry.rate_limited_attempts {
                    return Err(PsaError::RateLimited {
                        psa: PSA,
                        attempts: limited,
                    });
                }
                let wait = retry_after
                    .map(|d| self.retry.capped_retry_after(d))
                    .unwrap_or_else(|| self.retry.delay(limited));
                tracing::warn!(
                    path,
                    attempt = limited,
                    wait_ms = wait.as_millis() as u64,
                    "Autotask answered 429; backing off"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_server_error() {
                if let Some(detail) = validation_errors(&bytes) {
                    return Err(PsaError::Validation { psa: PSA, detail });
                }
                faults += 1;
                if retry == Retry::Create || faults >= self.retry.fault_attempts {
                    return Err(PsaError::Server {
                        psa: PSA,
                        status: status.as_u16(),
                        attempts: faults,
                    });
                }
                tracing::warn!(
                    path,
                    status = status.as_u16(),
                    attempt = faults,
                    "Autotask fault; retrying"
                );
                tokio::time::sleep(self.retry.delay(faults)).await;
                continue;
            }
            return Ok(Answer { status, body: bytes });
        }
    }

    /// Maps a non-success answer to its error.
    /// [`Self::expect_ok`] for a write to one ticket, whose 404 names the ticket.
    fn expect_ticket_ok(&self, answer: &Answer, id: i64, path: &str) -> Result<(), PsaError> {
        if answer.status == StatusCode::NOT_FOUND {
            return Err(PsaError::NotFound {
                psa: PSA,
                what: format!("ticket {id}"),
            });
        }
        self.expect_ok(answer, path)
    }

    fn expect_ok(&self, answer: &Answer, path: &str) -> Result<(), PsaError> {
        match answer.status {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED => Err(PsaError::BadCredentials { psa: PSA }),
            StatusCode::FORBIDDEN => Err(PsaError::PermissionDenied {
                psa: PSA,
                detail: validation_errors(&answer.body)
                    .unwrap_or_else(|| "the API user may not use the REST API (API User security level)".into()),
            }),
            StatusCode::NOT_FOUND => Err(PsaError::NotFound {
                psa: PSA,
                what: path.to_owned(),
            }),
            s => Err(PsaError::Unexpected {
                psa: PSA,
                status: s.as_u16(),
                path: path.to_owned(),
                detail: snippet(&answer.body),
            }),
        }
    }
}

/// The `errors` of an Autotask error body, joined (strings, or objects with `message`).
fn validation_errors(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let list = v.get("errors")?.as_array()?;
    let parts: Vec<String> = list
        .iter()
        .filter_map(|e| match e {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("message").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| truncate_chars(&parts.join("; "), 500))
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8], path: &str) -> Result<T, PsaError> {
    serde_json::from_slice(body).map_err(|e| PsaError::InvalidResponse {
        psa: PSA,
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

fn item_id(body: &[u8], path: &str) -> Result<i64, PsaError> {
    let v: Value = decode(body, path)?;
    v.get("itemId")
        .and_then(|i| i.as_i64().or_else(|| i.as_str()?.parse().ok()))
        .ok_or_else(|| PsaError::InvalidResponse {
            psa: PSA,
            path: path.to_owned(),
            detail: "no itemId in the answer".into(),
        })
}

fn parse_id(what: &str, text: &str) -> Result<i64, PsaError> {
    text.trim().parse::<i64>().map_err(|_| PsaError::Validation {
        psa: PSA,
        detail: format!("the {what} id `{}` is not an Autotask id", truncate_chars(text, 40)),
    })
}

/// A URL for messages: paging tokens can be long and say nothing useful.
fn redact_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

fn snippet(body: &[u8]) -> String {
    truncate_chars(&String::from_utf8_lossy(body), 200)
}

fn text(v: &Value, field: &str) -> Option<String> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn id_text(v: &Value, field: &str) -> Option<String> {
    match v.get(field)? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// `isActive`: a boolean on most entities, 0/1 on Contacts; absent = active.
fn active(v: &Value) -> bool {
    match v.get("isActive") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        Some(Value::String(s)) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1"),
        _ => true,
    }
}

fn updated(v: &Value, fields: &[&str]) -> Option<i64> {
    fields
        .iter()
        .find_map(|f| v.get(*f).and_then(crate::time::epoch_millis_from_json))
}

fn full_name(v: &Value) -> Option<String> {
    let name = [text(v, "firstName"), text(v, "lastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

fn to_record(kind: RecordKind, v: &Value, ci_types: Option<&HashMap<i64, String>>) -> Option<PsaRecord> {
    let id = id_text(v, "id")?;
    let mut r = PsaRecord {
        kind,
        id: id.clone(),
        name: String::new(),
        company_id: id_text(v, "companyID"),
        active: active(v),
        email: None,
        serial_number: None,
        configuration_type: None,
        rmm_device_uid: None,
        updated_at: None,
    };
    match kind {
        RecordKind::Company => {
            r.name = text(v, "companyName").unwrap_or_else(|| format!("Company {id}"));
            r.company_id = None;
            r.updated_at = updated(v, &["lastTrackedModifiedDateTime", "lastActivityDate"]);
        }
        RecordKind::Contact => {
            r.email = text(v, "emailAddress");
            r.name = full_name(v)
                .or_else(|| r.email.clone())
                .unwrap_or_else(|| format!("Contact {id}"));
            r.updated_at = updated(v, &["lastModifiedDate", "lastActivityDate"]);
        }
        RecordKind::Location => {
            r.name = text(v, "name").unwrap_or_else(|| format!("Location {id}"));
        }
        RecordKind::Configuration => {
            r.name = text(v, "referenceTitle")
                .or_else(|| text(v, "rmmDeviceAuditHostname"))
                .unwrap_or_else(|| format!("CI {id}"));
            r.serial_number = text(v, "serialNumber");
            r.rmm_device_uid = text(v, "rmmDeviceUID");
            r.configuration_type = v
                .get("configurationItemType")
                .and_then(Value::as_i64)
                .and_then(|t| ci_types.and_then(|m| m.get(&t)).cloned());
            r.updated_at = updated(v, &["lastModifiedTime"]);
        }
        RecordKind::User => {
            r.email = text(v, "email");
            r.name = full_name(v)
                .or_else(|| text(v, "userName"))
                .unwrap_or_else(|| format!("Resource {id}"));
            r.company_id = None;
        }
    }
    Some(r)
}

fn ticket_state(item: &Value, settings: &AutotaskTicketSettings) -> TicketState {
    TicketState {
        id: id_text(item, "id").unwrap_or_default(),
        number: text(item, "ticketNumber"),
        completed: item.get("status").and_then(Value::as_i64) == Some(settings.status_complete),
        alert_uid: text(item, "rmmAlertID"),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[tokio::test]
    async fn next_page_urls_must_stay_under_the_zone_root() {
        let c = AutotaskConnector::new(reqwest::Client::new())
            .with_integration_code("code")
            .client(AutotaskCredentials {
                username: "u".into(),
                secret: Secret::new("s"),
                integration_code: None,
            })
            .await
            .unwrap();
        let zone = Zone {
            name: None,
            root: Url::parse("https://webservices14.autotask.net/ATServicesRest/").unwrap(),
        };
        let ok = "https://webservices14.autotask.net/atservicesrest/V1.0/Companies/query/next?paging=%7B%7D";
        assert!(c.checked_next_url(&zone, ok).is_ok());
        for evil in [
            "https://evil.example/ATServicesRest/V1.0/Companies/query/next?paging=x",
            "http://webservices14.autotask.net/ATServicesRest/V1.0/Companies/query/next",
            "https://webservices14.autotask.net:8443/ATServicesRest/V1.0/Companies/query/next",
            "https://webservices14.autotask.net/other/V1.0/Companies/query/next",
        ] {
            let e = c.checked_next_url(&zone, evil).unwrap_err();
            assert!(matches!(e, PsaError::Paging { .. }), "{evil}");
            assert!(!e.to_string().contains("paging=x"));
        }
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("abc", 10), "abc");
        let long = "é".repeat(300);
        assert_eq!(truncate_chars(&long, TITLE_MAX).chars().count(), 255);
    }

    #[test]
    fn validation_bodies_and_active_flags() {
        assert_eq!(validation_errors(br#"{"errors":["a","b"]}"#).as_deref(), Some("a; b"));
        assert_eq!(
            validation_errors(br#"{"errors":[{"message":"m","field":"f"}]}"#).as_deref(),
            Some("m")
        );
        assert_eq!(validation_errors(b"Service Unavailable"), None);
        assert_eq!(validation_errors(br#"{"errors":[]}"#), None);
        assert!(active(&json!({"isActive": 1})));
        assert!(!active(&json!({"isActive": 0})));
        assert!(!active(&json!({"isActive": false})));
        assert!(active(&json!({})));
    }

    #[test]
    fn settings_deserialize_with_defaults() {
        let s: AutotaskTicketSettings = serde_json::from_value(json!({"queueId": 8, "workType": 3})).unwrap();
        assert_eq!(
            (s.queue_id, s.work_type, s.status_new, s.status_complete),
            (8, Some(3), 1, 5)
        );
        assert_eq!(serde_json::to_value(&s).unwrap()["statusComplete"], 5);
    }

    #[test]
    fn records_from_autotask_shapes() {
        let types = HashMap::from([(2, "Server".to_owned())]);
        let ci = to_record(
            RecordKind::Configuration,
            &json!({"id": 9, "companyID": 4, "referenceTitle": null, "rmmDeviceAuditHostname": "SRV1",
                    "configurationItemType": 2, "isActive": true, "lastModifiedTime": "2023-11-14T22:13:20.123Z"}),
            Some(&types),
        )
        .unwrap();
        assert_eq!(ci.name, "SRV1");
        assert_eq!(ci.configuration_type.as_deref(), Some("Server"));
        assert_eq!(ci.company_id.as_deref(), Some("4"));
        assert_eq!(ci.updated_at, Some(1_700_000_000_123));
        let bare = to_record(RecordKind::Configuration, &json!({"id": 10}), None).unwrap();
        assert_eq!(bare.name, "CI 10");
        let contact = to_record(
            RecordKind::Contact,
            &json!({"id": 1, "firstName": "Ann", "lastName": "Lee", "isActive": 0}),
            None,
        )
        .unwrap();
        assert_eq!((contact.name.as_str(), contact.active), ("Ann Lee", false));
    }
}
