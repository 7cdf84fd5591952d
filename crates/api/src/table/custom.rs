//! Custom resources: the apiextensions table convertor over a CRD version's
//! `additionalPrinterColumns`.

use serde_json::{Number, Value};

use super::descriptions as d;
use super::format::{go_print_scalar, str_at};
use super::jsonpath::JsonPath;
use super::{human_duration, name_of, Column, ZERO_TIME_UNIX};
use crate::meta::parse_rfc3339;

/// One usable printer column: its definition and parsed path.
struct PrinterColumn {
    column: Column,
    path: JsonPath,
}

/// The served columns: the CRD's own, or `Age` over the creation timestamp
/// when it declares none. Like upstream, a path that does not parse ends
/// the column list there.
fn printer_columns(printer_columns: &[Value]) -> Vec<PrinterColumn> {
    let default_age = [serde_json::json!({
        "name": "Age",
        "type": "date",
        "description": d::META_CREATED,
        "jsonPath": ".metadata.creationTimestamp",
    })];
    let declared = if printer_columns.is_empty() {
        &default_age[..]
    } else {
        printer_columns
    };
    let mut out = Vec::new();
    for col in declared {
        let json_path = str_at(col, &["jsonPath"]);
        let Ok(path) = JsonPath::parse_column(json_path) else {
            break;
        };
        let description = match str_at(col, &["description"]) {
            "" => format!("Custom resource definition column (in JSONPath format): {json_path}"),
            desc => desc.to_string(),
        };
        let priority = col.get("priority").and_then(Value::as_i64).unwrap_or(0);
        out.push(PrinterColumn {
            column: Column {
                name: str_at(col, &["name"]).to_string(),
                type_: str_at(col, &["type"]).to_string(),
                format: str_at(col, &["format"]).to_string(),
                description,
                priority: i32::try_from(priority).unwrap_or(0),
            },
            path,
        });
    }
    out
}

pub(super) fn columns(declared: &[Value]) -> Vec<Column> {
    std::iter::once(Column::name())
        .chain(printer_columns(declared).into_iter().map(|c| c.column))
        .collect()
}

pub(super) fn cells(declared: &[Value], obj: &Value, now: i64) -> Vec<Value> {
    let mut out = vec![Value::from(name_of(obj))];
    for col in printer_columns(declared) {
        let first = col
            .path
            .first_results(obj)
            .and_then(|results| results.into_iter().next());
        out.push(match first {
            None => Value::Null,
            // String columns print whatever was found, the way `kubectl -o jsonpath` would.
            Some(v) if col.column.type_ == "string" => Value::String(go_print_scalar(&v)),
            Some(v) => typed_cell(&col.column.type_, &v, now),
        });
    }
    out
}

/// `cellForJSONValue`: the found value converted to the column's type, or
/// `null` when it does not have that type.
fn typed_cell(type_: &str, v: &Value, now: i64) -> Value {
    match (type_, v) {
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) => Value::from(i),
            // Floats truncate toward zero, as Go's int64() conversion does.
            None => n.as_f64().map_or(Value::Null, |f| Value::from(f as i64)),
        },
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, float_cell),
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("date", Value::String(s)) => Value::String(date_cell(s, now)),
        _ => Value::Null,
    }
}

/// Go encodes an integral float64 without a fraction (`3`, not `3.0`).
fn float_cell(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        Value::Number(Number::from(f as i64))
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// `metav1.Time.UnmarshalQueryParameter` then `ConvertToHumanReadableDateType`.
fn date_cell(s: &str, now: i64) -> String {
    if s.is_empty() || s == "null" {
        return "<unknown>".to_string();
    }
    match parse_rfc3339(s) {
        None => "<invalid>".to_string(),
        Some(ZERO_TIME_UNIX) => "<unknown>".to_string(),
        Some(t) => human_duration(now - t),
    }
}
