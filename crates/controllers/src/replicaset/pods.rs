//! Pure ReplicaSet decisions over pods: which pods count, which to delete
//! first, how many to create per batch, and what the status says. No IO.
//!
//! Upstream: `pkg/controller/controller_utils.go` (`IsPodActive`,
//! `ActivePodsWithRanks`), `pkg/controller/replicaset/replica_set.go`
//! (`slowStartBatch`, `getPodsToDelete`, `calculateStatus`) and
//! `pkg/api/v1/pod/util.go` (`IsPodReady`, `IsPodAvailable`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::core::{Selector, SelectorExt};

/// Upstream `PodDeletionCost` annotation: lower cost is deleted first.
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";
/// The condition type written when creating or deleting pods fails.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// A pod that is neither terminating nor finished counts towards replicas.
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    pod.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded" | "Failed"))
}

/// `PodReady` condition is `True`.
pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some()
}

/// The `Ready=True` condition's transition time; `Some(None)` when ready
/// without a recorded time.
fn ready_condition(pod: &Pod) -> Option<Option<Timestamp>> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")
        .map(|c| c.last_transition_time.as_ref().map(|t| t.0))
}

/// Ready for at least `min_ready_seconds` (strictly longer, as upstream).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_condition(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => false,
        Some(Some(since)) => since + secs(min_ready_seconds) < now,
    }
}

/// How long until a ready, not yet available pod becomes available.
pub fn available_in(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<Duration> {
    if min_ready_seconds <= 0 {
        return None;
    }
    let since = ready_condition(pod)??;
    let at = since + secs(min_ready_seconds);
    if at < now {
        return None;
    }
    let left = at.duration_since(now);
    // "Available" needs `now > at`, so wake just after it.
    Some(Duration::try_from(left).unwrap_or_default() + Duration::from_millis(100))
}

fn secs(n: i32) -> k8s_openapi::jiff::SignedDuration {
    k8s_openapi::jiff::SignedDuration::from_secs(i64::from(n))
}

/// Batch sizes for creating `count` pods: start at `initial`, double after
/// every fully successful batch, never more than what is left.
pub fn slow_start_batches(count: usize, initial: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut remaining = count;
    let mut size = remaining.min(initial.max(1));
    while size > 0 {
        out.push(size);
        remaining -= size;
        size = (2 * size).min(remaining);
    }
    out
}

/// The controller reference of an object, if any.
pub fn controller_of(refs: Option<&Vec<OwnerReference>>) -> Option<&OwnerReference> {
    refs?.iter().find(|r| r.controller == Some(true))
}

/// What the ReplicaSet does with one active pod of its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Controlled by this ReplicaSet and selected by it.
    Owned,
    /// An orphan the selector matches: take it.
    Adopt,
    /// Controlled by this ReplicaSet but no longer selected: let it go.
    Release,
    /// Not ours, or not ours to touch right now.
    Ignore,
}

/// Upstream `ClaimObject`: controller refs decide; orphans are adopted only
/// when selected and when neither side is being deleted.
pub fn claim(rs_uid: &str, rs_deleting: bool, selector: &Selector, pod: &Pod) -> Claim {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let matches = selector.matches(&labels);
    match controller_of(pod.metadata.owner_references.as_ref()) {
        Some(c) if c.uid == rs_uid => {
            if matches {
                Claim::Owned
            } else if rs_deleting {
                Claim::Ignore
            } else {
                Claim::Release
            }
        }
        Some(_) => Claim::Ignore,
        None => {
            if rs_deleting || !matches || pod.metadata.deletion_timestamp.is_some() {
                Claim::Ignore
            } else {
                Claim::Adopt
            }
        }
    }
}

/// The `diff` pods to delete, best candidates first. `related` are the active
/// and inactive pods of every ReplicaSet sharing this one's controller; they
/// rank pods by how crowded their node is.
pub fn pods_to_delete<'a>(
    pods: &[&'a Pod],
    related: &[&Pod],
    diff: usize,
    now: Timestamp,
) -> Vec<&'a Pod> {
    if diff >= pods.len() {
        return pods.to_vec();
    }
    let mut on_node: HashMap<&str, usize> = HashMap::new();
    for p in related.iter().filter(|p| is_active(p)) {
        *on_node.entry(node_name(p)).or_default() += 1;
    }
    let mut ranked: Vec<(&Pod, usize)> = pods
        .iter()
        .map(|p| (*p, on_node.get(node_name(p)).copied().unwrap_or(0)))
        .collect();
    ranked.sort_by(|a, b| deletion_order(a, b, now));
    ranked.into_iter().take(diff).map(|(p, _)| p).collect()
}

fn node_name(p: &Pod) -> &str {
    p.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

fn phase_ordinal(p: &Pod) -> u8 {
    match p.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Unknown") => 1,
        Some("Running") => 2,
        // Pending and anything unexpected rank lowest, like Go's zero value.
        _ => 0,
    }
}

fn deletion_cost(p: &Pod) -> i32 {
    p.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DELETION_COST))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn max_restarts(p: &Pod) -> i32 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().map(|c| c.restart_count).max())
        .unwrap_or(0)
}

/// Upstream `ActivePodsWithRanks.Less` as an ordering: `Less` means "delete
/// `a` before `b`".
pub fn deletion_order(a: &(&Pod, usize), b: &(&Pod, usize), now: Timestamp) -> Ordering {
    let (pa, ra) = (a.0, a.1);
    let (pb, rb) = (b.0, b.1);
    // 1. Unassigned before assigned.
    let (na, nb) = (node_name(pa), node_name(pb));
    if na != nb && (na.is_empty() || nb.is_empty()) {
        return if na.is_empty() {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    // 2. Pending < Unknown < Running.
    let by_phase = phase_ordinal(pa).cmp(&phase_ordinal(pb));
    if by_phase != Ordering::Equal {
        return by_phase;
    }
    // 3. Not ready before ready.
    let (ready_a, ready_b) = (is_ready(pa), is_ready(pb));
    if ready_a != ready_b {
        return if ready_a {
            Ordering::Greater
        } else {
            Ordering::Less
        };
    }
    // 4. Lower deletion cost first.
    let by_cost = deletion_cost(pa).cmp(&deletion_cost(pb));
    if by_cost != Ordering::Equal {
        return by_cost;
    }
    // 5. More related pods on the same node first.
    if ra != rb {
        return rb.cmp(&ra);
    }
    // 6. Ready for less time first (log2 buckets, ties broken by UID).
    if ready_a && ready_b {
        let ta = ready_condition(pa).flatten();
        let tb = ready_condition(pb).flatten();
        let by_ready_time = newer_first(ta, tb, now);
        if by_ready_time != Ordering::Equal {
            return by_ready_time;
        }
    }
    // 7. More restarts first.
    let by_restarts = max_restarts(pb).cmp(&max_restarts(pa));
    if by_restarts != Ordering::Equal {
        return by_restarts;
    }
    // 8. Newer first (log2 buckets, ties broken by UID).
    let ca = pa.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let cb = pb.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let by_age = newer_first(ca, cb, now);
    if by_age != Ordering::Equal {
        return by_age;
    }
    // Every key above depends on one pod only, so comparing them in order is
    // a total order (Rust's sort panics on comparators that are not); the UID
    // settles what upstream leaves to its bucket tie-break.
    pa.metadata.uid.cmp(&pb.metadata.uid)
}

/// Upstream compares timestamps by logarithmic age buckets so scale-down is
/// not strictly "newest first"; a missing time sorts first.
fn newer_first(a: Option<Timestamp>, b: Option<Timestamp>, now: Timestamp) -> Ordering {
    let (Some(a), Some(b)) = (a, b) else {
        return match (a, b) {
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            _ => Ordering::Equal,
        };
    };
    log_rank(a, now).cmp(&log_rank(b, now))
}

fn log_rank(t: Timestamp, now: Timestamp) -> i64 {
    let nanos = now.as_nanosecond() - t.as_nanosecond();
    if nanos > 0 {
        // floor(log2(nanos)) as upstream computes it on float64.
        (nanos as f64).log2().floor() as i64
    } else {
        -1
    }
}

/// Upstream `calculateStatus`: counts over the owned active pods, plus the
/// `ReplicaFailure` condition set on a manage error and cleared on success.
/// `observedGeneration` is left to the writer.
pub fn calculate_status(
    rs: &ReplicaSet,
    pods: &[&Pod],
    manage_error: Option<&str>,
    now: Timestamp,
) -> ReplicaSetStatus {
    let spec = rs.spec.clone().unwrap_or_default();
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let template_labels: BTreeMap<String, String> = spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let mut status = rs.status.clone().unwrap_or_default();
    let (mut fully, mut ready, mut available) = (0, 0, 0);
    for p in pods {
        let labels = p.metadata.labels.as_ref();
        if template_labels
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        {
            fully += 1;
        }
        if is_ready(p) {
            ready += 1;
            if is_available(p, min_ready, now) {
                available += 1;
            }
        }
    }
    let has_failure = status
        .conditions
        .as_ref()
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == REPLICA_FAILURE));
    match manage_error {
        Some(msg) if !has_failure => {
            let want = spec.replicas.unwrap_or(1);
            let have = pods.len() as i64;
            let reason = match have.cmp(&i64::from(want)) {
                Ordering::Less => "FailedCreate",
                Ordering::Greater => "FailedDelete",
                Ordering::Equal => "",
            };
            status
                .conditions
                .get_or_insert_with(Vec::new)
                .push(ReplicaSetCondition {
                    type_: REPLICA_FAILURE.into(),
                    status: "True".into(),
                    reason: Some(reason.into()),
                    message: Some(msg.into()),
                    last_transition_time: Some(Time(now)),
                });
        }
        None if has_failure => {
            if let Some(cs) = status.conditions.as_mut() {
                cs.retain(|c| c.type_ != REPLICA_FAILURE);
            }
            if status.conditions.as_ref().is_some_and(Vec::is_empty) {
                status.conditions = None;
            }
        }
        _ => {}
    }
    status.replicas = pods.len() as i32;
    status.fully_labeled_replicas = Some(fully);
    status.ready_replicas = Some(ready);
    status.available_replicas = Some(available);
    status
}

/// Whether a status write is needed (upstream `updateReplicaSetStatus`'s
/// steady-state check).
pub fn status_changed(rs: &ReplicaSet, new: &ReplicaSetStatus) -> bool {
    let old = rs.status.clone().unwrap_or_default();
    let n = |v: Option<i32>| v.unwrap_or(0);
    old.replicas != new.replicas
        || n(old.fully_labeled_replicas) != n(new.fully_labeled_replicas)
        || n(old.ready_replicas) != n(new.ready_replicas)
        || n(old.available_replicas) != n(new.available_replicas)
        || rs.metadata.generation != old.observed_generation
        || old.conditions.unwrap_or_default() != new.conditions.clone().unwrap_or_default()
}

/// The earliest moment one of `pods` turns available, for a requeue.
pub fn next_available_in(
    pods: &[&Pod],
    min_ready_seconds: i32,
    now: Timestamp,
) -> Option<Duration> {
    pods.iter()
        .filter_map(|p| available_in(p, min_ready_seconds, now))
        .min()
}

#[cfg(test)]
#[path = "pods_tests.rs"]
mod tests;
