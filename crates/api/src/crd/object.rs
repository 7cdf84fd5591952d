//! What the apiserver does to a custom object before storing it: prune fields
//! the structural schema does not specify, drop non-nullable nulls, apply
//! schema defaults, then validate (metadata name, OpenAPI values, embedded
//! resources, list-type set/map uniqueness).

use serde_json::{Map, Value};

use super::gofmt::{field_value, sharp_v};
use super::schema_util::{self as su, join_path, Additional, EMBEDDED, PRESERVE};
use super::value;
use crate::admission::names::{is_dns1035_label, is_dns1123_subdomain};
use crate::errors::{quote, FieldError};

/// Fields of an embedded resource (and of the object root) that pruning leaves
/// to the apiserver's own metadata handling.
const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// For a custom object about to be stored: prune unknown fields (honouring
/// `x-kubernetes-preserve-unknown-fields` and `x-kubernetes-embedded-resource`),
/// apply schema defaults, then validate. Returns upstream-shaped field errors,
/// e.g. `spec.replicas: Invalid value: "string": spec.replicas in body must be
/// of type integer: "string"`. `metadata` is left alone apart from checking
/// `metadata.name`/`generateName`; `apiVersion` and `kind` are always kept.
///
/// `pattern` supports the subset documented in `crd/regex.rs`; patterns beyond
/// it are not checked.
pub fn prune_default_validate(schema: &Value, obj: &mut Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let schema = Some(schema).filter(|s| s.is_object());
    if let Some(s) = schema {
        prune(obj, Some(s), true, "", &mut Vec::new());
        prune_nulls(obj, s, true);
        apply_defaults(obj, s, true);
    }
    validate_object_meta(obj, &mut errs);
    if let Some(s) = schema {
        value::validate(s, obj, "", &mut errs);
        validate_embedded(obj, s, "", true, &mut errs);
        validate_list_types(obj, s, "", &mut errs);
    }
    errs
}

/// The fields pruning would drop, as the Strict field-validation messages
/// `unknown field "spec.foo"`; computed on the object as received.
pub fn unknown_fields(schema: &Value, obj: &Value) -> Vec<String> {
    if !schema.is_object() {
        return Vec::new();
    }
    let mut copy = obj.clone();
    let mut paths = Vec::new();
    prune(&mut copy, Some(schema), true, "", &mut paths);
    paths
        .into_iter()
        .map(|p| format!("unknown field {}", quote(&p)))
        .collect()
}

/// Whether pruning `v` with schema `s` would drop anything (for defaults, which
/// must already be pruned).
pub(super) fn prune_changes(s: &Value, v: &Value) -> bool {
    let mut copy = v.clone();
    let mut dropped = Vec::new();
    prune(&mut copy, Some(s), false, "", &mut dropped);
    !dropped.is_empty()
}

fn remove_keys(map: &mut Map<String, Value>, drop: &[String]) {
    if !drop.is_empty() {
        // `retain` keeps the remaining keys in their original order.
        map.retain(|k, _| !drop.contains(k));
    }
}

/// Upstream `pruning.Prune`; `root` marks the resource root, which keeps its
/// type and object metadata like an embedded resource. Pruned paths go to `out`.
fn prune(x: &mut Value, s: Option<&Value>, root: bool, path: &str, out: &mut Vec<String>) {
    let preserve = s.is_some_and(|s| su::flag(s, PRESERVE));
    let embedded = root || s.is_some_and(|s| su::flag(s, EMBEDDED));
    match x {
        Value::Object(map) => {
            let Some(s) = s else {
                out.extend(map.keys().map(|k| join_path(path, k)));
                map.clear();
                return;
            };
            let mut drop = Vec::new();
            for (k, v) in map.iter_mut() {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let child = join_path(path, k);
                if let Some(p) = su::property(s, k) {
                    prune(v, Some(p), false, &child, out);
                    continue;
                }
                match su::additional(s) {
                    Additional::Schema(a) => prune(v, Some(a), false, &child, out),
                    Additional::Any => {}
                    Additional::Absent => {
                        if !preserve {
                            out.push(child);
                            drop.push(k.clone());
                        }
                    }
                }
            }
            remove_keys(map, &drop);
        }
        Value::Array(items) => {
            let item_schema = s.and_then(su::items);
            if s.is_some() && item_schema.is_none() && preserve {
                return;
            }
            for (i, v) in items.iter_mut().enumerate() {
                prune(v, item_schema, false, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn nullable(s: &Value) -> bool {
    su::flag(s, "nullable")
}

fn default_of(s: &Value) -> Option<&Value> {
    s.get("default").filter(|d| !d.is_null())
}

/// Nulls in fields that are neither nullable nor defaulted are dropped before
/// defaulting, as the apiserver does when decoding.
fn prune_nulls(x: &mut Value, s: &Value, root: bool) {
    match x {
        Value::Object(map) => {
            let mut drop = Vec::new();
            for (k, v) in map.iter_mut() {
                if root && k == "metadata" {
                    continue;
                }
                let Some(ps) = su::schema_for_key(s, k) else {
                    continue;
                };
                if v.is_null() {
                    if !nullable(ps) && default_of(ps).is_none() {
                        drop.push(k.clone());
                    }
                } else {
                    prune_nulls(v, ps, false);
                }
            }
            remove_keys(map, &drop);
        }
        Value::Array(items) => {
            if let Some(is) = su::items(s) {
                for v in items.iter_mut().filter(|v| !v.is_null()) {
                    prune_nulls(v, is, false);
                }
            }
        }
        _ => {}
    }
}

/// Upstream `defaulting.Default`: missing (or non-nullable null) fields get a
/// copy of their default, then defaulting recurses into every value, including
/// the defaults just inserted.
fn apply_defaults(x: &mut Value, s: &Value, root: bool) {
    match x {
        Value::Object(map) => {
            if let Some(props) = su::properties(s) {
                for (k, p) in props {
                    if root && k == "metadata" {
                        continue;
                    }
                    let Some(d) = default_of(p) else {
                        continue;
                    };
                    match map.get_mut(k) {
                        None => {
                            map.insert(k.clone(), d.clone());
                        }
                        Some(v) if v.is_null() && !nullable(p) => *v = d.clone(),
                        Some(_) => {}
                    }
                }
            }
            for (k, v) in map.iter_mut() {
                if root && k == "metadata" {
                    continue;
                }
                if let Some(p) = su::property(s, k) {
                    apply_defaults(v, p, false);
                } else if let Additional::Schema(a) = su::additional(s) {
                    if v.is_null() && !nullable(a) {
                        if let Some(d) = default_of(a) {
                            *v = d.clone();
                        }
                    }
                    apply_defaults(v, a, false);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = su::items(s) {
                for v in items.iter_mut() {
                    if v.is_null() && !nullable(is) {
                        if let Some(d) = default_of(is) {
                            *v = d.clone();
                        }
                    }
                    apply_defaults(v, is, false);
                }
            }
        }
        _ => {}
    }
}

/// `ValidateObjectMetaAccessor` for the name fields of a custom object.
fn validate_object_meta(obj: &Value, out: &mut Vec<FieldError>) {
    let meta = obj.get("metadata");
    let get = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let (name, generate) = (get("name"), get("generateName"));
    if !generate.is_empty() {
        for msg in generate_name_errors(generate) {
            out.push(FieldError::invalid(
                "metadata.generateName",
                quote(generate),
                msg,
            ));
        }
    }
    if name.is_empty() {
        if generate.is_empty() {
            out.push(FieldError::required(
                "metadata.name",
                "name or generateName is required",
            ));
        }
    } else {
        for msg in is_dns1123_subdomain(name) {
            out.push(FieldError::invalid("metadata.name", quote(name), msg));
        }
    }
}

/// `NameIsDNSSubdomain` with `prefix`: a `generateName` may end in '-'.
fn generate_name_errors(generate: &str) -> Vec<String> {
    if generate.len() > 1 && generate.ends_with('-') {
        return is_dns1123_subdomain(&format!("{}a", &generate[..generate.len() - 1]));
    }
    is_dns1123_subdomain(generate)
}

/// Objects under `x-kubernetes-embedded-resource` must carry `apiVersion` and
/// `kind` (upstream `objectmeta.Validate`).
fn validate_embedded(x: &Value, s: &Value, path: &str, root: bool, out: &mut Vec<FieldError>) {
    match x {
        Value::Object(map) => {
            if !root && su::flag(s, EMBEDDED) {
                check_embedded(map, path, out);
            }
            for (k, v) in map {
                if root && k == "metadata" {
                    continue;
                }
                if let Some(ps) = su::schema_for_key(s, k) {
                    validate_embedded(v, ps, &join_path(path, k), false, out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = su::items(s) {
                for (i, v) in items.iter().enumerate() {
                    validate_embedded(v, is, &format!("{path}[{i}]"), false, out);
                }
            }
        }
        _ => {}
    }
}

fn check_embedded(map: &Map<String, Value>, path: &str, out: &mut Vec<FieldError>) {
    for key in ["apiVersion", "kind"] {
        if !map.contains_key(key) {
            out.push(FieldError::required(
                join_path(path, key),
                "must not be empty",
            ));
        }
    }
    for (k, v) in map {
        let field = join_path(path, k);
        match k.as_str() {
            "apiVersion" => match v.as_str() {
                None => out.push(FieldError::invalid(
                    field,
                    field_value(v),
                    "must be a string",
                )),
                Some("") => out.push(FieldError::invalid(field, quote(""), "must not be empty")),
                Some(av) if av.matches('/').count() > 1 => out.push(FieldError::invalid(
                    field,
                    quote(av),
                    format!("unexpected GroupVersion string: {av}"),
                )),
                Some(_) => {}
            },
            "kind" => match v.as_str() {
                None => out.push(FieldError::invalid(
                    field,
                    field_value(v),
                    "must be a string",
                )),
                Some("") => out.push(FieldError::invalid(field, quote(""), "must not be empty")),
                Some(kind) => {
                    let errs = is_dns1035_label(&kind.to_lowercase());
                    if !errs.is_empty() {
                        out.push(FieldError::invalid(
                            field,
                            quote(kind),
                            format!(
                                "may have mixed case, but should otherwise match: {}",
                                errs.join(",")
                            ),
                        ));
                    }
                }
            },
            "metadata" => {
                if let Some(name) = v.get("name").and_then(Value::as_str) {
                    if !name.is_empty() {
                        for msg in is_dns1123_subdomain(name) {
                            out.push(FieldError::invalid(
                                join_path(&field, "name"),
                                quote(name),
                                msg,
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// `listtype.ValidateListSetsAndMaps`: walks properties (`.k`), additionalProperties
/// (`[k]`) and items (`[i]`).
fn validate_list_types(x: &Value, s: &Value, path: &str, out: &mut Vec<FieldError>) {
    match x {
        Value::Object(map) => {
            if let Additional::Schema(a) = su::additional(s) {
                for (k, v) in map {
                    validate_list_types(v, a, &format!("{path}[{k}]"), out);
                }
            }
            if let Some(props) = su::properties(s) {
                for (k, v) in map {
                    if let Some(ps) = props.get(k) {
                        validate_list_types(v, ps, &join_path(path, k), out);
                    }
                }
            }
        }
        Value::Array(items) => {
            match su::str_of(s, "x-kubernetes-list-type") {
                Some("set") => {
                    for i in non_unique(items) {
                        out.push(FieldError::duplicate(
                            format!("{path}[{i}]"),
                            field_value(&items[i]),
                        ));
                    }
                }
                Some("map") => validate_list_map(s, items, path, out),
                _ => {}
            }
            if let Some(is) = su::items(s) {
                for (i, v) in items.iter().enumerate() {
                    validate_list_types(v, is, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// The index of the second appearance of every repeated value. Compound values
/// compare by their canonical (key-sorted) form; `1` and `1.0` differ, as Go's
/// `int64` and `float64` do.
fn non_unique(items: &[Value]) -> Vec<usize> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut out = Vec::new();
    for (i, x) in items.iter().enumerate() {
        let key = match x {
            Value::Object(_) | Value::Array(_) => format!("c:{}", sharp_v(x)),
            Value::Number(n) if n.is_f64() => format!("f:{n}"),
            other => format!("s:{other}"),
        };
        match seen.iter_mut().find(|(k, _)| *k == key) {
            Some((_, times)) => {
                *times += 1;
                if *times == 2 {
                    out.push(i);
                }
            }
            None => seen.push((key, 1)),
        }
    }
    out
}

fn validate_list_map(s: &Value, items: &[Value], path: &str, out: &mut Vec<FieldError>) {
    for (i, x) in items.iter().enumerate() {
        if !x.is_null() && !x.is_object() {
            out.push(FieldError::invalid(
                format!("{path}[{i}]"),
                field_value(x),
                "must be an object for an array of list-type map",
            ));
            return;
        }
    }
    let key_fields: Vec<&str> = su::array_of(s, "x-kubernetes-list-map-keys")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let keys: Vec<Value> = items
        .iter()
        .map(|x| {
            let mut key = Map::new();
            for f in &key_fields {
                if let Some(v) = x.get(*f) {
                    key.insert((*f).to_string(), v.clone());
                }
            }
            Value::Object(key)
        })
        .collect();
    for i in non_unique(&keys) {
        out.push(FieldError::duplicate(
            format!("{path}[{i}]"),
            sharp_v(&keys[i]),
        ));
    }
}
