//! Read-only accessors over an `openAPIV3Schema` node held as JSON.

use serde_json::{Map, Value};

use super::gofmt::Num;

pub const PRESERVE: &str = "x-kubernetes-preserve-unknown-fields";
pub const EMBEDDED: &str = "x-kubernetes-embedded-resource";
pub const INT_OR_STRING: &str = "x-kubernetes-int-or-string";

/// Field `key` under the dotted `path`; the root has no leading dot.
pub fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub fn flag(s: &Value, key: &str) -> bool {
    s.get(key).and_then(Value::as_bool).unwrap_or(false)
}

pub fn str_of<'a>(s: &'a Value, key: &str) -> Option<&'a str> {
    s.get(key).and_then(Value::as_str)
}

pub fn int_of(s: &Value, key: &str) -> Option<i64> {
    let v = s.get(key)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

pub fn num_of(s: &Value, key: &str) -> Option<Num> {
    s.get(key).and_then(Num::of)
}

pub fn array_of<'a>(s: &'a Value, key: &str) -> &'a [Value] {
    s.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub fn properties(s: &Value) -> Option<&Map<String, Value>> {
    s.get("properties").and_then(Value::as_object)
}

pub fn property<'a>(s: &'a Value, key: &str) -> Option<&'a Value> {
    properties(s)?.get(key)
}

pub fn items(s: &Value) -> Option<&Value> {
    s.get("items").filter(|i| i.is_object())
}

/// What `additionalProperties` says about keys that are not `properties`.
pub enum Additional<'a> {
    /// Not set: such keys are unknown fields.
    Absent,
    /// `true`: any value is kept as is.
    Any,
    /// A schema for every such value.
    Schema(&'a Value),
}

pub fn additional(s: &Value) -> Additional<'_> {
    match s.get("additionalProperties") {
        Some(Value::Bool(true)) => Additional::Any,
        Some(v @ Value::Object(_)) => Additional::Schema(v),
        _ => Additional::Absent,
    }
}

/// The schema that applies to `key` of an object, if any.
pub fn schema_for_key<'a>(s: &'a Value, key: &str) -> Option<&'a Value> {
    if let Some(p) = property(s, key) {
        return Some(p);
    }
    match additional(s) {
        Additional::Schema(a) => Some(a),
        _ => None,
    }
}

/// The types a value may have: `x-kubernetes-int-or-string` widens to both.
pub fn types(s: &Value) -> Vec<&str> {
    if flag(s, INT_OR_STRING) {
        return vec!["integer", "string"];
    }
    match str_of(s, "type") {
        Some(t) if !t.is_empty() => vec![t],
        _ => Vec::new(),
    }
}

fn is_int_string_pair(alts: &[Value]) -> bool {
    let only_type = |v: &Value, t: &str| {
        v.as_object()
            .is_some_and(|o| o.len() == 1 && o.get("type").and_then(Value::as_str) == Some(t))
    };
    alts.len() == 2 && only_type(&alts[0], "integer") && only_type(&alts[1], "string")
}

/// `anyOf: [{type: integer}, {type: string}]`, the sanctioned int-or-string form.
pub fn is_int_or_string_any_of(s: &Value) -> bool {
    is_int_string_pair(array_of(s, "anyOf"))
}

/// `allOf: [{anyOf: [{type: integer}, {type: string}]}, ...]`.
pub fn is_int_or_string_all_of(s: &Value) -> bool {
    array_of(s, "allOf")
        .first()
        .is_some_and(|first| is_int_string_pair(array_of(first, "anyOf")))
}
