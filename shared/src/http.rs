//! The one outbound HTTP client of a process, built in `main` and shared.

use std::time::Duration;

/// Timeouts sized for Lambda: a hung peer must not eat the invocation.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("rmmsync/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(50))
        .build()
        .expect("the HTTP client's static configuration is valid")
}
