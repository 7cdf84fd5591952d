//! Probe checks and lifecycle hook actions (exec, httpGet, tcpSocket, sleep).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, HTTPGetAction, LifecycleHandler, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where checks run: the pod's address and the container's process setup.
#[derive(Debug, Clone)]
pub struct Target {
    pub pod_ip: IpAddr,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub command_prefix: Vec<String>,
}

/// A failed check, with the kubelet's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

/// Run one probe check within its timeout.
pub async fn check(p: &Probe, c: &Container, t: &Target) -> Result<(), Failure> {
    let timeout = Duration::from_secs(p.timeout_seconds.unwrap_or(1).max(1) as u64);
    if let Some(e) = &p.exec {
        return exec(e.command.as_deref().unwrap_or(&[]), t, timeout).await;
    }
    if let Some(h) = &p.http_get {
        return http_get(h, c, t, timeout).await;
    }
    if let Some(s) = &p.tcp_socket {
        let port = resolve_port(&s.port, c)?;
        let host = s
            .host
            .as_deref()
            .and_then(|h| h.parse().ok())
            .unwrap_or(t.pod_ip);
        return tcp(host, port, timeout).await;
    }
    if let Some(g) = &p.grpc {
        // No gRPC client here: a listening port counts as serving.
        return tcp(t.pod_ip, g.port as u16, timeout).await;
    }
    Err(Failure("probe has no handler".into()))
}

/// Run a lifecycle hook; `limit` bounds exec and httpGet hooks.
pub async fn hook(
    h: &LifecycleHandler,
    c: &Container,
    t: &Target,
    limit: Duration,
) -> Result<(), Failure> {
    if let Some(e) = &h.exec {
        return exec(e.command.as_deref().unwrap_or(&[]), t, limit).await;
    }
    if let Some(g) = &h.http_get {
        return http_get(g, c, t, limit).await;
    }
    if let Some(s) = &h.sleep {
        tokio::time::sleep(Duration::from_secs(s.seconds.max(0) as u64).min(limit)).await;
        return Ok(());
    }
    if let Some(s) = &h.tcp_socket {
        let port = resolve_port(&s.port, c)?;
        return tcp(t.pod_ip, port, limit).await;
    }
    Err(Failure("hook has no handler".into()))
}

fn resolve_port(p: &IntOrString, c: &Container) -> Result<u16, Failure> {
    match p {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| Failure(format!("invalid port {n}"))),
        IntOrString::String(name) => {
            if let Ok(n) = name.parse::<u16>() {
                return Ok(n);
            }
            c.ports
                .iter()
                .flatten()
                .find(|cp| cp.name.as_deref() == Some(name.as_str()))
                .and_then(|cp| u16::try_from(cp.container_port).ok())
                .ok_or_else(|| Failure(format!("couldn't find port: {name} in {}", c.name)))
        }
    }
}

async fn exec(cmd: &[String], t: &Target, timeout: Duration) -> Result<(), Failure> {
    let argv: Vec<&String> = t.command_prefix.iter().chain(cmd.iter()).collect();
    let Some((prog, args)) = argv.split_first() else {
        return Err(Failure("exec probe has no command".into()));
    };
    let mut command = crate::process::command(prog, &t.env);
    command
        .args(args)
        .env_clear()
        .envs(t.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&t.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|e| Failure(format!("exec {prog:?}: {e}")))?;
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).to_string();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            let text = text.trim().to_string();
            if text.is_empty() {
                Err(Failure(format!(
                    "command {:?} exited with {}",
                    cmd.join(" "),
                    out.status.code().unwrap_or(-1)
                )))
            } else {
                Err(Failure(text))
            }
        }
        Ok(Err(e)) => Err(Failure(e.to_string())),
        Err(_) => {
            // Its children may hold on; the whole group goes.
            if let Some(pid) = pid {
                crate::process::signal_group(pid, "KILL").await;
            }
            Err(Failure(format!("command {:?} timed out", cmd.join(" "))))
        }
    }
}

async fn tcp(host: IpAddr, port: u16, timeout: Duration) -> Result<(), Failure> {
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Failure(format!(
            "dial tcp {host}:{port}: connect: {}",
            short_io(&e)
        ))),
        Err(_) => Err(Failure(format!("dial tcp {host}:{port}: i/o timeout"))),
    }
}

fn short_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => e.to_string(),
    }
}

async fn http_get(
    h: &HTTPGetAction,
    c: &Container,
    t: &Target,
    timeout: Duration,
) -> Result<(), Failure> {
    let port = resolve_port(&h.port, c)?;
    let host: IpAddr = h
        .host
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .unwrap_or(t.pod_ip);
    let path = h.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/");
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_lowercase();
    let url = format!("{scheme}://{host}:{port}{path}");
    if scheme == "https" {
        // No TLS client here: a listening port counts as serving.
        return tcp(host, port, timeout).await;
    }
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nConnection: close\r\n");
    for hdr in h.http_headers.iter().flatten() {
        req.push_str(&format!("{}: {}\r\n", hdr.name, hdr.value));
    }
    req.push_str("\r\n");
    let attempt = async {
        let mut s = TcpStream::connect((host, port)).await.map_err(|e| {
            Failure(format!(
                "Get \"{url}\": dial tcp {host}:{port}: connect: {}",
                short_io(&e)
            ))
        })?;
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| Failure(format!("Get \"{url}\": {e}")))?;
        let mut buf = Vec::with_capacity(256);
        let mut chunk = [0u8; 256];
        while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 4096 {
            let n = s
                .read(&mut chunk)
                .await
                .map_err(|e| Failure(format!("Get \"{url}\": {e}")))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&buf)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let code: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| Failure(format!("Get \"{url}\": malformed HTTP response {line:?}")))?;
        if (200..400).contains(&code) {
            Ok(())
        } else {
            Err(Failure(format!(
                "HTTP probe failed with statuscode: {code}"
            )))
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(r) => r,
        Err(_) => Err(Failure(format!(
            "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target() -> Target {
        Target {
            pod_ip: "127.0.0.1".parse().expect("ip"),
            env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
            cwd: std::env::temp_dir(),
            command_prefix: vec![],
        }
    }

    fn probe(v: serde_json::Value) -> Probe {
        serde_json::from_value(v).expect("probe")
    }

    #[tokio::test]
    async fn http_tcp_exec() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = l.local_addr().expect("addr").port();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let code = if req.starts_with("GET /ok ") {
                    200
                } else {
                    503
                };
                let _ = s
                    .write_all(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        let c: Container = serde_json::from_value(
            json!({"name": "c", "ports": [{"name": "http", "containerPort": port}]}),
        )
        .expect("c");
        let t = target();
        let ok = probe(json!({"httpGet": {"path": "/ok", "port": "http"}}));
        assert_eq!(check(&ok, &c, &t).await, Ok(()));
        let bad = probe(json!({"httpGet": {"path": "/bad", "port": port}}));
        assert_eq!(
            check(&bad, &c, &t).await,
            Err(Failure("HTTP probe failed with statuscode: 503".into()))
        );
        let tcp_ok = probe(json!({"tcpSocket": {"port": port}}));
        assert_eq!(check(&tcp_ok, &c, &t).await, Ok(()));
        let ex = probe(json!({"exec": {"command": ["sh", "-c", "echo nope; exit 1"]}}));
        assert_eq!(check(&ex, &c, &t).await, Err(Failure("nope".into())));
        let slow = probe(json!({"exec": {"command": ["sleep", "5"]}, "timeoutSeconds": 1}));
        assert!(check(&slow, &c, &t).await.is_err());
    }
}
