//! OpenAPI value validation of custom objects, mirroring kube-openapi's
//! `SchemaValidator` and how the apiextensions apiserver turns its results into
//! `field.Error`s (`in body` messages, `TypeInvalid`, `NotSupported`, `TooLong`,
//! `TooMany`, `Required`).
//!
//! Paths follow kube-openapi: object fields joined with `.`, items as `[i]`,
//! additionalProperties keys as `.key`. The message keeps the raw path; the
//! field path drops a leading `.` as upstream does.

use std::cmp::Ordering;

use serde_json::Value;

use super::gofmt::{field_value, go_float, json_type, Num};
use super::regex::Regex;
use super::schema_util::{self as su, join_path};
use crate::errors::{quote, FieldError, FieldErrorKind};

/// Validate `data` against the (structural) schema `s`; `path` is the raw
/// kube-openapi name of `data` (`""` for the root).
pub fn validate(s: &Value, data: &Value, path: &str, out: &mut Vec<FieldError>) {
    if !s.is_object() {
        return;
    }
    let types = su::types(s);
    if data.is_null() {
        if !types.is_empty() && !su::flag(s, "nullable") {
            out.push(type_error(path, &types.join(","), Some("null")));
        }
        check_enum(s, data, path, out);
        return;
    }
    check_type(s, &types, data, path, out);
    check_junctors(s, data, path, out);
    match data {
        Value::String(text) => {
            check_string(s, text, path, out);
            check_format(s, text, path, out);
        }
        Value::Number(_) => check_number(s, data, path, out),
        Value::Array(items) => check_array(s, items, path, out),
        _ => {}
    }
    check_enum(s, data, path, out);
    if let Value::Object(map) = data {
        check_object(s, map, path, out);
    }
}

fn field_of(path: &str) -> String {
    path.trim_start_matches('.').to_string()
}

fn invalid(path: &str, value: String, msg: String) -> FieldError {
    FieldError::invalid(field_of(path), value, msg)
}

/// `errors.InvalidType`: the data value is a type name, so it is always quoted.
fn type_error(path: &str, type_name: &str, value: Option<&str>) -> FieldError {
    match value {
        Some(v) => invalid(
            path,
            quote(v),
            format!("{path} in body must be of type {type_name}: {}", quote(v)),
        ),
        None => invalid(
            path,
            quote(""),
            format!("{path} in body must be of type {type_name}"),
        ),
    }
}

fn check_type(s: &Value, types: &[&str], data: &Value, path: &str, out: &mut Vec<FieldError>) {
    if types.is_empty() {
        return;
    }
    let sch_type = json_type(data);
    let has = |t: &str| types.contains(&t);
    let is_float_int = sch_type == "number"
        && data
            .as_f64()
            .is_some_and(|f| f.fract() == 0.0 && f.is_finite())
        && has("integer");
    let is_int_float = sch_type == "integer" && has("number");
    let format = su::str_of(s, "format").unwrap_or("");
    let textual = data.is_string() || data.is_array();
    if !textual && !format.is_empty() {
        let data_format = match Num::of(data) {
            Some(Num::Int(_)) => "int64",
            Some(Num::Float(_)) => "float64",
            None => "",
        };
        let lower_int = format == "int64" && data_format == "int32";
        let lower_float = format == "float64" && data_format == "float32";
        if !(has(sch_type)
            || data_format == format
            || is_float_int
            || is_int_float
            || lower_int
            || lower_float)
        {
            out.push(type_error(path, format, Some(data_format)));
            return;
        }
    }
    // A formatted string or array under a non-numeric type is left to the format check.
    let numeric = has("number") || has("integer");
    if textual && !numeric && !format.is_empty() {
        return;
    }
    if !(has(sch_type) || is_float_int || is_int_float) {
        out.push(type_error(path, &types.join(","), Some(sch_type)));
    }
}

fn errors_of(s: &Value, data: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate(s, data, path, &mut errs);
    errs
}

/// allOf/anyOf/oneOf/not. Their failures are plain errors upstream, reported at
/// the root with an empty value.
fn check_junctors(s: &Value, data: &Value, path: &str, out: &mut Vec<FieldError>) {
    for sub in su::array_of(s, "allOf") {
        validate(sub, data, path, out);
    }
    if !su::is_int_or_string_any_of(s) {
        let alts = su::array_of(s, "anyOf");
        if !alts.is_empty() {
            let results: Vec<Vec<FieldError>> =
                alts.iter().map(|a| errors_of(a, data, path)).collect();
            if !results.iter().any(Vec::is_empty) {
                out.push(FieldError::invalid(
                    "",
                    quote(""),
                    format!("{} must validate at least one schema (anyOf)", quote(path)),
                ));
                if let Some(best) = results.into_iter().min_by_key(Vec::len) {
                    out.extend(best);
                }
            }
        }
    }
    let alts = su::array_of(s, "oneOf");
    if !alts.is_empty() {
        let results: Vec<Vec<FieldError>> = alts.iter().map(|a| errors_of(a, data, path)).collect();
        let valid = results.iter().filter(|r| r.is_empty()).count();
        if valid == 0 {
            out.push(FieldError::invalid(
                "",
                quote(""),
                format!(
                    "{} must validate one and only one schema (oneOf)",
                    quote(path)
                ),
            ));
            if let Some(best) = results.into_iter().min_by_key(Vec::len) {
                out.extend(best);
            }
        } else if valid > 1 {
            out.push(FieldError::invalid(
                "",
                quote(""),
                format!(
                    "{} must validate one and only one schema (oneOf). Found {valid} valid alternatives",
                    quote(path)
                ),
            ));
        }
    }
    if let Some(not) = s.get("not") {
        if errors_of(not, data, path).is_empty() {
            out.push(FieldError::invalid(
                "",
                quote(""),
                format!("{} must not validate the schema (not)", quote(path)),
            ));
        }
    }
}

/// kube-openapi's string validator stops at the first failure.
fn check_string(s: &Value, text: &str, path: &str, out: &mut Vec<FieldError>) {
    let len = text.chars().count() as i64;
    if let Some(max) = su::int_of(s, "maxLength") {
        if len > max {
            let unit = if max == 1 { "byte" } else { "bytes" };
            out.push(FieldError::new(
                FieldErrorKind::TooLong,
                field_of(path),
                None,
                format!("may not be more than {max} {unit}"),
            ));
            return;
        }
    }
    if let Some(min) = su::int_of(s, "minLength") {
        if len < min {
            out.push(invalid(
                path,
                quote(text),
                format!("{path} in body should be at least {min} chars long"),
            ));
            return;
        }
    }
    if let Some(pattern) = su::str_of(s, "pattern") {
        match Regex::new(pattern) {
            Ok(re) => {
                if !re.is_match(text) {
                    out.push(invalid(
                        path,
                        quote(text),
                        format!("{path} in body should match '{pattern}'"),
                    ));
                }
            }
            Err(super::regex::RegexError::Invalid(e)) => out.push(invalid(
                path,
                quote(text),
                format!("{path} in body should match '{pattern}, but pattern is invalid: {e}'"),
            )),
            // Beyond the supported subset: do not guess.
            Err(super::regex::RegexError::Unsupported) => {}
        }
    }
}

/// The string formats checked here (others upstream supports are accepted).
fn check_format(s: &Value, text: &str, path: &str, out: &mut Vec<FieldError>) {
    let Some(format) = su::str_of(s, "format") else {
        return;
    };
    let ok = match format {
        "date-time" | "datetime" => is_date_time(text),
        "date" => is_date(text),
        "uuid" => is_uuid(text),
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .is_ok()
        }
        "ipv4" => is_ipv4(text),
        _ => true,
    };
    if !ok {
        out.push(invalid(
            path,
            quote(text),
            format!("{path} in body must be of type {format}: {}", quote(text)),
        ));
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(s[5..7].parse::<u32>(), Ok(1..=12))
        && matches!(s[8..10].parse::<u32>(), Ok(1..=31))
}

fn is_date_time(s: &str) -> bool {
    if crate::meta::parse_rfc3339(s).is_some() {
        return true;
    }
    // strfmt also accepts a time without zone, optionally with fractions.
    let b = s.as_bytes();
    if b.len() < 19 || !is_date(&s[..10]) || !matches!(b[10], b'T' | b't' | b' ') {
        return false;
    }
    let t = &s[11..];
    let tb = t.as_bytes();
    let hms = tb.len() >= 8
        && tb[2] == b':'
        && tb[5] == b':'
        && tb[..8]
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit());
    if !hms {
        return false;
    }
    let rest = &t[8..];
    rest.is_empty()
        || rest
            .strip_prefix('.')
            .is_some_and(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.chars().all(|c| c.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
                && !(p.len() > 1 && p.starts_with('0'))
        })
}

/// Numbers: multipleOf, minimum, maximum. Integer data is compared against the
/// bound truncated to an integer, as kube-openapi's native-type path does.
fn check_number(s: &Value, data: &Value, path: &str, out: &mut Vec<FieldError>) {
    let Some(num) = Num::of(data) else {
        return;
    };
    let value = num.go();
    if let Some(factor) = su::num_of(s, "multipleOf") {
        let f = factor.as_f64();
        if f < 0.0 {
            out.push(invalid(
                path,
                factor.go(),
                format!(
                    "factor MultipleOf declared for {path} must be positive: {}",
                    factor.go()
                ),
            ));
        } else {
            let (ok, shown) = match num {
                Num::Int(i) if f.fract() == 0.0 && f >= 1.0 => {
                    let k = f as i64;
                    (i % k == 0, k.to_string())
                }
                _ => {
                    let d = num.as_f64();
                    let mult = if f < 1.0 { 1.0 / f * d } else { d / f };
                    (mult.fract() == 0.0 && mult.is_finite(), go_float(f))
                }
            };
            if !ok {
                out.push(invalid(
                    path,
                    value.clone(),
                    format!("{path} in body should be a multiple of {shown}"),
                ));
            }
        }
    }
    // The two bounds differ only in which side of the bound fails.
    for (key, exclusive_key, rel, fails_below) in [
        ("minimum", "exclusiveMinimum", "greater than", true),
        ("maximum", "exclusiveMaximum", "less than", false),
    ] {
        let Some(bound) = su::num_of(s, key) else {
            continue;
        };
        let exclusive = su::flag(s, exclusive_key);
        let (ord, shown) = match num {
            Num::Int(i) => {
                let m = bound.as_f64() as i64;
                (Some(i.cmp(&m)), m.to_string())
            }
            Num::Float(d) => {
                let m = bound.as_f64();
                (d.partial_cmp(&m), go_float(m))
            }
        };
        let fails = match ord {
            Some(Ordering::Less) => fails_below,
            Some(Ordering::Greater) => !fails_below,
            Some(Ordering::Equal) => exclusive,
            None => false,
        };
        if fails {
            let rel = if exclusive {
                rel.to_string()
            } else {
                format!("{rel} or equal to")
            };
            out.push(invalid(
                path,
                value.clone(),
                format!("{path} in body should be {rel} {shown}"),
            ));
        }
    }
}

fn check_array(s: &Value, items: &[Value], path: &str, out: &mut Vec<FieldError>) {
    if let Some(item_schema) = s.get("items").filter(|i| i.is_object()) {
        for (i, item) in items.iter().enumerate() {
            validate(item_schema, item, &format!("{path}[{i}]"), out);
        }
    }
    let size = items.len() as i64;
    if let Some(min) = su::int_of(s, "minItems") {
        if size < min {
            out.push(invalid(
                path,
                size.to_string(),
                format!("{path} in body should have at least {min} items"),
            ));
        }
    }
    if let Some(max) = su::int_of(s, "maxItems") {
        if size > max {
            out.push(too_many(path, size, max));
        }
    }
    if su::flag(s, "uniqueItems") {
        let dup = items
            .iter()
            .enumerate()
            .any(|(i, a)| items[..i].iter().any(|b| json_equal(a, b)));
        if dup {
            out.push(invalid(
                path,
                quote(""),
                format!("{path} in body shouldn't contain duplicates"),
            ));
        }
    }
}

fn too_many(path: &str, actual: i64, max: i64) -> FieldError {
    let unit = if max == 1 { "item" } else { "items" };
    FieldError::new(
        FieldErrorKind::TooMany,
        field_of(path),
        Some(actual.to_string()),
        format!("must have at most {max} {unit}"),
    )
}

/// Go compares decoded values after converting the data to the enum value's type,
/// so `1` matches `1.0`.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (Num::of(a), Num::of(b)) {
        (Some(x), Some(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn check_enum(s: &Value, data: &Value, path: &str, out: &mut Vec<FieldError>) {
    let values = su::array_of(s, "enum");
    if values.is_empty() {
        return;
    }
    if !data.is_null() && values.iter().any(|e| json_equal(e, data)) {
        return;
    }
    let allowed: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
    out.push(FieldError::not_supported(
        field_of(path),
        field_value(data),
        &allowed,
    ));
}

fn check_object(
    s: &Value,
    map: &serde_json::Map<String, Value>,
    path: &str,
    out: &mut Vec<FieldError>,
) {
    let n = map.len() as i64;
    if let Some(min) = su::int_of(s, "minProperties") {
        if n < min {
            out.push(invalid(
                path,
                n.to_string(),
                format!("{path} in body should have at least {min} properties"),
            ));
            return;
        }
    }
    if let Some(max) = su::int_of(s, "maxProperties") {
        if n > max {
            out.push(too_many(path, n, max));
            return;
        }
    }
    let props = su::properties(s);
    if let Some(additional) = s.get("additionalProperties").filter(|a| a.is_object()) {
        for (k, v) in map {
            if props.is_some_and(|p| p.contains_key(k)) {
                continue;
            }
            validate(additional, v, &format!("{path}.{k}"), out);
        }
    }
    if let Some(props) = props {
        for (k, ps) in props {
            if let Some(v) = map.get(k) {
                validate(ps, v, &join_path(path, k), out);
            }
        }
    }
    for k in su::array_of(s, "required") {
        if let Some(k) = k.as_str() {
            if !map.contains_key(k) {
                out.push(FieldError::required(field_of(&format!("{path}.{k}")), ""));
            }
        }
    }
}
