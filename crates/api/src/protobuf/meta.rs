//! `k8s.io/apimachinery/pkg/apis/meta/v1` and `pkg/runtime` messages.
//! Time, MicroTime, IntOrString, Quantity, RawExtension and FieldsV1 are
//! handled as special types by the decoder, not described here.

use super::desc::*;

msg! { TYPE_META, "runtime.TypeMeta", [s(1, "apiVersion"), s(2, "kind")] }

msg! { OWNER_REFERENCE, "OwnerReference", [
    s(5, "apiVersion"),
    s(1, "kind"),
    s(3, "name"),
    s(4, "uid"),
    bp(6, "controller"),
    bp(7, "blockOwnerDeletion"),
]}

msg! { MANAGED_FIELDS_ENTRY, "ManagedFieldsEntry", [
    s(1, "manager"),
    s(2, "operation"),
    s(3, "apiVersion"),
    timep(4, "time"),
    s(6, "fieldsType"),
    fieldsv1p(7, "fieldsV1"),
    s(8, "subresource"),
]}

msg! { OBJECT_META, "ObjectMeta", [
    s(1, "name"),
    s(2, "generateName"),
    s(3, "namespace"),
    s(4, "selfLink"),
    s(5, "uid"),
    s(6, "resourceVersion"),
    i64_(7, "generation"),
    time(8, "creationTimestamp"),
    timep(9, "deletionTimestamp"),
    i64p(10, "deletionGracePeriodSeconds"),
    map_s(11, "labels"),
    map_s(12, "annotations"),
    rm(13, "ownerReferences", &OWNER_REFERENCE),
    rs(14, "finalizers"),
    rm(17, "managedFields", &MANAGED_FIELDS_ENTRY),
]}

msg! { LABEL_SELECTOR_REQUIREMENT, "LabelSelectorRequirement", [
    s(1, "key"),
    s(2, "operator"),
    rs(3, "values"),
]}

msg! { LABEL_SELECTOR, "LabelSelector", [
    map_s(1, "matchLabels"),
    rm(2, "matchExpressions", &LABEL_SELECTOR_REQUIREMENT),
]}

msg! { CONDITION, "Condition", [
    s(1, "type"),
    s(2, "status"),
    i64_(3, "observedGeneration"),
    time(4, "lastTransitionTime"),
    s(5, "reason"),
    s(6, "message"),
]}
