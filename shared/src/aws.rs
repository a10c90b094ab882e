//! AWS SDK configuration, loaded once per cold start.
//!
//! The SDK itself honours `AWS_ENDPOINT_URL` (and the per-service
//! `AWS_ENDPOINT_URL_DYNAMODB`, ...), which is how the local stack points the
//! functions at moto; nothing here special-cases it.

/// Every SDK call ends after `AWS_OPERATION_TIMEOUT_MS` (5 s if unset) and each attempt of
/// it after a third of that, so that DynamoDB or Secrets Manager hanging cannot outlast a
/// function's deadline.
pub async fn load_config() -> aws_config::SdkConfig {
    let operation = std::env::var("AWS_OPERATION_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(std::time::Duration::from_secs(5), |ms| {
            std::time::Duration::from_millis(ms.max(300))
        });
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_timeout(operation)
        .operation_attempt_timeout(operation / 3)
        .connect_timeout(std::time::Duration::from_secs(1).min(operation / 3))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
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
