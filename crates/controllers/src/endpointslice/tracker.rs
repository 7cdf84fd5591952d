//! Per-Service memory between reconciles: the last-change trigger time
//! (upstream `TriggerTimeTracker`) and our own writes the caches have not
//! shown yet (upstream `EndpointSliceTracker`).

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::jiff::Timestamp;
use parking_lot::Mutex;
use tokio::time::Instant;

/// Namespace and name of a Service.
pub type ServiceKey = (String, String);

/// Give up waiting for the cache to show a write after this long (an event
/// lost across a watch restart must not stall a Service forever).
pub const PENDING_TTL: Duration = Duration::from_secs(10);

// === TriggerTimes ===

#[derive(Debug, Default, Clone)]
struct TriggerState {
    pods: HashMap<String, Timestamp>,
    service: Option<Timestamp>,
}

/// Remembers, per Service, the change times seen at the last sync so the
/// next one can tell which changes are new.
#[derive(Debug, Default)]
pub struct TriggerTimes {
    state: Mutex<HashMap<ServiceKey, TriggerState>>,
}

/// A pod's change time: when its Ready condition last flipped.
fn pod_trigger(pod: &Pod) -> Option<Timestamp> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?
        .last_transition_time
        .as_ref()
        .map(|t| t.0)
}

impl TriggerTimes {
    /// The earliest change (pod readiness flips, Service creation) not seen
    /// at the previous sync of this Service, or `None` when nothing new.
    /// Records what it saw either way.
    pub fn compute(&self, key: &ServiceKey, svc: &Service, pods: &[&Pod]) -> Option<Timestamp> {
        let mut all = self.state.lock();
        let state = all.entry(key.clone()).or_default();
        let pods: Vec<(String, Option<Timestamp>)> = pods
            .iter()
            .map(|p| (p.metadata.name.clone().unwrap_or_default(), pod_trigger(p)))
            .collect();
        let created = svc.metadata.creation_timestamp.as_ref().map(|t| t.0);
        compute(state, created, &pods)
    }

    pub fn forget(&self, key: &ServiceKey) {
        self.state.lock().remove(key);
    }
}

fn earliest(a: Option<Timestamp>, b: Timestamp) -> Option<Timestamp> {
    Some(a.map_or(b, |a| a.min(b)))
}

fn compute(
    state: &mut TriggerState,
    service_created: Option<Timestamp>,
    pods: &[(String, Option<Timestamp>)],
) -> Option<Timestamp> {
    let mut min: Option<Timestamp> = None;
    let mut seen = HashMap::new();
    for (name, t) in pods {
        let Some(t) = *t else { continue };
        if state.pods.get(name).is_none_or(|prev| t > *prev) {
            min = earliest(min, t);
        }
        seen.insert(name.clone(), t);
    }
    if let Some(t) = service_created {
        if state.service.is_none_or(|prev| t > prev) {
            min = earliest(min, t);
        }
    }
    state.pods = seen;
    state.service = service_created;
    min
}

// === Pending writes ===

/// Which cache a pending write shows up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Slice,
    Endpoints,
}

/// What a write left behind, to be seen in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Created: the object exists.
    Created,
    /// Updated: the object no longer has this resourceVersion (compared
    /// for equality only; resourceVersions are opaque).
    Updated { prior: String },
    /// Deleted: no object with this UID remains.
    Deleted { uid: String },
}

#[derive(Debug, Clone)]
struct Write {
    kind: Kind,
    name: String,
    expect: Expect,
    at: Instant,
}

/// What a cache shows of one object: resourceVersion and UID, or nothing.
pub type Seen = Option<(String, String)>;

/// Our writes per Service that the informer caches may not show yet. A
/// reconcile that ran on such a cache would create a second slice for the
/// same pods or trip over its own resourceVersions.
#[derive(Debug, Default)]
pub struct Pending {
    writes: Mutex<HashMap<ServiceKey, Vec<Write>>>,
}

impl Pending {
    pub fn record(&self, key: &ServiceKey, kind: Kind, name: &str, expect: Expect) {
        self.writes
            .lock()
            .entry(key.clone())
            .or_default()
            .push(Write {
                kind,
                name: name.to_string(),
                expect,
                at: Instant::now(),
            });
    }

    /// Whether some write for `key` is still missing from the caches, as
    /// `lookup(kind, name)` shows them. Writes that are visible (or too old
    /// to wait for) are forgotten.
    pub fn stale(&self, key: &ServiceKey, lookup: impl Fn(Kind, &str) -> Seen) -> bool {
        let mut all = self.writes.lock();
        let Some(writes) = all.get_mut(key) else {
            return false;
        };
        let now = Instant::now();
        writes.retain(|w| {
            now.duration_since(w.at) < PENDING_TTL && !visible(&w.expect, lookup(w.kind, &w.name))
        });
        let stale = !writes.is_empty();
        if !stale {
            all.remove(key);
        }
        stale
    }

    pub fn forget(&self, key: &ServiceKey) {
        self.writes.lock().remove(key);
    }
}

fn visible(expect: &Expect, seen: Seen) -> bool {
    match (expect, seen) {
        (Expect::Created, seen) => seen.is_some(),
        // Gone is newer than our update, too.
        (Expect::Updated { .. }, None) => true,
        (Expect::Updated { prior }, Some((rv, _))) => rv != *prior,
        (Expect::Deleted { .. }, None) => true,
        (Expect::Deleted { uid }, Some((_, u))) => u != *uid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn pods(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<Timestamp>)> {
        list.iter()
            .map(|(n, ts)| (n.to_string(), ts.map(t)))
            .collect()
    }

    #[test]
    fn trigger_time_is_the_earliest_new_change() {
        let mut s = TriggerState::default();
        let created = Some(t("2025-01-01T00:00:00Z"));
        // First sync: everything is new; the Service creation is earliest.
        let got = compute(
            &mut s,
            created,
            &pods(&[("a", Some("2025-01-01T00:00:05Z")), ("b", None)]),
        );
        assert_eq!(got, created);
        // Nothing changed.
        let got = compute(
            &mut s,
            created,
            &pods(&[("a", Some("2025-01-01T00:00:05Z")), ("b", None)]),
        );
        assert_eq!(got, None);
        // b turned ready, then a flipped later: b's time is the earliest new.
        let got = compute(
            &mut s,
            created,
            &pods(&[
                ("a", Some("2025-01-01T00:01:00Z")),
                ("b", Some("2025-01-01T00:00:30Z")),
            ]),
        );
        assert_eq!(got, Some(t("2025-01-01T00:00:30Z")));
        // A pod that went away is not a change with a time.
        let got = compute(
            &mut s,
            created,
            &pods(&[("a", Some("2025-01-01T00:01:00Z"))]),
        );
        assert_eq!(got, None);
        // A pod that comes back with an old time is new again.
        let got = compute(
            &mut s,
            created,
            &pods(&[
                ("a", Some("2025-01-01T00:01:00Z")),
                ("b", Some("2025-01-01T00:00:30Z")),
            ]),
        );
        assert_eq!(got, Some(t("2025-01-01T00:00:30Z")));
    }

    #[test]
    fn pending_writes_clear_once_visible() {
        let p = Pending::default();
        let key = ("ns".to_string(), "svc".to_string());
        assert!(!p.stale(&key, |_, _| None));
        p.record(&key, Kind::Slice, "s-1", Expect::Created);
        p.record(
            &key,
            Kind::Slice,
            "s-2",
            Expect::Updated { prior: "5".into() },
        );
        p.record(
            &key,
            Kind::Endpoints,
            "svc",
            Expect::Deleted { uid: "u".into() },
        );
        let seen = |s1: bool, s2rv: &str, ep: bool| {
            let s2rv = s2rv.to_string();
            move |k: Kind, n: &str| -> Seen {
                match (k, n) {
                    (Kind::Slice, "s-1") if s1 => Some(("1".into(), "x".into())),
                    (Kind::Slice, "s-2") => Some((s2rv.clone(), "y".into())),
                    (Kind::Endpoints, "svc") if ep => Some(("9".into(), "u".into())),
                    _ => None,
                }
            }
        };
        assert!(p.stale(&key, seen(false, "5", true)));
        assert!(p.stale(&key, seen(true, "5", true)));
        assert!(p.stale(&key, seen(true, "6", true)));
        // The first two were seen and forgotten; only the delete remains.
        assert!(p.stale(&key, seen(false, "5", true)));
        assert!(!p.stale(&key, seen(false, "5", false)));
        assert!(!p.stale(&key, seen(false, "5", true)));
    }

    #[tokio::test(start_paused = true)]
    async fn pending_writes_expire() {
        let p = Pending::default();
        let key = ("ns".to_string(), "svc".to_string());
        p.record(&key, Kind::Slice, "s-1", Expect::Created);
        assert!(p.stale(&key, |_, _| None));
        tokio::time::advance(PENDING_TTL).await;
        assert!(!p.stale(&key, |_, _| None));
    }
}
