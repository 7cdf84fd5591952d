//! Serving custom resources: a CRD write (re)registers its versions; a CRD
//! delete unregisters them and removes every stored custom object.

use serde_json::Value;

use crate::objects;
use crate::resources::collection_prefix;
use crate::ApiState;

pub fn register(state: &ApiState, crd: &Value) {
    let Some(name) = objects::name(crd) else {
        return;
    };
    let versions = api::crd::served_versions(crd);
    tracing::info!(
        crd = name,
        versions = versions.len(),
        "serving custom resource"
    );
    state.registry.set_crd(name, versions);
}

pub async fn unregister(state: &ApiState, crd: &Value) {
    let Some(name) = objects::name(crd) else {
        return;
    };
    let versions = api::crd::served_versions(crd);
    state.registry.remove_crd(name);
    if let Some(v) = versions.first() {
        let prefix = collection_prefix(&v.resource, None);
        for e in state.store.list(&prefix).entries {
            if let Err(err) = state
                .store
                .delete(&e.key, store::Precondition::Exists)
                .await
            {
                tracing::warn!(key = e.key, error = %err, "removing custom object of deleted CRD");
            }
        }
    }
}

/// Register every stored CRD (at start-up).
pub fn load_all(state: &ApiState) {
    for e in state
        .store
        .list("/apiextensions.k8s.io/customresourcedefinitions/")
        .entries
    {
        if let Ok(v) = serde_json::from_slice::<Value>(&e.value) {
            if objects::meta_str(&v, "deletionTimestamp").is_none() {
                register(state, &v);
            }
        }
    }
}
