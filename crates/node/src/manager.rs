//! Watches the pods bound to this node and keeps one worker per pod.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::pod::{self, PodShared, Stop, StopKind, Worker};
use crate::status::PodState;
use crate::Agent;

struct WorkerHandle {
    pod: watch::Sender<Arc<Pod>>,
    stop: watch::Sender<Option<Stop>>,
    join: Option<JoinHandle<()>>,
}

pub struct Manager {
    agent: Arc<Agent>,
    workers: Mutex<HashMap<String, WorkerHandle>>,
    /// Pods whose worker finished; a late event must not start them again.
    finished: Mutex<HashSet<String>>,
}

impl Manager {
    pub fn new(agent: Arc<Agent>) -> Manager {
        Manager {
            agent,
            workers: Mutex::new(HashMap::new()),
            finished: Mutex::new(HashSet::new()),
        }
    }

    pub async fn run(self: Arc<Self>) {
        let api: Api<Pod> = Api::all(self.agent.client.clone());
        let cfg = watcher::Config::default()
            .fields(&format!("spec.nodeName={}", self.agent.cfg.node_name));
        let mut stream = watcher(api, cfg).default_backoff().boxed();
        let mut listed: HashSet<String> = HashSet::new();
        let mut first = true;
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(Event::Init) => listed.clear(),
                Ok(Event::InitApply(p)) => {
                    if let Some(uid) = p.metadata.uid.clone() {
                        listed.insert(uid);
                    }
                    self.upsert(p);
                }
                Ok(Event::InitDone) => {
                    // Pods that vanished while the watch was down.
                    let gone: Vec<String> = self
                        .workers
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .keys()
                        .filter(|u| !listed.contains(*u))
                        .cloned()
                        .collect();
                    for uid in gone {
                        self.gone(&uid);
                    }
                    if first {
                        first = false;
                        self.clean_orphans(&listed).await;
                    }
                }
                Ok(Event::Apply(p)) => self.upsert(p),
                Ok(Event::Delete(p)) => {
                    if let Some(uid) = p.metadata.uid.as_deref() {
                        self.gone(uid);
                    }
                }
                Err(e) => tracing::debug!(error = %e, "pod watch error"),
            }
        }
    }

    fn upsert(self: &Arc<Self>, p: Pod) {
        let Some(uid) = p.metadata.uid.clone() else {
            return;
        };
        let deleting = p.metadata.deletion_timestamp.is_some();
        let grace = p
            .metadata
            .deletion_grace_period_seconds
            .map(|s| Duration::from_secs(s.max(0) as u64))
            .unwrap_or_else(|| pod::pod_grace(&p));
        let p = Arc::new(p);
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = workers.get(&uid) {
            w.pod.send_replace(p);
            if deleting && w.stop.borrow().is_none() {
                w.stop.send_replace(Some(Stop {
                    kind: StopKind::Delete,
                    grace,
                }));
            }
            return;
        }
        if self
            .finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&uid)
        {
            return;
        }
        let (pod_tx, pod_rx) = watch::channel(p.clone());
        let initial_stop = deleting.then_some(Stop {
            kind: StopKind::Delete,
            grace,
        });
        let (stop_tx, stop_rx) = watch::channel(initial_stop);
        let shared = Arc::new(PodShared {
            uid: uid.clone(),
            namespace: p.metadata.namespace.clone().unwrap_or_default(),
            name: p.metadata.name.clone().unwrap_or_default(),
            dir: self.agent.pods_dir.join(&uid),
            state: Mutex::new(PodState::default()),
            dirty: Notify::new(),
        });
        self.agent.registry.insert(shared.clone());
        let worker = Worker {
            agent: self.agent.clone(),
            shared: shared.clone(),
            pod: pod_rx,
            stop: stop_rx,
            volumes: Default::default(),
            seen_rv: crate::services::rv_number(p.metadata.resource_version.as_deref()),
            drain: Default::default(),
        };
        let me = self.clone();
        let join = tokio::spawn(async move {
            worker.run().await;
            me.agent.registry.remove(&shared);
            me.workers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&shared.uid);
            me.finished
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(shared.uid.clone());
        });
        workers.insert(
            uid,
            WorkerHandle {
                pod: pod_tx,
                stop: stop_tx,
                join: Some(join),
            },
        );
    }

    /// The object is gone (deleted with grace 0, or by someone else):
    /// stop its processes quickly and forget it.
    fn gone(&self, uid: &str) {
        let workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        if !workers.contains_key(uid) {
            // Its worker is done and the object is gone: nothing can bring it back.
            self.finished
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(uid);
        }
        if let Some(w) = workers.get(uid) {
            let grace = w
                .pod
                .borrow()
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
                .map(|s| Duration::from_secs(s.max(0) as u64))
                .unwrap_or(Duration::from_secs(2))
                .min(Duration::from_secs(2));
            w.stop.send_modify(|s| match s {
                // Already stopping for deletion: the object is gone now, clean up after.
                Some(st) if st.kind == StopKind::Delete => st.kind = StopKind::Gone,
                Some(_) => {}
                None => {
                    *s = Some(Stop {
                        kind: StopKind::Gone,
                        grace,
                    })
                }
            });
        }
    }

    /// Pod directories of a previous run whose pods no longer exist here.
    async fn clean_orphans(&self, listed: &HashSet<String>) {
        let Ok(rd) = std::fs::read_dir(&self.agent.pods_dir) else {
            return;
        };
        for e in rd.flatten() {
            let uid = e.file_name().to_string_lossy().to_string();
            if listed.contains(&uid) {
                continue;
            }
            tracing::info!(uid = %uid, "cleaning up a pod left by a previous run");
            pod::kill_pod_leftovers(&e.path()).await;
            let net = self.agent.net.clone();
            let _ = tokio::task::spawn_blocking(move || net.teardown(&uid)).await;
            let _ = std::fs::remove_dir_all(e.path());
        }
    }

    /// Stop every pod (agent shutdown) and wait for them.
    pub async fn stop_all(&self, cap: Duration) {
        let joins: Vec<JoinHandle<()>> = {
            let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
            workers
                .values_mut()
                .filter_map(|w| {
                    let grace = pod::pod_grace(&w.pod.borrow()).min(cap);
                    w.stop.send_modify(|s| {
                        if s.is_none() {
                            *s = Some(Stop {
                                kind: StopKind::Shutdown,
                                grace,
                            });
                        }
                    });
                    w.join.take()
                })
                .collect()
        };
        let all = futures_util::future::join_all(joins);
        if tokio::time::timeout(cap + Duration::from_secs(20), all)
            .await
            .is_err()
        {
            tracing::warn!("some pods did not stop in time");
        }
        // Processes of pods no worker has picked up yet (a stop right after a
        // start, before the first pod list arrived) are recorded on disk only.
        let Ok(rd) = std::fs::read_dir(&self.agent.pods_dir) else {
            return;
        };
        for e in rd.flatten() {
            pod::kill_pod_leftovers(&e.path()).await;
        }
    }

    /// Drop every worker without touching its processes.
    pub async fn abandon_all(&self) {
        let joins: Vec<JoinHandle<()>> = {
            let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
            workers.values_mut().filter_map(|w| w.join.take()).collect()
        };
        for j in &joins {
            j.abort();
        }
        for j in joins {
            let _ = j.await;
        }
    }
}
