//! The Datto RMM connector and client: the OAuth token (cached, renewed), the calls the rest
//! of rmmsync makes, Datto's retry rules on the shared loop, and the paged walks ([`Pager`]).

use super::models::{Account, Page};
use super::{DattoError, Platform, RateLimiter};
use crate::http::{Answer, describe_error as describe, host_and_port};
use crate::retry::{Replay, RetryPolicy, RetryRules, Verdict, send_with_retry};
use crate::secret::Secret;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The production host of each platform; `{platform}` is replaced by its
/// lower-case name. Overridden by `DATTO_RMM_BASE_URL_TEMPLATE` for the simulator.
pub const DEFAULT_BASE_URL_TEMPLATE: &str = "https://{platform}-api.centrastage.net";
/// The OAuth client every Datto RMM API integration uses (not a secret).
const OAUTH_CLIENT: (&str, &str) = ("public-client", "public");
/// Tokens live 100 hours; used when a token response omits `expires_in`.
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(100 * 3600);
/// A walk longer than this is a loop, not an account (250 x 10,000 = 2.5M items).
const MAX_PAGES: u32 = 10_000;

/// The API key and secret key of a Datto RMM API user.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub api_key: Secret,
    pub api_secret: Secret,
}

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
        }
    }

    /// The shared HTTP client (connection pool), for other API clients of the same process.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Reads `DATTO_RMM_BASE_URL_TEMPLATE`, `DATTO_RMM_READ_LIMIT`,
    /// `DATTO_RMM_PROBE_OTHER_PLATFORMS` (true/false).
    pub fn from_env(http: reqwest::Client) -> Self {
        let mut c = Self::new(http);
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

    /// A client for one account, with its own token cache and rate limiter.
    pub fn client(&self, platform: Platform, credentials: Credentials) -> Result<DattoClient, DattoError> {
        let raw = self.base_url(platform);
        let mut base = Url::parse(&raw).map_err(|e| DattoError::Unreachable {
            host: raw.clone(),
            reason: format!("not a valid base URL: {e}"),
        })?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(DattoClient {
            http: self.http.clone(),
            platform,
            base,
            credentials,
            token: Mutex::new(None),
            limiter: Arc::new(RateLimiter::new(self.read_limit, self.window)),
            retry: self.retry.clone(),
            requests: AtomicU64::new(0),
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
                let granted = tokio::time::timeout(Duration::from_secs(5), client.fetch_token()).await;
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

#[derive(Clone)]
struct Token {
    value: Secret,
    renew_at: Instant,
}

/// A client for one Datto RMM account. Cheap to share by reference across
/// concurrent tasks: the token is fetched once (single flight) and the rate
/// limiter is common to all of them.
#[derive(Debug)]
pub struct DattoClient {
    http: reqwest::Client,
    platform: Platform,
    base: Url,
    credentials: Credentials,
    token: Mutex<Option<Token>>,
    limiter: Arc<RateLimiter>,
    retry: RetryPolicy,
    requests: AtomicU64,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("renew_at", &self.renew_at)
            .finish_non_exhaustive()
    }
}

/// Datto's retry rules: 5xx and 409 are faults; a 403 that reports an IP block is final.
struct DattoRetryRules {
    /// `host:port` of the API, for messages.
    host: String,
}

impl RetryRules for DattoRetryRules {
    type Error = DattoError;

    fn api(&self) -> &'static str {
        "Datto RMM"
    }

    fn judge(&self, answer: &Answer) -> Verdict<DattoError> {
        match answer.status {
            StatusCode::FORBIDDEN if mentions_block(&answer.body) => Verdict::Fail(DattoError::IpBlocked),
            s if s.is_server_error() || s == StatusCode::CONFLICT => Verdict::Fault,
            _ => Verdict::Accept,
        }
    }

    fn rate_limited(&self, attempts: u32) -> DattoError {
        DattoError::RateLimited { attempts }
    }

    fn server_error(&self, status: StatusCode, attempts: u32) -> DattoError {
        DattoError::Server {
            status: status.as_u16(),
            attempts,
        }
    }

    fn unreachable(&self, error: &reqwest::Error) -> DattoError {
        DattoError::Unreachable {
            host: self.host.clone(),
            reason: describe(error),
        }
    }
}

impl DattoClient {
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// HTTP requests sent so far, token grants and retries included.
    pub fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Shares a limiter with other clients of the same account.
    pub fn with_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// `GET /v2/account`.
    pub async fn account(&self) -> Result<Account, DattoError> {
        self.get("api/v2/account").await
    }

    /// GET a path under the host (e.g. `api/v2/site/{uid}`) and decode it.
    pub async fn get<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, DattoError> {
        let url = self.url(path_and_query)?;
        self.get_url(url).await
    }

    /// Walks a paged list from its first page. `query` holds the filters,
    /// which are carried onto every next page even where Datto drops them.
    pub fn pages<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<Pager<'_, T>, DattoError> {
        let mut url = self.url(path)?;
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(self.pager_at(url))
    }

    /// Resumes a walk at a `nextPageUrl` recorded earlier (a sync cursor).
    pub fn pages_from<T: DeserializeOwned>(&self, next_url: &str) -> Result<Pager<'_, T>, DattoError> {
        Ok(self.pager_at(self.checked_next_url(next_url, &[])?))
    }

    /// A walk starting at `url`; its query (but `page`) is what every next page must keep.
    fn pager_at<T: DeserializeOwned>(&self, url: Url) -> Pager<'_, T> {
        let filters = url
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Pager {
            client: self,
            next: Some(url),
            filters,
            pages: 0,
            _item: PhantomData,
        }
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
        self.call(Method::POST, url, None).await.map(|_| ())
    }

    /// PUT or POST a JSON body and decode the answer.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, DattoError> {
        let url = self.url(path)?;
        let bytes = self.call(method, url, Some(body)).await?;
        decode(path, &bytes)
    }

    fn url(&self, path: &str) -> Result<Url, DattoError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| DattoError::Paging {
                url: path.to_owned(),
                detail: format!("not a valid path: {e}"),
            })
    }

    async fn get_url<T: DeserializeOwned>(&self, url: Url) -> Result<T, DattoError> {
        let path = url.path().to_owned();
        let bytes = self.call(Method::GET, url, None).await?;
        decode(&path, &bytes)
    }

    /// One API call with a bearer token: renews the token once on a 401 and
    /// turns the final answer into the value or the error that fits.
    async fn call(&self, method: Method, url: Url, body: Option<&serde_json::Value>) -> Result<Vec<u8>, DattoError> {
        let path = url.path().to_owned();
        let mut renewed = false;
        loop {
            let token = self.bearer().await?;
            let answer = self
                .execute(&path, || {
                    let req = self
                        .http
                        .request(method.clone(), url.clone())
                        .bearer_auth(token.expose());
                    match body {
                        Some(b) => req.json(b),
                        None => req,
                    }
                })
                .await?;
            match answer.status {
                s if s.is_success() => return Ok(answer.body),
                StatusCode::UNAUTHORIZED if !renewed => {
                    // Expired early or revoked: one fresh token, one more try.
                    self.forget_token(&token).await;
                    renewed = true;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(DattoError::Unexpected {
                        status: 401,
                        path,
                        detail: "a freshly issued token was refused".into(),
                    });
                }
                StatusCode::FORBIDDEN => return Err(DattoError::PermissionDenied),
                StatusCode::NOT_FOUND => return Err(DattoError::NotFound { what: path }),
                status => {
                    return Err(DattoError::Unexpected {
                        status: status.as_u16(),
                        path,
                        detail: snippet(&answer.body),
                    });
                }
            }
        }
    }

    async fn bearer(&self) -> Result<Secret, DattoError> {
        // Holding the lock while fetching makes concurrent callers wait for one grant.
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(t.value.clone());
        }
        let fresh = self.fetch_token().await?;
        let value = fresh.value.clone();
        *slot = Some(fresh);
        Ok(value)
    }

    async fn forget_token(&self, used: &Secret) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| &t.value == used) {
            *slot = None;
        }
    }

    /// The OAuth password grant: `POST /auth/oauth/token`.
    async fn fetch_token(&self) -> Result<Token, DattoError> {
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let url = self.url("auth/oauth/token")?;
        let form = [
            ("grant_type", "password"),
            ("username", self.credentials.api_key.expose()),
            ("password", self.credentials.api_secret.expose()),
        ];
        let answer = self
            .execute("/auth/oauth/token", || {
                self.http
                    .post(url.clone())
                    .basic_auth(OAUTH_CLIENT.0, Some(OAUTH_CLIENT.1))
                    .form(&form)
            })
            .await?;
        match answer.status {
            s if s.is_success() => {
                let parsed: TokenResponse = decode("/auth/oauth/token", &answer.body)?;
                let value =
                    parsed
                        .access_token
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| DattoError::InvalidResponse {
                            path: "/auth/oauth/token".into(),
                            detail: "no access_token in the answer".into(),
                        })?;
                let ttl = parsed.expires_in.map(Duration::from_secs).unwrap_or(DEFAULT_TOKEN_TTL);
                // Renew well before expiry: 10 minutes, or a quarter of a short lifetime.
                let margin = (ttl / 4).min(Duration::from_secs(600));
                Ok(Token {
                    value: Secret::new(value),
                    renew_at: Instant::now() + ttl - margin,
                })
            }
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED => Err(DattoError::BadCredentials {
                platform: self.platform,
            }),
            StatusCode::FORBIDDEN => Err(DattoError::PermissionDenied),
            // Something answers, but it is not a Datto RMM token endpoint.
            status => Err(DattoError::Unreachable {
                host: self.host(),
                reason: format!("no Datto RMM token endpoint there (HTTP {})", status.as_u16()),
            }),
        }
    }

    /// Sends one request through the shared retry loop, waiting for the rate limiter before
    /// every attempt. Retried: 429 (backing off, honouring Retry-After), 5xx and 409
    /// (transient on Datto's side) and network faults. A 403 that reports an IP block ends at
    /// once: retrying would only extend the block.
    async fn execute<F>(&self, path: &str, request: F) -> Result<Answer, DattoError>
    where
        F: Fn() -> reqwest::RequestBuilder,
    {
        let request = &request;
        let rules = DattoRetryRules { host: self.host() };
        send_with_retry(&self.retry, &rules, Replay::Idempotent, path, move || async move {
            self.limiter.acquire().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            Ok(Answer::read(request()).await?)
        })
        .await
    }

    fn host(&self) -> String {
        host_and_port(&self.base)
    }

    /// Resolves a `nextPageUrl`: it must stay on this client's host and
    /// path prefix (the bearer token goes wherever it points), and it gets
    /// back any filter Datto dropped from it.
    fn checked_next_url(&self, next: &str, filters: &[(String, String)]) -> Result<Url, DattoError> {
        let mut url = self.base.join(next).map_err(|e| DattoError::Paging {
            url: next.to_owned(),
            detail: format!("not a URL: {e}"),
        })?;
        let same_origin = url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
            && url.path().starts_with(self.base.path());
        if !same_origin {
            return Err(DattoError::Paging {
                url: next.to_owned(),
                detail: format!("it leaves {}; not following it", self.base),
            });
        }
        let present: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        let missing: Vec<_> = filters.iter().filter(|(k, _)| !present.contains(k)).collect();
        if !missing.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in missing {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }
}

/// A walk over a paged Datto list, one page per call, so that a caller can
/// process, store and checkpoint as it goes instead of holding everything.
pub struct Pager<'c, T> {
    client: &'c DattoClient,
    next: Option<Url>,
    filters: Vec<(String, String)>,
    pages: u32,
    _item: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Pager<'_, T> {
    /// The next page, or `None` after the last. An empty or short page with a
    /// `nextPageUrl` does not end the walk; only a missing/empty URL does.
    pub async fn next_page(&mut self) -> Result<Option<Page<T>>, DattoError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let page: Page<T> = match self.client.get_url(url.clone()).await {
            Ok(page) => page,
            Err(e) => {
                // Keep the position so that the caller can record it and resume.
                self.next = Some(url);
                return Err(e);
            }
        };
        self.pages += 1;
        let next = page
            .page_details
            .as_ref()
            .and_then(|d| d.next_page_url.as_deref())
            .map(str::trim);
        self.next = match next {
            None | Some("") => None,
            Some(raw) => {
                let next = self.client.checked_next_url(raw, &self.filters)?;
                if next == url {
                    return Err(DattoError::Paging {
                        url: raw.to_owned(),
                        detail: "it points at the page it came from".into(),
                    });
                }
                if self.pages >= MAX_PAGES {
                    return Err(DattoError::Paging {
                        url: raw.to_owned(),
                        detail: format!("more than {MAX_PAGES} pages"),
                    });
                }
                Some(next)
            }
        };
        Ok(Some(page))
    }

    /// Where the walk stands: the URL of the page the next call fetches.
    pub fn cursor(&self) -> Option<&str> {
        self.next.as_ref().map(Url::as_str)
    }

    pub fn pages_fetched(&self) -> u32 {
        self.pages
    }

    /// Every item of every page.
    pub async fn collect_all(mut self) -> Result<Vec<T>, DattoError> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page.items);
        }
        Ok(all)
    }
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, DattoError> {
    serde_json::from_slice(body).map_err(|e| DattoError::InvalidResponse {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// Datto uses 403 both for "no permission" and for its temporary IP block;
/// only the body tells them apart (peers key on these words too).
fn mentions_block(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    ["block", "rate", "too many"].iter().any(|w| text.contains(w))
}

/// The start of an error body, for messages and logs: Datto's error bodies
/// carry no credentials, but keep them short anyway.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> DattoClient {
        DattoConnector::new(reqwest::Client::new())
            .with_base_url_template(base)
            .client(
                Platform::Merlot,
                Credentials {
                    api_key: Secret::new("k"),
                    api_secret: Secret::new("s"),
                },
            )
            .unwrap()
    }

    #[test]
    fn next_page_urls_must_stay_on_the_api_host() {
        let c = client("https://merlot-api.centrastage.net");
        assert!(
            c.checked_next_url(
                "https://merlot-api.centrastage.net/api/v2/account/sites?page=1&max=250",
                &[]
            )
            .is_ok()
        );
        for evil in [
            "https://evil.example/api/v2/account/sites?page=1",
            "http://merlot-api.centrastage.net/api/v2/account/sites?page=1",
            "https://merlot-api.centrastage.net:8443/api/v2/account/sites?page=1",
        ] {
            assert!(
                matches!(c.checked_next_url(evil, &[]), Err(DattoError::Paging { .. })),
                "{evil}"
            );
        }
        let prefixed = client("http://127.0.0.1:9100/merlot");
        assert!(
            prefixed
                .checked_next_url("http://127.0.0.1:9100/syrah/api/v2/account/sites", &[])
                .is_err()
        );
    }

    #[test]
    fn dropped_filters_are_appended_and_present_ones_kept() {
        let c = client("https://merlot-api.centrastage.net");
        let filters = vec![
            ("max".to_owned(), "250".to_owned()),
            ("siteName".to_owned(), "Acme & Co".to_owned()),
        ];
        let url = c
            .checked_next_url(
                "https://merlot-api.centrastage.net/api/v2/account/devices?page=2&max=100",
                &filters,
            )
            .unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("page".into(), "2".into()),
                ("max".into(), "100".into()),
                ("siteName".into(), "Acme & Co".into())
            ]
        );
    }
}
