//! The one outbound HTTP client of a process, built in `main` and shared, and the words the
//! API clients use for its failures.

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

/// Why a request failed, for error messages: the kind, then the innermost cause. The URL is
/// left out: the caller names the host, and query strings can carry paging tokens.
pub(crate) fn describe_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed (DNS, refused or TLS)"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// `host` or `host:port` of a URL, for messages.
pub(crate) fn host_and_port(url: &reqwest::Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("?")),
        None => url.host_str().unwrap_or("?").to_owned(),
    }
}
