//! A container's environment, assembled as the kubelet does: service link
//! variables, then `envFrom`, then `env` (each value may refer to variables
//! defined before it with `$(VAR)`), over the image's own env. Pure: the
//! ConfigMaps, Secrets and Services are fetched by the caller.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret, Service};

use crate::expand::expand;

/// Everything a container's env may refer to.
pub struct EnvInputs<'a> {
    pub pod: &'a Pod,
    pub pod_ip: &'a str,
    pub host_ip: &'a str,
    /// Allocatable node resources: the value of an unset limit.
    pub node: &'a NodeResources,
    /// The ConfigMaps and Secrets that exist, by name, in the pod's namespace.
    pub config_maps: &'a BTreeMap<String, ConfigMap>,
    pub secrets: &'a BTreeMap<String, Secret>,
    /// Services of the pod's namespace and `default/kubernetes`.
    pub services: &'a [Service],
}

/// Node capacity used for `resourceFieldRef` on unset limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeResources {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    pub ephemeral_bytes: i64,
}

/// Why a container cannot be created yet (`CreateContainerConfigError`).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EnvError {
    #[error("configmap {0:?} not found")]
    ConfigMapMissing(String),
    #[error("couldn't find key {key} in ConfigMap {namespace}/{name}")]
    ConfigMapKey {
        key: String,
        namespace: String,
        name: String,
    },
    #[error("secret {0:?} not found")]
    SecretMissing(String),
    #[error("couldn't find key {key} in Secret {namespace}/{name}")]
    SecretKey {
        key: String,
        namespace: String,
        name: String,
    },
    #[error("unsupported fieldPath: {0}")]
    FieldPath(String),
    #[error("unsupported resource: {0}")]
    Resource(String),
}

/// The ConfigMap and Secret names a container's env refers to.
pub fn referenced(c: &Container) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut cms = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    for from in c.env_from.iter().flatten() {
        if let Some(r) = &from.config_map_ref {
            cms.insert(r.name.clone());
        }
        if let Some(r) = &from.secret_ref {
            secrets.insert(r.name.clone());
        }
    }
    for e in c.env.iter().flatten() {
        let Some(src) = &e.value_from else { continue };
        if let Some(r) = &src.config_map_key_ref {
            cms.insert(r.name.clone());
        }
        if let Some(r) = &src.secret_key_ref {
            secrets.insert(r.name.clone());
        }
    }
    (cms, secrets)
}

/// The variables a container sees from its pod spec (service links, envFrom,
/// env), in a deterministic order. `base` (image env and slipway's own
/// variables) is underneath: any later definition replaces it.
pub fn container_env(
    inp: &EnvInputs<'_>,
    c: &Container,
    base: &[(String, String)],
) -> Result<Vec<(String, String)>, EnvError> {
    let ns = inp.pod.metadata.namespace.clone().unwrap_or_default();
    let links = inp
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.enable_service_links)
        .unwrap_or(true);
    let service_env = service_env(inp.services, &ns, links);
    let mut defined: BTreeMap<String, String> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut set = |defined: &mut BTreeMap<String, String>, k: String, v: String| {
        if defined.insert(k.clone(), v).is_none() {
            order.push(k);
        }
    };

    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(r) = &from.config_map_ref {
            match inp.config_maps.get(&r.name) {
                Some(cm) => {
                    for (k, v) in cm.data.iter().flatten() {
                        set(&mut defined, format!("{prefix}{k}"), v.clone());
                    }
                }
                None if r.optional == Some(true) => {}
                None => return Err(EnvError::ConfigMapMissing(r.name.clone())),
            }
        }
        if let Some(r) = &from.secret_ref {
            match inp.secrets.get(&r.name) {
                Some(s) => {
                    for (k, v) in s.data.iter().flatten() {
                        set(&mut defined, format!("{prefix}{k}"), bytes_text(&v.0));
                    }
                }
                None if r.optional == Some(true) => {}
                None => return Err(EnvError::SecretMissing(r.name.clone())),
            }
        }
    }

    for e in c.env.iter().flatten() {
        let value = match &e.value_from {
            None => {
                let raw = e.value.clone().unwrap_or_default();
                expand(&raw, |n| {
                    defined.get(n).or_else(|| service_env.get(n)).cloned()
                })
            }
            Some(src) => match value_from(inp, c, &ns, src)? {
                Some(v) => v,
                // An optional reference that does not resolve defines nothing.
                None => continue,
            },
        };
        set(&mut defined, e.name.clone(), value);
    }

    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in base {
        if !defined.contains_key(k) && !service_env.contains_key(k) {
            out.push((k.clone(), v.clone()));
        }
    }
    for (k, v) in &service_env {
        if !defined.contains_key(k) {
            out.push((k.clone(), v.clone()));
        }
    }
    for k in order {
        if let Some(v) = defined.remove(&k) {
            out.push((k, v));
        }
    }
    Ok(out)
}

fn bytes_text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn value_from(
    inp: &EnvInputs<'_>,
    c: &Container,
    ns: &str,
    src: &k8s_openapi::api::core::v1::EnvVarSource,
) -> Result<Option<String>, EnvError> {
    if let Some(f) = &src.field_ref {
        return field_ref(inp, &f.field_path).map(Some);
    }
    if let Some(r) = &src.resource_field_ref {
        let target = match r.container_name.as_deref() {
            Some(n) if !n.is_empty() && n != c.name => inp
                .pod
                .spec
                .as_ref()
                .and_then(|s| s.containers.iter().find(|x| x.name == n))
                .unwrap_or(c),
            _ => c,
        };
        let divisor = r.divisor.as_ref().map(|q| q.0.as_str()).unwrap_or("1");
        return resource_value(inp.node, target, &r.resource, divisor).map(Some);
    }
    if let Some(r) = &src.config_map_key_ref {
        let optional = r.optional == Some(true);
        return match inp.config_maps.get(&r.name) {
            None if optional => Ok(None),
            None => Err(EnvError::ConfigMapMissing(r.name.clone())),
            Some(cm) => {
                let v = cm
                    .data
                    .as_ref()
                    .and_then(|d| d.get(&r.key).cloned())
                    .or_else(|| {
                        cm.binary_data
                            .as_ref()
                            .and_then(|d| d.get(&r.key))
                            .map(|b| bytes_text(&b.0))
                    });
                match v {
                    Some(v) => Ok(Some(v)),
                    None if optional => Ok(None),
                    None => Err(EnvError::ConfigMapKey {
                        key: r.key.clone(),
                        namespace: ns.to_string(),
                        name: r.name.clone(),
                    }),
                }
            }
        };
    }
    if let Some(r) = &src.secret_key_ref {
        let optional = r.optional == Some(true);
        return match inp.secrets.get(&r.name) {
            None if optional => Ok(None),
            None => Err(EnvError::SecretMissing(r.name.clone())),
            Some(s) => match s.data.as_ref().and_then(|d| d.get(&r.key)) {
                Some(v) => Ok(Some(bytes_text(&v.0))),
                None if optional => Ok(None),
                None => Err(EnvError::SecretKey {
                    key: r.key.clone(),
                    namespace: ns.to_string(),
                    name: r.name.clone(),
                }),
            },
        };
    }
    Ok(Some(String::new()))
}

/// The Downward API fields the kubelet supports in env.
pub(crate) fn field_ref(inp: &EnvInputs<'_>, path: &str) -> Result<String, EnvError> {
    let md = &inp.pod.metadata;
    let spec = inp.pod.spec.as_ref();
    let v = match path {
        "metadata.name" => md.name.clone().unwrap_or_default(),
        "metadata.namespace" => md.namespace.clone().unwrap_or_default(),
        "metadata.uid" => md.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(md.labels.as_ref()),
        "metadata.annotations" => format_map(md.annotations.as_ref()),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.podIP" | "status.podIPs" => inp.pod_ip.to_string(),
        "status.hostIP" | "status.hostIPs" => inp.host_ip.to_string(),
        _ => {
            if let Some(k) = subscript(path, "metadata.labels") {
                md.labels
                    .as_ref()
                    .and_then(|m| m.get(k).cloned())
                    .unwrap_or_default()
            } else if let Some(k) = subscript(path, "metadata.annotations") {
                md.annotations
                    .as_ref()
                    .and_then(|m| m.get(k).cloned())
                    .unwrap_or_default()
            } else {
                return Err(EnvError::FieldPath(path.to_string()));
            }
        }
    };
    Ok(v)
}

/// `metadata.labels['key']` → `key`.
fn subscript<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    let inner = rest.strip_prefix("['")?.strip_suffix("']")?;
    Some(inner)
}

/// `key="value"` lines sorted by key, values quoted like Go's `%q`.
pub fn format_map(m: Option<&BTreeMap<String, String>>) -> String {
    let Some(m) = m else { return String::new() };
    m.iter()
        .map(|(k, v)| format!("{k}={}", serde_json::Value::String(v.clone())))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `resourceFieldRef`: the container's limit (node allocatable when unset)
/// or request, divided by `divisor` and rounded up.
pub fn resource_value(
    node: &NodeResources,
    c: &Container,
    resource: &str,
    divisor: &str,
) -> Result<String, EnvError> {
    let res = c.resources.as_ref();
    let limit = |name: &str| {
        res.and_then(|r| r.limits.as_ref())
            .and_then(|l| l.get(name))
            .and_then(|q| parse_quantity(&q.0))
    };
    let request = |name: &str| {
        res.and_then(|r| r.requests.as_ref())
            .and_then(|l| l.get(name))
            .and_then(|q| parse_quantity(&q.0))
    };
    let value = match resource {
        "limits.cpu" => limit("cpu").unwrap_or(node.cpu_millis as f64 / 1000.0),
        "limits.memory" => limit("memory").unwrap_or(node.memory_bytes as f64),
        "limits.ephemeral-storage" => {
            limit("ephemeral-storage").unwrap_or(node.ephemeral_bytes as f64)
        }
        "requests.cpu" => request("cpu").or_else(|| limit("cpu")).unwrap_or(0.0),
        "requests.memory" => request("memory").or_else(|| limit("memory")).unwrap_or(0.0),
        "requests.ephemeral-storage" => request("ephemeral-storage")
            .or_else(|| limit("ephemeral-storage"))
            .unwrap_or(0.0),
        other => return Err(EnvError::Resource(other.to_string())),
    };
    let div = parse_quantity(divisor).filter(|d| *d > 0.0).unwrap_or(1.0);
    // Tolerate float noise so 0.5/0.001 stays 500, not 501.
    let q = value / div;
    let rounded = (q - 1e-9).ceil().max(if q > 0.0 { 1.0 } else { 0.0 });
    Ok(format!("{}", rounded as i64))
}

/// A Kubernetes quantity as a number of base units (cores, bytes).
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.' || ch == '+' || ch == '-'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e if e.starts_with('e') || e.starts_with('E') => 10f64.powi(e[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * mult)
}

/// Service link variables, as in Docker links, for every Service with a
/// cluster IP in the namespace (if enabled) and the apiserver's own Service.
pub fn service_env(services: &[Service], ns: &str, links: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in services {
        let sns = s.metadata.namespace.as_deref().unwrap_or("");
        let name = s.metadata.name.as_deref().unwrap_or("");
        let master = sns == "default" && name == "kubernetes";
        if !(master || (links && sns == ns)) {
            continue;
        }
        let Some(spec) = &s.spec else { continue };
        let ip = spec.cluster_ip.as_deref().unwrap_or("");
        if ip.is_empty() || ip == "None" {
            continue;
        }
        let ports = spec.ports.as_deref().unwrap_or(&[]);
        let Some(first) = ports.first() else { continue };
        let var = name.to_uppercase().replace('-', "_");
        out.insert(format!("{var}_SERVICE_HOST"), ip.to_string());
        out.insert(format!("{var}_SERVICE_PORT"), first.port.to_string());
        for p in ports {
            if let Some(pn) = p.name.as_deref().filter(|n| !n.is_empty()) {
                out.insert(
                    format!("{var}_SERVICE_PORT_{}", pn.to_uppercase().replace('-', "_")),
                    p.port.to_string(),
                );
            }
        }
        let proto = |p: &k8s_openapi::api::core::v1::ServicePort| {
            p.protocol.as_deref().unwrap_or("TCP").to_string()
        };
        out.insert(
            format!("{var}_PORT"),
            format!("{}://{ip}:{}", proto(first).to_lowercase(), first.port),
        );
        for p in ports {
            let pr = proto(p);
            let base = format!("{var}_PORT_{}_{}", p.port, pr.to_uppercase());
            out.insert(
                base.clone(),
                format!("{}://{ip}:{}", pr.to_lowercase(), p.port),
            );
            out.insert(format!("{base}_PROTO"), pr.to_lowercase());
            out.insert(format!("{base}_PORT"), p.port.to_string());
            out.insert(format!("{base}_ADDR"), ip.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u-1",
                          "labels": {"b": "2", "a": "1"}, "annotations": {"x": "y\"z"}},
            "spec": {"nodeName": "n1", "serviceAccountName": "default", "containers": [
                {"name": "c", "image": "i", "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}}}
            ]}
        }))
        .expect("pod")
    }

    fn svc(ns: &str, name: &str, ip: &str, ports: serde_json::Value) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": ports}
        }))
        .expect("svc")
    }

    const NODE: NodeResources = NodeResources {
        cpu_millis: 2000,
        memory_bytes: 1 << 30,
        ephemeral_bytes: 1 << 40,
    };

    #[test]
    fn resolves_every_source() {
        let p = pod();
        let c: Container = serde_json::from_value(json!({
            "name": "c", "image": "i",
            "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}},
            "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}, {"secretRef": {"name": "missing", "optional": true}}],
            "env": [
                {"name": "PLAIN", "value": "v"},
                {"name": "REF", "value": "$(PLAIN)-$(CM_k)-$(WEB_SERVICE_HOST)-$(NOPE)"},
                {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "LBL", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['a']"}}},
                {"name": "LBLS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "CMK", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}},
                {"name": "SEC", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw"}}},
                {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "s", "key": "nope", "optional": true}}},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                {"name": "CPUREQ", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}}
            ]
        }))
        .expect("container");
        let cms: BTreeMap<String, ConfigMap> = [(
            "cm".to_string(),
            serde_json::from_value(json!({"metadata": {"name": "cm"}, "data": {"k": "cv"}}))
                .expect("cm"),
        )]
        .into();
        let secrets: BTreeMap<String, Secret> = [(
            "s".to_string(),
            serde_json::from_value(
                json!({"metadata": {"name": "s"}, "data": {"pw": "aHVudGVyMg=="}}),
            )
            .expect("s"),
        )]
        .into();
        let services = vec![
            svc(
                "ns",
                "web",
                "10.0.0.9",
                json!([{"name": "http", "port": 80, "protocol": "TCP"}]),
            ),
            svc("other", "x", "10.0.0.8", json!([{"port": 1}])),
            svc(
                "default",
                "kubernetes",
                "10.0.0.1",
                json!([{"name": "https", "port": 443}]),
            ),
            svc("ns", "headless", "None", json!([{"port": 1}])),
        ];
        let inp = EnvInputs {
            pod: &p,
            pod_ip: "127.1.0.5",
            host_ip: "127.0.0.1",
            node: &NODE,
            config_maps: &cms,
            secrets: &secrets,
            services: &services,
        };
        let base = vec![
            ("PLAIN".to_string(), "image".to_string()),
            ("IMG".to_string(), "1".to_string()),
        ];
        let env: BTreeMap<String, String> = container_env(&inp, &c, &base)
            .expect("env")
            .into_iter()
            .collect();
        let get = |k: &str| env.get(k).map(String::as_str);
        assert_eq!(get("PLAIN"), Some("v"));
        assert_eq!(get("IMG"), Some("1"));
        assert_eq!(get("REF"), Some("v-cv-10.0.0.9-$(NOPE)"));
        assert_eq!(get("CM_k"), Some("cv"));
        assert_eq!(get("NAME"), Some("p"));
        assert_eq!(get("LBL"), Some("1"));
        assert_eq!(get("LBLS"), Some("a=\"1\"\nb=\"2\""));
        assert_eq!(get("IP"), Some("127.1.0.5"));
        assert_eq!(get("NODE"), Some("n1"));
        assert_eq!(get("CMK"), Some("cv"));
        assert_eq!(get("SEC"), Some("hunter2"));
        assert_eq!(get("OPT"), None);
        assert_eq!(get("MEM"), Some("64"));
        assert_eq!(get("CPU"), Some("2"));
        assert_eq!(get("CPUREQ"), Some("250"));
        assert_eq!(get("WEB_SERVICE_PORT"), Some("80"));
        assert_eq!(get("WEB_SERVICE_PORT_HTTP"), Some("80"));
        assert_eq!(get("WEB_PORT"), Some("tcp://10.0.0.9:80"));
        assert_eq!(get("WEB_PORT_80_TCP_ADDR"), Some("10.0.0.9"));
        assert_eq!(get("KUBERNETES_SERVICE_HOST"), Some("10.0.0.1"));
        assert_eq!(get("X_SERVICE_HOST"), None);
        assert_eq!(get("HEADLESS_SERVICE_HOST"), None);
    }

    #[test]
    fn missing_references_fail_like_the_kubelet() {
        let p = pod();
        let c: Container = serde_json::from_value(json!({"name": "c", "env": [
            {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}]}))
        .expect("c");
        let empty_cm = BTreeMap::new();
        let empty_s = BTreeMap::new();
        let inp = EnvInputs {
            pod: &p,
            pod_ip: "",
            host_ip: "",
            node: &NODE,
            config_maps: &empty_cm,
            secrets: &empty_s,
            services: &[],
        };
        let e = container_env(&inp, &c, &[]).expect_err("missing");
        assert_eq!(e.to_string(), "configmap \"cm\" not found");
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("250m"), Some(0.25));
        assert_eq!(parse_quantity("1Gi"), Some(1073741824.0));
        assert_eq!(parse_quantity("2"), Some(2.0));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("x"), None);
    }
}
