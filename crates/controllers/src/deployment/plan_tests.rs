//! Table tests of the planner against the worked examples of KUBE_API.md
//! §10.3–10.9, plus a simulated cluster that runs whole rollouts and checks
//! the surge/availability bounds at every step.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};

use super::*;
use crate::deployment::util::{self, reason};

const T0: i64 = 1_700_000_000;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(T0 + secs).expect("time")
}

fn deployment(replicas: i32, image: &str, strategy: Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": image}]}},
            "strategy": strategy,
            "progressDeadlineSeconds": 600,
            "revisionHistoryLimit": 10,
        }
    }))
    .expect("deployment")
}

fn rolling(surge: Value, unavailable: Value) -> Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
}

fn defaults() -> Value {
    rolling(json!("25%"), json!("25%"))
}

/// A ReplicaSet of `web` running `image`, settled: `replicas` pods of which
/// `available` are available.
fn replica_set(
    name: &str,
    image: &str,
    replicas: i32,
    available: i32,
    revision: i64,
    created: i64,
) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {
            "name": name, "namespace": "default", "uid": format!("{name}-uid"),
            "generation": 1, "resourceVersion": "1",
            "creationTimestamp": Time(at(created)),
            "labels": {"app": "web", "pod-template-hash": name},
            "annotations": {
                util::REVISION: revision.to_string(),
                util::DESIRED_REPLICAS: replicas.to_string(),
            },
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                 "uid": "d-uid", "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": name}},
            "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": name}},
                         "spec": {"containers": [{"name": "c", "image": image}]}},
        },
        "status": {"replicas": replicas, "readyReplicas": available,
                   "availableReplicas": available, "observedGeneration": 1},
    }))
    .expect("replica set")
}

fn run(d: &Deployment, rss: Vec<ReplicaSet>, now: Timestamp) -> Plan {
    plan(Input {
        deployment: d,
        replica_sets: rss,
        pods: &[],
        now,
    })
}

fn events(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .filter_map(|s| match s {
            Step::Event { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// `name: replicas` of every ReplicaSet write.
fn writes(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .filter_map(|s| match s {
            Step::Create(rs) => Some(format!(
                "create {}: {}",
                rs.metadata.name.as_deref().unwrap_or(""),
                util::rs_replicas(rs)
            )),
            Step::Update(rs) => Some(format!(
                "{}: {}",
                rs.metadata.name.as_deref().unwrap_or(""),
                util::rs_replicas(rs)
            )),
            Step::Delete { name, .. } => Some(format!("delete {name}")),
            Step::Event { .. } => None,
        })
        .collect()
}

fn status(p: &Plan) -> DeploymentStatus {
    p.deployment
        .as_ref()
        .and_then(|d| d.status.clone())
        .expect("status written")
}

/// `type=status/reason` of every condition, in order.
fn conditions(st: &DeploymentStatus) -> Vec<String> {
    st.conditions
        .iter()
        .flatten()
        .map(|c| {
            format!(
                "{}={}/{}",
                c.type_,
                c.status,
                c.reason.as_deref().unwrap_or("")
            )
        })
        .collect()
}

fn progressing(st: &DeploymentStatus) -> k8s_openapi::api::apps::v1::DeploymentCondition {
    util::get_condition(st, reason::PROGRESSING)
        .cloned()
        .expect("Progressing")
}

// === §10.2, §10.4: the first ReplicaSet ===

#[test]
fn new_deployment_creates_named_replica_set() {
    let mut d = deployment(3, "demo:v1", defaults());
    d.metadata.annotations = Some(BTreeMap::from([
        (
            "kubernetes.io/change-cause".to_string(),
            "first".to_string(),
        ),
        (
            "kubectl.kubernetes.io/last-applied-configuration".to_string(),
            "{}".to_string(),
        ),
    ]));
    let p = run(&d, vec![], at(0));
    let Some(Step::Create(rs)) = p.steps.first() else {
        panic!("expected a create: {:?}", p.steps)
    };
    let hash = util::compute_hash(&util::template(&d), None);
    let name = format!("web-{hash}");
    assert_eq!(rs.metadata.name.as_deref(), Some(name.as_str()));
    assert_eq!(
        serde_json::to_value(rs).expect("json"),
        json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name, "namespace": "default",
                "labels": {"app": "web", "pod-template-hash": hash},
                "annotations": {
                    "kubernetes.io/change-cause": "first",
                    util::REVISION: "1",
                    util::DESIRED_REPLICAS: "3",
                    util::MAX_REPLICAS: "4",
                },
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                     "uid": "d-uid", "controller": true, "blockOwnerDeletion": true}],
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}},
                "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": hash}},
                             "spec": {"containers": [{"name": "c", "image": "demo:v1"}]}},
            },
        })
    );
    assert_eq!(events(&p), [format!("Scaled up replica set {name} to 3")]);
    let d2 = p.deployment.as_ref().expect("deployment written");
    assert_eq!(
        d2.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(util::REVISION))
            .map(String::as_str),
        Some("1")
    );
    let st = status(&p);
    assert_eq!(st.observed_generation, Some(1));
    assert_eq!(
        conditions(&st),
        [
            "Progressing=True/NewReplicaSetCreated",
            "Available=False/MinimumReplicasUnavailable"
        ]
    );
    assert_eq!(
        progressing(&st).message.as_deref(),
        Some(format!("Created new replica set \"{name}\"").as_str())
    );
    // Look again when the deadline would pass.
    assert_eq!(p.requeue_after, Some(Duration::from_secs(601)));
}

#[test]
fn selecting_everything_only_observes() {
    let mut d = deployment(3, "demo:v1", defaults());
    d.spec.as_mut().expect("spec").selector = Default::default();
    d.metadata.generation = Some(4);
    let p = run(&d, vec![], at(0));
    assert_eq!(writes(&p), Vec::<String>::new());
    assert_eq!(
        events(&p),
        ["This deployment is selecting all pods. A non-empty selector is required."]
    );
    assert_eq!(status(&p).observed_generation, Some(4));
}

// === §10.6: RollingUpdate step by step ===

/// A stand-in cluster: applies plans, lets the ReplicaSet controller
/// catch up (pods appear not ready, old pods go) and pods become ready.
struct World {
    d: Deployment,
    rss: Vec<ReplicaSet>,
    now: i64,
    log: Vec<String>,
    uid: u32,
}

impl World {
    fn new(d: Deployment, rss: Vec<ReplicaSet>) -> World {
        World {
            d,
            rss,
            now: 100,
            log: Vec::new(),
            uid: 0,
        }
    }

    /// One sync; true when it wrote a ReplicaSet.
    fn sync(&mut self) -> bool {
        self.now += 1;
        let p = run(&self.d, self.rss.clone(), at(self.now));
        let mut wrote = false;
        for step in p.steps {
            match step {
                Step::Create(mut rs) => {
                    self.uid += 1;
                    rs.metadata.uid = Some(format!("new-{}", self.uid));
                    rs.metadata.creation_timestamp = Some(Time(at(self.now)));
                    rs.metadata.generation = Some(1);
                    self.rss.push(rs);
                    wrote = true;
                }
                Step::Update(rs) => {
                    let slot = self
                        .rss
                        .iter_mut()
                        .find(|r| r.metadata.name == rs.metadata.name)
                        .expect("updated replica set exists");
                    *slot = rs;
                    wrote = true;
                }
                Step::Delete { name, .. } => {
                    self.rss
                        .retain(|r| r.metadata.name.as_deref() != Some(&name));
                    wrote = true;
                }
                Step::Event { message, .. } => self.log.push(message),
            }
        }
        if let Some(d) = p.deployment {
            self.d = d;
        }
        wrote
    }

    /// The ReplicaSet controller catches up: surplus pods go (not-ready
    /// ones first), missing pods appear not ready.
    fn pods_created(&mut self) {
        for rs in &mut self.rss {
            let want = util::rs_replicas(rs);
            let st = rs.status.get_or_insert_with(Default::default);
            let available = st.available_replicas.unwrap_or(0).min(want);
            st.replicas = want;
            st.available_replicas = Some(available);
            st.ready_replicas = Some(available);
            st.observed_generation = rs.metadata.generation;
        }
    }

    fn pods_ready(&mut self) {
        for rs in &mut self.rss {
            let st = rs.status.get_or_insert_with(Default::default);
            st.available_replicas = Some(st.replicas);
            st.ready_replicas = Some(st.replicas);
        }
    }

    fn total(&self) -> i32 {
        self.rss.iter().map(util::rs_replicas).sum()
    }

    fn available(&self) -> i32 {
        self.rss.iter().map(util::rs_available).sum()
    }

    fn check(&self, surge: i32, unavailable: i32) {
        let want = util::replicas(&self.d);
        let pods: i32 = self.rss.iter().map(util::rs_status_replicas).sum();
        assert!(
            self.total() <= want + surge && pods <= want + surge,
            "surge exceeded: {:?}",
            self.log
        );
        assert!(
            self.available() >= want - unavailable,
            "availability below minimum: {:?}",
            self.log
        );
    }

    /// Run the rollout to the end, checking bounds at every observed state.
    fn roll(&mut self) {
        let (surge, unavailable) = (util::max_surge(&self.d), util::max_unavailable(&self.d));
        for _ in 0..200 {
            let wrote = self.sync();
            self.pods_created();
            self.check(surge, unavailable);
            self.sync();
            self.pods_ready();
            self.check(surge, unavailable);
            if !wrote && util::deployment_complete(&self.d, self.d.status.as_ref().expect("s")) {
                return;
            }
        }
        panic!("rollout did not finish: {:?}", self.log);
    }

    fn active(&self) -> Vec<String> {
        self.rss
            .iter()
            .filter(|r| util::rs_replicas(r) > 0)
            .map(|r| {
                format!(
                    "{}={}",
                    r.metadata.name.as_deref().unwrap_or(""),
                    util::rs_replicas(r)
                )
            })
            .collect()
    }
}

fn settled_update(replicas: i32, strategy: Value) -> World {
    let mut d = deployment(replicas, "demo:v2", strategy);
    d.metadata.generation = Some(2);
    let old = replica_set("web-old", "demo:v1", replicas, replicas, 1, 0);
    World::new(d, vec![old])
}

/// §10.6 example: replicas 3 with the defaults (surge 1, unavailable 0).
#[test]
fn rolling_update_steps_of_three() {
    let mut w = settled_update(3, defaults());
    w.roll();
    let new = w.rss[1].metadata.name.clone().expect("new name");
    assert_eq!(
        w.log,
        [
            format!("Scaled up replica set {new} to 1"),
            "Scaled down replica set web-old to 2 from 3".to_string(),
            format!("Scaled up replica set {new} to 2 from 1"),
            "Scaled down replica set web-old to 1 from 2".to_string(),
            format!("Scaled up replica set {new} to 3 from 2"),
            "Scaled down replica set web-old to 0 from 1".to_string(),
        ]
    );
    assert_eq!(w.active(), [format!("{new}=3")]);
    assert_eq!(util::annotation(&w.rss[1], util::REVISION), Some("2"));
    let st = w.d.status.clone().expect("status");
    assert_eq!(
        conditions(&st),
        [
            "Available=True/MinimumReplicasAvailable",
            "Progressing=True/NewReplicaSetAvailable"
        ]
    );
    assert_eq!(
        progressing(&st).message,
        Some(format!("ReplicaSet \"{new}\" has successfully progressed."))
    );
    assert_eq!(
        (
            st.replicas,
            st.updated_replicas,
            st.available_replicas,
            st.unavailable_replicas
        ),
        (Some(3), Some(3), Some(3), None)
    );
}

/// Issue 4 item 4: 1, 3, 4 and 10 replicas under several settings keep
/// total ≤ replicas + maxSurge and available ≥ replicas − maxUnavailable at
/// every step, and end with one active ReplicaSet.
#[test]
fn rolling_update_bounds() {
    let settings = [
        defaults(),
        rolling(json!(1), json!(0)),
        rolling(json!(0), json!(1)),
        rolling(json!(2), json!(0)),
        rolling(json!("50%"), json!("50%")),
        rolling(json!(0), json!("30%")),
        rolling(json!("100%"), json!(0)),
        rolling(json!(3), json!(2)),
    ];
    for replicas in [1, 3, 4, 10] {
        for s in &settings {
            let mut w = settled_update(replicas, s.clone());
            w.roll();
            assert_eq!(w.active().len(), 1, "replicas {replicas} {s}: {:?}", w.log);
            assert_eq!(w.total(), replicas);
        }
    }
}

/// Unavailable old pods go first, without waiting for new ones.
#[test]
fn unhealthy_old_replicas_are_cleaned_up_first() {
    let mut d = deployment(4, "demo:v2", rolling(json!(0), json!(1)));
    d.metadata.generation = Some(2);
    let old = replica_set("web-old", "demo:v1", 4, 2, 1, 0);
    let mut new = replica_set("web-new", "demo:v2", 0, 0, 2, 10);
    new.metadata
        .annotations
        .as_mut()
        .expect("a")
        .insert(util::DESIRED_REPLICAS.into(), "4".into());
    // maxScaledDown = 4 − 3 − 0 = 1: one unhealthy old replica goes.
    let p = run(&d, vec![old, new], at(20));
    assert_eq!(writes(&p), ["web-old: 3"]);
}

/// A new version that never becomes ready with maxUnavailable 0 keeps every
/// old pod.
#[test]
fn stalled_rollout_keeps_old_pods() {
    let mut w = settled_update(3, defaults());
    for _ in 0..5 {
        w.sync();
        w.pods_created();
    }
    assert_eq!(
        w.active(),
        [
            "web-old=3".to_string(),
            format!("{}=1", w.rss[1].metadata.name.as_deref().unwrap_or(""))
        ]
    );
}

/// Pods of a scaled-down ReplicaSet that are still there count against
/// maxSurge; once they are gone the new ReplicaSet grows.
#[test]
fn surge_counts_pods_not_yet_deleted() {
    let mut d = deployment(3, "demo:v2", defaults());
    d.metadata.generation = Some(2);
    // Old was just scaled 3 → 2; new has 1 available pod.
    let mut old = replica_set("web-old", "demo:v1", 2, 2, 1, 0);
    let mut new = replica_set("web-new", "demo:v2", 1, 1, 2, 10);
    for rs in [&mut old, &mut new] {
        rs.metadata
            .annotations
            .as_mut()
            .expect("a")
            .insert(util::DESIRED_REPLICAS.into(), "3".into());
    }
    let pod = |owner: &str, terminating: bool| PodInfo {
        owner_uid: format!("{owner}-uid"),
        phase: Some("Running".into()),
        terminating,
    };
    let lingering = [
        pod("web-old", false),
        pod("web-old", false),
        pod("web-old", false),
        pod("web-new", false),
    ];
    let p = plan(Input {
        deployment: &d,
        replica_sets: vec![old.clone(), new.clone()],
        pods: &lingering,
        now: at(20),
    });
    assert_eq!(writes(&p), Vec::<String>::new());
    // Terminating pods do not count (as upstream).
    let gone = [
        pod("web-old", false),
        pod("web-old", false),
        pod("web-old", true),
        pod("web-new", false),
    ];
    let p = plan(Input {
        deployment: &d,
        replica_sets: vec![old, new],
        pods: &gone,
        now: at(20),
    });
    assert_eq!(writes(&p), ["web-new: 2"]);
}

// === §10.5: proportional scaling ===

fn mid_rollout(
    replicas: i32,
    old: (i32, i32),
    new: (i32, i32),
    max_replicas: i32,
) -> (Deployment, Vec<ReplicaSet>) {
    let mut d = deployment(replicas, "demo:v2", rolling(json!(3), json!(0)));
    d.metadata.generation = Some(3);
    let mut o = replica_set("web-old", "demo:v1", old.0, old.0, 1, 0);
    let mut n = replica_set("web-new", "demo:v2", new.0, new.1, 2, 10);
    for rs in [&mut o, &mut n] {
        let a = rs.metadata.annotations.as_mut().expect("a");
        a.insert(
            util::DESIRED_REPLICAS.into(),
            (max_replicas - 3).to_string(),
        );
        a.insert(util::MAX_REPLICAS.into(), max_replicas.to_string());
    }
    (d, vec![o, n])
}

/// §10.5 worked example: 10 → 15 with maxSurge 3, old 8 + new 5.
#[test]
fn proportional_scale_up_10_to_15() {
    let (d, rss) = mid_rollout(15, (8, 8), (5, 0), 13);
    let p = run(&d, rss, at(20));
    assert_eq!(writes(&p), ["web-old: 11", "web-new: 7"]);
    assert_eq!(
        events(&p),
        [
            "Scaled up replica set web-old to 11 from 8",
            "Scaled up replica set web-new to 7 from 5"
        ]
    );
    for s in &p.steps {
        if let Step::Update(rs) = s {
            assert_eq!(util::annotation(rs, util::DESIRED_REPLICAS), Some("15"));
            assert_eq!(util::annotation(rs, util::MAX_REPLICAS), Some("18"));
        }
    }
}

/// And back down: 15 → 10 from old 11 + new 7 (max-replicas 18).
#[test]
fn proportional_scale_down_15_to_10() {
    let (d, rss) = mid_rollout(10, (11, 11), (7, 0), 18);
    let p = run(&d, rss, at(20));
    assert_eq!(writes(&p), ["web-old: 8", "web-new: 5"]);
}

/// Leftovers go to the largest ReplicaSet; scaling to 0 empties all.
#[test]
fn proportional_scale_leftovers_and_zero() {
    // 10 → 11 (allowed 14, current 13, +1): old round(8·14/13)=9 takes it.
    let (d, rss) = mid_rollout(11, (8, 8), (5, 0), 13);
    let p = run(&d, rss, at(20));
    assert_eq!(writes(&p), ["web-old: 9", "web-new: 5"]);
    let (d, rss) = mid_rollout(0, (8, 8), (5, 0), 13);
    let p = run(&d, rss, at(20));
    assert_eq!(writes(&p), ["web-old: 0", "web-new: 0"]);
}

/// One active ReplicaSet simply takes the new size.
#[test]
fn scaling_a_settled_deployment() {
    let d = deployment(5, "demo:v1", defaults());
    let rs = replica_set("web-a", "demo:v1", 3, 3, 1, 0);
    let p = run(&d, vec![rs], at(20));
    assert_eq!(writes(&p), ["web-a: 5"]);
    assert_eq!(events(&p), ["Scaled up replica set web-a to 5 from 3"]);
    // A scaling event writes counts only: no progress estimate beyond
    // noticing the new ReplicaSet.
    let c = progressing(&status(&p));
    assert_eq!(c.reason.as_deref(), Some(reason::FOUND_NEW_RS));
    assert_eq!(
        c.message.as_deref(),
        Some("Found new replica set \"web-a\"")
    );
}

// === §10.7: Recreate ===

#[test]
fn recreate_waits_for_old_pods() {
    let mut d = deployment(3, "demo:v2", json!({"type": "Recreate"}));
    d.metadata.generation = Some(2);
    let old = replica_set("web-old", "demo:v1", 3, 3, 1, 0);

    // 1. Scale the old ReplicaSet down; nothing new yet.
    let p = run(&d, vec![old.clone()], at(10));
    assert_eq!(writes(&p), ["web-old: 0"]);
    assert_eq!(events(&p), ["Scaled down replica set web-old to 0 from 3"]);

    // 2. Scaled down but still reporting pods: wait.
    let mut scaled = old.clone();
    util::set_rs_replicas(&mut scaled, 0);
    let p = run(&d, vec![scaled.clone()], at(11));
    assert_eq!(writes(&p), Vec::<String>::new());

    // 3. Status says 0 but a pod (terminating, Running) is still there.
    let st = scaled.status.as_mut().expect("status");
    st.replicas = 0;
    st.available_replicas = None;
    st.ready_replicas = None;
    let running = [PodInfo {
        owner_uid: "web-old-uid".into(),
        phase: Some("Running".into()),
        terminating: true,
    }];
    let p = plan(Input {
        deployment: &d,
        replica_sets: vec![scaled.clone()],
        pods: &running,
        now: at(12),
    });
    assert_eq!(writes(&p), Vec::<String>::new());

    // 4. Only finished pods left: the new ReplicaSet at full size.
    let failed = [PodInfo {
        owner_uid: "web-old-uid".into(),
        phase: Some("Failed".into()),
        terminating: false,
    }];
    let p = plan(Input {
        deployment: &d,
        replica_sets: vec![scaled],
        pods: &failed,
        now: at(13),
    });
    let w = writes(&p);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].starts_with("create web-") && w[0].ends_with(": 3"),
        "{w:?}"
    );
}

// === §10.8: revision history cleanup ===

#[test]
fn cleanup_keeps_revision_history_limit() {
    let mut d = deployment(3, "demo:v6", defaults());
    d.spec.as_mut().expect("spec").revision_history_limit = Some(2);
    let mut rss: Vec<ReplicaSet> = (1..=5)
        .map(|r| replica_set(&format!("web-r{r}"), &format!("demo:v{r}"), 0, 0, r, r))
        .collect();
    // Revision 2 still reports a pod: kept, and not replaced by revision 4.
    rss[1].status.as_mut().expect("status").replicas = 1;
    rss.push(replica_set("web-r6", "demo:v6", 3, 3, 6, 6));
    d.status = Some(DeploymentStatus {
        observed_generation: Some(1),
        replicas: Some(3),
        updated_replicas: Some(3),
        available_replicas: Some(3),
        ready_replicas: Some(3),
        ..Default::default()
    });
    let p = run(&d, rss.clone(), at(20));
    assert_eq!(writes(&p), ["delete web-r1", "delete web-r3"]);

    // No cleanup while the rollout is not complete.
    d.status.as_mut().expect("status").available_replicas = Some(2);
    let p = run(&d, rss, at(20));
    assert_eq!(writes(&p), Vec::<String>::new());
}

// === §10.4: undo ===

/// `rollout undo` puts revision 1's template back: that ReplicaSet becomes
/// the new one at revision 3 with revision-history "1".
#[test]
fn undo_bumps_old_replica_set_revision() {
    let mut d = deployment(3, "demo:v1", defaults());
    d.metadata.generation = Some(3);
    d.metadata.annotations = Some(BTreeMap::from([(
        util::REVISION.to_string(),
        "2".to_string(),
    )]));
    let v1 = replica_set("web-v1", "demo:v1", 0, 0, 1, 0);
    let v2 = replica_set("web-v2", "demo:v2", 3, 3, 2, 10);
    let mut w = World::new(d, vec![v1, v2]);
    w.roll();
    let v1 = &w.rss[0];
    assert_eq!(util::annotation(v1, util::REVISION), Some("3"));
    assert_eq!(util::annotation(v1, util::REVISION_HISTORY), Some("1"));
    assert_eq!(w.active(), ["web-v1=3"]);
    assert_eq!(
        w.d.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(util::REVISION))
            .map(String::as_str),
        Some("3")
    );
}

// === §10.9: conditions and the progress deadline ===

fn stuck(last_update: i64, reason_: &str, deadline: i32) -> (Deployment, Vec<ReplicaSet>) {
    let mut d = deployment(3, "demo:v2", defaults());
    d.metadata.generation = Some(2);
    d.spec.as_mut().expect("spec").progress_deadline_seconds = Some(deadline);
    let old = replica_set("web-old", "demo:v1", 3, 3, 1, 0);
    let mut new = replica_set("web-new", "demo:v2", 1, 0, 2, 10);
    new.metadata
        .annotations
        .as_mut()
        .expect("a")
        .insert(util::DESIRED_REPLICAS.into(), "3".into());
    new.metadata
        .annotations
        .as_mut()
        .expect("a")
        .insert(util::MAX_REPLICAS.into(), "4".into());
    let mut st = DeploymentStatus {
        observed_generation: Some(2),
        replicas: Some(4),
        updated_replicas: Some(1),
        ready_replicas: Some(3),
        available_replicas: Some(3),
        unavailable_replicas: Some(1),
        ..Default::default()
    };
    util::set_condition(
        &mut st,
        util::new_condition(
            reason::AVAILABLE,
            "True",
            reason::MINIMUM_REPLICAS_AVAILABLE,
            "Deployment has minimum availability.".into(),
            at(0),
        ),
    );
    util::set_condition(
        &mut st,
        util::new_condition(
            reason::PROGRESSING,
            "True",
            reason_,
            "x".into(),
            at(last_update),
        ),
    );
    d.status = Some(st);
    d.metadata.annotations = Some(BTreeMap::from([(
        util::REVISION.to_string(),
        "2".to_string(),
    )]));
    (d, vec![old, new])
}

#[test]
fn progress_deadline_exceeded_on_time() {
    // Updated 2 s ago with a 5 s deadline: look again in 3 + 1 s.
    let (d, rss) = stuck(100, reason::REPLICA_SET_UPDATED, 5);
    let p = run(&d, rss.clone(), at(102));
    assert!(
        p.deployment.is_none(),
        "nothing changed: {:?}",
        p.deployment
    );
    assert_eq!(p.requeue_after, Some(Duration::from_secs(4)));
    // Exactly at the deadline: not yet.
    let p = run(&d, rss.clone(), at(105));
    assert!(p.deployment.is_none());
    // Past it: timed out.
    let p = run(&d, rss.clone(), at(106));
    let st = status(&p);
    let c = progressing(&st);
    assert_eq!(
        (c.status.as_str(), c.reason.as_deref(), c.message.as_deref()),
        (
            "False",
            Some(reason::TIMED_OUT),
            Some("ReplicaSet \"web-new\" has timed out progressing.")
        )
    );
    assert_eq!(c.last_transition_time, Some(Time(at(106))));
    assert_eq!(p.requeue_after, None);
    // Old pods stay: nothing is scaled.
    assert_eq!(writes(&p), Vec::<String>::new());
}

#[test]
fn progress_refreshes_update_time_and_keeps_transition_time() {
    let (d, mut rss) = stuck(100, reason::NEW_RS_CREATED, 600);
    // The new pod became available: progress.
    rss[1].status.as_mut().expect("s").available_replicas = Some(1);
    rss[1].status.as_mut().expect("s").ready_replicas = Some(1);
    let p = run(&d, rss, at(130));
    let c = progressing(&status(&p));
    assert_eq!(c.reason.as_deref(), Some(reason::REPLICA_SET_UPDATED));
    assert_eq!(
        c.message.as_deref(),
        Some("ReplicaSet \"web-new\" is progressing.")
    );
    assert_eq!(c.last_update_time, Some(Time(at(130))));
    assert_eq!(c.last_transition_time, Some(Time(at(100))));
    // The old ReplicaSet was scaled down in the same sync.
    assert_eq!(writes(&p), ["web-old: 2"]);
}

#[test]
fn timed_out_is_not_overwritten_by_pause() {
    let (mut d, rss) = stuck(100, reason::TIMED_OUT, 5);
    d.spec.as_mut().expect("spec").paused = Some(true);
    let p = run(&d, rss, at(300));
    let st = p
        .deployment
        .and_then(|d| d.status)
        .or(d.status)
        .expect("status");
    assert_eq!(progressing(&st).reason.as_deref(), Some(reason::TIMED_OUT));
}

#[test]
fn paused_deployment_does_not_roll() {
    let mut d = deployment(3, "demo:v2", defaults());
    d.spec.as_mut().expect("spec").paused = Some(true);
    let old = replica_set("web-old", "demo:v1", 3, 3, 1, 0);
    let p = run(&d, vec![old.clone()], at(10));
    assert_eq!(writes(&p), Vec::<String>::new());
    let st = status(&p);
    let c = progressing(&st);
    assert_eq!(
        (c.status.as_str(), c.reason.as_deref(), c.message.as_deref()),
        (
            "Unknown",
            Some(reason::PAUSED),
            Some("Deployment is paused")
        )
    );
    assert_eq!(p.requeue_after, None);

    // Scaling still works while paused.
    let mut d5 = d.clone();
    d5.spec.as_mut().expect("spec").replicas = Some(5);
    let p = run(&d5, vec![old.clone()], at(11));
    assert_eq!(writes(&p), ["web-old: 5"]);

    // Resumed with the template changed while paused: the rollout starts.
    let mut resumed = d.clone();
    resumed.status = Some(st.clone());
    resumed.spec.as_mut().expect("spec").paused = None;
    let p = run(&resumed, vec![old.clone()], at(12));
    assert!(writes(&p)[0].starts_with("create web-"), "{:?}", writes(&p));
    assert_eq!(
        progressing(&status(&p)).reason.as_deref(),
        Some(reason::NEW_RS_CREATED)
    );

    // Resumed in the middle of a rollout that makes no progress: the
    // condition says so, and the deadline counts from now.
    let (mut mid, rss) = stuck(0, reason::REPLICA_SET_UPDATED, 600);
    mid.status.as_mut().expect("s").conditions = st.conditions.clone();
    let p = run(&mid, rss, at(12));
    let c = progressing(&status(&p));
    assert_eq!(
        (c.status.as_str(), c.reason.as_deref(), c.message.as_deref()),
        (
            "Unknown",
            Some(reason::RESUMED),
            Some("Deployment is resumed")
        )
    );
    assert_eq!(p.requeue_after, Some(Duration::from_secs(601)));
}

#[test]
fn found_new_replica_set_without_progressing_condition() {
    let d = deployment(3, "demo:v1", defaults());
    let mut rs = replica_set("web-a", "demo:v1", 3, 3, 1, 0);
    rs.metadata
        .annotations
        .as_mut()
        .expect("a")
        .insert(util::MAX_REPLICAS.into(), "4".into());
    let p = run(&d, vec![rs], at(10));
    assert_eq!(writes(&p), Vec::<String>::new());
    let st = status(&p);
    // Found, then immediately complete.
    assert_eq!(
        conditions(&st),
        [
            "Available=True/MinimumReplicasAvailable",
            "Progressing=True/NewReplicaSetAvailable"
        ]
    );
    assert_eq!(
        st.conditions.as_ref().expect("c")[1].last_transition_time,
        Some(Time(at(10)))
    );
    // A second sync over the written status changes nothing.
    let mut d2 = d.clone();
    d2.status = Some(st);
    d2.metadata.annotations = p.deployment.and_then(|d| d.metadata.annotations);
    let mut rs = replica_set("web-a", "demo:v1", 3, 3, 1, 0);
    rs.metadata
        .annotations
        .as_mut()
        .expect("a")
        .insert(util::MAX_REPLICAS.into(), "4".into());
    let p = run(&d2, vec![rs], at(20));
    assert!(p.deployment.is_none(), "{:?}", p.deployment);
    assert!(p.steps.is_empty());
}

#[test]
fn replica_failure_is_copied_from_new_replica_set() {
    let d = deployment(3, "demo:v1", defaults());
    let mut rs = replica_set("web-a", "demo:v1", 3, 0, 1, 0);
    rs.status.as_mut().expect("s").conditions =
        Some(vec![k8s_openapi::api::apps::v1::ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            reason: Some("FailedCreate".into()),
            message: Some("quota".into()),
            last_transition_time: Some(Time(at(5))),
        }]);
    let p = run(&d, vec![rs], at(10));
    let st = status(&p);
    let c = util::get_condition(&st, reason::REPLICA_FAILURE).expect("failure");
    assert_eq!(
        (c.reason.as_deref(), c.message.as_deref()),
        (Some("FailedCreate"), Some("quota"))
    );
    assert_eq!(c.last_update_time, Some(Time(at(5))));
}

#[test]
fn collision_count_changes_the_name() {
    let d = deployment(3, "demo:v1", defaults());
    let first = run(&d, vec![], at(0));
    let bumped = bump_collision_count(&d);
    assert_eq!(
        bumped.status.as_ref().and_then(|s| s.collision_count),
        Some(1)
    );
    let second = run(&bumped, vec![], at(0));
    assert_ne!(writes(&first), writes(&second));
}

#[test]
fn create_failure_condition() {
    let d = deployment(3, "demo:v1", defaults());
    let (next, msg) = create_failed(&d, "web-abc", "quota exceeded", at(0));
    assert_eq!(
        msg,
        "Failed to create new replica set \"web-abc\": quota exceeded"
    );
    let c = progressing(&next.and_then(|d| d.status).expect("status"));
    assert_eq!(
        (c.status.as_str(), c.reason.as_deref()),
        ("False", Some(reason::FAILED_RS_CREATE))
    );
}
