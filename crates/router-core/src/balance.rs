//! Backend and endpoint choice: weighted draws, load balancing, ClientIP
//! affinity and version stickiness. Deterministic given the caller's random
//! value and counters, so every distribution is testable without timing.

use std::net::{IpAddr, SocketAddr};

use crate::model::{Affinity, Backend, Endpoint, LoadBalancer};

/// Load information the router keeps and routing reads.
///
/// Both methods have neutral defaults so tests can pass [`NoLoad`].
pub trait LoadCounters {
    /// A per-backend cursor that advances by one on every call (the router
    /// keeps an `AtomicU64` per backend and returns `fetch_add(1)`).
    fn round_robin(&self, backend: &Backend) -> u64 {
        let _ = backend;
        0
    }

    /// Requests currently in flight to `endpoint`.
    fn in_flight(&self, endpoint: SocketAddr) -> u64 {
        let _ = endpoint;
        0
    }
}

/// No load information: round robin always starts at the first endpoint and
/// every endpoint counts as idle.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoLoad;

impl LoadCounters for NoLoad {}

/// Independent streams derived from one request random value, so the backend
/// draw, version draw and endpoint draw are not correlated.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Backend = 1,
    Version = 2,
    Endpoint = 3,
}

/// splitmix64's finaliser: a bijective mix with good avalanche.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

pub(crate) fn derive(random: u64, stream: Stream) -> u64 {
    mix(random ^ (stream as u64).wrapping_mul(0xd6e8_feb8_6659_fd93))
}

/// FNV-1a, a stable hash: the same client maps to the same endpoint in every
/// router process and across restarts (std's hasher promises neither).
fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// Maps `random` uniformly onto `0..n` (multiply-shift, no modulo bias).
pub(crate) fn scale(random: u64, n: u64) -> u64 {
    ((u128::from(random) * u128::from(n)) >> 64) as u64
}

/// Index of the weighted choice; `None` when every weight is zero.
pub(crate) fn weighted_index(weights: &[u32], random: u64) -> Option<usize> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return None;
    }
    let mut point = scale(random, total);
    for (i, &w) in weights.iter().enumerate() {
        let w = u64::from(w);
        if point < w {
            return Some(i);
        }
        point -= w;
    }
    None
}

/// Rendezvous (highest random weight) hashing of `client` over `candidates`:
/// removing an endpoint moves only the clients that were on it.
pub(crate) fn rendezvous<'a>(candidates: &[&'a Endpoint], client: IpAddr) -> Option<&'a Endpoint> {
    let client_hash = fnv1a(&ip_bytes(client), 0);
    candidates.iter().copied().max_by_key(|e| {
        let mut key = ip_bytes(e.address);
        key.extend_from_slice(&e.port.to_be_bytes());
        (fnv1a(&key, client_hash), e.address, e.port)
    })
}

/// The endpoints new requests may go to: ready ones (of `version`, when
/// pinned), else — only when the backend has no ready endpoint at all —
/// serving-but-terminating ones, as kube-proxy falls back. Never unready
/// ones, and never those in `exclude` (already tried).
pub(crate) fn candidates<'a>(
    backend: &'a Backend,
    version: Option<&str>,
    exclude: &[SocketAddr],
) -> Vec<&'a Endpoint> {
    let allowed = |e: &&Endpoint| !exclude.contains(&e.socket_addr());
    let of_version = |e: &&Endpoint| version.is_none() || backend.version_of(e) == version;
    let ready: Vec<&Endpoint> = backend
        .endpoints
        .iter()
        .filter(|e| e.is_ready())
        .filter(of_version)
        .filter(allowed)
        .collect();
    if !ready.is_empty() || backend.endpoints.iter().any(Endpoint::is_ready) {
        return ready;
    }
    backend
        .endpoints
        .iter()
        .filter(|e| e.is_serving_terminating())
        .filter(allowed)
        .collect()
}

/// Picks one endpoint among `candidates` per the backend's policy.
pub(crate) fn pick<'a>(
    backend: &Backend,
    candidates: &[&'a Endpoint],
    client_ip: Option<IpAddr>,
    random: u64,
    load: &dyn LoadCounters,
) -> Option<&'a Endpoint> {
    if candidates.is_empty() {
        return None;
    }
    if let (Affinity::ClientIp { .. }, Some(ip)) = (backend.affinity, client_ip) {
        return rendezvous(candidates, ip);
    }
    let n = candidates.len() as u64;
    let r = derive(random, Stream::Endpoint);
    let index = match backend.load_balancer {
        LoadBalancer::RoundRobin => load.round_robin(backend) % n,
        LoadBalancer::Random => scale(r, n),
        LoadBalancer::LeastRequest => {
            // Scan from a random offset so ties spread evenly.
            let start = scale(r, n);
            let mut best = start;
            let mut best_load = u64::MAX;
            for k in 0..n {
                let i = (start + k) % n;
                let l = load.in_flight(candidates[i as usize].socket_addr());
                if l < best_load {
                    best = i;
                    best_load = l;
                }
            }
            best
        }
    };
    candidates.get(index as usize).copied()
}

/// The version a new (or re-pinned) client gets on `backend`: the version of
/// the endpoint ClientIP affinity would choose, else a draw over ready
/// endpoints (so versions share traffic by ready replica count, as a plain
/// Service does).
pub(crate) fn choose_version(
    backend: &Backend,
    client_ip: Option<IpAddr>,
    random: u64,
) -> Option<String> {
    let ready: Vec<&Endpoint> = backend.endpoints.iter().filter(|e| e.is_ready()).collect();
    if ready.is_empty() {
        return None;
    }
    let chosen = match (backend.affinity, client_ip) {
        (Affinity::ClientIp { .. }, Some(ip)) => rendezvous(&ready, ip)?,
        _ => ready[scale(derive(random, Stream::Version), ready.len() as u64) as usize],
    };
    backend.version_of(chosen).map(str::to_string)
}
