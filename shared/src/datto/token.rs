//! The OAuth token of a Datto RMM client: the password grant, the cache that renews it before
//! it expires (one grant for concurrent callers), and forgetting a token the API refused.

use super::DattoError;
use super::client::DattoClient;
use super::transport::decode;
use crate::secret::Secret;
use reqwest::StatusCode;
use std::time::Duration;
use tokio::time::Instant;

/// The OAuth client every Datto RMM API integration uses (not a secret).
const OAUTH_CLIENT: (&str, &str) = ("public-client", "public");
/// Tokens live 100 hours; used when a token response omits `expires_in`.
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(100 * 3600);

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

impl DattoClient {
    /// The cached token, or a fresh grant when it is due for renewal.
    pub(super) async fn bearer(&self) -> Result<Secret, DattoError> {
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

    pub(super) async fn forget_token(&self, used: &Secret) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| &t.value == used) {
            *slot = None;
        }
    }

    /// The OAuth password grant: `POST /auth/oauth/token`.
    pub(super) async fn fetch_token(&self) -> Result<Token, DattoError> {
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
}
