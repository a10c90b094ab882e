//! The one outbound HTTP client of a process, built in `main` and shared, the [`Answer`] the
//! API clients read their responses into, and the words they use for its failures.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
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

/// An HTTP answer read whole: status, headers and body, for the retry loop and the clients
/// to judge.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// Sends a request and reads its answer whole.
    pub async fn read(request: reqwest::RequestBuilder) -> Result<Answer, reqwest::Error> {
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?.to_vec();
        Ok(Answer { status, headers, body })
    }

    /// A header's value, when it is text.
    pub fn header(&self, name: impl reqwest::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
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
