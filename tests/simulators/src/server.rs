//! What every simulator does to serve: bind a listener, name its base URL, run the axum app
//! in a task until told to stop, and stop it on [`Server::shutdown`] or when dropped.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// `127.0.0.1:0`: loopback, ephemeral port (what `start` uses).
pub(crate) fn loopback_ephemeral() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A bound listener and the `http://host:port` clients reach it at.
pub(crate) struct Bound {
    pub listener: TcpListener,
    pub addr: SocketAddr,
    pub base_url: String,
}

/// Binds `addr` (port 0 = ephemeral). An unspecified address (`0.0.0.0`, `::`) is reached as
/// `127.0.0.1`; an IPv6 one goes in brackets.
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<Bound> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let base_url = format!("http://{host}:{}", addr.port());
    Ok(Bound {
        listener,
        addr,
        base_url,
    })
}

/// A running axum server. Dropping it stops the server in the background; [`Server::shutdown`]
/// also waits for it.
pub(crate) struct Server {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `app` on `listener` (with the peer address available to handlers) until stopped.
    /// `name` says which simulator failed in the log.
    pub(crate) fn spawn(listener: TcpListener, app: Router, name: &'static str) -> Server {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                });
            if let Err(e) = server.await {
                tracing::error!(error = %e, "{name} sim server failed");
            }
        });
        Server {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server and waits for it.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
