//! Rendering JSON values the way Go's `fmt` prints the decoded `interface{}`
//! values, because upstream error messages are built with `%v`, `%q` and `%#v`.

use serde_json::Value;

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
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits, like Go's -1 precision.
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let nd = digits.len() as i32;
    let sign = if f < 0.0 { "-" } else { "" };
    // %g switches to exponent form when exp < -4 || exp >= precision, where the
    // shortest form uses precision max(nd, 6)... except it stays 6 when the
    // digits extend past the decimal point; mirror strconv's rule.
    let dp = exp + 1;
    let mut eprec = 6;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    if exp < -4 || exp >= eprec {
        let mut m = digits[..1].to_string();
        if nd > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let es = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{es}{:02}", exp.abs());
    }
    if dp <= 0 {
        let zeros = "0".repeat((-dp) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    if dp >= nd {
        let zeros = "0".repeat((dp - nd) as usize);
        return format!("{sign}{digits}{zeros}");
    }
    let (a, b) = digits.split_at(dp as usize);
    format!("{sign}{a}.{b}")
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
