//! Callback (webhook) verification (fact sheet D3).

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Hosts a callback's `Metadata.key_url` may point at by default (Nango's list); the client's
/// own site is always allowed on top.
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

pub(crate) fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.trim_end_matches('.');
    allowed.iter().any(|a| a.eq_ignore_ascii_case(host))
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
