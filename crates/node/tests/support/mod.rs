//! An in-process apiserver plus the node agent in a temp dir. Dropping an
//! [`Env`] kills every process group the agent recorded, so a failed test
//! leaves nothing running.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;

pub const TOKEN: &str = "test-node-token";

/// A stand-in catalog: `web` serves HTTP on $POD_IP:$PORT with python3,
/// `anyweb` on every address (for network namespaces), `shell` runs its args.
pub const IMAGES: &str = r#"
images:
  - image: web
    command: [python3, -u, -m, http.server]
    args: ["$(PORT)", --bind, "$(POD_IP)"]
  - image: shell
    command: [sh, -c]
  - image: anyweb
    command: [python3, -u, -m, http.server]
    args: ["$(PORT)"]
"#;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub api: Option<apiserver::Running>,
    pub client: Client,
    pub node: Option<node::NodeHandle>,
    pub opts: node::Options,
}

pub async fn start() -> Env {
    start_mode(node::NetworkMode::Loopback).await
}

/// The agent in network mode `mode`, containers in the host's filesystem
/// (these tests' pods write into the test's temp dir under /tmp).
pub async fn start_mode(mode: node::NetworkMode) -> Env {
    start_opts(node::Options {
        network: mode,
        mounts: node::MountMode::Host,
        ..Default::default()
    })
    .await
}

pub async fn start_opts(opts: node::Options) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("images.yaml"), IMAGES).expect("images.yaml");
    let api = apiserver::start(apiserver::Config::new(
        dir.path().join("api"),
        "127.0.0.1:0".parse().expect("addr"),
    ))
    .await
    .expect("apiserver");
    let kc = Kubeconfig::read_from(&api.kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    let client = Client::try_from(cfg).expect("client");
    let mut env = Env {
        dir,
        api: Some(api),
        client,
        node: None,
        opts,
    };
    env.start_node().await;
    env
}

impl Env {
    pub fn node_config(&self) -> node::NodeConfig {
        node::NodeConfig {
            node_name: "node-1".into(),
            data_dir: self.dir.path().join("node"),
            images_file: self.dir.path().join("images.yaml"),
            demo_command: vec!["false".into()],
            token: TOKEN.into(),
        }
    }

    pub async fn start_node(&mut self) {
        let n = node::start_with_options(self.client.clone(), self.node_config(), self.opts)
            .await
            .expect("node agent");
        self.node = Some(n);
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    pub async fn create(&self, pod: serde_json::Value) -> Pod {
        let p: Pod = serde_json::from_value(pod).expect("pod json");
        self.pods()
            .create(&PostParams::default(), &p)
            .await
            .expect("create pod")
    }

    /// Poll the pod until `pred` holds.
    pub async fn wait_pod(&self, name: &str, what: &str, pred: impl Fn(&Pod) -> bool) -> Pod {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(p) = self.pods().get(name).await {
                if pred(&p) {
                    return p;
                }
                if tokio::time::Instant::now() > deadline {
                    panic!(
                        "pod {name}: timed out waiting for {what}; status: {}",
                        serde_json::to_string_pretty(&p.status).unwrap_or_default()
                    );
                }
            } else if tokio::time::Instant::now() > deadline {
                panic!("pod {name}: timed out waiting for {what}; not found");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn node_dir(&self) -> PathBuf {
        self.dir.path().join("node")
    }

    /// A GET against the log server; returns (status line, body bytes so far).
    pub async fn log_request(
        &self,
        path_and_query: &str,
        token: &str,
        read_for: Duration,
    ) -> (String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.node.as_ref().expect("node").log_addr();
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let req = format!(
            "GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(read_for, s.read_to_end(&mut buf)).await;
        let text = String::from_utf8_lossy(&buf).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        (
            head.lines().next().unwrap_or("").to_string(),
            body.to_string(),
        )
    }

    pub async fn shutdown(mut self) {
        if let Some(n) = self.node.take() {
            n.shutdown().await;
        }
        if let Some(a) = self.api.take() {
            a.shutdown().await;
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        kill_recorded(&self.node_dir());
        remove_namespaces(&self.node_dir());
    }
}

/// Delete the network namespaces and bridge of this instance, if any.
pub fn remove_namespaces(node_dir: &Path) {
    let Ok(block) = std::fs::read_to_string(node_dir.join("node").join("netns-block")) else {
        return;
    };
    let Ok(block) = block.trim().parse::<u32>() else {
        return;
    };
    let prefix = format!("slw{block:04x}");
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    for ns in list.lines().filter_map(|l| l.split_whitespace().next()) {
        if ns.starts_with(&prefix) {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", ns])
                .status();
        }
    }
    let _ = std::process::Command::new("ip")
        .args(["link", "del", &prefix])
        .stderr(std::process::Stdio::null())
        .status();
}

/// SIGKILL every process group recorded under the agent's data dir.
pub fn kill_recorded(node_dir: &Path) {
    for pid in recorded_pids(node_dir) {
        let _ = std::process::Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pid}")])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// The pids in every container's state.json.
pub fn recorded_pids(node_dir: &Path) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(pods) = std::fs::read_dir(node_dir.join("pods")) else {
        return out;
    };
    for p in pods.flatten() {
        let Ok(cs) = std::fs::read_dir(p.path().join("containers")) else {
            continue;
        };
        for c in cs.flatten() {
            let Ok(b) = std::fs::read(c.path().join("state.json")) else {
                continue;
            };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b) else {
                continue;
            };
            if let Some(pid) = v.pointer("/proc/pid").and_then(|x| x.as_u64()) {
                out.push(pid as u32);
            }
        }
    }
    out
}

pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s
                .rsplit_once(')')
                .map(|(_, r)| r.trim_start().chars().next());
            !matches!(state, Some(Some('Z')) | Some(Some('X')))
        })
        .unwrap_or(false)
}

pub fn condition(p: &Pod, t: &str) -> Option<String> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t)
        .map(|c| c.status.clone())
}

pub fn ready(p: &Pod) -> bool {
    condition(p, "Ready").as_deref() == Some("True")
}

pub fn container_status(
    p: &Pod,
    name: &str,
) -> Option<k8s_openapi::api::core::v1::ContainerStatus> {
    p.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == name)
        .cloned()
}

pub fn waiting_reason(p: &Pod, name: &str) -> Option<String> {
    container_status(p, name)?.state?.waiting?.reason
}

/// Bound a test.
pub async fn bounded<F: std::future::Future<Output = ()>>(secs: u64, f: F) {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("test timed out");
}
