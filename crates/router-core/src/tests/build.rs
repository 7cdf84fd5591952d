//! Building snapshots from Kubernetes JSON as the apiserver serves it.

use std::net::IpAddr;

use serde_json::{json, Value};

use super::fixtures::*;
use crate::{
    route, Action, Affinity, BuildError, BuildOptions, ListenerId, NoLoad, ObjectRef, Snapshot,
    SnapshotBuilder,
};

/// Seed 003 §4: `kubectl expose deployment act1 --type=NodePort --name=act`,
/// as `kubectl get svc act -o json` shows it.
fn act_service() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "act",
            "namespace": "default",
            "uid": "6f1c1d2e-1111-4a5b-9c1d-0a1b2c3d4e5f",
            "resourceVersion": "1234",
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "labels": {"app": "act-app", "version": "1.0"}
        },
        "spec": {
            "clusterIP": "10.105.107.28",
            "clusterIPs": ["10.105.107.28"],
            "externalTrafficPolicy": "Cluster",
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"nodePort": 31925, "port": 80, "protocol": "TCP", "targetPort": 80}],
            "selector": {"app": "act-app", "version": "1.0"},
            "sessionAffinity": "None",
            "type": "NodePort"
        },
        "status": {"loadBalancer": {}}
    })
}

/// The EndpointSlice the controller writes for it, one pod terminating.
fn act_slice() -> Value {
    let endpoint = |ip: &str, pod: &str, ready: bool, terminating: bool| {
        json!({
            "addresses": [ip],
            "conditions": {"ready": ready, "serving": true, "terminating": terminating},
            "nodeName": "slipway",
            "targetRef": {"kind": "Pod", "name": pod, "namespace": "default", "uid": format!("uid-{pod}")}
        })
    };
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "act-7xk2p",
            "generateName": "act-",
            "namespace": "default",
            "labels": {
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                "kubernetes.io/service-name": "act"
            },
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "act",
                                 "uid": "6f1c1d2e-1111-4a5b-9c1d-0a1b2c3d4e5f",
                                 "controller": true, "blockOwnerDeletion": true}]
        },
        "addressType": "IPv4",
        "endpoints": [
            endpoint("10.244.0.12", "act1-5d8f7c9b6-x2k4q", true, false),
            endpoint("10.244.0.10", "act1-5d8f7c9b6-a8m2z", true, false),
            endpoint("10.244.0.11", "act1-5d8f7c9b6-q9w3e", false, true),
            endpoint("10.244.0.13", "act1-5d8f7c9b6-z7v1n", true, false)
        ],
        "ports": [{"name": "", "port": 80, "protocol": "TCP"}]
    })
}

#[test]
fn realistic_service_and_endpoint_slice() {
    let snap = snapshot(&[act_service(), act_slice()]);
    let act = ObjectRef::new("default", "act");
    let info = snap.service(&act).unwrap();
    assert_eq!(info.service_type, "NodePort");
    assert_eq!(
        info.cluster_ips,
        vec!["10.105.107.28".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(info.ports[0].node_port, Some(31925));
    assert_eq!(info.affinity, Affinity::None);
    assert_eq!(
        snap.listeners().collect::<Vec<_>>(),
        vec![&ListenerId::service("default", "act", 80)]
    );

    let backend = snap
        .listener_backend(&ListenerId::service("default", "act", 80))
        .unwrap();
    let summary: Vec<String> = backend
        .endpoints
        .iter()
        .map(|e| {
            format!(
                "{} {} ready={} terminating={}",
                e.socket_addr(),
                e.pod.as_deref().unwrap_or(""),
                e.ready,
                e.terminating
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "10.244.0.10:80 act1-5d8f7c9b6-a8m2z ready=true terminating=false",
            "10.244.0.11:80 act1-5d8f7c9b6-q9w3e ready=false terminating=true",
            "10.244.0.12:80 act1-5d8f7c9b6-x2k4q ready=true terminating=false",
            "10.244.0.13:80 act1-5d8f7c9b6-z7v1n ready=true terminating=false",
        ]
    );
    check(
        &snap,
        req(&ListenerId::service("default", "act", 80), "GET", "/"),
        "service default/act:80 -> default/act:80",
    );
}

#[test]
fn service_kinds_and_ports() {
    let mut lb = svc("default", "web", &[("http", 80)]);
    lb["spec"]["type"] = json!("LoadBalancer");
    lb["spec"]["sessionAffinity"] = json!("ClientIP");
    lb["spec"]["sessionAffinityConfig"] = json!({"clientIP": {"timeoutSeconds": 600}});
    lb["status"] = json!({"loadBalancer": {"ingress": [{"ip": "127.0.10.1"}]}});
    let mut headless = svc("default", "db", &[("pg", 5432)]);
    headless["spec"]["clusterIP"] = json!("None");
    let external = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext", "namespace": "default"},
                          "spec": {"type": "ExternalName", "externalName": "example.org"}});
    let mut dns = svc("kube-system", "dns", &[("dns", 53), ("dns-tcp", 53)]);
    dns["spec"]["ports"][0]["protocol"] = json!("UDP");
    dns["spec"]["ports"][1]["port"] = json!(5353);
    let multi = svc("default", "multi", &[("http", 80), ("metrics", 9090)]);
    let multi_slice = slice(
        "default",
        "multi",
        &[("http", 8080), ("metrics", 9100)],
        &[ep("10.0.0.5", "m")],
    );
    let snap = snapshot(&[lb, headless, external, dns, multi, multi_slice]);

    let listeners: Vec<String> = snap.listeners().map(ToString::to_string).collect();
    assert_eq!(
        listeners,
        [
            "service default/multi:80",
            "service default/multi:9090",
            "service default/web:80",
            "service kube-system/dns:5353"
        ]
    );
    let web = snap.service(&ObjectRef::new("default", "web")).unwrap();
    assert_eq!(
        web.load_balancer_ips,
        vec!["127.0.10.1".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(
        web.affinity,
        Affinity::ClientIp {
            timeout_seconds: 600
        }
    );
    assert!(
        snap.service(&ObjectRef::new("default", "db"))
            .unwrap()
            .headless
    );

    // Each Service port reaches the EndpointSlice port of the same name.
    for (port, expected) in [(80, "10.0.0.5:8080"), (9090, "10.0.0.5:9100")] {
        let d = route(
            &snap,
            &req(&ListenerId::service("default", "multi", port), "GET", "/"),
        )
        .unwrap();
        let Action::Forward(f) = &d.action else {
            panic!("{d}")
        };
        assert_eq!(
            f.pick(&NoLoad, &[]).unwrap().socket_addr().to_string(),
            expected
        );
    }
}

#[test]
fn endpoint_slice_details() {
    let cases: Vec<(Vec<Value>, &str)> = vec![
        // Conditions omitted: ready, serving, not terminating.
        (
            vec![
                json!({"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}], "ports": [{"name": "http", "port": 8080}]}),
            ],
            "10.0.0.1:8080 ready=true serving=true terminating=false",
        ),
        // ready=false with serving omitted defers to ready.
        (
            vec![
                json!({"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": false}}],
                        "ports": [{"name": "http", "port": 8080}]}),
            ],
            "10.0.0.1:8080 ready=false serving=false terminating=false",
        ),
        // The same endpoint in two slices (mid-update) is counted once, the ready copy kept.
        (
            vec![
                json!({"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": false}}],
                       "ports": [{"name": "http", "port": 8080}]}),
                json!({"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": true}}],
                       "ports": [{"name": "http", "port": 8080}]}),
            ],
            "10.0.0.1:8080 ready=true serving=true terminating=false",
        ),
        // FQDN slices and slices without the port are ignored; only the first address counts.
        (
            vec![
                json!({"addressType": "FQDN", "endpoints": [{"addresses": ["db.example.org"]}], "ports": [{"name": "http", "port": 80}]}),
                json!({"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.9"]}], "ports": [{"name": "other", "port": 80}]}),
                json!({"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.2", "10.0.0.3"]}], "ports": [{"name": "http", "port": 8080}]}),
            ],
            "10.0.0.2:8080 ready=true serving=true terminating=false",
        ),
    ];
    for (slices, expected) in cases {
        let mut objects = vec![svc("default", "web", &[("http", 80)])];
        for (i, mut s) in slices.into_iter().enumerate() {
            s["apiVersion"] = json!("discovery.k8s.io/v1");
            s["kind"] = json!("EndpointSlice");
            s["metadata"] = json!({"name": format!("web-{i}"), "namespace": "default",
                                   "labels": {"kubernetes.io/service-name": "web"}});
            objects.push(s);
        }
        let snap = snapshot(&objects);
        let backend = snap.backend(&ObjectRef::new("default", "web"), 80).unwrap();
        let got: Vec<String> = backend
            .endpoints
            .iter()
            .map(|e| {
                format!(
                    "{} ready={} serving={} terminating={}",
                    e.socket_addr(),
                    e.ready,
                    e.serving,
                    e.terminating
                )
            })
            .collect();
        assert_eq!(got, [expected]);
    }
}

#[test]
fn seed_002_blue_green_switch() {
    // seed 002: one LoadBalancer Service; `kubectl patch svc` moves its
    // selector from version 1.10 to 1.11, and the EndpointSlice follows.
    let blue = [
        ep("10.0.1.1", "nginx-1.10-a"),
        ep("10.0.1.2", "nginx-1.10-b"),
        ep("10.0.1.3", "nginx-1.10-c"),
    ];
    let green = [
        ep("10.0.2.1", "nginx-1.11-a"),
        ep("10.0.2.2", "nginx-1.11-b"),
        ep("10.0.2.3", "nginx-1.11-c"),
    ];
    let mut service = svc("default", "nginx", &[("http", 80)]);
    service["spec"]["type"] = json!("LoadBalancer");
    let l = ListenerId::service("default", "nginx", 80);
    for (eps, prefix) in [(&blue, "10.0.1."), (&green, "10.0.2.")] {
        let snap = snapshot(&[
            service.clone(),
            slice("default", "nginx", &[("http", 80)], eps),
        ]);
        for r in randoms(1).take(50) {
            let d = route(&snap, &req(&l, "GET", "/").with_random(r)).unwrap();
            let Action::Forward(f) = &d.action else {
                panic!("{d}")
            };
            let addr = f.pick(&NoLoad, &[]).unwrap().address.to_string();
            assert!(addr.starts_with(prefix), "{addr} not in {prefix}*");
        }
    }
}

#[test]
fn lists_errors_and_warnings() {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [act_service(), act_slice()]});
    let (snap, errors) = Snapshot::from_objects([&list], BuildOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(snap.listeners().count(), 1);

    let mut bad = act_service();
    bad["spec"]["ports"][0]["port"] = json!("eighty");
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    let mut builder = SnapshotBuilder::new(BuildOptions::default());
    let errors: Vec<String> = [bad, config_map]
        .iter()
        .filter_map(|o| builder.add(o).err())
        .map(|e| match e {
            BuildError::Decode { kind, name, .. } => format!("decode {kind} {name}"),
            e => e.to_string(),
        })
        .collect();
    assert_eq!(
        errors,
        ["decode Service act", "unsupported object v1 ConfigMap"]
    );

    let route = json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "default"},
        "spec": {"parentRefs": [{"name": "missing-gw"}],
                 "rules": [{"matches": [{"path": {"type": "RegularExpression", "value": "/a(b"}}],
                            "backendRefs": [{"name": "nope", "port": 80}]}]}
    });
    let vs = json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "v", "namespace": "default"},
        "spec": {"hosts": ["nowhere"], "http": [{"route": [{"destination": {"host": "nowhere"}}]}]}
    });
    let snap = snapshot(&[route, vs]);
    let warnings = snap.warnings().join("\n");
    for expected in [
        "HTTPRoute default/r#0: invalid regular expression \"/a(b\": missing ')' at offset 4",
        "HTTPRoute default/r#0: backendRef nope: Service default/nope not found",
        "HTTPRoute default/r: parentRef Gateway default/missing-gw not found or not accepted",
        "VirtualService default/v#0: destination nowhere: Service default/nowhere not found",
        "VirtualService default/v: no listener for hosts [\"nowhere\"] on gateways [\"mesh\"]",
    ] {
        assert!(
            warnings.contains(expected),
            "missing {expected:?} in:\n{warnings}"
        );
    }
}

#[test]
fn gateway_class_filter_and_snapshot_sharing() {
    let gw = |class: &str, name: &str| {
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
               "metadata": {"name": name, "namespace": "default"},
               "spec": {"gatewayClassName": class, "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}})
    };
    let opts = BuildOptions {
        gateway_class: Some("slipway".to_string()),
        ..BuildOptions::default()
    };
    let (snap, errors) =
        Snapshot::from_objects(&[gw("slipway", "ours"), gw("istio", "theirs")], opts);
    assert!(errors.is_empty());
    let listeners: Vec<String> = snap.listeners().map(ToString::to_string).collect();
    assert_eq!(listeners, ["gateway default/ours:80"]);

    // A clone is the same snapshot, not a copy.
    let clone = snap.clone();
    assert!(std::sync::Arc::ptr_eq(&snap.inner, &clone.inner));
}

/// With `endpoints_from_pods`, a selector Service's endpoints come from the
/// Pods it selects (the slices are ignored for it): ready = Ready and not
/// terminating, serving = Ready; named target ports resolve per pod; pods
/// without an IP, finished pods and pods of other namespaces are left out.
#[test]
fn endpoints_from_pods_follow_the_selector() {
    let pod = |name: &str, ns: &str, labels: Value, ip: Option<&str>, ready: bool, extra: Value| {
        let mut p = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"nodeName": "vm", "containers": [{"name": "c", "ports": [{"name": "web", "containerPort": 8080}]}]},
            "status": {
                "phase": "Running",
                "podIP": ip,
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]
            }
        });
        if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                if k == "deletionTimestamp" {
                    p["metadata"][k] = v.clone();
                } else if k == "phase" {
                    p["status"][k] = v.clone();
                }
            }
        }
        p
    };
    let mut svc = act_service();
    svc["spec"]["ports"][0]["targetPort"] = json!("web");
    let v1 = json!({"app": "act-app", "version": "1.0"});
    let objects = [
        svc,
        act_slice(),
        pod(
            "a",
            "default",
            v1.clone(),
            Some("10.244.0.2"),
            true,
            json!({}),
        ),
        pod(
            "b",
            "default",
            v1.clone(),
            Some("10.244.0.3"),
            false,
            json!({}),
        ),
        pod(
            "c",
            "default",
            v1.clone(),
            Some("10.244.0.4"),
            true,
            json!({"deletionTimestamp": "2024-05-01T10:00:00Z"}),
        ),
        pod("d", "default", v1.clone(), None, true, json!({})),
        pod(
            "e",
            "default",
            v1.clone(),
            Some("10.244.0.6"),
            true,
            json!({"phase": "Succeeded"}),
        ),
        pod(
            "f",
            "other",
            v1.clone(),
            Some("10.244.0.7"),
            true,
            json!({}),
        ),
        pod(
            "g",
            "default",
            json!({"app": "act-app", "version": "2.0"}),
            Some("10.244.0.8"),
            true,
            json!({}),
        ),
    ];
    let mut builder = SnapshotBuilder::new(BuildOptions {
        endpoints_from_pods: true,
        ..BuildOptions::default()
    });
    for o in &objects {
        builder.add(o).unwrap();
    }
    let snap = builder.build();
    let backend = snap
        .listener_backend(&ListenerId::service("default", "act", 80))
        .unwrap();
    let summary: Vec<String> = backend
        .endpoints
        .iter()
        .map(|e| {
            format!(
                "{} {} ready={} serving={} terminating={}",
                e.socket_addr(),
                e.pod.as_deref().unwrap_or(""),
                e.ready,
                e.serving,
                e.terminating
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "10.244.0.2:8080 a ready=true serving=true terminating=false",
            "10.244.0.3:8080 b ready=false serving=false terminating=false",
            "10.244.0.4:8080 c ready=false serving=true terminating=true",
        ]
    );
}
