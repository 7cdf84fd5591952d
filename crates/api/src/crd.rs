//! CustomResourceDefinition semantics (apiextensions.k8s.io/v1), so the
//! apiserver can serve custom resources generically.
//!
//! Two halves:
//! - the CRD object: [`validate_crd`], [`default_crd`], [`crd_status`] (what the
//!   naming and establishing controllers write) and [`served_versions`];
//! - custom objects: [`prune_default_validate`] (prune → drop non-nullable
//!   nulls → default → validate, like the apiextensions apiserver's decode and
//!   validation path) and [`unknown_fields`] for `fieldValidation=Strict`.
//!
//! Error texts follow upstream (`apis/apiextensions/validation`,
//! `apiserver/schema`, kube-openapi's `in body` messages) so kubectl prints the
//! same causes a real cluster would.
//!
//! Not implemented: CEL (`x-kubernetes-validations` is accepted and ignored),
//! conversion webhooks (accepted, never called), the structural "completeness"
//! check of junctor-only fields, pruning inside embedded `metadata`.

mod definition;
pub(crate) mod gofmt;
mod object;
mod regex;
pub(crate) mod schema_util;
mod structural;
mod value;

use serde_json::Value;

pub use definition::{crd_status, default_crd, served_versions, validate_crd};
pub use object::{prune_default_validate, unknown_fields};

/// The `scale` subresource of one version.
#[derive(Debug, Clone)]
pub struct ScaleSpec {
    pub spec_replicas_path: String,
    pub status_replicas_path: String,
    pub label_selector_path: Option<String>,
}

/// One served version of a CRD.
#[derive(Debug, Clone)]
pub struct ServedVersion {
    /// group, version, kind, listKind, plural, singular, scope, shortNames,
    /// categories, subresources (`status`/`scale`), `custom = true`.
    pub resource: crate::registry::Resource,
    pub storage: bool,
    /// `openAPIV3Schema`.
    pub schema: Option<Value>,
    pub status_subresource: bool,
    pub scale: Option<ScaleSpec>,
    /// `additionalPrinterColumns` as given.
    pub printer_columns: Vec<Value>,
}

#[cfg(test)]
mod tests;
