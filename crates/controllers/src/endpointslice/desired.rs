//! What a Service's endpoints should be, from the Service and its pods: pure
//! functions, no IO (upstream `staging/src/k8s.io/endpointslice/utils.go`,
//! `pkg/api/v1/pod` `FindPort`, and the core/v1 Endpoints half of
//! `pkg/controller/endpoint`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort as CorePort, EndpointSubset, Endpoints, ObjectReference, Pod,
    Service, ServicePort,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

/// `kubernetes.io/service-name`: which Service a slice belongs to.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// `endpointslice.kubernetes.io/managed-by`: which controller owns a slice.
pub const LABEL_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// Our value of [`LABEL_MANAGED_BY`], as upstream's controller.
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// Present (empty) on slices and Endpoints of Services without a cluster IP.
pub const LABEL_HEADLESS: &str = "service.kubernetes.io/headless";
/// When the change behind the last write happened (RFC 3339, UTC).
pub const ANNOTATION_TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
/// Set to `truncated` on an Endpoints object holding only [`MAX_ENDPOINTS_CAPACITY`] addresses.
pub const ANNOTATION_OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";
/// Leader-election records live in Endpoints without a Service; never delete them.
pub const ANNOTATION_LEADER: &str = "control-plane.alpha.kubernetes.io/leader";
/// Upstream's cap on addresses in one core/v1 Endpoints object.
pub const MAX_ENDPOINTS_CAPACITY: usize = 1000;

pub const IPV4: &str = "IPv4";
pub const IPV6: &str = "IPv6";

/// Identity of an endpoint inside a slice (upstream's endpoint hash):
/// the same pod with the same addresses is the same endpoint, whatever its
/// conditions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EndpointKey {
    pub namespace: String,
    pub name: String,
    pub addresses: Vec<String>,
    pub hostname: String,
}

/// A set of slice ports, order-insensitive: endpoints with the same resolved
/// ports share slices.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortKey(Vec<(String, i32, String, String)>);

/// The endpoints one address type wants for one set of ports.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub ports: Vec<EndpointPort>,
    pub endpoints: BTreeMap<EndpointKey, Endpoint>,
}

// === Service ===

pub fn is_headless(svc: &Service) -> bool {
    let ip = svc
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.as_deref())
        .unwrap_or("");
    ip.is_empty() || ip == "None"
}

fn cluster_ip_none(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

fn publish_not_ready(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

fn service_ports(svc: &Service) -> &[ServicePort] {
    svc.spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or(&[])
}

/// The Service's selector when this controller manages its endpoints:
/// Services without a selector (endpoints written by hand) and ExternalName
/// Services get nothing from us.
pub fn managed_selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector.as_ref()
}

/// Equality-based selection; an empty selector selects every pod.
pub fn selects(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Address types the Service's slices carry: its IP families; without them
/// (an API server that does not default them) the cluster IP's family, and
/// for headless Services both.
pub fn address_types(svc: &Service) -> Vec<&'static str> {
    let spec = svc.spec.as_ref();
    let mut out = Vec::new();
    for f in spec.and_then(|s| s.ip_families.as_deref()).unwrap_or(&[]) {
        let t = match f.as_str() {
            "IPv4" => IPV4,
            "IPv6" => IPV6,
            _ => continue,
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if !out.is_empty() {
        return out;
    }
    if !is_headless(svc) {
        let ip = spec.and_then(|s| s.cluster_ip.as_deref()).unwrap_or("");
        return vec![if ip.contains(':') { IPV6 } else { IPV4 }];
    }
    vec![IPV4, IPV6]
}

/// Labels of every slice of `svc`: the Service's own labels except the
/// reserved ones, then the reserved ones set by us.
pub fn slice_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = svc
        .metadata
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| {
            ![LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS].contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if is_headless(svc) {
        out.insert(LABEL_HEADLESS.into(), String::new());
    }
    out.insert(
        LABEL_SERVICE_NAME.into(),
        svc.metadata.name.clone().unwrap_or_default(),
    );
    out.insert(LABEL_MANAGED_BY.into(), CONTROLLER_NAME.into());
    out
}

/// The controller reference every slice carries.
pub fn owner_ref(svc: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Whether `slice` names `svc` (this very Service, by UID) as an owner.
pub fn owned_by(slice: &EndpointSlice, svc: &Service) -> bool {
    let uid = svc.metadata.uid.as_deref().unwrap_or("");
    slice
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.uid == uid && o.kind == "Service" && o.api_version == "v1")
}

/// A new, unnamed slice (the API server completes `generateName`).
pub fn new_slice(svc: &Service, ports: &[EndpointPort], address_type: &str) -> EndpointSlice {
    let name = svc.metadata.name.clone().unwrap_or_default();
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(slice_labels(svc)),
            owner_references: Some(vec![owner_ref(svc)]),
            ..Default::default()
        },
        address_type: address_type.into(),
        endpoints: Vec::new(),
        ports: Some(ports.to_vec()),
    }
}

// === Pods ===

pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// The pod's IPs, `status.podIPs` first, `status.podIP` for servers that
/// only fill that.
fn pod_ips(pod: &Pod) -> Vec<String> {
    let Some(status) = pod.status.as_ref() else {
        return Vec::new();
    };
    let ips: Vec<String> = status
        .pod_ips
        .iter()
        .flatten()
        .map(|p| p.ip.clone())
        .filter(|ip| !ip.is_empty())
        .collect();
    if !ips.is_empty() {
        return ips;
    }
    status
        .pod_ip
        .iter()
        .filter(|ip| !ip.is_empty())
        .cloned()
        .collect()
}

/// Upstream `ShouldPodBeInEndpoints`: not finished, has an IP, and not
/// terminating unless terminating pods are wanted.
pub fn should_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    !is_terminal(pod) && !pod_ips(pod).is_empty() && (include_terminating || !is_terminating(pod))
}

/// A pod's hostname is published when it names this Service as subdomain.
fn hostname_for(pod: &Pod, svc: &Service) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let hostname = spec.hostname.as_deref().filter(|h| !h.is_empty())?;
    (spec.subdomain.as_deref() == svc.metadata.name.as_deref()
        && pod.metadata.namespace == svc.metadata.namespace)
        .then(|| hostname.to_string())
}

fn protocol(p: Option<&str>) -> &str {
    p.filter(|p| !p.is_empty()).unwrap_or("TCP")
}

/// Upstream `FindPort`: a numeric targetPort is taken as is; a named one is
/// looked up among the containers' (and sidecars') ports of the same
/// protocol. `None` when the pod has no such port.
pub fn find_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    match port.target_port.as_ref() {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            let spec = pod.spec.as_ref()?;
            let want = protocol(port.protocol.as_deref());
            let sidecars = spec
                .init_containers
                .iter()
                .flatten()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"));
            spec.containers
                .iter()
                .chain(sidecars)
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && protocol(p.protocol.as_deref()) == want
                })
                .map(|p| p.container_port)
        }
    }
}

/// Slice ports of `pod` for `svc`: one per Service port the pod resolves.
pub fn endpoint_ports(svc: &Service, pod: &Pod) -> Vec<EndpointPort> {
    service_ports(svc)
        .iter()
        .filter_map(|sp| {
            let port = find_port(pod, sp)?;
            Some(EndpointPort {
                name: Some(sp.name.clone().unwrap_or_default()),
                port: Some(port),
                protocol: Some(protocol(sp.protocol.as_deref()).to_string()),
                app_protocol: sp.app_protocol.clone(),
            })
        })
        .collect()
}

pub fn port_key(ports: &[EndpointPort]) -> PortKey {
    let mut k: Vec<_> = ports
        .iter()
        .map(|p| {
            (
                p.name.clone().unwrap_or_default(),
                p.port.unwrap_or(0),
                protocol(p.protocol.as_deref()).to_string(),
                p.app_protocol.clone().unwrap_or_default(),
            )
        })
        .collect();
    k.sort();
    PortKey(k)
}

fn target_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

fn is_ipv6(ip: &str) -> bool {
    ip.contains(':')
}

/// Upstream `podToEndpoint`: ready = serving and not terminating (or
/// everything when `publishNotReadyAddresses`), serving = pod Ready,
/// terminating = deletion requested.
pub fn pod_to_endpoint(pod: &Pod, svc: &Service, address_type: &str) -> Endpoint {
    let serving = is_ready(pod);
    let terminating = is_terminating(pod);
    let ready = publish_not_ready(svc) || (serving && !terminating);
    let want_v6 = address_type == IPV6;
    Endpoint {
        addresses: pod_ips(pod)
            .into_iter()
            .filter(|ip| is_ipv6(ip) == want_v6)
            .collect(),
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname: hostname_for(pod, svc),
        node_name: pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty()),
        target_ref: Some(target_ref(pod)),
        ..Default::default()
    }
}

pub fn endpoint_key(ep: &Endpoint) -> EndpointKey {
    let mut addresses = ep.addresses.clone();
    addresses.sort();
    let r = ep.target_ref.as_ref();
    EndpointKey {
        namespace: r.and_then(|r| r.namespace.clone()).unwrap_or_default(),
        name: r.and_then(|r| r.name.clone()).unwrap_or_default(),
        addresses,
        hostname: ep.hostname.clone().unwrap_or_default(),
    }
}

/// Whether a stored endpoint already says what `want` says, comparing only
/// the fields this controller writes (the server may add others).
pub fn endpoint_matches(want: &Endpoint, have: &Endpoint) -> bool {
    let cond = |e: &Endpoint| {
        let c = e.conditions.clone().unwrap_or_default();
        (c.ready, c.serving, c.terminating)
    };
    let tref = |e: &Endpoint| {
        e.target_ref.as_ref().map(|r| {
            (
                r.kind.clone(),
                r.namespace.clone(),
                r.name.clone(),
                r.uid.clone(),
            )
        })
    };
    cond(want) == cond(have)
        && want.node_name == have.node_name
        && want.hostname == have.hostname
        && tref(want) == tref(have)
}

/// The endpoints `svc` wants for one address type, grouped by resolved
/// ports. Terminating pods are included (with their conditions) so that
/// consumers can drain them.
pub fn desired_groups(
    svc: &Service,
    pods: &[&Pod],
    address_type: &str,
) -> BTreeMap<PortKey, Group> {
    let mut out: BTreeMap<PortKey, Group> = BTreeMap::new();
    for pod in pods {
        if !should_be_in_endpoints(pod, true) {
            continue;
        }
        // A headless Service may have no ports; others resolve theirs.
        let ports = if service_ports(svc).is_empty() && cluster_ip_none(svc) {
            Vec::new()
        } else {
            endpoint_ports(svc, pod)
        };
        let ep = pod_to_endpoint(pod, svc, address_type);
        let group = out.entry(port_key(&ports)).or_insert_with(|| Group {
            ports,
            endpoints: BTreeMap::new(),
        });
        if !ep.addresses.is_empty() {
            group.endpoints.insert(endpoint_key(&ep), ep);
        }
    }
    // A port set whose pods all lack an address of this type wants nothing.
    out.retain(|_, g| !g.endpoints.is_empty());
    out
}

// === core/v1 Endpoints ===

/// The address family core/v1 Endpoints publish for `svc` (its first IP
/// family, else its cluster IP's, else the pod's own).
fn endpoints_family_v6(svc: &Service, pod: &Pod) -> bool {
    let spec = svc.spec.as_ref();
    if let Some(f) = spec
        .and_then(|s| s.ip_families.as_ref())
        .and_then(|f| f.first())
    {
        return f == "IPv6";
    }
    if !is_headless(svc) {
        return spec
            .and_then(|s| s.cluster_ip.as_deref())
            .is_some_and(is_ipv6);
    }
    pod_ips(pod).first().is_some_and(|ip| is_ipv6(ip))
}

fn endpoint_address(svc: &Service, pod: &Pod) -> Option<EndpointAddress> {
    let v6 = endpoints_family_v6(svc, pod);
    let ip = pod_ips(pod).into_iter().find(|ip| is_ipv6(ip) == v6)?;
    Some(EndpointAddress {
        ip,
        hostname: hostname_for(pod, svc),
        node_name: pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty()),
        target_ref: Some(target_ref(pod)),
    })
}

type AddrKey = (String, String, String);
/// A core/v1 port, comparable: name, port, protocol, appProtocol.
type CorePortKey = (String, i32, String, String);

fn addr_key(a: &EndpointAddress) -> AddrKey {
    let r = a.target_ref.as_ref();
    (
        a.ip.clone(),
        r.and_then(|r| r.uid.clone()).unwrap_or_default(),
        r.and_then(|r| r.name.clone()).unwrap_or_default(),
    )
}

fn core_port_key(p: &CorePort) -> CorePortKey {
    (
        p.name.clone().unwrap_or_default(),
        p.port,
        protocol(p.protocol.as_deref()).to_string(),
        p.app_protocol.clone().unwrap_or_default(),
    )
}

/// Upstream `RepackSubsets`, deterministically: addresses that share a set
/// of ports share a subset; subsets, addresses and ports in a stable order.
/// Input: (address, ready, port) triples, `None` port for a portless
/// headless Service.
fn repack(entries: Vec<(EndpointAddress, bool, Option<CorePort>)>) -> Vec<EndpointSubset> {
    // address → (ready, ports)
    let mut by_addr: BTreeMap<AddrKey, (EndpointAddress, bool, BTreeMap<_, CorePort>)> =
        BTreeMap::new();
    for (addr, ready, port) in entries {
        let e = by_addr
            .entry(addr_key(&addr))
            .or_insert_with(|| (addr, ready, BTreeMap::new()));
        if let Some(p) = port {
            e.2.insert(core_port_key(&p), p);
        }
    }
    // port set → (ready addresses, not-ready addresses)
    type Addrs = BTreeMap<AddrKey, EndpointAddress>;
    let mut by_ports: BTreeMap<Vec<CorePortKey>, (Vec<CorePort>, Addrs, Addrs)> = BTreeMap::new();
    for (k, (addr, ready, ports)) in by_addr {
        let key: Vec<_> = ports.keys().cloned().collect();
        let e = by_ports
            .entry(key)
            .or_insert_with(|| (ports.into_values().collect(), Addrs::new(), Addrs::new()));
        if ready {
            e.1.insert(k, addr);
        } else {
            e.2.insert(k, addr);
        }
    }
    by_ports
        .into_values()
        .map(|(ports, ready, not_ready)| EndpointSubset {
            addresses: (!ready.is_empty()).then(|| ready.into_values().collect()),
            not_ready_addresses: (!not_ready.is_empty()).then(|| not_ready.into_values().collect()),
            ports: (!ports.is_empty()).then_some(ports),
        })
        .collect()
}

/// The subsets of `svc`'s core/v1 Endpoints object (upstream
/// `syncService` of the endpoints controller): terminating pods are left
/// out unless `publishNotReadyAddresses`, which also marks every address
/// ready.
pub fn desired_subsets(svc: &Service, pods: &[&Pod]) -> Vec<EndpointSubset> {
    let tolerate = publish_not_ready(svc);
    let mut entries = Vec::new();
    for pod in pods {
        if !should_be_in_endpoints(pod, tolerate) {
            continue;
        }
        let Some(addr) = endpoint_address(svc, pod) else {
            continue;
        };
        let ready = tolerate || is_ready(pod);
        if service_ports(svc).is_empty() {
            if cluster_ip_none(svc) {
                entries.push((addr, ready, None));
            }
            continue;
        }
        for sp in service_ports(svc) {
            let Some(port) = find_port(pod, sp) else {
                continue;
            };
            let p = CorePort {
                name: sp.name.clone(),
                port,
                protocol: Some(protocol(sp.protocol.as_deref()).to_string()),
                app_protocol: sp.app_protocol.clone(),
            };
            entries.push((addr.clone(), ready, Some(p)));
        }
    }
    repack(entries)
}

/// Stored subsets in the canonical form [`desired_subsets`] produces, so
/// that equal content compares equal whatever order the server kept.
fn canonical(subsets: &[EndpointSubset]) -> Vec<EndpointSubset> {
    let mut entries = Vec::new();
    let strip = |a: &EndpointAddress| {
        let mut a = a.clone();
        if let Some(r) = a.target_ref.as_mut() {
            r.resource_version = None;
        }
        a
    };
    for s in subsets {
        let ports: Vec<Option<CorePort>> = match s.ports.as_deref() {
            Some(p) if !p.is_empty() => p
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    p.protocol = Some(protocol(p.protocol.as_deref()).to_string());
                    Some(p)
                })
                .collect(),
            _ => vec![None],
        };
        for (list, ready) in [(&s.addresses, true), (&s.not_ready_addresses, false)] {
            for a in list.iter().flatten() {
                for p in &ports {
                    entries.push((strip(a), ready, p.clone()));
                }
            }
        }
    }
    repack(entries)
}

fn count(subsets: &[EndpointSubset]) -> usize {
    subsets
        .iter()
        .map(|s| {
            s.addresses.as_ref().map_or(0, Vec::len)
                + s.not_ready_addresses.as_ref().map_or(0, Vec::len)
        })
        .sum()
}

/// Upstream `truncateEndpoints`: keep at most [`MAX_ENDPOINTS_CAPACITY`]
/// addresses, ready ones first, spread over subsets in proportion. Returns
/// whether anything was cut.
pub fn truncate(subsets: &mut [EndpointSubset]) -> bool {
    let ready: usize = subsets
        .iter()
        .map(|s| s.addresses.as_ref().map_or(0, Vec::len))
        .sum();
    let not_ready = count(subsets) - ready;
    if ready + not_ready <= MAX_ENDPOINTS_CAPACITY {
        return false;
    }
    let cut_ready = ready > MAX_ENDPOINTS_CAPACITY;
    let (max, total) = if cut_ready {
        (MAX_ENDPOINTS_CAPACITY, ready)
    } else {
        (MAX_ENDPOINTS_CAPACITY - ready, not_ready)
    };
    let mut room = max;
    for s in subsets.iter_mut() {
        let list = if cut_ready {
            s.not_ready_addresses = None;
            &mut s.addresses
        } else {
            &mut s.not_ready_addresses
        };
        let n = list.as_ref().map_or(0, Vec::len);
        // Rounded up, so the last subsets may get less than their share.
        let share = (n * max).div_ceil(total.max(1)).min(room);
        if let Some(l) = list.as_mut() {
            l.truncate(share);
            room -= l.len();
            if l.is_empty() {
                *list = None;
            }
        }
    }
    true
}

/// The Endpoints object to write for `svc`, or `None` when `current`
/// already says it all (minimal writes). `trigger` is the change time to
/// publish in the annotation, when known.
pub fn endpoints_update(
    svc: &Service,
    pods: &[&Pod],
    current: Option<&Endpoints>,
    trigger: Option<Timestamp>,
) -> Option<Endpoints> {
    let mut subsets = desired_subsets(svc, pods);
    let truncated = truncate(&mut subsets);
    let mut labels: BTreeMap<String, String> = svc.metadata.labels.clone().unwrap_or_default();
    if is_headless(svc) {
        labels.insert(LABEL_HEADLESS.into(), String::new());
    } else {
        labels.remove(LABEL_HEADLESS);
    }
    if let Some(cur) = current {
        let same_subsets = canonical(cur.subsets.as_deref().unwrap_or(&[])) == subsets;
        let same_labels = cur.metadata.labels.clone().unwrap_or_default() == labels;
        let has_over = cur
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(ANNOTATION_OVER_CAPACITY));
        if same_subsets && same_labels && has_over == truncated {
            return None;
        }
    }
    let mut meta = match current {
        Some(cur) => cur.metadata.clone(),
        None => ObjectMeta {
            name: svc.metadata.name.clone(),
            namespace: svc.metadata.namespace.clone(),
            ..Default::default()
        },
    };
    meta.labels = Some(labels);
    let mut ann = meta.annotations.take().unwrap_or_default();
    match trigger {
        Some(t) => {
            ann.insert(ANNOTATION_TRIGGER_TIME.into(), format_time(t));
        }
        None => {
            ann.remove(ANNOTATION_TRIGGER_TIME);
        }
    }
    if truncated {
        ann.insert(ANNOTATION_OVER_CAPACITY.into(), "truncated".into());
    } else {
        ann.remove(ANNOTATION_OVER_CAPACITY);
    }
    meta.annotations = (!ann.is_empty()).then_some(ann);
    Some(Endpoints {
        metadata: meta,
        subsets: (!subsets.is_empty()).then_some(subsets),
    })
}

/// RFC 3339 in UTC with as many fractional digits as needed (Go's
/// `RFC3339Nano`).
pub fn format_time(t: Timestamp) -> String {
    t.to_string()
}

/// Set or clear the trigger-time annotation on a slice about to be written.
pub fn set_trigger_annotation(meta: &mut ObjectMeta, trigger: Option<Timestamp>) {
    let mut ann = meta.annotations.take().unwrap_or_default();
    match trigger {
        Some(t) => {
            ann.insert(ANNOTATION_TRIGGER_TIME.into(), format_time(t));
        }
        None => {
            ann.remove(ANNOTATION_TRIGGER_TIME);
        }
    }
    meta.annotations = Some(ann);
}

/// Names of the pods a slice lists (for mapping pod events to Services).
pub fn slice_pods(slice: &EndpointSlice) -> BTreeSet<&str> {
    slice
        .endpoints
        .iter()
        .filter_map(|e| e.target_ref.as_ref())
        .filter(|r| r.kind.as_deref() == Some("Pod"))
        .filter_map(|r| r.name.as_deref())
        .collect()
}

#[cfg(test)]
#[path = "desired_tests.rs"]
pub(crate) mod tests;
