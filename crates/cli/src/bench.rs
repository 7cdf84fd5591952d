//! `slipway bench api`: starts a fresh slipway (this binary) in a temp dir and
//! measures it through kube-rs, the client our controllers use.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;
use tokio::sync::Mutex;

#[derive(clap::Args)]
pub struct ApiBench {
    /// Objects created for the list benchmark.
    #[arg(long, default_value_t = 10_000)]
    objects: usize,
    /// Operations per phase and client count.
    #[arg(long, default_value_t = 2_000)]
    ops: usize,
    /// Watchers for the delivery-latency benchmark.
    #[arg(long, default_value_t = 100)]
    watchers: usize,
    /// Writes observed by the watchers.
    #[arg(long, default_value_t = 200)]
    watch_writes: usize,
}

pub(crate) struct Server {
    pub(crate) child: std::process::Child,
    _dir: tempfile::TempDir,
    pub(crate) kubeconfig: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, clients: usize, wall: Duration, mut lat: Vec<Duration>) {
    lat.sort();
    println!(
        "{name:<8} clients={clients:<3} ops={:<6} {:>9.0} ops/s  p50={:>7.3}ms  p99={:>7.3}ms  max={:>7.3}ms",
        lat.len(),
        lat.len() as f64 / wall.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

pub(crate) async fn start() -> Result<(Server, Duration)> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let exe = std::env::current_exe()?;
    let t0 = Instant::now();
    let child = std::process::Command::new(exe)
        .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("SLIPWAY_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let kubeconfig = data.join("kubeconfig");
    let server = Server {
        child,
        _dir: dir,
        kubeconfig,
    };
    while !server.kubeconfig.exists() {
        if t0.elapsed() > Duration::from_secs(30) {
            bail!("slipway did not start within 30s");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok((server, t0.elapsed()))
}

pub(crate) async fn client(kc: &std::path::Path) -> Result<Client> {
    let kc = Kubeconfig::read_from(kc)?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(cfg)?)
}

fn cm(name: &str) -> Result<ConfigMap> {
    Ok(serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"bench": "yes"}},
        "data": {"payload": "x".repeat(256)}
    }))?)
}

/// Run `op(i)` `ops` times spread over `clients` tasks; per-op latencies.
async fn run_phase<F, Fut>(clients: usize, ops: usize, op: F) -> Result<(Duration, Vec<Duration>)>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let op = Arc::new(op);
    let lat = Arc::new(Mutex::new(Vec::with_capacity(ops)));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let op = op.clone();
        let lat = lat.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut i = c;
            while i < ops {
                let t = Instant::now();
                op(i).await?;
                mine.push(t.elapsed());
                i += clients;
            }
            lat.lock().await.extend(mine);
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let wall = t0.elapsed();
    let v = std::mem::take(&mut *lat.lock().await);
    Ok((wall, v))
}

pub async fn api(args: ApiBench) -> Result<()> {
    let (server, ready) = start().await?;
    let pid = server.child.id();
    println!(
        "machine: {} cores; slipway pid {pid}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "start to serving (kubeconfig written): {:.1} ms",
        ready.as_secs_f64() * 1e3
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "idle RSS: {:.1} MB",
        rss_kb(pid).unwrap_or(0) as f64 / 1024.0
    );
    let c = client(&server.kubeconfig).await.context("client")?;

    for clients in [1usize, 32] {
        let ns = format!("b{clients}");
        let api: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
        let _ = &ns;
        let prefix = format!("c{clients}-");
        let a = api.clone();
        let p = prefix.clone();
        let (wall, lat) = run_phase(clients, args.ops, move |i| {
            let a = a.clone();
            let name = format!("{p}{i}");
            async move {
                a.create(&PostParams::default(), &cm(&name)?).await?;
                Ok(())
            }
        })
        .await?;
        report("create", clients, wall, lat);

        let a = api.clone();
        let p = prefix.clone();
        let (wall, lat) = run_phase(clients, args.ops, move |i| {
            let a = a.clone();
            let name = format!("{p}{i}");
            async move {
                a.get(&name).await?;
                Ok(())
            }
        })
        .await?;
        report("get", clients, wall, lat);

        let a = api.clone();
        let p = prefix.clone();
        let (wall, lat) = run_phase(clients, args.ops, move |i| {
            let a = a.clone();
            let name = format!("{p}{i}");
            async move {
                let mut o = a.get(&name).await?;
                o.data
                    .get_or_insert_with(Default::default)
                    .insert("n".into(), i.to_string());
                a.replace(&name, &PostParams::default(), &o).await?;
                Ok(())
            }
        })
        .await?;
        report("get+put", clients, wall, lat);
    }

    // List of `objects` configmaps in one namespace.
    let big: Api<ConfigMap> = Api::namespaced(c.clone(), "kube-public");
    let b2 = big.clone();
    let (wall, _) = run_phase(32, args.objects, move |i| {
        let b = b2.clone();
        async move {
            b.create(&PostParams::default(), &cm(&format!("l{i}"))?)
                .await?;
            Ok(())
        }
    })
    .await?;
    println!(
        "filled {} objects in {:.1} s",
        args.objects,
        wall.as_secs_f64()
    );
    let b3 = big.clone();
    let (wall, lat) = run_phase(1, 10, move |_| {
        let b = b3.clone();
        async move {
            let l = b.list(&ListParams::default()).await?;
            if l.items.is_empty() {
                bail!("empty list");
            }
            Ok(())
        }
    })
    .await?;
    report(&format!("list{}k", args.objects / 1000), 1, wall, lat);
    println!(
        "RSS with {} objects: {:.1} MB",
        args.objects + 4 * args.ops,
        rss_kb(pid).unwrap_or(0) as f64 / 1024.0
    );

    // Watch delivery latency: acknowledgement of a write → event at each watcher.
    let wapi: Api<ConfigMap> = Api::namespaced(c.clone(), "kube-node-lease");
    let rv = wapi
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let acks: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
    let samples: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut watchers = Vec::new();
    for _ in 0..args.watchers {
        let w = wapi.clone();
        let rv = rv.clone();
        let acks = acks.clone();
        let samples = samples.clone();
        let n = args.watch_writes;
        let mut stream = w
            .watch(&WatchParams::default().timeout(120), &rv)
            .await?
            .boxed();
        watchers.push(tokio::spawn(async move {
            let mut got = 0;
            let mut pending: Vec<(String, Instant)> = Vec::new();
            while got < n {
                let Some(Ok(WatchEvent::Added(o))) = stream.next().await else {
                    break;
                };
                let now = Instant::now();
                got += 1;
                pending.push((o.metadata.name.unwrap_or_default(), now));
            }
            // The ack time may be recorded after the event arrived; resolve at the end.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let acks = acks.lock().map(|a| a.clone()).unwrap_or_default();
            let mut s = samples.lock().await;
            for (name, at) in pending {
                if let Some(ack) = acks.get(&name) {
                    s.push(at.saturating_duration_since(*ack));
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..args.watch_writes {
        let name = format!("w{i}");
        wapi.create(&PostParams::default(), &cm(&name)?).await?;
        if let Ok(mut a) = acks.lock() {
            a.insert(name, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for w in watchers {
        let _ = tokio::time::timeout(Duration::from_secs(60), w).await;
    }
    let s = std::mem::take(&mut *samples.lock().await);
    report("watch", args.watchers, Duration::from_secs(1), s);
    drop(server);
    Ok(())
}
