//! ClusterIP and NodePort allocation for Services. Callers hold
//! `ApiState::alloc` across allocation and the store write, so two Services
//! never get the same address or port.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::{json, Value};

use api::errors::FieldError;

use crate::error::{ApiError, ApiResult};
use crate::objects;
use crate::ApiState;

/// Service address ranges of this instance.
#[derive(Debug, Clone)]
pub struct ServiceNet {
    pub base: Ipv4Addr,
    pub prefix: u8,
    pub node_ports: (u16, u16),
}

impl ServiceNet {
    /// Parse `10.96.0.0/16`.
    pub fn parse(cidr: &str, node_ports: &str) -> Result<ServiceNet, String> {
        let (ip, len) = cidr
            .split_once('/')
            .ok_or_else(|| format!("invalid CIDR {cidr}"))?;
        let base: Ipv4Addr = ip.parse().map_err(|_| format!("invalid CIDR {cidr}"))?;
        let prefix: u8 = len.parse().map_err(|_| format!("invalid CIDR {cidr}"))?;
        if !(8..=30).contains(&prefix) {
            return Err(format!(
                "service CIDR prefix must be between /8 and /30: {cidr}"
            ));
        }
        let (lo, hi) = node_ports
            .split_once('-')
            .ok_or_else(|| format!("invalid port range {node_ports}"))?;
        let lo: u16 = lo
            .parse()
            .map_err(|_| format!("invalid port range {node_ports}"))?;
        let hi: u16 = hi
            .parse()
            .map_err(|_| format!("invalid port range {node_ports}"))?;
        if lo == 0 || lo > hi {
            return Err(format!("invalid port range {node_ports}"));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(ServiceNet {
            base: Ipv4Addr::from(u32::from(base) & mask),
            prefix,
            node_ports: (lo, hi),
        })
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.prefix)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - self.prefix);
        u32::from(ip) & mask == u32::from(self.base)
    }

    /// The first usable address, reserved for the `kubernetes` Service.
    pub fn first(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + 1)
    }

    pub fn cidr(&self) -> String {
        format!("{}/{}", self.base, self.prefix)
    }
}

fn used(state: &ApiState, except_key: Option<&str>) -> (HashSet<String>, HashSet<i64>) {
    let mut ips = HashSet::new();
    let mut ports = HashSet::new();
    for e in state.store.list("/core/services/").entries {
        if Some(e.key.as_str()) == except_key {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&e.value) else {
            continue;
        };
        if let Some(ip) = v.pointer("/spec/clusterIP").and_then(Value::as_str) {
            ips.insert(ip.to_string());
        }
        for p in v
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(np) = p.get("nodePort").and_then(Value::as_i64) {
                ports.insert(np);
            }
        }
    }
    (ips, ports)
}

fn svc_key(obj: &Value) -> String {
    format!(
        "/core/services/{}/{}",
        objects::meta_str(obj, "namespace").unwrap_or(""),
        objects::name(obj).unwrap_or("")
    )
}

/// Fill clusterIP(s) and nodePorts of a Service being created (`old` None)
/// or updated, honouring requested values and immutability.
pub fn allocate(state: &ApiState, svc: &mut Value, old: Option<&Value>) -> ApiResult<()> {
    let net = &state.net;
    let name = objects::name(svc).unwrap_or("").to_string();
    let key = svc_key(svc);
    let (used_ips, used_ports) = used(state, Some(&key));
    let res = state
        .registry
        .find("", "v1", "services")
        .ok_or_else(|| ApiError::internal("services not served"))?;
    let invalid = |e: FieldError| ApiError::invalid(&res, &name, &[e]);

    let ty = svc
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    let old_ip = old
        .and_then(|o| o.pointer("/spec/clusterIP"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let requested = svc
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);

    if ty == "ExternalName" {
        if let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
    } else {
        let ip = match (old_ip.filter(|s| !s.is_empty()), requested) {
            (Some(o), Some(r)) if o != r => {
                return Err(invalid(FieldError::invalid(
                    "spec.clusterIPs[0]",
                    format!("[]string{{\"{r}\"}}"),
                    "may not change once set",
                )))
            }
            (Some(o), _) => o,
            (None, Some(r)) if r == "None" => r,
            (None, Some(r)) => {
                let parsed: Ipv4Addr = r.parse().map_err(|_| {
                    invalid(FieldError::invalid(
                        "spec.clusterIPs[0]",
                        format!("\"{r}\""),
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    ))
                })?;
                if !net.contains(parsed) {
                    return Err(invalid(FieldError::invalid(
                        "spec.clusterIPs",
                        format!("[]string{{\"{r}\"}}"),
                        format!("failed to allocate IP {r}: the provided IP ({r}) is not in the valid range. The range of valid IPs is {}", net.cidr()),
                    )));
                }
                if used_ips.contains(&r) {
                    return Err(invalid(FieldError::invalid(
                        "spec.clusterIPs",
                        format!("[]string{{\"{r}\"}}"),
                        format!("failed to allocate IP {r}: provided IP is already allocated"),
                    )));
                }
                r
            }
            (None, None) => {
                // Skip the network address and the first address (reserved for
                // the `kubernetes` Service); start from a random offset.
                let size = net.size();
                let start = 2 + rand::random::<u32>() % (size - 3);
                let mut found = None;
                for i in 0..size - 3 {
                    let off = 2 + (start - 2 + i) % (size - 3);
                    let ip = Ipv4Addr::from(u32::from(net.base) + off).to_string();
                    if !used_ips.contains(&ip) {
                        found = Some(ip);
                        break;
                    }
                }
                found.ok_or_else(|| {
                    ApiError::internal("failed to allocate a serviceIP: range is full")
                })?
            }
        };
        let spec = &mut svc["spec"];
        spec["clusterIP"] = json!(ip);
        spec["clusterIPs"] = json!([ip]);
        if ip != "None" || spec.get("ipFamilies").is_none() {
            spec["ipFamilies"] = json!(["IPv4"]);
        }
        if spec.get("ipFamilyPolicy").is_none() {
            spec["ipFamilyPolicy"] = json!("SingleStack");
        }
    }

    let wants_node_ports = ty == "NodePort" || ty == "LoadBalancer";
    let old_ports: Vec<i64> = old
        .and_then(|o| o.pointer("/spec/ports"))
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default();
    let mut taken: HashSet<i64> = used_ports;
    let (lo, hi) = (net.node_ports.0 as i64, net.node_ports.1 as i64);
    if let Some(ports) = svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
        for (i, p) in ports.iter_mut().enumerate() {
            if !wants_node_ports {
                if let Some(m) = p.as_object_mut() {
                    m.remove("nodePort");
                }
                continue;
            }
            match p
                .get("nodePort")
                .and_then(Value::as_i64)
                .filter(|n| *n != 0)
            {
                Some(n) => {
                    if n < lo || n > hi {
                        return Err(invalid(FieldError::invalid(
                            format!("spec.ports[{i}].nodePort"),
                            n.to_string(),
                            format!("provided port is not in the valid range. The range of valid ports is {lo}-{hi}"),
                        )));
                    }
                    if taken.contains(&n) && !old_ports.contains(&n) {
                        return Err(invalid(FieldError::invalid(
                            format!("spec.ports[{i}].nodePort"),
                            n.to_string(),
                            "provided port is already allocated",
                        )));
                    }
                    taken.insert(n);
                }
                None => {
                    let span = hi - lo + 1;
                    let start = (rand::random::<u64>() % span as u64) as i64;
                    let free = (0..span)
                        .map(|k| lo + (start + k) % span)
                        .find(|n| !taken.contains(n));
                    let n = free.ok_or_else(|| {
                        ApiError::internal("failed to allocate a nodePort: range is full")
                    })?;
                    taken.insert(n);
                    p["nodePort"] = json!(n);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_ranges() {
        let n = ServiceNet::parse("10.96.3.7/16", "30000-32767").expect("parse");
        assert_eq!(n.base, Ipv4Addr::new(10, 96, 0, 0));
        assert_eq!(n.first(), Ipv4Addr::new(10, 96, 0, 1));
        assert!(n.contains(Ipv4Addr::new(10, 96, 255, 1)));
        assert!(!n.contains(Ipv4Addr::new(10, 97, 0, 1)));
        assert!(ServiceNet::parse("10.0.0.0/31", "1-2").is_err());
        assert!(ServiceNet::parse("10.0.0.0/24", "3-2").is_err());
    }
}
