//! The EndpointSlice controller (upstream `pkg/controller/endpointslice`)
//! and the core/v1 Endpoints mirror for older clients (upstream
//! `pkg/controller/endpoint`), in one reconcile per Service.
//!
//! ```text
//! /// Run until `shutdown` resolves.
//! pub async fn run(client: kube::Client, shutdown: impl Future<Output = ()> + Send + 'static);
//! ```
//!
//! For every Service with a selector (not ExternalName): slices named
//! `<svc>-<random>`, labelled with the Service name and our manager name,
//! controlled by the Service, one per address type and set of resolved
//! ports, at most [`plan::MAX_ENDPOINTS_PER_SLICE`] endpoints each, with
//! upstream's ready / serving / terminating conditions; and the Endpoints
//! object `<svc>` with ready and not-ready addresses. Nothing is written when
//! nothing changed.
//!
//! Wiring: watcher → reflector for Services, Pods, EndpointSlices and
//! Endpoints, each event mapped to the Services it concerns and fed to a
//! kube-runtime `Controller` over Services. A Service that is gone (deleted,
//! or named by a leftover Endpoints object at start-up) reaches us as the
//! controller's "object not found"; its Endpoints object is then deleted
//! once a live read confirms (slices go with the garbage collector through
//! their owner reference). Our own writes are remembered until the caches
//! show them ([`tracker::Pending`]), so a reconcile never acts on a cache
//! that misses a slice it just created.
//!
//! Differences from upstream: no Node lookups (no `zone`, and pods on
//! unknown nodes are not skipped) and no topology hints.

pub mod desired;
pub mod plan;
pub mod tracker;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Endpoints, ObjectReference, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::events::{EventType, Recorder};
use desired::{ANNOTATION_LEADER, CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME};
use tracker::{Expect, Kind, Pending, ServiceKey, TriggerTimes};

/// Reconcile every Service this often even without events.
const RESYNC: Duration = Duration::from_secs(5 * 60);
/// Look again this soon when the caches do not show our last writes yet
/// (their watch events normally trigger a reconcile sooner).
const STALE_RECHECK: Duration = Duration::from_secs(1);
/// Component names on events, as upstream.
pub const SLICE_COMPONENT: &str = "endpointslice-controller";
pub const ENDPOINTS_COMPONENT: &str = "endpoint-controller";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Kube(#[from] kube::Error),
}

struct Ctx {
    client: Client,
    pods: Store<Pod>,
    slices: Store<EndpointSlice>,
    endpoints: Store<Endpoints>,
    triggers: TriggerTimes,
    pending: Pending,
    slice_events: Recorder,
    endpoints_events: Recorder,
    /// Consecutive failures per Service, for error back-off.
    failures: Mutex<HashMap<ServiceKey, u32>>,
}

/// Run the EndpointSlice and Endpoints controller until `shutdown`
/// resolves. Errors inside reconciles are retried with back-off.
pub async fn run(client: Client, shutdown: impl Future<Output = ()> + Send + 'static) {
    tokio::select! {
        _ = shutdown => {}
        _ = run_forever(client) => {}
    }
}

async fn run_forever(client: Client) {
    let (pods, pod_writer) = reflector::store::<Pod>();
    let (slices, slice_writer) = reflector::store::<EndpointSlice>();
    let (endpoints, ep_writer) = reflector::store::<Endpoints>();
    let (services, svc_writer) = reflector::store::<Service>();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        pods,
        slices: slices.clone(),
        endpoints,
        triggers: TriggerTimes::default(),
        pending: Pending::default(),
        slice_events: Recorder::new(client.clone(), SLICE_COMPONENT),
        endpoints_events: Recorder::new(client.clone(), ENDPOINTS_COMPONENT),
        failures: Mutex::new(HashMap::new()),
    });

    // Each stream updates its cache before it triggers a reconcile, so the
    // reconcile never reads a cache older than the event behind it.
    // Deletions trigger too (`touched`, not `applied`): that is how a
    // Service that is gone reaches the cleanup below.
    let svc_events = watcher(
        Api::<Service>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(svc_writer)
    .touched_objects();
    let pod_events = watcher(Api::<Pod>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .reflect(pod_writer)
        .touched_objects();
    let slice_events = watcher(
        Api::<EndpointSlice>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(slice_writer)
    .touched_objects();
    let known = services.clone();
    let ep_events = watcher(Api::<Endpoints>::all(client), watcher::Config::default())
        .default_backoff()
        .reflect(ep_writer)
        .filter_map(move |ev| std::future::ready(endpoints_trigger(&known, ev)));

    let (gone_tx, mut gone_rx) = mpsc::unbounded_channel::<ServiceKey>();
    let slice_store = slices;
    let service_store = services.clone();
    let controller = Controller::for_stream(svc_events, services)
        .watches_stream(pod_events, move |pod: Pod| {
            services_for_pod(&service_store, &slice_store, &pod)
        })
        .watches_stream(slice_events, |s: EndpointSlice| service_of_slice(&s))
        .watches_stream(ep_events, |e: Endpoints| service_of_endpoints(&e))
        .run(reconcile, error_policy, ctx.clone())
        .for_each(move |r| {
            match r {
                Ok(_) => {}
                // The Service is gone (or never existed): clean up after it.
                Err(controller::Error::ObjectNotFound(r)) => {
                    if let Some(ns) = r.namespace.clone() {
                        let _ = gone_tx.send((ns, r.name.clone()));
                    }
                }
                Err(e) => tracing::debug!(error = %e, "endpointslice reconcile"),
            }
            std::future::ready(())
        });
    let cleanup = async {
        while let Some(key) = gone_rx.recv().await {
            service_gone(&ctx, &key).await;
        }
    };
    tokio::join!(controller, cleanup);
}

// === Mapping events to Services ===

/// Services to reconcile when `pod` changes: those selecting it now, and
/// those whose slices list it (it may have stopped matching).
fn services_for_pod(
    services: &Store<Service>,
    slices: &Store<EndpointSlice>,
    pod: &Pod,
) -> Vec<ObjectRef<Service>> {
    let ns = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let mut out: BTreeSet<String> = services
        .state()
        .iter()
        .filter(|s| s.namespace().as_deref() == Some(ns.as_str()))
        .filter(|s| desired::managed_selector(s).is_some_and(|sel| desired::selects(sel, pod)))
        .map(|s| s.name_any())
        .collect();
    for s in slices.state() {
        if s.namespace().as_deref() != Some(ns.as_str())
            || s.labels().get(LABEL_MANAGED_BY).map(String::as_str) != Some(CONTROLLER_NAME)
        {
            continue;
        }
        if let Some(svc) = s.labels().get(LABEL_SERVICE_NAME) {
            if !out.contains(svc) && desired::slice_pods(&s).contains(name.as_str()) {
                out.insert(svc.clone());
            }
        }
    }
    out.into_iter()
        .map(|n| ObjectRef::new(&n).within(&ns))
        .collect()
}

fn service_of_slice(s: &EndpointSlice) -> Option<ObjectRef<Service>> {
    let svc = s.labels().get(LABEL_SERVICE_NAME)?;
    Some(ObjectRef::new(svc).within(&s.namespace()?))
}

/// Which Endpoints events concern a Service (upstream's endpoints
/// controller): a listing (start-up, and re-lists), to find objects left
/// behind by a Service deleted while we were away; a deletion, to put back
/// what we manage; a change only when its Service exists, to undo edits to
/// what we manage. A change without a Service is left alone: `kubectl apply`
/// may create a hand-written Endpoints object just before its Service.
fn endpoints_trigger(
    services: &Store<Service>,
    ev: Result<watcher::Event<Endpoints>, watcher::Error>,
) -> Option<Result<Endpoints, watcher::Error>> {
    match ev {
        Ok(watcher::Event::InitApply(e) | watcher::Event::Delete(e)) => Some(Ok(e)),
        Ok(watcher::Event::Apply(e)) => {
            let r = service_of_endpoints(&e)?;
            services.get(&r).is_some().then_some(Ok(e))
        }
        Ok(watcher::Event::Init | watcher::Event::InitDone) => None,
        Err(err) => Some(Err(err)),
    }
}

fn service_of_endpoints(e: &Endpoints) -> Option<ObjectRef<Service>> {
    if e.annotations().contains_key(ANNOTATION_LEADER) {
        return None;
    }
    Some(ObjectRef::new(&e.name_any()).within(&e.namespace()?))
}

// === Reconcile ===

fn key_of(svc: &Service) -> ServiceKey {
    (svc.namespace().unwrap_or_default(), svc.name_any())
}

fn error_policy(svc: Arc<Service>, err: &Error, ctx: Arc<Ctx>) -> Action {
    let n = {
        let mut f = ctx.failures.lock();
        let n = f.entry(key_of(&svc)).or_insert(0);
        *n = n.saturating_add(1);
        *n
    };
    match err {
        Error::Kube(e) if is_conflict(e) => {
            tracing::debug!(service = %svc.name_any(), error = %e, "endpoints sync conflict")
        }
        _ => tracing::warn!(service = %svc.name_any(), error = %err, "endpoints sync failed"),
    }
    // 50 ms, 100 ms, 200 ms, … up to 5 minutes: a conflict with a write of
    // our own is the common case and resolves at once.
    let delay = Duration::from_millis(50).saturating_mul(1 << n.min(13).saturating_sub(1));
    Action::requeue(delay.min(RESYNC))
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    // Acting on an empty cache would delete every endpoint.
    let _ = ctx.pods.wait_until_ready().await;
    let _ = ctx.slices.wait_until_ready().await;
    let _ = ctx.endpoints.wait_until_ready().await;
    let key = key_of(&svc);
    let Some(selector) = desired::managed_selector(&svc) else {
        // Endpoints of Services without a selector are written by hand.
        return Ok(Action::await_change());
    };
    let (ns, name) = (&key.0, &key.1);
    let stale = ctx.pending.stale(&key, |kind, obj| {
        let found = match kind {
            Kind::Slice => ctx
                .slices
                .get(&ObjectRef::new(obj).within(ns))
                .map(|s| (s.resource_version(), s.uid())),
            Kind::Endpoints => ctx
                .endpoints
                .get(&ObjectRef::new(obj).within(ns))
                .map(|e| (e.resource_version(), e.uid())),
        };
        found.map(|(rv, uid)| (rv.unwrap_or_default(), uid.unwrap_or_default()))
    });
    if stale {
        return Ok(Action::requeue(STALE_RECHECK));
    }

    let all_pods = ctx.pods.state_filter(|p| {
        p.namespace().as_deref() == Some(ns.as_str()) && desired::selects(selector, p)
    });
    let pods: Vec<&Pod> = all_pods.iter().map(|p| p.as_ref()).collect();
    let trigger = ctx.triggers.compute(&key, &svc, &pods);

    let existing = ctx.slices.state_filter(|s| {
        s.namespace().as_deref() == Some(ns.as_str())
            && s.labels().get(LABEL_SERVICE_NAME) == Some(name)
            && s.labels().get(LABEL_MANAGED_BY).map(String::as_str) == Some(CONTROLLER_NAME)
            && s.metadata.deletion_timestamp.is_none()
    });
    let existing_refs: Vec<&EndpointSlice> = existing.iter().map(|s| s.as_ref()).collect();
    let plan = plan::plan(&svc, &pods, &existing_refs, plan::MAX_ENDPOINTS_PER_SLICE);
    let slices_result = apply_plan(&ctx, &svc, &key, plan, trigger).await;
    if let Err(e) = &slices_result {
        if !is_conflict(e) {
            let msg = format!("Error updating Endpoint Slices for Service {ns}/{name}: {e}");
            ctx.slice_events
                .publish(
                    &service_ref(&svc),
                    EventType::Warning,
                    "FailedToUpdateEndpointSlices",
                    &msg,
                )
                .await;
        }
    }

    let current = ctx.endpoints.get(&ObjectRef::new(name).within(ns));
    let endpoints_result = match desired::endpoints_update(&svc, &pods, current.as_deref(), trigger)
    {
        Some(want) => write_endpoints(&ctx, &key, current.as_deref(), want).await,
        None => Ok(()),
    };

    slices_result?;
    endpoints_result?;
    ctx.failures.lock().remove(&key);
    Ok(Action::requeue(RESYNC))
}

fn service_ref(svc: &Service) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Service".into()),
        name: svc.metadata.name.clone(),
        namespace: svc.metadata.namespace.clone(),
        uid: svc.metadata.uid.clone(),
        resource_version: svc.metadata.resource_version.clone(),
        field_path: None,
    }
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.is_conflict())
}

/// Creation failed only because the namespace is going away: not an error.
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

/// Write the plan: creates, then updates, then deletes (upstream order, so
/// that endpoints moving between slices are never missing from all).
async fn apply_plan(
    ctx: &Ctx,
    svc: &Service,
    key: &ServiceKey,
    plan: plan::Plan,
    trigger: Option<k8s_openapi::jiff::Timestamp>,
) -> Result<(), kube::Error> {
    if plan.is_empty() {
        return Ok(());
    }
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &key.0);
    // New slices for a Service being deleted would race the garbage
    // collector.
    if svc.metadata.deletion_timestamp.is_none() {
        for mut s in plan.create {
            desired::set_trigger_annotation(&mut s.metadata, trigger);
            match api.create(&PostParams::default(), &s).await {
                Ok(created) => {
                    ctx.pending
                        .record(key, Kind::Slice, &created.name_any(), Expect::Created);
                }
                Err(e) if namespace_terminating(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
    for mut s in plan.update {
        desired::set_trigger_annotation(&mut s.metadata, trigger);
        let prior = s.resource_version().unwrap_or_default();
        let written = api
            .replace(&s.name_any(), &PostParams::default(), &s)
            .await?;
        // A write that changed nothing keeps its resourceVersion and sends
        // no event: nothing to wait for.
        if written.resource_version().unwrap_or_default() != prior {
            ctx.pending
                .record(key, Kind::Slice, &s.name_any(), Expect::Updated { prior });
        }
    }
    for s in plan.delete {
        let uid = s.uid().unwrap_or_default();
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api.delete(&s.name_any(), &dp).await {
            Ok(_) => ctx
                .pending
                .record(key, Kind::Slice, &s.name_any(), Expect::Deleted { uid }),
            Err(kube::Error::Api(st)) if st.is_not_found() || st.is_conflict() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn write_endpoints(
    ctx: &Ctx,
    key: &ServiceKey,
    current: Option<&Endpoints>,
    want: Endpoints,
) -> Result<(), kube::Error> {
    let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &key.0);
    let result = match current {
        None => api.create(&PostParams::default(), &want).await.map(|_| {
            ctx.pending
                .record(key, Kind::Endpoints, &key.1, Expect::Created);
        }),
        Some(cur) => {
            let prior = cur.resource_version().unwrap_or_default();
            api.replace(&key.1, &PostParams::default(), &want)
                .await
                .map(|written| {
                    if written.resource_version().unwrap_or_default() != prior {
                        ctx.pending
                            .record(key, Kind::Endpoints, &key.1, Expect::Updated { prior });
                    }
                })
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if current.is_none() && namespace_terminating(&e) => Ok(()),
        Err(e) => {
            if !is_conflict(&e) && !matches!(&e, kube::Error::Api(s) if s.code == 409) {
                let (reason, msg) = match current {
                    None => (
                        "FailedToCreateEndpoint",
                        format!(
                            "Failed to create endpoint for service {}/{}: {e}",
                            key.0, key.1
                        ),
                    ),
                    Some(_) => (
                        "FailedToUpdateEndpoint",
                        format!("Failed to update endpoint {}/{}: {e}", key.0, key.1),
                    ),
                };
                let about = ObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Endpoints".into()),
                    name: Some(key.1.clone()),
                    namespace: Some(key.0.clone()),
                    uid: want.metadata.uid.clone(),
                    ..Default::default()
                };
                ctx.endpoints_events
                    .publish(&about, EventType::Warning, reason, &msg)
                    .await;
            }
            Err(e)
        }
    }
}

/// The Service `key` is not in the cache: forget it, and delete its
/// Endpoints object once a live read confirms the Service is really gone
/// (the cache may merely lag behind a fresh create).
async fn service_gone(ctx: &Ctx, key: &ServiceKey) {
    let (ns, name) = key;
    let Some(ep) = ctx.endpoints.get(&ObjectRef::new(name).within(ns)) else {
        ctx.triggers.forget(key);
        ctx.pending.forget(key);
        ctx.failures.lock().remove(key);
        return;
    };
    if ep.annotations().contains_key(ANNOTATION_LEADER) {
        return;
    }
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), ns);
    match services.get_opt(name).await {
        Ok(None) => {}
        Ok(Some(_)) => return,
        Err(e) => {
            tracing::debug!(service = %name, error = %e, "checking for a deleted service");
            return;
        }
    }
    ctx.triggers.forget(key);
    ctx.pending.forget(key);
    ctx.failures.lock().remove(key);
    let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), ns);
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: ep.uid(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(name, &dp).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.is_not_found() || s.is_conflict() => {}
        Err(e) => tracing::warn!(endpoints = %name, error = %e, "deleting endpoints"),
    }
}

#[cfg(test)]
mod tests {
    /// `run` must be spawnable on a multi-threaded runtime.
    #[allow(dead_code)]
    fn run_is_send(client: kube::Client) {
        fn assert_send<T: Send>(_: &T) {}
        let f = super::run(client, std::future::pending());
        assert_send(&f);
    }
}
