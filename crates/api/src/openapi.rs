//! OpenAPI v3 documents and strict unknown-field handling for built-in kinds.
//!
//! kubectl (default `--validate=strict`) looks up `/openapi/v3`, fetches the
//! object's group-version document and checks that the PATCH operation of
//! the object's kind declares `fieldValidation`; if so it leaves validation
//! to the server (`fieldValidation=Strict`), otherwise it wants OpenAPI v2.
//! `kubectl explain` additionally needs `components.schemas` tagged with
//! `x-kubernetes-group-version-kind`. The schemas of built-in kinds come from
//! k8s-openapi (generated once per process); CRD kinds use their
//! `openAPIV3Schema`.

mod catalog;
mod document;
mod strict;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::registry::Resource;

/// `GET /openapi/v3`: `{"paths":{"api/v1":{"serverRelativeURL":"/openapi/v3/api/v1?hash=<HASH>"}, …}}`
/// with one entry per group-version in `resources`.
pub fn v3_index(resources: &[Resource]) -> Value {
    document::index(resources)
}

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/<g>/<v>`: the paths of every
/// resource of that group-version and the component schemas they reach.
/// `custom_schemas` maps a custom kind to its CRD `openAPIV3Schema`. `None`
/// when no resource is in that group-version.
pub fn v3_document(
    group: &str,
    version: &str,
    resources: &[Resource],
    custom_schemas: &BTreeMap<String, Value>,
) -> Option<Value> {
    document::document(group, version, resources, custom_schemas)
}

/// The strict-decoding messages for unknown fields of a built-in object, in
/// document order: `unknown field "spec.template.spec.containers[0].foo"`.
/// Empty for kinds without a built-in schema.
pub fn unknown_fields(group: &str, version: &str, kind: &str, obj: &Value) -> Vec<String> {
    strict::unknown_fields(group, version, kind, obj)
}

/// Drops the fields [`unknown_fields`] reports, as the apiserver does when
/// decoding under `fieldValidation=Ignore|Warn`.
pub fn prune_unknown(group: &str, version: &str, kind: &str, obj: &mut Value) {
    strict::prune_unknown(group, version, kind, obj)
}

#[cfg(test)]
mod tests;
