//! The Datto RMM simulator over real HTTP.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use simulators::datto::{DELETED_DEVICES_SITE, DattoConfig, DattoSim, Faults};
use support::{api, get, public_client_basic, request, send_json, token, token_request, walk};

const REFERENCE: i64 = 1_790_000_000_000;

fn config() -> DattoConfig {
    DattoConfig {
        reference_time_ms: Some(REFERENCE),
        ..DattoConfig::default()
    }
}

async fn start(config: DattoConfig) -> DattoSim {
    DattoSim::start(config).await.expect("start simulator")
}

#[tokio::test]
async fn token_good_bad_wrong_platform_and_restricted() {
    let sim = start(DattoConfig {
        restricted_api_key: Some(("RESTRICTEDKEY".into(), "restricted secret&=+".into())),
        ..config()
    })
    .await;
    let merlot = sim.platform_base_url("merlot");
    assert_eq!(sim.platform_base_url("merlot"), format!("{}/merlot", sim.base_url()));
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));

    let ok = token_request(&merlot, &sim.config().api_key, &sim.config().api_secret).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let body = ok.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 360_000);
    assert!(body["access_token"].as_str().unwrap().len() >= 32);
    assert!(body["scope"].is_string() && body["jti"].is_string());

    let bad = token_request(&merlot, &sim.config().api_key, "wrong").await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json(),
        json!({"error": "invalid_grant", "error_description": "Bad credentials"})
    );

    // The right credentials on another platform: "bad credentials" too.
    let wrong_platform = token_request(
        &sim.platform_base_url("pinotage"),
        &sim.config().api_key,
        &sim.config().api_secret,
    )
    .await;
    assert_eq!(wrong_platform.status, 400);
    assert_eq!(wrong_platform.json()["error"], "invalid_grant");

    // Unknown platform prefix.
    let unknown = token_request(
        &sim.platform_base_url("shiraz"),
        &sim.config().api_key,
        &sim.config().api_secret,
    )
    .await;
    assert_eq!(unknown.status, 404);

    // Without the public-client Basic header.
    let form = format!(
        "grant_type=password&username={}&password={}",
        sim.config().api_key,
        sim.config().api_secret
    );
    let no_basic = request(
        "POST",
        &format!("{merlot}/auth/oauth/token"),
        &[],
        Some(form.as_bytes()),
    )
    .await
    .unwrap();
    assert_eq!(no_basic.status, 401);
    let wrong_basic = request(
        "POST",
        &format!("{merlot}/auth/oauth/token"),
        &[("Authorization", "Basic a2V5OnNlY3JldA==")],
        Some(form.as_bytes()),
    )
    .await
    .unwrap();
    assert_eq!(wrong_basic.status, 401);
    // client_credentials is not supported.
    let basic = public_client_basic();
    let cc = request(
        "POST",
        &format!("{merlot}/auth/oauth/token"),
        &[("Authorization", &basic)],
        Some(b"grant_type=client_credentials"),
    )
    .await
    .unwrap();
    assert_eq!(cc.status, 400);

    // A user without API access: token fine, every call 403.
    let restricted = token_request(&merlot, "RESTRICTEDKEY", "restricted secret&=+").await;
    assert_eq!(restricted.status, 200);
    let t = restricted.json()["access_token"].as_str().unwrap().to_string();
    let r = get(&api(&sim, "account"), Some(&t)).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "Authenticated user doesn't have access to this resource."
    );

    let stats = sim.stats();
    assert_eq!(stats.route("token"), 7);
    assert_eq!(stats.tokens_issued, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn bearer_is_required_except_for_system_status() {
    let sim = start(config()).await;
    let status = get(&api(&sim, "system/status"), None).await;
    assert_eq!(status.status, 200);
    assert_eq!(status.json()["status"], "UP");

    let r = get(&api(&sim, "account"), None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), json!({"message": "Request can not be authorized."}));
    assert_eq!(get(&api(&sim, "account"), Some("made-up")).await.status, 401);

    // A token is only good on the platform that issued it.
    let t = token(&sim).await;
    let other = format!("{}/api/v2/account", sim.platform_base_url("syrah"));
    assert_eq!(get(&other, Some(&t)).await.status, 401);

    let account = get(&api(&sim, "account"), Some(&t)).await.json();
    assert_eq!(account["uid"], sim.account().uid);
    assert_eq!(
        account["devicesStatus"]["numberOfDevices"].as_u64().unwrap() as usize,
        sim.devices().iter().filter(|d| !d.deleted).count()
    );
    assert!(account["descriptor"]["bilingEmail"].is_string());
    assert_eq!(
        get(&api(&sim, "system/pagination"), Some(&t)).await.json(),
        json!({"max": 250})
    );
    assert_eq!(get(&api(&sim, "no/such/thing"), Some(&t)).await.status, 404);
    assert_eq!(sim.stats().unauthorized_401, 3);
}

#[tokio::test]
async fn paging_walk_covers_every_device_exactly_once() {
    let sim = start(DattoConfig {
        sites: 30,
        devices: 1_000,
        page_max: 100,
        ..config()
    })
    .await;
    let t = token(&sim).await;

    let (devices, pages) = walk(&format!("{}?max=100", api(&sim, "account/devices")), &t, "devices").await;
    assert_eq!(pages, 10);
    let uids: Vec<&str> = devices.iter().map(|d| d["uid"].as_str().unwrap()).collect();
    let unique: HashSet<&str> = uids.iter().copied().collect();
    assert_eq!(uids.len(), 1_000);
    assert_eq!(unique.len(), 1_000, "no duplicates");
    let expected = sim.device_uids();
    assert_eq!(
        uids,
        expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "API order is the sim's order"
    );

    // Sites (with the system sites), then each site's devices: the same set again.
    let (sites, _) = walk(&api(&sim, "account/sites"), &t, "sites").await;
    assert_eq!(sites.len(), 33);
    let names: Vec<&str> = sites.iter().map(|s| s["name"].as_str().unwrap()).collect();
    for system in ["Managed", "OnDemand", DELETED_DEVICES_SITE] {
        assert!(names.contains(&system), "{system} listed");
    }
    let mut via_sites = HashSet::new();
    for site in &sites {
        let uid = site["uid"].as_str().unwrap();
        let (list, _) = walk(&api(&sim, &format!("site/{uid}/devices?max=40")), &t, "devices").await;
        assert_eq!(
            list.len() as u64,
            site["devicesStatus"]["numberOfDevices"].as_u64().unwrap(),
            "counts consistent"
        );
        let online = list.iter().filter(|d| d["online"] == true).count() as u64;
        assert_eq!(online, site["devicesStatus"]["numberOfOnlineDevices"].as_u64().unwrap());
        for d in list {
            assert_eq!(d["siteUid"], site["uid"]);
            assert!(
                via_sites.insert(d["uid"].as_str().unwrap().to_string()),
                "device in two sites"
            );
        }
    }
    assert_eq!(via_sites.len(), 1_000);
    assert!(sim.stats().route("site_devices") >= 33);
    assert_eq!(sim.stats().route("account_devices"), 10);
}

#[tokio::test]
async fn max_is_clamped_and_pages_beyond_the_end_are_empty() {
    let sim = start(DattoConfig {
        page_max: 50,
        ..config()
    })
    .await;
    let t = token(&sim).await;
    let base = api(&sim, "account/devices");

    let big = get(&format!("{base}?max=1000"), Some(&t)).await.json();
    assert_eq!(big["pageDetails"]["count"], 50);
    assert_eq!(big["pageDetails"]["totalCount"], 200);
    assert!(big["pageDetails"]["prevPageUrl"].is_null());
    let next = big["pageDetails"]["nextPageUrl"].as_str().unwrap();
    assert_eq!(next, format!("{base}?max=50&page=1"), "absolute, with the clamped max");

    let default = get(&base, Some(&t)).await.json();
    assert_eq!(default["pageDetails"]["count"], 50);

    let last = get(&format!("{base}?max=50&page=3"), Some(&t)).await.json();
    assert_eq!(last["pageDetails"]["count"], 50);
    assert!(last["pageDetails"]["nextPageUrl"].is_null());
    assert_eq!(last["pageDetails"]["prevPageUrl"], format!("{base}?max=50&page=2"));

    let beyond = get(&format!("{base}?max=50&page=9"), Some(&t)).await.json();
    assert_eq!(beyond["devices"], json!([]));
    assert_eq!(beyond["pageDetails"]["count"], 0);
    assert_eq!(beyond["pageDetails"]["totalCount"], 200);
    assert!(beyond["pageDetails"]["nextPageUrl"].is_null());

    assert_eq!(get(&format!("{base}?page=-1"), Some(&t)).await.status, 400);
    assert_eq!(get(&format!("{base}?max=abc"), Some(&t)).await.status, 400);
    assert_eq!(get(&format!("{base}?filterId=5"), Some(&t)).await.status, 404);
    let site = &sim.site_uids()[0];
    assert_eq!(
        get(&api(&sim, &format!("site/{site}/devices?filterId=5")), Some(&t))
            .await
            .status,
        404
    );
    let missing = get(&api(&sim, "site/nope/devices"), Some(&t)).await;
    assert_eq!(
        (missing.status, missing.json()["message"].clone()),
        (404, json!("Site or filter not found."))
    );
}

#[tokio::test]
async fn filters_are_like_and_can_be_dropped_from_next_page_url() {
    let sim = start(DattoConfig {
        devices: 600,
        ..config()
    })
    .await;
    let t = token(&sim).await;
    let all = sim.devices();
    let laptops = all.iter().filter(|d| d.category.as_deref() == Some("Laptop")).count();
    assert!(laptops > 10);
    let (found, _) = walk(&api(&sim, "account/devices?max=10&deviceType=lApToP"), &t, "devices").await;
    assert_eq!(found.len(), laptops);
    let page = get(&api(&sim, "account/devices?max=10&deviceType=laptop"), Some(&t))
        .await
        .json();
    assert!(
        page["pageDetails"]["nextPageUrl"]
            .as_str()
            .unwrap()
            .contains("deviceType=laptop")
    );

    let (desktops, _) = walk(&api(&sim, "account/devices?hostname=desktop-"), &t, "devices").await;
    assert!(
        desktops
            .iter()
            .all(|d| d["hostname"].as_str().unwrap().to_lowercase().contains("desktop-"))
    );
    assert!(!desktops.is_empty());

    let site = sim
        .sites()
        .into_iter()
        .find(|s| s.name.contains(' ') && s.kind == simulators::datto::SiteKind::Client)
        .unwrap();
    let word = site.name.split(' ').next().unwrap().to_uppercase();
    let (sites, _) = walk(
        &api(&sim, &format!("account/sites?siteName={}", word.replace('&', "%26"))),
        &t,
        "sites",
    )
    .await;
    assert!(sites.iter().any(|s| s["uid"] == site.uid.as_str()));
    assert!(
        sites
            .iter()
            .all(|s| s["name"].as_str().unwrap().to_uppercase().contains(&word))
    );
    let (by_site, _) = walk(
        &api(&sim, &format!("account/devices?siteName={}", word.replace('&', "%26"))),
        &t,
        "devices",
    )
    .await;
    assert!(
        by_site
            .iter()
            .all(|d| d["siteName"].as_str().unwrap().to_uppercase().contains(&word))
    );

    // The known quirk: filters missing from nextPageUrl.
    let quirky = start(DattoConfig {
        devices: 600,
        drop_filters_in_next_page_url: true,
        ..config()
    })
    .await;
    let t2 = token(&quirky).await;
    let page = get(&api(&quirky, "account/devices?max=10&deviceType=laptop"), Some(&t2))
        .await
        .json();
    let next = page["pageDetails"]["nextPageUrl"].as_str().unwrap();
    assert!(!next.contains("deviceType"), "{next}");
    assert_eq!(page["pageDetails"]["totalCount"].as_u64().unwrap() as usize, laptops);
    let second = get(next, Some(&t2)).await.json();
    assert_eq!(second["pageDetails"]["totalCount"], 600, "the next page is unfiltered");
}

#[tokio::test]
async fn rate_limit_429_then_ip_block_403() {
    let sim = start(DattoConfig {
        read_limit: 5,
        cutoff_ratio: 1.0,
        window: Duration::from_secs(2),
        block_after_429s: 3,
        block_duration: Duration::from_millis(1500),
        retry_after_header: Some(7),
        ..config()
    })
    .await;
    let t = token(&sim).await;
    let url = api(&sim, "account");
    for i in 0..5 {
        assert_eq!(get(&url, Some(&t)).await.status, 200, "request {i}");
    }
    for _ in 0..3 {
        let r = get(&url, Some(&t)).await;
        assert_eq!(r.status, 429);
        assert_eq!(r.json(), json!({"message": "Rate limit exceeded"}));
        assert_eq!(r.header("retry-after"), Some("7"));
    }
    // Blocked now: everything answers 403, the token endpoint too.
    let r = get(&url, Some(&t)).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        json!({"message": "IP address blocked due to too many requests"})
    );
    let c = sim.config();
    assert_eq!(
        token_request(&sim.platform_base_url("merlot"), &c.api_key, &c.api_secret)
            .await
            .status,
        403
    );
    let stats = sim.stats();
    assert_eq!(
        (
            stats.rate_limited,
            stats.responses_429,
            stats.blocks_started,
            stats.blocked_403
        ),
        (3, 3, 1, 2)
    );

    // After the block and the window, requests go through again.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(get(&url, Some(&t)).await.status, 200);

    // The quota is visible, and /system/request_rate counts itself.
    let rate = get(&api(&sim, "system/request_rate"), Some(&t)).await.json();
    assert_eq!(rate["accountCount"], 2);
    assert_eq!(rate["accountRateLimit"], 5);
    assert_eq!(rate["accountWriteCount"], 0);
    assert_eq!(
        rate["operationWriteStatus"]["alert-resolve"],
        json!({"limit": 100, "count": 0})
    );
    assert_eq!(
        rate["operationWriteStatus"]["device-udf-set"],
        json!({"limit": 600, "count": 0})
    );
    assert_eq!(rate["accountUid"], sim.account().uid);
}

#[tokio::test]
async fn responses_slow_down_above_the_cutoff() {
    let sim = start(DattoConfig {
        read_limit: 4,
        cutoff_ratio: 0.5,
        slow_delay: Duration::from_millis(300),
        ..config()
    })
    .await;
    let t = token(&sim).await;
    let url = api(&sim, "system/pagination");
    for _ in 0..2 {
        let started = Instant::now();
        assert_eq!(get(&url, Some(&t)).await.status, 200);
        assert!(started.elapsed() < Duration::from_millis(250));
    }
    let started = Instant::now();
    assert_eq!(get(&url, Some(&t)).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300), "third request slowed");
    assert_eq!(sim.stats().slowed, 1);
    // Refused requests (429) are not slowed and not counted.
    get(&url, Some(&t)).await;
    assert_eq!(get(&url, Some(&t)).await.status, 429);
    assert_eq!(
        get(&api(&sim, "system/request_rate"), Some(&t)).await.status,
        429,
        "the rate endpoint is a read too"
    );
}

#[tokio::test]
async fn expired_tokens_answer_401() {
    let sim = start(DattoConfig {
        token_ttl_secs: 1,
        ..config()
    })
    .await;
    let t = token(&sim).await;
    assert_eq!(get(&api(&sim, "account"), Some(&t)).await.status, 200);
    sim.expire_tokens();
    assert_eq!(get(&api(&sim, "account"), Some(&t)).await.status, 401);

    let t2 = token(&sim).await;
    assert_eq!(get(&api(&sim, "account"), Some(&t2)).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        get(&api(&sim, "account"), Some(&t2)).await.status,
        401,
        "expired after token_ttl_secs"
    );

    // Admin endpoint does the same.
    let t3 = token(&sim).await;
    let r = request("POST", &format!("{}/_sim/expire-tokens", sim.base_url()), &[], None)
        .await
        .unwrap();
    assert_eq!(r.json()["expired"], 1);
    assert_eq!(get(&api(&sim, "account"), Some(&t3)).await.status, 401);
}

#[tokio::test]
async fn injected_faults() {
    let sim = start(config()).await;
    let t = token(&sim).await;
    sim.set_faults(Faults {
        fail_next: 2,
        status: 503,
        path_contains: Some("/account/devices".into()),
        ..Faults::default()
    });
    assert_eq!(
        get(&api(&sim, "account"), Some(&t)).await.status,
        200,
        "other paths unaffected"
    );
    assert_eq!(get(&api(&sim, "account/devices"), Some(&t)).await.status, 503);
    assert_eq!(
        get(&api(&sim, "account/devices"), None).await.status,
        503,
        "before auth"
    );
    assert_eq!(get(&api(&sim, "account/devices"), Some(&t)).await.status, 200);
    assert_eq!(sim.faults().fail_next, 0);

    sim.set_faults(Faults {
        force_429_next: 1,
        ..Faults::default()
    });
    let r = get(&api(&sim, "account"), Some(&t)).await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (429, json!("Rate limit exceeded"))
    );
    assert_eq!(get(&api(&sim, "account"), Some(&t)).await.status, 200);

    sim.set_faults(Faults {
        fail_rate: 1.0,
        status: 500,
        ..Faults::default()
    });
    assert_eq!(get(&api(&sim, "system/status"), None).await.status, 500);
    sim.set_faults(Faults {
        latency: Some(Duration::from_millis(200)),
        ..Faults::default()
    });
    let started = Instant::now();
    assert_eq!(get(&api(&sim, "system/status"), None).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));

    let stats = sim.stats();
    assert_eq!(stats.faults_injected, 4);
    assert_eq!(stats.responses_429, 1);
    assert_eq!(stats.rate_limited, 0, "injected 429s are not the limiter's");

    // The admin endpoint: JSON, durations in ms; a seeded rate fails roughly that share.
    let admin = format!("{}/_sim/faults", sim.base_url());
    let body = json!({"fail_rate": 0.5, "status": 502, "path_contains": "/system/status"}).to_string();
    let r = request(
        "POST",
        &admin,
        &[("Content-Type", "application/json")],
        Some(body.as_bytes()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["fail_rate"], 0.5);
    let mut failed = 0;
    for _ in 0..100 {
        if get(&api(&sim, "system/status"), None).await.status == 502 {
            failed += 1;
        }
    }
    assert!((25..=75).contains(&failed), "{failed} of 100 failed");
    let bad = request("POST", &admin, &[], Some(b"{\"nope\": 1}")).await.unwrap();
    assert_eq!(bad.status, 400);
    let cleared = request("POST", &admin, &[], None).await.unwrap();
    assert_eq!(cleared.json()["fail_rate"], 0.0);
    assert_eq!(get(&api(&sim, "system/status"), None).await.status, 200);

    let stats = get(&format!("{}/_sim/stats", sim.base_url()), None).await.json();
    assert!(stats["faults_injected"].as_u64().unwrap() >= 4 + 25);
    assert!(stats["by_route"]["system"].as_u64().unwrap() > 100);
}

#[tokio::test]
async fn device_shapes_audits_and_errors() {
    let sim = start(DattoConfig {
        devices: 400,
        ..config()
    })
    .await;
    let t = token(&sim).await;
    let (devices, _) = walk(&api(&sim, "account/devices"), &t, "devices").await;
    let first = &devices[0];
    for key in [
        "id",
        "uid",
        "siteId",
        "siteUid",
        "siteName",
        "deviceType",
        "hostname",
        "intIpAddress",
        "extIpAddress",
        "operatingSystem",
        "lastLoggedInUser",
        "domain",
        "description",
        "a64Bit",
        "rebootRequired",
        "online",
        "suspended",
        "deleted",
        "lastSeen",
        "lastReboot",
        "lastAuditDate",
        "creationDate",
        "udf",
        "deviceClass",
        "warrantyDate",
        "antivirus",
        "patchManagement",
        "portalUrl",
    ] {
        assert!(first.get(key).is_some(), "device has {key}");
    }
    assert_eq!(first["udf"].as_object().unwrap().len(), 30);
    assert!(
        devices
            .iter()
            .all(|d| d["creationDate"].is_i64() || d["creationDate"].is_null()),
        "epoch ms numbers"
    );
    assert!(devices.iter().any(|d| {
        d["lastSeen"]
            .as_i64()
            .is_some_and(|t| t > REFERENCE - 600_000 && t <= REFERENCE)
    }));
    let classes: HashSet<&str> = devices.iter().map(|d| d["deviceClass"].as_str().unwrap()).collect();
    for c in ["device", "printer", "rmmnetworkdevice"] {
        assert!(classes.contains(c), "{c} present in {classes:?}");
    }
    assert!(devices.iter().any(|d| {
        d["udf"]
            .as_object()
            .unwrap()
            .values()
            .any(|v| v.as_str().is_some_and(|s| s.starts_with("BitLocker: ")))
    }));
    assert!(
        devices
            .iter()
            .any(|d| d["warrantyDate"].as_str().is_some_and(|w| w.len() == 10))
    );

    let of_class = |c: &str| {
        devices
            .iter()
            .find(|d| d["deviceClass"] == c)
            .map(|d| d["uid"].as_str().unwrap().to_string())
    };
    let pc = devices
        .iter()
        .find(|d| d["deviceClass"] == "device" && d["lastAuditDate"].is_i64())
        .unwrap()["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let printer = of_class("printer").unwrap();

    let one = get(&api(&sim, &format!("device/{pc}")), Some(&t)).await.json();
    assert_eq!(one["uid"], pc.as_str());
    let audit = get(&api(&sim, &format!("audit/device/{pc}")), Some(&t)).await.json();
    let sim_dev = sim.device(&pc).unwrap();
    assert_eq!(audit["bios"]["serialNumber"].as_str(), sim_dev.serial_number.as_deref());
    assert_eq!(
        audit["systemInfo"]["manufacturer"].as_str(),
        sim_dev.manufacturer.as_deref()
    );
    assert!(audit["nics"].as_array().is_some_and(|n| !n.is_empty()));
    let again = get(&api(&sim, &format!("audit/device/{pc}")), Some(&t)).await.json();
    assert_eq!(audit, again, "audit data is stable");

    let wrong = get(&api(&sim, &format!("audit/device/{printer}")), Some(&t)).await;
    assert_eq!(wrong.status, 400);
    assert_eq!(
        wrong.json()["message"],
        "The device identified by the given device UID is not of class device."
    );
    let p = get(&api(&sim, &format!("audit/printer/{printer}")), Some(&t))
        .await
        .json();
    assert_eq!(
        p["snmpInfo"]["snmpSerial"].as_str(),
        sim.device(&printer).unwrap().serial_number.as_deref()
    );
    assert_eq!(
        get(&api(&sim, &format!("audit/esxihost/{pc}")), Some(&t)).await.status,
        400
    );
    if let Some(esxi) = of_class("esxihost") {
        let e = get(&api(&sim, &format!("audit/esxihost/{esxi}")), Some(&t))
            .await
            .json();
        assert_eq!(
            e["systemInfo"]["serviceTag"].as_str(),
            sim.device(&esxi).unwrap().serial_number.as_deref()
        );
    }

    let missing = get(&api(&sim, "device/00000000-0000-0000-0000-000000000000"), Some(&t)).await;
    assert_eq!(
        (missing.status, missing.json()),
        (404, json!({"message": "Device was not found."}))
    );
    assert_eq!(get(&api(&sim, "audit/device/nope"), Some(&t)).await.status, 404);
    let by_id = get(&api(&sim, &format!("device/id/{}", sim_dev.id)), Some(&t))
        .await
        .json();
    assert_eq!(by_id["uid"], pc.as_str());
    if let Some(mac) = &sim_dev.mac_address {
        let by_mac = get(
            &api(&sim, &format!("device/macAddress/{}", mac.replace(':', ""))),
            Some(&t),
        )
        .await
        .json();
        assert!(by_mac.as_array().unwrap().iter().any(|d| d["uid"] == pc.as_str()));
    }
    assert_eq!(
        sim.stats().route("audit"),
        6 + usize::from(of_class("esxihost").is_some()) as u64
    );
}

#[tokio::test]
async fn alerts_resolve_and_quick_jobs() {
    let sim = start(DattoConfig {
        job_duration: Duration::from_millis(300),
        ..config()
    })
    .await;
    let t = token(&sim).await;
    let device = sim
        .device_uids()
        .into_iter()
        .find(|u| !sim.device(u).unwrap().deleted)
        .unwrap();
    let alert = sim.raise_alert(&device, "Critical", "disk_usage_ctx");
    let (open, _) = walk(&api(&sim, "account/alerts/open?max=7"), &t, "alerts").await;
    assert_eq!(open.len(), sim.open_alert_uids().len());
    let mine = open
        .iter()
        .find(|a| a["alertUid"] == alert.as_str())
        .expect("raised alert listed");
    assert_eq!(mine["priority"], "Critical");
    assert_eq!(mine["alertContext"]["@class"], "disk_usage_ctx");
    assert_eq!(mine["alertSourceInfo"]["deviceUid"], device.as_str());
    assert!(mine["timestamp"].is_i64());
    assert!(
        open.iter()
            .all(|a| a["resolved"] == false && a["alertContext"]["@class"].is_string())
    );
    let device_alerts = get(&api(&sim, &format!("device/{device}/alerts/open")), Some(&t))
        .await
        .json();
    assert!(
        device_alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["alertUid"] == alert.as_str())
    );

    let resolve = request(
        "POST",
        &api(&sim, &format!("alert/{alert}/resolve")),
        &[("Authorization", &format!("Bearer {t}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(resolve.status, 200);
    assert!(resolve.body.is_empty());
    assert!(sim.is_alert_resolved(&alert));
    let resolved = get(&api(&sim, &format!("alert/{alert}")), Some(&t)).await.json();
    assert_eq!(resolved["resolved"], true);
    assert!(resolved["resolvedOn"].is_i64());
    let unknown = request(
        "POST",
        &api(&sim, "alert/nope/resolve"),
        &[("Authorization", &format!("Bearer {t}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(unknown.status, 404);

    // Quick job.
    let components = get(&api(&sim, "account/components"), Some(&t)).await.json();
    let comp = components["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Run Disk Cleanup")
        .unwrap()
        .clone();
    let url = api(&sim, &format!("device/{device}/quickjob"));
    let body = json!({"jobName": "Cleanup", "jobComponent": {"componentUid": comp["uid"], "variables": [{"name": "drive", "value": "D:"}]}});
    let created = send_json("PUT", &url, &t, &body).await;
    assert_eq!(created.status, 200, "{}", created.text());
    let created = created.json();
    assert_eq!(created["job"]["status"], "active");
    assert_eq!(
        created["jobComponents"][0]["variables"][0],
        json!({"name": "drive", "value": "D:"})
    );
    let job_uid = created["job"]["uid"].as_str().unwrap().to_string();
    assert_eq!(
        get(&api(&sim, &format!("job/{job_uid}")), Some(&t)).await.json()["status"],
        "active"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        get(&api(&sim, &format!("job/{job_uid}")), Some(&t)).await.json()["status"],
        "completed"
    );
    let results = get(&api(&sim, &format!("job/{job_uid}/results/{device}")), Some(&t))
        .await
        .json();
    assert_eq!(results["jobDeploymentStatus"], "Success");
    assert_eq!(
        get(&api(&sim, &format!("job/{job_uid}/results/other")), Some(&t))
            .await
            .status,
        404
    );
    assert_eq!(get(&api(&sim, "job/nope"), Some(&t)).await.status, 404);

    for bad in [
        json!({"jobComponent": {"componentUid": comp["uid"]}}),
        json!({"jobName": "x"}),
        json!({"jobName": "x", "jobComponent": {"componentUid": "nope"}}),
        json!({"jobName": "x", "jobComponent": {"componentUid": comp["uid"], "variables": [{"name": "unknown", "value": "1"}]}}),
    ] {
        let r = send_json("PUT", &url, &t, &bad).await;
        assert_eq!(
            (r.status, r.json()["message"].clone()),
            (400, json!("Request data is invalid.")),
            "{bad}"
        );
    }
    let no_device = send_json("PUT", &api(&sim, "device/nope/quickjob"), &t, &body).await;
    assert_eq!(no_device.status, 404);

    let rate = get(&api(&sim, "system/request_rate"), Some(&t)).await.json();
    // Every authenticated write counts, failed ones included.
    assert_eq!(rate["operationWriteStatus"]["alert-resolve"]["count"], 2);
    assert_eq!(rate["operationWriteStatus"]["device-job-create"]["count"], 6);
    assert_eq!(rate["accountWriteCount"], 8);
    let stats = sim.stats();
    assert_eq!((stats.route("resolve"), stats.route("quickjob")), (2, 6));
}

#[tokio::test]
async fn udf_warranty_and_move_writes() {
    let sim = start(config()).await;
    let t = token(&sim).await;
    let device = sim.device_uids()[0].clone();
    sim.change_device(&device, |d| {
        d.udf.insert(3, "keep me".into());
        d.udf.insert(4, "clear me".into());
    });
    let r = send_json(
        "POST",
        &api(&sim, &format!("device/{device}/udf")),
        &t,
        &json!({"udf1": "asset 1234", "udf4": ""}),
    )
    .await;
    assert_eq!(r.status, 200);
    let d = get(&api(&sim, &format!("device/{device}")), Some(&t)).await.json();
    assert_eq!(d["udf"]["udf1"], "asset 1234");
    assert_eq!(d["udf"]["udf3"], "keep me");
    assert!(d["udf"]["udf4"].is_null());
    assert_eq!(
        send_json(
            "POST",
            &api(&sim, &format!("device/{device}/udf")),
            &t,
            &json!({"udf301": "x"})
        )
        .await
        .status,
        400
    );

    let r = send_json(
        "POST",
        &api(&sim, &format!("device/{device}/warranty")),
        &t,
        &json!({"warrantyDate": "2029-02-28"}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        sim.device(&device).unwrap().warranty_date.as_deref(),
        Some("2029-02-28")
    );
    assert_eq!(
        send_json(
            "POST",
            &api(&sim, &format!("device/{device}/warranty")),
            &t,
            &json!({"warrantyDate": "28/02/2029"})
        )
        .await
        .status,
        400
    );

    let target = sim.site_uids()[5].clone();
    let r = request(
        "PUT",
        &api(&sim, &format!("device/{device}/site/{target}")),
        &[("Authorization", &format!("Bearer {t}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(sim.device(&device).unwrap().site_uid, target);
    let r = request(
        "PUT",
        &api(&sim, &format!("device/{device}/site/nope")),
        &[("Authorization", &format!("Bearer {t}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn mutations_between_runs_show_up_in_the_api() {
    let sim = start(config()).await;
    let t = token(&sim).await;
    let site = sim
        .sites()
        .into_iter()
        .find(|s| s.kind == simulators::datto::SiteKind::Client)
        .unwrap();
    let other = sim.site_uids()[4].clone();
    let new = sim.add_devices(&site.uid, 3);
    assert_eq!(new.len(), 3);
    assert_eq!(sim.device_uids().len(), 203);
    sim.move_device(&new[0], &other);
    sim.change_device(&new[1], |d| {
        d.hostname = "RENAMED-PC".into();
        d.serial_number = Some("NEWSERIAL".into());
    });
    sim.delete_device(&new[2]);
    sim.change_site(&site.uid, |s| s.name = "Renamed Client".into());

    let (devices, _) = walk(&api(&sim, "account/devices"), &t, "devices").await;
    assert_eq!(devices.len(), 203);
    let find = |uid: &str| devices.iter().find(|d| d["uid"] == uid).unwrap().clone();
    assert_eq!(find(&new[0])["siteUid"], other.as_str());
    assert_eq!(find(&new[1])["hostname"], "RENAMED-PC");
    assert_eq!(find(&new[1])["siteName"], "Renamed Client");
    let deleted = find(&new[2]);
    assert_eq!(deleted["siteName"], DELETED_DEVICES_SITE);
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["siteUid"], sim.deleted_devices_site_uid().as_str());
    let audit = get(&api(&sim, &format!("audit/device/{}", new[1])), Some(&t))
        .await
        .json();
    if sim.device(&new[1]).unwrap().device_class == "device" {
        assert_eq!(audit["bios"]["serialNumber"], "NEWSERIAL");
    }
    let site_devs = get(&api(&sim, &format!("site/{}/devices", site.uid)), Some(&t))
        .await
        .json();
    let listed: Vec<&str> = site_devs["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["uid"].as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&new[1].as_str()) && !listed.contains(&new[0].as_str()) && !listed.contains(&new[2].as_str())
    );
    assert_eq!(sim.site_device_uids(&site.uid).len(), listed.len());
    let new_site = sim.add_site("Brand New Client");
    assert_eq!(
        get(&api(&sim, &format!("site/{new_site}")), Some(&t)).await.json()["name"],
        "Brand New Client"
    );
    sim.purge_device(&new[2]);
    assert_eq!(sim.device_uids().len(), 202);
}

#[tokio::test]
#[should_panic(expected = "no device with uid")]
async fn mutating_an_unknown_device_panics() {
    let sim = start(config()).await;
    sim.move_device("nope", &sim.site_uids()[0]);
}

#[tokio::test]
async fn same_seed_same_data_and_info_hides_the_secret() {
    let a = start(DattoConfig { seed: 7, ..config() }).await;
    let b = start(DattoConfig { seed: 7, ..config() }).await;
    let c = start(DattoConfig { seed: 8, ..config() }).await;
    let (pa, pb, pc) = (second_page(&a).await, second_page(&b).await, second_page(&c).await);
    assert_eq!(pa, pb);
    assert_ne!(pa, pc);

    let info = get(&format!("{}/_sim/info", a.base_url()), None).await;
    assert_eq!(info.status, 200);
    let text = info.text();
    assert!(!text.contains(&a.config().api_secret), "{text}");
    let info: Value = info.json();
    assert_eq!(info["platform"], "merlot");
    assert_eq!(info["apiKey"], a.config().api_key.as_str());
    assert_eq!(info["devices"], 200);
    assert!(
        !format!("{:?}", a.config()).contains(&a.config().api_secret),
        "Debug redacts the secret"
    );
}

/// The second device page, with the (per-simulator) origin masked.
async fn second_page(sim: &DattoSim) -> String {
    let t = token(sim).await;
    get(&api(sim, "account/devices?max=50&page=1"), Some(&t))
        .await
        .text()
        .replace(&sim.base_url(), "ORIGIN")
}

#[tokio::test]
async fn large_account_generates_quickly() {
    let started = Instant::now();
    let sim = start(DattoConfig {
        sites: 5_000,
        devices: 100_000,
        ..config()
    })
    .await;
    let took = started.elapsed();
    eprintln!(
        "5,000 sites / 100,000 devices: generated in {:?} (start {took:?})",
        sim.generation_time()
    );
    assert_eq!(sim.device_uids().len(), 100_000);
    let t = token(&sim).await;
    let page = get(&api(&sim, "account/devices?page=399"), Some(&t)).await.json();
    assert_eq!(page["pageDetails"]["count"], 250);
    assert!(page["pageDetails"]["nextPageUrl"].is_null());
    let sites = get(&api(&sim, "account/sites"), Some(&t)).await.json();
    assert_eq!(sites["pageDetails"]["totalCount"], 5_003);
    // Unoptimised test builds are ~10x slower than release; keep the bound generous here.
    assert!(took < Duration::from_secs(20));
}

/// A loopback receiver that records what is POSTed to it.
async fn capture_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<(Option<String>, Value)>>>) {
    use axum::routing::post;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let token = headers.get("x-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
                store
                    .lock()
                    .unwrap()
                    .push((token, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn alert_webhooks_are_sent_on_raise_and_on_each_resolution_once() {
    let sim = DattoSim::start(config()).await.unwrap();
    let (url, seen) = capture_server().await;
    sim.set_alert_webhook(Some(simulators::datto::AlertWebhook {
        url,
        headers: vec![("X-Token".into(), "t0k3n".into())],
    }));
    let device = sim.device_uids()[0].clone();
    let uid = sim.raise_alert(&device, "Critical", "disk_usage_ctx");
    sim.settle_webhooks(Duration::from_secs(5)).await;
    // Through the API, as rmmsync resolves it; a second resolve changes nothing and sends nothing.
    let t = token(&sim).await;
    let resolve = format!("{}/v2/alert/{uid}/resolve", sim.api_url());
    assert_eq!(send_json("POST", &resolve, &t, &json!({})).await.status, 200);
    assert_eq!(send_json("POST", &resolve, &t, &json!({})).await.status, 200);
    assert!(!sim.resolve_alert(&uid), "already resolved");
    sim.settle_webhooks(Duration::from_secs(5)).await;

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0.as_deref(), Some("t0k3n"));
    assert_eq!(seen[0].1["alertUid"], uid.as_str());
    assert_eq!(seen[0].1["priority"], "Critical");
    assert_eq!(seen[0].1["deviceUid"], device.as_str());
    assert_eq!(seen[0].1["resolved"], false);
    assert_eq!(seen[1].1["resolved"], true);
    let deliveries = sim.webhook_deliveries();
    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.iter().all(|d| d.status == Some(200)), "{deliveries:?}");
}
