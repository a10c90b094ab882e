//! The client against the Datto RMM simulator, over real HTTP.

use super::models::{Device, Site};
use super::*;
use simulators::datto::{DattoConfig, DattoSim, Faults};
use std::collections::HashSet;
use std::time::Duration;

const KEY: &str = "unit-key";
const SECRET: &str = "unit-secret";

fn credentials(key: &str, secret: &str) -> Credentials {
    Credentials {
        api_key: crate::secret::Secret::new(key),
        api_secret: crate::secret::Secret::new(secret),
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::datto()
    }
}

async fn sim(config: DattoConfig) -> DattoSim {
    DattoSim::start(DattoConfig {
        platform: "merlot".into(),
        api_key: KEY.into(),
        api_secret: SECRET.into(),
        ..config
    })
    .await
    .expect("start the simulator")
}

fn connector(sim: &DattoSim) -> DattoConnector {
    DattoConnector::new(crate::http::client())
        .with_base_url_template(format!("{}/{{platform}}", sim.base_url()))
        .with_retry(fast_retry())
}

fn client(sim: &DattoSim) -> DattoClient {
    connector(sim)
        .client(Platform::Merlot, credentials(KEY, SECRET))
        .unwrap()
}

#[tokio::test]
async fn pages_cover_every_site_exactly_once() {
    let sim = sim(DattoConfig {
        sites: 30,
        devices: 60,
        ..DattoConfig::default()
    })
    .await;
    let client = client(&sim);
    let mut pager = client.pages::<Site>("api/v2/account/sites", &[("max", "7")]).unwrap();
    let mut seen = Vec::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        assert!(page.items.len() <= 7);
        seen.extend(page.items.into_iter().map(|s| s.uid.unwrap()));
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a site came twice");
    assert_eq!(unique, sim.site_uids().into_iter().collect::<HashSet<_>>());
    assert_eq!(pager.pages_fetched() as usize, seen.len().div_ceil(7));
    assert!(pager.cursor().is_none());
}

#[tokio::test]
async fn filters_dropped_from_next_page_urls_are_put_back() {
    let sim = sim(DattoConfig {
        sites: 5,
        devices: 120,
        drop_filters_in_next_page_url: true,
        ..DattoConfig::default()
    })
    .await;
    let client = client(&sim);
    let all: Vec<Device> = client
        .pages("api/v2/account/devices", &[("max", "10")])
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    let windows = |d: &Device| {
        d.operating_system
            .as_deref()
            .is_some_and(|os| os.to_lowercase().contains("windows"))
    };
    let expected = all.iter().filter(|d| windows(d)).count();
    assert!(
        expected > 10 && expected < all.len(),
        "the filter must span pages and exclude some: {expected} of {}",
        all.len()
    );

    let filtered: Vec<Device> = client
        .pages(
            "api/v2/account/devices",
            &[("max", "10"), ("operatingSystem", "windows")],
        )
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert!(filtered.iter().all(windows), "a page after the first lost the filter");
    assert_eq!(filtered.len(), expected);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_call_goes_through() {
    let sim = sim(DattoConfig::default()).await;
    let client = client(&sim);
    client.account().await.unwrap();
    sim.expire_tokens();
    client.account().await.expect("renewed after the 401");
    assert_eq!(sim.stats().route("token"), 2);
    // token, account, account (401), token, account
    assert_eq!(client.requests_made(), 5);
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires() {
    let sim = sim(DattoConfig {
        token_ttl_secs: 2,
        ..DattoConfig::default()
    })
    .await;
    let client = client(&sim);
    client.account().await.unwrap();
    // Renewal is due at 75% of a short lifetime: 1.5 s.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    client.account().await.unwrap();
    assert_eq!(sim.stats().route("token"), 2);
    assert_eq!(client.requests_made(), 4, "renewed ahead of time, so no 401 round trip");
}

#[tokio::test]
async fn concurrent_callers_share_one_token_grant() {
    let sim = sim(DattoConfig::default()).await;
    let client = client(&sim);
    let calls: Vec<_> = (0..8).map(|_| client.account()).collect();
    for result in futures_join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(sim.stats().route("token"), 1);
}

async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    // Poll them together so that they really overlap.
    let mut done: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.extend(done.into_iter().map(|v| v.expect("polled to completion")));
    out
}

#[tokio::test]
async fn a_429_is_retried_with_backoff_until_it_passes() {
    let sim = sim(DattoConfig::default()).await;
    let client = client(&sim);
    client.account().await.unwrap();
    sim.set_faults(Faults {
        force_429_next: 3,
        ..Faults::default()
    });
    client.account().await.expect("passes after three 429s");
    assert_eq!(client.requests_made(), 2 + 4);
}

#[tokio::test]
async fn a_429_storm_ends_in_rate_limited() {
    let sim = sim(DattoConfig::default()).await;
    let client = client(&sim);
    client.account().await.unwrap();
    sim.set_faults(Faults {
        force_429_next: 100,
        ..Faults::default()
    });
    match client.account().await {
        Err(DattoError::RateLimited { attempts }) => assert_eq!(attempts, fast_retry().rate_limited_attempts),
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn server_faults_are_retried_then_reported() {
    let sim = sim(DattoConfig::default()).await;
    let client = client(&sim);
    client.account().await.unwrap();
    sim.set_faults(Faults {
        fail_next: 2,
        status: 503,
        ..Faults::default()
    });
    client.account().await.expect("passes after two 503s");
    sim.set_faults(Faults {
        fail_next: 50,
        status: 500,
        ..Faults::default()
    });
    match client.account().await {
        Err(e @ DattoError::Server { status: 500, .. }) => assert!(e.is_transient()),
        other => panic!("expected Server, got {other:?}"),
    }
}

#[tokio::test]
async fn an_ip_block_stops_at_once() {
    let sim = sim(DattoConfig {
        read_limit: 5,
        block_after_429s: 2,
        window: Duration::from_secs(30),
        slow_delay: Duration::ZERO,
        ..DattoConfig::default()
    })
    .await;
    // A client that ignores its own limiter, as a second integration on the account would.
    let client = connector(&sim)
        .with_rate_limit(1000, Duration::from_secs(60))
        .with_retry(RetryPolicy {
            rate_limited_attempts: 50,
            ..fast_retry()
        })
        .client(Platform::Merlot, credentials(KEY, SECRET))
        .unwrap();
    let mut outcome = Ok(());
    for _ in 0..10 {
        if let Err(e) = client.account().await {
            outcome = Err(e);
            break;
        }
    }
    assert!(matches!(outcome, Err(DattoError::IpBlocked)), "{outcome:?}");
    let before = client.requests_made();
    assert!(matches!(client.account().await, Err(DattoError::IpBlocked)));
    assert_eq!(client.requests_made(), before + 1, "a blocked request is not retried");
}

#[tokio::test]
async fn errors_say_which_cause_applies() {
    let sim = sim(DattoConfig {
        restricted_api_key: Some(("ro-key".into(), "ro-secret".into())),
        ..DattoConfig::default()
    })
    .await;
    let connector = connector(&sim);

    let bad = connector
        .test_connection(Platform::Merlot, &credentials(KEY, "wrong"))
        .await;
    assert!(
        matches!(
            bad,
            Err(DattoError::BadCredentials {
                platform: Platform::Merlot
            })
        ),
        "{bad:?}"
    );

    let wrong = connector
        .test_connection(Platform::Vidal, &credentials(KEY, SECRET))
        .await;
    assert!(
        matches!(
            wrong,
            Err(DattoError::WrongPlatform {
                chosen: Platform::Vidal,
                actual: Platform::Merlot
            })
        ),
        "{wrong:?}"
    );

    let unprobed = connector
        .clone()
        .with_platform_probe(false)
        .test_connection(Platform::Vidal, &credentials(KEY, SECRET))
        .await;
    assert!(
        matches!(unprobed, Err(DattoError::BadCredentials { .. })),
        "{unprobed:?}"
    );

    let denied = connector
        .test_connection(Platform::Merlot, &credentials("ro-key", "ro-secret"))
        .await;
    assert!(matches!(denied, Err(DattoError::PermissionDenied)), "{denied:?}");

    let client = client(&sim);
    let missing = client.get::<Device>("api/v2/device/no-such-device").await;
    assert!(matches!(missing, Err(DattoError::NotFound { .. })), "{missing:?}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let nowhere = DattoConnector::new(crate::http::client())
        .with_base_url_template(format!("http://{closed}/{{platform}}"))
        .with_retry(fast_retry())
        .test_connection(Platform::Merlot, &credentials(KEY, SECRET))
        .await;
    assert!(matches!(nowhere, Err(DattoError::Unreachable { .. })), "{nowhere:?}");

    let ok = connector
        .test_connection(Platform::Merlot, &credentials(KEY, SECRET))
        .await
        .unwrap();
    let live = sim.devices().iter().filter(|d| !d.deleted).count() as i64;
    assert_eq!(ok.device_count, Some(live));
}
