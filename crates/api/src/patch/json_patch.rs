//! RFC 6902 JSON patch with the pointer rules of `evanphx/json-patch` v4, which the apiserver
//! uses: negative array indices count from the end, `-` appends, and a path that does not start
//! with `/` has its first segment ignored.

use serde_json::Value;

use super::PatchError;
use crate::crd::gofmt;

/// Upstream refuses patches with more operations than this (`maxJSONPatchOperations`).
const MAX_OPERATIONS: usize = 10_000;

/// Why a JSON patch failed; the detail of `Apply` is kept for logs and tests only, because the
/// apiserver answers every failed operation with the same generic 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The body is not a list of operation objects.
    BadRequest(String),
    TooLarge(usize),
    /// An operation did not apply.
    Apply(String),
}

impl Failure {
    pub(crate) fn into_patch_error(self) -> PatchError {
        match self {
            Failure::BadRequest(msg) => PatchError::bad_request(msg),
            Failure::TooLarge(n) => PatchError::too_large(format!(
                "The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {n}"
            )),
            Failure::Apply(_) => PatchError::unprocessable(),
        }
    }
}

pub(crate) fn apply(target: &Value, ops: &Value) -> Result<Value, Failure> {
    let ops = decode(ops)?;
    if ops.len() > MAX_OPERATIONS {
        return Err(Failure::TooLarge(ops.len()));
    }
    let mut doc = target.clone();
    for op in ops {
        apply_op(&mut doc, op).map_err(Failure::Apply)?;
    }
    Ok(doc)
}

/// Mirrors decoding the body into `[]map[string]*json.RawMessage`: `null` is an empty patch and
/// a `null` operation is an operation without fields.
fn decode(ops: &Value) -> Result<&[Value], Failure> {
    let items = match ops {
        Value::Null => return Ok(&[]),
        Value::Array(items) => items,
        other => {
            return Err(Failure::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                gofmt::json_kind(other)
            )))
        }
    };
    if let Some(bad) = items.iter().find(|op| !op.is_object() && !op.is_null()) {
        return Err(Failure::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            gofmt::json_kind(bad)
        )));
    }
    Ok(items)
}

fn apply_op(doc: &mut Value, op: &Value) -> Result<(), String> {
    let kind = match op.get("op") {
        Some(Value::String(s)) => s.as_str(),
        _ => "unknown",
    };
    // A missing `value` decodes to a nil node, which upstream writes out as `null`.
    let value = op.get("value").cloned().unwrap_or(Value::Null);
    match kind {
        "add" => {
            let path = field(op, "path", "add operation failed to decode path")?;
            add(doc, path, value)
                .map_err(|e| e.describe("add", path, "doc is missing path: ", true))
        }
        "remove" => {
            let path = field(op, "path", "remove operation failed to decode path")?;
            remove(doc, path)
                .map(|_| ())
                .map_err(|e| e.describe("remove", path, "doc is missing path: ", true))
        }
        "replace" => {
            let path = field(op, "path", "replace operation failed to decode path")?;
            let slot = lookup(doc, path)
                .map_err(|e| e.describe("replace", path, "doc is missing path: ", false))?;
            *slot = value;
            Ok(())
        }
        "move" => {
            let from = field(op, "from", "move operation failed to decode from")?;
            let moved = remove(doc, from)
                .map_err(|e| e.describe("move", from, "doc is missing from path: ", false))?;
            let path = field(op, "path", "move operation failed to decode path")?;
            add(doc, path, moved)
                .map_err(|e| e.describe("move", path, "doc is missing destination path: ", false))
        }
        "copy" => {
            let from = field(op, "from", "copy operation failed to decode from")?;
            let copied = lookup(doc, from)
                .map_err(|e| e.describe("copy", from, "doc is missing from path: ", false))?
                .clone();
            let path = field(op, "path", "copy operation failed to decode path")?;
            add(doc, path, copied)
                .map_err(|e| e.describe("copy", path, "doc is missing destination path: ", false))
        }
        "test" => {
            let path = field(op, "path", "test operation failed to decode path")?;
            let current = lookup(doc, path)
                .map_err(|e| e.describe("test", path, "is missing path: ", false))?;
            if *current == value {
                Ok(())
            } else {
                Err(format!("testing value {path} failed: test failed"))
            }
        }
        other => Err(format!("Unexpected kind: {other}")),
    }
}

fn field<'a>(op: &'a Value, name: &str, context: &str) -> Result<&'a str, String> {
    match op.get(name) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(format!("{context}: missing value")),
    }
}

/// Where a pointer failed: its parent container could not be reached, or the last segment
/// does not name an existing member/index.
enum Miss {
    Path,
    Key(String),
}

impl Miss {
    fn describe(self, op: &str, path: &str, missing_path: &str, quoted: bool) -> String {
        match self {
            Miss::Path if quoted => {
                format!("{op} operation does not apply: {missing_path}\"{path}\": missing value")
            }
            Miss::Path => {
                format!("{op} operation does not apply: {missing_path}{path}: missing value")
            }
            Miss::Key(detail) => format!("error in {op} for path: '{path}': {detail}"),
        }
    }
}

/// Splits a pointer into its decoded parent segments and final segment.
fn split(path: &str) -> Option<(Vec<String>, String)> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 2 {
        return None;
    }
    let last = parts.len() - 1;
    let parents = parts[1..last].iter().map(|p| unescape(p)).collect();
    Some((parents, unescape(parts[last])))
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Resolves an array index for reading: `strconv.Atoi` syntax, negative counts from the end.
fn index(key: &str, len: usize) -> Result<usize, String> {
    let idx: i64 = key.parse().map_err(|_| {
        format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            crate::errors::quote(key)
        )
    })?;
    let len = len as i64;
    let resolved = if idx < 0 { idx + len } else { idx };
    if resolved < 0 || resolved >= len {
        return Err(format!(
            "Unable to access invalid index: {idx}: invalid index referenced"
        ));
    }
    Ok(resolved as usize)
}

/// The container (object or array) holding the pointer's last segment.
fn container<'a>(doc: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), Miss> {
    let (parents, key) = split(path).ok_or(Miss::Path)?;
    let mut cur = doc;
    for part in &parents {
        let next = match cur {
            Value::Object(map) => map.get_mut(part.as_str()),
            Value::Array(items) => {
                let len = items.len();
                index(part, len).ok().and_then(|i| items.get_mut(i))
            }
            _ => None,
        };
        cur = match next {
            Some(v @ (Value::Object(_) | Value::Array(_))) => v,
            _ => return Err(Miss::Path),
        };
    }
    Ok((cur, key))
}

fn lookup<'a>(doc: &'a mut Value, path: &str) -> Result<&'a mut Value, Miss> {
    let (parent, key) = container(doc, path)?;
    match parent {
        Value::Object(map) => map.get_mut(key.as_str()).ok_or_else(|| {
            Miss::Key(format!(
                "unable to get nonexistent key: {key}: missing value"
            ))
        }),
        Value::Array(items) => {
            let i = index(&key, items.len()).map_err(Miss::Key)?;
            items.get_mut(i).ok_or(Miss::Path)
        }
        _ => Err(Miss::Path),
    }
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), Miss> {
    let (parent, key) = container(doc, path)?;
    match parent {
        Value::Object(map) => {
            map.insert(key, value);
            Ok(())
        }
        Value::Array(items) => {
            if key == "-" {
                items.push(value);
                return Ok(());
            }
            let idx: i64 = key
                .parse()
                .map_err(|_| Miss::Key(format!("value was not a proper array index: '{key}'")))?;
            // Inserting may address one past the end, so negatives count from `len + 1`.
            let slots = items.len() as i64 + 1;
            let resolved = if idx < 0 { idx + slots } else { idx };
            if resolved < 0 || resolved >= slots {
                return Err(Miss::Key(format!(
                    "Unable to access invalid index: {idx}: invalid index referenced"
                )));
            }
            items.insert(resolved as usize, value);
            Ok(())
        }
        _ => Err(Miss::Path),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, Miss> {
    let (parent, key) = container(doc, path)?;
    match parent {
        Value::Object(map) => map.shift_remove(key.as_str()).ok_or_else(|| {
            Miss::Key(format!(
                "Unable to remove nonexistent key: {key}: missing value"
            ))
        }),
        Value::Array(items) => {
            let i = index(&key, items.len()).map_err(Miss::Key)?;
            Ok(items.remove(i))
        }
        _ => Err(Miss::Path),
    }
}
