//! The local API server: every flow's router ([`App::all_routes`]) behind
//! the same edge the Lambdas use ([`shared::api::finish`]), on loopback
//! only, with two differences that exist here and nowhere else:
//!
//! - every request carries [`LocalIdentity`], so the headers `X-Dev-Tenant`,
//!   `X-Dev-User` and `X-Dev-Roles` stand in for the JWT claims API
//!   Gateway's authorizer would have verified (the Lambda binaries never
//!   insert it, so there those headers mean nothing);
//! - `GET /openapi.json` answers the OpenAPI document ([`openapi_json`]).
//!
//! `cargo run -p rmmsync-tests --bin local-api` runs it; `scripts/local-api.sh`
//! starts it with moto and the simulators, `scripts/contract.sh` fuzzes it.

use axum::http::header;
use shared::api::LocalIdentity;
use shared::app::App;
use std::net::{Ipv4Addr, SocketAddr};

/// The OpenAPI document as `docs/openapi.json` holds it: pretty JSON and a final newline.
pub fn openapi_json() -> String {
    let mut text = shared::app::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

/// The local server's router: the Lambdas' edge plus [`LocalIdentity`] on
/// every request and `GET /openapi.json`.
pub fn router(app: &App) -> axum::Router {
    let doc = openapi_json();
    shared::api::finish(app.all_routes())
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], doc) }
            }),
        )
        .layer(axum::Extension(LocalIdentity))
}

/// Binds `127.0.0.1:port` (0 = a free port; never any other address) and
/// returns the bound address and the server, to await or spawn.
pub async fn bind(
    app: &App,
    port: u16,
) -> std::io::Result<(
    SocketAddr,
    impl std::future::Future<Output = std::io::Result<()>> + Send + 'static,
)> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let addr = listener.local_addr()?;
    let router = router(app);
    Ok((addr, async move { axum::serve(listener, router).await }))
}
