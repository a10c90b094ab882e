//! What the benchmark binaries share: moto as a child process (or the one in
//! `RMMSYNC_MOTO_ENDPOINT`), numbers from the environment, and the process's
//! peak RSS.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process killed (and reaped) when dropped.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Peak resident set size of this process so far, in MB (Linux `VmHWM`).
pub fn vm_hwm_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// moto's endpoint: `RMMSYNC_MOTO_ENDPOINT`, or moto's server started on a
/// free port through `scripts/moto_server.py` (queries read only the queried
/// partition, as DynamoDB's do; stopped when the returned guard drops).
pub fn start_moto() -> (String, Option<Kill>) {
    if let Ok(endpoint) = std::env::var("RMMSYNC_MOTO_ENDPOINT") {
        return (endpoint, None);
    }
    let port = free_port();
    let child = Kill(
        Command::new(workspace_root().join(".venv/bin/python"))
            .arg(workspace_root().join("scripts/moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "start moto with .venv/bin/python scripts/moto_server.py (run ./scripts/test.sh once to install it)",
            ),
    );
    for _ in 0..150 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (format!("http://127.0.0.1:{port}"), Some(child));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("moto did not start");
}
