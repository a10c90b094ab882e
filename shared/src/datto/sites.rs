//! Creating a Datto RMM site (`PUT /v2/site`) without ever creating it twice.
//!
//! A create is not idempotent: Datto accepts two sites with one name. So the request is sent
//! as a [`Replay::Create`] (never replayed by the retry loop once it may have reached Datto),
//! and [`DattoClient::create_site_once`] settles every doubt by looking the site up by name:
//! before the first attempt (an earlier call may have created it and lost the answer) and
//! after every timeout or 5xx, before it tries again.

use super::error::decode;
use super::models::Site;
use super::{DattoClient, DattoError};
use crate::retry::Replay;
use reqwest::Method;
use std::time::{Duration, Instant};

/// Attempts at `PUT /v2/site` in all, each after a look-up that found nothing.
pub const SITE_CREATE_ATTEMPTS: u32 = 3;
/// No attempt starts after this long: the call answers an HTTP request (29 s), and a caller who
/// tries again later is safe (the look-up comes first).
pub const SITE_CREATE_BUDGET: Duration = Duration::from_secs(15);

/// What [`DattoClient::create_site_once`] did.
#[derive(Debug, Clone)]
pub struct SiteCreated {
    pub site: Site,
    /// `false`: a site of that name was already there (created by an earlier attempt whose
    /// answer was lost, or by a person), and it is the one returned.
    pub created: bool,
    /// `PUT /v2/site` requests sent.
    pub attempts: u32,
}

/// Two site names Datto would show as the same: trimmed, runs of whitespace as one, any case.
fn same_name(a: &str, b: &str) -> bool {
    let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    fold(a) == fold(b)
}

/// Whether a failed create may have reached Datto and done its work anyway: a fault answer
/// (5xx) or a request that got no answer (timeout, reset).
fn in_doubt(e: &DattoError) -> bool {
    matches!(e, DattoError::Server { .. } | DattoError::Unreachable { .. })
}

impl DattoClient {
    /// `PUT /v2/site` once (a [`Replay::Create`]): the new site, as Datto answers it.
    pub async fn create_site(&self, name: &str, description: Option<&str>) -> Result<Site, DattoError> {
        let mut body = serde_json::json!({ "name": name });
        if let Some(d) = description {
            body["description"] = d.into();
        }
        let url = self.transport.url("api/v2/site")?;
        let bytes = self
            .transport
            .call_as(Method::PUT, url, Some(&body), Replay::Create)
            .await?;
        decode("/api/v2/site", &bytes)
    }

    /// The account's sites whose name is `name` (see `same_name`), through
    /// `GET /v2/account/sites?siteName=` (a substring filter on Datto's side), every page walked.
    pub async fn sites_named(&self, name: &str) -> Result<Vec<Site>, DattoError> {
        let mut pager = self.pages::<Site>("api/v2/account/sites", &[("siteName", name)])?;
        let mut found = Vec::new();
        while let Some(page) = pager.next_page().await? {
            found.extend(
                page.items
                    .into_iter()
                    .filter(|s| s.uid.is_some() && s.name.as_deref().is_some_and(|n| same_name(n, name))),
            );
        }
        Ok(found)
    }

    /// The site named `name`, created if the account has none: looks it up first, creates it,
    /// and after a timeout or 5xx looks it up again before another attempt (at most
    /// [`SITE_CREATE_ATTEMPTS`], none started after [`SITE_CREATE_BUDGET`]), so a lost answer
    /// never makes a second site. Several sites of
    /// that name already there: the oldest (lowest id) is taken.
    pub async fn create_site_once(&self, name: &str, description: Option<&str>) -> Result<SiteCreated, DattoError> {
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            if let Some(site) = self.oldest_named(name).await? {
                return Ok(SiteCreated {
                    site,
                    created: attempts > 0,
                    attempts,
                });
            }
            attempts += 1;
            match self.create_site(name, description).await {
                Ok(site) => {
                    return Ok(SiteCreated {
                        site,
                        created: true,
                        attempts,
                    });
                }
                Err(e) if in_doubt(&e) && attempts < SITE_CREATE_ATTEMPTS && started.elapsed() < SITE_CREATE_BUDGET => {
                    tracing::warn!(attempt = attempts, error = %e, "Datto RMM site create in doubt; looking it up");
                }
                Err(e) if in_doubt(&e) => {
                    // The last attempt may still have worked: one more look.
                    return match self.oldest_named(name).await? {
                        Some(site) => Ok(SiteCreated {
                            site,
                            created: true,
                            attempts,
                        }),
                        None => Err(e),
                    };
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn oldest_named(&self, name: &str) -> Result<Option<Site>, DattoError> {
        let mut sites = self.sites_named(name).await?;
        sites.sort_by_key(|s| s.id.unwrap_or(i64::MAX));
        Ok(sites.into_iter().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_datto_shows_them() {
        assert!(same_name("  Smith  Dental ", "smith dental"));
        assert!(!same_name("Smith Dental", "Smith Dental Lab"));
    }

    #[test]
    fn only_faults_and_lost_answers_are_in_doubt() {
        assert!(in_doubt(&DattoError::Server {
            status: 504,
            attempts: 1
        }));
        assert!(in_doubt(&DattoError::Unreachable {
            host: "h".into(),
            reason: "timed out".into()
        }));
        assert!(!in_doubt(&DattoError::PermissionDenied));
        assert!(!in_doubt(&DattoError::Unexpected {
            status: 400,
            path: "/api/v2/site".into(),
            detail: String::new()
        }));
    }
}
