//! The `/_sim/` admin routes every simulator serves (no auth, loopback peers only, not counted
//! in the stats): the common ones here, each product's own through [`Admin::product_route`].
//!
//! Common: `GET /_sim/info`, `GET /_sim/stats`, `POST /_sim/reset-stats`, `GET|POST
//! /_sim/faults` ([`Faults`] as JSON; an empty body clears them), `POST /_sim/reset-limits`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use crate::gate::{Faults, Gate};
use crate::respond::json_response;

/// What a simulator gives the admin routes.
pub(crate) trait Admin {
    /// The admin routes' 404 message (it names the routes to try).
    const HELP: &'static str;

    fn gate(&self) -> &Gate;

    /// `GET /_sim/info`: what the simulator serves (never a secret).
    fn info(&self) -> Value;

    fn stats(&self) -> Value;

    fn reset_stats(&self);

    fn reset_limits(&self);

    /// An error in the simulator's own error shape.
    fn error(&self, code: u16, message: &str) -> Response;

    /// A JSON answer (the simulator's content type).
    fn reply(&self, code: u16, body: &Value) -> Response {
        json_response(code, body)
    }

    /// The simulator's own admin routes (`segs` follow `/_sim/`); `None` = not one of them.
    fn product_route(&self, method: &Method, segs: &[&str], body: &Bytes) -> Option<Response>;
}

/// Whether `path` is an admin route.
pub(crate) fn is_admin(path: &str) -> bool {
    path == "/_sim" || path.starts_with("/_sim/")
}

/// True for a body with nothing but whitespace.
pub(crate) fn blank(body: &Bytes) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// Answers an admin request.
pub(crate) fn serve<A: Admin>(sim: &A, peer: SocketAddr, method: &Method, path: &str, body: &Bytes) -> Response {
    if !peer.ip().is_loopback() {
        return sim.error(403, "The simulator's admin endpoints are loopback-only.");
    }
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(2).collect();
    let ok = |v: &Value| sim.reply(200, v);
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["info"]) => ok(&sim.info()),
        ("GET", ["stats"]) => ok(&sim.stats()),
        ("POST", ["reset-stats"]) => {
            sim.reset_stats();
            ok(&json!({"ok": true}))
        }
        ("POST", ["reset-limits"]) => {
            sim.reset_limits();
            ok(&json!({"ok": true}))
        }
        ("GET", ["faults"]) => ok(&faults_json(&sim.gate().faults())),
        ("POST", ["faults"]) => {
            let parsed = if blank(body) {
                Ok(Faults::default())
            } else {
                serde_json::from_slice::<Faults>(body)
            };
            match parsed {
                Ok(f) => match f.invalid() {
                    Some(why) => sim.error(400, why),
                    None => {
                        sim.gate().set_faults(f);
                        ok(&faults_json(&sim.gate().faults()))
                    }
                },
                Err(e) => sim.error(400, &format!("invalid faults JSON: {e}")),
            }
        }
        _ => sim
            .product_route(method, &segs, body)
            .unwrap_or_else(|| sim.error(404, A::HELP)),
    }
}

fn faults_json(f: &Faults) -> Value {
    serde_json::to_value(f).unwrap_or(Value::Null)
}
