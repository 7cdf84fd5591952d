//! The built-in demo server's contract.

use std::process::{Command, Stdio};
use std::time::Duration;

use test_support::wait_for;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn curl(url: &str) -> (String, String) {
    let out = test_support::run(
        {
            let mut c = Command::new("curl");
            c.args(["-s", "--max-time", "5", "-w", "\n%{http_code}", url]);
            c
        },
        None,
        Duration::from_secs(10),
    )
    .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    (body.to_string(), code.to_string())
}

fn start(env: &[(&str, &str)]) -> (Kill, u16) {
    let port = free_port();
    let mut c = Command::new(env!("CARGO_BIN_EXE_slipway"));
    c.arg("demo-app")
        .env("PORT", port.to_string())
        .env("POD_IP", "127.0.0.1")
        .stdout(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let child = Kill(c.spawn().expect("spawn demo"));
    wait_for("demo listening", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|_| ())
    });
    (child, port)
}

#[test]
fn answers_with_tag_and_pod_name() {
    let (_d, port) = start(&[("DEMO_TAG", "v7"), ("POD_NAME", "web-abc")]);
    let (body, code) = curl(&format!("http://127.0.0.1:{port}/"));
    assert_eq!(code, "200");
    assert!(
        body.contains("v7") && body.contains("pod=web-abc"),
        "{body}"
    );
    assert_eq!(
        curl(&format!("http://127.0.0.1:{port}/version")).0.trim(),
        "v7"
    );
    assert_eq!(curl(&format!("http://127.0.0.1:{port}/healthz")).1, "200");
    assert_eq!(curl(&format!("http://127.0.0.1:{port}/readyz")).1, "200");
}

#[test]
fn knobs_not_ready_and_errors() {
    let (_d, port) = start(&[("DEMO_READY", "false"), ("DEMO_ERROR_RATE", "1.0")]);
    assert_eq!(curl(&format!("http://127.0.0.1:{port}/readyz")).1, "503");
    assert_eq!(curl(&format!("http://127.0.0.1:{port}/")).1, "500");
    assert_eq!(curl(&format!("http://127.0.0.1:{port}/healthz")).1, "200");
}

#[test]
fn latency_knob_delays_answers() {
    let (_d, port) = start(&[("DEMO_LATENCY_MS", "300")]);
    let t = std::time::Instant::now();
    assert_eq!(curl(&format!("http://127.0.0.1:{port}/")).1, "200");
    assert!(t.elapsed() >= Duration::from_millis(300));
}
