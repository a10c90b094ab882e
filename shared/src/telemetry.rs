//! Structured JSON logs for CloudWatch. Nothing logged anywhere in rmmsync
//! carries a credential: secrets are [`crate::secret::Secret`]s, request
//! bodies are never logged, and UDFs are never deserialised.

/// Sets up JSON logs, filtered by `RUST_LOG` (default `info`). Call once, in `main`.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time() // CloudWatch stamps each line itself
        .try_init();
}
