//! Namespace lifecycle: the built-in namespaces, and finalizing a deleted
//! namespace by removing its contents before the namespace itself.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::objects;
use crate::resources::{collection_prefix, object_key};
use crate::ApiState;

pub const BUILTIN: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

pub fn namespace_object(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "uid": objects::new_uid(),
            "creationTimestamp": api::meta::rfc3339(api::meta::now_unix()),
            "labels": {"kubernetes.io/metadata.name": name},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

/// Remove everything in namespace `ns`, then the namespace.
pub fn finalize_soon(state: Arc<ApiState>, ns: String) {
    tokio::spawn(async move {
        for attempt in 0..600u32 {
            if finalize(&state, &ns).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(if attempt < 10 { 100 } else { 1000 })).await;
        }
        tracing::warn!(
            namespace = ns,
            "namespace still has content after 10 minutes"
        );
    });
}

async fn finalize(state: &ApiState, ns: &str) -> bool {
    let mut remaining = 0;
    for res in state.registry.all().iter().filter(|r| r.namespaced()) {
        for e in state.store.list(&collection_prefix(res, Some(ns))).entries {
            remaining += 1;
            let _ = state
                .store
                .delete(&e.key, store::Precondition::Exists)
                .await;
        }
    }
    if remaining > 0 {
        return false;
    }
    let Some(nsr) = state.registry.find("", "v1", "namespaces") else {
        return true;
    };
    let key = object_key(&nsr, None, ns);
    match state.store.get(&key) {
        Some(e) => state
            .store
            .delete(&key, store::Precondition::Revision(e.rev))
            .await
            .is_ok(),
        None => true,
    }
}
