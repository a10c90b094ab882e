//! The one outbound HTTP client of a process, built in `main` and shared, the [`Answer`] the
//! API clients read their responses into, and the words they use for its failures.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::time::Duration;

/// Timeouts sized for Lambda: a hung peer must not eat the invocation. A request (connect,
/// send, read the answer) ends after `HTTP_TIMEOUT_MS` (30 s if unset; the webhook function
/// sets a few seconds, so that its deadline holds a retry); the connection attempt after at
/// most 5 s. Redirects are
/// followed only on the same host (at most 5): Autotask's `Secret`/`UserName` headers,
/// ConnectWise's `clientId` and a Datto token request's form body would otherwise travel
/// to whatever host a redirect names (reqwest strips only `Authorization` and cookies).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("rmmsync/", env!("CARGO_PKG_VERSION")))
        .redirect(same_host_redirects())
        .connect_timeout(request_timeout().min(Duration::from_secs(5)))
        .timeout(request_timeout())
        .pool_idle_timeout(Duration::from_secs(50))
        .build()
        .expect("the HTTP client's static configuration is valid")
}

/// `HTTP_TIMEOUT_MS`, 30 s if unset, at least 100 ms.
fn request_timeout() -> Duration {
    std::env::var("HTTP_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(30), |ms| Duration::from_millis(ms.max(100)))
}

/// The redirect rule of [`client`]: same scheme, host and port, five hops at most; any
/// other redirect is answered as it came (a 3xx the API client reports).
fn same_host_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first();
        let same = first.is_some_and(|f| {
            f.scheme() == attempt.url().scheme()
                && f.host_str() == attempt.url().host_str()
                && f.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if !same || attempt.previous().len() > 5 {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
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

    /// Sends a request and reads its answer, at most `limit` bytes of body: a longer answer
    /// (by its `Content-Length` or as it streams in) is [`ReadError::TooLarge`], and the rest
    /// is not read.
    pub async fn read_limited(request: reqwest::RequestBuilder, limit: usize) -> Result<Answer, ReadError> {
        let mut response = request.send().await.map_err(ReadError::Transport)?;
        if response.content_length().is_some_and(|l| l > limit as u64) {
            return Err(ReadError::TooLarge { limit });
        }
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
            if body.len() + chunk.len() > limit {
                return Err(ReadError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, headers, body })
    }

    /// A header's value, when it is text.
    pub fn header(&self, name: impl reqwest::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why [`Answer::read_limited`] failed.
#[derive(Debug)]
pub enum ReadError {
    Transport(reqwest::Error),
    /// The answer's body is longer than the limit.
    TooLarge {
        limit: usize,
    },
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

#[cfg(test)]
mod redirect_tests {
    use super::client;
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::routing::get;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn serve(router: Router) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        addr
    }

    #[tokio::test]
    async fn credentials_never_follow_a_redirect_to_another_host() {
        let reached = Arc::new(AtomicUsize::new(0));
        let seen = reached.clone();
        let elsewhere = serve(Router::new().route(
            "/steal",
            get(move |headers: HeaderMap| {
                let seen = seen.clone();
                async move {
                    if headers.contains_key("secret") {
                        seen.fetch_add(1, Ordering::SeqCst);
                    }
                    "got it"
                }
            }),
        ))
        .await;
        // "localhost" is another host than "127.0.0.1", as far as a redirect goes.
        let target = format!("http://localhost:{}/steal", elsewhere.port());
        let same = "/here".to_owned();
        let origin = serve(
            Router::new()
                .route(
                    "/away",
                    get(move || async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]) }),
                )
                .route(
                    "/near",
                    get(move || async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, same)]) }),
                )
                .route("/here", get(|| async { "same host" })),
        )
        .await;
        let http = client();
        let away = http
            .get(format!("http://{origin}/away"))
            .header("Secret", "s3cr3t")
            .send()
            .await
            .unwrap();
        assert_eq!(away.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(reached.load(Ordering::SeqCst), 0, "the secret went to another host");
        let near = http.get(format!("http://{origin}/near")).send().await.unwrap();
        assert_eq!(near.text().await.unwrap(), "same host");
    }
}
