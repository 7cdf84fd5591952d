//! A trivial scheduler: every pod that names no node (and uses the default
//! scheduler) is bound to this one.

use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Binding, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;

use crate::events::{Involved, Recorder};

pub async fn run(client: Client, node: String) {
    let events = Recorder::new(client.clone(), "default-scheduler", &node);
    let api: Api<Pod> = Api::all(client.clone());
    let cfg = watcher::Config::default().fields("spec.nodeName=");
    // Bindings run side by side: each is one write, and the store commits
    // concurrent writes together. A pod is bound as soon as the watch
    // delivers it; the limit only bounds requests in flight.
    watcher(api, cfg)
        .default_backoff()
        .applied_objects()
        .for_each_concurrent(BIND_CONCURRENCY, |item| {
            let (client, events, node) = (&client, &events, &node);
            async move {
                match item {
                    Ok(pod) if wants_binding(&pod) => bind(client, events, node, &pod).await,
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "scheduler watch error"),
                }
            }
        })
        .await;
}

/// How many pods are bound at once.
const BIND_CONCURRENCY: usize = 128;

fn wants_binding(p: &Pod) -> bool {
    let Some(spec) = &p.spec else { return false };
    let unbound = spec.node_name.as_deref().unwrap_or("").is_empty();
    let ours = matches!(
        spec.scheduler_name.as_deref(),
        None | Some("") | Some("default-scheduler")
    );
    // Gated pods wait until their gates are removed, as upstream.
    let gated = spec
        .scheduling_gates
        .as_ref()
        .is_some_and(|g| !g.is_empty());
    unbound && ours && !gated && p.metadata.deletion_timestamp.is_none()
}

async fn bind(client: &Client, events: &Recorder, node: &str, p: &Pod) {
    let ns = p.metadata.namespace.clone().unwrap_or_default();
    let name = p.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns.clone()),
            ..Default::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.to_string()),
            ..Default::default()
        },
    };
    let mut delay = Duration::from_millis(100);
    let mut bound = false;
    for _ in 0..5 {
        match api
            .create_subresource::<_, serde_json::Value>(
                "binding",
                &name,
                &PostParams::default(),
                &binding,
            )
            .await
        {
            Ok(_) => {
                bound = true;
                break;
            }
            // Bound already (by us or someone else), or gone.
            Err(kube::Error::Api(e)) if e.code == 409 || e.code == 404 => return,
            Err(e) => {
                tracing::warn!(pod = %name, error = %e, "binding failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    if !bound {
        return;
    }
    // No read-back and no PodScheduled patch here: the agent's first status
    // write carries `PodScheduled=True` (see `status::build`), and every
    // extra write per bind costs the whole burst apiserver time. The event
    // only queues (the recorder writes it in the background).
    events
        .normal(
            &Involved::pod(p),
            "Scheduled",
            format!("Successfully assigned {ns}/{name} to {node}"),
        )
        .await;
}
