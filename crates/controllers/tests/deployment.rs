//! The Deployment controller against a real API server, through kube-rs,
//! together with the ReplicaSet controller and the garbage collector
//! (`controllers::run`). No node agent runs here: a stand-in "kubelet" task
//! marks pods Running and Ready through `/status`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::oneshot;

const REVISION: &str = "deployment.kubernetes.io/revision";
const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
const HASH: &str = "pod-template-hash";
const ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";

// === fixtures ===

struct Env {
    client: Client,
    server: apiserver::Running,
    stop: Option<oneshot::Sender<()>>,
    controllers: Option<tokio::task::JoinHandle<()>>,
    /// Test helpers (kubelet, observers), stopped before the server.
    background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn start() -> Env {
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
        let (tx, rx) = oneshot::channel::<()>();
        let controllers = tokio::spawn(controllers::run(client.clone(), async {
            let _ = rx.await;
        }));
        Env {
            client,
            server,
            stop: Some(tx),
            controllers: Some(controllers),
            background: Mutex::new(Vec::new()),
            _dir: dir,
        }
    }

    async fn shutdown(mut self) {
        for t in self.background.lock().drain(..) {
            t.abort();
        }
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.controllers.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
        self.server.shutdown().await;
    }

    /// Run the real kubectl against this server (private HOME, bounded).
    async fn kubectl_ok(&self, args: &[&str]) -> String {
        let mut c = std::process::Command::new("kubectl");
        let home = self._dir.path().join("home");
        let _ = std::fs::create_dir_all(&home);
        c.env("KUBECONFIG", &self.server.kubeconfig)
            .env("HOME", &home)
            .args(args);
        let what = format!("kubectl {args:?}");
        let out = tokio::task::spawn_blocking(move || {
            test_support::run(c, None, Duration::from_secs(60))
        })
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), "default")
    }

    fn replicasets(&self) -> Api<ReplicaSet> {
        Api::namespaced(self.client.clone(), "default")
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    async fn create(&self, d: &Deployment) -> Deployment {
        self.deployments()
            .create(&PostParams::default(), d)
            .await
            .expect("create deployment")
    }

    async fn get(&self, name: &str) -> Deployment {
        self.deployments().get(name).await.expect("get deployment")
    }

    /// ReplicaSets controlled by the Deployment `name`, by revision.
    async fn owned_replicasets(&self, name: &str) -> Vec<ReplicaSet> {
        let uid = self.get(name).await.uid();
        let mut rss: Vec<ReplicaSet> = self
            .replicasets()
            .list(&ListParams::default())
            .await
            .expect("list replicasets")
            .items
            .into_iter()
            .filter(|rs| {
                rs.owner_references()
                    .iter()
                    .any(|o| Some(&o.uid) == uid.as_ref() && o.controller == Some(true))
            })
            .collect();
        rss.sort_by_key(revision);
        rss
    }

    /// Active pods carrying `app=<app>`.
    async fn pods_of(&self, app: &str) -> Vec<Pod> {
        self.pods()
            .list(&ListParams::default().labels(&format!("app={app}")))
            .await
            .expect("list pods")
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect()
    }

    /// The way `kubectl set image` does it (strategic merge), plus a change
    /// cause the way `kubectl annotate` would set it.
    async fn set_image(&self, name: &str, image: &str) {
        let patch = json!({
            "metadata": {"annotations": {"kubernetes.io/change-cause": format!("image {image}")}},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "c"}],
                "containers": [{"image": image, "name": "c"}],
            }}}
        });
        self.deployments()
            .patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
            .expect("set image");
    }

    /// Wait until `kubectl rollout status` would say "successfully rolled
    /// out" (§8.7).
    async fn rollout_complete(&self, name: &str, secs: u64) -> Deployment {
        eventually(&format!("rollout of {name} complete"), secs, || async {
            let d = self.get(name).await;
            rolled_out(&d).then_some(d)
        })
        .await
    }
}

fn revision(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

fn spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

/// kubectl's rollout status evaluation, reduced to "done".
fn rolled_out(d: &Deployment) -> bool {
    let Some(st) = d.status.as_ref() else {
        return false;
    };
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let n = |v: Option<i32>| v.unwrap_or(0);
    st.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
        && n(st.updated_replicas) >= want
        && n(st.replicas) <= n(st.updated_replicas)
        && n(st.available_replicas) >= n(st.updated_replicas)
}

fn condition(d: &Deployment, type_: &str) -> Option<(String, String, String)> {
    let c = d
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)?;
    Some((
        c.status.clone(),
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default(),
    ))
}

fn deployment(name: &str, replicas: i32, image: &str, spec: Value) -> Deployment {
    let mut base = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image}]}
            }
        }
    });
    if let (Some(s), Value::Object(extra)) = (base["spec"].as_object_mut(), spec) {
        s.extend(extra);
    }
    serde_json::from_value(base).expect("deployment")
}

fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Mark a pod Running and Ready through `/status`, as a node agent would.
async fn make_ready(pods: &Api<Pod>, name: &str) {
    let patch = json!({"status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now_rfc3339()}]
    }});
    // The pod may be gone already (scaled down); that is fine.
    let _ = pods
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await;
}

fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// A stand-in kubelet: every pod of `app=<app>` becomes ready `delay`
/// after it is first seen.
fn kubelet(env: &Env, app: &str, delay: Duration) {
    let pods = env.pods();
    let cfg = watcher::Config::default().labels(&format!("app={app}"));
    let task = tokio::spawn(async move {
        let mut seen = HashSet::new();
        let mut events = Box::pin(watcher(pods.clone(), cfg).default_backoff());
        while let Some(ev) = events.next().await {
            let batch = match ev {
                Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => vec![p],
                _ => continue,
            };
            for p in batch {
                if is_ready(&p) || p.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                if !seen.insert(p.name_any()) {
                    continue;
                }
                let pods = pods.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    make_ready(&pods, &p.name_any()).await;
                });
            }
        }
    });
    env.background.lock().push(task);
}

/// Watches every pod of `app=<app>` and records each observed state that
/// breaks `pods ≤ replicas + surge` or `ready ≥ replicas − unavailable`.
struct Observer {
    violations: Arc<Mutex<Vec<String>>>,
    states: Arc<Mutex<usize>>,
}

fn observe(env: &Env, app: &str, replicas: i32, surge: i32, unavailable: i32) -> Observer {
    let violations = Arc::new(Mutex::new(Vec::new()));
    let states = Arc::new(Mutex::new(0));
    let (v, n) = (violations.clone(), states.clone());
    let cfg = watcher::Config::default().labels(&format!("app={app}"));
    let pods = env.pods();
    let task = tokio::spawn(async move {
        // name → ready, for pods that count (not terminating, not finished).
        let mut live: HashMap<String, bool> = HashMap::new();
        let mut listed = false;
        let mut events = Box::pin(watcher(pods, cfg).default_backoff());
        while let Some(ev) = events.next().await {
            let Ok(ev) = ev else { continue };
            match ev {
                watcher::Event::Init => live.clear(),
                watcher::Event::InitApply(p) | watcher::Event::Apply(p) => {
                    let finished = p
                        .status
                        .as_ref()
                        .and_then(|s| s.phase.as_deref())
                        .is_some_and(|ph| ph == "Succeeded" || ph == "Failed");
                    if p.metadata.deletion_timestamp.is_some() || finished {
                        live.remove(&p.name_any());
                    } else {
                        live.insert(p.name_any(), is_ready(&p));
                    }
                }
                watcher::Event::Delete(p) => {
                    live.remove(&p.name_any());
                }
                watcher::Event::InitDone => listed = true,
            }
            if !listed {
                continue;
            }
            *n.lock() += 1;
            let total = live.len() as i32;
            let ready = live.values().filter(|r| **r).count() as i32;
            if total > replicas + surge {
                v.lock()
                    .push(format!("{total} pods > {replicas} + {surge}"));
            }
            if ready < replicas - unavailable {
                v.lock()
                    .push(format!("{ready} ready < {replicas} - {unavailable}"));
            }
        }
    });
    env.background.lock().push(task);
    Observer { violations, states }
}

/// Poll `check` until it returns `Some`, or panic with `what` after `secs`.
async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
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

async fn bounded<F: Future<Output = ()>>(secs: u64, f: F) {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("test timed out");
}

async fn events_about(env: &Env, d: &Deployment) -> Vec<Event> {
    let fs = format!(
        "involvedObject.name={},involvedObject.namespace=default,involvedObject.kind=Deployment,involvedObject.uid={}",
        d.name_any(),
        d.uid().unwrap_or_default()
    );
    Api::<Event>::namespaced(env.client.clone(), "default")
        .list(&ListParams::default().fields(&fs))
        .await
        .expect("list events")
        .items
}

fn messages(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("ScalingReplicaSet"))
        .filter_map(|e| e.message.clone())
        .collect()
}

// === tests ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_creates_named_replica_set_with_pods_and_completes() {
    bounded(90, async {
        let env = Env::start().await;
        let d = env
            .create(&deployment("web", 3, "slipway/demo:v1", json!({})))
            .await;
        let uid = d.uid().expect("uid");

        let rs = eventually("a replica set of 3", 20, || async {
            let rss = env.owned_replicasets("web").await;
            rss.into_iter().find(|rs| spec_replicas(rs) == 3)
        })
        .await;
        let hash = rs.labels().get(HASH).cloned().expect("hash label");
        assert_eq!(rs.name_any(), format!("web-{hash}"));
        assert!(
            !hash.is_empty() && hash.len() <= 10 && hash.chars().all(|c| ALPHABET.contains(c)),
            "{hash}"
        );
        let spec = rs.spec.clone().expect("spec");
        assert_eq!(
            spec.selector.match_labels,
            Some(BTreeMap::from([
                ("app".to_string(), "web".to_string()),
                (HASH.to_string(), hash.clone())
            ]))
        );
        let owner = &rs.owner_references()[0];
        assert_eq!(
            (
                owner.kind.as_str(),
                owner.name.as_str(),
                &owner.uid,
                owner.controller
            ),
            ("Deployment", "web", &uid, Some(true))
        );
        assert_eq!(annotation(&rs, REVISION), Some("1"));
        assert_eq!(
            annotation(&rs, "deployment.kubernetes.io/desired-replicas"),
            Some("3")
        );
        assert_eq!(
            annotation(&rs, "deployment.kubernetes.io/max-replicas"),
            Some("4")
        );

        let pods = eventually("3 pods", 20, || async {
            let p = env.pods_of("web").await;
            (p.len() == 3).then_some(p)
        })
        .await;
        for p in &pods {
            assert_eq!(p.labels().get(HASH), Some(&hash));
        }

        kubelet(&env, "web", Duration::from_millis(50));
        let done = env.rollout_complete("web", 30).await;
        assert_eq!(
            condition(&done, "Available").map(|c| (c.0, c.1)),
            Some(("True".into(), "MinimumReplicasAvailable".into()))
        );
        assert_eq!(
            condition(&done, "Progressing"),
            Some((
                "True".into(),
                "NewReplicaSetAvailable".into(),
                format!("ReplicaSet \"web-{hash}\" has successfully progressed.")
            ))
        );
        let done = eventually("deployment revision annotation", 20, || async {
            let d = env.get("web").await;
            d.annotations().contains_key(REVISION).then_some(d)
        })
        .await;
        assert_eq!(
            done.annotations().get(REVISION).map(String::as_str),
            Some("1")
        );

        let events = events_about(&env, &done).await;
        assert_eq!(
            messages(&events),
            [format!("Scaled up replica set web-{hash} to 3")]
        );
        let ev = &events[0];
        assert_eq!(
            ev.source.as_ref().and_then(|s| s.component.as_deref()),
            Some("deployment-controller")
        );
        assert_eq!(ev.type_.as_deref(), Some("Normal"));
        env.shutdown().await;
    })
    .await;
}

/// Issue 4 item 4 through the real controllers: every observed pod state
/// during `set image` stays within maxSurge/maxUnavailable; the old
/// ReplicaSet ends at 0 with revision 1, the new one at revision 2 with the
/// change cause; undo brings revision 1's ReplicaSet back as revision 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_respects_bounds_then_undo() {
    bounded(120, async {
        let env = Env::start().await;
        kubelet(&env, "web", Duration::from_millis(150));
        env.create(&deployment("web", 4, "slipway/demo:v1", json!({})))
            .await;
        env.rollout_complete("web", 30).await;

        // Defaults for 4 replicas: surge 1, unavailable 1.
        let obs = observe(&env, "web", 4, 1, 1);
        env.set_image("web", "slipway/demo:v2").await;
        let d = env.rollout_complete("web", 60).await;
        let rss = env.owned_replicasets("web").await;
        assert_eq!(rss.len(), 2);
        let (v1, v2) = (&rss[0], &rss[1]);
        assert_eq!((revision(v1), spec_replicas(v1)), (1, 0));
        assert_eq!((revision(v2), spec_replicas(v2)), (2, 4));
        assert_eq!(
            annotation(v2, "kubernetes.io/change-cause"),
            Some("image slipway/demo:v2")
        );
        assert!(
            obs.violations.lock().is_empty(),
            "{:?}",
            obs.violations.lock()
        );
        assert!(*obs.states.lock() > 4, "the observer saw the rollout");
        let events = messages(&events_about(&env, &d).await);
        assert!(
            events.iter().any(|m| m.starts_with(&format!(
                "Scaled down replica set {} to 0 from ",
                v1.name_any()
            ))),
            "{events:?}"
        );
        assert!(
            events.contains(&format!("Scaled up replica set {} to 1", v2.name_any())),
            "{events:?}"
        );
        eventually("deployment at revision 2", 20, || async {
            let d = env.get("web").await;
            (d.annotations().get(REVISION).map(String::as_str) == Some("2")).then_some(())
        })
        .await;

        // The real `kubectl rollout undo` (client side: a JSON patch of the
        // template back to revision 1's).
        let out = env.kubectl_ok(&["rollout", "undo", "deployment/web"]).await;
        assert_eq!(out.trim(), "deployment.apps/web rolled back");
        let obs = observe(&env, "web", 4, 1, 1);
        env.rollout_complete("web", 60).await;
        let rss = env.owned_replicasets("web").await;
        let back = rss
            .iter()
            .find(|rs| rs.name_any() == v1.name_any())
            .expect("v1 kept");
        assert_eq!(revision(back), 3);
        assert_eq!(annotation(back, REVISION_HISTORY), Some("1"));
        assert_eq!(spec_replicas(back), 4);
        let v2 = rss
            .iter()
            .find(|rs| rs.name_any() == v2.name_any())
            .expect("v2 kept");
        assert_eq!(spec_replicas(v2), 0);
        assert!(
            obs.violations.lock().is_empty(),
            "{:?}",
            obs.violations.lock()
        );
        eventually("deployment at revision 3", 20, || async {
            let d = env.get("web").await;
            (d.annotations().get(REVISION).map(String::as_str) == Some("3")).then_some(())
        })
        .await;
        let history = env
            .kubectl_ok(&["rollout", "history", "deployment/web"])
            .await;
        let rows: Vec<Vec<&str>> = history
            .lines()
            .skip_while(|l| !l.starts_with("REVISION"))
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .filter(|r: &Vec<&str>| !r.is_empty())
            .collect();
        assert_eq!(
            rows,
            [vec!["2", "image", "slipway/demo:v2"], vec!["3", "<none>"]],
            "{history}"
        );
        env.shutdown().await;
    })
    .await;
}

/// More sizes and settings (integers and percentages); one active
/// ReplicaSet at the end of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_bounds_under_several_settings() {
    bounded(240, async {
        let env = Env::start().await;
        // (name, replicas, maxSurge, maxUnavailable, resolved surge, resolved unavailable)
        let cases = [
            ("one", 1, json!("25%"), json!("25%"), 1, 0),
            ("ramped", 3, json!(2), json!(0), 2, 0),
            ("ten", 10, json!("30%"), json!(0), 3, 0),
            ("down", 10, json!(0), json!("20%"), 0, 2),
        ];
        for (name, replicas, surge, unavailable, s, u) in cases {
            kubelet(&env, name, Duration::from_millis(100));
            let strategy = json!({"strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}});
            env.create(&deployment(name, replicas, "slipway/demo:v1", strategy))
                .await;
            env.rollout_complete(name, 60).await;
            let obs = observe(&env, name, replicas, s, u);
            env.set_image(name, "slipway/demo:v2").await;
            env.rollout_complete(name, 90).await;
            let rss = env.owned_replicasets(name).await;
            let active: Vec<_> = rss.iter().filter(|rs| spec_replicas(rs) > 0).collect();
            assert_eq!(active.len(), 1, "{name}");
            assert_eq!(spec_replicas(active[0]), replicas, "{name}");
            assert_eq!(env.pods_of(name).await.len(), replicas as usize, "{name}");
            assert!(
                obs.violations.lock().is_empty(),
                "{name}: {:?}",
                obs.violations.lock()
            );
        }
        env.shutdown().await;
    })
    .await;
}

/// Recreate: old pods are fully gone (terminating ones included) before the
/// new ReplicaSet exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_waits_until_old_pods_are_gone() {
    bounded(90, async {
        let env = Env::start().await;
        kubelet(&env, "rec", Duration::from_millis(50));
        env.create(&deployment(
            "rec",
            2,
            "slipway/demo:v1",
            json!({"strategy": {"type": "Recreate"}}),
        ))
        .await;
        env.rollout_complete("rec", 30).await;
        let old = env.owned_replicasets("rec").await.remove(0);
        // Hold the old pods in Terminating with a finalizer.
        let hold = json!({"metadata": {"finalizers": ["slipway.test/hold"]}});
        let old_pods = env.pods_of("rec").await;
        for p in &old_pods {
            env.pods()
                .patch(&p.name_any(), &PatchParams::default(), &Patch::Merge(&hold))
                .await
                .expect("add finalizer");
        }

        env.set_image("rec", "slipway/demo:v2").await;
        eventually("old pods terminating", 20, || async {
            let left = env.pods_of("rec").await;
            left.is_empty().then_some(())
        })
        .await;
        let old_rs = env
            .replicasets()
            .get(&old.name_any())
            .await
            .expect("old rs");
        assert_eq!(spec_replicas(&old_rs), 0);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss = env.owned_replicasets("rec").await;
        assert_eq!(rss.len(), 1, "no new ReplicaSet while old pods terminate");

        let release = json!({"metadata": {"finalizers": null}});
        for p in &old_pods {
            env.pods()
                .patch(
                    &p.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&release),
                )
                .await
                .expect("remove finalizer");
        }
        env.rollout_complete("rec", 30).await;
        let rss = env.owned_replicasets("rec").await;
        assert_eq!(rss.len(), 2);
        assert_eq!((revision(&rss[1]), spec_replicas(&rss[1])), (2, 2));
        let d = env.get("rec").await;
        let events = messages(&events_about(&env, &d).await);
        let down = events
            .iter()
            .position(|m| m == &format!("Scaled down replica set {} to 0 from 2", old.name_any()))
            .expect("scaled down");
        let up = events
            .iter()
            .position(|m| m == &format!("Scaled up replica set {} to 2", rss[1].name_any()))
            .expect("scaled up");
        assert!(down < up, "{events:?}");
        env.shutdown().await;
    })
    .await;
}

/// Pods that never become ready: Progressing turns False with
/// ProgressDeadlineExceeded soon after the deadline, with no other event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_deadline_exceeded_without_other_events() {
    bounded(60, async {
        let env = Env::start().await;
        let started = tokio::time::Instant::now();
        env.create(&deployment(
            "stuck",
            2,
            "slipway/demo:v1",
            json!({"progressDeadlineSeconds": 5}),
        ))
        .await;
        let d = eventually("ProgressDeadlineExceeded", 30, || async {
            let d = env.get("stuck").await;
            let c = condition(&d, "Progressing")?;
            (c.1 == "ProgressDeadlineExceeded").then_some(d)
        })
        .await;
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(5), "too early: {took:?}");
        assert!(took <= Duration::from_secs(12), "too late: {took:?}");
        let rs = env.owned_replicasets("stuck").await.remove(0);
        let (status, _, message) = condition(&d, "Progressing").expect("condition");
        assert_eq!(status, "False");
        assert_eq!(
            message,
            format!(
                "ReplicaSet \"{}\" has timed out progressing.",
                rs.name_any()
            )
        );
        assert_eq!(
            condition(&d, "Available").map(|c| c.1),
            Some("MinimumReplicasUnavailable".into())
        );
        env.shutdown().await;
    })
    .await;
}

/// revisionHistoryLimit 1 keeps one old ReplicaSet; pausing stops a rollout
/// until resumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_limit_cleanup_and_pause() {
    bounded(120, async {
        let env = Env::start().await;
        kubelet(&env, "hist", Duration::from_millis(50));
        env.create(&deployment(
            "hist",
            1,
            "slipway/demo:v1",
            json!({"revisionHistoryLimit": 1}),
        ))
        .await;
        env.rollout_complete("hist", 30).await;
        for v in ["v2", "v3"] {
            env.set_image("hist", &format!("slipway/demo:{v}")).await;
            env.rollout_complete("hist", 30).await;
        }
        let rss = eventually("history trimmed to one old ReplicaSet", 20, || async {
            let rss = env.owned_replicasets("hist").await;
            (rss.len() == 2).then_some(rss)
        })
        .await;
        assert_eq!(rss.iter().map(revision).collect::<Vec<_>>(), [2, 3]);

        // Paused: a new template makes no new ReplicaSet.
        let pause = json!({"spec": {"paused": true}});
        env.deployments()
            .patch("hist", &PatchParams::default(), &Patch::Strategic(&pause))
            .await
            .expect("pause");
        env.set_image("hist", "slipway/demo:v4").await;
        let d = eventually("paused condition", 20, || async {
            let d = env.get("hist").await;
            (condition(&d, "Progressing")?.1 == "DeploymentPaused").then_some(d)
        })
        .await;
        assert_eq!(
            condition(&d, "Progressing").map(|c| c.0),
            Some("Unknown".into())
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        // No new ReplicaSet; with the template changed every ReplicaSet is
        // old, so the paused cleanup keeps just one (as upstream).
        let rss = env.owned_replicasets("hist").await;
        assert_eq!(rss.iter().map(revision).collect::<Vec<_>>(), [3]);

        let resume = json!({"spec": {"paused": null}});
        env.deployments()
            .patch("hist", &PatchParams::default(), &Patch::Strategic(&resume))
            .await
            .expect("resume");
        env.rollout_complete("hist", 30).await;
        let rss = eventually("v4 rolled out, history trimmed", 20, || async {
            let rss = env.owned_replicasets("hist").await;
            (rss.iter().map(revision).collect::<Vec<_>>() == [3, 4]).then_some(rss)
        })
        .await;
        assert_eq!(spec_replicas(&rss[1]), 1);
        env.shutdown().await;
    })
    .await;
}
