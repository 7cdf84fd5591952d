//! `slipway bench pods`: pod start-up latency, how many demo pods this
//! machine holds Ready, and the memory each pod costs, measured against a
//! fresh slipway (this binary) started in a temp dir, through kube-rs.
//!
//! Times are local: the moment this process sent (or got the answer to) a
//! create, and the moment one of its watches received the pod status that
//! first showed the state. The API's timestamps have whole-second
//! resolution, too coarse for these numbers.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use kube::Client;

use crate::bench::{self, percentile, rss_kb, Server};

#[derive(clap::Args)]
pub struct PodsBench {
    /// Pods created at once for the start-up latency measurement.
    #[arg(long, default_value_t = 100)]
    pods: usize,
    /// The capacity measurement stops once this many pods are Ready.
    #[arg(long, default_value_t = 200)]
    capacity_max: usize,
    /// Pods created per batch while measuring capacity.
    #[arg(long, default_value_t = 25)]
    batch: usize,
    /// A batch not all Ready within this many seconds ends the capacity measurement.
    #[arg(long, default_value_t = 60)]
    batch_timeout: u64,
}

/// A kube-rs watcher running in the background. `changed` is bumped after
/// every event so waiters never miss one; the task stops when this drops.
pub(crate) struct Watch {
    changed: tokio::sync::watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watch {
    /// Wait until `cond` holds, re-checking after every event; false on timeout.
    pub(crate) async fn until(&self, limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        let mut rx = self.changed.clone();
        loop {
            if cond() {
                return true;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return cond(),
            }
        }
    }

    /// Wait for the first list to arrive.
    pub(crate) async fn synced(&self) -> Result<()> {
        let mut rx = self.changed.clone();
        if !self
            .until(Duration::from_secs(15), || *rx.borrow_and_update() > 0)
            .await
        {
            bail!("watch did not start within 15 s");
        }
        Ok(())
    }
}

/// Watch `api`; `f(receive time, object, deleted)` runs for every object
/// event. `Init`/`InitDone` also bump the counter so a watch of nothing
/// still reports that it started.
pub(crate) fn spawn_watch<K, F>(api: Api<K>, cfg: watcher::Config, mut f: F) -> Watch
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    F: FnMut(Instant, &K, bool) + Send + 'static,
{
    let (tx, rx) = tokio::sync::watch::channel(0u64);
    let task = tokio::spawn(async move {
        let mut stream = watcher(api, cfg).boxed();
        let mut n = 0u64;
        while let Some(ev) = stream.next().await {
            let now = Instant::now();
            match ev {
                Ok(watcher::Event::Apply(o)) | Ok(watcher::Event::InitApply(o)) => {
                    f(now, &o, false)
                }
                Ok(watcher::Event::Delete(o)) => f(now, &o, true),
                Ok(watcher::Event::Init) => {}
                Ok(watcher::Event::InitDone) => {}
                Err(e) => {
                    // The watcher re-lists on its next poll; don't spin meanwhile.
                    tracing::warn!(error = %e, "bench watch");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            n += 1;
            let _ = tx.send(n);
        }
    });
    Watch { changed: rx, task }
}

/// What one watch saw of a pod, as local receive times.
#[derive(Debug, Clone, Default)]
pub(crate) struct PodObs {
    pub(crate) first_seen: Option<Instant>,
    /// First version with spec.nodeName set (bound by the scheduler).
    pub(crate) bound: Option<Instant>,
    /// First version with any container status (the agent reported on it).
    pub(crate) reported: Option<Instant>,
    /// First status with every container running.
    pub(crate) running: Option<Instant>,
    /// First status with the Ready condition True.
    pub(crate) ready: Option<Instant>,
    pub(crate) deleted: Option<Instant>,
    pub(crate) image: String,
    pub(crate) terminating: bool,
}

pub(crate) type PodMap = Arc<Mutex<HashMap<String, PodObs>>>;

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn all_running(p: &Pod) -> bool {
    let want = p.spec.as_ref().map(|s| s.containers.len()).unwrap_or(0);
    let cs = p
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or(&[]);
    want > 0
        && cs.len() == want
        && cs
            .iter()
            .all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
}

fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Watch the pods matching `labels` into a [`PodMap`].
pub(crate) fn watch_pods(api: Api<Pod>, labels: &str) -> (PodMap, Watch) {
    let map: PodMap = Arc::default();
    let m = map.clone();
    let w = spawn_watch(
        api,
        watcher::Config::default().labels(labels),
        move |now, p: &Pod, deleted| {
            let name = p.metadata.name.clone().unwrap_or_default();
            let mut m = lock(&m);
            let o = m.entry(name).or_default();
            o.first_seen.get_or_insert(now);
            if o.image.is_empty() {
                o.image = p
                    .spec
                    .as_ref()
                    .and_then(|s| s.containers.first())
                    .and_then(|c| c.image.clone())
                    .unwrap_or_default();
            }
            if o.bound.is_none()
                && p.spec
                    .as_ref()
                    .is_some_and(|s| s.node_name.as_deref().is_some_and(|n| !n.is_empty()))
            {
                o.bound = Some(now);
            }
            if o.reported.is_none()
                && p.status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_ref())
                    .is_some_and(|c| !c.is_empty())
            {
                o.reported = Some(now);
            }
            if o.running.is_none() && all_running(p) {
                o.running = Some(now);
            }
            if o.ready.is_none() && is_ready(p) {
                o.ready = Some(now);
            }
            o.terminating |= p.metadata.deletion_timestamp.is_some();
            if deleted {
                o.deleted.get_or_insert(now);
            }
        },
    );
    (map, w)
}

/// Stop the server the way an operator would (SIGTERM, which also stops
/// its pods) and wait for it to exit.
pub(crate) async fn stop(mut server: Server) -> Result<Duration> {
    let pid = server.child.id();
    let t = Instant::now();
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .context("running kill")?;
    if !status.success() {
        bail!("kill -TERM {pid} failed");
    }
    while server.child.try_wait()?.is_none() {
        if t.elapsed() > Duration::from_secs(90) {
            // Dropping the server kills it.
            bail!("slipway did not stop within 90 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(t.elapsed())
}

/// Wait until the agent has registered its Node.
pub(crate) async fn wait_node(c: &Client) -> Result<()> {
    let nodes: Api<Node> = Api::all(c.clone());
    let t = Instant::now();
    loop {
        if let Ok(l) = nodes.list(&ListParams::default()).await {
            if !l.items.is_empty() {
                return Ok(());
            }
        }
        if t.elapsed() > Duration::from_secs(30) {
            bail!("no Node registered within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn meminfo_kb(key: &str) -> Option<u64> {
    proc_kb("/proc/meminfo", key)
}

/// Every process below `root`, from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // The command may contain spaces or parentheses; fields follow the last ')'.
            let Some(ppid) = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
            out.push(c);
            todo.push(c);
        }
    }
    out
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// Process memory below slipway: the demo apps and everything else.
struct Procs {
    demo: Vec<(u32, u64)>,
    other: Vec<(u32, u64)>,
}

fn pod_procs(slipway: u32) -> Procs {
    let mut p = Procs {
        demo: Vec::new(),
        other: Vec::new(),
    };
    for pid in descendants(slipway) {
        let rss = rss_kb(pid).unwrap_or(0);
        if cmdline(pid).contains("demo-app") {
            p.demo.push((pid, rss));
        } else {
            p.other.push((pid, rss));
        }
    }
    p
}

/// A `Key:  N kB` field of a /proc file.
fn proc_kb(path: &str, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(path).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Proportional set size: shared pages (the slipway binary every demo app
/// maps) divided among the processes that map them.
fn pss_kb(pid: u32) -> u64 {
    proc_kb(&format!("/proc/{pid}/smaps_rollup"), "Pss").unwrap_or(0)
}

fn anon_kb(pid: u32) -> u64 {
    proc_kb(&format!("/proc/{pid}/status"), "RssAnon").unwrap_or(0)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn stats_row(name: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "  {name:<42} {:>4} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
        v.len(),
        ms(v.first().copied().unwrap_or_default()),
        ms(percentile(&v, 0.5)),
        ms(percentile(&v, 0.99)),
        ms(v.last().copied().unwrap_or_default()),
    );
}

fn demo_pod(name: &str) -> Result<Pod> {
    Ok(serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"bench": "pods"}},
        "spec": {
            "terminationGracePeriodSeconds": 5,
            "containers": [{
                "name": "demo",
                "image": "slipway/demo:v1",
                "ports": [{"containerPort": 8080}],
                "readinessProbe": {
                    "httpGet": {"path": "/readyz", "port": 8080},
                    "periodSeconds": 1
                }
            }]
        }
    }))?)
}

/// Create every pod concurrently; per name, when the request was sent and
/// when its answer arrived.
async fn create_burst(
    api: &Api<Pod>,
    names: &[String],
) -> Result<HashMap<String, (Instant, Instant)>> {
    let mut tasks = Vec::new();
    for n in names {
        let api = api.clone();
        let pod = demo_pod(n)?;
        let n = n.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            api.create(&PostParams::default(), &pod)
                .await
                .with_context(|| format!("creating pod {n}"))?;
            Ok::<_, anyhow::Error>((n, sent, Instant::now()))
        }));
    }
    let mut out = HashMap::new();
    for t in tasks {
        let (n, sent, ack) = t.await??;
        out.insert(n, (sent, ack));
    }
    Ok(out)
}

fn ready_count(map: &PodMap, names: &[String]) -> usize {
    let m = lock(map);
    names
        .iter()
        .filter(|n| m.get(*n).is_some_and(|o| o.ready.is_some()))
        .count()
}

pub async fn pods(args: PodsBench) -> Result<()> {
    let (server, up) = bench::start().await?;
    let pid = server.child.id();
    let c = bench::client(&server.kubeconfig).await.context("client")?;
    wait_node(&c).await?;
    println!(
        "machine: {} cores, {:.0} MB RAM; load {}; slipway pid {pid} (serving after {:.0} ms)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        mb(meminfo_kb("MemTotal").unwrap_or(0)),
        loadavg(),
        ms(up),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss0 = rss_kb(pid).unwrap_or(0);
    let avail0 = meminfo_kb("MemAvailable").unwrap_or(0);
    println!("slipway idle RSS (no pods): {:.1} MB", mb(rss0));

    let api: Api<Pod> = Api::namespaced(c.clone(), "default");
    let (map, w) = watch_pods(api.clone(), "bench=pods");
    w.synced().await?;

    // (a) start-up latency of N pods created at once.
    let n = args.pods;
    let names: Vec<String> = (0..n).map(|i| format!("start-{i}")).collect();
    let t0 = Instant::now();
    let created = create_burst(&api, &names).await?;
    let burst = t0.elapsed();
    let all_ready = w
        .until(Duration::from_secs(180), || ready_count(&map, &names) == n)
        .await;
    let done = t0.elapsed();
    let (mut run_sent, mut run_ack, mut run_burst, mut ready_ack) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut bound, mut reported, mut reported_run, mut run_ready) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    {
        let m = lock(&map);
        for (name, (sent, ack)) in &created {
            let Some(o) = m.get(name) else { continue };
            if let Some(r) = o.running {
                run_sent.push(r.saturating_duration_since(*sent));
                run_ack.push(r.saturating_duration_since(*ack));
                run_burst.push(r.saturating_duration_since(t0));
            }
            if let Some(r) = o.ready {
                ready_ack.push(r.saturating_duration_since(*ack));
            }
            if let Some(b) = o.bound {
                bound.push(b.saturating_duration_since(*ack));
                if let Some(r) = o.reported {
                    reported.push(r.saturating_duration_since(b));
                }
            }
            if let (Some(a), Some(b)) = (o.reported, o.running) {
                reported_run.push(b.saturating_duration_since(a));
            }
            if let (Some(a), Some(b)) = (o.running, o.ready) {
                run_ready.push(b.saturating_duration_since(a));
            }
        }
    }
    println!();
    println!(
        "(a) pod start-up: {n} demo pods created at once (all {n} creates answered after {:.0} ms; {} Ready after {:.2} s{})",
        ms(burst),
        ready_count(&map, &names),
        done.as_secs_f64(),
        if all_ready { "" } else { ", TIMED OUT" }
    );
    println!(
        "  {:<42} {:>4} {:>8} {:>8} {:>8} {:>8}",
        "interval (local clock, watch receive)", "n", "min ms", "p50 ms", "p99 ms", "max ms"
    );
    stats_row("create sent -> all containers running", run_sent);
    stats_row("create answered -> all containers running", run_ack);
    stats_row("burst start -> all containers running", run_burst);
    stats_row("create answered -> Ready", ready_ack);
    println!("  breakdown:");
    stats_row("create answered -> bound (scheduler)", bound);
    stats_row("bound -> first container status", reported);
    stats_row("first container status -> all running", reported_run);
    stats_row("all running -> Ready", run_ready);

    // (c) memory per pod with N pods Ready.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mem_report = |label: &str, pods: usize| {
        let rss = rss_kb(pid).unwrap_or(0);
        let procs = pod_procs(pid);
        let mut demo: Vec<u64> = procs.demo.iter().map(|p| p.1).collect();
        demo.sort_unstable();
        let demo_sum: u64 = demo.iter().sum();
        let mut pss: Vec<u64> = procs.demo.iter().map(|p| pss_kb(p.0)).collect();
        pss.sort_unstable();
        let mut anon: Vec<u64> = procs.demo.iter().map(|p| anon_kb(p.0)).collect();
        anon.sort_unstable();
        let p50 = |v: &[u64]| mb(v.get(v.len() / 2).copied().unwrap_or(0));
        let other_sum: u64 = procs.other.iter().map(|p| p.1).sum();
        let avail = meminfo_kb("MemAvailable").unwrap_or(0);
        let per = |kb: u64| mb(kb) / pods.max(1) as f64;
        println!();
        println!(
            "(c) memory with {pods} pods Ready ({label}); load {}",
            loadavg()
        );
        println!(
            "  slipway process RSS            {:>8.1} MB  (+{:.1} MB over idle = {:.2} MB/pod)",
            mb(rss),
            mb(rss.saturating_sub(rss0)),
            per(rss.saturating_sub(rss0))
        );
        println!(
            "  slipway anon RSS / PSS         {:>8.1} MB / {:.1} MB",
            mb(anon_kb(pid)),
            mb(pss_kb(pid))
        );
        println!(
            "  demo-app processes             {:>8} (per process p50: RSS {:.1} MB, anon {:.1} MB, PSS {:.1} MB; RSS max {:.1} MB, sum {:.1} MB, PSS sum {:.1} MB)",
            demo.len(),
            p50(&demo),
            p50(&anon),
            p50(&pss),
            mb(demo.last().copied().unwrap_or(0)),
            mb(demo_sum),
            mb(pss.iter().sum())
        );
        println!(
            "  other processes under slipway  {:>8} (RSS sum {:.1} MB)",
            procs.other.len(),
            mb(other_sum)
        );
        let drop_mb = (avail0 as f64 - avail as f64) / 1024.0;
        println!(
            "  machine MemAvailable drop      {:>8.1} MB  ({:.2} MB/pod; machine-wide, so other work on it counts too)",
            drop_mb,
            drop_mb / pods.max(1) as f64
        );
    };
    mem_report("after the start-up burst", ready_count(&map, &names));

    // (b) capacity: batches until --capacity-max Ready or a batch stalls.
    println!();
    println!(
        "(b) capacity: batches of {} until {} Ready or a batch is not Ready within {} s",
        args.batch, args.capacity_max, args.batch_timeout
    );
    let mut all: Vec<String> = names.clone();
    let mut k = 0;
    let mut stopped = None;
    while ready_count(&map, &all) < args.capacity_max {
        let size = args
            .batch
            .min(args.capacity_max - ready_count(&map, &all))
            .max(1);
        let batch: Vec<String> = (0..size).map(|i| format!("cap-{k}-{i}")).collect();
        k += 1;
        let t = Instant::now();
        if let Err(e) = create_burst(&api, &batch).await {
            stopped = Some(format!("creating a batch failed: {e:#}"));
            all.extend(batch);
            break;
        }
        all.extend(batch.iter().cloned());
        let ok = w
            .until(Duration::from_secs(args.batch_timeout), || {
                ready_count(&map, &batch) == batch.len()
            })
            .await;
        println!(
            "  batch {k:>2}: +{size} pods, {:>3} Ready in total, batch Ready after {:>6.2} s, slipway RSS {:.1} MB, load {}",
            ready_count(&map, &all),
            t.elapsed().as_secs_f64(),
            mb(rss_kb(pid).unwrap_or(0)),
            loadavg()
        );
        if !ok {
            stopped = Some(format!(
                "batch {k}: {}/{} Ready after {} s",
                ready_count(&map, &batch),
                batch.len(),
                args.batch_timeout
            ));
            break;
        }
    }
    let held = ready_count(&map, &all);
    match &stopped {
        None => println!(
            "  => {held} demo pods Ready at once (reached --capacity-max {})",
            args.capacity_max
        ),
        Some(why) => println!("  => {held} demo pods Ready at once; stopped: {why}"),
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    mem_report("at capacity", held);
    let demo_pids: Vec<u32> = pod_procs(pid).demo.iter().map(|p| p.0).collect();

    // Clean up: delete every pod and wait until they are gone.
    let t = Instant::now();
    let deletes = futures_util::stream::iter(all.clone())
        .map(|name| {
            let api = api.clone();
            async move {
                match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
                    Err(e) => Err(anyhow::Error::from(e).context(format!("deleting {name}"))),
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    for d in deletes {
        d?;
    }
    let gone = loop {
        let left = api
            .list(&ListParams::default().labels("bench=pods"))
            .await?
            .items
            .len();
        if left == 0 {
            break true;
        }
        if t.elapsed() > Duration::from_secs(180) {
            println!("cleanup: {left} pods still present after 180 s");
            break false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let left_procs = pod_procs(pid).demo.len();
    println!();
    println!(
        "cleanup: {} pods deleted{} in {:.1} s; demo-app processes left under slipway: {left_procs}; slipway RSS {:.1} MB",
        all.len(),
        if gone { " and gone" } else { "" },
        t.elapsed().as_secs_f64(),
        mb(rss_kb(pid).unwrap_or(0))
    );
    drop(w);
    let took = stop(server).await?;
    let alive: HashSet<u32> = demo_pids
        .iter()
        .copied()
        .filter(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
        .collect();
    println!(
        "slipway stopped (SIGTERM) in {:.2} s; demo-app pids still alive afterwards: {}",
        took.as_secs_f64(),
        alive.len()
    );
    Ok(())
}
