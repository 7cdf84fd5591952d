//! Validation of the smaller kinds: Namespace, Secret, ConfigMap,
//! ServiceAccount, Endpoints, core/v1 Event, Node, EndpointSlice, Lease.

use base64::Engine;
use serde_json::Value;

use crate::errors::{FieldError, FieldErrorKind};

use super::errs::*;
use super::meta::{self, MetaRules};
use super::names::{self, NameRule};
use super::pod::protocol;
use super::quantity;
use super::render::{go_quote, go_string_slice};
use super::service::validate_non_special_ip;
use super::val;

const MAX_SECRET_SIZE: usize = 1024 * 1024;

fn ns_subdomain() -> MetaRules {
    MetaRules::namespaced(NameRule::Dns1123Subdomain)
}

/// `ValidateObjectMetaUpdate` followed by the create-style checks, which is
/// what the `Validate<Kind>Update` functions that re-run `Validate<Kind>` do.
fn meta_update_then_create(obj: &Value, old: &Value, rules: MetaRules) -> Errs {
    let mut errs = meta::validate_update(obj, old, rules);
    errs.extend(meta::validate_create(obj, rules));
    errs
}

// === Namespace ===

pub(crate) fn validate_namespace(obj: &Value, old: Option<&Value>) -> Errs {
    let rules = MetaRules::cluster(NameRule::Dns1123Label);
    match old {
        Some(old) => meta::validate_update(obj, old, rules),
        None => {
            let mut errs = meta::validate_create(obj, rules);
            let p = Path::new("spec").child("finalizers");
            for f in val::arr(val::path(obj, &["spec"]), "finalizers") {
                meta::validate_finalizer_name(&mut errs, f.as_str().unwrap_or(""), &p);
            }
            errs
        }
    }
}

// === Secret / ConfigMap / ServiceAccount ===

fn decoded_len(v: &Value) -> usize {
    let s = v.as_str().unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map(|b| b.len())
        .unwrap_or(s.len() * 3 / 4)
}

fn decoded(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap_or(""))
        .unwrap_or_default()
}

pub(crate) fn validate_secret(obj: &Value, old: Option<&Value>) -> Errs {
    let mut errs = Errs::new();
    if let Some(old) = old {
        errs = meta::validate_update(obj, old, ns_subdomain());
        let (nt, ot) = (val::s(obj, "type"), val::s(old, "type"));
        if nt != ot {
            errs.push(invalid_str(&Path::new("type"), nt, FIELD_IMMUTABLE));
        }
        immutable_data(&mut errs, obj, old, &["data"]);
    }
    errs.extend(meta::validate_create(obj, ns_subdomain()));
    let dp = Path::new("data");
    let data = val::obj(obj, "data");
    let mut total = 0;
    for (k, v) in data.into_iter().flatten() {
        each_invalid(&mut errs, &dp.key(k), k, names::is_config_map_key(k));
        total += decoded_len(v);
    }
    if total > MAX_SECRET_SIZE {
        errs.push(too_long(&dp, MAX_SECRET_SIZE));
    }
    let has = |k: &str| data.is_some_and(|d| d.contains_key(k));
    match val::s(obj, "type") {
        "kubernetes.io/service-account-token" => {
            let ann = val::obj(val::path(obj, &["metadata"]), "annotations");
            let name = ann
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if name.is_empty() {
                errs.push(required(
                    &Path::new("metadata")
                        .child("annotations")
                        .key("kubernetes.io/service-account.name"),
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson" => {
            let key = if val::s(obj, "type") == "kubernetes.io/dockercfg" {
                ".dockercfg"
            } else {
                ".dockerconfigjson"
            };
            match data.and_then(|d| d.get(key)) {
                None => errs.push(required(&dp.key(key), "")),
                Some(v) => {
                    let bytes = decoded(v);
                    let parsed: Result<serde_json::Map<String, Value>, _> =
                        serde_json::from_slice(&bytes);
                    if let Err(e) = parsed {
                        errs.push(invalid_str(
                            &dp.key(key),
                            "<secret contents redacted>",
                            &e.to_string(),
                        ));
                    }
                }
            }
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errs.push(required(&dp.key("username"), ""));
            errs.push(required(&dp.key("password"), ""));
        }
        "kubernetes.io/ssh-auth"
            if data
                .and_then(|d| d.get("ssh-privatekey"))
                .is_none_or(|v| decoded_len(v) == 0) =>
        {
            errs.push(required(&dp.key("ssh-privatekey"), ""));
        }
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if !has(k) {
                    errs.push(required(&dp.key(k), ""));
                }
            }
        }
        _ => {}
    }
    errs
}

fn immutable_data(errs: &mut Errs, obj: &Value, old: &Value, fields: &[&str]) {
    if val::boolean(old, "immutable") != Some(true) {
        return;
    }
    if val::boolean(obj, "immutable") != Some(true) {
        errs.push(forbidden(
            &Path::new("immutable"),
            "field is immutable when `immutable` is set",
        ));
    }
    for f in fields {
        let norm = |v: &Value| val::obj(v, f).cloned().unwrap_or_default();
        if norm(obj) != norm(old) {
            errs.push(forbidden(
                &Path::new(f),
                "field is immutable when `immutable` is set",
            ));
        }
    }
}

pub(crate) fn validate_config_map(obj: &Value, old: Option<&Value>) -> Errs {
    let mut errs = Errs::new();
    if let Some(old) = old {
        errs = meta::validate_update(obj, old, ns_subdomain());
        immutable_data(&mut errs, obj, old, &["data", "binaryData"]);
    }
    errs.extend(meta::validate_create(obj, ns_subdomain()));
    let binary = val::obj(obj, "binaryData");
    let mut total = 0;
    let dp = Path::new("data");
    for (k, v) in val::obj(obj, "data").into_iter().flatten() {
        each_invalid(&mut errs, &dp.key(k), k, names::is_config_map_key(k));
        if binary.is_some_and(|b| b.contains_key(k)) {
            errs.push(invalid_str(
                &dp.key(k),
                k,
                "duplicate of key present in binaryData",
            ));
        }
        total += v.as_str().map_or(0, str::len);
    }
    let bp = Path::new("binaryData");
    for (k, v) in binary.into_iter().flatten() {
        each_invalid(&mut errs, &bp.key(k), k, names::is_config_map_key(k));
        total += decoded_len(v);
    }
    if total > MAX_SECRET_SIZE {
        errs.push(too_long(&Path::new(""), MAX_SECRET_SIZE));
    }
    errs
}

pub(crate) fn validate_service_account(obj: &Value, old: Option<&Value>) -> Errs {
    match old {
        Some(old) => meta_update_then_create(obj, old, ns_subdomain()),
        None => meta::validate_create(obj, ns_subdomain()),
    }
}

// === Endpoints ===

pub(crate) fn validate_endpoints(obj: &Value, old: Option<&Value>) -> Errs {
    let mut errs = match old {
        Some(old) => meta_update_then_create(obj, old, ns_subdomain()),
        None => meta::validate_create(obj, ns_subdomain()),
    };
    let p = Path::new("subsets");
    for (i, ss) in val::arr(obj, "subsets").iter().enumerate() {
        let ip = p.index(i);
        let (addrs, not_ready) = (val::arr(ss, "addresses"), val::arr(ss, "notReadyAddresses"));
        if addrs.is_empty() && not_ready.is_empty() {
            errs.push(required(
                &ip,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for (key, list) in [("addresses", addrs), ("notReadyAddresses", not_ready)] {
            for (j, a) in list.iter().enumerate() {
                endpoint_address(&mut errs, a, &ip.child(key).index(j));
            }
        }
        let ports = val::arr(ss, "ports");
        for (j, port) in ports.iter().enumerate() {
            let pp = ip.child("ports").index(j);
            let name = val::s(port, "name");
            if ports.len() > 1 && name.is_empty() {
                errs.push(required(&pp.child("name"), ""));
            } else if !name.is_empty() {
                each_invalid(
                    &mut errs,
                    &pp.child("name"),
                    name,
                    names::is_dns1123_label(name),
                );
            }
            let num = val::int0(port, "port");
            for m in names::is_valid_port_num(num) {
                errs.push(invalid_int(&pp.child("port"), num, &m));
            }
            protocol(&mut errs, port, &pp.child("protocol"));
            if let Some(ap) = val::opt_s(port, "appProtocol") {
                each_invalid(
                    &mut errs,
                    &pp.child("appProtocol"),
                    ap,
                    names::is_qualified_name(ap),
                );
            }
        }
    }
    errs
}

fn endpoint_address(errs: &mut Errs, a: &Value, p: &Path) {
    let ip = val::s(a, "ip");
    if names::parse_ip(ip).is_none() {
        errs.push(invalid_str(&p.child("ip"), ip, names::INVALID_IP_MSG));
    }
    let host = val::s(a, "hostname");
    if !host.is_empty() {
        each_invalid(
            errs,
            &p.child("hostname"),
            host,
            names::is_dns1123_label(host),
        );
    }
    if let Some(n) = val::opt_s(a, "nodeName") {
        each_invalid(
            errs,
            &p.child("nodeName"),
            n,
            names::is_dns1123_subdomain(n),
        );
    }
    validate_non_special_ip(errs, ip, &p.child("ip"));
}

// === Event (core/v1, legacy rules only) ===

pub(crate) fn validate_event(obj: &Value) -> Errs {
    let mut errs = Errs::new();
    let ns = val::s(val::path(obj, &["metadata"]), "namespace");
    let involved_ns = val::s(val::path(obj, &["involvedObject"]), "namespace");
    let inp = Path::new("involvedObject").child("namespace");
    let mismatch = || invalid_str(&inp, involved_ns, "does not match event.namespace");
    if !val::has(obj, "eventTime") {
        if involved_ns.is_empty() {
            if !ns.is_empty() && ns != "default" {
                errs.push(mismatch());
            }
        } else if ns != involved_ns {
            errs.push(mismatch());
        }
    } else {
        if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(mismatch());
        }
        // For v1 requests upstream names the reporting controller "source".
        let rc = val::s(obj, "reportingComponent");
        let rcp = Path::new("source");
        if rc.is_empty() {
            errs.push(required(&rcp, ""));
        }
        each_invalid(&mut errs, &rcp, rc, names::is_qualified_name(rc));
        let limit = |errs: &mut Errs, key: &str, max: usize, req: bool| {
            let v = val::s(obj, key);
            if req && v.is_empty() {
                errs.push(required(&Path::new(key), ""));
            }
            if v.len() > max {
                errs.push(invalid_str(
                    &Path::new(key),
                    "",
                    &format!("can have at most {max} characters"),
                ));
            }
        };
        limit(&mut errs, "reportingInstance", 128, true);
        limit(&mut errs, "action", 128, true);
        limit(&mut errs, "reason", 128, true);
        limit(&mut errs, "message", 1024, false);
    }
    each_invalid(
        &mut errs,
        &Path::new("namespace"),
        ns,
        names::is_dns1123_subdomain(ns),
    );
    errs
}

// === Node ===

fn go_taint(t: &Value) -> String {
    format!(
        "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:(*v1.Time)(nil)}}",
        go_quote(val::s(t, "key")),
        go_quote(val::s(t, "value")),
        go_quote(val::s(t, "effect"))
    )
}

fn node_taints(errs: &mut Errs, taints: &[Value], p: &Path) {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (i, t) in taints.iter().enumerate() {
        let ip = p.index(i);
        let key = val::s(t, "key");
        each_invalid(errs, &ip.child("key"), key, names::is_qualified_name(key));
        let v = val::s(t, "value");
        let msgs = names::is_valid_label_value(v);
        if !msgs.is_empty() {
            errs.push(invalid_str(&ip.child("value"), v, &msgs.join(";")));
        }
        let effect = val::s(t, "effect");
        match effect {
            "" => errs.push(required(&ip.child("effect"), "")),
            "NoSchedule" | "PreferNoSchedule" | "NoExecute" => {}
            other => errs.push(not_supported_str(
                &ip.child("effect"),
                other,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            )),
        }
        if seen.contains(&(effect, key)) {
            errs.push(FieldError::new(
                FieldErrorKind::Duplicate,
                ip.as_str(),
                Some(go_taint(t)),
                "taints must be unique by key and effect pair",
            ));
            continue;
        }
        seen.push((effect, key));
    }
}

fn node_resources(errs: &mut Errs, obj: &Value) {
    let status = val::path(obj, &["status"]);
    for key in ["capacity", "allocatable"] {
        for (k, v) in val::obj(status, key).into_iter().flatten() {
            if let Some(q) = quantity::from_json(v) {
                if q.is_negative() {
                    let p = Path::new("status").child(key).child(k);
                    errs.push(invalid_str(
                        &p,
                        &q.canonical(),
                        "must be greater than or equal to 0",
                    ));
                }
            }
        }
    }
}

pub(crate) fn validate_node(obj: &Value, old: Option<&Value>) -> Errs {
    let rules = MetaRules::cluster(NameRule::Dns1123Subdomain);
    let spec = val::path(obj, &["spec"]);
    // Upstream reports taints under `metadata.taints`.
    let taints_path = Path::new("metadata").child("taints");
    let Some(old) = old else {
        let mut errs = meta::validate_create(obj, rules);
        node_taints(&mut errs, val::arr(spec, "taints"), &taints_path);
        node_resources(&mut errs, obj);
        let cidrs = val::arr(spec, "podCIDRs");
        let cp = Path::new("spec").child("podCIDRs");
        for (i, c) in cidrs.iter().enumerate() {
            let c = c.as_str().unwrap_or("");
            if !names::is_valid_cidr(c) {
                errs.push(invalid_str(&cp.index(i), c, names::INVALID_CIDR_MSG));
            }
        }
        if cidrs.len() > 1 {
            let v6: Vec<bool> = cidrs
                .iter()
                .map(|c| names::is_ipv6(c.as_str().unwrap_or("").split('/').next().unwrap_or("")))
                .collect();
            if cidrs.len() > 2 || v6[0] == v6[1] {
                errs.push(invalid(
                    &cp,
                    go_string_slice(spec.get("podCIDRs").and_then(Value::as_array)),
                    "may specify no more than one CIDR for each IP family",
                ));
            }
            let mut seen: Vec<&Value> = Vec::new();
            for (i, c) in cidrs.iter().enumerate() {
                if seen.contains(&c) {
                    errs.push(duplicate(&cp.index(i), go_quote(c.as_str().unwrap_or(""))));
                }
                seen.push(c);
            }
        }
        return errs;
    };
    let mut errs = meta::validate_update(obj, old, rules);
    node_resources(&mut errs, obj);
    let mut addrs: Vec<&Value> = Vec::new();
    for (i, a) in val::arr(val::path(obj, &["status"]), "addresses")
        .iter()
        .enumerate()
    {
        if addrs.contains(&a) {
            errs.push(duplicate(
                &Path::new("status").child("addresses").index(i),
                format!(
                    "core.NodeAddress{{Type:{}, Address:{}}}",
                    go_quote(val::s(a, "type")),
                    go_quote(val::s(a, "address"))
                ),
            ));
        }
        addrs.push(a);
    }
    let os = val::path(old, &["spec"]);
    let (oc, nc) = (val::arr(os, "podCIDRs"), val::arr(spec, "podCIDRs"));
    if !oc.is_empty() {
        let msg = "node updates may not change podCIDR except from \"\" to valid";
        let cp = Path::new("spec").child("podCIDRs");
        if oc.len() != nc.len() {
            errs.push(forbidden(&cp, msg));
        } else {
            for (a, b) in oc.iter().zip(nc) {
                if a != b {
                    errs.push(forbidden(&cp, msg));
                }
            }
        }
    }
    let old_provider = val::s(os, "providerID");
    if !old_provider.is_empty() && old_provider != val::s(spec, "providerID") {
        errs.push(forbidden(
            &Path::new("spec").child("providerID"),
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    node_taints(&mut errs, val::arr(spec, "taints"), &taints_path);
    if val::s(spec, "externalID") != val::s(os, "externalID") {
        errs.push(forbidden(
            &Path::new("spec").child("externalID"),
            "may not be updated",
        ));
    }
    errs
}

// === EndpointSlice ===

fn fqdn(errs: &mut Errs, name: &str, p: &Path) {
    if name.is_empty() {
        errs.push(required(p, ""));
        return;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let msgs = names::is_dns1123_subdomain(name);
    if !msgs.is_empty() {
        errs.push(invalid_str(p, name, &msgs.join(",")));
        return;
    }
    if name.split('.').count() < 2 {
        errs.push(invalid_str(
            p,
            name,
            "should be a domain with at least two segments separated by dots",
        ));
        return;
    }
    for label in name.split('.') {
        let msgs = names::is_dns1123_label(label);
        if !msgs.is_empty() {
            errs.push(invalid_str(p, label, &msgs.join(",")));
            return;
        }
    }
}

pub(crate) fn validate_endpoint_slice(obj: &Value, old: Option<&Value>) -> Errs {
    let mut errs = meta::validate_create(obj, ns_subdomain());
    let addr_type = val::s(obj, "addressType");
    let atp = Path::new("addressType");
    const TYPES: [&str; 3] = ["FQDN", "IPv4", "IPv6"];
    if addr_type.is_empty() {
        errs.push(required(&atp, ""));
    } else if !TYPES.contains(&addr_type) {
        errs.push(not_supported_str(&atp, addr_type, &TYPES));
    }
    let ep = Path::new("endpoints");
    let endpoints = val::arr(obj, "endpoints");
    if endpoints.len() > 1000 {
        errs.push(too_many(&ep, endpoints.len(), 1000));
    } else {
        for (i, e) in endpoints.iter().enumerate() {
            let ip = ep.index(i);
            let ap = ip.child("addresses");
            let addrs = val::arr(e, "addresses");
            if addrs.is_empty() {
                errs.push(required(&ap, "must contain at least 1 address"));
            } else if addrs.len() > 100 {
                errs.push(too_many(&ap, addrs.len(), 100));
            }
            for (j, a) in addrs.iter().enumerate() {
                let a = a.as_str().unwrap_or("");
                let jp = ap.index(j);
                match addr_type {
                    "IPv4" | "IPv6" => {
                        let ok = match names::parse_ip(a) {
                            Some(ip) => ip.is_ipv4() == (addr_type == "IPv4"),
                            None => false,
                        };
                        if ok {
                            validate_non_special_ip(&mut errs, a, &jp);
                        } else {
                            errs.push(invalid_str(
                                &jp,
                                a,
                                &format!("must be a valid {addr_type} address"),
                            ));
                        }
                    }
                    "FQDN" => fqdn(&mut errs, a, &jp),
                    _ => {}
                }
            }
            if let Some(n) = val::opt_s(e, "nodeName") {
                each_invalid(
                    &mut errs,
                    &ip.child("nodeName"),
                    n,
                    names::is_dns1123_subdomain(n),
                );
            }
            let tp = ip.child("deprecatedTopology");
            let topo = val::obj(e, "deprecatedTopology");
            let n = topo.map_or(0, |t| t.len());
            if n > 16 {
                errs.push(too_many(&tp, n, 16));
            }
            meta::validate_labels(&mut errs, topo, &tp);
            if let Some(h) = val::opt_s(e, "hostname") {
                each_invalid(
                    &mut errs,
                    &ip.child("hostname"),
                    h,
                    names::is_dns1123_label(h),
                );
            }
        }
    }
    let pp = Path::new("ports");
    let ports = val::arr(obj, "ports");
    if ports.len() > 20000 {
        errs.push(too_many(&pp, ports.len(), 20000));
    } else {
        let mut seen: Vec<&str> = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let ip = pp.index(i);
            let name = val::s(port, "name");
            if !name.is_empty() {
                each_invalid(
                    &mut errs,
                    &ip.child("name"),
                    name,
                    names::is_dns1123_label(name),
                );
            }
            if seen.contains(&name) {
                errs.push(duplicate(&ip.child("name"), go_quote(name)));
            } else {
                seen.push(name);
            }
            protocol(&mut errs, port, &ip.child("protocol"));
            if let Some(ap) = val::opt_s(port, "appProtocol") {
                each_invalid(
                    &mut errs,
                    &ip.child("appProtocol"),
                    ap,
                    names::is_qualified_name(ap),
                );
            }
        }
    }
    if let Some(old) = old {
        if addr_type != val::s(old, "addressType") {
            errs.push(invalid_str(&atp, addr_type, FIELD_IMMUTABLE));
        }
    }
    errs
}

// === Lease ===

pub(crate) fn validate_lease(obj: &Value, old: Option<&Value>) -> Errs {
    let rules = MetaRules {
        kube_finalizers: false,
        ..ns_subdomain()
    };
    let mut errs = match old {
        Some(old) => meta::validate_update(obj, old, rules),
        None => meta::validate_create(obj, rules),
    };
    let spec = val::path(obj, &["spec"]);
    let p = Path::new("spec");
    if let Some(d) = val::int(spec, "leaseDurationSeconds") {
        if d <= 0 {
            errs.push(invalid_int(
                &p.child("leaseDurationSeconds"),
                d,
                "must be greater than 0",
            ));
        }
    }
    if let Some(t) = val::int(spec, "leaseTransitions") {
        if t < 0 {
            errs.push(invalid_int(
                &p.child("leaseTransitions"),
                t,
                "must be greater than or equal to 0",
            ));
        }
    }
    errs
}
