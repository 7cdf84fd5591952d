//! Applying a strategic merge patch (the server half of apimachinery's `strategicpatch`).
//!
//! The algorithm follows upstream step for step, including its ordering rules: without
//! `$setElementOrder`, items named by the patch keep the patch's order and are interleaved with
//! the server-only items by their original positions, so a brand-new item lands *before* the
//! remaining server-only items; `$setElementOrder` then imposes its order on the named items.
//!
//! Upstream leaves stray directives and `null`s in values it copies verbatim and relies on the
//! typed decode that follows to drop them; there is no typed decode here, so such values are
//! cleaned the same way before they are stored.

use serde_json::{Map, Value};

use super::schema::{FieldMeta, Strategy, Ty};
use super::PatchError;
use crate::crd::gofmt;

type Object = Map<String, Value>;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

// apimachinery's mergepatch sentinel errors.
const ERR_BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const ERR_BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
const ERR_BAD_SET_ORDER: &str = "invalid patch format of setElementOrder list";
const ERR_LIST_OF_LISTS: &str = "lists of lists are not supported";

const GO_SLICE: &str = "[]interface {}";
const GO_MAP: &str = "map[string]interface {}";

/// A failed merge, classified the way `interpretStrategicMergePatchError` maps it to HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SmpError {
    /// A sentinel upstream answers with 400 `BadRequest`.
    BadRequest(&'static str),
    /// A sentinel upstream answers with a generic 422.
    Unprocessable(&'static str),
    /// Any other error: upstream lets it through as a plain 500.
    Other(String),
}

type Result<T> = std::result::Result<T, SmpError>;

impl SmpError {
    fn into_patch_error(self) -> PatchError {
        match self {
            SmpError::BadRequest(msg) => PatchError::bad_request(msg),
            SmpError::Unprocessable(_) => PatchError::unprocessable(),
            SmpError::Other(msg) => PatchError::internal(msg),
        }
    }
}

fn no_merge_key(map: &Object, key: &str) -> SmpError {
    SmpError::Other(format!(
        "map: {} does not contain declared merge key: {key}",
        gofmt::v(&Value::Object(map.clone()))
    ))
}

fn bad_arg_type(expected: &str, actual: &Value) -> SmpError {
    SmpError::Other(format!(
        "expected a {expected}, but received a {}",
        gofmt::type_name(actual)
    ))
}

fn bad_patch_type(directive: &Value, map: &Object) -> SmpError {
    SmpError::Other(format!(
        "unknown patch type: {} in map: {}",
        gofmt::s(directive),
        gofmt::v(&Value::Object(map.clone()))
    ))
}

pub(crate) fn apply(
    root: Ty,
    original: &Value,
    patch: &Value,
) -> std::result::Result<Value, PatchError> {
    let patch = match patch {
        Value::Object(p) => p.clone(),
        // Decoding `null` into a map yields an empty patch.
        Value::Null => return Ok(original.clone()),
        other => {
            return Err(PatchError::bad_request(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                gofmt::json_kind(other)
            )))
        }
    };
    let original = match original {
        Value::Object(m) => m.clone(),
        _ => Object::new(),
    };
    merge_map(original, patch, root)
        .map(Value::Object)
        .map_err(SmpError::into_patch_error)
}

// === maps ===

fn merge_map(mut original: Object, mut patch: Object, ty: Ty) -> Result<Object> {
    if let Some(directive) = patch.get(DIRECTIVE).cloned() {
        return directive_in_map(&directive, patch);
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_ordered_lists(&mut original, &mut patch, ty)?;

    for (key, patch_value) in patch {
        let (key, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            let field = extract_key(&key, DELETE_FROM_PRIMITIVE_LIST)
                .ok_or(SmpError::BadRequest(ERR_BAD_PRIMITIVE_LIST))?;
            (field, true)
        } else {
            (key, false)
        };

        if patch_value.is_null() {
            original.shift_remove(&key);
            continue;
        }

        let same_type = original
            .get(&key)
            .map(|current| gofmt::type_name(current) == gofmt::type_name(&patch_value));
        if same_type != Some(true) {
            // Absent, or replaced by a value of another type. A deletion list for a field that
            // is not there has nothing to delete.
            if !is_delete_list {
                match added(patch_value) {
                    Some(v) => {
                        original.insert(key, v);
                    }
                    None => {
                        original.shift_remove(&key);
                    }
                }
            }
            continue;
        }

        let meta = ty.field(&key);
        let Some(slot) = original.get_mut(&key) else {
            continue;
        };
        *slot = match (slot.take(), patch_value) {
            (Value::Object(current), Value::Object(p)) => {
                if meta.strategy == Strategy::Replace {
                    strip(Value::Object(p))
                } else {
                    Value::Object(merge_map(current, p, meta.ty)?)
                }
            }
            (Value::Array(current), Value::Array(p)) => {
                Value::Array(merge_list_field(current, p, meta, is_delete_list)?)
            }
            (_, scalar) => scalar,
        };
    }
    Ok(original)
}

/// `$patch` inside a map: `replace` takes the rest of the patch map as the new value, `delete`
/// leaves an empty map (upstream does not remove the field itself).
fn directive_in_map(directive: &Value, mut patch: Object) -> Result<Object> {
    match directive.as_str() {
        Some("replace") => {
            patch.shift_remove(DIRECTIVE);
            match strip(Value::Object(patch)) {
                Value::Object(m) => Ok(m),
                _ => Ok(Object::new()),
            }
        }
        Some("delete") => Ok(Object::new()),
        _ => Err(bad_patch_type(directive, &patch)),
    }
}

/// `$retainKeys`: every non-null field the patch sets must be listed, and fields of the
/// original that are not listed are dropped before merging.
fn apply_retain_keys(original: &mut Object, patch: &mut Object) -> Result<()> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(list) = retain else {
        return Err(SmpError::BadRequest(ERR_BAD_RETAIN_KEYS));
    };
    let keep: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !keep.contains(&k.as_str()) {
            return Err(SmpError::BadRequest(ERR_BAD_RETAIN_KEYS));
        }
    }
    original.retain(|k, _| keep.contains(&k.as_str()));
    Ok(())
}

/// Handles every `$setElementOrder/<field>` of this map together with `<field>` itself, which is
/// then removed from the patch so the main loop does not merge it again.
fn merge_ordered_lists(original: &mut Object, patch: &mut Object, ty: Ty) -> Result<()> {
    let order_keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for order_key in order_keys {
        let Some(order) = patch.shift_remove(&order_key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(bad_arg_type(GO_SLICE, &order));
        };
        let key = extract_key(&order_key, SET_ELEMENT_ORDER)
            .ok_or(SmpError::BadRequest(ERR_BAD_SET_ORDER))?;
        let original_list = list_field(original, &key)?;
        let patch_list = list_field(patch, &key)?;
        let meta = ty.field(&key);

        validate_with_order(
            patch_list.as_deref().unwrap_or_default(),
            &order,
            meta.merge_key,
        )?;

        let server_order = original_list.clone().unwrap_or_default();
        let patch_items = patch_list.clone().unwrap_or_default();
        let merged = match (original_list, patch_list) {
            (Some(current), None) => current,
            (None, Some(p)) => p.into_iter().filter_map(added).collect(),
            (Some(current), Some(p)) => merge_list_field(current, p, meta, false)?,
            (None, None) => continue,
        };
        let (named, server_only) = partition(merged, &order, meta.merge_key)?;
        let is_map = element_kind(&[&server_order, &patch_items])?;
        let ordered = normalize_element_order(
            named,
            server_only,
            &order,
            &server_order,
            meta.merge_key,
            is_map,
        )?;
        original.insert(key.clone(), Value::Array(ordered));
        patch.shift_remove(&key);
    }
    Ok(())
}

fn list_field(map: &Object, key: &str) -> Result<Option<Vec<Value>>> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items.clone())),
        Some(other) => Err(bad_arg_type(GO_SLICE, other)),
    }
}

/// The field name after `<prefix>/`.
fn extract_key(key: &str, prefix: &str) -> Option<String> {
    match key.split_once('/') {
        Some((head, rest)) if head == prefix => Some(rest.to_string()),
        _ => None,
    }
}

/// The patch list must name its (non-deleted) items in the same relative order as the
/// `$setElementOrder` list does.
fn validate_with_order(
    patch_list: &[Value],
    order: &[Value],
    merge_key: Option<&str>,
) -> Result<()> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let named: Vec<&Value> = if merge_key.is_some() {
        let mut named = Vec::new();
        for item in patch_list {
            let Value::Object(m) = item else {
                return Err(bad_arg_type(GO_MAP, item));
            };
            if !is_delete_item(m) {
                named.push(item);
            }
        }
        named
    } else {
        patch_list.iter().collect()
    };
    let (mut pi, mut oi) = (0, 0);
    while pi < named.len() && oi < order.len() {
        if matches!(named[pi], Value::Object(m) if m.contains_key(DIRECTIVE)) {
            pi += 1;
            continue;
        }
        if merge_key_equal(named[pi], &order[oi], merge_key)? {
            pi += 1;
        }
        oi += 1;
    }
    if pi < named.len() && oi >= order.len() {
        return Err(SmpError::Other(format!(
            "the order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}",
            gofmt::v(&Value::Array(patch_list.to_vec())),
            gofmt::v(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}

fn is_delete_item(item: &Object) -> bool {
    item.get(DIRECTIVE).and_then(Value::as_str) == Some("delete")
}

fn merge_key_equal(left: &Value, right: &Value, merge_key: Option<&str>) -> Result<bool> {
    let Some(key) = merge_key else {
        return Ok(left == right);
    };
    let Value::Object(l) = left else {
        return Err(bad_arg_type(GO_MAP, left));
    };
    let Value::Object(r) = right else {
        return Err(bad_arg_type(GO_MAP, right));
    };
    let lv = l.get(key).ok_or_else(|| no_merge_key(l, key))?;
    let rv = r.get(key).ok_or_else(|| no_merge_key(r, key))?;
    Ok(lv == rv)
}

// === lists ===

fn merge_list_field(
    current: Vec<Value>,
    patch: Vec<Value>,
    meta: FieldMeta,
    is_delete_list: bool,
) -> Result<Vec<Value>> {
    // Deletion lists apply whatever the field's strategy is.
    if meta.strategy == Strategy::Merge || is_delete_list {
        merge_list(current, patch, meta, is_delete_list)
    } else {
        Ok(patch.into_iter().map(strip).collect())
    }
}

fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: FieldMeta,
    is_delete_list: bool,
) -> Result<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let is_map = element_kind(&[&original, &patch])?;

    let (merged, server_order, patch_order) = if !is_map {
        if is_delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(patch.iter()) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        (merged, original, patch)
    } else {
        let Some(key) = meta.merge_key else {
            return Err(SmpError::Other(format!(
                "cannot merge lists without merge key for {:?}",
                meta.ty
            )));
        };
        let (original, patch) = apply_list_directives(original, patch, key)?;
        let merged = merge_items(original.clone(), &patch, key, meta.ty)?;
        (merged, original, patch)
    };

    let (named, server_only) = partition(merged, &patch_order, meta.merge_key)?;
    normalize_element_order(
        named,
        server_only,
        &patch_order,
        &server_order,
        meta.merge_key,
        is_map,
    )
}

/// Handles the `$patch` items of a list of maps: `delete` removes every original item with that
/// key, `replace` makes the remaining patch items the whole list.
fn apply_list_directives(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let directive = match &item {
            Value::Object(m) => m.get(DIRECTIVE).cloned().map(|d| (d, m)),
            _ => None,
        };
        let Some((directive, map)) = directive else {
            plain.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let value = map.get(key).ok_or_else(|| no_merge_key(map, key))?;
                while let Some(i) = find_by_key(&original, key, value)? {
                    original.remove(i);
                }
            }
            // Keep scanning: other directives in the list are still dropped.
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(SmpError::Other(
                    "merging lists cannot yet be specified in the patch".to_string(),
                ))
            }
            _ => return Err(bad_patch_type(&directive, map)),
        }
    }
    if replace {
        Ok((plain.into_iter().map(strip).collect(), Vec::new()))
    } else {
        Ok((original, plain))
    }
}

/// Merges each patch item into the original item with the same merge key, or appends it.
fn merge_items(mut original: Vec<Value>, patch: &[Value], key: &str, ty: Ty) -> Result<Vec<Value>> {
    for item in patch {
        let Value::Object(p) = item else {
            return Err(bad_arg_type(GO_MAP, item));
        };
        let value = p.get(key).ok_or_else(|| no_merge_key(p, key))?;
        match find_by_key(&original, key, value)? {
            Some(i) => {
                let current = match original[i].take() {
                    Value::Object(m) => m,
                    _ => Object::new(),
                };
                original[i] = Value::Object(merge_map(current, p.clone(), ty)?);
            }
            None => {
                if let Some(v) = added(item.clone()) {
                    original.push(v);
                }
            }
        }
    }
    Ok(original)
}

/// The first item whose `key` equals `value`; every item scanned must be a map.
fn find_by_key(items: &[Value], key: &str, value: &Value) -> Result<Option<usize>> {
    for (i, item) in items.iter().enumerate() {
        let Value::Object(m) = item else {
            return Err(SmpError::Other(format!("value for key {i} is not a map")));
        };
        if m.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Whether the lists hold maps; all items must share one Go type and none may be a list.
fn element_kind(lists: &[&Vec<Value>]) -> Result<bool> {
    let mut first: Option<&Value> = None;
    for item in lists.iter().flat_map(|l| l.iter()) {
        match first {
            None => {
                if item.is_array() {
                    return Err(SmpError::Unprocessable(ERR_LIST_OF_LISTS));
                }
                first = Some(item);
            }
            Some(f) if gofmt::type_name(f) != gofmt::type_name(item) => {
                let all = Value::Array(lists.iter().map(|l| Value::Array(l.to_vec())).collect());
                return Err(SmpError::Other(format!(
                    "list element types are not identical: {}",
                    gofmt::v(&all)
                )));
            }
            Some(_) => {}
        }
    }
    match first {
        Some(v) => Ok(v.is_object()),
        None => Err(SmpError::Other(
            "no elements in any of the given slices".to_string(),
        )),
    }
}

/// Splits `items` into those named by `by` (by merge key, or by value for scalars) and the rest.
fn partition(
    items: Vec<Value>,
    by: &[Value],
    merge_key: Option<&str>,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut named = Vec::new();
    let mut rest = Vec::new();
    for item in items {
        let is_named = match merge_key {
            None => by.contains(&item),
            Some(key) => {
                let Value::Object(m) = &item else {
                    return Err(bad_arg_type(GO_MAP, &item));
                };
                let value = m.get(key).ok_or_else(|| no_merge_key(m, key))?;
                find_by_key(by, key, value)?.is_some()
            }
        };
        if is_named {
            named.push(item);
        } else {
            rest.push(item);
        }
    }
    Ok((named, rest))
}

/// Sorts the named items by `patch_order` and the server-only items by `server_order`, then
/// interleaves them: a server-only item goes first only when both it and the next named item
/// have original positions and its position is earlier.
fn normalize_element_order(
    named: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: Option<&str>,
    is_map: bool,
) -> Result<Vec<Value>> {
    let named = sort_by_order(named, patch_order, merge_key, is_map)?;
    let server_only = sort_by_order(server_only, server_order, merge_key, is_map)?;

    let position = |item: &Value| position_in(server_order, item, merge_key, is_map);
    let mut out = Vec::with_capacity(named.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = named.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                matches!((position(l), position(r)), (Some(li), Some(ri)) if li < ri)
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    Ok(out)
}

fn sort_by_order(
    items: Vec<Value>,
    order: &[Value],
    merge_key: Option<&str>,
    is_map: bool,
) -> Result<Vec<Value>> {
    let mut deleted = Vec::new();
    let mut items = if is_map {
        let key = merge_key.unwrap_or("");
        for item in items.iter().chain(order.iter()) {
            let Value::Object(m) = item else {
                return Err(bad_arg_type(GO_MAP, item));
            };
            if !m.contains_key(key) {
                return Err(no_merge_key(m, key));
            }
        }
        let (delete, keep): (Vec<Value>, Vec<Value>) = items
            .into_iter()
            .partition(|v| matches!(v, Value::Object(m) if is_delete_item(m)));
        deleted = delete;
        keep
    } else {
        items
    };
    items.sort_by_key(|item| position_in(order, item, merge_key, is_map).unwrap_or(usize::MAX));
    items.extend(deleted);
    Ok(items)
}

/// Index of `item` in `list`, comparing merge-key values for maps and whole values otherwise.
fn position_in(
    list: &[Value],
    item: &Value,
    merge_key: Option<&str>,
    is_map: bool,
) -> Option<usize> {
    let key_of = |v: &'_ Value| -> Option<Value> {
        if is_map {
            v.as_object()
                .and_then(|m| m.get(merge_key.unwrap_or("")))
                .cloned()
        } else {
            Some(v.clone())
        }
    };
    let wanted = key_of(item);
    list.iter().position(|v| key_of(v) == wanted)
}

// === cleaning copied values ===

fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// A patch value taken where the original had nothing comparable: `null` members are dropped,
/// maps carrying `$patch` vanish (upstream's `removeDirectives`), and other directive keys are
/// dropped. `None` when the value itself is a `$patch` map.
fn added(value: Value) -> Option<Value> {
    match value {
        Value::Object(m) => {
            if m.get(DIRECTIVE).is_some_and(|d| !d.is_null()) {
                return None;
            }
            Some(Value::Object(
                m.into_iter()
                    .filter(|(k, v)| !v.is_null() && !is_directive_key(k))
                    .filter_map(|(k, v)| added(v).map(|v| (k, v)))
                    .collect(),
            ))
        }
        Value::Array(items) => Some(Value::Array(items.into_iter().filter_map(added).collect())),
        other => Some(other),
    }
}

/// A patch value upstream copies verbatim: what its typed decode keeps, i.e. without `null`
/// members and directive keys.
fn strip(value: Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, v)| !v.is_null() && !is_directive_key(k))
                .map(|(k, v)| (k, strip(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip).collect()),
        other => other,
    }
}
