//! The node agent: slipway's kubelet (and a trivial scheduler).
//!
//! ```ignore
//! let node = node::start(client, node::NodeConfig {
//!     node_name: "slipway".into(),
//!     data_dir: dir.join("node-agent"),
//!     images_file: dir.join("images.yaml"),
//!     demo_command: vec![current_exe, "demo-app".into()],
//!     token,
//! }).await?;
//! node.log_addr();      // where `GET /containerLogs/{ns}/{pod}/{container}` is served
//! node.shutdown().await; // SIGTERM → grace → SIGKILL for every pod process
//! ```
//!
//! [`start`] registers a `Node` (addresses, machine capacity, `nodeInfo`,
//! `Ready` condition, `daemonEndpoints.kubeletEndpoint.Port` = the log
//! server's port), renews a `Lease` in `kube-node-lease` every 10 s, binds
//! every unscheduled pod to itself (`pods/<name>/binding` and a `Scheduled`
//! event; the `PodScheduled` condition comes with the agent's first status
//! write) and runs the pods bound to it. All of it goes through the
//! Kubernetes API with kube-rs.
//!
//! # Containers are processes
//! Each container is a process in its own process group, started with a
//! clean environment (only `PATH`, `HOME`, `LANG` and `TZ` come from the
//! agent) plus, as in Kubernetes: the image's env, service link variables,
//! `envFrom`, `env` (with `$(VAR)` expansion, Downward API `fieldRef`,
//! `resourceFieldRef`, `configMapKeyRef`, `secretKeyRef`), and slipway's own
//! `POD_IP`, `PORT` (the first `containerPort`, if any) and `HOSTNAME`.
//! `command`/`args` combine with the image's entrypoint and args the way
//! Kubernetes combines them with ENTRYPOINT and CMD. The working directory
//! is `workingDir`, else the image's, else an empty per-pod directory.
//! Init containers run in order first. stdout/stderr go to files, so
//! processes outlive an agent crash; a restarted agent adopts them through
//! the state files under `data_dir/pods/<uid>/`.
//!
//! # The image catalog (`images.yaml`)
//! There is no container runtime; an image names a program. The catalog is
//! read again on every start of a container:
//!
//! ```yaml
//! images:
//!   - image: web            # no tag: matches every tag of "web"
//!     command: [python3, -m, http.server]   # the ENTRYPOINT
//!     args: ["$(PORT)", --bind, "$(POD_IP)"] # the CMD ($(VAR) expanded too)
//!     env: {PYTHONUNBUFFERED: "1"}            # the image's ENV
//!     workingDir: /srv                        # the WORKDIR (optional)
//!   - image: "tools:1.*"    # '*' matches any run of characters
//!     command: [sh, -c]
//! ```
//!
//! The first matching entry wins; built in after the file is
//! `slipway/demo:<tag>`, which runs [`NodeConfig::demo_command`] with
//! `DEMO_TAG=<tag>`. A container that sets `command` runs even when its
//! image is not in the catalog (the image then contributes nothing). An image
//! that resolves to nothing leaves the container `Waiting` with
//! `ErrImagePull`, then `ImagePullBackOff`, and a message naming the file.
//!
//! # Networking
//! [`start`] gives each pod its own loopback address from a /20 block of
//! 127.0.0.0/8 chosen per data dir; the app must bind `$POD_IP:$PORT`.
//! [`start_with`] can choose per-pod network namespaces on a bridge instead
//! (root only; see [`net`]). `hostIP` is 127.0.0.1 either way.
//! [`start_with_options`] also chooses the [`MountMode`]; [`start_with`]
//! uses [`MountMode::Auto`] (mount namespaces when root).
//!
//! # Lifecycle
//! Startup, liveness and readiness probes (httpGet, tcpSocket, exec; grpc
//! and https are checked as a TCP connect) with every timing field;
//! restartPolicy with the kubelet's back-off (immediate first restart, then
//! 10 s doubling to 5 min, reset after 10 min of running); postStart and
//! preStop (exec, httpGet, sleep). A pod with a `deletionTimestamp` gets
//! preStop, SIGTERM to its process group, its grace period, SIGKILL, and
//! is then deleted with `gracePeriodSeconds=0`. A changed container image
//! (the one mutable container field) restarts that container.
//!
//! Startup and readiness probes that fail before their first success also
//! check again 50 ms, 100 ms, 200 ms, … later (within their first period),
//! so a container is Ready moments after its app listens rather than a whole
//! `periodSeconds` later. Those extra checks are not probe results: their
//! failures neither count towards `failureThreshold` nor make `Unhealthy`
//! events, and once the probe has succeeded it runs only every period.
//!
//! # Deletion drains endpoints first
//! Kubernetes sends SIGTERM while Service proxies may still route new
//! requests to the pod (kubernetes/kubernetes#43576). slipway's router
//! drops a pod from its endpoints within milliseconds of its
//! `deletionTimestamp` appearing, so when a pod is deleted that was Ready
//! and has an address, the agent first marks it not ready and waits
//! [`Options::endpoint_drain`] (default 250 ms, 0 turns it off; never
//! longer than the grace period the deletion grants), then runs preStop
//! hooks and sends SIGTERM. The wait counts against the grace period, as
//! upstream counts preStop. Restarts, liveness kills and agent shutdown do
//! not wait.
//!
//! Not done yet: sidecar init containers (`restartPolicy: Always` on an
//! init container), `activeDeadlineSeconds`, readiness gates, and resource
//! limits (requests and limits are reported, not enforced).
//!
//! # Volumes
//! Before any container starts, every volume is set up under
//! `data_dir/pods/<uid>/volumes/` ([`volumes`]): emptyDir, hostPath (with
//! its `type` check), and configMap, secret, downwardAPI and projected
//! volumes written with the kubelet's atomic-writer layout (`items`,
//! `mode`, `defaultMode` 0644, `optional`) and re-synced when a ConfigMap or
//! Secret changes (a node-wide watch), when the pod's labels or annotations
//! change, and every minute. A missing source leaves the containers
//! `ContainerCreating` with `FailedMount` events, as upstream. Projected
//! `serviceAccountToken` files hold a stub ([`volumes::STUB_TOKEN`]): there
//! is no TokenRequest API.
//!
//! Where a container sees them depends on [`MountMode`] ([`mounts`]): as
//! root, each container gets its own mount namespace with every volume at
//! its `mountPath` (`subPath`, `subPathExpr`, `readOnly`), a private `/tmp`
//! and the host's filesystem elsewhere, without creating anything on the
//! host; this composes with network namespaces. Otherwise the program finds
//! them through `SLIPWAY_MOUNTS` and `SLIPWAY_VOLUME_<NAME>`.
//!
//! # Logs
//! Per container run, a CRI-format log under `data_dir/pods/<uid>/containers/<name>/`
//! (10 MiB, rotated once; the current and previous run kept). The log
//! server on 127.0.0.1 requires `Authorization: Bearer <token>` and serves
//! `GET /containerLogs/{namespace}/{pod}/{container}?follow=&tailLines=&sinceSeconds=&sinceTime=&timestamps=&previous=&limitBytes=`
//! with the kubelet's semantics and error texts (400 for a container
//! waiting to start, with the same message the apiserver passes on).

pub mod catalog;
pub mod env;
pub mod expand;
pub mod logs;
pub mod mounts;
pub mod net;
pub mod process;
pub mod volumes;

mod events;
mod logserver;
mod manager;
mod node;
mod pod;
mod probe;
mod scheduler;
mod services;
mod sources;
mod status;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;

pub use mounts::MountMode;
pub use net::{Loopback, Namespaces, NetworkMode, PodNetwork, Sandbox};

/// How pods are isolated (their network and their filesystem view) and
/// how they stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub network: NetworkMode,
    pub mounts: MountMode,
    /// How long a deleted pod that was Ready and has an address keeps
    /// running untouched before its preStop hooks and SIGTERM, so Service
    /// routers drop it first (see "Deletion drains endpoints first" above).
    /// Zero turns it off. Default [`DEFAULT_ENDPOINT_DRAIN`].
    pub endpoint_drain: Duration,
}

/// The default [`Options::endpoint_drain`]: slipway's router drops a
/// terminating pod within milliseconds; this leaves it ample time.
pub const DEFAULT_ENDPOINT_DRAIN: Duration = Duration::from_millis(250);

impl Default for Options {
    fn default() -> Options {
        Options {
            network: NetworkMode::default(),
            mounts: MountMode::default(),
            endpoint_drain: DEFAULT_ENDPOINT_DRAIN,
        }
    }
}

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The Node's name (also used as `spec.nodeName`).
    pub node_name: String,
    /// Logs, pod directories, process state.
    pub data_dir: PathBuf,
    /// The image catalog (`DIR/images.yaml`).
    pub images_file: PathBuf,
    /// How to start the built-in `slipway/demo` image.
    pub demo_command: Vec<String>,
    /// The bearer token the log server requires.
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("data dir {0}: {1}")]
    DataDir(PathBuf, #[source] std::io::Error),
    #[error("pod network: {0}")]
    Net(#[from] net::NetError),
    #[error("pod mounts: {0}")]
    Mounts(#[from] mounts::MountError),
    #[error("log server: {0}")]
    LogServer(#[source] std::io::Error),
    #[error("registering node {name}: {source}")]
    Register {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// The running agent.
pub struct NodeHandle {
    agent: Arc<Agent>,
    log_addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    manager: Arc<manager::Manager>,
    log_stop: tokio::sync::watch::Sender<bool>,
}

/// What every part of the agent shares.
pub(crate) struct Agent {
    pub client: Client,
    pub cfg: NodeConfig,
    pub net: Arc<dyn PodNetwork>,
    pub host_ip: Ipv4Addr,
    pub resources: env::NodeResources,
    pub kubelet_events: events::Recorder,
    pub pods_dir: PathBuf,
    pub registry: logserver::PodIndex,
    pub started_at: k8s_openapi::jiff::Timestamp,
    /// Set when containers get their own mount namespaces.
    pub mounts: Option<mounts::Tools>,
    /// ConfigMap and Secret changes, for re-syncing volumes.
    pub source_changes: tokio::sync::broadcast::Sender<sources::SourceChange>,
    /// [`Options::endpoint_drain`].
    pub endpoint_drain: Duration,
    /// Service lists for service environment variables.
    pub services: services::ServiceLists,
}

/// The longest a graceful agent stop waits for a pod's processes.
const SHUTDOWN_GRACE_CAP: Duration = Duration::from_secs(10);

/// Start the agent with per-pod loopback addresses: register the Node, then
/// bind and run pods until [`NodeHandle::shutdown`].
pub async fn start(client: Client, cfg: NodeConfig) -> Result<NodeHandle, NodeError> {
    start_with(client, cfg, NetworkMode::Loopback).await
}

/// [`start`] with a chosen pod network ([`NetworkMode::Auto`]: namespaces
/// on a bridge when root, loopback addresses otherwise) and
/// [`MountMode::Auto`] (mount namespaces when root).
pub async fn start_with(
    client: Client,
    cfg: NodeConfig,
    mode: NetworkMode,
) -> Result<NodeHandle, NodeError> {
    let opts = Options {
        network: mode,
        mounts: MountMode::Auto,
        ..Options::default()
    };
    start_with_options(client, cfg, opts).await
}

/// [`start`] with a chosen pod network and filesystem view (see [`mounts`]).
pub async fn start_with_options(
    client: Client,
    cfg: NodeConfig,
    opts: Options,
) -> Result<NodeHandle, NodeError> {
    let pods_dir = cfg.data_dir.join("pods");
    std::fs::create_dir_all(&pods_dir).map_err(|e| NodeError::DataDir(pods_dir.clone(), e))?;
    let data_dir = cfg.data_dir.clone();
    let (net, mount_tools) = tokio::task::spawn_blocking(move || {
        let net = net::open(opts.network, &data_dir)?;
        let tools = mounts::open(opts.mounts, &data_dir)?;
        Ok::<_, NodeError>((net, tools))
    })
    .await
    .map_err(|e| NodeError::DataDir(cfg.data_dir.clone(), std::io::Error::other(e)))??;
    tracing::info!(
        node = %cfg.node_name,
        network = %net.describe(),
        mount_namespaces = mount_tools.is_some(),
        "node agent starting"
    );
    let host_ip = net.host_ip();
    let resources = node::machine_resources();
    let agent = Arc::new(Agent {
        kubelet_events: events::Recorder::new(client.clone(), "kubelet", &cfg.node_name),
        client: client.clone(),
        net,
        host_ip,
        resources,
        pods_dir,
        registry: logserver::PodIndex::default(),
        started_at: k8s_openapi::jiff::Timestamp::now(),
        mounts: mount_tools,
        source_changes: tokio::sync::broadcast::channel(1024).0,
        endpoint_drain: opts.endpoint_drain,
        services: services::ServiceLists::new(client.clone()),
        cfg,
    });

    let (log_stop, log_stop_rx) = tokio::sync::watch::channel(false);
    let (log_addr, log_task) = logserver::serve(agent.clone(), log_stop_rx)
        .await
        .map_err(NodeError::LogServer)?;

    node::register(&agent, log_addr.port())
        .await
        .map_err(|source| NodeError::Register {
            name: agent.cfg.node_name.clone(),
            source,
        })?;

    let manager = Arc::new(manager::Manager::new(agent.clone()));
    let tasks = vec![
        log_task,
        tokio::spawn(node::heartbeat(agent.clone(), log_addr.port())),
        tokio::spawn(scheduler::run(client.clone(), agent.cfg.node_name.clone())),
        tokio::spawn(manager.clone().run()),
        tokio::spawn(sources::watch(client.clone(), agent.source_changes.clone())),
    ];
    Ok(NodeHandle {
        agent,
        log_addr,
        tasks,
        manager,
        log_stop,
    })
}

impl NodeHandle {
    /// The log server's address (`127.0.0.1:<port>`).
    pub fn log_addr(&self) -> SocketAddr {
        self.log_addr
    }

    /// The node's name.
    pub fn node_name(&self) -> &str {
        &self.agent.cfg.node_name
    }

    /// Stop every pod's processes (SIGTERM, the pod's grace period capped at
    /// 10 s, SIGKILL), record that in the pods' status, mark the Node not
    /// ready, and stop.
    pub async fn shutdown(self) {
        // Stop watching first so no new work starts while pods stop.
        for t in self.tasks.iter().skip(1) {
            t.abort();
        }
        self.manager.stop_all(SHUTDOWN_GRACE_CAP).await;
        let net = self.agent.net.clone();
        let _ = tokio::task::spawn_blocking(move || net.shutdown()).await;
        node::mark_not_ready(&self.agent).await;
        let _ = self.log_stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }

    /// Stop the agent without touching any pod process, as `kill -9` of
    /// slipway would. The next [`start`] on the same data dir adopts them.
    pub async fn abandon(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.manager.abandon_all().await;
        let _ = self.log_stop.send(true);
    }
}
