//! The callback emitter and [`CallbackSink`], a loopback receiver for tests.
//!
//! Deliveries go out over the crate's HTTP/1.1 client ([`crate::http`]; `http://` targets
//! only: the simulator is for loopback tests; an `https://` target is recorded as a failed
//! attempt).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};

use super::lock;
use crate::http;

/// `x-content-signature` = Base64(HMAC-SHA256(key = SHA256(signing_key), body)).
pub fn sign(signing_key: &str, body: &[u8]) -> String {
    let key = Sha256::digest(signing_key.as_bytes());
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// One delivery attempt of a callback.
#[derive(Debug, Clone, Serialize)]
pub struct CallbackDelivery {
    /// The `/system/callbacks` id.
    pub callback_id: i64,
    pub message_id: String,
    pub url: String,
    /// 1 for the first try, 2 and 3 for the retries.
    pub attempt: u32,
    /// The receiver's status; `None` when it could not be reached or timed out.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub body: String,
    pub signature: String,
}

pub(crate) struct Outgoing {
    pub callback_id: i64,
    pub message_id: String,
    pub url: String,
    pub body: String,
    pub signature: String,
}

/// Delivers one payload with the documented retries; records each attempt in `log`.
pub(crate) async fn deliver(
    out: Outgoing,
    timeout: Duration,
    retry_delays: Vec<Duration>,
    log: Arc<Mutex<Vec<CallbackDelivery>>>,
) {
    let mut attempt = 1;
    loop {
        let result = tokio::time::timeout(timeout, post(&out.url, &out.body, &out.signature)).await;
        let (status, error) = match result {
            Ok(Ok(s)) => (Some(s), None),
            Ok(Err(e)) => (None, Some(e.to_string())),
            Err(_) => (None, Some(format!("timed out after {timeout:?}"))),
        };
        lock(&log).push(CallbackDelivery {
            callback_id: out.callback_id,
            message_id: out.message_id.clone(),
            url: out.url.clone(),
            attempt,
            status,
            error,
            body: out.body.clone(),
            signature: out.signature.clone(),
        });
        // Only 404, 409, 419 and 429 are retried.
        let retry = matches!(status, Some(404 | 409 | 419 | 429));
        match retry_delays.get(attempt as usize - 1) {
            Some(delay) if retry => {
                tokio::time::sleep(*delay).await;
                attempt += 1;
            }
            _ => return,
        }
    }
}

async fn post(url: &str, body: &str, signature: &str) -> io::Result<u16> {
    if !url.starts_with("http://") {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the simulator delivers to http:// URLs only",
        ));
    }
    let headers = [("Content-Type", "application/json"), ("x-content-signature", signature)];
    let response = http::request_untimed("POST", url, &headers, Some(body.as_bytes())).await?;
    Ok(response.status)
}

/// A request a [`CallbackSink`] received.
#[derive(Debug, Clone)]
pub struct ReceivedCallback {
    /// Path and query, e.g. `/hook?id=42`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ReceivedCallback {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

struct SinkState {
    received: Vec<ReceivedCallback>,
    /// Statuses to answer, in order; 200 once empty.
    statuses: VecDeque<u16>,
}

/// A tiny HTTP receiver on loopback that records what it is sent (for tests of callbacks).
pub struct CallbackSink {
    addr: SocketAddr,
    state: Arc<Mutex<SinkState>>,
    task: tokio::task::JoinHandle<()>,
}

impl CallbackSink {
    pub async fn start() -> io::Result<CallbackSink> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(SinkState {
            received: Vec::new(),
            statuses: VecDeque::new(),
        }));
        let st = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let st = st.clone();
                tokio::spawn(async move {
                    let _ = serve_one(stream, st).await;
                });
            }
        });
        Ok(CallbackSink { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers these statuses to the next requests, in order (then 200).
    pub fn respond_with(&self, statuses: &[u16]) {
        lock(&self.state).statuses = statuses.iter().copied().collect();
    }

    pub fn received(&self) -> Vec<ReceivedCallback> {
        lock(&self.state).received.clone()
    }

    /// Waits until at least `n` requests arrived (or `timeout` passed); returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedCallback> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for CallbackSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_one(stream: TcpStream, state: Arc<Mutex<SinkState>>) -> io::Result<()> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let (head_end, content_length) = loop {
        let n = read_some(&stream, &mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..i]).to_string();
            let len = head
                .split("\r\n")
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i, len);
        }
    };
    while raw.len() < head_end + 4 + content_length {
        let n = read_some(&stream, &mut buf).await?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let target = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let end = (head_end + 4 + content_length).min(raw.len());
    let body = raw[head_end + 4..end].to_vec();
    let status = {
        let mut s = lock(&state);
        s.received.push(ReceivedCallback { target, headers, body });
        s.statuses.pop_front().unwrap_or(200)
    };
    let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    http::write_all(&stream, reply.as_bytes()).await
}

/// `tokio` is built without `io-util` here: readiness + `try_*` instead of the extension traits.
async fn read_some(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.try_read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}
