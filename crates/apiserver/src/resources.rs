//! The served resources: built-ins plus those added by CustomResourceDefinitions,
//! and parsing request paths into a target.

use std::collections::BTreeMap;
use std::sync::RwLock;

use api::crd::ServedVersion;
use api::registry::Resource;

/// Resources the server answers for. CRDs change it at run time.
pub struct Registry {
    builtins: Vec<Resource>,
    /// CRD name → its served versions.
    crds: RwLock<BTreeMap<String, Vec<ServedVersion>>>,
}

impl Registry {
    pub fn new() -> Self {
        Registry {
            builtins: api::registry::builtins(),
            crds: RwLock::new(BTreeMap::new()),
        }
    }

    fn crds(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Vec<ServedVersion>>> {
        self.crds.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Every served resource, built-ins first.
    pub fn all(&self) -> Vec<Resource> {
        let mut v = self.builtins.clone();
        for versions in self.crds().values() {
            v.extend(versions.iter().map(|s| s.resource.clone()));
        }
        v
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Resource> {
        if let Some(r) = self
            .builtins
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
        {
            return Some(r.clone());
        }
        self.custom(group, version, plural).map(|s| s.resource)
    }

    pub fn custom(&self, group: &str, version: &str, plural: &str) -> Option<ServedVersion> {
        self.crds()
            .values()
            .flat_map(|v| v.iter())
            .find(|s| {
                s.resource.group == group
                    && s.resource.version == version
                    && s.resource.plural == plural
            })
            .cloned()
    }

    /// Custom kinds' schemas for one group-version (for OpenAPI).
    pub fn custom_schemas(
        &self,
        group: &str,
        version: &str,
    ) -> BTreeMap<String, serde_json::Value> {
        self.crds()
            .values()
            .flat_map(|v| v.iter())
            .filter(|s| s.resource.group == group && s.resource.version == version)
            .filter_map(|s| s.schema.clone().map(|sc| (s.resource.kind.clone(), sc)))
            .collect()
    }

    pub fn set_crd(&self, name: &str, versions: Vec<ServedVersion>) {
        let mut g = self.crds.write().unwrap_or_else(|e| e.into_inner());
        g.insert(name.to_string(), versions);
    }

    pub fn remove_crd(&self, name: &str) {
        let mut g = self.crds.write().unwrap_or_else(|e| e.into_inner());
        g.remove(name);
    }

    /// Is `plural` a namespaced resource in this group-version?
    fn is_namespaced(&self, group: &str, version: &str, plural: &str) -> bool {
        self.find(group, version, plural)
            .is_some_and(|r| r.namespaced())
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// What a resource path names.
#[derive(Debug, Clone)]
pub struct Target {
    pub resource: Resource,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// A parsed API path.
#[derive(Debug)]
pub enum ApiPath {
    /// `/api/v1` or `/apis/<g>/<v>`: the resource list.
    GroupVersion {
        group: String,
        version: String,
    },
    /// `/apis/<g>`: the group.
    Group {
        group: String,
    },
    Resource(Box<Target>),
    Unknown,
}

/// Split `/api/v1/...` or `/apis/<g>/<v>/...` into a target.
pub fn parse_path(reg: &Registry, path: &str) -> ApiPath {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g] => {
            return ApiPath::Group {
                group: g.to_string(),
            }
        }
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return ApiPath::Unknown,
    };
    if rest.is_empty() {
        return ApiPath::GroupVersion {
            group: group.into(),
            version: version.into(),
        };
    }
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..] if reg.is_namespaced(group, version, plural) => {
            (Some(ns.to_string()), {
                let mut v = vec![*plural];
                v.extend_from_slice(tail);
                v
            })
        }
        _ => (None, rest.to_vec()),
    };
    let Some(resource) = reg.find(group, version, rest[0]) else {
        return ApiPath::Unknown;
    };
    if rest.len() > 3 {
        return ApiPath::Unknown;
    }
    ApiPath::Resource(Box::new(Target {
        resource,
        namespace,
        name: rest.get(1).map(|s| s.to_string()),
        subresource: rest.get(2).map(|s| s.to_string()),
    }))
}

/// Store key of one object. Keys are version-independent so every served
/// version of a group/resource shares storage.
pub fn object_key(res: &Resource, ns: Option<&str>, name: &str) -> String {
    format!("{}{name}", collection_prefix(res, ns))
}

/// Store prefix of a collection, in one namespace or across all of them.
pub fn collection_prefix(res: &Resource, ns: Option<&str>) -> String {
    let group = if res.group.is_empty() {
        "core"
    } else {
        res.group.as_str()
    };
    match (res.namespaced(), ns) {
        (true, Some(ns)) => format!("/{group}/{}/{ns}/", res.plural),
        _ => format!("/{group}/{}/", res.plural),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let reg = Registry::new();
        let ApiPath::Resource(t) = parse_path(
            &reg,
            "/apis/apps/v1/namespaces/default/deployments/web/scale",
        ) else {
            panic!("not a resource")
        };
        assert_eq!(
            (
                t.resource.plural.as_str(),
                t.namespace.as_deref(),
                t.name.as_deref(),
                t.subresource.as_deref()
            ),
            ("deployments", Some("default"), Some("web"), Some("scale"))
        );
        let ApiPath::Resource(t) = parse_path(&reg, "/api/v1/namespaces/kube-system") else {
            panic!("ns")
        };
        assert_eq!(
            (t.resource.plural.as_str(), t.name.as_deref()),
            ("namespaces", Some("kube-system"))
        );
        let ApiPath::Resource(t) = parse_path(&reg, "/api/v1/namespaces/x/status") else {
            panic!("ns status")
        };
        assert_eq!(t.subresource.as_deref(), Some("status"));
        let ApiPath::Resource(t) = parse_path(&reg, "/api/v1/pods") else {
            panic!("pods")
        };
        assert!(t.namespace.is_none() && t.name.is_none());
        assert!(matches!(
            parse_path(&reg, "/api/v1"),
            ApiPath::GroupVersion { .. }
        ));
        assert!(matches!(
            parse_path(&reg, "/apis/apps/v1/nothing"),
            ApiPath::Unknown
        ));
        let res = reg.find("apps", "v1", "deployments").expect("deployments");
        assert_eq!(
            object_key(&res, Some("default"), "web"),
            "/apps/deployments/default/web"
        );
        assert_eq!(collection_prefix(&res, None), "/apps/deployments/");
    }
}
