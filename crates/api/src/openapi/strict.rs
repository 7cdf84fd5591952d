//! Unknown-field detection and pruning for built-in kinds, driven by the
//! catalog's schemas. Mirrors what the apiserver's strict JSON decoding
//! (sigs.k8s.io/json `UnmarshalStrict`) reports: paths join struct fields
//! and map keys with `.`, list items as `[i]`; values decoded by a custom
//! unmarshaller (IntOrString, Quantity, RawExtension, FieldsV1, JSON, the
//! JSONSchemaProps `Or*` wrappers) are opaque.

use serde_json::{Map, Value};

use super::catalog::{catalog, Catalog, REF_PREFIX};
use crate::crd::schema_util::join_path;

/// Upstream stops accumulating strict errors after this many.
const MAX_ERRORS: usize = 100;

/// Definitions whose Go types decode arbitrary JSON themselves.
const FREE_FORM: &[&str] = &[
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
];

/// How a schema constrains the object keys it accepts.
enum Shape<'a> {
    /// A Go struct: only these keys are known.
    Struct(&'a Map<String, Value>),
    /// A Go map: any key, values of this schema.
    Map(&'a Value),
    /// A list of items of this schema.
    List(&'a Value),
    /// Scalars and anything decoded opaquely.
    Opaque,
}

fn shape<'a>(cat: &'a Catalog, schema: &'a Value) -> Shape<'a> {
    let mut s = schema;
    // Refs chain at most a few levels; the bound guards against a cycle.
    for _ in 0..16 {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix(REF_PREFIX).unwrap_or(r);
            if FREE_FORM.contains(&name) {
                return Shape::Opaque;
            }
            match cat.schema(name) {
                Some(next) => {
                    s = next;
                    continue;
                }
                None => return Shape::Opaque,
            }
        }
        if let Some(first) = s
            .get("allOf")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            s = first;
            continue;
        }
        break;
    }
    let flag = |k: &str| s.get(k).and_then(Value::as_bool).unwrap_or(false);
    if flag("x-kubernetes-preserve-unknown-fields")
        || flag("x-kubernetes-int-or-string")
        || s.get("oneOf").is_some()
        || s.get("anyOf").is_some()
    {
        return Shape::Opaque;
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        return Shape::Struct(props);
    }
    match s.get("additionalProperties") {
        Some(ap @ Value::Object(_)) => return Shape::Map(ap),
        Some(_) => return Shape::Opaque,
        None => {}
    }
    if let Some(items) = s.get("items") {
        return Shape::List(items);
    }
    if s.get("type").and_then(Value::as_str) == Some("object") {
        // A Go struct without fields: every key is unknown.
        return Shape::Struct(empty());
    }
    Shape::Opaque
}

fn empty() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

fn collect(cat: &Catalog, schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_ERRORS {
        return;
    }
    match (shape(cat, schema), value) {
        (Shape::Struct(props), Value::Object(obj)) => {
            for (k, v) in obj {
                let p = join_path(path, k);
                match props.get(k) {
                    Some(sub) => collect(cat, sub, v, &p, out),
                    None => {
                        if out.len() < MAX_ERRORS {
                            out.push(format!("unknown field {}", crate::errors::quote(&p)));
                        }
                    }
                }
            }
        }
        (Shape::Map(sub), Value::Object(obj)) => {
            for (k, v) in obj {
                collect(cat, sub, v, &join_path(path, k), out);
            }
        }
        (Shape::List(sub), Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                collect(cat, sub, v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn prune(cat: &Catalog, schema: &Value, value: &mut Value) {
    match (shape(cat, schema), value) {
        (Shape::Struct(props), Value::Object(obj)) => {
            obj.retain(|k, _| props.contains_key(k));
            for (k, v) in obj.iter_mut() {
                if let Some(sub) = props.get(k) {
                    prune(cat, sub, v);
                }
            }
        }
        (Shape::Map(sub), Value::Object(obj)) => {
            for v in obj.values_mut() {
                prune(cat, sub, v);
            }
        }
        (Shape::List(sub), Value::Array(items)) => {
            for v in items.iter_mut() {
                prune(cat, sub, v);
            }
        }
        _ => {}
    }
}

fn root(cat: &Catalog, group: &str, version: &str, kind: &str) -> Option<Value> {
    cat.definition(group, version, kind)
        .map(|name| serde_json::json!({ "$ref": format!("{REF_PREFIX}{name}") }))
}

pub(crate) fn unknown_fields(group: &str, version: &str, kind: &str, obj: &Value) -> Vec<String> {
    let cat = catalog();
    let mut out = Vec::new();
    if let Some(schema) = root(cat, group, version, kind) {
        collect(cat, &schema, obj, "", &mut out);
    }
    out
}

pub(crate) fn prune_unknown(group: &str, version: &str, kind: &str, obj: &mut Value) {
    let cat = catalog();
    if let Some(schema) = root(cat, group, version, kind) {
        prune(cat, &schema, obj);
    }
}
