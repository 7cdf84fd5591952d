use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::core::Selector;
use serde_json::{json, Value};

use super::*;

fn now() -> Timestamp {
    "2025-01-01T12:00:00Z".parse().unwrap()
}

fn ago(secs: i64) -> String {
    (now() - SignedDuration::from_secs(secs)).to_string()
}

/// A pod described by a compact spec: `name`, then optional facts.
#[derive(Default, Clone)]
struct P {
    name: &'static str,
    node: &'static str,
    phase: &'static str,
    ready_since: Option<i64>,
    ready_no_time: bool,
    restarts: i32,
    created: Option<i64>,
    cost: Option<&'static str>,
}

fn pod(p: &P) -> Pod {
    let mut v = json!({
        "metadata": {"name": p.name, "uid": format!("uid-{}", p.name), "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": if p.phase.is_empty() { "Pending" } else { p.phase }},
    });
    if !p.node.is_empty() {
        v["spec"]["nodeName"] = json!(p.node);
    }
    if let Some(s) = p.ready_since {
        v["status"]["conditions"] =
            json!([{"type": "Ready", "status": "True", "lastTransitionTime": ago(s)}]);
    }
    if p.ready_no_time {
        v["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
    }
    if p.restarts > 0 {
        v["status"]["containerStatuses"] = json!([{
            "name": "c", "image": "i", "imageID": "", "ready": true, "restartCount": p.restarts
        }]);
    }
    if let Some(c) = p.created {
        v["metadata"]["creationTimestamp"] = json!(ago(c));
    }
    if let Some(c) = p.cost {
        v["metadata"]["annotations"] = json!({DELETION_COST: c});
    }
    serde_json::from_value(v).unwrap()
}

#[test]
fn slow_start_batch_sizes() {
    let cases: &[(usize, &[usize])] = &[
        (0, &[]),
        (1, &[1]),
        (2, &[1, 1]),
        (3, &[1, 2]),
        (7, &[1, 2, 4]),
        (10, &[1, 2, 4, 3]),
        (500, &[1, 2, 4, 8, 16, 32, 64, 128, 245]),
    ];
    for (count, want) in cases {
        assert_eq!(slow_start_batches(*count, 1), *want, "count {count}");
    }
    assert_eq!(slow_start_batches(10, 4), vec![4, 6]);
}

/// Each case: two pods (with node ranks) and which one goes first.
#[test]
fn deletion_preference() {
    let base = P {
        node: "n1",
        phase: "Running",
        ready_since: Some(100),
        created: Some(1000),
        ..Default::default()
    };
    let p = |f: fn(&mut P)| {
        let mut x = base.clone();
        f(&mut x);
        x
    };
    let cases: Vec<(&str, P, usize, P, usize)> = vec![
        ("unscheduled first", p(|x| x.node = ""), 1, base.clone(), 1),
        (
            "pending before running",
            p(|x| x.phase = "Pending"),
            1,
            base.clone(),
            1,
        ),
        (
            "pending before unknown",
            p(|x| x.phase = "Pending"),
            1,
            p(|x| x.phase = "Unknown"),
            1,
        ),
        (
            "unknown before running",
            p(|x| x.phase = "Unknown"),
            1,
            base.clone(),
            1,
        ),
        (
            "not ready before ready",
            p(|x| x.ready_since = None),
            1,
            base.clone(),
            1,
        ),
        (
            "lower deletion cost first",
            p(|x| x.cost = Some("-5")),
            1,
            base.clone(),
            1,
        ),
        ("crowded node first", base.clone(), 3, base.clone(), 1),
        (
            "ready for less time first",
            p(|x| x.ready_since = Some(10)),
            1,
            base.clone(),
            1,
        ),
        (
            "missing ready time first",
            p(|x| x.ready_no_time = true),
            1,
            base.clone(),
            1,
        ),
        (
            "more restarts first",
            p(|x| x.restarts = 4),
            1,
            p(|x| x.restarts = 1),
            1,
        ),
        (
            "newer first",
            p(|x| x.created = Some(10)),
            1,
            base.clone(),
            1,
        ),
        (
            "no creation time first",
            p(|x| x.created = None),
            1,
            base.clone(),
            1,
        ),
    ];
    for (what, a, ra, b, rb) in cases {
        let (mut a, mut b) = (a, b);
        a.name = "a";
        b.name = "b";
        let (pa, pb) = (pod(&a), pod(&b));
        assert_eq!(
            deletion_order(&(&pa, ra), &(&pb, rb), now()),
            Ordering::Less,
            "{what}"
        );
        assert_eq!(
            deletion_order(&(&pb, rb), &(&pa, ra), now()),
            Ordering::Greater,
            "{what} (reversed)"
        );
    }
}

#[test]
fn times_in_the_same_log_bucket_tie_on_uid() {
    // 100 s and 101 s ago share floor(log2(ns)); the UID decides.
    let a = pod(&P {
        name: "a",
        node: "n",
        phase: "Running",
        created: Some(100),
        ..Default::default()
    });
    let b = pod(&P {
        name: "b",
        node: "n",
        phase: "Running",
        created: Some(101),
        ..Default::default()
    });
    assert_eq!(deletion_order(&(&a, 1), &(&b, 1), now()), Ordering::Less);
    assert_eq!(deletion_order(&(&b, 1), &(&a, 1), now()), Ordering::Greater);
    // 10 s versus 1000 s ago are different buckets: newer first regardless of UID.
    let c = pod(&P {
        name: "c",
        node: "n",
        phase: "Running",
        created: Some(1000),
        ..Default::default()
    });
    let d = pod(&P {
        name: "d",
        node: "n",
        phase: "Running",
        created: Some(10),
        ..Default::default()
    });
    assert_eq!(deletion_order(&(&d, 1), &(&c, 1), now()), Ordering::Less);
}

#[test]
fn pods_to_delete_picks_the_best_candidates() {
    let running = |name, node| P {
        name,
        node,
        phase: "Running",
        ready_since: Some(500),
        created: Some(600),
        ..Default::default()
    };
    let pods: Vec<Pod> = [
        running("r1", "n1"),
        P {
            name: "pending",
            ..Default::default()
        },
        running("r2", "n2"),
        running("r3", "n2"),
        P {
            name: "notready",
            node: "n3",
            phase: "Running",
            created: Some(600),
            ..Default::default()
        },
    ]
    .iter()
    .map(pod)
    .collect();
    let refs: Vec<&Pod> = pods.iter().collect();
    let names = |n: usize| -> Vec<String> {
        pods_to_delete(&refs, &refs, n, now())
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect()
    };
    assert_eq!(names(1), ["pending"]);
    assert_eq!(names(2), ["pending", "notready"]);
    // n2 holds two pods, n1 one: r2 and r3 go before r1.
    assert_eq!(names(4), ["pending", "notready", "r2", "r3"]);
    assert_eq!(names(9).len(), 5);
}

#[test]
fn availability_honours_min_ready_seconds() {
    let ready = |s| {
        pod(&P {
            name: "p",
            ready_since: Some(s),
            ..Default::default()
        })
    };
    let cases: Vec<(&str, Pod, i32, bool)> = vec![
        (
            "not ready",
            pod(&P {
                name: "p",
                ..Default::default()
            }),
            0,
            false,
        ),
        ("ready, no minReadySeconds", ready(0), 0, true),
        ("ready 5s of 10s", ready(5), 10, false),
        ("ready exactly 10s of 10s", ready(10), 10, false),
        ("ready 11s of 10s", ready(11), 10, true),
        (
            "ready without transition time",
            pod(&P {
                name: "p",
                ready_no_time: true,
                ..Default::default()
            }),
            10,
            false,
        ),
    ];
    for (what, p, min_ready, want) in cases {
        assert_eq!(is_available(&p, min_ready, now()), want, "{what}");
    }
    assert_eq!(
        available_in(&ready(5), 10, now()),
        Some(Duration::from_millis(5100))
    );
    assert_eq!(available_in(&ready(11), 10, now()), None);
    assert_eq!(available_in(&ready(5), 0, now()), None);
    let (p1, p2) = (ready(2), ready(7));
    assert_eq!(
        next_available_in(&[&p1, &p2], 10, now()),
        Some(Duration::from_millis(3100))
    );
}

#[test]
fn active_pods() {
    let mut p = pod(&P {
        name: "p",
        phase: "Running",
        ..Default::default()
    });
    assert!(is_active(&p));
    p.metadata.deletion_timestamp = Some(Time(now()));
    assert!(!is_active(&p));
    for phase in ["Succeeded", "Failed"] {
        let p = pod(&P {
            name: "p",
            phase,
            ..Default::default()
        });
        assert!(!is_active(&p), "{phase}");
    }
}

fn rs(extra: Value) -> ReplicaSet {
    let mut v = json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "rs-uid", "generation": 2},
        "spec": {
            "replicas": 3,
            "minReadySeconds": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}}, "spec": {"containers": []}}
        }
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
    serde_json::from_value(v).unwrap()
}

#[test]
fn status_counts_and_failure_condition() {
    let r = rs(json!({}));
    let mut full = pod(&P {
        name: "a",
        ready_since: Some(60),
        ..Default::default()
    });
    full.metadata.labels =
        Some([("app".into(), "web".into()), ("tier".into(), "fe".into())].into());
    let young = pod(&P {
        name: "b",
        ready_since: Some(3),
        ..Default::default()
    });
    let unready = pod(&P {
        name: "c",
        ..Default::default()
    });
    let pods = [&full, &young, &unready];

    let s = calculate_status(&r, &pods, None, now());
    assert_eq!(s.replicas, 3);
    assert_eq!(s.fully_labeled_replicas, Some(1));
    assert_eq!(s.ready_replicas, Some(2));
    assert_eq!(s.available_replicas, Some(1));
    assert_eq!(s.conditions, None);
    assert!(status_changed(&r, &s));

    // Too few pods and an error: FailedCreate.
    let s = calculate_status(&r, &pods[..1], Some("quota exceeded"), now());
    let c = &s.conditions.clone().unwrap()[0];
    assert_eq!(
        (
            c.type_.as_str(),
            c.status.as_str(),
            c.reason.as_deref(),
            c.message.as_deref()
        ),
        (
            "ReplicaFailure",
            "True",
            Some("FailedCreate"),
            Some("quota exceeded")
        )
    );
    // An existing condition is kept as is on another error, dropped on success.
    let failing = rs(json!({"status": {"replicas": 1, "conditions": [c]}}));
    let again = calculate_status(&failing, &pods[..1], Some("other"), now());
    assert_eq!(
        again.conditions.unwrap()[0].message.as_deref(),
        Some("quota exceeded")
    );
    let ok = calculate_status(&failing, &pods[..1], None, now());
    assert_eq!(ok.conditions, None);

    // Too many pods and an error: FailedDelete.
    let four = [&full, &young, &unready, &full];
    let s = calculate_status(&r, &four, Some("boom"), now());
    assert_eq!(
        s.conditions.unwrap()[0].reason.as_deref(),
        Some("FailedDelete")
    );
}

#[test]
fn steady_state_needs_no_write() {
    let r = rs(json!({"status": {
        "replicas": 0, "fullyLabeledReplicas": 0, "readyReplicas": 0,
        "availableReplicas": 0, "observedGeneration": 2
    }}));
    let s = calculate_status(&r, &[], None, now());
    assert!(!status_changed(&r, &s));
    let stale = rs(json!({"status": {"replicas": 0, "observedGeneration": 1}}));
    assert!(status_changed(
        &stale,
        &calculate_status(&stale, &[], None, now())
    ));
}

#[test]
fn claims() {
    let sel = Selector::try_from(
        serde_json::from_value::<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>(
            json!({"matchLabels": {"app": "web"}}),
        )
        .unwrap(),
    )
    .unwrap();
    let with = |labels: Value, owner: Option<&str>, deleting: bool| {
        let mut v = json!({"metadata": {"name": "p", "uid": "p1", "labels": labels}});
        if let Some(o) = owner {
            v["metadata"]["ownerReferences"] = json!([{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x", "uid": o, "controller": true
            }]);
        }
        if deleting {
            v["metadata"]["deletionTimestamp"] = json!(ago(0));
        }
        serde_json::from_value::<Pod>(v).unwrap()
    };
    let web = json!({"app": "web"});
    let other = json!({"app": "db"});
    let cases: Vec<(&str, Pod, bool, Claim)> = vec![
        (
            "ours and selected",
            with(web.clone(), Some("rs"), false),
            false,
            Claim::Owned,
        ),
        (
            "ours, labels changed",
            with(other.clone(), Some("rs"), false),
            false,
            Claim::Release,
        ),
        (
            "ours, labels changed, rs deleting",
            with(other.clone(), Some("rs"), false),
            true,
            Claim::Ignore,
        ),
        (
            "someone else's",
            with(web.clone(), Some("x"), false),
            false,
            Claim::Ignore,
        ),
        (
            "matching orphan",
            with(web.clone(), None, false),
            false,
            Claim::Adopt,
        ),
        (
            "orphan, rs deleting",
            with(web.clone(), None, false),
            true,
            Claim::Ignore,
        ),
        (
            "terminating orphan",
            with(web.clone(), None, true),
            false,
            Claim::Ignore,
        ),
        (
            "non-matching orphan",
            with(other.clone(), None, false),
            false,
            Claim::Ignore,
        ),
    ];
    for (what, p, rs_deleting, want) in cases {
        assert_eq!(claim("rs", rs_deleting, &sel, &p), want, "{what}");
    }
}
