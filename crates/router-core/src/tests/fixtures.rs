//! Object and request builders shared by the table tests.

use serde_json::{json, Value};

use crate::{route, BuildOptions, ListenerId, RequestInfo, Snapshot};

/// One EndpointSlice endpoint.
#[derive(Clone)]
pub struct Ep {
    pub ip: String,
    pub pod: String,
    pub conditions: Value,
}

pub fn ep(ip: &str, pod: &str) -> Ep {
    Ep {
        ip: ip.to_string(),
        pod: pod.to_string(),
        conditions: json!({"ready": true, "serving": true, "terminating": false}),
    }
}

impl Ep {
    /// Deleted and draining: the EndpointSlice controller's conditions for a
    /// terminating Pod that still passes its readiness probe.
    pub fn terminating(mut self) -> Self {
        self.conditions = json!({"ready": false, "serving": true, "terminating": true});
        self
    }

    /// Terminating and no longer passing readiness.
    pub fn terminating_unserving(mut self) -> Self {
        self.conditions = json!({"ready": false, "serving": false, "terminating": true});
        self
    }

    pub fn unready(mut self) -> Self {
        self.conditions = json!({"ready": false, "serving": false, "terminating": false});
        self
    }
}

pub fn svc(ns: &str, name: &str, ports: &[(&str, u16)]) -> Value {
    let ports: Vec<Value> = ports
        .iter()
        .map(|(n, p)| json!({"name": n, "port": p, "protocol": "TCP", "targetPort": p}))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "ports": ports}
    })
}

pub fn slice(ns: &str, service: &str, ports: &[(&str, u16)], eps: &[Ep]) -> Value {
    let ports: Vec<Value> = ports
        .iter()
        .map(|(n, p)| json!({"name": n, "port": p, "protocol": "TCP"}))
        .collect();
    let endpoints: Vec<Value> = eps
        .iter()
        .map(|e| {
            json!({
                "addresses": [e.ip],
                "conditions": e.conditions,
                "nodeName": "slipway",
                "targetRef": {"kind": "Pod", "name": e.pod, "namespace": ns}
            })
        })
        .collect();
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": format!("{service}-abcde"),
            "namespace": ns,
            "labels": {"kubernetes.io/service-name": service}
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports
    })
}

pub fn pod(ns: &str, name: &str, labels: &[(&str, &str)]) -> Value {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels}})
}

/// A single-port (`http`, 80) Service `name` with one ready endpoint per
/// `(pod, ip, pod-template-hash)`, its EndpointSlice and its Pods.
pub fn app(ns: &str, name: &str, pods: &[(&str, &str, &str)]) -> Vec<Value> {
    let eps: Vec<Ep> = pods.iter().map(|(p, ip, _)| ep(ip, p)).collect();
    let mut objects = vec![
        svc(ns, name, &[("http", 80)]),
        slice(ns, name, &[("http", 8080)], &eps),
    ];
    for (p, _, hash) in pods {
        objects.push(pod(ns, p, &[("app", name), ("pod-template-hash", hash)]));
    }
    objects
}

/// Builds a snapshot, failing the test on any object the builder rejects.
pub fn snapshot(objects: &[Value]) -> Snapshot {
    let (snap, errors) = Snapshot::from_objects(objects, BuildOptions::default());
    assert!(errors.is_empty(), "build errors: {errors:?}");
    snap
}

pub fn req(listener: &ListenerId, method: &str, path: &str) -> RequestInfo {
    RequestInfo::new(listener.clone(), method, path).with_host("example.com")
}

/// Routes `req` and compares the one-line summary.
pub fn check(snap: &Snapshot, req: RequestInfo, expected: &str) {
    let got = match route(snap, &req) {
        Ok(d) => d.to_string(),
        Err(e) => format!("{} {e}", e.status()),
    };
    assert_eq!(
        got, expected,
        "request {} {} {}?{} {:?}",
        req.method, req.host, req.path, req.query, req.headers
    );
}

/// Deterministic pseudo-random values (splitmix64), standing in for the
/// router's per-request random source.
pub fn randoms(seed: u64) -> impl Iterator<Item = u64> {
    let mut state = seed;
    std::iter::from_fn(move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Some(z ^ (z >> 31))
    })
}
