//! Strategic-merge-patch metadata for the built-in kinds: the `patchStrategy` and
//! `patchMergeKey` struct tags of staging/src/k8s.io/api/{core,apps}/v1/types.go and
//! apimachinery's ObjectMeta, restricted to the paths that lead to a tagged field.
//!
//! Any field not listed here behaves like an untagged Go field: objects merge recursively and
//! lists are replaced wholesale. That is also what upstream does for every untagged field, so the
//! table only has to name the tagged ones and the struct fields on the way to them.

/// A Go struct type whose fields (or whose descendants' fields) carry patch tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// No tagged descendants: plain recursive merge, lists replaced.
    Plain,
    /// A top-level kind whose only tagged descendants are in `metadata`.
    Object,
    ObjectMeta,
    Pod,
    PodTemplateSpec,
    PodSpec,
    Container,
    PodStatus,
    ContainerStatus,
    Service,
    ServiceSpec,
    ServiceStatus,
    Namespace,
    NamespaceStatus,
    Node,
    NodeSpec,
    NodeStatus,
    ServiceAccount,
    Deployment,
    DeploymentSpec,
    DeploymentStatus,
    ReplicaSet,
    ReplicaSetSpec,
    ReplicaSetStatus,
}

/// The list strategy of a field; `Replace` exists upstream (`patchStrategy:"replace"`) and is
/// honoured here for completeness even though none of the tabled kinds uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    Default,
    Merge,
    #[allow(dead_code)]
    Replace,
}

/// The patch metadata of one field: the type of its value (or list element) and its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldMeta {
    pub ty: Ty,
    pub strategy: Strategy,
    /// `patchStrategy` includes `retainKeys`. Upstream applies a `$retainKeys` directive wherever
    /// it appears, so this flag is informational.
    #[allow(dead_code)]
    pub retain_keys: bool,
    pub merge_key: Option<&'static str>,
}

const PLAIN: FieldMeta = nested(Ty::Plain);

const fn nested(ty: Ty) -> FieldMeta {
    FieldMeta {
        ty,
        strategy: Strategy::Default,
        retain_keys: false,
        merge_key: None,
    }
}

/// `patchStrategy:"merge" patchMergeKey:"<key>"` on a list of structs.
const fn merge_by(key: &'static str, ty: Ty) -> FieldMeta {
    FieldMeta {
        ty,
        strategy: Strategy::Merge,
        retain_keys: false,
        merge_key: Some(key),
    }
}

/// `patchStrategy:"merge,retainKeys" patchMergeKey:"<key>"`.
const fn merge_retain_by(key: &'static str) -> FieldMeta {
    FieldMeta {
        ty: Ty::Plain,
        strategy: Strategy::Merge,
        retain_keys: true,
        merge_key: Some(key),
    }
}

/// `patchStrategy:"merge"` on a list of scalars: set union.
const MERGE_SET: FieldMeta = FieldMeta {
    ty: Ty::Plain,
    strategy: Strategy::Merge,
    retain_keys: false,
    merge_key: None,
};

/// `patchStrategy:"retainKeys"` on a struct (a union type).
const RETAIN_KEYS: FieldMeta = FieldMeta {
    ty: Ty::Plain,
    strategy: Strategy::Default,
    retain_keys: true,
    merge_key: None,
};

use Ty::*;

#[rustfmt::skip]
const FIELDS: &[(Ty, &str, FieldMeta)] = &[
    // metav1.ObjectMeta
    (ObjectMeta, "finalizers", MERGE_SET),
    (ObjectMeta, "ownerReferences", merge_by("uid", Plain)),

    (Object, "metadata", nested(ObjectMeta)),

    // core/v1 Pod
    (Pod, "metadata", nested(ObjectMeta)),
    (Pod, "spec", nested(PodSpec)),
    (Pod, "status", nested(PodStatus)),
    (PodTemplateSpec, "metadata", nested(ObjectMeta)),
    (PodTemplateSpec, "spec", nested(PodSpec)),
    (PodSpec, "volumes", merge_retain_by("name")),
    (PodSpec, "initContainers", merge_by("name", Container)),
    (PodSpec, "containers", merge_by("name", Container)),
    (PodSpec, "ephemeralContainers", merge_by("name", Container)),
    (PodSpec, "imagePullSecrets", merge_by("name", Plain)),
    (PodSpec, "hostAliases", merge_by("ip", Plain)),
    (PodSpec, "topologySpreadConstraints", merge_by("topologyKey", Plain)),
    (PodSpec, "schedulingGates", merge_by("name", Plain)),
    (PodSpec, "resourceClaims", merge_retain_by("name")),
    // Container, and EphemeralContainerCommon which repeats its tags.
    (Container, "ports", merge_by("containerPort", Plain)),
    (Container, "env", merge_by("name", Plain)),
    (Container, "volumeMounts", merge_by("mountPath", Plain)),
    (Container, "volumeDevices", merge_by("devicePath", Plain)),
    (PodStatus, "conditions", merge_by("type", Plain)),
    (PodStatus, "podIPs", merge_by("ip", Plain)),
    (PodStatus, "hostIPs", merge_by("ip", Plain)),
    (PodStatus, "resourceClaimStatuses", merge_retain_by("name")),
    // Untagged lists (replaced wholesale), listed for their element type only.
    (PodStatus, "containerStatuses", nested(ContainerStatus)),
    (PodStatus, "initContainerStatuses", nested(ContainerStatus)),
    (PodStatus, "ephemeralContainerStatuses", nested(ContainerStatus)),
    (ContainerStatus, "volumeMounts", merge_by("mountPath", Plain)),
    (ContainerStatus, "allocatedResourcesStatus", merge_by("name", Plain)),

    // core/v1 Service
    (Service, "metadata", nested(ObjectMeta)),
    (Service, "spec", nested(ServiceSpec)),
    (Service, "status", nested(ServiceStatus)),
    (ServiceSpec, "ports", merge_by("port", Plain)),
    (ServiceStatus, "conditions", merge_by("type", Plain)),

    // core/v1 Namespace, Node, ServiceAccount
    (Namespace, "metadata", nested(ObjectMeta)),
    (Namespace, "status", nested(NamespaceStatus)),
    (NamespaceStatus, "conditions", merge_by("type", Plain)),
    (Node, "metadata", nested(ObjectMeta)),
    (Node, "spec", nested(NodeSpec)),
    (Node, "status", nested(NodeStatus)),
    (NodeSpec, "podCIDRs", MERGE_SET),
    (NodeStatus, "conditions", merge_by("type", Plain)),
    (NodeStatus, "addresses", merge_by("type", Plain)),
    (ServiceAccount, "metadata", nested(ObjectMeta)),
    (ServiceAccount, "secrets", merge_by("name", Plain)),

    // apps/v1 Deployment, ReplicaSet
    (Deployment, "metadata", nested(ObjectMeta)),
    (Deployment, "spec", nested(DeploymentSpec)),
    (Deployment, "status", nested(DeploymentStatus)),
    (DeploymentSpec, "template", nested(PodTemplateSpec)),
    (DeploymentSpec, "strategy", RETAIN_KEYS),
    (DeploymentStatus, "conditions", merge_by("type", Plain)),
    (ReplicaSet, "metadata", nested(ObjectMeta)),
    (ReplicaSet, "spec", nested(ReplicaSetSpec)),
    (ReplicaSet, "status", nested(ReplicaSetStatus)),
    (ReplicaSetSpec, "template", nested(PodTemplateSpec)),
    (ReplicaSetStatus, "conditions", merge_by("type", Plain)),
];

impl Ty {
    /// The metadata of field `name` of this type; untagged and unknown fields are plain.
    pub(crate) fn field(self, name: &str) -> FieldMeta {
        FIELDS
            .iter()
            .find(|(ty, field, _)| *ty == self && *field == name)
            .map(|(_, _, meta)| *meta)
            .unwrap_or(PLAIN)
    }
}

/// The root type of a built-in kind that accepts strategic merge patches, by API group
/// (`""` or `"core"` for the core group) and kind. `None` means "not a built-in kind".
pub(crate) fn root_for_kind(group: &str, kind: &str) -> Option<Ty> {
    let group = if group == "core" { "" } else { group };
    let ty = match (group, kind) {
        ("", "Pod") => Pod,
        ("", "Service") => Service,
        ("", "Namespace") => Namespace,
        ("", "Node") => Node,
        ("", "ServiceAccount") => ServiceAccount,
        ("", "ConfigMap" | "Secret" | "Endpoints" | "Event") => Object,
        ("apps", "Deployment") => Deployment,
        ("apps", "ReplicaSet") => ReplicaSet,
        ("discovery.k8s.io", "EndpointSlice") => Object,
        ("coordination.k8s.io", "Lease") => Object,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Object,
        // The `/scale` subresource body.
        ("autoscaling", "Scale") => Object,
        _ => return None,
    };
    Some(ty)
}
