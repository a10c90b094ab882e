//! The ConnectWise Manage connector and client: credentials and the site they name, settings
//! read from the environment (the callback key host allow-list among them), the state a client
//! shares with its clones (its transport, board statuses, callback signing keys), and the
//! connection test.

use super::conditions::Conditions;

use super::transport::{CodebaseCache, Transport};
use crate::psa::{PsaConnectionInfo, PsaError};
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use base64::Engine;
use reqwest::Url;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use tokio::sync::{Mutex, OnceCell};

/// The API's largest page.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// The longest answer read from a ConnectWise host by default (a full page of 1,000
/// configurations is a few MB).
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 20 * 1024 * 1024;

/// Hosts a callback's `Metadata.key_url` may point at by default (ConnectWise's cloud API and
/// sandbox hosts); the client's own site is always allowed on top.
pub const DEFAULT_KEY_URL_HOSTS: &[&str] = &[
    "api-au.myconnectwise.net",
    "api-eu.myconnectwise.net",
    "api-na.myconnectwise.net",
    "sandbox-au.myconnectwise.net",
    "sandbox-eu.myconnectwise.net",
    "sandbox-na.myconnectwise.net",
    "na.myconnectwise.net",
    "eu.myconnectwise.net",
    "au.myconnectwise.net",
];

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
    max_answer_bytes: usize,
    /// REST roots found by codebase lookups, shared by every client of the connector: a warm
    /// function looks a company's codebase up once, not once per delivery.
    codebases: CodebaseCache,
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
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
            codebases: CodebaseCache::default(),
        }
    }

    /// Reads `CONNECTWISE_CLIENT_ID` (rmmsync's registered clientId), `CONNECTWISE_ALLOW_HTTP`
    /// (true/false, default false), `CONNECTWISE_PAGE_SIZE` (1..=1000, default 1000),
    /// `CONNECTWISE_API_VERSION` (pins `Accept: application/vnd.connectwise.com+json;
    /// version=...`), `CONNECTWISE_RETRY_ATTEMPTS` (attempts on 429) and
    /// `CONNECTWISE_KEY_URL_HOSTS` (comma-separated hosts added to the callback key allow-list),
    /// `CONNECTWISE_MAX_ANSWER_BYTES` (the longest answer read, default 20 MiB).
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
        if let Some(n) = var("CONNECTWISE_MAX_ANSWER_BYTES").and_then(|v| v.trim().parse().ok()) {
            c = c.with_max_answer_bytes(n);
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

    /// Answers longer than this are refused (not read further); at least 1 KiB.
    pub fn with_max_answer_bytes(mut self, bytes: usize) -> Self {
        self.max_answer_bytes = bytes.max(1024);
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
                transport: Transport {
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
                    api_base: OnceCell::new(),
                    codebases: self.codebases.clone(),
                    requests: AtomicU64::new(0),
                    max_answer_bytes: self.max_answer_bytes,
                },
                key_url_hosts: self.key_url_hosts.clone(),
                allow_http: self.allow_http,
                site_concurrency: self.site_concurrency,
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

/// One status of a board, as far as completing tickets cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BoardStatus {
    pub(super) id: i64,
    /// `closedStatus`: a ticket in it is closed.
    pub(super) closed: bool,
    pub(super) inactive: bool,
}

/// What the clones of one client share.
pub(super) struct Inner {
    /// The site, REST root, headers, retries and paging: how requests are sent.
    pub(super) transport: Transport,
    pub(super) key_url_hosts: Vec<String>,
    pub(super) allow_http: bool,
    pub(super) site_concurrency: usize,
    /// Board id → its statuses.
    pub(super) board_statuses: Mutex<HashMap<i64, Vec<BoardStatus>>>,
    /// Callback `key_url` → its signing key.
    pub(super) signing_keys: Mutex<HashMap<String, Secret>>,
}

/// The client of one ConnectWise account. Cheap to clone (shared state).
#[derive(Clone)]
pub struct ConnectWiseClient {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for ConnectWiseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectWiseClient")
            .field("site", &self.inner.transport.origin.as_str())
            .field("company_id", &self.inner.transport.company_id)
            .finish_non_exhaustive()
    }
}

impl ConnectWiseClient {
    /// HTTP requests sent so far (retries included).
    pub fn requests_made(&self) -> u64 {
        self.transport().requests_made()
    }

    pub fn company_id(&self) -> &str {
        &self.transport().company_id
    }

    /// How this client's requests are sent.
    pub(super) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The REST root, discovering the codebase on first use:
    /// `GET /login/companyinfo/{companyId}` → `Codebase`.
    pub async fn api_base(&self) -> Result<Url, PsaError> {
        self.transport().api_base().await
    }

    /// Every record of a collection, walked with forward-only paging (ordered by id, the
    /// conditions sent again on every page). Guards: the `pageId` must grow, at most
    /// `max_pages` pages.
    pub async fn list_all(&self, path: &str, conditions: &Conditions) -> Result<Vec<Value>, PsaError> {
        self.transport().list_all(path, conditions).await
    }

    /// Checks the site, the company and the keys: companyinfo, then `/system/info`.
    pub async fn test_connection(&self) -> Result<PsaConnectionInfo, PsaError> {
        let base = self.api_base().await?;
        self.transport().get_value("system/info").await?;
        Ok(PsaConnectionInfo {
            account: Some(self.company_id().to_owned()),
            api_url: base.as_str().trim_end_matches('/').to_owned(),
            database: None,
            requests_used: None,
            request_limit: None,
        })
    }
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
}
