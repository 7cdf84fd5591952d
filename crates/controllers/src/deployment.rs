//! The Deployment controller (upstream `pkg/controller/deployment`).
//!
//! ```ignore
//! /// Run the Deployment controller until shutdown (called from controllers::run).
//! pub async fn run(client: kube::Client, shutdown: impl Future<Output = ()> + Send + 'static);
//! ```
//!
//! Wiring: ReplicaSet and Pod `watcher → reflector`s whose events trigger a
//! kube-runtime `Controller` over Deployments. A ReplicaSet maps to its
//! controlling Deployment (an orphan to every Deployment selecting it); a Pod
//! to the Deployment of its ReplicaSet: Recreate waits for old pods to be
//! gone, and a RollingUpdate counts pods that are still there against
//! maxSurge, so both must hear when one goes.
//!
//! One reconcile: claim ReplicaSets (adopt orphans, release ones no longer
//! selected), compute [`plan::plan`] (pure), apply its steps in order —
//! ReplicaSet writes with the cached resourceVersion, so a stale cache ends
//! in a conflict and a quick retry rather than a wrong write — then write the
//! Deployment through `/status` when it changed, and requeue at the progress
//! deadline so `ProgressDeadlineExceeded` shows without any other event.

pub mod plan;
pub mod util;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::mpsc;

use crate::events::{EventType, Recorder};
use plan::{Input, PodInfo, Step};
use util::Claim;

/// Component name on events, as upstream.
pub const COMPONENT: &str = "deployment-controller";
/// Reconcile every Deployment this often even without events.
const RESYNC: Duration = Duration::from_secs(5 * 60);
/// Retry after a write lost a race (stale cache): the watch event that
/// refreshes the cache is usually already on its way.
const CONFLICT_RETRY: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Kube(#[from] kube::Error),
    #[error("replica set {name} already exists and is not this deployment's (hash collision)")]
    Collision { name: String },
}

impl Error {
    fn is_conflict(&self) -> bool {
        matches!(self, Error::Kube(kube::Error::Api(s)) if s.is_conflict())
    }

    /// The API message without client decoration, for conditions and events.
    fn message(e: &kube::Error) -> String {
        match e {
            kube::Error::Api(s) => s.message.clone(),
            other => other.to_string(),
        }
    }
}

/// An event to record about a Deployment.
struct Note {
    about: ObjectReference,
    type_: EventType,
    reason: &'static str,
    message: String,
}

struct Ctx {
    client: Client,
    replicasets: Store<ReplicaSet>,
    pods: Store<Pod>,
    /// Events go to one writer off the sync path: a sync (and the next one,
    /// which waits for it) never waits for an event to be written.
    notes: mpsc::UnboundedSender<Note>,
    /// Consecutive failures per Deployment UID, for error back-off.
    failures: Mutex<HashMap<String, u32>>,
}

impl Ctx {
    fn note(
        &self,
        about: &ObjectReference,
        type_: EventType,
        reason: &'static str,
        message: String,
    ) {
        // Only fails when the controller is shutting down.
        let _ = self.notes.send(Note {
            about: about.clone(),
            type_,
            reason,
            message,
        });
    }
}

/// Run the Deployment controller until `shutdown` resolves.
pub async fn run(client: Client, shutdown: impl Future<Output = ()> + Send + 'static) {
    let (replicasets, rs_writer) = reflector::store::<ReplicaSet>();
    let (pods, pod_writer) = reflector::store::<Pod>();
    let ctl = Controller::new(
        Api::<Deployment>::all(client.clone()),
        watcher::Config::default(),
    );
    let deployments = ctl.store();
    let (notes, mut pending) = mpsc::unbounded_channel::<Note>();
    let recorder = Recorder::new(client.clone(), COMPONENT);
    let publisher = async move {
        while let Some(n) = pending.recv().await {
            recorder
                .publish(&n.about, n.type_, n.reason, &n.message)
                .await;
        }
    };
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        replicasets: replicasets.clone(),
        pods,
        notes,
        failures: Mutex::new(HashMap::new()),
    });
    let rs_events = watcher(
        Api::<ReplicaSet>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(rs_writer)
    .touched_objects();
    let pod_events = watcher(Api::<Pod>::all(client), watcher::Config::default())
        .default_backoff()
        .reflect(pod_writer)
        .touched_objects();
    let for_rs = deployments.clone();
    let for_pod = deployments;
    let running = ctl
        .watches_stream(rs_events, move |rs: ReplicaSet| {
            deployments_for_replica_set(&for_rs, &rs)
        })
        .watches_stream(pod_events, move |pod: Pod| {
            deployment_of_pod(&for_pod, &replicasets, &pod)
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "deployment reconcile");
            }
        });
    tokio::select! {
        _ = shutdown => {}
        _ = async { tokio::join!(running, publisher) } => {}
    }
}

fn labels_of(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> std::collections::BTreeMap<String, String> {
    meta.labels.clone().unwrap_or_default()
}

fn selector_of(d: &Deployment) -> Option<Selector> {
    let sel = util::selector(d);
    if util::selects_everything(&sel) {
        return None;
    }
    Selector::try_from(sel).ok()
}

/// Deployments to sync when `rs` changes: its controller if that is a
/// Deployment, else (an orphan) every Deployment of its namespace selecting it.
fn deployments_for_replica_set(
    deployments: &Store<Deployment>,
    rs: &ReplicaSet,
) -> Vec<ObjectRef<Deployment>> {
    let ns = rs.namespace().unwrap_or_default();
    if let Some(c) = util::controller_of(rs.metadata.owner_references.as_ref()) {
        if c.kind == "Deployment" && c.api_version.starts_with("apps/") {
            return vec![ObjectRef::new(&c.name).within(&ns)];
        }
        return Vec::new();
    }
    let labels = labels_of(&rs.metadata);
    deployments
        .state()
        .iter()
        .filter(|d| d.namespace().as_deref() == Some(ns.as_str()))
        .filter(|d| selector_of(d).is_some_and(|s| s.matches(&labels)))
        .map(|d| ObjectRef::from(d.as_ref()))
        .collect()
}

/// The Deployment to sync when `pod` changes: the controller of its
/// ReplicaSet.
fn deployment_of_pod(
    deployments: &Store<Deployment>,
    replicasets: &Store<ReplicaSet>,
    pod: &Pod,
) -> Option<ObjectRef<Deployment>> {
    let ns = pod.namespace().unwrap_or_default();
    let owner = util::controller_of(pod.metadata.owner_references.as_ref())?;
    if owner.kind != "ReplicaSet" {
        return None;
    }
    let rs = replicasets.get(&ObjectRef::new(&owner.name).within(&ns))?;
    let dc = util::controller_of(rs.metadata.owner_references.as_ref())?;
    if dc.kind != "Deployment" {
        return None;
    }
    let key = ObjectRef::new(&dc.name).within(&ns);
    deployments.get(&key).map(|_| key)
}

fn error_policy(d: Arc<Deployment>, err: &Error, ctx: Arc<Ctx>) -> Action {
    if err.is_conflict() {
        return Action::requeue(CONFLICT_RETRY);
    }
    let uid = d.uid().unwrap_or_default();
    let n = {
        let mut f = ctx.failures.lock();
        let n = f.entry(uid).or_insert(0);
        *n = n.saturating_add(1);
        *n
    };
    tracing::warn!(deployment = %d.name_any(), error = %err, "sync failed");
    // 0.5 s, 1 s, 2 s, … up to the resync period.
    let delay = Duration::from_millis(500).saturating_mul(1 << n.min(10).saturating_sub(1));
    Action::requeue(delay.min(RESYNC))
}

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    // Acting on empty caches would create a second "new" ReplicaSet and
    // forget the old ones.
    let _ = ctx.replicasets.wait_until_ready().await;
    let _ = ctx.pods.wait_until_ready().await;
    let owned = match selector_of(&d) {
        Some(selector) => claim_replica_sets(&ctx, &d, &selector).await?,
        // `{}` (plan records SelectingAll) or an invalid selector, which
        // validation rejects: own nothing.
        None => Vec::new(),
    };
    let pods = pod_infos(&ctx, &d, &owned);
    let plan = plan::plan(Input {
        deployment: &d,
        replica_sets: owned,
        pods: &pods,
        now: Timestamp::now(),
    });
    let action = apply(&ctx, &d, plan).await?;
    ctx.failures.lock().remove(&d.uid().unwrap_or_default());
    Ok(action)
}

/// Upstream `getReplicaSetsForDeployment`: the ReplicaSets this Deployment
/// controls and selects, adopting selected orphans and releasing owned ones
/// that are no longer selected.
async fn claim_replica_sets(
    ctx: &Ctx,
    d: &Deployment,
    selector: &Selector,
) -> Result<Vec<ReplicaSet>, Error> {
    let ns = d.namespace().unwrap_or_default();
    let uid = d.uid().unwrap_or_default();
    let deleting = d.metadata.deletion_timestamp.is_some();
    let mut owned = Vec::new();
    let mut may_adopt: Option<bool> = None;
    let mut first_error = None;
    let candidates = ctx
        .replicasets
        .state_filter(|rs| rs.namespace().as_deref() == Some(ns.as_str()));
    for rs in candidates {
        let result = match util::claim(&uid, deleting, selector, &rs) {
            Claim::Owned => {
                owned.push(rs.as_ref().clone());
                Ok(())
            }
            Claim::Ignore => Ok(()),
            Claim::Adopt => {
                if may_adopt.is_none() {
                    may_adopt = Some(recheck(ctx, d).await?);
                }
                if may_adopt == Some(true) {
                    adopt(ctx, d, &rs).await.map(|r| owned.extend(r))
                } else {
                    Ok(())
                }
            }
            Claim::Release => release(ctx, &uid, &rs).await,
        };
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(owned),
    }
}

/// Upstream `RecheckDeletionTimestamp`: read the Deployment fresh before
/// adopting, so a cached copy of a deleted one adopts nothing.
async fn recheck(ctx: &Ctx, d: &Deployment) -> Result<bool, Error> {
    let api: Api<Deployment> =
        Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
    let fresh = api.get_opt(&d.name_any()).await?;
    Ok(fresh.is_some_and(|f| {
        f.metadata.uid == d.metadata.uid && f.metadata.deletion_timestamp.is_none()
    }))
}

fn gone(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.is_not_found() || s.code == 422)
}

/// Add our controller reference to an orphan (strategic merge on `uid`,
/// which also makes the patch fail on a recreated ReplicaSet).
async fn adopt(ctx: &Ctx, d: &Deployment, rs: &ReplicaSet) -> Result<Option<ReplicaSet>, Error> {
    let api: Api<ReplicaSet> =
        Api::namespaced(ctx.client.clone(), &rs.namespace().unwrap_or_default());
    match crate::claim::patch_owner_refs(&api, rs, json!([util::controller_ref(d)])).await {
        Ok(r) => Ok(Some(r)),
        Err(e) if gone(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Remove our controller reference from a ReplicaSet we no longer select.
async fn release(ctx: &Ctx, d_uid: &str, rs: &ReplicaSet) -> Result<(), Error> {
    let api: Api<ReplicaSet> =
        Api::namespaced(ctx.client.clone(), &rs.namespace().unwrap_or_default());
    match crate::claim::patch_owner_refs(&api, rs, crate::claim::release_ref(d_uid)).await {
        Ok(_) => Ok(()),
        Err(e) if gone(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Upstream `getPodMapForDeployment`, flattened: the selected pods whose
/// controller is one of `owned`, terminating ones included.
fn pod_infos(ctx: &Ctx, d: &Deployment, owned: &[ReplicaSet]) -> Vec<PodInfo> {
    let Some(selector) = selector_of(d) else {
        return Vec::new();
    };
    let ns = d.namespace().unwrap_or_default();
    let uids: HashSet<&str> = owned
        .iter()
        .filter_map(|rs| rs.metadata.uid.as_deref())
        .collect();
    ctx.pods
        .state()
        .iter()
        .filter(|p| p.namespace().as_deref() == Some(ns.as_str()))
        .filter(|p| selector.matches(&labels_of(&p.metadata)))
        .filter_map(|p| {
            let owner = util::controller_of(p.metadata.owner_references.as_ref())?;
            uids.contains(owner.uid.as_str()).then(|| PodInfo {
                owner_uid: owner.uid.clone(),
                phase: p.status.as_ref().and_then(|s| s.phase.clone()),
                terminating: p.metadata.deletion_timestamp.is_some(),
            })
        })
        .collect()
}

fn object_ref(d: &Deployment) -> ObjectReference {
    ObjectReference {
        api_version: Some("apps/v1".into()),
        kind: Some("Deployment".into()),
        name: d.metadata.name.clone(),
        namespace: d.metadata.namespace.clone(),
        uid: d.metadata.uid.clone(),
        resource_version: d.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// Creation fails only because the namespace is going away: nothing to do.
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

/// Apply `plan` in order; the first failed write ends the sync (upstream
/// returns at its first error too), and the Deployment is written last.
async fn apply(ctx: &Ctx, d: &Deployment, plan: plan::Plan) -> Result<Action, Error> {
    let ns = d.namespace().unwrap_or_default();
    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);
    let about = object_ref(d);
    // resourceVersions of our own writes: a ReplicaSet written twice in one
    // sync (annotations, then size) is replaced over our first write.
    let mut versions: HashMap<String, String> = HashMap::new();
    for step in plan.steps {
        match step {
            Step::Create(rs) => {
                let name = rs.name_any();
                match rs_api.create(&PostParams::default(), &rs).await {
                    Ok(created) => {
                        if let Some(v) = created.metadata.resource_version {
                            versions.insert(name, v);
                        }
                    }
                    Err(kube::Error::Api(s)) if s.is_already_exists() => {
                        return already_exists(ctx, d, &rs_api, &name).await;
                    }
                    Err(e) if namespace_terminating(&e) => return Ok(Action::await_change()),
                    Err(e) => {
                        let (next, msg) =
                            plan::create_failed(d, &name, &Error::message(&e), Timestamp::now());
                        if let Some(next) = next {
                            // The create error is the one worth reporting.
                            let _ = write_deployment(ctx, d, &next).await;
                        }
                        ctx.note(
                            &about,
                            EventType::Warning,
                            util::reason::FAILED_RS_CREATE,
                            msg,
                        );
                        return Err(e.into());
                    }
                }
            }
            Step::Update(mut rs) => {
                let name = rs.name_any();
                if let Some(v) = versions.get(&name) {
                    rs.metadata.resource_version = Some(v.clone());
                }
                let updated = rs_api.replace(&name, &PostParams::default(), &rs).await?;
                if let Some(v) = updated.metadata.resource_version {
                    versions.insert(name, v);
                }
            }
            Step::Delete { name, uid } => {
                let dp = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid,
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                match rs_api.delete(&name, &dp).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Step::Event {
                warning,
                reason,
                message,
            } => {
                let t = if warning {
                    EventType::Warning
                } else {
                    EventType::Normal
                };
                ctx.note(&about, t, reason, message);
            }
        }
    }
    if let Some(next) = plan.deployment {
        write_deployment(ctx, d, &next).await?;
    }
    Ok(Action::requeue(
        plan.requeue_after.map_or(RESYNC, |a| a.min(RESYNC)),
    ))
}

/// Creating the new ReplicaSet found one of that name: ours with our
/// template means a stale cache (look again soon); anything else is a hash
/// collision, answered with one more `collisionCount` (upstream
/// `getNewReplicaSet`).
async fn already_exists(
    ctx: &Ctx,
    d: &Deployment,
    rs_api: &Api<ReplicaSet>,
    name: &str,
) -> Result<Action, Error> {
    let Some(existing) = rs_api.get_opt(name).await? else {
        return Ok(Action::requeue(CONFLICT_RETRY));
    };
    let ours = util::controller_of(existing.metadata.owner_references.as_ref())
        .is_some_and(|c| Some(&c.uid) == d.metadata.uid.as_ref());
    if ours && util::equal_ignore_hash(&util::template(d), &util::rs_template(&existing)) {
        return Ok(Action::requeue(CONFLICT_RETRY));
    }
    write_deployment(ctx, d, &plan::bump_collision_count(d)).await?;
    tracing::info!(deployment = %d.name_any(), replicaset = name, "hash collision; bumping collisionCount");
    Err(Error::Collision {
        name: name.to_string(),
    })
}

/// Write the Deployment's status (with its annotations, as upstream's
/// status strategy keeps them) through `/status`.
async fn write_deployment(ctx: &Ctx, d: &Deployment, next: &Deployment) -> Result<(), Error> {
    let api: Api<Deployment> =
        Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
    let name = d.name_any();
    let written = match api
        .replace_status(&name, &PostParams::default(), next)
        .await
    {
        Ok(w) => w,
        Err(kube::Error::Api(s)) if s.is_not_found() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    // A server whose status writes keep all metadata from storage drops the
    // revision annotation; write it on the object itself then (that bumps
    // the generation, which the next sync observes).
    let want = next
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(util::REVISION));
    let have = written
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(util::REVISION));
    if let Some(rev) = want.filter(|w| Some(*w) != have) {
        let patch = json!({"metadata": {"annotations": {util::REVISION: rev}}});
        match api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
