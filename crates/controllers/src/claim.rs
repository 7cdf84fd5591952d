//! Adopting and releasing dependents (upstream `ControllerRefManager`),
//! shared by the controllers that claim objects by selector.

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Strategic-merge `refs` into `obj`'s `ownerReferences` (merge key `uid`).
/// The patch also carries the object's `uid`, so it fails (422) on an
/// object recreated under the same name instead of claiming it.
pub(crate) async fn patch_owner_refs<K>(
    api: &Api<K>,
    obj: &K,
    refs: Value,
) -> Result<K, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let patch = json!({"metadata": {"ownerReferences": refs, "uid": obj.meta().uid}});
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Strategic(&patch),
    )
    .await
}

/// The `ownerReferences` patch item that removes the reference to `owner_uid`.
pub(crate) fn release_ref(owner_uid: &str) -> Value {
    json!([{"$patch": "delete", "uid": owner_uid}])
}
