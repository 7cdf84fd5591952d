//! The three PATCH flavours the apiserver accepts, applied to plain JSON values.
//!
//! * [`json_merge_patch`] — `application/merge-patch+json` (RFC 7386), with the quirks of the
//!   `evanphx/json-patch` v4 library the real apiserver uses.
//! * [`json_patch`] — `application/json-patch+json` (RFC 6902).
//! * [`strategic_merge_patch`] — `application/strategic-merge-patch+json`, driven by a small
//!   hard-coded table of upstream `patchStrategy` / `patchMergeKey` struct tags.
//!
//! Every failure carries the HTTP status, `Status.reason` and message the real apiserver sends,
//! so the handler only has to wrap it in a `metav1.Status`.

mod json_patch;
mod merge;
mod schema;
mod strategic;

#[cfg(test)]
mod tests;

use serde_json::Value;

/// The generic message upstream attaches to every 422 built by `NewGenericServerResponse`:
/// the underlying detail is deliberately not sent to the client.
const GENERIC_422: &str = "the server rejected our request due to an error in our request";

/// The patch types a custom resource accepts; quoted in the 415 answer to a strategic patch.
const NON_STRATEGIC_TYPES: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// An error applying a patch, carrying the HTTP status/reason the apiserver must answer with.
///
/// `reason` is empty for errors upstream reports as a bare Go error (HTTP 500 with
/// `StatusReasonUnknown`); the `Status` should then carry no `reason` field at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PatchError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

impl PatchError {
    /// 400 `BadRequest` with the given message (`errors.NewBadRequest`).
    pub fn bad_request(message: impl Into<String>) -> Self {
        PatchError {
            code: 400,
            reason: "BadRequest",
            message: message.into(),
        }
    }

    /// 422 `Invalid` as produced by `NewGenericServerResponse(422, ...)`, which hides the detail.
    pub fn unprocessable() -> Self {
        PatchError {
            code: 422,
            reason: "Invalid",
            message: GENERIC_422.to_string(),
        }
    }

    /// 500 with no reason: what the apiserver sends for an error that is not a `Status`.
    pub fn internal(message: impl Into<String>) -> Self {
        PatchError {
            code: 500,
            reason: "",
            message: message.into(),
        }
    }

    /// 413 for JSON patches with too many operations.
    pub fn too_large(message: impl Into<String>) -> Self {
        PatchError {
            code: 413,
            reason: "RequestEntityTooLarge",
            message: format!("Request entity too large: {}", message.into()),
        }
    }

    /// 415 answered to a strategic merge patch on a kind without patch metadata (custom
    /// resources), listing the patch types that are accepted instead.
    pub fn unsupported_strategic() -> Self {
        PatchError {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!(
                "the body of the request was in an unknown format - accepted media types include: {NON_STRATEGIC_TYPES}"
            ),
        }
    }
}

/// Applies an RFC 7386 JSON merge patch: objects merge recursively, `null` deletes a member,
/// anything else (arrays included) replaces the target wholesale.
///
/// A non-object patch yields the patch itself; the apiserver should reject a top-level `null`
/// or scalar patch body before calling this (upstream answers 400 `Invalid JSON Patch`).
pub fn json_merge_patch(target: &Value, patch: &Value) -> Value {
    merge::merge_patch(target, patch)
}

/// Applies an RFC 6902 JSON patch (`add`, `remove`, `replace`, `move`, `copy`, `test`; JSON
/// pointers with `~0`/`~1` escapes and `-` for appending).
///
/// A body that is not a list of operation objects is a 400; an operation that does not apply
/// is a 422 whose message, like upstream's, does not say which operation failed.
pub fn json_patch(target: &Value, ops: &Value) -> Result<Value, PatchError> {
    json_patch::apply(target, ops).map_err(json_patch::Failure::into_patch_error)
}

/// Applies a strategic merge patch to `original`, an object of the built-in kind `group`/`kind`.
///
/// Kinds without compiled-in patch metadata (custom resources) answer 415, as upstream does.
pub fn strategic_merge_patch(
    group: &str,
    kind: &str,
    original: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    let root = schema::root_for_kind(group, kind).ok_or_else(PatchError::unsupported_strategic)?;
    strategic::apply(root, original, patch)
}
