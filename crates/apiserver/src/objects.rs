//! Object metadata rules shared by every verb: uid, names, generation,
//! resourceVersion injection, status ownership.

use rand::Rng;
use serde_json::{json, Map, Value};

use api::registry::Resource;

use crate::error::{ApiError, ApiResult};

/// Alphabet of generated name suffixes (no vowels, no confusable characters).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// `metadata` as a mutable map, created if missing or not an object.
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        // Unreachable: just set above.
        _ => unreachable_meta(),
    }
}

#[allow(clippy::panic)]
fn unreachable_meta() -> ! {
    panic!("metadata was just set to an object")
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    meta(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub fn name(obj: &Value) -> Option<&str> {
    meta_str(obj, "name")
}

pub fn new_uid() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `generateName` + 5 random characters, prefix cut to keep the name valid.
pub fn generate_name(prefix: &str) -> String {
    let mut rng = rand::rng();
    let cut: String = prefix.chars().take(58).collect();
    let suffix: String = (0..5)
        .map(|_| NAME_ALPHABET[rng.random_range(0..NAME_ALPHABET.len())] as char)
        .collect();
    format!("{cut}{suffix}")
}

/// Kinds whose `metadata.generation` tracks spec changes.
pub fn has_generation(res: &Resource) -> bool {
    res.custom || matches!(res.group.as_str(), "apps" | "apiextensions.k8s.io")
}

/// Kinds whose status is written only through `/status`.
pub fn has_status_subresource(res: &Resource) -> bool {
    res.subresources.iter().any(|s| s == "status")
}

/// Should an update bump the generation? Spec changes for built-ins (plus
/// annotation changes for Deployments); anything outside metadata and status
/// for custom resources.
pub fn generation_changed(res: &Resource, old: &Value, new: &Value) -> bool {
    if res.custom {
        let strip = |v: &Value| -> Value {
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("metadata");
                m.remove("status");
            }
            v
        };
        return strip(old) != strip(new);
    }
    if old.get("spec") != new.get("spec") {
        return true;
    }
    res.group == "apps"
        && res.kind == "Deployment"
        && meta(old).and_then(|m| m.get("annotations"))
            != meta(new).and_then(|m| m.get("annotations"))
}

/// Parse stored bytes and set `metadata.resourceVersion` from the revision.
pub fn decode_stored(bytes: &[u8], rev: i64) -> ApiResult<Value> {
    let mut v: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::internal(format!("decoding stored object: {e}")))?;
    meta_mut(&mut v).insert("resourceVersion".into(), json!(rev.to_string()));
    Ok(v)
}

/// Serialise for the store: the resourceVersion is the store's revision, not
/// data. `apiVersion`, `kind` and `metadata` go first so reads can splice the
/// revision in without parsing (see [`splice_rv`]).
pub fn encode_for_store(obj: &Value) -> ApiResult<Vec<u8>> {
    let mut out = Map::new();
    if let Some(m) = obj.as_object() {
        for k in ["apiVersion", "kind", "metadata"] {
            if let Some(v) = m.get(k) {
                out.insert(k.to_string(), v.clone());
            }
        }
        for (k, v) in m {
            if !out.contains_key(k) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    let mut v = Value::Object(out);
    meta_mut(&mut v).remove("resourceVersion");
    serde_json::to_vec(&v).map_err(|e| ApiError::internal(format!("encoding object: {e}")))
}

/// Length of the JSON string starting at `b[0] == '"'`, quotes included.
fn json_string_len(b: &[u8]) -> Option<usize> {
    if b.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The stored bytes with `metadata.resourceVersion` inserted, without a
/// parse: only for the layout [`encode_for_store`] writes
/// (`{"apiVersion":"…","kind":"…","metadata":{…`); `None` otherwise.
pub fn splice_rv(bytes: &[u8], rev: i64) -> Option<Vec<u8>> {
    let mut i = 0;
    for key in [&b"{\"apiVersion\":"[..], b",\"kind\":"] {
        if !bytes[i..].starts_with(key) {
            return None;
        }
        i += key.len();
        i += json_string_len(&bytes[i..])?;
    }
    let meta = b",\"metadata\":{";
    if !bytes[i..].starts_with(meta) {
        return None;
    }
    i += meta.len();
    let rv = format!("\"resourceVersion\":\"{rev}\"");
    let mut out = Vec::with_capacity(bytes.len() + rv.len() + 1);
    out.extend_from_slice(&bytes[..i]);
    out.extend_from_slice(rv.as_bytes());
    if bytes.get(i) != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(&bytes[i..]);
    Some(out)
}

/// Labels map of an object.
pub fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    meta(obj)
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
}

/// A client-supplied resourceVersion, as an integer precondition.
pub fn client_rv(obj: &Value) -> ApiResult<Option<i64>> {
    match meta_str(obj, "resourceVersion") {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s}"))),
    }
}

/// Deep-merge helper for status-only writes: the old object with `status` from `new`.
pub fn with_status_of(old: &Value, new: &Value) -> Value {
    let mut out = old.clone();
    match new.get("status") {
        Some(s) => out["status"] = s.clone(),
        None => {
            if let Some(m) = out.as_object_mut() {
                m.remove("status");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uids() {
        let n = generate_name("web-7c5ddbdf54-");
        assert_eq!(n.len(), "web-7c5ddbdf54-".len() + 5);
        assert!(n[15..].bytes().all(|c| NAME_ALPHABET.contains(&c)));
        let long = "a".repeat(70);
        assert_eq!(generate_name(&long).len(), 63);
        let u = new_uid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn splice_matches_parse() {
        let obj = json!({"spec": {"metadata": {"x": 1}}, "metadata": {"name": "a\\\"b", "resourceVersion": "9"}, "kind": "K", "apiVersion": "v1"});
        let bytes = encode_for_store(&obj).expect("encode");
        let spliced: Value =
            serde_json::from_slice(&splice_rv(&bytes, 42).expect("splice")).expect("json");
        assert_eq!(spliced, decode_stored(&bytes, 42).expect("decode"));
        let empty = encode_for_store(&json!({"apiVersion": "v1", "kind": "K", "metadata": {}}))
            .expect("encode");
        let v: Value =
            serde_json::from_slice(&splice_rv(&empty, 7).expect("splice")).expect("json");
        assert_eq!(v["metadata"]["resourceVersion"], "7");
        assert!(splice_rv(br#"{"kind":"K","apiVersion":"v1","metadata":{}}"#, 1).is_none());
    }

    #[test]
    fn generation_rules() {
        let reg = api::registry::builtins();
        let d = reg
            .iter()
            .find(|r| r.kind == "Deployment")
            .expect("deployment");
        let p = reg.iter().find(|r| r.kind == "Pod").expect("pod");
        let a = json!({"metadata": {"annotations": {"a": "1"}}, "spec": {"replicas": 1}, "status": {"x": 1}});
        let b = json!({"metadata": {"annotations": {"a": "2"}}, "spec": {"replicas": 1}, "status": {"x": 2}});
        assert!(generation_changed(d, &a, &b));
        assert!(!generation_changed(p, &a, &b));
        assert!(has_generation(d) && !has_generation(p));
    }
}
