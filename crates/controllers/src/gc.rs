//! The garbage collector (upstream `pkg/controller/garbagecollector`).
//!
//! Generic over every resource this server serves with list, watch and delete
//! (from discovery, refreshed periodically so new CRDs are covered): one
//! `watcher` per resource over `DynamicObject` feeds the ownership
//! [`graph::Graph`]; the changes it reports go on a [`queue::WorkQueue`]
//! drained by a few workers once every resource has been listed.
//!
//! * Background: an object whose owners are all gone is deleted.
//! * Foreground: an owner with `deletionTimestamp` and the
//!   `foregroundDeletion` finalizer gets its dependents deleted; once no
//!   dependent with `blockOwnerDeletion` is left, the finalizer goes.
//! * Orphan: an owner with `deletionTimestamp` and the `orphan` finalizer is
//!   removed from its dependents' `ownerReferences`, then the finalizer goes.
//!
//! Owner existence is always confirmed with a live read before deleting, so
//! a graph that lags (an owner created just before its dependent was seen)
//! never causes a wrong deletion.

pub mod graph;
pub mod queue;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, BoxStream, SelectAll};
use futures_util::StreamExt;
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use kube::discovery::{verbs, Discovery, Scope};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::{oneshot, watch as tokio_watch};

use graph::{Graph, Owner, Res, Work, FOREGROUND, ORPHAN};
use queue::WorkQueue;

/// How often discovery runs again to pick up new or removed resources.
const REDISCOVER: Duration = Duration::from_secs(30);
/// Start collecting even if some resource never finished its first list.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);
/// Concurrent workers.
const WORKERS: usize = 4;
/// Owner UIDs known to be gone, remembered to save reads.
const ABSENT_LIMIT: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("discovery: {0}")]
    Discovery(#[source] kube::Error),
    #[error("{0}")]
    Kube(#[from] kube::Error),
    #[error("{kind} {name}: still changing after several attempts")]
    Contended { kind: String, name: String },
}

/// Resource types found by discovery.
struct Resources {
    /// One per group and kind (the preferred version): what we watch.
    watched: Vec<Arc<Res>>,
    /// Every served `(apiVersion, kind)`: how owner references resolve.
    by_kind: HashMap<(String, String), Arc<Res>>,
}

/// Upstream ignores events: they are many, short-lived and never own anything.
fn ignored(group: &str, plural: &str) -> bool {
    plural == "events" && (group.is_empty() || group == "events.k8s.io")
}

async fn discover(client: &Client) -> Result<Resources, Error> {
    let d = Discovery::new(client.clone())
        .run()
        .await
        .map_err(Error::Discovery)?;
    let mut watched = Vec::new();
    let mut by_kind = HashMap::new();
    for group in d.groups() {
        for (ar, caps) in group.recommended_resources() {
            let usable = caps.supports_operation(verbs::LIST)
                && caps.supports_operation(verbs::WATCH)
                && caps.supports_operation(verbs::DELETE);
            if usable && !ignored(&ar.group, &ar.plural) {
                watched.push(Arc::new(Res {
                    namespaced: caps.scope == Scope::Namespaced,
                    api: ar,
                }));
            }
        }
        for v in group.versions() {
            for (ar, caps) in group.versioned_resources(v) {
                let res = Arc::new(Res {
                    namespaced: caps.scope == Scope::Namespaced,
                    api: ar,
                });
                by_kind.insert((res.api.api_version.clone(), res.api.kind.clone()), res);
            }
        }
    }
    Ok(Resources { watched, by_kind })
}

struct Shared {
    client: Client,
    graph: Mutex<Graph>,
    queue: WorkQueue<Work>,
    by_kind: Mutex<HashMap<(String, String), Arc<Res>>>,
    absent: Mutex<HashSet<String>>,
}

type Events = BoxStream<
    'static,
    (
        Arc<Res>,
        Result<watcher::Event<DynamicObject>, watcher::Error>,
    ),
>;

fn watch_stream(client: &Client, res: Arc<Res>, stop: oneshot::Receiver<()>) -> Events {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &res.api);
    watcher(api, watcher::Config::default())
        .default_backoff()
        .take_until(stop)
        .map(move |ev| (res.clone(), ev))
        .boxed()
}

/// Run the collector. Returns only if discovery fails at start-up.
pub async fn run(client: Client) -> Result<(), Error> {
    let resources = discover(&client).await?;
    let shared = Arc::new(Shared {
        client: client.clone(),
        graph: Mutex::new(Graph::default()),
        queue: WorkQueue::default(),
        by_kind: Mutex::new(resources.by_kind),
        absent: Mutex::new(HashSet::new()),
    });
    let (synced_tx, synced_rx) = tokio_watch::channel(false);
    let workers = stream::iter(0..WORKERS).for_each_concurrent(None, |_| {
        let shared = shared.clone();
        let mut synced = synced_rx.clone();
        async move {
            // Acting on a half-built graph could, e.g., drop a foreground
            // finalizer before the dependents were listed.
            if synced.wait_for(|s| *s).await.is_err() {
                return;
            }
            worker(&shared).await;
        }
    });
    tokio::join!(ingest(&shared, resources.watched, synced_tx), workers);
    Ok(())
}

/// Apply watch events to the graph and queue the work they imply.
async fn ingest(shared: &Shared, initial: Vec<Arc<Res>>, synced: tokio_watch::Sender<bool>) {
    let mut streams: SelectAll<Events> = SelectAll::new();
    let mut stops: HashMap<String, oneshot::Sender<()>> = HashMap::new();
    let mut unsynced: HashSet<String> = HashSet::new();
    for res in initial {
        let (tx, rx) = oneshot::channel();
        stops.insert(res.key(), tx);
        unsynced.insert(res.key());
        streams.push(watch_stream(&shared.client, res, rx));
    }
    let mut tick = tokio::time::interval(REDISCOVER);
    tick.tick().await;
    let mut is_synced = false;
    let give_up = tokio::time::sleep(SYNC_TIMEOUT);
    tokio::pin!(give_up);
    loop {
        tokio::select! {
            _ = &mut give_up, if !is_synced => {
                // One resource whose list keeps failing must not stop
                // collection of all the others.
                tracing::warn!(?unsynced, "garbage collector starting before every resource listed");
                is_synced = true;
                let work = shared.graph.lock().mark_synced();
                shared.queue.add_all(work);
                let _ = synced.send(true);
            }
            Some((res, ev)) = streams.next() => {
                let work = {
                    let mut g = shared.graph.lock();
                    match ev {
                        Ok(watcher::Event::Apply(o)) | Ok(watcher::Event::InitApply(o)) => g.apply(&res, &o),
                        Ok(watcher::Event::Delete(o)) => g.delete_obj(&o),
                        Ok(watcher::Event::Init) => {
                            g.init(&res);
                            Vec::new()
                        }
                        Ok(watcher::Event::InitDone) => {
                            let mut w = g.init_done(&res);
                            if unsynced.remove(&res.key()) && unsynced.is_empty() && !is_synced {
                                is_synced = true;
                                w.extend(g.mark_synced());
                                tracing::debug!(objects = g.len(), "garbage collector synced");
                                let _ = synced.send(true);
                            }
                            w
                        }
                        Err(e) => {
                            tracing::debug!(resource = %res.key(), error = %e, "gc watch");
                            Vec::new()
                        }
                    }
                };
                shared.queue.add_all(work);
            }
            _ = tick.tick() => {
                let Ok(found) = discover(&shared.client).await else { continue };
                let keys: HashSet<String> = found.watched.iter().map(|r| r.key()).collect();
                for res in found.watched {
                    if let std::collections::hash_map::Entry::Vacant(e) = stops.entry(res.key()) {
                        let (tx, rx) = oneshot::channel();
                        e.insert(tx);
                        streams.push(watch_stream(&shared.client, res, rx));
                    }
                }
                let gone: Vec<String> = stops.keys().filter(|k| !keys.contains(*k)).cloned().collect();
                for k in gone {
                    // Dropping the sender ends that watch stream.
                    stops.remove(&k);
                    unsynced.remove(&k);
                    let work = shared.graph.lock().remove_resource(&k);
                    shared.queue.add_all(work);
                }
                *shared.by_kind.lock() = found.by_kind;
            }
        }
    }
}

async fn worker(shared: &Shared) {
    loop {
        let item = shared.queue.next().await;
        match process(shared, &item).await {
            Ok(()) => shared.queue.forget(&item),
            Err(e) => {
                tracing::debug!(?item, error = %e, "garbage collection retry");
                shared.queue.add_rate_limited(item.clone());
            }
        }
        shared.queue.done(&item);
    }
}

async fn process(shared: &Shared, item: &Work) -> Result<(), Error> {
    match item {
        Work::Delete(uid) => attempt_to_delete(shared, uid).await,
        Work::Orphan(uid) => orphan_dependents(shared, uid).await,
    }
}

fn api_for(client: &Client, res: &Res, namespace: Option<&str>) -> Api<DynamicObject> {
    match (res.namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &res.api),
        _ => Api::all_with(client.clone(), &res.api),
    }
}

/// Where the graph says an object lives.
struct Ident {
    res: Arc<Res>,
    namespace: Option<String>,
    name: String,
}

fn ident(shared: &Shared, uid: &str) -> Option<Ident> {
    shared.graph.lock().node(uid).map(|n| Ident {
        res: n.res.clone(),
        namespace: n.namespace.clone(),
        name: n.name.clone(),
    })
}

/// The object as the server has it now, if it is still the same object.
async fn latest(shared: &Shared, id: &Ident, uid: &str) -> Result<Option<DynamicObject>, Error> {
    let api = api_for(&shared.client, &id.res, id.namespace.as_deref());
    Ok(api
        .get_opt(&id.name)
        .await?
        .filter(|o| o.metadata.uid.as_deref() == Some(uid)))
}

fn has_finalizer(o: &DynamicObject, f: &str) -> bool {
    o.metadata.finalizers.iter().flatten().any(|x| x == f)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OwnerState {
    /// Exists and is not waiting for its dependents.
    Solid,
    /// Gone (or replaced by another object of the same name).
    Dangling,
    /// Being deleted in the foreground.
    Waiting,
}

async fn owner_state(
    shared: &Shared,
    owner: &Owner,
    dependent_ns: Option<&str>,
) -> Result<OwnerState, Error> {
    if shared.absent.lock().contains(&owner.uid) {
        return Ok(OwnerState::Dangling);
    }
    let res = shared
        .by_kind
        .lock()
        .get(&(owner.api_version.clone(), owner.kind.clone()))
        .cloned();
    let Some(res) = res else {
        // A kind this server does not serve cannot be checked; keep the
        // dependent rather than guess.
        tracing::debug!(kind = %owner.kind, api_version = %owner.api_version, "unresolvable owner");
        return Ok(OwnerState::Solid);
    };
    if res.namespaced && dependent_ns.is_none() {
        // A cluster-scoped object cannot have a namespaced owner.
        return Ok(OwnerState::Dangling);
    }
    let api = api_for(&shared.client, &res, dependent_ns);
    let found = api.get_opt(&owner.name).await?;
    match found {
        Some(o) if o.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
            if o.metadata.deletion_timestamp.is_some() && has_finalizer(&o, FOREGROUND) {
                Ok(OwnerState::Waiting)
            } else {
                Ok(OwnerState::Solid)
            }
        }
        _ => {
            let mut absent = shared.absent.lock();
            if absent.len() >= ABSENT_LIMIT {
                absent.clear();
            }
            absent.insert(owner.uid.clone());
            Ok(OwnerState::Dangling)
        }
    }
}

/// Upstream `attemptToDeleteItem`.
async fn attempt_to_delete(shared: &Shared, uid: &str) -> Result<(), Error> {
    let Some(id) = ident(shared, uid) else {
        return Ok(());
    };
    let Some(obj) = latest(shared, &id, uid).await? else {
        return Ok(());
    };
    if obj.metadata.deletion_timestamp.is_some() {
        if has_finalizer(&obj, FOREGROUND) {
            return process_deleting_dependents(shared, &id, uid).await;
        }
        return Ok(());
    }
    let owners: Vec<Owner> = obj
        .metadata
        .owner_references
        .iter()
        .flatten()
        .map(|r| Owner {
            uid: r.uid.clone(),
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            name: r.name.clone(),
            block: r.block_owner_deletion == Some(true),
        })
        .collect();
    if owners.is_empty() {
        return Ok(());
    }
    let ns = obj.metadata.namespace.clone();
    let (mut solid, mut dangling, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
    for o in owners {
        match owner_state(shared, &o, ns.as_deref()).await? {
            OwnerState::Solid => solid.push(o),
            OwnerState::Dangling => dangling.push(o),
            OwnerState::Waiting => waiting.push(o),
        }
    }
    let rv = obj.metadata.resource_version.clone();

    if !solid.is_empty() {
        if dangling.is_empty() && waiting.is_empty() {
            return Ok(());
        }
        // Keep the object, but not its references to owners that are gone or
        // that would otherwise wait for it forever.
        let drop: HashSet<String> = dangling
            .iter()
            .chain(&waiting)
            .map(|o| o.uid.clone())
            .collect();
        return edit_owner_refs(shared, &id, uid, |refs| {
            refs.retain(|r| !drop.contains(&r.uid))
        })
        .await;
    }

    let policy = if !waiting.is_empty() && !shared.graph.lock().dependents(uid).is_empty() {
        // Our owners wait for us and we have dependents of our own: go in the
        // foreground too, so they go first. A dependent that is itself
        // waiting could form a cycle; then stop blocking our owners.
        let cycle = {
            let g = shared.graph.lock();
            g.dependents(uid)
                .iter()
                .any(|d| g.node(d).is_some_and(|n| n.deleting_dependents()))
        };
        if cycle {
            let wait: HashSet<String> = waiting.iter().map(|o| o.uid.clone()).collect();
            edit_owner_refs(shared, &id, uid, |refs| {
                for r in refs.iter_mut().filter(|r| wait.contains(&r.uid)) {
                    r.block_owner_deletion = Some(false);
                }
            })
            .await?;
        }
        PropagationPolicy::Foreground
    } else if has_finalizer(&obj, ORPHAN) {
        PropagationPolicy::Orphan
    } else if has_finalizer(&obj, FOREGROUND) {
        PropagationPolicy::Foreground
    } else {
        PropagationPolicy::Background
    };
    let api = api_for(&shared.client, &id.res, id.namespace.as_deref());
    // After unblocking references the version moved on; the UID still pins
    // the object.
    let rv = if policy == PropagationPolicy::Foreground {
        None
    } else {
        rv
    };
    tracing::debug!(kind = %id.res.api.kind, name = %id.name, ?policy, "garbage collecting");
    let dp = DeleteParams {
        propagation_policy: Some(policy),
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: rv,
        }),
        ..Default::default()
    };
    match api.delete(&id.name, &dp).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Upstream `processDeletingDependentsItem`.
async fn process_deleting_dependents(shared: &Shared, id: &Ident, uid: &str) -> Result<(), Error> {
    let blocking = shared.graph.lock().blocking_dependents(uid);
    if blocking.is_empty() {
        return remove_finalizer(shared, id, uid, FOREGROUND).await;
    }
    shared.queue.add_all(
        blocking
            .into_iter()
            .filter(|(_, deleting)| !deleting)
            .map(|(d, _)| Work::Delete(d)),
    );
    Ok(())
}

/// Upstream `orphanDependents` followed by removing the `orphan` finalizer.
async fn orphan_dependents(shared: &Shared, uid: &str) -> Result<(), Error> {
    let Some(id) = ident(shared, uid) else {
        return Ok(());
    };
    let deps: Vec<(String, Ident)> = {
        let g = shared.graph.lock();
        g.dependents(uid)
            .into_iter()
            .filter_map(|d| {
                let n = g.node(&d)?;
                Some((
                    d.clone(),
                    Ident {
                        res: n.res.clone(),
                        namespace: n.namespace.clone(),
                        name: n.name.clone(),
                    },
                ))
            })
            .collect()
    };
    for (dep_uid, dep) in &deps {
        edit_owner_refs(shared, dep, dep_uid, |refs| refs.retain(|r| r.uid != uid)).await?;
    }
    remove_finalizer(shared, &id, uid, ORPHAN).await
}

/// Read-modify-write of an object's owner references, guarded by its
/// resourceVersion (a JSON merge patch, so it works for custom resources too).
async fn edit_owner_refs(
    shared: &Shared,
    id: &Ident,
    uid: &str,
    edit: impl Fn(&mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>),
) -> Result<(), Error> {
    let api = api_for(&shared.client, &id.res, id.namespace.as_deref());
    for _ in 0..5 {
        let Some(obj) = latest(shared, id, uid).await? else {
            return Ok(());
        };
        let old = obj.metadata.owner_references.clone().unwrap_or_default();
        let mut new = old.clone();
        edit(&mut new);
        if new == old {
            return Ok(());
        }
        let refs = if new.is_empty() {
            json!(null)
        } else {
            json!(new)
        };
        let patch = json!({"metadata": {
            "ownerReferences": refs,
            "resourceVersion": obj.metadata.resource_version,
        }});
        match api
            .patch(&id.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.is_conflict() => continue,
            Err(kube::Error::Api(s)) if s.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Contended {
        kind: id.res.api.kind.clone(),
        name: id.name.clone(),
    })
}

async fn remove_finalizer(
    shared: &Shared,
    id: &Ident,
    uid: &str,
    finalizer: &str,
) -> Result<(), Error> {
    let api = api_for(&shared.client, &id.res, id.namespace.as_deref());
    for _ in 0..5 {
        let Some(obj) = latest(shared, id, uid).await? else {
            return Ok(());
        };
        if !has_finalizer(&obj, finalizer) {
            return Ok(());
        }
        let rest: Vec<String> = obj
            .metadata
            .finalizers
            .iter()
            .flatten()
            .filter(|f| *f != finalizer)
            .cloned()
            .collect();
        let patch = json!({"metadata": {
            "finalizers": if rest.is_empty() { json!(null) } else { json!(rest) },
            "resourceVersion": obj.metadata.resource_version,
        }});
        match api
            .patch(&id.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.is_conflict() => continue,
            Err(kube::Error::Api(s)) if s.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Contended {
        kind: id.res.api.kind.clone(),
        name: id.name.clone(),
    })
}
