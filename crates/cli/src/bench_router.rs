//! `slipway bench router`: the router against nginx as a reverse proxy to the
//! same demo pods, side by side in one run with the same `wrk` settings, and
//! how fast a Service selector switch takes effect for a keep-alive client.
//!
//! Against a fresh slipway (this binary) started in a temp dir:
//!
//! * For each replica count, a Deployment of `slipway/demo:v1` pods on port 80
//!   and a ClusterIP Service (port name `http`, so the router proxies per
//!   request). `wrk --latency` with keep-alive and fixed connections runs
//!   against (a) one pod IP directly, the baseline, (b) nginx
//!   (`upstream … keepalive 64`, `proxy_http_version 1.1`, its config
//!   generated into a temp dir and the process a child of this one), (c) the
//!   router at ClusterIP:80 — once at `--connections` and once at
//!   `--low-connections` for latency at moderate load (wrk has no fixed-rate
//!   mode). RSS and CPU of the proxy are sampled while wrk runs; the router
//!   lives inside the slipway process, so its RSS is slipway's, before and
//!   during load.
//! * Switch: Deployments v1 and v2 (one replica each) behind one Service;
//!   keep-alive clients in this process loop on the ClusterIP while the
//!   Service selector is merge-patched back and forth. Per switch: patch sent
//!   → acknowledged, sent → first response from the new version, ack → first
//!   new response, and old-version answers to requests sent after the ack
//!   (must be 0: the API server acknowledges a Service write only once the
//!   router routes by it).
//!
//! Needs root (pods in their own network namespaces, so pod IPs are
//! reachable from the host), and `wrk` and `nginx` installed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::Client;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::bench::{self, percentile, rss_kb};

#[derive(clap::Args)]
pub struct RouterBench {
    /// Length of each measured wrk run (whole seconds: `10s`, `1m`, `15`).
    #[arg(long, default_value = "10s", value_parser = parse_secs)]
    duration: u64,
    /// wrk connections for the full-load runs.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// wrk connections for the moderate-load runs (latency below saturation).
    #[arg(long, default_value_t = 4)]
    low_connections: usize,
    /// Replica counts measured, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    replicas: Vec<i32>,
    /// Selector switches in the blue/green measurement (0 skips it).
    #[arg(long, default_value_t = 50)]
    switches: usize,
    /// Keep-alive client connections looping during the switches.
    #[arg(long, default_value_t = 2)]
    switch_clients: usize,
}

fn parse_secs(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix('s') {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60)
    } else {
        (s, 1)
    };
    match num.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n * mult),
        _ => Err(format!(
            "expected whole seconds such as 10s or 1m, not {s:?}"
        )),
    }
}

/// A program on PATH, or in the sbin directories a non-root PATH may lack
/// (Debian installs nginx in /usr/sbin).
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// User + system CPU time of a process (all its threads), from /proc.
fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command (which may contain spaces) start at `state`;
    // utime and stime are fields 14 and 15 of the whole line. Linux reports
    // them in USER_HZ, which is 100 on every architecture it supports.
    let ticks: u64 = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Direct children of `pid` (nginx's workers).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// === a minimal HTTP/1.1 keep-alive client ===

/// One keep-alive connection speaking just enough HTTP/1.1 for the demo
/// app's `Content-Length` responses. Written by hand because the cli crate
/// has no HTTP client dependency, and so that nothing (pooling, retries)
/// stands between the measurement and the socket.
struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            buf: Vec::with_capacity(4096),
        }
    }

    /// `GET path`: status and body. A connection the server closes (or an
    /// error) is dropped; the next call reconnects.
    async fn get(&mut self, path: &str) -> Result<(u16, Vec<u8>)> {
        let r = self.get_inner(path).await;
        if r.is_err() {
            self.stream = None;
            self.buf.clear();
        }
        r
    }

    async fn get_inner(&mut self, path: &str) -> Result<(u16, Vec<u8>)> {
        if self.stream.is_none() {
            let s = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(self.addr))
                .await
                .map_err(|_| anyhow!("connect to {} timed out", self.addr))??;
            s.set_nodelay(true)?;
            self.stream = Some(s);
            self.buf.clear();
        }
        let Some(stream) = self.stream.as_mut() else {
            bail!("no connection");
        };
        let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        stream.write_all(req.as_bytes()).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            read_more(stream, &mut self.buf, deadline).await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).context("response head")?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line"))?;
        let mut len = None;
        let mut close = false;
        for l in lines {
            let Some((k, v)) = l.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            if k.eq_ignore_ascii_case("content-length") {
                len = v.parse::<usize>().ok();
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                bail!("chunked responses are not supported by the bench client");
            } else if k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close") {
                close = true;
            }
        }
        let len = len.ok_or_else(|| anyhow!("response without Content-Length"))?;
        while self.buf.len() < head_end + len {
            read_more(stream, &mut self.buf, deadline).await?;
        }
        let body = self.buf[head_end..head_end + len].to_vec();
        self.buf.drain(..head_end + len);
        if close {
            self.stream = None;
            self.buf.clear();
        }
        Ok((status, body))
    }
}

async fn read_more(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: tokio::time::Instant,
) -> Result<()> {
    let mut chunk = [0u8; 4096];
    let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
        .await
        .map_err(|_| anyhow!("response timed out"))??;
    if n == 0 {
        bail!("connection closed mid-response");
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// The tag in a demo app's `slipway-demo <tag> pod=<name>` answer.
fn demo_tag(body: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(body).ok()?;
    let mut w = s.split_whitespace();
    (w.next()? == "slipway-demo").then(|| w.next().map(str::to_string))?
}

/// GET / until it answers 200 (the router has the Service and a ready
/// endpoint; nginx is listening).
async fn wait_http(addr: SocketAddr, limit: Duration) -> Result<()> {
    let t = Instant::now();
    let mut last = String::new();
    while t.elapsed() < limit {
        let mut c = Conn::new(addr);
        match c.get("/").await {
            Ok((200, _)) => return Ok(()),
            Ok((s, _)) => last = format!("status {s}"),
            Err(e) => last = format!("{e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("http://{addr}/ did not answer 200 within {limit:?} (last: {last})")
}

// === objects ===

fn deployment(
    name: &str,
    labels: &serde_json::Value,
    tag: &str,
    replicas: i32,
) -> Result<Deployment> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{
                        "name": "demo",
                        "image": format!("slipway/demo:{tag}"),
                        "ports": [{"containerPort": 80}],
                        "readinessProbe": {
                            "httpGet": {"path": "/readyz", "port": 80},
                            "periodSeconds": 1
                        }
                    }]
                }
            }
        }
    }))?)
}

fn service(name: &str, selector: &serde_json::Value) -> Result<Service> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": 80}]
        }
    }))?)
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// IPs of `want` Ready pods matching `labels`.
async fn ready_pod_ips(pods: &Api<Pod>, labels: &str, want: usize) -> Result<Vec<String>> {
    let t = Instant::now();
    loop {
        let l = pods.list(&ListParams::default().labels(labels)).await?;
        let ips: Vec<String> = l
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none() && pod_ready(p))
            .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
            .collect();
        if ips.len() >= want {
            return Ok(ips);
        }
        if t.elapsed() > Duration::from_secs(120) {
            bail!("{labels}: {} of {want} pods Ready after 120 s", ips.len());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn cluster_ip(svcs: &Api<Service>, name: &str) -> Result<std::net::IpAddr> {
    let s = svcs.get(name).await?;
    s.spec
        .and_then(|s| s.cluster_ip)
        .and_then(|ip| ip.parse().ok())
        .ok_or_else(|| anyhow!("Service {name} has no ClusterIP"))
}

/// Delete Deployments and Services, then wait until their pods are gone.
async fn cleanup(c: &Client, deps: &[&str], svcs: &[&str], labels: &str) -> Result<()> {
    let dapi: Api<Deployment> = Api::namespaced(c.clone(), "default");
    let sapi: Api<Service> = Api::namespaced(c.clone(), "default");
    let papi: Api<Pod> = Api::namespaced(c.clone(), "default");
    for d in deps {
        dapi.delete(d, &DeleteParams::background()).await?;
    }
    for s in svcs {
        sapi.delete(s, &DeleteParams::default()).await?;
    }
    let t = Instant::now();
    loop {
        let left = papi
            .list(&ListParams::default().labels(labels))
            .await?
            .items
            .len();
        if left == 0 {
            return Ok(());
        }
        if t.elapsed() > Duration::from_secs(120) {
            bail!("{left} pods ({labels}) still present 120 s after deleting their Deployments");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// === nginx ===

/// nginx as a child process, config and logs in its own temp dir.
struct Nginx {
    child: std::process::Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Nginx {
    fn start(bin: &Path, backends: &[String]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        // A free port: bind, read it, release it for nginx. The window in
        // between is tiny and only loopback is involved.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let d = dir.path().display();
        let servers: String = backends
            .iter()
            .map(|ip| format!("        server {ip}:80;\n"))
            .collect();
        // Every path nginx writes to lives in the temp dir: Debian's
        // compiled-in defaults point at /var/lib/nginx and /var/log/nginx.
        let conf = format!(
            "daemon off;\n\
             master_process on;\n\
             worker_processes auto;\n\
             user root root;\n\
             pid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\n\
             events {{\n    worker_connections 4096;\n}}\n\
             http {{\n\
             \x20   access_log off;\n\
             \x20   client_body_temp_path {d}/body;\n\
             \x20   proxy_temp_path {d}/proxy;\n\
             \x20   fastcgi_temp_path {d}/fastcgi;\n\
             \x20   uwsgi_temp_path {d}/uwsgi;\n\
             \x20   scgi_temp_path {d}/scgi;\n\
             \x20   keepalive_requests 1000000;\n\
             \x20   upstream backend {{\n{servers}        keepalive 64;\n        keepalive_requests 1000000;\n    }}\n\
             \x20   server {{\n\
             \x20       listen {addr};\n\
             \x20       location / {{\n\
             \x20           proxy_pass http://backend;\n\
             \x20           proxy_http_version 1.1;\n\
             \x20           proxy_set_header Connection \"\";\n\
             \x20       }}\n\
             \x20   }}\n\
             }}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let child = std::process::Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdout(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Self { child, addr, dir })
    }

    fn workers(&self) -> Vec<u32> {
        children(self.child.id())
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// SIGTERM (nginx's fast shutdown: the master stops its workers), then
    /// wait; SIGKILL after 5 s.
    async fn stop(mut self) -> Result<()> {
        let pid = self.child.id();
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        let t = Instant::now();
        while self.child.try_wait()?.is_none() {
            if t.elapsed() > Duration::from_secs(5) {
                bail!("nginx (pid {pid}) did not stop within 5 s of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// === wrk ===

#[derive(Default, Clone)]
struct WrkResult {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: u64,
}

/// `1.23ms`, `456.00us`, `2.00s`, `1.00m` as wrk prints latencies.
fn wrk_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    Some(Duration::from_secs_f64(num.parse::<f64>().ok()? * scale))
}

fn parse_wrk(out: &str) -> Result<WrkResult> {
    let mut r = WrkResult::default();
    let mut have_rps = false;
    for line in out.lines() {
        let l = line.trim();
        if let Some(v) = l.strip_prefix("Requests/sec:") {
            r.rps = v.trim().parse().context("Requests/sec")?;
            have_rps = true;
        } else if let Some(v) = l.strip_prefix("50%") {
            r.p50 = wrk_duration(v).ok_or_else(|| anyhow!("50% latency {v:?}"))?;
        } else if let Some(v) = l.strip_prefix("99%") {
            r.p99 = wrk_duration(v).ok_or_else(|| anyhow!("99% latency {v:?}"))?;
        } else if let Some(v) = l.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            r.errors += v
                .split(',')
                .filter_map(|f| f.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        } else if let Some(v) = l.strip_prefix("Non-2xx or 3xx responses:") {
            r.errors += v.trim().parse::<u64>().unwrap_or(0);
        }
    }
    if !have_rps {
        bail!("no Requests/sec in wrk's output:\n{out}");
    }
    Ok(r)
}

/// The proxy under test, for sampling while wrk runs.
#[derive(Clone, Copy)]
enum Proxy<'a> {
    None,
    Nginx(&'a Nginx),
    Slipway(u32),
}

impl Proxy<'_> {
    fn pids(&self) -> Vec<u32> {
        match self {
            Proxy::None => Vec::new(),
            // Workers do the proxying; the master only supervises.
            Proxy::Nginx(n) => n.workers(),
            Proxy::Slipway(pid) => vec![*pid],
        }
    }

    fn rss_kb(&self) -> u64 {
        self.pids().into_iter().filter_map(rss_kb).sum()
    }

    fn cpu(&self) -> Duration {
        self.pids().into_iter().map(cpu_time).sum()
    }
}

struct Measured {
    wrk: WrkResult,
    rss_before_kb: u64,
    rss_max_kb: u64,
    /// Proxy CPU time over wall time: cores busy proxying.
    cores: f64,
}

struct WrkSettings<'a> {
    bin: &'a Path,
    threads: usize,
    secs: u64,
}

async fn run_wrk(
    w: &WrkSettings<'_>,
    url: &str,
    connections: usize,
    secs: u64,
    proxy: Proxy<'_>,
) -> Result<Measured> {
    let threads = w.threads.clamp(1, connections.max(1));
    let rss_before_kb = proxy.rss_kb();
    let cpu0 = proxy.cpu();
    let t0 = Instant::now();
    let child = tokio::process::Command::new(w.bin)
        .args([
            "-t",
            &threads.to_string(),
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{secs}s"),
            "--latency",
            url,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", w.bin.display()))?;
    let out = child.wait_with_output();
    tokio::pin!(out);
    let mut rss_max_kb = rss_before_kb;
    let out = loop {
        tokio::select! {
            o = &mut out => break o?,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                rss_max_kb = rss_max_kb.max(proxy.rss_kb());
            }
        }
    };
    let wall = t0.elapsed();
    let cores = (proxy.cpu().saturating_sub(cpu0)).as_secs_f64() / wall.as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk {url} failed ({}): {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(Measured {
        wrk: parse_wrk(&stdout)?,
        rss_before_kb,
        rss_max_kb,
        cores,
    })
}

// === the throughput comparison ===

async fn compare(
    c: &Client,
    args: &RouterBench,
    w: &WrkSettings<'_>,
    nginx_bin: &Path,
    slipway_pid: u32,
    replicas: i32,
) -> Result<()> {
    let name = format!("rb{replicas}");
    let labels = json!({"app": name});
    let sel = format!("app={name}");
    let dapi: Api<Deployment> = Api::namespaced(c.clone(), "default");
    let sapi: Api<Service> = Api::namespaced(c.clone(), "default");
    let papi: Api<Pod> = Api::namespaced(c.clone(), "default");
    dapi.create(
        &PostParams::default(),
        &deployment(&name, &labels, "v1", replicas)?,
    )
    .await?;
    sapi.create(&PostParams::default(), &service(&name, &labels)?)
        .await?;
    let ips = ready_pod_ips(&papi, &sel, replicas as usize).await?;
    let cip = cluster_ip(&sapi, &name).await?;
    let direct: SocketAddr = format!("{}:80", ips[0]).parse()?;
    let routed = SocketAddr::new(cip, 80);
    wait_http(direct, Duration::from_secs(30)).await?;
    wait_http(routed, Duration::from_secs(30)).await?;
    let nginx = Nginx::start(nginx_bin, &ips)?;
    let res = compare_runs(args, w, &nginx, slipway_pid, replicas, &ips, direct, routed).await;
    if res.is_err() {
        eprintln!("nginx error log:\n{}", nginx.error_log());
    }
    let stopped = nginx.stop().await;
    cleanup(c, &[&name], &[&name], &sel).await?;
    res?;
    stopped
}

#[allow(clippy::too_many_arguments)]
async fn compare_runs(
    args: &RouterBench,
    w: &WrkSettings<'_>,
    nginx: &Nginx,
    slipway_pid: u32,
    replicas: i32,
    ips: &[String],
    direct: SocketAddr,
    routed: SocketAddr,
) -> Result<()> {
    wait_http(nginx.addr, Duration::from_secs(10)).await?;
    let targets: [(&str, String, Proxy); 3] = [
        ("direct pod", format!("http://{direct}/"), Proxy::None),
        (
            "nginx",
            format!("http://{}/", nginx.addr),
            Proxy::Nginx(nginx),
        ),
        (
            "router",
            format!("http://{routed}/"),
            Proxy::Slipway(slipway_pid),
        ),
    ];
    // Warm up: connection pools, nginx upstream keep-alive, page cache.
    for (_, url, proxy) in &targets {
        run_wrk(w, url, args.connections, 2, *proxy).await?;
    }
    println!();
    println!(
        "== {replicas} replica(s) (pods {}), direct = {direct}, nginx = {}, router = {routed}; wrk -t{} -d{}s --latency, keep-alive ==",
        ips.join(","),
        nginx.addr,
        w.threads,
        w.secs
    );
    println!(
        "{:>5}  {:<10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7}  {:>10} {:>10}  {:>13} {:>13}",
        "conns",
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "+p50 ms",
        "+p99 ms",
        "errors",
        "proxy CPU",
        "CPU us/req",
        "RSS before MB",
        "RSS during MB"
    );
    let mut levels = vec![args.connections];
    if args.low_connections != args.connections {
        levels.push(args.low_connections);
    }
    let mut summary = Vec::new();
    for conns in levels {
        let mut base: Option<WrkResult> = None;
        let mut rows = Vec::new();
        for (label, url, proxy) in &targets {
            let m = run_wrk(w, url, conns, w.secs, *proxy).await?;
            let b = base.get_or_insert_with(|| m.wrk.clone()).clone();
            let added = |x: Duration, y: Duration| ms(x) - ms(y);
            let (cpu, per_req, before, during) = match proxy {
                Proxy::None => ("-".into(), "-".into(), "-".into(), "-".into()),
                _ => (
                    format!("{:.2} cores", m.cores),
                    format!("{:.1}", m.cores * 1e6 / m.wrk.rps.max(1e-9)),
                    format!("{:.1}", mb(m.rss_before_kb)),
                    format!("{:.1}", mb(m.rss_max_kb)),
                ),
            };
            println!(
                "{:>5}  {:<10} {:>10.0} {:>9.3} {:>9.3} {:>9} {:>9} {:>7}  {:>10} {:>10}  {:>13} {:>13}",
                conns,
                label,
                m.wrk.rps,
                ms(m.wrk.p50),
                ms(m.wrk.p99),
                match proxy {
                    Proxy::None => "-".to_string(),
                    _ => format!("{:+.3}", added(m.wrk.p50, b.p50)),
                },
                match proxy {
                    Proxy::None => "-".to_string(),
                    _ => format!("{:+.3}", added(m.wrk.p99, b.p99)),
                },
                m.wrk.errors,
                cpu,
                per_req,
                before,
                during,
            );
            rows.push(m);
        }
        if let [_, n, r] = rows.as_slice() {
            summary.push(format!(
                "  {conns:>3} conns: router/nginx req/s = {:.2}; router RSS delta under load {:+.1} MB (slipway {:.1} -> {:.1} MB); nginx workers {:.1} MB",
                r.wrk.rps / n.wrk.rps.max(1e-9),
                mb(r.rss_max_kb) - mb(r.rss_before_kb),
                mb(r.rss_before_kb),
                mb(r.rss_max_kb),
                mb(n.rss_max_kb),
            ));
        }
    }
    for s in summary {
        println!("{s}");
    }
    Ok(())
}

// === the switch measurement ===

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Answer {
    V1,
    V2,
    Other,
}

struct Sample {
    sent: Instant,
    recv: Instant,
    answer: Answer,
}

#[derive(Default)]
struct Samples {
    all: Vec<Sample>,
    /// Receive time of the latest answer of each version, so the switch loop
    /// can wait for the new version without scanning `all`.
    last_v1: Option<Instant>,
    last_v2: Option<Instant>,
}

async fn client_loop(
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Samples>>,
    errors: Arc<AtomicU64>,
) {
    let mut conn = Conn::new(addr);
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        let r = conn.get("/").await;
        let recv = Instant::now();
        let answer = match &r {
            Ok((200, body)) => match demo_tag(body).as_deref() {
                Some("v1") => Answer::V1,
                Some("v2") => Answer::V2,
                _ => Answer::Other,
            },
            _ => Answer::Other,
        };
        if answer == Answer::Other {
            errors.fetch_add(1, Ordering::Relaxed);
            if r.is_err() {
                // A refused or reset connection must not spin.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let mut s = samples.lock().unwrap_or_else(|e| e.into_inner());
        match answer {
            Answer::V1 => s.last_v1 = Some(recv),
            Answer::V2 => s.last_v2 = Some(recv),
            Answer::Other => {}
        }
        s.all.push(Sample { sent, recv, answer });
    }
}

struct Switch {
    sent: Instant,
    ack: Instant,
    to: Answer,
}

async fn switch_bench(c: &Client, args: &RouterBench) -> Result<()> {
    let dapi: Api<Deployment> = Api::namespaced(c.clone(), "default");
    let sapi: Api<Service> = Api::namespaced(c.clone(), "default");
    let papi: Api<Pod> = Api::namespaced(c.clone(), "default");
    for v in ["v1", "v2"] {
        let labels = json!({"app": "bg", "version": v});
        dapi.create(
            &PostParams::default(),
            &deployment(&format!("bg-{v}"), &labels, v, 1)?,
        )
        .await?;
    }
    sapi.create(
        &PostParams::default(),
        &service("bg", &json!({"app": "bg", "version": "v1"}))?,
    )
    .await?;
    ready_pod_ips(&papi, "app=bg", 2).await?;
    let addr = SocketAddr::new(cluster_ip(&sapi, "bg").await?, 80);
    wait_http(addr, Duration::from_secs(30)).await?;

    let res = switch_runs(&sapi, addr, args).await;
    cleanup(c, &["bg-v1", "bg-v2"], &["bg"], "app=bg").await?;
    res
}

async fn switch_runs(sapi: &Api<Service>, addr: SocketAddr, args: &RouterBench) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let samples: Arc<Mutex<Samples>> = Arc::default();
    let errors = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..args.switch_clients.max(1) {
        clients.push(tokio::spawn(client_loop(
            addr,
            stop.clone(),
            samples.clone(),
            errors.clone(),
        )));
    }
    // Let the clients settle on v1 first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t_start = Instant::now();
    let mut switches = Vec::new();
    let mut timeouts = 0;
    for i in 0..args.switches {
        let (to, v) = if i % 2 == 0 {
            (Answer::V2, "v2")
        } else {
            (Answer::V1, "v1")
        };
        let patch = json!({"spec": {"selector": {"version": v}}});
        let sent = Instant::now();
        sapi.patch("bg", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .with_context(|| format!("switch {i} to {v}"))?;
        let ack = Instant::now();
        switches.push(Switch { sent, ack, to });
        // Wait for the new version, then let the clients run on it for a
        // while so old-version stragglers would show up in this window.
        let t = Instant::now();
        loop {
            let seen = {
                let s = samples.lock().unwrap_or_else(|e| e.into_inner());
                match to {
                    Answer::V1 => s.last_v1,
                    _ => s.last_v2,
                }
            };
            if seen.is_some_and(|r| r >= sent) {
                break;
            }
            if t.elapsed() > Duration::from_secs(5) {
                timeouts += 1;
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = t_start.elapsed();
    stop.store(true, Ordering::Relaxed);
    for cl in clients {
        let _ = tokio::time::timeout(Duration::from_secs(15), cl).await;
    }
    let samples = std::mem::take(&mut samples.lock().unwrap_or_else(|e| e.into_inner()).all);

    let mut to_ack = Vec::new();
    let mut to_first = Vec::new();
    let mut ack_to_first = Vec::new();
    let mut before_ack = 0;
    let mut stale = 0;
    let mut missing = 0;
    for (i, sw) in switches.iter().enumerate() {
        let end = switches.get(i + 1).map(|n| n.sent);
        let within = |t: Instant| t >= sw.sent && end.is_none_or(|e| t < e);
        to_ack.push(sw.ack - sw.sent);
        let first = samples
            .iter()
            .filter(|s| s.answer == sw.to && within(s.recv))
            .map(|s| s.recv)
            .min();
        match first {
            Some(f) => {
                to_first.push(f - sw.sent);
                if f < sw.ack {
                    before_ack += 1;
                }
                ack_to_first.push(f.saturating_duration_since(sw.ack));
            }
            None => missing += 1,
        }
        let old = match sw.to {
            Answer::V1 => Answer::V2,
            _ => Answer::V1,
        };
        stale += samples
            .iter()
            .filter(|s| s.answer == old && s.sent >= sw.ack && end.is_none_or(|e| s.sent < e))
            .count();
    }
    let total = samples.len();
    let rps = samples.iter().filter(|s| s.sent >= t_start).count() as f64 / wall.as_secs_f64();
    let mut lat: Vec<Duration> = samples
        .iter()
        .filter(|s| s.answer != Answer::Other)
        .map(|s| s.recv - s.sent)
        .collect();
    lat.sort();

    println!();
    println!(
        "== selector switch: Deployments bg-v1 and bg-v2 (1 replica each), Service bg at {addr}; {} keep-alive clients looping GET / ({:.0} req/s, request p50 {:.3} ms p99 {:.3} ms); {} merge patches of spec.selector.version ==",
        args.switch_clients.max(1),
        rps,
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99)),
        switches.len()
    );
    println!(
        "{:<46} {:>4} {:>9} {:>9} {:>9}",
        "", "n", "p50 ms", "p99 ms", "max ms"
    );
    for (label, mut v) in [
        ("patch sent -> acknowledged", to_ack),
        ("patch sent -> first new-version answer", to_first),
        (
            "ack -> first new-version answer (0 if before)",
            ack_to_first,
        ),
    ] {
        v.sort();
        println!(
            "{:<46} {:>4} {:>9.3} {:>9.3} {:>9.3}",
            label,
            v.len(),
            ms(percentile(&v, 0.5)),
            ms(percentile(&v, 0.99)),
            ms(v.last().copied().unwrap_or_default()),
        );
    }
    println!(
        "first new-version answer arrived before the ack: {before_ack} of {}; switches with no new-version answer within 5 s: {} (timeouts {timeouts})",
        switches.len(),
        missing
    );
    println!(
        "old-version answers to requests sent after the ack: {stale} (must be 0); failed or non-200 requests: {} of {total}",
        errors.load(Ordering::Relaxed)
    );
    Ok(())
}

// === entry point ===

pub async fn router(args: RouterBench) -> Result<()> {
    let install = "install it (Debian: apt-get install -y wrk nginx)";
    let wrk = find_tool("wrk").ok_or_else(|| anyhow!("wrk not found: {install}"))?;
    let nginx = find_tool("nginx").ok_or_else(|| anyhow!("nginx not found: {install}"))?;
    if args.replicas.iter().any(|&r| r < 1) {
        bail!("--replicas must all be at least 1");
    }
    let (server, _) = bench::start().await?;
    let pid = server.child.id();
    let res = async {
        let c = bench::client(&server.kubeconfig).await.context("client")?;
        crate::bench_pods::wait_node(&c).await?;
        println!(
            "machine: {} cores; load {}; slipway pid {pid}; wrk {}, nginx {}",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            loadavg(),
            wrk.display(),
            nginx.display(),
        );
        println!("+p50/+p99: added over the direct run at the same connection count; proxy CPU: cores the proxy process(es) used (for the router, all of slipway);");
        println!("RSS: nginx = sum of its workers; router = the slipway process (API server, controllers and router together), sampled every 100 ms during the run (max)");
        let w = WrkSettings {
            bin: &wrk,
            threads: args.threads,
            secs: args.duration,
        };
        for &r in &args.replicas {
            compare(&c, &args, &w, &nginx, pid, r)
                .await
                .with_context(|| format!("{r} replica(s)"))?;
        }
        if args.switches > 0 {
            switch_bench(&c, &args).await.context("switch")?;
        }
        println!();
        println!("load {}", loadavg());
        Ok::<_, anyhow::Error>(())
    }
    .await;
    let stopped = crate::bench_pods::stop(server).await;
    res?;
    let took = stopped?;
    println!("slipway stopped (SIGTERM) in {:.2} s", took.as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrk_output() {
        let out = "Running 10s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.91us    0.89ms  12.92ms   93.69%
    Req/Sec    26.48k     1.60k   29.56k    74.00%
  Latency Distribution
     50%  450.00us
     75%  600.00us
     90%    1.00ms
     99%    4.36ms
  527337 requests in 10.00s, 63.38MB read
  Socket errors: connect 1, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 12
Requests/sec:  52717.45
Transfer/sec:      6.34MB
";
        let r = parse_wrk(out).unwrap();
        assert!((r.rps - 52717.45).abs() < 1e-6);
        assert_eq!(r.p50, Duration::from_micros(450));
        assert_eq!(r.p99, Duration::from_secs_f64(4.36e-3));
        assert_eq!(r.errors, 18);
    }

    #[test]
    fn parses_durations_and_tags() {
        assert_eq!(parse_secs("10s"), Ok(10));
        assert_eq!(parse_secs("2m"), Ok(120));
        assert_eq!(parse_secs("7"), Ok(7));
        assert!(parse_secs("0s").is_err());
        assert_eq!(wrk_duration("1.50s"), Some(Duration::from_millis(1500)));
        assert_eq!(demo_tag(b"slipway-demo v2 pod=x\n").as_deref(), Some("v2"));
        assert_eq!(demo_tag(b"hello"), None);
    }
}
