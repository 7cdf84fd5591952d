//! One Deployment sync as a pure function: from the Deployment, the
//! ReplicaSets it owns and (for Recreate) the phases of their pods, to the
//! ReplicaSet writes, events, the Deployment's new annotations and status,
//! and when to look again. No IO; the adapter in `deployment.rs` applies the
//! plan in order and stops at the first failed write.
//!
//! The order of decisions is upstream's (`pkg/controller/deployment`:
//! `syncDeployment`, `sync.go`, `rolling.go`, `recreate.go`, `progress.go`;
//! KUBE_API.md §10.1–10.9). Upstream writes as it goes and keeps going with
//! what it wrote; here every write lands in an in-memory model first, so the
//! later decisions of the same sync see it, exactly as upstream's do.

use std::collections::HashSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::util::{self, reason};

/// Event reason of every scale written by the Deployment controller.
pub const SCALING_REPLICA_SET: &str = "ScalingReplicaSet";
/// Event reason for a Deployment whose selector is `{}`.
pub const SELECTING_ALL: &str = "SelectingAll";

/// A pod the Deployment's selector matches whose controller is one of the
/// Deployment's ReplicaSets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    /// UID of the controlling ReplicaSet.
    pub owner_uid: String,
    pub phase: Option<String>,
    /// `deletionTimestamp` is set.
    pub terminating: bool,
}

/// What one sync looks at.
pub struct Input<'a> {
    pub deployment: &'a Deployment,
    /// The ReplicaSets the Deployment owns (after adoption and release).
    pub replica_sets: Vec<ReplicaSet>,
    pub pods: &'a [PodInfo],
    pub now: Timestamp,
}

/// One write, in the order it must happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Create this ReplicaSet. AlreadyExists means a stale cache or a hash
    /// collision (see [`bump_collision_count`]).
    Create(ReplicaSet),
    /// Replace this ReplicaSet (replicas, annotations or minReadySeconds).
    Update(ReplicaSet),
    /// Delete an old ReplicaSet beyond the revision history limit.
    Delete { name: String, uid: Option<String> },
    /// Record an event on the Deployment (after the write before it worked).
    Event {
        warning: bool,
        reason: &'static str,
        message: String,
    },
}

/// The outcome of one sync.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// The Deployment with new annotations and status, when either changed;
    /// written through `/status` after every step succeeded.
    pub deployment: Option<Deployment>,
    /// Look again after this long even without events (progress deadline).
    pub requeue_after: Option<Duration>,
}

/// Compute one sync of `input.deployment`.
pub fn plan(input: Input<'_>) -> Plan {
    // Conditions are stored with second precision; deciding with the same
    // precision keeps a re-sync from seeing differences that are not there.
    let now = Timestamp::from_second(input.now.as_second()).unwrap_or(input.now);
    let mut s = Sync {
        d: input.deployment.clone(),
        rss: input.replica_sets,
        pods: input.pods,
        now,
        steps: Vec::new(),
        requeue_after: None,
    };
    s.run();
    let original = input.deployment;
    let changed =
        s.d.status != original.status || s.d.metadata.annotations != original.metadata.annotations;
    Plan {
        steps: s.steps,
        deployment: changed.then_some(s.d),
        requeue_after: s.requeue_after,
    }
}

/// The Deployment after creating its new ReplicaSet failed for a reason
/// other than AlreadyExists (upstream `getNewReplicaSet`), and the message
/// of the Warning event to record.
pub fn create_failed(
    d: &Deployment,
    rs_name: &str,
    error: &str,
    now: Timestamp,
) -> (Option<Deployment>, String) {
    let msg = format!("Failed to create new replica set \"{rs_name}\": {error}");
    if util::progress_deadline(d).is_none() {
        return (None, msg);
    }
    let mut d = d.clone();
    let cond = util::new_condition(
        reason::PROGRESSING,
        "False",
        reason::FAILED_RS_CREATE,
        msg.clone(),
        now,
    );
    util::set_condition(d.status.get_or_insert_with(Default::default), cond);
    (Some(d), msg)
}

/// The Deployment after a hash collision: one more in `collisionCount`, so
/// the next sync computes a different name.
pub fn bump_collision_count(d: &Deployment) -> Deployment {
    let mut d = d.clone();
    let st = d.status.get_or_insert_with(Default::default);
    st.collision_count = Some(st.collision_count.unwrap_or(0).saturating_add(1));
    d
}

/// The working state of one sync. ReplicaSets are referred to by index into
/// `rss`; a ReplicaSet created by this sync is appended.
struct Sync<'a> {
    d: Deployment,
    rss: Vec<ReplicaSet>,
    pods: &'a [PodInfo],
    now: Timestamp,
    steps: Vec<Step>,
    requeue_after: Option<Duration>,
}

fn nonzero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

// === impl Sync: top level (syncDeployment) ===

impl Sync<'_> {
    fn run(&mut self) {
        if util::selects_everything(&util::selector(&self.d)) {
            self.event(
                true,
                SELECTING_ALL,
                "This deployment is selecting all pods. A non-empty selector is required.".into(),
            );
            let generation = self.d.metadata.generation;
            let st = self.status_mut();
            if st.observed_generation.unwrap_or(0) < generation.unwrap_or(0) {
                st.observed_generation = generation;
            }
            return;
        }
        if self.d.metadata.deletion_timestamp.is_some() {
            return self.sync_status_only();
        }
        self.check_paused_conditions();
        if util::is_paused(&self.d) {
            return self.sync();
        }
        if self.is_scaling_event() {
            return self.sync();
        }
        if util::is_recreate(&self.d) {
            self.rollout_recreate();
        } else {
            self.rollout_rolling();
        }
    }

    fn want(&self) -> i32 {
        util::replicas(&self.d)
    }

    fn name(&self) -> String {
        self.d.metadata.name.clone().unwrap_or_default()
    }

    fn status(&self) -> DeploymentStatus {
        self.d.status.clone().unwrap_or_default()
    }

    fn status_mut(&mut self) -> &mut DeploymentStatus {
        self.d.status.get_or_insert_with(Default::default)
    }

    fn rs_name(&self, i: usize) -> String {
        self.rss[i].metadata.name.clone().unwrap_or_default()
    }

    fn event(&mut self, warning: bool, reason: &'static str, message: String) {
        self.steps.push(Step::Event {
            warning,
            reason,
            message,
        });
    }

    fn update(&mut self, i: usize, rs: ReplicaSet) {
        self.steps.push(Step::Update(rs.clone()));
        self.rss[i] = rs;
    }

    fn active(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .copied()
            .filter(|&i| util::rs_replicas(&self.rss[i]) > 0)
            .collect()
    }

    fn sum(&self, idx: &[usize], f: impl Fn(&ReplicaSet) -> i32) -> i32 {
        idx.iter().map(|&i| f(&self.rss[i])).sum()
    }

    /// Replicas counted against maxSurge: each ReplicaSet's spec, or the
    /// pods it still has when more. Upstream counts specs only, so right
    /// after an old ReplicaSet is scaled down its pods (not yet deleted) and
    /// the new ReplicaSet's extra pods briefly exceed the surge; counting the
    /// pods that are still there keeps the bound at every moment.
    fn surge_count(&self, idx: &[usize]) -> i32 {
        idx.iter()
            .map(|&i| {
                let rs = &self.rss[i];
                let uid = rs.metadata.uid.as_deref();
                let pods = self
                    .pods
                    .iter()
                    .filter(|p| Some(p.owner_uid.as_str()) == uid)
                    .filter(|p| {
                        !p.terminating
                            && !matches!(p.phase.as_deref(), Some("Succeeded" | "Failed"))
                    })
                    .count();
                util::rs_replicas(rs).max(i32::try_from(pods).unwrap_or(i32::MAX))
            })
            .sum()
    }

    fn sort(&self, idx: &mut [usize], cmp: fn(&ReplicaSet, &ReplicaSet) -> std::cmp::Ordering) {
        idx.sort_by(|&a, &b| cmp(&self.rss[a], &self.rss[b]));
    }

    /// Upstream `checkPausedConditions`: a Progressing condition that says
    /// paused or resumed, never over a timed-out one.
    fn check_paused_conditions(&mut self) {
        if util::progress_deadline(&self.d).is_none() {
            return;
        }
        let st = self.status();
        let cond_reason =
            util::get_condition(&st, reason::PROGRESSING).and_then(|c| c.reason.clone());
        if cond_reason.as_deref() == Some(reason::TIMED_OUT) {
            return;
        }
        let paused_exists = cond_reason.as_deref() == Some(reason::PAUSED);
        let paused = util::is_paused(&self.d);
        let (why, msg) = match (paused, paused_exists) {
            (true, false) => (reason::PAUSED, "Deployment is paused"),
            (false, true) => (reason::RESUMED, "Deployment is resumed"),
            _ => return,
        };
        let cond = util::new_condition(reason::PROGRESSING, "Unknown", why, msg.into(), self.now);
        util::set_condition(self.status_mut(), cond);
    }

    /// Upstream `isScalingEvent`: an active ReplicaSet was last scaled for a
    /// different `spec.replicas`.
    fn is_scaling_event(&mut self) -> bool {
        let (new, olds) = self.get_all_and_sync_revision(false);
        let mut all = olds;
        all.extend(new);
        let want = self.want();
        self.active(&all)
            .iter()
            .any(|&i| util::desired_replicas_annotation(&self.rss[i]).is_some_and(|d| d != want))
    }
}

// === impl Sync: the new ReplicaSet and revisions (§10.2, §10.4) ===

impl Sync<'_> {
    /// Upstream `FindNewReplicaSet`: the oldest ReplicaSet whose template is
    /// the Deployment's.
    fn find_new(&self) -> Option<usize> {
        let template = util::template(&self.d);
        let mut idx: Vec<usize> = (0..self.rss.len()).collect();
        self.sort(&mut idx, util::by_creation);
        idx.into_iter()
            .find(|&i| util::equal_ignore_hash(&util::rs_template(&self.rss[i]), &template))
    }

    /// Upstream `getAllReplicaSetsAndSyncRevision`: the new ReplicaSet (made
    /// when `create` and missing) with its revision and annotations synced,
    /// and every other ReplicaSet.
    fn get_all_and_sync_revision(&mut self, create: bool) -> (Option<usize>, Vec<usize>) {
        let new = self.find_new();
        let olds: Vec<usize> = (0..self.rss.len()).filter(|&i| Some(i) != new).collect();
        let new_revision = util::max_revision(olds.iter().map(|&i| &self.rss[i])) + 1;

        if let Some(i) = new {
            let mut rs = self.rss[i].clone();
            let annotations_changed =
                util::set_new_rs_annotations(&self.d, &mut rs, new_revision, true);
            let min_ready = util::min_ready_seconds(&self.d);
            if annotations_changed || util::rs_min_ready_seconds(&rs) != min_ready {
                rs.spec
                    .get_or_insert_with(Default::default)
                    .min_ready_seconds = nonzero(min_ready);
                // Upstream stops here; the Deployment's revision follows on
                // the next sync, which this write triggers.
                self.update(i, rs);
                return (Some(i), olds);
            }
            let rev = util::annotation(&rs, util::REVISION)
                .unwrap_or("")
                .to_string();
            util::set_deployment_revision(&mut self.d, &rev);
            let has_progressing =
                util::get_condition(&self.status(), reason::PROGRESSING).is_some();
            if util::progress_deadline(&self.d).is_some() && !has_progressing {
                let msg = format!("Found new replica set {}", quoted(&self.rs_name(i)));
                let cond = util::new_condition(
                    reason::PROGRESSING,
                    "True",
                    reason::FOUND_NEW_RS,
                    msg,
                    self.now,
                );
                util::set_condition(self.status_mut(), cond);
            }
            return (Some(i), olds);
        }
        if !create {
            return (None, olds);
        }
        let i = self.create_new(&olds, new_revision);
        (Some(i), olds)
    }

    /// Create the new ReplicaSet `<deployment>-<hash>` (upstream
    /// `getNewReplicaSet` when none exists).
    fn create_new(&mut self, olds: &[usize], new_revision: i64) -> usize {
        let d = &self.d;
        let mut template = util::template(d);
        let collision_count = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = util::compute_hash(&template, collision_count);
        template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(Default::default)
            .insert(util::POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector = util::selector(d);
        selector
            .match_labels
            .get_or_insert_with(Default::default)
            .insert(util::POD_TEMPLATE_HASH.into(), hash.clone());
        let name = format!("{}-{hash}", self.name());
        let labels = template.metadata.as_ref().and_then(|m| m.labels.clone());
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: d.metadata.namespace.clone(),
                owner_references: Some(vec![util::controller_ref(d)]),
                labels,
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: nonzero(util::min_ready_seconds(d)),
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let current = self.surge_count(olds);
        let replicas = new_rs_new_replicas(&self.d, current, 0);
        let d = &self.d;
        util::set_rs_replicas(&mut rs, replicas);
        util::set_new_rs_annotations(d, &mut rs, new_revision, false);
        self.steps.push(Step::Create(rs.clone()));
        if replicas > 0 {
            let msg = format!("Scaled up replica set {name} to {replicas}");
            self.event(false, SCALING_REPLICA_SET, msg);
        }
        util::set_deployment_revision(&mut self.d, &new_revision.to_string());
        if util::progress_deadline(&self.d).is_some() {
            let msg = format!("Created new replica set {}", quoted(&name));
            let cond = util::new_condition(
                reason::PROGRESSING,
                "True",
                reason::NEW_RS_CREATED,
                msg,
                self.now,
            );
            util::set_condition(self.status_mut(), cond);
        }
        // Orderings treat it as the newest ReplicaSet from here on.
        rs.metadata.creation_timestamp = Some(Time(self.now));
        self.rss.push(rs);
        self.rss.len() - 1
    }
}

/// Upstream `NewRSNewReplicas`: how big the new ReplicaSet may be given
/// `current` replicas over all ReplicaSets.
pub fn new_rs_new_replicas(d: &Deployment, current: i32, new_replicas: i32) -> i32 {
    let want = util::replicas(d);
    if util::is_recreate(d) {
        return want;
    }
    let max_total = want + util::max_surge(d);
    if current >= max_total {
        return new_replicas;
    }
    let up = (max_total - current).min(want - new_replicas);
    new_replicas + up
}

// === impl Sync: scaling (§10.5) ===

impl Sync<'_> {
    /// Upstream `scaleReplicaSetAndRecordEvent`.
    fn scale_and_record(&mut self, i: usize, to: i32) -> bool {
        let cur = util::rs_replicas(&self.rss[i]);
        if cur == to {
            return false;
        }
        self.scale_rs(i, to, if cur < to { "up" } else { "down" })
    }

    /// Upstream `scaleReplicaSet`: write the size and the replica
    /// annotations when either is off; true when the size changed.
    fn scale_rs(&mut self, i: usize, to: i32, op: &str) -> bool {
        let want = self.want();
        let max = want + util::max_surge(&self.d);
        let rs = &self.rss[i];
        let from = util::rs_replicas(rs);
        let size_changed = from != to;
        if !size_changed && !util::replicas_annotations_need_update(rs, want, max) {
            return false;
        }
        let mut rs = rs.clone();
        util::set_rs_replicas(&mut rs, to);
        util::set_replicas_annotations(&mut rs, want, max);
        let name = self.rs_name(i);
        self.update(i, rs);
        if size_changed {
            let msg = format!("Scaled {op} replica set {name} to {to} from {from}");
            self.event(false, SCALING_REPLICA_SET, msg);
        }
        size_changed
    }

    /// Upstream `sync`: scaling events and paused Deployments.
    fn sync(&mut self) {
        let (new, olds) = self.get_all_and_sync_revision(false);
        self.scale(new, &olds);
        if util::is_paused(&self.d) && !self.rolling_back() {
            self.cleanup(&olds);
        }
        let mut all = olds;
        all.extend(new);
        self.sync_deployment_status(&all, new);
    }

    fn rolling_back(&self) -> bool {
        self.d
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(util::ROLLBACK_TO))
    }

    /// Upstream `FindActiveOrLatest`: the only active ReplicaSet, or the
    /// newest when none is active.
    fn active_or_latest(&self, new: Option<usize>, olds: &[usize]) -> Option<usize> {
        if new.is_none() && olds.is_empty() {
            return None;
        }
        let mut sorted = olds.to_vec();
        self.sort(&mut sorted, |a, b| util::by_creation(b, a));
        let mut all = sorted.clone();
        all.extend(new);
        let active = self.active(&all);
        match active.len() {
            0 => new.or_else(|| sorted.first().copied()),
            1 => Some(active[0]),
            _ => None,
        }
    }

    /// Upstream `IsSaturated`.
    fn is_saturated(&self, new: Option<usize>) -> bool {
        let Some(i) = new else { return false };
        let rs = &self.rss[i];
        let want = self.want();
        util::desired_replicas_annotation(rs).is_some_and(|d| d == want)
            && util::rs_replicas(rs) == want
            && util::rs_available(rs) == want
    }

    /// Upstream `scale`: one active ReplicaSet takes all replicas; otherwise
    /// a RollingUpdate spreads the change proportionally.
    fn scale(&mut self, new: Option<usize>, olds: &[usize]) {
        let want = self.want();
        if let Some(i) = self.active_or_latest(new, olds) {
            if util::rs_replicas(&self.rss[i]) != want {
                self.scale_and_record(i, want);
            }
            return;
        }
        if self.is_saturated(new) {
            for i in self.active(olds) {
                self.scale_and_record(i, 0);
            }
            return;
        }
        if !util::is_rolling_update(&self.d) {
            return;
        }
        let mut all = olds.to_vec();
        all.extend(new);
        let mut active = self.active(&all);
        let current = self.sum(&active, util::rs_replicas);
        let allowed = if want > 0 {
            want + util::max_surge(&self.d)
        } else {
            0
        };
        let to_add = allowed - current;
        let op = match to_add.signum() {
            1 => {
                self.sort(&mut active, util::by_size_newer);
                "up"
            }
            -1 => {
                self.sort(&mut active, util::by_size_older);
                "down"
            }
            _ => "",
        };
        let mut added = 0;
        let mut sizes = Vec::with_capacity(active.len());
        for &i in &active {
            let rs = &self.rss[i];
            if to_add == 0 {
                sizes.push(util::rs_replicas(rs));
                continue;
            }
            let p = proportion(&self.d, rs, to_add, added);
            sizes.push(util::rs_replicas(rs) + p);
            added += p;
        }
        if to_add != 0 {
            if let Some(first) = sizes.first_mut() {
                *first = (*first + to_add - added).max(0);
            }
        }
        for (k, &i) in active.iter().enumerate() {
            self.scale_rs(i, sizes[k], op);
        }
    }
}

/// Upstream `GetProportion`: this ReplicaSet's share of `to_add`, bounded
/// by what is left after `added`.
pub fn proportion(d: &Deployment, rs: &ReplicaSet, to_add: i32, added: i32) -> i32 {
    if util::rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = replica_set_fraction(d, rs);
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// Upstream `getReplicaSetFraction`: the change that keeps this ReplicaSet's
/// share of the Deployment's maximum size, rounded half away from zero.
fn replica_set_fraction(d: &Deployment, rs: &ReplicaSet) -> i32 {
    let size = util::rs_replicas(rs);
    let want = util::replicas(d);
    if want == 0 {
        return -size;
    }
    let max_now = want + util::max_surge(d);
    let before = util::max_replicas_annotation(rs)
        .filter(|&m| m != 0)
        .unwrap_or_else(|| d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
    if before == 0 {
        // Nothing to take a share of (upstream would divide by zero).
        return 0;
    }
    let scaled = f64::from(size) * f64::from(max_now) / f64::from(before);
    scaled.round() as i32 - size
}

// === impl Sync: RollingUpdate (§10.6) ===

impl Sync<'_> {
    fn rollout_rolling(&mut self) {
        let (new, olds) = self.get_all_and_sync_revision(true);
        let Some(new) = new else { return };
        let mut all = olds.clone();
        all.push(new);
        if self.reconcile_new(&all, new) {
            return self.sync_rollout_status(&all, Some(new));
        }
        let active_olds = self.active(&olds);
        if self.reconcile_old(&all, &active_olds, new) {
            return self.sync_rollout_status(&all, Some(new));
        }
        if util::deployment_complete(&self.d, &self.status()) {
            self.cleanup(&olds);
        }
        self.sync_rollout_status(&all, Some(new));
    }

    /// Upstream `reconcileNewReplicaSet`.
    fn reconcile_new(&mut self, all: &[usize], new: usize) -> bool {
        let want = self.want();
        let cur = util::rs_replicas(&self.rss[new]);
        if cur == want {
            return false;
        }
        if cur > want {
            return self.scale_and_record(new, want);
        }
        let total = self.surge_count(all);
        let to = new_rs_new_replicas(&self.d, total, cur);
        self.scale_and_record(new, to)
    }

    /// Available replicas a ReplicaSet will still have once its controller
    /// catches up with its spec: a scale-down is written before the status
    /// that reflects it, and counting the stale number would let the next
    /// scale-down go below `minAvailable`.
    fn settled_available(rs: &ReplicaSet) -> i32 {
        util::rs_available(rs).min(util::rs_replicas(rs))
    }

    /// Upstream `reconcileOldReplicaSets`.
    fn reconcile_old(&mut self, all: &[usize], olds: &[usize], new: usize) -> bool {
        if self.sum(olds, util::rs_replicas) == 0 {
            return false;
        }
        let all_count = self.sum(all, util::rs_replicas);
        let min_available = self.want() - util::max_unavailable(&self.d);
        let new_rs = &self.rss[new];
        let new_unavailable = util::rs_replicas(new_rs) - Self::settled_available(new_rs);
        let max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        let mut olds = olds.to_vec();
        let cleaned = self.cleanup_unhealthy(&mut olds, max_scaled_down);
        let mut all = olds.clone();
        all.push(new);
        let scaled = self.scale_down_old_for_rolling(&all, &mut olds);
        cleaned + scaled > 0
    }

    /// Upstream `cleanupUnhealthyReplicas`: old ReplicaSets, oldest first,
    /// lose their unavailable replicas first.
    fn cleanup_unhealthy(&mut self, olds: &mut [usize], max: i32) -> i32 {
        self.sort(olds, util::by_creation);
        let mut total = 0;
        for &i in olds.iter() {
            if total >= max {
                break;
            }
            let rs = &self.rss[i];
            let size = util::rs_replicas(rs);
            let available = util::rs_available(rs);
            if size == 0 || available >= size {
                continue;
            }
            let count = (max - total).min(size - available);
            self.scale_and_record(i, size - count);
            total += count;
        }
        total
    }

    /// Upstream `scaleDownOldReplicaSetsForRollingUpdate`: scale old
    /// ReplicaSets down, oldest first, as far as `minAvailable` allows.
    fn scale_down_old_for_rolling(&mut self, all: &[usize], olds: &mut [usize]) -> i32 {
        let min_available = self.want() - util::max_unavailable(&self.d);
        let available = self.sum(all, Self::settled_available);
        if available <= min_available {
            return 0;
        }
        self.sort(olds, util::by_creation);
        let budget = available - min_available;
        let mut total = 0;
        for &i in olds.iter() {
            if total >= budget {
                break;
            }
            let size = util::rs_replicas(&self.rss[i]);
            if size == 0 {
                continue;
            }
            let count = size.min(budget - total);
            self.scale_and_record(i, size - count);
            total += count;
        }
        total
    }
}

// === impl Sync: Recreate (§10.7) ===

impl Sync<'_> {
    fn rollout_recreate(&mut self) {
        // Never create the new ReplicaSet before the old pods are gone.
        let (mut new, mut olds) = self.get_all_and_sync_revision(false);
        let mut all = olds.clone();
        all.extend(new);

        let mut scaled_down = false;
        for i in self.active(&olds) {
            scaled_down |= self.scale_and_record(i, 0);
        }
        if scaled_down || self.old_pods_running(new, &olds) {
            return self.sync_rollout_status(&all, new);
        }
        if new.is_none() {
            (new, olds) = self.get_all_and_sync_revision(true);
            all = olds.clone();
            all.extend(new);
        }
        if let Some(i) = new {
            let want = self.want();
            self.scale_and_record(i, want);
        }
        if util::deployment_complete(&self.d, &self.status()) {
            self.cleanup(&olds);
        }
        self.sync_rollout_status(&all, new);
    }

    /// Upstream `oldPodsRunning`: old ReplicaSets still report pods, or a
    /// pod of one (terminating ones included) is not finished.
    fn old_pods_running(&self, new: Option<usize>, olds: &[usize]) -> bool {
        if self.sum(olds, util::rs_status_replicas) > 0 {
            return true;
        }
        let new_uid = new.and_then(|i| self.rss[i].metadata.uid.as_deref());
        let owned: HashSet<&str> = self
            .rss
            .iter()
            .filter_map(|rs| rs.metadata.uid.as_deref())
            .collect();
        self.pods.iter().any(|p| {
            owned.contains(p.owner_uid.as_str())
                && Some(p.owner_uid.as_str()) != new_uid
                && !matches!(p.phase.as_deref(), Some("Succeeded" | "Failed"))
        })
    }
}

// === impl Sync: history cleanup (§10.8) ===

impl Sync<'_> {
    /// Upstream `cleanupDeployment`: delete the oldest revisions beyond
    /// `revisionHistoryLimit`, but only ReplicaSets that are fully scaled
    /// down and observed so.
    fn cleanup(&mut self, olds: &[usize]) {
        let Some(limit) = util::revision_history_limit(&self.d) else {
            return;
        };
        let mut cleanable: Vec<usize> = olds
            .iter()
            .copied()
            .filter(|&i| self.rss[i].metadata.deletion_timestamp.is_none())
            .collect();
        let diff = cleanable.len() as i64 - i64::from(limit);
        if diff <= 0 {
            return;
        }
        self.sort(&mut cleanable, util::by_revision);
        for &i in cleanable.iter().take(diff as usize) {
            let rs = &self.rss[i];
            let generation = rs.metadata.generation.unwrap_or(0);
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if util::rs_status_replicas(rs) != 0
                || util::rs_replicas(rs) != 0
                || generation > observed
                || rs.metadata.deletion_timestamp.is_some()
            {
                continue;
            }
            self.steps.push(Step::Delete {
                name: self.rs_name(i),
                uid: rs.metadata.uid.clone(),
            });
        }
    }
}

// === impl Sync: status and conditions (§10.9) ===

impl Sync<'_> {
    fn sync_status_only(&mut self) {
        let (new, olds) = self.get_all_and_sync_revision(false);
        let mut all = olds;
        all.extend(new);
        self.sync_deployment_status(&all, new);
    }

    /// Upstream `syncDeploymentStatus`: counts and availability only.
    fn sync_deployment_status(&mut self, all: &[usize], new: Option<usize>) {
        let st = self.calculate_status(all, new);
        self.d.status = Some(st);
    }

    /// Upstream `calculateStatus`.
    fn calculate_status(&self, all: &[usize], new: Option<usize>) -> DeploymentStatus {
        let available = self.sum(all, util::rs_available);
        let total = self.sum(all, util::rs_replicas);
        let old = self.status();
        let mut st = DeploymentStatus {
            observed_generation: self.d.metadata.generation,
            replicas: nonzero(self.sum(all, util::rs_status_replicas)),
            updated_replicas: nonzero(new.map_or(0, |i| util::rs_status_replicas(&self.rss[i]))),
            ready_replicas: nonzero(self.sum(all, util::rs_ready)),
            available_replicas: nonzero(available),
            unavailable_replicas: nonzero((total - available).max(0)),
            collision_count: old.collision_count,
            conditions: old.conditions,
            ..Default::default()
        };
        let cond = if available >= self.want() - util::max_unavailable(&self.d) {
            util::new_condition(
                reason::AVAILABLE,
                "True",
                reason::MINIMUM_REPLICAS_AVAILABLE,
                "Deployment has minimum availability.".into(),
                self.now,
            )
        } else {
            util::new_condition(
                reason::AVAILABLE,
                "False",
                reason::MINIMUM_REPLICAS_UNAVAILABLE,
                "Deployment does not have minimum availability.".into(),
                self.now,
            )
        };
        util::set_condition(&mut st, cond);
        st
    }

    /// Upstream `syncRolloutStatus`: counts plus the Progressing and
    /// ReplicaFailure conditions, and when to check the deadline again.
    fn sync_rollout_status(&mut self, all: &[usize], new: Option<usize>) {
        let mut st = self.calculate_status(all, new);
        let deadline = util::progress_deadline(&self.d);
        if deadline.is_none() {
            util::remove_condition(&mut st, reason::PROGRESSING);
        }
        let old = self.status();
        let current = util::get_condition(&old, reason::PROGRESSING).cloned();
        let current_reason = current.as_ref().and_then(|c| c.reason.as_deref());
        let complete_already =
            st.replicas == st.updated_replicas && current_reason == Some(reason::NEW_RS_AVAILABLE);
        let subject = match new {
            Some(i) => format!("ReplicaSet {}", quoted(&self.rs_name(i))),
            None => format!("Deployment {}", quoted(&self.name())),
        };
        if let Some(deadline) = deadline.filter(|_| !complete_already) {
            if util::deployment_complete(&self.d, &st) {
                let msg = format!("{subject} has successfully progressed.");
                let c = util::new_condition(
                    reason::PROGRESSING,
                    "True",
                    reason::NEW_RS_AVAILABLE,
                    msg,
                    self.now,
                );
                util::set_condition(&mut st, c);
            } else if progressing(&old, &st) {
                let msg = format!("{subject} is progressing.");
                let mut c = util::new_condition(
                    reason::PROGRESSING,
                    "True",
                    reason::REPLICA_SET_UPDATED,
                    msg,
                    self.now,
                );
                // Progress refreshes lastUpdateTime even with an unchanged
                // reason; the transition time stays while it stays True.
                if let Some(cur) = &current {
                    if cur.status == "True" {
                        c.last_transition_time = cur.last_transition_time.clone();
                    }
                    util::remove_condition(&mut st, reason::PROGRESSING);
                }
                util::set_condition(&mut st, c);
            } else if timed_out(&st, deadline, self.now) {
                let msg = format!("{subject} has timed out progressing.");
                let c = util::new_condition(
                    reason::PROGRESSING,
                    "False",
                    reason::TIMED_OUT,
                    msg,
                    self.now,
                );
                util::set_condition(&mut st, c);
            }
        }
        match self.replica_failure(all, new) {
            Some(c) => util::set_condition(&mut st, c),
            None => util::remove_condition(&mut st, reason::REPLICA_FAILURE),
        }
        self.requeue_after = self.stuck_requeue(&st);
        self.d.status = Some(st);
    }

    /// Upstream `getReplicaFailures`: the new ReplicaSet's ReplicaFailure
    /// condition, else any ReplicaSet's.
    fn replica_failure(&self, all: &[usize], new: Option<usize>) -> Option<DeploymentCondition> {
        let failure = |i: &usize| {
            self.rss[*i]
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == reason::REPLICA_FAILURE))
                .cloned()
        };
        let c = new
            .iter()
            .find_map(failure)
            .or_else(|| all.iter().find_map(failure))?;
        Some(DeploymentCondition {
            type_: c.type_,
            status: c.status,
            reason: c.reason,
            message: c.message,
            last_update_time: c.last_transition_time.clone(),
            last_transition_time: c.last_transition_time,
        })
    }

    /// Upstream `requeueStuckDeployment`: a rollout that is neither complete
    /// nor timed out is looked at again just after its deadline, so the
    /// timeout shows without any other event.
    fn stuck_requeue(&self, st: &DeploymentStatus) -> Option<Duration> {
        let deadline = util::progress_deadline(&self.d)?;
        let cond = util::get_condition(st, reason::PROGRESSING)?;
        let why = cond.reason.as_deref();
        // A complete rollout that lost a pod cannot time out (the check
        // skips NewReplicaSetAvailable), so there is nothing to look for.
        if util::deployment_complete(&self.d, st)
            || why == Some(reason::TIMED_OUT)
            || why == Some(reason::NEW_RS_AVAILABLE)
        {
            return None;
        }
        let from = cond.last_update_time.as_ref().map_or(self.now, |t| t.0);
        let at = from + SignedDuration::from_secs(i64::from(deadline));
        let left = Duration::try_from(at.duration_since(self.now)).unwrap_or_default();
        // One more second: "timed out" needs the deadline strictly passed.
        Some(left + Duration::from_secs(1))
    }
}

/// Upstream `DeploymentProgressing`: more updated, fewer old, more ready or
/// more available replicas than the stored status says.
fn progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let n = |v: Option<i32>| v.unwrap_or(0);
    let old_old = n(old.replicas) - n(old.updated_replicas);
    let new_old = n(new.replicas) - n(new.updated_replicas);
    n(new.updated_replicas) > n(old.updated_replicas)
        || new_old < old_old
        || n(new.ready_replicas) > n(old.ready_replicas)
        || n(new.available_replicas) > n(old.available_replicas)
}

/// Upstream `DeploymentTimedOut`.
fn timed_out(st: &DeploymentStatus, deadline: i32, now: Timestamp) -> bool {
    let Some(cond) = util::get_condition(st, reason::PROGRESSING) else {
        return false;
    };
    match cond.reason.as_deref() {
        Some(reason::NEW_RS_AVAILABLE) => false,
        Some(reason::TIMED_OUT) => true,
        _ => match &cond.last_update_time {
            None => true,
            Some(t) => t.0 + SignedDuration::from_secs(i64::from(deadline)) < now,
        },
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
