//! Static checks of a CRD version's `openAPIV3Schema`: the OpenAPI subset
//! apiextensions accepts, the structural-schema invariants
//! (`pkg/apiserver/schema/validation.go`), list/map-type extensions, patterns,
//! and that every `default` validates against its own schema.

use serde_json::Value;

use super::gofmt::{field_value, sharp_v_strings};
use super::regex::{Regex, RegexError};
use super::schema_util::{self as su, EMBEDDED, INT_OR_STRING, PRESERVE};
use super::{object, value};
use crate::errors::{quote, FieldError};

const OPENAPI_TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// All errors for one schema; `path` is e.g. `spec.versions[0].schema.openAPIV3Schema`.
pub fn validate_schema(s: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    standard(s, path, &mut errs);
    let mut structural = Vec::new();
    invariants(s, Level::Root, path, &mut structural);
    // Upstream sorts structural errors by their text so the order is stable.
    structural.sort_by_key(|e| e.to_string());
    errs.extend(structural);
    if errs.is_empty() {
        defaults(s, path, &mut errs);
    }
    errs
}

fn key(path: &str, k: &str) -> String {
    format!("{path}.properties[{k}]")
}

fn sub(path: &str, k: &str) -> String {
    format!("{path}.{k}")
}

/// Every sub-schema of `s` with its path: properties, additionalProperties,
/// items, and the junctors.
fn children<'a>(s: &'a Value, path: &str) -> Vec<(&'a Value, String)> {
    let mut out = Vec::new();
    if let Some(props) = su::properties(s) {
        for (k, v) in props {
            out.push((v, key(path, k)));
        }
    }
    if let Some(a) = s.get("additionalProperties").filter(|a| a.is_object()) {
        out.push((a, sub(path, "additionalProperties")));
    }
    if let Some(i) = su::items(s) {
        out.push((i, sub(path, "items")));
    }
    for j in ["allOf", "anyOf", "oneOf"] {
        for (i, v) in su::array_of(s, j).iter().enumerate() {
            out.push((v, format!("{path}.{j}[{i}]")));
        }
    }
    if let Some(n) = s.get("not") {
        out.push((n, sub(path, "not")));
    }
    out
}

/// The OpenAPI subset apiextensions supports, checked on every node.
fn standard(s: &Value, path: &str, out: &mut Vec<FieldError>) {
    if !s.is_object() {
        out.push(FieldError::invalid(
            path,
            field_value(s),
            "must be a JSON schema object",
        ));
        return;
    }
    let unsupported = [
        ("id", "id is not supported"),
        ("$schema", "$schema is not supported"),
        ("$ref", "$ref is not supported"),
        ("additionalItems", "additionalItems is not supported"),
        ("patternProperties", "patternProperties is not supported"),
        ("definitions", "definitions is not supported"),
        ("dependencies", "dependencies is not supported"),
    ];
    for (k, msg) in unsupported {
        if s.get(k).is_some_and(|v| !v.is_null()) {
            out.push(FieldError::forbidden(sub(path, k), msg));
        }
    }
    match s.get("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t.is_empty() => {}
        Some(Value::String(t)) if t == "null" => {
            out.push(FieldError::forbidden(
                sub(path, "type"),
                "type cannot be set to null",
            ));
        }
        Some(Value::String(t)) if !OPENAPI_TYPES.contains(&t.as_str()) => {
            out.push(FieldError::not_supported(
                sub(path, "type"),
                quote(t),
                &OPENAPI_TYPES,
            ));
        }
        Some(Value::String(_)) => {}
        Some(other) => out.push(FieldError::invalid(
            sub(path, "type"),
            field_value(other),
            "must be a string",
        )),
    }
    if s.get("items").is_some_and(Value::is_array) {
        out.push(FieldError::forbidden(
            sub(path, "items"),
            "items must be a schema object and not an array",
        ));
    }
    if su::flag(s, "uniqueItems") {
        out.push(FieldError::forbidden(
            sub(path, "uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(false)) => out.push(FieldError::forbidden(
            sub(path, "additionalProperties"),
            "additionalProperties cannot be set to false",
        )),
        Some(Value::Object(_)) if su::properties(s).is_some_and(|p| !p.is_empty()) => {
            out.push(FieldError::forbidden(
                sub(path, "additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        _ => {}
    }
    if s.get(PRESERVE) == Some(&Value::Bool(false)) {
        out.push(FieldError::invalid(
            sub(path, PRESERVE),
            "false",
            "must be true or undefined",
        ));
    }
    if let Some(pattern) = su::str_of(s, "pattern") {
        if let Err(RegexError::Invalid(e)) = Regex::new(pattern) {
            out.push(FieldError::invalid(
                sub(path, "pattern"),
                quote(pattern),
                format!("must be a valid regular expression, but isn't: {e}"),
            ));
        }
    }
    list_and_map_types(s, path, out);
    for (c, p) in children(s, path) {
        standard(c, &p, out);
    }
}

fn list_and_map_types(s: &Value, path: &str, out: &mut Vec<FieldError>) {
    let list_type = su::str_of(s, "x-kubernetes-list-type");
    let map_keys: Vec<String> = su::array_of(s, "x-kubernetes-list-map-keys")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let lt_path = sub(path, "x-kubernetes-list-type");
    let mk_path = sub(path, "x-kubernetes-list-map-keys");
    if let Some(lt) = list_type {
        if !["atomic", "set", "map"].contains(&lt) {
            out.push(FieldError::not_supported(
                lt_path.clone(),
                quote(lt),
                &["atomic", "set", "map"],
            ));
        }
    }
    if !map_keys.is_empty() {
        match list_type {
            None => out.push(FieldError::required(
                lt_path.clone(),
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
            Some("map") => {}
            Some(lt) => out.push(FieldError::invalid(
                lt_path.clone(),
                quote(lt),
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
        }
    }
    if list_type == Some("map") {
        if map_keys.is_empty() {
            out.push(FieldError::required(
                mk_path.clone(),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        match su::items(s) {
            None => out.push(FieldError::required(
                sub(path, "items"),
                "must have a schema if x-kubernetes-list-type is map",
            )),
            Some(items) => {
                let it = su::str_of(items, "type").unwrap_or("");
                if it != "object" {
                    out.push(FieldError::invalid(
                        format!("{path}.items.type"),
                        quote(it),
                        "must be object if parent array's x-kubernetes-list-type is map",
                    ));
                } else {
                    let mut seen: Vec<&str> = Vec::new();
                    for k in &map_keys {
                        match su::property(items, k) {
                            Some(p) => {
                                let pt = su::str_of(p, "type").unwrap_or("");
                                if pt == "array" || pt == "object" {
                                    out.push(FieldError::invalid(
                                        format!("{}.type", key(&sub(path, "items"), k)),
                                        quote(it),
                                        "must be a scalar type if parent array's x-kubernetes-list-type is map",
                                    ));
                                }
                            }
                            None => out.push(FieldError::invalid(
                                mk_path.clone(),
                                sharp_v_strings(&map_keys),
                                "entries must all be names of item properties",
                            )),
                        }
                        if seen.contains(&k.as_str()) {
                            out.push(FieldError::invalid(
                                mk_path.clone(),
                                sharp_v_strings(&map_keys),
                                "must not contain duplicate entries",
                            ));
                        }
                        seen.push(k);
                    }
                }
            }
        }
    }
    if list_type == Some("set") {
        if let Some(items) = su::items(s) {
            match su::str_of(items, "type") {
                Some("array") => {
                    if let Some(ilt) = su::str_of(items, "x-kubernetes-list-type") {
                        if ilt != "atomic" {
                            out.push(FieldError::invalid(
                                format!("{path}.items.x-kubernetes-list-type"),
                                quote(ilt),
                                "must be atomic as item of a list with x-kubernetes-list-type=set",
                            ));
                        }
                    }
                }
                Some("object") => {
                    let mt = su::str_of(items, "x-kubernetes-map-type");
                    if mt != Some("atomic") {
                        out.push(FieldError::invalid(
                            format!("{path}.items.x-kubernetes-map-type"),
                            mt.map(quote).unwrap_or_else(|| "null".into()),
                            "must be atomic as item of a list with x-kubernetes-list-type=set",
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(mt) = su::str_of(s, "x-kubernetes-map-type") {
        if !["granular", "atomic"].contains(&mt) {
            out.push(FieldError::not_supported(
                sub(path, "x-kubernetes-map-type"),
                quote(mt),
                &["granular", "atomic"],
            ));
        }
    }
}

/// `validateStructuralInvariants`.
fn invariants(s: &Value, lvl: Level, path: &str, out: &mut Vec<FieldError>) {
    if !s.is_object() {
        return;
    }
    let ty = su::str_of(s, "type").unwrap_or("");
    let embedded = su::flag(s, EMBEDDED);
    let preserve = su::flag(s, PRESERVE);
    let int_or_string = su::flag(s, INT_OR_STRING);
    if ty == "array" && su::items(s).is_none() {
        out.push(FieldError::required(
            sub(path, "items"),
            "must be specified",
        ));
    }
    if let Some(items) = su::items(s) {
        invariants(items, Level::Item, &sub(path, "items"), out);
    }
    if let Some(props) = su::properties(s) {
        for (k, v) in props {
            invariants(v, Level::Field, &key(path, k), out);
        }
    }
    let additional = s.get("additionalProperties").filter(|a| !a.is_null());
    if let Some(a) = additional {
        if lvl == Level::Root {
            out.push(FieldError::forbidden(
                sub(path, "additionalProperties"),
                "must not be used at the root",
            ));
        }
        if a.is_object() {
            invariants(a, Level::Field, &sub(path, "additionalProperties"), out);
        }
    }
    if int_or_string && preserve {
        out.push(FieldError::invalid(
            sub(path, PRESERVE),
            "true",
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if int_or_string && embedded {
        out.push(FieldError::invalid(
            sub(path, EMBEDDED),
            "true",
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    value_validation(s, lvl, path, out);

    let check_metadata = lvl == Level::Root || embedded;
    if embedded && ty != "object" {
        let msg = "must be object if x-kubernetes-embedded-resource is true";
        if ty.is_empty() {
            out.push(FieldError::required(sub(path, "type"), msg));
        } else {
            out.push(FieldError::invalid(sub(path, "type"), quote(ty), msg));
        }
    } else if ty.is_empty() && !int_or_string && !preserve {
        let msg = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        out.push(FieldError::required(sub(path, "type"), msg));
    }
    if embedded && additional.is_some() {
        out.push(FieldError::forbidden(
            sub(path, "additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !ty.is_empty() && ty != "object" {
        out.push(FieldError::invalid(
            sub(path, "type"),
            quote(ty),
            "must be object at the root",
        ));
    }
    if check_metadata {
        for k in ["kind", "apiVersion"] {
            if let Some(p) = su::property(s, k) {
                let pt = su::str_of(p, "type").unwrap_or("");
                if pt != "string" {
                    out.push(FieldError::invalid(
                        format!("{}.type", key(path, k)),
                        quote(pt),
                        "must be string",
                    ));
                }
            }
        }
    }
    if let Some(meta) = su::property(s, "metadata") {
        metadata_invariants(meta, check_metadata, lvl, &key(path, "metadata"), out);
    }
    if embedded && !preserve && su::properties(s).is_none_or(|p| p.is_empty()) {
        out.push(FieldError::required(
            sub(path, "properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

/// At the root, `metadata` may only restrict `name` and `generateName`.
fn metadata_invariants(
    meta: &Value,
    check_metadata: bool,
    lvl: Level,
    path: &str,
    out: &mut Vec<FieldError>,
) {
    let ty = su::str_of(meta, "type").unwrap_or("");
    if check_metadata && ty != "object" {
        out.push(FieldError::invalid(
            sub(path, "type"),
            quote(ty),
            "must be object",
        ));
    }
    if lvl != Level::Root {
        return;
    }
    let Some(obj) = meta.as_object() else {
        return;
    };
    let only_names = |v: &Value| {
        v.as_object()
            .is_some_and(|p| p.keys().all(|k| k == "name" || k == "generateName"))
    };
    let extra = obj.iter().any(|(k, v)| match k.as_str() {
        "type" | "default" => false,
        "properties" => !only_names(v),
        _ => !is_zero(v),
    });
    if extra {
        out.push(FieldError::forbidden(
            path,
            "must not specify anything other than name and generateName, but metadata is implicitly specified",
        ));
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

/// The junctors of a structural node: they may only add value validations.
fn value_validation(s: &Value, lvl: Level, path: &str, out: &mut Vec<FieldError>) {
    let skip_any_of = su::is_int_or_string_any_of(s);
    let skip_first_all_of_any_of = su::is_int_or_string_all_of(s);
    junctors(s, skip_any_of, skip_first_all_of_any_of, lvl, path, out);
}

fn junctors(
    s: &Value,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    lvl: Level,
    path: &str,
    out: &mut Vec<FieldError>,
) {
    if !skip_any_of {
        for (i, v) in su::array_of(s, "anyOf").iter().enumerate() {
            nested(v, false, lvl, &format!("{path}.anyOf[{i}]"), out);
        }
    }
    for (i, v) in su::array_of(s, "allOf").iter().enumerate() {
        let skip = skip_first_all_of_any_of && i == 0;
        nested(v, skip, lvl, &format!("{path}.allOf[{i}]"), out);
    }
    for (i, v) in su::array_of(s, "oneOf").iter().enumerate() {
        nested(v, false, lvl, &format!("{path}.oneOf[{i}]"), out);
    }
    if let Some(n) = s.get("not") {
        nested(n, false, lvl, &sub(path, "not"), out);
    }
}

/// `validateNestedValueValidation`: inside a junctor nothing structural may appear.
fn nested(s: &Value, skip_any_of: bool, lvl: Level, path: &str, out: &mut Vec<FieldError>) {
    if !s.is_object() {
        return;
    }
    junctors(s, skip_any_of, false, lvl, path, out);
    if let Some(items) = su::items(s) {
        nested(items, false, lvl, &sub(path, "items"), out);
    }
    if let Some(props) = su::properties(s) {
        for (k, v) in props {
            nested(v, false, Level::Field, &key(path, k), out);
        }
    }
    let forbid = |k: &str, msg: &str, out: &mut Vec<FieldError>| {
        out.push(FieldError::forbidden(sub(path, k), msg));
    };
    if su::str_of(s, "type").is_some_and(|t| !t.is_empty()) {
        forbid("type", "must be empty to be structural", out);
    }
    if s.get("additionalProperties").is_some_and(|a| !a.is_null()) {
        forbid(
            "additionalProperties",
            "must be undefined to be structural",
            out,
        );
    }
    if s.get("default").is_some_and(|d| !d.is_null()) {
        forbid("default", "must be undefined to be structural", out);
    }
    if su::str_of(s, "title").is_some_and(|t| !t.is_empty()) {
        forbid("title", "must be empty to be structural", out);
    }
    if su::str_of(s, "description").is_some_and(|t| !t.is_empty()) {
        forbid("description", "must be empty to be structural", out);
    }
    if su::flag(s, "nullable") {
        forbid("nullable", "must be false to be structural", out);
    }
    if s.get("externalDocs").is_some_and(|d| !d.is_null()) {
        forbid("externalDocs", "must be undefined to be structural", out);
    }
    for k in [PRESERVE, EMBEDDED, INT_OR_STRING] {
        if su::flag(s, k) {
            forbid(k, "must be false to be structural", out);
        }
    }
    if !su::array_of(s, "x-kubernetes-list-map-keys").is_empty() {
        forbid(
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
            out,
        );
    }
    for k in ["x-kubernetes-list-type", "x-kubernetes-map-type"] {
        if s.get(k).is_some_and(|v| !v.is_null()) {
            forbid(k, "must be undefined to be structural", out);
        }
    }
    if !su::array_of(s, "x-kubernetes-validations").is_empty() {
        forbid(
            "x-kubernetes-validations",
            "must be empty to be structural",
            out,
        );
    }
    if su::property(s, "metadata").is_some() {
        out.push(FieldError::forbidden(
            key(path, "metadata"),
            "must not be specified in a nested context",
        ));
    }
}

/// Every `default` must be pruned already and valid against its own schema. It
/// is validated like an object rooted at the defaulted field, so messages read
/// ` in body must be ...`, and the error path is appended with `.` even for an
/// index, as `field.Path.Child` does.
fn defaults(s: &Value, path: &str, out: &mut Vec<FieldError>) {
    if !s.is_object() {
        return;
    }
    if let Some(d) = s.get("default").filter(|d| !d.is_null()) {
        let base = sub(path, "default");
        if object::prune_changes(s, d) {
            out.push(FieldError::invalid(
                base.clone(),
                field_value(d),
                "must not have unknown fields",
            ));
        }
        let mut errs = Vec::new();
        value::validate(s, d, "", &mut errs);
        for mut e in errs {
            e.field = if e.field.is_empty() {
                base.clone()
            } else {
                format!("{base}.{}", e.field)
            };
            out.push(e);
        }
    }
    // additionalProperties is not followed: upstream does not either.
    if let Some(i) = su::items(s) {
        defaults(i, &sub(path, "items"), out);
    }
    if let Some(props) = su::properties(s) {
        for (k, v) in props {
            defaults(v, &key(path, k), out);
        }
    }
}
