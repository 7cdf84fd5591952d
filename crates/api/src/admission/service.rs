//! Service validation (`ValidateService`, `ValidateServiceUpdate`,
//! `ValidateServiceClusterIPsRelatedFields` and the dual-stack
//! upgrade/downgrade rules).

use serde_json::Value;

use super::errs::*;
use super::meta::{self, MetaRules};
use super::names::{self, NameRule};
use super::pod::{port_num_or_name, protocol};
use super::render::{go_quote, go_scalar, go_service_port_key, go_string_slice};
use super::val;

const KUBELET_PORT: i64 = 10250;
const MAX_CLIENT_IP_AFFINITY_SECONDS: i64 = 86400;

fn rules() -> MetaRules {
    MetaRules::namespaced(NameRule::Dns1035Label)
}

fn cluster_ips(spec: &Value) -> Vec<&str> {
    val::arr(spec, "clusterIPs")
        .iter()
        .map(|x| x.as_str().unwrap_or(""))
        .collect()
}

fn is_headless(spec: &Value) -> bool {
    cluster_ips(spec) == ["None"]
}

pub(crate) fn externally_accessible(spec: &Value) -> bool {
    let t = val::s(spec, "type");
    t == "LoadBalancer"
        || t == "NodePort"
        || (t == "ClusterIP" && !val::arr(spec, "externalIPs").is_empty())
}

fn needs_health_check(spec: &Value) -> bool {
    val::s(spec, "type") == "LoadBalancer" && val::s(spec, "externalTrafficPolicy") == "Local"
}

fn go_ips(spec: &Value) -> String {
    go_string_slice(spec.get("clusterIPs").and_then(Value::as_array))
}

fn go_families(spec: &Value) -> String {
    match spec.get("ipFamilies").and_then(Value::as_array) {
        None => "[]core.IPFamily(nil)".to_string(),
        Some(a) => {
            let items: Vec<String> = a
                .iter()
                .map(|x| go_quote(x.as_str().unwrap_or("")))
                .collect();
            format!("[]core.IPFamily{{{}}}", items.join(", "))
        }
    }
}

pub(crate) fn validate_service(obj: &Value, old: Option<&Value>) -> Errs {
    let spec = val::path(obj, &["spec"]);
    let mut errs = Errs::new();
    if let Some(o) = old {
        errs = meta::validate_update(obj, o, rules());
        let os = val::path(o, &["spec"]);
        upgrade_downgrade_cluster_ips(&mut errs, os, spec);
        upgrade_downgrade_ip_families(&mut errs, os, spec);
        load_balancer_class(&mut errs, Some(os), spec);
        if needs_health_check(os)
            && needs_health_check(spec)
            && val::int0(spec, "healthCheckNodePort") != val::int0(os, "healthCheckNodePort")
        {
            errs.push(forbidden(
                &Path::new("spec").child("healthCheckNodePort"),
                FIELD_IMMUTABLE,
            ));
        }
    }
    // ValidateService itself starts with the create-style ObjectMeta checks,
    // so upstream runs them on update as well.
    errs.extend(meta::validate_create(obj, rules()));
    validate_spec(&mut errs, obj, spec);
    errs
}

fn validate_spec(errs: &mut Errs, obj: &Value, spec: &Value) {
    let mp = Path::new("metadata");
    let annotations = val::obj(val::path(obj, &["metadata"]), "annotations");
    let ann = val::str_map(annotations);
    let get_ann = |k: &str| ann.iter().find(|(a, _)| *a == k).map(|(_, v)| *v);
    if let (Some(mode), Some(hints)) = (
        get_ann("service.kubernetes.io/topology-mode"),
        get_ann("service.kubernetes.io/topology-aware-hints"),
    ) {
        if mode != hints {
            errs.push(invalid_str(
                &mp.child("annotations").key("service.kubernetes.io/topology-mode"),
                mode,
                "must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified",
            ));
        }
    }
    let sp = Path::new("spec");
    let ty = val::s(spec, "type");
    let ports = val::arr(spec, "ports");
    if ports.is_empty() && !is_headless(spec) && ty != "ExternalName" {
        errs.push(required(&sp.child("ports"), ""));
    }
    match ty {
        "LoadBalancer" => {
            for (i, port) in ports.iter().enumerate() {
                if val::int0(port, "port") == KUBELET_PORT {
                    errs.push(invalid_int(
                        &sp.child("ports").index(i),
                        KUBELET_PORT,
                        &format!("may not expose port {KUBELET_PORT} externally since it is used by kubelet"),
                    ));
                }
            }
            if is_headless(spec) {
                errs.push(invalid_str(
                    &sp.child("clusterIPs").index(0),
                    "None",
                    "may not be set to 'None' for LoadBalancer services",
                ));
            }
        }
        "NodePort" if is_headless(spec) => {
            errs.push(invalid_str(
                &sp.child("clusterIPs").index(0),
                "None",
                "may not be set to 'None' for NodePort services",
            ));
        }
        "ExternalName" => {
            if !cluster_ips(spec).is_empty() {
                errs.push(forbidden(
                    &sp.child("clusterIPs"),
                    "may not be set for ExternalName services",
                ));
            }
            if !val::arr(spec, "ipFamilies").is_empty() {
                errs.push(forbidden(
                    &sp.child("ipFamilies"),
                    "may not be set for ExternalName services",
                ));
            }
            if val::has(spec, "ipFamilyPolicy") {
                errs.push(forbidden(
                    &sp.child("ipFamilyPolicy"),
                    "may not be set for ExternalName services",
                ));
            }
            let cname = val::s(spec, "externalName");
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                errs.push(required(&sp.child("externalName"), ""));
            } else {
                each_invalid(
                    errs,
                    &sp.child("externalName"),
                    cname,
                    names::is_dns1123_subdomain(cname),
                );
            }
        }
        _ => {}
    }
    let mut port_names: Vec<&str> = Vec::new();
    let require_name = ports.len() > 1;
    for (i, port) in ports.iter().enumerate() {
        let pp = sp.child("ports").index(i);
        let name = val::s(port, "name");
        if require_name && name.is_empty() {
            errs.push(required(&pp.child("name"), ""));
        } else if !name.is_empty() {
            each_invalid(errs, &pp.child("name"), name, names::is_dns1123_label(name));
            if port_names.contains(&name) {
                errs.push(duplicate(&pp.child("name"), go_quote(name)));
            } else {
                port_names.push(name);
            }
        }
        let num = val::int0(port, "port");
        for m in names::is_valid_port_num(num) {
            errs.push(invalid_int(&pp.child("port"), num, &m));
        }
        protocol(errs, port, &pp.child("protocol"));
        port_num_or_name(errs, port.get("targetPort"), &pp.child("targetPort"));
        if let Some(ap) = val::opt_s(port, "appProtocol") {
            each_invalid(
                errs,
                &pp.child("appProtocol"),
                ap,
                names::is_qualified_name(ap),
            );
        }
    }
    if val::has(spec, "selector") {
        meta::validate_labels(errs, val::obj(spec, "selector"), &sp.child("selector"));
    }
    let affinity = val::s(spec, "sessionAffinity");
    match affinity {
        "" => errs.push(required(&sp.child("sessionAffinity"), "")),
        "ClientIP" | "None" => {}
        other => errs.push(not_supported_str(
            &sp.child("sessionAffinity"),
            other,
            &["ClientIP", "None"],
        )),
    }
    let cp = sp.child("sessionAffinityConfig");
    if affinity == "ClientIP" {
        match val::get(spec, "sessionAffinityConfig") {
            None => errs.push(required(&cp, "when session affinity type is ClientIP")),
            Some(cfg) => match val::get(cfg, "clientIP") {
                None => errs.push(required(
                    &cp.child("clientIP"),
                    "when session affinity type is ClientIP",
                )),
                Some(c) => match val::int(c, "timeoutSeconds") {
                    None => errs.push(required(
                        &cp.child("clientIP").child("timeoutSeconds"),
                        "when session affinity type is ClientIP",
                    )),
                    Some(t) if t <= 0 || t > MAX_CLIENT_IP_AFFINITY_SECONDS => {
                        errs.push(invalid_int(
                            &cp.child("clientIP").child("timeoutSeconds"),
                            t,
                            &format!(
                            "must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}"
                        ),
                        ))
                    }
                    Some(_) => {}
                },
            },
        }
    } else if affinity == "None" && val::has(spec, "sessionAffinityConfig") {
        errs.push(forbidden(
            &cp,
            "must not be set when session affinity is None",
        ));
    }
    cluster_ips_related(errs, spec);
    for (i, ip) in val::arr(spec, "externalIPs").iter().enumerate() {
        let ip = ip.as_str().unwrap_or("");
        let ep = sp.child("externalIPs").index(i);
        if names::parse_ip(ip).is_none() {
            errs.push(invalid_str(&ep, ip, names::INVALID_IP_MSG));
        } else {
            non_special_ip(errs, ip, &ep);
        }
    }
    const TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if ty.is_empty() {
        errs.push(required(&sp.child("type"), ""));
    } else if !TYPES.contains(&ty) {
        errs.push(not_supported_str(&sp.child("type"), ty, &TYPES));
    }
    if ty == "ClusterIP" {
        for (i, port) in ports.iter().enumerate() {
            if val::int0(port, "nodePort") != 0 {
                errs.push(forbidden(
                    &sp.child("ports").index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    let mut node_ports: Vec<(&str, i64)> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let np = val::int0(port, "nodePort");
        if np == 0 {
            continue;
        }
        let key = (val::s(port, "protocol"), np);
        if node_ports.contains(&key) {
            errs.push(duplicate(
                &sp.child("ports").index(i).child("nodePort"),
                np.to_string(),
            ));
        }
        node_ports.push(key);
    }
    let mut seen: Vec<(&str, i64)> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let key = (val::s(port, "protocol"), val::int0(port, "port"));
        if seen.contains(&key) {
            errs.push(duplicate(
                &sp.child("ports").index(i),
                go_service_port_key(key.0, key.1),
            ));
        }
        seen.push(key);
    }
    let ranges = val::arr(spec, "loadBalancerSourceRanges");
    if !ranges.is_empty() {
        let fp = sp.child("LoadBalancerSourceRanges");
        if ty != "LoadBalancer" {
            errs.push(forbidden(
                &fp,
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        for (i, r) in ranges.iter().enumerate() {
            let r = r.as_str().unwrap_or("").trim();
            if !names::is_valid_cidr(r) {
                errs.push(invalid_str(&fp.index(i), r, names::INVALID_CIDR_MSG));
            }
        }
    } else if let Some(v) = get_ann("service.beta.kubernetes.io/load-balancer-source-ranges") {
        let fp = mp
            .child("annotations")
            .key("service.beta.kubernetes.io/load-balancer-source-ranges");
        if ty != "LoadBalancer" {
            errs.push(forbidden(
                &fp,
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        let v = v.trim();
        if !v.is_empty() {
            for r in v.split(',') {
                let r = r.trim();
                if !names::is_valid_cidr(r) {
                    errs.push(invalid_str(&fp, r, names::INVALID_CIDR_MSG));
                }
            }
        }
    }
    if val::has(spec, "allocateLoadBalancerNodePorts") && ty != "LoadBalancer" {
        errs.push(forbidden(
            &sp.child("allocateLoadBalancerNodePorts"),
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if ty == "LoadBalancer" && !val::has(spec, "allocateLoadBalancerNodePorts") {
        // Upstream reports this one without the `spec.` prefix.
        errs.push(required(&Path::new("allocateLoadBalancerNodePorts"), ""));
    }
    load_balancer_class(errs, None, spec);
    external_traffic_policy(errs, spec, &sp);
    match val::opt_s(spec, "internalTrafficPolicy") {
        None => {
            if matches!(ty, "NodePort" | "LoadBalancer" | "ClusterIP") {
                errs.push(required(&sp.child("internalTrafficPolicy"), ""));
            }
        }
        Some("Cluster") | Some("Local") => {}
        Some(other) => errs.push(not_supported_str(
            &sp.child("internalTrafficPolicy"),
            other,
            &["Cluster", "Local"],
        )),
    }
    if let Some(td) = val::opt_s(spec, "trafficDistribution") {
        if td != "PreferClose" {
            errs.push(not_supported_str(
                &sp.child("trafficDistribution"),
                td,
                &["PreferClose"],
            ));
        }
    }
}

fn external_traffic_policy(errs: &mut Errs, spec: &Value, sp: &Path) {
    let etp = val::s(spec, "externalTrafficPolicy");
    if !externally_accessible(spec) {
        if !etp.is_empty() {
            errs.push(invalid_str(
                &sp.child("externalTrafficPolicy"),
                etp,
                "may only be set for externally-accessible services",
            ));
        }
    } else if etp.is_empty() {
        errs.push(required(&sp.child("externalTrafficPolicy"), ""));
    } else if etp != "Cluster" && etp != "Local" {
        errs.push(not_supported_str(
            &sp.child("externalTrafficPolicy"),
            etp,
            &["Cluster", "Local"],
        ));
    }
    let hc = val::int0(spec, "healthCheckNodePort");
    if !needs_health_check(spec) {
        if hc != 0 {
            errs.push(invalid_int(
                &sp.child("healthCheckNodePort"),
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        }
    } else if hc == 0 {
        errs.push(required(&sp.child("healthCheckNodePort"), ""));
    } else {
        for m in names::is_valid_port_num(hc) {
            errs.push(invalid_int(&sp.child("healthCheckNodePort"), hc, &m));
        }
    }
}

fn load_balancer_class(errs: &mut Errs, old: Option<&Value>, spec: &Value) {
    let p = Path::new("spec").child("loadBalancerClass");
    let class = val::opt_s(spec, "loadBalancerClass");
    let is_lb = val::s(spec, "type") == "LoadBalancer";
    if let Some(old) = old {
        if val::s(old, "type") == "LoadBalancer"
            && is_lb
            && val::opt_s(old, "loadBalancerClass") != class
        {
            errs.push(invalid(
                &p,
                go_scalar(spec.get("loadBalancerClass")),
                "may not change once set",
            ));
        }
        return;
    }
    match (is_lb, class) {
        (true, Some(c)) => each_invalid(errs, &p, c, names::is_qualified_name(c)),
        (false, Some(_)) => errs.push(forbidden(
            &p,
            "may only be used when `type` is 'LoadBalancer'",
        )),
        _ => {}
    }
}

fn non_special_ip(errs: &mut Errs, ip: &str, p: &Path) {
    use std::net::IpAddr;
    let Some(addr) = names::parse_ip(ip) else {
        errs.push(invalid_str(p, ip, "must be a valid IP address"));
        return;
    };
    if addr.is_unspecified() {
        errs.push(invalid_str(
            p,
            ip,
            &format!("may not be unspecified ({ip})"),
        ));
    }
    if addr.is_loopback() {
        errs.push(invalid_str(
            p,
            ip,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        ));
    }
    let link_local_unicast = match addr {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
    };
    if link_local_unicast {
        errs.push(invalid_str(
            p,
            ip,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    let link_local_multicast = match addr {
        IpAddr::V4(a) => a.octets()[..3] == [224, 0, 0],
        IpAddr::V6(a) => (a.segments()[0] & 0xff0f) == 0xff02,
    };
    if link_local_multicast {
        errs.push(invalid_str(
            p,
            ip,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
}

pub(crate) fn validate_non_special_ip(errs: &mut Errs, ip: &str, p: &Path) {
    non_special_ip(errs, ip, p);
}

fn cluster_ips_related(errs: &mut Errs, spec: &Value) {
    if val::s(spec, "type") == "ExternalName" {
        return;
    }
    let sp = Path::new("spec");
    let (ipsp, famp, polp) = (
        sp.child("clusterIPs"),
        sp.child("ipFamilies"),
        sp.child("ipFamilyPolicy"),
    );
    let ips = cluster_ips(spec);
    let cluster_ip = val::s(spec, "clusterIP");
    if !cluster_ip.is_empty() {
        if ips.is_empty() {
            errs.push(required(&ipsp, ""));
        } else if ips[0] != cluster_ip {
            errs.push(invalid(
                &ipsp,
                go_ips(spec),
                "first value must match `clusterIP`",
            ));
        }
    } else if !ips.is_empty() {
        errs.push(invalid(
            &ipsp,
            go_ips(spec),
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, f) in val::arr(spec, "ipFamilies").iter().enumerate() {
        let f = f.as_str().unwrap_or("");
        if f != "IPv4" && f != "IPv6" {
            errs.push(not_supported_str(&famp.index(i), f, &["IPv4", "IPv6"]));
        }
        if seen.contains(&f) {
            errs.push(duplicate(&famp.index(i), go_quote(f)));
        }
        seen.push(f);
    }
    if let Some(policy) = val::opt_s(spec, "ipFamilyPolicy") {
        if !matches!(
            policy,
            "SingleStack" | "PreferDualStack" | "RequireDualStack"
        ) {
            errs.push(not_supported_str(
                &polp,
                policy,
                &["PreferDualStack", "RequireDualStack", "SingleStack"],
            ));
        }
    }
    let mut bad_ips = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && *ip == "None" {
            if ips.len() > 1 {
                bad_ips = true;
                errs.push(invalid(
                    &ipsp,
                    go_ips(spec),
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        if names::parse_ip(ip).is_none() {
            bad_ips = true;
            errs.push(invalid_str(&ipsp.index(i), ip, names::INVALID_IP_MSG));
        }
    }
    if ips.len() > 2 {
        errs.push(invalid(&ipsp, go_ips(spec), "may only hold up to 2 values"));
    }
    if bad_ips {
        return;
    }
    if ips.len() > 1 {
        let v6: Vec<bool> = ips.iter().map(|ip| names::is_ipv6(ip)).collect();
        let dual = v6.len() == 2 && v6[0] != v6[1];
        if !dual {
            errs.push(invalid(
                &ipsp,
                go_ips(spec),
                "may specify no more than one IP for each IP family",
            ));
        }
    }
    let families = val::arr(spec, "ipFamilies");
    if !is_headless(spec) && !ips.is_empty() && !families.is_empty() {
        for (i, ip) in ips.iter().enumerate() {
            let Some(f) = families.get(i).and_then(Value::as_str) else {
                break;
            };
            if f == "IPv4" && names::is_ipv6(ip) {
                errs.push(invalid_str(
                    &ipsp.index(i),
                    ip,
                    &format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
            if f == "IPv6" && !names::is_ipv6(ip) {
                errs.push(invalid_str(
                    &ipsp.index(i),
                    ip,
                    &format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }
}

fn upgrade_downgrade_cluster_ips(errs: &mut Errs, old: &Value, new: &Value) {
    if val::s(new, "type") == "ExternalName" || val::s(old, "type") == "ExternalName" {
        return;
    }
    if is_headless(old) && is_headless(new) {
        return;
    }
    let p = Path::new("spec").child("clusterIPs");
    let (o, n) = (cluster_ips(old), cluster_ips(new));
    if o.len() == n.len() {
        for (i, ip) in o.iter().enumerate() {
            if *ip != n[i] {
                errs.push(invalid(&p.index(i), go_ips(new), "may not change once set"));
            }
        }
    } else if o.len() > n.len() {
        if n.is_empty() {
            errs.push(invalid(
                &p.index(0),
                go_ips(new),
                "primary clusterIP can not be unset",
            ));
        }
        if !o.is_empty() && !n.is_empty() && n[0] != o[0] {
            errs.push(invalid(&p.index(0), go_ips(new), "may not change once set"));
        }
        if n.len() == 1 && val::opt_s(new, "ipFamilyPolicy") != Some("SingleStack") {
            errs.push(invalid(
                &Path::new("spec").child("ipFamilyPolicy"),
                go_scalar(new.get("ipFamilyPolicy")),
                "must be set to 'SingleStack' when releasing the secondary clusterIP",
            ));
        }
    } else if !o.is_empty() && n[0] != o[0] {
        errs.push(invalid(&p.index(0), go_ips(new), "may not change once set"));
    }
}

fn upgrade_downgrade_ip_families(errs: &mut Errs, old: &Value, new: &Value) {
    if val::s(new, "type") == "ExternalName" || val::s(old, "type") == "ExternalName" {
        return;
    }
    if is_headless(old) || is_headless(new) {
        return;
    }
    let p = Path::new("spec").child("ipFamilies");
    let fam = |s: &Value| -> Vec<String> {
        val::arr(s, "ipFamilies")
            .iter()
            .map(|x| x.as_str().unwrap_or("").to_string())
            .collect()
    };
    let (o, n) = (fam(old), fam(new));
    if o.len() == n.len() {
        for (i, f) in o.iter().enumerate() {
            if *f != n[i] {
                errs.push(invalid(
                    &p.index(0),
                    go_families(new),
                    "may not change once set",
                ));
            }
        }
    } else if o.len() > n.len() {
        if cluster_ips(new).is_empty() {
            errs.push(invalid(
                &p.index(0),
                go_families(new),
                "primary ipFamily can not be unset",
            ));
        }
        if !n.is_empty() && n[0] != o[0] {
            errs.push(invalid(&p.index(0), go_ips(new), "may not change once set"));
        }
        if n.len() == 1 && val::opt_s(new, "ipFamilyPolicy") != Some("SingleStack") {
            errs.push(invalid(
                &Path::new("spec").child("ipFamilyPolicy"),
                go_scalar(new.get("ipFamilyPolicy")),
                "must be set to 'SingleStack' when releasing the secondary ipFamily",
            ));
        }
    } else if !o.is_empty() && !n.is_empty() && n[0] != o[0] {
        errs.push(invalid(&p.index(0), go_ips(new), "may not change once set"));
    }
}
