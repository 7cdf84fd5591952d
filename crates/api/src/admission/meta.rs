//! ObjectMeta validation: apimachinery `ValidateObjectMetaAccessor` and
//! `ValidateObjectMetaAccessorUpdate`, plus core's extra check that bare
//! finalizer names are standard ones; and the metav1 LabelSelector helpers.

use serde_json::{Map, Value};

use super::errs::*;
use super::names::{self, NameRule};
use super::render::{go_quote, go_string_slice};
use super::val;

const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// Which flavour of ObjectMeta validation a kind uses.
#[derive(Clone, Copy)]
pub(crate) struct MetaRules {
    pub(crate) name: NameRule,
    pub(crate) namespaced: bool,
    /// core's `ValidateObjectMeta` also rejects non-standard bare finalizers.
    pub(crate) kube_finalizers: bool,
}

impl MetaRules {
    pub(crate) fn namespaced(name: NameRule) -> MetaRules {
        MetaRules {
            name,
            namespaced: true,
            kube_finalizers: true,
        }
    }
    pub(crate) fn cluster(name: NameRule) -> MetaRules {
        MetaRules {
            name,
            namespaced: false,
            kube_finalizers: true,
        }
    }
}

fn meta(obj: &Value) -> &Value {
    val::path(obj, &["metadata"])
}

/// Create-time ObjectMeta validation.
pub(crate) fn validate_create(obj: &Value, rules: MetaRules) -> Errs {
    let m = meta(obj);
    let p = Path::new("metadata");
    let mut errs = Errs::new();
    let generate_name = val::s(m, "generateName");
    if !generate_name.is_empty() {
        let msgs = names::apply_rule(rules.name, generate_name, true);
        each_invalid(&mut errs, &p.child("generateName"), generate_name, msgs);
    }
    let name = val::s(m, "name");
    if name.is_empty() {
        errs.push(required(
            &p.child("name"),
            "name or generateName is required",
        ));
    } else {
        let msgs = names::apply_rule(rules.name, name, false);
        each_invalid(&mut errs, &p.child("name"), name, msgs);
    }
    // Cluster-scoped objects: upstream BeforeCreate clears a stray namespace
    // before validation, so only namespaced kinds are checked here.
    if rules.namespaced {
        let ns = val::s(m, "namespace");
        if ns.is_empty() {
            errs.push(required(&p.child("namespace"), ""));
        } else {
            let msgs = names::is_dns1123_label(ns);
            each_invalid(&mut errs, &p.child("namespace"), ns, msgs);
        }
    }
    nonnegative(
        &mut errs,
        &p.child("generation"),
        val::int0(m, "generation"),
    );
    labels_annotations_owners(&mut errs, m, &p);
    validate_finalizers(
        &mut errs,
        m.get("finalizers").and_then(Value::as_array),
        &p.child("finalizers"),
    );
    if rules.kube_finalizers {
        validate_kube_finalizers(&mut errs, val::arr(m, "finalizers"), &p.child("finalizers"));
    }
    errs
}

/// Update-time ObjectMeta validation. Fields the apiserver copies from the
/// stored object when a client omits them (uid, creationTimestamp, an
/// existing deletionTimestamp) are only compared when the client sent them.
pub(crate) fn validate_update(new: &Value, old: &Value, rules: MetaRules) -> Errs {
    let (nm, om) = (meta(new), meta(old));
    let p = Path::new("metadata");
    let mut errs = Errs::new();
    if val::has(om, "deletionTimestamp") {
        let old_f: Vec<&str> = val::arr(om, "finalizers")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut extra: Vec<&str> = val::arr(nm, "finalizers")
            .iter()
            .filter_map(Value::as_str)
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort_unstable();
        extra.dedup();
        if !extra.is_empty() {
            let list: Vec<String> = extra.iter().map(|f| go_quote(f)).collect();
            errs.push(forbidden(
                &p.child("finalizers"),
                &format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    list.join(", ")
                ),
            ));
        }
    }
    let (ng, og) = (val::int0(nm, "generation"), val::int0(om, "generation"));
    if ng < og {
        errs.push(invalid_int(
            &p.child("generation"),
            ng,
            "must not be decremented",
        ));
    }
    for key in ["name", "namespace"] {
        let (n, o) = (val::s(nm, key), val::s(om, key));
        if n != o {
            errs.push(invalid_str(&p.child(key), n, FIELD_IMMUTABLE));
        }
    }
    let uid = val::s(nm, "uid");
    if !uid.is_empty() && uid != val::s(om, "uid") {
        errs.push(invalid_str(&p.child("uid"), uid, FIELD_IMMUTABLE));
    }
    if let Some(n) = val::opt_s(nm, "creationTimestamp") {
        let o = val::opt_s(om, "creationTimestamp");
        if o.is_some() && crate::meta::parse_rfc3339(n) != o.and_then(crate::meta::parse_rfc3339) {
            errs.push(invalid(
                &p.child("creationTimestamp"),
                go_time(n),
                FIELD_IMMUTABLE,
            ));
        }
    }
    if let Some(n) = val::opt_s(nm, "deletionTimestamp") {
        if !val::has(om, "deletionTimestamp") {
            errs.push(invalid(
                &p.child("deletionTimestamp"),
                go_time(n),
                FIELD_IMMUTABLE,
            ));
        }
    }
    if let Some(n) = val::int(nm, "deletionGracePeriodSeconds") {
        if val::int(om, "deletionGracePeriodSeconds") != Some(n) {
            errs.push(invalid_int(
                &p.child("deletionGracePeriodSeconds"),
                n,
                FIELD_IMMUTABLE,
            ));
        }
    }
    labels_annotations_owners(&mut errs, nm, &p);
    if rules.kube_finalizers {
        validate_kube_finalizers(
            &mut errs,
            val::arr(nm, "finalizers"),
            &p.child("finalizers"),
        );
    }
    errs
}

/// The checks create and update share, in upstream's order.
fn labels_annotations_owners(errs: &mut Errs, m: &Value, p: &Path) {
    validate_labels(errs, val::obj(m, "labels"), &p.child("labels"));
    validate_annotations(errs, val::obj(m, "annotations"), &p.child("annotations"));
    let owners = val::arr(m, "ownerReferences");
    validate_owner_references(errs, owners, &p.child("ownerReferences"));
}

/// `metav1.Time.String()` of an RFC 3339 timestamp.
fn go_time(s: &str) -> String {
    match crate::meta::parse_rfc3339(s) {
        Some(unix) => {
            let r = crate::meta::rfc3339(unix);
            format!("{} {} +0000 UTC", &r[..10], &r[11..19])
        }
        None => go_quote(s),
    }
}

/// `metav1validation.ValidateLabels`: errors carry the map's path, not the key.
pub(crate) fn validate_labels(errs: &mut Errs, labels: Option<&Map<String, Value>>, p: &Path) {
    for (k, v) in val::str_map(labels) {
        each_invalid(errs, p, k, names::is_qualified_name(k));
        each_invalid(errs, p, v, names::is_valid_label_value(v));
    }
}

/// `ValidateAnnotations`: keys are case-insensitive qualified names; the total
/// size of keys and values is capped at 256 KiB.
pub(crate) fn validate_annotations(errs: &mut Errs, ann: Option<&Map<String, Value>>, p: &Path) {
    let mut total = 0usize;
    for (k, v) in val::str_map(ann) {
        each_invalid(errs, p, k, names::is_qualified_name(&k.to_lowercase()));
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(too_long(p, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}

fn go_owner_ref(r: &Value) -> String {
    let ptr = |key: &str| match val::boolean(r, key) {
        Some(_) => "(*bool)(0xc000000000)".to_string(),
        None => "(*bool)(nil)".to_string(),
    };
    format!(
        "v1.OwnerReference{{APIVersion:{}, Kind:{}, Name:{}, UID:{}, Controller:{}, BlockOwnerDeletion:{}}}",
        go_quote(val::s(r, "apiVersion")),
        go_quote(val::s(r, "kind")),
        go_quote(val::s(r, "name")),
        go_quote(val::s(r, "uid")),
        ptr("controller"),
        ptr("blockOwnerDeletion")
    )
}

fn validate_owner_references(errs: &mut Errs, refs: &[Value], p: &Path) {
    let mut first_controller: Option<String> = None;
    for r in refs {
        let api_version = val::s(r, "apiVersion");
        let (group, version) = match api_version.split('/').collect::<Vec<_>>().as_slice() {
            [v] => ("", *v),
            [g, v] => (*g, *v),
            _ => ("", ""),
        };
        let kind = val::s(r, "kind");
        if version.is_empty() {
            errs.push(invalid_str(
                &p.child("apiVersion"),
                api_version,
                "version must not be empty",
            ));
        }
        if kind.is_empty() {
            errs.push(invalid_str(
                &p.child("kind"),
                kind,
                "kind must not be empty",
            ));
        }
        if val::s(r, "name").is_empty() {
            errs.push(invalid_str(&p.child("name"), "", "name must not be empty"));
        }
        if val::s(r, "uid").is_empty() {
            errs.push(invalid_str(&p.child("uid"), "", "uid must not be empty"));
        }
        if group.is_empty() && version == "v1" && kind == "Event" {
            errs.push(invalid(
                p,
                go_owner_ref(r),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if val::boolean(r, "controller") == Some(true) {
            let cur = format!("{}/{}", kind, val::s(r, "name"));
            match &first_controller {
                Some(first) => {
                    let all: Vec<String> = refs.iter().map(go_owner_ref).collect();
                    errs.push(invalid(
                        p,
                        format!("[]v1.OwnerReference{{{}}}", all.join(", ")),
                        &format!(
                            "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {cur}"
                        ),
                    ));
                }
                None => first_controller = Some(cur),
            }
        }
    }
}

fn validate_finalizers(errs: &mut Errs, finalizers: Option<&Vec<Value>>, p: &Path) {
    let list: Vec<&str> = finalizers
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for f in &list {
        each_invalid(errs, p, f, names::is_qualified_name(f));
    }
    if list.contains(&"orphan") && list.contains(&"foregroundDeletion") {
        errs.push(invalid(
            p,
            go_string_slice(finalizers),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
}

fn validate_kube_finalizers(errs: &mut Errs, finalizers: &[Value], p: &Path) {
    for (i, f) in finalizers.iter().enumerate() {
        let f = f.as_str().unwrap_or("");
        if !f.contains('/') && !STANDARD_FINALIZERS.contains(&f) {
            errs.push(invalid_str(
                &p.index(i),
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
}

/// Finalizer names in Namespace `spec.finalizers` (qualified + standard).
pub(crate) fn validate_finalizer_name(errs: &mut Errs, f: &str, p: &Path) {
    each_invalid(errs, p, f, names::is_qualified_name(f));
    if !f.contains('/') && !STANDARD_FINALIZERS.contains(&f) {
        errs.push(invalid_str(
            p,
            f,
            "name is neither a standard finalizer name nor is it fully qualified",
        ));
    }
}

/// `metav1validation.ValidateLabelSelector` (strict label values).
pub(crate) fn validate_label_selector(errs: &mut Errs, sel: Option<&Value>, p: &Path) {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return;
    };
    validate_labels(errs, val::obj(sel, "matchLabels"), &p.child("matchLabels"));
    for (i, r) in val::arr(sel, "matchExpressions").iter().enumerate() {
        let rp = p.child("matchExpressions").index(i);
        selector_requirement(errs, r, &rp, false);
        let values = val::arr(r, "values");
        for (j, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            each_invalid(
                errs,
                &rp.child("values").index(j),
                v,
                names::is_valid_label_value(v),
            );
        }
    }
}

/// The operator, value-count and key rules label and node selector
/// requirements share; `numeric` admits node selectors' `Gt` and `Lt`.
pub(crate) fn selector_requirement(errs: &mut Errs, r: &Value, p: &Path, numeric: bool) {
    let values = val::arr(r, "values");
    match val::s(r, "operator") {
        "In" | "NotIn" => {
            if values.is_empty() {
                errs.push(required(
                    &p.child("values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ));
            }
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                errs.push(forbidden(
                    &p.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ));
            }
        }
        "Gt" | "Lt" if numeric => {
            if values.len() != 1 {
                errs.push(required(
                    &p.child("values"),
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                ));
            }
        }
        op => errs.push(invalid_str(
            &p.child("operator"),
            op,
            "not a valid selector operator",
        )),
    }
    let key = val::s(r, "key");
    each_invalid(errs, &p.child("key"), key, names::is_qualified_name(key));
}

/// A `metav1.LabelSelector` converted as `LabelSelectorAsSelector` does.
pub(crate) enum Selector<'a> {
    /// A nil selector: matches nothing (and is not "empty").
    Nothing,
    /// No requirements: matches everything.
    Everything,
    Requirements(&'a Value),
}

/// `LabelSelectorAsSelector`; Err when any requirement is malformed.
pub(crate) fn as_selector(sel: Option<&Value>) -> Result<Selector<'_>, ()> {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return Ok(Selector::Nothing);
    };
    let labels = val::str_map(val::obj(sel, "matchLabels"));
    let exprs = val::arr(sel, "matchExpressions");
    if labels.is_empty() && exprs.is_empty() {
        return Ok(Selector::Everything);
    }
    for (k, v) in labels {
        if !names::is_qualified_name(k).is_empty() || !names::is_valid_label_value(v).is_empty() {
            return Err(());
        }
    }
    for r in exprs {
        let values = val::arr(r, "values");
        let ok = match val::s(r, "operator") {
            "In" | "NotIn" => !values.is_empty(),
            "Exists" | "DoesNotExist" => values.is_empty(),
            _ => false,
        };
        if !ok || !names::is_qualified_name(val::s(r, "key")).is_empty() {
            return Err(());
        }
        if values
            .iter()
            .any(|v| !names::is_valid_label_value(v.as_str().unwrap_or("")).is_empty())
        {
            return Err(());
        }
    }
    Ok(Selector::Requirements(sel))
}

impl Selector<'_> {
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Selector::Everything)
    }

    pub(crate) fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let sel = match self {
            Selector::Nothing => return false,
            Selector::Everything => return true,
            Selector::Requirements(s) => s,
        };
        let get = |k: &str| labels.and_then(|m| m.get(k)).and_then(Value::as_str);
        for (k, v) in val::str_map(val::obj(sel, "matchLabels")) {
            if get(k) != Some(v) {
                return false;
            }
        }
        for r in val::arr(sel, "matchExpressions") {
            let key = val::s(r, "key");
            let values: Vec<&str> = val::arr(r, "values")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let ok = match (val::s(r, "operator"), get(key)) {
                ("In", Some(v)) => values.contains(&v),
                ("In", None) => false,
                ("NotIn", Some(v)) => !values.contains(&v),
                ("NotIn", None) => true,
                ("Exists", x) => x.is_some(),
                ("DoesNotExist", x) => x.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
        true
    }
}
