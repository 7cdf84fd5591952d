//! Drives the real `kubectl explain` against the OpenAPI v3 documents of the
//! built-in registry, served by a tiny std-only HTTP/1.1 server on an
//! ephemeral loopback port. Skipped (with a note) when kubectl is missing.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use api::registry::{builtins, Resource};
use serde_json::{json, Value};

const KUBECTL_TIMEOUT: Duration = Duration::from_secs(90);

fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn group_versions(rs: &[Resource]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in rs {
        let gv = (r.group.clone(), r.version.clone());
        if !out.contains(&gv) {
            out.push(gv);
        }
    }
    out
}

fn resource_list(group: &str, version: &str, rs: &[Resource]) -> Value {
    let mut resources = Vec::new();
    for r in rs
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        resources.push(json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced(),
            "kind": r.kind, "verbs": r.verbs(), "shortNames": r.short_names,
            "categories": r.categories,
        }));
        for sub in &r.subresources {
            let (kind, group, version) = if sub == "scale" {
                ("Scale", "autoscaling", "v1")
            } else {
                (r.kind.as_str(), r.group.as_str(), r.version.as_str())
            };
            resources.push(json!({
                "name": format!("{}/{sub}", r.plural), "singularName": "",
                "namespaced": r.namespaced(), "group": group, "version": version,
                "kind": kind, "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

/// The body for a GET of `path` (query string removed), or None for 404.
fn route(path: &str, rs: &[Resource], host: &str) -> Option<Value> {
    match path {
        "/version" => {
            return Some(json!({
                "major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "0",
                "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z",
                "goVersion": "go1.23.4", "compiler": "gc", "platform": "linux/amd64"
            }))
        }
        "/api" => {
            return Some(json!({
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]
            }))
        }
        "/apis" => {
            let groups: Vec<Value> = group_versions(rs)
                .into_iter()
                .filter(|(g, _)| !g.is_empty())
                .map(|(g, v)| {
                    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
                    json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
                })
                .collect();
            return Some(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}));
        }
        "/openapi/v3" => return Some(api::openapi::v3_index(rs)),
        _ => {}
    }
    for (g, v) in group_versions(rs) {
        let key = gv_key(&g, &v);
        if path == format!("/{key}") {
            return Some(resource_list(&g, &v, rs));
        }
        if path == format!("/openapi/v3/{key}") {
            return api::openapi::v3_document(&g, &v, rs, &BTreeMap::new());
        }
    }
    None
}

fn handle(stream: TcpStream, rs: &[Resource], host: &str, log: &std::sync::Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or("GET").to_string();
    let target = words.next().unwrap_or("/").to_string();
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut sink = vec![0u8; content_length];
    let _ = reader.read_exact(&mut sink);
    log.lock()
        .expect("log lock")
        .push(format!("{method} {target}"));
    let path = target.split('?').next().unwrap_or("/");
    let found = if method == "GET" {
        route(path, rs, host)
    } else {
        None
    };
    let (status, body) = match found {
        Some(v) => ("200 OK", v.to_string()),
        None => (
            "404 Not Found",
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "the server could not find the requested resource",
                   "reason": "NotFound", "code": 404})
            .to_string(),
        ),
    };
    let mut out = stream;
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(body.as_bytes());
    let _ = out.flush();
}

struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (stop2, log2) = (stop.clone(), log.clone());
        let thread = std::thread::spawn(move || {
            let rs = Arc::new(builtins());
            let host = format!("127.0.0.1:{port}");
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (rs, host, log) = (rs.clone(), host.clone(), log2.clone());
                std::thread::spawn(move || handle(conn, &rs, &host, &log));
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
            log,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p =
            std::env::temp_dir().join(format!("openapi-kubectl-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs kubectl with a bounded wait; returns (success, stdout, stderr).
fn kubectl(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out_path = dir.join("stdout");
    let err_path = dir.join("stderr");
    let mut child = Command::new("kubectl")
        .args(args)
        .arg(format!("--cache-dir={}", dir.join("cache").display()))
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("spawn kubectl");
    let deadline = Instant::now() + KUBECTL_TIMEOUT;
    let status = loop {
        match child.try_wait().expect("wait kubectl") {
            Some(s) => break Some(s),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.is_some(),
        "kubectl {args:?} timed out; stderr: {stderr}"
    );
    (status.is_some_and(|s| s.success()), stdout, stderr)
}

fn write_kubeconfig(dir: &Path, port: u16) {
    let cfg = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: u\n    namespace: default\nusers:\n- name: u\n  user: {{}}\ncurrent-context: t\n"
    );
    std::fs::write(dir.join("kubeconfig"), cfg).expect("kubeconfig");
}

#[test]
fn kubectl_explain_uses_v3_documents() {
    if !kubectl_available() {
        eprintln!("kubectl not found; skipping");
        return;
    }
    let server = Server::start();
    let dir = TempDir::new();
    write_kubeconfig(&dir.0, server.port);

    let (ok, out, err) = kubectl(&dir.0, &["explain", "deployment.spec.strategy"]);
    eprintln!("{out}");
    assert!(ok, "explain deployment.spec.strategy failed: {err}\n{out}");
    assert!(out.contains("KIND:       Deployment"), "{out}");
    assert!(out.contains("GROUP:      apps"), "{out}");
    assert!(
        out.contains("FIELD: strategy <DeploymentStrategy>"),
        "{out}"
    );
    assert!(
        out.contains("rollingUpdate\t<RollingUpdateDeployment>"),
        "{out}"
    );
    assert!(out.contains("type\t<string>"), "{out}");

    let (ok, out, err) = kubectl(&dir.0, &["explain", "pod.spec.containers.ports"]);
    assert!(ok, "explain pod.spec.containers.ports failed: {err}\n{out}");
    assert!(out.contains("KIND:       Pod"), "{out}");
    assert!(out.contains("FIELD: ports <[]ContainerPort>"), "{out}");
    assert!(out.contains("containerPort\t<integer> -required-"), "{out}");

    let (ok, out, err) = kubectl(&dir.0, &["explain", "deployment.spec.foo"]);
    assert!(!ok, "explain of a missing field succeeded: {out}");
    assert!(err.contains("field \"foo\" does not exist"), "{err}");

    let log = server.log.lock().expect("log lock").clone();
    assert!(
        log.iter()
            .any(|l| l.starts_with("GET /openapi/v3/apis/apps/v1?hash=")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with("GET /openapi/v3/api/v1?hash=")),
        "{log:?}"
    );
}

/// Default `kubectl apply` (`--validate=strict`) must find `fieldValidation`
/// on the PATCH operation and leave validation to the server, instead of
/// failing with "failed to download openapi". The tiny server answers 404 to
/// the GET and the POST; only the POST's query matters here.
#[test]
fn kubectl_apply_chooses_server_side_validation() {
    if !kubectl_available() {
        eprintln!("kubectl not found; skipping");
        return;
    }
    let server = Server::start();
    let dir = TempDir::new();
    write_kubeconfig(&dir.0, server.port);
    let manifests = [
        ("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n", "/apis/apps/v1/namespaces/default/deployments?"),
        ("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n", "/api/v1/namespaces/default/configmaps?"),
    ];
    for (file, text, post) in manifests {
        let path = dir.0.join(file);
        std::fs::write(&path, text).expect("manifest");
        let (_, out, err) = kubectl(&dir.0, &["apply", "-f", &path.display().to_string()]);
        assert!(
            !err.contains("failed to download openapi"),
            "{file}: {err}\n{out}"
        );
        let log = server.log.lock().expect("log lock").clone();
        let created = log
            .iter()
            .find(|l| l.starts_with(&format!("POST {post}")))
            .unwrap_or_else(|| panic!("{file}: no POST in {log:?}; stderr: {err}"));
        assert!(created.contains("fieldValidation=Strict"), "{created}");
    }
}
