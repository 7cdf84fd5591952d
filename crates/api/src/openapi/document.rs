//! `/openapi/v3` and the per-group-version documents.
//!
//! kubectl reads two things from them: the PATCH operation of each kind
//! (with `x-kubernetes-group-version-kind` and an operation-level
//! `fieldValidation` parameter; query_param_verifier_v3 stops at the first
//! PATCH path whose GVK matches, so every such path must carry it), and
//! `components.schemas` entries tagged with the same GVK (for `explain`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Map, Value};

use super::catalog::{
    catalog, gvk_value, list_schema, ref_to, API_VERSION_DESCRIPTION, DELETE_OPTIONS,
    KIND_DESCRIPTION, METADATA_DESCRIPTION, OBJECT_META, PATCH, REF_PREFIX, STATUS,
};
use crate::registry::Resource;

/// Bumped whenever the generated documents change shape, so that clients'
/// HTTP caches keyed by `?hash=` do not serve an outdated document.
const DOCUMENT_REVISION: &str = "slipway-openapi-1/k8s-openapi-0.29/v1_33";

/// `api/v1` or `apis/<group>/<version>`: the key in the index.
fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

pub(crate) fn index(resources: &[Resource]) -> Value {
    let mut gvs: BTreeMap<String, Vec<&Resource>> = BTreeMap::new();
    for r in resources {
        gvs.entry(gv_key(&r.group, &r.version)).or_default().push(r);
    }
    let paths: Map<String, Value> = gvs
        .into_iter()
        .map(|(key, rs)| {
            let url = format!("/openapi/v3/{key}?hash={}", gv_hash(&rs));
            (key, json!({ "serverRelativeURL": url }))
        })
        .collect();
    json!({ "paths": paths })
}

/// A content hash of what determines a group-version's document. CRD
/// schemas are not known here, so for CRD group-versions the hash only
/// covers the resource list; servers must not mark those URLs immutable.
fn gv_hash(rs: &[&Resource]) -> String {
    let mut text = String::from(DOCUMENT_REVISION);
    for r in rs {
        text.push('\n');
        text.push_str(&serde_json::to_string(r).unwrap_or_default());
    }
    // Two FNV-1a passes with different offsets give 128 bits, plenty for a
    // cache key (upstream uses a SHA-512 digest; clients treat it as opaque).
    let fnv = |basis: u64| {
        text.bytes().fold(basis, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    format!(
        "{:016X}{:016X}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x6c62_272e_07bb_0142)
    )
}

pub(crate) fn document(
    group: &str,
    version: &str,
    resources: &[Resource],
    custom_schemas: &BTreeMap<String, Value>,
) -> Option<Value> {
    let rs: Vec<&Resource> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if rs.is_empty() {
        return None;
    }
    let mut key = gv_hash(&rs);
    for r in rs.iter().filter(|r| r.custom) {
        key.push('\n');
        key.push_str(
            &custom_schemas
                .get(&r.kind)
                .map(Value::to_string)
                .unwrap_or_default(),
        );
    }
    let cache = DOCUMENTS.get_or_init(Default::default);
    if let Some(doc) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Some(doc);
    }
    let doc = build_document(&rs, custom_schemas);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= MAX_CACHED_DOCUMENTS {
            c.clear();
        }
        c.insert(key, doc.clone());
    }
    Some(doc)
}

/// Built documents by content key: assembling one (the core group reaches
/// ~450 KB of schemas) costs several times more than copying it, and kubectl
/// fetches them on every apply/edit/explain.
static DOCUMENTS: OnceLock<Mutex<HashMap<String, Value>>> = OnceLock::new();
const MAX_CACHED_DOCUMENTS: usize = 64;

fn build_document(rs: &[&Resource], custom_schemas: &BTreeMap<String, Value>) -> Value {
    let mut own = Map::new();
    let mut roots: Vec<String> = vec![STATUS.into(), DELETE_OPTIONS.into(), PATCH.into()];
    let mut paths = Map::new();
    for r in rs {
        let (kind_def, list_def) = kind_definitions(r, custom_schemas, &mut own);
        roots.push(kind_def.clone());
        roots.push(list_def.clone());
        for (path, item) in resource_paths(r, &kind_def, &list_def, &mut roots) {
            paths.insert(path, item);
        }
    }
    let schemas = closure(&roots, &own);
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas}
    })
}

/// The definition names of a resource's kind and list kind; schemas not in
/// the built-in catalog (CRDs, or a built-in the catalog lacks) are put in
/// `own`.
fn kind_definitions(
    r: &Resource,
    custom_schemas: &BTreeMap<String, Value>,
    own: &mut Map<String, Value>,
) -> (String, String) {
    let cat = catalog();
    if !r.custom {
        if let (Some(k), Some(l)) = (
            cat.definition(&r.group, &r.version, &r.kind),
            cat.definition(&r.group, &r.version, &r.list_kind),
        ) {
            return (k.to_string(), l.to_string());
        }
    }
    let prefix = definition_prefix(&r.group, &r.version, r.custom);
    let kind_def = format!("{prefix}.{}", r.kind);
    let list_def = format!("{prefix}.{}", r.list_kind);
    own.insert(
        kind_def.clone(),
        custom_kind_schema(r, custom_schemas.get(&r.kind)),
    );
    own.insert(
        list_def.clone(),
        list_schema(&r.group, &r.version, &r.list_kind, &r.kind, &kind_def),
    );
    (kind_def, list_def)
}

/// Upstream names CRD definitions by the reversed group
/// (`stable.example.com` → `com.example.stable.v1.CronTab`).
fn definition_prefix(group: &str, version: &str, custom: bool) -> String {
    if custom {
        let reversed: Vec<&str> = group.split('.').rev().collect();
        format!("{}.{version}", reversed.join("."))
    } else {
        let short = group.split('.').next().unwrap_or_default();
        let short = if short.is_empty() { "core" } else { short };
        format!("io.k8s.api.{short}.{version}")
    }
}

/// A CRD's openAPIV3Schema as the apiserver publishes it: with the
/// `apiVersion`/`kind`/`metadata` properties every object has, and the GVK.
fn custom_kind_schema(r: &Resource, schema: Option<&Value>) -> Value {
    let mut obj = match schema {
        Some(Value::Object(o)) => o.clone(),
        _ => {
            let mut o = Map::new();
            o.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
            o
        }
    };
    obj.entry("type").or_insert_with(|| json!("object"));
    let mut props = Map::new();
    props.insert(
        "apiVersion".into(),
        json!({"description": API_VERSION_DESCRIPTION, "type": "string"}),
    );
    props.insert(
        "kind".into(),
        json!({"description": KIND_DESCRIPTION, "type": "string"}),
    );
    props.insert(
        "metadata".into(),
        json!({"allOf": [ref_to(OBJECT_META)], "description": METADATA_DESCRIPTION}),
    );
    if let Some(Value::Object(existing)) = obj.remove("properties") {
        for (k, v) in existing {
            if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                props.insert(k, v);
            }
        }
    }
    obj.insert("properties".into(), Value::Object(props));
    obj.insert(
        "x-kubernetes-group-version-kind".into(),
        json!([gvk_value(&r.group, &r.version, &r.kind)]),
    );
    Value::Object(obj)
}

/// The referenced definitions reachable from `roots`, sorted by name as in
/// upstream documents.
fn closure(roots: &[String], own: &Map<String, Value>) -> Map<String, Value> {
    let cat = catalog();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = roots.to_vec();
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    while let Some(name) = queue.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(schema) = own.get(&name).or_else(|| cat.schema(&name)) else {
            continue;
        };
        collect_refs(schema, &mut queue);
        out.insert(name, schema.clone());
    }
    out.into_iter().collect()
}

pub(super) fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(obj) => {
            if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
                if let Some(name) = r.strip_prefix(REF_PREFIX) {
                    out.push(name.to_string());
                }
            }
            obj.values().for_each(|c| collect_refs(c, out));
        }
        Value::Array(items) => items.iter().for_each(|c| collect_refs(c, out)),
        _ => {}
    }
}

/// `AppsV1`, `CoreV1`, `RbacAuthorizationV1`, `StableExampleComV1`.
fn gv_ident(group: &str, version: &str) -> String {
    let g = if group.is_empty() {
        "core".to_string()
    } else {
        group.strip_suffix(".k8s.io").unwrap_or(group).to_string()
    };
    let mut s: String = g.split(['.', '-']).map(capitalize).collect();
    s.push_str(&capitalize(version));
    s
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn gv_tag(group: &str, version: &str) -> String {
    let g = if group.is_empty() {
        "core".to_string()
    } else {
        group
            .strip_suffix(".k8s.io")
            .unwrap_or(group)
            .replace('.', "_")
    };
    format!("{g}_{version}")
}

fn query(name: &str, description: &str, ty: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": ty, "uniqueItems": true}
    })
}

fn path_param(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "path",
        "description": description,
        "required": true,
        "schema": {"type": "string", "uniqueItems": true}
    })
}

fn pretty() -> Value {
    query(
        "pretty",
        "If 'true', then the output is pretty printed.",
        "string",
    )
}

fn dry_run() -> Value {
    query(
        "dryRun",
        "When present, indicates that modifications should not be persisted. The only valid value is \"All\".",
        "string",
    )
}

fn field_manager() -> Value {
    query(
        "fieldManager",
        "A name associated with the actor or entity that is making these changes.",
        "string",
    )
}

fn field_validation() -> Value {
    query(
        "fieldValidation",
        "How the server treats unknown or duplicate fields in the request body: Ignore, Warn or Strict.",
        "string",
    )
}

fn write_params(patch: bool) -> Vec<Value> {
    let mut p = vec![dry_run(), field_manager(), field_validation()];
    if patch {
        p.push(query(
            "force",
            "Force an apply request, taking ownership of conflicting fields. Only valid for apply patches.",
            "boolean",
        ));
    }
    p
}

fn list_params() -> Vec<Value> {
    vec![
        query(
            "allowWatchBookmarks",
            "Requests watch events of type BOOKMARK.",
            "boolean",
        ),
        query(
            "continue",
            "Continue token from a previous paginated list call.",
            "string",
        ),
        query(
            "fieldSelector",
            "Restrict the returned objects by their fields.",
            "string",
        ),
        query(
            "labelSelector",
            "Restrict the returned objects by their labels.",
            "string",
        ),
        query(
            "limit",
            "Maximum number of objects to return in one list call.",
            "integer",
        ),
        query(
            "resourceVersion",
            "Constrains which resource versions the request may be served from.",
            "string",
        ),
        query(
            "resourceVersionMatch",
            "How resourceVersion is applied to list calls.",
            "string",
        ),
        query(
            "sendInitialEvents",
            "Whether a watch starts with synthetic events for the current state.",
            "boolean",
        ),
        query(
            "timeoutSeconds",
            "Timeout for the list/watch call.",
            "integer",
        ),
        query(
            "watch",
            "Watch for changes to the described resources instead of listing them.",
            "boolean",
        ),
    ]
}

fn delete_params(collection: bool) -> Vec<Value> {
    let mut p = Vec::new();
    if collection {
        p.push(query(
            "continue",
            "Continue token from a previous paginated list call.",
            "string",
        ));
    }
    p.push(dry_run());
    if collection {
        p.push(query(
            "fieldSelector",
            "Restrict the deleted objects by their fields.",
            "string",
        ));
    }
    p.push(query(
        "gracePeriodSeconds",
        "Seconds before the object should be deleted.",
        "integer",
    ));
    if collection {
        p.push(query(
            "labelSelector",
            "Restrict the deleted objects by their labels.",
            "string",
        ));
        p.push(query(
            "limit",
            "Maximum number of objects to delete in one call.",
            "integer",
        ));
    }
    p.push(query(
        "orphanDependents",
        "Deprecated: use propagationPolicy.",
        "boolean",
    ));
    p.push(query(
        "propagationPolicy",
        "Whether and how garbage collection is performed: Orphan, Background or Foreground.",
        "string",
    ));
    if collection {
        p.push(query(
            "resourceVersion",
            "Constrains which resource versions the request may be served from.",
            "string",
        ));
        p.push(query("timeoutSeconds", "Timeout for the call.", "integer"));
    }
    p
}

fn content(schema: &Value) -> Value {
    json!({
        "application/json": {"schema": schema},
        "application/yaml": {"schema": schema},
        "application/vnd.kubernetes.protobuf": {"schema": schema}
    })
}

fn responses(codes: &[(&str, &str)], schema: &Value) -> Value {
    let mut m = Map::new();
    for (code, desc) in codes {
        m.insert(
            (*code).to_string(),
            json!({"description": desc, "content": content(schema)}),
        );
    }
    m.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(m)
}

fn body(schema: &Value) -> Value {
    json!({"content": {"*/*": {"schema": schema}}, "required": true})
}

fn patch_body() -> Value {
    let schema = ref_to(PATCH);
    json!({
        "content": {
            "application/apply-patch+yaml": {"schema": schema},
            "application/json-patch+json": {"schema": schema},
            "application/merge-patch+json": {"schema": schema},
            "application/strategic-merge-patch+json": {"schema": schema}
        },
        "required": true
    })
}

/// One operation; `gvk` is what kubectl matches on.
struct Op {
    method: &'static str,
    action: &'static str,
    id: String,
    description: String,
    params: Vec<Value>,
    request: Option<Value>,
    responses: Value,
}

impl Op {
    fn into_value(self, tag: &str, gvk: &Value) -> (String, Value) {
        let mut m = Map::new();
        m.insert("tags".into(), json!([tag]));
        m.insert("description".into(), json!(self.description));
        m.insert("operationId".into(), json!(self.id));
        if !self.params.is_empty() {
            m.insert("parameters".into(), Value::Array(self.params));
        }
        if let Some(b) = self.request {
            m.insert("requestBody".into(), b);
        }
        m.insert("responses".into(), self.responses);
        m.insert("x-kubernetes-action".into(), json!(self.action));
        m.insert("x-kubernetes-group-version-kind".into(), gvk.clone());
        (self.method.to_string(), Value::Object(m))
    }
}

fn path_item(params: Vec<Value>, ops: Vec<Op>, tag: &str, gvk: &Value) -> Value {
    let mut m = Map::new();
    for op in ops {
        let (method, v) = op.into_value(tag, gvk);
        m.insert(method, v);
    }
    m.insert("parameters".into(), Value::Array(params));
    Value::Object(m)
}

/// Read / replace / patch operations on an object-shaped endpoint.
fn rw_ops(id: &str, what: &str, schema: &Value) -> Vec<Op> {
    vec![
        Op {
            method: "get",
            action: "get",
            id: format!("read{id}"),
            description: format!("read the specified {what}"),
            params: Vec::new(),
            request: None,
            responses: responses(&[("200", "OK")], schema),
        },
        Op {
            method: "put",
            action: "put",
            id: format!("replace{id}"),
            description: format!("replace the specified {what}"),
            params: write_params(false),
            request: Some(body(schema)),
            responses: responses(&[("200", "OK"), ("201", "Created")], schema),
        },
        Op {
            method: "patch",
            action: "patch",
            id: format!("patch{id}"),
            description: format!("partially update the specified {what}"),
            params: write_params(true),
            request: Some(patch_body()),
            responses: responses(&[("200", "OK"), ("201", "Created")], schema),
        },
    ]
}

/// All paths of one resource: collection, item, cross-namespace list and
/// subresources.
fn resource_paths(
    r: &Resource,
    kind_def: &str,
    list_def: &str,
    roots: &mut Vec<String>,
) -> Vec<(String, Value)> {
    let prefix = if r.group.is_empty() {
        format!("/api/{}", r.version)
    } else {
        format!("/apis/{}/{}", r.group, r.version)
    };
    let gv = gv_ident(&r.group, &r.version);
    let tag = gv_tag(&r.group, &r.version);
    let gvk = gvk_value(&r.group, &r.version, &r.kind);
    let obj = ref_to(kind_def);
    let list = ref_to(list_def);
    let status = ref_to(STATUS);
    let scope = if r.namespaced() { "Namespaced" } else { "" };
    let id = format!("{gv}{scope}{}", r.kind);
    let kind = &r.kind;

    let (collection, mut base_params) = if r.namespaced() {
        (
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural),
            vec![path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects",
            )],
        )
    } else {
        (format!("{prefix}/{}", r.plural), Vec::new())
    };
    base_params.push(pretty());
    let item = format!("{collection}/{{name}}");
    let mut item_params = vec![path_param("name", &format!("name of the {kind}"))];
    item_params.extend(base_params.iter().cloned());

    let mut out = Vec::new();
    out.push((
        collection.clone(),
        path_item(
            base_params.clone(),
            vec![
                Op {
                    method: "get",
                    action: "list",
                    id: format!("list{id}"),
                    description: format!("list or watch objects of kind {kind}"),
                    params: list_params(),
                    request: None,
                    responses: responses(&[("200", "OK")], &list),
                },
                Op {
                    method: "post",
                    action: "post",
                    id: format!("create{id}"),
                    description: format!("create a {kind}"),
                    params: write_params(false),
                    request: Some(body(&obj)),
                    responses: responses(
                        &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
                        &obj,
                    ),
                },
                Op {
                    method: "delete",
                    action: "deletecollection",
                    id: format!("delete{gv}Collection{scope}{kind}"),
                    description: format!("delete collection of {kind}"),
                    params: delete_params(true),
                    request: Some(body(&ref_to(DELETE_OPTIONS))),
                    responses: responses(&[("200", "OK")], &status),
                },
            ],
            &tag,
            &gvk,
        ),
    ));
    let mut item_ops = rw_ops(&id, kind, &obj);
    item_ops.push(Op {
        method: "delete",
        action: "delete",
        id: format!("delete{id}"),
        description: format!("delete a {kind}"),
        params: delete_params(false),
        request: Some(body(&ref_to(DELETE_OPTIONS))),
        responses: responses(&[("200", "OK"), ("202", "Accepted")], &status),
    });
    out.push((
        item.clone(),
        path_item(item_params.clone(), item_ops, &tag, &gvk),
    ));
    if r.namespaced() {
        out.push((
            format!("{prefix}/{}", r.plural),
            path_item(
                vec![pretty()],
                vec![Op {
                    method: "get",
                    action: "list",
                    id: format!("list{gv}{kind}ForAllNamespaces"),
                    description: format!("list or watch objects of kind {kind}"),
                    params: list_params(),
                    request: None,
                    responses: responses(&[("200", "OK")], &list),
                }],
                &tag,
                &gvk,
            ),
        ));
    }
    for sub in &r.subresources {
        let item = Item {
            r,
            obj: &obj,
            path: &item,
            params: &item_params,
            id: &id,
            tag: &tag,
        };
        if let Some(p) = subresource_path(&item, sub, roots) {
            out.push(p);
        }
    }
    out
}

/// The item endpoint a subresource hangs off.
struct Item<'a> {
    r: &'a Resource,
    /// `$ref` to the kind's schema.
    obj: &'a Value,
    path: &'a str,
    params: &'a [Value],
    /// Operation-id stem, e.g. `AppsV1NamespacedDeployment`.
    id: &'a str,
    tag: &'a str,
}

fn subresource_path(
    item: &Item<'_>,
    sub: &str,
    roots: &mut Vec<String>,
) -> Option<(String, Value)> {
    let cat = catalog();
    let Item {
        r,
        obj,
        params,
        id,
        tag,
        ..
    } = *item;
    let path = format!("{}/{sub}", item.path);
    let kind_gvk = gvk_value(&r.group, &r.version, &r.kind);
    let sub_id = format!("{id}{}", capitalize(sub));
    let what = format!("{} of the specified {}", sub, r.kind);
    let params = params.to_vec();
    let (ops, gvk) = match sub {
        "scale" => {
            let def = cat.definition("autoscaling", "v1", "Scale")?;
            roots.push(def.to_string());
            (
                rw_ops(&sub_id, &what, &ref_to(def)),
                gvk_value("autoscaling", "v1", "Scale"),
            )
        }
        "log" => (
            vec![Op {
                method: "get",
                action: "get",
                id: format!("read{sub_id}"),
                description: format!("read {what}"),
                params: ["container", "follow", "limitBytes", "previous"]
                    .iter()
                    .chain(["sinceSeconds", "tailLines", "timestamps"].iter())
                    .map(|n| query(n, &format!("the {n} log option"), "string"))
                    .collect(),
                request: None,
                responses: json!({
                    "200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "401": {"description": "Unauthorized"}
                }),
            }],
            kind_gvk,
        ),
        "binding" | "eviction" => {
            let (g, v, k) = if sub == "binding" {
                ("", "v1", "Binding")
            } else {
                ("policy", "v1", "Eviction")
            };
            let def = cat.definition(g, v, k)?;
            roots.push(def.to_string());
            let schema = ref_to(def);
            (
                vec![Op {
                    method: "post",
                    action: "post",
                    id: format!("create{sub_id}"),
                    description: format!("create {what}"),
                    params: write_params(false),
                    request: Some(body(&schema)),
                    responses: responses(
                        &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
                        &schema,
                    ),
                }],
                gvk_value(g, v, k),
            )
        }
        "finalize" => {
            let schema = obj.clone();
            (
                vec![Op {
                    method: "put",
                    action: "put",
                    id: format!("replace{sub_id}"),
                    description: format!("replace {what}"),
                    params: write_params(false),
                    request: Some(body(&schema)),
                    responses: responses(&[("200", "OK"), ("201", "Created")], &schema),
                }],
                kind_gvk,
            )
        }
        "exec" | "attach" | "portforward" | "proxy" => {
            let options = match sub {
                "portforward" => format!("{}PortForwardOptions", r.kind),
                _ => format!("{}{}Options", r.kind, capitalize(sub)),
            };
            let mk = |method: &'static str| Op {
                method,
                action: "connect",
                id: format!("connect{}{sub_id}", capitalize(method)),
                description: format!("connect {} requests to {sub} of {}", method, r.kind),
                params: Vec::new(),
                request: None,
                responses: json!({
                    "200": {"description": "OK", "content": {"*/*": {"schema": {"type": "string"}}}},
                    "401": {"description": "Unauthorized"}
                }),
            };
            (
                vec![mk("get"), mk("post")],
                gvk_value(&r.group, &r.version, &options),
            )
        }
        _ => (rw_ops(&sub_id, &what, obj), kind_gvk),
    };
    Some((path, path_item(params, ops, tag, &gvk)))
}
