//! Watching the API: every object kind router-core reads is kept as JSON in
//! one store; a single rebuild task turns the store into snapshots,
//! coalescing bursts (one build in flight, another after it if anything
//! changed meanwhile).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, TypeMeta};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Client;
use router_core::{BuildOptions, SnapshotBuilder};
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};

use crate::listen::Listeners;
use crate::state::Shared;

/// The kinds the router watches. The first three exist on every server; the
/// others only when their CRDs are installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Service,
    EndpointSlice,
    Pod,
    Gateway,
    HttpRoute,
    ReferenceGrant,
    IstioGateway,
    VirtualService,
    DestinationRule,
}

const CORE: [Kind; 3] = [Kind::Service, Kind::EndpointSlice, Kind::Pod];
const OPTIONAL: [Kind; 6] = [
    Kind::Gateway,
    Kind::HttpRoute,
    Kind::ReferenceGrant,
    Kind::IstioGateway,
    Kind::VirtualService,
    Kind::DestinationRule,
];

/// How often missing CRDs are looked for again.
const DISCOVERY_EVERY: Duration = Duration::from_secs(3);
/// How often listeners that failed to bind are retried.
const BIND_RETRY_EVERY: Duration = Duration::from_secs(2);

type Key = (String, String);

#[derive(Default)]
pub(crate) struct Store {
    inner: Mutex<StoreInner>,
    notify: Notify,
}

#[derive(Default)]
struct StoreInner {
    objects: HashMap<Kind, HashMap<Key, Arc<Value>>>,
    /// Objects of a re-list, swapped in at `InitDone`.
    init: HashMap<Kind, HashMap<Key, Arc<Value>>>,
    synced: Vec<Kind>,
    /// Highest resourceVersion of any event received.
    seen_rv: u64,
    /// Highest resourceVersion of a Service event (one stream, so in order:
    /// every Service write up to it has been received).
    seen_service_rv: u64,
    /// An event changed something the snapshot reads.
    dirty: bool,
}

// === impl Kind ===

impl Kind {
    fn group_kind(self) -> (&'static str, &'static str) {
        match self {
            Kind::Service => ("", "Service"),
            Kind::EndpointSlice => ("discovery.k8s.io", "EndpointSlice"),
            Kind::Pod => ("", "Pod"),
            Kind::Gateway => ("gateway.networking.k8s.io", "Gateway"),
            Kind::HttpRoute => ("gateway.networking.k8s.io", "HTTPRoute"),
            Kind::ReferenceGrant => ("gateway.networking.k8s.io", "ReferenceGrant"),
            Kind::IstioGateway => ("networking.istio.io", "Gateway"),
            Kind::VirtualService => ("networking.istio.io", "VirtualService"),
            Kind::DestinationRule => ("networking.istio.io", "DestinationRule"),
        }
    }
}

// === impl Store ===

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, StoreInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn event(&self, kind: Kind, ar: &ApiResource, event: Event<DynamicObject>) {
        let mut g = self.lock();
        match event {
            Event::Init => {
                g.init.insert(kind, HashMap::new());
            }
            Event::InitApply(obj) => {
                g.note_rv(kind, &obj);
                let (key, value) = normalize(kind, ar, obj);
                g.init.entry(kind).or_default().insert(key, Arc::new(value));
            }
            Event::InitDone => {
                let fresh = g.init.remove(&kind).unwrap_or_default();
                let old = g.objects.insert(kind, fresh);
                let changed = match (&old, g.objects.get(&kind)) {
                    (Some(old), Some(new)) => old != new,
                    _ => true,
                };
                g.dirty |= changed;
                if !g.synced.contains(&kind) {
                    g.synced.push(kind);
                }
            }
            Event::Apply(obj) => {
                g.note_rv(kind, &obj);
                let (key, value) = normalize(kind, ar, obj);
                let map = g.objects.entry(kind).or_default();
                if map.get(&key).map(|v| **v != value).unwrap_or(true) {
                    map.insert(key, Arc::new(value));
                    g.dirty = true;
                }
            }
            Event::Delete(obj) => {
                g.note_rv(kind, &obj);
                let key = key_of(&obj);
                if g.objects.entry(kind).or_default().remove(&key).is_some() {
                    g.dirty = true;
                }
            }
        }
        drop(g);
        self.notify.notify_one();
    }

    fn core_synced(&self) -> bool {
        let g = self.lock();
        CORE.iter().all(|k| g.synced.contains(k))
    }
}

impl StoreInner {
    fn note_rv(&mut self, kind: Kind, obj: &DynamicObject) {
        if let Some(rv) = obj
            .metadata
            .resource_version
            .as_deref()
            .and_then(|s| s.parse::<u64>().ok())
        {
            self.seen_rv = self.seen_rv.max(rv);
            if kind == Kind::Service {
                self.seen_service_rv = self.seen_service_rv.max(rv);
            }
        }
    }

    fn applied(&self) -> Applied {
        Applied {
            any: self.seen_rv,
            services: self.seen_service_rv,
        }
    }

    fn values(&self) -> Vec<Arc<Value>> {
        self.objects
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }

    fn has_routes(&self) -> bool {
        [Kind::HttpRoute, Kind::VirtualService]
            .iter()
            .any(|k| self.objects.get(k).is_some_and(|m| !m.is_empty()))
    }
}

fn key_of(obj: &DynamicObject) -> Key {
    (
        obj.metadata.namespace.clone().unwrap_or_default(),
        obj.metadata.name.clone().unwrap_or_default(),
    )
}

/// The resourceVersions whose effects are live, per what a caller can wait
/// for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Of any kind.
    pub any: u64,
    /// Of the Service stream.
    pub services: u64,
}

/// The object as the snapshot builder reads it, without the fields that
/// change on every write (so no-op updates are recognised): Pods shrink to
/// what endpoints are made of (labels, deletion, node, container ports, IP,
/// phase and the Ready condition's status), everything else loses
/// `resourceVersion` and `managedFields`.
fn normalize(kind: Kind, ar: &ApiResource, mut obj: DynamicObject) -> (Key, Value) {
    let key = key_of(&obj);
    if kind == Kind::Pod {
        let ready = obj.data["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
            .map(|c| c["status"].clone())
            .unwrap_or(Value::Null);
        let ports: Vec<Value> = obj.data["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| json!({"ports": c["ports"].as_array().cloned().unwrap_or_default()}))
            .collect();
        let value = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": key.1,
                "namespace": key.0,
                "labels": obj.metadata.labels.take().unwrap_or_default(),
                "deletionTimestamp": obj.metadata.deletion_timestamp.take(),
            },
            "spec": {
                "nodeName": obj.data["spec"]["nodeName"].clone(),
                "containers": ports,
            },
            "status": {
                "phase": obj.data["status"]["phase"].clone(),
                "podIP": obj.data["status"]["podIP"].clone(),
                "conditions": if ready.is_null() { json!([]) } else { json!([{"type": "Ready", "status": ready}]) },
            }
        });
        return (key, value);
    }
    obj.metadata.resource_version = None;
    obj.metadata.managed_fields = None;
    // List items may omit apiVersion and kind; the builder dispatches on them.
    obj.types = Some(TypeMeta {
        api_version: ar.api_version.clone(),
        kind: ar.kind.clone(),
    });
    let value = serde_json::to_value(&obj).unwrap_or(Value::Null);
    (key, value)
}

/// Watches one kind until the task is aborted. Errors are retried with
/// kube's default backoff.
async fn watch_kind(client: Client, kind: Kind, ar: ApiResource, store: Arc<Store>) {
    let api: Api<DynamicObject> = Api::all_with(client, &ar);
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => store.event(kind, &ar, event),
            Err(e) => tracing::debug!(?kind, error = %e, "watch error; retrying"),
        }
    }
}

use kube::runtime::watcher::watcher;

/// Starts the core watchers now and the optional ones as their CRDs appear.
pub(crate) fn spawn_watchers(
    client: Client,
    store: Arc<Store>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let core: [(Kind, ApiResource); 3] = [
        (Kind::Service, ApiResource::erase::<Service>(&())),
        (
            Kind::EndpointSlice,
            ApiResource::erase::<EndpointSlice>(&()),
        ),
        (Kind::Pod, ApiResource::erase::<Pod>(&())),
    ];
    for (kind, ar) in core {
        tasks.push(tokio::spawn(watch_kind(
            client.clone(),
            kind,
            ar,
            store.clone(),
        )));
    }
    tasks.push(tokio::spawn(discover_optional(client, store)));
    tasks
}

/// Looks for the Gateway API and Istio kinds every few seconds and watches
/// each once it is served; a missing CRD is normal.
async fn discover_optional(client: Client, store: Arc<Store>) {
    let mut missing: Vec<Kind> = OPTIONAL.to_vec();
    let mut watchers = Vec::new();
    while !missing.is_empty() {
        let mut groups: Vec<&str> = missing.iter().map(|k| k.group_kind().0).collect();
        groups.dedup();
        for group in groups {
            let Ok(api_group) = kube::discovery::group(&client, group).await else {
                continue;
            };
            missing.retain(|kind| {
                let (g, k) = kind.group_kind();
                if g != group {
                    return true;
                }
                match api_group.recommended_kind(k) {
                    Some((ar, _)) => {
                        tracing::debug!(group, kind = k, version = %ar.version, "watching");
                        watchers.push(tokio::spawn(watch_kind(
                            client.clone(),
                            *kind,
                            ar,
                            store.clone(),
                        )));
                        false
                    }
                    None => true,
                }
            });
        }
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(DISCOVERY_EVERY).await;
    }
    // Keep the watchers owned by this task, so aborting it stops them.
    struct AbortAll(Vec<tokio::task::JoinHandle<()>>);
    impl Drop for AbortAll {
        fn drop(&mut self) {
            for t in &self.0 {
                t.abort();
            }
        }
    }
    let _guard = AbortAll(watchers);
    std::future::pending::<()>().await;
}

/// Builds snapshots while the store changes, reconciles listeners after
/// each, and publishes the resourceVersion whose effects are live.
pub(crate) async fn rebuild_loop(
    shared: Arc<Shared>,
    store: Arc<Store>,
    opts: BuildOptions,
    applied: watch::Sender<Applied>,
    built: watch::Sender<bool>,
) {
    while !store.core_synced() {
        store.notify.notified().await;
    }
    let mut listeners = Listeners::default();
    let mut first = true;
    loop {
        let work = {
            let mut g = store.lock();
            if g.dirty || first {
                g.dirty = false;
                Some((g.values(), g.applied(), g.has_routes()))
            } else {
                // Nothing to rebuild: every event seen is in effect.
                let rv = g.applied();
                drop(g);
                applied.send_if_modified(|cur| {
                    let newer = rv != *cur;
                    *cur = rv;
                    newer
                });
                None
            }
        };
        match work {
            Some((values, rv, has_routes)) => {
                let mut builder = SnapshotBuilder::new(opts.clone());
                for v in &values {
                    if let Err(e) = builder.add(v) {
                        tracing::debug!(error = %e, "object skipped");
                    }
                }
                let snapshot = builder.build();
                shared.install(snapshot.clone(), has_routes);
                listeners.reconcile(&shared, &snapshot);
                applied.send_if_modified(|cur| {
                    let newer = rv != *cur;
                    *cur = rv;
                    newer
                });
                if first {
                    first = false;
                    let _ = built.send(true);
                }
            }
            None => {
                if listeners.failed > 0 {
                    tokio::select! {
                        _ = store.notify.notified() => {}
                        _ = tokio::time::sleep(BIND_RETRY_EVERY) => {
                            let snapshot = shared.state().snapshot.clone();
                            listeners.reconcile(&shared, &snapshot);
                        }
                    }
                } else {
                    store.notify.notified().await;
                }
            }
        }
    }
}
