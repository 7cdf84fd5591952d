//! The ReplicaSet controller (upstream `pkg/controller/replicaset`).
//!
//! Wiring: a pod `watcher → reflector` (one cache for every ReplicaSet) whose
//! events also lower [`expectations`] and then trigger a kube-runtime
//! `Controller` over ReplicaSets, mapped to the owning ReplicaSet (or, for
//! orphans, every ReplicaSet whose selector matches).
//!
//! One reconcile: claim pods (adopt orphans, release pods whose labels no
//! longer match), create or delete pods when no earlier create/delete is
//! still in flight, then write `/status` and requeue when a ready pod is due
//! to become available.

pub mod expectations;
pub mod pods;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use kube::core::Selector;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use serde_json::json;

use crate::events::{EventType, Recorder};
use expectations::Expectations;
use pods::{claim, controller_of, is_active, Claim};

/// Upstream `BurstReplicas`: at most this many creates or deletes per sync.
const BURST: usize = 500;
/// Reconcile every ReplicaSet this often even without events.
const RESYNC: Duration = Duration::from_secs(5 * 60);
/// Re-check soon when earlier creates/deletes are not yet observed.
const EXPECTATIONS_RECHECK: Duration = Duration::from_secs(5);
/// Component name on events, as upstream.
pub const COMPONENT: &str = "replicaset-controller";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Kube(#[from] kube::Error),
    #[error("invalid selector: {0}")]
    Selector(String),
    #[error("unable to create pods, no labels")]
    NoLabels,
}

impl Error {
    /// The text upstream puts in events and conditions: the API message
    /// without client decoration.
    fn message(&self) -> String {
        match self {
            Error::Kube(kube::Error::Api(s)) => s.message.clone(),
            other => other.to_string(),
        }
    }
}

struct Ctx {
    client: Client,
    pods: Store<Pod>,
    replicasets: Store<ReplicaSet>,
    expectations: Expectations,
    recorder: Recorder,
    /// Consecutive failures per ReplicaSet UID, for error back-off.
    failures: Mutex<HashMap<String, u32>>,
}

/// Run the ReplicaSet controller until its watch streams end (they do not,
/// short of a panic); errors inside reconciles are retried with back-off.
pub async fn run(client: Client) {
    let expectations = Expectations::default();
    let (pods, writer) = reflector::store::<Pod>();
    let ctl = Controller::new(
        Api::<ReplicaSet>::all(client.clone()),
        watcher::Config::default(),
    );
    let replicasets = ctl.store();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        pods: pods.clone(),
        replicasets: replicasets.clone(),
        expectations,
        recorder: Recorder::new(client.clone(), COMPONENT),
        failures: Mutex::new(HashMap::new()),
    });
    let observer = ctx.clone();
    let pod_events = watcher(Api::<Pod>::all(client), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .inspect_ok(move |ev| observer.expectations.observe(ev))
        .touched_objects();
    ctl.watches_stream(pod_events, move |pod: Pod| owners_of(&replicasets, &pod))
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "replicaset reconcile");
            }
        })
        .await;
}

/// ReplicaSets to reconcile when `pod` changes: its controller if that is a
/// ReplicaSet, else every ReplicaSet in its namespace that selects it.
fn owners_of(replicasets: &Store<ReplicaSet>, pod: &Pod) -> Vec<ObjectRef<ReplicaSet>> {
    let ns = pod.namespace().unwrap_or_default();
    if let Some(c) = controller_of(pod.metadata.owner_references.as_ref()) {
        if c.kind == "ReplicaSet" && c.api_version.starts_with("apps/") {
            return vec![ObjectRef::new(&c.name).within(&ns)];
        }
        return Vec::new();
    }
    let labels = pod.labels().clone();
    replicasets
        .state()
        .iter()
        .filter(|rs| rs.namespace().as_deref() == Some(ns.as_str()))
        .filter(|rs| selector_of(rs).is_ok_and(|s| kube::core::SelectorExt::matches(&s, &labels)))
        .map(|rs| ObjectRef::from(rs.as_ref()))
        .collect()
}

fn selector_of(rs: &ReplicaSet) -> Result<Selector, Error> {
    let sel = rs
        .spec
        .as_ref()
        .map(|s| s.selector.clone())
        .unwrap_or_default();
    Selector::try_from(sel).map_err(|e| Error::Selector(e.to_string()))
}

fn error_policy(rs: Arc<ReplicaSet>, err: &Error, ctx: Arc<Ctx>) -> Action {
    let uid = rs.uid().unwrap_or_default();
    let n = {
        let mut f = ctx.failures.lock();
        let n = f.entry(uid).or_insert(0);
        *n = n.saturating_add(1);
        *n
    };
    tracing::warn!(replicaset = %rs.name_any(), error = %err, "sync failed");
    // 0.5 s, 1 s, 2 s, … up to 5 minutes.
    let delay = Duration::from_millis(500).saturating_mul(1 << n.min(10).saturating_sub(1));
    Action::requeue(delay.min(RESYNC))
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    // Acting on an empty pod cache would create duplicates of every pod.
    let _ = ctx.pods.wait_until_ready().await;
    let ns = rs.namespace().unwrap_or_default();
    let uid = rs.uid().unwrap_or_default();
    let Some(spec) = rs.spec.as_ref() else {
        return Ok(Action::await_change());
    };
    let selector = match selector_of(&rs) {
        Ok(s) => s,
        Err(e) => {
            // Retrying cannot fix an invalid selector; wait for a spec change.
            tracing::warn!(replicaset = %rs.name_any(), error = %e, "skipping");
            return Ok(Action::await_change());
        }
    };
    let deleting = rs.metadata.deletion_timestamp.is_some();
    let in_ns: Vec<Arc<Pod>> = ctx
        .pods
        .state()
        .into_iter()
        .filter(|p| p.namespace().as_deref() == Some(ns.as_str()))
        .collect();

    let mut owned: Vec<Arc<Pod>> = Vec::new();
    let mut claim_error: Option<Error> = None;
    let mut may_adopt: Option<bool> = None;
    for pod in in_ns.iter().filter(|p| is_active(p)) {
        match claim(&uid, deleting, &selector, pod) {
            Claim::Owned => owned.push(pod.clone()),
            Claim::Ignore => {}
            Claim::Adopt => {
                if may_adopt.is_none() {
                    may_adopt = Some(recheck(&ctx, &rs).await?);
                }
                if may_adopt != Some(true) {
                    continue;
                }
                match adopt(&ctx, &rs, pod).await {
                    Ok(Some(p)) => owned.push(Arc::new(p)),
                    Ok(None) => {}
                    Err(e) => {
                        claim_error.get_or_insert(e);
                    }
                }
            }
            Claim::Release => {
                if let Err(e) = release(&ctx, &uid, pod).await {
                    claim_error.get_or_insert(e);
                }
            }
        }
    }

    let names: HashSet<String> = in_ns.iter().map(|p| p.name_any()).collect();
    let live: HashSet<&str> = in_ns
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.metadata.uid.as_deref())
        .collect();
    let synced = ctx.expectations.satisfied(
        &uid,
        |name| names.contains(name),
        |pod_uid| live.contains(pod_uid),
    );
    let manage_error = if synced && !deleting {
        manage_replicas(&ctx, &rs, &owned).await.err()
    } else {
        None
    };

    let now = Timestamp::now();
    let owned_refs: Vec<&Pod> = owned.iter().map(|p| p.as_ref()).collect();
    let message = manage_error.as_ref().map(Error::message);
    let status = pods::calculate_status(&rs, &owned_refs, message.as_deref(), now);
    write_status(&ctx, &rs, status).await?;

    if let Some(e) = manage_error.or(claim_error) {
        return Err(e);
    }
    ctx.failures.lock().remove(&uid);
    // Forget expectations of ReplicaSets that are gone now and then.
    ctx.expectations.retain(|u| {
        ctx.replicasets
            .find(|r| r.metadata.uid.as_deref() == Some(u))
            .is_some()
    });
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    if let Some(d) = pods::next_available_in(&owned_refs, min_ready, now) {
        return Ok(Action::requeue(d.min(RESYNC)));
    }
    if !synced {
        return Ok(Action::requeue(EXPECTATIONS_RECHECK));
    }
    Ok(Action::requeue(RESYNC))
}

/// Upstream `RecheckDeletionTimestamp`: read the ReplicaSet fresh before
/// adopting, so a cached copy of a deleted or recreated one adopts nothing.
async fn recheck(ctx: &Ctx, rs: &ReplicaSet) -> Result<bool, Error> {
    let api: Api<ReplicaSet> =
        Api::namespaced(ctx.client.clone(), &rs.namespace().unwrap_or_default());
    let fresh = api.get_opt(&rs.name_any()).await?;
    Ok(fresh.is_some_and(|f| {
        f.metadata.uid == rs.metadata.uid && f.metadata.deletion_timestamp.is_none()
    }))
}

fn controller_ref(rs: &ReplicaSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: rs.name_any(),
        uid: rs.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn object_ref(rs: &ReplicaSet) -> ObjectReference {
    ObjectReference {
        api_version: Some("apps/v1".into()),
        kind: Some("ReplicaSet".into()),
        name: rs.metadata.name.clone(),
        namespace: rs.metadata.namespace.clone(),
        uid: rs.metadata.uid.clone(),
        resource_version: rs.metadata.resource_version.clone(),
        field_path: None,
    }
}

fn is_gone(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.is_not_found() || s.code == 422 || s.is_conflict())
}

/// Add our controller reference to an orphan (strategic merge on `uid`).
async fn adopt(ctx: &Ctx, rs: &ReplicaSet, pod: &Pod) -> Result<Option<Pod>, Error> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
    match crate::claim::patch_owner_refs(&api, pod, json!([controller_ref(rs)])).await {
        Ok(p) => Ok(Some(p)),
        Err(e) if is_gone(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Remove our controller reference from a pod we no longer select.
async fn release(ctx: &Ctx, rs_uid: &str, pod: &Pod) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
    match crate::claim::patch_owner_refs(&api, pod, crate::claim::release_ref(rs_uid)).await {
        Ok(_) => Ok(()),
        Err(e) if is_gone(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Upstream `GetPodFromTemplate`.
fn pod_from_template(rs: &ReplicaSet) -> Result<Pod, Error> {
    let template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    if meta.labels.as_ref().is_none_or(|l| l.is_empty()) {
        return Err(Error::NoLabels);
    }
    Ok(Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", rs.name_any())),
            namespace: rs.metadata.namespace.clone(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![controller_ref(rs)]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    })
}

/// Creation fails only because the namespace is going away: not an error.
fn namespace_terminating(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => {
            s.details
                .as_ref()
                .is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"))
                || s.message.contains("because it is being terminated")
        }
        _ => false,
    }
}

async fn manage_replicas(ctx: &Ctx, rs: &ReplicaSet, owned: &[Arc<Pod>]) -> Result<(), Error> {
    let uid = rs.uid().unwrap_or_default();
    let want = rs
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
        .max(0) as usize;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &rs.namespace().unwrap_or_default());
    // Events to write once the API calls are done, concurrently.
    let mut events: Vec<(EventType, &'static str, String)> = Vec::new();
    let mut first_error = None;

    if owned.len() < want {
        let count = (want - owned.len()).min(BURST);
        for batch in pods::slow_start_batches(count, 1) {
            let results = join_all((0..batch).map(|_| async {
                let pod = pod_from_template(rs)?;
                Ok::<Pod, Error>(api.create(&PostParams::default(), &pod).await?)
            }))
            .await;
            for r in results {
                match r {
                    Ok(p) => {
                        let name = p.name_any();
                        ctx.expectations.expect_create(&uid, &name);
                        events.push((
                            EventType::Normal,
                            "SuccessfulCreate",
                            format!("Created pod: {name}"),
                        ));
                    }
                    Err(Error::Kube(e)) if namespace_terminating(&e) => {}
                    Err(e) => {
                        events.push((
                            EventType::Warning,
                            "FailedCreate",
                            format!("Error creating: {}", e.message()),
                        ));
                        first_error.get_or_insert(e);
                    }
                }
            }
            // Slow start: a failing batch stops the rest of this sync.
            if first_error.is_some() {
                break;
            }
        }
    } else if owned.len() > want {
        let count = (owned.len() - want).min(BURST);
        let related = related_pods(ctx, rs);
        let related_refs: Vec<&Pod> = related.iter().map(|p| p.as_ref()).collect();
        let owned_refs: Vec<&Pod> = owned.iter().map(|p| p.as_ref()).collect();
        let victims = pods::pods_to_delete(&owned_refs, &related_refs, count, Timestamp::now());
        for p in &victims {
            ctx.expectations
                .expect_delete(&uid, p.metadata.uid.as_deref().unwrap_or(""));
        }
        let results = join_all(victims.iter().map(|p| {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: p.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..Default::default()
            };
            let api = api.clone();
            let name = p.name_any();
            async move { api.delete(&name, &dp).await }
        }))
        .await;
        for (p, r) in victims.iter().zip(results) {
            let name = p.name_any();
            match r {
                Ok(_) => events.push((
                    EventType::Normal,
                    "SuccessfulDelete",
                    format!("Deleted pod: {name}"),
                )),
                Err(e) => {
                    // This deletion will never be observed.
                    ctx.expectations
                        .delete_done(&uid, p.metadata.uid.as_deref().unwrap_or(""));
                    let already_gone =
                        matches!(&e, kube::Error::Api(s) if s.is_not_found() || s.is_conflict());
                    if !already_gone {
                        let e = Error::from(e);
                        events.push((
                            EventType::Warning,
                            "FailedDelete",
                            format!("Error deleting: {}", e.message()),
                        ));
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
    }

    let about = object_ref(rs);
    join_all(
        events
            .iter()
            .map(|(t, reason, msg)| ctx.recorder.publish(&about, *t, reason, msg)),
    )
    .await;
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Pods of every ReplicaSet with the same controller as `rs` (just `rs`'s
/// own when it has none): they decide which nodes are crowded.
fn related_pods(ctx: &Ctx, rs: &ReplicaSet) -> Vec<Arc<Pod>> {
    let ns = rs.namespace().unwrap_or_default();
    let siblings: Vec<Arc<ReplicaSet>> = match controller_of(rs.metadata.owner_references.as_ref())
    {
        Some(c) => ctx.replicasets.state_filter(|r| {
            r.namespace().as_deref() == Some(ns.as_str())
                && controller_of(r.metadata.owner_references.as_ref())
                    .is_some_and(|o| o.uid == c.uid)
        }),
        None => vec![Arc::new(rs.clone())],
    };
    let all = ctx
        .pods
        .state_filter(|p| p.namespace().as_deref() == Some(ns.as_str()));
    let mut out: Vec<Arc<Pod>> = Vec::new();
    let mut seen = HashSet::new();
    for s in siblings {
        let Ok(sel) = selector_of(&s) else { continue };
        for p in &all {
            if kube::core::SelectorExt::matches(&sel, p.labels())
                && seen.insert(p.metadata.uid.clone())
            {
                out.push(p.clone());
            }
        }
    }
    out
}

/// Write `status` through `/status` when it changed, retrying once on a
/// conflict with a fresh read (upstream `updateReplicaSetStatus`).
async fn write_status(
    ctx: &Ctx,
    rs: &ReplicaSet,
    mut status: ReplicaSetStatus,
) -> Result<(), Error> {
    if !pods::status_changed(rs, &status) {
        return Ok(());
    }
    status.observed_generation = rs.metadata.generation;
    let api: Api<ReplicaSet> =
        Api::namespaced(ctx.client.clone(), &rs.namespace().unwrap_or_default());
    let mut obj = rs.clone();
    for attempt in 0..2 {
        obj.status = Some(status.clone());
        match api
            .replace_status(&obj.name_any(), &PostParams::default(), &obj)
            .await
        {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() => return Ok(()),
            Err(kube::Error::Api(s)) if s.is_conflict() && attempt == 0 => {
                let Some(fresh) = api.get_opt(&obj.name_any()).await? else {
                    return Ok(());
                };
                if fresh.metadata.uid != rs.metadata.uid {
                    return Ok(());
                }
                obj = fresh;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
