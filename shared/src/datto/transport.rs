//! How the Datto RMM client sends: the [`Transport`] of one account (HTTP client, API root,
//! token cache, rate limiter, retry policy, request count), one request through the shared
//! retry loop ([`crate::retry::send_with_retry`]) with Datto's rules and the rate limiter taken
//! before every attempt, the token grant sent that way, and a call with its bearer token turned
//! into the value or the error that fits.

use super::error::decode;
use super::token::{TOKEN_PATH, Token, TokenCache, read_grant};
use super::{DattoError, Platform, RateLimiter};
use crate::http::{Answer, describe_error as describe, host_and_port};
use crate::retry::{Replay, RetryPolicy, RetryRules, Verdict, send_with_retry};
use crate::secret::Secret;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// The API root of a base URL (`https://merlot-api.centrastage.net` or a simulator's
/// `http://127.0.0.1:9100/merlot`): parsed, and ending in `/` so that paths join under it.
pub(super) fn api_root(raw: &str) -> Result<Url, DattoError> {
    let mut base = Url::parse(raw).map_err(|e| DattoError::Unreachable {
        host: raw.to_owned(),
        reason: format!("not a valid base URL: {e}"),
    })?;
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Ok(base)
}

/// Everything one account's requests go through.
#[derive(Debug)]
pub(super) struct Transport {
    http: reqwest::Client,
    platform: Platform,
    /// The API root, ending in `/`.
    base: Url,
    token: Arc<TokenCache>,
    limiter: Arc<RateLimiter>,
    retry: RetryPolicy,
    requests: AtomicU64,
}

impl Transport {
    pub(super) fn new(
        http: reqwest::Client,
        platform: Platform,
        base: Url,
        token: Arc<TokenCache>,
        limiter: Arc<RateLimiter>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            http,
            platform,
            base,
            token,
            limiter,
            retry,
            requests: AtomicU64::new(0),
        }
    }

    pub(super) fn platform(&self) -> Platform {
        self.platform
    }

    /// The API root, ending in `/`.
    pub(super) fn base(&self) -> &Url {
        &self.base
    }

    /// HTTP requests sent so far, token grants and retries included.
    pub(super) fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(super) fn set_limiter(&mut self, limiter: Arc<RateLimiter>) {
        self.limiter = limiter;
    }

    pub(super) fn url(&self, path: &str) -> Result<Url, DattoError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| DattoError::Paging {
                url: path.to_owned(),
                detail: format!("not a valid path: {e}"),
            })
    }

    /// `host:port` of the API, for messages.
    pub(super) fn host(&self) -> String {
        host_and_port(&self.base)
    }

    pub(super) async fn get_url<T: DeserializeOwned>(&self, url: Url) -> Result<T, DattoError> {
        let path = url.path().to_owned();
        let bytes = self.call(Method::GET, url, None).await?;
        decode(&path, &bytes)
    }

    /// The OAuth password grant: `POST /auth/oauth/token`, sent like any other request.
    pub(super) async fn fetch_token(&self) -> Result<Token, DattoError> {
        let url = self.url(TOKEN_PATH)?;
        let answer = self
            .execute("/auth/oauth/token", || {
                self.token.grant_request(&self.http, url.clone())
            })
            .await?;
        read_grant(&answer, self.platform, &self.host())
    }

    /// The cached token, or a fresh grant when it is due for renewal.
    async fn bearer(&self) -> Result<Secret, DattoError> {
        self.token.bearer(|| self.fetch_token()).await
    }

    /// One API call with a bearer token: renews the token once on a 401 and
    /// turns the final answer into the value or the error that fits.
    pub(super) async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, DattoError> {
        self.call_as(method, url, body, Replay::Idempotent).await
    }

    /// [`Transport::call`] for a create ([`Replay::Create`]): sent again only where Datto surely
    /// did not take it (a 429, a refused connection), never after a fault or a timeout.
    pub(super) async fn call_as(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        replay: Replay,
    ) -> Result<Vec<u8>, DattoError> {
        let path = url.path().to_owned();
        let mut renewed = false;
        loop {
            let token = self.bearer().await?;
            let answer = self
                .execute_as(&path, replay, || {
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
                    self.token.forget(&token).await;
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

    /// Sends one request through the shared retry loop, waiting for the rate limiter before
    /// every attempt. Retried: 429 (backing off, honouring Retry-After), 5xx and 409
    /// (transient on Datto's side) and network faults. A 403 that reports an IP block ends at
    /// once: retrying would only extend the block.
    async fn execute<F>(&self, path: &str, request: F) -> Result<Answer, DattoError>
    where
        F: Fn() -> reqwest::RequestBuilder,
    {
        self.execute_as(path, Replay::Idempotent, request).await
    }

    /// [`Transport::execute`] with the replay rule of the call.
    async fn execute_as<F>(&self, path: &str, replay: Replay, request: F) -> Result<Answer, DattoError>
    where
        F: Fn() -> reqwest::RequestBuilder,
    {
        let request = &request;
        let rules = DattoRetryRules { host: self.host() };
        send_with_retry(&self.retry, &rules, replay, path, move || async move {
            self.limiter.acquire().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            Ok(Answer::read(request()).await?)
        })
        .await
    }
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
