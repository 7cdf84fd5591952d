//! The subset of the Kubernetes, Gateway API and Istio wire formats routing
//! reads. Field names and defaults are upstream's; unknown fields are ignored
//! so newer objects still load.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Meta {
    pub name: String,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub creation_timestamp: Option<String>,
}

/// An object with a `spec` (and optionally a `status`).
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Object<S: Default, T: Default = Value> {
    pub metadata: Meta,
    pub spec: S,
    pub status: T,
}

// === core/v1 Service ===

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ServiceSpec {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    #[serde(rename = "clusterIP")]
    pub cluster_ip: Option<String>,
    #[serde(rename = "clusterIPs")]
    pub cluster_ips: Vec<String>,
    #[serde(rename = "externalIPs")]
    pub external_ips: Vec<String>,
    pub ports: Vec<ServicePort>,
    pub session_affinity: Option<String>,
    pub session_affinity_config: Option<SessionAffinityConfig>,
    /// `None` (absent) means the Service's endpoints are managed by hand.
    pub selector: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ServicePort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Option<String>,
    pub app_protocol: Option<String>,
    pub node_port: Option<u16>,
    /// A number or a container port name; absent means `port`.
    pub target_port: Option<Value>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct SessionAffinityConfig {
    #[serde(rename = "clientIP")]
    pub client_ip: Option<ClientIpConfig>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ClientIpConfig {
    pub timeout_seconds: Option<u32>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ServiceStatus {
    pub load_balancer: LoadBalancerStatus,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct LoadBalancerStatus {
    pub ingress: Vec<LoadBalancerIngress>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct LoadBalancerIngress {
    pub ip: Option<String>,
}

// === discovery.k8s.io/v1 EndpointSlice ===

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct EndpointSlice {
    pub metadata: Meta,
    pub address_type: String,
    pub endpoints: Vec<SliceEndpoint>,
    pub ports: Vec<SlicePort>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SliceEndpoint {
    pub addresses: Vec<String>,
    pub conditions: Conditions,
    pub target_ref: Option<TargetRef>,
    pub node_name: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct Conditions {
    pub ready: Option<bool>,
    pub serving: Option<bool>,
    pub terminating: Option<bool>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct TargetRef {
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct SlicePort {
    pub name: Option<String>,
    pub port: Option<u16>,
}

// === core/v1 Pod ===

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct Pod {
    pub metadata: PodMeta,
    pub spec: PodSpec,
    pub status: PodStatus,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PodMeta {
    pub name: String,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub deletion_timestamp: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PodSpec {
    pub node_name: Option<String>,
    pub containers: Vec<Container>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Container {
    pub ports: Vec<ContainerPort>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ContainerPort {
    pub name: Option<String>,
    pub container_port: u16,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PodStatus {
    pub phase: Option<String>,
    #[serde(rename = "podIP")]
    pub pod_ip: Option<String>,
    pub conditions: Vec<PodCondition>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct PodCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
}

// === gateway.networking.k8s.io ===

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GatewaySpec {
    pub gateway_class_name: String,
    pub listeners: Vec<GatewayListener>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GatewayListener {
    pub name: String,
    pub hostname: Option<String>,
    pub port: u16,
    pub protocol: String,
    pub allowed_routes: Option<AllowedRoutes>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct AllowedRoutes {
    pub namespaces: Option<RouteNamespaces>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct RouteNamespaces {
    pub from: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct HttpRouteSpec {
    pub parent_refs: Vec<ParentRef>,
    pub hostnames: Vec<String>,
    pub rules: Vec<HttpRouteRule>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ParentRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: String,
    pub section_name: Option<String>,
    pub port: Option<u16>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct HttpRouteRule {
    pub matches: Vec<HttpRouteMatch>,
    pub filters: Vec<HttpRouteFilter>,
    pub backend_refs: Vec<HttpBackendRef>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct HttpRouteMatch {
    pub path: Option<TypedValue>,
    pub headers: Vec<NamedMatch>,
    pub query_params: Vec<NamedMatch>,
    pub method: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct TypedValue {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub value: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct NamedMatch {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub name: String,
    pub value: String,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct HttpRouteFilter {
    #[serde(rename = "type")]
    pub type_: String,
    pub request_header_modifier: Option<HeaderModifier>,
    pub response_header_modifier: Option<HeaderModifier>,
    pub request_redirect: Option<RequestRedirect>,
    #[serde(rename = "urlRewrite")]
    pub url_rewrite: Option<UrlRewrite>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct HeaderModifier {
    pub set: Vec<NameValue>,
    pub add: Vec<NameValue>,
    pub remove: Vec<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RequestRedirect {
    pub scheme: Option<String>,
    pub hostname: Option<String>,
    pub path: Option<PathModifier>,
    pub port: Option<u16>,
    pub status_code: Option<u16>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct UrlRewrite {
    pub hostname: Option<String>,
    pub path: Option<PathModifier>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PathModifier {
    #[serde(rename = "type")]
    pub type_: String,
    pub replace_full_path: Option<String>,
    pub replace_prefix_match: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct HttpBackendRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: String,
    pub port: Option<u16>,
    pub weight: Option<u32>,
    pub filters: Vec<HttpRouteFilter>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct ReferenceGrantSpec {
    pub from: Vec<GrantFrom>,
    pub to: Vec<GrantTo>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct GrantFrom {
    pub group: String,
    pub kind: String,
    pub namespace: String,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct GrantTo {
    pub group: String,
    pub kind: String,
    pub name: Option<String>,
}

// === networking.istio.io ===

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioGatewaySpec {
    pub servers: Vec<IstioServer>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioServer {
    pub port: IstioPort,
    pub hosts: Vec<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioPort {
    pub number: u16,
    pub name: Option<String>,
    pub protocol: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct VirtualServiceSpec {
    pub hosts: Vec<String>,
    pub gateways: Vec<String>,
    pub http: Vec<IstioHttpRoute>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct IstioHttpRoute {
    pub name: Option<String>,
    #[serde(rename = "match")]
    pub match_: Vec<IstioMatch>,
    pub route: Vec<IstioRouteDestination>,
    pub redirect: Option<IstioRedirect>,
    pub direct_response: Option<IstioDirectResponse>,
    pub rewrite: Option<IstioRewrite>,
    pub headers: Option<IstioHeaders>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct IstioMatch {
    pub uri: Option<IstioStringMatch>,
    pub scheme: Option<IstioStringMatch>,
    pub method: Option<IstioStringMatch>,
    pub authority: Option<IstioStringMatch>,
    pub headers: BTreeMap<String, IstioStringMatch>,
    pub without_headers: BTreeMap<String, IstioStringMatch>,
    pub query_params: BTreeMap<String, IstioStringMatch>,
    pub ignore_uri_case: bool,
    pub port: Option<u16>,
    pub gateways: Vec<String>,
}

/// Istio's `StringMatch` oneof; all `None` means "present".
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioStringMatch {
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub regex: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioRouteDestination {
    pub destination: IstioDestination,
    pub weight: Option<u32>,
    pub headers: Option<IstioHeaders>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioDestination {
    pub host: String,
    pub subset: Option<String>,
    pub port: Option<IstioPortSelector>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioPortSelector {
    pub number: Option<u16>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct IstioRedirect {
    pub uri: Option<String>,
    pub authority: Option<String>,
    pub port: Option<u16>,
    pub scheme: Option<String>,
    pub redirect_code: Option<u16>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioDirectResponse {
    pub status: u16,
    pub body: Option<IstioBody>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioBody {
    pub string: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioRewrite {
    pub uri: Option<String>,
    pub authority: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioHeaders {
    pub request: Option<IstioHeaderOps>,
    pub response: Option<IstioHeaderOps>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct IstioHeaderOps {
    pub set: BTreeMap<String, String>,
    pub add: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DestinationRuleSpec {
    pub host: String,
    pub traffic_policy: Option<TrafficPolicy>,
    pub subsets: Vec<Subset>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Subset {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub traffic_policy: Option<TrafficPolicy>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct TrafficPolicy {
    pub load_balancer: Option<LoadBalancerSettings>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct LoadBalancerSettings {
    pub simple: Option<String>,
    pub consistent_hash: Option<ConsistentHash>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ConsistentHash {
    pub use_source_ip: Option<bool>,
}
