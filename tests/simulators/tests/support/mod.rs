//! Test support: helpers for the Datto simulator on top of [`simulators::http`].

#![allow(dead_code)]

use base64::Engine;
use serde_json::Value;
use simulators::datto::DattoSim;
pub use simulators::http::{HttpResponse, request};

pub async fn get(url: &str, token: Option<&str>) -> HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    request("GET", url, &headers, None).await.expect("GET")
}

pub async fn send_json(method: &str, url: &str, token: &str, body: &Value) -> HttpResponse {
    let auth = format!("Bearer {token}");
    let body = serde_json::to_vec(body).unwrap();
    request(
        method,
        url,
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        Some(&body),
    )
    .await
    .expect("request")
}

pub fn public_client_basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("public-client:public")
    )
}

/// Percent-encodes all but RFC 3986's unreserved characters (form values, query values).
pub fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The password grant against `{platform_base}/auth/oauth/token`.
pub async fn token_request(platform_base: &str, key: &str, secret: &str) -> HttpResponse {
    let body = format!(
        "grant_type=password&username={}&password={}",
        form_encode(key),
        form_encode(secret)
    );
    let basic = public_client_basic();
    request(
        "POST",
        &format!("{platform_base}/auth/oauth/token"),
        &[
            ("Authorization", &basic),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(body.as_bytes()),
    )
    .await
    .expect("token request")
}

/// A valid token for the simulator's account.
pub async fn token(sim: &DattoSim) -> String {
    let c = sim.config();
    let r = token_request(&sim.platform_base_url(&c.platform), &c.api_key, &c.api_secret).await;
    assert_eq!(r.status, 200, "token: {}", r.text());
    r.json()["access_token"].as_str().unwrap().to_string()
}

/// `{api}/v2/{path}` of the simulator's platform.
pub fn api(sim: &DattoSim, path: &str) -> String {
    format!("{}/v2/{path}", sim.api_url())
}

/// Follows `nextPageUrl` from `first_url`; returns every item under `key` and the page count.
pub async fn walk(first_url: &str, token: &str, key: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut url = Some(first_url.to_string());
    let mut pages = 0;
    while let Some(u) = url {
        let r = get(&u, Some(token)).await;
        assert_eq!(r.status, 200, "{u}: {}", r.text());
        let page = r.json();
        let list = page[key].as_array().unwrap_or_else(|| panic!("no {key} in {page}"));
        assert_eq!(page["pageDetails"]["count"].as_u64().unwrap() as usize, list.len());
        items.extend(list.iter().cloned());
        pages += 1;
        assert!(pages < 10_000, "runaway paging");
        url = page["pageDetails"]["nextPageUrl"].as_str().map(str::to_string);
    }
    (items, pages)
}
