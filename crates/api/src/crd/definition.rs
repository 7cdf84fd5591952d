//! The CustomResourceDefinition object itself: validation
//! (`apis/apiextensions/validation`), v1 defaults, the status the naming and
//! establishing controllers write, and the versions it serves.

use serde_json::{json, Map, Value};

use super::gofmt::field_value;
use super::structural::validate_schema;
use super::{ScaleSpec, ServedVersion};
use crate::admission::names::{is_dns1035_label, is_dns1123_subdomain};
use crate::errors::{quote, FieldError};
use crate::registry::{Resource, Scope};

const PRINTER_COLUMN_TYPES: &str = "boolean,date,integer,number,string";
const PRINTER_COLUMN_FORMATS: &str = "byte,date,date-time,double,float,int32,int64,password";

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn strings_at(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn versions(crd: &Value) -> &[Value] {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Validate a CRD object (create when `old` is `None`, update otherwise).
pub fn validate_crd(crd: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let group = str_at(crd, "/spec/group");
    let plural = str_at(crd, "/spec/names/plural");

    let name = str_at(crd, "/metadata/name");
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for msg in is_dns1123_subdomain(name) {
            errs.push(FieldError::invalid("metadata.name", quote(name), msg));
        }
        if name != format!("{plural}.{group}") {
            errs.push(FieldError::invalid(
                "metadata.name",
                quote(name),
                r#"must be spec.names.plural+"."+spec.group"#,
            ));
        }
    }

    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else {
        let dns = is_dns1123_subdomain(group);
        if !dns.is_empty() {
            errs.push(FieldError::invalid(
                "spec.group",
                quote(group),
                dns.join(","),
            ));
        } else if !group.contains('.') {
            errs.push(FieldError::invalid(
                "spec.group",
                quote(group),
                "should be a domain with at least one dot",
            ));
        }
    }

    match str_at(crd, "/spec/scope") {
        "" => errs.push(FieldError::required("spec.scope", "")),
        "Cluster" | "Namespaced" => {}
        other => errs.push(FieldError::not_supported(
            "spec.scope",
            quote(other),
            &["Cluster", "Namespaced"],
        )),
    }

    validate_versions(crd, &mut errs);

    for (k, field) in [
        ("plural", "spec.names.plural"),
        ("singular", "spec.names.singular"),
        ("kind", "spec.names.kind"),
        ("listKind", "spec.names.listKind"),
    ] {
        if str_at(crd, &format!("/spec/names/{k}")).is_empty() {
            errs.push(FieldError::required(field, ""));
        }
    }
    if let Some(names) = crd.pointer("/spec/names") {
        validate_names(names, "spec.names", &mut errs);
    }

    validate_conversion(crd, &mut errs);
    if crd.pointer("/spec/preserveUnknownFields") == Some(&Value::Bool(true)) {
        errs.push(FieldError::invalid(
            "spec.preserveUnknownFields",
            "true",
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        ));
    }

    if let Some(old) = old {
        validate_update(crd, old, &mut errs);
    }
    errs
}

fn validate_versions(crd: &Value, errs: &mut Vec<FieldError>) {
    let versions = versions(crd);
    let mut storage = 0;
    let mut seen: Vec<&str> = Vec::new();
    let mut unique = true;
    for (i, v) in versions.iter().enumerate() {
        let base = format!("spec.versions[{i}]");
        let name = str_at(v, "/name");
        if v.get("storage").and_then(Value::as_bool) == Some(true) {
            storage += 1;
        }
        if seen.contains(&name) {
            unique = false;
        }
        seen.push(name);
        let dns = is_dns1035_label(name);
        if !dns.is_empty() {
            errs.push(FieldError::invalid(
                format!("{base}.name"),
                quote(name),
                dns.join(","),
            ));
        }
        match v.pointer("/schema/openAPIV3Schema") {
            Some(s) if !s.is_null() => {
                errs.extend(validate_schema(
                    s,
                    &format!("{base}.schema.openAPIV3Schema"),
                ));
            }
            _ => errs.push(FieldError::required(
                format!("{base}.schema.openAPIV3Schema"),
                "schemas are required",
            )),
        }
        if let Some(scale) = v.pointer("/subresources/scale").filter(|s| !s.is_null()) {
            validate_scale(scale, &format!("{base}.subresources.scale"), errs);
        }
        for (j, col) in v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            validate_column(col, &format!("{base}.additionalPrinterColumns[{j}]"), errs);
        }
    }
    let shown = crd
        .pointer("/spec/versions")
        .map(field_value)
        .unwrap_or_else(|| "null".into());
    if !unique {
        errs.push(FieldError::invalid(
            "spec.versions",
            shown.clone(),
            "must contain unique version names",
        ));
    }
    if storage != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            shown,
            "must have exactly one version marked as storage version",
        ));
    }
}

/// `validateSimpleJSONPath`.
fn simple_json_path(s: &str, field: &str) -> Option<FieldError> {
    if s.is_empty() {
        return Some(FieldError::invalid(field, quote(s), "must not be empty"));
    }
    if !s.starts_with('.') {
        return Some(FieldError::invalid(
            field,
            quote(s),
            "must be a simple json path starting with .",
        ));
    }
    None
}

fn validate_scale(scale: &Value, base: &str, errs: &mut Vec<FieldError>) {
    for (k, prefix, under) in [
        ("specReplicasPath", ".spec.", ".spec"),
        ("statusReplicasPath", ".status.", ".status"),
    ] {
        let field = format!("{base}.{k}");
        let p = str_at(scale, &format!("/{k}"));
        if p.is_empty() {
            errs.push(FieldError::required(field, ""));
        } else if let Some(e) = simple_json_path(p, &field) {
            errs.push(e);
        } else if !p.starts_with(prefix) {
            errs.push(FieldError::invalid(
                field,
                quote(p),
                format!("should be a json path under {under}"),
            ));
        }
    }
    let p = str_at(scale, "/labelSelectorPath");
    if !p.is_empty() {
        let field = format!("{base}.labelSelectorPath");
        if let Some(e) = simple_json_path(p, &field) {
            errs.push(e);
        } else if !p.starts_with(".spec.") && !p.starts_with(".status.") {
            errs.push(FieldError::invalid(
                field,
                quote(p),
                "should be a json path under either .spec or .status",
            ));
        }
    }
}

fn validate_column(col: &Value, base: &str, errs: &mut Vec<FieldError>) {
    if str_at(col, "/name").is_empty() {
        errs.push(FieldError::required(format!("{base}.name"), ""));
    }
    let types_msg = format!("must be one of {PRINTER_COLUMN_TYPES}");
    match str_at(col, "/type") {
        "" => errs.push(FieldError::required(format!("{base}.type"), types_msg)),
        t if !PRINTER_COLUMN_TYPES.split(',').any(|x| x == t) => errs.push(FieldError::invalid(
            format!("{base}.type"),
            quote(t),
            types_msg,
        )),
        _ => {}
    }
    let format = str_at(col, "/format");
    if !format.is_empty() && !PRINTER_COLUMN_FORMATS.split(',').any(|x| x == format) {
        errs.push(FieldError::invalid(
            format!("{base}.format"),
            quote(format),
            format!("must be one of {PRINTER_COLUMN_FORMATS}"),
        ));
    }
    // Upstream reports the internal field name here.
    let field = format!("{base}.JSONPath");
    let p = str_at(col, "/jsonPath");
    if p.is_empty() {
        errs.push(FieldError::required(field, ""));
    } else if let Some(e) = simple_json_path(p, &field) {
        errs.push(e);
    }
}

/// `ValidateCustomResourceDefinitionNames` (also used for `status.acceptedNames`).
fn validate_names(names: &Value, base: &str, errs: &mut Vec<FieldError>) {
    for k in ["plural", "singular"] {
        let v = str_at(names, &format!("/{k}"));
        let dns = is_dns1035_label(v);
        if !v.is_empty() && !dns.is_empty() {
            errs.push(FieldError::invalid(
                format!("{base}.{k}"),
                quote(v),
                dns.join(","),
            ));
        }
    }
    for k in ["kind", "listKind"] {
        let v = str_at(names, &format!("/{k}"));
        let dns = is_dns1035_label(&v.to_lowercase());
        if !v.is_empty() && !dns.is_empty() {
            errs.push(FieldError::invalid(
                format!("{base}.{k}"),
                quote(v),
                format!(
                    "may have mixed case, but should otherwise match: {}",
                    dns.join(",")
                ),
            ));
        }
    }
    for (i, s) in strings_at(names, "/shortNames").iter().enumerate() {
        let dns = is_dns1035_label(s);
        if !dns.is_empty() {
            errs.push(FieldError::invalid(
                format!("{base}.shortNames[{i}]"),
                quote(s),
                dns.join(","),
            ));
        }
    }
    let kind = str_at(names, "/kind");
    let list_kind = str_at(names, "/listKind");
    if !kind.is_empty() && kind == list_kind {
        errs.push(FieldError::invalid(
            format!("{base}.listKind"),
            quote(list_kind),
            "kind and listKind may not be the same",
        ));
    }
    for (i, s) in strings_at(names, "/categories").iter().enumerate() {
        let dns = is_dns1035_label(s);
        if !dns.is_empty() {
            errs.push(FieldError::invalid(
                format!("{base}.categories[{i}]"),
                quote(s),
                dns.join(","),
            ));
        }
    }
}

fn validate_conversion(crd: &Value, errs: &mut Vec<FieldError>) {
    let Some(conv) = crd.pointer("/spec/conversion").filter(|c| !c.is_null()) else {
        return;
    };
    match str_at(conv, "/strategy") {
        "" => errs.push(FieldError::required("spec.conversion.strategy", "")),
        "None" => {
            if conv.get("webhook").is_some_and(|w| !w.is_null()) {
                errs.push(FieldError::forbidden(
                    "spec.conversion.webhook",
                    "should not be set when strategy is not set to Webhook",
                ));
            }
        }
        "Webhook" => {
            if conv
                .pointer("/webhook/clientConfig")
                .is_none_or(Value::is_null)
            {
                errs.push(FieldError::required(
                    "spec.conversion.webhook.clientConfig",
                    "required when strategy is set to Webhook",
                ));
            }
            let review = strings_at(conv, "/webhook/conversionReviewVersions");
            if !review.iter().any(|v| v == "v1" || v == "v1beta1") {
                errs.push(FieldError::required(
                    "spec.conversion.webhook.conversionReviewVersions",
                    "must include at least one of v1, v1beta1",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            "spec.conversion.strategy",
            quote(other),
            &["None", "Webhook"],
        )),
    }
}

fn condition_true(crd: &Value, ty: &str) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| str_at(c, "/type") == ty && str_at(c, "/status") == "True")
        })
}

fn validate_update(crd: &Value, old: &Value, errs: &mut Vec<FieldError>) {
    let mut immutable = |pointer: &str, field: &str| {
        let (new, was) = (str_at(crd, pointer), str_at(old, pointer));
        if new != was {
            errs.push(FieldError::invalid(field, quote(new), "field is immutable"));
        }
    };
    if condition_true(old, "Established") {
        immutable("/spec/scope", "spec.scope");
        immutable("/spec/names/kind", "spec.names.kind");
    }
    immutable("/spec/group", "spec.group");
    immutable("/spec/names/plural", "spec.names.plural");

    // Versions that ever stored objects cannot disappear from spec.versions.
    let names: Vec<&str> = versions(crd).iter().map(|v| str_at(v, "/name")).collect();
    for (i, stored) in strings_at(old, "/status/storedVersions").iter().enumerate() {
        if !names.contains(&stored.as_str()) {
            errs.push(FieldError::invalid(
                format!("status.storedVersions[{i}]"),
                quote(stored),
                "must appear in spec.versions",
            ));
        }
    }
}

/// Rebuild `names` in the field order of the Go type, so output reads like upstream's.
fn ordered_names(names: &Map<String, Value>) -> Map<String, Value> {
    const ORDER: [&str; 6] = [
        "plural",
        "singular",
        "shortNames",
        "kind",
        "listKind",
        "categories",
    ];
    let mut out = Map::new();
    for k in ORDER {
        if let Some(v) = names.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    for (k, v) in names {
        if !ORDER.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// v1 defaults: `names.singular` = lowercase kind, `names.listKind` = `<Kind>List`,
/// `conversion.strategy` = `None`, webhook service port 443.
pub fn default_crd(crd: &mut Value) {
    let Some(spec) = crd.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let empty = |names: &Map<String, Value>, k: &str| {
            names
                .get(k)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        };
        if empty(names, "singular") {
            names.insert("singular".into(), Value::String(kind.to_lowercase()));
        }
        if empty(names, "listKind") && !kind.is_empty() {
            names.insert("listKind".into(), Value::String(format!("{kind}List")));
        }
        *names = ordered_names(names);
    }
    match spec.get_mut("conversion") {
        Some(Value::Object(conv)) => {
            if conv
                .get("strategy")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                conv.insert("strategy".into(), json!("None"));
            }
            if let Some(svc) = conv
                .get_mut("webhook")
                .and_then(|w| w.get_mut("clientConfig"))
                .and_then(|c| c.get_mut("service"))
                .and_then(Value::as_object_mut)
            {
                svc.entry("port").or_insert(json!(443));
            }
        }
        _ => {
            spec.insert("conversion".into(), json!({"strategy": "None"}));
        }
    }
}

fn storage_version(crd: &Value) -> Option<&str> {
    versions(crd)
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .and_then(|v| v.get("name"))
        .and_then(Value::as_str)
}

/// The names as served: `spec.names` with the v1 defaults filled in.
fn effective_names(crd: &Value) -> Map<String, Value> {
    let mut names = crd
        .pointer("/spec/names")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let kind = names
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if names
        .get("singular")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        names.insert("singular".into(), Value::String(kind.to_lowercase()));
    }
    if names
        .get("listKind")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        && !kind.is_empty()
    {
        names.insert("listKind".into(), Value::String(format!("{kind}List")));
    }
    for k in ["shortNames", "categories"] {
        if names
            .get(k)
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            names.remove(k);
        }
    }
    ordered_names(&names)
}

fn set_condition(conditions: &mut Vec<Value>, ty: &str, reason: &str, message: &str, now: &str) {
    let fresh = json!({
        "type": ty,
        "status": "True",
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    });
    match conditions.iter_mut().find(|c| str_at(c, "/type") == ty) {
        Some(c) => {
            let mut fresh = fresh;
            // The transition time only moves when the status changes.
            if str_at(c, "/status") == "True" {
                if let Some(t) = c.get("lastTransitionTime").filter(|t| t.is_string()) {
                    fresh["lastTransitionTime"] = t.clone();
                }
            }
            *c = fresh;
        }
        None => conditions.push(fresh),
    }
}

/// The status a real apiserver writes once it accepts the CRD.
pub fn crd_status(crd: &Value, now_unix: i64) -> Value {
    let now = crate::meta::rfc3339(now_unix);
    let mut conditions: Vec<Value> = crd
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    set_condition(
        &mut conditions,
        "NamesAccepted",
        "NoConflicts",
        "no conflicts found",
        &now,
    );
    set_condition(
        &mut conditions,
        "Established",
        "InitialNamesAccepted",
        "the initial names have been accepted",
        &now,
    );
    let mut stored = strings_at(crd, "/status/storedVersions");
    if let Some(v) = storage_version(crd) {
        if !stored.iter().any(|s| s == v) {
            stored.push(v.to_string());
        }
    }
    json!({
        "conditions": conditions,
        "acceptedNames": Value::Object(effective_names(crd)),
        "storedVersions": stored,
    })
}

/// Served versions of a (valid) CRD, in `spec.versions` order.
pub fn served_versions(crd: &Value) -> Vec<ServedVersion> {
    let names = Value::Object(effective_names(crd));
    let name = |k: &str| str_at(&names, &format!("/{k}")).to_string();
    let list = |k: &str| strings_at(&names, &format!("/{k}"));
    let scope = if str_at(crd, "/spec/scope") == "Cluster" {
        Scope::Cluster
    } else {
        Scope::Namespaced
    };
    let group = str_at(crd, "/spec/group").to_string();
    versions(crd)
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .map(|v| {
            let status = v
                .pointer("/subresources/status")
                .is_some_and(|s| !s.is_null());
            let scale = v
                .pointer("/subresources/scale")
                .filter(|s| !s.is_null())
                .map(|s| ScaleSpec {
                    spec_replicas_path: str_at(s, "/specReplicasPath").to_string(),
                    status_replicas_path: str_at(s, "/statusReplicasPath").to_string(),
                    label_selector_path: Some(str_at(s, "/labelSelectorPath"))
                        .filter(|p| !p.is_empty())
                        .map(str::to_string),
                });
            let mut subresources = Vec::new();
            if status {
                subresources.push("status".to_string());
            }
            if scale.is_some() {
                subresources.push("scale".to_string());
            }
            ServedVersion {
                resource: Resource {
                    group: group.clone(),
                    version: str_at(v, "/name").to_string(),
                    kind: name("kind"),
                    list_kind: name("listKind"),
                    plural: name("plural"),
                    singular: name("singular"),
                    scope,
                    short_names: list("shortNames"),
                    categories: list("categories"),
                    subresources,
                    custom: true,
                },
                storage: v.get("storage").and_then(Value::as_bool) == Some(true),
                schema: v
                    .pointer("/schema/openAPIV3Schema")
                    .filter(|s| !s.is_null())
                    .cloned(),
                status_subresource: status,
                scale,
                printer_columns: v
                    .get("additionalPrinterColumns")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            }
        })
        .collect()
}
