//! Renders JSON values the way Go's `fmt` prints the `interface{}` trees upstream's patch code
//! works on, so error messages quote patches exactly as the real apiserver does.

use serde_json::{Number, Value};

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

/// Go prints `float64` with the shortest digits, switching to exponent form when the decimal
/// exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`).
fn number(n: &Number) -> String {
    if is_integer(n) {
        return n.to_string();
    }
    let Some(f) = n.as_f64() else {
        return n.to_string();
    };
    let sci = format!("{f:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        return format!("{f}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
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
