//! Defaulting as a kube-apiserver applies it on decode (pkg/apis/*/v1
//! `SetDefaults_*` plus the generated `+default` markers), the v1 conversion
//! round trip (serviceAccount alias, stringData, podIP/podIPs), the default
//! admission plugins that mutate Pods (ServiceAccount without the token
//! volume, DefaultTolerationSeconds, Priority), and the struct fields Go always
//! serialises (`resources: {}`, template `creationTimestamp: null`), so stored
//! objects read back exactly like a real cluster's.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::image::default_pull_policy;
use super::quantity;
use super::service::externally_accessible;
use super::val::{each_obj_mut, ensure_obj, get, is_zero, set_default};
use super::{names, pod, val};

pub(crate) fn apply(group: &str, kind: &str, obj: &mut Value) {
    let Some(o) = obj.as_object_mut() else {
        return;
    };
    match (group, kind) {
        ("apps", "Deployment") => deployment(o),
        ("apps", "ReplicaSet") => replica_set(o),
        ("", "Pod") => pod_object(o),
        ("", "Service") => service(o),
        ("", "Namespace") => namespace(o),
        ("", "Secret") => secret(o),
        ("", "Endpoints") => endpoints(o),
        ("discovery.k8s.io", "EndpointSlice") => endpoint_slice(o),
        ("", "Event") => event(o),
        ("", "Node") => node(o),
        _ => {}
    }
}

pub(crate) fn initial_status(group: &str, kind: &str, obj: &Value) -> Option<Value> {
    match (group, kind) {
        ("", "Pod") => Some(json!({"phase": "Pending", "qosClass": pod::qos_class(obj)})),
        ("", "Namespace") => Some(json!({"phase": "Active"})),
        ("", "Service") => Some(json!({"loadBalancer": {}})),
        ("apps", "Deployment") => Some(json!({})),
        // ReplicaSetStatus.replicas has no omitempty, so a fresh RS shows 0.
        ("apps", "ReplicaSet") => Some(json!({"replicas": 0})),
        _ => None,
    }
}

pub(crate) fn prepare_for_create(group: &str, kind: &str, obj: &mut Value) {
    if (group, kind) != ("", "Namespace") {
        return;
    }
    let Some(spec) = obj.as_object_mut().and_then(|o| ensure_obj(o, "spec")) else {
        return;
    };
    let fin = spec
        .entry("finalizers")
        .or_insert_with(|| Value::Array(Vec::new()));
    if fin.is_null() {
        *fin = Value::Array(Vec::new());
    }
    if let Some(a) = fin.as_array_mut() {
        if !a.iter().any(|f| f == "kubernetes") {
            a.push(json!("kubernetes"));
        }
    }
}

pub(crate) fn prepare_for_update(group: &str, kind: &str, obj: &mut Value, old: &Value) {
    match (group, kind) {
        ("", "Namespace") => {
            let Some(spec) = obj.as_object_mut().and_then(|o| ensure_obj(o, "spec")) else {
                return;
            };
            match get(val::path(old, &["spec"]), "finalizers") {
                Some(f) => {
                    spec.insert("finalizers".into(), f.clone());
                }
                None => {
                    spec.remove("finalizers");
                }
            }
        }
        ("", "Service") => service_prepare_for_update(obj, old),
        _ => {}
    }
}

// === workloads ===

fn deployment(o: &mut Map<String, Value>) {
    let Some(spec) = ensure_obj(o, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    if let Some(strategy) = ensure_obj(spec, "strategy") {
        if is_zero(strategy, "type") {
            strategy.insert("type".into(), json!("RollingUpdate"));
        }
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
            if let Some(ru) = ensure_obj(strategy, "rollingUpdate") {
                set_default(ru, "maxUnavailable", json!("25%"));
                set_default(ru, "maxSurge", json!("25%"));
            }
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    template(spec);
}

fn replica_set(o: &mut Map<String, Value>) {
    let Some(spec) = ensure_obj(o, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    template(spec);
}

/// A pod template: PodSpec defaults only (no Pod-level or admission defaults).
fn template(spec: &mut Map<String, Value>) {
    let Some(t) = ensure_obj(spec, "template") else {
        return;
    };
    if let Some(m) = ensure_obj(t, "metadata") {
        // metav1.Time has no omitempty form in 1.32: the zero value prints as null.
        m.entry("creationTimestamp").or_insert(Value::Null);
    }
    if let Some(ps) = ensure_obj(t, "spec") {
        pod_spec(ps);
    }
}

fn pod_object(o: &mut Map<String, Value>) {
    let mirror = val::obj(&Value::Object(o.clone()), "metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get("kubernetes.io/config.mirror"))
        .is_some();
    let Some(spec) = ensure_obj(o, "spec") else {
        return;
    };
    // SetDefaults_Pod runs before the PodSpec defaults.
    for key in ["containers", "initContainers"] {
        for c in each_obj_mut(spec, key) {
            requests_from_limits(c);
        }
    }
    set_default(spec, "enableServiceLinks", json!(true));
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for key in ["containers", "initContainers"] {
            for c in each_obj_mut(spec, key) {
                for p in each_obj_mut(c, "ports") {
                    if is_zero(p, "hostPort") {
                        let cp = p.get("containerPort").cloned().unwrap_or(json!(0));
                        p.insert("hostPort".into(), cp);
                    }
                }
            }
        }
    }
    pod_spec(spec);
    // Admission: ServiceAccount (without the kube-api-access volume).
    if !mirror && val::s(&Value::Object(spec.clone()), "serviceAccountName").is_empty() {
        spec.insert("serviceAccountName".into(), json!("default"));
        spec.insert("serviceAccount".into(), json!("default"));
    }
    default_tolerations(spec);
    // Admission: Priority, with no cluster default PriorityClass.
    if !spec.contains_key("priority") || spec["priority"].is_null() {
        let priority = match spec.get("priorityClassName").and_then(Value::as_str) {
            None | Some("") => Some(0),
            Some("system-node-critical") => Some(2_000_001_000),
            Some("system-cluster-critical") => Some(2_000_000_000),
            Some(_) => None,
        };
        if let Some(p) = priority {
            spec.insert("priority".into(), json!(p));
        }
    }
    set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    if let Some(status) = o.get_mut("status").and_then(Value::as_object_mut) {
        sync_ips(status, "podIP", "podIPs");
        sync_ips(status, "hostIP", "hostIPs");
    }
}

/// v1 ↔ internal conversion keeps the singular field equal to the first
/// element of the plural one (the singular wins when they disagree).
fn sync_ips(status: &mut Map<String, Value>, single: &str, plural: &str) {
    let one = status
        .get(single)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let first = status
        .get(plural)
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .map(|x| val::s(x, "ip").to_string());
    match first {
        Some(f) if !one.is_empty() && f != one => {
            status.insert(plural.into(), json!([{ "ip": one }]));
        }
        None if !one.is_empty() => {
            status.insert(plural.into(), json!([{ "ip": one }]));
        }
        Some(f) if one.is_empty() => {
            status.insert(single.into(), json!(f));
        }
        _ => {}
    }
}

/// DefaultTolerationSeconds admission: tolerate not-ready/unreachable
/// NoExecute taints for 300s unless the pod already tolerates them.
fn default_tolerations(spec: &mut Map<String, Value>) {
    let tols: Vec<Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let tolerates = |taint: &str| {
        tols.iter().any(|t| {
            let key = val::s(t, "key");
            let effect = val::s(t, "effect");
            (key == taint || key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        })
    };
    let mut add = Vec::new();
    for taint in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        if !tolerates(taint) {
            add.push(json!({
                "key": taint,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300
            }));
        }
    }
    if add.is_empty() {
        return;
    }
    let mut all = tols;
    all.extend(add);
    spec.insert("tolerations".into(), Value::Array(all));
}

fn requests_from_limits(c: &mut Map<String, Value>) {
    let Some(res) = c.get_mut("resources").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let Some(req) = ensure_obj(res, "requests") else {
        return;
    };
    for (k, v) in limits {
        req.entry(k).or_insert(v);
    }
}

/// SetDefaults_PodSpec and everything nested under it.
pub(crate) fn pod_spec(spec: &mut Map<String, Value>) {
    if is_zero(spec, "dnsPolicy") {
        spec.insert("dnsPolicy".into(), json!("ClusterFirst"));
    }
    if is_zero(spec, "restartPolicy") {
        spec.insert("restartPolicy".into(), json!("Always"));
    }
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    if is_zero(spec, "schedulerName") {
        spec.insert("schedulerName".into(), json!("default-scheduler"));
    }
    // Conversion: serviceAccount is an alias of serviceAccountName.
    let sa_name = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let sa = spec
        .get("serviceAccount")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let effective = if sa_name.is_empty() { sa } else { sa_name };
    if effective.is_empty() {
        spec.remove("serviceAccount");
    } else {
        spec.insert("serviceAccountName".into(), json!(effective));
        spec.insert("serviceAccount".into(), json!(effective));
    }
    for v in each_obj_mut(spec, "volumes") {
        volume(v);
    }
    for key in ["initContainers", "containers", "ephemeralContainers"] {
        for c in each_obj_mut(spec, key) {
            container(c);
        }
    }
    if let Some(overhead) = spec.get_mut("overhead").and_then(Value::as_object_mut) {
        resource_list(overhead);
    }
}

fn container(c: &mut Map<String, Value>) {
    if is_zero(c, "imagePullPolicy") {
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        let policy = default_pull_policy(image);
        c.insert("imagePullPolicy".into(), json!(policy));
    }
    if is_zero(c, "terminationMessagePath") {
        c.insert(
            "terminationMessagePath".into(),
            json!("/dev/termination-message"),
        );
    }
    if is_zero(c, "terminationMessagePolicy") {
        c.insert("terminationMessagePolicy".into(), json!("File"));
    }
    for p in each_obj_mut(c, "ports") {
        if is_zero(p, "protocol") {
            p.insert("protocol".into(), json!("TCP"));
        }
    }
    for e in each_obj_mut(c, "env") {
        if let Some(fr) = e
            .get_mut("valueFrom")
            .and_then(|v| v.get_mut("fieldRef"))
            .and_then(Value::as_object_mut)
        {
            field_ref(fr);
        }
    }
    // ResourceRequirements is a struct: Go always prints it, even empty.
    if let Some(res) = ensure_obj(c, "resources") {
        for key in ["limits", "requests"] {
            if let Some(list) = res.get_mut(key).and_then(Value::as_object_mut) {
                resource_list(list);
            }
        }
    }
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(key).and_then(Value::as_object_mut) {
            probe(p);
        }
    }
    if let Some(lc) = c.get_mut("lifecycle").and_then(Value::as_object_mut) {
        for key in ["postStart", "preStop"] {
            if let Some(h) = lc
                .get_mut(key)
                .and_then(|h| h.get_mut("httpGet"))
                .and_then(Value::as_object_mut)
            {
                http_get(h);
            }
        }
    }
}

fn field_ref(fr: &mut Map<String, Value>) {
    if is_zero(fr, "apiVersion") {
        fr.insert("apiVersion".into(), json!("v1"));
    }
}

fn probe(p: &mut Map<String, Value>) {
    for (key, default) in [
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ] {
        if is_zero(p, key) {
            p.insert(key.into(), json!(default));
        }
    }
    if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
        http_get(h);
    }
    if let Some(g) = p.get_mut("grpc").and_then(Value::as_object_mut) {
        set_default(g, "service", json!(""));
    }
}

fn http_get(h: &mut Map<String, Value>) {
    if is_zero(h, "path") {
        h.insert("path".into(), json!("/"));
    }
    if is_zero(h, "scheme") {
        h.insert("scheme".into(), json!("HTTP"));
    }
}

/// SetDefaults_ResourceList: round up to milli and store in canonical form.
fn resource_list(list: &mut Map<String, Value>) {
    for (_, v) in list.iter_mut() {
        if let Some(q) = quantity::from_json(v) {
            *v = json!(q.round_up_milli().canonical());
        }
    }
}

const VOLUME_DEFAULT_MODE: i64 = 0o644;

fn volume(v: &mut Map<String, Value>) {
    let has_source = v.iter().any(|(k, x)| k != "name" && !x.is_null());
    if !has_source {
        v.insert("emptyDir".into(), json!({}));
    }
    if let Some(hp) = v.get_mut("hostPath").and_then(Value::as_object_mut) {
        set_default(hp, "type", json!(""));
    }
    for key in ["secret", "configMap"] {
        if let Some(s) = v.get_mut(key).and_then(Value::as_object_mut) {
            set_default(s, "defaultMode", json!(VOLUME_DEFAULT_MODE));
        }
    }
    if let Some(d) = v.get_mut("downwardAPI").and_then(Value::as_object_mut) {
        set_default(d, "defaultMode", json!(VOLUME_DEFAULT_MODE));
        downward_items(d);
    }
    if let Some(p) = v.get_mut("projected").and_then(Value::as_object_mut) {
        set_default(p, "defaultMode", json!(VOLUME_DEFAULT_MODE));
        for src in each_obj_mut(p, "sources") {
            if let Some(d) = src.get_mut("downwardAPI").and_then(Value::as_object_mut) {
                downward_items(d);
            }
            if let Some(t) = src
                .get_mut("serviceAccountToken")
                .and_then(Value::as_object_mut)
            {
                set_default(t, "expirationSeconds", json!(3600));
            }
        }
    }
    if let Some(s) = v.get_mut("iscsi").and_then(Value::as_object_mut) {
        if is_zero(s, "iscsiInterface") {
            s.insert("iscsiInterface".into(), json!("default"));
        }
    }
    if let Some(s) = v.get_mut("rbd").and_then(Value::as_object_mut) {
        for (k, d) in [
            ("pool", "rbd"),
            ("user", "admin"),
            ("keyring", "/etc/ceph/keyring"),
        ] {
            if is_zero(s, k) {
                s.insert(k.into(), json!(d));
            }
        }
    }
    if let Some(s) = v.get_mut("azureDisk").and_then(Value::as_object_mut) {
        set_default(s, "cachingMode", json!("ReadWrite"));
        set_default(s, "fsType", json!("ext4"));
        set_default(s, "readOnly", json!(false));
        set_default(s, "kind", json!("Shared"));
    }
    if let Some(s) = v.get_mut("scaleIO").and_then(Value::as_object_mut) {
        if is_zero(s, "storageMode") {
            s.insert("storageMode".into(), json!("ThinProvisioned"));
        }
        if is_zero(s, "fsType") {
            s.insert("fsType".into(), json!("xfs"));
        }
    }
    if let Some(t) = v
        .get_mut("ephemeral")
        .and_then(|e| e.get_mut("volumeClaimTemplate"))
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        set_default(t, "volumeMode", json!("Filesystem"));
    }
}

fn downward_items(d: &mut Map<String, Value>) {
    for item in each_obj_mut(d, "items") {
        if let Some(fr) = item.get_mut("fieldRef").and_then(Value::as_object_mut) {
            field_ref(fr);
        }
    }
}

// === Service ===

fn service(o: &mut Map<String, Value>) {
    let Some(spec) = ensure_obj(o, "spec") else {
        return;
    };
    if is_zero(spec, "sessionAffinity") {
        spec.insert("sessionAffinity".into(), json!("None"));
    }
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some("None") => {
            spec.remove("sessionAffinityConfig");
        }
        Some("ClientIP") => {
            let has_timeout = val::path(
                &Value::Object(spec.clone()),
                &["sessionAffinityConfig", "clientIP", "timeoutSeconds"],
            )
            .is_number();
            if !has_timeout {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": 10800}}),
                );
            }
        }
        _ => {}
    }
    if is_zero(spec, "type") {
        spec.insert("type".into(), json!("ClusterIP"));
    }
    for p in each_obj_mut(spec, "ports") {
        if is_zero(p, "protocol") {
            p.insert("protocol".into(), json!("TCP"));
        }
        if is_zero(p, "targetPort") {
            let port = p.get("port").cloned().unwrap_or(json!(0));
            p.insert("targetPort".into(), port);
        }
    }
    let snapshot = Value::Object(spec.clone());
    let ty = val::s(&snapshot, "type").to_string();
    if externally_accessible(&snapshot) && is_zero(spec, "externalTrafficPolicy") {
        spec.insert("externalTrafficPolicy".into(), json!("Cluster"));
    }
    if matches!(ty.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if ty != "ExternalName" {
        ip_family_fields(spec);
    }
    if ty == "LoadBalancer" {
        if let Some(lb) = o
            .get_mut("status")
            .and_then(|s| s.get_mut("loadBalancer"))
            .and_then(Value::as_object_mut)
        {
            for ing in each_obj_mut(lb, "ingress") {
                if !is_zero(ing, "ip") {
                    set_default(ing, "ipMode", json!("VIP"));
                }
            }
        }
    }
}

fn family_of(ip: &str) -> Option<&'static str> {
    names::parse_ip(ip).map(|a| if a.is_ipv4() { "IPv4" } else { "IPv6" })
}

/// The create half of `NormalizeClusterIPs` and `initIPFamilyFields` for a
/// single-stack IPv4 cluster.
fn ip_family_fields(spec: &mut Map<String, Value>) {
    let cluster_ip = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let has_ips = spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !cluster_ip.is_empty() && !has_ips {
        spec.insert("clusterIPs".into(), json!([cluster_ip]));
    }
    let snapshot = Value::Object(spec.clone());
    let selectorless = val::obj(&snapshot, "selector").is_none_or(Map::is_empty);
    let headless_selectorless = cluster_ip == "None" && selectorless;
    if !val::has(&snapshot, "ipFamilyPolicy") {
        let policy = if headless_selectorless {
            "RequireDualStack"
        } else {
            "SingleStack"
        };
        spec.insert("ipFamilyPolicy".into(), json!(policy));
    }
    let mut families: Vec<Value> = val::arr(&snapshot, "ipFamilies").to_vec();
    for (i, ip) in val::arr(&snapshot, "clusterIPs").iter().enumerate() {
        let ip = ip.as_str().unwrap_or("");
        if ip == "None" {
            break;
        }
        if i >= families.len() {
            match family_of(ip) {
                Some(f) => families.push(json!(f)),
                None => break,
            }
        }
    }
    if families.is_empty() {
        families.push(json!("IPv4"));
    }
    let policy = spec
        .get("ipFamilyPolicy")
        .and_then(Value::as_str)
        .unwrap_or("");
    if headless_selectorless && families.len() < 2 && policy != "SingleStack" {
        let other = if families[0] == "IPv4" {
            "IPv6"
        } else {
            "IPv4"
        };
        families.push(json!(other));
    }
    spec.insert("ipFamilies".into(), Value::Array(families));
}

fn service_prepare_for_update(obj: &mut Value, old: &Value) {
    let old_spec = val::path(old, &["spec"]).clone();
    let Some(o) = obj.as_object_mut() else {
        return;
    };
    let Some(spec) = ensure_obj(o, "spec") else {
        return;
    };
    let needs_cluster_ip = |s: &Value| val::s(s, "type") != "ExternalName";
    let needs_node_port = |s: &Value| match val::s(s, "type") {
        "NodePort" => true,
        "LoadBalancer" => val::boolean(s, "allocateLoadBalancerNodePorts") != Some(false),
        _ => false,
    };
    let needs_hc = |s: &Value| {
        val::s(s, "type") == "LoadBalancer" && val::s(s, "externalTrafficPolicy") == "Local"
    };
    let node_ports = |s: &Value| -> Vec<i64> {
        val::arr(s, "ports")
            .iter()
            .map(|p| val::int0(p, "nodePort"))
            .filter(|n| *n != 0)
            .collect()
    };

    // patchAllocatedValues
    let cur = Value::Object(spec.clone());
    if needs_cluster_ip(&old_spec) && needs_cluster_ip(&cur) {
        if val::s(&cur, "clusterIP").is_empty() && val::has(&old_spec, "clusterIP") {
            spec.insert("clusterIP".into(), old_spec["clusterIP"].clone());
        }
        if val::arr(&cur, "clusterIPs").is_empty() && !val::arr(&old_spec, "clusterIPs").is_empty()
        {
            spec.insert("clusterIPs".into(), old_spec["clusterIPs"].clone());
        }
    }
    if needs_node_port(&old_spec) && needs_node_port(&cur) {
        let new_used = node_ports(&cur);
        let used: Vec<i64> = node_ports(&old_spec)
            .into_iter()
            .filter(|n| new_used.contains(n))
            .collect();
        let by_name: Vec<(String, i64)> = val::arr(&old_spec, "ports")
            .iter()
            .map(|p| (val::s(p, "name").to_string(), val::int0(p, "nodePort")))
            .collect();
        for p in each_obj_mut(spec, "ports") {
            if is_zero(p, "nodePort") {
                let name = p.get("name").and_then(Value::as_str).unwrap_or("");
                let old_val = by_name
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| *v)
                    .unwrap_or(0);
                if old_val != 0 && !used.contains(&old_val) {
                    p.insert("nodePort".into(), json!(old_val));
                }
            }
        }
    }
    let cur = Value::Object(spec.clone());
    if needs_hc(&old_spec) && needs_hc(&cur) && val::int0(&cur, "healthCheckNodePort") == 0 {
        if let Some(v) = get(&old_spec, "healthCheckNodePort") {
            spec.insert("healthCheckNodePort".into(), v.clone());
        }
    }

    // NormalizeClusterIPs (update)
    let cur = Value::Object(spec.clone());
    let same_ips = |a: &Value, b: &Value| val::arr(a, "clusterIPs") == val::arr(b, "clusterIPs");
    if !val::arr(&old_spec, "clusterIPs").is_empty()
        && val::arr(&cur, "clusterIPs").is_empty()
        && val::s(&old_spec, "clusterIP") == val::s(&cur, "clusterIP")
    {
        spec.insert("clusterIPs".into(), old_spec["clusterIPs"].clone());
    }
    let cur = Value::Object(spec.clone());
    let (old_ip, new_ip) = (val::s(&old_spec, "clusterIP"), val::s(&cur, "clusterIP"));
    if old_ip != new_ip {
        if !old_ip.is_empty() && new_ip.is_empty() && same_ips(&old_spec, &cur) {
            spec.remove("clusterIPs");
        }
        if !new_ip.is_empty() && same_ips(&old_spec, &cur) {
            spec.insert("clusterIPs".into(), json!([new_ip]));
        }
    }

    // dropTypeDependentFields
    let cur = Value::Object(spec.clone());
    if needs_cluster_ip(&old_spec) && !needs_cluster_ip(&cur) {
        if same_ips(&old_spec, &cur) {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
        if val::arr(&old_spec, "ipFamilies") == val::arr(&cur, "ipFamilies") {
            spec.remove("ipFamilies");
        }
        if get(&old_spec, "ipFamilyPolicy") == get(&cur, "ipFamilyPolicy") {
            spec.remove("ipFamilyPolicy");
        }
    }
    if needs_node_port(&old_spec) && !needs_node_port(&cur) {
        let old_ports = node_ports(&old_spec);
        if node_ports(&cur).iter().all(|n| old_ports.contains(n)) {
            for p in each_obj_mut(spec, "ports") {
                p.remove("nodePort");
            }
        }
    }
    if needs_hc(&old_spec)
        && !needs_hc(&cur)
        && val::int0(&old_spec, "healthCheckNodePort") == val::int0(&cur, "healthCheckNodePort")
    {
        spec.remove("healthCheckNodePort");
    }
    let (old_ty, new_ty) = (val::s(&old_spec, "type"), val::s(&cur, "type"));
    if old_ty == "LoadBalancer" && new_ty != "LoadBalancer" {
        if let (Some(a), Some(b)) = (
            val::boolean(&old_spec, "allocateLoadBalancerNodePorts"),
            val::boolean(&cur, "allocateLoadBalancerNodePorts"),
        ) {
            if a == b {
                spec.remove("allocateLoadBalancerNodePorts");
            }
        }
        if get(&old_spec, "loadBalancerClass") == get(&cur, "loadBalancerClass") {
            spec.remove("loadBalancerClass");
        }
    }
    if externally_accessible(&old_spec)
        && !externally_accessible(&cur)
        && val::s(&old_spec, "externalTrafficPolicy") == val::s(&cur, "externalTrafficPolicy")
    {
        spec.remove("externalTrafficPolicy");
    }
    if new_ty != "LoadBalancer" {
        if let Some(status) = o.get_mut("status").and_then(Value::as_object_mut) {
            status.insert("loadBalancer".into(), json!({}));
        }
    }
}

// === other core kinds ===

fn namespace(o: &mut Map<String, Value>) {
    let name = val::path(&Value::Object(o.clone()), &["metadata", "name"])
        .as_str()
        .unwrap_or("")
        .to_string();
    let deleting = val::has(
        val::path(&Value::Object(o.clone()), &["metadata"]),
        "deletionTimestamp",
    );
    if !name.is_empty() {
        if let Some(labels) = ensure_obj(o, "metadata").and_then(|m| ensure_obj(m, "labels")) {
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
    }
    // The `kubernetes` finalizer is a create-time strategy step upstream; it
    // is also filled here for a spec that has none, except while terminating
    // so that `/finalize` can empty the list.
    if let Some(spec) = ensure_obj(o, "spec") {
        if !deleting {
            set_default(spec, "finalizers", json!(["kubernetes"]));
        }
    }
    if let Some(status) = ensure_obj(o, "status") {
        if is_zero(status, "phase") {
            status.insert("phase".into(), json!("Active"));
        }
    }
}

fn secret(o: &mut Map<String, Value>) {
    if is_zero(o, "type") {
        o.insert("type".into(), json!("Opaque"));
    }
    // Conversion: stringData entries overwrite data and are never stored.
    if let Some(Value::Object(sd)) = o.remove("stringData") {
        if !sd.is_empty() {
            if let Some(data) = ensure_obj(o, "data") {
                for (k, v) in sd {
                    let raw = v.as_str().unwrap_or("");
                    let enc = base64::engine::general_purpose::STANDARD.encode(raw);
                    data.insert(k, json!(enc));
                }
            }
        }
    }
}

fn endpoints(o: &mut Map<String, Value>) {
    for ss in each_obj_mut(o, "subsets") {
        for p in each_obj_mut(ss, "ports") {
            if is_zero(p, "protocol") {
                p.insert("protocol".into(), json!("TCP"));
            }
        }
    }
}

fn endpoint_slice(o: &mut Map<String, Value>) {
    // `endpoints` has no omitempty: an empty slice prints as null.
    o.entry("endpoints").or_insert(Value::Null);
    for e in each_obj_mut(o, "endpoints") {
        set_default(e, "conditions", json!({}));
    }
    for p in each_obj_mut(o, "ports") {
        set_default(p, "name", json!(""));
        set_default(p, "protocol", json!("TCP"));
    }
}

/// core/v1 Event has no defaulters; these are the fields Go always prints.
fn event(o: &mut Map<String, Value>) {
    set_default(o, "involvedObject", json!({}));
    set_default(o, "source", json!({}));
    for key in ["firstTimestamp", "lastTimestamp", "eventTime"] {
        o.entry(key).or_insert(Value::Null);
    }
    for key in ["reportingComponent", "reportingInstance"] {
        set_default(o, key, json!(""));
    }
}

fn node(o: &mut Map<String, Value>) {
    if let Some(spec) = ensure_obj(o, "spec") {
        let cidr = spec
            .get("podCIDR")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let first = spec
            .get("podCIDRs")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .map(str::to_string);
        match first {
            Some(f) => {
                spec.insert("podCIDR".into(), json!(f));
            }
            None if !cidr.is_empty() => {
                spec.insert("podCIDRs".into(), json!([cidr]));
            }
            None => {}
        }
    }
    if let Some(status) = o.get_mut("status").and_then(Value::as_object_mut) {
        if !val::has(&Value::Object(status.clone()), "allocatable") {
            if let Some(cap) = status.get("capacity").cloned() {
                status.insert("allocatable".into(), cap);
            }
        }
        for key in ["capacity", "allocatable"] {
            if let Some(list) = status.get_mut(key).and_then(Value::as_object_mut) {
                resource_list(list);
            }
        }
    }
}
