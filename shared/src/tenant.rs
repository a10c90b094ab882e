//! The tenant: whose data a request may touch.
//!
//! The tenant comes only from the `tenant` claim of the JWT that API Gateway's
//! authorizer verified, never from a request body or path. A [`TenantId`] can
//! only be built through [`TenantId::parse`], which keeps to a charset that
//! cannot break out of a DynamoDB key (`#` separates key parts) or a secret name.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TenantError {
    #[error("the request carries no verified `tenant` claim")]
    Missing,
    #[error("the `tenant` claim must be 1 to 128 characters of A-Z, a-z, 0-9, '-', '_' or '.'")]
    Invalid,
}

impl TenantId {
    pub fn parse(raw: &str) -> Result<Self, TenantError> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(TenantError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_could_escape_a_key() {
        assert!(TenantId::parse("acme-msp_1.eu").is_ok());
        for bad in ["", "a#b", "a/b", "a b", "é", &"x".repeat(129)] {
            assert_eq!(TenantId::parse(bad), Err(TenantError::Invalid), "{bad:?}");
        }
    }
}
