//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`)
//! turned into the JSON object a JSON client would have sent.
//!
//! kubectl 1.32's typed clients (`kubectl create deployment|service|…`) POST
//! protobuf and never fall back to JSON, so the apiserver has to read it.
//! The body is the 4-byte magic `k8s\0` followed by a `runtime.Unknown`
//! envelope whose `raw` field holds the object encoded per upstream
//! `generated.proto`. Instead of generated code, a descriptor table (field
//! number → JSON name, type, Go cardinality) drives one generic converter.
//!
//! Go's gogo encoder writes every non-pointer field, zero or not, while
//! encoding/json with `omitempty` drops them; so zero values of non-pointer
//! fields (and messages left empty by that rule) are dropped, and pointer
//! fields are kept whatever their value (`replicas: 0`, `emptyDir: {}`).
//! Fields the tables do not know are skipped, as a newer client may send them.
//!
//! **Architecture Invariant:** the descriptor graph is acyclic, and only
//! length-delimited payloads recurse, so decoding depth is bounded by the
//! schema; `MAX_DEPTH` is a second line of defence.

mod corev1;
mod desc;
mod meta;
mod wire;
mod workloads;

#[cfg(test)]
mod tests;

use base64::Engine as _;
use serde_json::{Map, Value};

use desc::{Card, Field, Msg, Ty};
use wire::Reader;

/// Media type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Prefix of every Kubernetes protobuf document.
const MAGIC: &[u8] = b"k8s\0";

/// Far deeper than any Kubernetes type nests (a Pod spec is under 15).
const MAX_DEPTH: usize = 64;

/// Why a protobuf body could not be decoded. Every variant is the client's
/// fault, so each message is worded for a 400 BadRequest, except
/// [`ProtoError::UnsupportedKind`], which fits 415 UnsupportedMediaType.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    #[error("protobuf body does not start with the Kubernetes magic prefix \"k8s\\x00\"")]
    BadMagic,
    #[error("malformed protobuf body{}: {what}", at(.path))]
    Malformed {
        /// JSON path of the offending field, e.g. `spec.template.spec.containers[0].name`.
        path: String,
        what: Malformed,
    },
    #[error("protobuf body does not name its apiVersion and kind")]
    MissingTypeMeta,
    #[error("protobuf body carries no object")]
    MissingObject,
    #[error("protobuf decoding is not supported for kind {kind:?} in {api_version:?}")]
    UnsupportedKind { api_version: String, kind: String },
    #[error("unsupported protobuf envelope encoding {0:?}")]
    UnsupportedEncoding(String),
}

/// What was wrong at the place named by [`ProtoError::Malformed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("unexpected end of data")]
    Truncated,
    #[error("varint longer than 64 bits")]
    VarintOverflow,
    #[error("invalid field number {0}")]
    FieldNumber(u64),
    #[error("unsupported wire type {0}")]
    WireType(u8),
    #[error("wire type {0} does not match the field's type")]
    TypeMismatch(u8),
    #[error("string is not valid UTF-8")]
    Utf8,
    #[error("embedded JSON is invalid: {0}")]
    Json(String),
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    }
}

impl From<Malformed> for ProtoError {
    fn from(what: Malformed) -> Self {
        ProtoError::Malformed {
            path: String::new(),
            what,
        }
    }
}

impl ProtoError {
    /// Prefixes the path of a malformed-field error while it unwinds through
    /// an enclosing field (`seg` is a field name, or `[i]` for an element).
    fn within(self, seg: &str) -> Self {
        match self {
            ProtoError::Malformed { path, what } if !seg.is_empty() => {
                let path = if path.is_empty() {
                    seg.to_string()
                } else if path.starts_with('[') {
                    format!("{seg}{path}")
                } else {
                    format!("{seg}.{path}")
                };
                ProtoError::Malformed { path, what }
            }
            other => other,
        }
    }
}

/// Decodes a `k8s\0`-prefixed `runtime.Unknown` into the JSON object a JSON
/// client would have sent, `kind` and `apiVersion` first.
///
/// # Errors
///
/// [`ProtoError`] when the body is not a well-formed Kubernetes protobuf
/// document, or names a kind without a descriptor here.
pub fn decode(body: &[u8]) -> Result<Value, ProtoError> {
    let envelope = body.strip_prefix(MAGIC).ok_or(ProtoError::BadMagic)?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: Option<&[u8]> = None;
    let mut content_encoding = String::new();
    let mut content_type = String::new();
    let mut r = Reader::new(envelope);
    while let Some((num, val)) = r.field()? {
        let name = match num {
            1 => "typeMeta",
            2 => "raw",
            3 => "contentEncoding",
            4 => "contentType",
            _ => continue,
        };
        let bytes = len_payload(val).map_err(|e| e.within(name))?;
        match num {
            1 => {
                let tm = decode_message(bytes, &meta::TYPE_META, 1).map_err(|e| e.within(name))?;
                api_version = str_of(&tm, "apiVersion");
                kind = str_of(&tm, "kind");
            }
            2 => raw = Some(bytes),
            3 => content_encoding = utf8(bytes).map_err(|e| e.within(name))?,
            _ => content_type = utf8(bytes).map_err(|e| e.within(name))?,
        }
    }
    if api_version.is_empty() || kind.is_empty() {
        return Err(ProtoError::MissingTypeMeta);
    }
    // Go always writes `raw` (an empty object is a zero-length `raw`), so
    // its absence means the body was cut short between envelope fields.
    let raw = raw.ok_or(ProtoError::MissingObject)?;
    if !content_encoding.is_empty() {
        return Err(ProtoError::UnsupportedEncoding(content_encoding));
    }
    let mut out = Map::new();
    out.insert("kind".into(), Value::String(kind.clone()));
    out.insert("apiVersion".into(), Value::String(api_version.clone()));
    let body = if content_type.is_empty() || content_type.starts_with(CONTENT_TYPE) {
        let Some(msg) = message_for(&api_version, &kind) else {
            return Err(ProtoError::UnsupportedKind { api_version, kind });
        };
        decode_message(raw, msg, 1)?
    } else if content_type.starts_with("application/json") {
        // An envelope may legally carry JSON; take it as the client wrote it.
        match serde_json::from_slice(raw) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(Malformed::Json("not an object".into()).into()),
            Err(e) => return Err(Malformed::Json(e.to_string()).into()),
        }
    } else {
        return Err(ProtoError::UnsupportedEncoding(content_type));
    };
    for (k, v) in body {
        if k != "kind" && k != "apiVersion" {
            out.insert(k, v);
        }
    }
    Ok(Value::Object(out))
}

/// The top-level message for a kind, or `None` when it has no descriptor.
fn message_for(api_version: &str, kind: &str) -> Option<&'static Msg> {
    use corev1 as c;
    use workloads as w;
    let msg = match (api_version, kind) {
        ("v1", "Pod") => &c::POD,
        ("v1", "Service") => &c::SERVICE,
        ("v1", "Namespace") => &c::NAMESPACE,
        ("v1", "ConfigMap") => &c::CONFIG_MAP,
        ("v1", "Secret") => &c::SECRET,
        ("v1", "ServiceAccount") => &c::SERVICE_ACCOUNT,
        ("v1", "Endpoints") => &c::ENDPOINTS,
        ("v1", "Event") => &c::EVENT,
        ("v1", "PodTemplate") => &c::POD_TEMPLATE,
        ("v1", "ReplicationController") => &c::REPLICATION_CONTROLLER,
        ("v1", "ResourceQuota") => &c::RESOURCE_QUOTA,
        ("apps/v1", "Deployment") => &w::DEPLOYMENT,
        ("apps/v1", "ReplicaSet") => &w::REPLICA_SET,
        ("apps/v1", "DaemonSet") => &w::DAEMON_SET,
        ("apps/v1", "ControllerRevision") => &w::CONTROLLER_REVISION,
        ("batch/v1", "Job") => &w::JOB,
        ("batch/v1", "CronJob") => &w::CRON_JOB,
        ("discovery.k8s.io/v1", "EndpointSlice") => &w::ENDPOINT_SLICE,
        ("coordination.k8s.io/v1", "Lease") => &w::LEASE,
        _ => return None,
    };
    Some(msg)
}

// === generic converter ===

fn decode_message(
    buf: &[u8],
    msg: &'static Msg,
    depth: usize,
) -> Result<Map<String, Value>, ProtoError> {
    let mut out = Map::new();
    decode_into(buf, msg, &mut out, depth)?;
    Ok(out)
}

/// Decodes `buf` as `msg`, adding its fields to `out` (shared with the
/// parent when `msg` is an inlined Go struct).
fn decode_into(
    buf: &[u8],
    msg: &'static Msg,
    out: &mut Map<String, Value>,
    depth: usize,
) -> Result<(), ProtoError> {
    if depth > MAX_DEPTH {
        return Err(Malformed::TooDeep.into());
    }
    let mut r = Reader::new(buf);
    while let Some((num, val)) = r.field()? {
        let Some(field) = msg.fields.iter().find(|f| f.num == num) else {
            continue;
        };
        decode_field(field, val, out, depth).map_err(|e| e.within(field.name))?;
    }
    Ok(())
}

fn decode_field(
    field: &Field,
    val: wire::Value<'_>,
    out: &mut Map<String, Value>,
    depth: usize,
) -> Result<(), ProtoError> {
    let name = field.name;
    match (field.card, field.ty) {
        (Card::Rep, ty) => {
            let list = out.entry(name).or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = list else {
                // Only reachable if a table names two fields alike.
                return Ok(());
            };
            match (val, is_varint_scalar(ty)) {
                (wire::Value::Len(packed), true) => {
                    let mut r = Reader::new(packed);
                    while !r.is_empty() {
                        let v = r
                            .varint()
                            .map_err(|e| ProtoError::from(e).within(&index(items.len())))?;
                        items.push(scalar(ty, v));
                    }
                }
                _ => {
                    let at = index(items.len());
                    let v = decode_value(ty, val, depth).map_err(|e| e.within(&at))?;
                    items.push(v.unwrap_or(Value::Null));
                }
            }
        }
        (_, Ty::Inline(inner)) => {
            decode_into(len_payload(val)?, inner, out, depth + 1)?;
        }
        (_, Ty::Map(value_ty)) => {
            let (k, v) = decode_map_entry(len_payload(val)?, value_ty, depth + 1)?;
            let map = out.entry(name).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = map {
                map.insert(k, v);
            }
        }
        (card, ty) => match decode_value(ty, val, depth)? {
            // A singular message seen twice merges into the first, as protobuf
            // specifies (shallowly here: clients never split a message).
            Some(Value::Object(new)) if matches!(ty, Ty::Msg(_)) => {
                let slot = out.entry(name).or_insert_with(|| Value::Object(Map::new()));
                match slot {
                    Value::Object(old) => old.extend(new),
                    other => *other = Value::Object(new),
                }
                if card == Card::Plain && out.get(name).is_some_and(|v| is_zero(ty, v)) {
                    out.shift_remove(name);
                }
            }
            Some(v) if card == Card::Ptr || !is_zero(ty, &v) => {
                out.insert(name.to_string(), v);
            }
            // Scalars: the last occurrence wins, even a zero one.
            _ => {
                out.shift_remove(name);
            }
        },
    }
    Ok(())
}

/// The JSON value of one field occurrence; `None` for a zero `Time`, which
/// Go writes as an empty message and JSON as `null`.
fn decode_value(ty: Ty, val: wire::Value<'_>, depth: usize) -> Result<Option<Value>, ProtoError> {
    let v = match ty {
        Ty::I32 | Ty::I64 | Ty::Bool => match val {
            wire::Value::Varint(v) => scalar(ty, v),
            other => return Err(Malformed::TypeMismatch(other.wire_type()).into()),
        },
        Ty::Str => Value::String(utf8(len_payload(val)?)?),
        Ty::Bytes => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(len_payload(val)?))
        }
        Ty::Msg(m) | Ty::Inline(m) => {
            Value::Object(decode_message(len_payload(val)?, m, depth + 1)?)
        }
        Ty::Map(value_ty) => {
            let (k, v) = decode_map_entry(len_payload(val)?, value_ty, depth + 1)?;
            Value::Object(Map::from_iter([(k, v)]))
        }
        Ty::Time => {
            let bytes = len_payload(val)?;
            if bytes.is_empty() {
                return Ok(None);
            }
            let (secs, _) = timestamp(bytes)?;
            Value::String(crate::meta::rfc3339(secs))
        }
        Ty::MicroTime => {
            let bytes = len_payload(val)?;
            if bytes.is_empty() {
                return Ok(None);
            }
            let (secs, nanos) = timestamp(bytes)?;
            let micros = secs.saturating_mul(1_000_000).saturating_add(nanos / 1_000);
            Value::String(crate::meta::rfc3339_micros(micros))
        }
        Ty::IntOrStr => int_or_string(len_payload(val)?)?,
        Ty::Qty => {
            let mut s = String::new();
            let mut r = Reader::new(len_payload(val)?);
            while let Some((num, v)) = r.field()? {
                if num == 1 {
                    s = utf8(len_payload(v)?)?;
                }
            }
            Value::String(s)
        }
        Ty::Raw | Ty::FieldsV1 => {
            let mut raw: &[u8] = &[];
            let mut r = Reader::new(len_payload(val)?);
            while let Some((num, v)) = r.field()? {
                if num == 1 {
                    raw = len_payload(v)?;
                }
            }
            if raw.is_empty() {
                return Ok(None);
            }
            serde_json::from_slice(raw).map_err(|e| Malformed::Json(e.to_string()))?
        }
    };
    Ok(Some(v))
}

fn decode_map_entry(
    buf: &[u8],
    value_ty: &Ty,
    depth: usize,
) -> Result<(String, Value), ProtoError> {
    let mut key = String::new();
    let mut value = None;
    let mut r = Reader::new(buf);
    while let Some((num, v)) = r.field()? {
        match num {
            1 => key = utf8(len_payload(v)?)?,
            2 => value = Some(decode_value(*value_ty, v, depth).map_err(|e| e.within(&key))?),
            _ => {}
        }
    }
    // A missing value is the Go zero value of the map's element type.
    let value = match value.flatten() {
        Some(v) => v,
        None => match value_ty {
            Ty::Qty => Value::String("0".into()),
            Ty::Msg(_) => Value::Object(Map::new()),
            Ty::Str | Ty::Bytes => Value::String(String::new()),
            _ => Value::Null,
        },
    };
    Ok((key, value))
}

/// `meta.v1.Time`/`MicroTime` share the wire shape of `Timestamp`.
fn timestamp(buf: &[u8]) -> Result<(i64, i64), ProtoError> {
    let (mut secs, mut nanos) = (0i64, 0i64);
    let mut r = Reader::new(buf);
    while let Some((num, v)) = r.field()? {
        match (num, v) {
            (1, wire::Value::Varint(s)) => secs = s as i64,
            (2, wire::Value::Varint(n)) => nanos = i64::from(n as i32),
            (1 | 2, other) => return Err(Malformed::TypeMismatch(other.wire_type()).into()),
            _ => {}
        }
    }
    Ok((secs, nanos))
}

/// `IntOrString {1: type (0 int, 1 string), 2: intVal, 3: strVal}`.
fn int_or_string(buf: &[u8]) -> Result<Value, ProtoError> {
    let (mut is_string, mut int_val, mut str_val) = (false, 0i64, String::new());
    let mut r = Reader::new(buf);
    while let Some((num, v)) = r.field()? {
        match (num, v) {
            (1, wire::Value::Varint(t)) => is_string = t == 1,
            (2, wire::Value::Varint(i)) => int_val = i64::from(i as i32),
            (3, wire::Value::Len(s)) => str_val = utf8(s).map_err(|e| e.within("strVal"))?,
            (1..=3, other) => return Err(Malformed::TypeMismatch(other.wire_type()).into()),
            _ => {}
        }
    }
    Ok(if is_string {
        Value::String(str_val)
    } else {
        Value::from(int_val)
    })
}

/// What encoding/json would have omitted for a non-pointer field.
fn is_zero(ty: Ty, v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        // A zero `resource.Quantity` prints as "0".
        Value::String(s) => s.is_empty() || matches!(ty, Ty::Qty) && s == "0",
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
    }
}

fn is_varint_scalar(ty: Ty) -> bool {
    matches!(ty, Ty::I32 | Ty::I64 | Ty::Bool)
}

/// Varints carry int32 sign-extended to 64 bits, so truncation restores it.
fn scalar(ty: Ty, v: u64) -> Value {
    match ty {
        Ty::Bool => Value::Bool(v != 0),
        Ty::I32 => Value::from(v as i32),
        _ => Value::from(v as i64),
    }
}

fn len_payload(val: wire::Value<'_>) -> Result<&[u8], ProtoError> {
    match val {
        wire::Value::Len(b) => Ok(b),
        other => Err(Malformed::TypeMismatch(other.wire_type()).into()),
    }
}

fn utf8(b: &[u8]) -> Result<String, ProtoError> {
    String::from_utf8(b.to_vec()).map_err(|_| Malformed::Utf8.into())
}

fn str_of(m: &Map<String, Value>, key: &str) -> String {
    m.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn index(i: usize) -> String {
    format!("[{i}]")
}
