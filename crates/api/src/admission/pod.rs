//! Pod and PodSpec validation (pkg/apis/core/validation: `ValidatePodCreate`,
//! `ValidatePodUpdate`, `ValidatePodSpec`, `ValidatePodTemplateSpec`) and the
//! QoS class computation used for the initial Pod status.

use serde_json::{Map, Value};

use super::errs::*;
use super::meta::{self, MetaRules};
use super::names::{self, NameRule};
use super::quantity::{self, Quantity};
use super::render::go_quote;
use super::val;

const MAX_INT32: i64 = 2_147_483_647;
const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];

/// Pod-only rules (upstream `PodValidationOptions.ResourceIsPod`).
#[derive(Clone, Copy)]
pub(crate) struct Ctx {
    pub(crate) is_pod: bool,
}

// === Pod ===

pub(crate) fn validate_pod(obj: &Value, old: Option<&Value>) -> Errs {
    match old {
        None => validate_create(obj),
        Some(old) => validate_update(obj, old),
    }
}

fn rules() -> MetaRules {
    MetaRules::namespaced(NameRule::Dns1123Subdomain)
}

fn metadata_and_spec(obj: &Value, meta_errs: Errs) -> Errs {
    let mut errs = meta_errs;
    let spec = val::path(obj, &["spec"]);
    let annotations = val::obj(val::path(obj, &["metadata"]), "annotations");
    pod_specific_annotations(
        &mut errs,
        annotations,
        spec,
        &Path::new("metadata").child("annotations"),
    );
    let sp = Path::new("spec");
    errs.extend(validate_pod_spec(spec, &sp, Ctx { is_pod: true }));
    if val::s(spec, "serviceAccountName").is_empty() {
        for (vi, v) in val::arr(spec, "volumes").iter().enumerate() {
            let pp = sp.child("volumes").index(vi).child("projected");
            for (si, src) in val::arr(val::path(v, &["projected"]), "sources")
                .iter()
                .enumerate()
            {
                if val::has(src, "serviceAccountToken") {
                    errs.push(forbidden(
                        &pp.child("sources").index(si).child("serviceAccountToken"),
                        "must not be specified when serviceAccountName is not set",
                    ));
                }
            }
        }
    }
    for key in ["containers", "initContainers"] {
        for (i, c) in val::arr(spec, key).iter().enumerate() {
            image_whitespace(&mut errs, c, &sp.child(key).index(i));
        }
    }
    errs
}

fn image_whitespace(errs: &mut Errs, c: &Value, p: &Path) {
    let image = val::s(c, "image");
    if image.len() != image.trim().len() {
        errs.push(invalid_str(
            &p.child("image"),
            image,
            "must not have leading or trailing whitespace",
        ));
    }
}

fn validate_create(obj: &Value) -> Errs {
    let mut errs = metadata_and_spec(obj, meta::validate_create(obj, rules()));
    let spec = val::path(obj, &["spec"]);
    let sp = Path::new("spec");
    if !val::arr(spec, "ephemeralContainers").is_empty() {
        errs.push(forbidden(
            &sp.child("ephemeralContainers"),
            "cannot be set on create",
        ));
    }
    if !val::s(spec, "nodeName").is_empty() && !val::arr(spec, "schedulingGates").is_empty() {
        errs.push(forbidden(
            &sp.child("nodeName"),
            "cannot be set until all schedulingGates have been cleared",
        ));
    }
    errs
}

const UPDATABLE_POD_SPEC_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

fn validate_update(new: &Value, old: &Value) -> Errs {
    let mp = Path::new("metadata");
    // Upstream runs the update checks and then, via validatePodMetadataAndSpec,
    // the create-style ObjectMeta checks too.
    let mut errs = meta::validate_update(new, old, rules());
    errs.extend(meta::validate_create(new, rules()));
    errs = metadata_and_spec(new, errs);
    pod_specific_annotation_updates(&mut errs, new, old, &mp.child("annotations"));
    let sp = Path::new("spec");
    let (ns, os) = (val::path(new, &["spec"]), val::path(old, &["spec"]));

    for key in ["containers", "initContainers"] {
        let (nc, oc) = (val::arr(ns, key), val::arr(os, key));
        if nc.len() != oc.len() {
            errs.push(forbidden(
                &sp.child(key),
                "pod updates may not add or remove containers",
            ));
            return errs;
        }
        for (i, c) in nc.iter().enumerate() {
            let image = val::s(c, "image");
            if image.is_empty() {
                errs.push(required(&sp.child(key).index(i).child("image"), ""));
            }
            image_whitespace(&mut errs, c, &sp.child(key).index(i));
        }
    }

    let adp = sp.child("activeDeadlineSeconds");
    match (
        val::int(ns, "activeDeadlineSeconds"),
        val::int(os, "activeDeadlineSeconds"),
    ) {
        (Some(n), o) => {
            if !(0..=MAX_INT32).contains(&n) {
                errs.push(invalid_int(
                    &adp,
                    n,
                    &names::inclusive_range_error(0, MAX_INT32),
                ));
                return errs;
            }
            if o.is_some_and(|o| o < n) {
                errs.push(invalid_int(
                    &adp,
                    n,
                    "must be less than or equal to previous value",
                ));
                return errs;
            }
        }
        (None, Some(_)) => {
            errs.push(invalid(
                &adp,
                "null",
                "must not update from a positive integer to nil value",
            ));
        }
        (None, None) => {}
    }

    only_added_tolerations(
        &mut errs,
        val::arr(ns, "tolerations"),
        val::arr(os, "tolerations"),
        &sp.child("tolerations"),
    );
    only_deleted_scheduling_gates(&mut errs, ns, os, &sp.child("schedulingGates"));

    if normalize(ns) == normalize(os) {
        return errs;
    }
    let old_qos = val::s(val::path(old, &["status"]), "qosClass");
    if !old_qos.is_empty() && old_qos != qos_class(new) {
        let new_status_qos = val::s(val::path(new, &["status"]), "qosClass");
        errs.push(invalid_str(&mp, new_status_qos, "Pod QoS is immutable"));
    }
    let mut munged = ns.clone();
    if let Some(m) = munged.as_object_mut() {
        for key in ["containers", "initContainers"] {
            if let Some(cs) = m.get_mut(key).and_then(Value::as_array_mut) {
                for (i, c) in cs.iter_mut().enumerate() {
                    if let Some(c) = c.as_object_mut() {
                        match val::arr(os, key).get(i).and_then(|oc| oc.get("image")) {
                            Some(img) => c.insert("image".into(), img.clone()),
                            None => c.remove("image"),
                        };
                    }
                }
            }
        }
        for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
            match os.get(key) {
                Some(v) => m.insert(key.into(), v.clone()),
                None => m.remove(key),
            };
        }
        if val::int(os, "terminationGracePeriodSeconds").is_some_and(|g| g < 0)
            && val::int(ns, "terminationGracePeriodSeconds") == Some(1)
        {
            m.insert(
                "terminationGracePeriodSeconds".into(),
                os["terminationGracePeriodSeconds"].clone(),
            );
        }
    }
    if normalize(&munged) != normalize(os) {
        let diff = spec_diff(os, &munged);
        errs.push(forbidden(
            &sp,
            &format!(
                "pod updates may not change fields other than {UPDATABLE_POD_SPEC_FIELDS}\n{diff}"
            ),
        ));
    }
    errs
}

/// `apiequality.Semantic.DeepEqual` treats nil and empty alike, and an absent
/// JSON field is Go's zero value: drop both before comparing.
pub(crate) fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                let n = normalize(x);
                if !is_empty_value(&n) {
                    out.insert(k.clone(), n);
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
    }
}

/// A readable stand-in for upstream's `cmp.Diff` of the two specs: one
/// `-`/`+` line per changed leaf.
fn spec_diff(old: &Value, new: &Value) -> String {
    let mut lines = Vec::new();
    diff_into(&mut lines, "", &normalize(old), &normalize(new));
    format!("  core.PodSpec{{\n{}\n  }}\n", lines.join("\n"))
}

fn diff_into(lines: &mut Vec<String>, path: &str, a: &Value, b: &Value) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.dedup();
            let mut seen = Vec::new();
            for k in keys {
                if seen.contains(&k) {
                    continue;
                }
                seen.push(k);
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_into(
                    lines,
                    &p,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (ea, eb)) in x.iter().zip(y).enumerate() {
                diff_into(lines, &format!("{path}[{i}]"), ea, eb);
            }
        }
        _ if a == b => {}
        _ => {
            if !a.is_null() {
                lines.push(format!("- \t{path}: {a}"));
            }
            if !b.is_null() {
                lines.push(format!("+ \t{path}: {b}"));
            }
        }
    }
}

fn only_added_tolerations(errs: &mut Errs, new: &[Value], old: &[Value], p: &Path) {
    let strip = |t: &Value| {
        let mut t = normalize(t);
        if let Some(m) = t.as_object_mut() {
            m.remove("tolerationSeconds");
        }
        t
    };
    for o in old {
        if !new.iter().any(|n| strip(n) == strip(o)) {
            errs.push(forbidden(
                p,
                "existing toleration can not be modified except its tolerationSeconds",
            ));
            return;
        }
    }
    validate_tolerations(errs, new, p);
}

fn only_deleted_scheduling_gates(errs: &mut Errs, ns: &Value, os: &Value, p: &Path) {
    let old: Vec<&str> = val::arr(os, "schedulingGates")
        .iter()
        .map(|g| val::s(g, "name"))
        .collect();
    for (i, g) in val::arr(ns, "schedulingGates").iter().enumerate() {
        let name = val::s(g, "name");
        if !old.contains(&name) {
            errs.push(forbidden(
                &p.index(i).child("name"),
                &format!("only deletion is allowed, but found new scheduling gate '{name}'"),
            ));
        }
    }
}

fn pod_specific_annotations(
    errs: &mut Errs,
    ann: Option<&Map<String, Value>>,
    spec: &Value,
    p: &Path,
) {
    let ann = val::str_map(ann);
    for (k, v) in &ann {
        match *k {
            "kubernetes.io/config.mirror" if val::s(spec, "nodeName").is_empty() => {
                errs.push(invalid_str(
                    &p.key(k),
                    v,
                    "must set spec.nodeName if mirror pod annotation is set",
                ));
            }
            "controller.kubernetes.io/pod-deletion-cost" if v.parse::<i32>().is_err() => {
                errs.push(invalid_str(&p.key(k), v, "must be a 32bit integer"));
            }
            _ => {}
        }
    }
    for (k, v) in &ann {
        if *k == "seccomp.security.alpha.kubernetes.io/pod"
            || k.starts_with("container.seccomp.security.alpha.kubernetes.io/")
        {
            seccomp_annotation(errs, v, &p.child(k));
        }
    }
    const APPARMOR: &str = "container.apparmor.security.beta.kubernetes.io/";
    for (k, v) in &ann {
        let Some(container) = k.strip_prefix(APPARMOR) else {
            continue;
        };
        let found = ["containers", "initContainers", "ephemeralContainers"]
            .iter()
            .any(|key| {
                val::arr(spec, key)
                    .iter()
                    .any(|c| val::s(c, "name") == container)
            });
        if !found {
            errs.push(invalid_str(&p.key(k), container, "container not found"));
        }
        let ok = v.is_empty()
            || *v == "runtime/default"
            || *v == "unconfined"
            || v.starts_with("localhost/");
        if !ok {
            errs.push(invalid_str(
                &p.key(k),
                v,
                &format!("invalid AppArmor profile name: {}", go_quote(v)),
            ));
        }
    }
}

fn seccomp_annotation(errs: &mut Errs, profile: &str, p: &Path) {
    if matches!(profile, "runtime/default" | "docker/default" | "unconfined") {
        return;
    }
    if let Some(rest) = profile.strip_prefix("localhost/") {
        local_descending_path(errs, rest, p);
        return;
    }
    errs.push(invalid_str(p, profile, "must be a valid seccomp profile"));
}

fn pod_specific_annotation_updates(errs: &mut Errs, new: &Value, old: &Value, p: &Path) {
    let na = val::obj(val::path(new, &["metadata"]), "annotations");
    let oa = val::obj(val::path(old, &["metadata"]), "annotations");
    let get = |m: Option<&Map<String, Value>>, k: &str| m.and_then(|m| m.get(k)).cloned();
    const APPARMOR: &str = "container.apparmor.security.beta.kubernetes.io/";
    for (k, v) in val::str_map(oa) {
        if get(na, k).as_ref().and_then(Value::as_str) == Some(v) {
            continue;
        }
        if k.starts_with(APPARMOR) {
            errs.push(forbidden(
                &p.key(k),
                "may not remove or update AppArmor annotations",
            ));
        }
        if k == "kubernetes.io/config.mirror" {
            errs.push(forbidden(
                &p.key(k),
                "may not remove or update mirror pod annotation",
            ));
        }
    }
    for (k, _) in val::str_map(na) {
        if get(oa, k).is_some() {
            continue;
        }
        if k.starts_with(APPARMOR) {
            errs.push(forbidden(&p.key(k), "may not add AppArmor annotations"));
        }
        if k == "kubernetes.io/config.mirror" {
            errs.push(forbidden(&p.key(k), "may not add mirror pod annotation"));
        }
    }
}

// === PodTemplateSpec ===

/// `ValidatePodTemplateSpec` at `p` (e.g. `spec.template`). Note upstream
/// reports template labels at `<p>.labels`, not `<p>.metadata.labels`.
pub(crate) fn validate_template(errs: &mut Errs, template: &Value, p: &Path) {
    let m = val::path(template, &["metadata"]);
    let spec = val::path(template, &["spec"]);
    meta::validate_labels(errs, val::obj(m, "labels"), &p.child("labels"));
    meta::validate_annotations(errs, val::obj(m, "annotations"), &p.child("annotations"));
    pod_specific_annotations(
        errs,
        val::obj(m, "annotations"),
        spec,
        &p.child("annotations"),
    );
    errs.extend(validate_pod_spec(
        spec,
        &p.child("spec"),
        Ctx { is_pod: false },
    ));
    if !val::arr(spec, "ephemeralContainers").is_empty() {
        errs.push(forbidden(
            &p.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
}

// === PodSpec ===

pub(crate) fn validate_pod_spec(spec: &Value, p: &Path, ctx: Ctx) -> Errs {
    let mut errs = Errs::new();
    let grace = val::int(spec, "terminationGracePeriodSeconds");
    if grace.is_none() {
        errs.push(required(&p.child("terminationGracePeriodSeconds"), ""));
    }
    let vols = validate_volumes(&mut errs, val::arr(spec, "volumes"), &p.child("volumes"));
    let restart_policy = val::s(spec, "restartPolicy");
    validate_containers(&mut errs, spec, &vols, grace, &p.child("containers"));
    validate_init_containers(&mut errs, spec, &vols, grace, &p.child("initContainers"));
    validate_ephemeral_containers(&mut errs, spec, &vols, &p.child("ephemeralContainers"));
    host_network_deps(&mut errs, spec, p, ctx);
    match restart_policy {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(required(&p.child("restartPolicy"), "")),
        other => errs.push(not_supported_str(
            &p.child("restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    match val::s(spec, "dnsPolicy") {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(required(&p.child("dnsPolicy"), "")),
        other => errs.push(not_supported_str(
            &p.child("dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    meta::validate_labels(
        &mut errs,
        val::obj(spec, "nodeSelector"),
        &p.child("nodeSelector"),
    );
    pod_security_context(&mut errs, spec, &p.child("securityContext"));
    for (i, s) in val::arr(spec, "imagePullSecrets").iter().enumerate() {
        let extra = s.as_object().is_some_and(|m| m.keys().any(|k| k != "name"));
        if extra {
            errs.push(invalid(
                &p.child("imagePullSecrets").index(i),
                format!(
                    "core.LocalObjectReference{{Name:{}}}",
                    go_quote(val::s(s, "name"))
                ),
                "only name may be set",
            ));
        }
    }
    affinity(&mut errs, val::get(spec, "affinity"), &p.child("affinity"));
    dns_config(&mut errs, spec, &p.child("dnsConfig"));
    for (i, g) in val::arr(spec, "readinessGates").iter().enumerate() {
        let ct = val::s(g, "conditionType");
        each_invalid(
            &mut errs,
            &p.child("readinessGates").index(i).child("conditionType"),
            ct,
            names::is_qualified_name(ct),
        );
    }
    let mut seen_gates: Vec<&str> = Vec::new();
    for (i, g) in val::arr(spec, "schedulingGates").iter().enumerate() {
        let name = val::s(g, "name");
        let gp = p.child("schedulingGates").index(i);
        each_invalid(&mut errs, &gp, name, names::is_qualified_name(name));
        if seen_gates.contains(&name) {
            errs.push(duplicate(&gp, go_quote(name)));
        }
        seen_gates.push(name);
    }
    topology_spread(
        &mut errs,
        val::arr(spec, "topologySpreadConstraints"),
        &p.child("topologySpreadConstraints"),
    );
    let subdomain_field = |errs: &mut Errs, key: &str| {
        let v = val::s(spec, key);
        if !v.is_empty() {
            each_invalid(errs, &p.child(key), v, names::is_dns1123_subdomain(v));
        }
    };
    subdomain_field(&mut errs, "serviceAccountName");
    subdomain_field(&mut errs, "nodeName");
    if let Some(ads) = val::int(spec, "activeDeadlineSeconds") {
        if !(1..=MAX_INT32).contains(&ads) {
            errs.push(invalid_int(
                &p.child("activeDeadlineSeconds"),
                ads,
                &names::inclusive_range_error(1, MAX_INT32),
            ));
        }
    }
    for key in ["hostname", "subdomain"] {
        let v = val::s(spec, key);
        if !v.is_empty() {
            each_invalid(&mut errs, &p.child(key), v, names::is_dns1123_label(v));
        }
    }
    validate_tolerations(
        &mut errs,
        val::arr(spec, "tolerations"),
        &p.child("tolerations"),
    );
    for (i, ha) in val::arr(spec, "hostAliases").iter().enumerate() {
        let hp = p.child("hostAliases").index(i);
        let ip = val::s(ha, "ip");
        if names::parse_ip(ip).is_none() {
            errs.push(invalid_str(&hp.child("ip"), ip, names::INVALID_IP_MSG));
        }
        for (j, h) in val::arr(ha, "hostnames").iter().enumerate() {
            let h = h.as_str().unwrap_or("");
            each_invalid(
                &mut errs,
                &hp.child("hostnames").index(j),
                h,
                names::is_dns1123_subdomain(h),
            );
        }
    }
    subdomain_field(&mut errs, "priorityClassName");
    if let Some(rc) = val::opt_s(spec, "runtimeClassName") {
        each_invalid(
            &mut errs,
            &p.child("runtimeClassName"),
            rc,
            names::is_dns1123_subdomain(rc),
        );
    }
    if let Some(pp) = val::opt_s(spec, "preemptionPolicy") {
        match pp {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(required(&p.child("preemptionPolicy"), "")),
            other => errs.push(not_supported_str(
                &p.child("preemptionPolicy"),
                other,
                &["PreemptLowerPriority", "Never"],
            )),
        }
    }
    if let Some(os) = val::get(spec, "os") {
        let name = val::s(os, "name");
        if name != "linux" && name != "windows" {
            errs.push(not_supported_str(
                &p.child("os").child("name"),
                name,
                &["linux", "windows"],
            ));
        }
    }
    errs
}

fn host_network_deps(errs: &mut Errs, spec: &Value, p: &Path, ctx: Ctx) {
    if val::boolean(spec, "hostNetwork") != Some(true) {
        return;
    }
    for (i, c) in val::arr(spec, "containers").iter().enumerate() {
        for (j, port) in val::arr(c, "ports").iter().enumerate() {
            let (hp, cp) = (
                val::int0(port, "hostPort"),
                val::int0(port, "containerPort"),
            );
            if (ctx.is_pod || hp != 0) && hp != cp {
                errs.push(invalid_int(
                    &p.child("containers")
                        .index(i)
                        .child("ports")
                        .index(j)
                        .child("hostPort"),
                    hp,
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
}

// === volumes ===

/// Volume names that validated cleanly, with whether they are PVC-backed.
type Volumes = Vec<(String, bool)>;

/// (JSON key, path segment upstream uses in its "more than 1" error).
const VOLUME_TYPES: [(&str, &str); 29] = [
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
];

fn validate_volumes(errs: &mut Errs, volumes: &[Value], p: &Path) -> Volumes {
    let mut ok: Volumes = Vec::new();
    for (i, v) in volumes.iter().enumerate() {
        let ip = p.index(i);
        let name = val::s(v, "name");
        let mut el = volume_source(v, &ip);
        if name.is_empty() {
            el.push(required(&ip.child("name"), ""));
        } else {
            each_invalid(
                &mut el,
                &ip.child("name"),
                name,
                names::is_dns1123_label(name),
            );
        }
        if ok.iter().any(|(n, _)| n == name) {
            el.push(duplicate(&ip.child("name"), go_quote(name)));
        }
        if el.is_empty() {
            let pvc = val::has(v, "persistentVolumeClaim") || val::has(v, "ephemeral");
            ok.push((name.to_string(), pvc));
        } else {
            errs.extend(el);
        }
    }
    ok
}

fn volume_source(v: &Value, p: &Path) -> Errs {
    let mut errs = Errs::new();
    let mut count = 0;
    for (key, forbid_seg) in VOLUME_TYPES {
        let Some(src) = val::get(v, key) else {
            continue;
        };
        if count > 0 {
            errs.push(forbidden(
                &p.child(forbid_seg),
                "may not specify more than 1 volume type",
            ));
            continue;
        }
        count += 1;
        let sp = p.child(key);
        match key {
            "emptyDir"
                if val::get(src, "sizeLimit")
                    .and_then(quantity::from_json)
                    .is_some_and(|q| q.is_negative()) =>
            {
                errs.push(forbidden(
                    &sp.child("sizeLimit"),
                    "SizeLimit field must be a valid resource quantity",
                ));
            }
            "hostPath" => {
                let path = val::s(src, "path");
                if path.is_empty() {
                    errs.push(required(&sp.child("path"), ""));
                } else {
                    no_backsteps(&mut errs, path, &sp.child("path"));
                    if let Some(t) = val::opt_s(src, "type") {
                        const TYPES: [&str; 8] = [
                            "",
                            "BlockDevice",
                            "CharDevice",
                            "Directory",
                            "DirectoryOrCreate",
                            "File",
                            "FileOrCreate",
                            "Socket",
                        ];
                        if !TYPES.contains(&t) {
                            errs.push(not_supported_str(&sp.child("type"), t, &TYPES));
                        }
                    }
                }
            }
            "secret" => {
                if val::s(src, "secretName").is_empty() {
                    errs.push(required(&sp.child("secretName"), ""));
                }
                file_mode(&mut errs, src, "defaultMode", &sp);
                key_to_paths(&mut errs, src, &sp);
            }
            "configMap" => {
                if val::s(src, "name").is_empty() {
                    errs.push(required(&sp.child("name"), ""));
                }
                file_mode(&mut errs, src, "defaultMode", &sp);
                key_to_paths(&mut errs, src, &sp);
            }
            "persistentVolumeClaim" if val::s(src, "claimName").is_empty() => {
                errs.push(required(&sp.child("claimName"), ""));
            }
            "nfs" => {
                if val::s(src, "server").is_empty() {
                    errs.push(required(&sp.child("server"), ""));
                }
                let path = val::s(src, "path");
                if path.is_empty() {
                    errs.push(required(&sp.child("path"), ""));
                }
                if !path.starts_with('/') {
                    errs.push(invalid_str(
                        &sp.child("path"),
                        path,
                        "must be an absolute path",
                    ));
                }
            }
            "downwardAPI" => {
                file_mode(&mut errs, src, "defaultMode", &sp);
                for item in val::arr(src, "items") {
                    downward_api_file(&mut errs, item, &sp);
                }
            }
            "projected" => {
                file_mode(&mut errs, src, "defaultMode", &sp);
                projection_sources(&mut errs, src, &sp);
            }
            "csi" if val::s(src, "driver").is_empty() => {
                errs.push(required(&sp.child("driver"), ""));
            }
            "gitRepo" => {
                if val::s(src, "repository").is_empty() {
                    errs.push(required(&sp.child("repository"), ""));
                }
                local_descending_path(&mut errs, val::s(src, "directory"), &sp.child("directory"));
            }
            _ => {}
        }
    }
    if count == 0 {
        errs.push(required(p, "must specify a volume type"));
    }
    errs
}

fn file_mode(errs: &mut Errs, src: &Value, key: &str, p: &Path) {
    if let Some(m) = val::int(src, key) {
        if !(0..=0o777).contains(&m) {
            errs.push(invalid_int(&p.child(key), m, FILE_MODE_MSG));
        }
    }
}

fn key_to_paths(errs: &mut Errs, src: &Value, p: &Path) {
    for (i, kp) in val::arr(src, "items").iter().enumerate() {
        key_to_path(errs, kp, &p.child("items").index(i));
    }
}

fn key_to_path(errs: &mut Errs, kp: &Value, p: &Path) {
    if val::s(kp, "key").is_empty() {
        errs.push(required(&p.child("key"), ""));
    }
    let path = val::s(kp, "path");
    if path.is_empty() {
        errs.push(required(&p.child("path"), ""));
    }
    local_non_reserved_path(errs, path, &p.child("path"));
    file_mode(errs, kp, "mode", p);
}

fn no_backsteps(errs: &mut Errs, path: &str, p: &Path) {
    if path.split('/').any(|part| part == "..") {
        errs.push(invalid_str(p, path, "must not contain '..'"));
    }
}

fn local_descending_path(errs: &mut Errs, path: &str, p: &Path) {
    if path.starts_with('/') {
        errs.push(invalid_str(p, path, "must be a relative path"));
    }
    no_backsteps(errs, path, p);
}

fn local_non_reserved_path(errs: &mut Errs, path: &str, p: &Path) {
    local_descending_path(errs, path, p);
    if path.starts_with("..") && !path.starts_with("../") {
        errs.push(invalid_str(p, path, "must not start with '..'"));
    }
}

/// Upstream validates each item at the *source* path, not the item's.
fn downward_api_file(errs: &mut Errs, item: &Value, p: &Path) {
    let path = val::s(item, "path");
    if path.is_empty() {
        errs.push(required(&p.child("path"), ""));
    }
    local_non_reserved_path(errs, path, &p.child("path"));
    if let Some(fr) = val::get(item, "fieldRef") {
        object_field_selector(errs, fr, &VOLUME_FIELD_PATHS, &p.child("fieldRef"));
        if val::has(item, "resourceFieldRef") {
            errs.push(invalid_str(
                p,
                "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            ));
        }
    } else if let Some(rf) = val::get(item, "resourceFieldRef") {
        resource_field_selector(errs, rf, &p.child("resourceFieldRef"), true);
    } else {
        errs.push(required(
            p,
            "one of fieldRef and resourceFieldRef is required",
        ));
    }
    file_mode(errs, item, "mode", p);
}

fn projection_sources(errs: &mut Errs, src: &Value, p: &Path) {
    let mut all_paths: Vec<String> = Vec::new();
    let mut add_path = |errs: &mut Errs, path: &str, bad: &str| {
        if path.is_empty() {
            return;
        }
        if all_paths.iter().any(|x| x == path) {
            errs.push(invalid_str(p, bad, "conflicting duplicate paths"));
        } else {
            all_paths.push(path.to_string());
        }
    };
    for (i, source) in val::arr(src, "sources").iter().enumerate() {
        let srcp = p.child("sources").index(i);
        let mut n = 0;
        for key in ["secret", "configMap"] {
            let Some(s) = val::get(source, key) else {
                continue;
            };
            n += 1;
            let pp = srcp.child(key);
            let name = val::s(s, "name");
            if name.is_empty() {
                errs.push(required(&pp.child("name"), ""));
            }
            for (j, kp) in val::arr(s, "items").iter().enumerate() {
                key_to_path(errs, kp, &pp.child("items").index(j));
                add_path(errs, val::s(kp, "path"), name);
            }
        }
        if let Some(d) = val::get(source, "downwardAPI") {
            n += 1;
            for item in val::arr(d, "items") {
                downward_api_file(errs, item, &srcp.child("downwardAPI"));
                let path = val::s(item, "path");
                add_path(errs, path, path);
            }
        }
        if let Some(t) = val::get(source, "serviceAccountToken") {
            n += 1;
            let tp = srcp.child("serviceAccountToken");
            let exp = val::int0(t, "expirationSeconds");
            if exp < 600 {
                errs.push(invalid_int(
                    &tp.child("expirationSeconds"),
                    exp,
                    "may not specify a duration less than 10 minutes",
                ));
            }
            if exp > 1 << 32 {
                errs.push(invalid_int(
                    &tp.child("expirationSeconds"),
                    exp,
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
            let path = val::s(t, "path");
            if path.is_empty() {
                errs.push(required(&p.child("path"), ""));
            } else {
                local_non_reserved_path(errs, path, &p.child("path"));
            }
        }
        if val::has(source, "clusterTrustBundle") {
            n += 1;
        }
        if n > 1 {
            errs.push(forbidden(&srcp, "may not specify more than 1 volume type"));
        }
    }
}

// === downward API ===

const VOLUME_FIELD_PATHS: [&str; 5] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];
const ENV_FIELD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const CONVERTIBLE_FIELD_PATHS: [&str; 14] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "status.phase",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// `fieldpath.SplitMaybeSubscriptedPath`.
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let s = path.strip_suffix("']")?;
    let (a, b) = s.split_once("['")?;
    (!a.is_empty()).then_some((a, b))
}

fn object_field_selector(errs: &mut Errs, fs: &Value, allowed: &[&str], p: &Path) {
    let api_version = val::s(fs, "apiVersion");
    if api_version.is_empty() {
        errs.push(required(&p.child("apiVersion"), ""));
        return;
    }
    let field_path = val::s(fs, "fieldPath");
    if field_path.is_empty() {
        errs.push(required(&p.child("fieldPath"), ""));
        return;
    }
    let conv_err = if api_version != "v1" {
        Some(format!("unsupported pod version: {api_version}"))
    } else if let Some((path, _)) = split_subscript(field_path) {
        (!matches!(path, "metadata.annotations" | "metadata.labels"))
            .then(|| format!("field label does not support subscript: {field_path}"))
    } else if field_path == "spec.host" || CONVERTIBLE_FIELD_PATHS.contains(&field_path) {
        None
    } else {
        Some(format!("field label not supported: {field_path}"))
    };
    if let Some(e) = conv_err {
        errs.push(invalid_str(
            &p.child("fieldPath"),
            field_path,
            &format!("error converting fieldPath: {e}"),
        ));
        return;
    }
    let internal = if field_path == "spec.host" {
        "spec.nodeName"
    } else {
        field_path
    };
    if let Some((path, sub)) = split_subscript(internal) {
        match path {
            "metadata.annotations" => {
                let s = sub.to_lowercase();
                each_invalid(errs, p, &s, names::is_qualified_name(&s));
            }
            "metadata.labels" => each_invalid(errs, p, sub, names::is_qualified_name(sub)),
            _ => errs.push(invalid_str(p, path, "does not support subscript")),
        }
    } else if !allowed.contains(&internal) {
        errs.push(not_supported_str(&p.child("fieldPath"), internal, allowed));
    }
}

const RESOURCE_FIELD_PATHS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

fn resource_field_selector(errs: &mut Errs, fs: &Value, p: &Path, volume: bool) {
    let resource = val::s(fs, "resource");
    if volume && val::s(fs, "containerName").is_empty() {
        errs.push(required(&p.child("containerName"), ""));
    } else if resource.is_empty() {
        errs.push(required(&p.child("resource"), ""));
    } else if !RESOURCE_FIELD_PATHS.contains(&resource)
        && !resource.starts_with("requests.hugepages-")
        && !resource.starts_with("limits.hugepages-")
    {
        errs.push(not_supported_str(
            &p.child("resource"),
            resource,
            &RESOURCE_FIELD_PATHS,
        ));
    }
    let Some(div) = val::get(fs, "divisor").and_then(quantity::from_json) else {
        return;
    };
    if !div.is_positive() && !div.is_negative() {
        return;
    }
    let d = div.canonical();
    const MEM: [&str; 13] = [
        "1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei",
    ];
    const MEM_MSG: &str = "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei";
    let dp = p.child("divisor");
    match resource {
        "limits.cpu" | "requests.cpu" if d != "1m" && d != "1" => {
            errs.push(invalid_str(
                &dp,
                resource,
                "only divisor's values 1m and 1 are supported with the cpu resource",
            ));
        }
        "limits.memory" | "requests.memory" if !MEM.contains(&d.as_str()) => {
            errs.push(invalid_str(
                &dp,
                resource,
                &format!("only divisor's values {MEM_MSG} are supported with the memory resource"),
            ));
        }
        "limits.ephemeral-storage" | "requests.ephemeral-storage" if !MEM.contains(&d.as_str()) => {
            errs.push(invalid_str(&dp, resource, &format!("only divisor's values {MEM_MSG} are supported with the local ephemeral storage resource")));
        }
        _ => {}
    }
    if (resource.starts_with("requests.hugepages-") || resource.starts_with("limits.hugepages-"))
        && !MEM.contains(&d.as_str())
    {
        errs.push(invalid_str(
            &dp,
            resource,
            &format!("only divisor's values {MEM_MSG} are supported with the hugepages resource"),
        ));
    }
}

// === containers ===

fn validate_containers(
    errs: &mut Errs,
    spec: &Value,
    vols: &Volumes,
    grace: Option<i64>,
    p: &Path,
) {
    let containers = val::arr(spec, "containers");
    if containers.is_empty() {
        errs.push(required(p, ""));
        return;
    }
    let mut names_seen: Vec<&str> = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let cp = p.index(i);
        container_common(errs, c, vols, &cp);
        let name = val::s(c, "name");
        if names_seen.contains(&name) {
            errs.push(duplicate(&cp.child("name"), go_quote(name)));
        } else {
            names_seen.push(name);
        }
        if let Some(lc) = val::get(c, "lifecycle") {
            lifecycle(errs, lc, grace, &cp.child("lifecycle"));
        }
        probes(errs, c, grace, &cp);
        if val::has(c, "restartPolicy") {
            errs.push(forbidden(
                &cp.child("restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    host_port_conflicts(errs, containers, p);
}

fn probes(errs: &mut Errs, c: &Value, grace: Option<i64>, cp: &Path) {
    if let Some(pr) = val::get(c, "livenessProbe") {
        let pp = cp.child("livenessProbe");
        probe(errs, pr, grace, &pp);
        let st = val::int0(pr, "successThreshold");
        if st != 1 {
            errs.push(invalid_int(&pp.child("successThreshold"), st, "must be 1"));
        }
    }
    if let Some(pr) = val::get(c, "readinessProbe") {
        let pp = cp.child("readinessProbe");
        probe(errs, pr, grace, &pp);
        if let Some(t) = val::int(pr, "terminationGracePeriodSeconds") {
            errs.push(invalid_int(
                &pp.child("terminationGracePeriodSeconds"),
                t,
                "must not be set for readinessProbes",
            ));
        }
    }
    if let Some(pr) = val::get(c, "startupProbe") {
        let pp = cp.child("startupProbe");
        probe(errs, pr, grace, &pp);
        let st = val::int0(pr, "successThreshold");
        if st != 1 {
            errs.push(invalid_int(&pp.child("successThreshold"), st, "must be 1"));
        }
    }
}

fn validate_init_containers(
    errs: &mut Errs,
    spec: &Value,
    vols: &Volumes,
    grace: Option<i64>,
    p: &Path,
) {
    let mut all: Vec<&str> = val::arr(spec, "containers")
        .iter()
        .map(|c| val::s(c, "name"))
        .collect();
    for (i, c) in val::arr(spec, "initContainers").iter().enumerate() {
        let cp = p.index(i);
        container_common(errs, c, vols, &cp);
        let mut restart_always = false;
        if let Some(rp) = val::opt_s(c, "restartPolicy") {
            if rp != "Always" {
                errs.push(not_supported_str(
                    &cp.child("restartPolicy"),
                    rp,
                    &["Always"],
                ));
            }
            restart_always = rp == "Always";
        }
        let name = val::s(c, "name");
        if all.contains(&name) {
            errs.push(duplicate(&cp.child("name"), go_quote(name)));
        } else if !name.is_empty() {
            all.push(name);
        }
        host_port_conflicts(errs, std::slice::from_ref(c), p);
        if restart_always {
            if let Some(lc) = val::get(c, "lifecycle") {
                lifecycle(errs, lc, grace, &cp.child("lifecycle"));
            }
            probes(errs, c, grace, &cp);
        } else {
            for key in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if val::has(c, key) {
                    errs.push(forbidden(
                        &cp.child(key),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
        if !val::arr(c, "resizePolicy").is_empty() {
            errs.push(invalid(
                &cp.child("resizePolicy"),
                "[]core.ContainerResizePolicy{...}",
                "must not be set for init containers",
            ));
        }
    }
}

fn validate_ephemeral_containers(errs: &mut Errs, spec: &Value, vols: &Volumes, p: &Path) {
    let ecs = val::arr(spec, "ephemeralContainers");
    if ecs.is_empty() {
        return;
    }
    let others: Vec<&str> = val::arr(spec, "containers")
        .iter()
        .chain(val::arr(spec, "initContainers"))
        .map(|c| val::s(c, "name"))
        .collect();
    let mut all = others.clone();
    const FORBIDDEN: [&str; 7] = [
        "ports",
        "resources",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "lifecycle",
        "resizePolicy",
    ];
    for (i, c) in ecs.iter().enumerate() {
        let cp = p.index(i);
        container_common(errs, c, vols, &cp);
        image_whitespace(errs, c, &cp);
        let name = val::s(c, "name");
        if all.contains(&name) {
            errs.push(duplicate(&cp.child("name"), go_quote(name)));
        } else {
            all.push(name);
        }
        let target = val::s(c, "targetContainerName");
        if !target.is_empty() && !others.contains(&target) {
            errs.push(not_found(
                &cp.child("targetContainerName"),
                go_quote(target),
            ));
        }
        for key in FORBIDDEN {
            let set = val::get(c, key).is_some_and(|v| !is_empty_json(v));
            if set {
                errs.push(forbidden(
                    &cp.child(key),
                    "cannot be set for an Ephemeral Container",
                ));
            }
        }
        for (j, vm) in val::arr(c, "volumeMounts").iter().enumerate() {
            for key in ["subPath", "subPathExpr"] {
                if !val::s(vm, key).is_empty() {
                    errs.push(forbidden(
                        &cp.child("volumeMounts").index(j).child(key),
                        "cannot be set for an Ephemeral Container",
                    ));
                }
            }
        }
    }
}

fn is_empty_json(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

fn container_common(errs: &mut Errs, c: &Value, vols: &Volumes, p: &Path) {
    let name = val::s(c, "name");
    if name.is_empty() {
        errs.push(required(&p.child("name"), ""));
    } else {
        each_invalid(errs, &p.child("name"), name, names::is_dns1123_label(name));
    }
    if val::s(c, "image").is_empty() {
        errs.push(required(&p.child("image"), ""));
    }
    match val::s(c, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(required(&p.child("terminationMessagePolicy"), "")),
        other => errs.push(not_supported_str(
            &p.child("terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    container_ports(errs, val::arr(c, "ports"), &p.child("ports"));
    env(errs, val::arr(c, "env"), &p.child("env"));
    env_from(errs, val::arr(c, "envFrom"), &p.child("envFrom"));
    volume_mounts(errs, c, vols, &p.child("volumeMounts"));
    volume_devices(errs, c, vols, &p.child("volumeDevices"));
    match val::s(c, "imagePullPolicy") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(required(&p.child("imagePullPolicy"), "")),
        other => errs.push(not_supported_str(
            &p.child("imagePullPolicy"),
            other,
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    resources(errs, val::path(c, &["resources"]), &p.child("resources"));
    container_security_context(
        errs,
        val::get(c, "securityContext"),
        &p.child("securityContext"),
    );
}

fn container_ports(errs: &mut Errs, ports: &[Value], p: &Path) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = p.index(i);
        let name = val::s(port, "name");
        if !name.is_empty() {
            let msgs = names::is_valid_port_name(name);
            if !msgs.is_empty() {
                each_invalid(errs, &ip.child("name"), name, msgs);
            } else if seen.contains(&name) {
                errs.push(duplicate(&ip.child("name"), go_quote(name)));
            } else {
                seen.push(name);
            }
        }
        let cp = val::int0(port, "containerPort");
        if cp == 0 {
            errs.push(required(&ip.child("containerPort"), ""));
        } else {
            for m in names::is_valid_port_num(cp) {
                errs.push(invalid_int(&ip.child("containerPort"), cp, &m));
            }
        }
        let hp = val::int0(port, "hostPort");
        if hp != 0 {
            for m in names::is_valid_port_num(hp) {
                errs.push(invalid_int(&ip.child("hostPort"), hp, &m));
            }
        }
        protocol(errs, port, &ip.child("protocol"));
    }
}

pub(crate) fn protocol(errs: &mut Errs, port: &Value, p: &Path) {
    match val::s(port, "protocol") {
        "" => errs.push(required(p, "")),
        proto if !PROTOCOLS.contains(&proto) => errs.push(not_supported_str(p, proto, &PROTOCOLS)),
        _ => {}
    }
}

fn host_port_conflicts(errs: &mut Errs, containers: &[Value], p: &Path) {
    let mut seen: Vec<String> = Vec::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, port) in val::arr(c, "ports").iter().enumerate() {
            let hp = val::int0(port, "hostPort");
            if hp == 0 {
                continue;
            }
            let key = format!(
                "{}/{}/{}",
                val::s(port, "protocol"),
                val::s(port, "hostIP"),
                hp
            );
            if seen.contains(&key) {
                errs.push(duplicate(
                    &p.index(ci).child("ports").index(pi).child("hostPort"),
                    go_quote(&key),
                ));
            } else {
                seen.push(key);
            }
        }
    }
}

fn env(errs: &mut Errs, vars: &[Value], p: &Path) {
    for (i, ev) in vars.iter().enumerate() {
        let ip = p.index(i);
        let name = val::s(ev, "name");
        if name.is_empty() {
            errs.push(required(&ip.child("name"), ""));
        } else {
            each_invalid(errs, &ip.child("name"), name, names::is_env_var_name(name));
        }
        let Some(vf) = val::get(ev, "valueFrom") else {
            continue;
        };
        let vp = ip.child("valueFrom");
        let mut n = 0;
        if let Some(fr) = val::get(vf, "fieldRef") {
            n += 1;
            object_field_selector(errs, fr, &ENV_FIELD_PATHS, &vp.child("fieldRef"));
        }
        if let Some(rf) = val::get(vf, "resourceFieldRef") {
            n += 1;
            resource_field_selector(errs, rf, &vp.child("resourceFieldRef"), false);
        }
        for key in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(r) = val::get(vf, key) {
                n += 1;
                let rp = vp.child(key);
                let name = val::s(r, "name");
                each_invalid(
                    errs,
                    &rp.child("name"),
                    name,
                    names::is_dns1123_subdomain(name),
                );
                let k = val::s(r, "key");
                if k.is_empty() {
                    errs.push(required(&rp.child("key"), ""));
                } else {
                    each_invalid(errs, &rp.child("key"), k, names::is_config_map_key(k));
                }
            }
        }
        if n == 0 {
            errs.push(invalid_str(&vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
        } else if !val::s(ev, "value").is_empty() {
            errs.push(invalid_str(
                &vp,
                "",
                "may not be specified when `value` is not empty",
            ));
        } else if n > 1 {
            errs.push(invalid_str(
                &vp,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
}

fn env_from(errs: &mut Errs, sources: &[Value], p: &Path) {
    for (i, ev) in sources.iter().enumerate() {
        let ip = p.index(i);
        let prefix = val::s(ev, "prefix");
        if !prefix.is_empty() {
            each_invalid(
                errs,
                &ip.child("prefix"),
                prefix,
                names::is_env_var_name(prefix),
            );
        }
        let mut n = 0;
        for key in ["configMapRef", "secretRef"] {
            if let Some(r) = val::get(ev, key) {
                n += 1;
                let name = val::s(r, "name");
                let np = ip.child(key).child("name");
                if name.is_empty() {
                    errs.push(required(&np, ""));
                } else {
                    each_invalid(
                        errs,
                        &np,
                        name,
                        names::apply_rule(NameRule::Dns1123Subdomain, name, true),
                    );
                }
            }
        }
        if n == 0 {
            errs.push(invalid_str(
                p,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if n > 1 {
            errs.push(invalid_str(
                p,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
}

fn volume_mounts(errs: &mut Errs, c: &Value, vols: &Volumes, p: &Path) {
    let devices: Vec<(&str, &str)> = val::arr(c, "volumeDevices")
        .iter()
        .map(|d| (val::s(d, "name"), val::s(d, "devicePath")))
        .collect();
    let privileged = val::boolean(val::path(c, &["securityContext"]), "privileged") == Some(true);
    let mut mount_points: Vec<&str> = Vec::new();
    for (i, m) in val::arr(c, "volumeMounts").iter().enumerate() {
        let ip = p.index(i);
        let name = val::s(m, "name");
        if name.is_empty() {
            errs.push(required(&ip.child("name"), ""));
        }
        if !vols.iter().any(|(n, _)| n == name) {
            errs.push(not_found(&ip.child("name"), go_quote(name)));
        }
        let mp = val::s(m, "mountPath");
        if mp.is_empty() {
            errs.push(required(&ip.child("mountPath"), ""));
        }
        if mount_points.contains(&mp) {
            errs.push(invalid_str(&ip.child("mountPath"), mp, "must be unique"));
        }
        mount_points.push(mp);
        if devices.iter().any(|(n, _)| *n == name) {
            errs.push(invalid_str(
                &ip.child("name"),
                name,
                "must not already exist in volumeDevices",
            ));
        }
        if devices.iter().any(|(_, d)| *d == mp) {
            errs.push(invalid_str(
                &ip.child("mountPath"),
                mp,
                "must not already exist as a path in volumeDevices",
            ));
        }
        let sub = val::s(m, "subPath");
        if !sub.is_empty() {
            local_descending_path(errs, sub, &p.child("subPath"));
        }
        let expr = val::s(m, "subPathExpr");
        if !expr.is_empty() {
            if !sub.is_empty() {
                errs.push(invalid_str(
                    &ip.child("subPathExpr"),
                    expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            local_descending_path(errs, expr, &p.child("subPathExpr"));
        }
        if let Some(prop) = val::opt_s(m, "mountPropagation") {
            let pp = p.child("mountPropagation");
            const PROPS: [&str; 3] = ["Bidirectional", "HostToContainer", "None"];
            if !PROPS.contains(&prop) {
                errs.push(not_supported_str(&pp, prop, &PROPS));
            }
            if prop == "Bidirectional" && !privileged {
                errs.push(forbidden(
                    &pp,
                    "Bidirectional mount propagation is available only to privileged containers",
                ));
            }
        }
        if let Some(rro) = val::opt_s(m, "recursiveReadOnly") {
            let rp = p.child("recursiveReadOnly");
            match rro {
                "Disabled" => {}
                "Enabled" | "IfPossible" => {
                    if val::boolean(m, "readOnly") != Some(true) {
                        errs.push(forbidden(
                            &rp,
                            "may only be specified when readOnly is true",
                        ));
                    }
                    if val::opt_s(m, "mountPropagation").is_some_and(|x| x != "None") {
                        errs.push(forbidden(
                            &rp,
                            "may only be specified when mountPropagation is None or not specified",
                        ));
                    }
                }
                other => errs.push(not_supported_str(
                    &rp,
                    other,
                    &["Disabled", "Enabled", "IfPossible"],
                )),
            }
        }
    }
}

fn volume_devices(errs: &mut Errs, c: &Value, vols: &Volumes, p: &Path) {
    let mounts: Vec<(&str, &str)> = val::arr(c, "volumeMounts")
        .iter()
        .map(|m| (val::s(m, "name"), val::s(m, "mountPath")))
        .collect();
    let mut paths: Vec<&str> = Vec::new();
    let mut names_seen: Vec<&str> = Vec::new();
    for (i, d) in val::arr(c, "volumeDevices").iter().enumerate() {
        let ip = p.index(i);
        let (name, dev) = (val::s(d, "name"), val::s(d, "devicePath"));
        let matched = vols.iter().find(|(n, _)| n == name);
        if name.is_empty() {
            errs.push(required(&ip.child("name"), ""));
        }
        if names_seen.contains(&name) {
            errs.push(invalid_str(&ip.child("name"), name, "must be unique"));
        }
        match matched {
            Some((_, false)) => errs.push(invalid_str(
                &ip.child("name"),
                name,
                "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
            )),
            None => errs.push(not_found(&ip.child("name"), go_quote(name))),
            _ => {}
        }
        if dev.is_empty() {
            errs.push(required(&ip.child("devicePath"), ""));
        }
        if paths.contains(&dev) {
            errs.push(invalid_str(&ip.child("devicePath"), dev, "must be unique"));
        }
        if !dev.is_empty() && dev.split('/').any(|x| x == "..") {
            errs.push(invalid_str(
                &ip.child("devicePath"),
                dev,
                "can not contain backsteps ('..')",
            ));
        } else {
            paths.push(dev);
        }
        if mounts.iter().any(|(n, _)| *n == name) {
            errs.push(invalid_str(
                &ip.child("name"),
                name,
                "must not already exist in volumeMounts",
            ));
        }
        if mounts.iter().any(|(_, m)| *m == dev) {
            errs.push(invalid_str(
                &ip.child("devicePath"),
                dev,
                "must not already exist as a path in volumeMounts",
            ));
        }
        if !name.is_empty() {
            names_seen.push(name);
        }
    }
}

// === probes and handlers ===

fn probe(errs: &mut Errs, pr: &Value, grace: Option<i64>, p: &Path) {
    handler(
        errs,
        pr,
        grace,
        p,
        &["exec", "httpGet", "tcpSocket", "grpc"],
    );
    for key in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        nonnegative(errs, &p.child(key), val::int0(pr, key));
    }
    if let Some(t) = val::int(pr, "terminationGracePeriodSeconds") {
        if t <= 0 {
            errs.push(invalid_int(
                &p.child("terminationGracePeriodSeconds"),
                t,
                "must be greater than 0",
            ));
        }
    }
}

fn lifecycle(errs: &mut Errs, lc: &Value, grace: Option<i64>, p: &Path) {
    for key in ["postStart", "preStop"] {
        if let Some(h) = val::get(lc, key) {
            handler(
                errs,
                h,
                grace,
                &p.child(key),
                &["exec", "httpGet", "tcpSocket", "sleep"],
            );
        }
    }
}

fn handler(errs: &mut Errs, h: &Value, grace: Option<i64>, p: &Path, kinds: &[&str]) {
    let mut n = 0;
    for &kind in kinds {
        let Some(x) = val::get(h, kind) else {
            continue;
        };
        let kp = p.child(kind);
        if n > 0 {
            errs.push(forbidden(&kp, "may not specify more than 1 handler type"));
            continue;
        }
        n += 1;
        match kind {
            "exec" if val::arr(x, "command").is_empty() => {
                errs.push(required(&kp.child("command"), ""));
            }
            "httpGet" => {
                if val::s(x, "path").is_empty() {
                    errs.push(required(&kp.child("path"), ""));
                }
                port_num_or_name(errs, x.get("port"), &kp.child("port"));
                let scheme = val::s(x, "scheme");
                if scheme != "HTTP" && scheme != "HTTPS" {
                    errs.push(not_supported_str(
                        &kp.child("scheme"),
                        scheme,
                        &["HTTP", "HTTPS"],
                    ));
                }
                for hd in val::arr(x, "httpHeaders") {
                    let name = val::s(hd, "name");
                    each_invalid(
                        errs,
                        &kp.child("httpHeaders"),
                        name,
                        names::is_http_header_name(name),
                    );
                }
            }
            "tcpSocket" => port_num_or_name(errs, x.get("port"), &kp.child("port")),
            "grpc" => {
                let port = val::int0(x, "port");
                for m in names::is_valid_port_num(port) {
                    errs.push(invalid_int(&kp.child("port"), port, &m));
                }
            }
            "sleep" => {
                let secs = val::int0(x, "seconds");
                let g = grace.unwrap_or(0);
                if secs <= 0 || secs > g {
                    errs.push(invalid_int(
                        &kp,
                        secs,
                        &format!("must be greater than 0 and less than terminationGracePeriodSeconds ({g})"),
                    ));
                }
            }
            _ => {}
        }
    }
    if n == 0 {
        errs.push(required(p, "must specify a handler type"));
    }
}

/// `ValidatePortNumOrName` for an IntOrString port.
pub(crate) fn port_num_or_name(errs: &mut Errs, port: Option<&Value>, p: &Path) {
    match port {
        Some(Value::String(s)) => each_invalid(errs, p, s, names::is_valid_port_name(s)),
        other => {
            let n = other.and_then(Value::as_i64).unwrap_or(0);
            for m in names::is_valid_port_num(n) {
                errs.push(invalid_int(p, n, &m));
            }
        }
    }
}

// === resources and security ===

const STANDARD_RESOURCES: [&str; 23] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
    "count/pods",
    "count/services",
    "count/secrets",
];

fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

fn container_resource_name(errs: &mut Errs, name: &str, p: &Path) {
    let msgs = names::is_qualified_name(name);
    let bare = !name.contains('/');
    if !msgs.is_empty() {
        each_invalid(errs, p, name, msgs);
    } else if bare
        && !STANDARD_RESOURCES.contains(&name)
        && !is_hugepages(name)
        && !name.starts_with("requests.hugepages-")
    {
        errs.push(invalid_str(
            p,
            name,
            "must be a standard resource type or fully qualified",
        ));
    }
    if bare {
        if !matches!(name, "cpu" | "memory" | "ephemeral-storage") && !is_hugepages(name) {
            errs.push(invalid_str(
                p,
                name,
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native_resource(name) {
        let quota_name = format!("requests.{name}");
        if name.starts_with("requests.") || !names::is_qualified_name(&quota_name).is_empty() {
            errs.push(invalid_str(
                p,
                name,
                "doesn't follow extended resource name standard",
            ));
        }
    }
}

fn resources(errs: &mut Errs, res: &Value, p: &Path) {
    let (lp, rp) = (p.child("limits"), p.child("requests"));
    let limits = val::obj(res, "limits");
    let qty = |v: &Value| quantity::from_json(v);
    let mut has_cpu_mem = false;
    let mut has_huge = false;
    for (name, v) in limits.into_iter().flatten() {
        let fp = lp.key(name);
        container_resource_name(errs, name, &fp);
        if let Some(q) = qty(v) {
            if q.is_negative() {
                errs.push(invalid_str(
                    &fp,
                    &q.canonical(),
                    "must be greater than or equal to 0",
                ));
            }
        }
        has_cpu_mem |= name == "cpu" || name == "memory";
        has_huge |= is_hugepages(name);
    }
    for (name, v) in val::obj(res, "requests").into_iter().flatten() {
        let fp = rp.key(name);
        container_resource_name(errs, name, &fp);
        let q = qty(v);
        if let Some(q) = q {
            if q.is_negative() {
                errs.push(invalid_str(
                    &fp,
                    &q.canonical(),
                    "must be greater than or equal to 0",
                ));
            }
        }
        let overcommit = is_native_resource(name) && !is_hugepages(name);
        match limits.and_then(|l| l.get(name)) {
            Some(lv) => {
                if let (Some(q), Some(l)) = (q, qty(lv)) {
                    let ord = q.cmp_value(&l);
                    if ord != std::cmp::Ordering::Equal && !overcommit {
                        errs.push(invalid_str(
                            &rp,
                            &q.canonical(),
                            &format!("must be equal to {name} limit of {}", l.canonical()),
                        ));
                    } else if ord == std::cmp::Ordering::Greater {
                        errs.push(invalid_str(
                            &rp,
                            &q.canonical(),
                            &format!(
                                "must be less than or equal to {name} limit of {}",
                                l.canonical()
                            ),
                        ));
                    }
                }
            }
            None if !overcommit => {
                errs.push(required(
                    &lp,
                    "Limit must be set for non overcommitable resources",
                ));
            }
            None => {}
        }
        has_cpu_mem |= name == "cpu" || name == "memory";
        has_huge |= is_hugepages(name);
    }
    if has_huge && !has_cpu_mem {
        errs.push(forbidden(p, "HugePages require cpu or memory"));
    }
}

fn id_range(errs: &mut Errs, v: &Value, key: &str, p: &Path) {
    if let Some(id) = val::int(v, key) {
        if !(0..=MAX_INT32).contains(&id) {
            errs.push(invalid_int(
                &p.child(key),
                id,
                &names::inclusive_range_error(0, MAX_INT32),
            ));
        }
    }
}

fn seccomp_profile(errs: &mut Errs, sp: Option<&Value>, p: &Path) {
    let Some(sp) = sp else {
        return;
    };
    let ty = val::s(sp, "type");
    match ty {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => errs.push(required(
            &p.child("type"),
            "type is required when seccompProfile is set",
        )),
        other => errs.push(not_supported_str(
            &p.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
    let lp = val::opt_s(sp, "localhostProfile");
    if ty == "Localhost" {
        match lp {
            None => errs.push(required(
                &p.child("localhostProfile"),
                "must be set when seccomp type is Localhost",
            )),
            Some(l) => local_descending_path(errs, l, &p.child("localhostProfile")),
        }
    } else if lp.is_some() {
        errs.push(invalid(
            &p.child("localhostProfile"),
            format!(
                "core.SeccompProfile{{Type:{}, LocalhostProfile:(*string)(0xc000000000)}}",
                go_quote(ty)
            ),
            "can only be set when seccomp type is Localhost",
        ));
    }
}

fn container_security_context(errs: &mut Errs, sc: Option<&Value>, p: &Path) {
    let Some(sc) = sc else {
        return;
    };
    id_range(errs, sc, "runAsUser", p);
    id_range(errs, sc, "runAsGroup", p);
    if let Some(pm) = val::opt_s(sc, "procMount") {
        if pm != "Default" && pm != "Unmasked" {
            errs.push(not_supported_str(
                &p.child("procMount"),
                pm,
                &["Default", "Unmasked"],
            ));
        }
    }
    seccomp_profile(
        errs,
        val::get(sc, "seccompProfile"),
        &p.child("seccompProfile"),
    );
}

fn pod_security_context(errs: &mut Errs, spec: &Value, p: &Path) {
    let Some(sc) = val::get(spec, "securityContext") else {
        return;
    };
    id_range(errs, sc, "fsGroup", p);
    id_range(errs, sc, "runAsUser", p);
    id_range(errs, sc, "runAsGroup", p);
    for (i, g) in val::arr(sc, "supplementalGroups").iter().enumerate() {
        let g = g.as_i64().unwrap_or(0);
        if !(0..=MAX_INT32).contains(&g) {
            errs.push(invalid_int(
                &p.child("supplementalGroups").index(i),
                g,
                &names::inclusive_range_error(0, MAX_INT32),
            ));
        }
    }
    if val::boolean(spec, "shareProcessNamespace") == Some(true)
        && val::boolean(spec, "hostPID") == Some(true)
    {
        errs.push(invalid(
            &p.child("shareProcessNamespace"),
            "true",
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    let mut sysctl_names: Vec<&str> = Vec::new();
    for (i, s) in val::arr(sc, "sysctls").iter().enumerate() {
        let name = val::s(s, "name");
        let np = p.child("sysctls").index(i).child("name");
        if name.is_empty() {
            errs.push(required(&np, ""));
        } else if !valid_sysctl_name(name) {
            errs.push(invalid_str(
                &np,
                name,
                "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
            ));
        } else if sysctl_names.contains(&name) {
            errs.push(duplicate(&np, go_quote(name)));
        }
        sysctl_names.push(name);
    }
    if let Some(policy) = val::opt_s(sc, "fsGroupChangePolicy") {
        if policy != "OnRootMismatch" && policy != "Always" {
            errs.push(not_supported_str(
                &p.child("fsGroupChangePolicy"),
                policy,
                &["Always", "OnRootMismatch"],
            ));
        }
    }
    seccomp_profile(
        errs,
        val::get(sc, "seccompProfile"),
        &p.child("seccompProfile"),
    );
}

fn valid_sysctl_name(name: &str) -> bool {
    if name.len() > 253 {
        return false;
    }
    let seg_ok = |s: &str| {
        let b = s.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
    };
    name.split(['.', '/']).all(seg_ok)
}

// === scheduling ===

fn go_toleration(t: &Value) -> String {
    let secs = if val::has(t, "tolerationSeconds") {
        "(*int64)(0xc000000000)"
    } else {
        "(*int64)(nil)"
    };
    format!(
        "core.Toleration{{Key:{}, Operator:{}, Value:{}, Effect:{}, TolerationSeconds:{secs}}}",
        go_quote(val::s(t, "key")),
        go_quote(val::s(t, "operator")),
        go_quote(val::s(t, "value")),
        go_quote(val::s(t, "effect"))
    )
}

pub(crate) fn validate_tolerations(errs: &mut Errs, tolerations: &[Value], p: &Path) {
    for (i, t) in tolerations.iter().enumerate() {
        let ip = p.index(i);
        let key = val::s(t, "key");
        let op = val::s(t, "operator");
        let effect = val::s(t, "effect");
        if !key.is_empty() {
            each_invalid(errs, &ip.child("key"), key, names::is_qualified_name(key));
        }
        if key.is_empty() && op != "Exists" {
            errs.push(invalid_str(
                &ip.child("operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if val::has(t, "tolerationSeconds") && effect != "NoExecute" {
            errs.push(invalid_str(
                &ip.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "Equal" | "" => {
                let v = val::s(t, "value");
                let msgs = names::is_valid_label_value(v);
                if !msgs.is_empty() {
                    errs.push(invalid_str(&ip.child("operator"), v, &msgs.join(";")));
                }
            }
            "Exists" => {
                if !val::s(t, "value").is_empty() {
                    errs.push(invalid(
                        &ip.child("operator"),
                        go_toleration(t),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(not_supported_str(
                &ip.child("operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() && !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute")
        {
            errs.push(not_supported_str(
                &ip.child("effect"),
                effect,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
}

fn node_selector_term(errs: &mut Errs, term: &Value, p: &Path) {
    for (j, r) in val::arr(term, "matchExpressions").iter().enumerate() {
        meta::selector_requirement(errs, r, &p.child("matchExpressions").index(j), true);
    }
    for (j, r) in val::arr(term, "matchFields").iter().enumerate() {
        let rp = p.child("matchFields").index(j);
        match val::s(r, "operator") {
            "In" | "NotIn" => {
                if val::arr(r, "values").len() != 1 {
                    errs.push(required(
                        &rp.child("values"),
                        "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                    ));
                }
            }
            op => errs.push(invalid_str(
                &rp.child("operator"),
                op,
                "not a valid selector operator",
            )),
        }
        let key = val::s(r, "key");
        if key != "metadata.name" {
            errs.push(invalid_str(
                &rp.child("key"),
                key,
                "not a valid field selector key",
            ));
        } else {
            for (k, v) in val::arr(r, "values").iter().enumerate() {
                let v = v.as_str().unwrap_or("");
                each_invalid(
                    errs,
                    &rp.child("values").index(k),
                    v,
                    names::is_dns1123_subdomain(v),
                );
            }
        }
    }
}

fn pod_affinity_terms(errs: &mut Errs, terms: &[Value], p: &Path, weighted: bool) {
    for (i, t) in terms.iter().enumerate() {
        let ip = p.index(i);
        let (term, tp) = if weighted {
            let w = val::int0(t, "weight");
            if !(1..=100).contains(&w) {
                errs.push(invalid_int(
                    &ip.child("weight"),
                    w,
                    "must be in the range 1-100",
                ));
            }
            (
                val::path(t, &["podAffinityTerm"]),
                ip.child("podAffinityTerm"),
            )
        } else {
            (t, ip)
        };
        meta::validate_label_selector(
            errs,
            val::get(term, "labelSelector"),
            &tp.child("labelSelector"),
        );
        meta::validate_label_selector(
            errs,
            val::get(term, "namespaceSelector"),
            &tp.child("namespaceSelector"),
        );
        for ns in val::arr(term, "namespaces") {
            let ns = ns.as_str().unwrap_or("");
            each_invalid(
                errs,
                &tp.child("namespace"),
                ns,
                names::is_dns1123_label(ns),
            );
        }
        let key = val::s(term, "topologyKey");
        if key.is_empty() {
            errs.push(required(&tp.child("topologyKey"), "can not be empty"));
        }
        each_invalid(
            errs,
            &tp.child("topologyKey"),
            key,
            names::is_qualified_name(key),
        );
    }
}

fn affinity(errs: &mut Errs, aff: Option<&Value>, p: &Path) {
    let Some(aff) = aff else {
        return;
    };
    if let Some(na) = val::get(aff, "nodeAffinity") {
        let np = p.child("nodeAffinity");
        if let Some(req) = val::get(na, "requiredDuringSchedulingIgnoredDuringExecution") {
            let tp = np
                .child("requiredDuringSchedulingIgnoredDuringExecution")
                .child("nodeSelectorTerms");
            let terms = val::arr(req, "nodeSelectorTerms");
            if terms.is_empty() {
                errs.push(required(&tp, "must have at least one node selector term"));
            }
            for (i, t) in terms.iter().enumerate() {
                node_selector_term(errs, t, &tp.index(i));
            }
        }
        let pp = np.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, t) in val::arr(na, "preferredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            let w = val::int0(t, "weight");
            if !(1..=100).contains(&w) {
                errs.push(invalid_int(
                    &pp.index(i).child("weight"),
                    w,
                    "must be in the range 1-100",
                ));
            }
            node_selector_term(
                errs,
                val::path(t, &["preference"]),
                &pp.index(i).child("preference"),
            );
        }
    }
    for key in ["podAffinity", "podAntiAffinity"] {
        if let Some(pa) = val::get(aff, key) {
            let ap = p.child(key);
            let req = "requiredDuringSchedulingIgnoredDuringExecution";
            let pref = "preferredDuringSchedulingIgnoredDuringExecution";
            pod_affinity_terms(errs, val::arr(pa, req), &ap.child(req), false);
            pod_affinity_terms(errs, val::arr(pa, pref), &ap.child(pref), true);
        }
    }
}

fn dns_config(errs: &mut Errs, spec: &Value, p: &Path) {
    let cfg = val::get(spec, "dnsConfig");
    if val::s(spec, "dnsPolicy") == "None" {
        let Some(cfg) = cfg else {
            errs.push(required(
                p,
                "must provide `dnsConfig` when `dnsPolicy` is None",
            ));
            return;
        };
        if val::arr(cfg, "nameservers").is_empty() {
            errs.push(required(
                &p.child("nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            ));
            return;
        }
    }
    let Some(cfg) = cfg else {
        return;
    };
    let ns = val::arr(cfg, "nameservers");
    if ns.len() > 3 {
        errs.push(invalid(
            &p.child("nameservers"),
            go_str_list(ns),
            "must not have more than 3 nameservers",
        ));
    }
    for (i, n) in ns.iter().enumerate() {
        let n = n.as_str().unwrap_or("");
        if names::parse_ip(n).is_none() {
            errs.push(invalid_str(
                &p.child("nameservers").index(i),
                n,
                names::INVALID_IP_MSG,
            ));
        }
    }
    let searches = val::arr(cfg, "searches");
    if searches.len() > 32 {
        errs.push(invalid(
            &p.child("searches"),
            go_str_list(searches),
            "must not have more than 32 search paths",
        ));
    }
    let joined: Vec<&str> = searches.iter().filter_map(Value::as_str).collect();
    if joined.join(" ").len() > 2048 {
        errs.push(invalid(
            &p.child("searches"),
            go_str_list(searches),
            "must not have more than 2048 characters (including spaces) in the search list",
        ));
    }
    for (i, s) in searches.iter().enumerate() {
        let s = s.as_str().unwrap_or("");
        let s = s.strip_suffix('.').unwrap_or(s);
        each_invalid(
            errs,
            &p.child("searches").index(i),
            s,
            names::is_dns1123_subdomain(s),
        );
    }
    for (i, o) in val::arr(cfg, "options").iter().enumerate() {
        if val::s(o, "name").is_empty() {
            errs.push(required(&p.child("options").index(i), "must not be empty"));
        }
    }
}

fn go_str_list(a: &[Value]) -> String {
    super::render::go_string_slice(Some(&a.to_vec()))
}

fn topology_spread(errs: &mut Errs, constraints: &[Value], p: &Path) {
    for (i, c) in constraints.iter().enumerate() {
        let cp = p.index(i);
        let skew = val::int0(c, "maxSkew");
        if skew <= 0 {
            errs.push(invalid_int(
                &cp.child("maxSkew"),
                skew,
                "must be greater than zero",
            ));
        }
        let key = val::s(c, "topologyKey");
        if key.is_empty() {
            errs.push(required(&cp.child("topologyKey"), "can not be empty"));
        } else {
            each_invalid(
                errs,
                &cp.child("topologyKey"),
                key,
                names::is_qualified_name(key),
            );
        }
        let when = val::s(c, "whenUnsatisfiable");
        if when != "DoNotSchedule" && when != "ScheduleAnyway" {
            errs.push(not_supported_str(
                &cp.child("whenUnsatisfiable"),
                when,
                &["DoNotSchedule", "ScheduleAnyway"],
            ));
        }
        if constraints[i + 1..]
            .iter()
            .any(|o| val::s(o, "topologyKey") == key && val::s(o, "whenUnsatisfiable") == when)
        {
            errs.push(duplicate(
                &cp.child("{topologyKey, whenUnsatisfiable}"),
                go_quote(&format!("{{{key}, {when}}}")),
            ));
        }
        if let Some(md) = val::int(c, "minDomains") {
            if md <= 0 {
                errs.push(invalid_int(
                    &cp.child("minDomains"),
                    md,
                    "must be greater than 0",
                ));
            } else if when != "DoNotSchedule" {
                errs.push(invalid_int(
                    &cp.child("minDomains"),
                    md,
                    &format!(
                        "can only use minDomains if whenUnsatisfiable={}, not {when}",
                        "DoNotSchedule"
                    ),
                ));
            }
        }
        meta::validate_label_selector(
            errs,
            val::get(c, "labelSelector"),
            &cp.child("labelSelector"),
        );
    }
}

// === QoS ===

/// `qos.ComputePodQOS` over containers and init containers (cpu and memory).
pub(crate) fn qos_class(pod: &Value) -> &'static str {
    let spec = val::path(pod, &["spec"]);
    let mut requests: Vec<(&str, Quantity)> = Vec::new();
    let mut limits: Vec<(&str, Quantity)> = Vec::new();
    let mut guaranteed = true;
    let add = |list: &mut Vec<(&'static str, Quantity)>, name: &'static str, q: Quantity| match list
        .iter_mut()
        .find(|(n, _)| *n == name)
    {
        Some((_, acc)) => *acc = acc.add(&q),
        None => list.push((name, q)),
    };
    for c in val::arr(spec, "containers")
        .iter()
        .chain(val::arr(spec, "initContainers"))
    {
        let res = val::path(c, &["resources"]);
        let mut found = (false, false);
        for name in ["cpu", "memory"] {
            if let Some(q) =
                val::get(val::path(res, &["requests"]), name).and_then(quantity::from_json)
            {
                if q.is_positive() {
                    add(&mut requests, name, q);
                }
            }
            if let Some(q) =
                val::get(val::path(res, &["limits"]), name).and_then(quantity::from_json)
            {
                if q.is_positive() {
                    add(&mut limits, name, q);
                    if name == "cpu" {
                        found.0 = true;
                    } else {
                        found.1 = true;
                    }
                }
            }
        }
        if !(found.0 && found.1) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed {
        for (name, req) in &requests {
            let same = limits
                .iter()
                .find(|(n, _)| n == name)
                .is_some_and(|(_, l)| l.cmp_value(req) == std::cmp::Ordering::Equal);
            if !same {
                guaranteed = false;
                break;
            }
        }
    }
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}
