//! The resource registry: which resources exist, under which group/version,
//! with which names, scope, verbs and subresources. Built-ins are static;
//! custom resources are added at run time from CustomResourceDefinitions.

use serde::{Deserialize, Serialize};

/// Whether objects live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// One served resource (one group/version/plural).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// API group; `""` for core.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub list_kind: String,
    pub plural: String,
    pub singular: String,
    pub scope: Scope,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Subresources beyond the main resource: `status`, `scale`, `log`, `binding`.
    pub subresources: Vec<String>,
    /// Served from a CustomResourceDefinition rather than built in.
    pub custom: bool,
}

impl Resource {
    /// `apps/v1` or `v1` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The name used in messages: `deployments.apps`, or `pods` for core.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The `Kind.group` form used in Invalid messages: `Deployment.apps`, `Pod`.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    pub fn namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    scope: Scope,
    short: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [&'static str],
}

const NS: Scope = Scope::Namespaced;
const CL: Scope = Scope::Cluster;

const BUILTINS: &[Builtin] = &[
    Builtin {
        group: "",
        version: "v1",
        kind: "Namespace",
        plural: "namespaces",
        scope: CL,
        short: &["ns"],
        categories: &[],
        subresources: &["status", "finalize"],
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "Node",
        plural: "nodes",
        scope: CL,
        short: &["no"],
        categories: &[],
        subresources: &["status"],
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods",
        scope: NS,
        short: &["po"],
        categories: &["all"],
        subresources: &["status", "log", "binding"],
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "Service",
        plural: "services",
        scope: NS,
        short: &["svc"],
        categories: &["all"],
        subresources: &["status"],
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "Endpoints",
        plural: "endpoints",
        scope: NS,
        short: &["ep"],
        categories: &[],
        subresources: &[],
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        scope: NS,
        short: &["cm"],
        categories: &[],
        subresources: &[],
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "Secret",
        plural: "secrets",
        scope: NS,
        short: &[],
        categories: &[],
        subresources: &[],
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        plural: "serviceaccounts",
        scope: NS,
        short: &["sa"],
        categories: &[],
        subresources: &[],
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "Event",
        plural: "events",
        scope: NS,
        short: &["ev"],
        categories: &[],
        subresources: &[],
    },
    Builtin {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        plural: "deployments",
        scope: NS,
        short: &["deploy"],
        categories: &["all"],
        subresources: &["status", "scale"],
    },
    Builtin {
        group: "apps",
        version: "v1",
        kind: "ReplicaSet",
        plural: "replicasets",
        scope: NS,
        short: &["rs"],
        categories: &["all"],
        subresources: &["status", "scale"],
    },
    Builtin {
        group: "discovery.k8s.io",
        version: "v1",
        kind: "EndpointSlice",
        plural: "endpointslices",
        scope: NS,
        short: &[],
        categories: &[],
        subresources: &[],
    },
    Builtin {
        group: "coordination.k8s.io",
        version: "v1",
        kind: "Lease",
        plural: "leases",
        scope: NS,
        short: &[],
        categories: &[],
        subresources: &[],
    },
    Builtin {
        group: "apiextensions.k8s.io",
        version: "v1",
        kind: "CustomResourceDefinition",
        plural: "customresourcedefinitions",
        scope: CL,
        short: &["crd", "crds"],
        categories: &["api-extensions"],
        subresources: &["status"],
    },
];

/// All built-in resources, in discovery order.
pub fn builtins() -> Vec<Resource> {
    BUILTINS
        .iter()
        .map(|b| Resource {
            group: b.group.to_string(),
            version: b.version.to_string(),
            kind: b.kind.to_string(),
            list_kind: format!("{}List", b.kind),
            plural: b.plural.to_string(),
            singular: b.kind.to_ascii_lowercase(),
            scope: b.scope,
            short_names: b.short.iter().map(|s| s.to_string()).collect(),
            categories: b.categories.iter().map(|s| s.to_string()).collect(),
            subresources: b.subresources.iter().map(|s| s.to_string()).collect(),
            custom: false,
        })
        .collect()
}

/// Is (group, kind) a built-in kind with compiled-in strategic-merge metadata?
pub fn is_builtin_kind(group: &str, kind: &str) -> bool {
    BUILTINS.iter().any(|b| b.group == group && b.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let all = builtins();
        let d = all
            .iter()
            .find(|r| r.plural == "deployments")
            .expect("deployments");
        assert_eq!(d.api_version(), "apps/v1");
        assert_eq!(d.qualified_plural(), "deployments.apps");
        assert_eq!(d.qualified_kind(), "Deployment.apps");
        let p = all.iter().find(|r| r.plural == "pods").expect("pods");
        assert_eq!(p.qualified_plural(), "pods");
        assert_eq!(p.api_version(), "v1");
    }
}
