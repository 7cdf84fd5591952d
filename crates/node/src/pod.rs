//! One pod's worker: sandbox, init containers, containers with probes,
//! hooks, restarts and back-off, status, and termination.
//!
//! The worker owns the pod's [`PodState`]; container loops update it and
//! poke `dirty`, and the status writer turns it into `/status` patches.
//! Per container, `state.json` in its directory records the current run
//! (pid, start time, container ID, how it ended), which is what lets a
//! restarted agent adopt a running process or know how it ended.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Probe, Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::catalog::{self, ResolvedImage};
use crate::env::{self, EnvInputs};
use crate::events::Involved;
use crate::expand::expand;
use crate::logs::{Pump, RunFiles};
use crate::mounts::{self, Mount};
use crate::net::Sandbox;
use crate::probe;
use crate::process::{self, Exit, Proc, ProcId, ProcSpec};
use crate::status::{self, CState, CStatus, PodState, Term};
use crate::volumes::{self, PodVolumes};
use crate::Agent;

/// Why a pod's processes stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// The pod has a deletionTimestamp: stop, then delete the object.
    Delete,
    /// The object is gone: stop and clean up.
    Gone,
    /// The agent is stopping: stop, keep the pod's records.
    Shutdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    pub kind: StopKind,
    pub grace: Duration,
}

/// A pod's state, shared with the log server.
pub struct PodShared {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub dir: PathBuf,
    pub state: Mutex<PodState>,
    pub dirty: Notify,
}

impl PodShared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, PodState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn container_dir(&self, name: &str) -> PathBuf {
        self.dir.join("containers").join(name)
    }
}

/// Kubelet container back-off: the first restart is immediate, then 10 s
/// doubling to 5 min; a run longer than 10 min resets it.
const BACKOFF_START: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
const BACKOFF_RESET: Duration = Duration::from_secs(600);
/// The least time a container gets to stop after a forced removal.
const MIN_GRACE: Duration = Duration::from_secs(2);
/// Status patches within this window are coalesced.
const STATUS_COALESCE: Duration = Duration::from_millis(30);

struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff { next: None }
    }
    /// The wait before the next restart, given how long the last run lasted.
    fn delay(&mut self, ran: Duration) -> Duration {
        if ran >= BACKOFF_RESET {
            self.next = None;
        }
        match self.next {
            None => {
                self.next = Some(BACKOFF_START);
                Duration::ZERO
            }
            Some(d) => {
                self.next = Some((d * 2).min(BACKOFF_MAX));
                d
            }
        }
    }
}

/// What `state.json` holds for a container's current run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunRecord {
    run: u32,
    restart_count: i32,
    container_id: String,
    image_id: String,
    proc: ProcId,
    started_at: Time,
    exit: Option<ExitRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ExitRecord {
    exit_code: i32,
    signal: Option<i32>,
    reason: String,
    finished_at: Time,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PodRecord {
    pub namespace: String,
    pub name: String,
    pub initialized: bool,
}

/// How a container's loop ended.
enum LoopEnd {
    Stopped(Stop),
    /// No more restarts: the last run ended with this exit code.
    Done(i32),
}

/// How one run ended.
enum RunEnd {
    Exited(Term),
    Stopped(Stop),
    /// Killed because its spec (image) changed: restart at once.
    Replaced(Term),
}

pub struct Worker {
    pub agent: Arc<Agent>,
    pub shared: Arc<PodShared>,
    pub pod: watch::Receiver<Arc<Pod>>,
    pub stop: watch::Receiver<Option<Stop>>,
    /// Set once the pod's volumes are set up, before any container starts.
    pub volumes: std::sync::OnceLock<Arc<PodVolumes>>,
    /// The pod's resourceVersion when this worker started, as a number.
    pub seen_rv: Option<u64>,
    /// Decided once, by the first container to stop: until when a deleted
    /// pod keeps running for routers to drop it ([`Worker::drain_until`]).
    pub drain: std::sync::OnceLock<Option<Instant>>,
}

/// How often written volumes are re-synced even without a change notice.
const VOLUME_RESYNC: Duration = Duration::from_secs(60);
/// The file name of a container's mount script (see [`mounts`]).
const MOUNT_SCRIPT: &str = "mounts.sh";

impl Worker {
    fn current(&self) -> Arc<Pod> {
        self.pod.borrow().clone()
    }

    fn involved(&self) -> Involved {
        Involved::pod(&self.current())
    }

    fn field_path(init: bool, name: &str) -> String {
        if init {
            format!("spec.initContainers{{{name}}}")
        } else {
            format!("spec.containers{{{name}}}")
        }
    }

    fn update(&self, f: impl FnOnce(&mut PodState)) {
        f(&mut self.shared.lock());
        self.shared.dirty.notify_one();
    }

    fn update_container(&self, init: bool, idx: usize, f: impl FnOnce(&mut CStatus)) {
        self.update(|st| {
            if let Some(c) = st.container_mut(init, idx) {
                f(c);
            }
        });
    }

    /// Run the pod until it is stopped; then clean up as the stop requires.
    pub async fn run(mut self) {
        let pod = self.current();
        let spec = pod.spec.clone().unwrap_or_default();
        let record = self.load_pod_record();
        {
            let mut st = self.shared.lock();
            st.init = spec
                .init_containers
                .iter()
                .flatten()
                .map(|c| CStatus::new(&c.name, c.image.as_deref().unwrap_or("")))
                .collect();
            st.main = spec
                .containers
                .iter()
                .map(|c| CStatus::new(&c.name, c.image.as_deref().unwrap_or("")))
                .collect();
            st.start_time = Some(
                pod.status
                    .as_ref()
                    .and_then(|s| s.start_time.as_ref())
                    .map(|t| t.0)
                    .unwrap_or_else(Timestamp::now),
            );
            st.initialized = st.init.is_empty() || record.initialized;
            // Transition times continue from what the API has.
            for c in pod
                .status
                .iter()
                .flat_map(|s| s.conditions.iter().flatten())
            {
                let key = match c.type_.as_str() {
                    "PodReadyToStartContainers" => "PodReadyToStartContainers",
                    "Initialized" => "Initialized",
                    "Ready" => "Ready",
                    "ContainersReady" => "ContainersReady",
                    _ => continue,
                };
                if let Some(t) = &c.last_transition_time {
                    st.transitions.insert(key, (c.status == "True", t.0));
                }
            }
        }
        self.save_pod_record(record.initialized);
        self.restore_from_records(&spec);

        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        let stop = if phase == "Succeeded" || phase == "Failed" {
            // Finished before: nothing runs again. Leftovers of a crashed agent go.
            self.kill_leftovers().await;
            wait_stop(&mut self.stop).await
        } else {
            let writer = self.status_writer();
            let body = self.body();
            tokio::select! {
                s = body => s,
                _ = writer => unreachable_stop(),
            }
        };
        self.finish(stop).await;
    }

    /// What earlier runs recorded: counts, IDs, logs, and how finished runs
    /// ended (so a restarted agent reports completed containers truthfully).
    fn restore_from_records(&self, spec: &k8s_openapi::api::core::v1::PodSpec) {
        let names = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| (true, c.name.clone()))
            .enumerate()
            .chain(
                spec.containers
                    .iter()
                    .map(|c| (false, c.name.clone()))
                    .enumerate(),
            );
        for (idx, (init, name)) in names {
            let dir = self.shared.container_dir(&name);
            let Some(rec) = load_run_record(&dir) else {
                continue;
            };
            let prev_exists = rec.run > 0 && RunFiles::new(&dir, rec.run - 1).log().exists();
            let finished = rec.exit.as_ref().map(|_| record_term(&rec));
            self.update_container(init, idx, |cs| {
                cs.restart_count = rec.restart_count;
                cs.image_id = rec.image_id.clone();
                cs.container_id = Some(rec.container_id.clone());
                cs.log_run = Some(rec.run);
                cs.prev_run = prev_exists.then(|| rec.run - 1);
                if let Some(t) = finished {
                    cs.ready = init && t.exit_code == 0;
                    cs.state = CState::Terminated(t);
                }
            });
        }
    }

    async fn body(&self) -> Stop {
        let mut stop_rx = self.stop.clone();
        let host_network = self
            .current()
            .spec
            .as_ref()
            .and_then(|s| s.host_network)
            .unwrap_or(false);
        let sandbox = loop {
            if host_network {
                break Sandbox {
                    ip: self.agent.host_ip,
                    command_prefix: Vec::new(),
                };
            }
            let (net, uid) = (self.agent.net.clone(), self.shared.uid.clone());
            let setup = tokio::task::spawn_blocking(move || net.setup(&uid))
                .await
                .unwrap_or_else(|e| {
                    Err(crate::net::NetError::Ip {
                        args: "setup".into(),
                        msg: e.to_string(),
                    })
                });
            match setup {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(pod = %self.shared.name, error = %e, "pod sandbox");
                    self.agent
                        .kubelet_events
                        .warning(&self.involved(), "FailedCreatePodSandBox", e.to_string())
                        .await;
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                        s = wait_stop(&mut stop_rx) => return s,
                    }
                }
            }
        };
        self.update(|st| {
            st.pod_ip = Some(sandbox.ip.to_string());
            st.sandbox_ready = true;
        });

        let vols = match self.setup_volumes(&mut stop_rx).await {
            Ok(v) => v,
            Err(s) => return s,
        };
        let _ = self.volumes.set(Arc::new(vols));
        tokio::select! {
            s = self.run_containers(&sandbox) => s,
            _ = self.volume_sync() => unreachable_stop(),
        }
    }

    /// Init containers in order, then the containers, until stopped.
    async fn run_containers(&self, sandbox: &Sandbox) -> Stop {
        let mut stop_rx = self.stop.clone();
        let sandbox = sandbox.clone();
        let spec = self.current().spec.clone().unwrap_or_default();
        let policy = spec
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into());
        if !self.shared.lock().initialized {
            for (i, c) in spec.init_containers.iter().flatten().enumerate() {
                // Init containers restart unless the pod never restarts.
                let init_policy = if policy == "Never" {
                    "Never"
                } else {
                    "OnFailure"
                };
                match self.container_loop(true, i, c, &sandbox, init_policy).await {
                    LoopEnd::Stopped(s) => return s,
                    LoopEnd::Done(0) => {}
                    LoopEnd::Done(_) => {
                        self.update(|st| st.init_failed = true);
                        return wait_stop(&mut stop_rx).await;
                    }
                }
            }
            self.update(|st| st.initialized = true);
            self.save_pod_record(true);
        }

        let loops = spec
            .containers
            .iter()
            .enumerate()
            .map(|(i, c)| self.container_loop(false, i, c, &sandbox, &policy));
        let ends = futures_util::future::join_all(loops).await;
        for e in ends {
            if let LoopEnd::Stopped(s) = e {
                return s;
            }
        }
        // Every container finished for good: the pod is terminal.
        wait_stop(&mut stop_rx).await
    }

    /// The ConfigMaps and Secrets the pod's volumes refer to, as they are now.
    async fn volume_sources(
        &self,
    ) -> Result<(BTreeMap<String, ConfigMap>, BTreeMap<String, Secret>), String> {
        let pod = self.current();
        let (cm_names, secret_names) = volumes::referenced(&pod);
        self.fetch_sources(cm_names, secret_names).await
    }

    async fn fetch_sources(
        &self,
        cm_names: std::collections::BTreeSet<String>,
        secret_names: std::collections::BTreeSet<String>,
    ) -> Result<(BTreeMap<String, ConfigMap>, BTreeMap<String, Secret>), String> {
        let ns = &self.shared.namespace;
        let client = &self.agent.client;
        let mut cms = BTreeMap::new();
        for n in cm_names {
            match Api::<ConfigMap>::namespaced(client.clone(), ns)
                .get_opt(&n)
                .await
            {
                Ok(Some(cm)) => {
                    cms.insert(n, cm);
                }
                Ok(None) => {}
                Err(e) => return Err(format!("getting configmap {n:?}: {e}")),
            }
        }
        let mut secrets = BTreeMap::new();
        for n in secret_names {
            match Api::<Secret>::namespaced(client.clone(), ns)
                .get_opt(&n)
                .await
            {
                Ok(Some(s)) => {
                    secrets.insert(n, s);
                }
                Ok(None) => {}
                Err(e) => return Err(format!("getting secret {n:?}: {e}")),
            }
        }
        Ok((cms, secrets))
    }

    /// Set up every volume, retrying with `FailedMount` events (the
    /// containers stay `ContainerCreating`) until it works or the pod stops.
    async fn setup_volumes(
        &self,
        stop_rx: &mut watch::Receiver<Option<Stop>>,
    ) -> Result<PodVolumes, Stop> {
        let mut wait = Duration::from_millis(500);
        loop {
            let result = match self.volume_sources().await {
                Ok((cms, secrets)) => {
                    let pod = self.current();
                    let dir = self.shared.dir.clone();
                    let node = self.agent.resources;
                    tokio::task::spawn_blocking(move || {
                        let src = volumes::Sources {
                            pod: &pod,
                            node: &node,
                            config_maps: &cms,
                            secrets: &secrets,
                        };
                        volumes::setup(&dir, &src).map_err(|e| e.to_string())
                    })
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()))
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(v) => return Ok(v),
                Err(msg) => {
                    tracing::info!(pod = %self.shared.name, error = %msg, "volume setup");
                    self.agent
                        .kubelet_events
                        .warning(&self.involved(), "FailedMount", msg)
                        .await;
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        s = wait_stop(stop_rx) => return Err(s),
                    }
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Keep configMap, secret, downwardAPI and projected volumes current:
    /// re-sync when a source changes, when the pod changes (labels and
    /// annotations), and every [`VOLUME_RESYNC`] as a backstop. Never returns.
    async fn volume_sync(&self) {
        if !volumes::has_written(&self.current()) {
            return std::future::pending().await;
        }
        let mut pod_rx = self.pod.clone();
        let mut changes = self.agent.source_changes.subscribe();
        loop {
            let due = tokio::time::sleep(VOLUME_RESYNC);
            tokio::select! {
                _ = due => {}
                r = pod_rx.changed() => {
                    if r.is_err() {
                        return std::future::pending().await;
                    }
                }
                c = changes.recv() => match c {
                    Ok(c) => {
                        let pod = self.current();
                        let (cms, secrets) = volumes::referenced(&pod);
                        let ours = c.namespace == self.shared.namespace
                            && if c.secret { secrets.contains(&c.name) } else { cms.contains(&c.name) };
                        if !ours {
                            continue;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        return std::future::pending().await;
                    }
                },
            }
            let Ok((cms, secrets)) = self.volume_sources().await else {
                continue;
            };
            let pod = self.current();
            let dir = self.shared.dir.clone();
            let node = self.agent.resources;
            let errs = tokio::task::spawn_blocking(move || {
                let src = volumes::Sources {
                    pod: &pod,
                    node: &node,
                    config_maps: &cms,
                    secrets: &secrets,
                };
                volumes::sync(&dir, &src)
            })
            .await
            .unwrap_or_default();
            for e in errs {
                tracing::debug!(pod = %self.shared.name, error = %e, "volume re-sync kept the old contents");
            }
        }
    }

    /// After the processes stopped.
    async fn finish(&self, stop: Stop) {
        let api: Api<Pod> = Api::namespaced(self.agent.client.clone(), &self.shared.namespace);
        match stop.kind {
            StopKind::Shutdown => {
                self.write_status(None, true).await;
            }
            StopKind::Delete => {
                self.write_status(None, true).await;
                let dp = DeleteParams {
                    grace_period_seconds: Some(0),
                    preconditions: Some(Preconditions {
                        uid: Some(self.shared.uid.clone()),
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                match api.delete(&self.shared.name, &dp).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
                    Err(e) => {
                        tracing::warn!(pod = %self.shared.name, error = %e, "deleting pod failed")
                    }
                }
                self.cleanup().await;
            }
            StopKind::Gone => self.cleanup().await,
        }
    }

    async fn cleanup(&self) {
        let (net, uid) = (self.agent.net.clone(), self.shared.uid.clone());
        let _ = tokio::task::spawn_blocking(move || net.teardown(&uid)).await;
        let _ = std::fs::remove_dir_all(&self.shared.dir);
    }

    /// A container's whole life: runs, restarts per policy with back-off.
    async fn container_loop(
        &self,
        init: bool,
        idx: usize,
        c: &Container,
        sandbox: &Sandbox,
        policy: &str,
    ) -> LoopEnd {
        let mut stop_rx = self.stop.clone();
        let dir = self.shared.container_dir(&c.name);
        let _ = std::fs::create_dir_all(&dir);
        let mut backoff = Backoff::new();
        let mut next_run: u32 = 0;
        let mut adopt: Option<(Proc, RunRecord)> = None;

        // What a previous agent left: a live process to adopt, or how the last run ended.
        if let Some(rec) = load_run_record(&dir) {
            let prev_exists = rec.run > 0 && RunFiles::new(&dir, rec.run - 1).log().exists();
            self.update_container(init, idx, |cs| {
                cs.restart_count = rec.restart_count;
                cs.image_id = rec.image_id.clone();
                cs.container_id = Some(rec.container_id.clone());
                cs.log_run = Some(rec.run);
                cs.prev_run = prev_exists.then(|| rec.run - 1);
            });
            next_run = rec.run + 1;
            let live = if rec.exit.is_none() {
                Proc::adopt(rec.proc)
            } else {
                None
            };
            match live {
                Some(p) => adopt = Some((p, rec)),
                None => {
                    let term = record_term(&rec);
                    let code = term.exit_code;
                    let ran = run_duration(&term);
                    save_run_record(&dir, &with_exit(&rec, &term));
                    if !restarts(policy, code) {
                        self.update_container(init, idx, |cs| {
                            cs.state = CState::Terminated(term.clone());
                            cs.ready = init && code == 0;
                        });
                        return LoopEnd::Done(code);
                    }
                    // The next run is a restart of the one that ended.
                    self.update_container(init, idx, |cs| {
                        cs.last = Some(term.clone());
                        cs.restart_count += 1;
                    });
                    let _ = backoff.delay(ran);
                }
            }
        }

        loop {
            if let Some(s) = *stop_rx.borrow() {
                return LoopEnd::Stopped(s);
            }
            // The image is the one container field a pod update may change.
            let current = self.container_spec(init, idx).unwrap_or_else(|| c.clone());
            let c = &current;
            self.update_container(init, idx, |cs| {
                cs.image = c.image.clone().unwrap_or_default();
            });
            let end = match adopt.take() {
                Some((p, rec)) => {
                    tracing::info!(pod = %self.shared.name, container = %c.name, pid = p.id.pid, "adopted running container");
                    let files = RunFiles::new(&dir, rec.run);
                    let target = self.adopted_target(c, sandbox, p.id.pid).await;
                    // Keep what the API said about it, so a restart of the
                    // agent does not flap the pod's readiness.
                    let (ready, started) = observed_readiness(&self.current(), init, &c.name);
                    self.update_container(init, idx, |cs| {
                        cs.state = CState::Running {
                            started_at: rec.started_at.0,
                        };
                        cs.started = started;
                        cs.ready = ready;
                    });
                    self.supervise(init, idx, c, sandbox, p, rec, files, target, false)
                        .await
                }
                None => match self
                    .start_run(init, idx, c, sandbox, next_run, &mut stop_rx)
                    .await
                {
                    Err(s) => RunEnd::Stopped(s),
                    Ok(Err(term)) => RunEnd::Exited(term),
                    Ok(Ok((p, rec, files, target))) => {
                        next_run = rec.run + 1;
                        self.supervise(init, idx, c, sandbox, p, rec, files, target, true)
                            .await
                    }
                },
            };
            let term = match end {
                RunEnd::Stopped(s) => return LoopEnd::Stopped(s),
                RunEnd::Exited(t) => t,
                RunEnd::Replaced(t) => {
                    self.update_container(init, idx, |cs| {
                        cs.last = Some(t.clone());
                        cs.restart_count += 1;
                    });
                    continue;
                }
            };
            let code = term.exit_code;
            if !restarts(policy, code) {
                return LoopEnd::Done(code);
            }
            let delay = backoff.delay(run_duration(&term));
            if !delay.is_zero() {
                let pod = self.current();
                let msg = format!(
                    "back-off {} restarting failed container={} pod={}_{}({})",
                    human(delay),
                    c.name,
                    self.shared.name,
                    self.shared.namespace,
                    self.shared.uid
                );
                self.update_container(init, idx, |cs| {
                    cs.last = Some(term.clone());
                    cs.state = CState::Waiting {
                        reason: "CrashLoopBackOff".into(),
                        message: Some(msg),
                    };
                });
                self.agent
                    .kubelet_events
                    .warning(
                        &Involved::pod(&pod).container(Self::field_path(init, &c.name)),
                        "BackOff",
                        format!(
                            "Back-off restarting failed container {} in pod {}",
                            c.name,
                            pod_ref(&pod)
                        ),
                    )
                    .await;
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    s = wait_stop(&mut stop_rx) => return LoopEnd::Stopped(s),
                }
            } else {
                self.update_container(init, idx, |cs| cs.last = Some(term.clone()));
            }
            self.update_container(init, idx, |cs| cs.restart_count += 1);
        }
    }

    /// Pull (resolve), configure and start one run. `Err(stop)` when stopped
    /// first; `Ok(Err(term))` when the process could not start.
    #[allow(clippy::type_complexity)]
    async fn start_run(
        &self,
        init: bool,
        idx: usize,
        c: &Container,
        sandbox: &Sandbox,
        run: u32,
        stop_rx: &mut watch::Receiver<Option<Stop>>,
    ) -> Result<Result<(Proc, RunRecord, RunFiles, probe::Target), Term>, Stop> {
        let pod = self.current();
        let who = Involved::pod(&pod).container(Self::field_path(init, &c.name));
        let events = &self.agent.kubelet_events;
        let image = c.image.clone().unwrap_or_default();

        let resolved = self.pull(init, idx, c, &who, stop_rx).await?;
        let pull_policy = c.image_pull_policy.as_deref().unwrap_or("IfNotPresent");
        if pull_policy == "Always" {
            events
                .normal(&who, "Pulling", format!("Pulling image {image:?}"))
                .await;
            events
                .normal(
                    &who,
                    "Pulled",
                    format!("Successfully pulled image {image:?} in 0s (0s including waiting). Image size: 0 bytes."),
                )
                .await;
        } else {
            events
                .normal(
                    &who,
                    "Pulled",
                    format!("Container image {image:?} already present on machine"),
                )
                .await;
        }

        // A container's first run may share a recent Service list; a
        // restart lists afresh, as the Services may have changed since.
        let min_rv = if run == 0 { self.seen_rv } else { None };
        let (mut env, mounts) = self
            .configure(init, idx, c, sandbox, &resolved, &who, min_rv, stop_rx)
            .await?;
        let dir = self.shared.container_dir(&c.name);
        if self.agent.mounts.is_none() && !mounts.is_empty() {
            let empty = PodVolumes::default();
            let vols = self.volumes.get().map(|v| v.as_ref()).unwrap_or(&empty);
            let links = dir.join("mounts");
            mounts::fallback_links(&mounts, &links);
            env.extend(mounts::fallback_vars(&mounts, vols, &links));
        }
        let lookup: BTreeMap<&str, &str> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let ex = |s: &String| expand(s, |n| lookup.get(n).map(|v| v.to_string()));
        let (command, args): (Vec<String>, Vec<String>) = match &c.command {
            Some(cmd) if !cmd.is_empty() => (
                cmd.iter().map(ex).collect(),
                c.args.iter().flatten().map(ex).collect(),
            ),
            _ => {
                let args = match &c.args {
                    Some(a) if !a.is_empty() => a.iter().map(ex).collect(),
                    _ => resolved.cmd.iter().map(ex).collect(),
                };
                (resolved.entrypoint.iter().map(ex).collect(), args)
            }
        };
        let mut program: Vec<String> = command;
        program.extend(args);
        let cwd = self.working_dir(c, &resolved, &mounts);
        let (argv, spawn_cwd, wrap_error) = match &self.agent.mounts {
            Some(tools) if !program.is_empty() => {
                match self.write_mount_script(tools, &dir, &mounts, &cwd) {
                    Ok(script) => (
                        mounts::wrap(tools, &sandbox.command_prefix, &script, &program),
                        PathBuf::from("/"),
                        None,
                    ),
                    Err(e) => (program.clone(), cwd.clone(), Some(e)),
                }
            }
            _ => {
                let mut argv = sandbox.command_prefix.clone();
                argv.extend(program.iter().cloned());
                (argv, cwd.clone(), None)
            }
        };

        let files = RunFiles::new(&dir, run);
        // Only the current and the previous run's logs are kept.
        RunFiles::prune_before(&dir, run.saturating_sub(1));
        let spec = ProcSpec {
            argv: argv.clone(),
            env: env.clone(),
            cwd: spawn_cwd,
            stdout: files.stdout(),
            stderr: files.stderr(),
        };
        let container_id = new_container_id(&self.shared.uid, &c.name, run);
        let started_at = Timestamp::now();
        events
            .normal(&who, "Created", format!("Created container: {}", c.name))
            .await;
        let has_prev = run > 0 && RunFiles::new(&dir, run - 1).log().exists();
        let p = match (program.is_empty(), wrap_error) {
            (true, _) => Err("no command specified".to_string()),
            (false, Some(e)) => Err(e),
            (false, None) => process::spawn(&spec).map_err(|e| e.to_string()),
        };
        let p = match p {
            Ok(p) => p,
            Err(msg) => {
                events
                    .warning(
                        &who,
                        "Failed",
                        format!("Error: failed to start container {:?}: {msg}", c.name),
                    )
                    .await;
                let term = Term {
                    exit_code: 128,
                    signal: None,
                    reason: "StartError".into(),
                    message: Some(msg),
                    started_at: None,
                    finished_at: Timestamp::now(),
                    container_id: Some(container_id.clone()),
                };
                self.update_container(init, idx, |cs| {
                    cs.state = CState::Terminated(term.clone());
                    cs.container_id = Some(container_id.clone());
                });
                return Ok(Err(term));
            }
        };
        let rec = RunRecord {
            run,
            restart_count: self
                .shared
                .lock()
                .container_mut(init, idx)
                .map(|cs| cs.restart_count)
                .unwrap_or(0),
            container_id: container_id.clone(),
            image_id: resolved.image_id.clone(),
            proc: p.id,
            started_at: Time(started_at),
            exit: None,
        };
        save_run_record(&dir, &rec);
        self.update_container(init, idx, |cs| {
            cs.state = CState::Running { started_at };
            cs.container_id = Some(container_id.clone());
            cs.image_id = resolved.image_id.clone();
            cs.started = false;
            cs.ready = false;
            if cs.log_run.is_some() || has_prev {
                cs.prev_run = cs.log_run.or(has_prev.then(|| run - 1));
            }
            cs.log_run = Some(run);
        });
        events
            .normal(&who, "Started", format!("Started container {}", c.name))
            .await;
        let target = self.probe_target(sandbox, env, cwd, p.id.pid);
        Ok(Ok((p, rec, files, target)))
    }

    /// Write the container's mount script; its path.
    fn write_mount_script(
        &self,
        tools: &mounts::Tools,
        dir: &Path,
        mounts: &[Mount],
        working_dir: &Path,
    ) -> Result<PathBuf, String> {
        let script = dir.join(MOUNT_SCRIPT);
        let staging = dir.join("ns");
        std::fs::create_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
        let text = mounts::script(&mounts::ScriptInput {
            mounts,
            staging: &staging,
            working_dir,
            script: &script,
            tools,
        })?;
        let tmp = script.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &script))
            .map_err(|e| format!("{}: {e}", script.display()))?;
        Ok(script)
    }

    /// Resolve the image, with ErrImagePull / ImagePullBackOff while it cannot be.
    async fn pull(
        &self,
        init: bool,
        idx: usize,
        c: &Container,
        who: &Involved,
        stop_rx: &mut watch::Receiver<Option<Stop>>,
    ) -> Result<ResolvedImage, Stop> {
        let image = c.image.clone().unwrap_or_default();
        let has_command = c.command.as_ref().is_some_and(|v| !v.is_empty());
        let mut wait = BACKOFF_START;
        loop {
            let cfg = &self.agent.cfg;
            match catalog::resolve(&cfg.images_file, &cfg.demo_command, &image) {
                Ok(r) => return Ok(r),
                Err(catalog::CatalogError::NotFound { .. }) if has_command => {
                    return Ok(catalog::command_only(&image))
                }
                Err(e) => {
                    let msg = e.to_string();
                    self.update_container(init, idx, |cs| {
                        cs.state = CState::Waiting {
                            reason: "ErrImagePull".into(),
                            message: Some(msg.clone()),
                        };
                    });
                    let events = &self.agent.kubelet_events;
                    events
                        .warning(
                            who,
                            "Failed",
                            format!("Failed to pull image {image:?}: {msg}"),
                        )
                        .await;
                    events
                        .warning(who, "Failed", "Error: ErrImagePull".into())
                        .await;
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        s = wait_stop(stop_rx) => return Err(s),
                    }
                    self.update_container(init, idx, |cs| {
                        cs.state = CState::Waiting {
                            reason: "ImagePullBackOff".into(),
                            message: Some(format!(
                                "Back-off pulling image {image:?}: ErrImagePull: {msg}"
                            )),
                        };
                    });
                    events
                        .normal(who, "BackOff", format!("Back-off pulling image {image:?}"))
                        .await;
                    events
                        .warning(who, "Failed", "Error: ImagePullBackOff".into())
                        .await;
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        s = wait_stop(stop_rx) => return Err(s),
                    }
                    wait = (wait * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// The container's environment and mounts; `CreateContainerConfigError`
    /// while a referenced ConfigMap or Secret is missing or a `subPath`
    /// cannot be prepared.
    #[allow(clippy::too_many_arguments)]
    async fn configure(
        &self,
        init: bool,
        idx: usize,
        c: &Container,
        sandbox: &Sandbox,
        resolved: &ResolvedImage,
        who: &Involved,
        min_rv: Option<u64>,
        stop_rx: &mut watch::Receiver<Option<Stop>>,
    ) -> Result<(Vec<(String, String)>, Vec<Mount>), Stop> {
        let mut wait = Duration::from_secs(1);
        loop {
            let attempt = match self.resolve_env(c, sandbox, resolved, min_rv).await {
                Ok(env) => self.container_mounts(c, &env).map(|m| (env, m)),
                Err(e) => Err(e),
            };
            match attempt {
                Ok(ok) => return Ok(ok),
                Err(msg) => {
                    self.update_container(init, idx, |cs| {
                        cs.state = CState::Waiting {
                            reason: "CreateContainerConfigError".into(),
                            message: Some(msg.clone()),
                        };
                    });
                    self.agent
                        .kubelet_events
                        .warning(who, "Failed", format!("Error: {msg}"))
                        .await;
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        s = wait_stop(stop_rx) => return Err(s),
                    }
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// The container's environment. `min_rv`: a Service list as of this
    /// resourceVersion or later will do (see [`crate::services`]); `None`
    /// lists afresh.
    async fn resolve_env(
        &self,
        c: &Container,
        sandbox: &Sandbox,
        resolved: &ResolvedImage,
        min_rv: Option<u64>,
    ) -> Result<Vec<(String, String)>, String> {
        let pod = self.current();
        let ns = &self.shared.namespace;
        let (cm_names, secret_names) = env::referenced(c);
        let (cms, secrets) = self.fetch_sources(cm_names, secret_names).await?;
        let lists = &self.agent.services;
        let mut services: Vec<Service> = lists
            .list(ns, min_rv)
            .await
            .map(|l| l.to_vec())
            .unwrap_or_default();
        if ns != "default" {
            if let Ok(l) = lists.list("default", min_rv).await {
                services.extend(
                    l.iter()
                        .find(|s| s.metadata.name.as_deref() == Some("kubernetes"))
                        .cloned(),
                );
            }
        }
        let pod_ip = sandbox.ip.to_string();
        let host_ip = self.agent.host_ip.to_string();
        let mut base: BTreeMap<String, String> = BTreeMap::new();
        for k in ["PATH", "HOME", "LANG", "TZ"] {
            if let Ok(v) = std::env::var(k) {
                base.insert(k.to_string(), v);
            }
        }
        base.entry("PATH".into()).or_insert_with(|| {
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
        });
        for (k, v) in &resolved.env {
            base.insert(k.clone(), v.clone());
        }
        base.insert("HOSTNAME".into(), self.shared.name.clone());
        base.insert("POD_IP".into(), pod_ip.clone());
        if let Some(p) = c.ports.iter().flatten().next() {
            base.insert("PORT".into(), p.container_port.to_string());
        }
        let base: Vec<(String, String)> = base.into_iter().collect();
        let inputs = EnvInputs {
            pod: &pod,
            pod_ip: &pod_ip,
            host_ip: &host_ip,
            node: &self.agent.resources,
            config_maps: &cms,
            secrets: &secrets,
            services: &services,
        };
        env::container_env(&inputs, c, &base).map_err(|e| e.to_string())
    }

    /// The container's mounts against the pod's volumes.
    fn container_mounts(
        &self,
        c: &Container,
        env: &[(String, String)],
    ) -> Result<Vec<Mount>, String> {
        let empty = PodVolumes::default();
        let vols = self.volumes.get().map(|v| v.as_ref()).unwrap_or(&empty);
        mounts::container_mounts(c, vols, env)
    }

    /// The working directory as the program sees it. Inside a mount
    /// namespace the default is `/`, as in a container; on the host it is
    /// an empty per-pod directory, or the volume behind a mountPath.
    fn working_dir(&self, c: &Container, resolved: &ResolvedImage, mounts: &[Mount]) -> PathBuf {
        let chosen = c
            .working_dir
            .as_deref()
            .filter(|w| !w.is_empty())
            .or(resolved.working_dir.as_deref().filter(|w| !w.is_empty()))
            .map(PathBuf::from);
        if self.agent.mounts.is_some() {
            return chosen.unwrap_or_else(|| PathBuf::from("/"));
        }
        if let Some(w) = chosen {
            return mounts::fallback_working_dir(mounts, &w);
        }
        let root = self.shared.dir.join("root");
        let _ = std::fs::create_dir_all(&root);
        root
    }

    /// Where exec probes and hooks of the container with process `pid` run.
    fn probe_target(
        &self,
        sandbox: &Sandbox,
        env: Vec<(String, String)>,
        cwd: PathBuf,
        pid: u32,
    ) -> probe::Target {
        match &self.agent.mounts {
            Some(tools) => probe::Target {
                pod_ip: std::net::IpAddr::V4(sandbox.ip),
                env,
                // nsenter takes the container's own working directory.
                cwd: PathBuf::from("/"),
                command_prefix: mounts::enter_prefix(tools, pid),
            },
            None => probe::Target {
                pod_ip: std::net::IpAddr::V4(sandbox.ip),
                env,
                cwd,
                command_prefix: sandbox.command_prefix.clone(),
            },
        }
    }

    /// Until the container's mount script has handed over to the program
    /// (hooks and exec probes must see the container's mounts).
    async fn wait_mounted(&self, name: &str, pid: u32) {
        if self.agent.mounts.is_none() {
            return;
        }
        let script = self.shared.container_dir(name).join(MOUNT_SCRIPT);
        let deadline = Instant::now() + Duration::from_secs(30);
        while mounts::still_mounting(pid, &script) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// An adopted process's probe target: its env is rebuilt the same way.
    async fn adopted_target(&self, c: &Container, sandbox: &Sandbox, pid: u32) -> probe::Target {
        let cfg = &self.agent.cfg;
        let image = c.image.clone().unwrap_or_default();
        let resolved = catalog::resolve(&cfg.images_file, &cfg.demo_command, &image)
            .unwrap_or_else(|_| catalog::command_only(&image));
        let mut env = self
            .resolve_env(c, sandbox, &resolved, self.seen_rv)
            .await
            .unwrap_or_default();
        let mounts = self.container_mounts(c, &env).unwrap_or_default();
        if self.agent.mounts.is_none() && !mounts.is_empty() {
            let empty = PodVolumes::default();
            let vols = self.volumes.get().map(|v| v.as_ref()).unwrap_or(&empty);
            let dir = self.shared.container_dir(&c.name).join("mounts");
            env.extend(mounts::fallback_vars(&mounts, vols, &dir));
        }
        let cwd = self.working_dir(c, &resolved, &mounts);
        self.probe_target(sandbox, env, cwd, pid)
    }

    /// Watch over a running process: logs, postStart, probes, and stopping
    /// it when the pod stops or a probe says so.
    #[allow(clippy::too_many_arguments)]
    async fn supervise(
        &self,
        init: bool,
        idx: usize,
        c: &Container,
        sandbox: &Sandbox,
        mut p: Proc,
        rec: RunRecord,
        files: RunFiles,
        target: probe::Target,
        fresh: bool,
    ) -> RunEnd {
        let _ = sandbox;
        let mut stop_rx = self.stop.clone();
        let pod = self.current();
        let who = Involved::pod(&pod).container(Self::field_path(init, &c.name));
        let started_at = rec.started_at.0;
        // Probe delays count from the start. A run this agent just started
        // has a monotonic clock reading; an adopted one only its recorded
        // start, whole seconds, so its age is taken as the least it can be
        // (an `initialDelaySeconds` may then end up to a second late, never
        // early).
        let started_instant = if fresh {
            Instant::now()
        } else {
            let age_ns = Timestamp::now().as_nanosecond() - started_at.as_nanosecond();
            let age =
                Duration::from_nanos(age_ns.max(0) as u64).saturating_sub(Duration::from_secs(1));
            Instant::now().checked_sub(age).unwrap_or_else(Instant::now)
        };
        let pump = Arc::new(Mutex::new(Pump::open(files.clone())));
        let pump_loop = {
            let pump = pump.clone();
            async move {
                // Quick while the container talks, slower while it is quiet,
                // so hundreds of idle pods cost little.
                let mut idle = Duration::from_millis(50);
                loop {
                    let any = pump.lock().unwrap_or_else(|e| e.into_inner()).pump();
                    idle = if any {
                        Duration::from_millis(50)
                    } else {
                        (idle * 2).min(Duration::from_millis(400))
                    };
                    tokio::time::sleep(idle).await;
                }
            }
        };

        enum Why {
            Exited(Exit),
            Changed,
            Probe(String, Duration),
            HookFailed(String),
            Stop(Stop),
        }

        let grace_default = pod_grace(&pod);
        let pid = p.id.pid;
        let watched = async {
            self.wait_mounted(&c.name, pid).await;
            if fresh {
                if let Some(h) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) {
                    if let Err(f) = probe::hook(h, c, &target, grace_default.max(MIN_GRACE)).await {
                        return Why::HookFailed(f.0);
                    }
                }
            }
            if init {
                std::future::pending::<()>().await;
            }
            let (msg, grace) = self
                .probe_loop(idx, c, &target, &who, started_instant)
                .await;
            Why::Probe(msg, grace.unwrap_or(grace_default))
        };

        let changed = async {
            if init {
                std::future::pending::<()>().await;
            }
            self.image_changed(idx, c.image.clone()).await;
        };
        let why = tokio::select! {
            e = p.wait() => Why::Exited(e),
            _ = changed => Why::Changed,
            w = watched => w,
            s = wait_stop(&mut stop_rx) => Why::Stop(s),
            _ = pump_loop => Why::Exited(Exit::Unknown),
        };
        let events = &self.agent.kubelet_events;
        let mut replaced = false;
        let (exit, stopped) = match why {
            Why::Exited(e) => (e, None),
            Why::Changed => {
                replaced = true;
                events
                    .normal(
                        &who,
                        "Killing",
                        format!("Container {} definition changed, will be restarted", c.name),
                    )
                    .await;
                (p.terminate(grace_default).await, None)
            }
            Why::Probe(msg, grace) => {
                events.normal(&who, "Killing", msg).await;
                (p.terminate(grace).await, None)
            }
            Why::HookFailed(msg) => {
                events
                    .warning(
                        &who,
                        "FailedPostStartHook",
                        format!("PostStartHook failed: {msg}"),
                    )
                    .await;
                events
                    .normal(
                        &who,
                        "Killing",
                        format!(
                            "FailedPostStartHook: container {} will be restarted",
                            c.name
                        ),
                    )
                    .await;
                (p.terminate(grace_default).await, None)
            }
            Why::Stop(s) => {
                let deadline = Instant::now() + s.grace;
                // Before this container reports not ready: the decision
                // looks at whether the pod was Ready.
                let drain = self.drain_until(s);
                events
                    .normal(&who, "Killing", format!("Stopping container {}", c.name))
                    .await;
                self.update_container(init, idx, |cs| cs.ready = false);
                if let Some(until) = drain {
                    tokio::time::sleep_until(until.min(deadline)).await;
                }
                if let Some(h) = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()) {
                    if p.try_exited().is_none() {
                        // What the drain left of the grace period, but
                        // never less than the least time SIGTERM gets.
                        let limit = deadline
                            .saturating_duration_since(Instant::now())
                            .max(MIN_GRACE.min(s.grace));
                        if let Err(f) = probe::hook(h, c, &target, limit).await {
                            events
                                .warning(
                                    &who,
                                    "FailedPreStopHook",
                                    format!("PreStopHook failed: {}", f.0),
                                )
                                .await;
                        }
                    }
                }
                // The kubelet grants a little time after preStop even when it used the grace up.
                let left =
                    deadline
                        .saturating_duration_since(Instant::now())
                        .max(if s.grace.is_zero() {
                            Duration::ZERO
                        } else {
                            MIN_GRACE.min(s.grace)
                        });
                (p.terminate(left).await, Some(s))
            }
        };
        pump.lock().unwrap_or_else(|e| e.into_inner()).finish();
        let finished_at = Timestamp::now();
        let term = Term {
            exit_code: exit.code(),
            signal: match exit {
                Exit::Signal(s) => Some(s),
                _ => None,
            },
            reason: match exit {
                Exit::Unknown => "ContainerStatusUnknown".into(),
                Exit::Code(0) => "Completed".into(),
                _ => "Error".into(),
            },
            message: matches!(exit, Exit::Unknown).then(|| {
                "The container could not be located when the pod was terminated".to_string()
            }),
            started_at: Some(started_at),
            finished_at,
            container_id: Some(rec.container_id.clone()),
        };
        save_run_record(&self.shared.container_dir(&c.name), &with_exit(&rec, &term));
        self.update_container(init, idx, |cs| {
            cs.state = CState::Terminated(term.clone());
            cs.ready = init && term.exit_code == 0;
            cs.started = false;
        });
        match stopped {
            Some(s) => RunEnd::Stopped(s),
            None if replaced => RunEnd::Replaced(term),
            None => RunEnd::Exited(term),
        }
    }

    /// For a deletion of a pod that is Ready and has an address: the end of
    /// the endpoint drain window, which starts when the first container
    /// sees the stop. Every container of the pod gets the same answer.
    fn drain_until(&self, s: Stop) -> Option<Instant> {
        *self.drain.get_or_init(|| {
            let window = self.agent.endpoint_drain.min(s.grace);
            if s.kind != StopKind::Delete || window.is_zero() {
                return None;
            }
            let st = self.shared.lock();
            let ready = st.initialized
                && !st.main.is_empty()
                && st
                    .main
                    .iter()
                    .all(|c| c.ready && matches!(c.state, CState::Running { .. }));
            (ready && st.pod_ip.is_some()).then(|| Instant::now() + window)
        })
    }

    /// The container's spec as the pod has it now.
    fn container_spec(&self, init: bool, idx: usize) -> Option<Container> {
        let pod = self.current();
        let spec = pod.spec.as_ref()?;
        if init {
            spec.init_containers.as_ref()?.get(idx).cloned()
        } else {
            spec.containers.get(idx).cloned()
        }
    }

    /// Resolves once container `idx`'s image differs from `image`.
    async fn image_changed(&self, idx: usize, image: Option<String>) {
        let mut rx = self.pod.clone();
        loop {
            let now = rx
                .borrow_and_update()
                .spec
                .as_ref()
                .and_then(|s| s.containers.get(idx))
                .map(|c| c.image.clone());
            if now.is_some_and(|i| i != image) {
                return;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Startup, then liveness and readiness probes. Returns when the
    /// container must be restarted: the Killing message and the probe's
    /// own grace period, if it sets one.
    async fn probe_loop(
        &self,
        idx: usize,
        c: &Container,
        target: &probe::Target,
        who: &Involved,
        started: Instant,
    ) -> (String, Option<Duration>) {
        let events = &self.agent.kubelet_events;
        let probe_grace = |p: &Probe| {
            p.termination_grace_period_seconds
                .map(|s| Duration::from_secs(s.max(0) as u64))
        };
        if let Some(sp) = &c.startup_probe {
            let mut run = ProbeRun::new(sp, started).with_early_retries();
            loop {
                let regular = run.tick().await;
                match probe::check(sp, c, target).await {
                    Ok(()) => {
                        if run.success() {
                            break;
                        }
                    }
                    // An early retry's failure is not a probe result.
                    Err(_) if !regular => run.retry_soon(),
                    Err(f) => {
                        run.retry_soon();
                        events
                            .warning(who, "Unhealthy", format!("Startup probe failed: {}", f.0))
                            .await;
                        if run.failure() {
                            return (
                                format!(
                                    "Container {} failed startup probe, will be restarted",
                                    c.name
                                ),
                                probe_grace(sp),
                            );
                        }
                    }
                }
            }
        }
        let has_readiness = c.readiness_probe.is_some();
        self.update_container(false, idx, |cs| {
            cs.started = true;
            if !has_readiness {
                cs.ready = true;
            }
        });
        let liveness = async {
            let Some(lp) = &c.liveness_probe else {
                return std::future::pending().await;
            };
            let mut run = ProbeRun::new(lp, started);
            loop {
                run.tick().await;
                match probe::check(lp, c, target).await {
                    Ok(()) => {
                        run.success();
                    }
                    Err(f) => {
                        events
                            .warning(who, "Unhealthy", format!("Liveness probe failed: {}", f.0))
                            .await;
                        if run.failure() {
                            return (
                                format!(
                                    "Container {} failed liveness probe, will be restarted",
                                    c.name
                                ),
                                probe_grace(lp),
                            );
                        }
                    }
                }
            }
        };
        let readiness = async {
            let Some(rp) = &c.readiness_probe else {
                return std::future::pending::<()>().await;
            };
            let mut run = ProbeRun::new(rp, started).with_early_retries();
            loop {
                let regular = run.tick().await;
                match probe::check(rp, c, target).await {
                    Ok(()) => {
                        if run.success() {
                            self.set_ready(idx, true);
                        }
                    }
                    Err(_) if !regular => run.retry_soon(),
                    Err(f) => {
                        run.retry_soon();
                        events
                            .warning(who, "Unhealthy", format!("Readiness probe failed: {}", f.0))
                            .await;
                        if run.failure() {
                            self.set_ready(idx, false);
                        }
                    }
                }
            }
        };
        tokio::select! {
            r = liveness => r,
            _ = readiness => (String::new(), None),
        }
    }

    fn set_ready(&self, idx: usize, ready: bool) {
        let changed = {
            let mut st = self.shared.lock();
            match st.main.get_mut(idx) {
                Some(cs) if cs.ready != ready && matches!(cs.state, CState::Running { .. }) => {
                    cs.ready = ready;
                    true
                }
                _ => false,
            }
        };
        if changed {
            self.shared.dirty.notify_one();
        }
    }

    /// Writes status whenever the state changes or someone else's write
    /// left the stored status different from ours.
    async fn status_writer(&self) {
        let mut pod_rx = self.pod.clone();
        let mut last = Written::default();
        loop {
            tokio::select! {
                _ = self.shared.dirty.notified() => {}
                r = pod_rx.changed() => {
                    if r.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
            tokio::time::sleep(STATUS_COALESCE).await;
            self.write_status(Some(&mut last), false).await;
        }
    }

    async fn write_status(&self, last: Option<&mut Written>, force: bool) {
        let pod = self.current();
        let desired = {
            let mut st = self.shared.lock();
            status::build(
                &pod,
                &mut st,
                &self.agent.host_ip.to_string(),
                Timestamp::now(),
            )
        };
        let Ok(desired_json) = serde_json::to_value(&desired) else {
            return;
        };
        // The watch may not have brought our last write back yet: a pod
        // older than that write says nothing about someone else's.
        let echo_pending = last.as_ref().and_then(|l| l.rv).is_some_and(|w| {
            crate::services::rv_number(pod.metadata.resource_version.as_deref())
                .is_some_and(|seen| seen <= w)
        });
        let observed_ok = echo_pending
            || pod.status.as_ref().is_some_and(|o| {
                o.phase == desired.phase
                    && o.pod_ip == desired.pod_ip
                    && o.conditions.as_ref().map(Vec::len)
                        == desired.conditions.as_ref().map(Vec::len)
                    && o.container_statuses.as_ref().map(Vec::len)
                        == desired.container_statuses.as_ref().map(Vec::len)
            });
        let same_as_last = last
            .as_ref()
            .is_some_and(|l| l.json.as_ref() == Some(&desired_json));
        if same_as_last && observed_ok && !force {
            return;
        }
        let api: Api<Pod> = Api::namespaced(self.agent.client.clone(), &self.shared.namespace);
        let patch = serde_json::json!({"status": desired_json});
        match api
            .patch_status(
                &self.shared.name,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(written) => {
                if let Some(l) = last {
                    l.json = Some(desired_json);
                    l.rv = crate::services::rv_number(written.metadata.resource_version.as_deref());
                }
            }
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => {
                tracing::warn!(pod = %self.shared.name, error = %e, "writing pod status failed");
                // Try again soon.
                self.shared.dirty.notify_one();
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }

    /// Kill whatever a previous agent left running for this pod.
    async fn kill_leftovers(&self) {
        kill_pod_leftovers(&self.shared.dir).await;
    }

    fn load_pod_record(&self) -> PodRecord {
        std::fs::read(self.shared.dir.join("pod.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save_pod_record(&self, initialized: bool) {
        let _ = std::fs::create_dir_all(&self.shared.dir);
        let rec = PodRecord {
            namespace: self.shared.namespace.clone(),
            name: self.shared.name.clone(),
            initialized,
        };
        if let Ok(b) = serde_json::to_vec(&rec) {
            write_atomic(&self.shared.dir.join("pod.json"), &b);
        }
    }
}

/// The status this agent wrote last, and the pod's resourceVersion after it.
#[derive(Default)]
struct Written {
    json: Option<serde_json::Value>,
    rv: Option<u64>,
}

/// Kill every process recorded under a pod directory that still runs.
pub async fn kill_pod_leftovers(pod_dir: &Path) {
    let Ok(rd) = std::fs::read_dir(pod_dir.join("containers")) else {
        return;
    };
    for e in rd.flatten() {
        if let Some(rec) = load_run_record(&e.path()) {
            if rec.exit.is_none() {
                if let Some(mut p) = Proc::adopt(rec.proc) {
                    tracing::info!(pid = rec.proc.pid, "killing a leftover process");
                    let _ = p.terminate(MIN_GRACE).await;
                }
            }
        }
    }
}

/// Timing and thresholds of one probe.
///
/// Probes run at `initialDelaySeconds` after the start, then every
/// `periodSeconds`, as upstream. A probe made [`with_early_retries`]
/// (startup and readiness) also checks again soon after a failure while it
/// has never succeeded in this run and its first period has not passed:
/// 50 ms, 100 ms, 200 ms, … apart (at most [`EARLY_RETRY_MAX`] for
/// network checks, which cost a connection attempt, and
/// [`EARLY_RETRY_MAX_EXEC`] for exec checks, which start a process), so a
/// container whose app binds a moment after the first probe does not wait
/// a whole period to become ready. Those extra checks are not probe
/// results: a failing one is neither counted towards `failureThreshold`
/// nor reported as `Unhealthy`; a passing one counts as the success the
/// next regular probe would have recorded.
///
/// [`with_early_retries`]: ProbeRun::with_early_retries
struct ProbeRun {
    period: Duration,
    success_threshold: i32,
    failure_threshold: i32,
    successes: i32,
    failures: i32,
    next: Instant,
    /// The next early retry, if one is due before `next`.
    retry_at: Option<Instant>,
    /// The gap before the next early retry; `None` when early retries are
    /// off (not wanted, a success seen, or the first period over).
    retry_gap: Option<Duration>,
    /// When early retries end: one period after the first regular probe.
    retry_until: Option<Instant>,
    /// The longest gap between early retries.
    retry_max: Duration,
}

/// The first early retry's delay after a failed check, doubling after each.
const EARLY_RETRY_FIRST: Duration = Duration::from_millis(50);
/// The longest gap between early retries of httpGet, tcpSocket and grpc checks.
const EARLY_RETRY_MAX: Duration = Duration::from_millis(200);
/// The longest gap between early retries of exec checks.
const EARLY_RETRY_MAX_EXEC: Duration = Duration::from_secs(1);

impl ProbeRun {
    fn new(p: &Probe, started: Instant) -> ProbeRun {
        let secs = |v: Option<i32>, d: i32| Duration::from_secs(v.unwrap_or(d).max(0) as u64);
        ProbeRun {
            period: secs(p.period_seconds, 10).max(Duration::from_secs(1)),
            success_threshold: p.success_threshold.unwrap_or(1).max(1),
            failure_threshold: p.failure_threshold.unwrap_or(3).max(1),
            successes: 0,
            failures: 0,
            next: started + secs(p.initial_delay_seconds, 0),
            retry_at: None,
            retry_gap: None,
            retry_until: None,
            retry_max: if p.exec.is_some() {
                EARLY_RETRY_MAX_EXEC
            } else {
                EARLY_RETRY_MAX
            },
        }
    }

    /// Check again soon after failures until the first success (see the type).
    fn with_early_retries(mut self) -> ProbeRun {
        self.retry_gap = Some(EARLY_RETRY_FIRST);
        self
    }

    /// Wait for the next check: true for a regular probe, false for an
    /// early retry.
    async fn tick(&mut self) -> bool {
        if let Some(at) = self.retry_at.take() {
            if at < self.next {
                tokio::time::sleep_until(at).await;
                return false;
            }
        }
        tokio::time::sleep_until(self.next).await;
        if self.retry_until.is_none() && self.retry_gap.is_some() {
            self.retry_until = Some(Instant::now() + self.period);
        }
        self.next = Instant::now().max(self.next) + self.period;
        true
    }

    /// After a failed check: schedule an early retry if they are still on.
    fn retry_soon(&mut self) {
        let Some(gap) = self.retry_gap else { return };
        let now = Instant::now();
        if self.retry_until.is_some_and(|u| now >= u) {
            self.retry_gap = None;
            return;
        }
        self.retry_at = Some(now + gap);
        self.retry_gap = Some((gap * 2).min(self.retry_max));
    }

    /// Record a success; true once the threshold is met.
    fn success(&mut self) -> bool {
        self.retry_gap = None;
        self.retry_at = None;
        self.failures = 0;
        self.successes += 1;
        self.successes >= self.success_threshold
    }

    /// Record a failure; true once the threshold is met.
    fn failure(&mut self) -> bool {
        self.successes = 0;
        self.failures += 1;
        self.failures >= self.failure_threshold
    }
}

/// The `ready` and `started` the API last recorded for a container.
fn observed_readiness(p: &Pod, init: bool, name: &str) -> (bool, bool) {
    let st = p.status.as_ref();
    let list = if init {
        st.and_then(|s| s.init_container_statuses.as_ref())
    } else {
        st.and_then(|s| s.container_statuses.as_ref())
    };
    list.and_then(|l| l.iter().find(|c| c.name == name))
        .map(|c| (c.ready, c.started.unwrap_or(false)))
        .unwrap_or((false, false))
}

pub async fn wait_stop(rx: &mut watch::Receiver<Option<Stop>>) -> Stop {
    loop {
        if let Some(s) = *rx.borrow_and_update() {
            return s;
        }
        if rx.changed().await.is_err() {
            // The manager is gone without a word: behave as an agent shutdown.
            return Stop {
                kind: StopKind::Shutdown,
                grace: MIN_GRACE,
            };
        }
    }
}

fn unreachable_stop() -> Stop {
    Stop {
        kind: StopKind::Shutdown,
        grace: MIN_GRACE,
    }
}

fn restarts(policy: &str, code: i32) -> bool {
    match policy {
        "Always" => true,
        "OnFailure" => code != 0,
        _ => false,
    }
}

fn run_duration(t: &Term) -> Duration {
    let start = t
        .started_at
        .map(|s| s.as_second())
        .unwrap_or(t.finished_at.as_second());
    Duration::from_secs((t.finished_at.as_second() - start).max(0) as u64)
}

pub fn pod_grace(p: &Pod) -> Duration {
    let s = p
        .spec
        .as_ref()
        .and_then(|s| s.termination_grace_period_seconds)
        .unwrap_or(30);
    Duration::from_secs(s.max(0) as u64)
}

fn pod_ref(p: &Pod) -> String {
    format!(
        "{}_{}({})",
        p.metadata.name.as_deref().unwrap_or(""),
        p.metadata.namespace.as_deref().unwrap_or(""),
        p.metadata.uid.as_deref().unwrap_or("")
    )
}

/// Go's duration text for whole seconds and minutes: `10s`, `5m0s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn new_container_id(uid: &str, name: &str, run: u32) -> String {
    use std::hash::BuildHasher;
    let mut out = String::new();
    for salt in 0..4u8 {
        // RandomState is seeded randomly per instance: unique IDs without a rand dependency.
        let h = std::collections::hash_map::RandomState::new().hash_one((
            uid,
            name,
            run,
            salt,
            Timestamp::now().as_nanosecond(),
        ));
        out.push_str(&format!("{h:016x}"));
    }
    format!("slipway://{out}")
}

fn record_term(rec: &RunRecord) -> Term {
    match &rec.exit {
        Some(x) => Term {
            exit_code: x.exit_code,
            signal: x.signal,
            reason: x.reason.clone(),
            message: None,
            started_at: Some(rec.started_at.0),
            finished_at: x.finished_at.0,
            container_id: Some(rec.container_id.clone()),
        },
        None => Term {
            exit_code: 137,
            signal: None,
            reason: "ContainerStatusUnknown".into(),
            message: Some("The container could not be located when the pod was terminated".into()),
            started_at: Some(rec.started_at.0),
            finished_at: Timestamp::now(),
            container_id: Some(rec.container_id.clone()),
        },
    }
}

fn with_exit(rec: &RunRecord, t: &Term) -> RunRecord {
    RunRecord {
        exit: Some(ExitRecord {
            exit_code: t.exit_code,
            signal: t.signal,
            reason: t.reason.clone(),
            finished_at: Time(t.finished_at),
        }),
        ..rec.clone()
    }
}

fn load_run_record(dir: &Path) -> Option<RunRecord> {
    let b = std::fs::read(dir.join("state.json")).ok()?;
    serde_json::from_slice(&b).ok()
}

fn save_run_record(dir: &Path, rec: &RunRecord) {
    if let Ok(b) = serde_json::to_vec(rec) {
        write_atomic(&dir.join("state.json"), &b);
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, bytes).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_resets() {
        let mut b = Backoff::new();
        let short = Duration::from_secs(1);
        let got: Vec<u64> = (0..8).map(|_| b.delay(short).as_secs()).collect();
        assert_eq!(got, [0, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(b.delay(Duration::from_secs(601)), Duration::ZERO);
        assert_eq!(b.delay(short), Duration::from_secs(10));
    }

    /// Ticks of `run` while every check fails, until `until` has passed:
    /// (ms since start, regular probe or early retry).
    async fn failing_ticks(run: &mut ProbeRun, t0: Instant, until: Duration) -> Vec<(u128, bool)> {
        let mut seen = Vec::new();
        while t0.elapsed() < until {
            let regular = run.tick().await;
            seen.push((t0.elapsed().as_millis(), regular));
            run.retry_soon();
        }
        seen
    }

    #[tokio::test(start_paused = true)]
    async fn early_retries_run_only_within_the_first_period() {
        let probe = Probe {
            period_seconds: Some(2),
            exec: Some(Default::default()),
            ..Default::default()
        };
        let t0 = Instant::now();
        let mut run = ProbeRun::new(&probe, t0).with_early_retries();
        let seen = failing_ticks(&mut run, t0, Duration::from_secs(5)).await;
        assert_eq!(
            seen,
            [
                (0, true),
                (50, false),
                (150, false),
                (350, false),
                (750, false),
                (1550, false),
                (2000, true),
                (4000, true),
                (6000, true)
            ]
        );
        // Network checks are cheap: their gaps stop growing at 200 ms.
        let http = Probe {
            period_seconds: Some(1),
            http_get: Some(Default::default()),
            ..Default::default()
        };
        let t0 = Instant::now();
        let mut run = ProbeRun::new(&http, t0).with_early_retries();
        let seen = failing_ticks(&mut run, t0, Duration::from_millis(1500)).await;
        assert_eq!(
            seen,
            [
                (0, true),
                (50, false),
                (150, false),
                (350, false),
                (550, false),
                (750, false),
                (950, false),
                (1000, true),
                (2000, true)
            ]
        );
        // Without early retries (liveness): the period only.
        let t0 = Instant::now();
        let mut plain = ProbeRun::new(&probe, t0);
        let seen = failing_ticks(&mut plain, t0, Duration::from_secs(3)).await;
        assert_eq!(seen, [(0, true), (2000, true), (4000, true)]);
    }

    #[tokio::test(start_paused = true)]
    async fn early_retries_stop_at_the_first_success_and_respect_the_initial_delay() {
        let probe = Probe {
            period_seconds: Some(10),
            initial_delay_seconds: Some(1),
            failure_threshold: Some(1),
            ..Default::default()
        };
        let t0 = Instant::now();
        let mut run = ProbeRun::new(&probe, t0).with_early_retries();
        assert!(run.tick().await);
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
        run.retry_soon();
        assert!(!run.tick().await);
        assert_eq!(t0.elapsed(), Duration::from_millis(1050));
        assert!(run.success());
        // Ready now; from here on a failure waits for the next period.
        run.retry_soon();
        assert!(run.tick().await);
        assert_eq!(t0.elapsed(), Duration::from_secs(11));
        assert!(run.failure(), "a regular failure counts at once");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(10)), "10s");
        assert_eq!(human(Duration::from_secs(300)), "5m0s");
    }
}
