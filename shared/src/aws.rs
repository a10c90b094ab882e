//! AWS SDK configuration, loaded once per cold start.
//!
//! The SDK itself honours `AWS_ENDPOINT_URL` (and the per-service
//! `AWS_ENDPOINT_URL_DYNAMODB`, ...), which is how the local stack points the
//! functions at moto; nothing here special-cases it.

pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The setting named `name`, or an error that says which one is missing.
pub fn required_env(name: &str) -> Result<String, MissingSetting> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| MissingSetting(name.to_owned()))
}

#[derive(Debug, thiserror::Error)]
#[error("the environment variable {0} must be set")]
pub struct MissingSetting(pub String);
