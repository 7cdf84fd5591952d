//! Rendering JSON values the way Go's `fmt` prints the decoded `interface{}`
//! values, because upstream error messages (CRD validation, patch errors) and
//! printed columns are built with `%v`, `%s`, `%q` and `%#v`. Shared by the
//! `crd`, `patch`, `table` and `selector` modules.

use std::ops::Range;

use serde_json::{Number, Value};

use crate::errors::quote;

/// A JSON number as Go holds it after decoding: `int64` when it has no
/// fraction or exponent and fits, `float64` otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn of(v: &Value) -> Option<Num> {
        let n = v.as_number()?;
        if let Some(i) = n.as_i64() {
            return Some(Num::Int(i));
        }
        n.as_f64().map(Num::Float)
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// `%v`.
    pub fn go(self) -> String {
        match self {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => go_float(f),
        }
    }
}

/// Go's `%v` for a `float64` (`strconv.FormatFloat(f, 'g', -1, 64)`).
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 && f.is_sign_negative() {
        return "-0".into();
    }
    shortest_float(f, GO_V_POSITIONAL, 2)
}

/// Decimal exponents `%v` prints positionally; `%g` with the shortest precision
/// switches to exponent form below -4 and from 6 on.
pub(crate) const GO_V_POSITIONAL: Range<i32> = -4..6;

/// A finite float with its shortest round-tripping digits (Go's precision -1):
/// positional while the decimal exponent is in `positional`, otherwise
/// `d.ddde±XX` with the exponent zero-padded to `exp_width` digits. Zero of
/// either sign prints as `0`.
pub(crate) fn shortest_float(f: f64, positional: Range<i32>, exp_width: usize) -> String {
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !positional.contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:0exp_width$}", exp.abs());
    }
    let nd = digits.len() as i32;
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        format!("{sign}0.{zeros}{digits}")
    } else if exp + 1 >= nd {
        let zeros = "0".repeat((exp + 1 - nd) as usize);
        format!("{sign}{digits}{zeros}")
    } else {
        let (int, frac) = digits.split_at((exp + 1) as usize);
        format!("{sign}{int}.{frac}")
    }
}

/// The bad value of a `field.Error` as `ErrorBody` prints it: simple types with
/// `%v`, strings with `%q`, nil as `null`, compound values with `%#v`.
pub fn field_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => Num::of(v).map(Num::go).unwrap_or_default(),
        Value::String(s) => quote(s),
        Value::Array(_) | Value::Object(_) => sharp_v(v),
    }
}

/// Go's `%#v` of a decoded JSON value (`map[string]interface {}{...}` with sorted keys).
pub fn sharp_v(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => Num::of(v).map(Num::go).unwrap_or_default(),
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(sharp_v).collect();
            format!("[]interface {{}}{{{}}}", inner.join(", "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", quote(k), sharp_v(&map[k.as_str()])))
                .collect();
            format!("map[string]interface {{}}{{{}}}", inner.join(", "))
        }
    }
}

/// `%#v` of a `[]string`.
pub fn sharp_v_strings(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[]string{{{}}}", inner.join(", "))
}

/// The JSON type name kube-openapi infers for a decoded value.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => match Num::of(v) {
            Some(Num::Int(_)) => "integer",
            _ => "number",
        },
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go `%v` of a decoded JSON value: `map[a:1 b:[x y]]`, keys sorted, strings unquoted.
pub(crate) fn v(value: &Value) -> String {
    let mut out = String::new();
    write_v(&mut out, value);
    out
}

/// Go `%s`: strings print raw, anything else as a bad-verb marker like `%!s(int64=5)`.
pub(crate) fn s(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "%!s(<nil>)".to_string(),
        other => format!("%!s({}={})", type_name(other), v(other)),
    }
}

/// The Go type name `reflect.TypeOf` reports for a decoded JSON value.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "%!s(<nil>)",
        Value::Bool(_) => "bool",
        Value::Number(n) if is_integer(n) => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Upstream decodes integers as `int64` and everything else as `float64`; the two never compare
/// equal as Go interface values, which decides when a patch value "changes type".
pub(crate) fn is_integer(n: &Number) -> bool {
    n.is_i64() || n.is_u64()
}

/// The JSON kind name `encoding/json` uses in `cannot unmarshal X into ...` errors.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn write_v(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                if let Some(item) = map.get(k) {
                    write_v(out, item);
                }
            }
            out.push(']');
        }
    }
}

fn number(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if !is_integer(n) => go_float(f),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_like_go() {
        let cases = [
            (json!({"b": [1, "x"], "a": null}), "map[a:<nil> b:[1 x]]"),
            (
                json!({"hostPath": {"path": "/p"}}),
                "map[hostPath:map[path:/p]]",
            ),
            (json!(1.5), "1.5"),
            (json!(1000000.0), "1e+06"),
            (json!(123456.0), "123456"),
            (json!(0.00001), "1e-05"),
            (json!(true), "true"),
        ];
        for (value, want) in cases {
            assert_eq!(v(&value), want, "{value}");
        }
        assert_eq!(s(&json!("x")), "x");
        assert_eq!(s(&json!(5)), "%!s(int64=5)");
    }
}
