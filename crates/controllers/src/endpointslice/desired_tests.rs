use k8s_openapi::api::core::v1::{EndpointSubset, Endpoints, Pod, Service, ServicePort};
use serde_json::{json, Value};

use super::*;

pub(crate) fn svc(spec: Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "svc-uid",
                     "labels": {"app": "web"},
                     "creationTimestamp": "2025-01-01T00:00:00Z"},
        "spec": spec,
    }))
    .unwrap()
}

/// `web` on port 80 → targetPort `http`, selecting `app=web`.
pub(crate) fn web() -> Service {
    svc(json!({
        "selector": {"app": "web"},
        "clusterIP": "10.96.0.10",
        "ipFamilies": ["IPv4"],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}],
    }))
}

/// A pod in a compact form.
#[derive(Clone, Copy)]
pub(crate) struct P {
    pub name: &'static str,
    pub ip: &'static str,
    pub ready: bool,
    pub terminating: bool,
    pub node: &'static str,
    pub port: i32,
}

pub(crate) const fn p(name: &'static str, ip: &'static str) -> P {
    P {
        name,
        ip,
        ready: true,
        terminating: false,
        node: "",
        port: 8080,
    }
}

pub(crate) fn pod(p: P) -> Pod {
    let mut v = json!({
        "metadata": {"name": p.name, "namespace": "default", "uid": format!("uid-{}", p.name),
                     "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "i",
                 "ports": [{"name": "http", "containerPort": p.port, "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": if p.ready { "True" } else { "False" },
             "lastTransitionTime": "2025-01-01T00:00:10Z"}]},
    });
    if !p.ip.is_empty() {
        v["status"]["podIP"] = json!(p.ip);
        v["status"]["podIPs"] = json!([{"ip": p.ip}]);
    }
    if p.terminating {
        v["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:01:00Z");
    }
    if !p.node.is_empty() {
        v["spec"]["nodeName"] = json!(p.node);
    }
    serde_json::from_value(v).unwrap()
}

fn sport(v: Value) -> ServicePort {
    serde_json::from_value(v).unwrap()
}

#[test]
fn find_port_resolves_numbers_and_names() {
    let mut with_sidecar = pod(p("a", "10.0.0.1"));
    if let Some(spec) = with_sidecar.spec.as_mut() {
        spec.init_containers = Some(
            serde_json::from_value(json!([
                {"name": "side", "image": "i", "restartPolicy": "Always",
                 "ports": [{"name": "metrics", "containerPort": 9090}]},
                {"name": "init", "image": "i",
                 "ports": [{"name": "setup", "containerPort": 7070}]},
            ]))
            .unwrap(),
        );
    }
    let cases: &[(Value, Option<i32>)] = &[
        (json!({"port": 80, "targetPort": 9376}), Some(9376)),
        (json!({"port": 80}), Some(80)),
        (json!({"port": 80, "targetPort": "http"}), Some(8080)),
        (
            json!({"port": 80, "targetPort": "http", "protocol": "TCP"}),
            Some(8080),
        ),
        (
            json!({"port": 80, "targetPort": "http", "protocol": "UDP"}),
            None,
        ),
        (json!({"port": 80, "targetPort": "nope"}), None),
        (json!({"port": 80, "targetPort": "metrics"}), Some(9090)),
        // Only restartable init containers (sidecars) count.
        (json!({"port": 80, "targetPort": "setup"}), None),
    ];
    for (sp, want) in cases {
        assert_eq!(find_port(&with_sidecar, &sport(sp.clone())), *want, "{sp}");
    }
}

#[test]
fn endpoint_conditions_follow_readiness_and_termination() {
    // (ready, terminating, publishNotReadyAddresses) → (ready, serving, terminating)
    let cases = [
        ((true, false, false), (true, true, false)),
        ((false, false, false), (false, false, false)),
        ((true, true, false), (false, true, true)),
        ((false, true, false), (false, false, true)),
        ((false, false, true), (true, false, false)),
        ((true, true, true), (true, true, true)),
    ];
    for ((ready, terminating, publish), want) in cases {
        let mut s = web();
        if let Some(spec) = s.spec.as_mut() {
            spec.publish_not_ready_addresses = Some(publish);
        }
        let pd = pod(P {
            ready,
            terminating,
            node: "node-1",
            ..p("a", "10.0.0.1")
        });
        let ep = pod_to_endpoint(&pd, &s, IPV4);
        let c = ep.conditions.clone().unwrap();
        assert_eq!(
            (c.ready, c.serving, c.terminating),
            (Some(want.0), Some(want.1), Some(want.2)),
            "ready={ready} terminating={terminating} publish={publish}"
        );
        assert_eq!(ep.addresses, vec!["10.0.0.1".to_string()]);
        assert_eq!(ep.node_name.as_deref(), Some("node-1"));
        let r = ep.target_ref.unwrap();
        assert_eq!(
            (
                r.kind.as_deref(),
                r.namespace.as_deref(),
                r.name.as_deref(),
                r.uid.as_deref()
            ),
            (Some("Pod"), Some("default"), Some("a"), Some("uid-a"))
        );
        assert_eq!(r.api_version, None);
    }
}

#[test]
fn which_pods_are_endpoints() {
    let mut done = pod(p("done", "10.0.0.3"));
    if let Some(s) = done.status.as_mut() {
        s.phase = Some("Succeeded".into());
    }
    let mut only_pod_ip = pod(p("old", ""));
    if let Some(s) = only_pod_ip.status.as_mut() {
        s.pod_ip = Some("10.0.0.4".into());
    }
    let term = pod(P {
        terminating: true,
        ..p("t", "10.0.0.2")
    });
    // (pod, with terminating, without terminating)
    let cases = [
        (pod(p("a", "10.0.0.1")), true, true),
        (pod(p("noip", "")), false, false),
        (done, false, false),
        (term, true, false),
        (only_pod_ip, true, true),
    ];
    for (pd, with, without) in cases {
        let n = pd.metadata.name.clone().unwrap();
        assert_eq!(should_be_in_endpoints(&pd, true), with, "{n}");
        assert_eq!(should_be_in_endpoints(&pd, false), without, "{n}");
    }
}

#[test]
fn groups_by_resolved_ports() {
    let s = svc(json!({
        "selector": {"app": "web"}, "clusterIP": "10.96.0.10",
        "ports": [
            {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
            {"name": "admin", "port": 81, "protocol": "TCP", "targetPort": 9000},
        ],
    }));
    let a = pod(p("a", "10.0.0.1"));
    let b = pod(P {
        port: 8081,
        ..p("b", "10.0.0.2")
    });
    let c = pod(P {
        port: 8081,
        ..p("c", "10.0.0.3")
    });
    let noip = pod(p("d", ""));
    let pods = [&a, &b, &c, &noip];
    let groups = desired_groups(&s, &pods, IPV4);
    assert_eq!(groups.len(), 2);
    type Summary = (Vec<(Option<String>, Option<i32>)>, Vec<String>);
    let summary: Vec<Summary> = groups
        .values()
        .map(|g| {
            (
                g.ports.iter().map(|p| (p.name.clone(), p.port)).collect(),
                g.endpoints.keys().map(|k| k.name.clone()).collect(),
            )
        })
        .collect();
    assert!(summary.contains(&(
        vec![
            (Some("http".into()), Some(8080)),
            (Some("admin".into()), Some(9000))
        ],
        vec!["a".into()]
    )));
    assert!(summary.contains(&(
        vec![
            (Some("http".into()), Some(8081)),
            (Some("admin".into()), Some(9000))
        ],
        vec!["b".into(), "c".into()]
    )));
    // No IPv6 addresses, so nothing for IPv6.
    assert!(desired_groups(&s, &pods, IPV6).is_empty());
    // Every port carries its protocol and name.
    let g = groups.values().next().unwrap();
    assert!(g.ports.iter().all(|p| p.protocol.as_deref() == Some("TCP")));
}

#[test]
fn headless_without_ports_still_lists_pods() {
    let s = svc(json!({"selector": {"app": "web"}, "clusterIP": "None"}));
    let a = pod(p("a", "10.0.0.1"));
    let groups = desired_groups(&s, &[&a], IPV4);
    let g = groups.values().next().unwrap();
    assert!(g.ports.is_empty());
    assert_eq!(g.endpoints.len(), 1);
    let subsets = desired_subsets(&s, &[&a]);
    assert_eq!(subsets.len(), 1);
    assert_eq!(subsets[0].ports, None);
    assert_eq!(subsets[0].addresses.as_ref().unwrap()[0].ip, "10.0.0.1");
    // Headless label on slices, not on the selector.
    assert_eq!(
        slice_labels(&s).get(LABEL_HEADLESS).map(String::as_str),
        Some("")
    );
    assert!(!slice_labels(&web()).contains_key(LABEL_HEADLESS));
}

#[test]
fn labels_and_address_types() {
    let mut s = web();
    s.metadata.labels = Some(
        [
            ("app", "web"),
            (LABEL_SERVICE_NAME, "evil"),
            (LABEL_MANAGED_BY, "me"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    let l = slice_labels(&s);
    assert_eq!(l.get("app").map(String::as_str), Some("web"));
    assert_eq!(l.get(LABEL_SERVICE_NAME).map(String::as_str), Some("web"));
    assert_eq!(
        l.get(LABEL_MANAGED_BY).map(String::as_str),
        Some(CONTROLLER_NAME)
    );
    assert_eq!(l.len(), 3);

    let cases = [
        (
            json!({"clusterIP": "10.0.0.1", "ipFamilies": ["IPv4"]}),
            vec![IPV4],
        ),
        (
            json!({"clusterIP": "fd00::1", "ipFamilies": ["IPv6", "IPv4"]}),
            vec![IPV6, IPV4],
        ),
        (json!({"clusterIP": "fd00::1"}), vec![IPV6]),
        (json!({"clusterIP": "10.0.0.1"}), vec![IPV4]),
        (json!({"clusterIP": "None"}), vec![IPV4, IPV6]),
    ];
    for (spec, want) in cases {
        assert_eq!(address_types(&svc(spec.clone())), want, "{spec}");
    }
}

fn ips(subset: &EndpointSubset) -> (Vec<String>, Vec<String>) {
    let f = |l: &Option<Vec<EndpointAddress>>| {
        l.iter().flatten().map(|a| a.ip.clone()).collect::<Vec<_>>()
    };
    (f(&subset.addresses), f(&subset.not_ready_addresses))
}

#[test]
fn endpoints_subsets_split_ready_and_not_ready() {
    let pods = [
        pod(p("c", "10.0.0.3")),
        pod(P {
            ready: false,
            ..p("b", "10.0.0.2")
        }),
        pod(p("a", "10.0.0.1")),
        pod(P {
            terminating: true,
            ..p("t", "10.0.0.9")
        }),
        pod(P {
            port: 9999,
            ..p("x", "10.0.0.7")
        }),
    ];
    let refs: Vec<&Pod> = pods.iter().collect();
    let subsets = desired_subsets(&web(), &refs);
    assert_eq!(subsets.len(), 2, "{subsets:?}");
    let port_of = |s: &EndpointSubset| s.ports.as_ref().unwrap()[0].port;
    let main = subsets.iter().find(|s| port_of(s) == 8080).unwrap();
    assert_eq!(
        ips(main),
        (
            vec!["10.0.0.1".into(), "10.0.0.3".into()],
            vec!["10.0.0.2".into()]
        )
    );
    let p = &main.ports.as_ref().unwrap()[0];
    assert_eq!(
        (p.name.as_deref(), p.protocol.as_deref()),
        (Some("http"), Some("TCP"))
    );
    let other = subsets.iter().find(|s| port_of(s) == 9999).unwrap();
    assert_eq!(ips(other), (vec!["10.0.0.7".into()], vec![]));

    // publishNotReadyAddresses: every address ready, terminating ones kept.
    let mut s = web();
    if let Some(spec) = s.spec.as_mut() {
        spec.publish_not_ready_addresses = Some(true);
    }
    let subsets = desired_subsets(&s, &refs);
    let main = subsets.iter().find(|s| port_of(s) == 8080).unwrap();
    assert_eq!(
        ips(main),
        (
            vec![
                "10.0.0.1".into(),
                "10.0.0.2".into(),
                "10.0.0.3".into(),
                "10.0.0.9".into()
            ],
            vec![]
        )
    );
}

fn stored(e: Endpoints) -> Endpoints {
    let mut e = e;
    e.metadata.resource_version = Some("7".into());
    e
}

#[test]
fn endpoints_written_only_when_something_changed() {
    let pods = [pod(p("a", "10.0.0.1")), pod(p("b", "10.0.0.2"))];
    let refs: Vec<&Pod> = pods.iter().collect();
    let trigger = Some("2025-01-01T00:00:10.5Z".parse().unwrap());
    let first = endpoints_update(&web(), &refs, None, trigger).unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("web"));
    assert_eq!(
        first.metadata.labels.clone().unwrap(),
        [("app".to_string(), "web".to_string())]
            .into_iter()
            .collect()
    );
    assert_eq!(
        first.metadata.annotations.as_ref().unwrap()[ANNOTATION_TRIGGER_TIME],
        "2025-01-01T00:00:10.5Z"
    );
    let cur = stored(first);
    assert!(endpoints_update(&web(), &refs, Some(&cur), None).is_none());

    // The same content in another order is the same.
    let mut shuffled = cur.clone();
    if let Some(s) = shuffled.subsets.as_mut() {
        if let Some(a) = s[0].addresses.as_mut() {
            a.reverse();
            a[0].target_ref.as_mut().unwrap().resource_version = Some("99".into());
        }
    }
    assert!(endpoints_update(&web(), &refs, Some(&shuffled), None).is_none());

    // A pod going unready is a change; the update keeps the object's identity.
    let pods2 = [
        pod(p("a", "10.0.0.1")),
        pod(P {
            ready: false,
            ..p("b", "10.0.0.2")
        }),
    ];
    let refs2: Vec<&Pod> = pods2.iter().collect();
    let next = endpoints_update(&web(), &refs2, Some(&cur), None).unwrap();
    assert_eq!(next.metadata.resource_version.as_deref(), Some("7"));
    assert_eq!(
        ips(&next.subsets.as_ref().unwrap()[0]).1,
        vec!["10.0.0.2".to_string()]
    );
    // No new trigger time: the annotation goes.
    assert!(next
        .metadata
        .annotations
        .as_ref()
        .is_none_or(|a| !a.contains_key(ANNOTATION_TRIGGER_TIME)));

    // A Service label change is a change; headless Services get the label.
    let mut relabelled = web();
    relabelled.metadata.labels = Some(
        [("app".to_string(), "v2".to_string())]
            .into_iter()
            .collect(),
    );
    assert!(endpoints_update(&relabelled, &refs, Some(&cur), None).is_some());
    let mut headless = web();
    if let Some(spec) = headless.spec.as_mut() {
        spec.cluster_ip = Some("None".into());
    }
    let h = endpoints_update(&headless, &refs, Some(&cur), None).unwrap();
    assert_eq!(
        h.metadata
            .labels
            .unwrap()
            .get(LABEL_HEADLESS)
            .map(String::as_str),
        Some("")
    );

    // No pods: an Endpoints object without subsets.
    let empty = endpoints_update(&web(), &[], None, None).unwrap();
    assert_eq!(empty.subsets, None);
}

#[test]
fn endpoints_are_truncated_at_capacity() {
    let mut pods = Vec::new();
    for i in 0..1100u32 {
        let name: &'static str = Box::leak(format!("p{i:04}").into_boxed_str());
        let ip: &'static str = Box::leak(format!("10.1.{}.{}", i / 250, i % 250).into_boxed_str());
        pods.push(pod(P {
            ready: i % 2 == 0,
            ..p(name, ip)
        }));
    }
    let refs: Vec<&Pod> = pods.iter().collect();
    let e = endpoints_update(&web(), &refs, None, None).unwrap();
    let s = &e.subsets.as_ref().unwrap()[0];
    let (ready, not_ready) = ips(s);
    // Ready ones are kept first.
    assert_eq!((ready.len(), not_ready.len()), (550, 450));
    assert_eq!(
        e.metadata.annotations.as_ref().unwrap()[ANNOTATION_OVER_CAPACITY],
        "truncated"
    );
    let cur = stored(e);
    assert!(endpoints_update(&web(), &refs, Some(&cur), None).is_none());
}

#[test]
fn trigger_times_are_rfc3339_in_utc() {
    let cases = [
        ("2025-01-01T00:00:10Z", "2025-01-01T00:00:10Z"),
        ("2025-01-01T00:00:10.120Z", "2025-01-01T00:00:10.12Z"),
        ("2025-01-01T02:00:10+02:00", "2025-01-01T00:00:10Z"),
    ];
    for (input, want) in cases {
        assert_eq!(format_time(input.parse().unwrap()), want);
    }
}
