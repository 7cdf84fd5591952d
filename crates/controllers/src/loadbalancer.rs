//! The LoadBalancer address controller: what a cloud controller manager (or
//! MetalLB, or k3s' klipper-lb) does on a cluster. Every Service of type
//! LoadBalancer gets one address of its own from a configured range, written
//! to `status.loadBalancer.ingress[].ip`; a Service that stops being a
//! LoadBalancer gets its address taken back.
//!
//! ```text
//! pub async fn run(client: kube::Client, range: Ipv4Range);
//! ```
//!
//! Allocation needs the whole picture (which addresses are taken), so this
//! is one loop over a reflector of every Service rather than a per-object
//! reconcile: after each watch event every Service is checked. An address
//! stays with its Service across restarts because the status is the record.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};

use kube::{Client, ResourceExt};

/// Re-check every Service this often even without events (a failed status
/// write is retried then at the latest).
const RESYNC: Duration = Duration::from_secs(30);

/// An IPv4 range in CIDR form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Range {
    base: u32,
    prefix: u32,
}

impl std::str::FromStr for Ipv4Range {
    type Err = String;
    fn from_str(s: &str) -> Result<Ipv4Range, String> {
        let (ip, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{s}: expected ADDRESS/PREFIX"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|e| format!("{s}: {e}"))?;
        let prefix: u32 = prefix.parse().map_err(|e| format!("{s}: {e}"))?;
        if !(8..=30).contains(&prefix) {
            return Err(format!("{s}: prefix must be between 8 and 30"));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Ipv4Range {
            base: u32::from(ip) & mask,
            prefix,
        })
    }
}

impl Ipv4Range {
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) >> (32 - self.prefix) == self.base >> (32 - self.prefix)
    }

    /// Usable addresses: not the network or broadcast address, and no
    /// address ending in .0 or .255 (some tools take those for networks).
    fn candidates(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let size = 1u32 << (32 - self.prefix);
        (1..size - 1)
            .map(move |off| Ipv4Addr::from(self.base + off))
            .filter(|ip| !matches!(ip.octets()[3], 0 | 255))
    }
}

fn is_load_balancer(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer")
}

/// The addresses of `svc`'s status that lie in `range`.
fn our_ips(svc: &Service, range: &Ipv4Range) -> Vec<Ipv4Addr> {
    svc.status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.as_deref()?.parse::<Ipv4Addr>().ok())
        .filter(|ip| range.contains(*ip))
        .collect()
}

/// What one pass decides for one Service.
#[derive(Debug, PartialEq, Eq)]
enum Change {
    Assign(Ipv4Addr),
    Clear,
}

/// Decide every change for the Services in `services`, given as
/// (namespace, name, Service). Pure, so the allocation order is tested
/// without a server: older Services first, lowest free address first.
fn plan(services: &[&Service], range: &Ipv4Range) -> Vec<(String, String, Change)> {
    let mut taken: BTreeSet<Ipv4Addr> = BTreeSet::new();
    for svc in services {
        if is_load_balancer(svc) && svc.metadata.deletion_timestamp.is_none() {
            taken.extend(our_ips(svc, range));
        }
    }
    let mut ordered: Vec<&Service> = services.to_vec();
    ordered.sort_by(|a, b| {
        (
            a.metadata.creation_timestamp.as_ref().map(|t| t.0),
            a.namespace(),
            a.name_any(),
        )
            .cmp(&(
                b.metadata.creation_timestamp.as_ref().map(|t| t.0),
                b.namespace(),
                b.name_any(),
            ))
    });
    let mut changes = Vec::new();
    for svc in ordered {
        let ns = svc.namespace().unwrap_or_default();
        let name = svc.name_any();
        let mine = our_ips(svc, range);
        if !is_load_balancer(svc) {
            if !mine.is_empty() {
                changes.push((ns, name, Change::Clear));
            }
            continue;
        }
        if svc.metadata.deletion_timestamp.is_some() || !mine.is_empty() {
            continue;
        }
        if let Some(ip) = range.candidates().find(|ip| !taken.contains(ip)) {
            taken.insert(ip);
            changes.push((ns, name, Change::Assign(ip)));
        } else {
            tracing::warn!(namespace = %ns, service = %name, "no LoadBalancer address left");
        }
    }
    changes
}

async fn apply(client: &Client, ns: &str, name: &str, change: &Change) -> Result<(), kube::Error> {
    let api: Api<Service> = Api::namespaced(client.clone(), ns);
    let body = match change {
        Change::Assign(ip) => serde_json::json!({
            "status": {"loadBalancer": {"ingress": [{"ip": ip.to_string(), "ipMode": "VIP"}]}}
        }),
        Change::Clear => serde_json::json!({"status": {"loadBalancer": {}}}),
    };
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .map(|_| ())
}

/// Run until the task is dropped.
pub async fn run(client: Client, range: Ipv4Range) {
    let api: Api<Service> = Api::all(client.clone());
    let (store, writer) = reflector::store::<Service>();
    let mut events = reflector::reflector(
        writer,
        watcher(api, watcher::Config::default()).default_backoff(),
    )
    .boxed();
    let mut tick = tokio::time::interval(RESYNC);
    // Addresses held by Services not listed yet could be handed out twice:
    // nothing is decided before the first complete list.
    let mut listed = false;
    loop {
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(watcher::Event::InitDone)) => listed = true,
                Some(Ok(watcher::Event::Init | watcher::Event::InitApply(_))) => continue,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "service watch");
                    continue;
                }
                None => return,
            },
            _ = tick.tick() => {}
        }
        if listed {
            reconcile(&client, &store, &range).await;
        }
    }
}

async fn reconcile(client: &Client, store: &Store<Service>, range: &Ipv4Range) {
    let all = store.state();
    let refs: Vec<&Service> = all.iter().map(|s| s.as_ref()).collect();
    for (ns, name, change) in plan(&refs, range) {
        match apply(client, &ns, &name, &change).await {
            Ok(()) => {
                tracing::info!(namespace = %ns, service = %name, ?change, "load balancer status")
            }
            Err(e) => {
                tracing::warn!(namespace = %ns, service = %name, error = %e, "writing load balancer status")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, ty: &str, created: i64, ip: Option<&str>) -> Service {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "default",
                         "creationTimestamp": format!("2026-01-01T00:00:{created:02}Z")},
            "spec": {"type": ty},
            "status": {"loadBalancer": ip.map(|ip| serde_json::json!({"ingress": [{"ip": ip}]})).unwrap_or(serde_json::json!({}))}
        }))
        .expect("service")
    }

    #[test]
    fn assigns_lowest_free_addresses_oldest_first_and_clears_former_ones() {
        let range: Ipv4Range = "10.112.3.0/24".parse().expect("range");
        let a = svc("a", "LoadBalancer", 1, Some("10.112.3.1"));
        let b = svc("b", "LoadBalancer", 3, None);
        let c = svc("c", "LoadBalancer", 2, None);
        let d = svc("d", "ClusterIP", 0, Some("10.112.3.9"));
        let e = svc("e", "ClusterIP", 0, Some("192.0.2.1"));
        let changes = plan(&[&a, &b, &c, &d, &e], &range);
        assert_eq!(
            changes,
            vec![
                ("default".into(), "d".into(), Change::Clear),
                (
                    "default".into(),
                    "c".into(),
                    Change::Assign(Ipv4Addr::new(10, 112, 3, 2))
                ),
                (
                    "default".into(),
                    "b".into(),
                    Change::Assign(Ipv4Addr::new(10, 112, 3, 3))
                ),
            ]
        );
    }

    #[test]
    fn ranges_parse_and_skip_network_and_broadcast() {
        let r: Ipv4Range = "10.112.3.7/30".parse().expect("range");
        assert_eq!(
            r.candidates().collect::<Vec<_>>(),
            vec![Ipv4Addr::new(10, 112, 3, 5), Ipv4Addr::new(10, 112, 3, 6)]
        );
        assert!("10.0.0.0".parse::<Ipv4Range>().is_err());
        assert!("10.0.0.0/33".parse::<Ipv4Range>().is_err());
    }
}
