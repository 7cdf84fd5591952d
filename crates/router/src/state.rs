//! The live routing state: the snapshot plus the per-snapshot indexes the
//! request path needs (round-robin cursors, endpoint load, metric series),
//! swapped as one `Arc`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use router_core::{Backend, LoadCounters, ObjectRef, Snapshot};
use tokio::sync::watch;

use crate::metrics::{Labels, Metrics, Stats};
use crate::pool::{EndpointState, Pool};
use crate::RouterConfig;

/// Round-robin cursors survive snapshot swaps under this key.
type RrKey = (ObjectRef, u16, Option<String>);

pub(crate) struct State {
    pub snapshot: Snapshot,
    /// Whether any HTTPRoute or VirtualService exists; without one, routing
    /// reads no request header except the sticky cookie.
    pub has_routes: bool,
    /// By `Arc<Backend>` address: stable while this state holds the snapshot.
    rr: HashMap<usize, Arc<AtomicU64>>,
    rr_by_key: HashMap<RrKey, Arc<AtomicU64>>,
    fallback_rr: AtomicU64,
    endpoints: HashMap<SocketAddr, Arc<EndpointState>>,
    /// Series by endpoint address, then by Service (two Services may select
    /// the same Pod).
    stats: HashMap<SocketAddr, Vec<(ObjectRef, Arc<Stats>)>>,
    /// The pod-less series of each Service, for 503s without an endpoint.
    service_stats: HashMap<ObjectRef, Arc<Stats>>,
}

/// Everything the tasks of one router share.
pub(crate) struct Shared {
    state: RwLock<Arc<State>>,
    pub pool: Pool,
    pub metrics: Metrics,
    pub cfg: RouterConfig,
    pub shutdown: watch::Receiver<bool>,
    /// Open client connections, to wait for at shutdown.
    pub connections: AtomicUsize,
}

// === impl State ===

impl State {
    pub fn empty() -> State {
        State {
            snapshot: Snapshot::empty(),
            has_routes: false,
            rr: HashMap::new(),
            rr_by_key: HashMap::new(),
            fallback_rr: AtomicU64::new(0),
            endpoints: HashMap::new(),
            stats: HashMap::new(),
            service_stats: HashMap::new(),
        }
    }

    fn build(
        snapshot: Snapshot,
        has_routes: bool,
        prev: &State,
        pool: &Pool,
        metrics: &Metrics,
    ) -> State {
        let mut state = State {
            snapshot: snapshot.clone(),
            has_routes,
            ..State::empty()
        };
        for backend in snapshot.backends() {
            let key = (
                backend.service.clone(),
                backend.port,
                backend.subset.clone(),
            );
            let cursor = prev
                .rr_by_key
                .get(&key)
                .or_else(|| state.rr_by_key.get(&key))
                .cloned()
                .unwrap_or_default();
            state.rr.insert(backend_id(backend), cursor.clone());
            state.rr_by_key.insert(key, cursor);
            for ep in &backend.endpoints {
                let addr = ep.socket_addr();
                state
                    .endpoints
                    .entry(addr)
                    .or_insert_with(|| pool.endpoint(addr));
                let per_addr = state.stats.entry(addr).or_default();
                if per_addr.iter().any(|(s, _)| s == &backend.service) {
                    continue;
                }
                let labels = Labels {
                    namespace: backend.service.namespace.clone(),
                    service: backend.service.name.clone(),
                    pod: ep.pod.clone().unwrap_or_default(),
                    pod_template_hash: ep
                        .labels
                        .get("pod-template-hash")
                        .cloned()
                        .unwrap_or_default(),
                };
                per_addr.push((backend.service.clone(), metrics.series(labels)));
            }
        }
        for svc in snapshot.services() {
            let labels = Labels {
                namespace: svc.service.namespace.clone(),
                service: svc.service.name.clone(),
                pod: String::new(),
                pod_template_hash: String::new(),
            };
            state
                .service_stats
                .insert(svc.service.clone(), metrics.series(labels));
        }
        state
    }

    /// The load state of endpoint `addr`.
    pub fn endpoint(&self, addr: SocketAddr, pool: &Pool) -> Arc<EndpointState> {
        match self.endpoints.get(&addr) {
            Some(ep) => ep.clone(),
            None => pool.endpoint(addr),
        }
    }

    /// The metric series of `addr` as an endpoint of `service`.
    pub fn stats(&self, service: &ObjectRef, addr: SocketAddr) -> Option<Arc<Stats>> {
        self.stats
            .get(&addr)?
            .iter()
            .find(|(s, _)| s == service)
            .map(|(_, st)| st.clone())
    }

    /// The pod-less series of `service`.
    pub fn service_stats(&self, service: &ObjectRef) -> Option<&Stats> {
        self.service_stats.get(service).map(|s| &**s)
    }
}

fn backend_id(backend: &Backend) -> usize {
    backend as *const Backend as usize
}

impl LoadCounters for State {
    fn round_robin(&self, backend: &Backend) -> u64 {
        match self.rr.get(&backend_id(backend)) {
            Some(c) => c.fetch_add(1, Ordering::Relaxed),
            None => self.fallback_rr.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn in_flight(&self, endpoint: SocketAddr) -> u64 {
        self.endpoints
            .get(&endpoint)
            .map_or(0, |ep| ep.in_flight.load(Ordering::Relaxed))
    }
}

// === impl Shared ===

impl Shared {
    pub fn new(cfg: RouterConfig, pool: Pool, shutdown: watch::Receiver<bool>) -> Self {
        Shared {
            state: RwLock::new(Arc::new(State::empty())),
            pool,
            metrics: Metrics::default(),
            cfg,
            shutdown,
            connections: AtomicUsize::new(0),
        }
    }

    /// The live state; the lock is held only for the `Arc` clone.
    pub fn state(&self) -> Arc<State> {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Swaps in a new snapshot, then drains endpoints that left the ready set.
    pub fn install(&self, snapshot: Snapshot, has_routes: bool) {
        let prev = self.state();
        let next = State::build(snapshot, has_routes, &prev, &self.pool, &self.metrics);
        let mut ready = HashSet::new();
        let mut known = HashSet::new();
        for backend in next.snapshot.backends() {
            for ep in &backend.endpoints {
                known.insert(ep.socket_addr());
                if ep.is_ready() {
                    ready.insert(ep.socket_addr());
                }
            }
        }
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        self.pool.sync(&ready, &known);
    }
}
