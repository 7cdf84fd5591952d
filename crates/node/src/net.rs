//! Pod networking: two modes behind [`PodNetwork`].
//!
//! - [`Loopback`] (any user): each pod gets its own address on the loopback
//!   interface (all of 127.0.0.0/8 reaches `lo` on Linux without
//!   configuration), from a /20 block chosen per data directory. The app
//!   must bind `$POD_IP:$PORT`.
//! - [`Namespaces`] (root, `ip` from iproute2): each pod gets its own network
//!   namespace with a veth on a per-instance bridge and an address from a
//!   per-instance /22 of 10.244.0.0/14, so unmodified programs bind
//!   `0.0.0.0:80` side by side; the host reaches every pod address. Processes
//!   enter the namespace through [`Sandbox::command_prefix`] (`ip netns exec`).
//!
//! Blocks are claimed in a directory shared by every instance on the machine
//! (under `$TMPDIR`), so two data dirs never share a block, a bridge or a
//! namespace name. Assignments live in the data dir, so a restarted agent
//! gives a pod the same address (and finds its namespace again).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Loopback blocks: 127.0.0.0/8 in /20s of 4096 addresses.
const BLOCK_BITS: u32 = 12;
const BLOCKS: u32 = 1 << (24 - BLOCK_BITS);

/// Namespace mode: 10.244.0.0/14 in /22s (1021 pods each, 256 instances).
const NS_BASE: u32 = (10 << 24) | (244 << 16);
const NS_BLOCK_BITS: u32 = 10;
const NS_BLOCKS: u32 = 1 << (18 - NS_BLOCK_BITS);

/// What a pod's processes run inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    pub ip: Ipv4Addr,
    /// Prepended to every command run in the pod (empty for loopback).
    pub command_prefix: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("no free pod address left in {0}")]
    Exhausted(String),
    #[error("no free address block for {0}")]
    NoBlock(PathBuf),
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error("`ip {args}` failed: {msg}")]
    Ip { args: String, msg: String },
}

/// Which [`PodNetwork`] to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// Per-pod loopback addresses (works for any user).
    #[default]
    Loopback,
    /// Per-pod network namespaces on a bridge (root only).
    Namespaces,
    /// Namespaces when running as root with a working `ip netns`, else loopback.
    Auto,
}

/// Open the network of `mode` for the agent owning `data_dir`.
pub fn open(mode: NetworkMode, data_dir: &Path) -> Result<Arc<dyn PodNetwork>, NetError> {
    Ok(match mode {
        NetworkMode::Loopback => Arc::new(Loopback::open(data_dir)?),
        NetworkMode::Namespaces => Arc::new(Namespaces::open(data_dir)?),
        NetworkMode::Auto if namespaces_available() => match Namespaces::open(data_dir) {
            Ok(n) => Arc::new(n),
            Err(e) => {
                tracing::warn!(error = %e, "network namespaces unavailable; using loopback addresses");
                Arc::new(Loopback::open(data_dir)?)
            }
        },
        NetworkMode::Auto => Arc::new(Loopback::open(data_dir)?),
    })
}

/// A way to give pods addresses. Implementations keep their own state in
/// the data dir so a restarted agent gives a pod the same sandbox again.
/// Calls may block briefly (they run commands): call them off the runtime.
pub trait PodNetwork: Send + Sync {
    /// The node's address (the pods' `hostIP`).
    fn host_ip(&self) -> Ipv4Addr;
    /// Set up (or find again) the sandbox of pod `uid`.
    fn setup(&self, uid: &str) -> Result<Sandbox, NetError>;
    /// Tear the sandbox of pod `uid` down; idempotent.
    fn teardown(&self, uid: &str);
    /// The agent stops gracefully and its pods' processes are gone: remove
    /// what this network created on the host (assignments are kept).
    fn shutdown(&self) {}
    /// A short description for logs and docs.
    fn describe(&self) -> String;
}

/// Pod addresses within one block, persisted in the data dir.
struct Pool {
    base: u32,
    bits: u32,
    /// Offsets never handed out (the gateway, the broadcast address).
    reserved: Vec<u32>,
    state_file: PathBuf,
    used: Mutex<BTreeMap<String, Ipv4Addr>>,
    /// The offset handed out last.
    last: std::sync::atomic::AtomicU32,
}

impl Pool {
    fn open(state_file: PathBuf, base: u32, bits: u32, reserved: Vec<u32>) -> Pool {
        let mut used: BTreeMap<String, Ipv4Addr> = std::fs::read(&state_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        // Addresses of a block this instance no longer holds are void.
        used.retain(|_, ip| u32::from(*ip) >> bits == base >> bits);
        Pool {
            base,
            bits,
            reserved,
            state_file,
            last: std::sync::atomic::AtomicU32::new(
                used.values()
                    .map(|ip| u32::from(*ip).wrapping_sub(base))
                    .max()
                    .unwrap_or(0),
            ),
            used: Mutex::new(used),
        }
    }

    fn cidr(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.base), 32 - self.bits)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Ipv4Addr>> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, uid: &str) -> Option<Ipv4Addr> {
        self.lock().get(uid).copied()
    }

    fn all(&self) -> Vec<Ipv4Addr> {
        self.lock().values().copied().collect()
    }

    fn allocate(&self, uid: &str) -> Result<Ipv4Addr, NetError> {
        let mut used = self.lock();
        if let Some(ip) = used.get(uid) {
            return Ok(*ip);
        }
        let taken: std::collections::BTreeSet<Ipv4Addr> = used.values().copied().collect();
        // Round robin from the last address handed out, as host-local IPAM
        // does: an address just freed is reused last, so stale ARP entries,
        // conntrack state or pooled router connections to the old pod cannot
        // reach the new one.
        let size = 1u32 << self.bits;
        let start = self.last.load(std::sync::atomic::Ordering::Relaxed);
        for i in 1..size {
            let off = (start + i) % size;
            let ip = Ipv4Addr::from(self.base + off);
            // Avoid .0 and .255 so no tool mistakes a pod for a network or broadcast address.
            let last = ip.octets()[3];
            if last == 0 || last == 255 || self.reserved.contains(&off) || taken.contains(&ip) {
                continue;
            }
            used.insert(uid.to_string(), ip);
            self.last.store(off, std::sync::atomic::Ordering::Relaxed);
            save_json(&self.state_file, &*used);
            return Ok(ip);
        }
        Err(NetError::Exhausted(self.cidr()))
    }

    fn release(&self, uid: &str) -> Option<Ipv4Addr> {
        let mut used = self.lock();
        let ip = used.remove(uid);
        if ip.is_some() {
            save_json(&self.state_file, &*used);
        }
        ip
    }
}

fn save_json<T: serde::Serialize>(path: &Path, v: &T) {
    if let Ok(bytes) = serde_json::to_vec(v) {
        let tmp = path.with_extension("tmp");
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
    }
}

// === impl Loopback ===

/// Per-pod loopback addresses.
pub struct Loopback {
    pool: Pool,
}

impl Loopback {
    /// Claim (or reclaim) this data dir's block and load its assignments.
    pub fn open(data_dir: &Path) -> Result<Loopback, NetError> {
        // Blocks 0 (127.0.0.1 lives there) and the last (broadcast) are never used.
        let block = block_for(data_dir, "loopback", 1, BLOCKS - 2)?;
        let state = data_dir.join("node").join("pod-addresses.json");
        Ok(Loopback {
            pool: Pool::open(
                state,
                (127 << 24) | (block << BLOCK_BITS),
                BLOCK_BITS,
                vec![],
            ),
        })
    }

    /// The block as CIDR text.
    pub fn cidr(&self) -> String {
        self.pool.cidr()
    }
}

impl PodNetwork for Loopback {
    fn host_ip(&self) -> Ipv4Addr {
        Ipv4Addr::LOCALHOST
    }

    fn setup(&self, uid: &str) -> Result<Sandbox, NetError> {
        Ok(Sandbox {
            ip: self.pool.allocate(uid)?,
            command_prefix: Vec::new(),
        })
    }

    fn teardown(&self, uid: &str) {
        self.pool.release(uid);
    }

    fn describe(&self) -> String {
        format!("loopback addresses in {}", self.pool.cidr())
    }
}

// === impl Namespaces ===

/// Per-pod network namespaces on a per-instance bridge.
pub struct Namespaces {
    block: u32,
    pool: Pool,
    bridge: String,
    gateway: Ipv4Addr,
    prefix_len: u32,
    /// `ip` as a path, so pod commands do not depend on the pod's PATH.
    ip_path: String,
}

/// Whether the agent runs with effective uid 0.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Whether this process may create network namespaces.
pub fn namespaces_available() -> bool {
    is_root()
        && std::process::Command::new("ip")
            .args(["netns", "list"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn ip(args: &[&str]) -> Result<(), NetError> {
    let failed = |msg: String| NetError::Ip {
        args: args.join(" "),
        msg,
    };
    let out = std::process::Command::new("ip")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| failed(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

/// Run several `ip` commands in one process (`ip [global] -batch -`), one
/// per line: a pod's set-up is a handful of commands, and under a burst of
/// pod starts each extra process costs real time. Without `force` the
/// batch stops at the first failing command; with it the rest still run
/// (except after a command that makes `ip` exit, as `neigh del` of a
/// missing entry does: such a command must come last).
fn ip_batch(global: &[&str], lines: &[String], force: bool) -> Result<(), NetError> {
    use std::io::Write;
    let failed = |msg: String| NetError::Ip {
        args: format!("{} -batch: {}", global.join(" "), lines.join("; "))
            .trim_start()
            .to_string(),
        msg,
    };
    let mut cmd = std::process::Command::new("ip");
    cmd.args(global);
    if force {
        cmd.arg("-force");
    }
    let mut child = cmd
        .args(["-batch", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    let script: String = lines.iter().map(|l| format!("{l}\n")).collect();
    if let Some(mut stdin) = child.stdin.take() {
        // A write error means ip exited early; its status and stderr tell why.
        let _ = stdin.write_all(script.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

/// Creating what already exists is fine: set-up is re-run after restarts.
fn exists_ok(r: Result<(), NetError>) -> Result<(), NetError> {
    match r {
        Err(NetError::Ip { msg, .. })
            if msg.contains("File exists")
                || msg.contains("already exists")
                || msg.contains("already assigned") =>
        {
            Ok(())
        }
        other => other,
    }
}

impl Namespaces {
    /// Claim this data dir's pod CIDR and bring its bridge up.
    pub fn open(data_dir: &Path) -> Result<Namespaces, NetError> {
        let block = block_for(data_dir, "netns", 0, NS_BLOCKS)?;
        let base = NS_BASE + (block << NS_BLOCK_BITS);
        let state = data_dir.join("node").join("pod-namespaces.json");
        // Offset 1 is the bridge's own address; the last is broadcast.
        let last = (1u32 << NS_BLOCK_BITS) - 1;
        let n = Namespaces {
            block,
            pool: Pool::open(state, base, NS_BLOCK_BITS, vec![1, last]),
            bridge: format!("slw{block:04x}"),
            gateway: Ipv4Addr::from(base + 1),
            prefix_len: 32 - NS_BLOCK_BITS,
            ip_path: crate::mounts::find("ip")
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|| "ip".into()),
        };
        n.ensure_bridge()?;
        Ok(n)
    }

    /// The bridge's name.
    pub fn bridge(&self) -> &str {
        &self.bridge
    }

    fn ensure_bridge(&self) -> Result<(), NetError> {
        if Path::new("/sys/class/net").join(&self.bridge).exists() {
            return Ok(());
        }
        exists_ok(ip(&["link", "add", &self.bridge, "type", "bridge"]))?;
        let addr = format!("{}/{}", self.gateway, self.prefix_len);
        exists_ok(ip(&["addr", "add", &addr, "dev", &self.bridge]))?;
        ip(&["link", "set", &self.bridge, "up"])
    }

    /// The namespace and host-side veth names for a pod address.
    fn names(&self, addr: Ipv4Addr) -> (String, String) {
        let off = u32::from(addr) - self.pool.base;
        (
            format!("slw{:04x}-{off:03x}", self.block),
            format!("slw{:04x}v{off:03x}", self.block),
        )
    }

    /// The namespace of pod `uid`, if it has one.
    pub fn namespace_of(&self, uid: &str) -> Option<String> {
        self.pool.get(uid).map(|a| self.names(a).0)
    }

    /// Three `ip` processes: one on the host (the namespace, the veth pair
    /// with its pod end moved in, the host end on the bridge), one inside
    /// the namespace (address, links up, default route), and the ARP entry
    /// clean-up. Any failure removes whatever was created.
    fn create(&self, addr: Ipv4Addr) -> Result<(), NetError> {
        let (ns, veth) = self.names(addr);
        if Path::new("/var/run/netns").join(&ns).exists() {
            return Ok(());
        }
        let bridge = &self.bridge;
        let host = [
            format!("netns add {ns}"),
            format!("link add {veth} type veth peer name eth0 netns {ns}"),
            format!("link set dev {veth} master {bridge} up"),
        ];
        let inside = [
            format!("addr add {addr}/{} dev eth0", self.prefix_len),
            "link set eth0 up".to_string(),
            "link set lo up".to_string(),
            format!("route add default via {}", self.gateway),
        ];
        let result =
            ip_batch(&[], &host, false).and_then(|()| ip_batch(&["-n", &ns], &inside, false));
        if result.is_err() {
            self.destroy(addr);
            return result;
        }
        self.forget_neighbour(addr);
        Ok(())
    }

    /// Drop the host's ARP entry for a pod address. An address freed by an
    /// old pod is handed to the next one at once; a REACHABLE entry still
    /// naming the old pod's MAC would blackhole the new pod (probes time out)
    /// until it expires. Its own process: `ip` exits at once when there is
    /// no entry, so it cannot share a batch; and a delete rather than a
    /// flush, as concurrent changes cut a flush's table dump short.
    fn forget_neighbour(&self, addr: Ipv4Addr) {
        let a = addr.to_string();
        let _ = ip(&["neigh", "del", &a, "dev", &self.bridge]);
    }

    /// Remove a pod's namespace and veth and the host's ARP entry for its
    /// address (see [`Namespaces::forget_neighbour`]), in one `ip` process;
    /// each step runs even if one before it failed (parts may be gone
    /// already).
    fn destroy(&self, addr: Ipv4Addr) {
        let (ns, veth) = self.names(addr);
        let bridge = &self.bridge;
        let _ = ip_batch(
            &[],
            &[
                // Deleting the namespace deletes its end of the veth, and with it ours.
                format!("netns del {ns}"),
                format!("link del {veth}"),
                format!("neigh del {addr} dev {bridge}"),
            ],
            true,
        );
    }
}

impl PodNetwork for Namespaces {
    /// The bridge's address: the host as pods see it (127.0.0.1 inside a
    /// pod is the pod itself), so `status.hostIP` and the Node's
    /// InternalIP reach the host — NodePorts included — from everywhere.
    fn host_ip(&self) -> Ipv4Addr {
        self.gateway
    }

    fn setup(&self, uid: &str) -> Result<Sandbox, NetError> {
        self.ensure_bridge()?;
        let addr = self.pool.allocate(uid)?;
        self.create(addr)?;
        Ok(Sandbox {
            ip: addr,
            command_prefix: vec![
                self.ip_path.clone(),
                "netns".into(),
                "exec".into(),
                self.names(addr).0,
            ],
        })
    }

    fn teardown(&self, uid: &str) {
        // The address goes back to the pool only after its namespace is gone:
        // released first, it could be handed to a new pod whose setup finds
        // the old namespace still there, adopts it, and then loses it to this
        // teardown (the new pod's restarts fail with "Cannot open network
        // namespace" and a rollout stalls).
        if let Some(addr) = self.pool.get(uid) {
            self.destroy(addr);
            self.pool.release(uid);
        }
    }

    fn shutdown(&self) {
        for addr in self.pool.all() {
            self.destroy(addr);
        }
        let _ = ip(&["link", "del", &self.bridge]);
    }

    fn describe(&self) -> String {
        format!(
            "network namespaces on bridge {} in {}",
            self.bridge,
            self.pool.cidr()
        )
    }
}

// === service addresses ===

/// Where this instance's Service addresses live: a ClusterIP range and a
/// LoadBalancer range, both claimed per data dir like the pod CIDR so two
/// instances never share an address. As root both are `local` routes on
/// `lo`, so the router can bind any address in them and pods reach them
/// through the bridge gateway; otherwise they lie inside 127.0.0.0/8, which
/// Linux already treats as local.
#[derive(Debug, Clone)]
pub struct ServiceNetwork {
    /// The ClusterIP range (a /20).
    pub service_cidr: String,
    /// The LoadBalancer address range (a /24).
    pub load_balancer_cidr: String,
    routes: bool,
}

/// Service ranges: block b of 256 is base + b·4096 (/20) for ClusterIPs
/// and base + b·256 (/24) for LoadBalancer addresses.
const SVC_BLOCKS: u32 = 256;

impl ServiceNetwork {
    /// Claim this data dir's Service ranges; with `routed` (root with pod
    /// namespaces) install their local routes.
    pub fn open(data_dir: &Path, routed: bool) -> Result<ServiceNetwork, NetError> {
        let block = block_for(data_dir, "svc", 0, SVC_BLOCKS)?;
        let (svc_base, lb_base) = if routed {
            (Ipv4Addr::new(10, 96, 0, 0), Ipv4Addr::new(10, 112, 0, 0))
        } else {
            (Ipv4Addr::new(127, 96, 0, 0), Ipv4Addr::new(127, 112, 0, 0))
        };
        let n = ServiceNetwork {
            service_cidr: format!("{}/20", Ipv4Addr::from(u32::from(svc_base) + (block << 12))),
            load_balancer_cidr: format!("{}/24", Ipv4Addr::from(u32::from(lb_base) + (block << 8))),
            routes: routed,
        };
        if routed {
            for cidr in [&n.service_cidr, &n.load_balancer_cidr] {
                ip(&["route", "replace", "local", cidr, "dev", "lo"])?;
            }
        }
        Ok(n)
    }

    /// Make an explicitly configured ClusterIP range local too.
    pub fn add_route(&mut self, cidr: &str) -> Result<(), NetError> {
        if self.routes {
            ip(&["route", "replace", "local", cidr, "dev", "lo"])?;
        }
        self.service_cidr = cidr.to_string();
        Ok(())
    }

    /// Remove the routes (a clean stop).
    pub fn shutdown(&self) {
        if self.routes {
            for cidr in [&self.service_cidr, &self.load_balancer_cidr] {
                let _ = ip(&["route", "del", "local", cidr, "dev", "lo"]);
            }
        }
    }
}

/// Whether `mode` will give pods network namespaces on this machine.
pub fn uses_namespaces(mode: NetworkMode) -> bool {
    match mode {
        NetworkMode::Loopback => false,
        NetworkMode::Namespaces => true,
        NetworkMode::Auto => namespaces_available(),
    }
}

// === block claims ===

/// This data dir's block for a mode: the recorded one while it is still
/// ours, else a newly claimed one.
fn block_for(data_dir: &Path, name: &str, first: u32, count: u32) -> Result<u32, NetError> {
    let dir = data_dir.join("node");
    std::fs::create_dir_all(&dir).map_err(|e| NetError::Io(dir.clone(), e))?;
    let claims = claims_dir(name);
    let canon = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let block_file = dir.join(format!("{name}-block"));
    let recorded = std::fs::read_to_string(&block_file)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|b| (first..first + count).contains(b));
    if let Some(b) = recorded {
        if claim(&claims, b, &canon)? {
            return Ok(b);
        }
    }
    let b = choose_block(&claims, &canon, first, count)?;
    std::fs::write(&block_file, b.to_string()).map_err(|e| NetError::Io(block_file.clone(), e))?;
    Ok(b)
}

/// Where instances record which block they use. Shared by every slipway on
/// the machine, so two data dirs never get the same block.
fn claims_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("slipway-{name}-blocks"))
}

/// Probe from a block derived from the data dir, so an instance usually
/// gets the same block even if its record is lost.
fn choose_block(claims: &Path, canon: &Path, first: u32, count: u32) -> Result<u32, NetError> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    canon.hash(&mut h);
    prune_stale(claims);
    let start = (h.finish() % u64::from(count)) as u32;
    for i in 0..count {
        let b = first + (start + i) % count;
        if claim(claims, b, canon)? {
            return Ok(b);
        }
    }
    Err(NetError::NoBlock(canon.to_path_buf()))
}

/// Take block `b` for `owner` unless a live data dir holds it. A claim whose
/// data dir is gone is stale and may be taken over. Claims appear whole
/// (written aside, then hard-linked into place), so a reader never sees a
/// half-written one.
fn claim(claims: &Path, b: u32, owner: &Path) -> Result<bool, NetError> {
    std::fs::create_dir_all(claims).map_err(|e| NetError::Io(claims.to_path_buf(), e))?;
    let f = claims.join(b.to_string());
    let owner_text = owner.to_string_lossy().to_string();
    let tmp = claims.join(format!(".{b}.{}", std::process::id()));
    std::fs::write(&tmp, owner_text.as_bytes()).map_err(|e| NetError::Io(tmp.clone(), e))?;
    let result = match std::fs::hard_link(&tmp, &f) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let holder = std::fs::read_to_string(&f).unwrap_or_default();
            let holder_canon = std::fs::canonicalize(&holder).ok();
            if holder == owner_text || holder_canon.as_deref() == Some(owner) {
                Ok(true)
            } else if Path::new(&holder).exists() {
                Ok(false)
            } else {
                // Stale: its data dir is gone. Replace it atomically.
                std::fs::rename(&tmp, &f)
                    .map(|()| true)
                    .map_err(|e| NetError::Io(f.clone(), e))
            }
        }
        Err(e) => Err(NetError::Io(f, e)),
    };
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Forget claims whose data dir no longer exists, so the directory does
/// not grow with every temporary instance.
fn prune_stale(claims: &Path) {
    let Ok(rd) = std::fs::read_dir(claims) else {
        return;
    };
    for e in rd.flatten() {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let holder = std::fs::read_to_string(e.path()).unwrap_or_default();
        if !holder.is_empty() && !Path::new(&holder).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_data_dirs_get_distinct_blocks_and_stable_addresses() {
        let a = tempfile::tempdir().expect("tmp");
        let b = tempfile::tempdir().expect("tmp");
        let na = Loopback::open(a.path()).expect("a");
        let nb = Loopback::open(b.path()).expect("b");
        assert_ne!(na.cidr(), nb.cidr());
        let ip1 = na.setup("u1").expect("u1").ip;
        let ip2 = na.setup("u2").expect("u2").ip;
        assert_ne!(ip1, ip2);
        assert_eq!(ip1.octets()[0], 127);
        drop(na);
        let again = Loopback::open(a.path()).expect("again");
        assert_eq!(again.setup("u1").expect("u1").ip, ip1);
        again.teardown("u1");
        // A freed address is handed out again only after the others.
        let ip3 = again.setup("u3").expect("u3").ip;
        assert_ne!(ip3, ip1);
        assert_ne!(ip3, ip2);
        assert_eq!(u32::from(ip3), u32::from(ip2) + 1);
    }
}
