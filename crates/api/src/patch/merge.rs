//! RFC 7386 JSON merge patch, following `evanphx/json-patch` v4 where it refines the RFC:
//! a value that lands where the target had nothing (or a non-object) has its `null` object
//! members pruned, and `null` array elements are kept.

use serde_json::{Map, Value};

pub(crate) fn merge_patch(target: &Value, patch: &Value) -> Value {
    match (target, patch) {
        (Value::Object(doc), Value::Object(p)) => {
            let mut doc = doc.clone();
            merge_docs(&mut doc, p);
            Value::Object(doc)
        }
        (_, Value::Object(_)) | (_, Value::Array(_)) => pruned(patch.clone()),
        _ => patch.clone(),
    }
}

fn merge_docs(doc: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, pv) in patch {
        if pv.is_null() {
            doc.shift_remove(k);
            continue;
        }
        let merged = match doc.get_mut(k) {
            Some(Value::Object(cur)) => match pv {
                Value::Object(p) => {
                    merge_docs(cur, p);
                    continue;
                }
                // A non-object patch replaces the object as-is.
                other => other.clone(),
            },
            // Absent, null or not an object: the patch value is taken with its nulls pruned.
            _ => pruned(pv.clone()),
        };
        doc.insert(k.clone(), merged);
    }
}

/// Drops `null` object members at every depth; `null` array elements stay.
fn pruned(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, pruned(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(pruned).collect()),
        other => other,
    }
}
