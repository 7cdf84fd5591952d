//! The component schemas of the built-in kinds, generated once from
//! k8s-openapi's `schemars` impls and shaped like the real apiserver's
//! OpenAPI v3 `components.schemas` (upstream definition names, `$ref`s under
//! `#/components/schemas/`, `x-kubernetes-group-version-kind` on kinds).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use k8s_openapi::{ListableResource, Resource as K8sResource};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use k8s_openapi::api::{
    admissionregistration, apps, autoscaling, batch, certificates, coordination, core, discovery,
    events, networking, node, policy, rbac, scheduling, storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
use k8s_openapi::apimachinery::pkg::apis::meta;

pub(crate) const REF_PREFIX: &str = "#/components/schemas/";
pub(crate) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
pub(crate) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";

/// (group, version, kind)
pub(crate) type Gvk = (String, String, String);

pub(crate) struct Catalog {
    pub(crate) schemas: Map<String, Value>,
    kinds: BTreeMap<Gvk, String>,
}

impl Catalog {
    /// The definition name of a built-in kind (or list kind), e.g.
    /// `io.k8s.api.apps.v1.Deployment`.
    pub(crate) fn definition(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.kinds
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .map(String::as_str)
    }

    pub(crate) fn schema(&self, name: &str) -> Option<&Value> {
        self.schemas.get(name)
    }
}

/// The catalog, generated on first use: walking every k8s-openapi schema
/// takes tens of milliseconds, which should not be paid per request.
pub(crate) fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(build)
}

/// `{"group":…,"kind":…,"version":…}` — key order as in upstream documents.
pub(crate) fn gvk_value(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

pub(crate) fn ref_to(name: &str) -> Value {
    json!({ "$ref": format!("{REF_PREFIX}{name}") })
}

struct Builder {
    gen: SchemaGenerator,
    kinds: Vec<(Gvk, String)>,
    lists: Vec<(Gvk, String)>,
}

impl Builder {
    fn kind<T: JsonSchema + K8sResource>(&mut self) {
        self.gen.subschema_for::<T>();
        let gvk = (
            T::GROUP.to_string(),
            T::VERSION.to_string(),
            T::KIND.to_string(),
        );
        self.kinds.push((gvk, T::schema_name().into_owned()));
    }

    fn listable<T: JsonSchema + ListableResource>(&mut self) {
        self.kind::<T>();
        let gvk = (
            T::GROUP.to_string(),
            T::VERSION.to_string(),
            T::LIST_KIND.to_string(),
        );
        self.lists.push((gvk, T::schema_name().into_owned()));
    }

    fn plain<T: JsonSchema>(&mut self) {
        self.gen.subschema_for::<T>();
    }
}

fn build() -> Catalog {
    let mut b = Builder {
        gen: SchemaSettings::openapi3()
            .with(|s| s.meta_schema = None)
            .into_generator(),
        kinds: Vec::new(),
        lists: Vec::new(),
    };
    register(&mut b);

    let mut schemas = b.gen.take_definitions(true);
    for schema in schemas.values_mut() {
        normalize_refs(schema);
    }
    add_patch_extensions(&mut schemas);
    let mut kinds = BTreeMap::new();
    for ((group, version, kind), name) in b.kinds {
        if let Some(Value::Object(obj)) = schemas.get_mut(&name) {
            obj.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([gvk_value(&group, &version, &kind)]),
            );
        }
        kinds.insert((group, version, kind), name);
    }
    for ((group, version, list_kind), item) in b.lists {
        let name = list_definition_name(&item, &list_kind);
        let item_kind = item.rsplit('.').next().unwrap_or_default().to_string();
        schemas.insert(
            name.clone(),
            list_schema(&group, &version, &list_kind, &item_kind, &item),
        );
        kinds.insert((group, version, list_kind), name);
    }
    Catalog { schemas, kinds }
}

/// List and union fields with strategic-merge metadata: (definition, field,
/// patch strategy, merge key, list-map keys). kubectl 1.32 computes
/// client-side apply patches from these OpenAPI v3 extensions; without them
/// it treats every list as atomic and re-sends whole lists on each apply.
type PatchMeta = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
);

#[rustfmt::skip]
const PATCH_META: &[PatchMeta] = &[
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", "merge", None, &[]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences", "merge", Some("uid"), &["uid"]),
    ("io.k8s.api.core.v1.PodSpec", "volumes", "merge,retainKeys", Some("name"), &["name"]),
    ("io.k8s.api.core.v1.PodSpec", "initContainers", "merge", Some("name"), &["name"]),
    ("io.k8s.api.core.v1.PodSpec", "containers", "merge", Some("name"), &["name"]),
    ("io.k8s.api.core.v1.PodSpec", "ephemeralContainers", "merge", Some("name"), &["name"]),
    ("io.k8s.api.core.v1.PodSpec", "imagePullSecrets", "merge", Some("name"), &["name"]),
    ("io.k8s.api.core.v1.PodSpec", "hostAliases", "merge", Some("ip"), &["ip"]),
    ("io.k8s.api.core.v1.PodSpec", "topologySpreadConstraints", "merge", Some("topologyKey"), &["topologyKey", "whenUnsatisfiable"]),
    ("io.k8s.api.core.v1.PodSpec", "schedulingGates", "merge", Some("name"), &["name"]),
    ("io.k8s.api.core.v1.PodSpec", "resourceClaims", "merge,retainKeys", Some("name"), &["name"]),
    ("io.k8s.api.core.v1.Container", "ports", "merge", Some("containerPort"), &["containerPort", "protocol"]),
    ("io.k8s.api.core.v1.Container", "env", "merge", Some("name"), &["name"]),
    ("io.k8s.api.core.v1.Container", "volumeMounts", "merge", Some("mountPath"), &["mountPath"]),
    ("io.k8s.api.core.v1.Container", "volumeDevices", "merge", Some("devicePath"), &["devicePath"]),
    ("io.k8s.api.core.v1.EphemeralContainer", "ports", "merge", Some("containerPort"), &["containerPort", "protocol"]),
    ("io.k8s.api.core.v1.EphemeralContainer", "env", "merge", Some("name"), &["name"]),
    ("io.k8s.api.core.v1.EphemeralContainer", "volumeMounts", "merge", Some("mountPath"), &["mountPath"]),
    ("io.k8s.api.core.v1.EphemeralContainer", "volumeDevices", "merge", Some("devicePath"), &["devicePath"]),
    ("io.k8s.api.core.v1.PodStatus", "conditions", "merge", Some("type"), &["type"]),
    ("io.k8s.api.core.v1.PodStatus", "podIPs", "merge", Some("ip"), &["ip"]),
    ("io.k8s.api.core.v1.PodStatus", "hostIPs", "merge", Some("ip"), &["ip"]),
    ("io.k8s.api.core.v1.ServiceSpec", "ports", "merge", Some("port"), &["port", "protocol"]),
    ("io.k8s.api.core.v1.ServiceStatus", "conditions", "merge", Some("type"), &["type"]),
    ("io.k8s.api.core.v1.ServiceAccount", "secrets", "merge", Some("name"), &["name"]),
    ("io.k8s.api.core.v1.NamespaceStatus", "conditions", "merge", Some("type"), &["type"]),
    ("io.k8s.api.core.v1.NodeStatus", "conditions", "merge", Some("type"), &["type"]),
    ("io.k8s.api.core.v1.NodeStatus", "addresses", "merge", Some("type"), &["type"]),
    ("io.k8s.api.core.v1.NodeSpec", "podCIDRs", "merge", None, &[]),
    ("io.k8s.api.apps.v1.DeploymentSpec", "strategy", "retainKeys", None, &[]),
    ("io.k8s.api.apps.v1.DeploymentStatus", "conditions", "merge", Some("type"), &["type"]),
    ("io.k8s.api.apps.v1.ReplicaSetStatus", "conditions", "merge", Some("type"), &["type"]),
];

fn add_patch_extensions(schemas: &mut Map<String, Value>) {
    for (def, field, strategy, key, map_keys) in PATCH_META {
        let Some(prop) = schemas
            .get_mut(*def)
            .and_then(|s| s.pointer_mut(&format!("/properties/{field}")))
        else {
            continue;
        };
        let Some(obj) = prop.as_object_mut() else {
            continue;
        };
        obj.insert("x-kubernetes-patch-strategy".into(), json!(strategy));
        if let Some(k) = key {
            obj.insert("x-kubernetes-patch-merge-key".into(), json!(k));
        }
        if !map_keys.is_empty() {
            obj.insert("x-kubernetes-list-type".into(), json!("map"));
            obj.insert("x-kubernetes-list-map-keys".into(), json!(map_keys));
        }
    }
}

/// `io.k8s.api.apps.v1.Deployment` + `DeploymentList` → `io.k8s.api.apps.v1.DeploymentList`.
fn list_definition_name(item: &str, list_kind: &str) -> String {
    match item.rsplit_once('.') {
        Some((prefix, _)) => format!("{prefix}.{list_kind}"),
        None => list_kind.to_string(),
    }
}

/// The schema of a `<Kind>List`: k8s-openapi models lists generically, so
/// these are assembled by hand in the upstream shape.
pub(crate) fn list_schema(
    group: &str,
    version: &str,
    list_kind: &str,
    item_kind: &str,
    item_def: &str,
) -> Value {
    json!({
        "description": format!("{list_kind} is a list of {item_kind} objects."),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": API_VERSION_DESCRIPTION,
                "type": "string"
            },
            "items": {
                "description": format!("List of {item_kind} objects."),
                "type": "array",
                "items": {"allOf": [ref_to(item_def)], "default": {}}
            },
            "kind": {
                "description": KIND_DESCRIPTION,
                "type": "string"
            },
            "metadata": {
                "allOf": [ref_to(LIST_META)],
                "default": {},
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
            }
        },
        "required": ["items"],
        "x-kubernetes-group-version-kind": [gvk_value(group, version, list_kind)]
    })
}

pub(crate) const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
pub(crate) const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
pub(crate) const METADATA_DESCRIPTION: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// Points every `$ref` at `#/components/schemas/<name>`, whatever
/// definitions path the generator used.
fn normalize_refs(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            if let Some(Value::String(r)) = obj.get_mut("$ref") {
                if !r.starts_with(REF_PREFIX) {
                    let name = r.rsplit('/').next().unwrap_or_default().to_string();
                    *r = format!("{REF_PREFIX}{name}");
                }
            }
            for child in obj.values_mut() {
                normalize_refs(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_refs),
        _ => {}
    }
}

/// Every kind a built-in registry entry could name, plus the shared meta
/// types the documents' operations refer to.
fn register(b: &mut Builder) {
    b.listable::<core::v1::ComponentStatus>();
    b.listable::<core::v1::ConfigMap>();
    b.listable::<core::v1::Endpoints>();
    b.listable::<core::v1::Event>();
    b.listable::<core::v1::LimitRange>();
    b.listable::<core::v1::Namespace>();
    b.listable::<core::v1::Node>();
    b.listable::<core::v1::PersistentVolume>();
    b.listable::<core::v1::PersistentVolumeClaim>();
    b.listable::<core::v1::Pod>();
    b.listable::<core::v1::PodTemplate>();
    b.listable::<core::v1::ReplicationController>();
    b.listable::<core::v1::ResourceQuota>();
    b.listable::<core::v1::Secret>();
    b.listable::<core::v1::Service>();
    b.listable::<core::v1::ServiceAccount>();
    b.kind::<core::v1::Binding>();

    b.listable::<apps::v1::ControllerRevision>();
    b.listable::<apps::v1::DaemonSet>();
    b.listable::<apps::v1::Deployment>();
    b.listable::<apps::v1::ReplicaSet>();
    b.listable::<apps::v1::StatefulSet>();

    b.listable::<autoscaling::v1::HorizontalPodAutoscaler>();
    b.kind::<autoscaling::v1::Scale>();
    b.listable::<autoscaling::v2::HorizontalPodAutoscaler>();

    b.listable::<batch::v1::CronJob>();
    b.listable::<batch::v1::Job>();

    b.listable::<coordination::v1::Lease>();
    b.listable::<discovery::v1::EndpointSlice>();
    b.listable::<events::v1::Event>();

    b.listable::<networking::v1::Ingress>();
    b.listable::<networking::v1::IngressClass>();
    b.listable::<networking::v1::NetworkPolicy>();

    b.listable::<node::v1::RuntimeClass>();
    b.listable::<policy::v1::PodDisruptionBudget>();
    b.kind::<policy::v1::Eviction>();

    b.listable::<rbac::v1::ClusterRole>();
    b.listable::<rbac::v1::ClusterRoleBinding>();
    b.listable::<rbac::v1::Role>();
    b.listable::<rbac::v1::RoleBinding>();

    b.listable::<scheduling::v1::PriorityClass>();

    b.listable::<storage::v1::CSIDriver>();
    b.listable::<storage::v1::CSINode>();
    b.listable::<storage::v1::StorageClass>();
    b.listable::<storage::v1::VolumeAttachment>();

    b.listable::<certificates::v1::CertificateSigningRequest>();
    b.listable::<admissionregistration::v1::MutatingWebhookConfiguration>();
    b.listable::<admissionregistration::v1::ValidatingWebhookConfiguration>();

    b.listable::<apiextensions::v1::CustomResourceDefinition>();

    b.plain::<meta::v1::DeleteOptions>();
    b.plain::<meta::v1::ListMeta>();
    b.plain::<meta::v1::ObjectMeta>();
    b.plain::<meta::v1::Patch>();
    b.plain::<meta::v1::Status>();
}
