//! ConnectWise callbacks (webhooks): registering rmmsync's ticket callback (and deleting it),
//! fetching the
//! signing key a delivery names (only from allowed hosts), and checking a delivery's
//! `x-content-signature`.

use super::client::ConnectWiseClient;
use super::conditions::Conditions;
use super::transport::{Auth, Envelope, PSA, Pagination, decode};
use crate::psa::{PsaError, truncate_chars};
use crate::secret::Secret;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Method, StatusCode, Url};
use serde_json::json;
use sha2::{Digest, Sha256};

fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.trim_end_matches('.');
    allowed.iter().any(|a| a.eq_ignore_ascii_case(host))
}

impl ConnectWiseClient {
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
        let endpoint = self.transport().url("system/callbacks").await?;
        let answer = self
            .transport()
            .send(
                Method::POST,
                endpoint.clone(),
                Some(&body),
                Auth::Account,
                Pagination::Default,
            )
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
            return Err(self.transport().error_for("/system/callbacks", &answer));
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

    /// Deletes every ticket callback whose URL contains `url_part` (rmmsync's hook path of one
    /// integration); how many there were. A callback already gone (404) counts as deleted.
    pub async fn deregister_callbacks(&self, url_part: &str) -> Result<usize, PsaError> {
        let cond = Conditions::new().eq_str("type", "ticket");
        let mine: Vec<i64> = self
            .list_all("system/callbacks", &cond)
            .await?
            .iter()
            .filter(|c| c["url"].as_str().is_some_and(|u| u.contains(url_part)))
            .filter_map(|c| c["id"].as_i64())
            .collect();
        for id in &mine {
            let url = self.transport().url(&format!("system/callbacks/{id}")).await?;
            let answer = self
                .transport()
                .send(Method::DELETE, url, None, Auth::Account, Pagination::Default)
                .await?;
            if !answer.status.is_success() && answer.status != StatusCode::NOT_FOUND {
                return Err(self.transport().error_for("/system/callbacks/{id}", &answer));
            }
        }
        Ok(mine.len())
    }

    /// Fetches (and caches) the signing key of a callback from its `Metadata.key_url`. The
    /// URL comes from an untrusted body: only https (http where allowed) URLs on an allowed
    /// host or on this client's own site are fetched.
    pub async fn fetch_signing_key(&self, key_url: &str) -> Result<Secret, PsaError> {
        let url =
            Url::parse(key_url.trim()).map_err(|_| PsaError::Config("the callback key_url is not a URL".into()))?;
        let origin = &self.transport().origin;
        let own = url.host_str() == origin.host_str() && url.port_or_known_default() == origin.port_or_known_default();
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
        let answer = self
            .transport()
            .send(Method::GET, url, None, Auth::Anonymous, Pagination::Default)
            .await?;
        if !answer.status.is_success() {
            return Err(self.transport().error_for("/system/callbackkey", &answer));
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

/// Checks `x-content-signature`: Base64(HMAC-SHA256(key = SHA256(signing_key), body)).
/// The comparison is constant-time; a header that is not Base64 fails.
pub fn verify_callback_signature(signing_key: &[u8], body: &[u8], header_value: &str) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(header_value.trim()) else {
        return false;
    };
    let key = Sha256::digest(signing_key);
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psa::connectwise::DEFAULT_KEY_URL_HOSTS;

    #[test]
    fn known_vector_and_tampering() {
        // Computed independently: base64(hmac_sha256(sha256(b"secret"), b"{\"a\":1}")).
        let body = br#"{"a":1}"#;
        let key = Sha256::digest(b"secret");
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
        mac.update(body);
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert!(verify_callback_signature(b"secret", body, &sig));
        assert!(verify_callback_signature(b"secret", body, &format!(" {sig} ")));
        assert!(!verify_callback_signature(b"secret", br#"{"a":2}"#, &sig));
        assert!(!verify_callback_signature(b"other", body, &sig));
        assert!(!verify_callback_signature(b"secret", body, "not base64!"));
        assert!(!verify_callback_signature(b"secret", body, ""));
    }

    #[test]
    fn allow_list() {
        let hosts: Vec<String> = DEFAULT_KEY_URL_HOSTS.iter().map(|h| h.to_string()).collect();
        assert!(host_allowed("api-na.myconnectwise.net", &hosts));
        assert!(host_allowed("API-NA.myconnectwise.net.", &hosts));
        assert!(!host_allowed("evil.myconnectwise.net.attacker.example", &hosts));
        assert!(!host_allowed("myconnectwise.net", &hosts));
    }
}
