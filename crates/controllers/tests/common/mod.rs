//! Shared fixtures: an in-process API server in a temp dir on an ephemeral
//! port, a kube client for it, and `controllers::run` on its own task.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::oneshot;

pub struct Env {
    pub client: Client,
    server: apiserver::Running,
    stop: Option<oneshot::Sender<()>>,
    controllers: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Env {
    /// API server plus controllers.
    pub async fn start() -> Env {
        let mut env = Env::server_only().await;
        env.start_controllers();
        env
    }

    /// Just the API server; call [`Env::start_controllers`] later.
    pub async fn server_only() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = apiserver::start(apiserver::Config::new(
            dir.path().join("data"),
            "127.0.0.1:0".parse().expect("addr"),
        ))
        .await
        .expect("apiserver");
        let kc = Kubeconfig::read_from(&server.kubeconfig).expect("kubeconfig");
        let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("config");
        let client = Client::try_from(cfg).expect("client");
        Env {
            client,
            server,
            stop: None,
            controllers: None,
            _dir: dir,
        }
    }

    pub fn start_controllers(&mut self) {
        let (tx, rx) = oneshot::channel::<()>();
        let client = self.client.clone();
        self.controllers = Some(tokio::spawn(controllers::run(client, async {
            let _ = rx.await;
        })));
        self.stop = Some(tx);
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.controllers.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
        self.server.shutdown().await;
    }

    /// Run the real kubectl against this server (private HOME, bounded).
    pub async fn kubectl(&self, args: &[&str]) -> std::process::Output {
        let mut c = std::process::Command::new("kubectl");
        let home = self._dir.path().join("home");
        let _ = std::fs::create_dir_all(&home);
        c.env("KUBECONFIG", &self.server.kubeconfig)
            .env("HOME", &home)
            .args(args);
        let what = format!("kubectl {args:?}");
        tokio::task::spawn_blocking(move || test_support::run(c, None, Duration::from_secs(60)))
            .await
            .expect("join")
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// kubectl that must succeed; its stdout.
    pub async fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    pub fn replicasets(&self) -> Api<ReplicaSet> {
        Api::namespaced(self.client.clone(), "default")
    }

    pub fn events(&self) -> Api<Event> {
        Api::namespaced(self.client.clone(), "default")
    }

    pub async fn create_rs(&self, name: &str, replicas: i32) -> ReplicaSet {
        self.replicasets()
            .create(&PostParams::default(), &rs(name, replicas))
            .await
            .expect("create replicaset")
    }

    /// Pods in `default` carrying `app=<app>`.
    pub async fn pods_of(&self, app: &str) -> Vec<Pod> {
        self.pods()
            .list(&ListParams::default().labels(&format!("app={app}")))
            .await
            .expect("list pods")
            .items
    }

    /// Active pods whose controller is the ReplicaSet with `uid`.
    pub async fn owned_pods(&self, uid: &str) -> Vec<Pod> {
        self.pods()
            .list(&ListParams::default())
            .await
            .expect("list pods")
            .items
            .into_iter()
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && p.owner_references()
                        .iter()
                        .any(|o| o.uid == uid && o.controller == Some(true))
            })
            .collect()
    }

    /// Events about an object, queried the way `kubectl describe` does.
    pub async fn events_about(&self, kind: &str, name: &str, uid: &str) -> Vec<Event> {
        let fs = format!(
            "involvedObject.name={name},involvedObject.namespace=default,involvedObject.kind={kind},involvedObject.uid={uid}"
        );
        self.events()
            .list(&ListParams::default().fields(&fs))
            .await
            .expect("list events")
            .items
    }
}

/// A ReplicaSet `name` selecting `app=<name>` with a demo container.
pub fn rs(name: &str, replicas: i32) -> ReplicaSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "tier": "web"}},
                "spec": {"containers": [{"name": "c", "image": "slipway/demo:v1"}]}
            }
        }
    }))
    .expect("replicaset")
}

/// A bare pod with the given labels.
pub fn pod(name: &str, labels: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "slipway/demo:v1"}]}
    }))
    .expect("pod")
}

/// Poll `check` until it returns `Some`, or panic with `what` after `secs`.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Bound a whole test.
pub async fn bounded<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(Duration::from_secs(90), f)
        .await
        .expect("test timed out");
}
