//! slipway's router data plane: serves every Service port (and Gateway
//! listener) of the cluster, routing each HTTP request — not each
//! connection — on an immutable [`router_core::Snapshot`] that is swapped
//! atomically whenever Services, EndpointSlices, Pods or route objects
//! change. The API is never called on the request path.
//!
//! # Public API
//!
//! ```ignore
//! let router = router::start(client, router::RouterConfig::default()).await?;
//! router.snapshot();                  // the live router_core::Snapshot
//! router.metrics_addr();              // bound Prometheus address, if any
//! router.applied_resource_version();  // highest resourceVersion in effect
//! router.wait_applied(rv, timeout).await;
//! router.shutdown().await;            // close listeners, drain briefly
//! ```
//!
//! * [`start`] watches (all namespaces, kube-rs `watcher`) core Services,
//!   `discovery.k8s.io/v1` EndpointSlices and Pods (labels only, for
//!   version-sticky sessions and the `pod_template_hash` metric label), and —
//!   once their CRDs are served, looked for every few seconds — Gateway API
//!   `Gateway`/`HTTPRoute`/`ReferenceGrant` and Istio
//!   `Gateway`/`VirtualService`/`DestinationRule` (whichever version the
//!   server prefers). It returns once the first snapshot is live (or after
//!   [`RouterConfig::initial_sync_timeout`]).
//! * Listeners are reconciled after every snapshot: each Service port binds
//!   on every ClusterIP, `externalIPs` and `status.loadBalancer.ingress[].ip`
//!   address, plus `node_port_address:nodePort`; Gateway listeners bind on
//!   [`RouterConfig::gateway_address`] when set. A bind failure is a warning
//!   and is retried every few seconds.
//! * Per connection: HTTP when the port declares it (`appProtocol`
//!   `http`/`h2c`/`kubernetes.io/h2c`, or port name `http`/`http-*`) or the
//!   first bytes are an HTTP/1 request line (or the HTTP/2 preface: h2c with
//!   prior knowledge); else plain TCP, one endpoint per connection.
//! * HTTP requests: `router_core::route` → redirect / direct response /
//!   forward with header edits and rewrites → `Forward::pick` over ready
//!   endpoints → a pooled HTTP/1 connection. 404 no route, 503 no endpoint,
//!   502 backend failure. One retry on another endpoint (or a fresh
//!   connection) when nothing was sent, or when an idempotent request with
//!   an empty body met a pooled connection the backend had closed.
//! * An endpoint leaving the ready set has its idle pooled connections
//!   closed at once; requests in flight on it finish.
//! * Metrics (`GET /metrics` on [`RouterConfig::metrics_addr`]):
//!   `slipway_router_requests_total{namespace,service,pod,pod_template_hash,code}`
//!   (code = `1xx`…`5xx`), `slipway_router_request_duration_seconds`
//!   (histogram, time to response headers), `slipway_router_in_flight`,
//!   `slipway_router_connection_errors_total`. A 503/502 without an endpoint
//!   is counted with `pod=""`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

mod body;
mod http;
mod listen;
mod metrics;
mod objects;
mod pool;
mod state;

use body::RespBody;
use pool::{Pool, PoolConfig};
use state::Shared;

pub use router_core::{BuildOptions, Snapshot};

/// Router settings; `Default` suits `slipway up`.
#[derive(Clone, Debug)]
pub struct RouterConfig {
    /// Where NodePorts bind (default `0.0.0.0`).
    pub node_port_address: IpAddr,
    /// Where `GET /metrics` is served (port 0 picks one); `None` serves none.
    pub metrics_addr: Option<SocketAddr>,
    /// Where Gateway listeners bind (their port on this address); `None`
    /// leaves Gateways unserved.
    pub gateway_address: Option<IpAddr>,
    /// Snapshot builder options (sticky cookie, gateway class, DNS domain).
    pub build: BuildOptions,
    /// Idle pooled connections kept per endpoint.
    pub max_idle_per_endpoint: usize,
    /// Idle pooled connections older than this are closed.
    pub idle_timeout: Duration,
    /// Timeout for connecting to an endpoint.
    pub connect_timeout: Duration,
    /// How long an undeclared port waits for a client's first bytes before
    /// treating the connection as plain TCP.
    pub sniff_timeout: Duration,
    /// How long [`start`] waits for the first snapshot.
    pub initial_sync_timeout: Duration,
    /// How long [`RouterHandle::shutdown`] waits for open connections.
    pub shutdown_grace: Duration,
}

/// A running router. Dropping it without [`RouterHandle::shutdown`] leaves
/// its tasks running until the runtime stops.
pub struct RouterHandle {
    shared: Arc<Shared>,
    applied: watch::Receiver<objects::Applied>,
    shutdown: watch::Sender<bool>,
    metrics_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("binding metrics address {0}: {1}")]
    Metrics(SocketAddr, #[source] std::io::Error),
}

// === impl RouterConfig ===

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            node_port_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            metrics_addr: None,
            gateway_address: None,
            build: BuildOptions {
                endpoints_from_pods: true,
                ..BuildOptions::default()
            },
            max_idle_per_endpoint: 64,
            idle_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(2),
            sniff_timeout: Duration::from_millis(200),
            initial_sync_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Starts watching and serving; returns once the first snapshot is live.
pub async fn start(client: kube::Client, cfg: RouterConfig) -> anyhow::Result<RouterHandle> {
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let pool = Pool::new(PoolConfig {
        max_idle: cfg.max_idle_per_endpoint,
        idle_timeout: cfg.idle_timeout,
        connect_timeout: cfg.connect_timeout,
    });
    let metrics_listener = match cfg.metrics_addr {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|e| StartError::Metrics(addr, e))?,
        ),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let build_opts = cfg.build.clone();
    let initial_sync_timeout = cfg.initial_sync_timeout;
    let idle_timeout = cfg.idle_timeout;
    let shared = Arc::new(Shared::new(cfg, pool, shutdown_rx));
    let store = Arc::new(objects::Store::default());
    let (applied_tx, applied_rx) = watch::channel(objects::Applied::default());
    let (built_tx, mut built_rx) = watch::channel(false);

    let mut tasks = objects::spawn_watchers(client, store.clone());
    tasks.push(tokio::spawn(objects::rebuild_loop(
        shared.clone(),
        store,
        build_opts,
        applied_tx,
        built_tx,
    )));
    if let Some(listener) = metrics_listener {
        tasks.push(tokio::spawn(serve_metrics(shared.clone(), listener)));
    }
    let sweeper = shared.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(idle_timeout.min(Duration::from_secs(5)));
        loop {
            tick.tick().await;
            sweeper.pool.sweep();
        }
    }));

    if tokio::time::timeout(initial_sync_timeout, built_rx.wait_for(|b| *b))
        .await
        .is_err()
    {
        tracing::warn!("router: no initial snapshot yet; serving as objects arrive");
    }
    Ok(RouterHandle {
        shared,
        applied: applied_rx,
        shutdown: shutdown_tx,
        metrics_addr,
        tasks,
    })
}

// === impl RouterHandle ===

impl RouterHandle {
    /// The live routing snapshot.
    pub fn snapshot(&self) -> router_core::Snapshot {
        self.shared.state().snapshot.clone()
    }

    /// The address `GET /metrics` is served on.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The highest resourceVersion (as u64) of any Service, EndpointSlice,
    /// Pod or route event whose effect is in the live snapshot (and whose
    /// listeners are reconciled). Kinds are watched on separate streams, so
    /// an older event of another kind may still be on its way.
    pub fn applied_resource_version(&self) -> u64 {
        self.applied.borrow().any
    }

    /// Waits until [`RouterHandle::applied_resource_version`] reaches `rv`;
    /// false on timeout.
    pub async fn wait_applied(&self, rv: u64, timeout: Duration) -> bool {
        let mut rx = self.applied.clone();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|v| v.any >= rv))
            .await
            .is_ok_and(|r| r.is_ok());
        reached
    }

    /// Waits until the Service write that produced resourceVersion `rv`
    /// (and every earlier one) is in the live snapshot, listeners included;
    /// false on timeout. Services arrive on one ordered stream, so unlike
    /// [`RouterHandle::wait_applied`] this cannot be satisfied early by
    /// events of other kinds. With endpoints taken from Pods, a selector
    /// change is fully in effect when this returns.
    pub async fn wait_service_applied(&self, rv: u64, timeout: Duration) -> bool {
        self.service_barrier().wait(rv, timeout).await
    }

    /// A handle that waits like [`RouterHandle::wait_service_applied`] and
    /// outlives nothing: clone it into whatever must wait for the router.
    pub fn service_barrier(&self) -> ServiceBarrier {
        ServiceBarrier {
            applied: self.applied.clone(),
        }
    }

    /// Idle pooled connections to `endpoint` (diagnostics and tests).
    pub fn idle_connections(&self, endpoint: SocketAddr) -> usize {
        self.shared.pool.idle_count(endpoint)
    }

    /// Closes every listener, asks open HTTP connections to finish their
    /// current request and close, waits up to the shutdown grace for them,
    /// then stops.
    pub async fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::Instant::now() + self.shared.cfg.shutdown_grace;
        while self.shared.connections.load(Ordering::Relaxed) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.shared.pool.clear();
    }
}

async fn serve_metrics(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(metrics_response(&shared, &req)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn metrics_response<B>(shared: &Shared, req: &Request<B>) -> Response<RespBody> {
    let mut resp = match req.uri().path() {
        "/metrics" => {
            let mut r = Response::new(RespBody::full(shared.metrics.render()));
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            r
        }
        "/healthz" | "/readyz" => Response::new(RespBody::full("ok\n")),
        _ => Response::new(RespBody::full("not found\n")),
    };
    if !matches!(req.uri().path(), "/metrics" | "/healthz" | "/readyz") {
        *resp.status_mut() = StatusCode::NOT_FOUND;
    }
    resp
}

/// See [`RouterHandle::service_barrier`].
#[derive(Clone)]
pub struct ServiceBarrier {
    applied: watch::Receiver<objects::Applied>,
}

impl ServiceBarrier {
    /// Waits until the Service write with resourceVersion `rv` is live;
    /// false on timeout or when the router stopped.
    pub async fn wait(&self, rv: u64, timeout: Duration) -> bool {
        let mut rx = self.applied.clone();
        tokio::time::timeout(timeout, rx.wait_for(|v| v.services >= rv))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}
