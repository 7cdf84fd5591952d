//! Building a [`Snapshot`] from Kubernetes objects as JSON.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::filters::{Filter, HeaderEdits, HeaderOp, PathRewrite, RedirectSpec};
use crate::k8s;
use crate::matching::{HostPattern, PathMatch, RequestMatch, StringMatch};
use crate::model::{
    Affinity, Backend, Endpoint, GatewayKind, ListenerId, LoadBalancer, ObjectRef, RouteId,
    RouteKind, ServiceInfo, ServicePortInfo, Sticky,
};
use crate::regex::Regex;
use crate::snapshot::{
    BackendKey, HttpEntry, Inner, Listener, Rule, Snapshot, Target, VsEntry, WeightedTarget,
};

/// The default sticky-version cookie name.
pub const DEFAULT_STICKY_COOKIE: &str = "slipway-version";
/// The Pod label that names a version by default (set by the Deployment controller).
pub const DEFAULT_VERSION_LABEL: &str = "pod-template-hash";
/// Annotation on a Service, HTTPRoute or VirtualService that turns on
/// version-sticky sessions: `"true"` versions by [`DEFAULT_VERSION_LABEL`],
/// any other value is the label key to version by, `"false"` is off.
pub const STICKY_ANNOTATION: &str = "slipway.dev/sticky-version";
/// Annotation on a Service choosing its balancer: `round-robin` (default),
/// `least-request` or `random`.
pub const LOAD_BALANCER_ANNOTATION: &str = "slipway.dev/load-balancer";

const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// kube-proxy's default `sessionAffinityConfig.clientIP.timeoutSeconds`.
const DEFAULT_AFFINITY_TIMEOUT: u32 = 10_800;

/// Builder settings.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The sticky-version cookie name.
    pub sticky_cookie: String,
    /// Serve only Gateways of this `gatewayClassName`; `None` serves all.
    pub gateway_class: Option<String>,
    /// The cluster DNS domain, stripped from Istio host names.
    pub cluster_domain: String,
    /// Take the endpoints of Services with a selector straight from the
    /// Pods given to the builder (with the EndpointSlice controller's rules:
    /// ready = Ready and not terminating, serving = Ready) instead of from
    /// EndpointSlices. A selector change or a pod's readiness then takes
    /// effect with that one object's event, without waiting for the slices
    /// to be rewritten. Selector-less Services still use their slices.
    pub endpoints_from_pods: bool,
}

/// An object the builder could not take.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{kind} {name}: {source}")]
    Decode {
        kind: String,
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("unsupported object {api_version} {kind}")]
    Unsupported { api_version: String, kind: String },
}

/// Collects objects, then [`SnapshotBuilder::build`]s a [`Snapshot`].
///
/// Takes core `Service`, `Pod` (for endpoint labels) and `List`s of them,
/// `discovery.k8s.io/v1` `EndpointSlice`, `gateway.networking.k8s.io`
/// `Gateway`, `HTTPRoute` and `ReferenceGrant`, and `networking.istio.io`
/// (`v1alpha3`, `v1beta1`, `v1`) `Gateway`, `VirtualService` and
/// `DestinationRule`. Building never fails: references that do not resolve
/// become 500 responses for the requests that reach them and a line in
/// [`Snapshot::warnings`].
#[derive(Default)]
pub struct SnapshotBuilder {
    opts: BuildOptions,
    services: Vec<(ObjectRef, k8s::Object<k8s::ServiceSpec, k8s::ServiceStatus>)>,
    slices: Vec<(String, k8s::EndpointSlice)>,
    pods: HashMap<ObjectRef, k8s::Pod>,
    gateways: Vec<(ObjectRef, k8s::Object<k8s::GatewaySpec>)>,
    http_routes: Vec<(ObjectRef, k8s::Object<k8s::HttpRouteSpec>)>,
    grants: Vec<(String, k8s::Object<k8s::ReferenceGrantSpec>)>,
    istio_gateways: Vec<(ObjectRef, k8s::Object<k8s::IstioGatewaySpec>)>,
    virtual_services: Vec<(ObjectRef, k8s::Object<k8s::VirtualServiceSpec>)>,
    destination_rules: Vec<(String, k8s::Object<k8s::DestinationRuleSpec>)>,
}

// === impl BuildOptions ===

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            sticky_cookie: DEFAULT_STICKY_COOKIE.to_string(),
            gateway_class: None,
            cluster_domain: "cluster.local".to_string(),
            endpoints_from_pods: false,
        }
    }
}

// === impl Snapshot (construction) ===

impl Snapshot {
    /// Builds a snapshot from objects; objects that cannot be read are
    /// returned as errors and left out.
    pub fn from_objects<'a>(
        objects: impl IntoIterator<Item = &'a Value>,
        opts: BuildOptions,
    ) -> (Snapshot, Vec<BuildError>) {
        let mut builder = SnapshotBuilder::new(opts);
        let errors = objects
            .into_iter()
            .filter_map(|o| builder.add(o).err())
            .collect();
        (builder.build(), errors)
    }
}

// === impl SnapshotBuilder ===

fn decode<T: DeserializeOwned>(object: &Value, kind: &str) -> Result<T, BuildError> {
    serde_json::from_value(object.clone()).map_err(|source| BuildError::Decode {
        kind: kind.to_string(),
        name: object["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        source,
    })
}

fn namespace_of(meta: &k8s::Meta) -> String {
    meta.namespace
        .clone()
        .unwrap_or_else(|| "default".to_string())
}

impl SnapshotBuilder {
    pub fn new(opts: BuildOptions) -> Self {
        SnapshotBuilder {
            opts,
            ..SnapshotBuilder::default()
        }
    }

    /// Adds one object (or every item of a `List`).
    pub fn add(&mut self, object: &Value) -> Result<(), BuildError> {
        let api_version = object["apiVersion"].as_str().unwrap_or("");
        let kind = object["kind"].as_str().unwrap_or("");
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        match (group, kind) {
            (_, k) if k.ends_with("List") => {
                for item in object["items"].as_array().into_iter().flatten() {
                    // `kubectl get -o json` lists carry kind/apiVersion per item.
                    self.add(item)?;
                }
            }
            ("", "Service") => {
                let svc: k8s::Object<k8s::ServiceSpec, k8s::ServiceStatus> = decode(object, kind)?;
                let name = ObjectRef::new(namespace_of(&svc.metadata), svc.metadata.name.clone());
                self.services.push((name, svc));
            }
            ("", "Pod") => {
                let pod: k8s::Pod = decode(object, kind)?;
                let ns = pod
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into());
                let name = ObjectRef::new(ns, pod.metadata.name.clone());
                self.pods.insert(name, pod);
            }
            ("discovery.k8s.io", "EndpointSlice") => {
                let slice: k8s::EndpointSlice = decode(object, kind)?;
                self.slices.push((namespace_of(&slice.metadata), slice));
            }
            (GATEWAY_GROUP, "Gateway") => {
                let gw: k8s::Object<k8s::GatewaySpec> = decode(object, kind)?;
                let name = ObjectRef::new(namespace_of(&gw.metadata), gw.metadata.name.clone());
                self.gateways.push((name, gw));
            }
            (GATEWAY_GROUP, "HTTPRoute") => {
                let route: k8s::Object<k8s::HttpRouteSpec> = decode(object, kind)?;
                let name =
                    ObjectRef::new(namespace_of(&route.metadata), route.metadata.name.clone());
                self.http_routes.push((name, route));
            }
            (GATEWAY_GROUP, "ReferenceGrant") => {
                let grant: k8s::Object<k8s::ReferenceGrantSpec> = decode(object, kind)?;
                self.grants.push((namespace_of(&grant.metadata), grant));
            }
            ("networking.istio.io", "Gateway") => {
                let gw: k8s::Object<k8s::IstioGatewaySpec> = decode(object, kind)?;
                let name = ObjectRef::new(namespace_of(&gw.metadata), gw.metadata.name.clone());
                self.istio_gateways.push((name, gw));
            }
            ("networking.istio.io", "VirtualService") => {
                let vs: k8s::Object<k8s::VirtualServiceSpec> = decode(object, kind)?;
                let name = ObjectRef::new(namespace_of(&vs.metadata), vs.metadata.name.clone());
                self.virtual_services.push((name, vs));
            }
            ("networking.istio.io", "DestinationRule") => {
                let dr: k8s::Object<k8s::DestinationRuleSpec> = decode(object, kind)?;
                self.destination_rules
                    .push((namespace_of(&dr.metadata), dr));
            }
            _ => {
                return Err(BuildError::Unsupported {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                })
            }
        }
        Ok(())
    }

    pub fn build(mut self) -> Snapshot {
        let mut b = Build {
            opts: self.opts.clone(),
            services: BTreeMap::new(),
            endpoints: HashMap::new(),
            destination_rules: Vec::new(),
            backends: HashMap::new(),
            listeners: BTreeMap::new(),
            grants: std::mem::take(&mut self.grants),
            warnings: Vec::new(),
        };
        let selectors = if self.opts.endpoints_from_pods {
            self.services
                .iter()
                .filter_map(|(name, svc)| {
                    let sel = svc.spec.selector.clone()?;
                    (svc.spec.cluster_ip.as_deref() != Some("None") && !sel.is_empty())
                        .then(|| (name.clone(), sel, svc.spec.ports.clone()))
                })
                .collect::<Vec<_>>()
        } else {
            Vec::new()
        };
        b.index_services(std::mem::take(&mut self.services));
        let from_pods: std::collections::HashSet<ObjectRef> =
            selectors.iter().map(|(n, ..)| n.clone()).collect();
        b.index_endpoints(&self.slices, &self.pods, &from_pods);
        b.index_pod_endpoints(&selectors, &self.pods);
        b.destination_rules = std::mem::take(&mut self.destination_rules)
            .into_iter()
            .map(|(ns, dr)| (b.resolve_istio_host(&dr.spec.host, &ns), dr))
            .collect();
        b.service_listeners();
        let sections = b.gateway_listeners(&self.gateways);
        b.istio_gateway_listeners(&self.istio_gateways);

        sort_by_age(&mut self.http_routes);
        for (name, route) in &self.http_routes {
            b.attach_http_route(name, route, &sections);
        }
        sort_by_age(&mut self.virtual_services);
        for (name, vs) in &self.virtual_services {
            b.attach_virtual_service(name, vs);
        }
        b.finish()
    }
}

fn sort_by_age<S: Default, T: Default>(objects: &mut [(ObjectRef, k8s::Object<S, T>)]) {
    objects.sort_by(|(a_name, a), (b_name, b)| {
        let ts = |o: &k8s::Object<S, T>| o.metadata.creation_timestamp.clone().unwrap_or_default();
        ts(a).cmp(&ts(b)).then_with(|| a_name.cmp(b_name))
    });
}

/// A Gateway API listener section a route may attach to.
struct Section {
    gateway: ObjectRef,
    name: String,
    port: u16,
    hostname: Option<HostPattern>,
    /// `allowedRoutes.namespaces.from`: `Same` (default), `All` or `Selector`.
    from: String,
}

struct ServiceData {
    info: ServiceInfo,
    annotations: BTreeMap<String, String>,
}

/// A VirtualService rule and its matches, each with its `match[].gateways`.
type CompiledVsRule = (Arc<Rule>, Vec<(RequestMatch, Vec<String>)>);

/// Endpoints of one Service by port name.
type PortEndpoints = HashMap<String, Vec<Endpoint>>;

/// Build-time state.
struct Build {
    opts: BuildOptions,
    services: BTreeMap<ObjectRef, ServiceData>,
    endpoints: HashMap<ObjectRef, PortEndpoints>,
    destination_rules: Vec<(Option<ObjectRef>, k8s::Object<k8s::DestinationRuleSpec>)>,
    backends: HashMap<BackendKey, Arc<Backend>>,
    listeners: BTreeMap<ListenerId, Listener>,
    grants: Vec<(String, k8s::Object<k8s::ReferenceGrantSpec>)>,
    warnings: Vec<String>,
}

impl Build {
    fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    fn finish(mut self) -> Snapshot {
        for (id, listener) in &mut self.listeners {
            if !listener.http_routes.is_empty() && !listener.virtual_services.is_empty() {
                self.warnings.push(format!(
                    "{id}: HTTPRoutes take precedence; VirtualServices ignored"
                ));
                listener.virtual_services.clear();
            }
            listener.http_routes.sort_by(|a, b| {
                a.matcher
                    .precedence_cmp(&b.matcher)
                    .then_with(|| a.order.cmp(&b.order))
                    .then_with(|| a.rule_index.cmp(&b.rule_index))
                    .then_with(|| a.match_index.cmp(&b.match_index))
            });
        }
        Snapshot {
            inner: Arc::new(Inner {
                services: self
                    .services
                    .into_iter()
                    .map(|(k, v)| (k, v.info))
                    .collect(),
                listeners: self.listeners,
                backends: self.backends,
                sticky_cookie: self.opts.sticky_cookie,
                warnings: self.warnings,
            }),
        }
    }

    // --- Services and endpoints ---

    fn index_services(
        &mut self,
        services: Vec<(ObjectRef, k8s::Object<k8s::ServiceSpec, k8s::ServiceStatus>)>,
    ) {
        for (name, svc) in services {
            let spec = &svc.spec;
            let ips =
                |v: &[String]| -> Vec<IpAddr> { v.iter().filter_map(|s| s.parse().ok()).collect() };
            let mut cluster_ips = ips(&spec.cluster_ips);
            if cluster_ips.is_empty() {
                cluster_ips = spec
                    .cluster_ip
                    .iter()
                    .filter_map(|s| s.parse().ok())
                    .collect();
            }
            let headless = spec.cluster_ip.as_deref() == Some("None");
            let affinity = if spec.session_affinity.as_deref() == Some("ClientIP") {
                let timeout = spec
                    .session_affinity_config
                    .as_ref()
                    .and_then(|c| c.client_ip.as_ref())
                    .and_then(|c| c.timeout_seconds)
                    .unwrap_or(DEFAULT_AFFINITY_TIMEOUT);
                Affinity::ClientIp {
                    timeout_seconds: timeout,
                }
            } else {
                Affinity::None
            };
            let info = ServiceInfo {
                service: name.clone(),
                service_type: spec
                    .type_
                    .clone()
                    .unwrap_or_else(|| "ClusterIP".to_string()),
                cluster_ips,
                headless,
                external_ips: ips(&spec.external_ips),
                load_balancer_ips: svc
                    .status
                    .load_balancer
                    .ingress
                    .iter()
                    .filter_map(|i| i.ip.as_deref()?.parse().ok())
                    .collect(),
                ports: spec
                    .ports
                    .iter()
                    .map(|p| ServicePortInfo {
                        name: p.name.clone().unwrap_or_default(),
                        port: p.port,
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_string()),
                        app_protocol: p.app_protocol.clone(),
                        node_port: p.node_port,
                    })
                    .collect(),
                affinity,
            };
            self.services.insert(
                name,
                ServiceData {
                    info,
                    annotations: svc.metadata.annotations,
                },
            );
        }
    }

    /// Endpoints of Services with a selector, from the Pods it selects
    /// (see [`BuildOptions::endpoints_from_pods`]). Pods without an IP or
    /// that finished are left out; a named targetPort a pod does not have
    /// leaves that pod out of that port, as the EndpointSlice controller does.
    fn index_pod_endpoints(
        &mut self,
        selectors: &[(ObjectRef, BTreeMap<String, String>, Vec<k8s::ServicePort>)],
        pods: &HashMap<ObjectRef, k8s::Pod>,
    ) {
        for (service, selector, ports) in selectors {
            let by_port = self.endpoints.entry(service.clone()).or_default();
            let mut selected: Vec<&k8s::Pod> = pods
                .iter()
                .filter(|(name, pod)| {
                    name.namespace == service.namespace
                        && selector
                            .iter()
                            .all(|(k, v)| pod.metadata.labels.get(k) == Some(v))
                        && !matches!(
                            pod.status.phase.as_deref(),
                            Some("Succeeded") | Some("Failed")
                        )
                })
                .map(|(_, pod)| pod)
                .collect();
            selected.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            for sp in ports {
                let list = by_port
                    .entry(sp.name.clone().unwrap_or_default())
                    .or_default();
                for pod in &selected {
                    let Some(address) = pod
                        .status
                        .pod_ip
                        .as_deref()
                        .and_then(|ip| ip.parse::<IpAddr>().ok())
                    else {
                        continue;
                    };
                    let number = match &sp.target_port {
                        None => Some(sp.port),
                        Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
                        Some(Value::String(name)) => match name.parse::<u16>() {
                            Ok(n) => Some(n),
                            Err(_) => pod
                                .spec
                                .containers
                                .iter()
                                .flat_map(|c| &c.ports)
                                .find(|p| p.name.as_deref() == Some(name.as_str()))
                                .map(|p| p.container_port),
                        },
                        Some(_) => None,
                    };
                    let Some(port) = number.filter(|p| *p != 0) else {
                        continue;
                    };
                    let serving = pod
                        .status
                        .conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True");
                    let terminating = pod.metadata.deletion_timestamp.is_some();
                    list.push(Endpoint {
                        address,
                        port,
                        ready: serving && !terminating,
                        serving,
                        terminating,
                        pod: Some(pod.metadata.name.clone()),
                        node_name: pod.spec.node_name.clone(),
                        labels: pod.metadata.labels.clone(),
                    });
                }
                list.sort_by_key(|e| (e.address, e.port));
            }
        }
    }

    fn index_endpoints(
        &mut self,
        slices: &[(String, k8s::EndpointSlice)],
        pods: &HashMap<ObjectRef, k8s::Pod>,
        from_pods: &std::collections::HashSet<ObjectRef>,
    ) {
        for (namespace, slice) in slices {
            let Some(service) = slice.metadata.labels.get(SERVICE_NAME_LABEL) else {
                continue;
            };
            if from_pods.contains(&ObjectRef::new(namespace.clone(), service.clone())) {
                continue;
            }
            if slice.address_type == "FQDN" {
                continue;
            }
            let by_port = self
                .endpoints
                .entry(ObjectRef::new(namespace.clone(), service.clone()))
                .or_default();
            for port in &slice.ports {
                let Some(number) = port.port else { continue };
                let list = by_port
                    .entry(port.name.clone().unwrap_or_default())
                    .or_default();
                for ep in &slice.endpoints {
                    let Some(address) = ep.addresses.first().and_then(|a| a.parse().ok()) else {
                        continue;
                    };
                    let ready = ep.conditions.ready.unwrap_or(true);
                    let pod = ep
                        .target_ref
                        .as_ref()
                        .filter(|t| t.kind.as_deref().unwrap_or("Pod") == "Pod");
                    let labels = pod
                        .and_then(|t| {
                            let ns = t.namespace.clone().unwrap_or_else(|| namespace.clone());
                            pods.get(&ObjectRef::new(ns, t.name.clone()))
                        })
                        .map(|p| p.metadata.labels.clone())
                        .unwrap_or_default();
                    let endpoint = Endpoint {
                        address,
                        port: number,
                        ready,
                        serving: ep.conditions.serving.unwrap_or(ready),
                        terminating: ep.conditions.terminating.unwrap_or(false),
                        pod: pod.map(|t| t.name.clone()),
                        node_name: ep.node_name.clone(),
                        labels,
                    };
                    // During slice churn an endpoint can appear twice; keep the
                    // readier copy, as kube-proxy's merge does.
                    match list
                        .iter_mut()
                        .find(|e| e.socket_addr() == endpoint.socket_addr())
                    {
                        Some(existing) if !existing.is_ready() && endpoint.is_ready() => {
                            *existing = endpoint
                        }
                        Some(_) => {}
                        None => list.push(endpoint),
                    }
                }
            }
        }
        for by_port in self.endpoints.values_mut() {
            for list in by_port.values_mut() {
                list.sort_by_key(|e| (e.address, e.port));
            }
        }
    }

    /// The shared backend for a Service port, subset and route stickiness.
    fn backend(
        &mut self,
        service: &ObjectRef,
        port: u16,
        subset: Option<&str>,
        route_sticky: Option<&str>,
    ) -> Result<Arc<Backend>, String> {
        let key = BackendKey {
            service: service.clone(),
            port,
            subset: subset.map(str::to_string),
            route_sticky: route_sticky.map(str::to_string),
        };
        if let Some(b) = self.backends.get(&key) {
            return Ok(b.clone());
        }
        let data = self
            .services
            .get(service)
            .ok_or_else(|| format!("Service {service} not found"))?;
        let svc_port = data
            .info
            .ports
            .iter()
            .find(|p| p.port == port)
            .ok_or_else(|| format!("Service {service} has no port {port}"))?;
        let mut endpoints = self
            .endpoints
            .get(service)
            .and_then(|by_port| by_port.get(&svc_port.name))
            .cloned()
            .unwrap_or_default();

        let mut load_balancer = match data
            .annotations
            .get(LOAD_BALANCER_ANNOTATION)
            .map(String::as_str)
        {
            Some("least-request") => LoadBalancer::LeastRequest,
            Some("random") => LoadBalancer::Random,
            _ => LoadBalancer::RoundRobin,
        };
        let mut affinity = data.info.affinity;
        let sticky_label = match data.annotations.get(STICKY_ANNOTATION).map(String::as_str) {
            Some("false") | None => route_sticky.map(str::to_string),
            Some("true") | Some("") => Some(DEFAULT_VERSION_LABEL.to_string()),
            Some(label) => Some(label.to_string()),
        };

        // Istio DestinationRule: subset labels and traffic policy.
        let rule = self
            .destination_rules
            .iter()
            .find(|(host, _)| host.as_ref() == Some(service))
            .map(|(_, dr)| dr.spec.clone());
        let mut policies = Vec::new();
        if let Some(rule) = &rule {
            policies.extend(rule.traffic_policy.clone());
        }
        if let Some(subset) = subset {
            let found = rule
                .as_ref()
                .and_then(|r| r.subsets.iter().find(|s| s.name == subset))
                .ok_or_else(|| format!("subset {subset} of {service} is not defined"))?;
            endpoints.retain(|e| found.labels.iter().all(|(k, v)| e.labels.get(k) == Some(v)));
            policies.extend(found.traffic_policy.clone());
        }
        for policy in policies {
            let Some(lb) = policy.load_balancer else {
                continue;
            };
            match lb.simple.as_deref() {
                Some("LEAST_REQUEST" | "LEAST_CONN") => load_balancer = LoadBalancer::LeastRequest,
                Some("RANDOM") => load_balancer = LoadBalancer::Random,
                Some("ROUND_ROBIN") => load_balancer = LoadBalancer::RoundRobin,
                _ => {}
            }
            if lb.consistent_hash.and_then(|c| c.use_source_ip) == Some(true) {
                affinity = Affinity::ClientIp {
                    timeout_seconds: DEFAULT_AFFINITY_TIMEOUT,
                };
            }
        }

        let backend = Arc::new(Backend {
            service: service.clone(),
            port,
            port_name: svc_port.name.clone(),
            subset: subset.map(str::to_string),
            endpoints,
            load_balancer,
            affinity,
            sticky: sticky_label.map(|label| Sticky {
                cookie: self.opts.sticky_cookie.clone(),
                label,
            }),
        });
        self.backends.insert(key, backend.clone());
        Ok(backend)
    }

    fn service_listeners(&mut self) {
        let services: Vec<(ObjectRef, Vec<u16>)> = self
            .services
            .iter()
            .filter(|(_, d)| !d.info.headless && d.info.service_type != "ExternalName")
            .map(|(name, d)| {
                let ports = d
                    .info
                    .ports
                    .iter()
                    .filter(|p| p.protocol == "TCP")
                    .map(|p| p.port)
                    .collect();
                (name.clone(), ports)
            })
            .collect();
        for (service, ports) in services {
            for port in ports {
                let default = self.backend(&service, port, None, None).ok();
                let id = ListenerId::Service {
                    service: service.clone(),
                    port,
                };
                self.listeners.insert(
                    id,
                    Listener {
                        default,
                        ..Listener::default()
                    },
                );
            }
        }
    }

    fn gateway_listeners(
        &mut self,
        gateways: &[(ObjectRef, k8s::Object<k8s::GatewaySpec>)],
    ) -> Vec<Section> {
        let mut sections = Vec::new();
        for (name, gw) in gateways {
            if let Some(class) = &self.opts.gateway_class {
                if &gw.spec.gateway_class_name != class {
                    continue;
                }
            }
            for l in &gw.spec.listeners {
                if l.protocol != "HTTP" && l.protocol != "HTTPS" {
                    continue;
                }
                let from = l
                    .allowed_routes
                    .as_ref()
                    .and_then(|a| a.namespaces.as_ref())
                    .and_then(|n| n.from.clone())
                    .unwrap_or_else(|| "Same".to_string());
                sections.push(Section {
                    gateway: name.clone(),
                    name: l.name.clone(),
                    port: l.port,
                    hostname: l.hostname.as_deref().map(HostPattern::parse),
                    from,
                });
                self.listeners
                    .entry(ListenerId::Gateway {
                        kind: GatewayKind::GatewayApi,
                        gateway: name.clone(),
                        port: l.port,
                    })
                    .or_default();
            }
        }
        sections
    }

    fn istio_gateway_listeners(
        &mut self,
        gateways: &[(ObjectRef, k8s::Object<k8s::IstioGatewaySpec>)],
    ) {
        for (name, gw) in gateways {
            for server in &gw.spec.servers {
                let protocol = server
                    .port
                    .protocol
                    .as_deref()
                    .unwrap_or("HTTP")
                    .to_ascii_uppercase();
                if !matches!(protocol.as_str(), "HTTP" | "HTTP2" | "HTTPS") {
                    continue;
                }
                self.listeners
                    .entry(ListenerId::Gateway {
                        kind: GatewayKind::Istio,
                        gateway: name.clone(),
                        port: server.port.number,
                    })
                    .or_default();
            }
        }
    }

    // --- Gateway API HTTPRoute ---

    fn attach_http_route(
        &mut self,
        name: &ObjectRef,
        route: &k8s::Object<k8s::HttpRouteSpec>,
        sections: &[Section],
    ) {
        let route_sticky = sticky_annotation(&route.metadata);
        let rules: Vec<(Arc<Rule>, Vec<RequestMatch>)> = route
            .spec
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| self.compile_http_rule(name, i, rule, route_sticky.as_deref()))
            .collect();
        let hostnames: Vec<HostPattern> = route
            .spec
            .hostnames
            .iter()
            .map(|h| HostPattern::parse(h))
            .collect();
        let hostnames = Arc::new(hostnames);
        let order = (
            route
                .metadata
                .creation_timestamp
                .clone()
                .unwrap_or_default(),
            name.clone(),
        );

        for parent in &route.spec.parent_refs {
            let group = parent.group.as_deref().unwrap_or(GATEWAY_GROUP);
            let kind = parent.kind.as_deref().unwrap_or("Gateway");
            let parent_ns = parent
                .namespace
                .clone()
                .unwrap_or_else(|| name.namespace.clone());
            let parent_name = ObjectRef::new(parent_ns, parent.name.clone());
            // (listener, listener hostname) pairs this parentRef attaches to.
            let mut targets: Vec<(ListenerId, Option<HostPattern>, Arc<Vec<HostPattern>>)> =
                Vec::new();
            match (group, kind) {
                (GATEWAY_GROUP, "Gateway") => {
                    for s in sections.iter().filter(|s| s.gateway == parent_name) {
                        if parent.section_name.as_ref().is_some_and(|n| n != &s.name)
                            || parent.port.is_some_and(|p| p != s.port)
                        {
                            continue;
                        }
                        let allowed = match s.from.as_str() {
                            "All" => true,
                            "Same" => s.gateway.namespace == name.namespace,
                            _ => false,
                        };
                        if !allowed {
                            self.warn(format!(
                                "HTTPRoute {name}: not allowed on listener {} of Gateway {}",
                                s.name, s.gateway
                            ));
                            continue;
                        }
                        let intersects = match &s.hostname {
                            None => true,
                            Some(l) => {
                                hostnames.is_empty() || hostnames.iter().any(|h| h.intersects(l))
                            }
                        };
                        if !intersects {
                            continue;
                        }
                        let id = ListenerId::Gateway {
                            kind: GatewayKind::GatewayApi,
                            gateway: s.gateway.clone(),
                            port: s.port,
                        };
                        targets.push((id, s.hostname.clone(), hostnames.clone()));
                    }
                }
                ("" | "core", "Service") => {
                    let ports: Vec<u16> = self
                        .services
                        .get(&parent_name)
                        .map(|d| d.info.ports.iter().map(|p| p.port).collect())
                        .unwrap_or_default();
                    for port in ports {
                        if parent.port.is_some_and(|p| p != port) {
                            continue;
                        }
                        let id = ListenerId::Service {
                            service: parent_name.clone(),
                            port,
                        };
                        // GAMMA ignores hostnames: the Service already chose the route.
                        targets.push((id, None, Arc::new(Vec::new())));
                    }
                }
                _ => {}
            }
            let mut attached = false;
            for (id, listener_host, hostnames) in targets {
                let Some(listener) = self.listeners.get_mut(&id) else {
                    continue;
                };
                attached = true;
                for (rule_index, (rule, matches)) in rules.iter().enumerate() {
                    for (match_index, matcher) in matches.iter().enumerate() {
                        listener.http_routes.push(HttpEntry {
                            hostnames: hostnames.clone(),
                            listener_host: listener_host.clone(),
                            order: order.clone(),
                            rule_index,
                            match_index,
                            matcher: matcher.clone(),
                            rule: rule.clone(),
                        });
                    }
                }
            }
            if !attached {
                self.warn(format!(
                    "HTTPRoute {name}: parentRef {kind} {parent_name} not found or not accepted"
                ));
            }
        }
    }

    fn compile_http_rule(
        &mut self,
        route: &ObjectRef,
        index: usize,
        rule: &k8s::HttpRouteRule,
        route_sticky: Option<&str>,
    ) -> (Arc<Rule>, Vec<RequestMatch>) {
        let id = RouteId {
            kind: RouteKind::HttpRoute,
            route: route.clone(),
            rule: index,
        };
        let mut matches = Vec::new();
        if rule.matches.is_empty() {
            matches.push(RequestMatch {
                path: Some(PathMatch::SegmentPrefix("/".to_string())),
                ..RequestMatch::default()
            });
        }
        for m in &rule.matches {
            match self.compile_http_match(m) {
                Ok(m) => matches.push(m),
                Err(e) => self.warn(format!("{id}: {e}")),
            }
        }
        let filters = rule
            .filters
            .iter()
            .map(|f| self.compile_http_filter(&id, f))
            .collect();
        let mut backends = Vec::new();
        for r in &rule.backend_refs {
            let weight = r.weight.unwrap_or(1);
            let target = match self.resolve_backend_ref(route, r, route_sticky) {
                Ok(b) => Target::Backend(b),
                Err(reason) => {
                    self.warn(format!("{id}: backendRef {}: {reason}", r.name));
                    Target::Invalid(reason)
                }
            };
            let filters = r
                .filters
                .iter()
                .map(|f| self.compile_http_filter(&id, f))
                .collect();
            backends.push(WeightedTarget {
                weight,
                target,
                filters,
            });
        }
        let rule = Rule {
            id,
            filters,
            backends,
            direct_response: None,
            empty_means_parent: true,
        };
        (Arc::new(rule), matches)
    }

    fn compile_http_match(&self, m: &k8s::HttpRouteMatch) -> Result<RequestMatch, String> {
        let path = match &m.path {
            None => PathMatch::SegmentPrefix("/".to_string()),
            Some(p) => {
                let value = p.value.clone().unwrap_or_else(|| "/".to_string());
                match p.type_.as_deref().unwrap_or("PathPrefix") {
                    "Exact" => PathMatch::Exact(value),
                    "PathPrefix" => PathMatch::SegmentPrefix(value),
                    "RegularExpression" => {
                        PathMatch::Regex(Regex::new(&value).map_err(|e| e.to_string())?)
                    }
                    other => return Err(format!("unsupported path match type {other}")),
                }
            }
        };
        // Only the first entry for a given name counts (names are
        // case-insensitive for headers, case-sensitive for query params).
        let mut headers: Vec<(String, StringMatch)> = Vec::new();
        for h in &m.headers {
            let name = h.name.to_ascii_lowercase();
            if headers.iter().any(|(n, _)| n == &name) {
                continue;
            }
            headers.push((name, gateway_string_match(h)?));
        }
        let mut query: Vec<(String, StringMatch)> = Vec::new();
        for q in &m.query_params {
            if query.iter().any(|(n, _)| n == &q.name) {
                continue;
            }
            query.push((q.name.clone(), gateway_string_match(q)?));
        }
        Ok(RequestMatch {
            path: Some(path),
            method: m.method.clone().map(StringMatch::Exact),
            headers,
            query,
            ..RequestMatch::default()
        })
    }

    fn compile_http_filter(&mut self, id: &RouteId, f: &k8s::HttpRouteFilter) -> Filter {
        let edits = |m: &Option<k8s::HeaderModifier>| {
            let mut edits = HeaderEdits::default();
            if let Some(m) = m {
                for nv in &m.set {
                    edits.ops.push(HeaderOp::Set(
                        nv.name.to_ascii_lowercase(),
                        nv.value.clone(),
                    ));
                }
                for nv in &m.add {
                    edits.ops.push(HeaderOp::Add(
                        nv.name.to_ascii_lowercase(),
                        nv.value.clone(),
                    ));
                }
                for name in &m.remove {
                    edits.ops.push(HeaderOp::Remove(name.to_ascii_lowercase()));
                }
            }
            edits
        };
        let path = |p: &Option<k8s::PathModifier>| {
            p.as_ref().and_then(|p| match p.type_.as_str() {
                "ReplaceFullPath" => p.replace_full_path.clone().map(PathRewrite::Full),
                "ReplacePrefixMatch" => p
                    .replace_prefix_match
                    .clone()
                    .map(PathRewrite::GatewayPrefix),
                _ => None,
            })
        };
        match f.type_.as_str() {
            "RequestHeaderModifier" => Filter::RequestHeaders(edits(&f.request_header_modifier)),
            "ResponseHeaderModifier" => Filter::ResponseHeaders(edits(&f.response_header_modifier)),
            "RequestRedirect" => {
                let r = f.request_redirect.clone().unwrap_or_default();
                Filter::Redirect(RedirectSpec {
                    scheme: r.scheme,
                    host: r.hostname,
                    port: r.port,
                    path: path(&r.path),
                    status: r.status_code.unwrap_or(302),
                    istio: false,
                })
            }
            "URLRewrite" => {
                let r = f.url_rewrite.clone().unwrap_or_default();
                Filter::Rewrite {
                    host: r.hostname,
                    path: path(&r.path),
                }
            }
            "RequestMirror" => {
                // Mirroring is best effort by nature; skipping it changes no response.
                self.warn(format!("{id}: RequestMirror is not supported; ignored"));
                Filter::RequestHeaders(HeaderEdits::default())
            }
            other => {
                self.warn(format!(
                    "{id}: filter {other} is not supported; matching requests get 500"
                ));
                Filter::Unsupported(other.to_string())
            }
        }
    }

    fn resolve_backend_ref(
        &mut self,
        route: &ObjectRef,
        r: &k8s::HttpBackendRef,
        route_sticky: Option<&str>,
    ) -> Result<Arc<Backend>, String> {
        let group = r.group.as_deref().unwrap_or("");
        let kind = r.kind.as_deref().unwrap_or("Service");
        if !(matches!(group, "" | "core") && kind == "Service") {
            return Err(format!("unsupported backend kind {kind}"));
        }
        let namespace = r
            .namespace
            .clone()
            .unwrap_or_else(|| route.namespace.clone());
        if namespace != route.namespace
            && !self.reference_granted(&route.namespace, &namespace, &r.name)
        {
            return Err(format!(
                "reference to Service {namespace}/{} not permitted by a ReferenceGrant",
                r.name
            ));
        }
        let port = r
            .port
            .ok_or_else(|| "port is required for a Service".to_string())?;
        self.backend(
            &ObjectRef::new(namespace, r.name.clone()),
            port,
            None,
            route_sticky,
        )
    }

    fn reference_granted(&self, from_ns: &str, to_ns: &str, service: &str) -> bool {
        self.grants.iter().any(|(ns, grant)| {
            ns == to_ns
                && grant.spec.from.iter().any(|f| {
                    f.group == GATEWAY_GROUP && f.kind == "HTTPRoute" && f.namespace == from_ns
                })
                && grant.spec.to.iter().any(|t| {
                    t.group.is_empty()
                        && t.kind == "Service"
                        && t.name.as_deref().is_none_or(|n| n == service)
                })
        })
    }

    // --- Istio VirtualService ---

    /// An Istio host name → the Service it names: `name`, `name.ns`,
    /// `name.ns.svc` or `name.ns.svc.<cluster domain>`.
    fn resolve_istio_host(&self, host: &str, namespace: &str) -> Option<ObjectRef> {
        let host = host.trim_end_matches('.');
        if host.contains('*') {
            return None;
        }
        let suffix = format!(".svc.{}", self.opts.cluster_domain);
        let host = host
            .strip_suffix(suffix.as_str())
            .or_else(|| host.strip_suffix(".svc"))
            .unwrap_or(host);
        let mut parts = host.split('.');
        let name = parts.next()?;
        match (parts.next(), parts.next()) {
            (None, _) => Some(ObjectRef::new(namespace, name)),
            (Some(ns), None) => Some(ObjectRef::new(ns, name)),
            _ => None,
        }
    }

    fn attach_virtual_service(
        &mut self,
        name: &ObjectRef,
        vs: &k8s::Object<k8s::VirtualServiceSpec>,
    ) {
        let route_sticky = sticky_annotation(&vs.metadata);
        let gateways = if vs.spec.gateways.is_empty() {
            vec!["mesh".to_string()]
        } else {
            vs.spec.gateways.clone()
        };
        let rules: Vec<CompiledVsRule> = vs
            .spec
            .http
            .iter()
            .enumerate()
            .map(|(i, r)| self.compile_istio_rule(name, i, r, route_sticky.as_deref()))
            .collect();
        let hosts = Arc::new(
            vs.spec
                .hosts
                .iter()
                .map(|h| HostPattern::parse(h))
                .collect::<Vec<_>>(),
        );

        let mut targets: Vec<(ListenerId, String, Arc<Vec<HostPattern>>)> = Vec::new();
        for gateway in &gateways {
            if gateway == "mesh" {
                for host in &vs.spec.hosts {
                    let Some(service) = self.resolve_istio_host(host, &name.namespace) else {
                        continue;
                    };
                    for id in self.listeners.keys() {
                        if matches!(id, ListenerId::Service { service: s, .. } if s == &service) {
                            targets.push((id.clone(), "mesh".to_string(), Arc::new(Vec::new())));
                        }
                    }
                }
            } else {
                let gw = match gateway.split_once('/') {
                    Some((ns, n)) => ObjectRef::new(ns, n),
                    None => ObjectRef::new(name.namespace.clone(), gateway.clone()),
                };
                for id in self.listeners.keys() {
                    if matches!(id, ListenerId::Gateway { kind: GatewayKind::Istio, gateway: g, .. } if g == &gw)
                    {
                        targets.push((id.clone(), gateway.clone(), hosts.clone()));
                    }
                }
            }
        }
        if targets.is_empty() {
            self.warn(format!(
                "VirtualService {name}: no listener for hosts {:?} on gateways {gateways:?}",
                vs.spec.hosts
            ));
        }
        for (id, gateway_name, hosts) in targets {
            let Some(listener) = self.listeners.get_mut(&id) else {
                continue;
            };
            for (rule, matches) in &rules {
                // `match[].gateways` narrows a match to some of the VS's gateways.
                let applicable: Vec<RequestMatch> = matches
                    .iter()
                    .filter(|(_, gws)| gws.is_empty() || gws.contains(&gateway_name))
                    .map(|(m, _)| m.clone())
                    .collect();
                if !matches.is_empty() && applicable.is_empty() {
                    continue;
                }
                listener.virtual_services.push(VsEntry {
                    hosts: hosts.clone(),
                    matches: applicable,
                    rule: rule.clone(),
                });
            }
        }
    }

    fn compile_istio_rule(
        &mut self,
        vs: &ObjectRef,
        index: usize,
        r: &k8s::IstioHttpRoute,
        route_sticky: Option<&str>,
    ) -> CompiledVsRule {
        let id = RouteId {
            kind: RouteKind::VirtualService,
            route: vs.clone(),
            rule: index,
        };
        let mut matches = Vec::new();
        let mut invalid = false;
        for m in &r.match_ {
            match compile_istio_match(m) {
                Ok(compiled) => matches.push((compiled, m.gateways.clone())),
                Err(e) => {
                    invalid = true;
                    self.warn(format!("{id}: {e}"));
                }
            }
        }
        let mut filters = Vec::new();
        if let Some(h) = &r.headers {
            push_istio_headers(&mut filters, h);
        }
        if let Some(rw) = &r.rewrite {
            filters.push(Filter::Rewrite {
                host: rw.authority.clone(),
                path: rw.uri.clone().map(PathRewrite::IstioPrefix),
            });
        }
        if let Some(rd) = &r.redirect {
            filters.push(Filter::Redirect(RedirectSpec {
                scheme: rd.scheme.clone(),
                host: rd.authority.clone(),
                port: rd.port,
                path: rd.uri.clone().map(PathRewrite::Full),
                status: rd.redirect_code.unwrap_or(301),
                istio: true,
            }));
        }
        let all_unweighted = r.route.iter().all(|d| d.weight.is_none());
        let single = r.route.len() == 1;
        let mut backends = Vec::new();
        for d in &r.route {
            // One destination takes everything; with several, unset weights
            // are 0 unless none is set, then they share equally.
            let weight = if single || all_unweighted {
                1
            } else {
                d.weight.unwrap_or(0)
            };
            let target = self.resolve_istio_destination(vs, &d.destination, route_sticky);
            if let Target::Invalid(reason) = &target {
                self.warn(format!(
                    "{id}: destination {}: {reason}",
                    d.destination.host
                ));
            }
            let mut filters = Vec::new();
            if let Some(h) = &d.headers {
                push_istio_headers(&mut filters, h);
            }
            backends.push(WeightedTarget {
                weight,
                target,
                filters,
            });
        }
        if invalid && matches.is_empty() {
            // Every match was invalid: the rule must never match, not match all.
            let never = RequestMatch {
                method: Some(StringMatch::Exact(String::new())),
                ..RequestMatch::default()
            };
            matches.push((never, Vec::new()));
        }
        let rule = Rule {
            id,
            filters,
            backends,
            direct_response: r.direct_response.as_ref().map(|d| {
                (
                    d.status,
                    d.body
                        .as_ref()
                        .and_then(|b| b.string.clone())
                        .unwrap_or_default(),
                )
            }),
            empty_means_parent: false,
        };
        (Arc::new(rule), matches)
    }

    fn resolve_istio_destination(
        &mut self,
        vs: &ObjectRef,
        d: &k8s::IstioDestination,
        route_sticky: Option<&str>,
    ) -> Target {
        let Some(service) = self.resolve_istio_host(&d.host, &vs.namespace) else {
            return Target::Invalid(format!("host {} is not a Service", d.host));
        };
        let Some(data) = self.services.get(&service) else {
            return Target::Invalid(format!("Service {service} not found"));
        };
        let ports: Vec<u16> = data.info.ports.iter().map(|p| p.port).collect();
        let subset = d.subset.as_deref();
        let port = d.port.as_ref().and_then(|p| p.number);
        match (port, ports.as_slice()) {
            (Some(port), _) => match self.backend(&service, port, subset, route_sticky) {
                Ok(b) => Target::Backend(b),
                Err(reason) => Target::Invalid(reason),
            },
            (None, [only]) => match self.backend(&service, *only, subset, route_sticky) {
                Ok(b) => Target::Backend(b),
                Err(reason) => Target::Invalid(reason),
            },
            (None, _) => {
                // Resolved per request from the listener port; build them all now.
                for p in ports {
                    if let Err(reason) = self.backend(&service, p, subset, route_sticky) {
                        return Target::Invalid(reason);
                    }
                }
                Target::ListenerPort(BackendKey {
                    service,
                    port: 0,
                    subset: subset.map(str::to_string),
                    route_sticky: route_sticky.map(str::to_string),
                })
            }
        }
    }
}

fn sticky_annotation(meta: &k8s::Meta) -> Option<String> {
    match meta.annotations.get(STICKY_ANNOTATION).map(String::as_str) {
        None | Some("false") => None,
        Some("true" | "") => Some(DEFAULT_VERSION_LABEL.to_string()),
        Some(label) => Some(label.to_string()),
    }
}

fn gateway_string_match(m: &k8s::NamedMatch) -> Result<StringMatch, String> {
    match m.type_.as_deref().unwrap_or("Exact") {
        "Exact" => Ok(StringMatch::Exact(m.value.clone())),
        "RegularExpression" => Ok(StringMatch::Regex(
            Regex::new(&m.value).map_err(|e| e.to_string())?,
        )),
        other => Err(format!("unsupported match type {other}")),
    }
}

fn istio_string_match(m: &k8s::IstioStringMatch) -> Result<StringMatch, String> {
    Ok(match (&m.exact, &m.prefix, &m.regex) {
        (Some(e), _, _) => StringMatch::Exact(e.clone()),
        (_, Some(p), _) => StringMatch::Prefix(p.clone()),
        (_, _, Some(r)) => StringMatch::Regex(Regex::new(r).map_err(|e| e.to_string())?),
        _ => StringMatch::Present,
    })
}

fn compile_istio_match(m: &k8s::IstioMatch) -> Result<RequestMatch, String> {
    let path = match &m.uri {
        None => None,
        Some(u) => Some(match (&u.exact, &u.prefix, &u.regex) {
            (Some(e), _, _) => PathMatch::Exact(e.clone()),
            (_, Some(p), _) => PathMatch::Prefix(p.clone()),
            (_, _, Some(r)) => PathMatch::Regex(Regex::new(r).map_err(|e| e.to_string())?),
            _ => PathMatch::Prefix("/".to_string()),
        }),
    };
    let named = |map: &BTreeMap<String, k8s::IstioStringMatch>,
                 lower: bool|
     -> Result<Vec<(String, StringMatch)>, String> {
        map.iter()
            .map(|(k, v)| {
                let k = if lower {
                    k.to_ascii_lowercase()
                } else {
                    k.clone()
                };
                Ok((k, istio_string_match(v)?))
            })
            .collect()
    };
    let optional =
        |m: &Option<k8s::IstioStringMatch>| m.as_ref().map(istio_string_match).transpose();
    Ok(RequestMatch {
        path,
        ignore_case: m.ignore_uri_case,
        method: optional(&m.method)?,
        headers: named(&m.headers, true)?,
        without_headers: named(&m.without_headers, true)?,
        query: named(&m.query_params, false)?,
        authority: optional(&m.authority)?,
        scheme: optional(&m.scheme)?,
        port: m.port,
    })
}

fn push_istio_headers(filters: &mut Vec<Filter>, h: &k8s::IstioHeaders) {
    let edits = |ops: &k8s::IstioHeaderOps| {
        let mut e = HeaderEdits::default();
        for (n, v) in &ops.set {
            e.ops.push(HeaderOp::Set(n.to_ascii_lowercase(), v.clone()));
        }
        for (n, v) in &ops.add {
            e.ops.push(HeaderOp::Add(n.to_ascii_lowercase(), v.clone()));
        }
        for n in &ops.remove {
            e.ops.push(HeaderOp::Remove(n.to_ascii_lowercase()));
        }
        e
    };
    if let Some(req) = &h.request {
        filters.push(Filter::RequestHeaders(edits(req)));
    }
    if let Some(resp) = &h.response {
        filters.push(Filter::ResponseHeaders(edits(resp)));
    }
}
