//! The immutable routing snapshot: listeners → route tables → backends.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::filters::Filter;
use crate::matching::{HostPattern, RequestMatch};
use crate::model::{Backend, ListenerId, ObjectRef, RouteId, ServiceInfo};

/// Everything routing needs, built once per change of the watched objects
/// and then only read. Cloning is one `Arc` increment, so the router can
/// swap it atomically and hand it to every request.
#[derive(Clone)]
pub struct Snapshot {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub services: BTreeMap<ObjectRef, ServiceInfo>,
    pub listeners: BTreeMap<ListenerId, Listener>,
    pub backends: HashMap<BackendKey, Arc<Backend>>,
    pub sticky_cookie: String,
    pub warnings: Vec<String>,
}

/// A backend is shared by every route that names the same Service port,
/// subset and stickiness.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct BackendKey {
    pub service: ObjectRef,
    pub port: u16,
    pub subset: Option<String>,
    /// The route-level sticky label, when a route (not the Service) asked.
    pub route_sticky: Option<String>,
}

/// One listener's route table. Gateway API routes take precedence over
/// VirtualServices; with neither, a Service listener forwards to its Service.
#[derive(Default)]
pub(crate) struct Listener {
    pub default: Option<Arc<Backend>>,
    /// Sorted by the static part of Gateway API precedence.
    pub http_routes: Vec<HttpEntry>,
    /// In VirtualService order (oldest first), rules in list order.
    pub virtual_services: Vec<VsEntry>,
}

/// One (route, rule, match) of an HTTPRoute attached to a listener.
pub(crate) struct HttpEntry {
    /// The route's hostnames (empty: any host; always empty for Service parents).
    pub hostnames: Arc<Vec<HostPattern>>,
    /// The Gateway listener's own hostname, if it has one.
    pub listener_host: Option<HostPattern>,
    /// Tie-break: creation timestamp, then namespace/name.
    pub order: (String, ObjectRef),
    pub rule_index: usize,
    pub match_index: usize,
    pub matcher: RequestMatch,
    pub rule: Arc<Rule>,
}

/// One `http[]` rule of a VirtualService attached to a listener.
pub(crate) struct VsEntry {
    /// The VirtualService hosts (empty on Service listeners, where the
    /// destination Service already chose the VirtualService).
    pub hosts: Arc<Vec<HostPattern>>,
    /// Any of these must match; empty matches everything.
    pub matches: Vec<RequestMatch>,
    pub rule: Arc<Rule>,
}

/// What a matched rule does.
pub(crate) struct Rule {
    pub id: RouteId,
    pub filters: Vec<Filter>,
    pub backends: Vec<WeightedTarget>,
    /// Istio `directResponse`.
    pub direct_response: Option<(u16, String)>,
    /// GAMMA: an HTTPRoute rule without backendRefs on a Service parent sends
    /// traffic to that Service.
    pub empty_means_parent: bool,
}

pub(crate) struct WeightedTarget {
    pub weight: u32,
    pub target: Target,
    /// Backend-level filters (header edits), applied after the rule's.
    pub filters: Vec<Filter>,
}

pub(crate) enum Target {
    Backend(Arc<Backend>),
    /// An Istio destination without a port on a multi-port Service: the
    /// Service port with the listener's port number.
    ListenerPort(BackendKey),
    /// Unresolvable (missing Service, port or subset, or a reference not
    /// permitted): requests drawn to it get a 500, as the Gateway API requires.
    Invalid(String),
}

// === impl Snapshot ===

impl Snapshot {
    /// A snapshot with nothing in it: every request gets [`crate::NoRoute`].
    pub fn empty() -> Snapshot {
        Snapshot {
            inner: Arc::new(Inner {
                services: BTreeMap::new(),
                listeners: BTreeMap::new(),
                backends: HashMap::new(),
                sticky_cookie: crate::build::DEFAULT_STICKY_COOKIE.to_string(),
                warnings: Vec::new(),
            }),
        }
    }

    /// Every listener the router should serve, in a stable order.
    pub fn listeners(&self) -> impl Iterator<Item = &ListenerId> {
        self.inner.listeners.keys()
    }

    pub fn services(&self) -> impl Iterator<Item = &ServiceInfo> {
        self.inner.services.values()
    }

    pub fn service(&self, service: &ObjectRef) -> Option<&ServiceInfo> {
        self.inner.services.get(service)
    }

    /// The plain backend of a Service port (no subset), e.g. for TCP traffic.
    pub fn backend(&self, service: &ObjectRef, port: u16) -> Option<Arc<Backend>> {
        let key = BackendKey {
            service: service.clone(),
            port,
            subset: None,
            route_sticky: None,
        };
        self.inner.backends.get(&key).cloned()
    }

    /// The backend a Service listener forwards to when no route applies
    /// (what a TCP connection to it should use).
    pub fn listener_backend(&self, listener: &ListenerId) -> Option<Arc<Backend>> {
        self.inner.listeners.get(listener)?.default.clone()
    }

    /// Every backend any route can reach, for metrics and connection pools.
    pub fn backends(&self) -> impl Iterator<Item = &Arc<Backend>> {
        self.inner.backends.values()
    }

    /// The cookie that carries the sticky version.
    pub fn sticky_cookie_name(&self) -> &str {
        &self.inner.sticky_cookie
    }

    /// Objects or references that could not be used, one line each
    /// (unresolved backendRefs, rejected parentRefs, invalid regexes, …).
    pub fn warnings(&self) -> &[String] {
        &self.inner.warnings
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("services", &self.inner.services.len())
            .field("listeners", &self.inner.listeners.len())
            .field("backends", &self.inner.backends.len())
            .finish()
    }
}
