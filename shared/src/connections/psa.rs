//! Connecting PSA accounts (Autotask, ConnectWise Manage): test, create,
//! list, show, delete, rotate, and the import settings they carry.
//!
//! The same rules as Datto RMM integrations ([`crate::integrations`]):
//! credentials are tested before they are stored, they go to Secrets Manager
//! only (DynamoDB keeps the ARN), nothing returned or logged carries a key,
//! and every operation is scoped by the caller's [`TenantId`]. A PSA
//! integration shares the `/integrations` id space with Datto RMM ones; its
//! item has `kind` `autotask` or `connectwise-manage`.

use crate::connections::IntegrationSettings;
use crate::psa::{PsaConnect, PsaConnectionInfo, PsaConnector, PsaCredentials, PsaError, PsaKind, PsaSource};
use crate::runs::history::RunOverview;
use crate::secret::Secret;
use crate::secrets::{SecretsError, SecretsManager, store_or_delete_secret};
use crate::store::{DynamoStore, StoreError};
use crate::tenant::TenantId;
use crate::time::{format_rfc3339, now_millis};
use serde::{Deserialize, Serialize};

/// Which records that appear after the first import the nightly run creates
/// in the portal (records matched to existing portal records are always linked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoCreate {
    #[serde(default)]
    pub companies: bool,
    #[serde(default)]
    pub users: bool,
    #[serde(default)]
    pub configurations: bool,
}

/// Which kinds of record the PSA import brings in at all (all by default).
/// A kind that is off is neither listed nor written; auto-create is offered
/// only for kinds that are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportKinds {
    #[serde(default = "on")]
    pub companies: bool,
    #[serde(default = "on")]
    pub contacts: bool,
    #[serde(default = "on")]
    pub locations: bool,
    #[serde(default = "on")]
    pub configurations: bool,
    #[serde(default = "on")]
    pub users: bool,
}

fn on() -> bool {
    true
}

impl Default for ImportKinds {
    fn default() -> Self {
        Self {
            companies: true,
            contacts: true,
            locations: true,
            configurations: true,
            users: true,
        }
    }
}

impl ImportKinds {
    pub fn is_on(&self, kind: crate::psa::RecordKind) -> bool {
        use crate::psa::RecordKind::*;
        match kind {
            Company => self.companies,
            Contact => self.contacts,
            Location => self.locations,
            Configuration => self.configurations,
            User => self.users,
        }
    }
}

/// A stored PSA integration. `secret_arn` never leaves the service.
#[derive(Debug, Clone, PartialEq)]
pub struct PsaIntegration {
    pub id: String,
    pub kind: PsaKind,
    pub name: String,
    pub secret_arn: String,
    /// Autotask zone or ConnectWise company id, as the connection test saw it.
    pub account: Option<String>,
    pub api_url: Option<String>,
    /// What identifies the PSA database (Autotask: zone host and `ci`), when known.
    pub database: Option<String>,
    pub auto_create: AutoCreate,
    pub import_kinds: ImportKinds,
    pub created_at: i64,
    pub updated_at: i64,
    pub credentials_updated_at: i64,
    pub last_tested_at: Option<i64>,
    /// Off: the nightly import skips it, webhooks do nothing, imports are refused.
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PsaIntegrationView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: PsaKind,
    pub name: String,
    pub account: Option<String>,
    pub api_url: Option<String>,
    pub auto_create: AutoCreate,
    pub created_at: String,
    pub updated_at: String,
    pub credentials_updated_at: String,
    pub last_tested_at: Option<String>,
    /// `false` while switched off (`POST /integrations/{id}/disable`).
    pub enabled: bool,
    /// The PSA import in progress and the last finished one.
    pub psa_import: RunOverview,
}

impl From<&PsaIntegration> for PsaIntegrationView {
    fn from(i: &PsaIntegration) -> Self {
        Self {
            id: i.id.clone(),
            kind: i.kind,
            name: i.name.clone(),
            account: i.account.clone(),
            api_url: i.api_url.clone(),
            auto_create: i.auto_create,
            created_at: format_rfc3339(i.created_at),
            updated_at: format_rfc3339(i.updated_at),
            credentials_updated_at: format_rfc3339(i.credentials_updated_at),
            last_tested_at: i.last_tested_at.map(format_rfc3339),
            enabled: i.enabled,
            psa_import: RunOverview::default(),
        }
    }
}

/// The body of PSA test, create and rotate requests: the fields of both PSAs;
/// [`PsaCredentialsInput::validate`] checks the ones the chosen PSA needs and
/// refuses the other PSA's, so a mix-up is named rather than ignored.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PsaCredentialsInput {
    /// `autotask` or `connectwise-manage` (taken from the route for tests).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    // Autotask
    pub username: Option<String>,
    pub secret: Option<String>,
    pub integration_code: Option<String>,
    // ConnectWise Manage
    pub site: Option<String>,
    pub company_id: Option<String>,
    pub public_key: Option<String>,
    pub private_key: Option<String>,
    /// Create only: the import toggles.
    pub auto_create: Option<AutoCreate>,
}

#[derive(Debug)]
pub struct ValidPsaInput {
    pub credentials: PsaCredentials,
    pub name: Option<String>,
    pub auto_create: Option<AutoCreate>,
}

impl PsaCredentialsInput {
    /// `kind` is the PSA the route or the stored integration names; a body
    /// `type` must agree with it.
    pub fn validate(self, kind: Option<PsaKind>) -> Result<ValidPsaInput, PsaIntegrationError> {
        let mut problems = Vec::new();
        let kind = match (self.kind.as_deref().map(str::parse::<PsaKind>), kind) {
            (Some(Ok(body)), Some(route)) if body != route => {
                problems.push(format!(
                    "`type` is {}, but this is a {} integration",
                    body.as_str(),
                    route.as_str()
                ));
                Some(route)
            }
            (Some(Ok(k)), _) | (None, Some(k)) => Some(k),
            (Some(Err(e)), _) => {
                problems.push(e);
                None
            }
            (None, None) => {
                problems.push("`type` is required (autotask or connectwise-manage)".into());
                None
            }
        };
        let mut text = |field: &str, value: Option<String>, max: usize| match value.map(|v| v.trim().to_owned()) {
            Some(v) if !v.is_empty() && v.chars().count() <= max => Some(v),
            Some(v) if !v.is_empty() => {
                problems.push(format!("`{field}` is longer than {max} characters"));
                None
            }
            _ => {
                problems.push(format!("`{field}` is required"));
                None
            }
        };
        let credentials = match kind {
            Some(PsaKind::Autotask) => {
                let username = text("username", self.username, 256);
                let secret = text("secret", self.secret, 512);
                let integration_code = match self.integration_code {
                    Some(code) => text("integrationCode", Some(code), 256),
                    None => None,
                };
                for (field, given) in [
                    ("site", self.site.is_some()),
                    ("companyId", self.company_id.is_some()),
                    ("publicKey", self.public_key.is_some()),
                    ("privateKey", self.private_key.is_some()),
                ] {
                    if given {
                        problems.push(format!("`{field}` is a ConnectWise Manage field, not an Autotask one"));
                    }
                }
                match (username, secret) {
                    (Some(username), Some(secret)) => Some(PsaCredentials::Autotask {
                        username,
                        secret: Secret::new(secret),
                        integration_code,
                    }),
                    _ => None,
                }
            }
            Some(PsaKind::ConnectwiseManage) => {
                let site = text("site", self.site, 256);
                let company_id = text("companyId", self.company_id, 100);
                let public_key = text("publicKey", self.public_key, 256);
                let private_key = text("privateKey", self.private_key, 256);
                for (field, given) in [
                    ("username", self.username.is_some()),
                    ("secret", self.secret.is_some()),
                    ("integrationCode", self.integration_code.is_some()),
                ] {
                    if given {
                        problems.push(format!("`{field}` is an Autotask field, not a ConnectWise Manage one"));
                    }
                }
                match (site, company_id, public_key, private_key) {
                    (Some(site), Some(company_id), Some(public_key), Some(private_key)) => {
                        Some(PsaCredentials::ConnectWise {
                            site,
                            company_id,
                            public_key: Secret::new(public_key),
                            private_key: Secret::new(private_key),
                        })
                    }
                    _ => None,
                }
            }
            None => None,
        };
        let name = self.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            problems.push("`name` is longer than 200 characters".into());
        }
        match credentials {
            Some(credentials) if problems.is_empty() => Ok(ValidPsaInput {
                credentials,
                name,
                auto_create: self.auto_create,
            }),
            _ => Err(PsaIntegrationError::Invalid(problems.join("; "))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PsaIntegrationError {
    #[error("{0}")]
    Invalid(String),
    #[error("no PSA integration {0} for this tenant")]
    NotFound(String),
    #[error(transparent)]
    Psa(#[from] PsaError),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("secret storage failed: {0}")]
    Secrets(#[from] SecretsError),
}

/// The secret's JSON. Field names are rmmsync's, stable across releases.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum StoredPsaCredentials {
    #[serde(rename_all = "camelCase")]
    Autotask {
        username: String,
        secret: String,
        integration_code: Option<String>,
    },
    #[serde(rename = "connectwise-manage", rename_all = "camelCase")]
    ConnectWise {
        site: String,
        company_id: String,
        public_key: String,
        private_key: String,
    },
}

fn secret_value(credentials: &PsaCredentials) -> Secret {
    let stored = match credentials {
        PsaCredentials::Autotask {
            username,
            secret,
            integration_code,
        } => StoredPsaCredentials::Autotask {
            username: username.clone(),
            secret: secret.expose().to_owned(),
            integration_code: integration_code.clone(),
        },
        PsaCredentials::ConnectWise {
            site,
            company_id,
            public_key,
            private_key,
        } => StoredPsaCredentials::ConnectWise {
            site: site.clone(),
            company_id: company_id.clone(),
            public_key: public_key.expose().to_owned(),
            private_key: private_key.expose().to_owned(),
        },
    };
    Secret::new(serde_json::to_string(&stored).expect("strings serialise"))
}

fn parse_secret(raw: &Secret) -> Result<PsaCredentials, PsaIntegrationError> {
    let stored: StoredPsaCredentials = serde_json::from_str(raw.expose()).map_err(|_| {
        PsaIntegrationError::Secrets(SecretsError::Refused(
            "the stored secret is not rmmsync's PSA JSON".into(),
        ))
    })?;
    Ok(match stored {
        StoredPsaCredentials::Autotask {
            username,
            secret,
            integration_code,
        } => PsaCredentials::Autotask {
            username,
            secret: Secret::new(secret),
            integration_code,
        },
        StoredPsaCredentials::ConnectWise {
            site,
            company_id,
            public_key,
            private_key,
        } => PsaCredentials::ConnectWise {
            site,
            company_id,
            public_key: Secret::new(public_key),
            private_key: Secret::new(private_key),
        },
    })
}

/// The service: borrowed ports, so that handlers build nothing per request.
pub struct PsaIntegrations<'a> {
    pub store: &'a DynamoStore,
    pub secrets: &'a SecretsManager,
    pub psa: &'a PsaConnector,
    /// Secrets are named `{prefix}/{tenant}/{kind}/{id}`.
    pub settings: &'a IntegrationSettings,
}

impl PsaIntegrations<'_> {
    async fn probe(&self, credentials: &PsaCredentials) -> Result<PsaConnectionInfo, PsaIntegrationError> {
        Ok(self.psa.connect(credentials).await?.test_connection().await?)
    }

    /// Test Connection without storing anything.
    pub async fn test(
        &self,
        kind: PsaKind,
        input: PsaCredentialsInput,
    ) -> Result<PsaConnectionInfo, PsaIntegrationError> {
        let input = input.validate(Some(kind))?;
        self.probe(&input.credentials).await
    }

    /// Tests the credentials, stores them in Secrets Manager, then the item.
    pub async fn create(
        &self,
        tenant: &TenantId,
        input: PsaCredentialsInput,
    ) -> Result<PsaIntegrationView, PsaIntegrationError> {
        let input = input.validate(None)?;
        let kind = input.credentials.kind();
        let info = self.probe(&input.credentials).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let secret_name = format!("{}/{tenant}/{}/{id}", self.settings.secret_prefix, kind.as_str());
        let arn = self
            .secrets
            .create(&secret_name, &secret_value(&input.credentials), tenant.as_str())
            .await?;
        let now = now_millis();
        let integration = PsaIntegration {
            name: input
                .name
                .or_else(|| info.account.clone().map(|a| format!("{kind} {a}")))
                .unwrap_or_else(|| kind.display_name().into()),
            id,
            kind,
            secret_arn: arn,
            account: info.account,
            api_url: Some(info.api_url),
            database: info.database,
            auto_create: input.auto_create.unwrap_or_default(),
            import_kinds: ImportKinds::default(),
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
            self.store.insert_psa(tenant, &integration),
        )
        .await?;
        tracing::info!(tenant = %tenant, integration = %integration.id, psa = kind.as_str(), "PSA integration created");
        Ok(PsaIntegrationView::from(&integration))
    }

    pub async fn list(&self, tenant: &TenantId) -> Result<Vec<PsaIntegrationView>, PsaIntegrationError> {
        Ok(self
            .store
            .list_psa(tenant)
            .await?
            .iter()
            .map(PsaIntegrationView::from)
            .collect())
    }

    pub async fn get(&self, tenant: &TenantId, id: &str) -> Result<PsaIntegration, PsaIntegrationError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(PsaIntegrationError::NotFound(id.to_owned()));
        }
        self.store
            .get_psa(tenant, id)
            .await?
            .ok_or_else(|| PsaIntegrationError::NotFound(id.to_owned()))
    }

    /// Schedules the secret for deletion, then removes the integration and
    /// its import state. Portal records it imported stay (with their PSA ids).
    /// Flows above let go first (`cascades`: the ticket flow deregisters the PSA's webhooks,
    /// which needs the credentials, and turns ticketing off where it pointed here), then the
    /// secret is scheduled for deletion and the items go; each step may be repeated.
    pub async fn delete(
        &self,
        tenant: &TenantId,
        id: &str,
        cascades: &[std::sync::Arc<dyn crate::store::Cascade>],
    ) -> Result<(), PsaIntegrationError> {
        let integration = self.get(tenant, id).await?;
        crate::store::run_cascades(cascades, tenant, id).await?;
        self.secrets
            .schedule_deletion(&integration.secret_arn, self.settings.secret_recovery_days)
            .await?;
        self.store.delete_psa(tenant, id).await?;
        tracing::info!(tenant = %tenant, integration = %id, "PSA integration deleted; secret scheduled for deletion");
        Ok(())
    }

    /// Replaces the credentials after testing them.
    pub async fn rotate_credentials(
        &self,
        tenant: &TenantId,
        id: &str,
        input: PsaCredentialsInput,
    ) -> Result<PsaIntegrationView, PsaIntegrationError> {
        let mut integration = self.get(tenant, id).await?;
        let input = input.validate(Some(integration.kind))?;
        let info = self.probe(&input.credentials).await?;
        self.secrets
            .replace(&integration.secret_arn, &secret_value(&input.credentials))
            .await?;
        let now = now_millis();
        if let Some(name) = input.name {
            integration.name = name;
        }
        if let Some(auto_create) = input.auto_create {
            integration.auto_create = auto_create;
        }
        integration.account = info.account;
        integration.api_url = Some(info.api_url);
        integration.database = info.database;
        integration.updated_at = now;
        integration.credentials_updated_at = now;
        integration.last_tested_at = Some(now);
        self.replace(tenant, &integration).await?;
        tracing::info!(tenant = %tenant, integration = %id, "PSA integration credentials rotated");
        Ok(PsaIntegrationView::from(&integration))
    }

    /// Sets the import's auto-create toggles and kind switches (what is
    /// absent stays); returns the integration as stored.
    pub async fn set_import_settings(
        &self,
        tenant: &TenantId,
        id: &str,
        auto_create: Option<AutoCreate>,
        kinds: Option<ImportKinds>,
    ) -> Result<PsaIntegration, PsaIntegrationError> {
        let mut integration = self.get(tenant, id).await?;
        if let Some(a) = auto_create {
            integration.auto_create = a;
        }
        if let Some(k) = kinds {
            integration.import_kinds = k;
        }
        integration.updated_at = now_millis();
        self.replace(tenant, &integration).await?;
        Ok(integration)
    }

    async fn replace(&self, tenant: &TenantId, integration: &PsaIntegration) -> Result<(), PsaIntegrationError> {
        self.store.replace_psa(tenant, integration).await.map_err(|e| match e {
            StoreError::ConditionFailed => PsaIntegrationError::NotFound(integration.id.clone()),
            other => other.into(),
        })
    }

    /// The stored record with a client for it, for the import and the ticket flow.
    pub async fn connect(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<(PsaIntegration, crate::psa::PsaClient), PsaIntegrationError> {
        let integration = self.get(tenant, id).await?;
        let client = self.connect_to(&integration).await?;
        Ok((integration, client))
    }

    /// A client for an integration already read (by a caller that needed its item anyway).
    pub async fn connect_to(&self, integration: &PsaIntegration) -> Result<crate::psa::PsaClient, PsaIntegrationError> {
        Ok(self.psa.connect(&self.secret_of(integration).await?).await?)
    }

    pub async fn credentials(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<(PsaIntegration, PsaCredentials), PsaIntegrationError> {
        let integration = self.get(tenant, id).await?;
        let credentials = self.secret_of(&integration).await?;
        Ok((integration, credentials))
    }

    /// The integration's credentials. As for Datto RMM: the secret is read again once
    /// `credentials_updated_at` changed, and otherwise a value read lately is used.
    async fn secret_of(&self, integration: &PsaIntegration) -> Result<PsaCredentials, PsaIntegrationError> {
        let raw = self
            .secrets
            .read_current(&integration.secret_arn, integration.credentials_updated_at)
            .await?;
        parse_secret(&raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> PsaCredentialsInput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn autotask_input_names_every_problem_and_never_the_values() {
        let err = parse(r#"{"type":"autotask","secret":"s3cr3t-value","publicKey":"pk"}"#)
            .validate(None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`username` is required"), "{err}");
        assert!(err.contains("publicKey"), "{err}");
        assert!(!err.contains("s3cr3t-value"), "{err}");
    }

    #[test]
    fn connectwise_input_needs_all_four_fields() {
        let err = parse(r#"{"site":"api-na.myconnectwise.net","companyId":"acme"}"#)
            .validate(Some(PsaKind::ConnectwiseManage))
            .unwrap_err()
            .to_string();
        assert!(err.contains("publicKey") && err.contains("privateKey"), "{err}");
        let ok = parse(r#"{"site":"h","companyId":"c","publicKey":"p","privateKey":"q"}"#)
            .validate(Some(PsaKind::ConnectwiseManage))
            .unwrap();
        assert_eq!(ok.credentials.kind(), PsaKind::ConnectwiseManage);
    }

    #[test]
    fn a_body_type_must_agree_with_the_route() {
        let err = parse(r#"{"type":"autotask","username":"u","secret":"s"}"#)
            .validate(Some(PsaKind::ConnectwiseManage))
            .unwrap_err()
            .to_string();
        assert!(err.contains("this is a connectwise-manage integration"), "{err}");
        let err = parse(r#"{"type":"halo","username":"u"}"#)
            .validate(None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown PSA `halo`"), "{err}");
    }

    #[test]
    fn stored_credentials_round_trip() {
        let c = PsaCredentials::Autotask {
            username: "api@x".into(),
            secret: Secret::new("s"),
            integration_code: None,
        };
        let back = parse_secret(&secret_value(&c)).unwrap();
        assert!(
            matches!(back, PsaCredentials::Autotask { ref username, ref secret, .. } if username == "api@x" && secret.expose() == "s")
        );
    }
}
