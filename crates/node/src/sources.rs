//! Tells pod workers when a ConfigMap or Secret changes, so the volumes
//! written from it are re-synced at once (the kubelet re-syncs them
//! periodically; workers also do, as a backstop).

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::{Client, ResourceExt};
use tokio::sync::broadcast;

/// A changed (or deleted) source object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceChange {
    pub secret: bool,
    pub namespace: String,
    pub name: String,
}

/// Watch every ConfigMap and Secret and announce changes until the
/// receivers are gone.
pub async fn watch(client: Client, tx: broadcast::Sender<SourceChange>) {
    let cms = announce(
        watcher(
            Api::<ConfigMap>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .boxed(),
        tx.clone(),
        false,
    );
    let secrets = announce(
        watcher(Api::<Secret>::all(client), watcher::Config::default())
            .default_backoff()
            .boxed(),
        tx,
        true,
    );
    futures_util::future::join(cms, secrets).await;
}

async fn announce<K: kube::Resource>(
    mut stream: futures_util::stream::BoxStream<'static, Result<Event<K>, watcher::Error>>,
    tx: broadcast::Sender<SourceChange>,
    secret: bool,
) {
    // The first listing is what workers fetch anyway; later re-lists may
    // hide changes made while the watch was down, so they are announced.
    let mut first = true;
    while let Some(ev) = stream.next().await {
        let obj = match ev {
            Ok(Event::Apply(o)) | Ok(Event::Delete(o)) => o,
            Ok(Event::InitApply(o)) if !first => o,
            Ok(Event::InitDone) => {
                first = false;
                continue;
            }
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "source watch error");
                continue;
            }
        };
        let change = SourceChange {
            secret,
            namespace: obj.namespace().unwrap_or_default(),
            name: obj.name_any(),
        };
        // No receivers yet is fine: nobody mounts anything.
        let _ = tx.send(change);
    }
}
