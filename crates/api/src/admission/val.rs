//! Lenient accessors over JSON objects. A field of the wrong JSON type reads
//! as absent: a typed decode upstream would have rejected the body before
//! validation, and the apiserver does that check elsewhere.

use serde_json::{Map, Value};

/// The field if present and not null.
pub(crate) fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

pub(crate) fn has(v: &Value, key: &str) -> bool {
    get(v, key).is_some()
}

/// String field, `""` when absent (Go zero value).
pub(crate) fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn opt_s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub(crate) fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

/// Integer field, 0 when absent (Go zero value).
pub(crate) fn int0(v: &Value, key: &str) -> i64 {
    int(v, key).unwrap_or(0)
}

pub(crate) fn boolean(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

pub(crate) fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(crate) fn obj<'a>(v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}

/// `v[a][b]...` or Null.
pub(crate) fn path<'a>(v: &'a Value, keys: &[&str]) -> &'a Value {
    static NULL: Value = Value::Null;
    let mut cur = v;
    for k in keys {
        match cur.get(k) {
            Some(x) => cur = x,
            None => return &NULL,
        }
    }
    cur
}

/// String-valued map entries (labels, annotations, selectors) in object order.
pub(crate) fn str_map(v: Option<&Map<String, Value>>) -> Vec<(&str, &str)> {
    v.map(|m| {
        m.iter()
            .map(|(k, x)| (k.as_str(), x.as_str().unwrap_or("")))
            .collect()
    })
    .unwrap_or_default()
}

/// Set `key` when it is absent or null.
pub(crate) fn set_default(m: &mut Map<String, Value>, key: &str, val: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.to_string(), val);
    }
}

/// The object at `key`, created as `{}` when absent or null. None when the
/// field holds something other than an object.
pub(crate) fn ensure_obj<'a>(
    m: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.to_string(), Value::Object(Map::new()));
    }
    m.get_mut(key).and_then(Value::as_object_mut)
}

/// Mutable access to each object element of the array at `key`.
pub(crate) fn each_obj_mut<'a>(
    m: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    m.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|a| a.iter_mut())
        .filter_map(Value::as_object_mut)
}

/// Zero-valued for defaulting purposes: absent, null, 0, "" (Go `== 0`).
pub(crate) fn is_zero(m: &Map<String, Value>, key: &str) -> bool {
    match m.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Bool(b)) => !b,
        Some(_) => false,
    }
}
