//! Pure routing for slipway's router: which backend group a request goes
//! to, which filters apply, and which endpoint serves it. No IO, no async,
//! no Kubernetes client: plain values in, plain values out.
//!
//! # Public API
//!
//! * Building — [`SnapshotBuilder::add`] takes Kubernetes objects as JSON
//!   (`Service`, `EndpointSlice`, `Pod`, Gateway API `Gateway` / `HTTPRoute` /
//!   `ReferenceGrant`, Istio `Gateway` / `VirtualService` / `DestinationRule`,
//!   and `List`s of them); [`SnapshotBuilder::build`] returns an immutable
//!   [`Snapshot`] (an `Arc`; clone it freely). [`Snapshot::from_objects`] does
//!   both. Unresolvable references never fail the build: they become 500s
//!   for the requests that reach them and lines in [`Snapshot::warnings`].
//! * Listeners — [`Snapshot::listeners`] lists every [`ListenerId`] the router
//!   should serve: one per TCP Service port (not headless) and one per
//!   Gateway port. [`Snapshot::services`] gives ClusterIPs, NodePorts and
//!   load-balancer IPs to bind; [`Snapshot::listener_backend`] is the backend
//!   for plain TCP traffic.
//! * Routing — [`route`]`(&Snapshot, &RequestInfo) -> Result<Decision, NoRoute>`.
//!   The listener's table is, in order of precedence: HTTPRoutes attached to
//!   it (Gateway parents, or GAMMA Service parents) with the Gateway API
//!   precedence (most specific hostname; then exact path > longest prefix >
//!   method > most headers > most query params; then oldest route, name,
//!   rule order); else Istio VirtualServices (most specific host, first
//!   matching `http[]` rule wins); else the Service itself. [`Decision`]
//!   names the rule ([`RouteId`]), the [`Action`] (forward / redirect /
//!   respond), header edits and URL rewrite. [`NoRoute`] means 404.
//! * Backend choice — inside `route`: a weighted draw over the rule's
//!   backendRefs / destinations from [`RequestInfo::random`] (deterministic),
//!   unless the sticky cookie pins the client to a version one of them still
//!   has ready endpoints for. [`Forward`] carries the chosen [`Backend`], the
//!   pinned `version` and the [`SetCookie`] to send when the client is new or
//!   was moved off a version that has no ready endpoint left.
//! * Endpoint choice — [`Forward::pick`]`(&dyn LoadCounters, exclude)`: ready
//!   endpoints only (of the pinned version), falling back to
//!   serving-but-terminating ones only when none is ready (kube-proxy's
//!   rule); ClientIP affinity by rendezvous hash of the client IP; otherwise
//!   round robin ([`LoadCounters::round_robin`]), least request
//!   ([`LoadCounters::in_flight`]) or random. [`NoEndpoint`] means 503.
//!
//! # Configuration on objects
//!
//! * [`STICKY_ANNOTATION`] (`slipway.dev/sticky-version`) on a Service,
//!   HTTPRoute or VirtualService turns on version-sticky sessions: versions
//!   are the values of the Pod label `pod-template-hash` (or the label the
//!   annotation names), carried in the cookie [`BuildOptions::sticky_cookie`]
//!   (default `slipway-version`). Pod labels come from `Pod` objects given
//!   to the builder (EndpointSlices carry only `targetRef`).
//! * [`LOAD_BALANCER_ANNOTATION`] (`slipway.dev/load-balancer`) on a Service:
//!   `round-robin` (default), `least-request`, `random`. An Istio
//!   DestinationRule's `trafficPolicy.loadBalancer` overrides it for its host.
//! * `spec.sessionAffinity: ClientIP` (or a DestinationRule
//!   `consistentHash.useSourceIp`) turns on ClientIP affinity.

mod balance;
mod build;
mod filters;
mod k8s;
mod matching;
mod model;
mod regex;
mod request;
mod route;
mod snapshot;

pub use balance::{LoadCounters, NoLoad};
pub use build::{
    BuildError, BuildOptions, SnapshotBuilder, DEFAULT_STICKY_COOKIE, DEFAULT_VERSION_LABEL,
    LOAD_BALANCER_ANNOTATION, STICKY_ANNOTATION,
};
pub use filters::{HeaderEdits, HeaderOp, Rewrite};
pub use model::{
    Affinity, Backend, Endpoint, GatewayKind, ListenerId, LoadBalancer, ObjectRef, RouteId,
    RouteKind, ServiceInfo, ServicePortInfo, Sticky,
};
pub use regex::{Regex, RegexError};
pub use request::{cookie_value, RequestInfo};
pub use route::{route, Action, Decision, Forward, NoEndpoint, NoRoute, SetCookie};
pub use snapshot::Snapshot;

#[cfg(test)]
mod tests;
