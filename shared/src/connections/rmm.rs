//! Connecting Datto RMM accounts: test, create, list, show, delete, rotate.
//!
//! The rules: credentials are tested against Datto before they are stored;
//! they go to Secrets Manager only, and the DynamoDB item keeps the secret's
//! ARN; nothing returned or logged ever carries a key. Every operation is
//! scoped by the caller's [`TenantId`].

use crate::datto::{ConnectionInfo, Credentials, DattoConnector, DattoError, Platform};
use crate::runs::history::RunOverview;
use crate::secret::Secret;
use crate::secrets::{SecretsError, SecretsManager, store_or_delete_secret};
use crate::store::StoreError;
use crate::store::{Cascade, DynamoStore, run_cascades};
use crate::tenant::TenantId;
use crate::time::{format_rfc3339, now_millis};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub const KIND_DATTO_RMM: &str = "datto-rmm";

/// A stored integration. `secret_arn` is internal: [`IntegrationView`] is what leaves the service.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub platform: Platform,
    pub secret_arn: String,
    pub account_uid: Option<String>,
    pub account_name: Option<String>,
    pub device_count: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub credentials_updated_at: i64,
    pub last_tested_at: Option<i64>,
    /// Off: schedules skip it, webhooks do nothing, imports are refused; its settings stay.
    pub enabled: bool,
}

/// An integration as the API shows it: no keys, no ARN.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub platform: Platform,
    pub account: AccountView,
    pub created_at: String,
    pub updated_at: String,
    pub credentials_updated_at: String,
    pub last_tested_at: Option<String>,
    /// `false` while switched off (`POST /integrations/{id}/disable`).
    pub enabled: bool,
    /// The sync in progress and the last finished sync.
    pub sync: RunOverview,
    /// The device-import job in progress and the last finished one.
    pub device_import: RunOverview,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub uid: Option<String>,
    pub name: Option<String>,
    pub device_count: Option<i64>,
}

impl From<&Integration> for IntegrationView {
    fn from(i: &Integration) -> Self {
        Self {
            id: i.id.clone(),
            kind: i.kind.clone(),
            name: i.name.clone(),
            platform: i.platform,
            account: AccountView {
                uid: i.account_uid.clone(),
                name: i.account_name.clone(),
                device_count: i.device_count,
            },
            created_at: format_rfc3339(i.created_at),
            updated_at: format_rfc3339(i.updated_at),
            credentials_updated_at: format_rfc3339(i.credentials_updated_at),
            last_tested_at: i.last_tested_at.map(format_rfc3339),
            enabled: i.enabled,
            sync: RunOverview::default(),
            device_import: RunOverview::default(),
        }
    }
}

/// The body of test, create and rotate requests. Unknown fields are refused
/// so that a typo ("apiSecretKey") is not silently ignored.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DattoCredentialsInput {
    pub platform: Option<String>,
    pub api_key: Option<String>,
    pub api_secret: Option<String>,
    pub name: Option<String>,
}

/// Input checked: a known platform and both keys present.
#[derive(Debug)]
pub struct ValidInput {
    pub platform: Platform,
    pub credentials: Credentials,
    pub name: Option<String>,
}

impl DattoCredentialsInput {
    /// `default_platform` lets a rotation keep the platform it had.
    pub fn validate(self, default_platform: Option<Platform>) -> Result<ValidInput, IntegrationError> {
        let mut problems = Vec::new();
        let platform = match (self.platform.as_deref(), default_platform) {
            (Some(p), _) => match p.parse::<Platform>() {
                Ok(p) => Some(p),
                Err(e) => {
                    problems.push(e.to_string());
                    None
                }
            },
            (None, Some(p)) => Some(p),
            (None, None) => {
                problems.push("`platform` is required (pinotage, merlot, concord, vidal, zinfandel or syrah)".into());
                None
            }
        };
        let mut key = |field: &str, value: Option<String>| match value.map(|v| v.trim().to_owned()) {
            Some(v) if !v.is_empty() && v.len() <= 512 => Some(Secret::new(v)),
            Some(v) if v.len() > 512 => {
                problems.push(format!("`{field}` is longer than 512 characters"));
                None
            }
            _ => {
                problems.push(format!("`{field}` is required"));
                None
            }
        };
        let api_key = key("apiKey", self.api_key);
        let api_secret = key("apiSecret", self.api_secret);
        let name = self.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            problems.push("`name` is longer than 200 characters".into());
        }
        match (platform, api_key, api_secret) {
            (Some(platform), Some(api_key), Some(api_secret)) if problems.is_empty() => Ok(ValidInput {
                platform,
                credentials: Credentials { api_key, api_secret },
                name,
            }),
            _ => Err(IntegrationError::Invalid(problems.join("; "))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    #[error("{0}")]
    Invalid(String),
    #[error("no integration {0} for this tenant")]
    NotFound(String),
    #[error(transparent)]
    Datto(#[from] DattoError),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("secret storage failed: {0}")]
    Secrets(#[from] SecretsError),
}

/// Settings read once at start-up.
#[derive(Debug, Clone)]
pub struct IntegrationSettings {
    /// Secrets are named `{prefix}/{tenant}/datto-rmm/{id}`; IAM grants on `{prefix}/*`.
    pub secret_prefix: String,
    pub secret_recovery_days: i64,
}

impl Default for IntegrationSettings {
    fn default() -> Self {
        Self {
            secret_prefix: "rmmsync".into(),
            secret_recovery_days: 7,
        }
    }
}

impl IntegrationSettings {
    /// `SECRET_NAME_PREFIX`, `SECRET_RECOVERY_DAYS`.
    pub fn from_env() -> Self {
        let mut s = Self::default();
        if let Ok(p) = std::env::var("SECRET_NAME_PREFIX") {
            s.secret_prefix = p;
        }
        if let Some(d) = std::env::var("SECRET_RECOVERY_DAYS").ok().and_then(|d| d.parse().ok()) {
            s.secret_recovery_days = d;
        }
        s
    }
}

/// The service: borrowed ports, so that handlers build nothing per request.
pub struct Integrations<'a> {
    pub store: &'a DynamoStore,
    pub secrets: &'a SecretsManager,
    pub datto: &'a DattoConnector,
    pub settings: &'a IntegrationSettings,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredCredentials {
    api_key: String,
    api_secret: String,
}

impl Integrations<'_> {
    /// Test Connection without storing anything.
    pub async fn test(&self, input: DattoCredentialsInput) -> Result<ConnectionInfo, IntegrationError> {
        let input = input.validate(None)?;
        Ok(self.datto.test_connection(input.platform, &input.credentials).await?)
    }

    /// Tests the keys, stores them in Secrets Manager, then the item in DynamoDB.
    pub async fn create(
        &self,
        tenant: &TenantId,
        input: DattoCredentialsInput,
    ) -> Result<IntegrationView, IntegrationError> {
        let input = input.validate(None)?;
        let info = self.datto.test_connection(input.platform, &input.credentials).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let name = format!("{}/{tenant}/{KIND_DATTO_RMM}/{id}", self.settings.secret_prefix);
        let arn = self
            .secrets
            .create(&name, &secret_value(&input.credentials), tenant.as_str())
            .await?;
        let now = now_millis();
        let integration = Integration {
            name: input
                .name
                .or_else(|| info.account_name.clone())
                .unwrap_or_else(|| "Datto RMM".into()),
            id,
            kind: KIND_DATTO_RMM.into(),
            platform: input.platform,
            secret_arn: arn,
            account_uid: info.account_uid,
            account_name: info.account_name,
            device_count: info.device_count,
            created_at: now,
            updated_at: now,
            credentials_updated_at: now,
            last_tested_at: Some(now),
            enabled: true,
        };
        store_or_delete_secret(
            self.secrets,
            &integration.secret_arn,
            &integration.id,
            self.store.insert(tenant, &integration),
        )
        .await?;
        tracing::info!(tenant = %tenant, integration = %integration.id, platform = %integration.platform, "integration created");
        Ok(IntegrationView::from(&integration))
    }

    pub async fn list(&self, tenant: &TenantId) -> Result<Vec<IntegrationView>, IntegrationError> {
        Ok(self
            .store
            .list(tenant)
            .await?
            .iter()
            .map(IntegrationView::from)
            .collect())
    }

    pub async fn get(&self, tenant: &TenantId, id: &str) -> Result<IntegrationView, IntegrationError> {
        Ok(IntegrationView::from(&self.find(tenant, id).await?))
    }

    /// Schedules the secret for deletion, then removes the items. Either
    /// step may be repeated safely if the other fails.
    /// Flows above keep items outside the integration's partition (imported
    /// assets outlive it, marked as no longer linked): `cascades` let go of
    /// them first, before the integration item goes, so a half-done delete
    /// can simply be repeated.
    pub async fn delete(
        &self,
        tenant: &TenantId,
        id: &str,
        cascades: &[Arc<dyn Cascade>],
    ) -> Result<(), IntegrationError> {
        let integration = self.find(tenant, id).await?;
        run_cascades(cascades, tenant, id).await?;
        self.secrets
            .schedule_deletion(&integration.secret_arn, self.settings.secret_recovery_days)
            .await?;
        self.store.delete(tenant, id).await?;
        tracing::info!(tenant = %tenant, integration = %id, "integration deleted; secret scheduled for deletion");
        Ok(())
    }

    /// Replaces the keys (and, if given, the platform) after testing them.
    pub async fn rotate_credentials(
        &self,
        tenant: &TenantId,
        id: &str,
        input: DattoCredentialsInput,
    ) -> Result<IntegrationView, IntegrationError> {
        let mut integration = self.find(tenant, id).await?;
        let input = input.validate(Some(integration.platform))?;
        let info = self.datto.test_connection(input.platform, &input.credentials).await?;
        self.secrets
            .replace(&integration.secret_arn, &secret_value(&input.credentials))
            .await?;
        let now = now_millis();
        integration.platform = input.platform;
        if let Some(name) = input.name {
            integration.name = name;
        }
        integration.account_uid = info.account_uid;
        integration.account_name = info.account_name;
        integration.device_count = info.device_count;
        integration.updated_at = now;
        integration.credentials_updated_at = now;
        integration.last_tested_at = Some(now);
        self.store.replace(tenant, &integration).await.map_err(|e| match e {
            StoreError::ConditionFailed => IntegrationError::NotFound(id.to_owned()),
            other => other.into(),
        })?;
        tracing::info!(tenant = %tenant, integration = %id, "integration credentials rotated");
        Ok(IntegrationView::from(&integration))
    }

    /// The stored record with its credentials, for the functions that call Datto.
    pub async fn credentials(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<(Integration, Credentials), IntegrationError> {
        let integration = self.find(tenant, id).await?;
        // A rotation here changes `credentials_updated_at`: a warm function reads the secret
        // again then, and otherwise uses the value it read lately.
        let raw = self
            .secrets
            .read_current(&integration.secret_arn, integration.credentials_updated_at)
            .await?;
        let stored: StoredCredentials = serde_json::from_str(raw.expose()).map_err(|_| {
            IntegrationError::Secrets(SecretsError::Refused("the stored secret is not rmmsync's JSON".into()))
        })?;
        let credentials = Credentials {
            api_key: Secret::new(stored.api_key),
            api_secret: Secret::new(stored.api_secret),
        };
        Ok((integration, credentials))
    }

    async fn find(&self, tenant: &TenantId, id: &str) -> Result<Integration, IntegrationError> {
        // Ids are UUIDs we made; anything else cannot exist, so do not ask DynamoDB.
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(IntegrationError::NotFound(id.to_owned()));
        }
        self.store
            .get(tenant, id)
            .await?
            .ok_or_else(|| IntegrationError::NotFound(id.to_owned()))
    }
}

fn secret_value(credentials: &Credentials) -> Secret {
    let json = serde_json::to_string(&StoredCredentials {
        api_key: credentials.api_key.expose().to_owned(),
        api_secret: credentials.api_secret.expose().to_owned(),
    })
    .expect("two strings serialise");
    Secret::new(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(platform: Option<&str>, key: Option<&str>, secret: Option<&str>) -> DattoCredentialsInput {
        DattoCredentialsInput {
            platform: platform.map(Into::into),
            api_key: key.map(Into::into),
            api_secret: secret.map(Into::into),
            name: None,
        }
    }

    #[test]
    fn validation_names_every_problem_and_never_the_values() {
        let err = input(Some("malbec"), Some(" "), None)
            .validate(None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("malbec") && err.contains("apiKey") && err.contains("apiSecret"),
            "{err}"
        );
        let err = input(None, Some("k"), Some("s3cr3t"))
            .validate(None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("platform") && !err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn rotation_keeps_the_platform_when_none_is_given() {
        let ok = input(None, Some("k"), Some("s"))
            .validate(Some(Platform::Vidal))
            .unwrap();
        assert_eq!(ok.platform, Platform::Vidal);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let parsed: Result<DattoCredentialsInput, _> =
            serde_json::from_str(r#"{"platform":"merlot","apiSecretKey":"x"}"#);
        assert!(parsed.unwrap_err().to_string().contains("apiSecretKey"));
    }
}
