//! Apiserver defaulting and validation for the built-in kinds slipway serves
//! (KUBE_API.md §4, §11, §12), with upstream kube-apiserver 1.32 semantics.
//!
//! The apiserver is expected to run, in this order:
//! * create: [`apply_defaults`] → [`prepare_for_create`] → (name generation,
//!   IP/port allocation, then [`apply_defaults`] again, which is idempotent) →
//!   [`initial_status`] → [`validate`] with `old = None`;
//! * update (PUT or PATCH after patching): [`apply_defaults`] →
//!   [`prepare_for_update`] → [`validate`] with `old = Some(stored)`.
//!
//! Messages and cause reasons are the upstream ones, including Go's `%#v`
//! rendering of maps and structs where upstream passes those as the bad value
//! (`map[string]string{"app":"x"}`, `v1.LabelSelector{...}`,
//! `intstr.IntOrString{...}`), because users paste them into searches.
//!
//! Deliberately absent (owned by the apiserver): generation and status
//! preservation on update, resourceVersion checks, clearing the namespace of
//! cluster-scoped objects, managedFields, ClusterIP/NodePort allocation.

mod apps;
mod defaults;
mod errs;
mod image;
mod meta;
pub(crate) mod names;
mod other;
mod pod;
mod quantity;
mod render;
mod service;
mod val;

use serde_json::Value;

use crate::errors::FieldError;

/// Defaults applied on create and on every update (after patching). Idempotent.
pub fn apply_defaults(group: &str, kind: &str, obj: &mut Value) {
    defaults::apply(group, kind, obj);
}

/// Server-owned initial status on create (Pod: phase Pending + qosClass;
/// Namespace: phase Active; Deployment: {}; ReplicaSet: {replicas: 0} because
/// that field is not omitempty; Service: {loadBalancer:{}}), None when the
/// kind keeps what it has.
pub fn initial_status(group: &str, kind: &str, obj: &Value) -> Option<Value> {
    defaults::initial_status(group, kind, obj)
}

/// Strategy `PrepareForCreate` field work that is not defaulting: Namespace
/// gets the `kubernetes` finalizer. Run once, on create only.
pub fn prepare_for_create(group: &str, kind: &str, obj: &mut Value) {
    defaults::prepare_for_create(group, kind, obj);
}

/// Strategy `PrepareForUpdate` field work that needs the stored object:
/// Service keeps allocated clusterIPs/nodePorts a client omitted and drops
/// type-dependent fields on a type change; Namespace keeps its spec.finalizers
/// (only `/finalize` changes them).
pub fn prepare_for_update(group: &str, kind: &str, obj: &mut Value, old: &Value) {
    defaults::prepare_for_update(group, kind, obj, old);
}

/// Full validation of an object about to be stored (create when old is None,
/// update otherwise: immutability rules like Deployment/RS selector, Pod spec
/// mostly immutable, Service clusterIP immutable, namespace name). Includes
/// ObjectMeta validation (name format per kind: DNS-1123 subdomain for most,
/// DNS-1035 label for Service, DNS-1123 label for Namespace; generateName;
/// labels & annotations syntax and size).
pub fn validate(group: &str, kind: &str, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    match (group, kind) {
        ("apps", "Deployment") => apps::validate_deployment(obj, old),
        ("apps", "ReplicaSet") => apps::validate_replica_set(obj, old),
        ("", "Pod") => pod::validate_pod(obj, old),
        ("", "Service") => service::validate_service(obj, old),
        ("", "Namespace") => other::validate_namespace(obj, old),
        ("", "Secret") => other::validate_secret(obj, old),
        ("", "ConfigMap") => other::validate_config_map(obj, old),
        ("", "ServiceAccount") => other::validate_service_account(obj, old),
        ("", "Endpoints") => other::validate_endpoints(obj, old),
        ("", "Event") => other::validate_event(obj),
        ("", "Node") => other::validate_node(obj, old),
        ("discovery.k8s.io", "EndpointSlice") => other::validate_endpoint_slice(obj, old),
        ("coordination.k8s.io", "Lease") => other::validate_lease(obj, old),
        _ => Vec::new(),
    }
}

/// Name rules alone (used for 'generateName' results and path names).
pub fn validate_name(group: &str, kind: &str, name: &str) -> Vec<String> {
    names::validate_name(group, kind, name, false)
}

#[cfg(test)]
mod tests;
