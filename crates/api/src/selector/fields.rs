//! Field selectors: apimachinery `fields.ParseSelector` plus the per-kind field
//! label conversions the apiserver runs over every term.
//!
//! Upstream has two separate lists per kind and both are mirrored here:
//! which labels a request may use (the scheme's field label conversion funcs,
//! `pkg/apis/<group>/<version>/conversion.go`; a kind without one accepts only
//! `metadata.name`/`metadata.namespace`), and which values an object exposes
//! (`ToSelectableFields` in `pkg/registry/...`). A label that is accepted but
//! never exposed (Pod `status.podIPs`) reads as "" when matching, and one that
//! is exposed but not accepted (apps/v1 ReplicaSet `status.replicas`) is
//! rejected with 400, exactly as a real cluster behaves.

use std::fmt;

use serde_json::Value;

use crate::registry::is_builtin_kind;

/// One `field=value` or `field!=value` term; `field` is the canonical label
/// (after aliases such as Pod `spec.host` → `spec.nodeName`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    field: String,
    value: String,
    negated: bool,
}

/// A parsed field selector bound to the kind it was checked against.
/// The default (no terms) matches everything.
#[derive(Debug, Clone, Default)]
pub struct FieldSelector {
    group: String,
    kind: String,
    terms: Vec<Term>,
}

// === impl FieldSelector ===

impl FieldSelector {
    /// Parses `s` and checks every field is supported for (group, kind). Errors
    /// carry upstream's text; the apiserver answers them with 400 BadRequest.
    pub fn parse(s: &str, group: &str, kind: &str) -> Result<FieldSelector, String> {
        let mut parts = split_terms(s);
        parts.sort_unstable();
        let mut raw = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            raw.push((lhs, op == "!=", unescape_value(rhs)?));
        }
        // Syntax is checked for the whole string before any label is converted.
        let rules = Rules::of(group, kind);
        let terms = raw
            .into_iter()
            .map(|(lhs, negated, value)| {
                Ok(Term {
                    field: rules.convert(lhs)?,
                    value,
                    negated,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(FieldSelector {
            group: group.to_string(),
            kind: kind.to_string(),
            terms,
        })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|t| {
            // `fields.Set.Get` yields "" for a field the kind does not expose.
            let actual = field_value(&self.group, &self.kind, obj, &t.field).unwrap_or_default();
            (actual == t.value) != t.negated
        })
    }

    /// The name when the selector is exactly one `metadata.name=<n>` term, so
    /// the server can answer with a point lookup.
    pub fn exact_name(&self) -> Option<&str> {
        match self.terms.as_slice() {
            [t] if t.field == "metadata.name" && !t.negated => Some(&t.value),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// Canonical string, with values escaped as `fields.EscapeValue` does.
impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = if t.negated { "!=" } else { "=" };
            write!(f, "{}{op}{}", t.field, escape_value(&t.value))?;
        }
        Ok(())
    }
}

// === syntax ===

/// Splits on commas not escaped by a backslash; the backslash stays in the term.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// The first operator occurrence splits the term; `!=` and `==` win over `=`
/// at the same position. The left side has no escaping.
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], op, rhs));
            }
        }
    }
    None
}

fn unescape_value(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{c}"
                    ))
                }
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            // Upstream formats the rune with %v, which prints its code point.
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    u32::from(c)
                ))
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// === per-kind label conversion ===

const POD: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("metadata.namespace", "metadata.namespace"),
    ("spec.nodeName", "spec.nodeName"),
    ("spec.restartPolicy", "spec.restartPolicy"),
    ("spec.schedulerName", "spec.schedulerName"),
    ("spec.serviceAccountName", "spec.serviceAccountName"),
    ("spec.hostNetwork", "spec.hostNetwork"),
    ("status.phase", "status.phase"),
    ("status.podIP", "status.podIP"),
    ("status.podIPs", "status.podIPs"),
    ("status.nominatedNodeName", "status.nominatedNodeName"),
    // Old v1 clients send the pre-rename name.
    ("spec.host", "spec.nodeName"),
];
const NODE: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("spec.unschedulable", "spec.unschedulable"),
];
const REPLICATION_CONTROLLER: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("metadata.namespace", "metadata.namespace"),
    ("status.replicas", "status.replicas"),
];
const EVENT: &[(&str, &str)] = &[
    ("involvedObject.kind", "involvedObject.kind"),
    ("involvedObject.namespace", "involvedObject.namespace"),
    ("involvedObject.name", "involvedObject.name"),
    ("involvedObject.uid", "involvedObject.uid"),
    ("involvedObject.apiVersion", "involvedObject.apiVersion"),
    (
        "involvedObject.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("involvedObject.fieldPath", "involvedObject.fieldPath"),
    ("reason", "reason"),
    ("reportingComponent", "reportingComponent"),
    ("source", "source"),
    ("type", "type"),
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
];
/// events.k8s.io/v1 spells the core labels differently and maps them back.
const EVENT_V1: &[(&str, &str)] = &[
    ("reason", "reason"),
    ("regarding.kind", "involvedObject.kind"),
    ("regarding.namespace", "involvedObject.namespace"),
    ("regarding.name", "involvedObject.name"),
    ("regarding.uid", "involvedObject.uid"),
    ("regarding.apiVersion", "involvedObject.apiVersion"),
    (
        "regarding.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("regarding.fieldPath", "involvedObject.fieldPath"),
    ("reportingController", "reportingComponent"),
    ("type", "type"),
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
];
const NAMESPACE: &[(&str, &str)] = &[
    ("status.phase", "status.phase"),
    ("metadata.name", "metadata.name"),
];
const SECRET: &[(&str, &str)] = &[
    ("type", "type"),
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
];
const SERVICE: &[(&str, &str)] = &[
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
    ("spec.clusterIP", "spec.clusterIP"),
    ("spec.type", "spec.type"),
];
const JOB: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("metadata.namespace", "metadata.namespace"),
    ("status.successful", "status.successful"),
];
const CSR: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("spec.signerName", "spec.signerName"),
];

/// Groups served by kube-apiserver itself; a kind there without a registered
/// conversion func gets `DefaultMetaV1FieldSelectorConversion`.
const UPSTREAM_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
];

enum Rules {
    /// A registered conversion func: the accepted labels and their canonical form.
    Table {
        labels: &'static [(&'static str, &'static str)],
        job_message: bool,
    },
    /// `runtime.DefaultMetaV1FieldSelectorConversion`.
    MetaOnly,
    /// The apiextensions converter for custom resources.
    Custom,
}

impl Rules {
    fn of(group: &str, kind: &str) -> Rules {
        let table = |labels| Rules::Table {
            labels,
            job_message: false,
        };
        match (group, kind) {
            ("", "Pod") => table(POD),
            ("", "Node") => table(NODE),
            ("", "ReplicationController") => table(REPLICATION_CONTROLLER),
            ("", "Event") => table(EVENT),
            ("events.k8s.io", "Event") => table(EVENT_V1),
            ("", "Namespace") => table(NAMESPACE),
            ("", "Secret") => table(SECRET),
            ("", "Service") => table(SERVICE),
            ("batch", "Job") => Rules::Table {
                labels: JOB,
                job_message: true,
            },
            ("certificates.k8s.io", "CertificateSigningRequest") => table(CSR),
            _ if is_builtin_kind(group, kind) || UPSTREAM_GROUPS.contains(&group) => {
                Rules::MetaOnly
            }
            _ => Rules::Custom,
        }
    }

    fn convert(&self, label: &str) -> Result<String, String> {
        let meta = matches!(label, "metadata.name" | "metadata.namespace");
        match self {
            Rules::Table {
                labels,
                job_message,
            } => match labels.iter().find(|(l, _)| *l == label) {
                Some((_, canonical)) => Ok((*canonical).to_string()),
                None if *job_message => Err(format!(
                    "field label {} not supported for batchv1.Job",
                    crate::errors::quote(label)
                )),
                None => Err(format!("field label not supported: {label}")),
            },
            Rules::MetaOnly if meta => Ok(label.to_string()),
            Rules::MetaOnly => Err(format!(
                "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                crate::errors::quote(label)
            )),
            // Custom resources' schema-declared selectableFields are not known here.
            Rules::Custom if meta => Ok(label.to_string()),
            Rules::Custom => Err(format!("field label not supported: {label}")),
        }
    }
}

// === selectable values ===

fn str_at(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn bool_at(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer)
        .and_then(Value::as_bool)
        .unwrap_or(false)
        .to_string()
}

fn int_at(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .to_string()
}

fn first_non_empty(obj: &Value, pointers: &[&str]) -> String {
    pointers
        .iter()
        .map(|p| str_at(obj, p))
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

/// The value of a selectable field of an object in its v1 JSON form, as the
/// kind's `ToSelectableFields` computes it (`spec.hostNetwork` renders
/// `true`/`false`, counts render as integers, missing strings as ""). `None`
/// when the kind does not expose `field` (matching then compares against "").
pub fn field_value(group: &str, kind: &str, obj: &Value, field: &str) -> Option<String> {
    let cluster_scoped = matches!(
        (group, kind),
        ("", "Node") | ("", "Namespace") | ("certificates.k8s.io", "CertificateSigningRequest")
    );
    match field {
        "metadata.name" => return Some(str_at(obj, "/metadata/name")),
        "metadata.namespace" if !cluster_scoped => return Some(str_at(obj, "/metadata/namespace")),
        _ => {}
    }
    let v = match (group, kind, field) {
        ("", "Pod", "spec.nodeName") => str_at(obj, "/spec/nodeName"),
        ("", "Pod", "spec.restartPolicy") => str_at(obj, "/spec/restartPolicy"),
        ("", "Pod", "spec.schedulerName") => str_at(obj, "/spec/schedulerName"),
        ("", "Pod", "spec.serviceAccountName") => str_at(obj, "/spec/serviceAccountName"),
        ("", "Pod", "spec.hostNetwork") => bool_at(obj, "/spec/hostNetwork"),
        ("", "Pod", "status.phase") => str_at(obj, "/status/phase"),
        // The internal type keeps only podIPs; v1 conversion fills it from podIP.
        ("", "Pod", "status.podIP") => {
            first_non_empty(obj, &["/status/podIPs/0/ip", "/status/podIP"])
        }
        ("", "Pod", "status.nominatedNodeName") => str_at(obj, "/status/nominatedNodeName"),
        ("", "Node", "spec.unschedulable") => bool_at(obj, "/spec/unschedulable"),
        ("", "Namespace", "status.phase") => str_at(obj, "/status/phase"),
        // Kept upstream for backward compatibility, though no request can use it.
        ("", "Namespace", "name") => str_at(obj, "/metadata/name"),
        ("", "Secret", "type") => str_at(obj, "/type"),
        ("", "Service", "spec.clusterIP") => str_at(obj, "/spec/clusterIP"),
        ("", "Service", "spec.type") => str_at(obj, "/spec/type"),
        ("", "ReplicationController", "status.replicas")
        | ("apps", "ReplicaSet", "status.replicas") => int_at(obj, "/status/replicas"),
        ("batch", "Job", "status.successful") => int_at(obj, "/status/succeeded"),
        ("certificates.k8s.io", "CertificateSigningRequest", "spec.signerName") => {
            str_at(obj, "/spec/signerName")
        }
        ("" | "events.k8s.io", "Event", f) => return event_field(obj, f),
        _ => return None,
    };
    Some(v)
}

/// Core and events.k8s.io Events share storage; read either wire shape.
fn event_field(obj: &Value, field: &str) -> Option<String> {
    let reporting = || first_non_empty(obj, &["/reportingComponent", "/reportingController"]);
    Some(match field {
        "reason" => str_at(obj, "/reason"),
        "type" => str_at(obj, "/type"),
        "reportingComponent" => reporting(),
        "source" => {
            let s = first_non_empty(obj, &["/source/component", "/deprecatedSource/component"]);
            if s.is_empty() {
                reporting()
            } else {
                s
            }
        }
        f => {
            let sub = f.strip_prefix("involvedObject.")?;
            if !matches!(
                sub,
                "kind"
                    | "namespace"
                    | "name"
                    | "uid"
                    | "apiVersion"
                    | "resourceVersion"
                    | "fieldPath"
            ) {
                return None;
            }
            first_non_empty(
                obj,
                &[
                    &format!("/involvedObject/{sub}"),
                    &format!("/regarding/{sub}"),
                ],
            )
        }
    })
}
