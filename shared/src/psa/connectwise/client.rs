use super::callback::{DEFAULT_KEY_URL_HOSTS, host_allowed};
use super::conditions::Conditions;
use crate::http::{describe_error as describe, host_and_port};
use crate::psa::{
    PsaConnectionInfo, PsaError, PsaKind, PsaRecord, RecordKind, TicketDraft, TicketState, truncate_chars,
};
pub use crate::retry::RetryPolicy;
use crate::retry::jitter;
use crate::secret::Secret;
use base64::Engine;
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Mutex, OnceCell};

const PSA: PsaKind = PsaKind::ConnectwiseManage;
/// The API's largest page (C6).
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Ticket summary limit (C4).
const SUMMARY_MAX: usize = 100;
const XREF_MAX: usize = 100;

/// The keys of a ConnectWise API member, and where the account lives.
#[derive(Debug, Clone)]
pub struct ConnectWiseCredentials {
    /// `api-na.myconnectwise.net` (a host: https is implied), or a full origin such as
    /// `http://127.0.0.1:9200` where the connector allows it.
    pub site: String,
    pub company_id: String,
    pub public_key: Secret,
    pub private_key: Secret,
}

/// Ticket attributes that come from the integration's settings, not from the alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConnectWiseTicketSettings {
    pub board_id: i64,
    pub type_id: Option<i64>,
    pub subtype_id: Option<i64>,
    pub item_id: Option<i64>,
    /// Status for new tickets (`None` = the board's default status).
    pub open_status_id: Option<i64>,
    /// Status that completes a ticket (`None` = the board's first active `closedStatus`).
    pub closed_status_id: Option<i64>,
    pub source_id: Option<i64>,
}

/// Makes [`ConnectWiseClient`]s: holds what every client shares. Build one per process.
#[derive(Debug, Clone)]
pub struct ConnectWiseConnector {
    http: reqwest::Client,
    client_id: Option<String>,
    allow_http: bool,
    page_size: u32,
    max_pages: u32,
    retry: RetryPolicy,
    accept_version: Option<String>,
    key_url_hosts: Vec<String>,
    site_concurrency: usize,
}

impl ConnectWiseConnector {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            client_id: None,
            allow_http: false,
            page_size: MAX_PAGE_SIZE,
            max_pages: 10_000,
            retry: RetryPolicy::connectwise(),
            accept_version: None,
            key_url_hosts: DEFAULT_KEY_URL_HOSTS.iter().map(|h| (*h).to_owned()).collect(),
            site_concurrency: 6,
        }
    }

    /// Reads `CONNECTWISE_CLIENT_ID` (rmmsync's registered clientId), `CONNECTWISE_ALLOW_HTTP`
    /// (true/false, default false), `CONNECTWISE_PAGE_SIZE` (1..=1000, default 1000),
    /// `CONNECTWISE_API_VERSION` (pins `Accept: application/vnd.connectwise.com+json;
    /// version=...`), `CONNECTWISE_RETRY_ATTEMPTS` (attempts on 429) and
    /// `CONNECTWISE_KEY_URL_HOSTS` (comma-separated hosts added to the callback key allow-list).
    pub fn from_env(http: reqwest::Client) -> Self {
        let mut c = Self::new(http);
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        c.client_id = var("CONNECTWISE_CLIENT_ID").map(|v| v.trim().to_owned());
        if let Some(v) = var("CONNECTWISE_ALLOW_HTTP") {
            c.allow_http = matches!(v.trim(), "1" | "true" | "yes");
        }
        if let Some(n) = var("CONNECTWISE_PAGE_SIZE").and_then(|v| v.trim().parse().ok()) {
            c = c.with_page_size(n);
        }
        c.accept_version = var("CONNECTWISE_API_VERSION").map(|v| v.trim().to_owned());
        if let Some(n) = var("CONNECTWISE_RETRY_ATTEMPTS").and_then(|v| v.trim().parse().ok()) {
            c.retry.rate_limited_attempts = n;
        }
        if let Some(hosts) = var("CONNECTWISE_KEY_URL_HOSTS") {
            c.key_url_hosts.extend(
                hosts
                    .split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty()),
            );
        }
        c
    }

    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Allows `http://` sites (the simulators); never in production.
    pub fn with_allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Clamped to 1..=1000.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        self
    }

    pub fn with_max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Pins the model version, e.g. `"2025.1"`.
    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.accept_version = Some(version.into());
        self
    }

    /// Replaces the callback key_url host allow-list (the client's own site is always allowed).
    pub fn with_key_url_hosts(mut self, hosts: Vec<String>) -> Self {
        self.key_url_hosts = hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect();
        self
    }

    /// Company site listings run this many at a time.
    pub fn with_site_concurrency(mut self, n: usize) -> Self {
        self.site_concurrency = n.max(1);
        self
    }

    /// A client for one account. Checks the site (https unless http is allowed) and that a
    /// clientId is configured; does not call the API.
    pub fn client(&self, creds: ConnectWiseCredentials) -> Result<ConnectWiseClient, PsaError> {
        let client_id = self.client_id.clone().ok_or_else(|| {
            PsaError::Config("CONNECTWISE_CLIENT_ID is not set (rmmsync's ConnectWise clientId)".into())
        })?;
        let origin = parse_site(&creds.site, self.allow_http)?;
        let company = creds.company_id.trim().to_owned();
        if company.is_empty() || company.contains(['+', ':', '/']) {
            return Err(PsaError::Config(
                "the ConnectWise company id is empty or malformed".into(),
            ));
        }
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{company}+{}:{}",
            creds.public_key.expose().trim(),
            creds.private_key.expose().trim()
        ));
        Ok(ConnectWiseClient {
            inner: Arc::new(Inner {
                http: self.http.clone(),
                origin,
                company_id: company,
                authorization: Secret::new(format!("Basic {basic}")),
                client_id,
                page_size: self.page_size,
                max_pages: self.max_pages,
                retry: self.retry.clone(),
                accept: self
                    .accept_version
                    .as_ref()
                    .map(|v| format!("application/vnd.connectwise.com+json; version={v}")),
                key_url_hosts: self.key_url_hosts.clone(),
                allow_http: self.allow_http,
                site_concurrency: self.site_concurrency,
                api_base: OnceCell::new(),
                requests: AtomicU64::new(0),
                board_statuses: Mutex::new(HashMap::new()),
                signing_keys: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// `api-na.myconnectwise.net` → `https://api-na.myconnectwise.net/`; a full origin is kept if
/// its scheme is allowed. Paths, queries and user info are refused.
fn parse_site(site: &str, allow_http: bool) -> Result<Url, PsaError> {
    let site = site.trim().trim_end_matches('/');
    let bad = |why: &str| PsaError::Config(format!("the ConnectWise site `{site}` is not valid: {why}"));
    if site.is_empty() {
        return Err(bad("empty"));
    }
    let text = if site.contains("://") {
        site.to_owned()
    } else {
        format!("https://{site}")
    };
    let url = Url::parse(&text).map_err(|e| bad(&e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err(bad("https is required")),
        _ => return Err(bad("only https sites")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("give only the host"));
    }
    if url.path() != "/" {
        return Err(bad("give only the host, without a path"));
    }
    Ok(url)
}

/// A board status: (id, closedStatus, inactive).
type StatusRow = (i64, bool, bool);

struct Inner {
    http: reqwest::Client,
    /// `https://api-na.myconnectwise.net/`
    origin: Url,
    company_id: String,
    authorization: Secret,
    client_id: String,
    page_size: u32,
    max_pages: u32,
    retry: RetryPolicy,
    accept: Option<String>,
    key_url_hosts: Vec<String>,
    allow_http: bool,
    site_concurrency: usize,
    /// `https://site/{codebase}apis/3.0/`, looked up once.
    api_base: OnceCell<Url>,
    requests: AtomicU64,
    /// Board id → (status id, closedStatus, inactive).
    board_statuses: Mutex<HashMap<i64, Vec<StatusRow>>>,
    signing_keys: Mutex<HashMap<String, Secret>>,
}

/// The client of one ConnectWise account. Cheap to clone (shared state).
#[derive(Clone)]
pub struct ConnectWiseClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ConnectWiseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectWiseClient")
            .field("site", &self.inner.origin.as_str())
            .field("company_id", &self.inner.company_id)
            .finish_non_exhaustive()
    }
}

struct Answer {
    status: StatusCode,
    link: Option<String>,
    body: Vec<u8>,
}

/// The error envelope `{code, message, errors[{code, message, resource, field}]}` (C8).
#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Option<Vec<EnvelopeError>>,
}

#[derive(Debug, Default, Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    field: Option<String>,
}

impl Envelope {
    fn parse(body: &[u8]) -> Envelope {
        serde_json::from_slice(body).unwrap_or_default()
    }

    fn has_error_code(&self, code: &str) -> bool {
        self.errors.iter().flatten().any(|e| e.code.as_deref() == Some(code))
    }

    /// Codes, messages and field names only: values are never echoed.
    fn describe(&self) -> String {
        let mut out = match (&self.code, &self.message) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (None, Some(m)) => m.clone(),
            (Some(c), None) => c.clone(),
            (None, None) => "no details".to_owned(),
        };
        for e in self.errors.iter().flatten() {
            out.push_str(&format!(
                "; {} ({}{})",
                e.message.as_deref().unwrap_or("invalid"),
                e.code.as_deref().unwrap_or("error"),
                e.field.as_deref().map(|f| format!(", field {f}")).unwrap_or_default()
            ));
        }
        let mut cut: String = out.chars().take(400).collect();
        if cut.len() < out.len() {
            cut.push('…');
        }
        cut
    }
}

impl ConnectWiseClient {
    /// HTTP requests sent so far (retries included).
    pub fn requests_made(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    pub fn company_id(&self) -> &str {
        &self.inner.company_id
    }

    fn host(&self) -> String {
        host_and_port(&self.inner.origin)
    }

    /// The REST root, discovering the codebase on first use:
    /// `GET /login/companyinfo/{companyId}` → `Codebase`.
    pub async fn api_base(&self) -> Result<Url, PsaError> {
        self.inner
            .api_base
            .get_or_try_init(|| self.discover_codebase())
            .await
            .cloned()
    }

    async fn discover_codebase(&self) -> Result<Url, PsaError> {
        let mut url = self.inner.origin.clone();
        url.path_segments_mut()
            .map_err(|_| PsaError::Config("the site cannot be a base URL".into()))?
            .pop_if_empty()
            .extend(["login", "companyinfo", &self.inner.company_id]);
        let unknown = || PsaError::UnknownCompany {
            company: self.inner.company_id.clone(),
            site: self.host(),
        };
        let answer = self.send(Method::GET, url, None, false, false).await?;
        match answer.status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Err(unknown()),
            s => {
                return Err(PsaError::Unreachable {
                    psa: PSA,
                    host: self.host(),
                    reason: format!("no ConnectWise login endpoint there (HTTP {})", s.as_u16()),
                });
            }
        }
        let info: Value = serde_json::from_slice(&answer.body).map_err(|_| PsaError::Unreachable {
            psa: PSA,
            host: self.host(),
            reason: "the company info answer is not JSON".into(),
        })?;
        let Some(codebase) = info.get("Codebase").and_then(Value::as_str) else {
            return Err(unknown());
        };
        let codebase = codebase.trim().trim_matches('/');
        let valid = !codebase.is_empty()
            && codebase
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !valid {
            return Err(PsaError::InvalidResponse {
                psa: PSA,
                path: "/login/companyinfo".into(),
                detail: "the codebase is not a plain path segment".into(),
            });
        }
        self.inner
            .origin
            .join(&format!("{codebase}/apis/3.0/"))
            .map_err(|e| PsaError::InvalidResponse {
                psa: PSA,
                path: "/login/companyinfo".into(),
                detail: e.to_string(),
            })
    }

    /// Checks the site, the company and the keys: companyinfo, then `/system/info`.
    pub async fn test_connection(&self) -> Result<PsaConnectionInfo, PsaError> {
        let base = self.api_base().await?;
        self.get_value("system/info").await?;
        Ok(PsaConnectionInfo {
            account: Some(self.inner.company_id.clone()),
            api_url: base.as_str().trim_end_matches('/').to_owned(),
            requests_used: None,
            request_limit: None,
        })
    }

    /// Sends one request, retrying 429 (Retry-After, capped), 5xx and network faults.
    /// Other statuses are returned for the caller to judge.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        authenticated: bool,
        forward_only: bool,
    ) -> Result<Answer, PsaError> {
        let inner = &self.inner;
        let path = url.path().to_owned();
        let (mut limited, mut faults) = (0_u32, 0_u32);
        loop {
            let mut req = inner
                .http
                .request(method.clone(), url.clone())
                .header("clientId", &inner.client_id);
            req = match &inner.accept {
                Some(a) => req.header(reqwest::header::ACCEPT, a),
                None => req.header(reqwest::header::ACCEPT, "application/json"),
            };
            if authenticated {
                req = req.header(reqwest::header::AUTHORIZATION, inner.authorization.expose());
            }
            if forward_only {
                req = req.header("pagination-type", "forward-only");
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            inner.requests.fetch_add(1, Ordering::Relaxed);
            let sent = match req.send().await {
                Ok(r) => {
                    let status = r.status();
                    let retry_after = crate::retry::retry_after(&r);
                    let link = r
                        .headers()
                        .get(reqwest::header::LINK)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    r.bytes().await.map(|b| (status, retry_after, link, b.to_vec()))
                }
                Err(e) => Err(e),
            };
            let (status, retry_after, link, body_bytes) = match sent {
                Ok(v) => v,
                Err(e) => {
                    faults += 1;
                    if faults >= inner.retry.fault_attempts {
                        return Err(PsaError::Unreachable {
                            psa: PSA,
                            host: self.host(),
                            reason: describe(&e),
                        });
                    }
                    tracing::warn!(path, attempt = faults, error = %e.without_url(), "ConnectWise request failed; retrying");
                    tokio::time::sleep(inner.retry.delay(faults)).await;
                    continue;
                }
            };
            if status == StatusCode::TOO_MANY_REQUESTS {
                limited += 1;
                if limited >= inner.retry.rate_limited_attempts {
                    return Err(PsaError::RateLimited {
                        psa: PSA,
                        attempts: limited,
                    });
                }
                // Retry-After (capped) plus up to 10 % so that parallel workers spread out.
                let wait = retry_after
                    .map(|d| inner.retry.capped_retry_after(d).mul_f64(1.0 + 0.1 * jitter()))
                    .unwrap_or_else(|| inner.retry.delay(limited));
                tracing::warn!(
                    path,
                    attempt = limited,
                    wait_ms = wait.as_millis() as u64,
                    "ConnectWise answered 429; backing off"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_server_error() {
                faults += 1;
                if faults >= inner.retry.fault_attempts {
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
                    "ConnectWise fault; retrying"
                );
                tokio::time::sleep(inner.retry.delay(faults)).await;
                continue;
            }
            return Ok(Answer {
                status,
                link,
                body: body_bytes,
            });
        }
    }

    /// The typed error for a non-success answer.
    fn error_for(&self, path: &str, answer: &Answer) -> PsaError {
        let env = Envelope::parse(&answer.body);
        match answer.status.as_u16() {
            400 | 409 | 422 => PsaError::Validation {
                psa: PSA,
                detail: env.describe(),
            },
            401 => PsaError::BadCredentials { psa: PSA },
            403 => PsaError::PermissionDenied {
                psa: PSA,
                detail: env.describe(),
            },
            404 => PsaError::NotFound {
                psa: PSA,
                what: path.to_owned(),
            },
            s => PsaError::Unexpected {
                psa: PSA,
                status: s,
                path: path.to_owned(),
                detail: env.describe(),
            },
        }
    }

    async fn url(&self, path: &str) -> Result<Url, PsaError> {
        let base = self.api_base().await?;
        base.join(path.trim_start_matches('/'))
            .map_err(|e| PsaError::Config(format!("bad API path {path}: {e}")))
    }

    /// An authenticated call whose answer must be a success; returns the body as JSON
    /// (`Null` for an empty body).
    async fn call(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Value, PsaError> {
        let path = url.path().to_owned();
        let answer = self.send(method, url, body, true, false).await?;
        if !answer.status.is_success() {
            return Err(self.error_for(&path, &answer));
        }
        decode(&path, &answer.body)
    }

    async fn get_value(&self, path: &str) -> Result<Value, PsaError> {
        let url = self.url(path).await?;
        self.call(Method::GET, url, None).await
    }

    /// Every record of a collection, walked with forward-only paging (ordered by id, the
    /// conditions sent again on every page). Guards: the `pageId` must grow, at most
    /// `max_pages` pages.
    pub async fn list_all(&self, path: &str, conditions: &Conditions) -> Result<Vec<Value>, PsaError> {
        let first = self.url(path).await?;
        let cond = conditions.build();
        let page_size = self.inner.page_size.to_string();
        let mut all = Vec::new();
        let mut page_id: Option<i64> = None;
        let mut pages = 0_u32;
        loop {
            let mut url = first.clone();
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("pageSize", &page_size);
                if !cond.is_empty() {
                    q.append_pair("conditions", &cond);
                }
                if let Some(id) = page_id {
                    q.append_pair("pageId", &id.to_string());
                }
            }
            let shown = url.path().to_owned();
            let answer = self.send(Method::GET, url, None, true, true).await?;
            if !answer.status.is_success() {
                return Err(self.error_for(&shown, &answer));
            }
            pages += 1;
            let items = match decode(&shown, &answer.body)? {
                Value::Array(items) => items,
                _ => {
                    return Err(PsaError::InvalidResponse {
                        psa: PSA,
                        path: shown,
                        detail: "a list answer is not a JSON array".into(),
                    });
                }
            };
            if items.is_empty() {
                return Ok(all);
            }
            let next = answer.link.as_deref().and_then(next_page_id);
            all.extend(items);
            let Some(next) = next else { return Ok(all) };
            if page_id.is_some_and(|p| next <= p) {
                return Err(PsaError::Paging {
                    psa: PSA,
                    url: shown,
                    detail: format!("the next pageId ({next}) does not move forward"),
                });
            }
            if pages >= self.inner.max_pages {
                return Err(PsaError::Paging {
                    psa: PSA,
                    url: shown,
                    detail: format!("more than {} pages", self.inner.max_pages),
                });
            }
            page_id = Some(next);
        }
    }

    /// The records of one kind, inactive ones included with `active == false`.
    pub async fn list_records(&self, kind: RecordKind) -> Result<Vec<PsaRecord>, PsaError> {
        let none = Conditions::new();
        Ok(match kind {
            RecordKind::Company => self
                .list_all("company/companies", &none)
                .await?
                .iter()
                .filter_map(company_record)
                .collect(),
            RecordKind::Contact => self
                .list_all("company/contacts", &none)
                .await?
                .iter()
                .filter_map(contact_record)
                .collect(),
            RecordKind::Configuration => self
                .list_all("company/configurations", &none)
                .await?
                .iter()
                .filter_map(configuration_record)
                .collect(),
            RecordKind::User => self
                .list_all("system/members", &none)
                .await?
                .iter()
                .filter_map(member_record)
                .collect(),
            RecordKind::Location => self.list_locations().await?,
        })
    }

    /// Company sites. The fact sheet only knows the per-company route
    /// (`/company/companies/{id}/sites`), so this lists the companies (ids only, not deleted
    /// ones) and walks their sites `site_concurrency` at a time.
    async fn list_locations(&self) -> Result<Vec<PsaRecord>, PsaError> {
        let companies = self
            .list_all("company/companies", &Conditions::new().eq_bool("deletedFlag", false))
            .await?;
        let ids: Vec<i64> = companies.iter().filter_map(|c| c["id"].as_i64()).collect();
        let mut out = Vec::new();
        for chunk in ids.chunks(self.inner.site_concurrency) {
            let mut set = tokio::task::JoinSet::new();
            for (i, id) in chunk.iter().enumerate() {
                let client = self.clone();
                let id = *id;
                set.spawn(async move {
                    let r = client
                        .list_all(&format!("company/companies/{id}/sites"), &Conditions::new())
                        .await;
                    (i, id, r)
                });
            }
            let mut results = Vec::new();
            while let Some(joined) = set.join_next().await {
                let (i, id, r) = joined.map_err(|e| PsaError::Config(format!("a site listing task failed: {e}")))?;
                results.push((i, id, r?));
            }
            results.sort_by_key(|(i, _, _)| *i);
            for (_, id, sites) in results {
                out.extend(sites.iter().filter_map(|s| site_record(s, id)));
            }
        }
        Ok(out)
    }

    // ----- tickets -----

    /// Opens a ticket for an alert and attaches the configuration when one is given (a
    /// failed attachment is logged, not fatal: the ticket exists).
    pub async fn create_ticket(
        &self,
        draft: &TicketDraft,
        settings: &ConnectWiseTicketSettings,
    ) -> Result<TicketState, PsaError> {
        let company = parse_id(&draft.company_id, "company id")?;
        if settings.board_id <= 0 {
            return Err(PsaError::Config(
                "no ConnectWise board is configured for tickets".into(),
            ));
        }
        let mut summary = truncate_chars(draft.title.trim(), SUMMARY_MAX);
        if summary.is_empty() {
            summary = truncate_chars(&format!("Datto RMM alert {}", draft.alert_uid), SUMMARY_MAX);
        }
        let mut body = json!({
            "summary": summary,
            "initialDescription": draft.description,
            "externalXRef": truncate_chars(&draft.alert_uid, XREF_MAX),
            "company": {"id": company},
            "board": {"id": settings.board_id},
        });
        let refs = [
            ("status", settings.open_status_id),
            ("type", settings.type_id),
            ("subType", settings.subtype_id),
            ("item", settings.item_id),
            ("source", settings.source_id),
        ];
        for (field, id) in refs {
            if let Some(id) = id {
                body[field] = json!({"id": id});
            }
        }
        if let Some(p) = draft.priority.as_deref() {
            body["priority"] = json!({"id": parse_id(p, "priority id")?});
        }
        let url = self.url("service/tickets").await?;
        let ticket = self.call(Method::POST, url, Some(&body)).await?;
        let id = ticket["id"].as_i64().ok_or_else(|| PsaError::InvalidResponse {
            psa: PSA,
            path: "/service/tickets".into(),
            detail: "the created ticket has no id".into(),
        })?;
        if let Some(config) = draft.configuration_id.as_deref() {
            let attach = async {
                let config = parse_id(config, "configuration id")?;
                let url = self.url(&format!("service/tickets/{id}/configurations")).await?;
                self.call(Method::POST, url, Some(&json!({"id": config}))).await
            };
            if let Err(e) = attach.await {
                tracing::warn!(ticket = id, error = %e, code = e.code(), "could not attach the configuration to the ticket");
            }
        }
        self.ticket_state(&ticket, settings).await
    }

    /// Adds a note to a ticket's discussion (ConnectWise notes have no title: it becomes the
    /// first line).
    pub async fn add_ticket_note(&self, ticket_id: &str, title: &str, text: &str) -> Result<(), PsaError> {
        let id = parse_id(ticket_id, "ticket id")?;
        let text = if title.trim().is_empty() {
            text.to_owned()
        } else {
            format!("{}\n\n{text}", title.trim())
        };
        self.post_note(id, &text, false).await
    }

    async fn post_note(&self, id: i64, text: &str, resolution: bool) -> Result<(), PsaError> {
        let url = self.url(&format!("service/tickets/{id}/notes")).await?;
        let body = json!({
            "text": text,
            "detailDescriptionFlag": !resolution,
            "internalAnalysisFlag": false,
            "resolutionFlag": resolution,
        });
        self.call(Method::POST, url, Some(&body)).await.map(|_| ())
    }

    pub async fn get_ticket(
        &self,
        ticket_id: &str,
        settings: &ConnectWiseTicketSettings,
    ) -> Result<TicketState, PsaError> {
        let ticket = self.fetch_ticket(ticket_id).await?;
        self.ticket_state(&ticket, settings).await
    }

    async fn fetch_ticket(&self, ticket_id: &str) -> Result<Value, PsaError> {
        let id = parse_id(ticket_id, "ticket id")?;
        self.get_value(&format!("service/tickets/{id}")).await
    }

    /// Completes a ticket: a resolution note, then the status set to `closed_status_id` (or
    /// the board's first active closed status) with `skipCallback` so that our own change is
    /// not echoed back. A ticket that is already completed is left alone.
    pub async fn complete_ticket(
        &self,
        ticket_id: &str,
        resolution: &str,
        settings: &ConnectWiseTicketSettings,
    ) -> Result<(), PsaError> {
        let ticket = self.fetch_ticket(ticket_id).await?;
        if self.ticket_state(&ticket, settings).await?.completed {
            return Ok(());
        }
        let id = ticket["id"].as_i64().unwrap_or_default();
        let status = match settings.closed_status_id {
            Some(s) => s,
            None => {
                let board = ticket["board"]["id"].as_i64().unwrap_or(settings.board_id);
                self.statuses(board)
                    .await?
                    .iter()
                    .find(|(_, closed, inactive)| *closed && !*inactive)
                    .map(|(id, _, _)| *id)
                    .ok_or_else(|| PsaError::Config(format!("board {board} has no active closed status")))?
            }
        };
        if !resolution.trim().is_empty() {
            self.post_note(id, resolution, true).await?;
        }
        let url = self.url(&format!("service/tickets/{id}")).await?;
        let ops = json!([
            {"op": "replace", "path": "status", "value": {"id": status}},
            {"op": "replace", "path": "skipCallback", "value": true},
        ]);
        self.call(Method::PATCH, url, Some(&ops)).await.map(|_| ())
    }

    /// The newest open ticket carrying this alert uid in `externalXRef`.
    pub async fn find_open_ticket_for_alert(
        &self,
        alert_uid: &str,
        settings: &ConnectWiseTicketSettings,
    ) -> Result<Option<TicketState>, PsaError> {
        let cond = Conditions::new()
            .eq_str("externalXRef", &truncate_chars(alert_uid, XREF_MAX))
            .eq_bool("closedFlag", false);
        let mut url = self.url("service/tickets").await?;
        url.query_pairs_mut()
            .append_pair("conditions", &cond.build())
            .append_pair("orderBy", "id desc")
            .append_pair("pageSize", "25");
        let found = self.call(Method::GET, url, None).await?;
        for t in found.as_array().into_iter().flatten() {
            let state = self.ticket_state(t, settings).await?;
            if !state.completed {
                return Ok(Some(state));
            }
        }
        Ok(None)
    }

    async fn ticket_state(&self, t: &Value, settings: &ConnectWiseTicketSettings) -> Result<TicketState, PsaError> {
        let id = t["id"].as_i64().ok_or_else(|| PsaError::InvalidResponse {
            psa: PSA,
            path: "/service/tickets".into(),
            detail: "a ticket without id".into(),
        })?;
        let status = t["status"]["id"].as_i64();
        let mut completed =
            t["closedFlag"].as_bool() == Some(true) || (status.is_some() && status == settings.closed_status_id);
        if !completed && let (Some(status), Some(board)) = (status, t["board"]["id"].as_i64()) {
            completed = self
                .statuses(board)
                .await?
                .iter()
                .any(|(s, closed, _)| *s == status && *closed);
        }
        Ok(TicketState {
            id: id.to_string(),
            number: Some(id.to_string()),
            completed,
            alert_uid: t["externalXRef"].as_str().filter(|s| !s.is_empty()).map(str::to_owned),
        })
    }

    /// A board's statuses (cached per client).
    async fn statuses(&self, board: i64) -> Result<Vec<(i64, bool, bool)>, PsaError> {
        if let Some(s) = self.inner.board_statuses.lock().await.get(&board) {
            return Ok(s.clone());
        }
        let list = self
            .list_all(&format!("service/boards/{board}/statuses"), &Conditions::new())
            .await?;
        let statuses: Vec<(i64, bool, bool)> = list
            .iter()
            .filter_map(|s| {
                Some((
                    s["id"].as_i64()?,
                    s["closedStatus"].as_bool().unwrap_or(false),
                    s["inactive"].as_bool().unwrap_or(false),
                ))
            })
            .collect();
        self.inner.board_statuses.lock().await.insert(board, statuses.clone());
        Ok(statuses)
    }

    // ----- callbacks -----

    /// Registers a ticket callback at owner level (all tickets), self-suppressed so that
    /// rmmsync's own changes do not come back. An existing identical registration
    /// (`ObjectExists`) is looked up and its id returned.
    pub async fn register_callback(&self, url: &str, description: &str) -> Result<i64, PsaError> {
        let body = json!({
            "url": url,
            "objectId": 1,
            "type": "ticket",
            "level": "owner",
            "description": truncate_chars(description, 100),
            "isSelfSuppressedFlag": true,
            "inactiveFlag": false,
        });
        let endpoint = self.url("system/callbacks").await?;
        let answer = self
            .send(Method::POST, endpoint.clone(), Some(&body), true, false)
            .await?;
        if answer.status.is_success() {
            let created = decode("/system/callbacks", &answer.body)?;
            return created["id"].as_i64().ok_or_else(|| PsaError::InvalidResponse {
                psa: PSA,
                path: "/system/callbacks".into(),
                detail: "the created callback has no id".into(),
            });
        }
        if answer.status != StatusCode::BAD_REQUEST || !Envelope::parse(&answer.body).has_error_code("ObjectExists") {
            return Err(self.error_for("/system/callbacks", &answer));
        }
        let cond = Conditions::new()
            .eq_str("url", url)
            .eq_str("type", "ticket")
            .eq_str("level", "owner");
        let existing = self.list_all("system/callbacks", &cond).await?;
        existing
            .iter()
            .find(|c| c["url"].as_str() == Some(url))
            .and_then(|c| c["id"].as_i64())
            .ok_or_else(|| PsaError::InvalidResponse {
                psa: PSA,
                path: "/system/callbacks".into(),
                detail: "the callback exists, but it is not listed".into(),
            })
    }

    /// Fetches (and caches) the signing key of a callback from its `Metadata.key_url`. The
    /// URL comes from an untrusted body: only https (http where allowed) URLs on an allowed
    /// host or on this client's own site are fetched.
    pub async fn fetch_signing_key(&self, key_url: &str) -> Result<Secret, PsaError> {
        let url =
            Url::parse(key_url.trim()).map_err(|_| PsaError::Config("the callback key_url is not a URL".into()))?;
        let own = url.host_str() == self.inner.origin.host_str()
            && url.port_or_known_default() == self.inner.origin.port_or_known_default();
        // http only for the client's own (allowed-http) site, e.g. the simulator.
        let scheme_ok = url.scheme() == "https" || (own && self.inner.allow_http && url.scheme() == "http");
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        if !scheme_ok || !(own || (url.port().is_none() && host_allowed(&host, &self.inner.key_url_hosts))) {
            return Err(PsaError::Config(format!(
                "the callback key_url host `{host}` is not an allowed ConnectWise host"
            )));
        }
        if let Some(k) = self.inner.signing_keys.lock().await.get(key_url) {
            return Ok(k.clone());
        }
        let answer = self.send(Method::GET, url, None, false, false).await?;
        if !answer.status.is_success() {
            return Err(self.error_for("/system/callbackkey", &answer));
        }
        let value = decode("/system/callbackkey", &answer.body)?;
        let key = value["signing_key"]
            .as_str()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| PsaError::InvalidResponse {
                psa: PSA,
                path: "/system/callbackkey".into(),
                detail: "no signing_key in the answer".into(),
            })?;
        let key = Secret::new(key);
        self.inner
            .signing_keys
            .lock()
            .await
            .insert(key_url.to_owned(), key.clone());
        Ok(key)
    }
}

fn decode(path: &str, body: &[u8]) -> Result<Value, PsaError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| PsaError::InvalidResponse {
        psa: PSA,
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// The `pageId` of the `rel="next"` link (forward-only paging).
fn next_page_id(link: &str) -> Option<i64> {
    link.split(',')
        .find(|part| part.contains("rel=\"next\"") || part.contains("rel=next"))
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part.find('>')?;
            let url = Url::parse(part.get(start..end)?).ok()?;
            url.query_pairs()
                .find(|(k, _)| k.eq_ignore_ascii_case("pageId"))
                .and_then(|(_, v)| v.parse().ok())
        })
}

fn parse_id(s: &str, what: &str) -> Result<i64, PsaError> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| PsaError::Validation {
            psa: PSA,
            detail: format!("the {what} must be a positive integer"),
        })
}

// ----- records -----

fn id_of(v: &Value) -> Option<String> {
    v["id"].as_i64().map(|i| i.to_string())
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn updated_at(v: &Value) -> Option<i64> {
    v["_info"]["lastUpdated"].as_str().and_then(parse_datetime_ms)
}

/// `2026-01-02T03:04:05Z` (fraction optional) → epoch ms.
pub(crate) fn parse_datetime_ms(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split(['+']).next()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next().flatten().unwrap_or(0));
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let ms: i64 = format!("{frac:0<3}").get(..3)?.parse().unwrap_or(0);
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms)
}

fn record(kind: RecordKind, id: String, name: String) -> PsaRecord {
    PsaRecord {
        kind,
        id,
        name,
        company_id: None,
        active: true,
        email: None,
        serial_number: None,
        configuration_type: None,
        rmm_device_uid: None,
        updated_at: None,
    }
}

fn full_name(v: &Value) -> String {
    [text(&v["firstName"]), text(&v["lastName"])]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Deleted companies (`deletedFlag`) and those whose status is named "Inactive" are
/// `active: false`.
fn company_record(v: &Value) -> Option<PsaRecord> {
    let mut r = record(RecordKind::Company, id_of(v)?, text(&v["name"]).unwrap_or_default());
    let inactive_status = v["status"]["name"]
        .as_str()
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("inactive"));
    r.active = v["deletedFlag"].as_bool() != Some(true) && !inactive_status;
    r.updated_at = updated_at(v);
    Some(r)
}

/// Email: the default `Email` communication item, else the first one.
fn contact_record(v: &Value) -> Option<PsaRecord> {
    let mut r = record(RecordKind::Contact, id_of(v)?, full_name(v));
    r.company_id = id_of(&v["company"]);
    r.active = v["inactiveFlag"].as_bool() != Some(true);
    let items = v["communicationItems"].as_array().cloned().unwrap_or_default();
    let emails: Vec<&Value> = items
        .iter()
        .filter(|i| {
            i["communicationType"].as_str() == Some("Email")
                || i["type"]["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("email"))
        })
        .collect();
    r.email = emails
        .iter()
        .find(|i| i["defaultFlag"].as_bool() == Some(true))
        .or(emails.first())
        .and_then(|i| text(&i["value"]));
    r.updated_at = updated_at(v);
    Some(r)
}

fn site_record(v: &Value, company: i64) -> Option<PsaRecord> {
    let mut r = record(RecordKind::Location, id_of(v)?, text(&v["name"]).unwrap_or_default());
    r.company_id = Some(id_of(&v["company"]).unwrap_or_else(|| company.to_string()));
    r.active = v["inactiveFlag"].as_bool() != Some(true);
    r.updated_at = updated_at(v);
    Some(r)
}

/// `rmm_device_uid` is taken from `deviceIdentifier` only when it has the shape of a Datto
/// RMM device uid (a GUID, 8-4-4-4-12 hex digits); other agents write their own identifiers
/// there.
fn configuration_record(v: &Value) -> Option<PsaRecord> {
    let mut r = record(
        RecordKind::Configuration,
        id_of(v)?,
        text(&v["name"]).unwrap_or_default(),
    );
    r.company_id = id_of(&v["company"]);
    r.active = match v["activeFlag"].as_bool() {
        Some(a) => a,
        None => !v["status"]["name"]
            .as_str()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("inactive")),
    };
    r.serial_number = text(&v["serialNumber"]);
    r.configuration_type = text(&v["type"]["name"]);
    r.rmm_device_uid = text(&v["deviceIdentifier"])
        .filter(|d| looks_like_guid(d))
        .map(|d| d.to_ascii_lowercase());
    r.updated_at = updated_at(v);
    Some(r)
}

fn member_record(v: &Value) -> Option<PsaRecord> {
    let mut name = full_name(v);
    if name.is_empty() {
        name = text(&v["identifier"]).unwrap_or_default();
    }
    let mut r = record(RecordKind::User, id_of(v)?, name);
    r.active = v["inactiveFlag"].as_bool() != Some(true);
    r.email = text(&v["officeEmail"]);
    r.updated_at = updated_at(v);
    Some(r)
}

pub(crate) fn looks_like_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn sites_are_checked() {
        assert_eq!(
            parse_site("api-na.myconnectwise.net", false).unwrap().as_str(),
            "https://api-na.myconnectwise.net/"
        );
        assert!(parse_site("https://api-eu.myconnectwise.net/", false).is_ok());
        assert!(parse_site("http://127.0.0.1:9200", false).is_err());
        assert!(parse_site("http://127.0.0.1:9200", true).is_ok());
        assert!(parse_site("https://host/v4_6_release", false).is_err());
        assert!(parse_site("https://user:pw@host", false).is_err());
        assert!(parse_site("ftp://host", true).is_err());
        assert!(parse_site("", true).is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(truncate_chars("ééé", 2), "éé");
        assert!(looks_like_guid("0a1b2c3d-0000-4000-8000-00000000abcd"));
        assert!(!looks_like_guid("LT-12345"));
        assert_eq!(parse_datetime_ms("1970-01-02T00:00:01Z"), Some(86_401_000));
        assert_eq!(parse_datetime_ms("2026-11-22T01:02:03.5Z"), Some(1_795_309_323_500));
        assert_eq!(parse_datetime_ms("nonsense"), None);
        assert_eq!(
            next_page_id("<https://x/apis/3.0/company/companies?pageSize=5&pageId=42>; rel=\"next\""),
            Some(42)
        );
        assert_eq!(next_page_id("<https://x/a?page=2>; rel=\"last\""), None);
    }

    #[test]
    fn envelope_describes_without_values() {
        let e = Envelope::parse(
            br#"{"code":"InvalidObject","message":"ticket object is invalid","errors":[{"code":"MissingRequiredField","message":"The summary field is required.","resource":"ticket","field":"summary"}]}"#,
        );
        assert_eq!(
            e.describe(),
            "InvalidObject: ticket object is invalid; The summary field is required. (MissingRequiredField, field summary)"
        );
        assert!(e.has_error_code("MissingRequiredField"));
    }
}
