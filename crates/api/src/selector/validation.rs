//! Label key and value checks as the selector parser reports them: each one
//! Invalid error carrying all the `IsQualifiedName` / `IsValidLabelValue`
//! messages (the checks themselves live with the other apimachinery string
//! validators in `admission::names`).

use crate::admission::names::{is_qualified_name, is_valid_label_value};
use crate::errors::{quote, FieldError};

/// `validateLabelKey`: one Invalid error at `path` (upstream passes a nil
/// path from the string parser, which prints as `<nil>`).
pub(crate) fn validate_label_key(key: &str, path: &str) -> Option<String> {
    let errs = is_qualified_name(key);
    (!errs.is_empty()).then(|| FieldError::invalid(path, quote(key), errs.join("; ")).to_string())
}

/// `validateLabelValue`: one Invalid error at `path[key]`.
pub(crate) fn validate_label_value(key: &str, value: &str, path: &str) -> Option<String> {
    let errs = is_valid_label_value(value);
    (!errs.is_empty()).then(|| {
        FieldError::invalid(format!("{path}[{key}]"), quote(value), errs.join("; ")).to_string()
    })
}

/// `utilerrors.NewAggregate(...).Error()` after `ToAggregate`'s de-duplication:
/// one message bare, several bracketed and comma-joined.
pub(crate) fn aggregate(errs: Vec<String>) -> Option<String> {
    let mut uniq: Vec<String> = Vec::with_capacity(errs.len());
    for e in errs {
        if !uniq.contains(&e) {
            uniq.push(e);
        }
    }
    match uniq.len() {
        0 => None,
        1 => uniq.pop(),
        _ => Some(format!("[{}]", uniq.join(", "))),
    }
}
