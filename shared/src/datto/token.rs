//! The OAuth token of a Datto RMM client: the API user's [`Credentials`], the password grant
//! (its request and the reading of its answer), and the [`TokenCache`] that renews the token
//! before it expires (one grant for concurrent callers) and forgets a token the API refused.
//!
//! Sending the grant is the transport's job (`Transport::fetch_token`):
//! this file knows the OAuth exchange, not how requests are sent, retried or counted.

use super::error::decode;
use super::{DattoError, Platform};
use crate::http::Answer;
use crate::secret::Secret;
use reqwest::{StatusCode, Url};
use std::future::Future;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The OAuth client every Datto RMM API integration uses (not a secret).
const OAUTH_CLIENT: (&str, &str) = ("public-client", "public");
/// Tokens live 100 hours; used when a token response omits `expires_in`.
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(100 * 3600);
/// The token endpoint, under the API root.
pub(super) const TOKEN_PATH: &str = "auth/oauth/token";

/// The API key and secret key of a Datto RMM API user.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub api_key: Secret,
    pub api_secret: Secret,
}

/// A bearer token and when to renew it.
#[derive(Clone)]
pub(super) struct Token {
    value: Secret,
    renew_at: Instant,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("renew_at", &self.renew_at)
            .finish_non_exhaustive()
    }
}

/// One account's credentials and the token they were last granted.
#[derive(Debug)]
pub(super) struct TokenCache {
    credentials: Credentials,
    slot: Mutex<Option<Token>>,
}

impl TokenCache {
    pub(super) fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            slot: Mutex::new(None),
        }
    }

    /// The cached token, or the one `grant` fetches when it is due for renewal.
    pub(super) async fn bearer<F, G>(&self, grant: G) -> Result<Secret, DattoError>
    where
        G: FnOnce() -> F,
        F: Future<Output = Result<Token, DattoError>>,
    {
        // Holding the lock while fetching makes concurrent callers wait for one grant.
        let mut slot = self.slot.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(t.value.clone());
        }
        let fresh = grant().await?;
        let value = fresh.value.clone();
        *slot = Some(fresh);
        Ok(value)
    }

    /// Forgets `used` if it is still the cached token (another caller may have renewed it).
    pub(super) async fn forget(&self, used: &Secret) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|t| &t.value == used) {
            *slot = None;
        }
    }

    /// The OAuth password grant: `POST /auth/oauth/token` with the fixed client's Basic header
    /// and the API user's keys as the form's username and password.
    pub(super) fn grant_request(&self, http: &reqwest::Client, url: Url) -> reqwest::RequestBuilder {
        let form = [
            ("grant_type", "password"),
            ("username", self.credentials.api_key.expose()),
            ("password", self.credentials.api_secret.expose()),
        ];
        http.post(url)
            .basic_auth(OAUTH_CLIENT.0, Some(OAUTH_CLIENT.1))
            .form(&form)
    }
}

/// The token a grant's answer carries, or the error it means. `host` (`host:port` of the API)
/// is for the message when something other than a token endpoint answered.
pub(super) fn read_grant(answer: &Answer, platform: Platform, host: &str) -> Result<Token, DattoError> {
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        access_token: Option<String>,
        expires_in: Option<u64>,
    }
    match answer.status {
        s if s.is_success() => {
            let parsed: TokenResponse = decode("/auth/oauth/token", &answer.body)?;
            let value = parsed
                .access_token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| DattoError::InvalidResponse {
                    path: "/auth/oauth/token".into(),
                    detail: "no access_token in the answer".into(),
                })?;
            // Never longer than Datto's documented 100 hours: a hostile or broken
            // `expires_in` (up to u64::MAX) must neither overflow the clock nor
            // keep a token past its real life.
            let ttl = parsed
                .expires_in
                .map_or(DEFAULT_TOKEN_TTL, |s| Duration::from_secs(s).min(DEFAULT_TOKEN_TTL));
            // Renew well before expiry: 10 minutes, or a quarter of a short lifetime.
            let margin = (ttl / 4).min(Duration::from_secs(600));
            Ok(Token {
                value: Secret::new(value),
                renew_at: Instant::now() + ttl - margin,
            })
        }
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED => Err(DattoError::BadCredentials { platform }),
        StatusCode::FORBIDDEN => Err(DattoError::PermissionDenied),
        // Something answers, but it is not a Datto RMM token endpoint.
        status => Err(DattoError::Unreachable {
            host: host.to_owned(),
            reason: format!("no Datto RMM token endpoint there (HTTP {})", status.as_u16()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(body: &str) -> Result<Token, DattoError> {
        let answer = Answer {
            status: StatusCode::OK,
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
        };
        read_grant(&answer, Platform::Merlot, "merlot-api.centrastage.net")
    }

    #[tokio::test]
    async fn a_hostile_expires_in_never_panics_and_is_capped() {
        for hostile in ["18446744073709551615", "9223372036854775807", "0", "1"] {
            let token = grant(&format!(r#"{{"access_token":"t","expires_in":{hostile}}}"#)).unwrap();
            let left = token.renew_at.saturating_duration_since(Instant::now());
            assert!(
                left <= DEFAULT_TOKEN_TTL,
                "{hostile}: renews within the documented lifetime"
            );
        }
        // Not a number Datto could mean: refused as an invalid answer, not a panic.
        assert!(grant(r#"{"access_token":"t","expires_in":-5}"#).is_err());
        // The ordinary answer keeps its 10-minute margin.
        let token = grant(r#"{"access_token":"t","expires_in":360000}"#).unwrap();
        let left = token.renew_at.saturating_duration_since(Instant::now());
        assert!(left > Duration::from_secs(360_000 - 601) && left <= Duration::from_secs(360_000 - 600));
    }
}
