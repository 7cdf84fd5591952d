use std::sync::Arc;

use kube::api::{ApiResource, DynamicObject};
use serde_json::json;

use super::*;

fn res(kind: &str, plural: &str) -> Arc<Res> {
    Arc::new(Res {
        api: ApiResource {
            group: "apps".into(),
            version: "v1".into(),
            api_version: "apps/v1".into(),
            kind: kind.into(),
            plural: plural.into(),
        },
        namespaced: true,
    })
}

/// `uid`, owners as `(uid, blockOwnerDeletion)`, finalizers, deleting.
fn obj(uid: &str, owners: &[(&str, bool)], finalizers: &[&str], deleting: bool) -> DynamicObject {
    let refs: Vec<_> = owners
        .iter()
        .map(|(u, b)| json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": u, "uid": u, "blockOwnerDeletion": b}))
        .collect();
    let mut v = json!({
        "apiVersion": "apps/v1", "kind": "X",
        "metadata": {"name": uid, "namespace": "default", "uid": uid, "ownerReferences": refs, "finalizers": finalizers}
    });
    if deleting {
        v["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
    }
    serde_json::from_value(v).unwrap()
}

fn del(u: &str) -> Work {
    Work::Delete(u.into())
}

#[test]
fn owner_deletion_queues_its_dependents() {
    let (rs, pods) = (res("ReplicaSet", "replicasets"), res("Pod", "pods"));
    let mut g = Graph::default();
    assert!(g.apply(&rs, &obj("rs", &[], &[], false)).is_empty());
    assert!(g
        .apply(&pods, &obj("p1", &[("rs", true)], &[], false))
        .is_empty());
    assert!(g
        .apply(&pods, &obj("p2", &[("rs", false)], &[], false))
        .is_empty());
    assert_eq!(g.dependents("rs"), ["p1", "p2"]);
    let mut w = g.delete("rs");
    w.sort();
    assert_eq!(w, [del("p1"), del("p2")]);
    // Deleting an unknown object is a no-op.
    assert!(g.delete("rs").is_empty());
}

#[test]
fn foreground_owner_queues_itself_and_dependents_once() {
    let (rs, pods) = (res("ReplicaSet", "replicasets"), res("Pod", "pods"));
    let mut g = Graph::default();
    g.apply(&rs, &obj("rs", &[], &[], false));
    g.apply(&pods, &obj("p1", &[("rs", true)], &[], false));
    g.apply(&pods, &obj("p2", &[("rs", false)], &[], false));
    let w = g.apply(&rs, &obj("rs", &[], &[FOREGROUND], true));
    assert_eq!(w, [del("rs"), del("p1"), del("p2")]);
    // A later update (e.g. status) re-checks the owner only.
    assert_eq!(
        g.apply(&rs, &obj("rs", &[], &[FOREGROUND], true)),
        [del("rs")]
    );
    assert_eq!(g.blocking_dependents("rs"), [("p1".to_string(), false)]);
    // A blocking dependent going away re-checks the waiting owner.
    let mut w = g.delete("p1");
    w.sort();
    assert_eq!(w, [del("rs")]);
    assert!(g.blocking_dependents("rs").is_empty());
}

#[test]
fn dropping_an_owner_reference_rechecks_a_waiting_owner() {
    let (rs, pods) = (res("ReplicaSet", "replicasets"), res("Pod", "pods"));
    let mut g = Graph::default();
    g.apply(&rs, &obj("rs", &[], &[FOREGROUND], true));
    g.apply(&pods, &obj("p1", &[("rs", true)], &[], false));
    let w = g.apply(&pods, &obj("p1", &[], &[], false));
    assert_eq!(w, [del("rs")]);
    assert!(g.dependents("rs").is_empty());
}

#[test]
fn orphan_finalizer_queues_orphaning() {
    let rs = res("ReplicaSet", "replicasets");
    let mut g = Graph::default();
    g.apply(&rs, &obj("rs", &[], &[], false));
    assert_eq!(
        g.apply(&rs, &obj("rs", &[], &[ORPHAN], true)),
        [Work::Orphan("rs".into())]
    );
}

#[test]
fn unknown_owners_are_checked_once_synced() {
    let pods = res("Pod", "pods");
    let mut g = Graph::default();
    // Before every resource is listed, a missing owner may just not be seen yet.
    assert!(g
        .apply(&pods, &obj("p1", &[("gone", true)], &[], false))
        .is_empty());
    assert_eq!(g.mark_synced(), [del("p1")]);
    assert_eq!(
        g.apply(&pods, &obj("p2", &[("gone", true)], &[], false)),
        [del("p2")]
    );
}

#[test]
fn relist_deletes_what_it_did_not_see() {
    let (rs, pods) = (res("ReplicaSet", "replicasets"), res("Pod", "pods"));
    let mut g = Graph::default();
    g.apply(&rs, &obj("rs", &[], &[], false));
    g.apply(&pods, &obj("p1", &[("rs", true)], &[], false));
    g.init(&rs);
    assert!(g.init_done(&rs).contains(&del("p1")));
    assert!(g.node("rs").is_none());
    assert!(g.node("p1").is_some());
    // Removing a resource type drops its objects.
    g.remove_resource(&pods.key());
    assert!(g.node("p1").is_none());
    assert_eq!(g.len(), 0);
}
