//! Field paths and `field.Error` constructors mirroring apimachinery's
//! `field.Path` and `field.Required/Invalid/...`.

use crate::errors::{FieldError, FieldErrorKind};

use super::render::go_quote;

pub(crate) type Errs = Vec<FieldError>;

/// A field path rendered like `field.Path.String()`.
#[derive(Clone, Debug)]
pub(crate) struct Path(String);

impl Path {
    pub(crate) fn new(root: &str) -> Path {
        Path(root.to_string())
    }
    pub(crate) fn child(&self, name: &str) -> Path {
        if self.0.is_empty() {
            Path(name.to_string())
        } else {
            Path(format!("{}.{}", self.0, name))
        }
    }
    pub(crate) fn index(&self, i: usize) -> Path {
        Path(format!("{}[{}]", self.0, i))
    }
    pub(crate) fn key(&self, k: &str) -> Path {
        Path(format!("{}[{}]", self.0, k))
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) fn required(p: &Path, detail: &str) -> FieldError {
    FieldError::required(p.as_str(), detail)
}

pub(crate) fn forbidden(p: &Path, detail: &str) -> FieldError {
    FieldError::forbidden(p.as_str(), detail)
}

/// `field.Invalid` with an already rendered bad value.
pub(crate) fn invalid(p: &Path, rendered: impl Into<String>, detail: &str) -> FieldError {
    FieldError::invalid(p.as_str(), rendered, detail)
}

/// `field.Invalid` for a Go string value (rendered with `%q`).
pub(crate) fn invalid_str(p: &Path, value: &str, detail: &str) -> FieldError {
    invalid(p, go_quote(value), detail)
}

/// `field.Invalid` for an integer value (rendered with `%v`).
pub(crate) fn invalid_int(p: &Path, value: i64, detail: &str) -> FieldError {
    invalid(p, value.to_string(), detail)
}

/// `field.NotSupported`; `supported` in upstream order (sorted when upstream
/// passes `sets.List(...)`).
pub(crate) fn not_supported(
    p: &Path,
    rendered: impl Into<String>,
    supported: &[&str],
) -> FieldError {
    let list: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
    let detail = if list.is_empty() {
        String::new()
    } else {
        format!("supported values: {}", list.join(", "))
    };
    FieldError::new(
        FieldErrorKind::NotSupported,
        p.as_str(),
        Some(rendered.into()),
        detail,
    )
}

pub(crate) fn not_supported_str(p: &Path, value: &str, supported: &[&str]) -> FieldError {
    not_supported(p, go_quote(value), supported)
}

pub(crate) fn duplicate(p: &Path, rendered: impl Into<String>) -> FieldError {
    FieldError::new(
        FieldErrorKind::Duplicate,
        p.as_str(),
        Some(rendered.into()),
        "",
    )
}

pub(crate) fn not_found(p: &Path, rendered: impl Into<String>) -> FieldError {
    FieldError::new(
        FieldErrorKind::NotFound,
        p.as_str(),
        Some(rendered.into()),
        "",
    )
}

/// `field.TooLong` (1.31+ wording; the value is never printed).
pub(crate) fn too_long(p: &Path, max: usize) -> FieldError {
    let unit = if max == 1 { "byte" } else { "bytes" };
    FieldError::new(
        FieldErrorKind::TooLong,
        p.as_str(),
        None,
        format!("may not be more than {max} {unit}"),
    )
}

pub(crate) fn too_many(p: &Path, actual: usize, max: usize) -> FieldError {
    FieldError::new(
        FieldErrorKind::TooMany,
        p.as_str(),
        Some(actual.to_string()),
        format!("must have at most {max} items"),
    )
}

/// Messages from a string validator, each as `field.Invalid(p, value, msg)`.
pub(crate) fn each_invalid(errs: &mut Errs, p: &Path, value: &str, msgs: Vec<String>) {
    for m in msgs {
        errs.push(invalid_str(p, value, &m));
    }
}

/// `ValidateNonnegativeField`.
pub(crate) fn nonnegative(errs: &mut Errs, p: &Path, value: i64) {
    if value < 0 {
        errs.push(invalid_int(p, value, "must be greater than or equal to 0"));
    }
}

pub(crate) const FIELD_IMMUTABLE: &str = "field is immutable";
