//! Endpoint choice: ready only, terminating fallback, round robin, least
//! request, random, ClientIP affinity, retry exclusion.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};

use serde_json::json;

use super::fixtures::*;
use crate::{
    route, Action, Backend, Forward, ListenerId, LoadCounters, NoLoad, Snapshot,
    LOAD_BALANCER_ANNOTATION,
};

struct Load {
    rr: Cell<u64>,
    in_flight: HashMap<SocketAddr, u64>,
}

impl Load {
    fn rr(start: u64) -> Self {
        Load {
            rr: Cell::new(start),
            in_flight: HashMap::new(),
        }
    }

    fn in_flight(loads: &[(&str, u64)]) -> Self {
        Load {
            rr: Cell::new(0),
            in_flight: loads
                .iter()
                .map(|(a, l)| (format!("{a}:8080").parse().unwrap(), *l))
                .collect(),
        }
    }
}

impl LoadCounters for Load {
    fn round_robin(&self, _: &Backend) -> u64 {
        let v = self.rr.get();
        self.rr.set(v + 1);
        v
    }

    fn in_flight(&self, endpoint: SocketAddr) -> u64 {
        self.in_flight.get(&endpoint).copied().unwrap_or(0)
    }
}

/// In-flight requests per endpoint address.
type Loads = Vec<(&'static str, u64)>;

fn world(eps: &[Ep], lb: Option<&str>, affinity: bool) -> Snapshot {
    let mut service = svc("default", "web", &[("http", 80)]);
    if let Some(lb) = lb {
        service["metadata"]["annotations"] = json!({LOAD_BALANCER_ANNOTATION: lb});
    }
    if affinity {
        service["spec"]["sessionAffinity"] = json!("ClientIP");
    }
    snapshot(&[service, slice("default", "web", &[("http", 8080)], eps)])
}

fn forward(snap: &Snapshot, random: u64, client: Option<IpAddr>) -> Forward {
    let mut r = req(&ListenerId::service("default", "web", 80), "GET", "/").with_random(random);
    r.client_ip = client;
    match route(snap, &r).unwrap().action {
        Action::Forward(f) => f,
        other => panic!("{other:?}"),
    }
}

/// Picks `n` times with a round-robin cursor and random values; returns
/// addresses (or the error) in order.
fn picks(snap: &Snapshot, n: usize, exclude: &[&str]) -> Vec<String> {
    let exclude: Vec<SocketAddr> = exclude
        .iter()
        .map(|a| format!("{a}:8080").parse().unwrap())
        .collect();
    let load = Load::rr(0);
    randoms(3)
        .take(n)
        .map(|r| match forward(snap, r, None).pick(&load, &exclude) {
            Ok(e) => e.address.to_string(),
            Err(e) => format!("{} {e}", e.status()),
        })
        .collect()
}

#[test]
fn endpoint_eligibility() {
    let a = || ep("10.0.0.1", "a");
    let b = || ep("10.0.0.2", "b");
    let c = || ep("10.0.0.3", "c");
    let d = || ep("10.0.0.4", "d");
    let cases: Vec<(Vec<Ep>, &[&str], Vec<&str>)> = vec![
        // Round robin over ready endpoints, in address order.
        (
            vec![c(), a(), b()],
            &[],
            vec![
                "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.3",
            ],
        ),
        // Terminating and unready endpoints get nothing while one is ready.
        (
            vec![
                a(),
                b().terminating(),
                c().unready(),
                d().terminating_unserving(),
            ],
            &[],
            vec!["10.0.0.1"; 6],
        ),
        // Nothing ready: serving-but-terminating endpoints still take traffic.
        (
            vec![
                b().terminating(),
                c().unready(),
                d().terminating_unserving(),
                a().terminating(),
            ],
            &[],
            vec![
                "10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2",
            ],
        ),
        // Nothing serving at all.
        (
            vec![c().unready(), d().terminating_unserving()],
            &[],
            vec!["503 no ready endpoint for default/web:80"; 2],
        ),
        (
            vec![],
            &[],
            vec!["503 no ready endpoint for default/web:80"],
        ),
        // A retry excludes the endpoint that failed.
        (vec![a(), b()], &["10.0.0.1"], vec!["10.0.0.2"; 4]),
        (
            vec![a(), b()],
            &["10.0.0.1", "10.0.0.2"],
            vec!["503 no ready endpoint for default/web:80"],
        ),
        // Excluding the only ready endpoint does not resurrect terminating ones.
        (
            vec![a(), b().terminating()],
            &["10.0.0.1"],
            vec!["503 no ready endpoint for default/web:80"],
        ),
    ];
    for (eps, exclude, expected) in cases {
        let snap = world(&eps, None, false);
        assert_eq!(
            picks(&snap, expected.len(), exclude),
            expected,
            "exclude {exclude:?}"
        );
    }
}

#[test]
fn least_request_picks_the_least_loaded() {
    let snap = world(
        &[
            ep("10.0.0.1", "a"),
            ep("10.0.0.2", "b"),
            ep("10.0.0.3", "c"),
        ],
        Some("least-request"),
        false,
    );
    let cases: [(Loads, &[&str]); 3] = [
        (
            vec![("10.0.0.1", 5), ("10.0.0.2", 1), ("10.0.0.3", 3)],
            &["10.0.0.2"],
        ),
        (
            vec![("10.0.0.1", 0), ("10.0.0.2", 7), ("10.0.0.3", 7)],
            &["10.0.0.1"],
        ),
        // Ties are broken by the request's random value, so both idle ones serve.
        (
            vec![("10.0.0.1", 0), ("10.0.0.2", 0), ("10.0.0.3", 9)],
            &["10.0.0.1", "10.0.0.2"],
        ),
    ];
    for (loads, expected) in cases {
        let load = Load::in_flight(&loads);
        let mut seen = std::collections::BTreeSet::new();
        for r in randoms(8).take(500) {
            seen.insert(
                forward(&snap, r, None)
                    .pick(&load, &[])
                    .unwrap()
                    .address
                    .to_string(),
            );
        }
        let seen: Vec<&str> = seen.iter().map(String::as_str).collect();
        assert_eq!(seen, expected, "{loads:?}");
    }
}

#[test]
fn seed_003_canary_by_replica_count() {
    // Three v1 pods and one v2 pod behind one selector: about 25% reach v2.
    let eps = [
        ep("10.0.1.1", "act1-a"),
        ep("10.0.1.2", "act1-b"),
        ep("10.0.1.3", "act1-c"),
        ep("10.0.2.1", "act2-a"),
    ];
    for (lb, low, high) in [
        (Some("random"), 2300, 2700),
        (None, 2500, 2500),
        (Some("least-request"), 2300, 2700),
    ] {
        let snap = world(&eps, lb, false);
        let load = Load::rr(0);
        let v2 = randoms(4)
            .take(10_000)
            .filter(|&r| {
                forward(&snap, r, None)
                    .pick(&load, &[])
                    .unwrap()
                    .address
                    .to_string()
                    == "10.0.2.1"
            })
            .count();
        assert!((low..=high).contains(&v2), "{lb:?}: {v2} of 10000 to v2");
    }
}

#[test]
fn client_ip_affinity() {
    let three = [
        ep("10.0.0.1", "a"),
        ep("10.0.0.2", "b"),
        ep("10.0.0.3", "c"),
    ];
    let snap = world(&three, None, true);
    let clients: Vec<IpAddr> = (0..200u8)
        .map(|i| IpAddr::from([172, 16, i / 16, i]))
        .chain([IpAddr::from([0xfd00, 0, 0, 0, 0, 0, 0, 7])])
        .collect();
    let mut assignment: BTreeMap<IpAddr, String> = BTreeMap::new();
    for &ip in &clients {
        let mut seen = std::collections::BTreeSet::new();
        for (k, r) in randoms(u64::from(ip.to_string().len() as u32))
            .take(20)
            .enumerate()
        {
            let load = Load::rr(k as u64);
            seen.insert(
                forward(&snap, r, Some(ip))
                    .pick(&load, &[])
                    .unwrap()
                    .address
                    .to_string(),
            );
        }
        assert_eq!(seen.len(), 1, "{ip} moved between {seen:?}");
        assignment.insert(ip, seen.into_iter().next().unwrap());
    }
    let mut per_endpoint: BTreeMap<&str, usize> = BTreeMap::new();
    for e in assignment.values() {
        *per_endpoint.entry(e.as_str()).or_default() += 1;
    }
    assert_eq!(per_endpoint.len(), 3, "{per_endpoint:?}");
    assert!(per_endpoint.values().all(|&n| n >= 40), "{per_endpoint:?}");

    // 10.0.0.2 starts terminating: only its clients move.
    let snap = world(
        &[
            three[0].clone(),
            three[1].clone().terminating(),
            three[2].clone(),
        ],
        None,
        true,
    );
    for (&ip, before) in &assignment {
        let after = forward(&snap, 1, Some(ip))
            .pick(&NoLoad, &[])
            .unwrap()
            .address
            .to_string();
        if before == "10.0.0.2" {
            assert_ne!(after, "10.0.0.2");
        } else {
            assert_eq!(&after, before, "{ip} moved although its endpoint stayed");
        }
    }

    // Without a client IP, affinity falls back to the balancer.
    let snap = world(&three, None, true);
    assert_eq!(picks(&snap, 3, &[]), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
}
