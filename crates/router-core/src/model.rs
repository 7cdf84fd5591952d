//! The routing model: where traffic arrives (listeners), what it can reach
//! (backends made of endpoints) and which object decided (route ids).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// A namespaced object name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub namespace: String,
    pub name: String,
}

/// Which kind of gateway object a [`ListenerId::Gateway`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GatewayKind {
    /// `gateway.networking.k8s.io` `Gateway`.
    GatewayApi,
    /// `networking.istio.io` `Gateway`.
    Istio,
}

/// Where a request arrived: the key of a route table in a [`crate::Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListenerId {
    /// Traffic addressed to a Service port, whichever address carried it
    /// (ClusterIP, NodePort, load-balancer ingress IP, external IP).
    /// `port` is the Service port number (`spec.ports[].port`).
    Service { service: ObjectRef, port: u16 },
    /// Traffic arriving at a gateway on `port`.
    Gateway {
        kind: GatewayKind,
        gateway: ObjectRef,
        port: u16,
    },
}

/// One endpoint of a backend, from an EndpointSlice entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The first address of the EndpointSlice endpoint (kube-proxy uses only it).
    pub address: IpAddr,
    /// The EndpointSlice port matching the Service port's name.
    pub port: u16,
    /// `conditions.ready` (nil means true).
    pub ready: bool,
    /// `conditions.serving` (nil defers to `ready`).
    pub serving: bool,
    /// `conditions.terminating` (nil means false).
    pub terminating: bool,
    /// `targetRef.name` when the target is a Pod.
    pub pod: Option<String>,
    pub node_name: Option<String>,
    /// The target Pod's labels (e.g. `pod-template-hash`, `version`), when the
    /// Pod was given to the builder.
    pub labels: BTreeMap<String, String>,
}

/// How a backend spreads requests over its endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LoadBalancer {
    /// Next endpoint per the caller's counter ([`crate::LoadCounters::round_robin`]).
    #[default]
    RoundRobin,
    /// Fewest requests in flight ([`crate::LoadCounters::in_flight`]); ties by random.
    LeastRequest,
    /// Uniform choice with the request's random value.
    Random,
}

/// Service session affinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Affinity {
    #[default]
    None,
    /// `sessionAffinity: ClientIP`: the same client IP reaches the same endpoint
    /// while it stays ready (rendezvous hashing, so endpoints joining or leaving
    /// move only the clients they must). The timeout is kept for the router;
    /// the choice itself is stateless.
    ClientIp { timeout_seconds: u32 },
}

/// Version-sticky sessions for a backend: a cookie names the version
/// (the value of `label` on the endpoint's Pod) a client was first sent to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sticky {
    pub cookie: String,
    pub label: String,
}

/// A backend group: the endpoints of one Service port, optionally narrowed to
/// a DestinationRule subset, with the policy used to choose among them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    pub service: ObjectRef,
    /// The Service port number.
    pub port: u16,
    /// The Service port name (`""` when unnamed).
    pub port_name: String,
    /// The Istio DestinationRule subset, if any.
    pub subset: Option<String>,
    /// Every known endpoint, in a stable order (by address, then port);
    /// choice filters out the unready and terminating ones.
    pub endpoints: Vec<Endpoint>,
    pub load_balancer: LoadBalancer,
    pub affinity: Affinity,
    pub sticky: Option<Sticky>,
}

/// A Service port as the router needs it to open listeners.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePortInfo {
    pub name: String,
    pub port: u16,
    /// `TCP` (default), `UDP` or `SCTP`.
    pub protocol: String,
    pub app_protocol: Option<String>,
    pub node_port: Option<u16>,
}

/// What the router needs about a Service besides its endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceInfo {
    pub service: ObjectRef,
    /// `ClusterIP` (default), `NodePort`, `LoadBalancer` or `ExternalName`.
    pub service_type: String,
    /// `spec.clusterIPs` (or `spec.clusterIP`); empty when headless.
    pub cluster_ips: Vec<IpAddr>,
    pub headless: bool,
    pub external_ips: Vec<IpAddr>,
    /// `status.loadBalancer.ingress[].ip`.
    pub load_balancer_ips: Vec<IpAddr>,
    pub ports: Vec<ServicePortInfo>,
    pub affinity: Affinity,
}

/// Which kind of route object decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteKind {
    HttpRoute,
    VirtualService,
}

/// One rule of one route object: `HTTPRoute ns/name` `rules[rule]` or
/// `VirtualService ns/name` `http[rule]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId {
    pub kind: RouteKind,
    pub route: ObjectRef,
    pub rule: usize,
}

// === impl ObjectRef ===

impl ObjectRef {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectRef {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

// === impl ListenerId ===

impl ListenerId {
    /// The listener of Service `namespace/name` port `port`.
    pub fn service(namespace: &str, name: &str, port: u16) -> Self {
        ListenerId::Service {
            service: ObjectRef::new(namespace, name),
            port,
        }
    }

    /// The listener of Gateway API Gateway `namespace/name` on `port`.
    pub fn gateway(namespace: &str, name: &str, port: u16) -> Self {
        ListenerId::Gateway {
            kind: GatewayKind::GatewayApi,
            gateway: ObjectRef::new(namespace, name),
            port,
        }
    }

    /// The listener of Istio Gateway `namespace/name` on `port`.
    pub fn istio_gateway(namespace: &str, name: &str, port: u16) -> Self {
        ListenerId::Gateway {
            kind: GatewayKind::Istio,
            gateway: ObjectRef::new(namespace, name),
            port,
        }
    }

    pub fn port(&self) -> u16 {
        match self {
            ListenerId::Service { port, .. } | ListenerId::Gateway { port, .. } => *port,
        }
    }
}

impl fmt::Display for ListenerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenerId::Service { service, port } => write!(f, "service {service}:{port}"),
            ListenerId::Gateway {
                kind: GatewayKind::GatewayApi,
                gateway,
                port,
            } => write!(f, "gateway {gateway}:{port}"),
            ListenerId::Gateway {
                kind: GatewayKind::Istio,
                gateway,
                port,
            } => write!(f, "istio-gateway {gateway}:{port}"),
        }
    }
}

// === impl Endpoint ===

impl Endpoint {
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }

    /// Ready and not terminating: eligible for new requests.
    pub fn is_ready(&self) -> bool {
        self.ready && !self.terminating
    }

    /// Terminating but still serving: used only when nothing is ready
    /// (kube-proxy's fallback for terminating endpoints, KEP-1669).
    pub fn is_serving_terminating(&self) -> bool {
        self.serving && self.terminating
    }
}

// === impl Backend ===

impl Backend {
    /// The version of `endpoint` for sticky sessions, if stickiness is on and
    /// the endpoint's Pod carries the label.
    pub fn version_of<'a>(&self, endpoint: &'a Endpoint) -> Option<&'a str> {
        let sticky = self.sticky.as_ref()?;
        endpoint.labels.get(&sticky.label).map(String::as_str)
    }

    /// Whether `version` still has a ready endpoint here.
    pub fn has_ready_version(&self, version: &str) -> bool {
        self.endpoints
            .iter()
            .any(|e| e.is_ready() && self.version_of(e) == Some(version))
    }

    pub fn ready_count(&self) -> usize {
        self.endpoints.iter().filter(|e| e.is_ready()).count()
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.service, self.port)?;
        if let Some(subset) = &self.subset {
            write!(f, "/{subset}")?;
        }
        Ok(())
    }
}

// === impl RouteId ===

impl fmt::Display for RouteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            RouteKind::HttpRoute => "HTTPRoute",
            RouteKind::VirtualService => "VirtualService",
        };
        write!(f, "{kind} {}#{}", self.route, self.rule)
    }
}
