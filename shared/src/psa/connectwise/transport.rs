//! How the ConnectWise client talks to the API: the [`Transport`] of one account, the REST
//! root (the codebase looked up once), the headers of every call, one request through the
//! shared retry loop ([`crate::retry::send_with_retry`]), the error envelope and the typed
//! [`PsaError`] it becomes, and forward-only paging.

use super::conditions::Conditions;
use crate::http::{Answer, ReadError, describe_error as describe, host_and_port};
use crate::psa::{PsaError, PsaKind};
use crate::retry::{AttemptError, Replay, RetryPolicy, RetryRules, send_with_retry};
use crate::secret::Secret;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::OnceCell;

pub(super) const PSA: PsaKind = PsaKind::ConnectwiseManage;

/// REST roots by `{site origin}|{company id}` with when they were found, shared by the clients
/// of one connector.
pub(crate) type CodebaseCache =
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, (Url, std::time::Instant)>>>;
/// REST roots remembered at most; past it the cache starts afresh.
const MAX_CODEBASES: usize = 256;
/// A codebase changes with ConnectWise's releases: one found is used for an hour at most.
const CODEBASE_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Whether a request carries the account's `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Auth {
    /// Codebase lookup and callback key fetches: no keys sent.
    Anonymous,
    /// Every API call: the member's keys.
    Account,
}

/// How a request asks to be paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pagination {
    /// No paging header.
    Default,
    /// `pagination-type: forward-only` (the `pageId` walk of [`Transport::list_all`]).
    ForwardOnly,
}

/// The error envelope `{code, message, errors[{code, message, resource, field}]}`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Envelope {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Option<Vec<EnvelopeError>>,
}

#[derive(Debug, Default, Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    field: Option<String>,
}

impl Envelope {
    pub(super) fn parse(body: &[u8]) -> Envelope {
        serde_json::from_slice(body).unwrap_or_default()
    }

    pub(super) fn has_error_code(&self, code: &str) -> bool {
        self.errors.iter().flatten().any(|e| e.code.as_deref() == Some(code))
    }

    /// Codes, messages and field names only: values are never echoed.
    fn describe(&self) -> String {
        let mut out = match (&self.code, &self.message) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (None, Some(m)) => m.clone(),
            (Some(c), None) => c.clone(),
            (None, None) => "no details".to_owned(),
        };
        for e in self.errors.iter().flatten() {
            out.push_str(&format!(
                "; {} ({}{})",
                e.message.as_deref().unwrap_or("invalid"),
                e.code.as_deref().unwrap_or("error"),
                e.field.as_deref().map(|f| format!(", field {f}")).unwrap_or_default()
            ));
        }
        let mut cut: String = out.chars().take(400).collect();
        if cut.len() < out.len() {
            cut.push('…');
        }
        cut
    }
}

/// ConnectWise's retry rules are the loop's defaults (5xx are faults); the client only names
/// its errors.
struct ConnectWiseRetryRules<'t>(&'t Transport);

impl RetryRules for ConnectWiseRetryRules<'_> {
    type Error = PsaError;

    fn api(&self) -> &'static str {
        "ConnectWise"
    }

    fn rate_limited(&self, attempts: u32) -> PsaError {
        PsaError::RateLimited { psa: PSA, attempts }
    }

    fn server_error(&self, status: StatusCode, attempts: u32) -> PsaError {
        PsaError::Server {
            psa: PSA,
            status: status.as_u16(),
            attempts,
        }
    }

    fn unreachable(&self, error: &reqwest::Error) -> PsaError {
        PsaError::Unreachable {
            psa: PSA,
            host: self.0.host(),
            reason: describe(error),
        }
    }
}

/// Everything one account's requests go through: the HTTP client, the site and the REST root
/// under it, the headers (keys, clientId, model version), the retry policy, paging settings
/// and the request count. Shared by the clones of a client.
pub(super) struct Transport {
    pub(super) http: reqwest::Client,
    /// `https://api-na.myconnectwise.net/`
    pub(super) origin: Url,
    pub(super) company_id: String,
    pub(super) authorization: Secret,
    pub(super) client_id: String,
    pub(super) page_size: u32,
    pub(super) max_pages: u32,
    pub(super) retry: RetryPolicy,
    pub(super) accept: Option<String>,
    /// `https://site/{codebase}apis/3.0/`, looked up once.
    pub(super) api_base: OnceCell<Url>,
    /// The connector's REST roots by site and company (what `api_base` starts from).
    pub(super) codebases: CodebaseCache,
    pub(super) requests: AtomicU64,
    /// Answers longer than this are refused.
    pub(super) max_answer_bytes: usize,
}

impl Transport {
    /// HTTP requests sent so far (retries included).
    pub(super) fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `host:port` of the site, for messages.
    fn host(&self) -> String {
        host_and_port(&self.origin)
    }

    /// The REST root, discovering the codebase on first use:
    /// `GET /login/companyinfo/{companyId}` → `Codebase`.
    pub(super) async fn api_base(&self) -> Result<Url, PsaError> {
        self.api_base
            .get_or_try_init(|| async {
                let key = format!("{}|{}", self.origin, self.company_id);
                if let Some((url, found_at)) = self.codebases.lock().expect("codebase cache").get(&key)
                    && found_at.elapsed() < CODEBASE_MAX_AGE
                {
                    return Ok(url.clone());
                }
                let url = self.discover_codebase().await?;
                let mut cache = self.codebases.lock().expect("codebase cache");
                if cache.len() >= MAX_CODEBASES {
                    cache.clear();
                }
                cache.insert(key, (url.clone(), std::time::Instant::now()));
                Ok(url)
            })
            .await
            .cloned()
    }

    async fn discover_codebase(&self) -> Result<Url, PsaError> {
        let mut url = self.origin.clone();
        url.path_segments_mut()
            .map_err(|_| PsaError::Config("the site cannot be a base URL".into()))?
            .pop_if_empty()
            .extend(["login", "companyinfo", &self.company_id]);
        let unknown = || PsaError::UnknownCompany {
            company: self.company_id.clone(),
            site: self.host(),
        };
        let answer = self
            .send(Method::GET, url, None, Auth::Anonymous, Pagination::Default)
            .await?;
        match answer.status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Err(unknown()),
            s => {
                return Err(PsaError::Unreachable {
                    psa: PSA,
                    host: self.host(),
                    reason: format!("no ConnectWise login endpoint there (HTTP {})", s.as_u16()),
                });
            }
        }
        let info: Value = serde_json::from_slice(&answer.body).map_err(|_| PsaError::Unreachable {
            psa: PSA,
            host: self.host(),
            reason: "the company info answer is not JSON".into(),
        })?;
        let Some(codebase) = info.get("Codebase").and_then(Value::as_str) else {
            return Err(unknown());
        };
        let codebase = codebase.trim().trim_matches('/');
        let valid = !codebase.is_empty()
            && codebase
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !valid {
            return Err(PsaError::InvalidResponse {
                psa: PSA,
                path: "/login/companyinfo".into(),
                detail: "the codebase is not a plain path segment".into(),
            });
        }
        self.origin
            .join(&format!("{codebase}/apis/3.0/"))
            .map_err(|e| PsaError::InvalidResponse {
                psa: PSA,
                path: "/login/companyinfo".into(),
                detail: e.to_string(),
            })
    }

    /// Sends one request, retrying 429 (Retry-After, capped), 5xx and network faults.
    /// Other statuses are returned for the caller to judge. A POST creates something
    /// (a ticket, a note, a callback): it is [`Replay::Create`], never sent again after
    /// a 5xx or a timeout, which may have created it already; the caller looks it up
    /// first. GETs and JSON-Patch updates are [`Replay::Idempotent`].
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        auth: Auth,
        pagination: Pagination,
    ) -> Result<Answer, PsaError> {
        let (method, url) = (&method, &url);
        let rules = ConnectWiseRetryRules(self);
        let replay = if *method == Method::POST {
            Replay::Create
        } else {
            Replay::Idempotent
        };
        send_with_retry(&self.retry, &rules, replay, url.path(), move || async move {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header("clientId", &self.client_id);
            req = match &self.accept {
                Some(a) => req.header(reqwest::header::ACCEPT, a),
                None => req.header(reqwest::header::ACCEPT, "application/json"),
            };
            if auth == Auth::Account {
                req = req.header(reqwest::header::AUTHORIZATION, self.authorization.expose());
            }
            if pagination == Pagination::ForwardOnly {
                req = req.header("pagination-type", "forward-only");
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            // A host that answers without end must not fill the function's memory.
            Answer::read_limited(req, self.max_answer_bytes)
                .await
                .map_err(|e| match e {
                    ReadError::Transport(t) => AttemptError::Transport(t),
                    ReadError::TooLarge { limit } => AttemptError::Stop(PsaError::InvalidResponse {
                        psa: PSA,
                        path: url.path().to_owned(),
                        detail: format!("the answer is larger than {limit} bytes (CONNECTWISE_MAX_ANSWER_BYTES)"),
                    }),
                })
        })
        .await
    }

    /// The typed error for a non-success answer.
    pub(super) fn error_for(&self, path: &str, answer: &Answer) -> PsaError {
        let env = Envelope::parse(&answer.body);
        match answer.status.as_u16() {
            400 | 409 | 422 => PsaError::Validation {
                psa: PSA,
                detail: env.describe(),
            },
            401 => PsaError::BadCredentials { psa: PSA },
            403 => PsaError::PermissionDenied {
                psa: PSA,
                detail: env.describe(),
            },
            404 => PsaError::NotFound {
                psa: PSA,
                what: path.to_owned(),
            },
            s => PsaError::Unexpected {
                psa: PSA,
                status: s,
                path: path.to_owned(),
                detail: env.describe(),
            },
        }
    }

    pub(super) async fn url(&self, path: &str) -> Result<Url, PsaError> {
        let base = self.api_base().await?;
        base.join(path.trim_start_matches('/'))
            .map_err(|e| PsaError::Config(format!("bad API path {path}: {e}")))
    }

    /// An authenticated call whose answer must be a success; returns the body as JSON
    /// (`Null` for an empty body).
    pub(super) async fn call(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Value, PsaError> {
        let path = url.path().to_owned();
        let answer = self.send(method, url, body, Auth::Account, Pagination::Default).await?;
        if !answer.status.is_success() {
            return Err(self.error_for(&path, &answer));
        }
        decode(&path, &answer.body)
    }

    pub(super) async fn get_value(&self, path: &str) -> Result<Value, PsaError> {
        let url = self.url(path).await?;
        self.call(Method::GET, url, None).await
    }

    /// Every record of a collection, walked with forward-only paging (ordered by id, the
    /// conditions sent again on every page). Guards: the `pageId` must grow, at most
    /// `max_pages` pages.
    pub(super) async fn list_all(&self, path: &str, conditions: &Conditions) -> Result<Vec<Value>, PsaError> {
        let first = self.url(path).await?;
        let cond = conditions.build();
        let page_size = self.page_size.to_string();
        let mut all = Vec::new();
        let mut page_id: Option<i64> = None;
        let mut pages = 0_u32;
        loop {
            let mut url = first.clone();
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("pageSize", &page_size);
                if !cond.is_empty() {
                    q.append_pair("conditions", &cond);
                }
                if let Some(id) = page_id {
                    q.append_pair("pageId", &id.to_string());
                }
            }
            let shown = url.path().to_owned();
            let answer = self
                .send(Method::GET, url, None, Auth::Account, Pagination::ForwardOnly)
                .await?;
            if !answer.status.is_success() {
                return Err(self.error_for(&shown, &answer));
            }
            pages += 1;
            let items = match decode(&shown, &answer.body)? {
                Value::Array(items) => items,
                _ => {
                    return Err(PsaError::InvalidResponse {
                        psa: PSA,
                        path: shown,
                        detail: "a list answer is not a JSON array".into(),
                    });
                }
            };
            if items.is_empty() {
                return Ok(all);
            }
            let next = answer.header(reqwest::header::LINK).and_then(next_page_id);
            all.extend(items);
            let Some(next) = next else { return Ok(all) };
            if page_id.is_some_and(|p| next <= p) {
                return Err(PsaError::Paging {
                    psa: PSA,
                    url: shown,
                    detail: format!("the next pageId ({next}) does not move forward"),
                });
            }
            if pages >= self.max_pages {
                return Err(PsaError::Paging {
                    psa: PSA,
                    url: shown,
                    detail: format!("more than {} pages", self.max_pages),
                });
            }
            page_id = Some(next);
        }
    }
}

/// A body as JSON; an empty body is `Null`.
pub(super) fn decode(path: &str, body: &[u8]) -> Result<Value, PsaError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| PsaError::InvalidResponse {
        psa: PSA,
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// The `pageId` of the `rel="next"` link (forward-only paging).
fn next_page_id(link: &str) -> Option<i64> {
    link.split(',')
        .find(|part| part.contains("rel=\"next\"") || part.contains("rel=next"))
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part.find('>')?;
            let url = Url::parse(part.get(start..end)?).ok()?;
            url.query_pairs()
                .find(|(k, _)| k.eq_ignore_ascii_case("pageId"))
                .and_then(|(_, v)| v.parse().ok())
        })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn next_page_ids_from_link_headers() {
        assert_eq!(
            next_page_id("<https://x/apis/3.0/company/companies?pageSize=5&pageId=42>; rel=\"next\""),
            Some(42)
        );
        assert_eq!(next_page_id("<https://x/a?page=2>; rel=\"last\""), None);
    }

    #[test]
    fn envelope_describes_without_values() {
        let e = Envelope::parse(
            br#"{"code":"InvalidObject","message":"ticket object is invalid","errors":[{"code":"MissingRequiredField","message":"The summary field is required.","resource":"ticket","field":"summary"}]}"#,
        );
        assert_eq!(
            e.describe(),
            "InvalidObject: ticket object is invalid; The summary field is required. (MissingRequiredField, field summary)"
        );
        assert!(e.has_error_code("MissingRequiredField"));
    }
}
