//! Paged Datto RMM lists: the [`Pager`] that walks them one page per call (so that a caller
//! can checkpoint as it goes), and the checks on every `nextPageUrl` (same host and path, the
//! filters kept, no loops, no runaway walks).

use super::DattoError;
use super::models::Page;
use super::transport::Transport;
use reqwest::Url;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// A walk longer than this is a loop, not an account (250 x 10,000 = 2.5M items).
const MAX_PAGES: u32 = 10_000;

/// Resolves a `nextPageUrl`: it must stay on the API root's host and
/// path prefix (the bearer token goes wherever it points), and it gets
/// back any filter Datto dropped from it.
pub(super) fn checked_next_url(base: &Url, next: &str, filters: &[(String, String)]) -> Result<Url, DattoError> {
    let mut url = base.join(next).map_err(|e| DattoError::Paging {
        url: next.to_owned(),
        detail: format!("not a URL: {e}"),
    })?;
    let same_origin = url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.path().starts_with(base.path());
    if !same_origin {
        return Err(DattoError::Paging {
            url: next.to_owned(),
            detail: format!("it leaves {base}; not following it"),
        });
    }
    let present: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    let missing: Vec<_> = filters.iter().filter(|(k, _)| !present.contains(k)).collect();
    if !missing.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in missing {
            pairs.append_pair(k, v);
        }
    }
    Ok(url)
}

/// A walk over a paged Datto list, one page per call, so that a caller can
/// process, store and checkpoint as it goes instead of holding everything.
pub struct Pager<'c, T> {
    transport: &'c Transport,
    next: Option<Url>,
    filters: Vec<(String, String)>,
    pages: u32,
    _item: PhantomData<fn() -> T>,
}

impl<'c, T: DeserializeOwned> Pager<'c, T> {
    /// Walks a paged list from its first page. `query` holds the filters,
    /// which are carried onto every next page even where Datto drops them.
    pub(super) fn first(transport: &'c Transport, path: &str, query: &[(&str, &str)]) -> Result<Self, DattoError> {
        let mut url = transport.url(path)?;
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(Self::at(transport, url))
    }

    /// Resumes a walk at a `nextPageUrl` recorded earlier (a sync cursor).
    pub(super) fn resume(transport: &'c Transport, next_url: &str) -> Result<Self, DattoError> {
        Ok(Self::at(transport, checked_next_url(transport.base(), next_url, &[])?))
    }

    /// A walk starting at `url`; its query (but `page`) is what every next page must keep.
    fn at(transport: &'c Transport, url: Url) -> Self {
        let filters = url
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Pager {
            transport,
            next: Some(url),
            filters,
            pages: 0,
            _item: PhantomData,
        }
    }

    /// The next page, or `None` after the last. An empty or short page with a
    /// `nextPageUrl` does not end the walk; only a missing/empty URL does.
    pub async fn next_page(&mut self) -> Result<Option<Page<T>>, DattoError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let page: Page<T> = match self.transport.get_url(url.clone()).await {
            Ok(page) => page,
            Err(e) => {
                // Keep the position so that the caller can record it and resume.
                self.next = Some(url);
                return Err(e);
            }
        };
        self.pages += 1;
        let next = page
            .page_details
            .as_ref()
            .and_then(|d| d.next_page_url.as_deref())
            .map(str::trim);
        self.next = match next {
            None | Some("") => None,
            Some(raw) => {
                let next = checked_next_url(self.transport.base(), raw, &self.filters)?;
                if next == url {
                    return Err(DattoError::Paging {
                        url: raw.to_owned(),
                        detail: "it points at the page it came from".into(),
                    });
                }
                if self.pages >= MAX_PAGES {
                    return Err(DattoError::Paging {
                        url: raw.to_owned(),
                        detail: format!("more than {MAX_PAGES} pages"),
                    });
                }
                Some(next)
            }
        };
        Ok(Some(page))
    }

    /// Where the walk stands: the URL of the page the next call fetches.
    pub fn cursor(&self) -> Option<&str> {
        self.next.as_ref().map(Url::as_str)
    }

    pub fn pages_fetched(&self) -> u32 {
        self.pages
    }

    /// Every item of every page.
    pub async fn collect_all(mut self) -> Result<Vec<T>, DattoError> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page.items);
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datto::transport::api_root;

    /// The API root a client on this base URL checks next pages against.
    fn root(base: &str) -> Url {
        api_root(base).unwrap()
    }

    #[test]
    fn next_page_urls_must_stay_on_the_api_host() {
        let c = root("https://merlot-api.centrastage.net");
        assert!(
            checked_next_url(
                &c,
                "https://merlot-api.centrastage.net/api/v2/account/sites?page=1&max=250",
                &[]
            )
            .is_ok()
        );
        for evil in [
            "https://evil.example/api/v2/account/sites?page=1",
            "http://merlot-api.centrastage.net/api/v2/account/sites?page=1",
            "https://merlot-api.centrastage.net:8443/api/v2/account/sites?page=1",
        ] {
            assert!(
                matches!(checked_next_url(&c, evil, &[]), Err(DattoError::Paging { .. })),
                "{evil}"
            );
        }
        let prefixed = root("http://127.0.0.1:9100/merlot");
        assert!(checked_next_url(&prefixed, "http://127.0.0.1:9100/syrah/api/v2/account/sites", &[]).is_err());
    }

    #[test]
    fn dropped_filters_are_appended_and_present_ones_kept() {
        let c = root("https://merlot-api.centrastage.net");
        let filters = vec![
            ("max".to_owned(), "250".to_owned()),
            ("siteName".to_owned(), "Acme & Co".to_owned()),
        ];
        let url = checked_next_url(
            &c,
            "https://merlot-api.centrastage.net/api/v2/account/devices?page=2&max=100",
            &filters,
        )
        .unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("page".into(), "2".into()),
                ("max".into(), "100".into()),
                ("siteName".into(), "Acme & Co".into())
            ]
        );
    }
}
