//! apps/v1 Deployment and ReplicaSet validation (pkg/apis/apps/validation and
//! the selector-immutability rule of the registry strategies' ValidateUpdate).

use serde_json::Value;

use super::errs::*;
use super::meta::{self, MetaRules};
use super::names::{self, NameRule};
use super::pod::{normalize, validate_template};
use super::render::{go_int_or_string, go_label_selector, go_quote, go_string_map};
use super::val;

fn rules() -> MetaRules {
    MetaRules::namespaced(NameRule::Dns1123Subdomain)
}

fn object_meta(obj: &Value, old: Option<&Value>) -> Errs {
    match old {
        None => meta::validate_create(obj, rules()),
        Some(old) => meta::validate_update(obj, old, rules()),
    }
}

pub(crate) fn validate_deployment(obj: &Value, old: Option<&Value>) -> Errs {
    let mut errs = object_meta(obj, old);
    let spec = val::path(obj, &["spec"]);
    let p = Path::new("spec");
    nonnegative(&mut errs, &p.child("replicas"), val::int0(spec, "replicas"));
    selector_and_template(&mut errs, spec, &p);
    strategy(&mut errs, spec, &p.child("strategy"));
    let min_ready = val::int0(spec, "minReadySeconds");
    nonnegative(&mut errs, &p.child("minReadySeconds"), min_ready);
    if let Some(rhl) = val::int(spec, "revisionHistoryLimit") {
        nonnegative(&mut errs, &p.child("revisionHistoryLimit"), rhl);
    }
    if let Some(pds) = val::int(spec, "progressDeadlineSeconds") {
        nonnegative(&mut errs, &p.child("progressDeadlineSeconds"), pds);
        if pds <= min_ready {
            errs.push(invalid_int(
                &p.child("progressDeadlineSeconds"),
                pds,
                "must be greater than minReadySeconds",
            ));
        }
    }
    if let Some(old) = old {
        selector_immutable(&mut errs, spec, val::path(old, &["spec"]), &p);
    }
    errs
}

pub(crate) fn validate_replica_set(obj: &Value, old: Option<&Value>) -> Errs {
    let mut errs = object_meta(obj, old);
    let spec = val::path(obj, &["spec"]);
    let p = Path::new("spec");
    nonnegative(&mut errs, &p.child("replicas"), val::int0(spec, "replicas"));
    nonnegative(
        &mut errs,
        &p.child("minReadySeconds"),
        val::int0(spec, "minReadySeconds"),
    );
    selector_and_template(&mut errs, spec, &p);
    if let Some(old) = old {
        selector_immutable(&mut errs, spec, val::path(old, &["spec"]), &p);
    }
    errs
}

/// Upstream compares `*metav1.LabelSelector` semantically; nil and empty
/// collections are equal.
fn selector_immutable(errs: &mut Errs, spec: &Value, old_spec: &Value, p: &Path) {
    let norm = |s: &Value| normalize(val::path(s, &["selector"]));
    if norm(spec) != norm(old_spec) {
        let rendered = match val::get(spec, "selector") {
            Some(sel) => go_label_selector(sel),
            None => "null".to_string(),
        };
        errs.push(invalid(&p.child("selector"), rendered, FIELD_IMMUTABLE));
    }
}

/// The selector checks shared by Deployment and ReplicaSet (both say
/// "deployment" in the empty-selector message upstream) and
/// `ValidatePodTemplateSpecForReplicaSet`.
fn selector_and_template(errs: &mut Errs, spec: &Value, p: &Path) {
    let sp = p.child("selector");
    let sel = val::get(spec, "selector");
    match sel {
        None => errs.push(required(&sp, "")),
        Some(s) => {
            meta::validate_label_selector(errs, Some(s), &sp);
            let empty = val::obj(s, "matchLabels").is_none_or(|m| m.is_empty())
                && val::arr(s, "matchExpressions").is_empty();
            if empty {
                errs.push(invalid(
                    &sp,
                    go_label_selector(s),
                    "empty selector is invalid for deployment",
                ));
            }
        }
    }
    let tp = p.child("template");
    let template = val::path(spec, &["template"]);
    match meta::as_selector(sel) {
        Err(()) => {
            let rendered = sel.map(go_label_selector).unwrap_or_else(|| "null".into());
            errs.push(invalid(&sp, rendered, "invalid label selector"));
        }
        Ok(selector) => {
            let labels = val::obj(val::path(template, &["metadata"]), "labels");
            if !selector.is_empty() && !selector.matches(labels) {
                errs.push(invalid(
                    &tp.child("metadata").child("labels"),
                    go_string_map(labels),
                    "`selector` does not match template `labels`",
                ));
            }
            validate_template(errs, template, &tp);
            let tsp = tp.child("spec");
            let restart = val::s(val::path(template, &["spec"]), "restartPolicy");
            if restart != "Always" {
                errs.push(not_supported_str(
                    &tsp.child("restartPolicy"),
                    restart,
                    &["Always"],
                ));
            }
            if val::has(val::path(template, &["spec"]), "activeDeadlineSeconds") {
                errs.push(forbidden(
                    &tsp.child("activeDeadlineSeconds"),
                    "activeDeadlineSeconds in ReplicaSet is not Supported",
                ));
            }
        }
    }
}

fn strategy(errs: &mut Errs, spec: &Value, p: &Path) {
    let strategy = val::path(spec, &["strategy"]);
    let ru = val::get(strategy, "rollingUpdate");
    match val::s(strategy, "type") {
        "Recreate" => {
            if ru.is_some() {
                errs.push(forbidden(
                    &p.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match ru {
            None => errs.push(required(
                &p.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            )),
            Some(ru) => rolling_update(errs, ru, &p.child("rollingUpdate")),
        },
        other => {
            let ru_ptr = if ru.is_some() {
                "(*apps.RollingUpdateDeployment)(0xc000000000)"
            } else {
                "(*apps.RollingUpdateDeployment)(nil)"
            };
            errs.push(not_supported(
                p,
                format!(
                    "apps.DeploymentStrategy{{Type:{}, RollingUpdate:{ru_ptr}}}",
                    go_quote(other)
                ),
                &["Recreate", "RollingUpdate"],
            ));
        }
    }
}

/// `getPercentValue`: Some(n) for a valid "n%".
fn percent(v: Option<&Value>) -> Option<i64> {
    let s = v?.as_str()?;
    if !names::is_valid_percent(s).is_empty() {
        return None;
    }
    s[..s.len() - 1].parse().ok()
}

/// `getIntOrPercentValue`: a percentage's number, an int, or `Atoi` of an
/// invalid string (0 when it does not parse).
fn int_or_percent_value(v: Option<&Value>) -> i64 {
    if let Some(p) = percent(v) {
        return p;
    }
    match v {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(x) => x.as_i64().unwrap_or(0),
        None => 0,
    }
}

fn positive_int_or_percent(errs: &mut Errs, v: Option<&Value>, p: &Path) {
    match v {
        Some(Value::String(s)) => {
            for m in names::is_valid_percent(s) {
                errs.push(invalid(p, go_int_or_string(v), &m));
            }
        }
        other => nonnegative(errs, p, other.and_then(Value::as_i64).unwrap_or(0)),
    }
}

fn rolling_update(errs: &mut Errs, ru: &Value, p: &Path) {
    let (mu, ms) = (ru.get("maxUnavailable"), ru.get("maxSurge"));
    positive_int_or_percent(errs, mu, &p.child("maxUnavailable"));
    positive_int_or_percent(errs, ms, &p.child("maxSurge"));
    if int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0 {
        errs.push(invalid(
            &p.child("maxUnavailable"),
            go_int_or_string(mu),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    if percent(mu).is_some_and(|v| v > 100) {
        errs.push(invalid(
            &p.child("maxUnavailable"),
            go_int_or_string(mu),
            "must not be greater than 100%",
        ));
    }
}
