//! How the Datto RMM client sends: one request through the shared retry loop
//! ([`crate::retry::send_with_retry`]) with Datto's rules, the rate limiter taken before every
//! attempt, and a call with its bearer token turned into the value or the error that fits.

use super::DattoError;
use super::client::DattoClient;
use crate::http::{Answer, describe_error as describe};
use crate::retry::{Replay, RetryRules, Verdict, send_with_retry};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use std::sync::atomic::Ordering;

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
    pub(super) async fn get_url<T: DeserializeOwned>(&self, url: Url) -> Result<T, DattoError> {
        let path = url.path().to_owned();
        let bytes = self.call(Method::GET, url, None).await?;
        decode(&path, &bytes)
    }

    /// One API call with a bearer token: renews the token once on a 401 and
    /// turns the final answer into the value or the error that fits.
    pub(super) async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, DattoError> {
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

    /// Sends one request through the shared retry loop, waiting for the rate limiter before
    /// every attempt. Retried: 429 (backing off, honouring Retry-After), 5xx and 409
    /// (transient on Datto's side) and network faults. A 403 that reports an IP block ends at
    /// once: retrying would only extend the block.
    pub(super) async fn execute<F>(&self, path: &str, request: F) -> Result<Answer, DattoError>
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
}

pub(super) fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, DattoError> {
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
