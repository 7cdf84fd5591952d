//! In-flight creates and deletes per ReplicaSet (upstream
//! `ControllerExpectations`), so a reconcile that runs before the pod cache
//! has caught up with our own writes does not create or delete again.
//!
//! Upstream counts; we remember names and UIDs, which lets the check also
//! look at the pod cache itself: a relist after a watch gap replaces the cache
//! without replaying the events we were waiting for.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher;
use parking_lot::Mutex;
use tokio::time::Instant;

use super::pods::controller_of;

/// Upstream `ExpectationsTimeout`: after this long, act again regardless.
const TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Default)]
pub struct Expectations {
    by_rs: Mutex<HashMap<String, Pending>>,
}

struct Pending {
    /// Names of pods we created and have not seen yet.
    creates: HashSet<String>,
    /// UIDs of pods we deleted and still see as live.
    deletes: HashSet<String>,
    since: Instant,
}

impl Pending {
    fn new() -> Pending {
        Pending {
            creates: HashSet::new(),
            deletes: HashSet::new(),
            since: Instant::now(),
        }
    }
}

impl Expectations {
    /// Record a pod this ReplicaSet created.
    pub fn expect_create(&self, rs_uid: &str, pod_name: &str) {
        let mut m = self.by_rs.lock();
        let p = m.entry(rs_uid.to_string()).or_insert_with(Pending::new);
        p.creates.insert(pod_name.to_string());
        p.since = Instant::now();
    }

    /// Record a pod this ReplicaSet is about to delete.
    pub fn expect_delete(&self, rs_uid: &str, pod_uid: &str) {
        let mut m = self.by_rs.lock();
        let p = m.entry(rs_uid.to_string()).or_insert_with(Pending::new);
        p.deletes.insert(pod_uid.to_string());
        p.since = Instant::now();
    }

    /// A delete that failed (or found nothing) will never be observed.
    pub fn delete_done(&self, rs_uid: &str, pod_uid: &str) {
        if let Some(p) = self.by_rs.lock().get_mut(rs_uid) {
            p.deletes.remove(pod_uid);
        }
    }

    /// Lower expectations from a pod watch event (after the cache applied it).
    pub fn observe(&self, ev: &watcher::Event<Pod>) {
        let (pod, gone) = match ev {
            watcher::Event::Apply(p) | watcher::Event::InitApply(p) => (p, false),
            watcher::Event::Delete(p) => (p, true),
            watcher::Event::Init | watcher::Event::InitDone => return,
        };
        let Some(owner) = controller_of(pod.metadata.owner_references.as_ref()) else {
            return;
        };
        let mut m = self.by_rs.lock();
        let Some(p) = m.get_mut(&owner.uid) else {
            return;
        };
        if let Some(name) = &pod.metadata.name {
            p.creates.remove(name);
        }
        if gone || pod.metadata.deletion_timestamp.is_some() {
            if let Some(uid) = &pod.metadata.uid {
                p.deletes.remove(uid);
            }
        }
    }

    /// Whether the ReplicaSet may create or delete pods now. `seen(name)`
    /// says the pod cache holds a pod of that name; `live(uid)` says it holds
    /// that pod without a deletion timestamp.
    pub fn satisfied(
        &self,
        rs_uid: &str,
        seen: impl Fn(&str) -> bool,
        live: impl Fn(&str) -> bool,
    ) -> bool {
        let mut m = self.by_rs.lock();
        let Some(p) = m.get_mut(rs_uid) else {
            return true;
        };
        p.creates.retain(|n| !seen(n));
        p.deletes.retain(|u| live(u));
        let done = p.creates.is_empty() && p.deletes.is_empty();
        if done || p.since.elapsed() > TTL {
            m.remove(rs_uid);
            return true;
        }
        false
    }

    /// Drop state of ReplicaSets that no longer exist.
    pub fn retain(&self, exists: impl Fn(&str) -> bool) {
        self.by_rs.lock().retain(|uid, _| exists(uid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, uid: &str, owner: &str, deleting: bool) -> Pod {
        let mut v = serde_json::json!({
            "metadata": {"name": name, "uid": uid, "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": owner, "controller": true}
            ]}
        });
        if deleting {
            v["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z".into();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn creates_are_satisfied_by_events_or_by_the_cache() {
        let e = Expectations::default();
        e.expect_create("rs1", "a");
        e.expect_create("rs1", "b");
        assert!(!e.satisfied("rs1", |_| false, |_| true));
        e.observe(&watcher::Event::Apply(pod("a", "u1", "rs1", false)));
        assert!(!e.satisfied("rs1", |_| false, |_| true));
        // "b" is in the cache even though we never saw its event.
        assert!(e.satisfied("rs1", |n| n == "b", |_| true));
        // Nothing recorded: free to act.
        assert!(e.satisfied("rs2", |_| false, |_| true));
    }

    #[test]
    fn deletes_are_satisfied_by_terminating_or_missing_pods() {
        let e = Expectations::default();
        e.expect_delete("rs1", "u1");
        e.expect_delete("rs1", "u2");
        e.expect_delete("rs1", "u3");
        e.observe(&watcher::Event::Apply(pod("a", "u1", "rs1", true)));
        e.observe(&watcher::Event::Delete(pod("b", "u2", "rs1", false)));
        assert!(!e.satisfied("rs1", |_| true, |u| u == "u3"));
        e.delete_done("rs1", "u3");
        assert!(e.satisfied("rs1", |_| true, |_| true));
    }

    #[test]
    fn events_for_other_owners_do_not_count() {
        let e = Expectations::default();
        e.expect_create("rs1", "a");
        e.observe(&watcher::Event::Apply(pod("a", "u1", "other", false)));
        assert!(!e.satisfied("rs1", |_| false, |_| true));
    }
}
