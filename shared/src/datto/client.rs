//! The Datto RMM connector and client: credentials, settings read from the environment, the
//! connection test (with its probe of the other platforms), and the calls the rest of rmmsync
//! makes.

use super::error::decode;
use super::models::Account;
use super::paging::Pager;
use super::token::{Credentials, TokenCache};
use super::transport::{Transport, api_root};
use super::{DattoError, Platform, RateLimiter};
use crate::retry::RetryPolicy;
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The production host of each platform; `{platform}` is replaced by its
/// lower-case name. Overridden by `DATTO_RMM_BASE_URL_TEMPLATE` for the simulator.
pub const DEFAULT_BASE_URL_TEMPLATE: &str = "https://{platform}-api.centrastage.net";

/// Datto uids are GUID-like; anything else could reshape the request path.
fn checked_uid(uid: &str) -> Result<&str, DattoError> {
    if !uid.is_empty() && uid.len() <= 64 && uid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(uid)
    } else {
        Err(DattoError::NotFound {
            what: "an alert with that uid".into(),
        })
    }
}

/// What a successful connection test learned about the account.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    pub account_uid: Option<String>,
    pub account_name: Option<String>,
    pub device_count: Option<i64>,
}

/// Makes [`DattoClient`]s: holds what every client shares (the HTTP client
/// with its connection pool, host template, retry policy, rate budget).
/// Build one per process, in `main`.
#[derive(Debug, Clone)]
pub struct DattoConnector {
    http: reqwest::Client,
    base_url_template: String,
    retry: RetryPolicy,
    read_limit: u32,
    window: Duration,
    probe_other_platforms: bool,
    /// When set, clients of the same account (same platform and keys) share one token and
    /// one rate limiter for the life of the process: a warm Lambda grants a token once.
    accounts: Option<Arc<std::sync::Mutex<HashMap<String, SharedAccount>>>>,
}

/// What the clients of one account share when [`DattoConnector::with_shared_accounts`] is on.
#[derive(Debug, Clone)]
struct SharedAccount {
    token: Arc<TokenCache>,
    limiter: Arc<RateLimiter>,
}

/// Accounts remembered at most; past it the memory starts afresh (tokens are granted again).
const MAX_ACCOUNTS: usize = 256;

/// The key of an account: a SHA-256 of platform and keys, so that no secret is a map key.
fn account_key(platform: Platform, credentials: &Credentials) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(platform.as_str().as_bytes());
    h.update([0]);
    h.update(credentials.api_key.expose().as_bytes());
    h.update([0]);
    h.update(credentials.api_secret.expose().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl DattoConnector {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            base_url_template: DEFAULT_BASE_URL_TEMPLATE.to_owned(),
            retry: RetryPolicy::datto(),
            // Stay under Datto's 90% cut-off (540), above which every answer is slowed by 1 s.
            read_limit: 500,
            window: Duration::from_secs(60),
            probe_other_platforms: true,
            accounts: None,
        }
    }

    /// Clients of the same account share their token and rate limiter (see `accounts`).
    pub fn with_shared_accounts(mut self) -> Self {
        self.accounts = Some(Arc::default());
        self
    }

    /// The shared HTTP client (connection pool), for other API clients of the same process.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Reads `DATTO_RMM_BASE_URL_TEMPLATE`, `DATTO_RMM_READ_LIMIT`,
    /// `DATTO_RMM_PROBE_OTHER_PLATFORMS` (true/false). Tokens and rate limiters are shared per
    /// account across the process's clients (a warm function grants a token once).
    pub fn from_env(http: reqwest::Client) -> Self {
        let mut c = Self::new(http).with_shared_accounts();
        if let Ok(t) = std::env::var("DATTO_RMM_BASE_URL_TEMPLATE") {
            c.base_url_template = t;
        }
        if let Some(n) = std::env::var("DATTO_RMM_READ_LIMIT").ok().and_then(|v| v.parse().ok()) {
            c.read_limit = n;
        }
        if let Ok(v) = std::env::var("DATTO_RMM_PROBE_OTHER_PLATFORMS") {
            c.probe_other_platforms = !matches!(v.as_str(), "0" | "false" | "no");
        }
        c
    }

    pub fn with_base_url_template(mut self, template: impl Into<String>) -> Self {
        self.base_url_template = template.into();
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_rate_limit(mut self, limit: u32, window: Duration) -> Self {
        self.read_limit = limit;
        self.window = window;
        self
    }

    pub fn with_platform_probe(mut self, probe: bool) -> Self {
        self.probe_other_platforms = probe;
        self
    }

    pub fn base_url(&self, platform: Platform) -> String {
        self.base_url_template.replace("{platform}", platform.as_str())
    }

    /// A client for one account: its own token cache and rate limiter, or, with shared
    /// accounts, those of every client of the same platform and keys.
    pub fn client(&self, platform: Platform, credentials: Credentials) -> Result<DattoClient, DattoError> {
        let base = api_root(&self.base_url(platform))?;
        let fresh = |credentials: Credentials| SharedAccount {
            token: Arc::new(TokenCache::new(credentials)),
            limiter: Arc::new(RateLimiter::new(self.read_limit, self.window)),
        };
        let account = match &self.accounts {
            None => fresh(credentials),
            Some(accounts) => {
                let key = account_key(platform, &credentials);
                let mut map = accounts.lock().unwrap_or_else(|e| e.into_inner());
                if map.len() >= MAX_ACCOUNTS && !map.contains_key(&key) {
                    map.clear();
                }
                map.entry(key).or_insert_with(|| fresh(credentials)).clone()
            }
        };
        Ok(DattoClient {
            transport: Transport::new(
                self.http.clone(),
                platform,
                base,
                account.token,
                account.limiter,
                self.retry.clone(),
            ),
        })
    }

    /// Test Connection: the real OAuth grant, then `GET /v2/account`.
    ///
    /// When the keys are refused and probing is on, the other five platforms
    /// are asked for a token with the same keys, concurrently; one that grants
    /// it turns "bad credentials" into "wrong platform".
    pub async fn test_connection(
        &self,
        platform: Platform,
        credentials: &Credentials,
    ) -> Result<ConnectionInfo, DattoError> {
        let client = self.client(platform, credentials.clone())?;
        match client.account().await {
            Ok(account) => Ok(ConnectionInfo {
                device_count: account.devices_status.as_ref().and_then(|s| s.number_of_devices),
                account_uid: account.uid,
                account_name: account.name,
            }),
            Err(DattoError::BadCredentials { .. }) if self.probe_other_platforms => {
                match self.find_platform_accepting(platform, credentials).await {
                    Some(actual) => Err(DattoError::WrongPlatform {
                        chosen: platform,
                        actual,
                    }),
                    None => Err(DattoError::BadCredentials { platform }),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn find_platform_accepting(&self, chosen: Platform, credentials: &Credentials) -> Option<Platform> {
        let quick = RetryPolicy {
            rate_limited_attempts: 1,
            fault_attempts: 1,
            ..RetryPolicy::datto()
        };
        let mut probes = tokio::task::JoinSet::new();
        for other in Platform::ALL.into_iter().filter(|p| *p != chosen) {
            let Ok(client) = self
                .clone()
                .with_retry(quick.clone())
                .client(other, credentials.clone())
            else {
                continue;
            };
            probes.spawn(async move {
                let granted = tokio::time::timeout(Duration::from_secs(5), client.transport.fetch_token()).await;
                matches!(granted, Ok(Ok(_))).then_some(other)
            });
        }
        while let Some(result) = probes.join_next().await {
            if let Ok(Some(platform)) = result {
                return Some(platform);
            }
        }
        None
    }
}

/// A client for one Datto RMM account. Cheap to share by reference across
/// concurrent tasks: the token is fetched once (single flight) and the rate
/// limiter is common to all of them.
#[derive(Debug)]
pub struct DattoClient {
    /// The HTTP client, API root, credentials and token, rate limiter, retry policy and
    /// request count: everything a request goes through.
    pub(super) transport: Transport,
}

impl DattoClient {
    pub fn platform(&self) -> Platform {
        self.transport.platform()
    }

    /// HTTP requests sent so far, token grants and retries included.
    pub fn requests_made(&self) -> u64 {
        self.transport.requests_made()
    }

    /// Shares a limiter with other clients of the same account.
    pub fn with_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.transport.set_limiter(limiter);
        self
    }

    /// `GET /v2/account`.
    pub async fn account(&self) -> Result<Account, DattoError> {
        self.get("api/v2/account").await
    }

    /// GET a path under the host (e.g. `api/v2/site/{uid}`) and decode it.
    pub async fn get<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, DattoError> {
        let url = self.url(path_and_query)?;
        self.transport.get_url(url).await
    }

    /// Walks a paged list from its first page. `query` holds the filters,
    /// which are carried onto every next page even where Datto drops them.
    pub fn pages<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<Pager<'_, T>, DattoError> {
        Pager::first(&self.transport, path, query)
    }

    /// Resumes a walk at a `nextPageUrl` recorded earlier (a sync cursor).
    pub fn pages_from<T: DeserializeOwned>(&self, next_url: &str) -> Result<Pager<'_, T>, DattoError> {
        Pager::resume(&self.transport, next_url)
    }

    /// `GET /v2/alert/{alertUid}`. The uid is checked first: it comes from webhooks.
    pub async fn alert(&self, alert_uid: &str) -> Result<super::models::Alert, DattoError> {
        self.get(&format!("api/v2/alert/{}", checked_uid(alert_uid)?)).await
    }

    /// `POST /v2/alert/{alertUid}/resolve` (a write: counted against `alert-resolve`).
    pub async fn resolve_alert(&self, alert_uid: &str) -> Result<(), DattoError> {
        self.post_empty(&format!("api/v2/alert/{}/resolve", checked_uid(alert_uid)?))
            .await
    }

    /// POST with no body, for Datto's body-less actions (resolve an alert...).
    pub async fn post_empty(&self, path: &str) -> Result<(), DattoError> {
        let url = self.url(path)?;
        self.transport.call(Method::POST, url, None).await.map(|_| ())
    }

    /// PUT or POST a JSON body and decode the answer.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, DattoError> {
        let url = self.url(path)?;
        let bytes = self.transport.call(method, url, Some(body)).await?;
        decode(path, &bytes)
    }

    pub(super) fn url(&self, path: &str) -> Result<Url, DattoError> {
        self.transport.url(path)
    }
}
