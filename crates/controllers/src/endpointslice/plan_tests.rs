use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

use super::super::desired::tests::{p, pod, svc, web, P};
use super::super::desired::{
    self, CONTROLLER_NAME, IPV4, IPV6, LABEL_MANAGED_BY, LABEL_SERVICE_NAME,
};
use super::*;

const MAX: usize = MAX_ENDPOINTS_PER_SLICE;

/// What the API server would store for a planned create or update.
fn stored(mut s: EndpointSlice, name: &str) -> EndpointSlice {
    if s.metadata.name.is_none() {
        s.metadata.name = Some(name.into());
        s.metadata.uid = Some(format!("uid-{name}"));
    }
    s.metadata.resource_version = Some("1".into());
    s
}

fn names(s: &EndpointSlice) -> Vec<String> {
    s.endpoints
        .iter()
        .filter_map(|e| e.target_ref.as_ref()?.name.clone())
        .collect()
}

fn pods(list: &[P]) -> Vec<Pod> {
    list.iter().map(|x| pod(*x)).collect()
}

fn run(svc: &Service, pods: &[Pod], existing: &[EndpointSlice]) -> Plan {
    let pr: Vec<&Pod> = pods.iter().collect();
    let er: Vec<&EndpointSlice> = existing.iter().collect();
    plan(svc, &pr, &er, MAX)
}

/// Apply a plan to a set of stored slices, as the API server would.
fn apply(existing: &[EndpointSlice], plan: &Plan) -> Vec<EndpointSlice> {
    let mut out: Vec<EndpointSlice> = existing
        .iter()
        .filter(|s| {
            !plan
                .delete
                .iter()
                .any(|d| d.metadata.name == s.metadata.name)
        })
        .filter(|s| {
            !plan
                .update
                .iter()
                .any(|u| u.metadata.name == s.metadata.name)
        })
        .cloned()
        .collect();
    out.extend(plan.update.iter().cloned());
    for (i, c) in plan.create.iter().enumerate() {
        out.push(stored(c.clone(), &format!("web-new{i}-{}", existing.len())));
    }
    out
}

fn three() -> Vec<Pod> {
    pods(&[p("a", "10.0.0.1"), p("b", "10.0.0.2"), p("c", "10.0.0.3")])
}

#[test]
fn first_sync_creates_one_slice() {
    let plan = run(&web(), &three(), &[]);
    assert_eq!(
        (plan.create.len(), plan.update.len(), plan.delete.len()),
        (1, 0, 0)
    );
    let s = &plan.create[0];
    assert_eq!(s.metadata.generate_name.as_deref(), Some("web-"));
    assert_eq!(s.metadata.name, None);
    assert_eq!(s.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(s.address_type, IPV4);
    let labels = s.metadata.labels.clone().unwrap();
    assert_eq!(labels[LABEL_SERVICE_NAME], "web");
    assert_eq!(labels[LABEL_MANAGED_BY], CONTROLLER_NAME);
    let o = &s.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            o.api_version.as_str(),
            o.kind.as_str(),
            o.name.as_str(),
            o.uid.as_str()
        ),
        ("v1", "Service", "web", "svc-uid")
    );
    assert_eq!(
        (o.controller, o.block_owner_deletion),
        (Some(true), Some(true))
    );
    let port = &s.ports.as_ref().unwrap()[0];
    assert_eq!(
        (port.name.as_deref(), port.port, port.protocol.as_deref()),
        (Some("http"), Some(8080), Some("TCP"))
    );
    assert_eq!(names(s), vec!["a", "b", "c"]);
}

#[test]
fn table() {
    // Each case: the pods before, the pods after, the expected writes
    // (creates, updates, deletes) for going from one to the other.
    struct Case {
        what: &'static str,
        svc: Service,
        before: Vec<Pod>,
        after: Vec<Pod>,
        writes: (usize, usize, usize),
    }
    let mut relabelled = web();
    relabelled.metadata.labels = Some(
        [("app".to_string(), "v2".to_string())]
            .into_iter()
            .collect(),
    );
    let retargeted = svc(json!({
        "selector": {"app": "web"}, "clusterIP": "10.96.0.10", "ipFamilies": ["IPv4"],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 9000}],
    }));
    let cases = vec![
        Case {
            what: "nothing changed",
            svc: web(),
            before: three(),
            after: three(),
            writes: (0, 0, 0),
        },
        Case {
            what: "a pod turns unready",
            svc: web(),
            before: three(),
            after: pods(&[
                p("a", "10.0.0.1"),
                P {
                    ready: false,
                    ..p("b", "10.0.0.2")
                },
                p("c", "10.0.0.3"),
            ]),
            writes: (0, 1, 0),
        },
        Case {
            what: "a pod terminates",
            svc: web(),
            before: three(),
            after: pods(&[
                p("a", "10.0.0.1"),
                P {
                    terminating: true,
                    ..p("b", "10.0.0.2")
                },
                p("c", "10.0.0.3"),
            ]),
            writes: (0, 1, 0),
        },
        Case {
            what: "a pod joins",
            svc: web(),
            before: three(),
            after: pods(&[
                p("a", "10.0.0.1"),
                p("b", "10.0.0.2"),
                p("c", "10.0.0.3"),
                p("d", "10.0.0.4"),
            ]),
            writes: (0, 1, 0),
        },
        Case {
            what: "all pods replaced (selector change): one slice rewritten in place",
            svc: web(),
            before: three(),
            after: pods(&[p("x", "10.0.1.1"), p("y", "10.0.1.2")]),
            writes: (0, 1, 0),
        },
        Case {
            what: "all pods gone: the slice becomes the placeholder",
            svc: web(),
            before: three(),
            after: vec![],
            writes: (0, 1, 0),
        },
        Case {
            what: "placeholder stays",
            svc: web(),
            before: vec![],
            after: vec![],
            writes: (0, 0, 0),
        },
        Case {
            what: "pods appear: the placeholder is reused",
            svc: web(),
            before: vec![],
            after: three(),
            writes: (0, 1, 0),
        },
        Case {
            what: "Service labels change",
            svc: relabelled,
            before: three(),
            after: three(),
            writes: (0, 1, 0),
        },
        Case {
            what: "targetPort changes",
            svc: retargeted,
            before: three(),
            after: three(),
            writes: (0, 1, 0),
        },
        Case {
            what: "a pod loses its IP",
            svc: web(),
            before: three(),
            after: pods(&[p("a", "10.0.0.1"), p("b", ""), p("c", "10.0.0.3")]),
            writes: (0, 1, 0),
        },
    ];
    for c in cases {
        let initial = apply(&[], &run(&web(), &c.before, &[]));
        let plan = run(&c.svc, &c.after, &initial);
        assert_eq!(
            (plan.create.len(), plan.update.len(), plan.delete.len()),
            c.writes,
            "{}: {plan:#?}",
            c.what
        );
        // After the writes the slices say exactly what the pods say.
        let now = apply(&initial, &plan);
        assert!(
            run(&c.svc, &c.after, &now).is_empty(),
            "{}: not converged",
            c.what
        );
        let want: Vec<String> = c
            .after
            .iter()
            .filter(|p| desired::should_be_in_endpoints(p, true))
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        let mut got: Vec<String> = now.iter().flat_map(names).collect();
        got.sort();
        assert_eq!(got, want, "{}", c.what);
        assert_eq!(now.len(), 1, "{}: one slice", c.what);
        for u in &plan.update {
            assert!(
                u.metadata.resource_version.is_some(),
                "{}: update without rv",
                c.what
            );
        }
    }
}

fn many(n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| {
            let name: &'static str = Box::leak(format!("p{i:04}").into_boxed_str());
            let ip: &'static str =
                Box::leak(format!("10.1.{}.{}", i / 250, i % 250).into_boxed_str());
            pod(p(name, ip))
        })
        .collect()
}

#[test]
fn at_most_max_endpoints_per_slice() {
    let all = many(250);
    let plan = run(&web(), &all, &[]);
    let mut sizes: Vec<usize> = plan.create.iter().map(|s| s.endpoints.len()).collect();
    sizes.sort();
    assert_eq!(sizes, vec![50, 100, 100]);
    let slices = apply(&[], &plan);
    assert!(run(&web(), &all, &slices).is_empty());

    // 30 more fit into the half-full slice without touching the full ones.
    let more = many(280);
    let plan = run(&web(), &more, &slices);
    assert_eq!(
        (plan.create.len(), plan.update.len(), plan.delete.len()),
        (0, 1, 0)
    );
    assert_eq!(plan.update[0].endpoints.len(), 80);

    // 80 more do not fit: the half-full one is topped up only if it is
    // being written anyway, so a new slice takes them.
    let plan = run(&web(), &many(330), &slices);
    let sizes: Vec<usize> = plan.create.iter().map(|s| s.endpoints.len()).collect();
    assert_eq!(sizes, vec![80]);
    assert!(plan.update.is_empty());
}

#[test]
fn slices_of_others_and_of_other_families_are_deleted() {
    let mine = apply(&[], &run(&web(), &three(), &[]));
    let mut foreign = mine[0].clone();
    foreign.metadata.name = Some("web-old".into());
    foreign.metadata.owner_references.as_mut().unwrap()[0].uid = "old-uid".into();
    let mut v6 = mine[0].clone();
    v6.metadata.name = Some("web-v6".into());
    v6.address_type = IPV6.into();
    let mut all = mine.clone();
    all.push(foreign);
    all.push(v6);
    let plan = run(&web(), &three(), &all);
    let deleted: Vec<&str> = plan
        .delete
        .iter()
        .filter_map(|s| s.metadata.name.as_deref())
        .collect();
    assert_eq!(deleted.len(), 2);
    assert!(deleted.contains(&"web-old") && deleted.contains(&"web-v6"));
    assert!(plan.create.is_empty() && plan.update.is_empty());
}

#[test]
fn placeholder_for_a_service_without_pods() {
    let plan = run(&web(), &[], &[]);
    assert_eq!(plan.create.len(), 1);
    let s = &plan.create[0];
    assert!(s.endpoints.is_empty());
    assert!(s.ports.as_ref().is_none_or(Vec::is_empty));
    assert_eq!(s.address_type, IPV4);
}

#[test]
fn duplicated_endpoints_are_dropped() {
    let mut slices = apply(&[], &run(&web(), &three(), &[]));
    let dup = slices[0].endpoints[0].clone();
    slices[0].endpoints.push(dup);
    let plan = run(&web(), &three(), &slices);
    assert_eq!(plan.update.len(), 1);
    assert_eq!(plan.update[0].endpoints.len(), 3);
}
