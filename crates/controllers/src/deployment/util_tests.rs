use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::{json, Value};

use super::*;

fn deployment(replicas: i32, strategy: Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "d-uid"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": "demo:v1"}]}},
            "strategy": strategy,
        }
    }))
    .expect("deployment")
}

fn rolling(surge: Value, unavailable: Value) -> Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
}

/// §10.3: surge rounds up, unavailable rounds down, both 0 → unavailable 1,
/// unavailable capped at replicas, nothing for Recreate.
#[test]
fn fenceposts() {
    let cases: &[(i32, Value, (i32, i32))] = &[
        (1, rolling(json!("25%"), json!("25%")), (1, 0)),
        (3, rolling(json!("25%"), json!("25%")), (1, 0)),
        (4, rolling(json!("25%"), json!("25%")), (1, 1)),
        (10, rolling(json!("25%"), json!("25%")), (3, 2)),
        (3, rolling(json!(0), json!("25%")), (0, 1)),
        (10, rolling(json!(2), json!(0)), (2, 0)),
        (10, rolling(json!("33%"), json!("33%")), (4, 3)),
        (2, rolling(json!(0), json!(5)), (0, 2)),
        (0, rolling(json!("25%"), json!("25%")), (0, 0)),
        (5, json!({"type": "Recreate"}), (0, 0)),
        // Defaults when the server left them out.
        (10, json!({"type": "RollingUpdate"}), (3, 2)),
    ];
    for (replicas, strategy, want) in cases {
        let d = deployment(*replicas, strategy.clone());
        assert_eq!(
            (max_surge(&d), max_unavailable(&d)),
            *want,
            "replicas {replicas} strategy {strategy}"
        );
    }
}

#[test]
fn scaled_values() {
    let pct = |s: &str| IntOrString::String(s.into());
    assert_eq!(scaled_value(&pct("25%"), 3, true), Some(1));
    assert_eq!(scaled_value(&pct("25%"), 3, false), Some(0));
    assert_eq!(scaled_value(&pct("100%"), 7, false), Some(7));
    assert_eq!(scaled_value(&IntOrString::Int(4), 100, true), Some(4));
    assert_eq!(scaled_value(&pct("25"), 3, true), None);
    assert_eq!(resolve_fenceposts(None, None, 10), (0, 1));
}

/// §10.2: digits map to `4 5 6 7 8 9 b c d f`.
#[test]
fn safe_encoding_and_hash() {
    assert_eq!(safe_encode("0123456789"), "456789bcdf");
    let t: PodTemplateSpec = serde_json::from_value(json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "demo:v1"}]}
    }))
    .expect("template");
    let h = compute_hash(&t, None);
    assert_eq!(h, compute_hash(&t.clone(), None), "stable");
    assert!(!h.is_empty() && h.len() <= 10, "{h}");
    assert!(h.chars().all(|c| "456789bcdf".contains(c)), "{h}");
    assert_ne!(h, compute_hash(&t, Some(1)), "collision count changes it");
    assert_ne!(compute_hash(&t, Some(1)), compute_hash(&t, Some(2)));
    let mut t2 = t.clone();
    t2.spec.as_mut().expect("spec").containers[0].image = Some("demo:v2".into());
    assert_ne!(h, compute_hash(&t2, None));
}

#[test]
fn template_equality_ignores_hash_and_empties() {
    let a: PodTemplateSpec = serde_json::from_value(json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "demo:v1"}]}
    }))
    .expect("a");
    let b: PodTemplateSpec = serde_json::from_value(json!({
        "metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}, "annotations": {}},
        "spec": {"containers": [{"name": "c", "image": "demo:v1", "args": []}]}
    }))
    .expect("b");
    assert!(equal_ignore_hash(&a, &b));
    let mut c = a.clone();
    c.spec.as_mut().expect("spec").containers[0].image = Some("demo:v2".into());
    assert!(!equal_ignore_hash(&a, &c));
}

#[test]
fn revision_history_is_bounded() {
    assert_eq!(append_revision_history("", "1", 2000).as_deref(), Some("1"));
    assert_eq!(
        append_revision_history("1,2", "3", 2000).as_deref(),
        Some("1,2,3")
    );
    assert_eq!(
        append_revision_history("1,2,3", "4", 5).as_deref(),
        Some("2,3,4")
    );
    assert_eq!(append_revision_history("1", "123456", 3), None);
}

fn rs(annotations: Value) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {"name": "web-1", "annotations": annotations, "labels": {"app": "web"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}}
    }))
    .expect("rs")
}

/// §10.4: copy everything but the skip list; a roll back raises the
/// revision and remembers the old one; new ones get replica annotations.
#[test]
fn new_replica_set_annotations() {
    let mut d = deployment(3, rolling(json!("25%"), json!("25%")));
    d.metadata.annotations = Some(
        [
            ("kubernetes.io/change-cause", "set image"),
            ("kubectl.kubernetes.io/last-applied-configuration", "{}"),
            (REVISION, "7"),
            (ROLLBACK_TO, "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    let mut fresh = rs(json!({}));
    assert!(set_new_rs_annotations(&d, &mut fresh, 3, false));
    assert_eq!(
        serde_json::to_value(&fresh.metadata.annotations).expect("json"),
        json!({
            "kubernetes.io/change-cause": "set image",
            REVISION: "3",
            DESIRED_REPLICAS: "3",
            MAX_REPLICAS: "4",
        })
    );
    assert!(
        !set_new_rs_annotations(&d, &mut fresh, 3, true),
        "idempotent"
    );

    let mut old = rs(json!({REVISION: "1", REVISION_HISTORY: ""}));
    assert!(set_new_rs_annotations(&d, &mut old, 3, true));
    assert_eq!(annotation(&old, REVISION), Some("3"));
    assert_eq!(annotation(&old, REVISION_HISTORY), Some("1"));
    let mut again = rs(json!({REVISION: "3", REVISION_HISTORY: "1"}));
    set_new_rs_annotations(&d, &mut again, 5, true);
    assert_eq!(annotation(&again, REVISION_HISTORY), Some("1,3"));
    // Never lowered.
    let mut newer = rs(json!({REVISION: "9"}));
    set_new_rs_annotations(&d, &mut newer, 5, true);
    assert_eq!(annotation(&newer, REVISION), Some("9"));
}

#[test]
fn revisions() {
    assert_eq!(revision(&rs(json!({}))), Some(0));
    assert_eq!(revision(&rs(json!({REVISION: "x"}))), None);
    let all = [
        rs(json!({REVISION: "2"})),
        rs(json!({REVISION: "x"})),
        rs(json!({REVISION: "11"})),
    ];
    assert_eq!(max_revision(all.iter()), 11);
}

#[test]
fn conditions_keep_transition_time_on_reason_change() {
    let t0 = Timestamp::from_second(1_000).expect("t0");
    let t1 = Timestamp::from_second(2_000).expect("t1");
    let mut st = DeploymentStatus::default();
    set_condition(
        &mut st,
        new_condition("Progressing", "True", "A", "a".into(), t0),
    );
    set_condition(
        &mut st,
        new_condition("Available", "True", "B", "b".into(), t0),
    );
    // Same status and reason: nothing changes.
    set_condition(
        &mut st,
        new_condition("Progressing", "True", "A", "x".into(), t1),
    );
    assert_eq!(
        st.conditions.as_ref().expect("c")[0].message.as_deref(),
        Some("a")
    );
    // Reason change: moves to the end, transition time kept.
    set_condition(
        &mut st,
        new_condition("Progressing", "True", "C", "c".into(), t1),
    );
    let c = st.conditions.as_ref().expect("c");
    assert_eq!(c[1].type_, "Progressing");
    assert_eq!(c[1].last_transition_time, Some(Time(t0)));
    assert_eq!(c[1].last_update_time, Some(Time(t1)));
    // Status change: new transition time.
    set_condition(
        &mut st,
        new_condition("Progressing", "False", "D", "d".into(), t1),
    );
    let c = get_condition(&st, "Progressing").expect("p");
    assert_eq!(c.last_transition_time, Some(Time(t1)));
}

#[test]
fn claims() {
    let sel = Selector::try_from(LabelSelector {
        match_labels: Some([("app".to_string(), "web".to_string())].into()),
        ..Default::default()
    })
    .expect("selector");
    let mk = |owner: Option<&str>, app: &str| -> ReplicaSet {
        let mut r = rs(json!({}));
        r.metadata.labels = Some([("app".to_string(), app.to_string())].into());
        r.metadata.owner_references = owner.map(|u| {
            vec![OwnerReference {
                uid: u.into(),
                controller: Some(true),
                ..Default::default()
            }]
        });
        r
    };
    assert_eq!(claim("d", false, &sel, &mk(Some("d"), "web")), Claim::Owned);
    assert_eq!(
        claim("d", false, &sel, &mk(Some("d"), "db")),
        Claim::Release
    );
    assert_eq!(claim("d", true, &sel, &mk(Some("d"), "db")), Claim::Ignore);
    assert_eq!(
        claim("d", false, &sel, &mk(Some("x"), "web")),
        Claim::Ignore
    );
    assert_eq!(claim("d", false, &sel, &mk(None, "web")), Claim::Adopt);
    assert_eq!(claim("d", true, &sel, &mk(None, "web")), Claim::Ignore);
    assert_eq!(claim("d", false, &sel, &mk(None, "db")), Claim::Ignore);
}
