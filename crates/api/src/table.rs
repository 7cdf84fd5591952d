//! Server-side printing: the `meta.k8s.io/v1` Table columns and cells that
//! kube-apiserver produces (pkg/printers/internalversion for built-in kinds,
//! the registry's default Name/Created At convertor for everything else, and
//! the apiextensions convertor for CRD `additionalPrinterColumns`).
//!
//! The server always prints the wide form; kubectl hides `priority > 0`
//! columns unless `-o wide` is asked for, so every cell list here has exactly
//! as many entries as its column list.

mod builtin;
mod custom;
mod descriptions;
mod format;
mod jsonpath;
mod pod;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::meta::{parse_rfc3339, rfc3339};

/// One `columnDefinitions` entry of a Table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i32,
}

impl Column {
    fn new(name: &str, type_: &str, description: &str) -> Column {
        Column {
            name: name.to_string(),
            type_: type_.to_string(),
            format: String::new(),
            description: description.to_string(),
            priority: 0,
        }
    }

    /// The primary `Name` column every printer starts with.
    fn name() -> Column {
        Column::new("Name", "string", descriptions::META_NAME).format("name")
    }

    /// The `Age` column: a human duration since creation.
    fn age() -> Column {
        Column::new("Age", "string", descriptions::META_CREATED)
    }

    fn format(mut self, format: &str) -> Column {
        self.format = format.to_string();
        self
    }

    /// Columns shown only with `-o wide`.
    fn wide(mut self) -> Column {
        self.priority = 1;
        self
    }
}

/// Column set for a built-in (group, kind); the default convertor's
/// Name / Created At pair for anything else.
pub fn columns(group: &str, kind: &str) -> Vec<Column> {
    match builtin::printer(group, kind) {
        Some(p) => (p.columns)(),
        None => default_columns(),
    }
}

/// Cells for one object, same length as [`columns`]; strings or integers
/// exactly as upstream types them.
pub fn cells(group: &str, kind: &str, obj: &Value, now_unix: i64) -> Vec<Value> {
    match builtin::printer(group, kind) {
        Some(p) => (p.cells)(obj, now_unix),
        None => default_cells(obj),
    }
}

/// The row `conditions` upstream attaches: pods that ran to completion are
/// marked `Completed` so clients can de-emphasise them. Empty for everything else.
pub fn row_conditions(group: &str, kind: &str, obj: &Value) -> Vec<Value> {
    if !group.is_empty() || kind != "Pod" {
        return Vec::new();
    }
    let (reason, message) = match obj.pointer("/status/phase").and_then(Value::as_str) {
        Some("Succeeded") => ("Succeeded", "The pod has completed successfully."),
        Some("Failed") => ("Failed", "The pod failed."),
        _ => return Vec::new(),
    };
    vec![serde_json::json!({
        "type": "Completed",
        "status": "True",
        "reason": reason,
        "message": message,
    })]
}

/// CRD `additionalPrinterColumns` of the served version: Name first, then the
/// CRD's columns, or a single Age column when none are declared.
pub fn crd_columns(printer_columns: &[Value]) -> Vec<Column> {
    custom::columns(printer_columns)
}

/// Cells for one custom resource, same length as [`crd_columns`]; a column
/// whose path finds nothing is `null`.
pub fn crd_cells(printer_columns: &[Value], obj: &Value, now_unix: i64) -> Vec<Value> {
    custom::cells(printer_columns, obj, now_unix)
}

/// apimachinery's `duration.HumanDuration`: about two significant figures.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".to_string();
    }
    if secs < 0 {
        return "0s".to_string();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Age cell from `metadata.creationTimestamp` (`<unknown>` when absent).
pub fn age(obj: &Value, now_unix: i64) -> String {
    since(obj.pointer("/metadata/creationTimestamp"), now_unix)
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) as Unix seconds: upstream
/// treats it like an unset timestamp.
const ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// A timestamp field as Unix seconds; `None` when unset, unparsable or zero,
/// which is what `metav1.Time.IsZero()` sees.
fn timestamp(v: Option<&Value>) -> Option<i64> {
    v.and_then(Value::as_str)
        .and_then(parse_rfc3339)
        .filter(|&t| t != ZERO_TIME_UNIX)
}

/// `translateTimestampSince`: human duration since a timestamp field.
fn since(v: Option<&Value>, now_unix: i64) -> String {
    match timestamp(v) {
        Some(t) => human_duration(now_unix - t),
        None => "<unknown>".to_string(),
    }
}

/// The registry's default convertor (`rest.NewDefaultTableConvertor`).
fn default_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Created At", "date", descriptions::META_CREATED),
    ]
}

fn default_cells(obj: &Value) -> Vec<Value> {
    // The creation time is printed as RFC 3339 in UTC, Go's zero time when unset.
    let created = obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
        .unwrap_or(ZERO_TIME_UNIX);
    vec![name_of(obj).into(), rfc3339(created).into()]
}

fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}
