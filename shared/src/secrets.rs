//! Credentials live in Secrets Manager and nowhere else; DynamoDB keeps only
//! the secret's ARN. [`SecretStore`] is the port, [`SecretsManager`] the adapter.

use crate::secret::Secret;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("the secret does not exist (or is scheduled for deletion)")]
    NotFound,
    #[error("Secrets Manager is unavailable: {0}")]
    Unavailable(String),
    #[error("Secrets Manager refused the request: {0}")]
    Refused(String),
}

/// The second half of creating an integration: runs `store` (writing the item that points at
/// the secret just created) and, if that fails, deletes the secret at once so that none is left
/// orphaned (the caller may retry). The store's error is returned either way.
pub(crate) async fn store_or_delete_secret<E>(
    secrets: &SecretsManager,
    secret_arn: &str,
    integration_id: &str,
    store: impl Future<Output = Result<(), E>>,
) -> Result<(), E> {
    let stored = store.await;
    if stored.is_err()
        && let Err(undo) = secrets.delete_now(secret_arn).await
    {
        tracing::error!(integration = %integration_id, error = %undo, "could not remove the secret of a failed create");
    }
    stored
}

#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    /// Values read by [`SecretsManager::read_current`], shared by the clones (one per process).
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

/// A value read lately, with the version marker it was read under.
#[derive(Debug)]
struct Cached {
    marker: i64,
    value: Secret,
    read_at: Instant,
}

/// How long a cached value is used at most, whatever its marker (a secret changed outside
/// rmmsync, e.g. in the console, is seen after this).
pub const SECRET_CACHE_MAX_AGE: Duration = Duration::from_secs(300);
/// Values cached at most; past it the cache starts afresh.
const SECRET_CACHE_MAX: usize = 512;

impl SecretsManager {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self {
            client,
            cache: Arc::default(),
        }
    }

    /// [`Self::read`], but a value read lately under the same `marker` is used again without a
    /// request. The marker is what changes whenever rmmsync replaces the secret (the
    /// integration's `credentialsUpdatedAt`), so a rotation is seen at once; a value is used
    /// at most [`SECRET_CACHE_MAX_AGE`]. For the hot paths of a warm function (each webhook
    /// delivery reads the credentials of two integrations).
    pub async fn read_current(&self, arn: &str, marker: i64) -> Result<Secret, SecretsError> {
        if let Some(c) = self.cache.lock().expect("secret cache").get(arn)
            && c.marker == marker
            && c.read_at.elapsed() < SECRET_CACHE_MAX_AGE
        {
            return Ok(c.value.clone());
        }
        let value = self.read(arn).await?;
        let mut cache = self.cache.lock().expect("secret cache");
        if cache.len() >= SECRET_CACHE_MAX {
            cache.clear();
        }
        cache.insert(
            arn.to_owned(),
            Cached {
                marker,
                value: value.clone(),
                read_at: Instant::now(),
            },
        );
        Ok(value)
    }

    /// Forgets a cached value (its secret was replaced or deleted here).
    fn forget(&self, arn: &str) {
        self.cache.lock().expect("secret cache").remove(arn);
    }
}

fn classify<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(e: SdkError<E, R>) -> SecretsError {
    match e.code() {
        Some("ResourceNotFoundException") => SecretsError::NotFound,
        Some(
            code @ ("InvalidRequestException"
            | "InvalidParameterException"
            | "AccessDeniedException"
            | "LimitExceededException"),
        ) => SecretsError::Refused(format!("{code}: {}", e.message().unwrap_or_default())),
        // Secrets Manager's messages do not echo secret values, so they are safe to carry.
        _ => SecretsError::Unavailable(match e.code() {
            Some(code) => format!("{code}: {}", e.message().unwrap_or_default()),
            None => format!("{e}"),
        }),
    }
}

impl SecretsManager {
    /// Creates a secret and returns its ARN.
    pub async fn create(&self, name: &str, value: &Secret, tenant: &str) -> Result<String, SecretsError> {
        let tag = aws_sdk_secretsmanager::types::Tag::builder()
            .key("rmmsync:tenant")
            .value(tenant)
            .build();
        let out = self
            .client
            .create_secret()
            .name(name)
            .secret_string(value.expose())
            .tags(tag)
            .send()
            .await
            .map_err(classify)?;
        out.arn
            .ok_or_else(|| SecretsError::Unavailable("CreateSecret returned no ARN".into()))
    }

    pub async fn read(&self, arn: &str) -> Result<Secret, SecretsError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| match classify(e) {
                // GetSecretValue on a secret pending deletion is an InvalidRequest.
                SecretsError::Refused(_) => SecretsError::NotFound,
                other => other,
            })?;
        out.secret_string.map(Secret::new).ok_or(SecretsError::NotFound)
    }

    pub async fn replace(&self, arn: &str, value: &Secret) -> Result<(), SecretsError> {
        self.forget(arn);
        self.client
            .put_secret_value()
            .secret_id(arn)
            .secret_string(value.expose())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Schedules deletion after a recovery window; a secret already scheduled counts as done.
    pub async fn schedule_deletion(&self, arn: &str, recovery_days: i64) -> Result<(), SecretsError> {
        let days = recovery_days.clamp(7, 30);
        self.forget(arn);
        match self
            .client
            .delete_secret()
            .secret_id(arn)
            .recovery_window_in_days(days)
            .send()
            .await
            .map_err(classify)
        {
            Ok(_) | Err(SecretsError::NotFound) => Ok(()),
            // Already scheduled by an earlier, interrupted delete.
            Err(SecretsError::Refused(m)) if m.contains("InvalidRequestException") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes at once: only to undo a create whose other half failed.
    pub async fn delete_now(&self, arn: &str) -> Result<(), SecretsError> {
        self.forget(arn);
        match self
            .client
            .delete_secret()
            .secret_id(arn)
            .force_delete_without_recovery(true)
            .send()
            .await
            .map_err(classify)
        {
            Ok(_) | Err(SecretsError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
