//! How the Autotask client talks to the API: the [`Transport`] of one API user, the zone
//! (discovered once per API user), the three credential headers, the per-endpoint thread
//! limit, one request through the shared retry loop ([`crate::retry::send_with_retry`]) with
//! Autotask's rules, the mapping of a non-success answer to its [`PsaError`], and the query
//! paging.

use crate::http::{Answer, describe_error as describe, host_and_port};
use crate::psa::{PsaError, PsaKind, truncate_chars};
use crate::retry::{AttemptError, Replay, RetryPolicy, RetryRules, Verdict, send_with_retry};
use crate::secret::Secret;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

pub(super) const PSA: PsaKind = PsaKind::Autotask;

/// Records per query page (Autotask's maximum).
const PAGE_SIZE: u32 = 500;

/// A poisoned lock still guards plain maps: take the data.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Zones by (discovery URL, API user), shared by the clients of a connector.
pub(super) type ZoneCache = Arc<Mutex<HashMap<String, Zone>>>;
/// Thread-limit semaphores by (limit, integration code, API user, entity endpoint), shared by
/// the clients of a connector so that two clients of one account together keep to the limit.
pub(super) type ThreadLimits = Arc<Mutex<HashMap<String, Arc<Semaphore>>>>;

/// A zone as discovery answers it.
#[derive(Debug, Clone)]
pub(super) struct Zone {
    pub(super) name: Option<String>,
    /// The REST root, ending in `/` (`…/ATServicesRest/`).
    pub(super) root: Url,
    /// zoneInformation's `ci`: with the REST root's host, what identifies the database.
    pub(super) ci: Option<i64>,
}

/// Autotask's retry rules: a 5xx with an `errors` body is a validation error and final; other
/// 5xx are faults.
struct AutotaskRetryRules {
    /// `host:port` the request went to (the zone, or the discovery host), for messages.
    host: String,
}

impl RetryRules for AutotaskRetryRules {
    type Error = PsaError;

    fn api(&self) -> &'static str {
        "Autotask"
    }

    fn judge(&self, answer: &Answer) -> Verdict<PsaError> {
        if !answer.status.is_server_error() {
            return Verdict::Accept;
        }
        match validation_errors(&answer.body) {
            Some(detail) => Verdict::Fail(PsaError::Validation { psa: PSA, detail }),
            None => Verdict::Fault,
        }
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
            host: self.host.clone(),
            reason: describe(error),
        }
    }
}

/// Everything one API user's requests go through: the HTTP client, where to discover the
/// zone, the credential headers, the retry policy, the thread limit, the paging limit and the
/// request count.
#[derive(Debug)]
pub(super) struct Transport {
    pub(super) http: reqwest::Client,
    pub(super) zone_url: Url,
    pub(super) username: String,
    pub(super) secret: Secret,
    pub(super) integration_code: String,
    pub(super) retry: RetryPolicy,
    pub(super) thread_limit: usize,
    pub(super) max_pages: u32,
    /// Domains the REST root from zone discovery may be on.
    pub(super) rest_domains: Vec<String>,
    pub(super) zones: ZoneCache,
    pub(super) threads: ThreadLimits,
    pub(super) requests: AtomicU64,
}

impl Transport {
    /// HTTP requests sent so far (zone discovery and retries included).
    pub(super) fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// One call with retries. `endpoint` = the entity endpoint for the thread limit (empty for
    /// zone discovery, which is exempt and sent without credentials). A permit is held while
    /// the request is in flight, not while backing off.
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        endpoint: &str,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<Answer, PsaError> {
        let rules = AutotaskRetryRules {
            host: host_and_port(&url),
        };
        let semaphore = (!endpoint.is_empty()).then(|| self.semaphore(endpoint));
        let (semaphore, method, url) = (&semaphore, &method, &url);
        send_with_retry(&self.retry, &rules, replay, url.path(), move || async move {
            let _permit = match semaphore {
                Some(s) => Some(
                    s.clone()
                        .acquire_owned()
                        .await
                        .map_err(|_| AttemptError::Stop(PsaError::Config("semaphore closed".into())))?,
                ),
                None => None,
            };
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header("Accept", "application/json");
            if !endpoint.is_empty() {
                req = req
                    .header("ApiIntegrationCode", &self.integration_code)
                    .header("UserName", &self.username)
                    .header("Secret", self.secret.expose());
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            Ok(Answer::read(req).await?)
        })
        .await
    }

    fn semaphore(&self, endpoint: &str) -> Arc<Semaphore> {
        let key = format!(
            "{}|{}|{}|{}",
            self.thread_limit,
            self.integration_code,
            self.username.to_lowercase(),
            endpoint.to_ascii_lowercase()
        );
        lock(&self.threads)
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(self.thread_limit)))
            .clone()
    }

    /// Maps a non-success answer to its error.
    pub(super) fn expect_ok(&self, answer: &Answer, path: &str) -> Result<(), PsaError> {
        match answer.status {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED => Err(PsaError::BadCredentials { psa: PSA }),
            StatusCode::FORBIDDEN => Err(PsaError::PermissionDenied {
                psa: PSA,
                detail: validation_errors(&answer.body)
                    .unwrap_or_else(|| "the API user may not use the REST API (API User security level)".into()),
            }),
            StatusCode::NOT_FOUND => Err(PsaError::NotFound {
                psa: PSA,
                what: path.to_owned(),
            }),
            s => Err(PsaError::Unexpected {
                psa: PSA,
                status: s.as_u16(),
                path: path.to_owned(),
                detail: snippet(&answer.body),
            }),
        }
    }

    pub(super) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        endpoint: &str,
    ) -> Result<T, PsaError> {
        let zone = self.zone().await?;
        let answer = self
            .send(Method::GET, self.url(&zone, path)?, endpoint, None, Replay::Idempotent)
            .await?;
        self.expect_ok(&answer, &format!("/{path}"))?;
        decode(&answer.body, &format!("/{path}"))
    }

    /// `POST /{entity}/query` and every next page (POSTed with the same body).
    pub(super) async fn query_all(&self, entity: &str, filter: Value) -> Result<Vec<Value>, PsaError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct QueryPage {
            #[serde(default)]
            items: Vec<Value>,
            page_details: Option<QueryPageDetails>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct QueryPageDetails {
            next_page_url: Option<String>,
        }
        let zone = self.zone().await?;
        let body = json!({"filter": filter, "maxRecords": PAGE_SIZE});
        let first = self.url(&zone, &format!("{entity}/query"))?;
        let mut url = first.clone();
        let mut seen = HashSet::from([first.to_string()]);
        let mut all = Vec::new();
        let mut pages = 0_u32;
        loop {
            let path = format!("/{entity}/query");
            let answer = self
                .send(Method::POST, url.clone(), entity, Some(&body), Replay::Idempotent)
                .await?;
            self.expect_ok(&answer, &path)?;
            let page: QueryPage = decode(&answer.body, &path)?;
            pages += 1;
            all.extend(page.items);
            let next = page
                .page_details
                .and_then(|d| d.next_page_url)
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty());
            let Some(next) = next else {
                return Ok(all);
            };
            let next_url = checked_next_url(&zone, &next)?;
            if !seen.insert(next_url.to_string()) {
                return Err(PsaError::Paging {
                    psa: PSA,
                    url: redact_query(&next_url),
                    detail: "the same page was offered twice".into(),
                });
            }
            if pages >= self.max_pages {
                return Err(PsaError::Paging {
                    psa: PSA,
                    url: redact_query(&next_url),
                    detail: format!("more than {} pages", self.max_pages),
                });
            }
            url = next_url;
        }
    }

    pub(super) fn url(&self, zone: &Zone, path: &str) -> Result<Url, PsaError> {
        zone.root
            .join(&format!("V1.0/{path}"))
            .map_err(|e| PsaError::InvalidResponse {
                psa: PSA,
                path: path.to_owned(),
                detail: format!("cannot build a URL under the zone root: {e}"),
            })
    }

    fn zone_key(&self) -> String {
        format!("{}|{}", self.zone_url, self.username.to_lowercase())
    }

    /// The cached zone, or a discovery.
    pub(super) async fn zone(&self) -> Result<Zone, PsaError> {
        if let Some(z) = lock(&self.zones).get(&self.zone_key()) {
            return Ok(z.clone());
        }
        let zone = self.discover_zone().await?;
        lock(&self.zones).insert(self.zone_key(), zone.clone());
        Ok(zone)
    }

    /// A fresh discovery, which replaces the cached zone.
    pub(super) async fn rediscover_zone(&self) -> Result<Zone, PsaError> {
        let zone = self.discover_zone().await?;
        lock(&self.zones).insert(self.zone_key(), zone.clone());
        Ok(zone)
    }

    /// `GET zoneInformation?user=` (no credentials sent).
    async fn discover_zone(&self) -> Result<Zone, PsaError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ZoneInformation {
            zone_name: Option<String>,
            url: Option<String>,
            ci: Option<i64>,
        }
        let mut url = self.zone_url.clone();
        url.query_pairs_mut().append_pair("user", &self.username);
        let answer = match self.send(Method::GET, url, "", None, Replay::Idempotent).await {
            Err(PsaError::Validation { .. }) => {
                return Err(PsaError::UnknownUser {
                    user: self.username.clone(),
                });
            }
            other => other?,
        };
        if !answer.status.is_success() {
            return Err(PsaError::Unexpected {
                psa: PSA,
                status: answer.status.as_u16(),
                path: "/zoneInformation".into(),
                detail: snippet(&answer.body),
            });
        }
        let raw: ZoneInformation = decode(&answer.body, "/zoneInformation")?;
        let invalid = |detail: String| PsaError::InvalidResponse {
            psa: PSA,
            path: "/zoneInformation".into(),
            detail,
        };
        let text = raw
            .url
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| invalid("no url".into()))?;
        let mut root = Url::parse(text.trim()).map_err(|e| invalid(format!("url is not a URL: {e}")))?;
        // The secret goes to this root: never downgrade from https.
        if !matches!(root.scheme(), "http" | "https") || (self.zone_url.scheme() == "https" && root.scheme() != "https")
        {
            return Err(invalid(format!("refusing REST root {root}")));
        }
        // The credentials go to this root: only on Autotask's domains (or those configured).
        let host = root
            .host_str()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if !host_on_domains(&host, &self.rest_domains) {
            return Err(invalid(format!(
                "refusing REST root on {host}: not on an allowed Autotask domain ({}; AUTOTASK_REST_DOMAINS)",
                self.rest_domains.join(", ")
            )));
        }
        if !root.path().ends_with('/') {
            let path = format!("{}/", root.path());
            root.set_path(&path);
        }
        root.set_query(None);
        Ok(Zone {
            name: raw.zone_name,
            root,
            ci: raw.ci,
        })
    }
}

/// Whether `host` is one of `domains` or under one of them (`webservices14.autotask.net` is
/// under `autotask.net`; `evilautotask.net` is not).
fn host_on_domains(host: &str, domains: &[String]) -> bool {
    !host.is_empty()
        && domains
            .iter()
            .any(|d| host == d || host.strip_suffix(d.as_str()).is_some_and(|rest| rest.ends_with('.')))
}

/// A `nextPageUrl` must stay on the zone's host and under its REST root: the credentials go
/// wherever it points.
fn checked_next_url(zone: &Zone, next: &str) -> Result<Url, PsaError> {
    let url = zone.root.join(next).map_err(|e| PsaError::Paging {
        psa: PSA,
        url: "(unparsable)".into(),
        detail: format!("not a URL: {e}"),
    })?;
    let root = &zone.root;
    let same = url.scheme() == root.scheme()
        && url.host_str().map(str::to_ascii_lowercase) == root.host_str().map(str::to_ascii_lowercase)
        && url.port_or_known_default() == root.port_or_known_default()
        && url
            .path()
            .to_ascii_lowercase()
            .starts_with(&root.path().to_ascii_lowercase());
    if !same {
        return Err(PsaError::Paging {
            psa: PSA,
            url: redact_query(&url),
            detail: format!("it leaves {root}; not following it"),
        });
    }
    Ok(url)
}

/// The `errors` of an Autotask error body, joined (strings, or objects with `message`).
pub(super) fn validation_errors(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let list = v.get("errors")?.as_array()?;
    let parts: Vec<String> = list
        .iter()
        .filter_map(|e| match e {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("message").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| truncate_chars(&parts.join("; "), 500))
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(body: &[u8], path: &str) -> Result<T, PsaError> {
    serde_json::from_slice(body).map_err(|e| PsaError::InvalidResponse {
        psa: PSA,
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// A URL for messages: paging tokens can be long and say nothing useful.
fn redact_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

fn snippet(body: &[u8]) -> String {
    truncate_chars(&String::from_utf8_lossy(body), 200)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn next_page_urls_must_stay_under_the_zone_root() {
        let zone = Zone {
            name: None,
            root: Url::parse("https://webservices14.autotask.net/ATServicesRest/").unwrap(),
            ci: None,
        };
        let ok = "https://webservices14.autotask.net/atservicesrest/V1.0/Companies/query/next?paging=%7B%7D";
        assert!(checked_next_url(&zone, ok).is_ok());
        for evil in [
            "https://evil.example/ATServicesRest/V1.0/Companies/query/next?paging=x",
            "http://webservices14.autotask.net/ATServicesRest/V1.0/Companies/query/next",
            "https://webservices14.autotask.net:8443/ATServicesRest/V1.0/Companies/query/next",
            "https://webservices14.autotask.net/other/V1.0/Companies/query/next",
        ] {
            let e = checked_next_url(&zone, evil).unwrap_err();
            assert!(matches!(e, PsaError::Paging { .. }), "{evil}");
            assert!(!e.to_string().contains("paging=x"));
        }
    }

    #[test]
    fn rest_roots_only_on_allowed_domains() {
        let domains = vec!["autotask.net".to_owned(), "127.0.0.1".to_owned()];
        for ok in ["webservices14.autotask.net", "autotask.net", "127.0.0.1"] {
            assert!(host_on_domains(ok, &domains), "{ok}");
        }
        for evil in [
            "evilautotask.net",
            "autotask.net.evil.example",
            "127.0.0.2",
            "",
            "x127.0.0.1",
        ] {
            assert!(!host_on_domains(evil, &domains), "{evil}");
        }
    }

    #[test]
    fn validation_bodies() {
        assert_eq!(validation_errors(br#"{"errors":["a","b"]}"#).as_deref(), Some("a; b"));
        assert_eq!(
            validation_errors(br#"{"errors":[{"message":"m","field":"f"}]}"#).as_deref(),
            Some("m")
        );
        assert_eq!(validation_errors(b"Service Unavailable"), None);
        assert_eq!(validation_errors(br#"{"errors":[]}"#), None);
    }
}
