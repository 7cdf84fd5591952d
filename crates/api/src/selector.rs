//! Label and field selectors with upstream semantics (KUBE_API.md §5.3, §6.3).
//!
//! Label selectors follow apimachinery `labels.Parse` (grammar, canonical
//! string and error text) and `metav1.LabelSelectorAsSelector` for the JSON
//! `matchLabels`/`matchExpressions` form. Field selectors follow
//! `fields.ParseSelector` plus each kind's field label conversion, so an
//! unsupported field fails with the message a real apiserver returns.
//! Every error string here is what the apiserver wraps in a 400 BadRequest.

mod fields;
mod labels;
mod validation;

pub use fields::{field_value, FieldSelector};
pub use labels::{format_label_selector, LabelSelector, Operator, Requirement};

#[cfg(test)]
mod tests;
